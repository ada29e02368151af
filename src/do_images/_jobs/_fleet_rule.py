"""The fleet's rule, pure: a fleet, the account's images and a time in, the entries out.

``plan_images`` decides; ``compare`` and ``deletable`` hold a plan against what the
rule gives on a fresh listing (apply's safety: the plan is a proposal, the rule
decides). Nothing here reads or changes anything, so it is tested without HTTP.

The rule, per group: the selected images that are ``available`` and carry no protect
tag are ranked newest first (``created_at``, then the higher id); one is deleted when
its rank is above ``keep`` or it is older than ``max_age``, but never one of the first
``keep_min``. Kept and protected images are transferred to the group's regions and given
its ``ensure_tags``; images not ``available`` are left alone (``pending``); an available
image without ``created_at`` is kept, not ranked, not counted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ConfigDict, StrictInt, StrictStr

from .._errors import FleetError
from .._models import Image
from ._fleet_file import Fleet, Group

EntryAction = Literal["transfer", "tag", "delete", "keep", "protected", "pending"]
"""What an entry says: a change (``transfer``, ``tag``, ``delete``) or a verdict."""
CHANGES: dict[EntryAction, str] = {"transfer": "+", "tag": "~", "delete": "-"}
"""The entries applying acts on, in the order it takes them, each with its sign."""


@dataclass(frozen=True)
class PlanEntry:
    """One line of a plan: a verdict on an image, a transfer or a tag to add.

    ``region`` is set for a ``transfer`` only, ``tag`` for a ``tag`` only; ``running``
    names a transfer already under way to that region when the plan was made.
    """

    __pydantic_config__ = ConfigDict(extra="forbid")

    action: EntryAction
    group: StrictStr
    image_id: StrictInt
    image_name: StrictStr
    reason: StrictStr
    region: StrictStr | None = None
    """For ``transfer``: where to."""
    tag: StrictStr | None = None
    """For ``tag``: which."""
    running: StrictInt | None = None
    """For ``transfer``: the id of a transfer already under way there (waited for)."""

    @property
    def key(self) -> tuple[str, str, int, str | None, str | None]:
        """What the entry is, without why: action, group, image, region and tag. Two
        plans agree when their entries' keys do (reasons and ``running`` aside)."""
        return (self.action, self.group, self.image_id, self.region, self.tag)

    def to_json(self) -> dict[str, Any]:
        """The entry as the plan document holds it: its fields, those that are ``None``
        left out."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    @property
    def sign(self) -> str:
        """``+`` transfer, ``~`` tag, ``-`` delete; a verdict has none."""
        return CHANGES.get(self.action, " ")


@dataclass(frozen=True)
class Verdicts:
    """What ``plan_images`` decided: the entries, notes and every matched image."""

    entries: list[PlanEntry]
    notes: list[str]
    matched: dict[int, Image]


def _days(age: timedelta) -> str:
    days = age.days
    return f"{days} day{'s' if days != 1 else ''} old"


def _rank(group: Group, ranked: list[Image], now: datetime) -> list[PlanEntry]:
    """A group's ranked images, newest first: keep or delete, each with its reason."""
    entries: list[PlanEntry] = []
    for rank, image in enumerate(ranked, 1):
        assert image.created_at is not None
        age = now - image.created_at
        over_keep = group.keep is not None and rank > group.keep
        too_old = group.max_age is not None and age > group.max_age
        limit = f"keep {group.keep}" if group.keep is not None else "no keep limit"
        if (over_keep or too_old) and rank > group.keep_min:
            why = [f"rank {rank} > keep {group.keep}"] if over_keep else [f"rank {rank}"]
            why.append(
                f"{_days(age)} > max_age {_age_text(group.max_age)}" if too_old else _days(age)
            )
            entries.append(_entry("delete", group, image, ", ".join(why)))
        elif over_keep or too_old:
            why_kept = f"rank {rank}: one of the keep_min {group.keep_min} newest, always kept"
            entries.append(_entry("keep", group, image, f"{why_kept} ({_days(age)})"))
        else:
            entries.append(_entry("keep", group, image, f"rank {rank} of {limit}, {_days(age)}"))
    return entries


def _age_text(age: timedelta | None) -> str:
    if age is None:
        return "none"
    seconds = int(age.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return str(age)  # pragma: no cover - durations are whole minutes


def _entry(action: EntryAction, group: Group, image: Image, reason: str, **extra: Any) -> PlanEntry:
    return PlanEntry(action, group.name, image.id, image.name or "", reason, **extra)


def plan_images(
    fleet: Fleet,
    images: Iterable[Image],
    now: datetime,
    running: Mapping[int, Mapping[str, int]] | None = None,
) -> Verdicts:
    """The plan for ``images`` (the account's own, every page) at the server's ``now``.

    ``running`` maps an image id to the regions a transfer is already under way to
    (region -> action id): those transfers are waited for, not started. Raises
    ``FleetError`` for an image two groups select. Reads nothing, changes nothing.
    """
    # A listing may show an image twice (pages shift when images come and go while it
    # is read): each image counts once.
    listed = list({image.id: image for image in reversed(list(images))}.values())[::-1]
    groups = _groups_of(fleet, listed)
    matched = {image.id: image for image in listed if image.id in groups}
    entries: list[PlanEntry] = []
    notes: list[str] = []
    for group in fleet.groups:
        members = [image for image in listed if groups.get(image.id) == group.name]
        verdicts = _verdicts(group, members, now)
        entries.extend(verdicts)
        for verdict in verdicts:
            if verdict.action in ("keep", "protected"):
                image = matched[verdict.image_id]
                entries.extend(_transfers(group, image))
                entries.extend(_tags(group, image))
                notes.extend(_outside(group, image))
        notes.extend(_last_copies(group, members, verdicts))
    planned = Verdicts(entries, notes, matched)
    return with_running(planned, running) if running else planned


def _groups_of(fleet: Fleet, listed: list[Image]) -> dict[int, str]:
    """Image id -> the group that selects it; ``FleetError`` for an image two select."""
    groups: dict[int, str] = {}
    for group in fleet.groups:
        for image in listed:
            if group.select.selects(image):
                if image.id in groups:
                    raise FleetError(
                        f"image {image.id} ({image.name}) is selected by groups "
                        f"{groups[image.id]!r} and {group.name!r}: an image may be in one group"
                    )
                groups[image.id] = group.name
    return groups


def _verdicts(group: Group, members: list[Image], now: datetime) -> list[PlanEntry]:
    entries: list[PlanEntry] = []
    ranked: list[Image] = []
    for image in members:
        status = str(image.status or "").lower()
        protected = [tag for tag in group.protect_tags if tag in (image.tags or [])]
        if status != "available":
            entries.append(
                _entry(
                    "pending", group, image, f"status {image.status}: neither counted nor deleted"
                )
            )
        elif protected:
            entries.append(_entry("protected", group, image, f"carries protect tag {protected[0]}"))
        elif image.created_at is None:
            entries.append(_entry("keep", group, image, "no created_at: kept, not ranked"))
        else:
            ranked.append(image)
    ranked.sort(key=lambda image: (image.created_at, image.id), reverse=True)
    return entries + _rank(group, ranked, now)


def _transfers(group: Group, image: Image) -> list[PlanEntry]:
    have = set(image.regions or [])
    return [
        _entry("transfer", group, image, f"missing in {region}", region=region)
        for region in group.regions
        if region not in have
    ]


def with_running(verdicts: Verdicts, running: Mapping[int, Mapping[str, int]]) -> Verdicts:
    """The same plan, its transfers to a region one is already under way to marked as
    waited for (``running``: image id -> region -> action id), not started again."""
    entries = []
    for entry in verdicts.entries:
        action = running.get(entry.image_id, {}).get(str(entry.region))
        if entry.action == "transfer" and action is not None:
            reason = f"missing in {entry.region}; transfer {action} under way: waited for"
            entries.append(replace(entry, reason=reason, running=action))
        else:
            entries.append(entry)
    return replace(verdicts, entries=entries)


def _tags(group: Group, image: Image) -> list[PlanEntry]:
    have = set(image.tags or [])
    return [
        _entry("tag", group, image, "ensure_tags", tag=tag)
        for tag in group.ensure_tags
        if tag not in have
    ]


def _outside(group: Group, image: Image) -> list[str]:
    if not group.regions:
        return []
    extra = [region for region in image.regions or [] if region not in group.regions]
    if not extra:
        return []
    return [
        f"image {image.id} ({image.name}) is also in {', '.join(extra)}, outside "
        f"the regions of group {group.name!r}: left as it is (the API cannot remove one region)"
    ]


def _last_copies(group: Group, members: list[Image], verdicts: list[PlanEntry]) -> list[str]:
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


def already_done(entry: PlanEntry, image: Image | None) -> str | None:
    """Why a planned change is done by now, on the image as listed now (``None``: gone),
    or ``None`` when it is not: a planned region or tag present, a planned deletion gone."""
    if image is None:
        return "already gone" if entry.action == "delete" else None
    if entry.action == "transfer" and entry.region in (image.regions or []):
        return f"already in {entry.region}"
    if entry.action == "tag" and entry.tag in (image.tags or []):
        return f"already tagged {entry.tag}"
    return None


@dataclass
class Comparison:
    """A plan held against the rule on a fresh listing: the planned entries done by now
    (with why), and the images whose entries differ otherwise."""

    done: dict[PlanEntry, str] = field(default_factory=dict)
    differ: set[int] = field(default_factory=set)


def compare(
    entries: Sequence[PlanEntry],
    digests: Mapping[int, str],
    images: Sequence[Image],
    fresh: Verdicts,
) -> Comparison:
    """Hold a plan's ``entries`` against ``fresh`` (the rule on ``images``, listed now).

    Entries are compared by ``key``; a planned entry the fresh ones lack is the plan's
    own progress when ``already_done`` says so, else a difference, as is every fresh
    entry the plan lacks; an image the plan deletes must be unchanged (its ``digest``).
    """
    now = {image.id: image for image in images}
    wanted = {entry.key for entry in fresh.entries}
    planned = {entry.key for entry in entries}
    found = Comparison()
    for entry in entries:
        image = now.get(entry.image_id)
        if (
            entry.action == "delete"
            and image is not None
            and digest(image) != digests.get(entry.image_id)
        ):
            found.differ.add(entry.image_id)
        if entry.key in wanted:
            continue
        why = already_done(entry, image)
        if why is None:
            found.differ.add(entry.image_id)
        else:
            found.done[entry] = why
    found.differ.update(entry.image_id for entry in fresh.entries if entry.key not in planned)
    return found


def deletable(
    entries: Sequence[PlanEntry],
    digests: Mapping[int, str],
    images: Sequence[Image],
    fresh: Verdicts,
) -> tuple[list[PlanEntry], list[PlanEntry], list[PlanEntry]]:
    """Of planned deletions, those to delete now, those already gone and those changed.

    An image is deleted only when the plan and the rule on the fresh listing (``fresh``,
    from ``images``) both say ``delete`` (in the same group) and it is unchanged since
    the plan (its ``digest``). Anything else is changed since the plan: skipped.
    """
    now = {image.id: image for image in images}
    wanted = {entry.key for entry in fresh.entries}
    go: list[PlanEntry] = []
    gone: list[PlanEntry] = []
    changed: list[PlanEntry] = []
    for entry in entries:
        image = now.get(entry.image_id)
        if image is None:
            gone.append(entry)
        elif entry.key in wanted and digest(image) == digests.get(entry.image_id):
            go.append(entry)
        else:
            changed.append(entry)
    return go, gone, changed


__all__ = [
    "CHANGES",
    "Comparison",
    "EntryAction",
    "PlanEntry",
    "Verdicts",
    "already_done",
    "compare",
    "deletable",
    "digest",
    "plan_images",
    "with_running",
]
