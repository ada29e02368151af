"""``import_file`` end to end, offline: a generated image, moto's S3 server on loopback, a
sandbox whose importer really fetches the URL, on both clients."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from do_images import (
    DistributionError,
    ImageFailedError,
    ImportProgress,
    MissingSpacesKeyError,
    SpacesTarget,
    UploadError,
    UploadProgress,
)
from do_images._uploads import state_path as _state_path
from do_images.testing import Sandbox
from image_files import gz, qcow2, sparse_raw, write
from import_support import objects, target
from spaces_support import ACCESS, SECRET, FaultProxy, s3
from support import Driver, driver

MiB = 1024 * 1024


@pytest.fixture
def endpoint(s3_endpoint: str) -> str:
    """The session's S3 server on loopback."""
    return s3_endpoint


@pytest.fixture
def world() -> Sandbox:
    """A sandbox whose importer fetches loopback URLs."""
    return Sandbox()


@pytest.fixture
def do(kind: str, world: Sandbox) -> Iterator[Driver]:
    """Either client, wired to ``world``."""
    client = world.client() if kind == "sync" else world.async_client()
    with driver(kind, client=client) as made:
        yield made


def created_url(world: Sandbox) -> str:
    """The URL of the one image create ``world`` was sent."""
    (posted,) = [r for r in world.requests if r.operation == "images_create_custom"]
    url: str = json.loads(posted.body)["url"]
    return url


def test_a_qcow2_gz_goes_through_and_the_object_is_gone(
    do: Driver, world: Sandbox, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """Uploaded, fetched by presigned URL only, imported, copied, tagged; then the object goes."""
    path = write(tmp_path, "build-output", gz(qcow2()))  # no suffix: the content decides
    seen: list[object] = []
    anonymous: list[int] = []

    def record(progress: object) -> None:
        seen.append(progress)
        if isinstance(progress, ImportProgress) and progress.image is not None and not anonymous:
            anonymous.append(httpx.get(created_url(world).split("?")[0]).status_code)

    image = do.image.import_file(
        path,
        name="web 2026/12",
        region="nyc3",
        space=target(bucket, endpoint, key_prefix="ci/"),
        regions=["sfo3", "ams3"],
        tags=["web"],
        on_progress=record,
    )
    assert image.status == "available"
    assert sorted(image.regions or []) == ["ams3", "nyc3", "sfo3"]
    assert image.tags == ["web"]
    url = created_url(world)
    assert "X-Amz-Signature=" in url  # presigned, the object private
    assert "/ci/web-2026-12-" in url
    assert url.split("?")[0].endswith(".qcow2.gz")
    assert anonymous == [403]  # while the import ran, only the signed URL could fetch it
    assert objects(endpoint, bucket) == []  # deleted once the import ended
    stages = [p.stage for p in seen if isinstance(p, ImportProgress)]
    assert stages[0] == "importing"
    assert stages[-1] == "done"
    assert "distributing" in stages
    uploads = [p for p in seen if isinstance(p, UploadProgress)]
    assert uploads[-1].sent == uploads[-1].total == path.stat().st_size


def test_keep_object_keeps_it(do: Driver, bucket: str, endpoint: str, tmp_path: Path) -> None:
    """``keep_object=True`` keeps the object, named from the image and its real extension."""
    path = write(tmp_path, "disk.qcow2", qcow2())
    do.image.import_file(
        path, name="kept", region="nyc3", space=target(bucket, endpoint), keep_object=True
    )
    (key,) = objects(endpoint, bucket)
    assert key.startswith("kept-")
    assert key.endswith(".qcow2")


def test_public_read_only_when_asked_and_only_for_the_import(
    do: Driver, world: Sandbox, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """``public_read=True``: public while the import ran, private again once kept."""
    path = write(tmp_path, "disk.qcow2", qcow2())
    public: list[int] = []

    def while_importing(progress: object) -> None:
        if isinstance(progress, ImportProgress) and progress.image is not None and not public:
            public.append(httpx.get(created_url(world)).status_code)

    do.image.import_file(
        path,
        name="pub",
        region="nyc3",
        space=target(bucket, endpoint),
        public_read=True,
        keep_object=True,
        on_progress=while_importing,
    )
    url = created_url(world)
    assert "X-Amz-Signature" not in url
    assert public == [200]  # anyone could fetch it while the import ran
    assert httpx.get(url).status_code == 403  # kept, but private again


def test_a_failed_import_raises_with_the_image_and_removes_the_object(
    do: Driver, world: Sandbox, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """A failed import raises ``ImageFailedError`` with the image; the object goes."""
    world.fail_next_import("We had a problem decompressing your file. Please try again.")
    path = write(tmp_path, "disk.qcow2.gz", gz(qcow2()))
    with pytest.raises(ImageFailedError) as caught:
        do.image.import_file(path, name="late", region="nyc3", space=target(bucket, endpoint))
    assert caught.value.image is not None
    assert caught.value.image.name == "late"
    assert "decompressing" in (caught.value.error_message or "")
    assert objects(endpoint, bucket) == []


def test_one_failing_region_raises_distribution_error_with_the_image(
    do: Driver, world: Sandbox, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """One copy errors: ``DistributionError`` with the image; the import ended, the object goes."""
    path = write(tmp_path, "disk.qcow2", qcow2())

    def fail_one(progress: object) -> None:
        if (
            isinstance(progress, ImportProgress)
            and progress.stage == "importing"
            and progress.image
            and progress.image.status == "available"
        ):
            world.error_next_action()

    with pytest.raises(DistributionError) as caught:
        do.image.import_file(
            path,
            name="d",
            region="nyc3",
            space=target(bucket, endpoint),
            regions=["sfo3", "ams3"],
            on_progress=fail_one,
        )
    assert caught.value.image is not None
    assert len(caught.value.errors) == 1
    assert objects(endpoint, bucket) == []


def test_an_upload_cut_halfway_resumes_with_only_the_missing_parts(
    do: Driver, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """Spaces gone halfway: a resumable ``UploadError``; the next run sends only missing parts."""
    path = sparse_raw(tmp_path, "disk.img", 6 * 5 * MiB)  # six parts of 5 MiB
    with FaultProxy(endpoint) as proxy:
        space = target(bucket, proxy.url)
        proxy.down_after = 3
        with pytest.raises(UploadError) as caught:
            _small_parts(do, path, space)
        assert caught.value.resumable
        assert caught.value.unreachable
        assert _state_path(path).exists()
        sent_before = proxy.counts["part"]
        proxy.down_after = None
        image = _small_parts(do, path, space)
    assert image.status == "available"
    assert proxy.counts["part"] - sent_before == 6 - sent_before  # only the missing ones
    assert not _state_path(path).exists()
    assert objects(endpoint, bucket) == []


def _small_parts(do: Driver, path: Path, space: SpacesTarget) -> Any:
    original = SpacesTarget.uploader

    def five_mib(self: SpacesTarget) -> Any:
        made = original(self)
        made.part_size = 5 * MiB
        made.in_flight = 2
        return made

    SpacesTarget.uploader = five_mib  # type: ignore[method-assign]
    try:
        return do.image.import_file(path, name="big", region="nyc3", space=space)
    finally:
        SpacesTarget.uploader = original  # type: ignore[method-assign]


def test_a_fatal_error_aborts_the_multipart_upload(
    do: Driver, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """Spaces refusing parts: ``UploadError``, the upload aborted, its state file gone."""
    path = sparse_raw(tmp_path, "disk.img", 3 * 5 * MiB)
    with FaultProxy(endpoint) as proxy:
        proxy.refuse_parts = True
        with pytest.raises(UploadError) as caught:
            _small_parts(do, path, target(bucket, proxy.url))
    assert not caught.value.resumable
    assert not caught.value.unreachable
    assert "AccessDenied" in str(caught.value)
    assert s3(endpoint).list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert not _state_path(path).exists()


def test_a_bad_file_is_refused_before_anything_is_sent(
    do: Driver, world: Sandbox, bucket: str, endpoint: str, tmp_path: Path
) -> None:
    """An xz file is ``ImageFileError`` before any request or upload."""
    from do_images import ImageFileError

    path = write(tmp_path, "disk.img.xz", b"\xfd7zXZ\x00" + bytes(100))
    with pytest.raises(ImageFileError, match="xz"):
        do.image.import_file(path, name="x", region="nyc3", space=target(bucket, endpoint))
    assert world.requests == []
    assert objects(endpoint, bucket) == []


def test_spaces_keys_from_the_environment_and_never_shown(
    kind: str, bucket: str, endpoint: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Keys from either variable pair (``SPACES_*`` first), the secret in no repr or log."""
    with pytest.raises(MissingSpacesKeyError, match="SPACES_ACCESS_KEY_ID"):
        SpacesTarget(bucket, endpoint=endpoint, environ={})
    both = {
        "SPACES_ACCESS_KEY_ID": ACCESS,
        "SPACES_SECRET_ACCESS_KEY": SECRET,
        "DIGITALOCEAN_SPACES_ACCESS_KEY": "other",
        "DIGITALOCEAN_SPACES_SECRET_KEY": "other-secret",
    }
    space = SpacesTarget(bucket, endpoint=endpoint, environ=both)  # SPACES_* wins
    packer = SpacesTarget(
        bucket,
        endpoint=endpoint,
        environ={"DIGITALOCEAN_SPACES_ACCESS_KEY": "a", "DIGITALOCEAN_SPACES_SECRET_KEY": "s"},
    )
    assert SECRET not in repr(space)
    assert ACCESS not in repr(space)
    assert "s" not in repr(packer)[-3:]
    caplog.set_level(logging.DEBUG)
    world = Sandbox()
    path = write(tmp_path, "disk.qcow2", qcow2())
    client = world.client() if kind == "sync" else world.async_client()
    with driver(kind, client=client) as do:
        do.image.import_file(path, name="logged", region="nyc3", space=space)
    assert caplog.records
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in repr(record.args)


def test_the_sandbox_importer_fetches_and_sniffs_loopback_urls(
    world: Sandbox, bucket: str, endpoint: str
) -> None:
    """The sandbox's importer fetches loopback URLs and fails bad ones as the API does."""
    client = s3(endpoint)
    client.put_object(Bucket=bucket, Key="notes.txt", Body=b"just some text\n" * 100)
    client.put_object(Bucket=bucket, Key="disk.img.xz", Body=b"\xfd7zXZ\x00" + bytes(100))
    client.put_object(Bucket=bucket, Key="ok.qcow2", Body=qcow2())
    urls = {
        key: client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
        for key in ("notes.txt", "disk.img.xz", "ok.qcow2")
    }
    urls["closed"] = "http://127.0.0.1:9/disk.qcow2"
    with world.client() as do:
        made = {key: do.image.create(key, url, "nyc3") for key, url in urls.items()}
        world.advance(120)
        ended = {key: do.image.info(image.id) for key, image in made.items()}
    assert ended["ok.qcow2"].status == "available"
    assert ended["notes.txt"].status == "deleted"
    assert "not an image we can import" in (ended["notes.txt"].error_message or "")
    assert "compression we cannot read" in (ended["disk.img.xz"].error_message or "")
    assert "unable to download" in (ended["closed"].error_message or "")
