"""The fleet commands: ``plan`` a fleet file, ``apply`` it (or a saved plan), and the
plan rendered as Terraform renders one (``+`` snapshot or transfer, ``~`` tag, ``-``
delete), with the droplets left for a later run (``pending``) and the snapshots of
droplets that are no longer sources (``orphaned``)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._constants import DEFAULT_MAX_DELETE
from ._commands import Context, Stop, UsageError, ask
from ._failures import ExitCode
from ._output import Output, again
from ._parser import Commands, add_yes, count
from ._text import printable

if TYPE_CHECKING:
    from .._jobs._metrics import MetricsFile
    from ..fleet import EntryResult, Fleet, FleetPlan, FleetReport, PlanEntry

_EXAMPLES: dict[str, tuple[str, ...]] = {
    "plan": (
        "do-images plan fleet.toml                       # what apply would do",
        "do-images plan fleet.toml --out plan.json       # saved, to apply as it is",
        "do-images plan fleet.toml --detailed-exitcode   # 0: nothing to do, 2: changes",
    ),
    "apply": (
        "do-images apply plan.json --yes                 # a saved plan, if still current",
        "do-images apply fleet.toml                      # plan, show, ask, apply",
        "do-images apply plan.json --yes --max-delete 40",
        "do-images apply fleet.toml --yes --no-wait       # start snapshots, await none",
        "do-images apply fleet.toml --yes --metrics-file /var/lib/node_exporter/do_images.prom",
    ),
}


def _what(entry: PlanEntry) -> str:
    if entry.image_id is None:  # a droplet's turn
        return f"{entry.sign} {entry.action:<8} droplet {entry.droplet_id} {entry.droplet_name}"
    target = f"{entry.image_id} {entry.image_name}".rstrip()
    if entry.action == "orphaned":
        return f"  orphaned {target}"
    if entry.action == "transfer":
        return f"{entry.sign} transfer {target} to {entry.region}"
    if entry.action == "tag":
        return f"{entry.sign} tag      {target} + {entry.tag}"
    return f"{entry.sign} delete   {target}"


def _shown(entry: PlanEntry) -> bool:
    """Whether the plan shows ``entry``: a change, a droplet left for a later run, or an
    orphaned snapshot (kept and unranked verdicts are counted in the summary only)."""
    from .._jobs._fleet_entry import CHANGES

    return (
        entry.action in CHANGES
        or entry.action == "orphaned"
        or (entry.action == "pending" and entry.image_id is None)
    )


def show_plan(out: Output, plan: FleetPlan) -> None:
    """The plan in Terraform's words: ``+`` snapshot or transfer, ``~`` tag, ``-`` delete,
    then the droplets ``pending`` and the snapshots ``orphaned``, each with why."""
    from .._jobs._fleet_entry import CHANGES

    order = [*CHANGES, "pending", "orphaned"]
    changes = [entry for entry in plan.entries if _shown(entry)]
    if changes:
        out.line("do-images will make these changes:")
        for group in plan.fleet.groups:
            # In the order apply takes them: snapshots, transfers, tags, then deletions.
            mine = sorted(
                (entry for entry in changes if entry.group == group.name),
                key=lambda entry: order.index(entry.action),
            )
            if not mine:
                continue
            out.line("")
            out.line(f"  # group {printable(group.name)}")
            width = max(len(printable(_what(entry))) for entry in mine)
            for entry in mine:
                out.line(f"  {printable(_what(entry)):<{width}}  {printable(entry.reason)}")
    if plan.notes:
        out.line("")
        out.line("Notes (left as they are):")
        for note in plan.notes:
            out.line(f"  {printable(note)}")
    if changes or plan.notes:
        out.line("")
    out.line(plan.summary)
    if plan.changes:
        estimate = plan.estimate
        minutes = max(1, round(estimate["seconds"] / 60))
        out.line(
            f"Applying takes about {int(estimate['requests'])} requests and {minutes} min "
            "within the request budget."
        )


def _load_fleet(path: str) -> Fleet:
    from ..fleet import Fleet

    return Fleet.load(path)


def _command(args: Any, *words: str) -> str:
    """A ``do-images`` command line to paste, every word shell-quoted."""
    return again(args, shlex.join(words))


def _same_path(one: str, other: str) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return os.path.abspath(one) == os.path.abspath(other)


def run_plan(ctx: Context) -> int:
    """``plan FLEET.toml``: read the account, say what applying would change."""
    args, out = ctx.args, ctx.out
    if args.out and _same_path(args.out, args.fleet):
        raise UsageError(f"--out {args.out} is the fleet file itself: save the plan elsewhere")
    try:
        fleet = _load_fleet(args.fleet)
        plan = ctx.client.image.plan_fleet(fleet)
        if args.out:
            plan.save(args.out)
    except Exception as exc:
        if args.detailed_exitcode:
            raise Stop(ExitCode.FAILED, _message(exc, args)) from None
        raise
    if out.as_json:
        out.json(plan.to_json())
    else:
        show_plan(out, plan)
        if args.out:
            out.note(
                f"plan saved to {args.out}; apply it with: {_command(args, 'apply', args.out)}"
            )
    if args.detailed_exitcode and plan.changes:
        return ExitCode.USAGE  # Terraform's 2: changes pending
    return ExitCode.OK


def _message(exc: Exception, args: Any) -> str:
    from ._failures import failure

    return failure(exc, args)[1]


def _plan_of(ctx: Context) -> FleetPlan:
    """A saved plan (a JSON file) as it is, or a fleet file planned now."""
    from ..fleet import FleetPlan

    path = ctx.args.file
    try:
        head = Path(path).read_bytes()[:1024].removeprefix(b"\xef\xbb\xbf").lstrip()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head.startswith(b"{"):
        plan = FleetPlan.load(path)
        _check_no_wait(ctx.args, plan.fleet)
        return plan
    fleet = _load_fleet(path)
    _check_no_wait(ctx.args, fleet)
    return ctx.client.image.plan_fleet(fleet)


def _check_no_wait(args: Any, fleet: Fleet) -> None:
    """``--no-wait`` with a ``power_off`` group would leave droplets off: a usage error
    before any request."""
    from .._errors import FleetError

    powered = [group.name for group in fleet.sources if group.power_off]
    if args.no_wait and powered:
        raise FleetError(
            f"group {powered[0]!r} has power_off = true: --no-wait would leave its droplets "
            "off; apply it without --no-wait"
        )


def run_apply(ctx: Context) -> int:
    """``apply FILE``: show the plan, ask (unless ``--yes``), carry it out, report."""
    args, out = ctx.args, ctx.out
    metrics = _metrics_file(args.metrics_file)  # before any request
    plan = _plan_of(ctx)
    if not out.as_json:
        show_plan(out, plan)
    if not plan.changes:
        _nothing_done(metrics, plan)
        if out.as_json:
            out.json(_report_json(None, plan))
        return ExitCode.OK
    most = plan.fleet.max_delete if args.max_delete is None else args.max_delete
    _check_deletions(plan, most, "--max-delete" if args.max_delete is not None else None)
    if not args.yes and not ask(ctx, "Apply these changes?", refusing="apply"):
        out.note("not applied")
        return ExitCode.FAILED

    def progress(result: EntryResult) -> None:
        if not out.as_json:
            line = f"{result.outcome:<7} {_what(result.entry).strip()}: {result.detail}"
            out.note(printable(line))

    replan = f"plan again to see what remains: {_replan(args, plan)}"
    try:
        report = ctx.client.image.apply_fleet(
            plan,
            max_delete=most,
            on_result=progress,
            wait=not args.no_wait,
            metrics_file=args.metrics_file,
        )
    except KeyboardInterrupt:
        raise Stop(
            ExitCode.INTERRUPTED,
            "interrupted; snapshots and transfers already started go on server-side, and "
            f"no droplet this apply turned off was left off; {replan} (the next apply "
            "finds a snapshot started by its name, and waits for a transfer under way: "
            "it never starts either twice)",
        ) from None
    if out.as_json:
        out.json(_report_json(report, plan))
    out.note(_applied(report))
    if not report.ok:
        out.note(replan)
    return ExitCode.OK if report.ok else ExitCode.API_ERROR


def _applied(report: FleetReport) -> str:
    """``Applied: 3 done, 1 pending, 0 failed, 0 skipped.`` (``pending`` and ``started``
    only when some are)."""
    kinds = ["done", "pending", "started", "failed", "skipped"]
    counts = {kind: len(report.of(kind)) for kind in kinds}
    said = [
        f"{counts[kind]} {kind}"
        for kind in kinds
        if counts[kind] or kind not in ("pending", "started")
    ]
    return f"Applied: {', '.join(said)}."


def _metrics_file(path: str | None) -> MetricsFile | None:
    """``--metrics-file``, checked writable before any request (a usage error if not)."""
    if path is None:
        return None
    from .._jobs._metrics import MetricsFile

    return MetricsFile.at(path)  # an ArgumentError: said with --metrics-file, exit 2


def _nothing_done(metrics: MetricsFile | None, plan: FleetPlan) -> None:
    """The metrics of a plan with nothing to do: a success too (the schedule runs)."""
    if metrics is not None:
        metrics.write(plan, [], finished=True)


def _check_deletions(plan: FleetPlan, most: int, flag: str | None) -> None:
    """The deletion limit (``--max-delete``, else the fleet file's ``max_delete``), said in
    the command line's words, before any request. A plan with snapshots is not refused:
    apply makes them, and deletes nothing (exit 3)."""
    deletions = len(plan.of("delete"))
    if deletions > most and not plan.of("snapshot"):
        limit = f"--max-delete {most}" if flag else f"the fleet file's max_delete {most}"
        raise UsageError(
            f"the plan deletes {deletions} images, more than {limit}; "
            f"if that is meant, raise it: --max-delete {deletions}"
        )


def _replan(args: Any, plan: FleetPlan) -> str:
    """The ``plan`` command that shows what remains: of the fleet file the plan came
    from (its absolute path), whichever file ``apply`` was given."""
    return _command(args, "plan", plan.fleet.path or args.file)


def _report_json(report: FleetReport | None, plan: FleetPlan) -> dict[str, Any]:
    """Every entry of the plan with its outcome: the changes as apply did them, then the
    verdicts it does not act on (``kept``: keep, protected, orphaned; ``pending``: a
    droplet's turn or an image that waits), so a script sees the whole run."""
    from .._jobs._fleet_entry import CHANGES

    results = report.results if report is not None else []
    verdicts = [entry for entry in plan.entries if entry.action not in CHANGES]
    return {
        "ok": report.ok if report is not None else True,
        "results": [
            *(
                {
                    **result.entry.to_json(),
                    "outcome": result.outcome,
                    "waits": result.waits,
                    "detail": result.detail,
                    "made_image_id": result.image.id if result.image is not None else None,
                }
                for result in results
            ),
            *(
                {
                    **entry.to_json(),
                    "outcome": "pending" if entry.action == "pending" else "kept",
                    "waits": None,
                    "detail": entry.reason,
                    "made_image_id": None,
                }
                for entry in verdicts
            ),
        ],
    }


def add_commands(commands: Commands) -> None:
    """``plan`` and ``apply``."""
    sub = commands.add(
        "plan",
        "show what applying a fleet file would change (reads only)",
        run_plan,
        examples=_EXAMPLES["plan"],
    )
    sub.add_argument("fleet", metavar="FLEET.toml", help="the fleet file (TOML, version = 1)")
    sub.add_argument("--out", metavar="PLAN.json", help="save the plan, for apply to run as it is")
    sub.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="as Terraform: exit 0 when nothing is to do, 2 when changes are pending, 1 on "
        "any error",
    )
    sub = commands.add(
        "apply",
        "make the account match a fleet file, or carry out a saved plan",
        run_apply,
        examples=_EXAMPLES["apply"],
    )
    sub.add_argument(
        "file", metavar="FLEET.toml|PLAN.json", help="a fleet file, or a plan saved by plan --out"
    )
    add_yes(sub, "apply without asking (required when stdin is no terminal)")
    sub.add_argument(
        "--max-delete",
        type=count,
        default=None,
        metavar="N",
        help="refuse a plan that deletes more than N images (default: the fleet file's "
        f"max_delete, {DEFAULT_MAX_DELETE} unless it says); a plan with snapshots still "
        "makes them, and deletes nothing (exit 3)",
    )
    sub.add_argument(
        "--no-wait",
        action="store_true",
        help="start the due snapshots and the planned transfers, await none, delete "
        "nothing (those entries end started, exit 0); the next apply finds them and does "
        "the rest. Refused for a group with power_off (exit 2)",
    )
    sub.add_argument(
        "--metrics-file",
        metavar="PATH",
        help="after the apply, whatever its end, write its metrics there (Prometheus' text "
        "format, for node_exporter's textfile collector); checked before any request",
    )
