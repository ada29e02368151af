"""Shared fixtures: both kinds of client, one driver maker, one spec-checked sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from do_images.testing import Sandbox
from sandbox_support import assert_spec_valid
from support import KINDS, SANDBOX_START, Driver, Handler, MakeDriver, driver

pytest_plugins = ["pytester"]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once with ``Client`` and once with ``AsyncClient``."""
    value: str = request.param
    return value


@pytest.fixture
def make_driver(kind: str) -> Iterator[MakeDriver]:
    """Build a ``Driver`` of the current kind around a request handler; closed afterwards."""
    made: list[Driver] = []

    def make(handler: Handler, **kwargs: Any) -> Driver:
        driver = Driver(kind, handler, **kwargs)
        made.append(driver)
        return driver

    yield make
    for made_driver in made:
        made_driver.close()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox; every response it gave is checked against the spec afterwards."""
    sandbox = Sandbox(start=SANDBOX_START)
    yield sandbox
    assert_spec_valid(sandbox)


@pytest.fixture
def do(kind: str, sandbox: Sandbox) -> Iterator[Driver]:
    """Either client, wired to the spec-checked ``sandbox`` (waits advance its clock).

    Modules that need another sandbox define a ``do`` of their own."""
    client = sandbox.client() if kind == "sync" else sandbox.async_client()
    with driver(kind, client=client) as made:
        yield made


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """One S3-compatible server (moto's server mode) on 127.0.0.1 for the whole run."""
    from spaces_support import moto_server

    with moto_server() as url:
        yield url


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    """A new, empty bucket on that server."""
    from spaces_support import new_bucket

    return new_bucket(s3_endpoint)
