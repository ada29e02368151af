"""``account-transfer``: give a snapshot to another account or team, and answer a transfer.

One command with four forms, as the API has four operations:

    do-images account-transfer ID (--email E | --team UUID)
    do-images account-transfer accept ID TRANSFER_ID --team UUID
    do-images account-transfer cancel ID TRANSFER_ID
    do-images account-transfer decline ID TRANSFER_ID
"""

from __future__ import annotations

import argparse

from ._commands import Context, UsageError
from ._failures import ExitCode
from ._output import again
from ._parser import Commands, image_arg, transfer_arg
from ._text import shorten

_STEPS = ("accept", "cancel", "decline")
_USAGE = (
    "do-images account-transfer [global options] ID (--email E | --team UUID)\n"
    "       do-images account-transfer [global options] accept ID TRANSFER_ID --team UUID\n"
    "       do-images account-transfer [global options] cancel ID TRANSFER_ID\n"
    "       do-images account-transfer [global options] decline ID TRANSFER_ID"
)
_EXAMPLES = (
    "do-images account-transfer 180040002 --email bob@sandbox.do-images.invalid  # pending",
    "do-images account-transfer cancel 180040002 3164444",
    "do-images account-transfer 180040002 --team e980006a-480e-59bc-a540-c7c0b59eea36",
    "do-images --token dop_v1_sandbox_bob account-transfer accept 180040002 3164444 "
    "--team e980006a-480e-59bc-a540-c7c0b59eea36",
    "do-images sandbox accounts   # on a sandbox: the accounts to try these with",
)


def check(args: argparse.Namespace) -> None:
    """Read the words as one of the four forms, or say why not (before any request)."""
    words: list[str] = args.words
    see = "(see 'do-images account-transfer --help')"
    if len(words) > 1 and words[0] not in _STEPS and not words[0].isdigit():
        raise UsageError(
            f"account-transfer: unknown step {shorten(words[0], 40)} ({', '.join(_STEPS)}) {see}"
        )
    step = words[0] if words and words[0] in _STEPS else None
    expected = 3 if step else 1
    if len(words) != expected:
        form = f"{step} ID TRANSFER_ID" if step else "ID"
        raise UsageError(f"account-transfer {form}: got {len(words)} word(s) {see}")
    try:
        args.image = image_arg(words[1] if step else words[0])
        args.transfer = transfer_arg(words[2]) if step else None
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"account-transfer: {exc} {see}") from None
    args.step = step
    if step is None and args.email is None and args.team is None:
        raise UsageError(f"account-transfer ID needs --email or --team {see}")
    if step is None and args.email is not None and args.team is not None:
        raise UsageError(f"account-transfer ID takes --email or --team, not both {see}")
    if step == "accept" and args.team is None:
        raise UsageError(f"account-transfer accept needs --team (your team's UUID) {see}")
    if step in ("cancel", "decline") and (args.email or args.team):
        raise UsageError(f"account-transfer {step} takes no --email or --team {see}")
    if step == "accept" and args.email is not None:
        raise UsageError(f"account-transfer accept takes --team, not --email {see}")


def run_account_transfer(ctx: Context) -> int:
    """Start a transfer (pending, or accepted at once by a team), or answer one."""
    args, image, out = ctx.args, ctx.client.image, ctx.out
    if args.step is None:
        transfer = image.transfer_to_account(args.image, email=args.email, team=args.team)
        if out.as_json:
            out.json(
                {"image_id": args.image, **transfer.model_dump(), "accepted": transfer.accepted}
            )
        elif transfer.accepted:
            out.line(f"image {args.image} moved to team {args.team}: accepted at once")
        else:
            cancel = again(args, f"account-transfer cancel {args.image} {transfer.transfer_id}")
            out.line(
                f"transfer {transfer.transfer_id} of image {args.image} to "
                f"{args.email or args.team}: pending until the recipient accepts "
                f"(cancel with: {cancel})"
            )
        return ExitCode.OK
    if args.step == "accept":
        image.accept_account_transfer(args.image, args.transfer, team=args.team)
    elif args.step == "cancel":
        image.cancel_account_transfer(args.image, args.transfer)
    else:
        image.decline_account_transfer(args.image, args.transfer)
    state = {"accept": "accepted", "cancel": "cancelled", "decline": "declined"}[args.step]
    if out.as_json:
        out.json({"image_id": args.image, "transfer_id": args.transfer, "state": state})
    else:
        out.line(f"{state} transfer {args.transfer} of image {args.image}")
    return ExitCode.OK


def add_commands(commands: Commands) -> None:
    """``account-transfer``."""
    sub = commands.add(
        "account-transfer",
        "give a snapshot to another account or team; accept, cancel or decline a transfer",
        run_account_transfer,
        examples=_EXAMPLES,
        check=check,
        usage=_USAGE,
    )
    sub.add_argument(
        "words",
        nargs="+",
        metavar="[accept|cancel|decline] ID [TRANSFER_ID]",
        help="the snapshot's id to start a transfer; or accept, cancel or decline, the "
        "image's id and the transfer's id",
    )
    sub.add_argument("--email", metavar="E", help="the recipient account's email address")
    sub.add_argument(
        "--team",
        metavar="UUID",
        help="the recipient team's UUID (a transfer to a team you may act for is accepted "
        "at once); with accept, your own team's UUID",
    )
