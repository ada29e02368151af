"""The client-side request budget, shared by every thread and task that uses one client.

The API allows 250 requests a minute per token and answers 429 past that; it also
reports the hourly budget in ``ratelimit-*`` headers. A client that keeps inside
both never has to spend a request on a 429 and a wait. ``RequestBudget.reserve``
is asked before each request is sent and answers how long to wait first; it never
sleeps itself (the session yields a ``Sleep``), so tests run on a fake clock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime

from ._constants import MAX_SERVER_WAIT, MINUTE
from ._errors import RateLimitError

__all__ = ["RequestBudget"]


class RequestBudget:
    """At most ``per_minute`` requests started in any 60 s, and none while the budget is spent.

    Slots are reserved in order: each caller gets the earliest start time that keeps
    every 60 s window within the limit, given the slots already handed out, so
    concurrent callers queue instead of sending into a 429. ``per_minute=None``
    turns the window off; the reset rule still applies.
    """

    def __init__(self, per_minute: int | None, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        # The last ``per_minute`` reserved starts are all the window needs.
        self._starts: deque[list[float]] = deque(maxlen=per_minute)
        self._blocked_until: float | None = None
        self._reset_at: datetime | None = None

    def reserve(self) -> tuple[float, list[float] | None]:
        """Reserve the next start: the seconds to wait before sending, and the slot.

        Hand the slot back to ``finished`` when the answer arrives. Raises
        ``RateLimitError`` without reserving anything when the last response said no
        request is left and the budget refills more than 120 s from now.
        """
        with self._lock:
            now = self._clock()
            start = now
            blocked = self._blocked_until
            if blocked is not None:
                if blocked - now > MAX_SERVER_WAIT:
                    raise RateLimitError(
                        "the request budget is spent and refills in "
                        f"{blocked - now:.0f} s; not sending",
                        retry_after=blocked - now,
                        reset_at=self._reset_at,
                    )
                start = max(start, blocked)
            limit = self.per_minute
            if limit is None:
                return start - now, None
            starts = self._starts
            if len(starts) == limit:
                start = max(start, starts[0][0] + MINUTE)
            if starts:
                start = max(start, starts[-1][0])  # slots stay in order
            slot = [start]
            starts.append(slot)
            return start - now, slot

    def finished(self, slot: list[float] | None) -> None:
        """The request of ``slot`` was answered: count it from now, not from its start.

        The API counts a request when it arrives, which is after it was sent and
        before its answer came back; counting the window from the answer keeps a
        client whose first requests were slow on the wire from running early.
        """
        if slot is not None:
            with self._lock:
                slot[0] = max(slot[0], self._clock())

    def spent_until(self, wait: float | None, reset_at: datetime | None) -> None:
        """Record what the latest response said: no request left for ``wait`` seconds,
        or (``None``) requests left."""
        with self._lock:
            if wait is None:
                self._blocked_until = self._reset_at = None
            else:
                self._blocked_until = self._clock() + wait
                self._reset_at = reset_at
