"""An import rig: ``import_file`` on either client against the sandbox (whose importer
fetches loopback URLs) and moto's S3 on loopback, with interruptions planned at any
moment, and the safety invariants checked afterwards.

An interruption on the sync client is a ``KeyboardInterrupt`` raised where a Ctrl-C
would land (a sleep, a request on its way, the upload); on the async client it is a
real cancellation of the task running the import (from another thread, through the
loop).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from do_images import AsyncClient, Client, SpacesTarget
from do_images.testing import Sandbox
from do_images.testing._sandbox import SANDBOX_BASE_URL, SANDBOX_TOKEN
from spaces_support import ACCESS, SECRET, s3

MiB = 1024 * 1024


def target(bucket: str, endpoint: str, **kwargs: Any) -> SpacesTarget:
    """A ``SpacesTarget`` on the loopback S3 server, with the test keys."""
    return SpacesTarget(bucket, endpoint=endpoint, access_key=ACCESS, secret_key=SECRET, **kwargs)


def objects(endpoint: str, bucket: str) -> list[str]:
    """The keys in ``bucket``."""
    listed = s3(endpoint).list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listed.get("Contents", [])]


def uploads(endpoint: str, bucket: str) -> list[tuple[str, str]]:
    """The multipart uploads in ``bucket`` that were neither completed nor aborted."""
    listed = s3(endpoint).list_multipart_uploads(Bucket=bucket)
    return [(item["Key"], item["UploadId"]) for item in listed.get("Uploads", [])]


def public(endpoint: str, bucket: str, key: str) -> bool:
    """Whether anyone may read ``key``: a GET without a signature is answered."""
    from urllib.parse import quote

    return httpx.get(f"{endpoint}/{bucket}/{quote(key)}").status_code in (200, 206)


@dataclass
class Moments:
    """When to interrupt: the ``n``-th sleep, the request whose ``(method, path prefix)``
    matches (before it is sent, or ``after`` it was answered), the upload once ``bytes``
    were sent. The first moment reached fires; the rest are ignored."""

    sleep: int | None = None
    request: tuple[str, str] | None = None
    after: bool = False
    upload_bytes: int | None = None
    fired: list[str] = field(default_factory=list)


class Rig:
    """One import run's world: a sandbox, a client of ``kind`` wired to it with the
    planned interruption, and the moto bucket."""

    def __init__(
        self,
        kind: str,
        sandbox: Sandbox,
        moments: Moments | None = None,
        *,
        max_retries: int = 2,
    ) -> None:
        self.kind = kind
        self.sandbox = sandbox
        self.moments = moments or Moments()
        self.sleeps = 0
        self.max_retries = max_retries
        self.task: asyncio.Task[Any] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.lock = threading.Lock()

    # -- the interruption

    def fire(self, what: str, *, in_thread: bool = False) -> None:
        """Interrupt now: raise a Ctrl-C (sync), or cancel the import's task (async)."""
        with self.lock:
            if self.moments.fired:
                return
            self.moments.fired.append(what)
        if self.kind == "sync":
            raise KeyboardInterrupt
        assert self.loop is not None
        assert self.task is not None
        if in_thread:
            self.loop.call_soon_threadsafe(self.task.cancel)
        else:
            self.task.cancel()

    def _sleep_moment(self) -> bool:
        self.sleeps += 1
        return self.moments.sleep == self.sleeps

    def _request_moment(self, request: httpx.Request, after: bool) -> bool:
        wanted = self.moments.request
        return (
            wanted is not None
            and self.moments.after == after
            and request.method == wanted[0]
            and request.url.path.startswith(wanted[1])
        )

    def progress(self, update: Any) -> None:
        """``on_progress``: fires once the planned bytes are sent."""
        sent, wanted = getattr(update, "sent", None), self.moments.upload_bytes
        if sent is not None and wanted is not None and sent >= wanted:
            self.fire("upload", in_thread=self.kind == "async")

    # -- the client

    def options(self) -> dict[str, Any]:
        return {
            "base_url": SANDBOX_BASE_URL,
            "clock": self.sandbox.clock,
            "max_retries": self.max_retries,
        }

    def client(self) -> Client | AsyncClient:
        """A client of this rig's kind, its sleeps and requests hooked for the moments."""
        return self.sync_client() if self.kind == "sync" else self.async_client()

    def sync_client(self) -> Client:
        rig, sandbox = self, self.sandbox
        inner = sandbox.transport()

        class Hooked(httpx.BaseTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                if rig._request_moment(request, after=False):
                    rig.fire(f"before {request.method} {request.url.path}")
                response = inner.handle_request(request)
                if rig._request_moment(request, after=True):
                    rig.fire(f"after {request.method} {request.url.path}")
                return response

        def sleep(seconds: float) -> None:
            sandbox.advance(seconds)
            if rig._sleep_moment():
                rig.fire(f"sleep {rig.sleeps}")

        return Client(SANDBOX_TOKEN, transport=Hooked(), sleep=sleep, **self.options())

    def async_client(self) -> AsyncClient:
        rig, sandbox = self, self.sandbox
        inner = sandbox.async_transport()

        class AsyncHooked(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                if rig._request_moment(request, after=False):
                    rig.fire(f"before {request.method} {request.url.path}")
                    await asyncio.sleep(0)
                response = await inner.handle_async_request(request)
                if rig._request_moment(request, after=True):
                    rig.fire(f"after {request.method} {request.url.path}")
                    await asyncio.sleep(0)
                return response

        async def sleep(seconds: float) -> None:
            sandbox.advance(seconds)
            if rig._sleep_moment():
                rig.fire(f"sleep {rig.sleeps}")
            await asyncio.sleep(0)

        return AsyncClient(SANDBOX_TOKEN, transport=AsyncHooked(), sleep=sleep, **self.options())

    def import_file(self, path: Path, **kwargs: Any) -> Any:
        """``import_file`` on this rig's client; its result, or what it raised."""
        kwargs.setdefault("on_progress", self.progress)
        client = self.client()
        if isinstance(client, Client):
            with client:
                return client.image.import_file(path, **kwargs)

        async def main() -> Any:
            self.loop = asyncio.get_running_loop()
            self.task = asyncio.current_task()
            async with client:
                return await client.image.import_file(path, **kwargs)

        return asyncio.run(main())


def created(sandbox: Sandbox) -> list[dict[str, Any]]:
    """The bodies of the image creates the sandbox was sent."""
    return [json.loads(r.body) for r in sandbox.requests if r.operation == "images_create_custom"]


def key_of(url: str) -> str:
    """The object key in a create's URL (path-style: /bucket/key)."""
    return httpx.URL(url).path.split("/", 2)[2]


@contextmanager
def smaller_parts(monkeypatch: Any, part: int) -> Iterator[None]:
    """Parts of ``part`` bytes, for the uploader and for moto (whose floor is 5 MiB)."""
    import moto.s3.models

    from do_images import _spaces

    monkeypatch.setattr(_spaces, "PART_SIZE", part)
    monkeypatch.setattr(_spaces, "MIN_PART_SIZE", part)
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", part)
    yield
