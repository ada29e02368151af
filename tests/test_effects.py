"""One scripted operation through both runners: the same effects give the same result."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from do_images._effects import AsyncRunner, Gather, Op, Sleep, SyncRunner


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
