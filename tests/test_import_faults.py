"""A seeded fault run of ``import_file`` on both clients, against moto's S3 on loopback
(through a proxy that cuts, fails and refuses) and the fetching sandbox: interruptions at
every stage, Spaces and API faults, and files changed under the upload. After each run
the invariants of API.md's step 5 are checked:

- no object is left public;
- no multipart upload is orphaned (one left is the resumable one of the state file);
- the object is never deleted while the import may run (checked at the moment of each
  deletion, against the sandbox), stays while the image is NEW or pending, and is gone
  once the import ended, unless ``keep_object``; an object left otherwise is named to
  the caller (on the error or interruption, or in a WARNING when a cleanup failed);
- nothing is imported from a file that changed;
- only a ``DoImagesError`` or the interruption itself escapes, and no secret with it.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from do_images import DoImagesError
from do_images._spaces import Uploader
from do_images._uploads import read_state, state_path
from do_images.testing import Sandbox
from image_files import raw_mbr
from import_support import MiB, Moments, Rig, created, key_of, objects, public, target, uploads
from spaces_support import SECRET, FaultProxy, free_port, new_bucket

SEED = 20261206
REPEATS = 2
"""Runs of each fault on each client, their other choices drawn from the seed."""


@dataclass
class Run:
    """One run: what was chosen, what was injected, and what came of it."""

    number: int
    kind: str
    fault: str
    multipart: bool
    public_read: bool
    keep_object: bool
    regions: list[str]
    moments: Moments = field(default_factory=Moments)
    world: Sandbox = field(default_factory=Sandbox)
    timeout: float = 3600
    max_retries: int = 2
    closed_endpoint: bool = False
    changes_file: bool = False
    cleanup_fault: bool = False
    outcome: BaseException | None = None
    warnings: list[str] = field(default_factory=list)
    deleted_while_running: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        flags = [k for k in ("multipart", "public_read", "keep_object") if getattr(self, k)]
        return f"run {self.number} ({self.kind}, {self.fault}, {'+'.join(flags) or '-'})"


Setup = Callable[[Run, FaultProxy, Path, pytest.MonkeyPatch], None]


def _interrupt_in(method: str) -> Setup:
    """Interrupt inside ``Uploader.<method>`` (a cleanup step), once."""

    def setup(run: Run, proxy: FaultProxy, path: Path, mp: pytest.MonkeyPatch) -> None:
        real = getattr(Uploader, method)
        run.cleanup_fault = True

        def interrupted(self: Uploader, key: str) -> Any:
            RIGS[run.number].fire(f"in {method}", in_thread=run.kind == "async")
            return real(self, key)

        mp.setattr(Uploader, method, interrupted)

    return setup


def _change_file(touch: bool) -> Setup:
    """Rewrite a byte (or only move the modification time) once the upload is on its way."""

    def setup(run: Run, proxy: FaultProxy, path: Path, mp: pytest.MonkeyPatch) -> None:
        run.changes_file = True
        real = Uploader.digests

        def then_change(self: Uploader, image: Any, stop: Any = None) -> Any:
            digests = real(self, image, stop)
            if touch:
                os.utime(path, ns=(0, 10**18))
            else:
                with path.open("r+b") as stream:
                    stream.seek(path.stat().st_size - 4096)
                    stream.write(b"\xa5" * 16)
            return digests

        mp.setattr(Uploader, "digests", then_change)

    return setup


def _kept_and_public(setup: Setup) -> Setup:
    """``setup`` on a run that keeps a public-read object (so it is made private)."""

    def kept(run: Run, proxy: FaultProxy, path: Path, mp: pytest.MonkeyPatch) -> None:
        run.keep_object = run.public_read = True
        setup(run, proxy, path, mp)

    return kept


def _deleted(setup: Setup) -> Setup:
    """``setup`` on a run whose object is deleted at the end (not kept)."""

    def deleted(run: Run, proxy: FaultProxy, path: Path, mp: pytest.MonkeyPatch) -> None:
        run.keep_object = False
        setup(run, proxy, path, mp)

    return deleted


def _multipart(setup: Setup) -> Setup:
    """``setup`` on a run whose file goes up in parts."""

    def parts(run: Run, proxy: FaultProxy, path: Path, mp: pytest.MonkeyPatch) -> None:
        run.multipart = True
        setup(run, proxy, path, mp)

    return parts


def _set(**changes: Any) -> Setup:
    """Set these on the run (``proxy_*``: on its proxy), each run its own copy."""

    def setup(run: Run, proxy: FaultProxy, path: Path, mp: pytest.MonkeyPatch) -> None:
        for name, value in copy.deepcopy(changes).items():
            if name.startswith("proxy_"):
                setattr(proxy, name.removeprefix("proxy_"), value)
            else:
                setattr(run, name, value)

    return setup


def _world(action: Callable[[Sandbox], Any], **changes: Any) -> Setup:
    def setup(run: Run, proxy: FaultProxy, path: Path, mp: pytest.MonkeyPatch) -> None:
        _set(**changes)(run, proxy, path, mp)
        action(run.world)

    return setup


def _unwritable_state(run: Run, proxy: FaultProxy, path: Path, mp: pytest.MonkeyPatch) -> None:
    from do_images import _uploads

    def read_only(where: Path, state: object) -> None:
        raise PermissionError(13, "Permission denied", str(where))

    mp.setattr(_uploads, "write_state", read_only)


def _slow_import(run: Run, proxy: FaultProxy, path: Path, mp: pytest.MonkeyPatch) -> None:
    """Imports take 30 minutes; the wait gives up after one."""
    run.world, run.timeout = Sandbox(import_seconds=1800), 60


def _spaces_down_at_cleanup(
    run: Run, proxy: FaultProxy, path: Path, mp: pytest.MonkeyPatch
) -> None:
    """Deletions cannot reach Spaces (the ACL change still can)."""
    run.cleanup_fault = True
    proxy.cut = {"DELETE"}


FAULTS: dict[str, Setup] = {
    "none": _set(),
    "ctrl-c during the upload": _set(moments=Moments(upload_bytes=1)),
    "ctrl-c before the create": _set(moments=Moments(request=("POST", "/v2/images"))),
    "ctrl-c after the create was sent": _set(
        moments=Moments(request=("POST", "/v2/images"), after=True)
    ),
    "ctrl-c during the import wait": _set(moments=Moments(sleep=2)),
    "ctrl-c during distribute": _set(
        moments=Moments(request=("GET", "/v2/images/190000001/actions")), regions=["sfo3"]
    ),
    "ctrl-c during the cleanup's delete": _deleted(_interrupt_in("remove")),
    "ctrl-c while making it private": _kept_and_public(_interrupt_in("make_private")),
    "ctrl-c during the upload, parts failing 503": _multipart(
        _set(moments=Moments(upload_bytes=1), proxy_failing=Counter({"part": 2, "PUT": 2}))
    ),
    "spaces refuses connections": _set(closed_endpoint=True),
    "spaces 503 then recovers": _set(proxy_failing=Counter({"part": 2, "PUT": 2, "POST": 1})),
    "spaces 503 for good": _set(proxy_failing=Counter({"part": 99, "PUT": 99})),
    "spaces refuses parts (403)": _multipart(_set(proxy_refuse_parts=True)),
    "spaces cut mid-upload": _set(proxy_down_after=1, proxy_cut={"PUT"}),
    "spaces down at the cleanup": _spaces_down_at_cleanup,
    "resume state cannot be written": _multipart(_unwritable_state),
    "create refused (422)": _world(lambda w: w.fail_next(422, method="POST")),
    "create answer lost": _world(lambda w: w.drop_next(1, method="POST"), max_retries=0),
    "import wait times out": _slow_import,
    "import failed": _world(lambda w: w.fail_next_import("We could not read your file.")),
    "a transfer errored": _world(lambda w: w.error_next_action(), regions=["sfo3"]),
    "file changed during the upload": _change_file(touch=False),
    "file touched during the upload": _change_file(touch=True),
}

RIGS: dict[int, Rig] = {}


def plan_runs(kind: str, half: int) -> list[Run]:
    """Every other fault (from the first or the second) on ``kind``'s client, ``REPEATS``
    times each, the other choices seeded."""
    rng = random.Random(f"{SEED}-{kind}-{half}")
    runs: list[Run] = []
    for fault in list(FAULTS)[half::2]:
        for _ in range(REPEATS):
            runs.append(
                Run(
                    number=len(runs) + 1,
                    kind=kind,
                    fault=fault,
                    multipart=rng.random() < 0.6,
                    public_read=rng.random() < 0.5,
                    keep_object=rng.random() < 0.2,
                    regions=["sfo3"] if rng.random() < 0.4 else [],
                )
            )
    return runs


@contextmanager
def deletions_checked(run: Run) -> Iterator[None]:
    """Every deletion is checked at its moment: no image of this run may be importing."""
    real = Uploader.remove

    def remove(self: Uploader, key: str) -> bool:
        running = [
            image.id
            for image in run.world.images
            if image.name == f"run{run.number}" and str(image.status).lower() in ("new", "pending")
        ]
        if running:
            run.deleted_while_running.append(f"{key} while image {running} imports")
        return real(self, key)

    Uploader.remove = remove  # type: ignore[method-assign]
    try:
        yield
    finally:
        Uploader.remove = real  # type: ignore[method-assign]


class Warnings(logging.Handler):
    def __init__(self, run: Run) -> None:
        super().__init__(logging.WARNING)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        self.run.warnings.append(record.getMessage())


def execute(run: Run, endpoint: str, folder: Path, mp: pytest.MonkeyPatch) -> str:
    """Run ``run``; return its bucket."""
    bucket = new_bucket(endpoint)
    path = folder / f"run{run.number}.img"
    with ExitStack() as stack, FaultProxy(endpoint) as proxy:
        inner = stack.enter_context(pytest.MonkeyPatch.context())
        FAULTS[run.fault](run, proxy, path, inner)
        size = 3 * MiB + 4096 if run.multipart else 512 * 1024
        path.write_bytes(raw_mbr(size)[:-16] + random.Random(run.number).randbytes(16))
        space_at = f"http://127.0.0.1:{free_port()}" if run.closed_endpoint else proxy.url
        rig = RIGS[run.number] = Rig(run.kind, run.world, run.moments, max_retries=run.max_retries)
        handler = Warnings(run)
        logging.getLogger("do_images").addHandler(handler)
        stack.callback(logging.getLogger("do_images").removeHandler, handler)
        stack.enter_context(deletions_checked(run))
        try:
            rig.import_file(
                path,
                name=f"run{run.number}",
                region="nyc3",
                regions=run.regions,
                space=target(bucket, space_at),
                keep_object=run.keep_object,
                public_read=run.public_read,
                timeout=run.timeout,
            )
        except BaseException as exc:  # what escapes is checked below
            run.outcome = exc
    return bucket


def violations(
    run: Run, endpoint: str, bucket: str, folder: Path, checks: Counter[str]
) -> list[str]:
    """What in the world after ``run`` breaks an invariant (each check counted)."""
    found: list[str] = []
    outcome = run.outcome
    path = folder / f"run{run.number}.img"

    def check(name: str, ok: bool, detail: str = "") -> None:
        checks[name] += 1
        if not ok:
            found.append(f"{run}: {name}{': ' + detail if detail else ''}")

    interruption = KeyboardInterrupt if run.kind == "sync" else asyncio.CancelledError
    check(
        "only a DoImagesError or the interruption escapes",
        outcome is None or isinstance(outcome, (DoImagesError, interruption)),
        repr(outcome),
    )
    named = getattr(outcome, "object_key", None)
    left = objects(endpoint, bucket)
    for key in left:
        check("no object left public", not public(endpoint, bucket, key), key)
    saved = read_state(state_path(path)) or {}
    resumable = isinstance(outcome, interruption) or getattr(outcome, "resumable", False)
    for key, upload_id in uploads(endpoint, bucket):
        # An upload left is the one the state file names, after an end that says so.
        kept = saved.get("upload_id") == upload_id and resumable
        check("no orphaned multipart upload", kept, f"{key} after {outcome!r}")
    check("never deleted while the import may run", not run.deleted_while_running,
          "; ".join(run.deleted_while_running))  # fmt: skip
    urls = {key_of(body["url"]) for body in created(run.world)}
    running = [i for i in run.world.images if str(i.status).lower() in ("new", "pending")]
    for key in urls:
        if running:
            check("kept while the import may run", key in left, key)
            check("the caller is told what was kept", named == key or run.keep_object, key)
    for key in left:
        told = named == key or any(key in text for text in run.warnings)
        check("an object left is named to the caller", run.keep_object or told, key)
    if outcome is None and not run.keep_object and not run.cleanup_fault:
        check("deleted once the import ended", left == [], str(left))
    if run.changes_file:
        check("nothing imported from a changed file", created(run.world) == [], str(urls))
    blob = f"{outcome!s} {outcome!r} {vars(outcome) if outcome is not None else ''}"
    check("no secret escapes", "X-Amz-Signature" not in blob and SECRET not in blob)
    return found


@pytest.mark.parametrize("half", [0, 1])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_import_under_faults_keeps_every_invariant(
    kind: str, half: int, s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half the faults, twice each, on one client: no object left public, no orphaned
    upload, the object kept while the import may run and gone once it ended, nothing
    imported from a changed file, only typed errors or the interruption escape."""
    from import_support import smaller_parts

    runs = plan_runs(kind, half)
    checks: Counter[str] = Counter()
    found: list[str] = []
    with smaller_parts(monkeypatch, MiB):
        monkeypatch.setattr("do_images._spaces.PARTS_IN_FLIGHT", 2)
        for run in runs:
            bucket = execute(run, s3_endpoint, tmp_path, monkeypatch)
            found += violations(run, s3_endpoint, bucket, tmp_path, checks)
    fired = sum(bool(run.moments.fired) for run in runs)
    outcomes = Counter(type(run.outcome).__name__ if run.outcome else "ok" for run in runs)
    print(
        f"\n{kind}, faults {half}::2: {len(runs)} runs, {len(runs) // REPEATS} faults, "
        f"{fired} interruptions delivered, {sum(checks.values())} invariant checks; "
        f"outcomes {dict(outcomes)}"
    )
    assert found == [], "\n".join(found)
    assert len(runs) == len(list(FAULTS)[half::2]) * REPEATS
    planned = [run for run in runs if run.fault.startswith("ctrl-c")]
    assert all(run.moments.fired for run in planned), [
        str(r) for r in planned if not r.moments.fired
    ]
    if any(run.fault == "none" for run in runs):
        assert outcomes["ok"] >= REPEATS  # and the runs without a fault went through
