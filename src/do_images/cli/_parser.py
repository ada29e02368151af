"""The ``do-images`` argument parser: each command's arguments beside its handler."""

from __future__ import annotations

import argparse
import math
import textwrap
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, NoReturn

from .._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_LIFECYCLE_POLL,
    DEFAULT_LIFECYCLE_TIMEOUT,
    DEFAULT_POLL,
    DEFAULT_WAIT_TIMEOUT,
    TOKEN_VARIABLES,
)
from .._version import __version__
from ._commands import (
    Handler,
    UsageError,
    run_action,
    run_action_start,
    run_actions,
    run_completion,
    run_create,
    run_delete,
    run_info,
    run_list,
    run_prune,
    run_serve,
    run_update,
    run_wait,
)
from ._failures import EXIT_MEANINGS
from ._output import ACTION_COLUMNS, IMAGE_COLUMNS, Column, Columns
from ._text import one_line, shorten

# ----------------------------------------------------------------------- parsing


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and never exits the interpreter."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{one_line(message, 300)} (see '{self.prog} --help')")


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv``; an unknown option is reported by the command it was given to, so
    the message points at that command's ``--help``, not the top-level one."""
    args, extras = parser.parse_known_args(list(argv))
    if extras:
        command: argparse.ArgumentParser = getattr(args, "parser", parser)
        shown = " ".join(shorten(extra, 40) for extra in extras[:3])
        command.error(f"unrecognized arguments: {shown}{' ...' if len(extras) > 3 else ''}")
    return args


def _positive_id(what: str) -> Callable[[str], int]:
    """An argparse type for an id: ASCII digits, at least 1."""

    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit()) or int(text) < 1:
            raise argparse.ArgumentTypeError(
                f"{shorten(text, 40)} is not an {what} (a positive whole number)"
            )
        return int(text)

    parse.__name__ = what.replace(" ", "_")
    return parse


_image_id = _positive_id("image id")
_action_id = _positive_id("action id")


def _id_or_slug(text: str) -> int | str:
    # What reads as a number is an id (and must be a positive one in ASCII digits);
    # anything else is a slug, which the SDK checks.
    number = text.strip().lstrip("+-")
    if number.isdigit() and not number.isascii():
        raise argparse.ArgumentTypeError(
            f"{shorten(text, 40)} is not an image id: write it with the digits 0-9"
        )
    if number.isdigit():
        return _image_id(text)
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{shorten(text, 40)} is not a number of seconds"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{shorten(text, 40)} is not a positive number of seconds")
    return value


def _poll_seconds(text: str) -> float:
    value = _seconds(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{shorten(text, 40)}: poll at most once a second")
    return value


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{shorten(text, 40)} is not a port (0 to 65535)")
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
        help="run against an in-process sandbox API (no account; its state lives for "
        "this command only, unless --state keeps it)",
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
        help="print the API's objects as JSON (an array for lists) instead of tables, "
        "and errors as JSON on stderr",
    )
    parser.add_argument(
        "--state",
        default=default(None),
        metavar="PATH",
        help="with --sandbox or 'sandbox serve': keep the sandbox in this JSON file "
        "(created if missing), so a command sees what the last one did and a served "
        "sandbox survives a restart; time passes between commands",
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
        raise argparse.ArgumentTypeError(
            f"{shorten(text, 40)} is not a duration such as 30d, 12h or 90m"
        )
    seconds = int(number) * _DURATION_UNITS[unit]
    if not 0 < seconds <= 100 * 365 * 86_400:
        raise argparse.ArgumentTypeError(f"{shorten(text, 40)}: a duration must be positive")
    return timedelta(seconds=seconds)


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise argparse.ArgumentTypeError(f"{shorten(text, 40)} is not a count (0 or more)")
    return int(text)


def _format_of(columns: Columns[Any]) -> Callable[[str], list[Column[Any]]]:
    """An argparse type for ``--format``: the columns named, or a usage error naming all."""

    def parse(text: str) -> list[Column[Any]]:
        try:
            return columns.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "format"
    return parse


def _add_yes(parser: argparse.ArgumentParser, help: str) -> None:
    # doctl's -f/--force is another name for --yes.
    parser.add_argument("--yes", "-y", "--force", "-f", dest="yes", action="store_true", help=help)


def _add_output_options(parser: argparse.ArgumentParser, columns: Columns[Any]) -> None:
    parser.add_argument(
        "--format",
        type=_format_of(columns),
        metavar="COLUMNS",
        help=f"the columns to show, comma-separated, any case (such as ID,Name,Status); "
        f"{columns.kind} columns: {', '.join(columns.columns)}",
    )
    parser.add_argument(
        "--no-header", action="store_true", help="print tables without their header line"
    )


EXAMPLES: dict[str, tuple[str, ...]] = {
    "list": (
        "do-images list --private",
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
    "transfer": (
        "do-images transfer 180040001 sfo3 --wait",
        "do-images transfer 180040001 lon1 sgp1 fra1 --wait",
    ),
    "prune": (
        "do-images prune --keep 3               # the plan only",
        "do-images prune --keep 3 --older-than 30d --name-prefix web- --yes",
    ),
    "convert": ("do-images convert 180040003 --wait",),
    "actions": ("do-images actions 180040001 --format ID,Status,Region",),
    "action": ("do-images action 180040001 2060000001",),
    "wait": ("do-images wait 180040001 2060000001 --timeout 600",),
    "serve": ("do-images sandbox serve --port 8080 --state sandbox.json",),
    "completion": (
        "do-images completion bash > ~/.local/share/bash-completion/completions/do-images",
        'eval "$(do-images completion zsh)"',
        "do-images completion fish > ~/.config/fish/completions/do-images.fish",
    ),
}
"""A few command lines per command, shown under its ``--help``."""

EXIT_TABLE = "exit status:\n" + "\n".join(
    textwrap.fill(meaning, 79, initial_indent=f"  {int(code):>3}  ", subsequent_indent=" " * 7)
    for code, meaning in EXIT_MEANINGS.items()
)


def _epilog(name: str) -> str:
    examples = "\n".join(f"  {line}" for line in EXAMPLES[name])
    return f"examples:\n{examples}\n\n{EXIT_TABLE}"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``do-images``; each command names its handler (``run``)."""
    parser = _Parser(
        prog="do-images",
        description="Manage DigitalOcean images from the command line.\n"
        "Try it without an account: do-images --sandbox list\n"
        "Each command has its own help, examples included: do-images COMMAND --help",
        epilog=EXIT_TABLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"do-images {__version__}")
    _add_global_options(parser, on_command=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(
        name: str, help: str, run: Handler, *, aliases: tuple[str, ...] = ()
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            aliases=list(aliases),
            help=help + (f" (alias: {', '.join(aliases)})" if aliases else ""),
            description=help,
            epilog=_epilog(name),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_global_options(sub, on_command=True)
        # ``command`` is whatever was typed (an alias, say); ``name`` is the command.
        sub.set_defaults(run=run, needs_client=True, command_name=name, parser=sub)
        return sub

    sub = command("list", "list images (all pages)", run_list, aliases=("ls",))
    sub.add_argument(
        "--type", choices=("distribution", "application"), help="only public images of this kind"
    )
    sub.add_argument("--private", action="store_true", help="only your own images")
    sub.add_argument(
        "--tag",
        dest="tags",
        action="append",
        metavar="NAME",
        help="only images with this tag; repeated, images with any of the tags "
        "(one listing per tag, merged)",
    )
    _add_output_options(sub, IMAGE_COLUMNS)

    sub = command("info", "show one image", run_info, aliases=("get",))
    sub.add_argument(
        "image",
        type=_id_or_slug,
        metavar="ID_OR_SLUG",
        help="an image id, or the slug of a public image (such as ubuntu-24-04-x64)",
    )
    _add_output_options(sub, IMAGE_COLUMNS)

    sub = command("update", "rename or describe an image", run_update)
    sub.add_argument("image", type=_image_id, metavar="ID", help="the id of one of your images")
    sub.add_argument("--name", help="the new name")
    sub.add_argument("--description", help="the new description (at most 140 characters)")
    sub.add_argument("--distribution", help="the new distribution, such as Ubuntu")
    _add_output_options(sub, IMAGE_COLUMNS)

    sub = command(
        "delete", "delete snapshots, backups or custom images", run_delete, aliases=("rm",)
    )
    sub.add_argument(
        "images",
        type=_image_id,
        nargs="+",
        metavar="ID",
        help="the ids of the images to delete (one question for all of them)",
    )
    _add_yes(sub, "do not ask (required when stdin is no terminal)")

    sub = command("create", "import a custom image from a URL", run_create)
    sub.add_argument("--name", required=True, help="the image's name")
    sub.add_argument("--url", required=True, help="http(s) address of the image file")
    sub.add_argument("--region", required=True, help="region slug, such as nyc3")
    sub.add_argument("--distribution", help="the distribution, such as Ubuntu")
    sub.add_argument("--description", help="a description (at most 140 characters)")
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
    _add_output_options(sub, IMAGE_COLUMNS)

    sub = command("transfer", "copy an image to other regions (all at once)", run_action_start)
    sub.add_argument("image", type=_image_id, metavar="ID", help="the id of one of your images")
    sub.add_argument("regions", nargs="+", metavar="REGION", help="region slugs, such as sfo3")
    _add_wait_options(sub, flag=True)
    _add_output_options(sub, ACTION_COLUMNS)

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
    _add_yes(sub, "delete what the plan says goes")

    sub = command("convert", "convert a backup into a snapshot", run_action_start)
    sub.add_argument("image", type=_image_id, metavar="ID", help="the id of a backup")
    _add_wait_options(sub, flag=True)
    _add_output_options(sub, ACTION_COLUMNS)

    sub = command("actions", "list an image's actions", run_actions)
    sub.add_argument("image", type=_image_id, metavar="ID", help="the image's id")
    _add_output_options(sub, ACTION_COLUMNS)

    sub = command("action", "show one action of an image", run_action)
    sub.add_argument("image", type=_image_id, metavar="ID", help="the image's id")
    sub.add_argument("action", type=_action_id, metavar="ACTION_ID", help="the action's id")
    _add_output_options(sub, ACTION_COLUMNS)

    sub = command("wait", "wait until an action is done (progress on stderr)", run_wait)
    sub.add_argument("image", type=_image_id, metavar="ID", help="the image's id")
    sub.add_argument("action", type=_action_id, metavar="ACTION_ID", help="the action's id")
    _add_wait_options(sub, flag=False)
    _add_output_options(sub, ACTION_COLUMNS)

    sub = command("completion", "print a shell completion script", run_completion)
    sub.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell to complete in")
    sub.set_defaults(needs_client=False)

    sub = commands.add_parser(
        "sandbox",
        help="the offline sandbox API",
        description="the offline sandbox API",
        epilog="examples:\n  do-images sandbox serve",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(sub, on_command=True)
    sub.set_defaults(parser=sub, command_name="sandbox")
    sandbox_commands = sub.add_subparsers(dest="sandbox_command", metavar="COMMAND", required=True)
    serve = sandbox_commands.add_parser(
        "serve",
        help="serve a sandbox API over HTTP on 127.0.0.1 until Ctrl-C",
        description="Serve a sandbox API over HTTP on 127.0.0.1 until Ctrl-C; prints its\n"
        "base URL. With --token, only that token is accepted; else any.",
        epilog=_epilog("serve"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(serve, on_command=True)
    serve.add_argument(
        "--port", type=_port, default=0, help="port to listen on (default: any free port)"
    )
    serve.set_defaults(
        run=run_serve, needs_client=False, command_name="sandbox serve", parser=serve
    )
    return parser
