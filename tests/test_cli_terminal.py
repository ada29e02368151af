"""The installed ``do-images`` in the places people run it: a real pseudo-terminal of 40
and 200 columns, a wrong ``--base-url`` that answers HTML, a sandbox kept in a state file
by several processes, a served sandbox with a token, and shell completion."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from do_images import AuthenticationError, Client
from do_images.cli._text import width
from pty_support import ENV, POSIX, SCRIPT, in_terminal, on_terminal, script


@POSIX
@pytest.mark.parametrize("columns", [40, 200])
def test_list_fits_a_real_terminal(columns: int) -> None:
    """In a real pty, ``list`` fits 40 columns by cutting with an ellipsis, and 200 uncut."""
    code, text, errors = on_terminal(columns, "--sandbox", "list", stderr_apart=True)
    assert code == 0, errors
    lines = text.rstrip("\n").split("\n")
    assert lines[0].split()[:2] == ["ID", "NAME"]
    assert all(width(line) <= columns for line in lines)
    if columns == 40:
        assert any("…" in line for line in lines)
    else:  # wide enough for every default column whole
        assert not any("…" in line for line in lines)
        assert "SLUG" in lines[0]
        assert "CREATED" in lines[0]


@POSIX
@pytest.mark.parametrize("columns", [40, 200])
def test_the_live_wait_line_stays_one_row(columns: int) -> None:
    """The progress line of ``transfer --wait`` is redrawn in place, never wider than the pty."""
    code, text = in_terminal(columns, "--sandbox", "transfer", "180040001", "sfo3", "--wait")
    assert code == 0, text
    live = text.split("\n")[0]
    frames = [frame for frame in live.split("\r") if frame]
    assert len(frames) >= 2  # it was rewritten in place, not printed a row per poll
    assert all(width(frame) < columns for frame in frames)
    assert ("…" in frames[-1]) is (columns == 40)


# -------------------------------------------------------- a server that is not the API


class _Html(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    page = (
        b"<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
        + b"<p>line</p>\n" * 20
        + b"</body>\n</html>\n"
    )

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


@pytest.fixture
def html_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Html)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class _S3(BaseHTTPRequestHandler):
    """An S3-compatible server's answer to every request: 404, an XML body."""

    protocol_version = "HTTP/1.1"
    page = b'<?xml version="1.0"?><Error><Code>NoSuchBucket</Code></Error>'

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(404)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


@pytest.fixture
def s3_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _S3)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize(
    ("argv", "asked"),
    [
        (("list",), "GET /v2/images"),
        (("info", "180040001"), "GET /v2/images/180040001"),
        (("prune", "--keep", "3"), "GET /v2/images"),
    ],
)
def test_a_404_from_another_service_names_the_url_that_answered(
    s3_server: str, argv: tuple[str, ...], asked: str
) -> None:
    """A wrong ``--base-url`` (an S3 server, say) answering 404: one line naming the
    request and the URL that answered, asking whether it is the DigitalOcean API; exit 4."""
    env = {**ENV, "DIGITALOCEAN_TOKEN": "t" * 40}
    result = script("--base-url", s3_server, *argv, env=env)
    assert result.returncode == 4, result.stderr
    assert result.stderr == (
        f"error: {asked} answered 404 at {s3_server}: is that the DigitalOcean API? "
        "(check --base-url)\n"
    )


@pytest.mark.parametrize("argv", [("delete", "5", "-y"), ("transfer", "5", "nyc3"), ("list",)])
def test_an_html_answer_is_one_line(html_server: str, argv: tuple[str, ...]) -> None:
    """A proxy's HTML 502 becomes one stderr line with the status and type, no markup."""
    env = {**ENV, "DIGITALOCEAN_TOKEN": "t" * 40}
    result = script("--base-url", html_server, *argv, env=env)
    assert result.returncode in (3, 10), result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert "<html" not in result.stderr.lower()
    assert "502" in result.stderr
    assert "text/html" in result.stderr


# --------------------------------------------------------------- a state file


def test_a_state_file_carries_one_command_to_the_next(tmp_path: Path) -> None:
    """With ``--state``, an image created by one process is listed and deleted by the next."""
    state = str(tmp_path / "sandbox.json")
    created = script(
        "--sandbox", "--state", state, "--json", "create", "--name", "kept",
        "--url", "https://example.com/kept.img", "--region", "nyc3",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    image_id = json.loads(created.stdout)["id"]
    listed = script("--sandbox", "--state", state, "list", "--private", "--json")
    assert image_id in [image["id"] for image in json.loads(listed.stdout)]
    deleted = script("--sandbox", "--state", state, "delete", str(image_id), "-y")
    assert deleted.returncode == 0, deleted.stderr
    gone = script("--sandbox", "--state", state, "info", str(image_id))
    assert gone.returncode == 4
    assert json.loads(Path(state).read_text())["format"] == "do-images sandbox state"


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not JSON"), ('{"images": []}', "not a sandbox state file"), ("[1]", "not a")],
)
def test_a_corrupt_or_foreign_state_file_is_refused_and_kept(
    tmp_path: Path, content: str, message: str
) -> None:
    """A state file that is not a sandbox state exits 2 on one line and is left untouched."""
    state = tmp_path / "mine.json"
    state.write_text(content)
    result = script("--sandbox", "--state", str(state), "list")
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert state.read_text() == content


@POSIX
def test_processes_writing_one_state_file_at_once_lose_nothing(tmp_path: Path) -> None:
    """Six processes creating images in one state file at once all keep their image."""
    state = str(tmp_path / "shared.json")
    assert script("--sandbox", "--state", state, "list").returncode == 0
    names = [f"parallel-{n}" for n in range(6)]
    processes = [
        subprocess.Popen(
            [
                str(SCRIPT),
                "--sandbox",
                "--state",
                state,
                "create",
                "--name",
                name,
                "--url",
                "https://example.com/a.img",
                "--region",
                "nyc3",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=ENV,
            text=True,
        )
        for name in names
    ]
    ids = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        ids.append(json.loads(out)["id"])
    assert len(set(ids)) == len(names)
    listed = script("--sandbox", "--state", state, "list", "--private", "--json")
    kept = {image["name"] for image in json.loads(listed.stdout)}
    assert set(names) <= kept


# ------------------------------------------------------------ sandbox serve


@POSIX
def test_serve_with_a_token_accepts_only_that_token(tmp_path: Path) -> None:
    """``sandbox serve --token`` answers only that token, over SDK and CLI, and keeps its state."""
    state = str(tmp_path / "served.json")
    server = subprocess.Popen(
        [str(SCRIPT), "sandbox", "serve", "--token", "s" * 20, "--state", state],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, env=ENV,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        with Client("s" * 20, base_url=base_url, max_retries=0, timeout=10) as do:
            do.image.update(180040001, "renamed while served")
        # The command line against the served sandbox, with its token and without.
        env = {**ENV, "DIGITALOCEAN_TOKEN": "s" * 20}
        shown = script("--base-url", base_url, "get", "180040001", "--format", "Name", env=env)
        assert shown.stdout.splitlines() == ["NAME", "renamed while served"], shown.stderr
        refused = script(
            "--base-url", base_url, "--json", "ls", env={**ENV, "DIGITALOCEAN_TOKEN": "wrong-token"}
        )
        assert refused.returncode == 5
        assert json.loads(refused.stderr)["error"]["status"] == 401
        with (
            Client("other-token", base_url=base_url, max_retries=0, timeout=10) as do,
            pytest.raises(AuthenticationError),
        ):
            do.image.info(180040001)
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert "only the token given accepted" in err
    # The served sandbox's state outlives it.
    result = script("--sandbox", "--state", state, "info", "180040001", "--json")
    assert json.loads(result.stdout)["name"] == "renamed while served"


# --------------------------------------------------------------- completion


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_each_shell(shell: str) -> None:
    """``completion bash|zsh|fish`` prints an argcomplete script for do-images."""
    result = script("completion", shell)
    assert result.returncode == 0, result.stderr
    assert "do-images" in result.stdout
    assert "_ARGCOMPLETE" in result.stdout


def _complete(line: str, tmp_path: Path) -> list[str]:
    """Ask the script what completes ``line``, as the shell code does."""
    answer = tmp_path / "answer"
    env = {
        **ENV,
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_SHELL": "bash",
        "_ARGCOMPLETE_IFS": "\n",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "_ARGCOMPLETE_STDOUT_FILENAME": str(answer),
    }
    subprocess.run([str(SCRIPT)], env=env, capture_output=True, timeout=60, check=False)
    return [word.strip() for word in answer.read_text().split("\n")]


def test_completion_offers_commands_and_options(tmp_path: Path) -> None:
    """Completion offers commands, aliases, options and the shells of ``completion``."""
    assert {"list", "ls"} <= set(_complete("do-images l", tmp_path))
    assert "--no-header" in _complete("do-images list --no", tmp_path)
    assert set(_complete("do-images completion ", tmp_path)) == {"bash", "zsh", "fish"}


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_through_the_printed_script(tmp_path: Path) -> None:
    """Sourced into bash, the printed script completes ``tra`` to ``transfer``."""
    code = script("completion", "bash").stdout
    (tmp_path / "complete.bash").write_text(code)
    probe = (
        f"PATH={SCRIPT.parent}:$PATH; source {tmp_path / 'complete.bash'}; "
        "COMP_WORDS=(do-images tra); COMP_CWORD=1; COMP_LINE='do-images tra'; COMP_POINT=13; "
        "_python_argcomplete do-images; printf '%s\\n' \"${COMPREPLY[@]}\""
    )
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", probe],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
        check=False,
    )
    assert result.stdout.split() == ["transfer"], result.stderr
