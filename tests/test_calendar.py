"""Calendar retention: restic's own expectations, the edges (ISO weeks, UTC, ties, the
oldest), the policy's checks, properties against the definition, and the docs' table."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from do_images._jobs._calendar import (
    RULES,
    KeptBy,
    Retain,
    Rule,
    calendar_keep,
    calendar_reasons,
    describe,
    example_table,
)
from restic_policy import CASES, SNAPSHOTS, Case, Kept

ROOT = Path(__file__).resolve().parents[1]
UTC = timezone.utc


def utc(text: str) -> datetime:
    """``2014-08-13 10:20:30.1`` (restic's test's way of writing a time) as UTC."""
    layout = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(text, layout).replace(tzinfo=UTC)


# ------------------------------------------------------------------ restic's expectations


def as_restic_says(policy: Retain) -> list[Kept]:
    """Our answer for restic's snapshots in the words of its golden files: each kept
    snapshot (time, tags, paths), its reasons (``daily snapshot``, ``oldest yearly
    snapshot``) and, per rule, the count left after it (restic leaves out a 0)."""
    taken = dict.fromkeys(RULES, 0)
    said = []
    times = [utc(time) for time, _, _ in SNAPSHOTS]
    for index, reasons in calendar_reasons(times, policy).items():
        for reason in reasons:
            taken[reason.rule] = reason.nth
        left = {rule: count - taken[rule] for rule, count in policy.counts().items()}
        matches = tuple(f"{'oldest ' if r.oldest else ''}{r.rule} snapshot" for r in reasons)
        said.append(Kept(*SNAPSHOTS[index], matches, {k: n for k, n in left.items() if n}))
    return said


@pytest.mark.parametrize("case", CASES, ids=[f"policy_keep_snapshots_{c.number}" for c in CASES])
def test_we_keep_what_restic_keeps(case: Case) -> None:
    """Each of restic's calendar policies keeps, of restic's snapshots, the same ones
    (told apart by time, tags and paths, as restic's golden file does) for the same
    reasons, with the same counts left after each."""
    assert as_restic_says(Retain(**case.policy)) == list(case.kept)


def test_every_calendar_policy_of_restic_is_transcribed() -> None:
    """The table holds restic's 12 calendar-only policies, its 103 snapshots, and a case
    where the oldest is kept: the transcription lost nothing it should have."""
    assert [case.number for case in CASES] == [0, 5, 6, 7, 8, 11, 12, 13, 14, 15, 16, 17]
    assert len(SNAPSHOTS) == 103
    assert any("oldest yearly snapshot" in kept.matches for case in CASES for kept in case.kept)


def test_restics_keep_daily_example() -> None:
    """The ``forget --keep-daily 5`` example of restic's manual (``doc/060_forget.rst``,
    by time: its ids of 25 April are swapped): with Wednesday missed, the five days reach
    back to the Friday before, and of a day's two snapshots the later is kept."""
    times = [
        "2025-04-21 11:00:00", "2025-04-22 11:00:00", "2025-04-23 11:00:00",
        "2025-04-24 11:00:00", "2025-04-25 11:00:00", "2025-04-25 23:00:00",
        "2025-04-28 11:00:00", "2025-04-29 11:00:00", "2025-05-01 11:00:00",
        "2025-05-02 11:00:00", "2025-05-02 23:00:00",
    ]  # fmt: skip
    kept = calendar_keep([utc(time) for time in times], Retain(daily=5))
    assert sorted(times[index] for index in kept) == [
        "2025-04-25 23:00:00", "2025-04-28 11:00:00", "2025-04-29 11:00:00",
        "2025-05-01 11:00:00", "2025-05-02 23:00:00",
    ]  # fmt: skip


# ------------------------------------------------------------------ the edges


def kept_times(times: Sequence[str], policy: Retain) -> list[str]:
    """The times (as given) of the snapshots ``policy`` keeps, newest first."""
    return [times[i] for i in calendar_reasons([utc(time) for time in times], policy)]


def test_a_week_across_new_year_is_one_iso_week() -> None:
    """Thursday 31 December 2020 and Sunday 3 January 2021 are both ISO week 2020-W53:
    the second week ``weekly = 2`` keeps is the one before, not 31 December."""
    times = ["2021-01-03 12:00:00", "2021-01-01 12:00:00", "2020-12-31 12:00:00",
             "2020-12-27 12:00:00", "2020-12-26 12:00:00"]  # fmt: skip
    assert kept_times(times, Retain(weekly=2)) == ["2021-01-03 12:00:00", "2020-12-27 12:00:00"]


def test_a_year_is_the_calendar_year_not_the_iso_year() -> None:
    """Friday 1 January 2021 is in ISO year 2020 but calendar year 2021: ``yearly = 2``
    keeps it for 2021 and 31 December 2020 for 2020."""
    times = ["2021-01-01 12:00:00", "2020-12-31 12:00:00", "2020-06-01 12:00:00"]
    assert kept_times(times, Retain(yearly=2)) == times[:2]


def test_days_are_utc_days() -> None:
    """00:30 at UTC+2 on 11 March is 22:30 UTC on 10 March: the same day as 23:30 UTC, so
    ``daily = 2`` keeps the 10th's newest and the 9th, not the +02:00 one."""
    plus_two = timezone(timedelta(hours=2))
    times = [
        datetime(2026, 3, 10, 23, 30, tzinfo=UTC),
        datetime(2026, 3, 11, 0, 30, tzinfo=plus_two),
        datetime(2026, 3, 9, 12, 0, tzinfo=UTC),
    ]
    assert calendar_keep(times, Retain(daily=2)) == {0, 2}


def test_a_naive_time_is_refused() -> None:
    """A time without a zone has no UTC day: refused, naming its index."""
    times = [datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 3, 9)]
    with pytest.raises(ValueError, match=r"times\[1\] \(2026-03-09T00:00:00\) has no time zone"):
        calendar_keep(times, Retain(daily=1))


def test_of_equal_times_the_first_given_counts_as_newer() -> None:
    """Two snapshots at one time: the rule keeps the one given first, whichever that is
    (restic's stable sort), and the other only as the oldest."""
    same = datetime(2026, 3, 10, 4, tzinfo=UTC)
    older = datetime(2026, 3, 9, 4, tzinfo=UTC)
    assert calendar_keep([older, same, same], Retain(daily=2)) == {0, 1}
    reasons = calendar_reasons([same, same], Retain(daily=2))
    assert reasons == {
        0: (KeptBy("daily", 1, 2),),
        1: (KeptBy("daily", 2, 2, oldest=True),),
    }


def test_the_oldest_is_kept_while_a_rule_has_fewer_buckets_than_its_count() -> None:
    """Three days with two snapshots each, ``daily = 5``: the newest of each day, and the
    oldest too, marked so, and counted against the five."""
    times = ["2026-03-12 18:00:00", "2026-03-12 06:00:00", "2026-03-11 18:00:00",
             "2026-03-11 06:00:00", "2026-03-10 18:00:00", "2026-03-10 06:00:00"]  # fmt: skip
    reasons = calendar_reasons([utc(time) for time in times], Retain(daily=5))
    assert [describe(why) for why in reasons.values()] == [
        "daily 1/5", "daily 2/5", "daily 3/5", "daily 4/5 (oldest)",
    ]  # fmt: skip
    assert list(reasons) == [0, 2, 4, 5]


def test_the_oldest_is_not_kept_when_the_buckets_fill_the_count() -> None:
    """The same three days, ``daily = 3``: the count is spent on the three days, so the
    oldest goes."""
    times = ["2026-03-12 18:00:00", "2026-03-12 06:00:00", "2026-03-11 18:00:00",
             "2026-03-11 06:00:00", "2026-03-10 18:00:00", "2026-03-10 06:00:00"]  # fmt: skip
    assert kept_times(times, Retain(daily=3)) == [times[0], times[2], times[4]]


def test_no_snapshots_keep_nothing() -> None:
    """An empty series has nothing to keep, whatever the policy."""
    assert calendar_reasons([], Retain(hourly=3, yearly=2)) == {}


# ------------------------------------------------------------------ the policy


@pytest.mark.parametrize("bad", [-1, True, 1.5, "7", None])
@pytest.mark.parametrize("rule", RULES)
def test_a_count_is_a_whole_number_at_least_0(rule: Rule, bad: object) -> None:
    """A negative, boolean, fractional, text or missing count is refused, naming its key."""
    with pytest.raises(ValueError, match=rf"^retain\.{rule} must be a whole number >= 0, not "):
        Retain.from_mapping({rule: bad})


def test_an_unknown_key_is_named() -> None:
    """A key that is no rule (a typo, or restic's ``last``) is refused, naming it and the
    keys there are."""
    with pytest.raises(ValueError, match="retain has no key 'dayly': it takes hourly, daily,"):
        Retain.from_mapping({"dayly": 7, "weekly": 4})


def test_a_key_left_out_is_0() -> None:
    """A table gives its counts; the rules it leaves out are off, and so listed nowhere."""
    policy = Retain.from_mapping({"daily": 7, "monthly": 6})
    assert policy == Retain(daily=7, monthly=6)
    assert policy.counts() == {"daily": 7, "monthly": 6}
    assert str(policy) == "{daily = 7, monthly = 6}"


def test_reasons_read_as_a_plan_line() -> None:
    """A snapshot's reasons read ``daily 1/7, weekly 1/4``; one kept as the oldest says so."""
    assert describe([KeptBy("daily", 1, 7), KeptBy("weekly", 1, 4)]) == "daily 1/7, weekly 1/4"
    assert str(KeptBy("monthly", 4, 6, oldest=True)) == "monthly 4/6 (oldest)"


# ------------------------------------------------------------------ properties

NEWEST = [
    datetime(2021, 1, 5, tzinfo=UTC),  # ISO week 2020-W53 ran from 28 December to 3 January
    datetime(2027, 1, 5, 23, 0, tzinfo=UTC),  # and 2026-W53 from 28 December to 3 January
    datetime(2024, 3, 2, 22, 0, tzinfo=UTC),  # a leap day behind
    datetime(2026, 4, 1, 4, 0, tzinfo=UTC),
]
UNITS = [timedelta(minutes=17), timedelta(hours=5), timedelta(days=1), timedelta(days=5),
         timedelta(days=29)]  # fmt: skip
ZONES = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]


@st.composite
def series(draw: st.DrawFn) -> list[datetime]:
    """A series of snapshot times: steps of one size back from a newest time (so buckets
    fill, some times repeat, and the rules soon reach New Year or a leap day), over a
    short or a long span, each written in one of several zones."""
    newest, unit = draw(st.sampled_from(NEWEST)), draw(st.sampled_from(UNITS))
    span = draw(st.sampled_from([15, 60, 300]))
    steps = draw(st.lists(st.integers(0, span), max_size=40))
    return [(newest - unit * step).astimezone(draw(st.sampled_from(ZONES))) for step in steps]


policies = st.builds(Retain, **{rule: st.integers(0, 8) for rule in RULES})

BY_DEFINITION: dict[Rule, str] = {
    "hourly": "%Y-%m-%d %H",
    "daily": "%Y-%m-%d",
    "weekly": "%G-W%V",
    "monthly": "%Y-%m",
    "yearly": "%Y",
}
"""Each rule's period as ``strftime`` names it, for the definition below."""


def by_definition(times: Sequence[datetime], rule: Rule, count: int) -> set[int]:
    """What API.md says one rule keeps, written as a definition, not a walk: the newest
    snapshot of each of the ``count`` newest periods that have one, and the oldest snapshot
    if there are fewer periods than ``count`` (of equal times the first given is newer)."""
    order = sorted(range(len(times)), key=lambda i: (-times[i].timestamp(), i))
    newest_of: dict[str, int] = {}
    for index in order:
        newest_of.setdefault(times[index].astimezone(UTC).strftime(BY_DEFINITION[rule]), index)
    kept = set(list(newest_of.values())[:count])
    if order and len(newest_of) < count:
        kept.add(order[-1])
    return kept


@settings(max_examples=300)
@given(series(), policies)
def test_each_rule_keeps_what_the_definition_says(times: list[datetime], policy: Retain) -> None:
    """Per rule, the snapshots it keeps are those the definition gives, numbered 1 to m
    newest first; so a rule keeps at most its count, the oldest included, and what is kept
    is some of what was given."""
    reasons = calendar_reasons(times, policy)
    assert set(reasons) <= set(range(len(times)))
    for rule in RULES:
        count = getattr(policy, rule)
        mine = [(index, r) for index, why in reasons.items() for r in why if r.rule == rule]
        assert {index for index, _ in mine} == by_definition(times, rule, count)
        assert [r.nth for _, r in mine] == list(range(1, len(mine) + 1))
        assert all(r.count == count for _, r in mine)
        assert len(mine) <= count


@given(series(), policies, st.sampled_from(RULES))
def test_raising_a_count_drops_nothing(times: list[datetime], policy: Retain, rule: Rule) -> None:
    """Raising one rule's count, one at a time from 0 to 12, keeps everything that was
    kept before."""
    before = calendar_keep(times, Retain(**{**policy.counts(), rule: 0}))
    for count in range(1, 13):
        after = calendar_keep(times, Retain(**{**policy.counts(), rule: count}))
        assert before <= after, count
        before = after


@given(series())
def test_a_policy_of_zeros_keeps_nothing(times: list[datetime]) -> None:
    """All counts 0 keep nothing (the fleet's ``keep_min`` floor is not this rule's)."""
    assert calendar_keep(times, Retain()) == frozenset()


@given(series().filter(bool), policies)
def test_the_newest_is_kept_by_every_rule_that_is_on(times: list[datetime], policy: Retain) -> None:
    """The newest snapshot (of equal ones, the first given) is every rule's first."""
    newest = max(range(len(times)), key=lambda i: (times[i], -i))
    assert calendar_reasons(times, policy).get(newest, ()) == tuple(
        KeptBy(rule, 1, count) for rule, count in policy.counts().items()
    )


@given(st.data(), series(), policies)
def test_the_order_given_does_not_change_what_is_kept(
    data: st.DataObject, times: list[datetime], policy: Retain
) -> None:
    """Shuffled, the series keeps the same times (of equal times, maybe another one), and
    in another zone it keeps the very same snapshots."""
    shuffled = data.draw(st.permutations(times))
    kept = sorted(times[i] for i in calendar_keep(times, policy))
    assert sorted(shuffled[i] for i in calendar_keep(shuffled, policy)) == kept
    zone = data.draw(st.sampled_from(ZONES))
    elsewhere = [time.astimezone(zone) for time in times]
    assert calendar_keep(elsewhere, policy) == calendar_keep(times, policy)


# ------------------------------------------------------------------ the docs' table


def load_tool() -> ModuleType:
    """``tools/calendar_table.py`` as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location(
        "calendar_table", ROOT / "tools" / "calendar_table.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_table_is_what_the_rule_keeps() -> None:
    """The table on the scheduled snapshots page is the one the rule gives for 90 daily
    runs under ``{daily = 7, weekly = 4, monthly = 6}`` (``python tools/calendar_table.py``
    rewrites it)."""
    page = (ROOT / "docs" / "scheduled-snapshots.md").read_text("utf-8")
    start = page.index("<!-- calendar-table: start")
    start = page.index("\n", start) + 1
    end = page.index("<!-- calendar-table: end -->")
    assert page[start:end] == example_table()


def test_the_docs_table_keeps_twelve_of_ninety() -> None:
    """The example shows each rule at work: seven dailies, four weeklies (one shared), and
    a monthly rule that, with three months for six, keeps the oldest too."""
    table = example_table()
    assert "12 of the 90 snapshots are kept; the other 78 are deleted." in table
    assert "| Thu 2026-01-01 04:00 | 2026-W01 | monthly 4/6 (oldest) |" in table
    assert "| Tue 2026-03-31 04:00 | 2026-W14 | daily 1/7, weekly 1/4, monthly 1/6 |" in table


def test_the_table_tool_rewrites_a_stale_table() -> None:
    """The tool puts the rule's table between the markers and leaves the rest; a page
    without one pair of markers is refused."""
    tool = load_tool()
    page = (
        "# Title\n\n<!-- calendar-table: start (generated) -->\nold\n"
        "<!-- calendar-table: end -->\nafter\n"
    )
    assert tool.with_table(page, "new\n") == page.replace("old\n", "new\n")
    with pytest.raises(ValueError, match="0 calendar-table sections"):
        tool.with_table("# Title\n", "new\n")
    current = tool.PAGE.read_text("utf-8")
    assert tool.with_table(current, example_table()) == current
