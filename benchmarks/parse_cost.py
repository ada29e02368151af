"""Where the time of turning list pages into models goes, without any HTTP.

Run from the repository root (with do_images installed)::

    python benchmarks/parse_cost.py

Each case turns the same 50 pages of 200 images (the pages ``bench.py`` serves) into
Python objects and keeps them all, as ``list()`` does; the table shows the median
process time of interleaved rounds, each from a collected heap, and its ratio to
``json.loads``. The model cases add one feature at a time, from the simplest pydantic
model that holds an image up to do_images' own ``Image``, so each step's cost shows.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, TypeAdapter
from typing_extensions import TypedDict

sys.path.insert(0, str(Path(__file__).parent))
from bench import PER_PAGE, _page_body

from do_images._gc import collector_paused
from do_images._models import IMAGE_PAGE, ImageStatus, ImageType, Timestamp

FIELDS = [
    "name",
    "type",
    "distribution",
    "slug",
    "public",
    "regions",
    "created_at",
    "min_disk_size",
    "size_gigabytes",
    "description",
    "tags",
    "status",
    "error_message",
]


def _annotations(strict: bool, enums: bool, dates: bool) -> dict[str, Any]:
    int_, bool_, float_ = (StrictInt, StrictBool, StrictFloat) if strict else (int, bool, float)
    return {
        "id": int_,
        "name": str | None,
        "type": (ImageType | str | None) if enums else (str | None),
        "distribution": str | None,
        "slug": str | None,
        "public": bool_ | None,
        "regions": list[str] | None,
        "created_at": (Timestamp | None) if dates else (str | None),
        "min_disk_size": int_ | None,
        "size_gigabytes": float_ | None,
        "description": str | None,
        "tags": list[str] | None,
        "status": (ImageStatus | str | None) if enums else (str | None),
        "error_message": str | None,
    }


def _model_page(
    *, extra: bool = False, strict: bool = False, enums: bool = False, dates: bool = False
) -> Callable[[bytes], Any]:
    namespace: dict[str, Any] = {
        "__annotations__": _annotations(strict, enums, dates),
        "model_config": ConfigDict(extra="allow" if extra else "ignore"),
    }
    for name in FIELDS:
        open_enum = enums and name in ("type", "status")
        namespace[name] = Field(None, union_mode="left_to_right") if open_enum else None
    image = type("Image", (BaseModel,), namespace)
    page = type(
        "Page",
        (BaseModel,),
        {"__annotations__": {"images": list[image], "links": Any, "meta": Any}},  # type: ignore[valid-type]
    )
    return TypeAdapter(page).validate_json


def _typed_dict_page() -> Callable[[bytes], Any]:
    ImageDict = TypedDict(  # type: ignore[misc]
        "ImageDict", _annotations(strict=True, enums=False, dates=False), total=False
    )

    class PageDict(TypedDict):
        images: list[ImageDict]
        links: Any
        meta: Any

    return TypeAdapter(PageDict).validate_json


def cases() -> dict[str, Callable[[bytes], Any]]:
    return {
        "json.loads (dicts)": json.loads,
        "pydantic_core.from_json (dicts)": pydantic_core.from_json,
        "TypedDict, strict types (dicts)": _typed_dict_page(),
        "plain BaseModel (14 plain fields)": _model_page(),
        "+ extra='allow'": _model_page(extra=True),
        "+ strict wire types": _model_page(extra=True, strict=True),
        "+ open enums": _model_page(extra=True, strict=True, enums=True),
        "+ aware datetimes (all of Image)": _model_page(
            extra=True, strict=True, enums=True, dates=True
        ),
        "do_images ImagePage": IMAGE_PAGE.validate_json,
        "do_images ImagePage, collector paused per page (as list() parses)": _paused_page,
    }


def _paused_page(body: bytes) -> Any:
    with collector_paused():
        return IMAGE_PAGE.validate_json(body)


def _images(parsed: Any) -> list[Any]:
    images: list[Any] = parsed["images"] if isinstance(parsed, dict) else parsed.images
    return images


def run(parse: Callable[[bytes], Any], pages: list[bytes], collector: bool = True) -> float:
    """Process time to parse every page and keep every image; freed after the clock.

    ``collector`` false turns the cyclic garbage collector off for the whole run."""
    gc.collect()
    kept: list[Any] = []
    if not collector:
        gc.disable()
    try:
        start = time.process_time()
        for body in pages:
            kept.extend(_images(parse(bytes(bytearray(body)))))  # a fresh buffer, as from a socket
        elapsed = time.process_time() - start
    finally:
        gc.enable()
    del kept
    return elapsed


def run_kept(parse: Callable[[bytes], Any], pages: list[bytes], times: int = 5) -> float:
    """Process time to parse the listing ``times`` times, keeping every result alive: a
    program holding several large lists, where the collector's passes cost the most."""
    gc.collect()
    kept: list[list[Any]] = []
    start = time.process_time()
    for _ in range(times):
        images: list[Any] = []
        for body in pages:
            images.extend(_images(parse(bytes(bytearray(body)))))
        kept.append(images)
    elapsed = time.process_time() - start
    del kept
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=31, help="interleaved rounds (median)")
    parser.add_argument("--images", type=int, default=10_000, help="images over all pages")
    args = parser.parse_args(argv)
    count = -(-args.images // PER_PAGE)
    pages = [_page_body("http://127.0.0.1:8000", args.images, n) for n in range(1, count + 1)]
    todo = cases()
    for parse in todo.values():  # warm up: validators are built on first use
        run(parse, pages[:1])
    times: dict[str, list[float]] = {name: [] for name in todo}
    off: dict[str, list[float]] = {name: [] for name in todo}
    for _ in range(args.rounds):
        for name, parse in todo.items():
            times[name].append(run(parse, pages))
            off[name].append(run(parse, pages, collector=False))
    medians = {name: statistics.median(values) for name, values in times.items()}
    medians_off = {name: statistics.median(values) for name, values in off.items()}
    floor = medians["json.loads (dicts)"]
    print(
        f"Python {sys.version.split()[0]}; {args.images:,} images in {count} pages; "
        f"medians of {args.rounds} interleaved rounds\n"
    )
    print("| parse and keep | collector on | vs json.loads | per image | collector off |")
    print("|---|---:|---:|---:|---:|")
    for name, value in medians.items():
        per_image = (value - floor) / args.images * 1e6
        delta = f"{per_image:+.2f} µs" if value is not floor else ""
        print(
            f"| {name} | {value * 1000:.1f} ms | {value / floor:.2f}x | {delta} | "
            f"{medians_off[name] * 1000:.1f} ms |"
        )
    held = {
        "do_images ImagePage, collector on": IMAGE_PAGE.validate_json,
        "do_images ImagePage, collector paused per page (as list() parses)": _paused_page,
    }
    kept: dict[str, list[float]] = {name: [] for name in held}
    for _ in range(args.rounds):
        for name, parse in held.items():
            kept[name].append(run_kept(parse, pages))
    print("\n| the listing parsed 5 times, every result kept | process time |")
    print("|---|---:|")
    for name, values in kept.items():
        print(f"| {name} | {statistics.median(values) * 1000:.1f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
