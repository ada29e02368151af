"""The routes of ``/v2/tags[/{tag}[/resources]]``."""

from __future__ import annotations

from ._call import Answer, Call, Path, Route, paged


def _list_tags(call: Call) -> Answer:
    world = call.world
    tags = [world.tag_object(call.account, name) for name in world.tags.get(call.account, [])]
    return 200, paged(call.url, call.query, "tags", tags)


def _create_tag(call: Call) -> Answer:
    return 201, {"tag": call.world.create_tag(call.account, call.json_object())}


def _get_tag(call: Call) -> Answer:
    name = call.world.find_tag(call.account, call.params["tag"])
    return 200, {"tag": call.world.tag_object(call.account, name)}


def _delete_tag(call: Call) -> Answer:
    call.world.delete_tag(call.account, call.params["tag"])
    return 204, None


def _assign_tag(call: Call) -> Answer:
    call.world.assign_tag(call.account, call.params["tag"], call.json_object())
    return 204, None


def _unassign_tag(call: Call) -> Answer:
    call.world.unassign_tag(call.account, call.params["tag"], call.json_object())
    return 204, None


def _tags_path(rest: list[str]) -> Path | None:
    if not rest:
        return Path("tags", {})
    if len(rest) == 1:
        return Path("tag", {"tag": rest[0]})
    if len(rest) == 2 and rest[1] == "resources":
        return Path("tag_resources", {"tag": rest[0]})
    return None


ROUTES: dict[tuple[str, str], Route] = {
    ("tags", "GET"): Route("tags_list", _list_tags),
    ("tags", "POST"): Route("tags_create", _create_tag, root_causes=True),
    ("tag", "GET"): Route("tags_get", _get_tag),
    ("tag", "DELETE"): Route("tags_delete", _delete_tag),
    ("tag_resources", "POST"): Route("tags_assign_resources", _assign_tag),
    ("tag_resources", "DELETE"): Route("tags_unassign_resources", _unassign_tag),
}
ROOTS = {"tags": _tags_path}
