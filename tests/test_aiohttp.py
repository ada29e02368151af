"""The optional aiohttp transport (``do-images[aiohttp]``) carries every kind of call."""

from __future__ import annotations

import asyncio

import pytest
from httpx_aiohttp import HttpxAiohttpClient

from do_images import AsyncClient, NotFoundError
from do_images.testing import Sandbox
from sandbox_support import assert_spec_valid

SNAPSHOT = 180040001


def test_async_client_over_aiohttp_against_a_served_sandbox() -> None:
    """Lists, reads, errors, a transfer with waiting and a retried 503, over aiohttp."""
    sandbox = Sandbox()

    async def sleep(seconds: float) -> None:
        sandbox.advance(seconds)

    async def main() -> None:
        with sandbox.serve() as base_url:
            async with (
                HttpxAiohttpClient() as http,
                AsyncClient(
                    "dop_v1_aiohttp",
                    base_url=base_url,
                    http_client=http,
                    sleep=sleep,
                    clock=sandbox.clock,
                ) as do,
            ):
                images = await do.image.list()
                assert len(images) == len(sandbox.images)
                assert (await do.image.info(SNAPSHOT)).id == SNAPSHOT
                sandbox.fail_next(503, method="GET")
                assert (await do.image.info("ubuntu-24-04-x64")).public is True
                action = await do.image.transfer(SNAPSHOT, "lon1", wait=True)
                assert action.status == "completed"
                with pytest.raises(NotFoundError):
                    await do.image.info(1)

    asyncio.run(main())
    assert_spec_valid(sandbox)
