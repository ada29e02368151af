"""What the ``do-images`` command line prints: tables, key/value views, JSON, progress.

Results go to stdout, messages and progress to stderr. Nothing here talks to the API.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from ._constants import DEFAULT_BASE_URL
from ._models import Action, Image

if TYPE_CHECKING:
    from ._lifecycle import PrunePlan


class Output:
    """Where results (stdout) and messages (stderr) go, and in which form."""

    def __init__(self, stdout: TextIO, stderr: TextIO, *, as_json: bool) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.as_json = as_json

    def line(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def note(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def json(self, value: object) -> None:
        self.line(json.dumps(value, indent=2, ensure_ascii=False))

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> None:
        widths = [len(header) for header in headers]
        for row in rows:
            widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

        def render(cells: Sequence[str]) -> str:
            parts = [
                cell.rjust(width) if index in right else cell.ljust(width)
                for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
            ]
            return "  ".join(parts).rstrip()

        self.line(render(headers))
        for row in rows:
            self.line(render(row))

    def record(self, data: Mapping[str, Any]) -> None:
        width = max((len(key) for key in data), default=0)
        for key, value in data.items():
            self.line(f"{key:<{width}}  {_value(value)}")

    def images(self, images: Sequence[Image]) -> None:
        if self.as_json:
            self.json([image.model_dump() for image in images])
        elif not images:
            self.note("no images")
        else:
            self.table(
                ("ID", "NAME", "TYPE", "DISTRIBUTION", "REGIONS", "SIZE", "CREATED"),
                [_image_row(image) for image in images],
                right={0, 5},
            )

    def actions(self, actions: Sequence[Action]) -> None:
        if self.as_json:
            self.json([action.model_dump() for action in actions])
        elif not actions:
            self.note("no actions")
        else:
            self.table(
                ("ID", "TYPE", "STATUS", "REGION", "STARTED", "COMPLETED"),
                [_action_row(action) for action in actions],
                right={0},
            )

    def plan(self, plan: PrunePlan) -> None:
        """A prune plan: what stays, what goes, and why."""
        if self.as_json:
            self.json(
                {
                    "keep": [image.model_dump() for image in plan.keep],
                    "delete": [image.model_dump() for image in plan.delete],
                    "reasons": {str(key): why for key, why in plan.reasons.items()},
                }
            )
            return
        rows = [
            [
                str(image.id),
                _text(image.name),
                _when(image.created_at, time=False),
                verdict,
                plan.reasons.get(image.id, ""),
            ]
            for verdict, images in (("delete", plan.delete), ("keep", plan.keep))
            for image in images
        ]
        if not rows:
            self.note("no images match")
            return
        self.table(("ID", "NAME", "CREATED", "PLAN", "WHY"), rows, right={0})

    def one(self, model: Image | Action) -> None:
        if self.as_json:
            self.json(model.model_dump())
        else:
            self.record(model.model_dump())


def _value(value: object) -> str:
    """A JSON value as a person reads it in a key/value view."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value) if value else "-"
    if isinstance(value, dict):
        if isinstance(value.get("slug"), str) and isinstance(value.get("name"), str):
            return f"{value['slug']} ({value['name']})"  # an action's region object
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _text(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def _when(value: datetime | None, *, time: bool) -> str:
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d %H:%M" if time else "%Y-%m-%d")


def _regions(regions: Sequence[str] | None, shown: int = 3) -> str:
    # Public images are in a dozen regions; the table shows a few and counts the rest.
    if not regions:
        return "-"
    more = len(regions) - shown
    return ",".join(regions[:shown]) + (f" +{more}" if more > 0 else "")


def _image_row(image: Image) -> list[str]:
    size = "-" if image.size_gigabytes is None else f"{image.size_gigabytes:g} GB"
    return [
        str(image.id),
        _text(image.name),
        _text(image.type),
        _text(image.distribution),
        _regions(image.regions),
        size,
        _when(image.created_at, time=False),
    ]


def _action_row(action: Action) -> list[str]:
    region = action.region_slug or (action.region.slug if action.region else None)
    return [
        str(action.id),
        _text(action.type),
        _text(action.status),
        _text(region),
        _when(action.started_at, time=True),
        _when(action.completed_at, time=True),
    ]


# ---------------------------------------------------------------------- waiting


def describe(action: Action) -> str:
    return f"{action.type} {action.id} on image {action.resource_id}"


class Progress:
    """Reports an awaited action on stderr: one live line on a terminal, else a line a poll."""

    def __init__(self, stream: TextIO, clock: Callable[[], float]) -> None:
        self.stream = stream
        self.clock = clock
        self.start = clock()
        self.live = isatty(stream)
        self.width = 0
        self.last: Action | None = None

    def update(self, action: Action) -> None:
        self.last = action
        text = f"{describe(action)}: {action.status}, {self.clock() - self.start:.0f} s"
        if self.live:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.live and self.width:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0


class RegionBoard:
    """Transfers to several regions on stderr: on a terminal one line per region, rewritten
    in place as each changes; otherwise a line per change."""

    def __init__(self, stream: TextIO, clock: Callable[[], float]) -> None:
        self.stream = stream
        self.clock = clock
        self.start = clock()
        self.live = isatty(stream)
        self.lines: dict[str, str] = {}

    def update(self, action: Action) -> None:
        region = action.region_slug or (action.region.slug if action.region else "?")
        text = f"{describe(action)} to {region}: {action.status}, {self.clock() - self.start:.0f} s"
        if not self.live:
            self.stream.write(text + "\n")
        else:
            if self.lines:
                # Back to the first region's line, then rewrite every line.
                self.stream.write(f"\x1b[{len(self.lines)}A")
            self.lines[region] = text
            for line in self.lines.values():
                self.stream.write("\r\x1b[2K" + line + "\n")
        self.stream.flush()

    def end(self) -> None:
        self.stream.flush()


def isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


def again(args: argparse.Namespace, command: str) -> str:
    """``do-images [--base-url URL] COMMAND``: a command to paste that reaches the same API."""
    where = ""
    if not getattr(args, "sandbox", False) and args.base_url != DEFAULT_BASE_URL:
        where = f" --base-url {args.base_url}"
    return f"do-images{where} {command}"
