"""How an answer or a failed request becomes a typed error (``_errors``), with the token
blanked out of whatever text the error keeps."""

from __future__ import annotations

import contextlib
import json
import re
from typing import TYPE_CHECKING, Any, TypeGuard

from ._constants import ERROR_TEXT_LIMIT, MIN_REDACTED_TOKEN
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)

if TYPE_CHECKING:
    import httpx

    from ._models import RateLimit


def request_id_of(response: httpx.Response) -> str | None:
    """The id the server gave this request, if any."""
    value: str | None = response.headers.get("x-request-id")
    return value


def redacts(secret: str | None) -> TypeGuard[str]:
    """Whether ``secret`` is long enough to be blanked out of text (see ``cut_text``)."""
    return secret is not None and len(secret) >= MIN_REDACTED_TOKEN


def _token_in(secret: str) -> re.Pattern[bytes]:
    # The token as a whole word only: never the middle of a longer run of letters,
    # digits or '_'.
    return re.compile(rb"(?<![A-Za-z0-9_])" + re.escape(secret.encode()) + rb"(?![A-Za-z0-9_])")


def shows(text: str, secret: str | None) -> bool:
    """Whether ``text`` shows ``secret`` (as ``cut_text`` would blank it out)."""
    return redacts(secret) and _token_in(secret).search(text.encode("utf-8", "replace")) is not None


def cut_text(content: bytes | str, secret: str | None = None) -> str:
    """Text for an error message: at most 1 KiB of UTF-8, never a decode error.

    ``secret`` (the token) is blanked out first, in case a proxy or a debugging
    server echoes the request headers into its error page: wherever it stands as a
    whole word, and only if it has at least ``MIN_REDACTED_TOKEN`` characters, so
    that redaction never corrupts ordinary text (token ``e`` must not turn "access"
    into "acc[redacted]ss").
    """
    data = content.encode("utf-8", "replace") if isinstance(content, str) else content
    if redacts(secret):
        data = _token_in(secret).sub(b"[redacted]", data)
    data = data[:ERROR_TEXT_LIMIT]
    # Cutting may split a multi-byte character: drop the partial tail, not the text.
    text = data.decode("utf-8", errors="replace")
    while len(text.encode("utf-8")) > ERROR_TEXT_LIMIT:
        text = text[:-1]
    return text


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_from_response(
    response: httpx.Response,
    rate_limit: RateLimit | None,
    attempts: int = 1,
    *,
    secret: str | None = None,
    retry_after: float | None = None,
) -> APIStatusError:
    """Map an error response to its typed exception, whatever its body holds.

    HTML, empty, non-JSON, wrongly typed, invalid UTF-8 or huge bodies all give an
    ``APIStatusError`` whose message is at most 1 KiB.
    """
    import httpx

    from ._retry import retry_after_seconds

    status = response.status_code
    content = response.content
    message, error_id, request_id = _error_fields(response, secret)
    if 300 <= status < 400:
        try:
            host = httpx.URL(response.headers.get("location", "")).host
        except (httpx.InvalidURL, ValueError):
            host = ""
        message = (
            f"unexpected redirect to {cut_text(host)[:255] or 'the same host'}; "
            "redirects are not followed (they could carry the token elsewhere)"
        )
    cls = _STATUS_ERRORS.get(status, ServerError if status >= 500 else APIStatusError)
    method: str | None = None
    path: str | None = None
    with contextlib.suppress(RuntimeError):  # a response built without its request
        method, path = response.request.method, response.request.url.path
    kwargs: dict[str, Any] = {
        "method": method,
        "path": path,
        "status_code": status,
        "error_id": error_id,
        "request_id": request_id,
        "rate_limit": rate_limit,
        "body": cut_text(content, secret),
        "attempts": attempts,
    }
    if cls is RateLimitError:
        return RateLimitError(
            message,
            retry_after=retry_after if retry_after is not None else retry_after_seconds(response),
            reset_at=rate_limit.reset_at if rate_limit else None,
            **kwargs,
        )
    return cls(message, **kwargs)


def _error_fields(
    response: httpx.Response, secret: str | None
) -> tuple[str, str | None, str | None]:
    """The message, error id and request id of an error response, whatever its body.

    The API's body is ``{"id": ..., "message": ..., "request_id": ...}``; any of these
    may be missing, and a proxy may answer with no JSON at all. A body that is not
    a JSON object is never shown: the message is one line naming the status, the
    content type and the size, so an HTML page cannot flood a log or a terminal.
    """
    status = response.status_code
    reason = response.reason_phrase or "error"
    request_id = response.headers.get("x-request-id")
    content = response.content
    try:
        body = json.loads(content) if content.strip() else None
    except (ValueError, UnicodeDecodeError):
        body = None
    message: str | None = None
    error_id: str | None = None
    if isinstance(body, dict):
        # The Tags API answers a bad request with {"error": ..., "root_causes": [...]}.
        message = _text(body.get("message"), secret) or _text(body.get("error"), secret)
        error_id = _text(body.get("id"), secret)
        request_id = (
            body.get("request_id") if isinstance(body.get("request_id"), str) else request_id
        )
        message = message or f"HTTP {status} {reason}"
    elif not content:
        message = f"HTTP {status} {reason} (empty body)"
    else:
        kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
        message = f"HTTP {status} {reason} ({cut_text(kind)[:80]} body of {len(content)} bytes)"
    return message, error_id, None if request_id is None else cut_text(request_id, secret)[:200]


def _text(value: object, secret: str | None) -> str | None:
    """A string field of an error body, cut and redacted; ``None`` if absent or not text."""
    if not isinstance(value, str) or not value.strip():
        return None
    return " ".join(cut_text(value, secret).split())


def transport_error(
    request: httpx.Request, exc: httpx.RequestError, attempt: int, secret: str
) -> APIConnectionError:
    """The typed error for a request that got no response (its cause is ``exc``)."""
    import httpx

    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    detail = cut_text(str(exc), secret)[:200]
    error = cls(
        f"{request.method} {request.url.path} failed ({type(exc).__name__}"
        f"{': ' + detail if detail else ''}) after {attempt} attempt(s)",
        attempts=attempt,
    )
    error.__cause__ = safe_cause(exc, secret)
    return error


def safe_cause(exc: httpx.RequestError, secret: str) -> BaseException:
    """``exc`` to chain as a cause, or a redacted stand-in if its chain shows the token."""
    link: BaseException | None = exc
    for _ in range(16):  # chains are short; a cyclic one must not hang us
        if link is None:
            return exc
        if shows(str(link), secret) or shows(repr(link.args), secret):
            break
        link = link.__cause__ or link.__context__
    stand_in = type(exc).__new__(type(exc))
    Exception.__init__(stand_in, cut_text(str(exc), secret))
    return stand_in
