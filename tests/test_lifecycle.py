"""The lifecycle jobs on both clients: imports, distribution to many regions, pruning."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import respx

from do_images import (
    ActionFailedError,
    ActionTimeoutError,
    DistributionError,
    Image,
    ImageFailedError,
    ImageTimeoutError,
    NotFoundError,
    PrunePlan,
    ServerError,
    UnprocessableEntityError,
)
from do_images.testing import Sandbox
from sandbox_support import assert_spec_valid
from support import Driver, action_payload, driver, image_payload, json_response

SNAPSHOT = 180040001  # seeded private snapshot in nyc3
URL = "https://example.com/images/web.qcow2"
START = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def world() -> Iterator[Sandbox]:
    """A spec-checked sandbox whose imports take 15 virtual minutes."""
    sandbox = Sandbox(start=START, import_seconds=900, action_seconds=30)
    yield sandbox
    assert_spec_valid(sandbox)


@pytest.fixture
def do(kind: str, world: Sandbox) -> Iterator[Driver]:
    client = world.client() if kind == "sync" else world.async_client()
    with driver(kind, client=client) as made:
        yield made


# ------------------------------------------------------------------ imports


def test_create_and_wait_returns_the_available_image(do: Driver, world: Sandbox) -> None:
    """``create(wait=True)`` polls until the import is ``available``, 15 minutes on."""
    image = do.image.create("web", URL, "nyc3", wait=True, poll=10)
    assert image.status == "available"
    assert image.regions == ["nyc3"]
    assert world.clock() == 900
    assert world.count("POST") == 1


def test_an_import_that_fails_late_raises_image_failed(do: Driver, world: Sandbox) -> None:
    """DigitalOcean giving up 15 minutes in: ``ImageFailedError`` with its message."""
    world.fail_next_import("We had a problem decompressing your file.")
    with pytest.raises(ImageFailedError) as caught:
        do.image.create("web", URL, "nyc3", wait=True, poll=30)
    assert caught.value.error_message == "We had a problem decompressing your file."
    assert caught.value.image.status == "deleted"
    assert world.clock() == 900
    assert all(image.name != "web" for image in do.image.list(private=True))  # gone from lists


def test_wait_image_takes_an_image_or_an_id(do: Driver, world: Sandbox) -> None:
    """``wait_image`` accepts the ``Image`` ``create`` returned, or its id."""
    started = do.image.create("web", URL, "nyc3")
    assert started.status == "NEW"
    assert do.image.wait_image(started.id, poll=60).status == "available"
    assert do.image.wait_image(started).status == "available"


def test_an_import_timeout_carries_the_image(do: Driver) -> None:
    """Out of time: ``ImageTimeoutError`` with the image as last seen."""
    with pytest.raises(ImageTimeoutError) as caught:
        do.image.create("web", URL, "nyc3", wait=True, poll=10, timeout=120)
    assert caught.value.image is not None
    assert caught.value.image.status == "NEW"


def test_a_burst_of_5xx_while_importing_is_ridden_out(do: Driver, world: Sandbox) -> None:
    """Failed polls in a row do not end the import wait before its deadline."""
    image = do.image.create("web", URL, "nyc3")
    world.fail_next(503, times=12, method="GET")
    assert do.image.wait_image(image, poll=10).status == "available"


@pytest.mark.parametrize(
    "statuses",
    [["new", "pending", "available"], ["NEW", "Pending", "AVAILABLE"], ["importing", "available"]],
    ids=["old-lower-case", "mixed-case", "unknown-status"],
)
def test_status_is_compared_case_insensitively_and_unknown_keeps_polling(
    kind: str, statuses: list[str]
) -> None:
    """``new`` (the old spelling), mixed case and unknown states: polling goes on."""
    answers = iter(json_response(200, {"image": image_payload(7, status=s)}) for s in statuses)
    with driver(kind, lambda request: next(answers)) as do:
        image = do.image.wait_image(7, poll=10)
    assert str(image.status).lower() == "available"
    assert do.sleeps == [10] * (len(statuses) - 1)


def test_a_404_after_the_image_existed_is_a_failed_import(kind: str) -> None:
    """An image seen once and then 404: DigitalOcean removed it, ``ImageFailedError``."""
    answers = iter(
        [
            json_response(200, {"image": image_payload(7, status="NEW")}),
            json_response(404, {"id": "not_found", "message": "gone"}),
        ]
    )
    with driver(kind, lambda request: next(answers)) as do, pytest.raises(ImageFailedError):
        do.image.wait_image(7, poll=10)


def test_a_404_on_the_first_look_is_not_found(kind: str) -> None:
    """An id that never existed is a ``NotFoundError``, not a failed import."""
    with (
        driver(kind, lambda r: json_response(404, {"id": "not_found", "message": "no"})) as do,
        pytest.raises(NotFoundError),
    ):
        do.image.wait_image(7)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"poll": 0.5}, ValueError),
        ({"timeout": 0}, ValueError),
        ({"poll": "10"}, TypeError),
        ({"on_update": 3}, TypeError),
    ],
)
def test_bad_wait_arguments_are_refused_before_any_request(
    do: Driver, world: Sandbox, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """``wait_image`` checks its arguments first."""
    with pytest.raises(error):
        do.image.wait_image(SNAPSHOT, **kwargs)
    assert world.requests == []


# ---------------------------------------------------------------- distribute


def test_distribute_copies_to_every_new_region(do: Driver, world: Sandbox) -> None:
    """Regions already there are skipped, duplicates dropped; all transfers complete."""
    actions = do.image.distribute(SNAPSHOT, ["nyc3", "lon1", "sgp1", "lon1"], poll=10)
    assert list(actions) == ["lon1", "sgp1"]
    assert {action.status for action in actions.values()} == {"completed"}
    assert set(do.image.info(SNAPSHOT).regions or []) == {"nyc3", "lon1", "sgp1"}


def test_five_regions_are_polled_with_one_request_per_cycle(do: Driver, world: Sandbox) -> None:
    """30 s transfers, 10 s polls: three cycles, three action lists, no per-action GET."""
    regions = ["lon1", "sgp1", "fra1", "tor1", "syd1"]
    actions = do.image.distribute(SNAPSHOT, regions, poll=10)
    assert list(actions) == regions
    assert world.count("GET", "imageActions_list") == 3
    assert world.count("GET", "imageActions_get") == 0
    assert world.count("POST", "imageActions_post") == 5


def test_distribute_reports_every_pending_action_after_every_poll(
    do: Driver, world: Sandbox
) -> None:
    """``on_update`` gets each action once started, then each pending one after every poll
    (so a caller can show the time going by), the last time as it completed."""
    seen: list[tuple[str, str, float]] = []

    def record(action: Any) -> None:
        seen.append((action.region_slug, action.status, world.clock()))

    do.image.distribute(SNAPSHOT, ["lon1", "sgp1"], poll=10, on_update=record)
    for region in ("lon1", "sgp1"):
        assert [(status, at) for slug, status, at in seen if slug == region] == [
            ("in-progress", 0),
            ("in-progress", 10),
            ("in-progress", 20),
            ("completed", 30),
        ]


def test_distribute_without_waiting_returns_the_started_actions(do: Driver, world: Sandbox) -> None:
    """``wait=False``: every transfer started, in progress."""
    actions = do.image.distribute(SNAPSHOT, ["lon1", "sgp1"], wait=False)
    assert {action.status for action in actions.values()} == {"in-progress"}


def test_a_region_already_being_transferred_to_fails_that_region_only(
    do: Driver, world: Sandbox
) -> None:
    """The sandbox refuses a second transfer to the same region with 422, as the API does."""
    do.image.distribute(SNAPSHOT, ["lon1"], wait=False)
    with pytest.raises(DistributionError) as caught:
        do.image.distribute(SNAPSHOT, ["lon1", "sgp1"], poll=10)
    assert isinstance(caught.value.errors["lon1"], UnprocessableEntityError)
    assert caught.value.actions["sgp1"].status == "completed"
    assert list(caught.value.errors) == ["lon1"]


def test_present_errored_and_timed_out_regions_are_told_apart(kind: str) -> None:
    """nyc3 is there, lon1 errors, sgp1 never finishes, fra1 completes: the error says so."""
    router = respx.MockRouter(assert_all_called=False)
    started = {"lon1": 11, "sgp1": 12, "fra1": 13}
    router.get("https://api.digitalocean.com/v2/images/7").mock(
        return_value=json_response(200, {"image": image_payload(7, regions=["nyc3"])})
    )

    def start(request: httpx.Request) -> httpx.Response:
        region = httpx.Request("POST", "x", content=request.content).read().decode()
        slug = next(name for name in started if name in region)
        return json_response(201, {"action": action_payload(started[slug], 7, region=slug)})

    router.post("https://api.digitalocean.com/v2/images/7/actions").mock(side_effect=start)
    listing = [
        action_payload(11, 7, "errored", region="lon1"),
        action_payload(12, 7, "in-progress", region="sgp1"),
        action_payload(13, 7, "completed", region="fra1"),
    ]
    router.get("https://api.digitalocean.com/v2/images/7/actions").mock(
        return_value=json_response(200, {"actions": listing, "meta": {"total": 3}})
    )
    with (
        driver(kind, router.handler) as do,
        pytest.raises(DistributionError) as caught,
    ):
        do.image.distribute(7, ["nyc3", "lon1", "sgp1", "fra1"], poll=10, timeout=60)
    error = caught.value
    assert list(error.actions) == ["lon1", "sgp1", "fra1"]
    assert isinstance(error.errors["lon1"], ActionFailedError)
    assert isinstance(error.errors["sgp1"], ActionTimeoutError)
    assert "fra1" not in error.errors
    assert error.actions["fra1"].status == "completed"
    posts = [call.request for call in router.calls if call.request.method == "POST"]
    assert len(posts) == 3  # no transfer started twice


@pytest.mark.parametrize(
    ("regions", "error"),
    [
        (["lon1", "LON 1"], ValueError),
        ("lon1", TypeError),
        ([], ValueError),
        (["lon1", 3], TypeError),
    ],
)
def test_bad_regions_are_refused_before_any_request(
    do: Driver, world: Sandbox, regions: Any, error: type[Exception]
) -> None:
    """A malformed slug, a bare string or no region at all: refused, nothing sent."""
    with pytest.raises(error):
        do.image.distribute(SNAPSHOT, regions)
    assert world.requests == []


# --------------------------------------------------------------------- prune


def account(per_day: int = 0) -> Sandbox:
    """An empty account with 460 private images over 460 days, and a few oddities."""
    sandbox = Sandbox(start=START, seed=False, requests_per_minute=None, log_size=5000)
    for day in range(460):
        kind = "web" if day % 2 else "db"
        sandbox.add_image(f"{kind}-{day:03}", tags=[kind] if day % 3 else [])
        sandbox.advance(86_400)
    sandbox.add_image("custom-old", type="custom")
    sandbox.add_image("backup-old", type="backup")
    sandbox.add_image("public-one", public=True, slug="public-one", type="base")
    return sandbox


@pytest.fixture
def big(kind: str) -> Iterator[tuple[Sandbox, Driver]]:
    sandbox = account()
    client = sandbox.client() if kind == "sync" else sandbox.async_client()
    with driver(kind, client=client) as made:
        yield sandbox, made
    assert_spec_valid(sandbox)


def test_a_plan_over_several_pages_keeps_the_newest_of_each_group(
    big: tuple[Sandbox, Driver],
) -> None:
    """Three pages; two groups; keep 5 each and nothing younger than 30 days; delete nothing."""
    sandbox, do = big
    importing = do.image.create("web-importing", URL, "nyc3")  # NEW: always kept
    plan = do.image.plan_prune(
        keep=5,
        older_than=timedelta(days=30),
        name_prefix="web-",
        types=("snapshot", "custom"),
        group_by=lambda image: "tagged" if image.tags else "untagged",
    )
    assert sandbox.count("GET", "images_list") == 3
    assert sandbox.count("DELETE") == 0  # a plan deletes nothing
    assert isinstance(plan, PrunePlan)
    names = {image.name or "" for image in plan.delete}
    assert all(name.startswith("web-") for name in names)
    assert importing.id in {image.id for image in plan.keep}
    web = [i for i in sandbox.images if (i.name or "").startswith("web-") and i.created_at]
    newest: set[int] = set()
    for tagged in (True, False):
        group = sorted((i for i in web if bool(i.tags) is tagged), key=lambda i: i.id)
        newest |= {i.id for i in group[-5:]}  # ids grow with age here: the last are newest
    month_ago = plan.now - timedelta(days=30)
    expected = {
        i.id for i in web if i.id not in newest and i.created_at and i.created_at < month_ago
    }
    assert {i.id for i in plan.delete} == expected
    assert len(expected) > 200  # the deleted ones alone span more than one page
    newest_deleted = plan.delete[0].created_at
    assert newest_deleted is not None
    assert newest_deleted < plan.now - timedelta(days=30)
    dates = [i.created_at for i in plan.delete if i.created_at is not None]
    assert dates == sorted(dates, reverse=True)
    assert len(dates) == len(plan.delete)


def test_prune_deletes_exactly_the_planned_set(big: tuple[Sandbox, Driver]) -> None:
    """What goes is what the plan said; custom, backup and public images are untouched."""
    sandbox, do = big
    plan = do.image.plan_prune(keep=20, older_than=timedelta(days=90))
    progress: list[tuple[int, int]] = []
    report = do.image.prune(plan, on_progress=lambda done, total: progress.append((done, total)))
    assert report.failed == {}
    assert {i.id for i in report.deleted} == {i.id for i in plan.delete}
    remaining = {image.id for image in sandbox.images}
    assert remaining.isdisjoint(i.id for i in plan.delete)
    assert {i.name for i in sandbox.images} >= {"custom-old", "backup-old", "public-one"}
    assert sorted(done for done, _ in progress) == list(range(1, len(plan.delete) + 1))


def test_a_deletion_failing_halfway_is_reported_and_the_rest_go(
    big: tuple[Sandbox, Driver],
) -> None:
    """One DELETE fails (no retries here): it is in ``failed``, the others still go."""
    sandbox, do = big
    plan = do.image.plan_prune(keep=440)
    assert len(plan.delete) == 20
    sandbox.fail_next(500, method="DELETE")  # one DELETE, whichever comes first
    report = do.image.prune(plan, max_retries=0)
    assert len(report.failed) == 1
    (failed_id, error) = next(iter(report.failed.items()))
    assert isinstance(error, ServerError)
    assert len(report.deleted) == 19
    assert failed_id in {image.id for image in sandbox.images}


def test_an_image_already_gone_counts_as_deleted(big: tuple[Sandbox, Driver]) -> None:
    """A 404 during prune means someone else deleted it: it is gone, as asked."""
    _, do = big
    plan = do.image.plan_prune(keep=455)
    do.image.destroy(plan.delete[0].id)
    report = do.image.prune(plan)
    assert report.failed == {}
    assert {i.id for i in report.deleted} == {i.id for i in plan.delete}


def test_images_without_created_at_always_stay(kind: str) -> None:
    """No date, no age: such an image is kept, whatever the plan."""
    images = [
        image_payload(1, created_at="2020-01-01T00:00:00Z"),
        image_payload(2, created_at="2020-01-02T00:00:00Z"),
        {k: v for k, v in image_payload(3).items() if k != "created_at"},
    ]
    body = {"images": images, "meta": {"total": 3}}
    with driver(kind, lambda request: json_response(200, body)) as do:
        plan = do.image.plan_prune(keep=1)
    assert [i.id for i in plan.delete] == [1]
    assert {i.id for i in plan.keep} == {2, 3}
    assert "created_at" in plan.reasons[3]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"keep": -1}, ValueError),
        ({"keep": 1.5}, TypeError),
        ({"keep": 0}, ValueError),
        ({"keep": 1, "types": ("backup",)}, ValueError),
        ({"keep": 1, "types": ("snapshot", "base")}, ValueError),
        ({"keep": 1, "types": "snapshot"}, TypeError),
        ({"keep": 1, "older_than": timedelta(0)}, ValueError),
        ({"keep": 1, "older_than": -timedelta(days=1)}, ValueError),
        ({"keep": 1, "older_than": 30}, TypeError),
        ({"keep": 1, "group_by": "name"}, TypeError),
        ({"keep": 1, "name_prefix": 3}, TypeError),
    ],
)
def test_bad_plans_are_refused_before_any_request(
    do: Driver, world: Sandbox, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """Every rule of ``plan_prune``'s arguments is checked before listing."""
    with pytest.raises(error):
        do.image.plan_prune(**kwargs)
    assert world.requests == []


def test_a_plan_from_another_client_is_refused(kind: str, world: Sandbox) -> None:
    """``prune`` only takes plans its own client made: another account may differ."""
    with driver(kind, client=world.client() if kind == "sync" else world.async_client()) as a:
        plan = a.image.plan_prune(keep=1)
    with (
        driver(kind, client=world.client() if kind == "sync" else world.async_client()) as b,
        pytest.raises(ValueError, match="another client"),
    ):
        b.image.prune(plan)
    assert world.count("DELETE") == 0


def test_prune_refuses_what_is_not_a_plan(do: Driver) -> None:
    """A list of images is not a plan."""
    with pytest.raises(TypeError, match="PrunePlan"):
        do.image.prune([Image.model_validate(image_payload(1))])  # type: ignore[arg-type]


# ------------------------------------------------------- over HTTP, end to end


def test_the_three_jobs_against_a_served_sandbox() -> None:
    """Import and wait, distribute, plan and prune, over real HTTP on loopback."""
    from do_images import Client

    sandbox = Sandbox(start=START, import_seconds=600, requests_per_minute=None)
    with (
        sandbox.serve() as base_url,
        Client(
            "dop_v1_served", base_url=base_url, sleep=sandbox.advance, clock=sandbox.clock
        ) as do,
    ):
        image = do.image.create("web", URL, "nyc3", wait=True, poll=30)
        assert image.status == "available"
        actions = do.image.distribute(image.id, ["sfo3", "ams3"], poll=10)
        assert {a.status for a in actions.values()} == {"completed"}
        plan = do.image.plan_prune(keep=1, types=("snapshot", "custom"))
        assert plan.delete
        report = do.image.prune(plan)
        assert {i.id for i in report.deleted} == {i.id for i in plan.delete}
        assert not report.failed
    assert_spec_valid(sandbox)
