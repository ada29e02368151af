"""The rule of a source group as a pure function: droplets and snapshots in, entries out.
Ownership, the due rule, per-droplet retention with this run's snapshot, orphans."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone
from typing import Any

import pytest

from do_images import FleetError
from do_images._jobs._fleet_source import due_after, with_snapshotting
from do_images.fleet import plan_images
from fleet_rule_support import NOW, actions, droplet, owned, plan, snap, source_fleet

# ------------------------------------------------------------------ the due rule


@pytest.mark.parametrize(
    ("every", "age", "due"),
    [
        ("24h", timedelta(hours=26), True),
        ("24h", timedelta(hours=23, minutes=59, seconds=30), True),  # the 04:00 cron, 30 s
        ("24h", timedelta(hours=23, minutes=50, seconds=1), True),  # 10 minutes early at most
        ("24h", timedelta(hours=23, minutes=50), False),
        ("24h", timedelta(hours=12), False),
        ("1h", timedelta(minutes=57, seconds=1), True),  # 5 % of an hour: 3 minutes
        ("1h", timedelta(minutes=57), False),
        ("1h", timedelta(minutes=30), False),
        ("10d", timedelta(days=9, hours=23, minutes=51), True),
        ("10d", timedelta(days=9, hours=23, minutes=49), False),
        ("24h", timedelta(0), False),  # made this very second (cron firing twice)
        ("24h", -timedelta(minutes=5), False),  # made after the listing
    ],
)
def test_due_when_the_newest_is_older_than_every_less_the_slack(
    every: str, age: timedelta, due: bool
) -> None:
    """Due when the newest owned snapshot is older than ``every`` minus min(5 %, 10 min):
    a cron a little early skips no interval, and an hourly one does not drift."""
    verdicts = plan(
        source_fleet(every=every), [owned(1, 7, age / timedelta(hours=1))], [droplet(7)]
    )
    assert (actions(verdicts).get("droplet 7") == "snapshot") is due


def test_due_after_is_every_less_five_percent_at_most_ten_minutes() -> None:
    """The slack itself: 3 minutes of an hour, 10 minutes of a day."""
    assert due_after(timedelta(hours=1)) == timedelta(minutes=57)
    assert due_after(timedelta(days=1)) == timedelta(hours=23, minutes=50)


def test_a_snapshot_entry_names_the_droplet_and_the_snapshot() -> None:
    """A due droplet's entry: the droplet, its name, the snapshot's name (the template with
    the plan's listed_at in UTC), no image, and why."""
    eastern = NOW.astimezone(timezone(timedelta(hours=-5)))
    verdicts = plan(source_fleet(), [owned(1, 7, 26)], [droplet(7, "web-01")], now=eastern)
    (turn,) = [entry for entry in verdicts.entries if entry.action == "snapshot"]
    assert (turn.droplet_id, turn.droplet_name, turn.image_id, turn.image_name) == (
        7,
        "web-01",
        None,
        None,
    )
    assert turn.snapshot_name == "web-7-20261204-040000"
    assert turn.reason == "newest is 26 h old; every 24h"
    first = plan(source_fleet(), [], [droplet(7)])
    assert [e.reason for e in first.entries] == ["no snapshot yet; every 24h"]


@pytest.mark.parametrize(
    ("view", "busy", "reason", "named"),
    [
        (droplet(7, locked=True), {}, "locked (an action runs on it): snapshot next run", True),
        (droplet(7), {7: 77}, "snapshot 77 in progress: not started again", True),
        (droplet(7, status="new"), {}, "status new: not snapshotted", False),
        (droplet(7, status="archive"), {}, "status archive: not snapshotted", False),
        (droplet(7, status="maintenance"), {}, "status maintenance: not snapshotted", False),
    ],
)
def test_a_due_droplet_that_cannot_be_snapshotted_is_pending(
    view: Any, busy: dict[int, int], reason: str, named: bool
) -> None:
    """Locked, a snapshot in progress, or neither active nor off: ``pending`` with why.
    A busy one keeps its snapshot's name (it is the same turn, waiting); the others
    have none."""
    verdicts = plan(source_fleet(), [owned(1, 7, 30)], [view], snapshotting=busy)
    (turn,) = [entry for entry in verdicts.entries if entry.droplet_id == 7 and not entry.image_id]
    assert turn.action == "pending"
    assert turn.reason.startswith(reason)
    assert (turn.snapshot_name is not None) is named


def test_an_off_droplet_is_snapshotted() -> None:
    """A droplet that is off is snapshotted as one that is active."""
    assert actions(plan(source_fleet(), [], [droplet(7, status="off")])) == {
        "droplet 7": "snapshot"
    }


def test_with_snapshotting_afterwards_is_the_same_as_before() -> None:
    """Marking the snapshots in progress after planning (what planning does once it has
    read the due droplets' actions) gives what passing them in gives."""
    fleet = source_fleet(keep=1)
    images = [owned(1, 7, 30), owned(2, 7, 60), owned(3, 8, 40)]
    views = [droplet(7), droplet(8)]
    direct = plan(fleet, images, views, snapshotting={7: 77}).entries
    assert with_snapshotting(plan(fleet, images, views).entries, {7: 77}) == direct


def test_a_droplet_whose_snapshot_the_group_would_not_own_is_never_snapshotted() -> None:
    """A snapshot name the template would not match (an empty droplet name for
    ``{droplet_name}``) would be made anew every run: ``pending`` instead."""
    fleet = source_fleet(snapshot_name="{droplet_name}-{droplet_id}-{time}")
    (turn,) = plan(fleet, [], [replace(droplet(7), name="")]).entries
    assert turn.action == "pending"
    assert "which snapshot_name does not match" in turn.reason


# --------------------------------------------------------------------- ownership


def test_only_the_groups_own_snapshots_are_counted_or_deleted() -> None:
    """Manual snapshots, backups, custom images, public images and another group's
    snapshots, even named alike, are never counted nor deleted."""
    stamp = (NOW - timedelta(hours=30)).strftime("%Y%m%d-%H%M%S")
    strangers = [
        snap(10, "web-7-manual"),
        snap(11, f"web-7-{stamp}", type="backup"),
        snap(12, f"web-7-{stamp}", type="custom"),
        snap(13, f"web-7-{stamp}", public=True),
        snap(14, f"db-7-{stamp}"),
        snap(15, f"web-7-{stamp}-copy"),
    ]
    fleet = source_fleet(keep=1)
    verdicts = plan(fleet, [owned(1, 7, 30), owned(2, 7, 60), *strangers], [droplet(7)])
    assert actions(verdicts) == {"droplet 7": "snapshot", "image 1": "delete", "image 2": "delete"}
    assert set(verdicts.matched) == {1, 2}


def test_a_select_group_passes_over_what_a_source_group_owns() -> None:
    """``select = {}`` beside a source group takes every snapshot but the source group's,
    and the plan says how many it passed over."""
    fleet = source_fleet({"name": "all", "select": {}, "keep": 0, "keep_min": 0}, keep=3)
    images = [owned(1, 7, 30), owned(2, 7, 60), snap(3, "manual", hours=5)]
    verdicts = plan(fleet, images, [droplet(7)])
    by_group = {(e.group, e.image_id) for e in verdicts.entries if e.image_id}
    assert by_group == {("web", 1), ("web", 2), ("all", 3)}
    assert "group 'all' passed over 2 snapshots that a source group owns" in verdicts.notes[0]


def test_the_owner_is_the_id_in_the_name_even_after_a_rename() -> None:
    """With ``{droplet_name}`` in the template, the snapshots made under the droplet's old
    name are still its own: the id decides. Another droplet's id is another series."""
    fleet = source_fleet(snapshot_name="{droplet_name}-{droplet_id}-{time}", keep=1)
    old = (NOW - timedelta(hours=5)).strftime("%Y%m%d-%H%M%S")
    older = (NOW - timedelta(hours=50)).strftime("%Y%m%d-%H%M%S")
    images = [snap(1, f"old-name-7-{old}", hours=5), snap(2, f"x-7-{older}", hours=50)]
    verdicts = plan(fleet, [*images, snap(3, f"old-name-8-{old}", hours=5)], [droplet(7, "new")])
    assert actions(verdicts) == {"image 1": "keep", "image 2": "delete", "image 3": "orphaned"}


# -------------------------------------------------- retention, per droplet


def reasons(verdicts: Any) -> dict[int, str]:
    return {e.image_id: f"{e.action}: {e.reason}" for e in verdicts.entries if e.image_id}


def test_a_due_droplet_ranks_this_runs_snapshot_first() -> None:
    """``keep = 3`` with three snapshots and one due: this run's is rank 1, so the oldest
    goes, once this run's snapshot is made; ``keep = 3`` leaves 3."""
    verdicts = plan(source_fleet(keep=3), [owned(i, 7, 30 * i) for i in (1, 2, 3)], [droplet(7)])
    assert reasons(verdicts) == {
        1: "keep: rank 2 of keep 3, 1 day old",
        2: "keep: rank 3 of keep 3, 2 days old",
        3: "delete: rank 4 > keep 3, 3 days old, after this run's snapshot",
    }


def test_a_droplet_not_due_is_ranked_as_it_is() -> None:
    """Not due: nothing to make, the series ranked as it stands; deletions wait for
    nothing."""
    images = [owned(i, 7, 10 * i) for i in (1, 2, 3, 4)]
    verdicts = plan(source_fleet(keep=3), images, [droplet(7)])
    assert reasons(verdicts)[4] == "delete: rank 4 > keep 3, 1 day old"
    assert "droplet 7" not in actions(verdicts)


def test_max_age_keeps_the_floor_with_this_runs_snapshot() -> None:
    """Every snapshot older than max_age: this run's counts as the newest, the floor
    (keep_min 1) is it, and the old ones go only after it."""
    images = [owned(1, 7, 24 * 40), owned(2, 7, 24 * 50)]
    verdicts = plan(source_fleet(max_age="30d"), images, [droplet(7)])
    assert reasons(verdicts) == {
        1: "delete: rank 2, 40 days old > max_age 30d, after this run's snapshot",
        2: "delete: rank 3, 50 days old > max_age 30d, after this run's snapshot",
    }


def test_a_busy_droplet_is_ranked_with_its_snapshot_too() -> None:
    """Locked or mid-snapshot: the same ranking as if due (its deletions wait for a
    snapshot), so a droplet that turns busy changes no deletion."""
    images = [owned(i, 7, 30 * i) for i in (1, 2, 3)]
    idle = plan(source_fleet(keep=2), images, [droplet(7)])
    locked = plan(source_fleet(keep=2), images, [droplet(7, locked=True)])
    running = plan(source_fleet(keep=2), images, [droplet(7)], snapshotting={7: 5})
    deletions = [
        {e.key for e in v.entries if e.action == "delete"} for v in (idle, locked, running)
    ]
    assert deletions[0] == deletions[1] == deletions[2] != set()
    assert [e.key for e in idle.entries] == [e.key for e in locked.entries]


def test_a_new_droplet_is_ranked_as_it_is() -> None:
    """A droplet in status new (no snapshot this run) ranks without one: its deletions wait
    for nothing."""
    images = [owned(i, 7, 30 * i) for i in (1, 2, 3)]
    verdicts = plan(source_fleet(keep=2), images, [droplet(7, status="new")])
    assert reasons(verdicts)[3] == "delete: rank 3 > keep 2, 3 days old"


def test_each_droplet_is_its_own_series() -> None:
    """``keep = 2`` per droplet: five snapshots of one droplet and one of another; the
    other keeps its one."""
    images = [owned(i, 7, 30 * i) for i in range(1, 6)] + [owned(9, 8, 100)]
    verdicts = plan(source_fleet(keep=2), images, [droplet(7), droplet(8)])
    assert [e.image_id for e in verdicts.entries if e.action == "delete"] == [2, 3, 4, 5]
    assert actions(verdicts)["image 9"] == "keep"


def test_protected_and_unavailable_snapshots_are_not_ranked() -> None:
    """A snapshot with a protect tag is ``protected``, one not available ``pending``: neither
    counted nor deleted, per droplet as for select groups."""
    images = [
        owned(1, 7, 30, tags=["keep"]),
        owned(2, 7, 40, status="pending"),
        owned(3, 7, 50),
        owned(4, 7, 60),
    ]
    verdicts = plan(source_fleet(keep=1, protect_tags=["keep"]), images, [droplet(7)])
    assert actions(verdicts) == {
        "image 1": "protected",
        "image 2": "pending",
        "droplet 7": "snapshot",
        "image 3": "delete",
        "image 4": "delete",
    }


def test_kept_snapshots_are_copied_and_tagged_with_their_droplet() -> None:
    """The snapshots that stay get the group's regions and tags, each entry naming the
    droplet; this run's snapshot gets none here (it has no image yet)."""
    fleet = source_fleet(keep=1, regions=["nyc3", "ams3"], ensure_tags=["backup"])
    verdicts = plan(fleet, [owned(1, 7, 10), owned(2, 7, 30)], [droplet(7)])
    changes = [
        (e.action, e.image_id, e.region or e.tag, e.droplet_id)
        for e in verdicts.entries
        if e.action in ("transfer", "tag")
    ]
    assert changes == [("transfer", 1, "ams3", 7), ("tag", 1, "backup", 7)]
    assert actions(verdicts)["image 2"] == "delete"


# ------------------------------------------------------------------ orphans


def test_orphans_are_kept_under_keep() -> None:
    """A droplet no longer a source (destroyed, or its tag gone): its snapshots are
    ``orphaned`` and kept, however many, and still copied."""
    fleet = source_fleet(keep=1, regions=["nyc3", "ams3"])
    verdicts = plan(fleet, [owned(i, 7, 24 * i) for i in (1, 2, 3)], [])
    assert actions(verdicts) == {
        "image 1": "orphaned",
        "image 2": "orphaned",
        "image 3": "orphaned",
        "image 1 ams3": "transfer",
        "image 2 ams3": "transfer",
        "image 3 ams3": "transfer",
    }
    assert all(
        "droplet 7 is no longer a source" in e.reason
        for e in verdicts.entries
        if e.action == "orphaned"
    )


@pytest.mark.parametrize(
    ("rules", "deleted"),
    [
        ({"keep": 1}, [2, 3]),
        ({"max_age": "12h", "keep_min": 0}, [1, 2, 3]),
        ({"max_age": "30d", "keep_min": 2}, []),
        ({"max_age": "1d"}, [2, 3]),
    ],
)
def test_orphans_expire_by_the_rules_floor_included(
    rules: dict[str, Any], deleted: list[int]
) -> None:
    """``on_source_gone = "expire"``: the retention goes on, ``keep_min`` included."""
    fleet = source_fleet(on_source_gone="expire", **rules)
    verdicts = plan(fleet, [owned(i, 7, 24 * i) for i in (1, 2, 3)], [])
    assert [e.image_id for e in verdicts.entries if e.action == "delete"] == deleted
    kept = [e for e in verdicts.entries if e.action == "orphaned"]
    assert len(kept) == 3 - len(deleted)
    assert all(e.reason.startswith("droplet 7 is no longer a source; ") for e in verdicts.entries)


def test_a_listed_droplet_id_not_found_is_noted() -> None:
    """A ``droplet_ids`` entry the API did not return: a note; its snapshots are orphans."""
    fleet = source_fleet(source={"droplet_ids": [7, 8]})
    verdicts = plan(fleet, [owned(1, 8, 30)], [droplet(7)])
    assert verdicts.notes == [
        "group 'web': droplet 8 of droplet_ids was not found; snapshots of it are orphaned"
    ]
    assert actions(verdicts)["image 1"] == "orphaned"


# ------------------------------------------------------------------ the inputs


def test_a_source_group_without_its_droplets_is_a_value_error() -> None:
    """The caller must say which droplets each source group selected: none given is a
    mistake of the caller, never "no droplets" (every snapshot would be an orphan)."""
    with pytest.raises(ValueError, match="the droplets of source group 'web' were not given"):
        plan_images(source_fleet(), [], NOW)


def test_two_select_groups_still_may_not_share_an_image() -> None:
    """Beside a source group, an image two select groups take is still an error."""
    fleet = source_fleet({"name": "a", "select": {}}, {"name": "b", "select": {}})
    with pytest.raises(FleetError, match="groups 'a' and 'b'"):
        plan(fleet, [snap(1, "manual")], [])


def test_a_view_of_the_sandboxs_droplets_plans_as_the_api_lists_them() -> None:
    """``DropletView.of`` takes a ``Droplet`` as listed (here the sandbox's): a locked one
    and an archived one, their region and tags; the rule plans them so."""
    from do_images.fleet import DropletView
    from do_images.testing import Sandbox

    sandbox = Sandbox(start=NOW, seed=False)
    sandbox.add_droplet("web-01", id=7, tags=["web"], region="ams3")
    sandbox.add_droplet("web-02", id=8, tags=["web"], status="archive")
    views = [DropletView.of(found) for found in sandbox.droplets]
    assert views == [
        droplet(7, "web-01", region="ams3"),
        droplet(8, "web-02", status="archive"),
    ]
    assert actions(plan(source_fleet(), [], views)) == {
        "droplet 7": "snapshot",
        "droplet 8": "pending",
    }


def test_a_droplet_listed_without_name_or_status_is_never_snapshotted_blindly() -> None:
    """A droplet the API listed without a status reads as ``unknown``: pending, not
    snapshotted; without a name, a template with ``{droplet_name}`` would not own the
    snapshot: pending too."""
    from do_images import Droplet
    from do_images.fleet import DropletView

    bare = DropletView.of(Droplet.model_validate({"id": 7}))
    assert (bare.name, bare.status, bare.locked, bare.tags, bare.region) == (
        "",
        "unknown",
        False,
        (),
        None,
    )
    (turn,) = plan(source_fleet(), [], [bare]).entries
    assert (turn.action, turn.reason.split(";")[0]) == (
        "pending",
        "status unknown: not snapshotted",
    )
    named = replace(bare, status="active")
    fleet = source_fleet(snapshot_name="{droplet_name}-{droplet_id}-{time}")
    (turn,) = plan(fleet, [], [named]).entries
    assert turn.action == "pending"
