"""``SnapshotOps``: ``/v2/snapshots``, the list that names the droplet or volume each
snapshot was made of (``resource_id``), even once that is destroyed.

A snapshot's id there is a string: digits for a droplet's snapshot (its image's id), a
UUID for a volume's. ``info`` and ``destroy`` take either form, or an ``int``, and send
it as one path segment.
"""

from __future__ import annotations

import builtins
import re
from typing import Literal

import httpx

from ._checks import check_int, type_name
from ._constants import CONCURRENT_PAGES_MIN_LATENCY, MAX_PER_PAGE
from ._effects import Op
from ._images import OnImageOps
from ._models import SNAPSHOT_ENVELOPE, SNAPSHOT_PAGE, RateLimit, Snapshot
from ._paging import Page, collect

SnapshotResourceKind = Literal["droplet", "volume"]
_List = builtins.list  # the operations are called ``list``; the builtin under another name

_DIGITS = re.compile(r"[1-9][0-9]{0,18}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def check_snapshot_id(value: object) -> str:
    """A snapshot id as its path segment: a positive ``int``, or a ``Snapshot.id`` string
    (digits, or a volume snapshot's UUID); anything else is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"snapshot id must be an int or a str, not {type_name(value)}")
    if isinstance(value, int):
        if value < 1:
            raise ValueError(f"snapshot id must be a positive int, got {value}")
        return str(value)
    if _DIGITS.fullmatch(value) or _UUID.fullmatch(value):
        return value
    shown = value if len(value) <= 60 else value[:59] + "…"
    raise ValueError(
        f"snapshot id {shown!r} is neither a number nor a UUID (a Snapshot.id is one of them)"
    )


class SnapshotOps(OnImageOps):
    """One generator per operation of ``/v2/snapshots``, over the image operations' session
    and retries (``images``: the same client's ``ImageOps``)."""

    def snapshots_url(
        self, resource_type: SnapshotResourceKind | None, per_page: int = MAX_PER_PAGE
    ) -> str:
        """The first page's URL of ``GET /v2/snapshots`` with this filter."""
        params: dict[str, str | int] = {}
        if resource_type is not None:
            if resource_type not in ("droplet", "volume"):
                raise ValueError(
                    f"resource_type must be 'droplet' or 'volume', got {resource_type!r}"
                )
            params["resource_type"] = resource_type
        params["per_page"] = check_int(per_page, "per_page", min=1, max=MAX_PER_PAGE)
        return str(httpx.URL(self.session.api_url("snapshots")).copy_with(params=params))

    def snapshot_page(self, url: str | httpx.URL) -> Op[Page[Snapshot]]:
        """Fetch one page of ``GET /v2/snapshots``."""
        return self.images.page(url, SNAPSHOT_PAGE)

    def _rate_limit(self) -> RateLimit | None:
        return self.session.rate_limit

    def list(
        self, resource_type: SnapshotResourceKind | None, concurrency: int = 1
    ) -> Op[_List[Snapshot]]:
        """Every snapshot (of that kind), following every page."""
        first = self.snapshots_url(resource_type)
        return (
            yield from collect(
                self.snapshot_page,
                first,
                concurrency,
                self._rate_limit,
                CONCURRENT_PAGES_MIN_LATENCY,
            )
        )

    def info(self, snapshot_id: int | str) -> Op[Snapshot]:
        """``GET /v2/snapshots/{id}``."""
        url = self.session.api_url("snapshots", check_snapshot_id(snapshot_id))
        response = yield from self.images.get(url)
        return self.session.parse(SNAPSHOT_ENVELOPE, response).snapshot

    def destroy(self, snapshot_id: int | str) -> Op[None]:
        """``DELETE /v2/snapshots/{id}`` (a 404 after an attempt that may have deleted it
        counts as done, as for images)."""
        url = self.session.api_url("snapshots", check_snapshot_id(snapshot_id))
        yield from self.images.send(self.session.request("DELETE", url))
        return None


__all__ = ["SnapshotOps", "SnapshotResourceKind", "check_snapshot_id"]
