"""The ``do-images`` command line.

Tables and key/value views for people, ``--json`` (the documented dicts, as the API
sent them) for scripts, progress on stderr while waiting, one line on stderr for every
error and one exit code per class of failure (``ExitCode``).

Where things are: ``_cli_parser`` (arguments, and which handler each command runs),
``_cli_commands`` (the handlers), ``_cli_output`` (what is printed); this module
builds the client, maps failures to exit statuses and runs ``main``.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from ._cli_commands import Context, ExitCode, Handler, Stop, UsageError
from ._cli_output import Output, again
from ._cli_parser import build_parser
from ._client import Client
from ._constants import TOKEN_VARIABLES
from ._errors import (
    ActionFailedError,
    ActionTimeoutError,
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    DistributionError,
    DoImagesError,
    ImageFailedError,
    ImageTimeoutError,
    MissingTokenError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnknownOutcomeError,
)
from ._models import Action

__all__ = ["ClientFactory", "ExitCode", "Target", "build_parser", "main"]


@dataclass(frozen=True)
class Target:
    """Where a command goes: the global options that pick the API and the token."""

    sandbox: bool
    token: str | None
    base_url: str
    environ: Mapping[str, str]


ClientFactory = Callable[[Target], Client]
"""Builds the ``Client`` a command runs with (a seam for tests and embedding)."""


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
        look = f"look for it with: {again(args, 'list --private')}"
    else:
        look = f"look with: {again(args, f'actions {args.image}')}"
    return f"{exc}; {look} before trying again"


def _wait_timed_out(exc: ActionTimeoutError, args: argparse.Namespace) -> str:
    action = exc.action
    return (
        f"{exc}; it goes on server-side "
        f"(keep waiting with: {again(args, f'wait {action.resource_id} {action.id}')})"
    )


def _resume_hint(exc: BaseException, args: argparse.Namespace) -> str:
    """For an error that came after an action started: where to find that action."""
    action = getattr(exc, "action", None)
    if not isinstance(action, Action) or isinstance(exc, (ActionTimeoutError, ActionFailedError)):
        return ""
    return (
        f"; {action.type} {action.id} on image {action.resource_id} was started and may go on "
        f"(check it with: {again(args, f'action {action.resource_id} {action.id}')})"
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
    (DistributionError, ExitCode.ACTION_FAILED, lambda exc, args: str(exc)),
    (ImageFailedError, ExitCode.ACTION_FAILED, lambda exc, args: str(exc)),
    (
        ImageTimeoutError,
        ExitCode.WAIT_TIMED_OUT,
        lambda exc, args: (
            f"{exc}; the import goes on (look with: {again(args, f'info {exc.image.id}')})"
            if exc.image is not None
            else str(exc)
        ),
    ),
    (DoImagesError, ExitCode.API_ERROR, lambda exc, args: str(exc)),
    # The SDK refuses bad arguments with these before sending anything.
    ((ValueError, TypeError), ExitCode.USAGE, lambda exc, args: str(exc)),
]
"""Exception class -> exit status and one-line message; reads like the exit-status table."""


def _failure(exc: BaseException, args: argparse.Namespace) -> tuple[ExitCode, str]:
    """The exit code and the one-line message for an exception a command raised."""
    for kind, code, message in _FAILURES:
        if isinstance(exc, kind):
            return code, message(exc, args) + _resume_hint(exc, args)
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
    except UsageError as exc:
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
    except UsageError as exc:
        code, message = ExitCode.USAGE, str(exc)
    except Stop as exc:
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
        return run(Context(None, args, out, stdin))
    with client_factory(target) as do:
        return run(Context(do, args, out, stdin))


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
