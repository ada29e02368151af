# The source of both clients' ``do.droplet``: tools/unasync.py writes the sync twin,
# src/do_images/_resources/_sync/droplets.py, from this file.
"""``do.droplet``: droplets, their actions and snapshots, and snapshotting one to get its
image back, as thin wrappers over the runner.

Each method checks nothing itself and decides nothing: it builds the shared operation
(``_droplets``, ``_snapshotting``) and runs it on its client's runner (``_effects``).
"""

from __future__ import annotations

import builtins
from typing import Literal, overload

from ..._droplets import DropletOps, OnAction
from ..._effects import AsyncRunner
from ..._models import Action, Droplet, Image
from ..._paging import AsyncPager
from ..._snapshotting import power_on_after, snapshot, snapshot_image

__all__ = ["AsyncDropletResource"]


class AsyncDropletResource:
    """``do.droplet``: list droplets, read their actions and snapshots, snapshot one and get
    the image back, power one on (async).

    Every method also takes a keyword-only ``max_retries`` that replaces the
    client's for that one call (``None``: the client's).
    """

    def __init__(self, ops: DropletOps, run: AsyncRunner, page_concurrency: int = 4) -> None:
        self._ops = ops
        self._run = run
        self._page_concurrency = page_concurrency

    async def list(
        self, tag_name: str | None = None, *, max_retries: int | None = None
    ) -> list[Droplet]:
        """Every droplet, all pages: ``GET /v2/droplets``; with ``tag_name``, those with
        that tag (the API then leaves out GPU droplets)."""
        return await self._run(
            self._ops.with_retries(max_retries).list(tag_name, self._page_concurrency)
        )

    def iter(
        self,
        tag_name: str | None = None,
        per_page: int = 200,
        *,
        max_retries: int | None = None,
    ) -> AsyncPager[Droplet]:
        """Droplets page by page as you iterate: ``GET /v2/droplets``."""
        ops = self._ops.with_retries(max_retries)
        return AsyncPager(self._run, ops.droplet_page, ops.droplets_url(tag_name, per_page))

    async def info(self, id: int, *, max_retries: int | None = None) -> Droplet:
        """One droplet: ``GET /v2/droplets/{id}``. Raises ``NotFoundError`` when there is
        none (a destroyed droplet's snapshots stay: ``do.snapshot.list``)."""
        return await self._run(self._ops.with_retries(max_retries).info(id))

    async def actions(self, id: int, *, max_retries: int | None = None) -> builtins.list[Action]:
        """Every action of a droplet, newest first, all pages:
        ``GET /v2/droplets/{id}/actions``. The only place a snapshot in progress shows."""
        return await self._run(
            self._ops.with_retries(max_retries).actions(id, self._page_concurrency)
        )

    async def snapshots(self, id: int, *, max_retries: int | None = None) -> builtins.list[Image]:
        """A droplet's snapshots *and* backups, all pages, as the API lists them:
        ``GET /v2/droplets/{id}/snapshots``. Its items have the fields that list sends (no
        ``status``, no ``tags``): ``do.image.info(id)`` gives one whole."""
        return await self._run(
            self._ops.with_retries(max_retries).snapshots(id, self._page_concurrency)
        )

    @overload
    async def snapshot(
        self,
        id: int,
        name: str | None = None,
        *,
        wait: Literal[True] = True,
        power_off: bool = False,
        poll: float = 10.0,
        timeout: float = 3600.0,
        on_update: OnAction | None = None,
        max_retries: int | None = None,
    ) -> Image: ...

    @overload
    async def snapshot(
        self,
        id: int,
        name: str | None = None,
        *,
        wait: Literal[False],
        power_off: bool = False,
        poll: float = 10.0,
        timeout: float = 3600.0,
        on_update: OnAction | None = None,
        max_retries: int | None = None,
    ) -> Action: ...

    @overload
    async def snapshot(
        self,
        id: int,
        name: str | None = None,
        *,
        wait: bool,
        power_off: bool = False,
        poll: float = 10.0,
        timeout: float = 3600.0,
        on_update: OnAction | None = None,
        max_retries: int | None = None,
    ) -> Image | Action: ...

    async def snapshot(
        self,
        id: int,
        name: str | None = None,
        *,
        wait: bool = True,
        power_off: bool = False,
        poll: float = 10.0,
        timeout: float = 3600.0,
        on_update: OnAction | None = None,
        max_retries: int | None = None,
    ) -> Image | Action:
        """Snapshot a droplet: ``POST /v2/droplets/{id}/actions {"type": "snapshot"}``.

        With ``wait=True`` (the default), waits for the snapshot and returns its **image**
        as ``do.image.info`` gives it: the droplet's snapshot made at the action's
        ``started_at`` with this ``name`` (default ``"{droplet name}-{UTC
        YYYYMMDD-HHMMSS}"``); a listing that lags is read again for up to 5 minutes, then
        ``SnapshotNotFoundError``. With ``wait=False``, returns the in-progress action
        (``snapshot_image(action)`` finds its image later).

        The POST is never sent twice: after a failure that may have reached the API, the
        droplet's actions are searched for the snapshot it started, which is adopted;
        else ``UnknownOutcomeError``. A droplet with a pending event raises
        ``DropletBusyError``. Waiting raises ``ActionFailedError`` (errored) or
        ``ActionTimeoutError``, each with the action.

        ``power_off=True`` (needs ``wait``): an ``active`` droplet is shut down first (then
        ``power_off`` if it is not off within 2 minutes) and powered on again as soon as
        it takes actions: once the snapshot ended, or at once if the call ends before the
        snapshot started. That power-on is shielded from a further cancellation and
        bounded by 30 s; a failed one raises ``DropletPowerOnError``. Interrupted *after*
        the snapshot started, the interruption passes through and the droplet stays off
        (a WARNING record on the ``do_images`` logger says so, with the command that
        powers it on). A droplet that was off is never powered on.

        ``on_update`` is called with each action seen: the shutdown, the snapshot after
        every poll, the power-on.
        """
        return await self._run(
            snapshot(
                self._ops.with_retries(max_retries),
                id,
                name,
                wait=wait,
                power_off=power_off,
                poll=poll,
                timeout=timeout,
                on_update=on_update,
            )
        )

    async def snapshot_image(
        self,
        action: Action,
        *,
        name: str | None = None,
        poll: float = 10.0,
        timeout: float = 3600.0,
        on_update: OnAction | None = None,
        max_retries: int | None = None,
    ) -> Image:
        """Wait for a droplet's snapshot ``action`` (from ``snapshot(wait=False)``) to
        complete, then return its image, as ``snapshot`` does: matched by the action's
        ``started_at`` to the second, and by ``name`` too when given."""
        return await self._run(
            snapshot_image(
                self._ops.with_retries(max_retries),
                action,
                name=name,
                poll=poll,
                timeout=timeout,
                on_update=on_update,
            )
        )

    async def power_on(
        self, id: int, *, wait: bool = True, max_retries: int | None = None
    ) -> Action:
        """Power a droplet on: ``POST /v2/droplets/{id}/actions {"type": "power_on"}``;
        with ``wait``, returns once the action is completed. A droplet with a pending
        event raises ``DropletBusyError``."""
        return await self._run(self._ops.with_retries(max_retries).power_on(id, wait=wait))

    # -- for the command line (not documented API)

    async def _action(self, action_id: int) -> Action:
        """``GET /v2/actions/{id}``: any action of the account (``do-images action ID``)."""
        return await self._run(self._ops.any_action(action_id))

    async def _power_on_after(
        self, action: Action, *, poll: float, timeout: float, on_update: OnAction | None
    ) -> Action:
        """``_snapshotting.power_on_after``: the first Ctrl-C of ``droplet snapshot
        --power-off`` waits for the snapshot to end, then powers the droplet on."""
        return await self._run(
            power_on_after(self._ops, action, poll=poll, timeout=timeout, on_update=on_update)
        )
