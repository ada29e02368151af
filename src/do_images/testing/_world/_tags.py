"""The tags aggregate: tags per account, kept in the capitalisation they were made with."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ._core import Problem, WorldCore

_TAG = re.compile(r"[A-Za-z0-9_:-]{1,255}")


class Tags(WorldCore):
    """The tags of every account: the rules of ``/v2/tags``."""

    def _register_tags(self, account: str, names: Iterable[str]) -> list[str]:
        """The canonical names of ``names`` in ``account``, each created if new."""
        return [self._tag_named(account, name, create=True) for name in names]

    def _tag_named(self, account: str, name: str, *, create: bool) -> str:
        """The canonical name of a tag: the capitalisation it was created with.

        Tag names are case-stable: ``prod`` names a tag created as ``PROD`` when
        creating; in a path only the canonical name is found.
        """
        known = self.tags.setdefault(account, [])
        folded = name.casefold()
        for tag in known:
            if tag.casefold() == folded:
                return tag
        if not create:
            raise Problem(404)
        known.append(name)
        return name

    def find_tag(self, account: str, name: str) -> str:
        """A tag of ``account`` by its canonical name, or 404."""
        if name not in self.tags.get(account, []):
            raise Problem(404)
        return name

    def tag_object(self, account: str, name: str) -> dict[str, Any]:
        """A tag as the API shows it, with its resource counts (images and droplets)."""
        tagged = [
            image
            for key, image in sorted(self.images.items())
            if self.owner(image) == account and name in image["tags"]
        ]
        on_droplets = [
            droplet
            for key, droplet in sorted(self.droplets.items())
            if self.droplet_accounts.get(key) == account and name in droplet["tags"]
        ]
        images = _tagged("images", tagged)
        droplets = _tagged("droplets", on_droplets)
        resources: dict[str, Any] = {"count": len(tagged) + len(on_droplets)}
        last = droplets.get("last_tagged_uri") or images.get("last_tagged_uri")
        if last:
            resources["last_tagged_uri"] = last
        resources.update(
            droplets=droplets,
            images=images,
            volumes={"count": 0},
            volume_snapshots={"count": 0},
            databases={"count": 0},
        )
        return {"name": name, "resources": resources}

    def create_tag(self, account: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /v2/tags``: a new tag, or the one already there (its own capitalisation)."""
        name = body.get("name")
        if not isinstance(name, str):
            raise Problem(400, "name is required and must be a string.")
        check_tag(name, status=400)
        return self.tag_object(account, self._tag_named(account, name, create=True))

    def delete_tag(self, account: str, name: str) -> None:
        """``DELETE /v2/tags/{tag}``: the tag goes, and with it from every image and droplet."""
        self.find_tag(account, name)
        self.tags[account].remove(name)
        for image in self.images.values():
            if self.owner(image) == account and name in image["tags"]:
                image["tags"] = [tag for tag in image["tags"] if tag != name]
        for key, droplet in self.droplets.items():
            if self.droplet_accounts.get(key) == account and name in droplet["tags"]:
                droplet["tags"] = [tag for tag in droplet["tags"] if tag != name]

    def _tagged_images(self, account: str, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        resources = body.get("resources")
        if not isinstance(resources, list) or not resources:
            raise Problem(400, "resources must be a non-empty list.")
        images: list[dict[str, Any]] = []
        for resource in resources:
            if not isinstance(resource, dict):
                raise Problem(400, "each resource must be an object.")
            kind, raw = resource.get("resource_type"), resource.get("resource_id")
            if kind != "image":
                raise Problem(
                    422, f"resource_type {kind!r} cannot be tagged here: this API has images only."
                )
            if not isinstance(raw, str):
                raise Problem(400, "resource_id must be a string.")
            image = self.find_image(raw, slug_ok=False, account=account)
            if image["public"]:
                raise Problem(422, f"Image {image['id']} is a public image and cannot be tagged.")
            images.append(image)
        return images

    def assign_tag(self, account: str, name: str, body: Mapping[str, Any]) -> None:
        """``POST /v2/tags/{tag}/resources``: tag images (no change if they have it)."""
        tag = self.find_tag(account, name)
        for image in self._tagged_images(account, body):
            if tag not in image["tags"]:
                image["tags"] = [*image["tags"], tag]

    def unassign_tag(self, account: str, name: str, body: Mapping[str, Any]) -> None:
        """``DELETE /v2/tags/{tag}/resources``: untag images (no change if they lack it)."""
        tag = self.find_tag(account, name)
        for image in self._tagged_images(account, body):
            image["tags"] = [t for t in image["tags"] if t != tag]


def _tagged(kind: str, tagged: list[dict[str, Any]]) -> dict[str, Any]:
    """One kind's count in a tag, and the URI of the last one tagged."""
    counted: dict[str, Any] = {"count": len(tagged)}
    if tagged:
        counted["last_tagged_uri"] = f"https://api.digitalocean.com/v2/{kind}/{tagged[-1]['id']}"
    return counted


def check_tag(name: str, status: int = 422) -> None:
    """A tag name as the API takes it, or ``status`` with the API's words."""
    if not _TAG.fullmatch(name):
        raise Problem(
            status,
            f'Error validating resource tag: "tag-name \\"{name[:64]}\\" contains invalid '
            'characters"',
        )
