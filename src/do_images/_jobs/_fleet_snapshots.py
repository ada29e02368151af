"""Apply's snapshots: each due droplet's turn, from its POST to its new image's copies.

Every planned ``snapshot`` is one ``Turn``, all run together (a ``Gather``):

1. the droplet's actions are read (every page): a ``snapshot`` already ``in-progress``
   (another run's, or one this plan started before an interruption) is not started
   again; the entry ends ``pending`` and the droplet's deletions wait;
2. the snapshot is started through the SDK (``Snapshotting``: the never-twice POST,
   which adopts the action an ambiguous failure may have started; with ``power_off``,
   shutdown first and a shielded power-on after; an apply interrupted while the
   snapshot of a droplet it turned off runs waits for it, shielded, and powers the
   droplet on: the fleet leaves no droplet off). A 422 because the droplet is busy ends
   the entry ``pending``;
3. with ``wait``, it is awaited, polled once a cycle, the cycles ``cycle_seconds``
   apart: as far apart as keeps polling within half the request budget, never more
   than one request per snapshot in flight per cycle. ``errored`` fails the entry; the
   deadline leaves it ``pending`` (the snapshot goes on; the next run finds it by
   name). Without ``wait``, the entry ends ``started``;
4. the completed snapshot's image is found (``find_image``), given the group's
   ``ensure_tags`` and copied to its ``regions`` (``start_transfers``: adopted when
   under way, never twice; awaited with one action list per cycle).

Only a turn that ends ``done`` (its snapshot completed, tagged and copied) releases its
droplet's deletions (``_fleet_apply``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .._checks import check_id
from .._constants import POWER_ON_BOUND, SNAPSHOT_SECONDS
from .._droplets import DropletOps
from .._effects import Gather, Op, Sleep, shielded
from .._errors import (
    ActionFailedError,
    ActionTimeoutError,
    DoImagesError,
    DropletBusyError,
)
from .._images import ImageOps
from .._models import Action, Image
from .._polling import carry_action, transient
from .._posting import action_url, fetch_action
from .._snapshotting import Snapshotting, find_image
from ._fleet_entry import PlanEntry
from ._fleet_estimate import cycle_seconds
from ._fleet_file import SourceGroup
from ._fleet_read import running_snapshot
from ._toolkit import await_actions, start_transfers

logger = logging.getLogger("do_images")

ON_AFTER_BOUND = SNAPSHOT_SECONDS * 6 + POWER_ON_BOUND
"""How long an apply ended early waits for the snapshot of a droplet it turned off, to
power it on again (an hour of snapshot, then the power-on)."""

Outcome = Literal["done", "pending", "started", "failed", "skipped"]
"""What became of an entry: ``done``; ``pending`` (left for a later run: see
``Waits``); ``started`` (by ``--no-wait``: the next run finds it); ``failed``; or
``skipped`` (not tried: its droplet's or group's earlier work failed, or it changed
since the plan)."""
Waits = Literal["busy", "in progress", "timed out", "no wait"]
"""Why a ``pending`` or ``started`` entry waits: its droplet was busy (locked, or a
422), a snapshot of it was in progress, its snapshot was not done in time, or
``--no-wait`` started it and awaited nothing."""


@dataclass(frozen=True)
class Turn:
    """What became of one droplet's planned snapshot."""

    entry: PlanEntry
    outcome: Outcome
    detail: str
    waits: Waits | None = None
    image: Image | None = None
    """The image the snapshot made, once found."""
    error: DoImagesError | None = None


@dataclass(frozen=True)
class Take:
    """How every turn of one apply runs."""

    ops: ImageOps
    wait: bool
    poll: float
    """The shortest cycle between polls (``cycle_seconds`` spreads them further)."""
    timeout: float
    per_minute: int | None
    """The client's request budget."""


def take_turns(
    take: Take, turns: Sequence[tuple[PlanEntry, SourceGroup, Image | None]]
) -> Op[list[Turn]]:
    """Every droplet's turn: all started at once, the snapshots started awaited together
    (``await_snapshots``), then each one's image found, tagged and copied, all at once.
    None stops another. A turn given its image (made by an earlier apply of the plan) is
    only finished: tagged and copied."""
    if not turns:
        return []

    def every() -> int:  # they mostly wait; the request budget paces what they send
        return len(turns)

    firsts: list[Turn | Action] = yield Gather(
        [_first(take, entry, group, image) for entry, group, image in turns], width=every
    )
    started = {i: first for i, first in enumerate(firsts) if isinstance(first, Action)}
    ended = (yield from await_snapshots(take, started)) if take.wait else {}
    results: list[Turn] = yield Gather(
        [
            _then(take, entry, group, firsts[i], ended.get(i))
            for i, (entry, group, _) in enumerate(turns)
        ],
        width=every,
    )
    return results


def _first(
    take: Take, entry: PlanEntry, group: SourceGroup, image: Image | None
) -> Op[Turn | Action]:
    """A turn up to its snapshot's start: the action to await, or how it ended already
    (made before, in progress, busy, failed, started without ``wait``, or, with
    ``power_off``, the whole turn: the SDK awaits it to power the droplet on)."""
    if image is not None:
        return (yield from _made(take, entry, group, image))
    droplet_id = entry.droplet_id
    assert droplet_id is not None
    assert entry.snapshot_name is not None
    droplets = DropletOps(take.ops)
    try:
        running = running_snapshot((yield from droplets.actions(droplet_id)))
    except DoImagesError as error:
        return Turn(entry, "failed", f"its actions could not be read: {error}", error=error)
    if running is not None:
        why = f"snapshot {running.id} of it in progress: not started again; its deletions wait"
        return Turn(entry, "pending", why, "in progress")
    run = Snapshotting(
        droplets,
        droplet_id,
        entry.snapshot_name,
        poll=take.poll,
        timeout=take.timeout,
        on_update=None,
    )
    try:  # with power_off the SDK awaits it, to power the droplet on as soon as it can
        made = yield from _started(take, run, group.power_off, wait=group.power_off)
    except DoImagesError as error:
        return _failure(entry, error)
    if isinstance(made, Image):
        return (yield from _finish(take, entry, group, made))
    if not take.wait:
        return Turn(entry, "started", f"snapshot {made.id} started; not awaited", "no wait")
    return made


def _then(
    take: Take,
    entry: PlanEntry,
    group: SourceGroup,
    first: Turn | Action,
    ended: Action | DoImagesError | None,
) -> Op[Turn]:
    """A turn after the wait: its image found (``find_image``), tagged and copied."""
    if isinstance(first, Turn):
        return first
    if isinstance(ended, DoImagesError) or ended is None:
        return _failure(entry, ended or DoImagesError("the snapshot was not awaited"))
    try:
        image = yield from find_image(
            DropletOps(take.ops), ended, name=entry.snapshot_name, poll=take.poll
        )
    except DoImagesError as error:
        return Turn(entry, "failed", f"its image was not found: {error}", error=error)
    return (yield from _finish(take, entry, group, image))


@dataclass
class _Flight:
    """The snapshots being awaited together, and how each ended."""

    pending: dict[int, Action]
    ended: dict[int, Action | DoImagesError] = field(default_factory=dict)

    def seen(self, key: int, got: Action | DoImagesError) -> None:
        if isinstance(got, DoImagesError):
            if not transient(got):
                self.ended[key] = carry_action(got, self.pending.pop(key))
            return
        if got.status == "completed":
            self.ended[key] = got
        elif got.status == "errored":
            self.ended[key] = ActionFailedError(got)
        else:
            self.pending[key] = got
            return
        del self.pending[key]


def await_snapshots(
    take: Take, started: dict[int, Action]
) -> Op[dict[int, Action | DoImagesError]]:
    """Await every snapshot of ``started`` together: each cycle one ``GET`` of each still
    in flight (its droplet's action), spread evenly over the cycle, the cycle
    ``cycle_seconds`` long (longer as more are in flight, so polling takes at most half
    the request budget in any minute), until each has completed, errored
    (``ActionFailedError``) or passed ``take.timeout`` (``ActionTimeoutError``). A poll
    that fails in passing is polled again next cycle."""
    session = take.ops.session
    deadline = session.clock() + take.timeout
    flight = _Flight(dict(started))
    while flight.pending:
        keys = list(flight.pending)
        gap = cycle_seconds(take.poll, len(keys), take.per_minute) / len(keys)
        for key in keys:
            remaining = deadline - session.clock()
            if remaining <= 0:
                for late, action in flight.pending.items():
                    flight.ended[late] = ActionTimeoutError(action, timeout=take.timeout)
                return flight.ended
            yield Sleep(min(gap, remaining))
            flight.seen(key, (yield from _poll(take, flight.pending[key])))
    return flight.ended


def _poll(take: Take, action: Action) -> Op[Action | DoImagesError]:
    session = take.ops.session
    try:
        return (yield from fetch_action(session, take.ops.get, action_url(session, action)))
    except DoImagesError as error:
        return error


def _made(take: Take, entry: PlanEntry, group: SourceGroup, image: Image) -> Op[Turn]:
    """A planned snapshot made already: tagged and copied (with ``wait``) as if made now."""
    if not take.wait:
        return Turn(entry, "done", f"already made: image {image.id}", image=image)
    turn = yield from _finish(take, entry, group, image)
    return Turn(entry, turn.outcome, f"already made: {turn.detail}", image=image, error=turn.error)


def _started(take: Take, run: Snapshotting, power_off: bool, *, wait: bool) -> Op[Image | Action]:
    """The SDK's snapshot of one droplet (awaited with ``take.wait``); an interruption or
    a deadline while the droplet is off by this run's doing powers it on once the
    snapshot ends."""
    try:
        return (yield from run.start(power_off=power_off, wait=wait))
    except GeneratorExit:
        raise  # closed: no effect can run any more
    except BaseException:
        # Interrupted, or not done in time, while the droplet is off by this run's doing
        # (the SDK leaves it off then): wait for the snapshot to end, power it on.
        if run.turned_off and run.action is not None:
            yield from shielded(
                _on_after(run.ops, run.action, take.poll),
                seconds=ON_AFTER_BOUND,
                clock=take.ops.session.clock,
            )
        raise


def _failure(entry: PlanEntry, error: DoImagesError) -> Turn:
    """What a snapshot's failure makes of its entry: a busy droplet or a deadline leave it
    ``pending`` (the next run goes on), anything else ``failed``."""
    if isinstance(error, DropletBusyError):
        why = "the droplet is busy (a pending event): snapshot next run; its deletions wait"
        return Turn(entry, "pending", why, "busy")
    if isinstance(error, ActionFailedError):
        return Turn(entry, "failed", f"the snapshot errored: {error}", error=error)
    if isinstance(error, ActionTimeoutError):
        why = f"not done in time ({error}); it goes on, the next run finds it by name"
        return Turn(entry, "pending", why, "timed out", error=error)
    return Turn(entry, "failed", str(error), error=error)


def _on_after(droplets: DropletOps, action: Action, poll: float) -> Op[None]:
    """An apply interrupted (or out of time) while a droplet it turned off is being
    snapshotted: wait for the snapshot to end, then power the droplet on (the fleet
    leaves no droplet off; a second Ctrl-C on the sync client stops this)."""
    with contextlib.suppress(DoImagesError):  # errored or still running: power on anyway
        yield from droplets.wait(action, poll=poll, timeout=ON_AFTER_BOUND - POWER_ON_BOUND)
    yield from droplets.power_on(check_id(action.resource_id, "droplet id"), wait=False)
    logger.warning(
        "droplet %s was powered on again after the interrupted snapshot %d ended",
        action.resource_id,
        action.id,
    )


def _finish(take: Take, entry: PlanEntry, group: SourceGroup, image: Image) -> Op[Turn]:
    """Tag the new image and copy it to the group's regions."""
    missing = [tag for tag in group.ensure_tags if tag not in (image.tags or [])]
    done = [f"image {image.id}"]
    try:
        if missing:
            yield from take.ops.tag(image.id, missing)
            done.append(f"tagged {', '.join(missing)}")
    except DoImagesError as error:
        why = f"image {image.id} made; tagging it failed: {error}"
        return Turn(entry, "failed", why, image=image, error=error)
    regions = [region for region in group.regions if region not in (image.regions or [])]
    if regions:
        started = yield from start_transfers(take.ops, image.id, regions, adopt=True)
        if started.actions:
            yield from await_actions(
                take.ops,
                image.id,
                started.actions,
                started.errors,
                poll=take.poll,
                timeout=take.timeout,
            )
        for region in regions:
            failure = started.errors.get(region)
            if failure is not None:
                why = f"image {image.id} made; its copy to {region} failed: {failure}"
                return Turn(entry, "failed", why, image=image, error=failure)
        done.append(f"copied to {', '.join(regions)}")
    return Turn(entry, "done", ", ".join(done), image=image)


__all__ = ["Outcome", "Take", "Turn", "Waits", "cycle_seconds", "take_turns"]
