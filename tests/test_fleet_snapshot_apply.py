"""Scheduled snapshots applied on both clients against the sandbox: the schedule, the
per-droplet gate on deletions, busy and errored and timed-out snapshots, ``wait=False``,
``max_delete`` with snapshots, and the requests against ``plan.estimate``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from do_images import AsyncClient, Client, FleetError
from do_images.fleet import FleetReport
from do_images.testing import SANDBOX_BASE_URL, SANDBOX_TOKEN, Sandbox, SandboxTransport
from do_images.testing._sandbox import Reply
from fleet_snapshot_support import DAY, START, WEB, fleet, made, owned, start_action, world
from fleet_support import hooked_client
from support import Driver, driver


@pytest.fixture
def sandbox() -> Sandbox:
    return world()


@pytest.fixture
def do(kind: str, sandbox: Sandbox) -> Iterator[Driver]:
    client = sandbox.client() if kind == "sync" else sandbox.async_client()
    with driver(kind, client=client) as made_:
        yield made_


def run(do: Driver, **group: object) -> FleetReport:
    """Plan the fleet, apply the plan."""
    report: FleetReport = do.image.apply_fleet(do.image.plan_fleet(fleet(**group)))
    return report


def outcomes(report: FleetReport) -> dict[tuple[str, int | None, int | None], str]:
    return {
        (r.entry.action, r.entry.droplet_id, r.entry.image_id): r.outcome for r in report.results
    }


def test_a_run_snapshots_each_droplet_tags_and_copies_it(do: Driver, sandbox: Sandbox) -> None:
    """Each tagged droplet gets one snapshot, named by the template, tagged ``backup`` and
    in ``nyc3`` and ``ams3``; the untagged droplet none."""
    report = run(do)
    assert report.ok
    assert [r.outcome for r in report.results] == ["done", "done"]
    for droplet_id in WEB:
        (image,) = owned(sandbox, droplet_id)
        assert image.name == f"web-{droplet_id}-{START:%Y%m%d-%H%M%S}"
        assert sorted(image.regions or []) == ["ams3", "nyc3"]
        assert image.tags == ["backup"]
    assert owned(sandbox, 13) == []
    assert report.results[0].image is not None


def test_cron_firing_twice_makes_one_snapshot_per_droplet(do: Driver, sandbox: Sandbox) -> None:
    """Two applies in a row: the second finds each droplet not due, makes nothing."""
    run(do)
    again = run(do)
    assert again.results == []
    assert [len(owned(sandbox, d)) for d in WEB] == [1, 1]
    assert sandbox.count("POST", "dropletActions_post") == 2


def test_a_day_later_the_next_snapshot_and_keep_prunes(do: Driver, sandbox: Sandbox) -> None:
    """Each day one more snapshot per droplet; with ``keep = 2`` the third day's run
    deletes the first, after its own snapshot completed."""
    for _ in range(3):
        report = run(do)
        assert report.ok
        sandbox.advance(DAY)
    for droplet_id in WEB:
        series = owned(sandbox, droplet_id)
        assert len(series) == 2
        assert series[0].created_at is not None
        assert series[0].created_at > START + timedelta(hours=23)
    assert sandbox.count("DELETE") == 2


def _two_old(sandbox: Sandbox) -> None:
    for droplet_id in WEB:
        made(sandbox, droplet_id, START - timedelta(days=3))
        made(sandbox, droplet_id, START - timedelta(days=2))


def test_an_errored_snapshot_deletes_nothing_of_its_droplet(do: Driver, sandbox: Sandbox) -> None:
    """Replay of do_snapshot's failure: the errored snapshot's droplet keeps both its
    snapshots (its deletion skipped, the report not ok); the other droplet, whose snapshot
    completed, loses its oldest."""
    _two_old(sandbox)
    sandbox.fail_next_snapshot()
    report = run(do)
    assert not report.ok
    failed = [r for r in report.results if r.outcome == "failed"]
    assert [r.entry.action for r in failed] == ["snapshot"]
    bad = failed[0].entry.droplet_id or 0
    good = next(d for d in WEB if d != bad)
    skipped = [r for r in report.results if r.outcome == "skipped"]
    assert [(r.entry.action, r.entry.droplet_id) for r in skipped] == [("delete", bad)]
    assert len(owned(sandbox, bad)) == 2
    assert len(owned(sandbox, good)) == 2
    assert sandbox.count("DELETE") == 1


def test_a_droplet_busy_at_the_post_ends_pending(kind: str, sandbox: Sandbox) -> None:
    """A 422 (another action started just before the snapshot POST) leaves the entry
    ``pending`` (busy), its deletion ``pending``, and the report ok: exit 0."""
    _two_old(sandbox)

    def before(method: str, path: str, body: bytes) -> None:
        if method == "POST" and path == "/v2/droplets/11/actions" and b"snapshot" in body:
            assert start_action(sandbox, 11, "power_on") == 201

    with driver(kind, client=hooked_client(sandbox, before, kind)) as hooked:
        report = run(hooked)
    assert report.ok
    found = {(r.entry.action, r.entry.droplet_id): r for r in report.results}
    assert found[("snapshot", 11)].outcome == "pending"
    assert found[("snapshot", 11)].waits == "busy"
    assert found[("delete", 11)].outcome == "pending"
    assert found[("snapshot", 12)].outcome == "done"
    assert len(owned(sandbox, 11)) == 2


def test_a_droplet_locked_since_the_plan_is_pending_not_stale(do: Driver, sandbox: Sandbox) -> None:
    """A droplet that turned busy between plan and apply is no stale plan: its entry ends
    ``pending`` with no snapshot POST for it."""
    plan = do.image.plan_fleet(fleet())
    assert start_action(sandbox, 11, "power_on") == 201
    report = do.image.apply_fleet(plan)
    assert report.ok
    assert outcomes(report)[("snapshot", 11, None)] == "pending"
    assert sandbox.count("POST", "dropletActions_post") == 2  # the power_on and 12's


class Unlocked:
    """The sandbox, its droplet listings saying ``locked: false`` whatever runs (as a
    listing that lags the droplet's actions would)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def handle(self, method: str, url: httpx.URL, headers: httpx.Headers, body: bytes) -> Reply:
        reply = self.sandbox.handle(method, url, headers, body)
        if method == "GET" and url.path == "/v2/droplets" and reply.status == 200:
            payload = json.loads(reply.body)
            for droplet in payload["droplets"]:
                droplet["locked"] = False
            reply = dataclasses.replace(reply, body=json.dumps(payload).encode())
        return reply


def test_a_snapshot_in_progress_is_not_started_again(kind: str, sandbox: Sandbox) -> None:
    """A snapshot already running on a due droplet (another run's) that the listing does
    not show as locked: seen in the droplet's actions, the entry ends ``pending`` (in
    progress), and no snapshot POST is sent for it."""
    options: dict[str, Any] = {"base_url": SANDBOX_BASE_URL, "clock": sandbox.clock}
    transport = SandboxTransport(Unlocked(sandbox))
    client: Client | AsyncClient
    if kind == "sync":
        client = Client(SANDBOX_TOKEN, sleep=sandbox.advance, transport=transport, **options)
    else:

        async def stepped(seconds: float) -> None:
            sandbox.advance(seconds)

        client = AsyncClient(SANDBOX_TOKEN, sleep=stepped, transport=transport, **options)
    with driver(kind, client=client) as do:
        plan = do.image.plan_fleet(fleet())
        with sandbox.client() as other:
            other.droplet.snapshot(11, name="web-11-20261201-040000", wait=False)
        report = do.image.apply_fleet(plan)
    assert report.ok
    (turn,) = [r for r in report.results if r.entry.droplet_id == 11]
    assert (turn.outcome, turn.waits) == ("pending", "in progress")
    assert sandbox.count("POST", "dropletActions_post") == 2  # the other's, and 12's
    sandbox.advance(3600)
    assert len(owned(sandbox, 11)) == 1


def test_a_snapshot_in_progress_at_the_plan_is_pending(sandbox: Sandbox) -> None:
    """The plan reads a due droplet's actions: a snapshot in progress there makes its
    entry ``pending`` with why, so apply starts none."""
    with sandbox.client() as other:
        other.droplet.snapshot(11, name="manual-11", wait=False)
    transport = SandboxTransport(Unlocked(sandbox))
    with Client(
        SANDBOX_TOKEN, base_url=SANDBOX_BASE_URL, transport=transport, clock=sandbox.clock
    ) as client:
        plan = client.image.plan_fleet(fleet())
    (turn,) = [e for e in plan.entries if e.droplet_id == 11]
    assert turn.action == "pending"
    assert "in progress: not started again" in turn.reason
    assert plan.reads["dropletActions_list"] == 2


def test_a_snapshot_not_done_in_time_is_pending_and_found_next_run(
    do: Driver, sandbox: Sandbox
) -> None:
    """Timed out: ``pending``, nothing deleted, exit 0; the next run finds the snapshot
    (not due), copies and tags it as any kept image, and deletes what ``keep`` says: one
    snapshot in the interval."""
    _two_old(sandbox)
    plan = do.image.plan_fleet(fleet())
    report = do.image.apply_fleet(plan, timeout=20)
    assert report.ok
    assert {r.outcome for r in report.results} == {"pending"}
    assert sandbox.count("DELETE") == 0
    sandbox.advance(3600)
    later = run(do)
    assert later.ok
    assert sorted({r.entry.action for r in later.results}) == ["delete", "tag", "transfer"]
    assert [len(owned(sandbox, d)) for d in WEB] == [2, 2]
    assert all("ams3" in (image.regions or []) for d in WEB for image in owned(sandbox, d))
    assert sandbox.count("POST", "dropletActions_post") == 2


def test_no_wait_starts_the_snapshots_and_deletes_nothing(do: Driver, sandbox: Sandbox) -> None:
    """``wait=False``: the snapshots ``started``, the deletions ``pending``, ok; the next
    run finds them made and prunes."""
    _two_old(sandbox)
    report = do.image.apply_fleet(do.image.plan_fleet(fleet()), wait=False)
    assert report.ok
    assert sorted({r.outcome for r in report.results}) == ["pending", "started"]
    assert sandbox.count("DELETE") == 0
    sandbox.advance(3600)
    later = run(do)
    assert later.ok
    assert sandbox.count("DELETE") == 2
    assert sandbox.count("POST", "dropletActions_post") == 2


def test_no_wait_with_power_off_is_refused_before_any_request(do: Driver, sandbox: Sandbox) -> None:
    """``wait=False`` with a ``power_off`` group: ``FleetError``, no request sent."""
    plan = do.image.plan_fleet(fleet(power_off=True))
    seen = len(sandbox.requests)
    with pytest.raises(FleetError, match="power_off"):
        do.image.apply_fleet(plan, wait=False)
    assert len(sandbox.requests) == seen


def test_power_off_turns_the_droplet_on_again(do: Driver, sandbox: Sandbox) -> None:
    """``power_off = true``: each droplet is snapshotted off and is active afterwards."""
    report = run(do, power_off=True)
    assert report.ok
    assert sandbox.count("POST", "dropletActions_post") == 6  # shutdown, snapshot, power_on
    assert {d.status for d in sandbox.droplets} == {"active"}


def test_over_max_delete_with_snapshots_snapshots_and_deletes_nothing(
    do: Driver, sandbox: Sandbox
) -> None:
    """More deletions than ``max_delete`` in a plan with snapshots: the snapshots are made,
    tagged and copied; every deletion skipped naming ``--max-delete``; not ok."""
    _two_old(sandbox)
    report = run(do, max_delete=1)
    assert not report.ok
    assert [r.outcome for r in report.results if r.entry.action == "snapshot"] == ["done"] * 2
    skipped = [r for r in report.results if r.entry.action == "delete"]
    assert {r.outcome for r in skipped} == {"skipped"}
    assert "--max-delete 2" in skipped[0].detail
    assert sandbox.count("DELETE") == 0


def test_a_manual_snapshot_is_neither_counted_nor_deleted(do: Driver, sandbox: Sandbox) -> None:
    """Replay of do_snapshot's failure: a manual snapshot of a source droplet, made an hour
    ago, neither makes the droplet not due nor is deleted by ``keep = 1``."""
    manual = sandbox.add_image(
        "web-11-before-upgrade", created_at=START - timedelta(hours=1), droplet_id=11
    )
    for _ in range(3):
        assert run(do, keep=1).ok
        sandbox.advance(DAY)
    assert manual.id in {image.id for image in sandbox.images}
    assert len(owned(sandbox, 11)) == 1


def test_an_age_rule_never_deletes_the_last_snapshot(do: Driver, sandbox: Sandbox) -> None:
    """Replay of do-snapshot's ``0d:6m``: a droplet gone, its snapshots all older than
    ``max_age`` under ``on_source_gone = "expire"``: the newest stays (``keep_min``)."""
    for days in (30, 20, 10):
        made(sandbox, 11, START - timedelta(days=days))
    sandbox.remove_droplet(11)
    report = run(do, max_age="1d", keep_min=1, on_source_gone="expire")
    assert report.ok
    (left,) = owned(sandbox, 11)
    assert left.created_at == START - timedelta(days=10)


def test_the_requests_are_those_the_estimate_counts(do: Driver, sandbox: Sandbox) -> None:
    """On a small fleet, planning's requests are exactly ``plan.estimate``'s; applying's
    are those of every kind it names, within a tenth for the polls."""
    _two_old(sandbox)
    before = sandbox.count()
    plan = do.image.plan_fleet(fleet())
    estimate = plan.estimate
    assert sandbox.count() - before == sum(estimate["plan"].values())
    counts_before = {kind: sandbox.count(operation=kind) for kind in estimate["apply"]}
    do.image.apply_fleet(plan)
    for kind, number in estimate["apply"].items():
        seen = sandbox.count(operation=kind) - counts_before[kind]
        if kind in ("dropletActions_get", "imageActions_list"):  # polls: time-dependent
            assert 0 < seen <= number, kind
        else:
            assert seen == number, kind


def test_power_off_out_of_time_still_powers_the_droplet_on(do: Driver, sandbox: Sandbox) -> None:
    """``power_off`` and a snapshot not done in time: the entry ``pending``, and the
    droplet is powered on once its snapshot ends, not left off (the SDK alone leaves it)."""
    untagged = [d for d in WEB if d != 11]
    for droplet_id in untagged:
        sandbox.remove_droplet(droplet_id)
    report = do.image.apply_fleet(do.image.plan_fleet(fleet(power_off=True)), timeout=20)
    assert report.ok
    assert [r.waits for r in report.results if r.entry.action == "snapshot"] == ["timed out"]
    sandbox.advance(10)
    assert {d.id: d.status for d in sandbox.droplets}[11] == "active"


def test_polls_spread_as_more_snapshots_are_in_flight(kind: str) -> None:
    """30 snapshots in flight at a budget of 60 a minute: their polls spread over a cycle
    a little over 60 s, so at most 30 (half the budget) in any minute, ends included, one
    per snapshot per cycle."""
    sandbox = world()
    for number in range(28):
        sandbox.add_droplet(f"web-{number}", id=100 + number, tags=["web"], used_gb=2.0)
    client = (
        sandbox.client(requests_per_minute=60)
        if kind == "sync"
        else sandbox.async_client(requests_per_minute=60)
    )
    with driver(kind, client=client) as do:
        report = do.image.apply_fleet(do.image.plan_fleet(fleet(regions=["nyc3"])))
    assert report.ok
    polls = sorted(r.answered_at for r in sandbox.requests if r.operation == "dropletActions_get")
    assert polls
    busiest = max(sum(1 for later in polls if when <= later <= when + 60) for when in polls)
    assert busiest <= 30
    by_action: dict[str, int] = {}
    for request in sandbox.requests:
        if request.operation == "dropletActions_get":
            by_action[request.path] = by_action.get(request.path, 0) + 1
    assert len(by_action) == 30
    small = ("/v2/droplets/11/", "/v2/droplets/12/")  # 1 GB used: done sooner
    alike = [n for path, n in by_action.items() if not path.startswith(small)]
    assert len(alike) == 28  # the 2 GB ones, as long as each other
    assert max(alike) - min(alike) <= 1  # each polled once a cycle
