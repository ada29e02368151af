"""The request budget: no 60 s window over the limit, callers wait instead of failing,
and nothing is sent while the API said the budget is spent."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from datetime import datetime, timezone
from email.utils import format_datetime

import httpx
import pytest

from do_images import AsyncClient, Client, RateLimitError
from do_images._budget import RequestBudget
from support import TOKEN, MakeDriver, image_payload, json_response

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def busiest_window(starts: list[float], width: float = 60.0) -> int:
    """The most starts in any half-open window ``[t, t + width)``."""
    ordered = sorted(starts)
    most, first = 0, 0
    for last, start in enumerate(ordered):
        while start - ordered[first] >= width:
            first += 1
        most = max(most, last - first + 1)
    return most


# ------------------------------------------------------------------ the budget


def test_the_first_slots_are_free_and_the_next_waits_for_the_window() -> None:
    """With 250 a minute, 250 requests start now and the 251st a minute later."""
    budget = RequestBudget(250, lambda: 100.0)
    waits = [budget.reserve()[0] for _ in range(251)]
    assert waits[:250] == [0.0] * 250
    assert waits[250] == 60.0


def test_reserved_slots_keep_every_window_within_the_limit() -> None:
    """Reservations made at once queue up: any 60 s holds at most the limit."""
    budget = RequestBudget(10, lambda: 0.0)
    starts = [budget.reserve()[0] for _ in range(95)]
    assert starts == sorted(starts)
    assert busiest_window(starts) == 10
    assert starts[-1] == 540.0  # the 95th: nine full minutes later


def test_threads_sharing_a_budget_never_overfill_a_window() -> None:
    """Eight threads reserving at once get slots that never put 11 in one minute."""
    budget = RequestBudget(10, lambda: 0.0)
    starts: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(25):
            wait, _ = budget.reserve()
            with lock:
                starts.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(starts) == 200
    assert busiest_window(starts) == 10


def test_no_limit_means_no_wait() -> None:
    """``per_minute=None`` hands out every slot at once."""
    budget = RequestBudget(None, lambda: 0.0)
    assert {budget.reserve() for _ in range(1000)} == {(0.0, None)}


def test_a_spent_budget_holds_every_request_until_the_reset() -> None:
    """After ``remaining: 0`` with the reset 30 s away, the next start waits 30 s."""
    now = [0.0]
    budget = RequestBudget(None, lambda: now[0])
    budget.spent_until(30.0, NOW)
    assert budget.reserve() == (30.0, None)
    now[0] = 31.0
    assert budget.reserve() == (0.0, None)


def test_a_reset_over_two_minutes_away_raises_without_reserving() -> None:
    """More than 120 s to wait: ``RateLimitError`` at once, with the wait and the reset."""
    budget = RequestBudget(5, lambda: 0.0)
    budget.spent_until(121.0, NOW)
    with pytest.raises(RateLimitError) as caught:
        budget.reserve()
    assert caught.value.retry_after == 121.0
    assert caught.value.reset_at == NOW
    budget.spent_until(None, None)  # a later response had requests left
    assert budget.reserve()[0] == 0.0


def test_the_window_counts_from_the_answer_of_a_slow_request() -> None:
    """A request answered 2 s after it started holds its slot until 62 s, not 60 s."""
    now = [0.0]
    budget = RequestBudget(1, lambda: now[0])
    wait, slot = budget.reserve()
    assert wait == 0.0
    now[0] = 2.0
    budget.finished(slot)  # the answer came at 2 s: the API may have counted it at 1.9 s
    assert budget.reserve()[0] == 60.0  # from now (2 s) to 62 s


# ------------------------------------------------------------ through clients


def limited_headers(remaining: int, reset_in: int) -> dict[str, str]:
    return {
        "ratelimit-limit": "5000",
        "ratelimit-remaining": str(remaining),
        "ratelimit-reset": str(int(NOW.timestamp()) + reset_in),
        "date": format_datetime(NOW, usegmt=True),
    }


def test_a_client_spreads_its_requests_over_the_minutes(make_driver: MakeDriver) -> None:
    """Twelve calls at 5 a minute: five now, five a minute later, two after that."""
    sent: list[float] = []
    harness: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock())
        return json_response(200, {"image": image_payload(7)})

    driver = make_driver(handler, requests_per_minute=5)
    clock = driver.time.clock
    harness.append(driver)
    for _ in range(12):
        driver.image.info(7)
    assert busiest_window(sent) == 5
    assert [t - sent[0] for t in sent] == [0] * 5 + [60] * 5 + [120] * 2


def test_the_reset_rule_through_a_client(make_driver: MakeDriver) -> None:
    """A success that spent the last request makes the next call wait for the reset."""
    answers = iter(
        [
            json_response(200, {"image": image_payload(7)}, limited_headers(0, 40)),
            json_response(200, {"image": image_payload(7)}, limited_headers(4999, 3600)),
        ]
    )
    driver = make_driver(lambda request: next(answers))
    driver.image.info(7)
    driver.image.info(7)
    assert driver.sleeps == [40.0]


def test_a_far_reset_raises_before_sending(make_driver: MakeDriver) -> None:
    """A reset 10 minutes away: the next call raises ``RateLimitError`` and sends nothing."""
    driver = make_driver(
        lambda request: json_response(200, {"image": image_payload(7)}, limited_headers(0, 600))
    )
    driver.image.info(7)
    with pytest.raises(RateLimitError, match="not sending"):
        driver.image.info(7)
    assert len(driver.requests) == 1


class OwnTimelines:
    """A fake clock per thread or task: each one's sleeps move only its own time.

    That is real time as each caller sees it: ``clock()`` is when this caller got
    here, so a request is recorded at the moment its sender woke up.
    """

    def __init__(self) -> None:
        self.time: contextvars.ContextVar[float] = contextvars.ContextVar("time", default=1000.0)

    def clock(self) -> float:
        return self.time.get()

    def sleep(self, seconds: float) -> None:
        self.time.set(self.time.get() + seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)


def test_threads_sharing_one_client_stay_within_the_limit() -> None:
    """Eight threads, 40 calls, 10 a minute: never more than 10 sent in any minute."""
    timelines = OwnTimelines()
    lock = threading.Lock()
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            sent.append(timelines.clock())
        return json_response(200, {"image": image_payload(7)})

    with Client(
        TOKEN,
        transport=httpx.MockTransport(handler),
        sleep=timelines.sleep,
        clock=timelines.clock,
        requests_per_minute=10,
    ) as do:

        def calls() -> None:
            for _ in range(5):
                do.image.info(7)

        threads = [threading.Thread(target=calls) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(sent) == 40
    assert busiest_window(sent) == 10
    assert max(sent) - min(sent) >= 180  # 40 requests need four minutes' windows


def test_tasks_sharing_one_client_stay_within_the_limit() -> None:
    """Thirty concurrent ``info()`` tasks at 10 a minute wait their turn; none fails."""
    timelines = OwnTimelines()
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(timelines.clock())
        return json_response(200, {"image": image_payload(7)})

    async def main() -> None:
        async with AsyncClient(
            TOKEN,
            transport=httpx.MockTransport(handler),
            sleep=timelines.async_sleep,
            clock=timelines.clock,
            requests_per_minute=10,
        ) as do:
            images = await asyncio.gather(*(do.image.info(7) for _ in range(30)))
        assert len(images) == 30

    asyncio.run(main())
    assert sorted(sent) == [1000.0] * 10 + [1060.0] * 10 + [1120.0] * 10


@pytest.mark.parametrize("value", [0, -1])
def test_requests_per_minute_is_checked(value: int) -> None:
    """``requests_per_minute`` is a positive int or ``None``."""
    with pytest.raises(ValueError, match="requests_per_minute"):
        Client(TOKEN, requests_per_minute=value)


# ------------------------------------------------------ the clients' own default


def test_a_default_client_starts_250_at_once_and_the_251st_waits(make_driver: MakeDriver) -> None:
    """No ``requests_per_minute`` given: the API's 250 a minute, on both clients.

    The server never says its budget is low, so only the client's own limit can hold
    the 251st request back: it waits out the window (60 s on the fake clock).
    """
    do = make_driver(lambda request: json_response(200, {"image": image_payload(7)}))
    started: list[float] = []
    for _ in range(251):
        do.image.info(7)
        started.append(do.now)
    assert started[:250] == [started[0]] * 250
    assert do.sleeps == [60.0]
    assert started[250] == started[0] + 60.0
    assert len(do.requests) == 251
