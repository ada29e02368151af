"""The sandbox's world: its regions and the images it starts with.

Values are chosen so that every object validates against the official spec: region
slugs come from the spec's closed ``region_slug`` list and distributions from its
``distribution`` list.
"""

from __future__ import annotations

from typing import Any

REGION_NAMES: dict[str, str] = {
    "ams1": "Amsterdam 1",
    "ams2": "Amsterdam 2",
    "ams3": "Amsterdam 3",
    "blr1": "Bangalore 1",
    "fra1": "Frankfurt 1",
    "lon1": "London 1",
    "nyc1": "New York 1",
    "nyc2": "New York 2",
    "nyc3": "New York 3",
    "sfo1": "San Francisco 1",
    "sfo2": "San Francisco 2",
    "sfo3": "San Francisco 3",
    "sgp1": "Singapore 1",
    "tor1": "Toronto 1",
    "syd1": "Sydney 1",
}
"""Every region the spec knows, by slug."""

RETIRED_REGIONS = frozenset({"ams1", "sfo1"})
"""Regions that still exist but take no new resources (as on the real API)."""

DISTRIBUTIONS = frozenset(
    {
        "Arch Linux",
        "CentOS",
        "CoreOS",
        "Debian",
        "Fedora",
        "Fedora Atomic",
        "FreeBSD",
        "Gentoo",
        "openSUSE",
        "RancherOS",
        "Rocky Linux",
        "Ubuntu",
        "Unknown",
    }
)
"""The distributions the API accepts; any other value is stored as ``Unknown``."""

# As the spec's example region (nyc3) has them, for every region that takes new resources.
_SIZES = [
    "s-1vcpu-1gb",
    "s-1vcpu-2gb",
    "s-1vcpu-3gb",
    "s-2vcpu-2gb",
    "s-3vcpu-1gb",
    "s-2vcpu-4gb",
    "s-4vcpu-8gb",
    "s-6vcpu-16gb",
    "s-8vcpu-32gb",
    "s-12vcpu-48gb",
    "s-16vcpu-64gb",
    "s-20vcpu-96gb",
    "s-24vcpu-128gb",
    "s-32vcpu-192g",
]
_FEATURES = [
    "private_networking",
    "backups",
    "ipv6",
    "metadata",
    "install_agent",
    "storage",
    "image_transfer",
]

_ACTIVE = ["nyc1", "nyc3", "sfo2", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1"]


SEED_ACCOUNTS = ("bob",)
"""The accounts a seeded sandbox has besides the default one, so that a transfer between
accounts can be tried at once (``do-images sandbox accounts`` lists them)."""


def region_object(slug: str) -> dict[str, Any]:
    """The region object ``GET /v2/regions`` lists and an action embeds."""
    available = slug not in RETIRED_REGIONS
    return {
        "name": REGION_NAMES[slug],
        "slug": slug,
        "features": list(_FEATURES) if available else [],
        "available": available,
        "sizes": list(_SIZES) if available else [],
    }


def _public(
    image_id: int,
    name: str,
    distribution: str,
    slug: str,
    created_at: str,
    *,
    kind: str = "base",
    min_disk: int = 10,
    size: float = 2.36,
    description: str = "",
) -> dict[str, Any]:
    return {
        "id": image_id,
        "name": name,
        "distribution": distribution,
        "slug": slug,
        "public": True,
        "regions": list(_ACTIVE),
        "created_at": created_at,
        "type": kind,
        "min_disk_size": min_disk,
        "size_gigabytes": size,
        "description": description,
        "tags": [],
        "status": "available",
        "error_message": "",
    }


def _private(
    image_id: int,
    name: str,
    distribution: str,
    kind: str,
    regions: list[str],
    created_at: str,
    *,
    tags: list[str] | None = None,
    min_disk: int = 25,
    size: float = 4.72,
    description: str = "",
) -> dict[str, Any]:
    """An image of the account's own: a public image's fields, then what differs."""
    image = _public(
        image_id,
        name,
        distribution,
        "",
        created_at,
        kind=kind,
        min_disk=min_disk,
        size=size,
        description=description,
    )
    return {**image, "slug": None, "public": False, "regions": regions, "tags": tags or []}


def seed_images() -> list[dict[str, Any]]:
    """Public distributions and applications, then the account's own images."""
    distributions = [
        _public(171020001, "24.04 (LTS) x64", "Ubuntu", "ubuntu-24-04-x64", "2024-04-25T09:14:07Z"),
        _public(171020002, "22.04 (LTS) x64", "Ubuntu", "ubuntu-22-04-x64", "2022-04-22T18:02:51Z"),
        _public(171020003, "20.04 (LTS) x64", "Ubuntu", "ubuntu-20-04-x64", "2020-05-15T05:47:50Z"),
        _public(171020004, "12 x64", "Debian", "debian-12-x64", "2023-06-12T15:30:12Z", size=1.11),
        _public(171020005, "11 x64", "Debian", "debian-11-x64", "2021-08-16T11:05:44Z", size=1.02),
        _public(171020006, "41 x64", "Fedora", "fedora-41-x64", "2024-10-30T16:48:21Z", size=1.73),
        _public(171020007, "40 x64", "Fedora", "fedora-40-x64", "2024-04-24T13:21:09Z", size=1.69),
        _public(
            171020008, "9 x64", "Rocky Linux", "rockylinux-9-x64", "2022-07-19T20:10:33Z", size=1.4
        ),
        _public(
            171020009, "8 x64", "Rocky Linux", "rockylinux-8-x64", "2021-06-28T12:44:02Z", size=1.35
        ),
        _public(
            171020010,
            "9 Stream x64",
            "CentOS",
            "centos-stream-9-x64",
            "2022-03-08T17:53:40Z",
            size=1.25,
        ),
        _public(171020011, "14.1 x64 ufs", "FreeBSD", "freebsd-14-x64-ufs", "2024-06-05T08:32:15Z"),
    ]
    applications = [
        _public(
            172030001,
            "Docker on Ubuntu 22.04",
            "Ubuntu",
            "docker-22-04",
            "2024-02-01T10:00:00Z",
            kind="snapshot",
            min_disk=25,
            size=4.12,
            description="Docker CE and Docker Compose, ready to run containers.",
        ),
        _public(
            172030002,
            "WordPress on Ubuntu 22.04",
            "Ubuntu",
            "wordpress-22-04",
            "2024-02-02T10:00:00Z",
            kind="snapshot",
            min_disk=25,
            size=5.31,
            description="WordPress with LAMP, Let's Encrypt and WP-CLI.",
        ),
        _public(
            172030003,
            "LAMP on Ubuntu 22.04",
            "Ubuntu",
            "lamp-22-04",
            "2024-02-03T10:00:00Z",
            kind="snapshot",
            min_disk=25,
            size=3.87,
            description="Apache, MySQL and PHP.",
        ),
        _public(
            172030004,
            "NodeJS on Ubuntu 22.04",
            "Ubuntu",
            "nodejs-22-04",
            "2024-02-04T10:00:00Z",
            kind="snapshot",
            min_disk=25,
            size=3.22,
            description="Node.js LTS with PM2 and Nginx.",
        ),
    ]
    private = [
        _private(
            180040001,
            "web-01 2026-10-01",
            "Ubuntu",
            "snapshot",
            ["nyc3"],
            "2026-10-01T02:11:45Z",
            tags=["web", "prod"],
        ),
        _private(
            180040002,
            "web-02 2026-10-08",
            "Ubuntu",
            "snapshot",
            ["nyc3", "ams3"],
            "2026-10-08T02:12:30Z",
            tags=["web", "prod"],
        ),
        _private(
            180040003,
            "db-01 nightly",
            "Debian",
            "backup",
            ["fra1"],
            "2026-11-20T03:00:12Z",
            tags=["db"],
            min_disk=50,
            size=12.8,
        ),
        _private(
            180040004,
            "db-01 weekly",
            "Debian",
            "backup",
            ["fra1"],
            "2026-11-15T03:00:09Z",
            tags=["db"],
            min_disk=50,
            size=12.6,
        ),
        _private(
            180040005,
            "worker-base",
            "Rocky Linux",
            "custom",
            ["sfo3"],
            "2026-09-12T14:22:03Z",
            tags=["base-image", "prod"],
            size=1.9,
            description="Rocky Linux 9 with our agents baked in.",
        ),
        _private(
            180040006,
            "arch-dev",
            "Arch Linux",
            "custom",
            ["lon1"],
            "2026-08-30T09:41:55Z",
            tags=["dev"],
            size=2.2,
        ),
        _private(
            180040007,
            "staging snapshot",
            "Fedora",
            "snapshot",
            ["tor1"],
            "2026-11-02T18:05:27Z",
            size=3.05,
        ),
    ]
    return distributions + applications + private


def seed_actions() -> list[dict[str, Any]]:
    """A few finished actions, so action lists of the seeded images are not empty."""
    return [
        {
            "id": 2051000001,
            "status": "completed",
            "type": "transfer",
            "started_at": "2026-10-08T03:00:00Z",
            "completed_at": "2026-10-08T03:04:41Z",
            "resource_id": 180040002,
            "resource_type": "image",
            "region": region_object("ams3"),
            "region_slug": "ams3",
        },
        {
            "id": 2051000002,
            "status": "completed",
            "type": "convert",
            "started_at": "2026-09-13T08:00:00Z",
            "completed_at": "2026-09-13T08:01:10Z",
            "resource_id": 180040001,
            "resource_type": "image",
            "region": region_object("nyc3"),
            "region_slug": "nyc3",
        },
    ]
