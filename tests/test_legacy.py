"""``do_images.legacy`` keeps code written for doboto's ``do.image`` working."""

from __future__ import annotations

import httpx
import pytest

from do_images import ActionTimeoutError, Client, DoImagesError, NotFoundError
from do_images.legacy import DO, DOBOTOException, DOBOTONotFoundException, DOBOTOPollingException
from support import TOKEN, image_payload, json_response


def test_exception_names_are_aliases() -> None:
    """doboto's exception names catch the matching do_images errors."""
    assert DOBOTOException is DoImagesError
    assert DOBOTONotFoundException is NotFoundError
    assert DOBOTOPollingException is ActionTimeoutError


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.digitalocean.com/v2/", "https://api.digitalocean.com/v2/images"),
        ("https://api.digitalocean.com/v2", "https://api.digitalocean.com/v2/images"),
        ("https://proxy.example/do/v2/", "https://proxy.example/do/v2/images"),
    ],
)
def test_do_takes_doboto_arguments(url: str, expected: str) -> None:
    """``DO(token, url, agent)`` builds a client on doboto's ``/v2/`` URL with its agent."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, {"images": [image_payload(1)], "links": {}, "meta": {"total": 1}})

    do = DO(TOKEN, url=url, agent="my-agent", transport=httpx.MockTransport(handler))
    assert isinstance(do, Client)
    images = do.image.list()
    assert images[0]["name"] == "image-1"
    assert str(seen[0].url).split("?")[0] == expected
    assert seen[0].headers["user-agent"] == "my-agent"  # the whole User-Agent, as doboto sent it
    do.close()


def test_doboto_style_handling_of_missing_image() -> None:
    """A 404 is caught by ``except DOBOTONotFoundException`` as doboto callers wrote it."""
    do = DO(
        TOKEN,
        transport=httpx.MockTransport(
            lambda r: json_response(404, {"id": "not_found", "message": "gone"})
        ),
    )
    with pytest.raises(DOBOTONotFoundException):
        do.image.info(123)
    do.close()
