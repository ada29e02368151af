"""``Client`` and ``AsyncClient``, on one base, and their resources: ``do.image``,
``do.droplet`` and ``do.snapshot``.

Each resource method (``_resources``) is a thin wrapper: it builds the shared
operation and hands it to the client's runner (``_effects``), the only code that
sends requests or sleeps.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from ._checks import check_int, check_page_concurrency, check_user_agent, resolve_token
from ._effects import AsyncRunner, AsyncSleep, SyncRunner, SyncSleep, asyncio_sleep
from ._images import ImageOps
from ._models import RateLimit
from ._paging import AsyncPager, Pager
from ._resources._sync.images import ImageResource
from ._retry import default_jitter
from ._session import Session

if TYPE_CHECKING:
    from ._resources._async.droplets import AsyncDropletResource
    from ._resources._async.images import AsyncImageResource
    from ._resources._async.snapshots import AsyncSnapshotResource
    from ._resources._sync.droplets import DropletResource
    from ._resources._sync.snapshots import SnapshotResource


def _session(
    cls: type[Session] = Session,
    *,
    token: str | None,
    base_url: str,
    timeout: float | httpx.Timeout,
    max_retries: int,
    user_agent: str | None,
    clock: Callable[[], float] | None,
    jitter: Callable[[], float] | None,
    environ: Mapping[str, str] | None,
    requests_per_minute: int | None,
) -> Session:
    if requests_per_minute is not None:
        check_int(requests_per_minute, "requests_per_minute", min=1)
    return cls(
        token=resolve_token(token, os.environ if environ is None else environ),
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        user_agent=check_user_agent(user_agent),
        clock=clock or time.monotonic,
        jitter=jitter or default_jitter,
        requests_per_minute=requests_per_minute,
    )


# ------------------------------------------------------------------------- both


class _BaseClient:
    """What both clients share: the checks of their options, the session, and the
    read-only views of it. Each client adds its httpx client, runner and resources."""

    _session_type: ClassVar[type[Session]] = Session
    """The request policy class (``legacy.DO`` uses one that keeps the JSON as sent)."""
    _http_type: ClassVar[type[httpx.Client | httpx.AsyncClient]]
    """The httpx client class an ``http_client=`` must be."""
    _wrong_http: ClassVar[str]
    """What a ``TypeError`` says of an ``http_client`` of the other kind."""

    def __init__(
        self,
        token: str | None,
        *,
        base_url: str,
        timeout: float | httpx.Timeout,
        max_retries: int,
        user_agent: str | None,
        http_client: httpx.Client | httpx.AsyncClient | None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None,
        clock: Callable[[], float] | None,
        jitter: Callable[[], float] | None,
        environ: Mapping[str, str] | None,
        page_concurrency: int,
        requests_per_minute: int | None,
    ) -> None:
        if http_client is not None and transport is not None:
            raise ValueError("pass http_client or transport, not both")
        self._page_concurrency = check_page_concurrency(page_concurrency)
        if http_client is not None and not isinstance(http_client, self._http_type):
            raise TypeError(self._wrong_http)
        self._session = _session(
            self._session_type,
            token=token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            user_agent=user_agent,
            clock=clock,
            jitter=jitter,
            environ=environ,
            requests_per_minute=requests_per_minute,
        )
        self._owns_http = http_client is None

    @property
    def rate_limit(self) -> RateLimit | None:
        """The request budget from the last response (success or error), or ``None``."""
        return self._session.rate_limit

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return str(self._session.base_url)

    @property
    def clock(self) -> Callable[[], float]:
        """The monotonic clock waits are measured on (``clock=``, else ``time.monotonic``)."""
        return self._session.clock

    def __repr__(self) -> str:
        return f"<{type(self).__name__} base_url={self.base_url!r}>"

    def __reduce__(self) -> Any:
        raise TypeError("a do_images client cannot be pickled (it holds a token)")


# ------------------------------------------------------------------------- sync


class Client(_BaseClient):
    """The synchronous client: ``with Client() as do: do.image.list()``.

    Every call is a method of ``do.image``. Bad arguments raise ``ValueError`` or
    ``TypeError`` here, before any request. Testing hooks (``sleep``, ``clock``,
    ``jitter``, ``environ``) come last: programs leave them out, and
    ``Sandbox.client()`` sets them.

    :param token: the API token; else ``$DIGITALOCEAN_TOKEN``, else
        ``$DIGITALOCEAN_ACCESS_TOKEN`` (``MissingTokenError`` names both when none is set).
    :param base_url: the API's address: ``https://`` only, ``http://`` for loopback hosts
        (a served sandbox).
    :param timeout: seconds per request (connecting waits at most 5 s), or an
        ``httpx.Timeout``.
    :param max_retries: extra attempts after a retryable failure (429, 5xx, network
        errors); ``0`` turns retries off. A ``POST`` is repeated only when it provably
        was not acted on.
    :param user_agent: your tool's name and version, put before do_images' own.
    :param http_client: an ``httpx.Client`` to send through, used as is and not closed
        by ``close()``; not with ``transport``.
    :param transport: an httpx transport for the client's own pool (such as
        ``Sandbox.transport()``); not with ``http_client``.
    :param page_concurrency: how many pages ``list()`` and ``action_list()`` fetch at
        once (1 to 32), on threads, once the first page has given the total; it drops
        towards 1 as the rate-limit budget runs low, and 1 walks the pages one by one.
    :param requests_per_minute: the most requests this client starts in any 60 s,
        across all the threads that share it (the API's limit; ``None`` turns it off):
        a request waits for a free slot instead of drawing a 429.
    :param sleep: testing hook: replaces ``time.sleep`` (a sandbox's virtual clock).
    :param clock: testing hook: replaces ``time.monotonic``.
    :param jitter: testing hook: returns the back-off factor in [0.75, 1] (random by
        default).
    :param environ: testing hook: the environment the token is looked up in, instead
        of ``os.environ``.
    """

    _http_type = httpx.Client
    _wrong_http = "http_client must be an httpx.Client (use AsyncClient for async)"

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str = "https://api.digitalocean.com",
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 2,
        user_agent: str | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        page_concurrency: int = 4,
        requests_per_minute: int | None = 250,
        sleep: SyncSleep | None = None,
        clock: Callable[[], float] | None = None,
        jitter: Callable[[], float] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            user_agent=user_agent,
            http_client=http_client,
            transport=transport,
            clock=clock,
            jitter=jitter,
            environ=environ,
            page_concurrency=page_concurrency,
            requests_per_minute=requests_per_minute,
        )
        self._http = http_client or httpx.Client(transport=transport, follow_redirects=False)
        self._image_ops = ImageOps(self._session)
        self._runner = SyncRunner(self._http, sleep or time.sleep)
        self._image = ImageResource(self._image_ops, self._runner, self._page_concurrency)
        self._droplet: DropletResource | None = None
        self._snapshot: SnapshotResource | None = None

    @property
    def image(self) -> ImageResource:
        """The Images API: ``do.image.list()``, ``info``, ``transfer`` and every other call."""
        return self._image

    @property
    def droplet(self) -> DropletResource:
        """Droplets: ``do.droplet.list()``, their actions and snapshots, and
        ``do.droplet.snapshot(id)``, which returns the image it made."""
        if self._droplet is None:  # loaded on first use, as a command needs it
            from ._droplets import DropletOps
            from ._resources._sync.droplets import DropletResource

            self._droplet = DropletResource(
                DropletOps(self._image_ops), self._runner, self._page_concurrency
            )
        return self._droplet

    @property
    def snapshot(self) -> SnapshotResource:
        """``/v2/snapshots``: ``do.snapshot.list()``, ``info``, ``destroy``."""
        if self._snapshot is None:
            from ._resources._sync.snapshots import SnapshotResource
            from ._snapshots import SnapshotOps

            self._snapshot = SnapshotResource(
                SnapshotOps(self._image_ops), self._runner, self._page_concurrency
            )
        return self._snapshot

    def close(self) -> None:
        """Close the connection pool (not a caller-supplied ``http_client``)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# ------------------------------------------------------------------------ async


class AsyncClient(_BaseClient):
    """The asyncio client: ``async with AsyncClient() as do: await do.image.list()``.

    It takes the arguments of ``Client``; the pages of ``list()`` are fetched
    concurrently as tasks rather than threads, and ``sleep`` is an async callable.
    Testing hooks (``sleep``, ``clock``, ``jitter``, ``environ``) come last: programs
    leave them out, and ``Sandbox.async_client()`` sets them.

    :param token: the API token; else ``$DIGITALOCEAN_TOKEN``, else
        ``$DIGITALOCEAN_ACCESS_TOKEN`` (``MissingTokenError`` names both when none is set).
    :param base_url: the API's address: ``https://`` only, ``http://`` for loopback hosts
        (a served sandbox).
    :param timeout: seconds per request (connecting waits at most 5 s), or an
        ``httpx.Timeout``.
    :param max_retries: extra attempts after a retryable failure (429, 5xx, network
        errors); ``0`` turns retries off. A ``POST`` is repeated only when it provably
        was not acted on.
    :param user_agent: your tool's name and version, put before do_images' own.
    :param http_client: an ``httpx.AsyncClient`` to send through (such as
        ``httpx_aiohttp.HttpxAiohttpClient``), used as is and not closed by ``aclose()``;
        not with ``transport``.
    :param transport: an httpx async transport for the client's own pool (such as
        ``Sandbox.async_transport()``); not with ``http_client``.
    :param page_concurrency: how many pages ``list()`` and ``action_list()`` fetch at
        once (1 to 32), once the first page has given the total; it drops towards 1 as
        the rate-limit budget runs low, and 1 walks the pages one by one.
    :param requests_per_minute: the most requests this client starts in any 60 s,
        across all its tasks (the API's limit; ``None`` turns it off): a request waits
        for a free slot instead of drawing a 429.
    :param sleep: testing hook: an async callable that replaces ``asyncio.sleep``.
    :param clock: testing hook: replaces ``time.monotonic``.
    :param jitter: testing hook: returns the back-off factor in [0.75, 1] (random by
        default).
    :param environ: testing hook: the environment the token is looked up in, instead
        of ``os.environ``.
    """

    _http_type = httpx.AsyncClient
    _wrong_http = "http_client must be an httpx.AsyncClient (use Client for sync)"

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str = "https://api.digitalocean.com",
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 2,
        user_agent: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        page_concurrency: int = 4,
        requests_per_minute: int | None = 250,
        sleep: AsyncSleep | None = None,
        clock: Callable[[], float] | None = None,
        jitter: Callable[[], float] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            user_agent=user_agent,
            http_client=http_client,
            transport=transport,
            clock=clock,
            jitter=jitter,
            environ=environ,
            page_concurrency=page_concurrency,
            requests_per_minute=requests_per_minute,
        )
        from ._resources._async.images import AsyncImageResource  # not loaded by a sync client

        self._http = http_client or httpx.AsyncClient(transport=transport, follow_redirects=False)
        self._image_ops = ImageOps(self._session)
        self._runner = AsyncRunner(self._http, sleep or asyncio_sleep)
        self._image = AsyncImageResource(self._image_ops, self._runner, self._page_concurrency)
        self._droplet: AsyncDropletResource | None = None
        self._snapshot: AsyncSnapshotResource | None = None

    @property
    def image(self) -> AsyncImageResource:
        """The Images API: ``await do.image.list()``, ``info``, ``transfer`` and every other
        call."""
        return self._image

    @property
    def droplet(self) -> AsyncDropletResource:
        """Droplets: ``await do.droplet.list()``, their actions and snapshots, and
        ``await do.droplet.snapshot(id)``, which returns the image it made."""
        if self._droplet is None:  # loaded on first use
            from ._droplets import DropletOps
            from ._resources._async.droplets import AsyncDropletResource

            self._droplet = AsyncDropletResource(
                DropletOps(self._image_ops), self._runner, self._page_concurrency
            )
        return self._droplet

    @property
    def snapshot(self) -> AsyncSnapshotResource:
        """``/v2/snapshots``: ``await do.snapshot.list()``, ``info``, ``destroy``."""
        if self._snapshot is None:
            from ._resources._async.snapshots import AsyncSnapshotResource
            from ._snapshots import SnapshotOps

            self._snapshot = AsyncSnapshotResource(
                SnapshotOps(self._image_ops), self._runner, self._page_concurrency
            )
        return self._snapshot

    async def aclose(self) -> None:
        """Close the connection pool (not a caller-supplied ``http_client``)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


__all__ = ["AsyncClient", "AsyncPager", "Client", "ImageResource", "Pager"]
