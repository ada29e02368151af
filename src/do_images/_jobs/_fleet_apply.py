"""The fleet's apply engine: ``plan_fleet`` and ``apply_fleet`` as operations
(``_effects``), for both clients, and the ``FleetReport`` an apply returns.

A plan is a proposal; the rule (``_fleet_rule``) decides. ``apply_fleet`` reads the
account again and holds the plan to the rule on that listing, at the plan's
``listed_at``: the plan's own progress counts as done, any other difference is a
``StalePlanError`` before any change. Then, in order: each image's transfers (started
or adopted, ``start_transfers``, and awaited with one action list per cycle), the tags,
and each group's deletions once its transfers completed, re-checked against the rule
on a listing read just before them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

from .._checks import check_int, check_wait, type_name
from .._constants import PLAN_CLOCK_SKEW_SECONDS
from .._effects import Blocking, Gather, Op
from .._errors import DoImagesError, FleetError, StalePlanError
from .._images import ImageOps
from ._fleet_entry import EntryAction, PlanEntry
from ._fleet_file import Fleet
from ._fleet_plan import FleetPlan
from ._fleet_rule import Comparison, compare, deletable, digest, plan_images, with_running
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
    ``already in sfo3`` for the plan's own progress), ``failed`` (``error``), or
    ``skipped`` (``detail`` says why: a transfer of the group failed, or the image
    changed since the plan)."""

    entry: PlanEntry
    outcome: Literal["done", "failed", "skipped"]
    detail: str = ""
    error: DoImagesError | None = None


@dataclass
class FleetReport:
    """What ``apply_fleet`` did, entry by entry (``keep``, ``protected`` and ``pending``
    entries are not acted on and not listed)."""

    results: list[EntryResult] = field(default_factory=list)

    @property
    def failed(self) -> list[EntryResult]:
        """The entries that failed, or were skipped (a transfer of their group failed,
        or the image changed since the plan)."""
        return [result for result in self.results if result.outcome != "done"]

    @property
    def ok(self) -> bool:
        """Whether every entry was done."""
        return not self.failed

    def of(self, outcome: str) -> list[EntryResult]:
        """The results with this outcome (``done``, ``failed`` or ``skipped``)."""
        return [result for result in self.results if result.outcome == outcome]


OnResult = Callable[[EntryResult], object]


# ------------------------------------------------------------------ planning


def _image(entry: PlanEntry) -> int:
    """The image of a transfer, tag or deletion (a plan's entries are checked to have
    one)."""
    assert entry.image_id is not None
    return entry.image_id


def _no_sources(fleet: Fleet) -> None:
    """Planning and applying read and make no droplet snapshots yet: a fleet with a
    source group is refused before any request."""
    if fleet.sources:
        raise FleetError(
            f"group {fleet.sources[0].name!r}: a group with source (scheduled snapshots) "
            "cannot be planned or applied by this version yet: it reads no droplets"
        )


def plan_fleet(ops: ImageOps, fleet: Fleet, *, width: int) -> Op[FleetPlan]:
    """Read the regions (every group's must be listed and available, else
    ``FleetError``), every page of the account's own images, and the action list of each
    kept image that lacks a region of its group; decide; change nothing."""
    if not isinstance(fleet, Fleet):
        raise TypeError(f"fleet must be a Fleet (Fleet.load(path)), not {type_name(fleet)}")
    _no_sources(fleet)
    regions = yield from list_regions(ops)
    fleet.check_regions(regions.available)
    listing = yield from own_images(ops)
    verdicts = plan_images(fleet, listing.images, listing.now)
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
    verdicts = with_running(verdicts, running)  # the rule ran once: transfers marked
    digests = {image_id: digest(image) for image_id, image in verdicts.matched.items()}
    reads = {"regions_list": regions.pages, "images_list": listing.pages}
    if lacking:
        reads["imageActions_list"] = len(lacking)
    return FleetPlan(fleet, verdicts.entries, verdicts.notes, listing.now, digests, reads)


# ------------------------------------------------------------- holding a plan


def _check_apply(plan: object, max_delete: object, max_plan_age: object, on_result: object) -> None:
    if not isinstance(plan, FleetPlan):
        raise TypeError(f"plan must be a FleetPlan, not {type_name(plan)}")
    _no_sources(plan.fleet)
    if max_delete is None:
        max_delete = plan.fleet.max_delete
    most = check_int(max_delete, "max_delete", min=0)
    if not isinstance(max_plan_age, timedelta) or max_plan_age <= timedelta(0):
        raise ValueError(f"max_plan_age must be a positive timedelta, got {max_plan_age!r}")
    if on_result is not None and not callable(on_result):
        raise TypeError(f"on_result must be callable, not {type_name(on_result)}")
    deletions = len(plan.of("delete"))
    if deletions > most:
        raise FleetError(
            f"the plan deletes {deletions} images, more than max_delete {max_delete}; "
            f"if that is meant, raise it: apply_fleet(plan, max_delete={deletions})"
        )


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


def check_current(plan: FleetPlan, listing: Listing, most: timedelta) -> Comparison:
    """Hold ``plan`` to the rule on ``listing`` (read by apply), at the plan's time.

    ``FleetError`` for a ``listed_at`` later than the listing's server time (give or
    take ``PLAN_CLOCK_SKEW_SECONDS``); ``StalePlanError`` for a plan whose fleet file
    changed, that is older than ``most``, or whose entries differ from the rule's other
    than by its own progress. Returns what of the plan is done already.
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
        fresh = plan_images(plan.fleet, listing.images, plan.listed_at)
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
    done: dict[PlanEntry, str]
    """The plan's entries found done before any change (its own progress), with why."""

    def tell(self, result: EntryResult) -> None:
        self.report.results.append(result)
        if self.on_result is not None:
            self.on_result(result)

    def todo(self, action: EntryAction, group: str | None = None) -> list[PlanEntry]:
        """The plan's entries of ``action`` (of ``group``) not done already."""
        return [
            entry
            for entry in self.plan.of(action)
            if entry not in self.done and (group is None or entry.group == group)
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
) -> Op[FleetReport]:
    """Carry ``plan`` out: refuse too many deletions, or a plan the rule does not give on
    the account now, before any change; then transfers, tags, and each group's
    deletions once its transfers completed, each re-checked just before."""
    _check_apply(plan, max_delete, max_plan_age, on_result)
    poll, timeout = check_wait(poll, timeout)
    changed = yield Blocking(lambda: _fleet_file_changed(plan))
    if changed is not None:
        raise StalePlanError(changed, [])
    listing = yield from own_images(ops)
    run = _Apply(
        ops, plan, width, FleetReport(), on_result, check_current(plan, listing, max_plan_age).done
    )
    for entry, why in run.done.items():
        run.tell(EntryResult(entry, "done", why))
    failed = yield from _transfer_all(run, poll, timeout)
    yield from _tag_all(run)
    for group in plan.fleet.groups:
        yield from _delete_group(run, group.name, failed.get(group.name))
    return run.report


def _transfer_all(run: _Apply, poll: float, timeout: float) -> Op[dict[str, str]]:
    """Every image's transfers at once (within the budget); the groups with a failure."""
    by_image: dict[int, list[PlanEntry]] = {}
    for entry in run.todo("transfer"):
        by_image.setdefault(_image(entry), []).append(entry)
    outcomes: list[list[EntryResult]] = yield Gather(
        [
            _transfer_image(run.ops, image_id, entries, poll, timeout)
            for image_id, entries in by_image.items()
        ],
        width=budget_width(run.ops, run.width),
    )
    failed: dict[str, str] = {}
    for result in (result for results in outcomes for result in results):
        run.tell(result)
        if result.outcome == "failed":
            failed.setdefault(result.entry.group, result.detail)
    return failed


def _transfer_image(
    ops: ImageOps, image_id: int, entries: Sequence[PlanEntry], poll: float, timeout: float
) -> Op[list[EntryResult]]:
    """Start (or adopt, when under way) every transfer of one image; await them together."""
    started = yield from start_transfers(
        ops, image_id, [str(entry.region) for entry in entries], adopt=True
    )
    if started.actions:
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


def _delete_group(run: _Apply, group: str, failed_transfer: str | None) -> Op[None]:
    """A group's deletions, none if one of its transfers failed; the rest re-checked on
    a listing read just before: only what the plan and the rule both delete, unchanged
    since the plan, goes (within the budget); the others are skipped."""
    mine = run.todo("delete", group)
    if not mine:
        return
    if failed_transfer is not None:
        why = f"not deleted: a transfer of group {group!r} failed ({failed_transfer})"
        for entry in mine:
            run.tell(EntryResult(entry, "skipped", why))
        return
    try:
        listing = yield from own_images(run.ops)
        fresh = plan_images(run.plan.fleet, listing.images, run.plan.listed_at)
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
