"""Interruptions reach the operation: a Ctrl-C or a cancellation during a runner's own I/O
is thrown into the operation, which can run a shielded cleanup and re-raise, on both
runners; a stopped ``Gather`` wakes its sleeping workers at once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from do_images._effects import (
    AsyncRunner,
    Blocking,
    CleanupTimeoutError,
    Gather,
    GatherStopped,
    Op,
    Sleep,
    SyncRunner,
    Work,
    shielded,
)

URL = "https://example.test"


class World:
    """What one run saw: the paths sent, the sleeps asked for, a virtual clock, and the
    moments to interrupt (``interrupt_at``: a path, or ``"sleep"``)."""

    def __init__(self, *, interrupt_at: tuple[str, ...] = ()) -> None:
        self.sent: list[str] = []
        self.slept: list[float] = []
        self.now = 0.0
        self.interrupt_at = list(interrupt_at)
        self.log: list[str] = []

    def clock(self) -> float:
        return self.now

    def due(self, what: str) -> bool:
        if self.interrupt_at and self.interrupt_at[0] == what:
            self.interrupt_at.pop(0)
            return True
        return False


def get(path: str) -> Op[str]:
    response: httpx.Response = yield httpx.Request("GET", URL + path)
    return response.text


def cleanup(log: list[str]) -> Op[None]:
    yield from get("/cleanup/1")
    yield from get("/cleanup/2")
    log.append("cleanup ended")


def guarded(world: World, work: Callable[[], Op[Any]]) -> Op[str]:
    """The pattern of the module docstring: on any interruption, a shielded cleanup."""
    try:
        yield from work()
    except BaseException as exc:
        world.log.append(f"caught {type(exc).__name__}")
        yield from shielded(cleanup(world.log), seconds=30, clock=world.clock)
        raise
    return "done"


def run_sync(world: World, op: Op[Any]) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        world.sent.append(request.url.path)
        if world.due(request.url.path):
            raise KeyboardInterrupt  # Ctrl-C while the request is on its way
        return httpx.Response(200, text=request.url.path)

    def sleep(seconds: float) -> None:
        world.slept.append(seconds)
        world.now += seconds
        if world.due("sleep"):
            raise KeyboardInterrupt

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        return SyncRunner(http, sleep)(op)


def run_async(world: World, op: Op[Any]) -> Any:
    async def main() -> Any:
        task = asyncio.current_task()
        assert task is not None

        async def interrupt() -> None:
            task.cancel()  # a real cancellation of the task running the operation
            await asyncio.sleep(0)

        async def answer(request: httpx.Request) -> httpx.Response:
            world.sent.append(request.url.path)
            if world.due(request.url.path):
                await interrupt()
            return httpx.Response(200, text=request.url.path)

        async def sleep(seconds: float) -> None:
            world.slept.append(seconds)
            world.now += seconds
            if world.due("sleep"):
                await interrupt()

        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            return await AsyncRunner(http, sleep)(op)

    return asyncio.run(main())


RUNNERS = {"sync": (run_sync, KeyboardInterrupt), "async": (run_async, asyncio.CancelledError)}


@pytest.fixture(params=sorted(RUNNERS))
def runner(request: pytest.FixtureRequest) -> tuple[Callable[[World, Op[Any]], Any], type]:
    """Each test runs on the sync runner (Ctrl-C) and on the async one (cancellation)."""
    found: tuple[Callable[[World, Op[Any]], Any], type] = RUNNERS[request.param]
    return found


def polls(world: World) -> Op[None]:
    yield from get("/work")
    yield Sleep(10)
    yield from get("/poll")


@pytest.mark.parametrize("moment", ["sleep", "/work", "/poll"])
def test_an_interruption_during_io_is_thrown_into_the_operation(
    runner: tuple[Callable[[World, Op[Any]], Any], type], moment: str
) -> None:
    """Interrupted while sleeping or sending, the operation catches it, cleans up with
    requests of its own, and the interruption then leaves the runner as it was."""
    run, interruption = runner
    world = World(interrupt_at=(moment,))
    with pytest.raises(interruption):
        run(world, guarded(world, lambda: polls(world)))
    assert world.log == [f"caught {interruption.__name__}", "cleanup ended"]
    assert world.sent[-2:] == ["/cleanup/1", "/cleanup/2"]


def test_an_operation_that_does_not_catch_it_ends_with_it(
    runner: tuple[Callable[[World, Op[Any]], Any], type],
) -> None:
    """No cleanup asked for: the interruption passes through, and nothing more is sent."""
    run, interruption = runner
    world = World(interrupt_at=("sleep",))
    with pytest.raises(interruption):
        run(world, polls(world))
    assert world.sent == ["/work"]


def test_a_further_cancellation_waits_for_the_shielded_cleanup() -> None:
    """Async: cancelled again while the cleanup runs, the cleanup still sends both its
    requests; the cancellation is delivered once it has ended."""
    world = World(interrupt_at=("sleep", "/cleanup/1"))
    with pytest.raises(asyncio.CancelledError):
        run_async(world, guarded(world, lambda: polls(world)))
    assert world.sent == ["/work", "/cleanup/1", "/cleanup/2"]
    assert world.log == ["caught CancelledError", "cleanup ended"]


def test_a_second_ctrl_c_stops_the_cleanup() -> None:
    """Sync: a person pressing Ctrl-C twice means it: the cleanup stops at once."""
    world = World(interrupt_at=("sleep", "/cleanup/1"))
    with pytest.raises(KeyboardInterrupt):
        run_sync(world, guarded(world, lambda: polls(world)))
    assert world.sent == ["/work", "/cleanup/1"]
    assert world.log == ["caught KeyboardInterrupt"]


def endless_cleanup(world: World) -> Op[None]:
    for _ in range(1000):  # as good as endless: the bound must stop it long before
        yield Sleep(7)
        world.log.append("slept")


def test_a_shielded_cleanup_is_bounded(
    runner: tuple[Callable[[World, Op[Any]], Any], type],
) -> None:
    """A cleanup that never ends is stopped at its bound (on the given clock), its last
    sleep cut to the time left, and ``CleanupTimeoutError`` reaches the operation."""
    run, _ = runner
    world = World()

    def op() -> Op[str]:
        try:
            yield from shielded(endless_cleanup(world), seconds=30, clock=world.clock)
        except CleanupTimeoutError as exc:
            return str(exc)
        return "not reached"

    assert run(world, op()) == "a cleanup did not end within 30 s"
    assert world.slept == [7, 7, 7, 7, 2]
    assert world.now == 30


def test_a_shielded_request_gets_at_most_the_time_left() -> None:
    """Each request of a shielded cleanup has its timeouts cut to the time left."""
    seen: list[dict[str, float]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.extensions["timeout"]))
        return httpx.Response(200)

    world = World()
    world.now = 100.0

    def step() -> Op[None]:
        request = httpx.Request("GET", URL + "/on", extensions={"timeout": {"read": 5.0}})
        yield request
        world.now += 2.5
        yield httpx.Request("GET", URL + "/on")

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        SyncRunner(http, world.slept.append)(shielded(step(), seconds=4, clock=world.clock))
    assert seen == [
        {"connect": 4.0, "read": 4.0, "write": 4.0, "pool": 4.0},
        {"connect": 1.5, "read": 1.5, "write": 1.5, "pool": 1.5},
    ]


class WakeableFake:
    """An injected sleep that a stopped ``Gather`` must wake: ``until`` waits for the
    wake-up; a plain call (one nothing could wake) fails the test at once."""

    def __init__(self) -> None:
        self.woken: list[float] = []

    def __call__(self, seconds: float) -> None:
        raise AssertionError(f"a gathered operation slept {seconds} s with no way to wake it")

    def until(self, seconds: float, wake: threading.Event) -> None:
        assert wake.wait(30), "never woken"
        self.woken.append(seconds)


def test_a_stopped_sync_gather_wakes_its_sleeping_workers() -> None:
    """One gathered operation fails while the others sleep out a 10 s poll pause: they
    wake at once, each gets ``GatherStopped`` thrown in (and cleans up), and the failure
    is raised."""
    log: list[str] = []
    asleep = threading.Barrier(3)

    def poller(n: int) -> Op[None]:
        try:
            yield Work(asleep.wait)
            while True:
                yield Sleep(10)
        except GatherStopped:
            log.append(f"poller {n} stopped")
            raise

    def failing() -> Op[None]:
        yield Work(asleep.wait)
        raise KeyboardInterrupt  # as if Ctrl-C reached this one

    def parent() -> Op[None]:
        yield Gather([poller(1), poller(2), failing()], width=lambda: 3)

    sleep = WakeableFake()
    with httpx.Client() as http, pytest.raises(KeyboardInterrupt):
        SyncRunner(http, sleep)(parent())
    assert sorted(log) == ["poller 1 stopped", "poller 2 stopped"]
    assert len(sleep.woken) <= 2


def test_the_real_sleep_of_a_gather_can_be_woken() -> None:
    """``time.sleep`` given to the sync runner becomes one a stopped ``Gather`` wakes."""
    import time

    from do_images._effects import WakeableSleep

    with httpx.Client() as http:
        runner = SyncRunner(http, time.sleep)
    assert isinstance(runner.sleep, WakeableSleep)
    wake = threading.Event()
    wake.set()
    runner.sleep.until(3600, wake)  # returns at once: it is set


def test_cancelled_async_siblings_can_clean_up() -> None:
    """Async: the siblings of a failed operation get the cancellation thrown in, and a
    request of their cleanup is still sent before the failure is raised."""
    log: list[str] = []

    def sibling(n: int) -> Op[None]:
        try:
            while True:
                yield Sleep(10)
        except asyncio.CancelledError:
            yield httpx.Request("GET", f"{URL}/bye/{n}")
            log.append(f"sibling {n} cleaned up")
            raise

    def failing() -> Op[None]:
        yield Sleep(0)
        raise ValueError("boom")

    def parent() -> Op[str]:
        try:
            yield Gather([sibling(1), sibling(2), failing()], width=lambda: 3)
        except ValueError as exc:
            return str(exc)
        return "not reached"

    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200)

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    async def main() -> str:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            return await AsyncRunner(http, sleep)(parent())

    assert asyncio.run(main()) == "boom"
    assert sorted(sent) == ["/bye/1", "/bye/2"]
    assert sorted(log) == ["sibling 1 cleaned up", "sibling 2 cleaned up"]


def test_a_cancelled_blocking_call_is_stopped_and_awaited() -> None:
    """Async: a ``Blocking`` call with ``stop`` is asked to stop when the task is
    cancelled, and the operation sees the cancellation only once the call has ended."""
    stop = threading.Event()
    started = threading.Event()
    events: list[str] = []

    def work() -> str:
        started.set()
        assert stop.wait(5), "never asked to stop"
        events.append("work ended")
        return "stopped"

    def op() -> Op[None]:
        try:
            yield Blocking(work, stop=stop.set)
        except asyncio.CancelledError:
            events.append("operation saw the cancellation")
            raise

    async def main() -> None:
        async with httpx.AsyncClient() as http:
            task = asyncio.ensure_future(AsyncRunner(http, asyncio.sleep)(op()))
            while not started.is_set():
                await asyncio.sleep(0)  # until the thread runs; then cancel
            task.cancel()
            await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    assert events == ["work ended", "operation saw the cancellation"]
