"""The metrics file after real applies of a source group, on both clients against the
sandbox: the counts of created, failed and pending snapshots come from the apply's own
outcomes (a success, an errored snapshot, ``wait=False``, a droplet busy at plan time),
the last success moves only when every entry of the group is done, and each droplet's
newest snapshot age is its own."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from do_images.testing import Sandbox
from fleet_snapshot_support import START, WEB, fleet, world
from support import Driver, driver

LAST = "do_images_fleet_last_success_timestamp_seconds"
AGE = "do_images_fleet_newest_snapshot_age_seconds"
PREVIOUS = 'do_images_fleet_last_success_timestamp_seconds{group="web"} 1764000000\n'
"""A file an earlier apply wrote: the web group's last success."""

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def sandbox() -> Sandbox:
    return world()


@pytest.fixture
def do(kind: str, sandbox: Sandbox) -> Iterator[Driver]:
    client = sandbox.client() if kind == "sync" else sandbox.async_client()
    with driver(kind, client=client) as made:
        yield made


def read(path: Path) -> Samples:
    """Every sample of the file by name and labels, read by Prometheus' own parser."""
    samples: Samples = {}
    for family in text_string_to_metric_families(path.read_text("utf-8")):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def counts(samples: Samples) -> dict[str, float]:
    """The web group's counts of this run."""
    return {
        kind: samples[(f"do_images_fleet_snapshots_{kind}", (("group", "web"),))]
        for kind in ("created", "deleted", "failed", "pending")
    }


def ages(samples: Samples) -> dict[int, float]:
    """Each web droplet's newest snapshot age, by droplet id."""
    return {
        int(dict(labels)["droplet_id"]): found
        for (name, labels), found in samples.items()
        if name == AGE and dict(labels)["group"] == "web"
    }


def apply(do: Driver, path: Path, *, wait: bool = True) -> bool:
    """Plan the web fleet and apply it with the metrics file; whether the report is ok."""
    report = do.image.apply_fleet(do.image.plan_fleet(fleet()), metrics_file=path, wait=wait)
    return bool(report.ok)


def test_a_run_that_snapshots_every_droplet_is_a_success(
    do: Driver, sandbox: Sandbox, tmp_path: Path
) -> None:
    """Both snapshots completed: created 2, nothing failed or pending, the last success
    is now, and each droplet's newest snapshot is this run's: its age is the machine's
    time since the plan (the sandbox's clock started at ``START``), not +Inf."""
    path = tmp_path / "fleet.prom"
    path.write_text(PREVIOUS)
    before = datetime.now(timezone.utc).timestamp()
    assert apply(do, path)
    samples = read(path)
    assert counts(samples) == {"created": 2, "deleted": 0, "failed": 0, "pending": 0}
    assert samples[(LAST, (("group", "web"),))] >= before
    found = ages(samples)
    assert sorted(found) == list(WEB)
    since_plan = datetime.now(timezone.utc).timestamp() - START.timestamp()
    assert all(0 <= since_plan - age < 3600 for age in found.values()), (found, since_plan)


def test_an_errored_snapshot_is_failed_and_keeps_the_last_success(
    do: Driver, sandbox: Sandbox, tmp_path: Path
) -> None:
    """One snapshot errors: failed 1, created 1, and the group's last success is the
    earlier file's (the group is not all done)."""
    path = tmp_path / "fleet.prom"
    path.write_text(PREVIOUS)
    sandbox.fail_next_snapshot()
    assert not apply(do, path)
    samples = read(path)
    assert counts(samples) == {"created": 1, "deleted": 0, "failed": 1, "pending": 0}
    assert samples[(LAST, (("group", "web"),))] == 1764000000


def test_no_wait_counts_the_started_snapshots_as_pending(
    do: Driver, sandbox: Sandbox, tmp_path: Path
) -> None:
    """``wait=False``: both snapshots started, none awaited: pending 2, created 0, the
    last success not moved; no droplet has a snapshot yet (its age is +Inf)."""
    path = tmp_path / "fleet.prom"
    path.write_text(PREVIOUS)
    assert apply(do, path, wait=False)
    samples = read(path)
    assert counts(samples) == {"created": 0, "deleted": 0, "failed": 0, "pending": 2}
    assert samples[(LAST, (("group", "web"),))] == 1764000000
    assert all(math.isinf(age) for age in ages(samples).values())


def test_a_droplet_busy_at_plan_time_is_pending(
    do: Driver, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A snapshot of droplet 11 already running when the fleet is planned: its turn is
    pending, the other droplet's snapshot is created, and the last success waits."""
    path = tmp_path / "fleet.prom"
    path.write_text(PREVIOUS)
    with sandbox.client() as other:
        other.droplet.snapshot(WEB[0], name="by-hand", wait=False)
    assert apply(do, path)
    samples = read(path)
    assert counts(samples) == {"created": 1, "deleted": 0, "failed": 0, "pending": 1}
    assert samples[(LAST, (("group", "web"),))] == 1764000000
