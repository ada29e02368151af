"""The sandbox's droplets and their actions: the lock, the 422 pending event, the timings on
the virtual clock, what a snapshot leaves, the lag knob, removal, and the test-author
helpers. Every response is checked against the spec afterwards (the ``sandbox`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from do_images import Droplet, DropletStatus
from do_images.testing import Sandbox
from sandbox_support import assert_spec_valid
from support import SANDBOX_START

WEB_01 = 3164494  # active, nyc3, tagged web; 0.25 GB in use: a 30 s snapshot
WORKER_01 = 3164498  # off, lon1


class Api:
    """Raw HTTP against a sandbox, as a client of the API sees it (no SDK in between)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, droplet_id: int, kind: str, **fields: Any) -> httpx.Response:
        return self.http.post(f"/v2/droplets/{droplet_id}/actions", json={"type": kind, **fields})

    def start(self, droplet_id: int, kind: str, **fields: Any) -> dict[str, Any]:
        response = self.post(droplet_id, kind, **fields)
        assert response.status_code == 201, response.text
        action: dict[str, Any] = response.json()["action"]
        return action

    def droplet(self, droplet_id: int) -> dict[str, Any]:
        droplet: dict[str, Any] = self.get(f"/v2/droplets/{droplet_id}")["droplet"]
        return droplet

    def action(self, action_id: int) -> dict[str, Any]:
        action: dict[str, Any] = self.get(f"/v2/actions/{action_id}")["action"]
        return action

    def images(self) -> list[dict[str, Any]]:
        images: list[dict[str, Any]] = self.get("/v2/images", private="true", per_page=200)[
            "images"
        ]
        return images


def api_for(sandbox: Sandbox, token: str = "dop_v1_sandbox") -> Api:
    """An ``Api`` answered in-process by ``sandbox``, acting with ``token``."""
    http = httpx.Client(
        transport=sandbox.transport(),
        base_url="https://sandbox.invalid",
        headers={"authorization": f"Bearer {token}"},
    )
    return Api(http)


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[Api]:
    client = api_for(sandbox)
    yield client
    client.http.close()


# ------------------------------------------------------------------ the lock


@pytest.mark.parametrize("kind", ["snapshot", "shutdown", "power_off", "power_on"])
def test_a_running_action_locks_the_droplet(sandbox: Sandbox, api: Api, kind: str) -> None:
    """While any action runs the droplet is ``locked`` and another action is the API's 422;
    once it ends, the droplet takes actions again."""
    action = api.start(WEB_01, kind)
    refused = api.post(WEB_01, "power_on")
    assert api.droplet(WEB_01)["locked"] is True
    assert refused.status_code == 422
    assert {k: refused.json()[k] for k in ("id", "message")} == {
        "id": "unprocessable_entity",
        "message": "Droplet already has a pending event.",
    }
    sandbox.advance(30)
    assert api.action(action["id"])["status"] == "completed"
    assert api.droplet(WEB_01)["locked"] is False
    assert api.post(WEB_01, "power_on").status_code == 201


def test_an_action_the_sandbox_does_not_model_is_a_422(api: Api) -> None:
    """A droplet action of the spec the sandbox does not carry out is a 422 saying so."""
    refused = api.post(WEB_01, "reboot")
    assert refused.status_code == 422
    assert "does not model the reboot action" in refused.json()["message"]
    assert api.get(f"/v2/droplets/{WEB_01}/actions")["actions"][0]["type"] == "snapshot"


# ------------------------------------------------------------------ timings


def test_a_shutdown_completes_before_the_droplet_is_off(sandbox: Sandbox, api: Api) -> None:
    """``shutdown`` completes after 5 s with the droplet still ``active`` (and unlocked); it
    is ``off`` 2 s later."""
    action = api.start(WEB_01, "shutdown")
    sandbox.advance(5)
    assert api.action(action["id"])["status"] == "completed"
    assert api.droplet(WEB_01)["status"] == "active"
    assert api.droplet(WEB_01)["locked"] is False
    sandbox.advance(1.9)
    assert api.droplet(WEB_01)["status"] == "active"
    sandbox.advance(0.1)
    assert api.droplet(WEB_01)["status"] == "off"


def test_power_off_and_power_on_change_the_status_when_they_complete(
    sandbox: Sandbox, api: Api
) -> None:
    """``power_off`` makes the droplet ``off`` when it completes (5 s), ``power_on`` ``active``."""
    api.start(WEB_01, "power_off")
    sandbox.advance(4.9)
    assert api.droplet(WEB_01)["status"] == "active"
    sandbox.advance(0.1)
    assert api.droplet(WEB_01)["status"] == "off"
    api.start(WEB_01, "power_on")
    sandbox.advance(5)
    assert api.droplet(WEB_01)["status"] == "active"


@pytest.mark.parametrize(("used_gb", "seconds"), [(2.0, 240), (0.5, 60), (0.1, 30), (0, 30)])
def test_a_snapshot_takes_two_minutes_a_gb_used(
    sandbox: Sandbox, api: Api, used_gb: float, seconds: int
) -> None:
    """A snapshot runs 2 minutes per GB in use, at least 30 s, on the sandbox clock."""
    droplet = sandbox.add_droplet("timed", used_gb=used_gb)
    action = api.start(droplet.id, "snapshot")
    sandbox.advance(seconds - 0.5)
    assert api.action(action["id"])["status"] == "in-progress"
    sandbox.advance(0.5)
    done = api.action(action["id"])
    assert done["status"] == "completed"
    started = datetime.fromisoformat(done["started_at"].replace("Z", "+00:00"))
    completed = datetime.fromisoformat(done["completed_at"].replace("Z", "+00:00"))
    assert completed - started == timedelta(seconds=seconds)


def test_the_image_is_created_when_the_action_started(sandbox: Sandbox, api: Api) -> None:
    """The snapshot's image is a private ``snapshot`` in the droplet's region, named as asked,
    whose ``created_at`` is the action's ``started_at`` to the second (the clock being
    mid-second when it started), and in the droplet's ``snapshot_ids``."""
    droplet = sandbox.add_droplet("mid", region="sfo3", used_gb=1.0, disk_gb=50)
    sandbox.advance(0.7)
    action = api.start(droplet.id, "snapshot", name="mid-before-upgrade")
    sandbox.advance(121)
    image = next(i for i in api.images() if i["name"] == "mid-before-upgrade")
    assert image["created_at"] == action["started_at"] == api.action(action["id"])["started_at"]
    assert (image["type"], image["public"], image["regions"]) == ("snapshot", False, ["sfo3"])
    assert (image["min_disk_size"], image["size_gigabytes"], image["status"]) == (
        50,
        1.0,
        "available",
    )
    assert api.droplet(droplet.id)["snapshot_ids"] == [image["id"]]


def test_a_snapshot_without_a_name_is_named_after_the_droplet(sandbox: Sandbox, api: Api) -> None:
    """Without a name the API names a snapshot ``{droplet name}-{time in ms}``."""
    api.start(WEB_01, "snapshot")
    sandbox.advance(30)
    made = api.get(f"/v2/droplets/{WEB_01}/snapshots")["snapshots"][-1]
    assert made["name"] == f"web-01-{int(SANDBOX_START.timestamp() * 1000)}"


def test_a_snapshot_of_a_droplet_that_is_off_works(sandbox: Sandbox, api: Api) -> None:
    """A droplet that is ``off`` is snapshotted like any other, and stays off."""
    action = api.start(WORKER_01, "snapshot", name="cold")
    sandbox.advance(120)
    assert api.action(action["id"])["status"] == "completed"
    assert [i["name"] for i in api.get(f"/v2/droplets/{WORKER_01}/snapshots")["snapshots"]] == [
        "cold"
    ]
    assert api.droplet(WORKER_01)["status"] == "off"


def test_an_errored_snapshot_makes_no_image(sandbox: Sandbox, api: Api) -> None:
    """``fail_next_snapshot()``: the next snapshot ends ``errored`` and makes no image; the
    one after it completes as usual."""
    before = len(api.images())
    sandbox.fail_next_snapshot()
    failed = api.start(WEB_01, "snapshot", name="lost")
    sandbox.advance(30)
    assert api.action(failed["id"])["status"] == "errored"
    assert api.action(failed["id"])["completed_at"] is not None
    assert len(api.images()) == before
    assert api.droplet(WEB_01)["snapshot_ids"] == [180040001]
    assert (api.droplet(WEB_01)["locked"], api.droplet(WEB_01)["status"]) == (False, "active")
    fine = api.start(WEB_01, "snapshot", name="kept")
    sandbox.advance(30)
    assert api.action(fine["id"])["status"] == "completed"
    assert len(api.images()) == before + 1


def test_the_lag_knob_shows_the_image_later() -> None:
    """``Sandbox(snapshot_image_lag=20)``: the action completes, but its image shows nowhere
    until 20 s later, and then with ``created_at`` the action's ``started_at``."""
    sandbox = Sandbox(start=SANDBOX_START, snapshot_image_lag=20)
    api = api_for(sandbox)
    action = api.start(WEB_01, "snapshot", name="late")
    sandbox.advance(30)
    assert api.action(action["id"])["status"] == "completed"
    assert api.droplet(WEB_01)["locked"] is False

    def shown() -> list[bool]:
        return [
            any(i["name"] == "late" for i in api.images()),
            any(i["name"] == "late" for i in api.get("/v2/snapshots")["snapshots"]),
            any(
                i["name"] == "late"
                for i in api.get(f"/v2/droplets/{WEB_01}/snapshots")["snapshots"]
            ),
            len(api.droplet(WEB_01)["snapshot_ids"]) == 2,
        ]

    assert shown() == [False] * 4
    sandbox.advance(19.9)
    assert shown() == [False] * 4
    sandbox.advance(0.1)
    assert shown() == [True] * 4
    image = next(i for i in api.images() if i["name"] == "late")
    assert image["created_at"] == action["started_at"]
    assert_spec_valid(sandbox)


# ------------------------------------------------------------------ stating droplets


def test_the_seed_has_web_droplets_in_different_regions() -> None:
    """The default seed has a few droplets, some tagged ``web`` in more than one region, with
    ids that no image or action has."""
    sandbox = Sandbox(start=SANDBOX_START)
    droplets = sandbox.droplets
    web = [d for d in droplets if "web" in (d.tags or [])]
    assert len(droplets) >= 3
    assert len(web) >= 2
    assert len({d.region.slug for d in web if d.region}) >= 2
    ids = {d.id for d in droplets}
    assert not ids & {i.id for i in sandbox.images}
    assert not ids & {a.id for a in sandbox.actions}
    assert Sandbox(seed=False).droplets == []


def test_add_droplet_states_a_droplet(sandbox: Sandbox, api: Api) -> None:
    """``add_droplet`` returns the droplet as the API then shows it, with what it was given
    (a tag the account has keeps the capitalisation it was made with)."""
    created = datetime(2026, 1, 1, 8, 30, tzinfo=timezone.utc)
    droplet = sandbox.add_droplet(
        "api-01", region="ams3", tags=["api", "Web"], disk_gb=80, status="off", created_at=created
    )
    assert isinstance(droplet, Droplet)
    assert (droplet.name, droplet.status, droplet.disk, droplet.created_at) == (
        "api-01",
        DropletStatus.off,
        80,
        created,
    )
    assert droplet.region is not None
    assert droplet.region.slug == "ams3"
    assert droplet.tags == ["api", "web"]
    assert droplet.model_dump() == api.droplet(droplet.id)
    assert sandbox.add_droplet("next").id == droplet.id + 1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"name": ""}, ValueError, id="empty-name"),
        pytest.param({"region": "xyz9"}, ValueError, id="unknown-region"),
        pytest.param({"tags": ["no spaces"]}, ValueError, id="bad-tag"),
        pytest.param({"tags": "web"}, TypeError, id="tags-a-string"),
        pytest.param({"status": "running"}, ValueError, id="unknown-status"),
        pytest.param({"used_gb": 30}, ValueError, id="more-used-than-disk"),
        pytest.param({"used_gb": "2"}, TypeError, id="used-a-string"),
        pytest.param({"id": WEB_01}, ValueError, id="taken-id"),
        pytest.param({"created_at": datetime(2026, 1, 1)}, ValueError, id="naive-created-at"),
        pytest.param({"account": "Not An Account"}, ValueError, id="bad-account"),
    ],
)
def test_add_droplet_refuses_what_the_api_would_not_have(
    sandbox: Sandbox, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """A droplet the API could not have is a clear error for the test author."""
    arguments: dict[str, Any] = {"name": "x", **kwargs}
    with pytest.raises(error):
        sandbox.add_droplet(**arguments)


def test_add_image_states_a_droplets_snapshot_and_backup(sandbox: Sandbox, api: Api) -> None:
    """``add_image(droplet_id=)`` makes an image of that droplet: in its ``snapshot_ids`` (or
    ``backup_ids``) and snapshots list (with that list's fields only: no ``status``, no
    ``tags``); a snapshot also in ``/v2/snapshots`` naming it."""
    droplet = sandbox.add_droplet("stated")
    snapshot = sandbox.add_image("stated-1", droplet_id=droplet.id)
    backup = sandbox.add_image("stated-b", type="backup", droplet_id=droplet.id)
    shown = api.droplet(droplet.id)
    assert (shown["snapshot_ids"], shown["backup_ids"]) == ([snapshot.id], [backup.id])
    listed = api.get(f"/v2/droplets/{droplet.id}/snapshots")["snapshots"]
    assert [(i["id"], i["type"]) for i in listed] == [
        (snapshot.id, "snapshot"),
        (backup.id, "backup"),
    ]
    fields = {"id", "name", "created_at", "regions", "min_disk_size", "size_gigabytes", "type"}
    assert [set(item) for item in listed] == [fields, fields]
    snapshots = {s["id"]: s for s in api.get("/v2/snapshots")["snapshots"]}
    assert snapshots[str(snapshot.id)]["resource_id"] == str(droplet.id)
    assert str(backup.id) not in snapshots
    with pytest.raises(ValueError, match="private snapshot or backup"):
        sandbox.add_image("custom", type="custom", droplet_id=droplet.id)
    with pytest.raises(ValueError, match="no droplet with id 42"):
        sandbox.add_image("nobody's", droplet_id=42)


def test_removing_a_droplet_keeps_its_snapshots(sandbox: Sandbox, api: Api) -> None:
    """``remove_droplet``: the droplet and its snapshots list are 404, its snapshots stay in
    ``/v2/images`` and ``/v2/snapshots`` (still naming it), its backups go."""
    droplet = sandbox.add_droplet("doomed", used_gb=0.2)
    api.start(droplet.id, "snapshot", name="doomed-last")
    backup = sandbox.add_image("doomed-backup", type="backup", droplet_id=droplet.id)
    with pytest.raises(ValueError, match="in progress"):
        sandbox.remove_droplet(droplet.id)
    sandbox.advance(30)
    sandbox.remove_droplet(droplet.id)
    for path in (f"/v2/droplets/{droplet.id}", f"/v2/droplets/{droplet.id}/snapshots"):
        assert api.http.get(path).status_code == 404
    assert "doomed-last" in [i["name"] for i in api.images()]
    assert backup.id not in [i["id"] for i in api.images()]
    kept = [s for s in api.get("/v2/snapshots")["snapshots"] if s["name"] == "doomed-last"]
    assert [s["resource_id"] for s in kept] == [str(droplet.id)]
    assert droplet.id not in [d.id for d in sandbox.droplets]
    with pytest.raises(ValueError, match="no droplet"):
        sandbox.remove_droplet(droplet.id)


def test_deleting_a_snapshot_takes_it_off_the_droplet(sandbox: Sandbox, api: Api) -> None:
    """``DELETE /v2/snapshots/{id}`` deletes the image: gone from ``/v2/images`` and from the
    droplet's ``snapshot_ids``; a backup there is a 400, not a snapshot."""
    assert api.http.delete("/v2/snapshots/180040001").status_code == 204
    assert 180040001 not in [i["id"] for i in api.images()]
    assert api.droplet(WEB_01)["snapshot_ids"] == []
    refused = api.http.delete("/v2/snapshots/180040003")
    assert (refused.status_code, refused.json()["message"]) == (
        400,
        "the resource is not a snapshot",
    )


# ------------------------------------------------------------------ faults


def test_a_dropped_snapshot_answer_still_started_the_action(sandbox: Sandbox, api: Api) -> None:
    """``drop_next``: the snapshot POST's answer is lost, yet the action was started (the
    droplet is locked, the action listed) and sent once."""
    sandbox.drop_next(method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(WEB_01, "snapshot", name="dropped")
    listed = api.get(f"/v2/droplets/{WEB_01}/actions")["actions"]
    assert (listed[0]["type"], listed[0]["status"]) == ("snapshot", "in-progress")
    assert api.droplet(WEB_01)["locked"] is True
    assert sandbox.count("POST", "dropletActions_post") == 1
    assert [r.dropped for r in sandbox.requests if r.method == "POST"] == [True]


def test_a_garbled_snapshot_answer_still_started_the_action(sandbox: Sandbox, api: Api) -> None:
    """``garble_next``: the snapshot POST is answered 200 with a page that is not JSON, after
    the action was started."""
    sandbox.garble_next(method="POST")
    garbled = api.post(WEB_01, "snapshot")
    assert garbled.status_code == 200
    assert not garbled.headers["content-type"].startswith("application/json")
    assert api.droplet(WEB_01)["locked"] is True


def test_a_failed_snapshot_post_starts_nothing(sandbox: Sandbox, api: Api) -> None:
    """``fail_next(500)`` on the snapshot POST: a 500, and no action was started."""
    sandbox.fail_next(500, method="POST")
    assert api.post(WEB_01, "snapshot").status_code == 500
    assert api.droplet(WEB_01)["locked"] is False
    assert api.get(f"/v2/droplets/{WEB_01}/actions")["meta"]["total"] == 1


def test_the_request_budget_counts_droplet_requests() -> None:
    """The 250-a-minute budget (here 3) covers the droplet routes: the next is a 429."""
    sandbox = Sandbox(start=SANDBOX_START, requests_per_minute=3)
    api = api_for(sandbox)
    for path in ("/v2/droplets", f"/v2/droplets/{WEB_01}", "/v2/snapshots"):
        assert api.http.get(path).status_code == 200
    limited = api.http.get(f"/v2/droplets/{WEB_01}/actions")
    assert limited.status_code == 429
    assert "retry-after" in limited.headers


@pytest.mark.parametrize(
    "start",
    [
        datetime(2021, 3, 1, tzinfo=timezone.utc),
        SANDBOX_START,
        datetime(2026, 11, 21, 18, 0, tzinfo=timezone.utc),
        None,
    ],
    ids=["years-before", "tests-start", "amid-the-seed", "now"],
)
def test_the_seeded_history_precedes_the_start(start: datetime | None) -> None:
    """Every seeded date (images, actions, droplets) is before the sandbox's start, and a
    seeded snapshot's name keeps the day it was made."""
    sandbox = Sandbox(start=start)
    with sandbox.client() as do:
        images = do.image.list()
        actions = [a for d in do.droplet.list() for a in do.droplet.actions(d.id)]
        actions += [a for i in images if not i.public for a in do.image.action_list(i.id)]
        droplets = do.droplet.list()
    moments = [i.created_at for i in images] + [d.created_at for d in droplets]
    moments += [a.started_at for a in actions] + [a.completed_at for a in actions]
    assert actions
    assert all(m is not None and m < sandbox.now for m in moments)
    web_01 = next(i for i in images if i.id == 180040001)
    assert web_01.created_at is not None
    assert web_01.name == f"web-01 {web_01.created_at:%Y-%m-%d}"
