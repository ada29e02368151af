"""A fleet apply's metrics file: Prometheus' text format, as node_exporter's textfile
collector reads it, written after every apply (``apply_fleet(..., metrics_file=PATH)``,
``do-images apply --metrics-file PATH``).

``metrics_of(plan, report, previous, now)`` is the mapping, pure: a plan, what its apply
did, the last-success times of the file it replaces, and the time, in; the file's text
out. ``MetricsFile`` checks a path before any request, carries an apply out around it
(``around``), and writes the file atomically (a temporary file in the same directory,
``fsync``, ``os.replace``), success, failure, stale plan or interruption alike.

Per group (a ``group`` label): ``do_images_fleet_last_success_timestamp_seconds`` (when
an apply last did every entry of the group, carried over from the previous file
otherwise; 0 before the first), and, for this run, ``..._snapshots_created`` (snapshots
that completed), ``..._snapshots_deleted`` (images deleted), ``..._snapshots_failed``
(snapshots that failed or were skipped) and ``..._snapshots_pending`` (busy, in progress,
timed out or started by ``--no-wait``). Per droplet a source group selected (``group``,
``droplet_id``, ``droplet_name``): ``do_images_fleet_newest_snapshot_age_seconds``, the
age of its newest available snapshot of the group after the apply, by the ``{time}`` in
its name (the time of the plan that made it, so never younger than it is); ``+Inf`` when
it has none.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._checks import ArgumentError, _literal, type_name
from .._effects import Blocking, Op
from ._fleet_apply import FleetReport
from ._fleet_entry import CHANGES, PlanEntry
from ._fleet_file import SourceGroup
from ._fleet_plan import FleetPlan
from ._fleet_source import DropletDigest
from ._template import TIME_FORMAT

logger = logging.getLogger("do_images")

PREFIX = "do_images_fleet_"
LAST_SUCCESS = f"{PREFIX}last_success_timestamp_seconds"
NEWEST_AGE = f"{PREFIX}newest_snapshot_age_seconds"
COUNTS: dict[str, str] = {
    "created": "Snapshots this apply made that completed.",
    "deleted": "Images this apply deleted.",
    "failed": "Snapshots this apply could not make: failed, or skipped.",
    "pending": "Snapshots waiting: the droplet busy, a snapshot in progress or timed out, "
    "or started by --no-wait.",
}
"""The per-group counts of this run (``do_images_fleet_snapshots_<name>``), with their
help."""
HELP: dict[str, str] = {
    LAST_SUCCESS: "When an apply last did every entry of the group (Unix time; 0: never).",
    **{f"{PREFIX}snapshots_{name}": text for name, text in COUNTS.items()},
    NEWEST_AGE: "Age of the droplet's newest available snapshot of the group, in seconds "
    "(+Inf: none).",
}
"""Every metric the file has, in the order it is written, with its ``# HELP``."""
WAITING = frozenset({"pending", "started"})
"""The outcomes of a droplet's snapshot that count as pending (busy, in progress, timed
out, or started by ``--no-wait`` and not awaited)."""
FAILING = frozenset({"failed", "skipped"})
"""The outcomes of a droplet's snapshot that count as failed."""


# ------------------------------------------------------------------ the text format


def escape_label(value: str) -> str:
    """A label value as the text format writes it: ``\\``, ``"`` and new lines escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _unescape_label(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], value)


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _sample(name: str, labels: Mapping[str, str], value: float) -> str:
    pairs = ",".join(f'{key}="{escape_label(text)}"' for key, text in labels.items())
    return f"{name}{{{pairs}}} {_number(value)}"


_SAMPLE = re.compile(
    rf'^{LAST_SUCCESS}\{{group="(?P<group>(?:[^"\\]|\\.)*)"\}}\s+(?P<value>\S+)\s*$'
)


def read_previous(text: str) -> dict[str, float]:
    """The last-success time of each group in a previous file's ``text``; a line that is
    not such a sample, or whose value is no finite number, is passed over."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line.strip())
        if match is None:
            continue
        try:
            value = float(match["value"])
        except ValueError:
            continue
        if math.isfinite(value) and value >= 0:
            found[_unescape_label(match["group"])] = value
    return found


# ------------------------------------------------------------------ the mapping


@dataclass
class _Group:
    """One group's numbers for this run."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    done: bool = True
    """Whether every entry of the group (each change and each droplet's turn) is done."""


def _droplet_state(entry: PlanEntry, outcome: str | None) -> str | None:
    """What became of a droplet's turn: its result's outcome, or ``pending`` for a due
    droplet the plan already found busy (``None``: nothing)."""
    if outcome is not None:
        return outcome
    if entry.action == "pending" and entry.snapshot_name:
        return "pending"
    return None


def _tally(group: _Group, entry: PlanEntry, outcome: str | None) -> None:
    """Count one entry of the group, and whether it leaves the group not done."""
    if entry.of_droplet:
        state = _droplet_state(entry, outcome)
        if state == "done" and entry.action == "snapshot":
            group.counts["created"] += 1
        elif state in FAILING:
            group.counts["failed"] += 1
        elif state in WAITING:
            group.counts["pending"] += 1
        group.done = group.done and state == "done"
        return
    if entry.action == "delete" and outcome == "done":
        group.counts["deleted"] += 1
    if entry.action in CHANGES:
        group.done = group.done and outcome == "done"


def _snapshot_time(group: SourceGroup, name: str | None) -> datetime | None:
    """When a snapshot of ``group`` named ``name`` was made, as its name's ``{time}`` says
    (the time of the plan that made it, UTC); ``None`` for a name that is not the
    group's."""
    found = group.pattern.fullmatch(name or "")
    if found is None:
        return None
    try:
        return datetime.strptime(found["time"], TIME_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:  # digits that are no time, such as a 13th month
        return None


def _newest(
    group: SourceGroup, entries: Sequence[PlanEntry], outcomes: Mapping[PlanEntry, str]
) -> dict[int, datetime | None]:
    """Each source droplet's newest available snapshot of ``group`` after the apply: the
    kept ones, the deletions not done, and this run's if it completed."""
    newest: dict[int, datetime | None] = {}
    for entry in entries:
        if entry.droplet_id is None:
            continue
        newest.setdefault(entry.droplet_id, None)
        stays = entry.action in ("keep", "protected", "orphaned") or (
            entry.action == "delete" and outcomes.get(entry) != "done"
        )
        if entry.of_droplet:
            made = entry.action == "snapshot" and outcomes.get(entry) == "done"
            when = _snapshot_time(group, entry.snapshot_name) if made else None
        else:
            when = _snapshot_time(group, entry.image_name) if stays else None
        seen = newest[entry.droplet_id]
        if when is not None and (seen is None or when > seen):
            newest[entry.droplet_id] = when
    return newest


def _selects(group: SourceGroup, droplet_id: int, seen: DropletDigest) -> bool:
    """Whether the plan saw ``droplet_id`` as a source of ``group``: it carried the group's
    ``droplet_tag`` (tags match whatever their case, as the API's do), or is one of its
    ``droplet_ids``."""
    tag = group.source.droplet_tag
    if tag is None:
        return droplet_id in group.source.droplet_ids
    return tag.casefold() in {other.casefold() for other in seen["tags"]}


def metrics_of(
    plan: FleetPlan,
    results: FleetReport | Iterable[Any],
    previous: Mapping[str, float],
    now: datetime,
    *,
    finished: bool = True,
) -> str:
    """The metrics file's text for an apply of ``plan``.

    ``results`` are what the apply told of its entries (its ``FleetReport``, or the
    ``EntryResult``s told so far: each an ``entry`` and an ``outcome``), ``previous``
    the last-success time of each group in the file replaced
    (``read_previous``), ``now`` the time of writing (aware). A group's last success is
    ``now`` when the apply ``finished`` and every entry of the group is done: each change
    (snapshot, transfer, tag, deletion) and each due droplet's turn (a droplet
    ``pending`` is not done); otherwise it is carried over (0 when there is none).
    """
    told = results.results if isinstance(results, FleetReport) else results
    outcomes: dict[PlanEntry, str] = {result.entry: str(result.outcome) for result in told}
    groups = {group.name: _Group() for group in plan.fleet.groups}
    for entry in plan.entries:
        if entry.group in groups:
            _tally(groups[entry.group], entry, outcomes.get(entry))
    stamp = now.timestamp()
    lines: dict[str, list[str]] = {name: [] for name in HELP}
    for name, numbers in groups.items():
        label = {"group": name}
        success = stamp if finished and numbers.done else previous.get(name, 0.0)
        lines[LAST_SUCCESS].append(_sample(LAST_SUCCESS, label, success))
        for count, value in numbers.counts.items():
            metric = f"{PREFIX}snapshots_{count}"
            lines[metric].append(_sample(metric, label, value))
    for group in plan.fleet.sources:
        mine = [entry for entry in plan.entries if entry.group == group.name]
        for droplet_id, when in sorted(_newest(group, mine, outcomes).items()):
            seen = plan.droplets.get(droplet_id)
            if seen is None or not _selects(group, droplet_id, seen):
                continue  # no longer a source of the group: its snapshots are orphans
            age = math.inf if when is None else max(0.0, (now - when).total_seconds())
            labels = {"group": group.name, "droplet_id": str(droplet_id)}
            labels["droplet_name"] = seen["name"]
            lines[NEWEST_AGE].append(_sample(NEWEST_AGE, labels, age))
    text: list[str] = []
    for name, samples in lines.items():
        if samples:
            help_text = HELP[name].replace("\\", "\\\\").replace("\n", "\\n")
            text += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples]
    return "\n".join(text) + "\n"


# ------------------------------------------------------------------ the file


def _write_atomically(path: Path, text: str) -> None:
    """``text`` to ``path``: a temporary file beside it (not ``*.prom``, so a collector
    reading the directory never sees it half written), ``fsync``, then ``os.replace``."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # a collector running as another user reads it
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform without directory handles
        return
    try:
        os.fsync(handle)
    except OSError:  # pragma: no cover - a file system that cannot
        pass
    finally:
        os.close(handle)


@dataclass
class MetricsFile:
    """Where an apply's metrics go, checked writable (``MetricsFile.at``), and what the
    apply told so far (``collect``)."""

    path: Path
    results: list[Any] = field(default_factory=list)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    """The time the file is written at (the machine's clock, as Prometheus reads it)."""

    @classmethod
    def at(cls, path: object) -> MetricsFile:
        """``path`` checked before any request: its directory exists and takes a new
        file, and it is not a directory itself.

        :raises ValueError: it cannot be written, saying why (an ``ArgumentError`` that
            names ``metrics_file``).
        :raises TypeError: it is not a path.
        """
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise TypeError(f"metrics_file must be a path, not {type_name(path)}")
        where = Path(os.path.abspath(os.fspath(path)))
        named = {"path": ("metrics_file", None)}  # the command line says --metrics-file
        shown = _literal(str(where))
        if where.is_dir():
            raise ArgumentError(f"{{path}} {shown} is a directory: name a file in it", **named)
        if not where.parent.is_dir():
            parent = _literal(str(where.parent))
            raise ArgumentError(f"{{path}} {shown}: its directory {parent} does not exist", **named)
        try:  # the one sure test, root or not: make a file there, then remove it
            handle, probe = tempfile.mkstemp(dir=where.parent, prefix=f".{where.name}.")
            os.close(handle)
            os.unlink(probe)
        except OSError as exc:
            why = _literal(str(exc.strerror or exc))
            raise ArgumentError(f"{{path}} {shown} cannot be written: {why}", **named) from None
        return cls(where)

    def collect(self, on_result: Callable[[Any], object] | None) -> Callable[[Any], None]:
        """An ``on_result`` that keeps each result for the file, then calls ``on_result``."""

        def tell(result: Any) -> None:
            self.results.append(result)
            if on_result is not None:
                on_result(result)

        return tell

    def previous(self) -> dict[str, float]:
        """The last-success times of the file there now (none if it is missing,
        unreadable or garbled)."""
        try:
            return read_previous(self.path.read_text("utf-8", errors="replace"))
        except (OSError, ValueError):
            return {}

    def write(self, plan: FleetPlan, results: Iterable[Any], *, finished: bool) -> None:
        """The file for an apply of ``plan`` that told ``results``."""
        text = metrics_of(plan, results, self.previous(), self.clock(), finished=finished)
        _write_atomically(self.path, text)

    def _write_unfinished(self, plan: FleetPlan) -> None:
        """The file for an apply that did not finish; a failure to write is logged, not
        raised over the apply's own error."""
        try:
            self.write(plan, self.results, finished=False)
        except Exception as exc:
            logger.warning("could not write the metrics file %s: %s", self.path, exc)

    def around(self, plan: object, apply: Op[FleetReport]) -> Op[FleetReport]:
        """``apply`` (an ``apply_fleet`` operation told to ``collect``), then the file:
        after its report, or after whatever it raised (a stale plan, a failure, an
        interruption), which is then raised again. A write that fails after a failure is
        logged, not raised over it."""
        try:
            report = yield from apply
        except GeneratorExit:  # closed unfinished (its loop stopped): write, yield nothing
            if isinstance(plan, FleetPlan):
                self._write_unfinished(plan)
            raise
        except BaseException:
            if isinstance(plan, FleetPlan):
                yield Blocking(lambda: self._write_unfinished(plan))
            raise
        assert isinstance(plan, FleetPlan)  # the apply checked it
        yield Blocking(lambda: self.write(plan, report.results, finished=True))
        return report


__all__ = [
    "COUNTS",
    "HELP",
    "LAST_SUCCESS",
    "NEWEST_AGE",
    "MetricsFile",
    "escape_label",
    "metrics_of",
    "read_previous",
]
