"""The image models: ``Image``, its enums, its list and envelope, an account transfer."""

from __future__ import annotations

from pydantic import StrictBool, StrictFloat, StrictInt

from ._base import JsonValidator, Timestamp, _APIModel, _Links, _Meta, _open_enum, _StrEnum, _Wire


class ImageType(_StrEnum):
    """The kind of an image (the ``type`` attribute, not the ``type`` list filter)."""

    base = "base"
    snapshot = "snapshot"
    backup = "backup"
    custom = "custom"
    admin = "admin"


class ImageStatus(_StrEnum):
    """The state of an image; custom images start as ``NEW``."""

    NEW = "NEW"
    available = "available"
    pending = "pending"
    deleted = "deleted"
    retired = "retired"


class Image(_APIModel):
    """An image: a distribution, application, snapshot, backup or custom image."""

    id: StrictInt
    """The image's unique id."""
    name: str | None = None
    """The display name; for public images, the distribution's release."""
    type: ImageType | str | None = _open_enum()
    """``base``, ``snapshot``, ``backup``, ``custom`` or ``admin`` (a new kind stays a str)."""
    distribution: str | None = None
    """The image's base distribution, such as ``Ubuntu``; ``Unknown`` if not one the API knows."""
    slug: str | None = None
    """The public image's name in requests (``ubuntu-24-04-x64``); ``None`` for your own."""
    public: StrictBool | None = None
    """Whether every account can use it (DigitalOcean's images) or only yours."""
    regions: list[str] | None = None
    """The region slugs the image is available in."""
    created_at: Timestamp | None = None
    """When the image was created, timezone-aware."""
    min_disk_size: StrictInt | None = None
    """The smallest disk, in GB, a Droplet needs to use the image."""
    size_gigabytes: StrictFloat | None = None
    """The image's size in GB (billed for snapshots and custom images)."""
    description: str | None = None
    """Free text about the image."""
    tags: list[str] | None = None
    """The tags on the image."""
    status: ImageStatus | str | None = _open_enum()
    """``NEW``, ``available``, ``pending``, ``deleted`` or ``retired`` (a new state stays a str)."""
    error_message: str | None = None
    """Why importing a custom image failed; empty when it did not."""


class AccountTransfer(_APIModel):
    """An image's transfer to another account or team, as the API answered its start."""

    transfer_id: StrictInt
    """The transfer's id, for accepting, cancelling or declining it; ``0`` when the
    recipient team took the image at once."""

    @property
    def accepted(self) -> bool:
        """Whether the image has already changed hands (``transfer_id == 0``)."""
        return self.transfer_id == 0


class ImagePage(_Wire):
    """One page of ``GET /v2/images``."""

    images: list[Image]
    links: _Links | None = None
    meta: _Meta | None = None


class ImageEnvelope(_Wire):
    """``{"image": {...}}``."""

    image: Image


IMAGE_PAGE: JsonValidator[ImagePage] = JsonValidator(ImagePage)
IMAGE_ENVELOPE: JsonValidator[ImageEnvelope] = JsonValidator(ImageEnvelope)
ACCOUNT_TRANSFER: JsonValidator[AccountTransfer] = JsonValidator(AccountTransfer)
