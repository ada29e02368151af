"""The sandbox's HTTP layer: the protocol around the rules, and the faults.

``Front.handle`` answers one request in the order the real API does: authenticate,
spend the request budget, take a queued fault, route, check the method, then run
the route's handler against the ``World``. Each route is a row of ``_routes.ROUTES``,
keyed by path shape and method; flags on the row (``slug_ok``, ``private_only``)
say what the ladder of ``if``s used to imply by its order.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any, Protocol, TypeVar

import httpx

from .._constants import MAX_REQUEST_BODY
from ._routes import ROUTES, match
from ._routes._call import Call, Path, Query, Route
from ._world import World
from ._world._core import DEFAULT_ACCOUNT, Problem

ACCOUNT_TOKEN_PREFIX = "dop_v1_sandbox_"
"""A token ``dop_v1_sandbox_NAME`` acts as the sandbox account NAME."""
ACCOUNT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
"""What a sandbox account may be called."""

RATE_WINDOW = 3600.0
"""The hourly request budget's window, in seconds."""
MINUTE = 60.0

_ERROR_IDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_entity_too_large",
    422: "unprocessable_entity",
    429: "too_many_requests",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}
_MESSAGES = {
    401: "Unable to authenticate you.",
    403: "You do not have access for the attempted action.",
    404: "The resource you were accessing could not be found.",
    429: "API rate limit exceeded.",
    500: "Unexpected server-side error",
}


@dataclass(frozen=True, slots=True)
class Reply:
    """What the sandbox answers: a response, or a response dropped after committing."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    dropped: bool = False


class Answerer(Protocol):
    """What the transport and the server answer from: ``Sandbox`` is one."""

    def handle(self, method: str, url: httpx.URL, headers: httpx.Headers, body: bytes) -> Reply:
        """Answer one HTTP request."""
        ...  # pragma: no cover - a protocol


@dataclass(frozen=True, slots=True)
class SandboxRequest:
    """One request the sandbox saw and its answer (``dropped``: made, but never sent back;
    ``garbled``: answered 200 with a body that is not JSON, after it was carried out).

    ``headers`` are the request's, with the bearer token blanked out; ``answered_at``
    is the sandbox clock (``Sandbox.clock()``) when it was answered.
    """

    method: str
    path: str
    query: str
    body: bytes
    operation: str | None
    status: int
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes
    dropped: bool
    headers: tuple[tuple[str, str], ...] = ()
    answered_at: float = 0.0
    garbled: bool = False
    account: str = DEFAULT_ACCOUNT
    """The sandbox account the request's token acts as."""

    def json(self) -> Any:
        """The response body decoded from JSON (``None`` when empty)."""
        return json.loads(self.response_body) if self.response_body else None


@dataclass(slots=True)
class Fault:
    """A queued error status for the next ``times`` requests (of ``method``, if set)."""

    status: int
    times: int
    headers: dict[str, str]
    method: str | None


@dataclass(slots=True)
class Drop:
    """Lose the next ``times`` responses (of ``method``, if set) after committing them;
    with ``garble``, answer them 200 with a body that is not JSON instead."""

    times: int
    method: str | None
    garble: bool = False


Queued = TypeVar("Queued", Fault, Drop)

GARBLED = (
    b"<!DOCTYPE html><html><head><title>200 OK</title></head>"
    b"<body><h1>Welcome</h1><p>This is not the API.</p></body></html>"
)
"""What a garbled answer holds: a proxy's page, not the API's JSON."""


def _take(queue: deque[Queued], method: str) -> Queued | None:
    """The first queued fault for ``method`` (or any method), used up once; ``None`` if none."""
    for item in queue:
        if item.method is None or item.method == method:
            item.times -= 1
            if item.times == 0:
                queue.remove(item)
            return item
    return None


# ------------------------------------------------------------------ protocol


class Front:
    """Authentication, the request budgets, faults, headers, error bodies and the log.

    Not thread-safe on its own: the sandbox holds its lock around ``handle``.
    """

    def __init__(
        self,
        world: World,
        *,
        token: str | None,
        rate_limit: int,
        requests_per_minute: int | None,
        log_size: int,
    ) -> None:
        self.world = world
        self.token = token
        self.limit = rate_limit
        self.remaining = rate_limit
        self.window_end = RATE_WINDOW
        self.requests_per_minute = requests_per_minute
        self.minute: deque[float] = deque()
        self.faults: deque[Fault] = deque()
        self.drops: deque[Drop] = deque()
        self.account_tokens: dict[str, str] = {}
        """Token -> account, for the accounts other than the default one."""
        self.log: deque[SandboxRequest] = deque(maxlen=max(0, log_size))
        self.counts: Counter[tuple[str, str | None]] = Counter()

    def handle(self, method: str, url: httpx.URL, headers: httpx.Headers, body: bytes) -> Reply:
        """Answer one HTTP request."""
        method = method.upper()
        self.world.settle()
        path = match(url.raw_path)
        route = ROUTES.get((path.kind, method)) if path else None
        operation = route.operation_id if route else None
        request_id = str(uuid.uuid4())
        account = self.account_of(headers.get("authorization"))
        try:
            status, payload, extra = self._answer(method, url, headers, body, path, route, account)
        except Problem as problem:
            status, extra = problem.status, problem.headers
            if route is not None and route.root_causes and status == 400:
                payload = root_causes_body(problem.message or "Bad Request")
            else:
                payload = error_body(problem.status, problem.message)
        if payload is not None and status >= 400 and "id" in payload:
            payload["request_id"] = request_id
        reply_headers = self._headers(request_id, extra, has_body=payload is not None)
        content = b"" if payload is None else _json(payload)
        lost = _take(self.drops, method)
        dropped = lost is not None and not lost.garble and status < 400
        garbled = lost is not None and lost.garble
        if garbled:
            status, content = 200, GARBLED
            reply_headers = [
                *(h for h in reply_headers if h[0] != "content-type"),
                ("content-type", "text/html; charset=utf-8"),
            ]
        self.counts[(method, operation)] += 1
        self.log.append(
            SandboxRequest(
                method=method,
                path=url.path,
                query=url.query.decode("ascii", errors="replace"),
                body=body,
                operation=operation,
                status=status,
                response_headers=tuple(reply_headers),
                response_body=content,
                dropped=dropped,
                headers=blank_token(headers),
                answered_at=self.world.clock(),
                garbled=garbled,
                account=account or DEFAULT_ACCOUNT,
            )
        )
        return Reply(status, reply_headers, content, dropped)

    def _answer(
        self,
        method: str,
        url: httpx.URL,
        headers: httpx.Headers,
        body: bytes,
        path: Path | None,
        route: Route | None,
        account: str | None,
    ) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        # Order as on the real API: authentication, then the budget, then the request.
        if account is None:
            raise Problem(401)
        limited = self._spend()
        if limited is not None:
            return 429, error_body(429), limited
        fault = self._take_fault(method)
        if fault is not None:
            return fault.status, error_body(fault.status), dict(fault.headers)
        if path is None:
            raise Problem(404)
        if route is None:
            allowed = sorted(m for kind, m in ROUTES if kind == path.kind)
            raise Problem(
                405,
                f"{method} is not allowed here; use {', '.join(allowed)}.",
                {"allow": ", ".join(allowed)},
            )
        if len(body) > MAX_REQUEST_BODY:
            raise Problem(413, "The request body is too large.")
        image = None
        if "image_id" in path.params:
            image = self.world.find_image(
                path.params["image_id"],
                slug_ok=route.slug_ok,
                account=account,
                recipient=route.recipient_ok,
            )
            if route.private_only and image["public"]:
                raise Problem(403)
        query = Query(url.query.decode("ascii", errors="replace"))
        call = Call(self.world, url, query, body, path.params, image, account)
        status, payload = route.handler(call)
        return status, payload, {}

    def account_of(self, authorization: str | None) -> str | None:
        """The account a bearer token acts as; ``None`` when it is refused (401).

        An account's own token (``dop_v1_sandbox_NAME`` for an account the sandbox has)
        acts as it. Without a set token, any other non-empty one acts as the default
        account, and ``dop_v1_sandbox_NAME`` as account NAME (made on first use); with
        one, only it (and the accounts' tokens) pass.
        """
        if authorization is None:
            return None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        account = self.account_tokens.get(token)
        if account is not None:
            return account
        name = (
            token.removeprefix(ACCOUNT_TOKEN_PREFIX)
            if token.startswith(ACCOUNT_TOKEN_PREFIX)
            else ""
        )
        if name != DEFAULT_ACCOUNT and name in self.world.accounts:
            return name  # an account the sandbox has (the seeded bob, say): its token
        if self.token is not None:
            return DEFAULT_ACCOUNT if token == self.token else None
        if ACCOUNT_NAME.fullmatch(name) and name != DEFAULT_ACCOUNT:
            self.world.add_account(name)
            self.account_tokens[token] = name
            return name
        return DEFAULT_ACCOUNT

    def _spend(self) -> dict[str, str] | None:
        """Count one request against the budgets; the ``retry-after`` header if one is spent."""
        now = self.world.clock()
        if now >= self.window_end:
            self.remaining = self.limit
            self.window_end = now + RATE_WINDOW
        if self.remaining == 0:
            return {"retry-after": str(max(1, math.ceil(self.window_end - now)))}
        if self.requests_per_minute is not None:
            while self.minute and self.minute[0] <= now - MINUTE:
                self.minute.popleft()
            if len(self.minute) >= self.requests_per_minute:
                wait = self.minute[0] + MINUTE - now
                return {"retry-after": str(max(1, math.ceil(wait)))}
            self.minute.append(now)
        self.remaining -= 1
        return None

    def _take_fault(self, method: str) -> Fault | None:
        return _take(self.faults, method)

    def _headers(
        self, request_id: str, extra: Mapping[str, str], *, has_body: bool
    ) -> list[tuple[str, str]]:
        reset = self.world.start + timedelta(seconds=self.window_end)
        headers = [
            ("date", format_datetime(self.world.now, usegmt=True)),
            ("ratelimit-limit", str(self.limit)),
            ("ratelimit-remaining", str(self.remaining)),
            ("ratelimit-reset", str(math.ceil(reset.timestamp()))),
            ("x-request-id", request_id),
        ]
        if has_body:
            headers.append(("content-type", "application/json; charset=utf-8"))
        headers.extend((name.lower(), value) for name, value in extra.items())
        return headers


def blank_token(headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
    """The request headers for the log, with the bearer credential blanked everywhere."""
    scheme, _, credential = (headers.get("authorization") or "").partition(" ")
    credential = credential.strip()
    kept: list[tuple[str, str]] = []
    for name, raw in headers.multi_items():
        value = raw
        if name.lower() == "authorization":
            value = f"{scheme} [redacted]" if credential else "[redacted]"
        elif credential and credential in raw:
            value = raw.replace(credential, "[redacted]")
        kept.append((name.lower(), value))
    return tuple(kept)


def root_causes_body(message: str) -> dict[str, Any]:
    """The Tags API's error body: ``{"error", "messages", "root_causes"}``."""
    return {"error": message, "messages": None, "root_causes": [message]}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """The API's error body: ``{"id": "not_found", "message": ...}``."""
    if message is None:
        message = _MESSAGES.get(status)
    if message is None:
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = f"HTTP {status}"
    return {"id": _ERROR_IDS.get(status, "error"), "message": message}


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
