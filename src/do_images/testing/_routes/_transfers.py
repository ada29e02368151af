"""The routes of ``/v2/images/{id}/account_transfer[/accept|cancel|decline]``."""

from __future__ import annotations

from ._call import Answer, Call, Route


def _start_account_transfer(call: Call) -> Answer:
    transfer_id = call.world.start_transfer(call.account, call.the_image, call.json_object())
    return 201, {"transfer_id": transfer_id}


def _accept_account_transfer(call: Call) -> Answer:
    call.world.accept_transfer(call.account, call.the_image, call.json_object())
    return 201, None


def _cancel_account_transfer(call: Call) -> Answer:
    call.world.cancel_transfer(call.account, call.the_image, call.json_object())
    return 204, None


def _decline_account_transfer(call: Call) -> Answer:
    call.world.decline_transfer(call.account, call.the_image, call.json_object())
    return 204, None


ROUTES: dict[tuple[str, str], Route] = {
    ("account_transfer", "POST"): Route(
        "images_post_account_transfer_create", _start_account_transfer, private_only=True
    ),
    ("account_transfer_accept", "POST"): Route(
        "images_post_account_transfer_accept", _accept_account_transfer, recipient_ok=True
    ),
    ("account_transfer_cancel", "POST"): Route(
        "images_post_account_transfer_cancel", _cancel_account_transfer, private_only=True
    ),
    ("account_transfer_decline", "POST"): Route(
        "images_post_account_transfer_decline", _decline_account_transfer, recipient_ok=True
    ),
}
