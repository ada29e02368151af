"""The installed ``do-images`` console script, run as a subprocess against the sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from do_images import Client
from do_images.testing import Sandbox

SCRIPT = Path(sys.executable).with_name("do-images.exe" if os.name == "nt" else "do-images")
# No token in the environment: --sandbox must not need one, and nothing real is reached.
ENV = {
    key: value
    for key, value in os.environ.items()
    if key not in ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")
}


def script(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run the console script with stdin not a terminal; capture both streams."""
    return subprocess.run(
        [str(SCRIPT), *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=ENV,
        timeout=60,
        check=False,
    )


def test_console_script_is_installed() -> None:
    """Installing the project puts ``do-images`` next to the interpreter."""
    assert SCRIPT.is_file()


def test_sandbox_list_prints_a_table() -> None:
    """``do-images --sandbox list``, the README's first command, prints the seeded images
    of the account (as doctl's ``image list``)."""
    result = script("--sandbox", "list")
    lines = result.stdout.splitlines()
    assert (result.returncode, result.stderr) == (0, "")
    assert lines[0].split()[:5] == ["ID", "NAME", "TYPE", "DISTRIBUTION", "SLUG"]
    ours = [image.id for image in Sandbox().images if not image.public]
    assert [int(line.split()[0]) for line in lines[1:]] == ours


def test_sandbox_json_parses_back() -> None:
    """``--json info`` prints the image's documented dict."""
    result = script("--sandbox", "--json", "info", "ubuntu-24-04-x64")
    assert result.returncode == 0
    with Sandbox().client() as do:
        assert json.loads(result.stdout) == do.image.info("ubuntu-24-04-x64").model_dump()


def test_delete_refuses_without_a_terminal() -> None:
    """``delete`` with stdin not a terminal and no ``--yes`` exits 2 with one line."""
    image = next(image for image in Sandbox().images if not image.public)
    result = script("--sandbox", "delete", str(image.id))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "--yes" in result.stderr


def test_not_found_is_one_line_without_traceback() -> None:
    """An error is a single ``error:`` line and exit 4, never a traceback."""
    result = script("--sandbox", "info", "999")
    assert result.returncode == 4
    assert result.stderr.startswith("error: not found: image 999")
    assert result.stderr.count("\n") == 1


def test_wait_reports_progress_on_stderr() -> None:
    """``transfer --wait`` prints progress lines on stderr and the completed action on stdout."""
    image = next(image for image in Sandbox().images if image.regions == ["nyc3"])
    result = script("--sandbox", "--json", "transfer", str(image.id), "sfo3", "--wait")
    progress = result.stderr.splitlines()
    assert result.returncode == 0
    assert json.loads(result.stdout)["status"] == "completed"
    assert progress[0].endswith(": in-progress, 0 s")
    assert progress[-1].startswith(f"transfer {json.loads(result.stdout)['id']} on image ")
    assert ": completed, " in progress[-1]


def test_missing_token_is_one_line_exit_5() -> None:
    """Without ``--sandbox`` and without a token the script says how to set one; exit 5."""
    result = script("list")
    assert result.returncode == 5
    assert result.stderr.count("\n") == 1
    assert "DIGITALOCEAN_TOKEN" in result.stderr


@pytest.mark.skipif(os.name == "nt", reason="Ctrl-C is SIGINT on POSIX")
def test_sandbox_serve_prints_its_url_and_stops_on_ctrl_c() -> None:
    """``sandbox serve`` prints a loopback base URL, answers there, and exits 0 on Ctrl-C."""
    server = subprocess.Popen(
        [str(SCRIPT), "sandbox", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=ENV,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        with Client("any-token", base_url=base_url, max_retries=0, timeout=10) as do:
            assert do.image.info("ubuntu-24-04-x64").slug == "ubuntu-24-04-x64"
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 0
    assert "Traceback" not in err
