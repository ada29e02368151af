"""``do-images droplet list|snapshot|snapshots|power-on`` and ``action ACTION_ID``, in-process
through ``main(argv)`` against a sandbox: the tables, the image printed (not the action),
the exit statuses 12 (busy), 8 (no image) and 3 (left off), and what each Ctrl-C does."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone

import pytest

from do_images import Client
from do_images.cli._main import Target
from do_images.testing import Sandbox
from support import Run, cli_runner

WEB_01 = 3164494  # active, nyc3, web: a 30 s snapshot
DB_01 = 3164497  # active, fra1: a 25 min snapshot
WORKER_01 = 3164498  # off
START = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def sandbox() -> Sandbox:
    """A fresh sandbox after the seed's history."""
    return Sandbox(start=START)


@pytest.fixture
def run(sandbox: Sandbox) -> Run:
    return cli_runner(sandbox)


def status(sandbox: Sandbox, droplet_id: int) -> str:
    """The droplet's status once every action on it has ended."""
    sandbox.advance(3600)
    return str(next(d for d in sandbox.droplets if d.id == droplet_id).status)


def posts(sandbox: Sandbox, droplet_id: int) -> list[str]:
    """The ``type`` of every droplet action accepted for ``droplet_id``."""
    return [
        json.loads(r.body)["type"]
        for r in sandbox.requests
        if r.operation == "dropletActions_post"
        and r.path == f"/v2/droplets/{droplet_id}/actions"
        and r.status == 201
    ]


def interrupting(sandbox: Sandbox, *when: Callable[[], bool]) -> Callable[[Target], Client]:
    """A client factory whose sleeps advance the sandbox, but the first sleep for which
    each of ``when`` in turn says so is a Ctrl-C."""
    pending = list(when)

    def sleep(seconds: float) -> None:
        if pending and pending[0]():
            pending.pop(0)
            raise KeyboardInterrupt
        sandbox.advance(seconds)

    def factory(target: Target) -> Client:
        return Client("t", transport=sandbox.transport(), sleep=sleep, clock=sandbox.clock)

    return factory


# ------------------------------------------------------------------ list, snapshots


def test_list_shows_the_doctl_columns(run: Run) -> None:
    """``droplet list`` shows ID, NAME, STATUS, REGION, LOCKED, SNAPSHOTS, TAGS; ``--tag``
    keeps the tagged ones; ``--json`` is the droplets as the API sent them."""
    result = run("droplet", "list")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "STATUS", "REGION", "LOCKED", "SNAPSHOTS", "TAGS"]
    assert any(line.split()[:5] == ["3164498", "worker-01", "off", "lon1", "no"] for line in lines)
    tagged = run("droplet", "list", "--tag", "web", "--json").json()
    assert [d["name"] for d in tagged] == ["web-01", "web-02", "web-03"]


def test_snapshots_lists_snapshots_and_backups_newest_first(run: Run) -> None:
    """``droplet snapshots`` lists a droplet's snapshots and backups, newest first."""
    made = run("droplet", "snapshot", str(DB_01), "--name", "db-now", "--json").json()
    result = run("droplet", "snapshots", str(DB_01))
    assert result.code == 0, result.err
    rows = [line.split() for line in result.out.splitlines()[1:]]
    assert rows[0][:3] == [str(made["id"]), "db-now", "snapshot"]
    listed = run("droplet", "snapshots", str(DB_01), "--json").json()
    assert [item["type"] for item in listed] == ["snapshot", "backup", "backup"]
    created = [item["created_at"] for item in listed]
    assert created == sorted(created, reverse=True)


# ------------------------------------------------------------------ snapshot


def test_snapshot_prints_the_image_and_a_line_per_change(run: Run, sandbox: Sandbox) -> None:
    """``droplet snapshot --power-off`` prints the image (``--json``: the image's JSON);
    off a terminal stderr has a line per change of each action; the droplet ends active."""
    result = run("droplet", "snapshot", str(WEB_01), "--power-off", "--poll", "5", "--json")
    assert result.code == 0, result.err
    image = result.json()
    assert (image["type"], image["status"]) == ("snapshot", "available")
    assert image["name"] == "web-01-20261206-120000"
    lines = result.err.splitlines()
    assert [line.split(" ")[0] for line in lines] == [
        "shutdown",
        "snapshot",
        "snapshot",
        "power_on",
        "power_on",
    ]
    assert lines[1].startswith("snapshot ")
    assert ": in-progress, " in lines[1]
    assert f"on droplet {WEB_01}: completed, " in lines[2]
    assert status(sandbox, WEB_01) == "active"


def test_a_live_line_on_a_terminal(run: Run) -> None:
    """On a terminal the line is rewritten in place after every poll."""
    result = run("droplet", "snapshot", str(WEB_01), "--poll", "5", tty=True)
    assert result.code == 0, result.err
    frames = [frame for frame in result.err.split("\r") if frame.strip()]
    assert len(frames) >= 5
    assert "name" in result.out


def test_no_wait_prints_the_action(run: Run) -> None:
    """``--no-wait`` prints the in-progress droplet action; ``action ACTION_ID`` shows it."""
    action = run("droplet", "snapshot", str(WEB_01), "--no-wait", "--json").json()
    assert (action["type"], action["status"], action["resource_type"]) == (
        "snapshot",
        "in-progress",
        "droplet",
    )
    shown = run("action", str(action["id"]), "--json")
    assert shown.code == 0, shown.err
    assert shown.json()["id"] == action["id"]


def test_action_with_two_arguments_keeps_its_image_form(run: Run, sandbox: Sandbox) -> None:
    """``action ID ACTION_ID`` still shows an image's action; a missing one says whose."""
    transfer = run("transfer", "180040001", "sfo3", "--json").json()
    assert run("action", "180040001", str(transfer["id"]), "--json").json() == transfer
    missing = run("action", "777")
    assert missing.code == 4
    assert "not found: action 777" in missing.err


@pytest.mark.parametrize("timeout", ["60m", "3600", "2h"])
def test_timeout_takes_minutes_or_seconds(run: Run, timeout: str) -> None:
    """``--timeout 60m``, ``3600`` and ``2h`` are all accepted."""
    assert run("droplet", "snapshot", str(WEB_01), "--timeout", timeout).code == 0


def test_a_bad_timeout_or_id_is_a_usage_error(run: Run, sandbox: Sandbox) -> None:
    """A timeout that is no time, or an id that is no droplet id, exits 2 before any request."""
    assert run("droplet", "snapshot", str(WEB_01), "--timeout", "soon").code == 2
    assert run("droplet", "snapshot", "web-01").code == 2
    assert sandbox.requests == []


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "3164494.0"])
def test_a_bad_id_is_named_in_plain_english(run: Run, bad: str) -> None:
    """A bad droplet id is "not a droplet id" (not "an droplet id"), exit 2."""
    result = run("droplet", "snapshot", bad)
    assert result.code == 2
    assert "is not a droplet id (a positive whole number)" in result.err


def test_power_off_with_no_wait_is_said_in_flags(run: Run, sandbox: Sandbox) -> None:
    """``--power-off --no-wait`` exits 2 before any request, naming the two options (not
    the SDK's ``power_off=True``/``wait=True``)."""
    result = run("droplet", "snapshot", str(WEB_01), "--power-off", "--no-wait")
    assert result.code == 2
    assert "--power-off" in result.err
    assert "--no-wait" in result.err
    assert "power_off=True" not in result.err
    assert sandbox.requests == []


# ------------------------------------------------------------------ failures


def test_a_busy_droplet_exits_12(run: Run) -> None:
    """A droplet with an action running: exit 12, the droplet named, try again later."""
    assert run("droplet", "snapshot", str(DB_01), "--no-wait").code == 0
    result = run("droplet", "snapshot", str(DB_01))
    assert result.code == 12
    assert "droplet 3164497 is busy" in result.err
    assert "try again" in result.err
    assert run("droplet", "power-on", str(DB_01)).code == 12


def test_an_image_that_never_shows_exits_8() -> None:
    """A completed snapshot whose image does not show: exit 8, and where to look later."""
    sandbox = Sandbox(start=START, snapshot_image_lag=900)
    result = cli_runner(sandbox)("droplet", "snapshot", str(WEB_01), "--poll", "30")
    assert result.code == 8
    assert f"do-images droplet snapshots {WEB_01}" in result.err.splitlines()[-1]


def test_a_failed_power_on_exits_3(sandbox: Sandbox) -> None:
    """A power-on the API refuses: exit 3, the droplet left off and the command for it."""

    def refuse() -> bool:
        if "snapshot" in posts(sandbox, WEB_01):
            sandbox.fail_next(403, method="POST")
        return False

    result = cli_runner(sandbox)(
        "droplet", "snapshot", str(WEB_01), "--power-off", factory=interrupting(sandbox, refuse)
    )
    assert result.code == 3, result.err
    assert f"do-images droplet power-on {WEB_01}" in result.err
    assert status(sandbox, WEB_01) == "off"


def test_an_errored_snapshot_exits_7_with_the_droplet_on(run: Run, sandbox: Sandbox) -> None:
    """An errored snapshot with ``--power-off``: exit 7, the droplet powered on again."""
    sandbox.fail_next_snapshot()
    result = run("droplet", "snapshot", str(WEB_01), "--power-off")
    assert result.code == 7
    assert "errored" in result.err
    assert status(sandbox, WEB_01) == "active"


# ------------------------------------------------------------------ Ctrl-C


def test_ctrl_c_without_power_off_says_the_snapshot_goes_on(sandbox: Sandbox) -> None:
    """Ctrl-C while a snapshot runs: exit 130, it goes on, and where its image will show."""
    result = cli_runner(sandbox)(
        "droplet", "snapshot", str(WEB_01), factory=interrupting(sandbox, lambda: True)
    )
    assert result.code == 130
    last = result.err.splitlines()[-1]
    assert "goes on server-side" in last
    assert f"do-images droplet snapshots {WEB_01}" in last
    assert posts(sandbox, WEB_01) == ["snapshot"]


def test_the_first_ctrl_c_waits_then_powers_on(sandbox: Sandbox) -> None:
    """With ``--power-off``, the first Ctrl-C after the snapshot started says it waits for
    the snapshot to end ("Ctrl-C again to leave it off"), then powers the droplet on."""
    result = cli_runner(sandbox)(
        "droplet",
        "snapshot",
        str(WEB_01),
        "--power-off",
        factory=interrupting(sandbox, lambda: "snapshot" in posts(sandbox, WEB_01)),
    )
    assert result.code == 130
    assert "Ctrl-C again to leave it off" in result.err
    assert "powered on again" in result.err.splitlines()[-1]
    assert "left off" not in result.err
    assert posts(sandbox, WEB_01) == ["shutdown", "snapshot", "power_on"]
    assert status(sandbox, WEB_01) == "active"


def test_a_second_ctrl_c_leaves_the_droplet_off(sandbox: Sandbox) -> None:
    """A second Ctrl-C leaves at once: the droplet stays off and the command that powers it
    on is printed; no power-on is sent."""
    started = lambda: "snapshot" in posts(sandbox, DB_01)  # noqa: E731
    result = cli_runner(sandbox)(
        "droplet",
        "snapshot",
        str(DB_01),
        "--power-off",
        factory=interrupting(sandbox, started, started),
    )
    assert result.code == 130
    assert "Ctrl-C again to leave it off" in result.err
    assert result.err.splitlines()[-1].endswith(f"do-images droplet power-on {DB_01}")
    assert posts(sandbox, DB_01) == ["shutdown", "snapshot"]
    assert status(sandbox, DB_01) == "off"


def test_ctrl_c_before_the_snapshot_powers_the_droplet_on(sandbox: Sandbox) -> None:
    """Ctrl-C while the droplet shuts down: no snapshot, the droplet powered on again."""
    result = cli_runner(sandbox)(
        "droplet",
        "snapshot",
        str(WEB_01),
        "--power-off",
        factory=interrupting(sandbox, lambda: bool(posts(sandbox, WEB_01))),
    )
    assert result.code == 130
    assert "before the snapshot started" in result.err.splitlines()[-1]
    assert posts(sandbox, WEB_01) == ["shutdown", "power_on"]
    assert status(sandbox, WEB_01) == "active"


def test_ctrl_c_before_the_snapshot_with_a_failed_power_on_says_how_to_power_on(
    sandbox: Sandbox,
) -> None:
    """Ctrl-C while the droplet shuts down, and the power-on after it refused: the droplet
    is left off, and the last line says so with the command that powers it on (not that a
    snapshot may have started)."""

    def interrupt() -> bool:
        if posts(sandbox, WEB_01) == ["shutdown"]:
            sandbox.fail_next(403, method="POST")
            return True
        return False

    result = cli_runner(sandbox)(
        "droplet", "snapshot", str(WEB_01), "--power-off", factory=interrupting(sandbox, interrupt)
    )
    assert result.code == 130
    last = result.err.splitlines()[-1]
    assert "left off" in last
    assert last.endswith(f"do-images droplet power-on {WEB_01}")
    assert "may have started" not in result.err
    assert posts(sandbox, WEB_01) == ["shutdown"]
    assert status(sandbox, WEB_01) == "off"


def test_an_off_droplet_stays_off(run: Run, sandbox: Sandbox) -> None:
    """``--power-off`` on a droplet that is off snapshots it and never powers it on."""
    assert run("droplet", "snapshot", str(WORKER_01), "--power-off").code == 0
    assert posts(sandbox, WORKER_01) == ["snapshot"]
    assert status(sandbox, WORKER_01) == "off"


def test_hints_reach_the_same_api(tmp_path: object) -> None:
    """A hint names ``--sandbox --state FILE`` (or ``--base-url``), as every hint does."""
    import argparse

    from do_images.cli._output import again

    args = argparse.Namespace(sandbox=True, state="s.json", base_url="x")
    assert again(args, f"droplet power-on {WEB_01}") == (
        f"do-images --sandbox --state s.json droplet power-on {WEB_01}"
    )
