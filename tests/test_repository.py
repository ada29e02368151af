"""The repository stays clean for someone who follows the docs in a checkout: no sandbox
state is committed, and what the docs' own commands write is ignored by git."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
STATE_FORMAT = '"format": "do-images sandbox state"'


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def tracked() -> list[str]:
    """The files git tracks (skips where the tests run outside a git checkout)."""
    if shutil.which("git") is None or _git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("not a git checkout")
    return _git("ls-files", "-z").stdout.split("\0")


def written_by_the_docs() -> set[str]:
    """Every file a command or example of the pages names as its output: sandbox state
    files (with their locks), saved plans, the built site and packages."""
    names = {"site/index.html", "dist/do_images-0.1.0-py3-none-any.whl", "build/lib"}
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        states = set(re.findall(r"--state ([\w.-]+\.json)\b", text))
        states |= set(re.findall(r"state=\"([\w.-]+\.json)\"", text))
        names |= states | {f"{state}.lock" for state in states}
        names |= set(re.findall(r"--out ([\w.-]+\.json)\b", text))
    return names


def test_no_sandbox_state_is_committed(tracked: list[str]) -> None:
    """No tracked file is a sandbox state file or a lock file beside one."""
    committed = [
        name
        for name in tracked
        if name.endswith(".lock")
        or (
            name.endswith(".json")
            and STATE_FORMAT in (ROOT / name).read_text(encoding="utf-8", errors="replace")
        )
    ]
    assert committed == []


def test_what_the_docs_write_is_ignored(tracked: list[str]) -> None:
    """Following the pages in a checkout leaves ``git status`` clean."""
    names = sorted(written_by_the_docs())
    assert "try.json" in names  # the command line page's session: the search works
    result = _git("check-ignore", "--no-index", "--verbose", "--non-matching", *names)
    not_ignored = [line.split("\t")[-1] for line in result.stdout.splitlines() if line[:2] == "::"]
    assert not_ignored == []
