"""``tag``, ``untag`` and ``account-transfer``: text, ``--json``, exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from do_images import AuthenticationError
from do_images.cli import main
from do_images.testing import Sandbox
from support import Run, Stream, cli_runner

SNAPSHOT = 180040001  # web-01, tagged web and prod (seeded)
BACKUP = 180040003


@pytest.fixture
def world() -> Sandbox:
    return Sandbox()


@pytest.fixture
def run(world: Sandbox) -> Run:
    return cli_runner(world)


def test_tag_prints_the_tags_and_creates_a_new_one(run: Run, world: Sandbox) -> None:
    """``tag`` creates a missing tag once, then prints what was added and the image's tags."""
    result = run("tag", str(SNAPSHOT), "release:2026-12", "web")
    assert result.code == 0
    assert result.out == (
        f"tagged image {SNAPSHOT}: release:2026-12, web (its tags: web, prod, release:2026-12)\n"
    )
    assert world.count("POST", "tags_create") == 1


def test_tag_json_prints_the_image(run: Run) -> None:
    """``--json tag`` prints the tagged image, its new tag last."""
    result = run("--json", "tag", str(SNAPSHOT), "golden")
    assert result.code == 0
    assert result.json()["tags"] == ["web", "prod", "golden"]


def test_untag_absent_tags_are_no_error(run: Run) -> None:
    """Untagging a tag the image lacks, or one never made, exits 0; the line claims only
    the tags it had, names those it did not have, and lists what is left."""
    result = run("untag", str(SNAPSHOT), "prod", "never-made")
    assert (result.code, result.out) == (
        0,
        f"untagged image {SNAPSHOT}: prod (it did not have: never-made; its tags: web)\n",
    )
    again = run("untag", str(SNAPSHOT), "PROD")
    assert again.out == f"image {SNAPSHOT} did not have: PROD (its tags: web)\n"


def test_untag_help_says_the_tags_are_removed() -> None:
    """``untag --help`` says its TAG arguments are the tags to remove, not to keep."""
    out = Stream()
    assert main(["untag", "--help"], stdout=out, stderr=Stream()) == 0
    text = " ".join(out.getvalue().split())
    assert "TAG the tags to remove" in text
    assert "kept" not in text


@pytest.mark.parametrize("command", ["tag", "untag"])
def test_tagging_a_public_image_says_public_images_cannot_be_changed(
    run: Run, command: str
) -> None:
    """``tag`` or ``untag`` of a public image exits 5 with the same words as ``update``."""
    result = run(command, "171020001", "foo")
    assert result.code == 5, result.err
    assert "is a public image: public images cannot be changed" in result.err


def test_a_bad_tag_is_a_usage_error_before_any_request(run: Run, world: Sandbox) -> None:
    """A tag with a space exits 2 (also in the JSON error) before any request."""
    result = run("--json", "tag", str(SNAPSHOT), "no spaces")
    assert result.code == 2
    assert json.loads(result.err)["error"]["exit"] == 2
    assert world.requests == []


def test_tag_of_a_missing_image_is_not_found(run: Run) -> None:
    """Tagging an image that does not exist exits 4 naming the image."""
    result = run("tag", "424242", "web")
    assert result.code == 4
    assert "not found: image 424242" in result.err


def test_account_transfer_pending_then_cancelled(run: Run, world: Sandbox) -> None:
    """An offer by email prints its id, state and how to cancel; ``cancel`` then ends it."""
    bob = world.account("bob")
    started = run("account-transfer", str(SNAPSHOT), "--email", bob.email)
    assert started.code == 0
    transfer_id = world.account_transfers[0].id
    assert f"transfer {transfer_id} of image {SNAPSHOT} to {bob.email}: pending" in started.out
    assert f"account-transfer cancel {SNAPSHOT} {transfer_id}" in started.out
    cancelled = run("--json", "account-transfer", "cancel", str(SNAPSHOT), str(transfer_id))
    assert cancelled.code == 0
    assert cancelled.json() == {
        "image_id": SNAPSHOT,
        "transfer_id": transfer_id,
        "state": "cancelled",
    }
    assert [t.state for t in world.account_transfers] == ["cancelled"]


def test_account_transfer_to_a_team_json(run: Run, world: Sandbox) -> None:
    """A transfer to a sandbox team is accepted at once: JSON says so, as does the text line."""
    bob = world.account("bob")
    result = run("--json", "account-transfer", str(SNAPSHOT), "--team", bob.team)
    assert result.code == 0
    assert result.json() == {"image_id": SNAPSHOT, "transfer_id": 0, "accepted": True}
    text = run("account-transfer", "180040002", "--team", bob.team)
    assert text.out == f"image 180040002 moved to team {bob.team}: accepted at once\n"


def test_accept_and_decline_as_the_recipient(world: Sandbox) -> None:
    """The recipient's token (``--token``) acts as bob's account."""
    bob = world.account("bob")
    with world.client() as do:
        first = do.image.transfer_to_account(SNAPSHOT, email=bob.email).transfer_id
        second = do.image.transfer_to_account(180040002, email=bob.email).transfer_id
    as_bob = cli_runner(world)
    accept = as_bob(
        "account-transfer",
        "accept",
        str(SNAPSHOT),
        str(first),
        "--team",
        bob.team,
        factory=lambda target: bob.client(),
    )
    assert (accept.code, accept.out) == (0, f"accepted transfer {first} of image {SNAPSHOT}\n")
    decline = as_bob(
        "account-transfer", "decline", "180040002", str(second), factory=lambda target: bob.client()
    )
    assert decline.code == 0
    assert [t.state for t in world.account_transfers] == ["accepted", "declined"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((str(SNAPSHOT),), "needs --email or --team (see"),
        ((str(SNAPSHOT), "--email", "a@b.io", "--team", "x"), "takes --email or --team, not both"),
        (("frobnicate", "1", "2"), "unknown step 'frobnicate' (accept, cancel, decline)"),
        (("frobnicate", "1"), "unknown step 'frobnicate' (accept, cancel, decline)"),
        (("accept", str(SNAPSHOT), "5"), "needs --team"),
        (("accept", str(SNAPSHOT)), "accept ID TRANSFER_ID: got 2"),
        (("cancel", str(SNAPSHOT), "5", "--email", "a@b.io"), "takes no --email"),
        (("decline", "x", "5"), "is not an image id"),
        (("cancel", str(SNAPSHOT), "0"), "is not an account transfer id"),
        ((str(SNAPSHOT), "7", "--email", "a@b.io"), "account-transfer ID: got 2"),
    ],
)
def test_account_transfer_usage_errors(
    run: Run, world: Sandbox, argv: tuple[str, ...], message: str
) -> None:
    """Each malformed ``account-transfer`` line exits 2 with its own message, before any request."""
    result = run("account-transfer", *argv)
    assert result.code == 2
    assert message in result.err
    assert world.requests == []


def test_a_backup_is_refused_with_exit_2(run: Run, world: Sandbox) -> None:
    """Offering a backup exits 2 saying only snapshots move, and POSTs nothing."""
    result = run("account-transfer", str(BACKUP), "--email", "a@b.io")
    assert result.code == 2
    assert "only snapshots" in result.err
    assert world.count("POST") == 0


def test_an_unknown_transfer_is_not_found(run: Run) -> None:
    """Cancelling a transfer id the image never had exits 4 naming both ids."""
    result = run("account-transfer", "cancel", str(SNAPSHOT), "99")
    assert result.code == 4
    assert f"not found: account transfer 99 of image {SNAPSHOT}" in result.err


def test_a_lost_answer_is_an_unknown_outcome(run: Run, world: Sandbox) -> None:
    """A transfer POST whose answer is lost exits 10 and says how to look at the image."""
    world.drop_next(method="POST")
    result = run("account-transfer", str(SNAPSHOT), "--email", "a@b.io")
    assert result.code == 10
    assert f"look with: do-images info {SNAPSHOT}" in result.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("sandbox", "serve", "--json"), "--json means nothing to 'sandbox serve'"),
        (("--base-url", "http://127.0.0.1:9", "sandbox", "serve"), "--base-url means"),
        (
            ("--json", "sandbox", "serve", "--base-url", "http://127.0.0.1:9"),
            "--base-url and --json mean",
        ),
    ],
)
def test_sandbox_serve_refuses_api_options(argv: tuple[str, ...], message: str) -> None:
    """``sandbox serve`` with ``--json`` or ``--base-url`` exits 2: they mean nothing there."""
    err = Stream()
    assert main(list(argv), stdout=Stream(), stderr=err, environ={}) == 2
    assert message in err.getvalue()


def test_a_state_file_carries_a_transfer_between_accounts(tmp_path: Path) -> None:
    """``--sandbox --state`` with ``--token dop_v1_sandbox_bob`` acts as bob in a later command."""
    state = str(tmp_path / "s.json")

    def cli(*argv: str) -> tuple[int, str]:
        out = Stream()
        code = main(["--sandbox", "--state", state, *argv], stdout=out, stderr=Stream(), environ={})
        return code, out.getvalue()

    bob = Sandbox().account("bob")  # the same email and team in every sandbox
    code, out = cli("--json", "account-transfer", str(SNAPSHOT), "--email", bob.email)
    assert code == 0
    transfer_id = json.loads(out)["transfer_id"]
    code, out = cli(
        "--token",
        bob.token,
        "account-transfer",
        "accept",
        str(SNAPSHOT),
        str(transfer_id),
        "--team",
        bob.team,
    )
    assert code == 0
    code, out = cli("--token", bob.token, "--json", "list", "--private")
    assert SNAPSHOT in [image["id"] for image in json.loads(out)]


# ------------------------------------------------------------ sandbox accounts


def test_sandbox_accounts_lists_the_default_and_the_second_account() -> None:
    """``sandbox accounts`` prints every account a fresh sandbox has: name, email, team
    and token, whole, for the default account and ``bob``."""
    out, err = Stream(), Stream()
    assert main(["sandbox", "accounts"], stdout=out, stderr=err) == 0, err.getvalue()
    header, *rows = out.getvalue().splitlines()
    assert header.split() == ["NAME", "EMAIL", "TEAM", "TOKEN"]
    sandbox = Sandbox()
    expected = [sandbox.account("default"), sandbox.account("bob")]
    assert [row.split() for row in rows] == [
        [account.name, account.email, account.team, account.token] for account in expected
    ]


def test_sandbox_accounts_json_and_state(tmp_path: Path) -> None:
    """``--json`` prints the accounts as objects; with ``--state`` they are the file's,
    an account made by an earlier command included."""
    state = str(tmp_path / "s.json")
    made = main(
        ["--sandbox", "--state", state, "--token", "dop_v1_sandbox_carol", "list"],
        stdout=Stream(),
        stderr=Stream(),
        environ={},
    )
    assert made == 0
    out = Stream()
    assert main(["sandbox", "accounts", "--state", state, "-o", "json"], stdout=out) == 0
    listed = json.loads(out.getvalue())
    assert [account["name"] for account in listed] == ["default", "bob", "carol"]
    carol = Sandbox().account("carol")
    assert listed[2] == {
        "name": "carol",
        "email": carol.email,
        "team": carol.team,
        "token": "dop_v1_sandbox_carol",
    }


def test_bobs_token_acts_as_bob_on_a_server_with_a_token() -> None:
    """The seeded second account's token passes a sandbox that accepts one token only."""
    sandbox = Sandbox(token="s" * 20)
    with sandbox.client(token="dop_v1_sandbox_bob") as do:
        assert do.image.list(private=True) == []  # bob's own: none yet
    with sandbox.client(token="dop_v1_sandbox_nobody") as do, pytest.raises(AuthenticationError):
        do.image.list(private=True)
    assert [account.name for account in sandbox.accounts] == ["default", "bob"]
