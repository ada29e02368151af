"""The commands that need no API: ``completion`` and ``sandbox serve``."""

from __future__ import annotations

import argparse

from .._constants import DEFAULT_BASE_URL
from ._commands import Context, Stop, UsageError
from ._failures import ExitCode
from ._parser import Commands, port

_EXAMPLES: dict[str, tuple[str, ...]] = {
    "serve": ("do-images sandbox serve --port 8080 --state sandbox.json",),
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
        raise Stop(
            ExitCode.FAILED,
            "completion needs the argcomplete package: pip install 'do-images[completion]'",
        ) from None
    ctx.out.stdout.write(shellcode(["do-images"], shell=ctx.args.shell))
    return ExitCode.OK


def run_serve(ctx: Context) -> int:
    """``sandbox serve``: a sandbox over HTTP on loopback until Ctrl-C."""
    from ..testing import Sandbox

    out, args = ctx.out, ctx.args
    token = args.token.strip() if args.token and args.token.strip() else None

    def ready(base_url: str) -> None:
        # The URL alone on stdout, so a script can read it; the how-to on stderr.
        out.line(base_url)
        out.stdout.flush()
        accepted = "only the token given accepted" if token else "any token accepted"
        kept = f", kept in {args.state}" if args.state else ""
        out.note(
            f"sandbox API at {base_url}{kept}, {accepted}; try: "
            f"DIGITALOCEAN_TOKEN={'<the token>' if token else 'sandbox'} "
            f"do-images --base-url {base_url} list (Ctrl-C stops it)"
        )

    # Virtual time follows real time here, so actions finish while people watch.
    sandbox = Sandbox(realtime=True, token=token, state=args.state)
    try:
        sandbox.serve_forever("127.0.0.1", args.port, ready=ready)
    except OSError as exc:
        raise Stop(
            ExitCode.FAILED,
            f"cannot serve on 127.0.0.1 port {args.port}: {exc.strerror or exc}",
        ) from None
    out.note("sandbox stopped")
    return ExitCode.OK


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
    )
    sub.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell to complete in")

    sandbox = commands.group(
        "sandbox", "the offline sandbox API", examples=("do-images sandbox serve",)
    )
    serve = sandbox.add(
        "serve",
        "serve a sandbox API over HTTP on 127.0.0.1 until Ctrl-C",
        run_serve,
        examples=_EXAMPLES["serve"],
        needs_client=False,
        check=_check_serve,
        description="Serve a sandbox API over HTTP on 127.0.0.1 until Ctrl-C; prints its\n"
        "base URL. With --token, only that token is accepted; else any.",
    )
    serve.add_argument(
        "--port", type=port, default=0, help="port to listen on (default: any free port)"
    )
