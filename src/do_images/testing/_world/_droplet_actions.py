"""The droplet actions aggregate: ``snapshot``, ``shutdown``, ``power_off`` and
``power_on`` on the virtual clock, the lock they hold, and what they leave behind.

- A snapshot takes 2 minutes per GB the droplet's disk has in use (at least 30 s); the
  power actions take 5 s.
- While an action runs the droplet is ``locked``, and any other action is a 422
  ("Droplet already has a pending event."), as on the API.
- A completed snapshot leaves a private ``snapshot`` image in the droplet's region whose
  ``created_at`` is the action's ``started_at`` (``snapshot_image_lag`` seconds after
  the action completed, when the world is told to make the listing lag).
- A ``shutdown`` completes 2 s before the droplet is ``off``, as on the API; ``power_off``
  makes it ``off`` and ``power_on`` ``active`` when they complete.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from .._seed import region_object
from ._core import (
    DEFAULT_ACCOUNT,
    PendingDropletRun,
    Problem,
    WorldCore,
    int_segment,
    iso,
    newest_first,
)

MODELLED = ("snapshot", "shutdown", "power_off", "power_on")
"""The droplet actions the sandbox carries out."""
SPEC_ACTIONS = (
    "enable_backups",
    "disable_backups",
    "change_backup_policy",
    "reboot",
    "power_cycle",
    "shutdown",
    "power_off",
    "power_on",
    "restore",
    "password_reset",
    "resize",
    "rebuild",
    "rename",
    "change_kernel",
    "enable_ipv6",
    "snapshot",
)
"""Every droplet action type the spec knows."""
POWER_SECONDS = 5.0
"""How long ``shutdown``, ``power_off`` and ``power_on`` take."""
OFF_AFTER_SHUTDOWN = 2.0
"""How long after a completed ``shutdown`` the droplet is ``off``."""
PENDING_EVENT = "Droplet already has a pending event."


def snapshot_seconds(used_gb: float) -> float:
    """How long a snapshot of a droplet with ``used_gb`` in use takes: 2 minutes a GB,
    at least 30 s."""
    return max(30.0, 120.0 * used_gb)


class DropletActions(WorldCore):
    """The rules of ``/v2/droplets/{id}/actions``, and how droplet actions progress."""

    def start_droplet_action(
        self, droplet: Mapping[str, Any], body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``POST /v2/droplets/{id}/actions``: one of the modelled actions, in progress."""
        kind = body.get("type")
        if kind not in SPEC_ACTIONS:
            raise Problem(422, f"type must be one of the droplet actions: {', '.join(MODELLED)}.")
        if kind not in MODELLED:
            raise Problem(
                422,
                f"The sandbox does not model the {kind} action; it models {', '.join(MODELLED)}.",
            )
        name = body.get("name") if kind == "snapshot" else None
        if name is not None and not isinstance(name, str):
            raise Problem(422, "name must be a string.")
        if self.running_on(droplet["id"]):
            raise Problem(422, PENDING_EVENT)
        if kind == "snapshot":
            seconds = snapshot_seconds(self.droplet_used_gb.get(droplet["id"], 0.0))
            # Without a name the API names it after the droplet and the time, in ms.
            name = name or f"{droplet['name']}-{int(self.now.timestamp() * 1000)}"
        else:
            seconds = POWER_SECONDS
        errored = kind == "snapshot" and self.failed_snapshots > 0
        if errored:
            self.failed_snapshots -= 1
        action = self._droplet_action(droplet, str(kind))
        self._pending.append(
            PendingDropletRun(
                due=self.clock() + seconds,
                action=action,
                droplet_id=droplet["id"],
                errored=errored,
                name=name,
            )
        )
        return dict(action)

    def _droplet_action(self, droplet: Mapping[str, Any], kind: str) -> dict[str, Any]:
        region = droplet["region"]["slug"]
        action: dict[str, Any] = {
            "id": self._new_action_id(),
            "status": "in-progress",
            "type": kind,
            "started_at": iso(self.now),
            "completed_at": None,
            "resource_id": droplet["id"],
            "resource_type": "droplet",
            "region": region_object(region),
            "region_slug": region,
        }
        self.actions[action["id"]] = action
        return action

    def _finish_droplet_run(self, item: PendingDropletRun) -> PendingDropletRun | None:
        if item.then is not None:
            self._follow_up(item)
            return None
        action = item.action
        action["completed_at"] = iso(self.start + timedelta(seconds=item.due))
        action["status"] = "errored" if item.errored else "completed"
        droplet = self.droplets.get(item.droplet_id)
        if item.errored or droplet is None:
            return None
        kind = action["type"]
        if kind == "shutdown":
            item.then = {"status": "off"}
            item.due += OFF_AFTER_SHUTDOWN
            return item
        if kind in ("power_off", "power_on"):
            droplet["status"] = "off" if kind == "power_off" else "active"
            return None
        item.then = {"image": self._snapshot_fields(droplet, item)}
        if self.snapshot_image_lag > 0:
            item.due += self.snapshot_image_lag
            return item
        self._follow_up(item)
        return None

    def _snapshot_fields(
        self, droplet: Mapping[str, Any], item: PendingDropletRun
    ) -> dict[str, Any]:
        """The image a completed snapshot makes (stored now, or once the lag has passed)."""
        return {
            "name": item.name,
            "distribution": droplet["image"].get("distribution", "Unknown"),
            "regions": [droplet["region"]["slug"]],
            "created_at": item.action["started_at"],
            "min_disk_size": droplet["disk"],
            "size_gigabytes": round(self.droplet_used_gb.get(droplet["id"], 0.0), 2) or 0.01,
        }

    def _follow_up(self, item: PendingDropletRun) -> None:
        """What happens after the action: the droplet goes off, or its image shows."""
        assert item.then is not None
        if "status" in item.then:
            droplet = self.droplets.get(item.droplet_id)
            if droplet is not None:
                droplet["status"] = item.then["status"]
            return
        account = self.droplet_accounts.get(item.droplet_id, DEFAULT_ACCOUNT)
        image = self._store_image(
            owner=account, type="snapshot", tags=[], description="", **item.then["image"]
        )
        self.snapshot_sources[image["id"]] = item.droplet_id

    def list_droplet_actions(self, droplet: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The actions of ``droplet``, newest first."""
        return newest_first(
            action
            for action in self.actions.values()
            if action["resource_type"] == "droplet" and action["resource_id"] == droplet["id"]
        )

    def find_droplet_action(self, droplet: Mapping[str, Any], raw: str) -> dict[str, Any]:
        """The action ``raw`` of ``droplet``, or 404."""
        action_id = int_segment(raw)
        action = self.actions.get(action_id) if action_id is not None else None
        if (
            action is None
            or action["resource_type"] != "droplet"
            or action["resource_id"] != droplet["id"]
        ):
            raise Problem(404)
        return action
