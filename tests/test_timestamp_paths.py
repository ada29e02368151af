"""Timestamps parsed from JSON bytes and from Python dicts follow the same rules."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from do_images import Image

TEXTS = [
    "2014-11-04T22:23:02Z",
    "2014-11-04t22:23:02z",
    "2014-11-04T22:23:02.123456Z",
    "2014-11-04T23:23:02+01:00",
    "2014-11-04T22:23:02-00:00",
    "2014-11-04 22:23:02Z",
    "2014-11-04T22:23:02",
    "2014-11-04T22:23Z",
    "2014-11-04",
    "1415139782",
    "2014-13-04T22:23:02Z",
    "2014-11-04T22:23:02Z\n",
    " 2014-11-04T22:23:02Z",
    "2014-11-04T22:23:02+0100",
    "\uff12\uff10\uff11\uff14-11-04T22:23:02Z",  # full-width digits
]


def _outcome(validate: Callable[[], Image]) -> object:
    try:
        return validate().created_at
    except ValidationError:
        return "refused"


@pytest.mark.parametrize("text", TEXTS)
def test_json_and_python_input_agree_on_timestamps(text: str) -> None:
    """``created_at`` from JSON is accepted or refused exactly as from a dict, with one value."""
    payload = {"id": 1, "created_at": text}
    from_json = _outcome(lambda: Image.model_validate_json(json.dumps(payload)))
    from_python = _outcome(lambda: Image.model_validate(payload))
    assert from_json == from_python


def test_timestamp_numbers_are_refused_from_json() -> None:
    """A Unix time number is not a timestamp on the wire."""
    with pytest.raises(ValidationError):
        Image.model_validate_json('{"id": 1, "created_at": 1415139782}')
