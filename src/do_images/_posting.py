"""Action POSTs that are never sent twice, and where an action is polled.

A POST that may have reached the API without an answer (a timeout, a dropped
connection, a 5xx, an answer that does not parse) is followed by a look at the
resource's actions for the one it may have started, by the server's clock; that one
is adopted. Image actions and droplet actions share this (``start_action``): only the
URLs and whether the POST may be sent once more differ.

``action_url`` is where waiting polls an action: its resource's path, by
``resource_type``, or ``GET /v2/actions/{id}`` for any other kind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx

from ._checks import check_id
from ._effects import Op, Sleep
from ._errors import ActionTimeoutError, DoImagesError, UnknownOutcomeError
from ._models import ACTION_ANY, ACTION_PAGE, Action, ActionEnvelope
from ._paging import PageWalk, page_of
from ._polling import Watch, action_done, carry_action, poll_until
from ._retry import action_matches, after_lookup, lookup_delay, matching_since
from ._session import Session

logger = logging.getLogger("do_images")

Send = Callable[[httpx.Request], Op[httpx.Response]]
"""Sends a request with the caller's retries: ``ImageOps.send``."""
Get = Callable[["str | httpx.URL"], Op[httpx.Response]]
"""``GET url`` with the caller's retries: ``ImageOps.get``."""


def start_action(
    session: Session,
    *,
    send: Send,
    get: Get,
    post_url: str,
    list_url: str,
    body: dict[str, Any],
    resends: int,
) -> Op[Action]:
    """POST ``body`` to ``post_url``; after an ambiguous failure, find the action before
    sending again.

    When the POST may have reached the API but no answer came back, the actions at
    ``list_url`` (every page) are searched for one of the same type (and region, for
    a transfer) started no earlier than this call, by the server's ``Date``; that one
    is returned. Only when there is none is the POST sent once more, at most
    ``resends`` times; after that the search is the last word and
    ``UnknownOutcomeError`` is raised: one call never starts two actions.
    """
    request = session.request("POST", post_url, body)
    started = session.clock()
    attempts = 0
    while True:
        try:
            response = yield from send(request)
            # An answer that does not parse is no answer: look for the action.
            parsed = session.parse_posted(ACTION_ANY, response)
        except UnknownOutcomeError as unknown:
            attempts += unknown.attempts
            yield Sleep(lookup_delay(session.jitter))
            try:
                found = yield from find_action(session, get, list_url, body, started)
            except DoImagesError as lookup_error:
                raise UnknownOutcomeError(
                    f"{unknown.message}; looking for the action failed too: {lookup_error}",
                    attempts=attempts,
                ) from unknown.__cause__
            decision = after_lookup(found is not None, resends)
            if found is not None:  # decision == "adopt"
                logger.info(
                    "POST %s: found action %d it started; not sending again",
                    request.url.path,
                    found.id,
                )
                return found
            if decision == "give up":
                raise UnknownOutcomeError(
                    f"{unknown.message}; no matching action found after {attempts} "
                    "attempt(s), but one may still appear: look before sending again",
                    attempts=attempts,
                ) from unknown.__cause__
            resends -= 1
            logger.info("POST %s: no action started; sending once more", request.url.path)
            continue
        return parsed.action if isinstance(parsed, ActionEnvelope) else parsed


def find_action(
    session: Session, get: Get, list_url: str, body: dict[str, Any], started: float
) -> Op[Action | None]:
    """The earliest action at ``list_url`` matching ``body`` started since ``started``
    (session clock), every page read."""
    walk = PageWalk.starting_at(list_url)
    url: str | httpx.URL | None = list_url
    since = None
    matches: list[Action] = []
    while url is not None:
        response = yield from get(url)
        if since is None:
            since = matching_since(response, session.clock() - started)
        page = page_of(session.parse_page(ACTION_PAGE, response))
        matches.extend(action for action in page.items if action_matches(action, body, since))
        url = walk.admit(page.next_url)
    # Of several candidates, the one started first is the one closest to our POST.
    return min(matches, key=lambda action: (action.started_at, action.id), default=None)


def action_url(session: Session, action: Action, *, untyped: str = "any") -> str:
    """Where ``action`` is polled: ``GET /v2/images/{id}/actions/{action_id}`` for an
    image's, ``GET /v2/droplets/{id}/actions/{action_id}`` for a droplet's, and
    ``GET /v2/actions/{action_id}`` for any other kind. An action without a
    ``resource_type`` is taken as ``untyped`` says (``"image"``, or ``"any"``)."""
    kind = str(action.resource_type) if action.resource_type is not None else untyped
    action_id = check_id(action.id, "action id")
    if kind in ("image", "droplet"):
        resource = check_id(action.resource_id, "action.resource_id")
        return session.api_url(f"{kind}s", resource, "actions", action_id)
    return session.api_url("actions", action_id)


def fetch_action(session: Session, get: Get, url: str) -> Op[Action]:
    """``GET url``: one action, wrapped or bare."""
    response = yield from get(url)
    return session.parse_action(response)


def wait_action(
    session: Session,
    get: Get,
    action: Action,
    *,
    poll: float,
    timeout: float,
    on_update: Callable[[Action], object] | None = None,
    untyped: str = "any",
) -> Op[Action]:
    """Poll ``action`` at ``action_url`` (``untyped`` as there) until it is completed
    (``poll_until``: a poll that fails transiently waits for the next). Every error
    raised carries the action as last seen (``.action``): ``ActionFailedError`` once it
    errored, ``ActionTimeoutError`` after ``timeout`` (with the last poll's failure, if
    it failed, as its ``__cause__``). ``poll`` and ``timeout`` are checked already."""
    url = action_url(session, action, untyped=untyped)
    watch = Watch(
        fetch=lambda: fetch_action(session, get, url),
        done=action_done,
        timed_out=lambda last: ActionTimeoutError(last or action, timeout=timeout),
        carry=lambda error, last: carry_action(error, last or action),
        what=f"action {action.id}",
    )
    return (
        yield from poll_until(
            watch, clock=session.clock, poll=poll, timeout=timeout, seen=action, on_seen=on_update
        )
    )


__all__ = ["action_url", "fetch_action", "find_action", "start_action", "wait_action"]
