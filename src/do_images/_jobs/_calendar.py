"""Calendar retention, pure: which snapshots of one series a ``retain`` policy keeps.

The semantics are those of restic's ``forget`` policy (``keep-hourly`` to
``keep-yearly``). The series is walked newest first; each rule with a count ``n > 0``
keeps the first snapshot it meets in each new UTC hour, day, ISO week, month or year,
until it has kept ``n``. A rule that reaches the oldest snapshot of the series with
part of its count left keeps that one too, even when its bucket already has a kept
snapshot: while there are fewer buckets than the count, the oldest is the longest
history there is. A rule never keeps more than its count, the oldest included. A
snapshot kept by any rule stays; a policy of all zeros keeps nothing. The series given
is the one that fills buckets (the fleet leaves its protected snapshots out), and the
fleet's ``keep_min`` floor and ``max_age`` are applied on top of this, by its rule.

Buckets are UTC: an aware time is converted first; a naive one is refused. Weeks are
ISO weeks, named by ISO year and week number, so the days of a week that straddles New
Year fall in one bucket.

Equal times: the series is ordered newest first by a stable sort, as restic orders it,
so of two snapshots with the same time the one given first counts as the newer. Pass a
series already in its final order (newest first, the higher id first, say) to choose
how ties fall.

Nothing here reads or changes anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

Rule = Literal["hourly", "daily", "weekly", "monthly", "yearly"]
"""A calendar rule: the size of its buckets."""
RULES: tuple[Rule, ...] = ("hourly", "daily", "weekly", "monthly", "yearly")
"""The rules, shortest bucket first: the order of a policy's keys and of the reasons."""

_BUCKET: dict[Rule, Callable[[datetime], tuple[int, ...]]] = {
    "hourly": lambda t: (t.year, t.month, t.day, t.hour),
    "daily": lambda t: (t.year, t.month, t.day),
    "weekly": lambda t: tuple(t.isocalendar())[:2],
    "monthly": lambda t: (t.year, t.month),
    "yearly": lambda t: (t.year,),
}
"""Each rule's bucket of a UTC time: equal tuples share a bucket. Weeks are ISO
``(year, week)``."""


@dataclass(frozen=True)
class Retain:
    """A calendar retention policy: how many hours, days, ISO weeks, months and years
    (UTC) keep their newest snapshot. Each count is a whole number ``>= 0``; 0 turns the
    rule off.

    :raises ValueError: a count that is not a whole number ``>= 0``, naming its key.
    """

    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0

    def __post_init__(self) -> None:
        for rule in RULES:
            count: object = getattr(self, rule)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(f"retain.{rule} must be a whole number >= 0, not {count!r}")

    @classmethod
    def from_mapping(cls, value: Mapping[str, object]) -> Retain:
        """The policy a table such as ``{daily = 7, weekly = 4}`` gives; a key left out
        is 0.

        :raises ValueError: a key that is no rule, or a count that is not a whole number
            ``>= 0``, naming the key.
        """
        unknown = sorted(str(key) for key in value if key not in RULES)
        if unknown:
            raise ValueError(f"retain has no key {unknown[0]!r}: it takes {', '.join(RULES)}")
        return cls(**value)  # type: ignore[arg-type]  # each count is checked in __post_init__

    def counts(self) -> dict[Rule, int]:
        """The rules that are on (count above 0), shortest bucket first, with their counts."""
        return {rule: count for rule in RULES if (count := getattr(self, rule)) > 0}

    def __str__(self) -> str:
        """The policy as a fleet file writes it: ``{daily = 7, weekly = 4}``."""
        return "{" + ", ".join(f"{rule} = {n}" for rule, n in self.counts().items()) + "}"


@dataclass(frozen=True)
class KeptBy:
    """Why one rule keeps a snapshot: it is the rule's ``nth`` of ``count``.

    ``oldest`` is set when the snapshot is the series' oldest and its bucket already had
    a kept snapshot: the rule keeps it only because part of its count was left.
    """

    rule: Rule
    nth: int
    count: int
    oldest: bool = False

    def __str__(self) -> str:
        """``daily 3/7``, or ``yearly 4/10 (oldest)``."""
        return f"{self.rule} {self.nth}/{self.count}" + (" (oldest)" if self.oldest else "")


_BUCKET_NAME: dict[Rule, str] = {
    "hourly": "%Y-%m-%d %Hh",
    "daily": "%Y-%m-%d",
    "weekly": "%G-W%V",
    "monthly": "%Y-%m",
    "yearly": "%Y",
}
"""How each rule's bucket of a UTC time is named (``strftime``): ``2026-12-05 04h``,
``2026-12-05``, ``2026-W49`` (ISO year and week), ``2026-12``, ``2026``."""


def bucket_name(rule: Rule, time: datetime) -> str:
    """The name of the bucket of ``rule`` that ``time`` falls in, in UTC: ``2026-W49``.

    :raises ValueError: a time without a time zone.
    """
    (utc,) = _utc([time])
    return utc.strftime(_BUCKET_NAME[rule])


def kept_by(reasons: Iterable[KeptBy], time: datetime) -> str:
    """Which rules keep a snapshot made at ``time``, and their buckets, as a plan says it:
    ``daily 2026-12-05 (1/7), weekly 2026-W49 (1/4, oldest)``."""
    return ", ".join(
        f"{reason.rule} {bucket_name(reason.rule, time)} "
        f"({reason.nth}/{reason.count}{', oldest' if reason.oldest else ''})"
        for reason in reasons
    )


def describe(reasons: Iterable[KeptBy]) -> str:
    """A kept snapshot's reasons as a plan line says them: ``daily 1/7, weekly 1/4``."""
    return ", ".join(str(reason) for reason in reasons)


def _utc(times: Sequence[datetime]) -> list[datetime]:
    """``times`` in UTC; a naive time is refused, since its bucket would be a guess."""
    utc: list[datetime] = []
    for index, time in enumerate(times):
        if time.tzinfo is None or time.utcoffset() is None:
            raise ValueError(f"times[{index}] ({time.isoformat()}) has no time zone")
        utc.append(time.astimezone(timezone.utc))
    return utc


def _walk(rule: Rule, count: int, series: Sequence[datetime]) -> Iterable[tuple[int, KeptBy]]:
    """What one rule keeps of ``series`` (newest first): ``(position, reason)``."""
    bucket_of = _BUCKET[rule]
    last: tuple[int, ...] | None = None
    kept = 0
    for position, time in enumerate(series):
        if kept == count:
            return
        bucket = bucket_of(time)
        is_oldest = position == len(series) - 1
        if bucket != last or is_oldest:
            kept += 1
            yield position, KeptBy(rule, kept, count, oldest=bucket == last)
            last = bucket


def calendar_reasons(times: Sequence[datetime], policy: Retain) -> dict[int, tuple[KeptBy, ...]]:
    """The snapshots ``policy`` keeps, by their index in ``times``, each with the rules
    that keep it (shortest bucket first); newest first. A snapshot no rule keeps is not
    in the result.

    :raises ValueError: a time without a time zone, naming its index.
    """
    utc = _utc(times)
    # Newest first; sorted() is stable with reverse=True too, so equal times keep the
    # order they were given in (the first given is the newer), as restic's sort does.
    order = sorted(range(len(utc)), key=utc.__getitem__, reverse=True)
    series = [utc[index] for index in order]
    kept: dict[int, list[KeptBy]] = {}
    for rule, count in policy.counts().items():
        for position, reason in _walk(rule, count, series):
            kept.setdefault(position, []).append(reason)
    return {order[position]: tuple(kept[position]) for position in sorted(kept)}


def calendar_keep(times: Sequence[datetime], policy: Retain) -> frozenset[int]:
    """The indices in ``times`` of the snapshots ``policy`` keeps.

    :raises ValueError: a time without a time zone, naming its index.
    """
    return frozenset(calendar_reasons(times, policy))


# ------------------------------------------------------------------ the docs' example

EXAMPLE_POLICY = Retain(daily=7, weekly=4, monthly=6)
"""The policy of the docs' example."""
EXAMPLE_FIRST_RUN = datetime(2026, 1, 1, 4, 0, tzinfo=timezone.utc)
"""The first of the docs' example's daily runs (a Thursday)."""
EXAMPLE_RUNS = 90
"""How many daily runs the docs' example makes: 1 January to 31 March."""


def example_table(
    policy: Retain = EXAMPLE_POLICY,
    first: datetime = EXAMPLE_FIRST_RUN,
    runs: int = EXAMPLE_RUNS,
) -> str:
    """The docs' table (Markdown): which of ``runs`` daily snapshots, the first taken at
    ``first``, ``policy`` keeps after the last run, newest first, with why."""
    times = [first + timedelta(days=day) for day in range(runs)]
    reasons = calendar_reasons(times, policy)
    rows = [
        "| Snapshot (UTC) | ISO week | Kept by |",
        "|---|---|---|",
    ]
    for index, why in reasons.items():
        time = times[index]
        year, week, _ = time.isocalendar()
        rows.append(f"| {time:%a %Y-%m-%d %H:%M} | {year}-W{week:02} | {describe(why)} |")
    deleted = runs - len(reasons)
    rows.append("")
    rows.append(
        f"{len(reasons)} of the {runs} snapshots are kept; the other {deleted} are deleted."
    )
    return "\n".join(rows) + "\n"
