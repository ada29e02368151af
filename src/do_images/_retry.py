"""The retry policy, as pure functions: what failed, whether to try again, and when.

Nothing here sends, sleeps or yields. ``Session.call`` asks ``decide`` what to do
after each attempt; the POST reconciliation of ``_images`` uses the same
classifications and the matching predicates at the end of this module.
"""

from __future__ import annotations

import functools
import math
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from ._constants import BACKOFF_BASE, BACKOFF_CAP, MAX_HEADER_WAIT, MAX_SERVER_WAIT
from ._models import Action, RateLimit

# Failures that prove the request never reached the server: safe to send again,
# even a POST.
NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# Failures that the same request would hit again.
PERMANENT: tuple[type[Exception], ...] = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


def may_have_applied(outcome: httpx.Response | httpx.RequestError) -> bool:
    """Whether this attempt may have changed something on the server.

    A 5xx may have been answered after the change was made; a transport failure
    other than one that proves the request never left (or never could) may have
    reached the server. A 4xx was refused, and a success is known.
    """
    if isinstance(outcome, httpx.Response):
        return outcome.status_code >= 500
    return not isinstance(outcome, (*NOT_SENT, *PERMANENT))


@dataclass(frozen=True, slots=True)
class Return:
    """Done: hand ``response`` to the operation."""

    response: httpx.Response
    already_done: bool = False
    """A DELETE that found nothing after an earlier attempt that may have deleted it."""


@dataclass(frozen=True, slots=True)
class Retry:
    """Send again after ``delay`` seconds."""

    delay: float
    server_wait: float | None = None
    """The wait the server directed, if it did (``delay`` is then that wait)."""


@dataclass(frozen=True, slots=True)
class Raise:
    """Give up: raise the error for this outcome."""

    unknown_outcome: bool = False
    """Raise it as an ``UnknownOutcomeError``: a POST that may have taken effect."""
    server_wait: float | None = None


Decision = Return | Retry | Raise


def decide(
    method: str,
    attempt: int,
    outcome: httpx.Response | httpx.RequestError,
    *,
    retries: int,
    maybe_applied: bool,
    rate_limit: RateLimit | None,
    jitter: Callable[[], float],
    idempotent: bool | None = None,
) -> Decision:
    """What to do after attempt number ``attempt`` (1-based) of a request ended in ``outcome``.

    The rules, in order:

    1. A status below 300 returns.
    2. A DELETE answered 404 after an earlier attempt that ``maybe_applied`` returns:
       the earlier attempt deleted it.
    3. 429 is retried for every method: the server refused the request unread.
    4. 5xx and transport failures that may have reached the server are retried
       for GET, PUT and DELETE only. POST is not idempotent: such a POST raises
       with ``unknown_outcome``.
    5. Failures that prove the request never left (connect errors, connect and
       pool timeouts) are retried for every method.
    6. The wait is the server's (``Retry-After``, else the reset of an exhausted
       budget); a server-directed wait over ``MAX_SERVER_WAIT`` raises at once.
       Otherwise it is the jittered back-off.
    7. Nothing is retried more than ``retries`` times.

    ``idempotent`` overrides what the method says: a POST that is idempotent in
    effect (assigning a tag) is retried like a PUT.
    """
    if idempotent is None:
        idempotent = method != "POST"
    applied_now = may_have_applied(outcome)
    server: float | None = None
    if isinstance(outcome, httpx.Response):
        status = outcome.status_code
        if status < 300:
            return Return(outcome)
        if status == 404 and method == "DELETE" and maybe_applied:
            return Return(outcome, already_done=True)
        retryable = status == 429 or (applied_now and idempotent)
        if retryable:
            server = server_wait(outcome, rate_limit)
            if server is not None and server > MAX_SERVER_WAIT:
                return Raise(server_wait=server)
    else:
        retryable = isinstance(outcome, NOT_SENT) or (
            idempotent and applied_now and isinstance(outcome, httpx.TransportError)
        )
    if not retryable or attempt > retries:
        return Raise(unknown_outcome=applied_now and not idempotent, server_wait=server)
    delay = server if server is not None else backoff(attempt - 1, jitter)
    return Retry(delay, server_wait=server)


def after_lookup(found: bool, resends_left: int) -> Literal["adopt", "send again", "give up"]:
    """POST reconciliation: what to do once the actions were searched after an unknown outcome.

    A matching action ``found`` is adopted and the POST never sent again; with none
    found it is sent once more while ``resends_left``; after that the outcome stays
    unknown and ``UnknownOutcomeError`` is raised.
    """
    if found:
        return "adopt"
    return "send again" if resends_left > 0 else "give up"


def lookup_delay(jitter: Callable[[], float]) -> float:
    """How long to let a slow commit become visible before looking for the action."""
    return backoff(0, jitter)


# ------------------------------------------------------------------ back-off


def backoff(attempt: int, jitter: Callable[[], float]) -> float:
    """Capped exponential back-off for retry ``attempt`` (0-based), jittered.

    ``min(0.5 * 2**attempt, 8)`` seconds times ``jitter()``, which gives a factor in
    [0.75, 1] (clamped there, so an injected jitter cannot make waits explode).
    """
    factor = min(max(jitter(), 0.75), 1.0)
    return min(BACKOFF_BASE * 2.0 ** min(attempt, 16), BACKOFF_CAP) * factor


def default_jitter() -> float:
    """A factor in [0.75, 1]."""
    return random.uniform(0.75, 1.0)


# ------------------------------------------------------- what the server said

_DELAY_SECONDS = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,6})?")


def http_date(raw: str) -> datetime | None:
    """An HTTP date (``Date``, ``Retry-After``) as an aware ``datetime``, or ``None``."""
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def server_now(response: httpx.Response) -> datetime | None:
    """The server's clock at the time of ``response`` (its ``Date`` header), if sane."""
    raw = response.headers.get("date")
    return http_date(raw) if raw else None


def _now_for(response: httpx.Response) -> datetime:
    # The server's Date makes waits immune to a skewed local clock; without one,
    # the local clock is all there is.
    return server_now(response) or datetime.now(timezone.utc)


def _sane_wait(seconds: float) -> float | None:
    return seconds if math.isfinite(seconds) and 0 <= seconds <= MAX_HEADER_WAIT else None


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait the server asked for in ``Retry-After`` (seconds or HTTP date), if sane.

    Negative, non-finite, huge, unparsable values and dates in the past or more
    than a day away give ``None``: the caller falls back to its own back-off.
    """
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    if _DELAY_SECONDS.fullmatch(raw):
        return _sane_wait(float(raw))
    when = http_date(raw)
    if when is None:
        return None
    return _sane_wait((when - _now_for(response)).total_seconds())


def server_wait(response: httpx.Response, rate_limit: RateLimit | None) -> float | None:
    """The wait the server directs: ``Retry-After``, else until an exhausted budget resets.

    The reset time is measured against the response's ``Date`` header, so a skewed
    local clock does not matter. ``None`` when the server directs nothing usable.
    """
    seconds = retry_after_seconds(response)
    if seconds is not None:
        return seconds
    if rate_limit is not None and rate_limit.remaining == 0:
        try:
            wait = (rate_limit.reset_at - _now_for(response)).total_seconds()
        except OverflowError:
            return None
        return _sane_wait(wait)
    return None


def reset_wait(response: httpx.Response, rate_limit: RateLimit | None) -> float | None:
    """Seconds until an exhausted budget refills (on the server's clock), else ``None``."""
    if rate_limit is None or rate_limit.remaining > 0:
        return None
    try:
        wait = (rate_limit.reset_at - _now_for(response)).total_seconds()
    except OverflowError:
        return None
    return _sane_wait(wait)


def _int_header(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if 0 <= value < 10**12 else None


def parse_rate_limit(headers: httpx.Headers) -> RateLimit | None:
    """``RateLimit`` from the ``ratelimit-*`` headers, or ``None`` if absent or malformed."""
    return _rate_limit(
        headers.get("ratelimit-limit"),
        headers.get("ratelimit-remaining"),
        headers.get("ratelimit-reset"),
    )


# Consecutive responses mostly repeat the same three values, and RateLimit is
# immutable, so one object serves them all instead of a model built per response.
@functools.lru_cache(maxsize=64)
def _rate_limit(
    limit_raw: str | None, remaining_raw: str | None, reset_raw: str | None
) -> RateLimit | None:
    limit = _int_header(limit_raw)
    remaining = _int_header(remaining_raw)
    reset = _int_header(reset_raw)
    if limit is None or remaining is None or reset is None:
        return None
    try:
        reset_at = datetime.fromtimestamp(reset, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    # Checked above (two ints, an aware datetime): built without validation, so the
    # first response does not pay for building RateLimit's validator.
    return RateLimit.model_construct(limit=limit, remaining=remaining, reset_at=reset_at)


# ------------------------------------------------------ POST reconciliation


def matching_since(response: httpx.Response, elapsed: float) -> datetime:
    """The earliest ``started_at`` an action sent ``elapsed`` seconds before ``response`` can have.

    Measured on the server's clock (``Date``), so local skew does not matter; the
    second of slack covers timestamps that are whole seconds. Without a ``Date``,
    the local clock is used with a generous slack: adopting an older matching
    action is a smaller harm than starting a second one.
    """
    now = server_now(response)
    slack = 1.0
    if now is None:
        now, slack = datetime.now(timezone.utc), 300.0
    return now - timedelta(seconds=max(elapsed, 0.0) + slack)


def action_matches(action: Action, body: Mapping[str, Any], since: datetime) -> bool:
    """Whether ``action`` is what POSTing ``body`` would have started, no earlier than ``since``."""
    if action.type != body["type"] or action.started_at is None or action.started_at < since:
        return False
    if body["type"] != "transfer":
        return True
    regions = {action.region_slug, action.region.slug if action.region else None} - {None}
    # An action that names no region at all cannot be told apart: count it as ours
    # rather than risk a second transfer.
    return not regions or body["region"] in regions
