"""The command line starts without the SDK's heavy imports when it needs none of them."""

from __future__ import annotations

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
