"""The fleet's rule and its plan: ``plan_images`` (pure: a fleet file, the account's
images and the server's time in, the entries out) and ``FleetPlan``, what applying
would do, with its document (``to_json``, ``save``, ``load``).

The rule, per group: the selected images that are ``available`` and carry no protect
tag are ranked newest first (``created_at``, then the higher id); one is deleted when
its rank is above ``keep`` or it is older than ``max_age``, but never one of the first
``keep_min``. Kept and protected images are transferred to the group's regions and given
its ``ensure_tags``; images not ``available`` are left alone (``pending``); an available
image without ``created_at`` is kept, not ranked, not counted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .._errors import FleetError
from .._models import Image
from ._fleet_file import FLEET_VERSION, Fleet, Group

FORMAT_VERSION = 1
"""The version of the plan document ``FleetPlan.to_json`` writes."""
DEFAULT_MAX_DELETE = 20
DEFAULT_MAX_PLAN_AGE = timedelta(hours=1)
TRANSFER_SECONDS = 600.0
"""About how long one image transfer takes, for the plan's estimate."""
REQUESTS_PER_MINUTE = 250

EntryAction = Literal["keep", "delete", "protected", "pending", "transfer", "tag"]


@dataclass(frozen=True)
class PlanEntry:
    """One line of a plan: a verdict on an image, a transfer or a tag to add."""

    action: EntryAction
    group: str
    image_id: int
    image_name: str
    reason: str
    region: str | None = None
    """For ``transfer``: where to."""
    tag: str | None = None
    """For ``tag``: which."""
    running: int | None = None
    """For ``transfer``: the id of a transfer already under way there (waited for)."""

    def to_json(self) -> dict[str, Any]:
        """The entry as the plan document holds it."""
        data: dict[str, Any] = {
            "action": self.action,
            "group": self.group,
            "image_id": self.image_id,
            "image_name": self.image_name,
            "reason": self.reason,
        }
        if self.action == "transfer":
            data["region"] = self.region
            if self.running is not None:
                data["running"] = self.running
        if self.action == "tag":
            data["tag"] = self.tag
        return data


@dataclass(frozen=True)
class Verdicts:
    """What ``plan_images`` decided: the entries, notes and every matched image."""

    entries: list[PlanEntry]
    notes: list[str]
    matched: dict[int, Image]


def _days(age: timedelta) -> str:
    days = age.days
    return f"{days} day{'s' if days != 1 else ''} old"


def _rank(group: Group, ranked: list[Image], now: datetime) -> list[PlanEntry]:
    """A group's ranked images, newest first: keep or delete, each with its reason."""
    entries: list[PlanEntry] = []
    for rank, image in enumerate(ranked, 1):
        assert image.created_at is not None
        age = now - image.created_at
        over_keep = group.keep is not None and rank > group.keep
        too_old = group.max_age is not None and age > group.max_age
        limit = f"keep {group.keep}" if group.keep is not None else "no keep limit"
        if (over_keep or too_old) and rank > group.keep_min:
            why = [f"rank {rank} > keep {group.keep}"] if over_keep else [f"rank {rank}"]
            why.append(
                f"{_days(age)} > max_age {_age_text(group.max_age)}" if too_old else _days(age)
            )
            entries.append(_entry("delete", group, image, ", ".join(why)))
        elif over_keep or too_old:
            why_kept = f"rank {rank}: one of the keep_min {group.keep_min} newest, always kept"
            entries.append(_entry("keep", group, image, f"{why_kept} ({_days(age)})"))
        else:
            entries.append(_entry("keep", group, image, f"rank {rank} of {limit}, {_days(age)}"))
    return entries


def _age_text(age: timedelta | None) -> str:
    if age is None:
        return "none"
    seconds = int(age.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return str(age)  # pragma: no cover - durations are whole minutes


def _entry(action: EntryAction, group: Group, image: Image, reason: str, **extra: Any) -> PlanEntry:
    return PlanEntry(action, group.name, image.id, image.name or "", reason, **extra)


def plan_images(
    fleet: Fleet,
    images: Iterable[Image],
    now: datetime,
    running: Mapping[int, Mapping[str, int]] | None = None,
) -> Verdicts:
    """The plan for ``images`` (the account's own, every page) at the server's ``now``.

    ``running`` maps an image id to the regions a transfer is already under way to
    (region -> action id): those transfers are waited for, not started. Raises
    ``FleetError`` for an image two groups select. Reads nothing, changes nothing.
    """
    running = running or {}
    # A listing may show an image twice (pages shift when images come and go while it
    # is read): each image counts once.
    listed = list({image.id: image for image in reversed(list(images))}.values())[::-1]
    groups: dict[int, str] = {}
    for group in fleet.groups:
        for image in listed:
            if group.select.selects(image):
                if image.id in groups:
                    raise FleetError(
                        f"image {image.id} ({image.name}) is selected by groups "
                        f"{groups[image.id]!r} and {group.name!r}: an image may be in one group"
                    )
                groups[image.id] = group.name
    matched = {image.id: image for image in listed if image.id in groups}
    entries: list[PlanEntry] = []
    notes: list[str] = []
    for group in fleet.groups:
        members = [image for image in listed if groups.get(image.id) == group.name]
        verdicts = _verdicts(group, members, now)
        entries.extend(verdicts)
        for verdict in verdicts:
            if verdict.action in ("keep", "protected"):
                image = matched[verdict.image_id]
                entries.extend(_transfers(group, image))
                entries.extend(_tags(group, image))
                notes.extend(_outside(group, image))
    planned = Verdicts(entries, notes, matched)
    return with_running(planned, running) if running else planned


def _verdicts(group: Group, members: list[Image], now: datetime) -> list[PlanEntry]:
    entries: list[PlanEntry] = []
    ranked: list[Image] = []
    for image in members:
        status = str(image.status or "").lower()
        protected = [tag for tag in group.protect_tags if tag in (image.tags or [])]
        if status != "available":
            entries.append(
                _entry(
                    "pending", group, image, f"status {image.status}: neither counted nor deleted"
                )
            )
        elif protected:
            entries.append(_entry("protected", group, image, f"carries protect tag {protected[0]}"))
        elif image.created_at is None:
            entries.append(_entry("keep", group, image, "no created_at: kept, not ranked"))
        else:
            ranked.append(image)
    ranked.sort(key=lambda image: (image.created_at, image.id), reverse=True)
    return entries + _rank(group, ranked, now)


def _transfers(group: Group, image: Image) -> list[PlanEntry]:
    have = set(image.regions or [])
    return [
        _entry("transfer", group, image, f"missing in {region}", region=region)
        for region in group.regions
        if region not in have
    ]


def with_running(verdicts: Verdicts, running: Mapping[int, Mapping[str, int]]) -> Verdicts:
    """The same plan, its transfers to a region one is already under way to marked as
    waited for (``running``: image id -> region -> action id), not started again."""
    entries = []
    for entry in verdicts.entries:
        action = running.get(entry.image_id, {}).get(str(entry.region))
        if entry.action == "transfer" and action is not None:
            reason = f"missing in {entry.region}; transfer {action} under way: waited for"
            entries.append(replace(entry, reason=reason, running=action))
        else:
            entries.append(entry)
    return replace(verdicts, entries=entries)


def _tags(group: Group, image: Image) -> list[PlanEntry]:
    have = set(image.tags or [])
    return [
        _entry("tag", group, image, "ensure_tags", tag=tag)
        for tag in group.ensure_tags
        if tag not in have
    ]


def _outside(group: Group, image: Image) -> list[str]:
    if not group.regions:
        return []
    extra = [region for region in image.regions or [] if region not in group.regions]
    if not extra:
        return []
    return [
        f"image {image.id} ({image.name}) is also in {', '.join(extra)}, outside "
        f"the regions of group {group.name!r}: left as it is (the API cannot remove one region)"
    ]


# ------------------------------------------------------------------ the plan


def digest(image: Image) -> str:
    """What a stale-plan check compares of one image."""
    state = [
        image.id,
        image.name,
        str(image.status),
        sorted(image.regions or []),
        sorted(image.tags or []),
        image.created_at.isoformat() if image.created_at else None,
    ]
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()


def fingerprint(
    fleet_sha256: str, digests: Mapping[int, str], entries: Sequence[PlanEntry] = ()
) -> str:
    """One digest of the fleet file, every matched image and the entries decided from
    them (so a plan edited by hand is refused, not carried out)."""
    text = json.dumps(
        [fleet_sha256, sorted(digests.items()), [entry.to_json() for entry in entries]]
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class FleetPlan:
    """What applying a fleet would do; making one changes nothing.

    ``entries`` hold one verdict per matched image (``keep``, ``delete``, ``protected``,
    ``pending``) and the ``transfer`` and ``tag`` entries; ``notes`` tell what is left
    as it is. ``listed_at`` is the server's time of the listing the plan was made from.
    """

    fleet: Fleet
    entries: list[PlanEntry]
    notes: list[str]
    listed_at: datetime
    digests: dict[int, str]
    """Image id -> its ``digest``: what a stale-plan check compares."""
    pages: int = 1
    """How many pages the listing took (apply reads them again)."""

    @property
    def fingerprint(self) -> str:
        """The SHA-256 of the fleet file, the matched images and the entries."""
        return fingerprint(self.fleet.sha256, self.digests, self.entries)

    def of(self, action: EntryAction) -> list[PlanEntry]:
        """The entries of one kind."""
        return [entry for entry in self.entries if entry.action == action]

    @property
    def counts(self) -> dict[str, int]:
        """How many transfers, tags, deletions, kept, protected and pending images."""
        return {
            "transfers": len(self.of("transfer")),
            "tags": len(self.of("tag")),
            "deletions": len(self.of("delete")),
            "kept": len(self.of("keep")),
            "protected": len(self.of("protected")),
            "pending": len(self.of("pending")),
        }

    @property
    def changes(self) -> int:
        """How many entries applying would act on."""
        counts = self.counts
        return counts["transfers"] + counts["tags"] + counts["deletions"]

    @property
    def summary(self) -> str:
        """One line, as Terraform's: ``Plan: 4 transfers, 2 tags, 3 deletions; 5 kept.``"""
        counts = self.counts
        rest = "".join(f", {counts[key]} {key}" for key in ("protected", "pending") if counts[key])
        kept = f"{counts['kept']} kept{rest}."
        if not self.changes:
            return f"No changes: the account matches the fleet file; {kept}"
        return (
            f"Plan: {counts['transfers']} transfer{'s' if counts['transfers'] != 1 else ''}, "
            f"{counts['tags']} tag{'s' if counts['tags'] != 1 else ''}, "
            f"{counts['deletions']} deletion{'s' if counts['deletions'] != 1 else ''}; {kept}"
        )

    @property
    def estimate(self) -> dict[str, float]:
        """About how many requests applying takes, and how long, at 250 a minute: the
        re-read, each change, and a poll of each transferred image's actions every 10 s."""
        transferring = {entry.image_id for entry in self.of("transfer")}
        polls = len(transferring) * int(TRANSFER_SECONDS / 10)
        requests = self.pages + self.changes + polls
        seconds = max(requests * 60 / REQUESTS_PER_MINUTE, TRANSFER_SECONDS if transferring else 0)
        return {"requests": requests, "seconds": round(seconds, 1)}

    def to_json(self) -> dict[str, Any]:
        """The plan document (``format_version`` 1)."""
        return {
            "format_version": FORMAT_VERSION,
            "listed_at": self.listed_at.isoformat(),
            "fleet": {
                "path": self.fleet.path,
                "sha256": self.fleet.sha256,
                "groups": self.fleet.document.get("group", []),
            },
            "fingerprint": self.fingerprint,
            "images": {str(key): value for key, value in sorted(self.digests.items())},
            "pages": self.pages,
            "entries": [entry.to_json() for entry in self.entries],
            "notes": list(self.notes),
            "summary": self.counts,
            "estimate": self.estimate,
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the plan document to ``path`` (JSON)."""
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FleetPlan:
        """A plan from its document; ``FleetError`` if it is not one this version reads."""
        if not isinstance(data, Mapping) or data.get("format_version") != FORMAT_VERSION:
            version = data.get("format_version") if isinstance(data, Mapping) else None
            raise FleetError(
                f"not a fleet plan of format_version {FORMAT_VERSION} (got {version!r})"
            )
        try:
            document = FleetPlanDocument.model_validate(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise FleetError(f"a damaged fleet plan: {where}: {first['msg']}") from None
        fleet = Fleet.from_dict({"version": FLEET_VERSION, "group": document.fleet.groups})
        plan = cls(
            fleet=Fleet(fleet.groups, fleet.document, document.fleet.path, document.fleet.sha256),
            entries=[PlanEntry(**entry.model_dump()) for entry in document.entries],
            notes=list(document.notes),
            listed_at=document.listed_at,
            digests={int(key): value for key, value in document.images.items()},
            pages=document.pages,
        )
        if plan.fingerprint != document.fingerprint:
            raise FleetError("a damaged fleet plan: its fingerprint does not match its content")
        return plan

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FleetPlan:
        """Read a plan saved with ``save``."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise FleetError(f"cannot read plan {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise FleetError(f"{path} is not a fleet plan (not JSON: {exc})") from None
        return cls.from_json(data)


# ------------------------------------------------------- the plan document's shape


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class PlanEntryDocument(_Document):
    """One entry of a plan document."""

    action: Literal["keep", "delete", "protected", "pending", "transfer", "tag"]
    group: str
    image_id: int
    image_name: str
    reason: str
    region: str | None = None
    tag: str | None = None
    running: int | None = None


class PlanFleetDocument(_Document):
    """The fleet file a plan was made from."""

    path: str | None
    sha256: str
    groups: list[dict[str, Any]]


class PlanSummaryDocument(_Document):
    """How many of each kind of entry a plan holds."""

    transfers: int
    tags: int
    deletions: int
    kept: int
    protected: int
    pending: int


class PlanEstimateDocument(_Document):
    """About how many requests applying takes, and how many seconds."""

    requests: int
    seconds: float


class FleetPlanDocument(_Document):
    """A saved fleet plan (``FleetPlan.to_json()``, ``plan.save(path)``), version 1."""

    format_version: Literal[1]
    listed_at: datetime
    fleet: PlanFleetDocument
    fingerprint: str
    images: dict[str, str]
    pages: int
    entries: list[PlanEntryDocument]
    notes: list[str]
    summary: PlanSummaryDocument
    estimate: PlanEstimateDocument


__all__ = [
    "DEFAULT_MAX_DELETE",
    "DEFAULT_MAX_PLAN_AGE",
    "FORMAT_VERSION",
    "EntryAction",
    "FleetPlan",
    "FleetPlanDocument",
    "PlanEntry",
    "Verdicts",
    "digest",
    "fingerprint",
    "plan_images",
    "with_running",
]
