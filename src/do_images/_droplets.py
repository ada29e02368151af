"""``DropletOps``: one generator per operation of the droplet API the SDK uses, for both
clients: the droplets and their actions and snapshots, an action POST that is never sent
twice (a busy droplet is ``DropletBusyError``), waiting on a droplet's action, turning a
droplet off (``shutdown``, then ``power_off``) and on.

Each operation is an effect generator (``_effects``), like ``ImageOps``'s: compose it
into another operation with ``yield from``, or run it on a client's runner::

    ops = DropletOps(ImageOps(session))
    droplets = yield from ops.list("web")          # inside an operation
    droplets = runner(ops.list("web"))             # SyncRunner; ``await`` an AsyncRunner

Snapshotting a droplet and finding its image (``snapshot``, ``snapshot_image``,
``find_image``) compose these in ``_snapshotting``.
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import httpx

from ._checks import check_bool, check_id, check_int, check_str, check_wait, type_name
from ._constants import (
    CONCURRENT_PAGES_MIN_LATENCY,
    MAX_PER_PAGE,
    POWER_OFF_WAIT,
    POWER_ON_RETRY,
    POWER_ON_TIMEOUT,
    POWER_POLL,
    SHUTDOWN_GRACE,
)
from ._effects import Op, Sleep
from ._errors import (
    APIStatusError,
    DoImagesError,
    DropletBusyError,
    UnprocessableEntityError,
)
from ._images import OnImageOps
from ._models import (
    ACTION_PAGE,
    DROPLET_ENVELOPE,
    DROPLET_PAGE,
    DROPLET_SNAPSHOT_PAGE,
    Action,
    Droplet,
    Image,
    RateLimit,
)
from ._paging import Page, collect
from ._polling import Watch, poll_until
from ._posting import fetch_action, start_action, wait_action
from ._retry import server_now

OnAction = Callable[[Action], object]
_List = builtins.list
logger = logging.getLogger(
    "do_images"
)  # the operations are called ``list``; the builtin under another name

BUSY = re.compile(r"pending event|blocking events", re.IGNORECASE)
"""What the API's 422 says when a droplet has an action running (two wordings seen)."""


def busy(error: UnprocessableEntityError, droplet_id: int) -> DropletBusyError | None:
    """``error`` as a ``DropletBusyError`` if it says the droplet has a pending event."""
    if isinstance(error, DropletBusyError):
        return error
    if not BUSY.search(error.message or ""):
        return None
    return DropletBusyError(
        error.message,
        droplet_id=droplet_id,
        status_code=error.status_code,
        error_id=error.error_id,
        request_id=error.request_id,
        rate_limit=error.rate_limit,
        body=error.body,
        attempts=error.attempts,
        method=error.method,
        path=error.path,
    )


class StillOnError(DoImagesError):
    """A droplet asked to power off was not ``off`` (and unlocked) in time."""


def check_on_update(value: object) -> None:
    """``on_update`` is a callable, or ``None``."""
    if value is not None and not callable(value):
        raise TypeError(f"on_update must be callable, not {type_name(value)}")


class DropletOps(OnImageOps):
    """One generator per droplet operation, over the image operations' session and retries
    (``images``: the same client's ``ImageOps``)."""

    @property
    def retries(self) -> int:
        """The retries this instance's requests get."""
        images = self.images
        return self.session.max_retries if images.max_retries is None else images.max_retries

    # -- URLs

    def url(self, droplet_id: int, *segments: int | str) -> str:
        """``{base}/v2/droplets/{id}/...``, the id checked, each segment its own."""
        return self.session.api_url("droplets", check_id(droplet_id, "droplet id"), *segments)

    def droplets_url(self, tag_name: str | None, per_page: int = MAX_PER_PAGE) -> str:
        """The first page's URL of ``GET /v2/droplets`` with this filter."""
        params: dict[str, str | int] = {}
        if tag_name is not None:
            params["tag_name"] = check_str(tag_name, "tag_name")
        params["per_page"] = check_int(per_page, "per_page", min=1, max=MAX_PER_PAGE)
        return str(httpx.URL(self.session.api_url("droplets")).copy_with(params=params))

    def _first(self, droplet_id: int, what: str) -> str:
        url = httpx.URL(self.url(droplet_id, what))
        return str(url.copy_with(params={"per_page": MAX_PER_PAGE}))

    def actions_url(self, droplet_id: int) -> str:
        """The first page's URL of ``GET /v2/droplets/{id}/actions``."""
        return self._first(droplet_id, "actions")

    def snapshots_url(self, droplet_id: int) -> str:
        """The first page's URL of ``GET /v2/droplets/{id}/snapshots``."""
        return self._first(droplet_id, "snapshots")

    # -- lists

    def droplet_page(self, url: str | httpx.URL) -> Op[Page[Droplet]]:
        """Fetch one page of ``GET /v2/droplets``."""
        return self.images.page(url, DROPLET_PAGE)

    def action_page(self, url: str | httpx.URL) -> Op[Page[Action]]:
        """Fetch one page of ``GET /v2/droplets/{id}/actions``."""
        return self.images.page(url, ACTION_PAGE)

    def snapshot_page(self, url: str | httpx.URL) -> Op[Page[Image]]:
        """Fetch one page of ``GET /v2/droplets/{id}/snapshots``."""
        return self.images.page(url, DROPLET_SNAPSHOT_PAGE)

    def _rate_limit(self) -> RateLimit | None:
        return self.session.rate_limit

    def list(self, tag_name: str | None, concurrency: int = 1) -> Op[_List[Droplet]]:
        """Every droplet (with the tag), following every page:
        ``droplets = yield from ops.list("web")`` (``None``: every droplet);
        ``concurrency`` pages after the first at once."""
        first = self.droplets_url(tag_name)
        return (
            yield from collect(
                self.droplet_page,
                first,
                concurrency,
                self._rate_limit,
                CONCURRENT_PAGES_MIN_LATENCY,
            )
        )

    def actions(self, droplet_id: int, concurrency: int = 1) -> Op[_List[Action]]:
        """Every action of a droplet, newest first, following every page (the only place
        a snapshot in progress shows): ``actions = yield from ops.actions(droplet_id)``."""
        first = self.actions_url(droplet_id)
        return (
            yield from collect(
                self.action_page, first, concurrency, self._rate_limit, CONCURRENT_PAGES_MIN_LATENCY
            )
        )

    def snapshots(self, droplet_id: int, concurrency: int = 1) -> Op[_List[Image]]:
        """Every snapshot and backup of a droplet, as the API lists them (no ``status``, no
        ``tags``), every page: ``items = yield from ops.snapshots(droplet_id)``."""
        first = self.snapshots_url(droplet_id)
        return (
            yield from collect(
                self.snapshot_page,
                first,
                concurrency,
                self._rate_limit,
                CONCURRENT_PAGES_MIN_LATENCY,
            )
        )

    # -- single objects

    def info_at(self, droplet_id: int) -> Op[tuple[Droplet, datetime]]:
        """``GET /v2/droplets/{id}``, and the server's time of the answer (its ``Date``;
        the local UTC time without one)."""
        response = yield from self.images.get(self.url(droplet_id))
        droplet = self.session.parse(DROPLET_ENVELOPE, response).droplet
        return droplet, server_now(response) or datetime.now(timezone.utc)

    def info(self, droplet_id: int) -> Op[Droplet]:
        """``GET /v2/droplets/{id}``: ``droplet = yield from ops.info(droplet_id)``
        (``NotFoundError`` when there is none)."""
        droplet, _ = yield from self.info_at(droplet_id)
        return droplet

    def any_action(self, action_id: int) -> Op[Action]:
        """``GET /v2/actions/{id}``: any action of the account, an image's or a droplet's."""
        url = self.session.api_url("actions", check_id(action_id, "action id"))
        return (yield from fetch_action(self.session, self.images.get, url))

    # -- actions

    def post_action(self, droplet_id: int, body: dict[str, Any], *, resends: int) -> Op[Action]:
        """``POST /v2/droplets/{id}/actions``, never twice (``_posting.start_action``: at
        most ``resends`` more sends, only when the droplet's actions show none started);
        a 422 for a pending event is ``DropletBusyError``."""
        try:
            return (
                yield from start_action(
                    self.session,
                    send=self.images.send,
                    get=self.images.get,
                    post_url=self.url(droplet_id, "actions"),
                    list_url=self.actions_url(droplet_id),
                    body=body,
                    resends=resends,
                )
            )
        except UnprocessableEntityError as error:
            refused = busy(error, droplet_id)
            if refused is None:
                raise
            raise refused from None

    def start_snapshot(self, droplet_id: int, name: str) -> Op[Action]:
        """Start a snapshot named ``name``, never twice:
        ``action = yield from ops.start_snapshot(droplet_id, name)`` returns the
        in-progress action (adopted from the droplet's actions after an ambiguous
        failure, else ``UnknownOutcomeError``); ``DropletBusyError`` if another action
        runs. Wait with ``ops.wait(action, ...)``, then ``_snapshotting.find_image``."""
        check_id(droplet_id, "droplet id")
        body = {"type": "snapshot", "name": check_str(name, "name")}
        return (yield from self.post_action(droplet_id, body, resends=0))

    def power_action(self, droplet_id: int, kind: str) -> Op[Action]:
        """``shutdown``, ``power_off`` or ``power_on``:
        ``action = yield from ops.power_action(droplet_id, "shutdown")``. Sending one
        twice does no harm, so a POST with no answer and no action found is sent once
        more if retries allow; ``DropletBusyError`` if another action runs."""
        resends = 1 if self.retries > 0 else 0
        return (yield from self.post_action(droplet_id, {"type": kind}, resends=resends))

    def power_on(self, droplet_id: int, *, wait: bool) -> Op[Action]:
        """``POST /v2/droplets/{id}/actions {"type": "power_on"}``; with ``wait``, until it
        is completed."""
        check_id(droplet_id, "droplet id")
        check_bool(wait, "wait")
        action = yield from self.power_action(droplet_id, "power_on")
        if wait:
            action = yield from self.wait(action, poll=POWER_POLL, timeout=POWER_ON_TIMEOUT)
        return action

    def turn_off(
        self, droplet_id: int, *, poll: float, sent: _List[str], on_update: OnAction | None = None
    ) -> Op[Droplet]:
        """Power a droplet off gracefully:
        ``droplet = yield from ops.turn_off(droplet_id, poll=10, sent=sent)`` sends
        ``shutdown``, polls the droplet (not the action, which completes early) until it
        is ``off`` and unlocked, and after ``SHUTDOWN_GRACE`` sends ``power_off`` and
        waits ``POWER_OFF_WAIT`` more (then ``StillOnError``). It does not look at the
        droplet first: call it on an ``active`` one.

        ``sent`` gets each kind just before its POST, and loses ``shutdown`` again if the
        API refused it: after any ending (an error, an interruption), a non-empty
        ``sent`` means the droplet may be off by this call's doing and should be powered
        on (``power_on_when_free``). ``on_update`` sees each action started."""
        for kind, within in (("shutdown", SHUTDOWN_GRACE), ("power_off", POWER_OFF_WAIT)):
            sent.append(kind)
            try:
                action = yield from self.power_action(droplet_id, kind)
            except APIStatusError:
                if kind == "shutdown":  # refused: nothing was turned off
                    sent.remove(kind)
                raise
            if on_update is not None:
                on_update(action)
            try:
                return (yield from self.until_off(droplet_id, within=within, poll=poll))
            except StillOnError as still:
                if kind == "power_off":
                    raise
                logger.info("%s; sending power_off", still.message)
        raise AssertionError("unreachable")  # pragma: no cover

    def until_off(self, droplet_id: int, *, within: float, poll: float) -> Op[Droplet]:
        """Poll the droplet until its status is ``off`` and it takes actions again:
        ``droplet = yield from ops.until_off(droplet_id, within=120, poll=5)``;
        ``StillOnError`` after ``within`` seconds (polls at most ``POWER_POLL`` apart)."""
        watch = Watch(
            fetch=lambda: self.info(droplet_id),
            done=lambda droplet: droplet.status == "off" and not droplet.locked,
            timed_out=lambda last: StillOnError(
                f"droplet {droplet_id} was still {last.status if last else 'unseen'} "
                f"{within:g} s after it was asked to power off"
            ),
            carry=lambda error, last: error,
            what=f"droplet {droplet_id}",
        )
        return (
            yield from poll_until(
                watch, clock=self.session.clock, poll=min(poll, POWER_POLL), timeout=within
            )
        )

    def power_on_when_free(self, droplet_id: int, accepted: _List[Action]) -> Op[Action]:
        """``power_on``, sent again every ``POWER_ON_RETRY`` s while the droplet is busy
        (a 422 pending event: its snapshot or shutdown still runs); the accepted action is
        appended to ``accepted`` and returned. It never gives up by itself: bound it, and
        shield it from a further interruption, with
        ``yield from shielded(ops.power_on_when_free(id, accepted), seconds=30,
        clock=ops.session.clock)``."""
        while True:
            try:
                action = yield from self.power_action(droplet_id, "power_on")
            except DropletBusyError:
                logger.info("droplet %d is busy; asking it to power on again", droplet_id)
                yield Sleep(POWER_ON_RETRY)
                continue
            accepted.append(action)
            return action

    def wait(
        self,
        action: Action,
        *,
        poll: float,
        timeout: float,
        on_update: OnAction | None = None,
    ) -> Op[Action]:
        """Poll ``action`` at its resource's path (``action_url``: a droplet's, an
        image's, or ``GET /v2/actions/{id}``) until it is completed:
        ``done = yield from ops.wait(action, poll=10, timeout=3600)``.
        ``ActionFailedError`` once errored, ``ActionTimeoutError`` after ``timeout``, each
        (and any other error) carrying the action as last seen; a poll that fails
        transiently is polled again."""
        poll, timeout = check_wait(poll, timeout)
        return (
            yield from wait_action(
                self.session, self.images.get, action, poll=poll, timeout=timeout,
                on_update=on_update,
            )
        )


__all__ = ["BUSY", "DropletOps", "OnAction", "StillOnError", "busy", "check_on_update"]
