"""What planning took and applying will take, in requests by kind, and about how long.

``estimate`` is a pure function of a plan: the requests planning made (as it recorded
them) and those applying makes, each kind named by the spec's operation id, so a test
can hold it against ``sandbox.count()``. Applying, in its order:

- **the re-read**: the image pages again, the droplets again (a page per droplet page,
  a ``GET`` per ``droplet_ids`` entry, as planning read them);
- **snapshots**: for each due droplet an action list (to adopt one already under way),
  the ``POST``, the polls, and once it completed a listing of the droplet's snapshots to
  find the image; with ``power_off`` an active droplet also gets a ``shutdown``, a few
  reads of its status and a ``power_on``. The polls: every snapshot once per cycle,
  cycles ``DEFAULT_LIFECYCLE_POLL`` apart, or further when so many run that polling
  would take more than half the request budget, for about ``SNAPSHOT_SECONDS``;
- **copies and tags**: each new snapshot's ``ensure_tags`` and its copies to the
  ``regions`` its droplet's region is not, as each planned transfer and tag: an action
  list, a ``POST`` per region and a poll every 10 s for about ``TRANSFER_SECONDS`` per
  image copied, a request per tag;
- **deletions**: the image pages again before each group's deletions, and a ``DELETE``
  each.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from typing_extensions import TypedDict

from .._constants import (
    DEFAULT_LIFECYCLE_POLL,
    DEFAULT_REQUESTS_PER_MINUTE,
    SNAPSHOT_SECONDS,
    TRANSFER_SECONDS,
)
from ._fleet_entry import PlanEntry
from ._fleet_file import Fleet, SourceGroup
from ._fleet_source import DropletDigest

POWER_OFF_READS = 6
"""About how many reads of a droplet's status a ``power_off`` shutdown takes."""


class PlanEstimate(TypedDict):
    """About how many requests applying takes, and how many seconds; and the requests
    of each kind (the spec's operation ids) planning made and applying makes."""

    requests: int
    seconds: float
    plan: dict[str, int]
    apply: dict[str, int]


def cycle_seconds(poll: float, in_flight: int, per_minute: int | None) -> float:
    """How far apart the polls of ``in_flight`` snapshots go: ``poll``, or further so
    that polling each once a cycle takes at most half the request budget in any minute.
    Polls ``d`` seconds apart put ``60 / d + 1`` in a minute that starts on one of them,
    so half the budget means ``60 / (half - 1)`` apart, not ``60 / half``."""
    budget = per_minute or DEFAULT_REQUESTS_PER_MINUTE
    return max(poll, in_flight * 60 / max(budget / 2 - 1, 1))


def snapshot_polls(count: int) -> int:
    """How many polls awaiting ``count`` snapshots together takes: each once a cycle,
    the cycles ``DEFAULT_LIFECYCLE_POLL`` apart or, with many in flight, as far apart as
    keeps polling within half the request budget, for ``SNAPSHOT_SECONDS``."""
    if not count:
        return 0
    cycle = cycle_seconds(DEFAULT_LIFECYCLE_POLL, count, DEFAULT_REQUESTS_PER_MINUTE)
    return count * math.ceil(SNAPSHOT_SECONDS / cycle)


def _copies(fleet: Fleet, entry: PlanEntry, droplets: Mapping[int, DropletDigest]) -> list[str]:
    """The regions a new snapshot is copied to: its group's, but its droplet's own."""
    group = next(group for group in fleet.groups if group.name == entry.group)
    droplet = droplets.get(entry.droplet_id or 0)
    home = droplet["region"] if droplet is not None else None
    return [region for region in group.regions if region != home]


def _snapshots(
    fleet: Fleet, entries: Sequence[PlanEntry], droplets: Mapping[int, DropletDigest]
) -> Counter[str]:
    """The requests of the snapshots, and of their tags and copies."""
    made = [entry for entry in entries if entry.action == "snapshot"]
    count: Counter[str] = Counter()
    groups = {group.name: group for group in fleet.groups}
    for entry in made:
        group = groups[entry.group]
        assert isinstance(group, SourceGroup)
        count.update(dropletActions_list=1, dropletActions_post=1, droplets_list_snapshots=1)
        droplet = droplets.get(entry.droplet_id or 0)
        if group.power_off and droplet is not None and droplet["status"] == "active":
            count.update(dropletActions_post=2, droplets_get=POWER_OFF_READS)
        count.update(tags_assign_resources=len(group.ensure_tags))
        copies = _copies(fleet, entry, droplets)
        if copies:
            count.update(imageActions_post=len(copies), imageActions_list=_transfer_reads())
    count.update(dropletActions_get=snapshot_polls(len(made)))
    return count


def _transfer_reads() -> int:
    """The action lists of one image's transfers: one before, and the polls."""
    return 1 + int(TRANSFER_SECONDS / DEFAULT_LIFECYCLE_POLL)


def estimate(
    fleet: Fleet,
    entries: Sequence[PlanEntry],
    reads: Mapping[str, int],
    droplets: Mapping[int, DropletDigest],
) -> PlanEstimate:
    """The requests planning made (``reads``, as it recorded them) and applying makes,
    and about how long applying takes within the request budget."""
    pages = reads.get("images_list", 1)
    deleting = {entry.group for entry in entries if entry.action == "delete"}
    transferring = {entry.image_id for entry in entries if entry.action == "transfer"}
    count: Counter[str] = Counter(images_list=pages * (1 + len(deleting)))
    count.update({kind: reads[kind] for kind in ("droplets_list", "droplets_get") if kind in reads})
    count.update(imageActions_list=len(transferring) * _transfer_reads())
    for entry in entries:
        kind = {"transfer": "imageActions_post", "tag": "tags_assign_resources"}.get(
            entry.action, "images_delete" if entry.action == "delete" else ""
        )
        if kind:
            count[kind] += 1
    count.update(_snapshots(fleet, entries, droplets))
    apply = {kind: number for kind, number in sorted(count.items()) if number}
    requests = sum(apply.values())
    copying = transferring or count["imageActions_post"]
    waits = (SNAPSHOT_SECONDS if count["dropletActions_post"] else 0) + (
        TRANSFER_SECONDS if copying else 0
    )
    seconds = max(requests * 60 / DEFAULT_REQUESTS_PER_MINUTE, waits)
    return PlanEstimate(
        requests=requests, seconds=round(seconds, 1), plan=dict(sorted(reads.items())), apply=apply
    )


__all__ = ["POWER_OFF_READS", "PlanEstimate", "cycle_seconds", "estimate", "snapshot_polls"]
