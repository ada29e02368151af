"""Tables that fit a terminal without losing what people copy.

``Column`` says what a column shows and how it may give way when the terminal is narrow;
``IMAGE_COLUMNS`` and ``ACTION_COLUMNS`` are every field of an image and of an action as
a column. ``lay_out`` decides, for one table and one terminal width, which columns are
shown and how wide: a column empty in every row goes first, then the free-text columns
shrink (cut with ``…``), then, if the columns that are never cut still need the room, the
low-value columns are hidden (the caller says so on stderr). Ids, dates, sizes, statuses
and slugs are never cut. Off a terminal, and for the columns ``--format`` names, none of
this happens: every value is printed whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from ._text import fit
from ._text import width as text_width

if TYPE_CHECKING:
    from .._models import Action, Image

T = TypeVar("T")

FLOOR = 8
"""A cut column keeps at least this many terminal columns: "ubuntu-…" still says
something, "u…" does not."""


class Column(Generic[T]):
    """One column a table can show: its header, how a cell is made (the whole value, as
    a pipe gets it), and how it gives way.

    ``shrink``: 0, never cut (ids, sizes, dates, statuses, slugs); else cut to fit the
    terminal, the columns of level 1 first, then those of level 2, and so on.
    ``aliases``: other names ``--format`` accepts (doctl's, say ``MinDisk``). ``hide``:
    0, always shown; else hidden, level 1 first, when the columns that are never cut
    need its room (the table then says so, and ``--format`` brings it back). ``cut``:
    how a cell is cut to a width (default: the text, ending in ``…``).

    A plain class, not a dataclass: the command line makes its columns at start-up.
    """

    __slots__ = ("aliases", "cell", "cut", "header", "hide", "right", "shrink")

    def __init__(
        self,
        header: str,
        cell: Callable[[T], str],
        *,
        right: bool = False,
        shrink: int = 0,
        aliases: tuple[str, ...] = (),
        hide: int = 0,
        cut: Callable[[str, int], str] = fit,
    ) -> None:
        self.header = header
        self.cell = cell
        self.right = right
        self.shrink = shrink
        self.aliases = aliases
        self.hide = hide
        self.cut = cut


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
        from ._text import shorten

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


# ----------------------------------------------------------------- the layout


class Layout(NamedTuple):
    """Which columns a table shows (by index, in order) and how wide each is."""

    shown: list[int]
    widths: list[int]
    """The width of each shown column, in the order of ``shown``."""
    hidden: list[int]
    """The columns hidden to make room (not the empty ones): the table names them."""

    def width(self) -> int:
        """The terminal columns a line takes, two spaces between cells."""
        return sum(self.widths) + 2 * max(len(self.widths) - 1, 0)


def fit_widths(
    widths: list[int], floors: list[int], shrink: Mapping[int, int], columns: int
) -> list[int]:
    """Column widths that fit ``columns`` terminal columns with two-space gaps.

    ``shrink`` maps the columns that may be cut to their level: the widest column of
    the lowest level loses a column at a time, none below its floor; then the next
    level. If the floors alone do not fit, the result is wider than ``columns``.
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


def lay_out(
    columns: Sequence[Column[Any]], natural: Sequence[int], empty: set[int], width: int
) -> Layout:
    """The layout of a table whose columns are ``natural`` wide, on ``width`` columns.

    In this order, each only if the table does not fit yet: the columns in ``empty``
    (``-`` in every row) go; the columns that may shrink are cut, lowest level first,
    none below ``FLOOR``; the columns that may hide go, lowest level first, one at a
    time. If even that does not fit, the result is wider than ``width`` (the caller
    cuts each line at the edge).
    """
    shown = list(range(len(columns)))
    whole = Layout(shown, list(natural), [])
    if whole.width() <= width:
        return whole
    shown = [i for i in shown if i not in empty] or shown
    layout = _fitted(columns, natural, shown, width)
    hideable = sorted((i for i in shown if columns[i].hide), key=lambda i: (columns[i].hide, i))
    hidden: list[int] = []
    for index in hideable:
        if layout.width() <= width:
            break
        hidden.append(index)
        layout = _fitted(columns, natural, [i for i in shown if i not in hidden], width)
    return Layout(layout.shown, layout.widths, hidden)


def _fitted(
    columns: Sequence[Column[Any]], natural: Sequence[int], shown: list[int], width: int
) -> Layout:
    widths = [natural[i] for i in shown]
    floors = [min(FLOOR, size) for size in widths]
    shrink = {at: columns[i].shrink for at, i in enumerate(shown) if columns[i].shrink}
    return Layout(shown, fit_widths(widths, floors, shrink, width), [])


# --------------------------------------------------------------------- cells


def value_text(value: object) -> str:
    """A JSON value as a person reads it in a key/value view."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(value_text(item) for item in value) if value else "-"
    if isinstance(value, dict):
        if isinstance(value.get("slug"), str) and isinstance(value.get("name"), str):
            return f"{value['slug']} ({value['name']})"  # an action's region object
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def text(value: object) -> str:
    """A cell's text: ``-`` for nothing."""
    return "-" if value is None or value == "" else str(value)


def when(value: datetime | None, *, time: bool) -> str:
    """A date (with ``time``, and the minute) as a cell."""
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d %H:%M" if time else "%Y-%m-%d")


def _regions(regions: Sequence[str] | None) -> str:
    return ",".join(regions) if regions else "-"


def cut_regions(cell: str, width: int) -> str:
    """``nyc1,nyc3,sfo2 +8``: as many whole regions as fit ``width``, and how many more."""
    if text_width(cell) <= width or "," not in cell:
        return fit(cell, width)
    regions = cell.split(",")
    for shown in range(len(regions) - 1, 0, -1):
        short = f"{','.join(regions[:shown])} +{len(regions) - shown}"
        if text_width(short) <= width:
            return short
    return fit(cell, width)


def _size(image: Image) -> str:
    return "-" if image.size_gigabytes is None else f"{image.size_gigabytes:g} GB"


def _region_of(action: Action) -> str:
    return text(action.region_slug or (action.region.slug if action.region else None))


IMAGE_COLUMNS: Columns[Image] = Columns(
    "image",
    {
        "id": Column("ID", lambda i: str(i.id), right=True),
        "name": Column("NAME", lambda i: text(i.name), shrink=3),
        "type": Column("TYPE", lambda i: text(i.type), hide=3),
        "distribution": Column("DISTRIBUTION", lambda i: text(i.distribution), shrink=1, hide=1),
        "slug": Column("SLUG", lambda i: text(i.slug)),
        "status": Column("STATUS", lambda i: text(i.status)),
        "public": Column("PUBLIC", lambda i: value_text(i.public)),
        "regions": Column(
            "REGIONS", lambda i: _regions(i.regions), shrink=1, hide=2, cut=cut_regions
        ),
        "size_gigabytes": Column("SIZE", _size, right=True),
        "min_disk_size": Column(
            "MIN DISK", lambda i: value_text(i.min_disk_size), right=True, aliases=("mindisk",)
        ),
        "created_at": Column("CREATED", lambda i: when(i.created_at, time=False)),
        "description": Column("DESCRIPTION", lambda i: text(i.description), shrink=1),
        "tags": Column("TAGS", lambda i: value_text(i.tags), shrink=1),
        "error_message": Column("ERROR", lambda i: text(i.error_message), shrink=2),
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
        "type": Column("TYPE", lambda a: text(a.type)),
        "status": Column("STATUS", lambda a: text(a.status)),
        "region": Column("REGION", _region_of, aliases=("region_slug",)),
        "started_at": Column("STARTED", lambda a: when(a.started_at, time=True)),
        "completed_at": Column("COMPLETED", lambda a: when(a.completed_at, time=True)),
        "resource_id": Column("RESOURCE ID", lambda a: value_text(a.resource_id), right=True),
        "resource_type": Column("RESOURCE TYPE", lambda a: text(a.resource_type)),
    },
    ("id", "type", "status", "region", "started_at", "completed_at"),
)
"""Every field of an action (``region`` is the slug of either region field)."""
