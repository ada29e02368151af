"""The installed version of do_images, read from its metadata when first asked for.

``importlib.metadata`` takes longer to import than the rest of ``import do_images``,
so it is only imported when the version is needed (a client's User-Agent,
``do_images.__version__``, ``do-images --version``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    __version__: str


@functools.cache
def version() -> str:
    """``do-images``'s installed version (``0+unknown`` in an uninstalled source tree)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("do-images")
    except PackageNotFoundError:
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
