"""``snapshot(power_off=True)``: the droplet is shut down, snapshotted and powered on again
only if this call turned it off, as soon as it takes actions (an errored snapshot too, an
interruption before the snapshot POST too, shielded); interrupted after the POST it is left
off with a WARNING; a failed power-on is ``DropletPowerOnError``. Both clients, against the
sandbox in-process and served over HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest

from do_images import (
    ActionFailedError,
    AsyncClient,
    Client,
    DropletPowerOnError,
    Image,
)
from do_images.testing import Sandbox
from sandbox_support import assert_spec_valid
from support import TOKEN, Driver, driver

WEB_01 = 3164494  # active: a 30 s snapshot
DB_01 = 3164497  # active: a 25 min snapshot
WORKER_01 = 3164498  # off
START = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
WHERE = ("in-process", "served")

Hook = Callable[[], bool]
"""Called before each sleep of the client: ``True`` interrupts there (once)."""


@pytest.fixture(params=WHERE)
def where(request: pytest.FixtureRequest) -> str:
    """Each test using this runs against the sandbox in-process and served over HTTP."""
    value: str = request.param
    return value


def posts(sandbox: Sandbox, droplet_id: int) -> list[str]:
    """The ``type`` of every droplet action POSTed to ``droplet_id`` and accepted."""
    return [
        json.loads(request.body)["type"]
        for request in sandbox.requests
        if request.operation == "dropletActions_post"
        and request.path == f"/v2/droplets/{droplet_id}/actions"
        and request.status == 201
    ]


def status(sandbox: Sandbox, droplet_id: int) -> str:
    """The droplet's status once every action on it has ended."""
    sandbox.advance(3600)
    return str(next(d for d in sandbox.droplets if d.id == droplet_id).status)


@contextmanager
def connected(
    sandbox: Sandbox, kind: str, where: str, interrupt: Hook | None = None
) -> Iterator[Driver]:
    """A driver of ``kind`` on ``sandbox`` (in-process or served on loopback) whose sleeps
    advance the sandbox's clock; the first sleep for which ``interrupt`` says so is a
    Ctrl-C (sync) or the task's cancellation (async) instead."""
    pending = [interrupt] if interrupt is not None else []

    def due() -> bool:
        if pending and pending[0]():
            pending.clear()
            return True
        return False

    def sleep(seconds: float) -> None:
        if due():
            raise KeyboardInterrupt
        sandbox.advance(seconds)

    async def async_sleep(seconds: float) -> None:
        if due():
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            await asyncio.sleep(0)
        sandbox.advance(seconds)

    with serving(sandbox, where) as base_url:
        options = {"base_url": base_url, "clock": sandbox.clock}
        if where == "in-process":
            options["transport"] = (
                sandbox.transport() if kind == "sync" else sandbox.async_transport()
            )
        client: Client | AsyncClient = (
            Client(TOKEN, sleep=sleep, **options)  # type: ignore[arg-type]
            if kind == "sync"
            else AsyncClient(TOKEN, sleep=async_sleep, **options)  # type: ignore[arg-type]
        )
        with driver(kind, client=client) as made:
            yield made
    assert_spec_valid(sandbox)


@contextmanager
def serving(sandbox: Sandbox, where: str) -> Iterator[str]:
    """The base URL: the sandbox served on loopback, or the in-process one."""
    if where == "in-process":
        yield "https://sandbox.do-images.invalid"
        return
    with sandbox.serve() as base_url:
        yield base_url


def interrupted(kind: str) -> type[BaseException]:
    """What an interruption is on that client: Ctrl-C, or the task's cancellation."""
    return KeyboardInterrupt if kind == "sync" else asyncio.CancelledError


# ------------------------------------------------------------------ the usual way


def test_power_off_snapshots_an_off_droplet_and_powers_it_on(kind: str, where: str) -> None:
    """An active droplet gets ``shutdown``, is snapshotted once off (the droplet polled,
    not the shutdown action), and is powered on again; the image is returned."""
    sandbox = Sandbox(start=START)
    with connected(sandbox, kind, where) as do:
        image = do.droplet.snapshot(WEB_01, "consistent", power_off=True)
        assert do.droplet.info(WEB_01).status == "active"
    assert isinstance(image, Image)
    assert image.name == "consistent"
    assert posts(sandbox, WEB_01) == ["shutdown", "snapshot", "power_on"]
    logged = sandbox.requests
    snapshot_post = next(
        at for at, r in enumerate(logged) if r.status == 201 and b"snapshot" in r.body
    )
    before = logged[:snapshot_post]
    last_droplet = [r for r in before if r.operation == "droplets_get"][-1]
    assert last_droplet.json()["droplet"]["status"] == "off"


def test_a_droplet_that_was_off_is_never_powered_on(kind: str, where: str) -> None:
    """A droplet already off is snapshotted as it is and stays off."""
    sandbox = Sandbox(start=START)
    with connected(sandbox, kind, where) as do:
        image = do.droplet.snapshot(WORKER_01, "cold", power_off=True)
    assert image.name == "cold"
    assert posts(sandbox, WORKER_01) == ["snapshot"]
    assert status(sandbox, WORKER_01) == "off"


def test_an_errored_snapshot_still_powers_the_droplet_on(kind: str, where: str) -> None:
    """A snapshot that ends ``errored`` raises ``ActionFailedError``, after the droplet
    this call turned off is powered on again."""
    sandbox = Sandbox(start=START)
    sandbox.fail_next_snapshot()
    with connected(sandbox, kind, where) as do, pytest.raises(ActionFailedError) as caught:
        do.droplet.snapshot(WEB_01, "doomed", power_off=True)
    assert caught.value.action.status == "errored"
    assert posts(sandbox, WEB_01) == ["shutdown", "snapshot", "power_on"]
    power_on = [r for r in sandbox.requests if r.status == 201 and b"power_on" in r.body]
    assert power_on[0].answered_at <= sandbox.clock()  # sent before the call returned
    assert status(sandbox, WEB_01) == "active"


def test_a_failed_power_on_is_droplet_power_on_error(kind: str, where: str) -> None:
    """A power-on the API refuses raises ``DropletPowerOnError`` with the droplet, the
    image the snapshot made and the command that powers it on."""
    sandbox = Sandbox(start=START)

    def refuse_once_snapshotted() -> bool:
        if "snapshot" in posts(sandbox, WEB_01):
            sandbox.fail_next(403, method="POST")
            return True
        return False

    hook = refuse_once_snapshotted

    def never() -> bool:
        hook()
        return False

    with (
        connected(sandbox, kind, where, never) as do,
        pytest.raises(DropletPowerOnError) as caught,
    ):
        do.droplet.snapshot(WEB_01, "left-off", power_off=True)
    error = caught.value
    assert error.droplet_id == WEB_01
    assert error.image is not None
    assert error.image.name == "left-off"
    assert "do-images droplet power-on 3164494" in str(error)
    assert status(sandbox, WEB_01) == "off"


# ------------------------------------------------------------------ interruptions


def test_an_interruption_before_the_post_powers_the_droplet_on(
    kind: str, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Interrupted while the droplet shuts down, the call powers it on (its 422 while
    still locked retried, shielded, within 30 s) and lets the interruption through; no
    snapshot is started."""
    sandbox = Sandbox(start=START)
    with (
        connected(sandbox, kind, where, lambda: bool(posts(sandbox, WEB_01))) as do,
        pytest.raises(interrupted(kind)),
    ):
        do.droplet.snapshot(WEB_01, "never", power_off=True)
    assert posts(sandbox, WEB_01) == ["shutdown", "power_on"]
    refused = [
        r
        for r in sandbox.requests
        if r.status == 422 and r.operation == "dropletActions_post" and b"power_on" in r.body
    ]
    assert refused, "the droplet was still locked by its shutdown"
    assert status(sandbox, WEB_01) == "active"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_an_interruption_after_the_post_leaves_the_droplet_off(
    kind: str, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Interrupted once the snapshot started, the interruption passes through as it is,
    no power-on is sent, and a WARNING names the droplet and the command to power it on."""
    sandbox = Sandbox(start=START)
    with (
        connected(sandbox, kind, where, lambda: "snapshot" in posts(sandbox, DB_01)) as do,
        caplog.at_level(logging.WARNING, logger="do_images"),
        pytest.raises(interrupted(kind)),
    ):
        do.droplet.snapshot(DB_01, "long", power_off=True)
    assert posts(sandbox, DB_01) == ["shutdown", "snapshot"]
    assert not [r for r in sandbox.requests if b"power_on" in r.body], "no power-on sent"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "3164497" in warnings[0]
    assert "do-images droplet power-on 3164497" in warnings[0]
    assert status(sandbox, DB_01) == "off"


def test_an_interruption_without_power_off_powers_nothing(
    kind: str, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Without ``power_off`` an interruption during the wait just passes through: the
    snapshot goes on, nothing else is sent, nothing is said."""
    sandbox = Sandbox(start=START)
    with connected(sandbox, kind, where, lambda: True) as do, pytest.raises(interrupted(kind)):
        do.droplet.snapshot(WEB_01, "goes-on")
    assert posts(sandbox, WEB_01) == ["snapshot"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    sandbox.advance(60)
    assert "goes-on" in {i.name for i in sandbox.images}
