"""Every exception survives ``pickle.loads(pickle.dumps(exc))`` with its attributes."""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timezone

import pytest

import do_images
from do_images import (
    Action,
    ActionFailedError,
    ActionTimeoutError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    DistributionError,
    DoImagesError,
    DropletBusyError,
    DropletPowerOnError,
    FleetError,
    Image,
    ImageFailedError,
    ImageFileError,
    ImageTimeoutError,
    MissingSpacesKeyError,
    MissingTokenError,
    NotFoundError,
    RateLimit,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    SnapshotNotFoundError,
    StalePlanError,
    UnknownOutcomeError,
    UploadError,
)

ACTION = Action.model_validate(
    {"id": 3, "status": "errored", "type": "transfer", "resource_id": 7, "region_slug": "nyc3"}
)
IMAGE = Image.model_validate(
    {"id": 7, "name": "web", "status": "deleted", "error_message": "bad gzip header"}
)
SNAPSHOT_ACTION = Action.model_validate(
    {
        "id": 4,
        "status": "completed",
        "type": "snapshot",
        "started_at": "2026-12-01T02:00:00Z",
        "resource_id": 3164494,
        "resource_type": "droplet",
    }
)
BUDGET = RateLimit(limit=5000, remaining=0, reset_at=datetime(2026, 12, 1, tzinfo=timezone.utc))

EXAMPLES: list[DoImagesError] = [
    DoImagesError("plain"),
    MissingTokenError("no DigitalOcean token"),
    APIConnectionError("GET /v2/images failed", attempts=3),
    APITimeoutError("GET /v2/images timed out", attempts=2),
    APIStatusError("teapot", status_code=418, error_id="teapot", method="GET", path="/v2/x"),
    NotFoundError(
        "gone",
        status_code=404,
        error_id="not_found",
        request_id="r-1",
        rate_limit=BUDGET,
        body='{"id":"not_found"}',
        attempts=1,
        method="GET",
        path="/v2/images/7",
    ),
    ServerError("down", status_code=503, attempts=3),
    RateLimitError("slow down", retry_after=4.0, reset_at=BUDGET.reset_at, rate_limit=BUDGET),
    ResponseValidationError("bad body", body="<html>", request_id="r-2"),
    FleetError("group 'web': keep must be a whole number"),
    ImageFileError("disk.img.xz", "it is xz-compressed"),
    MissingSpacesKeyError("no Spaces keys"),
    UploadError("Spaces refused", bucket="b", key="web.qcow2", resumable=True, unreachable=False),
    StalePlanError("2 image(s) changed since the plan was made", [3, 4]),
    UnknownOutcomeError("POST may have happened", attempts=2),
    ActionFailedError(ACTION),
    ActionTimeoutError(ACTION, timeout=300.0),
    ImageFailedError(IMAGE),
    ImageTimeoutError(IMAGE, 7, timeout=3600.0),
    ImageTimeoutError(None, 7, timeout=60.0),
    DistributionError(7, {"nyc3": ACTION}, {"nyc3": ActionFailedError(ACTION)}),
    DropletBusyError(
        "Droplet already has a pending event.",
        droplet_id=3164494,
        error_id="unprocessable_entity",
        method="POST",
        path="/v2/droplets/3164494/actions",
    ),
    SnapshotNotFoundError(SNAPSHOT_ACTION, droplet_id=3164494, waited=300.0),
    DropletPowerOnError("droplet 3164494 is left off", droplet_id=3164494, image=IMAGE),
]


def kept(error: DoImagesError) -> DoImagesError:
    """``error`` as ``import_file`` leaves it when it kept its object for the import."""
    error.object_key, error.bucket = "ci/web-0123456789ab.qcow2.gz", "my-images"
    error.image = IMAGE
    error.message += "; the object ci/web-0123456789ab.qcow2.gz stays in bucket my-images"
    error.args = (error.message,)
    return error


EXAMPLES += [
    kept(ImageTimeoutError(IMAGE, 7, timeout=60.0)),
    kept(UnknownOutcomeError("POST /v2/images may or may not have taken effect", attempts=1)),
]


def plain(value: object) -> object:
    """``value`` with exceptions inside it as (class, text): they compare by identity."""
    if isinstance(value, BaseException):
        return (type(value), str(value))
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def test_every_exported_error_class_has_an_example() -> None:
    """The table covers every exception class the package exports."""
    exported = {
        value
        for name in do_images.__all__
        if isinstance(value := getattr(do_images, name), type) and issubclass(value, Exception)
    }
    covered = {type(error) for error in EXAMPLES}
    assert exported - covered == {
        do_images.AuthenticationError,
        do_images.BadRequestError,
        do_images.PermissionDeniedError,
        do_images.UnprocessableEntityError,
    }  # plain APIStatusError subclasses, pickled like NotFoundError


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda error: type(error).__name__)
@pytest.mark.parametrize("protocol", [0, pickle.HIGHEST_PROTOCOL])
def test_round_trip_keeps_class_attributes_and_text(error: DoImagesError, protocol: int) -> None:
    """The copy has the same class, attributes, ``str`` and ``args``."""
    back = pickle.loads(pickle.dumps(error, protocol=protocol))
    assert type(back) is type(error)
    assert plain(vars(back)) == plain(vars(error))
    assert str(back) == str(error)
    assert back.args == error.args


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda error: type(error).__name__)
def test_deepcopy(error: DoImagesError) -> None:
    """``copy.deepcopy`` (which uses the same protocol) works too."""
    assert plain(vars(copy.deepcopy(error))) == plain(vars(error))


def test_status_error_says_which_request_failed() -> None:
    """``str`` and ``repr`` of a status error name the method and the path."""
    (error,) = [e for e in EXAMPLES if type(e) is NotFoundError]
    assert str(error) == "404 not_found: gone (GET /v2/images/7, request id r-1)"
    assert repr(error) == "<NotFoundError 404 GET /v2/images/7: 'gone'>"


def test_rate_limit_error_defaults_to_429() -> None:
    """``RateLimitError`` needs no ``status_code``."""
    assert RateLimitError("x").status_code == 429


def test_a_kept_object_survives_pickling() -> None:
    """The object an import kept (``object_key``, ``bucket``) and the message naming it
    come back from a pickle."""
    for error in EXAMPLES[-2:]:
        back = pickle.loads(pickle.dumps(error))
        assert (back.object_key, back.bucket) == ("ci/web-0123456789ab.qcow2.gz", "my-images")
        assert "stays in bucket my-images" in str(back)


def test_the_droplet_errors_keep_what_names_the_droplet() -> None:
    """A busy droplet, a snapshot whose image never showed and a droplet left off each
    come back from a pickle naming the droplet (and the action or image they carry)."""
    busy, missing, left_off = (
        pickle.loads(pickle.dumps(error))
        for error in EXAMPLES
        if isinstance(error, (DropletBusyError, SnapshotNotFoundError, DropletPowerOnError))
    )
    assert isinstance(busy, DropletBusyError)
    assert (busy.droplet_id, busy.status_code) == (3164494, 422)
    assert isinstance(missing, SnapshotNotFoundError)
    assert (missing.droplet_id, missing.action.id) == (3164494, 4)
    assert "2026-12-01T02:00:00Z" in str(missing)
    assert isinstance(left_off, DropletPowerOnError)
    assert (left_off.droplet_id, left_off.image) == (3164494, IMAGE)
