"""Response fields are checked against their wire types, never coerced into them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
import pytest

from do_images import Action, Image, ImageType, ResponseValidationError
from do_images._models import JsonValidator
from do_images._session import parse

IMAGE: dict[str, Any] = {"id": 7555620, "name": "Nifty New Snapshot"}
ACTION: dict[str, Any] = {"id": 36805527, "status": "completed", "type": "transfer"}
REGION: dict[str, Any] = {
    "name": "New York 3",
    "slug": "nyc3",
    "features": [],
    "available": True,
    "sizes": [],
}


def _response(payload: object) -> httpx.Response:
    request = httpx.Request("GET", "https://api.digitalocean.com/v2/images/1")
    return httpx.Response(200, content=json.dumps(payload).encode(), request=request)


MISTYPED = [
    pytest.param(Image, {**IMAGE, "id": "7555620"}, id="image-id-digit-string"),
    pytest.param(Image, {**IMAGE, "id": True}, id="image-id-bool"),
    pytest.param(Image, {**IMAGE, "id": 7555620.0}, id="image-id-float"),
    pytest.param(Image, {**IMAGE, "min_disk_size": "20"}, id="min-disk-size-string"),
    pytest.param(Image, {**IMAGE, "public": "true"}, id="public-string"),
    pytest.param(Image, {**IMAGE, "public": 1}, id="public-int"),
    pytest.param(Image, {**IMAGE, "size_gigabytes": "2.34"}, id="size-string"),
    pytest.param(Image, {**IMAGE, "size_gigabytes": True}, id="size-bool"),
    pytest.param(Image, {**IMAGE, "created_at": 1415139782}, id="created-at-unix-int"),
    pytest.param(Image, {**IMAGE, "created_at": "1415139782"}, id="created-at-digit-string"),
    pytest.param(Image, {**IMAGE, "created_at": "2014-11-04"}, id="created-at-date-only"),
    pytest.param(Action, {**ACTION, "id": "36805527"}, id="action-id-digit-string"),
    pytest.param(Action, {**ACTION, "resource_id": "7938269"}, id="resource-id-string"),
    pytest.param(Action, {**ACTION, "started_at": 1415983365}, id="started-at-unix-int"),
    pytest.param(
        Action, {**ACTION, "region": {**REGION, "available": "yes"}}, id="region-available-str"
    ),
]


@pytest.mark.parametrize(("model", "payload"), MISTYPED)
def test_mistyped_field_is_a_response_validation_error(
    model: type[Image | Action], payload: dict[str, Any]
) -> None:
    """A field of the wrong JSON type is refused instead of being coerced."""
    with pytest.raises(ResponseValidationError):
        parse(JsonValidator(model), _response(payload), secret=None)


@pytest.mark.parametrize(
    ("model", "payload"),
    [
        pytest.param(Image, {**IMAGE, "size_gigabytes": 2}, id="integral-size"),
        pytest.param(Image, {**IMAGE, "created_at": "2014-11-04T22:23:02Z"}, id="utc-timestamp"),
        pytest.param(
            Image, {**IMAGE, "created_at": "2014-11-04T23:23:02+01:00"}, id="offset-timestamp"
        ),
        pytest.param(Action, {**ACTION, "completed_at": None, "resource_id": None}, id="nulls"),
    ],
)
def test_well_typed_field_round_trips(model: type[Image | Action], payload: dict[str, Any]) -> None:
    """Values of the right JSON type parse and dump back unchanged."""
    assert parse(JsonValidator(model), _response(payload), secret=None).model_dump() == payload


def test_python_input_still_parses_timestamps_and_enums() -> None:
    """``model_validate`` on a dict keeps parsing ISO strings into datetimes and enum members."""
    image = Image.model_validate({**IMAGE, "created_at": "2014-11-04T22:23:02Z", "type": "base"})
    assert isinstance(image.created_at, datetime)
    assert isinstance(image.type, ImageType)
