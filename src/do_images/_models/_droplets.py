"""The droplet models: ``Droplet``, its status, its list and envelope, and the list of a
droplet's snapshots (whose items are ``Image``s with the fields that list sends)."""

from __future__ import annotations

from typing import Any

from pydantic import StrictBool, StrictInt

from ._base import JsonValidator, Timestamp, _APIModel, _Links, _Meta, _open_enum, _StrEnum, _Wire
from ._images import Image
from ._regions import Region


class DropletStatus(_StrEnum):
    """The state of a droplet (``off`` is the string ``"off"``, as the API sends it)."""

    new = "new"
    active = "active"
    off = "off"
    archive = "archive"


class Droplet(_APIModel):
    """A droplet (a virtual machine), as ``GET /v2/droplets`` sends it.

    The objects the SDK has no use for yet (``networks``, ``kernel``,
    ``next_backup_window``, ``gpu_info``, ``disk_info``, ``size``) are kept as the JSON
    the API sent.
    """

    id: StrictInt
    """The droplet's unique id."""
    name: str | None = None
    """The droplet's name."""
    memory: StrictInt | None = None
    """Its memory, in MB."""
    vcpus: StrictInt | None = None
    """Its number of virtual CPUs."""
    disk: StrictInt | None = None
    """Its disk, in GB."""
    disk_info: list[dict[str, Any]] | None = None
    """Its disks (``type``, ``size``), as the API sent them."""
    locked: StrictBool | None = None
    """Whether an action is running on it (another action is refused with a 422 then)."""
    status: DropletStatus | str | None = _open_enum()
    """``new``, ``active``, ``off`` or ``archive`` (a new state stays a str)."""
    kernel: dict[str, Any] | None = None
    """Its externally managed kernel, as the API sent it; ``None`` for most droplets."""
    created_at: Timestamp | None = None
    """When the droplet was created, timezone-aware."""
    features: list[str] | None = None
    """The features enabled on it, such as ``backups``."""
    backup_ids: list[StrictInt] | None = None
    """The ids of its backups (images of ``type`` ``backup``)."""
    next_backup_window: dict[str, Any] | None = None
    """When its next backup starts (``start``, ``end``), as sent; ``None`` without backups."""
    snapshot_ids: list[StrictInt] | None = None
    """The ids of the snapshots made of it (images of ``type`` ``snapshot``)."""
    image: Image | None = None
    """The image it was created from."""
    volume_ids: list[str] | None = None
    """The ids of the block storage volumes attached to it."""
    size: dict[str, Any] | None = None
    """Its size object (slug, memory, prices, ...), as the API sent it."""
    size_slug: str | None = None
    """The slug of its size, such as ``s-1vcpu-1gb``."""
    networks: dict[str, Any] | None = None
    """Its IPv4 and IPv6 interfaces (``v4``, ``v6``), as the API sent them."""
    region: Region | None = None
    """The region it runs in (``droplet.region.slug``)."""
    tags: list[str] | None = None
    """The tags on the droplet."""
    vpc_uuid: str | None = None
    """The VPC it is in."""
    gpu_info: dict[str, Any] | None = None
    """A GPU droplet's GPUs (``count``, ``model``, ``vram``), as the API sent them."""


class DropletPage(_Wire):
    """One page of ``GET /v2/droplets``."""

    droplets: list[Droplet]
    links: _Links | None = None
    meta: _Meta | None = None


class DropletEnvelope(_Wire):
    """``{"droplet": {...}}``."""

    droplet: Droplet


class DropletSnapshotPage(_Wire):
    """One page of ``GET /v2/droplets/{id}/snapshots``: its snapshots *and* backups, as
    ``Image``s with the fields this list sends (no ``status``, no ``tags``)."""

    snapshots: list[Image]
    links: _Links | None = None
    meta: _Meta | None = None


DROPLET_PAGE: JsonValidator[DropletPage] = JsonValidator(DropletPage)
DROPLET_ENVELOPE: JsonValidator[DropletEnvelope] = JsonValidator(DropletEnvelope)
DROPLET_SNAPSHOT_PAGE: JsonValidator[DropletSnapshotPage] = JsonValidator(DropletSnapshotPage)
