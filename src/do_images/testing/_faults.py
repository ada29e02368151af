"""The sandbox's queued faults: error statuses, lost and garbled answers, a spent budget,
failed imports and errored actions."""

from __future__ import annotations

from collections.abc import Mapping

from .._checks import check_int
from ._facade import FacadeCore, check_seconds, check_times
from ._http import Drop, Fault


class Faults(FacadeCore):
    """Queue the failures a client must survive; each is used up by the requests it hits."""

    def fail_next(
        self,
        status: int,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        *,
        method: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests (of ``method``, if given) with ``status``.

        The body is the API's error body for that status; ``headers`` are added (for
        example ``{"retry-after": "3"}``). Nothing is changed by a failed request.
        """
        check_int(status, "status", min=400, max=599)
        check_times(times)
        with self._lock:
            self._front.faults.append(
                Fault(status, times, dict(headers or {}), method.upper() if method else None)
            )

    def drop_next(self, times: int = 1, *, method: str | None = None) -> None:
        """Make the change the next ``times`` requests ask for, then lose the response.

        In-process clients get an ``httpx.RemoteProtocolError``; over ``serve()`` the
        connection closes without an answer. Use it to check that a client does not
        repeat a ``POST`` whose outcome it never saw.
        """
        check_times(times)
        with self._lock:
            self._front.drops.append(Drop(times, method.upper() if method else None))

    def garble_next(self, times: int = 1, *, method: str | None = None) -> None:
        """Answer the next ``times`` requests (of ``method``, if given) 200 with a body
        that is not JSON, as a misbehaving proxy in the API's place would.

        The request is carried out first (a POST's change is made), so a client must
        treat a garbled answer to a POST like a lost one, and one to a poll as a
        passing failure.
        """
        check_times(times)
        with self._lock:
            self._front.drops.append(Drop(times, method.upper() if method else None, garble=True))

    def exhaust_rate_limit(self, reset_in: float = 60.0) -> None:
        """Use up the request budget; it refills ``reset_in`` virtual seconds from now."""
        check_seconds(reset_in, "reset_in")
        with self._lock:
            self._front.remaining = 0
            self._front.window_end = self.clock() + float(reset_in)

    def fail_next_import(
        self,
        message: str = "We had a problem decompressing your file. Please try again.",
    ) -> None:
        """Make the next custom image import end ``deleted`` with ``message`` as its
        ``error_message``, when it would have become available, as DigitalOcean does."""
        if not isinstance(message, str) or not message.strip():
            raise ValueError("message must be a non-empty str")
        with self._lock:
            self._world.failed_imports.append(message)

    def error_next_action(self, times: int = 1) -> None:
        """Make the next ``times`` image actions end ``errored`` instead of ``completed``."""
        check_times(times)
        with self._lock:
            self._world.errored_actions += times
