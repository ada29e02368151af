"""A source group's ``snapshot_name``: the template rules, the names it makes and owns, and
the exact check that two templates could never match one name (cross-checked against
brute force)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from do_images._jobs._template import Field, NameTemplate, overlap

WHEN = datetime(2026, 12, 1, 4, 0, 30, tzinfo=timezone.utc)


# ------------------------------------------------------------------ the rules


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{time}", r"\{droplet_id\} is required"),
        ("{droplet_id}", r"\{time\} is required"),
        ("", r"\{droplet_id\} is required"),
        ("{droplet_id}-{time}-{droplet_id}", r"\{droplet_id\} appears 2 times"),
        ("{droplet_id}{time}", r"\{droplet_id\} and \{time\} must be separated"),
        ("{droplet_id}2026{time}", r"\{droplet_id\} and \{time\} must be separated"),
        ("{group}{droplet_id}-{time}", r"\{group\} and \{droplet_id\} must be separated"),
        ("{droplet_name}{droplet_id}-{time}", r"\{droplet_name\} and \{droplet_id\}"),
        ("{droplet_id}-{host}-{time}", r"'\{host\}' is no placeholder"),
        ("{droplet_id}-{time:%Y}", r"'\{time:%Y\}' is no placeholder"),
        ("{DROPLET_ID}-{time}", r"'\{DROPLET_ID\}' is no placeholder"),
        ("{droplet_id}-{time", r"'\{time' is no placeholder"),
        ("{droplet_id}-{time}}", r"a '\}' at 20 closes nothing"),
        ("{ droplet_id }-{time}", r"is no placeholder"),
    ],
)
def test_a_bad_template_says_what_is_wrong(text: str, message: str) -> None:
    """Each template of the table breaks one rule, and the error says which."""
    with pytest.raises(ValueError, match=message):
        NameTemplate.parse(text)


def test_a_template_that_is_no_string_is_a_type_error() -> None:
    """``snapshot_name = 5`` is refused as a ``TypeError`` (the reader names the group)."""
    with pytest.raises(TypeError, match="must be a string"):
        NameTemplate.parse(5)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("{group}-{droplet_id}-{time}", "web-3164494-20261201-040030"),
        ("{droplet_name}-{droplet_id}-{time}", "web-01-3164494-20261201-040030"),
        ("nightly {{{droplet_id}}} {time}", "nightly {3164494} 20261201-040030"),
        ("v2-{droplet_id}-x1-{time}", "v2-3164494-x1-20261201-040030"),
        ("{time}.{droplet_id}", "20261201-040030.3164494"),
    ],
)
def test_fill_then_owner_round_trips(text: str, name: str) -> None:
    """A filled name is what the template says, its own pattern matches it, and its
    owner is the droplet id in it."""
    template = NameTemplate.parse(text)
    assert template.fill("web", 3164494, "web-01", WHEN) == name
    assert template.owner("web", name) == 3164494


def test_time_is_the_utc_second() -> None:
    """``{time}`` is the moment in UTC, whatever the timezone it is given in."""
    template = NameTemplate.parse("{droplet_id}-{time}")
    east = WHEN.astimezone(timezone(timedelta(hours=9)))
    assert template.fill("g", 1, "d", east) == "1-20261201-040030"


@pytest.mark.parametrize(
    "name",
    [
        "web-3164494-20261201-04003",  # a time one digit short
        "web-3164494-2026120-1040030",  # the dash of the time misplaced
        "web--20261201-040030",  # no id
        "web-31644x4-20261201-040030",  # an id that is not digits
        "Web-3164494-20261201-040030",  # the group as written, no other case
        "web-3164494-20261201-040030 ",  # a trailing space
        "web-٣-20261201-040030",  # a digit, but not 0-9
        "xweb-3164494-20261201-040030",
    ],
)
def test_names_it_does_not_make_are_not_owned(name: str) -> None:
    """The default template owns only whole names of its exact shape."""
    assert NameTemplate.parse("{group}-{droplet_id}-{time}").owner("web", name) is None


def test_the_owner_is_the_id_whatever_the_name() -> None:
    """With ``{droplet_name}``, a renamed droplet's snapshots stay its own: the id decides,
    and a name full of digits and dashes does not fool it."""
    template = NameTemplate.parse("{droplet_name}-{droplet_id}-{time}")
    assert template.owner("g", "db-7-2-20261201-040030") == 2
    assert template.owner("g", "a\nb-9-20261201-040030") == 9


# ------------------------------------------------------------- the overlap check

CASES = [
    # (template one, group one, template two, group two, overlap?)
    ("{group}-{droplet_id}-{time}", "web", "{group}-{droplet_id}-{time}", "db", False),
    ("{group}-{droplet_id}-{time}", "web", "{group}-{droplet_id}-{time}", "web-1", False),
    ("{droplet_name}-{droplet_id}-{time}", "web", "{group}-{droplet_id}-{time}", "db", True),
    ("{droplet_id}-{time}", "a", "{droplet_id}-{time}", "b", True),
    ("{droplet_id}-{time}", "a", "{droplet_id}-{time}-x", "b", False),
    ("snap-{droplet_id}-{time}", "a", "{droplet_name}-{time}-{droplet_id}", "b", False),
    ("{droplet_name}-{droplet_id}-{time}", "a", "x-{time}-{droplet_id}", "b", False),
    ("{droplet_name}-{droplet_id}-{time}", "a", "{droplet_id}-x-{time}", "b", False),
    ("{group}{{{droplet_id}}}-{time}", "a", "a{{{droplet_id}}}-{time}", "b", True),
    ("1{droplet_id}-{time}", "a", "{droplet_id}1-{time}", "b", True),
    ("x{droplet_id}-{time}", "a", "{droplet_id}x-{time}", "b", False),
    ("{droplet_id}-{time}", "a", "{time}-{droplet_id}", "b", False),
    ("{droplet_name}.{time}.{droplet_id}", "a", "{droplet_id}.{time}.{droplet_name}", "b", True),
]


@pytest.mark.parametrize(("one", "one_group", "two", "two_group", "expected"), CASES)
def test_overlap_by_table(
    one: str, one_group: str, two: str, two_group: str, expected: bool
) -> None:
    """Each pair of the table could, or could not, match one name; when it could, the
    name given matches both, and the answer is the same either way round."""
    first, second = NameTemplate.parse(one), NameTemplate.parse(two)
    found = overlap(first, one_group, second, two_group)
    assert (found is not None) == expected
    assert (overlap(second, two_group, first, one_group) is not None) == expected
    if found is not None:
        assert first.pattern(one_group).fullmatch(found)
        assert second.pattern(two_group).fullmatch(found)


# ------------------------------------------- the check against brute force

ALPHABET = "a-01x"
IDS = ("0", "1", "10")
TIMES = ("00000000-000000", "10000000-000001")
NAMES = ("a", "-", "0", "a-0", "x1")


@st.composite
def templates(draw: st.DrawFn) -> str:
    """A valid template over a small alphabet: the two required placeholders and any of
    the others, in any order, separated by literals that are not only digits."""
    fields = ["droplet_id", "time"] + [
        name for name in ("group", "droplet_name") if draw(st.booleans())
    ]
    order = draw(st.permutations(fields))
    literal = st.text(ALPHABET, max_size=3)
    separator = literal.filter(lambda text: text != "" and not text.isdigit())
    text = draw(literal)
    for index, name in enumerate(order):
        if index:
            text += draw(separator)
        text += "{" + name + "}"
    return text + draw(literal)


def filled(
    template: NameTemplate, group: str, names: tuple[str, ...], times: tuple[str, ...] = TIMES
) -> set[str]:
    """Every name ``template`` makes for ``group`` from the small value sets."""
    if Field("droplet_name") not in template.parts:
        names = ("",)  # no name to fill: one name per id and time
    made = set()
    for droplet_id, time, name in itertools.product(IDS, times, names):
        text = "".join(
            part
            if isinstance(part, str)
            else {"group": group, "droplet_id": droplet_id, "time": time, "droplet_name": name}[
                part.name
            ]
            for part in template.parts
        )
        made.add(text)
    return made


def candidates(template: NameTemplate, group: str, other: set[str]) -> set[str]:
    """Names ``template`` makes, its ``{droplet_name}`` also taken from every piece of the
    other template's names (so a name the two share is among them more often)."""
    if Field("droplet_name") not in template.parts:
        return filled(template, group, NAMES)
    pieces = {
        name[start:end]
        for name in other
        for start in range(len(name))
        for end in range(start + 1, len(name) + 1)
    }
    return filled(template, group, NAMES + tuple(sorted(pieces)), times=TIMES[:1])


@settings(max_examples=200, deadline=None)
@given(
    templates(),
    st.sampled_from(["a", "a-", "0", "x1"]),
    templates(),
    st.sampled_from(["b", "a-0", "1"]),
)
@example("{droplet_name}-{droplet_id}-{time}", "a", "{group}-{droplet_id}-{time}", "b")
def test_overlap_agrees_with_brute_force(
    one: str, one_group: str, two: str, two_group: str
) -> None:
    """On random short templates: where brute force finds a name both match, ``overlap``
    says they overlap; where ``overlap`` says so, its name matches both."""
    first, second = NameTemplate.parse(one), NameTemplate.parse(two)
    found = overlap(first, one_group, second, two_group)
    if found is not None:
        assert first.pattern(one_group).fullmatch(found), found
        assert second.pattern(two_group).fullmatch(found), found
        return
    base_one, base_two = filled(first, one_group, NAMES), filled(second, two_group, NAMES)
    pattern_one, pattern_two = first.pattern(one_group), second.pattern(two_group)
    shared = [n for n in candidates(first, one_group, base_two) if pattern_two.fullmatch(n)]
    shared += [n for n in candidates(second, two_group, base_one) if pattern_one.fullmatch(n)]
    assert shared == []
