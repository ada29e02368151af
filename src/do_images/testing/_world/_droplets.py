"""The droplets aggregate: finding, listing, adding and removing droplets, and the list of
a droplet's snapshots and backups.

A droplet is stored as the spec's object; what changes with other aggregates is worked
out each time it is shown: ``locked`` (an action of it is running), ``snapshot_ids`` and
``backup_ids`` (the images made of it that its account still has).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._seed_droplets import new_droplet
from ._core import Problem, WorldCore, int_segment, iso

DROPLET_STATUSES = ("new", "active", "off", "archive")
DROPLET_SNAPSHOT_FIELDS = (
    "id",
    "name",
    "created_at",
    "regions",
    "min_disk_size",
    "size_gigabytes",
    "type",
)
"""What ``/v2/droplets/{id}/snapshots`` shows of an image (no ``status``, no ``tags``)."""


class Droplets(WorldCore):
    """The droplets of every account: the rules of ``/v2/droplets[/{id}[/snapshots]]``."""

    def droplet_object(self, droplet: Mapping[str, Any]) -> dict[str, Any]:
        """``droplet`` as the API shows it now."""
        made = self.images_of(droplet["id"])
        return {
            **droplet,
            "locked": bool(self.running_on(droplet["id"])),
            "backup_ids": [image["id"] for image in made if image["type"] == "backup"],
            "snapshot_ids": [image["id"] for image in made if image["type"] == "snapshot"],
        }

    def images_of(self, droplet_id: int) -> list[dict[str, Any]]:
        """The snapshots and backups made of a droplet that its account still has, by id."""
        account = self.droplet_accounts.get(droplet_id)
        return [
            image
            for image_id, source in sorted(self.snapshot_sources.items())
            if source == droplet_id
            and (image := self.images.get(image_id)) is not None
            and image["type"] in ("snapshot", "backup")
            and image["status"] != "deleted"
            and self.owner(image) == account
        ]

    def find_droplet(self, raw: str, account: str) -> dict[str, Any]:
        """The droplet of ``account`` a path segment names, or 404."""
        droplet_id = int_segment(raw)
        droplet = self.droplets.get(droplet_id) if droplet_id is not None else None
        if droplet is None or self.droplet_accounts.get(droplet["id"]) != account:
            raise Problem(404)
        return droplet

    def list_droplets(
        self, account: str, *, tag: str | None, name: str | None, kind: str | None
    ) -> list[dict[str, Any]]:
        """The droplets ``GET /v2/droplets`` lists for these filters, by id."""
        if tag is not None and (name is not None or kind is not None):
            raise Problem(400, "tag_name can not be combined with name or type.")
        if kind not in (None, "droplets", "gpus"):
            raise Problem(400, "type must be 'droplets' or 'gpus'.")
        droplets = [
            droplet
            for key, droplet in sorted(self.droplets.items())
            if self.droplet_accounts.get(key) == account
            and (tag is None or tag in droplet["tags"])
            and (name is None or droplet["name"].casefold() == name.casefold())
            and kind != "gpus"  # the sandbox has no GPU droplets
        ]
        return [self.droplet_object(droplet) for droplet in droplets]

    def droplet_snapshots(self, droplet: Mapping[str, Any]) -> list[dict[str, Any]]:
        """``GET /v2/droplets/{id}/snapshots``: its snapshots and backups, by id, with the
        fields that list shows."""
        return [
            {key: image[key] for key in DROPLET_SNAPSHOT_FIELDS}
            for image in self.images_of(droplet["id"])
        ]

    def add_droplet(
        self,
        *,
        droplet_id: int | None,
        account: str,
        name: str,
        region: str,
        tags: Iterable[str],
        disk_gb: int,
        used_gb: float,
        status: str,
        created_at: str | None,
    ) -> dict[str, Any]:
        """Store a droplet as given (the sandbox's ``add_droplet``); ``ValueError`` for an
        id that is taken (by a droplet, or by one removed: its snapshots still name it)."""
        if droplet_id is not None and droplet_id in self.droplet_accounts:
            raise ValueError(f"there is already a droplet with id {droplet_id}")
        if droplet_id is not None and droplet_id in self.snapshot_sources.values():
            raise ValueError(f"id {droplet_id} names a removed droplet whose snapshots remain")
        self.add_account(account)
        droplet = new_droplet(
            self._new_droplet_id() if droplet_id is None else droplet_id,
            name,
            region=region,
            tags=self._register_tags(account, tags),
            disk_gb=disk_gb,
            status=status,
            created_at=created_at or iso(self.now),
        )
        self.droplets[droplet["id"]] = droplet
        self.droplet_accounts[droplet["id"]] = account
        self.droplet_used_gb[droplet["id"]] = float(used_gb)
        return self.droplet_object(droplet)

    def remove_droplet(self, droplet_id: int) -> None:
        """Destroy a droplet (the sandbox's ``remove_droplet``): its snapshots stay, its
        backups go, as on the API. ``ValueError`` if there is none, or an action runs."""
        if droplet_id not in self.droplets:
            raise ValueError(f"there is no droplet with id {droplet_id}")
        if self.running_on(droplet_id):
            raise ValueError(
                f"droplet {droplet_id} has an action in progress: advance the clock past it"
            )
        for image in self.images_of(droplet_id):
            if image["type"] == "backup":
                del self.images[image["id"]]
                self.owners.pop(image["id"], None)
        del self.droplets[droplet_id]
        self.droplet_used_gb.pop(droplet_id, None)
