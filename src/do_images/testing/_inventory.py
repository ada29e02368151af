"""What the sandbox holds, as a test states and reads it: images, actions, account
transfers, and the requests it was sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .._checks import check_int
from .._models import Action, Image
from ._facade import FacadeCore
from ._http import SandboxRequest
from ._seed import DISTRIBUTIONS
from ._world._actions import ACTION_STATUSES, ACTION_TYPES
from ._world._core import iso
from ._world._images import IMAGE_STATUSES, IMAGE_TYPES
from ._world._regions import check_regions


class Inventory(FacadeCore):
    """State the inventory a test needs directly, and read back what the API holds."""

    @property
    def images(self) -> list[Image]:
        """Every image, public and private, as the API would show it, by id."""
        with self._synced():
            self._world.settle()
            images = self._world.images
            return [Image.model_validate(images[key]) for key in sorted(images)]

    @property
    def actions(self) -> list[Action]:
        """Every image action, by id (a droplet's are at ``/v2/droplets/{id}/actions``)."""
        with self._synced():
            self._world.settle()
            actions = self._world.actions
            return [
                Action.model_validate(actions[key])
                for key in sorted(actions)
                if actions[key]["resource_type"] == "image"
            ]

    def add_image(
        self,
        name: str,
        *,
        type: str = "snapshot",
        regions: list[str] | tuple[str, ...] = ("nyc3",),
        distribution: str = "Ubuntu",
        tags: list[str] | tuple[str, ...] = (),
        description: str = "",
        public: bool = False,
        slug: str | None = None,
        id: int | None = None,
        created_at: datetime | None = None,
        status: str = "available",
        error_message: str = "",
        droplet_id: int | None = None,
    ) -> Image:
        """Add an image (a private, available snapshot unless told otherwise); return it.

        ``id`` picks its id (it must be free); by default the next free one is used.
        ``slug`` only applies to a ``public`` image, as on the API. ``created_at`` (an
        aware ``datetime``; default: the sandbox clock's now), ``status`` and
        ``error_message`` (a failed import is ``status="deleted"`` with one) let a
        retention test state its inventory directly. ``droplet_id`` makes it a snapshot
        (or, with ``type="backup"``, a backup) of that droplet, in the droplet's account:
        it is then in the droplet's ``snapshot_ids`` (``backup_ids``) and snapshots list,
        and in ``/v2/snapshots`` with that ``resource_id``; the droplet may be one removed
        since. Without it, ``/v2/snapshots`` shows a snapshot's ``resource_id`` as ``"0"``.
        """
        if id is not None:
            check_int(id, "id", min=1)
        if created_at is not None and (
            not isinstance(created_at, datetime) or created_at.tzinfo is None
        ):
            raise ValueError("created_at must be a timezone-aware datetime")
        if status not in IMAGE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(IMAGE_STATUSES)}, got {status!r}")
        if not isinstance(error_message, str):
            raise TypeError("error_message must be a str")
        check_regions(regions)
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution {distribution!r} is not one the API knows")
        if type not in IMAGE_TYPES:
            raise ValueError(f"unknown image type {type!r}")
        if droplet_id is not None:
            check_int(droplet_id, "droplet_id", min=1)
        with self._synced():
            image = self._world.add_image(
                image_id=id,
                droplet_id=droplet_id,
                name=name,
                distribution=distribution,
                slug=slug if public else None,
                public=public,
                regions=list(regions),
                type=type,
                description=description,
                tags=list(tags),
                created_at=None if created_at is None else iso(created_at),
                status=status,
                error_message=error_message,
            )
            return Image.model_validate(image)

    def add_action(
        self,
        image_id: int,
        type: str = "transfer",
        *,
        region: str | None = None,
        status: str = "in-progress",
        id: int | None = None,
    ) -> Action:
        """Add an action to an image, as if it had been started; return it.

        An ``in-progress`` action finishes like any other as the clock advances; a
        ``completed`` transfer has already added ``region`` to the image, a completed
        convert has already made it a snapshot. ``region`` defaults to the image's first.
        """
        if type not in ACTION_TYPES:
            raise ValueError(f"type must be 'transfer' or 'convert', got {type!r}")
        if status not in ACTION_STATUSES:
            raise ValueError(f"status must be in-progress, completed or errored, got {status!r}")
        if id is not None:
            check_int(id, "id", min=1)
        with self._synced():
            action = self._world.add_action(
                image_id, type, region=region, status=status, action_id=id
            )
            return Action.model_validate(action)

    @property
    def account_transfers(self) -> list[SandboxTransfer]:
        """Every account transfer of an image, oldest first, with its state."""
        with self._synced():
            return [
                SandboxTransfer(
                    id=t["id"],
                    image_id=t["image_id"],
                    sender=t["sender"],
                    recipient_email=t["recipient_email"],
                    recipient_team=t["recipient_uuid"],
                    state=t["state"],
                )
                for _, t in sorted(self._world.transfers.items())
            ]

    @property
    def requests(self) -> list[SandboxRequest]:
        """The requests seen so far (the last ``log_size``), oldest first."""
        with self._lock:
            return list(self._front.log)

    def count(self, method: str | None = None, operation: str | None = None) -> int:
        """How many requests arrived (of ``method`` and for ``operation``, if given).

        ``operation`` is the spec's operationId, such as ``"imageActions_post"``.
        """
        with self._lock:
            return sum(
                n
                for (seen_method, seen_operation), n in self._front.counts.items()
                if (method is None or seen_method == method.upper())
                and (operation is None or seen_operation == operation)
            )


@dataclass(frozen=True)
class SandboxTransfer:
    """An account transfer as the sandbox holds it (``Sandbox.account_transfers``)."""

    id: int
    image_id: int
    sender: str
    """The account that started it."""
    recipient_email: str | None
    recipient_team: str | None
    state: str
    """``pending``, ``accepted``, ``cancelled`` or ``declined``."""
