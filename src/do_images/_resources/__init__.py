"""The resources of both clients (``do.image``), written once.

``_async/`` holds the source, ``_sync/`` the twins that ``tools/unasync.py`` writes
from it (``python tools/unasync.py --check``, run by the tests, fails on any drift).
"""

from __future__ import annotations

from ._async.images import AsyncImageResource
from ._sync.images import ImageResource

__all__ = ["AsyncImageResource", "ImageResource"]
