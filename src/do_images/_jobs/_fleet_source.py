"""The rule of a source group, pure: its droplets and owned snapshots in, entries out.

A source group owns exactly the private snapshots whose name its ``snapshot_name``
matches; the owner is the ``{droplet_id}`` in the name. Per droplet of its source:

- **due** when its newest owned snapshot is older than ``every`` minus min(5 %, 10
  minutes), or it has none: a ``snapshot`` entry, the name it gets, and its series
  ranked as if that snapshot were the newest (rank 1, age 0), the deletions that causes
  waiting for it (``after this run's snapshot``);
- due but ``locked``, or with a snapshot in progress: ``pending`` with why, ranked the
  same way (its deletions wait for a snapshot, so for the next run);
- due but neither ``active`` nor ``off`` (``new``, ``archive``): ``pending``, ranked as
  it is;
- not due: ranked as it is.

Snapshots whose droplet is no longer a source are ``orphaned``: kept under
``on_source_gone = "keep"``, thinned by the same retention (floor included) under
``"expire"``. Manual snapshots, backups and other groups' snapshots are never counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from typing_extensions import TypedDict

from .._models import Droplet, Image
from ._fleet_entry import PlanEntry, series_entries
from ._fleet_file import SourceGroup

SLACK = 0.05
"""A droplet is due this fraction of ``every`` early (so a cron run a little early, or a
snapshot that started a little late, skips no interval) ..."""
MAX_SLACK = timedelta(minutes=10)
"""... but never more than this early."""
SNAPSHOT_STATUSES = frozenset({"active", "off"})
"""The droplet statuses a snapshot is taken in; any other (``new``, ``archive``, one the
API adds later) leaves the droplet ``pending``."""


@dataclass(frozen=True)
class DropletView:
    """What the rule needs of a droplet (built from a ``Droplet`` the API lists)."""

    id: int
    name: str
    status: str
    """``new``, ``active``, ``off``, ``archive``, or a status the API adds later."""
    locked: bool = False
    """Whether an action runs on it now (a backup does that); not part of its digest."""
    tags: tuple[str, ...] = ()
    region: str | None = None
    """Its region's slug: where its snapshots are made."""

    @classmethod
    def of(cls, droplet: Droplet) -> DropletView:
        """The view of a ``Droplet`` as the API lists it (a field it left out reads as
        nothing: no name, status ``unknown``, not locked, no tags)."""
        status = droplet.status
        return cls(
            id=droplet.id,
            name=droplet.name or "",
            status="unknown" if status is None else str(status),
            locked=bool(droplet.locked),
            tags=tuple(droplet.tags or ()),
            region=droplet.region.slug if droplet.region is not None else None,
        )


class DropletDigest(TypedDict):
    """A droplet as a plan saw it: what makes the plan stale when it changes (its name,
    status and tags; not ``locked``, which a backup toggles), and its region (where its
    snapshots are made)."""

    name: str
    status: str
    tags: list[str]
    region: str | None


def droplet_digest(droplet: DropletView) -> DropletDigest:
    """What a plan records of a droplet it selected."""
    return DropletDigest(
        name=droplet.name,
        status=str(droplet.status),
        tags=sorted(droplet.tags),
        region=droplet.region,
    )


def same_droplet(one: DropletDigest | None, other: DropletDigest | None) -> bool:
    """Whether two digests are of an unchanged droplet: name, status and tags."""
    if one is None or other is None:
        return one is other
    return (one["name"], one["status"], one["tags"]) == (
        other["name"],
        other["status"],
        other["tags"],
    )


def due_after(every: timedelta) -> timedelta:
    """How old a droplet's newest snapshot must be for it to be due."""
    return every - min(every * SLACK, MAX_SLACK)


def every_text(every: timedelta) -> str:
    """``every`` as a person writes it: ``24h``, ``2d``, ``90m``."""
    minutes = int(every.total_seconds() // 60)
    if minutes % (24 * 60) == 0 and minutes >= 2 * 24 * 60:
        return f"{minutes // (24 * 60)}d"
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def _age_words(age: timedelta) -> str:
    minutes = int(max(age, timedelta(0)).total_seconds() // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"


@dataclass(frozen=True)
class SourcePlan:
    """What the rule says of one source group: its entries and notes."""

    entries: list[PlanEntry]
    notes: list[str]


def plan_source(
    group: SourceGroup,
    owned: Mapping[int, Sequence[Image]],
    droplets: Sequence[DropletView],
    now: datetime,
) -> SourcePlan:
    """The entries of ``group``: ``owned`` maps a droplet id to the group's snapshots of
    it (every owned image, whatever its droplet), ``droplets`` are those its source
    selected (as listed), ``now`` the plan's ``listed_at``. Snapshots in progress are
    marked afterwards (``with_snapshotting``)."""
    entries: list[PlanEntry] = []
    notes: list[str] = []
    sources = {droplet.id: droplet for droplet in droplets}
    for droplet in droplets:
        entries += _droplet(group, droplet, owned.get(droplet.id, ()), now)
    for droplet_id in sorted(set(owned) - set(sources)):
        entries += _orphans(group, droplet_id, owned[droplet_id], now)
    missing = [i for i in group.source.droplet_ids if i not in sources]
    if missing:
        notes.append(
            f"group {group.name!r}: droplet {', '.join(map(str, missing))} of droplet_ids "
            "was not found; snapshots of it are orphaned"
        )
    return SourcePlan(entries, notes)


def _droplet(
    group: SourceGroup, droplet: DropletView, series: Sequence[Image], now: datetime
) -> list[PlanEntry]:
    """A selected droplet's entries: its turn (if due) and its series."""
    dated = [image.created_at for image in series if image.created_at is not None]
    newest = max(dated, default=None)
    if newest is not None and now - newest <= due_after(group.every):
        return series_entries(group, series, now, droplet_id=droplet.id)
    every = every_text(group.every)
    why = "no snapshot yet" if newest is None else f"newest is {_age_words(now - newest)} old"
    name = group.snapshot_name.fill(group.name, droplet.id, droplet.name, now)
    turn = PlanEntry(
        "snapshot",
        group.name,
        None,
        None,
        f"{why}; every {every}",
        droplet_id=droplet.id,
        droplet_name=droplet.name,
        snapshot_name=name,
    )
    refused = _refused(group, droplet, name)
    if refused is not None:  # no snapshot this run: the series as it is
        turn = replace(turn, action="pending", reason=f"{refused}; {why}", snapshot_name=None)
        return [turn, *series_entries(group, series, now, droplet_id=droplet.id)]
    if droplet.locked:  # due, but busy: its deletions wait for a snapshot, as a 422's would
        why = f"locked (an action runs on it): snapshot next run; {why}, every {every}"
        turn = replace(turn, action="pending", reason=why)
    return [turn, *series_entries(group, series, now, droplet_id=droplet.id, newest=now)]


def _refused(group: SourceGroup, droplet: DropletView, name: str) -> str | None:
    """Why a due droplet gets no snapshot (``None``: it does, or waits while busy)."""
    if str(droplet.status) not in SNAPSHOT_STATUSES:
        return f"status {droplet.status}: not snapshotted"
    if group.pattern.fullmatch(name) is None:  # a name it would not own: made every run
        return f"its snapshot would be named {name!r}, which snapshot_name does not match"
    return None


def _orphans(
    group: SourceGroup, droplet_id: int, series: Sequence[Image], now: datetime
) -> list[PlanEntry]:
    """The snapshots of a droplet that is no longer a source: kept (``keep``), or thinned
    as any series (``expire``, floor included)."""
    gone = f"droplet {droplet_id} is no longer a source"
    if group.on_source_gone == "keep":
        return [
            entry
            if entry.action in ("pending", "protected")
            else replace(entry, action="orphaned", reason=f"{gone}: kept (on_source_gone = keep)")
            for entry in series_entries(group, series, now, droplet_id=droplet_id)
        ]
    return series_entries(
        group, series, now, droplet_id=droplet_id, kept="orphaned", prefix=f"{gone}; "
    )


def with_snapshotting(entries: Sequence[PlanEntry], busy: Mapping[int, int]) -> list[PlanEntry]:
    """The same entries, the ``snapshot`` of each droplet in ``busy`` (droplet id -> the
    id of a ``snapshot`` action of it in progress) made ``pending``: that snapshot is
    awaited, not started again. Its deletions already wait for a snapshot."""
    marked = []
    for entry in entries:
        action = busy.get(entry.droplet_id or 0) if entry.action == "snapshot" else None
        if action is None:
            marked.append(entry)
        else:
            why = f"snapshot {action} in progress: not started again; {entry.reason}"
            marked.append(replace(entry, action="pending", reason=why))
    return marked


__all__ = [
    "DropletDigest",
    "DropletView",
    "SourcePlan",
    "droplet_digest",
    "due_after",
    "plan_source",
    "same_droplet",
    "with_snapshotting",
]
