"""``Sandbox``: an in-memory DigitalOcean Images API with a virtual clock and faults.

The facade: the store and the API's rules are ``_world.World``, the HTTP
protocol is ``_http.Front`` and the route table ``_routes``, the transports and the server
(``_transport``, ``_server``) call ``Sandbox.handle``. The clock and the state file are
``_facade.FacadeCore``; the faults (``_faults``) and the inventory helpers
(``_inventory``) are mixins over it that ``Sandbox`` composes.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any, TypeVar

import httpx

from .._checks import check_int
from .._client import AsyncClient, Client
from ._droplet_inventory import DropletInventory
from ._facade import check_seconds
from ._faults import Faults
from ._http import ACCOUNT_NAME, ACCOUNT_TOKEN_PREFIX, Front, Reply, SandboxRequest
from ._importer import fetch_failure
from ._inventory import Inventory, SandboxTransfer
from ._state import StateFile
from ._transport import SandboxTransport
from ._world import World
from ._world._core import DEFAULT_ACCOUNT, account_email, account_team, iso

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


class Sandbox(Faults, Inventory, DropletInventory):
    """An in-memory DigitalOcean Images API, for your tests and ours.

    It answers every operation of the Images API as the official spec describes, and
    the droplet, action and snapshot operations that snapshotting droplets needs,
    starting from seeded public distributions and applications, a few private
    snapshots, backups and custom images, and a few droplets. Time is virtual: actions
    and custom image imports finish when ``advance()`` (or a client's waiting) moves the
    clock past their duration. Faults can be queued: error statuses (``fail_next``), an
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
        snapshot_image_lag: float = 0.0,
    ) -> None:
        """Create a sandbox.

        ``token``: the only bearer token accepted (default: any non-empty one).
        ``start``: the virtual wall-clock time at creation (default: now, to the second).
        ``rate_limit``: requests per hour-long window. ``action_seconds`` /
        ``import_seconds``: how long actions and custom image imports take in virtual
        time. ``realtime``: the virtual clock also moves with real time (for a server
        people use by hand). ``seed``: start with the seeded images and droplets (else empty).
        ``log_size``: how many requests ``requests`` keeps. ``requests_per_minute``:
        like the API, answer 429 (with ``retry-after``) once more requests than this
        arrive in 60 s of the sandbox clock (default 250; ``None``: no such limit).
        ``state``: a JSON file that holds the images, actions and clock, read at the
        start (if it exists, it wins over ``start`` and ``seed``) and written
        atomically after every change, so the sandbox survives its process and
        several processes can share one file (each request holds a lock on
        ``PATH.lock`` where the platform has ``fcntl``). A file that is not a sandbox
        state raises ``SandboxStateError`` and is left untouched. Faults and the
        request log are not kept in it. ``snapshot_image_lag``: how many seconds after a
        droplet snapshot's action has completed its image shows (in ``/v2/images``, the
        droplet's snapshots and ``snapshot_ids``, ``/v2/snapshots``), as a listing that
        lags the completed action on the API does (default 0: at once).
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
        check_seconds(action_seconds, "action_seconds")
        check_seconds(import_seconds, "import_seconds")
        check_seconds(snapshot_image_lag, "snapshot_image_lag")
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
            snapshot_image_lag=float(snapshot_image_lag),
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

    # ------------------------------------------------------------- the handler

    def handle(self, method: str, url: httpx.URL, headers: httpx.Headers, body: bytes) -> Reply:
        """Answer one HTTP request (the transports and the server call this)."""
        with self._synced():
            return self._front.handle(method, url, headers, body)


class SandboxAccount:
    """One account of a sandbox (``Sandbox.account(name)``): who it is, and clients
    that act as it."""

    __slots__ = ("_sandbox", "email", "name", "team", "token")

    def __init__(self, sandbox: Sandbox, name: str, email: str, team: str, token: str) -> None:
        self._sandbox = sandbox
        self.name = name
        """The account's name in the sandbox."""
        self.email = email
        """Its email address: ``transfer_to_account(..., email=account.email)``."""
        self.team = team
        """Its team UUID: a transfer to it is accepted at once."""
        self.token = token
        """The bearer token that acts as this account (in-process and over ``serve()``)."""

    def __repr__(self) -> str:
        return f"<SandboxAccount {self.name!r} email={self.email!r}>"

    def client(self, **kwargs: Any) -> Client:
        """A ``Client`` acting as this account (``Sandbox.client``'s options)."""
        return self._sandbox.client(token=self.token, **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        """An ``AsyncClient`` acting as this account (``Sandbox.async_client``'s options)."""
        return self._sandbox.async_client(token=self.token, **kwargs)
