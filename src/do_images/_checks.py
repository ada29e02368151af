"""Every argument check, run before any request is sent.

One rule throughout: a value of the wrong type raises ``TypeError``, a value of the
right type but out of range or malformed raises ``ValueError``. Messages name the
argument and never echo a token.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ._constants import (
    CONNECT_TIMEOUT_CAP,
    LOOPBACK_HOSTS,
    MAX_PAGE_CONCURRENCY,
    MAX_TAG_LENGTH,
    MIN_POLL,
    TOKEN_VARIABLES,
)
from ._errors import MissingTokenError
from ._version import version

if TYPE_CHECKING:
    import httpx

_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_REGION = re.compile(r"[a-z][a-z0-9]{1,15}")
_TAG = re.compile(r"[A-Za-z0-9_:-]{1,255}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")


class ArgumentError(ValueError):
    """A bad argument, its message written with the names of the arguments it speaks of,
    so a front end can say it in its own words (the command line: its flags).

    ``template`` holds a ``{name}`` field for each argument in ``arguments`` (its name,
    and the value given when that matters, as shown). ``str()`` says it as Python does
    (``keep=0 needs older_than``); ``say(spell)`` lets ``spell(name, value)`` write each
    (``--keep 0 needs --older-than``).
    """

    def __init__(self, template: str, **arguments: tuple[str, str | None]) -> None:
        self.template = template
        self.arguments = arguments
        super().__init__(self.say(_python_spelling))

    def say(self, spell: Callable[[str, str | None], str]) -> str:
        """The message with each argument written by ``spell(name, value)``."""
        return self.template.format_map(
            {key: spell(name, value) for key, (name, value) in self.arguments.items()}
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_argument_error, (type(self), self.template, self.arguments))


def _argument_error(
    cls: type[ArgumentError], template: str, arguments: dict[str, tuple[str, str | None]]
) -> ArgumentError:
    return cls(template, **arguments)


def _python_spelling(name: str, value: str | None) -> str:
    return name if value is None else f"{name}={value}"


def _literal(text: str) -> str:
    """``text`` as literal text in an ``ArgumentError`` template (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


def type_name(value: object) -> str:
    """The type name of ``value``, for error messages."""
    return type(value).__name__


def check_int(value: object, what: str, *, min: int | None = None, max: int | None = None) -> int:
    """``value`` if it is an ``int`` (not a ``bool``) within ``min``..``max``.

    A value of another type raises ``TypeError``; one outside the range ``ValueError``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type_name(value)}")
    if min is not None and max is not None and not min <= value <= max:
        raise ValueError(f"{what} must be {min} to {max}, got {value}")
    if min is not None and value < min:
        raise ValueError(f"{what} must be at least {min}, got {value}")
    if max is not None and value > max:
        raise ValueError(f"{what} must be at most {max}, got {value}")
    return value


def check_bool(value: object, what: str) -> bool:
    """``value`` if it is a ``bool``."""
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be a bool, not {type_name(value)}")
    return value


def check_id(value: object, what: str = "image id") -> int:
    """Return ``value`` if it is a positive ``int`` (not a ``bool``); raise otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be a positive int, not {type_name(value)}")
    if value < 1:
        raise ValueError(f"{what} must be a positive int, got {value}")
    return value


def check_positive_seconds(value: object, what: str, *, zero: bool = False) -> float:
    """A finite number of seconds above 0 (or at least 0 with ``zero``)."""
    seconds = check_seconds(value, what)
    if seconds < 0 or (seconds == 0 and not zero):
        bound = ">= 0" if zero else "> 0"
        raise ValueError(f"{what} must be a finite number {bound}, got {value}")
    return seconds


def _echo(text: str, limit: int = 60) -> str:
    """What someone passed, quoted and shortened for an error message."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def check_id_or_slug(value: object) -> int | str:
    """An image id, or the slug of a public image (``ubuntu-24-04-x64``)."""
    if isinstance(value, str):
        if value.isdigit():
            raise ValueError(f"image slug {_echo(value)} is all digits: pass the id as an int")
        if not _SLUG.fullmatch(value):
            raise ValueError(
                f"image slug {_echo(value)} is not a slug (letters, digits, '.', '_' and '-')"
            )
        return value
    return check_id(value, "image id")


def check_str(value: object, what: str, *, empty: bool = False) -> str:
    """A string argument; non-empty unless ``empty``."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type_name(value)}")
    if not empty and not value.strip():
        raise ValueError(f"{what} must not be empty")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{what} is not valid text: {value[exc.start]!r} at position {exc.start} is a lone "
            "surrogate, which UTF-8 cannot encode (on a command line: a byte that is not UTF-8)"
        ) from None
    return value


def check_region(value: object) -> str:
    """A region slug such as ``nyc3``: lowercase letters and digits."""
    region = check_str(value, "region")
    if not _REGION.fullmatch(region):
        raise ValueError(f"region {_echo(region)} is not a region slug (such as 'nyc3')")
    return region


def check_url(value: object) -> str:
    """The ``http(s)://`` address of a custom image to import."""
    import httpx

    url = check_str(value, "url")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise ValueError(f"url {_echo(url)} is not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"url {_echo(url)} must be an http:// or https:// address")
    return url


def check_tags(value: object) -> list[str]:
    """A list of tag names (a bare string is refused: it is not a list of tags)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"tags must be a list of str, not {type_name(value)}")
    return [check_tag_name(tag) for tag in value]


def check_tag_name(value: object) -> str:
    """A tag name as the API takes it: letters, digits, ``:``, ``-`` and ``_``, 1 to 255.

    Sent exactly as given: the API keeps the capitalisation a tag was created with.
    """
    tag = check_str(value, "tag")
    if len(tag) > MAX_TAG_LENGTH:
        raise ValueError(f"tag {_echo(tag)} is {len(tag)} characters long; at most 255")
    if not _TAG.fullmatch(tag):
        raise ValueError(f"tag {_echo(tag)} may hold only letters, digits, ':', '-' and '_'")
    return tag


def check_tag_names(values: Sequence[object]) -> list[str]:
    """At least one tag name, each checked; duplicates dropped, order kept."""
    if not values:
        raise ValueError("name at least one tag")
    return list(dict.fromkeys(check_tag_name(value) for value in values))


def check_email(value: object) -> str:
    """An email address, as the account-transfer recipient."""
    email = check_str(value, "email").strip()
    if not email.isprintable():
        raise ValueError(f"email {_echo(email)} holds a control or invisible character")
    if not _EMAIL.fullmatch(email):
        raise ValueError(f"email {_echo(email)} is not an email address")
    return email


def check_team(value: object) -> str:
    """A team UUID, in its canonical form (lowercase, with hyphens)."""
    import uuid

    team = check_str(value, "team").strip()
    try:
        return str(uuid.UUID(team))
    except ValueError:
        raise ValueError(f"team {_echo(team)} is not a team UUID") from None


_DURATION_UNITS = {"d": 86_400, "h": 3_600, "m": 60}
MAX_DURATION_SECONDS = 100 * 365 * 86_400


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h`` or ``90m`` as a positive ``timedelta`` (at most a century);
    ``ValueError`` otherwise."""
    number, unit = text[:-1], text[-1:].lower()
    if unit not in _DURATION_UNITS or not (number.isascii() and number.isdigit()):
        raise ValueError(f"{_echo(text, 40)} is not a duration such as 30d, 12h or 90m")
    seconds = int(number) * _DURATION_UNITS[unit]
    if not 0 < seconds <= MAX_DURATION_SECONDS:
        raise ValueError(f"{_echo(text, 40)}: a duration must be positive, at most 100 years")
    return timedelta(seconds=seconds)


def check_seconds(value: object, what: str) -> float:
    """A finite number of seconds (``int`` or ``float``, not ``bool``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of seconds, not {type_name(value)}")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value}")
    return float(value)


def check_wait(poll: object, timeout: object) -> tuple[float, float]:
    """``poll`` at least 1 s and ``timeout`` positive, both finite numbers."""
    poll_s = check_seconds(poll, "poll")
    timeout_s = check_seconds(timeout, "timeout")
    if poll_s < MIN_POLL:
        raise ValueError(f"poll must be at least {MIN_POLL:g} s, got {poll}")
    if timeout_s <= 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    return poll_s, timeout_s


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
            raise MissingTokenError(
                "no DigitalOcean token: pass token=... or set "
                f"${TOKEN_VARIABLES[0]} or ${TOKEN_VARIABLES[1]}"
            )
    if not isinstance(token, str):
        raise TypeError(f"token must be a str, not {type_name(token)}")
    return check_token(token)


def check_base_url(base_url: object, what: str = "base_url") -> httpx.URL:
    """``https://`` only, except loopback hosts, which may use ``http://``; messages name
    the argument as ``what`` (``endpoint`` for a Spaces endpoint)."""
    import httpx  # here, not at import: the command line builds its parser without it

    if not isinstance(base_url, (str, httpx.URL)):
        raise TypeError(f"{what} must be a str, not {type_name(base_url)}")
    # The argument is a field of the message (a front end may name it otherwise: the
    # command line says --base-url); what was given is literal text.
    given = _literal(_echo(str(base_url)))
    name = {"url": (what, None)}
    try:
        url = httpx.URL(str(base_url))
    except (httpx.InvalidURL, ValueError) as exc:
        raise ArgumentError(f"{{url}} {given} is not a URL: {_literal(str(exc))}", **name) from None
    if url.query or url.fragment:
        raise ArgumentError("{url} must not carry a query or fragment", **name)
    if url.scheme in ("http", "https") and not url.host:
        example = "api.digitalocean.com" if what == "base_url" else "nyc3.digitaloceanspaces.com"
        raise ArgumentError(f"{{url}} {given} has no host (such as https://{example})", **name)
    if url.port is not None and not 0 < url.port <= 65535:
        raise ArgumentError(f"{{url}} port {url.port} is out of range (1 to 65535)", **name)
    secure = url.scheme == "https" and bool(url.host)
    loopback = url.scheme == "http" and url.host in LOOPBACK_HOSTS
    if not (secure or loopback):
        raise ArgumentError(
            f"{{url}} {given} must be https:// (http:// only for loopback hosts)", **name
        )
    return url


def check_retries(value: object) -> int:
    """``max_retries``: an ``int`` >= 0 (not a ``bool``)."""
    return check_int(value, "max_retries", min=0)


def check_page_concurrency(value: object) -> int:
    """``page_concurrency``: an ``int`` from 1 (one page at a time) to 32."""
    return check_int(value, "page_concurrency", min=1, max=MAX_PAGE_CONCURRENCY)


def check_user_agent(user_agent: str | None) -> str:
    """The ``User-Agent`` header: the caller's product (one line) before ours."""
    import httpx

    ours = f"do_images/{version()} httpx/{httpx.__version__}"
    if user_agent is None:
        return ours
    if not isinstance(user_agent, str) or any(ch in user_agent for ch in "\r\n\0"):
        raise ValueError("user_agent must be a single-line str")
    return f"{user_agent} {ours}"


def timeout_extension(timeout: float | httpx.Timeout) -> dict[str, float | None]:
    """The request extension for ``timeout``: seconds, connecting capped at 5 s."""
    import httpx

    if isinstance(timeout, httpx.Timeout):
        return timeout.as_dict()
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be a number of seconds or an httpx.Timeout, not {type_name(timeout)}"
        )
    if not timeout > 0:  # NaN too
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return httpx.Timeout(float(timeout), connect=min(CONNECT_TIMEOUT_CAP, float(timeout))).as_dict()
