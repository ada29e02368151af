"""``plan`` and ``apply``: Terraform's words, the plan document, and the exit statuses."""

from __future__ import annotations

import json
import shlex
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
    """``plan`` prints Terraform's signs, reasons, notes, summary and estimate; changes nothing."""
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
        "Applying takes about 67 requests and 10 min within the request budget.",
    ]
    assert world.count("POST") + world.count("DELETE") == 0


def test_plan_json_is_the_plan_document(run: Run, fleet: str) -> None:
    """``--json plan`` prints the format-2 plan document with its summary and fleet path."""
    document = run("--json", "plan", fleet).json()
    assert document["format_version"] == 2
    assert document["summary"] == {
        "snapshots": 0,
        "transfers": 1,
        "tags": 2,
        "deletions": 1,
        "kept": 2,
        "protected": 0,
        "orphaned": 0,
        "pending": 0,
    }
    assert document["fleet"]["path"] == fleet
    assert {e["action"] for e in document["entries"]} == {"keep", "delete", "transfer", "tag"}
    assert set(document) >= {"listed_at", "fingerprint", "entries", "estimate"}


def test_detailed_exitcode(run: Run, fleet: str, tmp_path: Path) -> None:
    """``--detailed-exitcode``: 2 with changes, 0 without, 1 on an error (2 without the flag)."""
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
    """A saved plan applied as it is, with progress lines; then nothing left to do."""
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
    """``--json apply`` prints the report: ok and each entry's outcome, the changes done
    and the images that stay ``kept``."""
    result = run("--json", "apply", fleet, "--yes")
    report = result.json()
    assert report["ok"] is True
    changes = [r["outcome"] for r in report["results"] if r["action"] not in ("keep",)]
    assert changes == ["done"] * 4
    assert {r["outcome"] for r in report["results"] if r["action"] == "keep"} <= {"kept"}


def test_a_stale_plan_exits_11(run: Run, fleet: str, tmp_path: Path, world: Sandbox) -> None:
    """The image a saved plan deletes renamed since: exit 11, nothing applied."""
    saved = str(tmp_path / "plan.json")
    run("plan", fleet, "--out", saved)
    with world.client() as do:
        do.image.update(3, "web-3-renamed")  # the image the plan deletes
    result = run("apply", saved, "--yes")
    assert result.code == 11
    assert "changed, appeared or went since the plan" in result.err


def test_a_failed_transfer_exits_3_and_deletes_nothing(
    run: Run, fleet: str, world: Sandbox
) -> None:
    """An errored transfer: exit 3, the group's deletion skipped and said why."""
    world.error_next_action()
    result = run("apply", fleet, "--yes")
    assert result.code == 3
    assert "skipped - delete   3 web-3: not deleted: a transfer of group 'web' failed" in result.err
    assert 3 in {image.id for image in world.images}


def test_too_many_deletions_is_a_usage_error(run: Run, fleet: str, world: Sandbox) -> None:
    """Over ``--max-delete``: exit 2 before any change, said in the command line's words."""
    result = run("apply", fleet, "--yes", "--max-delete", "0")
    assert result.code == 2
    assert "more than --max-delete 0; if that is meant, raise it: --max-delete 1" in result.err
    assert "apply_fleet(" not in result.err
    assert world.count("DELETE") + world.count("POST") == 0


def test_the_fleet_files_max_delete_holds_unless_the_flag_says(
    run: Run, world: Sandbox, tmp_path: Path
) -> None:
    """``max_delete = 0`` in the file: exit 2 before any change, naming it; ``--max-delete``
    wins over it."""
    path = tmp_path / "fleet.toml"
    path.write_text("max_delete = 0\n" + FLEET)
    refused = run("apply", str(path), "--yes")
    assert refused.code == 2
    assert "more than the fleet file's max_delete 0; if that is meant, raise it: " in refused.err
    assert world.count("DELETE") + world.count("POST") == 0
    assert run("apply", str(path), "--yes", "--max-delete", "1").code == 0
    assert 3 not in {image.id for image in world.images}


def test_an_unknown_region_is_a_usage_error_before_the_images_are_read(
    run: Run, world: Sandbox, tmp_path: Path
) -> None:
    """``regions = ["mars1"]``: plan exits 2 naming the region and its group, having read
    only the regions; a retired region (ams1) is refused the same way."""
    for region, why in (("mars1", "is unknown"), ("ams1", "is not available")):
        path = tmp_path / "fleet.toml"
        path.write_text(FLEET.replace('"sfo3"]', f'"{region}"]'))
        result = run("plan", str(path))
        assert result.code == 2
        assert f"group 'web': region '{region}' {why}" in result.err
    assert {request.operation for request in world.requests} == {"regions_list"}


def test_no_yes_without_a_terminal_and_declined_at_the_prompt(
    run: Run, fleet: str, world: Sandbox
) -> None:
    """No ``--yes`` off a terminal is exit 2; declined at the prompt 1; accepted 0."""
    assert run("apply", fleet).code == 2
    declined = run("apply", fleet, stdin="n\n", tty=True)
    assert declined.code == 1
    assert "not applied" in declined.err
    accepted = run("apply", fleet, stdin="yes\n", tty=True)
    assert accepted.code == 0


def test_a_bad_plan_file_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    """JSON that is no plan is a usage error; a plan of another format version is stale."""
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"entries": []}))
    result = run("apply", str(path), "--yes")
    assert result.code == 2
    assert "not a fleet plan" in result.err
    path.write_text(json.dumps({"format_version": 9}))
    result = run("apply", str(path), "--yes")
    assert result.code == 11
    assert "format_version 2: plan again" in result.err


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


# ------------------------------------------------------------- hostile and careless


def test_a_forged_plan_deleting_a_backup_exits_11(
    run: Run, fleet: str, tmp_path: Path, world: Sandbox
) -> None:
    """H3 through the CLI: a delete of a backup added and the fingerprint recomputed: exit 11."""
    from do_images.fleet import fingerprint

    backup = world.add_image("web-backup", type="backup").id
    saved = tmp_path / "plan.json"
    assert run("plan", fleet, "--out", str(saved)).code == 0
    document = json.loads(saved.read_text())
    document["entries"].append(
        {"action": "delete", "group": "web", "image_id": backup, "image_name": "x", "reason": "!"}
    )
    document["images"][str(backup)] = "0" * 64
    document["fingerprint"] = fingerprint(document)
    saved.write_text(json.dumps(document))
    result = run("apply", str(saved), "--yes")
    assert result.code == 11
    assert backup in {image.id for image in world.images}
    assert world.count("DELETE") + world.count("POST") == 0


@pytest.mark.parametrize("where", ["no/such/dir/plan.json", "."])
def test_plan_out_to_a_path_that_cannot_be_written(run: Run, fleet: str, where: str) -> None:
    """``plan --out`` into a missing directory or onto a directory: one line, exit 2."""
    result = run("plan", fleet, "--out", where)
    assert result.code == 2
    assert result.err.startswith(f"error: cannot write plan {where}: ")
    assert len(result.err.splitlines()) == 1


def test_plan_out_onto_the_fleet_file_is_refused(run: Run, fleet: str, world: Sandbox) -> None:
    """``plan F --out F`` would replace the fleet file with the plan: refused, file untouched."""
    result = run("plan", fleet, "--out", fleet)
    assert result.code == 2
    assert "is the fleet file itself" in result.err
    assert Path(fleet).read_text() == FLEET
    assert world.requests == []


def test_hints_are_shell_quoted(run: Run, fleet: str, tmp_path: Path) -> None:
    """The ``apply it with`` hint quotes a path a shell would split or run."""
    hostile = str(tmp_path / "my plan.json;rm -rf x")
    result = run("plan", fleet, "--out", hostile)
    assert result.code == 0
    assert f"apply it with: do-images apply {shlex.quote(hostile)}" in result.err


def test_the_replan_hint_names_the_fleet_file(world: Sandbox, tmp_path: Path) -> None:
    """After a failed apply of plan.json, the hint plans the fleet file (absolute, quoted)."""
    folder = tmp_path / "my fleets"
    folder.mkdir()
    (folder / "fleet.toml").write_text(FLEET)
    run = cli_runner(world)
    saved = str(folder / "plan.json")
    assert run("plan", str(folder / "fleet.toml"), "--out", saved).code == 0
    world.error_next_action()
    result = run("apply", saved, "--yes")
    assert result.code == 3
    expected = shlex.join(["plan", str(folder / "fleet.toml")])
    assert f"plan again to see what remains: do-images {expected}" in result.err


def test_ctrl_c_during_apply_says_what_goes_on_then_the_plan_is_adopted(
    world: Sandbox, fleet: str, tmp_path: Path
) -> None:
    """Ctrl-C while apply waits: exit 130, transfers go on server-side, plan again; the same
    plan.json applied afterwards adopts the transfer (one POST) and exits 0."""
    from do_images import Client
    from do_images.testing import SANDBOX_BASE_URL, SANDBOX_TOKEN

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

    run = cli_runner(world)
    saved = str(tmp_path / "plan.json")
    assert run("plan", fleet, "--out", saved).code == 0
    stopped = run("apply", saved, "--yes", factory=interrupting)
    assert stopped.code == 130
    (line,) = [line for line in stopped.err.splitlines() if line.startswith("error:")]
    assert "transfers already started go on server-side" in line
    assert f"plan again to see what remains: do-images plan {fleet}" in line
    again = run("apply", saved, "--yes")
    assert again.code == 0, again.err
    assert "adopted" in again.err
    assert world.count("POST", "imageActions_post") == 1


def test_deep_files_are_usage_errors(run: Run, tmp_path: Path) -> None:
    """A plan or a fleet file nested thousands deep: one line, exit 2 (not "unexpected")."""
    deep_plan = tmp_path / "deep.json"
    deep_plan.write_text('{"format_version": 2, "x":' + "[" * 100_000 + "]" * 100_000 + "}")
    deep_fleet = tmp_path / "deep.toml"
    deep_fleet.write_text("version = 1\nx = " + "[" * 2000 + "]" * 2000 + "\n")
    for result in (run("apply", str(deep_plan), "--yes"), run("plan", str(deep_fleet))):
        assert result.code == 2
        assert "nested too deeply" in result.err
        assert "unexpected" not in result.err
