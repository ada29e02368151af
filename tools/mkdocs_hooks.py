"""mkdocs hooks (mkdocs.yml loads this file): the command line page's flag reference.

In ``docs/cli.md``, a marker ``<!-- cli-reference: COMMAND -->`` becomes that command's
reference, made from the ``do-images`` argument parser itself when the site is built: what
it does, its usage, a table of its arguments and options, and its examples. So the
reference cannot drift from ``--help``. ``<!-- cli-reference: global options -->`` is the
table of the options every command takes. A marker that names no command fails the build.
"""

from __future__ import annotations

import argparse
import html
import re
from typing import Any

MARKER = re.compile(r"^<!-- cli-reference: (?P<name>[\w -]+?) -->$", re.M)
GLOBAL = "global options"
WIDTH = 88
"""The width usage lines are wrapped to: the docs' code column."""
ALIASES: dict[str, list[str]] = {}
"""Each command's other names (``ls`` for ``list``), as ``commands()`` found them."""


def commands() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by its full name (``list``, ``sandbox serve``), aliases aside."""
    from do_images.cli._registry import build_parser

    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                continue
            names: dict[int, list[str]] = {}
            for name, sub in action.choices.items():
                names.setdefault(id(sub), []).append(name)  # aliases share the parser
            for name, sub in action.choices.items():
                if names[id(sub)][0] != name:
                    continue
                full = f"{prefix} {name}".strip()
                ALIASES[full] = names[id(sub)][1:]
                if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                    walk(sub, full)
                else:
                    found[full] = sub

    top = build_parser()
    walk(top, "")
    found[GLOBAL] = top
    return found


def _global_dests(top: argparse.ArgumentParser) -> set[str]:
    return {action.dest for action in top._actions if action.option_strings}


def render(name: str, parser: argparse.ArgumentParser, global_dests: set[str]) -> str:
    """The Markdown (with an HTML table) for one command, or for the global options."""
    if name == GLOBAL:
        actions = [a for a in parser._actions if a.option_strings and a.dest != "help"]
        return _table(parser._get_formatter(), actions)
    own = [
        action
        for action in parser._actions
        if action.dest not in global_dests and not isinstance(action, argparse._HelpAction)
    ]
    formatter = argparse.RawDescriptionHelpFormatter(f"{parser.prog} [global options]", width=WIDTH)
    formatter.add_usage(parser.usage, own, parser._mutually_exclusive_groups, prefix="")
    usage = formatter.format_help().strip()
    if parser.usage is not None:  # written out by hand, one form a line
        usage = "\n".join(line.strip() for line in usage.splitlines())
    description = (parser.description or "").strip().rstrip(".")
    aliases = ", ".join(f"`{alias}`" for alias in ALIASES.get(name, []))
    parts = [
        description[:1].upper() + description[1:] + "." + (f" Also: {aliases}." if aliases else ""),
        f"```text\n{usage}\n```",
        _table(parser._get_formatter(), own),
    ]
    examples = (parser.epilog or "").split("\n\n", 1)[0]
    if examples.startswith("examples:"):
        lines = [line.strip() for line in examples.splitlines()[1:] if line.strip()]
        parts.append("Examples:\n\n```sh\n" + "\n".join(lines) + "\n```")
    return "\n\n".join(parts)


def _table(formatter: Any, actions: list[argparse.Action]) -> str:
    rows = []
    for action in actions:
        invocation = formatter._format_action_invocation(action)
        text = formatter._expand_help(action) if action.help else ""
        if action.required and action.option_strings:
            text = f"required: {text}"
        rows.append(
            f"<tr><td><code>{html.escape(invocation)}</code></td><td>{html.escape(text)}</td></tr>"
        )
    if not rows:
        return ""
    head = "<tr><th>argument or option</th><th>what it does</th></tr>"
    # Material styles tables without a class; the div lets the site's CSS reach this one.
    return f'<div class="cli-reference">\n<table>\n<thead>{head}</thead>\n<tbody>\n' + (
        "\n".join(rows) + "\n</tbody>\n</table>\n</div>"
    )


def expand(markdown: str) -> str:
    """``markdown`` with every reference marker replaced; an unknown command raises."""
    if not MARKER.search(markdown):
        return markdown
    found = commands()
    global_dests = _global_dests(found[GLOBAL])

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in found:
            raise ValueError(f"cli.md: no command {name!r} for its reference marker")
        return render(name, found[name], global_dests)

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """mkdocs' hook: expand the markers of any page that has them."""
    return expand(markdown)
