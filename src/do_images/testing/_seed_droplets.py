"""The sandbox's droplets: how one is built as the spec's ``droplet`` object, and the few
the seed starts with (some tagged ``web``, in different regions), their snapshots,
backups and past actions.

Values fit the spec: sizes, networks and the embedded image are shaped as its examples
are. Droplet ids start at 3164494 (the spec's examples use 3164444 and up), far from
image ids (17..., 18..., 19...) and action ids (205..., 206...).
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from ._seed import region_object, seed_images

# slug, memory (MB), vcpus, disk (GB), transfer (TB), price a month, price an hour
_SIZES = (
    ("s-1vcpu-1gb", 1024, 1, 25, 1.0, 6.0, 0.00893),
    ("s-1vcpu-2gb", 2048, 1, 50, 2.0, 12.0, 0.01786),
    ("s-2vcpu-2gb", 2048, 2, 60, 3.0, 18.0, 0.02679),
    ("s-2vcpu-4gb", 4096, 2, 80, 4.0, 24.0, 0.03571),
    ("s-4vcpu-8gb", 8192, 4, 160, 5.0, 48.0, 0.07143),
    ("s-8vcpu-16gb", 16384, 8, 320, 6.0, 96.0, 0.14286),
)
_SIZE_REGIONS = ["ams3", "blr1", "fra1", "lon1", "nyc1", "nyc3", "sfo2", "sfo3", "sgp1", "tor1"]

FIRST_DROPLET_ID = 3164500
"""Where the ids of droplets the sandbox makes start (above the seeded ones)."""


def size_object(disk_gb: int) -> dict[str, Any]:
    """The smallest size with at least ``disk_gb`` of disk (the largest, past them all)."""
    row = next((size for size in _SIZES if size[3] >= disk_gb), _SIZES[-1])
    slug, memory, vcpus, disk, transfer, monthly, hourly = row
    return {
        "slug": slug,
        "memory": memory,
        "vcpus": vcpus,
        "disk": disk,
        "transfer": transfer,
        "price_monthly": monthly,
        "price_hourly": hourly,
        "regions": list(_SIZE_REGIONS),
        "available": True,
        "description": "Basic",
    }


def _networks(droplet_id: int) -> dict[str, Any]:
    # Documentation addresses (RFC 5737, RFC 3849), one per droplet.
    low, high = droplet_id % 250 + 2, droplet_id // 250 % 250 + 2
    v6 = f"2001:db8:0:1::{droplet_id >> 16 & 0xFFFF:x}:{droplet_id & 0xFFFF:x}"
    return {
        "v4": [
            {
                "ip_address": f"10.10.{high}.{low}",
                "netmask": "255.255.0.0",
                "gateway": "nil",
                "type": "private",
            },
            {
                "ip_address": f"203.0.113.{low}",
                "netmask": "255.255.255.0",
                "gateway": "203.0.113.1",
                "type": "public",
            },
        ],
        "v6": [
            {
                "ip_address": v6,
                "netmask": 64,
                "gateway": "2001:db8:0:1::1",
                "type": "public",
            }
        ],
    }


@functools.cache
def _public_images() -> dict[str, dict[str, Any]]:
    return {image["slug"]: image for image in seed_images() if image["public"]}


@functools.cache
def _vpc(region: str) -> str:
    """The default VPC of a region (the same in every sandbox)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://sandbox.do-images.invalid/{region}"))


def _base_image(slug: str) -> dict[str, Any]:
    """The public image a droplet was made from, as a fresh copy."""
    image = _public_images()[slug]
    return {**image, "regions": list(image["regions"]), "tags": list(image["tags"])}


def new_droplet(
    droplet_id: int,
    name: str,
    *,
    region: str,
    tags: list[str],
    disk_gb: int,
    status: str,
    created_at: str,
    image_slug: str = "ubuntu-24-04-x64",
    backups: bool = False,
) -> dict[str, Any]:
    """A droplet as stored: the spec's object, with ``locked``, ``backup_ids`` and
    ``snapshot_ids`` in their places, to be worked out each time it is shown."""
    size = size_object(disk_gb)
    features = ["monitoring", "droplet_agent", "private_networking"]
    window = None
    if backups:
        features.insert(0, "backups")
        window = {"start": "2026-11-28T00:00:00Z", "end": "2026-11-28T23:00:00Z"}
    return {
        "id": droplet_id,
        "name": name,
        "memory": size["memory"],
        "vcpus": size["vcpus"],
        "disk": disk_gb,
        "disk_info": [{"type": "local", "size": {"amount": disk_gb, "unit": "gib"}}],
        "locked": False,
        "status": status,
        "kernel": None,
        "created_at": created_at,
        "features": features,
        "backup_ids": [],
        "next_backup_window": window,
        "snapshot_ids": [],
        "image": _base_image(image_slug),
        "volume_ids": [],
        "size": size,
        "size_slug": size["slug"],
        "networks": _networks(droplet_id),
        "region": region_object(region),
        "tags": tags,
        "vpc_uuid": _vpc(region),
    }


def seed_droplets() -> list[tuple[dict[str, Any], float]]:
    """The seeded droplets, each with the GB its disk has in use (a snapshot of a web
    droplet takes 30 to 48 s of sandbox time, one of db-01 25 minutes)."""
    web = ["web", "env:prod"]
    return [
        (
            new_droplet(
                3164494,
                "web-01",
                region="nyc3",
                tags=web,
                disk_gb=25,
                status="active",
                created_at="2026-06-02T09:00:00Z",
            ),
            0.25,
        ),
        (
            new_droplet(
                3164495,
                "web-02",
                region="nyc3",
                tags=web,
                disk_gb=25,
                status="active",
                created_at="2026-06-02T09:05:00Z",
            ),
            0.4,
        ),
        (
            new_droplet(
                3164496,
                "web-03",
                region="sfo3",
                tags=["web"],
                disk_gb=25,
                status="active",
                created_at="2026-09-14T16:20:00Z",
            ),
            0.3,
        ),
        (
            new_droplet(
                3164497,
                "db-01",
                region="fra1",
                tags=["db"],
                disk_gb=80,
                status="active",
                created_at="2026-05-11T08:30:00Z",
                image_slug="debian-12-x64",
                backups=True,
            ),
            12.5,
        ),
        (
            new_droplet(
                3164498,
                "worker-01",
                region="lon1",
                tags=[],
                disk_gb=50,
                status="off",
                created_at="2026-08-30T09:10:00Z",
            ),
            1.0,
        ),
    ]


def seed_sources() -> dict[int, int]:
    """Seeded image id -> the droplet it was made of. 180040007 is a snapshot of a droplet
    destroyed since (``staging-01``, 3164480): it stays, as on the API."""
    return {
        180040001: 3164494,
        180040002: 3164495,
        180040003: 3164497,
        180040004: 3164497,
        180040007: 3164480,
    }


def _done(
    action_id: int, kind: str, droplet_id: int, region: str, started: str, completed: str
) -> dict[str, Any]:
    return {
        "id": action_id,
        "status": "completed",
        "type": kind,
        "started_at": started,
        "completed_at": completed,
        "resource_id": droplet_id,
        "resource_type": "droplet",
        "region": region_object(region),
        "region_slug": region,
    }


def seed_droplet_actions() -> list[dict[str, Any]]:
    """The seeded droplets' past actions: the snapshots that made the seeded snapshots
    (each image's ``created_at`` is its action's ``started_at``), and worker-01 powered off."""
    return [
        _done(
            2051000003, "snapshot", 3164494, "nyc3", "2026-10-01T02:11:45Z", "2026-10-01T02:12:20Z"
        ),
        _done(
            2051000004, "snapshot", 3164495, "nyc3", "2026-10-08T02:12:30Z", "2026-10-08T02:13:18Z"
        ),
        _done(
            2051000005, "power_off", 3164498, "lon1", "2026-11-21T18:00:00Z", "2026-11-21T18:00:05Z"
        ),
    ]
