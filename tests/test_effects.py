"""One scripted operation through both runners: the same effects give the same result."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest

from do_images._effects import AsyncRunner, Gather, Op, Sleep, SyncRunner, Work, asyncio_sleep


def answer(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/boom":
        raise httpx.ConnectError("refused", request=request)
    return httpx.Response(200, text=request.url.path)


def fetch(path: str) -> Op[str]:
    response: httpx.Response = yield httpx.Request("GET", f"https://example.test{path}")
    return response.text


def script(log: list[str]) -> Op[dict[str, Any]]:
    """Sleeps, sends, gathers, and recovers from a transport error thrown into it."""
    yield Sleep(1.5)
    first = yield from fetch("/first")
    gathered = yield Gather([fetch(f"/page/{n}") for n in range(1, 5)], width=lambda: 2)
    try:
        yield from fetch("/boom")
    except httpx.ConnectError as exc:
        log.append(f"caught {type(exc).__name__}")
    yield Sleep(0.5)
    return {"first": first, "gathered": gathered}


def failing_gather() -> Op[str]:
    try:
        yield Gather([fetch("/page/1"), fetch("/boom"), fetch("/page/3")], width=lambda: 1)
    except httpx.ConnectError:
        return "the gather's failure reached the operation"
    return "not reached"


def run_sync(op: Op[Any]) -> tuple[Any, list[float]]:
    sleeps: list[float] = []
    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        return SyncRunner(http, sleeps.append)(op), sleeps


def run_async(op: Op[Any]) -> tuple[Any, list[float]]:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def main() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            return await AsyncRunner(http, sleep)(op)

    return asyncio.run(main()), sleeps


RUNNERS = [run_sync, run_async]


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_script_gives_the_same_result_on_both_runners(runner: Any) -> None:
    """Requests, sleeps, a ``Gather`` (results in order) and a thrown error, on each runner."""
    log: list[str] = []
    result, sleeps = runner(script(log))
    assert result == {
        "first": "/first",
        "gathered": ["/page/1", "/page/2", "/page/3", "/page/4"],
    }
    assert sleeps == [1.5, 0.5]
    assert log == ["caught ConnectError"]


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_failure_inside_a_gather_is_thrown_into_the_operation(runner: Any) -> None:
    """The first failing operation of a ``Gather`` raises where the ``Gather`` was yielded."""
    result, _ = runner(failing_gather())
    assert result == "the gather's failure reached the operation"


def test_async_gather_never_exceeds_its_width() -> None:
    """At most ``width()`` operations are in flight at once, and all finish."""
    in_flight = 0
    peak = 0

    async def slow_sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    def op(n: int) -> Op[int]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        yield Sleep(0)
        yield Sleep(0)
        in_flight -= 1
        return n

    def parent() -> Op[list[int]]:
        results: list[int] = yield Gather([op(n) for n in range(10)], width=lambda: 3)
        return results

    async def main() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            return await AsyncRunner(http, slow_sleep)(parent())

    assert asyncio.run(main()) == list(range(10))
    assert peak == 3


def parse_later(log: list[str], seen: Any, width: int) -> Op[str]:
    """A page: its request, then its parsing as ``Work`` (which waits for ``seen``)."""

    def work(path: str) -> Op[str]:
        response: httpx.Response = yield httpx.Request("GET", f"https://example.test{path}")

        def parse() -> str:
            seen(path)
            log.append(f"parse {path}")
            return response.text.upper()

        parsed: str = yield Work(parse)
        return parsed

    results: list[str] = yield Gather([work(f"/p{n}") for n in (1, 2, 3)], width=lambda: width)
    return ",".join(results)


def test_sync_gather_starts_the_next_request_while_one_is_parsed() -> None:
    """Width 2 counts requests awaiting an answer: page 3 is sent while page 1 is parsed."""
    log: list[str] = []
    sent = {f"/p{n}": threading.Event() for n in (1, 2, 3)}

    def handler(request: httpx.Request) -> httpx.Response:
        log.append(f"send {request.url.path}")
        sent[request.url.path].set()
        return httpx.Response(200, text=request.url.path)

    def seen(path: str) -> None:
        # Pages 1 and 2 hold their parsing until page 3 is out: with the slots freed only
        # when an operation ends, page 3 could never start.
        if path != "/p3":
            assert sent["/p3"].wait(5), f"/p3 was not sent while {path} was parsed"

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        result = SyncRunner(http, lambda seconds: None)(parse_later(log, seen, 2))
    assert result == "/P1,/P2,/P3"
    assert log.index("send /p3") < min(log.index("parse /p1"), log.index("parse /p2"))


def test_async_gather_starts_the_next_request_while_one_is_parsed() -> None:
    """On the async runner the next page's request is sent before the previous page is parsed."""
    log: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        log.append(f"send {request.url.path}")
        return httpx.Response(200, text=request.url.path)

    async def main() -> str:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            return await AsyncRunner(http, asyncio_sleep)(parse_later(log, lambda path: None, 1))

    assert asyncio.run(main()) == "/P1,/P2,/P3"
    assert log.index("send /p2") < log.index("parse /p1")
    assert log.index("send /p3") < log.index("parse /p2")


def failing_work() -> Op[str]:
    def broken() -> str:
        raise ValueError("cannot parse")

    try:
        yield Work(broken)
    except ValueError as exc:
        return f"caught {exc}"
    return "not reached"


@pytest.mark.parametrize("runner", RUNNERS)
def test_work_gives_its_result_or_throws_its_error(runner: Any) -> None:
    """A ``Work`` effect returns its result, or raises its error in the operation (both runners)."""

    def computed() -> Op[int]:
        value: int = yield Work(lambda: 6 * 7)
        return value

    assert runner(computed())[0] == 42
    assert runner(failing_work())[0] == "caught cannot parse"


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_failed_work_in_a_gather_fails_the_gather(runner: Any) -> None:
    """A ``Work`` that raises inside a ``Gather`` raises out of the gather, on both runners."""

    def page(n: int) -> Op[str]:
        yield from fetch(f"/page/{n}")

        def parse() -> str:
            if n == 2:
                raise ValueError("page 2 does not parse")
            return str(n)

        parsed: str = yield Work(parse)
        return parsed

    def gathered() -> Op[str]:
        try:
            yield Gather([page(n) for n in range(1, 6)], width=lambda: 2)
        except ValueError as exc:
            return str(exc)
        return "not reached"

    assert runner(gathered())[0] == "page 2 does not parse"
