"""Scheduled snapshots at scale: the requests of a plan, the rule's CPU, and an apply
within the request budget.

1. A sandbox holds D droplets tagged ``web`` (default 1,000), each with 30 snapshots the
   group owns. ``plan_fleet`` is run twice: with every droplet due (its newest is 25 h
   old) and with none due (1 h old). Each plan's requests (``sandbox.count()``) are set
   against ``plan.estimate`` and against the budget (250 a minute).
2. The rule alone (``plan_images``, the images and droplets already parsed), median of
   several rounds, in CPU time: the target is under 200 ms for 1,000 droplets. Its
   ratio is to a floor timed in the same run: matching each name, grouping by droplet
   and ranking each series, with no verdict made.
3. An apply of A due droplets (default 200), the client and the sandbox both at 250
   requests a minute: its requests, the virtual time it took, the 429s (target 0), and
   the most snapshot polls in any 60 s of virtual time (target: at most half the budget).

    python benchmarks/fleet_snapshots.py
    python benchmarks/fleet_snapshots.py --droplets 40 --apply 20 --rounds 1
"""

from __future__ import annotations

import argparse
import bisect
import operator
import re
import statistics
import time
from datetime import datetime, timedelta, timezone

from do_images import Image
from do_images.fleet import DropletView, Fleet, plan_images
from do_images.testing import Sandbox

START = datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc)
BUDGET = 250
FLEET = Fleet.from_dict(
    {
        "version": 1,
        "max_delete": 10_000,
        "group": [
            {
                "name": "web",
                "source": {"droplet_tag": "web"},
                "every": "24h",
                "keep": 30,
                "regions": ["nyc3"],
            }
        ],
    }
)


def account(droplets: int, snapshots: int, newest_hours: float) -> Sandbox:
    """``droplets`` droplets tagged ``web``, each with ``snapshots`` owned snapshots a day
    apart, the newest ``newest_hours`` old."""
    sandbox = Sandbox(start=START, seed=False, requests_per_minute=None, rate_limit=10**6)
    image_id = 1
    for number in range(droplets):
        droplet_id = 5_000_000 + number
        sandbox.add_droplet(f"web-{number}", id=droplet_id, tags=["web"], used_gb=1.0)
        for age in range(snapshots):
            when = START - timedelta(hours=newest_hours + 24 * age)
            sandbox.add_image(
                f"web-{droplet_id}-{when:%Y%m%d-%H%M%S}",
                id=image_id,
                created_at=when,
                droplet_id=droplet_id,
            )
            image_id += 1
    return sandbox


def plan_case(
    droplets: int, newest_hours: float, rounds: int
) -> tuple[int, int, int, float, float]:
    """Requests planning made, those its estimate says, snapshot entries, the rule's CPU
    and the floor's (s, medians)."""
    sandbox = account(droplets, 30, newest_hours)
    with sandbox.client() as do:
        before = sandbox.count()
        plan = do.image.plan_fleet(FLEET)
        made = sandbox.count() - before
        images = do.image.list(private=True)
        views = [DropletView.of(d) for d in do.droplet.list(tag_name="web")]
    cpu: list[float] = []
    floor: list[float] = []
    for _ in range(rounds):
        started = time.process_time()
        plan_images(FLEET, images, START, droplets={"web": views})
        cpu.append(time.process_time() - started)
        started = time.process_time()
        _floor(images)
        floor.append(time.process_time() - started)
    estimated = sum(plan.estimate["plan"].values())
    return (
        made,
        estimated,
        len(plan.of("snapshot")),
        statistics.median(cpu),
        statistics.median(floor),
    )


OWNED = re.compile(r"web-(?P<droplet_id>[0-9]+)-(?P<time>[0-9]{8}-[0-9]{6})")


def _floor(images: list[Image]) -> list[tuple[int, list[Image]]]:
    """The least any per-droplet rule does: match each name, group by droplet, rank each
    series by time; no verdicts, no entries."""
    series: dict[int, list[Image]] = {}
    for image in images:
        match = OWNED.fullmatch(image.name or "")
        if match is not None:
            series.setdefault(int(match["droplet_id"]), []).append(image)
    return [(key, sorted(items, key=_BY_TIME, reverse=True)) for key, items in series.items()]


_BY_TIME = operator.attrgetter("created_at", "id")


def apply_case(droplets: int) -> dict[str, float]:
    """Apply a plan of ``droplets`` due droplets at ``BUDGET`` a minute."""
    sandbox = Sandbox(start=START, seed=False, requests_per_minute=BUDGET)
    for number in range(droplets):
        sandbox.add_droplet(f"web-{number}", id=6_000_000 + number, tags=["web"], used_gb=1.0)
    with sandbox.client(requests_per_minute=BUDGET) as do:
        plan = do.image.plan_fleet(FLEET)
        before, started = sandbox.count(), sandbox.clock()
        report = do.image.apply_fleet(plan)
    seconds = sandbox.clock() - started
    polls = sorted(r.answered_at for r in sandbox.requests if r.operation == "dropletActions_get")
    busiest = max(
        (bisect.bisect_left(polls, when + 60) - i for i, when in enumerate(polls)), default=0
    )
    return {
        "requests": sandbox.count() - before,
        "estimate": plan.estimate["requests"],
        "seconds": seconds,
        "429s": sum(1 for r in sandbox.requests if r.status == 429),
        "polls": len(polls),
        "polls_per_minute": busiest,
        "done": len(report.of("done")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--droplets", type=int, default=1_000)
    parser.add_argument("--apply", type=int, default=200, help="due droplets to apply")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the rule (median)")
    args = parser.parse_args(argv)
    print("| case | value | estimate or target |")
    print("|---|---|---|")
    for label, hours in (("all due", 25.0), ("none due", 1.0)):
        made, estimated, due, cpu, floor = plan_case(args.droplets, hours, args.rounds)
        minutes = made / BUDGET
        print(
            f"| plan, {args.droplets} droplets x 30 snapshots, {label}: requests | {made} "
            f"({minutes:.1f} min of the budget) | estimate {estimated} |"
        )
        print(f"| plan, {label}: droplets due | {due} | {args.droplets if hours > 24 else 0} |")
        print(
            f"| rule CPU, {label}, parsing excluded (median of {args.rounds}) | "
            f"{cpu * 1000:.1f} ms ({cpu / floor:.1f}x the floor, {floor * 1000:.1f} ms: "
            "match, group and rank only) | under 200 ms |"
        )
        assert made == estimated, (made, estimated)
    applied = apply_case(args.apply)
    print(
        f"| apply {args.apply} due droplets: requests | {applied['requests']:.0f} | "
        f"estimate {applied['estimate']:.0f} |"
    )
    print(f"| apply: virtual time | {applied['seconds'] / 60:.1f} min | |")
    print(f"| apply: 429s | {applied['429s']:.0f} | 0 |")
    print(
        f"| apply: snapshot polls | {applied['polls']:.0f}, "
        f"at most {applied['polls_per_minute']:.0f} in any minute | at most {BUDGET // 2} "
        "a minute |"
    )
    print(f"| apply: snapshots done | {applied['done']:.0f} | {args.apply} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
