"""``prune``: print a plan for old snapshots; with ``--yes``, delete what it says goes."""

from __future__ import annotations

from ._commands import Context
from ._failures import ExitCode
from ._parser import Commands, add_yes, count, duration

_EXAMPLES: dict[str, tuple[str, ...]] = {
    "prune": (
        "do-images prune --keep 3               # the plan only",
        "do-images prune --keep 3 --older-than 30d --name-prefix web- --yes",
    ),
}


def run_prune(ctx: Context) -> int:
    """``prune``: print the plan; with ``--yes``, delete what goes and summarise."""
    do, args, out = ctx.client, ctx.args, ctx.out
    plan = do.image.plan_prune(
        keep=args.keep,
        older_than=args.older_than,
        tag_name=args.tag,
        name_prefix=args.name_prefix,
        types=tuple(args.types or ("snapshot",)),
    )
    out.plan(plan)
    if not args.yes:
        if plan.delete:
            out.note(f"nothing deleted: pass --yes to delete {len(plan.delete)} image(s)")
        return ExitCode.OK
    report = do.image.prune(
        plan, on_progress=lambda done, total: out.note(f"deleting: {done} of {total}")
    )
    out.note(
        f"deleted {len(report.deleted)} of {len(plan.delete)} image(s)"
        + (f"; {len(report.failed)} failed" if report.failed else "")
    )
    for image_id, error in report.failed.items():
        out.note(f"not deleted: image {image_id}: {error}")
    return ExitCode.API_ERROR if report.failed else ExitCode.OK


def add_commands(commands: Commands) -> None:
    """``prune``."""
    sub = commands.add(
        "prune",
        "delete old snapshots safely (prints the plan; --yes deletes)",
        run_prune,
        examples=_EXAMPLES["prune"],
    )
    sub.add_argument(
        "--keep",
        type=count,
        required=True,
        metavar="N",
        help="keep the N newest of the images that match",
    )
    sub.add_argument(
        "--older-than",
        type=duration,
        metavar="AGE",
        help="of the rest, delete only those older than AGE (30d, 12h, 90m)",
    )
    sub.add_argument("--tag", metavar="NAME", help="only images with this tag")
    sub.add_argument("--name-prefix", metavar="P", help="only images whose name starts with P")
    sub.add_argument(
        "--type",
        dest="types",
        action="append",
        choices=("snapshot", "custom"),
        help="image type to prune (repeatable; default snapshot)",
    )
    add_yes(sub, "delete what the plan says goes")
