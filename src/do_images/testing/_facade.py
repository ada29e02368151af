"""What every part of the ``Sandbox`` facade shares: the lock, the clock and the state file.

``Sandbox`` is composed like the world behind it: ``FacadeCore`` holds the world, the
protocol front, the virtual clock and the state file; each family of test-author
helpers is a mixin over it (``_faults``: queued failures; ``_inventory``: stating and
reading what the API holds), and ``_sandbox.Sandbox`` composes them with the clients
and the server.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from .._checks import check_int, check_positive_seconds
from ._http import Front
from ._state import SandboxStateError, StateFile
from ._world import World
from ._world._core import iso


class FacadeCore:
    """The sandbox's lock, virtual clock, world, protocol front and state file.

    ``Sandbox.__init__`` sets every attribute declared here.
    """

    _lock: threading.RLock
    _start: datetime
    _elapsed: float
    _realtime: bool
    _t0: float
    _world: World
    _front: Front
    _state: StateFile | None

    # ----------------------------------------------------------------- the clock

    def clock(self) -> float:
        """Virtual seconds since the sandbox was created (a monotonic clock for clients)."""
        real = time.monotonic() - self._t0 if self._realtime else 0.0
        return self._elapsed + real

    @property
    def now(self) -> datetime:
        """The virtual wall-clock time (UTC)."""
        return self._start + timedelta(seconds=self.clock())

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward; actions and imports that are due finish."""
        check_seconds(seconds, "seconds")
        with self._synced():
            self._elapsed += float(seconds)
            self._world.settle()

    async def _async_advance(self, seconds: float) -> None:
        import asyncio  # here: a sync client (the command line's) never needs it

        self.advance(seconds)
        # Let other tasks run, as a real sleep would.
        await asyncio.sleep(0)

    # ------------------------------------------------------------- the state file

    @contextlib.contextmanager
    def _synced(self) -> Iterator[None]:
        """Hold the lock; with a state file, also its lock, its latest content read
        first and the state written back after."""
        with self._lock:
            if self._state is None:
                yield
                return
            with self._state.locked():
                if self._state.changed():
                    data = self._state.read()
                    if data is not None:
                        self._load(data)
                yield
                # The clock is kept, not compared: a realtime sandbox's moves on its own,
                # and the file says when it was written, so a read changes nothing.
                self._state.write(
                    {
                        "start": iso(self._start),
                        "elapsed": self._elapsed,
                        "world": self._world.snapshot(),
                    },
                    clock=self.clock(),
                    saved_at=time.time(),
                )

    def _load(self, data: dict[str, Any]) -> None:
        assert self._state is not None
        try:
            start = datetime.fromisoformat(str(data["start"]).replace("Z", "+00:00"))
            saved = float(data["clock"])
            if self._realtime:  # the time the file lay unused counts too
                saved += max(0.0, time.time() - float(data["saved_at"]))
            self._world.restore(data["world"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SandboxStateError(
                f"{self._state.path} is a damaged sandbox state ({type(exc).__name__}: "
                f"{str(exc)[:200]}); it was left as it is"
            ) from None
        self._start = self._world.start = start
        # The clock never runs backwards: another process may have moved it further.
        self._elapsed += max(0.0, saved - self.clock())


def check_seconds(value: object, name: str) -> None:
    """A duration of zero or more seconds, or ``ValueError``/``TypeError``."""
    check_positive_seconds(value, name, zero=True)


def check_times(times: object) -> None:
    """A count of one or more, or ``ValueError``/``TypeError``."""
    check_int(times, "times", min=1)
