"""The fleet's apply engine: ``plan_fleet`` and ``apply_fleet`` as operations
(``_effects``), for both clients, and the ``FleetReport`` an apply returns.

A plan is a proposal; the rule (``_fleet_rule``) decides. ``apply_fleet`` reads the
account (and the source groups' droplets) again and holds the plan to the rule on that
listing, at the plan's ``listed_at``: the plan's own progress counts as done, a droplet
that turned busy is no difference, any other is a ``StalePlanError`` before any change.
Then, in order: every due droplet's snapshot, awaited together, its image tagged and
copied (``_fleet_snapshots``); each image's transfers (started or adopted,
``start_transfers``, and awaited with one action list per cycle); the tags; and the
deletions, re-checked against the rule on a listing read just before them: a select
group's once its transfers completed, a droplet's once its snapshot (if it was due)
completed and was copied and its images' transfers completed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from .._checks import check_bool, check_int, check_wait, type_name
from .._constants import PLAN_CLOCK_SKEW_SECONDS
from .._effects import Blocking, Gather, Op
from .._errors import DoImagesError, FleetError, StalePlanError
from .._images import ImageOps
from .._models import Image
from ._fleet_entry import EntryAction, PlanEntry
from ._fleet_file import Fleet, SourceGroup
from ._fleet_plan import FleetPlan
from ._fleet_read import Sources, read_sources, snapshots_running
from ._fleet_rule import Comparison, compare, deletable, digest, plan_images
from ._fleet_snapshots import Outcome, Take, Turn, Waits, take_turns
from ._fleet_source import droplet_digest
from ._regions import list_regions
from ._toolkit import (
    Listing,
    await_actions,
    budget_width,
    delete_each,
    own_images,
    start_transfers,
    transfers_to,
)

logger = logging.getLogger("do_images")


@dataclass(frozen=True)
class EntryResult:
    """What happened to one entry of the plan: ``done`` (``detail`` says how, such as
    ``already in sfo3`` for the plan's own progress), ``pending`` (left for a later run,
    ``waits`` says why: ``busy``, ``in progress``, ``timed out``), ``started`` (by
    ``--no-wait``, ``waits`` is ``no wait``), ``failed`` (``error``), or ``skipped``
    (``detail`` says why: a transfer of the group or the droplet's snapshot failed, the
    image changed since the plan, or ``max_delete`` was passed)."""

    entry: PlanEntry
    outcome: Outcome
    detail: str = ""
    error: DoImagesError | None = None
    waits: Waits | None = None
    image: Image | None = None
    """For a ``snapshot`` entry: the image it made, once found."""


@dataclass
class FleetReport:
    """What ``apply_fleet`` did, entry by entry (``keep``, ``protected`` and ``pending``
    entries are not acted on and not listed)."""

    results: list[EntryResult] = field(default_factory=list)

    @property
    def failed(self) -> list[EntryResult]:
        """The entries that failed, or were skipped (a transfer of their group or their
        droplet's snapshot failed, the image changed since the plan, ``max_delete``)."""
        return [result for result in self.results if result.outcome in ("failed", "skipped")]

    @property
    def ok(self) -> bool:
        """Whether every entry was done or is left for a later run (``pending``,
        ``started``): apply exits 0 then, 3 otherwise."""
        return not self.failed

    def of(self, outcome: str) -> list[EntryResult]:
        """The results with this outcome (``done``, ``pending``, ``started``, ``failed``
        or ``skipped``)."""
        return [result for result in self.results if result.outcome == outcome]


OnResult = Callable[[EntryResult], object]


# ------------------------------------------------------------------ planning


def _image(entry: PlanEntry) -> int:
    """The image of a transfer, tag or deletion (a plan's entries are checked to have
    one)."""
    assert entry.image_id is not None
    return entry.image_id


def plan_fleet(ops: ImageOps, fleet: Fleet, *, width: int) -> Op[FleetPlan]:
    """Read the regions (every group's must be listed and available, else
    ``FleetError``), the source groups' droplets, every page of the account's own
    images, the actions of each droplet due a snapshot (one may be in progress) and of
    each kept image that lacks a region of its group; decide; change nothing."""
    if not isinstance(fleet, Fleet):
        raise TypeError(f"fleet must be a Fleet (Fleet.load(path)), not {type_name(fleet)}")
    regions = yield from list_regions(ops)
    fleet.check_regions(regions.available)
    sources = yield from read_sources(ops, fleet, width=width)
    listing = yield from own_images(ops)
    verdicts = plan_images(fleet, listing.images, listing.now, droplets=sources.droplets)
    due = sorted({e.droplet_id or 0 for e in verdicts.entries if e.action == "snapshot"})
    snapshotting = yield from snapshots_running(ops, due, width=width)
    lacking = sorted({_image(entry) for entry in verdicts.entries if entry.action == "transfer"})
    lists = yield Gather(
        [ops.action_list(image_id) for image_id in lacking], width=budget_width(ops, width)
    )
    running = {
        image_id: {
            region: action.id for region, action in transfers_to(found, ("in-progress",)).items()
        }
        for image_id, found in zip(lacking, lists, strict=True)
    }
    # The rule again, with what runs: transfers waited for, snapshots not started twice.
    verdicts = plan_images(
        fleet,
        listing.images,
        listing.now,
        running,
        droplets=sources.droplets,
        snapshotting=snapshotting,
    )
    digests = {image_id: digest(image) for image_id, image in verdicts.matched.items()}
    reads = {"regions_list": regions.pages, **sources.reads, "images_list": listing.pages}
    if due:
        reads["dropletActions_list"] = len(due)
    if lacking:
        reads["imageActions_list"] = len(lacking)
    droplets = {key: droplet_digest(view) for key, view in verdicts.droplets.items()}
    return FleetPlan(fleet, verdicts.entries, verdicts.notes, listing.now, digests, reads, droplets)


# ------------------------------------------------------------- holding a plan


def _check_apply(
    plan: object, max_delete: object, max_plan_age: object, on_result: object, wait: object
) -> str | None:
    """Refuse what cannot be applied, before any request. A plan with snapshots that
    deletes more than ``max_delete`` still makes them and deletes nothing: why, then."""
    if not isinstance(plan, FleetPlan):
        raise TypeError(f"plan must be a FleetPlan, not {type_name(plan)}")
    check_bool(wait, "wait")
    if not wait:
        for group in plan.fleet.sources:
            if group.power_off:
                raise FleetError(
                    f"group {group.name!r} has power_off = true: applying without waiting "
                    "would leave its droplets off; apply it with waiting"
                )
    if max_delete is None:
        max_delete = plan.fleet.max_delete
    most = check_int(max_delete, "max_delete", min=0)
    if not isinstance(max_plan_age, timedelta) or max_plan_age <= timedelta(0):
        raise ValueError(f"max_plan_age must be a positive timedelta, got {max_plan_age!r}")
    if on_result is not None and not callable(on_result):
        raise TypeError(f"on_result must be callable, not {type_name(on_result)}")
    deletions = len(plan.of("delete"))
    if deletions > most and plan.of("snapshot"):
        return (
            f"not deleted: the plan deletes {deletions} images, more than max_delete "
            f"{most}; the snapshots were made; if that many is meant, raise it with "
            f"--max-delete {deletions} (apply_fleet(plan, max_delete={deletions}))"
        )
    if deletions > most:
        raise FleetError(
            f"the plan deletes {deletions} images, more than max_delete {max_delete}; "
            f"if that is meant, raise it: apply_fleet(plan, max_delete={deletions})"
        )
    return None


def _fleet_file_changed(plan: FleetPlan) -> str | None:
    """Why the plan's fleet file no longer backs it (``None`` when it does, or when there
    is no such file here to compare: the plan's own groups are what the rule runs on)."""
    path = plan.fleet.path
    if path is None or not Path(path).is_file():
        return None
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    if hashlib.sha256(raw).hexdigest() != plan.fleet.sha256:
        return f"the fleet file {path} changed since the plan was made: plan again"
    try:
        fleet = Fleet.load(path)
        groups = fleet.groups
    except FleetError as exc:
        return f"the fleet file {path} is not one ({exc}): plan again"
    if (groups, fleet.max_delete) != (plan.fleet.groups, plan.fleet.max_delete):
        return f"the plan's groups are not those of its fleet file {path}: plan again"
    return None


def check_current(
    plan: FleetPlan, listing: Listing, most: timedelta, sources: Sources | None = None
) -> Comparison:
    """Hold ``plan`` to the rule on ``listing`` (read by apply), at the plan's time.

    ``FleetError`` for a ``listed_at`` later than the listing's server time (give or
    take ``PLAN_CLOCK_SKEW_SECONDS``); ``StalePlanError`` for a plan whose fleet file
    changed, that is older than ``most``, or whose entries differ from the rule's other
    than by its own progress. ``sources``: the source groups' droplets as read by apply
    (needed when the plan's fleet has a source group). Returns what of the plan is done
    already, and the droplets due a planned snapshot that are busy now.
    """
    ahead = plan.listed_at - listing.now
    if ahead > timedelta(seconds=PLAN_CLOCK_SKEW_SECONDS):
        raise FleetError(
            f"the plan says it was made at {plan.listed_at.isoformat()}, {ahead} after the "
            "server's time now: a plan from the future is no plan of this account"
        )
    age = listing.now - plan.listed_at
    if age > most:
        raise StalePlanError(
            f"the plan is {age} old by the server's clock, more than {most}: plan again", []
        )
    try:
        fresh = plan_images(
            plan.fleet,
            listing.images,
            plan.listed_at,
            droplets=sources.droplets if sources is not None else {},
        )
    except FleetError as exc:
        raise StalePlanError(
            f"the account changed since the plan was made: {exc}: plan again"
        ) from None
    found = compare(plan.entries, plan.digests, listing.images, fresh, plan.droplets)
    if found.differ or found.droplets:
        changed = sorted(found.differ)
        shown = ", ".join(map(str, changed[:10])) + (" …" if len(changed) > 10 else "")
        droplets = sorted(found.droplets)
        what = f"{len(changed)} image(s) ({shown})" if changed else ""
        what += " and " if changed and droplets else ""
        what += (
            f"{len(droplets)} droplet(s) ({', '.join(map(str, droplets[:10]))})" if droplets else ""
        )
        raise StalePlanError(
            f"{what} changed, appeared or went since the plan was made, or the plan's "
            "entries are not what its fleet gives: plan again",
            changed,
        )
    return found


# ------------------------------------------------------------------ applying


@dataclass
class _Apply:
    """One apply under way: what it needs, what is done, and how results are told."""

    ops: ImageOps
    plan: FleetPlan
    width: int
    report: FleetReport
    on_result: OnResult | None
    found: Comparison
    """The plan held to the rule on apply's listing: its own progress, busy droplets."""
    sources: Sources
    """The source groups' droplets, as apply read them."""
    listing: Listing
    wait: bool = True
    over: str | None = None
    """Why no deletion is made (more than ``max_delete`` in a plan with snapshots)."""
    turns: dict[tuple[str, int], EntryResult] = field(default_factory=dict)
    """(group, droplet id) -> what became of the droplet's planned snapshot."""
    failed_droplets: dict[tuple[str, int], str] = field(default_factory=dict)
    """(group, droplet id) -> why a transfer of one of its snapshots failed."""

    def tell(self, result: EntryResult) -> None:
        self.report.results.append(result)
        if self.on_result is not None:
            self.on_result(result)

    def todo(self, action: EntryAction, group: str | None = None) -> list[PlanEntry]:
        """The plan's entries of ``action`` (of ``group``) not done already."""
        return [
            entry
            for entry in self.plan.of(action)
            if entry not in self.found.done and (group is None or entry.group == group)
        ]


def apply_fleet(
    ops: ImageOps,
    plan: FleetPlan,
    *,
    width: int,
    max_delete: int | None,
    max_plan_age: timedelta,
    poll: float,
    timeout: float,
    on_result: OnResult | None,
    wait: bool = True,
) -> Op[FleetReport]:
    """Carry ``plan`` out: refuse too many deletions (a plan without snapshots), a
    ``power_off`` group without ``wait``, or a plan the rule does not give on the
    account now, before any change; then the snapshots, the transfers, the tags, and
    the deletions, each re-checked just before. Without ``wait`` the snapshots and
    transfers are started, none awaited, nothing deleted."""
    over = _check_apply(plan, max_delete, max_plan_age, on_result, wait)
    poll, timeout = check_wait(poll, timeout)
    changed = yield Blocking(lambda: _fleet_file_changed(plan))
    if changed is not None:
        raise StalePlanError(changed, [])
    sources = yield from read_sources(ops, plan.fleet, width=width)
    listing = yield from own_images(ops)
    found = check_current(plan, listing, max_plan_age, sources)
    run = _Apply(ops, plan, width, FleetReport(), on_result, found, sources, listing, wait, over)
    for entry, why in found.done.items():
        if entry.action != "snapshot":  # a snapshot made is finished below
            run.tell(EntryResult(entry, "done", why))
    yield from _snapshot_all(run, poll, timeout)
    yield from _transfer_all(run, poll, timeout)
    yield from _tag_all(run)
    for group in plan.fleet.groups:
        yield from _delete_group(run, group.name)
    return run.report


def _snapshot_all(run: _Apply, poll: float, timeout: float) -> Op[None]:
    """Every planned snapshot: those of a droplet busy now left ``pending``, those made
    already (the plan applied before) finished, the others taken, all at once."""
    groups = {group.name: group for group in run.plan.fleet.sources}
    turns: list[tuple[PlanEntry, SourceGroup, Image | None]] = []
    made = {image.name: image for image in run.listing.images}
    for entry in run.plan.of("snapshot"):
        group = groups[entry.group]
        if entry in run.found.done:
            turns.append((entry, group, made.get(entry.snapshot_name)))
        elif (entry.droplet_id or 0) in run.found.busy:
            why = "the droplet is busy now (locked): snapshot next run; its deletions wait"
            _turned(run, EntryResult(entry, "pending", why, waits="busy"))
        else:
            turns.append((entry, group, None))
    take = Take(run.ops, run.wait, poll, timeout, run.ops.session.budget.per_minute)
    results: list[Turn] = yield from take_turns(take, turns)
    for turn in results:
        _turned(
            run,
            EntryResult(turn.entry, turn.outcome, turn.detail, turn.error, turn.waits, turn.image),
        )


def _turned(run: _Apply, result: EntryResult) -> None:
    run.turns[(result.entry.group, result.entry.droplet_id or 0)] = result
    run.tell(result)


def _transfer_all(run: _Apply, poll: float, timeout: float) -> Op[None]:
    """Every image's transfers at once (within the budget); the groups and droplets
    with a failure are noted (their deletions do not follow)."""
    by_image: dict[int, list[PlanEntry]] = {}
    for entry in run.todo("transfer"):
        by_image.setdefault(_image(entry), []).append(entry)
    outcomes: list[list[EntryResult]] = yield Gather(
        [
            _transfer_image(run, image_id, entries, poll, timeout)
            for image_id, entries in by_image.items()
        ],
        width=budget_width(run.ops, run.width),
    )
    for result in (result for results in outcomes for result in results):
        run.tell(result)
        if result.outcome == "failed":
            key = (result.entry.group, result.entry.droplet_id or 0)
            run.failed_droplets.setdefault(key, result.detail)


def _transfer_image(
    run: _Apply, image_id: int, entries: Sequence[PlanEntry], poll: float, timeout: float
) -> Op[list[EntryResult]]:
    """Start (or adopt, when under way) every transfer of one image; await them together
    (unless the apply does not wait)."""
    ops = run.ops
    started = yield from start_transfers(
        ops, image_id, [str(entry.region) for entry in entries], adopt=True
    )
    if started.actions and run.wait:
        yield from await_actions(
            ops, image_id, started.actions, started.errors, poll=poll, timeout=timeout
        )
    results = []
    for entry in entries:
        region = str(entry.region)
        failure = started.errors.get(region)
        if failure is not None:
            results.append(EntryResult(entry, "failed", str(failure), failure))
            continue
        action = started.actions[region]
        adopted = " (adopted: it was under way)" if region in started.adopted else ""
        if not run.wait:
            why = f"transfer {action.id} started{adopted}; not awaited"
            results.append(EntryResult(entry, "started", why, waits="no wait"))
            continue
        results.append(EntryResult(entry, "done", f"transfer {action.id} completed{adopted}"))
    return results


def _tag_all(run: _Apply) -> Op[None]:
    by_image: dict[int, list[PlanEntry]] = {}
    for entry in run.todo("tag"):
        by_image.setdefault(_image(entry), []).append(entry)
    for image_id, entries in by_image.items():
        try:
            yield from run.ops.tag(image_id, [str(entry.tag) for entry in entries])
        except DoImagesError as error:
            for entry in entries:
                run.tell(EntryResult(entry, "failed", str(error), error))
            continue
        for entry in entries:
            run.tell(EntryResult(entry, "done", f"tagged {entry.tag}"))


def _held(run: _Apply, entry: PlanEntry) -> EntryResult | None:
    """Why a deletion is not made now (``None``: it may be, once re-checked): the apply
    does not wait or passed ``max_delete``, a transfer of its group (a select group) or
    of its droplet's snapshots failed, or it waits for its droplet's snapshot, which is
    not done."""
    if not run.wait:
        why = "not deleted: --no-wait deletes nothing; the next run does"
        return EntryResult(entry, "pending", why, waits="no wait")
    if run.over is not None:
        return EntryResult(entry, "skipped", run.over)
    key = (entry.group, entry.droplet_id or 0)
    failed = run.failed_droplets.get(key)
    if failed is not None:
        whose = f"droplet {entry.droplet_id}" if entry.droplet_id else f"group {entry.group!r}"
        return EntryResult(
            entry, "skipped", f"not deleted: a transfer of {whose} failed ({failed})"
        )
    if not run.plan.waits_for_snapshot(entry):
        return None
    turn = run.turns.get(key)
    if turn is None or turn.outcome in ("pending", "started"):
        why = "not deleted: it waits for its droplet's snapshot, which is not done; next run"
        return EntryResult(entry, "pending", why, waits=turn.waits if turn else "busy")
    if turn.outcome != "done":
        why = f"not deleted: the snapshot of droplet {entry.droplet_id} failed ({turn.detail})"
        return EntryResult(entry, "skipped", why)
    return None


def _delete_group(run: _Apply, group: str) -> Op[None]:
    """A group's deletions, each held (``_held``) or re-checked on a listing read just
    before: only what the plan and the rule both delete, unchanged since the plan, goes
    (within the budget); the others are skipped."""
    mine = []
    for entry in run.todo("delete", group):
        held = _held(run, entry)
        if held is None:
            mine.append(entry)
        else:
            run.tell(held)
    if not mine:
        return
    try:
        listing = yield from own_images(run.ops)
        fresh = plan_images(
            run.plan.fleet, listing.images, run.plan.listed_at, droplets=run.sources.droplets
        )
    except DoImagesError as error:
        for entry in mine:
            run.tell(EntryResult(entry, "skipped", f"not deleted: no fresh listing ({error})"))
        return
    go, gone, changed = deletable(mine, run.plan.digests, listing.images, fresh)
    for entry in gone:
        run.tell(EntryResult(entry, "done", "already gone"))
    for entry in changed:
        run.tell(EntryResult(entry, "skipped", "changed since the plan: not deleted"))
    outcomes = yield from delete_each(run.ops, [_image(entry) for entry in go], width=run.width)
    for entry, outcome in zip(go, outcomes, strict=True):
        if isinstance(outcome, DoImagesError):
            run.tell(EntryResult(entry, "failed", str(outcome), outcome))
        else:
            run.tell(EntryResult(entry, "done", outcome))


__all__ = [
    "EntryResult",
    "FleetReport",
    "OnResult",
    "apply_fleet",
    "check_current",
    "plan_fleet",
]
