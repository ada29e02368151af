"""The httpx transports that answer from a ``Sandbox`` without any socket."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from ._sandbox import Reply, Sandbox

_DROPPED = "Server disconnected without sending a response."


def _response(reply: Reply, request: httpx.Request) -> httpx.Response:
    if reply.dropped:
        # What a client sees when the server applied the change but the answer was lost.
        raise httpx.RemoteProtocolError(_DROPPED, request=request)
    return httpx.Response(reply.status, headers=reply.headers, content=reply.body, request=request)


class SandboxTransport(httpx.BaseTransport):
    """``Client(transport=SandboxTransport(sandbox))``: requests are answered in-process."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` from the sandbox."""
        body = request.read()
        reply = self._sandbox.handle(request.method, request.url, request.headers, body)
        return _response(reply, request)


class AsyncSandboxTransport(httpx.AsyncBaseTransport):
    """``AsyncClient(transport=AsyncSandboxTransport(sandbox))``: answered in-process."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` from the sandbox."""
        body = await request.aread()
        reply = self._sandbox.handle(request.method, request.url, request.headers, body)
        return _response(reply, request)
