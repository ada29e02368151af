"""A seeded fault run of ``apply_fleet`` on both clients: every fault the sandbox has, on
every method, at random moments; interruptions while it waits; a colleague changing the
account meanwhile; then the same plan applied again, and the account brought to the fleet.

Invariants, checked as the run goes (at each transfer POST and each DELETE) and after it:

- no ``(image, region)`` transfer is POSTed while one is under way or done there;
- nothing is deleted that the plan does not delete and the rule, on the account as it is
  at that moment (the plan's fleet, at its ``listed_at``), does not delete; so ``keep_min``
  and the protect tags hold;
- no deletion in a group whose planned transfers have not all completed;
- at most ``max_delete`` deletions, and none at all when the plan has more;
- only a ``DoImagesError`` (or the interruption itself) escapes;
- once the faults stop, applying converges: a last plan has nothing to do.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from do_images import AsyncClient, Client, DoImagesError, FleetError, StalePlanError
from do_images.fleet import EntryResult, Fleet, FleetPlan, FleetReport, plan_images
from do_images.testing import Sandbox
from fleet_support import START, hooked_client, is_transfer_post
from support import driver

RUNS_PER_CHUNK = 25
CHUNKS = 8
"""Runs of each client: ``CHUNKS * RUNS_PER_CHUNK`` (a chunk per test, within its timeout)."""
STATUSES = (400, 401, 403, 404, 422, 429, 500, 502, 503)
METHODS = (None, "GET", "POST", "DELETE", "PUT")
TRANSFER_TYPES = ("in-progress", "completed")
COMBOS: list[tuple[str, int | None, str | None]] = [
    *(("fail", status, method) for status in STATUSES for method in METHODS),
    *(("drop", None, method) for method in METHODS),
    *(("garble", None, method) for method in METHODS),
    ("error", None, None),
]
"""Every fault the sandbox has, on every method: run ``seed`` starts with ``COMBOS[seed % n]``,
so each client's runs cover them all."""


@dataclass
class Stats:
    """What one run did and what it checked."""

    runs: int = 0
    faults: int = 0
    interruptions: int = 0
    checks: int = 0
    deletions: int = 0
    adopted: int = 0
    colleague: int = 0
    violations: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        self.checks += 1
        if not ok:
            self.violations.append(what)

    def add(self, other: Stats) -> None:
        for name in ("runs", "faults", "interruptions", "checks", "deletions", "adopted"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.colleague += other.colleague
        self.violations += other.violations


# ------------------------------------------------------------------ the scenario


def account(rng: random.Random) -> tuple[Sandbox, Fleet]:
    """A random inventory of two groups, and the fleet that manages them."""
    sandbox = Sandbox(start=START, seed=False, log_size=100_000, requests_per_minute=None)
    for number in range(rng.randint(3, 6)):
        sandbox.add_image(
            f"web-{number}",
            regions=rng.choice([["nyc3"], ["nyc3", "sfo3"], ["ams3"]]),
            tags=rng.choice([[], [], [], ["keep"], ["managed"]]),
            status=rng.choice(["available"] * 8 + ["pending"]),
            created_at=START - timedelta(days=rng.randint(1, 90), hours=number),
        )
    for number in range(rng.randint(2, 4)):
        sandbox.add_image(
            f"db-{number}",
            regions=["fra1"],
            created_at=START - timedelta(days=rng.randint(1, 60), hours=number),
        )
    keep = rng.randint(1, 3)
    web: dict[str, Any] = {
        "name": "web",
        "select": {"name_prefix": "web-"},
        "regions": ["nyc3", "sfo3"],
        "keep": keep,
        "keep_min": rng.randint(0, keep),
        "protect_tags": ["keep"],
        "ensure_tags": ["managed"],
    }
    if rng.random() < 0.5:
        web["max_age"] = f"{rng.randint(5, 60)}d"
    db = {"name": "db", "select": {"name_prefix": "db-"}, "regions": ["fra1", "lon1"], "keep": 1}
    return sandbox, Fleet.from_dict({"version": 1, "group": [web, db]})


def inject(
    sandbox: Sandbox,
    rng: random.Random,
    stats: Stats,
    combo: tuple[str, int | None, str | None] | None = None,
) -> None:
    """Queue one fault (``combo``, else one drawn at random) of any kind, on any method."""
    kind, status, method = combo or (
        rng.choice(["fail", "fail", "drop", "garble", "error"]),
        rng.choice(STATUSES),
        rng.choice(METHODS),
    )
    times = rng.choice([1, 1, 2, 4])
    stats.faults += times
    if kind == "fail":
        assert status is not None
        headers = {"retry-after": "2"} if status == 429 else None
        sandbox.fail_next(status, times, headers, method=method)
    elif kind == "drop":
        sandbox.drop_next(times, method=method)
    elif kind == "garble":
        sandbox.garble_next(times, method=method)
    else:
        sandbox.error_next_action(times)


def calm(sandbox: Sandbox) -> None:
    """Drop every fault still queued (the sandbox's own queues: a test-only reach inside)."""
    sandbox._front.faults.clear()
    sandbox._front.drops.clear()
    sandbox._world.errored_actions = 0


# ------------------------------------------------------------------ the watcher


class Watcher:
    """Sees every request of the apply before the sandbox answers it: checks the invariants
    of transfers and deletions at that moment, and now and then queues one more fault."""

    def __init__(self, sandbox: Sandbox, plan: FleetPlan, rng: random.Random, stats: Stats):
        self.sandbox, self.plan, self.rng, self.stats = sandbox, plan, rng, stats
        self.faulty = True
        self.more = rng.randint(0, 5)
        self.deleted: set[int] = set()
        """The images a DELETE of the apply found there (so deleted by it)."""

    def __call__(self, method: str, path: str, body: bytes) -> None:
        if is_transfer_post(method, path, body):
            self.transfer(int(path.split("/")[3]), json.loads(body)["region"])
        elif method == "DELETE" and path.startswith("/v2/images/"):
            self.delete(int(path.rsplit("/", 1)[1]))
        if self.faulty and self.more and self.rng.random() < 0.08:
            self.more -= 1
            inject(self.sandbox, self.rng, self.stats)

    def transfer(self, image_id: int, region: str) -> None:
        live = [
            action.id
            for action in self.sandbox.actions
            if action.type == "transfer"
            and action.resource_id == image_id
            and action.region_slug == region
            and action.status in TRANSFER_TYPES
        ]
        self.stats.check(not live, f"transfer of {image_id} to {region} POSTed again ({live})")

    def delete(self, image_id: int) -> None:
        images = self.sandbox.images
        by_id = {image.id: image for image in images}
        planned = {e.image_id: e.group for e in self.plan.of("delete")}
        self.stats.check(image_id in planned, f"DELETE of {image_id}, which the plan keeps")
        if image_id not in by_id:
            return  # a retry after a lost answer: the image went with the first attempt
        fresh = plan_images(self.plan.fleet, images, self.plan.listed_at)
        rule = {e.image_id for e in fresh.entries if e.action == "delete"}
        self.stats.check(image_id in rule, f"DELETE of {image_id}, which the rule keeps now")
        group = planned.get(image_id)
        incomplete = [
            (e.image_id, e.region)
            for e in self.plan.of("transfer")
            if e.group == group
            and e.image_id in by_id
            and e.region not in (by_id[e.image_id].regions or [])
        ]
        self.stats.check(not incomplete, f"DELETE of {image_id} before transfers {incomplete}")
        self.deleted.add(image_id)


# ------------------------------------------------------------------ one run


def interrupting(kind: str, rng: random.Random, sandbox: Sandbox, stats: Stats) -> Any:
    """The client's sleep: moves the sandbox clock, and maybe interrupts at one sleep
    (Ctrl-C on the sync client, cancellation on the async one)."""
    at = rng.randint(1, 6) if rng.random() < 0.5 else 0
    count = [0]

    def sleep(seconds: float) -> None:
        count[0] += 1
        if count[0] == at:
            stats.interruptions += 1
            if kind == "sync":
                raise KeyboardInterrupt
            raise asyncio.CancelledError
        sandbox.advance(seconds)

    return sleep


def colleague_change(sandbox: Sandbox, plan: FleetPlan, rng: random.Random) -> None:
    """What a colleague may do while the transfers run: protect, rename or delete an image,
    or make a new one (through the API but the last, so queued faults may hit it too)."""
    doomed = plan.image_ids("delete")
    kept = plan.image_ids("keep")
    with sandbox.client(max_retries=0) as colleague:
        try:
            choice = rng.choice(["protect", "rename", "destroy", "new"])
            if choice == "protect" and doomed:
                colleague.image.tag(rng.choice(doomed), "keep")
            elif choice == "rename" and doomed:
                colleague.image.update(rng.choice(doomed), name="web-renamed")
            elif choice == "destroy" and kept:
                colleague.image.destroy(rng.choice(kept))
            else:
                sandbox.add_image("web-new", regions=["nyc3", "sfo3"], tags=["managed"])
        except DoImagesError:
            pass  # a fault hit the colleague: the change may or may not have happened


def apply_once(
    kind: str,
    sandbox: Sandbox,
    document: dict[str, Any],
    watcher: Watcher,
    sleep: Callable[[float], None],
    on_result: Callable[[EntryResult], object] | None,
    max_delete: int,
) -> FleetReport | BaseException:
    """One apply of the plan document; its report, or what escaped it."""
    width = watcher.rng.choice([1, 4])
    if kind == "sync":
        client: Client | AsyncClient = hooked_client(
            sandbox, watcher, "sync", sleep=sleep, page_concurrency=width
        )
    else:

        async def async_sleep(seconds: float) -> None:
            sleep(seconds)

        client = hooked_client(
            sandbox, watcher, "async", async_sleep=async_sleep, page_concurrency=width
        )
    with driver(kind, client=client) as do:
        try:
            return do.image.apply_fleet(
                FleetPlan.from_json(document), max_delete=max_delete, on_result=on_result
            )
        except (DoImagesError, KeyboardInterrupt, asyncio.CancelledError) as escaped:
            return escaped
        except Exception as escaped:
            return escaped


def run_once(kind: str, seed: int) -> Stats:
    """One seeded scenario: plan, apply under faults, apply the same plan again, converge."""
    rng = random.Random(seed)
    stats = Stats(runs=1)
    sandbox, fleet = account(rng)
    with sandbox.client() as planner:
        plan = planner.image.plan_fleet(fleet)
    document = plan.to_json()
    planned = len(plan.of("delete"))
    max_delete = rng.choice([planned, planned, planned + 3, max(0, planned - 1)])
    before = {image.id for image in sandbox.images}
    inject(sandbox, rng, stats, COMBOS[seed % len(COMBOS)])
    for _ in range(rng.randint(0, 2)):
        inject(sandbox, rng, stats)

    changed: list[bool] = []

    def on_result(result: EntryResult) -> None:
        if result.entry.action == "transfer" and not changed and rng.random() < 0.3:
            changed.append(True)
            stats.colleague += 1
            colleague_change(sandbox, plan, rng)

    watcher = Watcher(sandbox, plan, rng, stats)
    sleep = interrupting(kind, rng, sandbox, stats)
    first = apply_once(kind, sandbox, document, watcher, sleep, on_result, max_delete)
    check_escape(first, stats)
    if planned > max_delete:
        stats.check(isinstance(first, FleetError), f"{planned} deletions over {max_delete} ran")
        stats.check(not watcher.deleted, "deleted though over max_delete")
    stats.check(len(watcher.deleted) <= max_delete, f"{watcher.deleted} deleted > {max_delete}")
    adopted(first, stats)
    # The same plan again, on whatever faults are left, without interruption.
    again = apply_once(kind, sandbox, document, watcher, sandbox.advance, None, max(planned, 1))
    check_escape(again, stats)
    adopted(again, stats)
    if not changed and isinstance(again, StalePlanError):
        stats.check(False, f"the same plan again is stale though only faults happened: {again}")
    converge(kind, sandbox, fleet, watcher, stats)
    stats.deletions += len(before - {image.id for image in sandbox.images})
    return stats


def check_escape(outcome: FleetReport | BaseException, stats: Stats) -> None:
    escaped_ok = isinstance(
        outcome, (FleetReport, DoImagesError, KeyboardInterrupt, asyncio.CancelledError)
    )
    stats.check(escaped_ok, f"escaped: {type(outcome).__name__}: {outcome}")


def adopted(outcome: FleetReport | BaseException, stats: Stats) -> None:
    if isinstance(outcome, FleetReport):
        stats.adopted += sum("adopted" in r.detail for r in outcome.results)


def converge(kind: str, sandbox: Sandbox, fleet: Fleet, watcher: Watcher, stats: Stats) -> None:
    """Faults stopped: plan and apply (three times at most: a transfer the faulted applies
    left running may finish meanwhile, which changes an image and skips its deletion until
    the next plan) until the account matches the fleet."""
    calm(sandbox)
    watcher.faulty = False
    for _ in range(3):
        with sandbox.client() as planner:
            plan = planner.image.plan_fleet(fleet)
        if not plan.changes:
            break
        watcher.plan = plan
        report = apply_once(
            kind, sandbox, plan.to_json(), watcher, sandbox.advance, None, len(plan.of("delete"))
        )
        stats.check(isinstance(report, FleetReport), f"a clean apply raised: {report!r}")
    with sandbox.client() as planner:
        left = planner.image.plan_fleet(fleet)
    stats.check(left.changes == 0, f"not converged: {left.summary}")


# ------------------------------------------------------------------ the tests


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_apply_under_faults_keeps_every_invariant(kind: str, chunk: int) -> None:
    """A chunk of seeded runs under faults, interruptions and a colleague: no invariant breaks."""
    total = Stats()
    for seed in range(chunk * RUNS_PER_CHUNK, (chunk + 1) * RUNS_PER_CHUNK):
        stats = run_once(kind, seed)
        total.add(stats)
        assert not stats.violations, f"seed {seed} ({kind}): {stats.violations}"
    assert total.runs == RUNS_PER_CHUNK
    assert total.checks > total.runs  # the invariants were checked, not skipped


def test_the_runs_cover_every_fault_on_every_method() -> None:
    """Each client's runs start with every (fault, method) pair the sandbox offers."""
    assert len(COMBOS) <= CHUNKS * RUNS_PER_CHUNK
    assert {kind for kind, _, _ in COMBOS} == {"fail", "drop", "garble", "error"}
    assert {(status, method) for kind, status, method in COMBOS if kind == "fail"} == {
        (status, method) for status in STATUSES for method in METHODS
    }
