"""Lists follow ``links.pages.next`` exactly, tolerate missing links, and never wander."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from do_images import Client, ResponseValidationError
from support import BASE, MakeDriver, action_payload, image_payload, json_response, materialize


def paged(pages: list[dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    """Serve ``pages[n - 1]`` for ``?page=n`` (no page parameter is page 1)."""

    def handler(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        return json_response(200, pages[number - 1])

    return handler


def page(
    ids: list[int], next_page: int | None, total: int, path: str = "/v2/images"
) -> dict[str, Any]:
    links: dict[str, Any] = {"pages": {}}
    if next_page is not None:
        links["pages"] = {
            "next": f"{BASE}{path}?page={next_page}&per_page=200",
            "last": f"{BASE}{path}?page=3&per_page=200",
        }
    return {"images": [image_payload(i) for i in ids], "links": links, "meta": {"total": total}}


THREE_PAGES = [page([1, 2], 2, 5), page([3, 4], 3, 5), page([5], None, 5)]


@pytest.mark.parametrize("method", ["list", "iter"])
def test_every_page_is_fetched_in_order(make_driver: MakeDriver, method: str) -> None:
    """``list`` and ``iter`` return the images of every page, in order."""
    harness = make_driver(paged(THREE_PAGES))
    assert [image.id for image in materialize(getattr(harness.image, method)())] == [1, 2, 3, 4, 5]
    assert [str(r.url) for r in harness.requests] == [
        f"{BASE}/v2/images?per_page=200",
        f"{BASE}/v2/images?page=2&per_page=200",
        f"{BASE}/v2/images?page=3&per_page=200",
    ]


def test_next_link_is_followed_exactly_as_given(make_driver: MakeDriver) -> None:
    """The next link's query is used verbatim, including parameters the SDK never sends."""
    first = page([1], None, 2)
    first["links"]["pages"]["next"] = f"{BASE}/v2/images?page=2&per_page=200&cursor=abc%3D"
    pages = [first, page([2], None, 2)]
    harness = make_driver(paged(pages))
    assert [image.id for image in harness.image.list()] == [1, 2]
    assert str(harness.requests[1].url) == f"{BASE}/v2/images?page=2&per_page=200&cursor=abc%3D"


@pytest.mark.parametrize(
    "envelope",
    [
        {"images": [image_payload(1)], "meta": {"total": 1}},
        {"images": [image_payload(1)], "links": {}, "meta": {"total": 1}},
        {"images": [image_payload(1)], "links": {"pages": {}}, "meta": {"total": 1}},
        {"images": [image_payload(1)], "links": {"pages": None}},
        {
            "images": [image_payload(1)],
            "links": {
                "pages": {"first": f"{BASE}/v2/images?page=1", "prev": f"{BASE}/v2/images?page=1"}
            },
            "meta": {"total": 1},
        },
    ],
    ids=["no-links", "empty-links", "empty-pages", "null-pages", "backward-only"],
)
def test_missing_next_link_ends_the_list(make_driver: MakeDriver, envelope: dict[str, Any]) -> None:
    """A missing ``links``, ``pages`` or ``next`` means this was the last page."""
    harness = make_driver(lambda r: json_response(200, envelope))
    assert [image.id for image in harness.image.list()] == [1]
    assert len(harness.requests) == 1


@pytest.mark.parametrize("method", ["list", "iter"])
def test_repeated_next_link_stops_the_walk(make_driver: MakeDriver, method: str) -> None:
    """A server that links back to a page already fetched cannot make the client loop."""
    # A total of 2 disagrees with the last link (page 3), so no client plans ahead.
    pages = [page([1], 2, 2), page([2], 2, 2)]
    harness = make_driver(paged(pages))
    assert [image.id for image in materialize(getattr(harness.image, method)())] == [1, 2]
    assert len(harness.requests) == 2


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/v2/images?page=2",
        "http://api.digitalocean.com/v2/images?page=2",
        "https://api.digitalocean.com:8443/v2/images?page=2",
        "https://api.digitalocean.com/v2/droplets?page=2",
        "https://api.digitalocean.com.evil.example/v2/images?page=2",
    ],
    ids=["other-host", "downgraded-scheme", "other-port", "other-path", "suffix-host"],
)
@pytest.mark.parametrize("method", ["list", "iter"])
def test_next_link_to_another_place_is_refused(
    make_driver: MakeDriver, method: str, next_url: str
) -> None:
    """A next link off the API's origin or path raises instead of leaking the token."""
    first = page([1], None, 2)
    first["links"]["pages"]["next"] = next_url
    harness = make_driver(lambda r: json_response(200, first))
    with pytest.raises(ResponseValidationError, match="not followed"):
        materialize(getattr(harness.image, method)())
    assert len(harness.requests) == 1


def test_iter_is_lazy() -> None:
    """``iter`` fetches a page only when iteration reaches it."""
    from support import Driver

    harness = Driver("sync", paged(THREE_PAGES))
    try:
        assert isinstance(harness.client, Client)
        pager = harness.client.image.iter()
        assert harness.requests == []
        iterator = iter(pager)
        assert next(iterator).id == 1
        assert len(harness.requests) == 1
        assert pager.total == 5
        assert next(iterator).id == 2
        assert len(harness.requests) == 1
        assert next(iterator).id == 3
        assert len(harness.requests) == 2
    finally:
        harness.close()


def test_async_iter_is_lazy() -> None:
    """``AsyncClient``'s ``iter`` fetches a page only when iteration reaches it."""
    from support import Driver

    harness = Driver("async", paged(THREE_PAGES))

    async def run() -> None:
        from do_images import AsyncClient

        assert isinstance(harness.client, AsyncClient)
        pager = harness.client.image.iter()
        iterator = aiter(pager)
        assert (await anext(iterator)).id == 1
        assert len(harness.requests) == 1
        assert pager.total == 5
        assert (await anext(iterator)).id == 2
        assert len(harness.requests) == 1
        assert (await anext(iterator)).id == 3
        assert len(harness.requests) == 2
        assert [image.id async for image in iterator] == [4, 5]

    try:
        harness.run(run())
    finally:
        harness.close()


def test_action_list_follows_pages(make_driver: MakeDriver) -> None:
    """``action_list`` walks every page of an image's actions."""
    path = "/v2/images/7/actions"
    pages = [
        {
            "actions": [action_payload(1, 7, "completed")],
            "links": {"pages": {"next": f"{BASE}{path}?page=2&per_page=200"}},
            "meta": {"total": 2},
        },
        {"actions": [action_payload(2, 7, "errored")], "meta": {"total": 2}},
    ]
    harness = make_driver(paged(pages))
    assert [action.id for action in harness.image.action_list(7)] == [1, 2]
    assert [r.url.path for r in harness.requests] == [path, path]
