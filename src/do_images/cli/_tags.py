"""The tag commands: ``tag`` and ``untag`` an existing image."""

from __future__ import annotations

from ._commands import Context
from ._failures import ExitCode
from ._parser import Commands, image_arg

_EXAMPLES: dict[str, tuple[str, ...]] = {
    "tag": (
        "do-images tag 180040001 release:2026-12 web   # made if new",
        "do-images tag 180040001 golden --json         # the image, as JSON",
    ),
    "untag": ("do-images untag 180040001 prod            # absent tags are no error",),
}


def run_tag(ctx: Context) -> int:
    """``tag ID TAG ...``: tag the image (a new tag is created), then show its tags."""
    image = ctx.client.image
    image.tag(ctx.args.image, *ctx.args.tags)
    return _show_tags(ctx, "tagged")


def run_untag(ctx: Context) -> int:
    """``untag ID TAG ...``: remove the tags (absent ones are no error), then show its tags."""
    image = ctx.client.image
    image.untag(ctx.args.image, *ctx.args.tags)
    return _show_tags(ctx, "untagged")


def _show_tags(ctx: Context, done: str) -> int:
    image = ctx.client.image.info(ctx.args.image)
    if ctx.out.as_json:
        ctx.out.one(image)
    else:
        now = ", ".join(image.tags or []) or "none"
        ctx.out.line(f"{done} image {image.id}: {', '.join(ctx.args.tags)} (its tags: {now})")
    return ExitCode.OK


def add_commands(commands: Commands) -> None:
    """``tag`` and ``untag``."""
    for name, run, verb in (
        ("tag", run_tag, "add tags to"),
        ("untag", run_untag, "remove tags from"),
    ):
        sub = commands.add(
            name,
            f"{verb} an image (letters, digits, ':', '-', '_'; at most 255 each)",
            run,
            examples=_EXAMPLES[name],
        )
        sub.add_argument("image", type=image_arg, metavar="ID", help="the id of one of your images")
        sub.add_argument(
            "tags", nargs="+", metavar="TAG", help="tag names, exactly as they are to be kept"
        )
