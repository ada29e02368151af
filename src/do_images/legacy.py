"""A drop-in for code written against doboto 0.6.1's ``do.image`` (and ``do.action.info``).

``DO(token, url, agent)`` answers with what doboto answered: plain dicts of the API's
JSON as sent (key order and numbers untouched), lists of them, and ``None``, so
scripts, tests and Ansible modules that read, compare, serialise or change results
keep working. Each result is validated by the typed models first (a malformed answer
raises) and keeps the typed model as ``result.model``. The exception names are
doboto's, with doboto's attributes (``message``, ``result``, ``polling``, ``error``).

Where doboto was wrong, this stays right: an ``errored`` action raises instead of
being returned as a success; GETs are retried on 5xx and 429; a POST is never
blindly re-sent; a 404 on ``destroy`` is ``DOBOTONotFoundException``; ``str(exc)``
never raises; the token never goes over plain http to a host that is not loopback.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from ._client import Client
from ._effects import SyncSleep
from ._errors import (
    ActionFailedError,
    ActionTimeoutError,
    APIStatusError,
    DoImagesError,
    NotFoundError,
)
from ._models import (
    ACTION_ANY,
    Action,
    ActionEnvelope,
    ActionPage,
    Image,
    ImageEnvelope,
    ImagePage,
    JsonValidator,
)
from ._resources import ImageResource
from ._session import Session

__all__ = [
    "DO",
    "DOBOTOException",
    "DOBOTONotFoundException",
    "DOBOTOPollingException",
    "LegacyAction",
    "LegacyImage",
    "Result",
]

DOBOTOException = DoImagesError
"""Every error (doboto's base class); ``.message``, and ``.result`` from legacy calls."""
DOBOTONotFoundException = NotFoundError
"""404: no such image or action."""
DOBOTOPollingException = ActionTimeoutError
"""A wait that ran out of time; ``.polling`` (the last action, a dict) and ``.error``."""

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
_List = list  # the resources have a method called ``list``


class Result(dict[str, Any]):
    """A result as doboto gave it: a real ``dict`` of the API's JSON as sent.

    ``model`` is the typed ``Image`` or ``Action`` it was validated as.
    """

    __slots__ = ("model",)

    def __init__(self, raw: dict[str, Any], model: Image | Action) -> None:
        super().__init__(raw)
        self.model = model


class _KeepingSession(Session):
    """A session that also keeps, for each object it parses, the JSON it came from.

    ``raw(model)`` gives (and forgets) the JSON object a model was validated from;
    one store per thread, emptied when each legacy call starts.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._kept = threading.local()

    def forget(self) -> None:
        self._kept.by_id = {}

    def _store(self) -> dict[int, tuple[BaseModel, Any]]:
        store: dict[int, tuple[BaseModel, Any]] | None = getattr(self._kept, "by_id", None)
        if store is None:
            store = self._kept.by_id = {}
        return store

    def parse(self, adapter: JsonValidator[M], response: httpx.Response) -> M:
        parsed = super().parse(adapter, response)
        raw = json.loads(response.content)
        store = self._store()
        for model, obj in _objects(parsed, raw):
            store[id(model)] = (model, obj)
        return parsed

    def parse_action(self, response: httpx.Response) -> Action:
        return _unwrap(self.parse(ACTION_ANY, response))

    def raw(self, model: Image | Action) -> dict[str, Any]:
        kept = self._store().pop(id(model), None)
        if kept is None or kept[0] is not model:
            return model.model_dump()  # not parsed here (a model built by the caller)
        value: dict[str, Any] = kept[1]
        return value


def _unwrap(parsed: ActionEnvelope | Action) -> Action:
    return parsed.action if isinstance(parsed, ActionEnvelope) else parsed


def _objects(parsed: BaseModel, raw: Any) -> Iterator[tuple[BaseModel, Any]]:
    """Each image or action model in ``parsed`` with the JSON object it came from."""
    if isinstance(parsed, ImageEnvelope):
        yield parsed.image, raw["image"]
    elif isinstance(parsed, ActionEnvelope):
        yield parsed.action, raw["action"]
    elif isinstance(parsed, Action):
        yield parsed, raw
    elif isinstance(parsed, ImagePage):
        yield from zip(parsed.images, raw["images"], strict=True)
    elif isinstance(parsed, ActionPage):
        yield from zip(parsed.actions, raw["actions"], strict=True)


# ------------------------------------------------------------------ arguments


def _id(value: object, what: str = "id") -> int:
    """An id as doboto callers pass it: an ``int``, or a ``str`` of ASCII digits."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, str):
        raise ValueError(f"{what} {value[:40]!r} is not a number")
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int or a str of digits, not {type(value).__name__}")
    return value


def _id_or_slug(value: object) -> int | str:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value  # type: ignore[return-value]  # the typed client checks the rest


def _private(value: object) -> bool | None:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value  # type: ignore[return-value]


def _poll(value: object) -> float:
    """doboto raises a poll below 1 s to 1 s rather than refusing it."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 1:
        return 1.0
    return value  # type: ignore[return-value]


def _as_doboto(session: _KeepingSession, error: DoImagesError) -> DoImagesError:
    """Give ``error`` doboto's attributes: ``result`` (the body or the errored action as
    a dict), and for a timeout ``polling`` and ``error``."""
    result: Any = None
    if isinstance(error, ActionFailedError):
        result = session.raw(error.action)
    elif isinstance(error, APIStatusError):
        try:
            body = json.loads(error.body)
        except ValueError:
            body = None
        result = body if isinstance(body, dict) else None
    error.result = result  # type: ignore[attr-defined]
    if isinstance(error, ActionTimeoutError):
        error.polling = session.raw(error.action)  # type: ignore[attr-defined]
        error.error = error.__cause__  # type: ignore[attr-defined]
    return error


def _doboto_errors(method: Callable[..., R]) -> Callable[..., R]:
    @functools.wraps(method)
    def call(self: LegacyImage | LegacyAction, *args: Any, **kwargs: Any) -> R:
        self._session.forget()
        try:
            return method(self, *args, **kwargs)
        except DoImagesError as error:
            raise _as_doboto(self._session, error) from error.__cause__

    return call


# ------------------------------------------------------------------ resources


class LegacyImage:
    """doboto's ``do.image``: the same methods, arguments and dict results."""

    def __init__(self, image: ImageResource, session: _KeepingSession) -> None:
        self._image = image
        self._session = session

    def _result(self, model: Image | Action) -> Result:
        return Result(self._session.raw(model), model)

    @_doboto_errors
    def list(self, type: str | None = None, private: bool | str | None = None) -> list[Result]:
        """All, distribution (``type``), application or your own (``private=True``) images."""
        images = self._image.list(type=type, private=_private(private))  # type: ignore[arg-type]
        return [self._result(image) for image in images]

    @_doboto_errors
    def info(self, id_slug: int | str) -> Result:
        """One image by id (int or digits) or slug."""
        return self._result(self._image.info(_id_or_slug(id_slug)))

    @_doboto_errors
    def update(self, id: int | str, name: str) -> Result:
        """Rename an image."""
        return self._result(self._image.update(_id(id), name))

    @_doboto_errors
    def destroy(self, id: int | str) -> None:
        """Delete an image; ``DOBOTONotFoundException`` when there is none."""
        self._image.destroy(_id(id))

    @_doboto_errors
    def transfer(
        self, id: int | str, region: str, wait: bool = False, poll: float = 5, timeout: float = 300
    ) -> Result:
        """Copy an image to ``region``; with ``wait``, until the action completes."""
        action = self._image.transfer(_id(id), region, wait, _poll(poll), timeout)
        return self._result(action)

    @_doboto_errors
    def convert(
        self, id: int | str, wait: bool = False, poll: float = 5, timeout: float = 300
    ) -> Result:
        """Convert a backup to a snapshot; with ``wait``, until the action completes."""
        return self._result(self._image.convert(_id(id), wait, _poll(poll), timeout))

    @_doboto_errors
    def action_list(self, id: int | str) -> _List[Result]:
        """Every action of an image."""
        return [self._result(action) for action in self._image.action_list(_id(id))]

    @_doboto_errors
    def action_info(self, id: int | str, action_id: int | str) -> Result:
        """One action of an image."""
        return self._result(self._image.action_info(_id(id), _id(action_id, "action_id")))


class LegacyAction:
    """doboto's ``do.action``, as far as image code uses it: ``info(id)``."""

    def __init__(self, client: DO, session: _KeepingSession) -> None:
        self._client = client
        self._session = session

    @_doboto_errors
    def info(self, id: int | str) -> Result:
        """``GET /v2/actions/{id}``: any action of the account, which doboto polls."""
        session = self._session
        url = session.base_url.copy_with(
            path=session.base_url.path.rstrip("/") + f"/v2/actions/{_id(id)}"
        )
        action = self._client._run(session.call(session.request("GET", url)))
        model = session.parse_action(action)
        return Result(session.raw(model), model)


def _base_url(url: str) -> str:
    """doboto's ``url`` ends in ``/v2/``; ours is the host the ``/v2`` paths hang off."""
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    url = url.rstrip("/")
    return url[: -len("/v2")] if url.endswith("/v2") else url


class DO(Client):
    """doboto's ``DO(token, url, agent)``: ``do.image`` and ``do.action.info``."""

    _session_type = _KeepingSession

    def __init__(
        self,
        token: str | None = None,
        url: str = "https://api.digitalocean.com/v2/",
        agent: str = "DOBOTO",
        *,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 2,
        sleep: SyncSleep | None = None,
        clock: Callable[[], float] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            token,
            base_url=_base_url(url),
            timeout=timeout,
            max_retries=max_retries,
            sleep=sleep,
            clock=clock,
            transport=transport,
            page_concurrency=1,
        )
        session = self._session
        assert isinstance(session, _KeepingSession)
        session.replace_user_agent(agent)
        self._legacy_image = LegacyImage(super().image, session)
        self.action = LegacyAction(self, session)

    @property
    def image(self) -> LegacyImage:  # type: ignore[override]
        """doboto's ``do.image``: the same calls, results as dicts of the JSON as sent."""
        return self._legacy_image

    def _run(self, op: Any) -> httpx.Response:
        response: httpx.Response = self.image._image._run(op)
        return response
