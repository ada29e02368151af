"""What a fleet with source groups reads of the droplets, for planning and applying.

- ``read_sources``: each source group's droplets: ``GET /v2/droplets?tag_name=`` every
  page (one listing per tag, shared by the groups that name it), or one ``GET
  /v2/droplets/{id}`` per ``droplet_ids`` entry, a 404 being a droplet gone (its
  snapshots are orphaned), not an error;
- ``snapshots_running``: of the droplets given, those with a ``snapshot`` action
  ``in-progress`` (their actions, every page: the spec promises no order).

Both go through the droplet operations (``DropletOps``), within the request budget.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from .._constants import MAX_PER_PAGE
from .._droplets import DropletOps
from .._effects import Gather, Op
from .._errors import NotFoundError
from .._images import ImageOps
from .._models import Action, Droplet
from ._fleet_file import Fleet
from ._fleet_source import DropletView
from ._toolkit import budget_width


@dataclass(frozen=True)
class Sources:
    """The droplets each source group selected (group name -> views, as listed), and the
    requests reading them took, by the spec's operation id."""

    droplets: dict[str, list[DropletView]] = field(default_factory=dict)
    reads: Counter[str] = field(default_factory=Counter)


def _pages(count: int) -> int:
    """The pages a listing of ``count`` droplets took at ``MAX_PER_PAGE`` a page."""
    return max(1, math.ceil(count / MAX_PER_PAGE))


def _one(droplets: DropletOps, droplet_id: int) -> Op[Droplet | None]:
    """One droplet, or ``None`` when the API says it is gone (404)."""
    try:
        return (yield from droplets.info(droplet_id))
    except NotFoundError:
        return None


def read_sources(ops: ImageOps, fleet: Fleet, *, width: int) -> Op[Sources]:
    """Every source group's droplets (see the module docstring); nothing for a fleet
    without one."""
    found = Sources()
    if not fleet.sources:
        return found
    droplets = DropletOps(ops)
    tags = sorted({g.source.droplet_tag for g in fleet.sources if g.source.droplet_tag})
    ids = sorted({i for g in fleet.sources for i in g.source.droplet_ids})
    listed: list[list[Droplet]] = yield Gather(
        [droplets.list(tag) for tag in tags], width=budget_width(ops, width)
    )
    single: list[Droplet | None] = yield Gather(
        [_one(droplets, i) for i in ids], width=budget_width(ops, width)
    )
    by_tag = dict(zip(tags, listed, strict=True))
    by_id = dict(zip(ids, single, strict=True))
    for group in fleet.sources:
        tag = group.source.droplet_tag
        chosen = by_tag[tag] if tag else [by_id[i] for i in group.source.droplet_ids]
        found.droplets[group.name] = [DropletView.of(d) for d in chosen if d is not None]
    if tags:
        found.reads["droplets_list"] = sum(_pages(len(page)) for page in listed)
    if ids:
        found.reads["droplets_get"] = len(ids)
    return found


def running_snapshot(actions: Sequence[Action]) -> Action | None:
    """Of a droplet's actions, a ``snapshot`` still ``in-progress`` (the earliest)."""
    running = [a for a in actions if a.type == "snapshot" and a.status == "in-progress"]
    return min(running, key=lambda action: action.id, default=None)


def snapshots_running(
    ops: ImageOps, droplet_ids: Sequence[int], *, width: int
) -> Op[dict[int, int]]:
    """Of ``droplet_ids``, those with a snapshot in progress: droplet id -> its action id."""
    droplets = DropletOps(ops)
    lists: list[list[Action]] = yield Gather(
        [droplets.actions(i) for i in droplet_ids], width=budget_width(ops, width)
    )
    running = {}
    for droplet_id, actions in zip(droplet_ids, lists, strict=True):
        action = running_snapshot(actions)
        if action is not None:
            running[droplet_id] = action.id
    return running


__all__ = ["Sources", "read_sources", "running_snapshot", "snapshots_running"]
