# The source of both clients' ``do.snapshot``: tools/unasync.py writes the sync twin,
# src/do_images/_resources/_sync/snapshots.py, from this file.
"""``do.snapshot``: ``/v2/snapshots``, as thin wrappers over the runner (``_snapshots``)."""

from __future__ import annotations

from ..._effects import AsyncRunner
from ..._models import Snapshot
from ..._snapshots import SnapshotOps, SnapshotResourceKind

__all__ = ["AsyncSnapshotResource"]


class AsyncSnapshotResource:
    """``do.snapshot``: the snapshots of droplets and volumes, each naming what it was made
    of (``resource_id``), even once that is destroyed (async).

    A ``Snapshot.id`` is a string (digits for a droplet's snapshot, a UUID for a
    volume's); ``info`` and ``destroy`` take it, or an ``int``. Every method also takes a
    keyword-only ``max_retries`` (``None``: the client's).
    """

    def __init__(self, ops: SnapshotOps, run: AsyncRunner, page_concurrency: int = 4) -> None:
        self._ops = ops
        self._run = run
        self._page_concurrency = page_concurrency

    async def list(
        self, resource_type: SnapshotResourceKind | None = None, *, max_retries: int | None = None
    ) -> list[Snapshot]:
        """Every snapshot, all pages: ``GET /v2/snapshots``; ``resource_type`` ``"droplet"``
        or ``"volume"`` keeps those."""
        return await self._run(
            self._ops.with_retries(max_retries).list(resource_type, self._page_concurrency)
        )

    async def info(self, id: int | str, *, max_retries: int | None = None) -> Snapshot:
        """One snapshot: ``GET /v2/snapshots/{id}``."""
        return await self._run(self._ops.with_retries(max_retries).info(id))

    async def destroy(self, id: int | str, *, max_retries: int | None = None) -> None:
        """Delete a snapshot: ``DELETE /v2/snapshots/{id}``. A droplet's snapshot is its
        image, so this deletes the image too."""
        await self._run(self._ops.with_retries(max_retries).destroy(id))
