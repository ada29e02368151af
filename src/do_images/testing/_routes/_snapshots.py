"""The routes of ``/v2/snapshots`` and ``/v2/snapshots/{id}``."""

from __future__ import annotations

from ._call import Answer, Call, Path, Route, paged


def _list_snapshots(call: Call) -> Answer:
    snapshots = call.world.list_snapshots(call.account, call.query.get("resource_type"))
    return 200, paged(call.url, call.query, "snapshots", snapshots)


def _get_snapshot(call: Call) -> Answer:
    image = call.world.find_snapshot(call.params["snapshot_id"], call.account)
    return 200, {"snapshot": call.world.snapshot_object(image)}


def _delete_snapshot(call: Call) -> Answer:
    call.world.delete_image(call.world.find_snapshot(call.params["snapshot_id"], call.account))
    return 204, None


def _snapshots_path(rest: list[str]) -> Path | None:
    if not rest:
        return Path("snapshots", {})
    if len(rest) == 1:
        return Path("snapshot", {"snapshot_id": rest[0]})
    return None


ROUTES: dict[tuple[str, str], Route] = {
    ("snapshots", "GET"): Route("snapshots_list", _list_snapshots),
    ("snapshot", "GET"): Route("snapshots_get", _get_snapshot),
    ("snapshot", "DELETE"): Route("snapshots_delete", _delete_snapshot),
}
ROOTS = {"snapshots": _snapshots_path}
