"""``plan`` and ``apply``: Terraform's words, the plan document, and the exit statuses."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from do_images.testing import Sandbox
from support import Run, cli_runner

START = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
FLEET = """\
version = 1

[[group]]
name = "web"
select = { name_prefix = "web-" }
regions = ["nyc3", "sfo3"]
keep = 2
ensure_tags = ["managed"]
"""


@pytest.fixture
def world() -> Sandbox:
    sandbox = Sandbox(start=START, seed=False)
    for number, days, regions in (
        (1, 1, ["nyc3", "lon1"]),
        (2, 5, ["nyc3", "sfo3"]),
        (3, 40, ["nyc3"]),
    ):
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


def test_plan_reads_like_terraform(run: Run, fleet: str, world: Sandbox) -> None:
    result = run("plan", fleet)
    assert result.code == 0
    assert result.out.splitlines() == [
        "do-images will make these changes:",
        "",
        "  # group web",
        "  + transfer 1 web-1 to sfo3    missing in sfo3",
        "  ~ tag      1 web-1 + managed  ensure_tags",
        "  ~ tag      2 web-2 + managed  ensure_tags",
        "  - delete   3 web-3            rank 3 > keep 2, 40 days old",
        "",
        "Notes (left as they are):",
        "  image 1 (web-1) is also in lon1, outside the regions of group 'web': left as it is "
        "(the API cannot remove one region)",
        "",
        "Plan: 1 transfer, 2 tags, 1 deletion; 2 kept.",
        "Applying takes about 65 requests and 10 min within the request budget.",
    ]
    assert world.count("POST") + world.count("DELETE") == 0


def test_plan_json_is_the_plan_document(run: Run, fleet: str) -> None:
    document = run("--json", "plan", fleet).json()
    assert document["format_version"] == 1
    assert document["summary"] == {
        "transfers": 1,
        "tags": 2,
        "deletions": 1,
        "kept": 2,
        "protected": 0,
        "pending": 0,
    }
    assert document["fleet"]["path"] == fleet
    assert {e["action"] for e in document["entries"]} == {"keep", "delete", "transfer", "tag"}
    assert set(document) >= {"listed_at", "fingerprint", "entries", "estimate"}


def test_detailed_exitcode(run: Run, fleet: str, tmp_path: Path) -> None:
    assert run("plan", fleet, "--detailed-exitcode").code == 2
    assert run("apply", fleet, "--yes").code == 0
    assert run("plan", fleet, "--detailed-exitcode").code == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("version = 2\n")
    assert run("plan", str(bad), "--detailed-exitcode").code == 1
    assert run("plan", str(bad)).code == 2


def test_saved_plan_applied_then_nothing_to_do(
    run: Run, fleet: str, tmp_path: Path, world: Sandbox
) -> None:
    saved = str(tmp_path / "plan.json")
    planned = run("plan", fleet, "--out", saved)
    assert f"apply it with: do-images apply {saved}" in planned.err
    applied = run("apply", saved, "--yes")
    assert applied.code == 0
    assert "Applied: 4 done, 0 failed, 0 skipped." in applied.err
    assert "done    + transfer 1 web-1 to sfo3" in applied.err
    assert {image.id for image in world.images} == {1, 2}
    again = run("apply", fleet, "--yes")
    assert again.code == 0
    assert "No changes: the account matches the fleet file; 2 kept." in again.out


def test_apply_json_prints_what_happened(run: Run, fleet: str) -> None:
    result = run("--json", "apply", fleet, "--yes")
    report = result.json()
    assert report["ok"] is True
    assert sorted(r["outcome"] for r in report["results"]) == ["done"] * 4


def test_a_stale_plan_exits_11(run: Run, fleet: str, tmp_path: Path, world: Sandbox) -> None:
    saved = str(tmp_path / "plan.json")
    run("plan", fleet, "--out", saved)
    with world.client() as do:
        do.image.update(2, "web-2-renamed")
    result = run("apply", saved, "--yes")
    assert result.code == 11
    assert "changed, appeared or went since the plan" in result.err


def test_a_failed_transfer_exits_3_and_deletes_nothing(
    run: Run, fleet: str, world: Sandbox
) -> None:
    world.error_next_action()
    result = run("apply", fleet, "--yes")
    assert result.code == 3
    assert "skipped - delete   3 web-3: not deleted: a transfer of group 'web' failed" in result.err
    assert 3 in {image.id for image in world.images}


def test_too_many_deletions_is_a_usage_error(run: Run, fleet: str, world: Sandbox) -> None:
    result = run("apply", fleet, "--yes", "--max-delete", "0")
    assert result.code == 2
    assert "--max-delete 1" in result.err
    assert world.count("DELETE") == 0


def test_no_yes_without_a_terminal_and_declined_at_the_prompt(
    run: Run, fleet: str, world: Sandbox
) -> None:
    assert run("apply", fleet).code == 2
    declined = run("apply", fleet, stdin="n\n", tty=True)
    assert declined.code == 1
    assert "not applied" in declined.err
    accepted = run("apply", fleet, stdin="yes\n", tty=True)
    assert accepted.code == 0


def test_a_bad_plan_file_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"format_version": 9}))
    result = run("apply", str(path), "--yes")
    assert result.code == 2
    assert "format_version 1" in result.err


def test_against_a_served_sandbox(world: Sandbox, fleet: str) -> None:
    """The same fleet over real HTTP (its waits on the sandbox's clock): plan, apply, done."""
    from do_images import Client

    run = cli_runner(world)
    with world.serve() as base_url:

        def served(target: object) -> Client:
            return Client(
                "dop_v1_served_token", base_url=base_url, sleep=world.advance, clock=world.clock
            )

        assert run("plan", fleet, "--detailed-exitcode", factory=served).code == 2
        assert run("apply", fleet, "--yes", "--max-delete", "5", factory=served).code == 0
        assert run("plan", fleet, "--detailed-exitcode", factory=served).code == 0
    assert {r.operation for r in world.requests} >= {"images_list", "imageActions_post"}
