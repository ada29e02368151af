"""The fleet's rule, pure: a fleet, the account's images and droplets and a time in, the
entries out.

``plan_images`` decides; ``compare`` and ``deletable`` hold a plan against what the
rule gives on a fresh listing (apply's safety: the plan is a proposal, the rule
decides). Nothing here reads or changes anything, so it is tested without HTTP.

The rule, per select group: the selected images that are ``available`` and carry no
protect tag are ranked newest first (``created_at``, then the higher id); one is deleted
when its rank is above ``keep`` or it is older than ``max_age``, but never one of the
first ``keep_min``. A source group makes the snapshots it keeps and ranks each droplet's
series on its own (``_fleet_source``). Kept, protected and orphaned images are
transferred to the group's regions and given its ``ensure_tags``; images not
``available`` are left alone (``pending``); an available image without ``created_at`` is
kept, not ranked, not counted. No select group selects a snapshot a source group owns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .._errors import FleetError
from .._models import Image
from ._fleet_entry import KEPT, PlanEntry, image_entry, series_entries
from ._fleet_file import AnyGroup, Fleet, Group, SourceGroup
from ._fleet_source import (
    DropletDigest,
    DropletView,
    droplet_digest,
    plan_source,
    same_droplet,
    with_snapshotting,
)
from ._select import selects

Owners = dict[int, tuple[str, int]]
"""Image id -> the source group that owns it and the droplet it is a snapshot of."""


@dataclass(frozen=True)
class Verdicts:
    """What ``plan_images`` decided: the entries, notes, every matched image and every
    droplet a source selected."""

    entries: list[PlanEntry]
    notes: list[str]
    matched: dict[int, Image]
    droplets: dict[int, DropletView] = field(default_factory=dict)
    """Droplet id -> the droplet, for each a source group selected."""


def plan_images(
    fleet: Fleet,
    images: Iterable[Image],
    now: datetime,
    running: Mapping[int, Mapping[str, int]] | None = None,
    *,
    droplets: Mapping[str, Sequence[DropletView]] | None = None,
    snapshotting: Mapping[int, int] | None = None,
) -> Verdicts:
    """The plan for ``images`` (the account's own, every page) at the server's ``now``.

    ``droplets`` maps each source group's name to the droplets its source selected (as
    listed); ``snapshotting`` maps a droplet id to a ``snapshot`` action of it in
    progress (``with_snapshotting``); ``running`` maps an image id to the regions a
    transfer is already under way to (region -> action id, ``with_running``). Raises
    ``FleetError`` for an image two groups select, ``ValueError`` when a source group's
    droplets are not given. Reads nothing, changes nothing.
    """
    # A listing may show an image twice (pages shift when images come and go while it
    # is read): each image counts once.
    listed = list({image.id: image for image in reversed(list(images))}.values())[::-1]
    owners = _owners(fleet, listed)
    groups, passed = _groups_of(fleet, listed, owners)
    matched = {image.id: image for image in listed if image.id in groups or image.id in owners}
    planned = Verdicts([], [], matched)
    for group in fleet.groups:
        if isinstance(group, SourceGroup):
            chosen = _droplets_of(group, droplets)
            planned.droplets.update((droplet.id, droplet) for droplet in chosen)
            members = [image for image in listed if owners.get(image.id, ("",))[0] == group.name]
            found = plan_source(group, _by_droplet(members, owners), chosen, now)
            verdicts = found.entries
            planned.notes.extend(found.notes)
        else:
            members = [image for image in listed if groups.get(image.id) == group.name]
            verdicts = series_entries(group, members, now)
            planned.notes.extend(_passed_over(group, passed.get(group.name, 0)))
        _distribute(group, verdicts, matched, planned)
        planned.notes.extend(_last_copies(group, members, verdicts))
    if running:
        planned = with_running(planned, running)
    if snapshotting:
        planned = replace(planned, entries=with_snapshotting(planned.entries, snapshotting))
    return planned


def _distribute(
    group: AnyGroup, verdicts: Sequence[PlanEntry], matched: Mapping[int, Image], planned: Verdicts
) -> None:
    """The verdicts, then for each image that stays its transfers, tags and notes."""
    planned.entries.extend(verdicts)
    regions, tags = set(group.regions), set(group.ensure_tags)
    for verdict in verdicts:
        if verdict.action in KEPT and verdict.image_id is not None:
            image = matched[verdict.image_id]
            if set(image.regions or ()) == regions and tags.issubset(image.tags or ()):
                continue  # where it should be, as it should be: nothing to add (the fast path)
            planned.entries.extend(_transfers(group, image, verdict))
            planned.entries.extend(_tags(group, image, verdict))
            planned.notes.extend(_outside(group, image, _home(planned, verdict)))


def _owners(fleet: Fleet, listed: Sequence[Image]) -> Owners:
    """Which source group owns each image, and the droplet it is a snapshot of (no two
    groups can own one: their templates are checked not to overlap)."""
    owners: Owners = {}
    snapshots = [image for image in listed if selects(image, types=("snapshot",))]
    for group in fleet.sources:
        match = group.pattern.fullmatch
        for image in snapshots:
            found = match(image.name or "")
            if found is not None:
                owners[image.id] = (group.name, int(found["droplet_id"]))
    return owners


def _by_droplet(members: Sequence[Image], owners: Owners) -> dict[int, list[Image]]:
    series: dict[int, list[Image]] = {}
    for image in members:
        series.setdefault(owners[image.id][1], []).append(image)
    return series


def _droplets_of(
    group: SourceGroup, droplets: Mapping[str, Sequence[DropletView]] | None
) -> Sequence[DropletView]:
    if droplets is None or group.name not in droplets:
        raise ValueError(f"the droplets of source group {group.name!r} were not given")
    return droplets[group.name]


def _groups_of(
    fleet: Fleet, listed: Sequence[Image], owners: Owners
) -> tuple[dict[int, str], dict[str, int]]:
    """Image id -> the select group that selects it; ``FleetError`` for an image two
    select. Snapshots a source group owns are passed over (how many, by group)."""
    groups: dict[int, str] = {}
    passed: dict[str, int] = {}
    for group in fleet.groups:
        if not isinstance(group, Group):
            continue
        for image in listed:
            if not group.select.selects(image):
                continue
            if image.id in owners:
                passed[group.name] = passed.get(group.name, 0) + 1
            elif image.id in groups:
                raise FleetError(
                    f"image {image.id} ({image.name}) is selected by groups "
                    f"{groups[image.id]!r} and {group.name!r}: an image may be in one group"
                )
            else:
                groups[image.id] = group.name
    return groups, passed


def _passed_over(group: Group, count: int) -> list[str]:
    if not count:
        return []
    return [
        f"group {group.name!r} passed over {count} snapshot{'s' if count != 1 else ''} that a "
        "source group owns: a snapshot belongs to the group that makes it"
    ]


def _owner(verdict: PlanEntry) -> dict[str, Any]:
    """The owner droplet of a source group's image, for its transfer and tag entries."""
    return {"droplet_id": verdict.droplet_id} if verdict.droplet_id is not None else {}


def _transfers(group: AnyGroup, image: Image, verdict: PlanEntry) -> list[PlanEntry]:
    have = set(image.regions or [])
    return [
        image_entry(
            "transfer", group, image, f"missing in {region}", region=region, **_owner(verdict)
        )
        for region in group.regions
        if region not in have
    ]


def with_running(verdicts: Verdicts, running: Mapping[int, Mapping[str, int]]) -> Verdicts:
    """The same plan, its transfers to a region one is already under way to marked as
    waited for (``running``: image id -> region -> action id), not started again."""
    entries = []
    for entry in verdicts.entries:
        action = running.get(entry.image_id or 0, {}).get(str(entry.region))
        if entry.action == "transfer" and action is not None:
            reason = f"missing in {entry.region}; transfer {action} under way: waited for"
            entries.append(replace(entry, reason=reason, running=action))
        else:
            entries.append(entry)
    return replace(verdicts, entries=entries)


def _tags(group: AnyGroup, image: Image, verdict: PlanEntry) -> list[PlanEntry]:
    have = set(image.tags or [])
    return [
        image_entry("tag", group, image, "ensure_tags", tag=tag, **_owner(verdict))
        for tag in group.ensure_tags
        if tag not in have
    ]


def _home(planned: Verdicts, verdict: PlanEntry) -> str | None:
    """The region a source group's snapshot was made in: its droplet's (if listed)."""
    droplet = planned.droplets.get(verdict.droplet_id or 0)
    return droplet.region if droplet is not None else None


def _outside(group: AnyGroup, image: Image, home: str | None = None) -> list[str]:
    """A note for an image also in regions outside the group's ``regions``; a snapshot
    in its droplet's region (``home``) is where it was made, not worth a note."""
    if not group.regions:
        return []
    extra = [
        region for region in image.regions or [] if region not in group.regions and region != home
    ]
    if not extra:
        return []
    return [
        f"image {image.id} ({image.name}) is also in {', '.join(extra)}, outside "
        f"the regions of group {group.name!r}: left as it is (the API cannot remove one region)"
    ]


def _last_copies(
    group: AnyGroup, members: Sequence[Image], verdicts: Sequence[PlanEntry]
) -> list[str]:
    """A note for each region outside the group's ``regions`` where its deletions remove
    the group's last image (the images that stay are not copied there)."""
    if not group.regions:
        return []
    doomed = {entry.image_id for entry in verdicts if entry.action == "delete"}
    staying = {
        region for image in members if image.id not in doomed for region in image.regions or []
    }
    notes = []
    for region in sorted({r for i in members if i.id in doomed for r in i.regions or []}):
        if region in group.regions or region in staying:
            continue
        ids = ", ".join(
            str(i.id) for i in members if i.id in doomed and region in (i.regions or [])
        )
        notes.append(
            f"deleting image {ids} removes the last image of group {group.name!r} in "
            f"{region}, outside its regions: none of the images kept is there"
        )
    return notes


# ------------------------------------------------------- holding a plan to the rule


def digest(image: Image) -> str:
    """What "unchanged since the plan" compares of one image."""
    state = [
        image.id,
        image.name,
        str(image.status),
        sorted(image.regions or []),
        sorted(image.tags or []),
        image.created_at.isoformat() if image.created_at else None,
    ]
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()


def already_done(entry: PlanEntry, image: Image | None, made: Mapping[str, int]) -> str | None:
    """Why a planned change is done by now, on the image as listed now (``None``: gone),
    or ``None`` when it is not: a planned snapshot made (``made``: the name of each
    planned snapshot now listed -> its image id), a planned region or tag present, a
    planned deletion gone."""
    if entry.action == "snapshot":
        made_id = made.get(entry.snapshot_name or "")
        return None if made_id is None else f"already made: image {made_id}"
    if image is None:
        return "already gone" if entry.action == "delete" else None
    if entry.action == "transfer" and entry.region in (image.regions or []):
        return f"already in {entry.region}"
    if entry.action == "tag" and entry.tag in (image.tags or []):
        return f"already tagged {entry.tag}"
    return None


def made_snapshots(entries: Iterable[PlanEntry], images: Iterable[Image]) -> dict[str, int]:
    """The planned snapshots already made: the snapshot name of each ``snapshot`` entry
    that a private snapshot of ``images`` has -> that image's id."""
    names = {entry.snapshot_name for entry in entries if entry.action == "snapshot"}
    return {
        image.name or "": image.id
        for image in images
        if image.name in names and selects(image, types=("snapshot",))
    }


@dataclass
class Comparison:
    """A plan held against the rule on a fresh listing: the planned entries done by now
    (with why), the images and the droplets whose entries (or digests) differ
    otherwise, and the droplets due a planned snapshot that are busy now."""

    done: dict[PlanEntry, str] = field(default_factory=dict)
    differ: set[int] = field(default_factory=set)
    """The ids of the images that differ."""
    droplets: set[int] = field(default_factory=set)
    """The ids of the droplets that differ: changed, selected or no longer selected."""
    busy: set[int] = field(default_factory=set)
    """The droplets whose planned snapshot waits: locked, or a snapshot in progress (as
    a 422 would say); that is no difference."""

    def add(self, entry: PlanEntry) -> None:
        """``entry`` differs: its image, or its droplet."""
        if entry.image_id is None:
            self.droplets.add(entry.droplet_id or 0)
        else:
            self.differ.add(entry.image_id)


def compare(
    entries: Sequence[PlanEntry],
    digests: Mapping[int, str],
    images: Sequence[Image],
    fresh: Verdicts,
    droplets: Mapping[int, DropletDigest] | None = None,
) -> Comparison:
    """Hold a plan's ``entries`` against ``fresh`` (the rule on ``images``, listed now).

    Entries are compared by ``key``; a planned entry the fresh ones lack is the plan's
    own progress when ``already_done`` says so, else a difference, as is every fresh
    entry the plan lacks (but those of a planned snapshot made); an image the plan
    deletes must be unchanged (its ``digest``), and so must every droplet a source
    selected (``droplets``: the plan's droplet digests), none more, none fewer.
    """
    now = {image.id: image for image in images}
    made = made_snapshots(entries, images)
    wanted = {entry.key: entry for entry in fresh.entries}
    planned = {entry.key for entry in entries}
    found = Comparison()
    for entry in entries:
        image = now.get(entry.image_id) if entry.image_id is not None else None
        if (
            image is not None
            and entry.action == "delete"
            and digest(image) != digests.get(image.id)
        ):
            found.differ.add(image.id)
        seen = wanted.get(entry.key)
        if seen is not None:
            if entry.action == "snapshot" and seen.action == "pending":
                found.busy.add(entry.droplet_id or 0)
            continue
        why = already_done(entry, image, made)
        if why is None:
            found.add(entry)
        else:
            found.done[entry] = why
    progress = set(made.values())
    for entry in fresh.entries:
        if entry.key not in planned and entry.image_id not in progress:
            found.add(entry)
    if droplets is not None:
        listed = {key: droplet_digest(value) for key, value in fresh.droplets.items()}
        found.droplets.update(
            key
            for key in {*droplets, *listed}
            if not same_droplet(droplets.get(key), listed.get(key))
        )
    return found


def deletable(
    entries: Sequence[PlanEntry],
    digests: Mapping[int, str],
    images: Sequence[Image],
    fresh: Verdicts,
) -> tuple[list[PlanEntry], list[PlanEntry], list[PlanEntry]]:
    """Of planned deletions, those to delete now, those already gone and those changed.

    An image is deleted only when the plan and the rule on the fresh listing (``fresh``,
    from ``images``) both say ``delete`` (in the same group, of the same droplet) and it
    is unchanged since the plan (its ``digest``). Anything else is changed since the
    plan: skipped.
    """
    now = {image.id: image for image in images}
    wanted = {entry.key for entry in fresh.entries}
    go: list[PlanEntry] = []
    gone: list[PlanEntry] = []
    changed: list[PlanEntry] = []
    for entry in entries:
        image = now.get(entry.image_id) if entry.image_id is not None else None
        if image is None:
            gone.append(entry)
        elif entry.key in wanted and digest(image) == digests.get(image.id):
            go.append(entry)
        else:
            changed.append(entry)
    return go, gone, changed


__all__ = [
    "Comparison",
    "Verdicts",
    "already_done",
    "compare",
    "deletable",
    "digest",
    "made_snapshots",
    "plan_images",
    "with_running",
]
