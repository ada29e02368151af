"""The droplet and snapshot models: typed, open, round-tripping, dict-readable, immutable,
picklable, as ``Image`` is; and an action's resource type, by which waiting routes."""

from __future__ import annotations

import copy
import json
import pickle
from datetime import datetime, timezone
from typing import Any

import pydantic
import pytest

from do_images import (
    Action,
    ActionResourceType,
    Droplet,
    DropletStatus,
    Image,
    ImageType,
    Region,
    Snapshot,
    SnapshotResourceType,
)
from do_images._models import (
    DROPLET_ENVELOPE,
    DROPLET_PAGE,
    DROPLET_SNAPSHOT_PAGE,
    SNAPSHOT_ENVELOPE,
    SNAPSHOT_PAGE,
    JsonValidator,
)
from spec_support import deref, spec

EXAMPLES = spec()["components"]["examples"]
SINGLE: dict[str, Any] = EXAMPLES["droplet_single"]["value"]["droplet"]
GPU: dict[str, Any] = EXAMPLES["gpu_droplets"]["value"]["droplets"][0]
SNAPSHOTS: list[dict[str, Any]] = EXAMPLES["snapshots_all"]["value"]["snapshots"]
DROPLET_SNAPSHOTS = deref({"$ref": "#/components/responses/all_droplet_snapshots"})["content"][
    "application/json"
]["example"]


def _droplet(**fields: Any) -> dict[str, Any]:
    """The spec's single droplet, with ``fields`` changed (a deep copy)."""
    return {**copy.deepcopy(SINGLE), **fields}


@pytest.mark.parametrize("payload", [SINGLE, GPU], ids=["single", "gpu"])
def test_droplet_round_trips_from_json(payload: dict[str, Any]) -> None:
    """A droplet of the spec parses from JSON bytes and ``model_dump()`` gives it back exactly."""
    droplet = Droplet.model_validate_json(json.dumps(payload))
    assert droplet.model_dump() == payload
    assert json.loads(droplet.model_dump_json()) == payload


def test_droplet_fields_have_precise_types() -> None:
    """Status is the enum member, ``created_at`` an aware datetime, region and image models."""
    droplet = Droplet.model_validate_json(json.dumps(SINGLE))
    assert droplet.status is DropletStatus.active
    assert droplet.created_at == datetime(2020, 7, 21, 18, 37, 44, tzinfo=timezone.utc)
    assert isinstance(droplet.region, Region)
    assert droplet.region.slug == "nyc3"
    assert isinstance(droplet.image, Image)
    assert droplet.image.slug == "ubuntu-20-04-x64"
    assert (droplet.snapshot_ids, droplet.backup_ids) == ([67512819], [53893572])
    assert (droplet.disk, droplet.memory, droplet.vcpus) == (25, 1024, 1)
    assert (droplet.size_slug, droplet.locked) == ("s-1vcpu-1gb", False)
    assert droplet.tags == ["web", "env:prod"]


def test_droplet_keeps_its_nested_objects_as_json() -> None:
    """``networks``, ``kernel``, ``next_backup_window``, ``gpu_info``, ``disk_info`` and ``size``
    are the JSON the API sent."""
    droplet = Droplet.model_validate_json(json.dumps(GPU))
    assert droplet.networks == GPU["networks"]
    assert droplet.kernel is None
    assert droplet.next_backup_window is None
    assert droplet.gpu_info == GPU["gpu_info"]
    assert droplet.disk_info == GPU["disk_info"]
    assert droplet.size == GPU["size"]


def test_the_off_status_is_the_string_off() -> None:
    """``off`` (which YAML 1.1 reads as a boolean) is ``DropletStatus.off``, sent as ``"off"``."""
    droplet = Droplet.model_validate_json(json.dumps(_droplet(status="off")))
    assert droplet.status is DropletStatus.off
    assert droplet["status"] == "off"


def test_unknown_droplet_status_and_fields_stay() -> None:
    """A status or a field the SDK does not know stays as sent, and dumps back."""
    payload = _droplet(status="migrating", placement={"zone": "b"})
    droplet = Droplet.model_validate_json(json.dumps(payload))
    assert type(droplet.status) is str
    assert droplet.status == "migrating"
    assert droplet["placement"] == {"zone": "b"}
    assert droplet.model_dump() == payload


def test_droplet_reads_as_a_dict() -> None:
    """``droplet["name"]``, ``get``, ``in`` and ``dict()`` read the documented dict."""
    droplet = Droplet.model_validate(SINGLE)
    assert droplet["name"] == "example.com"
    assert droplet["created_at"] == "2020-07-21T18:37:44Z"
    assert droplet["region"] == SINGLE["region"]
    assert droplet.get("nope", "absent") == "absent"
    assert "snapshot_ids" in droplet
    assert dict(droplet) == SINGLE


def test_droplet_and_snapshot_are_immutable() -> None:
    """Assigning to a field of a droplet or a snapshot fails."""
    droplet = Droplet.model_validate(SINGLE)
    snapshot = Snapshot.model_validate(SNAPSHOTS[0])
    with pytest.raises(pydantic.ValidationError):
        droplet.name = "changed"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        snapshot.name = "changed"  # type: ignore[misc]


def test_droplet_and_snapshot_pickle() -> None:
    """A droplet and a snapshot survive a pickle round trip unchanged."""
    droplet = Droplet.model_validate_json(json.dumps(SINGLE))
    snapshot = Snapshot.model_validate_json(json.dumps(SNAPSHOTS[0]))
    assert pickle.loads(pickle.dumps(droplet)) == droplet
    assert pickle.loads(pickle.dumps(snapshot)) == snapshot
    assert pickle.loads(pickle.dumps(droplet)).model_dump() == SINGLE


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"id": "3164444"}, id="id-digit-string"),
        pytest.param({"locked": "false"}, id="locked-string"),
        pytest.param({"snapshot_ids": ["67512819"]}, id="snapshot-ids-strings"),
        pytest.param({"created_at": 1595300264}, id="created-at-unix"),
        pytest.param({"memory": 1024.5}, id="memory-float"),
        pytest.param({"region": "nyc3"}, id="region-a-slug"),
    ],
)
def test_mistyped_droplet_fields_fail(payload: dict[str, Any]) -> None:
    """A droplet field of the wrong JSON type is refused, never coerced."""
    with pytest.raises(pydantic.ValidationError):
        Droplet.model_validate_json(json.dumps(_droplet(**payload)))


@pytest.mark.parametrize("payload", SNAPSHOTS, ids=["droplet", "volume"])
def test_snapshot_round_trips_with_a_string_id(payload: dict[str, Any]) -> None:
    """A ``/v2/snapshots`` object parses with its string ``id`` and ``resource_id``, dumps back."""
    snapshot = Snapshot.model_validate_json(json.dumps(payload))
    assert snapshot.id == payload["id"]
    assert isinstance(snapshot.id, str)
    assert snapshot.resource_id == payload["resource_id"]
    assert snapshot.resource_type is SnapshotResourceType(payload["resource_type"])
    assert snapshot.model_dump() == payload
    assert snapshot["tags"] == payload["tags"]


def test_snapshot_with_an_integer_id_fails() -> None:
    """A snapshot whose ``id`` is a JSON number is refused: the API sends a string there."""
    with pytest.raises(pydantic.ValidationError):
        Snapshot.model_validate_json(json.dumps({**SNAPSHOTS[0], "id": 6372321}))


def test_snapshot_unknown_resource_type_and_null_tags_stay() -> None:
    """A new ``resource_type`` stays a str; ``tags: null`` dumps back as null."""
    payload = {**SNAPSHOTS[0], "resource_type": "share", "tags": None}
    snapshot = Snapshot.model_validate_json(json.dumps(payload))
    assert type(snapshot.resource_type) is str
    assert snapshot.model_dump() == payload


def test_droplet_snapshots_parse_as_images() -> None:
    """The items of ``/v2/droplets/{id}/snapshots`` (snapshots and backups) are ``Image``s,
    with only the fields sent, dumping back exactly."""
    payload = json.loads(json.dumps(DROPLET_SNAPSHOTS))
    backup = {**payload["snapshots"][0], "id": 6372322, "type": "backup"}
    payload["snapshots"].append(backup)
    page = DROPLET_SNAPSHOT_PAGE.validate_json(json.dumps(payload))
    assert [image.type for image in page.snapshots] == [ImageType.snapshot, ImageType.backup]
    assert all(isinstance(image, Image) for image in page.snapshots)
    assert page.snapshots[0].status is None
    assert "tags" not in page.snapshots[0]
    assert page.model_dump(mode="json", exclude_unset=True) == payload


def test_envelopes_round_trip() -> None:
    """The droplet and snapshot lists and envelopes parse from JSON and dump back as sent."""
    bodies: list[tuple[JsonValidator[Any], dict[str, Any]]] = [
        (DROPLET_PAGE, EXAMPLES["droplets_all"]["value"]),
        (DROPLET_PAGE, EXAMPLES["gpu_droplets"]["value"]),
        (DROPLET_ENVELOPE, EXAMPLES["droplet_single"]["value"]),
        (SNAPSHOT_PAGE, EXAMPLES["snapshots_all"]["value"]),
        (SNAPSHOT_ENVELOPE, {"snapshot": SNAPSHOTS[0]}),
    ]
    for validator, body in bodies:
        parsed = validator.validate_json(json.dumps(body))
        assert parsed.model_dump(mode="json", exclude_unset=True) == body


def test_action_resource_type_is_typed_and_open() -> None:
    """An action's ``resource_type`` is ``ActionResourceType`` (image or droplet); a new one
    stays a str."""
    base = {"id": 1, "status": "in-progress", "type": "snapshot", "resource_id": 3164494}
    droplet = Action.model_validate_json(json.dumps({**base, "resource_type": "droplet"}))
    image = Action.model_validate_json(json.dumps({**base, "resource_type": "image"}))
    other = Action.model_validate_json(json.dumps({**base, "resource_type": "load_balancer"}))
    assert droplet.resource_type is ActionResourceType.droplet
    assert image.resource_type is ActionResourceType.image
    assert (type(other.resource_type), other.resource_type) == (str, "load_balancer")
    assert droplet.type == "snapshot"
    assert droplet.model_dump()["resource_type"] == "droplet"
