"""Answers that do not parse (a proxy's page in the API's place) never lose started work.

A poll answered 200 with a body that is not JSON is a passing failure, like a 5xx: the
wait goes on to its deadline, and the parse error is the timeout's cause if the deadline
comes first. A POST answered so counts as a lost answer: the action is looked up, never
blindly sent again, and a POST with nothing to look up raises ``UnknownOutcomeError``.
"""

from __future__ import annotations

import pytest

from do_images import (
    ActionTimeoutError,
    DistributionError,
    ImageTimeoutError,
    ResponseValidationError,
    UnknownOutcomeError,
)
from do_images.testing import Sandbox
from support import Driver

SNAPSHOT = 180040001  # a private snapshot in nyc3 (seeded)
BACKUP = 180040003  # a private backup (seeded)


def garbled(sandbox: Sandbox) -> int:
    return sum(request.garbled for request in sandbox.requests)


def test_a_garbled_poll_does_not_end_a_transfer_wait(do: Driver, sandbox: Sandbox) -> None:
    """One poll answered with an HTML page: the wait goes on and returns the completed action."""
    sandbox.garble_next(method="GET")
    action = do.image.transfer(SNAPSHOT, "lon1", wait=True, poll=5, timeout=600)
    assert action.status == "completed"
    assert garbled(sandbox) == 1
    assert sandbox.count("POST") == 1


def test_garbled_polls_do_not_end_a_convert_wait(do: Driver, sandbox: Sandbox) -> None:
    """Several garbled polls in a row only delay the end of ``convert(wait=True)``."""
    sandbox.garble_next(times=4, method="GET")
    action = do.image.convert(BACKUP, wait=True, poll=5, timeout=600)
    assert action.status == "completed"
    assert garbled(sandbox) == 4


def test_a_garbled_poll_does_not_end_wait(do: Driver, sandbox: Sandbox) -> None:
    """``wait(action)`` rides a garbled answer out too."""
    started = do.image.transfer(SNAPSHOT, "sgp1")
    sandbox.garble_next(times=2)
    assert do.image.wait(started, poll=5, timeout=600).status == "completed"


def test_the_parse_error_is_the_timeouts_cause(do: Driver, sandbox: Sandbox) -> None:
    """Garbled to the end: ``ActionTimeoutError`` with the action, caused by the parse error."""
    started = do.image.transfer(SNAPSHOT, "fra1")
    sandbox.garble_next(times=50, method="GET")
    with pytest.raises(ActionTimeoutError) as caught:
        do.image.wait(started, poll=5, timeout=20)
    assert caught.value.action.id == started.id
    assert isinstance(caught.value.__cause__, ResponseValidationError)
    assert caught.value.__cause__.action is not None


def test_a_garbled_poll_does_not_end_wait_image(do: Driver, sandbox: Sandbox) -> None:
    """An import's wait rides out a garbled poll and returns the available image."""
    image = do.image.create("web", "https://example.com/web.qcow2", "nyc3")
    sandbox.garble_next(times=2, method="GET")
    assert do.image.wait_image(image, poll=10, timeout=600).status == "available"


def test_create_wait_times_out_with_the_image(do: Driver, sandbox: Sandbox) -> None:
    """Garbled to the deadline: ``ImageTimeoutError`` carries the image and the parse error."""
    sandbox.garble_next(times=50, method="GET")
    with pytest.raises(ImageTimeoutError) as caught:
        do.image.create("web", "https://example.com/w.qcow2", "nyc3", wait=True, timeout=30)
    assert caught.value.image is not None
    assert caught.value.image.name == "web"
    assert isinstance(caught.value.__cause__, ResponseValidationError)


def test_distribute_rides_out_garbled_lists(do: Driver, sandbox: Sandbox) -> None:
    """Every transfer starts once and completes; the garbled list polls are ridden out."""
    before = sandbox.count("POST")

    def garble_polls(action: object) -> None:
        sandbox.garble_next(method="GET")  # the next list poll is a proxy's page

    actions = do.image.distribute(SNAPSHOT, ["lon1", "sgp1"], poll=10, on_update=garble_polls)
    assert sorted(actions) == ["lon1", "sgp1"]
    assert all(action.status == "completed" for action in actions.values())
    assert sandbox.count("POST") - before == 2
    assert garbled(sandbox) >= 2


def test_distribute_timeout_keeps_every_action(do: Driver, sandbox: Sandbox) -> None:
    """Garbled to the deadline: ``DistributionError`` holds each started action and a timeout."""

    def garble_from_now(action: object) -> None:
        sandbox.garble_next(times=100, method="GET")

    with pytest.raises(DistributionError) as caught:
        do.image.distribute(
            SNAPSHOT, ["lon1", "sgp1"], poll=10, timeout=30, on_update=garble_from_now
        )
    assert sorted(caught.value.actions) == ["lon1", "sgp1"]
    for region, error in caught.value.errors.items():
        assert isinstance(error, ActionTimeoutError)
        assert error.action.id == caught.value.actions[region].id
        assert isinstance(error.__cause__, ResponseValidationError)


def test_a_garbled_answer_to_the_action_post_is_looked_up(do: Driver, sandbox: Sandbox) -> None:
    """The transfer was made; its answer is a proxy's page: found again, never sent twice."""
    sandbox.garble_next(method="POST")
    action = do.image.transfer(SNAPSHOT, "lon1", wait=True)
    assert action.status == "completed"
    assert action.region_slug == "lon1"
    assert sandbox.count("POST", "imageActions_post") == 1
    assert sandbox.count("GET", "imageActions_list") >= 1


def test_a_garbled_answer_to_create_is_an_unknown_outcome(do: Driver, sandbox: Sandbox) -> None:
    """An import answered with a page may have started: ``UnknownOutcomeError``, sent once."""
    sandbox.garble_next(method="POST")
    with pytest.raises(UnknownOutcomeError) as caught:
        do.image.create("web", "https://example.com/web.qcow2", "nyc3")
    assert isinstance(caught.value.__cause__, ResponseValidationError)
    assert sandbox.count("POST", "images_create_custom") == 1
    assert [i.name for i in sandbox.images if i.name == "web"] == ["web"]  # it was made


def test_a_garbled_answer_to_an_account_transfer_is_never_resent(
    do: Driver, sandbox: Sandbox
) -> None:
    """The account-transfer POST has no lookup: ``UnknownOutcomeError``, one POST."""
    bob = sandbox.account("bob")
    sandbox.garble_next(method="POST")
    with pytest.raises(UnknownOutcomeError):
        do.image.transfer_to_account(SNAPSHOT, email=bob.email)
    assert sandbox.count("POST", "images_post_account_transfer_create") == 1
    assert [t.state for t in sandbox.account_transfers] == ["pending"]
