"""Every request ``do.image``, ``do.droplet`` and ``do.snapshot`` send is an operation of the
spec, with valid parameters and body.

One table holds a row per way of calling each public method. Both clients run every
row against a fake API that answers with the spec's own examples; each request they
send is matched to its operation by method and path template, and its path
parameters, query parameters and JSON body are validated against that operation.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from do_images import (
    Action,
    AsyncDropletResource,
    AsyncImageResource,
    AsyncSnapshotResource,
    Client,
    DropletResource,
    Image,
    ImageResource,
    SnapshotResource,
)
from do_images.fleet import Fleet
from spec_support import (
    IMPLEMENTED,
    Operation,
    deref,
    json_schema,
    operations,
    spec,
    validator,
)
from support import driver, materialize

IMAGE_ID = 7938269
ACTION_ID = 36805527
CUSTOM = deref({"$ref": "#/components/schemas/image_new_custom"})["example"]

# The actions list is paginated (its response has links and meta, its example request
# uses page and per_page) but the spec declares only image_id for it: a spec quirk.
EXTRA_PARAMETERS = {
    "imageActions_list": [
        {"$ref": "#/components/parameters/per_page"},
        {"$ref": "#/components/parameters/page"},
    ],
}


@dataclass(frozen=True)
class Row:
    """One way of calling a method, and the spec operations its requests must be."""

    id: str
    method: str
    call: Callable[[Any], Any]
    """Called with ``do.image`` (or the ``resource`` named)."""
    operations: tuple[str, ...]
    not_found_once: str | None = None
    """An operation whose first answer is a 404 (a tag not there yet)."""
    resource: str = "image"
    """``image``, ``droplet`` or ``snapshot``: the resource ``call`` is given."""


TEAM = "4f6c71e2-1e90-4762-9fee-6cc4a0a9f2cf"
SNAPSHOT = Image.model_validate(
    {"id": IMAGE_ID, "name": "web", "type": "snapshot", "public": False, "status": "available"}
)


def _in_progress() -> Action:
    example = deref({"$ref": "#/components/responses/post_image_action_response"})
    return Action.model_validate(example["content"]["application/json"]["example"]["action"])


ROWS = [
    Row("list", "list", lambda image: image.list(), ("images_list",)),
    Row(
        "list-filtered",
        "list",
        lambda image: image.list(type="distribution", private=True, tag_name="base-image"),
        ("images_list",),
    ),
    Row(
        "iter",
        "iter",
        lambda image: image.iter(type="application", private=False, per_page=20),
        ("images_list",),
    ),
    Row("info-by-id", "info", lambda image: image.info(IMAGE_ID), ("images_get",)),
    Row("info-by-slug", "info", lambda image: image.info("ubuntu-16-04-x64"), ("images_get",)),
    Row(
        "update-name",
        "update",
        lambda image: image.update(IMAGE_ID, "new-image-name"),
        ("images_update",),
    ),
    Row(
        "update-all",
        "update",
        lambda image: image.update(
            IMAGE_ID, "Nifty New Snapshot", distribution="Ubuntu", description=" "
        ),
        ("images_update",),
    ),
    Row("destroy", "destroy", lambda image: image.destroy(IMAGE_ID), ("images_delete",)),
    Row(
        "create",
        "create",
        lambda image: image.create(
            CUSTOM["name"],
            CUSTOM["url"],
            CUSTOM["region"],
            distribution=CUSTOM["distribution"],
            description=CUSTOM["description"],
            tags=CUSTOM["tags"],
        ),
        ("images_create_custom",),
    ),
    Row(
        "create-minimal",
        "create",
        lambda image: image.create("web", "https://example.com/web.qcow2", "sfo3"),
        ("images_create_custom",),
    ),
    Row(
        "transfer",
        "transfer",
        lambda image: image.transfer(IMAGE_ID, "nyc2"),
        ("imageActions_post",),
    ),
    Row(
        "transfer-wait",
        "transfer",
        lambda image: image.transfer(IMAGE_ID, "nyc2", wait=True, poll=1),
        ("imageActions_post", "imageActions_get"),
    ),
    Row("convert", "convert", lambda image: image.convert(IMAGE_ID), ("imageActions_post",)),
    Row(
        "action-list",
        "action_list",
        lambda image: image.action_list(IMAGE_ID),
        ("imageActions_list",),
    ),
    Row(
        "action-info",
        "action_info",
        lambda image: image.action_info(IMAGE_ID, ACTION_ID),
        ("imageActions_get",),
    ),
    Row("wait", "wait", lambda image: image.wait(_in_progress(), poll=1), ("imageActions_get",)),
    Row(
        "wait_image",
        "wait_image",
        lambda image: image.wait_image(IMAGE_ID, poll=10),
        ("images_get",),
    ),
    Row(
        "distribute",
        "distribute",
        lambda image: image.distribute(IMAGE_ID, ["tor1"], wait=False),
        ("images_get", "imageActions_post"),
    ),
    Row("plan_prune", "plan_prune", lambda image: image.plan_prune(keep=1), ("images_list",)),
    Row(
        "plan_fleet",
        "plan_fleet",
        lambda image: image.plan_fleet(
            Fleet.from_dict({"version": 1, "group": [{"name": "all", "select": {}, "keep": 1}]})
        ),
        ("regions_list", "images_list"),
    ),
    Row(
        "tag",
        "tag",
        lambda image: image.tag(IMAGE_ID, "web", "prod:eu"),
        ("tags_assign_resources", "tags_assign_resources"),
    ),
    Row(
        "tag-new",
        "tag",
        lambda image: image.tag(IMAGE_ID, "new-tag"),
        ("tags_assign_resources", "images_get", "tags_create", "tags_assign_resources"),
        not_found_once="tags_assign_resources",
    ),
    Row(
        "untag",
        "untag",
        lambda image: image.untag(IMAGE_ID, "web"),
        ("tags_unassign_resources",),
    ),
    Row(
        "transfer_to_account-email",
        "transfer_to_account",
        lambda image: image.transfer_to_account(SNAPSHOT, email="alice@example.com"),
        ("images_post_account_transfer_create",),
    ),
    Row(
        "transfer_to_account-team",
        "transfer_to_account",
        lambda image: image.transfer_to_account(SNAPSHOT, team=TEAM),
        ("images_post_account_transfer_create",),
    ),
    Row(
        "accept_account_transfer",
        "accept_account_transfer",
        lambda image: image.accept_account_transfer(IMAGE_ID, 3164444, team=TEAM),
        ("images_post_account_transfer_accept",),
    ),
    Row(
        "cancel_account_transfer",
        "cancel_account_transfer",
        lambda image: image.cancel_account_transfer(IMAGE_ID, 3164444),
        ("images_post_account_transfer_cancel",),
    ),
    Row(
        "decline_account_transfer",
        "decline_account_transfer",
        lambda image: image.decline_account_transfer(IMAGE_ID, 3164444),
        ("images_post_account_transfer_decline",),
    ),
]
DROPLET_ID = 3164444  # the spec's example droplet
SNAPSHOT_NAME = "web-01-1595954862243"  # its example snapshot, made at STARTED
STARTED = "2020-07-28T16:47:44Z"


def _snapshot_action(status: str = "in-progress") -> dict[str, Any]:
    """A snapshot action of the example droplet, as the spec's action schema has it (the
    spec gives no example of a droplet action POST)."""
    return {
        "id": ACTION_ID,
        "status": status,
        "type": "snapshot",
        "started_at": STARTED,
        "completed_at": None if status == "in-progress" else "2020-07-28T16:49:44Z",
        "resource_id": DROPLET_ID,
        "resource_type": "droplet",
        "region": None,
        "region_slug": "nyc3",
    }


def _droplet(droplet: DropletResource) -> DropletResource:
    return droplet


def _snapshots(snapshot: SnapshotResource) -> SnapshotResource:
    return snapshot


DROPLET_ROWS = [
    Row("droplet-list", "list", lambda d: _droplet(d).list(), ("droplets_list",), None, "droplet"),
    Row(
        "droplet-list-tag",
        "list",
        lambda d: _droplet(d).list(tag_name="env:prod"),
        ("droplets_list",),
        None,
        "droplet",
    ),
    Row(
        "droplet-iter",
        "iter",
        lambda d: _droplet(d).iter(tag_name="web", per_page=20),
        ("droplets_list",),
        None,
        "droplet",
    ),
    Row(
        "droplet-info",
        "info",
        lambda d: _droplet(d).info(DROPLET_ID),
        ("droplets_get",),
        None,
        "droplet",
    ),
    Row(
        "droplet-actions",
        "actions",
        lambda d: _droplet(d).actions(DROPLET_ID),
        ("dropletActions_list",),
        None,
        "droplet",
    ),
    Row(
        "droplet-snapshots",
        "snapshots",
        lambda d: _droplet(d).snapshots(DROPLET_ID),
        ("droplets_list_snapshots",),
        None,
        "droplet",
    ),
    Row(
        "droplet-snapshot-no-wait-default-name",
        "snapshot",
        lambda d: _droplet(d).snapshot(DROPLET_ID, wait=False),
        ("droplets_get", "dropletActions_post"),
        None,
        "droplet",
    ),
    Row(
        "droplet-snapshot",
        "snapshot",
        lambda d: _droplet(d).snapshot(DROPLET_ID, SNAPSHOT_NAME, poll=1),
        ("dropletActions_post", "dropletActions_get", "droplets_list_snapshots", "images_get"),
        None,
        "droplet",
    ),
    Row(
        "droplet-snapshot-power-off",
        "snapshot",
        lambda d: _droplet(d).snapshot(DROPLET_ID, SNAPSHOT_NAME, poll=1, power_off=True),
        (
            "droplets_get",
            "dropletActions_post",  # shutdown
            "droplets_get",
            "dropletActions_post",  # snapshot
            "dropletActions_get",
            "dropletActions_post",  # power_on
            "dropletActions_get",
            "droplets_list_snapshots",
            "images_get",
        ),
        None,
        "droplet",
    ),
    Row(
        "droplet-snapshot-image",
        "snapshot_image",
        lambda d: _droplet(d).snapshot_image(
            Action.model_validate(_snapshot_action()), name=SNAPSHOT_NAME
        ),
        ("dropletActions_get", "droplets_list_snapshots", "images_get"),
        None,
        "droplet",
    ),
    Row(
        "droplet-power-on",
        "power_on",
        lambda d: _droplet(d).power_on(DROPLET_ID),
        ("dropletActions_post", "dropletActions_get"),
        None,
        "droplet",
    ),
    Row(
        "snapshot-list",
        "list",
        lambda s: _snapshots(s).list(resource_type="droplet"),
        ("snapshots_list",),
        None,
        "snapshot",
    ),
    Row(
        "snapshot-info",
        "info",
        lambda s: _snapshots(s).info("6372321"),
        ("snapshots_get",),
        None,
        "snapshot",
    ),
    Row(
        "snapshot-info-uuid",
        "info",
        lambda s: _snapshots(s).info("fbe805e8-866b-11e6-96bf-000f53315a41"),
        ("snapshots_get",),
        None,
        "snapshot",
    ),
    Row(
        "snapshot-destroy",
        "destroy",
        lambda s: _snapshots(s).destroy(6372321),
        ("snapshots_delete",),
        None,
        "snapshot",
    ),
]
ROWS += DROPLET_ROWS

# prune and apply_fleet need a plan of the same client: tests/test_lifecycle.py and
# tests/test_fleet_apply.py.
TESTED_ELSEWHERE = {"prune", "apply_fleet", "import_file"}  # import_file: test_import_file.py
NOT_CALLED = {
    "tags_list",
    "tags_get",
    "tags_delete",
    "actions_get",
    "actions_list",
}
"""Operations the SDK's resources never send: they tag images, they do not manage tags
themselves; ``actions_get`` is what ``do_images.legacy`` polls (tests/test_legacy.py) and
what waiting polls for an action of another kind than an image's or a droplet's
(tests/test_droplet_waits.py); the sandbox answers ``actions_list``, which no SDK method
sends."""


# --------------------------------------------------------------- the fake API


def _success_body(operation: Operation) -> tuple[int, Any]:
    """The status and example body of the operation's success response."""
    for status, response in operation.definition["responses"].items():
        if not str(status).startswith("2"):
            continue
        media = deref(response).get("content", {}).get("application/json")
        if media is None:
            return int(status), None
        if "example" in media:
            return int(status), media["example"]
        if "example" in media["schema"]:  # the Tags responses keep it in the schema
            return int(status), media["schema"]["example"]
        first = next(iter(media["examples"].values()))
        return int(status), deref(first)["value"]
    raise AssertionError(f"{operation.operation_id} has no success response")


def _answer(operation: Operation, seen: list[str] | None = None) -> httpx.Response:
    earlier = seen or []
    if operation.operation_id in ("dropletActions_post", "dropletActions_get"):
        # The spec has no example of a droplet action: a snapshot of its example droplet,
        # done once polled, made at the time of the droplet's example snapshot.
        posted = operation.operation_id.endswith("post")
        action = _snapshot_action("in-progress" if posted else "completed")
        return httpx.Response(201 if posted else 200, json={"action": action})
    if operation.operation_id == "snapshots_get":  # no example: the list's first one
        listed = next(op for op in operations() if op.operation_id == "snapshots_list")
        _, snapshots = _success_body(listed)
        return httpx.Response(200, json={"snapshot": snapshots["snapshots"][0]})
    status, body = _success_body(operation)
    if body is None:
        return httpx.Response(status)
    body = json.loads(json.dumps(body))
    # One page only, and a polled action is done, so lists and waits end at once.
    body.pop("links", None)
    if operation.operation_id == "imageActions_get":
        body["action"]["status"] = "completed"
    if operation.operation_id == "images_get":
        body["image"]["status"] = "available"  # an awaited import is done at once
    if operation.operation_id == "droplets_get" and "dropletActions_post" in earlier:
        body["droplet"]["status"] = "off"  # shut down at once
    return httpx.Response(status, json=body)


def _match(request: httpx.Request) -> tuple[Operation, dict[str, str]]:
    path = request.url.raw_path.decode("ascii").split("?", 1)[0]
    found = [
        (operation, params)
        for operation in operations()
        if (params := operation.matches(request.method, path)) is not None
    ]
    assert len(found) == 1, f"{request.method} {path} is not exactly one spec operation"
    return found[0]


# ------------------------------------------------------------ the conformance check


def _allows(schema: Any, type_name: str) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == type_name:
        return True
    return any(_allows(sub, type_name) for sub in schema.get("anyOf", []) + schema.get("oneOf", []))


def _typed(text: str, schema: Any) -> Any:
    """A path or query string read as the JSON value its schema's type calls for."""
    if _allows(schema, "integer") and re.fullmatch(r"-?\d+", text):
        return int(text)
    if _allows(schema, "boolean") and text in ("true", "false"):
        return text == "true"
    return text


def request_errors(request: httpx.Request, operation: Operation, path: dict[str, str]) -> list[str]:
    """Every way ``request`` departs from ``operation``'s parameters and request body."""
    errors: list[str] = []
    declared = operation.parameters + [
        deref(extra) for extra in EXTRA_PARAMETERS.get(operation.operation_id, [])
    ]
    where: dict[str, dict[str, Any]] = {"path": {}, "query": {}}
    for parameter in declared:
        where.setdefault(parameter["in"], {})[parameter["name"]] = parameter

    def check(kind: str, name: str, text: str) -> None:
        schema = json_schema(where[kind][name]["schema"])
        errors.extend(
            f"{kind} parameter {name}={text!r}: {error.message}"
            for error in validator(schema).iter_errors(_typed(text, schema))
        )

    for name, raw in path.items():
        if name not in where["path"]:
            errors.append(f"undeclared path parameter {name}")
        else:
            check("path", name, unquote(raw))

    query = request.url.params
    for name in query:
        values = query.get_list(name)
        if name not in where["query"]:
            errors.append(f"undeclared query parameter {name}")
        elif len(values) != 1:
            errors.append(f"query parameter {name} repeated")
        else:
            check("query", name, values[0])
    errors.extend(
        f"missing required {kind} parameter {name}"
        for kind in ("path", "query")
        for name, parameter in where[kind].items()
        if parameter.get("required") and name not in (path if kind == "path" else query)
    )

    return errors + body_errors(request, operation)


def body_errors(request: httpx.Request, operation: Operation) -> list[str]:
    """Every way ``request``'s body departs from ``operation``'s request body."""
    body = operation.definition.get("requestBody")
    if body is None:
        return ["a body was sent to an operation that takes none"] if request.content else []
    if not request.content:
        return ["the required request body is missing"] if deref(body).get("required") else []
    errors: list[str] = []
    if request.headers.get("content-type") != "application/json":
        errors.append(f"content-type {request.headers.get('content-type')!r} is not JSON")
    media = deref(body)["content"]["application/json"]
    # unevaluatedProperties also refuses keys no branch of the schema declares (a typo).
    schema = {"allOf": [json_schema(media["schema"])], "unevaluatedProperties": False}
    errors.extend(
        f"body: {error.message}"
        for error in validator(schema).iter_errors(json.loads(request.content))
    )
    return errors


# ----------------------------------------------------------------------- running


def _run(kind: str, row: Row) -> list[tuple[str, list[str]]]:
    """Call ``row`` on a client of ``kind``; the operation id and errors of each request."""
    seen: list[tuple[str, list[str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        operation, path = _match(request)
        first = all(operation.operation_id != done for done, _ in seen)
        seen.append((operation.operation_id, request_errors(request, operation, path)))
        if not request.headers.get("authorization", "").startswith("Bearer "):
            seen.append(("", ["no bearer token"]))
        if first and operation.operation_id == row.not_found_once:
            return httpx.Response(404, json={"id": "not_found", "message": "no such tag"})
        return _answer(operation, [done for done, _ in seen[:-1]])

    with driver(kind, handler, token="token") as do:
        materialize(row.call(getattr(do, row.resource)))
    return seen


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_requests_conform_to_the_spec(kind: str, row: Row) -> None:
    """Each request the call sends is the expected spec operation and validates against it."""
    seen = _run(kind, row)
    assert seen == [(operation_id, []) for operation_id in row.operations]


def _public_methods(resource: type) -> set[str]:
    return {
        name
        for name, value in inspect.getmembers(resource, inspect.isfunction)
        if not name.startswith("_")
    }


@pytest.mark.parametrize(
    ("name", "resource"),
    [
        ("image", ImageResource),
        ("image", AsyncImageResource),
        ("droplet", DropletResource),
        ("droplet", AsyncDropletResource),
        ("snapshot", SnapshotResource),
        ("snapshot", AsyncSnapshotResource),
    ],
)
def test_every_public_method_has_a_row(name: str, resource: type) -> None:
    """A method added to ``do.image``, ``do.droplet`` or ``do.snapshot`` without a row in
    the table fails here."""
    rows = {row.method for row in ROWS if row.resource == name}
    elsewhere = TESTED_ELSEWHERE if name == "image" else set()
    assert rows | elsewhere == _public_methods(resource)


def test_every_spec_operation_is_exercised() -> None:
    """The table reaches every implemented operation of the spec."""
    reached = {operation_id for row in ROWS for operation_id in row.operations}
    assert reached | NOT_CALLED == IMPLEMENTED
    assert not reached & NOT_CALLED


def test_create_sends_the_spec_request_example() -> None:
    """``create`` with the values of the spec's request example sends exactly that body."""
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return _answer(_match(request)[0])

    with Client("token", transport=httpx.MockTransport(handler)) as do:
        next(row for row in ROWS if row.id == "create").call(do.image)
    assert bodies == [CUSTOM]


BAD_REQUESTS = [
    pytest.param("GET", "/v2/images?per_page=500", None, id="per-page-above-200"),
    pytest.param("GET", "/v2/images?type=snapshot", None, id="type-not-in-enum"),
    pytest.param("GET", "/v2/images?private=yes", None, id="private-not-boolean"),
    pytest.param("GET", "/v2/images?sort=name", None, id="undeclared-query"),
    pytest.param("GET", "/v2/images?page=1&page=2", None, id="repeated-query"),
    pytest.param("GET", "/v2/images/7/actions/0", None, id="action-id-below-minimum"),
    pytest.param("GET", "/v2/images/7/actions/abc", None, id="action-id-not-integer"),
    pytest.param("DELETE", "/v2/images/7", {"force": True}, id="body-on-delete"),
    pytest.param(
        "POST", "/v2/images", {"name": "x", "url": "https://e.x/i"}, id="create-no-region"
    ),
    pytest.param("PUT", "/v2/images/7", {"nmae": "typo"}, id="update-unknown-key"),
    pytest.param("PUT", "/v2/images/7", {"name": 5}, id="update-name-not-string"),
    pytest.param("POST", "/v2/images/7/actions", {"type": "resize"}, id="action-type-unknown"),
    pytest.param("POST", "/v2/images/7/actions", {"type": "transfer"}, id="transfer-no-region"),
    pytest.param("POST", "/v2/images", None, id="create-without-body"),
]


@pytest.mark.parametrize(("method", "target", "body"), BAD_REQUESTS)
def test_nonconforming_request_is_caught(method: str, target: str, body: Any) -> None:
    """The check reports requests that break their operation's parameters or body."""
    content = b"" if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"content-type": "application/json"}
    request = httpx.Request(
        method, f"https://api.digitalocean.com{target}", content=content, headers=headers
    )
    assert request_errors(request, *_match(request)) != []


def test_spec_request_example_fits_its_schema() -> None:
    """The spec's own create-request example validates against the create body schema."""
    media = spec()["paths"]["/v2/images"]["post"]["requestBody"]["content"]["application/json"]
    assert list(validator(json_schema(media["schema"])).iter_errors(CUSTOM)) == []
