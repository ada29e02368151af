"""``Client`` and ``AsyncClient``, and their ``do.image`` resources.

Each resource method is a thin wrapper: it builds the shared operation of
``_images`` and hands it to the client's runner (``_effects``), the only code that
sends requests or sleeps.
"""

from __future__ import annotations

import builtins
import os
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, ClassVar

import httpx

from ._checks import check_int, check_page_concurrency, check_user_agent, resolve_token
from ._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_PAGE_CONCURRENCY,
    DEFAULT_POLL,
    DEFAULT_REQUESTS_PER_MINUTE,
    DEFAULT_TIMEOUT,
    DEFAULT_WAIT_TIMEOUT,
    MAX_PER_PAGE,
)
from ._effects import AsyncRunner, AsyncSleep, SyncRunner, SyncSleep, asyncio_sleep
from ._images import ImageListType, ImageOps, OnUpdate
from ._models import Action, Image, RateLimit
from ._paging import AsyncPager, Pager
from ._retry import default_jitter
from ._session import Session


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


# ------------------------------------------------------------------------- sync


class ImageResource:
    """``do.image``: every operation of the Images API (sync).

    Every method also takes a keyword-only ``max_retries`` that replaces the
    client's for that one call (``None``: the client's).
    """

    def __init__(
        self, ops: ImageOps, run: SyncRunner, page_concurrency: int = DEFAULT_PAGE_CONCURRENCY
    ) -> None:
        self._ops = ops
        self._run = run
        self._page_concurrency = page_concurrency

    def list(
        self,
        type: ImageListType | None = None,
        private: bool | None = None,
        tag_name: str | None = None,
        *,
        max_retries: int | None = None,
    ) -> list[Image]:
        """Every image, all pages: ``GET /v2/images``.

        ``type`` filters ``"distribution"`` or ``"application"`` images,
        ``private=True`` lists your own images, ``tag_name`` those with a tag. The
        images come back in the API's order; any page that fails fails the call.
        Once the first page gives the total, the other pages may be fetched
        concurrently (the client's ``page_concurrency``).
        """
        return self._run(
            self._ops.with_retries(max_retries).list(
                type, private, tag_name, self._page_concurrency
            )
        )

    def iter(
        self,
        type: ImageListType | None = None,
        private: bool | None = None,
        tag_name: str | None = None,
        per_page: int = MAX_PER_PAGE,
        *,
        max_retries: int | None = None,
    ) -> Pager[Image]:
        """Images page by page as you iterate: ``GET /v2/images``."""
        first = self._ops.images_url(type, private, tag_name, per_page)
        return Pager(self._run, self._ops.with_retries(max_retries).image_page, first)

    def info(self, id_slug: int | str, *, max_retries: int | None = None) -> Image:
        """One image by id, or a public image by slug: ``GET /v2/images/{id or slug}``.

        Raises ``NotFoundError`` when there is no such image.
        """
        return self._run(self._ops.with_retries(max_retries).info(id_slug))

    def update(
        self,
        id: int,
        name: str | None = None,
        *,
        distribution: str | None = None,
        description: str | None = None,
        max_retries: int | None = None,
    ) -> Image:
        """Change an image's name, distribution or description: ``PUT /v2/images/{id}``.

        Only the fields given are sent.
        """
        return self._run(
            self._ops.with_retries(max_retries).update(id, name, distribution, description)
        )

    def destroy(self, id: int, *, max_retries: int | None = None) -> None:
        """Delete a snapshot, backup or custom image: ``DELETE /v2/images/{id}``."""
        self._run(self._ops.with_retries(max_retries).destroy(id))

    def create(
        self,
        name: str,
        url: str,
        region: str,
        *,
        distribution: str | None = None,
        description: str | None = None,
        tags: builtins.list[str] | None = None,
        max_retries: int | None = None,
    ) -> Image:
        """Import a custom image from ``url``: ``POST /v2/images``. It starts as ``NEW``.

        Raises ``UnknownOutcomeError`` when the request may have reached the API but
        no answer came back: it is not sent again, so no second image is imported.
        """
        return self._run(
            self._ops.with_retries(max_retries).create(
                name, url, region, distribution, description, tags
            )
        )

    def transfer(
        self,
        id: int,
        region: str,
        wait: bool = False,
        poll: float = DEFAULT_POLL,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        *,
        max_retries: int | None = None,
    ) -> Action:
        """Copy an image to ``region``: ``POST /v2/images/{id}/actions``.

        With ``wait=True``, returns once the action is completed; raises
        ``ActionFailedError`` or ``ActionTimeoutError`` otherwise. If the POST may have
        reached the API but got no answer, the action it started is looked up before
        the POST is sent once more; ``UnknownOutcomeError`` if that stays inconclusive.
        """
        return self._run(
            self._ops.with_retries(max_retries).transfer(id, region, wait, poll, timeout)
        )

    def convert(
        self,
        id: int,
        wait: bool = False,
        poll: float = DEFAULT_POLL,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        *,
        max_retries: int | None = None,
    ) -> Action:
        """Convert a backup to a snapshot: ``POST /v2/images/{id}/actions``."""
        return self._run(self._ops.with_retries(max_retries).convert(id, wait, poll, timeout))

    def action_list(self, id: int, *, max_retries: int | None = None) -> builtins.list[Action]:
        """Every action of an image, all pages: ``GET /v2/images/{id}/actions``."""
        return self._run(
            self._ops.with_retries(max_retries).action_list(id, self._page_concurrency)
        )

    def action_info(self, id: int, action_id: int, *, max_retries: int | None = None) -> Action:
        """One action: ``GET /v2/images/{id}/actions/{action_id}``."""
        return self._run(self._ops.with_retries(max_retries).action_info(id, action_id))

    def wait(
        self,
        action: Action,
        *,
        poll: float = DEFAULT_POLL,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        on_update: OnUpdate | None = None,
        max_retries: int | None = None,
    ) -> Action:
        """Poll ``action`` every ``poll`` seconds until it is completed; return it.

        Raises ``ActionFailedError`` if it errored and ``ActionTimeoutError`` (with
        the last state seen) after ``timeout`` seconds. ``on_update`` is called with
        the action after every poll.
        """
        return self._run(self._ops.with_retries(max_retries).wait(action, poll, timeout, on_update))


class Client:
    """The synchronous client: ``with Client() as do: do.image.list()``.

    The token comes from ``token``, else ``$DIGITALOCEAN_TOKEN``, else
    ``$DIGITALOCEAN_ACCESS_TOKEN``. ``sleep`` and ``clock`` replace ``time.sleep``
    and ``time.monotonic`` (tests, sandboxes); ``jitter`` returns the back-off
    factor in [0.75, 1] (random by default).

    ``page_concurrency`` (1 to 32, default 4) is how many pages ``list()`` and
    ``action_list()`` fetch at once, on threads, once the first page has given the
    total; it drops towards 1 as the rate-limit budget runs low, and 1 walks the
    pages one by one. ``requests_per_minute`` (default 250, the API's limit; ``None``
    turns it off) caps the requests this client starts in any 60 s, across all the
    threads that share it: a request waits for a free slot instead of drawing a 429.
    """

    _session_type: ClassVar[type[Session]] = Session
    """The request policy class (``legacy.DO`` uses one that keeps the JSON as sent)."""

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        user_agent: str | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: SyncSleep | None = None,
        clock: Callable[[], float] | None = None,
        jitter: Callable[[], float] | None = None,
        environ: Mapping[str, str] | None = None,
        page_concurrency: int = DEFAULT_PAGE_CONCURRENCY,
        requests_per_minute: int | None = DEFAULT_REQUESTS_PER_MINUTE,
    ) -> None:
        if http_client is not None and transport is not None:
            raise ValueError("pass http_client or transport, not both")
        page_concurrency = check_page_concurrency(page_concurrency)
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise TypeError("http_client must be an httpx.Client (use AsyncClient for async)")
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
        self._http = http_client or httpx.Client(transport=transport, follow_redirects=False)
        self.image = ImageResource(
            ImageOps(self._session), SyncRunner(self._http, sleep or time.sleep), page_concurrency
        )

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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} base_url={self.base_url!r}>"

    def __reduce__(self) -> Any:
        raise TypeError("a do_images client cannot be pickled (it holds a token)")


# ------------------------------------------------------------------------ async


class AsyncImageResource:
    """``do.image``: every operation of the Images API (async).

    Every method also takes a keyword-only ``max_retries`` that replaces the
    client's for that one call (``None``: the client's).
    """

    def __init__(
        self, ops: ImageOps, run: AsyncRunner, page_concurrency: int = DEFAULT_PAGE_CONCURRENCY
    ) -> None:
        self._ops = ops
        self._run = run
        self._page_concurrency = page_concurrency

    async def list(
        self,
        type: ImageListType | None = None,
        private: bool | None = None,
        tag_name: str | None = None,
        *,
        max_retries: int | None = None,
    ) -> list[Image]:
        """Every image, all pages: ``GET /v2/images``.

        ``type`` filters ``"distribution"`` or ``"application"`` images,
        ``private=True`` lists your own images, ``tag_name`` those with a tag. The
        images come back in the API's order; any page that fails fails the call.
        Once the first page gives the total, the other pages may be fetched
        concurrently (the client's ``page_concurrency``).
        """
        return await self._run(
            self._ops.with_retries(max_retries).list(
                type, private, tag_name, self._page_concurrency
            )
        )

    def iter(
        self,
        type: ImageListType | None = None,
        private: bool | None = None,
        tag_name: str | None = None,
        per_page: int = MAX_PER_PAGE,
        *,
        max_retries: int | None = None,
    ) -> AsyncPager[Image]:
        """Images page by page as you iterate: ``GET /v2/images``."""
        first = self._ops.images_url(type, private, tag_name, per_page)
        return AsyncPager(self._run, self._ops.with_retries(max_retries).image_page, first)

    async def info(self, id_slug: int | str, *, max_retries: int | None = None) -> Image:
        """One image by id, or a public image by slug: ``GET /v2/images/{id or slug}``.

        Raises ``NotFoundError`` when there is no such image.
        """
        return await self._run(self._ops.with_retries(max_retries).info(id_slug))

    async def update(
        self,
        id: int,
        name: str | None = None,
        *,
        distribution: str | None = None,
        description: str | None = None,
        max_retries: int | None = None,
    ) -> Image:
        """Change an image's name, distribution or description: ``PUT /v2/images/{id}``.

        Only the fields given are sent.
        """
        return await self._run(
            self._ops.with_retries(max_retries).update(id, name, distribution, description)
        )

    async def destroy(self, id: int, *, max_retries: int | None = None) -> None:
        """Delete a snapshot, backup or custom image: ``DELETE /v2/images/{id}``."""
        await self._run(self._ops.with_retries(max_retries).destroy(id))

    async def create(
        self,
        name: str,
        url: str,
        region: str,
        *,
        distribution: str | None = None,
        description: str | None = None,
        tags: builtins.list[str] | None = None,
        max_retries: int | None = None,
    ) -> Image:
        """Import a custom image from ``url``: ``POST /v2/images``. It starts as ``NEW``.

        Raises ``UnknownOutcomeError`` when the request may have reached the API but
        no answer came back: it is not sent again, so no second image is imported.
        """
        return await self._run(
            self._ops.with_retries(max_retries).create(
                name, url, region, distribution, description, tags
            )
        )

    async def transfer(
        self,
        id: int,
        region: str,
        wait: bool = False,
        poll: float = DEFAULT_POLL,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        *,
        max_retries: int | None = None,
    ) -> Action:
        """Copy an image to ``region``: ``POST /v2/images/{id}/actions``.

        With ``wait=True``, returns once the action is completed; raises
        ``ActionFailedError`` or ``ActionTimeoutError`` otherwise. If the POST may have
        reached the API but got no answer, the action it started is looked up before
        the POST is sent once more; ``UnknownOutcomeError`` if that stays inconclusive.
        """
        return await self._run(
            self._ops.with_retries(max_retries).transfer(id, region, wait, poll, timeout)
        )

    async def convert(
        self,
        id: int,
        wait: bool = False,
        poll: float = DEFAULT_POLL,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        *,
        max_retries: int | None = None,
    ) -> Action:
        """Convert a backup to a snapshot: ``POST /v2/images/{id}/actions``."""
        return await self._run(self._ops.with_retries(max_retries).convert(id, wait, poll, timeout))

    async def action_list(
        self, id: int, *, max_retries: int | None = None
    ) -> builtins.list[Action]:
        """Every action of an image, all pages: ``GET /v2/images/{id}/actions``."""
        return await self._run(
            self._ops.with_retries(max_retries).action_list(id, self._page_concurrency)
        )

    async def action_info(
        self, id: int, action_id: int, *, max_retries: int | None = None
    ) -> Action:
        """One action: ``GET /v2/images/{id}/actions/{action_id}``."""
        return await self._run(self._ops.with_retries(max_retries).action_info(id, action_id))

    async def wait(
        self,
        action: Action,
        *,
        poll: float = DEFAULT_POLL,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        on_update: OnUpdate | None = None,
        max_retries: int | None = None,
    ) -> Action:
        """Poll ``action`` every ``poll`` seconds until it is completed; return it.

        Raises ``ActionFailedError`` if it errored and ``ActionTimeoutError`` (with
        the last state seen) after ``timeout`` seconds. ``on_update`` is called with
        the action after every poll.
        """
        return await self._run(
            self._ops.with_retries(max_retries).wait(action, poll, timeout, on_update)
        )


class AsyncClient:
    """The asyncio client: ``async with AsyncClient() as do: await do.image.list()``.

    Takes the arguments of ``Client``; ``sleep`` is an async callable, and the
    pages of ``list()`` are fetched concurrently as tasks rather than threads.
    """

    _session_type: ClassVar[type[Session]] = Session

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        user_agent: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: AsyncSleep | None = None,
        clock: Callable[[], float] | None = None,
        jitter: Callable[[], float] | None = None,
        environ: Mapping[str, str] | None = None,
        page_concurrency: int = DEFAULT_PAGE_CONCURRENCY,
        requests_per_minute: int | None = DEFAULT_REQUESTS_PER_MINUTE,
    ) -> None:
        if http_client is not None and transport is not None:
            raise ValueError("pass http_client or transport, not both")
        page_concurrency = check_page_concurrency(page_concurrency)
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise TypeError("http_client must be an httpx.AsyncClient (use Client for sync)")
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
        self._http = http_client or httpx.AsyncClient(transport=transport, follow_redirects=False)
        self.image = AsyncImageResource(
            ImageOps(self._session),
            AsyncRunner(self._http, sleep or asyncio_sleep),
            page_concurrency,
        )

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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} base_url={self.base_url!r}>"

    def __reduce__(self) -> Any:
        raise TypeError("a do_images client cannot be pickled (it holds a token)")


__all__ = [
    "AsyncClient",
    "AsyncImageResource",
    "AsyncPager",
    "Client",
    "ImageResource",
    "Pager",
]
