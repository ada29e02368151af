"""``Sandbox(state=PATH)``: the sandbox kept in a file, across objects and processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from do_images import ActionStatus, ImageStatus
from do_images.testing import Sandbox, SandboxStateError

SNAPSHOT_ID = 180040001


def test_a_new_file_holds_the_seeded_state(tmp_path: Path) -> None:
    """A sandbox on a new path writes its format, version 1 and the seeded images there."""
    path = tmp_path / "state.json"
    sandbox = Sandbox(state=path)
    data = json.loads(path.read_text())
    assert data["format"] == "do-images sandbox state"
    assert data["version"] == 1
    assert len(data["world"]["images"]) == len(sandbox.images)


def test_changes_and_running_work_survive_a_new_sandbox(tmp_path: Path) -> None:
    """A second sandbox on the file has the changes, the clock, the work under way and the ids."""
    path = tmp_path / "state.json"
    first = Sandbox(state=path, action_seconds=30)
    with first.client() as do:
        do.image.update(SNAPSHOT_ID, "renamed")
        action = do.image.transfer(SNAPSHOT_ID, "sfo3")
        image = do.image.create("kept", "https://example.com/a.img", "nyc3")
    second = Sandbox(state=path)
    assert second.now == first.now
    with second.client() as do:
        assert do.image.info(SNAPSHOT_ID).name == "renamed"
        assert do.image.info(image.id).status is ImageStatus.NEW
        done = do.image.wait(action)
        assert done.status is ActionStatus.completed
        assert "sfo3" in do.image.info(SNAPSHOT_ID).regions  # type: ignore[operator]
        assert do.image.wait_image(image.id).status is ImageStatus.available
        fresh = do.image.create("next", "https://example.com/b.img", "nyc3")
    assert fresh.id == image.id + 1  # the id sequence was kept too


def test_two_sandboxes_on_one_file_see_each_others_changes(tmp_path: Path) -> None:
    """Two sandboxes sharing one file each see what the other changed."""
    path = tmp_path / "state.json"
    one, two = Sandbox(state=path), Sandbox(state=path)
    with one.client() as a, two.client() as b:
        a.image.update(SNAPSHOT_ID, "from one")
        assert b.image.info(SNAPSHOT_ID).name == "from one"
        b.image.destroy(SNAPSHOT_ID)
        assert SNAPSHOT_ID not in {image.id for image in a.image.list(private=True)}


def test_reading_does_not_rewrite_the_file(tmp_path: Path) -> None:
    """Requests that change nothing leave the file untouched (same inode and mtime)."""
    path = tmp_path / "state.json"
    sandbox = Sandbox(state=path)
    before = path.stat().st_mtime_ns, path.stat().st_ino
    with sandbox.client() as do:
        do.image.list()
        do.image.info(SNAPSHOT_ID)
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before


def test_a_realtime_sandbox_counts_the_time_the_file_lay_unused(tmp_path: Path) -> None:
    """Only a ``realtime`` sandbox adds the hour the file lay unused to its clock."""
    path = tmp_path / "state.json"
    Sandbox(state=path)
    data = json.loads(path.read_text())
    data["saved_at"] -= 3600  # saved an hour ago
    path.write_text(json.dumps(data))
    assert Sandbox(state=path).clock() < 3600  # virtual time moves only when advanced
    assert Sandbox(state=path, realtime=True).clock() >= 3600


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "not JSON"),
        ("{", "not JSON"),
        ("[]", "not a sandbox state file"),
        ('{"format": "something else"}', "not a sandbox state file"),
        ('{"format": "do-images sandbox state", "version": 99}', "of version 99"),
        (
            '{"format": "do-images sandbox state", "version": 1, "start": "2026-01-01T00:00:00Z",'
            ' "clock": 0, "saved_at": 0, "world": {"images": "nope"}}',
            "damaged sandbox state",
        ),
    ],
)
def test_a_file_that_is_no_state_is_refused_and_left_alone(
    tmp_path: Path, content: str, message: str
) -> None:
    """Non-JSON, foreign, future or damaged files raise ``SandboxStateError``, left as they were."""
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(SandboxStateError, match=message):
        Sandbox(state=path)
    assert path.read_text() == content


def test_a_state_error_is_a_value_error() -> None:
    """``SandboxStateError`` is a ``ValueError``, so callers that catch that catch it."""
    assert issubclass(SandboxStateError, ValueError)


def test_an_unwritable_place_is_a_state_error(tmp_path: Path) -> None:
    """A state path in a directory that does not exist raises ``SandboxStateError``."""
    with pytest.raises(SandboxStateError, match="cannot"):
        Sandbox(state=tmp_path / "missing-dir" / "state.json")


# ------------------------------------------------- writes: atomic, once, only on change


def _signature(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return (info.st_ino, info.st_mtime_ns, info.st_size)


def test_a_write_that_fails_partway_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fsync`` fails: the previous state is intact, byte for byte, and no temp file stays."""
    path = tmp_path / "state.json"
    sandbox = Sandbox(state=path)
    before = path.read_bytes()

    def broken(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", broken)
    with sandbox.client() as do, pytest.raises(SandboxStateError, match="No space left"):
        do.image.update(SNAPSHOT_ID, "renamed")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "state.json.lock"]
    monkeypatch.undo()
    assert Sandbox(state=path).images[0].name == sandbox.images[0].name


def test_a_write_serialises_the_state_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writing the state calls ``json.dumps`` on it once and stores the documented envelope."""
    from do_images.testing import _state

    state = _state.StateFile(tmp_path / "s.json")
    calls: list[object] = []
    dumps = json.dumps

    def counted(value: object, **kwargs: object) -> str:
        calls.append(value)
        return dumps(value, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("json.dumps", counted)
    state.write(
        {"start": "x", "elapsed": 0.0, "world": {"images": [1, 2]}}, clock=1.5, saved_at=9.0
    )
    big = [value for value in calls if isinstance(value, dict)]
    assert len(big) == 1
    monkeypatch.undo()
    data = json.loads((tmp_path / "s.json").read_text())
    assert data == {
        "format": "do-images sandbox state",
        "version": 1,
        "clock": 1.5,
        "saved_at": 9.0,
        "start": "x",
        "elapsed": 0.0,
        "world": {"images": [1, 2]},
    }


def test_a_realtime_sandbox_does_not_rewrite_its_file_on_reads(tmp_path: Path) -> None:
    """Its clock moves on its own; a GET changes nothing, so the file stays the same file."""
    path = tmp_path / "state.json"
    sandbox = Sandbox(state=path, realtime=True)
    with sandbox.client() as do:
        do.image.info(SNAPSHOT_ID)
        before = _signature(path)
        for _ in range(3):
            do.image.list(private=True)
            do.image.info(SNAPSHOT_ID)
        assert _signature(path) == before
        do.image.update(SNAPSHOT_ID, "changed")
    assert _signature(path) != before


def test_advancing_a_virtual_clock_is_written(tmp_path: Path) -> None:
    """A virtual clock moved by ``advance`` is a change: the next sandbox starts there."""
    path = tmp_path / "state.json"
    first = Sandbox(state=path)
    first.advance(120)
    assert Sandbox(state=path).now == first.now


def test_accounts_tags_and_transfers_survive_the_file(tmp_path: Path) -> None:
    """Accounts, tags and a pending account transfer live on in the file, and it completes there."""
    path = tmp_path / "state.json"
    first = Sandbox(state=path)
    bob = first.account("bob")
    with first.client() as do:
        do.image.tag(180040007, "Release")
        transfer = do.image.transfer_to_account(SNAPSHOT_ID, email=bob.email)
    second = Sandbox(state=path)
    with second.account("bob").client() as do:
        do.image.accept_account_transfer(SNAPSHOT_ID, transfer.transfer_id, team=bob.team)
        assert SNAPSHOT_ID in {image.id for image in do.image.list(private=True)}
    with second.client() as do:
        assert do.image.info(180040007).tags == ["Release"]
        assert SNAPSHOT_ID not in {image.id for image in do.image.list(private=True)}
    assert [t.state for t in Sandbox(state=path).account_transfers] == ["accepted"]


def test_a_state_without_accounts_is_read_as_one_account(tmp_path: Path) -> None:
    """A file written before accounts and tags existed still loads: one account, as before."""
    path = tmp_path / "state.json"
    Sandbox(state=path)
    data = json.loads(path.read_text())
    for key in ("accounts", "owners", "tags", "transfers", "next_transfer_id"):
        del data["world"][key]
    path.write_text(json.dumps(data))
    with Sandbox(state=path).client() as do:
        assert len(do.image.list(private=True)) == 7


def test_a_served_sandbox_keeps_answering_after_a_lone_surrogate(tmp_path: Path) -> None:
    """Over real HTTP, a rename to a name holding a lone surrogate (valid JSON, which any
    client may send) is answered, the sandbox keeps answering, and the name survives a
    restart from the state file."""
    import httpx

    path = tmp_path / "state.json"
    sandbox = Sandbox(state=path)
    headers = {"Authorization": "Bearer t", "Content-Type": "application/json"}
    with sandbox.serve() as url, httpx.Client(base_url=url, headers=headers, timeout=5) as http:
        renamed = http.put(f"/v2/images/{SNAPSHOT_ID}", content=b'{"name": "\\ud800x"}')
        listed = http.get("/v2/images", params={"private": "true"})
        other = http.get("/v2/images/180040002")
    assert renamed.status_code == 200
    assert renamed.json()["image"]["name"] == "\ud800x"
    assert (listed.status_code, other.status_code) == (200, 200)
    text = path.read_text(encoding="utf-8")
    assert "\\ud800x" in text
    again = Sandbox(state=path)
    assert next(i.name for i in again.images if i.id == SNAPSHOT_ID) == "\ud800x"
