"""Fleet files: TOML, ``version = 1``, every mistake named with its key and group."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from do_images import FleetError
from do_images.fleet import Fleet, Group, Selection, Source, SourceGroup

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
    assert isinstance(group, Group)
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
    """A group of a name and ``select = {}``: no keep or max_age, keep_min 1, snapshots
    selected."""
    (group,) = Fleet.from_dict({"version": 1, "group": [{"name": "g", "select": {}}]}).groups
    assert isinstance(group, Group)
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
    return {"version": 1, "group": [{"name": "web", "select": {}, **group}]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"group": [{"name": "web", "select": {}}]}, "^version is missing"),
        ({"version": 2, "group": [{"name": "web"}]}, "version must be 1, got 2"),
        ({"version": 1}, "at least one"),
        ({"version": 1, "group": [], "extra": 1}, "unknown key 'extra'"),
        ({"version": 1, "group": [{"keep": 1}]}, "group 1: name must be"),
        (
            {"version": 1, "group": [{"name": "a", "select": {}}, {"name": "a", "select": {}}]},
            "two groups are named 'a'",
        ),
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


# ------------------------------------------------------------- source groups

SOURCE = """\
version = 1
max_delete = 50

[[group]]
name = "web"
source = { droplet_tag = "web" }
every = "24h"
snapshot_name = "{group}-{droplet_id}-{time}"
regions = ["nyc3", "ams3"]
keep = 7
keep_min = 1
max_age = "180d"
protect_tags = ["keep"]
ensure_tags = ["backup:web"]
power_off = false
on_source_gone = "expire"

[[group]]
name = "db"
source = { droplet_ids = [3164494, 3164495, 3164494] }
every = "1h"
"""


def test_a_source_file_loads(tmp_path: Path) -> None:
    """API.md's example of a scheduled fleet loads: both source kinds, every key read,
    duplicate droplet ids dropped, the top-level max_delete kept."""
    path = tmp_path / "fleet.toml"
    path.write_text(SOURCE)
    fleet = Fleet.load(path)
    web, db = fleet.groups
    assert isinstance(web, SourceGroup)
    assert isinstance(db, SourceGroup)
    assert fleet.max_delete == 50
    assert fleet.sources == (web, db)
    assert web.source == Source(droplet_tag="web")
    assert (web.every, web.keep, web.on_source_gone, web.power_off) == (
        timedelta(hours=24),
        7,
        "expire",
        False,
    )
    assert web.snapshot_name.text == "{group}-{droplet_id}-{time}"
    assert db.source == Source(droplet_ids=(3164494, 3164495))
    assert (db.every, db.snapshot_name.text, db.on_source_gone, db.keep_min) == (
        timedelta(hours=1),
        "{group}-{droplet_id}-{time}",
        "keep",
        1,
    )


def test_select_all_and_the_default_max_delete() -> None:
    """``select = {}`` says "all my snapshots" explicitly; a file without max_delete has 20."""
    fleet = Fleet.from_dict({"version": 1, "group": [{"name": "all", "select": {}}]})
    (group,) = fleet.groups
    assert isinstance(group, Group)
    assert group.select == Selection()
    assert fleet.max_delete == 20
    assert fleet.sources == ()


def source(**group: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "group": [{"name": "web", "source": {"droplet_tag": "web"}, "every": "24h", **group}],
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"version": 1, "group": [{"name": "web", "keep": 3}]},
            r"^group 'web': a group needs select .* or source .*; select = \{\} takes all",
        ),
        (source(select={}), "group 'web': a group has select or source, never both"),
        (one(every="24h"), "group 'web': every is for a group with source"),
        (one(snapshot_name="{droplet_id}-{time}"), "group 'web': snapshot_name is for a group"),
        (one(power_off=True), "group 'web': power_off is for a group with source"),
        (one(on_source_gone="keep"), "group 'web': on_source_gone is for a group with source"),
        (source(every=None), "group 'web': every is required with source"),
        ({**source(), "group": [{"name": "web", "source": {"droplet_tag": "web"}}]}, "every is"),
        (source(every="30m"), "group 'web': every must be at least 1h, got '30m'"),
        (source(every="59m"), "every must be at least 1h"),
        (source(every=24), "group 'web': every must be a duration"),
        (source(every="1 day"), "group 'web': every: .*is not a duration"),
        (source(source="web"), "group 'web': source must be a table"),
        (source(source={}), "group 'web': source takes exactly one of droplet_tag and"),
        (
            source(source={"droplet_tag": "web", "droplet_ids": [1]}),
            "source takes exactly one",
        ),
        (source(source={"tag": "web"}), "group 'web': source: unknown key 'tag'"),
        (source(source={"droplet_tag": "bad tag"}), "group 'web': source.droplet_tag: tag"),
        (source(source={"droplet_tag": 5}), "source.droplet_tag: tag must be a str"),
        (source(source={"droplet_ids": []}), "source.droplet_ids must be a non-empty list"),
        (source(source={"droplet_ids": 5}), "source.droplet_ids must be a non-empty list"),
        (source(source={"droplet_ids": [0]}), "source.droplet_ids: 0 is not a droplet id"),
        (source(source={"droplet_ids": [True]}), "source.droplet_ids: True is not a droplet"),
        (source(source={"droplet_ids": ["1"]}), "source.droplet_ids: '1' is not a droplet"),
        (source(snapshot_name="{time}"), r"group 'web': snapshot_name: \{droplet_id\} is req"),
        (source(snapshot_name="{droplet_id}{time}"), "group 'web': snapshot_name: .*separated"),
        (source(snapshot_name="{id}-{time}"), r"group 'web': snapshot_name: '\{id\}' is no"),
        (source(snapshot_name=5), "group 'web': snapshot_name: snapshot_name must be a string"),
        (source(power_off="yes"), "group 'web': power_off must be true or false"),
        (source(keep=0, keep_min=0), "group 'web': keep = 0 would delete each snapshot"),
        (source(on_source_gone="delete"), "group 'web': on_source_gone must be \"keep\" or"),
        (source(keep=3, retain={"daily": 7}), "group 'web': keep and retain say the same"),
        (one(keep=3, retain={"daily": 7}), "group 'web': keep and retain say the same"),
        (source(retain={"daily": -1}), "group 'web': retain.daily must be a whole number"),
        (source(retain={"fortnightly": 2}), "group 'web': retain has no key 'fortnightly'"),
        (source(retain={}), "group 'web': retain must be a table of counts"),
        (source(retain=7), "group 'web': retain must be a table of counts"),
        (source(retain={"daily": 0}), "group 'web': retain keeps nothing"),
        ({**source(), "max_delete": -1}, "^max_delete must be a whole number of 0 or more"),
        ({**source(), "max_delete": "20"}, "^max_delete must be a whole number"),
        ({**source(), "max_delete": True}, "^max_delete must be a whole number"),
        ({**source(), "max_deletes": 3}, "unknown key 'max_deletes'"),
    ],
)
def test_source_mistakes_name_the_key_and_group(data: dict[str, Any], message: str) -> None:
    """Each mistake of a scheduled group is a ``FleetError`` naming its key and group."""
    with pytest.raises(FleetError, match=message):
        Fleet.from_dict(data)


def test_a_mistake_in_a_file_names_the_file_too(tmp_path: Path) -> None:
    """A group without select or source, in a file: the message names file and group."""
    path = tmp_path / "fleet.toml"
    path.write_text('version = 1\n[[group]]\nname = "web"\nkeep = 3\n')
    with pytest.raises(FleetError, match=rf"^{path}: group 'web': a group needs select"):
        Fleet.load(path)


def two(first: str, second: str, names: tuple[str, str] = ("web", "db")) -> dict[str, Any]:
    """Two source groups of these templates."""
    return {
        "version": 1,
        "group": [
            {"name": name, "source": {"droplet_tag": name}, "every": "24h", "snapshot_name": text}
            for name, text in zip(names, (first, second), strict=True)
        ],
    }


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("{droplet_name}-{droplet_id}-{time}", "{group}-{droplet_id}-{time}"),
        ("{droplet_id}-{time}", "{droplet_id}-{time}"),
        ("nightly-{droplet_id}-{time}", "{droplet_name}-{droplet_id}-{time}"),
    ],
)
def test_templates_that_could_match_one_name_are_refused(first: str, second: str) -> None:
    """Two groups whose templates could both match a name: ``FleetError`` naming both groups
    and a name they share."""
    with pytest.raises(FleetError, match=r"groups 'web' and 'db': .*could both match one name"):
        Fleet.from_dict(two(first, second))


def test_the_default_template_with_distinct_groups_is_fine() -> None:
    """The default template is ``{group}-...``: two groups (even one named as the other's
    prefix) never share a name."""
    default = "{group}-{droplet_id}-{time}"
    assert len(Fleet.from_dict(two(default, default, ("web", "web-1"))).sources) == 2


def test_a_select_group_may_sit_beside_a_source_group() -> None:
    """A select group and a source group in one file load; the select group passes over
    the source group's snapshots when planning (not here)."""
    data = source()
    data["group"].append({"name": "all", "select": {}})
    assert [type(group) for group in Fleet.from_dict(data).groups] == [SourceGroup, Group]


def test_regions_are_checked_against_the_listed_ones() -> None:
    """``check_regions``: a region the API does not list, or lists as unavailable, is a
    ``FleetError`` naming it and its group; listed, available ones pass."""
    fleet = Fleet.from_dict(one(regions=["nyc3", "mars1"]))
    with pytest.raises(FleetError, match="group 'web': region 'mars1' is unknown"):
        fleet.check_regions({"nyc3": True})
    with pytest.raises(FleetError, match="group 'web': region 'nyc3' is not available"):
        fleet.check_regions({"nyc3": False, "mars1": True})
    fleet.check_regions({"nyc3": True, "mars1": True})
