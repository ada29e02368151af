"""The public API as a user's code meets it: checked by ``mypy --strict``, never run.

Each ``assert_type`` pins what a call returns; a change to a public signature or
return type fails type checking here before it reaches anyone's code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from typing_extensions import assert_type

from do_images import (
    AccountTransfer,
    Action,
    ActionStatus,
    AsyncClient,
    AsyncPager,
    Client,
    Droplet,
    DropletBusyError,
    DropletPowerOnError,
    Image,
    ImageStatus,
    ImageType,
    ImportProgress,
    NotFoundError,
    Pager,
    PrunePlan,
    PruneReport,
    RateLimit,
    RateLimitError,
    Snapshot,
    SnapshotNotFoundError,
    SpacesTarget,
    UploadProgress,
)
from do_images.fleet import Fleet, FleetPlan, FleetReport
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


def droplet_usage(do: Client, action: Action) -> None:
    assert_type(do.droplet.list(), list[Droplet])
    assert_type(do.droplet.list(tag_name="web"), list[Droplet])
    assert_type(do.droplet.iter(tag_name="web", per_page=50), Pager[Droplet])
    assert_type(do.droplet.info(3164494), Droplet)
    assert_type(do.droplet.actions(3164494), list[Action])
    assert_type(do.droplet.snapshots(3164494), list[Image])
    assert_type(do.droplet.snapshot(3164494), Image)
    assert_type(do.droplet.snapshot(3164494, "n", power_off=True, poll=5, timeout=60), Image)
    assert_type(do.droplet.snapshot(3164494, wait=False), Action)
    assert_type(do.droplet.snapshot(3164494, wait=bool(action)), Image | Action)
    assert_type(do.droplet.snapshot_image(action, name="n", poll=10, timeout=3600), Image)
    assert_type(do.droplet.power_on(3164494, wait=False), Action)
    assert_type(do.snapshot.list(), list[Snapshot])
    assert_type(do.snapshot.list(resource_type="droplet"), list[Snapshot])
    assert_type(do.snapshot.info("180040001"), Snapshot)
    assert_type(do.snapshot.info(180040001), Snapshot)
    assert_type(do.snapshot.destroy("fbe805e8-866b-11e6-96bf-000f53315a41"), None)
    try:
        do.droplet.snapshot(3164494)
    except DropletBusyError as busy:
        assert_type(busy.droplet_id, int | None)
    except SnapshotNotFoundError as missing:
        assert_type(missing.action, Action)
        assert_type(missing.droplet_id, int | None)
    except DropletPowerOnError as left_off:
        assert_type(left_off.droplet_id, int)
        assert_type(left_off.image, Image | None)


async def async_droplet_usage(do: AsyncClient, action: Action) -> None:
    assert_type(await do.droplet.list(tag_name="web"), list[Droplet])
    assert_type(do.droplet.iter(), AsyncPager[Droplet])
    assert_type(await do.droplet.snapshot(3164494), Image)
    assert_type(await do.droplet.snapshot(3164494, wait=False), Action)
    assert_type(await do.droplet.snapshot_image(action), Image)
    assert_type(await do.droplet.power_on(3164494), Action)
    assert_type(await do.snapshot.list(), list[Snapshot])


def tag_and_account_transfer_usage(do: Client, team: str) -> None:
    assert_type(do.image.tag(7, "web", "prod"), None)
    assert_type(do.image.untag(7, "web"), None)
    transfer = do.image.transfer_to_account(7, email="someone@example.com")
    assert_type(transfer, AccountTransfer)
    assert_type(transfer.transfer_id, int)
    assert_type(transfer.accepted, bool)
    assert_type(do.image.transfer_to_account(7, team=team, max_retries=0), AccountTransfer)
    assert_type(do.image.accept_account_transfer(7, transfer.transfer_id, team=team), None)
    assert_type(do.image.cancel_account_transfer(7, transfer.transfer_id), None)
    assert_type(do.image.decline_account_transfer(7, transfer.transfer_id), None)


def lifecycle_usage(do: Client) -> None:
    assert_type(do.image.wait_image(7, timeout=600), Image)
    assert_type(do.image.distribute(7, ["sfo3", "ams3"], wait=False), dict[str, Action])
    plan = do.image.plan_prune(keep=3, older_than=timedelta(days=30), tag_name="web")
    assert_type(plan, PrunePlan)
    assert_type(do.image.prune(plan, on_progress=lambda done, total: None), PruneReport)


def import_usage(do: Client, progress: list[UploadProgress | ImportProgress]) -> None:
    space = SpacesTarget("my-images", region="nyc3", key_prefix="imports/")
    image = do.image.import_file(
        Path("disk.qcow2.gz"),
        name="web",
        region="nyc3",
        space=space,
        regions=["sfo3"],
        tags=["web"],
        on_progress=progress.append,
    )
    assert_type(image, Image)


def fleet_usage(do: Client) -> None:
    fleet = Fleet.load("fleet.toml")
    assert_type(fleet, Fleet)
    plan = do.image.plan_fleet(fleet)
    assert_type(plan, FleetPlan)
    assert_type(plan.changes, int)
    plan.save("plan.json")
    assert_type(FleetPlan.load("plan.json"), FleetPlan)
    report = do.image.apply_fleet(plan, max_delete=5, on_result=print)
    assert_type(report, FleetReport)
    assert_type(report.ok, bool)


async def async_job_usage(do: AsyncClient, fleet: Fleet, team: str) -> None:
    assert_type(await do.image.tag(7, "web"), None)
    assert_type(await do.image.transfer_to_account(7, team=team), AccountTransfer)
    assert_type(await do.image.plan_fleet(fleet), FleetPlan)
    assert_type(await do.image.apply_fleet(await do.image.plan_fleet(fleet)), FleetReport)
    space = SpacesTarget("my-images")
    assert_type(await do.image.import_file("d.img", name="n", region="nyc3", space=space), Image)


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
