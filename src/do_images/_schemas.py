"""JSON Schemas (draft 2020-12) of what the models' ``model_dump()`` yields.

The files under ``schemas/`` are generated from the models by this module and
committed; a test fails when they differ from what the models generate. Regenerate
them from the repository root with::

    python -m do_images._schemas            # write schemas/*.schema.json
    python -m do_images._schemas --check    # exit 1 if schemas/ is out of date
"""

from __future__ import annotations

import argparse
import ast
import functools
import inspect
import itertools
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import CoreSchema

from . import _models
from ._models import (
    AccountTransfer,
    Action,
    ActionEnvelope,
    ActionPage,
    Droplet,
    DropletEnvelope,
    DropletPage,
    DropletSnapshotPage,
    ErrorBody,
    Image,
    ImageEnvelope,
    ImagePage,
    Region,
    Snapshot,
    SnapshotEnvelope,
    SnapshotPage,
)
from .fleet import FleetPlanDocument

DRAFT = "https://json-schema.org/draft/2020-12/schema"

MODELS: dict[str, type[BaseModel]] = {
    "image": Image,
    "action": Action,
    "region": Region,
    "image_list": ImagePage,
    "action_list": ActionPage,
    "image_envelope": ImageEnvelope,
    "action_envelope": ActionEnvelope,
    "error": ErrorBody,
    "account_transfer": AccountTransfer,
    "droplet": Droplet,
    "droplet_list": DropletPage,
    "droplet_envelope": DropletEnvelope,
    "droplet_snapshot_list": DropletSnapshotPage,
    "snapshot": Snapshot,
    "snapshot_list": SnapshotPage,
    "snapshot_envelope": SnapshotEnvelope,
    "fleet_plan": FleetPlanDocument,
}
"""File stem (``schemas/<stem>.schema.json``) -> the model it describes."""


class _DumpSchema(GenerateJsonSchema):
    """Pydantic's schema generator, adjusted to describe ``model_dump()`` output."""

    def generate(self, schema: CoreSchema, mode: JsonSchemaMode = "validation") -> JsonSchemaValue:
        generated = super().generate(schema, mode=mode)
        return {"$schema": DRAFT, **_described(_without_defaults(generated))}


@functools.cache
def _attribute_docs(cls: type) -> dict[str, str]:
    """The docstrings written under ``cls``'s annotated attributes, by field name."""
    source = textwrap.dedent(inspect.getsource(cls))
    body = next(node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)).body
    docs: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


_MODEL_CLASSES = {
    name: value
    for module in _models.MODULES
    for name, value in vars(module).items()
    if isinstance(value, type)
    and issubclass(value, BaseModel)
    and value.__module__ == module.__name__
}


def _described(node: Any) -> Any:
    """Every model's properties with their attribute docstrings as ``description``."""
    if isinstance(node, list):
        return [_described(value) for value in node]
    if not isinstance(node, dict):
        return node
    described = {key: _described(value) for key, value in node.items()}
    cls = _MODEL_CLASSES.get(node.get("title", ""))
    properties = described.get("properties")
    if cls is not None and isinstance(properties, dict):
        docs = _attribute_docs(cls)
        described["properties"] = {
            name: dict(sorted({**schema, "description": docs[name]}.items()))
            if name in docs and "description" not in schema
            else schema
            for name, schema in properties.items()
        }
    return described


def _without_defaults(node: Any) -> Any:
    # model_dump() leaves out what the API did not send instead of filling in the
    # field's default, so a "default" keyword would describe output that never occurs.
    if isinstance(node, list):
        return [_without_defaults(value) for value in node]
    if not isinstance(node, dict):
        return node
    return {
        key: _name_map(value) if key in _NAME_MAPS else _without_defaults(value)
        for key, value in node.items()
        if key != "default"
    }


# Keywords whose value maps names to schemas: a property may well be called "default".
_NAME_MAPS = frozenset({"$defs", "properties", "patternProperties", "dependentSchemas"})


def _name_map(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    return {name: _without_defaults(schema) for name, schema in node.items()}


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The draft 2020-12 JSON Schema of ``model``'s JSON-mode dump."""
    return model.model_json_schema(mode="serialization", schema_generator=_DumpSchema)


def render(model: type[BaseModel]) -> str:
    """The schema of ``model`` as the exact text committed under ``schemas/``."""
    return json.dumps(schema_of(model), indent=2, ensure_ascii=False) + "\n"


def generate() -> dict[str, str]:
    """File name -> file text, for every schema under ``schemas/``."""
    return {f"{stem}.schema.json": render(model) for stem, model in MODELS.items()}


def stale(directory: Path) -> list[str]:
    """The file names under ``directory`` that are missing, outdated or not generated."""
    wanted = generate()
    present = {path.name for path in directory.glob("*.schema.json")}
    outdated = [
        name
        for name, text in wanted.items()
        if name not in present or (directory / name).read_text(encoding="utf-8") != text
    ]
    return sorted([*outdated, *(present - wanted.keys())])


def write(directory: Path) -> None:
    """Write every schema into ``directory`` and remove schema files no model produces."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = generate()
    for name, text in wanted.items():
        (directory / name).write_text(text, encoding="utf-8")
    for path in directory.glob("*.schema.json"):
        if path.name not in wanted:
            path.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate (or with ``--check``, verify) the schema files."""
    parser = argparse.ArgumentParser(prog="python -m do_images._schemas", description=__doc__)
    parser.add_argument("directory", nargs="?", default="schemas", type=Path)
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        names = stale(args.directory)
        for name in names:
            print(f"{args.directory / name} is out of date", file=sys.stderr)
        return 1 if names else 0
    write(args.directory)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
