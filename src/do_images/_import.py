"""``import_file``: a local disk image, checked, uploaded, imported, distributed, tidied.

One operation (``_effects``) for both clients. The S3 side blocks (boto3), so it is
yielded as ``Blocking`` work: the async client runs it in a thread.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from typing import Literal

import httpx

from ._checks import check_bool, check_region, check_str, check_tags, check_wait, type_name
from ._effects import Blocking, Op
from ._errors import DoImagesError, UploadError
from ._imagefile import check_image_file
from ._images import ImageOps
from ._lifecycle import check_regions, create_and_wait, distribute
from ._models import Action, Image
from ._spaces import (
    ImportProgress,
    OnProgress,
    SpacesTarget,
    Uploader,
    check_url_request,
    sha256_of,
)

logger = logging.getLogger("do_images")


def object_key(target: SpacesTarget, name: str, sha256: str, extension: str) -> str:
    """``key_prefix + <name>-<sha256 prefix><real extension>``: the importer reads the
    extension, and the hash keeps two builds of one name apart."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "image"
    return f"{target.key_prefix}{safe}-{sha256[:12]}{extension}"


def import_file(
    ops: ImageOps,
    path: str | os.PathLike[str],
    *,
    name: str,
    region: str,
    space: SpacesTarget,
    regions: Sequence[str],
    distribution: str | None,
    description: str | None,
    tags: Sequence[str],
    timeout: float,
    poll: float,
    keep_object: bool,
    public_read: bool,
    resume: bool,
    on_progress: OnProgress | None,
) -> Op[Image]:
    """Check the file, upload it, import it, wait, distribute, delete the object."""
    if not isinstance(space, SpacesTarget):
        raise TypeError(f"space must be a SpacesTarget, not {type_name(space)}")
    check_str(name, "name")
    check_region(region)
    wanted = check_regions(regions) if regions else []
    tag_list = check_tags(list(tags))
    for flag, what in (
        (keep_object, "keep_object"),
        (public_read, "public_read"),
        (resume, "resume"),
    ):
        check_bool(flag, what)
    poll, timeout = check_wait(poll, timeout)
    if on_progress is not None and not callable(on_progress):
        raise TypeError(f"on_progress must be callable, not {type_name(on_progress)}")
    image_file = check_image_file(path)  # before anything is sent
    uploader: Uploader = space.uploader()
    digest: str = yield Blocking(lambda: sha256_of(image_file.path))
    key = object_key(space, name, digest, image_file.extension)
    yield Blocking(
        lambda: uploader.upload(
            image_file, key, public=public_read, resume=resume, on_progress=on_progress
        )
    )
    try:
        url = uploader.url(key, public=public_read, seconds=timeout)
        yield from _check_url(url, uploader, key)
        image = yield from _import(
            ops,
            name,
            url,
            region,
            wanted,
            distribution,
            description,
            tag_list,
            poll,
            timeout,
            on_progress,
        )
    except GeneratorExit:
        raise  # stopped mid-way (Ctrl-C): the import may go on; the object stays for it
    except BaseException:
        yield from _tidy(uploader, key, keep_object, public_read)
        raise
    yield from _tidy(uploader, key, keep_object, public_read)
    return image


def _check_url(url: str, uploader: Uploader, key: str) -> Op[None]:
    """The URL answers a ranged GET (as the importer's first request will), or
    ``UploadError``. Sent from a client of its own: the API's carries the token."""
    status: int | str = yield Blocking(lambda: fetch_status(url))
    if isinstance(status, str):
        raise UploadError(
            f"the URL of {key} cannot be fetched ({status})",
            bucket=uploader.bucket,
            key=key,
            resumable=False,
            unreachable=True,
        )
    if status not in (200, 206):
        raise UploadError(
            f"the URL of {key} answers HTTP {status}, so the importer could not fetch it "
            "either (public_read=True is the fallback)",
            bucket=uploader.bucket,
            key=key,
            resumable=False,
        )


def fetch_status(url: str) -> int | str:
    """The status of a ranged GET of ``url``'s first MiB, or why there was none."""
    request = check_url_request(url)
    try:
        with httpx.Client(timeout=30.0, follow_redirects=False) as http:
            response = http.send(request, stream=True)
            response.close()
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return response.status_code


def _import(
    ops: ImageOps,
    name: str,
    url: str,
    region: str,
    regions: list[str],
    distribution: str | None,
    description: str | None,
    tags: list[str],
    poll: float,
    timeout: float,
    on_progress: OnProgress | None,
) -> Op[Image]:
    def report(
        stage: Literal["importing", "distributing", "done"],
        image: Image | None,
        action: Action | None = None,
    ) -> None:
        if on_progress is not None:
            on_progress(ImportProgress(stage, image, action))

    report("importing", None)
    created = ops.create(name, url, region, distribution, description, tags or None)

    def seen(image: Image) -> None:
        report("importing", image)

    image = yield from create_and_wait(
        ops, created, wait=True, poll=poll, timeout=timeout, on_update=seen
    )
    missing = [r for r in regions if r not in (image.regions or [])]
    if missing:
        try:
            yield from distribute(
                ops,
                image.id,
                missing,
                wait=True,
                poll=poll,
                timeout=timeout,
                on_update=lambda action: report("distributing", image, action),
            )
            image = yield from ops.info(image.id)
        except DoImagesError as error:
            if error.image is None:
                error.image = image
            raise
    report("done", image)
    return image


def _tidy(uploader: Uploader, key: str, keep: bool, public: bool) -> Op[None]:
    """The import has ended: delete the object (or end its public window), never raising."""
    if not keep:
        yield Blocking(lambda: uploader.delete(key))
    elif public:
        try:
            yield Blocking(lambda: uploader.make_private(key))
        except Exception as exc:
            logger.warning("could not make %s private again: %s", key, exc)
