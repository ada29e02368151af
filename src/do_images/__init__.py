"""do_images: a typed Python SDK for the DigitalOcean Images API.

>>> from do_images import Client
>>> with Client() as do:                              # doctest: +SKIP
...     for image in do.image.list(private=True):
...         print(image.id, image.name)
"""

from ._client import AsyncClient, AsyncImageResource, AsyncPager, Client, ImageResource, Pager
from ._errors import (
    ActionFailedError,
    ActionTimeoutError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DoImagesError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    UnknownOutcomeError,
    UnprocessableEntityError,
)
from ._models import (
    Action,
    ActionStatus,
    ActionType,
    Image,
    ImageStatus,
    ImageType,
    RateLimit,
    Region,
)
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Action",
    "ActionFailedError",
    "ActionStatus",
    "ActionTimeoutError",
    "ActionType",
    "AsyncClient",
    "AsyncImageResource",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "DoImagesError",
    "Image",
    "ImageResource",
    "ImageStatus",
    "ImageType",
    "NotFoundError",
    "Pager",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "Region",
    "ResponseValidationError",
    "ServerError",
    "UnknownOutcomeError",
    "UnprocessableEntityError",
    "__version__",
]
