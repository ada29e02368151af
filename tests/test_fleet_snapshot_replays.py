"""Replays of the rotation scripts' named failures that need more than one client or a
paged sandbox: a second page never read, and two applies at once. (The others, an
errored snapshot counted as success, an age rule deleting the last snapshot, a manual
snapshot counted and cron firing twice, are in ``test_fleet_snapshot_apply``.)"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from do_images import AsyncClient, Client
from do_images.fleet import FleetReport
from do_images.testing import SANDBOX_BASE_URL, SANDBOX_TOKEN, Sandbox, SandboxTransport
from fleet_snapshot_support import START, SmallPages, fleet, made, owned, start_action, world
from support import driver


def test_every_page_of_droplets_images_and_actions_is_read(kind: str) -> None:
    """Replay of do-snapshot's one page: lists paged 2 by 2 (five droplets, fifteen
    images, a droplet's actions on two pages); every droplet is snapshotted once and each
    series pruned to ``keep``."""
    sandbox = world()
    for droplet_id in (14, 15, 16):
        sandbox.add_droplet(f"web-{droplet_id}", id=droplet_id, tags=["web"], used_gb=1.0)
    droplets = (11, 12, 14, 15, 16)
    for droplet_id in droplets:
        for days in (4, 3, 2):
            made(sandbox, droplet_id, START - timedelta(days=days))
    for _ in range(3):  # droplet 16's actions take two pages
        assert start_action(sandbox, 16, "power_on") == 201
        sandbox.advance(10)
    transport = SandboxTransport(SmallPages(sandbox))
    options: dict[str, Any] = {
        "base_url": SANDBOX_BASE_URL,
        "clock": sandbox.clock,
        "transport": transport,
    }
    client: Client | AsyncClient
    if kind == "sync":
        client = Client(SANDBOX_TOKEN, sleep=sandbox.advance, **options)
    else:

        async def stepped(seconds: float) -> None:
            sandbox.advance(seconds)

        client = AsyncClient(SANDBOX_TOKEN, sleep=stepped, **options)
    with driver(kind, client=client) as do:
        plan = do.image.plan_fleet(fleet(keep=3))
        assert sorted(e.droplet_id or 0 for e in plan.of("snapshot")) == list(droplets)
        assert len(plan.of("delete")) == 5
        assert plan.reads["droplets_list"] >= 1
        report = do.image.apply_fleet(plan)
    assert report.ok
    assert [len(owned(sandbox, d)) for d in droplets] == [3] * 5
    assert sandbox.count("GET", "droplets_list") >= 3 * 2  # three pages, plan and apply
    assert sandbox.count("POST", "dropletActions_post") == 5 + 3
    pages = [
        r for r in sandbox.requests if r.path == "/v2/droplets/16/actions" and r.method == "GET"
    ]
    assert any("page=2" in r.query for r in pages)


def _apply(client: Client, results: list[FleetReport]) -> None:
    results.append(client.image.apply_fleet(client.image.plan_fleet(fleet(keep=1))))


@pytest.mark.parametrize("way", ["threads", "tasks"])
def test_two_applies_at_once_make_one_snapshot_and_delete_once(way: str) -> None:
    """Replay of two cron jobs overlapping: two clients apply the same fleet at once on one
    served sandbox (threads, or async tasks); one snapshot per droplet, each old snapshot
    deleted once, both reports ok (a busy droplet is ``pending``, not a failure)."""
    sandbox = world()
    for droplet_id in (11, 12):
        made(sandbox, droplet_id, START - timedelta(days=2))
    results: list[FleetReport] = []
    with sandbox.serve() as base_url:
        options: dict[str, Any] = {"base_url": base_url, "clock": sandbox.clock}
        if way == "threads":
            clients = [Client(SANDBOX_TOKEN, sleep=sandbox.advance, **options) for _ in "ab"]
            threads = [threading.Thread(target=_apply, args=(c, results)) for c in clients]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            for c in clients:
                c.close()
        else:
            asyncio.run(_two_tasks(sandbox.advance, options, results))
    assert len(results) == 2
    assert all(report.ok for report in results), [
        (r.outcome, r.detail) for report in results for r in report.failed
    ]
    assert [len(owned(sandbox, d)) for d in (11, 12)] == [1, 1]
    for droplet_id in (11, 12):
        (left,) = owned(sandbox, droplet_id)
        assert left.created_at is not None
        assert left.created_at >= START
    assert sandbox.count("POST", "dropletActions_post") - _busy(sandbox) == 2
    deleted = [r for r in sandbox.requests if r.method == "DELETE" and r.status == 204]
    assert len(deleted) == 2


def _busy(sandbox: Sandbox) -> int:
    """The snapshot POSTs the sandbox refused with a 422 (a droplet busy)."""
    requests = sandbox.requests
    return sum(1 for r in requests if r.method == "POST" and r.status == 422)


async def _two_tasks(
    advance: Callable[[float], None], options: dict[str, Any], out: list[FleetReport]
) -> None:
    async def stepped(seconds: float) -> None:
        advance(seconds)
        await asyncio.sleep(0)

    async def one() -> None:
        async with AsyncClient(SANDBOX_TOKEN, sleep=stepped, **options) as client:
            out.append(await client.image.apply_fleet(await client.image.plan_fleet(fleet(keep=1))))

    await asyncio.gather(one(), one())
