"""The sandbox answers every Images operation like the API, for both clients."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from do_images import (
    Action,
    ActionFailedError,
    AsyncClient,
    AuthenticationError,
    Client,
    Image,
    ImageResource,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)
from do_images.testing import Sandbox
from support import SANDBOX_START, call, driver, sync_view

START = SANDBOX_START
SNAPSHOT = 180040001  # private snapshot in nyc3
BACKUP = 180040003  # private backup in fra1
UBUNTU = 171020001  # public, slug ubuntu-24-04-x64


class Api:
    """Either client, for ``await call(api.image.info, 7)`` (see ``support.call``)."""

    def __init__(self, do: Client | AsyncClient) -> None:
        self.do = do

    @property
    def image(self) -> ImageResource:
        return sync_view(self.do)


@pytest.fixture(params=["sync", "async"])
async def api(request: pytest.FixtureRequest, sandbox: Sandbox) -> AsyncIterator[Api]:
    if request.param == "sync":
        with sandbox.client() as do:
            yield Api(do)
    else:
        async with sandbox.async_client() as do:
            yield Api(do)


# ------------------------------------------------------------------ listing


async def test_list_returns_every_seeded_image(api: Api, sandbox: Sandbox) -> None:
    """``list()`` follows every page and returns all images."""
    images = await call(api.image.list)
    assert [image.id for image in images] == [image.id for image in sandbox.images]


async def test_list_private_returns_only_own_images(api: Api) -> None:
    """``private=True`` lists only non-public images."""
    images = await call(api.image.list, private=True)
    assert images
    assert all(image.public is False for image in images)


async def test_list_distribution_filter(api: Api) -> None:
    """``type="distribution"`` lists public base images."""
    images = await call(api.image.list, type="distribution")
    assert images
    assert all(image.public and image.type == "base" for image in images)


async def test_list_application_filter(api: Api) -> None:
    """``type="application"`` lists public one-click application images."""
    images = await call(api.image.list, type="application")
    assert {image.slug for image in images} >= {"docker-22-04", "wordpress-22-04"}
    assert all(image.public and image.type != "base" for image in images)


def test_seeded_slugs_agree_with_their_names() -> None:
    """A seeded application on Ubuntu 22.04 has a ``-22-04`` slug, as its name says."""
    import re

    from do_images.testing import Sandbox

    for image in Sandbox().images:
        version = re.search(r"Ubuntu (\d+)\.(\d+)$", image.name or "")
        if image.public and version:
            assert image.slug is not None
            assert image.slug.endswith(f"-{version[1]}-{version[2]}"), (image.name, image.slug)


async def test_list_tag_filter(api: Api) -> None:
    """``tag_name`` lists the images carrying that tag."""
    images = await call(api.image.list, tag_name="db")
    assert {image.id for image in images} == {180040003, 180040004}


async def test_iter_pages_through_small_pages(api: Api, sandbox: Sandbox) -> None:
    """``iter(per_page=2)`` walks every page of two and gives the total."""
    pager = api.do.image.iter(per_page=2)
    if isinstance(api.do, AsyncClient):
        ids = [image.id async for image in pager]  # type: ignore[union-attr]
    else:
        ids = [image.id for image in pager]  # type: ignore[union-attr]
    assert ids == [image.id for image in sandbox.images]
    assert pager.total == len(ids)
    assert sandbox.count("GET", "images_list") == -(-len(ids) // 2)


# ---------------------------------------------------------------- one image


async def test_info_by_id(api: Api) -> None:
    """``info(id)`` returns the image."""
    image = await call(api.image.info, SNAPSHOT)
    assert isinstance(image, Image)
    assert image.id == SNAPSHOT


async def test_info_by_slug(api: Api) -> None:
    """``info(slug)`` finds a public image by its slug."""
    image = await call(api.image.info, "ubuntu-24-04-x64")
    assert image.id == UBUNTU


async def test_info_unknown_id_is_not_found(api: Api) -> None:
    """An unknown id gets a 404 ``not_found``."""
    with pytest.raises(NotFoundError) as caught:
        await call(api.image.info, 999)
    assert caught.value.error_id == "not_found"
    assert caught.value.request_id


async def test_info_unknown_slug_is_not_found(api: Api) -> None:
    """A slug no public image has gets a 404."""
    with pytest.raises(NotFoundError):
        await call(api.image.info, "no-such-image")


async def test_update_changes_the_fields_given(api: Api) -> None:
    """``update`` changes name, distribution and description, and later reads see it."""
    updated = await call(
        api.image.update, SNAPSHOT, "renamed", distribution="Debian", description="d"
    )
    assert (updated.name, updated.distribution, updated.description) == ("renamed", "Debian", "d")
    assert (await call(api.image.info, SNAPSHOT)).name == "renamed"


async def test_update_unknown_distribution_becomes_unknown(api: Api) -> None:
    """An unknown distribution is stored as ``Unknown``, as the API documents."""
    updated = await call(api.image.update, SNAPSHOT, distribution="Plan 9")
    assert updated.distribution == "Unknown"


async def test_update_public_image_is_forbidden(api: Api) -> None:
    """Public images cannot be changed: 403."""
    with pytest.raises(PermissionDeniedError):
        await call(api.image.update, UBUNTU, "mine now")


async def test_destroy_removes_the_image(api: Api) -> None:
    """``destroy`` deletes the image; it is then not found."""
    await call(api.image.destroy, SNAPSHOT)
    with pytest.raises(NotFoundError):
        await call(api.image.info, SNAPSHOT)


async def test_destroy_unknown_image_is_not_found(api: Api) -> None:
    """Deleting an unknown id gets a 404."""
    with pytest.raises(NotFoundError):
        await call(api.image.destroy, 12345)


# ------------------------------------------------------------------ create


async def test_create_starts_new(api: Api) -> None:
    """A custom image starts ``NEW`` with no regions and the given tags."""
    image = await call(api.image.create, "img", "https://example.com/a.qcow2", "nyc3", tags=["t"])
    assert (image.status, image.regions, image.tags, image.type) == ("NEW", [], ["t"], "custom")


async def test_create_becomes_available_after_virtual_time(api: Api, sandbox: Sandbox) -> None:
    """A new custom image is ``available`` in its region once the import time has passed."""
    image = await call(api.image.create, "img", "https://example.com/a.qcow2", "sfo3")
    sandbox.advance(60)
    after = await call(api.image.info, image.id)
    assert (after.status, after.regions) == ("available", ["sfo3"])


async def test_create_unknown_region_is_unprocessable(api: Api) -> None:
    """A region the API does not know gets a 422."""
    with pytest.raises(UnprocessableEntityError):
        await call(api.image.create, "img", "https://example.com/a.qcow2", "atl9")


# ----------------------------------------------------------------- actions


async def test_transfer_returns_in_progress(api: Api) -> None:
    """``transfer`` without waiting returns the action in progress."""
    action = await call(api.image.transfer, SNAPSHOT, "lon1")
    assert isinstance(action, Action)
    assert (action.status, action.type, action.region_slug) == ("in-progress", "transfer", "lon1")
    assert action.resource_id == SNAPSHOT


async def test_transfer_wait_completes_on_virtual_time(api: Api, sandbox: Sandbox) -> None:
    """``transfer(wait=True)`` returns the completed action by advancing the virtual clock."""
    action = await call(api.image.transfer, SNAPSHOT, "lon1", wait=True)
    assert action.status == "completed"
    assert sandbox.now >= START + timedelta(seconds=30)
    assert "lon1" in ((await call(api.image.info, SNAPSHOT)).regions or [])


async def test_transfer_to_a_region_the_image_is_in(api: Api) -> None:
    """Transferring to a region the image already has gets a DO-shaped 422."""
    with pytest.raises(UnprocessableEntityError) as caught:
        await call(api.image.transfer, SNAPSHOT, "nyc3")
    assert caught.value.error_id == "unprocessable_entity"


async def test_transfer_to_an_unknown_region(api: Api) -> None:
    """Transferring to an unknown region gets a 422."""
    with pytest.raises(UnprocessableEntityError):
        await call(api.image.transfer, SNAPSHOT, "zzz1")


async def test_convert_makes_a_backup_a_snapshot(api: Api) -> None:
    """``convert(wait=True)`` turns a backup into a snapshot."""
    action = await call(api.image.convert, BACKUP, wait=True)
    assert (action.status, action.type) == ("completed", "convert")
    assert (await call(api.image.info, BACKUP)).type == "snapshot"


async def test_convert_a_snapshot_is_unprocessable(api: Api) -> None:
    """Only backups can be converted."""
    with pytest.raises(UnprocessableEntityError):
        await call(api.image.convert, SNAPSHOT)


async def test_action_list_includes_new_actions(api: Api) -> None:
    """``action_list`` returns the image's actions, the new one last."""
    action = await call(api.image.transfer, SNAPSHOT, "tor1")
    actions = await call(api.image.action_list, SNAPSHOT)
    assert actions[-1].id == action.id
    assert all(a.resource_id == SNAPSHOT for a in actions)


async def test_action_info_follows_progress(api: Api, sandbox: Sandbox) -> None:
    """``action_info`` shows the action completed once its time has passed."""
    action = await call(api.image.transfer, SNAPSHOT, "tor1")
    sandbox.advance(30)
    done = await call(api.image.action_info, SNAPSHOT, action.id)
    assert done.status == "completed"
    assert done.completed_at == START + timedelta(seconds=30)


async def test_action_info_of_another_image_is_not_found(api: Api) -> None:
    """An action is only found under its own image."""
    action = await call(api.image.transfer, SNAPSHOT, "tor1")
    with pytest.raises(NotFoundError):
        await call(api.image.action_info, BACKUP, action.id)


async def test_errored_action_fails_the_wait(api: Api, sandbox: Sandbox) -> None:
    """``error_next_action`` makes waiting raise ``ActionFailedError``."""
    sandbox.error_next_action()
    with pytest.raises(ActionFailedError) as caught:
        await call(api.image.transfer, SNAPSHOT, "tor1", wait=True)
    assert caught.value.action.status == "errored"
    assert "tor1" not in ((await call(api.image.info, SNAPSHOT)).regions or [])


# ------------------------------------------------------------------ faults


async def test_fail_next_is_retried_for_get(api: Api, sandbox: Sandbox) -> None:
    """A queued 503 on a GET is retried after a virtual back-off."""
    sandbox.fail_next(503)
    image = await call(api.image.info, SNAPSHOT)
    assert image.id == SNAPSHOT
    assert sandbox.count("GET", "images_get") == 2
    assert sandbox.now > START


async def test_fail_next_beyond_retries_raises(api: Api, sandbox: Sandbox) -> None:
    """More queued 500s than retries give a ``ServerError``."""
    sandbox.fail_next(500, times=3)
    with pytest.raises(ServerError):
        await call(api.image.info, SNAPSHOT)


async def test_failed_transfer_post_is_reconciled(api: Api, sandbox: Sandbox) -> None:
    """A 500 on a transfer starts nothing, so after looking it is sent once more: one transfer."""
    sandbox.fail_next(500, method="POST")
    action = await call(api.image.transfer, SNAPSHOT, "tor1")
    assert action.type == "transfer"
    assert sandbox.count("POST") == 2
    transfers = [a for a in sandbox.actions if a.resource_id == SNAPSHOT and a.type == "transfer"]
    assert [a.id for a in transfers] == [action.id]


async def test_exhausted_rate_limit_waits_for_reset(api: Api, sandbox: Sandbox) -> None:
    """With no budget left, the client waits out ``retry-after`` on the virtual clock."""
    sandbox.exhaust_rate_limit(reset_in=20)
    image = await call(api.image.info, SNAPSHOT)
    assert image.id == SNAPSHOT
    assert sandbox.now >= START + timedelta(seconds=20)
    assert api.do.rate_limit is not None
    assert api.do.rate_limit.remaining == 4999


async def test_rate_limit_budget_decrements(api: Api) -> None:
    """Every response reports one request less remaining."""
    await call(api.image.info, SNAPSHOT)
    first = api.do.rate_limit
    await call(api.image.info, SNAPSHOT)
    second = api.do.rate_limit
    assert first is not None
    assert second is not None
    assert (first.limit, first.remaining - second.remaining) == (5000, 1)


async def test_long_rate_limit_raises_at_once() -> None:
    """A budget that resets in an hour raises ``RateLimitError`` rather than waiting."""
    sandbox = Sandbox(start=START, rate_limit=1)
    with sandbox.client() as do:
        do.image.info(SNAPSHOT)
        with pytest.raises(RateLimitError) as caught:
            do.image.info(SNAPSHOT)
    assert caught.value.retry_after == 3600
    assert sandbox.now == START


async def test_dropped_post_is_committed_once(api: Api, sandbox: Sandbox) -> None:
    """A response dropped after the transfer was made is found, not re-sent: one POST."""
    sandbox.drop_next(method="POST")
    action = await call(api.image.transfer, SNAPSHOT, "tor1")
    assert sandbox.count("POST", "imageActions_post") == 1
    transfers = [a for a in sandbox.actions if a.resource_id == SNAPSHOT and a.type == "transfer"]
    assert [a.id for a in transfers] == [action.id]


def test_missing_token_gets_401(sandbox: Sandbox) -> None:
    """A request without a bearer token gets a 401 ``unauthorized``."""
    with httpx.Client(transport=sandbox.transport()) as http:
        response = http.get("https://sandbox.invalid/v2/images")
    assert response.status_code == 401
    assert response.json()["id"] == "unauthorized"


def test_wrong_token_gets_401() -> None:
    """A sandbox created with a token refuses any other one."""
    sandbox = Sandbox(token="right")
    with sandbox.client(token="wrong") as do, pytest.raises(AuthenticationError):
        do.image.list()


# ------------------------------------------------------------- wire details


def raw_get(sandbox: Sandbox, path: str, **params: Any) -> httpx.Response:
    """A GET with a token, straight to the in-process transport."""
    with httpx.Client(
        transport=sandbox.transport(),
        base_url="https://sandbox.invalid",
        headers={"authorization": "Bearer t"},
    ) as http:
        return http.get(path, params=params)


def test_links_on_a_middle_page(sandbox: Sandbox) -> None:
    """A middle page links first, prev, next and last, keeping the filters, plus the total."""
    body = raw_get(sandbox, "/v2/images", private="true", per_page=2, page=2).json()
    pages = body["links"]["pages"]
    base = "https://sandbox.invalid/v2/images?private=true"
    assert pages == {
        "first": f"{base}&page=1&per_page=2",
        "prev": f"{base}&page=1&per_page=2",
        "next": f"{base}&page=3&per_page=2",
        "last": f"{base}&page=4&per_page=2",
    }
    assert body["meta"] == {"total": 7}
    assert len(body["images"]) == 2


def test_single_page_has_no_links(sandbox: Sandbox) -> None:
    """A list that fits one page has empty ``links.pages``."""
    body = raw_get(sandbox, "/v2/images", tag_name="db").json()
    assert body["links"] == {"pages": {}}
    assert body["meta"] == {"total": 2}


def test_page_past_the_end_is_empty(sandbox: Sandbox) -> None:
    """A page beyond the last is empty and links back to the first and the last page."""
    body = raw_get(sandbox, "/v2/images", page=50).json()
    assert body["images"] == []
    assert set(body["links"]["pages"]) == {"first", "prev"}


@pytest.mark.parametrize("per_page", ["0", "201", "-1", "ten"])
def test_bad_per_page_is_a_bad_request(sandbox: Sandbox, per_page: str) -> None:
    """``per_page`` outside 1 to 200 gets a 400 ``bad_request``."""
    response = raw_get(sandbox, "/v2/images", per_page=per_page)
    assert response.status_code == 400
    assert response.json()["id"] == "bad_request"


def test_every_response_carries_rate_limit_and_request_id(sandbox: Sandbox) -> None:
    """Successes and errors alike carry ``ratelimit-*``, a request id and the virtual date."""
    for response in (raw_get(sandbox, "/v2/images/1"), raw_get(sandbox, "/v2/images")):
        assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "x-request-id"} <= set(
            response.headers
        )
        assert response.headers["date"] == "Mon, 05 Jan 2026 12:00:00 GMT"


def test_unsupported_method_gets_405_with_allow(sandbox: Sandbox) -> None:
    """A method the path does not have gets 405 and the ``Allow`` header."""
    with httpx.Client(transport=sandbox.transport(), headers={"authorization": "Bearer t"}) as h:
        response = h.patch("https://sandbox.invalid/v2/images/180040001", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PUT"


def test_private_image_is_not_found_by_slug(sandbox: Sandbox) -> None:
    """Only public images answer to a slug."""
    sandbox.add_image("mine", slug="my-image")
    assert raw_get(sandbox, "/v2/images/my-image").status_code == 404


def test_requests_log_records_what_was_sent(sandbox: Sandbox) -> None:
    """``requests`` holds method, path, operation and status of each request."""
    raw_get(sandbox, "/v2/images/180040001")
    [logged] = sandbox.requests
    assert (logged.method, logged.path, logged.operation, logged.status) == (
        "GET",
        "/v2/images/180040001",
        "images_get",
        200,
    )
    assert logged.json()["image"]["id"] == 180040001


def test_advance_moves_now() -> None:
    """``advance`` moves ``now`` and ``clock()`` by exactly that many seconds."""
    sandbox = Sandbox(start=START)
    sandbox.advance(90.5)
    assert sandbox.now == START + timedelta(seconds=90.5)
    assert sandbox.clock() == 90.5


@pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf")])
def test_advance_refuses_bad_seconds(seconds: float) -> None:
    """The clock never goes back and never jumps to infinity."""
    with pytest.raises(ValueError, match="seconds"):
        Sandbox().advance(seconds)


def test_fail_next_refuses_a_success_status() -> None:
    """Only error statuses can be queued."""
    with pytest.raises(ValueError, match="400 to 599"):
        Sandbox().fail_next(200)


def test_add_image_refuses_a_taken_id() -> None:
    """Ids stay unique."""
    with pytest.raises(ValueError, match="already"):
        Sandbox().add_image("dup", id=SNAPSHOT)


def test_add_action_in_progress_finishes_with_time() -> None:
    """An added in-progress transfer completes and adds its region as time passes."""
    sandbox = Sandbox(start=START)
    action = sandbox.add_action(SNAPSHOT, "transfer", region="blr1")
    assert action.status == "in-progress"
    sandbox.advance(30)
    assert next(a for a in sandbox.actions if a.id == action.id).status == "completed"
    assert "blr1" in (next(i for i in sandbox.images if i.id == SNAPSHOT).regions or [])


def test_unseeded_sandbox_is_empty() -> None:
    """``Sandbox(seed=False)`` starts with no images and no actions."""
    sandbox = Sandbox(seed=False)
    assert (sandbox.images, sandbox.actions) == ([], [])


def test_seeded_ids_are_unique_and_slugs_public() -> None:
    """Seeded images have unique ids; exactly the public ones have slugs."""
    images = Sandbox().images
    assert len({image.id for image in images}) == len(images)
    assert all((image.slug is not None) == image.public for image in images)
    assert {image.type for image in images} >= {"base", "snapshot", "backup", "custom"}


def test_realtime_clock_follows_real_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``realtime=True`` the virtual clock also moves as real time passes."""
    real = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: real[0])
    sandbox = Sandbox(start=START, realtime=True)
    action = sandbox.add_action(SNAPSHOT, "transfer", region="syd1")
    real[0] += 31
    sandbox.advance(1)
    assert sandbox.now == START + timedelta(seconds=32)
    assert next(a for a in sandbox.actions if a.id == action.id).status == "completed"


def test_virtual_clock_ignores_real_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """By default only ``advance`` (and clients' waits) move the clock."""
    real = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: real[0])
    sandbox = Sandbox(start=START)
    real[0] += 3600
    assert sandbox.now == START


async def test_fail_next_headers_reach_the_client(api: Api, sandbox: Sandbox) -> None:
    """A queued 429 with ``retry-after: 7`` makes the client wait seven virtual seconds."""
    sandbox.fail_next(429, headers={"retry-after": "7"})
    await call(api.image.info, SNAPSHOT)
    assert sandbox.now == START + timedelta(seconds=7)


def test_failed_request_changes_nothing(sandbox: Sandbox) -> None:
    """A request answered with a queued error leaves the state as it was."""
    before = next(i for i in sandbox.images if i.id == SNAPSHOT)
    assert before.name is not None
    assert before.name.startswith("web-01 ")
    sandbox.fail_next(500)
    with sandbox.client(max_retries=0) as do, pytest.raises(ServerError):
        do.image.update(SNAPSHOT, "renamed")
    assert next(i for i in sandbox.images if i.id == SNAPSHOT) == before


def test_links_keep_a_base_path_prefix(sandbox: Sandbox) -> None:
    """With ``base_url`` under a path, next links stay under it and the client follows them."""
    with sandbox.client(base_url="https://sandbox.invalid/proxy") as do:
        ids = [image.id for image in do.image.iter(per_page=5)]
    assert ids == [image.id for image in sandbox.images]
    first = sandbox.requests[0].json()["links"]["pages"]["next"]
    assert first.startswith("https://sandbox.invalid/proxy/v2/images?")


@pytest.mark.parametrize("width", [1, 4])
async def test_async_client_pages_concurrently_in_order(width: int) -> None:
    """``async_client(page_concurrency=...)`` lists every page of a large account, in order."""
    sandbox = Sandbox(seed=False)
    for number in range(450):
        sandbox.add_image(name=f"snap-{number}")
    async with sandbox.async_client(page_concurrency=width) as do:
        images = await do.image.list()
    assert [image.name for image in images] == [f"snap-{number}" for number in range(450)]
    assert sandbox.count("GET") == 3


def test_add_image_states_an_inventory_directly() -> None:
    """``created_at``, ``status`` and ``error_message``: a retention test's inventory as given."""
    from datetime import datetime, timezone

    sandbox = Sandbox(seed=False)
    old = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    kept = sandbox.add_image("web-old", created_at=old)
    failed = sandbox.add_image(
        "broken", type="custom", status="deleted", error_message="bad gzip header"
    )
    with sandbox.client() as do:
        assert do.image.info(kept.id).created_at == old
        seen = do.image.info(failed.id)
        assert (seen.status, seen.error_message) == ("deleted", "bad gzip header")
        assert [image.id for image in do.image.list(private=True)] == [kept.id]  # deleted: unlisted
    with pytest.raises(ValueError, match="timezone-aware"):
        sandbox.add_image("naive", created_at=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="status must be one of"):
        sandbox.add_image("odd", status="gone")


# ------------------------------------------------------------- the factories


def test_both_client_factories_take_the_same_options() -> None:
    """``client()`` and ``async_client()`` have one parameter list, defaults included."""
    import inspect

    sync = inspect.signature(Sandbox.client).parameters
    asyn = inspect.signature(Sandbox.async_client).parameters
    assert [(p.name, p.kind, p.default) for p in sync.values()] == [
        (p.name, p.kind, p.default) for p in asyn.values()
    ]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_each_factory_wires_its_client_to_the_sandbox(kind: str) -> None:
    """Each factory gives the client of its kind, with the options given, answered by this
    sandbox and timed by its virtual clock."""
    sandbox = Sandbox(start=SANDBOX_START)
    factory = sandbox.client if kind == "sync" else sandbox.async_client
    client = factory(token="dop_v1_sandbox_bob", base_url="https://elsewhere.invalid")
    assert isinstance(client, Client if kind == "sync" else AsyncClient)
    assert (client.base_url, client.clock) == ("https://elsewhere.invalid", sandbox.clock)
    with driver(kind, client=client) as made:
        images = made.image.list(private=True)
    assert images == []  # bob's own images: the token acts as that sandbox account
    assert [(r.account, r.operation) for r in sandbox.requests] == [("bob", "images_list")]
