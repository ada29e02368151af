"""The sandbox over real HTTP on 127.0.0.1, and under concurrent use."""

from __future__ import annotations

import _thread
import asyncio
import socket
import threading

import httpx
import pytest

from do_images import APIConnectionError, AsyncClient, Client, DoImagesError
from do_images.testing import Sandbox
from support import SANDBOX_START

START = SANDBOX_START
SNAPSHOT = 180040001
TOKEN = "dop_v1_served"


def served_client(sandbox: Sandbox, base_url: str) -> Client:
    """A client over HTTP whose waits still advance the sandbox's clock."""
    return Client(TOKEN, base_url=base_url, sleep=sandbox.advance, clock=sandbox.clock)


def assert_refused(port: int) -> None:
    """Nothing listens on ``port`` of 127.0.0.1."""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_serve_yields_a_loopback_base_url(sandbox: Sandbox) -> None:
    """``serve()`` yields ``http://127.0.0.1:<port>`` with a port of its own choosing."""
    with sandbox.serve() as base_url:
        url = httpx.URL(base_url)
        assert (url.scheme, url.host) == ("http", "127.0.0.1")
        assert url.port


def test_serve_stops_listening_when_the_block_ends(sandbox: Sandbox) -> None:
    """After the ``with`` block nothing listens on the port any more."""
    with sandbox.serve() as base_url:
        port = httpx.URL(base_url).port
    assert port is not None
    assert_refused(port)


def test_serve_refuses_a_non_loopback_host(sandbox: Sandbox) -> None:
    """The sandbox accepts any token, so it is never served beyond loopback."""
    with pytest.raises(ValueError, match="loopback"), sandbox.serve("0.0.0.0"):
        pass


def test_served_list_pages_through_links_on_the_served_url(sandbox: Sandbox) -> None:
    """Over HTTP, ``iter(per_page=4)`` follows next links on the served host and port."""
    with sandbox.serve() as base_url, served_client(sandbox, base_url) as do:
        ids = [image.id for image in do.image.iter(per_page=4)]
    assert ids == [image.id for image in sandbox.images]
    first_page = sandbox.requests[0].json()
    assert first_page["links"]["pages"]["next"].startswith(base_url + "/v2/images?")


def test_served_transfer_wait_completes(sandbox: Sandbox) -> None:
    """``transfer(wait=True)`` over HTTP completes on the virtual clock."""
    with sandbox.serve() as base_url, served_client(sandbox, base_url) as do:
        action = do.image.transfer(SNAPSHOT, "sgp1", wait=True)
        assert action.status == "completed"
        assert "sgp1" in (do.image.info(SNAPSHOT).regions or [])


async def test_served_async_client_works(sandbox: Sandbox) -> None:
    """``AsyncClient`` gets the same answers over HTTP."""

    async def advance(seconds: float) -> None:
        sandbox.advance(seconds)

    with sandbox.serve() as base_url:
        async with AsyncClient(TOKEN, base_url=base_url, sleep=advance, clock=sandbox.clock) as do:
            action = await do.image.convert(180040003, wait=True)
            image = await do.image.info(180040003)
    assert (action.status, image.type) == ("completed", "snapshot")


def test_served_drop_closes_the_connection_after_committing(sandbox: Sandbox) -> None:
    """A dropped response over HTTP is a closed connection; the change was made all the same."""
    sandbox.drop_next()
    with (
        sandbox.serve() as base_url,
        httpx.Client(base_url=base_url) as http,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        http.put(
            f"/v2/images/{SNAPSHOT}",
            json={"name": "renamed"},
            headers={"authorization": f"Bearer {TOKEN}"},
        )
    assert next(i for i in sandbox.images if i.id == SNAPSHOT).name == "renamed"


def test_served_dropped_transfer_is_sent_once(sandbox: Sandbox) -> None:
    """A transfer whose response is lost over HTTP reaches the server exactly once."""
    sandbox.drop_next(method="POST")
    with sandbox.serve() as base_url, served_client(sandbox, base_url) as do:
        action = do.image.transfer(SNAPSHOT, "sgp1")
    assert sandbox.count("POST") == 1
    assert [a.id for a in sandbox.actions if a.type == "transfer" and a.region_slug == "sgp1"] == [
        action.id
    ]


def test_served_dropped_create_is_not_repeated(sandbox: Sandbox) -> None:
    """A custom image create whose response is lost is reported, never sent twice."""
    sandbox.drop_next(method="POST")
    before = len(sandbox.images)
    with (
        sandbox.serve() as base_url,
        served_client(sandbox, base_url) as do,
        pytest.raises(DoImagesError),
    ):
        do.image.create("img", "https://example.com/img.qcow2", "nyc3")
    assert sandbox.count("POST") == 1
    assert len(sandbox.images) == before + 1


def test_in_process_drop_raises_a_transport_error(sandbox: Sandbox) -> None:
    """In-process, a dropped response is an ``httpx.RemoteProtocolError`` after the change."""
    sandbox.drop_next(method="DELETE")
    with (
        httpx.Client(transport=sandbox.transport(), base_url="https://sandbox.invalid") as http,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        http.delete(f"/v2/images/{SNAPSHOT}", headers={"authorization": f"Bearer {TOKEN}"})
    assert SNAPSHOT not in {image.id for image in sandbox.images}


def test_serve_forever_serves_until_interrupted(sandbox: Sandbox) -> None:
    """``serve_forever`` announces its URL, answers, and Ctrl-C stops it and frees the port."""
    statuses: list[int] = []
    urls: list[str] = []

    def client_then_ctrl_c(base_url: str) -> None:
        try:
            with httpx.Client(base_url=base_url) as http:
                statuses.append(http.get("/v2/images").status_code)
        finally:
            _thread.interrupt_main()  # what Ctrl-C does to the serving (main) thread

    def ready(base_url: str) -> None:
        urls.append(base_url)
        threading.Thread(target=client_then_ctrl_c, args=(base_url,)).start()

    sandbox.serve_forever(ready=ready)
    assert statuses == [401]
    port = httpx.URL(urls[0]).port
    assert port is not None
    assert_refused(port)


# ------------------------------------------------------------------ concurrency


def test_threads_share_one_sandbox_consistently(sandbox: Sandbox) -> None:
    """Eight threads with their own clients: every request counted once, every id unique."""
    created: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with sandbox.client() as do:
                for n in range(10):
                    do.image.info(SNAPSHOT)
                    created.append(do.image.create(f"c{n}", "https://e.com/i.img", "nyc3").id)
        except BaseException as exc:  # reported below, where pytest can see it
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(created)) == len(created) == 80
    assert sandbox.count() == 160
    with sandbox.client() as do:
        do.image.info(SNAPSHOT)
        assert do.rate_limit is not None
        assert do.rate_limit.remaining == 5000 - 161


def test_threads_over_http_see_every_request(sandbox: Sandbox) -> None:
    """Concurrent clients over HTTP: the server answers all of them, none twice."""

    def work(base_url: str) -> None:
        with Client(TOKEN, base_url=base_url) as do:
            for _ in range(5):
                do.image.info("ubuntu-24-04-x64")

    with sandbox.serve() as base_url:
        threads = [threading.Thread(target=work, args=(base_url,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sandbox.count("GET", "images_get") == 30


async def test_async_tasks_share_one_sandbox(sandbox: Sandbox) -> None:
    """Fifty concurrent tasks on one ``AsyncClient`` each get their answer."""
    async with sandbox.async_client() as do:
        images = await asyncio.gather(*(do.image.info(SNAPSHOT) for _ in range(50)))
    assert {image.id for image in images} == {SNAPSHOT}
    assert sandbox.count() == 50


def test_client_keyword_arguments_reach_the_client(sandbox: Sandbox) -> None:
    """``sandbox.client(max_retries=0)`` gives a client that does not retry."""
    sandbox.fail_next(503)
    with sandbox.client(max_retries=0) as do, pytest.raises(DoImagesError):
        do.image.info(SNAPSHOT)
    assert sandbox.count() == 1


def test_connection_error_is_typed_for_a_closed_server(sandbox: Sandbox) -> None:
    """A client pointed at a stopped sandbox gets ``APIConnectionError``."""
    with sandbox.serve() as base_url:
        pass
    with (
        Client(TOKEN, base_url=base_url, max_retries=0) as do,
        pytest.raises(APIConnectionError),
    ):
        do.image.info(SNAPSHOT)
