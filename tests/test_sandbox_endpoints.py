"""The SDK's endpoint table, run against the sandbox instead of a fake handler.

Each row of ``test_endpoints.TABLE`` is called on a ``Client`` and an ``AsyncClient``
wired to a sandbox holding the images and actions the row names. The requests the
sandbox received must be exactly the row's, and its result must pass the row's check;
the few checks written for the fake handler's fixed data are replaced by checks
against the sandbox's state. Every response must fit the spec.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl

import pytest

from do_images import AsyncClient, Client
from do_images.testing import Sandbox
from sandbox_support import assert_spec_valid
from support import driver, materialize
from test_endpoints import LIFECYCLE_ROWS, TABLE, Sent

START = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
TABLE_ACTION = 36805527  # the id the table's rows expect of the action they create or poll


def table_sandbox() -> Sandbox:
    """A sandbox with exactly the images and actions the table's rows use."""
    sandbox = Sandbox(start=START, seed=False, action_seconds=1)
    sandbox.add_image("one", id=1, tags=["base-image"])
    sandbox.add_image("two", id=2, type="backup")
    sandbox.add_image("Ubuntu 24.04", id=6918990, type="base", public=True, slug="ubuntu-24-04-x64")
    sandbox.add_image("snapshot", id=7555620)
    sandbox.add_action(7555620, "transfer", status="completed", id=29410565)
    sandbox.add_image("to rename", id=7938391)
    sandbox.add_image("to transfer", id=7938269, regions=["nyc3"], tags=["web"])
    sandbox.add_action(7938269, "transfer", region="nyc3", id=TABLE_ACTION)
    sandbox.add_image("to convert", id=7938291, type="backup")
    return sandbox


def all_image_ids(sandbox: Sandbox) -> Callable[[Any], bool]:
    ids = [image.id for image in sandbox.images]
    return lambda result: [image.id for image in result] == ids


# Checks written for the fake handler's fixed answers, restated for the sandbox.
SANDBOX_CHECKS: dict[str, Callable[[Sandbox], Callable[[Any], bool]]] = {
    "list": all_image_ids,
    "iter": all_image_ids,
    # A distribution image is public, so none is also private.
    "list-filtered": lambda sandbox: lambda result: result == [],
    "create": lambda sandbox: (
        lambda result: (
            result.status == "NEW"
            and result.tags == ["base-image", "prod"]
            and result.id in {image.id for image in sandbox.images}
        )
    ),
}


def call(do: Client | AsyncClient, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``do.image.<method>`` (a table row names it) on either client, then close it."""
    with driver("sync" if isinstance(do, Client) else "async", client=do) as d:
        return materialize(getattr(d.image, method)(*args, **kwargs))


def sent(sandbox: Sandbox) -> list[Sent]:
    return [
        Sent(
            r.method,
            r.path,
            dict(parse_qsl(r.query)),
            json.loads(r.body) if r.body else None,
        )
        for r in sandbox.requests
    ]


ACCOUNT_TRANSFER_ROWS = frozenset(row for row in TABLE if "account" in TABLE[row].method)
"""Rows that need a second account and a pending transfer: tests/test_account_transfers.py
runs each of these methods against the sandbox, on both clients."""


@pytest.mark.parametrize(
    "row_id", [row for row in TABLE if row not in LIFECYCLE_ROWS | ACCOUNT_TRANSFER_ROWS]
)
def test_table_row_against_sandbox(kind: str, row_id: str) -> None:
    """Each method sends the table's requests to the sandbox and gets a correct result."""
    row = TABLE[row_id]
    sandbox = table_sandbox()
    do: Client | AsyncClient = sandbox.client() if kind == "sync" else sandbox.async_client()
    result = call(do, row.method, *row.args, **row.kwargs)
    expected = row.sent
    if row.method in ("transfer", "convert"):
        # The sandbox numbers new actions itself; the table names the fake's number.
        expected = [
            Sent(s.method, s.path.replace(str(TABLE_ACTION), str(result.id)), s.params, s.body)
            for s in expected
        ]
    assert sent(sandbox) == expected
    check = SANDBOX_CHECKS[row_id](sandbox) if row_id in SANDBOX_CHECKS else row.check
    assert check(result), result
    assert_spec_valid(sandbox)
