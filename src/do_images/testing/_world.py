"""The sandbox's store and the Images API's rules, on plain dicts, with no HTTP.

``World`` holds the images and actions as the API would send them and applies the
API's rules to them: ids, filters, which changes are allowed, how actions and
imports progress on the virtual clock. A broken rule raises ``Problem`` (an error
status and message), which the HTTP layer turns into the API's error body.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from ._seed import DISTRIBUTIONS, REGION_NAMES, RETIRED_REGIONS, region_object, seed_actions
from ._seed import seed_images as _seed_images

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
IMAGE_TYPES = ("base", "snapshot", "backup", "custom", "admin")
ACTION_TYPES = ("transfer", "convert")
ACTION_STATUSES = ("in-progress", "completed", "errored")


def iso(moment: datetime) -> str:
    """``moment`` as the API writes timestamps: ``2014-11-04T22:23:02Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Problem(Exception):
    """A request the API refuses: its status, message and extra response headers."""

    def __init__(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(slots=True)
class _Import:
    """A custom image import that finishes at virtual time ``due`` (or fails then)."""

    due: float
    image_id: int
    region: str
    failure: str | None = None


@dataclass(slots=True)
class _Run:
    """An action that finishes at virtual time ``due``."""

    due: float
    action: dict[str, Any]
    image_id: int
    region: str
    errored: bool = False


class World:
    """The images and actions of one sandbox account, and the rules that change them.

    ``clock`` gives virtual seconds since ``start``. Not thread-safe on its own: the
    sandbox holds a lock around every call.
    """

    def __init__(
        self,
        *,
        start: datetime,
        clock: Callable[[], float],
        action_seconds: float,
        import_seconds: float,
        seed: bool,
    ) -> None:
        self.start = start
        self.clock = clock
        self.action_seconds = action_seconds
        self.import_seconds = import_seconds
        self.images: dict[int, dict[str, Any]] = {}
        self.actions: dict[int, dict[str, Any]] = {}
        self._pending: list[_Import | _Run] = []
        self._next_image_id = 190000001
        self._next_action_id = 2060000001
        self.errored_actions = 0
        self.failed_imports: list[str] = []
        if seed:
            for image in _seed_images():
                self.images[image["id"]] = image
            for action in seed_actions():
                self.actions[action["id"]] = action

    @property
    def now(self) -> datetime:
        """The virtual wall-clock time (UTC)."""
        return self.start + timedelta(seconds=self.clock())

    # ----------------------------------------------------------------- state

    def snapshot(self) -> dict[str, Any]:
        """Everything this world holds, as JSON-ready data (``restore`` reads it back)."""
        pending: list[dict[str, Any]] = []
        for item in self._pending:
            if isinstance(item, _Import):
                pending.append(
                    {
                        "import": item.image_id,
                        "due": item.due,
                        "region": item.region,
                        "failure": item.failure,
                    }
                )
            else:
                pending.append(
                    {
                        "action": item.action["id"],
                        "due": item.due,
                        "image": item.image_id,
                        "region": item.region,
                        "errored": item.errored,
                    }
                )
        return {
            "images": list(self.images.values()),
            "actions": list(self.actions.values()),
            "pending": pending,
            "next_image_id": self._next_image_id,
            "next_action_id": self._next_action_id,
            "errored_actions": self.errored_actions,
            "failed_imports": list(self.failed_imports),
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Replace everything with what ``snapshot`` gave; ``KeyError``, ``TypeError`` or
        ``ValueError`` if ``data`` is not such a snapshot (nothing is replaced then)."""
        images = {int(image["id"]): dict(image) for image in data["images"]}
        actions = {int(action["id"]): dict(action) for action in data["actions"]}
        pending: list[_Import | _Run] = []
        for item in data["pending"]:
            if "import" in item:
                pending.append(
                    _Import(
                        float(item["due"]),
                        int(item["import"]),
                        str(item["region"]),
                        item["failure"],
                    )
                )
            else:
                pending.append(
                    _Run(
                        float(item["due"]),
                        actions[int(item["action"])],
                        int(item["image"]),
                        str(item["region"]),
                        bool(item["errored"]),
                    )
                )
        next_image_id, next_action_id = int(data["next_image_id"]), int(data["next_action_id"])
        errored, failures = int(data["errored_actions"]), [str(f) for f in data["failed_imports"]]
        self.images, self.actions, self._pending = images, actions, pending
        self._next_image_id, self._next_action_id = next_image_id, next_action_id
        self.errored_actions, self.failed_imports = errored, failures

    # -------------------------------------------------------------- progress

    def settle(self) -> None:
        """Finish every action and import whose time has come."""
        if not self._pending:
            return
        now = self.clock()
        due = [item for item in self._pending if item.due <= now]
        if not due:
            return
        self._pending = [item for item in self._pending if item.due > now]
        for item in sorted(due, key=lambda item: item.due):
            if isinstance(item, _Import):
                self._finish_import(item)
            else:
                self._finish_run(item)

    def _finish_import(self, item: _Import) -> None:
        image = self.images.get(item.image_id)
        if image is not None and item.failure is not None:
            # As the API does: the image is marked deleted, says why, and leaves lists.
            image["status"] = "deleted"
            image["error_message"] = item.failure
            return
        if image is not None:
            image["status"] = "available"
            image["regions"] = [item.region]
            image["min_disk_size"] = 20
            image["size_gigabytes"] = 2.34

    def _finish_run(self, item: _Run) -> None:
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

    # ----------------------------------------------------------------- reading

    def find_image(self, raw: str, *, slug_ok: bool) -> dict[str, Any]:
        """The image a path segment names (an id, or a public slug where allowed), or 404."""
        image_id = int_segment(raw)
        if image_id is not None:
            image = self.images.get(image_id)
        elif slug_ok:
            image = next(
                (i for i in self.images.values() if i["public"] and i["slug"] == raw), None
            )
        else:
            image = None
        if image is None:
            raise Problem(404)
        return image

    def find_action(self, image: Mapping[str, Any], raw: str) -> dict[str, Any]:
        """The action ``raw`` of ``image``, or 404."""
        action_id = int_segment(raw)
        action = self.actions.get(action_id) if action_id is not None else None
        if action is None or action["resource_id"] != image["id"]:
            raise Problem(404)
        return action

    def list_images(
        self, *, kind: str | None, private: str | None, tag: str | None
    ) -> list[dict[str, Any]]:
        """The images ``GET /v2/images`` lists for these filters, by id."""
        if kind not in (None, "distribution", "application"):
            raise Problem(400, "type must be 'distribution' or 'application'.")
        # Read as Go's strconv.ParseBool reads it: doboto sends "True".
        if private is not None and private not in _TRUE | _FALSE:
            raise Problem(400, "private must be 'true' or 'false'.")
        private = None if private is None else ("true" if private in _TRUE else "false")
        images = [
            self.images[key]
            for key in sorted(self.images)
            if self.images[key]["status"] != "deleted"
        ]
        if kind == "distribution":
            images = [i for i in images if i["public"] and i["type"] == "base"]
        elif kind == "application":
            images = [i for i in images if i["public"] and i["type"] != "base"]
        if private == "true":
            images = [i for i in images if not i["public"]]
        if tag is not None:
            images = [i for i in images if tag in (i["tags"] or [])]
        return images

    def list_actions(self, image: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The actions of ``image``, by id."""
        return [
            self.actions[key]
            for key in sorted(self.actions)
            if self.actions[key]["resource_id"] == image["id"]
        ]

    # ---------------------------------------------------------------- changing

    def _new_image_id(self) -> int:
        while self._next_image_id in self.images:
            self._next_image_id += 1
        image_id = self._next_image_id
        self._next_image_id += 1
        return image_id

    def _new_action_id(self) -> int:
        while self._next_action_id in self.actions:
            self._next_action_id += 1
        action_id = self._next_action_id
        self._next_action_id += 1
        return action_id

    def create_image(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /v2/images``: a ``NEW`` custom image that becomes available later."""
        name = required_str(body, "name")
        url = required_str(body, "url")
        region = required_str(body, "region")
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError):
            parsed = None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
            raise Problem(422, "url must be an http:// or https:// URL.")
        check_region(region)
        tags = body.get("tags")
        if tags is not None and (
            not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags)
        ):
            raise Problem(422, "tags must be a list of tag names.")
        image = self._store_image(
            name=name,
            type="custom",
            distribution=distribution(body.get("distribution", "Unknown")),
            regions=[],
            tags=list(tags or []),
            description=optional_str(body, "description") or "",
            status="NEW",
            min_disk_size=None,
            size_gigabytes=None,
        )
        failure = self.failed_imports.pop(0) if self.failed_imports else None
        self._pending.append(
            _Import(
                due=self.clock() + self.import_seconds,
                image_id=image["id"],
                region=region,
                failure=failure,
            )
        )
        return dict(image)

    def _store_image(self, *, image_id: int | None = None, **fields: Any) -> dict[str, Any]:
        image: dict[str, Any] = {
            "id": self._new_image_id() if image_id is None else image_id,
            "name": fields["name"],
            "distribution": fields["distribution"],
            "slug": fields.get("slug"),
            "public": fields.get("public", False),
            "regions": fields["regions"],
            "created_at": iso(self.now),
            "type": fields["type"],
            "min_disk_size": fields.get("min_disk_size", 20),
            "size_gigabytes": fields.get("size_gigabytes", 2.5),
            "description": fields.get("description", ""),
            "tags": fields["tags"],
            "status": fields.get("status", "available"),
            "error_message": "",
        }
        self.images[image["id"]] = image
        return image

    def add_image(self, *, image_id: int | None, **fields: Any) -> dict[str, Any]:
        """Store an ``available`` image as given (the sandbox's ``add_image``)."""
        if image_id is not None and image_id in self.images:
            raise ValueError(f"there is already an image with id {image_id}")
        return self._store_image(image_id=image_id, **fields)

    def update_image(self, image: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT /v2/images/{id}``: the fields given, checked as the API checks them."""
        name = optional_str(body, "name")
        if name is not None and not name.strip():
            raise Problem(422, "name must not be empty.")
        description = optional_str(body, "description")
        new_distribution = body.get("distribution")
        if new_distribution is not None:
            image["distribution"] = distribution(new_distribution)
        if name is not None:
            image["name"] = name
        if description is not None:
            image["description"] = description
        return dict(image)

    def delete_image(self, image: Mapping[str, Any]) -> None:
        """``DELETE /v2/images/{id}``."""
        del self.images[image["id"]]

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
            isinstance(item, _Run)
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
    ) -> _Run:
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
        run = _Run(
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
        if region not in REGION_NAMES:
            raise ValueError(f"unknown region {region!r}")
        run = self.new_action(image, kind, region, errored=status == "errored", action_id=action_id)
        if status != "in-progress":
            run.due = self.clock()
            self.settle()
        return run.action


# ------------------------------------------------------------------ the rules


def check_region(region: str) -> None:
    """A region the API knows and still takes new resources in, or 422."""
    if region not in REGION_NAMES:
        raise Problem(422, f"{region} is not a valid region.")
    if region in RETIRED_REGIONS:
        raise Problem(422, f"The region {region} is not available.")


def check_regions(regions: Iterable[str]) -> None:
    """For ``add_image``: every region must exist (a ``ValueError`` for the test author)."""
    for region in regions:
        if region not in REGION_NAMES:
            raise ValueError(f"unknown region {region!r}")


def int_segment(raw: str) -> int | None:
    """A decimal id as the API reads one from a path or query (ASCII digits only)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    return int(raw)


def required_str(body: Mapping[str, Any], name: str) -> str:
    """A required, non-empty string field of a request body, or 422."""
    value = body.get(name)
    if value is None:
        raise Problem(422, f"{name} is required.")
    if not isinstance(value, str) or not value.strip():
        raise Problem(422, f"{name} must be a non-empty string.")
    return value


def optional_str(body: Mapping[str, Any], name: str) -> str | None:
    """An optional string field of a request body, or 422 if it is not a string."""
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise Problem(422, f"{name} must be a string.")
    return value


def distribution(value: object) -> str:
    """The distribution as stored: the API keeps an unknown one as ``Unknown``."""
    if not isinstance(value, str):
        raise Problem(422, "distribution must be a string.")
    return value if value in DISTRIBUTIONS else "Unknown"


def page_count(total: int, per_page: int) -> int:
    """How many pages a list of ``total`` items has (at least one, even when empty)."""
    return max(1, math.ceil(total / per_page))
