"""An image file on its way to Spaces: its digests, the progress, the resume state file
and the multipart upload. ``_spaces`` (the target and the uploader) builds on this.

What an upload promises (API.md, "Importing a local disk image", step 5):

- **What is uploaded is what was checked.** Before the upload the file is read once for
  its SHA-256 (which names the object) and the MD5 of each part. Each part read for
  sending must have that MD5 (it is also the part's ``Content-MD5``), and the file's
  size, ``mtime_ns`` and inode must be as checked after the last part; otherwise the
  upload is aborted and ``ImageFileError`` ("the file changed while it was uploaded")
  raised, so an object never mixes two versions of a file.
- **Nothing is orphaned.** The upload id goes to a state file beside the image,
  written to a temporary file and renamed over it (never through a symlink). The file
  is written once before the upload is made: if it cannot be, ``UploadError`` comes
  before anything exists in the bucket. A fatal error aborts the upload; a connection
  failure or an interruption leaves it to resume. A stored upload that is not this
  file's (another key, part size or ACL) is aborted before a new one starts; one whose
  file changed since (size, ``mtime_ns``, SHA-256) is aborted and the resume refused.
- **Every failure is typed**: Spaces saying no, or out of reach at any step (the
  listing of stored parts included), is ``UploadError``; a file that cannot be read is
  ``ImageFileError``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import ImageFileError, UploadError

if TYPE_CHECKING:
    from ._imagefile import ImageFile

logger = logging.getLogger("do_images")

CHANGED = "the file changed while it was uploaded; nothing was imported: upload it once it is final"


@dataclass(frozen=True)
class UploadProgress:
    """How far the upload is: bytes ``sent`` of ``total``, at ``rate`` bytes a second."""

    sent: int
    total: int
    rate: float


class UploadStopped(Exception):
    """The upload was asked to stop (its task was cancelled); raised in its thread."""


@dataclass(frozen=True)
class Digests:
    """What the file held when it was read before the upload."""

    sha256: str
    """Of the whole file (it names the object)."""
    parts: tuple[str, ...]
    """The base64 MD5 of each part, in order (one part: the whole file)."""


def file_digests(path: Path, part_size: int, stop: threading.Event | None = None) -> Digests:
    """The file's SHA-256 and each ``part_size`` part's MD5, in one read of 1 MiB pieces."""
    whole = hashlib.sha256()
    parts: list[str] = []
    try:
        with path.open("rb") as stream:
            while True:
                part = hashlib.md5()  # S3's Content-MD5: a check of the data, not of trust
                left = part_size
                while left and (chunk := stream.read(min(left, 1 << 20))):
                    if stop is not None and stop.is_set():
                        raise UploadStopped
                    whole.update(chunk)
                    part.update(chunk)
                    left -= len(chunk)
                if left == part_size:
                    break
                parts.append(base64.b64encode(part.digest()).decode())
    except OSError as exc:
        raise ImageFileError(path, f"it cannot be read ({exc.strerror or exc})") from None
    return Digests(whole.hexdigest(), tuple(parts))


def md5_of(data: bytes) -> str:
    """The base64 MD5 of ``data`` (``Content-MD5``)."""
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def read_part(image: ImageFile, number: int, part_size: int) -> bytes:
    """Part ``number`` (from 1) of the file; ``ImageFileError`` if it cannot be read."""
    try:
        with image.path.open("rb") as stream:
            stream.seek((number - 1) * part_size)
            return stream.read(part_size)
    except OSError as exc:
        raise ImageFileError(image.path, f"it cannot be read ({exc.strerror or exc})") from None


class Meter:
    """Bytes sent so far, reported from whichever thread sent them."""

    def __init__(self, total: int, on_progress: Callable[[UploadProgress], object] | None) -> None:
        self.total = total
        self.sent = 0
        self.started = time.monotonic()
        self.on_progress = on_progress
        self.lock = threading.Lock()

    def add(self, count: int) -> None:
        with self.lock:
            self.sent += count
            elapsed = max(time.monotonic() - self.started, 1e-6)
            progress = UploadProgress(self.sent, self.total, self.sent / elapsed)
        if self.on_progress is not None:
            self.on_progress(progress)


# ------------------------------------------------------------------ the state file


def state_path(image: Path) -> Path:
    """Where the resume state of ``image``'s upload is kept: beside it."""
    return image.with_name(image.name + ".do-images-upload.json")


def read_state(path: Path) -> dict[str, Any] | None:
    """The stored state, or ``None`` (no file, a symlink, not ours, unreadable)."""
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(handle, "rb") as stream:
            saved = json.loads(stream.read(64 * 1024))
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) else None


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace ``path`` with ``state``: a temporary file renamed over it, so a symlink
    planted there is replaced, never followed. ``OSError`` if it cannot be written."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(state, stream)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def forget_state(path: Path) -> None:
    """Remove the state file; a failure is logged (it is stale, not harmful)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("could not remove the upload state %s: %s", path, exc.strerror or exc)


# ------------------------------------------------------------------ multipart


@dataclass(frozen=True)
class Bucket:
    """What a multipart upload needs of its uploader: the S3 client, where, how many parts
    at once, and how an S3 failure reads (``failed(key, exc, resumable=...)``)."""

    s3: Any
    name: str
    endpoint: str
    in_flight: int
    failed: Callable[..., UploadError]


class Multipart:
    """One multipart upload: started or resumed, parts sent and checked, completed or
    aborted. ``run`` returns once the object is complete, or raises."""

    def __init__(
        self,
        bucket: Bucket,
        image: ImageFile,
        key: str,
        *,
        part_size: int,
        digests: Digests,
        acl: str,
        meter: Meter,
        stop: threading.Event | None,
    ) -> None:
        self.bucket = bucket
        self.image = image
        self.key = key
        self.part_size = part_size
        self.digests = digests
        self.acl = acl
        self.meter = meter
        self.stop = stop
        self.state = state_path(image.path)
        self.count = math.ceil(image.size / part_size)

    def identity(self) -> dict[str, Any]:
        """What a stored upload must match to be this one."""
        return {
            "bucket": self.bucket.name,
            "endpoint": self.bucket.endpoint,
            "key": self.key,
            "size": self.image.size,
            "mtime_ns": self.image.mtime_ns,
            "sha256": self.digests.sha256,
            "part_size": self.part_size,
            "acl": self.acl,
        }

    def run(self, resume: bool) -> None:
        """Upload every part not stored yet, check the file, complete."""
        found = self._stored(resume)
        if found is None:
            upload_id, done = self._create(), dict[int, str]()
        else:
            upload_id, done = found
            logger.info("resuming the upload of %s: %d parts stored", self.key, len(done))
            self.meter.add(sum(self._size_of(n) for n in done))
        self._finish(upload_id, done)

    # -- a stored upload

    def _stored(self, resume: bool) -> tuple[str, dict[int, str]] | None:
        """The stored upload of this file and its parts, if it can go on; a stored upload
        that cannot is aborted (``ImageFileError`` if its file changed since)."""
        saved = read_state(self.state)
        if saved is None:
            return None
        mine = self.identity()
        if not isinstance(saved.get("upload_id"), str):
            forget_state(self.state)  # written before its upload was made: none was
            return None
        if {k: saved.get(k) for k in mine} == mine and resume:
            return self._parts_of(str(saved["upload_id"]))
        self._abort_stored(saved)
        file_then = [saved.get(k) for k in ("size", "mtime_ns", "sha256")]
        same_place = (
            saved.get("bucket") == mine["bucket"] and saved.get("endpoint") == mine["endpoint"]
        )
        if (
            resume
            and same_place
            and None not in file_then
            and file_then
            != [
                mine["size"],
                mine["mtime_ns"],
                mine["sha256"],
            ]
        ):
            raise ImageFileError(
                self.image.path,
                "it changed since its upload was interrupted, so the stored parts are not "
                "its own; that upload was aborted: run the import again to upload it afresh",
            )
        return None

    def _abort_stored(self, saved: dict[str, Any]) -> None:
        """Abort a stored upload that will not go on (where this client can reach it)."""
        upload_id, key, bucket = saved.get("upload_id"), saved.get("key"), saved.get("bucket")
        reachable = saved.get("endpoint") == self.bucket.endpoint
        if reachable and all(isinstance(v, str) for v in (upload_id, key, bucket)):
            try:
                self.bucket.s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            except Exception as exc:
                logger.warning("could not abort the earlier upload of %s: %s", key, exc)
        elif upload_id is not None:
            logger.warning(
                "an earlier upload of %s (upload id %s at %s) is left: abort it there",
                key,
                upload_id,
                saved.get("endpoint"),
            )
        forget_state(self.state)

    def _parts_of(self, upload_id: str) -> tuple[str, dict[int, str]] | None:
        """The parts stored under ``upload_id`` that are this file's; ``None`` if that
        upload is gone; ``UploadError`` if Spaces cannot be reached."""
        from botocore.exceptions import BotoCoreError, ClientError

        parts: dict[int, str] = {}
        try:
            pages = self.bucket.s3.get_paginator("list_parts").paginate(
                Bucket=self.bucket.name, Key=self.key, UploadId=upload_id
            )
            for page in pages:
                for part in page.get("Parts", []):
                    number, etag = int(part["PartNumber"]), str(part["ETag"])
                    if int(part["Size"]) == self._size_of(number) and self._ours(number, etag):
                        parts[number] = etag
        except ClientError:
            forget_state(self.state)
            return None  # the upload is gone (aborted, expired): start again
        except BotoCoreError as exc:
            raise self.bucket.failed(self.key, exc, resumable=True) from None
        return upload_id, parts

    def _ours(self, number: int, etag: str) -> bool:
        """Whether a stored part holds what this file's part does (an ETag that is an MD5
        must be the part's; another kind of ETag is taken on its size)."""
        hexdigest = etag.strip('"')
        if len(hexdigest) != 32:
            return True
        try:
            stored = base64.b64encode(bytes.fromhex(hexdigest)).decode()
        except ValueError:
            return True
        return 0 < number <= len(self.digests.parts) and stored == self.digests.parts[number - 1]

    def _size_of(self, number: int) -> int:
        return min(self.part_size, self.image.size - (number - 1) * self.part_size)

    # -- a new upload

    def _create(self) -> str:
        """A new multipart upload, its id in the state file. The file is written first
        without the id: one that cannot be written fails before anything exists in the
        bucket, so no upload is ever left without a way to resume or abort it."""
        from botocore.exceptions import BotoCoreError, ClientError

        self._check_stop()
        self._keep_state(None)
        try:  # the ACL said outright: an object is private because it was made so
            answer = self.bucket.s3.create_multipart_upload(
                Bucket=self.bucket.name, Key=self.key, ACL=self.acl
            )
        except (ClientError, BotoCoreError) as exc:
            forget_state(self.state)
            raise self.bucket.failed(self.key, exc, resumable=False) from None
        except BaseException:
            forget_state(self.state)
            raise
        upload_id = str(answer["UploadId"])
        try:
            self._keep_state(upload_id)
        except BaseException:
            self._abort(upload_id)
            raise
        return upload_id

    def _keep_state(self, upload_id: str | None) -> None:
        """Write the state file; ``UploadError`` (nothing uploaded) if it cannot be."""
        try:
            write_state(self.state, {**self.identity(), "upload_id": upload_id})
        except OSError as exc:
            raise UploadError(
                f"cannot keep the resume state of {self.key} in {self.state} "
                f"({exc.strerror or exc}), so nothing was uploaded: import it from a "
                "directory this user can write to",
                bucket=self.bucket.name,
                key=self.key,
                resumable=False,
            ) from None

    # -- sending, completing, aborting

    def _finish(self, upload_id: str, done: dict[int, str]) -> None:
        """Send the missing parts, check the file, complete. An interruption passes through
        and leaves the parts stored, for a resume."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            done.update(
                self._send([n for n in range(1, self.count + 1) if n not in done], upload_id)
            )
            if self.image.changed():
                raise ImageFileError(self.image.path, CHANGED)
            self.bucket.s3.complete_multipart_upload(
                Bucket=self.bucket.name,
                Key=self.key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": n, "ETag": done[n]} for n in sorted(done)]
                },
            )
        except ClientError as exc:
            self._abort(upload_id)
            raise self.bucket.failed(self.key, exc, resumable=False) from None
        except BotoCoreError as exc:  # out of reach: the parts stay for a resume
            raise self.bucket.failed(self.key, exc, resumable=True) from None
        except ImageFileError:
            self._abort(upload_id)
            raise
        forget_state(self.state)

    def _abort(self, upload_id: str) -> None:
        try:
            self.bucket.s3.abort_multipart_upload(
                Bucket=self.bucket.name, Key=self.key, UploadId=upload_id
            )
        except Exception as exc:
            logger.warning(
                "could not abort the upload of %s (upload id %s): %s", self.key, upload_id, exc
            )
        forget_state(self.state)

    def _check_stop(self) -> None:
        if self.stop is not None and self.stop.is_set():
            raise UploadStopped

    def _send(self, numbers: list[int], upload_id: str) -> dict[int, str]:
        """Send the parts, at most ``in_flight`` read and on their way at once."""
        sent: dict[int, str] = {}
        waiting = iter(numbers)
        with ThreadPoolExecutor(
            self.bucket.in_flight, thread_name_prefix="do-images-upload"
        ) as pool:
            running: dict[Future[str], int] = {}
            try:
                while True:
                    self._check_stop()
                    while len(running) < self.bucket.in_flight:
                        number = next(waiting, None)
                        if number is None:
                            break
                        running[pool.submit(self._part, number, upload_id)] = number
                    if not running:
                        return sent
                    finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                    for future in finished:
                        sent[running.pop(future)] = future.result()
            finally:
                for future in running:
                    future.cancel()

    def _part(self, number: int, upload_id: str) -> str:
        data = read_part(self.image, number, self.part_size)
        digest = md5_of(data)
        if digest != self.digests.parts[number - 1]:
            raise ImageFileError(self.image.path, CHANGED)
        answer = self.bucket.s3.upload_part(
            Bucket=self.bucket.name,
            Key=self.key,
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ContentMD5=digest,
        )
        self.meter.add(len(data))
        return str(answer["ETag"])
