"""Test helpers for the endpoint tables: a recording ``Harness`` and realistic payloads.

``Harness`` is the shared ``_harness.Api`` driver (either client behind synchronous
calls, sleeps recorded and never slept) on a mock transport that records every
request. ``FakeTime`` is a bare fake clock and sleep for tests that build a client
themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from _harness import Api
from do_images import Client, RateLimit

BASE = "https://api.digitalocean.com"
TOKEN = "dop_v1_test-token-0123456789abcdef"

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


class Harness(Api):
    """An ``Api`` on a mock transport that records every request it sends."""

    def __init__(self, kind: str, handler: Handler, **kwargs: Any) -> None:
        self.requests: list[httpx.Request] = []

        def recording(request: httpx.Request) -> httpx.Response:
            request.read()
            self.requests.append(request)
            return handler(request)

        kwargs.setdefault("token", TOKEN)
        kwargs.setdefault("base_url", BASE)
        super().__init__(kind, transport=httpx.MockTransport(recording), **kwargs)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``do.image.<method>`` and return its result (a list for ``iter``)."""
        if method != "iter":
            return super().call(method, *args, **kwargs)
        pager = getattr(self.client.image, method)(*args, **kwargs)
        if isinstance(self.client, Client):
            return list(pager)

        async def collect() -> list[Any]:
            return [item async for item in pager]

        return self.run(collect())

    @property
    def rate_limit(self) -> RateLimit | None:
        return self.client.rate_limit


def json_response(
    status: int, payload: object, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A response with a JSON body."""
    return httpx.Response(
        status,
        content=json.dumps(payload).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


def image_payload(image_id: int, **fields: Any) -> dict[str, Any]:
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


def action_payload(
    action_id: int, image_id: int, status: str = "in-progress", **fields: Any
) -> dict[str, Any]:
    """A realistic image action object as the API sends it."""
    payload: dict[str, Any] = {
        "id": action_id,
        "status": status,
        "type": "transfer",
        "started_at": "2014-11-14T16:42:45Z",
        "completed_at": None if status == "in-progress" else "2014-11-14T16:50:45Z",
        "resource_id": image_id,
        "resource_type": "image",
        "region": {
            "name": "New York 3",
            "slug": "nyc3",
            "sizes": ["s-1vcpu-1gb"],
            "features": ["image_transfer"],
            "available": True,
        },
        "region_slug": "nyc3",
    }
    payload.update(fields)
    return payload
