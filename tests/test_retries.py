"""The retry policy, for both clients: what is retried, how long it waits, what it raises."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from do_images import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    Pager,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnknownOutcomeError,
    UnprocessableEntityError,
)
from support import action_payload, driver, error_response, image_payload, json_response

# The server's clock in these tests is years away from the local one: every wait
# must be computed against the response's Date header.
SERVER_NOW = datetime(2001, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
DATE = format_datetime(SERVER_NOW, usegmt=True)


class Script:
    """A handler answering from a list of responses/exceptions, recording the requests."""

    def __init__(self, *steps: httpx.Response | Exception | Callable[[httpx.Request], Any]) -> None:
        self.steps: Iterator[Any] = iter(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = next(self.steps)
        if callable(step) and not isinstance(step, httpx.Response):
            step = step(request)
        if isinstance(step, Exception):
            raise step
        assert isinstance(step, httpx.Response)
        return step

    def methods(self) -> list[str]:
        return [request.method for request in self.requests]


def ok_image() -> httpx.Response:
    return json_response(200, {"image": image_payload()})


# Each idempotent call: (method, args, success response).
IDEMPOTENT: list[tuple[str, tuple[Any, ...], Callable[[], httpx.Response]]] = [
    ("info", (7,), ok_image),
    ("update", (7, "renamed"), ok_image),
    ("destroy", (7,), lambda: httpx.Response(204)),
]


@pytest.mark.parametrize(("method", "args", "success"), IDEMPOTENT)
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_idempotent_call_retries_status(
    kind: str,
    method: str,
    args: tuple[Any, ...],
    success: Callable[[], httpx.Response],
    status: int,
) -> None:
    """GET, PUT and DELETE are sent again after a 429 or 5xx, after the first back-off."""
    script = Script(error_response(status), success())
    with driver(kind, script) as do:
        getattr(do.image, method)(*args)
    assert len(script.requests) == 2
    assert do.sleeps == [0.5]


TRANSPORT_ERRORS: list[Callable[[], Exception]] = [
    lambda: httpx.ConnectError("refused"),
    lambda: httpx.ConnectTimeout("connect timed out"),
    lambda: httpx.ReadTimeout("read timed out"),
    lambda: httpx.WriteTimeout("write timed out"),
    lambda: httpx.PoolTimeout("no connection free"),
    lambda: httpx.ReadError("connection reset"),
    lambda: httpx.RemoteProtocolError("server disconnected"),
]


@pytest.mark.parametrize(("method", "args", "success"), IDEMPOTENT)
@pytest.mark.parametrize("make_error", TRANSPORT_ERRORS)
def test_idempotent_call_retries_transport_errors(
    kind: str,
    method: str,
    args: tuple[Any, ...],
    success: Callable[[], httpx.Response],
    make_error: Callable[[], Exception],
) -> None:
    """GET, PUT and DELETE are sent again after connection errors and timeouts."""
    script = Script(make_error(), success())
    with driver(kind, script) as do:
        getattr(do.image, method)(*args)
    assert len(script.requests) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, APIStatusError),
        (422, UnprocessableEntityError),
    ],
)
def test_client_errors_are_not_retried(kind: str, status: int, error: type[Exception]) -> None:
    """A 4xx other than 429 is raised at once as its typed error."""
    script = Script(error_response(status))
    with driver(kind, script) as do, pytest.raises(error):
        do.image.info(7)
    assert len(script.requests) == 1


def test_backoff_doubles_then_caps(kind: str) -> None:
    """Back-off is 0.5 * 2**n seconds, capped at 8."""
    script = Script(*[error_response(503)] * 7)
    with driver(kind, script, max_retries=6) as do, pytest.raises(ServerError):
        do.image.info(7)
    assert do.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


@pytest.mark.parametrize(("factor", "expected"), [(0.75, 0.375), (1.0, 0.5), (0.9, 0.45)])
def test_jitter_scales_backoff(kind: str, factor: float, expected: float) -> None:
    """The injected jitter factor multiplies the back-off."""
    script = Script(error_response(503), ok_image())
    with driver(kind, script, jitter=lambda: factor) as do:
        do.image.info(7)
    assert do.sleeps == [pytest.approx(expected)]


@pytest.mark.parametrize("factor", [0.0, -3.0, 5.0])
def test_jitter_is_clamped(kind: str, factor: float) -> None:
    """A jitter outside [0.75, 1] is clamped into it."""
    script = Script(error_response(503), ok_image())
    with driver(kind, script, jitter=lambda: factor) as do:
        do.image.info(7)
    assert 0.375 <= do.sleeps[0] <= 0.5


def test_default_jitter_stays_in_range() -> None:
    """The default jitter gives factors within [0.75, 1]."""
    from do_images._retry import default_jitter

    factors = [default_jitter() for _ in range(1000)]
    assert min(factors) >= 0.75
    assert max(factors) <= 1.0


def test_exhausted_retries_say_how_many_attempts(kind: str) -> None:
    """The error after the last retry carries and states the number of attempts."""
    script = Script(*[error_response(500)] * 3)
    with driver(kind, script) as do, pytest.raises(ServerError) as caught:
        do.image.info(7)
    assert caught.value.attempts == 3
    assert "after 3 attempts" in str(caught.value)
    assert len(script.requests) == 3


def test_connection_error_says_how_many_attempts(kind: str) -> None:
    """A connection failure after retries carries the attempts and chains the cause."""
    script = Script(*[httpx.ConnectError("refused")] * 3)
    with driver(kind, script) as do, pytest.raises(APIConnectionError) as caught:
        do.image.info(7)
    assert caught.value.attempts == 3
    assert "after 3 attempt(s)" in str(caught.value)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_timeout_is_an_api_timeout_error(kind: str) -> None:
    """A read timeout on every attempt raises ``APITimeoutError``."""
    script = Script(*[httpx.ReadTimeout("slow")] * 3)
    with driver(kind, script) as do, pytest.raises(APITimeoutError):
        do.image.info(7)
    assert len(script.requests) == 3


@pytest.mark.parametrize(("per_call", "sent"), [(0, 1), (1, 2), (4, 5)])
def test_max_retries_per_call(kind: str, per_call: int, sent: int) -> None:
    """``max_retries=`` on a call replaces the client's for that call only."""
    script = Script(*[error_response(503)] * 10)
    with driver(kind, script, max_retries=2) as do:
        with pytest.raises(ServerError):
            do.image.info(7, max_retries=per_call)
        assert len(script.requests) == sent
        with pytest.raises(ServerError):
            do.image.info(7)
    assert len(script.requests) == sent + 3


@pytest.mark.parametrize(
    ("bad", "error"), [(-1, ValueError), (True, TypeError), ("2", TypeError), (1.5, TypeError)]
)
def test_bad_max_retries_per_call_is_refused(kind: str, bad: Any, error: type[Exception]) -> None:
    """A bad per-call ``max_retries`` is refused before anything is sent."""
    script = Script()
    with driver(kind, script) as do, pytest.raises(error, match="max_retries"):
        do.image.info(7, max_retries=bad)
    assert script.requests == []


def test_max_retries_per_call_applies_to_iter(kind: str) -> None:
    """``iter(max_retries=...)`` retries its page requests that many times."""
    page = json_response(200, {"images": [image_payload()], "links": {}, "meta": {"total": 1}})
    script = Script(*[error_response(503)] * 4, page)
    with driver(kind, script) as do:
        pager = do.client.image.iter(max_retries=4)
        if isinstance(pager, Pager):
            items = list(pager)
        else:

            async def collect() -> list[Any]:
                return [item async for item in pager]

            items = do.run(collect())
    assert [image.id for image in items] == [7]
    assert len(script.requests) == 5


# ---------------------------------------------------------------- server waits


def test_retry_after_seconds_wins(kind: str) -> None:
    """A numeric ``Retry-After`` replaces the back-off."""
    script = Script(error_response(429, retry_after="7"), ok_image())
    with driver(kind, script) as do:
        do.image.info(7)
    assert do.sleeps == [7.0]


def test_retry_after_date_is_measured_against_date_header(kind: str) -> None:
    """An HTTP-date ``Retry-After`` waits its distance from the response's ``Date``."""
    later = format_datetime(SERVER_NOW + timedelta(seconds=30), usegmt=True)
    script = Script(error_response(503, retry_after=later, date=DATE), ok_image())
    with driver(kind, script) as do:
        do.image.info(7)
    assert do.sleeps == [30.0]


def limit_headers(remaining: int, reset_in: float, **extra: str) -> dict[str, str]:
    """``ratelimit-*`` headers whose reset lies ``reset_in`` seconds after ``Date``."""
    reset = int(SERVER_NOW.timestamp() + reset_in)
    return {
        "ratelimit-limit": "250",
        "ratelimit-remaining": str(remaining),
        "ratelimit-reset": str(reset),
        "date": DATE,
        **extra,
    }


def test_exhausted_budget_waits_for_reset_by_server_clock(kind: str) -> None:
    """With no ``Retry-After`` and nothing remaining, the wait lasts until the reset."""
    script = Script(error_response(429, **limit_headers(0, 42)), ok_image())
    with driver(kind, script) as do:
        do.image.info(7)
    assert do.sleeps == [42.0]


def test_an_exhausted_budget_holds_the_retry_until_the_reset(kind: str) -> None:
    """With ``ratelimit-remaining: 0``, no request starts before the reset, whatever
    ``Retry-After`` says: the retry waits 3 s for it, then the other 39 s."""
    script = Script(error_response(429, **limit_headers(0, 42, retry_after="3")), ok_image())
    with driver(kind, script) as do:
        do.image.info(7)
    assert do.sleeps == [3.0, 39.0]


def test_retry_after_is_the_wait_while_budget_is_left(kind: str) -> None:
    """With requests left, ``Retry-After`` alone decides the wait before the retry."""
    script = Script(error_response(429, **limit_headers(5, 42, retry_after="3")), ok_image())
    with driver(kind, script) as do:
        do.image.info(7)
    assert do.sleeps == [3.0]


def test_remaining_budget_uses_backoff(kind: str) -> None:
    """A 429 with budget left and no ``Retry-After`` falls back to the back-off."""
    script = Script(error_response(429, **limit_headers(5, 42)), ok_image())
    with driver(kind, script) as do:
        do.image.info(7)
    assert do.sleeps == [0.5]


def test_long_retry_after_is_raised_at_once(kind: str) -> None:
    """A ``Retry-After`` above 120 s is not slept: ``RateLimitError`` comes at once."""
    script = Script(error_response(429, retry_after="121"))
    with driver(kind, script) as do, pytest.raises(RateLimitError) as caught:
        do.image.info(7)
    assert caught.value.retry_after == 121.0
    assert do.sleeps == []
    assert len(script.requests) == 1


def test_long_reset_is_raised_at_once_with_reset_at(kind: str) -> None:
    """A reset more than 120 s away raises at once, carrying ``reset_at`` and the wait."""
    script = Script(error_response(429, **limit_headers(0, 600)))
    with driver(kind, script) as do, pytest.raises(RateLimitError) as caught:
        do.image.info(7)
    assert caught.value.reset_at == SERVER_NOW + timedelta(seconds=600)
    assert caught.value.retry_after == 600.0
    assert do.sleeps == []


def test_wait_of_exactly_120_s_is_slept(kind: str) -> None:
    """A server-directed wait of 120 s is still slept."""
    script = Script(error_response(429, retry_after="120"), ok_image())
    with driver(kind, script) as do:
        do.image.info(7)
    assert do.sleeps == [120.0]


MALFORMED_RETRY_AFTER = [
    "-5",
    "inf",
    "-inf",
    "nan",
    "NaN",
    "1e400",
    "99999999999",
    "soon",
    "",
    "0x10",
    "5; drop",
    "1_0",
    "Wed, 21 Oct 1970 07:28:00 GMT",
    "Fri, 01 Jan 9999 00:00:00 GMT",
    "Mon, 99 Foo 2001 99:99:99 GMT",
]


@pytest.mark.parametrize("value", MALFORMED_RETRY_AFTER)
def test_malformed_retry_after_falls_back_to_backoff(kind: str, value: str) -> None:
    """A malformed ``Retry-After`` neither crashes nor is obeyed: the back-off applies."""
    script = Script(error_response(503, retry_after=value, date=DATE), ok_image())
    with driver(kind, script) as do:
        do.image.info(7)
    assert do.sleeps == [0.5]


MALFORMED_LIMITS: list[dict[str, str]] = [
    {"ratelimit-remaining": "0", "ratelimit-reset": "soon"},
    {"ratelimit-remaining": "0", "ratelimit-reset": "-1"},
    {"ratelimit-remaining": "0", "ratelimit-reset": "99999999999999999999"},
    {"ratelimit-remaining": "0", "ratelimit-reset": "nan"},
    {"ratelimit-remaining": "0", "ratelimit-reset": "1"},  # long past
    {"ratelimit-remaining": "0", "ratelimit-reset": "253402300799"},  # year 9999
    {"ratelimit-remaining": "zero", "ratelimit-reset": "981173106"},
    {"ratelimit-remaining": "-1", "ratelimit-reset": "981173106"},
]


@pytest.mark.parametrize("headers", MALFORMED_LIMITS)
def test_malformed_rate_limit_falls_back_to_backoff(kind: str, headers: dict[str, str]) -> None:
    """Malformed ``ratelimit-*`` headers neither crash nor are obeyed."""
    response = error_response(429, date=DATE, ratelimit_limit="250")
    response.headers.update(headers)
    script = Script(response, ok_image())
    with driver(kind, script) as do:
        do.image.info(7)
    assert do.sleeps == [0.5]


@pytest.mark.parametrize("date", ["garbage", "", "Mon, 99 Foo 2001 99:99:99 GMT"])
def test_malformed_date_header_does_not_crash(kind: str, date: str) -> None:
    """A malformed ``Date`` header falls back to the local clock without crashing."""
    script = Script(error_response(429, retry_after="Fri, 01 Jan 2100 00:00:00 GMT", date=date))
    script.steps = iter([*script.steps, ok_image()])
    with driver(kind, script) as do:
        do.image.info(7)
    assert do.sleeps == [0.5]


# ---------------------------------------------------------------------- POST


TRANSFER = ("transfer", (7, "nyc3"))
CONVERT = ("convert", (7,))
CREATE = ("create", ("img", "https://example.com/img.qcow2", "nyc3"))


def created(method: str) -> httpx.Response:
    if method == "create":
        return json_response(202, {"image": image_payload(9, status="NEW")})
    kind = "convert" if method == "convert" else "transfer"
    return json_response(201, {"action": action_payload(55, type=kind)})


@pytest.mark.parametrize(("method", "args"), [TRANSFER, CONVERT, CREATE])
@pytest.mark.parametrize(
    "make_error",
    [
        lambda: httpx.ConnectError("refused"),
        lambda: httpx.ConnectTimeout("connect timed out"),
        lambda: httpx.PoolTimeout("no connection free"),
        lambda: error_response(429),
    ],
)
def test_post_retries_when_never_processed(
    kind: str, method: str, args: tuple[Any, ...], make_error: Callable[[], Any]
) -> None:
    """A POST is sent again after a connect failure or a 429: it never took effect."""
    script = Script(make_error(), created(method))
    with driver(kind, script) as do:
        getattr(do.image, method)(*args)
    assert script.methods() == ["POST", "POST"]


AMBIGUOUS: list[Callable[[], Any]] = [
    lambda: httpx.ReadTimeout("read timed out"),
    lambda: httpx.WriteTimeout("write timed out"),
    lambda: httpx.ReadError("connection reset"),
    lambda: httpx.RemoteProtocolError("server disconnected"),
    lambda: error_response(500),
    lambda: error_response(503),
]


@pytest.mark.parametrize("make_error", AMBIGUOUS)
def test_ambiguous_create_raises_unknown_outcome(kind: str, make_error: Callable[[], Any]) -> None:
    """``create`` never sends twice after an ambiguous failure: a typed error says so."""
    script = Script(make_error(), created("create"))
    with driver(kind, script) as do, pytest.raises(UnknownOutcomeError) as caught:
        do.image.create(*CREATE[1])
    assert script.methods() == ["POST"]
    assert caught.value.attempts == 1
    assert isinstance(caught.value.__cause__, (APIConnectionError, ServerError))


def test_create_client_error_is_typed(kind: str) -> None:
    """A 422 on ``create`` is the server's refusal, not an ambiguity."""
    script = Script(error_response(422, "bad region"))
    with driver(kind, script) as do, pytest.raises(UnprocessableEntityError):
        do.image.create("img", "https://example.com/i.img", "atl1")
    assert json.loads(script.requests[0].content)["region"] == "atl1"


class ActionServer:
    """A fake image-actions endpoint: the POST and the actions listing, scripted."""

    def __init__(
        self,
        posts: list[Any],
        listings: list[list[dict[str, Any]]],
        *,
        date: str | None = DATE,
    ) -> None:
        self.posts = iter(posts)
        self.listings = iter(listings)
        self.date = date
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "POST":
            step = next(self.posts)
            if callable(step) and not isinstance(step, httpx.Response):
                step = step(request)
            if isinstance(step, Exception):
                raise step
            assert isinstance(step, httpx.Response)
            return step
        actions = next(self.listings)
        headers = {"date": self.date} if self.date else {}
        return json_response(200, {"actions": actions, "links": {}, "meta": {}}, **headers)

    def count(self, method: str) -> int:
        return sum(1 for request in self.requests if request.method == method)


def at(offset: float) -> str:
    """A server timestamp ``offset`` seconds from the server's now."""
    return (SERVER_NOW + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("make_error", AMBIGUOUS)
def test_ambiguous_transfer_returns_the_action_it_started(
    kind: str, make_error: Callable[[], Any]
) -> None:
    """After an ambiguous POST, a matching new action is found and returned, not re-sent."""
    mine = action_payload(77, region="nyc3", started_at=at(0))
    server = ActionServer([make_error()], [[mine]])
    with driver(kind, server) as do:
        action = do.image.transfer(7, "nyc3")
    assert action.id == 77
    assert server.count("POST") == 1


def test_ambiguous_convert_returns_the_action_it_started(kind: str) -> None:
    """``convert`` reconciles the same way."""
    mine = action_payload(78, type="convert", region=None, started_at=at(0))
    server = ActionServer([httpx.ReadTimeout("slow")], [[mine]])
    with driver(kind, server) as do:
        action = do.image.convert(7)
    assert action.id == 78
    assert server.count("POST") == 1


@pytest.mark.parametrize(
    "other",
    [
        action_payload(1, region="nyc3", started_at=at(-3600)),  # too old
        action_payload(2, region="sfo3", started_at=at(0)),  # another region
        action_payload(3, type="convert", region="nyc3", started_at=at(0)),  # another type
    ],
)
def test_non_matching_action_leads_to_one_resend(kind: str, other: dict[str, Any]) -> None:
    """When no matching action exists, the POST is sent exactly once more."""
    server = ActionServer([httpx.ReadTimeout("slow"), created("transfer")], [[other]])
    with driver(kind, server) as do:
        action = do.image.transfer(7, "nyc3")
    assert action.id == 55
    assert server.count("POST") == 2


def test_second_ambiguous_failure_is_not_resent(kind: str) -> None:
    """After the one re-send also fails ambiguously and nothing matches, it raises."""
    server = ActionServer([httpx.ReadTimeout("slow"), error_response(502)], [[], []])
    with driver(kind, server, max_retries=5) as do, pytest.raises(UnknownOutcomeError) as caught:
        do.image.transfer(7, "nyc3")
    assert server.count("POST") == 2
    assert caught.value.attempts == 2


def test_second_ambiguous_failure_finds_the_action(kind: str) -> None:
    """After the re-send fails ambiguously, an action started by either send is returned."""
    mine = action_payload(79, region="nyc3", started_at=at(0))
    server = ActionServer([httpx.ReadTimeout("slow"), error_response(500)], [[], [mine]])
    with driver(kind, server) as do:
        action = do.image.transfer(7, "nyc3")
    assert action.id == 79
    assert server.count("POST") == 2


def test_no_resend_without_retries(kind: str) -> None:
    """With ``max_retries=0`` the lookup still happens, but nothing is sent again."""
    server = ActionServer([httpx.ReadTimeout("slow")], [[]])
    with driver(kind, server) as do, pytest.raises(UnknownOutcomeError):
        do.image.transfer(7, "nyc3", max_retries=0)
    assert server.count("POST") == 1
    assert server.count("GET") == 1


def test_failed_lookup_is_unknown_outcome(kind: str) -> None:
    """When the actions cannot be listed, the outcome stays unknown and nothing is re-sent."""
    script = Script(httpx.ReadTimeout("slow"), *[error_response(500)] * 3)
    with driver(kind, script) as do, pytest.raises(UnknownOutcomeError) as caught:
        do.image.transfer(7, "nyc3")
    assert script.methods() == ["POST", "GET", "GET", "GET"]
    assert "looking for the action failed" in str(caught.value)


def test_matching_uses_the_server_clock(kind: str) -> None:
    """An action started a second after the POST on a skewed server clock still matches."""
    # SERVER_NOW is 2001: by the local clock every action here is decades old.
    mine = action_payload(80, region="nyc3", started_at=at(1))
    server = ActionServer([httpx.ReadTimeout("slow")], [[mine]])
    with driver(kind, server) as do:
        action = do.image.transfer(7, "nyc3")
    assert action.id == 80


def test_elapsed_time_widens_the_window(kind: str) -> None:
    """An action started before a long wait for the POST's answer still counts as this call's."""
    mine = action_payload(81, region="nyc3", started_at=at(-30))

    def slow_timeout(request: httpx.Request) -> httpx.Response:
        do.now += 30  # the POST took 30 s on the injected clock before timing out
        raise httpx.ReadTimeout("slow")

    server = ActionServer([slow_timeout], [[mine]])
    with driver(kind, server) as do:
        action = do.image.transfer(7, "nyc3")
    assert action.id == 81
    assert server.count("POST") == 1


def test_earliest_matching_action_is_chosen(kind: str) -> None:
    """Of several matching actions, the one started first (closest to the POST) is returned."""
    later = action_payload(91, region="nyc3", started_at=at(5))
    first = action_payload(90, region="nyc3", started_at=at(0))
    server = ActionServer([httpx.ReadTimeout("slow")], [[later, first]])
    with driver(kind, server) as do:
        action = do.image.transfer(7, "nyc3")
    assert action.id == 90


def test_reconciled_action_is_awaited(kind: str) -> None:
    """With ``wait=True`` the found action is polled to completion."""
    mine = action_payload(82, region="nyc3", started_at=at(0))
    done = dict(mine, status="completed")
    server = ActionServer([httpx.ReadTimeout("slow")], [[mine]])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/actions/82"):
            return json_response(200, {"action": done})
        return server(request)

    with driver(kind, handler) as do:
        action = do.image.transfer(7, "nyc3", wait=True, poll=1)
    assert action.status == "completed"
    assert server.count("POST") == 1


# -------------------------------------------------------------------- DELETE


@pytest.mark.parametrize(
    "first",
    [
        lambda: httpx.ReadTimeout("slow"),
        lambda: httpx.RemoteProtocolError("dropped"),
        lambda: error_response(504),
    ],
)
def test_delete_404_after_ambiguous_attempt_is_success(kind: str, first: Callable[[], Any]) -> None:
    """A DELETE retried after it may have worked and then getting 404 has succeeded."""
    script = Script(first(), error_response(404))
    with driver(kind, script) as do:
        do.image.destroy(7)  # returns normally: the image is gone
    assert script.methods() == ["DELETE", "DELETE"]


def test_delete_404_after_connect_error_is_not_found(kind: str) -> None:
    """A 404 after a DELETE that never reached the server is a real ``NotFoundError``."""
    script = Script(httpx.ConnectError("refused"), error_response(404))
    with driver(kind, script) as do, pytest.raises(NotFoundError):
        do.image.destroy(7)


def test_delete_404_on_first_attempt_is_not_found(kind: str) -> None:
    """A DELETE answered 404 at once raises ``NotFoundError``."""
    script = Script(error_response(404))
    with driver(kind, script) as do, pytest.raises(NotFoundError):
        do.image.destroy(7)


def test_get_404_after_timeout_is_not_found(kind: str) -> None:
    """Only DELETE treats a 404 after a timeout as success."""
    script = Script(httpx.ReadTimeout("slow"), error_response(404))
    with driver(kind, script) as do, pytest.raises(NotFoundError):
        do.image.info(7)


# ------------------------------------------------------------- rate limit, timeouts


def test_rate_limit_is_updated_from_errors(kind: str) -> None:
    """``rate_limit`` reflects the headers of an error response too."""
    script = Script(error_response(404, **limit_headers(17, 60)))
    with driver(kind, script) as do:
        with pytest.raises(NotFoundError):
            do.image.info(7)
        assert do.client.rate_limit is not None
        assert do.client.rate_limit.remaining == 17


def test_rate_limit_follows_each_retry(kind: str) -> None:
    """Every response of a retried call updates ``rate_limit``, the last one last."""
    script = Script(
        error_response(503, **limit_headers(10, 60)),
        json_response(200, {"image": image_payload()}, **limit_headers(9, 60)),
    )
    with driver(kind, script) as do:
        do.image.info(7)
        assert do.client.rate_limit is not None
        assert do.client.rate_limit.remaining == 9


def test_default_timeouts(kind: str) -> None:
    """Each attempt defaults to a 5 s connect and 30 s read timeout."""
    script = Script(ok_image())
    with driver(kind, script) as do:
        do.image.info(7)
    timeout = script.requests[0].extensions["timeout"]
    assert (timeout["connect"], timeout["read"]) == (5.0, 30.0)


@pytest.mark.parametrize(
    ("setting", "connect", "read"),
    [(10.0, 5.0, 10.0), (2, 2.0, 2.0), (httpx.Timeout(60.0, connect=1.5), 1.5, 60.0)],
)
def test_timeouts_are_configurable(
    kind: str, setting: float | httpx.Timeout, connect: float, read: float
) -> None:
    """``timeout=`` sets the per-attempt timeouts (a number keeps connect at most 5 s)."""
    script = Script(ok_image())
    with driver(kind, script, timeout=setting) as do:
        do.image.info(7)
    timeout = script.requests[0].extensions["timeout"]
    assert (timeout["connect"], timeout["read"]) == (connect, read)


# ------------------------------------------------------------- closed responses


class TrackedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that records whether it was closed."""

    def __init__(self, content: bytes, closed: list[bool]) -> None:
        self.content = content
        self.closed = closed
        self.index = len(closed)
        closed.append(False)

    def __iter__(self) -> Iterator[bytes]:
        yield self.content

    async def __aiter__(self) -> Any:
        yield self.content

    def close(self) -> None:
        self.closed[self.index] = True

    async def aclose(self) -> None:
        self.close()


@pytest.mark.parametrize("statuses", [[503, 503, 503], [429, 200], [500, 404], [302]])
def test_every_response_is_closed(kind: str, statuses: list[int]) -> None:
    """Every response a call receives is closed, whether it succeeds, retries or fails."""
    closed: list[bool] = []
    body = json.dumps({"image": image_payload()}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        status = statuses[len(closed)]
        headers = {"location": "https://elsewhere.example/"} if status == 302 else {}
        return httpx.Response(status, stream=TrackedStream(body, closed), headers=headers)

    with driver(kind, handler) as do, contextlib.suppress(APIStatusError):
        (do.image.destroy if 404 in statuses else do.image.info)(7)
    assert closed == [True] * len(statuses)
