"""What the ``do-images`` command line prints: tables, key/value views, JSON, progress.

Results go to stdout, messages and progress to stderr. Nothing here talks to the API.
Every string from the API is made printable (``_text``) before it is shown;
``--json`` output is exact.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TextIO, TypeVar

from .._constants import DEFAULT_BASE_URL
from ._text import fit, pad, printable, shorten, width

if TYPE_CHECKING:
    from .._lifecycle import PrunePlan
    from .._models import Action, Image

T = TypeVar("T")


# ---------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column a table can show: its header, how a cell is made, how it is laid out."""

    header: str
    cell: Callable[[T], str]
    right: bool = False
    shrink: int = 0
    """0: never cut (ids, sizes, dates); else cut (with ``…``) to fit the terminal, the
    columns of level 1 first, then those of level 2, and so on."""
    aliases: tuple[str, ...] = ()
    """Other names ``--format`` accepts (doctl's, say ``MinDisk``)."""


def _key(name: str) -> str:
    # Column names are matched without case, spaces, '_' or '-': ``created_at``,
    # ``CreatedAt`` and ``Created-At`` are one name.
    return "".join(char for char in name.lower() if char not in " _-")


class Columns(Generic[T]):
    """The columns of one kind of object, by field name, and the ones shown by default."""

    def __init__(self, kind: str, columns: Mapping[str, Column[T]], default: Sequence[str]) -> None:
        self.kind = kind
        self.columns = dict(columns)
        self.default = [self.columns[name] for name in default]
        self._lookup = {
            _key(alias): column
            for name, column in self.columns.items()
            for alias in (name, column.header, *column.aliases)
        }

    def parse(self, text: str) -> list[Column[T]]:
        """``--format ID,Name,Slug``: the columns named, in order; unknown names refused."""
        chosen: list[Column[T]] = []
        for name in text.split(","):
            column = self._lookup.get(_key(name))
            if column is None:
                what = "an empty name" if not name.strip() else shorten(name.strip(), 40)
                raise ValueError(
                    f"{what} is not a column of {self.kind}s; "
                    f"the columns are: {', '.join(self.columns)}"
                )
            chosen.append(column)
        return chosen


def _value(value: object) -> str:
    """A JSON value as a person reads it in a key/value view."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value) if value else "-"
    if isinstance(value, dict):
        if isinstance(value.get("slug"), str) and isinstance(value.get("name"), str):
            return f"{value['slug']} ({value['name']})"  # an action's region object
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _text(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def _when(value: datetime | None, *, time: bool) -> str:
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d %H:%M" if time else "%Y-%m-%d")


def _regions(regions: Sequence[str] | None, shown: int = 3) -> str:
    # Public images are in a dozen regions; the table shows a few and counts the rest.
    if not regions:
        return "-"
    more = len(regions) - shown
    return ",".join(regions[:shown]) + (f" +{more}" if more > 0 else "")


def _size(image: Image) -> str:
    return "-" if image.size_gigabytes is None else f"{image.size_gigabytes:g} GB"


def _region_of(action: Action) -> str:
    return _text(action.region_slug or (action.region.slug if action.region else None))


IMAGE_COLUMNS: Columns[Image] = Columns(
    "image",
    {
        "id": Column("ID", lambda i: str(i.id), right=True),
        "name": Column("NAME", lambda i: _text(i.name), shrink=3),
        "type": Column("TYPE", lambda i: _text(i.type)),
        "distribution": Column("DISTRIBUTION", lambda i: _text(i.distribution), shrink=1),
        "slug": Column("SLUG", lambda i: _text(i.slug), shrink=3),
        "status": Column("STATUS", lambda i: _text(i.status)),
        "public": Column("PUBLIC", lambda i: _value(i.public)),
        "regions": Column("REGIONS", lambda i: _regions(i.regions), shrink=1),
        "size_gigabytes": Column("SIZE", _size, right=True),
        "min_disk_size": Column(
            "MIN DISK", lambda i: _value(i.min_disk_size), right=True, aliases=("mindisk",)
        ),
        "created_at": Column("CREATED", lambda i: _when(i.created_at, time=False)),
        "description": Column("DESCRIPTION", lambda i: _text(i.description), shrink=1),
        "tags": Column("TAGS", lambda i: _value(i.tags), shrink=1),
        "error_message": Column("ERROR", lambda i: _text(i.error_message), shrink=2),
    },
    (
        "id",
        "name",
        "type",
        "distribution",
        "slug",
        "status",
        "regions",
        "size_gigabytes",
        "created_at",
    ),
)
"""Every field of an image, by its field name; ``list`` shows the default ones."""

ACTION_COLUMNS: Columns[Action] = Columns(
    "action",
    {
        "id": Column("ID", lambda a: str(a.id), right=True),
        "type": Column("TYPE", lambda a: _text(a.type)),
        "status": Column("STATUS", lambda a: _text(a.status)),
        "region": Column("REGION", _region_of, aliases=("region_slug",)),
        "started_at": Column("STARTED", lambda a: _when(a.started_at, time=True)),
        "completed_at": Column("COMPLETED", lambda a: _when(a.completed_at, time=True)),
        "resource_id": Column("RESOURCE ID", lambda a: _value(a.resource_id), right=True),
        "resource_type": Column("RESOURCE TYPE", lambda a: _text(a.resource_type)),
    },
    ("id", "type", "status", "region", "started_at", "completed_at"),
)
"""Every field of an action (``region`` is the slug of either region field)."""


def fit_widths(
    widths: list[int], floors: list[int], shrink: Mapping[int, int], columns: int
) -> list[int]:
    """Column widths that fit ``columns`` terminal columns with two-space gaps.

    ``shrink`` maps the columns that may be cut to their level: the widest column of
    the lowest level loses a column at a time, none below its floor; then the next
    level. If the floors alone do not fit, the caller cuts each line at the edge.
    """
    widths = [min(size, columns) if i in shrink else size for i, size in enumerate(widths)]
    excess = sum(widths) + 2 * (len(widths) - 1) - columns
    for level in sorted(set(shrink.values())):
        while excess > 0:
            candidates = [i for i, n in shrink.items() if n == level and widths[i] > floors[i]]
            if not candidates:
                break
            widest = max(candidates, key=lambda i: (widths[i], -i))
            widths[widest] -= 1
            excess -= 1
    return widths


def terminal_columns(stream: TextIO, environ: Mapping[str, str]) -> int | None:
    """The width of the terminal ``stream`` is, or ``None`` when it is no terminal.

    ``$COLUMNS`` wins when set (as ``ls`` does); asked each time, so a resized
    window is followed.
    """
    if not isatty(stream):
        return None
    value = environ.get("COLUMNS", "")
    if value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        return 80


# ----------------------------------------------------------------------- output


class Output:
    """Where results (stdout) and messages (stderr) go, and in which form.

    ``columns`` is the ``--format`` choice (``None``: the default columns), ``header``
    false drops table headers (``--no-header``), and ``width(stream)`` gives the
    columns of the terminal a stream is, or ``None`` when it is no terminal (then
    nothing is cut: a script reading a pipe gets whole values).
    """

    def __init__(
        self,
        stdout: TextIO,
        stderr: TextIO,
        *,
        as_json: bool,
        columns: Sequence[Column[Any]] | None = None,
        header: bool = True,
        width: Callable[[TextIO], int | None] = lambda stream: None,
    ) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.as_json = as_json
        self.columns = columns
        self.header = header
        self.width = width

    def line(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def note(self, text: str) -> None:
        """A message on stderr, made printable."""
        self.stderr.write(printable(text) + "\n")
        self.stderr.flush()

    def json(self, value: object) -> None:
        self.line(json.dumps(value, indent=2, ensure_ascii=False))

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        right: set[int],
        shrink: Mapping[int, int] | None = None,
    ) -> None:
        """Rows under headers, aligned, every cell made printable; on a terminal the
        ``shrink`` columns are cut with ``…`` so that each line fits."""
        body = [[printable(cell) for cell in row] for row in rows]
        lines = [list(headers), *body] if self.header else body
        widths = [0] * len(headers)
        for row in lines:
            widths = [max(size, width(cell)) for size, cell in zip(widths, row, strict=True)]
        columns = self.width(self.stdout)
        if columns is not None:
            # A cut column keeps its header and at least 8 columns: "ubuntu-…" still
            # says something, "u…" does not.
            floors = [max(len(header) if self.header else 1, 8) for header in headers]
            widths = fit_widths(widths, floors, shrink or {}, columns)
        for row in lines:
            parts = [
                pad(fit(cell, size), size, right=index in right)
                for index, (cell, size) in enumerate(zip(row, widths, strict=True))
            ]
            text = "  ".join(parts).rstrip()
            self.line(text if columns is None else fit(text, columns))

    def record(self, data: Mapping[str, Any]) -> None:
        """A key/value view: every value whole (only made printable), one per line."""
        size = max((len(key) for key in data), default=0)
        for key, value in data.items():
            self.line(f"{key:<{size}}  {printable(_value(value))}")

    def _objects(self, objects: Sequence[Any], kind: Columns[Any], empty: str) -> None:
        if self.as_json:
            self.json([item.model_dump() for item in objects])
        elif not objects:
            self.note(empty)
        else:
            chosen = self.columns or kind.default
            self.table(
                [column.header for column in chosen],
                [[column.cell(item) for column in chosen] for item in objects],
                right={index for index, column in enumerate(chosen) if column.right},
                shrink={
                    index: column.shrink for index, column in enumerate(chosen) if column.shrink
                },
            )

    def images(self, images: Sequence[Image]) -> None:
        self._objects(images, IMAGE_COLUMNS, "no images")

    def actions(self, actions: Sequence[Action]) -> None:
        self._objects(actions, ACTION_COLUMNS, "no actions")

    def plan(self, plan: PrunePlan) -> None:
        """A prune plan: what stays, what goes, and why."""
        if self.as_json:
            self.json(
                {
                    "keep": [image.model_dump() for image in plan.keep],
                    "delete": [image.model_dump() for image in plan.delete],
                    "reasons": {str(key): why for key, why in plan.reasons.items()},
                }
            )
            return
        rows = [
            [
                str(image.id),
                _text(image.name),
                _when(image.created_at, time=False),
                verdict,
                plan.reasons.get(image.id, ""),
            ]
            for verdict, images in (("delete", plan.delete), ("keep", plan.keep))
            for image in images
        ]
        if not rows:
            self.note("no images match")
            return
        self.table(("ID", "NAME", "CREATED", "PLAN", "WHY"), rows, right={0}, shrink={1: 2, 4: 1})

    def one(self, model: Image | Action) -> None:
        """One object: a key/value view, or a one-row table when columns were chosen
        (``--format`` or ``--no-header``, as doctl does)."""
        if self.as_json:
            self.json(model.model_dump())
        elif self.columns is not None or not self.header:
            from .._models import Image

            kind: Columns[Any] = IMAGE_COLUMNS if isinstance(model, Image) else ACTION_COLUMNS
            self._objects([model], kind, "")
        else:
            self.record(model.model_dump())


# ---------------------------------------------------------------------- waiting


def describe(action: Action) -> str:
    return f"{action.type} {action.id} on image {action.resource_id}"


class _StatusLines:
    """Status lines on stderr with the time elapsed: rewritten in place on a terminal (each
    cut to one column less than its width, so none wraps and ``\r`` rewinds exactly
    one row), a line per change otherwise."""

    def __init__(
        self,
        stream: TextIO,
        clock: Callable[[], float],
        columns: Callable[[TextIO], int | None] = lambda stream: None,
    ) -> None:
        self.stream = stream
        self.clock = clock
        self.columns = columns
        self.start = clock()
        self.live = isatty(stream)
        self.lines: dict[str, str] = {}
        """The live lines by key (a region), in the order they appeared."""

    def _text(self, what: str) -> str:
        return printable(f"{what}, {self.clock() - self.start:.0f} s")

    def _fitted(self, text: str) -> str:
        return fit(text, max((self.columns(self.stream) or 80) - 1, 1))


class Progress(_StatusLines):
    """Reports an awaited action or import: one live line on a terminal, else a line a poll."""

    shown = 0
    """Columns the live line takes now (the next one is padded over it)."""
    last: Action | None = None
    """The last action shown."""

    def update(self, action: Action) -> None:
        self.last = action
        self.show(f"{describe(action)}: {action.status}")

    def show(self, what: str) -> None:
        """Show ``what`` with the time elapsed: rewritten in place on a terminal."""
        text = self._text(what)
        if self.live:
            text = self._fitted(text)
            self.stream.write("\r" + pad(text, self.shown))
            self.shown = width(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.live and self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = 0


class RegionBoard(_StatusLines):
    """Transfers to several regions: on a terminal one line per region, rewritten in place
    as each changes; otherwise a line per change."""

    def update(self, action: Action) -> None:
        region = action.region_slug or (action.region.slug if action.region else "?")
        text = self._text(f"{describe(action)} to {region}: {action.status}")
        if not self.live:
            self.stream.write(text + "\n")
        else:
            if self.lines:
                # Back to the first region's line, then rewrite every line.
                self.stream.write(f"\x1b[{len(self.lines)}A")
            self.lines[region] = text
            for line in self.lines.values():
                self.stream.write("\r\x1b[2K" + self._fitted(line) + "\n")
        self.stream.flush()

    def end(self) -> None:
        self.stream.flush()


def isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


def again(args: argparse.Namespace, command: str) -> str:
    """``do-images [--base-url URL] COMMAND``: a command to paste that reaches the same API
    (``--sandbox --state PATH`` for a sandbox kept in a file)."""
    where = ""
    state = getattr(args, "state", None)
    if getattr(args, "sandbox", False):
        # Without a state file the next command's sandbox starts afresh, but the hint
        # must still never send a sandbox's ids to the real API.
        where = f" --sandbox --state {shlex.quote(state)}" if state else " --sandbox"
    elif args.base_url != DEFAULT_BASE_URL:
        where = f" --base-url {shlex.quote(args.base_url)}"
    return f"do-images{where} {command}"
