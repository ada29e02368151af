"""The routes of ``/v2/images`` and ``/v2/images/{id}``, and the paths under them."""

from __future__ import annotations

from ._call import Answer, Call, Path, Route, paged


def _list_images(call: Call) -> Answer:
    images = call.world.list_images(
        kind=call.query.get("type"),
        private=call.query.get("private"),
        tag=call.query.get("tag_name"),
        account=call.account,
    )
    return 200, paged(call.url, call.query, "images", images)


def _create_image(call: Call) -> Answer:
    return 202, {"image": call.world.create_image(call.json_object(), call.account)}


def _get_image(call: Call) -> Answer:
    return 200, {"image": dict(call.the_image)}


def _update_image(call: Call) -> Answer:
    return 200, {"image": call.world.update_image(call.the_image, call.json_object())}


def _delete_image(call: Call) -> Answer:
    call.world.delete_image(call.the_image)
    return 204, None


_TRANSFER_STEPS = {"accept", "cancel", "decline"}


def _images_path(rest: list[str]) -> Path | None:
    if not rest:
        return Path("images", {})
    image = {"image_id": rest[0]}
    if len(rest) == 1:
        return Path("image", image)
    if len(rest) == 2 and rest[1] in ("actions", "account_transfer"):
        return Path(rest[1], image)
    if len(rest) == 3 and rest[1] == "actions":
        return Path("action", {**image, "action_id": rest[2]})
    if len(rest) == 3 and rest[1] == "account_transfer" and rest[2] in _TRANSFER_STEPS:
        return Path(f"account_transfer_{rest[2]}", image)
    return None


ROUTES: dict[tuple[str, str], Route] = {
    ("images", "GET"): Route("images_list", _list_images),
    ("images", "POST"): Route("images_create_custom", _create_image),
    ("image", "GET"): Route("images_get", _get_image, slug_ok=True),
    ("image", "PUT"): Route("images_update", _update_image, private_only=True),
    ("image", "DELETE"): Route("images_delete", _delete_image, private_only=True),
}
ROOTS = {"images": _images_path}
