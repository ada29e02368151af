"""The region object the API embeds in actions and droplets (and lists at ``GET /v2/regions``)."""

from __future__ import annotations

from pydantic import StrictBool

from ._base import JsonValidator, _APIModel, _Links, _Meta, _Wire


class Region(_APIModel):
    """The region object embedded in an action or a droplet."""

    name: str
    """The display name, such as ``New York 3``."""
    slug: str
    """The region's name in requests, such as ``nyc3``."""
    features: list[str]
    """The features the region offers."""
    available: StrictBool
    """Whether new Droplets can be created there."""
    sizes: list[str]
    """The Droplet size slugs offered there."""


class RegionPage(_Wire):
    """One page of ``GET /v2/regions``."""

    regions: list[Region]
    links: _Links | None = None
    meta: _Meta | None = None


REGION_PAGE: JsonValidator[RegionPage] = JsonValidator(RegionPage)
