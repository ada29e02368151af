"""``do-images import``: the whole pipeline from the command line, offline (moto on
loopback, the sandbox), in-process and as the installed script on a real terminal."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from do_images.testing import Sandbox
from image_files import gz, qcow2, sparse_raw, write
from import_support import objects
from pty_support import ENV, POSIX, in_terminal
from spaces_support import ACCESS, SECRET, FaultProxy, free_port, s3
from support import Run, cli_runner

KEYS = {"SPACES_ACCESS_KEY_ID": ACCESS, "SPACES_SECRET_ACCESS_KEY": SECRET}


@pytest.fixture
def endpoint(s3_endpoint: str) -> str:
    """The session's S3 server on loopback."""
    return s3_endpoint


@pytest.fixture
def world() -> Sandbox:
    """A sandbox whose importer fetches loopback URLs."""
    return Sandbox()


@pytest.fixture
def run(world: Sandbox) -> Run:
    """``main(argv)`` against ``world``."""
    return cli_runner(world)


def args(path: Path, bucket: str, endpoint: str, *more: str) -> list[str]:
    """An import command line of ``path`` to ``bucket`` at ``endpoint``."""
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
    """``--json`` prints the final image; the object is gone; a line per 10 % off a terminal."""
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
    """An xz file: exit 2 with the reason, and no request sent."""
    path = write(tmp_path, "disk.img.xz", b"\xfd7zXZ\x00" + bytes(64))
    result = run(*args(path, bucket, endpoint), environ=KEYS)
    assert result.code == 2
    assert "xz-compressed" in result.err
    assert world.requests == []


def test_missing_keys_are_exit_5(run: Run, bucket: str, endpoint: str, tmp_path: Path) -> None:
    """No Spaces keys: exit 5 naming the variables, before the file is read."""
    result = run(*args(tmp_path / "never-read.img", bucket, endpoint), environ={})
    assert result.code == 5
    assert "SPACES_ACCESS_KEY_ID" in result.err
    assert SECRET not in result.err


def test_spaces_out_of_reach_is_exit_9_and_refusal_exit_3(
    run: Run, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """Spaces out of reach is exit 9; Spaces refusing the parts is exit 3."""
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
    """The installed script on a real pty: a live upload bar, the image, no secret."""
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
    """Ctrl-C mid-upload: exit 130, the resume command, which sends only the missing parts."""
    from do_images import _spaces, _uploads

    monkeypatch.setattr(_spaces, "PART_SIZE", 5 * 1024 * 1024)
    path = sparse_raw(tmp_path, "disk.img", 4 * 5 * 1024 * 1024)
    sent: list[int] = []
    real_part = _uploads.Multipart._part

    def interrupted(self: _uploads.Multipart, number: int, upload_id: str) -> str:
        if len(sent) == 2:
            raise KeyboardInterrupt
        sent.append(number)
        return real_part(self, number, upload_id)

    monkeypatch.setattr(_uploads.Multipart, "_part", interrupted)
    monkeypatch.setattr(_spaces, "PARTS_IN_FLIGHT", 1)
    result = run(*args(path, bucket, endpoint), environ=KEYS)
    assert result.code == 130
    assert (
        "upload interrupted; the parts sent are kept: resume with: do-images import" in result.err
    )
    assert _uploads.state_path(path).exists()
    monkeypatch.setattr(_uploads.Multipart, "_part", real_part)
    resent: list[int] = []

    def counted(self: _uploads.Multipart, number: int, upload_id: str) -> str:
        resent.append(number)
        return real_part(self, number, upload_id)

    monkeypatch.setattr(_uploads.Multipart, "_part", counted)
    again = run(*args(path, bucket, endpoint), environ=KEYS)
    assert again.code == 0, again.err
    assert sorted(resent) == [3, 4]
    assert not _uploads.state_path(path).exists()


def test_without_the_spaces_extra_it_says_which_to_install(
    run: Run, bucket: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without boto3: one line naming the extra to install, exit 1."""
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if not installed
    path = write(tmp_path, "disk.qcow2", qcow2())
    result = run(*args(path, bucket, endpoint), environ=KEYS)
    assert result.code == 2
    assert result.err == (
        "error: importing a local image needs boto3, the spaces extra: "
        "pip install 'boto3>=1.34' (in a checkout: pip install '.[spaces]')\n"
    )


def test_a_timed_out_import_names_the_object_it_keeps(
    bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """A timed-out wait: exit 8, the object kept and the command that removes it later."""
    world = Sandbox(import_seconds=1800)
    path = write(tmp_path, "disk.qcow2", qcow2())
    result = cli_runner(world)(*args(path, bucket, endpoint, "--timeout", "60"), environ=KEYS)
    assert result.code == 8
    (key,) = objects(endpoint, bucket)
    assert (
        f"do-images import --remove-object {key} --space {bucket} --spaces-region nyc3 "
        f"--spaces-endpoint {endpoint} --image 190000001"
    ) in result.err
    assert result.err.count("error:") == 1


def test_remove_object_refuses_while_the_import_may_run_then_removes(
    bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """``--remove-object`` refuses (exit 3) while the image is NEW, removes once it ended."""
    world = Sandbox(import_seconds=1800)
    run = cli_runner(world)
    path = write(tmp_path, "disk.qcow2", qcow2())
    assert run(*args(path, bucket, endpoint, "--timeout", "60"), environ=KEYS).code == 8
    (key,) = objects(endpoint, bucket)
    remove = ["import", "--remove-object", key, "--space", bucket, "--spaces-endpoint", endpoint]
    refused = run(*remove, environ=KEYS)
    assert refused.code == 3, refused.err
    assert "image 190000001 (web) is NEW" in refused.err
    assert objects(endpoint, bucket) == [key]
    by_id = run(*remove, "--image", "190000001", environ=KEYS)
    assert by_id.code == 3
    world.advance(1800)
    done = run(*remove, environ=KEYS)
    assert done.code == 0, done.err
    assert done.out == f"removed {key} in bucket {bucket}\n"
    assert objects(endpoint, bucket) == []
    again = run("--json", *remove, "--image", "190000001", environ=KEYS)
    assert again.code == 0
    assert again.json() == {"removed": key, "bucket": bucket, "existed": False}


def test_remove_object_takes_no_file(run: Run, bucket: str) -> None:
    """The two forms of ``import`` do not mix; the import form needs FILE, --name, --region."""
    mixed = run("import", "disk.img", "--remove-object", "k", "--space", bucket, environ=KEYS)
    assert mixed.code == 2
    assert "takes no FILE" in mixed.err
    bare = run("import", "--space", bucket, environ=KEYS)
    assert bare.code == 2
    assert "required: FILE, --name, --region" in bare.err


@pytest.mark.parametrize("public_read", [False, True])
def test_ctrl_c_during_the_wait_says_which_object_is_left(
    bucket: str, endpoint: str, tmp_path: Path, public_read: bool
) -> None:
    """Ctrl-C during the wait: exit 130, the object left named, and whether it is private."""
    from import_support import Moments, Rig, public

    world = Sandbox(import_seconds=600)
    path = write(tmp_path, "disk.qcow2", qcow2())
    more = ["--public-read"] if public_read else []
    result = cli_runner(world)(
        *args(path, bucket, endpoint, *more),
        environ=KEYS,
        factory=lambda target: Rig("sync", world, Moments(sleep=1)).sync_client(),
    )
    assert result.code == 130
    (key,) = objects(endpoint, bucket)
    assert not public(endpoint, bucket, key)
    privacy = "made private again (so the import may fail" if public_read else "private;"
    assert f"the object {key} stays in bucket {bucket}, {privacy}" in result.err
    assert "image 190000001 (NEW) may still be importing" in result.err
    assert f"import --remove-object {key}" in result.err


def test_the_resume_command_is_built_from_the_parser() -> None:
    """The resume command, built from the parser, parses back to every option given."""
    from do_images.cli import _import as cli_import
    from do_images.cli._parser import parse
    from do_images.cli._registry import build_parser

    argv = [
        "import", "disk img", "--name", "web 1", "--region", "nyc3", "--space", "b",
        "--spaces-region", "ams3", "--spaces-endpoint", "http://127.0.0.1:9000",
        "--regions", "sfo3", "fra1", "--distribution", "Ubuntu", "--description", "a b",
        "--tag", "web", "--tag", "db", "--keep-object", "--public-read", "--timeout", "90m",
        "--poll", "2.5",
    ]  # fmt: skip
    left_out = {"help", "sandbox", "token", "base_url", "json", "state", "format", "no_header"}
    left_out |= {"remove_object", "image"}  # the other form of import
    given = parse(build_parser(), argv)
    command = cli_import._resume_command(given)
    assert command.startswith("do-images import ")
    back = parse(build_parser(), shlex.split(command)[1:])
    keys = {a.dest for a in given.parser._actions} - left_out
    assert {k: getattr(back, k) for k in keys} == {k: getattr(given, k) for k in keys}
    for action in given.parser._actions:
        if action.dest not in left_out:
            assert getattr(given, action.dest) != action.default, f"{action.dest} not exercised"


def test_a_bad_spaces_endpoint_names_the_option(run: Run, bucket: str, tmp_path: Path) -> None:
    """A non-https ``--spaces-endpoint`` is a usage error naming that option, not base_url."""
    path = write(tmp_path, "disk.qcow2", qcow2())
    result = run(*args(path, bucket, "http://example.com"), environ=KEYS)
    assert result.code == 2
    assert "argument --spaces-endpoint: URL 'http://example.com' must be https://" in result.err
    assert "base_url" not in result.err


def test_a_non_utf8_argument_is_one_clear_line(run: Run) -> None:
    """A non-UTF-8 byte in a name: exit 2 and one clear line, no codec jargon."""
    name = b"web\xff".decode("utf-8", "surrogateescape")
    result = run("update", "180040001", "--name", name)
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "name is not valid text" in result.err
    assert "codec" not in result.err


def test_any_unencodable_argument_is_a_usage_error_without_codec_words() -> None:
    """Any other text UTF-8 cannot encode is a plain usage error, exit 2."""
    import argparse

    from do_images.cli._failures import ExitCode, failure

    error = UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed")
    code, message = failure(error, argparse.Namespace())
    assert code == ExitCode.USAGE
    assert "not valid UTF-8" in message
    assert "codec" not in message


def test_the_removal_command_reaches_the_same_api(
    bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """With ``--base-url``, the removal command checks the image on that same API."""
    world = Sandbox(import_seconds=1800)
    path = write(tmp_path, "disk.qcow2", qcow2())
    base = "http://127.0.0.1:9"
    result = cli_runner(world)(
        "--base-url", base, *args(path, bucket, endpoint, "--timeout", "60"), environ=KEYS
    )
    assert result.code == 8
    assert f"do-images --base-url {base} import --remove-object " in result.err
    assert "remove it once that import has ended: do-images import" not in result.err


def test_remove_object_of_an_image_that_is_gone_removes_it(
    run: Run, bucket: str, endpoint: str
) -> None:
    """``--image`` of an image that is gone (404): nothing fetches the object, it goes."""
    s3(endpoint).put_object(Bucket=bucket, Key="old-0123456789ab.img", Body=b"x")
    argv = ["import", "--remove-object", "old-0123456789ab.img", "--space", bucket]
    result = run(*argv, "--spaces-endpoint", endpoint, "--image", "424242", environ=KEYS)
    assert result.code == 0, result.err
    assert objects(endpoint, bucket) == []


def test_image_goes_only_with_remove_object(run: Run, tmp_path: Path) -> None:
    """``--image`` on an import is a usage error (it names the image to wait for)."""
    path = write(tmp_path, "disk.qcow2", qcow2())
    result = run(*args(path, "b", "http://127.0.0.1:9", "--image", "7"), environ=KEYS)
    assert result.code == 2
    assert "--image goes with --remove-object" in result.err


def test_ctrl_c_before_the_create_says_the_import_did_not_start(
    run: Run, bucket: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C at the URL check, before the create: exit 130, no import, the object gone."""
    import do_images._import as module

    def interrupted(url: str) -> int | str:
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "fetch_status", interrupted)
    path = write(tmp_path, "disk.qcow2", qcow2())
    result = run(*args(path, bucket, endpoint), environ=KEYS)
    assert result.code == 130
    assert "the import did not start; the uploaded object was removed" in result.err
    assert objects(endpoint, bucket) == []


@pytest.mark.parametrize(
    ("sent", "total", "rate", "expected"),
    [
        (0, 0, 0.0, "0 of 0 KiB, 0.0 KiB/s"),
        (12 * 1024, 512 * 1024, 3 * 1024, "12 of 512 KiB, 3.0 KiB/s"),
        (3 << 20, 10 << 20, 1.5 * (1 << 20), "3 of 10 MiB, 1.5 MiB/s"),
        (1 << 20, 1 << 20, 512 * 1024, "1 of 1 MiB, 512.0 KiB/s"),
    ],
)
def test_the_upload_bar_counts_kib_below_one_mib(
    sent: int, total: int, rate: float, expected: str
) -> None:
    """A file under 1 MiB shows KiB moving (not ``0 of 0 MiB``); a rate under 1 MiB/s
    shows KiB/s; from 1 MiB on, MiB."""
    from do_images.cli._import import sizes

    assert sizes(sent, total, rate) == expected
