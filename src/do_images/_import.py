"""``import_file``: a local disk image, checked, uploaded, imported, distributed, tidied.

One operation (``_effects``) for both clients. The S3 side blocks (boto3), so it is
yielded as ``Blocking`` work: the async client runs it in a thread.

The uploaded object's fate follows one rule (``ObjectCare``): it is deleted once the
import has *ended* (available, failed, or never started), unless ``keep_object``, and it
stays while the import may still run (the wait timed out, the create's answer was lost,
an interruption after the create was sent). Whatever ends the call, an object made
public-read is made private again first. Cleanups run shielded (``_effects.shielded``):
a cancellation waits for them, and they are bounded.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import threading
from collections.abc import Callable, Sequence
from typing import Literal

import httpx

from ._checks import check_bool, check_region, check_str, check_tags, check_wait, type_name
from ._effects import Blocking, Effect, Op, relay, shielded
from ._errors import DoImagesError, ImageFailedError, UnknownOutcomeError, UploadError
from ._imagefile import check_image_file
from ._images import ImageOps
from ._lifecycle import check_regions, create_and_wait, distribute
from ._models import Action, Image
from ._spaces import ImportProgress, OnProgress, SpacesTarget, Uploader, check_url_request

logger = logging.getLogger("do_images")

CLEANUP_SECONDS = 30.0
"""The bound of each cleanup step (making the object private, deleting it)."""
STILL_IMPORTING = ("new", "pending")
"""The statuses of an image whose import may still fetch its URL."""


def object_key(target: SpacesTarget, name: str, sha256: str, extension: str) -> str:
    """``key_prefix + <name>-<sha256 prefix><real extension>``: the importer reads the
    extension, and the hash keeps two builds of one name apart."""
    return f"{target.key_prefix}{_safe(name)}-{sha256[:12]}{extension}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "image"


def made_from(key: str, name: str) -> bool:
    """Whether ``key`` may be the object of an import of an image called ``name``."""
    return (
        re.search(rf"{re.escape(_safe(name))}-[0-9a-f]{{12}}(\.[A-Za-z0-9.]+)?$", key) is not None
    )


def removal_command(target: SpacesTarget, key: str, image_id: int | None) -> str:
    """The command that removes a kept object once its import has ended."""
    words = ["do-images", "import", "--remove-object", key, "--space", target.bucket]
    words += ["--spaces-region", target.region]
    if not target.default_endpoint:
        words += ["--spaces-endpoint", target.endpoint]
    if image_id is not None:
        words += ["--image", str(image_id)]
    return shlex.join(words)


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
    stop = threading.Event()  # a cancelled task stops the upload's thread with it
    digests = yield Blocking(lambda: uploader.digests(image_file, stop), stop=stop.set)
    key = object_key(space, name, digests.sha256, image_file.extension)
    care = ObjectCare(
        uploader, space, key, keep=keep_object, public=public_read, clock=ops.session.clock
    )
    try:
        care.may_exist = True
        try:
            yield Blocking(
                lambda: uploader.upload(
                    image_file,
                    key,
                    digests=digests,
                    public=public_read,
                    resume=resume,
                    on_progress=on_progress,
                    stop=stop,
                ),
                stop=stop.set,
            )
        except DoImagesError:
            care.may_exist = False  # refused, changed or aborted: no object was made
            raise
        url = uploader.url(key, public=public_read, seconds=timeout)
        yield from _check_url(url, uploader, key)
        stages = _Stages(ops, care, on_progress)
        image = yield from stages.run(
            name, url, region, wanted, distribution, description, tag_list, poll, timeout
        )
    except GeneratorExit:
        care.last_resort()  # closed, not interrupted: no effect can run any more
        raise
    except BaseException as exc:
        yield from care.settle(exc)
        raise
    yield from care.settle(None)
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
    """The status of a ranged GET of ``url``'s first MiB, or why there was none.

    Sent through a transport, not a client: ``httpx.Client`` logs every request's URL
    at INFO, and a presigned URL is a secret (a read capability for the object)."""
    request = check_url_request(url)
    request.extensions["timeout"] = httpx.Timeout(30.0).as_dict()
    try:
        with httpx.HTTPTransport() as transport:
            response = transport.handle_request(request)
            response.close()
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return response.status_code


class _Stages:
    """Create, wait, distribute: each step tells ``care`` what it learnt of the import."""

    def __init__(self, ops: ImageOps, care: ObjectCare, on_progress: OnProgress | None) -> None:
        self.ops = ops
        self.care = care
        self.on_progress = on_progress
        self.url = ""

    def report(
        self,
        stage: Literal["importing", "distributing", "done"],
        image: Image | None,
        action: Action | None = None,
    ) -> None:
        if self.on_progress is not None:
            key, bucket = self.care.key, self.care.uploader.bucket
            self.on_progress(ImportProgress(stage, image, action, key, bucket))

    def run(
        self,
        name: str,
        url: str,
        region: str,
        regions: list[str],
        distribution: str | None,
        description: str | None,
        tags: list[str],
        poll: float,
        timeout: float,
    ) -> Op[Image]:
        ops, care = self.ops, self.care
        self.url = url
        self.report("importing", None)
        created = self.create(
            ops.create(name, url, region, distribution, description, tags or None)
        )
        try:
            image = yield from create_and_wait(
                ops,
                created,
                wait=True,
                poll=poll,
                timeout=timeout,
                on_update=lambda seen: self.report("importing", seen),
            )
        except ImageFailedError:
            care.ended = True  # DigitalOcean gave up on it
            raise
        care.ended = True
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
                    on_update=lambda action: self.report("distributing", image, action),
                )
                image = yield from ops.info(image.id)
            except DoImagesError as error:
                if error.image is None:
                    error.image = image
                raise
        self.report("done", image)
        return image

    def create(self, op: Op[Image]) -> Op[Image]:
        """The create POST, noting when it may have been sent and what it answered."""
        care = self.care

        def sent(effect: Effect) -> Effect:
            if isinstance(effect, httpx.Request):
                care.create_sent = True  # from now on the API may have it
            return effect

        try:
            image = yield from relay(op, sent)
        except UnknownOutcomeError as error:
            _hide(error, self.url)
            raise  # the import may have started: the object stays
        except DoImagesError as error:
            _hide(error, self.url)
            care.ended = True  # refused (4xx) or never reached: it never started
            raise
        care.image_id = image.id
        self.report("importing", image)
        return image


def _hide(error: DoImagesError, url: str) -> None:
    """Blank a presigned URL's query (its signature) out of an error that echoes it."""
    query = url.partition("?")[2]
    if not query:
        return
    for name, value in vars(error).items():
        if isinstance(value, str) and query in value:
            setattr(error, name, value.replace(query, "[signature hidden]"))
    error.args = tuple(
        arg.replace(query, "[signature hidden]") if isinstance(arg, str) else arg
        for arg in error.args
    )


class ObjectCare:
    """What is known of the uploaded object and of the import that fetches it, and what
    that allows: made private first, deleted once the import ended, kept while it may run.
    """

    def __init__(
        self,
        uploader: Uploader,
        target: SpacesTarget,
        key: str,
        *,
        keep: bool,
        public: bool,
        clock: Callable[[], float],
    ) -> None:
        self.uploader = uploader
        self.target = target
        self.key = key
        self.keep = keep
        self.clock = clock
        self.may_exist = False
        """The upload was started and did not fail: the object may be there."""
        self.public = public
        """It was uploaded public-read (``public_read=True``)."""
        self.private = not public
        """Nobody but the keys' holder can read it (not public-read, or made private)."""
        self.create_sent = False
        self.ended = False
        """The import was seen to end: available, failed, or it never started."""
        self.image_id: int | None = None
        self.deleted = False

    @property
    def may_run(self) -> bool:
        """Whether the import that fetches the object may still be running."""
        return self.create_sent and not self.ended

    def settle(self, error: BaseException | None) -> Op[None]:
        """Delete the object if the import has ended (unless kept), else make it private;
        note on ``error`` (or on an interruption meanwhile) what was left.

        Either step ends a public window, and each is shielded. A first interruption
        that comes during the cleanup itself (a Ctrl-C on the sync client) is met like
        any other: the object is made private before it goes on; a second one stops
        that too (the async client's cleanup waits out further cancellations)."""
        try:
            yield from self._steps()
        except BaseException as late:
            if error is None or isinstance(error, Exception):  # the first interruption
                try:
                    yield from self._cleanup("make private", self._make_private)
                except BaseException as second:
                    self.note(second)
                    raise
            self.note(late)
            raise
        if error is not None:
            self.note(error)

    def _steps(self) -> Op[None]:
        if not self.may_exist:
            return
        if not self.may_run and not self.keep:
            yield from self._cleanup("delete", self._delete)
            if self.deleted:
                return
        yield from self._cleanup("make private", self._make_private)

    def _cleanup(self, what: str, step: Callable[[], Op[None]]) -> Op[None]:
        try:
            yield from shielded(step(), seconds=CLEANUP_SECONDS, clock=self.clock)
        except Exception as exc:
            logger.warning("import_file could not %s the object %s: %s", what, self.key, exc)

    def _make_private(self) -> Op[None]:
        if not self.private and not self.deleted:
            yield Blocking(lambda: self.uploader.make_private(self.key))
            self.private = True

    def _delete(self) -> Op[None]:
        yield Blocking(lambda: self.uploader.remove(self.key))
        self.deleted = self.private = True

    def last_resort(self) -> None:
        """The operation was closed (no effect can run): make the object private here."""
        if self.may_exist and not self.private:
            try:
                self.uploader.make_private(self.key)
                self.private = True
            except Exception as exc:
                logger.warning(
                    "import_file could not make the object %s private: %s", self.key, exc
                )

    def note(self, error: BaseException) -> None:
        """Tell whoever catches ``error`` that the object is left, where, and why."""
        if not self.may_exist or self.deleted:
            return
        if not self.may_run and self.keep:
            return  # kept as asked, and nothing fetches it any more
        text = self.left()
        if isinstance(error, DoImagesError):
            error.object_key, error.bucket = self.key, self.uploader.bucket
            error.message = f"{error.message}; {text}"
            error.args = (error.message,)  # as a copy from a pickle has it
        else:  # an interruption: it passes through as it is, these beside it
            vars(error).update(
                object_key=self.key, bucket=self.uploader.bucket, object_private=self.private
            )
            logger.warning("import_file interrupted: %s", text, extra={"kept_object": self.key})

    def left(self) -> str:
        """Where the object is, whether it is private, and how to remove it."""
        where = f"the object {self.key} stays in bucket {self.uploader.bucket}"
        if not self.private:
            privacy = " (PUBLIC: making it private failed; see the log)"
        elif self.public and self.may_run:
            privacy = " (made private again, so the import may fail to fetch it)"
        else:
            privacy = ""
        command = removal_command(self.target, self.key, self.image_id)
        if self.may_run:
            who = f"image {self.image_id}" if self.image_id is not None else "the image"
            return (
                f"{where}{privacy} for the import of {who}, which may still be running; "
                f"remove it once that import has ended: {command}"
            )
        return f"{where}{privacy}: it could not be deleted; remove it with: {command}"
