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
