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
from typing import Annotated, Any, Literal

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

__all__ = [
    "Action",
    "ActionStatus",
    "ActionType",
    "Image",
    "ImageStatus",
    "ImageType",
    "RateLimit",
    "Region",
]


class ImageType(str, enum.Enum):
    """The kind of an image (the ``type`` attribute, not the ``type`` list filter)."""

    base = "base"
    snapshot = "snapshot"
    backup = "backup"
    custom = "custom"
    admin = "admin"

    def __str__(self) -> str:
        return self.value


class ImageStatus(str, enum.Enum):
    """The state of an image; custom images start as ``NEW``."""

    NEW = "NEW"
    available = "available"
    pending = "pending"
    deleted = "deleted"
    retired = "retired"

    def __str__(self) -> str:
        return self.value


class ActionStatus(str, enum.Enum):
    """The state of an image action."""

    in_progress = "in-progress"
    completed = "completed"
    errored = "errored"

    def __str__(self) -> str:
        return self.value


class ActionType(str, enum.Enum):
    """The image actions this API offers."""

    transfer = "transfer"
    convert = "convert"

    def __str__(self) -> str:
        return self.value


# Wire types are checked strictly: lax parsing would turn "123" into 123, "true" into
# True or 1415139782 into a date, so a mistyped field would be accepted and
# model_dump() would no longer return what the API sent.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339_text(value: object) -> object:
    """Let through RFC 3339 date-time text (and ``datetime``s); refuse numbers and the rest."""
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        return value
    raise ValueError("expected an RFC 3339 date-time string such as '2014-11-04T22:23:02Z'")


class _RFC3339InRust:
    """From JSON, check the RFC 3339 shape and parse it without calling back into Python.

    The ``BeforeValidator`` above is a Python call per timestamp; from JSON, the same
    pattern checked by pydantic-core's own regex, followed by its datetime parser,
    accepts and refuses exactly the same texts at a third of the cost of a whole
    image's validation less. Python input (``model_validate``) keeps the validator
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


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), _RFC3339InRust]


# Unions are tried left to right so a known value becomes the enum member and an
# unknown one stays a plain ``str`` instead of failing validation.
def _open() -> Any:
    return Field(default=None, union_mode="left_to_right")


class _APIModel(BaseModel):
    """Base of the response models: immutable, open to new fields, dict-readable."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

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

    # Read-only mapping interface for code written against plain dicts.

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

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.model_dump())

    def __len__(self) -> int:
        return len(self.model_dump())


class Image(_APIModel):
    """An image: a distribution, application, snapshot, backup or custom image."""

    id: StrictInt
    name: str | None = None
    type: ImageType | str | None = _open()
    distribution: str | None = None
    slug: str | None = None
    public: StrictBool | None = None
    regions: list[str] | None = None
    created_at: Timestamp | None = None
    min_disk_size: StrictInt | None = None
    size_gigabytes: StrictFloat | None = None
    description: str | None = None
    tags: list[str] | None = None
    status: ImageStatus | str | None = _open()
    error_message: str | None = None


class Region(_APIModel):
    """The region object embedded in an action."""

    name: str
    slug: str
    features: list[str]
    available: StrictBool
    sizes: list[str]


class Action(_APIModel):
    """An image action (transfer or convert) and its progress."""

    id: StrictInt
    status: ActionStatus | str = Field(union_mode="left_to_right")
    type: ActionType | str = Field(union_mode="left_to_right")
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    resource_id: StrictInt | None = None
    resource_type: str | None = None
    region: Region | None = None
    region_slug: str | None = None


class RateLimit(BaseModel):
    """The request budget the API reported on its last response."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    limit: int
    remaining: int
    reset_at: datetime


# Envelopes the API wraps objects in; internal, but their shape is the wire contract.


class _Pages(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    first: str | None = None
    prev: str | None = None
    next: str | None = None
    last: str | None = None


class _Links(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    pages: _Pages | None = None


class _Meta(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    total: StrictInt | None = None


class ImagePage(BaseModel):
    """One page of ``GET /v2/images``."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    images: list[Image]
    links: _Links | None = None
    meta: _Meta | None = None


class ActionPage(BaseModel):
    """One page of ``GET /v2/images/{id}/actions``."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    actions: list[Action]
    links: _Links | None = None
    meta: _Meta | None = None


class ImageEnvelope(BaseModel):
    """``{"image": {...}}``."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    image: Image


class ActionEnvelope(BaseModel):
    """``{"action": {...}}``, what the API sends for a single action."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    action: Action


class ErrorBody(BaseModel):
    """The API's error body."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    id: str
    message: str
    request_id: str | None = None


# Validators straight from JSON bytes, one per envelope.
IMAGE_PAGE = TypeAdapter(ImagePage)
ACTION_PAGE = TypeAdapter(ActionPage)
IMAGE_ENVELOPE = TypeAdapter(ImageEnvelope)
# The API wraps a single action in {"action": ...}; the spec's schema shows it bare.
ACTION_ANY: TypeAdapter[ActionEnvelope | Action] = TypeAdapter(
    ActionEnvelope | Action, config=ConfigDict(defer_build=True)
)
ERROR_BODY = TypeAdapter(ErrorBody)
