"""A real S3-compatible server on loopback (moto's server mode), and a proxy in front of it
that counts requests and can cut connections or refuse parts: Spaces, offline."""

from __future__ import annotations

import functools
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

ACCESS = "AKIASANDBOXSPACES01"
SECRET = "sandbox-secret-key-never-shown-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 over HTTP on 127.0.0.1; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@functools.cache
def s3(endpoint: str) -> Any:
    """A boto3 client of ``endpoint`` with the test keys (one per endpoint: clients are
    thread-safe, and each new one costs a fifth of a second)."""
    import boto3

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
    )


def new_bucket(endpoint: str) -> str:
    name = f"images-{uuid.uuid4().hex[:12]}"
    s3(endpoint).create_bucket(Bucket=name)
    return name


class FaultProxy:
    """Forwards to ``upstream``, counting requests by kind (``part``, ``acl``, or the
    method); after ``down_after`` part uploads it closes every connection unanswered
    (Spaces out of reach), and with ``refuse_parts`` it answers part uploads 403 (Spaces
    saying no). ``failing[kind]`` requests of a kind are answered 503 (Spaces failing),
    and requests of a kind in ``cut`` are closed unanswered."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.counts: Counter[str] = Counter()
        self.down_after: int | None = None
        self.refuse_parts = False
        self.failing: Counter[str] = Counter()
        self.cut: set[str] = set()
        self.lock = threading.Lock()
        self.http = httpx.Client(base_url=upstream, timeout=30)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _any(self) -> None:
                try:
                    proxy.forward(self)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client read what it wanted

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a connection this proxy cut on purpose: no traceback

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A short poll: shutting the proxy down waits for one (the default is half a second).
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def kind(self, handler: BaseHTTPRequestHandler) -> str:
        if handler.command == "PUT" and "partNumber=" in handler.path:
            return "part"
        if "?acl" in handler.path:
            return "acl"
        return handler.command

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        kind = self.kind(handler)
        with self.lock:
            down = self.down_after is not None and self.counts["part"] >= self.down_after
            if down or kind in self.cut:
                handler.close_connection = True
                self.counts["cut"] += 1
                return
            self.counts[kind] += 1
            failing = self.failing[kind] > 0
            self.failing[kind] -= failing
        if kind == "part" and self.refuse_parts:
            self.error(handler, 403, b"AccessDenied", b"Access Denied")
            return
        if failing:
            self.error(handler, 503, b"ServiceUnavailable", b"Please try again")
            return
        headers = [(k, v) for k, v in handler.headers.items() if k.lower() != "content-length"]
        answer = self.http.request(handler.command, handler.path, headers=headers, content=body)
        handler.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                handler.send_header(name, value)
        handler.send_header("content-length", str(len(answer.content)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(answer.content)

    @staticmethod
    def error(handler: BaseHTTPRequestHandler, status: int, code: bytes, message: bytes) -> None:
        payload = b"<Error><Code>" + code + b"</Code><Message>" + message + b"</Message></Error>"
        handler.send_response(status)
        handler.send_header("content-type", "application/xml")
        handler.send_header("content-length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.http.close()
