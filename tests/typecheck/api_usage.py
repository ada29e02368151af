"""The public API as a user's code meets it: checked by ``mypy --strict``, never run.

Each ``assert_type`` pins what a call returns; a change to a public signature or
return type fails type checking here before it reaches anyone's code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from typing_extensions import assert_type

from do_images import (
    Action,
    ActionStatus,
    AsyncClient,
    AsyncPager,
    Client,
    Image,
    ImageStatus,
    ImageType,
    NotFoundError,
    Pager,
    RateLimit,
    RateLimitError,
)
from do_images.legacy import DO, Result
from do_images.testing import Sandbox, SandboxRequest


def sync_usage(do: Client) -> None:
    assert_type(do.image.list(), list[Image])
    assert_type(do.image.list(type="distribution", private=True, tag_name="web"), list[Image])
    assert_type(do.image.iter(per_page=50), Pager[Image])
    assert_type(do.image.info(7), Image)
    assert_type(do.image.info("ubuntu-24-04-x64"), Image)
    assert_type(do.image.update(7, "name", description="d"), Image)
    assert_type(do.image.destroy(7), None)
    assert_type(do.image.create("n", "https://example.com/x.img", "nyc3", tags=["a"]), Image)
    action = do.image.transfer(7, "nyc3", wait=True, poll=5, timeout=300)
    assert_type(action, Action)
    assert_type(do.image.convert(7), Action)
    assert_type(do.image.action_list(7), list[Action])
    assert_type(do.image.action_info(7, 9), Action)
    assert_type(do.image.wait(action, on_update=lambda a: print(a.status)), Action)
    assert_type(do.rate_limit, RateLimit | None)
    assert_type(do.base_url, str)


async def async_usage(do: AsyncClient) -> None:
    assert_type(await do.image.list(), list[Image])
    assert_type(do.image.iter(), AsyncPager[Image])
    assert_type(await do.image.info(7), Image)
    assert_type(await do.image.destroy(7), None)
    assert_type(await do.image.transfer(7, "nyc3"), Action)
    assert_type(await do.image.action_list(7), list[Action])


def model_usage(image: Image, action: Action) -> None:
    assert_type(image.id, int)
    assert_type(image.created_at, datetime | None)
    assert_type(image.type, ImageType | str | None)
    assert_type(image.status, ImageStatus | str | None)
    assert_type(image.regions, list[str] | None)
    assert_type(image["name"], Any)
    assert_type(image.model_dump(), dict[str, Any])
    assert_type(action.status, ActionStatus | str)


def error_usage(error: NotFoundError, limited: RateLimitError) -> None:
    assert_type(error.status_code, int)
    assert_type(error.request_id, str | None)
    assert_type(error.method, str | None)
    assert_type(limited.retry_after, float | None)


def sandbox_usage(sandbox: Sandbox) -> None:
    assert_type(sandbox.client(), Client)
    assert_type(sandbox.async_client(), AsyncClient)
    assert_type(sandbox.requests, list[SandboxRequest])
    assert_type(sandbox.requests[0].headers, tuple[tuple[str, str], ...])
    assert_type(sandbox.requests[0].answered_at, float)


def legacy_usage(do: DO) -> None:
    assert_type(do.image.info(7), Result)
    assert_type(do.image.info("7555620"), Result)
    assert_type(do.image.list(private="true"), list[Result])
    assert_type(do.image.destroy("7"), None)
    assert_type(do.action.info(9), Result)
    assert_type(do.image.info(7).model, Image | Action)
