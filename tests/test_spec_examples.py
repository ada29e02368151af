"""Every response example in the official spec parses, round-trips and fits ``schemas/``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from do_images import AccountTransfer, Action, Droplet, Image, Region, Snapshot
from do_images._error_map import error_from_response
from do_images._models import (
    ACCOUNT_TRANSFER,
    ACTION_ANY,
    ACTION_PAGE,
    DROPLET_ENVELOPE,
    DROPLET_PAGE,
    DROPLET_SNAPSHOT_PAGE,
    ERROR_BODY,
    IMAGE_ENVELOPE,
    IMAGE_PAGE,
    SNAPSHOT_ENVELOPE,
    SNAPSHOT_PAGE,
    ActionEnvelope,
    ActionPage,
    DropletEnvelope,
    DropletPage,
    DropletSnapshotPage,
    ImageEnvelope,
    ImagePage,
    JsonValidator,
    SnapshotEnvelope,
    SnapshotPage,
)
from do_images._paging import page_of
from do_images._session import parse, parse_action
from spec_support import (
    IMPLEMENTED,
    PENDING,
    ResponseExample,
    committed_schema,
    deref,
    implemented_operations,
    json_schema,
    operations,
    response_examples,
    spec,
    validator,
)

# (operationId, status) -> the schema file (and model) of its success body. Error statuses
# share the error body.
SUCCESS_BODIES = {
    ("images_list", "200"): "image_list",
    ("images_create_custom", "202"): "image_envelope",
    ("images_get", "200"): "image_envelope",
    ("images_update", "200"): "image_envelope",
    ("imageActions_list", "200"): "action_list",
    ("imageActions_post", "201"): "action_envelope",
    ("imageActions_get", "200"): "action_envelope",
    ("images_post_account_transfer_create", "201"): "account_transfer",
    ("actions_get", "200"): "action_envelope",
    ("actions_list", "200"): "action_list",
    ("droplets_list", "200"): "droplet_list",
    ("droplets_get", "200"): "droplet_envelope",
    ("dropletActions_list", "200"): "action_list",
    ("dropletActions_post", "201"): "action_envelope",
    ("dropletActions_get", "200"): "action_envelope",
    ("droplets_list_snapshots", "200"): "droplet_snapshot_list",
    ("snapshots_list", "200"): "snapshot_list",
    ("snapshots_get", "200"): "snapshot_envelope",
}
# The Tags bodies are validated against the spec's own schemas, not modelled: the SDK
# returns nothing from them. The Regions list is answered by the sandbox; its region
# objects are the SDK's ``Region`` (a test below), the list itself is not modelled yet.
UNMODELLED = {
    ("tags_list", "200"),
    ("tags_create", "201"),
    ("tags_get", "200"),
    ("regions_list", "200"),
}
# The Tags API answers a bad request with {"error", "messages", "root_causes"}.
ROOT_CAUSES = {("tags_create", "400")}

ADAPTERS: dict[str, JsonValidator[Any]] = {
    "image_list": IMAGE_PAGE,
    "action_list": ACTION_PAGE,
    "image_envelope": IMAGE_ENVELOPE,
    "action_envelope": ACTION_ANY,
    "error": ERROR_BODY,
    "account_transfer": ACCOUNT_TRANSFER,
    "droplet_list": DROPLET_PAGE,
    "droplet_envelope": DROPLET_ENVELOPE,
    "droplet_snapshot_list": DROPLET_SNAPSHOT_PAGE,
    "snapshot_list": SNAPSHOT_PAGE,
    "snapshot_envelope": SNAPSHOT_ENVELOPE,
}
OBJECT_SCHEMAS = {
    "image_list": "image",
    "image_envelope": "image",
    "action_list": "action",
    "action_envelope": "action",
    "account_transfer": "account_transfer",
    "droplet_list": "droplet",
    "droplet_envelope": "droplet",
    "droplet_snapshot_list": "image",
    "snapshot_list": "snapshot",
    "snapshot_envelope": "snapshot",
}
"""A body's schema -> the schema of the objects in it (a droplet's snapshots are images)."""

ALL_EXAMPLES = list(response_examples(implemented_operations()))
EXAMPLES = [e for e in ALL_EXAMPLES if (e.operation_id, e.status) not in UNMODELLED | ROOT_CAUSES]
"""The examples of the bodies the SDK models."""


def _stem(operation_id: str, status: str) -> str:
    if status == "default" or int(status) >= 400:
        return "error"
    return SUCCESS_BODIES[(operation_id, status)]


def _response(example: ResponseExample) -> httpx.Response:
    status = 500 if example.status == "default" else int(example.status)
    request = httpx.Request("GET", "https://api.digitalocean.com/v2/images")
    return httpx.Response(status, content=json.dumps(example.payload).encode(), request=request)


Parsed = Image | Action | AccountTransfer | Droplet | Snapshot


def _objects(parsed: BaseModel) -> list[Parsed]:
    if isinstance(parsed, AccountTransfer):
        return [parsed]
    pages: dict[type[BaseModel], str] = {
        ImagePage: "images",
        ActionPage: "actions",
        DropletPage: "droplets",
        DropletSnapshotPage: "snapshots",
        SnapshotPage: "snapshots",
    }
    envelopes: dict[type[BaseModel], str] = {
        ImageEnvelope: "image",
        ActionEnvelope: "action",
        DropletEnvelope: "droplet",
        SnapshotEnvelope: "snapshot",
    }
    if type(parsed) in pages:
        items: list[Parsed] = getattr(parsed, pages[type(parsed)])
        return list(items)
    if type(parsed) in envelopes:
        return [getattr(parsed, envelopes[type(parsed)])]
    return []


def _raw_objects(payload: dict[str, Any]) -> list[Any]:
    if "transfer_id" in payload:
        return [payload]
    for key in ("images", "actions", "droplets", "snapshots"):
        if key in payload:
            return list(payload[key])
    for key in ("image", "action", "droplet", "snapshot"):
        if key in payload:
            return [payload[key]]
    return []


def test_spec_has_examples() -> None:
    """The vendored spec yields the examples these tests are about."""
    assert len(EXAMPLES) >= 15


def test_every_json_response_has_a_model() -> None:
    """Each JSON success response of an implemented operation is mapped to one of the SDK's
    models (or listed as unmodelled)."""
    documented = {
        (operation.operation_id, str(status))
        for operation in implemented_operations()
        for status, response in operation.definition["responses"].items()
        if str(status).startswith("2") and "application/json" in deref(response).get("content", {})
    }
    assert documented == set(SUCCESS_BODIES) | UNMODELLED


def test_every_named_example_is_used() -> None:
    """Each entry of ``components/examples`` is reached through some response of the spec."""
    named = {e.named for e in response_examples() if e.named}
    assert named == set(spec()["components"]["examples"])


def test_every_operation_is_implemented_or_pending() -> None:
    """The spec's operations are exactly IMPLEMENTED and PENDING, which do not overlap."""
    assert {operation.operation_id for operation in operations()} == IMPLEMENTED | PENDING
    assert not IMPLEMENTED & PENDING


def _response_schema(example: ResponseExample) -> Any:
    operation = next(op for op in operations() if op.operation_id == example.operation_id)
    response = deref(operation.definition["responses"][example.status])
    return json_schema(response["content"]["application/json"]["schema"])


@pytest.mark.parametrize(
    "example",
    [e for e in ALL_EXAMPLES if (e.operation_id, e.status) in UNMODELLED | ROOT_CAUSES],
    ids=lambda e: e.id,
)
def test_unmodelled_example_fits_its_spec_schema(example: ResponseExample) -> None:
    """The Tags and Regions examples fit the spec's own schemas (round-tripped through JSON)."""
    payload = json.loads(json.dumps(example.payload))
    assert payload == example.payload
    assert list(validator(_response_schema(example)).iter_errors(payload)) == []


@pytest.mark.parametrize(
    "example",
    [e for e in ALL_EXAMPLES if (e.operation_id, e.status) == ("regions_list", "200")],
    ids=lambda e: e.id,
)
def test_regions_example_parses_as_the_sdk_region(example: ResponseExample) -> None:
    """Each region of the Regions example parses as ``Region`` and dumps back as sent."""
    regions = example.payload["regions"]
    assert [Region.model_validate_json(json.dumps(r)).model_dump() for r in regions] == regions
    assert regions


@pytest.mark.parametrize(
    "example",
    [e for e in ALL_EXAMPLES if (e.operation_id, e.status) in ROOT_CAUSES],
    ids=lambda e: e.id,
)
def test_root_causes_error_example_fills_the_exception(example: ResponseExample) -> None:
    """A Tags API error (``{"error", "root_causes"}``) gives its ``error`` as the message."""
    error = error_from_response(_response(example), None)
    assert (error.error_id, error.message) == (None, example.payload["error"])


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_example_round_trips_exactly(example: ResponseExample) -> None:
    """The SDK's parser accepts the example and ``model_dump()`` gives it back unchanged."""
    parsed = parse(
        ADAPTERS[_stem(example.operation_id, example.status)], _response(example), secret=None
    )
    assert parsed.model_dump(mode="json", exclude_unset=True) == example.payload


@pytest.mark.parametrize(
    "example",
    [e for e in EXAMPLES if _stem(e.operation_id, e.status) != "error"],
    ids=lambda e: e.id,
)
def test_example_objects_dump_as_sent(example: ResponseExample) -> None:
    """Each object inside an example dumps (plain ``model_dump()``) to what was sent."""
    parsed = parse(
        ADAPTERS[_stem(example.operation_id, example.status)], _response(example), secret=None
    )
    dumped = [obj.model_dump() for obj in _objects(parsed)]
    assert dumped == _raw_objects(example.payload) != []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_example_validates_against_schemas(example: ResponseExample) -> None:
    """The example fits the committed schema of its body."""
    stem = _stem(example.operation_id, example.status)
    errors = list(validator(committed_schema(stem)).iter_errors(example.payload))
    assert errors == []


@pytest.mark.parametrize(
    "example",
    [e for e in EXAMPLES if _stem(e.operation_id, e.status) != "error"],
    ids=lambda e: e.id,
)
def test_example_objects_validate_against_object_schemas(example: ResponseExample) -> None:
    """Each object of an example fits its own schema (``image``, ``action``, ``droplet``,
    ``snapshot``, ``account_transfer``)."""
    check = validator(committed_schema(OBJECT_SCHEMAS[_stem(example.operation_id, example.status)]))
    errors = [e.message for raw in _raw_objects(example.payload) for e in check.iter_errors(raw)]
    assert errors == []


@pytest.mark.parametrize(
    "example",
    [e for e in EXAMPLES if _stem(e.operation_id, e.status) == "error"],
    ids=lambda e: e.id,
)
def test_error_example_fills_the_exception(example: ResponseExample) -> None:
    """An error example becomes an exception carrying its ``id`` and ``message``."""
    error = error_from_response(_response(example), None)
    assert (error.error_id, error.message) == (example.payload["id"], example.payload["message"])


@pytest.mark.parametrize(
    "example",
    [e for e in EXAMPLES if _stem(e.operation_id, e.status) == "action_envelope"],
    ids=lambda e: e.id,
)
def test_single_action_parses_wrapped_and_bare(example: ResponseExample) -> None:
    """The spec's schema shows a bare action, its examples a wrapped one: both parse alike."""
    wrapped = parse_action(_response(example), secret=None)
    bare = parse_action(
        _response(ResponseExample("", "200", "", None, example.payload["action"])), secret=None
    )
    assert wrapped.model_dump() == bare.model_dump() == example.payload["action"]


@pytest.mark.parametrize(
    "links",
    [
        pytest.param(None, id="absent"),
        pytest.param({}, id="no-pages"),
        pytest.param({"pages": {}}, id="empty-pages"),
    ],
)
def test_single_page_links_round_trip_in_every_form(links: dict[str, Any] | None) -> None:
    """A last page without ``links``, without ``pages`` or with empty ``pages`` dumps as sent."""
    payload: dict[str, Any] = {"images": [{"id": 1}], "meta": {"total": 1}}
    if links is not None:
        payload["links"] = links
    example = ResponseExample("images_list", "200", "", None, payload)
    parsed = parse(IMAGE_PAGE, _response(example), secret=None)
    dumped = parsed.model_dump(mode="json", exclude_unset=True)
    assert (dumped, page_of(parsed).next_url) == (payload, None)
