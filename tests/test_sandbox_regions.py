"""The sandbox's ``GET /v2/regions``: the spec's regions, paged, and the only ones it knows."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from do_images import Region
from do_images.testing import Sandbox
from spec_support import IMPLEMENTED, deref, response_examples, spec

BASE = "https://sandbox.invalid"
SNAPSHOT = 180040001  # a seeded private snapshot, available in nyc3 only


def raw(sandbox: Sandbox, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request with a token, straight to the in-process transport."""
    with httpx.Client(
        transport=sandbox.transport(), base_url=BASE, headers={"authorization": "Bearer t"}
    ) as http:
        return http.request(method, path, **kwargs)


def listed(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Every region the sandbox lists, read in one page."""
    body = raw(sandbox, "GET", "/v2/regions", params={"per_page": 200}).json()
    regions: list[dict[str, Any]] = body["regions"]
    return regions


def spec_region_slugs() -> list[str]:
    """The spec's closed list of region slugs."""
    slugs: list[str] = deref({"$ref": "#/components/schemas/region_slug"})["enum"]
    return slugs


def example_regions() -> list[dict[str, Any]]:
    """The region objects of the spec's examples of ``regions_list``."""
    return [
        region
        for example in response_examples()
        if example.operation_id == "regions_list" and example.status == "200"
        for region in example.payload["regions"]
    ]


def test_regions_list_is_spec_checked() -> None:
    """``regions_list`` is among the operations whose requests and answers the spec checks."""
    assert "regions_list" in IMPLEMENTED


def test_the_listed_regions_are_the_spec_region_slugs(sandbox: Sandbox) -> None:
    """The sandbox lists exactly the spec's ``region_slug`` list, in its order, once each."""
    assert [region["slug"] for region in listed(sandbox)] == spec_region_slugs()


def test_the_spec_example_regions_are_listed_as_the_example_shows_them(
    sandbox: Sandbox,
) -> None:
    """Each region of the spec's ``regions_list`` examples is listed with exactly its fields."""
    examples = example_regions()
    assert examples, "the spec has no example of regions_list"
    by_slug = {region["slug"]: region for region in listed(sandbox)}
    assert [by_slug.get(region["slug"]) for region in examples] == examples


def test_every_listed_region_parses_as_the_sdk_region(sandbox: Sandbox) -> None:
    """Each listed region is a ``Region`` of the SDK that dumps back to what was sent."""
    regions = listed(sandbox)
    assert [Region.model_validate(region).model_dump() for region in regions] == regions


def test_retired_regions_are_listed_as_not_available(sandbox: Sandbox) -> None:
    """A region that takes no new resources is listed, ``available: false``, with no sizes."""
    retired = [region for region in listed(sandbox) if not region["available"]]
    assert [(r["slug"], r["features"], r["sizes"]) for r in retired] == [
        ("ams1", [], []),
        ("sfo1", [], []),
    ]


def test_regions_are_paged_like_the_other_lists(sandbox: Sandbox) -> None:
    """``per_page``/``page`` cut the list; ``links.pages`` and ``meta.total`` are the API's."""
    everything = listed(sandbox)
    body = raw(sandbox, "GET", "/v2/regions", params={"per_page": 4, "page": 2}).json()
    link = f"{BASE}/v2/regions?page={{}}&per_page=4"
    assert body == {
        "regions": everything[4:8],
        "links": {
            "pages": {
                "first": link.format(1),
                "prev": link.format(1),
                "last": link.format(4),
                "next": link.format(3),
            }
        },
        "meta": {"total": len(everything)},
    }


def test_the_last_page_of_regions_has_no_next_link(sandbox: Sandbox) -> None:
    """The last page holds the remainder and links back, not forward."""
    total = len(listed(sandbox))
    body = raw(sandbox, "GET", "/v2/regions", params={"per_page": 4, "page": 4}).json()
    assert (len(body["regions"]), sorted(body["links"]["pages"])) == (
        total - 12,
        ["first", "prev"],
    )


@pytest.mark.parametrize("per_page", ["0", "201", "x"])
def test_a_bad_per_page_of_regions_is_a_bad_request(sandbox: Sandbox, per_page: str) -> None:
    """``per_page`` outside 1..200 gets the API's 400, as on every list."""
    answer = raw(sandbox, "GET", "/v2/regions", params={"per_page": per_page})
    assert (answer.status_code, answer.json()["id"]) == (400, "bad_request")


def test_regions_take_no_other_method(sandbox: Sandbox) -> None:
    """``/v2/regions`` only answers GET: a POST is a 405 naming GET."""
    answer = raw(sandbox, "POST", "/v2/regions", json={})
    assert (answer.status_code, answer.headers["allow"]) == (405, "GET")


def test_a_path_under_regions_is_not_found(sandbox: Sandbox) -> None:
    """The API has no ``/v2/regions/{slug}``: the sandbox answers it 404."""
    assert raw(sandbox, "GET", "/v2/regions/nyc3").status_code == 404


@pytest.mark.parametrize("slug", ["xyz1", "nyc4", "NYC3", ""])
def test_a_region_the_list_lacks_is_not_a_valid_transfer_target(
    sandbox: Sandbox, slug: str
) -> None:
    """A transfer to a slug ``GET /v2/regions`` does not list is a 422 "not a valid region"."""
    assert slug not in {region["slug"] for region in listed(sandbox)}
    answer = raw(
        sandbox, "POST", f"/v2/images/{SNAPSHOT}/actions", json={"type": "transfer", "region": slug}
    )
    assert answer.status_code == 422
    if slug:  # an empty region is refused as a missing field first
        assert answer.json()["message"] == f"{slug} is not a valid region."


def test_every_listed_region_is_known_and_takes_transfers_if_available(sandbox: Sandbox) -> None:
    """Each listed region is a valid transfer target: accepted when ``available``, else a 422
    saying it is not available (never "not a valid region")."""
    outcomes = {}
    for region in listed(sandbox):
        if region["slug"] == "nyc3":  # the snapshot is there already
            continue
        answer = raw(
            sandbox,
            "POST",
            f"/v2/images/{SNAPSHOT}/actions",
            json={"type": "transfer", "region": region["slug"]},
        )
        outcomes[region["slug"]] = (answer.status_code, region["available"])
    assert outcomes
    assert all(status == (201 if available else 422) for status, available in outcomes.values())


def test_an_import_to_an_unlisted_region_is_refused(sandbox: Sandbox) -> None:
    """``POST /v2/images`` with a region the list lacks is a 422 naming it."""
    answer = raw(
        sandbox,
        "POST",
        "/v2/images",
        json={"name": "n", "url": "https://example.com/n.img", "region": "xyz1"},
    )
    assert (answer.status_code, answer.json()["message"]) == (422, "xyz1 is not a valid region.")


def test_add_image_in_an_unlisted_region_is_a_value_error() -> None:
    """The test author's ``add_image`` refuses a region the list lacks before storing it."""
    sandbox = Sandbox(seed=False)
    with pytest.raises(ValueError, match="unknown region 'xyz1'"):
        sandbox.add_image("x", regions=["nyc3", "xyz1"])
    assert sandbox.images == []


def test_add_action_in_an_unlisted_region_is_a_value_error() -> None:
    """The test author's ``add_action`` refuses a region the list lacks."""
    sandbox = Sandbox(seed=False)
    image = sandbox.add_image("x", regions=["nyc3"])
    with pytest.raises(ValueError, match="unknown region 'xyz1'"):
        sandbox.add_action(image.id, "transfer", region="xyz1")


def test_an_action_embeds_the_region_as_listed(sandbox: Sandbox) -> None:
    """The ``region`` object inside an action is the one ``GET /v2/regions`` lists."""
    answer = raw(
        sandbox,
        "POST",
        f"/v2/images/{SNAPSHOT}/actions",
        json={"type": "transfer", "region": "sfo3"},
    )
    by_slug = {region["slug"]: region for region in listed(sandbox)}
    assert answer.json()["action"]["region"] == by_slug["sfo3"]


def test_the_spec_example_of_regions_is_found() -> None:
    """The spec keeps its ``regions_list`` example in the schema; the examples walk finds it."""
    media = deref(spec()["paths"]["/v2/regions"]["get"]["responses"]["200"])["content"]
    assert example_regions() == media["application/json"]["schema"]["example"]["regions"]
