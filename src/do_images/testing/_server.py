"""The sandbox over real HTTP (or https): a threading server from the standard library,
loopback only."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from ._http import Answerer

from .._constants import MAX_REQUEST_BODY as MAX_BODY

StrPath = str | os.PathLike[str]
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


def tls_file(tls: object, ca_file: StrPath | None) -> StrPath | None:
    """Check ``serve()``'s ``tls`` and ``ca_file``; the file for the authority, if https."""
    if not isinstance(tls, bool):
        raise TypeError(f"tls must be a bool, not {type(tls).__name__}")
    if ca_file is not None and not isinstance(ca_file, (str, os.PathLike)):
        raise TypeError(f"ca_file must be a path, not {type(ca_file).__name__}")
    if tls and not ca_file:
        raise ValueError("tls=True needs ca_file: where to write the certificate to trust")
    if ca_file is not None and not tls:
        raise ValueError("ca_file is for tls=True")
    return ca_file if tls else None


def _tls(ca_file: StrPath | None) -> ssl.SSLContext | None:
    if ca_file is None:
        return None
    from ._tls import server_context  # trustme, an optional extra: only when asked for

    return server_context(ca_file)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Idle keep-alive connections must not hold up closing the server.
    block_on_close = False

    def __init__(
        self, sandbox: Answerer, host: str, port: int, tls: ssl.SSLContext | None = None
    ) -> None:
        self.sandbox = sandbox
        self.tls = tls
        self.scheme = "http" if tls is None else "https"
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)

    @property
    def base_url(self) -> str:
        host, port = str(self.server_address[0]), self.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        return f"{self.scheme}://{shown}:{port}"

    def finish_request(self, request: Any, client_address: Any) -> None:
        """With TLS, the handshake happens here, on the connection's own thread, so a
        slow or failed one holds up no other client."""
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(_Handler.timeout)
        if not _starts_tls(request):
            return
        try:
            secure = self.tls.wrap_socket(request, server_side=True)
        except OSError:  # a client that does not trust the certificate, a reset
            return
        try:
            super().finish_request(secure, client_address)
        finally:
            with contextlib.suppress(OSError):
                secure.shutdown(socket.SHUT_RDWR)
            secure.close()


_PLAIN_HTTP = json.dumps(
    {"id": "bad_request", "message": "This server speaks https: use https:// in the URL."}
).encode()
_PLAIN_HTTP_ANSWER = (
    b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_PLAIN_HTTP), _PLAIN_HTTP)
)


def _starts_tls(request: socket.socket) -> bool:
    """Whether the client opens with a TLS handshake; a plain http request on the https
    port is answered 400, saying so, instead of a reset connection."""
    try:
        first = request.recv(1, socket.MSG_PEEK)
    except OSError:
        return False
    if first in (b"", b"\x16"):  # 0x16: a TLS handshake record (b"": let TLS fail it)
        return True
    with contextlib.suppress(OSError):
        request.sendall(_PLAIN_HTTP_ANSWER)
        request.shutdown(socket.SHUT_WR)
        request.recv(1 << 16)  # read what was sent, so closing does not reset the answer
    return False


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
        scheme = self.server.scheme
        host = self.headers.get("host")
        if host:
            with contextlib.suppress(httpx.InvalidURL, ValueError):
                candidate = httpx.URL(f"{scheme}://{host}")
                if candidate.host and not candidate.path.strip("/"):
                    base = f"{scheme}://{host}"
        path = self.path if self.path.startswith("/") else "/" + self.path
        try:
            return httpx.URL(base + path)
        except (httpx.InvalidURL, ValueError):
            return httpx.URL(self.server.base_url + "/")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the sandbox keeps its own request log (``Sandbox.requests``)."""


@contextlib.contextmanager
def running(
    sandbox: Answerer, host: str, port: int, ca_file: StrPath | None = None
) -> Iterator[str]:
    """Run a server for ``sandbox`` in a background thread; yield its base URL.

    With ``ca_file``, serve https, the throwaway authority's certificate written there."""
    _check_loopback(host)
    server = _Server(sandbox, host, port, _tls(ca_file))
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
    sandbox: Answerer,
    host: str,
    port: int,
    ready: Callable[[str], object] | None,
    ca_file: StrPath | None = None,
) -> None:
    """Serve in this thread until ``KeyboardInterrupt``; then close the server.

    With ``ca_file``, serve https, the throwaway authority's certificate written there."""
    _check_loopback(host)
    server = _Server(sandbox, host, port, _tls(ca_file))
    try:
        if ready is not None:
            ready(server.base_url)
        server.serve_forever(poll_interval=_POLL)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
