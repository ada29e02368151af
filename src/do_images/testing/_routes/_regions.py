"""The route of ``/v2/regions``."""

from __future__ import annotations

from ._call import Answer, Call, Path, Route, paged


def _list_regions(call: Call) -> Answer:
    return 200, paged(call.url, call.query, "regions", call.world.list_regions())


def _regions_path(rest: list[str]) -> Path | None:
    return None if rest else Path("regions", {})


ROUTES: dict[tuple[str, str], Route] = {
    ("regions", "GET"): Route("regions_list", _list_regions),
}
ROOTS = {"regions": _regions_path}
