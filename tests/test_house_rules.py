"""The house rules that hold for the whole tree: no source file over 600 lines, no import
circle in ``src/do_images``, every test documented, no docstring stranded away from what it
documents."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "do_images"
TESTS = ROOT / "tests"
MAX_LINES = 600


# ------------------------------------------------------------------ file sizes


def long_files(root: Path = ROOT / "src", limit: int = MAX_LINES) -> dict[str, int]:
    """Each file under ``root`` longer than ``limit`` lines, with its length."""
    found: dict[str, int] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            lines = len(path.read_bytes().splitlines())
            if lines > limit:
                found[path.relative_to(root.parent).as_posix()] = lines
    return found


def test_no_source_file_is_over_600_lines() -> None:
    """No file under ``src/`` is longer than 600 lines."""
    assert long_files() == {}


def test_the_size_check_counts_lines(tmp_path: Path) -> None:
    """A file of 601 lines is over the limit; one of 600 is not."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "long.py").write_text("x = 1\n" * 601)
    (tmp_path / "src" / "fits.py").write_text("x = 1\n" * 600)
    assert long_files(tmp_path / "src") == {"src/long.py": 601}


# ------------------------------------------------------------------ test docstrings


def undocumented_tests(path: Path) -> list[str]:
    """The ``test_*`` functions (methods and nested ones too) of ``path`` with no docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name.startswith("test_")
        and not ast.get_docstring(node)
    ]


def test_every_test_says_what_it_proves() -> None:
    """Every test function in ``tests/test_*.py`` has a docstring."""
    missing = {
        path.name: names
        for path in sorted(TESTS.glob("test_*.py"))
        if (names := undocumented_tests(path))
    }
    assert missing == {}


def test_the_docstring_check_finds_a_test_without_one(tmp_path: Path) -> None:
    """A test without a docstring is reported, sync or async; a helper is not."""
    module = tmp_path / "test_x.py"
    module.write_text(
        'def test_a():\n    """Proves a."""\n'
        "def test_b():\n    pass\n"
        "async def test_c():\n    pass\n"
        "def helper():\n    pass\n"
    )
    assert undocumented_tests(module) == ["test_b", "test_c"]


# ------------------------------------------------------------------ the imports


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """``src/do_images/cli/_main.py`` -> ``do_images.cli._main`` (a package is its name)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Every module under ``root``, by its dotted name."""
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The modules of ``known`` that module ``name`` imports, at any depth of its code
    (inside functions and ``if TYPE_CHECKING:`` too). ``from . import x`` names the
    submodule ``x`` if there is one, else the package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            targets = [
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            module = nearest(target, known)
            if module and module != name:
                yield module


def nearest(target: str, known: set[str]) -> str:
    """The module ``import target`` lands in: ``target``, else its nearest known parent
    (``do_images.x.y``, where ``y`` is a name in module ``x``); ``""`` outside the tree."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the modules it imports, inside ``root``'s package."""
    found = modules(root)
    known = set(found)
    return {name: set(imported(name, path, known)) for name, path in found.items()}


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import one another round, each sorted."""
    reach = {node: reachable(graph, node) for node in graph}
    groups = {
        tuple(sorted(other for other in reach[node] if node in reach[other]))
        for node in graph
        if node in reach[node]
    }
    return sorted(list(group) for group in groups)


def test_no_import_circle_in_the_package() -> None:
    """No group of modules under ``src/do_images`` imports itself round, counting imports
    inside functions and under ``TYPE_CHECKING``."""
    assert circles(import_graph()) == []


def test_the_circle_finder_finds_a_circle_through_a_function_level_import(
    tmp_path: Path,
) -> None:
    """A circle closed by an import inside a function (the old ``cli/_parser`` one) is found,
    and a module importing only downwards is not in it."""
    package = tmp_path / "do_images"
    (package / "cli").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "cli" / "__init__.py").write_text("from ._main import main\n")
    (package / "cli" / "_main.py").write_text("from ._parser import build\ndef main(): ...\n")
    (package / "cli" / "_parser.py").write_text("def build():\n    from . import _images\n")
    (package / "cli" / "_images.py").write_text("from ._parser import build\n")
    assert circles(import_graph(package)) == [["do_images.cli._images", "do_images.cli._parser"]]


def test_the_graph_reads_every_form_of_import(tmp_path: Path) -> None:
    """Absolute, relative, ``from . import submodule`` and dotted imports all become edges."""
    package = tmp_path / "do_images"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from . import a\n")
    (package / "a.py").write_text("import do_images.sub.b\nfrom .sub import c\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("from .. import a\nfrom ..a import x\n")
    (package / "sub" / "c.py").write_text("from typing import TYPE_CHECKING\n")
    assert import_graph(package) == {
        "do_images": {"do_images.a"},
        "do_images.a": {"do_images.sub.b", "do_images.sub.c"},
        "do_images.sub": set(),
        "do_images.sub.b": {"do_images.a"},
        "do_images.sub.c": set(),
    }


# ------------------------------------------------------------------ docstrings


def statement_lists(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    """Every list of statements in ``tree``: bodies, ``else`` and ``finally`` blocks."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list):
                yield body


def is_string(statement: ast.stmt) -> bool:
    """Whether ``statement`` is a bare string, as a docstring is."""
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def stranded_docstrings(path: Path) -> list[int]:
    """The lines of string statements that document nothing: neither the first statement of
    a module, class or function, nor right after the assignment they describe."""
    return [
        statement.lineno
        for body in statement_lists(ast.parse(path.read_text(encoding="utf-8")))
        for before, statement in itertools.pairwise(body)
        if is_string(statement) and not isinstance(before, (ast.Assign, ast.AnnAssign))
    ]


def test_no_docstring_is_stranded() -> None:
    """Every docstring in ``src/do_images`` opens its module, class or function, or follows
    the constant or attribute it describes (one after another, or after an import, is
    documentation nobody sees)."""
    found = {
        str(path.relative_to(ROOT)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := stranded_docstrings(path))
    }
    assert found == {}


def test_a_second_docstring_after_a_constant_is_stranded(tmp_path: Path) -> None:
    """The ``MAX_PER_PAGE`` slip: two docstrings after two constants leave one stranded."""
    module = tmp_path / "m.py"
    module.write_text('"""M."""\nA = 1\nB = 2\n"""B."""\n"""A."""\nC = 3\n"""C."""\n')
    assert stranded_docstrings(module) == [5]
