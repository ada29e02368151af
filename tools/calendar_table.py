"""Write the calendar retention table of the scheduled snapshots page, or check it.

The table between the page's ``<!-- calendar-table: start ... -->`` and
``<!-- calendar-table: end -->`` lines is what ``do_images._jobs._calendar.example_table``
gives: which of 90 daily snapshots ``retain = {daily = 7, weekly = 4, monthly = 6}``
keeps, and why.

    python tools/calendar_table.py           # rewrite the table in the page
    python tools/calendar_table.py --check   # exit 1 if the page's table is not the rule's

``tests/test_calendar.py`` checks the page, so CI fails when the two differ.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from do_images._jobs._calendar import example_table

PAGE = Path(__file__).resolve().parents[1] / "docs" / "scheduled-snapshots.md"
SECTION = re.compile(
    r"^<!-- calendar-table: start\b[^\n]*-->\n(?P<table>.*?)^<!-- calendar-table: end -->$",
    re.M | re.S,
)
"""The page's generated part: the table between its start and end markers."""


def with_table(page: str, table: str) -> str:
    """``page`` with the text between its markers replaced by ``table``.

    :raises ValueError: the page has not exactly one pair of markers.
    """
    found = list(SECTION.finditer(page))
    if len(found) != 1:
        raise ValueError(f"the page has {len(found)} calendar-table sections, not 1")
    match = found[0]
    return page[: match.start("table")] + table + page[match.end("table") :]


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the page's table (or, with ``--check``, only say whether it is stale)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    page = PAGE.read_text("utf-8")
    wanted = with_table(page, example_table())
    if wanted == page:
        return 0
    if args.check:
        print(f"{PAGE}: the calendar table is not the rule's; run {sys.argv[0]}", file=sys.stderr)
        return 1
    PAGE.write_text(wanted, "utf-8")
    print(f"rewrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
