"""Property-based conformance: schemathesis drives the served sandbox from the official spec.

For every operation of the vendored spec, schemathesis generates requests the spec
allows (a bounded number per operation), sends them to ``Sandbox.serve()`` on
127.0.0.1 and applies its checks: no server errors, documented status codes, content
types and headers, bodies that fit the response schemas, and authentication enforced.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from do_images.testing import Sandbox
from sandbox_support import assert_spec_valid
from spec_support import implemented_operations, spec

EXAMPLES_PER_OPERATION = 40
# The API refuses some requests the spec's schemas allow (an empty name or URL, a transfer
# to a region the image is already in, converting anything but a backup) with a 422.
# For these operations a 422 to schema-valid input is the API's behaviour, not a defect.
# Likewise an account transfer of anything but a snapshot, or of one that is no longer
# pending, and a tag assigned to a droplet (this API has images only).
BUSINESS_RULES = {
    "images_create_custom",
    "images_update",
    "imageActions_post",
    "images_post_account_transfer_create",
    "images_post_account_transfer_accept",
    "images_post_account_transfer_cancel",
    "images_post_account_transfer_decline",
    "tags_assign_resources",
    "tags_unassign_resources",
    "tags_create",  # the spec requires no name; the API does
    # A droplet action the sandbox does not model, or one on a droplet that is busy.
    "dropletActions_post",
    # tag_name combined with name or type, which the spec's text forbids.
    "droplets_list",
    # An id of the account's backup or custom image: the spec's own 400 not_a_snapshot.
    "snapshots_get",
    "snapshots_delete",
}
ACCEPTED: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # A convert of the seeded backup db-01 nightly: most generated cases are refused (a
    # random id, a convert of a snapshot, a transfer to a region the image is in), and
    # some seeds drew nothing else in 40 cases.
    "imageActions_post": ({"image_id": 180040003}, {"type": "convert"}),
}
"""Operation -> (path parameters, body) of a request the sandbox accepts, tried first as
an explicit example, so the success path is reached whatever hypothesis draws."""
MODELLED = ("snapshot", "shutdown", "power_off", "power_on")
"""The droplet actions the sandbox carries out (any other is a 422)."""
TOKEN = "dop_v1_schemathesis"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
AS_RECIPIENT = {"images_post_account_transfer_accept", "images_post_account_transfer_decline"}
"""Operations only the recipient of a transfer may call: sent with the recipient's token."""


@pytest.fixture(scope="module")
def schema() -> OpenApiSchema:
    return schemathesis.openapi.from_dict(spec())


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str]]:
    """A fresh sandbox per operation, served on 127.0.0.1; its responses are spec-checked."""
    # With a token set, the sandbox refuses every other one (schemathesis checks that).
    sandbox = Sandbox(token=TOKEN, log_size=100_000)
    bob = sandbox.account("bob")
    with sandbox.client(token=TOKEN) as do:  # pending transfers to accept, cancel, decline
        for image in (180040001, 180040002, 180040007):
            do.image.transfer_to_account(image, email=bob.email)
    with sandbox.serve() as base_url:
        yield sandbox, base_url
    assert_spec_valid(sandbox)


@dataclass(frozen=True)
class Existing:
    """What exists in a sandbox for generated requests to name."""

    names: list[int | str]
    """The image ids (and slugs) the operation's path may name."""
    pairs: list[tuple[int | None, int]]
    transfer_of: dict[int | str, int]
    """Image id -> the id of its pending account transfer."""
    tags: list[str]
    private: list[int]
    team: str
    operation_id: str
    droplets: list[int]
    droplet_pairs: list[tuple[int, int]]
    """(droplet id, id of an action of it)."""
    snapshots: list[str]

    @classmethod
    def of(cls, sandbox: Sandbox, operation_id: str) -> Existing:
        pending = [t for t in sandbox.account_transfers if t.state == "pending"]
        private: list[int] = [image.id for image in sandbox.images if not image.public]
        if operation_id == "images_get":
            names: list[int | str] = [image.id for image in sandbox.images]
            names += [image.slug for image in sandbox.images if image.slug]
        elif operation_id.startswith("images_post_account_transfer_"):
            names = [t.image_id for t in pending]
        else:
            # Only the account's own images can be changed; public ones answer 403.
            names = list(private)
        return cls(
            names=names,
            pairs=[(action.resource_id, action.id) for action in sandbox.actions],
            transfer_of={t.image_id: t.id for t in pending},
            tags=sorted(
                {t for image in sandbox.images if not image.public for t in image.tags or []}
            ),
            private=private,
            team=sandbox.account("bob").team,
            operation_id=operation_id,
            droplets=[droplet.id for droplet in sandbox.droplets],
            droplet_pairs=_droplet_actions(sandbox),
            snapshots=[
                str(image.id)
                for image in sandbox.images
                if not image.public and image.type == "snapshot"
            ],
        )

    def fill_body(self, body: dict[str, Any], image_id: int | str, tagged: int) -> None:
        """Make a generated body name what exists."""
        if "url" in body:
            # A random string is hardly ever an http(s) URL, which the API requires.
            body["url"] = "https://example.com/image.qcow2"
        if "resources" in body:
            body["resources"] = [{"resource_id": str(tagged), "resource_type": "image"}]
        if "transfer_id" in body:
            body["transfer_id"] = self.transfer_of.get(image_id, 1)
        if "recipient_uuid" in body and self.operation_id.endswith("_accept"):
            body["recipient_uuid"] = self.team


def on_existing_ids(
    strategy: st.SearchStrategy[schemathesis.Case[Any]], sandbox: Sandbox, operation_id: str
) -> st.SearchStrategy[schemathesis.Case[Any]]:
    """Most cases get an ``image_id`` (and ``action_id``, tag, transfer) that exists.

    Random integers almost never name an image, so without this nearly every request
    to ``/v2/images/{image_id}...`` would only exercise the 404 path; likewise droplets,
    their actions and snapshots, and a custom image's ``url`` is made a real URL.
    """
    existing = Existing.of(sandbox, operation_id)

    def use(
        case: schemathesis.Case[Any],
        image_id: int | str,
        pair: tuple[int | None, int],
        dice: int,
        tag: str,
        tagged: int,
        droplet_id: int,
        droplet_pair: tuple[int, int],
        snapshot: str,
    ) -> schemathesis.Case[Any]:
        if dice == 0:
            return case
        params = case.path_parameters or {}
        if "droplet_id" in params:
            _fill_droplet_path(params, droplet_id, droplet_pair)
        elif "action_id" in params:
            params["image_id"], params["action_id"] = pair
        elif "image_id" in params:
            params["image_id"] = image_id
        if "tag_id" in params:
            params["tag_id"] = tag
        if "snapshot_id" in params:
            params["snapshot_id"] = snapshot
        if isinstance(case.body, dict):
            existing.fill_body(case.body, image_id, tagged)
            if operation_id == "dropletActions_post" and dice < 3:
                # Generated types are mostly ones the sandbox refuses (422): two thirds
                # of the cases ask for one it carries out.
                case.body["type"] = MODELLED[tagged % len(MODELLED)]
        return case

    return st.builds(
        use,
        strategy,
        st.sampled_from(existing.names),
        st.sampled_from(existing.pairs),
        st.integers(0, 3),  # keep a quarter of the generated ids as they are
        st.sampled_from(existing.tags),
        st.sampled_from(existing.private),
        st.sampled_from(existing.droplets),
        st.sampled_from(existing.droplet_pairs),
        st.sampled_from(existing.snapshots),
    )


def _fill_droplet_path(
    params: dict[str, Any], droplet_id: int, droplet_pair: tuple[int, int]
) -> None:
    """A droplet that exists, and with an ``action_id``, one of its actions."""
    if "action_id" in params:
        params["droplet_id"], params["action_id"] = droplet_pair
    else:
        params["droplet_id"] = droplet_id


def _droplet_actions(sandbox: Sandbox) -> list[tuple[int, int]]:
    """(droplet id, action id) of every droplet action the sandbox holds, read from
    ``/v2/actions``."""
    with httpx.Client(transport=sandbox.transport(), headers=AUTH) as http:
        actions = http.get("https://sandbox.invalid/v2/actions", params={"per_page": 200})
    return [
        (action["resource_id"], action["id"])
        for action in actions.json()["actions"]
        if action["resource_type"] == "droplet"
    ]


@pytest.mark.parametrize("operation_id", [op.operation_id for op in implemented_operations()])
def test_operation_conforms_to_spec(
    schema: OpenApiSchema, served: tuple[Sandbox, str], operation_id: str
) -> None:
    """Requests the spec allows get answers the spec allows, over real HTTP."""
    sandbox, base_url = served
    operation = schema.find_operation_by_id(operation_id)
    excluded: list[CheckFunction] = []
    if operation_id in BUSINESS_RULES:
        excluded.append(positive_data_acceptance)

    auth = AUTH
    if operation_id in AS_RECIPIENT:
        auth = {"Authorization": f"Bearer {sandbox.account('bob').token}"}

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=on_existing_ids(operation.as_strategy(), sandbox, operation_id))
    def run(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(base_url=base_url, headers=auth, excluded_checks=excluded)

    if operation_id in ACCEPTED:
        path, body = ACCEPTED[operation_id]
        accepted = operation.Case(path_parameters=path, body=body, media_type="application/json")
        run = example(case=accepted)(run)
    run()
    answered = [r for r in sandbox.requests if r.operation == operation_id]
    # Both the failure and the success paths were reached (authentication aside).
    assert any(r.status < 300 for r in answered), operation_id
