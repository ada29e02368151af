"""The sandbox's HTTP layer: routes as a table, and the protocol around the rules.

``Front.handle`` answers one request in the order the real API does: authenticate,
spend the request budget, take a queued fault, route, check the method, then run
the route's handler against the ``World``. Each route is a row of ``ROUTES``,
keyed by path shape and method; flags on the row (``slug_ok``, ``private_only``)
say what the ladder of ``if``s used to imply by its order.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode

import httpx

from .._constants import MAX_PER_PAGE, MAX_REQUEST_BODY, SANDBOX_DEFAULT_PER_PAGE
from ._world import DEFAULT_ACCOUNT, World, int_segment, page_count
from ._world._core import Problem

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


# ------------------------------------------------------------------ routing


@dataclass(frozen=True, slots=True)
class Call:
    """One routed request, as a handler sees it."""

    world: World
    url: httpx.URL
    query: Query
    body: bytes
    params: dict[str, str]
    image: dict[str, Any] | None
    account: str = DEFAULT_ACCOUNT

    def json_object(self) -> dict[str, Any]:
        """The request body as a JSON object, or 400."""
        try:
            value = json.loads(self.body) if self.body.strip() else None
        except (ValueError, UnicodeDecodeError):
            raise Problem(400, "The request body is not valid JSON.") from None
        if not isinstance(value, dict):
            raise Problem(400, "The request body must be a JSON object.")
        return value

    @property
    def the_image(self) -> dict[str, Any]:
        """The image the path names (routes under ``/v2/images/{id}`` always have one)."""
        assert self.image is not None
        return self.image


Answer = tuple[int, "dict[str, Any] | None"]
Handler = Callable[[Call], Answer]


@dataclass(frozen=True, slots=True)
class Route:
    """A row of the route table: the spec's operationId and what answers it."""

    operation_id: str
    handler: Handler
    slug_ok: bool = False
    """The path's image may be named by a public image's slug."""
    private_only: bool = False
    """Public images are read-only: this route answers them 403."""
    recipient_ok: bool = False
    """The recipient of a transfer of the image may name it too (accept, decline)."""
    root_causes: bool = False
    """A 400 has the Tags API's body, ``{"error", "messages", "root_causes"}``."""


def _list_images(call: Call) -> Answer:
    images = call.world.list_images(
        kind=call.query.get("type"),
        private=call.query.get("private"),
        tag=call.query.get("tag_name"),
        account=call.account,
    )
    return 200, paged(call.url, call.query, "images", images)


def _create_image(call: Call) -> Answer:
    return 202, {"image": call.world.create_image(call.json_object(), call.account)}


def _get_image(call: Call) -> Answer:
    return 200, {"image": dict(call.the_image)}


def _update_image(call: Call) -> Answer:
    return 200, {"image": call.world.update_image(call.the_image, call.json_object())}


def _delete_image(call: Call) -> Answer:
    call.world.delete_image(call.the_image)
    return 204, None


def _list_actions(call: Call) -> Answer:
    return 200, paged(call.url, call.query, "actions", call.world.list_actions(call.the_image))


def _start_action(call: Call) -> Answer:
    return 201, {"action": call.world.start_action(call.the_image, call.json_object())}


def _get_account_action(call: Call) -> Answer:
    action_id = int_segment(call.params["action_id"])
    action = call.world.actions.get(action_id) if action_id is not None else None
    image = call.world.images.get(action["resource_id"]) if action is not None else None
    if action is None or (image is not None and not call.world.visible(image, call.account)):
        raise Problem(404)
    return 200, {"action": dict(action)}


def _get_action(call: Call) -> Answer:
    return 200, {"action": dict(call.world.find_action(call.the_image, call.params["action_id"]))}


def _start_account_transfer(call: Call) -> Answer:
    transfer_id = call.world.start_transfer(call.account, call.the_image, call.json_object())
    return 201, {"transfer_id": transfer_id}


def _accept_account_transfer(call: Call) -> Answer:
    call.world.accept_transfer(call.account, call.the_image, call.json_object())
    return 201, None


def _cancel_account_transfer(call: Call) -> Answer:
    call.world.cancel_transfer(call.account, call.the_image, call.json_object())
    return 204, None


def _decline_account_transfer(call: Call) -> Answer:
    call.world.decline_transfer(call.account, call.the_image, call.json_object())
    return 204, None


def _list_regions(call: Call) -> Answer:
    return 200, paged(call.url, call.query, "regions", call.world.list_regions())


def _list_tags(call: Call) -> Answer:
    world = call.world
    tags = [world.tag_object(call.account, name) for name in world.tags.get(call.account, [])]
    return 200, paged(call.url, call.query, "tags", tags)


def _create_tag(call: Call) -> Answer:
    return 201, {"tag": call.world.create_tag(call.account, call.json_object())}


def _get_tag(call: Call) -> Answer:
    name = call.world.find_tag(call.account, call.params["tag"])
    return 200, {"tag": call.world.tag_object(call.account, name)}


def _delete_tag(call: Call) -> Answer:
    call.world.delete_tag(call.account, call.params["tag"])
    return 204, None


def _assign_tag(call: Call) -> Answer:
    call.world.assign_tag(call.account, call.params["tag"], call.json_object())
    return 204, None


def _unassign_tag(call: Call) -> Answer:
    call.world.unassign_tag(call.account, call.params["tag"], call.json_object())
    return 204, None


ROUTES: dict[tuple[str, str], Route] = {
    ("images", "GET"): Route("images_list", _list_images),
    ("images", "POST"): Route("images_create_custom", _create_image),
    ("image", "GET"): Route("images_get", _get_image, slug_ok=True),
    ("image", "PUT"): Route("images_update", _update_image, private_only=True),
    ("image", "DELETE"): Route("images_delete", _delete_image, private_only=True),
    ("actions", "GET"): Route("imageActions_list", _list_actions),
    ("actions", "POST"): Route("imageActions_post", _start_action, private_only=True),
    ("action", "GET"): Route("imageActions_get", _get_action),
    # From the Actions API: any action of the account, as doboto's waits poll it.
    ("account_action", "GET"): Route("actions_get", _get_account_action),
    ("account_transfer", "POST"): Route(
        "images_post_account_transfer_create", _start_account_transfer, private_only=True
    ),
    ("account_transfer_accept", "POST"): Route(
        "images_post_account_transfer_accept", _accept_account_transfer, recipient_ok=True
    ),
    ("account_transfer_cancel", "POST"): Route(
        "images_post_account_transfer_cancel", _cancel_account_transfer, private_only=True
    ),
    ("account_transfer_decline", "POST"): Route(
        "images_post_account_transfer_decline", _decline_account_transfer, recipient_ok=True
    ),
    ("tags", "GET"): Route("tags_list", _list_tags),
    ("tags", "POST"): Route("tags_create", _create_tag, root_causes=True),
    ("tag", "GET"): Route("tags_get", _get_tag),
    ("tag", "DELETE"): Route("tags_delete", _delete_tag),
    ("tag_resources", "POST"): Route("tags_assign_resources", _assign_tag),
    ("tag_resources", "DELETE"): Route("tags_unassign_resources", _unassign_tag),
    ("regions", "GET"): Route("regions_list", _list_regions),
}
"""``(path shape, method) -> Route``: every operation the sandbox answers."""


@dataclass(frozen=True, slots=True)
class Path:
    """A matched path: its shape (``images``, ``image``, ``actions``, ``action``) and ids."""

    kind: str
    params: dict[str, str]


def match(raw_path: bytes) -> Path | None:
    """Match the spec's paths, ``[prefix]/v2/images[/{id}[/actions[/{action_id}]]]``,
    ``.../account_transfer[/accept|cancel|decline]``, ``/v2/tags[/{tag}[/resources]]``,
    ``[prefix]/v2/actions/{id}`` and ``[prefix]/v2/regions``.

    Empty segments are skipped, as the API skips them (doboto asks for ``/v2//images``).
    ``None`` when nothing matches.
    """
    path = raw_path.split(b"?", 1)[0].decode("ascii", errors="replace")
    segments = [segment for segment in path.split("/") if segment]
    for index in range(len(segments) - 1):
        if segments[index] == "v2" and segments[index + 1] in _ROOTS:
            # Each segment is decoded on its own, so an encoded "/" stays inside it.
            rest = [unquote(segment) for segment in segments[index + 2 :]]
            return _ROOTS[segments[index + 1]](rest)
    return None


def _account_action_path(rest: list[str]) -> Path | None:
    return Path("account_action", {"action_id": rest[0]}) if len(rest) == 1 else None


def _regions_path(rest: list[str]) -> Path | None:
    return None if rest else Path("regions", {})


def _tags_path(rest: list[str]) -> Path | None:
    if not rest:
        return Path("tags", {})
    if len(rest) == 1:
        return Path("tag", {"tag": rest[0]})
    if len(rest) == 2 and rest[1] == "resources":
        return Path("tag_resources", {"tag": rest[0]})
    return None


_TRANSFER_STEPS = {"accept", "cancel", "decline"}


def _images_path(rest: list[str]) -> Path | None:
    if not rest:
        return Path("images", {})
    image = {"image_id": rest[0]}
    if len(rest) == 1:
        return Path("image", image)
    if len(rest) == 2 and rest[1] in ("actions", "account_transfer"):
        return Path(rest[1], image)
    if len(rest) == 3 and rest[1] == "actions":
        return Path("action", {**image, "action_id": rest[2]})
    if len(rest) == 3 and rest[1] == "account_transfer" and rest[2] in _TRANSFER_STEPS:
        return Path(f"account_transfer_{rest[2]}", image)
    return None


_ROOTS: dict[str, Callable[[list[str]], Path | None]] = {
    "actions": _account_action_path,
    "images": _images_path,
    "regions": _regions_path,
    "tags": _tags_path,
}


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

        An account's own token acts as it. Without a set token, any other non-empty
        one acts as the default account, and ``dop_v1_sandbox_NAME`` as account NAME
        (made on first use); with one, only it (and the accounts' tokens) pass.
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
        if self.token is not None:
            return DEFAULT_ACCOUNT if token == self.token else None
        name = (
            token.removeprefix(ACCOUNT_TOKEN_PREFIX)
            if token.startswith(ACCOUNT_TOKEN_PREFIX)
            else ""
        )
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


class Query:
    """The query string: the first value of each name, in order."""

    def __init__(self, raw: str) -> None:
        self.pairs = parse_qsl(raw, keep_blank_values=True)
        self._first: dict[str, str] = {}
        for name, value in self.pairs:
            self._first.setdefault(name, value)

    def get(self, name: str) -> str | None:
        """The first value of ``name``, if given."""
        return self._first.get(name)

    def positive_int(self, name: str, default: int, maximum: int | None = None) -> int:
        """An integer parameter of at least 1 (and at most ``maximum``), or 400."""
        raw = self.get(name)
        if raw is None:
            return default
        # Any size: a page far past the end is an empty page, not an error.
        value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4300 else None
        if value is None or value < 1 or (maximum is not None and value > maximum):
            bound = f"from 1 to {maximum}" if maximum is not None else "of at least 1"
            raise Problem(400, f"{name} must be an integer {bound}.")
        return value


def paged(url: httpx.URL, query: Query, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of ``items`` with the API's ``links.pages`` and ``meta.total``."""
    per_page = query.positive_int("per_page", SANDBOX_DEFAULT_PER_PAGE, MAX_PER_PAGE)
    page = query.positive_int("page", 1)
    total = len(items)
    last = page_count(total, per_page)
    # Links keep the caller's filters and sit on the URL the request came in on.
    kept = [(n, v) for n, v in query.pairs if n not in ("page", "per_page")]

    def link(number: int) -> str:
        params = [*kept, ("page", str(number)), ("per_page", str(per_page))]
        return str(url.copy_with(query=urlencode(params).encode("ascii")))

    pages: dict[str, str] = {}
    if page > 1:
        pages["first"] = link(1)
        pages["prev"] = link(min(page - 1, last))
    if page < last:
        pages["last"] = link(last)
        pages["next"] = link(page + 1)
    start = (page - 1) * per_page
    return {
        key: [dict(item) for item in items[start : start + per_page]],
        "links": {"pages": pages},
        "meta": {"total": total},
    }


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
