"""Fleets end to end on both clients: plan, save, apply, again, stale, limits, failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from do_images import AsyncClient, Client, FleetError, StalePlanError
from do_images.fleet import Fleet, FleetPlan
from do_images.testing import SANDBOX_BASE_URL, SANDBOX_TOKEN, Sandbox
from support import Driver, driver

START = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
FLEET = """\
version = 1

[[group]]
name = "web"
select = { name_prefix = "web-" }
regions = ["nyc3", "sfo3"]
keep = 2
max_age = "30d"
ensure_tags = ["managed"]
"""


@pytest.fixture
def world() -> Sandbox:
    sandbox = Sandbox(start=START, seed=False)
    for number, days, regions in (
        (1, 1, ["nyc3"]),
        (2, 5, ["nyc3", "sfo3"]),
        (3, 40, ["nyc3"]),
        (4, 50, ["nyc3"]),
    ):
        sandbox.add_image(
            f"web-{number}", id=number, regions=regions, created_at=START - timedelta(days=days)
        )
    sandbox.add_image("db-1", id=9, created_at=START - timedelta(days=400))
    return sandbox


@pytest.fixture
def fleet_file(tmp_path: Path) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(FLEET)
    return path


@pytest.fixture
def do(kind: str, world: Sandbox) -> Iterator[Driver]:
    client = world.client() if kind == "sync" else world.async_client()
    with driver(kind, client=client) as made:
        yield made


def changes(plan: FleetPlan) -> list[tuple[str, int | None, str | None]]:
    return [
        (e.action, e.image_id, e.region or e.tag)
        for e in plan.entries
        if e.action in ("transfer", "tag", "delete")
    ]


def test_plan_save_apply_then_nothing_to_do(
    do: Driver, world: Sandbox, fleet_file: Path, tmp_path: Path
) -> None:
    """Plan, save, load and apply: exactly the planned changes, then a plan with nothing to do."""
    plan = do.image.plan_fleet(Fleet.load(fleet_file))
    assert changes(plan) == [
        ("delete", 3, None),
        ("delete", 4, None),
        ("transfer", 1, "sfo3"),
        ("tag", 1, "managed"),
        ("tag", 2, "managed"),
    ]
    assert plan.summary == "Plan: 1 transfer, 2 tags, 2 deletions; 2 kept."
    # A plan reads the regions, the pages and one action list (web-1 lacks sfo3), nothing
    # else; and says so.
    assert [(r.method, r.operation) for r in world.requests] == [
        ("GET", "regions_list"),
        ("GET", "images_list"),
        ("GET", "imageActions_list"),
    ]
    assert plan.estimate["plan"] == {"regions_list": 1, "images_list": 1, "imageActions_list": 1}
    plan.save(tmp_path / "plan.json")
    loaded = FleetPlan.load(tmp_path / "plan.json")
    assert loaded.fingerprint == plan.fingerprint
    report = do.image.apply_fleet(loaded)
    assert report.ok
    assert sorted((r.entry.action, r.outcome) for r in report.results) == [
        ("delete", "done"),
        ("delete", "done"),
        ("tag", "done"),
        ("tag", "done"),
        ("transfer", "done"),
    ]
    assert {image.id for image in world.images} == {1, 2, 9}
    assert do.image.info(1).regions == ["nyc3", "sfo3"]
    assert do.image.info(2).tags == ["managed"]
    again = do.image.plan_fleet(Fleet.load(fleet_file))
    assert again.changes == 0
    assert again.summary == "No changes: the account matches the fleet file; 2 kept."
    before = world.count("POST") + world.count("DELETE")
    assert do.image.apply_fleet(again).results == []
    assert world.count("POST") + world.count("DELETE") == before


def test_a_renamed_image_makes_the_plan_stale(do: Driver, world: Sandbox, fleet_file: Path) -> None:
    """An image the plan deletes, renamed since: ``StalePlanError`` naming it, nothing sent."""
    plan = do.image.plan_fleet(Fleet.load(fleet_file))
    do.image.update(3, "web-3-renamed")
    with pytest.raises(StalePlanError) as caught:
        do.image.apply_fleet(plan)
    assert caught.value.changed == [3]
    assert world.count("POST") == 0
    assert world.count("DELETE") == 0


def test_a_changed_fleet_file_makes_the_plan_stale(
    do: Driver, world: Sandbox, fleet_file: Path
) -> None:
    """The fleet file edited after the plan: ``StalePlanError`` before any change."""
    plan = do.image.plan_fleet(Fleet.load(fleet_file))
    fleet_file.write_text(FLEET.replace("keep = 2", "keep = 3"))
    with pytest.raises(StalePlanError, match="fleet file") as caught:
        do.image.apply_fleet(plan)
    assert caught.value.changed == []
    assert world.count("POST") == 0


def test_an_old_plan_is_refused_by_the_servers_clock(
    do: Driver, world: Sandbox, fleet_file: Path
) -> None:
    """Older than ``max_plan_age`` by the server's clock: stale; a longer age lets it run."""
    plan = do.image.plan_fleet(Fleet.load(fleet_file))
    world.advance(3601)
    with pytest.raises(StalePlanError, match="old by the server's clock"):
        do.image.apply_fleet(plan)
    do.image.apply_fleet(plan, max_plan_age=timedelta(hours=2))


def test_more_deletions_than_allowed_are_refused_before_any_request(
    do: Driver, world: Sandbox, fleet_file: Path
) -> None:
    """Over ``max_delete``: ``FleetError`` in the SDK's words, before any request."""
    plan = do.image.plan_fleet(Fleet.load(fleet_file))
    sent = len(world.requests)
    with pytest.raises(
        FleetError, match=r"deletes 2 images, more than max_delete 1.*max_delete=2\)$"
    ) as caught:
        do.image.apply_fleet(plan, max_delete=1)
    assert "--max-delete" not in str(caught.value)  # the SDK speaks Python, the CLI flags
    assert len(world.requests) == sent


def test_a_failed_transfer_keeps_its_groups_deletions(
    do: Driver, world: Sandbox, fleet_file: Path
) -> None:
    """An errored transfer fails its entry and skips its group's deletions; tags still run."""
    plan = do.image.plan_fleet(Fleet.load(fleet_file))
    world.error_next_action()
    report = do.image.apply_fleet(plan)
    outcomes = {(r.entry.action, r.entry.image_id): r.outcome for r in report.results}
    assert outcomes == {
        ("transfer", 1): "failed",
        ("tag", 1): "done",
        ("tag", 2): "done",
        ("delete", 3): "skipped",
        ("delete", 4): "skipped",
    }
    assert all("a transfer of group 'web' failed" in r.detail for r in report.of("skipped"))
    assert {image.id for image in world.images} == {1, 2, 3, 4, 9}
    assert not report.ok


def _interrupting(world: Sandbox, kind: str) -> Client | AsyncClient:
    """A client wired to ``world`` whose first sleep (the first wait for a transfer) is a
    Ctrl-C."""

    def sleep(seconds: float) -> None:
        raise KeyboardInterrupt

    async def async_sleep(seconds: float) -> None:
        raise KeyboardInterrupt

    common: dict[str, Any] = {"base_url": SANDBOX_BASE_URL, "clock": world.clock}
    if kind == "sync":
        return Client(SANDBOX_TOKEN, transport=world.transport(), sleep=sleep, **common)
    return AsyncClient(
        SANDBOX_TOKEN, transport=world.async_transport(), sleep=async_sleep, **common
    )


def test_ctrl_c_then_a_new_plan_waits_for_the_running_transfer(
    kind: str, do: Driver, world: Sandbox, fleet_file: Path
) -> None:
    """After Ctrl-C a new plan marks the running transfer waited for; applying it starts none."""
    fleet = Fleet.load(fleet_file)
    plan = do.image.plan_fleet(fleet)
    with (
        driver(kind, client=_interrupting(world, kind)) as stopped,
        pytest.raises(KeyboardInterrupt),
    ):
        stopped.image.apply_fleet(plan)
    assert world.count("POST", "imageActions_post") == 1  # the transfer started
    resumed = do.image.plan_fleet(fleet)
    (transfer,) = resumed.of("transfer")
    assert transfer.running is not None
    assert "under way: waited for" in transfer.reason
    report = do.image.apply_fleet(resumed)
    assert report.ok
    assert world.count("POST", "imageActions_post") == 1  # never started twice
    assert do.image.info(1).regions == ["nyc3", "sfo3"]
    assert do.image.plan_fleet(fleet).changes == 0


def test_a_plan_of_many_pages_reads_each_page_once(kind: str) -> None:
    """A 450-image plan reads each page once, and estimates the re-reads and deletions."""
    world = Sandbox(start=START, seed=False)
    for number in range(1, 451):
        world.add_image(
            f"web-{number}",
            id=number,
            created_at=START - timedelta(hours=number),
            regions=["nyc3", "sfo3"],
        )
    fleet = Fleet.from_dict(
        {
            "version": 1,
            "group": [
                {
                    "name": "web",
                    "select": {"name_prefix": "web-"},
                    "regions": ["nyc3", "sfo3"],
                    "keep": 440,
                }
            ],
        }
    )
    client = world.client() if kind == "sync" else world.async_client()
    with driver(kind, client=client) as do:
        plan = do.image.plan_fleet(fleet)
    assert plan.pages == 3
    assert [r.operation for r in world.requests] == ["regions_list"] + ["images_list"] * 3
    assert len(plan.of("delete")) == 10
    # the re-read (3 pages), 10 deletions, and the group's re-read just before them
    assert plan.estimate["requests"] == 3 + 10 + 3


def test_the_plan_document_fits_its_schema_and_refuses_damage(
    do: Driver, fleet_file: Path, tmp_path: Path
) -> None:
    """The document fits its committed schema, round-trips, and damage is a ``FleetError``."""
    from spec_support import committed_schema, validator

    plan = do.image.plan_fleet(Fleet.load(fleet_file))
    document = json.loads(json.dumps(plan.to_json()))
    assert list(validator(committed_schema("fleet_plan")).iter_errors(document)) == []
    assert FleetPlan.from_json(document).to_json() == document
    tampered = {**document, "entries": document["entries"][1:]}
    with pytest.raises(FleetError, match="fingerprint does not match"):
        FleetPlan.from_json(tampered)
    with pytest.raises(FleetError, match="damaged fleet plan: fingerprint"):
        FleetPlan.from_json({k: v for k, v in document.items() if k != "fingerprint"})
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(FleetError, match="not JSON"):
        FleetPlan.load(tmp_path / "x.json")


@pytest.mark.parametrize(("region", "why"), [("mars1", "is unknown"), ("ams1", "is not available")])
def test_a_region_the_api_does_not_offer_is_refused_before_the_images_are_read(
    do: Driver, world: Sandbox, region: str, why: str
) -> None:
    """A group's region that ``GET /v2/regions`` does not list, or lists as unavailable:
    ``FleetError`` naming the region and the group, before anything else is planned."""
    fleet = Fleet.from_dict(
        {"version": 1, "group": [{"name": "web", "select": {}, "regions": ["nyc3", region]}]}
    )
    with pytest.raises(FleetError, match=f"group 'web': region '{region}' {why}"):
        do.image.plan_fleet(fleet)
    assert [r.operation for r in world.requests] == ["regions_list"]


def test_the_fleet_files_max_delete_is_the_default(do: Driver, world: Sandbox) -> None:
    """``max_delete`` in the file bounds an apply that names none; the argument wins."""
    fleet = Fleet.from_dict(
        {
            "version": 1,
            "max_delete": 1,
            "group": [{"name": "web", "select": {"name_prefix": "web-"}, "keep": 2}],
        }
    )
    plan = do.image.plan_fleet(fleet)
    with pytest.raises(FleetError, match="deletes 2 images, more than max_delete 1"):
        do.image.apply_fleet(plan)
    assert world.count("DELETE") == 0
    assert do.image.apply_fleet(plan, max_delete=2).ok
    assert world.count("DELETE") == 2


def test_a_fleet_with_a_source_group_reads_its_droplets(do: Driver, world: Sandbox) -> None:
    """A fleet with ``source`` is planned: its droplets are listed by tag (every page), a
    ``snapshot`` entry for each; none of the images is touched by the source group."""
    world.add_droplet("w-1", id=31, tags=["w"])
    fleet = Fleet.from_dict(
        {"version": 1, "group": [{"name": "web", "source": {"droplet_tag": "w"}, "every": "1h"}]}
    )
    plan = do.image.plan_fleet(fleet)
    assert [(e.action, e.droplet_id) for e in plan.entries] == [("snapshot", 31)]
    assert world.count("GET", "droplets_list") == 1


def test_a_max_delete_raised_in_the_plan_is_refused_while_the_fleet_file_is_there(
    do: Driver, world: Sandbox, tmp_path: Path
) -> None:
    """A plan whose ``max_delete`` was raised (fingerprint recomputed) while its fleet file
    says otherwise: stale, nothing deleted."""
    from fleet_support import forge

    path = tmp_path / "fleet.toml"
    path.write_text("max_delete = 1\n" + FLEET)
    plan = do.image.plan_fleet(Fleet.load(path))
    raised = FleetPlan.from_json(forge(plan, lambda doc: doc["fleet"].update(max_delete=50)))
    assert raised.fleet.max_delete == 50
    with pytest.raises(StalePlanError, match="not those of its fleet file"):
        do.image.apply_fleet(raised)
    assert world.count("DELETE") == 0
