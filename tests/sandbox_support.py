"""Checks every response a ``Sandbox`` gave against the vendored spec.

Each logged response is validated against its operation's response for that status
(or ``default``): the JSON body against the schema, the ``ratelimit-*`` headers against
theirs, and a 204 for having no body. The API wraps a single action as
``{"action": {...}}`` while the spec's schema shows it bare, so for those the inner
object is what is validated.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from jsonschema import Draft202012Validator

from do_images.testing import Sandbox, SandboxRequest
from spec_support import deref, json_schema, operations, spec, validator

WRAPPED_ACTION = frozenset({"imageActions_post", "imageActions_get"})


@functools.cache
def _response_definition(operation: str | None, status: int) -> dict[str, Any]:
    """The spec's response for ``operation`` and ``status`` (``default`` when not listed)."""
    if operation is None:
        # A path or method outside the spec: the API answers with its error body.
        definition: dict[str, Any] = deref(spec()["components"]["responses"]["unexpected_error"])
        return definition
    found = next(op for op in operations() if op.operation_id == operation)
    responses = found.definition["responses"]
    chosen = responses.get(str(status), responses.get("default"))
    assert chosen is not None, f"{operation} documents no response for {status}"
    resolved: dict[str, Any] = deref(chosen)
    return resolved


@functools.cache
def _body_validator(operation: str | None, status: int) -> Draft202012Validator | None:
    media = _response_definition(operation, status).get("content", {}).get("application/json")
    if media is None:
        return None
    schema = json_schema(media["schema"])
    if operation in WRAPPED_ACTION and status < 400:
        schema = {
            "type": "object",
            "properties": {"action": schema},
            "required": ["action"],
            "additionalProperties": False,
        }
    return validator(schema)


@functools.cache
def _header_validator(
    operation: str | None, status: int, name: str
) -> tuple[Draft202012Validator, bool]:
    """A validator for a documented header, and whether its value is an integer."""
    header = _response_definition(operation, status)["headers"][name]
    schema = json_schema(deref(header)["schema"])
    return validator(schema), schema.get("type") == "integer"


def problems(request: SandboxRequest) -> list[str]:
    """What is wrong with one logged response, measured against the spec (empty if nothing)."""
    where = f"{request.method} {request.path} -> {request.status} ({request.operation})"
    found: list[str] = []
    definition = _response_definition(request.operation, request.status)
    headers = {name.lower(): value for name, value in request.response_headers}
    for name in definition.get("headers", {}):
        value = headers.get(name.lower())
        if value is None:
            found.append(f"{where}: header {name} missing")
            continue
        checker, integer = _header_validator(request.operation, request.status, name)
        try:
            parsed = json.loads(value) if integer else value
        except ValueError:
            parsed = value
        for error in checker.iter_errors(parsed):
            found.append(f"{where}: header {name}={value!r}: {error.message}")
    body_validator = _body_validator(request.operation, request.status)
    if body_validator is None:
        if request.response_body:
            found.append(f"{where}: the spec documents no body, got {request.response_body[:80]!r}")
        return found
    if not headers.get("content-type", "").startswith("application/json"):
        found.append(f"{where}: content-type {headers.get('content-type')!r} is not JSON")
    try:
        body = json.loads(request.response_body)
    except ValueError:
        return [*found, f"{where}: body is not JSON: {request.response_body[:80]!r}"]
    for error in body_validator.iter_errors(body):
        path = "/".join(str(part) for part in error.absolute_path) or "body"
        found.append(f"{where}: {path}: {error.message}")
    return found


def assert_spec_valid(sandbox: Sandbox) -> int:
    """Validate every response ``sandbox`` logged (but the garbled ones, which stand for a
    proxy's answer, not the API's); return how many there were."""
    logged = [request for request in sandbox.requests if not request.garbled]
    found = [problem for request in logged for problem in problems(request)]
    assert not found, "\n".join(found[:20])
    return len(logged)
