"""Fleet test support: a sandbox inventory, hooks between a client and its sandbox, and
the plan forger a hostile or careless tool would be.

``Hooked`` sits between the transport and the sandbox, so a test can act at an exact
moment of an apply (just before a POST, say) the way another client would, and see every
request as it is answered.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from do_images import AsyncClient, Client
from do_images.fleet import Fleet, FleetPlan, fingerprint
from do_images.testing import SANDBOX_BASE_URL, SANDBOX_TOKEN, Sandbox, SandboxTransport
from do_images.testing._sandbox import Reply

START = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
FLEET: dict[str, Any] = {
    "version": 1,
    "group": [
        {
            "name": "web",
            "select": {"name_prefix": "web-", "types": ["snapshot", "custom"]},
            "regions": ["nyc3", "sfo3"],
            "keep": 2,
            "max_age": "30d",
            "protect_tags": ["keep"],
            "ensure_tags": ["managed"],
        }
    ],
}
"""Keep the two newest ``web-`` images (none over 30 days but the newest), in two regions."""

WEB = {1: 1, 2: 5, 3: 40, 4: 50}
"""The ``web-`` snapshots of ``inventory()``: id -> age in days (1 and 2 kept, 3 and 4 go)."""
PROTECTED, BACKUP, PUBLIC, OTHER = 22, 20, 21, 9


def inventory(**options: Any) -> Sandbox:
    """A sandbox with the ``web-`` snapshots of ``WEB``, a protected ``web-`` image, a
    backup and a public image named ``web-`` too, and an image no group selects."""
    sandbox = Sandbox(start=START, seed=False, log_size=100_000, **options)
    for number, days in WEB.items():
        regions = ["nyc3", "sfo3"] if number == 2 else ["nyc3"]
        sandbox.add_image(
            f"web-{number}", id=number, regions=regions, created_at=START - timedelta(days=days)
        )
    sandbox.add_image(
        "web-golden",
        id=PROTECTED,
        tags=["keep"],
        regions=["nyc3", "sfo3"],
        created_at=START - timedelta(days=90),
    )
    sandbox.add_image("web-backup", id=BACKUP, type="backup", created_at=START - timedelta(days=60))
    sandbox.add_image(
        "web-public",
        id=PUBLIC,
        type="custom",
        public=True,
        slug="web-public",
        created_at=START - timedelta(days=60),
    )
    sandbox.add_image("db-1", id=OTHER, created_at=START - timedelta(days=400))
    return sandbox


def the_fleet() -> Fleet:
    return Fleet.from_dict(FLEET)


Before = Callable[[str, str, bytes], object]
"""Called with (method, path, body) just before the sandbox answers a request."""


class Hooked:
    """A sandbox behind a hook: ``before`` runs ahead of every request it answers."""

    def __init__(self, sandbox: Sandbox, before: Before) -> None:
        self.sandbox = sandbox
        self.before = before

    def handle(self, method: str, url: httpx.URL, headers: httpx.Headers, body: bytes) -> Reply:
        self.before(method, url.path, body)
        return self.sandbox.handle(method, url, headers, body)


def hooked_client(
    sandbox: Sandbox,
    before: Before,
    kind: str = "sync",
    sleep: Callable[[float], None] | None = None,
    async_sleep: Callable[[float], Awaitable[None]] | None = None,
    **options: Any,
) -> Client | AsyncClient:
    """A client of ``kind`` answered by ``sandbox`` through ``before``; its waits move the
    sandbox's clock (or call ``sleep``, or await ``async_sleep``, instead)."""
    transport = SandboxTransport(Hooked(sandbox, before))
    common: dict[str, Any] = {
        "base_url": SANDBOX_BASE_URL,
        "clock": sandbox.clock,
        "transport": transport,
        **options,
    }
    step = sleep or sandbox.advance
    if kind == "sync":
        return Client(SANDBOX_TOKEN, sleep=step, **common)

    async def stepped(seconds: float) -> None:
        step(seconds)

    return AsyncClient(SANDBOX_TOKEN, sleep=async_sleep or stepped, **common)


def is_transfer_post(method: str, path: str, body: bytes) -> bool:
    """Whether a request starts an image action that is a transfer."""
    if method != "POST" or not path.endswith("/actions") or not body:
        return False
    sent: object = json.loads(body)
    return isinstance(sent, dict) and sent.get("type") == "transfer"


def transfers_started(sandbox: Sandbox) -> dict[tuple[str, str], int]:
    """(path, region) -> how many transfer POSTs the sandbox answered 2xx (in its log)."""
    started: dict[tuple[str, str], int] = {}
    for request in sandbox.requests:
        body = request.body
        if is_transfer_post(request.method, request.path, body) and 200 <= request.status < 300:
            key = (request.path, json.loads(body)["region"])
            started[key] = started.get(key, 0) + 1
    return started


def forge(
    plan: FleetPlan, edit: Callable[[dict[str, Any]], object], *, recompute: bool = True
) -> dict[str, Any]:
    """The plan's document, edited by ``edit`` and (as a careful forger would) its
    fingerprint computed again with the public ``fingerprint``."""
    document: dict[str, Any] = json.loads(json.dumps(plan.to_json()))
    edit(document)
    if recompute:
        document["fingerprint"] = fingerprint(document)
    return document


def entry(action: str, image_id: int, group: str = "web", **more: Any) -> Mapping[str, Any]:
    """A plan document entry, as a forger writes one."""
    return {
        "action": action,
        "group": group,
        "image_id": image_id,
        "image_name": "anything",
        "reason": "edited",
        **more,
    }
