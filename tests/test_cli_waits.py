"""Waits on many things tell the truth: ``transfer`` to several regions refreshes each
region's line on every poll on a terminal and prints a line per change elsewhere; Ctrl-C
names every action it started; a region the image is already in is skipped, visibly.

In-process through ``main(argv)`` against a sandbox, and the installed script on a real
pseudo-terminal (Ctrl-C against a served sandbox whose clock is the real one).
"""

from __future__ import annotations

import json
import re
import signal

import pytest

from do_images import Client
from do_images.cli._main import Target
from do_images.testing import Sandbox
from pty_support import ENV, POSIX, Terminal, on_terminal
from support import Run, cli_runner

SNAPSHOT = 180040001  # web-01 2026-10-01, a private snapshot in nyc3 only
OTHER = 180040002  # web-02 2026-10-08, in nyc3 and ams3


@pytest.fixture
def sandbox() -> Sandbox:
    """A fresh sandbox whose actions take 12 virtual seconds."""
    return Sandbox(action_seconds=12)


@pytest.fixture
def run(sandbox: Sandbox) -> Run:
    return cli_runner(sandbox)


def redraws(err: str, regions: int) -> list[list[str]]:
    """The region board's redraws on a terminal: each, the lines it drew."""
    frames = err.split(f"\x1b[{regions}A")
    return [
        [line.split("\x1b[2K")[-1] for line in frame.strip("\n").split("\n")]
        for frame in frames
        if frame.strip("\n")
    ]


def elapsed(line: str) -> tuple[str, int]:
    """``(status, seconds)`` of a progress line ending ``: in-progress, 5 s``."""
    match = re.search(r": ([\w-]+), (\d+) s$", line)
    assert match is not None, line
    return match[1], int(match[2])


# ------------------------------------------------------------ several regions


def test_each_regions_line_is_refreshed_on_every_poll(run: Run) -> None:
    """On a terminal every region's line shows its status and the time elapsed after each
    poll (0, 5, 10 s), not ``0 s`` until the end; each ends ``completed, 15 s``."""
    result = run("transfer", str(SNAPSHOT), "lon1", "sgp1", "--wait", "--poll", "5", tty=True)
    assert result.code == 0, result.err
    frames = redraws(result.err, 2)
    lon1 = [elapsed(frame[0]) for frame in frames if len(frame) == 2]
    assert ("in-progress", 5) in lon1
    assert ("in-progress", 10) in lon1
    assert frames[-1] == [line for line in frames[-1] if line.endswith("completed, 15 s")]
    assert [line.split(" to ")[1].split(":")[0] for line in frames[-1]] == ["lon1", "sgp1"]


def test_off_a_terminal_each_change_is_one_line(run: Run, sandbox: Sandbox) -> None:
    """Off a terminal, one line per region when it starts and one when it is done (each
    naming its region), not a line per poll."""
    result = run("transfer", str(SNAPSHOT), "lon1", "sgp1", "--wait", "--poll", "5", "--json")
    assert result.code == 0, result.err
    ids = {action["region_slug"]: action["id"] for action in result.json()}
    assert result.err.splitlines() == [
        f"transfer {ids['lon1']} on image {SNAPSHOT} to lon1: in-progress, 0 s",
        f"transfer {ids['sgp1']} on image {SNAPSHOT} to sgp1: in-progress, 0 s",
        f"transfer {ids['lon1']} on image {SNAPSHOT} to lon1: completed, 15 s",
        f"transfer {ids['sgp1']} on image {SNAPSHOT} to sgp1: completed, 15 s",
    ]


def test_ctrl_c_names_every_action_it_started(run: Run, sandbox: Sandbox) -> None:
    """Ctrl-C while waiting on three regions: each transfer is named with the command that
    shows it, then one error line; exit 130; the transfers go on."""

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    def factory(target: Target) -> Client:
        return Client("t", transport=sandbox.transport(), sleep=interrupt, clock=sandbox.clock)

    result = run("transfer", str(SNAPSHOT), "lon1", "sgp1", "fra1", "--wait", factory=factory)
    assert result.code == 130
    started = sandbox.actions[-3:]
    assert {action.status for action in started} == {"in-progress"}
    lines = [line for line in result.err.splitlines() if "goes on server-side" in line]
    assert lines == [
        f"transfer {action.id} on image {SNAPSHOT} to {action.region_slug} goes on "
        f"server-side (check it with: do-images action {SNAPSHOT} {action.id})"
        for action in started
    ]
    assert result.err.splitlines()[-1] == (
        f"error: stopped waiting; the 3 transfers above go on server-side "
        f"(all of the image's actions: do-images actions {SNAPSHOT})"
    )


# ----------------------------------------------------------- already there


@pytest.mark.parametrize("regions", [("nyc3",), ("nyc3", "nyc3")])
def test_a_region_the_image_is_in_is_skipped_visibly(
    run: Run, sandbox: Sandbox, regions: tuple[str, ...]
) -> None:
    """One region or several: a region the image is already in says so and exits 0,
    where the API answers 422 (exit 3), and nothing is started."""
    result = run("transfer", str(SNAPSHOT), *regions)
    assert (result.code, result.out, result.err) == (0, "", "nyc3: already there\n")
    assert [action.resource_id for action in sandbox.actions].count(SNAPSHOT) == 1  # seeded


def test_another_refusal_of_the_api_is_still_an_error(run: Run) -> None:
    """A 422 for another reason (a transfer to that region already running) stays exit 3."""
    assert run("transfer", str(SNAPSHOT), "lon1").code == 0
    again = run("transfer", str(SNAPSHOT), "lon1")
    assert again.code == 3
    assert "already there" not in again.err


def test_the_other_regions_still_go(run: Run, sandbox: Sandbox) -> None:
    """``transfer ID nyc3 ams3``: nyc3 skipped with its line, ams3 transferred."""
    result = run("transfer", str(SNAPSHOT), "nyc3", "ams3", "--wait", "--json")
    assert result.code == 0, result.err
    assert [action["region_slug"] for action in result.json()] == ["ams3"]
    assert result.err.splitlines()[0] == "nyc3: already there"


def test_with_json_a_skipped_region_leaves_stdout_a_valid_document(run: Run) -> None:
    """``--json`` with every region already there: ``[]`` for several, nothing for one."""
    several = run("--json", "transfer", str(OTHER), "nyc3", "ams3")
    assert (several.code, json.loads(several.out)) == (0, [])
    assert several.err.splitlines() == ["nyc3: already there", "ams3: already there"]
    one = run("--json", "transfer", str(OTHER), "ams3")
    assert (one.code, one.out, one.err) == (0, "", "ams3: already there\n")


def test_a_bad_region_is_refused_before_any_request(run: Run, sandbox: Sandbox) -> None:
    """A region that is no slug exits 2 before the image is even looked at."""
    result = run("transfer", str(SNAPSHOT), "lon1", "NYC 3")
    assert result.code == 2
    assert "'NYC 3' is not a region slug" in result.err
    assert sandbox.requests == []


def test_the_single_region_line_names_its_region(run: Run) -> None:
    """The live line of a one-region ``transfer --wait`` names the target region."""
    result = run("transfer", str(SNAPSHOT), "sfo3", "--wait", "--poll", "5")
    assert result.code == 0, result.err
    assert all(" to sfo3: " in line for line in result.err.splitlines())


# ------------------------------------------------------ on a real terminal


@POSIX
def test_a_real_terminal_sees_each_region_tick() -> None:
    """On a pty of 100 columns each region's line is redrawn with the time going by."""
    code, text, _ = on_terminal(
        100, "--sandbox", "transfer", str(SNAPSHOT), "lon1", "sgp1", "--wait", "--poll", "5"
    )
    assert code == 0, text
    lines = [line for frame in redraws(text, 2) for line in frame if " on image " in line]
    seconds = sorted({elapsed(line)[1] for line in lines})
    assert seconds == list(range(0, 35, 5))  # 30 s transfers, a poll every 5 s
    assert all(len(line) < 100 for line in lines)


@POSIX
def test_ctrl_c_on_a_real_terminal_names_each_transfer() -> None:
    """Against a served sandbox (real time), Ctrl-C on a pty during a three-region wait
    prints each transfer with the command that shows it, against the same server."""
    with Sandbox(realtime=True).serve() as base_url:
        env = {**ENV, "DIGITALOCEAN_TOKEN": "dop_v1_" + "t" * 20}
        terminal = Terminal(
            100, "--base-url", base_url, "transfer", str(SNAPSHOT), "lon1", "sgp1", "fra1",
            "--wait", env=env,
        )  # fmt: skip
        terminal.wait_for("to fra1: in-progress")
        terminal.signal(signal.SIGINT)
        code, text, _ = terminal.finish()
    assert code == 130, text
    hints = re.findall(
        rf"transfer (\d+) on image {SNAPSHOT} to (\w+) goes on server-side \(check it with: "
        rf"do-images --base-url {re.escape(base_url)} action {SNAPSHOT} (\d+)\)",
        text,
    )
    assert [(region, first == second) for first, region, second in hints] == [
        ("lon1", True),
        ("sgp1", True),
        ("fra1", True),
    ]
    assert "error: stopped waiting; the 3 transfers above go on server-side" in text
