"""The documentation stays true: every public name documented and in the reference, every
Python block of ``docs/`` and the README run, every ``do-images`` line run on a sandbox.

Blocks built on ``Client()`` / ``AsyncClient()`` run against a sandbox put in the API's
place (it also holds the example ids the pages use, such as 12345). A block or command
that needs a real account (or files and a Spaces bucket of its own) is marked with the
HTML comment ``<!-- needs: account -->`` on the line before its fence; one for a tool
these tests do not have, ``<!-- needs: doctl -->`` and the like. A block marked
``<!-- runs: tests/FILE.py -->`` is run there instead (against a served sandbox).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import do_images
import do_images.fleet
import do_images.testing
from do_images.testing import Sandbox
from support import Stream

ROOT = Path(__file__).resolve().parents[1]
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
NEEDS = re.compile(r"<!-- needs: [a-z ,-]+ -->")
"""A block not run: it needs an account, or a tool these tests do not have."""
EXAMPLE_IDS = {12345: "snapshot", 67890: "backup"}
"""Ids the pages' examples use, and the kind of image each is."""


def fenced(path: Path, language: str) -> Iterator[tuple[int, str, list[str]]]:
    """``(line, code, markers)`` of each fenced block in ``language`` (any, for ``.*``),
    those indented in a list item too (dedented); ``line`` is the opening fence's, and
    ``markers`` the HTML comments on the lines right above it."""
    text = path.read_text(encoding="utf-8")
    fence = rf"^(?P<indent> *)```{language}\n(?P<code>.*?)^(?P=indent)```$"
    for match in re.finditer(fence, text, re.M | re.S):
        above = text[: match.start()].rstrip("\n").split("\n")
        markers = []
        while above and re.fullmatch(r"\s*<!--.*-->\s*", above[-1]):
            markers.append(above.pop().strip())
        line = text[: match.start()].count("\n") + 1
        yield line, textwrap.dedent(match.group("code")), markers


def blocks(path: Path, language: str, marker: str | None = None) -> Iterator[tuple[int, str]]:
    """``(line, code)`` of each fenced block in ``language``: the unmarked ones, or with
    ``marker``, those marked ``<!-- runs: MARKER -->``."""
    for line, code, markers in fenced(path, language):
        if marker is not None:
            wanted = f"<!-- runs: {marker} -->" in markers
        else:
            wanted = not any(NEEDS.fullmatch(m) or m.startswith("<!-- runs: ") for m in markers)
        if wanted:
            yield line, code


PYTHON = [
    pytest.param(path, code, id=f"{path.name}:{line}")
    for path in PAGES
    for line, code in blocks(path, "python")
]
SHELL = [
    pytest.param(command, id=f"{path.name}:{line}:{command[:40]}")
    for path in PAGES
    for line, code in blocks(path, "sh")
    for command in (c.split("  #")[0].strip() for c in code.replace("\\\n", " ").splitlines())
    if command.startswith("do-images ")
]


def example_sandbox() -> Sandbox:
    sandbox = Sandbox()
    for image_id, kind in EXAMPLE_IDS.items():
        sandbox.add_image(f"example-{image_id}", id=image_id, regions=["lon1"], type=kind)
    return sandbox


FLEET_TOML = next(code for _, code in blocks(ROOT / "docs" / "fleets.md", "toml"))
"""The fleet file the fleets page shows: the one its commands plan and apply."""


@pytest.fixture
def in_the_apis_place(monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """``Client()`` and ``AsyncClient()`` of the examples answer from a sandbox."""
    sandbox = example_sandbox()

    def client(token: str | None = None, **kwargs: Any) -> do_images.Client:
        return sandbox.client()

    def async_client(token: str | None = None, **kwargs: Any) -> do_images.AsyncClient:
        return sandbox.async_client()

    import do_images.legacy

    real_do = do_images.legacy.DO

    def legacy(token: str, url: str = "", agent: str = "DOBOTO", **kwargs: Any) -> Any:
        return real_do(token, agent=agent, transport=sandbox.transport())

    monkeypatch.setattr(do_images, "Client", client)
    monkeypatch.setattr(do_images, "AsyncClient", async_client)
    monkeypatch.setattr(do_images.legacy, "DO", legacy)
    monkeypatch.setattr(asyncio, "run", _run_fresh)
    return sandbox


def _run_fresh(coroutine: Any) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


@pytest.mark.parametrize(("path", "code"), PYTHON)
def test_python_block_runs(path: Path, code: str, in_the_apis_place: Sandbox) -> None:
    """Fragments find ``do`` (a client) and ``token`` defined; test functions are called,
    with the pytest plugin's fixtures by name."""
    sandbox = in_the_apis_place
    with sandbox.client() as do:
        namespace: dict[str, Any] = {"__name__": "example", "do": do, "token": "dop_v1_example"}
        exec(compile(code, str(path), "exec"), namespace)
        for name, value in list(namespace.items()):
            if name.startswith("test_") and callable(value):
                _call_with_fixtures(value)


def _call_with_fixtures(test: Any) -> None:
    sandbox = example_sandbox()
    wanted = inspect.signature(test).parameters

    async def run_async() -> None:
        async with sandbox.async_client() as client:
            await test(**_fixtures(wanted, sandbox, client))

    if inspect.iscoroutinefunction(test):
        _run_fresh(run_async())
        return
    with sandbox.client() as client:
        test(**_fixtures(wanted, sandbox, client))


def _fixtures(wanted: Any, sandbox: Sandbox, client: Any) -> dict[str, Any]:
    given = {"do_sandbox": sandbox, "do_client": client, "do_async_client": client}
    return {name: given[name] for name in wanted}


@pytest.mark.parametrize("command", SHELL)
def test_do_images_line_runs_on_a_sandbox(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each line, piped output aside, in a folder holding the pages' fleet file and plan."""
    from do_images.cli import main

    argv = shlex.split(command.split(" | ", maxsplit=1)[0])[1:]
    if argv[:2] == ["sandbox", "serve"]:
        pytest.skip("serves until Ctrl-C: tests/test_cli_terminal.py runs it")
    if "--sandbox" not in argv and "--base-url" not in argv:
        argv = ["--sandbox", *argv]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fleet.toml").write_text(FLEET_TOML)
    main(
        ["--sandbox", "plan", "fleet.toml", "--out", "plan.json"],
        stdout=Stream(),
        stderr=Stream(),
        environ={},
    )
    out, err = Stream(), Stream()
    code = main(argv, stdin=Stream("y\n", tty=True), stdout=out, stderr=err, environ={})
    # A line of the docs must at least be a command line that runs: no usage error,
    # no unexpected failure. (A sandbox may answer 4xx where a real account would not.)
    assert code not in (1, 2), err.getvalue()


MARKER = "tests/test_docs.py"
"""Blocks marked ``<!-- runs: tests/test_docs.py -->`` run here as a walkthrough: line
after line in one folder, so a state file carries each to the next, and every line must
succeed."""
WALKTHROUGHS = [
    pytest.param(code, id=f"{path.name}:{line}")
    for path in PAGES
    for line, code in blocks(path, "sh", MARKER)
]


@pytest.mark.parametrize("code", WALKTHROUGHS)
def test_a_walkthrough_runs_line_after_line(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each line of the walkthrough exits 0 in the state the lines before it left."""
    from do_images.cli import main

    monkeypatch.chdir(tmp_path)
    for command in code.replace("\\\n", " ").splitlines():
        out, err = Stream(), Stream()
        code_ = main(shlex.split(command)[1:], stdout=out, stderr=err, environ={})
        assert code_ == 0, (command, err.getvalue())


def test_the_account_transfer_walkthrough_moves_the_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the command line page's walkthrough, the image is bob's: the accounts and the
    transfer id it names are the sandbox's."""
    from do_images.cli import main

    (walkthrough,) = [p.values[0] for p in WALKTHROUGHS if "account-transfer" in str(p.values[0])]
    monkeypatch.chdir(tmp_path)
    for command in str(walkthrough).replace("\\\n", " ").splitlines():
        assert main(shlex.split(command)[1:], stdout=Stream(), stderr=Stream(), environ={}) == 0
    out = Stream()
    argv = ["--sandbox", "--state", "try.json", "--token", "dop_v1_sandbox_bob", "--json", "list"]
    assert main(argv, stdout=out, environ={}) == 0
    assert [image["id"] for image in json.loads(out.getvalue())] == [180040002]


PUBLIC = [
    (module, name)
    for module in (do_images, do_images.testing, do_images.fleet)
    for name in module.__all__
    if not name.startswith("_")
]


@pytest.mark.parametrize(("module", "name"), PUBLIC, ids=lambda v: getattr(v, "__name__", v))
def test_every_public_name_has_a_docstring(module: Any, name: str) -> None:
    """Each public name, and each public method of a public class, has a docstring."""
    value = getattr(module, name)
    if isinstance(value, str):
        return  # a constant (SANDBOX_TOKEN): documented where it is defined
    assert inspect.getdoc(value), f"{module.__name__}.{name} has no docstring"
    if inspect.isclass(value):
        for member, attribute in vars(value).items():
            if member.startswith("_") or not callable(attribute):
                continue
            assert inspect.getdoc(attribute), f"{module.__name__}.{name}.{member} has no docstring"


def test_the_reference_lists_every_public_name() -> None:
    """``docs/reference.md`` renders each name of ``__all__``, the testing and fleet modules."""
    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    missing = [
        name
        for name in do_images.__all__
        if name != "__version__" and f"::: do_images.{name}\n" not in reference
    ]
    assert missing == []
    assert "::: do_images.testing\n" in reference
    assert "::: do_images.fleet\n" in reference


INSTALLERS = re.compile(
    r"\b(?:pip3? install|python3? -m pip install|pipx install|uv pip install|uv add"
    r"|uv tool install|poetry add)\b([^`\n|;&)#]*)"
)
FROM_THE_INDEX = re.compile(r"do[-_]images(\[[\w,\s-]*\])?([<>=!~].*)?", re.I)


def index_installs(text: str) -> list[str]:
    """The install commands in ``text`` that ask a package index for ``do-images``: it is
    not on one, so each of them fails."""
    found = []
    for match in INSTALLERS.finditer(text):
        words = [word.strip("'\"") for word in match.group(1).split()]
        if any(FROM_THE_INDEX.fullmatch(word) for word in words):
            found.append(match.group(0).strip())
    return found


def test_index_installs_are_found() -> None:
    """The check below recognises the commands that name the package on an index."""
    assert index_installs("run `pip install do-images` now") == ["pip install do-images"]
    assert index_installs("pip install -U 'do-images[spaces]'") != []
    assert index_installs("pipx install do_images==0.1") != []
    assert index_installs("pip install . && pip install '.[spaces]'") == []
    assert index_installs("pip install .   # the do-images command") == []
    assert index_installs("pip install dist/do_images-0.1.0-py3-none-any.whl") == []


def _docstrings() -> Iterator[tuple[str, str]]:
    for module, name in PUBLIC:
        value = getattr(module, name)
        if isinstance(value, str):
            continue
        yield f"{module.__name__}.{name}", inspect.getdoc(value) or ""
        for member, attribute in vars(value).items() if inspect.isclass(value) else ():
            yield f"{module.__name__}.{name}.{member}", inspect.getdoc(attribute) or ""
    for module in (do_images, do_images.testing, do_images.fleet):
        yield module.__name__, inspect.getdoc(module) or ""


def test_no_page_installs_from_a_package_index() -> None:
    """No page, README or reference docstring tells a reader to install ``do-images``
    from a package index (it is not published): they install from a checkout or a wheel."""
    texts = [(str(page.relative_to(ROOT)), page.read_text("utf-8")) for page in PAGES]
    found = [
        (where, command)
        for where, text in [*texts, *_docstrings()]
        for command in index_installs(text)
    ]
    assert found == []


NOT_TYPE_CHECKED = re.compile(r"^# not type-checked: (?P<reason>\S.*)$", re.M)
"""The visible opt-out from the ``mypy --strict`` pass: a comment line in the block
itself, with its reason."""


def _prelude(code: str) -> str:
    """What a fragment takes as given (``do``, a client; ``token``), declared for mypy."""
    lines = ["from do_images import Client as _Client", "token: str"]
    if re.search(r"\bdo\.", code) and not re.search(r"\bas do\b|^do = ", code, re.M):
        lines.append("do: _Client")
    return "\n".join(lines) + "\n"


def test_python_blocks_pass_mypy_strict(tmp_path: Path) -> None:
    """Every Python block of the pages and the README, account-marked ones included,
    passes ``mypy --strict`` (one run over them all), unless it says why not."""
    where: dict[str, tuple[str, int]] = {}
    for page in PAGES:
        for line, code, _ in fenced(page, "python"):
            if NOT_TYPE_CHECKED.search(code):
                continue
            name = f"docs_{page.stem}_{line}".replace("-", "_").lower() + ".py"
            prelude = _prelude(code)
            (tmp_path / name).write_text(prelude + code, encoding="utf-8")
            where[name] = (str(page.relative_to(ROOT)), line - prelude.count("\n"))
    assert len(where) > 20
    result = subprocess.run(
        [
            *(sys.executable, "-m", "mypy", "--strict", "--no-error-summary"),
            *("--config-file", str(ROOT / "mypy.ini"), "--cache-dir", str(ROOT / ".mypy_cache")),
            *sorted(where),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    errors = []
    for output in result.stdout.splitlines():
        found = re.match(r"(?P<file>\w+\.py):(?P<line>\d+): error: (?P<text>.*)", output)
        if found:
            shown, first = where[found["file"]]
            errors.append(f"{shown}:{first + int(found['line'])}: {found['text']}")
    assert errors == []
    assert result.returncode == 0, result.stdout + result.stderr


def test_few_blocks_opt_out_of_mypy() -> None:
    """Opting out is rare, and each opt-out gives its reason."""
    reasons = [
        found["reason"]
        for page in PAGES
        for _, code, _ in fenced(page, "python")
        for found in NOT_TYPE_CHECKED.finditer(code)
    ]
    assert len(reasons) <= 2, reasons


def test_the_plugin_example_passes_without_auto_mode(pytester: pytest.Pytester) -> None:
    """The sandbox page's pytest plugin example, copied as a project's test file, passes
    under pytest-asyncio's default (strict) mode, with no ``asyncio_mode`` setting, and
    without pytest-asyncio at all."""
    page = ROOT / "docs" / "sandbox.md"
    (code,) = [code for _, code in blocks(page, "python") if "do_async_client" in code]
    pytester.makepyfile(test_copied=code)
    pytester.makeini("[pytest]\nasyncio_mode = strict\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=2)


def test_the_lifecycle_example_stops_when_the_import_fails(in_the_apis_place: Sandbox) -> None:
    """The lifecycle page's example, when its import fails, stops with the reason instead
    of going on to a ``NameError`` on the image it never got."""
    page = ROOT / "docs" / "lifecycle.md"
    (code,) = [code for _, code in blocks(page, "python") if "except ImageFailedError" in code]
    in_the_apis_place.fail_next_import("We had a problem decompressing your file.")
    with pytest.raises(SystemExit, match="import failed: We had a problem"):
        exec(compile(code, str(page), "exec"), {"__name__": "example"})


def _hooks() -> Any:
    """``tools/mkdocs_hooks.py``, the site build's hooks, loaded by its path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("mkdocs_hooks", ROOT / "tools/mkdocs_hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_command_has_its_section_and_reference() -> None:
    """The command line page has a heading and a generated reference for each command,
    once, and for the global options: a new command cannot be left out of the site."""
    hooks = _hooks()
    page = (ROOT / "docs" / "cli.md").read_text("utf-8")
    markers = hooks.MARKER.findall(page)
    assert sorted(markers) == sorted(hooks.commands())
    for name in markers:
        if name != hooks.GLOBAL:
            assert f"### {name}\n\n<!-- cli-reference: {name} -->" in page


def test_the_reference_is_the_parsers_help() -> None:
    """Each command's reference holds its usage, its options with their help, and its
    examples, taken from the parser; a marker naming no command fails the build."""
    hooks = _hooks()
    page = hooks.expand((ROOT / "docs" / "cli.md").read_text("utf-8"))
    assert "<!-- cli-reference" not in page
    assert "do-images list [global options] [--public] [--type {distribution,application}]" in page
    assert "<td><code>--private</code></td><td>only your own images (the default)</td>" in page
    assert "<td><code>--yes, -y, --force, -f</code></td>" in page
    assert "List your images (snapshots, backups, custom images; all pages)" in page
    assert "--type lists only those of one kind. Also: `ls`." in page
    assert "do-images sandbox serve --port 8080" in page
    with pytest.raises(ValueError, match="no command 'frobnicate'"):
        hooks.expand("<!-- cli-reference: frobnicate -->\n")


BASES: dict[str, dict[str, object]] = {
    "select": {"name": "web", "select": {}},
    "source": {"name": "web", "source": {"droplet_tag": "web"}, "every": "24h"},
}
"""The smallest group of each kind: a name and what it takes."""


def fleet_keys() -> dict[str, tuple[bool, str]]:
    """The fleets page's table of keys: ``key -> (required, default as written)``."""
    text = (ROOT / "docs" / "fleets.md").read_text("utf-8")
    rows = re.findall(r"^\| `([\w.\[\]]+)` \| (yes|no|one)[^|]*\|([^|]*)\|", text, re.M)
    return {key: (required != "no", default.strip()) for key, required, default in rows}


def _as_read(default: str) -> object:
    """A default as the table writes it, as the file reader holds it."""
    if default == "none":
        return None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    value = tomllib.loads(f"value = {default.strip('`')}")["value"]
    return tuple(value) if isinstance(value, list) else value


def test_the_fleet_keys_table_is_the_file_readers() -> None:
    """The fleets page's table names every key the reader takes; leaving out a required
    one is an error naming it, and leaving out another gives the default the table says,
    for each kind of group."""
    from do_images import FleetError
    from do_images._jobs import _fleet_file as reader
    from do_images.fleet import Fleet, Group

    table = fleet_keys()
    top = {"version", "max_delete", "[[group]]"}
    assert {key for key in table if "." not in key} - top == reader._GROUP_KEYS
    assert {key[7:] for key in table if key.startswith("select.")} == reader._SELECT_KEYS
    assert {key[7:] for key in table if key.startswith("source.")} == reader._SOURCE_KEYS
    assert table["version"][0]
    assert table["[[group]]"][0]
    assert Fleet.from_dict({"version": 1, "group": [BASES["select"]]}).max_delete == _as_read(
        table["max_delete"][1]
    )
    for kind, keys in (
        ("select", reader._SELECT_GROUP_KEYS),
        ("source", reader._SOURCE_GROUP_KEYS),
    ):
        for key in keys:
            group = {k: v for k, v in BASES[kind].items() if k != key}
            if table[key][0]:
                with pytest.raises(FleetError, match=key):
                    Fleet.from_dict({"version": 1, "group": [group]})
                continue
            read = getattr(Fleet.from_dict({"version": 1, "group": [group]}).groups[0], key)
            assert getattr(read, "text", read) == _as_read(table[key][1]), key
    selected = Fleet.from_dict({"version": 1, "group": [BASES["select"]]}).groups[0]
    assert isinstance(selected, Group)
    for key in reader._SELECT_KEYS:
        assert getattr(selected.select, key) == _as_read(table[f"select.{key}"][1]), key


WIDE = re.compile(r"<!-- wide: \S.* -->")
"""The marker of a block whose lines may be wider than the column, with its reason."""
COLUMN = 88
"""The widest code line that fits the site's column (and a terminal's 88) unscrolled."""


def test_code_fits_the_column() -> None:
    """No line of a code block is wider than the site's column, save in a block marked
    ``<!-- wide: reason -->``; those stay rare."""
    wide = []
    marked = 0
    for page in PAGES:
        for line, code, markers in fenced(page, r"[\w-]*"):
            if any(WIDE.fullmatch(marker) for marker in markers):
                marked += 1
                continue
            wide += [
                f"{page.name}:{line + number}: {len(text)} characters"
                for number, text in enumerate(code.splitlines(), 1)
                if len(text) > COLUMN
            ]
    assert wide == []
    assert marked <= 3


def test_no_code_span_escapes_a_pipe() -> None:
    """A ``|`` inside backticks needs no backslash, in a table too; one would show."""
    escaped = [
        f"{page.name}: {span}"
        for page in PAGES
        for span in re.findall(r"`[^`\n]*\\\|[^`\n]*`", page.read_text("utf-8"))
    ]
    assert escaped == []


def test_the_site_watches_the_code_and_links_no_invented_repository() -> None:
    """``mkdocs serve`` rebuilds on docstring edits (it watches ``src``); a repository
    name is shown only with the repository's URL; the README's docs command silences the
    banner as CI does."""
    import yaml

    config = yaml.load((ROOT / "mkdocs.yml").read_text("utf-8"), Loader=yaml.BaseLoader)
    assert "src" in config["watch"]
    assert "repo_name" not in config or "repo_url" in config
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "NO_MKDOCS_2_WARNING=1 mkdocs serve" in readme


def test_blocks_run_elsewhere_name_the_file_that_runs_them() -> None:
    """A ``<!-- runs: FILE -->`` marker names a test file that collects its blocks, so no
    block is left run by neither."""
    named = {
        match.group(1)
        for path in PAGES
        for match in re.finditer(r"^<!-- runs: (\S+) -->$", path.read_text("utf-8"), re.M)
    }
    assert named, "no block is run elsewhere: drop this test or the marker"
    for name in named:
        runner = ROOT / name
        assert runner.is_file(), name
        assert f'MARKER = "{name}"' in runner.read_text("utf-8"), name
