"""Benchmark do_images against the floor: bare httpx loops with ``json.loads``.

Run from the repository root (with do_images installed)::

    python benchmarks/bench.py

A threaded HTTP server, in a child process so it never competes with the client for
the GIL, listens on 127.0.0.1 and answers with pages rendered before the clock starts
(200 images per page, shaped like the spec's examples, with ``links`` and ``meta``).
Paths under ``/d{delay_ms}`` answer after that many milliseconds. Each round runs
every case once, in a rotating order; a case times its calls only, not making or
closing its client (creating an SSL context alone takes tens of milliseconds). The
table shows the median of the rounds and its ratio to the bare loop of the same kind.
Memory (``iter()`` against ``list()``) and import time are measured in fresh
interpreters.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

PER_PAGE = 200
TOKEN = "bench-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}

# --------------------------------------------------------------------- the server

_REGIONS = ["nyc1", "nyc2", "nyc3", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1"]
_DISTROS = ["Ubuntu", "Debian", "Fedora", "CentOS", "Arch Linux", "Rocky Linux"]
_TYPES = ["snapshot", "backup", "custom", "base"]


def image_json(image_id: int) -> dict[str, Any]:
    """An image like the spec's examples, varied by id."""
    distro = _DISTROS[image_id % len(_DISTROS)]
    public = image_id % 5 == 0
    return {
        "id": image_id,
        "name": f"{distro} snapshot {image_id}",
        "distribution": distro,
        "slug": f"{distro.lower().replace(' ', '-')}-{image_id}-x64" if public else None,
        "public": public,
        "regions": _REGIONS[: 1 + image_id % 4],
        "created_at": f"20{10 + image_id % 14:02d}-{1 + image_id % 12:02d}-"
        f"{1 + image_id % 28:02d}T{image_id % 24:02d}:23:02Z",
        "type": _TYPES[image_id % len(_TYPES)],
        "min_disk_size": 20 + image_id % 5 * 5,
        "size_gigabytes": round(2.34 + image_id % 100 / 7, 2),
        "description": "" if image_id % 3 else f"nightly build {image_id}",
        "tags": [] if image_id % 4 else ["base-image", "prod"],
        "status": "available",
        "error_message": "",
    }


def _page_body(base: str, total: int, page: int) -> bytes:
    pages = -(-total // PER_PAGE)
    first_id = 1_000_000 + (page - 1) * PER_PAGE
    count = min(PER_PAGE, total - (page - 1) * PER_PAGE)

    def link(n: int) -> str:
        return f"{base}/v2/images?page={n}&per_page={PER_PAGE}"

    links: dict[str, str] = {}
    if page > 1:
        links["first"] = link(1)
        links["prev"] = link(page - 1)
    if page < pages:
        links["next"] = link(page + 1)
        links["last"] = link(pages)
    body = {
        "images": [image_json(first_id + i) for i in range(count)],
        "links": {"pages": links},
        "meta": {"total": total},
    }
    return json.dumps(body).encode()


@dataclass(frozen=True)
class Dataset:
    """The pages of one list, keyed by page number, for one base URL."""

    total: int
    pages: dict[int, bytes]


def _serve(conn: Connection, totals: list[int], delays: list[int]) -> None:
    """Child process: render every page, serve until the parent closes the pipe."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    data: dict[tuple[int, int], Dataset] = {}
    for delay in delays:
        for total in totals:
            base = f"http://127.0.0.1:{port}/d{delay}/n{total}"
            pages = -(-total // PER_PAGE)
            data[delay, total] = Dataset(
                total, {n: _page_body(base, total, n) for n in range(1, pages + 1)}
            )
    server.data = data  # type: ignore[attr-defined]
    server.images = {  # type: ignore[attr-defined]
        i: json.dumps({"image": image_json(i)}).encode() for i in range(1, 1 + max(totals) + 5000)
    }
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn.send(port)
    with contextlib.suppress(EOFError):
        conn.recv()
    server.shutdown()


_REASONS = {200: "OK", 204: "No Content", 404: "Not Found"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in one write; without this, Nagle's algorithm and
    # delayed ACKs add tens of milliseconds to every keep-alive response.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        # /d{delay}/n{total}/v2/images[/{id}]?page=N
        parts = urlsplit(self.path)
        segments = parts.path.strip("/").split("/")
        try:
            delay = int(segments[0][1:])
            total = int(segments[1][1:])
            if segments[2:4] != ["v2", "images"]:
                raise ValueError(parts.path)
            if len(segments) == 5:
                body = self.server.images[int(segments[4])]  # type: ignore[attr-defined]
            else:
                page = int(parse_qs(parts.query).get("page", ["1"])[0])
                body = self.server.data[delay, total].pages[page]  # type: ignore[attr-defined]
        except (ValueError, KeyError, IndexError):
            self._send(404, b'{"id":"not_found","message":"The resource was not found."}')
            return
        if delay:
            time.sleep(delay / 1000)
        self._send(200, body)

    def do_DELETE(self) -> None:
        # /d{delay}/n{total}/v2/images/{id}: 204 after the delay, as the API answers.
        delay = int(self.path.strip("/").split("/")[0][1:])
        if delay:
            time.sleep(delay / 1000)
        self._send(204, b"")

    def _send(self, status: int, body: bytes) -> None:
        # One write per response: status line, headers and body together.
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n"
            "ratelimit-limit: 5000\r\n"
            "ratelimit-remaining: 4816\r\n"
            "ratelimit-reset: 1444931833\r\n"
            "\r\n"
        )
        self.wfile.write(head.encode() + body)


class Server:
    """The benchmark server in a child process; ``url(delay_ms, total)`` is a base URL."""

    def __init__(self, totals: list[int], delays: list[int]) -> None:
        self._conn, child = multiprocessing.Pipe()
        self._proc = multiprocessing.Process(
            target=_serve, args=(child, totals, delays), daemon=True
        )
        self._proc.start()
        self.port: int = self._conn.recv()

    def url(self, delay_ms: int, total: int) -> str:
        return f"http://127.0.0.1:{self.port}/d{delay_ms}/n{total}"

    def close(self) -> None:
        self._conn.send(None)
        self._proc.join(5)


# ---------------------------------------------------------------------- the cases

_elapsed: list[tuple[float, float]] = []


@contextlib.contextmanager
def timed() -> Iterator[None]:
    """Time the block: each case times only its calls, not making or closing its client.

    Both the wall time and this process's CPU time (all its threads) are kept: where
    the CPU time comes close to the wall time, the case is bound by the client's own
    work (parsing holds the GIL), not by waiting for the server.
    """
    start, cpu = time.perf_counter(), time.process_time()
    yield
    _elapsed.append((time.perf_counter() - start, time.process_time() - cpu))


def bare_list(base: str) -> int:
    """All pages with httpx and json.loads, following ``links.pages.next``."""
    items: list[Any] = []
    with httpx.Client(headers=HEADERS) as http, timed():
        url: str | None = f"{base}/v2/images?per_page={PER_PAGE}"
        while url:
            response = http.get(url)
            if response.status_code != 200:
                raise RuntimeError(response.status_code)
            body = json.loads(response.content)
            items.extend(body["images"])
            url = body["links"]["pages"].get("next")
    return len(items)


def bare_list_threads(base: str, width: int) -> int:
    """The issue's floor for the sync client: page 1, then pages 2..n on ``width`` threads
    through one ``httpx.Client``, each parsed with json.loads."""
    from concurrent.futures import ThreadPoolExecutor

    with httpx.Client(headers=HEADERS) as http:

        def fetch(page: int) -> list[Any]:
            response = http.get(f"{base}/v2/images?page={page}&per_page={PER_PAGE}")
            if response.status_code != 200:
                raise RuntimeError(response.status_code)
            images: list[Any] = json.loads(response.content)["images"]
            return images

        with timed():
            response = http.get(f"{base}/v2/images?per_page={PER_PAGE}")
            first = json.loads(response.content)
            pages = -(-first["meta"]["total"] // len(first["images"]))
            with ThreadPoolExecutor(max_workers=width) as pool:
                rest = list(pool.map(fetch, range(2, pages + 1)))
    return len(first["images"]) + sum(len(images) for images in rest)


# The SDK cases turn the client-side request budget off: the bare loops keep no
# budget either, and 1,000 info() calls at the API's 250 a minute take four minutes.
UNLIMITED: dict[str, Any] = {"requests_per_minute": None}


def sdk_list(base: str, **kwargs: Any) -> int:
    from do_images import Client

    with Client(TOKEN, base_url=base, **UNLIMITED, **kwargs) as do, timed():
        images = do.image.list()
    # Freed after the clock stops, as the bare loop's list is.
    return len(images)


def _plain_page_adapter() -> Any:
    """A page of the simplest pydantic models that hold an image: 14 plain fields."""
    from pydantic import BaseModel, TypeAdapter

    class PlainImage(BaseModel):
        id: int
        name: str | None = None
        type: str | None = None
        distribution: str | None = None
        slug: str | None = None
        public: bool | None = None
        regions: list[str] | None = None
        created_at: str | None = None
        min_disk_size: int | None = None
        size_gigabytes: float | None = None
        description: str | None = None
        tags: list[str] | None = None
        status: str | None = None
        error_message: str | None = None

    class PlainPages(BaseModel):
        next: str | None = None

    class PlainLinks(BaseModel):
        pages: PlainPages

    class PlainPage(BaseModel):
        images: list[PlainImage]
        links: PlainLinks

    return TypeAdapter(PlainPage)


def plain_model_list(base: str, adapter: Any) -> int:
    """The bare loop with pydantic models instead of dicts: no strict types, enums or dates."""
    items: list[Any] = []
    with httpx.Client(headers=HEADERS) as http, timed():
        url: str | None = f"{base}/v2/images?per_page={PER_PAGE}"
        while url:
            response = http.get(url)
            if response.status_code != 200:
                raise RuntimeError(response.status_code)
            page = adapter.validate_json(response.content)
            items.extend(page.images)
            url = page.links.pages.next
    return len(items)


def bare_info(base: str, ids: range) -> int:
    with httpx.Client(headers=HEADERS) as http, timed():
        for image_id in ids:
            response = http.get(f"{base}/v2/images/{image_id}")
            if response.status_code != 200:
                raise RuntimeError(response.status_code)
            json.loads(response.content)["image"]
    return len(ids)


def sdk_info(base: str, ids: range) -> int:
    from do_images import Client

    with Client(TOKEN, base_url=base, **UNLIMITED) as do, timed():
        for image_id in ids:
            do.image.info(image_id)
    return len(ids)


def sdk_destroy(base: str, ids: range, threads: int) -> int:
    """``destroy()`` of every id through one client, from ``threads`` threads."""
    from concurrent.futures import ThreadPoolExecutor

    from do_images import Client

    with Client(TOKEN, base_url=base, **UNLIMITED) as do, timed():
        if threads == 1:
            for image_id in ids:
                do.image.destroy(image_id)
        else:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(do.image.destroy, ids))
    return len(ids)


def burst(calls: int, threads: int) -> tuple[int, int, float]:
    """``calls`` info() calls from ``threads`` threads on one client, against a sandbox
    served over HTTP that enforces 250 requests a minute in real time.

    Returns (calls that succeeded, 429 answers the sandbox gave, seconds taken).
    """
    from concurrent.futures import ThreadPoolExecutor

    from do_images import Client
    from do_images.testing import Sandbox

    sandbox = Sandbox(realtime=True, log_size=calls * 2)
    with sandbox.serve() as base_url, Client(TOKEN, base_url=base_url) as do:
        start = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            images = list(pool.map(lambda _: do.image.info(180040001), range(calls)))
        took = time.perf_counter() - start
    refused = sum(1 for request in sandbox.requests if request.status == 429)
    return len(images), refused, took


async def abare_list(base: str) -> int:
    items: list[Any] = []
    async with httpx.AsyncClient(headers=HEADERS) as http:
        with timed():
            url: str | None = f"{base}/v2/images?per_page={PER_PAGE}"
            while url:
                response = await http.get(url)
                if response.status_code != 200:
                    raise RuntimeError(response.status_code)
                body = json.loads(response.content)
                items.extend(body["images"])
                url = body["links"]["pages"].get("next")
    return len(items)


async def aplain_model_list(base: str, adapter: Any) -> int:
    """The async bare loop with plain pydantic models: the floor for ``AsyncClient.list()``."""
    items: list[Any] = []
    async with httpx.AsyncClient(headers=HEADERS) as http:
        with timed():
            url: str | None = f"{base}/v2/images?per_page={PER_PAGE}"
            while url:
                response = await http.get(url)
                if response.status_code != 200:
                    raise RuntimeError(response.status_code)
                page = adapter.validate_json(response.content)
                items.extend(page.images)
                url = page.links.pages.next
    return len(items)


async def abare_list_concurrent(base: str, width: int = 4) -> int:
    """The floor for concurrent paging: page 1, then pages 2..n, ``width`` at a time."""
    async with httpx.AsyncClient(headers=HEADERS) as http:

        async def fetch(page: int) -> list[Any]:
            async with slots:
                response = await http.get(f"{base}/v2/images?page={page}&per_page={PER_PAGE}")
                if response.status_code != 200:
                    raise RuntimeError(response.status_code)
                images: list[Any] = json.loads(response.content)["images"]
                return images

        slots = asyncio.Semaphore(width)
        with timed():
            response = await http.get(f"{base}/v2/images?per_page={PER_PAGE}")
            first = json.loads(response.content)
            pages = -(-first["meta"]["total"] // len(first["images"]))
            rest = await asyncio.gather(*(fetch(page) for page in range(2, pages + 1)))
    return len(first["images"]) + sum(len(images) for images in rest)


async def asdk_list(base: str, **kwargs: Any) -> int:
    from do_images import AsyncClient

    async with AsyncClient(TOKEN, base_url=base, **UNLIMITED, **kwargs) as do:
        with timed():
            images = await do.image.list()
    return len(images)


async def abare_info(base: str, ids: range) -> int:
    async with httpx.AsyncClient(headers=HEADERS) as http:
        with timed():
            for image_id in ids:
                response = await http.get(f"{base}/v2/images/{image_id}")
                if response.status_code != 200:
                    raise RuntimeError(response.status_code)
                json.loads(response.content)["image"]
    return len(ids)


async def asdk_info(base: str, ids: range, *, aiohttp: bool = False) -> int:
    from do_images import AsyncClient

    async with contextlib.AsyncExitStack() as stack:
        http = None
        if aiohttp:  # the optional transport: do-images[aiohttp]
            from httpx_aiohttp import HttpxAiohttpClient

            http = await stack.enter_async_context(HttpxAiohttpClient())
        do = await stack.enter_async_context(
            AsyncClient(TOKEN, base_url=base, http_client=http, **UNLIMITED)
        )
        with timed():
            for image_id in ids:
                await do.image.info(image_id)
    return len(ids)


def _has_aiohttp() -> bool:
    import importlib.util

    return importlib.util.find_spec("httpx_aiohttp") is not None


@dataclass(frozen=True)
class Case:
    """One timed thing; ``floor`` names the case its ratio is taken against."""

    name: str
    run: Callable[[], int]
    expect: int
    floor: str | None = None
    target: float | None = None


def _sync(fn: Callable[[], Awaitable[int]]) -> Callable[[], int]:
    return lambda: asyncio.run(fn())  # type: ignore[arg-type]


def build_cases(server: Server, args: argparse.Namespace) -> list[Case]:
    n, calls, delay = args.images, args.calls, args.delay_ms
    base = server.url(0, n)
    slow = server.url(delay, n)
    ids = range(1, 1 + calls)
    lst = f"list {n:,}"
    info = f"info x{calls:,}"
    dl = f"list {n:,}, {delay} ms/request"
    deletes = args.deletes
    del_ids = range(1, 1 + deletes)
    plain = _plain_page_adapter()
    plain_name = f"{lst}: httpx + plain pydantic models"
    cases = [
        Case(f"{lst}: httpx + json.loads", lambda: bare_list(base), n),
        Case(plain_name, lambda: plain_model_list(base, plain), n, f"{lst}: httpx + json.loads"),
        Case(
            f"{lst}: Client, page_concurrency=1",
            lambda: sdk_list(base, page_concurrency=1),
            n,
            plain_name,
            1.05,
        ),
        Case(
            f"{lst}: Client", lambda: sdk_list(base), n, f"{lst}: Client, page_concurrency=1", 1.05
        ),
        Case(
            f"{lst}: async httpx + plain pydantic models",
            _sync(lambda: aplain_model_list(base, plain)),
            n,
            plain_name,
        ),
        Case(
            f"{lst}: AsyncClient, page_concurrency=1",
            _sync(lambda: asdk_list(base, page_concurrency=1)),
            n,
            f"{lst}: async httpx + plain pydantic models",
            1.05,
        ),
        Case(
            f"{lst}: AsyncClient",
            _sync(lambda: asdk_list(base)),
            n,
            f"{lst}: AsyncClient, page_concurrency=1",
            1.05,
        ),
        Case(f"{info}: httpx + json.loads", lambda: bare_info(base, ids), calls),
        Case(
            f"{info}: Client",
            lambda: sdk_info(base, ids),
            calls,
            f"{info}: httpx + json.loads",
            1.10,
        ),
        Case(f"{info}: async httpx + json.loads", _sync(lambda: abare_info(base, ids)), calls),
        Case(
            f"{info}: AsyncClient",
            _sync(lambda: asdk_info(base, ids)),
            calls,
            f"{info}: async httpx + json.loads",
            1.10,
        ),
    ]
    if _has_aiohttp():
        cases.append(
            Case(
                f"{info}: AsyncClient over aiohttp (do-images[aiohttp])",
                _sync(lambda: asdk_info(base, ids, aiohttp=True)),
                calls,
                f"{info}: async httpx + json.loads",
            )
        )
    if delay:
        sequential = f"{dl}: httpx + json.loads, one page at a time"
        cases += [
            Case(sequential, lambda: bare_list(slow), n),
            Case(
                f"{dl}: httpx + json.loads, 4 at a time (asyncio)",
                _sync(lambda: abare_list_concurrent(slow)),
                n,
                sequential,
            ),
            Case(
                f"{dl}: httpx + json.loads, 4 threads",
                lambda: bare_list_threads(slow, 4),
                n,
                sequential,
            ),
            Case(
                f"{dl}: httpx + json.loads, 8 threads",
                lambda: bare_list_threads(slow, 8),
                n,
                sequential,
            ),
            Case(f"{dl}: Client", lambda: sdk_list(slow), n, sequential, 0.33),
            Case(
                f"{dl}: Client, page_concurrency=8",
                lambda: sdk_list(slow, page_concurrency=8),
                n,
                sequential,
                0.20,
            ),
            Case(f"{dl}: AsyncClient", _sync(lambda: asdk_list(slow)), n, sequential, 0.33),
            Case(
                f"destroy x{deletes}, {delay} ms/request: one by one",
                lambda: sdk_destroy(slow, del_ids, 1),
                deletes,
            ),
            Case(
                f"destroy x{deletes}, {delay} ms/request: 8 threads, one Client",
                lambda: sdk_destroy(slow, del_ids, 8),
                deletes,
                f"destroy x{deletes}, {delay} ms/request: one by one",
                0.30,
            ),
            Case(
                f"{dl}: AsyncClient, page_concurrency=8",
                _sync(lambda: asdk_list(slow, page_concurrency=8)),
                n,
                sequential,
                0.20,
            ),
        ]
    return cases


# ------------------------------------------------------------- fresh interpreters


def _bare_iter(http: httpx.Client, base: str) -> Iterator[Any]:
    """The floor for iter(): one page at a time with httpx and json.loads."""
    url: str | None = f"{base}/v2/images?per_page={PER_PAGE}"
    while url:
        body = json.loads(http.get(url).content)
        yield from body["images"]
        url = body["links"]["pages"].get("next")


def _measure_memory(base: str, how: str) -> None:
    """Child mode: print the peak RSS growth (bytes) of listing or iterating ``base``."""
    from do_images import Client

    with Client(TOKEN, base_url=base) as do, httpx.Client(headers=HEADERS) as http:
        # Warm up imports, validators (built on first use) and the connections.
        do.image.info(1)
        next(iter(do.image.iter()))
        next(_bare_iter(http, base))
        before = _rss_peak()
        if how == "list":
            count = len(do.image.list())
        elif how == "iter":
            count = sum(1 for _ in do.image.iter())
        else:
            count = sum(1 for _ in _bare_iter(http, base))
        after = _rss_peak()
    print(json.dumps({"count": count, "growth": after - before}))


def _rss_peak() -> int:
    # VmHWM is the peak resident set size; reset it so the peak is the run's own.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def memory(server: Server, total: int) -> dict[str, int]:
    """Peak RSS growth of ``list()``, ``iter()`` and a bare page loop over ``total`` images."""
    result: dict[str, int] = {}
    for how in ("list", "iter", "bare"):
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", how, server.url(0, total)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        data = json.loads(out)
        if data["count"] != total:
            raise RuntimeError(f"{how} saw {data['count']} images, expected {total}")
        result[how] = data["growth"]
    return result


_FIRST_CALL = """
import httpx
from do_images import Client
body = b'{"image": {"id": 1, "name": "x", "created_at": "2014-11-04T22:23:02Z"}}'
transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
with Client("t", base_url="http://127.0.0.1:9", transport=transport) as do:
    do.image.info(1)
"""


def import_times(runs: int) -> dict[str, float]:
    """Median wall time of fresh interpreters importing each thing (interleaved)."""
    statements = {
        "import httpx, pydantic": "import httpx, pydantic",
        "import do_images": "import do_images",
        # What a program pays before its first typed result: the names load
        # lazily and validators are built on first use, so measure that too.
        "from do_images import Client": "from do_images import Client",
        "... + Client() + first info()": _FIRST_CALL,
    }
    times: dict[str, list[float]] = {name: [] for name in statements}
    for _ in range(runs):
        for name, code in statements.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


# ------------------------------------------------------------------------ running


def run_rounds(cases: list[Case], rounds: int) -> dict[str, list[tuple[float, float]]]:
    times: dict[str, list[tuple[float, float]]] = {case.name: [] for case in cases}
    for case in cases:  # warm-up round: connections, validators, lazy imports
        if case.run() != case.expect:
            raise RuntimeError(f"{case.name}: wrong count")
    for r in range(rounds):
        shift = r % len(cases)
        for case in cases[shift:] + cases[:shift]:
            # Each case starts from a collected heap, so the garbage one case
            # leaves behind is not collected on the next case's clock.
            gc.collect()
            _elapsed.clear()
            count = case.run()
            (elapsed,) = _elapsed
            times[case.name].append(elapsed)
            if count != case.expect:
                raise RuntimeError(f"{case.name}: {count} items, expected {case.expect}")
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    return times


def table(cases: list[Case], times: dict[str, list[tuple[float, float]]]) -> str:
    medians = {name: statistics.median(w for w, _ in values) for name, values in times.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in times.items()}
    rows = ["| case | median | CPU | ratio | target | met |", "|---|---:|---:|---:|---:|:-:|"]
    for case in cases:
        ratio = target = met = ""
        if case.floor is not None:
            value = medians[case.name] / medians[case.floor]
            ratio = f"{value:.2f}x"
            if case.target is not None:
                target = f"≤ {case.target:.2f}x"
                met = "yes" if value <= case.target else "no"
        rows.append(
            f"| {case.name} | {medians[case.name] * 1000:.1f} ms | "
            f"{cpu[case.name] * 1000:.0f} ms | {ratio} | {target} | {met} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (median taken)")
    parser.add_argument("--images", type=int, default=10_000, help="images in the listed account")
    parser.add_argument("--calls", type=int, default=1_000, help="info() calls per round")
    parser.add_argument("--delay-ms", type=int, default=20, help="server delay for the slow list")
    parser.add_argument("--memory-images", type=int, default=100_000, help="0 to skip")
    parser.add_argument("--import-runs", type=int, default=21, help="0 to skip")
    parser.add_argument("--deletes", type=int, default=200, help="destroy() calls per round")
    parser.add_argument(
        "--burst", type=int, default=600, help="info() calls from 8 threads at 250/min (0 skips)"
    )
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        how, base = args.memory_child
        _measure_memory(base, how)
        return 0

    import do_images

    totals = sorted({args.images, args.memory_images} - {0})
    server = Server(totals, sorted({0, args.delay_ms}))
    try:
        cases = build_cases(server, args)
        times = run_rounds(cases, args.rounds)
        mem = memory(server, args.memory_images) if args.memory_images else None
    finally:
        server.close()
    imports = import_times(args.import_runs) if args.import_runs else None
    bursted = burst(args.burst, 8) if args.burst else None

    print(
        f"do_images {do_images.__version__}, httpx {httpx.__version__}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
        f"medians of {args.rounds} interleaved rounds\n"
    )
    print(table(cases, times))
    if mem is not None:
        pages = args.memory_images / PER_PAGE
        per_page = mem["list"] / pages
        print(
            f"\nPeak RSS growth over {args.memory_images:,} images ({pages:.0f} pages of "
            f"{PER_PAGE}), each in a fresh interpreter: "
            f"list() {mem['list'] / 2**20:.1f} MiB ({per_page / 2**20:.2f} MiB per page of "
            f"models); iter() {mem['iter'] / 2**20:.1f} MiB "
            f"(= {mem['iter'] / per_page:.1f} pages' worth of models); "
            f"bare httpx + json.loads page loop {mem['bare'] / 2**20:.1f} MiB"
        )
    if bursted is not None:
        done, refused, took = bursted
        needed = 60.0 * ((args.burst - 1) // 250)
        print(
            f"\nBurst: {args.burst} info() calls from 8 threads on one Client against a sandbox "
            f"served over HTTP enforcing 250/minute in real time: {done} succeeded, "
            f"{refused} answers were 429, {took:.1f} s (the limit requires {needed:.0f} s)"
        )
    if imports is not None:
        base_t = imports["import httpx, pydantic"]
        print(f"\nFresh interpreters, median of {args.import_runs} interleaved runs each:\n")
        print("| python -c | median | vs `import httpx, pydantic` | target |")
        print("|---|---:|---:|---:|")
        for name, value in imports.items():
            delta = "" if value is base_t else f"{(value - base_t) * 1000:+.0f} ms"
            target = "≤ +30 ms" if name == "import do_images" else ""
            print(f"| `{name}` | {value * 1000:.0f} ms | {delta} | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
