"""What ``do-images`` shows, and how people shape it: doctl's options, escaping, widths,
JSON errors, the messages that used to contradict themselves. In-process ``main(argv)``."""

from __future__ import annotations

import argparse
import io
import json
import re

import pytest

from do_images.cli import main
from do_images.cli._output import ACTION_COLUMNS, IMAGE_COLUMNS
from do_images.cli._registry import build_parser, command_examples
from do_images.cli._text import printable, width
from do_images.testing import Sandbox
from support import Run, Stream, cli_runner

SNAPSHOT_ID = 180040001  # web-01 2026-10-01, a private snapshot in nyc3
OTHER_ID = 180040002
HOSTILE = "evil\x1b[31mRED\x1b[0m\nline2\ttab\u202eesrever\u200b"


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(action_seconds=12)


@pytest.fixture
def run(sandbox: Sandbox) -> Run:
    return cli_runner(sandbox)


def cells(line: str) -> list[str]:
    """A table line's cells (cells are separated by two spaces or more)."""
    return re.split(r"\s{2,}", line.strip())


# ----------------------------------------------------------------- --format


def test_format_picks_columns_in_order_whatever_their_case(run: Run) -> None:
    """``--format`` shows the named columns in the order given, matching names in any case."""
    result = run("list", "--private", "--format", "id,NAME,Slug,status")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert cells(lines[0]) == ["ID", "NAME", "SLUG", "STATUS"]
    row = next(line for line in lines if line.startswith(str(SNAPSHOT_ID)))
    assert cells(row) == [str(SNAPSHOT_ID), "web-01 2026-10-01", "-", "available"]


def test_format_accepts_doctl_names(run: Run) -> None:
    """doctl's column names (``MinDisk``, ``CreatedAt``, ``SizeGigabytes``) select our columns."""
    result = run("info", str(SNAPSHOT_ID), "--format", "ID,MinDisk,CreatedAt,SizeGigabytes")
    assert result.code == 0, result.err
    assert cells(result.out.splitlines()[0]) == ["ID", "MIN DISK", "CREATED", "SIZE"]


@pytest.mark.parametrize("name", sorted(IMAGE_COLUMNS.columns))
def test_every_image_field_is_a_column(run: Run, name: str) -> None:
    """Each image column can be shown alone: one line without the header."""
    result = run("info", str(SNAPSHOT_ID), "--format", name, "--no-header")
    assert result.code == 0, result.err
    assert len(result.out.splitlines()) == 1


@pytest.mark.parametrize("name", sorted(ACTION_COLUMNS.columns))
def test_every_action_field_is_a_column(run: Run, sandbox: Sandbox, name: str) -> None:
    """Each action column can be shown alone for ``action``: a header and one row."""
    action = sandbox.add_action(SNAPSHOT_ID, region="sfo3")
    result = run("action", str(SNAPSHOT_ID), str(action.id), "--format", name)
    assert result.code == 0, result.err
    assert len(result.out.splitlines()) == 2


def test_an_unknown_column_is_a_usage_error_naming_the_columns(run: Run) -> None:
    """A misspelt column exits 2, naming it, every column there is, and the command's help."""
    result = run("list", "--format", "ID,Nmae")
    assert (result.code, result.out) == (2, "")
    assert "'Nmae' is not a column of images" in result.err
    for name in IMAGE_COLUMNS.columns:
        assert name in result.err
    assert "see 'do-images list --help'" in result.err


def test_an_empty_column_name_is_refused(run: Run) -> None:
    """An empty name between commas in ``--format`` exits 2 saying so."""
    result = run("list", "--format", "ID,,Name")
    assert result.code == 2
    assert "an empty name" in result.err


def test_no_header_drops_the_header(run: Run) -> None:
    """``--no-header`` prints the same rows without the header line."""
    with_header = run("list", "--private").out.splitlines()
    without = run("list", "--private", "--no-header").out.splitlines()
    assert [cells(line) for line in without] == [cells(line) for line in with_header[1:]]


def test_format_and_json_together_are_a_usage_error(run: Run) -> None:
    """``--format`` with ``--json`` exits 2: columns are for tables."""
    result = run("list", "--json", "--format", "ID")
    assert result.code == 2
    assert "--format and --no-header are for tables" in result.err


def test_list_shows_slug_and_status(run: Run, sandbox: Sandbox) -> None:
    """``list`` shows SLUG and STATUS: ``NEW`` for a fresh import, a public image's slug."""
    with sandbox.client() as do:
        importing = do.image.create("fresh", "https://example.com/a.img", "nyc3")
    lines = run("list", "--public").out.splitlines()
    assert {"SLUG", "STATUS"} <= set(lines[0].split())
    row = next(line for line in lines if line.startswith(str(importing.id)))
    assert " NEW " in f" {row} "
    assert any("ubuntu-24-04-x64" in line for line in lines)


# ---------------------------------------------------------- doctl's habits


@pytest.mark.parametrize(
    ("alias", "command"),
    [(("ls",), ("list",)), (("get", "7"), ("info", "7")), (("get", "ubuntu-24-04-x64"),) * 2],
)
def test_aliases_do_what_their_commands_do(
    run: Run, alias: tuple[str, ...], command: tuple[str, ...]
) -> None:
    """``ls`` and ``get`` print exactly what ``list`` and ``info`` print, for an id or a slug."""
    if alias[0] == "get" and alias[1] == "ubuntu-24-04-x64":
        command = ("info", alias[1])
    assert run(*alias, "--json").out == run(*command, "--json").out


@pytest.mark.parametrize(
    "argv",
    [("-o", "json", "list"), ("list", "-o", "json"), ("--output", "json", "ls"),
     ("list", "--output=json"), ("list", "-ojson")],
)  # fmt: skip
def test_output_json_is_json(run: Run, argv: tuple[str, ...]) -> None:
    """doctl's ``-o json`` / ``--output json``, before or after the command, is ``--json``."""
    result = run(*argv)
    assert (result.code, result.out) == (0, run("--json", "list").out), result.err


def test_output_text_is_the_table_and_contradicting_json_is_refused(run: Run) -> None:
    """``-o text`` prints the table; with ``--json`` it is a usage error (JSON, exit 2)."""
    assert run("list", "-o", "text").out == run("list").out
    result = run("--json", "list", "-o", "text")
    assert (result.code, result.out) == (2, "")
    assert "--json and --output text" in json.loads(result.err)["error"]["message"]


@pytest.mark.parametrize("argv", [("-o", "json", "frobnicate"), ("info", "x y", "-o", "json")])
def test_errors_under_output_json_are_json(run: Run, argv: tuple[str, ...]) -> None:
    """With ``-o json`` a usage error, found while parsing or later, is JSON on stderr too."""
    result = run(*argv)
    assert result.code == 2
    assert json.loads(result.err)["error"]["exit"] == 2


def test_rm_with_force_deletes_several_images(run: Run, sandbox: Sandbox) -> None:
    """``rm ID ID -f`` deletes both without asking, one line each."""
    result = run("rm", str(SNAPSHOT_ID), str(OTHER_ID), "-f")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [f"deleted image {SNAPSHOT_ID}", f"deleted image {OTHER_ID}"]
    assert not {SNAPSHOT_ID, OTHER_ID} & {image.id for image in sandbox.images}


def test_delete_several_asks_once(run: Run, sandbox: Sandbox) -> None:
    """Deleting several images on a terminal asks one question naming them all."""
    result = run("delete", str(SNAPSHOT_ID), str(OTHER_ID), stdin="y\n", tty=True)
    assert result.code == 0, result.err
    assert result.err.count("[y/N]") == 1
    assert f"Delete 2 images ({SNAPSHOT_ID}, {OTHER_ID})?" in result.err
    assert sandbox.count("DELETE") == 2


def test_delete_several_goes_on_past_a_failure_and_exits_non_zero(
    run: Run, sandbox: Sandbox
) -> None:
    """A missing image among several is reported and exits 4; the others are still deleted."""
    result = run("delete", str(SNAPSHOT_ID), "999", str(OTHER_ID), "--force")
    assert result.code == 4
    assert result.out.splitlines() == [f"deleted image {SNAPSHOT_ID}", f"deleted image {OTHER_ID}"]
    assert "not deleted: image 999: not found: image 999" in result.err


def test_delete_several_with_json_reports_each(run: Run) -> None:
    """``--json`` with a failed deletion lists what was deleted, what failed and why (as
    JSON errors), exit 4; stderr holds one JSON error, no plain text."""
    result = run("delete", str(SNAPSHOT_ID), "999", "-y", "--json")
    assert result.code == 4
    report = result.json()
    assert (report["deleted"], report["failed"]) == ([SNAPSHOT_ID], [999])
    reason = report["errors"]["999"]
    assert (reason["status"], reason["id"], reason["exit"]) == (404, "not_found", 4)
    assert reason["message"].startswith("not found: image 999")
    error = json.loads(result.err)["error"]
    assert (error["exit"], error["message"]) == (4, "not deleted: image 999 (1 of 2 images)")


def test_delete_with_json_prints_what_was_deleted(run: Run) -> None:
    """``--json delete`` prints the deleted ids and an empty failed list, exit 0."""
    result = run("delete", str(SNAPSHOT_ID), "-y", "--json")
    assert (result.code, result.json()) == (
        0,
        {"deleted": [SNAPSHOT_ID], "failed": [], "errors": {}},
    )


def test_delete_declined_deletes_none(run: Run, sandbox: Sandbox) -> None:
    """Answering no deletes nothing and exits 1."""
    result = run("delete", str(SNAPSHOT_ID), str(OTHER_ID), stdin="n\n", tty=True)
    assert result.code == 1
    assert sandbox.count("DELETE") == 0


def test_ctrl_d_at_the_prompt_ends_its_line(run: Run, sandbox: Sandbox) -> None:
    """End of input at the prompt ends the prompt's line, deletes nothing, exits 1."""
    result = run("delete", str(SNAPSHOT_ID), stdin="", tty=True)
    assert result.code == 1
    assert "[y/N] \nnot deleted" in result.err
    assert sandbox.count("DELETE") == 0


def test_several_tags_mean_any_of_them(run: Run, sandbox: Sandbox) -> None:
    """Repeated ``--tag`` lists images with any of them, once each, one request per tag."""
    web = sandbox.add_image("tagged web", tags=["t-web"])
    db = sandbox.add_image("tagged db", tags=["t-db"])
    both = sandbox.add_image("tagged both", tags=["t-web", "t-db"])
    sandbox.add_image("untagged")
    result = run("list", "--tag", "t-web", "--tag", "t-db", "--tag", "t-web", "--json")
    assert [image["id"] for image in result.json()] == [web.id, both.id, db.id]
    assert sandbox.count("GET", "images_list") == 2
    single = run("list", "--tag", "t-db", "--json")
    assert [image["id"] for image in single.json()] == [db.id, both.id]


# ---------------------------------------------------------- JSON errors


def test_json_error_carries_the_api_fields_and_the_exit_status(run: Run) -> None:
    """A JSON error has the status, error id, exit status, message and request id."""
    result = run("info", "999", "--json")
    assert (result.code, result.out) == (4, "")
    error = json.loads(result.err)["error"]
    assert error["status"] == 404
    assert error["id"] == "not_found"
    assert error["exit"] == 4
    assert error["message"] == f"not found: image 999 (request id {error['request_id']})"
    assert error["request_id"]


def test_json_usage_error_is_json_too(run: Run) -> None:
    """With ``--json`` a usage error is JSON too: only ``message`` and ``exit`` set."""
    result = run("--json", "info", "-5")
    assert result.code == 2
    error = json.loads(result.err)["error"]
    assert error == {
        "status": None,
        "id": None,
        "message": error["message"],
        "request_id": None,
        "exit": 2,
    }
    assert "'-5' is not an image id" in error["message"]


def test_json_after_a_double_dash_is_no_option(run: Run) -> None:
    """``--json`` after ``--`` is an argument, so the error is plain text."""
    result = run("info", "--", "--json")
    assert result.code == 2
    assert result.err.startswith("error: ")


# ------------------------------------------------------ what reaches a terminal


def test_control_characters_in_names_are_shown_escaped(run: Run, sandbox: Sandbox) -> None:
    """Control and format characters in a name are escaped in tables; the row count is kept."""
    sandbox.add_image(HOSTILE, id=190000100)
    for argv in (("list", "--private"), ("info", "190000100")):
        result = run(*argv)
        assert result.code == 0, result.err
        assert "\x1b" not in result.out
        assert "\u202e" not in result.out
        assert "\t" not in result.out
        assert "\u200b" not in result.out
        assert "evil\\x1b[31mRED\\x1b[0m\\nline2\\ttab\\u202eesrever\\u200b" in result.out
    table = run("list", "--private").out.splitlines()
    assert len(table) == 1 + len([i for i in sandbox.images if not i.public])


def test_json_keeps_names_exact(run: Run, sandbox: Sandbox) -> None:
    """``--json`` gives a hostile name exactly as stored."""
    sandbox.add_image(HOSTILE, id=190000100)
    assert run("info", "190000100", "--json").json()["name"] == HOSTILE


def test_a_renamed_image_is_shown_escaped(run: Run) -> None:
    """The confirmation of a rename escapes the control characters of the new name."""
    hostile = run("update", str(SNAPSHOT_ID), "--name", "x\x1b[2J\ny")
    assert hostile.code == 0, hostile.err
    assert "\x1b" not in hostile.out
    assert "x\\x1b[2J\\ny" in hostile.out


def test_wide_and_combining_characters_keep_columns_aligned(run: Run, sandbox: Sandbox) -> None:
    """Wide, combining and right-to-left names leave the next column at one offset."""
    sandbox.add_image("日本語の名前", id=190000101)
    sandbox.add_image("e\u0301te\u0301", id=190000102)  # été with combining accents
    sandbox.add_image("\u0301leading mark", id=190000103)
    sandbox.add_image("עברית", id=190000104)
    lines = run("list", "--private", "--format", "ID,Name,Type").out.splitlines()
    type_columns = {width(line[: line.rindex("  ") + 2]) for line in lines[1:]}
    assert len(type_columns) == 1
    assert any("\\u0301leading" in line for line in lines)


def test_a_terminal_table_fits_its_width(run: Run, sandbox: Sandbox) -> None:
    """On a terminal of 40, 80 or 200 columns every table line fits, long values cut."""
    sandbox.add_image("n" * 150, id=190000105, description="d" * 300)
    for columns in (40, 80, 200):
        result = run("list", tty=True, environ={"COLUMNS": str(columns)})
        assert result.code == 0, result.err
        lines = result.out.splitlines()
        assert all(width(line) <= columns for line in lines), columns
        assert any("…" in line for line in lines)


def test_a_pipe_gets_whole_values(run: Run, sandbox: Sandbox) -> None:
    """Into a pipe, values are printed whole, whatever ``COLUMNS`` says."""
    sandbox.add_image("n" * 150, id=190000105)
    result = run("list", "--private", environ={"COLUMNS": "40"})
    assert "n" * 150 in result.out
    assert "…" not in result.out


def test_ids_and_dates_are_never_cut(run: Run, sandbox: Sandbox) -> None:
    """When a row is cut to fit, its id and date stay whole."""
    sandbox.add_image("n" * 150, id=190000105)
    result = run("list", "--private", tty=True, environ={"COLUMNS": "100"})
    row = next(line for line in result.out.splitlines() if line.startswith("190000105"))
    assert re.search(r"\d{4}-\d\d-\d\d$", row)


def test_the_live_wait_line_never_wraps(run: Run, sandbox: Sandbox) -> None:
    """The live line of ``transfer --wait`` is redrawn within 39 of 40 columns, cut with ``…``."""
    result = run(
        "transfer", str(SNAPSHOT_ID), "sfo3", "--wait", tty=True, environ={"COLUMNS": "40"}
    )
    assert result.code == 0, result.err
    live = result.err.split("\n")[0]
    frames = live.split("\r")[1:]
    assert len(frames) >= 2
    assert all(width(frame) <= 39 for frame in frames)
    assert all(frame.rstrip().endswith("…") for frame in frames)


def test_the_region_board_lines_never_wrap(run: Run, sandbox: Sandbox) -> None:
    """Every line of the multi-region board stays narrower than the terminal."""
    result = run(
        "transfer",
        str(SNAPSHOT_ID),
        "sfo3",
        "lon1",
        "--wait",
        tty=True,
        environ={"COLUMNS": "30"},
    )
    assert result.code == 0, result.err
    for segment in re.split(r"\x1b\[\d+A|\r\x1b\[2K", result.err):
        for line in segment.split("\n")[:-1]:
            assert width(line) <= 29, line


def test_echoed_input_is_shortened(run: Run) -> None:
    """An argument of 100,000 characters is echoed shortened, on one error line."""
    huge = "x" * 100_000
    for argv in (("info", huge), ("update", huge, "--name", "n"), ("list", "--format", huge)):
        result = run(*argv)
        assert result.code == 2, argv
        assert len(result.err) < 700, argv
        assert result.err.count("\n") == 1


def test_an_over_long_option_value_is_shortened(run: Run) -> None:
    """An over-long region is echoed shortened in the usage error."""
    result = run("transfer", str(SNAPSHOT_ID), "r" * 50_000)
    assert result.code == 2
    assert len(result.err) < 700


# ------------------------------------------------------------- messages


def test_a_negative_id_is_not_called_a_slug(run: Run) -> None:
    """``info -1`` says it is not an image id, and does not speak of slugs."""
    result = run("info", "-1")
    assert result.code == 2
    assert "'-1' is not an image id (a positive whole number)" in result.err
    assert "slug" not in result.err


def test_non_ascii_digits_say_which_digits(run: Run) -> None:
    """An id in non-ASCII digits asks for the digits 0-9."""
    result = run("info", "٣")
    assert result.code == 2
    assert "write it with the digits 0-9" in result.err
    assert "int" not in result.err


def test_changing_a_public_image_says_public_images_cannot_be_changed(run: Run) -> None:
    """Changing a public image exits 5 saying public images cannot be changed, not a scope."""
    public = str(run("info", "ubuntu-24-04-x64", "--json").json()["id"])
    for argv in (
        ("update", public, "--name", "mine"),
        ("delete", public, "-y"),
        ("transfer", public, "sfo3"),
        ("convert", public),
    ):
        result = run(*argv)
        assert result.code == 5, argv
        assert "is a public image: public images cannot be changed" in result.err
        assert "scope" not in result.err


def test_a_403_on_a_private_image_still_speaks_of_the_scope(run: Run, sandbox: Sandbox) -> None:
    """A 403 on one of your own images exits 5 and points at the token's scope."""
    sandbox.fail_next(403, method="PUT")
    result = run("update", str(SNAPSHOT_ID), "--name", "x")
    assert result.code == 5
    assert "scope" in result.err


def test_a_short_token_does_not_corrupt_messages(sandbox: Sandbox) -> None:
    """A one-letter token does not blank that letter out of error messages."""
    run = cli_runner(sandbox)
    sandbox.fail_next(403)
    result = run("info", str(SNAPSHOT_ID), factory=lambda target: sandbox.client(token="e"))
    assert "[redacted]" not in result.err
    assert "You do not have access" in result.err


def test_sandbox_and_base_url_together_are_a_usage_error(run: Run) -> None:
    """``--sandbox`` with ``--base-url`` exits 2 naming both."""
    result = run("--sandbox", "--base-url", "http://127.0.0.1:9", "list")
    assert result.code == 2
    assert "--sandbox and --base-url" in result.err


def test_state_without_sandbox_is_a_usage_error(run: Run) -> None:
    """``--state`` without ``--sandbox`` exits 2."""
    result = run("--state", "x.json", "list")
    assert result.code == 2
    assert "--state is for --sandbox" in result.err


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("https://", "--base-url 'https://' has no host"),
        ("http://127.0.0.1:99999", "--base-url port 99999 is out of range"),
        ("http://example.com", "--base-url 'http://example.com' must be https://"),
    ],
)
def test_bad_base_urls_are_usage_errors(base_url: str, message: str) -> None:
    """A base URL without host, with a bad port, or plain http to a remote host exits 2,
    the message naming the flag (not the SDK's parameter)."""
    err = io.StringIO()
    code = main(
        ["--base-url", base_url, "--token", "t" * 20, "list"],
        environ={},
        stdout=io.StringIO(),
        stderr=err,
        stdin=Stream(),
    )
    assert code == 2, err.getvalue()
    assert message in err.getvalue()


def test_an_unknown_option_points_at_the_commands_help(run: Run) -> None:
    """An unknown option names itself and the ``--help`` of the command it was given to."""
    result = run("list", "--colour")
    assert result.code == 2
    assert "unrecognized arguments: '--colour'" in result.err
    assert "(see 'do-images list --help')" in result.err
    serve = run("sandbox", "serve", "--colour")
    assert "(see 'do-images sandbox serve --help')" in serve.err


def test_a_closed_pipe_is_no_error(sandbox: Sandbox) -> None:
    """A closed stdout ends the command quietly with status 0."""

    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    err = io.StringIO()
    code = main(
        ["list"],
        client_factory=lambda target: sandbox.client(),
        environ={},
        stdin=Stream(),
        stdout=Closed(),
        stderr=err,
    )
    assert (code, err.getvalue()) == (0, "")


# ----------------------------------------------------------------- help


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                for inner in sub._actions:
                    if isinstance(inner, argparse._SubParsersAction):
                        found.update({f"{name} {n}": s for n, s in inner.choices.items()})
    return found


def test_every_argument_has_help_text() -> None:
    """Every option and argument of every command has help text."""
    for name, sub in _commands().items():
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{name}: {action.dest}"


def test_create_and_import_take_the_same_image_fields() -> None:
    """``--name``, ``--distribution``, ``--description`` and ``--tag`` of ``create`` and
    ``import`` are one definition: same destination, help and repetition (``import``
    requires ``--name`` in its check, since ``import --remove-object`` takes none)."""

    def fields(command: str) -> list[tuple[object, ...]]:
        return [
            (a.option_strings, a.dest, a.help, type(a).__name__)
            for a in _commands()[command]._actions
            if {"--name", "--distribution", "--description", "--tag"} & set(a.option_strings)
        ]

    assert fields("create") == fields("import")
    assert len(fields("create")) == 4


@pytest.mark.parametrize("name", sorted(command_examples()))
def test_every_command_help_has_examples_and_the_exit_table(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each command's ``--help`` ends with its examples and the exit-status table."""
    out = io.StringIO()
    assert main([*name.split(), "--help"], stdout=out) == 0
    text = out.getvalue()
    assert "examples:\n  do-images " in text
    assert "exit status:" in text
    assert " 130  interrupted" in text


def test_printable_is_what_the_tables_use() -> None:
    """``printable`` escapes the hostile name as the table tests expect."""
    assert printable(HOSTILE) == "evil\\x1b[31mRED\\x1b[0m\\nline2\\ttab\\u202eesrever\\u200b"


@pytest.mark.parametrize(
    ("options", "hint"),
    [
        (
            ("--sandbox", "--state", "my state.json"),
            "do-images --sandbox --state 'my state.json' wait",
        ),
        (("--sandbox",), "do-images --sandbox wait"),
    ],
)
def test_resume_hints_keep_the_sandbox_in_use(
    run: Run, options: tuple[str, ...], hint: str
) -> None:
    """Pasted as printed, a hint never sends a sandbox's ids to the real API."""
    result = run(*options, "transfer", str(SNAPSHOT_ID), "lon1", "--wait", "--timeout", "5")
    assert result.code == 8
    assert f"keep waiting with: {hint} {SNAPSHOT_ID} " in result.err


def test_a_hint_from_a_sandbox_not_kept_says_how_to_keep_one() -> None:
    """A fresh ``--sandbox`` is gone when its command ends: its hint says to keep one with
    ``--state FILE`` rather than point at an image the next sandbox will not have."""
    err = Stream()
    argv = ["--sandbox", "create", "--name", "web", "--url", "https://example.com/web.img",
            "--region", "nyc3", "--wait", "--timeout", "10"]  # fmt: skip
    assert main(argv, stdout=Stream(), stderr=err, environ={}) == 8
    line = err.getvalue().splitlines()[-1]
    assert (
        "look with: do-images --sandbox info 190000001, on a sandbox kept with --state FILE" in line
    )
    assert "(this one is gone)" in line


@pytest.mark.parametrize("option", ["--no-header", "--format=id"])
def test_json_with_a_table_option_is_a_usage_error(run: Run, option: str) -> None:
    """``--json`` with ``--no-header`` (as with ``--format``) exits 2: both are for tables."""
    result = run("info", str(SNAPSHOT_ID), "--json", option)
    assert (result.code, result.out) == (2, "")
    assert "are for tables" in result.err


def test_create_wait_on_a_terminal_is_one_live_line(run: Run) -> None:
    """``create --wait`` on a terminal is one line, redrawn at each of 7 polls within the width."""
    result = run(
        "create", "--name", "web", "--url", "https://example.com/w.img", "--region", "nyc3",
        "--wait", "--poll", "10", tty=True, environ={"COLUMNS": "30"},
    )  # fmt: skip
    assert result.code == 0, result.err
    live, rest = result.err.split("\n", 1)
    frames = live.split("\r")[1:]
    assert len(frames) == 7  # NEW at 0 s, then a poll every 10 s until available at 60 s
    assert all(width(frame) <= 29 for frame in frames)
    assert frames[-1].rstrip().endswith("…")
    assert rest == ""
