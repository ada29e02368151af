"""The exceptions do_images raises; every one is a ``DoImagesError``.

::

    DoImagesError
    ├── APIConnectionError            no response (connect failure, reset)
    │   └── APITimeoutError           the request timed out
    ├── APIStatusError                the API answered with an error status
    │   ├── BadRequestError           400
    │   ├── AuthenticationError       401
    │   ├── PermissionDeniedError     403
    │   ├── NotFoundError             404
    │   ├── UnprocessableEntityError  422
    │   ├── RateLimitError            429 (retry_after, reset_at)
    │   └── ServerError               5xx
    ├── ResponseValidationError       the body did not fit the model
    ├── UnknownOutcomeError           a POST may or may not have taken effect
    ├── ActionFailedError             an awaited action ended ``errored``
    └── ActionTimeoutError            an awaited action did not finish in time

Bad arguments are refused with the built-in ``ValueError`` / ``TypeError`` before any
request is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._models import Action, RateLimit

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "ActionFailedError",
    "ActionTimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "DoImagesError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
    "UnknownOutcomeError",
    "UnprocessableEntityError",
]


class DoImagesError(Exception):
    """Base of every error do_images raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class APIConnectionError(DoImagesError):
    """No response arrived: the connection failed or was dropped."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class APIStatusError(DoImagesError):
    """The API answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_id: str | None = None,
        request_id: str | None = None,
        rate_limit: RateLimit | None = None,
        body: str = "",
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_id = error_id
        self.request_id = request_id
        self.rate_limit = rate_limit
        self.body = body
        self.attempts = attempts

    def __str__(self) -> str:
        text = f"{self.status_code} {self.error_id or 'error'}: {self.message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        if self.attempts > 1:
            text += f" after {self.attempts} attempts"
        return text


class BadRequestError(APIStatusError):
    """400: the request was malformed."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the token may not do this (for example a read-only scope)."""


class NotFoundError(APIStatusError):
    """404: no such image or action."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was understood but refused (for example an unknown region)."""


class RateLimitError(APIStatusError):
    """429: the request budget is spent.

    ``retry_after`` is the wait in seconds the server asked for (or ``None``);
    ``reset_at`` is when the budget refills, if the server said.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        error_id: str | None = None,
        request_id: str | None = None,
        rate_limit: RateLimit | None = None,
        body: str = "",
        attempts: int = 1,
        retry_after: float | None = None,
        reset_at: datetime | None = None,
    ) -> None:
        super().__init__(
            message,
            status_code=status_code,
            error_id=error_id,
            request_id=request_id,
            rate_limit=rate_limit,
            body=body,
            attempts=attempts,
        )
        self.retry_after = retry_after
        self.reset_at = reset_at


class ServerError(APIStatusError):
    """5xx: the API failed."""


class ResponseValidationError(DoImagesError):
    """A success response whose body did not fit the model.

    ``body`` holds the raw body (cut to 1 KiB) and ``request_id`` the server's id.
    """

    def __init__(self, message: str, *, body: str = "", request_id: str | None = None) -> None:
        super().__init__(message)
        self.body = body
        self.request_id = request_id


class UnknownOutcomeError(DoImagesError):
    """A POST failed after it may have reached the API, so its outcome is unknown.

    The request timed out while waiting for the answer, the connection dropped
    mid-response, or the API answered 5xx. This API has no idempotency keys, so
    sending the request again could import a second image or start a second
    action; do_images does not do that blindly. ``__cause__`` is the failure itself
    (an ``APIConnectionError`` or ``ServerError``); ``attempts`` counts the requests
    sent. For ``create``, look for the image (``list(private=True)``) before trying
    again.
    """

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class ActionFailedError(DoImagesError):
    """An awaited action ended with status ``errored``; ``action`` is that action."""

    def __init__(self, action: Action) -> None:
        super().__init__(
            f"action {action.id} ({action.type}) on image {action.resource_id} errored"
        )
        self.action = action


class ActionTimeoutError(DoImagesError):
    """An awaited action was not done in time; ``action`` is the last state seen."""

    def __init__(self, action: Action, timeout: float) -> None:
        super().__init__(
            f"action {action.id} ({action.type}) on image {action.resource_id} still "
            f"{action.status} after {timeout:g} s"
        )
        self.action = action
        self.timeout = timeout
