"""The token never leaks, bad input is refused before sending, hostile bodies stay typed."""

from __future__ import annotations

import copy
import json
import logging
import pickle
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from do_images import (
    APIStatusError,
    AsyncClient,
    BadRequestError,
    Client,
    DoImagesError,
    NotFoundError,
    ServerError,
    UnprocessableEntityError,
)
from support import (
    TOKEN,
    Driver,
    assert_no_token,
    driver,
    error_response,
    image_payload,
    json_response,
)

# ------------------------------------------------------------------- repr, pickle


def test_repr_and_str_hide_the_token(kind: str) -> None:
    """No ``repr``/``str`` of the client or its parts shows the token."""
    with driver(kind, lambda request: httpx.Response(204)) as do:
        client = do.client
        for thing in (client, client.image, client._session, client._session._headers):
            assert TOKEN not in repr(thing)
            assert TOKEN not in str(thing)


@pytest.mark.parametrize(
    "dump", [pickle.dumps, lambda thing: pickle.dumps(thing, protocol=0), copy.deepcopy]
)
def test_client_refuses_pickling(kind: str, dump: Callable[[Any], Any]) -> None:
    """A client (or its ``image`` resource) cannot be pickled, so the token stays in memory."""
    with driver(kind, lambda request: httpx.Response(204)) as do:
        for thing in (do.client, do.client.image):
            with pytest.raises(TypeError, match="cannot be pickled") as caught:
                dump(thing)
            assert_no_token(caught.value)


def test_exceptions_pickle_without_token(kind: str) -> None:
    """A raised API error survives a pickle round trip, and its pickle holds no token."""
    with (
        driver(kind, lambda request: error_response(404)) as do,
        pytest.raises(NotFoundError) as caught,
    ):
        do.image.info(7)
    data = pickle.dumps(caught.value)
    assert TOKEN.encode() not in data
    copy_ = pickle.loads(data)
    assert type(copy_) is NotFoundError
    assert vars(copy_) == vars(caught.value)
    assert str(copy_) == str(caught.value)


# ----------------------------------------------------------------- token checks


BAD_TOKENS = [
    TOKEN + "\r\nX-Injected: 1",
    TOKEN[:10] + "\n" + TOKEN[10:],
    TOKEN + "\x00",
    TOKEN[:10] + "\x7f" + TOKEN[10:],
    TOKEN[:10] + " " + TOKEN[10:],
    TOKEN[:10] + "\t" + TOKEN[10:],
    TOKEN + "é",
    TOKEN[:10] + "\u2028" + TOKEN[10:],
    "",
    "   ",
]


@pytest.mark.parametrize("bad", BAD_TOKENS)
@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_token_with_control_characters_is_refused_silently(
    client_class: type[Client | AsyncClient], bad: str
) -> None:
    """A token that could break or inject a header is refused without echoing it."""
    with pytest.raises(ValueError, match="token") as caught:
        client_class(bad, environ={})
    assert_no_token(caught.value)
    if bad.strip():
        assert bad.strip() not in str(caught.value)


@pytest.mark.parametrize("bad", BAD_TOKENS[:2])
def test_token_from_environment_is_checked_too(bad: str) -> None:
    """A token from the environment gets the same check."""
    with pytest.raises(ValueError, match="token") as caught:
        Client(environ={"DIGITALOCEAN_TOKEN": bad})
    assert_no_token(caught.value)


# --------------------------------------------------------------- errors and logs


def echo_token(request: httpx.Request) -> httpx.Response:
    """A misbehaving proxy that echoes the request's headers into its error page."""
    return httpx.Response(502, text=f"<pre>{request.headers['authorization']}</pre>")


def _raise(error: Exception) -> httpx.Response:
    raise error


def _raise_chained(request: httpx.Request) -> httpx.Response:
    """A transport error whose own context (say, a lower layer's) shows the header."""
    try:
        raise OSError(f"lower layer saw {request.headers['authorization']}")
    except OSError as lower:
        raise httpx.ReadError("connection lost") from lower


FAILURES: dict[str, tuple[Callable[[httpx.Request], httpx.Response], str]] = {
    "401": (lambda request: error_response(401, "Unable to authenticate you"), "info"),
    "500 exhausted": (lambda request: error_response(500), "info"),
    "connect error": (lambda request: _raise(httpx.ConnectError("refused")), "info"),
    "read timeout": (lambda request: _raise(httpx.ReadTimeout("slow")), "info"),
    "invalid body": (lambda request: json_response(200, {"image": {"id": "x"}}), "info"),
    "unknown outcome": (lambda request: _raise(httpx.ReadTimeout("slow")), "create"),
    "echoed token": (echo_token, "info"),
    "echoed token json": (
        lambda request: error_response(400, f"bad header {request.headers['authorization']}"),
        "info",
    ),
    "echoed in context": (_raise_chained, "info"),
    "echoed in exception": (
        lambda request: _raise(httpx.ReadError(f"lost {request.headers['authorization']}")),
        "info",
    ),
    # A 200 whose body echoes the header and does not fit: the error keeps the body.
    "echoed in invalid image": (
        lambda request: json_response(
            200, {"image": {"id": "7", "name": request.headers["authorization"]}}
        ),
        "info",
    ),
    "echoed in invalid page": (
        lambda request: json_response(
            200, {"images": [{"id": "7", "name": request.headers["authorization"]}]}
        ),
        "list",
    ),
    "echoed in invalid action": (
        lambda request: json_response(
            201, {"action": {"id": 1, "status": request.headers["authorization"]}}
        ),
        "convert",
    ),
}


def _call(do: Driver, method: str) -> None:
    if method == "create":
        do.image.create("img", "https://example.com/i.img", "nyc3")
    elif method == "list":
        do.image.list()
    else:
        getattr(do.image, method)(7)


@pytest.mark.parametrize("failure", FAILURES)
def test_errors_and_their_chains_hide_the_token(kind: str, failure: str) -> None:
    """No exception, cause, context or rendered traceback shows the token."""
    handler, method = FAILURES[failure]
    with driver(kind, handler) as do, pytest.raises(DoImagesError) as caught:
        _call(do, method)
    assert_no_token(caught.value)


@pytest.mark.parametrize("failure", FAILURES)
def test_log_records_hide_the_token(
    kind: str, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No log record at any level, from any logger, shows the token."""
    handler, method = FAILURES[failure]
    with caplog.at_level(logging.DEBUG):
        for name in ("do_images", "httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        with driver(kind, handler) as do, pytest.raises(DoImagesError):
            _call(do, method)
    assert caplog.records, "the retries should have been logged"
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in (record.exc_text or "")


# ------------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_is_not_followed_even_by_a_following_http_client(kind: str, status: int) -> None:
    """A redirect is never followed, even when the caller's ``http_client`` would."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, headers={"location": "https://evil.example/steal"})

    transport = httpx.MockTransport(handler)
    http: httpx.Client | httpx.AsyncClient
    if kind == "sync":
        http = httpx.Client(transport=transport, follow_redirects=True)
    else:
        http = httpx.AsyncClient(transport=transport, follow_redirects=True)
    with driver(kind, http_client=http) as do:
        with pytest.raises(APIStatusError, match=r"evil\.example") as caught:
            do.image.info(7)
        if isinstance(http, httpx.AsyncClient):
            do.run(http.aclose())
        else:
            http.close()
    assert [request.url.host for request in seen] == ["api.digitalocean.com"]
    assert caught.value.status_code == status


# ----------------------------------------------------------------- path safety

PATH = re.compile(rb"/v2/images/([^/?#]+)(?:/actions(?:/([^/?#]+))?)?")

ANY_ARGUMENT = st.one_of(
    st.text(),
    st.text(alphabet="./%?#\\ \r\n\x00-_~@:;=&+abc0123"),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True),
    st.binary(max_size=8),
    st.sampled_from(["..", ".", "%2e%2e", "%2F", "a/b", "7?x=1", "7#f", "//evil", "\\..\\"]),
)

CALLS: list[tuple[str, Callable[[Any, Any], tuple[Any, ...]]]] = [
    ("info", lambda a, b: (a,)),
    ("update", lambda a, b: (a, "name")),
    ("destroy", lambda a, b: (a,)),
    ("transfer", lambda a, b: (a, b)),
    ("convert", lambda a, b: (a,)),
    ("action_list", lambda a, b: (a,)),
    ("action_info", lambda a, b: (a, b)),
]


def answer(request: httpx.Request) -> httpx.Response:
    """Whatever the call, a body that fits it."""
    if request.url.path.endswith("/actions") and request.method == "GET":
        return json_response(200, {"actions": [], "links": {}, "meta": {"total": 0}})
    if "/actions" in request.url.path:
        action = {"id": 1, "status": "in-progress", "type": "transfer", "resource_id": 1}
        return json_response(200, {"action": action})
    if request.method == "DELETE":
        return httpx.Response(204)
    return json_response(200, {"image": image_payload()})


@pytest.mark.parametrize(("method", "arguments"), CALLS)
def test_arguments_never_escape_their_path_segment(
    kind: str, method: str, arguments: Callable[[Any, Any], tuple[Any, ...]]
) -> None:
    """For any argument the path is ``/v2/images/<seg>[/actions[/<seg>]]``, or nothing is sent."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answer(request)

    with driver(kind, handler) as do:

        @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(first=ANY_ARGUMENT, second=ANY_ARGUMENT)
        def check(first: Any, second: Any) -> None:
            sent.clear()
            try:
                getattr(do.image, method)(*arguments(first, second))
            except (ValueError, TypeError):
                assert sent == [], "a refused call must send nothing"
                return
            assert sent
            for request in sent:
                assert request.url.host == "api.digitalocean.com"
                raw = request.url.raw_path.split(b"?")[0]
                match = PATH.fullmatch(raw)
                assert match is not None, raw
                for segment in match.groups():
                    assert segment not in (b".", b"..", b"%2e%2e", b"%2E%2E")

        check()


# ------------------------------------------------------------------ error bodies

HOSTILE_BODIES: dict[str, bytes] = {
    "html": b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    "empty": b"",
    "empty object": b"{}",
    "list": b"[1, 2, 3]",
    "string": b'"oops"',
    "number": b"42",
    "null": b"null",
    "wrong types": b'{"id": 5, "message": ["a"]}',
    "null message": b'{"id": "x", "message": null}',
    "invalid utf-8": b'{"id": "x", "message": "\xff\xfe\xfa"}',
    "invalid utf-8 raw": b"\xff\xfe\xfa\x80" * 10,
    "megabytes": b"x" * (5 * 1024 * 1024),
    "megabytes json": json.dumps({"id": "x", "message": "é" * (3 * 1024 * 1024)}).encode(),
    "megabytes of multibyte": "€".encode() * (1024 * 1024),
    "truncated json": b'{"id": "x", "mess',
}


@pytest.mark.parametrize("body", HOSTILE_BODIES)
@pytest.mark.parametrize(
    ("status", "error"), [(400, BadRequestError), (404, NotFoundError), (500, ServerError)]
)
def test_hostile_error_bodies_give_typed_errors(
    kind: str, body: str, status: int, error: type[APIStatusError]
) -> None:
    """Any error body gives the status's typed error with a message of at most 1 KiB."""
    content = HOSTILE_BODIES[body]
    with (
        driver(kind, lambda request: httpx.Response(status, content=content), max_retries=0) as do,
        pytest.raises(error) as caught,
    ):
        do.image.info(7)
    assert caught.value.status_code == status
    assert len(caught.value.message.encode()) <= 1024
    assert len(caught.value.body.encode()) <= 1024
    assert caught.value.message


# -------------------------------------------------------------------- regions


@pytest.mark.parametrize("region", ["atl1", "nyc3", "syd1", "zz9"])
def test_region_format_only_is_checked(kind: str, region: str) -> None:
    """A well-formed region slug is sent even if the spec does not list it."""
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return error_response(422, "region not available")

    with driver(kind, handler) as do, pytest.raises(UnprocessableEntityError):
        do.image.transfer(7, region)
    assert bodies == [{"type": "transfer", "region": region}]


def test_unknown_region_404_is_typed(kind: str) -> None:
    """The server's 404 for a region is a ``NotFoundError``."""
    with driver(kind, lambda request: error_response(404)) as do, pytest.raises(NotFoundError):
        do.image.transfer(7, "atl1")


@pytest.mark.parametrize(
    "region", ["NYC3", "nyc-3", "", "n", "nyc3/../x", "nyc3 ", "ny c3", 3, None]
)
def test_malformed_region_is_refused_before_sending(kind: str, region: Any) -> None:
    """A region that is not lowercase letters and digits is refused before sending."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    with driver(kind, handler) as do, pytest.raises((ValueError, TypeError)):
        do.image.transfer(7, region)
    assert sent == []
