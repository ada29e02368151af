"""The sandbox's store and the Images API's rules, on plain dicts, with no HTTP.

``World`` holds the images and actions as the API would send them and applies the
API's rules to them: ids, filters, which changes are allowed, how actions and
imports progress on the virtual clock. A broken rule raises ``Problem`` (an error
status and message), which the HTTP layer turns into the API's error body.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from .._seed import DISTRIBUTIONS, region_object, seed_actions
from .._seed import seed_images as _seed_images
from ._core import Problem
from ._regions import Regions, check_region, check_regions

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
IMAGE_TYPES = ("base", "snapshot", "backup", "custom", "admin")
ACTION_TYPES = ("transfer", "convert")
IMAGE_STATUSES = ("NEW", "available", "pending", "deleted", "retired")
ACTION_STATUSES = ("in-progress", "completed", "errored")
DEFAULT_ACCOUNT = "default"
_TAG = re.compile(r"[A-Za-z0-9_:-]{1,255}")
_TRANSFER_STATES = ("pending", "accepted", "cancelled", "declined")


def iso(moment: datetime) -> str:
    """``moment`` as the API writes timestamps: ``2014-11-04T22:23:02Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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


class World(Regions):
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
        fetch: Callable[[str], str | None] | None = None,
    ) -> None:
        self.start = start
        self.fetch = fetch
        """Fetches a loopback import's URL as the importer would: ``None`` when it holds
        an image DigitalOcean imports, else the import's ``error_message``. Injected, so
        the rules here do no I/O."""
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
        self.accounts: list[str] = [DEFAULT_ACCOUNT]
        self.owners: dict[int, str] = {}
        """Private image id -> the account that owns it (absent: the default account)."""
        self.tags: dict[str, list[str]] = {}
        """Account -> its tag names, as created (the canonical capitalisation)."""
        self.transfers: dict[int, dict[str, Any]] = {}
        self._next_transfer_id = 3164444
        if seed:
            for image in _seed_images():
                self.images[image["id"]] = image
                self._register_tags(DEFAULT_ACCOUNT, image["tags"])
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
            "accounts": list(self.accounts),
            "owners": {str(key): value for key, value in self.owners.items()},
            "tags": {key: list(value) for key, value in self.tags.items()},
            "transfers": list(self.transfers.values()),
            "next_transfer_id": self._next_transfer_id,
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
        # Absent from a state written before accounts and tags: one account, its tags.
        accounts = [str(name) for name in data.get("accounts", [DEFAULT_ACCOUNT])]
        owners = {int(key): str(value) for key, value in data.get("owners", {}).items()}
        tags = {str(key): [str(t) for t in value] for key, value in data.get("tags", {}).items()}
        transfers = {int(item["id"]): dict(item) for item in data.get("transfers", [])}
        next_transfer_id = int(data.get("next_transfer_id", self._next_transfer_id))
        self.accounts, self.owners, self.tags = accounts, owners, tags
        self.transfers, self._next_transfer_id = transfers, next_transfer_id
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

    def owner(self, image: Mapping[str, Any]) -> str | None:
        """The account a private image belongs to; ``None`` for a public image."""
        return None if image["public"] else self.owners.get(image["id"], DEFAULT_ACCOUNT)

    def visible(self, image: Mapping[str, Any], account: str) -> bool:
        """Whether ``account`` may see ``image``: public, or its own."""
        return image["public"] or self.owner(image) == account

    def find_image(
        self, raw: str, *, slug_ok: bool, account: str = DEFAULT_ACCOUNT, recipient: bool = False
    ) -> dict[str, Any]:
        """The image a path segment names (an id, or a public slug where allowed), or 404.

        Another account's private image is not found, unless ``recipient`` and this
        account is the recipient of a transfer of it.
        """
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
        if not self.visible(image, account) and not (
            recipient and any(self._is_recipient(t, account) for t in self._transfers_of(image))
        ):
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
        self,
        *,
        kind: str | None,
        private: str | None,
        tag: str | None,
        account: str = DEFAULT_ACCOUNT,
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
            if self.images[key]["status"] != "deleted" and self.visible(self.images[key], account)
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

    def create_image(
        self, body: Mapping[str, Any], account: str = DEFAULT_ACCOUNT
    ) -> dict[str, Any]:
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
        for tag in tags or []:
            check_tag(tag)
        image = self._store_image(
            owner=account,
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
        if failure is None and self.fetch is not None and is_loopback(parsed):
            failure = self.fetch(url)
        self._pending.append(
            _Import(
                due=self.clock() + self.import_seconds,
                image_id=image["id"],
                region=region,
                failure=failure,
            )
        )
        return dict(image)

    def _store_image(
        self, *, image_id: int | None = None, owner: str = DEFAULT_ACCOUNT, **fields: Any
    ) -> dict[str, Any]:
        public = fields.get("public", False)
        tags = [] if public else self._register_tags(owner, fields["tags"])
        image: dict[str, Any] = {
            "id": self._new_image_id() if image_id is None else image_id,
            "name": fields["name"],
            "distribution": fields["distribution"],
            "slug": fields.get("slug"),
            "public": public,
            "regions": fields["regions"],
            "created_at": fields.get("created_at") or iso(self.now),
            "type": fields["type"],
            "min_disk_size": fields.get("min_disk_size", 20),
            "size_gigabytes": fields.get("size_gigabytes", 2.5),
            "description": fields.get("description", ""),
            "tags": tags if not public else list(fields["tags"]),
            "status": fields.get("status", "available"),
            "error_message": fields.get("error_message", ""),
        }
        self.images[image["id"]] = image
        if not public and owner != DEFAULT_ACCOUNT:
            self.owners[image["id"]] = owner
        return image

    def add_image(self, *, image_id: int | None, **fields: Any) -> dict[str, Any]:
        """Store an image as given (the sandbox's ``add_image``)."""
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
        self.owners.pop(image["id"], None)

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
        check_regions([region])
        run = self.new_action(image, kind, region, errored=status == "errored", action_id=action_id)
        if status != "in-progress":
            run.due = self.clock()
            self.settle()
        return run.action

    # ---------------------------------------------------------------- accounts

    def add_account(self, name: str) -> None:
        """Make ``name`` an account (nothing happens if it is one already)."""
        if name not in self.accounts:
            self.accounts.append(name)

    # -------------------------------------------------------------------- tags

    def _register_tags(self, account: str, names: Iterable[str]) -> list[str]:
        """The canonical names of ``names`` in ``account``, each created if new."""
        return [self._tag_named(account, name, create=True) for name in names]

    def _tag_named(self, account: str, name: str, *, create: bool) -> str:
        """The canonical name of a tag: the capitalisation it was created with.

        Tag names are case-stable: ``prod`` names a tag created as ``PROD`` when
        creating; in a path only the canonical name is found.
        """
        known = self.tags.setdefault(account, [])
        folded = name.casefold()
        for tag in known:
            if tag.casefold() == folded:
                return tag
        if not create:
            raise Problem(404)
        known.append(name)
        return name

    def find_tag(self, account: str, name: str) -> str:
        """A tag of ``account`` by its canonical name, or 404."""
        if name not in self.tags.get(account, []):
            raise Problem(404)
        return name

    def tag_object(self, account: str, name: str) -> dict[str, Any]:
        """A tag as the API shows it, with its resource counts."""
        tagged = [
            image
            for key, image in sorted(self.images.items())
            if self.owner(image) == account and name in image["tags"]
        ]
        images: dict[str, Any] = {"count": len(tagged)}
        if tagged:
            images["last_tagged_uri"] = f"https://api.digitalocean.com/v2/images/{tagged[-1]['id']}"
        resources: dict[str, Any] = {"count": len(tagged)}
        if tagged:
            resources["last_tagged_uri"] = images["last_tagged_uri"]
        resources.update(
            droplets={"count": 0},
            images=images,
            volumes={"count": 0},
            volume_snapshots={"count": 0},
            databases={"count": 0},
        )
        return {"name": name, "resources": resources}

    def create_tag(self, account: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /v2/tags``: a new tag, or the one already there (its own capitalisation)."""
        name = body.get("name")
        if not isinstance(name, str):
            raise Problem(400, "name is required and must be a string.")
        check_tag(name, status=400)
        return self.tag_object(account, self._tag_named(account, name, create=True))

    def delete_tag(self, account: str, name: str) -> None:
        """``DELETE /v2/tags/{tag}``: the tag goes, and with it from every image."""
        self.find_tag(account, name)
        self.tags[account].remove(name)
        for image in self.images.values():
            if self.owner(image) == account and name in image["tags"]:
                image["tags"] = [tag for tag in image["tags"] if tag != name]

    def _tagged_images(self, account: str, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        resources = body.get("resources")
        if not isinstance(resources, list) or not resources:
            raise Problem(400, "resources must be a non-empty list.")
        images: list[dict[str, Any]] = []
        for resource in resources:
            if not isinstance(resource, dict):
                raise Problem(400, "each resource must be an object.")
            kind, raw = resource.get("resource_type"), resource.get("resource_id")
            if kind != "image":
                raise Problem(
                    422, f"resource_type {kind!r} cannot be tagged here: this API has images only."
                )
            if not isinstance(raw, str):
                raise Problem(400, "resource_id must be a string.")
            image = self.find_image(raw, slug_ok=False, account=account)
            if image["public"]:
                raise Problem(422, f"Image {image['id']} is a public image and cannot be tagged.")
            images.append(image)
        return images

    def assign_tag(self, account: str, name: str, body: Mapping[str, Any]) -> None:
        """``POST /v2/tags/{tag}/resources``: tag images (no change if they have it)."""
        tag = self.find_tag(account, name)
        for image in self._tagged_images(account, body):
            if tag not in image["tags"]:
                image["tags"] = [*image["tags"], tag]

    def unassign_tag(self, account: str, name: str, body: Mapping[str, Any]) -> None:
        """``DELETE /v2/tags/{tag}/resources``: untag images (no change if they lack it)."""
        tag = self.find_tag(account, name)
        for image in self._tagged_images(account, body):
            image["tags"] = [t for t in image["tags"] if t != tag]

    # ------------------------------------------------------- account transfers

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


# ------------------------------------------------------------------ the rules


def is_loopback(url: httpx.URL) -> bool:
    """Whether ``url`` is on this machine: such an import is really fetched."""
    host = url.host
    return host in ("localhost", "::1") or host.startswith("127.")


def check_tag(name: str, status: int = 422) -> None:
    """A tag name as the API takes it, or ``status`` with the API's words."""
    if not _TAG.fullmatch(name):
        raise Problem(
            status,
            f'Error validating resource tag: "tag-name \\"{name[:64]}\\" contains invalid '
            'characters"',
        )


def account_email(name: str) -> str:
    """The email address of the sandbox account ``name``."""
    return f"{name}@sandbox.do-images.invalid"


def account_team(name: str) -> str:
    """The team UUID of the sandbox account ``name`` (the same in every sandbox)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://sandbox.do-images.invalid/{name}"))


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
