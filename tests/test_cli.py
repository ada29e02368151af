"""The ``do-images`` command line, run in-process through ``main(argv)``."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from do_images import Client
from do_images.cli import ExitCode, Target, main

NOW = "2026-11-27T09:00:00Z"


@dataclass
class FakeAPI:
    """A small Images API on an ``httpx.MockTransport``, with a virtual clock."""

    now: float = 0.0
    images: dict[int, dict[str, Any]] = field(default_factory=dict)
    actions: dict[int, dict[str, Any]] = field(default_factory=dict)
    fail: list[int] = field(default_factory=list)
    action_seconds: float = 12.0
    action_result: str = "completed"

    def __post_init__(self) -> None:
        seeds: list[dict[str, Any]] = [
            {"id": 101, "name": "24.04 (LTS) x64", "type": "base", "distribution": "Ubuntu",
             "slug": "ubuntu-24-04-x64", "public": True,
             "regions": ["nyc1", "nyc3", "sfo3", "ams3", "fra1"]},
            {"id": 102, "name": "Docker on Ubuntu", "type": "base", "distribution": "Ubuntu",
             "slug": "docker-20-04", "public": True, "regions": ["nyc3"]},
            {"id": 201, "name": "web-snapshot", "type": "snapshot", "distribution": "Debian",
             "slug": None, "public": False, "regions": ["nyc3"], "tags": ["web"]},
            {"id": 202, "name": "db-backup", "type": "backup", "distribution": "Debian",
             "slug": None, "public": False, "regions": ["sfo3"], "tags": []},
        ]  # fmt: skip
        for image in seeds:
            image.update(
                created_at=NOW, min_disk_size=25, size_gigabytes=2.36, description="",
                status="available", error_message="",
            )  # fmt: skip
            self.images[image["id"]] = image

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def clock(self) -> float:
        return self.now

    def client(self, target: Target) -> Client:
        return Client(
            "secret-token-123",
            transport=httpx.MockTransport(self.handle),
            sleep=self.sleep,
            clock=self.clock,
            max_retries=0,
        )

    def _action(self, action_id: int) -> dict[str, Any]:
        action = self.actions[action_id]
        if action["status"] == "in-progress" and self.now - action["_at"] >= self.action_seconds:
            action.update(status=self.action_result, completed_at=NOW)
        return {key: value for key, value in action.items() if key != "_at"}

    def handle(self, request: httpx.Request) -> httpx.Response:
        headers = {"x-request-id": "req-42"}
        if self.fail:
            status = self.fail.pop(0)
            body = {"id": "too_many_requests" if status == 429 else "error", "message": "no"}
            return httpx.Response(status, json=body, headers=headers)
        parts = request.url.path.strip("/").split("/")[2:]
        method = request.method
        if not parts:
            if method == "POST":
                body = json.loads(request.content)
                new = dict(self.images[201], id=301, name=body["name"], type="custom")
                new.update(status="NEW", regions=[body["region"]], tags=body.get("tags", []))
                self.images[301] = new
                return httpx.Response(202, json={"image": new}, headers=headers)
            images = list(self.images.values())
            query = request.url.params
            if query.get("private") == "true":
                images = [image for image in images if not image["public"]]
            if query.get("type") == "distribution":
                images = [image for image in images if image["id"] == 101]
            if "tag_name" in query:
                images = [image for image in images if query["tag_name"] in image.get("tags", [])]
            page = {"images": images, "links": {}, "meta": {"total": len(images)}}
            return httpx.Response(200, json=page, headers=headers)
        key = parts[0]
        image = next(
            (i for i in self.images.values() if str(i["id"]) == key or i["slug"] == key), None
        )
        if image is None:
            body = {"id": "not_found", "message": "The resource you requested could not be found."}
            return httpx.Response(404, json=body, headers=headers)
        if len(parts) == 1:
            if method == "DELETE":
                del self.images[image["id"]]
                return httpx.Response(204, headers=headers)
            if method == "PUT":
                image.update(json.loads(request.content))
            return httpx.Response(200, json={"image": image}, headers=headers)
        if len(parts) == 2 and method == "POST":
            body = json.loads(request.content)
            if body.get("region") == "nowhere":
                msg = {"id": "unprocessable_entity", "message": "region is not valid"}
                return httpx.Response(422, json=msg, headers=headers)
            action_id = 900 + len(self.actions)
            self.actions[action_id] = {
                "id": action_id, "status": "in-progress", "type": body["type"],
                "started_at": NOW, "completed_at": None, "resource_id": image["id"],
                "resource_type": "image", "region": None, "region_slug": body.get("region"),
                "_at": self.now,
            }  # fmt: skip
            return httpx.Response(201, json={"action": self._action(action_id)}, headers=headers)
        if len(parts) == 2:
            actions = [self._action(i) for i in self.actions]
            page = {"actions": actions, "links": {}, "meta": {"total": len(actions)}}
            return httpx.Response(200, json=page, headers=headers)
        action_id = int(parts[2])
        if action_id not in self.actions:
            body = {"id": "not_found", "message": "The resource you requested could not be found."}
            return httpx.Response(404, json=body, headers=headers)
        return httpx.Response(200, json={"action": self._action(action_id)}, headers=headers)


class Stream(io.StringIO):
    """A text stream that can pretend to be a terminal."""

    def __init__(self, text: str = "", *, tty: bool = False) -> None:
        super().__init__(text)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@dataclass
class Result:
    """What one run of the command line did."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Run = Callable[..., Result]


@pytest.fixture
def api() -> FakeAPI:
    """A fresh fake API for each test."""
    return FakeAPI()


@pytest.fixture
def run(api: FakeAPI) -> Run:
    """Runs ``main(argv)`` against the fake API; returns the exit code and both streams."""

    def run(*argv: str, stdin: str = "", tty: bool = False, environ: Any = None) -> Result:
        out, err = Stream(tty=tty), Stream(tty=tty)
        code = main(
            list(argv),
            client_factory=api.client,
            environ={} if environ is None else environ,
            stdin=Stream(stdin, tty=tty),
            stdout=out,
            stderr=err,
        )
        return Result(code, out.getvalue(), err.getvalue())

    return run


def test_list_prints_an_aligned_table(run: Run) -> None:
    """``list`` prints a header and one row per image, columns aligned."""
    result = run("list")
    lines = result.out.splitlines()
    assert result.code == 0
    assert lines[0].split() == ["ID", "NAME", "TYPE", "DISTRIBUTION", "REGIONS", "SIZE", "CREATED"]
    assert len(lines) == 1 + 4
    name_column = lines[0].index("NAME")
    assert all(line[name_column - 2 : name_column] == "  " for line in lines)
    assert "nyc1,nyc3,sfo3 +2" in lines[1]


def test_list_json_is_the_documented_dicts(run: Run, api: FakeAPI) -> None:
    """``--json list`` prints a JSON array of exactly what the API sent."""
    result = run("--json", "list")
    assert result.json() == list(api.images.values())


def test_global_options_are_accepted_after_the_command(run: Run, api: FakeAPI) -> None:
    """``list --json`` means the same as ``--json list``."""
    assert run("list", "--json").json() == list(api.images.values())


def test_list_filters_reach_the_api(run: Run) -> None:
    """``--private`` and ``--tag`` narrow the list."""
    assert [image["id"] for image in run("list", "--private", "--json").json()] == [201, 202]
    assert [image["id"] for image in run("list", "--tag", "web", "--json").json()] == [201]


def test_info_prints_a_key_value_view(run: Run) -> None:
    """``info`` prints one ``key  value`` line per field the API sent."""
    result = run("info", "ubuntu-24-04-x64")
    assert result.code == 0
    assert re.search(r"^slug\s+ubuntu-24-04-x64$", result.out, re.M)
    assert re.search(r"^regions\s+nyc1, nyc3, sfo3, ams3, fra1$", result.out, re.M)


def test_not_found_exits_4_with_one_line(run: Run) -> None:
    """A missing image is one line on stderr naming it and the request id, exit 4."""
    result = run("info", "999")
    assert result.code == 4
    assert result.err == "error: not found: image 999 (request id req-42)\n"


def test_usage_error_exits_2_with_one_line(run: Run) -> None:
    """A bad argument is one line on stderr, exit 2."""
    result = run("info", "-5")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert result.err.startswith("error: ")


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, ExitCode.AUTH),
        (403, ExitCode.AUTH),
        (429, ExitCode.RATE_LIMITED),
        (500, ExitCode.API_ERROR),
        (422, ExitCode.API_ERROR),
    ],
)
def test_error_status_maps_to_its_exit_code(
    run: Run, api: FakeAPI, status: int, code: ExitCode
) -> None:
    """Each class of error status exits with its own code and one stderr line."""
    api.fail.append(status)
    result = run("list")
    assert result.code == code
    assert result.err.count("\n") == 1


def test_missing_token_says_how_to_set_it(run: Run) -> None:
    """Without a token the error names the variables and ``--sandbox``; exit 5."""
    result = main(["list"], environ={}, stdout=Stream(), stderr=(err := Stream()))
    assert result == ExitCode.AUTH
    assert "DIGITALOCEAN_TOKEN" in err.getvalue()
    assert "--sandbox" in err.getvalue()


def test_token_is_never_printed(run: Run, api: FakeAPI) -> None:
    """An auth failure names the variable, never the token itself."""
    api.fail.append(401)
    result = run("list")
    assert "secret-token-123" not in result.out + result.err


def test_delete_refuses_without_yes_off_a_terminal(run: Run, api: FakeAPI) -> None:
    """``delete`` without ``--yes`` and stdin not a terminal refuses, exit 2, nothing deleted."""
    result = run("delete", "201")
    assert result.code == ExitCode.USAGE
    assert "--yes" in result.err
    assert 201 in api.images


def test_delete_with_yes_deletes(run: Run, api: FakeAPI) -> None:
    """``delete --yes`` deletes the image."""
    result = run("delete", "201", "--yes")
    assert result.code == 0
    assert 201 not in api.images


def test_delete_asks_on_a_terminal(run: Run, api: FakeAPI) -> None:
    """On a terminal ``delete`` asks, naming the image, and deletes on ``y``."""
    result = run("delete", "201", stdin="y\n", tty=True)
    assert "web-snapshot" in result.err
    assert result.code == 0
    assert 201 not in api.images


def test_delete_declined_keeps_the_image(run: Run, api: FakeAPI) -> None:
    """Answering anything but yes keeps the image and exits 1."""
    result = run("delete", "201", stdin="\n", tty=True)
    assert result.code == ExitCode.FAILED
    assert 201 in api.images


def test_transfer_wait_prints_plain_progress_lines(run: Run) -> None:
    """``transfer --wait`` off a terminal writes one progress line per poll, then the action."""
    result = run("transfer", "201", "sfo3", "--wait", "--poll", "5")
    assert result.code == 0
    assert result.err.splitlines() == [
        "transfer 900 on image 201: in-progress, 0 s",
        "transfer 900 on image 201: in-progress, 5 s",
        "transfer 900 on image 201: in-progress, 10 s",
        "transfer 900 on image 201: completed, 15 s",
    ]
    assert re.search(r"^status\s+completed$", result.out, re.M)


def test_transfer_wait_on_a_terminal_rewrites_one_line(run: Run) -> None:
    """On a terminal the progress is one line rewritten with ``\\r``."""
    result = run("transfer", "201", "sfo3", "--wait", tty=True)
    assert result.err.count("\n") == 1
    assert result.err.count("\r") == 4


def test_action_failed_exits_7(run: Run, api: FakeAPI) -> None:
    """An errored action exits 7."""
    api.action_result = "errored"
    result = run("convert", "202", "--wait")
    assert result.code == ExitCode.ACTION_FAILED
    assert result.err.splitlines()[-1] == "error: action 900 (convert) on image 202 errored"


def test_wait_timeout_exits_8(run: Run) -> None:
    """A wait that runs out of time exits 8 and says how to keep waiting."""
    result = run("transfer", "201", "sfo3", "--wait", "--timeout", "3")
    assert result.code == ExitCode.WAIT_TIMED_OUT
    assert "do-images wait 201 900" in result.err.splitlines()[-1]


def test_interrupted_wait_says_the_action_goes_on(run: Run, api: FakeAPI) -> None:
    """Ctrl-C while waiting exits 130 and says the action continues server-side."""

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    api.sleep = interrupt  # type: ignore[method-assign]
    result = run("transfer", "201", "sfo3", "--wait")
    assert result.code == 130
    assert "goes on server-side" in result.err.splitlines()[-1]


def test_help_lists_the_exit_codes(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` lists every exit code."""
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for code in ExitCode:
        assert re.search(rf"^\s+{int(code)}\s+\S", text, re.M), code
