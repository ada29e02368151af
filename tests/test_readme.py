"""The README's examples and commands stay true."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks(language: str) -> list[str]:
    """The README's fenced code blocks in ``language``, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```$", README.read_text("utf-8"), re.M | re.S)


def test_first_command_lists_the_sandbox() -> None:
    """The README's first command installs the project and runs ``do-images --sandbox list``."""
    first = blocks("sh")[0].strip()
    assert "\n" not in first
    assert first.endswith("pip install . && do-images --sandbox list")


def test_second_command_runs_ci() -> None:
    """The README's second command runs the tests as CI does."""
    assert blocks("sh")[1].strip() == "bash .ci/run"


def test_sandbox_examples_run() -> None:
    """Every README example that starts from ``Sandbox`` runs and its test functions pass."""
    examples = [
        code for code in blocks("python") if "from do_images.testing import Sandbox" in code
    ]
    assert examples
    for code in examples:
        namespace: dict[str, object] = {}
        exec(compile(code, str(README), "exec"), namespace)
        tests = [value for name, value in namespace.items() if name.startswith("test_")]
        for test in tests:
            assert callable(test)
            test()
