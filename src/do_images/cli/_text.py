"""Text a terminal can show as it is: escaped control characters, display widths, fitting.

Every string the API or the command line hands back (names, descriptions, error
messages, echoed arguments) passes through ``printable`` before it reaches a table,
a key/value view or an error line, so no byte of it can move the cursor, change
colours, split a row or reorder it. ``--json`` output never passes through here.
"""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Characters that are drawn as nothing, or that steer the terminal or the text
# direction: C0/C1 controls (escape sequences), format characters (bidi overrides,
# zero-width joiners and spaces), line and paragraph separators, surrogates and
# unassigned code points.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_ZERO_WIDTH = frozenset({"Mn", "Me"})


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(value: object) -> str:
    """``value`` as text with every hidden or steering character shown escaped.

    A newline becomes ``\\n``, ESC ``\\x1b``, a right-to-left override ``\\u202e``.
    A combining mark with nothing to combine with (at the start) is escaped too, so it
    cannot fuse with the column separator before it.
    """
    text = str(value)
    if text.isprintable() and not (text and unicodedata.category(text[0]) in _ZERO_WIDTH):
        return text  # the common case, without a per-character walk
    parts: list[str] = []
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category in _HIDDEN or (index == 0 and category in _ZERO_WIDTH):
            parts.append(_escape(char))
        else:
            parts.append(char)
    return "".join(parts)


def char_width(char: str) -> int:
    """Columns ``char`` takes on a terminal: 0 for combining marks, 2 for wide ones."""
    if unicodedata.category(char) in _ZERO_WIDTH:
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def width(text: str) -> int:
    """Columns ``text`` (already ``printable``) takes on a terminal."""
    if text.isascii():
        return len(text)
    return sum(char_width(char) for char in text)


def fit(text: str, columns: int) -> str:
    """``text`` cut to at most ``columns`` terminal columns, ending in ``…`` if cut."""
    if width(text) <= columns:
        return text
    if columns <= 0:
        return ""
    kept: list[str] = []
    used = 0
    for char in text:
        size = char_width(char)
        if used + size > columns - 1:
            break
        kept.append(char)
        used += size
    return "".join(kept) + ELLIPSIS


def pad(text: str, columns: int, *, right: bool = False) -> str:
    """``text`` padded with spaces to ``columns`` terminal columns."""
    fill = " " * max(0, columns - width(text))
    return fill + text if right else text + fill


def shorten(value: object, limit: int = 60) -> str:
    """``value`` as a quoted, printable, shortened echo of what someone typed."""
    return f"'{fit(printable(value), limit)}'"


def one_line(message: str, limit: int = 1000) -> str:
    """An error message as one printable line of at most ``limit`` columns."""
    return fit(printable(message), limit)
