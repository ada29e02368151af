"""What a route is: the routed request (``Call``), the row (``Route``), the matched
path (``Path``), the query string and the API's pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from ..._constants import MAX_PER_PAGE, SANDBOX_DEFAULT_PER_PAGE
from .._world import World
from .._world._core import DEFAULT_ACCOUNT, Problem, page_count


@dataclass(frozen=True, slots=True)
class Call:
    """One routed request, as a handler sees it."""

    world: World
    url: httpx.URL
    query: Query
    body: bytes
    params: dict[str, str]
    image: dict[str, Any] | None
    account: str = DEFAULT_ACCOUNT

    def json_object(self) -> dict[str, Any]:
        """The request body as a JSON object, or 400."""
        try:
            value = json.loads(self.body) if self.body.strip() else None
        except (ValueError, UnicodeDecodeError):
            raise Problem(400, "The request body is not valid JSON.") from None
        if not isinstance(value, dict):
            raise Problem(400, "The request body must be a JSON object.")
        return value

    @property
    def the_image(self) -> dict[str, Any]:
        """The image the path names (routes under ``/v2/images/{id}`` always have one)."""
        assert self.image is not None
        return self.image


Answer = tuple[int, "dict[str, Any] | None"]


Handler = Callable[[Call], Answer]


@dataclass(frozen=True, slots=True)
class Path:
    """A matched path: its shape (``images``, ``image``, ``actions``, ``action``) and ids."""

    kind: str
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class Route:
    """A row of the route table: the spec's operationId and what answers it."""

    operation_id: str
    handler: Handler
    slug_ok: bool = False
    """The path's image may be named by a public image's slug."""
    private_only: bool = False
    """Public images are read-only: this route answers them 403."""
    recipient_ok: bool = False
    """The recipient of a transfer of the image may name it too (accept, decline)."""
    root_causes: bool = False
    """A 400 has the Tags API's body, ``{"error", "messages", "root_causes"}``."""


class Query:
    """The query string: the first value of each name, in order."""

    def __init__(self, raw: str) -> None:
        self.pairs = parse_qsl(raw, keep_blank_values=True)
        self._first: dict[str, str] = {}
        for name, value in self.pairs:
            self._first.setdefault(name, value)

    def get(self, name: str) -> str | None:
        """The first value of ``name``, if given."""
        return self._first.get(name)

    def positive_int(self, name: str, default: int, maximum: int | None = None) -> int:
        """An integer parameter of at least 1 (and at most ``maximum``), or 400."""
        raw = self.get(name)
        if raw is None:
            return default
        # Any size: a page far past the end is an empty page, not an error.
        value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4300 else None
        if value is None or value < 1 or (maximum is not None and value > maximum):
            bound = f"from 1 to {maximum}" if maximum is not None else "of at least 1"
            raise Problem(400, f"{name} must be an integer {bound}.")
        return value


def paged(url: httpx.URL, query: Query, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of ``items`` with the API's ``links.pages`` and ``meta.total``."""
    per_page = query.positive_int("per_page", SANDBOX_DEFAULT_PER_PAGE, MAX_PER_PAGE)
    page = query.positive_int("page", 1)
    total = len(items)
    last = page_count(total, per_page)
    # Links keep the caller's filters and sit on the URL the request came in on.
    kept = [(n, v) for n, v in query.pairs if n not in ("page", "per_page")]

    def link(number: int) -> str:
        params = [*kept, ("page", str(number)), ("per_page", str(per_page))]
        return str(url.copy_with(query=urlencode(params).encode("ascii")))

    pages: dict[str, str] = {}
    if page > 1:
        pages["first"] = link(1)
        pages["prev"] = link(min(page - 1, last))
    if page < last:
        pages["last"] = link(last)
        pages["next"] = link(page + 1)
    start = (page - 1) * per_page
    return {
        key: [dict(item) for item in items[start : start + per_page]],
        "links": {"pages": pages},
        "meta": {"total": total},
    }
