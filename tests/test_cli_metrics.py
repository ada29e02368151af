"""``do-images apply --metrics-file PATH``: the file after a success, a failure, nothing to
do and Ctrl-C, read by Prometheus' own parser; a path that cannot be written is a usage
error (exit 2) before any request. And ``apply --json`` gives every change's outcome."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from do_images import Client
from do_images.testing import SANDBOX_BASE_URL, SANDBOX_TOKEN, Sandbox
from support import Run, cli_runner

START = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
FLEET = """\
version = 1

[[group]]
name = "web"
select = { name_prefix = "web-" }
regions = ["nyc3", "sfo3"]
keep = 2
"""
PREVIOUS = 'do_images_fleet_last_success_timestamp_seconds{group="web"} 1764000000\n'
LAST = "do_images_fleet_last_success_timestamp_seconds"


@pytest.fixture
def world() -> Sandbox:
    """``web-1`` (copied to sfo3), ``web-2`` (there already), ``web-3`` (deleted)."""
    sandbox = Sandbox(start=START, seed=False)
    for number, days, regions in ((1, 1, ["nyc3"]), (2, 5, ["nyc3", "sfo3"]), (3, 40, ["nyc3"])):
        sandbox.add_image(
            f"web-{number}", id=number, regions=regions, created_at=START - timedelta(days=days)
        )
    return sandbox


@pytest.fixture
def run(world: Sandbox) -> Run:
    return cli_runner(world)


@pytest.fixture
def fleet(tmp_path: Path) -> str:
    path = tmp_path / "fleet.toml"
    path.write_text(FLEET)
    return str(path)


@pytest.fixture
def metrics(tmp_path: Path) -> Path:
    """A metrics file an earlier apply wrote."""
    path = tmp_path / "textfile" / "do_images.prom"
    path.parent.mkdir()
    path.write_text(PREVIOUS)
    return path


def samples(path: Path) -> dict[tuple[str, str], float]:
    """``(metric, group) -> value`` of the file, read by Prometheus' parser."""
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(path.read_text("utf-8")):
        for sample in family.samples:
            if "droplet_id" not in sample.labels:
                found[(sample.name, sample.labels["group"])] = sample.value
    return found


def test_apply_writes_the_metrics_file(run: Run, fleet: str, metrics: Path) -> None:
    """A whole apply: exit 0, the group's last success now, its deletion counted."""
    before = datetime.now(timezone.utc).timestamp()
    result = run("apply", fleet, "--yes", "--metrics-file", str(metrics))
    assert result.code == 0, result.err
    found = samples(metrics)
    assert found[(LAST, "web")] >= before
    assert found[("do_images_fleet_snapshots_deleted", "web")] == 1


def test_a_failed_apply_writes_it_and_keeps_the_last_success(
    run: Run, fleet: str, metrics: Path, world: Sandbox
) -> None:
    """A transfer that errors: exit 3, the file written, the last success carried over."""
    world.error_next_action()
    result = run("apply", fleet, "--yes", "--metrics-file", str(metrics))
    assert result.code == 3
    found = samples(metrics)
    assert found[(LAST, "web")] == 1764000000
    assert found[("do_images_fleet_snapshots_deleted", "web")] == 0


def test_nothing_to_do_is_a_success_too(run: Run, fleet: str, metrics: Path) -> None:
    """A second apply finds nothing to do: still exit 0, the file written, last success
    now (a schedule that has nothing to do has not stopped)."""
    assert run("apply", fleet, "--yes").code == 0
    before = datetime.now(timezone.utc).timestamp()
    result = run("apply", fleet, "--yes", "--metrics-file", str(metrics))
    assert result.code == 0
    assert "No changes" in result.out
    assert samples(metrics)[(LAST, "web")] >= before


@pytest.mark.parametrize("where", ["missing directory", "a directory", "under a file"])
def test_an_unwritable_metrics_file_is_a_usage_error_before_any_request(
    run: Run, fleet: str, world: Sandbox, tmp_path: Path, where: str
) -> None:
    """Exit 2 naming --metrics-file (not the SDK's parameter) and the path; not one
    request (the plan is not made)."""
    path = {
        "missing directory": tmp_path / "nowhere" / "do_images.prom",
        "a directory": tmp_path,
        "under a file": Path(fleet) / "do_images.prom",
    }[where]
    result = run("apply", fleet, "--yes", "--metrics-file", str(path))
    assert result.code == 2
    assert result.err.startswith(f"error: --metrics-file {path}"), result.err
    assert "metrics_file" not in result.err
    assert world.requests == []


def test_ctrl_c_writes_the_file_then_exits_130(
    world: Sandbox, fleet: str, metrics: Path, tmp_path: Path
) -> None:
    """Ctrl-C while the transfer is awaited: exit 130, and the file says what was done
    (nothing succeeded)."""

    def stop(seconds: float) -> None:
        raise KeyboardInterrupt

    def interrupting(target: object) -> Client:
        return Client(
            SANDBOX_TOKEN,
            transport=world.transport(),
            base_url=SANDBOX_BASE_URL,
            sleep=stop,
            clock=world.clock,
        )

    result = cli_runner(world)(
        "apply", fleet, "--yes", "--metrics-file", str(metrics), factory=interrupting
    )
    assert result.code == 130
    found = samples(metrics)
    assert found[(LAST, "web")] == 1764000000
    assert found[("do_images_fleet_snapshots_created", "web")] == 0


def test_the_json_report_gives_every_changes_outcome(run: Run, fleet: str, tmp_path: Path) -> None:
    """``apply --json``: one result per entry of the plan, each with its outcome: the
    changes ``done``, the verdicts apply does not act on ``kept``."""
    saved = str(tmp_path / "plan.json")
    assert run("plan", fleet, "--out", saved).code == 0
    planned = json.loads(Path(saved).read_text())
    entries = {
        (entry["action"], entry["image_id"], entry.get("region"))
        for entry in planned["entries"]
    }
    result = run("apply", saved, "--yes", "--json")
    assert result.code == 0
    report = json.loads(result.out)
    told = {(r["action"], r["image_id"], r.get("region")): r["outcome"] for r in report["results"]}
    assert set(told) == entries != set()
    assert len(report["results"]) == len(planned["entries"])
    for (action, _, _), outcome in told.items():
        changed = action in ("snapshot", "transfer", "tag", "delete")
        assert outcome == ("done" if changed else "kept"), (action, outcome)
    assert any(action == "keep" for action, _, _ in told)
