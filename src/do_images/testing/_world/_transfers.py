"""The account transfers aggregate: a snapshot given to another account, and its states."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._core import DEFAULT_ACCOUNT, Problem, WorldCore, account_email, account_team

_TRANSFER_STATES = ("pending", "accepted", "cancelled", "declined")


class AccountTransfers(WorldCore):
    """Account transfers of snapshots: the rules of ``/v2/images/{id}/account_transfer``."""

    def _transfers_of(self, image: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [t for t in self.transfers.values() if t["image_id"] == image["id"]]

    def _is_recipient(self, transfer: Mapping[str, Any], account: str) -> bool:
        email, team = transfer["recipient_email"], transfer["recipient_uuid"]
        return bool(email == account_email(account) or team == account_team(account))

    def _account_of_team(self, team: str) -> str | None:
        return next((name for name in self.accounts if account_team(name) == team), None)

    def start_transfer(self, account: str, image: dict[str, Any], body: Mapping[str, Any]) -> int:
        """``POST /v2/images/{id}/account_transfer``: pending, or done at once for a team."""
        email, team = body.get("recipient_email"), body.get("recipient_uuid")
        if (email is None) == (team is None):
            raise Problem(400, "Give exactly one of recipient_email and recipient_uuid.")
        if not isinstance(email or team, str) or not (email or team):
            raise Problem(400, "The recipient must be a non-empty string.")
        if image["type"] != "snapshot":
            raise Problem(422, "Only snapshots can be transferred to another account.")
        if image["status"] != "available":
            raise Problem(422, "The image is not available yet.")
        if any(t["state"] == "pending" for t in self._transfers_of(image)):
            raise Problem(422, "The image already has a pending account transfer.")
        # A team of the sandbox takes the image at once; another stays pending until
        # someone of that team accepts, as on the API without rights in that team.
        recipient = self._account_of_team(team) if team is not None else None
        if recipient == account or email == account_email(account) or team == account_team(account):
            raise Problem(422, "The image is already in that account.")
        transfer = {
            "id": self._next_transfer_id,
            "image_id": image["id"],
            "sender": account,
            "recipient_email": email,
            "recipient_uuid": team,
            "state": "pending",
        }
        self._next_transfer_id += 1
        self.transfers[transfer["id"]] = transfer
        if recipient is None:
            return int(transfer["id"])
        self._move(transfer, image, recipient)
        return 0

    def _move(self, transfer: dict[str, Any], image: dict[str, Any], recipient: str) -> None:
        # Tags belong to an account: the image arrives without the sender's.
        transfer["state"] = "accepted"
        image["tags"] = []
        if recipient == DEFAULT_ACCOUNT:
            self.owners.pop(image["id"], None)
        else:
            self.owners[image["id"]] = recipient

    def _transfer(self, image: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        raw = body.get("transfer_id")
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise Problem(400, "transfer_id is required and must be an integer.")
        transfer = self.transfers.get(raw)
        if transfer is None or transfer["image_id"] != image["id"]:
            raise Problem(404)
        if transfer["state"] != "pending":
            raise Problem(422, f"The transfer is no longer pending: it was {transfer['state']}.")
        return transfer

    def accept_transfer(self, account: str, image: dict[str, Any], body: Mapping[str, Any]) -> None:
        """``POST .../account_transfer/accept``: the recipient takes the image."""
        team = body.get("recipient_uuid")
        if not isinstance(team, str) or not team:
            raise Problem(400, "recipient_uuid is required and must be a string.")
        transfer = self._transfer(image, body)
        if not self._is_recipient(transfer, account):
            raise Problem(404)
        if team != account_team(account):
            raise Problem(422, "recipient_uuid is not the team of the accepting account.")
        self._move(transfer, image, account)

    def cancel_transfer(self, account: str, image: dict[str, Any], body: Mapping[str, Any]) -> None:
        """``POST .../account_transfer/cancel``: the sender calls it off."""
        transfer = self._transfer(image, body)
        if transfer["sender"] != account:
            raise Problem(404)
        transfer["state"] = "cancelled"

    def decline_transfer(
        self, account: str, image: dict[str, Any], body: Mapping[str, Any]
    ) -> None:
        """``POST .../account_transfer/decline``: the recipient says no."""
        transfer = self._transfer(image, body)
        if not self._is_recipient(transfer, account):
            raise Problem(404)
        transfer["state"] = "declined"
