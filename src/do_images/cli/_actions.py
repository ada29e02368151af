"""The action commands: ``transfer``, ``convert``, ``actions``, ``action`` and ``wait``."""

from __future__ import annotations

from ._commands import Context, refused_if_public, wait_for
from ._failures import ExitCode
from ._output import ACTION_COLUMNS, RegionBoard
from ._parser import Commands, action_arg, add_output_options, add_wait_options, image_arg

_EXAMPLES: dict[str, tuple[str, ...]] = {
    "transfer": (
        "do-images transfer 180040001 sfo3 --wait",
        "do-images transfer 180040001 lon1 sgp1 fra1 --wait",
    ),
    "convert": ("do-images convert 180040003 --wait",),
    "actions": ("do-images actions 180040001 --format ID,Status,Region",),
    "action": ("do-images action 180040001 2060000001",),
    "wait": ("do-images wait 180040001 2060000001 --timeout 600",),
}


def run_action_start(ctx: Context) -> int:
    """``transfer`` and ``convert``: start the actions, wait for them if asked.

    One region goes through ``transfer`` (a progress line a poll); several through
    ``distribute``, all at once, with a line for each change.
    """
    args, image = ctx.args, ctx.client.image
    if args.command_name == "transfer" and len(args.regions) > 1:
        return _distribute(ctx)
    with refused_if_public(ctx, args.image):
        if args.command_name == "transfer":
            action = image.transfer(args.image, args.regions[0])
        else:
            action = image.convert(args.image)
    if args.wait:
        action = wait_for(ctx, action)
    ctx.out.one(action)
    return ExitCode.OK


def _distribute(ctx: Context) -> int:
    do, args = ctx.client, ctx.args
    board = RegionBoard(ctx.out.stderr, do.clock, ctx.out.width)
    try:
        actions = do.image.distribute(
            args.image,
            args.regions,
            wait=args.wait,
            poll=args.poll,
            timeout=args.timeout,
            on_update=board.update,
        )
    finally:
        board.end()
    ctx.out.actions(list(actions.values()))
    return ExitCode.OK


def run_actions(ctx: Context) -> int:
    ctx.out.actions(ctx.client.image.action_list(ctx.args.image))
    return ExitCode.OK


def run_action(ctx: Context) -> int:
    ctx.out.one(ctx.client.image.action_info(ctx.args.image, ctx.args.action))
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
        run_action_start,
        examples=_EXAMPLES["transfer"],
    )
    sub.add_argument("image", type=image_arg, metavar="ID", help="the id of one of your images")
    sub.add_argument("regions", nargs="+", metavar="REGION", help="region slugs, such as sfo3")
    add_wait_options(sub, flag=True)
    add_output_options(sub, ACTION_COLUMNS)

    sub = commands.add(
        "convert",
        "convert a backup into a snapshot",
        run_action_start,
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
        "action", "show one action of an image", run_action, examples=_EXAMPLES["action"]
    )
    sub.add_argument("image", type=image_arg, metavar="ID", help="the image's id")
    sub.add_argument("action", type=action_arg, metavar="ACTION_ID", help="the action's id")
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
