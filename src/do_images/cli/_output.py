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
from typing import TYPE_CHECKING, Any, TextIO, TypeAlias

from .._constants import DEFAULT_BASE_URL
from ._table import (
    ACTION_COLUMNS,
    IMAGE_COLUMNS,
    Column,
    Columns,
    Layout,
    lay_out,
    value_text,
    when,
)
from ._table import (
    text as cell_text,
)
from ._text import fit, pad, printable, width

if TYPE_CHECKING:
    from .._lifecycle import PrunePlan
    from .._models import Action, Image

__all__ = ["ACTION_COLUMNS", "IMAGE_COLUMNS", "Output", "Progress", "RegionBoard", "again"]

_PlanRow: TypeAlias = tuple[str, "Image", str]
"""A prune plan's row: the verdict, the image, why."""

_PLAN_COLUMNS: list[Column[_PlanRow]] = [
    Column("ID", lambda row: str(row[1].id), right=True),
    Column("NAME", lambda row: cell_text(row[1].name), shrink=2),
    Column("CREATED", lambda row: when(row[1].created_at, time=False)),
    Column("PLAN", lambda row: row[0]),
    Column("WHY", lambda row: row[2], shrink=1),
]


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
        self, columns: Sequence[Column[Any]], rows: Sequence[Sequence[str]], *, fitted: bool = True
    ) -> None:
        """Rows under the columns' headers, aligned, every cell made printable.

        On a terminal the table is laid out to fit its width (``lay_out``: cut with
        ``…``, columns hidden, named on stderr); off a terminal, or unless ``fitted``
        (the columns ``--format`` named), every value is printed whole.
        """
        body = [[printable(cell) for cell in row] for row in rows]
        lines = [[column.header for column in columns], *body] if self.header else body
        natural = [max(width(line[i]) for line in lines) for i in range(len(columns))]
        terminal = self.width(self.stdout) if fitted else None
        if terminal is None:
            layout = Layout(list(range(len(columns))), natural, [])
        else:
            empty = {i for i in range(len(columns)) if all(row[i] == "-" for row in body)}
            layout = lay_out(columns, natural, empty, terminal)
        for line in lines:
            parts = [
                pad(columns[i].cut(line[i], size), size, right=columns[i].right)
                for i, size in zip(layout.shown, layout.widths, strict=True)
            ]
            joined = "  ".join(parts).rstrip()
            self.line(joined if terminal is None else fit(joined, terminal))
        if layout.hidden:
            names = ", ".join(columns[i].header for i in layout.hidden)
            them = "them" if len(layout.hidden) > 1 else "it"
            self.note(f"{names} hidden to fit {terminal} columns; --format brings {them} back")

    def record(self, data: Mapping[str, Any]) -> None:
        """A key/value view: every value whole (only made printable), one per line."""
        size = max((len(key) for key in data), default=0)
        for key, value in data.items():
            self.line(f"{key:<{size}}  {printable(value_text(value))}")

    def _objects(self, objects: Sequence[Any], kind: Columns[Any], empty: str) -> None:
        if self.as_json:
            self.json([item.model_dump() for item in objects])
        elif not objects:
            self.note(empty)
        else:
            chosen = self.columns or kind.default
            rows = [[column.cell(item) for column in chosen] for item in objects]
            self.table(chosen, rows, fitted=self.columns is None)

    def listing(self, objects: Sequence[Any], kind: Columns[Any], empty: str) -> None:
        """Objects of ``kind`` as a table (``--format``'s columns, else its default), or
        ``--json``'s array; ``empty`` said on stderr when there are none."""
        self._objects(objects, kind, empty)

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
        rows: list[_PlanRow] = [
            (verdict, image, plan.reasons.get(image.id, ""))
            for verdict, images in (("delete", plan.delete), ("keep", plan.keep))
            for image in images
        ]
        if not rows:
            self.note("no images match")
            return
        self.table(_PLAN_COLUMNS, [[column.cell(row) for column in _PLAN_COLUMNS] for row in rows])

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


def region_of(action: Action) -> str | None:
    """The region an action runs in (for a transfer, its target), if it says."""
    return action.region_slug or (action.region.slug if action.region else None)


def describe(action: Action) -> str:
    """``transfer 2060000003 on image 180040001 to sfo3`` (a convert names no region),
    ``snapshot 2060000004 on droplet 3164494``."""
    region = region_of(action) if action.type == "transfer" else None
    kind = action.resource_type or "image"
    return f"{action.type} {action.id} on {kind} {action.resource_id}" + (
        f" to {region}" if region else ""
    )


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
    """Transfers to several regions: on a terminal one line per region, each rewritten in
    place (status and time elapsed) whenever it is reported; otherwise a line per change."""

    def __init__(
        self,
        stream: TextIO,
        clock: Callable[[], float],
        columns: Callable[[TextIO], int | None] = lambda stream: None,
    ) -> None:
        super().__init__(stream, clock, columns)
        self.actions: dict[str, Action] = {}
        """The last state of each action reported, by region, in the order they started."""

    def update(self, action: Action) -> None:
        region = region_of(action) or "?"
        before = self.actions.get(region)
        self.actions[region] = action
        text = self._text(f"{describe(action)}: {action.status}")
        if not self.live:
            if before is None or before.status != action.status:
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
    state = getattr(args, "state", None)
    if getattr(args, "sandbox", False) and not state:
        # The next command's sandbox starts afresh: say so, and how to keep one; the hint
        # must still never send a sandbox's ids to the real API.
        return (
            f"do-images --sandbox {command}, on a sandbox kept with --state FILE (this one is gone)"
        )
    where = ""
    if state:
        where = f" --sandbox --state {shlex.quote(state)}"
    elif args.base_url != DEFAULT_BASE_URL:
        where = f" --base-url {shlex.quote(args.base_url)}"
    return f"do-images{where} {command}"
