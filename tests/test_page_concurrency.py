"""``AsyncClient`` lists fetch the pages after the first concurrently, bounded and in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from do_images import AsyncClient, Client, NotFoundError, RateLimit, ServerError
from do_images._checks import check_page_concurrency
from do_images._paging import Page, PageWalk, page_concurrency, plan_pages
from support import BASE, TOKEN, FakeTime, image_payload, json_response

FIRST = f"{BASE}/v2/images?per_page=2"
PAGE_SIZE = 2


def listing(
    pages: int,
    *,
    total: int | None = None,
    link: Callable[[int], str] | None = None,
    last: bool = True,
    headers: dict[str, str] | None = None,
) -> Callable[[int], httpx.Response]:
    """Page ``n`` (1-based) of a list of ``pages`` pages of two images each."""
    size = pages * PAGE_SIZE if total is None else total

    def make_link(n: int) -> str:
        return link(n) if link else f"{BASE}/v2/images?page={n}&per_page={PAGE_SIZE}"

    def respond(n: int) -> httpx.Response:
        ids = range((n - 1) * PAGE_SIZE + 1, min(n * PAGE_SIZE, size) + 1)
        links: dict[str, str] = {}
        if n < pages:
            links["next"] = make_link(n + 1)
            if last:
                links["last"] = make_link(pages)
        body = {
            "images": [image_payload(i) for i in ids],
            "links": {"pages": links},
            "meta": {"total": size},
        }
        return json_response(200, body, headers)

    return respond


class Server:
    """An async mock API that counts the requests in flight at once."""

    def __init__(
        self,
        respond: Callable[[int], httpx.Response],
        hold: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.respond = respond
        self.hold = hold
        self.in_flight = 0
        self.most_in_flight = 0
        self.pages: list[int] = []
        self.finished: list[int] = []
        # Each answer takes 20 ms on the client's fake clock: a server worth
        # fetching from concurrently (a faster one is walked page by page).
        self.time = FakeTime()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        self.pages.append(number)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            # Hand control to the event loop so that every request the client
            # has started is in flight together before any of them answers.
            for _ in range(5):
                await asyncio.sleep(0)
            if self.hold is not None:
                await self.hold(number)
            self.time.now += 0.02
            return self.respond(number)
        finally:
            self.in_flight -= 1
            self.finished.append(number)

    def client(self, **kwargs: Any) -> AsyncClient:
        return AsyncClient(
            TOKEN,
            base_url=BASE,
            transport=httpx.MockTransport(self),
            sleep=self.time.async_sleep,
            clock=self.time.clock,
            **kwargs,
        )


async def list_ids(server: Server, **kwargs: Any) -> list[int]:
    async with server.client(**kwargs) as do:
        images = await do.image.list()
    return [image.id for image in images]


async def test_pages_come_back_in_order_when_they_finish_out_of_order() -> None:
    """Images are in the API's order even when later pages answer first."""
    last_done = asyncio.Event()

    async def hold(number: int) -> None:
        if number == 2:
            await last_done.wait()  # page 2 answers only after page 5 has

    def respond(number: int) -> httpx.Response:
        if number == 5:
            last_done.set()
        return listing(5)(number)

    server = Server(respond, hold)
    assert await list_ids(server) == list(range(1, 11))
    assert server.finished.index(5) < server.finished.index(2)


async def test_in_flight_pages_never_exceed_page_concurrency() -> None:
    """With ``page_concurrency=3``, three pages are fetched at once and never more."""
    server = Server(listing(12))
    assert await list_ids(server, page_concurrency=3) == list(range(1, 25))
    assert server.most_in_flight == 3


async def test_default_page_concurrency_is_four() -> None:
    """Without ``page_concurrency``, four pages are in flight at most."""
    server = Server(listing(12))
    await list_ids(server)
    assert server.most_in_flight == 4


async def test_page_concurrency_one_walks_the_links_one_by_one() -> None:
    """``page_concurrency=1`` fetches one page at a time, in order."""
    server = Server(listing(6))
    assert await list_ids(server, page_concurrency=1) == list(range(1, 13))
    assert server.most_in_flight == 1
    assert server.pages == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [("4816", 4), ("250", 2), ("199", 1), ("0", 1)],
)
async def test_a_low_rate_limit_budget_slows_the_fetching_down(
    remaining: str, expected: int
) -> None:
    """Fewer pages are in flight as ``ratelimit-remaining`` runs low (one per 100 left)."""
    headers = {
        "ratelimit-limit": "5000",
        "ratelimit-remaining": remaining,
        "ratelimit-reset": "1444931833",
    }
    server = Server(listing(12, headers=headers))
    assert await list_ids(server) == list(range(1, 25))
    assert server.most_in_flight == expected


async def test_a_failed_page_fails_the_whole_list() -> None:
    """A page that keeps failing raises its error instead of returning a short list."""

    def respond(number: int) -> httpx.Response:
        if number == 3:
            return json_response(404, {"id": "not_found", "message": "gone"})
        return listing(8)(number)

    server = Server(respond)
    with pytest.raises(NotFoundError):
        await list_ids(server)


async def test_a_failed_page_cancels_the_pages_still_in_flight() -> None:
    """Once a page has failed, the pages in flight are cancelled and no new one starts."""
    release = asyncio.Event()

    async def hold(number: int) -> None:
        if number > 2:
            await release.wait()  # never set: only pages 1 and 2 ever answer

    def respond(number: int) -> httpx.Response:
        return json_response(500, {"id": "server_error", "message": "boom"})

    first = listing(20)
    server = Server(lambda n: first(n) if n == 1 else respond(n), hold)
    with pytest.raises(ServerError):
        await list_ids(server, max_retries=0)
    assert sorted(server.pages) == [1, 2, 3, 4, 5]
    assert server.in_flight == 0


async def test_a_failed_page_is_retried_like_any_request() -> None:
    """A page answered with a 503 once is sent again and the list is complete."""
    failed: set[int] = set()

    def respond(number: int) -> httpx.Response:
        if number == 4 and number not in failed:
            failed.add(number)
            return json_response(503, {"id": "unavailable", "message": "later"})
        return listing(6)(number)

    server = Server(respond)
    assert await list_ids(server) == list(range(1, 13))
    assert server.pages.count(4) == 2


async def test_links_without_page_numbers_are_walked_one_by_one() -> None:
    """Cursor links (no ``page`` parameter) fall back to following ``next`` in order."""
    respond = listing(5, link=lambda n: f"{BASE}/v2/images?per_page=2&page_token=t{n}")
    tokens: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        tokens.append(request.url.params.get("page_token", "t1"))
        return respond(int(tokens[-1][1:]))

    async with AsyncClient(TOKEN, base_url=BASE, transport=httpx.MockTransport(handler)) as do:
        images = await do.image.list()
    assert [image.id for image in images] == list(range(1, 11))
    assert tokens == ["t1", "t2", "t3", "t4", "t5"]


async def test_a_list_that_grows_while_listing_is_followed_to_its_end() -> None:
    """If the last planned page still links on, the walk continues from its next link."""
    planned = listing(3)
    grown = listing(5)

    def respond(number: int) -> httpx.Response:
        return planned(number) if number == 1 else grown(number)

    server = Server(respond)
    assert await list_ids(server) == list(range(1, 11))
    assert server.pages[:1] == [1]
    assert sorted(server.pages) == [1, 2, 3, 4, 5]


async def test_sync_client_with_page_concurrency_one_walks_the_links() -> None:
    """``Client(page_concurrency=1).list()`` fetches one page after another, following ``next``."""
    respond = listing(4)
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(int(request.url.params.get("page", "1")))
        return respond(seen[-1])

    transport = httpx.MockTransport(handler)
    with Client(TOKEN, base_url=BASE, transport=transport, page_concurrency=1) as do:
        assert [image.id for image in do.image.list()] == list(range(1, 9))
    assert seen == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("value", "error"),
    [(0, ValueError), (33, ValueError), (-1, ValueError), (True, TypeError), ("4", TypeError)],
)
def test_page_concurrency_is_checked_at_construction(value: object, error: type[Exception]) -> None:
    """A ``page_concurrency`` that is not an int from 1 to 32 is refused before any request."""
    with pytest.raises(error, match="page_concurrency"):
        AsyncClient(TOKEN, base_url=BASE, page_concurrency=value)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the I/O-free plan


def first_page(
    count: int = 2,
    total: int | None = 10,
    next_url: str | None = f"{BASE}/v2/images?page=2&per_page=2",
    last_url: str | None = f"{BASE}/v2/images?page=5&per_page=2",
) -> Page[Any]:
    return Page(items=list(range(count)), next_url=next_url, total=total, last_url=last_url)


def walk() -> PageWalk:
    return PageWalk(origin=httpx.URL(FIRST))


def test_plan_lists_the_remaining_pages_from_the_next_link() -> None:
    """Pages 2..last are the server's next link with ``page`` replaced."""
    plan = plan_pages(walk(), first_page())
    assert plan is not None
    assert [str(url) for url in plan.urls()] == [
        f"{BASE}/v2/images?page={n}&per_page=2" for n in range(2, 6)
    ]


def test_plan_without_a_last_link_counts_pages_from_the_total() -> None:
    """With no ``last`` link, the page count is the total over the first page's size."""
    plan = plan_pages(walk(), first_page(total=9, last_url=None))
    assert plan is not None
    assert plan.last == 5


@pytest.mark.parametrize(
    "page",
    [
        first_page(total=None),
        first_page(next_url=None),
        first_page(count=0),
        first_page(total=12),
        first_page(next_url=f"{BASE}/v2/images?page=3&per_page=2"),
        first_page(next_url=f"{BASE}/v2/images?cursor=abc&per_page=2"),
        first_page(next_url=f"{BASE}/v2/images?page=2&page=2&per_page=2"),
        first_page(next_url="https://evil.example/v2/images?page=2&per_page=2"),
        first_page(next_url=f"{BASE}/v2/droplets?page=2&per_page=2"),
        first_page(last_url="https://evil.example/v2/images?page=5&per_page=2"),
        first_page(last_url=f"{BASE}/v2/images?page=5&per_page=2&type=application"),
        first_page(count=1, total=10**7, last_url=None),
    ],
    ids=[
        "no-total",
        "no-next",
        "empty-first-page",
        "total-disagrees-with-last",
        "next-is-not-page-2",
        "cursor-link",
        "page-twice",
        "next-off-origin",
        "next-other-path",
        "last-off-origin",
        "last-other-filters",
        "too-many-pages",
    ],
)
def test_no_plan_unless_the_links_have_the_expected_shape(page: Page[Any]) -> None:
    """Anything but a consistent total and page-numbered links on our origin walks the links."""
    assert plan_pages(walk(), page) is None


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [(None, 4), (5000, 4), (400, 4), (399, 3), (250, 2), (199, 1), (0, 1)],
)
def test_concurrency_follows_the_remaining_budget(remaining: int | None, expected: int) -> None:
    """One page in flight per 100 requests left in the budget, between 1 and the limit."""
    from datetime import datetime, timezone

    rate_limit = (
        None
        if remaining is None
        else RateLimit(
            limit=5000, remaining=remaining, reset_at=datetime(2026, 1, 1, tzinfo=timezone.utc)
        )
    )
    assert page_concurrency(4, rate_limit) == expected


def test_check_page_concurrency_accepts_one_to_thirty_two() -> None:
    """Both bounds are valid values."""
    assert [check_page_concurrency(1), check_page_concurrency(32)] == [1, 32]
