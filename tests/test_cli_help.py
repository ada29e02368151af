"""What ``--help`` says and where: a command's own options first, the global options once
after them, the exit table last; no alias twice; no help for options a command ignores."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from do_images._extras import EXTRAS, needs_extra
from do_images.cli import main
from do_images.cli._failures import EXIT_MEANINGS
from do_images.cli._registry import command_examples
from support import Stream

GLOBAL_FLAGS = ("--sandbox", "--token", "--base-url", "--json", "--output", "--state")


def help_of(*argv: str) -> str:
    """The ``--help`` text of ``do-images ARGV``."""
    out = Stream()
    assert main([*argv, "--help"], stdout=out, stderr=Stream()) == 0
    return out.getvalue()


def sections(text: str) -> list[str]:
    """The headings of a help text's sections (``options:``, ``global options:``, ...)."""
    return re.findall(r"^([a-z][a-z ]*):$", text, re.M)


@pytest.mark.parametrize("name", sorted(set(command_examples()) - {"completion", "sandbox serve"}))
def test_a_commands_own_options_come_before_the_global_ones(name: str) -> None:
    """Each command's help lists its own options, then the global options in a section of
    their own, then the examples and the exit table; the usage line names them once."""
    text = help_of(*name.split())
    assert sections(text)[-3:] == ["global options", "examples", "exit status"]
    usage = text.split("\n\n", 1)[0]
    if "[options]" not in usage:  # a usage written out by hand says [options] instead
        assert f"usage: do-images {name} [global options]" in usage
    assert not any(flag in usage for flag in GLOBAL_FLAGS)
    own = text.split("global options:", 1)[0]
    assert not any(re.search(rf"^  {flag}\b", own, re.M) for flag in GLOBAL_FLAGS)


@pytest.mark.parametrize(
    ("argv", "meaningless"),
    [
        (("completion",), GLOBAL_FLAGS),
        (("sandbox",), GLOBAL_FLAGS),
        (("sandbox", "serve"), ("--sandbox", "--base-url", "--json", "--output")),
    ],
)
def test_options_a_command_ignores_are_not_in_its_help(
    argv: tuple[str, ...], meaningless: tuple[str, ...]
) -> None:
    """``completion`` and ``sandbox`` list no API options; ``sandbox serve`` only the token
    and the state file, which it uses."""
    text = help_of(*argv)
    for flag in meaningless:
        assert not re.search(rf"(^ +|\[){flag}\b", text, re.M), flag


def test_the_command_list_names_each_alias_once() -> None:
    """The top-level help shows ``list (ls)`` once, without ``(alias: ls)`` again."""
    text = help_of()
    assert "alias:" not in text
    assert re.search(r"^    list \(ls\)\s", text, re.M)


def test_help_is_plain_english() -> None:
    """No "is no terminal": every help says "is not a terminal"."""
    for name in set(command_examples()) - {"plan", "apply"}:  # theirs: cli/_fleet.py
        assert "is no terminal" not in " ".join(help_of(*name.split()).split()), name
    assert all("is no terminal" not in meaning for meaning in EXIT_MEANINGS.values())


def test_prune_keep_does_not_speak_of_groups() -> None:
    """``prune --keep`` keeps the N newest of the images that match: the command has no groups."""
    text = " ".join(help_of("prune").split())
    assert "--keep N keep the N newest of the images that match" in text
    assert "group" not in text


@pytest.mark.parametrize("command", ["create", "update"])
def test_no_description_limit_is_promised(command: str) -> None:
    """No limit on a description is claimed that nothing checks (the API names none)."""
    assert "140" not in help_of(command)


def test_no_arguments_prints_the_help() -> None:
    """``do-images`` alone prints the top-level help on stdout and exits 0, as doctl does;
    ``do-images sandbox`` alone prints the sandbox's."""
    for argv, heading in (([], "usage: do-images [-h]"), (["sandbox"], "usage: do-images sandbox")):
        out, err = Stream(), Stream()
        assert main(argv, stdout=out, stderr=err) == 0
        assert out.getvalue().startswith(heading)
        assert err.getvalue() == ""


def test_python_dash_m_do_images_runs_the_command_line() -> None:
    """``python -m do_images`` is ``do-images``."""
    done = subprocess.run(
        [sys.executable, "-m", "do_images", "--sandbox", "--json", "info", "ubuntu-24-04-x64"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"slug": "ubuntu-24-04-x64"' in done.stdout


# ---------------------------------------------------------------- missing extras


def test_the_extras_named_are_the_projects() -> None:
    """The requirement each missing-extra message names is the one pyproject.toml's extra
    installs, for every extra but the ones only development uses."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]
    assert {name: extras[name] for name in EXTRAS} == {n: [r] for n, r in EXTRAS.items()}


def test_a_missing_extra_says_how_to_install_it_from_what_exists() -> None:
    """The message names the package (on the index) and the extra (in a checkout), never a
    ``do-images[...]`` that no index has."""
    message = needs_extra("completion", "completion")
    assert message == (
        "completion needs argcomplete, the completion extra: pip install 'argcomplete>=3.5' "
        "(in a checkout: pip install '.[completion]')"
    )
    assert "do-images[" not in message


def test_completion_without_argcomplete_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """``completion bash`` without argcomplete: one line saying how to install it, exit 2."""
    monkeypatch.setitem(sys.modules, "argcomplete.shell_integration", None)
    out, err = Stream(), Stream()
    assert main(["completion", "bash"], stdout=out, stderr=err) == 2
    assert err.getvalue() == f"error: {needs_extra('completion', 'completion')}\n"
    assert out.getvalue() == ""


def test_a_busy_port_is_one_line_and_exit_2() -> None:
    """``sandbox serve --port P`` with P taken: one line naming the port, exit 2 (usage:
    pick another port), nothing on stdout."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out, err = Stream(), Stream()
        assert main(["sandbox", "serve", "--port", str(port)], stdout=out, stderr=err) == 2
    assert err.getvalue().count("\n") == 1
    assert err.getvalue().startswith(f"error: cannot serve on 127.0.0.1 port {port}: ")
    assert out.getvalue() == ""


# ------------------------------------------------------------------ exit tables


def docs_exit_table() -> dict[int, str]:
    """The command line page's exit table: status -> meaning."""
    page = (Path(__file__).parents[1] / "docs" / "cli.md").read_text("utf-8")
    return {int(code): text for code, text in re.findall(r"^\| (\d+) \| (.+) \|$", page, re.M)}


@pytest.mark.parametrize(
    ("code", "words"),
    [(2, ("extra", "port")), (4, ("--base-url",))],
)
def test_new_exit_statuses_are_in_every_table(code: int, words: tuple[str, ...]) -> None:
    """The behaviours added here are in the exit table of every ``--help`` and of the
    command line page: a missing extra and a port taken exit 2, a 404 from what is likely
    not the API exits 4."""
    docs = docs_exit_table()
    assert set(docs) == {int(status) for status in EXIT_MEANINGS}
    for name in ["", *command_examples()]:
        row = re.search(rf"^ +{code}  (.+(?:\n {{7}}.+)*)", help_of(*name.split()), re.M)
        assert row is not None, name
        meaning = " ".join(row[1].split())
        assert all(word in meaning for word in words), (name, meaning)
    assert all(word in docs[code] for word in words)
