"""How fast ``do-images`` starts: whole processes, interleaved, medians.

Each case is run ``--rounds`` times in turn with the others; the table gives each
median and its ratio to its floor: ``python -c pass`` for ``--version`` and ``--help``,
and for ``--json info`` and ``--sandbox list`` a script that imports httpx, defines
``Image`` and ``Action`` as plain pydantic models with the same field types, GETs the
image from the same loopback server, validates it and prints it as JSON.

The package's sources are byte-compiled first, as an install does (pip compiles them),
so an editable install with ``PYTHONDONTWRITEBYTECODE`` set is not charged for compiling
them on every run. httpx imports click, rich and pygments when they are installed (for
its own command line): the floor then pays for them too, so figures comparable to a
user's come from a virtualenv with the runtime dependencies only
(``pip install . && python benchmarks/startup.py``).

    python benchmarks/startup.py --rounds 21
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

FLOOR_SCRIPT = """
import json, sys
from datetime import datetime
import httpx
from pydantic import BaseModel

class Region(BaseModel):
    name: str; slug: str; features: list[str]; available: bool; sizes: list[str]

class Image(BaseModel):
    id: int; name: str | None = None; type: str | None = None
    distribution: str | None = None; slug: str | None = None; public: bool | None = None
    regions: list[str] | None = None; created_at: datetime | None = None
    min_disk_size: int | None = None; size_gigabytes: float | None = None
    description: str | None = None; tags: list[str] | None = None
    status: str | None = None; error_message: str | None = None

class Action(BaseModel):
    id: int; status: str; type: str; started_at: datetime | None = None
    completed_at: datetime | None = None; resource_id: int | None = None
    resource_type: str | None = None; region: Region | None = None
    region_slug: str | None = None

body = httpx.get(sys.argv[1] + "/v2/images/180040001",
                 headers={"Authorization": "Bearer dop_v1_startup_benchmark"}).content
image = Image.model_validate_json(json.dumps(json.loads(body)["image"]))
print(image.model_dump_json())
"""


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args(argv)
    import compileall

    import do_images
    from do_images.testing import Sandbox

    compileall.compile_dir(os.path.dirname(do_images.__file__), quiet=1)
    script = shutil.which("do-images") or "do-images"
    env = {**os.environ, "DIGITALOCEAN_TOKEN": "dop_v1_startup_benchmark"}
    with Sandbox().serve() as base_url:
        cases: dict[str, tuple[list[str], str]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], ""),
            "do-images --version": ([script, "--version"], "python -c pass"),
            "do-images --help": ([script, "--help"], "python -c pass"),
            "do-images list --help": ([script, "list", "--help"], "python -c pass"),
            "httpx + plain pydantic Image/Action, GET, validate, print": (
                [sys.executable, "-c", FLOOR_SCRIPT, base_url],
                "",
            ),
            "do-images --json info ID (loopback server)": (
                [script, "--base-url", base_url, "--json", "info", "180040001"],
                "httpx + plain pydantic Image/Action, GET, validate, print",
            ),
            "do-images --sandbox list": (
                [script, "--sandbox", "list"],
                "httpx + plain pydantic Image/Action, GET, validate, print",
            ),
        }
        runs: dict[str, list[float]] = {name: [] for name in cases}
        run: Callable[[list[str]], float] = lambda argv: timed(argv, env)  # noqa: E731
        for argv_, _ in cases.values():  # warm the file cache
            run(argv_)
        for _ in range(args.rounds):
            for name, (argv_, _) in cases.items():
                runs[name].append(run(argv_))
    median = {name: statistics.median(values) for name, values in runs.items()}
    print("| case | median | ratio | target | met |")
    print("|---|---:|---:|---:|:-:|")
    for name, (_, floor) in cases.items():
        if not floor:
            print(f"| {name} | {median[name] * 1000:.0f} ms |  |  |  |")
            continue
        ratio = median[name] / median[floor]
        target = 3.0 if floor == "python -c pass" else (1.15 if "info" in name else 1.2)
        met = "yes" if ratio <= target else "no"
        print(f"| {name} | {median[name] * 1000:.0f} ms | {ratio:.2f}x | ≤ {target:.2f}x | {met} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
