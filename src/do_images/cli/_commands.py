"""The ``do-images`` commands: one handler each, all with one signature.

A handler takes a ``Context`` (the client, the parsed arguments, the output, stdin)
and returns an exit status (``_failures.ExitCode``); ``_parser`` names each
command's handler beside its arguments. The two exceptions a handler may raise to
end a command live here too.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

from .._client import Client
from .._errors import DoImagesError, PermissionDeniedError
from .._models import Action, Image
from ._failures import ExitCode, failure
from ._output import Output, Progress, RegionBoard, again, describe, isatty
from ._text import printable


class UsageError(Exception):
    """A command line that cannot be run as given (exit status 2)."""


class Stop(Exception):
    """Ends the command with ``code`` after printing ``message`` as the error line."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Context:
    """What every command handler gets: the client (``None`` for ``sandbox serve``), the
    parsed arguments, the output and standard input."""

    do: Client | None
    args: argparse.Namespace
    out: Output
    stdin: TextIO

    @property
    def client(self) -> Client:
        """The client, for the commands that talk to the API."""
        assert self.do is not None
        return self.do


Handler = Callable[[Context], int]


# ---------------------------------------------------------------------- waiting


def _wait(ctx: Context, action: Action) -> Action:
    do, args = ctx.client, ctx.args
    # The client's own clock: the virtual one for a sandbox, so elapsed time is the
    # time the action took there, not the few milliseconds it took here.
    progress = Progress(ctx.out.stderr, do.clock, ctx.out.width)
    progress.update(action)
    try:
        return do.image.wait(
            action, poll=args.poll, timeout=args.timeout, on_update=progress.update
        )
    except KeyboardInterrupt:
        progress.end()
        last = progress.last or action
        raise Stop(
            ExitCode.INTERRUPTED,
            f"stopped waiting; {describe(last)} goes on server-side "
            f"(check it with: {again(args, f'action {last.resource_id} {last.id}')})",
        ) from None
    finally:
        progress.end()


# --------------------------------------------------------------------- commands


def run_list(ctx: Context) -> int:
    """``list``: every page; with several ``--tag``, the images with any of them.

    The API filters by one tag, so several tags mean one listing per tag, merged in
    the order first seen, each image once.
    """
    args, image = ctx.args, ctx.client.image
    private = True if args.private else None
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


@contextlib.contextmanager
def _refused_if_public(ctx: Context, image_id: int) -> Iterator[None]:
    """A 403 on a change to a public image says so, not that the token lacks a scope."""
    try:
        yield
    except PermissionDeniedError:
        try:
            image = ctx.client.image.info(image_id)
        except DoImagesError:
            image = None
        if image is not None and image.public:
            raise Stop(
                ExitCode.AUTH,
                f"image {image_id} ({image.name or image.slug}) is a public image: "
                "public images cannot be changed, deleted, transferred or converted",
            ) from None
        raise


def run_update(ctx: Context) -> int:
    args = ctx.args
    if args.name is None and args.description is None and args.distribution is None:
        raise UsageError(
            "update needs at least one of --name, --description, --distribution "
            "(see 'do-images update --help')"
        )
    with _refused_if_public(ctx, args.image):
        image = ctx.client.image.update(
            args.image, args.name, distribution=args.distribution, description=args.description
        )
    ctx.out.one(image)
    return ExitCode.OK


def _confirm(ctx: Context, ids: list[int]) -> bool:
    """Ask once, on the terminal, whether to delete every image in ``ids``."""
    out = ctx.out
    if len(ids) == 1:
        image = ctx.client.image.info(ids[0])
        name = f" ({image.name})" if image.name else ""
        question = f"Delete image {image.id}{name}?"
    else:
        question = f"Delete {_images(ids)}?"
    out.stderr.write(printable(question) + " This cannot be undone. [y/N] ")
    out.stderr.flush()
    try:
        answer = ctx.stdin.readline()
    except KeyboardInterrupt:
        out.stderr.write("\n")  # end the prompt's line before the error line
        raise
    if not answer.endswith("\n"):
        out.stderr.write("\n")  # Ctrl-D: the terminal did not end the prompt's line
    return answer.strip().lower() in ("y", "yes")


def run_delete(ctx: Context) -> int:
    """``delete ID [ID ...]``: one question for all, a line per image, exit 0 only if
    every one was deleted (the first failure's exit status otherwise)."""
    do, args, out = ctx.client, ctx.args, ctx.out
    ids = list(dict.fromkeys(args.images))
    if not args.yes:
        if not isatty(ctx.stdin):
            raise UsageError(
                f"refusing to delete {_images(ids)} without --yes: stdin is not a terminal"
            )
        if not _confirm(ctx, ids):
            out.note(f"not deleted: {_images(ids)}")
            return ExitCode.FAILED
    if len(ids) == 1:
        with _refused_if_public(ctx, ids[0]):
            do.image.destroy(ids[0])
        if out.as_json:
            out.json({"deleted": ids, "failed": []})
        else:
            out.line(f"deleted image {ids[0]}")
        return ExitCode.OK
    return _delete_each(ctx, ids)


def _images(ids: list[int]) -> str:
    return f"image {ids[0]}" if len(ids) == 1 else f"{len(ids)} images ({', '.join(map(str, ids))})"


def _delete_each(ctx: Context, ids: list[int]) -> int:
    out, code = ctx.out, ExitCode.OK
    deleted: list[int] = []
    failed: list[int] = []
    for image_id in ids:
        try:
            with _refused_if_public(ctx, image_id):
                ctx.client.image.destroy(image_id)
        except Stop as exc:
            status, message = exc.code, exc.message
        except DoImagesError as exc:
            status, message = failure(
                exc, argparse.Namespace(**{**vars(ctx.args), "image": image_id})
            )
        else:
            deleted.append(image_id)
            if not out.as_json:
                out.line(f"deleted image {image_id}")
            continue
        code = code or status
        failed.append(image_id)
        out.note(f"not deleted: image {image_id}: {message}")
    if out.as_json:
        out.json({"deleted": deleted, "failed": failed})
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


def run_action_start(ctx: Context) -> int:
    """``transfer`` and ``convert``: start the actions, wait for them if asked.

    One region goes through ``transfer`` (a progress line a poll); several through
    ``distribute``, all at once, with a line for each change.
    """
    args, image = ctx.args, ctx.client.image
    if args.command_name == "transfer" and len(args.regions) > 1:
        return _distribute(ctx)
    with _refused_if_public(ctx, args.image):
        if args.command_name == "transfer":
            action = image.transfer(args.image, args.regions[0])
        else:
            action = image.convert(args.image)
    if args.wait:
        action = _wait(ctx, action)
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


def run_actions(ctx: Context) -> int:
    ctx.out.actions(ctx.client.image.action_list(ctx.args.image))
    return ExitCode.OK


def run_action(ctx: Context) -> int:
    ctx.out.one(ctx.client.image.action_info(ctx.args.image, ctx.args.action))
    return ExitCode.OK


def run_wait(ctx: Context) -> int:
    action = ctx.client.image.action_info(ctx.args.image, ctx.args.action)
    ctx.out.one(_wait(ctx, action))
    return ExitCode.OK


def run_serve(ctx: Context) -> int:
    """``sandbox serve``: a sandbox over HTTP on loopback until Ctrl-C."""
    from ..testing import Sandbox

    out, args = ctx.out, ctx.args
    token = args.token.strip() if args.token and args.token.strip() else None

    def ready(base_url: str) -> None:
        # The URL alone on stdout, so a script can read it; the how-to on stderr.
        out.line(base_url)
        out.stdout.flush()
        accepted = "only the token given accepted" if token else "any token accepted"
        kept = f", kept in {args.state}" if args.state else ""
        out.note(
            f"sandbox API at {base_url}{kept}, {accepted}; try: "
            f"DIGITALOCEAN_TOKEN={'<the token>' if token else 'sandbox'} "
            f"do-images --base-url {base_url} list (Ctrl-C stops it)"
        )

    # Virtual time follows real time here, so actions finish while people watch.
    sandbox = Sandbox(realtime=True, token=token, state=args.state)
    try:
        sandbox.serve_forever("127.0.0.1", args.port, ready=ready)
    except OSError as exc:
        raise Stop(
            ExitCode.FAILED,
            f"cannot serve on 127.0.0.1 port {args.port}: {exc.strerror or exc}",
        ) from None
    out.note("sandbox stopped")
    return ExitCode.OK


def run_completion(ctx: Context) -> int:
    """``completion bash|zsh|fish``: the shell code that completes ``do-images``."""
    try:
        from argcomplete.shell_integration import shellcode
    except ImportError:
        raise Stop(
            ExitCode.FAILED,
            "completion needs the argcomplete package: pip install 'do-images[completion]'",
        ) from None
    ctx.out.stdout.write(shellcode(["do-images"], shell=ctx.args.shell))
    return ExitCode.OK
