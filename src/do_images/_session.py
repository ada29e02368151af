"""``Session``: a client's request policy, not a connection.

It holds the settings every request needs (base URL, headers, timeouts, retries),
the last rate limit seen, and the send-with-retries operation. It yields effects
(``_effects``) and never does I/O itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from ._budget import RequestBudget
from ._checks import check_base_url, check_retries, timeout_extension
from ._effects import Op, Sleep
from ._error_map import cut_text, error_from_response, request_id_of, transport_error
from ._errors import DoImagesError, ResponseValidationError, UnknownOutcomeError
from ._gc import collector_paused
from ._models import ACTION_ANY, Action, ActionEnvelope, JsonValidator, RateLimit
from ._retry import Raise, Return, decide, may_have_applied, parse_rate_limit, reset_wait

logger = logging.getLogger("do_images")

M = TypeVar("M", bound=BaseModel)


def json_body(payload: Mapping[str, Any]) -> bytes:
    """A request body: compact JSON, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def parse(adapter: JsonValidator[M], response: httpx.Response, *, secret: str | None) -> M:
    """Validate a success body straight from bytes into its model.

    If it does not fit, the error carries the start of the body, with ``secret``
    (the token) blanked out of it. Operations call ``Session.parse``, which passes
    the token itself; ``secret`` has no default so no other caller can forget it.
    """
    try:
        return adapter.validate_json(response.content)
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)[:5]
        )
        raise ResponseValidationError(
            f"unexpected response body for {response.request.method} "
            f"{response.request.url.path}: {errors}",
            body=cut_text(response.content, secret),
            request_id=request_id_of(response),
        ) from None


def parse_action(response: httpx.Response, *, secret: str | None) -> Action:
    """An action, wrapped in ``{"action": ...}`` or bare."""
    parsed: ActionEnvelope | Action = parse(ACTION_ANY, response, secret=secret)
    return parsed.action if isinstance(parsed, ActionEnvelope) else parsed


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
        requests_per_minute: int | None = None,
    ) -> None:
        check_retries(max_retries)
        self.budget = RequestBudget(requests_per_minute, clock)
        self.base_url = check_base_url(base_url)
        v2_path = self.base_url.path.rstrip("/") + "/v2"
        self.images_url = self.base_url.copy_with(path=v2_path + "/images")
        self._images = str(self.images_url)
        self._v2 = str(self.base_url.copy_with(path=v2_path))
        self.max_retries = max_retries
        self.clock = clock
        self.jitter = jitter
        self.rate_limit: RateLimit | None = None
        self._extensions = {"timeout": timeout_extension(timeout)}
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

    def __reduce__(self) -> Any:
        raise TypeError("a do_images client cannot be pickled (it holds a token)")

    def replace_user_agent(self, user_agent: str) -> None:
        """Send ``user_agent`` as the whole ``User-Agent`` (``legacy.DO``'s ``agent``)."""
        if not isinstance(user_agent, str) or any(ch in user_agent for ch in "\r\n\0"):
            raise ValueError("agent must be a single-line str")
        self._headers["User-Agent"] = user_agent
        self._json_headers["User-Agent"] = user_agent

    # -- building requests

    def url(self, *segments: int | str) -> str:
        """``{base}/v2/images/{segment}/...``, each segment percent-encoded into its own."""
        return "/".join([self._images, *(quote(str(segment), safe="") for segment in segments)])

    def api_url(self, *segments: int | str) -> str:
        """``{base}/v2/{segment}/...`` (``tags``, say), each segment percent-encoded."""
        return "/".join([self._v2, *(quote(str(segment), safe="") for segment in segments)])

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
            content=json_body(body),
            extensions=self._extensions,
        )

    # -- parsing: the one place that blanks the token out of what a server sent

    def parse(self, adapter: JsonValidator[M], response: httpx.Response) -> M:
        """Validate a success body into its model; a misfit raises without the token."""
        return parse(adapter, response, secret=self._secret)

    def parse_action(self, response: httpx.Response) -> Action:
        """An action, wrapped in ``{"action": ...}`` or bare."""
        return parse_action(response, secret=self._secret)

    def parse_page(self, adapter: JsonValidator[M], response: httpx.Response) -> M:
        """A page of a list, parsed with the cyclic collector paused (``_gc``)."""
        with collector_paused():
            return self.parse(adapter, response)

    def parse_posted(self, adapter: JsonValidator[M], response: httpx.Response) -> M:
        """The answer to a POST that changes something, or ``UnknownOutcomeError``.

        A success whose body does not parse (not JSON, or JSON of another shape: a
        proxy answering in the API's place) says nothing of whether the change was
        made, so it counts as a lost answer; the parse error is its ``__cause__``.
        """
        try:
            return self.parse(adapter, response)
        except ResponseValidationError as error:
            request = response.request
            raise UnknownOutcomeError(
                f"{request.method} {request.url.path} may or may not have taken effect: "
                f"its answer did not parse ({error.message})",
                attempts=1,
            ) from error

    # -- sending

    def call(
        self,
        request: httpx.Request,
        *,
        max_retries: int | None = None,
        idempotent: bool | None = None,
    ) -> Op[httpx.Response]:
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
        Errors carry the number of attempts made. ``idempotent=True`` retries a POST
        that is idempotent in effect (assigning a tag) like a PUT.
        """
        retries = self.max_retries if max_retries is None else max_retries
        maybe_applied = False  # an earlier attempt may have reached the server
        attempt = 0
        while True:
            attempt += 1
            outcome: httpx.Response | httpx.RequestError
            rate_limit: RateLimit | None = None
            wait, slot = self.budget.reserve()  # may raise: spent for longer than we would wait
            if wait > 0:
                logger.debug(
                    "%s %s: waiting %.2f s for the request budget",
                    request.method,
                    request.url.path,
                    wait,
                )
                yield Sleep(wait)
            try:
                response: httpx.Response = yield request
            except httpx.RequestError as exc:
                outcome = exc
                self.budget.finished(slot)
            else:
                self.budget.finished(slot)
                outcome = response
                rate_limit = parse_rate_limit(response.headers)
                if rate_limit is not None:
                    # One reference assignment: concurrent requests never tear it.
                    self.rate_limit = rate_limit
                    self.budget.spent_until(reset_wait(response, rate_limit), rate_limit.reset_at)
                logger.debug("%s %s -> %d", request.method, request.url.path, response.status_code)
            decision = decide(
                request.method,
                attempt,
                outcome,
                retries=retries,
                maybe_applied=maybe_applied,
                rate_limit=rate_limit,
                jitter=self.jitter,
                idempotent=idempotent,
            )
            if isinstance(decision, Return):
                if decision.already_done:
                    logger.info(
                        "DELETE %s: 404 after an attempt that may have deleted it; done",
                        request.url.path,
                    )
                return decision.response
            error = self._error(request, outcome, attempt, rate_limit, decision.server_wait)
            if isinstance(decision, Raise):
                if decision.unknown_outcome:
                    raise UnknownOutcomeError(
                        f"{request.method} {request.url.path} may or may not have taken effect: "
                        f"{error}",
                        attempts=attempt,
                    ) from error
                raise error
            maybe_applied = maybe_applied or may_have_applied(outcome)
            logger.info(
                "%s %s: %s; retry %d of %d in %.2f s",
                request.method,
                request.url.path,
                error,
                attempt,
                retries,
                decision.delay,
            )
            yield Sleep(decision.delay)

    def _error(
        self,
        request: httpx.Request,
        outcome: httpx.Response | httpx.RequestError,
        attempt: int,
        rate_limit: RateLimit | None,
        server_wait: float | None,
    ) -> DoImagesError:
        """The typed error for a failed attempt, with the token blanked out of it."""
        if isinstance(outcome, httpx.Response):
            return error_from_response(
                outcome, rate_limit, attempt, secret=self._secret, retry_after=server_wait
            )
        error = transport_error(request, outcome, attempt, self._secret)
        logger.debug("%s", error)
        return error
