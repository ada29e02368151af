"""The I/O-free core: argument checks, request building, parsing, errors, paging, waiting.

Nothing here sends a request or sleeps. Every API operation is written once, as a
generator that *yields* what it needs done — an ``httpx.Request`` to send or a
``Sleep`` — and receives the response back. ``Client`` and ``AsyncClient`` each run
these generators with a loop of a few lines (``_client.py``), so the two clients
share all behaviour and differ only where they do I/O or sleep.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import random
import re
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeAlias, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from ._errors import (
    ActionFailedError,
    ActionTimeoutError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    UnprocessableEntityError,
)
from ._models import (
    Action,
    ActionEnvelope,
    ActionPage,
    ErrorBody,
    ImageEnvelope,
    ImagePage,
    RateLimit,
)

logger = logging.getLogger("do_images")

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

DEFAULT_BASE_URL = "https://api.digitalocean.com"
TOKEN_VARIABLES = ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
MAX_PER_PAGE = 200
MIN_POLL = 1.0
ERROR_TEXT_LIMIT = 1024


@dataclass(frozen=True, slots=True)
class Sleep:
    """An effect: wait this many seconds (on the injected sleep)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Gather:
    """An effect: run these operations, up to ``width()`` at a time; send back their results.

    The results come back in the order of ``ops``; the first operation to fail
    cancels the others and its error is thrown into the operation that yielded
    this. ``width`` is asked again before each operation starts, so it can
    shrink as the request budget runs low. A runner without concurrency may
    run them one after another.
    """

    ops: Sequence[Generator[Any, Any, Any]]
    width: Callable[[], int]


Effect: TypeAlias = "httpx.Request | Sleep | Gather"
Op: TypeAlias = Generator[Effect, Any, T]
"""An operation: yields effects, is sent back responses, returns its result."""


# --------------------------------------------------------------------------- checks

_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_REGION = re.compile(r"[a-z][a-z0-9]{1,15}")


def check_id(value: object, what: str = "image id") -> int:
    """Return ``value`` if it is a positive ``int`` (not a ``bool``); raise otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be a positive int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{what} must be a positive int, got {value}")
    return value


def check_id_or_slug(value: object) -> int | str:
    """An image id, or the slug of a public image (``ubuntu-24-04-x64``)."""
    if isinstance(value, str):
        if value.isdigit():
            raise ValueError(f"image slug {value!r} is all digits: pass the id as an int")
        if not _SLUG.fullmatch(value):
            raise ValueError(
                f"image slug {value!r} is not a slug (letters, digits, '.', '_' and '-')"
            )
        return value
    return check_id(value, "image id")


def check_str(value: object, what: str, *, empty: bool = False) -> str:
    """A string argument; non-empty unless ``empty``."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if not empty and not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value


def check_region(value: object) -> str:
    """A region slug such as ``nyc3``: lowercase letters and digits."""
    check_str(value, "region")
    assert isinstance(value, str)
    if not _REGION.fullmatch(value):
        raise ValueError(f"region {value!r} is not a region slug (such as 'nyc3')")
    return value


def check_url(value: object) -> str:
    """The ``http(s)://`` address of a custom image to import."""
    url = check_str(value, "url")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise ValueError(f"url {url!r} is not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"url {url!r} must be an http:// or https:// address")
    return url


def check_tags(value: object) -> list[str]:
    """A list of tag names (a bare string is refused: it is not a list of tags)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"tags must be a list of str, not {type(value).__name__}")
    return [check_str(tag, "tag") for tag in value]


def check_wait(poll: object, timeout: object) -> tuple[float, float]:
    """``poll`` at least 1 s and ``timeout`` positive, both finite numbers."""
    for name, value in (("poll", poll), ("timeout", timeout)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    assert isinstance(poll, (int, float))
    assert isinstance(timeout, (int, float))
    if poll < MIN_POLL:
        raise ValueError(f"poll must be at least {MIN_POLL:g} s, got {poll}")
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    return float(poll), float(timeout)


def check_token(token: str) -> str:
    """Strip the token and refuse one that could break or inject a header."""
    token = token.strip()
    if not token:
        raise ValueError(
            "the DigitalOcean token is empty: pass token=... or set "
            f"${TOKEN_VARIABLES[0]} or ${TOKEN_VARIABLES[1]}"
        )
    if any(not ("\x21" <= ch <= "\x7e") for ch in token):
        # The message must not echo the token.
        raise ValueError(
            "the DigitalOcean token contains whitespace, control or non-ASCII characters"
        )
    return token


def resolve_token(token: str | None, environ: Mapping[str, str]) -> str:
    """The token from the argument, else the first environment variable that is set."""
    if token is None:
        for name in TOKEN_VARIABLES:
            value = environ.get(name, "").strip()
            if value:
                token = value
                break
        else:
            raise ValueError(
                "no DigitalOcean token: pass token=... or set "
                f"${TOKEN_VARIABLES[0]} or ${TOKEN_VARIABLES[1]}"
            )
    if not isinstance(token, str):
        raise TypeError(f"token must be a str, not {type(token).__name__}")
    return check_token(token)


def check_base_url(base_url: object) -> httpx.URL:
    """``https://`` only, except loopback hosts, which may use ``http://``."""
    if not isinstance(base_url, (str, httpx.URL)):
        raise TypeError(f"base_url must be a str, not {type(base_url).__name__}")
    try:
        url = httpx.URL(str(base_url))
    except (httpx.InvalidURL, ValueError) as exc:
        raise ValueError(f"base_url {str(base_url)!r} is not a URL: {exc}") from None
    if url.query or url.fragment:
        raise ValueError("base_url must not carry a query or fragment")
    secure = url.scheme == "https" and bool(url.host)
    loopback = url.scheme == "http" and url.host in LOOPBACK_HOSTS
    if not (secure or loopback):
        raise ValueError(
            f"base_url {str(base_url)!r} must be https:// (http:// only for loopback hosts)"
        )
    return url


# ----------------------------------------------------------------- wire formatting


def _body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def request_id_of(response: httpx.Response) -> str | None:
    """The id the server gave this request, if any."""
    value: str | None = response.headers.get("x-request-id")
    return value


def _int_header(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if 0 <= value < 10**12 else None


def parse_rate_limit(headers: httpx.Headers) -> RateLimit | None:
    """``RateLimit`` from the ``ratelimit-*`` headers, or ``None`` if absent or malformed."""
    return _rate_limit(
        headers.get("ratelimit-limit"),
        headers.get("ratelimit-remaining"),
        headers.get("ratelimit-reset"),
    )


# Consecutive responses mostly repeat the same three values, and RateLimit is
# immutable, so one object serves them all instead of a model built per response.
@functools.lru_cache(maxsize=64)
def _rate_limit(
    limit_raw: str | None, remaining_raw: str | None, reset_raw: str | None
) -> RateLimit | None:
    limit = _int_header(limit_raw)
    remaining = _int_header(remaining_raw)
    reset = _int_header(reset_raw)
    if limit is None or remaining is None or reset is None:
        return None
    try:
        reset_at = datetime.fromtimestamp(reset, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return RateLimit(limit=limit, remaining=remaining, reset_at=reset_at)


def cut_text(content: bytes | str, secret: str | None = None) -> str:
    """Text for an error message: at most 1 KiB of UTF-8, never a decode error.

    ``secret`` (the token) is blanked out first, in case a proxy or a debugging
    server echoes the request headers into its error page.
    """
    data = content.encode("utf-8", "replace") if isinstance(content, str) else content
    if secret:
        data = data.replace(secret.encode(), b"[redacted]")
    data = data[:ERROR_TEXT_LIMIT]
    # Cutting may split a multi-byte character: drop the partial tail, not the text.
    text = data.decode("utf-8", errors="replace")
    while len(text.encode("utf-8")) > ERROR_TEXT_LIMIT:
        text = text[:-1]
    return text


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

_ERROR_BODY = TypeAdapter(ErrorBody)

MAX_HEADER_WAIT = 86_400.0
"""A header asking for a longer wait than a day is taken as malformed, not obeyed."""

_DELAY_SECONDS = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,6})?")


def _http_date(raw: str) -> datetime | None:
    """An HTTP date (``Date``, ``Retry-After``) as an aware ``datetime``, or ``None``."""
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def server_now(response: httpx.Response) -> datetime | None:
    """The server's clock at the time of ``response`` (its ``Date`` header), if sane."""
    raw = response.headers.get("date")
    return _http_date(raw) if raw else None


def _now_for(response: httpx.Response) -> datetime:
    # The server's Date makes waits immune to a skewed local clock; without one,
    # the local clock is all there is.
    return server_now(response) or datetime.now(timezone.utc)


def _sane_wait(seconds: float) -> float | None:
    return seconds if math.isfinite(seconds) and 0 <= seconds <= MAX_HEADER_WAIT else None


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait the server asked for in ``Retry-After`` (seconds or HTTP date), if sane.

    Negative, non-finite, huge, unparsable values and dates in the past or more
    than a day away give ``None``: the caller falls back to its own back-off.
    """
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    if _DELAY_SECONDS.fullmatch(raw):
        return _sane_wait(float(raw))
    when = _http_date(raw)
    if when is None:
        return None
    return _sane_wait((when - _now_for(response)).total_seconds())


def server_wait(response: httpx.Response, rate_limit: RateLimit | None) -> float | None:
    """The wait the server directs: ``Retry-After``, else until an exhausted budget resets.

    The reset time is measured against the response's ``Date`` header, so a skewed
    local clock does not matter. ``None`` when the server directs nothing usable.
    """
    seconds = retry_after_seconds(response)
    if seconds is not None:
        return seconds
    if rate_limit is not None and rate_limit.remaining == 0:
        try:
            wait = (rate_limit.reset_at - _now_for(response)).total_seconds()
        except OverflowError:
            return None
        return _sane_wait(wait)
    return None


def error_from_response(
    response: httpx.Response,
    rate_limit: RateLimit | None,
    attempts: int = 1,
    *,
    secret: str | None = None,
    retry_after: float | None = None,
) -> APIStatusError:
    """Map an error response to its typed exception, whatever its body holds.

    HTML, empty, non-JSON, wrongly typed, invalid UTF-8 or huge bodies all give an
    ``APIStatusError`` whose message is at most 1 KiB.
    """
    status = response.status_code
    request_id = request_id_of(response)
    content = response.content
    error_id: str | None = None
    try:
        body = _ERROR_BODY.validate_json(content)
    except ValidationError:
        message = cut_text(content, secret).strip() or response.reason_phrase or f"HTTP {status}"
    else:
        error_id = body.id
        message = cut_text(body.message, secret)
        request_id = body.request_id or request_id
    if 300 <= status < 400:
        try:
            host = httpx.URL(response.headers.get("location", "")).host
        except (httpx.InvalidURL, ValueError):
            host = ""
        message = (
            f"unexpected redirect to {cut_text(host)[:255] or 'the same host'}; "
            "redirects are not followed (they could carry the token elsewhere)"
        )
    if request_id is not None:
        request_id = cut_text(request_id, secret)
    cls = _STATUS_ERRORS.get(status, ServerError if status >= 500 else APIStatusError)
    kwargs: dict[str, Any] = {
        "status_code": status,
        "error_id": None if error_id is None else cut_text(error_id, secret),
        "request_id": request_id,
        "rate_limit": rate_limit,
        "body": cut_text(content, secret),
        "attempts": attempts,
    }
    if cls is RateLimitError:
        return RateLimitError(
            message,
            retry_after=retry_after if retry_after is not None else retry_after_seconds(response),
            reset_at=rate_limit.reset_at if rate_limit else None,
            **kwargs,
        )
    return cls(message, **kwargs)


def parse(adapter: TypeAdapter[M], response: httpx.Response, secret: str | None = None) -> M:
    """Validate a success body straight from bytes into its model.

    If it does not fit, the error carries the start of the body, with ``secret``
    (the token) blanked out of it.
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


IMAGE_PAGE = TypeAdapter(ImagePage)
ACTION_PAGE = TypeAdapter(ActionPage)
IMAGE_ENVELOPE = TypeAdapter(ImageEnvelope)
# The API wraps a single action in {"action": ...}; the spec's schema shows it bare.
ACTION_ANY: TypeAdapter[ActionEnvelope | Action] = TypeAdapter(
    ActionEnvelope | Action, config=ConfigDict(defer_build=True)
)


def parse_action(response: httpx.Response, secret: str | None = None) -> Action:
    """An action, wrapped in ``{"action": ...}`` or bare."""
    parsed: ActionEnvelope | Action = parse(ACTION_ANY, response, secret)
    return parsed.action if isinstance(parsed, ActionEnvelope) else parsed


# ---------------------------------------------------------------------- retrying


BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
MAX_SERVER_WAIT = 120.0
"""A server-directed wait longer than this is not slept: the error is raised at once."""

# Failures that prove the request never reached the server: safe to send again,
# even a POST.
NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# Failures that the same request would hit again.
PERMANENT: tuple[type[Exception], ...] = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


def check_retries(value: object) -> int:
    """``max_retries``: an ``int`` >= 0 (not a ``bool``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"max_retries must be an int >= 0, got {value!r}")
    return value


def backoff(attempt: int, jitter: Callable[[], float]) -> float:
    """Capped exponential back-off for retry ``attempt`` (0-based), jittered.

    ``min(0.5 * 2**attempt, 8)`` seconds times ``jitter()``, which gives a factor in
    [0.75, 1] (clamped there, so an injected jitter cannot make waits explode).
    """
    factor = min(max(jitter(), 0.75), 1.0)
    return min(BACKOFF_BASE * 2.0 ** min(attempt, 16), BACKOFF_CAP) * factor


def default_jitter() -> float:
    """A factor in [0.75, 1]."""
    return random.uniform(0.75, 1.0)


def matching_since(response: httpx.Response, elapsed: float) -> datetime:
    """The earliest ``started_at`` an action sent ``elapsed`` seconds before ``response`` can have.

    Measured on the server's clock (``Date``), so local skew does not matter; the
    second of slack covers timestamps that are whole seconds. Without a ``Date``,
    the local clock is used with a generous slack: adopting an older matching
    action is a smaller harm than starting a second one.
    """
    now = server_now(response)
    slack = 1.0
    if now is None:
        now, slack = datetime.now(timezone.utc), 300.0
    return now - timedelta(seconds=max(elapsed, 0.0) + slack)


def action_matches(action: Action, body: Mapping[str, Any], since: datetime) -> bool:
    """Whether ``action`` is what POSTing ``body`` would have started, no earlier than ``since``."""
    if action.type != body["type"] or action.started_at is None or action.started_at < since:
        return False
    if body["type"] != "transfer":
        return True
    regions = {action.region_slug, action.region.slug if action.region else None} - {None}
    # An action that names no region at all cannot be told apart: count it as ours
    # rather than risk a second transfer.
    return not regions or body["region"] in regions


# ----------------------------------------------------------------------- paging


@dataclass(slots=True)
class Page(Generic[T]):
    """The items of one page, where the next one is, and the list's size."""

    items: list[T]
    next_url: str | None
    total: int | None
    last_url: str | None = None


@dataclass(slots=True)
class PageWalk:
    """Follows ``links.pages.next`` safely: same origin and path, never a URL twice."""

    origin: httpx.URL
    seen: set[str] = field(default_factory=set)

    def admit(self, url: str | httpx.URL | None) -> httpx.URL | None:
        """The next URL to fetch, ``None`` to stop; raise if the link leaves the API.

        The URL comes back parsed, so the request for it does not parse it again.
        """
        if url is None or (isinstance(url, str) and not url):
            return None
        if isinstance(url, httpx.URL):
            parsed, text = url, str(url)
        else:
            text = url
            try:
                parsed = httpx.URL(url)
            except (httpx.InvalidURL, ValueError):
                raise ResponseValidationError(
                    f"next page link {text[:200]!r} is not a URL"
                ) from None
        if not self.same_place(parsed):
            raise ResponseValidationError(
                f"next page link {text[:200]!r} leaves {self.origin.copy_with(query=None)}; "
                "not followed"
            )
        if text in self.seen:
            logger.warning("next page link %s was already fetched; stopping", text[:200])
            return None
        self.seen.add(text)
        return parsed

    def same_place(self, url: httpx.URL) -> bool:
        """Whether ``url`` has the first request's scheme, host, port and path."""
        origin = self.origin
        return (url.scheme, url.host, url.port, url.path) == (
            origin.scheme,
            origin.host,
            origin.port,
            origin.path,
        )


def page_of(parsed: ImagePage | ActionPage) -> Page[Any]:
    """Reduce a parsed list envelope to items, next and last links, and total."""
    items: list[Any] = parsed.images if isinstance(parsed, ImagePage) else parsed.actions
    links = parsed.links
    pages = links.pages if links is not None else None
    total = parsed.meta.total if parsed.meta is not None else None
    if pages is None:
        return Page(items=items, next_url=None, total=total)
    return Page(items=items, next_url=pages.next, total=total, last_url=pages.last)


DEFAULT_PAGE_CONCURRENCY = 4
MAX_PAGE_CONCURRENCY = 32
MAX_PLANNED_PAGES = 10_000
"""A list claiming more pages than this (2,000,000 images) is walked link by link."""
BUDGET_PER_REQUEST_IN_FLIGHT = 100
"""Each page in flight needs this many requests left in the rate-limit budget."""


def check_page_concurrency(value: object) -> int:
    """``page_concurrency``: an ``int`` from 1 (one page at a time) to 32."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"page_concurrency must be an int, not {type(value).__name__}")
    if not 1 <= value <= MAX_PAGE_CONCURRENCY:
        raise ValueError(f"page_concurrency must be 1 to {MAX_PAGE_CONCURRENCY}, got {value}")
    return value


def page_concurrency(limit: int, rate_limit: RateLimit | None) -> int:
    """How many pages to have in flight: ``limit``, fewer as the request budget runs low.

    One page in flight per ``BUDGET_PER_REQUEST_IN_FLIGHT`` requests left, and
    always at least one: with 250 left, two; below 200, one at a time, so a
    large list never burns the budget faster than a sequential walk would once
    it runs short. ``None`` (no rate-limit headers seen) does not limit.
    """
    if rate_limit is None:
        return limit
    return max(1, min(limit, rate_limit.remaining // BUDGET_PER_REQUEST_IN_FLIGHT))


@dataclass(frozen=True, slots=True)
class PagePlan:
    """The pages after the first: the server's next link with its ``page`` set to 2..last."""

    template: httpx.URL
    last: int

    def urls(self) -> list[httpx.URL]:
        """The URLs of pages 2 to ``last``, in order."""
        return [self.template.copy_set_param("page", n) for n in range(2, self.last + 1)]


def _page_number(url: httpx.URL) -> int | None:
    values = url.params.get_list("page")
    if len(values) != 1 or not values[0].isdigit() or len(values[0]) > 9:
        return None
    return int(values[0])


def _link(walk: PageWalk, link: str) -> httpx.URL | None:
    try:
        url = httpx.URL(link)
    except (httpx.InvalidURL, ValueError):
        return None
    return url if walk.same_place(url) else None


def plan_pages(walk: PageWalk, first: Page[Any]) -> PagePlan | None:
    """Where the rest of a list is, from its first page, or ``None``: follow the links.

    A plan needs all of: the total (``meta.total``); a ``next`` link on the first
    request's origin and path whose ``page`` parameter is 2; and the page count the
    total and the first page's size give, which the ``last`` link (if sent) must
    agree with, differing from ``next`` in nothing but ``page``. Anything else,
    and the list is walked link by link as before (where a link leaving the API
    is an error). The page URLs are the server's ``next`` link with ``page``
    replaced, so they carry exactly the filters the server echoed back.
    """
    if first.next_url is None or first.total is None or not first.items:
        return None
    template = _link(walk, first.next_url)
    if template is None or _page_number(template) != 2:
        return None
    last = -(-first.total // len(first.items))
    if not 2 <= last <= MAX_PLANNED_PAGES:
        return None
    if first.last_url is not None:
        last_link = _link(walk, first.last_url)
        if (
            last_link is None
            or _page_number(last_link) != last
            or last_link.copy_remove_param("page") != template.copy_remove_param("page")
        ):
            return None
    return PagePlan(template=template, last=last)


# ---------------------------------------------------------------------- waiting


def wait_step(action: Action, *, remaining: float, poll: float, timeout: float) -> float | None:
    """What waiting does next: ``None`` when done, else the seconds to sleep before polling.

    Raises ``ActionFailedError`` for an errored action and ``ActionTimeoutError``
    once no time remains. Any status other than ``completed`` and ``errored``
    (unknown ones included) keeps polling.
    """
    if action.status == "completed":
        return None
    if action.status == "errored":
        raise ActionFailedError(action)
    if remaining <= 0:
        raise ActionTimeoutError(action, timeout=timeout)
    return min(poll, remaining)
