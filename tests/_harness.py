"""Test helpers: one driver for both clients, canned payloads, and a loopback HTTP server."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from do_images import AsyncClient, Client

TOKEN = "dop_v1_" + "5ec7e7" * 10
BASE = "https://api.digitalocean.com"
KINDS = ("sync", "async")

Handler = Callable[[httpx.Request], httpx.Response]


class Api:
    """A ``Client`` or ``AsyncClient`` driven through the same synchronous calls.

    Sleeps are recorded (never slept) and advance a fake monotonic clock; the
    jitter is 1 so back-off waits are exact.
    """

    def __init__(self, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        self.sleeps: list[float] = []
        self.now = 1000.0
        kwargs.setdefault("token", TOKEN)
        kwargs.setdefault("jitter", lambda: 1.0)
        kwargs.setdefault("clock", lambda: self.now)
        self.client: Client | AsyncClient
        self.loop: asyncio.AbstractEventLoop | None = None
        if kind == "sync":
            self.client = Client(sleep=self._sleep, **kwargs)
        else:
            self.client = AsyncClient(sleep=self._async_sleep, **kwargs)
            self.loop = asyncio.new_event_loop()

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def _async_sleep(self, seconds: float) -> None:
        self._sleep(seconds)

    def run(self, value: Any) -> Any:
        """``value`` itself (sync) or the coroutine's result (async)."""
        if self.loop is None:
            return value
        return self.loop.run_until_complete(value)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``do.image.<method>`` and return its result."""
        return self.run(getattr(self.client.image, method)(*args, **kwargs))

    def close(self) -> None:
        if isinstance(self.client, AsyncClient):
            assert self.loop is not None
            self.loop.run_until_complete(self.client.aclose())
            self.loop.close()
        else:
            self.client.close()


@contextmanager
def api(kind: str, handler: Handler | None = None, **kwargs: Any) -> Iterator[Api]:
    """An ``Api`` whose requests go to ``handler`` (through ``httpx.MockTransport``)."""
    if handler is not None:
        transport = httpx.MockTransport(handler)
        kwargs["transport"] = transport
    driver = Api(kind, **kwargs)
    try:
        yield driver
    finally:
        driver.close()


def json_response(status: int, payload: Any, **headers: str) -> httpx.Response:
    """A JSON response with extra headers (underscores become dashes)."""
    return httpx.Response(
        status,
        content=json.dumps(payload).encode(),
        headers={"content-type": "application/json", **_dashed(headers)},
    )


def _dashed(headers: dict[str, str]) -> dict[str, str]:
    return {name.replace("_", "-"): value for name, value in headers.items()}


def image_json(image_id: int = 7, **fields: Any) -> dict[str, Any]:
    """A minimal image payload."""
    return {"id": image_id, "name": "img", "type": "snapshot", **fields}


def action_json(
    action_id: int,
    *,
    type: str = "transfer",
    region: str | None = "nyc3",
    started_at: str = "2026-01-01T12:00:00Z",
    status: str = "in-progress",
    image_id: int = 7,
) -> dict[str, Any]:
    """An action payload."""
    return {
        "id": action_id,
        "status": status,
        "type": type,
        "started_at": started_at,
        "completed_at": None,
        "resource_id": image_id,
        "resource_type": "image",
        "region_slug": region,
    }


def error_json(status: int, message: str = "boom", **headers: str) -> httpx.Response:
    """An API error response."""
    return json_response(status, {"id": f"e{status}", "message": message}, **headers)


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


def assert_no_token(error: BaseException) -> None:
    """Neither the rendered traceback nor any exception in the chain shows the token."""
    rendered = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert TOKEN not in rendered
    for link in chain(error):
        assert TOKEN not in str(link)
        assert TOKEN not in repr(link)
        assert TOKEN not in repr(link.args)
        assert TOKEN not in repr(vars(link))


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
