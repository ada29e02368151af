"""The sync resources are generated from their async source, and cannot drift from it."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "unasync.py"


def load_tool() -> ModuleType:
    """``tools/unasync.py`` as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("unasync_tool", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the resources' ``_async/`` and ``_sync/`` directories, in step."""
    source, target = tmp_path / "_async", tmp_path / "_sync"
    shutil.copytree(tool.SOURCE, source)
    shutil.copytree(tool.TARGET, target)
    tool.write(source, target)
    return source, target


def test_the_committed_sync_resources_match_their_async_source() -> None:
    """``python tools/unasync.py --check`` passes on the tree as committed (CI runs this)."""
    done = subprocess.run(
        [sys.executable, str(TOOL), "--check"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_every_resource_module_is_listed() -> None:
    """``FILES`` names exactly the resource modules of ``_async/``, each with a sync twin."""
    sources = {p.name for p in tool.SOURCE.glob("*.py")} - {"__init__.py"}
    targets = {p.name for p in tool.TARGET.glob("*.py")} - {"__init__.py"}
    assert set(tool.FILES) == sources == targets != set()


def test_a_sync_file_edited_by_hand_is_caught(tree: tuple[Path, Path]) -> None:
    """A change made to a generated file alone is reported, naming that file."""
    source, target = tree
    generated = target / "images.py"
    generated.write_text(generated.read_text().replace("def info(", "def information("))
    assert tool.problems(source, target) == [
        f"{generated}: differs from its async source; run python tools/unasync.py"
    ]


def test_a_source_change_not_regenerated_is_caught(tree: tuple[Path, Path]) -> None:
    """Editing the async source without regenerating fails the check."""
    source, target = tree
    edited = source / "images.py"
    edited.write_text(edited.read_text().replace('"""Every image, all', '"""All images, all'))
    assert len(tool.problems(source, target)) == 1


def test_writing_brings_the_sync_files_back_in_step(tree: tuple[Path, Path]) -> None:
    """After ``write``, a drifted sync file is its source's twin again and the check passes."""
    source, target = tree
    (target / "images.py").write_text("# stale\n")
    assert tool.write(source, target) == [target / "images.py"]
    assert tool.problems(source, target) == []
    assert tool.write(source, target) == []


def test_a_new_module_must_be_listed(tree: tuple[Path, Path]) -> None:
    """A resource module added to ``_async/`` but not to ``FILES`` is reported."""
    source, target = tree
    (source / "volumes.py").write_text('"""do.volume."""\n')
    assert tool.problems(source, target) == [
        f"{source / 'volumes.py'}: not listed in FILES of tools/unasync.py"
    ]


def test_a_listed_module_without_its_twin_is_reported(tree: tuple[Path, Path]) -> None:
    """A listed module whose sync twin was never written is reported as missing."""
    source, target = tree
    (source / "volumes.py").write_text('"""do.volume."""\n')
    found = tool.problems(source, target, [*tool.FILES, "volumes.py"])
    assert found == [f"{target / 'volumes.py'}: missing; run python tools/unasync.py"]


def test_the_substitutions_turn_async_code_into_sync_code() -> None:
    """``async def``, ``await``, the runner, pager and resource names become their sync ones,
    and the source's opening comment gives way to the generated header."""
    source = (
        "# the source\n"
        '"""Resources (async)."""\n'
        "from ..._effects import AsyncRunner\n"
        "class AsyncDropletResource:\n"
        "    async def get(self, run: AsyncRunner) -> AsyncPager[int]:\n"
        "        async with run:\n"
        "            return await run(1)\n"
    )
    assert tool.unasync(source, "droplets.py") == tool.header("droplets.py") + (
        '"""Resources (sync)."""\n'
        "from ..._effects import SyncRunner\n"
        "class DropletResource:\n"
        "    def get(self, run: SyncRunner) -> Pager[int]:\n"
        "        with run:\n"
        "            return run(1)\n"
    )


def test_the_generated_file_says_what_it_is_generated_from() -> None:
    """Each committed sync file opens with the header naming its source and the tool."""
    for name in tool.FILES:
        text = (tool.TARGET / name).read_text(encoding="utf-8")
        assert text.startswith(tool.header(name))
        assert f"_async/{name}" in tool.header(name)
