"""The jobs people script by hand: wait for an import, copy to many regions, prune.

Each job is an operation (``_effects``) composed from the jobs toolkit
(``_jobs._toolkit``: own images, start and await transfers, delete within the budget)
and the one wait loop (``_polling.poll_until``), so both clients share it. The rules
each one keeps are in its docstring and in API.md.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

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
from ._effects import Op
from ._errors import (
    DistributionError,
    DoImagesError,
    ImageFailedError,
    ImageTimeoutError,
    NotFoundError,
)
from ._images import ImageOps
from ._jobs._select import check_types, selects
from ._jobs._toolkit import OnAction, await_actions, delete_each, own_images, start_transfers
from ._models import Action, Image
from ._polling import Watch, poll_until

logger = logging.getLogger("do_images")

OnImage = Callable[[Image], object]
OnProgress = Callable[[int, int], object]


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
    ops: ImageOps,
    image: Image | int,
    *,
    poll: float,
    timeout: float,
    on_update: OnImage | None = None,
) -> Op[Image]:
    """Poll ``GET /v2/images/{id}`` until the image is ``available`` (``poll_until``);
    see ``image_done``.

    A 404 after the image was seen means DigitalOcean removed a failed import
    (``ImageFailedError``); before, it is a ``NotFoundError``. Transient poll failures
    are ridden out to the deadline; the timeout carries the last one as its cause.
    Every error raised carries the image as last seen (``.image``).
    """
    seen = image if isinstance(image, Image) else None
    image_id = check_id(image.id if isinstance(image, Image) else image)
    poll, timeout = check_wait(poll, timeout)
    _on_update(on_update)

    def carry(error: DoImagesError, last: Image | None) -> DoImagesError:
        if isinstance(error, NotFoundError) and last is not None:
            return ImageFailedError(last, gone=True)
        if error.image is None:
            error.image = last
        return error

    watch = Watch(
        fetch=lambda: ops.info(image_id),
        done=image_done,
        timed_out=lambda last: ImageTimeoutError(last, image_id, timeout),
        carry=carry,
        what=f"image {image_id}",
    )
    return (
        yield from poll_until(
            watch, clock=ops.session.clock, poll=poll, timeout=timeout, seen=seen, on_seen=on_update
        )
    )


def create_and_wait(
    ops: ImageOps,
    created: Op[Image],
    *,
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
        return (yield from wait_image(ops, image, poll=poll, timeout=timeout, on_update=on_update))
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
    *,
    wait: bool,
    poll: float,
    timeout: float,
    on_update: OnAction | None = None,
) -> Op[dict[str, Action]]:
    """Transfer an image to every region it is not in yet; await all with one list per poll.

    Every transfer is started first, each through the never-twice POST path of
    ``transfer`` (``start_transfers``, which does not adopt: a transfer already under
    way to a region fails that region); then all are polled together with one
    ``GET /v2/images/{id}/actions`` (every page) per cycle (``await_actions``). A
    transfer that fails to start, ends ``errored`` or runs out of time does not stop
    the others; ``DistributionError`` then says which. ``on_update`` is called with
    each action once it started, then with each pending one after every poll.
    """
    check_id(image_id)
    slugs = check_regions(regions)
    check_bool(wait, "wait")
    poll, timeout = check_wait(poll, timeout)
    _on_update(on_update)
    image = yield from ops.info(image_id)
    have = set(image.regions or ())
    for region in slugs:
        if region in have:
            logger.info("image %d is already in %s; not transferring", image_id, region)
    wanted = [region for region in slugs if region not in have]
    started = yield from start_transfers(ops, image_id, wanted, adopt=False, on_start=on_update)
    actions, errors = started.actions, started.errors
    if wait and actions:
        yield from await_actions(
            ops, image_id, actions, errors, poll=poll, timeout=timeout, on_update=on_update
        )
    if errors:
        raise DistributionError(image_id, actions, errors)
    return actions


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
    kinds = check_types(types)
    if group_by is not None and not callable(group_by):
        raise TypeError(f"group_by must be callable, not {type_name(group_by)}")
    return keep, older_than, kinds


def plan_prune(
    ops: ImageOps,
    *,
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
        if not selects(image, types=kinds, name_prefix=name_prefix):
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
    ops: ImageOps, plan: PrunePlan, *, width: int, on_progress: OnProgress | None
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

    def each(image_id: int, outcome: object) -> None:
        if on_progress is not None:
            on_progress(next(done), total)

    outcomes = yield from delete_each(
        ops, [image.id for image in plan.delete], width=width, on_each=each
    )
    report = PruneReport()
    for image, outcome in zip(plan.delete, outcomes, strict=True):
        if isinstance(outcome, DoImagesError):
            report.failed[image.id] = outcome
        else:
            report.deleted.append(image)
    return report


__all__ = [
    "OnAction",
    "OnImage",
    "OnProgress",
    "PrunePlan",
    "PruneReport",
    "check_regions",
    "create_and_wait",
    "distribute",
    "image_done",
    "plan_prune",
    "prune",
    "wait_image",
]
