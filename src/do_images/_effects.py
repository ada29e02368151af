"""Operations as effect generators, and the only two loops that run them.

Theory of operation
-------------------
Every API operation is written once, as a generator (an ``Op``). It never sends a
request or sleeps itself; it *yields* what it needs done and is sent back the
result:

- an ``httpx.Request``: the runner sends it and sends back the ``httpx.Response``,
  or throws the ``httpx.RequestError`` into the generator;
- a ``Sleep``: the runner sleeps (on the injected sleep) and sends back ``None``;
- a ``Gather``: the runner runs several operations, up to ``width()`` awaiting an
  answer at a time, and sends back their results in order, or throws in the first
  failure;
- a ``Work``: CPU-bound work on an answer (parsing a page); the runner calls it and
  sends back its result or throws its error. A ``Blocking`` is the same for work that
  waits on I/O of its own (an upload to Spaces): the async runner runs it in a thread.
  In a ``Gather``, an operation at its ``Work`` has had its answer: the next operation
  starts then, so one page is parsed while the next is on its way, instead of batches
  that wait and then all parse.

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
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import httpx

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

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


@dataclass(frozen=True, slots=True)
class Work:
    """An effect: call ``fn`` (CPU-bound work on a response, no I/O); send back its result.

    In a ``Gather``, an operation that reaches its ``Work`` no longer counts against
    ``width()``: its request has been answered.
    """

    fn: Callable[[], Any]


@dataclass(frozen=True, slots=True)
class Blocking:
    """An effect: call ``fn``, which blocks on I/O the runner does not own (an upload to
    Spaces through its own client); send back its result or throw its error. The sync
    runner calls it; the async runner runs it in a worker thread, so the loop goes on."""

    fn: Callable[[], Any]


Effect: TypeAlias = "httpx.Request | Sleep | Gather | Work | Blocking"
Op: TypeAlias = Generator[Effect, Any, T]
"""An operation: yields effects, is sent back responses, returns its result."""


async def asyncio_sleep(seconds: float) -> None:
    """``asyncio.sleep``, imported on first use: a sync-only program never pays for it."""
    import asyncio

    await asyncio.sleep(seconds)


class _Cancelled(Exception):
    """Raised inside a gathered operation whose siblings already failed."""


class _Slot:
    """A gathered operation's place among those awaiting an answer, freed once: at its
    first ``Work`` (``ok``), or when it ends (``ok`` unless it failed)."""

    __slots__ = ("free",)

    def __init__(self, free: Callable[[bool], None] | None) -> None:
        self.free = free

    def release(self, ok: bool = True) -> None:
        free, self.free = self.free, None
        if free is not None:
            free(ok)


class _Admission:
    """Which operations of a ``Gather`` may start now: the rule both runners share.

    At most ``width()`` (asked each time) await their answer at once; an operation
    stops awaiting at its first ``Work`` or its end. After a failure none starts.
    """

    __slots__ = ("awaiting", "gather", "stopped", "waiting")

    def __init__(self, gather: Gather) -> None:
        self.gather = gather
        self.waiting = iter(enumerate(gather.ops))
        self.awaiting = 0
        self.stopped = False

    def due(self) -> list[tuple[int, Op[Any]]]:
        """The operations (with their index) to start now; they count as awaiting."""
        due: list[tuple[int, Op[Any]]] = []
        while not self.stopped and self.awaiting < self.gather.width():
            started = next(self.waiting, None)
            if started is None:
                break
            self.awaiting += 1
            due.append(started)
        return due

    def answered(self, ok: bool) -> None:
        self.awaiting -= 1
        self.stopped = self.stopped or not ok


async def _in_thread(effect: Blocking, slot: _Slot) -> tuple[Any, Exception | None]:
    import asyncio

    slot.release()
    try:
        return await asyncio.to_thread(effect.fn), None
    except Exception as exc:
        return None, exc


def _compute(effect: Work | Blocking, slot: _Slot) -> tuple[Any, Exception | None]:
    slot.release()  # answered: the next gathered operation may start now
    try:
        return effect.fn(), None
    except Exception as exc:
        return None, exc


class SyncRunner:
    """Runs an operation: sends what it yields, sleeps when it asks, gathers on threads.

    ``httpx.Client`` is safe to share between threads, so the operations of a
    ``Gather`` run on a small pool of worker threads, each with this same runner.
    """

    __slots__ = ("http", "sleep")

    def __init__(self, http: httpx.Client, sleep: SyncSleep) -> None:
        self.http = http
        self.sleep = sleep

    def __call__(
        self,
        op: Op[T],
        cancelled: threading.Event | None = None,
        answered: Callable[[bool], None] | None = None,
    ) -> T:
        """Run ``op``. For ``_gather``: ``cancelled`` stops it at its next effect, and
        ``answered`` is called once, at its first ``Work`` or its end (``False`` if it
        failed)."""
        slot = _Slot(answered)
        value: Any = None
        error: Exception | None = None
        try:
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
                elif isinstance(effect, (Work, Blocking)):
                    value, error = _compute(effect, slot)
                elif isinstance(effect, Gather):
                    value, error = self._nested(effect)
                else:
                    value, error = self._send(effect)
        except BaseException:
            slot.release(ok=False)
            raise
        finally:
            slot.release()

    def _send(self, request: httpx.Request) -> tuple[Any, Exception | None]:
        try:
            return self.http.send(request, follow_redirects=False), None
        except httpx.RequestError as exc:
            return None, exc

    def _nested(self, gather: Gather) -> tuple[Any, Exception | None]:
        try:
            return self._gather(gather), None
        except Exception as exc:
            return None, exc

    def _gather(self, gather: Gather) -> list[Any]:
        """Run ``gather.ops`` on threads, at most ``gather.width()`` awaiting their answer at
        once (an operation at its ``Work`` has had it); results in order.

        The first failure is raised once the operations in flight have stopped: they
        stop at their next effect, and the ones not started yet never start.
        """
        ops = gather.ops
        if len(ops) < 2 or gather.width() < 2:
            return [self(op) for op in ops]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(ops), thread_name_prefix="do-images") as pool:
            return _ThreadGather(self, gather, pool).run()


class _ThreadGather:
    """One ``Gather`` on a thread pool: starts an operation whenever fewer than
    ``width()`` await their answer; collects results in order; stops on a failure."""

    def __init__(self, runner: SyncRunner, gather: Gather, pool: Executor) -> None:
        self.runner = runner
        self.gather = gather
        self.pool = pool
        self.results: list[Any] = [None] * len(gather.ops)
        self.admission = _Admission(gather)
        self.running: dict[Future[Any], int] = {}
        self.lock = threading.Lock()
        self.cancelled = threading.Event()

    def start(self) -> None:
        with self.lock:
            for index, op in self.admission.due():
                future = self.pool.submit(self.runner, op, self.cancelled, self.answered)
                self.running[future] = index

    def answered(self, ok: bool) -> None:
        with self.lock:
            self.admission.answered(ok)
            if not ok:
                self.cancelled.set()  # the others stop at their next effect
        self.start()

    def run(self) -> list[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait

        try:
            self.start()
            while True:
                with self.lock:
                    pending = list(self.running)
                if not pending:
                    return self.results
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    with self.lock:
                        index = self.running.pop(future)
                    if not isinstance(future.exception(), _Cancelled):
                        # A cancelled sibling is no failure of its own: the failure
                        # that stopped it is raised when its operation is collected.
                        self.results[index] = future.result()
        finally:
            with self.lock:
                self.admission.stopped = True
                self.cancelled.set()
                for future in self.running:
                    future.cancel()


class AsyncRunner:
    """Runs an operation on asyncio: sends what it yields, sleeps when it asks."""

    __slots__ = ("http", "sleep")

    def __init__(self, http: httpx.AsyncClient, sleep: AsyncSleep) -> None:
        self.http = http
        self.sleep = sleep

    async def __call__(self, op: Op[T], answered: Callable[[bool], None] | None = None) -> T:
        """Run ``op``. For ``_gather``: ``answered`` is called once, at its first ``Work``
        or its end (``False`` if it failed)."""
        slot = _Slot(answered)
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    effect = op.send(value) if error is None else op.throw(error)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                value = error = None
                if isinstance(effect, Sleep):
                    await self.sleep(effect.seconds)
                elif isinstance(effect, Blocking):
                    value, error = await _in_thread(effect, slot)
                elif isinstance(effect, Work):
                    if slot.free is not None:
                        slot.release()
                        await _let_others_send()
                    value, error = _compute(effect, slot)
                elif isinstance(effect, Gather):
                    value, error = await self._nested(effect)
                else:
                    value, error = await self._send(effect)
        except BaseException:
            slot.release(ok=False)
            raise
        finally:
            slot.release()

    async def _send(self, request: httpx.Request) -> tuple[Any, Exception | None]:
        try:
            return await self.http.send(request, follow_redirects=False), None
        except httpx.RequestError as exc:
            return None, exc

    async def _nested(self, gather: Gather) -> tuple[Any, Exception | None]:
        try:
            return await self._gather(gather), None
        except Exception as exc:
            return None, exc

    async def _gather(self, gather: Gather) -> list[Any]:
        """Run ``gather.ops`` as tasks, at most ``gather.width()`` awaiting their answer at
        once (an operation at its ``Work`` has had it); results in order.

        The first failure cancels the tasks still running and is raised; the
        operations not started yet are never started.
        """
        import asyncio

        results: list[Any] = [None] * len(gather.ops)
        admission = _Admission(gather)
        running: dict[asyncio.Future[Any], int] = {}

        def start() -> None:
            for index, op in admission.due():
                running[asyncio.ensure_future(self(op, answered))] = index

        def answered(ok: bool) -> None:
            admission.answered(ok)
            start()

        try:
            start()
            while running:
                done, _ = await asyncio.wait(list(running), return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    results[running.pop(task)] = task.result()
            return results
        finally:
            admission.stopped = True
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running)


async def _let_others_send() -> None:
    """Give the tasks just started a turn of the event loop, so their requests leave
    before this task's CPU-bound work holds the loop."""
    import asyncio

    await asyncio.sleep(0)
