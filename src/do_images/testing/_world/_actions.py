"""The actions aggregate: image actions (transfer, convert) and how they progress, and
the Actions API's view of every action of an account, images' and droplets'.

Droplet actions are started and progress in an aggregate of their own
(``_droplet_actions``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from .._seed import region_object
from ._core import (
    DEFAULT_ACCOUNT,
    PendingRun,
    Problem,
    WorldCore,
    int_segment,
    iso,
    newest_first,
    required_str,
)
from ._regions import check_region, check_regions

ACTION_TYPES = ("transfer", "convert")
ACTION_STATUSES = ("in-progress", "completed", "errored")


class Actions(WorldCore):
    """The image actions: the rules of ``/v2/images/{id}/actions`` and their progress."""

    def _finish_run(self, item: PendingRun) -> None:
        action = item.action
        action["completed_at"] = iso(self.start + timedelta(seconds=item.due))
        if item.errored:
            action["status"] = "errored"
            return
        action["status"] = "completed"
        image = self.images.get(item.image_id)
        if image is None:
            return
        if action["type"] == "transfer" and item.region not in image["regions"]:
            image["regions"] = [*image["regions"], item.region]
        elif action["type"] == "convert":
            image["type"] = "snapshot"

    def find_action(self, image: Mapping[str, Any], raw: str) -> dict[str, Any]:
        """The action ``raw`` of ``image``, or 404."""
        action_id = int_segment(raw)
        action = self.actions.get(action_id) if action_id is not None else None
        if action is None or not _of_image(action, image):
            raise Problem(404)
        return action

    def list_actions(self, image: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The actions of ``image``, by id."""
        return [
            self.actions[key] for key in sorted(self.actions) if _of_image(self.actions[key], image)
        ]

    def action_visible(self, action: Mapping[str, Any], account: str) -> bool:
        """Whether ``account`` sees ``action`` at ``/v2/actions``: an action of its own
        droplet (even once destroyed) or of an image it sees (any, once deleted)."""
        if action["resource_type"] == "droplet":
            return self.droplet_accounts.get(action["resource_id"], DEFAULT_ACCOUNT) == account
        image = self.images.get(action["resource_id"])
        return image is None or self.visible(image, account)

    def account_actions(self, account: str) -> list[dict[str, Any]]:
        """``GET /v2/actions``: every action ``account`` sees, newest first."""
        return newest_first(
            action for action in self.actions.values() if self.action_visible(action, account)
        )

    def start_action(self, image: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /v2/images/{id}/actions``: an in-progress transfer or convert."""
        kind = body.get("type")
        if kind not in ACTION_TYPES:
            raise Problem(422, "type must be 'transfer' or 'convert'.")
        if image["status"] != "available":
            raise Problem(422, "The image is not available yet.")
        if kind == "transfer":
            region = required_str(body, "region")
            check_region(region)
            if region in image["regions"]:
                raise Problem(422, f"The image is already available in {region}.")
            if self._transferring(image["id"], region):
                raise Problem(422, f"The image is already being transferred to {region}.")
        else:
            if image["type"] != "backup":
                raise Problem(422, "Only backups can be converted to snapshots.")
            region = image["regions"][0] if image["regions"] else "nyc3"
        errored = self.errored_actions > 0
        if errored:
            self.errored_actions -= 1
        run = self.new_action(image, kind, region, errored=errored)
        return dict(run.action)

    def _transferring(self, image_id: int, region: str) -> bool:
        return any(
            isinstance(item, PendingRun)
            and item.image_id == image_id
            and item.region == region
            and item.action["type"] == "transfer"
            for item in self._pending
        )

    def new_action(
        self,
        image: Mapping[str, Any],
        kind: str,
        region: str,
        *,
        errored: bool,
        action_id: int | None = None,
    ) -> PendingRun:
        """Record a new in-progress action that finishes ``action_seconds`` from now."""
        if action_id is None:
            action_id = self._new_action_id()
        action: dict[str, Any] = {
            "id": action_id,
            "status": "in-progress",
            "type": kind,
            "started_at": iso(self.now),
            "completed_at": None,
            "resource_id": image["id"],
            "resource_type": "image",
            "region": region_object(region),
            "region_slug": region,
        }
        self.actions[action_id] = action
        run = PendingRun(
            due=self.clock() + self.action_seconds,
            action=action,
            image_id=image["id"],
            region=region,
            errored=errored,
        )
        self._pending.append(run)
        return run

    def add_action(
        self, image_id: int, kind: str, *, region: str | None, status: str, action_id: int | None
    ) -> dict[str, Any]:
        """Record an action as if started; one not in progress has already taken effect."""
        image = self.images.get(image_id)
        if image is None:
            raise ValueError(f"there is no image with id {image_id}")
        if action_id is not None and action_id in self.actions:
            raise ValueError(f"there is already an action with id {action_id}")
        region = region or (image["regions"][0] if image["regions"] else "nyc3")
        check_regions([region])
        run = self.new_action(image, kind, region, errored=status == "errored", action_id=action_id)
        if status != "in-progress":
            run.due = self.clock()
            self.settle()
        return run.action


def _of_image(action: Mapping[str, Any], image: Mapping[str, Any]) -> bool:
    return bool(action["resource_type"] == "image" and action["resource_id"] == image["id"])
