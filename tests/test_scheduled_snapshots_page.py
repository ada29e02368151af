"""The Scheduled snapshots page, as a new user follows it: its fleet file saved as
``fleet.toml``, its lines run one after another on a kept sandbox. Applying twice in a
row makes one snapshot per droplet, not two; a day later, the next one; and ``keep``
prunes each droplet's series once it is full."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from do_images.cli import main
from do_images.testing import Sandbox
from support import Stream

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "scheduled-snapshots.md"
MARKER = "tests/test_scheduled_snapshots_page.py"
"""The page's blocks marked ``<!-- runs: tests/test_scheduled_snapshots_page.py -->``:
its fleet file and the lines that try it."""
WEB = (3164494, 3164495, 3164496)
"""The seed droplets tagged ``web``."""


def _blocks(language: str) -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    marked = rf"<!-- runs: {re.escape(MARKER)} -->\n```{language}\n(.*?)^```$"
    return re.findall(marked, text, re.M | re.S)


def _run(line: str) -> str:
    out, err = Stream(), Stream()
    code = main(shlex.split(line)[1:], stdout=out, stderr=err, environ={})
    assert code == 0, (line, err.getvalue())
    return out.getvalue()


def _series(state: Path) -> dict[int, list[str]]:
    """Each web droplet's owned snapshots (names, oldest first) in the kept sandbox."""
    sandbox = Sandbox(state=str(state))
    found: dict[int, list[str]] = {droplet: [] for droplet in WEB}
    for image in sorted(sandbox.images, key=lambda image: image.name or ""):
        match = re.fullmatch(r"web-([0-9]+)-[0-9]{8}-[0-9]{6}", image.name or "")
        if match is not None and int(match[1]) in found:
            found[int(match[1])].append(image.name or "")
    return found


def test_the_page_marks_its_fleet_file_and_its_lines() -> None:
    """The page has one marked fleet file and one marked block of lines to try it."""
    assert len(_blocks("toml")) == 1
    assert len(_blocks("sh")) == 1


def test_twice_in_a_row_one_snapshot_a_day_later_the_next_and_keep_prunes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's lines on its fleet file: after the two applies in a row one snapshot a
    droplet, after the day's advance and apply two; eight days on, ``keep = 7`` holds
    each droplet to seven, the first gone."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fleet.toml").write_text(_blocks("toml")[0], encoding="utf-8")
    lines = [line for line in _blocks("sh")[0].splitlines() if line.strip()]
    advance = next(i for i, line in enumerate(lines) if "sandbox advance" in line)
    for line in lines[:advance]:
        _run(line)
    assert {d: len(names) for d, names in _series(tmp_path / "s.json").items()} == dict.fromkeys(
        WEB, 1
    )
    first = {d: names[0] for d, names in _series(tmp_path / "s.json").items()}
    for line in lines[advance:]:
        _run(line)
    assert {d: len(names) for d, names in _series(tmp_path / "s.json").items()} == dict.fromkeys(
        WEB, 2
    )
    for _ in range(6):
        for line in lines[advance:]:
            _run(line)
    series = _series(tmp_path / "s.json")
    assert {d: len(names) for d, names in series.items()} == dict.fromkeys(WEB, 7)
    assert all(first[d] not in series[d] for d in WEB)
