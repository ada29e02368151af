"""Lists whose pages have ``links.pages.next`` but no total: every page is still read.

The models allow a missing ``meta.total`` (absent ``meta``, ``meta: {}``, ``"total":
null``). Nothing can be planned from such a first page, so the next links are followed
to the end, whatever the page concurrency, on both clients.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from support import (
    BASE,
    Driver,
    MakeDriver,
    action_payload,
    image_payload,
    json_response,
    materialize,
)

META_FORMS: dict[str, Callable[[dict[str, Any]], None]] = {
    "no-meta": lambda body: body.pop("meta"),
    "empty-meta": lambda body: body.update(meta={}),
    "null-total": lambda body: body.update(meta={"total": None}),
}


def pages_of(key: str, ids: list[list[int]], path: str, meta: str) -> list[dict[str, Any]]:
    """One body per page, each linking to the next, none giving a total."""
    bodies = []
    for number, chunk in enumerate(ids, start=1):
        items = (
            [image_payload(i, created_at=f"2026-0{i}-01T00:00:00Z") for i in chunk]
            if key == "images"
            else [action_payload(i, 7, "completed") for i in chunk]
        )
        pages = {}
        if number < len(ids):
            pages["next"] = f"{BASE}{path}?page={number + 1}&per_page=200"
        body: dict[str, Any] = {key: items, "links": {"pages": pages}, "meta": {"total": 99}}
        META_FORMS[meta](body)
        bodies.append(body)
    return bodies


def serve(
    bodies: list[dict[str, Any]], holder: list[Driver]
) -> Callable[[httpx.Request], httpx.Response]:
    """Answer ``?page=n`` with ``bodies[n - 1]``, 50 ms of fake latency each, so a
    client with page concurrency would fetch concurrently if it could plan."""

    def handler(request: httpx.Request) -> httpx.Response:
        holder[0].now += 0.05
        return json_response(200, bodies[int(request.url.params.get("page", "1")) - 1])

    return handler


SPLITS = {"two-pages": [[1, 2], [3]], "three-pages": [[1, 2], [3, 4], [5]]}


@pytest.mark.parametrize("meta", list(META_FORMS))
@pytest.mark.parametrize("split", list(SPLITS))
@pytest.mark.parametrize("width", [1, 4])
@pytest.mark.parametrize("method", ["list", "iter", "plan_prune"])
def test_image_lists_read_every_page(
    make_driver: MakeDriver, meta: str, split: str, width: int, method: str
) -> None:
    """Image pages without a total are each read once by ``list``, ``iter``, ``plan_prune``."""
    ids = SPLITS[split]
    holder: list[Driver] = []
    bodies = pages_of("images", ids, "/v2/images", meta)
    do = make_driver(serve(bodies, holder), page_concurrency=width)
    holder.append(do)
    if method == "plan_prune":
        plan = do.image.plan_prune(keep=1, older_than=timedelta(days=1))
        seen = [image.id for image in plan.keep + plan.delete]
    else:
        seen = [image.id for image in materialize(getattr(do.image, method)())]
    assert sorted(seen) == [i for chunk in ids for i in chunk]
    assert len(do.requests) == len(ids)


@pytest.mark.parametrize("meta", list(META_FORMS))
@pytest.mark.parametrize("split", list(SPLITS))
@pytest.mark.parametrize("width", [1, 4])
def test_action_lists_read_every_page(
    make_driver: MakeDriver, meta: str, split: str, width: int
) -> None:
    """Action pages without a total are all read, once each, at any page concurrency."""
    ids = SPLITS[split]
    holder: list[Driver] = []
    bodies = pages_of("actions", ids, "/v2/images/7/actions", meta)
    do = make_driver(serve(bodies, holder), page_concurrency=width)
    holder.append(do)
    assert [action.id for action in do.image.action_list(7)] == [i for c in ids for i in c]
    assert len(do.requests) == len(ids)
