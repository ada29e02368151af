"""The same snippets against doboto 0.6.1's ``DO`` and ``do_images.legacy.DO``, on one
served sandbox: where they must agree the test says so; where legacy is deliberately
better, the test pins the better behaviour."""

from __future__ import annotations

import copy
import json
import types
from collections.abc import Callable, Iterator
from typing import Any

import doboto.Endpoint
import pytest
from doboto.DO import DO as DobotoDO
from doboto.exception import DOBOTOException as OldException
from doboto.exception import DOBOTONotFoundException as OldNotFound
from doboto.exception import DOBOTOPollingException as OldPolling

from do_images import ActionFailedError, NotFoundError
from do_images.legacy import (
    DO,
    DOBOTOException,
    DOBOTONotFoundException,
    DOBOTOPollingException,
    Result,
)
from do_images.testing import Sandbox

SNAPSHOT = 180040001  # private snapshot in nyc3
BACKUP = 180040003  # private backup
UBUNTU_SLUG = "ubuntu-24-04-x64"
TOKEN = "dop_v1_" + "d0b0" * 16

Pair = tuple[Any, DO]


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(requests_per_minute=None)


@pytest.fixture
def pair(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    """doboto's DO and legacy's DO on one served sandbox, both waiting on its clock."""
    # doboto sleeps and times its waits with the time module: give it the sandbox's.
    monkeypatch.setattr(
        doboto.Endpoint, "time", types.SimpleNamespace(sleep=sandbox.advance, time=sandbox.clock)
    )
    with sandbox.serve() as base:
        old = DobotoDO(TOKEN, url=f"{base}/v2/", agent="my-tool")
        new = DO(
            TOKEN, url=f"{base}/v2/", agent="my-tool", sleep=sandbox.advance, clock=sandbox.clock
        )
        try:
            yield old, new
        finally:
            new.close()


def both(pair: Pair, snippet: Callable[[Any], Any]) -> tuple[Any, Any]:
    old, new = pair
    return snippet(old), snippet(new)


def ordered(value: Any) -> Any:
    """``value`` with every dict as its list of items, so key order is compared too."""
    if isinstance(value, dict):
        return [(key, ordered(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [ordered(item) for item in value]
    return value


# ------------------------------------------------------------------ reading


@pytest.mark.parametrize(
    "snippet",
    [
        lambda do: do.image.list(),
        lambda do: do.image.list(private=True),
        lambda do: do.image.list(type="distribution"),
        lambda do: do.image.list(type="application"),
        lambda do: do.image.info(SNAPSHOT),
        lambda do: do.image.info(str(SNAPSHOT)),
        lambda do: do.image.info(UBUNTU_SLUG),
        lambda do: do.image.action_list(SNAPSHOT),
    ],
    ids=["list", "private", "distribution", "application", "info", "info-str", "slug", "actions"],
)
def test_reads_agree_to_the_key_order_and_number(pair: Pair, snippet: Callable[[Any], Any]) -> None:
    """The same dicts, keys in the API's order, numbers as sent (``20``, not ``20.0``)."""
    old, new = both(pair, snippet)
    assert new == old
    assert ordered(new) == ordered(old)
    assert json.dumps(new) == json.dumps(old)
    assert str(new) == str(old)


def test_results_are_real_dicts_with_the_model_behind(pair: Pair) -> None:
    """``isinstance(dict)``, comparable with a literal, and the typed model reachable."""
    _, new = pair
    image = new.image.info(SNAPSHOT)
    assert isinstance(image, dict)
    assert isinstance(image, Result)
    assert image == json.loads(json.dumps(image))
    assert image.model.id == image["id"] == SNAPSHOT
    assert isinstance(image["min_disk_size"], int)


def test_results_can_be_changed_as_doboto_callers_do(pair: Pair) -> None:
    """Item assignment, ``copy()``, ``update()`` and appending to nested lists all stick."""

    def change(do: Any) -> Any:
        image = do.image.info(SNAPSHOT)
        image["name"] = "x"
        clone = image.copy()
        clone.update({"extra": 1})
        image["regions"].append("zz9")
        deep = copy.deepcopy(image)
        return image, clone, deep

    old, new = both(pair, change)
    assert ordered(new) == ordered(old)
    assert new[0]["regions"][-1] == "zz9"


def test_action_info_by_account_action_id(pair: Pair, sandbox: Sandbox) -> None:
    """``do.action.info(id)`` (``GET /v2/actions/{id}``), which doboto waits poll with."""
    action_id = sandbox.actions[0].id
    old, new = both(pair, lambda do: do.action.info(action_id))
    assert ordered(new) == ordered(old)
    assert new == pair[1].action.info(str(action_id))


def test_the_agent_is_the_whole_user_agent(pair: Pair, sandbox: Sandbox) -> None:
    """``agent`` is sent as the User-Agent, word for word, by both."""
    both(pair, lambda do: do.image.info(SNAPSHOT))
    agents = [dict(request.headers)["user-agent"] for request in sandbox.requests]
    assert agents == ["my-tool", "my-tool"]


# ------------------------------------------------------------------ changing


def test_update_agrees(pair: Pair) -> None:
    """``update(id, name)`` returns the same renamed image (ids as str work on legacy)."""
    old = pair[0].image.update(SNAPSHOT, "renamed")
    new = pair[1].image.update(str(SNAPSHOT), "renamed")
    assert ordered(new) == ordered(old)


def test_destroy_returns_none_for_both(pair: Pair, sandbox: Sandbox) -> None:
    """``destroy`` returns ``None``; legacy takes the id as a string too."""
    first, second = [
        image.id for image in sandbox.images if not image.public and image.type == "snapshot"
    ][:2]
    assert pair[0].image.destroy(first) is None
    pair[1].image.destroy(str(second))
    assert {first, second}.isdisjoint(image.id for image in sandbox.images)


def test_transfer_started_agrees_but_for_its_id(pair: Pair) -> None:
    """Without waiting, both return the in-progress action in the API's key order."""
    old = pair[0].image.transfer(SNAPSHOT, "lon1")
    new = pair[1].image.transfer(SNAPSHOT, "sgp1")
    assert list(new) == list(old)
    assert (old["status"], new["status"]) == ("in-progress", "in-progress")


@pytest.mark.parametrize("poll", [0.5, 0, 1])
def test_transfer_and_wait_agree_and_a_short_poll_is_raised_to_one_second(
    pair: Pair, sandbox: Sandbox, poll: float
) -> None:
    """With ``wait=True`` both return the completed action; ``poll`` under 1 s becomes 1 s."""
    old = pair[0].image.transfer(SNAPSHOT, "lon1", wait=True, poll=poll)
    new = pair[1].image.transfer(SNAPSHOT, "sgp1", wait=True, poll=poll)
    assert (old["status"], new["status"]) == ("completed", "completed")
    assert list(new) == list(old)


def test_convert_and_wait_agree(pair: Pair, sandbox: Sandbox) -> None:
    """``convert`` of a backup completes on both."""
    other = sandbox.add_image("second backup", type="backup")
    old = pair[0].image.convert(BACKUP, wait=True)
    new = pair[1].image.convert(str(other.id), wait=True)
    assert (old["type"], old["status"]) == (new["type"], new["status"]) == ("convert", "completed")


# ------------------------------------------------------------------ failing


def test_not_found_is_caught_the_doboto_way_and_str_works_on_legacy(pair: Pair) -> None:
    """Both raise ``DOBOTONotFoundException``; doboto's ``str(exc)`` crashes, legacy's reads."""
    old, new = pair
    with pytest.raises(OldNotFound) as doboto_error:
        old.image.info(999)
    with pytest.raises(AttributeError):
        str(doboto_error.value)  # doboto 0.6.1 on Python 3: no .result, no .message
    with pytest.raises(DOBOTONotFoundException) as caught:
        new.image.info(999)
    assert "could not be found" in str(caught.value)
    assert caught.value.message
    assert caught.value.result["id"] == "not_found"  # type: ignore[attr-defined]


def test_destroy_of_a_missing_image_is_the_not_found_exception(pair: Pair) -> None:
    """doboto raises its base class with the body; legacy raises the 404 one (a subclass)."""
    old, new = pair
    with pytest.raises(OldException) as doboto_error:
        old.image.destroy(999)
    assert type(doboto_error.value) is OldException
    with pytest.raises(DOBOTONotFoundException) as caught:
        new.image.destroy("999")
    assert isinstance(caught.value, DOBOTOException)
    result = getattr(caught.value, "result")  # noqa: B009  (set by legacy, not declared)
    assert {key: result[key] for key in ("id", "message")} == {
        key: doboto_error.value.result[key] for key in ("id", "message")
    }


def test_an_errored_action_raises_on_legacy_where_doboto_returned_it(
    pair: Pair, sandbox: Sandbox
) -> None:
    """doboto returns the errored action as if it had worked; legacy raises with it."""
    sandbox.error_next_action()
    old = pair[0].image.transfer(SNAPSHOT, "lon1", wait=True)
    assert old["status"] == "errored"
    sandbox.error_next_action()
    with pytest.raises(DOBOTOException) as caught:
        pair[1].image.transfer(SNAPSHOT, "sgp1", wait=True)
    assert isinstance(caught.value, ActionFailedError)
    result = caught.value.result  # type: ignore[attr-defined]
    assert result["status"] == "errored"
    assert list(result) == list(old)
    str(caught.value)


def test_a_timeout_has_dobotos_polling_and_error(pair: Pair, sandbox: Sandbox) -> None:
    """``DOBOTOPollingException`` with ``.polling`` (the last action, a dict) and ``.error``."""
    # The sandbox's actions take 30 s; the timeout is 5 s.
    with pytest.raises(OldPolling) as doboto_error:
        pair[0].image.transfer(SNAPSHOT, "lon1", wait=True, poll=1, timeout=5)
    with pytest.raises(DOBOTOPollingException) as caught:
        pair[1].image.transfer(SNAPSHOT, "sgp1", wait=True, poll=1, timeout=5)
    old_polling = doboto_error.value.polling
    new_polling: dict[str, Any] = caught.value.polling  # type: ignore[attr-defined]
    assert isinstance(new_polling, dict)
    assert list(new_polling) == list(old_polling)
    assert new_polling["status"] == old_polling["status"] == "in-progress"
    assert caught.value.error is doboto_error.value.error is None  # type: ignore[attr-defined]


def test_a_5xx_on_a_get_is_retried_by_legacy_only(pair: Pair, sandbox: Sandbox) -> None:
    """doboto fails on one 503; legacy retries the GET and answers."""
    sandbox.fail_next(503)
    with pytest.raises(OldException) as doboto_error:
        pair[0].image.info(SNAPSHOT)
    assert doboto_error.value.result["id"] == "service_unavailable"
    sandbox.fail_next(503)
    assert pair[1].image.info(SNAPSHOT)["id"] == SNAPSHOT


def test_a_lost_answer_to_a_transfer_is_not_sent_twice_by_legacy(
    pair: Pair, sandbox: Sandbox
) -> None:
    """A POST whose answer is lost is looked up, not re-sent: one transfer starts."""
    sandbox.drop_next(method="POST")
    action = pair[1].image.transfer(SNAPSHOT, "lon1")
    assert action["region_slug"] == "lon1"
    assert [a.region_slug for a in sandbox.actions].count("lon1") == 1


def test_private_as_a_string_and_ids_as_strings(pair: Pair) -> None:
    """``private="true"`` lists the user's images; every id may be a string of digits."""
    old = pair[0].image.list(private=True)
    new = pair[1].image.list(private="true")
    assert ordered(new) == ordered(old)


def test_action_info_with_ids_as_strings(pair: Pair, sandbox: Sandbox) -> None:
    """``action_info("id", "action id")`` reads what ``action_info(id, action_id)`` does."""
    started = pair[1].image.transfer(SNAPSHOT, "lon1")
    old = pair[0].image.action_info(SNAPSHOT, started["id"])
    new = pair[1].image.action_info(str(SNAPSHOT), str(started["id"]))
    assert ordered(new) == ordered(old)


def test_an_id_that_is_not_a_number_is_refused_before_sending(pair: Pair, sandbox: Sandbox) -> None:
    """``"7a"`` or a bool is refused by legacy without a request."""
    before = len(sandbox.requests)
    with pytest.raises(ValueError, match="not a number"):
        pair[1].image.destroy("7a")
    with pytest.raises(TypeError):
        pair[1].image.destroy(True)
    assert len(sandbox.requests) == before
    with pytest.raises(NotFoundError):
        pair[1].image.info("999")
