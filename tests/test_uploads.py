"""The multipart upload's edges, against moto on loopback: a stored upload that is gone or
belongs elsewhere, an abort or a create Spaces will not do, a stop asked of the hashing,
ETags that are not MD5s. Nothing is left behind unsaid."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from do_images import ImageFileError, UploadError
from do_images._imagefile import check_image_file
from do_images._uploads import (
    Bucket,
    Meter,
    Multipart,
    UploadStopped,
    file_digests,
    read_state,
    state_path,
    write_state,
)
from do_images.testing import Sandbox
from image_files import sparse_raw
from import_support import MiB, Moments, Rig, smaller_parts, target, uploads
from spaces_support import FaultProxy, s3


@pytest.fixture
def endpoint(s3_endpoint: str) -> str:
    """The session's S3 server on loopback."""
    return s3_endpoint


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Parts of 1 MiB, one at a time."""
    with smaller_parts(monkeypatch, MiB):
        monkeypatch.setattr("do_images._spaces.PARTS_IN_FLIGHT", 1)
        yield


def interrupted_upload(path: Path, bucket: str, endpoint: str) -> None:
    """Start an upload of ``path`` and Ctrl-C it after its first part."""
    with pytest.raises(KeyboardInterrupt):
        Rig("sync", Sandbox(), Moments(upload_bytes=MiB)).import_file(
            path, name="big", region="nyc3", space=target(bucket, endpoint)
        )


@pytest.mark.usefixtures("small_parts")
def test_a_stored_upload_that_is_gone_starts_afresh(
    bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """The stored upload was aborted elsewhere: the next run starts a new one and imports."""
    path = sparse_raw(tmp_path, "disk.img", 3 * MiB)
    interrupted_upload(path, bucket, endpoint)
    ((key, upload_id),) = uploads(endpoint, bucket)
    s3(endpoint).abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    image = Rig("sync", Sandbox()).import_file(
        path, name="big", region="nyc3", space=target(bucket, endpoint)
    )
    assert image.status == "available"
    assert uploads(endpoint, bucket) == []


@pytest.mark.usefixtures("small_parts")
def test_a_stored_upload_of_another_endpoint_is_named_and_left(
    bucket: str, endpoint: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A state file naming another endpoint: that upload cannot be reached from here, so a
    WARNING names it (and where), and this run uploads afresh."""
    path = sparse_raw(tmp_path, "disk.img", 3 * MiB)
    write_state(
        state_path(path),
        {"endpoint": "http://127.0.0.1:1", "bucket": bucket, "key": "k", "upload_id": "u-1"},
    )
    image = Rig("sync", Sandbox()).import_file(
        path, name="big", region="nyc3", space=target(bucket, endpoint)
    )
    assert image.status == "available"
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("u-1" in text and "http://127.0.0.1:1" in text for text in warned)


@pytest.mark.usefixtures("small_parts")
def test_an_abort_spaces_will_not_do_is_named(
    bucket: str, endpoint: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Parts refused and the abort cut off too: the refusal is raised, and a WARNING names
    the upload id that is left, so it can be aborted by hand."""
    path = sparse_raw(tmp_path, "disk.img", 3 * MiB)
    with FaultProxy(endpoint) as proxy:
        proxy.refuse_parts = True
        proxy.cut = {"DELETE"}
        with pytest.raises(UploadError, match="AccessDenied"):
            Rig("sync", Sandbox()).import_file(
                path, name="big", region="nyc3", space=target(bucket, proxy.url)
            )
    ((key, upload_id),) = uploads(endpoint, bucket)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(upload_id in text and "could not abort" in text for text in warned)
    s3(endpoint).abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)


@pytest.mark.usefixtures("small_parts")
def test_a_refused_create_leaves_no_state(bucket: str, endpoint: str, tmp_path: Path) -> None:
    """Spaces refusing to start the multipart upload: ``UploadError``, and the state file
    written ahead of it is gone (it would name no upload)."""
    path = sparse_raw(tmp_path, "disk.img", 3 * MiB)
    with FaultProxy(endpoint) as proxy:
        proxy.failing["POST"] = 99
        with pytest.raises(UploadError) as caught:
            Rig("sync", Sandbox()).import_file(
                path, name="big", region="nyc3", space=target(bucket, proxy.url)
            )
    assert not caught.value.resumable
    assert not state_path(path).exists()
    assert uploads(endpoint, bucket) == []


def test_hashing_stops_when_asked(tmp_path: Path) -> None:
    """The read for the digests stops at its next piece once its task is cancelled."""
    path = sparse_raw(tmp_path, "disk.img", 2 * MiB)
    stop = threading.Event()
    stop.set()
    with pytest.raises(UploadStopped):
        file_digests(path, MiB, stop)


def test_a_file_gone_before_its_digests_is_an_image_file_error(tmp_path: Path) -> None:
    """A file that cannot be read for its digests: ``ImageFileError``, not ``OSError``."""
    with pytest.raises(ImageFileError, match="cannot be read"):
        file_digests(tmp_path / "gone.img", MiB)


def test_a_state_file_that_is_not_ours_is_ignored(tmp_path: Path) -> None:
    """A state file that is not JSON, or a symlink, reads as no state at all."""
    path = tmp_path / "disk.img.do-images-upload.json"
    path.write_text("not json")
    assert read_state(path) is None
    target_file = tmp_path / "elsewhere.json"
    target_file.write_text(json.dumps({"upload_id": "u"}))
    path.unlink()
    path.symlink_to(target_file)
    assert read_state(path) is None


def test_a_stored_part_is_taken_by_its_md5_or_its_size(tmp_path: Path) -> None:
    """A stored part whose ETag is an MD5 must be this file's part; another kind of ETag
    (a provider's own) is taken on its size."""
    path = sparse_raw(tmp_path, "disk.img", 2 * MiB)
    image = check_image_file(path)
    digests = file_digests(path, MiB)
    bucket = Bucket(
        None,
        "b",
        "http://127.0.0.1:1",
        1,
        lambda *a, **k: UploadError("x", bucket="b", key="k", resumable=False),
    )
    upload = Multipart(
        bucket,
        image,
        "k",
        part_size=MiB,
        digests=digests,
        acl="private",
        meter=Meter(1, None),
        stop=None,
    )
    mine = base64.b64decode(digests.parts[0]).hex()
    assert upload._ours(1, f'"{mine}"')
    assert not upload._ours(1, '"' + "0" * 32 + '"')
    assert upload._ours(1, '"not-an-md5-etag-2"')
    assert upload._ours(1, '"' + "z" * 32 + '"')
