"""Models: precise types, open enums, exact round-trips, dict-style reading, immutability."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from do_images import (
    AccountTransfer,
    Action,
    ActionStatus,
    ActionType,
    Image,
    ImageStatus,
    ImageType,
    Region,
)
from do_images._models import (
    ActionEnvelope,
    ActionPage,
    DropletEnvelope,
    DropletPage,
    DropletSnapshotPage,
    ImageEnvelope,
    ImagePage,
    SnapshotEnvelope,
    SnapshotPage,
)
from spec_support import deref, implemented_operations
from support import action_payload, image_payload

SPEC = yaml.safe_load(
    (Path(__file__).parent / "spec" / "digitalocean-images.openapi.yaml").read_text()
)


def _used_components() -> set[str]:
    """The ``components`` entries (``responses/x``, ``examples/y``) that the implemented
    operations' responses refer to."""
    used: set[str] = set()
    for operation in implemented_operations():
        for response in operation.definition["responses"].values():
            if "$ref" in response:
                used.add(response["$ref"].removeprefix("#/components/"))
            media = deref(response).get("content", {}).get("application/json", {})
            for example in media.get("examples", {}).values():
                if "$ref" in example:
                    used.add(example["$ref"].removeprefix("#/components/"))
    return used


def spec_examples() -> list[tuple[str, dict[str, Any]]]:
    """Every example body of the implemented operations: response examples and the named
    examples."""
    used = _used_components()
    found: list[tuple[str, dict[str, Any]]] = []
    for name, response in SPEC["components"]["responses"].items():
        content = response.get("content", {}).get("application/json", {})
        if "example" in content and f"responses/{name}" in used:
            found.append((f"response:{name}", content["example"]))
    for name, example in SPEC["components"]["examples"].items():
        if f"examples/{name}" in used:
            found.append((f"example:{name}", example["value"]))
    return found


EXAMPLES = spec_examples()


def envelope_model(body: dict[str, Any]) -> type[pydantic.BaseModel] | None:
    if "transfer_id" in body:
        return AccountTransfer
    if "images" in body:
        return ImagePage
    if "actions" in body:
        return ActionPage
    if "image" in body:
        return ImageEnvelope
    if "action" in body:
        return ActionEnvelope
    if "droplets" in body:
        return DropletPage
    if "droplet" in body:
        return DropletEnvelope
    if "snapshots" in body:
        # /v2/snapshots ids are strings; a droplet's snapshots list has integer ids.
        strings = all(isinstance(item["id"], str) for item in body["snapshots"])
        return SnapshotPage if strings else DropletSnapshotPage
    if "snapshot" in body:
        return SnapshotEnvelope
    return None


def test_spec_has_examples_of_every_kind() -> None:
    """The spec's examples cover lists, single images, single actions and errors."""
    kinds = {next(iter(body)) for _, body in EXAMPLES}
    assert {"images", "actions", "image", "action", "id"} <= kinds
    assert len(EXAMPLES) >= 14


@pytest.mark.parametrize(("name", "body"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_spec_example_parses_and_round_trips(name: str, body: dict[str, Any]) -> None:
    """Each example parses from bytes into the models and dumps back to exactly its objects."""
    model = envelope_model(body)
    if model is None:  # an error body, or a Tags body (validated against the spec, not modelled)
        assert set(body) >= {"id", "message"} or set(body) & {"tag", "tags"}
        return
    parsed = model.model_validate_json(json.dumps(body))
    if isinstance(parsed, AccountTransfer):
        assert parsed.model_dump() == body
        assert parsed.accepted is (body["transfer_id"] == 0)
        return
    keys = ("images", "actions", "droplets", "snapshots", "image", "action", "droplet", "snapshot")
    key = next(k for k in keys if k in body)
    value = getattr(parsed, key)
    if isinstance(value, list):
        assert [item.model_dump() for item in value] == body[key]
    else:
        assert value.model_dump() == body[key]
        assert json.loads(value.model_dump_json()) == body[key]


def test_fields_have_precise_types() -> None:
    """Ids are ints, timestamps aware datetimes, enums their members."""
    image = Image.model_validate(image_payload(7, type="custom", status="NEW"))
    assert image.id == 7
    assert image.created_at == datetime(2014, 11, 4, 22, 23, 2, tzinfo=timezone.utc)
    assert image.created_at is not None
    assert image.created_at.utcoffset() is not None
    assert image.type is ImageType.custom
    assert image.status is ImageStatus.NEW
    assert image.size_gigabytes == 2.34
    action = Action.model_validate(action_payload(1, 7, "completed"))
    assert action.status is ActionStatus.completed
    assert action.status == "completed"
    assert action.type is ActionType.transfer
    assert isinstance(action.region, Region)
    assert action.completed_at is not None


def test_unknown_enum_values_stay_strings() -> None:
    """A value the SDK does not know is kept as a plain ``str`` and dumped unchanged."""
    image = Image.model_validate(image_payload(7, type="marketplace", status="archived"))
    assert type(image.type) is str
    assert image.type == "marketplace"
    assert image.model_dump()["status"] == "archived"
    action = Action.model_validate(action_payload(1, 7, "paused", type="resize"))
    assert (action.status, action.type) == ("paused", "resize")


def test_unknown_fields_are_kept() -> None:
    """Fields the API adds later survive parsing and dumping."""
    payload = image_payload(7, architecture="arm64", labels={"team": "a"})
    image = Image.model_validate(payload)
    assert image.model_dump() == payload
    assert image["architecture"] == "arm64"


def test_absent_fields_are_not_invented() -> None:
    """A field the API did not send is ``None`` on the model and absent from the dump."""
    payload = {"id": 38413969, "name": "custom", "status": "NEW", "regions": []}
    image = Image.model_validate(payload)
    assert image.slug is None
    assert image.model_dump() == payload
    assert "slug" not in image
    assert image.get("slug", "absent") == "absent"


def test_explicit_nulls_round_trip() -> None:
    """Nullable fields sent as ``null`` come back as ``null``."""
    payload = image_payload(7, slug=None, min_disk_size=None, size_gigabytes=None, tags=None)
    assert Image.model_validate(payload).model_dump() == payload


def test_dict_style_access_reads_the_documented_dict() -> None:
    """Every read of the mapping interface gives the JSON values the API sent."""
    payload = image_payload(7, type="snapshot")
    image = Image.model_validate(payload)
    assert image["name"] == "image-7"
    assert image["created_at"] == "2014-11-04T22:23:02Z"
    assert image["type"] == "snapshot"
    assert type(image["type"]) is str
    assert image.get("slug") is None
    assert "regions" in image
    assert "nope" not in image
    assert sorted(image.keys()) == sorted(payload)
    assert dict(image.items()) == payload
    assert sorted(map(repr, image.values())) == sorted(map(repr, payload.values()))
    assert len(image) == len(payload)
    assert dict(image) == payload
    assert sorted(image) == sorted(payload)
    with pytest.raises(KeyError):
        image["nope"]


def test_nested_region_reads_as_dict() -> None:
    """An action's region reads as the dict the API sent."""
    payload = action_payload(1, 7)
    action = Action.model_validate(payload)
    assert action["region"] == payload["region"]
    assert action["started_at"] == "2014-11-14T16:42:45Z"


def test_models_are_immutable() -> None:
    """Assigning to a field fails: models are frozen snapshots of the API's answer."""
    image = Image.model_validate(image_payload(7))
    with pytest.raises(pydantic.ValidationError):
        image.name = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "no id"},
        {"id": "7"},
        {"id": 7, "regions": "nyc3"},
        {"id": 7, "created_at": "2014-11-04T22:23:02"},
        {"id": 7, "public": "maybe"},
    ],
)
def test_type_breaking_payloads_fail_validation(payload: dict[str, Any]) -> None:
    """Payloads that break the spec's types do not validate (strict JSON types)."""
    with pytest.raises(pydantic.ValidationError):
        Image.model_validate_json(json.dumps(payload))
