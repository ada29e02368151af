"""The command line starts without the SDK's heavy imports when it needs none of them,
and a command starts without the modules only other commands use."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

CHECK = """
import sys
from do_images.cli import main
code = main({argv!r})
heavy = sorted(m for m in ("httpx", "pydantic", "boto3", "do_images._models") if m in sys.modules)
print("HEAVY", heavy, code)
"""


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["--help"], ["list", "--help"], ["import", "--help"], ["plan", "--help"]],
)
def test_help_and_version_import_neither_httpx_nor_pydantic(argv: list[str]) -> None:
    """``--version`` and each ``--help`` exit 0 without importing httpx, pydantic or boto3."""
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(argv=argv)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "HEAVY [] 0"


def test_a_command_that_needs_the_client_still_gets_it() -> None:
    """A command that talks to the API does import httpx and succeeds (the check can see it)."""
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(argv=["--sandbox", "--json", "info", "180040001"])],
        capture_output=True,
        text=True,
        check=True,
    )
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("HEAVY [")
    assert "'httpx'" in last
    assert last.endswith(" 0")


NOT_NEEDED = (
    "asyncio",
    "do_images._fleet",
    "do_images.fleet",
    "do_images._import",
    "do_images._spaces",
    "do_images._lifecycle",
    "do_images._resources._async.images",
    "do_images.cli._actions",
    "do_images.cli._fleet",
    "do_images.cli._import",
    "do_images.cli._prune",
    "do_images.cli._tags",
    "do_images.cli._tools",
    "do_images.cli._transfers",
)
"""What listing or showing images never uses: the async client, the jobs (waits and
pruning, fleets, local imports), and the other commands' parsers."""

LOADED = """
import sys
from do_images.cli import main
code = main({argv!r})
print("LOADED", sorted(m for m in {names!r} if m in sys.modules), code)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--sandbox", "list"],
        ["--sandbox", "--json", "info", "180040001"],
        ["--sandbox", "-o", "json", "ls", "--public"],
    ],
)
def test_list_and_info_load_only_what_they_use(argv: list[str]) -> None:
    """``list`` and ``info`` start without the async client, the jobs, or the other
    command families (their parsers are not built)."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED.format(argv=argv, names=NOT_NEEDED)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "LOADED [] 0"


def test_the_registry_names_what_each_family_adds() -> None:
    """``FAMILIES`` lists exactly the command names each family module adds, in the order
    of the full parser (a command named on the line builds only its family)."""
    from do_images.cli._registry import FAMILIES, _build

    def names(parser: argparse.ArgumentParser) -> list[str]:
        (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return list(action.choices)

    for family, commands in FAMILIES.items():
        assert names(_build([family])[0]) == list(commands), family
    assert names(_build(list(FAMILIES))[0]) == [c for cs in FAMILIES.values() for c in cs]


@pytest.mark.parametrize(
    ("argv", "family"),
    [
        (["--sandbox", "--token", "list", "info", "7"], "_images"),
        (["-o", "json", "transfer", "7", "lon1"], "_actions"),
        (["--state=x.json", "--sandbox", "prune"], "_prune"),
        (["--base-url", "http://127.0.0.1:1", "sandbox", "accounts"], "_tools"),
        (["--", "list"], None),
        (["frobnicate"], None),
        (["--json"], None),
    ],
)
def test_the_command_is_found_past_the_global_options(argv: list[str], family: str | None) -> None:
    """The command word is the first that is neither an option nor an option's value."""
    from do_images.cli._registry import _family_of

    assert _family_of(argv) == family
