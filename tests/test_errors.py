"""Error responses map to the typed tree in API.md, whatever their body holds."""

from __future__ import annotations

import httpx
import pytest

from do_images import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    DoImagesError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    UnprocessableEntityError,
)
from support import MakeDriver, json_response

STATUS_ERRORS: list[tuple[int, type[APIStatusError]]] = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, ServerError),
    (503, ServerError),
    (418, APIStatusError),
]


@pytest.mark.parametrize(("status", "error_type"), STATUS_ERRORS)
def test_status_maps_to_typed_error(
    make_driver: MakeDriver, status: int, error_type: type[APIStatusError]
) -> None:
    """Each error status raises its class with the DO body's id, message and request id."""
    body = {"id": "some_error", "message": "it went wrong", "request_id": "req-123"}
    headers = {
        "ratelimit-limit": "250",
        "ratelimit-remaining": "7",
        "ratelimit-reset": "1700000000",
    }
    harness = make_driver(lambda r: json_response(status, body, headers), max_retries=0)
    with pytest.raises(error_type) as caught:
        harness.image.info(42)
    error = caught.value
    assert type(error) is error_type
    assert isinstance(error, DoImagesError)
    assert (error.status_code, error.error_id, error.message) == (
        status,
        "some_error",
        "it went wrong",
    )
    assert error.request_id == "req-123"
    assert error.rate_limit is not None
    assert error.rate_limit.remaining == 7
    assert "req-123" in str(error)


def test_request_id_header_used_when_body_has_none(make_driver: MakeDriver) -> None:
    """Without a ``request_id`` in the body the ``x-request-id`` header identifies the request."""
    body = {"id": "not_found", "message": "The resource you requested could not be found."}
    harness = make_driver(lambda r: json_response(404, body, {"x-request-id": "hdr-9"}))
    with pytest.raises(NotFoundError) as caught:
        harness.image.info(42)
    assert caught.value.request_id == "hdr-9"
    assert caught.value.error_id == "not_found"


@pytest.mark.parametrize(
    "content",
    [
        b"<html><body>502 Bad Gateway</body></html>",
        b"",
        b"{}",
        b"[1, 2]",
        b"\xff\xfe not utf-8",
        b"x" * 3_000_000,
    ],
    ids=["html", "empty", "empty-object", "wrong-type", "invalid-utf8", "huge"],
)
def test_non_json_error_body_gives_typed_error(make_driver: MakeDriver, content: bytes) -> None:
    """A body that is not the DO error shape gives a typed error with at most 1 KiB of text."""
    harness = make_driver(
        lambda r: httpx.Response(403, content=content, headers={"x-request-id": "rq"})
    )
    with pytest.raises(PermissionDeniedError) as caught:
        harness.image.info(42)
    error = caught.value
    assert error.error_id is None
    assert error.request_id == "rq"
    assert len(error.message) <= 1024
    assert len(error.body) <= 1024
    assert "\n" not in error.message
    assert error.message.startswith("HTTP 403 Forbidden")
    if content.startswith(b"<html>"):
        # The page itself is never the message: one line says what came back.
        assert "Bad Gateway" not in error.message
        assert "41 bytes" in error.message


@pytest.mark.parametrize(
    ("body", "headers", "message", "request_id"),
    [
        ({"message": "Slow down."}, {"x-request-id": "h1"}, "Slow down.", "h1"),
        ({"message": "Gone.", "request_id": "b2"}, {"x-request-id": "h2"}, "Gone.", "b2"),
        ({"error": "teapot"}, {"x-request-id": "h3"}, "teapot", "h3"),  # the Tags API's shape
        ({"id": "forbidden", "message": "two\nlines"}, {}, "two lines", None),
    ],
)
def test_error_body_without_id_still_gives_message_and_request_id(
    make_driver: MakeDriver,
    body: dict[str, str],
    headers: dict[str, str],
    message: str,
    request_id: str | None,
) -> None:
    """``message`` and ``request_id`` come from the body or the header, with or without ``id``."""
    harness = make_driver(lambda r: json_response(403, body, headers))
    with pytest.raises(PermissionDeniedError) as caught:
        harness.image.info(42)
    assert (caught.value.message, caught.value.request_id) == (message, request_id)


def test_an_html_error_page_gives_one_short_line(make_driver: MakeDriver) -> None:
    """A proxy's HTML page becomes status, content type and size, never the page."""
    page = b"<html><head><title>502</title></head><body>" + b"<p>x</p>\n" * 500 + b"</body></html>"
    harness = make_driver(
        lambda r: httpx.Response(
            502, content=page, headers={"content-type": "text/html; charset=utf-8"}
        )
    )
    with pytest.raises(ServerError) as caught:
        harness.image.info(42, max_retries=0)
    assert caught.value.message == f"HTTP 502 Bad Gateway (text/html body of {len(page)} bytes)"


def test_rate_limit_error_carries_retry_after(make_driver: MakeDriver) -> None:
    """A 429 carries ``retry_after`` and ``reset_at`` from its headers."""
    headers = {
        "retry-after": "30",
        "ratelimit-limit": "250",
        "ratelimit-remaining": "0",
        "ratelimit-reset": "1700000060",
    }
    body = {"id": "too_many_requests", "message": "API rate limit exceeded."}
    harness = make_driver(lambda r: json_response(429, body, headers), max_retries=0)
    with pytest.raises(RateLimitError) as caught:
        harness.image.list()
    assert caught.value.retry_after == 30
    assert caught.value.reset_at is not None
    assert caught.value.reset_at.timestamp() == 1700000060


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"image": {"id": "seven"}}',
        b'{"image": []}',
        b'{"images": []}',
        b'{"image": {"id": 1, "created_at": "yesterday"}}',
        b'{"image": {"id": 1, "created_at": "2014-11-04T22:23:02"}}',
    ],
    ids=["not-json", "string-id", "list-for-object", "wrong-envelope", "bad-date", "naive-date"],
)
def test_malformed_success_body_is_response_validation_error(
    make_driver: MakeDriver, content: bytes
) -> None:
    """A 200 whose body does not fit raises ``ResponseValidationError`` with the raw body."""
    harness = make_driver(
        lambda r: httpx.Response(200, content=content, headers={"x-request-id": "rq-7"})
    )
    with pytest.raises(ResponseValidationError) as caught:
        harness.image.info(1)
    assert caught.value.body == content.decode()
    assert caught.value.request_id == "rq-7"
    assert caught.value.__cause__ is None
    assert "/v2/images/1" in str(caught.value)


def test_malformed_list_body_is_response_validation_error(make_driver: MakeDriver) -> None:
    """A list page with an image that is not an object fails as ``ResponseValidationError``."""
    body = {"images": [{"id": 1}, "oops"], "meta": {"total": 2}}
    harness = make_driver(lambda r: json_response(200, body))
    with pytest.raises(ResponseValidationError):
        harness.image.list()
