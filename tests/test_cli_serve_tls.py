"""``do-images sandbox serve --tls`` as people run it, and clients the project did not
write against it, unchanged: pydo (no ``enforce_https=False``), curl, and ``do-images``
itself, each trusting the certificate authority through the lines the command prints."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from do_images.cli import main
from do_images.testing import Sandbox
from support import Stream
from test_docs import PAGES, blocks

SCRIPT = Path(sys.executable).with_name("do-images")
ENV = {
    key: value
    for key, value in os.environ.items()
    if key not in ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")
}
POSIX = pytest.mark.skipif(os.name == "nt", reason="Ctrl-C is SIGINT on POSIX")
pytestmark = POSIX
SNAPSHOT = 180040001
OTHER_SNAPSHOT = 180040002
"""The image pydo works on in the served sandbox the docs' examples share (they use the first)."""
MARKER = "tests/test_cli_serve_tls.py"
"""The docs' blocks marked ``<!-- runs: tests/test_cli_serve_tls.py -->`` run here."""
DOCS_URL = "https://127.0.0.1:8080"
DOCS_CA_FILE = "/tmp/do-images-sandbox-3k9x/ca.pem"
"""What the docs' examples show for the served URL and the printed file."""


@dataclass
class Served:
    """A running ``do-images sandbox serve --tls``: what it printed, and the process."""

    url: str
    ca_file: str
    stdout: list[str]
    note: str
    """The how-to line on stderr, once it listens."""
    process: subprocess.Popen[str]

    def stop(self, how: signal.Signals = signal.SIGINT) -> tuple[int, str]:
        """Stop it as Ctrl-C (or ``kill``) would; its exit status and stderr."""
        self.process.send_signal(how)
        _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err


@contextmanager
def serve_tls(*options: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """Start the command; read its three lines (the URL, then the two exports) and the
    how-to line on stderr."""
    process = subprocess.Popen(
        [str(SCRIPT), "sandbox", "serve", "--tls", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env or ENV,
    )
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        lines = [process.stdout.readline().rstrip("\n") for _ in range(3)]
        note = process.stderr.readline()
        ca_file = shlex.split(lines[1].split("=", 1)[1])[0]
        yield Served(lines[0], ca_file, lines, note, process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """One served https sandbox for the clients' tests and the docs' examples of this
    module (they change different images)."""
    with serve_tls() as running:
        yield running
        code, err = running.stop()
    assert code == 0, err


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_it_prints_the_url_then_the_lines_that_trust_it(
    stop: signal.Signals, tmp_path: Path
) -> None:
    """stdout: the https URL, then ``export SSL_CERT_FILE=`` and ``export
    REQUESTS_CA_BUNDLE=`` naming one certificate in a folder only its owner may use. Ctrl-C,
    and ``kill`` (how a script stops a server it started in the background, where Ctrl-C
    is ignored), stop it cleanly and remove that folder."""
    tmp = tmp_path / "a folder"  # a space: the printed lines must quote the path
    tmp.mkdir()
    with serve_tls(env={**ENV, "TMPDIR": str(tmp)}) as running:
        assert running.url.startswith("https://127.0.0.1:")
        quoted = shlex.quote(running.ca_file)
        assert running.stdout[1:] == [
            f"export SSL_CERT_FILE={quoted}",
            f"export REQUESTS_CA_BUNDLE={quoted}",
        ]
        folder = Path(running.ca_file).parent
        assert folder.parent == tmp
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert Path(running.ca_file).read_text().startswith("-----BEGIN CERTIFICATE-----")
        code, err = running.stop(stop)
        note = running.note
    assert (code, err) == (0, "sandbox stopped\n")
    assert f"sandbox API at {running.url}, any token accepted; https" in note
    assert f"its certificate: {running.ca_file}, removed at exit" in note
    assert f"try: SSL_CERT_FILE={quoted} DIGITALOCEAN_TOKEN=sandbox do-images" in note
    assert list(tmp.iterdir()) == []


def test_without_trustme_tls_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With trustme unimportable, ``--tls`` is one error line naming the extra, exit 2;
    nothing is served, printed on stdout or written (not even the state file)."""
    monkeypatch.setitem(sys.modules, "trustme", None)  # as if not installed
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    out, err = Stream(), Stream()
    state = tmp_path / "state.json"
    code = main(["sandbox", "serve", "--tls", "--state", str(state)], stdout=out, stderr=err)
    assert (code, out.getvalue()) == (2, "")
    assert err.getvalue() == (
        "error: --tls needs trustme, the tls extra: pip install 'trustme>=1.0' "
        "(in a checkout: pip install '.[tls]')\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_help_shows_tls() -> None:
    """``sandbox serve --help`` documents ``--tls`` and its extra."""
    out = Stream()
    assert main(["sandbox", "serve", "--help"], stdout=out, stderr=Stream()) == 0
    assert "[--tls]" in out.getvalue()
    assert "(needs trustme, the tls extra)" in " ".join(out.getvalue().split())


def test_do_images_trusts_it_through_the_printed_line(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``do-images --base-url https://...`` works with the printed ``SSL_CERT_FILE``
    (tests/test_sandbox_tls.py shows a client without it refused)."""
    monkeypatch.setenv("SSL_CERT_FILE", served.ca_file)
    out, err = Stream(), Stream()
    argv = ["--base-url", served.url, "--json", "info", "ubuntu-24-04-x64"]
    code = main(argv, stdout=out, stderr=err, environ={"DIGITALOCEAN_TOKEN": "sandbox"})
    assert code == 0, err.getvalue()
    assert json.loads(out.getvalue())["slug"] == "ubuntu-24-04-x64"


# ------------------------------------------------------------------------ pydo


def pydo_round(
    client: Any, image_id: int, before_poll: Callable[[], object] = lambda: None
) -> dict[str, Any]:
    """What a pydo user does to an image: list, info, update, a transfer and its action
    (polled after ``before_poll()``), a tag made and given to it, then delete. Returns the
    transfer action as polled."""
    listed = client.images.list(private=True, per_page=50)
    assert image_id in [image["id"] for image in listed["images"]]
    assert listed["meta"]["total"] == len(listed["images"])
    assert client.images.get(image_id)["image"]["id"] == image_id
    assert client.images.get("ubuntu-24-04-x64")["image"]["slug"] == "ubuntu-24-04-x64"
    body = {"name": "renamed by pydo", "description": "from pydo"}
    assert client.images.update(image_id, body=body)["image"]["name"] == "renamed by pydo"
    transfer = {"type": "transfer", "region": "sgp1"}
    action: dict[str, Any] = client.image_actions.post(image_id, body=transfer)["action"]
    assert (action["type"], action["resource_id"]) == ("transfer", image_id)
    before_poll()
    polled: dict[str, Any] = client.image_actions.get(image_id, action["id"])["action"]
    assert polled["id"] == action["id"]
    assert client.actions.get(action["id"])["action"] == polled
    client.tags.create(body={"name": "pydo-made"})
    resources = {"resources": [{"resource_id": str(image_id), "resource_type": "image"}]}
    client.tags.assign_resources("pydo-made", body=resources)
    tagged = client.images.list(tag_name="pydo-made")["images"]
    assert [image["id"] for image in tagged] == [image_id]
    assert client.tags.get("pydo-made")["tag"]["resources"]["images"]["count"] == 1
    client.images.delete(image_id)
    # pydo hands back a 404's body for this operation instead of raising.
    assert client.images.get(image_id)["id"] == "not_found"
    return polled


def test_pydo_unchanged_against_serve_tls(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """pydo, configured only by ``endpoint=`` and the printed ``REQUESTS_CA_BUNDLE``
    (no ``enforce_https=False``), lists, reads, updates, transfers and polls, tags and
    deletes an image on ``do-images sandbox serve --tls``."""
    import pydo

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", served.ca_file)
    client = pydo.Client("dop_v1_pydo", endpoint=served.url)
    action = pydo_round(client, OTHER_SNAPSHOT)
    # Its clock is real time: a 30 s transfer is still under way.
    assert (action["status"], action["region_slug"]) == ("in-progress", "sgp1")


def test_pydo_on_served_sandbox_gets_answers_that_fit_the_spec(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """In-process, with ``connection_verify=`` instead of the environment: every answer
    pydo got fits the spec (the ``sandbox`` fixture checks), each operation reached the
    sandbox once (nothing retried), and the polled action completes on the clock."""
    import pydo

    ca_file = tmp_path / "ca.pem"
    with sandbox.serve(tls=True, ca_file=ca_file) as base_url:
        client = pydo.Client("dop_v1_pydo", endpoint=base_url, connection_verify=str(ca_file))
        action = pydo_round(client, SNAPSHOT, before_poll=lambda: sandbox.advance(60))
    assert action["status"] == "completed"
    operations = [request.operation for request in sandbox.requests]
    assert operations == [
        "images_list",
        "images_get",
        "images_get",
        "images_update",
        "imageActions_post",
        "imageActions_get",
        "actions_get",
        "tags_create",
        "tags_assign_resources",
        "images_list",
        "tags_get",
        "images_delete",
        "images_get",
    ]
    assert [request.status for request in sandbox.requests][-2:] == [204, 404]


# ------------------------------------------------------------------------ curl


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not on this machine")
def test_curl_with_cacert(served: Served) -> None:
    """``curl --cacert`` with the printed file reads an image; without it, curl refuses
    the certificate (exit 60)."""
    url = f"{served.url}/v2/images/ubuntu-24-04-x64"
    auth = ["-H", "Authorization: Bearer sandbox"]
    trusted = subprocess.run(
        ["curl", "-sS", "--cacert", served.ca_file, *auth, url],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert trusted.returncode == 0, trusted.stderr
    assert '"slug":"ubuntu-24-04-x64"' in trusted.stdout
    import certifi

    refused = subprocess.run(
        ["curl", "-sS", "--cacert", certifi.where(), *auth, url],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 60


# ------------------------------------------------------------------ the docs' examples


DOCS_BLOCKS = [
    pytest.param(language, code, id=f"{path.name}:{line}")
    for path in PAGES
    for language in ("python", "sh")
    for line, code in blocks(path, language, MARKER)
]


@pytest.mark.parametrize(("language", "code"), DOCS_BLOCKS)
def test_docs_example_runs_against_serve_tls(
    language: str,
    code: str,
    served: Served,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each example of the docs for other clients runs as written, in an environment with
    the command's two printed lines, its URL and file in place of the docs' own."""
    code = code.replace(DOCS_URL, served.url).replace(DOCS_CA_FILE, served.ca_file)
    monkeypatch.setenv("SSL_CERT_FILE", served.ca_file)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", served.ca_file)
    if language == "sh":
        for line in code.replace("\\\n", " ").splitlines():
            if line.startswith("curl ") and shutil.which("curl") is None:
                continue  # curl is not on this machine
            path = f"{SCRIPT.parent}{os.pathsep}{os.environ['PATH']}"
            done = subprocess.run(
                ["bash", "-c", line], capture_output=True, text=True, timeout=60,
                check=False, env={**os.environ, "PATH": path},
            )  # fmt: skip
            assert done.returncode == 0, (line, done.stderr)
            assert done.stdout.strip(), line
        return
    namespace: dict[str, Any] = {"__name__": "example"}
    exec(compile(code, "docs", "exec"), namespace)
    for name, value in namespace.items():
        if name.startswith("test_") and callable(value):
            value(tmp_path)


def test_the_docs_show_each_client_run_here() -> None:
    """The docs' examples run here cover do-images (Python and its command line), an
    in-process ``serve(tls=True)``, pydo and curl."""
    shown = "\n".join(str(param.values[1]) for param in DOCS_BLOCKS)
    for needle in ("base_url=", "do-images --base-url", "serve(tls=True", "pydo.", "curl "):
        assert needle in shown, needle
