"""The ``droplet`` commands, as doctl's ``compute droplet``: ``list``, ``snapshot`` (the
image back, a live line while it runs), ``snapshots`` and ``power-on``.

Ctrl-C during ``droplet snapshot --power-off``: before the snapshot started, the SDK has
powered the droplet on again; after, the first Ctrl-C waits for the snapshot to end and
then powers the droplet on ("Ctrl-C again to leave it off"), and a second leaves at once
with the command that powers it on. Without ``--power-off``, Ctrl-C says the snapshot
goes on and where its image will show.
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from .._checks import parse_duration
from .._constants import DEFAULT_LIFECYCLE_POLL, DEFAULT_LIFECYCLE_TIMEOUT
from ._commands import Context, Stop
from ._failures import ExitCode
from ._output import Progress, again, describe
from ._parser import Commands, add_output_options, droplet_arg, poll_seconds
from ._table import ACTION_COLUMNS, IMAGE_COLUMNS, Column, Columns, text, value_text, when

if TYPE_CHECKING:
    from .._models import Action, Droplet, Image

_EXAMPLES: dict[str, tuple[str, ...]] = {
    "list": ("do-images droplet list", "do-images droplet list --tag web --format ID,Name"),
    "snapshot": (
        "do-images droplet snapshot 3164494 --name web-01-before-upgrade",
        "do-images droplet snapshot 3164494 --power-off   # consistent; on again after",
        "do-images droplet snapshot 3164494 --no-wait     # the action; its image later",
    ),
    "snapshots": ("do-images droplet snapshots 3164494",),
    "power-on": ("do-images droplet power-on 3164494",),
}

DROPLET_COLUMNS: Columns[Droplet] = Columns(
    "droplet",
    {
        "id": Column("ID", lambda d: str(d.id), right=True),
        "name": Column("NAME", lambda d: text(d.name), shrink=2),
        "status": Column("STATUS", lambda d: text(d.status)),
        "region": Column("REGION", lambda d: text(d.region.slug if d.region else None)),
        "locked": Column("LOCKED", lambda d: value_text(d.locked)),
        "snapshot_ids": Column(
            "SNAPSHOTS", lambda d: value_text(d.snapshot_ids), shrink=1, aliases=("snapshots",)
        ),
        "tags": Column("TAGS", lambda d: value_text(d.tags), shrink=1),
        "size_slug": Column("SIZE", lambda d: text(d.size_slug), hide=1),
        "created_at": Column("CREATED", lambda d: when(d.created_at, time=False), hide=1),
    },
    ("id", "name", "status", "region", "locked", "snapshot_ids", "tags"),
)
"""A droplet's columns (``droplet list``)."""

SNAPSHOT_COLUMNS: Columns[Image] = Columns(
    "snapshot",
    IMAGE_COLUMNS.columns,
    ("id", "name", "type", "regions", "size_gigabytes", "min_disk_size", "created_at"),
)
"""A droplet's snapshots and backups: the fields ``/v2/droplets/{id}/snapshots`` sends."""


def duration_seconds(text: str) -> float:
    """``--timeout``: seconds (``3600``) or a duration (``60m``, ``2h``)."""
    if text.isascii() and text.replace(".", "", 1).isdigit():
        value = float(text)
        if value > 0:
            return value
    try:
        return parse_duration(text).total_seconds()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text[:40]} is not a time such as 3600 (seconds), 60m or 2h"
        ) from None


# ------------------------------------------------------------------ list


def run_list(ctx: Context) -> int:
    droplets = ctx.client.droplet.list(tag_name=ctx.args.tag)
    ctx.out.listing(droplets, DROPLET_COLUMNS, "no droplets")
    return ExitCode.OK


def run_snapshots(ctx: Context) -> int:
    items = ctx.client.droplet.snapshots(ctx.args.droplet)
    newest_first = sorted(items, key=lambda i: (i.created_at is not None, i.created_at, i.id))
    ctx.out.listing(newest_first[::-1], SNAPSHOT_COLUMNS, "no snapshots or backups")
    return ExitCode.OK


def run_power_on(ctx: Context) -> int:
    action = ctx.client.droplet.power_on(ctx.args.droplet, wait=not ctx.args.no_wait)
    ctx.out.one(action)
    return ExitCode.OK


# ------------------------------------------------------------------ snapshot


class _LeftOff(logging.Filter):
    """Drops the SDK's record of a droplet left off: the command says it itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not hasattr(record, "left_off")


class _Lines:
    """The snapshot's live line: each action seen (shutdown, snapshot, power-on) with its
    status and the time elapsed; rewritten in place on a terminal, a line per change
    otherwise."""

    def __init__(self, ctx: Context) -> None:
        out = ctx.out
        self.progress = Progress(out.stderr, ctx.client.clock, out.width)
        self.last: Action | None = None
        self.snapshot: Action | None = None
        """The snapshot action, once seen."""

    def __call__(self, action: Action) -> None:
        changed = self.last is None or (self.last.id, self.last.status) != (
            action.id,
            action.status,
        )
        self.last = action
        if action.type == "snapshot":
            self.snapshot = action
        if self.progress.live or changed:
            self.progress.update(action)

    def end(self) -> None:
        self.progress.end()


def run_snapshot(ctx: Context) -> int:
    """``droplet snapshot``: start it (powering the droplet off first if asked), wait, and
    print the image it made (``--no-wait``: the action)."""
    args, do, out = ctx.args, ctx.client, ctx.out
    if args.power_off and args.no_wait:
        raise Stop(
            ExitCode.USAGE,
            "--power-off cannot go with --no-wait: the droplet is powered on again once "
            "the snapshot ends, so the command waits for it",
        )
    lines = _Lines(ctx)
    quiet = _LeftOff()
    logging.getLogger("do_images").addFilter(quiet)
    try:
        result: Image | Action = do.droplet.snapshot(
            args.droplet,
            args.name,
            wait=not args.no_wait,
            power_off=args.power_off,
            poll=args.poll,
            timeout=args.timeout,
            on_update=lines,
        )
    except KeyboardInterrupt as interruption:
        lines.end()
        raise _interrupted(ctx, interruption, lines) from None
    finally:
        lines.end()
        logging.getLogger("do_images").removeFilter(quiet)
    out.one(result)
    return ExitCode.OK


def _interrupted(ctx: Context, interruption: BaseException, lines: _Lines) -> Stop:
    """The first Ctrl-C: what it leaves, and (``--power-off``, snapshot started) the wait
    for the snapshot to end before the droplet is powered on again."""
    args = ctx.args
    droplet = args.droplet
    images = again(args, f"droplet snapshots {droplet}")
    action: Action | None = getattr(interruption, "action", None) or lines.snapshot
    left_off = getattr(interruption, "left_off", None)
    if left_off is True and action is not None:
        return _power_on_after(ctx, action)
    if left_off is True:  # interrupted before the snapshot, and the power-on failed
        return Stop(
            ExitCode.INTERRUPTED,
            f"interrupted; droplet {droplet} is left off (powering it on again failed); "
            f"power it on with: {again(args, f'droplet power-on {droplet}')}",
        )
    if args.power_off and left_off is False:
        return Stop(
            ExitCode.INTERRUPTED,
            f"interrupted before the snapshot started; droplet {droplet} was powered on again",
        )
    if action is None:
        return Stop(
            ExitCode.INTERRUPTED,
            f"interrupted; a snapshot of droplet {droplet} may have started: its image "
            f"will show in: {images}",
        )
    return Stop(
        ExitCode.INTERRUPTED,
        f"stopped waiting; {describe(action)} goes on server-side (check it with: "
        f"{again(args, f'action {action.id}')}; its image, once done: {images})",
    )


def _power_on_after(ctx: Context, action: Action) -> Stop:
    """Wait for the snapshot to end, then power the droplet on; a second Ctrl-C leaves it
    off and says how to power it on."""
    args, do = ctx.args, ctx.client
    droplet = args.droplet
    power_on = again(args, f"droplet power-on {droplet}")
    lines = _Lines(ctx)
    quiet = _LeftOff()
    logging.getLogger("do_images").addFilter(quiet)
    try:
        # Inside the try: a second Ctrl-C right after this line is still caught.
        ctx.out.note(
            f"waiting for snapshot {action.id} to end, then powering droplet {droplet} on "
            "(Ctrl-C again to leave it off)"
        )
        ended = do.droplet._power_on_after(
            action, poll=args.poll, timeout=args.timeout, on_update=lines
        )
    except KeyboardInterrupt as again_interrupted:
        lines.end()
        if getattr(again_interrupted, "left_off", None) is False:
            left = f"droplet {droplet} is being powered on"
        else:
            left = f"droplet {droplet} is left off; power it on with: {power_on}"
        return Stop(ExitCode.INTERRUPTED, f"interrupted again; {left}")
    finally:
        lines.end()
        logging.getLogger("do_images").removeFilter(quiet)
    images = again(args, f"droplet snapshots {droplet}")
    return Stop(
        ExitCode.INTERRUPTED,
        f"interrupted; snapshot {ended.id} ended {ended.status} and droplet {droplet} "
        f"was powered on again; its image: {images}",
    )


# ------------------------------------------------------------------ the family


def add_commands(commands: Commands) -> None:
    """``droplet list``, ``droplet snapshot``, ``droplet snapshots``, ``droplet power-on``."""
    droplet = commands.group(
        "droplet",
        "droplets: list them, snapshot one and get the image back, power one on",
        examples=("do-images droplet list --tag web", "do-images droplet snapshot 3164494"),
    )
    sub = droplet.add("list", "list droplets (every page)", run_list, examples=_EXAMPLES["list"])
    sub.add_argument("--tag", metavar="TAG", help="only the droplets with this tag")
    add_output_options(sub, DROPLET_COLUMNS)

    sub = droplet.add(
        "snapshot",
        "snapshot a droplet, wait, and print the image it made",
        run_snapshot,
        examples=_EXAMPLES["snapshot"],
        description="Snapshot a droplet and print its image (not the action): the\n"
        "droplet's snapshot made when the action started, with its name. A live line\n"
        "shows the action while it runs (on stderr). --power-off shuts an active\n"
        "droplet down first and powers it on again once the snapshot ended; Ctrl-C then\n"
        "waits for the snapshot to end and powers it on (Ctrl-C again leaves it off).",
    )
    sub.add_argument("droplet", type=droplet_arg, metavar="ID", help="the droplet's id")
    sub.add_argument(
        "--name", help="the snapshot's name (default: the droplet's name and the UTC time)"
    )
    sub.add_argument(
        "--power-off",
        action="store_true",
        help="shut an active droplet down for a consistent snapshot, and power it on "
        "again after (only if this command turned it off)",
    )
    sub.add_argument(
        "--no-wait",
        action="store_true",
        help="print the in-progress action instead of waiting for the image",
    )
    sub.add_argument(
        "--poll",
        type=poll_seconds,
        default=DEFAULT_LIFECYCLE_POLL,
        metavar="S",
        help=f"seconds between polls (default {DEFAULT_LIFECYCLE_POLL:g}, at least 1)",
    )
    sub.add_argument(
        "--timeout",
        type=duration_seconds,
        default=DEFAULT_LIFECYCLE_TIMEOUT,
        metavar="T",
        help="give up waiting after T: seconds, or such as 60m or 2h (default 60m); "
        "the snapshot goes on",
    )
    add_output_options(sub, IMAGE_COLUMNS)

    sub = droplet.add(
        "snapshots",
        "list a droplet's snapshots and backups, newest first",
        run_snapshots,
        examples=_EXAMPLES["snapshots"],
    )
    sub.add_argument("droplet", type=droplet_arg, metavar="ID", help="the droplet's id")
    add_output_options(sub, SNAPSHOT_COLUMNS)

    sub = droplet.add(
        "power-on", "power a droplet on", run_power_on, examples=_EXAMPLES["power-on"]
    )
    sub.add_argument("droplet", type=droplet_arg, metavar="ID", help="the droplet's id")
    sub.add_argument(
        "--no-wait", action="store_true", help="print the action without waiting for it"
    )
    add_output_options(sub, ACTION_COLUMNS)
