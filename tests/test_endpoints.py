"""Every method of ``do.image`` on both clients, from one table.

Each row calls one method and states the exact requests it must send (method,
path, query, JSON body) and what the result must be. A small fake API answers
every route the way the real one does (single actions wrapped in ``{"action": ...}``).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from do_images import (
    AccountTransfer,
    Action,
    ActionStatus,
    ActionType,
    AsyncImageResource,
    Image,
    ImageResource,
    ImageStatus,
)
from do_images.fleet import Fleet
from do_images.testing._seed import region_object
from support import MakeDriver, action_payload, image_payload, json_response, materialize

RATE_HEADERS = {
    "ratelimit-limit": "5000",
    "ratelimit-remaining": "4816",
    "ratelimit-reset": "1444931833",
}


def _fake_actions(method: str, image_id: int, body: Any) -> httpx.Response:
    if method == "POST":
        assert body is not None
        action = action_payload(36805527, image_id, type=body["type"])
        return json_response(201, {"action": action}, RATE_HEADERS)
    actions = [action_payload(29410565, image_id, "completed")]
    if image_id == 7938269:  # the image the transfer rows start 36805527 on
        actions.append(action_payload(36805527, image_id, "completed", region="sfo3"))
    return json_response(
        200, {"actions": actions, "links": {}, "meta": {"total": len(actions)}}, RATE_HEADERS
    )


TEAM = "4f6c71e2-1e90-4762-9fee-6cc4a0a9f2cf"
KNOWN_TAGS = {"web", "base-image"}


def _fake_tags(method: str, tag: str | None, body: Any, made: set[str]) -> httpx.Response:
    if tag is None:  # POST /v2/tags
        assert body is not None
        made.add(body["name"])
        tag_object = {"name": body["name"], "resources": {"count": 0}}
        return json_response(201, {"tag": tag_object}, RATE_HEADERS)
    if tag not in KNOWN_TAGS | made:
        return json_response(404, {"id": "not_found", "message": "tag not found"}, RATE_HEADERS)
    return httpx.Response(204, headers=RATE_HEADERS)


def _fake_account_transfer(step: str | None, body: Any) -> httpx.Response:
    if step is None:
        transfer_id = 0 if "recipient_uuid" in body else 3164444
        return json_response(201, {"transfer_id": transfer_id}, RATE_HEADERS)
    return httpx.Response(201 if step == "accept" else 204, headers=RATE_HEADERS)


def new_fake_api() -> Callable[[httpx.Request], httpx.Response]:
    """A fake API of its own: the tags one creates stay its own."""
    made: set[str] = set()
    return lambda request: fake_api(request, made)


def fake_api(request: httpx.Request, made: set[str]) -> httpx.Response:
    """Answer every route like the real API does: the Tags and account-transfer ones here."""
    path = request.url.path
    body = json.loads(request.content) if request.content else None
    if m := re.fullmatch(r"/v2/tags(?:/([^/]+)/resources)?", path):
        return _fake_tags(request.method, m[1], body, made)
    if m := re.fullmatch(r"/v2/images/\d+/account_transfer(?:/(accept|cancel|decline))?", path):
        return _fake_account_transfer(m[1], body)
    return fake_images_api(request, body)


def fake_images_api(request: httpx.Request, body: Any) -> httpx.Response:
    """Answer every Images API route like the real API does."""
    method, path = request.method, request.url.path
    if m := re.fullmatch(r"/v2/images/(\d+)/actions/(\d+)", path):
        image_id, action_id = int(m[1]), int(m[2])
        return json_response(
            200, {"action": action_payload(action_id, image_id, "completed")}, RATE_HEADERS
        )
    if m := re.fullmatch(r"/v2/images/(\d+)/actions", path):
        return _fake_actions(method, int(m[1]), body)
    if m := re.fullmatch(r"/v2/images/([^/]+)", path):
        key = m[1]
        if method == "DELETE":
            return httpx.Response(204, headers=RATE_HEADERS)
        if method == "PUT":
            assert body is not None
            return json_response(200, {"image": image_payload(int(key), **body)}, RATE_HEADERS)
        if key.isdigit():
            image = image_payload(int(key))
        else:
            image = image_payload(6918990, slug=key, public=True)
        return json_response(200, {"image": image}, RATE_HEADERS)
    if path == "/v2/images" and method == "POST":
        assert body is not None
        image = {
            "id": 38413969,
            "name": body["name"],
            "distribution": body.get("distribution", "Unknown"),
            "regions": [],
            "created_at": "2018-09-20T19:28:00Z",
            "type": "custom",
            "tags": body.get("tags", []),
            "status": "NEW",
            "error_message": "",
            "description": body.get("description", ""),
        }
        return json_response(202, {"image": image}, RATE_HEADERS)
    if path == "/v2/regions" and method == "GET":
        regions = [{**region_object("nyc3"), "available": True}]
        return json_response(
            200, {"regions": regions, "links": {"pages": {}}, "meta": {"total": 1}}, RATE_HEADERS
        )
    if path == "/v2/images" and method == "GET":
        images = [image_payload(1), image_payload(2, type="backup")]
        return json_response(
            200, {"images": images, "links": {"pages": {}}, "meta": {"total": 2}}, RATE_HEADERS
        )
    return json_response(404, {"id": "not_found", "message": "no route"})


@dataclass(frozen=True)
class Sent:
    """A request a method must send."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Row:
    """One method call, the requests it sends and a check of its result."""

    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    sent: list[Sent]
    check: Callable[[Any], bool]


TAGGED = {"resources": [{"resource_id": "7938269", "resource_type": "image"}]}


def in_progress_action() -> Action:
    return Action.model_validate(action_payload(36805527, 7938269))


TABLE: dict[str, Row] = {
    "list": Row(
        "list",
        (),
        {},
        [Sent("GET", "/v2/images", {"per_page": "200"})],
        lambda r: [i.id for i in r] == [1, 2] and all(isinstance(i, Image) for i in r),
    ),
    "list-filtered": Row(
        "list",
        (),
        {"type": "distribution", "private": True, "tag_name": "prod"},
        [
            Sent(
                "GET",
                "/v2/images",
                {"type": "distribution", "private": "true", "tag_name": "prod", "per_page": "200"},
            )
        ],
        lambda r: len(r) == 2,
    ),
    "iter": Row(
        "iter",
        (),
        {"per_page": 50},
        [Sent("GET", "/v2/images", {"per_page": "50"})],
        lambda r: [i.id for i in r] == [1, 2],
    ),
    "info-id": Row(
        "info",
        (7555620,),
        {},
        [Sent("GET", "/v2/images/7555620")],
        lambda r: isinstance(r, Image) and r.id == 7555620 and r.status is ImageStatus.available,
    ),
    "info-slug": Row(
        "info",
        ("ubuntu-24-04-x64",),
        {},
        [Sent("GET", "/v2/images/ubuntu-24-04-x64")],
        lambda r: r.slug == "ubuntu-24-04-x64" and r.public is True,
    ),
    "update": Row(
        "update",
        (7938391, "new-image-name"),
        {"distribution": "Ubuntu", "description": "minimal"},
        [
            Sent(
                "PUT",
                "/v2/images/7938391",
                body={"name": "new-image-name", "distribution": "Ubuntu", "description": "minimal"},
            )
        ],
        lambda r: r.name == "new-image-name" and r.description == "minimal",
    ),
    "update-one-field": Row(
        "update",
        (7938391,),
        {"description": ""},
        [Sent("PUT", "/v2/images/7938391", body={"description": ""})],
        lambda r: r.id == 7938391,
    ),
    "destroy": Row(
        "destroy", (7938391,), {}, [Sent("DELETE", "/v2/images/7938391")], lambda r: r is None
    ),
    "create": Row(
        "create",
        ("ubuntu-18.04-minimal", "http://cloud-images.ubuntu.com/minimal.img", "nyc3"),
        {"distribution": "Ubuntu", "description": "small", "tags": ["base-image", "prod"]},
        [
            Sent(
                "POST",
                "/v2/images",
                body={
                    "name": "ubuntu-18.04-minimal",
                    "url": "http://cloud-images.ubuntu.com/minimal.img",
                    "region": "nyc3",
                    "distribution": "Ubuntu",
                    "description": "small",
                    "tags": ["base-image", "prod"],
                },
            )
        ],
        lambda r: (
            r.id == 38413969 and r.status is ImageStatus.NEW and r.tags == ["base-image", "prod"]
        ),
    ),
    "transfer": Row(
        "transfer",
        (7938269, "nyc2"),
        {},
        [Sent("POST", "/v2/images/7938269/actions", body={"type": "transfer", "region": "nyc2"})],
        lambda r: r.type is ActionType.transfer and r.status is ActionStatus.in_progress,
    ),
    "transfer-wait": Row(
        "transfer",
        (7938269, "nyc2"),
        {"wait": True, "poll": 2},
        [
            Sent("POST", "/v2/images/7938269/actions", body={"type": "transfer", "region": "nyc2"}),
            Sent("GET", "/v2/images/7938269/actions/36805527"),
        ],
        lambda r: r.status is ActionStatus.completed,
    ),
    "convert": Row(
        "convert",
        (7938291,),
        {},
        [Sent("POST", "/v2/images/7938291/actions", body={"type": "convert"})],
        lambda r: r.type is ActionType.convert,
    ),
    "convert-wait": Row(
        "convert",
        (7938291,),
        {"wait": True},
        [
            Sent("POST", "/v2/images/7938291/actions", body={"type": "convert"}),
            Sent("GET", "/v2/images/7938291/actions/36805527"),
        ],
        lambda r: r.status == "completed",
    ),
    "action_list": Row(
        "action_list",
        (7555620,),
        {},
        [Sent("GET", "/v2/images/7555620/actions", {"per_page": "200"})],
        lambda r: [a.id for a in r] == [29410565] and isinstance(r[0], Action),
    ),
    "action_info": Row(
        "action_info",
        (7938269, 36805527),
        {},
        [Sent("GET", "/v2/images/7938269/actions/36805527")],
        lambda r: r.id == 36805527 and r.region is not None and r.region.slug == "nyc3",
    ),
    "create-wait": Row(
        "create",
        ("ubuntu-18.04-minimal", "http://cloud-images.ubuntu.com/minimal.img", "nyc3"),
        {"wait": True, "poll": 10},
        [
            Sent(
                "POST",
                "/v2/images",
                body={
                    "name": "ubuntu-18.04-minimal",
                    "url": "http://cloud-images.ubuntu.com/minimal.img",
                    "region": "nyc3",
                },
            ),
            Sent("GET", "/v2/images/38413969"),
        ],
        lambda r: r.id == 38413969 and r.status is ImageStatus.available,
    ),
    "wait_image": Row(
        "wait_image",
        (7555620,),
        {"poll": 10, "timeout": 600},
        [Sent("GET", "/v2/images/7555620")],
        lambda r: isinstance(r, Image) and r.status is ImageStatus.available,
    ),
    "distribute": Row(
        "distribute",
        (7938269, ["nyc3", "sfo3", "sfo3"]),
        {"poll": 10},
        [
            Sent("GET", "/v2/images/7938269"),
            Sent("POST", "/v2/images/7938269/actions", body={"type": "transfer", "region": "sfo3"}),
            Sent("GET", "/v2/images/7938269/actions", {"per_page": "200"}),
        ],
        lambda r: list(r) == ["sfo3"] and r["sfo3"].status is ActionStatus.completed,
    ),
    "plan_prune": Row(
        "plan_prune",
        (),
        {"keep": 1},
        [Sent("GET", "/v2/images", {"private": "true", "per_page": "200"})],
        lambda r: [i.id for i in r.keep] == [1] and r.delete == [],
    ),
    "tag": Row(
        "tag",
        (7938269, "web", "prod", "web"),
        {},
        [
            Sent("POST", "/v2/tags/web/resources", body=TAGGED),
            Sent("POST", "/v2/tags/prod/resources", body=TAGGED),
            Sent("GET", "/v2/images/7938269"),  # a new tag: is the image there?
            Sent("POST", "/v2/tags", body={"name": "prod"}),
            Sent("POST", "/v2/tags/prod/resources", body=TAGGED),
        ],
        lambda r: r is None,
    ),
    "untag": Row(
        "untag",
        (7938269, "web", "never-made"),
        {},
        [
            Sent("DELETE", "/v2/tags/web/resources", body=TAGGED),
            Sent("DELETE", "/v2/tags/never-made/resources", body=TAGGED),
        ],
        lambda r: r is None,
    ),
    "transfer_to_account-email": Row(
        "transfer_to_account",
        (7938269,),
        {"email": "alice@example.com"},
        [
            Sent("GET", "/v2/images/7938269"),
            Sent(
                "POST",
                "/v2/images/7938269/account_transfer",
                body={"recipient_email": "alice@example.com"},
            ),
        ],
        lambda r: (
            isinstance(r, AccountTransfer) and (r.transfer_id, r.accepted) == (3164444, False)
        ),
    ),
    "transfer_to_account-team": Row(
        "transfer_to_account",
        (Image.model_validate(image_payload(7938269)),),
        {"team": TEAM.upper()},
        [
            Sent("POST", "/v2/images/7938269/account_transfer", body={"recipient_uuid": TEAM}),
        ],
        lambda r: (r.transfer_id, r.accepted) == (0, True),
    ),
    "accept_account_transfer": Row(
        "accept_account_transfer",
        (7938269, 3164444),
        {"team": TEAM},
        [
            Sent(
                "POST",
                "/v2/images/7938269/account_transfer/accept",
                body={"transfer_id": 3164444, "recipient_uuid": TEAM},
            )
        ],
        lambda r: r is None,
    ),
    "cancel_account_transfer": Row(
        "cancel_account_transfer",
        (7938269, 3164444),
        {},
        [
            Sent(
                "POST",
                "/v2/images/7938269/account_transfer/cancel",
                body={"transfer_id": 3164444},
            )
        ],
        lambda r: r is None,
    ),
    "decline_account_transfer": Row(
        "decline_account_transfer",
        (7938269, 3164444),
        {},
        [
            Sent(
                "POST",
                "/v2/images/7938269/account_transfer/decline",
                body={"transfer_id": 3164444},
            )
        ],
        lambda r: r is None,
    ),
    "plan_fleet": Row(
        "plan_fleet",
        (
            Fleet.from_dict(
                {"version": 1, "group": [{"name": "all", "select": {}, "keep": 0, "keep_min": 0}]}
            ),
        ),
        {},
        [
            Sent("GET", "/v2/regions", {"per_page": "200"}),
            Sent("GET", "/v2/images", {"private": "true", "per_page": "200"}),
        ],
        lambda r: [(e.action, e.image_id) for e in r.entries] == [("delete", 1)],
    ),
    "wait": Row(
        "wait",
        (in_progress_action(),),
        {"poll": 3, "timeout": 60},
        [Sent("GET", "/v2/images/7938269/actions/36805527")],
        lambda r: r.status is ActionStatus.completed,
    ),
}


@pytest.mark.parametrize("row_id", list(TABLE))
def test_method_sends_exact_requests_and_returns_models(
    make_driver: MakeDriver, row_id: str
) -> None:
    """Each method sends exactly the documented requests and returns typed models."""
    row = TABLE[row_id]
    harness = make_driver(new_fake_api())
    result = materialize(getattr(harness.image, row.method)(*row.args, **row.kwargs))
    sent = [
        Sent(
            r.method,
            r.url.path,
            dict(r.url.params),
            json.loads(r.content) if r.content else None,
        )
        for r in harness.requests
    ]
    assert sent == row.sent
    assert row.check(result), result


@pytest.mark.parametrize("row_id", list(TABLE))
def test_every_request_carries_auth_and_json_headers(make_driver: MakeDriver, row_id: str) -> None:
    """Every request is authenticated, asks for JSON and declares a JSON body when it has one."""
    row = TABLE[row_id]
    harness = make_driver(new_fake_api())
    materialize(getattr(harness.image, row.method)(*row.args, **row.kwargs))
    for request in harness.requests:
        assert request.headers["authorization"].startswith("Bearer dop_v1_")
        assert request.headers["accept"] == "application/json"
        assert request.headers["user-agent"].startswith("do_images/")
        if request.content:
            assert request.headers["content-type"] == "application/json"


TESTED_ELSEWHERE = {
    "prune": "needs a plan from the same client: tests/test_lifecycle.py",
    "apply_fleet": "needs a plan of the same account: tests/test_fleet_apply.py",
    "import_file": "needs an S3 server: tests/test_import_file.py (moto on loopback)",
}
LIFECYCLE_ROWS = frozenset({"create-wait", "wait_image", "distribute", "plan_prune", "plan_fleet"})
"""Rows whose requests depend on the server's own numbering and timing."""


@pytest.mark.parametrize("resource", [ImageResource, AsyncImageResource])
def test_table_covers_every_public_method(resource: type) -> None:
    """A method added to either resource without a row in the table fails here."""
    public = {
        name for name, member in inspect.getmembers(resource, callable) if not name.startswith("_")
    }
    assert public == {row.method for row in TABLE.values()} | set(TESTED_ELSEWHERE)


def test_sync_and_async_resources_have_the_same_signatures() -> None:
    """``Client`` and ``AsyncClient`` expose the same methods with the same parameters."""
    for name in {row.method for row in TABLE.values()} | set(TESTED_ELSEWHERE):
        sync = inspect.signature(getattr(ImageResource, name))
        asyn = inspect.signature(getattr(AsyncImageResource, name))
        assert list(sync.parameters) == list(asyn.parameters), name
        for param in sync.parameters:
            assert sync.parameters[param].default == asyn.parameters[param].default, (name, param)


def test_sync_and_async_twins_have_the_same_docstrings() -> None:
    """Every public method of the two resources, and the pagers, is documented alike."""
    from do_images import AsyncPager, Pager

    pairs = [(ImageResource, AsyncImageResource), (Pager, AsyncPager)]
    for sync_cls, async_cls in pairs:
        assert inspect.getdoc(sync_cls) is not None
        for name, member in vars(sync_cls).items():
            if name.startswith("_") or not callable(member):
                continue
            assert inspect.getdoc(member), name
            assert inspect.getdoc(member) == inspect.getdoc(getattr(async_cls, name)), name


def test_rate_limit_is_recorded(make_driver: MakeDriver) -> None:
    """``do.rate_limit`` holds the ``ratelimit-*`` headers of the last response."""
    harness = make_driver(new_fake_api())
    before = harness.rate_limit
    harness.image.info(1)
    assert before is None
    limit = harness.rate_limit
    assert limit is not None
    assert (limit.limit, limit.remaining) == (5000, 4816)
    assert limit.reset_at.timestamp() == 1444931833
