"""``import``: a local disk image, checked, uploaded to Spaces, imported, distributed."""

from __future__ import annotations

import argparse
import logging
import shlex
import time
from pathlib import Path
from typing import Any

from .._checks import parse_duration
from .._constants import DEFAULT_LIFECYCLE_POLL, DEFAULT_LIFECYCLE_TIMEOUT
from ._commands import Context, Stop, UsageError
from ._failures import ExitCode
from ._output import IMAGE_COLUMNS, Progress, RegionBoard, again
from ._parser import Commands, add_image_fields, add_output_options, image_arg, poll_seconds

_EXAMPLES = (
    "do-images import build/web.qcow2.gz --name web-2026-12 --region nyc3 --space my-images",
    "do-images import disk.img --name web --region nyc3 --space my-images --regions sfo3 ams3 "
    "--timeout 90m",
    "do-images --sandbox import disk.qcow2.gz --name web --region nyc3 --space my-images "
    "--spaces-endpoint http://127.0.0.1:9000   # any S3-compatible server",
    "do-images import --remove-object web-0123456789ab.qcow2.gz --space my-images "
    "--image 190000001   # once its import has ended",
)
_KiB = 1024
_MiB = 1024 * _KiB


def sizes(sent: int, total: int, rate: float) -> str:
    """``"12 of 512 KiB, 3.0 KiB/s"``: KiB below 1 MiB (so a small file shows its bytes
    moving), else MiB; the rate in its own unit by the same rule."""
    unit, name = (_MiB, "MiB") if total >= _MiB else (_KiB, "KiB")
    per, per_name = (_MiB, "MiB/s") if rate >= _MiB else (_KiB, "KiB/s")
    return f"{sent / unit:,.0f} of {total / unit:,.0f} {name}, {rate / per:,.1f} {per_name}"


def timeout_arg(text: str) -> float:
    """Seconds, or a duration as ``prune`` takes one (``90m``, ``2h``)."""
    try:
        if text.replace(".", "", 1).isdigit():
            seconds = float(text)
        else:
            seconds = parse_duration(text).total_seconds()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("'", "")) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text}: the timeout must be positive")
    return seconds


class UploadBar:
    """The upload on stderr: a live bar on a terminal (bytes, rate, ETA), else a line per 10 %."""

    def __init__(self, progress: Progress, name: str) -> None:
        self.progress = progress
        self.name = name
        self.tenth = -1
        self.last = 0.0

    def update(self, sent: int, total: int, rate: float) -> None:
        share = sent / total if total else 1.0
        left = (total - sent) / rate if rate > 0 else 0.0
        text = (
            f"uploading {self.name}: {share:4.0%} {sizes(sent, total, rate)}, "
            f"{left:,.0f} s left"
        )
        if self.progress.live:
            now = time.monotonic()
            if now - self.last >= 0.1 or sent == total:
                self.last = now
                self.progress.show(text)
        elif int(share * 10) > self.tenth:
            self.tenth = int(share * 10)
            self.progress.show(text)


_NOT_RESUMED = frozenset(
    {"help", "sandbox", "token", "base_url", "json", "state", "format", "no_header"}
    | {"remove_object", "image"}
)
"""Options the resume command leaves out: ``again`` gives the API's, the output's do not
change what is uploaded, and the rest belong to ``--remove-object``."""


def _resume_command(args: argparse.Namespace) -> str:
    """The import command again, built from the parser's own options and what was given,
    so an option added to ``import`` is never left out."""
    parser: argparse.ArgumentParser = args.parser
    words = ["import"]
    for action in parser._actions:  # argparse keeps its options only here
        if action.dest in _NOT_RESUMED or not hasattr(args, action.dest):
            continue
        value = getattr(args, action.dest)
        if value is not None and value != action.default:
            words += _words(action, value)
    return again(args, shlex.join(words))


def _words(action: argparse.Action, value: object) -> list[str]:
    """The command-line words that give ``action`` this ``value``."""
    texts = [_text(item) for item in (value if isinstance(value, list) else [value])]
    if not action.option_strings:
        return texts
    flag = max(action.option_strings, key=len)
    if action.nargs == 0:
        return [flag]
    if isinstance(action, argparse._AppendAction):
        return [word for text in texts for word in (flag, text)]
    return [flag, *texts]


def _text(value: object) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def run_import(ctx: Context) -> int:
    """Check, upload (resumable), import, wait, distribute, clean up; print the image.
    With ``--remove-object``: remove an object an earlier import kept."""
    if ctx.args.remove_object is not None:
        return run_remove_object(ctx)
    from .._spaces import ImportProgress, SpacesTarget, UploadProgress

    args, do, out = ctx.args, ctx.client, ctx.out
    space = SpacesTarget(
        args.space,
        args.spaces_region or args.region,
        endpoint=args.spaces_endpoint,
        environ=ctx.environ,
    )
    status = Progress(out.stderr, do.clock, out.width)
    bar = UploadBar(Progress(out.stderr, time.monotonic, out.width), Path(args.file).name)
    board = RegionBoard(out.stderr, do.clock, out.width)
    seen: list[ImportProgress] = []
    uploaded = [False]

    def progress(update: Any) -> None:
        if isinstance(update, UploadProgress):
            bar.update(update.sent, update.total, update.rate)
            uploaded[0] = update.sent >= update.total
        elif isinstance(update, ImportProgress):
            if not seen:
                bar.progress.end()
            seen[:] = [update]
            if update.stage == "importing" and update.image is not None:
                status.show(f"image {update.image.id}: {update.image.status}")
            elif update.stage == "distributing" and update.action is not None:
                status.end()
                board.update(update.action)

    quiet = _Reported()  # what the error line says, the log need not say again
    logging.getLogger("do_images").addFilter(quiet)
    try:
        image = do.image.import_file(
            args.file,
            name=args.name,
            region=args.region,
            space=space,
            regions=args.regions or (),
            distribution=args.distribution,
            description=args.description,
            tags=args.tags or (),
            timeout=args.timeout,
            poll=args.poll,
            keep_object=args.keep_object,
            public_read=args.public_read,
            on_progress=progress,
        )
    except KeyboardInterrupt as exc:
        bar.progress.end()
        last = seen[0] if seen else None
        raise Stop(ExitCode.INTERRUPTED, _interrupted(args, exc, last, uploaded[0])) from None
    finally:
        logging.getLogger("do_images").removeFilter(quiet)
        bar.progress.end()
        status.end()
        board.end()
    ctx.out.one(image)
    return ExitCode.OK


class _Reported(logging.Filter):
    """Drops the SDK's record of a kept object: the error line names it, with the
    command that reaches this API."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not hasattr(record, "kept_object")


def _interrupted(args: argparse.Namespace, exc: BaseException, last: Any, uploaded: bool) -> str:
    """What a Ctrl-C left: the upload to resume, or the image and the object."""
    key, bucket = getattr(exc, "object_key", None), getattr(exc, "bucket", None)
    if last is None and key is None and not uploaded:
        return f"upload interrupted; the parts sent are kept: resume with: {_resume_command(args)}"
    image = getattr(last, "image", None)
    if key is not None:
        if not getattr(exc, "object_private", True):
            private = "PUBLIC (making it private failed)"
        elif args.public_read:
            private = "made private again (so the import may fail to fetch it)"
        else:
            private = "private"
        what = "the import" if image is None else f"image {image.id} ({image.status})"
        remove = _removal(args, key, None if image is None else image.id)
        return (
            f"interrupted; {what} may still be importing: the object {key} stays in bucket "
            f"{bucket}, {private}; once the import has ended, remove it with: {remove}"
        )
    kept = "kept (--keep-object)" if args.keep_object else "removed"
    if image is None:
        return f"interrupted; the import did not start; the uploaded object was {kept}"
    return (
        f"interrupted; image {image.id} is {image.status}: transfers it started go on "
        f"server-side (look with: {again(args, f'actions {image.id}')}); the uploaded object "
        f"was {kept}"
    )


def _removal(args: argparse.Namespace, key: str, image_id: int | None) -> str:
    words = ["import", "--remove-object", key, "--space", args.space]
    region = args.spaces_region or args.region
    if region:
        words += ["--spaces-region", region]
    if args.spaces_endpoint:
        words += ["--spaces-endpoint", args.spaces_endpoint]
    if image_id is not None:
        words += ["--image", str(image_id)]
    return again(args, shlex.join(words))


def run_remove_object(ctx: Context) -> int:
    """Remove an object an import kept, unless the image it feeds may still fetch it."""
    from .._errors import NotFoundError
    from .._import import STILL_IMPORTING, made_from
    from .._spaces import SpacesTarget

    args, do = ctx.args, ctx.client
    key: str = args.remove_object
    space = SpacesTarget(
        args.space,
        args.spaces_region or args.region or "nyc3",
        endpoint=args.spaces_endpoint,
        environ=ctx.environ,
    )
    if args.image is not None:
        try:
            candidates = [do.image.info(args.image)]
        except NotFoundError:
            candidates = []
    else:
        candidates = [
            image for image in do.image.list(private=True) if made_from(key, image.name or "")
        ]
    running = [image for image in candidates if str(image.status or "").lower() in STILL_IMPORTING]
    if running:
        named = ", ".join(f"image {image.id} ({image.name}) is {image.status}" for image in running)
        raise Stop(
            ExitCode.API_ERROR,
            f"not removed: {named}, and its import may still fetch {key}; remove it once the "
            f"import has ended (look with: {again(args, f'info {running[0].id}')})",
        )
    there = space.uploader().remove(key)
    if ctx.out.as_json:
        ctx.out.json({"removed": key, "bucket": space.bucket, "existed": there})
    else:
        done = "removed" if there else "was not there (nothing to remove):"
        ctx.out.line(
            f"{done} {key} in bucket {space.bucket}"
            if there
            else f"{key} {done} bucket {space.bucket}"
        )
    return ExitCode.OK


def _check(args: argparse.Namespace) -> None:
    """The two forms of ``import``: an image file, or ``--remove-object``."""
    if args.remove_object is not None:
        given = [name for name, value in (("FILE", args.file), ("--name", args.name)) if value]
        if given:
            raise UsageError(
                f"--remove-object removes an object; it takes no {' or '.join(given)} "
                "(see 'do-images import --help')"
            )
        return
    missing = [
        name
        for name, value in (("FILE", args.file), ("--name", args.name), ("--region", args.region))
        if not value
    ]
    if missing:
        raise UsageError(
            f"the following arguments are required: {', '.join(missing)} "
            "(see 'do-images import --help')"
        )
    if args.image is not None:
        raise UsageError("--image goes with --remove-object (see 'do-images import --help')")


def endpoint_arg(text: str) -> str:
    """``--spaces-endpoint``: https://, or http:// on loopback."""
    from .._checks import check_base_url

    try:
        check_base_url(text, "URL")  # argparse names the option in front
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_commands(commands: Commands) -> None:
    """``import``."""
    sub = commands.add(
        "import",
        "import a local disk image: check, upload to Spaces, import, copy to regions",
        run_import,
        examples=_EXAMPLES,
        check=_check,
        usage="do-images import FILE --name N --region R --space BUCKET [options]\n"
        "       do-images import --remove-object KEY --space BUCKET [--image ID] "
        "[--spaces-region R] [--spaces-endpoint URL]",
    )
    sub.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        help="the image file (raw, qcow2, vhdx, vdi, vmdk; gzip or bzip2)",
    )
    add_image_fields(sub, name_required=False)  # required with FILE: _check says so
    sub.add_argument(
        "--region", help="the region it is imported in, such as nyc3 (required with FILE)"
    )
    sub.add_argument(
        "--space", required=True, metavar="BUCKET", help="the Spaces bucket to upload to"
    )
    sub.add_argument("--spaces-region", metavar="R", help="the bucket's region (default: --region)")
    sub.add_argument(
        "--spaces-endpoint",
        metavar="URL",
        type=endpoint_arg,
        help="an S3-compatible endpoint instead of https://REGION.digitaloceanspaces.com "
        "(http:// only on loopback)",
    )
    sub.add_argument("--regions", nargs="+", metavar="REGION", help="copy it to these regions too")
    sub.add_argument(
        "--keep-object", action="store_true", help="keep the uploaded object after the import"
    )
    sub.add_argument(
        "--public-read",
        action="store_true",
        help="make the object public for the import instead of a presigned URL",
    )
    sub.add_argument(
        "--timeout",
        type=timeout_arg,
        default=DEFAULT_LIFECYCLE_TIMEOUT,
        metavar="T",
        help="give up waiting after T (seconds, or 90m, 2h; default 60m); the import goes on",
    )
    sub.add_argument(
        "--poll",
        type=poll_seconds,
        default=DEFAULT_LIFECYCLE_POLL,
        metavar="S",
        help=f"seconds between polls (default {DEFAULT_LIFECYCLE_POLL:g})",
    )
    sub.add_argument(
        "--remove-object",
        metavar="KEY",
        help="instead of importing: remove an object an import kept (it was still running), "
        "unless its image is still NEW or pending",
    )
    sub.add_argument(
        "--image",
        type=image_arg,
        metavar="ID",
        help="with --remove-object: the image whose import must have ended (default: the "
        "custom images whose name the key was made from)",
    )
    add_output_options(sub, IMAGE_COLUMNS)
