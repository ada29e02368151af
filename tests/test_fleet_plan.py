"""The fleet rule as a pure function: inventory in, plan out, no HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from do_images import FleetError, Image
from do_images.fleet import Fleet, Group, plan_images

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def image(
    image_id: int,
    name: str = "web",
    *,
    days: float | None = 1,
    type: str = "snapshot",
    status: str = "available",
    regions: tuple[str, ...] = ("nyc3",),
    tags: tuple[str, ...] = (),
    public: bool = False,
) -> Image:
    payload: dict[str, Any] = {
        "id": image_id,
        "name": name,
        "type": type,
        "status": status,
        "regions": list(regions),
        "tags": list(tags),
        "public": public,
    }
    if days is not None:
        payload["created_at"] = (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Image.model_validate(payload)


def fleet(**group: Any) -> Fleet:
    return Fleet.from_dict({"version": 1, "group": [{"name": "web", "select": {}, **group}]})


def verdicts(plan: Any) -> dict[int, str]:
    return {
        e.image_id: e.action
        for e in plan.entries
        if e.action in ("keep", "delete", "protected", "pending")
    }


# ------------------------------------------------------------------ the table


CASES: dict[str, tuple[dict[str, Any], list[Image], dict[int, str]]] = {
    "keep-ranks-newest-first": (
        {"keep": 2},
        [image(1, days=30), image(2, days=10), image(3, days=20)],
        {2: "keep", 3: "keep", 1: "delete"},
    ),
    "ties-rank-the-higher-id-first": (
        {"keep": 1},
        [image(5, days=3), image(9, days=3)],
        {9: "keep", 5: "delete"},
    ),
    "max-age-alone": (
        {"max_age": "30d"},
        [image(1, days=40), image(2, days=31), image(3, days=5)],
        {3: "keep", 2: "delete", 1: "delete"},
    ),
    "keep-min-holds-against-max-age": (
        {"max_age": "30d", "keep_min": 2},
        [image(1, days=40), image(2, days=50), image(3, days=60)],
        {1: "keep", 2: "keep", 3: "delete"},
    ),
    "keep-or-max-age": (
        {"keep": 3, "max_age": "30d"},
        [image(i, days=d) for i, d in ((1, 1), (2, 2), (3, 45), (4, 4), (5, 5))],
        {1: "keep", 2: "keep", 4: "keep", 5: "delete", 3: "delete"},
    ),
    "keep-zero-with-keep-min-zero": (
        {"keep": 0, "keep_min": 0},
        [image(1), image(2)],
        {1: "delete", 2: "delete"},
    ),
    "neither-keep-nor-max-age-deletes-nothing": (
        {},
        [image(1, days=900), image(2, days=1)],
        {1: "keep", 2: "keep"},
    ),
    "protected-not-counted": (
        {"keep": 1, "protect_tags": ["golden"]},
        [image(1, days=1, tags=("golden",)), image(2, days=2), image(3, days=3)],
        {1: "protected", 2: "keep", 3: "delete"},
    ),
    "new-and-deleted-are-pending": (
        {"keep": 1},
        [image(1, status="NEW", days=0), image(2, status="deleted"), image(3), image(4, days=9)],
        {1: "pending", 2: "pending", 3: "keep", 4: "delete"},
    ),
    "pending-even-when-protected": (
        {"keep": 0, "keep_min": 0, "protect_tags": ["golden"]},
        [image(1, status="pending", tags=("golden",))],
        {1: "pending"},
    ),
    "no-created-at-is-kept-not-counted": (
        {"keep": 1},
        [image(1, days=None), image(2, days=3), image(3, days=4)],
        {1: "keep", 2: "keep", 3: "delete"},
    ),
    "backups-and-public-never-selected": (
        {"keep": 0, "keep_min": 0, "select": {"types": ["snapshot", "custom"]}},
        [image(1, type="backup"), image(2, public=True), image(3, type="custom"), image(4)],
        {3: "delete", 4: "delete"},
    ),
    "prefix-and-tag-select": (
        {"keep": 0, "keep_min": 0, "select": {"name_prefix": "web-", "tag": "web"}},
        [
            image(1, "web-1", tags=("web",)),
            image(2, "web-2"),
            image(3, "db-1", tags=("web",)),
            image(4, "web-4", tags=("web", "x")),
        ],
        {1: "delete", 4: "delete"},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_verdicts(case: str) -> None:
    """Each case of the table: the verdict on every image, and exactly one per matched image."""
    group, inventory, expected = CASES[case]
    plan = plan_images(fleet(**group), inventory, NOW)
    assert verdicts(plan) == expected
    # exactly one verdict for each matched image
    assert sorted(
        e.image_id or 0 for e in plan.entries if e.action not in ("transfer", "tag")
    ) == sorted(expected)


def test_reasons_say_why() -> None:
    """Every verdict carries its reason: its rank, its keep limit, its age against max_age."""
    plan = plan_images(
        fleet(keep=1, max_age="30d"), [image(1, days=2), image(2, days=64), image(3, days=3)], NOW
    )
    reasons = {e.image_id: e.reason for e in plan.entries}
    assert reasons == {
        1: "rank 1 of keep 1, 2 days old",
        3: "rank 2 > keep 1, 3 days old",
        2: "rank 3 > keep 1, 64 days old > max_age 30d",
    }


def test_transfers_and_tags_for_kept_and_protected_only() -> None:
    """Kept and protected images get transfers and tags; deleted ones do not; notes say why."""
    plan = plan_images(
        fleet(
            keep=1,
            regions=["nyc3", "sfo3"],
            ensure_tags=["managed"],
            protect_tags=["golden"],
        ),
        [
            image(1, days=1, regions=("nyc3",)),
            image(2, days=2, regions=("ams3",), tags=("golden", "managed")),
            image(3, days=3, regions=("lon1",)),
        ],
        NOW,
    )
    changes = [
        (e.action, e.image_id, e.region or e.tag)
        for e in plan.entries
        if e.action in ("transfer", "tag")
    ]
    assert changes == [
        ("transfer", 2, "nyc3"),
        ("transfer", 2, "sfo3"),
        ("transfer", 1, "sfo3"),
        ("tag", 1, "managed"),
    ]
    assert plan.notes == [
        "image 2 (web) is also in ams3, outside the regions of group 'web': left as it is "
        "(the API cannot remove one region)",
        "deleting image 3 removes the last image of group 'web' in lon1, outside its regions: "
        "none of the images kept is there",
    ]


def test_a_region_already_present_is_no_transfer() -> None:
    """An image in every region of its group needs no transfer, and earns no note."""
    plan = plan_images(fleet(regions=["nyc3", "sfo3"]), [image(1, regions=("sfo3", "nyc3"))], NOW)
    assert [e.action for e in plan.entries] == ["keep"]
    assert plan.notes == []


def test_a_transfer_in_progress_is_waited_for() -> None:
    """A region with a transfer under way is marked with that action, to be waited for."""
    plan = plan_images(
        fleet(regions=["nyc3", "sfo3", "ams3"]),
        [image(1, regions=("nyc3",))],
        NOW,
        running={1: {"sfo3": 77}},
    )
    transfers = [(e.region, e.running) for e in plan.entries if e.action == "transfer"]
    assert transfers == [("sfo3", 77), ("ams3", None)]


def test_an_image_in_two_groups_is_an_error_naming_both() -> None:
    """An image two groups select is a ``FleetError`` that names both groups."""
    two = Fleet.from_dict(
        {
            "version": 1,
            "group": [
                {"name": "web", "select": {"name_prefix": "web"}},
                {"name": "all", "select": {"tag": "prod"}},
            ],
        }
    )
    with pytest.raises(FleetError, match="groups 'web' and 'all'"):
        plan_images(two, [image(1, "web-1", tags=("prod",))], NOW)


# ------------------------------------------------------------- the property


INVENTORY = st.lists(
    st.builds(
        image,
        st.integers(1, 60),
        st.sampled_from(["web-1", "web-2", "db-1"]),
        days=st.one_of(st.none(), st.floats(0, 400)),
        type=st.sampled_from(["snapshot", "snapshot", "custom", "backup"]),
        status=st.sampled_from(["available", "available", "NEW", "pending"]),
        tags=st.lists(st.sampled_from(["web", "keep", "x"]), max_size=2, unique=True).map(tuple),
        public=st.booleans(),
    ),
    max_size=30,
    unique_by=lambda i: i.id,
)


@st.composite
def groups(draw: st.DrawFn) -> dict[str, Any]:
    keep_min = draw(st.integers(0, 3))
    group: dict[str, Any] = {"keep_min": keep_min, "protect_tags": ["keep"]}
    if draw(st.booleans()):
        group["keep"] = draw(st.integers(keep_min, keep_min + 3))
    if draw(st.booleans()):
        group["max_age"] = f"{draw(st.integers(1, 300))}d"
    select: dict[str, Any] = {
        "types": draw(st.sampled_from([["snapshot"], ["snapshot", "custom"]]))
    }
    if draw(st.booleans()):
        select["name_prefix"] = "web-"
    if draw(st.booleans()):
        select["tag"] = "web"
    group["select"] = select
    return group


@settings(max_examples=300, deadline=None)
@given(INVENTORY, groups())
def test_no_deletion_breaks_the_rules(inventory: list[Image], group: dict[str, Any]) -> None:
    """Over random inventories: every deletion is selected, available, unprotected, dated,
    past keep_min, and past keep or max_age."""
    the_fleet = fleet(**group)
    rules = the_fleet.groups[0]
    assert isinstance(rules, Group)
    plan = plan_images(the_fleet, inventory, NOW)
    by_id = {i.id: i for i in inventory}
    ranked = sorted(
        (
            i
            for i in inventory
            if rules.select.selects(i)
            and str(i.status) == "available"
            and i.created_at is not None
            and "keep" not in (i.tags or [])
        ),
        key=lambda i: (i.created_at, i.id),
        reverse=True,
    )
    rank = {i.id: n for n, i in enumerate(ranked, 1)}
    deleted = [e.image_id or 0 for e in plan.entries if e.action == "delete"]
    for image_id in deleted:
        victim = by_id[image_id]
        assert rules.select.selects(victim)
        assert victim.public is False
        assert str(victim.type) != "backup"
        assert "keep" not in (victim.tags or [])
        assert image_id in rank
        assert rank[image_id] > rules.keep_min
        assert victim.created_at is not None
        too_old = rules.max_age is not None and NOW - victim.created_at > rules.max_age
        assert (rules.keep is not None and rank[image_id] > rules.keep) or too_old
    assert len(ranked) - len(deleted) >= min(rules.keep_min, len(ranked))


def test_an_image_listed_twice_counts_once() -> None:
    """Pages shift while a listing is read: the same image on two pages is one image."""
    plan = plan_images(fleet(keep=1), [image(1, days=1), image(2, days=2), image(1, days=1)], NOW)
    assert verdicts(plan) == {1: "keep", 2: "delete"}
    assert len([e for e in plan.entries if e.image_id == 1]) == 1


def test_a_note_when_a_deletion_removes_the_groups_last_copy_outside_its_regions() -> None:
    """The only image of a group in ams3 (outside ``regions``) is deleted: the plan says so."""
    plan = plan_images(
        fleet(keep=1, regions=["nyc3"]),
        [image(1, "app-old", days=30, regions=("ams3",)), image(2, "app-new", regions=("nyc3",))],
        NOW,
    )
    assert verdicts(plan) == {2: "keep", 1: "delete"}
    assert plan.notes == [
        "deleting image 1 removes the last image of group 'web' in ams3, outside its regions: "
        "none of the images kept is there"
    ]


def test_no_note_when_a_kept_image_stays_in_that_region() -> None:
    """A kept image also in ams3 keeps a copy there: no last-copy note, only the outside one."""
    plan = plan_images(
        fleet(keep=1, regions=["nyc3"]),
        [image(1, days=30, regions=("ams3",)), image(2, regions=("nyc3", "ams3"))],
        NOW,
    )
    assert [note for note in plan.notes if "last image" in note] == []
