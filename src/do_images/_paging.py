"""Paging, in one place: following links safely, planning concurrent pages, pagers.

``collect`` gathers a whole list (concurrently once the first page says where the
rest are); ``Pager`` and ``AsyncPager`` walk one page at a time as the caller
iterates. Both fetch pages through a ``Fetch`` operation that the caller supplies,
so nothing here knows about sessions or models.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from ._constants import BUDGET_PER_REQUEST_IN_FLIGHT, MAX_PLANNED_PAGES
from ._effects import Gather, Op
from ._errors import ResponseValidationError
from ._models import (
    ActionPage,
    DropletPage,
    DropletSnapshotPage,
    ImagePage,
    RateLimit,
    RegionPage,
    SnapshotPage,
)

logger = logging.getLogger("do_images")

T = TypeVar("T")


@dataclass(slots=True)
class Page(Generic[T]):
    """The items of one page, where the next one is, and the list's size."""

    items: list[T]
    next_url: str | None
    total: int | None
    last_url: str | None = None
    latency: float | None = None
    """Seconds from sending the request to its answer, on the client's clock."""


Fetch = Callable[["str | httpx.URL"], Op[Page[T]]]
"""An operation that fetches the page at a URL."""


@dataclass(slots=True)
class PageWalk:
    """Follows ``links.pages.next`` safely: same origin and path, never a URL twice."""

    origin: httpx.URL
    seen: set[str] = field(default_factory=set)

    @classmethod
    def starting_at(cls, first_url: str) -> PageWalk:
        """A walk whose first URL (already fetched or about to be) is ``first_url``."""
        walk = cls(origin=httpx.URL(first_url))
        walk.admit(first_url)
        return walk

    def admit(self, url: str | httpx.URL | None) -> httpx.URL | None:
        """The next URL to fetch, ``None`` to stop; raise if the link leaves the API.

        The URL comes back parsed, so the request for it does not parse it again.
        """
        if url is None or (isinstance(url, str) and not url):
            return None
        if isinstance(url, httpx.URL):
            parsed, text = url, str(url)
        else:
            text = url
            try:
                parsed = httpx.URL(url)
            except (httpx.InvalidURL, ValueError):
                raise ResponseValidationError(
                    f"next page link {text[:200]!r} is not a URL"
                ) from None
        if not self.same_place(parsed):
            raise ResponseValidationError(
                f"next page link {text[:200]!r} leaves {self.origin.copy_with(query=None)}; "
                "not followed"
            )
        if text in self.seen:
            logger.warning("next page link %s was already fetched; stopping", text[:200])
            return None
        self.seen.add(text)
        return parsed

    def same_place(self, url: httpx.URL) -> bool:
        """Whether ``url`` has the first request's scheme, host, port and path."""
        origin = self.origin
        return (url.scheme, url.host, url.port, url.path) == (
            origin.scheme,
            origin.host,
            origin.port,
            origin.path,
        )


ListPage = (
    ImagePage | ActionPage | RegionPage | DropletPage | DropletSnapshotPage | SnapshotPage
)
"""A parsed page of any list the SDK reads."""


def _items(parsed: ListPage) -> list[Any]:
    if isinstance(parsed, ImagePage):
        return parsed.images
    if isinstance(parsed, ActionPage):
        return parsed.actions
    if isinstance(parsed, RegionPage):
        return parsed.regions
    if isinstance(parsed, DropletPage):
        return parsed.droplets
    return parsed.snapshots  # a droplet's snapshots, or /v2/snapshots


def page_of(parsed: ListPage) -> Page[Any]:
    """Reduce a parsed list envelope to items, next and last links, and total."""
    items = _items(parsed)
    links = parsed.links
    pages = links.pages if links is not None else None
    total = parsed.meta.total if parsed.meta is not None else None
    if pages is None:
        return Page(items=items, next_url=None, total=total)
    return Page(items=items, next_url=pages.next, total=total, last_url=pages.last)


def page_concurrency(limit: int, rate_limit: RateLimit | None) -> int:
    """How many pages to have in flight: ``limit``, fewer as the request budget runs low.

    One page in flight per ``BUDGET_PER_REQUEST_IN_FLIGHT`` requests left, and
    always at least one: with 250 left, two; below 200, one at a time, so a
    large list never burns the budget faster than a sequential walk would once
    it runs short. ``None`` (no rate-limit headers seen) does not limit.
    """
    if rate_limit is None:
        return limit
    return max(1, min(limit, rate_limit.remaining // BUDGET_PER_REQUEST_IN_FLIGHT))


@dataclass(frozen=True, slots=True)
class PagePlan:
    """The pages after the first: the server's next link with its ``page`` set to 2..last."""

    template: httpx.URL
    last: int

    def urls(self) -> list[httpx.URL]:
        """The URLs of pages 2 to ``last``, in order."""
        return [self.template.copy_set_param("page", n) for n in range(2, self.last + 1)]


def _page_number(url: httpx.URL) -> int | None:
    values = url.params.get_list("page")
    if len(values) != 1 or not values[0].isdigit() or len(values[0]) > 9:
        return None
    return int(values[0])


def _link(walk: PageWalk, link: str) -> httpx.URL | None:
    try:
        url = httpx.URL(link)
    except (httpx.InvalidURL, ValueError):
        return None
    return url if walk.same_place(url) else None


def plan_pages(walk: PageWalk, first: Page[Any]) -> PagePlan | None:
    """Where the rest of a list is, from its first page, or ``None``: follow the links.

    A plan needs all of: the total (``meta.total``); a ``next`` link on the first
    request's origin and path whose ``page`` parameter is 2; and the page count the
    total and the first page's size give, which the ``last`` link (if sent) must
    agree with, differing from ``next`` in nothing but ``page``. Anything else,
    and the list is walked link by link as before (where a link leaving the API
    is an error). The page URLs are the server's ``next`` link with ``page``
    replaced, so they carry exactly the filters the server echoed back.
    """
    if first.next_url is None or first.total is None or not first.items:
        return None
    template = _link(walk, first.next_url)
    if template is None or _page_number(template) != 2:
        return None
    last = -(-first.total // len(first.items))
    if not 2 <= last <= MAX_PLANNED_PAGES:
        return None
    if first.last_url is not None:
        last_link = _link(walk, first.last_url)
        if (
            last_link is None
            or _page_number(last_link) != last
            or last_link.copy_remove_param("page") != template.copy_remove_param("page")
        ):
            return None
    return PagePlan(template=template, last=last)


def collect(
    fetch: Fetch[T],
    first_url: str,
    concurrency: int,
    rate_limit: Callable[[], RateLimit | None],
    min_latency: float = 0.0,
) -> Op[list[T]]:
    """Every item of a list, in order.

    With ``concurrency`` above 1 and a first page that says where the rest are
    (``plan_pages``), the remaining pages are fetched together, up to
    ``page_concurrency()`` at a time (``rate_limit`` gives the latest budget); a
    page that fails fails the whole list. Otherwise, and after the planned pages if
    the last one still links on, the next links are followed one by one.

    A first page answered faster than ``min_latency`` seconds is from a server with
    nothing to wait for: concurrency could only add overhead (on threads, parsing
    holds the GIL), so the pages are walked one by one.
    """
    walk = PageWalk.starting_at(first_url)
    items: list[T] = []
    page: Page[T] = yield from fetch(first_url)
    items.extend(page.items)
    fast = page.latency is not None and page.latency < min_latency
    plan = plan_pages(walk, page) if concurrency > 1 and not fast else None
    if plan is not None:
        urls = [url for url in map(walk.admit, plan.urls()) if url is not None]
        pages: list[Page[T]] = yield Gather(
            [fetch(url) for url in urls],
            width=lambda: page_concurrency(concurrency, rate_limit()),
        )
        for page in pages:
            items.extend(page.items)
    url = walk.admit(page.next_url)
    while url is not None:
        page = yield from fetch(url)
        items.extend(page.items)
        url = walk.admit(page.next_url)
    return items


class Pager(Generic[T]):
    """A list fetched lazily, page by page, as you iterate (``for item in pager``).

    ``total`` is the server's count once the first page has arrived. Iterating again
    starts again from the first page.
    """

    def __init__(
        self, run: Callable[[Op[Page[T]]], Page[T]], fetch: Fetch[T], first_url: str
    ) -> None:
        self._run = run
        self._fetch = fetch
        self._first_url = first_url
        self.total: int | None = None

    def __iter__(self) -> Iterator[T]:
        walk = PageWalk.starting_at(self._first_url)
        url: str | httpx.URL | None = self._first_url
        while url is not None:
            page = self._run(self._fetch(url))
            self.total, items, next_url = page.total, page.items, page.next_url
            del page
            yield from items
            # Let go of this page before fetching the next: at most one page of
            # models (plus what the caller keeps) is held while the next arrives.
            del items
            url = walk.admit(next_url)


class AsyncPager(Generic[T]):
    """A list fetched lazily, page by page, as you iterate (``async for item in pager``).

    ``total`` is the server's count once the first page has arrived. Iterating again
    starts again from the first page.
    """

    def __init__(
        self,
        run: Callable[[Op[Page[T]]], Awaitable[Page[T]]],
        fetch: Fetch[T],
        first_url: str,
    ) -> None:
        self._run = run
        self._fetch = fetch
        self._first_url = first_url
        self.total: int | None = None

    async def __aiter__(self) -> AsyncIterator[T]:
        walk = PageWalk.starting_at(self._first_url)
        url: str | httpx.URL | None = self._first_url
        while url is not None:
            page = await self._run(self._fetch(url))
            self.total, items, next_url = page.total, page.items, page.next_url
            del page
            for item in items:
                yield item
            del items  # see Pager.__iter__
            url = walk.admit(next_url)
