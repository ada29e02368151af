"""Fleet files: TOML, ``version = 1``, every mistake named with its key and group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from do_images import FleetError
from do_images.fleet import Fleet

GOOD = """\
version = 1

[[group]]
name = "web"
select = { name_prefix = "web-", tag = "web", types = ["snapshot", "custom"] }
regions = ["nyc3", "sfo3", "ams3"]
keep = 3
max_age = "30d"
keep_min = 1
protect_tags = ["keep"]
ensure_tags = ["managed:do-images"]
"""


def test_a_good_file_loads(tmp_path: Path) -> None:
    """A complete fleet file loads into its groups, with its path and SHA-256."""
    path = tmp_path / "fleet.toml"
    path.write_text(GOOD)
    fleet = Fleet.load(path)
    (group,) = fleet.groups
    assert (group.name, group.keep, group.keep_min, group.max_age.days if group.max_age else 0) == (
        "web",
        3,
        1,
        30,
    )
    assert group.regions == ("nyc3", "sfo3", "ams3")
    assert group.select.types == ("snapshot", "custom")
    assert fleet.path == str(path)
    assert len(fleet.sha256) == 64


def test_defaults() -> None:
    """A group of only a name: no keep or max_age, keep_min 1, snapshots selected."""
    (group,) = Fleet.from_dict({"version": 1, "group": [{"name": "g"}]}).groups
    assert (group.keep, group.max_age, group.keep_min, group.select.types) == (
        None,
        None,
        1,
        ("snapshot",),
    )


def test_a_syntax_error_carries_line_and_column(tmp_path: Path) -> None:
    """A TOML syntax error is a ``FleetError`` with the parser's line and column."""
    path = tmp_path / "bad.toml"
    path.write_text('version = 1\n[[group]]\nname = "web\n')
    with pytest.raises(FleetError, match=r"not valid TOML: .*line 3, column"):
        Fleet.load(path)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    """A file that is not there is a ``FleetError`` that says it cannot be read."""
    with pytest.raises(FleetError, match="cannot read fleet file"):
        Fleet.load(tmp_path / "nope.toml")


def one(**group: Any) -> dict[str, Any]:
    return {"version": 1, "group": [{"name": "web", **group}]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"group": [{"name": "web"}]}, "version must be 1, got None"),
        ({"version": 2, "group": [{"name": "web"}]}, "version must be 1, got 2"),
        ({"version": 1}, "at least one"),
        ({"version": 1, "group": [], "extra": 1}, "unknown key 'extra'"),
        ({"version": 1, "group": [{"keep": 1}]}, "group 1: name must be"),
        ({"version": 1, "group": [{"name": "a"}, {"name": "a"}]}, "two groups are named 'a'"),
        (one(kep=3), "group 'web': unknown key 'kep'"),
        (one(keep="3"), "group 'web': keep must be a whole number"),
        (one(keep=-1), "group 'web': keep must be a whole number"),
        (one(keep=True), "group 'web': keep must be"),
        (one(keep=1, keep_min=2), r"group 'web': keep \(1\) must be at least keep_min \(2\)"),
        (one(keep=0), r"keep \(0\) must be at least keep_min \(1\)"),
        (one(max_age=30), "group 'web': max_age must be a duration"),
        (one(max_age="30 days"), "group 'web': max_age: .*is not a duration"),
        (one(regions=["NYC 3"]), "group 'web': regions: region 'NYC 3' is not a region slug"),
        (one(regions="nyc3"), "group 'web': regions must be a list"),
        (one(protect_tags=["bad tag"]), "group 'web': protect_tags: tag 'bad tag'"),
        (one(ensure_tags=[5]), "group 'web': ensure_tags: tag must be a str"),
        (one(select={"types": ["backup"]}), "group 'web': select.types: backups are managed"),
        (one(select={"types": ["base"]}), "select.types may hold 'snapshot' and 'custom'"),
        (one(select={"prefix": "web"}), "group 'web': select: unknown key 'prefix'"),
        (one(select={"name_prefix": ""}), "select.name_prefix must be a non-empty string"),
        (one(select="web"), "group 'web': select must be a table"),
    ],
)
def test_mistakes_name_the_key_and_group(data: dict[str, Any], message: str) -> None:
    """Each mistake of the table is a ``FleetError`` naming its key and group."""
    with pytest.raises(FleetError, match=message):
        Fleet.from_dict(data)


def test_fleet_error_is_a_value_error() -> None:
    """``FleetError`` is a ``ValueError`` too, like every bad argument."""
    with pytest.raises(ValueError, match="version"):
        Fleet.from_dict({"version": 3, "group": []})


@pytest.mark.parametrize("version", ["true", "1.0", '"1"'])
def test_a_version_that_only_equals_1_is_refused(tmp_path: Path, version: str) -> None:
    """``version = true`` and ``version = 1.0`` equal 1 in Python, yet are not version 1."""
    path = tmp_path / "fleet.toml"
    path.write_text(f'version = {version}\n[[group]]\nname = "web"\n')
    with pytest.raises(FleetError, match="version must be 1"):
        Fleet.load(path)


def test_a_utf8_bom_is_read(tmp_path: Path) -> None:
    """A file saved with a byte order mark (some Windows editors) is read as its text."""
    path = tmp_path / "fleet.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert [group.name for group in Fleet.load(path).groups] == ["web"]


def test_deep_nesting_is_a_fleet_error(tmp_path: Path) -> None:
    """A file or a dict nested thousands deep is refused with ``FleetError``, not a
    ``RecursionError``."""
    path = tmp_path / "deep.toml"
    path.write_text("version = 1\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(FleetError, match="nested too deeply"):
        Fleet.load(path)
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(FleetError, match="nested too deeply"):
        Fleet.from_dict({"version": 1, "group": [{"name": "web", "select": {"tag": deep}}]})


def test_huge_integers_are_a_fleet_error(tmp_path: Path) -> None:
    """An integer of thousands of digits is a ``FleetError`` from a dict and from TOML."""
    with pytest.raises(FleetError, match="too large"):
        Fleet.from_dict(one(keep=10**5000))
    path = tmp_path / "fleet.toml"
    path.write_text('version = 1\n[[group]]\nname = "web"\nkeep = ' + "9" * 5000 + "\n")
    with pytest.raises(FleetError):
        Fleet.load(path)


def test_the_path_is_stored_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative path is kept absolute, so a plan names the file wherever it is applied."""
    (tmp_path / "fleet.toml").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    assert Fleet.load("fleet.toml").path == str(tmp_path / "fleet.toml")


def test_what_is_not_a_fleet_is_refused(tmp_path: Path) -> None:
    """Not UTF-8, not a table, a group that is not a table: each one ``FleetError``."""
    path = tmp_path / "fleet.toml"
    path.write_bytes(b"version = 1\n# \xff\n")
    with pytest.raises(FleetError, match="not UTF-8"):
        Fleet.load(path)
    with pytest.raises(FleetError, match="a fleet is a table"):
        Fleet.from_dict(["version", 1])  # type: ignore[arg-type]
    with pytest.raises(FleetError, match="group 1 must be a table"):
        Fleet.from_dict({"version": 1, "group": [1]})
