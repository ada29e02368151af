"""How ``do-images`` reports a failure: the exit statuses (``ExitCode``, with what each
means) and the exit status and one line for each error.

``FAILURES`` is walked in order (subclasses before their bases) and reads like the
exit-status table; ``failure()`` gives the exit code, the message and, for an error
raised after an action started, where to find that action.
"""

from __future__ import annotations

import argparse
import enum
import math
import re
from collections.abc import Callable
from typing import Any

from .._checks import ArgumentError
from .._constants import DEFAULT_BASE_URL, TOKEN_VARIABLES
from .._errors import (
    ActionFailedError,
    ActionTimeoutError,
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    DistributionError,
    DoImagesError,
    DropletBusyError,
    DropletPowerOnError,
    FleetError,
    ImageFailedError,
    ImageFileError,
    ImageTimeoutError,
    MissingSpacesKeyError,
    MissingTokenError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    SnapshotNotFoundError,
    StalePlanError,
    UnknownOutcomeError,
    UploadError,
)
from ._output import again

POWER_ON = re.compile(r"do-images droplet power-on (\d+)")
"""The command the SDK names for a droplet left off (``power_on_command``)."""
REMOVE_OBJECT = "do-images import --remove-object"
"""How the SDK's message about a kept object starts the command that removes it."""


class ExitCode(enum.IntEnum):
    """What the exit status of ``do-images`` means; one value per class of failure."""

    OK = 0
    FAILED = 1
    USAGE = 2
    API_ERROR = 3
    NOT_FOUND = 4
    AUTH = 5
    RATE_LIMITED = 6
    ACTION_FAILED = 7
    WAIT_TIMED_OUT = 8
    CONNECTION = 9
    UNKNOWN_OUTCOME = 10
    STALE_PLAN = 11
    DROPLET_BUSY = 12
    INTERRUPTED = 130


EXIT_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.FAILED: "not done: delete declined at the prompt, or an unexpected failure",
    ExitCode.USAGE: "usage: bad arguments, a bad fleet file or plan, an optional extra not "
    "installed, a port sandbox serve cannot take, or delete or apply without --yes when "
    "stdin is not a terminal",
    ExitCode.API_ERROR: "API error: any other error status, a response that made no sense, "
    "a deletion of prune --yes that failed, an entry of apply that failed or was skipped "
    "(apply exits 0 while every entry is done or pending: a busy droplet, a snapshot in "
    "progress or not done in time, --no-wait), or a droplet that could not be powered on "
    "again (it is left off)",
    ExitCode.NOT_FOUND: "not found: no such image, action, droplet or account transfer, or a "
    "404 from an address that is likely not the API (--base-url)",
    ExitCode.AUTH: "auth: no token (or no Spaces keys, for import), a token the API refused "
    "(401), or not allowed (403)",
    ExitCode.RATE_LIMITED: "rate limited: the request budget is spent (429)",
    ExitCode.ACTION_FAILED: "failed: an awaited action ended errored, an import failed, "
    "or a transfer to one of several regions failed",
    ExitCode.WAIT_TIMED_OUT: "wait timed out: the action or import goes on, not done in "
    "time, or a completed snapshot's image did not show in time",
    ExitCode.CONNECTION: "connection: the API (or Spaces, for import) could not be reached, "
    "or the request timed out",
    ExitCode.UNKNOWN_OUTCOME: "unknown outcome: a create, transfer, convert or account "
    "transfer may have happened",
    ExitCode.STALE_PLAN: "stale plan: the account no longer gives the plan's entries, the "
    "fleet file changed, or the plan is too old or of another format; nothing was changed: "
    "plan again",
    ExitCode.DROPLET_BUSY: "droplet busy: another action runs on the droplet; nothing was "
    "started, try again later",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); an action being awaited goes on server-side",
}


def _subject(args: argparse.Namespace) -> str | None:
    """What the command names that may not exist (an image, an action, a transfer)."""
    if getattr(args, "transfer", None) is not None:
        return f"account transfer {args.transfer} of image {args.image}"
    if getattr(args, "action", None) is not None:
        if getattr(args, "image", None) is None:
            return f"action {args.action}"
        return f"action {args.action} of image {args.image}"
    if getattr(args, "droplet", None) is not None:
        return f"droplet {args.droplet}"
    if getattr(args, "image", None) is not None:
        return f"image {args.image}"
    if len(getattr(args, "images", None) or ()) == 1:
        return f"image {args.images[0]}"
    return None


def _not_found(exc: NotFoundError, args: argparse.Namespace) -> str:
    """``not found: image 7``, when the API said so of a thing the command names; else
    (a 404 of a list, or a body that is not the API's) the request and the URL that
    answered, which is likely not the API at all."""
    from urllib.parse import urlsplit, urlunsplit

    subject = _subject(args)
    if subject is not None and exc.error_id is not None:
        return f"not found: {subject}{_request_id(exc.request_id)}"
    parts = urlsplit(getattr(args, "base_url", None) or DEFAULT_BASE_URL)
    where = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
    asked = f"{exc.method} {exc.path}" if exc.method and exc.path else "a request"
    return (
        f"{asked} answered 404 at {where.rstrip('/')}: is that the DigitalOcean API? "
        "(check --base-url)"
    )


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
    if getattr(args, "command_name", None) == "account-transfer":
        return (
            f"{exc}; look with: {again(args, f'info {args.image}')} (not found: it moved; "
            "else a transfer may be pending, and the API refuses a second while one is)"
        )
    if getattr(args, "image", None) is None:  # create
        look = f"look for it with: {again(args, 'list --private')}"
    else:
        look = f"look with: {again(args, f'actions {args.image}')}"
    return f"{exc}; {look} before trying again"


def _wait_timed_out(exc: ActionTimeoutError, args: argparse.Namespace) -> str:
    action = exc.action
    if action.resource_type == "droplet":
        return (
            f"{exc}; it goes on server-side (check it with: {again(args, f'action {action.id}')}"
            f"; its image, once done: {again(args, f'droplet snapshots {action.resource_id}')})"
        )
    return (
        f"{exc}; it goes on server-side "
        f"(keep waiting with: {again(args, f'wait {action.resource_id} {action.id}')})"
    )


def _resume_hint(exc: BaseException, args: argparse.Namespace) -> str:
    """For an error that came after an action started: where to find that action."""
    from .._models import Action

    action = getattr(exc, "action", None)
    if not isinstance(action, Action) or isinstance(exc, (ActionTimeoutError, ActionFailedError)):
        return ""
    if action.resource_type == "droplet":
        show = again(args, f"action {action.id}")
        where = f"droplet {action.resource_id}"
    else:
        show = again(args, f"action {action.resource_id} {action.id}")
        where = f"image {action.resource_id}"
    return (
        f"; {action.type} {action.id} on {where} was started and may go on (check it with: {show})"
    )


_OPTION_OF = {"tag_name": "tag"}
"""The SDK's parameters whose command line option has another name."""


def in_flags(exc: ArgumentError, args: argparse.Namespace) -> str:
    """``exc``'s message with each argument named by the command's option (``--keep 0``),
    or by its Python name if the command has no such option."""
    parser = getattr(args, "parser", None)
    options = {
        action.dest: next(flag for flag in action.option_strings if flag.startswith("--"))
        for action in (parser._actions if parser is not None else [])
        if any(flag.startswith("--") for flag in action.option_strings)
    }

    def spell(name: str, value: str | None) -> str:
        flag = options.get(_OPTION_OF.get(name, name))
        if flag is None:
            return name if value is None else f"{name}={value}"
        return flag if value is None else f"{flag} {value}"

    return exc.say(spell)


def _upload_failed(exc: UploadError, args: argparse.Namespace) -> str:
    kept = (
        "; the parts sent are kept: run the same command again to resume" if exc.resumable else ""
    )
    return f"{exc}{kept}"


_Message = Callable[[Any, argparse.Namespace], str]

FAILURES: list[tuple[type[BaseException] | tuple[type[BaseException], ...], ExitCode, _Message]] = [
    # Walked in order, first match wins: subclasses before their bases.
    (
        MissingTokenError,
        ExitCode.AUTH,
        lambda exc, args: (
            f"no DigitalOcean token: set ${TOKEN_VARIABLES[0]} (or ${TOKEN_VARIABLES[1]}) "
            "or pass --token; to try without an account: do-images --sandbox list"
        ),
    ),
    (NotFoundError, ExitCode.NOT_FOUND, _not_found),
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
    (
        DropletBusyError,
        ExitCode.DROPLET_BUSY,
        lambda exc, args: (
            f"droplet {exc.droplet_id} is busy: {exc.message}{_request_id(exc.request_id)}; "
            "another action runs on it: try again once it is done"
        ),
    ),
    (APIStatusError, ExitCode.API_ERROR, lambda exc, args: f"API error: {exc}"),
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
    (
        SnapshotNotFoundError,
        ExitCode.WAIT_TIMED_OUT,
        lambda exc, args: (
            f"{exc}; look again later with: {again(args, f'droplet snapshots {exc.droplet_id}')}"
        ),
    ),
    (
        DropletPowerOnError,
        ExitCode.API_ERROR,
        lambda exc, args: str(exc).replace(
            f"do-images droplet power-on {exc.droplet_id}",
            again(args, f"droplet power-on {exc.droplet_id}"),
        ),
    ),
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
    (StalePlanError, ExitCode.STALE_PLAN, lambda exc, args: str(exc)),
    (ImageFileError, ExitCode.USAGE, lambda exc, args: str(exc)),
    (MissingSpacesKeyError, ExitCode.AUTH, lambda exc, args: str(exc)),
    (UploadError, ExitCode.CONNECTION, _upload_failed),
    (FleetError, ExitCode.USAGE, lambda exc, args: str(exc)),
    (DoImagesError, ExitCode.API_ERROR, lambda exc, args: str(exc)),
    # An optional extra that is not installed: the message says which, and how.
    (ImportError, ExitCode.USAGE, lambda exc, args: str(exc)),
    # Text Python cannot encode: on a command line, a byte that is not UTF-8.
    (
        UnicodeError,
        ExitCode.USAGE,
        lambda exc, args: (
            "an argument is not valid UTF-8 text (it holds a byte that is not "
            "UTF-8, or a lone surrogate): give it in UTF-8"
        ),
    ),
    # The SDK refuses bad arguments with these before sending anything.
    (ArgumentError, ExitCode.USAGE, in_flags),
    ((ValueError, TypeError), ExitCode.USAGE, lambda exc, args: str(exc)),
]
"""Exception class -> exit status and one-line message; reads like the exit-status table."""


def error_payload(exc: BaseException | None, code: int, message: str) -> dict[str, Any]:
    """``--json``'s error: the fields a script needs (the API's status and id, ``null`` for
    errors that are no API answer)."""
    request_id = getattr(exc, "request_id", None)
    return {
        "status": exc.status_code if isinstance(exc, APIStatusError) else None,
        "id": exc.error_id if isinstance(exc, APIStatusError) else None,
        "message": message,
        "request_id": request_id if isinstance(request_id, str) else None,
        "exit": int(code),
    }


def failure(exc: BaseException, args: argparse.Namespace) -> tuple[ExitCode, str]:
    """The exit code and the one-line message for an exception a command raised."""
    if isinstance(exc, UploadError) and not exc.unreachable:
        return ExitCode.API_ERROR, _upload_failed(exc, args)  # Spaces said no
    for kind, code, message in FAILURES:
        if isinstance(exc, kind):
            text = _kept_object(exc, args, message(exc, args) + _resume_hint(exc, args))
            return code, _power_on_hint(args, text)
    return ExitCode.FAILED, f"unexpected {type(exc).__name__}: {exc}"


def _power_on_hint(args: argparse.Namespace, message: str) -> str:
    """A droplet left off: the command the SDK gives to power it on, made to reach this
    command's API (``--base-url``, ``--sandbox --state``), never the real one by default."""
    return POWER_ON.sub(lambda match: again(args, f"droplet power-on {match[1]}"), message)


def _kept_object(exc: BaseException, args: argparse.Namespace, message: str) -> str:
    """An import kept its object: the command that removes it reaches this command's API
    (``--base-url``, ``--sandbox --state``) to check that the import has ended."""
    if getattr(exc, "object_key", None) is None:
        return message
    return message.replace(REMOVE_OBJECT, again(args, REMOVE_OBJECT.removeprefix("do-images ")))
