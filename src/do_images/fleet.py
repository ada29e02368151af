"""Image fleets: a TOML file says which images live where and how many to keep.

``Fleet.load("fleet.toml")`` reads and checks the file; ``do.image.plan_fleet(fleet)``
reads the account and returns a ``FleetPlan`` (nothing changes); ``do.image.apply_fleet
(plan)`` carries it out and returns a ``FleetReport``. The rule a plan follows is
``plan_images``, a pure function of the file, the images, the droplets and the server's
time, so it is tested without HTTP.

A group has ``select`` (which of the account's own images it manages) or ``source`` (the
droplets whose snapshots it makes and keeps, a ``SourceGroup``). The rule, per select
group: the selected images that are ``available`` and carry no protect tag are ranked
newest first (``created_at``, then the higher id); one is deleted when its rank is above
``keep`` or it is older than ``max_age``, but never one of the first ``keep_min``. A
source group owns the snapshots its ``snapshot_name`` matches, snapshots each droplet
when it is due, and ranks each droplet's series on its own, as if this run's snapshot
were the newest. Kept, protected and orphaned images are transferred to the group's
regions and given its ``ensure_tags``; images not ``available`` are left alone
(``pending``); an available image without ``created_at`` is kept, not ranked, not
counted.

A plan is a proposal, the rule decides: ``apply_fleet`` holds a plan to the rule on the
account as it reads it (at the plan's ``listed_at``), refuses any difference but the
plan's own progress, and re-checks each group's deletions just before they happen.

This module is the public face; the fleet lives in ``do_images._jobs``, one module per
concern: the file (``_fleet_file``, its names ``_template``), the rule (``_fleet_rule``,
``_fleet_source``, ``_retention``), the entries and the plan (``_fleet_entry``,
``_fleet_plan``, ``_fleet_estimate``), and the apply engine (``_fleet_apply``).
"""

from __future__ import annotations

from ._jobs import _fleet_plan
from ._jobs._fleet_apply import EntryResult, FleetReport
from ._jobs._fleet_entry import PlanEntry
from ._jobs._fleet_file import Fleet, Group, Selection, Source, SourceGroup
from ._jobs._fleet_plan import FleetPlan, FleetPlanDocument, fingerprint
from ._jobs._fleet_rule import plan_images
from ._jobs._fleet_source import DropletView

__all__ = [
    "DropletView",
    "EntryResult",
    "Fleet",
    "FleetPlan",
    "FleetPlanDocument",
    "FleetReport",
    "Group",
    "PlanEntry",
    "Selection",
    "Source",
    "SourceGroup",
    "fingerprint",
    "plan_images",
]

DEFAULT_MAX_DELETE = _fleet_plan.DEFAULT_MAX_DELETE
"""``apply_fleet``'s ``max_delete`` unless told otherwise (``--max-delete``)."""
DEFAULT_MAX_PLAN_AGE = _fleet_plan.DEFAULT_MAX_PLAN_AGE
"""``apply_fleet``'s ``max_plan_age``: older saved plans are stale."""
