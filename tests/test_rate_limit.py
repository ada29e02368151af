"""``do.rate_limit`` under 200 concurrent requests, from threads and from asyncio tasks."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import httpx

from do_images import AsyncClient, Client, NotFoundError, RateLimit
from support import TOKEN, error_response, image_payload, json_response

CONCURRENCY = 200
RESET_BASE = 1_900_000_000


def numbered_response(number: int) -> httpx.Response:
    """Response ``number``: its three ``ratelimit-*`` values all derive from it."""
    headers = {
        "ratelimit_limit": str(10_000 + number),
        "ratelimit_remaining": str(number),
        "ratelimit_reset": str(RESET_BASE + number),
    }
    if number % 2:  # errors update the rate limit too
        return error_response(404, **headers)
    return json_response(200, {"image": image_payload()}, **headers)


def assert_consistent(rate_limit: RateLimit | None, sent: set[int]) -> None:
    """``rate_limit`` is exactly the triple of one response that was sent, not a mix."""
    assert rate_limit is not None
    number = rate_limit.remaining
    assert number in sent
    assert rate_limit.limit == 10_000 + number
    assert rate_limit.reset_at == datetime.fromtimestamp(RESET_BASE + number, tz=timezone.utc)


def call_ignoring_404(call: Callable[[], object]) -> None:
    with contextlib.suppress(NotFoundError):
        call()


def test_rate_limit_is_consistent_across_threads() -> None:
    """200 threads in flight at once leave ``rate_limit`` equal to one response's values."""
    counter = itertools.count()
    lock = threading.Lock()
    sent: set[int] = set()
    all_in_flight = threading.Barrier(CONCURRENCY, timeout=30)

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            number = next(counter)
            sent.add(number)
        all_in_flight.wait()
        return numbered_response(number)

    with (
        Client(TOKEN, transport=httpx.MockTransport(handler), max_retries=0) as do,
        ThreadPoolExecutor(CONCURRENCY) as pool,
    ):
        futures = [
            pool.submit(call_ignoring_404, lambda: do.image.info(7)) for _ in range(CONCURRENCY)
        ]
        for future in futures:
            future.result()
        assert len(sent) == CONCURRENCY
        assert_consistent(do.rate_limit, sent)


async def test_rate_limit_is_consistent_across_tasks() -> None:
    """200 asyncio tasks in flight at once leave ``rate_limit`` equal to one response's values."""
    sent: set[int] = set()
    all_in_flight = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        number = len(sent)
        sent.add(number)
        if len(sent) == CONCURRENCY:
            all_in_flight.set()
        await asyncio.wait_for(all_in_flight.wait(), timeout=30)
        return numbered_response(number)

    async def one(do: AsyncClient) -> None:
        with contextlib.suppress(NotFoundError):
            await do.image.info(7)

    async with AsyncClient(TOKEN, transport=httpx.MockTransport(handler), max_retries=0) as do:
        await asyncio.gather(*(one(do) for _ in range(CONCURRENCY)))
        assert len(sent) == CONCURRENCY
        assert_consistent(do.rate_limit, sent)
