"""The images aggregate: finding, listing, importing, storing, renaming and deleting images."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from .._seed import DISTRIBUTIONS
from ._core import (
    DEFAULT_ACCOUNT,
    PendingImport,
    Problem,
    WorldCore,
    int_segment,
    iso,
    optional_str,
    required_str,
)
from ._regions import check_region
from ._tags import check_tag

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
IMAGE_TYPES = ("base", "snapshot", "backup", "custom", "admin")
IMAGE_STATUSES = ("NEW", "available", "pending", "deleted", "retired")


class Images(WorldCore):
    """The images of every account: the rules of ``/v2/images`` and ``/v2/images/{id}``."""

    def _finish_import(self, item: PendingImport) -> None:
        image = self.images.get(item.image_id)
        if image is not None and item.failure is not None:
            # As the API does: the image is marked deleted, says why, and leaves lists.
            image["status"] = "deleted"
            image["error_message"] = item.failure
            return
        if image is not None:
            image["status"] = "available"
            image["regions"] = [item.region]
            image["min_disk_size"] = 20
            image["size_gigabytes"] = 2.34

    def find_image(
        self, raw: str, *, slug_ok: bool, account: str = DEFAULT_ACCOUNT, recipient: bool = False
    ) -> dict[str, Any]:
        """The image a path segment names (an id, or a public slug where allowed), or 404.

        Another account's private image is not found, unless ``recipient`` and this
        account is the recipient of a transfer of it.
        """
        image_id = int_segment(raw)
        if image_id is not None:
            image = self.images.get(image_id)
        elif slug_ok:
            image = next(
                (i for i in self.images.values() if i["public"] and i["slug"] == raw), None
            )
        else:
            image = None
        if image is None:
            raise Problem(404)
        if not self.visible(image, account) and not (
            recipient and any(self._is_recipient(t, account) for t in self._transfers_of(image))
        ):
            raise Problem(404)
        return image

    def list_images(
        self,
        *,
        kind: str | None,
        private: str | None,
        tag: str | None,
        account: str = DEFAULT_ACCOUNT,
    ) -> list[dict[str, Any]]:
        """The images ``GET /v2/images`` lists for these filters, by id."""
        if kind not in (None, "distribution", "application"):
            raise Problem(400, "type must be 'distribution' or 'application'.")
        # Read as Go's strconv.ParseBool reads it: doboto sends "True".
        if private is not None and private not in _TRUE | _FALSE:
            raise Problem(400, "private must be 'true' or 'false'.")
        private = None if private is None else ("true" if private in _TRUE else "false")
        images = [
            self.images[key]
            for key in sorted(self.images)
            if self.images[key]["status"] != "deleted" and self.visible(self.images[key], account)
        ]
        if kind == "distribution":
            images = [i for i in images if i["public"] and i["type"] == "base"]
        elif kind == "application":
            images = [i for i in images if i["public"] and i["type"] != "base"]
        if private == "true":
            images = [i for i in images if not i["public"]]
        if tag is not None:
            images = [i for i in images if tag in (i["tags"] or [])]
        return images

    def create_image(
        self, body: Mapping[str, Any], account: str = DEFAULT_ACCOUNT
    ) -> dict[str, Any]:
        """``POST /v2/images``: a ``NEW`` custom image that becomes available later."""
        name = required_str(body, "name")
        url = required_str(body, "url")
        region = required_str(body, "region")
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError):
            parsed = None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
            raise Problem(422, "url must be an http:// or https:// URL.")
        check_region(region)
        tags = body.get("tags")
        if tags is not None and (
            not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags)
        ):
            raise Problem(422, "tags must be a list of tag names.")
        for tag in tags or []:
            check_tag(tag)
        image = self._store_image(
            owner=account,
            name=name,
            type="custom",
            distribution=distribution(body.get("distribution", "Unknown")),
            regions=[],
            tags=list(tags or []),
            description=optional_str(body, "description") or "",
            status="NEW",
            min_disk_size=None,
            size_gigabytes=None,
        )
        failure = self.failed_imports.pop(0) if self.failed_imports else None
        if failure is None and self.fetch is not None and is_loopback(parsed):
            failure = self.fetch(url)
        self._pending.append(
            PendingImport(
                due=self.clock() + self.import_seconds,
                image_id=image["id"],
                region=region,
                failure=failure,
            )
        )
        return dict(image)

    def _store_image(
        self, *, image_id: int | None = None, owner: str = DEFAULT_ACCOUNT, **fields: Any
    ) -> dict[str, Any]:
        public = fields.get("public", False)
        tags = [] if public else self._register_tags(owner, fields["tags"])
        image: dict[str, Any] = {
            "id": self._new_image_id() if image_id is None else image_id,
            "name": fields["name"],
            "distribution": fields["distribution"],
            "slug": fields.get("slug"),
            "public": public,
            "regions": fields["regions"],
            "created_at": fields.get("created_at") or iso(self.now),
            "type": fields["type"],
            "min_disk_size": fields.get("min_disk_size", 20),
            "size_gigabytes": fields.get("size_gigabytes", 2.5),
            "description": fields.get("description", ""),
            "tags": tags if not public else list(fields["tags"]),
            "status": fields.get("status", "available"),
            "error_message": fields.get("error_message", ""),
        }
        self.images[image["id"]] = image
        if not public and owner != DEFAULT_ACCOUNT:
            self.owners[image["id"]] = owner
        return image

    def add_image(
        self, *, image_id: int | None, droplet_id: int | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Store an image as given (the sandbox's ``add_image``); with ``droplet_id``, a
        snapshot or backup of that droplet (even one removed since), in its account."""
        if image_id is not None and image_id in self.images:
            raise ValueError(f"there is already an image with id {image_id}")
        if droplet_id is None:
            return self._store_image(image_id=image_id, **fields)
        if droplet_id not in self.droplet_accounts:
            raise ValueError(f"there is no droplet with id {droplet_id}")
        if fields["type"] not in ("snapshot", "backup") or fields.get("public"):
            raise ValueError("a droplet's image is a private snapshot or backup")
        owner = self.droplet_accounts[droplet_id]
        image = self._store_image(image_id=image_id, owner=owner, **fields)
        self.snapshot_sources[image["id"]] = droplet_id
        return image

    def update_image(self, image: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT /v2/images/{id}``: the fields given, checked as the API checks them."""
        name = optional_str(body, "name")
        if name is not None and not name.strip():
            raise Problem(422, "name must not be empty.")
        description = optional_str(body, "description")
        new_distribution = body.get("distribution")
        if new_distribution is not None:
            image["distribution"] = distribution(new_distribution)
        if name is not None:
            image["name"] = name
        if description is not None:
            image["description"] = description
        return dict(image)

    def delete_image(self, image: Mapping[str, Any]) -> None:
        """``DELETE /v2/images/{id}``."""
        del self.images[image["id"]]
        self.owners.pop(image["id"], None)
        self.snapshot_sources.pop(image["id"], None)


def is_loopback(url: httpx.URL) -> bool:
    """Whether ``url`` is on this machine: such an import is really fetched."""
    host = url.host
    return host in ("localhost", "::1") or host.startswith("127.")


def distribution(value: object) -> str:
    """The distribution as stored: the API keeps an unknown one as ``Unknown``."""
    if not isinstance(value, str):
        raise Problem(422, "distribution must be a string.")
    return value if value in DISTRIBUTIONS else "Unknown"
