"""The routes of image actions, and of the Actions API's ``/v2/actions[/{id}]`` (every
action of the account, images' and droplets')."""

from __future__ import annotations

from .._world._core import Problem, int_segment
from ._call import Answer, Call, Path, Route, paged


def _list_actions(call: Call) -> Answer:
    return 200, paged(call.url, call.query, "actions", call.world.list_actions(call.the_image))


def _start_action(call: Call) -> Answer:
    return 201, {"action": call.world.start_action(call.the_image, call.json_object())}


def _list_account_actions(call: Call) -> Answer:
    return 200, paged(call.url, call.query, "actions", call.world.account_actions(call.account))


def _get_account_action(call: Call) -> Answer:
    action_id = int_segment(call.params["action_id"])
    action = call.world.actions.get(action_id) if action_id is not None else None
    if action is None or not call.world.action_visible(action, call.account):
        raise Problem(404)
    return 200, {"action": dict(action)}


def _get_action(call: Call) -> Answer:
    return 200, {"action": dict(call.world.find_action(call.the_image, call.params["action_id"]))}


def _account_action_path(rest: list[str]) -> Path | None:
    if not rest:
        return Path("account_actions", {})
    return Path("account_action", {"action_id": rest[0]}) if len(rest) == 1 else None


ROUTES: dict[tuple[str, str], Route] = {
    ("actions", "GET"): Route("imageActions_list", _list_actions),
    ("actions", "POST"): Route("imageActions_post", _start_action, private_only=True),
    ("action", "GET"): Route("imageActions_get", _get_action),
    # From the Actions API: any action of the account, as doboto's waits poll it.
    ("account_actions", "GET"): Route("actions_list", _list_account_actions),
    ("account_action", "GET"): Route("actions_get", _get_account_action),
}
ROOTS = {"actions": _account_action_path}
