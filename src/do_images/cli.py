"""The ``do-images`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._version import __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``do-images``."""
    parser = argparse.ArgumentParser(
        prog="do-images", description="Manage DigitalOcean images from the command line."
    )
    parser.add_argument("--version", action="version", version=f"do-images {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``do-images`` with ``argv`` (default: the process arguments); return the exit code."""
    parser = build_parser()
    parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    parser.print_help()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
