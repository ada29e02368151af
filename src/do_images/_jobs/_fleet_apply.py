"""The fleet's apply engine: ``plan_fleet`` and ``apply_fleet`` as operations
(``_effects``), for both clients, and the ``FleetReport`` an apply returns.

The rule is ``fleet.plan_images`` (pure); these read what it needs and carry a plan out
in its order: transfers (each image's through the never-twice POST path of
``transfer``, all of an image's awaited with one action-list poll per cycle), then
tags, then each group's deletions once its transfers completed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

from .._checks import check_int, check_wait, type_name
from .._effects import Gather, Op
from .._errors import DoImagesError, FleetError, NotFoundError, StalePlanError
from .._images import ImageOps
from .._models import Action, Image
from .._paging import page_concurrency
from ._fleet_file import Fleet
from ._fleet_plan import FleetPlan, PlanEntry, digest, plan_images, with_running
from ._toolkit import await_actions, own_images

logger = logging.getLogger("do_images")


@dataclass(frozen=True)
class EntryResult:
    """What happened to one entry of the plan."""

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
        """The entries that failed, or were skipped because an earlier one failed."""
        return [result for result in self.results if result.outcome != "done"]

    @property
    def ok(self) -> bool:
        """Whether every entry was done."""
        return not self.failed

    def of(self, outcome: str) -> list[EntryResult]:
        """The results with this outcome (``done``, ``failed`` or ``skipped``)."""
        return [result for result in self.results if result.outcome == outcome]


def regions_by_image(entries: Sequence[PlanEntry]) -> dict[int, list[PlanEntry]]:
    """The transfer entries, by image, in plan order."""
    found: dict[int, list[PlanEntry]] = {}
    for entry in entries:
        if entry.action == "transfer":
            found.setdefault(entry.image_id, []).append(entry)
    return found


OnResult = Callable[[EntryResult], object]


def _width(ops: ImageOps, width: int) -> Callable[[], int]:
    return lambda: page_concurrency(width, ops.session.rate_limit)


def _running(actions: list[Action]) -> dict[str, int]:
    """The regions a transfer is under way to, and its action id."""
    return {
        action.region_slug: action.id
        for action in actions
        if action.type == "transfer" and action.status == "in-progress" and action.region_slug
    }


def plan_fleet(ops: ImageOps, fleet: Fleet, width: int) -> Op[FleetPlan]:
    """Read every page of the account's own images, and the action list of each kept
    image that lacks a region of its group; decide; change nothing."""
    if not isinstance(fleet, Fleet):
        raise TypeError(f"fleet must be a Fleet (Fleet.load(path)), not {type_name(fleet)}")
    listing = yield from own_images(ops)
    verdicts = plan_images(fleet, listing.images, listing.now)
    lacking = sorted({entry.image_id for entry in verdicts.entries if entry.action == "transfer"})
    lists: list[list[Action]] = yield Gather(
        [ops.action_list(image_id) for image_id in lacking], width=_width(ops, width)
    )
    running = {
        image_id: _running(actions) for image_id, actions in zip(lacking, lists, strict=True)
    }
    verdicts = with_running(verdicts, running)  # the rule ran once; only transfers change
    digests = {image_id: digest(image) for image_id, image in verdicts.matched.items()}
    return FleetPlan(fleet, verdicts.entries, verdicts.notes, listing.now, digests, listing.pages)


def _selected(fleet: Fleet, images: list[Image]) -> dict[int, str]:
    """The digest of every image the fleet selects now."""
    return {
        image.id: digest(image)
        for image in images
        if any(group.select.selects(image) for group in fleet.groups)
    }


def _check_fresh(plan: FleetPlan, images: list[Image], age: timedelta, most: timedelta) -> None:
    """``StalePlanError`` unless the account and the fleet file are as planned, in time."""
    path = plan.fleet.path
    if path is not None and Path(path).is_file():
        import hashlib

        if hashlib.sha256(Path(path).read_bytes()).hexdigest() != plan.fleet.sha256:
            raise StalePlanError(
                f"the fleet file {path} changed since the plan was made: plan again", []
            )
    now = _selected(plan.fleet, images)
    changed = sorted(
        key for key in set(now) | set(plan.digests) if now.get(key) != plan.digests.get(key)
    )
    if changed:
        shown = ", ".join(map(str, changed[:10])) + (" …" if len(changed) > 10 else "")
        raise StalePlanError(
            f"{len(changed)} image(s) changed, appeared or went since the plan was made "
            f"({shown}): plan again",
            changed,
        )
    if age > most:
        raise StalePlanError(
            f"the plan is {age} old by the server's clock, more than {most}: plan again", []
        )


def _check_apply(plan: object, max_delete: object, max_plan_age: object, on_result: object) -> None:
    if not isinstance(plan, FleetPlan):
        raise TypeError(f"plan must be a FleetPlan, not {type_name(plan)}")
    most = check_int(max_delete, "max_delete", min=0)
    if not isinstance(max_plan_age, timedelta) or max_plan_age <= timedelta(0):
        raise ValueError(f"max_plan_age must be a positive timedelta, got {max_plan_age!r}")
    if on_result is not None and not callable(on_result):
        raise TypeError(f"on_result must be callable, not {type_name(on_result)}")
    deletions = len(plan.of("delete"))
    if deletions > most:
        raise FleetError(
            f"the plan deletes {deletions} images, more than max_delete {max_delete}; "
            f"if that is meant, raise it (apply_fleet(plan, max_delete={deletions}), "
            f"or --max-delete {deletions})"
        )


def apply_fleet(
    ops: ImageOps,
    plan: FleetPlan,
    width: int,
    max_delete: int,
    max_plan_age: timedelta,
    poll: float,
    timeout: float,
    on_result: OnResult | None,
) -> Op[FleetReport]:
    """Carry ``plan`` out: refuse too many deletions or a stale plan before any change;
    then transfers, tags, and each group's deletions once its transfers completed."""
    _check_apply(plan, max_delete, max_plan_age, on_result)
    poll, timeout = check_wait(poll, timeout)
    listing = yield from own_images(ops)
    _check_fresh(plan, listing.images, listing.now - plan.listed_at, max_plan_age)
    report = FleetReport()

    def done(result: EntryResult) -> None:
        report.results.append(result)
        if on_result is not None:
            on_result(result)

    by_image = regions_by_image(plan.entries)
    outcomes: list[list[EntryResult]] = yield Gather(
        [
            _transfer_image(ops, image_id, entries, poll, timeout)
            for image_id, entries in by_image.items()
        ],
        width=_width(ops, width),
    )
    failed_groups: dict[str, str] = {}
    for result in (result for results in outcomes for result in results):
        done(result)
        if result.outcome == "failed":
            failed_groups.setdefault(result.entry.group, result.detail)
    yield from _tag_all(ops, plan, done)
    for group in plan.fleet.groups:
        yield from _delete_group(ops, plan, group.name, failed_groups.get(group.name), width, done)
    return report


def _delete_group(
    ops: ImageOps,
    plan: FleetPlan,
    group: str,
    failed_transfer: str | None,
    width: int,
    done: Callable[[EntryResult], None],
) -> Op[None]:
    """A group's deletions, all at once within the budget; none if a transfer failed."""
    mine = [entry for entry in plan.of("delete") if entry.group == group]
    if failed_transfer is not None:
        why = f"not deleted: a transfer of group {group!r} failed ({failed_transfer})"
        for entry in mine:
            done(EntryResult(entry, "skipped", why))
        return
    results: list[EntryResult] = yield Gather(
        [_delete(ops, entry) for entry in mine], width=_width(ops, width)
    )
    for result in results:
        done(result)


def _transfer_image(
    ops: ImageOps, image_id: int, entries: list[PlanEntry], poll: float, timeout: float
) -> Op[list[EntryResult]]:
    """Start (or, if under way, adopt) every transfer of one image; await them together."""
    actions: dict[str, Action] = {}
    errors: dict[str, DoImagesError] = {}
    for entry in entries:
        region = str(entry.region)
        try:
            if entry.running is not None:
                actions[region] = yield from ops.action_info(image_id, entry.running)
            else:
                body = {"type": "transfer", "region": region}
                actions[region] = yield from ops.start_action(image_id, body)
        except DoImagesError as error:
            errors[region] = error
    if actions:
        yield from await_actions(ops, image_id, actions, errors, poll=poll, timeout=timeout)
    results = []
    for entry in entries:
        region = str(entry.region)
        failure = errors.get(region)
        if failure is not None:
            results.append(EntryResult(entry, "failed", str(failure), failure))
        else:
            results.append(EntryResult(entry, "done", f"transfer {actions[region].id} completed"))
    return results


def _tag_all(ops: ImageOps, plan: FleetPlan, done: Callable[[EntryResult], None]) -> Op[None]:
    by_image: dict[int, list[PlanEntry]] = {}
    for entry in plan.of("tag"):
        by_image.setdefault(entry.image_id, []).append(entry)
    for image_id, entries in by_image.items():
        try:
            yield from ops.tag(image_id, [str(entry.tag) for entry in entries])
        except DoImagesError as error:
            for entry in entries:
                done(EntryResult(entry, "failed", str(error), error))
            continue
        for entry in entries:
            done(EntryResult(entry, "done", f"tagged {entry.tag}"))


def _delete(ops: ImageOps, entry: PlanEntry) -> Op[EntryResult]:
    try:
        yield from ops.destroy(entry.image_id)
    except NotFoundError:
        return EntryResult(entry, "done", "already gone")
    except DoImagesError as error:
        return EntryResult(entry, "failed", str(error), error)
    return EntryResult(entry, "done", "deleted")


__all__ = ["EntryResult", "FleetReport", "OnResult", "apply_fleet", "plan_fleet"]
