"""One loop for every wait: ``poll_until``, with the rules of each wait as data.

botocore's ``Waiter`` is the model: the loop is written once and owns the deadline,
the pause between polls, riding out the poll failures that may pass, the last such
failure as the timeout's ``__cause__``, and attaching the started work to whatever
error leaves it. What differs between waits is data (``Watch``): how to poll, when
the wait is over, what the timeout says and how the work is attached to an error.

Waiting for an action (``ImageOps.wait``), for an import (``wait_image``) and for all
the transfers of an image (``await_actions``) are each a ``Watch`` over this loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ._constants import MIN_POLL
from ._effects import Op, Sleep
from ._errors import (
    ActionFailedError,
    APIConnectionError,
    BadRequestError,
    DoImagesError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from ._models import Action

logger = logging.getLogger("do_images")

T = TypeVar("T")


def transient(error: DoImagesError) -> bool:
    """Whether a poll that failed this way (after its own retries) should not end a wait.

    No connection, a timeout, 429, 5xx, an answer that does not parse (not JSON, or
    JSON of another shape) and a 400 pass: a 400 to the GET of an action or image that
    exists, like a page that does not parse, comes from something between us and the
    API (a proxy), and the next poll may well succeed; ending the wait would drop the
    work it waits for. Anything else (401, 403, 404) would fail the same way again.
    """
    return isinstance(
        error,
        (APIConnectionError, RateLimitError, ServerError, ResponseValidationError, BadRequestError),
    )


def next_poll(error: DoImagesError, poll: float) -> float:
    """The pause before polling again after a transient failure: ``poll``, or longer if a
    429 asked for longer."""
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        return max(poll, error.retry_after)
    return poll


def action_done(action: Action) -> bool:
    """Whether waiting for ``action`` is over: ``completed`` is, ``errored`` raises
    ``ActionFailedError``; any other status (unknown ones included) keeps polling."""
    if action.status == "errored":
        raise ActionFailedError(action)
    return action.status == "completed"


def carry_action(error: DoImagesError, last: Action | None) -> DoImagesError:
    """Attach the action as last seen to an error that has none."""
    if error.action is None:
        error.action = last
    return error


@dataclass(frozen=True)
class Watch(Generic[T]):
    """The rules of one wait, as data.

    ``fetch`` polls once and returns what it saw; ``done`` says whether that ends the
    wait (and raises the failure when what it saw is one, carrying the work);
    ``timed_out`` is the error once no time is left (given the last state seen, if
    any); ``carry`` attaches the started work to any other error that leaves the wait
    (it may return another error in its place, such as "the import failed" for a 404
    after the image was seen).
    """

    fetch: Callable[[], Op[T]]
    done: Callable[[T], bool]
    timed_out: Callable[[T | None], DoImagesError]
    carry: Callable[[DoImagesError, T | None], DoImagesError]
    what: str = "a wait"
    """What is polled, for the log: ``action 7``, ``image 8``."""


def poll_until(
    watch: Watch[T],
    *,
    clock: Callable[[], float],
    poll: float,
    timeout: float,
    seen: T | None = None,
    on_seen: Callable[[T], object] | None = None,
) -> Op[T]:
    """Poll until ``watch.done``; return the state that ended the wait.

    ``seen`` is the state known before the first poll (checked first; with none, the
    first poll is sent at once). Between polls it sleeps ``poll`` seconds (never under
    ``MIN_POLL``; longer if a 429 asks), never past the deadline; each poll's request
    goes through the client's request budget like any other. A poll that fails
    transiently (``transient``) is logged and polled again; the last such failure is the
    timeout's ``__cause__``.
    Every ``DoImagesError`` that leaves carries the work (``watch.carry``).
    ``on_seen`` is called with each state a poll returned.
    """
    deadline = clock() + timeout
    poll = max(poll, MIN_POLL)
    last = seen
    pause, failure = poll, None
    try:
        while True:
            if last is not None and watch.done(last):
                return last
            remaining = deadline - clock()
            if remaining <= 0:
                raise watch.timed_out(last) from failure
            if last is not None or failure is not None:
                yield Sleep(min(pause, remaining))
            try:
                last = yield from watch.fetch()
            except DoImagesError as error:
                if not transient(error):
                    raise
                watch.carry(error, last)
                logger.info("polling %s failed (%s); polling on", watch.what, error)
                failure, pause = error, next_poll(error, poll)
                continue
            failure, pause = None, poll
            if on_seen is not None:
                on_seen(last)
    except DoImagesError as error:
        carried = watch.carry(error, last)
        if carried is error:
            raise
        raise carried from error


__all__ = ["Watch", "action_done", "carry_action", "next_poll", "poll_until", "transient"]
