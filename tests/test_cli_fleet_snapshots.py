"""``plan`` and ``apply`` of a fleet with a source group: the ``+ snapshot``, ``pending``
and ``orphaned`` lines, ``--no-wait``, ``--json``'s outcomes, and the exit statuses."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from do_images.testing import Sandbox
from fleet_snapshot_support import START, made, start_action, world
from support import Run, cli_runner

FLEET = """\
version = 1

[[group]]
name = "web"
source = { droplet_tag = "web" }
every = "24h"
regions = ["nyc3", "ams3"]
keep = 1
"""


@pytest.fixture
def sandbox() -> Sandbox:
    """Droplets 11 and 12 tagged ``web``, 11 with a snapshot 30 hours old; a snapshot of a
    droplet 99 that is no more."""
    made_ = world()
    made(made_, 11, START - timedelta(hours=30))
    made_.add_droplet("gone-99", id=99, tags=["web"])
    made(made_, 99, START - timedelta(days=3))
    made_.remove_droplet(99)
    return made_


@pytest.fixture
def run(sandbox: Sandbox) -> Run:
    return cli_runner(sandbox)


def fleet_file(tmp_path: Path, text: str = FLEET) -> str:
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    return str(path)


def test_plan_shows_snapshot_pending_and_orphaned_lines(
    run: Run, sandbox: Sandbox, tmp_path: Path
) -> None:
    """``+ snapshot droplet 11 web-11  newest is 30 h old; every 24h``; a droplet locked is
    ``pending`` with why; the gone droplet's snapshot ``orphaned``; a change for
    ``--detailed-exitcode`` (2)."""
    assert start_action(sandbox, 12, "power_on") == 201
    result = run("plan", fleet_file(tmp_path), "--detailed-exitcode")
    assert result.code == 2, result.err
    lines = [line.strip() for line in result.out.splitlines()]
    snapshot = next(line for line in lines if line.startswith("+ snapshot"))
    assert snapshot.split()[:5] == ["+", "snapshot", "droplet", "11", "web-11"]
    assert snapshot.endswith("newest is 30 h old; every 24h")
    pending = next(line for line in lines if line.startswith("pending"))
    assert "droplet 12 web-12" in pending
    assert "locked" in pending
    orphaned = next(line for line in lines if line.startswith("orphaned"))
    assert "web-99-" in orphaned
    assert "droplet 99 is no longer a source" in orphaned
    assert "Plan: 1 snapshot," in result.out


def test_apply_reports_each_outcome_in_json(run: Run, tmp_path: Path) -> None:
    """``apply --json``: every entry with its ``outcome`` (``done``) and the image made."""
    result = run("apply", fleet_file(tmp_path), "--yes", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["ok"] is True
    turns = [r for r in report["results"] if r["action"] == "snapshot"]
    assert sorted(r["droplet_id"] for r in turns) == [11, 12]
    assert {r["outcome"] for r in turns} == {"done"}
    assert all(isinstance(r["made_image_id"], int) for r in turns)


def test_apply_no_wait_starts_and_exits_0(run: Run, sandbox: Sandbox, tmp_path: Path) -> None:
    """``--no-wait``: the snapshots ``started``, the deletion ``pending``; exit 0."""
    result = run("apply", fleet_file(tmp_path), "--yes", "--no-wait")
    assert result.code == 0, result.err
    assert "started + snapshot droplet 11 web-11" in result.err
    assert "Applied: 0 done, 1 pending, 2 started, 0 failed, 0 skipped." in result.err
    assert sandbox.count("DELETE") == 0


def test_no_wait_with_power_off_is_a_usage_error(
    run: Run, sandbox: Sandbox, tmp_path: Path
) -> None:
    """``--no-wait`` with ``power_off = true``: exit 2, before any request."""
    path = fleet_file(tmp_path, FLEET + "power_off = true\n")
    result = run("apply", path, "--yes", "--no-wait")
    assert result.code == 2
    assert "power_off" in result.err
    assert sandbox.requests == []


def test_an_errored_snapshot_exits_3(run: Run, sandbox: Sandbox, tmp_path: Path) -> None:
    """A snapshot that ends ``errored``: its entry ``failed``, exit 3."""
    sandbox.fail_next_snapshot(2)
    result = run("apply", fleet_file(tmp_path), "--yes")
    assert result.code == 3
    assert "failed  + snapshot droplet" in result.err
    assert "the snapshot errored" in result.err


def test_over_max_delete_with_snapshots_snapshots_and_exits_3(
    run: Run, sandbox: Sandbox, tmp_path: Path
) -> None:
    """More deletions than ``--max-delete`` in a plan with snapshots: the snapshots are
    made, nothing is deleted, exit 3 naming ``--max-delete``."""
    result = run("apply", fleet_file(tmp_path), "--yes", "--max-delete", "0")
    assert result.code == 3, result.err
    assert "--max-delete 1" in result.err
    assert sandbox.count("DELETE") == 0
    assert sandbox.count("POST", "dropletActions_post") == 2


def test_every_help_lists_the_apply_exits(run: Run) -> None:
    """``apply --help`` names ``--no-wait`` and says what exit 3 and 0 mean for entries."""
    result = run("apply", "--help")
    assert "--no-wait" in result.out
    assert "skipped (apply exits 0 while every entry is done or pending" in " ".join(
        result.out.split()
    )


def test_the_json_report_gives_the_pending_and_orphaned_entries_too(
    run: Run, sandbox: Sandbox, tmp_path: Path
) -> None:
    """``--json apply`` with droplet 12 busy: 11's snapshot ``done``, 12's turn
    ``pending`` with its reason, the gone droplet's snapshot ``kept`` (orphaned): every
    entry of the plan has its outcome."""
    assert start_action(sandbox, 12, "power_on") == 201
    result = run("--json", "apply", fleet_file(tmp_path), "--yes")
    assert result.code == 0, result.err
    told = {(r["action"], r["droplet_id"]): r for r in json.loads(result.out)["results"]}
    assert told[("snapshot", 11)]["outcome"] == "done"
    assert told[("pending", 12)]["outcome"] == "pending"
    assert told[("pending", 12)]["detail"]
    assert told[("orphaned", 99)]["outcome"] == "kept"
