"""The registry of ``do-images``' commands: the parser, built from the command families.

Each family module (``_images``, ``_actions``, ...) adds its commands to a ``Commands``
(``_parser``); this module lists the families and builds the parser from them. No family
imports it, so the command modules form no circle. The families are imported when the
parser is built, not when this module is; for a command line that names its command,
only that command's family is (``build_parser(argv)``), so a command starts without
building the others' parsers.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from .._version import __version__
from ._parser import EXIT_TABLE, Commands, Parser, add_global_options

FAMILIES: dict[str, tuple[str, ...]] = {
    "_images": ("list", "ls", "info", "get", "update", "delete", "rm", "create"),
    "_actions": ("transfer", "convert", "actions", "action", "wait"),
    "_import": ("import",),
    "_tags": ("tag", "untag"),
    "_droplets": ("droplet",),
    "_transfers": ("account-transfer",),
    "_prune": ("prune",),
    "_fleet": ("plan", "apply"),
    "_tools": ("completion", "sandbox"),
}
"""Each family module and the command names (aliases too) it adds, in ``--help``'s order
(a test holds this to what each family adds)."""

_VALUED = frozenset({"--token", "--base-url", "--state", "-o", "--output"})
"""The global options whose value may be the next word."""


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``do-images``; each command names its handler (``run``).

    With ``argv`` that names a known command, only that command's family is added;
    with ``--version`` and no command, none; otherwise (no command, an unknown one, or
    no ``argv``) every family.
    """
    family = _family_of(argv) if argv is not None else None
    if family is not None:
        return _build([family])[0]
    if argv is not None and "--version" in argv:
        return _build([])[0]
    return _build(list(FAMILIES))[0]


def command_examples() -> dict[str, tuple[str, ...]]:
    """Every command's examples, by its name (``sandbox serve`` for a group's command)."""
    return _build(list(FAMILIES))[1]


def _family_of(argv: Sequence[str]) -> str | None:
    """The family of the command ``argv`` names (its first word that is no option nor
    an option's value), or ``None``."""
    words = iter(argv)
    for word in words:
        if word == "--":
            return None
        if word in _VALUED:
            next(words, None)
        elif not word.startswith("-"):
            return next((name for name, names in FAMILIES.items() if word in names), None)
    return None


def _build(families: list[str]) -> tuple[argparse.ArgumentParser, dict[str, tuple[str, ...]]]:
    parser = Parser(
        prog="do-images",
        description="Manage DigitalOcean images from the command line.\n"
        "Try it without an account: do-images --sandbox list\n"
        "Each command has its own help, examples included: do-images COMMAND --help",
        epilog=EXIT_TABLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"do-images {__version__}")
    add_global_options(parser, on_command=False)
    # Not required: without a command, ``main`` prints this help (as doctl does).
    commands = Commands(parser.add_subparsers(dest="command", metavar="COMMAND"))
    for name in families:
        importlib.import_module(f".{name}", __package__).add_commands(commands)
    return parser, commands.examples
