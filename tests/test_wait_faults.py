"""Waits never drop the work they wait for: transient poll failures ride to the deadline."""

from __future__ import annotations

import httpx
import pytest

from do_images import (
    Action,
    ActionTimeoutError,
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    DistributionError,
    ImageFailedError,
    ImageTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from do_images.testing import Sandbox
from support import (
    Driver,
    MakeDriver,
    action_payload,
    error_response,
    image_payload,
    json_response,
)

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
    from do_images._polling import transient

    assert transient(RateLimitError("x"))
    assert transient(ServerError("x", status_code=503))
    assert transient(APIConnectionError("x"))
    assert not transient(NotFoundError("x", status_code=404))


# ------------------------------------------------------- a 400 answering a poll


def test_a_400_to_a_transfer_poll_is_ridden_out(do: Driver, sandbox: Sandbox) -> None:
    """A proxy answering a poll 400 does not end the wait: the transfer completes."""
    sandbox.fail_next(400, times=4, method="GET")
    action = do.image.transfer(SNAPSHOT, "lon1", wait=True, poll=5, timeout=600)
    assert action.status == "completed"
    assert sandbox.count("POST") == 1


def test_400s_to_the_deadline_end_in_a_timeout_carrying_the_action(
    do: Driver, sandbox: Sandbox
) -> None:
    """Every poll answered 400: the timeout carries the action, its cause the 400 (with it too)."""
    started = do.image.transfer(SNAPSHOT, "fra1")
    sandbox.fail_next(400, times=10_000, method="GET")
    with pytest.raises(ActionTimeoutError) as caught:
        do.image.wait(started, poll=10, timeout=60)
    assert caught.value.action.id == started.id
    cause = caught.value.__cause__
    assert isinstance(cause, BadRequestError)
    assert cause.action is not None
    assert cause.action.id == started.id


def test_a_400_to_an_import_poll_is_ridden_out(do: Driver, sandbox: Sandbox) -> None:
    """``wait_image`` rides out 400s to its polls and returns the available image."""
    image = do.image.create("web", "https://example.com/web.qcow2", "nyc3")
    sandbox.fail_next(400, times=4, method="GET")
    assert do.image.wait_image(image, poll=10, timeout=600).status == "available"


def test_400s_to_the_deadline_of_an_import_carry_the_image(do: Driver, sandbox: Sandbox) -> None:
    """An import's wait answered 400 to the end: ``ImageTimeoutError`` with the image and cause."""
    image = do.image.create("web", "https://example.com/web.qcow2", "nyc3")
    sandbox.fail_next(400, times=10_000, method="GET")
    with pytest.raises(ImageTimeoutError) as caught:
        do.image.wait_image(image, poll=10, timeout=60)
    assert caught.value.image is not None
    assert caught.value.image.id == image.id
    cause = caught.value.__cause__
    assert isinstance(cause, BadRequestError)
    assert cause.image is not None


def test_a_400_to_a_distribute_poll_is_ridden_out(do: Driver, sandbox: Sandbox) -> None:
    """``distribute``'s list polls answered 400 only delay it; every transfer completes."""

    def refuse_next_poll(action: object) -> None:
        sandbox.fail_next(400, times=3, method="GET")

    actions = do.image.distribute(SNAPSHOT, ["lon1", "sgp1"], poll=10, on_update=refuse_next_poll)
    assert {action.status for action in actions.values()} == {"completed"}
    assert sandbox.count("POST") == 2


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(401, AuthenticationError), (403, PermissionDeniedError), (404, NotFoundError)],
)
def test_every_error_leaving_a_wait_carries_the_started_work(
    make_driver: MakeDriver, status: int, error_type: type[Exception]
) -> None:
    """A permanent poll failure of ``wait_image`` ends it at once, carrying the image seen."""
    seen = image_payload(8, status="NEW")
    answers = iter([json_response(200, {"image": seen})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, error_response(status))

    harness = make_driver(handler)
    with pytest.raises((error_type, ImageFailedError)) as caught:
        harness.image.wait_image(8, poll=5, timeout=300)
    assert caught.value.image is not None  # type: ignore[attr-defined]
    assert caught.value.image.id == 8  # type: ignore[attr-defined]


def test_a_permanent_failure_of_distribute_gives_each_region_its_own_action(
    do: Driver, sandbox: Sandbox
) -> None:
    """A 403 to the list poll ends every pending transfer, each error carrying its own action."""

    def refuse_polls(action: object) -> None:
        sandbox.fail_next(403, times=50, method="GET")

    with pytest.raises(DistributionError) as caught:
        do.image.distribute(SNAPSHOT, ["lon1", "sgp1"], poll=10, on_update=refuse_polls)
    errors = caught.value.errors
    assert sorted(errors) == ["lon1", "sgp1"]
    for region, error in errors.items():
        assert isinstance(error, PermissionDeniedError)
        assert error.action is not None
        assert error.action.region_slug == region
