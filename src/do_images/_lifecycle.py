"""The jobs people script by hand: wait for an import, copy to many regions, prune.

Each job is an operation (``_effects``) built from ``ImageOps``, so both clients
share it. The rules each one keeps are in its docstring and in API.md.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from ._checks import (
    ArgumentError,
    check_bool,
    check_id,
    check_int,
    check_region,
    check_str,
    check_wait,
    type_name,
)
from ._effects import Gather, Op, Sleep
from ._errors import (
    ActionFailedError,
    ActionTimeoutError,
    DistributionError,
    DoImagesError,
    ImageFailedError,
    ImageTimeoutError,
    NotFoundError,
)
from ._images import ImageOps, next_poll, transient
from ._models import IMAGE_PAGE, Action, Image, ImagePage
from ._paging import Page, collect, page_concurrency, page_of
from ._retry import server_now

logger = logging.getLogger("do_images")

OnImage = Callable[[Image], object]
OnAction = Callable[[Action], object]
OnProgress = Callable[[int, int], object]

PRUNABLE_TYPES = ("snapshot", "custom")


def _on_update(value: object) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"on_update must be callable, not {type_name(value)}")


# ------------------------------------------------------------------ imports


def image_done(image: Image) -> bool:
    """Whether waiting for ``image`` is over: ``available`` returns, a failure raises.

    Status is compared case-insensitively (the API once sent ``new``, now ``NEW``);
    an unknown status keeps waiting.
    """
    status = str(image.status or "").lower()
    if status == "available":
        return True
    if status == "deleted" or image.error_message:
        raise ImageFailedError(image)
    return False


def wait_image(
    ops: ImageOps, image: Image | int, poll: float, timeout: float, on_update: OnImage | None
) -> Op[Image]:
    """Poll ``GET /v2/images/{id}`` until the image is ``available``; see ``image_done``.

    A 404 after the image was seen means DigitalOcean removed a failed import
    (``ImageFailedError``); before, it is a ``NotFoundError``. Transient poll failures
    are ridden out to the deadline; the timeout carries the last one as its cause.
    """
    last = image if isinstance(image, Image) else None
    image_id = check_id(image.id if isinstance(image, Image) else image)
    poll, timeout = check_wait(poll, timeout)
    _on_update(on_update)
    clock = ops.session.clock
    deadline = clock() + timeout
    pause, failure = poll, None
    while True:
        if last is not None and image_done(last):
            return last
        remaining = deadline - clock()
        if remaining <= 0:
            raise ImageTimeoutError(last, image_id, timeout) from failure
        if last is not None or failure is not None:
            yield Sleep(min(pause, remaining))
        try:
            last = yield from ops.info(image_id)
        except NotFoundError as error:
            if last is not None:
                raise ImageFailedError(last, gone=True) from error
            raise
        except DoImagesError as error:
            error.image = last
            if not transient(error):
                raise
            failure, pause = error, next_poll(error, poll)
            continue
        failure, pause = None, poll
        if on_update is not None:
            on_update(last)


def create_and_wait(
    ops: ImageOps,
    created: Op[Image],
    wait: object,
    poll: float,
    timeout: float,
    on_update: OnImage | None = None,
) -> Op[Image]:
    """``create``, then (``wait=True``) wait for the import; later errors carry ``.image``."""
    check_bool(wait, "wait")
    check_wait(poll, timeout)
    image = yield from created
    if not wait:
        return image
    try:
        return (yield from wait_image(ops, image, poll, timeout, on_update))
    except DoImagesError as error:
        if error.image is None:
            error.image = image
        raise


# ------------------------------------------------------------------ distribute


def check_regions(regions: object) -> list[str]:
    """Region slugs, duplicates dropped, order kept; a bare string is not a list."""
    if isinstance(regions, (str, bytes)) or not isinstance(regions, Sequence):
        raise TypeError(f"regions must be a list of region slugs, not {type_name(regions)}")
    slugs = list(dict.fromkeys(check_region(region) for region in regions))
    if not slugs:
        raise ValueError("regions must name at least one region")
    return slugs


def distribute(
    ops: ImageOps,
    image_id: int,
    regions: Sequence[str],
    wait: bool,
    poll: float,
    timeout: float,
    on_update: OnAction | None,
) -> Op[dict[str, Action]]:
    """Transfer an image to every region it is not in yet; await all with one list per poll.

    Every transfer is started first, each through the never-twice POST path of
    ``transfer``; then all are polled together with one ``GET /v2/images/{id}/actions``
    (every page) per cycle. A transfer that fails to start, ends ``errored`` or runs
    out of time does not stop the others; ``DistributionError`` then says which.
    ``on_update`` is called with each action once it started, then with each pending one
    after every poll.
    """
    check_id(image_id)
    slugs = check_regions(regions)
    check_bool(wait, "wait")
    poll, timeout = check_wait(poll, timeout)
    _on_update(on_update)
    image = yield from ops.info(image_id)
    have = set(image.regions or ())
    actions: dict[str, Action] = {}
    errors: dict[str, DoImagesError] = {}
    url = ops.session.url(image_id, "actions")
    for region in slugs:
        if region in have:
            logger.info("image %d is already in %s; not transferring", image_id, region)
            continue
        try:
            actions[region] = yield from ops._start_action(
                image_id, url, {"type": "transfer", "region": region}
            )
        except DoImagesError as error:
            errors[region] = error
            continue
        if on_update is not None:
            on_update(actions[region])
    if wait and actions:
        yield from _await_all(ops, image_id, actions, errors, poll, timeout, on_update)
    if errors:
        raise DistributionError(image_id, actions, errors)
    return actions


def _await_all(
    ops: ImageOps,
    image_id: int,
    actions: dict[str, Action],
    errors: dict[str, DoImagesError],
    poll: float,
    timeout: float,
    on_update: OnAction | None,
) -> Op[None]:
    """Poll the image's action list until every action in ``actions`` is done."""
    clock = ops.session.clock
    deadline = clock() + timeout
    pending = {region for region in actions if region not in errors}
    pause, failure = poll, None
    while True:
        _settle(actions, pending, errors)
        if not pending:
            return
        remaining = deadline - clock()
        if remaining <= 0:
            for region in pending:
                timed_out = ActionTimeoutError(actions[region], timeout=timeout)
                timed_out.__cause__ = failure
                errors[region] = timed_out
            return
        yield Sleep(min(pause, remaining))
        try:
            listed = yield from ops.action_list(image_id)
        except DoImagesError as error:
            if not transient(error):
                for region in pending:
                    error.action = actions[region]
                    errors[region] = error
                return
            failure, pause = error, next_poll(error, poll)
            continue
        failure, pause = None, poll
        _update(listed, actions, pending, on_update)


def _settle(
    actions: dict[str, Action], pending: set[str], errors: dict[str, DoImagesError]
) -> None:
    """Take the completed and errored actions out of ``pending``; record the errored."""
    for region in sorted(pending):
        action = actions[region]
        if action.status == "completed":
            pending.discard(region)
        elif action.status == "errored":
            pending.discard(region)
            errors[region] = ActionFailedError(action)


def _update(
    listed: list[Action],
    actions: dict[str, Action],
    pending: set[str],
    on_update: OnAction | None,
) -> None:
    """Replace each pending action by its state in ``listed``; report every one seen."""
    by_id = {action.id: action for action in listed}
    for region in [region for region in actions if region in pending]:  # in start order
        seen = by_id.get(actions[region].id)
        if seen is not None:
            actions[region] = seen
            if on_update is not None:
                on_update(seen)


# ---------------------------------------------------------------------- prune


@dataclass(frozen=True)
class PrunePlan:
    """What ``prune`` would delete, and what it keeps; making one deletes nothing.

    ``keep`` and ``delete`` are newest first. ``reasons`` says, by image id, why each
    image is kept or goes. ``now`` is the server's time the age test was made against.
    """

    keep: list[Image]
    delete: list[Image]
    reasons: dict[int, str]
    now: datetime
    _owner: object = field(repr=False, compare=False)


@dataclass
class PruneReport:
    """What ``prune`` did: the images deleted (a 404 counts: it is gone) and the failures."""

    deleted: list[Image] = field(default_factory=list)
    failed: dict[int, DoImagesError] = field(default_factory=dict)


def _check_types(types: object) -> None:
    if isinstance(types, str) or not isinstance(types, Sequence) or not types:
        raise TypeError(f"types must be a non-empty tuple of image types, not {types!r}")
    for kind in types:
        if kind == "backup":
            raise ValueError("backups are managed by DigitalOcean and cannot be pruned")
        if kind not in PRUNABLE_TYPES:
            raise ValueError(f"types may hold 'snapshot' and 'custom', not {kind!r}")


def check_prune(
    keep: object,
    older_than: object,
    tag_name: object,
    name_prefix: object,
    types: object,
    group_by: object,
) -> tuple[int, timedelta | None, tuple[str, ...]]:
    """The plan's arguments, checked before anything is sent."""
    keep = check_int(keep, "keep", min=0)
    if older_than is not None:
        if not isinstance(older_than, timedelta):
            raise TypeError(f"older_than must be a timedelta, not {type_name(older_than)}")
        if older_than <= timedelta(0):
            raise ValueError(f"older_than must be positive, got {older_than}")
    if keep == 0 and older_than is None:
        raise ArgumentError(
            "{keep} needs {older_than}: without it, every image would go",
            keep=("keep", "0"),
            older_than=("older_than", None),
        )
    if tag_name is not None:
        check_str(tag_name, "tag_name")
    if name_prefix is not None:
        check_str(name_prefix, "name_prefix")
    _check_types(types)
    if group_by is not None and not callable(group_by):
        raise TypeError(f"group_by must be callable, not {type_name(group_by)}")
    return keep, older_than, tuple(types)  # type: ignore[arg-type]


def plan_prune(
    ops: ImageOps,
    keep: int,
    older_than: timedelta | None,
    tag_name: str | None,
    name_prefix: str | None,
    types: Sequence[str],
    group_by: Callable[[Image], str] | None,
) -> Op[PrunePlan]:
    """List your images (every page) and decide which of them may go; delete nothing.

    Only your own (``private=True``) images of ``types`` that match the filters are
    considered. Within each group, ordered newest first, the ``keep`` newest stay,
    and of the rest only those older than ``older_than`` (if given) go. An image
    without ``created_at``, or not ``available``, always stays.
    """
    keep, older_than, kinds = check_prune(keep, older_than, tag_name, name_prefix, types, group_by)
    listing = yield from own_images(ops, tag_name)
    images, now = listing.images, listing.now
    reasons: dict[int, str] = {}
    groups: dict[str, list[Image]] = {}
    kept: list[Image] = []
    for image in images:
        if not _candidate(image, kinds, name_prefix):
            continue  # not yours, or not what was asked for: not part of the plan
        if image.created_at is None:
            kept.append(image)
            reasons[image.id] = "kept: no created_at to judge its age by"
        elif str(image.status or "").lower() != "available":
            kept.append(image)
            reasons[image.id] = f"kept: status {image.status}, not available"
        else:
            key = "" if group_by is None else str(group_by(image))
            groups.setdefault(key, []).append(image)
    delete: list[Image] = []
    for key, members in groups.items():
        label = f" of group {key!r}" if group_by is not None else ""
        _rank(members, keep, older_than, now, label, kept, delete, reasons)
    newest_first = lambda image: (image.created_at is not None, image.created_at, image.id)  # noqa: E731
    return PrunePlan(
        keep=sorted(kept, key=newest_first, reverse=True),
        delete=sorted(delete, key=newest_first, reverse=True),
        reasons=reasons,
        now=now,
        _owner=ops.session,
    )


@dataclass(frozen=True)
class Listing:
    """Every page of the account's own images, and the server's time of the listing."""

    images: list[Image]
    now: datetime
    """The latest ``Date`` the pages were answered with (the local clock if none was)."""
    pages: int


def own_images(ops: ImageOps, tag_name: str | None = None) -> Op[Listing]:
    """``GET /v2/images?private=true``, every page, one by one, with the server's time."""
    first = ops.images_url(None, True, tag_name)
    dates: list[datetime] = []
    pages = itertools.count(1)
    read = 0

    def dated(url: str | httpx.URL) -> Op[Page[Image]]:
        nonlocal read
        response = yield from ops._get(url)
        read = next(pages)
        when = server_now(response)
        if when is not None:
            dates.append(when)
        parsed: ImagePage = ops.session.parse_page(IMAGE_PAGE, response)
        return page_of(parsed)

    images: list[Image] = yield from collect(dated, first, 1, lambda: ops.session.rate_limit)
    now = max(dates) if dates else datetime.now(timezone.utc)
    return Listing(images, now, read)


def _candidate(image: Image, kinds: tuple[str, ...], name_prefix: str | None) -> bool:
    """Whether a listed image is one the plan may consider at all."""
    if image.public is not False or str(image.type) not in kinds:
        return False
    return name_prefix is None or (image.name or "").startswith(name_prefix)


def _rank(
    members: list[Image],
    keep: int,
    older_than: timedelta | None,
    now: datetime,
    label: str,
    kept: list[Image],
    delete: list[Image],
    reasons: dict[int, str],
) -> None:
    """One group, newest first: the ``keep`` newest stay; the rest go if old enough."""
    members.sort(key=lambda image: (image.created_at, image.id), reverse=True)
    for rank, image in enumerate(members):
        assert image.created_at is not None
        if rank < keep:
            kept.append(image)
            reasons[image.id] = f"kept: one of the {keep} newest{label}"
        elif older_than is not None and image.created_at > now - older_than:
            kept.append(image)
            reasons[image.id] = f"kept: newer than {older_than}"
        else:
            delete.append(image)
            age = now - image.created_at
            reasons[image.id] = f"goes: {age.days} days old, beyond the {keep} newest{label}"


def prune(
    ops: ImageOps, plan: PrunePlan, width: int, on_progress: OnProgress | None
) -> Op[PruneReport]:
    """Delete ``plan.delete``, up to ``width`` at a time within the budget; report each one.

    A failure does not stop the others; a 404 counts as deleted (it is gone).
    """
    if not isinstance(plan, PrunePlan):
        raise TypeError(f"plan must be a PrunePlan, not {type_name(plan)}")
    if plan._owner is not ops.session:
        raise ValueError("this plan was made by another client: plan again with this one")
    if on_progress is not None and not callable(on_progress):
        raise TypeError(f"on_progress must be callable, not {type_name(on_progress)}")
    total = len(plan.delete)
    done = itertools.count(1)

    def one(image: Image) -> Op[DoImagesError | None]:
        outcome: DoImagesError | None = None
        try:
            yield from ops.destroy(image.id)
        except NotFoundError:
            pass  # already gone
        except DoImagesError as error:
            outcome = error
        if on_progress is not None:
            on_progress(next(done), total)
        return outcome

    outcomes: list[Any] = yield Gather(
        [one(image) for image in plan.delete],
        width=lambda: page_concurrency(width, ops.session.rate_limit),
    )
    report = PruneReport()
    for image, outcome in zip(plan.delete, outcomes, strict=True):
        if outcome is None:
            report.deleted.append(image)
        else:
            report.failed[image.id] = outcome
    return report
