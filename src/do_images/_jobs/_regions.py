"""The regions the API lists (``GET /v2/regions``, every page), for the checks a job
makes before it plans anything: a region it does not list is unknown, one that is not
``available`` takes no new images."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from .._constants import MAX_PER_PAGE
from .._effects import Op
from .._images import ImageOps
from .._models import REGION_PAGE, Region
from .._paging import Page, collect, page_of


@dataclass(frozen=True)
class Regions:
    """Every region the API lists: slug -> whether it takes new resources; and how many
    pages the listing took."""

    available: dict[str, bool]
    pages: int


def list_regions(ops: ImageOps) -> Op[Regions]:
    """``GET /v2/regions``, every page, one by one."""
    first = str(
        httpx.URL(ops.session.api_url("regions")).copy_with(params={"per_page": MAX_PER_PAGE})
    )
    pages = 0

    def fetch(url: str | httpx.URL) -> Op[Page[Region]]:
        nonlocal pages
        response = yield from ops.get(url)
        pages += 1
        return page_of(ops.session.parse_page(REGION_PAGE, response))

    regions: list[Region] = yield from collect(fetch, first, 1, lambda: ops.session.rate_limit)
    return Regions({region.slug: region.available for region in regions}, pages)


__all__ = ["Regions", "list_regions"]
