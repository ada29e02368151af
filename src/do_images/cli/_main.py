"""The ``do-images`` command line.

Tables and key/value views for people, ``--json`` (the documented dicts, as the API
sent them) for scripts, progress on stderr while waiting, one line on stderr for every
error and one exit code per class of failure (``ExitCode``).

This module builds the client, checks options against each other and runs
``main``; the package's docstring says where everything else is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, TextIO

from .._constants import DEFAULT_BASE_URL
from ._commands import Context, Handler, Stop, UsageError
from ._failures import ExitCode, error_payload, failure
from ._output import Output, terminal_columns
from ._parser import parse
from ._registry import build_parser
from ._text import one_line

if TYPE_CHECKING:
    from .._client import Client

__all__ = ["ClientFactory", "Target", "main"]


class Target(NamedTuple):
    """Where a command goes: the global options that pick the API and the token."""

    sandbox: bool
    token: str | None
    base_url: str
    environ: Mapping[str, str]
    state: str | None = None
    """``--state``: the sandbox's state file (only with ``sandbox``)."""


ClientFactory = Callable[[Target], "Client"]
"""Builds the ``Client`` a command runs with (a seam for tests and embedding)."""


# ------------------------------------------------------------------------ clients


def default_client(target: Target) -> Client:
    """The ``Client`` for ``target``: a sandbox's, or the API's with the token found."""
    from .._client import Client  # only now: --help and --version need none of it

    if target.sandbox:
        from ..testing import Sandbox

        # With a state file, time passes between commands as it does on the API, so an
        # import started by one command is done a minute later for the next.
        sandbox = Sandbox(state=target.state, realtime=target.state is not None)
        # A token given acts as that sandbox account (dop_v1_sandbox_NAME), else the default.
        token = target.token.strip() if target.token and target.token.strip() else None
        return sandbox.client() if token is None else sandbox.client(token=token)
    token = target.token
    if token is not None and not token.strip():
        token = None  # an empty --token (say, from an unset shell variable) is no token
    return Client(token, base_url=target.base_url, environ=target.environ)


# ------------------------------------------------------------------------- main


def _wants_json(argv: Sequence[str]) -> bool:
    # For errors found while parsing, before there is a namespace to ask.
    options = list(argv[: list(argv).index("--")] if "--" in argv else argv)
    following = zip(options, [*options[1:], ""], strict=True)
    return (
        "--json" in options
        or any(option in ("-o", "--output") and value == "json" for option, value in following)
        or any(option in ("-ojson", "--output=json") for option in options)
    )


def _check_targets(args: argparse.Namespace) -> None:
    """Options that contradict each other are a usage error, never silently dropped."""
    command = f"(see 'do-images {args.command_name} --help')"
    if args.output == "text" and args.json:
        raise UsageError(f"--json and --output text ask for two outputs: give one {command}")
    args.json = args.json or args.output == "json"
    if args.sandbox and args.base_url != DEFAULT_BASE_URL:
        raise UsageError(f"--sandbox and --base-url both pick the API: give one {command}")
    kept = args.sandbox or args.command_name in (
        "sandbox serve",
        "sandbox accounts",
        "sandbox advance",
    )
    if args.state is not None and not kept:
        raise UsageError(f"--state is for --sandbox and the sandbox commands {command}")
    if args.json and (getattr(args, "format", None) or getattr(args, "no_header", False)):
        raise UsageError(
            f"--json prints every field; --format and --no-header are for tables {command}"
        )
    check = getattr(args, "check", None)
    if check is not None:
        check(args)


def _complete(environ: Mapping[str, str]) -> None:
    """Answer the shell's completion request (``do-images completion``) and exit, if this
    run is one; argcomplete is an optional extra."""
    if "_ARGCOMPLETE" not in environ:
        return
    try:
        import argcomplete
    except ImportError:  # pragma: no cover - the script came from an install that had it
        return
    argcomplete.autocomplete(build_parser(), always_complete_options=False)


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
    environ = os.environ if environ is None else environ
    if argv is None:
        _complete(os.environ)
        argv = sys.argv[1:]
    argv = list(argv)
    args = _parsed(argv, stdout, stderr)
    if isinstance(args, int):
        return args
    out = Output(
        stdout,
        stderr,
        as_json=args.json,
        columns=getattr(args, "format", None),
        header=not getattr(args, "no_header", False),
        width=lambda stream: terminal_columns(stream, environ),
    )
    target = Target(
        sandbox=args.sandbox,
        token=args.token,
        base_url=args.base_url,
        environ=environ,
        state=args.state,
    )
    error: BaseException | None = None
    try:
        return _run(args, target, client_factory or default_client, out, stdin)
    except UsageError as exc:
        code, message = ExitCode.USAGE, str(exc)
    except Stop as exc:
        code, message = exc.code, exc.message
    except KeyboardInterrupt:
        code, message = ExitCode.INTERRUPTED, "interrupted"
    except BrokenPipeError:
        # The reader went away (``do-images list | head``): what it read was all it
        # wanted, so this is no error and gets no line.
        _silence_stdout(stdout)
        return ExitCode.OK
    except Exception as exc:
        error = exc
        code, message = failure(exc, args)
    finally:
        try:
            stdout.flush()
        except (BrokenPipeError, ValueError):
            _silence_stdout(stdout)
    return _report(stderr, args.json, error, code, message)


def _parsed(argv: list[str], stdout: TextIO, stderr: TextIO) -> argparse.Namespace | int:
    """The command line read and checked, or the exit status once ``--help``, ``--version``,
    the help of no command, or a usage error is printed."""
    try:
        # argparse prints --help and --version on sys.stdout itself.
        parser = build_parser(argv)
        with contextlib.redirect_stdout(stdout):
            args = parse(parser, argv)
        if getattr(args, "run", None) is None:  # no command: its help, as doctl does
            getattr(args, "parser", parser).print_help(stdout)
            return ExitCode.OK
        _check_targets(args)
    except UsageError as exc:
        return _report(stderr, _wants_json(argv), None, ExitCode.USAGE, str(exc))
    except SystemExit as exc:  # --help and --version print, then "exit"
        return exc.code if isinstance(exc.code, int) else ExitCode.OK
    return args


def _report(
    stderr: TextIO, as_json: bool, exc: BaseException | None, code: int, message: str
) -> int:
    """Print the error line (JSON with ``--json``); return the exit status."""
    line = one_line(message)
    try:
        shown = json.dumps({"error": error_payload(exc, code, line)}, ensure_ascii=False)
        stderr.write((shown if as_json else f"error: {line}") + "\n")
        stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
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
        return run(Context(None, args, out, stdin, target.environ))
    with client_factory(target) as do:
        return run(Context(do, args, out, stdin, target.environ))


def _silence_stdout(stdout: TextIO) -> None:
    # Python flushes stdout again at exit; point the descriptor at /dev/null so that
    # flush cannot fail with a second BrokenPipeError and a traceback.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
