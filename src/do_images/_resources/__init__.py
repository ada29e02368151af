"""The resources of both clients (``do.image``, ``do.droplet``, ``do.snapshot``), written
once.

``_async/`` holds the source, ``_sync/`` the twins that ``tools/unasync.py`` writes
from it (``python tools/unasync.py --check``, run by the tests, fails on any drift).
"""

from __future__ import annotations

from ._async.droplets import AsyncDropletResource
from ._async.images import AsyncImageResource
from ._async.snapshots import AsyncSnapshotResource
from ._sync.droplets import DropletResource
from ._sync.images import ImageResource
from ._sync.snapshots import SnapshotResource

__all__ = [
    "AsyncDropletResource",
    "AsyncImageResource",
    "AsyncSnapshotResource",
    "DropletResource",
    "ImageResource",
    "SnapshotResource",
]
