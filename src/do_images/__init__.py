"""do_images: a typed Python SDK for the DigitalOcean Images API.

>>> from do_images import Client
>>> with Client() as do:                              # doctest: +SKIP
...     for image in do.image.list(private=True):
...         print(image.id, image.name)
"""

from __future__ import annotations

import importlib
import typing

if typing.TYPE_CHECKING:
    from ._client import AsyncClient, AsyncPager, Client, Pager
    from ._errors import (
        ActionFailedError,
        ActionTimeoutError,
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
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
        ServerError,
        SnapshotNotFoundError,
        StalePlanError,
        UnknownOutcomeError,
        UnprocessableEntityError,
        UploadError,
    )
    from ._lifecycle import PrunePlan, PruneReport
    from ._models import (
        AccountTransfer,
        Action,
        ActionResourceType,
        ActionStatus,
        ActionType,
        Droplet,
        DropletStatus,
        Image,
        ImageStatus,
        ImageType,
        RateLimit,
        Region,
        Snapshot,
        SnapshotResourceType,
    )
    from ._resources import (
        AsyncDropletResource,
        AsyncImageResource,
        AsyncSnapshotResource,
        DropletResource,
        ImageResource,
        SnapshotResource,
    )
    from ._spaces import ImportProgress, SpacesTarget, UploadProgress
    from ._version import __version__

# The names load on first use (PEP 562), so `import do_images` costs next to nothing
# and `from do_images import Client` loads only what a sync client needs.
_EXPORTS: dict[str, str] = {
    "APIConnectionError": "._errors",
    "APIStatusError": "._errors",
    "APITimeoutError": "._errors",
    "AccountTransfer": "._models",
    "Action": "._models",
    "ActionFailedError": "._errors",
    "ActionResourceType": "._models",
    "ActionStatus": "._models",
    "ActionTimeoutError": "._errors",
    "ActionType": "._models",
    "AsyncClient": "._client",
    "AsyncDropletResource": "._resources",
    "AsyncImageResource": "._resources",
    "AsyncPager": "._client",
    "AsyncSnapshotResource": "._resources",
    "AuthenticationError": "._errors",
    "BadRequestError": "._errors",
    "Client": "._client",
    "DistributionError": "._errors",
    "DoImagesError": "._errors",
    "Droplet": "._models",
    "DropletBusyError": "._errors",
    "DropletPowerOnError": "._errors",
    "DropletResource": "._resources",
    "DropletStatus": "._models",
    "FleetError": "._errors",
    "Image": "._models",
    "ImageFailedError": "._errors",
    "ImageFileError": "._errors",
    "ImageResource": "._resources",
    "ImageStatus": "._models",
    "ImageTimeoutError": "._errors",
    "ImageType": "._models",
    "ImportProgress": "._spaces",
    "MissingSpacesKeyError": "._errors",
    "MissingTokenError": "._errors",
    "NotFoundError": "._errors",
    "Pager": "._client",
    "PermissionDeniedError": "._errors",
    "PrunePlan": "._lifecycle",
    "PruneReport": "._lifecycle",
    "RateLimit": "._models",
    "RateLimitError": "._errors",
    "Region": "._models",
    "ResponseValidationError": "._errors",
    "ServerError": "._errors",
    "Snapshot": "._models",
    "SnapshotNotFoundError": "._errors",
    "SnapshotResource": "._resources",
    "SnapshotResourceType": "._models",
    "SpacesTarget": "._spaces",
    "StalePlanError": "._errors",
    "UnknownOutcomeError": "._errors",
    "UnprocessableEntityError": "._errors",
    "UploadError": "._errors",
    "UploadProgress": "._spaces",
    "__version__": "._version",
}


def __getattr__(name: str) -> typing.Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AccountTransfer",
    "Action",
    "ActionFailedError",
    "ActionResourceType",
    "ActionStatus",
    "ActionTimeoutError",
    "ActionType",
    "AsyncClient",
    "AsyncDropletResource",
    "AsyncImageResource",
    "AsyncPager",
    "AsyncSnapshotResource",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "DistributionError",
    "DoImagesError",
    "Droplet",
    "DropletBusyError",
    "DropletPowerOnError",
    "DropletResource",
    "DropletStatus",
    "FleetError",
    "Image",
    "ImageFailedError",
    "ImageFileError",
    "ImageResource",
    "ImageStatus",
    "ImageTimeoutError",
    "ImageType",
    "ImportProgress",
    "MissingSpacesKeyError",
    "MissingTokenError",
    "NotFoundError",
    "Pager",
    "PermissionDeniedError",
    "PrunePlan",
    "PruneReport",
    "RateLimit",
    "RateLimitError",
    "Region",
    "ResponseValidationError",
    "ServerError",
    "Snapshot",
    "SnapshotNotFoundError",
    "SnapshotResource",
    "SnapshotResourceType",
    "SpacesTarget",
    "StalePlanError",
    "UnknownOutcomeError",
    "UnprocessableEntityError",
    "UploadError",
    "UploadProgress",
    "__version__",
]
