"""A griffe extension for the API reference (mkdocs.yml loads it): private names stay
out of what the reader sees.

- A class whose base is private shows that base's public bases instead: ``Image`` reads
  ``Bases: BaseModel``, not ``Bases: _APIModel``; ``ImageType`` reads ``str, Enum``.
- The models' strict and annotated aliases read as the types they hold: ``StrictInt`` as
  ``int``, ``Timestamp`` (an aware ``datetime`` checked against RFC 3339) as ``datetime``.

Only the rendering changes: the code keeps its strict types.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import griffe

READS_AS = {
    "StrictBool": "bool",
    "StrictFloat": "float",
    "StrictInt": "int",
    "StrictStr": "str",
    "Timestamp": "datetime",
}
"""Alias names in annotations, and the type each is shown as."""


class PublicView(griffe.Extension):
    """Rewrite private bases and strict aliases once the package is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _objects(pkg):
            if isinstance(obj, griffe.Class):
                obj.bases = public_bases(obj)
            elif isinstance(obj, griffe.Attribute) and isinstance(obj.annotation, griffe.Expr):
                for part in obj.annotation.iterate(flat=True):
                    if isinstance(part, griffe.ExprName) and part.name in READS_AS:
                        part.name = READS_AS[part.name]


def public_bases(cls: griffe.Class) -> list[griffe.Expr | str]:
    """``cls``'s bases, each private one replaced by its own public bases (recursively)."""
    bases: list[griffe.Expr | str] = []
    for base in cls.bases:
        name = str(base).split("[", 1)[0].rsplit(".", 1)[-1]
        resolved = _resolve(base, cls) if name.startswith("_") else None
        if resolved is not None:
            inherited = public_bases(resolved)
            bases.extend(b for b in inherited if b not in bases)
        elif base not in bases:
            bases.append(base)
    return bases


def _resolve(base: griffe.Expr | str, cls: griffe.Class) -> griffe.Class | None:
    path = base.canonical_path if isinstance(base, griffe.Expr) else base
    try:
        target = cls.modules_collection[path]
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    if isinstance(target, griffe.Alias):
        target = target.final_target
    return target if isinstance(target, griffe.Class) else None


def _objects(obj: griffe.Object) -> Iterator[griffe.Object]:
    yield obj
    for member in obj.members.values():
        if not isinstance(member, griffe.Alias):
            yield from _objects(member)
