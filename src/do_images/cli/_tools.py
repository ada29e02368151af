"""The commands that need no API: ``completion`` and the ``sandbox`` family (``serve``,
``accounts``, ``advance``)."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import tempfile
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .._constants import DEFAULT_BASE_URL
from .._extras import needs_extra
from ._commands import Context, Stop, UsageError
from ._failures import ExitCode
from ._parser import Commands, duration, port
from ._table import Column

if TYPE_CHECKING:
    from ..testing import SandboxAccount

_EXAMPLES: dict[str, tuple[str, ...]] = {
    "serve": (
        "do-images sandbox serve --port 8080 --state sandbox.json",
        "do-images sandbox serve --tls    # https, for clients that need it (pydo, doctl)",
    ),
    "accounts": (
        "do-images sandbox accounts                    # a fresh sandbox's",
        "do-images sandbox accounts --state try.json   # those of a kept one",
    ),
    "advance": (
        "do-images sandbox advance 1d --state try.json   # a day later: due snapshots, ages",
        "do-images sandbox advance 90m --state try.json",
    ),
    "completion": (
        "do-images completion bash > ~/.local/share/bash-completion/completions/do-images",
        'eval "$(do-images completion zsh)"',
        "do-images completion fish > ~/.config/fish/completions/do-images.fish",
    ),
}


def run_completion(ctx: Context) -> int:
    """``completion bash|zsh|fish``: the shell code that completes ``do-images``."""
    try:
        from argcomplete.shell_integration import shellcode
    except ImportError:
        raise Stop(ExitCode.USAGE, needs_extra("completion", "completion")) from None
    ctx.out.stdout.write(shellcode(["do-images"], shell=ctx.args.shell))
    return ExitCode.OK


_ACCOUNT_COLUMNS: list[Column[SandboxAccount]] = [
    Column("NAME", lambda account: account.name),
    Column("EMAIL", lambda account: account.email),
    Column("TEAM", lambda account: account.team),
    Column("TOKEN", lambda account: account.token),
]


def run_accounts(ctx: Context) -> int:
    """``sandbox accounts``: every account of the sandbox (``--state``: the file's), whole:
    what a transfer to another account needs (its email or team) and its token."""
    from ..testing import Sandbox

    accounts = Sandbox(state=ctx.args.state).accounts
    if ctx.out.as_json:
        ctx.out.json(
            [
                {column.header.lower(): column.cell(a) for column in _ACCOUNT_COLUMNS}
                for a in accounts
            ]
        )
    else:
        rows = [[column.cell(account) for column in _ACCOUNT_COLUMNS] for account in accounts]
        ctx.out.table(_ACCOUNT_COLUMNS, rows, fitted=False)
    return ExitCode.OK


def run_advance(ctx: Context) -> int:
    """``sandbox advance DURATION --state FILE``: move a kept sandbox's clock forward (the
    actions and imports that are due by then finish), so the next command sees it later."""
    from ..testing import Sandbox

    if ctx.args.state is None:
        raise UsageError(
            "sandbox advance moves the clock of a kept sandbox: give its --state FILE "
            "(see 'do-images sandbox advance --help')"
        )
    sandbox = Sandbox(state=ctx.args.state)
    sandbox.advance(ctx.args.duration.total_seconds())
    now = sandbox.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if ctx.out.as_json:
        ctx.out.json({"now": now})
    else:
        ctx.out.line(f"sandbox time is now {now}")
    return ExitCode.OK


def run_serve(ctx: Context) -> int:
    """``sandbox serve``: a sandbox over HTTP (``--tls``: https) on loopback until Ctrl-C."""
    from ..testing import Sandbox

    out, args = ctx.out, ctx.args
    token = args.token.strip() if args.token and args.token.strip() else None
    if args.tls:
        _require_trustme()
    # Virtual time follows real time here, so actions finish while people watch.
    sandbox = Sandbox(realtime=True, token=token, state=args.state)
    with _ca_folder(args.tls) as ca_file, _stopped_by_sigterm():

        def ready(base_url: str) -> None:
            _announce(ctx, base_url, token, ca_file)

        try:
            sandbox.serve_forever(
                "127.0.0.1", args.port, ready=ready, tls=args.tls, ca_file=ca_file
            )
        except OSError as exc:  # the port is taken, or not this user's to take: pick another
            raise Stop(
                ExitCode.USAGE,
                f"cannot serve on 127.0.0.1 port {args.port}: {exc.strerror or exc}",
            ) from None
    out.note("sandbox stopped")
    return ExitCode.OK


def _require_trustme() -> None:
    """``--tls`` makes its certificates with trustme, an optional extra: a usage error
    without it, before anything is served or written."""
    try:
        import trustme  # noqa: F401
    except ImportError:
        raise Stop(ExitCode.USAGE, needs_extra("--tls", "tls")) from None


@contextlib.contextmanager
def _ca_folder(tls: bool) -> Iterator[str | None]:
    """With ``--tls``, the file for the certificate authority's certificate, in a folder
    of this run's own (only its owner may read or change it), removed at exit; a second
    server, even on the same ``--state``, gets its own."""
    if not tls:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="do-images-sandbox-") as folder:
        yield os.path.join(folder, "ca.pem")


@contextlib.contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """``kill PID`` (SIGTERM) stops the server as Ctrl-C does, so what it made is removed:
    a server started in the background by a script, which ignores Ctrl-C, is stopped so."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _announce(ctx: Context, base_url: str, token: str | None, ca_file: str | None) -> None:
    """The URL alone on stdout's first line, so a script can read it (with ``--tls``, the
    lines that trust its certificate authority after it); the how-to on stderr."""
    out, args = ctx.out, ctx.args
    out.line(base_url)
    trust = ""
    if ca_file is not None:
        quoted = shlex.quote(ca_file)
        out.line(f"export SSL_CERT_FILE={quoted}")
        out.line(f"export REQUESTS_CA_BUNDLE={quoted}")
        trust = f"SSL_CERT_FILE={quoted} "
    out.stdout.flush()
    accepted = "only the token given accepted" if token else "any token accepted"
    kept = f", kept in {args.state}" if args.state else ""
    made = (
        f"; https with a certificate authority made for this run (its certificate: "
        f"{ca_file}, removed at exit; the export lines make clients trust it)"
        if ca_file
        else ""
    )
    out.note(
        f"sandbox API at {base_url}{kept}, {accepted}{made}; try: {trust}"
        f"DIGITALOCEAN_TOKEN={'<the token>' if token else 'sandbox'} "
        f"do-images --base-url {base_url} list (Ctrl-C stops it)"
    )


def _check_serve(args: argparse.Namespace) -> None:
    """``--base-url`` and ``--json`` pick and shape an API's answers: a server has neither."""
    given = [
        option
        for option, used in (
            ("--base-url", args.base_url != DEFAULT_BASE_URL),
            ("--json", args.json),
        )
        if used
    ]
    if given:
        raise UsageError(
            f"{' and '.join(given)} {'mean' if len(given) > 1 else 'means'} nothing to "
            "'sandbox serve': it serves the sandbox, "
            "it asks no API (see 'do-images sandbox serve --help')"
        )


def add_commands(commands: Commands) -> None:
    """``completion`` and ``sandbox serve``."""
    sub = commands.add(
        "completion",
        "print a shell completion script",
        run_completion,
        examples=_EXAMPLES["completion"],
        needs_client=False,
        global_options=(),
    )
    sub.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell to complete in")

    sandbox = commands.group(
        "sandbox",
        "the offline sandbox API: serve it, list its accounts, move its clock",
        examples=(
            "do-images sandbox serve",
            "do-images sandbox accounts",
            "do-images sandbox advance 1d --state try.json",
        ),
    )
    serve = sandbox.add(
        "serve",
        "serve a sandbox API over HTTP (or https) on 127.0.0.1 until Ctrl-C",
        run_serve,
        examples=_EXAMPLES["serve"],
        needs_client=False,
        check=_check_serve,
        global_options=("token", "state"),
        unlisted=("base_url", "json", "output"),
        description="Serve a sandbox API over HTTP on 127.0.0.1 until Ctrl-C; prints its\n"
        "base URL. With --token, only that token is accepted; else any. With --tls,\n"
        "https, and the lines that make clients trust it (export SSL_CERT_FILE=...).",
    )
    serve.add_argument(
        "--port", type=port, default=0, help="port to listen on (default: any free port)"
    )
    serve.add_argument(
        "--tls",
        action="store_true",
        help="serve https: a certificate for 127.0.0.1, ::1 and localhost from a "
        "certificate authority made at start, whose certificate file (removed at exit) "
        "it prints in the SSL_CERT_FILE and REQUESTS_CA_BUNDLE lines that trust it; the "
        "system's trust store is left alone (needs trustme, the tls extra)",
    )

    sandbox.add(
        "accounts",
        "list the sandbox's accounts: name, email, team and token",
        run_accounts,
        examples=_EXAMPLES["accounts"],
        needs_client=False,
        global_options=("json", "output", "state"),
        description="List the sandbox's accounts, the default one first: each one's email\n"
        "and team (to transfer an image to it) and its token (--token, to act as it).\n"
        "A fresh sandbox has two, default and bob; --state lists those of a kept one.",
    )
    advance = sandbox.add(
        "advance",
        "move a kept sandbox's clock forward (--state FILE): a day later in one command",
        run_advance,
        examples=_EXAMPLES["advance"],
        needs_client=False,
        global_options=("json", "state"),
        description="Move the clock of the sandbox kept in --state FILE forward by DURATION\n"
        "(30d, 12h, 90m): the actions and imports due by then finish, and the next\n"
        "command sees the later time (a schedule's next run, ages for max_age).",
    )
    advance.add_argument("duration", type=duration, metavar="DURATION", help="30d, 12h or 90m")
