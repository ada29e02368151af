"""A fleet's plan: ``FleetPlan``, what applying would do, and its document.

The entries come from the rule (``_fleet_rule``); the plan adds when the account was
read (``listed_at``, the server's time), which fleet decided, and the digest of every
matched image. ``to_json`` / ``save`` write the plan document (``format_version`` 2),
``from_json`` / ``load`` read it back; its ``fingerprint`` is the SHA-256 of every
other field, so a plan damaged or edited without care is refused. A fingerprint proves
no origin (anyone can compute one): apply holds every plan to the rule on a fresh
listing, which is what keeps an edited plan from doing harm.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError
from typing_extensions import TypedDict

from .._constants import (
    DEFAULT_LIFECYCLE_POLL,
    DEFAULT_MAX_DELETE,
    DEFAULT_MAX_PLAN_AGE_SECONDS,
    DEFAULT_REQUESTS_PER_MINUTE,
    FLEET_VERSION,
    TRANSFER_SECONDS,
)
from .._errors import FleetError, StalePlanError
from ._fleet_file import Fleet
from ._fleet_rule import CHANGES, EntryAction, PlanEntry

FORMAT_VERSION: Final = 2
"""The ``format_version`` of the plan documents written and read (the document model's
``Literal`` says the same, and mypy holds the two together)."""
DEFAULT_MAX_PLAN_AGE = timedelta(seconds=DEFAULT_MAX_PLAN_AGE_SECONDS)
"""A saved plan older than this (by the server's clock) is stale."""


class PlanCounts(TypedDict):
    """How many of each kind of entry a plan holds."""

    transfers: int
    tags: int
    deletions: int
    kept: int
    protected: int
    pending: int


class PlanEstimate(TypedDict):
    """About how many requests applying takes, and how many seconds."""

    requests: int
    seconds: float


def fingerprint(document: Mapping[str, Any]) -> str:
    """The SHA-256 of a plan document's fields but ``fingerprint`` (canonical JSON).

    It finds damage and careless edits; it proves no origin, since anyone can compute
    it: ``apply_fleet`` holds every plan to the rule on a fresh listing instead.
    """
    fields = {key: value for key, value in document.items() if key != "fingerprint"}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class FleetPlan:
    """What applying a fleet would do; making one changes nothing.

    ``entries`` hold one verdict per matched image (``keep``, ``delete``, ``protected``,
    ``pending``) and the ``transfer`` and ``tag`` entries; ``notes`` tell what is left
    as it is. ``listed_at`` is the server's time of the listing the plan was made from
    (timezone-aware). Every entry's group is one of the fleet's and its image one the
    plan matched (``digests``): a plan that breaks that, or whose entries do not fit
    their action, raises ``FleetError``.
    """

    fleet: Fleet
    entries: list[PlanEntry]
    notes: list[str]
    listed_at: datetime
    digests: dict[int, str]
    """Image id -> its ``digest``: what "unchanged since the plan" compares."""
    pages: int = 1
    """How many pages the listing took (apply reads them again)."""

    def __post_init__(self) -> None:
        if not isinstance(self.listed_at, datetime) or self.listed_at.utcoffset() is None:
            raise FleetError(f"a plan's listed_at must have a timezone, got {self.listed_at!r}")
        groups = {group.name for group in self.fleet.groups}
        seen: set[tuple[str, str, int, str | None, str | None]] = set()
        for entry in self.entries:
            if not isinstance(entry, PlanEntry):
                raise FleetError(f"a plan's entries are PlanEntry, not {type(entry).__name__}")
            if entry.group not in groups:
                raise FleetError(
                    f"an invalid plan: an entry of image {entry.image_id} is of group "
                    f"{entry.group!r}, which its fleet does not have"
                )
            _check_fields(entry)
            if entry.image_id not in self.digests:
                raise FleetError(
                    f"an invalid plan: an entry of image {entry.image_id}, which it did not match"
                )
            if entry.key in seen:
                raise FleetError(f"an invalid plan: entry {entry.key} appears twice")
            seen.add(entry.key)

    @property
    def fingerprint(self) -> str:
        """The SHA-256 of the plan document's other fields (``fingerprint()``)."""
        return str(self.to_json()["fingerprint"])

    def of(self, action: EntryAction) -> list[PlanEntry]:
        """The entries of one kind."""
        return [entry for entry in self.entries if entry.action == action]

    @property
    def counts(self) -> PlanCounts:
        """How many transfers, tags, deletions, kept, protected and pending images."""
        return PlanCounts(
            transfers=len(self.of("transfer")),
            tags=len(self.of("tag")),
            deletions=len(self.of("delete")),
            kept=len(self.of("keep")),
            protected=len(self.of("protected")),
            pending=len(self.of("pending")),
        )

    @property
    def changes(self) -> int:
        """How many entries applying would act on."""
        return sum(1 for entry in self.entries if entry.action in CHANGES)

    @property
    def summary(self) -> str:
        """One line, as Terraform's: ``Plan: 4 transfers, 2 tags, 3 deletions; 5 kept.``"""
        counts = self.counts
        rest = [f"{counts['protected']} protected"] if counts["protected"] else []
        rest += [f"{counts['pending']} pending"] if counts["pending"] else []
        kept = ", ".join([f"{counts['kept']} kept", *rest]) + "."
        if not self.changes:
            return f"No changes: the account matches the fleet file; {kept}"
        return (
            f"Plan: {counts['transfers']} transfer{'s' if counts['transfers'] != 1 else ''}, "
            f"{counts['tags']} tag{'s' if counts['tags'] != 1 else ''}, "
            f"{counts['deletions']} deletion{'s' if counts['deletions'] != 1 else ''}; {kept}"
        )

    @property
    def estimate(self) -> PlanEstimate:
        """About how many requests applying takes, and how long, within the budget: the
        re-read, an action list and polls every 10 s for each image transferred, each
        change, and a re-read before each group's deletions."""
        transferring = {entry.image_id for entry in self.of("transfer")}
        polls = len(transferring) * (1 + int(TRANSFER_SECONDS / DEFAULT_LIFECYCLE_POLL))
        deleting = {entry.group for entry in self.of("delete")}
        requests = self.pages * (1 + len(deleting)) + self.changes + polls
        seconds = max(
            requests * 60 / DEFAULT_REQUESTS_PER_MINUTE, TRANSFER_SECONDS if transferring else 0
        )
        return PlanEstimate(requests=requests, seconds=round(seconds, 1))

    def to_json(self) -> dict[str, Any]:
        """The plan document (``format_version`` 2), its ``fingerprint`` the SHA-256 of
        every other field."""
        document = FleetPlanDocument(
            format_version=FORMAT_VERSION,
            listed_at=self.listed_at,
            fleet=PlanFleetDocument(
                path=self.fleet.path,
                sha256=self.fleet.sha256,
                groups=self.fleet.document.get("group", []),
            ),
            fingerprint="",
            images={str(key): value for key, value in sorted(self.digests.items())},
            pages=self.pages,
            entries=self.entries,
            notes=list(self.notes),
            summary=self.counts,
            estimate=self.estimate,
        )
        data = document.model_dump(mode="json", exclude_none=True)
        data["fingerprint"] = fingerprint(data)
        return data

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the plan document to ``path`` (JSON); ``FleetError`` if it cannot be
        written, or if ``path`` is the plan's own fleet file."""
        where = os.path.abspath(path)
        if self.fleet.path is not None and _same_file(where, self.fleet.path):
            raise FleetError(f"will not write the plan over its own fleet file {where}")
        text = json.dumps(self.to_json(), indent=2) + "\n"
        try:
            Path(where).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise FleetError(f"cannot write plan {path}: {exc.strerror or exc}") from None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FleetPlan:
        """A plan from its document. ``StalePlanError`` for another ``format_version``
        (plan again); ``FleetError`` for what is not a plan, or a damaged or invalid one."""
        document = _document(data)
        try:
            fleet = Fleet.from_dict({"version": FLEET_VERSION, "group": document.fleet.groups})
        except FleetError as exc:
            raise FleetError(f"a damaged fleet plan: fleet.groups: {exc}") from None
        return cls(
            fleet=Fleet(fleet.groups, fleet.document, document.fleet.path, document.fleet.sha256),
            entries=list(document.entries),
            notes=list(document.notes),
            listed_at=document.listed_at,
            digests={int(key): value for key, value in document.images.items()},
            pages=document.pages,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FleetPlan:
        """Read a plan saved with ``save`` (see ``from_json``)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise FleetError(f"cannot read plan {path}: {exc.strerror or exc}") from None
        except RecursionError:
            raise FleetError(f"{path} is nested too deeply to be a fleet plan") from None
        except ValueError as exc:
            raise FleetError(f"{path} is not a fleet plan (not JSON: {exc})") from None
        return cls.from_json(data)


def _check_fields(entry: PlanEntry) -> None:
    """A transfer names a region, a tag entry a tag, and no other entry either."""
    wants = (entry.action == "transfer", entry.action == "tag")
    if wants != (entry.region is not None, entry.tag is not None):
        raise FleetError(
            f"an invalid plan: a {entry.action} entry of image {entry.image_id} with "
            f"region {entry.region!r} and tag {entry.tag!r}"
        )


def _same_file(one: str, other: str) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return os.path.normcase(one) == os.path.normcase(other)


def _document(data: object) -> FleetPlanDocument:
    """``data`` validated as a plan document of this version, its fingerprint checked."""
    if not isinstance(data, Mapping) or "format_version" not in data:
        raise FleetError("not a fleet plan: a plan document has a format_version")
    version = data["format_version"]
    if type(version) is not int or version != FORMAT_VERSION:
        raise StalePlanError(
            f"a fleet plan of format_version {version!r}; this version reads "
            f"format_version {FORMAT_VERSION}: plan again"
        )
    try:
        document = FleetPlanDocument.model_validate(data)
        matches = fingerprint(data) == document.fingerprint
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise FleetError(f"a damaged fleet plan: {where}: {first['msg']}") from None
    except (RecursionError, ValueError):
        raise FleetError("a damaged fleet plan: nested too deeply or numbers too large") from None
    if not matches:
        raise FleetError("a damaged fleet plan: its fingerprint does not match its content")
    path = document.fleet.path
    if path is not None and not os.path.isabs(path):
        raise FleetError(f"a damaged fleet plan: fleet.path {path!r} is not absolute")
    return document


# ------------------------------------------------------- the plan document's shape


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class PlanFleetDocument(_Document):
    """The fleet a plan was made from: its file's absolute path (none for a fleet made
    with ``Fleet.from_dict``), the file's SHA-256 and its groups as written."""

    path: str | None = None
    sha256: str
    groups: list[dict[str, Any]]


class FleetPlanDocument(_Document):
    """A saved fleet plan (``FleetPlan.to_json()``, ``plan.save(path)``), format version 2.

    ``fingerprint`` is the SHA-256 of every other field (``fingerprint()``).
    """

    format_version: Literal[2]
    listed_at: AwareDatetime
    fleet: PlanFleetDocument
    fingerprint: str
    images: dict[str, str]
    pages: int
    entries: list[PlanEntry]
    notes: list[str]
    summary: PlanCounts
    estimate: PlanEstimate


__all__ = [
    "DEFAULT_MAX_DELETE",
    "DEFAULT_MAX_PLAN_AGE",
    "FORMAT_VERSION",
    "FleetPlan",
    "FleetPlanDocument",
    "PlanCounts",
    "PlanEstimate",
    "fingerprint",
]
