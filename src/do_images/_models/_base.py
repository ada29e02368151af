"""What every model of the API's objects shares: strict wire types, timestamps, open
enums, immutability, dict-style reading, the list envelopes, the error body and the
validators straight from JSON bytes."""

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
    StrictInt,
    TypeAdapter,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

T = TypeVar("T")


class _StrEnum(str, enum.Enum):
    """A ``str`` enum that prints as its value (``str(ImageType.snapshot) == "snapshot"``)."""

    def __str__(self) -> str:
        value: str = self.value
        return value


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

    Building the validators (one per envelope, beside each model) at import cost about
    15 ms that a program paid whether or not it listed anything; now each is built by
    the first call that needs it.
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


ERROR_BODY: JsonValidator[ErrorBody] = JsonValidator(ErrorBody)
