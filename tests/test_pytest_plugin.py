"""The pytest plugin, as a project using ``do-images`` sees it (pytester)."""

from __future__ import annotations

import subprocess
import sys

import pytest

USER_TESTS = """
import pytest

def test_transfer(do_client, do_sandbox):
    action = do_client.image.transfer(180040001, "sfo3", wait=True)
    assert action.status == "completed"
    assert do_sandbox.count("POST") == 1

@pytest.mark.do_sandbox(seed=False)
def test_marker_options(do_client):
    assert do_client.image.list() == []

@pytest.mark.do_sandbox(import_seconds=900)
async def test_async_import(do_async_client, do_sandbox):
    image = await do_async_client.image.create("web", "https://example.com/w.img", "nyc3")
    do_sandbox.advance(899)
    assert (await do_async_client.image.info(image.id)).status == "NEW"
    do_sandbox.advance(2)
    assert (await do_async_client.image.info(image.id)).status == "available"

def test_fresh_per_test(do_sandbox):
    assert do_sandbox.count() == 0
"""


def test_a_project_uses_the_fixtures_and_the_marker(pytester: pytest.Pytester) -> None:
    """A user's project runs four tests with the plugin's fixtures and marker, all passing."""
    pytester.makepyfile(test_user=USER_TESTS)
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_a_bad_marker_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """A positional argument to ``do_sandbox`` fails the run saying it takes keywords only."""
    pytester.makepyfile(
        test_bad="""
import pytest

@pytest.mark.do_sandbox(False)
def test_positional(do_sandbox):
    pass
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*keyword arguments only*"])
    assert result.ret != 0


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    """``pytest --markers`` lists ``do_sandbox(**kwargs)``."""
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.do_sandbox(**kwargs)*"])


def test_loading_the_plugin_imports_neither_httpx_nor_pydantic() -> None:
    """Importing the plugin module loads neither httpx nor pydantic."""
    code = (
        "import sys, do_images.pytest_plugin; "
        "print(sorted(m for m in ('httpx', 'pydantic') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
