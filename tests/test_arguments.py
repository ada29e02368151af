"""Bad arguments are refused before any request is sent; no argument leaves its segment."""

from __future__ import annotations

from typing import Any

import pytest

from support import MakeDriver, image_payload, json_response

BAD_IDS: list[tuple[Any, type[Exception]]] = [
    (0, ValueError),
    (-1, ValueError),
    (True, TypeError),
    (False, TypeError),
    (1.5, TypeError),
    (None, TypeError),
    ("7", TypeError),
    ([7], TypeError),
]

ID_CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("update", ("new name",)),
    ("destroy", ()),
    ("transfer", ("nyc3",)),
    ("convert", ()),
    ("action_list", ()),
    ("action_info", (5,)),
]


def never(request: Any) -> Any:
    raise AssertionError(f"no request may be sent, got {request.method} {request.url}")


@pytest.mark.parametrize(("bad", "error"), BAD_IDS, ids=[repr(b) for b, _ in BAD_IDS])
@pytest.mark.parametrize(("method", "rest"), ID_CALLS, ids=[m for m, _ in ID_CALLS])
def test_bad_image_id_is_refused(
    make_driver: MakeDriver, method: str, rest: tuple[Any, ...], bad: Any, error: type[Exception]
) -> None:
    """Ids must be positive ints (not bools, floats, strings or None)."""
    harness = make_driver(never)
    with pytest.raises(error, match="image id"):
        getattr(harness.image, method)(bad, *rest)


@pytest.mark.parametrize(("bad", "error"), BAD_IDS, ids=[repr(b) for b, _ in BAD_IDS])
def test_bad_action_id_is_refused(
    make_driver: MakeDriver, bad: Any, error: type[Exception]
) -> None:
    """Action ids follow the same rule as image ids."""
    harness = make_driver(never)
    with pytest.raises(error, match="action id"):
        harness.image.action_info(7, bad)


@pytest.mark.parametrize(
    ("slug", "error"),
    [
        ("", ValueError),
        ("../droplets", ValueError),
        ("a/b", ValueError),
        ("a?x", ValueError),
        ("a#x", ValueError),
        ("a b", ValueError),
        ("%2e%2e", ValueError),
        ("..", ValueError),
        ("7", ValueError),
        ("ubuntu\n", ValueError),
        (0, ValueError),
        (True, TypeError),
        (None, TypeError),
        (2.0, TypeError),
    ],
)
def test_bad_slug_is_refused(make_driver: MakeDriver, slug: Any, error: type[Exception]) -> None:
    """``info`` takes an id or a well-formed slug; anything that could move the path is refused."""
    harness = make_driver(never)
    with pytest.raises(error):
        harness.image.info(slug)


@pytest.mark.parametrize("slug", ["ubuntu-24-04-x64", "docker-20-04", "fedora-39-x64", "a.b_c"])
def test_good_slug_stays_in_its_segment(make_driver: MakeDriver, slug: str) -> None:
    """A valid slug is sent as exactly one path segment."""
    harness = make_driver(lambda r: json_response(200, {"image": image_payload(1, slug=slug)}))
    harness.image.info(slug)
    assert harness.requests[0].url.path == f"/v2/images/{slug}"


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "error"),
    [
        ("update", (7,), {}, ValueError),
        ("update", (7, ""), {}, ValueError),
        ("update", (7, "\ud800x"), {}, ValueError),  # a lone surrogate: not UTF-8 text
        ("update", (7,), {"description": "a\udcffb"}, ValueError),
        ("update", (7, 5), {}, TypeError),
        ("update", (7,), {"distribution": 3}, TypeError),
        ("transfer", (7, "nyc3"), {"wait": "yes"}, TypeError),
        ("create", ("n", "ftp://x/y.img", "nyc3"), {}, ValueError),
        ("create", ("n", "not a url", "nyc3"), {}, ValueError),
        ("create", ("", "http://x/y.img", "nyc3"), {}, ValueError),
        ("create", ("n", "http://x/y.img", "nyc 3"), {}, ValueError),
        ("create", ("n", "http://x/y.img", "nyc3"), {"tags": "prod"}, TypeError),
        ("create", ("n", "http://x/y.img", "nyc3"), {"tags": [1]}, TypeError),
        ("list", (), {"type": "snapshot"}, ValueError),
        ("list", (), {"private": "yes"}, TypeError),
        ("list", (), {"tag_name": 5}, TypeError),
        ("iter", (), {"per_page": 0}, ValueError),
        ("iter", (), {"per_page": 201}, ValueError),
        ("iter", (), {"per_page": 2.5}, TypeError),
    ],
)
def test_bad_arguments_are_refused_before_sending(
    make_driver: MakeDriver,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: type[Exception],
) -> None:
    """Each malformed argument raises ``ValueError``/``TypeError`` with no request sent."""
    harness = make_driver(never)
    with pytest.raises(error):
        getattr(harness.image, method)(*args, **kwargs)


# One rule for every check: a wrong type is a TypeError, a wrong value a ValueError.
CHECK_RULE: list[tuple[str, Any, type[Exception]]] = [
    ("max_retries", 1.5, TypeError),
    ("max_retries", "2", TypeError),
    ("max_retries", True, TypeError),
    ("max_retries", -1, ValueError),
    ("timeout", "30", TypeError),
    ("timeout", True, TypeError),
    ("timeout", -1, ValueError),
    ("timeout", float("nan"), ValueError),
    ("page_concurrency", 2.0, TypeError),
    ("page_concurrency", 0, ValueError),
    ("page_concurrency", 33, ValueError),
]


@pytest.mark.parametrize(("name", "value", "error"), CHECK_RULE)
def test_client_options_follow_one_rule(name: str, value: Any, error: type[Exception]) -> None:
    """Wrong types raise ``TypeError`` and wrong values ``ValueError``, naming the option."""
    from do_images import AsyncClient

    with pytest.raises(error, match=name):
        AsyncClient("t", base_url="http://127.0.0.1:9", **{name: value})


@pytest.mark.parametrize(
    ("value", "error"), [(1.5, TypeError), ("7", TypeError), (True, TypeError), (0, ValueError)]
)
def test_ids_follow_the_same_rule(value: Any, error: type[Exception]) -> None:
    """An id of the wrong type is a ``TypeError``, a non-positive one a ``ValueError``."""
    from do_images._checks import check_id

    with pytest.raises(error, match="image id"):
        check_id(value)


def test_text_utf8_cannot_encode_is_refused_naming_the_field(make_driver: MakeDriver) -> None:
    """A lone surrogate in a name is a ``ValueError`` that names the field and the place,
    not a codec's ``UnicodeEncodeError``."""
    harness = make_driver(never)
    with pytest.raises(
        ValueError, match=r"^name is not valid text: '\\ud800' at position 0"
    ) as caught:
        harness.image.update(7, "\ud800x")
    assert not isinstance(caught.value, UnicodeError)
