"""Waits never drop the work they wait for: transient poll failures ride to the deadline."""

from __future__ import annotations

import httpx
import pytest

from do_images import (
    Action,
    ActionTimeoutError,
    APIConnectionError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from do_images.testing import Sandbox
from support import Driver, MakeDriver, action_payload, error_response, json_response

SNAPSHOT = 180040001  # a private snapshot in nyc3 (seeded)
BACKUP = 180040003  # a private backup (seeded)


def test_the_reproduction_keeps_waiting_until_the_transfer_completes(
    do: Driver, sandbox: Sandbox
) -> None:
    """Three 503s to every GET attempt of one poll no longer end a 600 s transfer wait."""
    sandbox.fail_next(503, times=3, method="GET")
    action = do.image.transfer(SNAPSHOT, "lon1", wait=True, timeout=600)
    assert action.status == "completed"
    assert sandbox.count("POST") == 1


@pytest.mark.parametrize(
    ("status", "headers"), [(503, {}), (502, {}), (429, {"retry-after": "7"}), (500, {})]
)
def test_a_burst_of_failed_polls_is_ridden_out(
    do: Driver, sandbox: Sandbox, status: int, headers: dict[str, str]
) -> None:
    """Polls failing many times in a row (each after its retries) do not end the wait."""
    sandbox.fail_next(status, times=12, headers=headers, method="GET")
    action = do.image.convert(BACKUP, wait=True, poll=5, timeout=900)
    assert action.status == "completed"
    assert sandbox.count("GET", "imageActions_get") > 12


def test_lost_connections_while_polling_are_ridden_out(do: Driver, sandbox: Sandbox) -> None:
    """Dropped answers to GETs (connection errors) only delay the next poll."""
    sandbox.drop_next(times=9, method="GET")
    action = do.image.transfer(SNAPSHOT, "fra1", wait=True, timeout=600)
    assert action.status == "completed"


def test_failures_until_the_deadline_end_in_a_timeout_with_the_action_and_its_cause(
    do: Driver, sandbox: Sandbox
) -> None:
    """When every poll fails, the wait ends at its deadline: timeout, last action, last failure."""
    sandbox.fail_next(503, times=10_000, method="GET")
    with pytest.raises(ActionTimeoutError) as caught:
        do.image.transfer(SNAPSHOT, "sgp1", wait=True, poll=10, timeout=120)
    error = caught.value
    assert error.action.region_slug == "sgp1"
    assert error.action.status == "in-progress"  # as last seen: when it started
    assert isinstance(error.__cause__, ServerError)
    assert sandbox.count("POST") == 1  # nothing was started twice


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(401, AuthenticationError), (403, PermissionDeniedError), (404, NotFoundError)],
)
def test_a_permanent_poll_failure_ends_the_wait_at_once_carrying_the_action(
    make_driver: MakeDriver, status: int, error_type: type[Exception]
) -> None:
    """401, 403 and 404 of the action end the wait on the first poll, with ``.action``."""
    started = action_payload(55, 7)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return json_response(201, {"action": started})
        return error_response(status)

    harness = make_driver(handler)
    with pytest.raises(error_type) as caught:
        harness.image.transfer(7, "nyc3", wait=True, poll=5, timeout=300)
    assert isinstance(caught.value.action, Action)  # type: ignore[attr-defined]
    assert caught.value.action.id == 55  # type: ignore[attr-defined]
    polls = [r for r in harness.requests if r.method == "GET"]
    assert len(polls) == 1
    assert harness.sleeps == [5]


@pytest.mark.parametrize(
    "failure",
    [
        lambda r: error_response(503),
        lambda r: error_response(429, retry_after="3"),
        lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)),
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r)),
    ],
    ids=["503", "429", "connect-error", "read-timeout"],
)
def test_transient_failures_then_success_on_both_clients(
    make_driver: MakeDriver, failure: object
) -> None:
    """Each kind of transient failure, for several polls in a row, then the action completes."""
    calls = {"GET": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return json_response(201, {"action": action_payload(56, 7)})
        calls["GET"] += 1
        if calls["GET"] <= 9:  # three polls of three attempts each
            return failure(request)  # type: ignore[operator,no-any-return]
        return json_response(200, {"action": action_payload(56, 7, "completed")})

    harness = make_driver(handler)
    action = harness.image.transfer(7, "nyc3", wait=True, poll=5, timeout=300)
    assert action.status == "completed"
    assert calls["GET"] == 10


def test_a_long_retry_after_stretches_the_pause_between_polls(make_driver: MakeDriver) -> None:
    """A 429 asking for 200 s (over the in-call cap) makes the next poll wait that long."""
    gets = iter(
        [
            error_response(429, retry_after="200"),
            json_response(200, {"action": action_payload(57, 7, "completed")}),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return json_response(201, {"action": action_payload(57, 7)})
        return next(gets)

    harness = make_driver(handler)
    action = harness.image.transfer(7, "nyc3", wait=True, poll=5, timeout=3600)
    assert action.status == "completed"
    assert harness.sleeps == [5, 200]


def test_connection_errors_to_the_deadline_keep_the_last_failure(make_driver: MakeDriver) -> None:
    """The timeout's cause is the connection error of the last poll."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return json_response(201, {"action": action_payload(58, 7)})
        raise httpx.ConnectError("refused", request=request)

    harness = make_driver(handler)
    with pytest.raises(ActionTimeoutError) as caught:
        harness.image.wait(Action.model_validate(action_payload(58, 7)), poll=10, timeout=60)
    assert isinstance(caught.value.__cause__, APIConnectionError)
    assert caught.value.action.id == 58


def test_a_rate_limit_error_raised_while_waiting_is_transient() -> None:
    """429 counts as transient, like 5xx and connection failures."""
    from do_images._images import transient

    assert transient(RateLimitError("x"))
    assert transient(ServerError("x", status_code=503))
    assert transient(APIConnectionError("x"))
    assert not transient(NotFoundError("x", status_code=404))
