"""``import_file`` keeps its promises where real runs fail: the object stays while the
import may run and goes once it ended, an interruption ends the public window first, a
file changed under the upload is never imported, every failure is typed, and the
presigned URL is never logged. Both clients, moto on loopback, the fetching sandbox."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from do_images import (
    AuthenticationError,
    ImageFileError,
    ImageTimeoutError,
    ImportProgress,
    UnknownOutcomeError,
    UnprocessableEntityError,
    UploadError,
)
from do_images._uploads import state_path
from do_images.testing import Sandbox
from image_files import qcow2, sparse_raw, write
from import_support import (
    MiB,
    Moments,
    Rig,
    created,
    key_of,
    objects,
    public,
    smaller_parts,
    target,
    uploads,
)
from spaces_support import ACCESS, SECRET, FaultProxy


@pytest.fixture
def endpoint(s3_endpoint: str) -> str:
    """The session's S3 server on loopback."""
    return s3_endpoint


def interrupted(kind: str) -> type[BaseException]:
    """What an interruption is on ``kind``: Ctrl-C, or the task's cancellation."""
    import asyncio

    return KeyboardInterrupt if kind == "sync" else asyncio.CancelledError


# ------------------------------------------------------------------ the object's fate


def test_after_a_timeout_the_object_stays_for_the_import(
    kind: str, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """The wait times out, the import goes on: the object stays, and the error names it
    and the command that removes it once the import has ended."""
    world = Sandbox(import_seconds=1800)
    path = write(tmp_path, "disk.qcow2", qcow2())
    with pytest.raises(ImageTimeoutError) as caught:
        Rig(kind, world).import_file(
            path, name="slow", region="nyc3", space=target(bucket, endpoint), timeout=60
        )
    (key,) = objects(endpoint, bucket)
    assert caught.value.object_key == key
    assert caught.value.bucket == bucket
    text = str(caught.value)
    assert f"do-images import --remove-object {key} --space {bucket}" in text
    assert "--image 190000001" in text
    assert "may still be running" in text


def test_after_a_lost_create_answer_the_object_stays(
    kind: str, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """The create's answer is lost (the image was made): the object stays, named on the
    ``UnknownOutcomeError``."""
    world = Sandbox()
    world.drop_next(1, method="POST")
    path = write(tmp_path, "disk.qcow2", qcow2())
    with pytest.raises(UnknownOutcomeError) as caught:
        Rig(kind, world, max_retries=0).import_file(
            path, name="lost", region="nyc3", space=target(bucket, endpoint)
        )
    assert [image.status for image in world.images if image.name == "lost"] == ["NEW"]
    assert objects(endpoint, bucket) == [caught.value.object_key]
    assert "--remove-object" in str(caught.value)


def test_a_wait_ended_by_a_401_keeps_the_object(
    kind: str, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """A poll refused for good ends the wait, not the import: the object stays."""
    world = Sandbox(import_seconds=600)
    path = write(tmp_path, "disk.qcow2", qcow2())
    rig = Rig(kind, world)

    def on_first_poll(update: object) -> None:
        if isinstance(update, ImportProgress) and update.image is None:
            world.fail_next(401, method="GET")  # the wait's first poll

    with pytest.raises(AuthenticationError) as caught:
        rig.import_file(
            path,
            name="auth",
            region="nyc3",
            space=target(bucket, endpoint),
            on_progress=on_first_poll,
        )
    assert objects(endpoint, bucket) == [caught.value.object_key]


def test_a_refused_create_deletes_the_object(
    kind: str, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """A 422 to the create: the import never started, so the object goes."""
    world = Sandbox()
    world.fail_next(422, method="POST")
    path = write(tmp_path, "disk.qcow2", qcow2())
    with pytest.raises(UnprocessableEntityError) as caught:
        Rig(kind, world).import_file(path, name="no", region="nyc3", space=target(bucket, endpoint))
    assert caught.value.object_key is None
    assert objects(endpoint, bucket) == []


def test_every_import_progress_names_the_object(
    kind: str, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """Each ``ImportProgress`` carries the object's key and bucket."""
    path = write(tmp_path, "disk.qcow2", qcow2())
    seen: list[ImportProgress] = []
    world = Sandbox()
    Rig(kind, world).import_file(
        path,
        name="named",
        region="nyc3",
        regions=["sfo3"],
        space=target(bucket, endpoint),
        on_progress=lambda p: seen.append(p) if isinstance(p, ImportProgress) else None,
    )
    assert len(seen) >= 4
    key = key_of(created(world)[0]["url"])
    assert {(p.object_key, p.bucket) for p in seen} == {(key, bucket)}


# ------------------------------------------------------------------ interruptions


@pytest.mark.parametrize("public_read", [False, True])
def test_an_interruption_during_the_wait_keeps_the_object_and_makes_it_private(
    kind: str,
    bucket: str,
    endpoint: str,
    tmp_path: Path,
    public_read: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ctrl-C (or a cancellation) while the import is awaited: the import may go on, so
    the object stays, but private; the interruption itself passes through, naming it."""
    world = Sandbox(import_seconds=600)
    path = write(tmp_path, "disk.qcow2", qcow2())
    rig = Rig(kind, world, Moments(sleep=1))
    with pytest.raises(interrupted(kind)) as caught:
        rig.import_file(
            path, name="pub", region="nyc3", space=target(bucket, endpoint), public_read=public_read
        )
    (key,) = objects(endpoint, bucket)
    assert not public(endpoint, bucket, key)
    assert vars(caught.value)["object_key"] == key
    assert vars(caught.value)["object_private"] is True
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(key in text and "--remove-object" in text for text in warned)


def test_a_second_interruption_during_the_cleanup(
    kind: str, bucket: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted again while the object is being made private: a second Ctrl-C stops
    that (the object is named as still public), a second cancellation waits for it."""
    from do_images import _spaces

    world = Sandbox(import_seconds=600)
    path = write(tmp_path, "disk.qcow2", qcow2())
    rig = Rig(kind, world, Moments(sleep=1))
    real = _spaces.Uploader.make_private

    def interrupted_again(self: _spaces.Uploader, key: str) -> None:
        if kind == "sync":
            raise KeyboardInterrupt  # the second Ctrl-C, as the request leaves
        assert rig.loop is not None
        assert rig.task is not None
        rig.loop.call_soon_threadsafe(rig.task.cancel)
        real(self, key)

    monkeypatch.setattr(_spaces.Uploader, "make_private", interrupted_again)
    with pytest.raises(interrupted(kind)) as caught:
        rig.import_file(
            path, name="twice", region="nyc3", space=target(bucket, endpoint), public_read=True
        )
    (key,) = objects(endpoint, bucket)
    assert vars(caught.value)["object_key"] == key
    still_public = kind == "sync"
    assert public(endpoint, bucket, key) is still_public
    assert vars(caught.value)["object_private"] is not still_public


def test_an_interruption_before_the_create_removes_the_object(
    kind: str, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """Interrupted at the URL check, before the create: nothing fetches the object, so it
    goes (made private first), and nothing is imported."""
    world = Sandbox()
    path = write(tmp_path, "disk.qcow2", qcow2())
    rig = Rig(kind, world)
    import do_images._import as module

    real = module.fetch_status

    def checked(url: str) -> int | str:
        status = real(url)
        rig.fire("url check", in_thread=kind == "async")
        return status

    module.fetch_status = checked
    try:
        with pytest.raises(interrupted(kind)):
            rig.import_file(
                path, name="early", region="nyc3", space=target(bucket, endpoint), public_read=True
            )
    finally:
        module.fetch_status = real
    assert created(world) == []
    assert objects(endpoint, bucket) == []


def test_an_interruption_during_distribute_removes_the_object(
    kind: str, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """The import ended (available) and the copies are awaited: interrupted now, the
    object is no longer needed and goes; the interruption passes through."""
    world = Sandbox()
    path = write(tmp_path, "disk.qcow2", qcow2())
    rig = Rig(kind, world, Moments(request=("GET", "/v2/images/190000001/actions")))
    with pytest.raises(interrupted(kind)):
        rig.import_file(
            path, name="dist", region="nyc3", regions=["sfo3"], space=target(bucket, endpoint)
        )
    assert rig.moments.fired
    assert objects(endpoint, bucket) == []


def test_a_closed_operation_still_makes_the_object_private(
    bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """An operation closed mid-way (``GeneratorExit``: no effect can run any more) makes a
    public-read object private on its way out."""
    from do_images._effects import Sleep, relay

    world = Sandbox(import_seconds=600)
    path = write(tmp_path, "disk.qcow2", qcow2())

    def stop_at_the_wait(effect: object) -> object:
        if isinstance(effect, Sleep):
            raise RuntimeError("closed here")
        return effect

    with world.client() as do:
        op = do.image._ops  # the operation itself, driven by the client's runner
        from do_images._import import import_file

        job = import_file(
            op,
            path,
            name="closed",
            region="nyc3",
            space=target(bucket, endpoint),
            regions=(),
            distribution=None,
            description=None,
            tags=(),
            timeout=3600,
            poll=10,
            keep_object=False,
            public_read=True,
            resume=True,
            on_progress=None,
        )
        with pytest.raises(RuntimeError, match="closed here"):
            do.image._run(relay(job, stop_at_the_wait))  # type: ignore[arg-type]
    (key,) = objects(endpoint, bucket)
    assert not public(endpoint, bucket, key)


# ------------------------------------------------------------------ the file


def test_a_file_changed_during_the_upload_is_not_imported(
    kind: str, bucket: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part rewritten after the first was sent (same size): ``ImageFileError``, the
    multipart upload aborted, no object, no create."""
    path = sparse_raw(tmp_path, "disk.img", 6 * MiB)
    world = Sandbox()

    def rewrite(update: object) -> None:
        if getattr(update, "sent", 0) and not getattr(rewrite, "done", False):
            rewrite.done = True  # type: ignore[attr-defined]
            with path.open("r+b") as stream:
                stream.seek(5 * MiB)
                stream.write(b"\xff" * 1024)

    with smaller_parts(monkeypatch, MiB):
        monkeypatch.setattr("do_images._spaces.PARTS_IN_FLIGHT", 1)
        with pytest.raises(ImageFileError, match="changed while it was uploaded"):
            Rig(kind, world).import_file(
                path, name="chg", region="nyc3", space=target(bucket, endpoint), on_progress=rewrite
            )
    assert created(world) == []
    assert uploads(endpoint, bucket) == []
    assert objects(endpoint, bucket) == []
    assert not state_path(path).exists()


def test_a_part_rewritten_behind_an_unchanged_stat_is_not_imported(
    kind: str, bucket: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later part rewritten with its size and modification time put back (so the
    file's stat says nothing): that part's MD5 is not the one read before, and the
    upload is refused all the same."""
    path = sparse_raw(tmp_path, "disk.img", 4 * MiB)
    world = Sandbox()

    def rewrite(update: object) -> None:
        if getattr(update, "sent", 0) and not getattr(rewrite, "done", False):
            rewrite.done = True  # type: ignore[attr-defined]
            before = path.stat()
            with path.open("r+b") as stream:
                stream.seek(3 * MiB + 10)
                stream.write(b"\x42")
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    with smaller_parts(monkeypatch, MiB):
        monkeypatch.setattr("do_images._spaces.PARTS_IN_FLIGHT", 1)
        with pytest.raises(ImageFileError, match="changed while it was uploaded"):
            Rig(kind, world).import_file(
                path, name="hid", region="nyc3", space=target(bucket, endpoint), on_progress=rewrite
            )
    assert created(world) == []
    assert uploads(endpoint, bucket) == []
    assert objects(endpoint, bucket) == []


def test_a_file_touched_during_the_upload_is_not_imported(
    kind: str, bucket: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same bytes, but its modification time moved after the check: refused all the same."""
    path = sparse_raw(tmp_path, "disk.img", 3 * MiB)
    world = Sandbox()

    def touch(update: object) -> None:
        if getattr(update, "sent", 0):
            os.utime(path, ns=(0, 10**18))

    with smaller_parts(monkeypatch, MiB), pytest.raises(ImageFileError, match="changed"):
        Rig(kind, world).import_file(
            path, name="touched", region="nyc3", space=target(bucket, endpoint), on_progress=touch
        )
    assert created(world) == []
    assert uploads(endpoint, bucket) == []
    assert objects(endpoint, bucket) == []


def test_a_small_file_changed_before_its_put_is_not_imported(
    kind: str, bucket: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A single-PUT file rewritten between its digest and its upload: nothing is put."""
    from do_images import _spaces

    path = write(tmp_path, "disk.qcow2", qcow2())
    real = _spaces.Uploader.digests

    def then_rewrite(self: _spaces.Uploader, image: object, stop: object = None) -> object:
        digests = real(self, image, stop)  # type: ignore[arg-type]
        with path.open("r+b") as stream:
            stream.seek(4096)
            stream.write(b"\x01")
        return digests

    monkeypatch.setattr(_spaces.Uploader, "digests", then_rewrite)
    world = Sandbox()
    with pytest.raises(ImageFileError, match="changed while it was uploaded"):
        Rig(kind, world).import_file(
            path, name="put", region="nyc3", space=target(bucket, endpoint)
        )
    assert objects(endpoint, bucket) == []
    assert created(world) == []


def test_a_resume_of_a_changed_file_is_refused_and_the_old_upload_aborted(
    kind: str, bucket: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted, then the file changes (its mtime put back): the next run refuses to
    resume from the old parts and aborts that upload; the run after uploads afresh."""
    path = sparse_raw(tmp_path, "disk.img", 4 * MiB)
    with smaller_parts(monkeypatch, MiB):
        monkeypatch.setattr("do_images._spaces.PARTS_IN_FLIGHT", 1)
        with pytest.raises(interrupted(kind)):
            Rig(kind, Sandbox(), Moments(upload_bytes=MiB)).import_file(
                path, name="big", region="nyc3", space=target(bucket, endpoint)
            )
        assert len(uploads(endpoint, bucket)) == 1
        before = path.stat()
        with path.open("r+b") as stream:
            stream.seek(3 * MiB)
            stream.write(b"\x07")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        world = Sandbox()
        with pytest.raises(ImageFileError, match="changed since its upload was interrupted"):
            Rig(kind, world).import_file(
                path, name="big", region="nyc3", space=target(bucket, endpoint)
            )
        assert uploads(endpoint, bucket) == []
        assert not state_path(path).exists()
        assert created(world) == []
        image = Rig(kind, world).import_file(
            path, name="big", region="nyc3", space=target(bucket, endpoint)
        )
    assert image.status == "available"
    assert uploads(endpoint, bucket) == []
    assert objects(endpoint, bucket) == []


# ------------------------------------------------------------------ typed failures


def test_a_resume_with_spaces_out_of_reach_is_an_upload_error(
    kind: str, bucket: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing of stored parts cannot reach Spaces: ``UploadError`` (unreachable,
    resumable), never botocore's own exception; the state stays for a later resume."""
    path = sparse_raw(tmp_path, "disk.img", 4 * MiB)
    with smaller_parts(monkeypatch, MiB), FaultProxy(endpoint) as proxy:
        monkeypatch.setattr("do_images._spaces.PARTS_IN_FLIGHT", 1)
        space = target(bucket, proxy.url)
        with pytest.raises(interrupted(kind)):
            Rig(kind, Sandbox(), Moments(upload_bytes=MiB)).import_file(
                path, name="down", region="nyc3", space=space
            )
        proxy.down_after = 0  # Spaces out of reach from now on
        with pytest.raises(UploadError) as caught:
            Rig(kind, Sandbox()).import_file(path, name="down", region="nyc3", space=space)
    assert caught.value.unreachable
    assert caught.value.resumable
    assert state_path(path).exists()


def test_a_state_file_that_cannot_be_written_uploads_nothing(
    kind: str, bucket: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory the state file cannot be written to: ``UploadError`` naming it before
    any multipart upload exists (none is orphaned), never a raw ``OSError``."""
    from do_images import _uploads

    def read_only(path: Path, state: object) -> None:
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(_uploads, "write_state", read_only)
    path = sparse_raw(tmp_path, "disk.img", 3 * MiB)
    world = Sandbox()
    rig = Rig(kind, world)
    with (
        FaultProxy(endpoint) as proxy,
        smaller_parts(monkeypatch, MiB),
        pytest.raises(UploadError) as caught,
    ):
        rig.import_file(path, name="ro", region="nyc3", space=target(bucket, proxy.url))
    assert proxy.counts["POST"] == 0  # no multipart upload was even created
    assert "cannot keep the resume state" in str(caught.value)
    assert "Operation not permitted" in str(caught.value)
    assert uploads(endpoint, bucket) == []
    assert objects(endpoint, bucket) == []
    assert created(world) == []


def test_the_state_file_is_never_written_through_a_symlink(
    kind: str, bucket: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A symlink planted where the state file goes is replaced, its target untouched."""
    path = sparse_raw(tmp_path, "disk.img", 3 * MiB)
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file\n")
    state_path(path).symlink_to(victim)
    monkeypatch.setattr("do_images._spaces.PARTS_IN_FLIGHT", 1)
    rig = Rig(kind, Sandbox(), Moments(upload_bytes=MiB))
    with smaller_parts(monkeypatch, MiB), pytest.raises(interrupted(kind)):
        rig.import_file(path, name="sym", region="nyc3", space=target(bucket, endpoint))
    assert victim.read_text() == "the user's own file\n"
    assert not state_path(path).is_symlink()
    assert '"upload_id"' in state_path(path).read_text()


def test_the_spaces_endpoint_is_named_as_such() -> None:
    """A bad Spaces endpoint says ``endpoint``, not ``base_url``."""
    from do_images import SpacesTarget

    with pytest.raises(ValueError, match=r"^endpoint 'http://example.com' must be https://"):
        SpacesTarget("b", endpoint="http://example.com", access_key="a", secret_key="s")


# ------------------------------------------------------------------ secrets


def test_the_presigned_url_is_in_no_log_record_at_info(
    kind: str, bucket: str, endpoint: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A whole import logged at INFO (httpx included): no record holds the presigned
    URL's signature, neither the URL check's nor the sandbox importer's fetch."""
    caplog.set_level(logging.INFO)
    world = Sandbox()
    path = write(tmp_path, "disk.qcow2", qcow2())
    Rig(kind, world).import_file(path, name="quiet", region="nyc3", space=target(bucket, endpoint))
    url = created(world)[0]["url"]
    assert "X-Amz-Signature=" in url
    signature = url.split("X-Amz-Signature=")[1]
    ours = [r for r in caplog.records if r.name != "werkzeug"]  # not the S3 server's own log
    assert ours
    for record in ours:
        text = record.getMessage()
        assert "X-Amz-Signature" not in text
        assert signature not in text
        assert SECRET not in text


def test_errors_of_an_import_hold_no_secret_and_survive_pickling(
    kind: str, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """An error naming a kept object pickles with ``object_key`` and ``bucket`` and holds
    neither the secret key nor the presigned URL."""
    world = Sandbox(import_seconds=1800)
    path = write(tmp_path, "disk.qcow2", qcow2())
    with pytest.raises(ImageTimeoutError) as caught:
        Rig(kind, world).import_file(
            path, name="pickled", region="nyc3", space=target(bucket, endpoint), timeout=60
        )
    back = pickle.loads(pickle.dumps(caught.value))
    assert (back.object_key, back.bucket) == (caught.value.object_key, bucket)
    assert str(back) == str(caught.value)
    assert back.args == caught.value.args
    signature = created(world)[0]["url"].split("X-Amz-Signature=")[1]
    blob = repr(back) + str(back) + repr(vars(back))
    assert signature not in blob
    assert SECRET not in blob
    assert ACCESS not in blob


def test_an_api_error_that_echoes_the_url_does_not_show_its_signature(
    kind: str, bucket: str, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create refused with the URL in its message and body (as a proxy or an API may
    echo it): the error keeps the URL's path but not its signature."""
    from do_images import APIStatusError
    from do_images._images import ImageOps

    def refused(self: ImageOps, name: str, url: str, *rest: object) -> Any:
        if url:  # always: a generator that raises when it is run, as an operation does
            raise UnprocessableEntityError(
                f"url {url} is not importable", status_code=422, body=f'{{"url": "{url}"}}'
            )
        yield None

    monkeypatch.setattr(ImageOps, "create", refused)
    path = write(tmp_path, "disk.qcow2", qcow2())
    with pytest.raises(APIStatusError) as caught:
        Rig(kind, Sandbox()).import_file(
            path, name="echo", region="nyc3", space=target(bucket, endpoint)
        )
    text = f"{caught.value} {caught.value!r} {vars(caught.value)} {caught.value.args}"
    assert "/echo-" in text
    assert "X-Amz-Signature" not in text
    assert "X-Amz-Credential" not in text
