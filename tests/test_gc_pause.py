"""The cyclic collector is paused while a page is parsed, and left exactly as it was."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from do_images import ResponseValidationError
from do_images._gc import collector_paused
from do_images._models import JsonValidator
from do_images.testing import Sandbox
from support import driver, json_response


@pytest.fixture
def collector() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


@pytest.fixture
def during(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the collector was on, for every validation of a page."""
    seen: list[bool] = []
    real = JsonValidator.validate_json

    def recording(self: JsonValidator[object], data: bytes | bytearray | str) -> object:
        seen.append(gc.isenabled())
        return real(self, data)

    monkeypatch.setattr(JsonValidator, "validate_json", recording)
    return seen


def many(sandbox: Sandbox, count: int = 450) -> None:
    for number in range(count):
        sandbox.add_image(f"img-{number}")


@pytest.mark.parametrize("enabled", [True, False])
def test_list_pauses_it_and_restores_it(
    kind: str, collector: None, during: list[bool], enabled: bool
) -> None:
    """``list()`` parses each page with the collector off, then leaves it as it found it."""
    sandbox = Sandbox(seed=False)
    many(sandbox)
    (gc.enable if enabled else gc.disable)()
    client = sandbox.client() if kind == "sync" else sandbox.async_client()
    with driver(kind, client=client) as do:
        assert len(do.image.list()) == 450
    assert during == [False, False, False]  # three pages, each parsed with it off
    assert gc.isenabled() is enabled  # as it was: on stays on, off stays off


def test_four_threads_restore_it_once_all_are_done(collector: None, during: list[bool]) -> None:
    """``page_concurrency=4`` against a slow server: pages parse on threads at once."""
    sandbox = Sandbox(seed=False)
    many(sandbox, 1000)
    gc.enable()
    with sandbox.serve() as base_url:
        from do_images import Client

        with Client("dop_v1_page_threads_token", base_url=base_url, page_concurrency=4) as do:
            assert len(do.image.list()) == 1000
    assert during
    assert not any(during)
    assert gc.isenabled()


def test_nested_and_concurrent_pauses_count() -> None:
    """Overlapping pauses in two threads keep the collector off until the last one ends."""
    was = gc.isenabled()
    gc.enable()
    try:
        entered, release = threading.Event(), threading.Event()

        def other() -> None:
            with collector_paused():
                entered.set()
                release.wait(5)

        worker = threading.Thread(target=other)
        worker.start()
        entered.wait(5)
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the other parse is still under way
        release.set()
        worker.join()
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


def test_a_parse_that_raises_restores_it(collector: None) -> None:
    """A page that fails to parse still turns the collector back on."""
    gc.enable()
    bad = driver("sync", lambda request: json_response(200, {"images": "nope"}))
    with bad as do, pytest.raises(ResponseValidationError):
        do.image.list()
    assert gc.isenabled()
