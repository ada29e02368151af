"""The sandbox's droplet, snapshot and action lists: filters, order, pages, accounts, the
state file, and the same answers over real HTTP."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from do_images.testing import Sandbox
from sandbox_support import assert_spec_valid
from support import SANDBOX_START
from test_sandbox_droplets import WEB_01, Api, api_for


@pytest.fixture
def api(sandbox: Sandbox) -> Api:
    return api_for(sandbox)


def walk(api: Api, path: str, key: str, **params: Any) -> tuple[list[Any], int]:
    """Every item of a list, one item a page, following ``links.pages.next``; and the
    ``meta.total`` of the first page."""
    page = api.get(path, per_page=1, **params)
    total, items = page["meta"]["total"], list(page[key])
    while "next" in page["links"]["pages"]:
        response = api.http.get(page["links"]["pages"]["next"])
        assert response.status_code == 200
        page = response.json()
        assert len(page[key]) == 1
        items.extend(page[key])
    return items, total


# ------------------------------------------------------------------ filters, order, pages


def test_the_tag_filter_lists_only_that_tags_droplets(sandbox: Sandbox, api: Api) -> None:
    """``GET /v2/droplets?tag_name=web`` lists exactly the droplets tagged ``web``."""
    tagged = sandbox.add_droplet("api-09", tags=["web"])
    sandbox.add_droplet("batch-09", tags=["batch"])
    every = api.get("/v2/droplets", per_page=200)["droplets"]
    web = api.get("/v2/droplets", tag_name="web", per_page=200)["droplets"]
    assert [d["id"] for d in web] == [d["id"] for d in every if "web" in d["tags"]]
    assert tagged.id in [d["id"] for d in web]
    assert len(web) < len(every)
    assert api.get("/v2/droplets", tag_name="nobody")["droplets"] == []


def test_droplet_actions_are_listed_newest_first() -> None:
    """A droplet's actions, and ``/v2/actions``, list the newest first (a sandbox starting
    after the seeded actions, so that their dates agree)."""
    sandbox = Sandbox(start=datetime(2027, 1, 5, 12, 0, tzinfo=timezone.utc))
    api = api_for(sandbox)
    first = api.start(WEB_01, "power_off")
    sandbox.advance(5)
    second = api.start(WEB_01, "power_on")
    listed = api.get(f"/v2/droplets/{WEB_01}/actions")["actions"]
    assert [a["id"] for a in listed[:2]] == [second["id"], first["id"]]
    assert [a["started_at"] for a in listed] == sorted(
        (a["started_at"] for a in listed), reverse=True
    )
    assert len(listed) == 3
    every = api.get("/v2/actions", per_page=200)["actions"]
    assert [a["id"] for a in every[:2]] == [second["id"], first["id"]]
    assert [a["id"] for a in every] == sorted((a["id"] for a in every), reverse=True)
    assert_spec_valid(sandbox)


def test_account_actions_list_images_and_droplets_actions(sandbox: Sandbox, api: Api) -> None:
    """``/v2/actions`` holds every action of the account: images' and droplets'."""
    api.start(WEB_01, "snapshot")
    api.http.post("/v2/images/180040005/actions", json={"type": "transfer", "region": "lon1"})
    kinds = {a["resource_type"] for a in api.get("/v2/actions", per_page=200)["actions"]}
    assert kinds == {"image", "droplet"}


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/v2/droplets", "droplets"),
        (f"/v2/droplets/{WEB_01}/actions", "actions"),
        (f"/v2/droplets/{WEB_01}/snapshots", "snapshots"),
        ("/v2/snapshots", "snapshots"),
        ("/v2/actions", "actions"),
    ],
)
def test_every_new_list_pages(sandbox: Sandbox, api: Api, path: str, key: str) -> None:
    """One item a page, the pages' links lead through the whole list, as one page gives it,
    and ``meta.total`` counts it."""
    for number in range(3):
        sandbox.add_image(f"web-01 stated {number}", droplet_id=WEB_01)
        api.start(WEB_01, "power_on")
        sandbox.advance(5)
    whole = api.get(path, per_page=200)[key]
    items, total = walk(api, path, key)
    assert items == whole
    assert total == len(whole) >= 3


def test_a_filtered_list_keeps_its_filter_across_pages(sandbox: Sandbox, api: Api) -> None:
    """The pages of ``?tag_name=web`` and ``?resource_type=droplet`` keep the filter."""
    sandbox.add_droplet("api-10", tags=["web"])
    web, total = walk(api, "/v2/droplets", "droplets", tag_name="web")
    assert total == len(web) >= 3
    assert all("web" in d["tags"] for d in web)
    snapshots, _ = walk(api, "/v2/snapshots", "snapshots", resource_type="droplet")
    assert snapshots == api.get("/v2/snapshots", per_page=200)["snapshots"]


# ------------------------------------------------------------------ accounts


def test_another_accounts_droplets_are_not_seen(sandbox: Sandbox, api: Api) -> None:
    """A droplet of account ``bob``, its actions and its snapshots are seen by bob's token
    only: to the default account they do not exist (404), and the reverse."""
    bob = sandbox.account("bob")
    droplet = sandbox.add_droplet("bobs", account="bob", used_gb=0.1)
    as_bob = api_for(sandbox, bob.token)
    action = as_bob.start(droplet.id, "snapshot", name="bobs-snap")
    sandbox.advance(30)
    assert [d["id"] for d in as_bob.get("/v2/droplets")["droplets"]] == [droplet.id]
    assert [s["name"] for s in as_bob.get("/v2/snapshots")["snapshots"]] == ["bobs-snap"]
    assert [a["id"] for a in as_bob.get("/v2/actions")["actions"]] == [action["id"]]
    assert droplet.id not in [d["id"] for d in api.get("/v2/droplets", per_page=200)["droplets"]]
    assert "bobs-snap" not in [s["name"] for s in api.get("/v2/snapshots")["snapshots"]]
    assert action["id"] not in [a["id"] for a in api.get("/v2/actions", per_page=200)["actions"]]
    for path in (
        f"/v2/droplets/{droplet.id}",
        f"/v2/droplets/{droplet.id}/actions",
        f"/v2/droplets/{droplet.id}/actions/{action['id']}",
        f"/v2/droplets/{droplet.id}/snapshots",
        f"/v2/actions/{action['id']}",
        f"/v2/snapshots/{as_bob.get('/v2/snapshots')['snapshots'][0]['id']}",
    ):
        assert api.http.get(path).status_code == 404, path
    assert api.post(droplet.id, "snapshot").status_code == 404
    assert as_bob.http.get(f"/v2/droplets/{WEB_01}").status_code == 404
    assert as_bob.http.get("/v2/snapshots/180040001").status_code == 404


# ------------------------------------------------------------------ the state file


def test_droplets_and_running_actions_survive_in_the_state_file(tmp_path: Path) -> None:
    """A second sandbox on the file has the droplets, a snapshot still running (locked), a
    shutdown whose droplet is not off yet, the fail-next count and the lag; each then ends
    as it would have."""
    path = tmp_path / "state.json"
    first = Sandbox(start=SANDBOX_START, state=path, snapshot_image_lag=10)
    added = first.add_droplet("kept", region="ams3", tags=["kept"], used_gb=1.0)
    one = api_for(first)
    snapshot = one.start(added.id, "snapshot", name="kept-snap")
    first.fail_next_snapshot()
    one.start(WEB_01, "shutdown")
    first.advance(5)  # the shutdown has completed; the droplet goes off at 7 s

    second = Sandbox(state=path, snapshot_image_lag=10)
    two = api_for(second)
    assert [d.model_dump() for d in second.droplets] == [d.model_dump() for d in first.droplets]
    assert two.droplet(added.id)["locked"] is True
    assert two.droplet(WEB_01)["status"] == "active"
    second.advance(2)
    assert two.droplet(WEB_01)["status"] == "off"
    second.advance(113)  # the snapshot completes at 120 s; its image shows at 130 s
    assert two.action(snapshot["id"])["status"] == "completed"
    assert "kept-snap" not in [i["name"] for i in two.images()]
    second.advance(10)
    assert "kept-snap" in [i["name"] for i in two.images()]
    failing = two.start(WEB_01, "snapshot")
    second.advance(30)
    assert two.action(failing["id"])["status"] == "errored"
    assert set(json.loads(path.read_text())["world"]) >= {"droplets", "snapshot_sources"}


def test_a_state_file_from_before_droplets_still_loads(tmp_path: Path) -> None:
    """A state written before droplets existed (no droplet keys) loads: its images and
    actions as they were, no droplets, and droplets can be added."""
    path = tmp_path / "state.json"
    Sandbox(start=SANDBOX_START, state=path)
    data = json.loads(path.read_text())
    world = data["world"]
    for key in list(world):
        if key.startswith(("droplet", "snapshot_", "next_droplet", "failed_snapshots")):
            del world[key]
    world["actions"] = [a for a in world["actions"] if a["resource_type"] == "image"]
    path.write_text(json.dumps(data))
    old = Sandbox(state=path)
    assert old.droplets == []
    assert [i.id for i in old.images] == [image["id"] for image in world["images"]]
    assert old.add_droplet("new").id == 3164500
    assert api_for(old).get("/v2/snapshots")["meta"]["total"] >= 1


# ------------------------------------------------------------------ over HTTP


def _script(http: httpx.Client, sandbox: Sandbox) -> list[tuple[int, Any]]:
    """A droplet snapshot from start to image, as a client sends it: each answer's status
    and body (request ids aside)."""
    answers = []

    def note(response: httpx.Response) -> None:
        body = response.json() if response.content else None
        if isinstance(body, dict):
            body.pop("request_id", None)
        answers.append((response.status_code, body))

    note(http.post(f"/v2/droplets/{WEB_01}/actions", json={"type": "snapshot", "name": "h"}))
    note(http.post(f"/v2/droplets/{WEB_01}/actions", json={"type": "power_on"}))
    note(http.get(f"/v2/droplets/{WEB_01}"))
    sandbox.advance(30)
    for path in (
        f"/v2/droplets/{WEB_01}/actions",
        f"/v2/droplets/{WEB_01}/snapshots",
        "/v2/droplets?tag_name=web",
        "/v2/snapshots?resource_type=droplet",
        "/v2/actions",
    ):
        note(http.get(path))
    return answers


def test_served_over_http_a_snapshot_answers_the_same() -> None:
    """``serve()``: the snapshot POST, the 422 and the GETs answer over real HTTP exactly
    as in-process (links aside, which name the URL asked)."""
    in_process, served = Sandbox(start=SANDBOX_START), Sandbox(start=SANDBOX_START)
    headers = {"authorization": "Bearer dop_v1_sandbox"}
    with httpx.Client(
        transport=in_process.transport(), base_url="http://127.0.0.1", headers=headers
    ) as http:
        expected = _script(http, in_process)
    with served.serve() as base_url, httpx.Client(base_url=base_url, headers=headers) as http:
        got = _script(http, served)

    def unlinked(answers: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
        return [(s, {k: v for k, v in b.items() if k != "links"}) for s, b in answers]

    assert unlinked(got) == unlinked(expected)
    assert [status for status, _ in got] == [201, 422, 200, 200, 200, 200, 200, 200]
    assert [r.operation for r in served.requests][:2] == ["dropletActions_post"] * 2
    assert_spec_valid(served)
