"""The documentation stays true: every public name documented and in the reference, every
Python block of ``docs/`` and the README run, every ``do-images`` line run on a sandbox.

Blocks built on ``Client()`` / ``AsyncClient()`` run against a sandbox put in the API's
place (it also holds the example ids the pages use, such as 12345). A block or command
that needs a real account (or files and a Spaces bucket of its own) is marked with the
HTML comment ``<!-- needs: account -->`` on the line before its fence.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import shlex
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
MARKER = "<!-- needs: account -->"
EXAMPLE_IDS = {12345: "snapshot", 67890: "backup"}
"""Ids the pages' examples use, and the kind of image each is."""


def blocks(path: Path, language: str) -> Iterator[tuple[int, str]]:
    """``(line, code)`` of each unmarked fenced block in ``language``."""
    text = path.read_text(encoding="utf-8")
    for match in re.finditer(rf"^```{language}\n(.*?)^```$", text, re.M | re.S):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if before.strip() != MARKER:
            yield text[: match.start()].count("\n") + 1, match.group(1)


PYTHON = [
    pytest.param(path, code, id=f"{path.name}:{line}")
    for path in PAGES
    for line, code in blocks(path, "python")
]
SHELL = [
    pytest.param(command, id=f"{path.name}:{line}:{command[:40]}")
    for path in PAGES
    for line, code in blocks(path, "sh")
    for command in (c.split("  #")[0].strip() for c in code.splitlines())
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
