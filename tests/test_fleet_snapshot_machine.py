"""The floor, proven on the real SDK against the sandbox: a hypothesis state machine on
both clients (150 examples each, 300 in all).

The fleet's group keeps by ``keep`` or by calendar retention (``retain``). Its rules:
apply the fleet (completed, errored, timed out, a droplet busy at the POST,
``wait=False``, interrupted at an effect: a ``KeyboardInterrupt`` from a sleep of the sync
client, the task cancelled at a sleep of the async one), move the clock, destroy a
droplet, untag one. After every step:

- the floor: with C(d) droplet d's owned snapshots that completed (only the fleet deletes
  here), d keeps at least min(``keep_min``, |C(d)|) owned ``available`` snapshots;
- no droplet has two owned snapshots made within one ``every`` interval (less its
  slack);
- no droplet is left off once a run has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from datetime import timedelta
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from do_images import AsyncClient, Client, FleetError
from do_images._jobs._fleet_source import due_after
from do_images.fleet import Fleet
from do_images.testing import SANDBOX_BASE_URL, SANDBOX_TOKEN, Sandbox, SandboxTransport
from fleet_snapshot_support import OWNED, fleet, start_action, world
from support import Driver

EVERY = timedelta(hours=24)
DROPLETS = (11, 12)
MODES = ("complete", "errored", "timeout", "busy", "no-wait", "interrupted")


class FleetMachine(RuleBasedStateMachine):
    """One sandbox, one fleet, a client of ``kind``; see the module docstring."""

    kind = "sync"

    def __init__(self) -> None:
        super().__init__()
        self.sandbox = world()
        self.fleet: Fleet = fleet()
        self.keep_min = 1
        self.completed: dict[int, set[int]] = {d: set() for d in DROPLETS}
        self.made: dict[int, dict[int, Any]] = {d: {} for d in DROPLETS}
        self.sleeps_left: int | None = None
        """Sleeps to let pass before the one that raises ``KeyboardInterrupt``."""
        self.lock = threading.Lock()

    # -------------------------------------------------------------- the client

    def _sleep(self, seconds: float) -> None:
        with self.lock:  # one interruption, whichever thread sleeps first
            interrupt = self.sleeps_left is not None and self.sleeps_left <= 0
            if self.sleeps_left is not None:
                self.sleeps_left = None if interrupt else self.sleeps_left - 1
        if interrupt:  # Ctrl-C; an async client's is its task cancelled
            raise KeyboardInterrupt if self.kind == "sync" else asyncio.CancelledError
        self.sandbox.advance(seconds)

    def _driver(self) -> Driver:
        options: dict[str, Any] = {
            "base_url": SANDBOX_BASE_URL,
            "clock": self.sandbox.clock,
            "transport": SandboxTransport(self.sandbox),
        }
        client: Client | AsyncClient
        if self.kind == "sync":
            client = Client(SANDBOX_TOKEN, sleep=self._sleep, **options)
        else:

            async def stepped(seconds: float) -> None:
                self._sleep(seconds)
                await asyncio.sleep(0)

            client = AsyncClient(SANDBOX_TOKEN, sleep=stepped, **options)
        return Driver(self.kind, client=client)

    # ------------------------------------------------------------------ rules

    @initialize(
        keep=st.integers(1, 3),
        keep_min=st.integers(0, 2),
        max_age=st.sampled_from([None, "2d", "5d"]),
        gone=st.sampled_from(["keep", "expire"]),
        power_off=st.booleans(),
        retain=st.none()
        | st.fixed_dictionaries({"daily": st.integers(1, 3), "weekly": st.integers(0, 2)}),
    )
    def choose_fleet(
        self,
        keep: int,
        keep_min: int,
        max_age: str | None,
        gone: str,
        power_off: bool,
        retain: dict[str, int] | None = None,
    ) -> None:
        keep_min = min(keep_min, keep)
        group: dict[str, Any] = {
            "keep": keep,
            "keep_min": keep_min,
            "on_source_gone": gone,
            "power_off": power_off,
        }
        if retain is not None:  # calendar retention instead of keep
            del group["keep"]
            group["retain"] = retain
            keep_min = group["keep_min"] = min(keep_min, 1)
        if max_age is not None:
            group["max_age"] = max_age
        self.fleet = fleet(**group)
        self.keep_min = keep_min
        if power_off:
            # One source droplet: the sandbox's one clock moves with every sleep, so two
            # droplets' waits side by side would run it ahead of a power-on's own bound
            # (30 s) in a way real time never does.
            untag(self.sandbox, 12)

    @rule(mode=st.sampled_from(MODES), at=st.integers(0, 6))
    def apply(self, mode: str, at: int) -> None:
        do = self._driver()
        try:
            self._apply(do, mode, at)
        finally:
            self.sleeps_left = None
            do.close()
        self.sandbox.advance(10)  # a power-on accepted at the end completes

    def _apply(self, do: Driver, mode: str, at: int) -> None:
        if mode == "errored":
            self.sandbox.fail_next_snapshot()
        plan = do.image.plan_fleet(self.fleet)
        options: dict[str, Any] = {}
        if mode == "busy" and plan.of("snapshot"):
            start_action(self.sandbox, plan.of("snapshot")[0].droplet_id or 0, "power_on")
        elif mode == "timeout":
            options["timeout"] = 20
        elif mode == "no-wait":
            options["wait"] = False
        elif mode == "interrupted":
            self.sleeps_left = at
        try:
            do.image.apply_fleet(plan, **options)
        except (KeyboardInterrupt, asyncio.CancelledError):
            assert mode == "interrupted"
        except FleetError:
            assert mode == "no-wait"
            assert any(group.power_off for group in self.fleet.sources)

    @rule(hours=st.sampled_from([1, 6, 23, 24, 25, 72]))
    def advance(self, hours: int) -> None:
        self.sandbox.advance(hours * 3600)

    @precondition(lambda self: len(self.sandbox.droplets) > 1)
    @rule(which=st.sampled_from(DROPLETS))
    def destroy(self, which: int) -> None:
        with contextlib.suppress(ValueError):  # gone already, or an action of it runs
            self.sandbox.remove_droplet(which)

    @rule(which=st.sampled_from(DROPLETS))
    def untag(self, which: int) -> None:
        untag(self.sandbox, which)

    # ------------------------------------------------------------- invariants

    def _owned(self) -> dict[int, list[Any]]:
        found: dict[int, list[Any]] = {d: [] for d in DROPLETS}
        for image in self.sandbox.images:
            match = OWNED.fullmatch(image.name or "")
            if match is not None and int(match["droplet"]) in found:
                found[int(match["droplet"])].append(image)
        return found

    @invariant()
    def the_floor_holds(self) -> None:
        for droplet_id, images in self._owned().items():
            available = [i for i in images if i.status == "available"]
            self.completed[droplet_id].update(i.id for i in available)
            for image in available:
                self.made[droplet_id][image.id] = image.created_at
            floor = min(self.keep_min, len(self.completed[droplet_id]))
            assert len(available) >= floor, (droplet_id, len(available), floor)

    @invariant()
    def one_snapshot_per_interval(self) -> None:
        for droplet_id, made in self.made.items():
            times = sorted(made.values())
            for earlier, later in itertools.pairwise(times):
                assert later - earlier >= due_after(EVERY), (droplet_id, earlier, later)

    @invariant()
    def no_droplet_is_left_off(self) -> None:
        if self.sleeps_left is None:  # between runs
            assert [d.id for d in self.sandbox.droplets if d.status == "off"] == []


def untag(sandbox: Sandbox, droplet_id: int) -> None:
    """Take the tag ``web`` off one droplet (the API's tag-resources call for droplets is
    not modelled by the sandbox: its world is changed directly)."""
    with sandbox._synced():
        droplet = sandbox._world.droplets.get(droplet_id)
        if droplet is not None and "web" in droplet["tags"]:
            droplet["tags"].remove("web")


class AsyncFleetMachine(FleetMachine):
    kind = "async"


MACHINE = settings(
    max_examples=150,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
"""150 examples a client: 300 in all."""


@pytest.mark.parametrize("machine", [FleetMachine, AsyncFleetMachine], ids=["sync", "async"])
def test_the_floor_holds_on_the_real_sdk(machine: type[RuleBasedStateMachine]) -> None:
    """Any sequence of runs (completed, errored, timed out, busy, ``wait=False``,
    interrupted), clock jumps, destroyed and untagged droplets keeps the floor, one
    snapshot an interval, and no droplet off."""
    run_state_machine_as_test(machine, settings=MACHINE)
