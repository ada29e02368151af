"""The text rules of the command line: what is escaped, how wide text is, how it is cut."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from do_images.cli._table import fit_widths
from do_images.cli._text import fit, one_line, pad, printable, shorten, width


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain name", "plain name"),
        ("a\nb", "a\\nb"),
        ("tab\there", "tab\\there"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("\x9bcsi", "\\x9bcsi"),  # the one-byte C1 control sequence introducer
        ("abc\u202edef", "abc\\u202edef"),  # right-to-left override
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("line\u2028sep", "line\\u2028sep"),
        ("\u0301alone", "\\u0301alone"),  # a combining mark with nothing to combine with
        ("e\u0301te\u0301", "e\u0301te\u0301"),  # combining marks on letters stay
        ("עברית", "עברית"),  # right-to-left letters are text, not control
        ("日本語", "日本語"),
        ("\U000e0001tag", "\\U000e0001tag"),
    ],
)
def test_printable(raw: str, shown: str) -> None:
    """Controls, format characters and lone combining marks are escaped; letters stay."""
    assert printable(raw) == shown


@pytest.mark.parametrize(
    ("text", "columns"), [("abc", 3), ("日本語", 6), ("e\u0301te\u0301", 3), ("", 0)]
)
def test_width(text: str, columns: int) -> None:
    """Width counts terminal columns: wide characters two, combining marks none."""
    assert width(text) == columns


@pytest.mark.parametrize(
    ("text", "columns", "cut"),
    [
        ("abcdef", 6, "abcdef"),
        ("abcdef", 5, "abcd…"),
        ("abcdef", 1, "…"),
        ("abcdef", 0, ""),
        ("日本語です", 6, "日本…"),  # a wide character never straddles the edge
        ("日本語です", 5, "日本…"),
    ],
)
def test_fit(text: str, columns: int, cut: str) -> None:
    """``fit`` cuts to the columns with an ellipsis, never splitting a wide character."""
    assert fit(text, columns) == cut


@given(st.text(), st.integers(min_value=0, max_value=200))
def test_printed_text_has_no_control_and_fits(text: str, columns: int) -> None:
    """Any text, made printable and fitted, has no control or format character and fits."""
    shown = fit(printable(text), columns)
    assert width(shown) <= columns
    assert all(unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp") for char in shown)


def test_pad_counts_terminal_columns() -> None:
    """``pad`` fills to terminal columns, on the left when ``right``."""
    assert pad("日本", 6) == "日本  "
    assert pad("7", 3, right=True) == "  7"


def test_shorten_and_one_line() -> None:
    """``shorten`` quotes and cuts with an ellipsis; ``one_line`` escapes newlines, then cuts."""
    assert shorten("x" * 100, 10) == "'xxxxxxxxx…'"
    assert shorten("a\nb") == "'a\\nb'"
    assert one_line("first\nsecond", 8) == "first\\n…"


def test_fit_widths_cuts_the_lowest_level_first_and_keeps_floors() -> None:
    # ID (never cut), NAME (level 2), REGIONS (level 1); 2 gaps of two spaces.
    """Columns shrink lowest level first, never below their floor, and ID is never cut."""
    assert fit_widths([9, 30, 20], [8, 8, 8], {1: 2, 2: 1}, 64) == [9, 30, 20]
    assert fit_widths([9, 30, 20], [8, 8, 8], {1: 2, 2: 1}, 55) == [9, 30, 12]
    assert fit_widths([9, 30, 20], [8, 8, 8], {1: 2, 2: 1}, 40) == [9, 19, 8]
    assert fit_widths([9, 30, 20], [8, 8, 8], {1: 2, 2: 1}, 10) == [9, 8, 8]
