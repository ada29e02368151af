"""Property tests: payloads the spec allows round-trip, wrongly typed ones are refused.

Payload strategies are derived from the spec's ``image`` and ``action`` schemas: each
property's type, format, enum, minimum and nullability come from the spec. On top of
what the spec allows they add what the real API may send: unknown fields, unknown enum
values and absent optional fields. Only the fields the models require are always present.
Everything goes through the SDK's own parse path (bytes in an ``httpx.Response``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from do_images import AccountTransfer, Action, Image, Region, ResponseValidationError
from do_images._models import ACCOUNT_TRANSFER, IMAGE_ENVELOPE, IMAGE_PAGE
from do_images._session import parse, parse_action
from spec_support import json_schema

settings.register_profile(
    "contract",
    # At least 200 examples per property in CI; more on demand for a longer local hunt.
    max_examples=int(os.environ.get("DO_IMAGES_PROPERTY_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
CONTRACT = settings.get_profile("contract")

IMAGE_SCHEMA: dict[str, Any] = json_schema({"$ref": "#/components/schemas/image"})
ACTION_SCHEMA: dict[str, Any] = json_schema({"$ref": "#/components/schemas/action"})

# Text as the API can send it: any Unicode scalar value (JSON cannot carry lone surrogates).
TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
NUMBERS = st.floats(allow_nan=False, allow_infinity=False)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | NUMBERS | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
# Unknown fields, including names that collide with model and mapping attributes.
EXTRA_NAMES = st.sampled_from(
    ["checksum", "keys", "items", "get", "copy", "model_config", "model_fields", "__class__"]
) | TEXT.filter(bool)
# What the API sends: second precision, UTC, "Z" (other forms are normalised; see docs/spec.md).
TIMESTAMPS = st.datetimes(datetime(1970, 1, 1), datetime(2099, 12, 31)).map(
    lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ")
)
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def required(model: type[BaseModel]) -> set[str]:
    """The fields ``model`` cannot do without."""
    return {name for name, field in model.model_fields.items() if field.is_required()}


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [branch for branch in schema.get("anyOf", [schema]) if branch.get("type") != "null"]


# -------------------------------------------------------------- what the spec allows


def allowed(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the spec allows for ``schema``, with its enums left open."""
    if "anyOf" in schema:
        return st.one_of([allowed(branch) for branch in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | TEXT
    if kind == "string":
        return TIMESTAMPS if schema.get("format") == "date-time" else TEXT
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"))
    if kind == "number":
        # An integral number is read as a float: 2 == 2.0, so it still compares equal.
        return NUMBERS | st.integers(-(2**53), 2**53)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(allowed(schema["items"]), max_size=3)
    if kind == "object":
        return objects(schema, set(schema.get("required", [])))
    raise AssertionError(f"no strategy for {schema}")


def objects(schema: dict[str, Any], must: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects of ``schema``: ``must`` fields always, the others maybe, plus unknown fields."""
    properties: dict[str, Any] = schema["properties"]
    known = st.fixed_dictionaries(
        {name: allowed(properties[name]) for name in sorted(must)},
        optional={name: allowed(sub) for name, sub in properties.items() if name not in must},
    )
    extra = st.dictionaries(
        EXTRA_NAMES.filter(lambda name: name not in properties), JSON, max_size=3
    )
    return st.builds(lambda fields, more: {**fields, **more}, known, extra)


# ------------------------------------------------------------ what breaks the types


def wrong(schema: dict[str, Any], must: bool) -> st.SearchStrategy[Any]:
    """Values whose JSON type ``schema`` does not allow (``null`` only where a field is a must)."""
    kinds = {branch.get("type") for branch in _branches(schema)}
    options: list[st.SearchStrategy[Any]] = []
    if "object" not in kinds:
        options.append(st.dictionaries(TEXT, JSON, max_size=2))
    if "array" not in kinds:
        options.append(st.lists(JSON, max_size=2))
    else:
        (items,) = [branch["items"] for branch in _branches(schema) if branch["type"] == "array"]
        options.append(st.lists(wrong(items, must=True), min_size=1, max_size=2))
    if "boolean" not in kinds:
        options.append(st.booleans())
    if not kinds & {"integer", "number"}:
        options += [st.integers(), NUMBERS]
    if "integer" in kinds:
        options += [NUMBERS, st.integers().map(str)]
    if "number" in kinds:
        options.append(NUMBERS.map(str))
    if "string" not in kinds:
        options.append(TEXT)
    elif any(branch.get("format") == "date-time" for branch in _branches(schema)):
        options += [
            st.integers(0, 2**32).map(str),
            TEXT.filter(lambda text: not RFC3339.fullmatch(text)),
        ]
    if must:
        options.append(st.none())
    return st.one_of(options)


@st.composite
def broken(draw: st.DrawFn, schema: dict[str, Any], must: set[str]) -> dict[str, Any]:
    """An otherwise valid object with one field, maybe nested, of a wrong type."""
    payload = draw(objects(schema, must))
    name = draw(st.sampled_from(sorted(schema["properties"])))
    sub = schema["properties"][name]
    nested = [branch for branch in _branches(sub) if branch.get("type") == "object"]
    if nested and isinstance(payload.get(name), dict) and draw(st.booleans()):
        payload[name] = draw(broken(nested[0], set(nested[0].get("required", []))))
    else:
        payload[name] = draw(wrong(sub, must=name in must))
    return payload


# ------------------------------------------------------------------ the SDK's parsing


def _response(body: object) -> httpx.Response:
    request = httpx.Request("GET", "https://api.digitalocean.com/v2/images/1")
    return httpx.Response(200, content=json.dumps(body).encode(), request=request)


def parse_image(payload: object) -> Image:
    """An image as ``info``/``update``/``create`` parse it."""
    return parse(IMAGE_ENVELOPE, _response({"image": payload}), secret=None).image


def parse_listed_image(payload: object) -> Image:
    """An image as ``list``/``iter`` parse it."""
    (image,) = parse(
        IMAGE_PAGE, _response({"images": [payload], "meta": {"total": 1}}), secret=None
    ).images
    return image


def parse_single_action(payload: object) -> Action:
    """An action as ``transfer``/``convert``/``action_info`` parse it."""
    return parse_action(_response({"action": payload}), secret=None)


IMAGE_MUST = required(Image)
ACTION_MUST = required(Action)


def test_strategies_follow_the_models_and_the_spec() -> None:
    """The strategies' must-have fields are the models' required ones, all spec properties."""
    region = _branches(ACTION_SCHEMA["properties"]["region"])[0]
    assert (IMAGE_MUST, ACTION_MUST, set(region["required"])) == (
        {"id"},
        {"id", "status", "type"},
        required(Region),
    )
    assert set(IMAGE_SCHEMA["properties"]) >= IMAGE_MUST
    assert set(ACTION_SCHEMA["properties"]) >= ACTION_MUST


@CONTRACT
@given(objects(IMAGE_SCHEMA, IMAGE_MUST))
def test_allowed_image_round_trips(payload: dict[str, Any]) -> None:
    """An image the spec allows (plus unknown fields and values) dumps back unchanged."""
    assert parse_image(payload).model_dump() == payload


@CONTRACT
@given(objects(IMAGE_SCHEMA, IMAGE_MUST))
def test_allowed_listed_image_round_trips_as_json(payload: dict[str, Any]) -> None:
    """An image in a list page survives ``model_dump_json()`` unchanged too."""
    assert json.loads(parse_listed_image(payload).model_dump_json()) == payload


@CONTRACT
@given(objects(ACTION_SCHEMA, ACTION_MUST))
def test_allowed_action_round_trips(payload: dict[str, Any]) -> None:
    """An action the spec allows (plus unknown fields and values) dumps back unchanged."""
    assert parse_single_action(payload).model_dump() == payload


@CONTRACT
@given(broken(IMAGE_SCHEMA, IMAGE_MUST))
def test_mistyped_image_is_a_response_validation_error(payload: dict[str, Any]) -> None:
    """An image with a field of the wrong type raises ``ResponseValidationError`` only."""
    with pytest.raises(ResponseValidationError):
        parse_image(payload)


@CONTRACT
@given(broken(ACTION_SCHEMA, ACTION_MUST))
def test_mistyped_action_is_a_response_validation_error(payload: dict[str, Any]) -> None:
    """An action with a field (or region field) of the wrong type raises only that error."""
    with pytest.raises(ResponseValidationError):
        parse_single_action(payload)


def parse_image_list(images: object) -> list[Image]:
    """The images of a list page."""
    return parse(IMAGE_PAGE, _response({"images": images}), secret=None).images


@CONTRACT
@given(
    st.one_of(
        objects(IMAGE_SCHEMA, IMAGE_MUST).map(lambda image: (parse_image, [image])),
        objects(ACTION_SCHEMA, ACTION_MUST).map(lambda action: (parse_single_action, [action])),
        objects(IMAGE_SCHEMA, IMAGE_MUST).map(lambda image: (parse_image_list, image)),
    )
)
def test_list_where_an_object_belongs_is_refused(case: tuple[Callable[[Any], Any], Any]) -> None:
    """A list in place of the wrapped object (or an object in place of the list) is refused."""
    parser, value = case
    with pytest.raises(ResponseValidationError):
        parser(value)


@CONTRACT
@given(objects(IMAGE_SCHEMA, IMAGE_MUST).flatmap(lambda image: st.just(image) | TEXT))
def test_missing_required_field_is_refused(payload: Any) -> None:
    """An image without its id (or not an object at all) is refused."""
    if isinstance(payload, dict):
        payload = {key: value for key, value in payload.items() if key != "id"}
    with pytest.raises(ResponseValidationError):
        parse_image(payload)


# ------------------------------------------------- the account-transfer answer

TRANSFER_SCHEMA: dict[str, Any] = {
    **json_schema({"$ref": "#/components/responses/images_post_account_transfer_created"})[
        "content"
    ]["application/json"]["schema"],
    "required": ["transfer_id"],  # what the model needs; the spec requires nothing
}
TRANSFER_MUST = required(AccountTransfer)


def parse_transfer(payload: object) -> AccountTransfer:
    """The answer to ``transfer_to_account`` as the SDK parses it."""
    return parse(ACCOUNT_TRANSFER, _response(payload), secret=None)


@CONTRACT
@given(objects(TRANSFER_SCHEMA, TRANSFER_MUST))
def test_allowed_account_transfer_round_trips(payload: dict[str, Any]) -> None:
    """An account-transfer answer the spec allows dumps back unchanged; 0 means accepted."""
    transfer = parse_transfer(payload)
    assert transfer.model_dump() == payload
    assert transfer.accepted is (payload["transfer_id"] == 0)


@CONTRACT
@given(broken(TRANSFER_SCHEMA, TRANSFER_MUST))
def test_mistyped_account_transfer_is_a_response_validation_error(payload: dict[str, Any]) -> None:
    """A transfer answer with one field of a wrong type raises ``ResponseValidationError``."""
    with pytest.raises(ResponseValidationError):
        parse_transfer(payload)
