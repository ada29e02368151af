"""The public namespace: ``__all__`` is sorted, complete and importable."""

from __future__ import annotations

import importlib.metadata
import inspect

import do_images


def test_all_is_sorted() -> None:
    """``__all__`` is kept in sorted order so additions are easy to review."""
    assert do_images.__all__ == sorted(do_images.__all__)


def test_all_names_exist() -> None:
    """Every name in ``__all__`` is importable from the package."""
    for name in do_images.__all__:
        assert hasattr(do_images, name), name


def test_all_is_complete() -> None:
    """Every public class the package exposes is listed in ``__all__``."""
    public = {
        name
        for name, value in vars(do_images).items()
        if not name.startswith("_") and inspect.isclass(value)
    }
    assert public <= set(do_images.__all__)


def test_version_comes_from_metadata() -> None:
    """``__version__`` is the installed distribution's version."""
    assert do_images.__version__ == importlib.metadata.version("do-images")


def test_the_lazy_loader_table_is_sorted() -> None:
    """``_EXPORTS`` lists its names in the order ``__all__`` keeps, so additions are easy to
    review and a duplicate key cannot hide."""
    assert list(do_images._EXPORTS) == sorted(do_images._EXPORTS)


def test_every_exported_name_loads_lazily() -> None:
    """Each name in ``__all__`` has an entry in the lazy loader's table and nothing else does."""
    assert set(do_images._EXPORTS) == set(do_images.__all__)


def test_import_loads_neither_models_nor_asyncio() -> None:
    """``import do_images`` alone imports no pydantic model, client or asyncio."""
    import subprocess
    import sys

    code = (
        "import sys, do_images; "
        "print(sorted(m for m in ('do_images._models', 'do_images._client', 'asyncio') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


def test_sync_client_does_not_import_asyncio() -> None:
    """A program that only uses ``Client`` never imports asyncio."""
    import subprocess
    import sys

    code = (
        "import sys; from do_images import Client; "
        "Client('t', base_url='http://127.0.0.1:9'); print('asyncio' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
