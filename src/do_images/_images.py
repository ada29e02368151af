"""``ImageOps``: one generator per operation of the Images API, for both clients.

Each operation checks its arguments, builds its request through the ``Session``,
yields it (``_effects``) and parses the answer. POST reconciliation (finding the
action a POST with no answer may have started) and waiting live here too.
"""

from __future__ import annotations

import builtins
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal

import httpx
from typing_extensions import Self

from ._checks import (
    check_bool,
    check_email,
    check_id,
    check_id_or_slug,
    check_int,
    check_region,
    check_retries,
    check_str,
    check_tag_names,
    check_tags,
    check_team,
    check_url,
    check_wait,
    type_name,
)
from ._constants import CONCURRENT_PAGES_MIN_LATENCY, MAX_PER_PAGE
from ._effects import Op, Work
from ._errors import DoImagesError, NotFoundError
from ._models import (
    ACCOUNT_TRANSFER,
    ACTION_PAGE,
    IMAGE_ENVELOPE,
    IMAGE_PAGE,
    AccountTransfer,
    Action,
    Image,
    JsonValidator,
    RateLimit,
)
from ._paging import ListPage, Page, collect, page_of
from ._posting import start_action, wait_action
from ._session import Session

logger = logging.getLogger("do_images")

ImageListType = Literal["distribution", "application"]
OnUpdate = Callable[[Action], object]
_List = builtins.list  # the operations are called ``list``; the builtin under another name


def _optional_fields(**fields: str | None) -> dict[str, Any]:
    """The optional text fields of an image that were given (``description`` may be empty)."""
    body: dict[str, Any] = {}
    for name, value in fields.items():
        if value is not None:
            body[name] = check_str(value, name, empty=name == "description")
    return body


class OnImageOps:
    """Operations of another API over a client's ``ImageOps`` (``images``): its session,
    its retries and its requests, and ``with_retries`` that keeps the kind."""

    def __init__(self, images: ImageOps) -> None:
        self.images = images
        self.session = images.session

    def with_retries(self, max_retries: int | None) -> Self:
        """These operations with ``max_retries`` for one call (``None``: the client's)."""
        images = self.images.with_retries(max_retries)
        return self if images is self.images else type(self)(images)


class ImageOps:
    """One generator per operation of the Images API.

    ``max_retries`` overrides the client's setting for the operations of this
    instance (see ``with_retries``).
    """

    def __init__(self, session: Session, max_retries: int | None = None) -> None:
        self.session = session
        self.max_retries = max_retries

    def with_retries(self, max_retries: int | None) -> ImageOps:
        """These operations with ``max_retries`` for one call (``None``: the client's)."""
        if max_retries is None or max_retries == self.max_retries:
            return self
        return ImageOps(self.session, check_retries(max_retries))

    def send(self, request: httpx.Request) -> Op[httpx.Response]:
        """Send ``request`` with this instance's retries (a POST is never sent blindly twice)."""
        return self.session.call(request, max_retries=self.max_retries)

    def get(self, url: str | httpx.URL) -> Op[httpx.Response]:
        """``GET url`` with this instance's retries."""
        return self.session.call(self.session.request("GET", url), max_retries=self.max_retries)

    # -- lists

    def images_url(
        self,
        type: ImageListType | None,
        private: bool | None,
        tag_name: str | None,
        per_page: int = MAX_PER_PAGE,
    ) -> str:
        """The first page's URL of ``GET /v2/images`` with these filters."""
        params: dict[str, str | int] = {}
        if type is not None:
            if type not in ("distribution", "application"):
                raise ValueError(f"type must be 'distribution' or 'application', got {type!r}")
            params["type"] = type
        if private is not None:
            params["private"] = "true" if check_bool(private, "private") else "false"
        if tag_name is not None:
            params["tag_name"] = check_str(tag_name, "tag_name")
        params["per_page"] = check_int(per_page, "per_page", min=1, max=MAX_PER_PAGE)
        return str(self.session.images_url.copy_with(params=params))

    def actions_url(self, image_id: int) -> str:
        """The first page's URL of ``GET /v2/images/{id}/actions``."""
        url = httpx.URL(self.session.url(check_id(image_id), "actions"))
        return str(url.copy_with(params={"per_page": MAX_PER_PAGE}))

    def page(self, url: str | httpx.URL, adapter: JsonValidator[Any]) -> Op[Page[Any]]:
        """Fetch one page of a list, parsed with ``adapter``; its latency noted."""
        clock = self.session.clock
        sent = clock()
        response = yield from self.get(url)
        latency = clock() - sent
        # Parsing is most of a list's CPU time; as Work, it overlaps the next request.
        parsed: ListPage = yield Work(
            lambda: self.session.parse_page(adapter, response)
        )
        page = page_of(parsed)
        page.latency = latency
        return page

    def image_page(self, url: str | httpx.URL) -> Op[Page[Image]]:
        """Fetch one page of ``GET /v2/images``."""
        return self.page(url, IMAGE_PAGE)

    def action_page(self, url: str | httpx.URL) -> Op[Page[Action]]:
        """Fetch one page of ``GET /v2/images/{id}/actions``."""
        return self.page(url, ACTION_PAGE)

    def _rate_limit(self) -> RateLimit | None:
        return self.session.rate_limit

    def list(
        self,
        type: ImageListType | None,
        private: bool | None,
        tag_name: str | None,
        concurrency: int = 1,
        min_latency: float = CONCURRENT_PAGES_MIN_LATENCY,
    ) -> Op[_List[Image]]:
        """Every image, following every page (``concurrency`` pages at a time at most)."""
        first = self.images_url(type, private, tag_name)
        return (
            yield from collect(self.image_page, first, concurrency, self._rate_limit, min_latency)
        )

    def action_list(
        self,
        image_id: int,
        concurrency: int = 1,
        min_latency: float = CONCURRENT_PAGES_MIN_LATENCY,
    ) -> Op[_List[Action]]:
        """Every action of an image, following every page."""
        first = self.actions_url(image_id)
        return (
            yield from collect(self.action_page, first, concurrency, self._rate_limit, min_latency)
        )

    # -- single objects

    def info(self, id_slug: int | str) -> Op[Image]:
        """``GET /v2/images/{id or slug}``."""
        url = self.session.url(check_id_or_slug(id_slug))
        response = yield from self.get(url)
        return self.session.parse(IMAGE_ENVELOPE, response).image

    def update(
        self,
        image_id: int,
        name: str | None,
        distribution: str | None,
        description: str | None,
    ) -> Op[Image]:
        """``PUT /v2/images/{id}`` with only the fields given."""
        url = self.session.url(check_id(image_id))
        body = _optional_fields(name=name, distribution=distribution, description=description)
        if not body:
            raise ValueError("update needs at least one of name, distribution, description")
        response = yield from self.send(self.session.request("PUT", url, body))
        return self.session.parse(IMAGE_ENVELOPE, response).image

    def destroy(self, image_id: int) -> Op[None]:
        """``DELETE /v2/images/{id}``."""
        url = self.session.url(check_id(image_id))
        yield from self.send(self.session.request("DELETE", url))
        return None

    def create(
        self,
        name: str,
        url: str,
        region: str,
        distribution: str | None,
        description: str | None,
        tags: _List[str] | None,
    ) -> Op[Image]:
        """``POST /v2/images``: import a custom image."""
        body: dict[str, Any] = {
            "name": check_str(name, "name"),
            "url": check_url(url),
            "region": check_region(region),
            **_optional_fields(distribution=distribution, description=description),
        }
        if tags is not None:
            body["tags"] = check_tags(tags)
        # No re-send here: a second POST could import a second image. An ambiguous
        # failure raises UnknownOutcomeError from the session.
        request = self.session.request("POST", str(self.session.images_url), body)
        response = yield from self.send(request)
        return self.session.parse_posted(IMAGE_ENVELOPE, response).image

    # -- actions

    def _post_action(
        self,
        image_id: int,
        body: dict[str, Any],
        *,
        wait: bool,
        poll: float,
        timeout: float,
    ) -> Op[Action]:
        check_id(image_id)
        check_bool(wait, "wait")
        poll, timeout = check_wait(poll, timeout)
        action = yield from self.start_action(image_id, body)
        if wait:
            action = yield from self._wait(action, poll, timeout, None)
        return action

    def start_action(self, image_id: int, body: dict[str, Any]) -> Op[Action]:
        """POST an image action; after an ambiguous failure, find it before sending again
        (``_posting.start_action``): sent once more only if the image's actions show
        none, and only if retries are allowed. One call never starts two actions.
        """
        url = self.session.url(check_id(image_id), "actions")
        return (
            yield from start_action(
                self.session,
                send=self.send,
                get=self.get,
                post_url=url,
                list_url=self.actions_url(image_id),
                body=body,
                resends=1 if self._retries > 0 else 0,
            )
        )

    @property
    def _retries(self) -> int:
        return self.session.max_retries if self.max_retries is None else self.max_retries

    def transfer(
        self, image_id: int, region: str, *, wait: bool, poll: float, timeout: float
    ) -> Op[Action]:
        """``POST /v2/images/{id}/actions`` ``{"type": "transfer", "region": ...}``."""
        body = {"type": "transfer", "region": check_region(region)}
        return (yield from self._post_action(image_id, body, wait=wait, poll=poll, timeout=timeout))

    def convert(self, image_id: int, *, wait: bool, poll: float, timeout: float) -> Op[Action]:
        """``POST /v2/images/{id}/actions`` ``{"type": "convert"}``."""
        body = {"type": "convert"}
        return (yield from self._post_action(image_id, body, wait=wait, poll=poll, timeout=timeout))

    def action_info(self, image_id: int, action_id: int) -> Op[Action]:
        """``GET /v2/images/{id}/actions/{action_id}``."""
        url = self.session.url(check_id(image_id), "actions", check_id(action_id, "action id"))
        response = yield from self.get(url)
        return self.session.parse_action(response)

    def wait(
        self, action: Action, *, poll: float, timeout: float, on_update: OnUpdate | None
    ) -> Op[Action]:
        """Poll ``action`` until it is completed (or errored, or time runs out)."""
        if not isinstance(action, Action):
            raise TypeError(f"action must be an Action, not {type_name(action)}")
        if action.resource_type is not None and action.resource_type != "image":
            raise ValueError(
                f"action {action.id} ({action.type}) acts on {action.resource_type} "
                f"{action.resource_id}, not on an image: do.image.wait polls image actions"
                + (
                    "; wait for a droplet's snapshot with do.droplet.snapshot_image(action)"
                    if action.resource_type == "droplet"
                    else ""
                )
            )
        if action.resource_id is None:
            raise ValueError(f"action {action.id} has no resource_id to poll")
        check_id(action.resource_id, "action.resource_id")
        if on_update is not None and not callable(on_update):
            raise TypeError("on_update must be callable")
        poll, timeout = check_wait(poll, timeout)
        return (yield from self._wait(action, poll, timeout, on_update))

    def _wait(
        self, action: Action, poll: float, timeout: float, on_update: OnUpdate | None
    ) -> Op[Action]:
        """Poll until done (``poll_until``): transient poll failures wait for the next poll.

        Every error raised carries the action as last seen (``.action``); the timeout
        carries the last poll failure, if the last poll failed, as its ``__cause__``.
        """
        return (
            yield from wait_action(
                self.session,
                self.get,
                action,
                poll=poll,
                timeout=timeout,
                on_update=on_update,
                untyped="image",
            )
        )

    # -- tags

    def _tag_request(self, method: str, tag: str, image_id: int) -> httpx.Request:
        body = {"resources": [{"resource_id": str(image_id), "resource_type": "image"}]}
        return self.session.request(method, self.session.api_url("tags", tag, "resources"), body)

    def _assign(self, request: httpx.Request) -> Op[httpx.Response]:
        # Assigning a tag twice changes nothing: retried like a PUT, answer or not.
        return self.session.call(request, max_retries=self.max_retries, idempotent=True)

    def tag(self, image_id: int, tags: Sequence[str]) -> Op[None]:
        """``POST /v2/tags/{tag}/resources`` for each tag; a tag not there yet is created.

        A 404 means the tag or the image does not exist: the image is looked up (one
        ``GET``, once a call), so a missing image raises ``NotFoundError`` before any tag
        is made; then the tag is created (``POST /v2/tags``) and the assignment sent once
        more. Tagging twice is no error. Names are sent exactly as given.
        """
        image_id = check_id(image_id)
        names = check_tag_names(tags)
        image_seen = False
        for name in names:
            request = self._tag_request("POST", name, image_id)
            try:
                yield from self._assign(request)
                continue
            except NotFoundError:
                logger.info("tag %r does not exist yet; creating it", name)
            if not image_seen:
                yield from self.info(image_id)  # no such image: 404 here, no stray tag
                image_seen = True
            yield from self._create_tag(name)
            yield from self._assign(request)
        return None

    def _create_tag(self, name: str) -> Op[None]:
        """``POST /v2/tags``; a tag kept under another capitalisation is an error that
        names it, since the API only takes a tag's canonical name."""
        request = self.session.request("POST", self.session.api_url("tags"), {"name": name})
        response = yield from self.session.call(
            request, max_retries=self.max_retries, idempotent=True
        )
        canonical = _tag_name(response.content)
        if canonical is not None and canonical != name and canonical.casefold() == name.casefold():
            raise DoImagesError(
                f"tag {name!r} exists as {canonical!r}: tag names keep the capitalisation "
                f"they were created with; use {canonical!r}"
            )

    def untag(self, image_id: int, tags: Sequence[str]) -> Op[None]:
        """``DELETE /v2/tags/{tag}/resources`` for each tag; an absent tag is no error."""
        image_id = check_id(image_id)
        names = check_tag_names(tags)
        for name in names:
            try:
                yield from self.send(self._tag_request("DELETE", name, image_id))
            except NotFoundError:
                logger.info("tag %r does not exist; nothing to remove", name)
        return None

    # -- account transfers

    def transfer_to_account(
        self, image: Image | int, email: str | None, team: str | None
    ) -> Op[AccountTransfer]:
        """``POST /v2/images/{id}/account_transfer`` to an email or a team, snapshots only.

        ``image`` as an ``Image`` is checked as given; an id costs one ``GET``. The POST
        has no lookup, so an ambiguous failure raises ``UnknownOutcomeError`` and is
        never sent again.
        """
        if (email is None) == (team is None):
            raise ValueError("pass exactly one of email (an account) or team (a team UUID)")
        body = (
            {"recipient_email": check_email(email)}
            if email is not None
            else {"recipient_uuid": check_team(team)}
        )
        if isinstance(image, Image):
            image_id = check_id(image.id)
        else:
            image_id = check_id(image)
            image = yield from self.info(image_id)
        _check_transferable(image)
        url = self.session.url(image_id, "account_transfer")
        response = yield from self.send(self.session.request("POST", url, body))
        return self.session.parse_posted(ACCOUNT_TRANSFER, response)

    def _transfer_step(
        self, step: str, image_id: int, transfer_id: int, extra: dict[str, Any]
    ) -> Op[None]:
        url = self.session.url(check_id(image_id), "account_transfer", step)
        body = {"transfer_id": check_id(transfer_id, "transfer id"), **extra}
        yield from self.send(self.session.request("POST", url, body))
        return None

    def accept_account_transfer(self, image_id: int, transfer_id: int, team: str) -> Op[None]:
        """``POST /v2/images/{id}/account_transfer/accept`` as the recipient's team."""
        return self._transfer_step(
            "accept", image_id, transfer_id, {"recipient_uuid": check_team(team)}
        )

    def cancel_account_transfer(self, image_id: int, transfer_id: int) -> Op[None]:
        """``POST /v2/images/{id}/account_transfer/cancel``, as the sender."""
        return self._transfer_step("cancel", image_id, transfer_id, {})

    def decline_account_transfer(self, image_id: int, transfer_id: int) -> Op[None]:
        """``POST /v2/images/{id}/account_transfer/decline``, as the recipient."""
        return self._transfer_step("decline", image_id, transfer_id, {})


def _tag_name(content: bytes) -> str | None:
    """The ``tag.name`` of a ``POST /v2/tags`` answer, if it has one."""
    try:
        name = json.loads(content)["tag"]["name"]
    except (ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None


def _check_transferable(image: Image) -> None:
    """Only your own snapshots may go to another account (the API says so too)."""
    if image.public or str(image.type) != "snapshot":
        kind = "public image" if image.public else f"{image.type or 'image of no type'}"
        raise ValueError(
            f"image {image.id} is a {kind}: only snapshots can be transferred to another account"
        )
