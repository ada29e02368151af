"""Scheduled snapshots against the sandbox: a world of tagged droplets, the fleet that
snapshots them, and what the floor and the schedule are checked on."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

import httpx

from do_images import Image
from do_images.fleet import Fleet
from do_images.testing import SANDBOX_BASE_URL, SANDBOX_TOKEN, Sandbox
from do_images.testing._sandbox import Reply

START = datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc)
DAY = 24 * 3600.0
WEB = (11, 12)
"""The droplets tagged ``web``; 13 is tagged ``db``."""


def world(**options: Any) -> Sandbox:
    """A sandbox with no seed: droplets 11 and 12 tagged ``web`` (1 GB used: a snapshot
    takes 2 minutes), 13 tagged ``db``."""
    sandbox = Sandbox(start=START, seed=False, log_size=100_000, **options)
    for droplet_id in WEB:
        sandbox.add_droplet(f"web-{droplet_id}", id=droplet_id, tags=["web"], used_gb=1.0)
    sandbox.add_droplet("db-13", id=13, tags=["db"], used_gb=1.0)
    return sandbox


def fleet(**group: Any) -> Fleet:
    """The group ``web``: tag ``web``, every 24h, keep 2 (unless ``retain`` is given),
    copied to ams3, tagged ``backup``, with ``group``'s keys over those; a top-level
    ``max_delete`` if given."""
    top = {"max_delete": group.pop("max_delete")} if "max_delete" in group else {}
    web = {
        "name": "web",
        "source": {"droplet_tag": "web"},
        "every": "24h",
        "keep": 2,
        "regions": ["nyc3", "ams3"],
        "ensure_tags": ["backup"],
        **group,
    }
    if "retain" in group:  # calendar retention instead of keep
        del web["keep"]
    return Fleet.from_dict({"version": 1, **top, "group": [web]})


def made(sandbox: Sandbox, droplet_id: int, when: datetime, group: str = "web") -> Image:
    """An owned snapshot of ``droplet_id`` made at ``when`` (in nyc3 and ams3, tagged)."""
    return sandbox.add_image(
        f"{group}-{droplet_id}-{when:%Y%m%d-%H%M%S}",
        regions=["nyc3", "ams3"],
        tags=["backup"],
        created_at=when,
        droplet_id=droplet_id,
    )


OWNED = re.compile(r"web-(?P<droplet>[0-9]+)-[0-9]{8}-[0-9]{6}")


def owned(sandbox: Sandbox, droplet_id: int) -> list[Image]:
    """The available snapshots the group owns of ``droplet_id``, oldest first."""
    found = [
        image
        for image in sandbox.images
        if (m := OWNED.fullmatch(image.name or "")) is not None
        and int(m["droplet"]) == droplet_id
        and image.status == "available"
    ]
    return sorted(found, key=lambda image: (image.created_at, image.id))


def start_action(sandbox: Sandbox, droplet_id: int, kind: str) -> int:
    """Start a droplet action as another client would (its HTTP status)."""
    reply: Reply = sandbox.handle(
        "POST",
        httpx.URL(f"{SANDBOX_BASE_URL}/v2/droplets/{droplet_id}/actions"),
        httpx.Headers(
            {"Authorization": f"Bearer {SANDBOX_TOKEN}", "Content-Type": "application/json"}
        ),
        json.dumps({"type": kind}).encode(),
    )
    return reply.status


class SmallPages:
    """A sandbox that pages every list by ``per_page`` items, whatever the client asks."""

    def __init__(self, sandbox: Sandbox, per_page: int = 2) -> None:
        self.sandbox = sandbox
        self.per_page = per_page

    def handle(self, method: str, url: httpx.URL, headers: httpx.Headers, body: bytes) -> Reply:
        if method == "GET" and "per_page" in url.params:
            url = url.copy_set_param("per_page", str(self.per_page))
        return self.sandbox.handle(method, url, headers, body)


__all__ = [
    "DAY",
    "START",
    "WEB",
    "SmallPages",
    "fleet",
    "made",
    "owned",
    "start_action",
    "world",
]
