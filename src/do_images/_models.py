"""Typed models of the objects the Images API sends.

Every model keeps what the API sent and nothing more: fields the API did not send
stay unset (and out of ``model_dump()``), unknown fields are kept, and unknown enum
values stay plain strings, so a new value on the server never breaks a client.
"""

from __future__ import annotations

import enum
import re
from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StrictBool,
    StrictFloat,
    StrictInt,
    TypeAdapter,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

T = TypeVar("T")

__all__ = [
    "AccountTransfer",
    "Action",
    "ActionStatus",
    "ActionType",
    "Image",
    "ImageStatus",
    "ImageType",
    "RateLimit",
    "Region",
]


class _StrEnum(str, enum.Enum):
    """A ``str`` enum that prints as its value (``str(ImageType.snapshot) == "snapshot"``)."""

    def __str__(self) -> str:
        value: str = self.value
        return value


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


class ActionStatus(_StrEnum):
    """The state of an image action."""

    in_progress = "in-progress"
    completed = "completed"
    errored = "errored"


class ActionType(_StrEnum):
    """The image actions this API offers."""

    transfer = "transfer"
    convert = "convert"


# Wire types are checked strictly: lax parsing would turn "123" into 123, "true" into
# True or 1415139782 into a date, so a mistyped field would be accepted and
# model_dump() would no longer return what the API sent.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339_text(value: object) -> object:
    """Let through RFC 3339 date-time text (and ``datetime``s); refuse numbers and the rest."""
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        return value
    raise ValueError("expected an RFC 3339 date-time string such as '2014-11-04T22:23:02Z'")


class _JsonTimestamp:
    """From JSON, check the RFC 3339 shape and parse it without calling back into Python.

    The ``BeforeValidator`` above costs a Python call per timestamp. From JSON, the
    same pattern is checked by pydantic-core's own regex and then parsed by its
    datetime parser: the same texts are accepted and refused, and an image validates
    about a third faster. Python input (``model_validate``) keeps the validator
    above, which also lets ``datetime`` objects through.
    """

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        python = handler(source)
        from_json = core_schema.chain_schema(
            [
                core_schema.str_schema(pattern=f"^{_RFC3339.pattern}$"),
                core_schema.datetime_schema(tz_constraint="aware"),
            ]
        )
        return core_schema.json_or_python_schema(json_schema=from_json, python_schema=python)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # Describe the field as the plain aware datetime it is, not as the chain.
        assert schema["type"] == "json-or-python"
        return handler(schema["python_schema"])


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), _JsonTimestamp]


# Unions are tried left to right so a known value becomes the enum member and an
# unknown one stays a plain ``str`` instead of failing validation.
def _open_enum() -> Any:
    return Field(default=None, union_mode="left_to_right")


class _Wire(BaseModel):
    """Base of everything parsed from the API: immutable, open to new fields.

    Field docstrings document the fields for readers and IDEs, and ``_schemas`` puts
    them into ``schemas/`` as descriptions. (pydantic's ``use_attribute_docstrings``
    would do that at run time, at the cost of reading this file's source on import:
    about 15 ms.)
    """

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


class _DictView:
    """Read-only dict access to a model, for code written against plain dicts (doboto's).

    ``model["name"]``, ``get``, ``in``, ``keys``, ``values``, ``items``, ``len`` and
    iteration all read the documented dict, ``model_dump()``: the keys the API sent,
    with JSON values.
    """

    __slots__ = ()

    if TYPE_CHECKING:
        __pydantic_fields_set__: set[str]
        __pydantic_extra__: dict[str, Any] | None

        def model_dump(self, **kwargs: Any) -> dict[str, Any]: ...

    def _has(self, key: str) -> bool:
        extra = self.__pydantic_extra__
        return key in self.__pydantic_fields_set__ or (extra is not None and key in extra)

    def __getitem__(self, key: str) -> Any:
        if not isinstance(key, str) or not self._has(key):
            raise KeyError(key)
        return self.model_dump(include={key})[key]

    def get(self, key: str, default: Any = None) -> Any:
        """Return the JSON value of ``key``, or ``default`` when the API did not send it."""
        return self[key] if isinstance(key, str) and self._has(key) else default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._has(key)

    def keys(self) -> KeysView[str]:
        """The keys the API sent."""
        return self.model_dump().keys()

    def values(self) -> ValuesView[Any]:
        """The JSON values the API sent."""
        return self.model_dump().values()

    def items(self) -> ItemsView[str, Any]:
        """The ``(key, JSON value)`` pairs the API sent."""
        return self.model_dump().items()

    def __iter__(self) -> Iterator[str]:
        return iter(self.model_dump())

    def __len__(self) -> int:
        return len(self.model_dump())


# Iterating yields the dict's keys, not BaseModel's (name, value) pairs: API.md
# promises dict reading, and dict(image) must give the documented dict.
class _APIModel(_DictView, _Wire):  # type: ignore[misc]
    """Base of the response models: immutable, open to new fields, dict-readable."""

    def model_dump(
        self,
        *,
        mode: Literal["json", "python"] | str = "json",
        exclude_unset: bool = True,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Return the documented dict: the keys the API sent, with JSON values."""
        return super().model_dump(mode=mode, exclude_unset=exclude_unset, **kwargs)

    def model_dump_json(self, *, exclude_unset: bool = True, **kwargs: Any) -> str:
        """Return the documented dict as JSON text."""
        return super().model_dump_json(exclude_unset=exclude_unset, **kwargs)


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


class Region(_APIModel):
    """The region object embedded in an action."""

    name: str
    """The display name, such as ``New York 3``."""
    slug: str
    """The region's name in requests, such as ``nyc3``."""
    features: list[str]
    """The features the region offers."""
    available: StrictBool
    """Whether new Droplets can be created there."""
    sizes: list[str]
    """The Droplet size slugs offered there."""


class Action(_APIModel):
    """An image action (transfer or convert) and its progress."""

    id: StrictInt
    """The action's unique id."""
    status: ActionStatus | str = Field(union_mode="left_to_right")
    """``in-progress``, ``completed`` or ``errored`` (a new state stays a str)."""
    type: ActionType | str = Field(union_mode="left_to_right")
    """``transfer`` or ``convert`` (a new kind stays a str)."""
    started_at: Timestamp | None = None
    """When the action started, timezone-aware."""
    completed_at: Timestamp | None = None
    """When it finished, or ``None`` while in progress."""
    resource_id: StrictInt | None = None
    """The id of the image it acts on."""
    resource_type: str | None = None
    """What it acts on: ``image``."""
    region: Region | None = None
    """The region it runs in (for a transfer, the target)."""
    region_slug: str | None = None
    """The slug of that region."""


class AccountTransfer(_APIModel):
    """An image's transfer to another account or team, as the API answered its start."""

    transfer_id: StrictInt
    """The transfer's id, for accepting, cancelling or declining it; ``0`` when the
    recipient team took the image at once."""

    @property
    def accepted(self) -> bool:
        """Whether the image has already changed hands (``transfer_id == 0``)."""
        return self.transfer_id == 0


class RateLimit(BaseModel):
    """The request budget the API reported on its last response."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    limit: int
    """Requests allowed per window."""
    remaining: int
    """Requests left in this window."""
    reset_at: datetime
    """When the window's budget refills."""


# Envelopes the API wraps objects in; internal, but their shape is the wire contract.


class _Pages(_Wire):
    first: str | None = None
    prev: str | None = None
    next: str | None = None
    last: str | None = None


class _Links(_Wire):
    pages: _Pages | None = None


class _Meta(_Wire):
    total: StrictInt | None = None
    """How many items the whole list holds."""


class ImagePage(_Wire):
    """One page of ``GET /v2/images``."""

    images: list[Image]
    links: _Links | None = None
    meta: _Meta | None = None


class ActionPage(_Wire):
    """One page of ``GET /v2/images/{id}/actions``."""

    actions: list[Action]
    links: _Links | None = None
    meta: _Meta | None = None


class RegionPage(_Wire):
    """One page of ``GET /v2/regions``."""

    regions: list[Region]
    links: _Links | None = None
    meta: _Meta | None = None


class ImageEnvelope(_Wire):
    """``{"image": {...}}``."""

    image: Image


class ActionEnvelope(_Wire):
    """``{"action": {...}}``, what the API sends for a single action."""

    action: Action


class ErrorBody(_Wire):
    """The API's error body."""

    id: str
    """A short error name, such as ``not_found``."""
    message: str
    """What went wrong, for people."""
    request_id: str | None = None
    """The server's id of the failed request."""


class JsonValidator(Generic[T]):
    """Validates JSON bytes into ``T``; the ``TypeAdapter`` behind it is built on first use.

    Building the five validators below at import cost about 15 ms that a program
    paid whether or not it listed anything; now each is built by the first call that
    needs it.
    """

    __slots__ = ("_adapter", "_config", "_type")

    def __init__(self, type_: Any, config: ConfigDict | None = None) -> None:
        self._type = type_
        self._config = config
        self._adapter: TypeAdapter[T] | None = None

    @property
    def adapter(self) -> TypeAdapter[T]:
        """The ``TypeAdapter``, built now if it was not yet."""
        adapter = self._adapter
        if adapter is None:
            adapter = self._adapter = TypeAdapter(self._type, config=self._config)
        return adapter

    def validate_json(self, data: str | bytes | bytearray) -> T:
        """Validate JSON text straight into ``T`` (raises ``pydantic.ValidationError``)."""
        adapter = self._adapter or self.adapter
        return adapter.validate_json(data)


# Validators straight from JSON bytes, one per envelope.
IMAGE_PAGE: JsonValidator[ImagePage] = JsonValidator(ImagePage)
ACTION_PAGE: JsonValidator[ActionPage] = JsonValidator(ActionPage)
REGION_PAGE: JsonValidator[RegionPage] = JsonValidator(RegionPage)
IMAGE_ENVELOPE: JsonValidator[ImageEnvelope] = JsonValidator(ImageEnvelope)
# The API wraps a single action in {"action": ...}; the spec's schema shows it bare.
ACTION_ANY: JsonValidator[ActionEnvelope | Action] = JsonValidator(
    ActionEnvelope | Action, config=ConfigDict(defer_build=True)
)
ERROR_BODY: JsonValidator[ErrorBody] = JsonValidator(ErrorBody)
ACCOUNT_TRANSFER: JsonValidator[AccountTransfer] = JsonValidator(AccountTransfer)
