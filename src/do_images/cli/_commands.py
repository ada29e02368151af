"""What every ``do-images`` command handler shares: one signature, two ways to stop.

A handler takes a ``Context`` (the client, the parsed arguments, the output, stdin)
and returns an exit status (``_failures.ExitCode``); each family module names its
handlers beside their arguments. The two exceptions a handler may raise to end a
command, waiting with a progress line and asking at the terminal live here too.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple, TextIO

from .._errors import APIStatusError, DoImagesError, PermissionDeniedError
from ._failures import ExitCode
from ._output import Output, Progress, again, describe, isatty
from ._text import printable

if TYPE_CHECKING:
    from .._client import Client
    from .._models import Action, Image


class UsageError(Exception):
    """A command line that cannot be run as given (exit status 2)."""


class Stop(Exception):
    """Ends the command with ``code`` after printing ``message`` as the error line."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Context(NamedTuple):
    """What every command handler gets: the client (``None`` for ``sandbox serve``), the
    parsed arguments, the output, standard input and the environment (``main``'s
    ``environ``: where Spaces keys are looked for)."""

    do: Client | None
    args: argparse.Namespace
    out: Output
    stdin: TextIO
    environ: Mapping[str, str]

    @property
    def client(self) -> Client:
        """The client, for the commands that talk to the API."""
        assert self.do is not None
        return self.do


Handler = Callable[[Context], int]


# ---------------------------------------------------------------------- waiting


def wait_for(ctx: Context, action: Action) -> Action:
    """Wait for ``action`` with a live progress line; Ctrl-C says where it goes on."""
    do, args = ctx.client, ctx.args
    # The client's own clock: the virtual one for a sandbox, so elapsed time is the
    # time the action took there, not the few milliseconds it took here.
    progress = Progress(ctx.out.stderr, do.clock, ctx.out.width)
    progress.update(action)
    try:
        return do.image.wait(
            action, poll=args.poll, timeout=args.timeout, on_update=progress.update
        )
    except KeyboardInterrupt:
        progress.end()
        last = progress.last or action
        raise Stop(
            ExitCode.INTERRUPTED,
            f"stopped waiting; {describe(last)} goes on server-side "
            f"(check it with: {again(args, f'action {last.resource_id} {last.id}')})",
        ) from None
    finally:
        progress.end()


@contextlib.contextmanager
def refused_if_public(
    ctx: Context,
    image_id: int,
    refusals: tuple[type[APIStatusError], ...] = (PermissionDeniedError,),
) -> Iterator[None]:
    """A refusal (``refusals``: a 403, or the 422 tagging answers) of a change to a public
    image says so, not that the token lacks a scope or the API a reason."""
    try:
        yield
    except refusals:
        try:
            image = ctx.client.image.info(image_id)
        except DoImagesError:
            image = None
        if image is not None and image.public:
            raise public_image(image) from None
        raise


def public_image(image: Image) -> Stop:
    """The refusal of a change to a public image (exit 5), the same for every command."""
    return Stop(
        ExitCode.AUTH,
        f"image {image.id} ({image.name or image.slug}) is a public image: "
        "public images cannot be changed, deleted, transferred or converted",
    )


def ask(ctx: Context, question: str, *, refusing: str) -> bool:
    """Ask ``question`` on the terminal; whether the answer was yes.

    With no terminal on stdin there is no one to ask: a usage error that says to pass
    ``--yes`` (``refusing`` names what was not done).
    """
    out = ctx.out
    if not isatty(ctx.stdin):
        raise UsageError(f"refusing to {refusing} without --yes: stdin is not a terminal")
    out.stderr.write(printable(question) + " [y/N] ")
    out.stderr.flush()
    try:
        answer = ctx.stdin.readline()
    except KeyboardInterrupt:
        out.stderr.write("\n")  # end the prompt's line before the error line
        raise
    if not answer.endswith("\n"):
        out.stderr.write("\n")  # Ctrl-D: the terminal did not end the prompt's line
    return answer.strip().lower() in ("y", "yes")
