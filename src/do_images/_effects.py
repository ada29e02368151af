"""Operations as effect generators, and the only two loops that run them.

Theory of operation
-------------------
Every API operation is written once, as a generator (an ``Op``). It never sends a
request or sleeps itself; it *yields* what it needs done and is sent back the
result:

- an ``httpx.Request``: the runner sends it and sends back the ``httpx.Response``,
  or throws the ``httpx.RequestError`` into the generator;
- a ``Sleep``: the runner sleeps (on the injected sleep) and sends back ``None``;
- a ``Gather``: the runner runs several operations, up to ``width()`` at a time, and
  sends back their results in order, or throws in the first failure.

The rules that keep this honest:

1. Nothing outside this module sends, sleeps or starts a thread or task. ``SyncRunner``
   and ``AsyncRunner`` are the two places where I/O happens.
2. An ``Op`` decides everything else (retrying, parsing, paging, waiting), so the
   sync and async clients cannot drift apart: they share every decision.
3. The two runners differ only in how they send, sleep and gather (threads for
   ``SyncRunner``, tasks for ``AsyncRunner``).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

import httpx

T = TypeVar("T")

SyncSleep = Callable[[float], None]
AsyncSleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Sleep:
    """An effect: wait this many seconds (on the injected sleep)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Gather:
    """An effect: run these operations, up to ``width()`` at a time; send back their results.

    The results come back in the order of ``ops``; the first operation to fail
    cancels the others and its error is thrown into the operation that yielded
    this. ``width`` is asked again before each operation starts, so it can
    shrink as the request budget runs low. A runner without concurrency may
    run them one after another.
    """

    ops: Sequence[Generator[Any, Any, Any]]
    width: Callable[[], int]


Effect: TypeAlias = "httpx.Request | Sleep | Gather"
Op: TypeAlias = Generator[Effect, Any, T]
"""An operation: yields effects, is sent back responses, returns its result."""


async def asyncio_sleep(seconds: float) -> None:
    """``asyncio.sleep``, imported on first use: a sync-only program never pays for it."""
    import asyncio

    await asyncio.sleep(seconds)


class _Cancelled(Exception):
    """Raised inside a gathered operation whose siblings already failed."""


class SyncRunner:
    """Runs an operation: sends what it yields, sleeps when it asks, gathers on threads.

    ``httpx.Client`` is safe to share between threads, so the operations of a
    ``Gather`` run on a small pool of worker threads, each with this same runner.
    """

    __slots__ = ("http", "sleep")

    def __init__(self, http: httpx.Client, sleep: SyncSleep) -> None:
        self.http = http
        self.sleep = sleep

    def __call__(self, op: Op[T], cancelled: threading.Event | None = None) -> T:
        value: Any = None
        error: Exception | None = None
        while True:
            try:
                effect = op.send(value) if error is None else op.throw(error)
            except StopIteration as stop:
                result: T = stop.value
                return result
            value = error = None
            if cancelled is not None and cancelled.is_set():
                op.close()
                raise _Cancelled
            if isinstance(effect, Sleep):
                self.sleep(effect.seconds)
                continue
            if isinstance(effect, Gather):
                try:
                    value = self._gather(effect)
                except Exception as exc:
                    error = exc
                continue
            try:
                value = self.http.send(effect, follow_redirects=False)
            except httpx.RequestError as exc:
                error = exc

    def _gather(self, gather: Gather) -> list[Any]:
        """Run ``gather.ops`` on threads, at most ``gather.width()`` at once; results in order.

        The first failure is raised once the operations in flight have stopped: they
        stop at their next effect, and the ones not started yet never start.
        """
        ops = gather.ops
        if len(ops) < 2 or gather.width() < 2:
            return [self(op) for op in ops]
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        results: list[Any] = [None] * len(ops)
        waiting = iter(enumerate(ops))
        running: dict[Future[Any], int] = {}
        cancelled = threading.Event()
        with ThreadPoolExecutor(max_workers=len(ops), thread_name_prefix="do-images") as pool:
            try:
                while True:
                    while len(running) < gather.width():
                        started = next(waiting, None)
                        if started is None:
                            break
                        index, op = started
                        running[pool.submit(self, op, cancelled)] = index
                    if not running:
                        return results
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        results[running.pop(future)] = future.result()
            finally:
                cancelled.set()
                for future in running:
                    future.cancel()


class AsyncRunner:
    """Runs an operation on asyncio: sends what it yields, sleeps when it asks."""

    __slots__ = ("http", "sleep")

    def __init__(self, http: httpx.AsyncClient, sleep: AsyncSleep) -> None:
        self.http = http
        self.sleep = sleep

    async def __call__(self, op: Op[T]) -> T:
        value: Any = None
        error: Exception | None = None
        while True:
            try:
                effect = op.send(value) if error is None else op.throw(error)
            except StopIteration as stop:
                result: T = stop.value
                return result
            value = error = None
            if isinstance(effect, Sleep):
                await self.sleep(effect.seconds)
                continue
            if isinstance(effect, Gather):
                try:
                    value = await self._gather(effect)
                except Exception as exc:
                    error = exc
                continue
            try:
                value = await self.http.send(effect, follow_redirects=False)
            except httpx.RequestError as exc:
                error = exc

    async def _gather(self, gather: Gather) -> list[Any]:
        """Run ``gather.ops`` as tasks, at most ``gather.width()`` at once; results in order.

        The first failure cancels the tasks still running and is raised; the
        operations not started yet are never started.
        """
        import asyncio

        results: list[Any] = [None] * len(gather.ops)
        waiting = iter(enumerate(gather.ops))
        running: dict[asyncio.Future[Any], int] = {}
        try:
            while True:
                while len(running) < gather.width():
                    started = next(waiting, None)
                    if started is None:
                        break
                    index, op = started
                    running[asyncio.ensure_future(self(op))] = index
                if not running:
                    return results
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    results[running.pop(task)] = task.result()
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running)
