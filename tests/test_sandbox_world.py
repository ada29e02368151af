"""The sandbox's parts on their own: the rules without HTTP, the route table, the log."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from do_images.testing import AsyncSandboxTransport, Sandbox, SandboxTransport
from do_images.testing._routes import ROUTES, match
from do_images.testing._world import World
from do_images.testing._world._core import Problem
from spec_support import IMPLEMENTED

START = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
SNAPSHOT = 180040001
UBUNTU = 171020001


def world(now: list[float] | None = None) -> World:
    clock = now if now is not None else [0.0]
    return World(
        start=START, clock=lambda: clock[0], action_seconds=30, import_seconds=60, seed=True
    )


# --------------------------------------------------------------- the rules


def test_a_transfer_finishes_on_the_clock_without_any_http() -> None:
    """An action started on the ``World`` completes once its time has passed."""
    now = [0.0]
    w = world(now)
    image = w.find_image(str(SNAPSHOT), slug_ok=False)
    action = w.start_action(image, {"type": "transfer", "region": "lon1"})
    assert action["status"] == "in-progress"
    now[0] = 29.0
    w.settle()
    assert w.actions[action["id"]]["status"] == "in-progress"
    now[0] = 30.0
    w.settle()
    assert w.actions[action["id"]]["status"] == "completed"
    assert "lon1" in w.images[SNAPSHOT]["regions"]


def test_an_import_becomes_available_on_the_clock() -> None:
    """A created custom image is ``NEW`` until ``import_seconds`` have passed."""
    now = [0.0]
    w = world(now)
    image = w.create_image({"name": "x", "url": "https://example.com/x.img", "region": "nyc3"})
    assert image["status"] == "NEW"
    now[0] = 60.0
    w.settle()
    assert w.images[image["id"]]["status"] == "available"
    assert w.images[image["id"]]["regions"] == ["nyc3"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"type": "resize"}, 422),
        ({"type": "transfer"}, 422),
        ({"type": "transfer", "region": "nyc3"}, 422),  # already there
        ({"type": "transfer", "region": "ams1"}, 422),  # retired
        ({"type": "transfer", "region": "mars1"}, 422),
        ({"type": "convert"}, 422),  # not a backup
    ],
)
def test_refused_actions_raise_problems(body: dict[str, str], status: int) -> None:
    """The API's action rules raise ``Problem`` with the status it would answer."""
    w = world()
    with pytest.raises(Problem) as caught:
        w.start_action(w.find_image(str(SNAPSHOT), slug_ok=False), body)
    assert caught.value.status == status


def test_a_slug_finds_a_public_image_only_where_allowed() -> None:
    """``slug_ok`` decides whether a slug may name the image."""
    w = world()
    assert w.find_image("ubuntu-24-04-x64", slug_ok=True)["id"] == UBUNTU
    with pytest.raises(Problem):
        w.find_image("ubuntu-24-04-x64", slug_ok=False)


# ----------------------------------------------------------- the route table


def test_the_route_table_holds_every_implemented_operation() -> None:
    """Each implemented operationId of the spec is answered by exactly one route."""
    assert sorted(route.operation_id for route in ROUTES.values()) == sorted(IMPLEMENTED)


def test_only_the_changing_routes_refuse_public_images() -> None:
    """Public images are read-only: exactly PUT, DELETE, the action POST and the sender's
    account-transfer POSTs say 403."""
    private_only = {key for key, route in ROUTES.items() if route.private_only}
    assert private_only == {
        ("image", "PUT"),
        ("image", "DELETE"),
        ("actions", "POST"),
        ("account_transfer", "POST"),
        ("account_transfer_cancel", "POST"),
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", f"/v2/images/{UBUNTU}"),
        ("DELETE", f"/v2/images/{UBUNTU}"),
        ("POST", f"/v2/images/{UBUNTU}/actions"),
    ],
)
def test_changing_a_public_image_is_403(method: str, path: str) -> None:
    """The flag, not the position of a branch, gives the 403."""
    sandbox = Sandbox()
    with sandbox.client() as do:
        request = httpx.Request(
            method,
            do.base_url + path,
            json={"name": "x", "type": "convert"},
            headers={"authorization": "Bearer t"},
        )
        response = httpx.Client(transport=sandbox.transport()).send(request)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (b"/v2/images", "images"),
        (b"/prefix/v2/images/7", "image"),
        (b"/v2/images/7/actions?page=2", "actions"),
        (b"/v2/images/7/actions/9", "action"),
        (b"/v2/images/7/actions/9/x", None),
        (b"/v2//images/7", "image"),
        (b"/v2/actions/9", "account_action"),
        (b"/v2/actions", "account_actions"),
        (b"/v2/actions/9/x", None),
        (b"/v2/droplets?tag_name=web", "droplets"),
        (b"/v2/droplets/3164494", "droplet"),
        (b"/v2/droplets/3164494/actions", "droplet_actions"),
        (b"/v2/droplets/3164494/actions/9", "droplet_action"),
        (b"/v2/droplets/3164494/snapshots", "droplet_snapshots"),
        (b"/v2/droplets/3164494/backups", None),
        (b"/v2/droplets/3164494/actions/9/x", None),
        (b"/v2/snapshots", "snapshots"),
        (b"/v2/snapshots/fbe805e8-866b-11e6-96bf-000f53315a41", "snapshot"),
        (b"/v2/snapshots/7/x", None),
        (b"/v2/volumes", None),
    ],
)
def test_path_shapes(path: bytes, kind: str | None) -> None:
    """Paths map to the shapes of the spec's operations (with any prefix), or nothing."""
    matched = match(path)
    assert (matched.kind if matched else None) == kind


# ------------------------------------------------------------------- the log


def test_the_log_keeps_request_headers_without_the_token() -> None:
    """Each logged request has its headers, the bearer token blanked, and its answer time."""
    secret = "dop_v1_" + "ab" * 20
    sandbox = Sandbox()
    with sandbox.client(token=secret, user_agent="probe/1") as do:
        do.image.info(SNAPSHOT)
        sandbox.advance(12)
        do.image.info(SNAPSHOT)
    first, second = sandbox.requests
    headers = dict(first.headers)
    assert headers["authorization"] == "Bearer [redacted]"
    assert headers["user-agent"].startswith("probe/1 ")
    assert all(secret not in value for _, value in first.headers)
    assert (first.answered_at, second.answered_at) == (0.0, 12.0)


def test_the_token_is_blanked_from_every_header() -> None:
    """A header that repeats the token (a debugging proxy, say) is blanked too."""
    sandbox = Sandbox()
    secret = "dop_v1_" + "cd" * 20
    sandbox.handle(
        "GET",
        httpx.URL("https://x.invalid/v2/images/1"),
        httpx.Headers({"authorization": f"Bearer {secret}", "x-echo": f"was {secret}"}),
        b"",
    )
    (logged,) = sandbox.requests
    assert dict(logged.headers)["x-echo"] == "was [redacted]"


# ------------------------------------------------------------- the transport


def test_one_transport_class_serves_both_clients() -> None:
    """``SandboxTransport`` is both a sync and an async transport; the async name is an alias."""
    assert AsyncSandboxTransport is SandboxTransport
    transport = Sandbox().transport()
    assert isinstance(transport, httpx.BaseTransport)
    assert isinstance(transport, httpx.AsyncBaseTransport)


# -------------------------------------------------------- the per-minute limit


def _get(sandbox: Sandbox) -> httpx.Response:
    reply = sandbox.handle(
        "GET",
        httpx.URL(f"https://x.invalid/v2/images/{SNAPSHOT}"),
        httpx.Headers({"authorization": "Bearer t"}),
        b"",
    )
    return httpx.Response(reply.status, headers=reply.headers, content=reply.body)


def test_past_the_minute_limit_the_sandbox_answers_429_with_retry_after() -> None:
    """Like the API: the request over the limit in 60 s of its clock is a 429."""
    sandbox = Sandbox(requests_per_minute=3)
    assert [_get(sandbox).status_code for _ in range(3)] == [200, 200, 200]
    sandbox.advance(20)
    refused = _get(sandbox)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "40"
    assert refused.json()["id"] == "too_many_requests"
    sandbox.advance(40)
    assert _get(sandbox).status_code == 200


def test_the_default_is_the_apis_250_a_minute() -> None:
    """250 requests pass at once, the 251st does not; ``None`` turns the limit off."""
    sandbox = Sandbox()
    assert {_get(sandbox).status_code for _ in range(250)} == {200}
    assert _get(sandbox).status_code == 429
    unlimited = Sandbox(requests_per_minute=None)
    assert {_get(unlimited).status_code for _ in range(400)} == {200}


def test_a_client_keeping_the_same_limit_never_draws_a_429() -> None:
    """600 calls through one client: all succeed, none is refused, in 120 s of sandbox time."""
    sandbox = Sandbox()
    with sandbox.client() as do:
        for _ in range(600):
            do.image.info(SNAPSHOT)
    statuses = [request.status for request in sandbox.requests]
    assert statuses.count(429) == 0
    assert sandbox.count("GET") == 600
    assert sandbox.clock() == 120.0
