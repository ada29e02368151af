"""A source group's ``snapshot_name``: the names it makes and the names it owns.

A template such as ``"{group}-{droplet_id}-{time}"`` holds literals and the placeholders
``{group}``, ``{droplet_id}``, ``{droplet_name}`` and ``{time}``, each at most once;
``{droplet_id}`` and ``{time}`` are required, two placeholders are separated by a
literal that is not only digits, and ``{{`` and ``}}`` are literal braces. Anything else
is refused (``NameTemplate.parse`` raises ``ValueError``).

A group owns the names its template matches: literals and ``{group}`` as themselves,
``{droplet_id}`` as ``[0-9]+`` (the owner droplet), ``{time}`` as ``[0-9]{8}-[0-9]{6}``
and ``{droplet_name}`` as any non-empty text. ``overlap`` decides exactly whether two
templates could match one name, and gives such a name when they could.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

PLACEHOLDERS = ("group", "droplet_id", "droplet_name", "time")
"""The placeholders a ``snapshot_name`` may hold."""
REQUIRED = ("droplet_id", "time")
"""The placeholders every ``snapshot_name`` holds: whose snapshot, and when."""
DEFAULT_SNAPSHOT_NAME = "{group}-{droplet_id}-{time}"
"""A source group's ``snapshot_name`` unless it says otherwise."""
TIME_FORMAT = "%Y%m%d-%H%M%S"
"""How ``{time}`` is written: the plan's ``listed_at`` in UTC, ``YYYYMMDD-HHMMSS``."""

_TIME = "[0-9]{8}-[0-9]{6}"


@dataclass(frozen=True)
class Field:
    """A placeholder of a template, by name (one of ``PLACEHOLDERS``)."""

    name: str


Part = str | Field
"""A literal (its text, braces already read) or a placeholder."""


@dataclass(frozen=True)
class NameTemplate:
    """A checked ``snapshot_name``: ``parse`` it; ``fill`` it; ``pattern`` matches its
    names for a group, and ``owner`` reads the droplet id out of one."""

    text: str
    """The template as written."""
    parts: tuple[Part, ...] = field(compare=False)
    """Its literals and placeholders, in order (adjacent literals joined)."""

    @classmethod
    def parse(cls, text: object) -> NameTemplate:
        """Check ``text`` against the template rules; ``ValueError`` says what is wrong."""
        if not isinstance(text, str):
            raise TypeError(f"snapshot_name must be a string, got {text!r}")
        parts = tuple(_joined(_read(text)))
        _check(parts)
        return cls(text, parts)

    def pattern(self, group: str) -> re.Pattern[str]:
        """The names this template makes for ``group`` (``fullmatch`` them), with the
        droplet id as the match group ``droplet_id`` and the time as ``time``."""
        pieces = {
            "group": re.escape(group),
            "droplet_id": "(?P<droplet_id>[0-9]+)",
            "droplet_name": ".+",
            "time": f"(?P<time>{_TIME})",
        }
        regex = "".join(
            pieces[part.name] if isinstance(part, Field) else re.escape(part) for part in self.parts
        )
        return re.compile(regex, re.DOTALL)

    def owner(self, group: str, name: str) -> int | None:
        """The droplet id in ``name`` if this template, for ``group``, makes such a name."""
        found = self.pattern(group).fullmatch(name)
        return None if found is None else int(found["droplet_id"])

    def fill(self, group: str, droplet_id: int, droplet_name: str, when: datetime) -> str:
        """The name of the snapshot of droplet ``droplet_id`` taken at ``when`` (aware)."""
        values = {
            "group": group,
            "droplet_id": str(droplet_id),
            "droplet_name": droplet_name,
            "time": when.astimezone(timezone.utc).strftime(TIME_FORMAT),
        }
        return "".join(
            values[part.name] if isinstance(part, Field) else part for part in self.parts
        )


def _read(text: str) -> Iterator[Part]:
    """The parts of ``text``, left to right; ``ValueError`` for a stray brace or an
    unknown placeholder."""
    at = 0
    while at < len(text):
        char = text[at]
        if text.startswith(("{{", "}}"), at):
            yield char
            at += 2
        elif char == "}":
            raise ValueError(f"a '}}' at {at + 1} closes nothing (write }}}} for a brace)")
        elif char == "{":
            end = text.find("}", at)
            name = text[at + 1 : end] if end != -1 else ""
            if name not in PLACEHOLDERS:
                shown = text[at : end + 1] if end != -1 else text[at:]
                raise ValueError(
                    f"{shown!r} is no placeholder (known: {{group}}, {{droplet_id}}, "
                    "{droplet_name}, {time}; write {{ for a brace)"
                )
            yield Field(name)
            at = end + 1
        else:
            yield char
            at += 1


def _joined(parts: Iterator[Part]) -> Iterator[Part]:
    """Adjacent literals as one."""
    literal = ""
    for part in parts:
        if isinstance(part, Field):
            if literal:
                yield literal
            literal = ""
            yield part
        else:
            literal += part
    if literal:
        yield literal


def _check(parts: Sequence[Part]) -> None:
    """Each placeholder once, the required ones there, and a literal that is not only
    digits between two placeholders."""
    fields = [part.name for part in parts if isinstance(part, Field)]
    for name in PLACEHOLDERS:
        if fields.count(name) > 1:
            raise ValueError(f"{{{name}}} appears {fields.count(name)} times: at most once")
    for name in REQUIRED:
        if name not in fields:
            raise ValueError(f"{{{name}}} is required (whose snapshot it is, and when)")
    last: Field | None = None
    between = ""
    for part in parts:
        if not isinstance(part, Field):
            between = part
            continue
        if last is not None and (not between or between.isdigit()):
            raise ValueError(
                f"{{{last.name}}} and {{{part.name}}} must be separated by a literal that "
                "is not only digits, such as '-'"
            )
        last, between = part, ""


# ------------------------------------------------- could two templates match one name


DIGIT = "digit"
"""An atom's label: any of ``0``-``9``."""
ANY = "any"
"""An atom's label: any character."""


@dataclass(frozen=True)
class _Atom:
    """One step of a template's names: a character (``label``: one character, ``DIGIT``
    or ``ANY``), repeated at will when ``loop``."""

    label: str
    loop: bool = False


def _atoms(template: NameTemplate, group: str) -> list[_Atom]:
    """The template, for ``group``, as a sequence of atoms: what its names are made of."""
    atoms: list[_Atom] = []
    for part in template.parts:
        if not isinstance(part, Field):
            atoms += [_Atom(char) for char in part]
        elif part.name == "group":
            atoms += [_Atom(char) for char in group]
        elif part.name == "droplet_id":
            atoms.append(_Atom(DIGIT, loop=True))
        elif part.name == "droplet_name":
            atoms.append(_Atom(ANY, loop=True))
        else:  # time: 8 digits, '-', 6 digits
            atoms += [_Atom(DIGIT)] * 8 + [_Atom("-")] + [_Atom(DIGIT)] * 6
    return atoms


def _both(one: str, other: str) -> str | None:
    """The characters both labels take, as a label (``None``: none)."""
    if one == other:
        return one
    if ANY in (one, other):
        return other if one == ANY else one
    if DIGIT in (one, other):
        char = other if one == DIGIT else one
        return char if char in "0123456789" else None
    return None


def _steps(atoms: Sequence[_Atom], state: int) -> list[tuple[str, int]]:
    """The moves out of ``state`` of the automaton whose state ``i`` means "the first
    ``i`` atoms read": the next atom, and the last one again if it loops."""
    moves = [(atoms[state].label, state + 1)] if state < len(atoms) else []
    if state > 0 and atoms[state - 1].loop:
        moves.append((atoms[state - 1].label, state))
    return moves


def _char(label: str) -> str:
    """A character the label takes."""
    return {DIGIT: "0", ANY: "x"}.get(label, label)


def overlap(one: NameTemplate, one_group: str, other: NameTemplate, other_group: str) -> str | None:
    """A name both templates make (each for its group), or ``None`` when no name could
    match both: exact, a search of the product of the two automata for a path to both
    ends, whose labels spell the name."""
    first, second = _atoms(one, one_group), _atoms(other, other_group)
    start, goal = (0, 0), (len(first), len(second))
    came: dict[tuple[int, int], tuple[tuple[int, int], str] | None] = {start: None}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if here == goal:
            return _spelled(came, goal)
        for label_one, to_one in _steps(first, here[0]):
            for label_two, to_two in _steps(second, here[1]):
                label = _both(label_one, label_two)
                there = (to_one, to_two)
                if label is not None and there not in came:
                    came[there] = (here, _char(label))
                    queue.append(there)
    return None


def _spelled(
    came: dict[tuple[int, int], tuple[tuple[int, int], str] | None], end: tuple[int, int]
) -> str:
    """The characters along the path the search took to ``end``."""
    chars: list[str] = []
    step = came[end]
    while step is not None:
        chars.append(step[1])
        step = came[step[0]]
    return "".join(reversed(chars))


__all__ = [
    "DEFAULT_SNAPSHOT_NAME",
    "PLACEHOLDERS",
    "TIME_FORMAT",
    "Field",
    "NameTemplate",
    "overlap",
]
