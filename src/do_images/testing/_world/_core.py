"""What every aggregate of the sandbox's world shares: the store, the clock, ids, accounts.

``WorldCore`` holds the whole store (images, actions, tags, transfers, accounts, droplets,
and the work pending on the virtual clock), reads and writes it as one snapshot (the state
file's ``world``), finishes pending work as the clock passes it, and hands out ids. Each
aggregate (``_images``, ``_actions``, ``_tags``, ``_transfers``, ``_regions``,
``_droplets``, ``_droplet_actions``, ``_snapshots``) is a mixin over it holding one
family's rules, and ``World`` composes them. What one aggregate asks of another is
declared here as an abstract method, so a type checker holds both sides to one
signature.

A broken rule raises ``Problem`` (an error status and message), which the HTTP layer
turns into the API's error body.
"""

from __future__ import annotations

import abc
import bisect
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .._seed import SEED_ACCOUNTS, seed_actions
from .._seed import seed_images as _seed_images
from .._seed_dates import as_of
from .._seed_droplets import FIRST_DROPLET_ID, seed_droplet_actions, seed_droplets, seed_sources

DEFAULT_ACCOUNT = "default"


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
class PendingImport:
    """A custom image import that finishes at virtual time ``due`` (or fails then)."""

    due: float
    image_id: int
    region: str
    failure: str | None = None


@dataclass(slots=True)
class PendingRun:
    """An action that finishes at virtual time ``due``."""

    due: float
    action: dict[str, Any]
    image_id: int
    region: str
    errored: bool = False


@dataclass(slots=True)
class PendingDropletRun:
    """A droplet action that finishes at virtual time ``due``, then what follows it.

    While ``then`` is ``None`` the action runs (the droplet is locked). Once it has
    ended, what it still does later is in ``then``: ``{"status": "off"}`` (a shutdown's
    droplet goes off after the action completed) or ``{"image": {...}}`` (a snapshot's
    image that shows only some seconds after the action completed).
    """

    due: float
    action: dict[str, Any]
    droplet_id: int
    errored: bool = False
    name: str | None = None
    """The snapshot's name."""
    then: dict[str, Any] | None = None

    @property
    def running(self) -> bool:
        """Whether the action itself is still in progress."""
        return self.then is None


Pending = PendingImport | PendingRun | PendingDropletRun


class WorldCore(abc.ABC):
    """The store of the sandbox's accounts, and what every aggregate's rules share.

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
        snapshot_image_lag: float = 0.0,
    ) -> None:
        self.start = start
        self.fetch = fetch
        """Fetches a loopback import's URL as the importer would: ``None`` when it holds
        an image DigitalOcean imports, else the import's ``error_message``. Injected, so
        the rules here do no I/O."""
        self.clock = clock
        self.action_seconds = action_seconds
        self.import_seconds = import_seconds
        self.snapshot_image_lag = snapshot_image_lag
        """Seconds from a snapshot action's completion until its image shows anywhere."""
        self.images: dict[int, dict[str, Any]] = {}
        self.actions: dict[int, dict[str, Any]] = {}
        self._pending: list[Pending] = []
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
        self.droplets: dict[int, dict[str, Any]] = {}
        """Droplet id -> the droplet as stored (``locked``, ``snapshot_ids`` and
        ``backup_ids`` are worked out when it is shown)."""
        self.droplet_accounts: dict[int, str] = {}
        """Droplet id -> its account; kept once the droplet is gone, for its actions."""
        self.droplet_used_gb: dict[int, float] = {}
        """Droplet id -> the GB its disk has in use, which a snapshot's duration follows."""
        self.snapshot_sources: dict[int, int] = {}
        """Image id -> the droplet it was made of (snapshots and backups)."""
        self._next_droplet_id = FIRST_DROPLET_ID
        self.failed_snapshots = 0
        """How many of the next snapshots end ``errored``."""
        if seed:
            self.accounts.extend(SEED_ACCOUNTS)
            seeded = [_seed_images(), [*seed_actions(), *seed_droplet_actions()]]
            droplets = seed_droplets()
            images, actions, dated = as_of([*seeded, [d for d, _ in droplets]], start)
            for image in images:
                self.images[image["id"]] = image
                self._register_tags(DEFAULT_ACCOUNT, image["tags"])
            for action in actions:
                self.actions[action["id"]] = action
            for droplet, (_, used_gb) in zip(dated, droplets, strict=True):
                self.droplets[droplet["id"]] = droplet
                self.droplet_accounts[droplet["id"]] = DEFAULT_ACCOUNT
                self.droplet_used_gb[droplet["id"]] = used_gb
                self._register_tags(DEFAULT_ACCOUNT, droplet["tags"])
            self.snapshot_sources.update(seed_sources())

    @property
    def now(self) -> datetime:
        """The virtual wall-clock time (UTC)."""
        return self.start + timedelta(seconds=self.clock())

    def snapshot(self) -> dict[str, Any]:
        """Everything this world holds, as JSON-ready data (``restore`` reads it back)."""
        return {
            "images": list(self.images.values()),
            "actions": list(self.actions.values()),
            "pending": [pending_json(item) for item in self._pending],
            "next_image_id": self._next_image_id,
            "next_action_id": self._next_action_id,
            "errored_actions": self.errored_actions,
            "failed_imports": list(self.failed_imports),
            "accounts": list(self.accounts),
            "owners": {str(key): value for key, value in self.owners.items()},
            "tags": {key: list(value) for key, value in self.tags.items()},
            "transfers": list(self.transfers.values()),
            "next_transfer_id": self._next_transfer_id,
            "droplets": list(self.droplets.values()),
            "droplet_accounts": {str(key): value for key, value in self.droplet_accounts.items()},
            "droplet_used_gb": {str(key): value for key, value in self.droplet_used_gb.items()},
            "snapshot_sources": {str(key): value for key, value in self.snapshot_sources.items()},
            "next_droplet_id": self._next_droplet_id,
            "failed_snapshots": self.failed_snapshots,
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Replace everything with what ``snapshot`` gave; ``KeyError``, ``TypeError`` or
        ``ValueError`` if ``data`` is not such a snapshot (nothing is replaced then)."""
        images = {int(image["id"]): dict(image) for image in data["images"]}
        actions = {int(action["id"]): dict(action) for action in data["actions"]}
        pending = [pending_from_json(item, actions) for item in data["pending"]]
        next_image_id, next_action_id = int(data["next_image_id"]), int(data["next_action_id"])
        errored, failures = int(data["errored_actions"]), [str(f) for f in data["failed_imports"]]
        # Absent from a state written before accounts and tags: one account, its tags.
        accounts = [str(name) for name in data.get("accounts", [DEFAULT_ACCOUNT])]
        owners = {int(key): str(value) for key, value in data.get("owners", {}).items()}
        tags = {str(key): [str(t) for t in value] for key, value in data.get("tags", {}).items()}
        transfers = {int(item["id"]): dict(item) for item in data.get("transfers", [])}
        next_transfer_id = int(data.get("next_transfer_id", self._next_transfer_id))
        # Absent from a state written before droplets: none.
        droplets = {int(item["id"]): dict(item) for item in data.get("droplets", [])}
        accounts_of = {int(k): str(v) for k, v in data.get("droplet_accounts", {}).items()}
        used_gb = {int(k): float(v) for k, v in data.get("droplet_used_gb", {}).items()}
        sources = {int(k): int(v) for k, v in data.get("snapshot_sources", {}).items()}
        next_droplet_id = int(data.get("next_droplet_id", self._next_droplet_id))
        failed_snapshots = int(data.get("failed_snapshots", 0))
        self.accounts, self.owners, self.tags = accounts, owners, tags
        self.transfers, self._next_transfer_id = transfers, next_transfer_id
        self.images, self.actions, self._pending = images, actions, pending
        self._next_image_id, self._next_action_id = next_image_id, next_action_id
        self.errored_actions, self.failed_imports = errored, failures
        self.droplets, self.droplet_accounts, self.droplet_used_gb = droplets, accounts_of, used_gb
        self.snapshot_sources, self._next_droplet_id = sources, next_droplet_id
        self.failed_snapshots = failed_snapshots

    def settle(self) -> None:
        """Finish every action and import whose time has come, in the order they come due
        (what a finished one leaves for later joins them if its time has come too)."""
        if not self._pending:
            return
        now = self.clock()
        due = sorted((item for item in self._pending if item.due <= now), key=_due)
        if not due:
            return
        self._pending = [item for item in self._pending if item.due > now]
        while due:
            later = self._finish(due.pop(0))
            if later is not None and later.due <= now:
                bisect.insort(due, later, key=_due)
            elif later is not None:
                self._pending.append(later)

    def _finish(self, item: Pending) -> Pending | None:
        """Finish ``item``; what it leaves to happen later, if anything."""
        if isinstance(item, PendingImport):
            self._finish_import(item)
        elif isinstance(item, PendingRun):
            self._finish_run(item)
        else:
            return self._finish_droplet_run(item)
        return None

    def running_on(self, droplet_id: int) -> list[PendingDropletRun]:
        """The actions in progress on a droplet (a droplet runs one at a time)."""
        return [
            item
            for item in self._pending
            if isinstance(item, PendingDropletRun)
            and item.running
            and item.droplet_id == droplet_id
        ]

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

    def _new_droplet_id(self) -> int:
        while self._next_droplet_id in self.droplet_accounts:
            self._next_droplet_id += 1
        droplet_id = self._next_droplet_id
        self._next_droplet_id += 1
        return droplet_id

    def owner(self, image: Mapping[str, Any]) -> str | None:
        """The account a private image belongs to; ``None`` for a public image."""
        return None if image["public"] else self.owners.get(image["id"], DEFAULT_ACCOUNT)

    def visible(self, image: Mapping[str, Any], account: str) -> bool:
        """Whether ``account`` may see ``image``: public, or its own."""
        return image["public"] or self.owner(image) == account

    def add_account(self, name: str) -> None:
        """Make ``name`` an account (nothing happens if it is one already)."""
        if name not in self.accounts:
            self.accounts.append(name)

    # ------------------------------------------- what the aggregates ask of each other

    @abc.abstractmethod
    def find_image(
        self, raw: str, *, slug_ok: bool, account: str = DEFAULT_ACCOUNT, recipient: bool = False
    ) -> dict[str, Any]:
        """The image a path segment names, or 404 (``_images``)."""

    @abc.abstractmethod
    def _store_image(
        self, *, image_id: int | None = None, owner: str = DEFAULT_ACCOUNT, **fields: Any
    ) -> dict[str, Any]:
        """Store a new image made of ``fields`` for ``owner`` (``_images``)."""

    @abc.abstractmethod
    def _finish_import(self, item: PendingImport) -> None:
        """Complete (or fail) an import whose time has come (``_images``)."""

    @abc.abstractmethod
    def _finish_run(self, item: PendingRun) -> None:
        """Complete (or error) an action whose time has come (``_actions``)."""

    @abc.abstractmethod
    def _finish_droplet_run(self, item: PendingDropletRun) -> PendingDropletRun | None:
        """End a droplet action, or carry out what follows it; what is left for later
        (``_droplet_actions``)."""

    @abc.abstractmethod
    def _register_tags(self, account: str, names: Iterable[str]) -> list[str]:
        """The canonical names of ``names`` in ``account``, each created if new (``_tags``)."""

    @abc.abstractmethod
    def _transfers_of(self, image: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The account transfers of ``image`` (``_transfers``)."""

    @abc.abstractmethod
    def _is_recipient(self, transfer: Mapping[str, Any], account: str) -> bool:
        """Whether ``account`` receives ``transfer`` (``_transfers``)."""


# ------------------------------------------------------------------ the pending work


def _due(item: Pending) -> float:
    return item.due


def pending_json(item: Pending) -> dict[str, Any]:
    """``item`` for the state file (actions by id: they are stored beside it)."""
    if isinstance(item, PendingImport):
        return {
            "import": item.image_id,
            "due": item.due,
            "region": item.region,
            "failure": item.failure,
        }
    if isinstance(item, PendingRun):
        return {
            "action": item.action["id"],
            "due": item.due,
            "image": item.image_id,
            "region": item.region,
            "errored": item.errored,
        }
    return {
        "droplet_action": item.action["id"],
        "due": item.due,
        "droplet": item.droplet_id,
        "errored": item.errored,
        "name": item.name,
        "then": item.then,
    }


def pending_from_json(item: Mapping[str, Any], actions: Mapping[int, dict[str, Any]]) -> Pending:
    """What ``pending_json`` wrote, its action the one of ``actions`` it names."""
    due = float(item["due"])
    if "import" in item:
        return PendingImport(due, int(item["import"]), str(item["region"]), item["failure"])
    if "droplet_action" in item:
        then = item["then"]
        if then is not None and not isinstance(then, dict):
            raise TypeError("a pending droplet action's 'then' must be an object or null")
        name = None if item["name"] is None else str(item["name"])
        action = actions[int(item["droplet_action"])]
        return PendingDropletRun(
            due, action, int(item["droplet"]), bool(item["errored"]), name, then
        )
    action = actions[int(item["action"])]
    return PendingRun(due, action, int(item["image"]), str(item["region"]), bool(item["errored"]))


# ------------------------------------------------------------------ the rules


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


def newest_first(actions: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``actions``, the newest first: by id, which the sandbox hands out in the order
    actions start (so a seeded action, whatever its date, is older than any started here)."""
    return sorted(actions, key=lambda action: int(action["id"]), reverse=True)


def page_count(total: int, per_page: int) -> int:
    """How many pages a list of ``total`` items has (at least one, even when empty)."""
    return max(1, math.ceil(total / per_page))
