# The source of both clients' ``do.image``: tools/unasync.py writes the sync twin,
# src/do_images/_resources/_sync/images.py, from this file.
"""``do.image``: every operation of the Images API, as thin wrappers over the runner.

Each method checks nothing itself and decides nothing: it builds the shared
operation (``_images``, ``_lifecycle``, ``_jobs``, ``_import``) and runs it on its
client's runner (``_effects``), the only code that sends requests or sleeps.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from ..._effects import AsyncRunner
from ..._images import ImageListType, ImageOps, OnUpdate
from ..._models import AccountTransfer, Action, Image
from ..._paging import AsyncPager

if TYPE_CHECKING:
    # The jobs (imports and waits, pruning, fleets, local imports) load with their
    # first call: a command that lists or shows images starts without them.
    from ..._jobs._fleet_apply import OnResult
    from ..._lifecycle import OnAction, OnImage, OnProgress, PrunePlan, PruneReport
    from ..._spaces import OnProgress as OnImportProgress
    from ..._spaces import SpacesTarget
    from ...fleet import Fleet, FleetPlan, FleetReport

__all__ = ["AsyncImageResource"]


class AsyncImageResource:
    """``do.image``: every operation of the Images API (async).

    Every method also takes a keyword-only ``max_retries`` that replaces the
    client's for that one call (``None``: the client's).
    """

    def __init__(self, ops: ImageOps, run: AsyncRunner, page_concurrency: int = 4) -> None:
        self._ops = ops
        self._run = run
        self._page_concurrency = page_concurrency

    async def list(
        self,
        type: ImageListType | None = None,
        private: bool | None = None,
        tag_name: str | None = None,
        *,
        max_retries: int | None = None,
    ) -> list[Image]:
        """Every image, all pages: ``GET /v2/images``.

        ``type`` filters ``"distribution"`` or ``"application"`` images,
        ``private=True`` lists your own images, ``tag_name`` those with a tag. The
        images come back in the API's order; any page that fails fails the call.
        Once the first page gives the total, the other pages may be fetched
        concurrently (the client's ``page_concurrency``).
        """
        return await self._run(
            self._ops.with_retries(max_retries).list(
                type, private, tag_name, self._page_concurrency
            )
        )

    def iter(
        self,
        type: ImageListType | None = None,
        private: bool | None = None,
        tag_name: str | None = None,
        per_page: int = 200,
        *,
        max_retries: int | None = None,
    ) -> AsyncPager[Image]:
        """Images page by page as you iterate: ``GET /v2/images``."""
        first = self._ops.images_url(type, private, tag_name, per_page)
        return AsyncPager(self._run, self._ops.with_retries(max_retries).image_page, first)

    async def info(self, id_slug: int | str, *, max_retries: int | None = None) -> Image:
        """One image by id, or a public image by slug: ``GET /v2/images/{id or slug}``.

        Raises ``NotFoundError`` when there is no such image.
        """
        return await self._run(self._ops.with_retries(max_retries).info(id_slug))

    async def update(
        self,
        id: int,
        name: str | None = None,
        *,
        distribution: str | None = None,
        description: str | None = None,
        max_retries: int | None = None,
    ) -> Image:
        """Change an image's name, distribution or description: ``PUT /v2/images/{id}``.

        Only the fields given are sent.
        """
        return await self._run(
            self._ops.with_retries(max_retries).update(id, name, distribution, description)
        )

    async def destroy(self, id: int, *, max_retries: int | None = None) -> None:
        """Delete a snapshot, backup or custom image: ``DELETE /v2/images/{id}``."""
        await self._run(self._ops.with_retries(max_retries).destroy(id))

    async def create(
        self,
        name: str,
        url: str,
        region: str,
        *,
        distribution: str | None = None,
        description: str | None = None,
        tags: builtins.list[str] | None = None,
        wait: bool = False,
        poll: float = 10.0,
        timeout: float = 3600.0,
        max_retries: int | None = None,
    ) -> Image:
        """Import a custom image from ``url``: ``POST /v2/images``. It starts as ``NEW``.

        Raises ``UnknownOutcomeError`` when the request may have reached the API but
        no answer came back: it is not sent again, so no second image is imported.
        With ``wait=True``, returns once the image is ``available`` (see ``wait_image``).
        """
        from ..._lifecycle import create_and_wait

        ops = self._ops.with_retries(max_retries)
        created = ops.create(name, url, region, distribution, description, tags)
        return await self._run(create_and_wait(ops, created, wait=wait, poll=poll, timeout=timeout))

    async def transfer(
        self,
        id: int,
        region: str,
        wait: bool = False,
        poll: float = 5.0,
        timeout: float = 300.0,
        *,
        max_retries: int | None = None,
    ) -> Action:
        """Copy an image to ``region``: ``POST /v2/images/{id}/actions``.

        With ``wait=True``, returns once the action is completed; raises
        ``ActionFailedError`` or ``ActionTimeoutError`` otherwise. If the POST may have
        reached the API but got no answer, the action it started is looked up before
        the POST is sent once more; ``UnknownOutcomeError`` if that stays inconclusive.
        """
        return await self._run(
            self._ops.with_retries(max_retries).transfer(
                id, region, wait=wait, poll=poll, timeout=timeout
            )
        )

    async def convert(
        self,
        id: int,
        wait: bool = False,
        poll: float = 5.0,
        timeout: float = 300.0,
        *,
        max_retries: int | None = None,
    ) -> Action:
        """Convert a backup to a snapshot: ``POST /v2/images/{id}/actions``."""
        return await self._run(
            self._ops.with_retries(max_retries).convert(id, wait=wait, poll=poll, timeout=timeout)
        )

    async def wait_image(
        self,
        image: Image | int,
        *,
        poll: float = 10.0,
        timeout: float = 3600.0,
        on_update: OnImage | None = None,
        max_retries: int | None = None,
    ) -> Image:
        """Poll an importing image (an ``Image`` or an id) until it is ``available``.

        Raises ``ImageFailedError`` when DigitalOcean gives up on it (``deleted``, an
        ``error_message``, or gone after it existed) and ``ImageTimeoutError`` after
        ``timeout`` seconds. Poll failures that may pass (no connection, 429, 5xx) do
        not end the wait. ``on_update`` is called with the image after every poll.
        """
        from ..._lifecycle import wait_image

        ops = self._ops.with_retries(max_retries)
        return await self._run(
            wait_image(ops, image, poll=poll, timeout=timeout, on_update=on_update)
        )

    async def distribute(
        self,
        id: int,
        regions: Sequence[str],
        *,
        wait: bool = True,
        poll: float = 10.0,
        timeout: float = 3600.0,
        on_update: OnAction | None = None,
        max_retries: int | None = None,
    ) -> dict[str, Action]:
        """Copy an image to every region in ``regions`` it is not in yet: region -> action.

        All transfers are started (never one twice), then awaited together with one
        ``GET /v2/images/{id}/actions`` per poll, whatever the number of regions. A
        region the image is already in is skipped. If any transfer fails to start,
        ends ``errored`` or times out, ``DistributionError`` says which, after the
        others are done. ``on_update`` is called with each action once it started,
        then with each pending one after every poll.
        """
        from ..._lifecycle import distribute

        ops = self._ops.with_retries(max_retries)
        return await self._run(
            distribute(ops, id, regions, wait=wait, poll=poll, timeout=timeout, on_update=on_update)
        )

    async def plan_prune(
        self,
        *,
        keep: int,
        older_than: timedelta | None = None,
        tag_name: str | None = None,
        name_prefix: str | None = None,
        types: Sequence[str] = ("snapshot",),
        group_by: Callable[[Image], str] | None = None,
        max_retries: int | None = None,
    ) -> PrunePlan:
        """Decide which of your snapshots or custom images may go; delete nothing.

        Within each group (``group_by(image)``, default one group) the ``keep`` newest
        stay and, of the rest, those older than ``older_than`` go. Images without
        ``created_at``, not ``available``, public, or of other types always stay.
        """
        from ..._lifecycle import plan_prune

        ops = self._ops.with_retries(max_retries)
        return await self._run(
            plan_prune(
                ops,
                keep=keep,
                older_than=older_than,
                tag_name=tag_name,
                name_prefix=name_prefix,
                types=types,
                group_by=group_by,
            )
        )

    async def prune(
        self,
        plan: PrunePlan,
        *,
        on_progress: OnProgress | None = None,
        max_retries: int | None = None,
    ) -> PruneReport:
        """Delete what ``plan`` says may go, several at a time; report what happened to each.

        A failed deletion does not stop the others (it is in ``failed``); a 404 counts
        as deleted. ``on_progress(done, total)`` is called after each image.
        """
        from ..._lifecycle import prune

        ops = self._ops.with_retries(max_retries)
        return await self._run(
            prune(ops, plan, width=self._page_concurrency, on_progress=on_progress)
        )

    async def action_list(
        self, id: int, *, max_retries: int | None = None
    ) -> builtins.list[Action]:
        """Every action of an image, all pages: ``GET /v2/images/{id}/actions``."""
        return await self._run(
            self._ops.with_retries(max_retries).action_list(id, self._page_concurrency)
        )

    async def action_info(
        self, id: int, action_id: int, *, max_retries: int | None = None
    ) -> Action:
        """One action: ``GET /v2/images/{id}/actions/{action_id}``."""
        return await self._run(self._ops.with_retries(max_retries).action_info(id, action_id))

    async def wait(
        self,
        action: Action,
        *,
        poll: float = 5.0,
        timeout: float = 300.0,
        on_update: OnUpdate | None = None,
        max_retries: int | None = None,
    ) -> Action:
        """Poll ``action`` every ``poll`` seconds until it is completed; return it.

        Raises ``ActionFailedError`` if it errored and ``ActionTimeoutError`` (with
        the last state seen) after ``timeout`` seconds. ``on_update`` is called with
        the action after every poll.
        """
        return await self._run(
            self._ops.with_retries(max_retries).wait(
                action, poll=poll, timeout=timeout, on_update=on_update
            )
        )

    async def tag(self, id: int, *tags: str, max_retries: int | None = None) -> None:
        """Tag an image: ``POST /v2/tags/{tag}/resources`` for each tag.

        A tag that does not exist yet is created first (``POST /v2/tags``); tagging
        an image with a tag it has is no error. Tag names (letters, digits, ``:``,
        ``-``, ``_``, at most 255) are checked before any request and sent exactly
        as given: the API keeps the capitalisation a tag was created with.
        """
        await self._run(self._ops.with_retries(max_retries).tag(id, tags))

    async def untag(self, id: int, *tags: str, max_retries: int | None = None) -> None:
        """Remove tags from an image: ``DELETE /v2/tags/{tag}/resources`` for each tag.

        A tag the image lacks, or that does not exist at all, is no error.
        """
        await self._run(self._ops.with_retries(max_retries).untag(id, tags))

    async def transfer_to_account(
        self,
        id: Image | int,
        *,
        email: str | None = None,
        team: str | None = None,
        max_retries: int | None = None,
    ) -> AccountTransfer:
        """Give a snapshot to another account (``email``) or team (``team``, a UUID).

        ``POST /v2/images/{id}/account_transfer``. Only snapshots can be transferred:
        anything else is refused before the POST (an ``Image`` is checked as given,
        an id costs one ``GET``). A transfer to an account is pending until its
        owner accepts; ``.accepted`` (``transfer_id == 0``) says the recipient team
        took it at once. The POST is never sent twice: an ambiguous failure raises
        ``UnknownOutcomeError``.
        """
        return await self._run(
            self._ops.with_retries(max_retries).transfer_to_account(id, email, team)
        )

    async def accept_account_transfer(
        self, id: int, transfer_id: int, *, team: str, max_retries: int | None = None
    ) -> None:
        """Accept a transfer, as its recipient: ``POST .../account_transfer/accept``.

        ``team`` is the accepting account's team UUID (the spec requires it).
        """
        await self._run(
            self._ops.with_retries(max_retries).accept_account_transfer(id, transfer_id, team)
        )

    async def cancel_account_transfer(
        self, id: int, transfer_id: int, *, max_retries: int | None = None
    ) -> None:
        """Cancel a pending transfer, as its sender: ``POST .../account_transfer/cancel``."""
        await self._run(
            self._ops.with_retries(max_retries).cancel_account_transfer(id, transfer_id)
        )

    async def decline_account_transfer(
        self, id: int, transfer_id: int, *, max_retries: int | None = None
    ) -> None:
        """Decline a pending transfer, as its recipient: ``POST .../account_transfer/decline``."""
        await self._run(
            self._ops.with_retries(max_retries).decline_account_transfer(id, transfer_id)
        )

    async def plan_fleet(self, fleet: Fleet, *, max_retries: int | None = None) -> FleetPlan:
        """What applying ``fleet`` would do: reads every page, changes nothing.

        It reads ``GET /v2/regions`` (every page) first: a group's region that is not
        listed, or not available, raises ``FleetError`` naming it and its group. Then
        the source groups' droplets (``GET /v2/droplets?tag_name=``, every page, or one
        ``GET`` per ``droplet_ids`` entry, a 404 being a droplet gone), the pages of
        ``GET /v2/images?private=true``, the actions of each droplet due a snapshot (one
        may be in progress) and the action list of each kept image that lacks a region
        of its group, to see a transfer already under way.
        Raises ``FleetError`` for an image two groups select.
        """
        from ..._jobs._fleet_apply import plan_fleet

        ops = self._ops.with_retries(max_retries)
        return await self._run(plan_fleet(ops, fleet, width=self._page_concurrency))

    async def apply_fleet(
        self,
        plan: FleetPlan,
        *,
        max_delete: int | None = None,
        max_plan_age: timedelta = timedelta(hours=1),
        poll: float = 10.0,
        timeout: float = 3600.0,
        on_result: OnResult | None = None,
        wait: bool = True,
        metrics_file: str | os.PathLike[str] | None = None,
        max_retries: int | None = None,
    ) -> FleetReport:
        """Carry ``plan`` out; what happened to each entry is in the ``FleetReport``.

        Before any change: more than ``max_delete`` deletions (``None``: the fleet file's
        ``max_delete``, 20 unless it says otherwise) raise ``FleetError``; the
        account is read again and the rule run on it with the plan's fleet at the plan's
        ``listed_at``: any difference but the plan's own progress, a changed fleet file,
        or a plan older than ``max_plan_age`` by the server's clock raises
        ``StalePlanError``. Then the transfers (a transfer under way is adopted, never
        started twice; one action-list poll per image per cycle), the tags, and each
        group's deletions once its transfers completed (none if one failed), each
        re-checked on a listing read just before: an image the rule no longer deletes,
        or that changed since the plan, is skipped. ``on_result`` is called with each
        entry's ``EntryResult``.

        With source groups (scheduled snapshots), every due droplet's snapshot comes
        first, all awaited together, each new image tagged and copied; a droplet's
        deletions follow only its completed, copied snapshot. A droplet busy (locked, a
        snapshot in progress, a 422) leaves its entry ``pending``. ``wait=False`` starts
        the snapshots and transfers, awaits none and deletes nothing (``started``); it
        refuses a ``power_off`` group (``FleetError``). Over ``max_delete``, a plan with
        snapshots still makes them, tags and copies them, and deletes nothing (those
        deletions ``skipped``).

        ``metrics_file``: a path that gets the apply's metrics in Prometheus' text format
        (for node_exporter's textfile collector), written atomically after the apply,
        whatever its end: done, failed, stale or interrupted. It is checked before any
        request: a path that cannot be written raises ``ValueError``.
        """
        from ..._jobs._fleet_apply import apply_fleet
        from ..._jobs._metrics import MetricsFile

        ops = self._ops.with_retries(max_retries)
        metrics = None if metrics_file is None else MetricsFile.at(metrics_file)
        apply = apply_fleet(
            ops,
            plan,
            width=self._page_concurrency,
            max_delete=max_delete,
            max_plan_age=max_plan_age,
            poll=poll,
            timeout=timeout,
            on_result=on_result if metrics is None else metrics.collect(on_result),
            wait=wait,
        )
        return await self._run(apply if metrics is None else metrics.around(plan, apply))

    async def import_file(
        self,
        path: str | os.PathLike[str],
        *,
        name: str,
        region: str,
        space: SpacesTarget,
        regions: Sequence[str] = (),
        distribution: str | None = None,
        description: str | None = None,
        tags: Sequence[str] = (),
        timeout: float = 3600.0,
        poll: float = 10.0,
        keep_object: bool = False,
        public_read: bool = False,
        resume: bool = True,
        on_progress: OnImportProgress | None = None,
        max_retries: int | None = None,
    ) -> Image:
        """Import a local disk image: check it, upload it to ``space``, import, wait,
        copy it to ``regions``, and delete the uploaded object; return the image.

        The file is checked by its content before anything is sent (``ImageFileError``:
        gzip or bzip2 or none; raw, qcow2, VHDX, VDI or VMDK; at most 100 GB). The
        upload is multipart with several parts in flight, resumable (``resume``), and
        the API fetches it through a presigned URL (``public_read=True``: a public
        object for the import instead). The object is deleted once the import ended,
        succeeded or failed, unless ``keep_object``, and kept while it may still run (the
        error then names it). ``on_progress`` gets
        ``UploadProgress`` then ``ImportProgress``. Errors after the import started
        carry ``.image``.
        """
        from ..._import import import_file

        ops = self._ops.with_retries(max_retries)
        return await self._run(
            import_file(
                ops,
                path,
                name=name,
                region=region,
                space=space,
                regions=regions,
                distribution=distribution,
                description=description,
                tags=tags,
                timeout=timeout,
                poll=poll,
                keep_object=keep_object,
                public_read=public_read,
                resume=resume,
                on_progress=on_progress,
            )
        )
