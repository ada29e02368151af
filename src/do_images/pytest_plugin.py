"""The pytest plugin: a fresh sandbox and clients wired to it, for your tests.

Installing ``do-images`` registers it (entry point ``pytest11``, name ``do_images``):

- ``do_sandbox``: a fresh ``Sandbox`` per test; ``@pytest.mark.do_sandbox(**kwargs)``
  passes options to it (``seed=False``, ``import_seconds=900``, ``start=...``);
- ``do_client``: a ``Client`` wired to it (waits advance its virtual clock), closed after;
- ``do_async_client``: an ``AsyncClient`` likewise, an async fixture: run such tests with
  pytest-asyncio (``asyncio_mode = "auto"``) or anyio (``@pytest.mark.anyio``).

Loading the plugin imports neither httpx nor pydantic: they come with the first fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._client import AsyncClient, Client
    from .testing import Sandbox

MARKER = "do_sandbox"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**kwargs): options for the do_sandbox fixture's Sandbox (seed=False, "
        "import_seconds=900, start=..., requests_per_minute=None, ...)",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(MARKER))):  # nearest wins
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword arguments only")
        options.update(marker.kwargs)
    return options


@pytest.fixture
def do_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """A fresh in-memory DigitalOcean Images API for this test."""
    from .testing import Sandbox

    return Sandbox(**_options(request))


@pytest.fixture
def do_client(do_sandbox: Sandbox) -> Iterator[Client]:
    """A ``Client`` wired to ``do_sandbox``; closed after the test."""
    with do_sandbox.client() as client:
        yield client


@pytest.fixture
async def do_async_client(do_sandbox: Sandbox) -> AsyncIterator[AsyncClient]:
    """An ``AsyncClient`` wired to ``do_sandbox``; closed after the test."""
    async with do_sandbox.async_client() as client:
        yield client
