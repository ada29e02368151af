"""A plan's entries: what the rule says of each image and droplet, written once.

``PlanEntry`` is one line of a plan; ``CHANGES`` the entries applying acts on, each with
its sign, in the order apply takes them; ``series_entries`` the verdicts on one series
of images (a select group's, or one droplet's snapshots), ranked and thinned by
``_retention``. Pure: nothing here reads or changes anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, Literal

from pydantic import ConfigDict, StrictInt, StrictStr

from .._models import Image
from ._fleet_file import GroupRules
from ._retention import verdicts

EntryAction = Literal[
    "snapshot", "transfer", "tag", "delete", "keep", "protected", "orphaned", "pending"
]
"""What an entry says: a change (``snapshot``, ``transfer``, ``tag``, ``delete``) or a
verdict (``keep``, ``protected``, ``orphaned``, ``pending``)."""
CHANGES: dict[EntryAction, str] = {"snapshot": "+", "transfer": "+", "tag": "~", "delete": "-"}
"""The entries applying acts on, in the order it takes them, each with its sign."""
KEPT: frozenset[EntryAction] = frozenset({"keep", "protected", "orphaned"})
"""The verdicts of images that stay: they are transferred to their group's regions and
given its tags."""
AFTER_SNAPSHOT = "after this run's snapshot"
"""What the reason of a deletion that waits for its droplet's snapshot ends with."""

EntryKey = tuple[str, str, int | None, int | None, str | None, str | None, str | None]


@dataclass(frozen=True)
class PlanEntry:
    """One line of a plan: a verdict on an image, a change to make, or a droplet's turn.

    An image's entry has ``image_id`` and ``image_name``, and in a source group the
    ``droplet_id`` it is a snapshot of. A droplet's entry (``snapshot``, or ``pending``
    for a droplet that cannot be snapshotted now) has ``droplet_id`` and
    ``droplet_name``, no image (``image_id`` is null), and the ``snapshot_name`` this
    run gives its snapshot: a ``pending`` entry has one when the droplet is due but
    busy. ``region`` is set for a ``transfer`` only, ``tag`` for a ``tag`` only;
    ``running`` names a transfer already under way to that region when the plan was made.
    """

    __pydantic_config__ = ConfigDict(extra="forbid")

    action: EntryAction
    group: StrictStr
    image_id: StrictInt | None
    image_name: StrictStr | None
    reason: StrictStr
    region: StrictStr | None = None
    """For ``transfer``: where to."""
    tag: StrictStr | None = None
    """For ``tag``: which."""
    running: StrictInt | None = None
    """For ``transfer``: the id of a transfer already under way there (waited for)."""
    droplet_id: StrictInt | None = None
    """The droplet of a droplet's entry; for an image of a source group, its owner."""
    droplet_name: StrictStr | None = None
    """For a droplet's entry: the droplet's name when the plan was made."""
    snapshot_name: StrictStr | None = None
    """For ``snapshot`` (and ``pending`` while the droplet is busy): the name of the
    snapshot this run makes."""

    @classmethod
    def of_image(
        cls,
        action: EntryAction,
        group: str,
        image: Image,
        reason: str,
        droplet_id: int | None = None,
    ) -> PlanEntry:
        """``PlanEntry(action, group, image.id, image.name or "", reason,
        droplet_id=droplet_id)``, equal to it in every field, made without the frozen
        dataclass's ``__setattr__`` per field: a plan of 30,000 images makes 30,000 of
        these, and that alone took a third of the rule's time."""
        entry = object.__new__(cls)
        entry.__dict__.update(
            action=action,
            group=group,
            image_id=image.id,
            image_name=image.name or "",
            reason=reason,
            region=None,
            tag=None,
            running=None,
            droplet_id=droplet_id,
            droplet_name=None,
            snapshot_name=None,
        )
        return entry

    @property
    def key(self) -> EntryKey:
        """What the entry is, without why: action, group, image, droplet, region, tag and
        snapshot name. Two plans agree when their entries' keys do (reasons and
        ``running`` aside). A due droplet that is busy has the key of its ``snapshot``:
        a droplet that turned busy is the same plan."""
        action = "snapshot" if self.action == "pending" and self.snapshot_name else self.action
        return (
            action,
            self.group,
            self.image_id,
            self.droplet_id,
            self.region,
            self.tag,
            self.snapshot_name,
        )

    def to_json(self) -> dict[str, Any]:
        """The entry as the plan document holds it: its fields, those that are ``None``
        left out but ``image_id`` and ``image_name`` (null for a droplet's entry)."""
        return {
            key: value
            for key, value in asdict(self).items()
            if value is not None or key in ("image_id", "image_name")
        }

    @property
    def sign(self) -> str:
        """``+`` snapshot or transfer, ``~`` tag, ``-`` delete; a verdict has none."""
        return CHANGES.get(self.action, " ")

    @property
    def of_droplet(self) -> bool:
        """Whether this is a droplet's entry (``snapshot``, or a droplet ``pending``)."""
        return self.image_id is None


def shape_error(entry: PlanEntry) -> str | None:
    """Why ``entry``'s fields do not fit its action (``None`` when they do): an image's
    entry names an image, a droplet's a droplet and its snapshot's name; a transfer
    names a region, a tag entry a tag, and no other entry either."""
    if (entry.action == "transfer", entry.action == "tag") != (
        entry.region is not None,
        entry.tag is not None,
    ):
        return f"region {entry.region!r} and tag {entry.tag!r}"
    if entry.running is not None and entry.action != "transfer":
        return "a running transfer"
    if entry.of_droplet:
        return _droplet_shape(entry)
    if entry.image_name is None:
        return "no image_name"
    if entry.snapshot_name is not None or entry.droplet_name is not None:
        return "a snapshot_name or droplet_name, which only a droplet's entry has"
    if entry.action == "orphaned" and entry.droplet_id is None:
        return "no droplet_id"
    return "an image" if entry.action == "snapshot" else None


def _droplet_shape(entry: PlanEntry) -> str | None:
    if entry.action not in ("snapshot", "pending"):
        return "no image"
    if entry.droplet_id is None or entry.droplet_name is None or entry.image_name is not None:
        return "no droplet_id and droplet_name, or an image_name"
    if entry.action == "snapshot" and entry.snapshot_name is None:
        return "no snapshot_name"
    return None


def image_entry(
    action: EntryAction, group: GroupRules, image: Image, reason: str, **extra: Any
) -> PlanEntry:
    """An entry about ``image``."""
    if extra.keys() <= {"droplet_id"}:
        return PlanEntry.of_image(action, group.name, image, reason, extra.get("droplet_id"))
    return PlanEntry(action, group.name, image.id, image.name or "", reason, **extra)


def series_entries(
    group: GroupRules,
    members: Sequence[Image],
    now: datetime,
    *,
    droplet_id: int | None = None,
    newest: datetime | None = None,
    kept: EntryAction = "keep",
    prefix: str = "",
) -> list[PlanEntry]:
    """The verdicts on one series: images not ``available`` are ``pending``, those with a
    protect tag ``protected``, an available one without ``created_at`` kept unranked;
    the rest ranked newest first (``created_at``, then the higher id) and thinned by the
    group's policy (``_retention.verdicts``).

    ``newest`` ranks the series as if a snapshot made then were its first (rank 1, age
    0): its deletions wait for that snapshot and say so. ``droplet_id`` is the droplet
    the series is of, ``kept`` the verdict of the images that stay and ``prefix`` what
    each ranked reason begins with.
    """
    name, protect = group.name, group.protect_tags
    entries: list[PlanEntry] = []
    ranked: list[Image] = []
    for image in members:
        status = image.status  # a str enum: "available" as it is, else read case-blind
        available = status == "available" or str(status or "").lower() == "available"
        protected = [tag for tag in protect if tag in (image.tags or [])] if protect else None
        if not available:
            why = f"status {image.status}: neither counted nor deleted"
            entries.append(image_entry("pending", group, image, why, droplet_id=droplet_id))
        elif protected:
            why = f"carries protect tag {protected[0]}"
            entries.append(image_entry("protected", group, image, why, droplet_id=droplet_id))
        elif image.created_at is None:
            why = f"{prefix}no created_at: kept, not ranked"
            entries.append(image_entry(kept, group, image, why, droplet_id=droplet_id))
        else:
            ranked.append(image)
    ranked.sort(key=_NEWEST, reverse=True)
    times = [image.created_at for image in ranked if image.created_at is not None]
    found = verdicts(times if newest is None else [newest, *times], group.policy, now)
    after = f", {AFTER_SNAPSHOT}" if newest is not None else ""
    for image, (delete, reason) in zip(ranked, found[len(found) - len(ranked) :], strict=True):
        action: EntryAction = "delete" if delete else kept
        why = f"{prefix}{reason}{after if delete else ''}" if prefix or after else reason
        entries.append(PlanEntry.of_image(action, name, image, why, droplet_id))
    return entries


_NEWEST = attrgetter("created_at", "id")
"""What a series is ranked by (newest first, so reversed): ``created_at``, then the id,
the higher id the newer of two made in one second."""


__all__ = [
    "AFTER_SNAPSHOT",
    "CHANGES",
    "KEPT",
    "EntryAction",
    "EntryKey",
    "PlanEntry",
    "image_entry",
    "series_entries",
    "shape_error",
]
