"""The regions: what ``GET /v2/regions`` lists, and the rule that a region it does not
list is unknown.

The sandbox knows exactly the regions of the spec's ``region_slug`` list, in its order,
each as the spec's ``region`` object; the retired ones are listed as not ``available``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._seed import REGION_NAMES, RETIRED_REGIONS, region_object
from ._core import Problem, WorldCore


class Regions(WorldCore):
    """The regions of the sandbox: the same for every account, and never changing."""

    def list_regions(self) -> list[dict[str, Any]]:
        """The regions ``GET /v2/regions`` lists, as the spec's ``region`` objects."""
        return [region_object(slug) for slug in REGION_NAMES]


def is_listed(region: str) -> bool:
    """Whether ``GET /v2/regions`` lists ``region``: any other slug is unknown."""
    return region in REGION_NAMES


def check_region(region: str) -> None:
    """A region the API lists and still takes new resources in, or 422."""
    if not is_listed(region):
        raise Problem(422, f"{region} is not a valid region.")
    if region in RETIRED_REGIONS:
        raise Problem(422, f"The region {region} is not available.")


def check_regions(regions: Iterable[str]) -> None:
    """For ``add_image`` and ``add_action``: every region must be listed (a ``ValueError``
    for the test author)."""
    for region in regions:
        if not is_listed(region):
            raise ValueError(f"unknown region {region!r}")
