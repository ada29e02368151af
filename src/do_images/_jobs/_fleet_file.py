"""A fleet file: TOML (``version = 1``) saying which images live where and how many stay.

``Fleet.load(path)`` reads and checks it, ``Fleet.from_dict(data)`` checks the same data
given directly; every mistake is a ``FleetError`` naming the key and its group, and a
syntax error carries the parser's line and column.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from .._checks import check_region, check_tag_name, parse_duration
from .._constants import FLEET_VERSION
from .._errors import FleetError
from .._models import Image
from ._select import check_types, selects

_GROUP_KEYS = frozenset(
    {"name", "select", "regions", "keep", "max_age", "keep_min", "protect_tags", "ensure_tags"}
)
_SELECT_KEYS = frozenset({"name_prefix", "tag", "types"})
_BOM = "\ufeff"


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
class Group:
    """One group of a fleet: what it selects, where its images live, how many stay."""

    name: str
    select: Selection
    regions: tuple[str, ...] = ()
    keep: int | None = None
    max_age: timedelta | None = None
    keep_min: int = 1
    protect_tags: tuple[str, ...] = ()
    ensure_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fleet:
    """A checked fleet file. ``Fleet.load(path)`` or ``Fleet.from_dict(data)``."""

    groups: tuple[Group, ...]
    document: dict[str, Any] = field(repr=False, compare=False)
    """The file's content as read (what a plan records)."""
    path: str | None = None
    """The file's absolute path (``None`` for ``from_dict``)."""
    sha256: str = ""
    """The SHA-256 of the file's bytes (of its canonical JSON for ``from_dict``)."""

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
        unknown = sorted(set(data) - {"version", "group"})
        if unknown:
            raise FleetError(f"{where}unknown key {unknown[0]!r} (a fleet has version and group)")
        version = data.get("version")
        if type(version) is not int or version != FLEET_VERSION:  # not True, not 1.0
            raise FleetError(f"{where}version must be {FLEET_VERSION}, got {version!r}")
        raw_groups = data.get("group")
        if not isinstance(raw_groups, list) or not raw_groups:
            raise FleetError(f"{where}a fleet needs at least one [[group]]")
        groups = tuple(_group(raw, index, where) for index, raw in enumerate(raw_groups, 1))
        names = [group.name for group in groups]
        for name in names:
            if names.count(name) > 1:
                raise FleetError(f"{where}two groups are named {name!r}: names must be unique")
        document = json.loads(_json(dict(data)))
        return cls(groups=groups, document=document, path=path, sha256=sha256)


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


def _group(raw: object, index: int, where: str) -> Group:
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
    try:
        keep = _count(raw.get("keep"), "keep", optional=True)
        keep_min = _count(raw.get("keep_min", 1), "keep_min", optional=False)
        assert keep_min is not None
        max_age = _age(raw.get("max_age"))
        regions = tuple(dict.fromkeys(_names(raw.get("regions", []), "regions", check_region)))
        protect = tuple(_names(raw.get("protect_tags", []), "protect_tags", check_tag_name))
        ensure = tuple(_names(raw.get("ensure_tags", []), "ensure_tags", check_tag_name))
        select = _selection(raw.get("select", {}))
    except (TypeError, ValueError) as exc:
        raise FleetError(f"{label}: {exc}") from None
    if keep is not None and keep < keep_min:
        raise FleetError(f"{label}: keep ({keep}) must be at least keep_min ({keep_min})")
    return Group(name, select, regions, keep, max_age, keep_min, protect, ensure)


def _count(value: object, key: str, *, optional: bool) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} must be a whole number of 0 or more, got {value!r}")
    return value


def _age(value: object) -> timedelta | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f'max_age must be a duration such as "30d", got {value!r}')
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"max_age: {exc}") from None


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


__all__ = ["Fleet", "Group", "Selection"]
