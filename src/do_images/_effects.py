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
  that wait and then all parse;
- a ``Shielded``: a cleanup operation, run to its end (bounded in time) even while the
  operation that yielded it is being interrupted; see "Interruptions" below.

Interruptions
-------------
A Ctrl-C (``KeyboardInterrupt``) or a task cancellation (``asyncio.CancelledError``)
arrives while a runner sleeps or sends, not while the operation's code runs. The runner
throws it, like any exception its own I/O raised, *into* the operation at the effect it
was doing, so the operation can run cleanup effects (make an object private again,
power a droplet back on) and then re-raise it. An operation that does not catch it
ends with it, as before. The pattern::

    try:
        yield from the_work()
    except BaseException:
        yield from shielded(cleanup(), seconds=30, clock=clock)
        raise

``shielded`` runs ``cleanup()`` as a ``Shielded`` effect: bounded by ``seconds`` on
``clock`` (checked before each of its effects; its sleeps and request timeouts are cut
to the time left), and, on the async runner, in a task of its own that a further
cancellation does not stop: the cancellation is delivered to the operation once the
cleanup has ended. On the sync runner a second Ctrl-C still stops the cleanup (a person
pressing it twice means it). The operations of a ``Gather`` whose sibling failed, or
whose ``Gather`` was interrupted, get the same chance: the async runner cancels their
tasks (thrown in as above), the sync runner throws ``GatherStopped`` into each at its
next effect and wakes those sleeping (``WakeableSleep``), so stopping never waits out a
poll's pause.

The rules that keep this honest:

1. Nothing outside this module sends, sleeps or starts a thread or task. ``SyncRunner``
   and ``AsyncRunner`` are the two places where I/O happens.
2. An ``Op`` decides everything else (retrying, parsing, paging, waiting), so the
   sync and async clients cannot drift apart: they share every decision.
3. The two runners differ only in how they send, sleep and gather (threads for
   ``SyncRunner``, tasks for ``AsyncRunner``).
4. An interruption during a runner's own I/O is thrown into the operation (above).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import httpx

if TYPE_CHECKING:
    import asyncio
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
    runner calls it; the async runner runs it in a worker thread, so the loop goes on.

    ``stop``, if given, asks ``fn`` to end soon (it is called when the task awaiting
    ``fn`` is cancelled); the async runner then waits for ``fn`` to end before the
    cancellation goes on, so nothing ``fn`` does outlives the operation. Without it, a
    cancelled task leaves the thread to finish on its own.
    """

    fn: Callable[[], Any]
    stop: Callable[[], None] | None = None


@dataclass(frozen=True, slots=True)
class Shielded:
    """An effect: run the cleanup operation ``op`` to its end, bounded by ``seconds`` on
    ``clock``; send back its result or throw its error (``CleanupTimeoutError`` when the
    time ran out). A cancellation of the task meanwhile waits for ``op`` to end (async);
    see the module's "Interruptions"."""

    op: Generator[Any, Any, Any]
    seconds: float
    clock: Callable[[], float] = time.monotonic


Effect: TypeAlias = "httpx.Request | Sleep | Gather | Work | Blocking | Shielded"
Op: TypeAlias = Generator[Effect, Any, T]
"""An operation: yields effects, is sent back responses, returns its result."""


class CleanupTimeoutError(TimeoutError):
    """A shielded cleanup did not end within its bound."""


class GatherStopped(BaseException):
    """Thrown into a gathered operation (sync runner) whose sibling failed or whose
    ``Gather`` was interrupted. Like an interruption, it is a ``BaseException``: an
    operation may clean up on it, and should not swallow it."""


def shielded(op: Op[T], *, seconds: float, clock: Callable[[], float]) -> Op[T]:
    """Run ``op`` as a cleanup that an interruption of this operation does not stop
    (async) and that ``seconds`` on ``clock`` bound; its result, or its error."""
    result: T = yield Shielded(op, seconds, clock)
    return result


def relay(op: Op[T], each: Callable[[Effect], Effect]) -> Op[T]:
    """``op``, each of its effects passed through ``each`` on its way to the runner: it may
    note it, change it, or raise (then ``op`` is closed). What comes back, a value or an
    error, goes to ``op`` as it came."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = op.send(value) if error is None else op.throw(error)
        except StopIteration as stop:
            result: T = stop.value
            return result
        try:
            effect = each(effect)
        except BaseException:
            op.close()
            raise
        try:
            value, error = (yield effect), None
        except BaseException as exc:
            value, error = None, exc


def _bounded(shield: Shielded) -> Op[Any]:
    """``shield.op``, each effect checked against the deadline: past it, the cleanup is
    closed and ``CleanupTimeoutError`` raised; sleeps and request timeouts are cut to
    the time left (a ``Blocking`` call is bounded by its own client)."""
    clock = shield.clock
    deadline = clock() + shield.seconds

    def within(effect: Effect) -> Effect:
        remaining = deadline - clock()
        if remaining <= 0:
            raise CleanupTimeoutError(f"a cleanup did not end within {shield.seconds:g} s")
        return _within(effect, remaining)

    return relay(shield.op, within)


def _within(effect: Effect, remaining: float) -> Effect:
    """``effect`` cut to ``remaining`` seconds where it can be: a sleep, a request's timeouts."""
    if isinstance(effect, Sleep):
        return Sleep(min(effect.seconds, remaining))
    if isinstance(effect, httpx.Request):
        limits = effect.extensions.get("timeout") or {}
        phases = {"connect": None, "read": None, "write": None, "pool": None, **limits}
        effect.extensions["timeout"] = {
            phase: remaining if limit is None else min(limit, remaining)
            for phase, limit in phases.items()
        }
    return effect


async def asyncio_sleep(seconds: float) -> None:
    """``asyncio.sleep``, imported on first use: a sync-only program never pays for it."""
    import asyncio

    await asyncio.sleep(seconds)


class WakeableSleep:
    """The real sleep, ``time.sleep``, and ``until(seconds, wake)``: a sleep that ends as
    soon as ``wake`` is set. The sync runner sleeps a gathered operation with ``until``
    when the sleep it was given has one, so a stopped ``Gather`` never waits out a
    pause; an injected sleep without ``until`` is simply called."""

    def __call__(self, seconds: float) -> None:
        time.sleep(seconds)

    def until(self, seconds: float, wake: threading.Event) -> None:
        wake.wait(seconds)


wakeable_sleep = WakeableSleep()


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


Outcome: TypeAlias = "tuple[Any, BaseException | None]"
"""What an effect gave: its value, or what it raised (to throw into the operation)."""


class SyncRunner:
    """Runs an operation: sends what it yields, sleeps when it asks, gathers on threads.

    ``httpx.Client`` is safe to share between threads, so the operations of a
    ``Gather`` run on a small pool of worker threads, each with this same runner.
    """

    __slots__ = ("http", "sleep")

    def __init__(self, http: httpx.Client, sleep: SyncSleep) -> None:
        self.http = http
        # The real sleep becomes one that a stopped Gather can cut short; an injected
        # sleep is used as given.
        self.sleep: SyncSleep = wakeable_sleep if sleep is time.sleep else sleep

    def __call__(
        self,
        op: Op[T],
        cancelled: threading.Event | None = None,
        answered: Callable[[bool], None] | None = None,
    ) -> T:
        """Run ``op``. For ``_gather``: once ``cancelled`` is set, ``GatherStopped`` is
        thrown into it at its next effect (once: its cleanup then runs), and its sleeps
        end when it is set; ``answered`` is called once, at its first ``Work`` or its end
        (``False`` if it failed)."""
        slot = _Slot(answered)
        value: Any = None
        error: BaseException | None = None
        stopping = False
        try:
            while True:
                try:
                    effect = op.send(value) if error is None else op.throw(error)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                if cancelled is not None and cancelled.is_set() and not stopping:
                    stopping = True
                    value, error = None, GatherStopped()
                    continue
                value, error = self._perform(effect, slot, None if stopping else cancelled)
        except BaseException:
            slot.release(ok=False)
            raise
        finally:
            slot.release()

    def _perform(self, effect: Effect, slot: _Slot, wake: threading.Event | None) -> Outcome:
        """Do ``effect``; whatever it raises, an interruption included, is the operation's."""
        try:
            if isinstance(effect, Sleep):
                until = getattr(self.sleep, "until", None) if wake is not None else None
                if until is not None:
                    until(effect.seconds, wake)
                else:
                    self.sleep(effect.seconds)
                return None, None
            if isinstance(effect, (Work, Blocking)):
                slot.release()  # answered: the next gathered operation may start now
                return effect.fn(), None
            if isinstance(effect, Gather):
                return self._gather(effect), None
            if isinstance(effect, Shielded):
                return self(_bounded(effect)), None
            return self.http.send(effect, follow_redirects=False), None
        except BaseException as exc:
            return None, exc

    def _gather(self, gather: Gather) -> list[Any]:
        """Run ``gather.ops`` on threads, at most ``gather.width()`` awaiting their answer at
        once (an operation at its ``Work`` has had it); results in order.

        The first failure is raised once the operations in flight have stopped: they
        stop at their next effect (a sleeping one wakes), and the ones not started yet
        never start.
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
                    if not isinstance(future.exception(), GatherStopped):
                        # A stopped sibling is no failure of its own: the failure
                        # that stopped it is raised when its operation is collected.
                        self.results[index] = future.result()
        finally:
            with self.lock:
                self.admission.stopped = True
                self.cancelled.set()  # wakes the sleeping ones too
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
        error: BaseException | None = None
        try:
            while True:
                try:
                    effect = op.send(value) if error is None else op.throw(error)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                value, error = await self._perform(effect, slot)
        except BaseException:
            slot.release(ok=False)
            raise
        finally:
            slot.release()

    async def _perform(self, effect: Effect, slot: _Slot) -> Outcome:
        """Do ``effect``; whatever it raises, a cancellation included, is the operation's."""
        try:
            if isinstance(effect, Sleep):
                await self.sleep(effect.seconds)
                return None, None
            if isinstance(effect, Blocking):
                slot.release()
                return await _in_thread(effect), None
            if isinstance(effect, Work):
                if slot.free is not None:
                    slot.release()
                    await _let_others_send()
                return effect.fn(), None
            if isinstance(effect, Gather):
                return await self._gather(effect), None
            if isinstance(effect, Shielded):
                return await self._shielded(effect), None
            return await self.http.send(effect, follow_redirects=False), None
        except BaseException as exc:
            return None, exc

    async def _shielded(self, shield: Shielded) -> Any:
        """Run the cleanup in a task of its own; a cancellation meanwhile is held until it
        ends, then raised (its outcome dropped: the cancellation wins)."""
        import asyncio

        task = asyncio.ensure_future(self(_bounded(shield)))
        if await _outlast(task):
            if not task.cancelled():
                task.exception()  # retrieved: the cancellation is what goes on
            raise asyncio.CancelledError
        return task.result()

    async def _gather(self, gather: Gather) -> list[Any]:
        """Run ``gather.ops`` as tasks, at most ``gather.width()`` awaiting their answer at
        once (an operation at its ``Work`` has had it); results in order.

        The first failure cancels the tasks still running (each operation gets the
        cancellation thrown in) and is raised once they have ended; the operations
        not started yet are never started.
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


async def _in_thread(effect: Blocking) -> Any:
    """``effect.fn()`` in a worker thread. With ``effect.stop``, a cancellation asks it
    to stop and waits for it to end before going on."""
    import asyncio

    if effect.stop is None:
        return await asyncio.to_thread(effect.fn)
    work = asyncio.ensure_future(asyncio.to_thread(effect.fn))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        if work.done():
            raise
        effect.stop()
        await _outlast(work)
        if not work.cancelled():
            work.exception()  # retrieved: the cancellation is what goes on
        raise


async def _outlast(future: asyncio.Future[Any]) -> bool:
    """Wait until ``future`` is done, whatever cancellations of this task arrive
    meanwhile; whether any did."""
    import asyncio

    interrupted = False
    while not future.done():
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            interrupted = interrupted or not future.done()
        except BaseException:
            pass  # the future's own failure: the caller reads it
    return interrupted


async def _let_others_send() -> None:
    """Give the tasks just started a turn of the event loop, so their requests leave
    before this task's CPU-bound work holds the loop."""
    import asyncio

    await asyncio.sleep(0)
