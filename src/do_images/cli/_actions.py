"""The action commands: ``transfer``, ``convert``, ``actions``, ``action`` and ``wait``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .._checks import check_region
from .._errors import UnprocessableEntityError
from ._commands import Context, Stop, UsageError, public_image, refused_if_public, wait_for
from ._failures import ExitCode
from ._output import ACTION_COLUMNS, RegionBoard, again, describe
from ._parser import Commands, action_arg, add_output_options, add_wait_options, image_arg

if TYPE_CHECKING:
    from .._models import Action

_EXAMPLES: dict[str, tuple[str, ...]] = {
    "transfer": (
        "do-images transfer 180040001 sfo3 --wait",
        "do-images transfer 180040001 lon1 sgp1 fra1 --wait",
    ),
    "convert": ("do-images convert 180040003 --wait",),
    "actions": ("do-images actions 180040001 --format ID,Status,Region",),
    "action": (
        "do-images action 180040001 2060000001   # an image's action",
        "do-images action 2060000001             # any action: a droplet's snapshot, say",
    ),
    "wait": ("do-images wait 180040001 2060000001 --timeout 600",),
}


def check_transfer(args: argparse.Namespace) -> None:
    """Every region a slug, before the image is looked at."""
    for region in args.regions:
        try:
            check_region(region)
        except ValueError as exc:
            raise UsageError(f"{exc} (see 'do-images transfer --help')") from None


def run_convert(ctx: Context) -> int:
    """``convert``: start the action, wait for it if asked."""
    args = ctx.args
    with refused_if_public(ctx, args.image):
        action = ctx.client.image.convert(args.image)
    if args.wait:
        action = wait_for(ctx, action)
    ctx.out.one(action)
    return ExitCode.OK


def run_transfer(ctx: Context) -> int:
    """``transfer``: one region goes through ``transfer`` (a progress line), several
    through ``distribute``, all at once, with a line for each. Either way a region the
    image is already in is skipped with a line saying so, where the API refuses it (422).
    """
    args, do = ctx.args, ctx.client
    regions = list(dict.fromkeys(args.regions))
    if len(regions) > 1:
        return _distribute(ctx, regions)
    try:
        with refused_if_public(ctx, args.image):
            action = do.image.transfer(args.image, regions[0])
    except UnprocessableEntityError:
        if regions[0] not in (do.image.info(args.image).regions or ()):
            raise
        ctx.out.note(f"{regions[0]}: already there")
        return ExitCode.OK
    if args.wait:
        action = wait_for(ctx, action)
    ctx.out.one(action)
    return ExitCode.OK


def _distribute(ctx: Context, regions: list[str]) -> int:
    do, args, out = ctx.client, ctx.args, ctx.out
    image = do.image.info(args.image)
    if image.public:
        raise public_image(image)
    for region in regions:
        if region in (image.regions or ()):
            out.note(f"{region}: already there")
    regions = [region for region in regions if region not in (image.regions or ())]
    if not regions:
        if out.as_json:
            out.json([])
        return ExitCode.OK
    board = RegionBoard(out.stderr, do.clock, out.width)
    try:
        actions = do.image.distribute(
            args.image,
            regions,
            wait=args.wait,
            poll=args.poll,
            timeout=args.timeout,
            on_update=board.update,
        )
    except KeyboardInterrupt:
        board.end()
        raise _interrupted(ctx, list(board.actions.values())) from None
    finally:
        board.end()
    out.actions(list(actions.values()))
    return ExitCode.OK


def _interrupted(ctx: Context, started: list[Action]) -> Stop:
    """Ctrl-C while waiting on several transfers: each one started, with the command that
    shows it, then the error line."""
    args = ctx.args
    for action in started:
        show = again(args, f"action {action.resource_id} {action.id}")
        ctx.out.note(f"{describe(action)} goes on server-side (check it with: {show})")
    every = again(args, f"actions {args.image}")
    if not started:
        what = "no transfer was seen to start"
    elif len(started) == 1:
        what = "the transfer above goes on server-side"
    else:
        what = f"the {len(started)} transfers above go on server-side"
    return Stop(
        ExitCode.INTERRUPTED, f"stopped waiting; {what} (all of the image's actions: {every})"
    )


def run_actions(ctx: Context) -> int:
    ctx.out.actions(ctx.client.image.action_list(ctx.args.image))
    return ExitCode.OK


def check_action(args: argparse.Namespace) -> None:
    """``action ACTION_ID`` (any action) or ``action ID ACTION_ID`` (an image's)."""
    if args.action is None:
        args.image, args.action = None, args.image


def run_action(ctx: Context) -> int:
    args, do = ctx.args, ctx.client
    if args.image is None:
        ctx.out.one(do.droplet._action(args.action))
    else:
        ctx.out.one(do.image.action_info(args.image, args.action))
    return ExitCode.OK


def run_wait(ctx: Context) -> int:
    action = ctx.client.image.action_info(ctx.args.image, ctx.args.action)
    ctx.out.one(wait_for(ctx, action))
    return ExitCode.OK


def add_commands(commands: Commands) -> None:
    """``transfer``, ``convert``, ``actions``, ``action``, ``wait``."""
    sub = commands.add(
        "transfer",
        "copy an image to other regions (all at once)",
        run_transfer,
        examples=_EXAMPLES["transfer"],
        check=check_transfer,
    )
    sub.add_argument("image", type=image_arg, metavar="ID", help="the id of one of your images")
    sub.add_argument("regions", nargs="+", metavar="REGION", help="region slugs, such as sfo3")
    add_wait_options(sub, flag=True)
    add_output_options(sub, ACTION_COLUMNS)

    sub = commands.add(
        "convert",
        "convert a backup into a snapshot",
        run_convert,
        examples=_EXAMPLES["convert"],
    )
    sub.add_argument("image", type=image_arg, metavar="ID", help="the id of a backup")
    add_wait_options(sub, flag=True)
    add_output_options(sub, ACTION_COLUMNS)

    sub = commands.add(
        "actions", "list an image's actions", run_actions, examples=_EXAMPLES["actions"]
    )
    sub.add_argument("image", type=image_arg, metavar="ID", help="the image's id")
    add_output_options(sub, ACTION_COLUMNS)

    sub = commands.add(
        "action",
        "show one action: any action of the account, or an image's",
        run_action,
        examples=_EXAMPLES["action"],
        check=check_action,
        usage="do-images action [global options] [ID] ACTION_ID [--format COLUMNS] [--no-header]",
    )
    sub.add_argument(
        "image",
        type=action_arg,
        metavar="ID",
        help="the image's id, before its ACTION_ID; alone, the id of any action "
        "(GET /v2/actions/ID: a droplet's snapshot, say)",
    )
    sub.add_argument(
        "action",
        type=action_arg,
        nargs="?",
        metavar="ACTION_ID",
        help="the action's id, with the image's id before it",
    )
    add_output_options(sub, ACTION_COLUMNS)

    sub = commands.add(
        "wait",
        "wait until an action is done (progress on stderr)",
        run_wait,
        examples=_EXAMPLES["wait"],
    )
    sub.add_argument("image", type=image_arg, metavar="ID", help="the image's id")
    sub.add_argument("action", type=action_arg, metavar="ACTION_ID", help="the action's id")
    add_wait_options(sub, flag=False)
    add_output_options(sub, ACTION_COLUMNS)
