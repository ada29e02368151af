"""The snapshots aggregate: ``/v2/snapshots``, the account's snapshots as that API shows
them (the same images as ``/v2/images``, by another view).

A snapshot names the droplet it was made of in ``resource_id`` (a string), even once
the droplet is gone; one stated without a droplet (``add_image`` without ``droplet_id``)
names none the sandbox knows: ``"0"``. The sandbox has no volumes, so no volume
snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._core import Problem, WorldCore, int_segment

NOT_A_SNAPSHOT = "the resource is not a snapshot"
UNKNOWN_SOURCE = "0"
"""The ``resource_id`` of a snapshot made of no droplet the sandbox knows."""


class Snapshots(WorldCore):
    """The rules of ``/v2/snapshots[/{id}]``."""

    def snapshot_object(self, image: Mapping[str, Any]) -> dict[str, Any]:
        """A snapshot image as ``/v2/snapshots`` shows it."""
        source = self.snapshot_sources.get(image["id"])
        return {
            "id": str(image["id"]),
            "name": image["name"],
            "created_at": image["created_at"],
            "regions": list(image["regions"]),
            "resource_id": UNKNOWN_SOURCE if source is None else str(source),
            "resource_type": "droplet",
            "min_disk_size": image["min_disk_size"],
            "size_gigabytes": image["size_gigabytes"],
            "tags": list(image["tags"]),
        }

    def _own(self, image: Mapping[str, Any], account: str) -> bool:
        return not image["public"] and self.owner(image) == account and image["status"] != "deleted"

    def list_snapshots(self, account: str, resource_type: str | None) -> list[dict[str, Any]]:
        """``GET /v2/snapshots``: the account's snapshots, by id."""
        if resource_type not in (None, "droplet", "volume"):
            raise Problem(400, "resource_type must be 'droplet' or 'volume'.")
        if resource_type == "volume":
            return []
        return [
            self.snapshot_object(image)
            for _, image in sorted(self.images.items())
            if image["type"] == "snapshot" and self._own(image, account)
        ]

    def find_snapshot(self, raw: str, account: str) -> dict[str, Any]:
        """The image a snapshot id names: 404 if the account has none such, 400 if it is
        an image of the account that is not a snapshot (a backup, a custom image)."""
        image_id = int_segment(raw)
        image = self.images.get(image_id) if image_id is not None else None
        if image is None or not self._own(image, account):
            raise Problem(404)
        if image["type"] != "snapshot":
            raise Problem(400, NOT_A_SNAPSHOT)
        return image
