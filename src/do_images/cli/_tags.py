"""The tag commands: ``tag`` and ``untag`` an existing image."""

from __future__ import annotations

from .._errors import PermissionDeniedError, UnprocessableEntityError
from ._commands import Context, public_image, refused_if_public
from ._failures import ExitCode
from ._parser import Commands, image_arg

_EXAMPLES: dict[str, tuple[str, ...]] = {
    "tag": (
        "do-images tag 180040001 release:2026-12 web   # made if new",
        "do-images tag 180040001 golden --json         # the image, as JSON",
    ),
    "untag": ("do-images untag 180040001 prod            # absent tags are no error",),
}
# Tagging a public image is refused with a 422 (the tag API's answer), not a 403.
_REFUSALS = (PermissionDeniedError, UnprocessableEntityError)


def run_tag(ctx: Context) -> int:
    """``tag ID TAG ...``: tag the image (a new tag is created), then show its tags."""
    args = ctx.args
    with refused_if_public(ctx, args.image, _REFUSALS):
        ctx.client.image.tag(args.image, *args.tags)
    image = ctx.client.image.info(args.image)
    if ctx.out.as_json:
        ctx.out.one(image)
    else:
        now = ", ".join(image.tags or []) or "none"
        ctx.out.line(f"tagged image {image.id}: {', '.join(_unique(args.tags))} (its tags: {now})")
    return ExitCode.OK


def run_untag(ctx: Context) -> int:
    """``untag ID TAG ...``: remove the tags (absent ones are no error), then show its tags,
    naming the ones it did not have."""
    args, do = ctx.args, ctx.client
    before = do.image.info(args.image)
    if before.public:
        raise public_image(before)
    had = {tag.casefold() for tag in before.tags or []}
    with refused_if_public(ctx, args.image, _REFUSALS):
        do.image.untag(args.image, *args.tags)
    image = do.image.info(args.image)
    if ctx.out.as_json:
        ctx.out.one(image)
        return ExitCode.OK
    removed = [tag for tag in _unique(args.tags) if tag.casefold() in had]
    absent = [tag for tag in _unique(args.tags) if tag.casefold() not in had]
    now = ", ".join(image.tags or []) or "none"
    if not removed:
        ctx.out.line(f"image {image.id} did not have: {', '.join(absent)} (its tags: {now})")
        return ExitCode.OK
    lacked = f"it did not have: {', '.join(absent)}; " if absent else ""
    ctx.out.line(f"untagged image {image.id}: {', '.join(removed)} ({lacked}its tags: {now})")
    return ExitCode.OK


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def add_commands(commands: Commands) -> None:
    """``tag`` and ``untag``."""
    for name, run, verb, what in (
        ("tag", run_tag, "add tags to", "the tags to add (a new one is made)"),
        ("untag", run_untag, "remove tags from", "the tags to remove"),
    ):
        sub = commands.add(
            name,
            f"{verb} an image (letters, digits, ':', '-', '_'; at most 255 each)",
            run,
            examples=_EXAMPLES[name],
        )
        sub.add_argument("image", type=image_arg, metavar="ID", help="the id of one of your images")
        sub.add_argument("tags", nargs="+", metavar="TAG", help=f"{what}, exactly as written")
