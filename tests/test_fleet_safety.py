"""Apply keeps the fleet's promises where real runs break them: the rule decides, not the
plan file (H3); deletions are re-checked when they happen (H4); started work is adopted,
never started twice (M1); every field apply uses is fingerprinted and checked (M6)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from do_images import AsyncClient, Client, FleetError, StalePlanError
from do_images.fleet import EntryResult, Fleet, FleetPlan, FleetReport, PlanEntry
from do_images.testing import Sandbox
from fleet_support import (
    BACKUP,
    FLEET,
    OTHER,
    PROTECTED,
    PUBLIC,
    START,
    entry,
    forge,
    hooked_client,
    inventory,
    is_transfer_post,
    the_fleet,
    transfers_started,
)
from support import Driver, driver


@pytest.fixture
def world() -> Sandbox:
    return inventory()


@pytest.fixture
def do(kind: str, world: Sandbox) -> Iterator[Driver]:
    client = world.client() if kind == "sync" else world.async_client()
    with driver(kind, client=client) as made:
        yield made


def ids(sandbox: Sandbox) -> set[int]:
    return {image.id for image in sandbox.images}


# ------------------------------------------------------------- H3: the rule decides

FORGERIES: dict[str, Callable[[dict[str, Any]], object]] = {
    "the newest (keep_min) deleted": lambda doc: _verdict(doc, 1, "delete"),
    "a kept image deleted": lambda doc: _verdict(doc, 2, "delete"),
    "a protected image deleted": lambda doc: _verdict(doc, PROTECTED, "delete"),
    "a backup deleted": lambda doc: doc["entries"].append(entry("delete", BACKUP)),
    "a public image deleted": lambda doc: doc["entries"].append(entry("delete", PUBLIC)),
    "an image no group selects deleted": lambda doc: doc["entries"].append(entry("delete", OTHER)),
    "a planned deletion dropped": lambda doc: doc.update(
        entries=[e for e in doc["entries"] if e["image_id"] != 4]
    ),
    "a transfer to another region": lambda doc: doc["entries"].append(
        entry("transfer", 1, region="ams3")
    ),
}


def _verdict(document: dict[str, Any], image_id: int, action: str) -> None:
    for item in document["entries"]:
        if item["image_id"] == image_id and item["action"] in ("keep", "protected"):
            item["action"] = action


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_plan_is_refused_before_any_change(
    do: Driver, world: Sandbox, forgery: str
) -> None:
    """An edited plan with its fingerprint recomputed is refused before any change: invalid
    (an image it never matched) or stale (not what the rule gives on the account now)."""
    plan = do.image.plan_fleet(the_fleet())
    with pytest.raises(FleetError, match=r"invalid plan|not what its fleet gives"):
        do.image.apply_fleet(FleetPlan.from_json(forge(plan, FORGERIES[forgery])))
    assert world.count("POST") + world.count("DELETE") == 0
    assert {1, 2, 3, 4, PROTECTED, BACKUP, PUBLIC, OTHER} <= ids(world)


@pytest.mark.parametrize("victim", [BACKUP, PUBLIC, OTHER])
def test_a_forged_deletion_with_a_forged_digest_deletes_nothing(
    do: Driver, world: Sandbox, victim: int
) -> None:
    """Even with a digest forged for it, an image outside the fleet is never sent a DELETE."""
    plan = do.image.plan_fleet(the_fleet())

    def add(document: dict[str, Any]) -> None:
        document["entries"].append(entry("delete", victim))
        document["images"][str(victim)] = "0" * 64

    forged = FleetPlan.from_json(forge(plan, add))
    if victim == PUBLIC:  # not in the account's listing: "gone", so nothing to delete
        report = do.image.apply_fleet(forged)
        assert [r.detail for r in report.results if r.entry.image_id == victim] == ["already gone"]
        assert world.count("DELETE") == 2  # 3 and 4, the plan's own
    else:  # in the listing, and the rule does not delete it: refused
        with pytest.raises(StalePlanError):
            do.image.apply_fleet(forged)
        assert world.count("DELETE") == 0
    assert victim in ids(world)


def test_a_plan_object_edited_in_python_is_refused_too(do: Driver, world: Sandbox) -> None:
    """No JSON needed: a ``FleetPlan`` whose entries were replaced is held to the rule as well."""
    plan = do.image.plan_fleet(the_fleet())
    extra = PlanEntry("delete", "web", BACKUP, "web-backup", "edited")
    with pytest.raises(StalePlanError):
        do.image.apply_fleet(
            dataclasses.replace(
                plan, entries=[*plan.entries, extra], digests={**plan.digests, BACKUP: "x"}
            )
        )
    assert world.count("DELETE") == 0


def test_groups_edited_in_the_plan_are_refused_while_the_fleet_file_is_there(
    do: Driver, world: Sandbox, tmp_path: Path
) -> None:
    """A plan whose groups were loosened (keep_min 0) but whose fleet file says otherwise."""
    path = tmp_path / "fleet.toml"
    path.write_text(
        'version = 1\n[[group]]\nname = "web"\nselect = { name_prefix = "web-" }\nkeep = 2\n'
    )
    plan = do.image.plan_fleet(Fleet.load(path))

    def loosen(document: dict[str, Any]) -> None:
        document["fleet"]["groups"][0].update(keep=0, keep_min=0)

    with pytest.raises(StalePlanError, match="not those of its fleet file"):
        do.image.apply_fleet(FleetPlan.from_json(forge(plan, loosen)))
    assert world.count("DELETE") == 0


# ------------------------------------------- H4: deletions re-checked when they happen


def _during_the_wait(world: Sandbox, change: Callable[[Client], object]) -> Callable[..., None]:
    """An ``on_result`` that, at the first transfer's result (after the transfers, before any
    deletion), lets a colleague change the account."""
    done: list[EntryResult] = []

    def on_result(result: EntryResult) -> None:
        if result.entry.action == "transfer" and not done:
            done.append(result)
            with world.client() as colleague:
                change(colleague)

    return on_result


def _outcomes(report: FleetReport) -> dict[int, tuple[str, str]]:
    deletions = [r for r in report.results if r.entry.action == "delete"]
    return {r.entry.image_id or 0: (r.outcome, r.detail) for r in deletions}


def test_a_protect_tag_added_during_the_wait_keeps_the_image(do: Driver, world: Sandbox) -> None:
    """A colleague tags a doomed image ``keep`` while transfers run: it is skipped, not deleted."""
    plan = do.image.plan_fleet(the_fleet())
    assert sorted(plan.image_ids("delete")) == [3, 4]
    report = do.image.apply_fleet(
        plan, on_result=_during_the_wait(world, lambda c: c.image.tag(3, "keep"))
    )
    assert _outcomes(report) == {
        3: ("skipped", "changed since the plan: not deleted"),
        4: ("done", "deleted"),
    }
    assert not report.ok
    assert 3 in ids(world)
    assert 4 not in ids(world)


def test_a_rename_during_the_wait_keeps_the_image(do: Driver, world: Sandbox) -> None:
    """An image renamed since the plan (still selected) is not the image planned: skipped."""
    plan = do.image.plan_fleet(the_fleet())
    report = do.image.apply_fleet(
        plan, on_result=_during_the_wait(world, lambda c: c.image.update(4, "web-4-in-use"))
    )
    assert _outcomes(report)[4][0] == "skipped"
    assert 4 in ids(world)


def test_the_kept_images_deleted_during_the_wait_keep_the_next_ones(
    do: Driver, world: Sandbox
) -> None:
    """A colleague deletes the two images the plan keeps: the rule now keeps 3 (keep_min), so it
    stays; 4 is still beyond it and goes. Never one more image than the rule allows."""
    plan = do.image.plan_fleet(the_fleet())

    def delete_kept(colleague: Client) -> None:
        colleague.image.destroy(1)
        colleague.image.destroy(2)

    report = do.image.apply_fleet(plan, on_result=_during_the_wait(world, delete_kept))
    assert _outcomes(report)[3][0] == "skipped"
    assert _outcomes(report)[4] == ("done", "deleted")
    assert 3 in ids(world)


def test_a_new_image_during_the_wait_deletes_no_more_than_planned(
    do: Driver, world: Sandbox
) -> None:
    """A newer image arrives: the rule would now delete web-2 too; the plan did not: it stays."""
    plan = do.image.plan_fleet(the_fleet())

    def arrive(colleague: Client) -> None:
        world.add_image("web-new", regions=["nyc3", "sfo3"], tags=["managed"])

    report = do.image.apply_fleet(plan, on_result=_during_the_wait(world, arrive))
    assert _outcomes(report) == {3: ("done", "deleted"), 4: ("done", "deleted")}
    assert 2 in ids(world)


def test_no_fresh_listing_means_no_deletion(do: Driver, world: Sandbox) -> None:
    """The listing before the deletions fails (after its retries): nothing is deleted."""
    plan = do.image.plan_fleet(the_fleet())

    def refuse(colleague: Client) -> None:
        world.fail_next(503, times=50, method="GET")

    report = do.image.apply_fleet(plan, on_result=_during_the_wait(world, refuse))
    assert {outcome for outcome, _ in _outcomes(report).values()} == {"skipped"}
    assert all("no fresh listing" in detail for _, detail in _outcomes(report).values())
    assert world.count("DELETE") == 0


# -------------------------------------------------- M1: started work is adopted


def _interrupted(world: Sandbox, kind: str) -> Client | AsyncClient:
    """A client whose first sleep (the first wait for a transfer) is a Ctrl-C."""

    def stop(seconds: float) -> None:
        raise KeyboardInterrupt

    return hooked_client(world, lambda *request: None, kind, sleep=stop)


def test_the_same_plan_after_ctrl_c_adopts_the_running_transfer(
    kind: str, do: Driver, world: Sandbox
) -> None:
    """Ctrl-C mid-wait, then the same saved plan again: no second POST, and it ends ok."""
    document = do.image.plan_fleet(the_fleet()).to_json()
    with (
        driver(kind, client=_interrupted(world, kind)) as stopped,
        pytest.raises(KeyboardInterrupt),
    ):
        stopped.image.apply_fleet(FleetPlan.from_json(document))
    assert world.count("POST", "imageActions_post") == 1
    report = do.image.apply_fleet(FleetPlan.from_json(document))
    assert report.ok
    (transfer,) = [r for r in report.results if r.entry.action == "transfer"]
    assert "adopted" in transfer.detail
    assert world.count("POST", "imageActions_post") == 1
    assert transfers_started(world) == {("/v2/images/1/actions", "sfo3"): 1}
    assert ids(world) >= {1, 2}
    assert not ids(world) & {3, 4}


def test_a_422_from_a_race_is_adopted(kind: str, world: Sandbox) -> None:
    """Another run starts the transfer between our action-list read and our POST: the 422
    is answered by reading the list again and adopting that transfer."""
    raced: list[str] = []

    def another_run(method: str, path: str, body: bytes) -> None:
        if is_transfer_post(method, path, body) and not raced:
            raced.append(path)
            world.add_action(1, "transfer", region="sfo3")

    with driver(kind, client=hooked_client(world, another_run, kind)) as do:
        report = do.image.apply_fleet(do.image.plan_fleet(the_fleet()))
    assert report.ok
    (transfer,) = [r for r in report.results if r.entry.action == "transfer"]
    assert "adopted" in transfer.detail
    assert world.count("POST", "imageActions_post") == 1  # ours, refused with 422
    assert [a.region_slug for a in world.actions if a.type == "transfer"] == ["sfo3"]


def test_two_applies_of_one_plan_on_threads_both_end_ok(world: Sandbox) -> None:
    """Two threads apply one plan at once, meeting at their transfer POSTs: one starts it,
    the other adopts it (422), both end ok; no transfer started twice."""
    meet = threading.Barrier(2, timeout=10)

    def at_the_post(method: str, path: str, body: bytes) -> None:
        if is_transfer_post(method, path, body):
            meet.wait()

    with world.client() as planner:
        document = planner.image.plan_fleet(the_fleet()).to_json()
    reports: list[FleetReport] = []

    def apply() -> None:
        client = hooked_client(world, at_the_post)
        assert isinstance(client, Client)
        with client:
            reports.append(client.image.apply_fleet(FleetPlan.from_json(document)))

    threads = [threading.Thread(target=apply) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [report.ok for report in reports] == [True, True]
    assert transfers_started(world) == {("/v2/images/1/actions", "sfo3"): 1}
    assert world.count("POST", "imageActions_post") == 2  # one started, one refused and adopted
    assert not ids(world) & {3, 4}


def test_two_applies_against_a_served_sandbox(world: Sandbox) -> None:
    """Two clients over real HTTP apply one plan at once: both ok, one transfer POST made."""
    with world.client() as planner:
        document = planner.image.plan_fleet(the_fleet()).to_json()
    reports: list[FleetReport] = []
    with world.serve() as base_url:

        def apply() -> None:
            with Client(
                "dop_v1_served", base_url=base_url, sleep=world.advance, clock=world.clock
            ) as client:
                reports.append(client.image.apply_fleet(FleetPlan.from_json(document)))

        threads = [threading.Thread(target=apply) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert [report.ok for report in reports] == [True, True]
    assert transfers_started(world) == {("/v2/images/1/actions", "sfo3"): 1}


def test_two_processes_apply_one_saved_plan(tmp_path: Path) -> None:
    """Two ``do-images --sandbox --state`` processes apply one plan.json at once: both exit 0
    and the state holds one transfer per region."""
    state = tmp_path / "st.json"
    seeded = inventory(state=state)
    (tmp_path / "fleet.toml").write_text(
        'version = 1\n[[group]]\nname = "web"\nselect = { name_prefix = "web-" }\n'
        'regions = ["nyc3", "sfo3"]\nkeep = 2\nmax_age = "30d"\nprotect_tags = ["keep"]\n'
    )
    del seeded
    command = [sys.executable, "-m", "do_images.cli", "--sandbox", "--state", str(state)]
    environ = {**os.environ, "DIGITALOCEAN_TOKEN": ""}
    subprocess.run(
        [*command, "plan", "fleet.toml", "--out", "plan.json"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env=environ,
    )
    runs = [
        subprocess.Popen(
            [*command, "apply", "plan.json", "--yes"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environ,
        )
        for _ in range(2)
    ]
    outcomes = [(run.wait(60), run.stderr.read().decode() if run.stderr else "") for run in runs]
    for run in runs:
        for stream in (run.stdout, run.stderr):
            if stream is not None:
                stream.close()
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    after = Sandbox(state=state)
    transfers = [(a.resource_id, a.region_slug) for a in after.actions if a.type == "transfer"]
    assert sorted(transfers) == [(1, "sfo3")]
    assert not {image.id for image in after.images} & {3, 4}


def test_an_async_apply_cancelled_mid_wait_is_adopted_by_the_next(world: Sandbox) -> None:
    """An ``AsyncClient`` apply cancelled while it waits; the same plan again: one POST, ok."""

    async def scenario() -> FleetReport:
        async with world.async_client() as planner:
            plan = await planner.image.plan_fleet(the_fleet())
        waiting = asyncio.Event()

        async def stall(seconds: float) -> None:
            waiting.set()
            await asyncio.sleep(3600)

        stopped = hooked_client(world, lambda *request: None, "async", async_sleep=stall)
        assert isinstance(stopped, AsyncClient)
        async with stopped:
            task = asyncio.ensure_future(stopped.image.apply_fleet(plan))
            await waiting.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        async with world.async_client() as again:
            return await again.image.apply_fleet(plan)

    report = asyncio.run(scenario())
    assert report.ok
    assert transfers_started(world) == {("/v2/images/1/actions", "sfo3"): 1}


# ------------------------------------------ M6: every field apply uses is checked


def test_fields_edited_without_the_fingerprint_are_refused(do: Driver) -> None:
    """listed_at, fleet.path and fleet.groups are fingerprinted: a hand edit is refused."""
    plan = do.image.plan_fleet(the_fleet())
    edits: list[Callable[[dict[str, Any]], object]] = [
        lambda doc: doc.update(listed_at="2099-01-01T00:00:00Z"),
        lambda doc: doc["fleet"].update(path="/elsewhere/fleet.toml"),
        lambda doc: doc["fleet"]["groups"][0].update(name="other"),
        lambda doc: doc.update(notes=["edited"]),
        lambda doc: doc["images"].clear(),
    ]
    for edit in edits:
        with pytest.raises(FleetError, match="fingerprint does not match"):
            FleetPlan.from_json(forge(plan, edit, recompute=False))


def test_a_plan_from_the_future_is_refused(do: Driver, world: Sandbox) -> None:
    """listed_at moved later (fingerprint recomputed), past 60 s ahead of the server's Date:
    ``FleetError`` before any change; within 60 s it is accepted."""
    plan = do.image.plan_fleet(the_fleet())
    later = (START + timedelta(days=30)).isoformat()
    forged = FleetPlan.from_json(forge(plan, lambda doc: doc.update(listed_at=later)))
    with pytest.raises(FleetError, match="from the future"):
        do.image.apply_fleet(forged)
    assert world.count("POST") + world.count("DELETE") == 0
    soon = (START + timedelta(seconds=50)).isoformat()
    assert do.image.apply_fleet(
        FleetPlan.from_json(forge(plan, lambda doc: doc.update(listed_at=soon)))
    ).ok


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda doc: doc.update(listed_at="2026-12-01T12:00:00"), "timezone"),
        (lambda doc: doc["fleet"]["groups"][0].update(name="other"), "its fleet does not have"),
        (lambda doc: doc["fleet"].update(path="fleet.toml"), "not absolute"),
        (lambda doc: doc["entries"].append(doc["entries"][0]), "appears twice"),
        (lambda doc: doc["entries"].append(entry("transfer", 1)), "region None"),
    ],
    ids=["naive listed_at", "renamed group", "relative path", "twice", "transfer, no region"],
)
def test_an_invalid_plan_is_a_fleet_error_even_with_its_fingerprint(
    do: Driver, edit: Callable[[dict[str, Any]], object], message: str
) -> None:
    """A plan whose fields do not fit together is refused at load, fingerprint or not."""
    plan = do.image.plan_fleet(the_fleet())
    with pytest.raises(FleetError, match=message):
        FleetPlan.from_json(forge(plan, edit))


def test_a_plan_of_another_format_version_is_stale(do: Driver) -> None:
    """format_version 1 (and any other) is refused as stale: plan again."""
    plan = do.image.plan_fleet(the_fleet())
    for version in (1, 3, True, "2"):

        def stamp(document: dict[str, Any], version: object = version) -> None:
            document["format_version"] = version

        with pytest.raises(StalePlanError, match="plan again"):
            FleetPlan.from_json(forge(plan, stamp))


def test_the_document_stores_the_fleet_file_absolute(
    do: Driver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fleet loaded by a relative path is recorded by its absolute path."""
    (tmp_path / "fleet.toml").write_text(json_to_toml())
    monkeypatch.chdir(tmp_path)
    document = do.image.plan_fleet(Fleet.load("fleet.toml")).to_json()
    assert document["fleet"]["path"] == str(tmp_path / "fleet.toml")


def test_a_deeply_nested_plan_is_a_fleet_error(tmp_path: Path) -> None:
    """A plan file nested 100,000 deep is a ``FleetError``, not a ``RecursionError``."""
    path = tmp_path / "deep.json"
    path.write_text('{"format_version": 2, "x":' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(FleetError, match="nested too deeply"):
        FleetPlan.load(path)


def json_to_toml() -> str:
    """``FLEET`` as a fleet file."""
    (group,) = FLEET["group"]
    return (
        f'version = 1\n[[group]]\nname = "{group["name"]}"\n'
        f'select = {{ name_prefix = "{group["select"]["name_prefix"]}" }}\n'
        f"regions = {json.dumps(group['regions'])}\nkeep = {group['keep']}\n"
    )


# ------------------------------------------------------------------ and the rest


def test_an_image_gone_before_its_deletion_is_already_gone(do: Driver, world: Sandbox) -> None:
    """A colleague deletes an image the plan deletes, during the wait: done, ``already gone``."""
    plan = do.image.plan_fleet(the_fleet())
    report = do.image.apply_fleet(
        plan, on_result=_during_the_wait(world, lambda c: c.image.destroy(4))
    )
    assert _outcomes(report) == {3: ("done", "deleted"), 4: ("done", "already gone")}
    assert report.ok


def test_an_image_two_groups_now_select_makes_the_plan_stale(do: Driver, world: Sandbox) -> None:
    """After the plan, an image appears that two groups select: stale, nothing changed."""
    two = Fleet.from_dict(
        {
            "version": 1,
            "group": [
                {"name": "web", "select": {"name_prefix": "web-"}, "keep": 2},
                {"name": "tagged", "select": {"tag": "both"}},
            ],
        }
    )
    plan = do.image.plan_fleet(two)
    world.add_image("web-both", tags=["both"])
    with pytest.raises(StalePlanError, match="selected by groups"):
        do.image.apply_fleet(plan)
    assert world.count("DELETE") == 0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_delete": -1}, ValueError),
        ({"max_plan_age": 3600}, ValueError),
        ({"max_plan_age": timedelta(0)}, ValueError),
        ({"on_result": "print"}, TypeError),
        ({"poll": 0.5}, ValueError),
    ],
)
def test_bad_apply_arguments_are_refused_before_any_request(
    do: Driver, world: Sandbox, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """Each bad option of ``apply_fleet`` raises before anything is sent."""
    plan = do.image.plan_fleet(the_fleet())
    sent = len(world.requests)
    with pytest.raises(error):
        do.image.apply_fleet(plan, **kwargs)
    with pytest.raises(TypeError, match="plan must be a FleetPlan"):
        do.image.apply_fleet(plan.to_json())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fleet must be a Fleet"):
        do.image.plan_fleet(FLEET)  # type: ignore[arg-type]
    assert len(world.requests) == sent


def test_a_plan_made_in_python_is_checked_too(do: Driver) -> None:
    """A ``FleetPlan`` built by hand: a naive ``listed_at`` or a foreign entry is refused."""
    plan = do.image.plan_fleet(the_fleet())
    with pytest.raises(FleetError, match="timezone"):
        dataclasses.replace(plan, listed_at=plan.listed_at.replace(tzinfo=None))
    with pytest.raises(FleetError, match="entries are PlanEntry"):
        dataclasses.replace(plan, entries=[{"action": "keep"}])  # type: ignore[list-item]


def test_a_plan_is_never_saved_over_its_fleet_file(do: Driver, tmp_path: Path) -> None:
    """``plan.save(fleet_path)`` refuses to replace the fleet file the plan came from."""
    path = tmp_path / "fleet.toml"
    path.write_text(json_to_toml())
    plan = do.image.plan_fleet(Fleet.load(path))
    with pytest.raises(FleetError, match="over its own fleet file"):
        plan.save(path)
    assert path.read_text() == json_to_toml()


def test_damaged_groups_or_deep_content_are_fleet_errors(do: Driver) -> None:
    """A plan whose groups are no fleet, or nested too deeply to check, is a ``FleetError``."""
    plan = do.image.plan_fleet(the_fleet())
    with pytest.raises(FleetError, match=r"fleet\.groups: .*keep"):
        FleetPlan.from_json(forge(plan, lambda doc: doc["fleet"]["groups"][0].update(keep=-1)))
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    document = {**plan.to_json(), "notes": deep}
    with pytest.raises(FleetError, match="damaged fleet plan"):
        FleetPlan.from_json(document)
