"""The toolkit every long-running job is composed from, for both clients.

- ``own_images``: every page of the account's own images, with the server's time
  (``_select`` holds the one rule for which of them a job may take).
- ``start_transfers``: start a transfer to each region, or adopt one already under way
  (reading the image's action list first, and again after a 422), never two;
  ``await_actions``: all of an image's actions awaited with one action list per poll.
- ``delete_each``: delete several images within the request budget; a 404 counts as
  deleted. ``budget_width``: how many at once the budget allows now.

Waiting itself is ``_polling.poll_until``; each job here is a ``Watch`` over it.
"""

from __future__ import annotations

import copy
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

import httpx

from .._checks import type_name
from .._effects import Gather, Op
from .._errors import (
    ActionFailedError,
    ActionTimeoutError,
    DoImagesError,
    NotFoundError,
    UnprocessableEntityError,
)
from .._images import ImageOps
from .._models import IMAGE_PAGE, Action, Image, ImagePage
from .._paging import Page, collect, page_concurrency, page_of
from .._polling import Watch, poll_until
from .._retry import server_now

logger = logging.getLogger("do_images")

OnAction = Callable[[Action], object]


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
        response = yield from ops.get(url)
        read = next(pages)
        when = server_now(response)
        if when is not None:
            dates.append(when)
        parsed: ImagePage = ops.session.parse_page(IMAGE_PAGE, response)
        return page_of(parsed)

    images: list[Image] = yield from collect(dated, first, 1, lambda: ops.session.rate_limit)
    now = max(dates) if dates else datetime.now(timezone.utc)
    return Listing(images, now, read)


def budget_width(ops: ImageOps, width: int) -> Callable[[], int]:
    """How many requests of a ``Gather`` may be in flight now: ``width``, fewer as the
    request budget runs low (asked again before each starts)."""
    return lambda: page_concurrency(width, ops.session.rate_limit)


# ------------------------------------------------------------------ transfers


@dataclass
class Transfers:
    """The transfers of one image: the action of each region that started (or was
    adopted), the error of each that did not, and which were adopted."""

    actions: dict[str, Action] = field(default_factory=dict)
    errors: dict[str, DoImagesError] = field(default_factory=dict)
    adopted: set[str] = field(default_factory=set)


def transfers_to(actions: Sequence[Action], statuses: Sequence[str]) -> dict[str, Action]:
    """Of an image's actions, the transfers in one of ``statuses``, by region (the
    earliest of several)."""
    found: dict[str, Action] = {}
    for action in sorted(actions, key=lambda action: action.id):
        if action.type == "transfer" and action.status in statuses and action.region_slug:
            found.setdefault(action.region_slug, action)
    return found


def start_transfers(
    ops: ImageOps,
    image_id: int,
    regions: Sequence[str],
    *,
    adopt: bool,
    on_start: OnAction | None = None,
) -> Op[Transfers]:
    """Start a transfer of ``image_id`` to each of ``regions``, each through the
    never-twice POST path (``ImageOps.start_action``).

    With ``adopt``, the image's action list is read first and a transfer to a region
    already ``in-progress`` (or ``completed`` since the image was listed) is adopted
    instead of started; a 422 (another run started one meanwhile) reads the list again
    and adopts the transfer it finds there, and fails the region only if there is none.
    Without ``adopt``, a 422 fails its region. One region's failure never stops the
    others. ``on_start`` is called with each action started or adopted.
    """
    done = Transfers()
    running: dict[str, Action] = {}
    if adopt:
        try:
            listed = yield from ops.action_list(image_id)
            running = transfers_to(listed, ("in-progress", "completed"))
        except DoImagesError as error:  # not knowing what runs, start nothing
            done.errors = {region: _copy(error) for region in regions}
            return done
    for region in regions:
        action = running.get(region)
        if action is not None:
            done.adopted.add(region)
        else:
            action = yield from _start_one(ops, image_id, region, adopt, done)
        if action is None:
            continue
        done.actions[region] = action
        if on_start is not None:
            on_start(action)
    return done


def _start_one(
    ops: ImageOps, image_id: int, region: str, adopt: bool, done: Transfers
) -> Op[Action | None]:
    """Start one transfer; with ``adopt``, a 422 adopts the one the action list shows."""
    body = {"type": "transfer", "region": region}
    try:
        return (yield from ops.start_action(image_id, body))
    except UnprocessableEntityError as refused:
        if not adopt:
            done.errors[region] = refused
            return None
        try:
            listed = yield from ops.action_list(image_id)
        except DoImagesError:
            done.errors[region] = refused
            return None
        found = transfers_to(listed, ("in-progress", "completed")).get(region)
        if found is None:
            done.errors[region] = refused
            return None
        logger.info(
            "transfer of image %d to %s is under way (%d): adopted", image_id, region, found.id
        )
        done.adopted.add(region)
        return found
    except DoImagesError as error:
        done.errors[region] = error
        return None


def _copy(error: DoImagesError) -> DoImagesError:
    """A copy of ``error`` of its own (each region's error carries its own action)."""
    return copy.copy(error)


class _Deadline(DoImagesError):
    """The time to await an image's actions ran out (its cause: the last poll failure)."""


@dataclass
class _Awaited:
    """The actions of one image being awaited, and what became of each."""

    actions: dict[str, Action]
    errors: dict[str, DoImagesError]
    pending: set[str]
    on_update: OnAction | None

    def update(self, listed: Sequence[Action]) -> _Awaited:
        """Replace each pending action by its state in ``listed``; report every one seen
        (changed or not, in the order they started: a caller shows the time going by)."""
        by_id = {action.id: action for action in listed}
        for region in [region for region in self.actions if region in self.pending]:
            seen = by_id.get(self.actions[region].id)
            if seen is not None:
                self.actions[region] = seen
                if self.on_update is not None:
                    self.on_update(seen)
        return self

    def settle(self) -> bool:
        """Take the completed and errored out of ``pending``; whether none is left."""
        for region in sorted(self.pending):
            action = self.actions[region]
            if action.status == "completed":
                self.pending.discard(region)
            elif action.status == "errored":
                self.pending.discard(region)
                self.errors[region] = ActionFailedError(action)
        return not self.pending


def await_actions(
    ops: ImageOps,
    image_id: int,
    actions: dict[str, Action],
    errors: dict[str, DoImagesError],
    *,
    poll: float,
    timeout: float,
    on_update: OnAction | None = None,
) -> Op[None]:
    """Poll the image's action list (one listing per cycle) until every action in
    ``actions`` not in ``errors`` is done; record each failure in ``errors``.

    An errored action gets ``ActionFailedError``; one still running at the deadline
    ``ActionTimeoutError`` (the last poll failure as its cause); a poll failure that
    does not pass (401, 403, 404) ends the wait for every action still pending, each
    with its own copy of the error carrying its action. Transient failures pass.
    """
    awaited = _Awaited(actions, errors, {r for r in actions if r not in errors}, on_update)

    def fetch() -> Op[_Awaited]:
        return awaited.update((yield from ops.action_list(image_id)))

    watch: Watch[_Awaited] = Watch(
        fetch=fetch,
        done=_Awaited.settle,
        timed_out=lambda last: _Deadline(f"the actions of image {image_id} are not done"),
        carry=lambda error, last: error,
        what=f"the actions of image {image_id}",
    )
    try:
        yield from poll_until(
            watch, clock=ops.session.clock, poll=poll, timeout=timeout, seen=awaited
        )
    except _Deadline as deadline:
        for region in sorted(awaited.pending):
            timed_out = ActionTimeoutError(actions[region], timeout=timeout)
            timed_out.__cause__ = deadline.__cause__
            errors[region] = timed_out
    except DoImagesError as error:
        for region in sorted(awaited.pending):
            errors[region] = _copy(error)
            errors[region].action = actions[region]


# ------------------------------------------------------------------ deletions

Deleted = Literal["deleted", "already gone"]


def delete_each(
    ops: ImageOps,
    image_ids: Sequence[int],
    *,
    width: int,
    on_each: Callable[[int, Deleted | DoImagesError], object] | None = None,
) -> Op[list[Deleted | DoImagesError]]:
    """Delete every image of ``image_ids``, up to ``width`` at a time within the request
    budget, retrying like ``destroy``; the outcome of each, in order.

    A 404 counts as deleted (``"already gone"``); a failure does not stop the others
    (its error is the outcome). ``on_each(image_id, outcome)`` is called after each.
    """
    if on_each is not None and not callable(on_each):
        raise TypeError(f"on_each must be callable, not {type_name(on_each)}")

    def one(image_id: int) -> Op[Deleted | DoImagesError]:
        outcome: Deleted | DoImagesError = "deleted"
        try:
            yield from ops.destroy(image_id)
        except NotFoundError:
            outcome = "already gone"
        except DoImagesError as error:
            outcome = error
        if on_each is not None:
            on_each(image_id, outcome)
        return outcome

    outcomes: list[Any] = yield Gather(
        [one(image_id) for image_id in image_ids], width=budget_width(ops, width)
    )
    return outcomes


__all__ = [
    "Deleted",
    "Listing",
    "Transfers",
    "await_actions",
    "budget_width",
    "delete_each",
    "own_images",
    "start_transfers",
    "transfers_to",
]
