"""Snapshot a droplet and get the image back: ``snapshot`` and ``snapshot_image``.

The API answers a snapshot POST with an action that names the droplet, never the
image. After the action completes, the image is the droplet's ``type: snapshot`` item
(every page of ``/v2/droplets/{id}/snapshots``) made at the action's ``started_at``, to
the second, with the name the snapshot was given where it is known; a listing that lags
is read again every ``poll`` for up to ``SNAPSHOT_IMAGE_LAG`` seconds. Then
``image.info`` gives it whole (``status``, ``tags``).

With ``power_off=True`` an ``active`` droplet is shut down first (``shutdown``, then a
wait for its ``status`` to be ``off``, ``power_off`` after ``SHUTDOWN_GRACE``) and powered
on again only if this call turned it off:

- as soon as the snapshot ends, completed or errored (the POST retried while the
  droplet is still locked, for up to ``POWER_ON_BOUND`` seconds, shielded from a further
  interruption);
- at once, the same way, if the call ends (an error, an interruption) before the
  snapshot POST;
- never if the call is interrupted after the snapshot started: the interruption passes
  through as it is, a WARNING record names the droplet left off and the command that
  powers it on, and the interruption carries ``droplet_id``, ``action`` and
  ``left_off``.

A power-on that fails raises ``DropletPowerOnError`` (with the image, if one was made).

Each of ``snapshot``, ``snapshot_image`` and ``find_image`` is an effect generator over a
``DropletOps``: ``image = yield from snapshot(ops, droplet_id, None, wait=True,
power_off=False, poll=10, timeout=3600, on_update=None)`` inside another operation, or
run it on a client's runner.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from ._checks import check_bool, check_id, check_str, check_wait, type_name
from ._constants import (
    POWER_ON_BOUND,
    POWER_ON_TIMEOUT,
    POWER_POLL,
    SNAPSHOT_IMAGE_LAG,
)
from ._droplets import DropletOps, OnAction, check_on_update
from ._effects import CleanupTimeoutError, Op, shielded
from ._errors import (
    ActionFailedError,
    DoImagesError,
    DropletPowerOnError,
    SnapshotNotFoundError,
)
from ._models import Action, Droplet, Image
from ._polling import Watch, carry_action, poll_until

logger = logging.getLogger("do_images")


def power_on_command(droplet_id: int) -> str:
    """The command line that powers a droplet on."""
    return f"do-images droplet power-on {droplet_id}"


def default_name(droplet: Droplet, now: datetime) -> str:
    """``{droplet name}-{UTC YYYYMMDD-HHMMSS}``: the name a snapshot gets by default."""
    return f"{droplet.name or f'droplet-{droplet.id}'}-{now:%Y%m%d-%H%M%S}"


# ------------------------------------------------------------ finding the image


@dataclass(frozen=True)
class _Found:
    """What one read of the droplet's snapshots found (``None``: not there yet)."""

    image: Image | None


def _second(when: datetime) -> int:
    return int(when.timestamp() // 1)


def made_by(action: Action, items: list[Image], name: str | None) -> Image | None:
    """Of a droplet's snapshots and backups, the snapshot ``action`` made: of ``type``
    snapshot, created at its ``started_at`` to the second, named ``name`` if given. Of
    several (one name, one second), the one with the highest id: the last made."""
    assert action.started_at is not None
    started = _second(action.started_at)
    matches = [
        item
        for item in items
        if str(item.type) == "snapshot"
        and item.created_at is not None
        and _second(item.created_at) == started
        and (name is None or item.name == name)
    ]
    return max(matches, key=lambda item: item.id, default=None)


def find_image(ops: DropletOps, action: Action, *, name: str | None, poll: float) -> Op[Image]:
    """The image a completed snapshot ``action`` made, as ``image.info`` gives it:
    ``image = yield from find_image(ops, done, name="web-01-nightly", poll=10)`` (``name``
    ``None``: matched by ``started_at`` alone). The droplet's snapshots (every page) are
    read again every ``poll`` while it does not show, for up to ``SNAPSHOT_IMAGE_LAG``
    seconds (then ``SnapshotNotFoundError``). Every error carries the action. Call it
    once ``ops.wait`` returned the action completed."""
    droplet_id = check_id(action.resource_id, "action.resource_id")

    def fetch() -> Op[_Found]:
        items = yield from ops.snapshots(droplet_id)
        return _Found(made_by(action, items, name))

    watch = Watch(
        fetch=fetch,
        done=lambda found: found.image is not None,
        timed_out=lambda last: SnapshotNotFoundError(
            action, droplet_id=droplet_id, waited=SNAPSHOT_IMAGE_LAG
        ),
        carry=lambda error, last: carry_action(error, action),
        what=f"the image of snapshot {action.id}",
    )
    found = yield from poll_until(
        watch, clock=ops.session.clock, poll=poll, timeout=SNAPSHOT_IMAGE_LAG
    )
    assert found.image is not None
    try:
        return (yield from ops.images.info(found.image.id))
    except DoImagesError as error:
        raise carry_action(error, action) from None


def snapshot_image(
    ops: DropletOps,
    action: Action,
    *,
    name: str | None,
    poll: float,
    timeout: float,
    on_update: OnAction | None,
) -> Op[Image]:
    """Wait for a droplet's snapshot ``action`` to complete, then find its image:
    ``image = yield from snapshot_image(ops, action, name=None, poll=10, timeout=3600,
    on_update=None)``. Arguments are checked before any request."""
    _check_snapshot_action(action)
    if name is not None:
        check_str(name, "name")
    poll, timeout = check_wait(poll, timeout)
    check_on_update(on_update)
    done = yield from ops.wait(action, poll=poll, timeout=timeout, on_update=on_update)
    return (yield from find_image(ops, done, name=name, poll=poll))


def power_on_after(
    ops: DropletOps,
    action: Action,
    *,
    poll: float,
    timeout: float,
    on_update: OnAction | None,
) -> Op[Action]:
    """Finish what ``snapshot(power_off=True)`` left when it was interrupted after the
    snapshot started: ``ended = yield from power_on_after(ops, action, poll=10,
    timeout=3600, on_update=None)`` waits for the snapshot ``action`` to end (completed or
    errored), then powers its droplet on as the snapshot would have (retried while busy,
    shielded, within ``POWER_ON_BOUND``); it returns the ended action. The command line's
    first Ctrl-C does this; call it only for a droplet your own call turned off."""
    _check_snapshot_action(action)
    poll, timeout = check_wait(poll, timeout)
    check_on_update(on_update)
    droplet_id = check_id(action.resource_id, "action.resource_id")
    run = Snapshotting(ops, droplet_id, None, poll=poll, timeout=timeout, on_update=on_update)
    return (yield from run.power_on_once_ended(action))


def _check_snapshot_action(action: object) -> None:
    if not isinstance(action, Action):
        raise TypeError(f"action must be an Action, not {type_name(action)}")
    if action.resource_type not in (None, "droplet") or action.type != "snapshot":
        raise ValueError(
            f"action {action.id} is a {action.type} of {action.resource_type or 'a resource'} "
            f"{action.resource_id}, not a droplet's snapshot"
        )
    check_id(action.resource_id, "action.resource_id")
    if action.started_at is None:
        raise ValueError(f"action {action.id} has no started_at to find its image by")


# ------------------------------------------------------------ the whole snapshot


def snapshot(
    ops: DropletOps,
    droplet_id: int,
    name: str | None,
    *,
    wait: bool,
    power_off: bool,
    poll: float,
    timeout: float,
    on_update: OnAction | None,
) -> Op[Image | Action]:
    """``POST /v2/droplets/{id}/actions {"type": "snapshot", "name": ...}``; with ``wait``,
    the image it made (see the module docstring): ``image = yield from snapshot(ops,
    droplet_id, "web-01-nightly", wait=True, power_off=True, poll=10, timeout=3600,
    on_update=None)``. Arguments are checked before any request; ``power_off`` needs
    ``wait``."""
    check_id(droplet_id, "droplet id")
    if name is not None:
        check_str(name, "name")
    check_bool(wait, "wait")
    check_bool(power_off, "power_off")
    poll, timeout = check_wait(poll, timeout)
    check_on_update(on_update)
    if power_off and not wait:
        raise ValueError(
            "power_off=True needs wait=True: the droplet is powered on again once the "
            "snapshot ends, so the call waits for it"
        )
    run = Snapshotting(ops, droplet_id, name, poll=poll, timeout=timeout, on_update=on_update)
    return (yield from run.start(power_off=power_off, wait=wait))


class Snapshotting:
    """One call of ``snapshot``: what it has done so far, and what that obliges it to do."""

    def __init__(
        self,
        ops: DropletOps,
        droplet_id: int,
        name: str | None,
        *,
        poll: float,
        timeout: float,
        on_update: OnAction | None,
    ) -> None:
        self.ops = ops
        self.droplet_id = droplet_id
        self.name = name
        self.poll = poll
        self.timeout = timeout
        self.on_update = on_update
        self.sent: list[str] = []
        """What this call sent to turn the droplet off (``DropletOps.turn_off``); emptied
        once a ``power_on`` is accepted."""
        self.action: Action | None = None
        """The snapshot action, once started."""

    def _seen(self, action: Action) -> None:
        if self.on_update is not None:
            self.on_update(action)

    @property
    def turned_off(self) -> bool:
        """This call sent the droplet a ``shutdown`` (or ``power_off``) that was not
        refused, and has not yet had a ``power_on`` accepted."""
        return bool(self.sent)

    def start(self, *, power_off: bool, wait: bool) -> Op[Image | Action]:
        """Turn the droplet off if asked and it is on, start the snapshot; with ``wait``,
        finish it. Anything that ends the call before the snapshot started powers the
        droplet on again if this call turned it off."""
        if self.name is None or power_off:
            droplet, now = yield from self.ops.info_at(self.droplet_id)
            self.name = self.name or default_name(droplet, now)
            power_off = power_off and droplet.status == "active"
        try:
            if power_off:
                yield from self.ops.turn_off(
                    self.droplet_id, poll=self.poll, sent=self.sent, on_update=self.on_update
                )
            self.action = yield from self.ops.start_snapshot(self.droplet_id, self.name)
        except GeneratorExit:
            raise  # closed: no effect can run any more
        except BaseException as error:
            if self.turned_off:
                yield from self._power_on_after(error)
            raise
        if not wait:
            self._seen(self.action)
            return self.action
        return (yield from self._finish(self.action))

    # -- the snapshot

    def _finish(self, action: Action) -> Op[Image]:
        """Wait for the snapshot, power the droplet on if this call turned it off, find
        the image."""
        try:
            self._seen(action)
            ended = yield from self.ops.wait(
                action, poll=self.poll, timeout=self.timeout, on_update=self.on_update
            )
        except ActionFailedError as failed:
            if self.turned_off:
                yield from self._power_on_after(failed)
            raise
        except GeneratorExit:
            raise
        except BaseException as error:
            if self.turned_off:
                self._left_off(error, "the snapshot may still be running")
            raise
        failure = (yield from self._power_on(wait=True)) if self.turned_off else None
        try:
            image = yield from find_image(self.ops, ended, name=self.name, poll=self.poll)
        except DoImagesError as error:
            if failure is not None:
                raise self._power_on_error(failure, None, after=error) from failure
            raise
        if failure is not None:
            raise self._power_on_error(failure, image) from failure
        return image

    def power_on_once_ended(self, action: Action) -> Op[Action]:
        """For a snapshot this call did not start but whose droplet it must power on (an
        interrupted ``power_off`` snapshot, resumed): wait for ``action`` to end, then power
        the droplet on (shielded, bounded) and return the ended action, errored too. A
        failed power-on raises ``DropletPowerOnError``; an interruption leaves the droplet
        off (a WARNING), as in ``_finish``."""
        self.sent.append("shutdown")
        self.action = action
        try:
            self._seen(action)
            ended = yield from self.ops.wait(
                action, poll=self.poll, timeout=self.timeout, on_update=self.on_update
            )
        except ActionFailedError as failed:
            ended = failed.action
        except GeneratorExit:
            raise
        except BaseException as error:
            self._left_off(error, "the snapshot may still be running")
            raise
        failure = yield from self._power_on(wait=True)
        if failure is not None:
            raise self._power_on_error(failure, None) from failure
        return ended

    # -- on again

    def _power_on_after(self, error: BaseException) -> Op[None]:
        """The call is ending with ``error``: power the droplet on (an interruption does not
        wait for it to be on); a failed power-on replaces an error, and is logged beside an
        interruption, which passes through as it is."""
        failure = yield from self._power_on(wait=isinstance(error, Exception))
        if failure is None:
            if not isinstance(error, Exception):  # an interruption: say what was done
                vars(error).update(droplet_id=self.droplet_id, left_off=False)
            return
        if isinstance(error, Exception):
            raise self._power_on_error(failure, None, after=error) from failure
        self._left_off(error, f"powering it on failed: {failure}")

    def _power_on(self, *, wait: bool) -> Op[BaseException | None]:
        """Power the droplet on as soon as it takes actions (shielded, within
        ``POWER_ON_BOUND``); with ``wait``, until it is on. The failure, if it failed; an
        interruption while it was not yet accepted notes the droplet left off, and goes on."""
        accepted: list[Action] = []
        try:
            action = yield from shielded(
                self.ops.power_on_when_free(self.droplet_id, accepted),
                seconds=POWER_ON_BOUND,
                clock=self.ops.session.clock,
            )
        except CleanupTimeoutError:
            return DoImagesError(
                f"droplet {self.droplet_id} still had a pending event {POWER_ON_BOUND:g} s "
                "after the snapshot: power_on was not accepted"
            )
        except Exception as failure:
            return failure
        except BaseException as interruption:
            if not accepted:
                self._left_off(interruption, "its power-on was interrupted")
            raise
        finally:
            if accepted:
                self.sent.clear()
        self._seen(action)
        if wait:
            try:
                yield from self.ops.wait(
                    action,
                    poll=min(self.poll, POWER_POLL),
                    timeout=POWER_ON_TIMEOUT,
                    on_update=self.on_update,
                )
            except Exception as failure:
                return failure
        return None

    # -- left off

    def _power_on_error(
        self, failure: BaseException, image: Image | None, *, after: BaseException | None = None
    ) -> DropletPowerOnError:
        what = f"droplet {self.droplet_id} is left off"
        made = f"; the snapshot made image {image.id}" if image is not None else ""
        also = f"; before that: {after}" if after is not None else ""
        error = DropletPowerOnError(
            f"{what}: powering it on failed: {failure}{made}{also}; power it on with: "
            f"{power_on_command(self.droplet_id)}",
            droplet_id=self.droplet_id,
            image=image,
        )
        error.action = self.action
        return error

    def _left_off(self, error: BaseException, why: str) -> None:
        """Say that the droplet stays off (a WARNING record), on ``error`` too."""
        command = power_on_command(self.droplet_id)
        logger.warning(
            "droplet %d is left off (%s); power it on with: %s",
            self.droplet_id,
            why,
            command,
            extra={"left_off": self.droplet_id},
        )
        if isinstance(error, DoImagesError):
            if error.action is None:
                error.action = self.action
            error.message = f"{error.message}; droplet {self.droplet_id} is left off: {command}"
            error.args = (error.message,)
        else:  # an interruption: it passes through as it is, these beside it
            vars(error).update(droplet_id=self.droplet_id, action=self.action, left_off=True)


__all__ = [
    "Snapshotting",
    "default_name",
    "find_image",
    "made_by",
    "power_on_after",
    "power_on_command",
    "snapshot",
    "snapshot_image",
]
