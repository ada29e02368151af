"""The metrics file of a fleet apply: Prometheus' text format, read back by
``prometheus_client``'s own parser. The mapping (``metrics_of``) on hand-built plans and
results, then ``apply_fleet(..., metrics_file=)`` on both clients against the sandbox:
after a success, an errored run, a stale plan and an interruption, and a path that cannot
be written refused before any request."""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from do_images import AsyncClient, Client, StalePlanError
from do_images._jobs._metrics import HELP, MetricsFile, metrics_of, read_previous
from do_images.fleet import Fleet, FleetPlan, FleetReport, PlanEntry, plan_images
from do_images.testing import SANDBOX_BASE_URL, SANDBOX_TOKEN, Sandbox
from fleet_rule_support import NOW, droplet, fleet_plan, owned, plan, snap, source_fleet
from support import Driver, driver

LAST = "do_images_fleet_last_success_timestamp_seconds"
AGE = "do_images_fleet_newest_snapshot_age_seconds"
WRITTEN = NOW + timedelta(minutes=10)
"""When the tests' metrics are written: ten minutes after the plan."""


@dataclass(frozen=True)
class Told:
    """A result as an apply tells it: an entry and its outcome."""

    entry: PlanEntry
    outcome: str


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parsed(text: str) -> Samples:
    """Every sample of ``text`` by name and labels, read by Prometheus' parser; each
    metric family is a gauge with its help."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge"
        assert family.documentation == HELP[family.name]
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (``KeyError`` if there is none)."""
    return samples[(name, tuple(sorted(labels.items())))]


def counts(samples: Samples, group: str) -> dict[str, float]:
    """The counts of this run of ``group``."""
    return {
        kind: value(samples, f"do_images_fleet_snapshots_{kind}", group=group)
        for kind in ("created", "deleted", "failed", "pending")
    }


# ------------------------------------------------------------------ the mapping


def select_plan() -> FleetPlan:
    """A select group ``web`` (keep 1, copied to ams3) of three images: one kept and
    copied, two deleted."""
    fleet = Fleet.from_dict(
        {"version": 1, "group": [{"name": "web", "select": {}, "keep": 1, "regions": ["ams3"]}]}
    )
    images = [snap(1, "a", hours=2), snap(2, "b", hours=30), snap(3, "c", hours=60)]
    return fleet_plan(plan(fleet, images, []), fleet)


def test_a_select_groups_success_moves_its_last_success_and_counts_its_deletions() -> None:
    """Every change done: the last success is the time of writing; deletions counted, no
    snapshot made or pending; no droplet metric for a select group."""
    planned = select_plan()
    told = [Told(entry, "done") for entry in planned.entries if entry.sign != " "]
    samples = parsed(metrics_of(planned, told, {"web": 5.0}, WRITTEN))
    assert value(samples, LAST, group="web") == WRITTEN.timestamp()
    assert counts(samples, "web") == {"created": 0, "deleted": 2, "failed": 0, "pending": 0}
    assert not [key for key in samples if key[0] == AGE]


@pytest.mark.parametrize(
    ("outcomes", "finished"),
    [
        ({"transfer": "failed", "delete": "skipped"}, True),
        ({"delete": "failed"}, True),
        ({"transfer": None}, True),  # no result at all for the transfer
        ({}, False),  # everything done, but the apply did not finish (interrupted)
    ],
)
def test_the_last_success_is_carried_over_unless_every_entry_is_done(
    outcomes: dict[str, str | None], finished: bool
) -> None:
    """One change not done, or an apply that did not finish: the previous file's last
    success stays, and only what was done is counted."""
    planned = select_plan()
    told = [
        Told(entry, outcomes.get(entry.action, "done") or "")
        for entry in planned.entries
        if entry.sign != " " and outcomes.get(entry.action, "done") is not None
    ]
    samples = parsed(metrics_of(planned, told, {"web": 1700000000.5}, WRITTEN, finished=finished))
    assert value(samples, LAST, group="web") == 1700000000.5
    deleted = 0 if "delete" in outcomes else 2
    assert counts(samples, "web")["deleted"] == deleted


def test_no_previous_success_is_zero() -> None:
    """A group that never succeeded and does not now: 0 (so ``time() - x`` alerts)."""
    samples = parsed(metrics_of(select_plan(), [], {}, WRITTEN, finished=False))
    assert value(samples, LAST, group="web") == 0


def source_plan() -> FleetPlan:
    """Source group ``web`` (keep 2): droplets 7 and 8 due, 9 not due, 10 due but locked,
    11 due with no snapshot yet; a snapshot of droplet 12, no longer a source."""
    fleet = source_fleet(keep=2)
    images = [
        owned(1, 7, 30),
        owned(2, 7, 54),
        owned(3, 8, 40),
        owned(4, 9, 3),
        owned(5, 10, 30),
        owned(6, 12, 2),
    ]
    droplets = [droplet(7), droplet(8), droplet(9), droplet(10, locked=True), droplet(11)]
    return fleet_plan(plan(fleet, images, droplets), fleet)


def turn(planned: FleetPlan, droplet_id: int) -> PlanEntry:
    (entry,) = [e for e in planned.entries if e.of_droplet and e.droplet_id == droplet_id]
    return entry


def test_snapshot_outcomes_are_counted_per_group() -> None:
    """Created counts the snapshots that completed; failed those failed or skipped; pending
    those started by --no-wait, timed out or busy (a droplet the plan found locked too)."""
    planned = source_plan()
    told = [
        Told(turn(planned, 7), "done"),
        Told(turn(planned, 8), "failed"),
        Told(turn(planned, 11), "started"),
    ]
    samples = parsed(metrics_of(planned, told, {}, WRITTEN))
    assert counts(samples, "web") == {"created": 1, "deleted": 0, "failed": 1, "pending": 2}
    assert value(samples, LAST, group="web") == 0


def test_every_droplet_done_is_a_success() -> None:
    """Every snapshot and deletion done, no droplet pending: the group succeeded."""
    planned = select_free(source_fleet(keep=2), [owned(1, 7, 30)], [droplet(7)])
    told = [Told(entry, "done") for entry in planned.entries if entry.sign != " "]
    samples = parsed(metrics_of(planned, told, {"web": 3.0}, WRITTEN))
    assert value(samples, LAST, group="web") == WRITTEN.timestamp()
    assert counts(samples, "web")["created"] == 1


def test_a_busy_droplet_keeps_the_group_from_success() -> None:
    """A due droplet that is busy (pending) is not done: the last success is carried over."""
    planned = select_free(source_fleet(keep=2), [owned(1, 7, 30)], [droplet(7, locked=True)])
    samples = parsed(metrics_of(planned, [], {"web": 3.0}, WRITTEN))
    assert value(samples, LAST, group="web") == 3.0
    assert counts(samples, "web")["pending"] == 1


def select_free(fleet: Fleet, images: list[Any], droplets: list[Any]) -> FleetPlan:
    return fleet_plan(plan(fleet, images, droplets), fleet)


def test_the_newest_snapshot_age_of_each_source_droplet() -> None:
    """Per droplet: the age of its newest snapshot after the apply (this run's if it
    completed, as its name's time says), +Inf when it has none; orphans have none."""
    planned = source_plan()
    told = [Told(turn(planned, 7), "done"), Told(turn(planned, 8), "failed")]
    samples = parsed(metrics_of(planned, told, {}, WRITTEN))
    ages = {
        dict(labels)["droplet_id"]: (dict(labels)["droplet_name"], seconds)
        for (name, labels), seconds in samples.items()
        if name == AGE
    }
    assert ages == {
        "7": ("web-7", 600.0),  # this run's, named at the plan's time, ten minutes ago
        "8": ("web-8", (40 * 3600) + 600.0),
        "9": ("web-9", (3 * 3600) + 600.0),
        "10": ("web-10", (30 * 3600) + 600.0),
        "11": ("web-11", math.inf),
    }


def test_a_deletion_done_is_no_longer_the_newest() -> None:
    """Under ``max_age`` every old snapshot goes once this run's completes: the newest is
    this run's; if the deletions were not done, the old ones are still there."""
    planned = select_free(source_fleet(max_age="1d", keep_min=0), [owned(1, 7, 30)], [droplet(7)])
    done = [Told(entry, "done") for entry in planned.entries if entry.sign != " "]
    samples = parsed(metrics_of(planned, done, {}, WRITTEN))
    assert value(samples, AGE, group="web", droplet_id="7", droplet_name="web-7") == 600
    failed = [Told(turn(planned, 7), "failed")]
    samples = parsed(metrics_of(planned, failed, {}, WRITTEN))
    assert value(samples, AGE, group="web", droplet_id="7", droplet_name="web-7") == 30 * 3600 + 600


def test_label_values_are_escaped() -> None:
    """A group name with a quote, a backslash and a new line, a droplet name with a quote:
    written escaped, read back whole."""
    name = 'we"b\\one\ntwo'
    fleet = Fleet.from_dict(
        {
            "version": 1,
            "group": [
                {
                    "name": name,
                    "source": {"droplet_tag": "web"},
                    "every": "24h",
                    "snapshot_name": "s-{droplet_id}-{time}",
                }
            ],
        }
    )
    planned = fleet_plan(plan(fleet, [], [droplet(7, 'db "primary"')]), fleet)
    samples = parsed(metrics_of(planned, [], {name: 9.0}, WRITTEN))
    assert value(samples, LAST, group=name) == 9.0
    assert value(samples, AGE, group=name, droplet_id="7", droplet_name='db "primary"') == math.inf


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (
            'do_images_fleet_last_success_timestamp_seconds{group="web"} 1700000000\n',
            {"web": 1.7e9},
        ),
        (
            'do_images_fleet_last_success_timestamp_seconds{group="a\\"b\\\\c\\nd"} 5\n',
            {'a"b\\c\nd': 5.0},
        ),
        ("", {}),
        ("\x00\xff garbage {{{ \n", {}),
        ('do_images_fleet_last_success_timestamp_seconds{group="web"} NaN\n', {}),
        ('do_images_fleet_last_success_timestamp_seconds{group="web"} -3\n', {}),
        ('do_images_fleet_last_success_timestamp_seconds{group="web"} soon\n', {}),
        ('do_images_fleet_last_success_timestamp_seconds{group="web} 5\n', {}),
        ('do_images_fleet_snapshots_created{group="web"} 5\n', {}),
    ],
)
def test_a_previous_file_is_read_tolerantly(text: str, found: dict[str, float]) -> None:
    """The last-success times of a previous file; anything garbled carries nothing."""
    assert read_previous(text) == found


# ------------------------------------------------------------------ the file

FLEET = {
    "version": 1,
    "group": [
        {"name": "web", "select": {"name_prefix": "web-"}, "regions": ["nyc3", "sfo3"], "keep": 2},
        {"name": "db", "select": {"name_prefix": "db-"}, "keep": 1},
    ],
}
START = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def world() -> Sandbox:
    """``web-1`` and ``web-2`` (to copy to sfo3), ``web-3`` (to delete), ``db-1`` alone
    (nothing to do)."""
    sandbox = Sandbox(start=START, seed=False)
    for number, days in ((1, 1), (2, 5), (3, 40)):
        sandbox.add_image(f"web-{number}", id=number, created_at=START - timedelta(days=days))
    sandbox.add_image("db-1", id=9, regions=["nyc3"], created_at=START - timedelta(days=3))
    return sandbox


@pytest.fixture
def do(kind: str, world: Sandbox) -> Iterator[Driver]:
    client = world.client() if kind == "sync" else world.async_client()
    with driver(kind, client=client) as made:
        yield made


PREVIOUS = (
    "# a file an earlier apply wrote\n"
    'do_images_fleet_last_success_timestamp_seconds{group="web"} 1764000000\n'
    'do_images_fleet_last_success_timestamp_seconds{group="db"} 1764000001\n'
)


def read(path: Path) -> Samples:
    return parsed(path.read_text("utf-8"))


def test_after_a_success(do: Driver, world: Sandbox, tmp_path: Path) -> None:
    """A whole apply: every group's last success is now (the machine's clock), the
    deletions counted; the file is readable by others, no temporary file left."""
    path = tmp_path / "fleet.prom"
    path.write_text(PREVIOUS)
    planned = do.image.plan_fleet(Fleet.from_dict(FLEET))
    before = datetime.now(timezone.utc).timestamp()
    report = do.image.apply_fleet(planned, metrics_file=path)
    after = datetime.now(timezone.utc).timestamp()
    assert report.ok
    samples = read(path)
    for group in ("web", "db"):
        assert before <= value(samples, LAST, group=group) <= after
    assert counts(samples, "web") == {"created": 0, "deleted": 1, "failed": 0, "pending": 0}
    assert counts(samples, "db")["deleted"] == 0
    assert os.listdir(tmp_path) == ["fleet.prom"]
    assert path.stat().st_mode & 0o777 == 0o644


def test_after_an_errored_run(do: Driver, world: Sandbox, tmp_path: Path) -> None:
    """A transfer errors: its group's deletions are skipped and its last success carried
    over from the previous file; the other group, all done, moves on."""
    path = tmp_path / "fleet.prom"
    path.write_text(PREVIOUS)
    planned = do.image.plan_fleet(Fleet.from_dict(FLEET))
    world.error_next_action()
    report = do.image.apply_fleet(planned, metrics_file=path)
    assert not report.ok
    samples = read(path)
    assert value(samples, LAST, group="web") == 1764000000
    assert value(samples, LAST, group="db") > 1764000001
    assert counts(samples, "web")["deleted"] == 0


def test_after_a_stale_plan(do: Driver, world: Sandbox, tmp_path: Path) -> None:
    """A stale plan: nothing done, the file still written, every last success carried
    over, every count 0; the StalePlanError still raised."""
    path = tmp_path / "fleet.prom"
    path.write_text(PREVIOUS)
    planned = do.image.plan_fleet(Fleet.from_dict(FLEET))
    do.image.update(3, "web-3-renamed")
    with pytest.raises(StalePlanError):
        do.image.apply_fleet(planned, metrics_file=path)
    samples = read(path)
    assert (value(samples, LAST, group="web"), value(samples, LAST, group="db")) == (
        1764000000,
        1764000001,
    )
    assert counts(samples, "web") == dict.fromkeys(("created", "deleted", "failed", "pending"), 0)


def test_a_missing_or_garbled_previous_file_carries_nothing(
    do: Driver, world: Sandbox, tmp_path: Path
) -> None:
    """A stale plan with no previous file, then with a garbled one: 0, not a guess."""
    path = tmp_path / "fleet.prom"
    planned = do.image.plan_fleet(Fleet.from_dict(FLEET))
    do.image.update(3, "web-3-renamed")
    for previous in (None, b"\xff\xfe not prometheus {"):
        if previous is not None:
            path.write_bytes(previous)
        with pytest.raises(StalePlanError):
            do.image.apply_fleet(planned, metrics_file=path)
        assert value(read(path), LAST, group="web") == 0


def _interrupting(world: Sandbox, kind: str, error: type[BaseException]) -> Client | AsyncClient:
    """A client of ``world`` whose first wait (for the transfer) is interrupted."""

    def sleep(seconds: float) -> None:
        raise error

    async def async_sleep(seconds: float) -> None:
        raise error

    common: dict[str, Any] = {"base_url": SANDBOX_BASE_URL, "clock": world.clock}
    if kind == "sync":
        return Client(SANDBOX_TOKEN, transport=world.transport(), sleep=sleep, **common)
    return AsyncClient(
        SANDBOX_TOKEN, transport=world.async_transport(), sleep=async_sleep, **common
    )


def test_after_an_interruption(kind: str, do: Driver, world: Sandbox, tmp_path: Path) -> None:
    """Ctrl-C (sync) or a cancelled task (async) while the transfers are awaited: the file
    is written, then the interruption goes on; nothing succeeded, what was done is
    counted."""
    error = KeyboardInterrupt if kind == "sync" else asyncio.CancelledError
    path = tmp_path / "fleet.prom"
    path.write_text(PREVIOUS)
    planned = do.image.plan_fleet(Fleet.from_dict(FLEET))
    with driver(kind, client=_interrupting(world, kind, error)) as stopped, pytest.raises(error):
        stopped.image.apply_fleet(planned, metrics_file=path)
    samples = read(path)  # written now: the previous file had no counts
    assert value(samples, LAST, group="web") == 1764000000
    assert value(samples, LAST, group="db") == 1764000001
    assert counts(samples, "web") == dict.fromkeys(("created", "deleted", "failed", "pending"), 0)
    assert world.count("POST", "imageActions_post") >= 1  # a transfer had started


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(
    do: Driver, world: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is replaced whole or not at all: a failed replace leaves the previous
    file as it was and no temporary file; the error is the caller's to see."""
    path = tmp_path / "fleet.prom"
    path.write_text(PREVIOUS)
    planned = do.image.plan_fleet(Fleet.from_dict(FLEET))

    def refuse(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        do.image.apply_fleet(planned, metrics_file=path)
    assert path.read_text() == PREVIOUS
    assert os.listdir(tmp_path) == ["fleet.prom"]


def unwritable(tmp_path: Path, how: str) -> Path:
    """A metrics path that cannot be written, one way or another."""
    if how == "missing directory":
        return tmp_path / "nowhere" / "fleet.prom"
    if how == "a directory":
        return tmp_path
    if how == "under a file":
        (tmp_path / "file").write_text("")
        return tmp_path / "file" / "fleet.prom"
    # No permission, even for root: a file system that takes no new files.
    return Path("/sys/do-images-fleet.prom")


UNWRITABLE = ["missing directory", "a directory", "under a file", "no permission"]


@pytest.mark.parametrize("how", UNWRITABLE)
def test_a_path_that_cannot_be_written_is_refused_before_any_request(
    do: Driver, world: Sandbox, tmp_path: Path, how: str
) -> None:
    """``ValueError`` naming the path, and no request sent."""
    planned = select_plan()
    path = unwritable(tmp_path, how)
    with pytest.raises(ValueError, match=f"metrics_file {path}"):
        do.image.apply_fleet(planned, metrics_file=path)
    assert world.requests == []


def test_a_path_that_is_no_path_is_a_type_error(do: Driver, world: Sandbox) -> None:
    """``metrics_file=5``: ``TypeError``, no request."""
    with pytest.raises(TypeError, match="metrics_file must be a path"):
        do.image.apply_fleet(select_plan(), metrics_file=5)  # type: ignore[arg-type]
    assert world.requests == []


def test_the_check_makes_and_removes_a_probe(tmp_path: Path) -> None:
    """Checking a path leaves its directory as it was."""
    MetricsFile.at(tmp_path / "fleet.prom")
    assert os.listdir(tmp_path) == []


def test_an_apply_closed_unfinished_still_writes(tmp_path: Path) -> None:
    """An apply closed where it stands (its event loop stopped under it): the file is
    written as for an interruption, without another effect."""
    path = tmp_path / "fleet.prom"
    metrics = MetricsFile.at(path)

    def apply() -> Generator[Any, Any, FleetReport]:
        yield "a request"
        return FleetReport()

    op = metrics.around(select_plan(), apply())
    next(op)
    op.close()
    samples = read(path)
    assert value(samples, LAST, group="web") == 0
    assert counts(samples, "web")["deleted"] == 0


def test_the_docs_example_is_the_files_format() -> None:
    """The Scheduled snapshots page's example file parses, with every metric the file
    has, each with the help this module writes."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "scheduled-snapshots.md").read_text()
    (example,) = [
        block.split("\n", 1)[1] for block in page.split("```") if block.startswith("text\n# HELP ")
    ]
    families = {family.name for family in text_string_to_metric_families(example)}
    assert families == set(HELP)
    assert parsed(example)  # each family a gauge with this module's help


def test_a_droplet_is_aged_only_in_the_groups_it_is_a_source_of() -> None:
    """Droplet 7 carries tag ``web`` but no longer ``db``: it has an age in ``web`` and
    none in ``db``, where its snapshots are orphans."""
    fleet = Fleet.from_dict(
        {
            "version": 1,
            "group": [
                {"name": "web", "source": {"droplet_tag": "web"}, "every": "24h"},
                {"name": "db", "source": {"droplet_tag": "db"}, "every": "24h"},
            ],
        }
    )
    images = [owned(1, 7, 3), owned(2, 7, 5, group="db")]
    chosen = {"web": [droplet(7)], "db": []}
    planned = fleet_plan(plan_images(fleet, images, NOW, droplets=chosen), fleet)
    ages = [
        labels for (name, labels) in parsed(metrics_of(planned, [], {}, WRITTEN)) if name == AGE
    ]
    assert ages == [(("droplet_id", "7"), ("droplet_name", "web-7"), ("group", "web"))]
