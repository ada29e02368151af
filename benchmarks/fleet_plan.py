"""Planning a fleet over a large account: how many requests, and how much CPU the rule takes.

A sandbox holds N images (default 10,000, in pages of 200: 50 pages), most of them in a
fleet's two groups, a few lacking one of the fleet's regions. ``plan_fleet`` must read
exactly the pages plus one action list per kept image that lacks a region, and nothing
else; the rule itself (``plan_images``, with the images already parsed) is timed
alone, median of several rounds, in CPU time.

    python benchmarks/fleet_plan.py                      # 10,000 images
    python benchmarks/fleet_plan.py --images 450 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timedelta, timezone

from do_images.fleet import Fleet, plan_images
from do_images.testing import Sandbox

START = datetime(2026, 12, 1, tzinfo=timezone.utc)
FLEET = Fleet.from_dict(
    {
        "version": 1,
        "group": [
            {
                "name": "web",
                "select": {"name_prefix": "web-"},
                "regions": ["nyc3", "sfo3"],
                "keep": 3,
                "max_age": "30d",
                "protect_tags": ["keep"],
                "ensure_tags": ["managed"],
            },
            {"name": "db", "select": {"name_prefix": "db-"}, "keep": 5, "regions": ["nyc3"]},
        ],
    }
)


def account(images: int) -> Sandbox:
    sandbox = Sandbox(start=START, seed=False, requests_per_minute=None, rate_limit=10**6)
    for number in range(1, images + 1):
        name = f"{'web' if number % 2 else 'db'}-{number}"
        # The three newest web images (the kept ones) lack sfo3: three action lists.
        regions = ["nyc3"] if number > images - 6 else ["nyc3", "sfo3"]
        sandbox.add_image(
            name, id=number, regions=regions, created_at=START - timedelta(minutes=images - number)
        )
    return sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=9, help="rounds of the rule (median)")
    args = parser.parse_args(argv)
    sandbox = account(args.images)
    with sandbox.client() as do:
        plan = do.image.plan_fleet(FLEET)
        planning = len(sandbox.requests)
        images = do.image.list(private=True)
    listed = [r for r in sandbox.requests if r.operation == "images_list"]
    action_lists = [r for r in sandbox.requests if r.operation == "imageActions_list"]
    pages = -(-args.images // 200)
    cpu: list[float] = []
    for _ in range(args.rounds):
        started = time.process_time()
        plan_images(FLEET, images, START)
        cpu.append(time.process_time() - started)
    plan_requests = sum(plan.estimate["plan"].values())
    assert plan_requests == planning  # the plan's estimate says what planning read
    print("| case | value | target |")
    print("|---|---|---|")
    print(f"| images | {args.images} | |")
    print(f"| pages read by the plan | {plan.pages} | {pages} |")
    print(f"| action lists read | {len(action_lists)} | kept images lacking a region: 3 |")
    print(f"| requests of the plan | {plan_requests} | the regions, pages + action lists |")
    print(
        f"| planning CPU, parsing excluded (median of {args.rounds}) | "
        f"{statistics.median(cpu) * 1000:.1f} ms | under 100 ms |"
    )
    print(f"| entries | {len(plan.entries)} | |")
    print(f"| summary | {plan.summary} | |")
    assert len(listed) == 2 * pages  # the plan's pages, then list() for the rule's input
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
