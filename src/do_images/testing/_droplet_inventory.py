"""The sandbox's droplets, as a test states and reads them: add one, remove one, list
them, and make the next snapshots fail."""

from __future__ import annotations

import math
from datetime import datetime

from .._checks import check_int
from .._models import Droplet
from ._facade import FacadeCore, check_times
from ._http import ACCOUNT_NAME
from ._world._core import DEFAULT_ACCOUNT, Problem, iso
from ._world._droplets import DROPLET_STATUSES
from ._world._regions import check_regions
from ._world._tags import check_tag


class DropletInventory(FacadeCore):
    """State the droplets a test needs, read them back, and fail their snapshots."""

    @property
    def droplets(self) -> list[Droplet]:
        """Every droplet of every account, as the API would show it now, by id."""
        with self._synced():
            self._world.settle()
            droplets = self._world.droplets
            return [
                Droplet.model_validate(self._world.droplet_object(droplets[key]))
                for key in sorted(droplets)
            ]

    def add_droplet(
        self,
        name: str,
        *,
        region: str = "nyc3",
        tags: list[str] | tuple[str, ...] = (),
        disk_gb: int = 25,
        used_gb: float = 2.0,
        status: str = "active",
        id: int | None = None,
        created_at: datetime | None = None,
        account: str = DEFAULT_ACCOUNT,
    ) -> Droplet:
        """Add a droplet (an ``active`` one in ``nyc3`` unless told otherwise); return it.

        ``disk_gb`` is its disk (its size is the smallest that holds it) and the
        ``min_disk_size`` of its snapshots; ``used_gb`` the space in use there, which a
        snapshot's duration (2 minutes a GB, at least 30 s) and size follow. ``tags`` are
        made in its account if new. ``id`` picks its id (it must be free; by default the
        next free one from 3164500); ``created_at`` is an aware ``datetime`` (default: the
        sandbox clock's now). ``account`` is the sandbox account it belongs to (see
        ``account()``): only that account's token sees it.
        """
        _check_droplet(name, disk_gb, used_gb, status, account)
        check_regions([region])
        _check_tags(tags)
        if id is not None:
            check_int(id, "id", min=1)
        if created_at is not None and (
            not isinstance(created_at, datetime) or created_at.tzinfo is None
        ):
            raise ValueError("created_at must be a timezone-aware datetime")
        with self._synced():
            droplet = self._world.add_droplet(
                droplet_id=id,
                account=account,
                name=name,
                region=region,
                tags=list(tags),
                disk_gb=disk_gb,
                used_gb=float(used_gb),
                status=status,
                created_at=None if created_at is None else iso(created_at),
            )
            return Droplet.model_validate(droplet)

    def remove_droplet(self, id: int) -> None:
        """Destroy a droplet, as the API does: its snapshots stay (``/v2/images``,
        ``/v2/snapshots`` with its id as ``resource_id``), its backups go, and
        ``/v2/droplets/{id}`` and its snapshots list answer 404. ``ValueError`` if there
        is no such droplet, or while an action of it runs."""
        check_int(id, "id", min=1)
        with self._synced():
            self._world.settle()
            self._world.remove_droplet(id)

    def fail_next_snapshot(self, times: int = 1) -> None:
        """Make the next ``times`` droplet snapshots end ``errored`` when they would have
        completed, with no image made."""
        check_times(times)
        with self._synced():
            self._world.failed_snapshots += times


def _check_droplet(name: object, disk_gb: int, used_gb: float, status: str, account: str) -> None:
    """``add_droplet``'s arguments as the API would have made such a droplet, or an error
    naming the one that is not."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name must be a non-empty str")
    check_int(disk_gb, "disk_gb", min=1)
    if isinstance(used_gb, bool) or not isinstance(used_gb, (int, float)):
        raise TypeError("used_gb must be a number of GB")
    if not math.isfinite(used_gb) or not 0 <= used_gb <= disk_gb:
        raise ValueError(f"used_gb must be from 0 to disk_gb ({disk_gb}), got {used_gb!r}")
    if status not in DROPLET_STATUSES:
        raise ValueError(f"status must be one of {', '.join(DROPLET_STATUSES)}, got {status!r}")
    if not isinstance(account, str) or not ACCOUNT_NAME.fullmatch(account):
        raise ValueError(f"account must be a sandbox account name, got {account!r}")


def _check_tags(tags: object) -> None:
    """Tag names as the API takes them, or ``ValueError`` with the API's words."""
    if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
        raise TypeError("tags must be a list or tuple of tag names")
    for tag in tags:
        if not isinstance(tag, str):
            raise TypeError(f"a tag name is a str, got {tag!r}")
        try:
            check_tag(tag)
        except Problem as problem:
            raise ValueError(problem.message) from None
