"""The registry of ``do-images``' commands: the parser, built from the command families.

Each family module (``_images``, ``_actions``, ...) adds its commands to a ``Commands``
(``_parser``); this module lists the families and builds the parser from them. No family
imports it, so the command modules form no circle. The families are imported when the
parser is built, not when this module is.
"""

from __future__ import annotations

import argparse

from .._version import __version__
from ._parser import EXIT_TABLE, Commands, Parser, add_global_options


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``do-images``; each command names its handler (``run``)."""
    return _build()[0]


def command_examples() -> dict[str, tuple[str, ...]]:
    """Every command's examples, by its name (``sandbox serve`` for a group's command)."""
    return _build()[1]


def _build() -> tuple[argparse.ArgumentParser, dict[str, tuple[str, ...]]]:
    from . import _actions, _fleet, _images, _import, _prune, _tags, _tools, _transfers

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
    for family in (_images, _actions, _import, _tags, _transfers, _prune, _fleet, _tools):
        family.add_commands(commands)
    return parser, commands.examples
