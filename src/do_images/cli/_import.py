"""``import``: a local disk image, checked, uploaded to Spaces, imported, distributed."""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path
from typing import Any

from .._checks import parse_duration
from .._constants import DEFAULT_LIFECYCLE_POLL, DEFAULT_LIFECYCLE_TIMEOUT
from ._commands import Context, Stop
from ._failures import ExitCode
from ._output import IMAGE_COLUMNS, Progress, RegionBoard, again
from ._parser import Commands, add_image_fields, add_output_options, poll_seconds

_EXAMPLES = (
    "do-images import build/web.qcow2.gz --name web-2026-12 --region nyc3 --space my-images",
    "do-images import disk.img --name web --region nyc3 --space b --regions sfo3 ams3 "
    "--timeout 90m",
    "do-images --sandbox import disk.qcow2.gz --name web --region nyc3 --space b "
    "--spaces-endpoint http://127.0.0.1:9000   # any S3-compatible server",
)
_MiB = 1024 * 1024


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
            f"uploading {self.name}: {share:4.0%} {sent / _MiB:,.0f} of {total / _MiB:,.0f} MiB, "
            f"{rate / _MiB:,.1f} MiB/s, {left:,.0f} s left"
        )
        if self.progress.live:
            now = time.monotonic()
            if now - self.last >= 0.1 or sent == total:
                self.last = now
                self.progress.show(text)
        elif int(share * 10) > self.tenth:
            self.tenth = int(share * 10)
            self.progress.show(text)


def _resume_command(args: argparse.Namespace) -> str:
    words = [
        "import",
        args.file,
        "--name",
        args.name,
        "--region",
        args.region,
        "--space",
        args.space,
    ]
    for option in ("spaces_region", "spaces_endpoint", "distribution", "description"):
        value = getattr(args, option)
        if value is not None:
            words += [f"--{option.replace('_', '-')}", value]
    if args.regions:
        words += ["--regions", *args.regions]
    for tag in args.tags or []:
        words += ["--tag", tag]
    words += [
        flag
        for flag, on in (("--keep-object", args.keep_object), ("--public-read", args.public_read))
        if on
    ]
    return again(args, shlex.join(words))


def run_import(ctx: Context) -> int:
    """Check, upload (resumable), import, wait, distribute, clean up; print the image."""
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
    stage = ["upload"]

    def progress(seen: Any) -> None:
        if isinstance(seen, UploadProgress):
            bar.update(seen.sent, seen.total, seen.rate)
        elif isinstance(seen, ImportProgress):
            if stage[0] == "upload":
                bar.progress.end()
            stage[0] = seen.stage
            if seen.stage == "importing" and seen.image is not None:
                status.show(f"image {seen.image.id}: {seen.image.status}")
            elif seen.stage == "distributing" and seen.action is not None:
                status.end()
                board.update(seen.action)

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
    except KeyboardInterrupt:
        if stage[0] != "upload":
            raise
        bar.progress.end()
        raise Stop(
            ExitCode.INTERRUPTED,
            f"upload interrupted; the parts sent are kept: resume with: {_resume_command(args)}",
        ) from None
    finally:
        bar.progress.end()
        status.end()
        board.end()
    ctx.out.one(image)
    return ExitCode.OK


def add_commands(commands: Commands) -> None:
    """``import``."""
    sub = commands.add(
        "import",
        "import a local disk image: check, upload to Spaces, import, copy to regions",
        run_import,
        examples=_EXAMPLES,
    )
    sub.add_argument(
        "file", metavar="FILE", help="the image file (raw, qcow2, vhdx, vdi, vmdk; gzip or bzip2)"
    )
    add_image_fields(sub)
    sub.add_argument("--region", required=True, help="the region it is imported in, such as nyc3")
    sub.add_argument(
        "--space", required=True, metavar="BUCKET", help="the Spaces bucket to upload to"
    )
    sub.add_argument("--spaces-region", metavar="R", help="the bucket's region (default: --region)")
    sub.add_argument(
        "--spaces-endpoint",
        metavar="URL",
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
    add_output_options(sub, IMAGE_COLUMNS)
