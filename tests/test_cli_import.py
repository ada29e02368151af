"""``do-images import``: the whole pipeline from the command line, offline (moto on
loopback, the sandbox), in-process and as the installed script on a real terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from do_images.testing import Sandbox
from image_files import gz, qcow2, sparse_raw, write
from pty_support import ENV, POSIX, in_terminal
from spaces_support import ACCESS, SECRET, FaultProxy, free_port, s3
from support import Run, cli_runner

KEYS = {"SPACES_ACCESS_KEY_ID": ACCESS, "SPACES_SECRET_ACCESS_KEY": SECRET}


@pytest.fixture
def endpoint(s3_endpoint: str) -> str:
    return s3_endpoint


@pytest.fixture
def world() -> Sandbox:
    return Sandbox()


@pytest.fixture
def run(world: Sandbox) -> Run:
    return cli_runner(world)


def args(path: Path, bucket: str, endpoint: str, *more: str) -> list[str]:
    return [
        "import",
        str(path),
        "--name",
        "web",
        "--region",
        "nyc3",
        "--space",
        bucket,
        "--spaces-endpoint",
        endpoint,
        *more,
    ]


def test_import_json_prints_the_final_image(
    run: Run, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    path = write(tmp_path, "disk.qcow2.gz", gz(qcow2()))
    result = run("--json", *args(path, bucket, endpoint, "--regions", "sfo3"), environ=KEYS)
    assert result.code == 0, result.err
    image = result.json()
    assert image["status"] == "available"
    assert sorted(image["regions"]) == ["nyc3", "sfo3"]
    assert s3(endpoint).list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert "uploading" in result.err  # a line per 10 % off a terminal


def test_a_bad_file_is_exit_2_before_anything_is_sent(
    run: Run, world: Sandbox, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    path = write(tmp_path, "disk.img.xz", b"\xfd7zXZ\x00" + bytes(64))
    result = run(*args(path, bucket, endpoint), environ=KEYS)
    assert result.code == 2
    assert "xz-compressed" in result.err
    assert world.requests == []


def test_missing_keys_are_exit_5(run: Run, bucket: str, endpoint: str, tmp_path: Path) -> None:
    result = run(*args(tmp_path / "never-read.img", bucket, endpoint), environ={})
    assert result.code == 5
    assert "SPACES_ACCESS_KEY_ID" in result.err
    assert SECRET not in result.err


def test_spaces_out_of_reach_is_exit_9_and_refusal_exit_3(
    run: Run, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    path = write(tmp_path, "disk.qcow2", qcow2())
    closed = f"http://127.0.0.1:{free_port()}"
    assert run(*args(path, bucket, closed), environ=KEYS).code == 9
    big = sparse_raw(tmp_path, "big.img", 40 * 1024 * 1024)
    with FaultProxy(endpoint) as proxy:
        proxy.refuse_parts = True
        result = run(*args(big, bucket, proxy.url), environ=KEYS)
    assert result.code == 3
    assert "Spaces refused" in result.err


@POSIX
def test_the_installed_script_shows_a_live_bar_on_a_terminal(
    bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """``do-images --sandbox import ...`` as the issue's done-when line, on a real pty."""
    path = write(tmp_path, "disk.qcow2.gz", gz(qcow2()))
    code, screen = in_terminal(
        100, "--sandbox", *args(path, bucket, endpoint, "--regions", "sfo3"), env={**ENV, **KEYS}
    )
    assert code == 0, screen
    assert "\ruploading disk.qcow2.gz: 100%" in screen  # a live line, rewritten in place
    assert "image 190000001" in screen
    assert "available" in screen
    assert json.dumps(SECRET) not in screen


def test_ctrl_c_during_the_upload_leaves_it_resumable(
    run: Run, bucket: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C while parts are on their way: exit 130, the command that resumes it, and
    that command sends only the parts not stored yet."""
    from do_images import _spaces

    monkeypatch.setattr(_spaces, "PART_SIZE", 5 * 1024 * 1024)
    path = sparse_raw(tmp_path, "disk.img", 4 * 5 * 1024 * 1024)
    sent: list[int] = []
    real_part = _spaces._Multipart._part

    def interrupted(self: _spaces._Multipart, number: int, upload_id: str) -> str:
        if len(sent) == 2:
            raise KeyboardInterrupt
        sent.append(number)
        return real_part(self, number, upload_id)

    monkeypatch.setattr(_spaces._Multipart, "_part", interrupted)
    monkeypatch.setattr(_spaces, "PARTS_IN_FLIGHT", 1)
    result = run(*args(path, bucket, endpoint), environ=KEYS)
    assert result.code == 130
    assert (
        "upload interrupted; the parts sent are kept: resume with: do-images import" in result.err
    )
    assert _spaces._state_path(path).exists()
    monkeypatch.setattr(_spaces._Multipart, "_part", real_part)
    resent: list[int] = []

    def counted(self: _spaces._Multipart, number: int, upload_id: str) -> str:
        resent.append(number)
        return real_part(self, number, upload_id)

    monkeypatch.setattr(_spaces._Multipart, "_part", counted)
    again = run(*args(path, bucket, endpoint), environ=KEYS)
    assert again.code == 0, again.err
    assert sorted(resent) == [3, 4]
    assert not _spaces._state_path(path).exists()


def test_without_the_spaces_extra_it_says_which_to_install(
    run: Run, bucket: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if not installed
    path = write(tmp_path, "disk.qcow2", qcow2())
    result = run(*args(path, bucket, endpoint), environ=KEYS)
    assert result.code == 2
    assert result.err == (
        "error: importing a local image needs boto3, the spaces extra: "
        "pip install 'boto3>=1.34' (in a checkout: pip install '.[spaces]')\n"
    )
