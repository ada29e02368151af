"""A fleet file: TOML (``version = 1``) saying which images live where and how many stay.

A group has ``select`` (which of the account's own images it manages) or ``source`` (the
droplets whose snapshots it makes and keeps), never both. ``Fleet.load(path)`` reads and
checks a file, ``Fleet.from_dict(data)`` checks the same data given directly; every
mistake is a ``FleetError`` naming the key and its group, and a syntax error carries the
parser's line and column.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from re import Pattern
from typing import Any, Literal

from .._checks import check_region, check_tag_name, parse_duration
from .._constants import DEFAULT_MAX_DELETE, FLEET_VERSION
from .._errors import FleetError
from .._models import Image
from ._calendar import Retain
from ._retention import Policy
from ._select import check_types, selects
from ._template import DEFAULT_SNAPSHOT_NAME, NameTemplate, overlap

_FLEET_KEYS = frozenset({"version", "group", "max_delete"})
_RULE_KEYS = frozenset(
    {"name", "regions", "keep", "max_age", "keep_min", "protect_tags", "ensure_tags", "retain"}
)
_SOURCE_ONLY_KEYS = frozenset({"source", "every", "snapshot_name", "power_off", "on_source_gone"})
_SELECT_GROUP_KEYS = _RULE_KEYS | {"select"}
_SOURCE_GROUP_KEYS = _RULE_KEYS | _SOURCE_ONLY_KEYS
_GROUP_KEYS = _SELECT_GROUP_KEYS | _SOURCE_GROUP_KEYS
_SELECT_KEYS = frozenset({"name_prefix", "tag", "types"})
_SOURCE_KEYS = frozenset({"droplet_tag", "droplet_ids"})
MIN_EVERY = timedelta(hours=1)
"""The shortest ``every`` a source group may have."""
_BOM = "\ufeff"

OnSourceGone = Literal["keep", "expire"]
"""What becomes of the snapshots of a droplet that is no longer a source."""


@dataclass(frozen=True)
class Selection:
    """Which of the account's own images a group takes."""

    name_prefix: str | None = None
    tag: str | None = None
    types: tuple[str, ...] = ("snapshot",)

    def selects(self, image: Image) -> bool:
        """Whether ``image`` is one of this selection's: never a backup or a public image
        (the one rule every job selects by, ``_select.selects``)."""
        return selects(image, types=self.types, name_prefix=self.name_prefix, tag=self.tag)


@dataclass(frozen=True)
class Source:
    """The droplets a source group snapshots: those carrying ``droplet_tag``, or those
    of ``droplet_ids`` (exactly one is set)."""

    droplet_tag: str | None = None
    droplet_ids: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GroupRules:
    """What every group says: its name, where its images live, how many stay."""

    name: str
    regions: tuple[str, ...] = ()
    keep: int | None = None
    max_age: timedelta | None = None
    keep_min: int = 1
    protect_tags: tuple[str, ...] = ()
    ensure_tags: tuple[str, ...] = ()
    retain: Retain | None = None
    """Calendar retention, instead of ``keep``."""

    @property
    def policy(self) -> Policy:
        """How each of its series is thinned (``_retention.verdicts``)."""
        return Policy(self.keep, self.max_age, self.keep_min, self.retain)


@dataclass(frozen=True, kw_only=True)
class Group(GroupRules):
    """A group that manages some of the account's own images: those it ``select``s."""

    select: Selection = field(default_factory=Selection)


@dataclass(frozen=True, kw_only=True)
class SourceGroup(GroupRules):
    """A group that makes the snapshots it keeps: one of each droplet of its ``source``
    every ``every``, named by ``snapshot_name``; it owns exactly the private snapshots
    whose name that template matches."""

    source: Source
    every: timedelta
    snapshot_name: NameTemplate = field(
        default_factory=lambda: NameTemplate.parse(DEFAULT_SNAPSHOT_NAME)
    )
    power_off: bool = False
    on_source_gone: OnSourceGone = "keep"

    @cached_property
    def pattern(self) -> Pattern[str]:
        """The names this group's snapshots have (``fullmatch`` them)."""
        return self.snapshot_name.pattern(self.name)

    def owner(self, image: Image) -> int | None:
        """The droplet id of ``image`` if this group owns it: a private snapshot whose
        name the template matches (``None`` otherwise)."""
        if not selects(image, types=("snapshot",)):
            return None
        found = self.pattern.fullmatch(image.name or "")
        return None if found is None else int(found["droplet_id"])


AnyGroup = Group | SourceGroup
"""A group of either kind."""


@dataclass(frozen=True)
class Fleet:
    """A checked fleet file. ``Fleet.load(path)`` or ``Fleet.from_dict(data)``."""

    groups: tuple[AnyGroup, ...]
    document: dict[str, Any] = field(repr=False, compare=False)
    """The file's content as read (what a plan records)."""
    path: str | None = None
    """The file's absolute path (``None`` for ``from_dict``)."""
    sha256: str = ""
    """The SHA-256 of the file's bytes (of its canonical JSON for ``from_dict``)."""
    max_delete: int = DEFAULT_MAX_DELETE
    """The most deletions one apply makes (the file's top-level ``max_delete``); the
    ``apply_fleet`` argument and ``--max-delete`` win."""

    @property
    def sources(self) -> tuple[SourceGroup, ...]:
        """The groups that make snapshots, in the file's order."""
        return tuple(group for group in self.groups if isinstance(group, SourceGroup))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Fleet:
        """Read and check a fleet file; ``FleetError`` names the key and its group, and a
        syntax error carries the parser's line and column. A UTF-8 byte order mark is
        read past; the path is kept absolute."""
        where = Path(os.path.abspath(path))
        try:
            raw = where.read_bytes()
        except OSError as exc:
            raise FleetError(f"cannot read fleet file {where}: {exc.strerror or exc}") from None
        try:
            data = _toml().loads(raw.decode("utf-8").removeprefix(_BOM))
        except UnicodeDecodeError as exc:
            raise FleetError(f"{where} is not UTF-8 text: {exc}") from None
        except RecursionError:
            raise FleetError(f"{where} is nested too deeply to be a fleet file") from None
        except ValueError as exc:  # tomllib.TOMLDecodeError: "... (at line 3, column 9)"
            raise FleetError(f"{where} is not valid TOML: {exc}") from None
        return cls._checked(data, str(where), hashlib.sha256(raw).hexdigest())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fleet:
        """A fleet from the data a fleet file holds (``{"version": 1, "group": [...]}``)."""
        canonical = _json(data, sort_keys=True, default=str)
        return cls._checked(data, None, hashlib.sha256(canonical.encode()).hexdigest())

    @classmethod
    def _checked(cls, data: Mapping[str, Any], path: str | None, sha256: str) -> Fleet:
        where = f"{path}: " if path else ""
        if not isinstance(data, Mapping):
            raise FleetError(f"{where}a fleet is a table with version and [[group]]")
        unknown = sorted(set(data) - _FLEET_KEYS)
        if unknown:
            raise FleetError(
                f"{where}unknown key {unknown[0]!r} (a fleet has version, max_delete and group)"
            )
        _check_version(data.get("version"), where)
        max_delete = data.get("max_delete", DEFAULT_MAX_DELETE)
        if isinstance(max_delete, bool) or not isinstance(max_delete, int) or max_delete < 0:
            raise FleetError(
                f"{where}max_delete must be a whole number of 0 or more, got {max_delete!r}"
            )
        raw_groups = data.get("group")
        if not isinstance(raw_groups, list) or not raw_groups:
            raise FleetError(f"{where}a fleet needs at least one [[group]]")
        groups = tuple(_group(raw, index, where) for index, raw in enumerate(raw_groups, 1))
        names = [group.name for group in groups]
        for name in names:
            if names.count(name) > 1:
                raise FleetError(f"{where}two groups are named {name!r}: names must be unique")
        _check_overlaps(groups, where)
        document = json.loads(_json(dict(data)))
        return cls(groups, document, path, sha256, max_delete)

    def check_regions(self, regions: Mapping[str, bool]) -> None:
        """Every region of every group is one the API lists (``regions``: slug ->
        whether it takes new resources, from ``GET /v2/regions``) and is available;
        ``FleetError`` names the first that is not, and its group."""
        where = f"{self.path}: " if self.path else ""
        for group in self.groups:
            for region in group.regions:
                if region not in regions:
                    raise FleetError(
                        f"{where}group {group.name!r}: region {region!r} is unknown (not one "
                        "of the regions GET /v2/regions lists)"
                    )
                if not regions[region]:
                    raise FleetError(
                        f"{where}group {group.name!r}: region {region!r} is not available "
                        "(it takes no new images)"
                    )


def _check_version(version: object, where: str) -> None:
    if version is None:
        raise FleetError(f"{where}version is missing: a fleet file begins with version = 1")
    if type(version) is not int or version != FLEET_VERSION:  # not True, not 1.0
        raise FleetError(f"{where}version must be {FLEET_VERSION}, got {version!r}")


def _check_overlaps(groups: tuple[AnyGroup, ...], where: str) -> None:
    """No name could be owned by two source groups: ``FleetError`` naming both, and a
    name both templates match."""
    sources = [group for group in groups if isinstance(group, SourceGroup)]
    for index, one in enumerate(sources):
        for other in sources[index + 1 :]:
            both = overlap(one.snapshot_name, one.name, other.snapshot_name, other.name)
            if both is not None:
                raise FleetError(
                    f"{where}groups {one.name!r} and {other.name!r}: their snapshot_name "
                    f"templates could both match one name ({both!r}), so a snapshot could "
                    "belong to either; make them differ, say by {group}"
                )


def _json(data: object, **options: Any) -> str:
    """``json.dumps``, its two limits as ``FleetError``: nesting and huge integers."""
    try:
        return json.dumps(data, **options)
    except RecursionError:
        raise FleetError("a fleet nested too deeply to be one") from None
    except ValueError as exc:  # an int of more than 4300 digits
        raise FleetError(f"a number in the fleet is too large: {exc}") from None


def _toml() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    import tomli  # type: ignore[import-not-found,unused-ignore]  # pragma: no cover - Python 3.10

    return tomli  # pragma: no cover


def _group(raw: object, index: int, where: str) -> AnyGroup:
    """One ``[[group]]``, checked: every problem names the key and the group."""
    if not isinstance(raw, Mapping):
        raise FleetError(f"{where}group {index} must be a table")
    name = raw.get("name")
    label = f"{where}group {name!r}" if isinstance(name, str) and name else f"{where}group {index}"
    if not isinstance(name, str) or not name.strip():
        raise FleetError(f"{label}: name must be a non-empty string")
    unknown = sorted(set(raw) - _GROUP_KEYS)
    if unknown:
        raise FleetError(
            f"{label}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_GROUP_KEYS))})"
        )
    if "select" in raw and "source" in raw:
        raise FleetError(f"{label}: a group has select or source, never both")
    misplaced = sorted(set(raw) & (_SOURCE_ONLY_KEYS - {"source"}))
    if misplaced and "source" not in raw:
        raise FleetError(f"{label}: {misplaced[0]} is for a group with source (droplets)")
    try:
        rules = _rules(raw)
        if "source" in raw:
            return SourceGroup(name=name, **rules, **_source_rules(raw))
        if "select" in raw:
            return Group(name=name, **rules, select=_selection(raw["select"]))
    except (TypeError, ValueError) as exc:
        raise FleetError(f"{label}: {exc}") from None
    raise FleetError(
        f"{label}: a group needs select (which of your images) or source (which droplets to "
        "snapshot); select = {} takes all your snapshots"
    )


def _rules(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The keys every group has, checked."""
    keep = _count(raw.get("keep"), "keep", optional=True)
    keep_min = _count(raw.get("keep_min", 1), "keep_min", optional=False)
    assert keep_min is not None
    retain = _retain(raw.get("retain"))
    if keep is not None and retain is not None:
        raise ValueError("keep and retain say the same thing two ways: give one")
    if retain is not None and not retain.counts():
        raise ValueError(
            "retain keeps nothing (every count is 0): give at least one count above 0, "
            "such as { daily = 7 }"
        )
    if keep is not None and keep < keep_min:
        raise ValueError(f"keep ({keep}) must be at least keep_min ({keep_min})")
    return {
        "keep": keep,
        "keep_min": keep_min,
        "retain": retain,
        "max_age": _age(raw.get("max_age"), "max_age"),
        "regions": tuple(dict.fromkeys(_names(raw.get("regions", []), "regions", check_region))),
        "protect_tags": tuple(_names(raw.get("protect_tags", []), "protect_tags", check_tag_name)),
        "ensure_tags": tuple(_names(raw.get("ensure_tags", []), "ensure_tags", check_tag_name)),
    }


def _source_rules(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of a group with ``source``, checked."""
    every = _age(raw.get("every"), "every")
    if every is None:
        raise ValueError('every is required with source: how often, such as "24h"')
    if every < MIN_EVERY:
        raise ValueError(f"every must be at least 1h, got {raw['every']!r}")
    try:
        template = NameTemplate.parse(raw.get("snapshot_name", DEFAULT_SNAPSHOT_NAME))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"snapshot_name: {exc}") from None
    power_off = raw.get("power_off", False)
    if not isinstance(power_off, bool):
        raise ValueError(f"power_off must be true or false, got {power_off!r}")
    gone = raw.get("on_source_gone", "keep")
    if gone not in ("keep", "expire"):
        raise ValueError(f'on_source_gone must be "keep" or "expire", got {gone!r}')
    if raw.get("keep") == 0:
        raise ValueError("keep = 0 would delete each snapshot the group makes: keep at least 1")
    return {
        "source": _source(raw["source"]),
        "every": every,
        "snapshot_name": template,
        "power_off": power_off,
        "on_source_gone": gone,
    }


def _count(value: object, key: str, *, optional: bool) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} must be a whole number of 0 or more, got {value!r}")
    return value


def _age(value: object, key: str) -> timedelta | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f'{key} must be a duration such as "30d", got {value!r}')
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


def _names(value: object, key: str, check: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError(f"{key} must be a list of strings, got {value!r}")
    try:
        return [check(item) for item in value]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{key}: {exc}") from None


def _selection(raw: object) -> Selection:
    if not isinstance(raw, Mapping):
        raise ValueError(f"select must be a table, got {raw!r}")
    unknown = sorted(set(raw) - _SELECT_KEYS)
    if unknown:
        raise ValueError(f"select: unknown key {unknown[0]!r} (known: name_prefix, tag, types)")
    prefix, tag = raw.get("name_prefix"), raw.get("tag")
    if prefix is not None and (not isinstance(prefix, str) or not prefix):
        raise ValueError(f"select.name_prefix must be a non-empty string, got {prefix!r}")
    if tag is not None:
        tag = check_tag_name(tag)
    types = check_types(raw.get("types", ["snapshot"]), "select.types")
    return Selection(prefix, tag, types)


def _source(raw: object) -> Source:
    """``{ droplet_tag = "web" }`` or ``{ droplet_ids = [3164494, ...] }``."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"source must be a table, got {raw!r}")
    unknown = sorted(set(raw) - _SOURCE_KEYS)
    if unknown:
        raise ValueError(f"source: unknown key {unknown[0]!r} (known: droplet_tag, droplet_ids)")
    if len(raw) != 1:
        raise ValueError("source takes exactly one of droplet_tag and droplet_ids")
    if "droplet_tag" in raw:
        try:
            return Source(droplet_tag=check_tag_name(raw["droplet_tag"]))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"source.droplet_tag: {exc}") from None
    ids = raw["droplet_ids"]
    if not isinstance(ids, list) or not ids:
        raise ValueError(f"source.droplet_ids must be a non-empty list of droplet ids, got {ids!r}")
    for droplet_id in ids:
        if isinstance(droplet_id, bool) or not isinstance(droplet_id, int) or droplet_id < 1:
            raise ValueError(
                f"source.droplet_ids: {droplet_id!r} is not a droplet id (a positive whole number)"
            )
    return Source(droplet_ids=tuple(dict.fromkeys(ids)))


def _retain(raw: object) -> Retain | None:
    """``retain = { daily = 7, weekly = 4 }``, checked (``Retain.from_mapping``); ``_rules``
    refuses it beside ``keep``, or with no count above 0."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError(f"retain must be a table of counts such as {{ daily = 7 }}, got {raw!r}")
    return Retain.from_mapping(raw)


__all__ = ["AnyGroup", "Fleet", "Group", "GroupRules", "Selection", "Source", "SourceGroup"]
