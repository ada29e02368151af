"""What every aggregate of the sandbox's world shares."""

from __future__ import annotations


class Problem(Exception):
    """A request the API refuses: its status, message and extra response headers."""

    def __init__(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
