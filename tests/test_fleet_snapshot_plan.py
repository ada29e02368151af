"""A plan with scheduled snapshots: its document (schema, fingerprint, the droplets it saw,
``max_delete``), what makes it invalid, its counts and estimate, and holding it against
the rule on a fresh listing (stale or not, the plan's own progress)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from do_images import FleetError
from do_images._constants import DEFAULT_REQUESTS_PER_MINUTE, SNAPSHOT_SECONDS
from do_images._jobs._fleet_estimate import snapshot_polls
from do_images._jobs._fleet_rule import compare, deletable
from do_images.fleet import FleetPlan, PlanEntry, fingerprint
from fleet_rule_support import droplet, fleet_plan, owned, plan, snap, source_fleet
from spec_support import committed_schema, validator

FLEET = source_fleet(
    {"name": "all", "select": {}, "keep": 5},
    max_delete=7,
    keep=2,
    regions=["nyc3", "ams3"],
    ensure_tags=["backup"],
)
IMAGES = [
    owned(1, 7, 30, regions=["nyc3", "ams3"], tags=["backup"]),
    owned(2, 7, 60, regions=["nyc3", "ams3"], tags=["backup"]),
    owned(3, 8, 5, regions=["nyc3", "ams3"], tags=["backup"]),
    owned(4, 9, 50, regions=["nyc3", "ams3"], tags=["backup"]),
    snap(5, "manual", regions=["nyc3"]),
]
DROPLETS = [droplet(7, "web-07"), droplet(8, "web-08", locked=True), droplet(6, "web-06")]


def the_plan(**options: Any) -> FleetPlan:
    """Droplet 7 due (2 snapshots, keep 2: its oldest goes after the run), 8 not due, 6 due
    with none yet, 9 an orphan; a manual snapshot the select group keeps."""
    return fleet_plan(plan(FLEET, IMAGES, DROPLETS, **options), FLEET)


# ------------------------------------------------------------------ the document


def test_the_document_fits_its_schema_and_round_trips() -> None:
    """A plan with snapshot, pending and orphaned entries fits the committed schema and
    reads back as the same plan."""
    document = json.loads(json.dumps(the_plan().to_json()))
    assert list(validator(committed_schema("fleet_plan")).iter_errors(document)) == []
    again = FleetPlan.from_json(document)
    assert again.to_json() == document
    assert again.fleet.max_delete == 7
    assert again.fleet.groups == FLEET.groups


def test_a_snapshot_entry_is_a_droplet_with_no_image() -> None:
    """``snapshot``: droplet id and name, the snapshot's name, ``image_id`` null."""
    entries = the_plan().to_json()["entries"]
    (turn,) = [e for e in entries if e["action"] == "snapshot" and e["droplet_id"] == 7]
    assert turn == {
        "action": "snapshot",
        "group": "web",
        "image_id": None,
        "image_name": None,
        "reason": "newest is 30 h old; every 24h",
        "droplet_id": 7,
        "droplet_name": "web-07",
        "snapshot_name": "web-7-20261204-040000",
    }


def test_the_document_records_the_droplets_and_max_delete() -> None:
    """The droplets a source selected (name, status, tags, region; not ``locked``) and the
    file's ``max_delete`` are in the document."""
    document = the_plan().to_json()
    assert document["droplets"] == {
        str(d): {"name": f"web-0{d}", "status": "active", "tags": ["web"], "region": "nyc3"}
        for d in (6, 7, 8)
    }
    assert document["fleet"]["max_delete"] == 7


@pytest.mark.parametrize(
    "edit",
    [
        lambda doc: doc["droplets"]["7"].update(status="off"),
        lambda doc: doc["droplets"].pop("8"),
        lambda doc: doc["fleet"].update(max_delete=70),
        lambda doc: doc["entries"][0].update(snapshot_name="web-7-20991231-000000"),
        lambda doc: doc["reads"].update(images_list=9),
    ],
    ids=["droplet status", "a droplet dropped", "max_delete", "snapshot name", "reads"],
)
def test_every_new_field_is_fingerprinted(edit: Any) -> None:
    """An edit of the droplets, ``max_delete``, an entry or the reads, the fingerprint
    not recomputed: refused."""
    document = json.loads(json.dumps(the_plan().to_json()))
    edit(document)
    with pytest.raises(FleetError, match="fingerprint does not match"):
        FleetPlan.from_json(document)


def forged(edit: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(the_plan().to_json()))
    edit(document)
    document["fingerprint"] = fingerprint(document)
    return document


def _first(document: dict[str, Any], action: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(e for e in document["entries"] if e["action"] == action)
    return entry


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda doc: _first(doc, "snapshot").update(snapshot_name=None), "no snapshot_name"),
        (lambda doc: _first(doc, "snapshot").update(droplet_id=99), "droplet 99, which no"),
        (lambda doc: _first(doc, "snapshot").update(group="all"), "droplet_id in a select"),
        (lambda doc: _first(doc, "snapshot").update(image_name="x"), "or an image_name"),
        (lambda doc: _first(doc, "delete").update(droplet_id=None), "none in a source group"),
        (lambda doc: _first(doc, "orphaned").update(action="snapshot"), "with an image"),
        (lambda doc: _first(doc, "keep").update(snapshot_name="x"), "only a droplet's entry"),
        (lambda doc: _first(doc, "snapshot").update(action="keep"), "keep entry of droplet 7"),
        (lambda doc: doc["fleet"].update(max_delete=-1), "fleet.max_delete"),
    ],
    ids=[
        "snapshot without name",
        "unknown droplet",
        "snapshot of a select group",
        "snapshot with an image name",
        "deletion without its droplet",
        "orphan made a snapshot",
        "keep with a snapshot name",
        "droplet entry kept",
        "negative max_delete",
    ],
)
def test_an_entry_that_does_not_fit_is_an_invalid_plan(edit: Any, message: str) -> None:
    """Each edit (fingerprint recomputed) makes an entry that does not fit its action,
    its group or the droplets the plan saw: ``FleetError`` at load."""
    with pytest.raises(FleetError, match=message):
        FleetPlan.from_json(forged(edit))


# ------------------------------------------------------------------ counts and words


def test_counts_summary_and_changes() -> None:
    """Snapshots count as changes; the summary counts them first, and the orphans and the
    pending."""
    planned = the_plan()
    assert planned.counts == {
        "snapshots": 2,
        "transfers": 0,
        "tags": 0,
        "deletions": 1,
        "kept": 3,
        "protected": 0,
        "orphaned": 1,
        "pending": 0,
    }
    assert planned.changes == 3
    assert planned.summary == (
        "Plan: 2 snapshots, 0 transfers, 0 tags, 1 deletion; 3 kept, 1 orphaned."
    )
    busy = the_plan(snapshotting={6: 41})
    assert busy.changes == 2
    assert busy.summary == (
        "Plan: 1 snapshot, 0 transfers, 0 tags, 1 deletion; 3 kept, 1 orphaned, 1 pending."
    )


def test_a_deletion_waits_for_its_droplets_snapshot() -> None:
    """``waits_for_snapshot``: the deletions of a due droplet (or a busy one) wait; those of
    a droplet not due, and of select groups, do not."""
    fleet = source_fleet(keep=1)
    images = [owned(1, 7, 30), owned(2, 7, 60), owned(3, 8, 5), owned(4, 8, 10)]
    for busy in ({}, {7: 3}):
        planned = fleet_plan(
            plan(fleet, images, [droplet(7), droplet(8)], snapshotting=busy), fleet
        )
        waits = {e.image_id: planned.waits_for_snapshot(e) for e in planned.of("delete")}
        assert waits == {1: True, 2: True, 4: False}


# ------------------------------------------------------------------ the estimate


def test_the_estimate_counts_every_kind_of_request() -> None:
    """Two due droplets in nyc3, copied to ams3 and tagged, one deletion: every request
    applying makes, by kind, and what planning recorded."""
    reads = {"regions_list": 1, "droplets_list": 1, "images_list": 2, "dropletActions_list": 2}
    planned = fleet_plan(plan(FLEET, IMAGES, DROPLETS), FLEET, reads)
    estimate = planned.estimate
    assert estimate["plan"] == reads
    assert estimate["apply"] == {
        "images_list": 2 * 2,  # the re-read, and again before the deletions
        "droplets_list": 1,  # the droplets again
        "dropletActions_list": 2,  # before each snapshot: one under way is adopted
        "dropletActions_post": 2,
        "dropletActions_get": snapshot_polls(2),
        "droplets_list_snapshots": 2,  # each new image found
        "tags_assign_resources": 2,  # each new image tagged
        "imageActions_post": 2,  # each copied to ams3
        "imageActions_list": 2 * 61,  # before each copy, and its polls
        "images_delete": 1,
    }
    assert estimate["requests"] == sum(estimate["apply"].values())
    assert estimate["seconds"] == 1200.0  # a snapshot, then a copy


def test_power_off_adds_a_shutdown_and_a_power_on_for_an_active_droplet() -> None:
    """With ``power_off``, an active droplet also gets a shutdown, status reads and a
    power_on; one already off gets none."""
    fleet = source_fleet(power_off=True)
    planned = fleet_plan(plan(fleet, [], [droplet(7), droplet(8, status="off")]), fleet)
    assert planned.estimate["apply"]["dropletActions_post"] == 2 + 2
    assert planned.estimate["apply"]["droplets_get"] == 6


@pytest.mark.parametrize("count", [1, 10, 50, 200, 1000])
def test_polling_takes_at_most_half_the_budget(count: int) -> None:
    """However many snapshots are awaited, their polls keep within half of 250 a minute,
    one request per snapshot per cycle, 10 s apart at least."""
    polls = snapshot_polls(count)
    cycles = polls // count
    assert polls == count * cycles
    cycle = max(10.0, count / (DEFAULT_REQUESTS_PER_MINUTE / 2 / 60))
    assert count / cycle * 60 <= DEFAULT_REQUESTS_PER_MINUTE / 2 + 1e-9
    assert cycles == math.ceil(SNAPSHOT_SECONDS / cycle)


# ------------------------------------------------------------------ stale or not


def held(planned: FleetPlan, images: list[Any], droplets: list[Any], **options: Any) -> Any:
    """The plan held against the rule on ``images`` and ``droplets`` as listed now."""
    fresh = plan(planned.fleet, images, droplets, now=planned.listed_at, **options)
    return compare(planned.entries, planned.digests, images, fresh, planned.droplets)


def test_the_same_account_is_no_difference() -> None:
    """Planned and held against the same account: nothing differs, nothing is done."""
    found = held(the_plan(), IMAGES, DROPLETS)
    assert (found.differ, found.droplets, found.busy, found.done) == (set(), set(), set(), {})


def test_a_droplet_that_turned_busy_is_not_stale() -> None:
    """Droplet 7 locked, or mid-snapshot, since the plan: no difference; it is ``busy``
    (its snapshot ends pending at apply)."""
    locked = [replace(d, locked=True) if d.id == 7 else d for d in DROPLETS]
    for found in (
        held(the_plan(), IMAGES, locked),
        held(the_plan(), IMAGES, DROPLETS, snapshotting={7: 5}),
    ):
        assert (found.differ, found.droplets, found.busy) == (set(), set(), {7})


@pytest.mark.parametrize(
    ("change", "droplets"),
    [
        (lambda views: [replace(views[0], tags=()), *views[1:]], {7}),
        (lambda views: [replace(views[0], name="renamed"), *views[1:]], {7}),
        (lambda views: [replace(views[0], status="off"), *views[1:]], {7}),
        (lambda views: views[1:], {7}),
        (lambda views: [*views, droplet(10)], {10}),
    ],
    ids=["lost its tag", "renamed", "powered off", "destroyed", "a new one"],
)
def test_a_droplet_that_changed_makes_the_plan_stale(change: Any, droplets: set[int]) -> None:
    """A droplet renamed, re-tagged, powered off, gone or new since the plan: it differs."""
    found = held(the_plan(), IMAGES, change(list(DROPLETS)))
    assert droplets <= found.droplets


def test_a_planned_snapshot_made_is_the_plans_progress() -> None:
    """After a first apply made droplet 7's snapshot (named as planned): the snapshot is
    done, the new image's entries are the plan's own, and its deletions are the same."""
    planned = the_plan()
    made = snap(20, "web-7-20261204-040000", hours=-0.1, regions=["nyc3"])
    found = held(planned, [*IMAGES, made], DROPLETS)
    assert (found.differ, found.droplets) == (set(), set())
    assert {e.droplet_id: why for e, why in found.done.items()} == {7: "already made: image 20"}
    fresh = plan(planned.fleet, [*IMAGES, made], DROPLETS)
    go, gone, changed = deletable(planned.of("delete"), planned.digests, IMAGES, fresh)
    assert ([e.image_id for e in go], gone, changed) == ([2], [], [])


@pytest.mark.parametrize(
    "edit",
    [
        lambda entries: [e for e in entries if e.action != "snapshot"],
        lambda entries: [replace(e, droplet_id=8) if e.action == "delete" else e for e in entries],
        lambda entries: [
            replace(e, action="delete", reason="x") if e.action == "orphaned" else e
            for e in entries
        ],
    ],
    ids=["a snapshot dropped", "a deletion moved to a droplet not due", "an orphan deleted"],
)
def test_a_forged_plan_differs_from_the_rule(edit: Any) -> None:
    """Entries edited (so a deletion would not wait, or an orphan kept by on_source_gone
    would go): the rule on the same account gives otherwise."""
    planned = replace(the_plan(), entries=edit(the_plan().entries))
    fresh = plan(planned.fleet, IMAGES, DROPLETS)
    found = compare(planned.entries, planned.digests, IMAGES, fresh, planned.droplets)
    assert found.differ or found.droplets


def test_too_many_deletions_refuse_a_plan_only_without_snapshots() -> None:
    """Over ``max_delete``: a plan with snapshots is not refused (it makes them and deletes
    nothing, saying ``--max-delete``); the same plan without its snapshots is, as today."""
    from do_images._jobs._fleet_apply import _check_apply

    planned = the_plan()
    assert planned.of("snapshot")
    over = _check_apply(planned, 0, timedelta(hours=1), None, True)
    assert over is not None
    assert f"--max-delete {len(planned.of('delete'))}" in over
    bare = replace(planned, entries=[e for e in planned.entries if e.action != "snapshot"])
    with pytest.raises(FleetError, match="more than max_delete 0"):
        _check_apply(bare, 0, timedelta(hours=1), None, True)


def test_no_wait_is_refused_for_a_power_off_group() -> None:
    """``wait=False`` with a ``power_off`` group: ``FleetError`` naming the group, before
    any request (``_check_apply`` makes none)."""
    from do_images._jobs._fleet_apply import _check_apply

    fleet = source_fleet(power_off=True)
    planned = fleet_plan(plan(fleet, [], DROPLETS), fleet)
    with pytest.raises(FleetError, match="group 'web' has power_off"):
        _check_apply(planned, None, timedelta(hours=1), None, False)
    assert _check_apply(planned, None, timedelta(hours=1), None, True) is None


def test_a_plan_entry_of_a_droplet_has_the_key_of_its_turn() -> None:
    """A busy droplet's ``pending`` entry has the key of its ``snapshot``: the same turn."""
    turn = PlanEntry(
        "snapshot", "web", None, None, "due", droplet_id=7, droplet_name="d", snapshot_name="n"
    )
    assert replace(turn, action="pending", reason="busy").key == turn.key
    assert replace(turn, action="pending", snapshot_name=None).key != turn.key


def test_a_plan_with_snapshots_reads_like_terraform() -> None:
    """The plan's words: ``+ snapshot droplet ID NAME`` with why, first in its group, then
    the deletions; the summary counts the snapshots."""
    import io

    from do_images.cli._fleet import show_plan
    from do_images.cli._output import Output

    stdout = io.StringIO()
    show_plan(Output(stdout, io.StringIO(), as_json=False), the_plan())
    lines = stdout.getvalue().splitlines()
    assert lines[:6] == [
        "do-images will make these changes:",
        "",
        "  # group web",
        "  + snapshot droplet 7 web-07         newest is 30 h old; every 24h",
        "  + snapshot droplet 6 web-06         no snapshot yet; every 24h",
        "  - delete   2 web-7-20261201-160000  "
        "rank 3 > keep 2, 2 days old, after this run's snapshot",
    ]
    assert "Plan: 2 snapshots, 0 transfers, 0 tags, 1 deletion; 3 kept, 1 orphaned." in lines


def test_a_snapshot_in_its_droplets_region_is_no_note_but_a_third_region_is() -> None:
    """A source group copying to ams3 and nyc3: droplet 2's snapshot, made in its own
    sfo3, gets no note for sfo3 (that is where it was made, every run); one also in lon1
    gets a note naming lon1 only."""
    fleet = source_fleet(regions=["nyc3", "ams3"])
    images = [
        owned(1, 2, hours=2, regions=("sfo3", "nyc3", "ams3")),
        owned(3, 4, hours=2, regions=("sfo3", "lon1", "nyc3", "ams3")),
    ]
    found = plan(fleet, images, [droplet(2, region="sfo3"), droplet(4, region="sfo3")])
    assert [note for note in found.notes if "outside" in note] == [
        f"image 3 ({images[1].name}) is also in lon1, outside the regions of group 'web': "
        "left as it is (the API cannot remove one region)"
    ]


def test_an_entry_made_fast_equals_one_made_by_its_constructor() -> None:
    """``PlanEntry.of_image`` (the rule's fast path) gives the entry the constructor gives,
    every field included: a field added to ``PlanEntry`` and not to it fails here."""
    from dataclasses import asdict, fields

    image = snap(7, "web-7-20261201-040000")
    fast = PlanEntry.of_image("keep", "web", image, "rank 1 of keep 7", 7)
    slow = PlanEntry("keep", "web", 7, image.name or "", "rank 1 of keep 7", droplet_id=7)
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert list(vars(fast)) == [field.name for field in fields(PlanEntry)]
    assert asdict(fast) == asdict(slow)
