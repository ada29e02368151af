"""The ``do-images`` command line, run in-process through ``main(argv)`` against the sandbox."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
import pytest

from do_images import Client, Image
from do_images.cli import main
from do_images.cli._failures import ExitCode
from do_images.cli._main import Target
from do_images.testing import Sandbox
from support import Run, Stream, cli_runner

SNAPSHOT = "web-01 2026-10-01"  # a seeded private snapshot, only in nyc3
BACKUP = "db-01 nightly"  # a seeded backup


@pytest.fixture
def sandbox() -> Sandbox:
    """A fresh sandbox whose actions take 12 virtual seconds."""
    return Sandbox(action_seconds=12)


@pytest.fixture
def run(sandbox: Sandbox) -> Run:
    """Runs ``main(argv)`` against ``sandbox``; returns the exit code and both streams."""
    return cli_runner(sandbox)


def named(sandbox: Sandbox, name: str) -> Image:
    """The sandbox image called ``name``."""
    return next(image for image in sandbox.images if image.name == name)


# ------------------------------------------------------------------ output


def test_list_prints_an_aligned_table(run: Run, sandbox: Sandbox) -> None:
    """``list --public`` prints a header and one row per image, every column at one offset."""
    lines = run("list", "--public").out.splitlines()
    assert lines[0].split() == [
        "ID",
        "NAME",
        "TYPE",
        "DISTRIBUTION",
        "SLUG",
        "STATUS",
        "REGIONS",
        "SIZE",
        "CREATED",
    ]
    assert len(lines) == 1 + len(sandbox.images)
    type_column = lines[0].index("TYPE")
    assert {line[type_column - 2 : type_column] for line in lines} == {"  "}
    assert {line[type_column:].split()[0] for line in lines[1:]} >= {"base", "snapshot", "backup"}


def test_list_row_shows_the_image(run: Run, sandbox: Sandbox) -> None:
    """A row holds the id, name, type, distribution, regions, size and creation date."""
    image = named(sandbox, SNAPSHOT)
    row = next(
        line for line in run("list").out.splitlines() if line.lstrip().startswith(str(image.id))
    )
    assert row.split("  ")[0].strip() == str(image.id)
    assert SNAPSHOT in row
    assert f"{image.size_gigabytes:g} GB" in row
    assert image.created_at is not None
    assert row.endswith(image.created_at.strftime("%Y-%m-%d"))


def test_list_json_is_the_documented_dicts(run: Run, sandbox: Sandbox) -> None:
    """``--json list`` prints a JSON array of exactly the dicts the API sent: your images;
    with ``--public``, every image."""
    result = run("--json", "list")
    assert result.code == 0
    assert result.json() == [image.model_dump() for image in sandbox.images if not image.public]
    every = run("--json", "list", "--public")
    assert every.json() == [image.model_dump() for image in sandbox.images]


def test_global_options_are_accepted_after_the_command(run: Run) -> None:
    """``list --json`` means the same as ``--json list``."""
    assert run("list", "--json").json() == run("--json", "list").json()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("--private",), lambda image: not image.public),
        (("--type", "distribution"), lambda image: image.public and image.type == "base"),
        (("--tag", "db"), lambda image: "db" in (image.tags or [])),
    ],
)
def test_list_filters_reach_the_api(
    run: Run, sandbox: Sandbox, argv: tuple[str, ...], expected: Callable[[Image], bool]
) -> None:
    """``--private``, ``--type`` and ``--tag`` list what the API lists for those filters."""
    ids = [image["id"] for image in run("list", *argv, "--json").json()]
    assert ids
    assert ids == [image.id for image in sandbox.images if expected(image)]


def test_empty_list_is_an_empty_json_array(run: Run) -> None:
    """A filter that matches nothing prints ``[]`` with ``--json``."""
    assert run("list", "--tag", "no-such-tag", "--json").json() == []


def test_info_prints_a_key_value_view(run: Run) -> None:
    """``info`` prints one ``key  value`` line per field the API sent."""
    result = run("info", "ubuntu-24-04-x64")
    assert result.code == 0
    assert re.search(r"^slug\s+ubuntu-24-04-x64$", result.out, re.M)
    assert re.search(r"^regions\s+nyc1, nyc3, ", result.out, re.M)
    assert re.search(r"^public\s+yes$", result.out, re.M)


def test_info_json_by_id_is_the_image(run: Run, sandbox: Sandbox) -> None:
    """``info ID --json`` prints the image's documented dict."""
    image = named(sandbox, SNAPSHOT)
    assert run("info", str(image.id), "--json").json() == image.model_dump()


def test_update_changes_and_prints_the_image(run: Run, sandbox: Sandbox) -> None:
    """``update --name`` renames the image and prints it."""
    image = named(sandbox, SNAPSHOT)
    result = run("update", str(image.id), "--name", "renamed", "--json")
    assert result.json()["name"] == "renamed"
    assert next(i for i in sandbox.images if i.id == image.id).name == "renamed"


def test_create_imports_a_custom_image(run: Run, sandbox: Sandbox) -> None:
    """``create`` posts the image with its tags and prints it as NEW."""
    result = run(
        "create", "--name", "imported", "--url", "https://example.com/x.qcow2",
        "--region", "nyc3", "--tag", "a", "--tag", "b", "--json",
    )  # fmt: skip
    assert result.code == 0
    created = result.json()
    assert (created["name"], created["status"], created["tags"]) == ("imported", "NEW", ["a", "b"])
    assert created["id"] in {image.id for image in sandbox.images}


def test_actions_lists_an_images_actions(run: Run, sandbox: Sandbox) -> None:
    """``actions`` prints a table with the image's actions."""
    image = named(sandbox, SNAPSHOT)
    action = run("transfer", str(image.id), "sfo3", "--json").json()
    lines = run("actions", str(image.id)).out.splitlines()
    assert lines[0].split() == ["ID", "TYPE", "STATUS", "REGION", "STARTED", "COMPLETED"]
    assert any(
        line.split()[:4] == [str(action["id"]), "transfer", "in-progress", "sfo3"] for line in lines
    )


def test_action_prints_one_action(run: Run, sandbox: Sandbox) -> None:
    """``action ID ACTION_ID --json`` prints that action."""
    image = named(sandbox, BACKUP)
    posted = run("convert", str(image.id), "--json").json()
    shown = run("action", str(image.id), str(posted["id"]), "--json").json()
    assert (shown["id"], shown["type"]) == (posted["id"], "convert")


# -------------------------------------------------------------- waiting


def test_transfer_wait_prints_plain_progress_lines(run: Run, sandbox: Sandbox) -> None:
    """``transfer --wait`` off a terminal writes a line per poll, then the completed action."""
    image = named(sandbox, SNAPSHOT)
    result = run("transfer", str(image.id), "sfo3", "--wait", "--poll", "5", "--json")
    action = result.json()
    assert result.code == 0
    assert action["status"] == "completed"
    prefix = f"transfer {action['id']} on image {image.id} to sfo3: "
    assert result.err.splitlines() == [
        prefix + "in-progress, 0 s",
        prefix + "in-progress, 5 s",
        prefix + "in-progress, 10 s",
        prefix + "completed, 15 s",
    ]
    assert "sfo3" in next(i for i in sandbox.images if i.id == image.id).regions  # type: ignore[operator]


def test_wait_on_a_terminal_rewrites_one_line(run: Run, sandbox: Sandbox) -> None:
    """On a terminal the progress is one line rewritten with ``\\r``, ended by one newline."""
    image = named(sandbox, SNAPSHOT)
    result = run("transfer", str(image.id), "sfo3", "--wait", "--poll", "5", tty=True)
    assert result.err.count("\r") == 4
    # Shorter texts are padded with spaces to blank out the longer line before.
    assert result.err.rstrip(" \n").endswith("completed, 15 s")
    assert result.err.count("\n") == 1
    assert result.err.endswith("\n")


def test_wait_command_waits_for_a_posted_action(run: Run, sandbox: Sandbox) -> None:
    """``wait ID ACTION_ID`` polls an existing action until it is completed."""
    image = named(sandbox, BACKUP)
    action = run("convert", str(image.id), "--json").json()
    result = run("wait", str(image.id), str(action["id"]), "--json")
    assert result.code == 0
    assert result.json()["status"] == "completed"


def test_action_failed_exits_7(run: Run, sandbox: Sandbox) -> None:
    """An awaited action that ends errored exits 7 with one error line."""
    sandbox.error_next_action()
    image = named(sandbox, BACKUP)
    result = run("convert", str(image.id), "--wait")
    assert result.code == 7
    assert re.fullmatch(
        rf"error: action \d+ \(convert\) on image {image.id} errored", result.err.splitlines()[-1]
    )


def test_wait_timeout_exits_8_and_says_how_to_go_on(run: Run, sandbox: Sandbox) -> None:
    """A wait that runs out of time exits 8 and names the command that keeps waiting."""
    image = named(sandbox, SNAPSHOT)
    result = run("transfer", str(image.id), "sfo3", "--wait", "--poll", "1", "--timeout", "3")
    action_id = sandbox.actions[-1].id
    assert result.code == 8
    assert f"do-images wait {image.id} {action_id}" in result.err.splitlines()[-1]


def test_interrupted_wait_exits_130_and_says_the_action_goes_on(run: Run, sandbox: Sandbox) -> None:
    """Ctrl-C while waiting exits 130 and says the action continues server-side."""

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    def factory(target: Target) -> Client:
        return Client("t", transport=sandbox.transport(), sleep=interrupt, clock=sandbox.clock)

    image = named(sandbox, SNAPSHOT)
    result = run("transfer", str(image.id), "sfo3", "--wait", factory=factory)
    assert result.code == 130
    assert "goes on server-side" in result.err.splitlines()[-1]
    assert sandbox.actions[-1].status == "in-progress"


# --------------------------------------------------------------- delete


def test_delete_refuses_without_yes_off_a_terminal(run: Run, sandbox: Sandbox) -> None:
    """``delete`` without ``--yes`` when stdin is not a terminal refuses with exit 2."""
    image = named(sandbox, SNAPSHOT)
    result = run("delete", str(image.id))
    assert result.code == 2
    assert "--yes" in result.err
    assert image.id in {i.id for i in sandbox.images}


def test_delete_with_yes_deletes(run: Run, sandbox: Sandbox) -> None:
    """``delete --yes`` deletes the image."""
    image = named(sandbox, SNAPSHOT)
    assert run("delete", str(image.id), "--yes").code == 0
    assert image.id not in {i.id for i in sandbox.images}


def test_delete_asks_on_a_terminal(run: Run, sandbox: Sandbox) -> None:
    """On a terminal ``delete`` asks, naming the image, and deletes on ``y``."""
    image = named(sandbox, SNAPSHOT)
    result = run("delete", str(image.id), stdin="y\n", tty=True)
    assert SNAPSHOT in result.err
    assert result.code == 0
    assert image.id not in {i.id for i in sandbox.images}


def test_delete_declined_keeps_the_image(run: Run, sandbox: Sandbox) -> None:
    """Answering anything but yes keeps the image and exits 1."""
    image = named(sandbox, SNAPSHOT)
    result = run("delete", str(image.id), stdin="\n", tty=True)
    assert result.code == 1
    assert image.id in {i.id for i in sandbox.images}


# ----------------------------------------------------- errors and exit codes


def test_not_found_exits_4_with_one_line(run: Run) -> None:
    """A missing image is one line on stderr naming it and the request id, exit 4."""
    result = run("info", "999")
    assert result.code == 4
    assert re.fullmatch(r"error: not found: image 999 \(request id [^)]+\)\n", result.err)


def test_missing_action_names_the_action(run: Run, sandbox: Sandbox) -> None:
    """A missing action is reported as that action of that image, exit 4."""
    image = named(sandbox, SNAPSHOT)
    result = run("action", str(image.id), "12345")
    assert result.code == 4
    assert f"not found: action 12345 of image {image.id}" in result.err


@pytest.mark.parametrize(
    "argv",
    [
        ("info", "-5"),
        ("lst",),
        ("transfer", "1", "sfo3", "--poll", "0.5"),
        ("info", "not a slug"),
        ("update", "1"),
        ("list", "--type", "snapshot"),
    ],
)
def test_usage_error_exits_2_with_one_line(run: Run, argv: tuple[str, ...]) -> None:
    """A bad command line is one ``error:`` line on stderr, exit 2, nothing on stdout."""
    result = run(*argv)
    assert result.code == 2
    assert re.fullmatch(r"error: [^\n]+\n", result.err)
    assert result.out == ""


@pytest.mark.parametrize(
    ("status", "code"),
    [(401, 5), (403, 5), (429, 6), (422, 3), (500, 3)],
)
def test_error_status_maps_to_its_exit_code(
    run: Run, sandbox: Sandbox, status: int, code: int
) -> None:
    """Each class of error status exits with its own code and one stderr line."""
    sandbox.fail_next(status, times=3)
    result = run("list")
    assert result.code == code
    assert re.fullmatch(r"error: [^\n]+\n", result.err)


def test_rate_limit_says_when_to_retry(run: Run, sandbox: Sandbox) -> None:
    """A 429 with a long ``Retry-After`` says how long to wait."""
    sandbox.fail_next(429, times=3, headers={"retry-after": "600"})
    result = run("list")
    assert result.code == 6
    assert "retry in 600 s" in result.err


def test_connection_failure_exits_9(run: Run) -> None:
    """An API that cannot be reached exits 9."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def factory(target: Target) -> Client:
        return Client("t", transport=httpx.MockTransport(refuse), max_retries=0)

    result = run("list", factory=factory)
    assert result.code == 9
    assert result.err.startswith("error: could not reach the API")


def test_missing_token_exits_5_and_says_how_to_set_it() -> None:
    """Without a token the error names the variables and ``--sandbox``; exit 5."""
    err = Stream()
    assert main(["list"], environ={}, stdout=Stream(), stderr=err) == 5
    assert "DIGITALOCEAN_TOKEN" in err.getvalue()
    assert "--sandbox" in err.getvalue()


def test_token_is_never_printed(run: Run, sandbox: Sandbox) -> None:
    """An auth failure tells what to check without printing the token."""
    sandbox.fail_next(401)
    out, err = Stream(), Stream()
    code = main(
        ["list", "--token", "dop_v1_secret"],
        client_factory=lambda target: sandbox.client(token=target.token or ""),
        stdout=out,
        stderr=err,
    )
    assert code == 5
    assert "dop_v1_secret" not in out.getvalue() + err.getvalue()


def test_json_errors_keep_stdout_empty(run: Run) -> None:
    """With ``--json`` an error still goes to stderr only, so stdout stays parseable."""
    result = run("--json", "info", "999")
    assert (result.code, result.out) == (4, "")


def test_help_lists_every_exit_code() -> None:
    """``--help`` exits 0 and lists every exit code with its meaning on stdout."""
    out = Stream()
    assert main(["--help"], stdout=out, stderr=Stream()) == 0
    text = out.getvalue()
    for code in ExitCode:
        assert re.search(rf"^\s+{int(code)}\s+\S", text, re.M), code


def test_sandbox_option_runs_against_a_fresh_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    """``--sandbox`` needs no token and lists the seeded images."""
    assert main(["--sandbox", "--json", "list", "--public"], environ={}) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [image["id"] for image in listed] == [image.id for image in Sandbox().images]


def test_empty_token_is_no_token() -> None:
    """``--token ''`` (an unset shell variable) is reported as a missing token, exit 5."""
    err = Stream()
    assert main(["list", "--token", " "], environ={}, stdout=Stream(), stderr=err) == 5
    assert err.getvalue().startswith("error: no DigitalOcean token")


def test_create_with_unknown_outcome_exits_10_and_says_where_to_look(
    run: Run, sandbox: Sandbox
) -> None:
    """A create whose answer was lost exits 10 and says to look for the image first."""
    sandbox.drop_next(method="POST")
    result = run("create", "--name", "x", "--url", "https://example.com/x.img", "--region", "nyc3")
    assert result.code == 10
    assert re.fullmatch(r"error: [^\n]+do-images list --private before trying again\n", result.err)


def test_every_command_names_its_handler() -> None:
    """Each command's parser sets ``run`` (and whether it needs a client): no dispatch table."""
    import argparse

    from do_images.cli._registry import build_parser

    parser = build_parser()
    commands = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    for name, parent in commands.choices.items():
        groups = [a for a in parent._actions if isinstance(a, argparse._SubParsersAction)]
        # A group's commands (``sandbox serve``, ``droplet list``) each name theirs.
        subs = list(groups[0].choices.values()) if groups else [parent]
        for sub in subs:
            assert callable(sub.get_default("run")), name
            assert isinstance(sub.get_default("needs_client"), bool), name


def test_the_failure_table_puts_subclasses_before_their_bases() -> None:
    """No row is shadowed by an earlier row for one of its base classes."""
    from do_images.cli._failures import FAILURES

    seen: list[type[BaseException]] = []
    for kind, _, _ in FAILURES:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        for cls in kinds:
            assert not any(issubclass(cls, earlier) for earlier in seen), cls
        seen.extend(kinds)


def test_transfer_wait_rides_out_a_short_loss_of_the_server(run: Run, sandbox: Sandbox) -> None:
    """Three failed attempts of one poll no longer end ``transfer --wait`` with exit 9."""
    snapshot = named(sandbox, SNAPSHOT)
    sandbox.fail_next(503, times=3, method="GET")
    result = run("transfer", str(snapshot.id), "lon1", "--wait", "--json")
    assert result.code == ExitCode.OK, result.err
    assert result.json()["status"] == "completed"


def test_a_permanent_failure_while_waiting_names_the_started_action(
    run: Run, sandbox: Sandbox
) -> None:
    """An error after the action started says which action it was and how to look at it."""
    snapshot = named(sandbox, SNAPSHOT)
    sandbox.fail_next(403, method="GET")
    result = run("transfer", str(snapshot.id), "lon1", "--wait")
    assert result.code == ExitCode.AUTH
    (action,) = [a for a in sandbox.actions if a.region_slug == "lon1"]
    assert f"check it with: do-images action {snapshot.id} {action.id}" in result.err
    assert result.err.splitlines()[-1].startswith("error: permission denied")


def test_resume_hints_keep_the_base_url_in_use(run: Run, sandbox: Sandbox) -> None:
    """A hint pasted as printed goes to the same API, not the default one."""
    snapshot = named(sandbox, SNAPSHOT)
    url = "http://127.0.0.1:8123"
    result = run(
        "--base-url", url, "transfer", str(snapshot.id), "lon1", "--wait", "--timeout", "5"
    )
    assert result.code == ExitCode.WAIT_TIMED_OUT
    assert f"keep waiting with: do-images --base-url {url} wait {snapshot.id} " in result.err


# ------------------------------------------------------------------ lifecycle


def test_create_wait_shows_progress_and_prints_the_available_image(
    run: Run, sandbox: Sandbox
) -> None:
    """``create --wait`` polls the import with a line per poll, then prints the image."""
    result = run(
        "create", "--name", "web", "--url", "https://example.com/w.img", "--region", "nyc3",
        "--wait", "--poll", "30", "--json",
    )  # fmt: skip
    assert result.code == ExitCode.OK, result.err
    assert result.json()["status"] == "available"
    lines = result.err.splitlines()
    assert lines[0].endswith(": NEW, 0 s")
    assert lines[-1].endswith(": available, 60 s")


def test_create_wait_for_an_import_that_fails_exits_7(run: Run, sandbox: Sandbox) -> None:
    """A failed import says why, in one line, and exits 7."""
    sandbox.fail_next_import("bad gzip header")
    result = run(
        "create", "--name", "w", "--url", "https://example.com/w.img", "--region", "nyc3", "--wait"
    )
    assert result.code == ExitCode.ACTION_FAILED
    assert result.err.splitlines()[-1].endswith("will not become available: bad gzip header")


def test_transfer_to_several_regions_goes_through_distribute(run: Run, sandbox: Sandbox) -> None:
    """``transfer ID R1 R2 R3 --wait``: all start at once; nyc3 (already there) is skipped."""
    image = named(sandbox, SNAPSHOT)
    result = run("transfer", str(image.id), "lon1", "nyc3", "sgp1", "--wait", "--poll", "5",
                 "--json")  # fmt: skip
    assert result.code == ExitCode.OK, result.err
    actions = result.json()
    assert [a["region_slug"] for a in actions] == ["lon1", "sgp1"]
    assert {a["status"] for a in actions} == {"completed"}
    assert any(line.endswith("to lon1: completed, 15 s") for line in result.err.splitlines())
    assert sandbox.count("GET", "imageActions_get") == 0  # one action list per poll instead


def test_prune_prints_the_plan_and_deletes_nothing_without_yes(run: Run, sandbox: Sandbox) -> None:
    """The plan is a table with what goes and why; nothing is deleted."""
    result = run("prune", "--keep", "1", "--older-than", "30d")
    assert result.code == ExitCode.OK, result.err
    header, *rows = result.out.splitlines()
    assert header.split() == ["ID", "NAME", "CREATED", "PLAN", "WHY"]
    assert any(" delete " in row for row in rows)
    assert "pass --yes" in result.err
    assert sandbox.count("DELETE") == 0


def test_prune_yes_deletes_the_plan_and_summarises(run: Run, sandbox: Sandbox) -> None:
    """With ``--yes``: progress and a summary on stderr, the planned images gone."""
    plan = run("prune", "--keep", "1", "--json").json()
    doomed = {image["id"] for image in plan["delete"]}
    assert doomed
    result = run("prune", "--keep", "1", "--yes")
    assert result.code == ExitCode.OK, result.err
    assert f"deleted {len(doomed)} of {len(doomed)} image(s)" in result.err
    assert doomed.isdisjoint(image.id for image in sandbox.images)


def test_prune_yes_exits_non_zero_when_a_deletion_fails(run: Run, sandbox: Sandbox) -> None:
    """One failed DELETE (after retries): the rest go, the summary says so, exit 3."""
    sandbox.fail_next(500, times=3, method="DELETE")
    # One deletion at a time, so the three failures are one image's three attempts (several
    # in flight would share them out, and every retry would then succeed).
    result = run(
        "prune",
        "--keep",
        "0",
        "--older-than",
        "1m",
        "--type",
        "snapshot",
        "--yes",
        factory=lambda target: sandbox.client(page_concurrency=1),
    )
    assert result.code == ExitCode.API_ERROR
    assert "1 failed" in result.err


@pytest.mark.parametrize(
    "argv",
    [
        ("prune",),
        ("prune", "--keep", "-1"),
        ("prune", "--keep", "1", "--older-than", "30"),
        ("prune", "--keep", "1", "--older-than", "0d"),
        ("prune", "--keep", "1", "--type", "backup"),
        ("prune", "--keep", "0"),
    ],
)
def test_bad_prune_arguments_are_usage_errors(
    run: Run, sandbox: Sandbox, argv: tuple[str, ...]
) -> None:
    """Missing or malformed ``--keep``, durations and types exit 2 before any request."""
    result = run(*argv)
    assert result.code == ExitCode.USAGE, result.err
    assert sandbox.requests == []


def test_prune_errors_speak_in_flags(run: Run, sandbox: Sandbox) -> None:
    """``prune --keep 0`` without ``--older-than`` names the flags, not ``keep=0``."""
    result = run("prune", "--keep", "0")
    assert result.code == ExitCode.USAGE
    assert result.err == ("error: --keep 0 needs --older-than: without it, every image would go\n")
    assert sandbox.requests == []


def test_the_sdk_speaks_in_parameters() -> None:
    """The same rules raised by the SDK name its parameters: ``keep=0 needs older_than``,
    ``base_url 'http://...'``; the error survives pickling with its words."""
    import pickle

    with Sandbox().client() as do, pytest.raises(ValueError, match=r"^keep=0 needs older_than"):
        do.image.plan_prune(keep=0)
    with pytest.raises(ValueError, match=r"^base_url 'http://example.com' must be https://") as e:
        Client("t", base_url="http://example.com")
    again = pickle.loads(pickle.dumps(e.value))
    assert (type(again), str(again)) == (type(e.value), str(e.value))


@pytest.mark.parametrize(("text", "days"), [("30d", 30.0), ("12h", 0.5), ("90m", 90 / 1440)])
def test_durations(text: str, days: float) -> None:
    """``30d``, ``12h``, ``90m``."""
    from do_images.cli._parser import duration

    assert duration(text).total_seconds() == days * 86_400


def test_transfer_to_several_regions_on_a_terminal_keeps_a_line_per_region(
    run: Run, sandbox: Sandbox
) -> None:
    """On a terminal each region has one line, rewritten in place (cursor up, clear line)."""
    image = named(sandbox, SNAPSHOT)
    result = run("transfer", str(image.id), "lon1", "sgp1", "--wait", "--poll", "5", tty=True)
    assert result.code == ExitCode.OK, result.err
    final = result.err.split("\x1b[2A")[-1]  # the last redraw of the two lines
    lines = [line.split("\x1b[2K")[-1] for line in final.strip("\n").split("\n")]
    assert [line.split(" to ")[1].split(":")[0] for line in lines] == ["lon1", "sgp1"]
    assert all(line.endswith("completed, 15 s") for line in lines)
