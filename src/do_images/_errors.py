"""The exceptions do_images raises; every one is a ``DoImagesError``.

::

    DoImagesError                     .action / .image: the work a call had started
    │                                 .object_key / .bucket: an uploaded object kept for an
    │                                 import that may still run (import_file)
    ├── MissingTokenError             no token passed or in the environment (a ValueError)
    ├── APIConnectionError            no response (connect failure, reset)
    │   └── APITimeoutError           the request timed out
    ├── APIStatusError                the API answered with an error status
    │   ├── BadRequestError           400
    │   ├── AuthenticationError       401
    │   ├── PermissionDeniedError     403
    │   ├── NotFoundError             404
    │   ├── UnprocessableEntityError  422
    │   │   └── DropletBusyError      422: the droplet has a pending event (try later)
    │   ├── RateLimitError            429 (retry_after, reset_at)
    │   └── ServerError               5xx
    ├── ResponseValidationError       the body did not fit the model
    ├── UnknownOutcomeError           a POST may or may not have taken effect
    ├── ActionFailedError             an awaited action ended ``errored``
    ├── ActionTimeoutError            an awaited action did not finish in time
    ├── SnapshotNotFoundError         a completed droplet snapshot whose image never showed
    ├── DropletPowerOnError           a droplet this call turned off could not be turned on
    ├── ImageFailedError              an import DigitalOcean gave up on
    ├── ImageTimeoutError             an awaited import did not finish in time
    ├── DistributionError             a transfer to one or more regions failed
    ├── ImageFileError                a local image file DigitalOcean would refuse (a ValueError)
    ├── MissingSpacesKeyError         no Spaces key passed or in the environment (a ValueError)
    ├── UploadError                   Spaces refused the upload or could not be reached
    └── FleetError                    a fleet file or plan that cannot be used (a ValueError)
        └── StalePlanError            the account or the fleet file changed since the plan

Bad arguments are refused with the built-in ``ValueError`` / ``TypeError`` before any
request is sent. How an answer becomes one of these is in ``_error_map``.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._models import Action, Image, RateLimit

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "ActionFailedError",
    "ActionTimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "DistributionError",
    "DoImagesError",
    "DropletBusyError",
    "DropletPowerOnError",
    "FleetError",
    "ImageFailedError",
    "ImageFileError",
    "ImageTimeoutError",
    "MissingSpacesKeyError",
    "MissingTokenError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
    "SnapshotNotFoundError",
    "StalePlanError",
    "UnknownOutcomeError",
    "UnprocessableEntityError",
    "UploadError",
]


def _rebuild(cls: type[DoImagesError], state: dict[str, Any]) -> DoImagesError:
    """Unpickle an error: no ``__init__`` call, so every subclass comes back whole."""
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class DoImagesError(Exception):
    """Base of every error do_images raises."""

    message: str
    """What went wrong, in one line (never the token)."""
    action: Action | None = None
    """The action this call had started, when the error came after starting it."""
    image: Image | None = None
    """The image this call had created or was waiting for, when the error came after that."""
    object_key: str | None = None
    """The key of the object ``import_file`` uploaded and kept, because the import that
    fetches it may still run (or it could not be deleted); the message says how to
    remove it later."""
    bucket: str | None = None
    """The bucket of ``object_key`` (of the upload, for ``UploadError``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception pickles as cls(*args), which subclasses with keyword-only or
        # model arguments cannot take: rebuild from the attributes instead.
        return (_rebuild, (type(self), dict(self.__dict__)))


class MissingTokenError(DoImagesError, ValueError):
    """No token was passed and neither environment variable holds one.

    A ``ValueError`` too, since it is a missing argument, raised before any request.
    """


class APIConnectionError(DoImagesError):
    """No response arrived: the connection failed or was dropped."""

    attempts: int
    """How many times the request was sent."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class APIStatusError(DoImagesError):
    """The API answered with an error status.

    ``method`` and ``path`` say which request failed (the path without its query,
    which may hold personal data); they are ``None`` for an error built without one.
    """

    status_code: int
    """The HTTP status of the answer."""
    error_id: str | None
    """The API's error ``id``, such as ``"not_found"``."""
    request_id: str | None
    """The server's id of the request (body ``request_id`` or ``x-request-id``)."""
    rate_limit: RateLimit | None
    """The request budget the error response reported."""
    body: str
    """The start of the raw body (at most 1 KiB, the token blanked out)."""
    attempts: int
    """How many times the request was sent."""
    method: str | None
    """The HTTP method of the failed request."""
    path: str | None
    """The path of the failed request, without its query."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_id: str | None = None,
        request_id: str | None = None,
        rate_limit: RateLimit | None = None,
        body: str = "",
        attempts: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_id = error_id
        self.request_id = request_id
        self.rate_limit = rate_limit
        self.body = body
        self.attempts = attempts
        self.method = method
        self.path = path

    def __str__(self) -> str:
        if self.error_id is None and self.message.startswith(f"HTTP {self.status_code}"):
            text = self.message  # a body that was not the API's: the message says it all
        else:
            text = f"{self.status_code} {self.error_id or 'error'}: {self.message}"
        where = [f"{self.method} {self.path}"] if self.method and self.path else []
        if self.request_id:
            where.append(f"request id {self.request_id}")
        if where:
            text += f" ({', '.join(where)})"
        if self.attempts > 1:
            text += f" after {self.attempts} attempts"
        return text

    def __repr__(self) -> str:
        where = f" {self.method} {self.path}" if self.method and self.path else ""
        return f"<{type(self).__name__} {self.status_code}{where}: {self.message!r}>"


class BadRequestError(APIStatusError):
    """400: the request was malformed."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the token may not do this (for example a read-only scope)."""


class NotFoundError(APIStatusError):
    """404: no such image or action."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was understood but refused (for example an unknown region)."""


class DropletBusyError(UnprocessableEntityError):
    """422: the droplet has a pending event ("already has a pending event", "blocking
    events processing"): another action runs on it, and the API takes one at a time.
    Nothing was started; try again once it is done. ``droplet_id`` names the droplet."""

    droplet_id: int | None
    """The droplet that was busy."""

    def __init__(self, message: str, *, droplet_id: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("status_code", 422)
        super().__init__(message, **kwargs)
        self.droplet_id = droplet_id


class RateLimitError(APIStatusError):
    """429: the request budget is spent."""

    retry_after: float | None
    """The wait in seconds the server asked for, or ``None``."""
    reset_at: datetime | None
    """When the budget refills, if the server said."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        reset_at: datetime | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("status_code", 429)
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.reset_at = reset_at


class ServerError(APIStatusError):
    """5xx: the API failed."""


class ResponseValidationError(DoImagesError):
    """A success response whose body did not fit the model.

    ``body`` holds the raw body (cut to 1 KiB) and ``request_id`` the server's id.
    """

    body: str
    """The start of the raw body (at most 1 KiB, the token blanked out)."""
    request_id: str | None
    """The server's id of the request, if it gave one."""

    def __init__(self, message: str, *, body: str = "", request_id: str | None = None) -> None:
        super().__init__(message)
        self.body = body
        self.request_id = request_id


class UnknownOutcomeError(DoImagesError):
    """A POST failed after it may have reached the API, so its outcome is unknown.

    The request timed out while waiting for the answer, the connection dropped
    mid-response, or the API answered 5xx. This API has no idempotency keys, so
    sending the request again could import a second image or start a second
    action; do_images does not do that blindly. ``__cause__`` is the failure itself
    (an ``APIConnectionError`` or ``ServerError``); ``attempts`` counts the requests
    sent. For ``create``, look for the image (``list(private=True)``) before trying
    again.
    """

    attempts: int
    """How many times the request was sent."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class ActionFailedError(DoImagesError):
    """An awaited action ended with status ``errored``; ``action`` is that action."""

    action: Action
    """The action as last seen, ``errored``."""

    def __init__(self, action: Action) -> None:
        super().__init__(
            f"action {action.id} ({action.type}) on {_resource(action)} errored"
        )
        self.action = action


class ActionTimeoutError(DoImagesError):
    """An awaited action was not done in time; ``action`` is the last state seen."""

    action: Action
    """The action as last seen."""
    timeout: float
    """How long was waited, in seconds."""

    def __init__(self, action: Action, timeout: float) -> None:
        super().__init__(
            f"action {action.id} ({action.type}) on {_resource(action)} still "
            f"{action.status} after {timeout:g} s"
        )
        self.action = action
        self.timeout = timeout


class SnapshotNotFoundError(DoImagesError):
    """A droplet snapshot completed, but its image did not show in the droplet's snapshots
    (none made at the action's ``started_at``, with its name where known), however long
    the listing was read again. ``action`` is the completed snapshot action,
    ``droplet_id`` the droplet."""

    action: Action
    """The snapshot action, completed."""
    droplet_id: int | None
    """The droplet the snapshot was made of."""

    def __init__(self, action: Action, *, droplet_id: int | None, waited: float) -> None:
        super().__init__(
            f"snapshot {action.id} of droplet {droplet_id} completed, but no image made at "
            f"{_when(action)} showed in the droplet's snapshots after {waited:g} s"
        )
        self.action = action
        self.droplet_id = droplet_id


class DropletPowerOnError(DoImagesError):
    """A droplet that ``snapshot(power_off=True)`` turned off could not be powered on again:
    it is left off. ``droplet_id`` names it; ``image`` is the snapshot, if one was made
    (``action`` the snapshot action, if one started); ``__cause__`` is why the power-on
    failed. Power it on with ``do.droplet.power_on(droplet_id)``."""

    droplet_id: int
    """The droplet left off."""

    def __init__(self, message: str, *, droplet_id: int, image: Image | None = None) -> None:
        super().__init__(message)
        self.droplet_id = droplet_id
        self.image = image


def _resource(action: Action) -> str:
    """What an action acts on, as a message names it: ``image 7``, ``droplet 3164494``."""
    return f"{action.resource_type or 'image'} {action.resource_id}"


def _when(action: Action) -> str:
    started = action.started_at
    return "an unknown time" if started is None else started.strftime("%Y-%m-%dT%H:%M:%SZ")


class ImageFailedError(DoImagesError):
    """An image being waited for will not become available: DigitalOcean gave up.

    ``image`` is the image as last seen (``status`` ``deleted``, or a non-empty
    ``error_message``; or gone, 404, after it had existed), ``error_message`` why.
    """

    image: Image
    error_message: str | None
    """What DigitalOcean said went wrong, if it said."""

    def __init__(self, image: Image, *, gone: bool = False) -> None:
        reason = image.error_message or (
            "it is gone (404)" if gone else f"its status is {image.status}"
        )
        super().__init__(f"image {image.id} ({image.name}) will not become available: {reason}")
        self.image = image
        self.error_message = image.error_message or None


class ImageTimeoutError(DoImagesError):
    """An image was not ``available`` in time; ``image`` is the last state seen (if any)."""

    image: Image | None
    timeout: float
    """How long was waited, in seconds."""

    def __init__(self, image: Image | None, image_id: int, timeout: float) -> None:
        status = f"still {image.status}" if image is not None else "never seen"
        super().__init__(f"image {image_id} {status} after {timeout:g} s")
        self.image = image
        self.timeout = timeout


class DistributionError(DoImagesError):
    """Copying an image to several regions did not fully succeed.

    ``actions`` maps each region whose transfer started to its action as last seen;
    ``errors`` maps each region that failed (to start, ``errored``, timed out) to why.
    The transfers in ``actions`` that are not in ``errors`` completed.
    """

    actions: dict[str, Action]
    errors: dict[str, DoImagesError]

    def __init__(
        self, image_id: int, actions: dict[str, Action], errors: dict[str, DoImagesError]
    ) -> None:
        failed = ", ".join(f"{region} ({error})" for region, error in errors.items())
        super().__init__(
            f"image {image_id}: {len(errors)} of {len(set(actions) | set(errors))} "
            f"transfer(s) failed: {failed}"
        )
        self.actions = actions
        self.errors = errors


class ImageFileError(DoImagesError, ValueError):
    """A local image file DigitalOcean would refuse; nothing was sent. ``reason`` says
    what it is and how to fix it."""

    path: str
    reason: str

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(f"{os.fspath(path)}: {reason}")
        self.path = os.fspath(path)
        self.reason = reason


class MissingSpacesKeyError(DoImagesError, ValueError):
    """No Spaces access key or secret key was passed, nor found in the environment."""


class UploadError(DoImagesError):
    """Spaces refused the upload, or could not be reached past the retries.

    ``bucket`` and ``key`` name the object; ``resumable`` says whether the parts sent so
    far were kept (``import_file`` with ``resume=True`` goes on from them);
    ``unreachable`` whether Spaces could not be reached (rather than said no).
    """

    bucket: str
    key: str
    resumable: bool
    unreachable: bool

    def __init__(
        self, message: str, *, bucket: str, key: str, resumable: bool, unreachable: bool = False
    ) -> None:
        super().__init__(message)
        self.bucket = bucket
        self.key = key
        self.resumable = resumable
        self.unreachable = unreachable


class FleetError(DoImagesError, ValueError):
    """A fleet file or plan that cannot be used: a bad key or value (named, with its group),
    TOML that does not parse (with its line and column), an image two groups select, or
    more deletions than ``max_delete`` allows."""


class StalePlanError(FleetError):
    """The account or the fleet file changed since the plan was made, or it is too old.

    ``changed`` holds the ids of the matched images that changed, appeared or went;
    it is empty when only the fleet file changed or the plan is too old (the message says
    which). Nothing was changed: plan again.
    """

    changed: list[int]

    def __init__(self, message: str, changed: list[int] | None = None) -> None:
        super().__init__(message)
        self.changed = list(changed or [])


# Tracebacks name an error by its public path (do_images.NotFoundError); pickle finds it there.
for _name in __all__:
    globals()[_name].__module__ = "do_images"
del _name
