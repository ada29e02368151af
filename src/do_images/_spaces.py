"""Spaces (S3-compatible object storage): where ``import_file`` puts an image for the API.

``SpacesTarget`` names the bucket and holds the keys (never shown: not in ``repr``, any
message or log record). ``Uploader`` is the S3 side, on boto3 (the optional extra
``do-images[spaces]``): a single PUT for a small file, else a multipart upload with
several parts in flight (memory bounded by parts in flight times part size), an MD5 on each
part, the upload id kept in a small state file beside the image so an interrupted
upload goes on from the parts already stored, and the upload aborted on a fatal error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import httpx

from ._checks import check_base_url, check_str
from ._errors import MissingSpacesKeyError, UploadError

if TYPE_CHECKING:
    from ._imagefile import ImageFile
    from ._models import Action, Image

logger = logging.getLogger("do_images")

KEY_VARIABLES = (
    ("SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY"),
    ("DIGITALOCEAN_SPACES_ACCESS_KEY", "DIGITALOCEAN_SPACES_SECRET_KEY"),
)
"""Where the keys are looked for, in this order (Terraform and Pulumi's, then Packer's)."""
PART_SIZE = 8 * 1024 * 1024
MIN_PART_SIZE = 5 * 1024 * 1024
"""S3's smallest part (but the last)."""
MAX_PARTS = 10_000
PARTS_IN_FLIGHT = 8
MAX_PRESIGN = 7 * 86_400
"""The longest a SigV4 presigned URL may live."""


# ------------------------------------------------------------------ progress


@dataclass(frozen=True)
class UploadProgress:
    """How far the upload is: bytes ``sent`` of ``total``, at ``rate`` bytes a second."""

    sent: int
    total: int
    rate: float


@dataclass(frozen=True)
class ImportProgress:
    """A stage of ``import_file`` after the upload: ``importing`` (``image`` once made),
    ``distributing`` (``action`` for each transfer), then ``done``."""

    stage: Literal["importing", "distributing", "done"]
    image: Image | None
    action: Action | None = None


OnProgress = Callable[[UploadProgress | ImportProgress], object]


# ------------------------------------------------------------------ the target


def _keys(access: str | None, secret: str | None, environ: Mapping[str, str]) -> tuple[str, str]:
    for access_name, secret_name in KEY_VARIABLES:
        if (
            access is None
            and secret is None
            and environ.get(access_name)
            and environ.get(secret_name)
        ):
            return environ[access_name].strip(), environ[secret_name].strip()
    if access is not None and secret is not None:
        return check_str(access, "access_key").strip(), check_str(secret, "secret_key").strip()
    names = " / ".join(f"${a} and ${s}" for a, s in KEY_VARIABLES)
    given = "only one of access_key and secret_key was given; " if access or secret else ""
    raise MissingSpacesKeyError(
        f"no Spaces keys: {given}pass access_key and secret_key, or set {names}"
    )


class SpacesTarget:
    """A Spaces bucket to upload to, and the keys to use (from the environment by default).

    ``endpoint`` defaults to ``https://{region}.digitaloceanspaces.com``; any S3-compatible
    URL works (``http://`` only on loopback, for tests). Missing keys raise
    ``MissingSpacesKeyError`` here, before anything is read.
    """

    __slots__ = ("_access", "_secret", "bucket", "endpoint", "key_prefix", "region")

    def __init__(
        self,
        bucket: str,
        region: str = "nyc3",
        *,
        key_prefix: str = "",
        endpoint: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.bucket = check_str(bucket, "bucket")
        self.region = check_str(region, "region")
        if not isinstance(key_prefix, str):
            raise TypeError("key_prefix must be a str")
        self.key_prefix = key_prefix
        url = endpoint or f"https://{self.region}.digitaloceanspaces.com"
        self.endpoint = str(check_base_url(url)).rstrip("/")
        self._access, self._secret = _keys(
            access_key, secret_key, os.environ if environ is None else environ
        )

    def __repr__(self) -> str:
        return f"<SpacesTarget bucket={self.bucket!r} endpoint={self.endpoint!r}>"

    def __reduce__(self) -> Any:
        raise TypeError("a SpacesTarget cannot be pickled (it holds keys)")

    def uploader(self) -> Uploader:
        """The S3 client for this target (boto3: the ``spaces`` extra)."""
        return Uploader(self, self._access, self._secret)


# ------------------------------------------------------------------ the uploader


def part_size_for(size: int, wanted: int = PART_SIZE) -> int:
    """A part size of at least ``wanted`` that keeps a file of ``size`` under 10,000 parts."""
    least = math.ceil(size / (MAX_PARTS - 1))
    mib = 1024 * 1024
    return max(wanted, math.ceil(least / mib) * mib)


def _state_path(image: Path) -> Path:
    return image.with_name(image.name + ".do-images-upload.json")


class Uploader:
    """Puts one image file in its bucket, and takes it away again."""

    def __init__(self, target: SpacesTarget, access: str, secret: str) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:  # pragma: no cover - the test extra installs boto3
            from ._extras import needs_extra

            raise ImportError(needs_extra("importing a local image", "spaces")) from None
        self.target = target
        self.bucket = target.bucket
        self.s3 = boto3.session.Session().client(
            "s3",
            endpoint_url=target.endpoint,
            region_name=target.region,
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 4, "mode": "standard"},
                # Each part carries its MD5 (Content-MD5, which S3 and Spaces check);
                # no second checksum on top.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        self.part_size = PART_SIZE
        self.in_flight = PARTS_IN_FLIGHT
        """Parts read and on their way at once: memory stays under this times part_size."""

    # -- errors

    def _failed(self, key: str, exc: Exception, *, resumable: bool) -> UploadError:
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            said = f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
            return UploadError(
                f"Spaces refused the upload of {key} to bucket {self.bucket} ({said})",
                bucket=self.bucket,
                key=key,
                resumable=resumable,
            )
        unreachable = isinstance(exc, BotoCoreError)
        return UploadError(
            f"Spaces could not be reached for {key} in bucket {self.bucket} "
            f"({type(exc).__name__}: {exc})",
            bucket=self.bucket,
            key=key,
            resumable=resumable,
            unreachable=unreachable,
        )

    # -- uploading

    def upload(
        self,
        image: ImageFile,
        key: str,
        *,
        public: bool,
        resume: bool,
        on_progress: Callable[[UploadProgress], object] | None,
    ) -> None:
        """Put ``image`` at ``key``; ``UploadError`` if Spaces says no or is out of reach."""
        from botocore.exceptions import BotoCoreError, ClientError

        meter = _Meter(image.size, on_progress)
        part = part_size_for(image.size, max(self.part_size, MIN_PART_SIZE))
        acl = {"ACL": "public-read"} if public else {}
        if image.size <= part:
            data = image.path.read_bytes()
            try:
                self.s3.put_object(
                    Bucket=self.bucket, Key=key, Body=data, ContentMD5=_md5(data), **acl
                )
            except (ClientError, BotoCoreError) as exc:
                raise self._failed(key, exc, resumable=False) from None
            meter.add(len(data))
            return
        _Multipart(self, image, key, part, acl, meter).run(resume)

    def url(self, key: str, *, public: bool, seconds: float) -> str:
        """The URL the API fetches: presigned for GET (the default), or the public one."""
        if public:
            return f"{self.target.endpoint}/{quote(self.bucket)}/{quote(key)}"
        url: str = self.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=int(min(MAX_PRESIGN, max(3600, seconds + 3600))),
        )
        return url

    def make_private(self, key: str) -> None:
        """End the public window of a kept object."""
        self.s3.put_object_acl(Bucket=self.bucket, Key=key, ACL="private")

    def delete(self, key: str) -> None:
        """Remove the object (the import has ended); a failure is logged, never raised."""
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            logger.warning("could not delete %s from bucket %s: %s", key, self.bucket, exc)

    def exists(self, key: str) -> bool:
        """Whether the object is there (for tests and the command line's hints)."""
        from botocore.exceptions import ClientError

        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError:
            return False
        return True


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


class _Meter:
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


class _Multipart:
    """One multipart upload: started or resumed, parts sent, completed or aborted."""

    def __init__(
        self,
        uploader: Uploader,
        image: ImageFile,
        key: str,
        part_size: int,
        acl: dict[str, str],
        meter: _Meter,
    ) -> None:
        self.up = uploader
        self.image = image
        self.key = key
        self.part_size = part_size
        self.acl = acl
        self.meter = meter
        self.state = _state_path(image.path)
        self.count = math.ceil(image.size / part_size)

    def _identity(self) -> dict[str, Any]:
        stat = self.image.path.stat()
        return {
            "bucket": self.up.bucket,
            "endpoint": self.up.target.endpoint,
            "key": self.key,
            "size": self.image.size,
            "mtime_ns": stat.st_mtime_ns,
            "part_size": self.part_size,
        }

    def _resumed(self) -> tuple[str, dict[int, str]] | None:
        """The upload id and the parts stored, if this file's upload can go on."""
        from botocore.exceptions import ClientError

        try:
            saved = json.loads(self.state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            not isinstance(saved, dict)
            or {k: saved.get(k) for k in self._identity()} != self._identity()
        ):
            return None
        upload_id = str(saved.get("upload_id"))
        parts: dict[int, str] = {}
        try:
            pages = self.up.s3.get_paginator("list_parts").paginate(
                Bucket=self.up.bucket, Key=self.key, UploadId=upload_id
            )
            for page in pages:
                for part in page.get("Parts", []):
                    number, size = int(part["PartNumber"]), int(part["Size"])
                    if size == self._size_of(number):
                        parts[number] = str(part["ETag"])
        except ClientError:
            return None  # the upload is gone (aborted, expired): start again
        return upload_id, parts

    def _size_of(self, number: int) -> int:
        return min(self.part_size, self.image.size - (number - 1) * self.part_size)

    def run(self, resume: bool) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        found = self._resumed() if resume else None
        try:
            if found is None:
                answer = self.up.s3.create_multipart_upload(
                    Bucket=self.up.bucket, Key=self.key, **self.acl
                )
                upload_id, done = str(answer["UploadId"]), dict[int, str]()
                self.state.write_text(
                    json.dumps({**self._identity(), "upload_id": upload_id}), encoding="utf-8"
                )
            else:
                upload_id, done = found
                logger.info("resuming the upload of %s: %d parts stored", self.key, len(done))
                self.meter.add(sum(self._size_of(n) for n in done))
        except (ClientError, BotoCoreError) as exc:
            raise self.up._failed(self.key, exc, resumable=False) from None
        try:
            done.update(
                self._send([n for n in range(1, self.count + 1) if n not in done], upload_id)
            )
            self.up.s3.complete_multipart_upload(
                Bucket=self.up.bucket,
                Key=self.key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": n, "ETag": done[n]} for n in sorted(done)]
                },
            )
        except ClientError as exc:
            self._abort(upload_id)
            raise self.up._failed(self.key, exc, resumable=False) from None
        except BotoCoreError as exc:
            raise self.up._failed(self.key, exc, resumable=True) from None
        self.state.unlink(missing_ok=True)

    def _abort(self, upload_id: str) -> None:
        try:
            self.up.s3.abort_multipart_upload(
                Bucket=self.up.bucket, Key=self.key, UploadId=upload_id
            )
        except Exception as exc:
            logger.warning("could not abort the upload of %s: %s", self.key, exc)
        self.state.unlink(missing_ok=True)

    def _send(self, numbers: list[int], upload_id: str) -> dict[int, str]:
        """Send the parts, at most ``in_flight`` read and on their way at once."""
        sent: dict[int, str] = {}
        waiting = iter(numbers)
        with ThreadPoolExecutor(self.up.in_flight, thread_name_prefix="do-images-upload") as pool:
            running: dict[Future[str], int] = {}
            try:
                while True:
                    while len(running) < self.up.in_flight:
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
        with self.image.path.open("rb") as stream:
            stream.seek((number - 1) * self.part_size)
            data = stream.read(self.part_size)
        answer = self.up.s3.upload_part(
            Bucket=self.up.bucket,
            Key=self.key,
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ContentMD5=_md5(data),
        )
        self.meter.add(len(data))
        return str(answer["ETag"])


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_url_request(url: str) -> httpx.Request:
    """A ranged GET of the first MiB: the method a presigned URL is signed for."""
    return httpx.Request("GET", url, headers={"Range": "bytes=0-1048575"})


__all__ = ["ImportProgress", "SpacesTarget", "UploadProgress"]
