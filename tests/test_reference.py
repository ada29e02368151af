"""What the API reference and ``help()`` show is what a reader can use: constructors with
their parameters, ``do.image`` with its type, defaults as values (not private constant
names), test hooks apart from real options, and public names in tracebacks."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import pickle
import pydoc
import re
import sys
import textwrap
import traceback
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

import do_images
import do_images.fleet
import do_images.legacy
import do_images.testing
from do_images import _constants as constants
from do_images.testing import Sandbox

ROOT = Path(__file__).resolve().parents[1]
MODULES = (do_images, do_images.testing, do_images.fleet, do_images.legacy)
TEST_HOOKS = ["sleep", "clock", "jitter", "environ"]


def public_functions() -> Iterator[tuple[str, Callable[..., Any]]]:
    """Every public function and method (``__init__`` included) the reference shows."""
    for module in MODULES:
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if inspect.isfunction(value):
                yield f"{module.__name__}.{name}", value
            if not inspect.isclass(value):
                continue
            for member, attribute in list(vars(value).items()):
                function = getattr(attribute, "__func__", attribute)
                if inspect.isfunction(function) and (
                    member == "__init__" or not member.startswith("_")
                ):
                    yield f"{module.__name__}.{name}.{member}", function


def _public_names() -> set[str]:
    return {name for module in MODULES for name in getattr(module, "__all__", ())}


def default_expressions(function: Callable[..., Any]) -> Iterator[tuple[str, ast.expr]]:
    """``(parameter, default as written)`` for each parameter with a default."""
    node = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    arguments = node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    for argument, default in zip(positional[::-1], arguments.defaults[::-1], strict=False):
        yield argument.arg, default
    for argument, kw_default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        if kw_default is not None:
            yield argument.arg, kw_default


def test_defaults_are_written_as_values() -> None:
    """A signature's default is a value the reader can read (``poll: float = 5.0``), or a
    public name of the reference: never a private constant such as ``DEFAULT_POLL``."""
    public = _public_names()
    named = [
        f"{where}({parameter}={ast.unparse(default)})"
        for where, function in public_functions()
        for parameter, default in _safe_defaults(function)
        for node in ast.walk(default)
        if isinstance(node, ast.Name) and node.id.isupper() and node.id not in public
    ]
    assert named == []


def _safe_defaults(function: Callable[..., Any]) -> list[tuple[str, ast.expr]]:
    try:
        return list(default_expressions(function))
    except (OSError, TypeError):  # made at run time (dataclasses, pydantic)
        return []


CLIENTS = "Client.__init__ AsyncClient.__init__"
CLIENT_DEFAULTS: dict[str, object] = {
    "timeout": constants.DEFAULT_TIMEOUT,
    "max_retries": constants.DEFAULT_MAX_RETRIES,
    "page_concurrency": constants.DEFAULT_PAGE_CONCURRENCY,
    "requests_per_minute": constants.DEFAULT_REQUESTS_PER_MINUTE,
}
ACTION_WAITS: dict[str, object] = {
    "poll": constants.DEFAULT_POLL,
    "timeout": constants.DEFAULT_WAIT_TIMEOUT,
}
LIFECYCLE_WAITS: dict[str, object] = {
    "poll": constants.DEFAULT_LIFECYCLE_POLL,
    "timeout": constants.DEFAULT_LIFECYCLE_TIMEOUT,
}
EXPECTED_DEFAULTS: dict[str, dict[str, object]] = {
    CLIENTS: {"base_url": constants.DEFAULT_BASE_URL, **CLIENT_DEFAULTS},
    "Sandbox.client Sandbox.async_client": {
        "token": do_images.testing.SANDBOX_TOKEN,
        "base_url": do_images.testing.SANDBOX_BASE_URL,
        **CLIENT_DEFAULTS,
    },
    "Sandbox.__init__": {"requests_per_minute": constants.DEFAULT_REQUESTS_PER_MINUTE},
    "Sandbox.account": {"name": "default"},
    "DO.__init__": {
        "timeout": constants.DEFAULT_TIMEOUT,
        "max_retries": constants.DEFAULT_MAX_RETRIES,
    },
    "iter": {"per_page": constants.MAX_PER_PAGE},
    "transfer convert wait": ACTION_WAITS,
    "create wait_image distribute import_file": LIFECYCLE_WAITS,
    "apply_fleet": {
        "max_delete": None,  # the fleet file's max_delete (DEFAULT_MAX_DELETE unless it says)
        "max_plan_age": do_images.fleet.DEFAULT_MAX_PLAN_AGE,
        **LIFECYCLE_WAITS,
    },
}
"""The defaults written as values in signatures, and the constants they must equal
(the command line and the checks read the constants)."""


def _owners(name: str) -> list[Any]:
    owner, _, method = name.rpartition(".")
    if owner:
        value = {
            "Client": do_images.Client,
            "AsyncClient": do_images.AsyncClient,
            "Sandbox": Sandbox,
            "DO": do_images.legacy.DO,
        }[owner]
        return [getattr(value, method)]
    return [getattr(do_images.ImageResource, name), getattr(do_images.AsyncImageResource, name)]


@pytest.mark.parametrize(("names", "defaults"), EXPECTED_DEFAULTS.items())
def test_written_defaults_equal_the_constants(names: str, defaults: dict[str, object]) -> None:
    """Each default written as a value equals the constant the rest of the code uses."""
    for name in names.split():
        for function in _owners(name):
            parameters = inspect.signature(function).parameters
            actual = {parameter: parameters[parameter].default for parameter in defaults}
            assert actual == defaults, name


def test_max_plan_age_is_an_hour() -> None:
    """The fleet's plan age limit the signatures write out is the constant's hour."""
    assert timedelta(hours=1) == do_images.fleet.DEFAULT_MAX_PLAN_AGE


@pytest.mark.parametrize("client", [do_images.Client, do_images.AsyncClient])
def test_test_hooks_come_last(client: type[Any]) -> None:
    """``sleep``, ``clock``, ``jitter`` and ``environ`` are keyword-only and last, after
    every real option, and the docstring calls them testing hooks."""
    parameters = list(inspect.signature(client).parameters.values())
    assert [parameter.name for parameter in parameters[-4:]] == TEST_HOOKS
    assert all(parameter.kind is parameter.KEYWORD_ONLY for parameter in parameters[1:])
    assert "Testing hooks" in (client.__doc__ or "")


@pytest.mark.parametrize("client", [do_images.Client, do_images.AsyncClient])
def test_the_constructor_documents_each_parameter(client: type[Any]) -> None:
    """The class docstring (shown with the merged ``__init__`` signature) has a line for
    every constructor parameter."""
    doc = client.__doc__ or ""
    undocumented = [
        name for name in inspect.signature(client).parameters if f":param {name}:" not in doc
    ]
    assert undocumented == []


@pytest.mark.parametrize(
    ("client", "resource"),
    [
        (do_images.Client, do_images.ImageResource),
        (do_images.AsyncClient, do_images.AsyncImageResource),
    ],
)
def test_help_lists_the_image_attribute(client: type[Any], resource: type[Any]) -> None:
    """``help(Client)`` lists ``image`` with its type and what it is for."""
    attribute = inspect.getattr_static(client, "image")
    assert isinstance(attribute, property)
    assert attribute.fget is not None
    assert attribute.fget.__annotations__["return"] in (resource.__name__, resource)
    text = pydoc.plain(pydoc.render_doc(client))
    assert "image\n |      The Images API" in text


def test_a_client_still_gives_its_image_resource() -> None:
    """``do.image`` is the resource of that client, for both clients and ``legacy.DO``."""
    sandbox = Sandbox()
    with sandbox.client() as do:
        assert isinstance(do.image, do_images.ImageResource)
        assert do.image.info("ubuntu-24-04-x64").slug == "ubuntu-24-04-x64"
    legacy = do_images.legacy.DO("token", transport=sandbox.transport())
    assert type(legacy.image).__name__ == "LegacyImage"


def _error_classes() -> list[type[BaseException]]:
    names = [*do_images.__all__, *do_images.testing.__all__]
    values = [getattr(do_images, n, None) or getattr(do_images.testing, n) for n in names]
    return [v for v in values if isinstance(v, type) and issubclass(v, BaseException)]


@pytest.mark.parametrize("error", _error_classes(), ids=lambda error: error.__name__)
def test_errors_carry_their_public_module(error: type[BaseException]) -> None:
    """A traceback names ``do_images.NotFoundError``, not ``do_images._errors.…``, and the
    name leads back to the class."""
    module = sys.modules[error.__module__]
    assert error.__module__ in ("do_images", "do_images.testing")
    assert getattr(module, error.__qualname__) is error


def test_a_traceback_names_the_public_class() -> None:
    """The last line of a traceback of a not-found error reads ``do_images.NotFoundError``."""
    with Sandbox().client() as do, pytest.raises(do_images.NotFoundError) as caught:
        do.image.info(999_999_999)
    line = traceback.format_exception(caught.value)[-1]
    assert line.startswith("do_images.NotFoundError: ")
    assert pickle.loads(pickle.dumps(caught.value)).request_id == caught.value.request_id


def test_the_docs_extra_formats_signatures() -> None:
    """Installing the ``docs`` extra alone brings the signature formatter (ruff), so
    ``mkdocs build`` wraps long signatures as CI's build does."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    extras = project["optional-dependencies"]
    assert any(requirement.startswith("ruff") for requirement in extras["docs"])


def test_the_reference_merges_constructors_into_classes() -> None:
    """The reference shows ``Client(token=None, *, base_url=...)`` with its parameters."""
    config = yaml.load((ROOT / "mkdocs.yml").read_text("utf-8"), Loader=yaml.BaseLoader)
    (handler,) = [p["mkdocstrings"] for p in config["plugins"] if isinstance(p, dict)]
    options = handler["handlers"]["python"]["options"]
    assert options["merge_init_into_class"] == "true"


def test_the_reference_shows_no_private_base_or_strict_alias() -> None:
    """With the reference's griffe extension, no public class shows a private base and no
    model attribute a strict alias: ``Image`` reads ``Bases: BaseModel`` and ``id: int``."""
    griffe = pytest.importorskip("griffe")
    spec = importlib.util.spec_from_file_location("griffe_public", ROOT / "tools/griffe_public.py")
    assert spec is not None
    assert spec.loader is not None
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)
    package = griffe.load(
        "do_images",
        search_paths=[str(ROOT / "src")],
        extensions=griffe.load_extensions(extension.PublicView()),
    )
    shown: list[str] = []
    for name in do_images.__all__:
        target = package[name].final_target if name != "__version__" else None
        if not isinstance(target, griffe.Class):
            continue
        shown += [f"{name}({base})" for base in target.bases]
        shown += [
            f"{name}.{member}: {attribute.annotation}"
            for member, attribute in target.members.items()
            if isinstance(attribute, griffe.Attribute)
        ]
    private = [text for text in shown if re.search(r"\(_|Strict|Timestamp", text)]
    assert private == []
    assert "Image(BaseModel)" in shown
    assert "Image.id: int" in shown
    assert "Image.created_at: datetime | None" in shown
