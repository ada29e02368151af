"""Tags on existing images: ``tag`` and ``untag`` on both clients, the sandbox and respx."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

from do_images import DoImagesError, NotFoundError, ServerError
from do_images.testing import Sandbox
from support import Driver, driver, json_response

SNAPSHOT = 180040001  # web-01, tagged web and prod (seeded)
STAGING = 180040007  # staging snapshot, no tags (seeded)
API = "https://api.digitalocean.com/v2"


def bodies(sandbox: Sandbox, operation: str) -> list[Any]:
    return [json.loads(r.body) for r in sandbox.requests if r.operation == operation]


ON_STAGING = {"resources": [{"resource_id": str(STAGING), "resource_type": "image"}]}


def test_a_new_tag_is_created_then_assigned(do: Driver, sandbox: Sandbox) -> None:
    """``release:2026-12`` does not exist: 404, create, assign; the image and filter see it."""
    do.image.tag(STAGING, "release:2026-12")
    assert [(r.method, r.path, r.status) for r in sandbox.requests] == [
        ("POST", "/v2/tags/release:2026-12/resources", 404),
        ("GET", f"/v2/images/{STAGING}", 200),
        ("POST", "/v2/tags", 201),
        ("POST", "/v2/tags/release:2026-12/resources", 204),
    ]
    assert bodies(sandbox, "tags_create") == [{"name": "release:2026-12"}]
    assert bodies(sandbox, "tags_assign_resources") == [ON_STAGING, ON_STAGING]
    assert do.image.info(STAGING).tags == ["release:2026-12"]
    assert [i.id for i in do.image.list(tag_name="release:2026-12")] == [STAGING]
    plan = do.image.plan_prune(keep=0, older_than=timedelta(days=1), tag_name="release:2026-12")
    assert [i.id for i in plan.delete + plan.keep] == [STAGING]


def test_tagging_again_is_no_error_and_sends_one_request(do: Driver, sandbox: Sandbox) -> None:
    """An existing tag is one request per tag, and a repeat changes nothing."""
    do.image.tag(SNAPSHOT, "web", "prod")
    do.image.tag(SNAPSHOT, "web")
    assert sandbox.count("POST", "tags_assign_resources") == 3
    assert sandbox.count("POST", "tags_create") == 0
    assert do.image.info(SNAPSHOT).tags == ["web", "prod"]


def test_duplicates_in_one_call_are_sent_once(do: Driver, sandbox: Sandbox) -> None:
    """A tag repeated in one call is assigned once, in the order first given."""
    do.image.tag(STAGING, "web", "web", "db")
    assert [r.path for r in sandbox.requests] == [
        "/v2/tags/web/resources",
        "/v2/tags/db/resources",
    ]
    assert do.image.info(STAGING).tags == ["web", "db"]


def test_untag_removes_and_ignores_what_is_absent(do: Driver, sandbox: Sandbox) -> None:
    """Untagging a tag the image lacks, or one that does not exist at all, is no error."""
    do.image.untag(SNAPSHOT, "prod", "db", "never-made")
    assert [(r.path, r.status) for r in sandbox.requests] == [
        ("/v2/tags/prod/resources", 204),
        ("/v2/tags/db/resources", 204),
        ("/v2/tags/never-made/resources", 404),
    ]
    assert do.image.info(SNAPSHOT).tags == ["web"]


def test_the_canonical_capitalisation_is_kept(do: Driver, sandbox: Sandbox) -> None:
    """``PROD`` is another name than ``prod`` in a path; creating it names the canonical one."""
    do.image.tag(STAGING, "Release")
    assert do.image.info(STAGING).tags == ["Release"]
    with pytest.raises(DoImagesError, match="exists as 'Release'"):
        do.image.tag(SNAPSHOT, "release")
    assert "release" not in (do.image.info(SNAPSHOT).tags or [])


def test_a_missing_image_is_not_found_after_the_tag_exists(do: Driver, sandbox: Sandbox) -> None:
    """An existing tag's second assignment 404 means the image: ``NotFoundError``."""
    do.image.tag(STAGING, "fresh")
    with pytest.raises(NotFoundError):
        do.image.tag(424242, "fresh")
    assert sandbox.count("POST", "tags_assign_resources") == 3


def test_tagging_a_missing_image_leaves_no_stray_tag(do: Driver, sandbox: Sandbox) -> None:
    """A new tag on a missing image: the image is looked up once after the first 404, and
    ``NotFoundError`` comes before any tag is created (one GET is the whole cost)."""
    with pytest.raises(NotFoundError):
        do.image.tag(424242, "brand-new", "another-new")
    assert [(r.method, r.path, r.status) for r in sandbox.requests] == [
        ("POST", "/v2/tags/brand-new/resources", 404),
        ("GET", "/v2/images/424242", 404),
    ]
    assert sandbox.count("POST", "tags_create") == 0


def test_several_new_tags_look_the_image_up_once(do: Driver, sandbox: Sandbox) -> None:
    """Two new tags on an existing image: one GET for the call, not one per tag."""
    do.image.tag(STAGING, "new-a", "new-b")
    assert sandbox.count("GET", "images_get") == 1
    assert sandbox.count("POST", "tags_create") == 2
    assert do.image.info(STAGING).tags == ["new-a", "new-b"]


@pytest.mark.parametrize(
    ("tags", "error"),
    [
        (("has space",), ValueError),
        (("ü",), ValueError),
        (("a" * 256,), ValueError),
        (("",), ValueError),
        ((), ValueError),
        ((7,), TypeError),
        (("ok", "bad/slash"), ValueError),
    ],
)
def test_bad_tag_names_are_refused_before_any_request(
    do: Driver, sandbox: Sandbox, tags: tuple[Any, ...], error: type[Exception]
) -> None:
    """Tag names with bad characters, empty, too long, none, or not str raise before any request."""
    with pytest.raises(error):
        do.image.tag(SNAPSHOT, *tags)
    with pytest.raises(error):
        do.image.untag(SNAPSHOT, *tags)
    assert sandbox.requests == []


def test_a_tag_of_255_characters_is_taken(do: Driver) -> None:
    """A tag name of exactly 255 characters is assigned."""
    name = "t" * 255
    do.image.tag(STAGING, name)
    assert do.image.info(STAGING).tags == [name]


def test_bad_ids_are_refused_before_any_request(do: Driver, sandbox: Sandbox) -> None:
    """Image ids that are not positive ints (0, negative, bool, str) raise before any request."""
    bad: Any
    for bad in (0, -1, True, "7"):
        with pytest.raises((TypeError, ValueError)):
            do.image.tag(bad, "web")
    assert sandbox.requests == []


# ------------------------------------------------------------------- respx


def test_exact_requests_and_a_retried_assignment(kind: str) -> None:
    """The assignment is idempotent: a 503 is retried, like a PUT; the bodies are exact."""
    router = respx.MockRouter(assert_all_called=True)
    assign = router.post(f"{API}/tags/web/resources").mock(
        side_effect=[json_response(503, {"id": "e", "message": "busy"}), httpx.Response(204)]
    )
    with driver(kind, router.handler) as do:
        do.image.tag(7, "web")
    assert assign.call_count == 2
    for call in assign.calls:
        assert json.loads(call.request.content) == {
            "resources": [{"resource_id": "7", "resource_type": "image"}]
        }


def test_a_create_answered_with_another_capitalisation_is_refused(kind: str) -> None:
    """A tag the API keeps as ``PROD`` is not assigned as ``prod``: the error names ``PROD``."""
    router = respx.MockRouter(assert_all_called=True)
    router.post(f"{API}/tags/prod/resources").mock(
        return_value=json_response(404, {"id": "not_found", "message": "no such tag"})
    )
    router.post(f"{API}/tags").mock(
        return_value=json_response(201, {"tag": {"name": "PROD", "resources": {"count": 3}}})
    )
    router.get(f"{API}/images/7").mock(
        return_value=json_response(200, {"image": {"id": 7, "name": "web"}})
    )
    with driver(kind, router.handler) as do, pytest.raises(DoImagesError) as caught:
        do.image.tag(7, "prod")
    assert "use 'PROD'" in str(caught.value)


def test_untag_sends_delete_with_the_body_and_gives_up_on_5xx(kind: str) -> None:
    """``untag`` sends DELETE with the resources body, retries a 500 as told, then raises."""
    router = respx.MockRouter(assert_all_called=True)
    route = router.delete(f"{API}/tags/web/resources").mock(
        return_value=json_response(500, {"id": "server_error", "message": "oops"})
    )
    with driver(kind, router.handler, max_retries=1) as do, pytest.raises(ServerError):
        do.image.untag(7, "web")
    assert route.call_count == 2
    assert json.loads(route.calls[0].request.content)["resources"][0]["resource_id"] == "7"
