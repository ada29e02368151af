"""The resources of both clients (``do.image``, ``do.droplet``, ``do.snapshot``), written
once.

``_async/`` holds the source, ``_sync/`` the twins that ``tools/unasync.py`` writes
from it (``python tools/unasync.py --check``, run by the tests, fails on any drift).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._async.droplets import AsyncDropletResource
    from ._async.images import AsyncImageResource
    from ._async.snapshots import AsyncSnapshotResource
    from ._sync.droplets import DropletResource
    from ._sync.images import ImageResource
    from ._sync.snapshots import SnapshotResource

# Each loads on first use (PEP 562): a sync client never loads the async twin.
_EXPORTS = {
    "AsyncDropletResource": "._async.droplets",
    "AsyncImageResource": "._async.images",
    "AsyncSnapshotResource": "._async.snapshots",
    "DropletResource": "._sync.droplets",
    "ImageResource": "._sync.images",
    "SnapshotResource": "._sync.snapshots",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "AsyncDropletResource",
    "AsyncImageResource",
    "AsyncSnapshotResource",
    "DropletResource",
    "ImageResource",
    "SnapshotResource",
]
