"""The ``do-images`` command line.

Tables and key/value views for people, ``--json`` (the documented dicts, as the API
sent them) for scripts, progress on stderr while waiting, one line on stderr for every
error and one exit code per class of failure (``ExitCode``).
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn, TextIO

from ._client import Client
from ._constants import DEFAULT_BASE_URL, TOKEN_VARIABLES
from ._errors import (
    ActionFailedError,
    ActionTimeoutError,
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    DoImagesError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnknownOutcomeError,
)
from ._models import Action, Image
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


def _image_id(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an image id (a positive integer)")
    return int(text)


def _action_id(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an action id (a positive integer)")
    return int(text)


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
        default=5.0,
        metavar="S",
        help="seconds between polls while waiting (default 5, at least 1)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=300.0,
        metavar="S",
        help="give up waiting after S seconds (default 300); the action goes on",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``do-images``."""
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

    def command(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        _add_global_options(sub, on_command=True)
        return sub

    sub = command("list", "list images (all pages)")
    sub.add_argument("--type", choices=("distribution", "application"), help="only this kind")
    sub.add_argument("--private", action="store_true", help="only your own images")
    sub.add_argument("--tag", metavar="NAME", help="only images with this tag")

    sub = command("info", "show one image")
    sub.add_argument("image", type=_id_or_slug, metavar="ID_OR_SLUG")

    sub = command("update", "rename or describe an image")
    sub.add_argument("image", type=_image_id, metavar="ID")
    sub.add_argument("--name")
    sub.add_argument("--description")
    sub.add_argument("--distribution")

    sub = command("delete", "delete a snapshot, backup or custom image")
    sub.add_argument("image", type=_image_id, metavar="ID")
    sub.add_argument(
        "--yes", "-y", action="store_true", help="do not ask (required when stdin is no terminal)"
    )

    sub = command("create", "import a custom image from a URL")
    sub.add_argument("--name", required=True)
    sub.add_argument("--url", required=True, help="http(s) address of the image file")
    sub.add_argument("--region", required=True, help="region slug, such as nyc3")
    sub.add_argument("--distribution")
    sub.add_argument("--description")
    sub.add_argument(
        "--tag", dest="tags", action="append", metavar="NAME", help="a tag (repeatable)"
    )

    sub = command("transfer", "copy an image to another region")
    sub.add_argument("image", type=_image_id, metavar="ID")
    sub.add_argument("region", metavar="REGION")
    _add_wait_options(sub, flag=True)

    sub = command("convert", "convert a backup into a snapshot")
    sub.add_argument("image", type=_image_id, metavar="ID")
    _add_wait_options(sub, flag=True)

    sub = command("actions", "list an image's actions")
    sub.add_argument("image", type=_image_id, metavar="ID")

    sub = command("action", "show one action of an image")
    sub.add_argument("image", type=_image_id, metavar="ID")
    sub.add_argument("action", type=_action_id, metavar="ACTION_ID")

    sub = command("wait", "wait until an action is done (progress on stderr)")
    sub.add_argument("image", type=_image_id, metavar="ID")
    sub.add_argument("action", type=_action_id, metavar="ACTION_ID")
    _add_wait_options(sub, flag=False)

    sub = command("sandbox", "the offline sandbox API")
    sandbox_commands = sub.add_subparsers(dest="sandbox_command", metavar="COMMAND", required=True)
    serve = sandbox_commands.add_parser(
        "serve",
        help="serve a sandbox API over HTTP on 127.0.0.1 until Ctrl-C",
        description="Serve a sandbox API over HTTP on 127.0.0.1 until Ctrl-C; prints its base URL.",
    )
    serve.add_argument(
        "--port", type=_port, default=0, help="port to listen on (default: any free port)"
    )
    return parser


# ----------------------------------------------------------------------- output


class _Output:
    """Where results (stdout) and messages (stderr) go, and in which form."""

    def __init__(self, stdout: TextIO, stderr: TextIO, *, as_json: bool) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.as_json = as_json

    def line(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def note(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def json(self, value: object) -> None:
        self.line(json.dumps(value, indent=2, ensure_ascii=False))

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> None:
        widths = [len(header) for header in headers]
        for row in rows:
            widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

        def render(cells: Sequence[str]) -> str:
            parts = [
                cell.rjust(width) if index in right else cell.ljust(width)
                for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
            ]
            return "  ".join(parts).rstrip()

        self.line(render(headers))
        for row in rows:
            self.line(render(row))

    def record(self, data: Mapping[str, Any]) -> None:
        width = max((len(key) for key in data), default=0)
        for key, value in data.items():
            self.line(f"{key:<{width}}  {_value(value)}")

    def images(self, images: Sequence[Image]) -> None:
        if self.as_json:
            self.json([image.model_dump() for image in images])
        elif not images:
            self.note("no images")
        else:
            self.table(
                ("ID", "NAME", "TYPE", "DISTRIBUTION", "REGIONS", "SIZE", "CREATED"),
                [_image_row(image) for image in images],
                right={0, 5},
            )

    def actions(self, actions: Sequence[Action]) -> None:
        if self.as_json:
            self.json([action.model_dump() for action in actions])
        elif not actions:
            self.note("no actions")
        else:
            self.table(
                ("ID", "TYPE", "STATUS", "REGION", "STARTED", "COMPLETED"),
                [_action_row(action) for action in actions],
                right={0},
            )

    def one(self, model: Image | Action) -> None:
        if self.as_json:
            self.json(model.model_dump())
        else:
            self.record(model.model_dump())


def _value(value: object) -> str:
    """A JSON value as a person reads it in a key/value view."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value) if value else "-"
    if isinstance(value, dict):
        if isinstance(value.get("slug"), str) and isinstance(value.get("name"), str):
            return f"{value['slug']} ({value['name']})"  # an action's region object
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _text(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def _when(value: datetime | None, *, time: bool) -> str:
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d %H:%M" if time else "%Y-%m-%d")


def _regions(regions: Sequence[str] | None, shown: int = 3) -> str:
    # Public images are in a dozen regions; the table shows a few and counts the rest.
    if not regions:
        return "-"
    more = len(regions) - shown
    return ",".join(regions[:shown]) + (f" +{more}" if more > 0 else "")


def _image_row(image: Image) -> list[str]:
    size = "-" if image.size_gigabytes is None else f"{image.size_gigabytes:g} GB"
    return [
        str(image.id),
        _text(image.name),
        _text(image.type),
        _text(image.distribution),
        _regions(image.regions),
        size,
        _when(image.created_at, time=False),
    ]


def _action_row(action: Action) -> list[str]:
    region = action.region_slug or (action.region.slug if action.region else None)
    return [
        str(action.id),
        _text(action.type),
        _text(action.status),
        _text(region),
        _when(action.started_at, time=True),
        _when(action.completed_at, time=True),
    ]


# ---------------------------------------------------------------------- waiting


def _describe(action: Action) -> str:
    return f"{action.type} {action.id} on image {action.resource_id}"


class _Progress:
    """Reports an awaited action on stderr: one live line on a terminal, else a line a poll."""

    def __init__(self, stream: TextIO, clock: Callable[[], float]) -> None:
        self.stream = stream
        self.clock = clock
        self.start = clock()
        self.live = _isatty(stream)
        self.width = 0
        self.last: Action | None = None

    def update(self, action: Action) -> None:
        self.last = action
        text = f"{_describe(action)}: {action.status}, {self.clock() - self.start:.0f} s"
        if self.live:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.live and self.width:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


def _wait(do: Client, action: Action, args: argparse.Namespace, out: _Output) -> Action:
    # The client's own clock: the virtual one for a sandbox, so elapsed time is the
    # time the action took there, not the few milliseconds it took here.
    progress = _Progress(out.stderr, do._session.clock)
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
            f"stopped waiting; {_describe(last)} goes on server-side "
            f"(check it with: do-images action {last.resource_id} {last.id})",
        ) from None
    finally:
        progress.end()


# --------------------------------------------------------------------- commands


def _list(do: Client, args: argparse.Namespace, out: _Output) -> int:
    images = do.image.list(
        type=args.type, private=True if args.private else None, tag_name=args.tag
    )
    out.images(images)
    return ExitCode.OK


def _info(do: Client, args: argparse.Namespace, out: _Output) -> int:
    out.one(do.image.info(args.image))
    return ExitCode.OK


def _update(do: Client, args: argparse.Namespace, out: _Output) -> int:
    if args.name is None and args.description is None and args.distribution is None:
        raise _UsageError(
            "update needs at least one of --name, --description, --distribution "
            "(see 'do-images update --help')"
        )
    image = do.image.update(
        args.image, args.name, distribution=args.distribution, description=args.description
    )
    out.one(image)
    return ExitCode.OK


def _delete(do: Client, args: argparse.Namespace, out: _Output, stdin: TextIO) -> int:
    if not args.yes:
        if not _isatty(stdin):
            raise _UsageError(
                f"refusing to delete image {args.image} without --yes: stdin is not a terminal"
            )
        image = do.image.info(args.image)
        name = f" ({image.name})" if image.name else ""
        out.stderr.write(f"Delete image {image.id}{name}? This cannot be undone. [y/N] ")
        out.stderr.flush()
        try:
            answer = stdin.readline()
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


def _create(do: Client, args: argparse.Namespace, out: _Output) -> int:
    image = do.image.create(
        args.name,
        args.url,
        args.region,
        distribution=args.distribution,
        description=args.description,
        tags=args.tags,
    )
    out.one(image)
    return ExitCode.OK


def _transfer(do: Client, args: argparse.Namespace, out: _Output) -> int:
    action = do.image.transfer(args.image, args.region)
    if args.wait:
        action = _wait(do, action, args, out)
    out.one(action)
    return ExitCode.OK


def _convert(do: Client, args: argparse.Namespace, out: _Output) -> int:
    action = do.image.convert(args.image)
    if args.wait:
        action = _wait(do, action, args, out)
    out.one(action)
    return ExitCode.OK


def _actions(do: Client, args: argparse.Namespace, out: _Output) -> int:
    out.actions(do.image.action_list(args.image))
    return ExitCode.OK


def _action(do: Client, args: argparse.Namespace, out: _Output) -> int:
    out.one(do.image.action_info(args.image, args.action))
    return ExitCode.OK


def _wait_command(do: Client, args: argparse.Namespace, out: _Output) -> int:
    action = do.image.action_info(args.image, args.action)
    out.one(_wait(do, action, args, out))
    return ExitCode.OK


_COMMANDS: dict[str, Callable[[Client, argparse.Namespace, _Output], int]] = {
    "list": _list,
    "info": _info,
    "update": _update,
    "create": _create,
    "transfer": _transfer,
    "convert": _convert,
    "actions": _actions,
    "action": _action,
    "wait": _wait_command,
}


# ------------------------------------------------------------------------ clients


def default_client(target: Target) -> Client:
    """The ``Client`` for ``target``: a sandbox's, or the API's with the token found."""
    if target.sandbox:
        from .testing import Sandbox

        return Sandbox().client()
    token = target.token
    if token is not None and not token.strip():
        token = None  # an empty --token (say, from an unset shell variable) is no token
    if token is None and not any(target.environ.get(name, "").strip() for name in TOKEN_VARIABLES):
        raise _Stop(
            ExitCode.AUTH,
            f"no DigitalOcean token: set ${TOKEN_VARIABLES[0]} (or ${TOKEN_VARIABLES[1]}) "
            "or pass --token; to try without an account: do-images --sandbox list",
        )
    return Client(token, base_url=target.base_url, environ=target.environ)


# --------------------------------------------------------------------- failures


def _subject(args: argparse.Namespace) -> str:
    if args.command in ("action", "wait"):
        return f"action {args.action} of image {args.image}"
    if getattr(args, "image", None) is not None:
        return f"image {args.image}"
    return "the requested resource"


def _request_id(request_id: str | None) -> str:
    return f" (request id {request_id})" if request_id else ""


def _failure(exc: BaseException, args: argparse.Namespace) -> tuple[ExitCode, str]:
    """The exit code and the one-line message for an exception a command raised."""
    if isinstance(exc, NotFoundError):
        return ExitCode.NOT_FOUND, f"not found: {_subject(args)}{_request_id(exc.request_id)}"
    if isinstance(exc, AuthenticationError):
        return ExitCode.AUTH, (
            f"authentication failed: {exc.message}{_request_id(exc.request_id)}; "
            f"check the token (${TOKEN_VARIABLES[0]} or --token)"
        )
    if isinstance(exc, PermissionDeniedError):
        return ExitCode.AUTH, (
            f"permission denied: {exc.message}{_request_id(exc.request_id)}; "
            "the token may lack the scope for this"
        )
    if isinstance(exc, RateLimitError):
        if exc.retry_after is not None:
            hint = f"; retry in {math.ceil(exc.retry_after)} s"
        elif exc.reset_at is not None:
            hint = f"; the budget refills at {exc.reset_at:%H:%M:%S} UTC"
        else:
            hint = ""
        return ExitCode.RATE_LIMITED, (
            f"rate limited: {exc.message}{_request_id(exc.request_id)}{hint}"
        )
    if isinstance(exc, APIStatusError):
        return ExitCode.API_ERROR, f"API error {exc}"
    if isinstance(exc, ResponseValidationError):
        return ExitCode.API_ERROR, (
            f"unexpected response from the API: {exc.message}{_request_id(exc.request_id)}"
        )
    if isinstance(exc, UnknownOutcomeError):
        if args.command == "create":
            look = "look for it with: do-images list --private"
        else:
            look = f"look with: do-images actions {args.image}"
        return ExitCode.UNKNOWN_OUTCOME, f"{exc}; {look} before trying again"
    if isinstance(exc, APIConnectionError):
        return ExitCode.CONNECTION, f"could not reach the API: {exc}"
    if isinstance(exc, ActionFailedError):
        return ExitCode.ACTION_FAILED, str(exc)
    if isinstance(exc, ActionTimeoutError):
        action = exc.action
        return ExitCode.WAIT_TIMED_OUT, (
            f"{exc}; it goes on server-side "
            f"(keep waiting with: do-images wait {action.resource_id} {action.id})"
        )
    if isinstance(exc, DoImagesError):
        return ExitCode.API_ERROR, str(exc)
    if isinstance(exc, (ValueError, TypeError)):
        # The SDK refuses bad arguments with these before sending anything.
        return ExitCode.USAGE, str(exc)
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
    parser = build_parser()
    try:
        # argparse prints --help and --version on sys.stdout itself.
        with contextlib.redirect_stdout(stdout):
            args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    except _UsageError as exc:
        stderr.write(f"error: {exc}\n")
        return ExitCode.USAGE
    except SystemExit as exc:  # --help and --version print, then "exit"
        return exc.code if isinstance(exc.code, int) else ExitCode.OK

    out = _Output(stdout, stderr, as_json=args.json)
    target = Target(
        sandbox=args.sandbox,
        token=args.token,
        base_url=args.base_url,
        environ=os.environ if environ is None else environ,
    )
    try:
        if args.command == "sandbox":
            return _serve(args, out)
        with (client_factory or default_client)(target) as do:
            if args.command == "delete":
                return _delete(do, args, out, stdin)
            return _COMMANDS[args.command](do, args, out)
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


def _silence_stdout(stdout: TextIO) -> None:
    # Python flushes stdout again at exit; point the descriptor at /dev/null so that
    # flush cannot fail with a second BrokenPipeError and a traceback.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _serve(args: argparse.Namespace, out: _Output) -> int:
    """``sandbox serve``: a sandbox over HTTP on loopback until Ctrl-C."""
    from .testing import Sandbox

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
        sandbox.serve_forever("127.0.0.1", args.port, ready=ready)
    except OSError as exc:
        raise _Stop(
            ExitCode.FAILED, f"cannot serve on 127.0.0.1 port {args.port}: {exc.strerror or exc}"
        ) from None
    out.note("sandbox stopped")
    return ExitCode.OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
