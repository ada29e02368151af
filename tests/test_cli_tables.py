"""Tables keep what people copy: the installed ``do-images`` on a real pseudo-terminal of
80, 100 and 120 columns, and in a pipe.

On a terminal of 80 columns or more, ids, dates, sizes, statuses and public slugs are never
cut; a column of ``-`` goes first, then free text shrinks, then DISTRIBUTION, REGIONS and
TYPE are hidden, named on one stderr line. A pipe and ``--format`` get whole values.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from do_images import Action, Image
from do_images.cli._table import IMAGE_COLUMNS, cut_regions, lay_out
from do_images.cli._text import width
from do_images.testing import Sandbox
from pty_support import POSIX, on_terminal, script

WIDTHS = [80, 100, 120]
HIDEABLE = {"DISTRIBUTION", "REGIONS", "TYPE"}
NOTE = re.compile(r"^([A-Z, ]+) hidden to fit (\d+) columns; --format brings (it|them) back$")
SEED = Sandbox()
"""The images and actions every ``--sandbox`` run starts with."""


def seeded(keep: Callable[[Image], bool]) -> list[Image]:
    """The seeded images ``keep`` selects, in the order the API lists them."""
    return [image for image in SEED.images if keep(image)]


def ubuntu_regions() -> str:
    """Every region of the seeded ``ubuntu-24-04-x64``, as a pipe gets them."""
    image = next(image for image in SEED.images if image.slug == "ubuntu-24-04-x64")
    return ",".join(image.regions or [])


def never_cut(image: Image) -> list[str]:
    """What a row of ``image`` must hold whole: id, status, size, date, a public slug."""
    assert image.created_at is not None
    values = [str(image.id), str(image.status), f"{image.size_gigabytes:g} GB"]
    values.append(image.created_at.strftime("%Y-%m-%d"))
    return values + ([image.slug] if image.public and image.slug else [])


def check_table(columns: int, argv: tuple[str, ...], images: list[Image]) -> list[str]:
    """Run ``list`` on a pty ``columns`` wide: each row fits and holds its never-cut values
    whole, and any hidden column is named, with ``--format``, on one stderr line. Returns
    the header's cells."""
    code, table, errors = on_terminal(columns, "--sandbox", *argv, stderr_apart=True)
    assert code == 0, errors
    header, *rows = table.rstrip("\n").split("\n")
    assert all(width(line) <= columns for line in (header, *rows)), table
    assert len(rows) == len(images)
    for image, row in zip(images, rows, strict=True):
        assert row.split()[0] == str(image.id)
        for value in never_cut(image):
            assert f" {value} " in f" {row} ", (value, row)
    shown = [cell.removesuffix("…") for cell in re.split(r"\s{2,}", header.strip())]
    default = [column.header for column in IMAGE_COLUMNS.default]
    hidden = {name for name in default if not any(name.startswith(s) for s in shown)} - {"SLUG"}
    notes = errors.splitlines()
    if hidden:
        assert len(notes) == 1, errors
        match = NOTE.fullmatch(notes[0])
        assert match is not None, notes[0]
        assert set(match[1].split(", ")) == hidden <= HIDEABLE
        assert match[2] == str(columns)
    else:
        assert notes == []
    return header.split()


@POSIX
@pytest.mark.parametrize("columns", WIDTHS)
def test_list_keeps_what_people_copy(columns: int) -> None:
    """``list`` (your images): ids, statuses, sizes and dates whole at 80, 100 and 120; the
    slug column of ``-`` goes first, and the dates are never lost."""
    header = check_table(columns, ("list",), seeded(lambda image: not image.public))
    assert "CREATED" in header
    if columns == 80:
        assert "SLUG" not in header


@POSIX
@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize(
    ("argv", "keep"),
    [
        (("list", "--public"), lambda image: True),
        (("list", "--type", "distribution"), lambda i: bool(i.public and i.type == "base")),
    ],
    ids=["public", "distribution"],
)
def test_public_slugs_are_never_cut(
    columns: int, argv: tuple[str, ...], keep: Callable[[Image], bool]
) -> None:
    """``list --public`` and ``--type distribution``: every public slug whole, at every width."""
    header = check_table(columns, argv, seeded(keep))
    assert {"SLUG", "CREATED", "SIZE", "STATUS"} <= set(header)


@POSIX
@pytest.mark.parametrize("columns", WIDTHS)
def test_info_shows_every_value_whole(columns: int) -> None:
    """``info``: the key/value view holds the slug, every region and the date, uncut."""
    code, text, errors = on_terminal(
        columns, "--sandbox", "info", "ubuntu-24-04-x64", stderr_apart=True
    )
    assert code == 0, errors
    assert re.search(r"^slug\s+ubuntu-24-04-x64$", text, re.M)
    assert re.search(rf"^regions\s+{ubuntu_regions().replace(',', ', ')}$", text, re.M)
    assert re.search(r"^created_at\s+2024-04-25T09:14:07Z$", text, re.M)
    assert "…" not in text


@POSIX
@pytest.mark.parametrize("columns", WIDTHS)
def test_actions_show_every_date_whole(columns: int) -> None:
    """``actions``: ids, statuses, regions and both dates whole on 80 columns and more."""
    code, text, errors = on_terminal(
        columns, "--sandbox", "actions", "180040002", stderr_apart=True
    )
    assert code == 0, errors
    header, *rows = text.rstrip("\n").split("\n")
    assert header.split() == ["ID", "TYPE", "STATUS", "REGION", "STARTED", "COMPLETED"]
    actions: list[Action] = [a for a in SEED.actions if a.resource_id == 180040002]
    assert [row.split()[0] for row in rows] == [str(a.id) for a in actions]
    for action, row in zip(actions, rows, strict=True):
        assert action.started_at is not None
        assert action.completed_at is not None
        assert action.started_at.strftime("%Y-%m-%d %H:%M") in row
        assert row.endswith(action.completed_at.strftime("%Y-%m-%d %H:%M"))
    assert errors == ""


@POSIX
@pytest.mark.parametrize("columns", WIDTHS)
def test_format_gets_whole_values_on_a_terminal(columns: int) -> None:
    """Columns named by ``--format`` are printed whole on a terminal, even wider than it:
    every region, every description, no ``…`` and no column hidden."""
    code, text, errors = on_terminal(
        columns, "--sandbox", "list", "--type", "application",
        "--format", "slug,regions,description", stderr_apart=True,
    )  # fmt: skip
    assert code == 0, errors
    header, *rows = text.rstrip("\n").split("\n")
    assert header.split() == ["SLUG", "REGIONS", "DESCRIPTION"]
    applications = seeded(lambda image: bool(image.public and image.type != "base"))
    for image, row in zip(applications, rows, strict=True):
        assert row.split("  ")[0] == image.slug
        assert f"  {ubuntu_regions()}  " in row
        assert row.endswith(f"  {image.description}")
    assert max(width(row) for row in rows) > columns
    assert "…" not in text
    assert errors == ""


@pytest.mark.parametrize(
    "argv",
    [
        ("list", "--public", "--format", "id,regions", "--no-header"),
        ("list", "--public"),
        ("info", "ubuntu-24-04-x64", "--format", "regions", "--no-header"),
    ],
)
def test_a_pipe_gets_every_region(argv: tuple[str, ...]) -> None:
    """Into a pipe, REGIONS lists every region (never ``+8``), whatever ``COLUMNS`` says."""
    result = script("--sandbox", *argv)
    assert result.returncode == 0, result.stderr
    assert ubuntu_regions() in result.stdout
    assert not re.search(r" \+\d+\b", result.stdout)
    assert "…" not in result.stdout
    assert result.stderr == ""


# -------------------------------------------------------------- the layout rule


def test_an_empty_column_goes_before_anything_is_cut() -> None:
    """Too wide by less than an all-``-`` column: that column goes and nothing is cut."""
    columns = IMAGE_COLUMNS.default
    natural = [9, 17, 8, 12, 4, 9, 9, 7, 10]  # SLUG (index 4) is empty
    total = sum(natural) + 2 * (len(natural) - 1)
    layout = lay_out(columns, natural, {4}, total - 3)
    assert layout.shown == [0, 1, 2, 3, 5, 6, 7, 8]
    assert layout.widths == [natural[i] for i in layout.shown]
    assert layout.hidden == []


def test_hidden_columns_go_one_at_a_time_in_their_order() -> None:
    """When the never-cut columns need the room, DISTRIBUTION goes first, then REGIONS,
    then TYPE, and no more than needed."""
    columns = IMAGE_COLUMNS.default
    natural = [9, 25, 8, 12, 19, 9, 54, 7, 10]
    headers = [columns[i].header for i in lay_out(columns, natural, set(), 100).hidden]
    assert headers == ["DISTRIBUTION"]
    headers = [columns[i].header for i in lay_out(columns, natural, set(), 80).hidden]
    assert headers == ["DISTRIBUTION", "REGIONS", "TYPE"]
    assert lay_out(columns, natural, set(), 200).hidden == []


@pytest.mark.parametrize(
    ("size", "shown"),
    [(54, "nyc1,nyc3,sfo2,sfo3,ams3,sgp1,lon1,fra1,tor1,blr1,syd1"), (20, "nyc1,nyc3,sfo2 +8"),
     (10, "nyc1 +10"), (8, "nyc1 +10")],
)  # fmt: skip
def test_regions_are_cut_whole_with_a_count(size: int, shown: str) -> None:
    """A cut REGIONS cell keeps whole regions and counts the rest."""
    cell = "nyc1,nyc3,sfo2,sfo3,ams3,sgp1,lon1,fra1,tor1,blr1,syd1"
    assert cut_regions(cell, size) == shown
    assert width(shown) <= max(size, 8)
