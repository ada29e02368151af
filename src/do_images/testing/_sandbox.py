"""``Sandbox``: an in-memory DigitalOcean Images API with a virtual clock and faults.

The facade only: the store and the API's rules are ``_world.World``, the HTTP
protocol is ``_http.Front`` and the route table ``_routes``, the transports and the server
(``_transport``, ``_server``) call ``Sandbox.handle``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import httpx

from .._checks import check_int, check_positive_seconds
from .._client import AsyncClient, Client
from .._models import Action, Image
from ._accounts import SandboxAccount, SandboxTransfer
from ._http import ACCOUNT_NAME, ACCOUNT_TOKEN_PREFIX, Drop, Fault, Front, Reply, SandboxRequest
from ._importer import fetch_failure
from ._seed import DISTRIBUTIONS
from ._state import SandboxStateError, StateFile
from ._transport import SandboxTransport
from ._world import World
from ._world._actions import ACTION_STATUSES, ACTION_TYPES
from ._world._core import DEFAULT_ACCOUNT, account_email, account_team, iso
from ._world._images import IMAGE_STATUSES, IMAGE_TYPES
from ._world._regions import check_regions

__all__ = [
    "SANDBOX_BASE_URL",
    "SANDBOX_TOKEN",
    "Reply",
    "Sandbox",
    "SandboxAccount",
    "SandboxRequest",
    "SandboxTransfer",
]

_AnyClient = TypeVar("_AnyClient", Client, AsyncClient)

SANDBOX_TOKEN = "dop_v1_sandbox"
"""The token ``Sandbox.client()`` uses; any other non-empty token works too unless one is set."""

SANDBOX_BASE_URL = "https://sandbox.do-images.invalid"
"""The base URL of in-process clients (``.invalid`` never resolves: nothing can leave the host)."""


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
        requests_per_minute: int | None = 250,
        state: str | os.PathLike[str] | None = None,
    ) -> None:
        """Create a sandbox.

        ``token``: the only bearer token accepted (default: any non-empty one).
        ``start``: the virtual wall-clock time at creation (default: now, to the second).
        ``rate_limit``: requests per hour-long window. ``action_seconds`` /
        ``import_seconds``: how long actions and custom image imports take in virtual
        time. ``realtime``: the virtual clock also moves with real time (for a server
        people use by hand). ``seed``: start with the seeded images (else empty).
        ``log_size``: how many requests ``requests`` keeps. ``requests_per_minute``:
        like the API, answer 429 (with ``retry-after``) once more requests than this
        arrive in 60 s of the sandbox clock (default 250; ``None``: no such limit).
        ``state``: a JSON file that holds the images, actions and clock, read at the
        start (if it exists, it wins over ``start`` and ``seed``) and written
        atomically after every change, so the sandbox survives its process and
        several processes can share one file (each request holds a lock on
        ``PATH.lock`` where the platform has ``fcntl``). A file that is not a sandbox
        state raises ``SandboxStateError`` and is left untouched. Faults and the
        request log are not kept in it.
        """
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise ValueError("token must be a non-empty str or None")
        if start is None:
            start = datetime.now(timezone.utc).replace(microsecond=0)
        elif start.tzinfo is None:
            raise ValueError("start must be a timezone-aware datetime")
        check_int(rate_limit, "rate_limit", min=1)
        if requests_per_minute is not None:
            check_int(requests_per_minute, "requests_per_minute", min=1)
        _check_seconds(action_seconds, "action_seconds")
        _check_seconds(import_seconds, "import_seconds")
        self._lock = threading.RLock()
        self._start = start
        self._elapsed = 0.0
        self._realtime = realtime
        self._t0 = time.monotonic()
        self._world = World(
            start=start,
            clock=self.clock,
            action_seconds=float(action_seconds),
            import_seconds=float(import_seconds),
            seed=seed,
            fetch=fetch_failure,
        )
        self._front = Front(
            self._world,
            token=token.strip() if token is not None else None,
            rate_limit=rate_limit,
            requests_per_minute=requests_per_minute,
            log_size=log_size,
        )
        self._state = None if state is None else StateFile(state)
        if self._state is not None:
            with self._synced():
                pass  # read the file if there is one, else write the seeded state

    def __repr__(self) -> str:
        with self._lock:
            return f"<Sandbox images={len(self._world.images)} now={iso(self.now)!r}>"

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
        with self._synced():
            self._elapsed += float(seconds)
            self._world.settle()

    async def _async_advance(self, seconds: float) -> None:
        import asyncio  # here: a sync client (the command line's) never needs it

        self.advance(seconds)
        # Let other tasks run, as a real sleep would.
        await asyncio.sleep(0)

    # ------------------------------------------------------------- clients, I/O

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport answering from this sandbox, for ``Client(transport=...)``."""
        return SandboxTransport(self)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport answering from this sandbox, for ``AsyncClient(transport=...)``."""
        return SandboxTransport(self)

    def client(
        self,
        *,
        token: str = SANDBOX_TOKEN,
        base_url: str = SANDBOX_BASE_URL,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 2,
        user_agent: str | None = None,
        page_concurrency: int = 4,
        requests_per_minute: int | None = 250,
    ) -> Client:
        """A ``Client`` wired to this sandbox in-process; its waits advance the virtual clock."""
        return self._wired(
            Client,
            token=token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            user_agent=user_agent,
            page_concurrency=page_concurrency,
            requests_per_minute=requests_per_minute,
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
        requests_per_minute: int | None = 250,
    ) -> AsyncClient:
        """An ``AsyncClient`` wired to this sandbox; its waits advance the virtual clock."""
        return self._wired(
            AsyncClient,
            token=token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            user_agent=user_agent,
            page_concurrency=page_concurrency,
            requests_per_minute=requests_per_minute,
        )

    def _wired(self, kind: type[_AnyClient], **options: Any) -> _AnyClient:
        """A client of ``kind`` answered in-process by this sandbox, its waits and back-offs
        on the virtual clock: the wiring both factories share."""
        sleep: Any = self._async_advance if issubclass(kind, AsyncClient) else self.advance
        return kind(transport=SandboxTransport(self), sleep=sleep, clock=self.clock, **options)

    @contextlib.contextmanager
    def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls: bool = False,
        ca_file: str | os.PathLike[str] | None = None,
    ) -> Iterator[str]:
        """Serve this sandbox over HTTP on a loopback address; yield its base URL.

        ``port=0`` picks a free port. The server runs in a background thread and
        stops when the block ends. A dropped response closes the connection unanswered.
        Virtual time still moves only with ``advance()`` (pass ``sleep=sandbox.advance,
        clock=sandbox.clock`` to your client), unless the sandbox is ``realtime``.
        ``tls=True`` serves https (needs ``do-images[tls]``), with a certificate for
        127.0.0.1, ::1 and localhost from an authority made now, whose certificate (PEM,
        for your client to trust) is written to ``ca_file``.
        """
        from ._server import running, tls_file  # http.server and sockets, only when serving

        with running(self, host, port, tls_file(tls, ca_file)) as base_url:
            yield base_url

    def serve_forever(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ready: Callable[[str], object] | None = None,
        tls: bool = False,
        ca_file: str | os.PathLike[str] | None = None,
    ) -> None:
        """Serve over HTTP in this thread until interrupted (Ctrl-C); then stop and return.

        ``ready`` is called with the base URL once the server listens; ``tls`` and
        ``ca_file`` as for ``serve()``.
        """
        from ._server import serve_until_interrupted, tls_file

        serve_until_interrupted(self, host, port, ready, tls_file(tls, ca_file))

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
            self._front.faults.append(
                Fault(status, times, dict(headers or {}), method.upper() if method else None)
            )

    def drop_next(self, times: int = 1, *, method: str | None = None) -> None:
        """Make the change the next ``times`` requests ask for, then lose the response.

        In-process clients get an ``httpx.RemoteProtocolError``; over ``serve()`` the
        connection closes without an answer. Use it to check that a client does not
        repeat a ``POST`` whose outcome it never saw.
        """
        _check_times(times)
        with self._lock:
            self._front.drops.append(Drop(times, method.upper() if method else None))

    def garble_next(self, times: int = 1, *, method: str | None = None) -> None:
        """Answer the next ``times`` requests (of ``method``, if given) 200 with a body
        that is not JSON, as a misbehaving proxy in the API's place would.

        The request is carried out first (a POST's change is made), so a client must
        treat a garbled answer to a POST like a lost one, and one to a poll as a
        passing failure.
        """
        _check_times(times)
        with self._lock:
            self._front.drops.append(Drop(times, method.upper() if method else None, garble=True))

    def exhaust_rate_limit(self, reset_in: float = 60.0) -> None:
        """Use up the request budget; it refills ``reset_in`` virtual seconds from now."""
        _check_seconds(reset_in, "reset_in")
        with self._lock:
            self._front.remaining = 0
            self._front.window_end = self.clock() + float(reset_in)

    def fail_next_import(
        self,
        message: str = "We had a problem decompressing your file. Please try again.",
    ) -> None:
        """Make the next custom image import end ``deleted`` with ``message`` as its
        ``error_message``, when it would have become available, as DigitalOcean does."""
        if not isinstance(message, str) or not message.strip():
            raise ValueError("message must be a non-empty str")
        with self._lock:
            self._world.failed_imports.append(message)

    def error_next_action(self, times: int = 1) -> None:
        """Make the next ``times`` image actions end ``errored`` instead of ``completed``."""
        _check_times(times)
        with self._lock:
            self._world.errored_actions += times

    # ---------------------------------------------------------------- the state

    @property
    def images(self) -> list[Image]:
        """Every image, public and private, as the API would show it, by id."""
        with self._synced():
            self._world.settle()
            images = self._world.images
            return [Image.model_validate(images[key]) for key in sorted(images)]

    @property
    def actions(self) -> list[Action]:
        """Every image action, by id."""
        with self._synced():
            self._world.settle()
            actions = self._world.actions
            return [Action.model_validate(actions[key]) for key in sorted(actions)]

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
        created_at: datetime | None = None,
        status: str = "available",
        error_message: str = "",
    ) -> Image:
        """Add an image (a private, available snapshot unless told otherwise); return it.

        ``id`` picks its id (it must be free); by default the next free one is used.
        ``slug`` only applies to a ``public`` image, as on the API. ``created_at`` (an
        aware ``datetime``; default: the sandbox clock's now), ``status`` and
        ``error_message`` (a failed import is ``status="deleted"`` with one) let a
        retention test state its inventory directly.
        """
        if id is not None:
            check_int(id, "id", min=1)
        if created_at is not None and (
            not isinstance(created_at, datetime) or created_at.tzinfo is None
        ):
            raise ValueError("created_at must be a timezone-aware datetime")
        if status not in IMAGE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(IMAGE_STATUSES)}, got {status!r}")
        if not isinstance(error_message, str):
            raise TypeError("error_message must be a str")
        check_regions(regions)
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution {distribution!r} is not one the API knows")
        if type not in IMAGE_TYPES:
            raise ValueError(f"unknown image type {type!r}")
        with self._synced():
            image = self._world.add_image(
                image_id=id,
                name=name,
                distribution=distribution,
                slug=slug if public else None,
                public=public,
                regions=list(regions),
                type=type,
                description=description,
                tags=list(tags),
                created_at=None if created_at is None else iso(created_at),
                status=status,
                error_message=error_message,
            )
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
        if type not in ACTION_TYPES:
            raise ValueError(f"type must be 'transfer' or 'convert', got {type!r}")
        if status not in ACTION_STATUSES:
            raise ValueError(f"status must be in-progress, completed or errored, got {status!r}")
        if id is not None:
            check_int(id, "id", min=1)
        with self._synced():
            action = self._world.add_action(
                image_id, type, region=region, status=status, action_id=id
            )
            return Action.model_validate(action)

    def account(self, name: str = "default") -> SandboxAccount:
        """The sandbox account ``name``, made on first use; ``"default"`` is the one
        every other token acts as.

        Each account has its own private images and tags, an ``email`` and a
        ``team`` UUID to transfer images to, and a ``token`` to act as it (also over
        ``serve()``). A name is lowercase letters, digits, ``-`` and ``_``.
        """
        if not isinstance(name, str) or not ACCOUNT_NAME.fullmatch(name):
            raise ValueError(
                f"an account name is 1 to 40 lowercase letters, digits, '-' and '_', got {name!r}"
            )
        with self._synced():
            self._world.add_account(name)
            if name == DEFAULT_ACCOUNT:
                token = self._front.token or SANDBOX_TOKEN
            else:
                token = ACCOUNT_TOKEN_PREFIX + name
                self._front.account_tokens[token] = name
        return SandboxAccount(self, name, account_email(name), account_team(name), token)

    @property
    def accounts(self) -> list[SandboxAccount]:
        """Every account of the sandbox, the default one first: a seeded sandbox also has
        ``bob``, and an account is added when first used."""
        with self._synced():
            names = list(self._world.accounts)
        return [self.account(name) for name in names]

    @property
    def account_transfers(self) -> list[SandboxTransfer]:
        """Every account transfer of an image, oldest first, with its state."""
        with self._synced():
            return [
                SandboxTransfer(
                    id=t["id"],
                    image_id=t["image_id"],
                    sender=t["sender"],
                    recipient_email=t["recipient_email"],
                    recipient_team=t["recipient_uuid"],
                    state=t["state"],
                )
                for _, t in sorted(self._world.transfers.items())
            ]

    @property
    def requests(self) -> list[SandboxRequest]:
        """The requests seen so far (the last ``log_size``), oldest first."""
        with self._lock:
            return list(self._front.log)

    def count(self, method: str | None = None, operation: str | None = None) -> int:
        """How many requests arrived (of ``method`` and for ``operation``, if given).

        ``operation`` is the spec's operationId, such as ``"imageActions_post"``.
        """
        with self._lock:
            return sum(
                n
                for (seen_method, seen_operation), n in self._front.counts.items()
                if (method is None or seen_method == method.upper())
                and (operation is None or seen_operation == operation)
            )

    # ------------------------------------------------------------- the state file

    @contextlib.contextmanager
    def _synced(self) -> Iterator[None]:
        """Hold the lock; with a state file, also its lock, its latest content read
        first and the state written back after."""
        with self._lock:
            if self._state is None:
                yield
                return
            with self._state.locked():
                if self._state.changed():
                    data = self._state.read()
                    if data is not None:
                        self._load(data)
                yield
                # The clock is kept, not compared: a realtime sandbox's moves on its own,
                # and the file says when it was written, so a read changes nothing.
                self._state.write(
                    {
                        "start": iso(self._start),
                        "elapsed": self._elapsed,
                        "world": self._world.snapshot(),
                    },
                    clock=self.clock(),
                    saved_at=time.time(),
                )

    def _load(self, data: dict[str, Any]) -> None:
        assert self._state is not None
        try:
            start = datetime.fromisoformat(str(data["start"]).replace("Z", "+00:00"))
            saved = float(data["clock"])
            if self._realtime:  # the time the file lay unused counts too
                saved += max(0.0, time.time() - float(data["saved_at"]))
            self._world.restore(data["world"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SandboxStateError(
                f"{self._state.path} is a damaged sandbox state ({type(exc).__name__}: "
                f"{str(exc)[:200]}); it was left as it is"
            ) from None
        self._start = self._world.start = start
        # The clock never runs backwards: another process may have moved it further.
        self._elapsed += max(0.0, saved - self.clock())

    # ------------------------------------------------------------- the handler

    def handle(self, method: str, url: httpx.URL, headers: httpx.Headers, body: bytes) -> Reply:
        """Answer one HTTP request (the transports and the server call this)."""
        with self._synced():
            return self._front.handle(method, url, headers, body)


def _check_seconds(value: object, name: str) -> None:
    check_positive_seconds(value, name, zero=True)


def _check_times(times: object) -> None:
    check_int(times, "times", min=1)
