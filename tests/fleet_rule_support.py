"""Builders for the pure fleet rule's tests: images, droplets and fleets stated directly,
at a fixed ``NOW``; no HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from do_images import Image
from do_images._jobs._fleet_rule import Verdicts, digest
from do_images._jobs._fleet_source import droplet_digest
from do_images.fleet import DropletView, Fleet, FleetPlan, plan_images

NOW = datetime(2026, 12, 4, 4, 0, tzinfo=timezone.utc)
"""The plan's ``listed_at`` in these tests."""


def snap(
    image_id: int,
    name: str,
    *,
    hours: float | None = 24,
    type: str = "snapshot",
    status: str = "available",
    regions: Sequence[str] = ("nyc3",),
    tags: Sequence[str] = (),
    public: bool = False,
) -> Image:
    """An image named ``name``, made ``hours`` before ``NOW``."""
    payload: dict[str, Any] = {
        "id": image_id,
        "name": name,
        "type": type,
        "status": status,
        "regions": list(regions),
        "tags": list(tags),
        "public": public,
    }
    if hours is not None:
        payload["created_at"] = (NOW - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Image.model_validate(payload)


def owned(image_id: int, droplet_id: int, hours: float, group: str = "web", **more: Any) -> Image:
    """A snapshot the default template makes for ``group``, of ``droplet_id``, made
    ``hours`` before ``NOW``."""
    when = NOW - timedelta(hours=hours)
    return snap(image_id, f"{group}-{droplet_id}-{when:%Y%m%d-%H%M%S}", hours=hours, **more)


def droplet(
    droplet_id: int,
    name: str | None = None,
    *,
    status: str = "active",
    locked: bool = False,
    tags: Sequence[str] = ("web",),
    region: str = "nyc3",
) -> DropletView:
    """A droplet as the rule sees it."""
    return DropletView(droplet_id, name or f"web-{droplet_id}", status, locked, tuple(tags), region)


def source_fleet(*extra: dict[str, Any], max_delete: int = 20, **group: Any) -> Fleet:
    """A fleet whose first group is the source group ``web`` (tag ``web``, every 24h)
    with ``group``'s keys, then the groups of ``extra``."""
    web = {"name": "web", "source": {"droplet_tag": "web"}, "every": "24h", **group}
    return Fleet.from_dict({"version": 1, "max_delete": max_delete, "group": [web, *extra]})


def plan(
    fleet: Fleet,
    images: Sequence[Image],
    droplets: Sequence[DropletView],
    now: datetime = NOW,
    **options: Any,
) -> Verdicts:
    """The rule, every source group of ``fleet`` given ``droplets``."""
    chosen = {group.name: list(droplets) for group in fleet.sources}
    return plan_images(fleet, images, now, droplets=chosen, **options)


def fleet_plan(
    verdicts: Verdicts, fleet: Fleet, reads: dict[str, int] | None = None, now: datetime = NOW
) -> FleetPlan:
    """The ``FleetPlan`` that planning would make of ``verdicts`` (with ``reads``)."""
    return FleetPlan(
        fleet,
        verdicts.entries,
        verdicts.notes,
        now,
        {image_id: digest(image) for image_id, image in verdicts.matched.items()},
        reads or {"regions_list": 1, "images_list": 1},
        {droplet_id: droplet_digest(view) for droplet_id, view in verdicts.droplets.items()},
    )


def actions(verdicts: Verdicts) -> dict[str, str]:
    """Each entry as ``"image 5"`` / ``"droplet 3"`` (and region or tag) -> its action."""
    found: dict[str, str] = {}
    for entry in verdicts.entries:
        what = f"image {entry.image_id}" if entry.image_id else f"droplet {entry.droplet_id}"
        found[" ".join(filter(None, [what, entry.region, entry.tag]))] = entry.action
    return found
