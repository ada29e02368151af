"""The floor, proven over the pure rule: random sequences of runs of the rule, each applied
the way API.md orders an apply, with every outcome a snapshot can have, clock jumps,
droplets destroyed or untagged, and colleagues at work.

Each run plans (``plan_images`` on the account as it stands), then carries the plan out
as apply would: every due droplet's snapshot is started, then awaited, then copied, then
the deletions run, a due droplet's only once its snapshot completed and was copied.
A snapshot completes, errors, times out (and completes later), or meets a 422 (busy); a
run may stop at ``--no-wait`` or be interrupted anywhere along that order.

Invariants, after every step:

- **the floor**: with the fleet file fixed, let C(d) be droplet d's owned snapshots that
  completed and that only the fleet deleted; d keeps at least min(keep_min, |C(d)|)
  owned ``available`` snapshots. (Where a colleague deleted one of d's snapshots, the
  premise "only the fleet deleted" fails for d, and what is left is theirs to answer
  for; the next invariant still binds every deletion the fleet makes.)
- **no deletion goes through the floor**: each deletion the fleet makes of d's snapshot
  leaves d at least min(keep_min, what d had just before) owned ``available`` snapshots;
- **a due droplet's deletions wait**: every deletion of a droplet that has a snapshot
  planned (or waiting, busy) is one that waits for that snapshot;
- **keep leaves keep**: after a run that went through, a droplet that was not due, or
  whose snapshot completed, has at most ``keep`` ranked snapshots (so ``keep = 7``
  leaves 7, not 8).

The property runs ``EXAMPLES`` examples; ``test_the_property_catches_a_broken_floor``
breaks the rule on purpose, one way at a time, and shows the property fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from do_images import Image
from do_images._jobs import _fleet_entry, _fleet_plan, _fleet_source, _retention
from do_images.fleet import DropletView, Fleet, FleetPlan, PlanEntry, plan_images
from fleet_rule_support import fleet_plan

EXAMPLES = 1_000
"""How many random histories the property runs."""
START = datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc)
DROPLETS = (1, 2, 3, 4)
OUTCOMES = ("completed", "copy_failed", "errored", "timeout", "busy")
"""What becomes of a snapshot apply starts: it completes (and its copy succeeds or
fails), it errors, the wait for it times out (it completes later), or the POST meets a
422 because the droplet is busy."""
PROTECT = "keep"
COLLEAGUES = (
    *("delete", "protect", "manual"),
    *("destroy", "untag", "tag", "lock"),
    *("off", "active", "new", "archive"),
)
"""What others do meanwhile: delete, protect or make a snapshot; destroy, untag, tag or lock
a droplet, or change its status."""


# ------------------------------------------------------------------ the world


@dataclass
class Flight:
    """A snapshot started and not yet seen to end."""

    name: str
    started: datetime
    errors: bool


@dataclass
class Droplet:
    """A droplet of the world: whether it still exists, carries the source's tag, its
    status and lock."""

    exists: bool = True
    tagged: bool = True
    status: str = "active"
    locked: bool = False


@dataclass
class World:
    """The account as the rule's runs leave it, and what the invariants need."""

    fleet: Fleet
    now: datetime = START
    images: dict[int, Image] = field(default_factory=dict)
    droplets: dict[int, Droplet] = field(default_factory=dict)
    flights: dict[int, Flight] = field(default_factory=dict)
    completed: dict[int, set[int]] = field(default_factory=dict)
    """C(d): droplet id -> its owned snapshots that completed."""
    touched: set[int] = field(default_factory=set)
    """The droplets one of whose snapshots a colleague deleted."""
    next_id: int = 100
    runs: int = 0
    checks: int = 0

    @property
    def group(self) -> Any:
        return self.fleet.groups[0]

    def add(self, name: str, when: datetime, droplet_id: int | None) -> int:
        """A new private snapshot; a completed one of ``droplet_id`` joins C(d)."""
        self.next_id += 1
        self.images[self.next_id] = Image.model_validate(
            {
                "id": self.next_id,
                "name": name,
                "type": "snapshot",
                "status": "available",
                "public": False,
                "regions": ["nyc3"],
                "tags": [],
                "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
        if droplet_id is not None:
            self.completed.setdefault(droplet_id, set()).add(self.next_id)
        return self.next_id

    def snapshot_name(self, droplet_id: int, when: datetime) -> str:
        return str(self.group.snapshot_name.fill("web", droplet_id, f"web-{droplet_id}", when))

    def views(self) -> list[DropletView]:
        """The droplets the source selects now (tagged, existing), as the API lists them."""
        return [
            DropletView(d, f"web-{d}", state.status, state.locked, ("web",), "nyc3")
            for d, state in sorted(self.droplets.items())
            if state.exists and state.tagged
        ]

    def owner(self, image: Image) -> int | None:
        found = self.group.owner(image)
        return found if isinstance(found, int) else None

    def available(self, droplet_id: int) -> list[Image]:
        """The owned ``available`` snapshots of ``droplet_id``."""
        return [image for image in self.images.values() if self.owner(image) == droplet_id]


# ------------------------------------------------------------------ a run


def run(world: World, mode: str, cut: int, outcomes: list[str]) -> None:
    """Plan, check the plan's shape, then carry it out in apply's order up to ``mode``."""
    world.runs += 1
    views = world.views()
    busy = {d: 900 + d for d in world.flights if world.droplets[d].exists}
    verdicts = plan_images(
        world.fleet,
        list(world.images.values()),
        world.now,
        droplets={"web": views},
        snapshotting=busy,
    )
    planned = fleet_plan(verdicts, world.fleet, now=world.now)
    _check_waits(world, planned)
    due = list(planned.of("snapshot"))
    steps: list[tuple[str, PlanEntry]] = [("post", entry) for entry in due]
    if mode != "no_wait":
        steps += [("await", entry) for entry in due] + [("copy", entry) for entry in due]
        steps += [("delete", entry) for entry in planned.of("delete")]
    if mode == "interrupt":
        steps = steps[: cut % (len(steps) + 1)]
    ready: set[int] = set()  # the droplets whose snapshot completed and was copied
    fate = {entry.droplet_id: outcomes[i % len(outcomes)] for i, entry in enumerate(due)}
    for step, entry in steps:
        _step(world, planned, step, entry, fate, ready)
    if mode == "full":
        _check_keep(world, verdicts.droplets, fate, planned)


def _step(
    world: World,
    planned: FleetPlan,
    step: str,
    entry: PlanEntry,
    fate: dict[int | None, str],
    ready: set[int],
) -> None:
    """One step of an apply."""
    droplet_id = entry.droplet_id or 0
    outcome = fate.get(droplet_id, "")
    if step == "post" and outcome != "busy":
        name = str(entry.snapshot_name)
        world.flights[droplet_id] = Flight(name, world.now, errors=outcome == "errored")
    elif step == "await" and droplet_id in world.flights and outcome != "timeout":
        flight = world.flights.pop(droplet_id)
        if not flight.errors:
            world.add(flight.name, world.now + timedelta(seconds=1), droplet_id)
    elif step == "copy" and outcome == "completed":
        ready.add(droplet_id)
    elif step == "delete" and (not planned.waits_for_snapshot(entry) or droplet_id in ready):
        before = len(world.available(droplet_id))
        world.images.pop(entry.image_id or 0, None)
        after = len(world.available(droplet_id))
        world.checks += 1
        assert after >= min(world.group.keep_min, before), f"{entry} goes through the floor"


def _check_waits(world: World, planned: FleetPlan) -> None:
    """A droplet with a snapshot planned (or waiting, busy) has no deletion that does not
    wait for it."""
    turns = {entry.droplet_id for entry in planned.entries if entry.key[0] == "snapshot"}
    for entry in planned.of("delete"):
        if entry.droplet_id in turns:
            world.checks += 1
            assert planned.waits_for_snapshot(entry), f"{entry} runs before its snapshot"


def _check_keep(
    world: World, seen: dict[int, DropletView], fate: dict[int | None, str], planned: FleetPlan
) -> None:
    """After a run that went through: a droplet not due or whose snapshot completed (and
    status-pending ones) keeps at most ``keep`` ranked snapshots."""
    group = world.group
    if group.keep is None:
        return
    waiting = {e.droplet_id for e in planned.entries if e.key[0] == "snapshot"}
    for droplet_id in seen:
        if droplet_id in waiting and fate.get(droplet_id) != "completed":
            continue
        ranked = [
            image
            for image in world.images.values()
            if world.owner(image) == droplet_id and PROTECT not in (image.tags or [])
        ]
        world.checks += 1
        assert len(ranked) <= group.keep, f"droplet {droplet_id}: {len(ranked)} > keep"


def check_floor(world: World) -> None:
    """d keeps at least min(keep_min, |C(d)|) owned available snapshots, for each d whose
    snapshots only the fleet deleted."""
    keep_min = world.group.keep_min
    for droplet_id, completed in world.completed.items():
        if droplet_id in world.touched:
            continue
        have = world.available(droplet_id)
        world.checks += 1
        assert len(have) >= min(keep_min, len(completed)), (
            f"droplet {droplet_id} keeps {len(have)} of {len(completed)} completed, "
            f"keep_min {keep_min}"
        )


# ------------------------------------------------------------------ other events


def advance(world: World, hours: float) -> None:
    """The clock jumps; a jump of an hour or more ends the snapshots in flight (one that
    errors leaves no image; a timed-out one completes now)."""
    world.now += timedelta(hours=hours)
    if hours >= 1:
        for droplet_id, flight in sorted(world.flights.items()):
            if not flight.errors:
                world.add(flight.name, flight.started + timedelta(seconds=1), droplet_id)
        world.flights.clear()


def colleague(world: World, what: str, pick: int) -> None:
    """Someone else deletes, protects or makes a snapshot, or changes a droplet."""
    owned = sorted(i for i, image in world.images.items() if world.owner(image) is not None)
    droplet = world.droplets[DROPLETS[pick % len(DROPLETS)]]
    if what == "delete" and owned:
        world.touched.add(world.owner(world.images.pop(owned[pick % len(owned)])) or 0)
    elif what == "protect" and owned:
        image = world.images[owned[pick % len(owned)]]
        world.images[image.id] = image.model_copy(update={"tags": [PROTECT]})
    elif what == "manual":
        world.add(f"manual-{pick}-{world.now:%H%M%S}", world.now, None)
    elif what == "destroy":
        droplet.exists = False
    elif what in ("untag", "tag"):
        droplet.tagged = what == "tag"
    elif what == "lock":
        droplet.locked = not droplet.locked
    else:
        droplet.status = what


# ------------------------------------------------------------------ the property


RETAIN = st.fixed_dictionaries(
    {},
    optional={rule: st.integers(0, 3) for rule in ("hourly", "daily", "weekly", "monthly")},
).filter(lambda counts: any(counts.values()))
"""A calendar policy: a few rules, each a small count, at least one above 0."""


@st.composite
def fleets(draw: st.DrawFn) -> Fleet:
    """A source group with random rules (``keep``, or ``retain``, or neither), sometimes
    beside a select group that deletes every snapshot it takes."""
    keep_min = draw(st.integers(0, 3))
    group: dict[str, Any] = {
        "name": "web",
        "source": {"droplet_tag": "web"},
        "every": draw(st.sampled_from(["1h", "24h"])),
        "keep_min": keep_min,
        "protect_tags": [PROTECT],
        "on_source_gone": draw(st.sampled_from(["keep", "expire"])),
    }
    thinning = draw(st.sampled_from(["keep", "retain", "neither"]))
    if thinning == "keep":
        group["keep"] = draw(st.integers(max(keep_min, 1), keep_min + 3))
    elif thinning == "retain":
        group["retain"] = draw(RETAIN)
    if draw(st.booleans()):
        group["max_age"] = draw(st.sampled_from(["12h", "2d", "5d"]))
    groups = [group]
    if draw(st.booleans()):
        groups.append({"name": "all", "select": {}, "keep": 0, "keep_min": 0})
    return Fleet.from_dict({"version": 1, "group": groups})


RUN = st.tuples(
    st.just("run"),
    st.sampled_from(["full", "full", "no_wait", "interrupt"]),
    st.integers(0, 40),
    st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=4),
)
ADVANCE = st.tuples(st.just("advance"), st.sampled_from([0, 0.5, 1, 6, 23.9, 24, 72, 24 * 6]))
COLLEAGUE = st.tuples(st.just("colleague"), st.sampled_from(COLLEAGUES), st.integers(0, 99))
STEPS = st.lists(st.one_of(RUN, ADVANCE, RUN, COLLEAGUE, ADVANCE, RUN), min_size=3, max_size=20)
"""A history: runs (half the steps), clock jumps and what others do, in any order."""
HISTORY = st.lists(st.tuples(st.sampled_from(DROPLETS), st.integers(1, 24 * 10)), max_size=8)
"""Snapshots each droplet already has: (droplet, hours before the start)."""


def history(fleet: Fleet, before: list[tuple[int, int]], steps: list[Any]) -> World:
    """Play ``steps`` on a world of ``fleet`` whose droplets have the snapshots ``before``,
    checking the floor after each."""
    world = World(fleet, droplets={d: Droplet(tagged=d != 4) for d in DROPLETS})
    for droplet_id, hours in dict.fromkeys(before):
        when = START - timedelta(hours=hours)
        world.add(world.snapshot_name(droplet_id, when), when, droplet_id)
    check_floor(world)
    for step in steps:
        if step[0] == "run":
            run(world, step[1], step[2], step[3])
        elif step[0] == "advance":
            advance(world, step[1])
        else:
            colleague(world, step[1], step[2])
        check_floor(world)
    return world


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(fleets(), HISTORY, STEPS)
def test_the_floor_holds_over_any_history(
    fleet: Fleet, before: list[tuple[int, int]], steps: list[Any]
) -> None:
    """Over any history of runs (every outcome, --no-wait, interruptions), clock jumps,
    destroyed and untagged droplets and colleagues, under keep or retain: the floor holds,
    a due droplet's deletions wait for its snapshot, and keep leaves keep."""
    history(fleet, before, steps)


# ------------------------------------------------------- the property can fail


@contextmanager
def patched(target: Any, name: str, value: Any) -> Iterator[None]:
    saved = getattr(target, name)
    setattr(target, name, value)
    try:
        yield
    finally:
        setattr(target, name, saved)


def _ranked_without_this_runs_snapshot() -> Any:
    real = _fleet_entry.series_entries

    def series(*args: Any, **kwargs: Any) -> list[PlanEntry]:
        return real(*args, **{**kwargs, "newest": None})

    return patched(_fleet_source, "series_entries", series)


def _errored_snapshot_releases_deletions() -> Any:
    return patched(_fleet_plan.FleetPlan, "waits_for_snapshot", lambda self, entry: False)


def _deletions_not_tied_to_their_droplet() -> Any:
    real = _fleet_entry.series_entries

    def series(*args: Any, **kwargs: Any) -> list[PlanEntry]:
        return [
            replace(e, droplet_id=-1) if e.action == "delete" else e for e in real(*args, **kwargs)
        ]

    return patched(_fleet_source, "series_entries", series)


def _floor_one_short() -> Any:
    real = _retention.verdicts

    def verdicts(times: Any, policy: Any, now: datetime) -> Any:
        return real(times, replace(policy, keep_min=max(0, policy.keep_min - 1)), now)

    return patched(_fleet_entry, "verdicts", verdicts)


def _busy_droplet_deletes_at_once() -> Any:
    real = _fleet_entry.PlanEntry.key

    def key(self: PlanEntry) -> Any:
        return (self.action, *real.fget(self)[1:])  # type: ignore[attr-defined]

    return patched(_fleet_entry.PlanEntry, "key", property(key))


def _orphans_expire_past_the_floor() -> Any:
    real = _fleet_source._orphans

    def orphans(group: Any, droplet_id: int, series: Any, now: datetime) -> list[PlanEntry]:
        return real(replace(group, keep_min=0), droplet_id, series, now)

    return patched(_fleet_source, "_orphans", orphans)


def _retain_without_the_floor() -> Any:
    real = _retention.verdicts

    def verdicts(times: Any, policy: Any, now: datetime) -> Any:
        if policy.retain is None:
            return real(times, policy, now)
        return real(times, replace(policy, keep_min=0), now)

    return patched(_fleet_entry, "verdicts", verdicts)


BREAKS: dict[str, Callable[[], Any]] = {
    "ranked without this run's snapshot": _ranked_without_this_runs_snapshot,
    "an errored snapshot releases its droplet's deletions": _errored_snapshot_releases_deletions,
    "deletions not tied to their droplet": _deletions_not_tied_to_their_droplet,
    "keep_min one short": _floor_one_short,
    "a busy droplet's deletions do not wait": _busy_droplet_deletes_at_once,
    "orphans expire past the floor": _orphans_expire_past_the_floor,
    "retain ignores keep_min": _retain_without_the_floor,
}


@pytest.mark.parametrize("broken", list(BREAKS))
def test_the_property_catches_a_broken_floor(broken: str) -> None:
    """The rule broken on purpose, one way at a time: the property finds a history that
    breaks an invariant (so it is able to fail)."""
    search = settings(
        max_examples=EXAMPLES,
        deadline=None,
        phases=[Phase.generate],
        database=None,
        derandomize=True,  # the same histories every time: the catch does not depend on luck
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )

    @search
    @given(fleets(), HISTORY, STEPS)
    def probe(fleet: Fleet, before: list[tuple[int, int]], steps: list[Any]) -> None:
        history(fleet, before, steps)

    with BREAKS[broken](), pytest.raises(AssertionError):
        probe()
