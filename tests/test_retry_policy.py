"""The retry policy as tables: ``decide`` and the timing helpers, with no client at all."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from do_images import RateLimit
from do_images._constants import BACKOFF_CAP, MAX_HEADER_WAIT, MAX_SERVER_WAIT
from do_images._retry import (
    Raise,
    Retry,
    Return,
    after_lookup,
    backoff,
    decide,
    http_date,
    may_have_applied,
    retry_after_seconds,
    server_wait,
)

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)
REQUEST = httpx.Request("GET", "https://api.digitalocean.com/v2/images/7")


def response(status: int, **headers: str) -> httpx.Response:
    """A response dated ``NOW`` with these headers (underscores become dashes)."""
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    named.setdefault("date", format_datetime(NOW, usegmt=True))
    return httpx.Response(status, headers=named, request=REQUEST)


def one(jitter: float = 1.0) -> float:
    return jitter


def run(
    method: str,
    outcome: httpx.Response | httpx.RequestError,
    *,
    attempt: int = 1,
    retries: int = 2,
    maybe_applied: bool = False,
    rate_limit: RateLimit | None = None,
) -> Return | Retry | Raise:
    return decide(
        method,
        attempt,
        outcome,
        retries=retries,
        maybe_applied=maybe_applied,
        rate_limit=rate_limit,
        jitter=one,
    )


def transport(cls: type[httpx.RequestError]) -> httpx.RequestError:
    return cls("boom", request=REQUEST)


# ---------------------------------------------------------------------- decide

DECIDE_TABLE = [
    # method, outcome, expected kind, unknown outcome?
    ("GET", 200, "return", False),
    ("POST", 201, "return", False),
    ("DELETE", 204, "return", False),
    ("GET", 400, "raise", False),
    ("GET", 401, "raise", False),
    ("GET", 404, "raise", False),
    ("PUT", 422, "raise", False),
    ("GET", 429, "retry", False),
    ("POST", 429, "retry", False),
    ("GET", 500, "retry", False),
    ("PUT", 502, "retry", False),
    ("DELETE", 503, "retry", False),
    ("POST", 500, "raise", True),
    ("POST", 503, "raise", True),
    ("GET", 301, "raise", False),
    ("POST", 404, "raise", False),
    ("GET", httpx.ConnectError, "retry", False),
    ("POST", httpx.ConnectError, "retry", False),
    ("POST", httpx.ConnectTimeout, "retry", False),
    ("POST", httpx.PoolTimeout, "retry", False),
    ("GET", httpx.ReadTimeout, "retry", False),
    ("POST", httpx.ReadTimeout, "raise", True),
    ("GET", httpx.RemoteProtocolError, "retry", False),
    ("POST", httpx.RemoteProtocolError, "raise", True),
    ("POST", httpx.ReadError, "raise", True),
    ("GET", httpx.UnsupportedProtocol, "raise", False),
    ("POST", httpx.UnsupportedProtocol, "raise", False),
    ("GET", httpx.LocalProtocolError, "raise", False),
    ("GET", httpx.TooManyRedirects, "raise", False),
]


@pytest.mark.parametrize(("method", "outcome", "kind", "unknown"), DECIDE_TABLE)
def test_decide_table(
    method: str, outcome: int | type[httpx.RequestError], kind: str, unknown: bool
) -> None:
    """Each method and outcome gets the documented decision on a first attempt."""
    result = run(method, response(outcome) if isinstance(outcome, int) else transport(outcome))
    expected = {"return": Return, "retry": Retry, "raise": Raise}[kind]
    assert isinstance(result, expected), result
    if isinstance(result, Raise):
        assert result.unknown_outcome is unknown


@pytest.mark.parametrize(("attempt", "kind"), [(1, Retry), (2, Retry), (3, Raise), (9, Raise)])
def test_no_more_than_max_retries(attempt: int, kind: type[object]) -> None:
    """With ``retries=2`` the third attempt is the last."""
    assert isinstance(run("GET", response(503), attempt=attempt, retries=2), kind)


def test_zero_retries_raises_at_once() -> None:
    """``retries=0`` never retries, not even a connect error."""
    assert isinstance(run("GET", transport(httpx.ConnectError), retries=0), Raise)


@pytest.mark.parametrize(("maybe_applied", "kind"), [(True, Return), (False, Raise)])
def test_delete_404_after_an_ambiguous_attempt(maybe_applied: bool, kind: type[object]) -> None:
    """A DELETE's 404 is success only when an earlier attempt may have deleted it."""
    result = run("DELETE", response(404), attempt=2, maybe_applied=maybe_applied)
    assert isinstance(result, kind)
    if isinstance(result, Return):
        assert result.already_done


def test_get_404_is_never_success() -> None:
    """Only DELETE turns a 404 into success."""
    assert isinstance(run("GET", response(404), attempt=2, maybe_applied=True), Raise)


@pytest.mark.parametrize(("attempt", "delay"), [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0)])
def test_backoff_without_server_direction(attempt: int, delay: float) -> None:
    """Without ``Retry-After`` the wait is the back-off for that attempt."""
    result = run("GET", response(503), attempt=attempt, retries=10)
    assert result == Retry(delay)


def test_server_directed_wait_is_used() -> None:
    """``Retry-After`` becomes the delay, and is reported as the server's."""
    result = run("GET", response(429, retry_after="7"))
    assert result == Retry(7.0, server_wait=7.0)


def test_server_wait_over_the_cap_raises_at_once() -> None:
    """A wait longer than ``MAX_SERVER_WAIT`` is not slept: the error is raised."""
    result = run("GET", response(429, retry_after=str(int(MAX_SERVER_WAIT) + 1)))
    assert result == Raise(server_wait=MAX_SERVER_WAIT + 1)


def test_server_wait_at_the_cap_is_slept() -> None:
    """Exactly ``MAX_SERVER_WAIT`` is still waited."""
    result = run("GET", response(429, retry_after=str(int(MAX_SERVER_WAIT))))
    assert result == Retry(MAX_SERVER_WAIT, server_wait=MAX_SERVER_WAIT)


def test_exhausted_budget_waits_until_reset() -> None:
    """With no ``Retry-After`` and no requests left, the wait is until the reset."""
    budget = RateLimit(limit=5000, remaining=0, reset_at=NOW + timedelta(seconds=30))
    assert run("GET", response(429), rate_limit=budget) == Retry(30.0, server_wait=30.0)


def test_a_post_on_5xx_is_not_told_to_wait() -> None:
    """A POST's 5xx is not retried, so no server wait is looked up for it."""
    assert run("POST", response(503, retry_after="5")) == Raise(unknown_outcome=True)


@pytest.mark.parametrize(
    ("outcome", "applied"),
    [
        (200, False),
        (404, False),
        (429, False),
        (500, True),
        (503, True),
        (httpx.ConnectError, False),
        (httpx.ConnectTimeout, False),
        (httpx.PoolTimeout, False),
        (httpx.UnsupportedProtocol, False),
        (httpx.ReadTimeout, True),
        (httpx.WriteTimeout, True),
        (httpx.RemoteProtocolError, True),
        (httpx.ReadError, True),
    ],
)
def test_may_have_applied(outcome: int | type[httpx.RequestError], applied: bool) -> None:
    """Which outcomes may have reached the server and changed something."""
    value = response(outcome) if isinstance(outcome, int) else transport(outcome)
    assert may_have_applied(value) is applied


@pytest.mark.parametrize(
    ("found", "left", "what"),
    [(True, 1, "adopt"), (True, 0, "adopt"), (False, 1, "send again"), (False, 0, "give up")],
)
def test_after_lookup(found: bool, left: int, what: str) -> None:
    """A found action is adopted; otherwise one resend, then give up."""
    assert after_lookup(found, left) == what


# --------------------------------------------------------------------- timing

RETRY_AFTER_TABLE: list[tuple[str, float | None]] = [
    ("0", 0.0),
    ("3", 3.0),
    (" 3 ", 3.0),
    ("2.5", 2.5),
    ("120", 120.0),
    (str(int(MAX_HEADER_WAIT)), MAX_HEADER_WAIT),
    (str(int(MAX_HEADER_WAIT) + 1), None),
    ("-1", None),
    ("inf", None),
    ("nan", None),
    ("Infinity", None),
    ("1e3", None),
    ("0x10", None),
    ("", None),
    ("soon", None),
    ("9" * 40, None),
    (format_datetime(NOW + timedelta(seconds=45), usegmt=True), 45.0),
    (format_datetime(NOW - timedelta(seconds=45), usegmt=True), None),
    (format_datetime(NOW + timedelta(days=2), usegmt=True), None),
    ("Fri, 31 Dec 9999 23:59:59 GMT", None),
    ("Mon, 99 Foo 2026 99:99:99 GMT", None),
]


@pytest.mark.parametrize(("raw", "expected"), RETRY_AFTER_TABLE)
def test_retry_after_seconds(raw: str, expected: float | None) -> None:
    """Seconds or an HTTP date within a day; anything else is ``None``."""
    assert retry_after_seconds(response(429, retry_after=raw)) == expected


def test_retry_after_absent() -> None:
    """No header, no wait."""
    assert retry_after_seconds(response(429)) is None


@pytest.mark.parametrize(
    ("remaining", "reset_in", "expected"),
    [
        (0, 30, 30.0),
        (0, 0, 0.0),
        (0, -30, None),  # a reset in the past directs nothing
        (0, 2 * 86_400, None),  # nor one more than a day away
        (1, 30, None),  # budget left: the server directs no wait
    ],
)
def test_server_wait_from_the_budget(remaining: int, reset_in: int, expected: float | None) -> None:
    """An exhausted budget directs a wait until its reset, measured on the server's clock."""
    budget = RateLimit(limit=5000, remaining=remaining, reset_at=NOW + timedelta(seconds=reset_in))
    assert server_wait(response(429), budget) == expected


def test_server_wait_prefers_retry_after() -> None:
    """``Retry-After`` wins over the budget's reset."""
    budget = RateLimit(limit=5000, remaining=0, reset_at=NOW + timedelta(seconds=30))
    assert server_wait(response(429, retry_after="4"), budget) == 4.0


def test_server_wait_far_future_reset_does_not_overflow() -> None:
    """A reset at the end of time gives ``None``, not an ``OverflowError``."""
    budget = RateLimit(limit=1, remaining=0, reset_at=datetime.max.replace(tzinfo=timezone.utc))
    assert server_wait(httpx.Response(429, request=REQUEST), budget) is None


@pytest.mark.parametrize(
    ("attempt", "jitter", "expected"),
    [
        (0, 1.0, 0.5),
        (1, 1.0, 1.0),
        (3, 1.0, 4.0),
        (4, 1.0, BACKOFF_CAP),
        (10_000, 1.0, BACKOFF_CAP),  # no overflow for huge attempt numbers
        (0, 0.75, 0.375),
        (0, 0.0, 0.375),  # jitter is clamped to [0.75, 1]
        (0, 5.0, 0.5),
        (0, -math.inf, 0.375),
        (0, math.inf, 0.5),
    ],
)
def test_backoff(attempt: int, jitter: float, expected: float) -> None:
    """Capped exponential back-off with a clamped jitter factor."""
    assert backoff(attempt, lambda: jitter) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tue, 01 Dec 2026 12:00:00 GMT", NOW),
        ("Tue, 01 Dec 2026 12:00:00 -0000", NOW),
        ("Tue, 01 Dec 2026 13:00:00 +0100", NOW),
        ("yesterday", None),
        ("", None),
    ],
)
def test_http_date(raw: str, expected: datetime | None) -> None:
    """HTTP dates become aware datetimes; anything else ``None``."""
    assert http_date(raw) == expected
