"""Client construction: token sources, base URL rules, connection pools, context managers."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from do_images import AsyncClient, Client
from support import TOKEN, image_payload, json_response

CLIENTS = [Client, AsyncClient]


def ok(request: httpx.Request) -> httpx.Response:
    return json_response(200, {"image": image_payload(1)})


@pytest.mark.parametrize("cls", CLIENTS)
def test_token_from_argument_is_stripped(cls: type[Client] | type[AsyncClient]) -> None:
    """The token argument wins over the environment and loses surrounding whitespace."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return ok(request)

    env = {"DIGITALOCEAN_TOKEN": "from-env"}
    if cls is Client:
        with Client(f"  {TOKEN}\n", transport=httpx.MockTransport(handler), environ=env) as do:
            do.image.info(1)
    else:

        async def run() -> None:
            async with AsyncClient(
                f"\t{TOKEN} ", transport=httpx.MockTransport(handler), environ=env
            ) as do:
                await do.image.info(1)

        asyncio.run(run())
    assert seen == [f"Bearer {TOKEN}"]


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DIGITALOCEAN_TOKEN": "first", "DIGITALOCEAN_ACCESS_TOKEN": "second"}, "first"),
        ({"DIGITALOCEAN_ACCESS_TOKEN": " second "}, "second"),
        ({"DIGITALOCEAN_TOKEN": "  ", "DIGITALOCEAN_ACCESS_TOKEN": "second"}, "second"),
    ],
)
def test_token_from_environment(
    cls: type[Client] | type[AsyncClient], env: dict[str, str], expected: str
) -> None:
    """Without an argument: ``$DIGITALOCEAN_TOKEN``, else ``$DIGITALOCEAN_ACCESS_TOKEN``."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return ok(request)

    client = cls(transport=httpx.MockTransport(handler), environ=env)
    if isinstance(client, Client):
        client.image.info(1)
        client.close()
    else:

        async def run(c: AsyncClient) -> None:
            await c.image.info(1)
            await c.aclose()

        asyncio.run(run(client))
    assert seen == [f"Bearer {expected}"]


def test_token_from_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """By default the token variables are read from ``os.environ``."""
    monkeypatch.delenv("DIGITALOCEAN_TOKEN", raising=False)
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", "env-token")
    with Client(transport=httpx.MockTransport(ok)) as do:
        do.image.info(1)


@pytest.mark.parametrize("cls", CLIENTS)
def test_missing_token_names_both_variables(cls: type[Client] | type[AsyncClient]) -> None:
    """No token anywhere is a clear error that names both environment variables."""
    with pytest.raises(ValueError, match="DIGITALOCEAN_TOKEN") as caught:
        cls(environ={})
    assert "DIGITALOCEAN_ACCESS_TOKEN" in str(caught.value)


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize(
    "base_url",
    [
        "http://api.digitalocean.com",
        "ftp://api.digitalocean.com",
        "api.digitalocean.com",
        "http://10.0.0.1:8080",
        "https://api.digitalocean.com/?x=1",
    ],
)
def test_insecure_base_url_is_refused(cls: type[Client] | type[AsyncClient], base_url: str) -> None:
    """``base_url`` must be ``https://``; plain ``http://`` only for loopback hosts."""
    with pytest.raises(ValueError, match="base_url"):
        cls(TOKEN, base_url=base_url)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8080",
        "http://localhost:9",
        "http://[::1]:5000",
        "https://proxy.example/do/",
    ],
)
def test_loopback_http_and_https_prefixes_are_accepted(base_url: str) -> None:
    """Loopback hosts may use ``http://``; a path prefix is kept before ``/v2``."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return ok(request)

    with Client(TOKEN, base_url=base_url, transport=httpx.MockTransport(handler)) as do:
        do.image.info(1)
    assert seen == [base_url.rstrip("/") + "/v2/images/1"]


def test_repr_shows_base_url_not_token() -> None:
    """The client's repr names its base URL and never the token."""
    client = Client(TOKEN)
    try:
        assert repr(client) == "<Client base_url='https://api.digitalocean.com'>"
        assert TOKEN not in repr(client) + str(client) + repr(vars(client))
    finally:
        client.close()


def test_context_manager_closes_own_pool() -> None:
    """Leaving ``with Client()`` closes the client's own connection pool."""
    with Client(TOKEN, transport=httpx.MockTransport(ok)) as do:
        do.image.info(1)
    assert do._http.is_closed


def test_async_context_manager_closes_own_pool() -> None:
    """Leaving ``async with AsyncClient()`` closes the client's own connection pool."""

    async def run() -> AsyncClient:
        async with AsyncClient(TOKEN, transport=httpx.MockTransport(ok)) as do:
            await do.image.info(1)
        return do

    assert asyncio.run(run())._http.is_closed


def test_caller_http_client_is_used_and_not_closed() -> None:
    """A caller-supplied ``httpx.Client`` is used as is and left open."""
    http = httpx.Client(transport=httpx.MockTransport(ok))
    with Client(TOKEN, http_client=http) as do:
        assert do.image.info(1).id == 1
    assert not http.is_closed
    http.close()


def test_caller_async_http_client_is_used_and_not_closed() -> None:
    """A caller-supplied ``httpx.AsyncClient`` is used as is and left open."""

    async def run() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(ok))
        async with AsyncClient(TOKEN, http_client=http) as do:
            assert (await do.image.info(1)).id == 1
        assert not http.is_closed
        await http.aclose()

    asyncio.run(run())


def test_http_client_of_the_wrong_kind_is_refused() -> None:
    """An ``AsyncClient`` cannot be handed a sync ``httpx.Client`` and vice versa."""
    sync_http = httpx.Client()
    async_http = httpx.AsyncClient()
    try:
        with pytest.raises(TypeError):
            AsyncClient(TOKEN, http_client=sync_http)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            Client(TOKEN, http_client=async_http)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="not both"):
            Client(TOKEN, http_client=sync_http, transport=httpx.MockTransport(ok))
    finally:
        sync_http.close()
        asyncio.run(async_http.aclose())


@pytest.mark.parametrize(
    ("max_retries", "error"),
    [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)],
)
def test_bad_max_retries_is_refused(max_retries: object, error: type[Exception]) -> None:
    """``max_retries`` must be an int (``TypeError``) of 0 or more (``ValueError``)."""
    with pytest.raises(error, match="max_retries"):
        Client(TOKEN, max_retries=max_retries)  # type: ignore[arg-type]


def test_user_agent_is_prefixed() -> None:
    """A caller's ``user_agent`` comes first; the SDK's own product token follows."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["user-agent"])
        return ok(request)

    with Client(TOKEN, user_agent="my-tool/1.0", transport=httpx.MockTransport(handler)) as do:
        do.image.info(1)
    assert seen[0].startswith("my-tool/1.0 do_images/")
    with pytest.raises(ValueError, match="user_agent"):
        Client(TOKEN, user_agent="bad\r\nX-Evil: 1")
