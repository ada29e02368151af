"""``Sandbox``: an in-memory DigitalOcean Images API with a virtual clock and faults."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

import httpx

from .._checks import check_int, check_positive_seconds
from .._client import AsyncClient, Client
from .._models import Action, Image
from ._seed import DISTRIBUTIONS, REGION_NAMES, RETIRED_REGIONS, region_object, seed_actions
from ._seed import seed_images as _seed_images

SANDBOX_TOKEN = "dop_v1_sandbox"
"""The token ``Sandbox.client()`` uses; any other non-empty token works too unless one is set."""

SANDBOX_BASE_URL = "https://sandbox.do-images.invalid"
"""The base URL of in-process clients (``.invalid`` never resolves: nothing can leave the host)."""

RATE_WINDOW = 3600.0
MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 20
MAX_BODY = 1 << 20

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


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Problem(Exception):
    """An error response raised from deep inside a handler."""

    def __init__(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True, slots=True)
class Reply:
    """What the sandbox answers: a response, or a response dropped after committing."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    dropped: bool = False


@dataclass(frozen=True, slots=True)
class SandboxRequest:
    """One request the sandbox saw and its answer (``dropped``: made, but never sent back)."""

    method: str
    path: str
    query: str
    body: bytes
    operation: str | None
    status: int
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes
    dropped: bool

    def json(self) -> Any:
        """The response body decoded from JSON (``None`` when empty)."""
        return json.loads(self.response_body) if self.response_body else None


@dataclass(slots=True)
class _Fault:
    status: int
    times: int
    headers: dict[str, str]
    method: str | None


@dataclass(slots=True)
class _Drop:
    times: int
    method: str | None


@dataclass(slots=True)
class _Pending:
    """Something that finishes at a virtual time: an action, or a custom image import."""

    due: float
    action: dict[str, Any] | None = None
    image_id: int | None = None
    region: str | None = None
    errored: bool = False


@dataclass(frozen=True, slots=True)
class _Route:
    kind: str
    params: dict[str, str]


_OPERATION_BY_METHOD: dict[tuple[str, str], str] = {
    ("images", "GET"): "images_list",
    ("images", "POST"): "images_create_custom",
    ("image", "GET"): "images_get",
    ("image", "PUT"): "images_update",
    ("image", "DELETE"): "images_delete",
    ("actions", "GET"): "imageActions_list",
    ("actions", "POST"): "imageActions_post",
    ("action", "GET"): "imageActions_get",
}


def _route(raw_path: bytes) -> _Route | None:
    """Match ``[prefix]/v2/images[/{id}[/actions[/{action_id}]]]``; ``None`` if nothing does."""
    path = raw_path.split(b"?", 1)[0].decode("ascii", errors="replace")
    segments = path.rstrip("/").split("/")
    for index in range(len(segments) - 1):
        if segments[index] == "v2" and segments[index + 1] == "images":
            # Each segment is decoded on its own, so an encoded "/" stays inside it.
            rest = [unquote(segment) for segment in segments[index + 2 :]]
            break
    else:
        return None
    if not rest:
        return _Route("images", {})
    if len(rest) == 1:
        return _Route("image", {"image_id": rest[0]})
    if len(rest) == 2 and rest[1] == "actions":
        return _Route("actions", {"image_id": rest[0]})
    if len(rest) == 3 and rest[1] == "actions":
        return _Route("action", {"image_id": rest[0], "action_id": rest[2]})
    return None


class Sandbox:
    """An in-memory DigitalOcean Images API, for your tests and ours.

    It answers every operation of the Images API as the official spec describes,
    starting from seeded public distributions and applications and a few private
    snapshots, backups and custom images. Time is virtual: actions and custom image
    imports finish when ``advance()`` (or a client's waiting) moves the clock past
    their duration. Faults can be queued: error statuses (``fail_next``), an
    exhausted rate limit (``exhaust_rate_limit``), a response lost after the change
    was made (``drop_next``), an action that ends ``errored`` (``error_next_action``).

    The state is guarded by a lock, so clients in several threads (or ``serve()``)
    may use one sandbox at once.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        start: datetime | None = None,
        rate_limit: int = 5000,
        action_seconds: float = 30.0,
        import_seconds: float = 60.0,
        realtime: bool = False,
        seed: bool = True,
        log_size: int = 1000,
    ) -> None:
        """Create a sandbox.

        ``token``: the only bearer token accepted (default: any non-empty one).
        ``start``: the virtual wall-clock time at creation (default: now, to the second).
        ``rate_limit``: requests per hour-long window. ``action_seconds`` /
        ``import_seconds``: how long actions and custom image imports take in virtual
        time. ``realtime``: the virtual clock also moves with real time (for a server
        people use by hand). ``seed``: start with the seeded images (else empty).
        ``log_size``: how many requests ``requests`` keeps.
        """
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise ValueError("token must be a non-empty str or None")
        if start is None:
            start = datetime.now(timezone.utc).replace(microsecond=0)
        elif start.tzinfo is None:
            raise ValueError("start must be a timezone-aware datetime")
        check_int(rate_limit, "rate_limit", min=1)
        _check_seconds(action_seconds, "action_seconds")
        _check_seconds(import_seconds, "import_seconds")
        self._lock = threading.RLock()
        self._token = token.strip() if token is not None else None
        self._start = start
        self._elapsed = 0.0
        self._realtime = realtime
        self._t0 = time.monotonic()
        self._action_seconds = float(action_seconds)
        self._import_seconds = float(import_seconds)
        self._images: dict[int, dict[str, Any]] = {}
        self._actions: dict[int, dict[str, Any]] = {}
        self._pending: list[_Pending] = []
        self._next_image_id = 190000001
        self._next_action_id = 2060000001
        self._faults: deque[_Fault] = deque()
        self._drops: deque[_Drop] = deque()
        self._errored_actions = 0
        self._limit = rate_limit
        self._remaining = rate_limit
        self._window_end = RATE_WINDOW
        self._log: deque[SandboxRequest] = deque(maxlen=max(0, log_size))
        self._counts: Counter[tuple[str, str | None]] = Counter()
        if seed:
            for image in _seed_images():
                self._images[image["id"]] = image
            for action in seed_actions():
                self._actions[action["id"]] = action

    def __repr__(self) -> str:
        with self._lock:
            return f"<Sandbox images={len(self._images)} now={_iso(self.now)!r}>"

    # ----------------------------------------------------------------- the clock

    def clock(self) -> float:
        """Virtual seconds since the sandbox was created (a monotonic clock for clients)."""
        real = time.monotonic() - self._t0 if self._realtime else 0.0
        return self._elapsed + real

    @property
    def now(self) -> datetime:
        """The virtual wall-clock time (UTC)."""
        return self._start + timedelta(seconds=self.clock())

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward; actions and imports that are due finish."""
        _check_seconds(seconds, "seconds")
        with self._lock:
            self._elapsed += float(seconds)
            self._settle()

    async def _async_advance(self, seconds: float) -> None:
        self.advance(seconds)
        # Let other tasks run, as a real sleep would.
        await asyncio.sleep(0)

    # ------------------------------------------------------------- clients, I/O

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport answering from this sandbox, for ``Client(transport=...)``."""
        from ._transport import SandboxTransport

        return SandboxTransport(self)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport answering from this sandbox, for ``AsyncClient(transport=...)``."""
        from ._transport import AsyncSandboxTransport

        return AsyncSandboxTransport(self)

    def client(
        self,
        *,
        token: str = SANDBOX_TOKEN,
        base_url: str = SANDBOX_BASE_URL,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 2,
        user_agent: str | None = None,
    ) -> Client:
        """A ``Client`` wired to this sandbox in-process; its waits advance the virtual clock."""
        return Client(
            token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            user_agent=user_agent,
            transport=self.transport(),
            sleep=self.advance,
            clock=self.clock,
        )

    def async_client(
        self,
        *,
        token: str = SANDBOX_TOKEN,
        base_url: str = SANDBOX_BASE_URL,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 2,
        user_agent: str | None = None,
        page_concurrency: int = 4,
    ) -> AsyncClient:
        """An ``AsyncClient`` wired to this sandbox; its waits advance the virtual clock."""
        return AsyncClient(
            token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            user_agent=user_agent,
            page_concurrency=page_concurrency,
            transport=self.async_transport(),
            sleep=self._async_advance,
            clock=self.clock,
        )

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve this sandbox over HTTP on a loopback address; yield its base URL.

        ``port=0`` picks a free port. The server runs in a background thread and
        stops when the block ends. A dropped response closes the connection unanswered.
        Virtual time still moves only with ``advance()`` (pass ``sleep=sandbox.advance,
        clock=sandbox.clock`` to your client), unless the sandbox is ``realtime``.
        """
        from ._server import running

        with running(self, host, port) as base_url:
            yield base_url

    def serve_forever(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ready: Callable[[str], object] | None = None,
    ) -> None:
        """Serve over HTTP in this thread until interrupted (Ctrl-C); then stop and return.

        ``ready`` is called with the base URL once the server listens.
        """
        from ._server import serve_until_interrupted

        serve_until_interrupted(self, host, port, ready)

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        status: int,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        *,
        method: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests (of ``method``, if given) with ``status``.

        The body is the API's error body for that status; ``headers`` are added (for
        example ``{"retry-after": "3"}``). Nothing is changed by a failed request.
        """
        check_int(status, "status", min=400, max=599)
        _check_times(times)
        with self._lock:
            self._faults.append(
                _Fault(status, times, dict(headers or {}), method.upper() if method else None)
            )

    def drop_next(self, times: int = 1, *, method: str | None = None) -> None:
        """Make the change the next ``times`` requests ask for, then lose the response.

        In-process clients get an ``httpx.RemoteProtocolError``; over ``serve()`` the
        connection closes without an answer. Use it to check that a client does not
        repeat a ``POST`` whose outcome it never saw.
        """
        _check_times(times)
        with self._lock:
            self._drops.append(_Drop(times, method.upper() if method else None))

    def exhaust_rate_limit(self, reset_in: float = 60.0) -> None:
        """Use up the request budget; it refills ``reset_in`` virtual seconds from now."""
        _check_seconds(reset_in, "reset_in")
        with self._lock:
            self._remaining = 0
            self._window_end = self.clock() + float(reset_in)

    def error_next_action(self, times: int = 1) -> None:
        """Make the next ``times`` image actions end ``errored`` instead of ``completed``."""
        _check_times(times)
        with self._lock:
            self._errored_actions += times

    # ---------------------------------------------------------------- the state

    @property
    def images(self) -> list[Image]:
        """Every image, public and private, as the API would show it, by id."""
        with self._lock:
            self._settle()
            return [Image.model_validate(self._images[key]) for key in sorted(self._images)]

    @property
    def actions(self) -> list[Action]:
        """Every image action, by id."""
        with self._lock:
            self._settle()
            return [Action.model_validate(self._actions[key]) for key in sorted(self._actions)]

    def add_image(
        self,
        name: str,
        *,
        type: str = "snapshot",
        regions: list[str] | tuple[str, ...] = ("nyc3",),
        distribution: str = "Ubuntu",
        tags: list[str] | tuple[str, ...] = (),
        description: str = "",
        public: bool = False,
        slug: str | None = None,
        id: int | None = None,
    ) -> Image:
        """Add an image (a private snapshot unless told otherwise) and return it.

        ``id`` picks its id (it must be free); by default the next free one is used.
        ``slug`` only applies to a ``public`` image, as on the API.
        """
        if id is not None:
            check_int(id, "id", min=1)
        for region in regions:
            if region not in REGION_NAMES:
                raise ValueError(f"unknown region {region!r}")
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution {distribution!r} is not one the API knows")
        if type not in ("base", "snapshot", "backup", "custom", "admin"):
            raise ValueError(f"unknown image type {type!r}")
        with self._lock:
            if id is not None and id in self._images:
                raise ValueError(f"there is already an image with id {id}")
            image_id = self._new_image_id() if id is None else id
            image: dict[str, Any] = {
                "id": image_id,
                "name": name,
                "distribution": distribution,
                "slug": slug if public else None,
                "public": public,
                "regions": list(regions),
                "created_at": _iso(self.now),
                "type": type,
                "min_disk_size": 20,
                "size_gigabytes": 2.5,
                "description": description,
                "tags": list(tags),
                "status": "available",
                "error_message": "",
            }
            self._images[image_id] = image
            return Image.model_validate(image)

    def add_action(
        self,
        image_id: int,
        type: str = "transfer",
        *,
        region: str | None = None,
        status: str = "in-progress",
        id: int | None = None,
    ) -> Action:
        """Add an action to an image, as if it had been started; return it.

        An ``in-progress`` action finishes like any other as the clock advances; a
        ``completed`` transfer has already added ``region`` to the image, a completed
        convert has already made it a snapshot. ``region`` defaults to the image's first.
        """
        if type not in ("transfer", "convert"):
            raise ValueError(f"type must be 'transfer' or 'convert', got {type!r}")
        if status not in ("in-progress", "completed", "errored"):
            raise ValueError(f"status must be in-progress, completed or errored, got {status!r}")
        if id is not None:
            check_int(id, "id", min=1)
        with self._lock:
            image = self._images.get(image_id)
            if image is None:
                raise ValueError(f"there is no image with id {image_id}")
            if id is not None and id in self._actions:
                raise ValueError(f"there is already an action with id {id}")
            region = region or (image["regions"][0] if image["regions"] else "nyc3")
            if region not in REGION_NAMES:
                raise ValueError(f"unknown region {region!r}")
            pending = self._new_action(image, type, region, errored=status == "errored", id=id)
            if status != "in-progress":
                pending.due = self.clock()
                self._settle()
            assert pending.action is not None
            return Action.model_validate(pending.action)

    @property
    def requests(self) -> list[SandboxRequest]:
        """The requests seen so far (the last ``log_size``), oldest first."""
        with self._lock:
            return list(self._log)

    def count(self, method: str | None = None, operation: str | None = None) -> int:
        """How many requests arrived (of ``method`` and for ``operation``, if given).

        ``operation`` is the spec's operationId, such as ``"imageActions_post"``.
        """
        with self._lock:
            return sum(
                n
                for (seen_method, seen_operation), n in self._counts.items()
                if (method is None or seen_method == method.upper())
                and (operation is None or seen_operation == operation)
            )

    # ------------------------------------------------------------- the handler

    def handle(self, method: str, url: httpx.URL, headers: httpx.Headers, body: bytes) -> Reply:
        """Answer one HTTP request (the transports and the server call this)."""
        method = method.upper()
        with self._lock:
            self._settle()
            route = _route(url.raw_path)
            operation = _OPERATION_BY_METHOD.get((route.kind, method)) if route else None
            request_id = str(uuid.uuid4())
            try:
                status, payload, extra = self._dispatch(
                    method, url, headers, body, route, operation
                )
            except _Problem as problem:
                status, extra = problem.status, problem.headers
                payload = self._error_body(problem.status, problem.message)
            if payload is not None and status >= 400:
                payload["request_id"] = request_id
            reply_headers = self._headers(request_id, extra, has_body=payload is not None)
            content = b"" if payload is None else _json(payload)
            dropped = status < 400 and self._take_drop(method)
            self._counts[(method, operation)] += 1
            self._log.append(
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
                )
            )
            return Reply(status, reply_headers, content, dropped)

    def _dispatch(
        self,
        method: str,
        url: httpx.URL,
        headers: httpx.Headers,
        body: bytes,
        route: _Route | None,
        operation: str | None,
    ) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        # Order as on the real API: authentication, then the budget, then the request.
        if not self._authorized(headers.get("authorization")):
            raise _Problem(401)
        limited = self._spend()
        if limited is not None:
            return 429, self._error_body(429), limited
        fault = self._take_fault(method)
        if fault is not None:
            return fault.status, self._error_body(fault.status), dict(fault.headers)
        if route is None:
            raise _Problem(404)
        if operation is None:
            allowed = sorted(m for kind, m in _OPERATION_BY_METHOD if kind == route.kind)
            raise _Problem(
                405,
                f"{method} is not allowed here; use {', '.join(allowed)}.",
                {"allow": ", ".join(allowed)},
            )
        if len(body) > MAX_BODY:
            raise _Problem(413, "The request body is too large.")
        query = _Query(url.query.decode("ascii", errors="replace"))
        params = route.params
        if operation == "images_list":
            return 200, self._list_images(url, query), {}
        if operation == "images_create_custom":
            return 202, {"image": self._create_image(_json_object(body))}, {}
        image = self._find_image(params["image_id"], slug_ok=operation == "images_get")
        if operation == "images_get":
            return 200, {"image": dict(image)}, {}
        if operation == "imageActions_list":
            return 200, self._list_actions(url, query, image), {}
        if operation == "imageActions_get":
            action_id = _int_segment(params["action_id"])
            action = self._actions.get(action_id) if action_id is not None else None
            if action is None or action["resource_id"] != image["id"]:
                raise _Problem(404)
            return 200, {"action": dict(action)}, {}
        if image["public"]:
            raise _Problem(403)
        if operation == "images_update":
            return 200, {"image": self._update_image(image, _json_object(body))}, {}
        if operation == "images_delete":
            del self._images[image["id"]]
            return 204, None, {}
        # imageActions_post
        return 201, {"action": self._start_action(image, _json_object(body))}, {}

    def _authorized(self, value: str | None) -> bool:
        if value is None:
            return False
        scheme, _, token = value.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        return self._token is None or token == self._token

    def _spend(self) -> dict[str, str] | None:
        """Count one request against the budget; the ``retry-after`` header if none is left."""
        now = self.clock()
        if now >= self._window_end:
            self._remaining = self._limit
            self._window_end = now + RATE_WINDOW
        if self._remaining == 0:
            return {"retry-after": str(max(1, math.ceil(self._window_end - now)))}
        self._remaining -= 1
        return None

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method is None or fault.method == method:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _take_drop(self, method: str) -> bool:
        for drop in self._drops:
            if drop.method is None or drop.method == method:
                drop.times -= 1
                if drop.times == 0:
                    self._drops.remove(drop)
                return True
        return False

    def _headers(
        self, request_id: str, extra: Mapping[str, str], *, has_body: bool
    ) -> list[tuple[str, str]]:
        reset = self._start + timedelta(seconds=self._window_end)
        headers = [
            ("date", format_datetime(self.now, usegmt=True)),
            ("ratelimit-limit", str(self._limit)),
            ("ratelimit-remaining", str(self._remaining)),
            ("ratelimit-reset", str(math.ceil(reset.timestamp()))),
            ("x-request-id", request_id),
        ]
        if has_body:
            headers.append(("content-type", "application/json; charset=utf-8"))
        headers.extend((name.lower(), value) for name, value in extra.items())
        return headers

    @staticmethod
    def _error_body(status: int, message: str | None = None) -> dict[str, Any]:
        """The API's error body: ``{"id": "not_found", "message": ...}``."""
        if message is None:
            message = _MESSAGES.get(status)
        if message is None:
            try:
                message = HTTPStatus(status).phrase
            except ValueError:
                message = f"HTTP {status}"
        return {"id": _ERROR_IDS.get(status, "error"), "message": message}

    # -------------------------------------------------------------- progress

    def _settle(self) -> None:
        """Finish every action and import whose time has come."""
        if not self._pending:
            return
        now = self.clock()
        due = [item for item in self._pending if item.due <= now]
        if not due:
            return
        self._pending = [item for item in self._pending if item.due > now]
        for item in sorted(due, key=lambda item: item.due):
            finished = _iso(self._start + timedelta(seconds=item.due))
            image = self._images.get(item.image_id) if item.image_id is not None else None
            if item.action is None:
                # A custom image import.
                if image is not None:
                    image["status"] = "available"
                    image["regions"] = [item.region]
                    image["min_disk_size"] = 20
                    image["size_gigabytes"] = 2.34
                continue
            action = item.action
            action["completed_at"] = finished
            if item.errored:
                action["status"] = "errored"
                continue
            action["status"] = "completed"
            if image is None:
                continue
            if action["type"] == "transfer" and item.region not in image["regions"]:
                image["regions"] = [*image["regions"], item.region]
            elif action["type"] == "convert":
                image["type"] = "snapshot"

    # ------------------------------------------------------------ operations

    def _new_image_id(self) -> int:
        while self._next_image_id in self._images:
            self._next_image_id += 1
        image_id = self._next_image_id
        self._next_image_id += 1
        return image_id

    def _find_image(self, raw: str, *, slug_ok: bool) -> dict[str, Any]:
        image_id = _int_segment(raw)
        if image_id is not None:
            image = self._images.get(image_id)
        elif slug_ok:
            image = next(
                (i for i in self._images.values() if i["public"] and i["slug"] == raw), None
            )
        else:
            image = None
        if image is None:
            raise _Problem(404)
        return image

    def _list_images(self, url: httpx.URL, query: _Query) -> dict[str, Any]:
        kind = query.get("type")
        if kind not in (None, "distribution", "application"):
            raise _Problem(400, "type must be 'distribution' or 'application'.")
        private = query.get("private")
        if private not in (None, "true", "false"):
            raise _Problem(400, "private must be 'true' or 'false'.")
        tag = query.get("tag_name")
        images = [self._images[key] for key in sorted(self._images)]
        if kind == "distribution":
            images = [i for i in images if i["public"] and i["type"] == "base"]
        elif kind == "application":
            images = [i for i in images if i["public"] and i["type"] != "base"]
        if private == "true":
            images = [i for i in images if not i["public"]]
        if tag is not None:
            images = [i for i in images if tag in (i["tags"] or [])]
        return _paged(url, query, "images", images)

    def _list_actions(self, url: httpx.URL, query: _Query, image: dict[str, Any]) -> dict[str, Any]:
        actions = [
            self._actions[key]
            for key in sorted(self._actions)
            if self._actions[key]["resource_id"] == image["id"]
        ]
        return _paged(url, query, "actions", actions)

    def _create_image(self, body: dict[str, Any]) -> dict[str, Any]:
        name = _required_str(body, "name")
        url = _required_str(body, "url")
        region = _required_str(body, "region")
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError):
            parsed = None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
            raise _Problem(422, "url must be an http:// or https:// URL.")
        self._check_region(region)
        tags = body.get("tags")
        if tags is not None and (
            not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags)
        ):
            raise _Problem(422, "tags must be a list of tag names.")
        image_id = self._new_image_id()
        image: dict[str, Any] = {
            "id": image_id,
            "name": name,
            "distribution": _distribution(body.get("distribution", "Unknown")),
            "slug": None,
            "public": False,
            "regions": [],
            "created_at": _iso(self.now),
            "type": "custom",
            "min_disk_size": None,
            "size_gigabytes": None,
            "description": _optional_str(body, "description") or "",
            "tags": list(tags or []),
            "status": "NEW",
            "error_message": "",
        }
        self._images[image_id] = image
        self._pending.append(
            _Pending(due=self.clock() + self._import_seconds, image_id=image_id, region=region)
        )
        return dict(image)

    def _update_image(self, image: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        name = _optional_str(body, "name")
        if name is not None and not name.strip():
            raise _Problem(422, "name must not be empty.")
        description = _optional_str(body, "description")
        distribution = body.get("distribution")
        if distribution is not None:
            image["distribution"] = _distribution(distribution)
        if name is not None:
            image["name"] = name
        if description is not None:
            image["description"] = description
        return dict(image)

    def _check_region(self, region: str) -> None:
        if region not in REGION_NAMES:
            raise _Problem(422, f"{region} is not a valid region.")
        if region in RETIRED_REGIONS:
            raise _Problem(422, f"The region {region} is not available.")

    def _start_action(self, image: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("type")
        if kind not in ("transfer", "convert"):
            raise _Problem(422, "type must be 'transfer' or 'convert'.")
        if image["status"] != "available":
            raise _Problem(422, "The image is not available yet.")
        if kind == "transfer":
            region = _required_str(body, "region")
            self._check_region(region)
            if region in image["regions"]:
                raise _Problem(422, f"The image is already available in {region}.")
        else:
            if image["type"] != "backup":
                raise _Problem(422, "Only backups can be converted to snapshots.")
            region = image["regions"][0] if image["regions"] else "nyc3"
        errored = self._errored_actions > 0
        if errored:
            self._errored_actions -= 1
        pending = self._new_action(image, kind, region, errored=errored)
        assert pending.action is not None
        return dict(pending.action)

    def _new_action(
        self,
        image: dict[str, Any],
        kind: str,
        region: str,
        *,
        errored: bool,
        id: int | None = None,
    ) -> _Pending:
        """Record a new in-progress action that finishes ``action_seconds`` from now."""
        if id is None:
            while self._next_action_id in self._actions:
                self._next_action_id += 1
            id = self._next_action_id
            self._next_action_id += 1
        action_id = id
        action: dict[str, Any] = {
            "id": action_id,
            "status": "in-progress",
            "type": kind,
            "started_at": _iso(self.now),
            "completed_at": None,
            "resource_id": image["id"],
            "resource_type": "image",
            "region": region_object(region),
            "region_slug": region,
        }
        self._actions[action_id] = action
        pending = _Pending(
            due=self.clock() + self._action_seconds,
            action=action,
            image_id=image["id"],
            region=region,
            errored=errored,
        )
        self._pending.append(pending)
        return pending


# ------------------------------------------------------------------ helpers


class _Query:
    """The query string: the first value of each name, in order."""

    def __init__(self, raw: str) -> None:
        self.pairs = parse_qsl(raw, keep_blank_values=True)
        self._first: dict[str, str] = {}
        for name, value in self.pairs:
            self._first.setdefault(name, value)

    def get(self, name: str) -> str | None:
        return self._first.get(name)

    def positive_int(self, name: str, default: int, maximum: int | None = None) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        # Any size: a page far past the end is an empty page, not an error.
        value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4300 else None
        if value is None or value < 1 or (maximum is not None and value > maximum):
            bound = f"from 1 to {maximum}" if maximum is not None else "of at least 1"
            raise _Problem(400, f"{name} must be an integer {bound}.")
        return value


def _paged(url: httpx.URL, query: _Query, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of ``items`` with the API's ``links.pages`` and ``meta.total``."""
    per_page = query.positive_int("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    page = query.positive_int("page", 1)
    total = len(items)
    last = max(1, math.ceil(total / per_page))
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


def _int_segment(raw: str) -> int | None:
    """A decimal id as the API reads one from a path or query (ASCII digits only)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    return int(raw)


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise _Problem(400, "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise _Problem(400, "The request body must be a JSON object.")
    return value


def _required_str(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise _Problem(422, f"{name} is required.")
    if not isinstance(value, str) or not value.strip():
        raise _Problem(422, f"{name} must be a non-empty string.")
    return value


def _optional_str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _Problem(422, f"{name} must be a string.")
    return value


def _distribution(value: object) -> str:
    # The API stores an unknown distribution as "Unknown" rather than refusing it.
    if not isinstance(value, str):
        raise _Problem(422, "distribution must be a string.")
    return value if value in DISTRIBUTIONS else "Unknown"


def _check_seconds(value: object, name: str) -> None:
    check_positive_seconds(value, name, zero=True)


def _check_times(times: object) -> None:
    check_int(times, "times", min=1)
