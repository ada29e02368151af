"""The ``do-images`` argument parser: each command's arguments beside its handler."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from datetime import timedelta
from typing import NoReturn

from ._cli_commands import (
    EXIT_MEANINGS,
    Handler,
    UsageError,
    run_action,
    run_action_start,
    run_actions,
    run_create,
    run_delete,
    run_info,
    run_list,
    run_prune,
    run_serve,
    run_update,
    run_wait,
)
from ._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_LIFECYCLE_POLL,
    DEFAULT_LIFECYCLE_TIMEOUT,
    DEFAULT_POLL,
    DEFAULT_WAIT_TIMEOUT,
    TOKEN_VARIABLES,
)
from ._version import __version__

# ----------------------------------------------------------------------- parsing


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and never exits the interpreter."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


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


def _add_wait_options(
    parser: argparse.ArgumentParser,
    *,
    flag: bool,
    poll: float = DEFAULT_POLL,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    what: str = "the action",
) -> None:
    if flag:
        parser.add_argument(
            "--wait", action="store_true", help=f"wait until {what} is done (progress on stderr)"
        )
    parser.add_argument(
        "--poll",
        type=_poll_seconds,
        default=poll,
        metavar="S",
        help=f"seconds between polls while waiting (default {poll:g}, at least 1)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=timeout,
        metavar="S",
        help=f"give up waiting after S seconds (default {timeout:g}); {what} goes on",
    )


_DURATION_UNITS = {"d": 86_400, "h": 3_600, "m": 60}


def duration(text: str) -> timedelta:
    """``30d``, ``12h`` or ``90m``: a positive age."""
    number, unit = text[:-1], text[-1:].lower()
    if unit not in _DURATION_UNITS or not (number.isascii() and number.isdigit()):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a duration such as 30d, 12h or 90m")
    seconds = int(number) * _DURATION_UNITS[unit]
    if not 0 < seconds <= 100 * 365 * 86_400:
        raise argparse.ArgumentTypeError(f"{text[:40]!r}: a duration must be positive")
    return timedelta(seconds=seconds)


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a count (0 or more)")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``do-images``; each command names its handler (``run``)."""
    epilog = "exit status:\n" + "\n".join(
        f"  {int(code):>3}  {meaning}" for code, meaning in EXIT_MEANINGS.items()
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

    sub = command("list", "list images (all pages)", run_list)
    sub.add_argument("--type", choices=("distribution", "application"), help="only this kind")
    sub.add_argument("--private", action="store_true", help="only your own images")
    sub.add_argument("--tag", metavar="NAME", help="only images with this tag")

    sub = command("info", "show one image", run_info)
    sub.add_argument("image", type=_id_or_slug, metavar="ID_OR_SLUG")

    sub = command("update", "rename or describe an image", run_update)
    sub.add_argument("image", type=_image_id, metavar="ID")
    sub.add_argument("--name")
    sub.add_argument("--description")
    sub.add_argument("--distribution")

    sub = command("delete", "delete a snapshot, backup or custom image", run_delete)
    sub.add_argument("image", type=_image_id, metavar="ID")
    sub.add_argument(
        "--yes", "-y", action="store_true", help="do not ask (required when stdin is no terminal)"
    )

    sub = command("create", "import a custom image from a URL", run_create)
    sub.add_argument("--name", required=True)
    sub.add_argument("--url", required=True, help="http(s) address of the image file")
    sub.add_argument("--region", required=True, help="region slug, such as nyc3")
    sub.add_argument("--distribution")
    sub.add_argument("--description")
    sub.add_argument(
        "--tag", dest="tags", action="append", metavar="NAME", help="a tag (repeatable)"
    )
    _add_wait_options(
        sub,
        flag=True,
        poll=DEFAULT_LIFECYCLE_POLL,
        timeout=DEFAULT_LIFECYCLE_TIMEOUT,
        what="the import",
    )

    sub = command("transfer", "copy an image to other regions (all at once)", run_action_start)
    sub.add_argument("image", type=_image_id, metavar="ID")
    sub.add_argument("regions", nargs="+", metavar="REGION", help="region slugs, such as sfo3")
    _add_wait_options(sub, flag=True)

    sub = command(
        "prune", "delete old snapshots safely (prints the plan; --yes deletes)", run_prune
    )
    sub.add_argument(
        "--keep", type=_count, required=True, metavar="N", help="keep the N newest in each group"
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
    sub.add_argument("--yes", "-y", action="store_true", help="delete what the plan says goes")

    sub = command("convert", "convert a backup into a snapshot", run_action_start)
    sub.add_argument("image", type=_image_id, metavar="ID")
    _add_wait_options(sub, flag=True)

    sub = command("actions", "list an image's actions", run_actions)
    sub.add_argument("image", type=_image_id, metavar="ID")

    sub = command("action", "show one action of an image", run_action)
    sub.add_argument("image", type=_image_id, metavar="ID")
    sub.add_argument("action", type=_action_id, metavar="ACTION_ID")

    sub = command("wait", "wait until an action is done (progress on stderr)", run_wait)
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
    serve.set_defaults(run=run_serve, needs_client=False)
    return parser
