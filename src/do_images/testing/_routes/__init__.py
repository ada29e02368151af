"""The sandbox's routes as a table: each aggregate's rows and path shapes, merged.

Each module here holds one aggregate's handlers, its rows of ``ROUTES`` (keyed by path
shape and method) and, if it owns a first segment after ``/v2/``, the function that
reads the rest of the path (``ROOTS``). A new aggregate is a module beside them and one
more line in each merge below.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from . import _actions, _droplets, _images, _regions, _snapshots, _tags, _transfers
from ._call import Path, Route

__all__ = ["ROUTES", "match"]

ROUTES: dict[tuple[str, str], Route] = {
    **_images.ROUTES,
    **_actions.ROUTES,
    **_transfers.ROUTES,
    **_tags.ROUTES,
    **_regions.ROUTES,
    **_droplets.ROUTES,
    **_snapshots.ROUTES,
}
"""``(path shape, method) -> Route``: every operation the sandbox answers."""

_ROOTS: dict[str, Callable[[list[str]], Path | None]] = {
    **_actions.ROOTS,
    **_droplets.ROOTS,
    **_images.ROOTS,
    **_regions.ROOTS,
    **_snapshots.ROOTS,
    **_tags.ROOTS,
}
"""The first segment after ``/v2/`` -> the function that reads the rest of the path."""


def match(raw_path: bytes) -> Path | None:
    """Match the spec's paths, ``[prefix]/v2/images[/{id}[/actions[/{action_id}]]]``,
    ``.../account_transfer[/accept|cancel|decline]``, ``/v2/tags[/{tag}[/resources]]``,
    ``/v2/droplets[/{id}[/actions[/{action_id}]|/snapshots]]``, ``/v2/snapshots[/{id}]``,
    ``[prefix]/v2/actions[/{id}]`` and ``[prefix]/v2/regions``.

    Empty segments are skipped, as the API skips them (doboto asks for ``/v2//images``).
    ``None`` when nothing matches.
    """
    path = raw_path.split(b"?", 1)[0].decode("ascii", errors="replace")
    segments = [segment for segment in path.split("/") if segment]
    for index in range(len(segments) - 1):
        if segments[index] == "v2" and segments[index + 1] in _ROOTS:
            # Each segment is decoded on its own, so an encoded "/" stays inside it.
            rest = [unquote(segment) for segment in segments[index + 2 :]]
            return _ROOTS[segments[index + 1]](rest)
    return None
