"""``Client.list()`` fetches pages concurrently on threads, under AsyncClient's rules."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from do_images import Client, NotFoundError
from do_images._effects import Gather, Op, Sleep, SyncRunner
from support import BASE, TOKEN, FakeTime, image_payload, json_response

PAGE_SIZE = 2
PATIENCE = 5.0  # the longest a test thread waits for the others (only when broken)


def listing(pages: int) -> Callable[[int], httpx.Response]:
    """Page ``n`` of a list of ``pages`` pages of two images, with next/last links."""

    def respond(n: int) -> httpx.Response:
        ids = range((n - 1) * PAGE_SIZE + 1, n * PAGE_SIZE + 1)
        links: dict[str, str] = {}
        if n < pages:
            links["next"] = f"{BASE}/v2/images?page={n + 1}&per_page={PAGE_SIZE}"
            links["last"] = f"{BASE}/v2/images?page={pages}&per_page={PAGE_SIZE}"
        body = {
            "images": [image_payload(i) for i in ids],
            "links": {"pages": links},
            "meta": {"total": pages * PAGE_SIZE},
        }
        return json_response(200, body)

    return respond


class ThreadedServer:
    """A mock API called from the client's worker threads; counts requests in flight."""

    def __init__(
        self,
        respond: Callable[[int], httpx.Response],
        hold: Callable[[int], None] | None = None,
        latency: float = 0.02,
    ) -> None:
        self.respond = respond
        self.hold = hold
        self.latency = latency
        self.time = FakeTime()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.pages: list[int] = []
        self.finished: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        with self.lock:
            self.pages.append(number)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.hold is not None:
                self.hold(number)
            with self.lock:
                self.time.now += self.latency  # the server takes this long, on the fake clock
            return self.respond(number)
        finally:
            with self.lock:
                self.in_flight -= 1
                self.finished.append(number)

    def ids(self, **kwargs: Any) -> list[int]:
        time = self.time
        with Client(
            TOKEN,
            base_url=BASE,
            transport=httpx.MockTransport(self),
            sleep=time.sleep,
            clock=time.clock,
            **kwargs,
        ) as do:
            return [image.id for image in do.image.list()]


def test_pages_come_back_in_order_when_they_finish_out_of_order() -> None:
    """Images are in the API's order even when a later page answers first."""
    five_done = threading.Event()

    def hold(number: int) -> None:
        if number == 2:
            assert five_done.wait(PATIENCE)  # page 2 answers only after page 5

    def respond(number: int) -> httpx.Response:
        response = listing(5)(number)
        if number == 5:
            five_done.set()
        return response

    server = ThreadedServer(respond, hold)
    assert server.ids() == list(range(1, 11))
    assert server.finished.index(5) < server.finished.index(2)


@pytest.mark.parametrize("width", [2, 3, 4])
def test_in_flight_pages_reach_and_never_exceed_page_concurrency(width: int) -> None:
    """``width`` pages are in flight together (a barrier proves it), never more."""
    barrier = threading.Barrier(width, timeout=PATIENCE)

    def hold(number: int) -> None:
        if 2 <= number <= width + 1:
            barrier.wait()  # the first ``width`` planned pages all wait for each other

    server = ThreadedServer(listing(12), hold)
    assert server.ids(page_concurrency=width) == list(range(1, 25))
    assert server.most_in_flight == width


def test_the_default_is_four_pages_at_once() -> None:
    """``Client()`` fetches four pages at once, as ``AsyncClient`` does."""
    barrier = threading.Barrier(4, timeout=PATIENCE)

    def hold(number: int) -> None:
        if 2 <= number <= 5:
            barrier.wait()

    server = ThreadedServer(listing(9), hold)
    assert server.ids() == list(range(1, 19))
    assert server.most_in_flight == 4


def test_page_concurrency_one_uses_no_threads() -> None:
    """``page_concurrency=1`` walks the pages in order on the calling thread."""
    threads: set[str] = set()

    def hold(number: int) -> None:
        threads.add(threading.current_thread().name)

    server = ThreadedServer(listing(4), hold)
    assert server.ids(page_concurrency=1) == list(range(1, 9))
    assert server.pages == [1, 2, 3, 4]
    assert threads == {threading.current_thread().name}


def test_a_failed_page_fails_the_whole_list() -> None:
    """A page that keeps failing raises its error instead of giving a short list."""
    fine = listing(8)

    def respond(number: int) -> httpx.Response:
        if number == 3:
            return json_response(404, {"id": "not_found", "message": "gone"})
        return fine(number)

    server = ThreadedServer(respond)
    with pytest.raises(NotFoundError):
        server.ids()
    assert server.in_flight == 0


def test_a_low_budget_narrows_the_threads_too() -> None:
    """With 150 requests left, one page at a time, as on the async client."""
    fine = listing(6)

    def respond(number: int) -> httpx.Response:
        response = fine(number)
        response.headers.update(
            {"ratelimit-limit": "5000", "ratelimit-remaining": "150", "ratelimit-reset": "1"}
        )
        return response

    server = ThreadedServer(respond)
    assert server.ids() == list(range(1, 13))
    assert server.most_in_flight == 1


# ------------------------------------------------- the runner's Gather, directly


def test_a_failure_stops_the_running_operations_and_starts_no_more() -> None:
    """After one gathered operation fails, the others stop at their next effect and the
    ones not started never start."""
    failed = threading.Event()
    steps: dict[str, int] = {"b": 0, "c": 0}
    started: list[str] = []

    def failing() -> Op[None]:
        started.append("a")
        yield Sleep(0)
        failed.set()
        raise ValueError("page 3 is broken")

    def busy(name: str) -> Op[None]:
        started.append(name)
        for _ in range(1_000_000):
            yield Sleep(1)
            steps[name] += 1

    def later(name: str) -> Op[None]:
        started.append(name)
        yield Sleep(0)

    def parent() -> Op[list[Any]]:
        results: list[Any] = yield Gather(
            [failing(), busy("b"), busy("c"), later("d"), later("e")], width=lambda: 3
        )
        return results

    def sleep(seconds: float) -> None:
        if seconds:
            failed.wait(PATIENCE)  # the busy ones wait for the failure, then race on

    with httpx.Client() as http, pytest.raises(ValueError, match="page 3"):
        SyncRunner(http, sleep)(parent())
    # d and e were never started; b or c may not have started either, if the
    # failure came before a worker thread picked it up.
    assert {"a"} <= set(started) <= {"a", "b", "c"}
    assert steps["b"] < 1_000_000
    assert steps["c"] < 1_000_000


def test_a_fast_server_is_walked_one_page_at_a_time() -> None:
    """A first page answered in under 10 ms: threads would only add switching, so none."""
    threads: set[str] = set()

    def hold(number: int) -> None:
        threads.add(threading.current_thread().name)

    server = ThreadedServer(listing(6), hold, latency=0.001)
    assert server.ids() == list(range(1, 13))
    assert server.most_in_flight == 1
    assert server.pages == [1, 2, 3, 4, 5, 6]
    assert threads == {threading.current_thread().name}


def test_a_server_with_latency_gets_the_threads() -> None:
    """The same list from a server taking 20 ms a page is fetched four pages at once."""
    barrier = threading.Barrier(4, timeout=PATIENCE)

    def hold(number: int) -> None:
        if 2 <= number <= 5:
            barrier.wait()

    server = ThreadedServer(listing(6), hold, latency=0.02)
    assert server.ids() == list(range(1, 13))
    assert server.most_in_flight == 4
