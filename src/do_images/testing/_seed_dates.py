"""The seed as of the sandbox's start: its history is never dated after it.

The seed pictures an account late in 2026 (snapshots, backups, droplets and their past
actions, with fixed dates). A sandbox that starts before those dates would hold actions
from its own future: a lost POST answer, looked up among the actions started since the
request, would then adopt a seeded action as the one it started. So when the start
precedes any seeded date, every seeded date moves back by whole years (month, day and
time kept, and the dates in seeded names with them) until all of it is before the start.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timezone
from typing import Any

_DATED = frozenset({"created_at", "started_at", "completed_at", "start", "end"})
"""The keys of seeded objects that hold a timestamp (``start``/``end``: a backup window)."""
_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_STAMP = "%Y-%m-%dT%H:%M:%SZ"


def _moments(value: Any) -> Iterator[datetime]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _DATED and isinstance(item, str):
                yield _parse(item)
            else:
                yield from _moments(item)
    elif isinstance(value, list):
        for item in value:
            yield from _moments(item)


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, _STAMP).replace(tzinfo=timezone.utc)


def _back(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _shift(value: Any, years: int, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {name: _shift(item, years, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_shift(item, years) for item in value]
    if isinstance(value, str) and key in _DATED:
        moment = _parse(value)
        moved = datetime.combine(_back(moment.date(), years), moment.timetz())
        return moved.strftime(_STAMP)
    if isinstance(value, str) and key == "name":
        return _DAY.sub(lambda day: _back(_day(day), years).isoformat(), value)
    return value


def _day(match: re.Match[str]) -> date:
    return date(int(match[1]), int(match[2]), int(match[3]))


def years_back(seed: Any, start: datetime) -> int:
    """How many whole years the ``seed`` (JSON-like data) moves back so that every date
    in it is before ``start`` (0 when it already is)."""
    latest = max(_moments(seed), default=None)
    if latest is None:
        return 0
    years = 0
    while datetime.combine(_back(latest.date(), years), latest.timetz()) >= start:
        years += 1
    return years


def as_of(seed: Any, start: datetime) -> Any:
    """``seed`` (JSON-like data) with its dates moved back whole years if any is not
    before ``start``: ``images, actions = as_of([images, actions], start)``."""
    years = years_back(seed, start)
    return _shift(seed, years) if years else seed


__all__ = ["as_of", "years_back"]
