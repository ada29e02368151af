"""Waiting on actions routes by their ``resource_type`` (an image's, a droplet's, or
``GET /v2/actions/{id}``), ``image.wait`` refuses a droplet's action, and the power-on
after a snapshot retries a locked droplet's 422 only within its bound; both clients,
against a scripted API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from do_images import Action, Client, DropletBusyError, DropletPowerOnError
from do_images._posting import action_url
from support import MakeDriver, action_payload, image_payload, json_response

DROPLET = 3164494
STARTED = "2026-12-06T12:00:00Z"


def droplet_action(action_id: int, kind: str, status: str = "in-progress") -> dict[str, Any]:
    """A droplet action as the API sends it."""
    return action_payload(
        action_id,
        DROPLET,
        status,
        type=kind,
        resource_type="droplet",
        started_at=STARTED,
    )


@pytest.mark.parametrize(
    ("resource_type", "path"),
    [
        ("image", "/v2/images/7/actions/11"),
        ("droplet", "/v2/droplets/7/actions/11"),
        ("volume", "/v2/actions/11"),
        ("backend", "/v2/actions/11"),
    ],
)
def test_an_action_is_polled_at_its_resources_path(resource_type: str, path: str) -> None:
    """An image's action is polled under the image, a droplet's under the droplet, any
    other kind at ``GET /v2/actions/{id}``."""
    action = Action.model_validate(
        {
            "id": 11,
            "type": "snapshot",
            "status": "in-progress",
            "resource_id": 7,
            "resource_type": resource_type,
        }
    )
    with Client("token") as do:
        url = action_url(do.droplet._ops.session, action)
    assert httpx.URL(url).path == path


def test_image_wait_refuses_a_droplet_action(make_driver: MakeDriver) -> None:
    """``image.wait`` given a droplet's action raises a clear ``ValueError`` before any
    request, pointing at ``droplet.snapshot_image``."""
    do = make_driver(lambda request: json_response(500, {}))
    action = Action.model_validate(droplet_action(5, "snapshot"))
    with pytest.raises(ValueError, match=r"not on an image.*snapshot_image"):
        do.image.wait(action)
    assert do.requests == []


def test_a_droplet_wait_polls_the_droplet_path(make_driver: MakeDriver) -> None:
    """``power_on(wait=True)`` polls ``/v2/droplets/{id}/actions/{action_id}``."""
    polls = iter(["in-progress", "completed"])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return json_response(201, {"action": droplet_action(9, "power_on")})
        return json_response(200, {"action": droplet_action(9, "power_on", next(polls))})

    do = make_driver(handler)
    action = do.droplet.power_on(DROPLET)
    assert action.status == "completed"
    assert [r.url.path for r in do.requests] == [
        f"/v2/droplets/{DROPLET}/actions",
        f"/v2/droplets/{DROPLET}/actions/9",
        f"/v2/droplets/{DROPLET}/actions/9",
    ]
    assert json.loads(do.requests[0].content) == {"type": "power_on"}


class LockedApi:
    """A droplet that shuts down and snapshots, then stays locked: every ``power_on`` is
    the API's 422 pending event."""

    def __init__(self) -> None:
        self.status = "active"
        self.power_ons = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path == f"/v2/droplets/{DROPLET}":
            droplet = {"id": DROPLET, "name": "web-01", "status": self.status, "locked": False}
            return json_response(200, {"droplet": droplet}, date="Sun, 06 Dec 2026 12:00:00 GMT")
        if request.method == "POST":
            kind = json.loads(request.content)["type"]
            if kind == "power_on":
                self.power_ons += 1
                return json_response(
                    422,
                    {
                        "id": "unprocessable_entity",
                        "message": "Droplet already has a pending event.",
                    },
                )
            self.status = "off"
            return json_response(201, {"action": droplet_action(20, kind)})
        if path.endswith("/actions/20"):
            return json_response(200, {"action": droplet_action(20, "snapshot", "completed")})
        if path.endswith("/snapshots"):
            item = image_payload(55, name="web-01-x", created_at=STARTED)
            return json_response(200, {"snapshots": [item], "links": {}, "meta": {"total": 1}})
        return json_response(200, {"image": image_payload(55, name="web-01-x")})


def test_a_locked_droplet_is_asked_again_within_30_seconds(make_driver: MakeDriver) -> None:
    """After the snapshot, a ``power_on`` refused as busy is sent again every few seconds
    for at most 30 s; then ``DropletPowerOnError`` names the droplet and the image made."""
    api = LockedApi()
    do = make_driver(api)
    with pytest.raises(DropletPowerOnError) as caught:
        do.droplet.snapshot(DROPLET, "web-01-x", power_off=True, poll=5)
    assert caught.value.droplet_id == DROPLET
    assert caught.value.image is not None
    assert caught.value.image.id == 55
    assert 5 <= api.power_ons <= 12
    retries = [s for s in do.sleeps if s == 3.0]
    assert sum(retries) <= 33
    assert "do-images droplet power-on 3164494" in str(caught.value)


class StubbornApi(LockedApi):
    """A droplet that ignores ``shutdown`` (its OS does not answer ACPI) and goes off only
    on ``power_off``; ``power_on`` is accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []
        self.at: dict[str, float] = {}
        """When each kind was sent, by the client's fake clock."""
        self.clock: Callable[[], float] = lambda: 0.0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            kind = json.loads(request.content)["type"]
            self.sent.append(kind)
            self.at[kind] = self.clock()
            if kind == "power_off":
                self.status = "off"
            elif kind == "power_on":
                self.status = "active"
            return json_response(201, {"action": droplet_action(20, kind)})
        if request.url.path.endswith("/actions/20"):
            kind = self.sent[-1]
            return json_response(200, {"action": droplet_action(20, kind, "completed")})
        return super().__call__(request)


def test_a_droplet_still_on_after_2_minutes_gets_power_off(make_driver: MakeDriver) -> None:
    """A droplet still ``active`` 2 minutes after ``shutdown`` gets ``power_off``; the
    snapshot follows once it is off, then ``power_on``."""
    api = StubbornApi()
    do = make_driver(api)
    api.clock = lambda: do.now
    image = do.droplet.snapshot(DROPLET, "web-01-x", power_off=True, poll=5)
    assert image.id == 55
    assert api.sent == ["shutdown", "power_off", "snapshot", "power_on"]
    assert 120 <= api.at["power_off"] - api.at["shutdown"] <= 125


@pytest.mark.parametrize(
    "message",
    ["Droplet already has a pending event.", "Droplet has blocking events processing."],
)
def test_both_wordings_of_a_busy_droplet_are_droplet_busy(
    make_driver: MakeDriver, message: str
) -> None:
    """The API's two wordings of a pending event are ``DropletBusyError``."""
    do = make_driver(
        lambda request: json_response(422, {"id": "unprocessable_entity", "message": message})
    )
    with pytest.raises(DropletBusyError) as caught:
        do.droplet.power_on(DROPLET)
    assert caught.value.droplet_id == DROPLET
