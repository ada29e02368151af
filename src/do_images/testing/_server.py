"""The sandbox over real HTTP: a threading server from the standard library, loopback only."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from ._http import Answerer

from .._constants import MAX_REQUEST_BODY as MAX_BODY

_POLL = 0.05  # how often serve_forever looks for shutdown(); keeps stopping quick


def _check_loopback(host: str) -> None:
    # The sandbox accepts any token: it must not be reachable from other machines.
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"host must be a loopback address (127.0.0.1, ::1), got {host!r}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Idle keep-alive connections must not hold up closing the server.
    block_on_close = False

    def __init__(self, sandbox: Answerer, host: str, port: int) -> None:
        self.sandbox = sandbox
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)

    @property
    def base_url(self) -> str:
        host, port = str(self.server_address[0]), self.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 60  # an idle connection's thread ends after this many seconds
    # Buffered, so headers and body leave in one write (flushed after each request);
    # separate small writes would meet Nagle's algorithm and delayed ACKs (~40 ms each).
    wbufsize = 1 << 16

    def _answer(self) -> None:
        length_header = self.headers.get("content-length") or "0"
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.send_error(413 if length > MAX_BODY else 400)
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        url = self._url()
        headers = httpx.Headers(list(self.headers.items()))
        reply = self.server.sandbox.handle(self.command, url, headers, body)
        if reply.dropped:
            # The change is made; the client never hears about it.
            self.close_connection = True
            return
        # send_response_only: the sandbox's own (virtual) Date header, not the real time.
        self.send_response_only(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _url(self) -> httpx.URL:
        # Links in list responses must sit on the host and port the client used.
        base = self.server.base_url
        host = self.headers.get("host")
        if host:
            with contextlib.suppress(httpx.InvalidURL, ValueError):
                candidate = httpx.URL(f"http://{host}")
                if candidate.host and not candidate.path.strip("/"):
                    base = f"http://{host}"
        path = self.path if self.path.startswith("/") else "/" + self.path
        try:
            return httpx.URL(base + path)
        except (httpx.InvalidURL, ValueError):
            return httpx.URL(self.server.base_url + "/")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the sandbox keeps its own request log (``Sandbox.requests``)."""


@contextlib.contextmanager
def running(sandbox: Answerer, host: str, port: int) -> Iterator[str]:
    """Run a server for ``sandbox`` in a background thread; yield its base URL."""
    _check_loopback(host)
    server = _Server(sandbox, host, port)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": _POLL},
        name="do-images-sandbox",
        daemon=True,
    )
    thread.start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def serve_until_interrupted(
    sandbox: Answerer, host: str, port: int, ready: Callable[[str], object] | None
) -> None:
    """Serve in this thread until ``KeyboardInterrupt``; then close the server."""
    _check_loopback(host)
    server = _Server(sandbox, host, port)
    try:
        if ready is not None:
            ready(server.base_url)
        server.serve_forever(poll_interval=_POLL)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
