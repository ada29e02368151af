"""Faults only a real socket shows, on a threaded HTTP server on 127.0.0.1, for both clients."""

from __future__ import annotations

import json
import logging
import socket
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from do_images import APIConnectionError, APIStatusError, AuthenticationError, ServerError
from support import (
    TOKEN,
    Driver,
    Drop,
    LoopbackServer,
    Reply,
    Reset,
    Seen,
    Stall,
    action_payload,
    assert_no_token,
    driver,
    image_payload,
)


class ImageActions:
    """Server state: the actions of image 7, committed when a POST arrives."""

    def __init__(self) -> None:
        self.actions: list[dict[str, Any]] = []

    def commit(self, seen: Seen) -> dict[str, Any]:
        body = json.loads(seen.body)
        started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        action = action_payload(
            100 + len(self.actions),
            type=body["type"],
            region=body.get("region"),
            started_at=started,
        )
        self.actions.append(action)
        return action

    def listing(self) -> Reply:
        return Reply(200, {"actions": self.actions, "links": {}, "meta": {}})


def test_dropped_connection_after_committed_transfer(kind: str) -> None:
    """The transfer the server committed before dropping the connection is returned: one POST."""
    state = ImageActions()

    def script(seen: Seen) -> Reply | Drop:
        if seen.method == "POST":
            state.commit(seen)
            return Drop()
        return state.listing()

    with LoopbackServer(script) as server, driver(kind, base_url=server.url) as do:
        action = do.image.transfer(7, "nyc3")
    assert server.count("POST") == 1
    assert [a["id"] for a in state.actions] == [action.id]


def test_stalled_read_after_committed_transfer(kind: str) -> None:
    """A POST whose answer never comes times out and is found, not re-sent."""
    state = ImageActions()

    def script(seen: Seen) -> Reply | Stall:
        if seen.method == "POST":
            state.commit(seen)
            return Stall()
        return state.listing()

    with LoopbackServer(script) as server, driver(kind, base_url=server.url, timeout=0.2) as do:
        action = do.image.transfer(7, "nyc3")
    assert server.count("POST") == 1
    assert [a["id"] for a in state.actions] == [action.id]


def test_stalled_get_is_retried(kind: str) -> None:
    """A GET whose first answer stalls past the read timeout is sent again and succeeds."""

    def script(seen: Seen) -> Reply | Stall:
        if len(server.seen) == 1:
            return Stall()
        return Reply(200, {"image": image_payload()})

    with LoopbackServer(script) as server, driver(kind, base_url=server.url, timeout=0.2) as do:
        image = do.image.info(7)
    assert image.id == 7
    assert server.count("GET") == 2
    assert do.sleeps == [0.5]


def test_reset_get_is_retried(kind: str) -> None:
    """A GET answered with a TCP reset is sent again and succeeds."""

    def script(seen: Seen) -> Reply | Reset:
        if len(server.seen) == 1:
            return Reset()
        return Reply(200, {"image": image_payload()})

    with LoopbackServer(script) as server, driver(kind, base_url=server.url) as do:
        image = do.image.info(7)
    assert image.id == 7
    assert server.count("GET") == 2


def test_reset_before_commit_sends_once_more(kind: str) -> None:
    """A convert reset before the server acted is looked up, then sent once more: one action."""
    state = ImageActions()

    def script(seen: Seen) -> Reply | Reset:
        if seen.method == "POST":
            if server.count("POST") == 1:
                return Reset()
            return Reply(201, {"action": state.commit(seen)})
        return state.listing()

    with LoopbackServer(script) as server, driver(kind, base_url=server.url) as do:
        action = do.image.convert(7)
    assert server.count("POST") == 2
    assert [a["id"] for a in state.actions] == [action.id]


def test_token_travels_in_exactly_one_header(kind: str) -> None:
    """On the wire the token is exactly one ``Authorization: Bearer`` header."""
    with (
        LoopbackServer(lambda seen: Reply(200, {"image": image_payload()})) as server,
        driver(kind, base_url=server.url, token=f" {TOKEN} ") as do,
    ):
        do.image.info(7)
    (seen,) = server.seen
    auth = [value for name, value in seen.headers if name.lower() == "authorization"]
    assert auth == [f"Bearer {TOKEN}"]
    assert sum(TOKEN in value for _, value in seen.headers) == 1


def test_header_injection_never_reaches_the_socket(kind: str) -> None:
    """A token carrying ``\\r\\nX-Injected:`` is refused before anything is sent."""
    with LoopbackServer(lambda seen: Reply(200, {"image": image_payload()})) as server:
        with pytest.raises(ValueError, match="token") as caught:
            Driver(kind, base_url=server.url, token=f"{TOKEN}\r\nX-Injected: 1")
        assert_no_token(caught.value)
    assert server.seen == []


def test_refused_connection_error_hides_the_token(kind: str) -> None:
    """A real connection failure, retried and raised, shows no token anywhere."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        driver(kind, base_url=f"http://127.0.0.1:{port}") as do,
        pytest.raises(APIConnectionError) as caught,
    ):
        do.image.info(7)
    assert caught.value.attempts == 3
    assert_no_token(caught.value)


def test_redirect_to_another_host_is_not_followed(kind: str) -> None:
    """A redirect to another host is not followed, even by a caller's following client."""
    with LoopbackServer(lambda seen: Reply(200, {"image": image_payload()})) as elsewhere:
        target = elsewhere.url.replace("127.0.0.1", "localhost") + "/v2/images/7"
        with LoopbackServer(lambda seen: Reply(302, None, {"Location": target})) as server:
            http: httpx.Client | httpx.AsyncClient
            if kind == "sync":
                http = httpx.Client(follow_redirects=True)
            else:
                http = httpx.AsyncClient(follow_redirects=True)
            with driver(kind, base_url=server.url, http_client=http) as do:
                with pytest.raises(APIStatusError, match="localhost"):
                    do.image.info(7)
                if isinstance(http, httpx.AsyncClient):
                    do.run(http.aclose())
                else:
                    http.close()
    assert elsewhere.seen == []
    assert server.count("GET") == 1


def test_exhausted_retries_leave_no_busy_connection(kind: str) -> None:
    """After the last retry fails, no connection of the pool is left in use."""
    with (
        LoopbackServer(lambda seen: Reply(503, {"id": "unavailable", "message": "down"})) as server,
        driver(kind, base_url=server.url) as do,
    ):
        with pytest.raises(ServerError) as caught:
            do.image.info(7)
        pool: Any = getattr(do.client._http, "_transport")._pool  # noqa: B009
        connections = list(pool.connections)
        assert all(connection.is_idle() for connection in connections)
        assert len(connections) <= 1  # keep-alive reused one connection for every attempt
    assert caught.value.attempts == 3
    assert server.count("GET") == 3


def test_real_socket_logs_hide_the_token(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    """At DEBUG, the records of do_images, httpx and httpcore on a real socket hold no token."""
    state = ImageActions()

    def script(seen: Seen) -> Reply | Drop:
        if seen.method == "POST":
            state.commit(seen)
            return Drop()
        if seen.path.endswith("/actions?per_page=200"):
            return state.listing()
        if server.count("GET") == 1:
            return Reply(503, {"id": "unavailable", "message": "down"})
        return Reply(401, {"id": "unauthorized", "message": "Unable to authenticate you"})

    with caplog.at_level(logging.DEBUG):
        for name in ("do_images", "httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        with LoopbackServer(script) as server, driver(kind, base_url=server.url) as do:
            with pytest.raises(AuthenticationError):
                do.image.info(7)
            do.image.transfer(7, "nyc3")
    loggers = {record.name.split(".")[0] for record in caplog.records}
    assert {"do_images", "httpx", "httpcore"} <= loggers
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in repr(record.args)
        assert TOKEN not in (record.exc_text or "")
