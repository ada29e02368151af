"""Retention of one series, pure: which of its items stay, and why.

A series is a group's ranked images (a select group), or one droplet's ranked snapshots
(a source group), newest first. ``verdicts(times, policy, now)`` decides each: one is
deleted when no rule of the policy keeps it (its rank is above ``keep``, or under
calendar retention, ``retain``, no rule keeps it: ``_calendar.calendar_keep``) **or** it
is older than ``max_age``, but never one of the first ``keep_min``. A series holds no
protected item (the caller leaves them out), so they fill no calendar bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Protocol

from ._calendar import Retain, calendar_reasons, kept_by

_ZERO = timedelta(0)


@dataclass(frozen=True)
class Policy:
    """How a series is thinned: ``keep`` the newest (or the calendar of ``retain``),
    none older than ``max_age``, and always the ``keep_min`` newest."""

    keep: int | None = None
    max_age: timedelta | None = None
    keep_min: int = 1
    retain: Retain | None = None


Verdict = tuple[bool, str]
"""What becomes of one item of a series (whether it is deleted), and why, in words."""


def days_old(age: timedelta) -> str:
    """``"3 days old"``: an age in whole days (none below 0)."""
    return _days_text(age.days if age > _ZERO else 0)


@lru_cache(maxsize=4096)
def _days_text(days: int) -> str:
    return f"{days} day{'s' if days != 1 else ''} old"


def duration_text(age: timedelta | None) -> str:
    """A duration as a fleet file writes it: ``30d``, ``12h``, ``90m``."""
    if age is None:
        return "none"
    seconds = int(age.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return str(age)  # pragma: no cover - durations are whole minutes


def _kept_by_rules(times: Sequence[datetime], policy: Policy) -> _Kept:
    """The indexes of ``times`` (newest first) that a rule of ``policy`` keeps, the age
    rule and the floor aside, each with what its reason says after its rank: the first ``keep``
    (all when there is no ``keep``), or what calendar retention keeps (``retain``:
    ``calendar_keep``'s choice, with the rules and buckets that keep each)."""
    if policy.retain is not None:
        found = calendar_reasons(times, policy.retain)
        return {index: f", kept by {kept_by(why, times[index])}" for index, why in found.items()}
    limit = f" of keep {policy.keep}" if policy.keep is not None else " of no keep limit"
    return _Ranks(len(times) if policy.keep is None else min(policy.keep, len(times)), limit)


class _Ranks:
    """The first ``count`` indexes, each kept by the same words (``keep``'s limit): what
    ``verdicts`` asks of a dict of reasons, without one (its ``get`` is a comparison)."""

    __slots__ = ("_count", "_words")

    def __init__(self, count: int, words: str) -> None:
        self._count, self._words = count, words

    def get(self, index: int, /) -> str | None:
        """The words that keep ``index``, or ``None`` past the first ``count``."""
        return self._words if 0 <= index < self._count else None


class _Kept(Protocol):
    """The reasons that keep some indexes of a series (a dict, or ``_Ranks``)."""

    def get(self, index: int, /) -> str | None: ...


def _dropped(rank: int, policy: Policy) -> str:
    """Why no rule keeps the item of ``rank``: over ``keep``, or in no ``retain`` bucket."""
    if policy.retain is not None:
        return f"rank {rank}, kept by no rule of retain {policy.retain}"
    return f"rank {rank} > keep {policy.keep}"


def verdicts(times: Sequence[datetime], policy: Policy, now: datetime) -> list[Verdict]:
    """The verdict on each item of a series, by its time (``created_at``), newest first
    (ties already broken by the caller): delete when no rule keeps it or it is older
    than ``max_age``, never one of the first ``keep_min``. Reasons give the rank, the
    rule that keeps it (``keep``'s limit, or ``retain``'s rules and buckets) and the age
    as of ``now``.

    :raises ValueError: under ``retain``, a time without a time zone.
    """
    kept = _kept_by_rules(times, policy)
    oldest, keep_min = policy.max_age, policy.keep_min
    too_old_by = f" > max_age {duration_text(oldest)}"
    found: list[Verdict] = []
    for index, time in enumerate(times):
        rank, age = index + 1, now - time
        why = kept.get(index)
        too_old = oldest is not None and age > oldest
        days = _days_text(age.days if age > _ZERO else 0)  # days_old, inlined: 30,000 a plan
        if not (why is None or too_old):
            found.append((False, f"rank {rank}{why}, {days}"))
        elif rank <= keep_min:
            floor = f"rank {rank}: one of the keep_min {keep_min} newest, always kept"
            found.append((False, f"{floor} ({days})"))
        else:
            over = _dropped(rank, policy) if why is None else f"rank {rank}"
            found.append((True, f"{over}, {days}{too_old_by if too_old else ''}"))
    return found


__all__ = ["Policy", "Verdict", "days_old", "duration_text", "verdicts"]
