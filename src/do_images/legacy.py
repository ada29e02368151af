"""Names for code written against doboto's ``do.image`` interface.

``DO(token)`` is a ``Client`` whose ``image`` resource keeps doboto's method names;
results are models that also read like the dicts doboto returned
(``image["name"]``). The doboto exception names are aliases of ours.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from ._client import Client
from ._constants import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from ._effects import SyncSleep
from ._errors import ActionTimeoutError, DoImagesError, NotFoundError

__all__ = ["DO", "DOBOTOException", "DOBOTONotFoundException", "DOBOTOPollingException"]

DOBOTOException = DoImagesError
DOBOTONotFoundException = NotFoundError
DOBOTOPollingException = ActionTimeoutError


def _base_url(url: str) -> str:
    """doboto's ``url`` ends in ``/v2/``; ours is the host the ``/v2`` paths hang off."""
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    url = url.rstrip("/")
    return url[: -len("/v2")] if url.endswith("/v2") else url


class DO(Client):
    """doboto's ``DO(token, url, agent)``: a ``Client`` with ``do.image``."""

    def __init__(
        self,
        token: str | None = None,
        url: str = "https://api.digitalocean.com/v2/",
        agent: str = "DOBOTO",
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        sleep: SyncSleep | None = None,
        clock: Callable[[], float] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            token,
            base_url=_base_url(url),
            user_agent=agent,
            timeout=timeout,
            max_retries=max_retries,
            sleep=sleep,
            clock=clock,
            transport=transport,
        )
