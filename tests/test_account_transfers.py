"""Account transfers of snapshots, on both clients, against the sandbox's two accounts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from do_images import (
    AccountTransfer,
    Image,
    NotFoundError,
    UnknownOutcomeError,
    UnprocessableEntityError,
)
from do_images.testing import Sandbox
from support import Driver, driver, image_payload, json_response

SNAPSHOT = 180040001  # web-01, a private snapshot (seeded)
BACKUP = 180040003
CUSTOM = 180040005
PUBLIC = 171020001
API = "https://api.digitalocean.com/v2"


@pytest.fixture
def bob(kind: str, sandbox: Sandbox) -> Iterator[Driver]:
    """A client acting as the second account, ``bob``."""
    account = sandbox.account("bob")
    client = account.client() if kind == "sync" else account.async_client()
    with driver(kind, client=client) as made:
        yield made


def private_ids(do: Driver) -> set[int]:
    return {image.id for image in do.image.list(private=True)}


def test_to_an_email_pending_then_accepted(do: Driver, bob: Driver, sandbox: Sandbox) -> None:
    """Pending until bob accepts; then the image is bob's, and no longer ours."""
    account = sandbox.account("bob")
    transfer = do.image.transfer_to_account(SNAPSHOT, email=account.email)
    assert isinstance(transfer, AccountTransfer)
    assert transfer.transfer_id > 0
    assert not transfer.accepted
    assert SNAPSHOT in private_ids(do)
    assert SNAPSHOT not in private_ids(bob)
    bob.image.accept_account_transfer(SNAPSHOT, transfer.transfer_id, team=account.team)
    assert SNAPSHOT not in private_ids(do)
    assert SNAPSHOT in private_ids(bob)
    assert bob.image.info(SNAPSHOT).tags == []  # tags belong to the account that made them
    with pytest.raises(NotFoundError):
        do.image.info(SNAPSHOT)
    assert [t.state for t in sandbox.account_transfers] == ["accepted"]
    accept = next(r for r in sandbox.requests if (r.operation or "").endswith("_accept"))
    assert json.loads(accept.body) == {
        "transfer_id": transfer.transfer_id,
        "recipient_uuid": account.team,
    }
    assert accept.account == "bob"


def test_cancelled_by_the_sender(do: Driver, bob: Driver, sandbox: Sandbox) -> None:
    """A cancelled transfer can no longer be accepted by bob, and the image stays ours."""
    account = sandbox.account("bob")
    transfer = do.image.transfer_to_account(SNAPSHOT, email=account.email)
    do.image.cancel_account_transfer(SNAPSHOT, transfer.transfer_id)
    assert [t.state for t in sandbox.account_transfers] == ["cancelled"]
    with pytest.raises(UnprocessableEntityError, match="cancelled"):
        bob.image.accept_account_transfer(SNAPSHOT, transfer.transfer_id, team=account.team)
    assert SNAPSHOT in private_ids(do)


def test_declined_by_the_recipient(do: Driver, bob: Driver, sandbox: Sandbox) -> None:
    """A declined transfer leaves the image with us, and it may be offered again under a new id."""
    account = sandbox.account("bob")
    transfer = do.image.transfer_to_account(SNAPSHOT, email=account.email)
    bob.image.decline_account_transfer(SNAPSHOT, transfer.transfer_id)
    assert [t.state for t in sandbox.account_transfers] == ["declined"]
    assert SNAPSHOT in private_ids(do)
    assert SNAPSHOT not in private_ids(bob)
    again = do.image.transfer_to_account(SNAPSHOT, email=account.email)  # may be sent again
    assert again.transfer_id != transfer.transfer_id


def test_only_the_recipient_may_accept_or_decline(do: Driver, sandbox: Sandbox) -> None:
    """The sender, or a third account, sees no such transfer to accept."""
    account = sandbox.account("bob")
    carol = sandbox.account("carol")
    transfer = do.image.transfer_to_account(SNAPSHOT, email=account.email)
    with driver("sync", client=carol.client()) as other:
        with pytest.raises(NotFoundError):
            other.image.accept_account_transfer(SNAPSHOT, transfer.transfer_id, team=carol.team)
        with pytest.raises(NotFoundError):
            other.image.decline_account_transfer(SNAPSHOT, transfer.transfer_id)
    with pytest.raises(NotFoundError):
        do.image.decline_account_transfer(SNAPSHOT, transfer.transfer_id)
    assert [t.state for t in sandbox.account_transfers] == ["pending"]


def test_to_a_team_is_accepted_at_once(do: Driver, bob: Driver, sandbox: Sandbox) -> None:
    """``transfer_id == 0``: bob's team took it; an ``Image`` given costs no GET."""
    account = sandbox.account("bob")
    image = do.image.info(SNAPSHOT)
    before = sandbox.count("GET")
    transfer = do.image.transfer_to_account(image, team=account.team.upper())
    assert (transfer.transfer_id, transfer.accepted) == (0, True)
    assert sandbox.count("GET") == before
    assert SNAPSHOT in private_ids(bob)
    assert SNAPSHOT not in private_ids(do)
    posted = next(r for r in sandbox.requests if (r.operation or "").endswith("_create"))
    assert json.loads(posted.body) == {"recipient_uuid": account.team}


@pytest.mark.parametrize("image_id", [BACKUP, CUSTOM, PUBLIC])
def test_only_snapshots_go_and_nothing_is_posted(
    do: Driver, sandbox: Sandbox, image_id: int
) -> None:
    """A backup, a custom image or a public image: refused after one GET, no POST."""
    with pytest.raises(ValueError, match="only snapshots"):
        do.image.transfer_to_account(image_id, email="alice@example.com")
    assert sandbox.count("POST") == 0
    assert sandbox.count("GET", "images_get") == 1


def test_an_image_given_is_checked_as_given(do: Driver, sandbox: Sandbox) -> None:
    """An ``Image`` passed in is judged as given: a backup is refused without a request."""
    backup = Image.model_validate(image_payload(BACKUP, type="backup"))
    with pytest.raises(ValueError, match="is a backup"):
        do.image.transfer_to_account(backup, email="alice@example.com")
    assert sandbox.requests == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"email": "alice@example.com", "team": "4f6c71e2-1e90-4762-9fee-6cc4a0a9f2cf"},
        {"email": "not an email"},
        {"email": "@example.com"},
        {"email": "a\x00b@example.com"},  # a control character inside
        {"email": "alice@exa\u200bmple.com"},  # an invisible one
        {"email": "\ud800@example.com"},  # text UTF-8 cannot encode
        {"team": "not-a-uuid"},
        {"team": 5},
    ],
)
def test_bad_recipients_are_refused_before_any_request(
    do: Driver, sandbox: Sandbox, kwargs: dict[str, Any]
) -> None:
    """No recipient, both, or a malformed email (control characters too) or team: refused."""
    with pytest.raises((TypeError, ValueError)):
        do.image.transfer_to_account(SNAPSHOT, **kwargs)
    assert sandbox.requests == []


def test_bad_transfer_ids_are_refused_before_any_request(do: Driver, sandbox: Sandbox) -> None:
    """Non-positive, bool or str transfer ids, and a bad team, raise before any request."""
    team = sandbox.account("bob").team
    bad: Any
    for bad in (0, -3, True, "7"):
        with pytest.raises((TypeError, ValueError)):
            do.image.accept_account_transfer(SNAPSHOT, bad, team=team)
        with pytest.raises((TypeError, ValueError)):
            do.image.cancel_account_transfer(SNAPSHOT, bad)
    with pytest.raises(ValueError, match="team UUID"):
        do.image.accept_account_transfer(SNAPSHOT, 5, team="nope")
    assert sandbox.requests == []


def test_one_pending_transfer_at_a_time(do: Driver, sandbox: Sandbox) -> None:
    """Offering an image that has a pending transfer again is a 422 that says it is pending."""
    do.image.transfer_to_account(SNAPSHOT, email="alice@example.com")
    with pytest.raises(UnprocessableEntityError, match="pending"):
        do.image.transfer_to_account(SNAPSHOT, email="carol@example.com")


def test_a_dropped_answer_is_an_unknown_outcome_never_resent(do: Driver, sandbox: Sandbox) -> None:
    """The transfer was made, its answer lost: ``UnknownOutcomeError`` after one POST."""
    sandbox.drop_next(method="POST")
    with pytest.raises(UnknownOutcomeError):
        do.image.transfer_to_account(SNAPSHOT, email="alice@example.com")
    assert sandbox.count("POST", "images_post_account_transfer_create") == 1
    assert [t.state for t in sandbox.account_transfers] == ["pending"]


def test_a_served_sandbox_has_both_accounts(sandbox: Sandbox) -> None:
    """Over HTTP, each account's token acts as it: the transfer changes hands on the wire."""
    account = sandbox.account("bob")
    with sandbox.serve() as base_url, httpx.Client(base_url=base_url) as http:
        sender = {"authorization": "Bearer dop_v1_anything"}
        made = http.post(
            f"/v2/images/{SNAPSHOT}/account_transfer",
            json={"recipient_email": account.email},
            headers=sender,
        )
        transfer_id = made.json()["transfer_id"]
        accepted = http.post(
            f"/v2/images/{SNAPSHOT}/account_transfer/accept",
            json={"transfer_id": transfer_id, "recipient_uuid": account.team},
            headers={"authorization": f"Bearer {account.token}"},
        )
        mine = http.get(
            "/v2/images?private=true", headers={"authorization": f"Bearer {account.token}"}
        )
    assert (made.status_code, accepted.status_code) == (201, 201)
    assert SNAPSHOT in [image["id"] for image in mine.json()["images"]]


def test_a_token_of_the_account_shape_makes_the_account(sandbox: Sandbox) -> None:
    """``dop_v1_sandbox_NAME`` acts as account NAME, made on first use (for ``serve``)."""
    with httpx.Client(transport=sandbox.transport(), base_url="https://x.invalid") as http:
        seen = http.get(
            "/v2/images?private=true", headers={"authorization": "Bearer dop_v1_sandbox_dave"}
        )
    assert seen.json()["images"] == []
    assert [r.account for r in sandbox.requests] == ["dave"]


# ------------------------------------------------------------------- respx


def test_exact_bodies_over_respx(kind: str) -> None:
    """The create and decline POSTs send exactly the spec's bodies; the answer parses as sent."""
    router = respx.MockRouter(assert_all_called=True)
    router.get(f"{API}/images/7").mock(return_value=json_response(200, {"image": image_payload(7)}))
    create = router.post(f"{API}/images/7/account_transfer").mock(
        return_value=json_response(201, {"transfer_id": 3164444})
    )
    decline = router.post(f"{API}/images/7/account_transfer/decline").mock(
        return_value=httpx.Response(204)
    )
    with driver(kind, router.handler) as do:
        transfer = do.image.transfer_to_account(7, email="alice@example.com")
        do.image.decline_account_transfer(7, transfer.transfer_id)
    assert json.loads(create.calls[0].request.content) == {"recipient_email": "alice@example.com"}
    assert json.loads(decline.calls[0].request.content) == {"transfer_id": 3164444}
    assert transfer.model_dump() == {"transfer_id": 3164444}


def test_a_5xx_on_the_create_post_is_never_resent(kind: str) -> None:
    """A 502 to the transfer POST raises ``UnknownOutcomeError`` after exactly one POST."""
    router = respx.MockRouter(assert_all_called=True)
    create = router.post(f"{API}/images/7/account_transfer").mock(
        return_value=json_response(502, {"id": "bad_gateway", "message": "upstream"})
    )
    snapshot = Image.model_validate(image_payload(7))
    with driver(kind, router.handler) as do, pytest.raises(UnknownOutcomeError):
        do.image.transfer_to_account(snapshot, email="alice@example.com")
    assert create.call_count == 1


def test_the_sdk_over_a_served_sandbox_tags_and_transfers(sandbox: Sandbox) -> None:
    """Both accounts' clients over real HTTP: tag, transfer, accept, all on the wire."""
    from do_images import Client

    account = sandbox.account("bob")
    with sandbox.serve() as base_url:
        with Client("dop_v1_sender_token", base_url=base_url) as mine:
            mine.image.tag(SNAPSHOT, "handover")
            transfer = mine.image.transfer_to_account(SNAPSHOT, email=account.email)
        with Client(account.token, base_url=base_url) as theirs:
            theirs.image.accept_account_transfer(SNAPSHOT, transfer.transfer_id, team=account.team)
            assert SNAPSHOT in {image.id for image in theirs.image.list(private=True)}
    assert [t.state for t in sandbox.account_transfers] == ["accepted"]
