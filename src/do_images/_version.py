"""The version of do_images: written here once, read by the build and by the code.

The build takes the package version from this file (``[tool.hatch.version]``), so
the code can name it without ``importlib.metadata``, which costs about 14 ms to
import: a client's first request no longer pays that for its User-Agent.
"""

from __future__ import annotations

__version__ = "0.1.0"


def version() -> str:
    """do_images' version."""
    return __version__
