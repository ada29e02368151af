"""The benchmark scripts still run: tiny sizes, structure of the output only (no timings)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


def rows(table: str) -> dict[str, list[str]]:
    """The table's rows by their first cell (header and rule left out)."""
    out: dict[str, list[str]] = {}
    for line in table.splitlines():
        if line.startswith("| ") and not line.startswith(
            ("| case ", "| parse and keep ", "| the listing")
        ):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            out[cells[0]] = cells[1:]
    return out


def test_bench_prints_every_case_with_its_ratio() -> None:
    """``bench.py`` prints every case: floors bare, the others with times in ms and a ratio."""
    out = run(
        "bench.py",
        *("--rounds", "1", "--images", "450", "--calls", "3", "--delay-ms", "1"),
        *("--memory-images", "0", "--import-runs", "0", "--deletes", "4", "--burst", "0"),
    )
    table = rows(out)
    ratio = re.compile(r"\d+\.\d\dx")
    floors = [
        "list 450: httpx + json.loads",
        "info x3: httpx + json.loads",
        "info x3: async httpx + json.loads",
        "list 450, 1 ms/request: httpx + json.loads, one page at a time",
        "destroy x4, 1 ms/request: one by one",
    ]
    assert all(table[name][2] == "" for name in floors), floors
    compared = {name: cells for name, cells in table.items() if name not in floors}
    assert set(compared) == {
        "list 450: httpx + plain pydantic models",
        "list 450: Client, page_concurrency=1",
        "list 450: Client",
        "list 450: AsyncClient",
        "list 450: async httpx + plain pydantic models",
        "list 450: AsyncClient, page_concurrency=1",
        "info x3: Client",
        "info x3: AsyncClient",
        "info x3: AsyncClient over aiohttp (do-images[aiohttp])",
        "list 450, 1 ms/request: httpx + json.loads, 4 at a time (asyncio)",
        "list 450, 1 ms/request: httpx + json.loads, 4 threads",
        "list 450, 1 ms/request: httpx + json.loads, 8 threads",
        "list 450, 1 ms/request: Client",
        "list 450, 1 ms/request: Client, page_concurrency=8",
        "list 450, 1 ms/request: AsyncClient",
        "list 450, 1 ms/request: AsyncClient, page_concurrency=8",
        "destroy x4, 1 ms/request: 8 threads, one Client",
    }
    for name, (median, cpu, ratio_cell, target, met) in compared.items():
        assert median.endswith(" ms"), name
        assert cpu.endswith(" ms"), name
        assert ratio.fullmatch(ratio_cell), (name, ratio_cell)
        assert met in ("yes", "no", ""), name
        assert (target == "") == (met == ""), name


def test_parse_cost_prints_every_step() -> None:
    """``parse_cost.py`` prints its ten steps in order, then collector on against paused."""
    out = run("parse_cost.py", "--rounds", "1", "--images", "400")
    first, kept = out.split("\n| the listing parsed 5 times")
    table = rows(first)
    names = list(table)
    assert names[0] == "json.loads (dicts)"
    assert names[-1] == "do_images ImagePage, collector paused per page (as list() parses)"
    assert len(table) == 10
    for name, (time_cell, ratio_cell, _per_image, off_cell) in table.items():
        assert time_cell.endswith(" ms"), name
        assert ratio_cell.endswith("x"), name
        assert off_cell.endswith(" ms"), name
    assert list(rows(kept)) == [
        "do_images ImagePage, collector on",
        "do_images ImagePage, collector paused per page (as list() parses)",
    ]


def test_fleet_plan_benchmark_reads_pages_and_the_needed_action_lists_only() -> None:
    """Planning 450 images reads the regions, 3 pages and only the 3 needed action lists:
    7 requests, as the plan's estimate says."""
    table = rows(run("fleet_plan.py", "--images", "450", "--rounds", "1"))
    assert table["pages read by the plan"][:2] == ["3", "3"]
    assert table["action lists read"][0] == "3"
    assert table["requests of the plan"][0] == "7"
    assert table["planning CPU, parsing excluded (median of 1)"][0].endswith(" ms")


def test_upload_benchmark_compares_with_boto3_upload_file() -> None:
    """``upload.py`` times import_file's upload against boto3's ``upload_file``, as a ratio."""
    table = rows(run("upload.py", "--mib", "8", "--rounds", "1"))
    assert set(table) == {
        "upload 8 MiB: boto3 upload_file",
        "upload 8 MiB: import_file's upload",
        "format check of the 8 MiB file",
    }
    assert re.fullmatch(r"\d+\.\d\dx", table["upload 8 MiB: import_file's upload"][2])


def test_startup_benchmark_prints_every_case() -> None:
    """``startup.py`` prints each start-up case, ``--version`` with its ratio to a bare python."""
    table = rows(run("startup.py", "--rounds", "1"))
    assert set(table) == {
        "python -c pass",
        "do-images --version",
        "do-images --help",
        "do-images list --help",
        "httpx + plain pydantic Image/Action, GET, validate, print",
        "do-images --json info ID (loopback server)",
        "do-images --sandbox list",
    }
    assert re.fullmatch(r"\d+\.\d\dx", table["do-images --version"][1])


def test_fleet_snapshots_benchmark_plans_as_estimated_and_polls_within_half_the_budget() -> None:
    """Planning 12 droplets with 30 snapshots each takes exactly the estimate's requests
    (all due, none due); applying 8 due droplets at 250 a minute meets no 429 and polls
    at most 125 times in any minute."""
    table = rows(run("fleet_snapshots.py", "--droplets", "12", "--apply", "8", "--rounds", "1"))
    for label in ("all due", "none due"):
        made, estimate = table[f"plan, 12 droplets x 30 snapshots, {label}: requests"]
        assert made.split()[0] == estimate.split()[1]
    assert table["plan, all due: droplets due"] == ["12", "12"]
    assert table["plan, none due: droplets due"] == ["0", "0"]
    assert table["apply: 429s"][0] == "0"
    busiest = int(table["apply: snapshot polls"][0].split("at most ")[1].split()[0])
    assert 0 < busiest <= 125
    assert table["apply: snapshots done"] == ["8", "8"]
