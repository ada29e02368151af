"""Waiting for actions: completed returns, errored raises, time runs out, others poll on."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from do_images import Action, ActionFailedError, ActionTimeoutError
from support import MakeDriver, action_payload, json_response


def statuses(*sequence: str) -> Callable[[httpx.Request], httpx.Response]:
    """Answer action polls with these statuses in turn (the last one repeats)."""
    remaining: Iterator[str] = iter(sequence)
    last = [sequence[-1]]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return json_response(201, {"action": action_payload(99, 7, "in-progress")})
        status = next(remaining, last[0])
        return json_response(200, {"action": action_payload(99, 7, status)})

    return handler


def pending() -> Action:
    return Action.model_validate(action_payload(99, 7, "in-progress"))


def test_wait_returns_once_completed(make_driver: MakeDriver) -> None:
    """Polling stops at ``completed`` and returns that action; each poll sleeps ``poll`` s."""
    harness = make_driver(statuses("in-progress", "in-progress", "completed"))
    seen: list[str] = []
    result = harness.image.wait(
        pending(), poll=2, timeout=60, on_update=lambda a: seen.append(a.status)
    )
    assert result.status == "completed"
    assert seen == ["in-progress", "in-progress", "completed"]
    assert harness.sleeps == [2, 2, 2]
    assert len(harness.requests) == 3


def test_wait_raises_once_errored(make_driver: MakeDriver) -> None:
    """An ``errored`` action raises ``ActionFailedError`` carrying that action."""
    harness = make_driver(statuses("in-progress", "errored"))
    with pytest.raises(ActionFailedError) as caught:
        harness.image.wait(pending(), poll=1)
    assert caught.value.action.status == "errored"
    assert caught.value.action.id == 99


def test_unknown_status_keeps_polling(make_driver: MakeDriver) -> None:
    """A status the SDK does not know is neither success nor failure: polling goes on."""
    harness = make_driver(statuses("queued", "pending-approval", "completed"))
    seen: list[object] = []
    result = harness.image.wait(pending(), poll=1, on_update=lambda a: seen.append(a.status))
    assert result.status == "completed"
    assert seen[:2] == ["queued", "pending-approval"]
    assert type(seen[0]) is str


def test_wait_times_out_with_last_action(make_driver: MakeDriver) -> None:
    """After ``timeout`` seconds ``ActionTimeoutError`` carries the last action seen."""
    harness = make_driver(statuses("in-progress"))
    with pytest.raises(ActionTimeoutError) as caught:
        harness.image.wait(pending(), poll=5, timeout=12)
    assert caught.value.action.status == "in-progress"
    assert harness.sleeps == [5, 5, 2]
    assert sum(harness.sleeps) == 12
    assert len(harness.requests) == 3


def test_completed_action_returns_without_polling(make_driver: MakeDriver) -> None:
    """Waiting on an action that is already completed sends nothing."""
    harness = make_driver(statuses("completed"))
    done = Action.model_validate(action_payload(99, 7, "completed"))
    assert harness.image.wait(done) == done
    assert harness.requests == []


@pytest.mark.parametrize("method", ["transfer", "convert"])
def test_action_with_wait_true_polls_to_completion(make_driver: MakeDriver, method: str) -> None:
    """``wait=True`` on an action returns the completed action."""
    harness = make_driver(statuses("in-progress", "completed"))
    args = (7, "nyc3") if method == "transfer" else (7,)
    result = getattr(harness.image, method)(*args, wait=True, poll=1)
    assert result.status == "completed"
    assert [r.method for r in harness.requests] == ["POST", "GET", "GET"]


@pytest.mark.parametrize("method", ["transfer", "convert"])
def test_action_with_wait_true_raises_on_timeout(make_driver: MakeDriver, method: str) -> None:
    """``wait=True`` gives up after ``timeout`` with ``ActionTimeoutError``."""
    harness = make_driver(statuses("in-progress"))
    args = (7, "nyc3") if method == "transfer" else (7,)
    with pytest.raises(ActionTimeoutError):
        getattr(harness.image, method)(*args, wait=True, poll=10, timeout=30)
    assert sum(harness.sleeps) == 30


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"poll": 0.5}, ValueError),
        ({"poll": 0}, ValueError),
        ({"poll": float("nan")}, ValueError),
        ({"timeout": 0}, ValueError),
        ({"timeout": -1}, ValueError),
        ({"timeout": float("inf")}, ValueError),
        ({"poll": "5"}, TypeError),
        ({"poll": True}, TypeError),
        ({"on_update": "print"}, TypeError),
    ],
)
def test_bad_wait_arguments_are_refused(
    make_driver: MakeDriver, kwargs: dict[str, object], error: type[Exception]
) -> None:
    """``poll`` under 1 s, a non-positive or non-finite ``timeout`` are refused before polling."""
    harness = make_driver(statuses("completed"))
    with pytest.raises(error):
        harness.image.wait(pending(), **kwargs)  # type: ignore[arg-type]
    assert harness.requests == []


def test_wait_refuses_what_is_not_an_action(make_driver: MakeDriver) -> None:
    """Passing a dict or an action without a resource id fails before any request."""
    harness = make_driver(statuses("completed"))
    with pytest.raises(TypeError):
        harness.image.wait(action_payload(99, 7))  # type: ignore[arg-type]
    orphan = Action.model_validate(action_payload(99, 7) | {"resource_id": None})
    with pytest.raises(ValueError, match="resource_id"):
        harness.image.wait(orphan)
    assert harness.requests == []
