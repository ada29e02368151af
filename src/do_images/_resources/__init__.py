"""The resources of both clients (``do.image``), written once.

``_async/`` holds the source, ``_sync/`` the twins that ``tools/unasync.py`` writes
from it (``python tools/unasync.py --check``, run by the tests, fails on any drift).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._async.images import AsyncImageResource
    from ._sync.images import ImageResource

# Each loads on first use (PEP 562): a sync client never loads the async twin.
_EXPORTS = {"AsyncImageResource": "._async.images", "ImageResource": "._sync.images"}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = ["AsyncImageResource", "ImageResource"]
