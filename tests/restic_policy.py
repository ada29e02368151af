"""restic's expectations for its ``forget`` policy, transcribed for the calendar rules.

Transcribed once (by a throwaway script, its output read against the files) from restic
at commit ``a80be1478a4c537f8396e0db2b05120aa78f11e0``: the snapshot list and the policies of
``TestApplyPolicy`` in ``internal/data/snapshot_policy_test.go`` and, for each policy
kept here, its golden file ``internal/data/testdata/policy_keep_snapshots_N`` (the
snapshots kept, newest first, each with restic's reasons and the counts left after it).
The data is frozen: it is restic's answer, not ours.

``SNAPSHOTS`` is restic's list in its order (times UTC, as restic's test writes them;
tags and paths space-separated, since restic tells its five snapshots of
2015-10-22 10:20:30 apart by them). ``CASES`` holds the 12 of restic's 40 policies that
use only ``Hourly``, ``Daily``, ``Weekly``, ``Monthly`` and ``Yearly`` with counts
>= 0 (policy 0, the empty one, among them). The other 28 are left out:

- 1-4, 9, 10 use ``Last`` (keep the n newest): ``retain`` has no such rule, the
  fleet's ``keep`` is that, and the two are not combined;
- 18-20 use ``Tags`` (keep what carries a tag): the fleet's ``protect_tags`` does that,
  outside the buckets (a protected snapshot fills none);
- 21-35 use ``Within`` and ``Within{Hourly,...,Yearly}`` (durations back from the newest
  snapshot): the fleet has ``max_age`` instead, which deletes rather than keeps;
- 36-39 use the count -1 (restic's ``unlimited``): a ``retain`` count is >= 0.
"""

from __future__ import annotations

from typing import NamedTuple

COMMIT = "a80be1478a4c537f8396e0db2b05120aa78f11e0"
"""The restic commit these were read from."""


class Kept(NamedTuple):
    """One snapshot restic keeps: which (time, tags, paths), why, and the counts left."""

    time: str
    tags: str
    paths: str
    matches: tuple[str, ...]
    counters: dict[str, int]


class Case(NamedTuple):
    """One of restic's policies (by its golden file's number) and what it keeps."""

    number: int
    policy: dict[str, int]
    kept: tuple[Kept, ...]


SNAPSHOTS: tuple[tuple[str, str, str], ...] = (
    ("2014-09-01 10:20:30", "", ""),
    ("2014-09-02 10:20:30", "", ""),
    ("2014-09-05 10:20:30", "", ""),
    ("2014-09-06 10:20:30", "", ""),
    ("2014-09-08 10:20:30", "", ""),
    ("2014-09-09 10:20:30", "", ""),
    ("2014-09-10 10:20:30", "", ""),
    ("2014-09-11 10:20:30", "", ""),
    ("2014-09-20 10:20:30", "", ""),
    ("2014-09-22 10:20:30", "", ""),
    ("2014-08-08 10:20:30", "", ""),
    ("2014-08-10 10:20:30", "", ""),
    ("2014-08-12 10:20:30", "", ""),
    ("2014-08-13 10:20:30", "", ""),
    ("2014-08-13 10:20:30.1", "", ""),
    ("2014-08-15 10:20:30", "", ""),
    ("2014-08-18 10:20:30", "", ""),
    ("2014-08-20 10:20:30", "", ""),
    ("2014-08-21 10:20:30", "", ""),
    ("2014-08-22 10:20:30", "", ""),
    ("2014-10-01 10:20:30", "foo", ""),
    ("2014-10-02 10:20:30", "foo", ""),
    ("2014-10-05 10:20:30", "foo", ""),
    ("2014-10-06 10:20:30", "foo", ""),
    ("2014-10-08 10:20:30", "foo", ""),
    ("2014-10-09 10:20:30", "foo", ""),
    ("2014-10-10 10:20:30", "foo", ""),
    ("2014-10-11 10:20:30", "foo", ""),
    ("2014-10-20 10:20:30", "foo", ""),
    ("2014-10-22 10:20:30", "foo", ""),
    ("2014-11-08 10:20:30", "foo", ""),
    ("2014-11-10 10:20:30", "foo", ""),
    ("2014-11-12 10:20:30", "foo", ""),
    ("2014-11-13 10:20:30", "foo", ""),
    ("2014-11-13 10:20:30.1", "bar", ""),
    ("2014-11-15 10:20:30", "foo bar", ""),
    ("2014-11-18 10:20:30", "", ""),
    ("2014-11-20 10:20:30", "", ""),
    ("2014-11-21 10:20:30", "", ""),
    ("2014-11-22 10:20:30", "", ""),
    ("2015-09-01 10:20:30", "", ""),
    ("2015-09-02 10:20:30", "", ""),
    ("2015-09-05 10:20:30", "", ""),
    ("2015-09-06 10:20:30", "", ""),
    ("2015-09-08 10:20:30", "", ""),
    ("2015-09-09 10:20:30", "", ""),
    ("2015-09-10 10:20:30", "", ""),
    ("2015-09-11 10:20:30", "", ""),
    ("2015-09-20 10:20:30", "", ""),
    ("2015-09-22 10:20:30", "", ""),
    ("2015-08-08 10:20:30", "", ""),
    ("2015-08-10 10:20:30", "", ""),
    ("2015-08-12 10:20:30", "", ""),
    ("2015-08-13 10:20:30", "", ""),
    ("2015-08-13 10:20:30.1", "", ""),
    ("2015-08-15 10:20:30", "", ""),
    ("2015-08-18 10:20:30", "", ""),
    ("2015-08-20 10:20:30", "", ""),
    ("2015-08-21 10:20:30", "", ""),
    ("2015-08-22 10:20:30", "", ""),
    ("2015-10-01 10:20:30", "", ""),
    ("2015-10-02 10:20:30", "", ""),
    ("2015-10-05 10:20:30", "", ""),
    ("2015-10-06 10:20:30", "", ""),
    ("2015-10-08 10:20:30", "", ""),
    ("2015-10-09 10:20:30", "", ""),
    ("2015-10-10 10:20:30", "", ""),
    ("2015-10-11 10:20:30", "", ""),
    ("2015-10-20 10:20:30", "", ""),
    ("2015-10-22 10:20:30", "", ""),
    ("2015-10-22 10:20:30", "", ""),
    ("2015-10-22 10:20:30", "foo bar", ""),
    ("2015-10-22 10:20:30", "foo bar", ""),
    ("2015-10-22 10:20:30", "foo bar", "path1 path2"),
    ("2015-11-08 10:20:30", "", ""),
    ("2015-11-10 10:20:30", "", ""),
    ("2015-11-12 10:20:30", "", ""),
    ("2015-11-13 10:20:30", "", ""),
    ("2015-11-13 10:20:30.1", "", ""),
    ("2015-11-15 10:20:30", "", ""),
    ("2015-11-18 10:20:30", "", ""),
    ("2015-11-20 10:20:30", "", ""),
    ("2015-11-21 10:20:30", "", ""),
    ("2015-11-22 10:20:30", "", ""),
    ("2016-01-01 01:02:03", "", ""),
    ("2016-01-01 01:03:03", "", ""),
    ("2016-01-01 07:08:03", "", ""),
    ("2016-01-03 07:02:03", "", ""),
    ("2016-01-04 10:23:03", "", ""),
    ("2016-01-04 11:23:03", "", ""),
    ("2016-01-04 12:23:03", "", ""),
    ("2016-01-04 12:24:03", "", ""),
    ("2016-01-04 12:28:03", "", ""),
    ("2016-01-04 12:30:03", "", ""),
    ("2016-01-04 16:23:03", "", ""),
    ("2016-01-05 09:02:03", "", ""),
    ("2016-01-06 08:02:03", "", ""),
    ("2016-01-07 10:02:03", "", ""),
    ("2016-01-08 20:02:03", "", ""),
    ("2016-01-09 21:02:03", "", ""),
    ("2016-01-12 21:02:03", "", ""),
    ("2016-01-12 21:08:03", "", ""),
    ("2016-01-18 12:02:03", "", ""),
)
"""restic's ``testExpireSnapshots``: ``(time, tags, paths)``, in restic's order."""

CASES: tuple[Case, ...] = (
    Case(0, {}, ()),
    Case(
        5,
        {"hourly": 20},
        (
            Kept("2016-01-18 12:02:03", "", "", ("hourly snapshot",), {"hourly": 19}),
            Kept("2016-01-12 21:08:03", "", "", ("hourly snapshot",), {"hourly": 18}),
            Kept("2016-01-09 21:02:03", "", "", ("hourly snapshot",), {"hourly": 17}),
            Kept("2016-01-08 20:02:03", "", "", ("hourly snapshot",), {"hourly": 16}),
            Kept("2016-01-07 10:02:03", "", "", ("hourly snapshot",), {"hourly": 15}),
            Kept("2016-01-06 08:02:03", "", "", ("hourly snapshot",), {"hourly": 14}),
            Kept("2016-01-05 09:02:03", "", "", ("hourly snapshot",), {"hourly": 13}),
            Kept("2016-01-04 16:23:03", "", "", ("hourly snapshot",), {"hourly": 12}),
            Kept("2016-01-04 12:30:03", "", "", ("hourly snapshot",), {"hourly": 11}),
            Kept("2016-01-04 11:23:03", "", "", ("hourly snapshot",), {"hourly": 10}),
            Kept("2016-01-04 10:23:03", "", "", ("hourly snapshot",), {"hourly": 9}),
            Kept("2016-01-03 07:02:03", "", "", ("hourly snapshot",), {"hourly": 8}),
            Kept("2016-01-01 07:08:03", "", "", ("hourly snapshot",), {"hourly": 7}),
            Kept("2016-01-01 01:03:03", "", "", ("hourly snapshot",), {"hourly": 6}),
            Kept("2015-11-22 10:20:30", "", "", ("hourly snapshot",), {"hourly": 5}),
            Kept("2015-11-21 10:20:30", "", "", ("hourly snapshot",), {"hourly": 4}),
            Kept("2015-11-20 10:20:30", "", "", ("hourly snapshot",), {"hourly": 3}),
            Kept("2015-11-18 10:20:30", "", "", ("hourly snapshot",), {"hourly": 2}),
            Kept("2015-11-15 10:20:30", "", "", ("hourly snapshot",), {"hourly": 1}),
            Kept("2015-11-13 10:20:30.1", "", "", ("hourly snapshot",), {}),
        ),
    ),
    Case(
        6,
        {"daily": 3},
        (
            Kept("2016-01-18 12:02:03", "", "", ("daily snapshot",), {"daily": 2}),
            Kept("2016-01-12 21:08:03", "", "", ("daily snapshot",), {"daily": 1}),
            Kept("2016-01-09 21:02:03", "", "", ("daily snapshot",), {}),
        ),
    ),
    Case(
        7,
        {"daily": 10},
        (
            Kept("2016-01-18 12:02:03", "", "", ("daily snapshot",), {"daily": 9}),
            Kept("2016-01-12 21:08:03", "", "", ("daily snapshot",), {"daily": 8}),
            Kept("2016-01-09 21:02:03", "", "", ("daily snapshot",), {"daily": 7}),
            Kept("2016-01-08 20:02:03", "", "", ("daily snapshot",), {"daily": 6}),
            Kept("2016-01-07 10:02:03", "", "", ("daily snapshot",), {"daily": 5}),
            Kept("2016-01-06 08:02:03", "", "", ("daily snapshot",), {"daily": 4}),
            Kept("2016-01-05 09:02:03", "", "", ("daily snapshot",), {"daily": 3}),
            Kept("2016-01-04 16:23:03", "", "", ("daily snapshot",), {"daily": 2}),
            Kept("2016-01-03 07:02:03", "", "", ("daily snapshot",), {"daily": 1}),
            Kept("2016-01-01 07:08:03", "", "", ("daily snapshot",), {}),
        ),
    ),
    Case(
        8,
        {"daily": 30},
        (
            Kept("2016-01-18 12:02:03", "", "", ("daily snapshot",), {"daily": 29}),
            Kept("2016-01-12 21:08:03", "", "", ("daily snapshot",), {"daily": 28}),
            Kept("2016-01-09 21:02:03", "", "", ("daily snapshot",), {"daily": 27}),
            Kept("2016-01-08 20:02:03", "", "", ("daily snapshot",), {"daily": 26}),
            Kept("2016-01-07 10:02:03", "", "", ("daily snapshot",), {"daily": 25}),
            Kept("2016-01-06 08:02:03", "", "", ("daily snapshot",), {"daily": 24}),
            Kept("2016-01-05 09:02:03", "", "", ("daily snapshot",), {"daily": 23}),
            Kept("2016-01-04 16:23:03", "", "", ("daily snapshot",), {"daily": 22}),
            Kept("2016-01-03 07:02:03", "", "", ("daily snapshot",), {"daily": 21}),
            Kept("2016-01-01 07:08:03", "", "", ("daily snapshot",), {"daily": 20}),
            Kept("2015-11-22 10:20:30", "", "", ("daily snapshot",), {"daily": 19}),
            Kept("2015-11-21 10:20:30", "", "", ("daily snapshot",), {"daily": 18}),
            Kept("2015-11-20 10:20:30", "", "", ("daily snapshot",), {"daily": 17}),
            Kept("2015-11-18 10:20:30", "", "", ("daily snapshot",), {"daily": 16}),
            Kept("2015-11-15 10:20:30", "", "", ("daily snapshot",), {"daily": 15}),
            Kept("2015-11-13 10:20:30.1", "", "", ("daily snapshot",), {"daily": 14}),
            Kept("2015-11-12 10:20:30", "", "", ("daily snapshot",), {"daily": 13}),
            Kept("2015-11-10 10:20:30", "", "", ("daily snapshot",), {"daily": 12}),
            Kept("2015-11-08 10:20:30", "", "", ("daily snapshot",), {"daily": 11}),
            Kept("2015-10-22 10:20:30", "", "", ("daily snapshot",), {"daily": 10}),
            Kept("2015-10-20 10:20:30", "", "", ("daily snapshot",), {"daily": 9}),
            Kept("2015-10-11 10:20:30", "", "", ("daily snapshot",), {"daily": 8}),
            Kept("2015-10-10 10:20:30", "", "", ("daily snapshot",), {"daily": 7}),
            Kept("2015-10-09 10:20:30", "", "", ("daily snapshot",), {"daily": 6}),
            Kept("2015-10-08 10:20:30", "", "", ("daily snapshot",), {"daily": 5}),
            Kept("2015-10-06 10:20:30", "", "", ("daily snapshot",), {"daily": 4}),
            Kept("2015-10-05 10:20:30", "", "", ("daily snapshot",), {"daily": 3}),
            Kept("2015-10-02 10:20:30", "", "", ("daily snapshot",), {"daily": 2}),
            Kept("2015-10-01 10:20:30", "", "", ("daily snapshot",), {"daily": 1}),
            Kept("2015-09-22 10:20:30", "", "", ("daily snapshot",), {}),
        ),
    ),
    Case(
        11,
        {"weekly": 2},
        (
            Kept("2016-01-18 12:02:03", "", "", ("weekly snapshot",), {"weekly": 1}),
            Kept("2016-01-12 21:08:03", "", "", ("weekly snapshot",), {}),
        ),
    ),
    Case(
        12,
        {"weekly": 4},
        (
            Kept("2016-01-18 12:02:03", "", "", ("weekly snapshot",), {"weekly": 3}),
            Kept("2016-01-12 21:08:03", "", "", ("weekly snapshot",), {"weekly": 2}),
            Kept("2016-01-09 21:02:03", "", "", ("weekly snapshot",), {"weekly": 1}),
            Kept("2016-01-03 07:02:03", "", "", ("weekly snapshot",), {}),
        ),
    ),
    Case(
        13,
        {"daily": 3, "weekly": 4},
        (
            Kept(
                "2016-01-18 12:02:03",
                "",
                "",
                ("daily snapshot", "weekly snapshot"),
                {"daily": 2, "weekly": 3},
            ),
            Kept(
                "2016-01-12 21:08:03",
                "",
                "",
                ("daily snapshot", "weekly snapshot"),
                {"daily": 1, "weekly": 2},
            ),
            Kept(
                "2016-01-09 21:02:03", "", "", ("daily snapshot", "weekly snapshot"), {"weekly": 1}
            ),
            Kept("2016-01-03 07:02:03", "", "", ("weekly snapshot",), {}),
        ),
    ),
    Case(
        14,
        {"monthly": 6},
        (
            Kept("2016-01-18 12:02:03", "", "", ("monthly snapshot",), {"monthly": 5}),
            Kept("2015-11-22 10:20:30", "", "", ("monthly snapshot",), {"monthly": 4}),
            Kept("2015-10-22 10:20:30", "", "", ("monthly snapshot",), {"monthly": 3}),
            Kept("2015-09-22 10:20:30", "", "", ("monthly snapshot",), {"monthly": 2}),
            Kept("2015-08-22 10:20:30", "", "", ("monthly snapshot",), {"monthly": 1}),
            Kept("2014-11-22 10:20:30", "", "", ("monthly snapshot",), {}),
        ),
    ),
    Case(
        15,
        {"daily": 2, "weekly": 2, "monthly": 6},
        (
            Kept(
                "2016-01-18 12:02:03",
                "",
                "",
                ("daily snapshot", "weekly snapshot", "monthly snapshot"),
                {"daily": 1, "weekly": 1, "monthly": 5},
            ),
            Kept(
                "2016-01-12 21:08:03", "", "", ("daily snapshot", "weekly snapshot"), {"monthly": 5}
            ),
            Kept("2015-11-22 10:20:30", "", "", ("monthly snapshot",), {"monthly": 4}),
            Kept("2015-10-22 10:20:30", "", "", ("monthly snapshot",), {"monthly": 3}),
            Kept("2015-09-22 10:20:30", "", "", ("monthly snapshot",), {"monthly": 2}),
            Kept("2015-08-22 10:20:30", "", "", ("monthly snapshot",), {"monthly": 1}),
            Kept("2014-11-22 10:20:30", "", "", ("monthly snapshot",), {}),
        ),
    ),
    Case(
        16,
        {"yearly": 10},
        (
            Kept("2016-01-18 12:02:03", "", "", ("yearly snapshot",), {"yearly": 9}),
            Kept("2015-11-22 10:20:30", "", "", ("yearly snapshot",), {"yearly": 8}),
            Kept("2014-11-22 10:20:30", "", "", ("yearly snapshot",), {"yearly": 7}),
            Kept("2014-08-08 10:20:30", "", "", ("oldest yearly snapshot",), {"yearly": 6}),
        ),
    ),
    Case(
        17,
        {"daily": 7, "weekly": 2, "monthly": 3, "yearly": 10},
        (
            Kept(
                "2016-01-18 12:02:03",
                "",
                "",
                ("daily snapshot", "weekly snapshot", "monthly snapshot", "yearly snapshot"),
                {"daily": 6, "weekly": 1, "monthly": 2, "yearly": 9},
            ),
            Kept(
                "2016-01-12 21:08:03",
                "",
                "",
                ("daily snapshot", "weekly snapshot"),
                {"daily": 5, "monthly": 2, "yearly": 9},
            ),
            Kept(
                "2016-01-09 21:02:03",
                "",
                "",
                ("daily snapshot",),
                {"daily": 4, "monthly": 2, "yearly": 9},
            ),
            Kept(
                "2016-01-08 20:02:03",
                "",
                "",
                ("daily snapshot",),
                {"daily": 3, "monthly": 2, "yearly": 9},
            ),
            Kept(
                "2016-01-07 10:02:03",
                "",
                "",
                ("daily snapshot",),
                {"daily": 2, "monthly": 2, "yearly": 9},
            ),
            Kept(
                "2016-01-06 08:02:03",
                "",
                "",
                ("daily snapshot",),
                {"daily": 1, "monthly": 2, "yearly": 9},
            ),
            Kept("2016-01-05 09:02:03", "", "", ("daily snapshot",), {"monthly": 2, "yearly": 9}),
            Kept(
                "2015-11-22 10:20:30",
                "",
                "",
                ("monthly snapshot", "yearly snapshot"),
                {"monthly": 1, "yearly": 8},
            ),
            Kept("2015-10-22 10:20:30", "", "", ("monthly snapshot",), {"yearly": 8}),
            Kept("2014-11-22 10:20:30", "", "", ("yearly snapshot",), {"yearly": 7}),
            Kept("2014-08-08 10:20:30", "", "", ("oldest yearly snapshot",), {"yearly": 6}),
        ),
    ),
)
"""restic's calendar-only policies, each with what its golden file keeps."""
