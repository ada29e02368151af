"""The httpx transport that answers from a ``Sandbox`` without any socket.

One class serves both clients, as ``httpx.MockTransport`` does: it is a sync and
an async transport at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from ._http import Answerer, Reply

_DROPPED = "Server disconnected without sending a response."


def _response(reply: Reply, request: httpx.Request) -> httpx.Response:
    if reply.dropped:
        # What a client sees when the server applied the change but the answer was lost.
        raise httpx.RemoteProtocolError(_DROPPED, request=request)
    return httpx.Response(reply.status, headers=reply.headers, content=reply.body, request=request)


class SandboxTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """``Client(transport=SandboxTransport(sandbox))`` (or ``AsyncClient``): answered in-process."""

    def __init__(self, sandbox: Answerer) -> None:
        self._sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` from the sandbox."""
        body = request.read()
        return _response(
            self._sandbox.handle(request.method, request.url, request.headers, body), request
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` from the sandbox."""
        body = await request.aread()
        return _response(
            self._sandbox.handle(request.method, request.url, request.headers, body), request
        )


AsyncSandboxTransport = SandboxTransport
"""The same class: kept as a name for code that imports it."""
