"""The snapshot models of ``/v2/snapshots``: ``Snapshot``, its list and envelope."""

from __future__ import annotations

from pydantic import StrictFloat, StrictInt

from ._base import JsonValidator, Timestamp, _APIModel, _Links, _Meta, _open_enum, _StrEnum, _Wire


class SnapshotResourceType(_StrEnum):
    """What a snapshot was made of."""

    droplet = "droplet"
    volume = "volume"


class Snapshot(_APIModel):
    """A snapshot as ``/v2/snapshots`` shows it: a droplet's (the same as its image) or a
    volume's.

    Here the ``id`` is a **string** (digits for a droplet's snapshot, whose image has that
    id as a number; a UUID for a volume's), and ``resource_id`` names the droplet or volume
    it was made of, even once that is destroyed.
    """

    id: str
    """The snapshot's id, as a string (``"6372321"``, or a volume snapshot's UUID)."""
    name: str | None = None
    """The snapshot's name (not unique)."""
    created_at: Timestamp | None = None
    """When the snapshot was created, timezone-aware."""
    regions: list[str] | None = None
    """The region slugs the snapshot is available in."""
    min_disk_size: StrictInt | None = None
    """The smallest disk, in GB, a Droplet or volume needs to use it."""
    size_gigabytes: StrictFloat | None = None
    """Its billed size in GB."""
    resource_id: str | None = None
    """The id of the droplet or volume it was made of, as a string."""
    resource_type: SnapshotResourceType | str | None = _open_enum()
    """``droplet`` or ``volume`` (a new kind stays a str)."""
    tags: list[str] | None = None
    """The tags on the snapshot."""


class SnapshotPage(_Wire):
    """One page of ``GET /v2/snapshots``."""

    snapshots: list[Snapshot]
    links: _Links | None = None
    meta: _Meta | None = None


class SnapshotEnvelope(_Wire):
    """``{"snapshot": {...}}``."""

    snapshot: Snapshot


SNAPSHOT_PAGE: JsonValidator[SnapshotPage] = JsonValidator(SnapshotPage)
SNAPSHOT_ENVELOPE: JsonValidator[SnapshotEnvelope] = JsonValidator(SnapshotEnvelope)
