"""The ``do-images`` command line.

Tables and key/value views for people, ``--json`` (the documented dicts, as the API
sent them) for scripts, progress on stderr while waiting, one line on stderr for every
error and one exit code per class of failure (``ExitCode``).
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TextIO

from ._cli_output import Output, Progress, describe, isatty
from ._client import Client
from ._constants import DEFAULT_BASE_URL, DEFAULT_POLL, DEFAULT_WAIT_TIMEOUT, TOKEN_VARIABLES
from ._errors import (
    ActionFailedError,
    ActionTimeoutError,
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    DoImagesError,
    MissingTokenError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnknownOutcomeError,
)
from ._models import Action
from ._version import __version__

__all__ = ["ClientFactory", "ExitCode", "Target", "build_parser", "main"]


class ExitCode(enum.IntEnum):
    """What the exit status of ``do-images`` means; one value per class of failure."""

    OK = 0
    FAILED = 1
    USAGE = 2
    API_ERROR = 3
    NOT_FOUND = 4
    AUTH = 5
    RATE_LIMITED = 6
    ACTION_FAILED = 7
    WAIT_TIMED_OUT = 8
    CONNECTION = 9
    UNKNOWN_OUTCOME = 10
    INTERRUPTED = 130


_EXIT_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.FAILED: "not done: delete declined at the prompt, or an unexpected failure",
    ExitCode.USAGE: "usage: bad arguments, or delete without --yes when stdin is no terminal",
    ExitCode.API_ERROR: "API error: any other error status, or a response that made no sense",
    ExitCode.NOT_FOUND: "not found: no such image or action",
    ExitCode.AUTH: "auth: no token, a token the API refused (401), or not allowed (403)",
    ExitCode.RATE_LIMITED: "rate limited: the request budget is spent (429)",
    ExitCode.ACTION_FAILED: "action failed: the awaited action ended errored",
    ExitCode.WAIT_TIMED_OUT: "wait timed out: the action goes on, it was not done in time",
    ExitCode.CONNECTION: "connection: the API could not be reached, or the request timed out",
    ExitCode.UNKNOWN_OUTCOME: "unknown outcome: a create, transfer or convert may have happened",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); an action being awaited goes on server-side",
}


@dataclass(frozen=True)
class Target:
    """Where a command goes: the global options that pick the API and the token."""

    sandbox: bool
    token: str | None
    base_url: str
    environ: Mapping[str, str]


ClientFactory = Callable[[Target], Client]
"""Builds the ``Client`` a command runs with (a seam for tests and embedding)."""


class _UsageError(Exception):
    """A command line that cannot be run as given (exit status 2)."""


class _Stop(Exception):
    """Ends the command with ``code`` after printing ``message`` as the error line."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ----------------------------------------------------------------------- parsing


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and never exits the interpreter."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _positive_id(what: str) -> Callable[[str], int]:
    """An argparse type for an id: ASCII digits, at least 1."""

    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit()) or int(text) < 1:
            raise argparse.ArgumentTypeError(f"{text!r} is not an {what} (a positive integer)")
        return int(text)

    parse.__name__ = what.replace(" ", "_")
    return parse


_image_id = _positive_id("image id")
_action_id = _positive_id("action id")


def _id_or_slug(text: str) -> int | str:
    # All digits is an id; anything else is a slug, which the SDK checks.
    return _image_id(text) if text.isascii() and text.isdigit() else text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _poll_seconds(text: str) -> float:
    value = _seconds(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: poll at most once a second")
    return value


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535)")
    return int(text)


def _add_global_options(parser: argparse.ArgumentParser, *, on_command: bool) -> None:
    # Accepted before and after the command; on a command, an option not given must
    # not overwrite what was given before it, hence SUPPRESS as the default there.
    def default(value: object) -> object:
        return argparse.SUPPRESS if on_command else value

    parser.add_argument(
        "--sandbox",
        action="store_true",
        default=default(False),
        help="run against an in-process sandbox API (no account; state lives for this command)",
    )
    parser.add_argument(
        "--token",
        default=default(None),
        metavar="TOKEN",
        help=f"API token (default: ${TOKEN_VARIABLES[0]}, else ${TOKEN_VARIABLES[1]}; "
        "prefer those: a command line is visible to other users)",
    )
    parser.add_argument(
        "--base-url",
        default=default(DEFAULT_BASE_URL),
        metavar="URL",
        help=f"API address (default: {DEFAULT_BASE_URL}; http:// only on loopback, "
        "such as a 'do-images sandbox serve')",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print the API's objects as JSON (an array for lists) instead of tables",
    )


def _add_wait_options(parser: argparse.ArgumentParser, *, flag: bool) -> None:
    if flag:
        parser.add_argument(
            "--wait", action="store_true", help="wait until the action is done (progress on stderr)"
        )
    parser.add_argument(
        "--poll",
        type=_poll_seconds,
        default=DEFAULT_POLL,
        metavar="S",
        help=f"seconds between polls while waiting (default {DEFAULT_POLL:g}, at least 1)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_WAIT_TIMEOUT,
        metavar="S",
        help=f"give up waiting after S seconds (default {DEFAULT_WAIT_TIMEOUT:g}); "
        "the action goes on",
    )


@dataclass(frozen=True)
class _Context:
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


Handler = Callable[[_Context], int]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``do-images``; each command names its handler (``run``)."""
    epilog = "exit status:\n" + "\n".join(
        f"  {int(code):>3}  {meaning}" for code, meaning in _EXIT_MEANINGS.items()
    )
    parser = _Parser(
        prog="do-images",
        description="Manage DigitalOcean images from the command line.\n"
        "Try it without an account: do-images --sandbox list",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"do-images {__version__}")
    _add_global_options(parser, on_command=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help: str, run: Handler) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        _add_global_options(sub, on_command=True)
        sub.set_defaults(run=run, needs_client=True)
        return sub

    sub = command("list", "list images (all pages)", _list)
    sub.add_argument("--type", choices=("distribution", "application"), help="only this kind")
    sub.add_argument("--private", action="store_true", help="only your own images")
    sub.add_argument("--tag", metavar="NAME", help="only images with this tag")

    sub = command("info", "show one image", _info)
    sub.add_argument("image", type=_id_or_slug, metavar="ID_OR_SLUG")

    sub = command("update", "rename or describe an image", _update)
    sub.add_argument("image", type=_image_id, metavar="ID")
    sub.add_argument("--name")
    sub.add_argument("--description")
    sub.add_argument("--distribution")

    sub = command("delete", "delete a snapshot, backup or custom image", _delete)
    sub.add_argument("image", type=_image_id, metavar="ID")
    sub.add_argument(
        "--yes", "-y", action="store_true", help="do not ask (required when stdin is no terminal)"
    )

    sub = command("create", "import a custom image from a URL", _create)
    sub.add_argument("--name", required=True)
    sub.add_argument("--url", required=True, help="http(s) address of the image file")
    sub.add_argument("--region", required=True, help="region slug, such as nyc3")
    sub.add_argument("--distribution")
    sub.add_argument("--description")
    sub.add_argument(
        "--tag", dest="tags", action="append", metavar="NAME", help="a tag (repeatable)"
    )

    sub = command("transfer", "copy an image to another region", _start_action)
    sub.add_argument("image", type=_image_id, metavar="ID")
    sub.add_argument("region", metavar="REGION")
    _add_wait_options(sub, flag=True)

    sub = command("convert", "convert a backup into a snapshot", _start_action)
    sub.add_argument("image", type=_image_id, metavar="ID")
    _add_wait_options(sub, flag=True)

    sub = command("actions", "list an image's actions", _actions)
    sub.add_argument("image", type=_image_id, metavar="ID")

    sub = command("action", "show one action of an image", _action)
    sub.add_argument("image", type=_image_id, metavar="ID")
    sub.add_argument("action", type=_action_id, metavar="ACTION_ID")

    sub = command("wait", "wait until an action is done (progress on stderr)", _wait_command)
    sub.add_argument("image", type=_image_id, metavar="ID")
    sub.add_argument("action", type=_action_id, metavar="ACTION_ID")
    _add_wait_options(sub, flag=False)

    sub = commands.add_parser(
        "sandbox", help="the offline sandbox API", description="the offline sandbox API"
    )
    _add_global_options(sub, on_command=True)
    sandbox_commands = sub.add_subparsers(dest="sandbox_command", metavar="COMMAND", required=True)
    serve = sandbox_commands.add_parser(
        "serve",
        help="serve a sandbox API over HTTP on 127.0.0.1 until Ctrl-C",
        description="Serve a sandbox API over HTTP on 127.0.0.1 until Ctrl-C; prints its base URL.",
    )
    serve.add_argument(
        "--port", type=_port, default=0, help="port to listen on (default: any free port)"
    )
    serve.set_defaults(run=_serve, needs_client=False)
    return parser


# ---------------------------------------------------------------------- waiting


def _wait(ctx: _Context, action: Action) -> Action:
    do, args = ctx.client, ctx.args
    # The client's own clock: the virtual one for a sandbox, so elapsed time is the
    # time the action took there, not the few milliseconds it took here.
    progress = Progress(ctx.out.stderr, do.clock)
    progress.update(action)
    try:
        return do.image.wait(
            action, poll=args.poll, timeout=args.timeout, on_update=progress.update
        )
    except KeyboardInterrupt:
        progress.end()
        last = progress.last or action
        raise _Stop(
            ExitCode.INTERRUPTED,
            f"stopped waiting; {describe(last)} goes on server-side "
            f"(check it with: do-images action {last.resource_id} {last.id})",
        ) from None
    finally:
        progress.end()


# --------------------------------------------------------------------- commands


def _list(ctx: _Context) -> int:
    args = ctx.args
    images = ctx.client.image.list(
        type=args.type, private=True if args.private else None, tag_name=args.tag
    )
    ctx.out.images(images)
    return ExitCode.OK


def _info(ctx: _Context) -> int:
    ctx.out.one(ctx.client.image.info(ctx.args.image))
    return ExitCode.OK


def _update(ctx: _Context) -> int:
    args = ctx.args
    if args.name is None and args.description is None and args.distribution is None:
        raise _UsageError(
            "update needs at least one of --name, --description, --distribution "
            "(see 'do-images update --help')"
        )
    image = ctx.client.image.update(
        args.image, args.name, distribution=args.distribution, description=args.description
    )
    ctx.out.one(image)
    return ExitCode.OK


def _delete(ctx: _Context) -> int:
    do, args, out = ctx.client, ctx.args, ctx.out
    if not args.yes:
        if not isatty(ctx.stdin):
            raise _UsageError(
                f"refusing to delete image {args.image} without --yes: stdin is not a terminal"
            )
        image = do.image.info(args.image)
        name = f" ({image.name})" if image.name else ""
        out.stderr.write(f"Delete image {image.id}{name}? This cannot be undone. [y/N] ")
        out.stderr.flush()
        try:
            answer = ctx.stdin.readline()
        except KeyboardInterrupt:
            out.stderr.write("\n")  # end the prompt's line before the error line
            raise
        if answer.strip().lower() not in ("y", "yes"):
            out.note(f"not deleted: image {args.image}")
            return ExitCode.FAILED
    do.image.destroy(args.image)
    if not out.as_json:
        out.line(f"deleted image {args.image}")
    return ExitCode.OK


def _create(ctx: _Context) -> int:
    args = ctx.args
    image = ctx.client.image.create(
        args.name,
        args.url,
        args.region,
        distribution=args.distribution,
        description=args.description,
        tags=args.tags,
    )
    ctx.out.one(image)
    return ExitCode.OK


def _start_action(ctx: _Context) -> int:
    """``transfer`` and ``convert``: start the action, wait for it if asked."""
    args, image = ctx.args, ctx.client.image
    if args.command == "transfer":
        action = image.transfer(args.image, args.region)
    else:
        action = image.convert(args.image)
    if args.wait:
        action = _wait(ctx, action)
    ctx.out.one(action)
    return ExitCode.OK


def _actions(ctx: _Context) -> int:
    ctx.out.actions(ctx.client.image.action_list(ctx.args.image))
    return ExitCode.OK


def _action(ctx: _Context) -> int:
    ctx.out.one(ctx.client.image.action_info(ctx.args.image, ctx.args.action))
    return ExitCode.OK


def _wait_command(ctx: _Context) -> int:
    action = ctx.client.image.action_info(ctx.args.image, ctx.args.action)
    ctx.out.one(_wait(ctx, action))
    return ExitCode.OK


def _serve(ctx: _Context) -> int:
    """``sandbox serve``: a sandbox over HTTP on loopback until Ctrl-C."""
    from .testing import Sandbox

    out, port = ctx.out, ctx.args.port

    def ready(base_url: str) -> None:
        # The URL alone on stdout, so a script can read it; the how-to on stderr.
        out.line(base_url)
        out.stdout.flush()
        out.note(
            f"sandbox API at {base_url}, any token accepted; try: "
            f"DIGITALOCEAN_TOKEN=sandbox do-images --base-url {base_url} list "
            "(Ctrl-C stops it)"
        )

    # Virtual time follows real time here, so actions finish while people watch.
    sandbox = Sandbox(realtime=True)
    try:
        sandbox.serve_forever("127.0.0.1", port, ready=ready)
    except OSError as exc:
        raise _Stop(
            ExitCode.FAILED, f"cannot serve on 127.0.0.1 port {port}: {exc.strerror or exc}"
        ) from None
    out.note("sandbox stopped")
    return ExitCode.OK


# ------------------------------------------------------------------------ clients


def default_client(target: Target) -> Client:
    """The ``Client`` for ``target``: a sandbox's, or the API's with the token found."""
    if target.sandbox:
        from .testing import Sandbox

        return Sandbox().client()
    token = target.token
    if token is not None and not token.strip():
        token = None  # an empty --token (say, from an unset shell variable) is no token
    return Client(token, base_url=target.base_url, environ=target.environ)


# --------------------------------------------------------------------- failures


def _subject(args: argparse.Namespace) -> str:
    if getattr(args, "action", None) is not None:
        return f"action {args.action} of image {args.image}"
    if getattr(args, "image", None) is not None:
        return f"image {args.image}"
    return "the requested resource"


def _request_id(request_id: str | None) -> str:
    return f" (request id {request_id})" if request_id else ""


def _rate_limited(exc: RateLimitError, args: argparse.Namespace) -> str:
    if exc.retry_after is not None:
        hint = f"; retry in {math.ceil(exc.retry_after)} s"
    elif exc.reset_at is not None:
        hint = f"; the budget refills at {exc.reset_at:%H:%M:%S} UTC"
    else:
        hint = ""
    return f"rate limited: {exc.message}{_request_id(exc.request_id)}{hint}"


def _unknown_outcome(exc: UnknownOutcomeError, args: argparse.Namespace) -> str:
    if getattr(args, "image", None) is None:  # create
        look = "look for it with: do-images list --private"
    else:
        look = f"look with: do-images actions {args.image}"
    return f"{exc}; {look} before trying again"


def _wait_timed_out(exc: ActionTimeoutError, args: argparse.Namespace) -> str:
    action = exc.action
    return (
        f"{exc}; it goes on server-side "
        f"(keep waiting with: do-images wait {action.resource_id} {action.id})"
    )


_Message = Callable[[Any, argparse.Namespace], str]

_FAILURES: list[
    tuple[type[BaseException] | tuple[type[BaseException], ...], ExitCode, _Message]
] = [
    # Walked in order, first match wins: subclasses before their bases.
    (
        MissingTokenError,
        ExitCode.AUTH,
        lambda exc, args: (
            f"no DigitalOcean token: set ${TOKEN_VARIABLES[0]} (or ${TOKEN_VARIABLES[1]}) "
            "or pass --token; to try without an account: do-images --sandbox list"
        ),
    ),
    (
        NotFoundError,
        ExitCode.NOT_FOUND,
        lambda exc, args: f"not found: {_subject(args)}{_request_id(exc.request_id)}",
    ),
    (
        AuthenticationError,
        ExitCode.AUTH,
        lambda exc, args: (
            f"authentication failed: {exc.message}{_request_id(exc.request_id)}; "
            f"check the token (${TOKEN_VARIABLES[0]} or --token)"
        ),
    ),
    (
        PermissionDeniedError,
        ExitCode.AUTH,
        lambda exc, args: (
            f"permission denied: {exc.message}{_request_id(exc.request_id)}; "
            "the token may lack the scope for this"
        ),
    ),
    (RateLimitError, ExitCode.RATE_LIMITED, _rate_limited),
    (APIStatusError, ExitCode.API_ERROR, lambda exc, args: f"API error {exc}"),
    (
        ResponseValidationError,
        ExitCode.API_ERROR,
        lambda exc, args: (
            f"unexpected response from the API: {exc.message}{_request_id(exc.request_id)}"
        ),
    ),
    (UnknownOutcomeError, ExitCode.UNKNOWN_OUTCOME, _unknown_outcome),
    (APIConnectionError, ExitCode.CONNECTION, lambda exc, args: f"could not reach the API: {exc}"),
    (ActionFailedError, ExitCode.ACTION_FAILED, lambda exc, args: str(exc)),
    (ActionTimeoutError, ExitCode.WAIT_TIMED_OUT, _wait_timed_out),
    (DoImagesError, ExitCode.API_ERROR, lambda exc, args: str(exc)),
    # The SDK refuses bad arguments with these before sending anything.
    ((ValueError, TypeError), ExitCode.USAGE, lambda exc, args: str(exc)),
]
"""Exception class -> exit status and one-line message; reads like the exit-status table."""


def _failure(exc: BaseException, args: argparse.Namespace) -> tuple[ExitCode, str]:
    """The exit code and the one-line message for an exception a command raised."""
    for kind, code, message in _FAILURES:
        if isinstance(exc, kind):
            return code, message(exc, args)
    return ExitCode.FAILED, f"unexpected {type(exc).__name__}: {exc}"


# ------------------------------------------------------------------------- main


def main(
    argv: Sequence[str] | None = None,
    *,
    client_factory: ClientFactory | None = None,
    environ: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``do-images`` with ``argv`` (default: the process arguments); return the exit code.

    Never raises (``--help`` and usage errors included) and never prints a traceback.
    ``client_factory`` builds the ``Client`` from the global options (default:
    ``default_client``); ``environ`` replaces ``os.environ`` and the streams replace
    ``sys.stdin`` / ``sys.stdout`` / ``sys.stderr``.
    """
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    try:
        # argparse prints --help and --version on sys.stdout itself.
        with contextlib.redirect_stdout(stdout):
            args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    except _UsageError as exc:
        stderr.write(f"error: {exc}\n")
        return ExitCode.USAGE
    except SystemExit as exc:  # --help and --version print, then "exit"
        return exc.code if isinstance(exc.code, int) else ExitCode.OK

    out = Output(stdout, stderr, as_json=args.json)
    target = Target(
        sandbox=args.sandbox,
        token=args.token,
        base_url=args.base_url,
        environ=os.environ if environ is None else environ,
    )
    try:
        return _run(args, target, client_factory or default_client, out, stdin)
    except _UsageError as exc:
        code, message = ExitCode.USAGE, str(exc)
    except _Stop as exc:
        code, message = exc.code, exc.message
    except KeyboardInterrupt:
        code, message = ExitCode.INTERRUPTED, "interrupted"
    except BrokenPipeError:
        # The reader went away (``do-images list | head``): not an error worth a line.
        _silence_stdout(stdout)
        return ExitCode.FAILED
    except Exception as exc:
        code, message = _failure(exc, args)
    finally:
        try:
            stdout.flush()
        except (BrokenPipeError, ValueError):
            _silence_stdout(stdout)
    stderr.write(f"error: {message}\n")
    return code


def _run(
    args: argparse.Namespace,
    target: Target,
    client_factory: ClientFactory,
    out: Output,
    stdin: TextIO,
) -> int:
    run: Handler = args.run
    if not args.needs_client:
        return run(_Context(None, args, out, stdin))
    with client_factory(target) as do:
        return run(_Context(do, args, out, stdin))


def _silence_stdout(stdout: TextIO) -> None:
    # Python flushes stdout again at exit; point the descriptor at /dev/null so that
    # flush cannot fail with a second BrokenPipeError and a traceback.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
