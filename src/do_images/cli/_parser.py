"""What the command families share to declare their commands: the argument types,
the shared options, and ``Commands``, to which each family adds its commands.

A family is a module (``_images``, ``_actions``, ...) with ``add_commands(commands)``:
each command's arguments, examples and handler stand together there. ``_registry``
lists the families and builds the parser from them; this module imports none of them.
"""

from __future__ import annotations

import argparse
import math
import textwrap
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, NoReturn

from .._checks import parse_duration
from .._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_POLL,
    DEFAULT_WAIT_TIMEOUT,
    TOKEN_VARIABLES,
)
from ._commands import Handler, UsageError
from ._failures import EXIT_MEANINGS
from ._table import Column, Columns
from ._text import one_line, shorten

# ----------------------------------------------------------------------- parsing


class Parser(argparse.ArgumentParser):
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

    article = "an" if what[0] in "aeiou" else "a"

    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit()) or int(text) < 1:
            raise argparse.ArgumentTypeError(
                f"{shorten(text, 40)} is not {article} {what} (a positive whole number)"
            )
        return int(text)

    parse.__name__ = what.replace(" ", "_")
    return parse


image_arg = _positive_id("image id")
action_arg = _positive_id("action id")
transfer_arg = _positive_id("account transfer id")
droplet_arg = _positive_id("droplet id")


def id_or_slug(text: str) -> int | str:
    # What reads as a number is an id (and must be a positive one in ASCII digits);
    # anything else is a slug, which the SDK checks.
    number = text.strip().lstrip("+-")
    if number.isdigit() and not number.isascii():
        raise argparse.ArgumentTypeError(
            f"{shorten(text, 40)} is not an image id: write it with the digits 0-9"
        )
    if number.isdigit():
        return image_arg(text)
    return text


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{shorten(text, 40)} is not a number of seconds"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{shorten(text, 40)} is not a positive number of seconds")
    return value


def poll_seconds(text: str) -> float:
    value = seconds(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{shorten(text, 40)}: poll at most once a second")
    return value


def port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{shorten(text, 40)} is not a port (0 to 65535)")
    return int(text)


GLOBAL_OPTIONS = ("sandbox", "token", "base_url", "json", "output", "state")
"""The options every command takes, before or after its name (by their ``dest``)."""


_GLOBAL_HELP = {
    "sandbox": "run against an in-process sandbox API (no account; its state lives for "
    "this command only, unless --state keeps it)",
    "token": f"API token (default: ${TOKEN_VARIABLES[0]}, else ${TOKEN_VARIABLES[1]}; "
    "prefer those: a command line is visible to other users)",
    "base_url": f"API address (default: {DEFAULT_BASE_URL}; http:// only on loopback, "
    "such as a 'do-images sandbox serve')",
    "json": "print the API's objects as JSON (an array for lists) instead of tables, "
    "and errors as JSON on stderr",
    "output": "doctl's way to choose: json is --json, text the tables (the default)",
    "state": "with --sandbox or 'sandbox serve': keep the sandbox in this JSON file "
    "(created if missing), so a command sees what the last one did and a served "
    "sandbox survives a restart; time passes between commands",
}


def add_global_options(
    parser: argparse.ArgumentParser,
    *,
    on_command: bool,
    only: tuple[str, ...] = GLOBAL_OPTIONS,
    unlisted: tuple[str, ...] = (),
) -> None:
    """``--sandbox``, ``--token``, ``--base-url``, ``--json``, ``-o/--output`` and
    ``--state``: ``only`` those named, for a command that has a use for no others, and
    the ``unlisted`` ones accepted without help (so that a check can say why they mean
    nothing there).

    On a command they stand in a group of their own, after the command's own options.
    """

    # Accepted before and after the command; on a command, an option not given must
    # not overwrite what was given before it, hence SUPPRESS as the default there.
    def default(value: object) -> object:
        return argparse.SUPPRESS if on_command else value

    group: Any = parser.add_argument_group("global options") if on_command else parser
    for dest in GLOBAL_OPTIONS:
        if dest not in only and dest not in unlisted:
            continue
        shown = _GLOBAL_HELP[dest] if dest in only else argparse.SUPPRESS
        if dest in ("sandbox", "json"):
            group.add_argument(f"--{dest}", action="store_true", default=default(False), help=shown)
        elif dest == "output":
            group.add_argument(
                "-o", "--output", choices=("json", "text"), default=default(None), help=shown
            )
        else:
            metavar = {"token": "TOKEN", "base_url": "URL", "state": "PATH"}[dest]
            initial = DEFAULT_BASE_URL if dest == "base_url" else None
            group.add_argument(
                f"--{dest.replace('_', '-')}",
                default=default(initial),
                metavar=metavar,
                help=shown,
            )


def add_wait_options(
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
        type=poll_seconds,
        default=poll,
        metavar="S",
        help=f"seconds between polls while waiting (default {poll:g}, at least 1)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=timeout,
        metavar="S",
        help=f"give up waiting after S seconds (default {timeout:g}); {what} goes on",
    )


def duration(text: str) -> timedelta:
    """``30d``, ``12h`` or ``90m``: a positive age."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("'", "")) from None


def count(text: str) -> int:
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


def add_image_fields(parser: argparse.ArgumentParser, *, name_required: bool = True) -> None:
    """``--name`` (required, unless the command checks that itself), ``--distribution``,
    ``--description`` and ``--tag``: what a new image is given (``create``, ``import``)."""
    parser.add_argument("--name", required=name_required, help="the image's name")
    parser.add_argument("--distribution", help="the distribution, such as Ubuntu")
    parser.add_argument("--description", help="a description (free text)")
    parser.add_argument(
        "--tag", dest="tags", action="append", metavar="NAME", help="a tag (repeatable)"
    )


def add_yes(parser: argparse.ArgumentParser, help: str) -> None:
    # doctl's -f/--force is another name for --yes.
    parser.add_argument("--yes", "-y", "--force", "-f", dest="yes", action="store_true", help=help)


def add_output_options(parser: argparse.ArgumentParser, columns: Columns[Any]) -> None:
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


EXIT_TABLE = "exit status:\n" + "\n".join(
    textwrap.fill(meaning, 79, initial_indent=f"  {int(code):>3}  ", subsequent_indent=" " * 7)
    for code, meaning in EXIT_MEANINGS.items()
)


class CommandHelp(argparse.RawDescriptionHelpFormatter):
    """A command's ``--help``: its usage shows its own arguments and names the global
    options once, as ``[global options]`` (they are listed after its own options)."""

    def add_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[argparse._MutuallyExclusiveGroup],
        prefix: str | None = None,
    ) -> None:
        actions = list(actions)
        own = [action for action in actions if action.dest not in GLOBAL_OPTIONS]
        if usage is None and len(own) < len(actions):
            self._prog = f"{self._prog} [global options]"
        super().add_usage(usage, own, groups, prefix)


class Commands:
    """The subcommands of ``do-images`` (or of a group, ``sandbox``), as a family module
    adds to them; ``examples`` collects each command's examples by its full name."""

    def __init__(
        self,
        subparsers: Any,
        prefix: str = "",
        examples: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self._subparsers = subparsers
        self._prefix = prefix
        self.examples: dict[str, tuple[str, ...]] = {} if examples is None else examples

    def add(
        self,
        name: str,
        help: str,
        run: Handler,
        *,
        examples: tuple[str, ...],
        aliases: tuple[str, ...] = (),
        needs_client: bool = True,
        description: str | None = None,
        check: Callable[[argparse.Namespace], None] | None = None,
        usage: str | None = None,
        global_options: tuple[str, ...] = GLOBAL_OPTIONS,
        unlisted: tuple[str, ...] = (),
    ) -> argparse.ArgumentParser:
        """A command: its parser (the ``global_options`` it has a use for, after its
        own), examples and handler.

        ``check(args)`` runs once the line is parsed, before any client is made, and
        raises ``UsageError`` for arguments that do not fit together.
        """
        full = f"{self._prefix} {name}" if self._prefix else name
        self.examples[full] = examples
        sub: argparse.ArgumentParser = self._subparsers.add_parser(
            name,
            aliases=list(aliases),
            help=help,
            description=description or help,
            epilog=epilog(examples),
            usage=usage,
            formatter_class=CommandHelp,
        )
        add_global_options(sub, on_command=True, only=global_options, unlisted=unlisted)
        # ``command`` is whatever was typed (an alias, say); ``command_name`` the command.
        sub.set_defaults(
            run=run, needs_client=needs_client, command_name=full, parser=sub, check=check
        )
        return sub

    def group(self, name: str, help: str, *, examples: tuple[str, ...]) -> Commands:
        """A command with subcommands of its own (``sandbox serve``): the ``Commands`` to
        add those to."""
        sub: argparse.ArgumentParser = self._subparsers.add_parser(
            name,
            help=help,
            description=help,
            epilog="examples:\n" + "\n".join(f"  {line}" for line in examples),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(parser=sub, command_name=name)
        inner = sub.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
        return Commands(inner, name, self.examples)


def epilog(examples: tuple[str, ...]) -> str:
    """A command's ``--help`` ending: its examples, then the exit-status table."""
    lines = "\n".join(f"  {line}" for line in examples)
    return f"examples:\n{lines}\n\n{EXIT_TABLE}"
