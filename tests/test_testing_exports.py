"""``do_images.testing``'s public namespace: ``__all__`` is complete and importable."""

from __future__ import annotations

import inspect

import do_images.testing


def test_all_is_importable() -> None:
    """Every name in ``__all__`` exists (ruff's RUF022 keeps the list sorted)."""
    for name in do_images.testing.__all__:
        assert hasattr(do_images.testing, name), name


def test_all_is_complete() -> None:
    """Every public class of ``do_images.testing`` is listed in ``__all__``."""
    public = {
        name
        for name, value in vars(do_images.testing).items()
        if not name.startswith("_") and inspect.isclass(value)
    }
    assert public <= set(do_images.testing.__all__)
