"""Shared fixtures: both clients, fake time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from _harness import KINDS
from helpers import Handler, Harness

MakeHarness = Callable[..., Harness]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once with ``Client`` and once with ``AsyncClient``."""
    value: str = request.param
    return value


@pytest.fixture
def make_harness(kind: str) -> Iterator[MakeHarness]:
    """Build a ``Harness`` of the current kind around a request handler."""
    made: list[Harness] = []

    def make(handler: Handler, **kwargs: Any) -> Harness:
        harness = Harness(kind, handler, **kwargs)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()
