"""The vendored OpenAPI spec and the committed ``schemas/``, as the contract tests need them.

OpenAPI 3.0 schemas are not JSON Schema: ``$ref`` points into the spec's components and
``nullable: true`` stands for "or null". ``json_schema()`` turns one into a
self-contained draft 2020-12 schema that ``jsonschema`` can check.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT / "tests" / "spec" / "digitalocean-images.openapi.yaml"
SCHEMAS_DIR = ROOT / "schemas"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


class _SpecLoader(yaml.SafeLoader):
    """A YAML loader that leaves timestamps as the strings the JSON API would send."""


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@functools.cache
def spec() -> dict[str, Any]:
    """The vendored OpenAPI document."""
    with SPEC_PATH.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_SpecLoader)  # a SafeLoader
    return document


def deref(node: Any) -> Any:
    """Follow a local ``$ref`` (repeatedly) to the node it names."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as self-contained JSON Schema: refs inlined, ``nullable`` as null."""
    node = deref(node)
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("nullable", "example", "discriminator"):
            continue
        if key in ("properties", "patternProperties"):
            converted[key] = {name: json_schema(sub) for name, sub in value.items()}
        else:
            converted[key] = json_schema(value)
    mapping = node.get("discriminator", {}).get("mapping")
    if mapping:
        # JSON Schema has no discriminator: "type": "transfer" must select the transfer
        # branch, not merely satisfy some branch of the anyOf.
        name = node["discriminator"]["propertyName"]
        converted.setdefault("allOf", []).extend(
            {
                "if": {"properties": {name: {"const": value}}, "required": [name]},
                "then": json_schema({"$ref": target}),
            }
            for value, target in mapping.items()
        )
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


# ------------------------------------------------------------------- operations


@dataclass(frozen=True)
class Operation:
    """One operation of the spec: its method, path template and definition."""

    operation_id: str
    method: str
    path: str
    definition: dict[str, Any]

    @property
    def parameters(self) -> list[dict[str, Any]]:
        """The operation's parameters, refs resolved."""
        return [deref(parameter) for parameter in self.definition.get("parameters", [])]

    def matches(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters if ``method path`` is this operation, else ``None``."""
        if method.lower() != self.method:
            return None
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None


# The operations the sandbox answers (and the SDK sends, but those NOT_CALLED in
# tests/test_spec_requests.py lists). The tests that walk "every operation" walk these
# (``implemented_operations()``). A feature that implements an operation of the spec moves
# it from PENDING to IMPLEMENTED, and those tests then cover it.
IMPLEMENTED = frozenset(
    {
        "images_list",
        "images_create_custom",
        "images_get",
        "images_update",
        "images_delete",
        "imageActions_list",
        "imageActions_post",
        "imageActions_get",
        "images_post_account_transfer_create",
        "images_post_account_transfer_accept",
        "images_post_account_transfer_cancel",
        "images_post_account_transfer_decline",
        "tags_list",
        "tags_create",
        "tags_get",
        "tags_delete",
        "tags_assign_resources",
        "tags_unassign_resources",
        "actions_list",
        "actions_get",
        "regions_list",
        "droplets_list",
        "droplets_get",
        "dropletActions_list",
        "dropletActions_post",
        "dropletActions_get",
        "droplets_list_snapshots",
        "snapshots_list",
        "snapshots_get",
        "snapshots_delete",
    }
)
# The operations of the spec nobody implements yet. Together with IMPLEMENTED they are
# every operation of the spec: a test says so, so an operation a new spec adds is
# noticed, not skipped.
PENDING: frozenset[str] = frozenset()


def operations() -> list[Operation]:
    """Every operation of the spec."""
    return [
        Operation(definition["operationId"], method, path, definition)
        for path, item in spec()["paths"].items()
        for method, definition in item.items()
        if method in HTTP_METHODS
    ]


def implemented_operations() -> list[Operation]:
    """The operations of the spec in IMPLEMENTED, in the spec's order."""
    return [operation for operation in operations() if operation.operation_id in IMPLEMENTED]


# -------------------------------------------------------------------- examples


@dataclass(frozen=True)
class ResponseExample:
    """One example body of one response of one operation."""

    operation_id: str
    status: str
    name: str
    named: str | None
    """The ``components/examples`` entry it comes from, if any."""
    payload: Any

    @property
    def id(self) -> str:
        return f"{self.operation_id}-{self.status}-{self.name}"


def response_examples(among: list[Operation] | None = None) -> Iterator[ResponseExample]:
    """Every example and named example of every JSON response of ``among`` (default: all),
    and the example some responses keep in their schema instead (Tags, Regions)."""
    for operation in operations() if among is None else among:
        for status, response in operation.definition["responses"].items():
            media = deref(response).get("content", {}).get("application/json", {})
            if "example" in media:
                yield ResponseExample(
                    operation.operation_id, str(status), "example", None, media["example"]
                )
            if "example" in media.get("schema", {}):
                yield ResponseExample(
                    operation.operation_id, str(status), "schema", None, media["schema"]["example"]
                )
            for name, example in media.get("examples", {}).items():
                named = example["$ref"].rsplit("/", 1)[-1] if "$ref" in example else None
                yield ResponseExample(
                    operation.operation_id, str(status), name, named, deref(example)["value"]
                )


# ------------------------------------------------------------- schemas/ files

FORMATS = FormatChecker(formats=())
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    # jsonschema only checks date-time with an optional package; this is RFC 3339's grammar
    # plus a calendar check.
    if not isinstance(value, str):
        return True
    if not _RFC3339.fullmatch(value):
        return False
    datetime.strptime(value[:19].upper(), "%Y-%m-%dT%H:%M:%S")
    return True


@functools.cache
def committed_schema(stem: str) -> dict[str, Any]:
    """The committed ``schemas/<stem>.schema.json``."""
    with (SCHEMAS_DIR / f"{stem}.schema.json").open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A draft 2020-12 validator for ``schema`` that also checks ``date-time``."""
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FORMATS)
