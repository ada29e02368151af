"""Every image operation, written once for both clients.

``Session`` holds a client's settings and its last rate limit and turns a request
into a response (retrying where that is safe); ``ImageOps`` holds one generator per
API operation. Both only *yield* effects (see ``_core``); the clients run them.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from ._core import (
    ACTION_PAGE,
    IMAGE_ENVELOPE,
    IMAGE_PAGE,
    MAX_PER_PAGE,
    MAX_SERVER_WAIT,
    NOT_SENT,
    PERMANENT,
    Gather,
    Op,
    Page,
    PageWalk,
    Sleep,
    _body,
    action_matches,
    backoff,
    check_base_url,
    check_id,
    check_id_or_slug,
    check_region,
    check_retries,
    check_str,
    check_tags,
    check_url,
    check_wait,
    cut_text,
    error_from_response,
    logger,
    matching_since,
    page_concurrency,
    page_of,
    parse,
    parse_action,
    parse_rate_limit,
    plan_pages,
    server_wait,
    wait_step,
)
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    DoImagesError,
    UnknownOutcomeError,
)
from ._models import Action, ActionPage, Image, ImagePage, RateLimit

ImageListType = Literal["distribution", "application"]
OnUpdate = Callable[[Action], object]


def _timeout_extension(timeout: float | httpx.Timeout) -> dict[str, float | None]:
    if isinstance(timeout, httpx.Timeout):
        return timeout.as_dict()
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return httpx.Timeout(float(timeout), connect=min(5.0, float(timeout))).as_dict()


class Session:
    """A client's settings, its last ``RateLimit``, and the send-with-retries operation."""

    def __init__(
        self,
        *,
        token: str,
        base_url: str | httpx.URL,
        timeout: float | httpx.Timeout,
        max_retries: int,
        user_agent: str,
        clock: Callable[[], float],
        jitter: Callable[[], float],
    ) -> None:
        check_retries(max_retries)
        self.base_url = check_base_url(base_url)
        images_path = self.base_url.path.rstrip("/") + "/v2/images"
        self.images_url = self.base_url.copy_with(path=images_path)
        self._images = str(self.images_url)
        self.max_retries = max_retries
        self.clock = clock
        self.jitter = jitter
        self.rate_limit: RateLimit | None = None
        self._extensions = {"timeout": _timeout_extension(timeout)}
        self._headers = httpx.Headers(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": user_agent,
            }
        )
        # Kept only to blank it out of error texts a server might echo it into.
        self._secret = token
        self._json_headers = self._headers.copy()
        self._json_headers["Content-Type"] = "application/json"

    def __repr__(self) -> str:
        return f"<Session base_url={str(self.base_url)!r}>"

    @property
    def secret(self) -> str:
        """The token, only to blank it out of error texts and bodies."""
        return self._secret

    def __reduce__(self) -> Any:
        raise TypeError("a do_images client cannot be pickled (it holds a token)")

    # -- building requests

    def url(self, *segments: int | str) -> str:
        """``{base}/v2/images/{segment}/...``, each segment percent-encoded into its own."""
        return "/".join([self._images, *(quote(str(segment), safe="") for segment in segments)])

    def request(
        self, method: str, url: str | httpx.URL, body: dict[str, Any] | None = None
    ) -> httpx.Request:
        """An ``httpx.Request`` with this client's headers and timeouts."""
        if body is None:
            return httpx.Request(method, url, headers=self._headers, extensions=self._extensions)
        return httpx.Request(
            method,
            url,
            headers=self._json_headers,
            content=_body(body),
            extensions=self._extensions,
        )

    # -- sending

    def call(self, request: httpx.Request, *, max_retries: int | None = None) -> Op[httpx.Response]:
        """Send ``request``; retry what is safe to retry; return a success or raise.

        GET, PUT and DELETE are retried after connection errors, timeouts, 429 and
        5xx. POST is not idempotent here, so it is retried only when the request
        provably never reached the server (connect error or timeout, no pooled
        connection free) or the server refused it with 429; any other failure of a
        POST raises ``UnknownOutcomeError`` (its cause is the failure itself).

        The wait before a retry is the server's (``Retry-After``, else the budget's
        reset when none is left), or the jittered back-off; a server-directed wait
        above ``MAX_SERVER_WAIT`` is not slept but raised at once. A DELETE that
        gets 404 after an attempt that may have reached the server has succeeded.
        Errors carry the number of attempts made.
        """
        retries = self.max_retries if max_retries is None else max_retries
        idempotent = request.method != "POST"
        maybe_applied = False  # an earlier attempt may have reached the server
        attempt = 0
        while True:
            attempt += 1
            error: DoImagesError
            delay: float | None = None
            try:
                response: httpx.Response = yield request
            except httpx.RequestError as exc:
                error = self._transport_error(request, exc, attempt)
                sent = not isinstance(exc, (*NOT_SENT, *PERMANENT))
                retryable = isinstance(exc, NOT_SENT) or (
                    idempotent and sent and isinstance(exc, httpx.TransportError)
                )
            else:
                rate_limit = parse_rate_limit(response.headers)
                if rate_limit is not None:
                    # One reference assignment: concurrent requests never tear it.
                    self.rate_limit = rate_limit
                status = response.status_code
                logger.debug("%s %s -> %d", request.method, request.url.path, status)
                if status < 300:
                    return response
                if status == 404 and request.method == "DELETE" and maybe_applied:
                    logger.info(
                        "DELETE %s: 404 after an attempt that may have deleted it; done",
                        request.url.path,
                    )
                    return response
                sent = status >= 500
                retryable = status == 429 or (sent and idempotent)
                if retryable:
                    delay = server_wait(response, rate_limit)
                error = error_from_response(
                    response, rate_limit, attempt, secret=self._secret, retry_after=delay
                )
                if delay is not None and delay > MAX_SERVER_WAIT:
                    raise error
            maybe_applied = maybe_applied or sent
            if not retryable or attempt > retries:
                if sent and not idempotent:
                    raise UnknownOutcomeError(
                        f"{request.method} {request.url.path} may or may not have taken effect: "
                        f"{error}",
                        attempts=attempt,
                    ) from error
                raise error
            if delay is None:
                delay = backoff(attempt - 1, self.jitter)
            logger.info(
                "%s %s: %s; retry %d of %d in %.2f s",
                request.method,
                request.url.path,
                error,
                attempt,
                retries,
                delay,
            )
            yield Sleep(delay)

    def _transport_error(
        self, request: httpx.Request, exc: httpx.RequestError, attempt: int
    ) -> APIConnectionError:
        """The typed error for a request that got no response (its cause is ``exc``)."""
        cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        detail = cut_text(str(exc), self._secret)[:200]
        error = cls(
            f"{request.method} {request.url.path} failed ({type(exc).__name__}"
            f"{': ' + detail if detail else ''}) after {attempt} attempt(s)",
            attempts=attempt,
        )
        logger.debug("%s", error)
        error.__cause__ = self._safe_cause(exc)
        return error

    def _safe_cause(self, exc: httpx.RequestError) -> BaseException:
        """``exc`` to chain as a cause, or a redacted stand-in if its chain shows the token."""
        link: BaseException | None = exc
        for _ in range(16):  # chains are short; a cyclic one must not hang us
            if link is None:
                return exc
            if self._secret in str(link) or self._secret in repr(link.args):
                break
            link = link.__cause__ or link.__context__
        stand_in = type(exc).__new__(type(exc))
        Exception.__init__(stand_in, cut_text(str(exc), self._secret))
        return stand_in


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

    def _call(self, request: httpx.Request) -> Op[httpx.Response]:
        return self.session.call(request, max_retries=self.max_retries)

    def _get(self, url: str | httpx.URL) -> Op[httpx.Response]:
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
            if not isinstance(private, bool):
                raise TypeError(f"private must be a bool, not {builtins_type(private)}")
            params["private"] = "true" if private else "false"
        if tag_name is not None:
            params["tag_name"] = check_str(tag_name, "tag_name")
        if isinstance(per_page, bool) or not isinstance(per_page, int):
            raise TypeError(f"per_page must be an int, not {builtins_type(per_page)}")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1 to {MAX_PER_PAGE}, got {per_page}")
        params["per_page"] = per_page
        return str(self.session.images_url.copy_with(params=params))

    def actions_url(self, image_id: int) -> str:
        """The first page's URL of ``GET /v2/images/{id}/actions``."""
        url = httpx.URL(self.session.url(check_id(image_id), "actions"))
        return str(url.copy_with(params={"per_page": MAX_PER_PAGE}))

    def walk(self, first_url: str) -> PageWalk:
        """A guard for following the next links of a list starting at ``first_url``."""
        walk = PageWalk(origin=httpx.URL(first_url))
        walk.admit(first_url)
        return walk

    def page(self, url: str | httpx.URL, adapter: TypeAdapter[Any]) -> Op[Page[Any]]:
        """Fetch one page of a list."""
        response = yield from self._get(url)
        parsed: ImagePage | ActionPage = parse(adapter, response, self.session.secret)
        return page_of(parsed)

    def _all(
        self, first_url: str, adapter: TypeAdapter[Any], concurrency: int
    ) -> Op[builtins.list[Any]]:
        """Every item of a list, in order.

        With ``concurrency`` above 1 and a first page that says where the rest are
        (``plan_pages``), the remaining pages are fetched together, up to
        ``page_concurrency()`` at a time; a page that fails fails the whole list.
        Otherwise, and after the planned pages if the last one still links on,
        the next links are followed one by one.
        """
        walk = self.walk(first_url)
        items: builtins.list[Any] = []
        page: Page[Any] = yield from self.page(first_url, adapter)
        items.extend(page.items)
        plan = plan_pages(walk, page) if concurrency > 1 else None
        if plan is not None:
            urls = [url for url in map(walk.admit, plan.urls()) if url is not None]
            pages: builtins.list[Page[Any]] = yield Gather(
                [self.page(url, adapter) for url in urls],
                width=lambda: page_concurrency(concurrency, self.session.rate_limit),
            )
            for page in pages:
                items.extend(page.items)
        url = walk.admit(page.next_url)
        while url is not None:
            page = yield from self.page(url, adapter)
            items.extend(page.items)
            url = walk.admit(page.next_url)
        return items

    def list(
        self,
        type: ImageListType | None,
        private: bool | None,
        tag_name: str | None,
        concurrency: int = 1,
    ) -> Op[builtins.list[Image]]:
        """Every image, following every page (``concurrency`` pages at a time at most)."""
        first = self.images_url(type, private, tag_name)
        return (yield from self._all(first, IMAGE_PAGE, concurrency))

    def action_list(self, image_id: int, concurrency: int = 1) -> Op[builtins.list[Action]]:
        """Every action of an image, following every page."""
        first = self.actions_url(image_id)
        return (yield from self._all(first, ACTION_PAGE, concurrency))

    # -- single objects

    def info(self, id_slug: int | str) -> Op[Image]:
        """``GET /v2/images/{id or slug}``."""
        url = self.session.url(check_id_or_slug(id_slug))
        response = yield from self._get(url)
        return parse(IMAGE_ENVELOPE, response, self.session.secret).image

    def update(
        self,
        image_id: int,
        name: str | None,
        distribution: str | None,
        description: str | None,
    ) -> Op[Image]:
        """``PUT /v2/images/{id}`` with only the fields given."""
        url = self.session.url(check_id(image_id))
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = check_str(name, "name")
        if distribution is not None:
            body["distribution"] = check_str(distribution, "distribution")
        if description is not None:
            body["description"] = check_str(description, "description", empty=True)
        if not body:
            raise ValueError("update needs at least one of name, distribution, description")
        response = yield from self._call(self.session.request("PUT", url, body))
        return parse(IMAGE_ENVELOPE, response, self.session.secret).image

    def destroy(self, image_id: int) -> Op[None]:
        """``DELETE /v2/images/{id}``."""
        url = self.session.url(check_id(image_id))
        yield from self._call(self.session.request("DELETE", url))
        return None

    def create(
        self,
        name: str,
        url: str,
        region: str,
        distribution: str | None,
        description: str | None,
        tags: builtins.list[str] | None,
    ) -> Op[Image]:
        """``POST /v2/images``: import a custom image."""
        body: dict[str, Any] = {
            "name": check_str(name, "name"),
            "url": check_url(url),
            "region": check_region(region),
        }
        if distribution is not None:
            body["distribution"] = check_str(distribution, "distribution")
        if description is not None:
            body["description"] = check_str(description, "description", empty=True)
        if tags is not None:
            body["tags"] = check_tags(tags)
        # No re-send here: a second POST could import a second image. An ambiguous
        # failure raises UnknownOutcomeError from the session.
        request = self.session.request("POST", str(self.session.images_url), body)
        response = yield from self._call(request)
        return parse(IMAGE_ENVELOPE, response, self.session.secret).image

    # -- actions

    def _post_action(
        self,
        image_id: int,
        body: dict[str, Any],
        wait: bool,
        poll: float,
        timeout: float,
    ) -> Op[Action]:
        url = self.session.url(check_id(image_id), "actions")
        if not isinstance(wait, bool):
            raise TypeError(f"wait must be a bool, not {builtins_type(wait)}")
        poll, timeout = check_wait(poll, timeout)
        action = yield from self._start_action(image_id, url, body)
        if wait:
            action = yield from self._wait(action, poll, timeout, None)
        return action

    def _start_action(self, image_id: int, url: str, body: dict[str, Any]) -> Op[Action]:
        """POST an action; after an ambiguous failure, find it before sending again.

        When the POST may have reached the API but no answer came back, the image's
        actions are searched for one of the same type (and region, for a transfer)
        started no earlier than this call; that one is returned. Only when there is
        none is the POST sent once more (if retries are allowed), and after a second
        ambiguous failure the search is the last word: one call never starts two
        actions.
        """
        request = self.session.request("POST", url, body)
        started = self.session.clock()
        attempts = 0
        sends_left = 1 if self._retries > 0 else 0
        while True:
            try:
                response = yield from self._call(request)
            except UnknownOutcomeError as unknown:
                attempts += unknown.attempts
                # Give a slow commit time to become visible before looking.
                yield Sleep(backoff(0, self.session.jitter))
                try:
                    found = yield from self._find_action(image_id, body, started)
                except DoImagesError as lookup_error:
                    raise UnknownOutcomeError(
                        f"{unknown.message}; looking for the action failed too: {lookup_error}",
                        attempts=attempts,
                    ) from unknown.__cause__
                if found is not None:
                    logger.info(
                        "POST %s: found action %d it started; not sending again",
                        request.url.path,
                        found.id,
                    )
                    return found
                if sends_left == 0:
                    raise UnknownOutcomeError(
                        f"{unknown.message}; no matching action found after {attempts} "
                        "attempt(s), but one may still appear: look before sending again",
                        attempts=attempts,
                    ) from unknown.__cause__
                sends_left -= 1
                logger.info("POST %s: no action started; sending once more", request.url.path)
                continue
            return parse_action(response, self.session.secret)

    @property
    def _retries(self) -> int:
        return self.session.max_retries if self.max_retries is None else self.max_retries

    def _find_action(
        self, image_id: int, body: dict[str, Any], started: float
    ) -> Op[Action | None]:
        """The earliest action matching ``body`` started since ``started`` (session clock)."""
        first = self.actions_url(image_id)
        walk = self.walk(first)
        url: str | httpx.URL | None = first
        since = None
        matches: builtins.list[Action] = []
        while url is not None:
            response = yield from self._get(url)
            if since is None:
                since = matching_since(response, self.session.clock() - started)
            page = page_of(parse(ACTION_PAGE, response, self.session.secret))
            matches.extend(action for action in page.items if action_matches(action, body, since))
            url = walk.admit(page.next_url)
        # Of several candidates, the one started first is the one closest to our POST.
        return min(matches, key=lambda action: (action.started_at, action.id), default=None)

    def transfer(
        self, image_id: int, region: str, wait: bool, poll: float, timeout: float
    ) -> Op[Action]:
        """``POST /v2/images/{id}/actions`` ``{"type": "transfer", "region": ...}``."""
        body = {"type": "transfer", "region": check_region(region)}
        return (yield from self._post_action(image_id, body, wait, poll, timeout))

    def convert(self, image_id: int, wait: bool, poll: float, timeout: float) -> Op[Action]:
        """``POST /v2/images/{id}/actions`` ``{"type": "convert"}``."""
        return (yield from self._post_action(image_id, {"type": "convert"}, wait, poll, timeout))

    def action_info(self, image_id: int, action_id: int) -> Op[Action]:
        """``GET /v2/images/{id}/actions/{action_id}``."""
        url = self.session.url(check_id(image_id), "actions", check_id(action_id, "action id"))
        response = yield from self._get(url)
        return parse_action(response, self.session.secret)

    def wait(
        self, action: Action, poll: float, timeout: float, on_update: OnUpdate | None
    ) -> Op[Action]:
        """Poll ``action`` until it is completed (or errored, or time runs out)."""
        if not isinstance(action, Action):
            raise TypeError(f"action must be an Action, not {builtins_type(action)}")
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
        clock = self.session.clock
        deadline = clock() + timeout
        image_id = check_id(action.resource_id, "action.resource_id")
        while True:
            delay = wait_step(action, remaining=deadline - clock(), poll=poll, timeout=timeout)
            if delay is None:
                return action
            yield Sleep(delay)
            action = yield from self.action_info(image_id, action.id)
            if on_update is not None:
                on_update(action)


def builtins_type(value: object) -> str:
    """The type name of ``value``, for error messages."""
    return type(value).__name__
