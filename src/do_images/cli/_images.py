"""The image commands: ``list``, ``info``, ``update``, ``delete`` and ``create``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .._checks import check_tag_name
from .._constants import DEFAULT_LIFECYCLE_POLL, DEFAULT_LIFECYCLE_TIMEOUT
from .._errors import DoImagesError
from ._commands import Context, Stop, UsageError, ask, refused_if_public
from ._failures import ExitCode, error_payload, failure
from ._output import IMAGE_COLUMNS, Progress, isatty
from ._parser import (
    Commands,
    add_image_fields,
    add_output_options,
    add_wait_options,
    add_yes,
    id_or_slug,
    image_arg,
)
from ._text import one_line

if TYPE_CHECKING:
    from .._models import Image

_EXAMPLES: dict[str, tuple[str, ...]] = {
    "list": (
        "do-images list                         # your images",
        "do-images list --public                # and DigitalOcean's",
        "do-images list --type distribution     # Ubuntu, Debian, ... and their slugs",
        "do-images ls --format ID,Name,Slug,Status --no-header",
        "do-images list --tag web --tag db      # tagged web or db",
    ),
    "info": ("do-images info ubuntu-24-04-x64", "do-images get 180040001 --json"),
    "update": (
        "do-images update 180040001 --name web-base",
        "do-images update 180040001 --description 'golden image, 2026-10'",
    ),
    "delete": (
        "do-images delete 180040001             # asks first",
        "do-images rm 180040001 180040002 -f    # no question",
    ),
    "create": (
        "do-images create --name web --url https://example.com/web.qcow2 --region nyc3 "
        "--distribution Ubuntu --wait",
    ),
}


def check_list(args: argparse.Namespace) -> None:
    """Filters that contradict each other, or a tag the API would refuse, are usage errors
    (not an empty list)."""
    see = "(see 'do-images list --help')"
    if args.private and (args.public or args.type):
        other = "--public adds" if args.public else "--type lists"
        raise UsageError(f"--private lists your own images and {other} public ones: give one {see}")
    for tag in args.tags or ():
        try:
            check_tag_name(tag)
        except ValueError as exc:
            raise UsageError(f"--tag: {exc} {see}") from None


def run_list(ctx: Context) -> int:
    """``list``: your images, as doctl's ``image list`` (``--public`` adds the public ones,
    ``--type`` lists those of a kind); every page. With several ``--tag``, the images
    with any of them.

    The API filters by one tag, so several tags mean one listing per tag, merged in
    the order first seen, each image once.
    """
    args, image = ctx.args, ctx.client.image
    private = None if args.public or args.type else True
    if not args.tags or len(args.tags) == 1:
        tag = args.tags[0] if args.tags else None
        ctx.out.images(image.list(type=args.type, private=private, tag_name=tag))
        return ExitCode.OK
    merged: dict[int, Image] = {}
    for tag in dict.fromkeys(args.tags):
        for found in image.list(type=args.type, private=private, tag_name=tag):
            merged.setdefault(found.id, found)
    ctx.out.images(list(merged.values()))
    return ExitCode.OK


def run_info(ctx: Context) -> int:
    ctx.out.one(ctx.client.image.info(ctx.args.image))
    return ExitCode.OK


def run_update(ctx: Context) -> int:
    args = ctx.args
    if args.name is None and args.description is None and args.distribution is None:
        raise UsageError(
            "update needs at least one of --name, --description, --distribution "
            "(see 'do-images update --help')"
        )
    with refused_if_public(ctx, args.image):
        image = ctx.client.image.update(
            args.image, args.name, distribution=args.distribution, description=args.description
        )
    ctx.out.one(image)
    return ExitCode.OK


def _confirm(ctx: Context, ids: list[int]) -> bool:
    """Ask once, on the terminal, whether to delete every image in ``ids``."""
    refusing = f"delete {_images(ids)}"
    if not isatty(ctx.stdin):
        raise UsageError(f"refusing to {refusing} without --yes: stdin is not a terminal")
    if len(ids) == 1:
        image = ctx.client.image.info(ids[0])
        name = f" ({image.name})" if image.name else ""
        question = f"Delete image {image.id}{name}?"
    else:
        question = f"Delete {_images(ids)}?"
    return ask(ctx, f"{question} This cannot be undone.", refusing=refusing)


def run_delete(ctx: Context) -> int:
    """``delete ID [ID ...]``: one question for all, a line per image, exit 0 only if
    every one was deleted (the first failure's exit status otherwise)."""
    do, args, out = ctx.client, ctx.args, ctx.out
    ids = list(dict.fromkeys(args.images))
    if not args.yes and not _confirm(ctx, ids):
        out.note(f"not deleted: {_images(ids)}")
        return ExitCode.FAILED
    if len(ids) == 1:
        with refused_if_public(ctx, ids[0]):
            do.image.destroy(ids[0])
        if out.as_json:
            out.json({"deleted": ids, "failed": [], "errors": {}})
        else:
            out.line(f"deleted image {ids[0]}")
        return ExitCode.OK
    return _delete_each(ctx, ids)


def _images(ids: list[int]) -> str:
    return f"image {ids[0]}" if len(ids) == 1 else f"{len(ids)} images ({', '.join(map(str, ids))})"


def _delete_each(ctx: Context, ids: list[int]) -> int:
    out, code = ctx.out, ExitCode.OK
    deleted: list[int] = []
    errors: dict[int, dict[str, Any]] = {}
    for image_id in ids:
        error: BaseException | None = None
        try:
            with refused_if_public(ctx, image_id):
                ctx.client.image.destroy(image_id)
        except Stop as exc:
            status, message = exc.code, exc.message
        except DoImagesError as exc:
            error = exc
            status, message = failure(
                exc, argparse.Namespace(**{**vars(ctx.args), "image": image_id})
            )
        else:
            deleted.append(image_id)
            if not out.as_json:
                out.line(f"deleted image {image_id}")
            continue
        code = code or status
        errors[image_id] = error_payload(error, status, one_line(message))
        if not out.as_json:
            out.note(f"not deleted: image {image_id}: {message}")
    if not out.as_json:
        return code
    failed = list(errors)
    reasons = {str(image_id): error for image_id, error in errors.items()}
    out.json({"deleted": deleted, "failed": failed, "errors": reasons})
    if failed:
        raise Stop(code, f"not deleted: {_images(failed)} ({len(failed)} of {len(ids)} images)")
    return code


def run_create(ctx: Context) -> int:
    """``create``: import a custom image; with ``--wait``, until it is available."""
    args, do = ctx.args, ctx.client
    image = do.image.create(
        args.name,
        args.url,
        args.region,
        distribution=args.distribution,
        description=args.description,
        tags=args.tags,
    )
    if args.wait:
        progress = Progress(ctx.out.stderr, do.clock, ctx.out.width)

        def show(seen: Image) -> None:
            progress.show(f"image {seen.id}: {seen.status}")

        show(image)
        try:
            image = do.image.wait_image(image, poll=args.poll, timeout=args.timeout, on_update=show)
        finally:
            progress.end()
    ctx.out.one(image)
    return ExitCode.OK


def add_commands(commands: Commands) -> None:
    """``list``, ``info``, ``update``, ``delete``, ``create``."""
    sub = commands.add(
        "list",
        "list your images (all pages); --public adds DigitalOcean's",
        run_list,
        aliases=("ls",),
        examples=_EXAMPLES["list"],
        check=check_list,
        description="List your images (snapshots, backups, custom images; all pages), as\n"
        "doctl's 'compute image list' does. --public adds the public images\n"
        "(distributions and applications); --type lists only those of one kind.",
    )
    sub.add_argument(
        "--public",
        action="store_true",
        help="add the public images (distributions and applications) to your own",
    )
    sub.add_argument(
        "--type",
        choices=("distribution", "application"),
        help="only the public images of this kind (doctl's list-distribution, list-application)",
    )
    sub.add_argument("--private", action="store_true", help="only your own images (the default)")
    sub.add_argument(
        "--tag",
        dest="tags",
        action="append",
        metavar="NAME",
        help="only images with this tag; repeated, images with any of the tags "
        "(one listing per tag, merged)",
    )
    add_output_options(sub, IMAGE_COLUMNS)

    sub = commands.add(
        "info", "show one image", run_info, aliases=("get",), examples=_EXAMPLES["info"]
    )
    sub.add_argument(
        "image",
        type=id_or_slug,
        metavar="ID_OR_SLUG",
        help="an image id, or the slug of a public image (such as ubuntu-24-04-x64)",
    )
    add_output_options(sub, IMAGE_COLUMNS)

    sub = commands.add(
        "update", "rename or describe an image", run_update, examples=_EXAMPLES["update"]
    )
    sub.add_argument("image", type=image_arg, metavar="ID", help="the id of one of your images")
    sub.add_argument("--name", help="the new name")
    sub.add_argument("--description", help="the new description (free text)")
    sub.add_argument("--distribution", help="the new distribution, such as Ubuntu")
    add_output_options(sub, IMAGE_COLUMNS)

    sub = commands.add(
        "delete",
        "delete snapshots, backups or custom images",
        run_delete,
        aliases=("rm",),
        examples=_EXAMPLES["delete"],
    )
    sub.add_argument(
        "images",
        type=image_arg,
        nargs="+",
        metavar="ID",
        help="the ids of the images to delete (one question for all of them)",
    )
    add_yes(sub, "do not ask (required when stdin is not a terminal)")

    sub = commands.add(
        "create", "import a custom image from a URL", run_create, examples=_EXAMPLES["create"]
    )
    add_image_fields(sub)
    sub.add_argument("--url", required=True, help="http(s) address of the image file")
    sub.add_argument("--region", required=True, help="region slug, such as nyc3")
    add_wait_options(
        sub,
        flag=True,
        poll=DEFAULT_LIFECYCLE_POLL,
        timeout=DEFAULT_LIFECYCLE_TIMEOUT,
        what="the import",
    )
    add_output_options(sub, IMAGE_COLUMNS)
