"""``do-images droplet snapshot --power-off`` on a real pseudo-terminal: the live line, the
image printed, the droplet left ``active``; and Ctrl-C (SIGINT) as people press it: the
first waits for the snapshot to end and powers the droplet on, a second leaves it off with
the command that powers it on, and without ``--power-off`` the snapshot goes on.

The Ctrl-C runs go to a served sandbox whose clock moves ten virtual seconds with each
request, so a 30 s snapshot ends within a few polls of one second and a 25 min one does
not end while the test waits.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from do_images.testing import Sandbox
from pty_support import ENV, POSIX, Terminal, script

WEB_01 = 3164494  # a 30 s snapshot
DB_01 = 3164497  # a 25 min snapshot
STEP = 10.0
"""Virtual seconds the hurried sandbox's clock moves with each request."""
TOKEN_ENV = {**ENV, "DIGITALOCEAN_TOKEN": "dop_v1_" + "t" * 20}


class Hurried(Sandbox):
    """A sandbox whose clock moves ``STEP`` virtual seconds with each request it answers."""

    def handle(self, method: str, url: httpx.URL, headers: httpx.Headers, body: bytes) -> Any:
        self.advance(STEP)
        return super().handle(method, url, headers, body)


@contextmanager
def served() -> Iterator[tuple[Hurried, str]]:
    """A hurried sandbox served on loopback, and its base URL."""
    sandbox = Hurried(start=datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc))
    with sandbox.serve() as base_url:
        yield sandbox, base_url


def status(sandbox: Sandbox, droplet_id: int) -> str:
    """The droplet's status once every action on it has ended."""
    sandbox.advance(3600)
    return str(next(d for d in sandbox.droplets if d.id == droplet_id).status)


def power_ons(sandbox: Sandbox, droplet_id: int) -> int:
    """How many ``power_on`` POSTs the droplet got."""
    return sum(
        1
        for r in sandbox.requests
        if r.path == f"/v2/droplets/{droplet_id}/actions" and b"power_on" in r.body
    )


@POSIX
def test_power_off_in_a_real_terminal_shows_a_live_line_and_the_image(tmp_path: Path) -> None:
    """``--sandbox --state s.json droplet snapshot ID --power-off`` on a pty of 100
    columns: a line rewritten in place, then the image; the droplet is active after."""
    state = str(tmp_path / "s.json")
    terminal = Terminal(
        100, "--sandbox", "--state", state, "droplet", "snapshot", str(WEB_01), "--power-off"
    )
    code, text, _ = terminal.finish()
    assert code == 0, text
    live, _, printed = text.partition("\nid ")
    frames = [frame for frame in live.split("\r") if frame.strip()]
    assert len(frames) >= 4  # rewritten in place: shutdown, snapshot polls, power-on
    assert any(f"snapshot 2060000002 on droplet {WEB_01}: in-progress" in f for f in frames)
    assert all(len(frame.rstrip("\n")) < 100 for frame in frames)
    assert "type            snapshot" in printed
    assert "status          available" in printed
    listed = script("--sandbox", "--state", state, "droplet", "list", "--json")
    droplet = next(d for d in json.loads(listed.stdout) if d["id"] == WEB_01)
    assert (droplet["status"], droplet["locked"]) == ("active", False)


@POSIX
def test_the_first_ctrl_c_waits_for_the_snapshot_then_powers_on() -> None:
    """Ctrl-C while the snapshot runs: "Ctrl-C again to leave it off", then the droplet
    is powered on once the snapshot ended; exit 130."""
    with served() as (sandbox, base_url):
        terminal = Terminal(
            100, "--base-url", base_url, "droplet", "snapshot", str(WEB_01), "--power-off",
            "--poll", "1", env=TOKEN_ENV,
        )  # fmt: skip
        terminal.wait_for(f"on droplet {WEB_01}: in-progress")
        terminal.wait_for("snapshot 2060000002")
        terminal.signal(signal.SIGINT)
        code, text, _ = terminal.finish()
        assert code == 130, text
        assert "Ctrl-C again to leave it off" in text
        assert f"droplet {WEB_01} was powered on again" in text
        assert "left off" not in text  # the SDK's WARNING is the command's to say
        assert power_ons(sandbox, WEB_01) >= 1
        assert status(sandbox, WEB_01) == "active"


@POSIX
def test_a_second_ctrl_c_leaves_at_once_with_the_power_on_command() -> None:
    """A second Ctrl-C while it waits for the snapshot: it leaves at once, prints the
    command that powers the droplet on (against the same server), sends no power-on."""
    with served() as (sandbox, base_url):
        terminal = Terminal(
            100, "--base-url", base_url, "droplet", "snapshot", str(DB_01), "--power-off",
            "--poll", "1", env=TOKEN_ENV,
        )  # fmt: skip
        terminal.wait_for("snapshot 2060000002")
        terminal.signal(signal.SIGINT)
        terminal.wait_for("Ctrl-C again to leave it off")
        terminal.signal(signal.SIGINT)
        code, text, _ = terminal.finish()
        assert code == 130, text
        assert f"do-images --base-url {base_url} droplet power-on {DB_01}" in text
        assert power_ons(sandbox, DB_01) == 0
        assert status(sandbox, DB_01) == "off"


@POSIX
def test_ctrl_c_without_power_off_says_where_the_image_will_be() -> None:
    """Without ``--power-off``, Ctrl-C says the snapshot goes on and how to find its image."""
    with served() as (sandbox, base_url):
        terminal = Terminal(
            100, "--base-url", base_url, "droplet", "snapshot", str(DB_01), "--poll", "1",
            env=TOKEN_ENV,
        )  # fmt: skip
        terminal.wait_for(f"on droplet {DB_01}: in-progress")
        terminal.signal(signal.SIGINT)
        code, text, _ = terminal.finish()
        assert code == 130, text
        assert "goes on server-side" in text
        assert f"do-images --base-url {base_url} droplet snapshots {DB_01}" in text
        assert power_ons(sandbox, DB_01) == 0


@POSIX
def test_a_left_off_hint_reaches_the_same_sandbox(tmp_path: Path) -> None:
    """``--power-off`` timing out on a sandbox kept in a file: the droplet is left off,
    and the power-on command the error gives names ``--sandbox --state FILE`` (the bare
    command would reach the real API with the sandbox's droplet id)."""
    state = str(tmp_path / "s.json")
    ran = script(
        "--sandbox", "--state", state, "droplet", "snapshot", str(WEB_01), "--power-off",
        "--timeout", "0.001",
    )  # fmt: skip
    assert ran.returncode == 8, ran.stderr
    error = ran.stderr.splitlines()[-1]
    assert "is left off" in error
    assert f"do-images --sandbox --state {state} droplet power-on {WEB_01}" in error
    assert "do-images droplet power-on" not in error
