"""Calendar retention in the fleet: ``retain`` in the file, for select and source groups,
applied by the rule through ``calendar_keep``, with ``max_age``, ``keep_min`` and
``protect_tags`` on top, and recorded in the plan document. Tables, no HTTP."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from do_images import FleetError, Image
from do_images._jobs._calendar import (
    EXAMPLE_FIRST_RUN,
    EXAMPLE_RUNS,
    Retain,
    calendar_keep,
    example_table,
)
from do_images.fleet import Fleet, FleetPlan, plan_images
from fleet_rule_support import NOW, actions, droplet, fleet_plan, owned, plan, snap, source_fleet


def select_fleet(**group: Any) -> Fleet:
    """One select group ``web`` taking every snapshot, with ``group``'s keys."""
    return Fleet.from_dict({"version": 1, "group": [{"name": "web", "select": {}, **group}]})


def daily(image_id: int, days: float, **more: Any) -> Image:
    """A snapshot made ``days`` before ``NOW`` (a Friday, 04:00 UTC)."""
    return snap(image_id, f"img-{image_id}", hours=24 * days, **more)


def fates(verdicts: Any) -> dict[int, str]:
    """Each image's verdict."""
    return {
        e.image_id: e.action
        for e in verdicts.entries
        if e.image_id is not None and e.action not in ("transfer", "tag")
    }


def reasons(verdicts: Any) -> dict[int, str]:
    """Each image's verdict and reason."""
    return {
        e.image_id: f"{e.action}: {e.reason}"
        for e in verdicts.entries
        if e.image_id is not None and e.action not in ("transfer", "tag")
    }


# ------------------------------------------------------------------ the file


@pytest.mark.parametrize("kind", ["select", "source"])
def test_retain_is_read_for_either_kind_of_group(kind: str) -> None:
    """A select group and a source group both take ``retain``, as ``Retain``."""
    fleet = (
        select_fleet(retain={"daily": 7, "weekly": 4})
        if kind == "select"
        else source_fleet(retain={"daily": 7, "weekly": 4})
    )
    (group,) = fleet.groups
    assert group.retain == Retain(daily=7, weekly=4)
    assert group.keep is None
    assert group.policy.retain == Retain(daily=7, weekly=4)


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ({"keep": 3, "retain": {"daily": 7}}, "group 'web': keep and retain say the same"),
        ({"retain": {"daily": 0}}, r"group 'web': retain keeps nothing .*at least one count"),
        ({"retain": {"daily": 0, "weekly": 0}}, "group 'web': retain keeps nothing"),
        ({"retain": {"hourly": -1}}, "group 'web': retain.hourly must be a whole number >= 0"),
        ({"retain": {"daily": 1.5}}, "group 'web': retain.daily must be a whole number"),
        ({"retain": {"daily": True}}, "group 'web': retain.daily must be a whole number"),
        ({"retain": {"days": 3}}, "group 'web': retain has no key 'days'"),
    ],
)
@pytest.mark.parametrize("kind", ["select", "source"])
def test_retain_mistakes_name_the_group(kind: str, group: dict[str, Any], message: str) -> None:
    """``keep`` with ``retain``, a policy of all zeros, or a bad count: a ``FleetError``
    naming the group, for either kind of group."""
    with pytest.raises(FleetError, match=message):
        select_fleet(**group) if kind == "select" else source_fleet(**group)


def test_retain_does_not_need_keep_min_below_a_count() -> None:
    """``keep_min`` is a floor of its own: ``retain = {daily = 1}`` with ``keep_min = 3`` is
    a policy (the floor keeps three)."""
    (group,) = select_fleet(retain={"daily": 1}, keep_min=3).groups
    assert (group.retain, group.keep_min) == (Retain(daily=1), 3)


# ------------------------------------------------------------------ select groups

# NOW is Friday 2026-12-04 04:00 UTC; "days" back from it.
SELECT_CASES: dict[str, tuple[dict[str, Any], list[Image], dict[int, str]]] = {
    "daily-keeps-the-newest-of-each-day": (
        {"retain": {"daily": 2}},
        [daily(1, 0.1), daily(2, 0.05), daily(3, 1), daily(4, 1.1), daily(5, 2)],
        {2: "keep", 1: "delete", 3: "keep", 4: "delete", 5: "delete"},
    ),
    "fewer-days-than-the-count-keeps-the-oldest": (
        {"retain": {"daily": 5}},
        [daily(1, 0), daily(2, 0.1), daily(3, 0.15)],
        {1: "keep", 2: "delete", 3: "keep"},
    ),
    "weekly-keeps-the-newest-of-each-iso-week": (
        # Fri 12-04, Mon 11-30 (week 49), Sun 11-29, Wed 11-25 (week 48), Sun 11-22 (47).
        {"retain": {"weekly": 2}},
        [daily(1, 0), daily(2, 4), daily(3, 5), daily(4, 9), daily(5, 12)],
        {1: "keep", 2: "delete", 3: "keep", 4: "delete", 5: "delete"},
    ),
    "rules-keep-the-union": (
        {"retain": {"daily": 2, "monthly": 2}},
        [daily(1, 0), daily(2, 1), daily(3, 2), daily(4, 5), daily(5, 40)],
        {1: "keep", 2: "keep", 3: "delete", 4: "keep", 5: "delete"},
    ),
    "protected-fill-no-bucket": (
        {"retain": {"daily": 1}, "protect_tags": ["golden"]},
        [daily(1, 0, tags=("golden",)), daily(2, 0.1), daily(3, 1)],
        {1: "protected", 2: "keep", 3: "delete"},
    ),
    "max-age-deletes-what-a-rule-keeps": (
        {"retain": {"monthly": 6}, "max_age": "30d"},
        [daily(1, 0), daily(2, 40), daily(3, 70)],
        {1: "keep", 2: "delete", 3: "delete"},
    ),
    "keep-min-holds-against-retain": (
        {"retain": {"daily": 1}, "keep_min": 3},
        [daily(1, 0), daily(2, 0.1), daily(3, 0.2), daily(4, 0.3)],
        {1: "keep", 2: "keep", 3: "keep", 4: "delete"},
    ),
    "keep-min-holds-against-max-age": (
        {"retain": {"daily": 7}, "max_age": "1d", "keep_min": 2},
        [daily(1, 3), daily(2, 4), daily(3, 5)],
        {1: "keep", 2: "keep", 3: "delete"},
    ),
    "unavailable-and-undated-are-not-ranked": (
        {"retain": {"daily": 1}},
        [daily(1, 0, status="pending"), snap(2, "img-2", hours=None), daily(3, 1), daily(4, 2)],
        {1: "pending", 2: "keep", 3: "keep", 4: "delete"},
    ),
}


@pytest.mark.parametrize("case", list(SELECT_CASES))
def test_retain_in_a_select_group(case: str) -> None:
    """Each case: the verdict on every image of a select group with ``retain`` (the whole
    group is one series)."""
    group, images, expected = SELECT_CASES[case]
    assert fates(plan_images(select_fleet(**group), images, NOW)) == expected


def test_a_select_groups_verdicts_are_calendar_keep_on_its_series() -> None:
    """Without ``max_age`` and above the floor, a select group keeps exactly what
    ``calendar_keep`` keeps of its ranked series."""
    policy = Retain(daily=3, weekly=2, monthly=2)
    images = [daily(i, 0.3 * i * i) for i in range(1, 25)]
    found = fates(
        plan_images(
            select_fleet(retain={"daily": 3, "weekly": 2, "monthly": 2}, keep_min=0), images, NOW
        )
    )
    times = [image.created_at for image in images if image.created_at is not None]
    kept = {images[index].id for index in calendar_keep(times, policy)}
    assert {image_id for image_id, action in found.items() if action == "keep"} == kept
    assert 0 < len(kept) < len(images)


def test_retain_reasons_say_which_rule_keeps_it() -> None:
    """A kept image's reason names its rank, the rules and buckets that keep it and its
    age; a deleted one says no rule keeps it, or that it is too old."""
    images = [daily(1, 0), daily(2, 0.1), daily(3, 1), daily(4, 40)]
    verdicts = plan_images(
        select_fleet(retain={"daily": 2, "monthly": 2}, max_age="30d"), images, NOW
    )
    assert reasons(verdicts) == {
        1: "keep: rank 1, kept by daily 2026-12-04 (1/2), monthly 2026-12 (1/2), 0 days old",
        2: "delete: rank 2, kept by no rule of retain {daily = 2, monthly = 2}, 0 days old",
        3: "keep: rank 3, kept by daily 2026-12-03 (2/2), 1 day old",
        4: "delete: rank 4, 40 days old > max_age 30d",
    }


def test_retain_reasons_name_the_floor() -> None:
    """An image kept only by ``keep_min`` says so."""
    verdicts = plan_images(
        select_fleet(retain={"daily": 1}, keep_min=2), [daily(1, 0), daily(2, 0.1)], NOW
    )
    assert reasons(verdicts)[2] == (
        "keep: rank 2: one of the keep_min 2 newest, always kept (0 days old)"
    )


def test_the_oldest_kept_while_a_rule_lacks_buckets_says_so() -> None:
    """A rule that found fewer buckets than its count keeps the oldest too, and the reason
    says it is kept as the oldest."""
    images = [daily(1, 0), daily(2, 0.1), daily(3, 0.15)]
    verdicts = plan_images(select_fleet(retain={"daily": 5}), images, NOW)
    assert reasons(verdicts)[3] == (
        "keep: rank 3, kept by daily 2026-12-04 (2/5, oldest), 0 days old"
    )


def test_hourly_and_yearly_buckets_are_named() -> None:
    """Hours and years name their buckets too."""
    images = [daily(1, 0), daily(2, 400)]
    verdicts = plan_images(select_fleet(retain={"hourly": 1, "yearly": 2}), images, NOW)
    assert reasons(verdicts)[1].startswith(
        "keep: rank 1, kept by hourly 2026-12-04 04h (1/1), yearly 2026 (1/2)"
    )
    assert "yearly 2025 (2/2)" in reasons(verdicts)[2]


# ------------------------------------------------------------------ source groups


def test_a_due_droplet_ranks_this_runs_snapshot_first_with_retain() -> None:
    """A due droplet under ``retain = {daily = 2}``: this run's snapshot fills today's
    bucket, so yesterday's is the second day and older days go, after this run's
    snapshot."""
    images = [owned(1, 7, 26), owned(2, 7, 50), owned(3, 7, 74)]
    verdicts = plan(source_fleet(retain={"daily": 2}), images, [droplet(7)])
    assert reasons(verdicts) == {
        1: "keep: rank 2, kept by daily 2026-12-03 (2/2), 1 day old",
        2: "delete: rank 3, kept by no rule of retain {daily = 2}, 2 days old, "
        "after this run's snapshot",
        3: "delete: rank 4, kept by no rule of retain {daily = 2}, 3 days old, "
        "after this run's snapshot",
    }
    assert actions(verdicts)["droplet 7"] == "snapshot"


def test_a_droplet_not_due_is_thinned_as_it_is_with_retain() -> None:
    """Not due: the series as it stands; deletions wait for nothing."""
    images = [owned(1, 7, 2), owned(2, 7, 3), owned(3, 7, 26)]
    verdicts = plan(source_fleet(retain={"daily": 1}), images, [droplet(7)])
    assert fates(verdicts) == {1: "keep", 2: "delete", 3: "delete"}
    assert reasons(verdicts)[3].endswith("1 day old")


SOURCE_CASES: dict[str, tuple[dict[str, Any], list[Image], dict[int, str]]] = {
    "each-droplet-is-its-own-series": (
        {"retain": {"daily": 1}},
        [owned(1, 7, 2), owned(2, 7, 3), owned(3, 8, 2), owned(4, 8, 3)],
        {1: "keep", 2: "delete", 3: "keep", 4: "delete"},
    ),
    "weekly-per-droplet": (
        # Due now (Fri 12-04): this run's snapshot is week 49; 11-29 is week 48, 11-22 week 47.
        {"retain": {"weekly": 2}},
        [owned(1, 7, 24 * 5), owned(2, 7, 24 * 5 + 1), owned(3, 7, 24 * 12)],
        {1: "keep", 2: "delete", 3: "delete"},
    ),
    "protected-fill-no-bucket": (
        {"retain": {"daily": 1}, "protect_tags": ["keep"]},
        [owned(1, 7, 2, tags=["keep"]), owned(2, 7, 3), owned(3, 7, 26)],
        {1: "protected", 2: "keep", 3: "delete"},
    ),
    "max-age-on-top-keep-min-the-floor": (
        {"retain": {"monthly": 3}, "max_age": "10d", "keep_min": 2},
        [owned(1, 7, 24 * 20), owned(2, 7, 24 * 40), owned(3, 7, 24 * 70)],
        {1: "keep", 2: "delete", 3: "delete"},
    ),
}


@pytest.mark.parametrize("case", list(SOURCE_CASES))
def test_retain_in_a_source_group(case: str) -> None:
    """Each case: the verdict on every snapshot of a source group with ``retain``, each
    droplet's series on its own (droplet 7 due, 8 due too when it has no recent one)."""
    group, images, expected = SOURCE_CASES[case]
    verdicts = plan(source_fleet(**group), images, [droplet(7), droplet(8)])
    assert fates(verdicts) == expected


def test_orphans_expire_by_retain() -> None:
    """Under ``on_source_gone = "expire"`` a gone droplet's series is thinned by ``retain``
    too, floor included."""
    images = [owned(1, 7, 2), owned(2, 7, 3), owned(3, 7, 26)]
    verdicts = plan(source_fleet(retain={"daily": 1}, on_source_gone="expire"), images, [])
    assert fates(verdicts) == {1: "orphaned", 2: "delete", 3: "delete"}


# ------------------------------------------------------------------ the plan document


def retain_plan() -> FleetPlan:
    fleet = source_fleet(retain={"daily": 7, "weekly": 4})
    return fleet_plan(plan(fleet, [owned(1, 7, 26)], [droplet(7)]), fleet)


def test_the_plan_document_records_the_policy_and_reads_it_back() -> None:
    """The plan document holds the group's ``retain`` as written, and reading it back
    gives the same policy."""
    planned = retain_plan()
    document = planned.to_json()
    assert document["fleet"]["groups"][0]["retain"] == {"daily": 7, "weekly": 4}
    again = FleetPlan.from_json(json.loads(json.dumps(document)))
    assert again.fleet.groups[0].retain == Retain(daily=7, weekly=4)
    assert again.fingerprint == planned.fingerprint


def test_the_fingerprint_covers_the_policy() -> None:
    """A plan document whose ``retain`` was edited is refused as damaged."""
    document = retain_plan().to_json()
    document["fleet"]["groups"][0]["retain"]["daily"] = 1
    with pytest.raises(FleetError, match="fingerprint does not match"):
        FleetPlan.from_json(document)


def test_the_rule_takes_aware_times_only() -> None:
    """The rule buckets in UTC whatever the zone of the listing's times."""
    eastern = timezone(timedelta(hours=-5))
    late = datetime(2026, 12, 3, 22, 0, tzinfo=eastern)  # 2026-12-04 03:00 UTC
    image = Image.model_validate(
        {
            "id": 1,
            "name": "a",
            "type": "snapshot",
            "status": "available",
            "public": False,
            "regions": ["nyc3"],
            "tags": [],
            "created_at": late.isoformat(),
        }
    )
    verdicts = plan_images(select_fleet(retain={"daily": 1}), [image], NOW)
    assert "daily 2026-12-04 (1/1)" in reasons(verdicts)[1]


def test_the_docs_table_is_what_a_group_keeps() -> None:
    """The Scheduled snapshots page's table (90 daily snapshots under
    ``{daily = 7, weekly = 4, monthly = 6}``) is what a group with that ``retain`` keeps
    when planned right after the last run: the fleet's rule, not only the calendar's."""
    runs = [EXAMPLE_FIRST_RUN + timedelta(days=day) for day in range(EXAMPLE_RUNS)]
    images = [
        Image.model_validate(
            {
                "id": day + 1,
                "name": f"web-{when:%Y%m%d}",
                "type": "snapshot",
                "status": "available",
                "public": False,
                "regions": ["nyc3"],
                "tags": [],
                "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
        for day, when in enumerate(runs)
    ]
    fleet = select_fleet(retain={"daily": 7, "weekly": 4, "monthly": 6})
    verdicts = plan_images(fleet, images, runs[-1] + timedelta(minutes=5))
    kept = {
        f"{runs[e.image_id - 1]:%a %Y-%m-%d %H:%M}"
        for e in verdicts.entries
        if e.action == "keep" and e.image_id is not None
    }
    rows = {
        line.split(" | ")[0].lstrip("| ")
        for line in example_table().splitlines()
        if line.startswith("| ") and line[2:5].isalpha() and line[2:6] != "Snap"
    }
    assert kept == rows
    assert len(kept) == 12
