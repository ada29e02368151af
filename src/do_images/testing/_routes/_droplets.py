"""The routes of ``/v2/droplets``, a droplet, its actions and its snapshots."""

from __future__ import annotations

from typing import Any

from ._call import Answer, Call, Path, Route, paged


def _droplet(call: Call) -> dict[str, Any]:
    """The droplet the path names, of the caller's account, or 404."""
    return call.world.find_droplet(call.params["droplet_id"], call.account)


def _list_droplets(call: Call) -> Answer:
    droplets = call.world.list_droplets(
        call.account,
        tag=call.query.get("tag_name"),
        name=call.query.get("name"),
        kind=call.query.get("type"),
    )
    return 200, paged(call.url, call.query, "droplets", droplets)


def _get_droplet(call: Call) -> Answer:
    return 200, {"droplet": call.world.droplet_object(_droplet(call))}


def _list_droplet_actions(call: Call) -> Answer:
    actions = call.world.list_droplet_actions(_droplet(call))
    return 200, paged(call.url, call.query, "actions", actions)


def _start_droplet_action(call: Call) -> Answer:
    droplet = _droplet(call)
    return 201, {"action": call.world.start_droplet_action(droplet, call.json_object())}


def _get_droplet_action(call: Call) -> Answer:
    action = call.world.find_droplet_action(_droplet(call), call.params["action_id"])
    return 200, {"action": dict(action)}


def _list_droplet_snapshots(call: Call) -> Answer:
    snapshots = call.world.droplet_snapshots(_droplet(call))
    return 200, paged(call.url, call.query, "snapshots", snapshots)


def _droplets_path(rest: list[str]) -> Path | None:
    if not rest:
        return Path("droplets", {})
    droplet = {"droplet_id": rest[0]}
    if len(rest) == 1:
        return Path("droplet", droplet)
    if len(rest) == 2 and rest[1] in ("actions", "snapshots"):
        return Path(f"droplet_{rest[1]}", droplet)
    if len(rest) == 3 and rest[1] == "actions":
        return Path("droplet_action", {**droplet, "action_id": rest[2]})
    return None


ROUTES: dict[tuple[str, str], Route] = {
    ("droplets", "GET"): Route("droplets_list", _list_droplets),
    ("droplet", "GET"): Route("droplets_get", _get_droplet),
    ("droplet_actions", "GET"): Route("dropletActions_list", _list_droplet_actions),
    ("droplet_actions", "POST"): Route("dropletActions_post", _start_droplet_action),
    ("droplet_action", "GET"): Route("dropletActions_get", _get_droplet_action),
    ("droplet_snapshots", "GET"): Route("droplets_list_snapshots", _list_droplet_snapshots),
}
ROOTS = {"droplets": _droplets_path}
