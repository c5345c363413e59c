"""A seeded year of support life checked by the oracle (issue 18): the per-rule table.

`python bench/simulate_year.py --tickets 5000 --seed 1` creates N tickets over `--days`
(365), runs the real sweeps (plan_sweep + apply_plan, bundled policies) every 15 simulated
minutes against the in-memory Redmine, shard by shard on `--processes` processes, and prints
per rule: actions taken, episodes the oracle required, wrong, missed, local (allowed only as a
local choice), and tickets whose SLA clock differs from the oracle's by more than a minute.
No Redmine server is needed. JSON (with up to 40 example histories) goes to
bench/results/simulate_year.json. Cost grows with ticket-ticks (each open ticket is judged by
every rule at every cron run; an unchanged issue is parsed once, tests/sim/memo.py): measured
~0.28 s of CPU per ticket at the year's density (5,000 tickets, one process: see bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, table, write_result  # noqa: E402

from tests.sim.world import Tally, rows, simulate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=float, default=365, help="tickets are created over this many days")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--shard-days", type=float, default=7)
    parser.add_argument("--long-share", type=float, default=0.01, help="share of tickets that live a year")
    args = parser.parse_args()
    load = os.getloadavg()
    started, cpu = time.perf_counter(), time.process_time()
    done = {"tickets": 0}

    def progress(shard: Tally) -> None:
        done["tickets"] += shard.tickets
        print(f"  shard: {shard.tickets} tickets, {shard.ticks} cron runs, {shard.cpu_s:.0f} s CPU "
              f"({done['tickets']}/{args.tickets} tickets, {time.perf_counter() - started:.0f} s)",
              file=sys.stderr, flush=True)

    tally = simulate(args.seed, args.tickets, args.days, processes=args.processes,
                     shard_days=args.shard_days, long_share=args.long_share, progress=progress)
    wall = time.perf_counter() - started
    table_rows = rows(tally)
    print(table(["rule", "actions", "due", "wrong", "missed", "local", "clock>1min"],
                [[r["rule"] + ("" if r["judged"] else " (not judged)"), r["actions"], r["due"], r["wrong"],
                  r["missed"], r["local"], r["clock_diff"]] for r in table_rows]))
    print(f"{args.tickets} tickets over {args.days:g} days, seed {args.seed}: {tally.ticks} cron runs "
          f"(shard-runs summed), {tally.human_acts} acts of people, {wall:.1f} s wall on "
          f"{args.processes} processes, {tally.cpu_s:.0f} s CPU (load {load[0]:.1f} at start)")
    path = write_result("simulate_year", {
        "args": vars(args), "machine": machine(), "wall_s": round(wall, 1),
        "parent_cpu_s": round(time.process_time() - cpu, 1), "load_start": load, "load_end": os.getloadavg(),
        "cron_runs": tally.ticks, "cpu_s": round(tally.cpu_s, 1), "human_acts": tally.human_acts, "rules": table_rows,
        "not_judged": dict(tally.not_judged), "examples": tally.examples})
    print(f"JSON: {path}")
    return 0 if all(r["wrong"] == 0 and r["missed"] == 0 for r in table_rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
