"""Test support: one driver for both clients, fake time, payloads, and a loopback server.

``Driver`` wraps a ``Client`` or an ``AsyncClient`` behind the same synchronous,
type-checked calls: ``driver.image.info(7)`` is checked by mypy against
``ImageResource`` and runs the async client's coroutine to completion when the kind
is ``"async"``. Sleeps are recorded (never slept) and move a fake monotonic clock;
the jitter is 1, so back-off waits are exact. Given a handler, the driver serves
requests from it through ``httpx.MockTransport`` and records each one.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import socket
import struct
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ParamSpec, TypeVar, cast

import httpx

from do_images import (
    AsyncClient,
    Client,
    DropletResource,
    ImageResource,
    Pager,
    RateLimit,
    SnapshotResource,
)
from do_images.cli._main import Target
from do_images.testing import Sandbox

TOKEN = "dop_v1_" + "5ec7e7" * 10
BASE = "https://api.digitalocean.com"
KINDS = ("sync", "async")
SANDBOX_START = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
"""Where the ``sandbox`` fixture's virtual clock starts."""

Handler = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    """A clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


class _AsyncPagerView:
    """An ``AsyncPager`` iterated synchronously on the driver's loop."""

    def __init__(self, pager: Any, run: Callable[[Any], Any]) -> None:
        self._pager = pager
        self._run = run

    @property
    def total(self) -> int | None:
        value: int | None = self._pager.total
        return value

    def __iter__(self) -> Iterator[Any]:
        async def collect() -> list[Any]:
            return [item async for item in self._pager]

        return iter(self._run(collect()))


class _AsyncView:
    """An async resource (``do.image``, ``do.droplet``, ``do.snapshot``) behind synchronous
    calls (each runs to completion)."""

    def __init__(self, driver: Driver, resource: str = "image") -> None:
        self._driver = driver
        self._resource = resource

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(getattr(self._driver.client, self._resource), name)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if name == "iter":
                return _AsyncPagerView(result, self._driver.run)
            return self._driver.run(result)

        return call


class Driver:
    """A ``Client`` or ``AsyncClient`` driven through the same synchronous, typed calls."""

    def __init__(
        self,
        kind: str,
        handler: Handler | None = None,
        *,
        client: Client | AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        self.kind = kind
        self.time = FakeTime()
        self.requests: list[httpx.Request] = []
        self.client: Client | AsyncClient
        self.loop: asyncio.AbstractEventLoop | None = None
        if client is not None:  # drive a client made elsewhere (say, a sandbox's)
            self.client = client
            self.loop = None if isinstance(client, Client) else asyncio.new_event_loop()
            return
        if handler is not None:

            def recording(request: httpx.Request) -> httpx.Response:
                request.read()
                self.requests.append(request)
                return handler(request)

            kwargs["transport"] = httpx.MockTransport(recording)
        kwargs.setdefault("token", TOKEN)
        kwargs.setdefault("jitter", lambda: 1.0)
        kwargs.setdefault("clock", self.time.clock)
        if kind == "sync":
            self.client = Client(sleep=self.time.sleep, **kwargs)
        else:
            self.client = AsyncClient(sleep=self.time.async_sleep, **kwargs)
            self.loop = asyncio.new_event_loop()

    @property
    def image(self) -> ImageResource:
        """``do.image`` of either client, called synchronously (typed as the sync one)."""
        if isinstance(self.client, Client):
            return self.client.image
        return cast(ImageResource, _AsyncView(self))

    @property
    def droplet(self) -> DropletResource:
        """``do.droplet`` of either client, called synchronously (typed as the sync one)."""
        if isinstance(self.client, Client):
            return self.client.droplet
        return cast(DropletResource, _AsyncView(self, "droplet"))

    @property
    def snapshot(self) -> SnapshotResource:
        """``do.snapshot`` of either client, called synchronously (typed as the sync one)."""
        if isinstance(self.client, Client):
            return self.client.snapshot
        return cast(SnapshotResource, _AsyncView(self, "snapshot"))

    @property
    def sleeps(self) -> list[float]:
        """Every sleep asked for, in seconds."""
        return self.time.sleeps

    @property
    def now(self) -> float:
        """The fake monotonic clock."""
        return self.time.now

    @now.setter
    def now(self, value: float) -> None:
        self.time.now = value

    @property
    def rate_limit(self) -> RateLimit | None:
        return self.client.rate_limit

    def run(self, value: Any) -> Any:
        """``value`` itself (sync) or the coroutine's result (async)."""
        if self.loop is None:
            return value
        return self.loop.run_until_complete(value)

    def close(self) -> None:
        if isinstance(self.client, AsyncClient):
            assert self.loop is not None
            self.loop.run_until_complete(self.client.aclose())
            self.loop.close()
        else:
            self.client.close()


MakeDriver = Callable[..., Driver]

P = ParamSpec("P")
T = TypeVar("T")


async def call(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Call a method of either client's ``do.image`` and return its result, awaited if needed.

    ``fn`` is typed as the sync resource's method (``sync_view(do).info``); the async
    twin has the same signature (a test checks it), so mypy checks every call.
    """
    result: Any = fn(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    value: T = result
    return value


def sync_view(do: Client | AsyncClient) -> ImageResource:
    """``do.image`` typed as the sync resource, for ``call``."""
    return cast(ImageResource, do.image)


def materialize(result: Any) -> Any:
    """A pager's items as a list (so ``iter`` rows compare like ``list``); else ``result``."""
    if isinstance(result, (Pager, _AsyncPagerView)):
        return list(result)
    return result


@contextmanager
def driver(kind: str, handler: Handler | None = None, **kwargs: Any) -> Iterator[Driver]:
    """A ``Driver`` whose requests go to ``handler`` (or that drives ``client=``), closed after."""
    made = Driver(kind, handler, **kwargs)
    try:
        yield made
    finally:
        made.close()


# ------------------------------------------------------------------ payloads


def json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None, /, **more: str
) -> httpx.Response:
    """A JSON response; ``more`` are headers whose underscores become dashes."""
    return httpx.Response(
        status,
        content=json.dumps(payload).encode(),
        headers={
            "content-type": "application/json",
            **(headers or {}),
            **{name.replace("_", "-"): value for name, value in more.items()},
        },
    )


def error_response(status: int, message: str = "boom", **headers: str) -> httpx.Response:
    """An API error response."""
    return json_response(status, {"id": f"e{status}", "message": message}, **headers)


def image_payload(image_id: int = 7, **fields: Any) -> dict[str, Any]:
    """A realistic image object as the API sends it."""
    payload: dict[str, Any] = {
        "id": image_id,
        "name": f"image-{image_id}",
        "distribution": "Ubuntu",
        "slug": None,
        "public": False,
        "regions": ["nyc3"],
        "created_at": "2014-11-04T22:23:02Z",
        "type": "snapshot",
        "min_disk_size": 20,
        "size_gigabytes": 2.34,
        "description": "",
        "tags": [],
        "status": "available",
        "error_message": "",
    }
    payload.update(fields)
    return payload


REGION_NAMES = {"nyc3": "New York 3", "sfo3": "San Francisco 3", "lon1": "London 1"}


def action_payload(
    action_id: int,
    image_id: int = 7,
    status: str = "in-progress",
    *,
    region: str | None = "nyc3",
    **fields: Any,
) -> dict[str, Any]:
    """A realistic image action object; ``region=None`` gives one that names no region."""
    payload: dict[str, Any] = {
        "id": action_id,
        "status": status,
        "type": "transfer",
        "started_at": "2014-11-14T16:42:45Z",
        "completed_at": None if status == "in-progress" else "2014-11-14T16:50:45Z",
        "resource_id": image_id,
        "resource_type": "image",
        "region": None
        if region is None
        else {
            "name": REGION_NAMES.get(region, region),
            "slug": region,
            "sizes": ["s-1vcpu-1gb"],
            "features": ["image_transfer"],
            "available": True,
        },
        "region_slug": region,
    }
    payload.update(fields)
    return payload


# ------------------------------------------------------------------ the token


def chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception in its cause/context chain."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__]


def assert_no_token(error: BaseException, token: str = TOKEN) -> None:
    """Neither the rendered traceback nor any exception in the chain shows the token."""
    rendered = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert token not in rendered
    for link in chain(error):
        assert token not in str(link)
        assert token not in repr(link)
        assert token not in repr(link.args)
        assert token not in repr(vars(link))


# -------------------------------------------------------------- loopback server


@dataclass(frozen=True)
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """Answer with this status, body and headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Drop:
    """Close the connection without answering (after the request was read)."""


class Reset:
    """Abort the connection with a TCP reset."""


class Stall:
    """Never answer (until the server shuts down)."""


Script = Callable[[Seen], "Reply | Drop | Reset | Stall"]


class LoopbackServer:
    """A real threaded HTTP/1.1 server on 127.0.0.1 that answers from ``script``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[Seen] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        owner = self

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                seen = Seen(
                    self.command, self.path, list(self.headers.items()), self.rfile.read(length)
                )
                with owner.lock:
                    owner.seen.append(seen)
                reply = owner.script(seen)
                if isinstance(reply, Drop):
                    self.close_connection = True
                elif isinstance(reply, Reset):
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.close_connection = True
                elif isinstance(reply, Stall):
                    owner.release.wait(5)
                    self.close_connection = True
                else:
                    content = b"" if reply.body is None else json.dumps(reply.body).encode()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(content)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def count(self, method: str) -> int:
        """How many requests with ``method`` the server received."""
        with self.lock:
            return sum(1 for seen in self.seen if seen.method == method)


# ------------------------------------------------------------------ command line


class Stream(io.StringIO):
    """A text stream that can pretend to be a terminal."""

    def __init__(self, text: str = "", *, tty: bool = False) -> None:
        super().__init__(text)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@dataclass
class Result:
    """What one run of the command line did."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Run = Callable[..., Result]


def cli_runner(sandbox: Sandbox) -> Run:
    """``run(*argv, stdin=, tty=, factory=, environ=)``: ``main(argv)`` against ``sandbox``."""
    from do_images.cli import main

    def run(
        *argv: str,
        stdin: str = "",
        tty: bool = False,
        factory: Callable[[Target], Client] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Result:
        out, err = Stream(tty=tty), Stream(tty=tty)
        code = main(
            list(argv),
            client_factory=factory or (lambda target: sandbox.client()),
            environ=environ or {},
            stdin=Stream(stdin, tty=tty),
            stdout=out,
            stderr=err,
        )
        return Result(code, out.getvalue(), err.getvalue())

    return run
