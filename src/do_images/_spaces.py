"""Spaces (S3-compatible object storage): where ``import_file`` puts an image for the API.

``SpacesTarget`` names the bucket and holds the keys (never shown: not in ``repr``, any
message or log record). ``Uploader`` is the S3 side, on boto3 (the optional extra
``do-images[spaces]``): a single PUT for a small file, else a multipart upload
(``_uploads``) with several parts in flight (memory bounded by parts in flight times part
size), resumable from a small state file beside the image; and the object's end: made
private, removed.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import httpx

from ._checks import check_base_url, check_str
from ._errors import ImageFileError, MissingSpacesKeyError, UploadError
from ._uploads import (
    CHANGED,
    Bucket,
    Digests,
    Meter,
    Multipart,
    UploadProgress,
    file_digests,
    md5_of,
    read_part,
)

if TYPE_CHECKING:
    from ._imagefile import ImageFile
    from ._models import Action, Image

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
class ImportProgress:
    """A stage of ``import_file`` after the upload: ``importing`` (``image`` once made),
    ``distributing`` (``action`` for each transfer), then ``done``. ``object_key`` and
    ``bucket`` name the uploaded object the import fetches."""

    stage: Literal["importing", "distributing", "done"]
    image: Image | None
    action: Action | None = None
    object_key: str | None = None
    bucket: str | None = None


OnProgress = Callable[[UploadProgress | ImportProgress], object]


# ------------------------------------------------------------------ the target


def default_endpoint(region: str) -> str:
    """The Spaces endpoint of ``region``."""
    return f"https://{region}.digitaloceanspaces.com"


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
        url = endpoint or default_endpoint(self.region)
        self.endpoint = str(check_base_url(url, "endpoint")).rstrip("/")
        self._access, self._secret = _keys(
            access_key, secret_key, os.environ if environ is None else environ
        )

    def __repr__(self) -> str:
        return f"<SpacesTarget bucket={self.bucket!r} endpoint={self.endpoint!r}>"

    def __reduce__(self) -> Any:
        raise TypeError("a SpacesTarget cannot be pickled (it holds keys)")

    @property
    def default_endpoint(self) -> bool:
        """Whether ``endpoint`` is the region's Spaces endpoint."""
        return self.endpoint == default_endpoint(self.region)

    def uploader(self) -> Uploader:
        """The S3 client for this target (boto3: the ``spaces`` extra)."""
        return Uploader(self, self._access, self._secret)


# ------------------------------------------------------------------ the uploader


def part_size_for(size: int, wanted: int = PART_SIZE) -> int:
    """A part size of at least ``wanted`` that keeps a file of ``size`` under 10,000 parts."""
    least = math.ceil(size / (MAX_PARTS - 1))
    mib = 1024 * 1024
    return max(wanted, math.ceil(least / mib) * mib)


_SESSION_LOCK = threading.Lock()


@functools.cache
def _session(boto3: Any) -> Any:
    """One boto3 session for every uploader: it loads S3's model once (a tenth of a
    second a client otherwise). Each client gets its own keys."""
    return boto3.session.Session()


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
        with _SESSION_LOCK:  # a session is not thread-safe; its clients are
            self.s3 = _session(boto3).client(
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

    def __repr__(self) -> str:
        return f"<Uploader bucket={self.bucket!r} endpoint={self.target.endpoint!r}>"

    # -- errors

    def failed(self, key: str, exc: Exception, *, resumable: bool) -> UploadError:
        """The ``UploadError`` for an S3 failure: Spaces said no, or could not be reached."""
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            said = f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
            return UploadError(
                f"Spaces refused the upload of {key} to bucket {self.bucket} ({said})",
                bucket=self.bucket,
                key=key,
                resumable=resumable,
            )
        return UploadError(
            f"Spaces could not be reached for {key} in bucket {self.bucket} "
            f"({type(exc).__name__}: {exc})",
            bucket=self.bucket,
            key=key,
            resumable=resumable,
            unreachable=True,
        )

    # -- uploading

    def part_size_for(self, size: int) -> int:
        """The part size of a file of ``size`` (one part: a single PUT)."""
        return part_size_for(size, max(self.part_size, MIN_PART_SIZE))

    def digests(self, image: ImageFile, stop: threading.Event | None = None) -> Digests:
        """The SHA-256 of ``image`` and the MD5 of each of its parts, read once."""
        return file_digests(image.path, self.part_size_for(image.size), stop)

    def upload(
        self,
        image: ImageFile,
        key: str,
        *,
        digests: Digests,
        public: bool,
        resume: bool,
        on_progress: Callable[[UploadProgress], object] | None,
        stop: threading.Event | None = None,
    ) -> None:
        """Put ``image`` at ``key``, as ``digests`` says it was (``ImageFileError`` if it
        changed since); ``UploadError`` if Spaces says no or is out of reach."""
        meter = Meter(image.size, on_progress)
        part = self.part_size_for(image.size)
        acl = "public-read" if public else "private"
        if image.size > part:
            bucket = Bucket(self.s3, self.bucket, self.target.endpoint, self.in_flight, self.failed)
            Multipart(
                bucket, image, key, part_size=part, digests=digests, acl=acl, meter=meter, stop=stop
            ).run(resume)
            return
        self._put(image, key, digests, acl)
        meter.add(image.size)

    def _put(self, image: ImageFile, key: str, digests: Digests, acl: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        data = read_part(image, 1, image.size)
        digest = md5_of(data)
        if (digest,) != digests.parts or image.changed():
            raise ImageFileError(image.path, CHANGED)
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentMD5=digest, ACL=acl)
        except (ClientError, BotoCoreError) as exc:
            raise self.failed(key, exc, resumable=False) from None

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

    # -- the object's end

    def make_private(self, key: str) -> None:
        """End the public window of the object (nothing to do if it is not there);
        ``UploadError`` if Spaces says no or is out of reach."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.s3.put_object_acl(Bucket=self.bucket, Key=key, ACL="private")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return
            raise self.failed(key, exc, resumable=False) from None
        except BotoCoreError as exc:
            raise self.failed(key, exc, resumable=False) from None

    def remove(self, key: str) -> bool:
        """Delete the object; whether it was there. ``UploadError`` if Spaces says no or
        is out of reach."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            there = self.exists(key)
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise self.failed(key, exc, resumable=False) from None
        return there

    def exists(self, key: str) -> bool:
        """Whether the object is there."""
        from botocore.exceptions import ClientError

        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def check_url_request(url: str) -> httpx.Request:
    """A ranged GET of the first MiB: the method a presigned URL is signed for."""
    return httpx.Request("GET", url, headers={"Range": "bytes=0-1048575"})


__all__ = ["ImportProgress", "SpacesTarget", "UploadProgress"]
