"""Every response the sandbox gives validates against the official spec."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

import httpx
import pytest

from do_images.testing import Sandbox, SandboxRequest
from sandbox_support import assert_spec_valid, problems
from spec_support import IMPLEMENTED

START = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
TOKEN = {"authorization": "Bearer dop_v1_sandbox"}


def exercise(sandbox: Sandbox) -> None:
    """Send every operation with good and bad input, and the faults, over raw HTTP."""
    with httpx.Client(
        transport=sandbox.transport(), base_url="https://sandbox.invalid", headers=TOKEN
    ) as http:
        http.get("/v2/images", params={"per_page": 3, "page": 2})
        http.get("/v2/images", params={"type": "application", "private": "false"})
        http.get("/v2/images", params={"per_page": 0})
        http.get("/v2/images", params={"page": 99})
        http.get("/v2/images/ubuntu-22-04-x64")
        http.get("/v2/images/180040005")
        http.get("/v2/images/424242")
        http.get("/v2/images", headers={"authorization": ""})
        http.put("/v2/images/180040005", json={"name": "n", "distribution": "Gentoo"})
        http.put("/v2/images/171020001", json={"name": "n"})
        http.put("/v2/images/180040005", content=b"not json")
        created = http.post(
            "/v2/images",
            json={"name": "c", "url": "https://example.com/c.img", "region": "ams3", "tags": None},
        ).json()["image"]
        http.post("/v2/images", json={"name": "c", "url": "ftp://x", "region": "ams3"})
        to_lon1 = {"type": "transfer", "region": "lon1"}
        http.post(f"/v2/images/{created['id']}/actions", json=to_lon1)
        sandbox.advance(60)
        http.get(f"/v2/images/{created['id']}")
        action = http.post("/v2/images/180040005/actions", json=to_lon1)
        http.post("/v2/images/180040004/actions", json={"type": "convert"})
        http.post("/v2/images/180040005/actions", json={"type": "resize"})
        http.get("/v2/images/180040005/actions", params={"per_page": 1})
        http.get(f"/v2/images/180040005/actions/{action.json()['action']['id']}")
        sandbox.advance(30)
        http.get(f"/v2/images/180040005/actions/{action.json()['action']['id']}")
        http.get("/v2/images/180040005/actions/1")
        http.get(f"/v2/actions/{action.json()['action']['id']}")
        http.get("/v2/actions/1")
        http.delete("/v2/images/180040007")
        http.delete("/v2/images/180040007")
        http.patch("/v2/images/180040005", json={})
        http.get("/v2/regions")
        http.get("/v2/regions", params={"per_page": 4, "page": 2})
        http.get("/v2/regions", params={"per_page": 0})
        http.post("/v2/regions", json={})
        http.get("/v2/volumes")  # a path outside the spec
        sandbox.fail_next(500)
        http.get("/v2/images")
        sandbox.fail_next(503, headers={"retry-after": "2"})
        http.get("/v2/images/180040005/actions")
        exercise_tags(http)
        exercise_droplets(sandbox, http)
        exercise_account_transfers(sandbox, http)
        sandbox.garble_next(method="GET")
        http.get("/v2/images/180040001")  # a proxy's page: not the API's, and not checked
        sandbox.exhaust_rate_limit()
        http.get("/v2/images/180040005")


def exercise_tags(http: httpx.Client) -> None:
    """The Tags operations: create, read, assign, unassign, delete, with bad input."""
    on_image = {"resources": [{"resource_id": "180040001", "resource_type": "image"}]}
    http.post("/v2/tags", json={"name": "web"})  # already there: the same tag
    http.post("/v2/tags", json={"name": "Staging"})
    http.post("/v2/tags", json={"name": "no spaces allowed"})  # 400, root causes
    http.post("/v2/tags", json={})
    http.get("/v2/tags", params={"per_page": 2})
    http.get("/v2/tags/Staging")
    http.get("/v2/tags/staging")  # only the canonical name is found
    http.post("/v2/tags/Staging/resources", json=on_image)
    http.post("/v2/tags/Staging/resources", json=on_image)  # twice: no change
    http.post("/v2/tags/nope/resources", json=on_image)
    http.post(
        "/v2/tags/Staging/resources",
        json={"resources": [{"resource_id": "9569411", "resource_type": "droplet"}]},
    )
    http.post("/v2/tags/Staging/resources", json={"resources": "all"})
    http.request("DELETE", "/v2/tags/Staging/resources", json=on_image)
    http.delete("/v2/tags/Staging")
    http.delete("/v2/tags/Staging")


def exercise_droplets(sandbox: Sandbox, http: httpx.Client) -> None:
    """The droplet, droplet action, snapshot and account action operations, with bad input."""
    http.get("/v2/droplets")
    http.get("/v2/droplets", params={"tag_name": "web", "per_page": 2, "page": 2})
    http.get("/v2/droplets", params={"tag_name": "web", "name": "web-01"})  # 400
    http.get("/v2/droplets", params={"type": "gpus"})
    http.get("/v2/droplets/3164494")
    http.get("/v2/droplets/1")
    http.post("/v2/droplets", json={})  # 405: no create in scope
    actions = "/v2/droplets/3164494/actions"
    started = http.post(actions, json={"type": "snapshot", "name": "spec"}).json()["action"]
    http.post(actions, json={"type": "power_on"})  # 422: a pending event
    http.post(actions, json={"type": "reboot"})  # 422: not modelled
    http.post(actions, json={"type": "nope"})
    http.post(actions, content=b"not json")
    http.get(actions, params={"per_page": 1})
    http.get(f"{actions}/{started['id']}")
    http.get(f"{actions}/2051000001")  # an image's action: not this droplet's
    sandbox.advance(60)
    http.get(f"{actions}/{started['id']}")
    http.get("/v2/droplets/3164494/snapshots")
    http.get("/v2/droplets/1/snapshots")
    http.get("/v2/snapshots")
    http.get("/v2/snapshots", params={"resource_type": "droplet", "per_page": 1, "page": 2})
    http.get("/v2/snapshots", params={"resource_type": "volume"})
    http.get("/v2/snapshots", params={"resource_type": "image"})  # 400
    http.get("/v2/snapshots/180040001")
    http.get("/v2/snapshots/180040003")  # a backup: 400, not a snapshot
    http.get("/v2/snapshots/fbe805e8-866b-11e6-96bf-000f53315a41")  # no volumes: 404
    made = next(i for i in http.get("/v2/snapshots").json()["snapshots"] if i["name"] == "spec")
    http.delete(f"/v2/snapshots/{made['id']}")
    http.delete(f"/v2/snapshots/{made['id']}")  # 404
    http.delete("/v2/snapshots/180040005")  # a custom image: 400
    http.get("/v2/actions", params={"per_page": 2, "page": 2})
    http.get("/v2/actions/2051000003")


def exercise_account_transfers(sandbox: Sandbox, http: httpx.Client) -> None:
    """The account-transfer operations: pending, cancelled, declined, accepted, refused."""
    bob = sandbox.account("bob")
    as_bob = {"authorization": f"Bearer {bob.token}"}
    start = "/v2/images/180040001/account_transfer"
    to_bob = {"recipient_email": bob.email}
    first = http.post(start, json=to_bob).json()["transfer_id"]
    http.post(start, json=to_bob)  # one pending at a time: 422
    http.post(f"{start}/cancel", json={"transfer_id": first})
    http.post(f"{start}/cancel", json={"transfer_id": first})  # no longer pending
    second = http.post(start, json=to_bob).json()["transfer_id"]
    http.post(f"{start}/decline", json={"transfer_id": second}, headers=as_bob)
    third = http.post(start, json=to_bob).json()["transfer_id"]
    http.post(f"{start}/accept", json={"transfer_id": third, "recipient_uuid": bob.team})
    http.post(
        f"{start}/accept", json={"transfer_id": third, "recipient_uuid": bob.team}, headers=as_bob
    )
    http.post(f"{start}/accept", json={"transfer_id": 1}, headers=as_bob)
    http.post("/v2/images/180040003/account_transfer", json=to_bob)  # a backup: 422
    http.post("/v2/images/180040002/account_transfer", json={})
    http.post("/v2/images/180040002/account_transfer", json={"recipient_uuid": bob.team})
    http.post("/v2/images/171020001/account_transfer", json=to_bob)  # public: 403


def test_every_response_of_every_operation_validates() -> None:
    """Successes, client errors, faults and 429s of every operation all fit the spec."""
    sandbox = Sandbox(start=START)
    exercise(sandbox)
    assert_spec_valid(sandbox)
    seen = {request.operation for request in sandbox.requests}
    assert seen >= IMPLEMENTED
    statuses = {request.status for request in sandbox.requests}
    assert statuses >= {200, 201, 202, 204, 400, 401, 403, 404, 405, 422, 429, 500, 503}


def tampered(request: SandboxRequest, body: object) -> SandboxRequest:
    return dataclasses.replace(request, response_body=json.dumps(body).encode())


def first(sandbox: Sandbox, operation: str, status: int) -> SandboxRequest:
    return next(r for r in sandbox.requests if r.operation == operation and r.status == status)


@pytest.fixture(scope="module")
def exercised() -> Sandbox:
    sandbox = Sandbox(start=START)
    exercise(sandbox)
    return sandbox


def test_checker_rejects_a_wrongly_typed_image(exercised: Sandbox) -> None:
    """The spec check fails for an image whose id is a string."""
    request = first(exercised, "images_get", 200)
    image = request.json()["image"]
    assert problems(request) == []
    assert problems(tampered(request, {"image": {**image, "id": str(image["id"])}}))


def test_checker_rejects_a_bare_action(exercised: Sandbox) -> None:
    """A single action must come wrapped in ``{"action": ...}``, as the API sends it."""
    request = first(exercised, "imageActions_get", 200)
    assert problems(tampered(request, request.json()["action"]))


def test_checker_rejects_a_missing_rate_limit_header(exercised: Sandbox) -> None:
    """Every documented ``ratelimit-*`` header must be present."""
    request = first(exercised, "images_list", 200)
    headers = tuple(h for h in request.response_headers if h[0] != "ratelimit-remaining")
    assert problems(dataclasses.replace(request, response_headers=headers))


def test_checker_rejects_an_error_without_message(exercised: Sandbox) -> None:
    """An error body needs ``id`` and ``message``."""
    request = first(exercised, "images_get", 404)
    assert problems(tampered(request, {"id": "not_found"}))
