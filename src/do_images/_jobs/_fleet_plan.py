"""A fleet's plan: ``FleetPlan``, what applying would do, and its document.

The entries come from the rule (``_fleet_rule``); the plan adds when the account was
read (``listed_at``, the server's time), which fleet decided, the digest of every
matched image and of every droplet a source selected, and what planning read.
``to_json`` / ``save`` write the plan document (``format_version`` 2),
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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, ValidationError
from typing_extensions import TypedDict

from .._constants import DEFAULT_MAX_DELETE, DEFAULT_MAX_PLAN_AGE_SECONDS, FLEET_VERSION
from .._errors import FleetError, StalePlanError
from ._fleet_entry import CHANGES, EntryAction, EntryKey, PlanEntry, shape_error
from ._fleet_estimate import PlanEstimate, estimate
from ._fleet_file import Fleet, SourceGroup
from ._fleet_source import DropletDigest

FORMAT_VERSION: Final = 2
"""The ``format_version`` of the plan documents written and read (the document model's
``Literal`` says the same, and mypy holds the two together)."""
DEFAULT_MAX_PLAN_AGE = timedelta(seconds=DEFAULT_MAX_PLAN_AGE_SECONDS)
"""A saved plan older than this (by the server's clock) is stale."""


class PlanCounts(TypedDict):
    """How many of each kind of entry a plan holds."""

    snapshots: int
    transfers: int
    tags: int
    deletions: int
    kept: int
    protected: int
    orphaned: int
    pending: int


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
    ``orphaned``, ``pending``), the ``transfer`` and ``tag`` entries, and a ``snapshot``
    (or ``pending``) entry for each droplet that is due; ``notes`` tell what is left as
    it is. ``listed_at`` is the server's time of the listing the plan was made from
    (timezone-aware). Every entry's group is one of the fleet's, its image one the plan
    matched (``digests``) and its droplet one a source selected (``droplets``): a plan
    that breaks that, or whose entries do not fit their action, raises ``FleetError``.
    """

    fleet: Fleet
    entries: list[PlanEntry]
    notes: list[str]
    listed_at: datetime
    digests: dict[int, str]
    """Image id -> its ``digest``: what "unchanged since the plan" compares."""
    reads: Mapping[str, int] = field(default_factory=lambda: {"images_list": 1})
    """The requests planning made, by the spec's operation id (applying reads the image
    pages and the droplets again)."""
    droplets: dict[int, DropletDigest] = field(default_factory=dict)
    """Droplet id -> what the plan saw of it, for each droplet a source selected."""

    def __post_init__(self) -> None:
        if not isinstance(self.listed_at, datetime) or self.listed_at.utcoffset() is None:
            raise FleetError(f"a plan's listed_at must have a timezone, got {self.listed_at!r}")
        groups = {group.name: group for group in self.fleet.groups}
        seen: set[EntryKey] = set()
        for entry in self.entries:
            if not isinstance(entry, PlanEntry):
                raise FleetError(f"a plan's entries are PlanEntry, not {type(entry).__name__}")
            what = _invalid(entry, groups, self.digests, self.droplets)
            if what is not None:
                raise FleetError(f"an invalid plan: {what}")
            if entry.key in seen:
                raise FleetError(f"an invalid plan: entry {entry.key} appears twice")
            seen.add(entry.key)

    @property
    def pages(self) -> int:
        """How many pages the listing of images took (apply reads them again)."""
        return self.reads.get("images_list", 1)

    def waits_for_snapshot(self, entry: PlanEntry) -> bool:
        """Whether ``entry`` (a deletion) waits for this run's snapshot of its droplet:
        done only once that snapshot completed and was copied, else not at all."""
        return entry.action == "delete" and (entry.group, entry.droplet_id) in {
            (due.group, due.droplet_id) for due in self.entries if due.key[0] == "snapshot"
        }

    @property
    def fingerprint(self) -> str:
        """The SHA-256 of the plan document's other fields (``fingerprint()``)."""
        return str(self.to_json()["fingerprint"])

    def of(self, action: EntryAction) -> list[PlanEntry]:
        """The entries of one kind."""
        return [entry for entry in self.entries if entry.action == action]

    def image_ids(self, action: EntryAction) -> list[int]:
        """The images of the entries of one kind (a droplet's entries have none)."""
        return [entry.image_id for entry in self.of(action) if entry.image_id is not None]

    @property
    def counts(self) -> PlanCounts:
        """How many snapshots, transfers, tags, deletions, and kept, protected,
        orphaned and pending images and droplets."""
        return PlanCounts(
            snapshots=len(self.of("snapshot")),
            transfers=len(self.of("transfer")),
            tags=len(self.of("tag")),
            deletions=len(self.of("delete")),
            kept=len(self.of("keep")),
            protected=len(self.of("protected")),
            orphaned=len(self.of("orphaned")),
            pending=len(self.of("pending")),
        )

    @property
    def changes(self) -> int:
        """How many entries applying would act on (a ``snapshot`` is one)."""
        return sum(1 for entry in self.entries if entry.action in CHANGES)

    @property
    def summary(self) -> str:
        """One line, as Terraform's: ``Plan: 4 transfers, 2 tags, 3 deletions; 5 kept.``
        (a fleet with a source group counts its snapshots first)."""
        counts = self.counts
        verdicts = [
            ("protected", counts["protected"]),
            ("orphaned", counts["orphaned"]),
            ("pending", counts["pending"]),
        ]
        rest = [f"{number} {verdict}" for verdict, number in verdicts if number]
        kept = ", ".join([f"{counts['kept']} kept", *rest]) + "."
        if not self.changes:
            return f"No changes: the account matches the fleet file; {kept}"
        made = [("snapshot", counts["snapshots"])] if self.fleet.sources else []
        made += [
            ("transfer", counts["transfers"]),
            ("tag", counts["tags"]),
            ("deletion", counts["deletions"]),
        ]
        changes = ", ".join(f"{n} {word}{'s' if n != 1 else ''}" for word, n in made)
        return f"Plan: {changes}; {kept}"

    @property
    def estimate(self) -> PlanEstimate:
        """The requests planning made and applying makes, by kind, and about how long
        applying takes within the request budget (``_fleet_estimate.estimate``)."""
        return estimate(self.fleet, self.entries, self.reads, self.droplets)

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
                max_delete=self.fleet.max_delete,
            ),
            fingerprint="",
            images={str(key): value for key, value in sorted(self.digests.items())},
            droplets={str(key): value for key, value in sorted(self.droplets.items())},
            reads=dict(self.reads),
            entries=self.entries,
            notes=list(self.notes),
            summary=self.counts,
            estimate=self.estimate,
        )
        data = document.model_dump(mode="json", exclude_none=True)
        # Written as they are: a droplet's region and an entry's image_id may be null.
        data["droplets"] = {key: dict(value) for key, value in document.droplets.items()}
        data["entries"] = [entry.to_json() for entry in self.entries]
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
        written = document.fleet
        try:
            fleet = Fleet.from_dict(
                {
                    "version": FLEET_VERSION,
                    "group": written.groups,
                    "max_delete": written.max_delete,
                }
            )
        except FleetError as exc:
            raise FleetError(f"a damaged fleet plan: fleet.groups: {exc}") from None
        return cls(
            fleet=Fleet(
                fleet.groups, fleet.document, written.path, written.sha256, fleet.max_delete
            ),
            entries=list(document.entries),
            notes=list(document.notes),
            listed_at=document.listed_at,
            digests={int(key): value for key, value in document.images.items()},
            reads=dict(document.reads),
            droplets={int(key): value for key, value in document.droplets.items()},
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


def _invalid(
    entry: PlanEntry,
    groups: Mapping[str, object],
    digests: Mapping[int, str],
    droplets: Mapping[int, DropletDigest],
) -> str | None:
    """What makes ``entry`` no entry of its plan (``None``: nothing): a group the fleet
    lacks, fields that do not fit its action or its group's kind, or an image the plan
    did not match, a droplet no source selected."""
    what = (
        f"image {entry.image_id}" if entry.image_id is not None else f"droplet {entry.droplet_id}"
    )
    group = groups.get(entry.group)
    if group is None:
        return f"an entry of {what} is of group {entry.group!r}, which its fleet does not have"
    wrong = shape_error(entry)
    if wrong is None and isinstance(group, SourceGroup) != (entry.droplet_id is not None):
        wrong = "a droplet_id in a select group, or none in a source group"
    if wrong is not None:
        return f"a {entry.action} entry of {what} with {wrong}"
    if entry.image_id is not None and entry.image_id not in digests:
        return f"an entry of image {entry.image_id}, which it did not match"
    if entry.image_id is None and entry.droplet_id not in droplets:
        return f"an entry of droplet {entry.droplet_id}, which no source selected"
    return None


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
    with ``Fleet.from_dict``), the file's SHA-256, its groups as written and its
    ``max_delete``."""

    path: str | None = None
    sha256: str
    groups: list[dict[str, Any]]
    max_delete: Annotated[StrictInt, Field(ge=0)]
    """The most deletions one apply makes, as the fleet file said (or its default)."""


class FleetPlanDocument(_Document):
    """A saved fleet plan (``FleetPlan.to_json()``, ``plan.save(path)``), format version 2.

    ``fingerprint`` is the SHA-256 of every other field (``fingerprint()``).
    """

    format_version: Literal[2]
    listed_at: AwareDatetime
    fleet: PlanFleetDocument
    fingerprint: str
    images: dict[str, str]
    droplets: dict[str, DropletDigest]
    reads: dict[str, int]
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
