"""``do.droplet.snapshot``: the image it returns (found when the listing lags, when two
snapshots share a name or a second), the POST never sent twice, a busy droplet, and the
listing, info, actions and snapshots of droplets; both clients, against the sandbox
in-process and served over HTTP on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest

from do_images import (
    Action,
    ActionFailedError,
    AsyncClient,
    Client,
    DropletBusyError,
    Image,
    SnapshotNotFoundError,
    UnknownOutcomeError,
    UnprocessableEntityError,
)
from do_images.testing import Sandbox
from sandbox_support import assert_spec_valid
from support import SANDBOX_START, TOKEN, Driver, driver

WEB_01 = 3164494  # active, nyc3, tagged web: a 30 s snapshot
DB_01 = 3164497  # active, fra1: a 25 min snapshot
WORKER_01 = 3164498  # off
POST = "dropletActions_post"
START = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)  # after the seed's history
WHERE = ("in-process", "served")


@contextmanager
def connected(sandbox: Sandbox, kind: str, where: str) -> Iterator[Driver]:
    """A driver of ``kind`` on ``sandbox``, in-process or over HTTP on loopback; every
    response the sandbox gave is checked against the spec afterwards."""
    if where == "in-process":
        client: Client | AsyncClient = (
            sandbox.client() if kind == "sync" else sandbox.async_client()
        )
        with driver(kind, client=client) as made:
            yield made
    else:
        with sandbox.serve() as base_url:

            async def advance(seconds: float) -> None:
                sandbox.advance(seconds)

            if kind == "sync":
                client = Client(
                    TOKEN, base_url=base_url, sleep=sandbox.advance, clock=sandbox.clock
                )
            else:
                client = AsyncClient(TOKEN, base_url=base_url, sleep=advance, clock=sandbox.clock)
            with driver(kind, client=client) as made:
                yield made
    assert_spec_valid(sandbox)


@pytest.fixture(params=WHERE)
def where(request: pytest.FixtureRequest) -> str:
    """Each test using this runs against the sandbox in-process and served over HTTP."""
    value: str = request.param
    return value


def posts(sandbox: Sandbox, droplet_id: int) -> list[str]:
    """The ``type`` of every droplet action POSTed to ``droplet_id``, in order."""
    return [
        json.loads(request.body)["type"]
        for request in sandbox.requests
        if request.operation == POST and request.path == f"/v2/droplets/{droplet_id}/actions"
    ]


# ------------------------------------------------------------------ the image


def test_snapshot_returns_the_image_whole(kind: str, where: str) -> None:
    """``snapshot`` waits and returns the image as ``image.info`` gives it (status, tags),
    named by default after the droplet and the server's UTC time, not the action."""
    sandbox = Sandbox(start=START)
    with connected(sandbox, kind, where) as do:
        image = do.droplet.snapshot(WEB_01)
        assert isinstance(image, Image)
        assert image == do.image.info(image.id)
        assert (image.type, image.status) == ("snapshot", "available")
        assert image.name == "web-01-20261206-120000"
        assert image.id in (do.droplet.info(WEB_01).snapshot_ids or [])
    assert posts(sandbox, WEB_01) == ["snapshot"]


def test_no_wait_returns_the_action_and_snapshot_image_finds_its_image(
    kind: str, where: str
) -> None:
    """``wait=False`` returns the in-progress droplet action; ``snapshot_image`` waits for
    it (polling the droplet's action path) and returns the image it made."""
    sandbox = Sandbox(start=START)
    with connected(sandbox, kind, where) as do:
        action = do.droplet.snapshot(WEB_01, "before-upgrade", wait=False)
        assert isinstance(action, Action)
        assert (action.type, action.status, action.resource_id) == (
            "snapshot",
            "in-progress",
            WEB_01,
        )
        image = do.droplet.snapshot_image(action, poll=5)
        assert image.name == "before-upgrade"
    polled = {r.path for r in sandbox.requests if r.operation == "dropletActions_get"}
    assert polled == {f"/v2/droplets/{WEB_01}/actions/{action.id}"}


@pytest.mark.parametrize("lag", [20.0, 290.0])
def test_the_image_is_found_when_the_listing_lags(kind: str, where: str, lag: float) -> None:
    """A completed snapshot whose image shows in the droplet's listing only later is read
    again every ``poll`` until it shows (within 5 minutes)."""
    sandbox = Sandbox(start=START, snapshot_image_lag=lag)
    with connected(sandbox, kind, where) as do:
        image = do.droplet.snapshot(WEB_01, "lagging", poll=10)
        assert image.name == "lagging"
    reads = sandbox.count(operation="droplets_list_snapshots")
    assert reads >= 2


def test_an_image_that_never_shows_is_snapshot_not_found(kind: str, where: str) -> None:
    """A listing that still lacks the image 5 minutes after the snapshot completed raises
    ``SnapshotNotFoundError`` with the completed action and the droplet."""
    sandbox = Sandbox(start=START, snapshot_image_lag=900)
    with connected(sandbox, kind, where) as do, pytest.raises(SnapshotNotFoundError) as caught:
        do.droplet.snapshot(WEB_01, "never", poll=30)
    error = caught.value
    assert (error.droplet_id, error.action.status, error.action.type) == (
        WEB_01,
        "completed",
        "snapshot",
    )
    completed = error.action.completed_at
    assert completed is not None
    waited = sandbox.now - completed
    assert timedelta(seconds=300) <= waited < timedelta(seconds=340)


def test_two_snapshots_with_one_name_are_told_apart_by_time(kind: str, where: str) -> None:
    """An older snapshot of the droplet with the same name is not the one returned: the
    image is the one made at the action's ``started_at``."""
    sandbox = Sandbox(start=START)
    old = sandbox.add_image(  # a higher id than the new one: newer by id, older by time
        "nightly", droplet_id=WEB_01, created_at=START - timedelta(days=1), id=999000001
    )
    with connected(sandbox, kind, where) as do:
        image = do.droplet.snapshot(WEB_01, "nightly")
    assert image.name == "nightly"
    assert image.id != old.id
    assert image.created_at == START


def test_two_snapshots_of_one_second_are_told_apart_by_name(kind: str, where: str) -> None:
    """Another snapshot of the droplet made in the same second (by someone else) is not
    the one returned: the name tells them apart."""
    sandbox = Sandbox(start=START)
    other = sandbox.add_image("someone-elses", droplet_id=WEB_01, created_at=START)
    with connected(sandbox, kind, where) as do:
        image = do.droplet.snapshot(WEB_01, "mine")
        action = do.droplet.snapshot(WEB_01, "mine-too", wait=False)
        clash = sandbox.add_image(
            "clash", droplet_id=WEB_01, created_at=action.started_at, id=other.id + 1000
        )
        later = do.droplet.snapshot_image(action, name="mine-too")
    assert (image.name, later.name) == ("mine", "mine-too")
    assert other.id != image.id
    assert clash.id != later.id


def test_snapshot_image_without_a_name_matches_by_time(kind: str) -> None:
    """``snapshot_image(action)`` with no name finds the snapshot made at ``started_at``,
    passing over older snapshots and backups of the droplet."""
    sandbox = Sandbox(start=START)
    with connected(sandbox, kind, "in-process") as do:
        action = do.droplet.snapshot(DB_01, "db", wait=False)
        image = do.droplet.snapshot_image(action)
    assert (image.name, image.created_at) == ("db", action.started_at)


def test_the_droplet_listing_reads_every_page(kind: str) -> None:
    """``snapshots`` returns every snapshot and backup of a droplet across pages, as the
    API lists them; ``actions`` every action, newest first."""
    sandbox = Sandbox(start=START)
    for number in range(205):
        sandbox.add_image(
            f"old-{number}",
            droplet_id=WEB_01,
            created_at=START - timedelta(hours=number + 1),
        )
    with connected(sandbox, kind, "in-process") as do:
        items = do.droplet.snapshots(WEB_01)
        image = do.droplet.snapshot(WEB_01, "newest")
        actions = do.droplet.actions(WEB_01)
    assert len(items) == 206  # the seed's one, and these
    assert sandbox.count(operation="droplets_list_snapshots") >= 4
    assert image.name == "newest"
    assert actions[0].type == "snapshot"
    assert actions[0].status == "completed"


# ------------------------------------------------------------------ never twice


def test_a_lost_answer_is_adopted_never_resent(kind: str, where: str) -> None:
    """A snapshot POST whose answer is lost is looked up in the droplet's actions and
    adopted: one POST, one action, the image returned."""
    sandbox = Sandbox(start=START)
    sandbox.drop_next(method="POST")
    with connected(sandbox, kind, where) as do:
        before = do.droplet.actions(WEB_01)
        image = do.droplet.snapshot(WEB_01, "adopted")
        after = do.droplet.actions(WEB_01)
    assert image.name == "adopted"
    assert sandbox.count("POST", operation=POST) == 1
    assert [a.id for a in after[1:]] == [a.id for a in before]
    assert after[0].type == "snapshot"
    assert image.created_at == after[0].started_at


def test_an_ambiguous_failure_with_nothing_started_is_unknown_outcome(
    kind: str, where: str
) -> None:
    """A 5xx to the snapshot POST with no snapshot among the droplet's actions raises
    ``UnknownOutcomeError``; the POST is not sent again."""
    sandbox = Sandbox(start=START)
    sandbox.fail_next(503, method="POST")
    with connected(sandbox, kind, where) as do, pytest.raises(UnknownOutcomeError):
        do.droplet.snapshot(WEB_01, "maybe")
    assert sandbox.count("POST", operation=POST) == 1
    assert sandbox.count(operation="dropletActions_list") >= 1


@pytest.mark.parametrize("start", [SANDBOX_START, START], ids=["before-the-seed", "after-it"])
def test_a_lookup_never_adopts_a_seeded_action(kind: str, where: str, start: datetime) -> None:
    """Whatever the sandbox's start, a 5xx to the snapshot POST is ``UnknownOutcomeError``:
    the seeded snapshot of web-01 is never dated after the start, so never adopted."""
    sandbox = Sandbox(start=start)
    sandbox.fail_next(503, method="POST")
    with connected(sandbox, kind, where) as do, pytest.raises(UnknownOutcomeError):
        do.droplet.snapshot(WEB_01, "fresh", wait=False)
    assert sandbox.count("POST", operation=POST) == 1


# ------------------------------------------------------------------ a busy droplet


def test_a_busy_droplet_is_droplet_busy_error(kind: str, where: str) -> None:
    """A second action while a snapshot runs is the API's 422, raised as
    ``DropletBusyError`` (an ``UnprocessableEntityError``) naming the droplet."""
    sandbox = Sandbox(start=START)
    with connected(sandbox, kind, where) as do:
        do.droplet.snapshot(WEB_01, wait=False)
        with pytest.raises(DropletBusyError) as caught:
            do.droplet.snapshot(WEB_01, "second")
        with pytest.raises(DropletBusyError):
            do.droplet.power_on(WEB_01)
    error = caught.value
    assert isinstance(error, UnprocessableEntityError)
    assert (error.droplet_id, error.status_code) == (WEB_01, 422)
    assert "pending event" in str(error)
    assert posts(sandbox, WEB_01) == ["snapshot", "snapshot", "power_on"]


def test_another_422_stays_unprocessable(kind: str) -> None:
    """A 422 that is not about a pending event stays an ``UnprocessableEntityError``."""
    sandbox = Sandbox(start=START)
    sandbox.fail_next(422, method="POST")
    with (
        connected(sandbox, kind, "in-process") as do,
        pytest.raises(UnprocessableEntityError) as caught,
    ):
        do.droplet.snapshot(WEB_01, "x")
    assert not isinstance(caught.value, DropletBusyError)


def test_an_errored_snapshot_raises_action_failed(kind: str, where: str) -> None:
    """An errored snapshot raises ``ActionFailedError`` carrying the droplet's action."""
    sandbox = Sandbox(start=START)
    sandbox.fail_next_snapshot()
    with connected(sandbox, kind, where) as do, pytest.raises(ActionFailedError) as caught:
        do.droplet.snapshot(WEB_01, "doomed")
    assert (caught.value.action.status, caught.value.action.resource_id) == ("errored", WEB_01)
    assert "droplet 3164494" in str(caught.value)


# ------------------------------------------------------------------ lists


def test_list_info_and_the_snapshots_api(kind: str, where: str) -> None:
    """``droplet.list(tag_name=)``, ``iter``, ``info`` and ``snapshot.list/info/destroy``
    read and delete what the sandbox holds."""
    sandbox = Sandbox(start=START)
    with connected(sandbox, kind, where) as do:
        web = do.droplet.list(tag_name="web")
        every = list(do.droplet.iter(per_page=2))
        assert {d.name for d in web} == {"web-01", "web-02", "web-03"}
        assert len(every) == len(do.droplet.list()) >= 5
        assert do.droplet.info(WORKER_01).status == "off"
        snapshots = do.snapshot.list("droplet")
        assert {s.resource_type for s in snapshots} == {"droplet"}
        first = snapshots[0]
        assert do.snapshot.info(first.id) == first
        assert do.snapshot.info(int(first.id)) == first
        do.snapshot.destroy(first.id)
        assert first.id not in {s.id for s in do.snapshot.list()}


@pytest.mark.parametrize(
    "bad",
    ["../images/7", "7/actions", "", "0", "-3", "abc", "1e5", "7 ", 0, -1, True, 1.5, None],
)
def test_a_snapshot_id_is_one_path_segment(kind: str, bad: object) -> None:
    """``snapshot.info``/``destroy`` take a positive int or a ``Snapshot.id`` string (digits
    or a UUID); anything else is refused before any request."""
    sandbox = Sandbox(start=START)
    with connected(sandbox, kind, "in-process") as do:
        for method in (do.snapshot.info, do.snapshot.destroy):
            with pytest.raises((ValueError, TypeError)):
                method(bad)  # type: ignore[arg-type]
    assert sandbox.requests == []


@pytest.mark.parametrize("bad", ["7", 0, True, -1, 1.0])
def test_a_droplet_id_is_checked_before_any_request(kind: str, bad: object) -> None:
    """Droplet ids are positive ints, refused otherwise before any request is sent."""
    sandbox = Sandbox(start=START)
    with connected(sandbox, kind, "in-process") as do:
        for call in (
            lambda: do.droplet.info(bad),  # type: ignore[arg-type]
            lambda: do.droplet.snapshot(bad),  # type: ignore[call-overload]
            lambda: do.droplet.actions(bad),  # type: ignore[arg-type]
            lambda: do.droplet.power_on(bad),  # type: ignore[arg-type]
        ):
            with pytest.raises((ValueError, TypeError)):
                call()
    assert sandbox.requests == []


def test_power_off_needs_wait(kind: str) -> None:
    """``power_off=True`` with ``wait=False`` is refused before any request: the droplet
    is powered on again only once the snapshot ended."""
    sandbox = Sandbox(start=START)
    with connected(sandbox, kind, "in-process") as do, pytest.raises(ValueError, match="wait"):
        do.droplet.snapshot(WEB_01, wait=False, power_off=True)
    assert sandbox.requests == []


def test_the_uuid_of_a_volume_snapshot_is_one_segment() -> None:
    """A volume snapshot's UUID is sent as it is, as one path segment."""
    from do_images._snapshots import check_snapshot_id

    uuid = "fbe805e8-866b-11e6-96bf-000f53315a41"
    assert check_snapshot_id(uuid) == uuid
    assert check_snapshot_id(180040001) == "180040001"


def test_the_default_name_uses_the_servers_utc_time() -> None:
    """The default name is ``{droplet name}-{UTC YYYYMMDD-HHMMSS}``."""
    from do_images import Droplet
    from do_images._snapshotting import default_name

    droplet = Droplet.model_validate({"id": 1, "name": "web-01"})
    when = datetime(2026, 12, 6, 2, 3, 4, tzinfo=timezone.utc)
    assert default_name(droplet, when) == "web-01-20261206-020304"
