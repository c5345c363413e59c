"""Figure 2: `helpdesk migrate plan` speed and peak memory on 10k and 100k-ticket exports.

Exports are generated (bulk, no attachments) once and kept in the work dir (re-used by later
runs with the same sizes). For each size, in child processes, measured with os.wait4 (the
child's own max RSS and CPU):

  plan     `helpdesk migrate plan EXPORT --format json --state <fresh ledger>` against the pgsql
           Redmine: the export read and validated, every ticket planned, the live Redmine read once.
  reader   the export reader alone (`open_export(...).tickets()` iterated): reading + validating.

A 0-ticket export is planned too: its time is the fixed part (process start, live snapshot,
users/memberships pass), so "net" tickets/s = tickets / (plan time - fixed time).
Target: >= 20,000 tickets/s reading and validating; peak RSS < 200 MB and flat from 10k to 100k.

    .venv/bin/python bench/plan_speed.py                  # sizes 10000,100000
    .venv/bin/python bench/plan_speed.py --sizes 10000,100000,300000
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, generate, helpdesk, log, machine, puma_mode, redmine, run_child, table, write_result  # noqa: E402

READER = """
import json, sys, time
sys.path.insert(0, {repo!r})
from migrator.export import open_export
started = time.perf_counter()
n = bad = 0
def sink(record):
    global bad
    bad += 1
with open_export(sys.argv[1], on_bad=sink) as export:
    users = sum(1 for _ in export.users())
    for ticket in export.tickets():
        n += 1
print(json.dumps({{"tickets": n, "bad": bad, "users": users, "seconds": time.perf_counter() - started}}))
"""


def export_for(work: Path, tickets: int) -> tuple[Path, float | None]:
    """The bulk export of `tickets` (generated once; None seconds when it was already there)."""
    path = work / f"export-{tickets}"
    manifest = path / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text())["counts"]["tickets"] == tickets:
        return path, None
    log(f"generating a {tickets}-ticket export in {path}")
    return path, round(generate(path, tickets), 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="ticket counts, comma-separated")
    parser.add_argument("--work", type=Path, default=Path("/tmp/helpdesk-bench/plan"),
                        help="exports are kept here between runs (default /tmp/helpdesk-bench/plan)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    host = machine()
    target = redmine()
    args.work.mkdir(parents=True, exist_ok=True)
    log(f"Redmine {target.url} ({puma_mode()})")

    rows: list[dict[str, Any]] = []
    for tickets in [0, *sizes]:
        export, gen_seconds = export_for(args.work, tickets)
        ledger = args.work / f"plan-{tickets}.ledger.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{ledger}{suffix}").unlink(missing_ok=True)
        log(f"plan: {tickets} tickets")
        plan = helpdesk(["migrate", "plan", str(export), "--format", "json", "--state", str(ledger)], target,
                        workdir=args.work / f"plan-{tickets}.out")
        reader = None
        if tickets:
            log(f"reader: {tickets} tickets")
            reader = run_child([sys.executable, "-c", READER.format(repo=str(REPO)), str(export)],
                               ok_codes=(0,), workdir=args.work / f"reader-{tickets}.out")
        doc = plan.doc
        row: dict[str, Any] = {
            "tickets": tickets, "generate_seconds": gen_seconds, "plan_exit": plan.exit_code,
            "plan_seconds": round(plan.seconds, 2), "plan_cpu_seconds": round(plan.cpu_seconds, 2),
            "plan_max_rss_mb": round(plan.max_rss_mb, 1), "tickets_read": doc.get("tickets_read"),
            "requests": doc.get("requests", {}), "findings": len(doc.get("findings", [])),
            "plan_tickets_per_s": round(tickets / plan.seconds) if tickets else None,
        }
        if reader is not None:
            out = json.loads(reader.stdout)
            row.update(reader_seconds=round(out["seconds"], 2), reader_tickets=out["tickets"],
                       reader_bad=out["bad"], reader_tickets_per_s=round(out["tickets"] / out["seconds"]),
                       reader_max_rss_mb=round(reader.max_rss_mb, 1))
        rows.append(row)

    fixed = rows[0]["plan_seconds"]
    for row in rows[1:]:
        net = row["plan_seconds"] - fixed
        row["plan_tickets_per_s_net"] = round(row["tickets"] / net) if net > 0 else None

    headers = ["tickets", "plan s", "plan t/s", "plan t/s net", "plan RSS MB", "plan CPU s", "requests",
               "findings", "reader t/s", "reader RSS MB"]
    body = [[r["tickets"], r["plan_seconds"], r["plan_tickets_per_s"] or "-", r.get("plan_tickets_per_s_net", "-"),
             r["plan_max_rss_mb"], r["plan_cpu_seconds"], r["requests"].get("requests", "-"), r["findings"],
             r.get("reader_tickets_per_s", "-"), r.get("reader_max_rss_mb", "-")] for r in rows]
    print(f"migrate plan — Redmine {target.variant} ({puma_mode()}), {host['cores']} cores "
          f"(0 tickets = fixed cost: start-up, live snapshot, users pass)")
    print(table(headers, body))
    print("targets: >= 20,000 tickets/s reading and validating; peak RSS < 200 MB, flat")
    path = write_result("plan_speed", {"machine": host, "work_dir": str(args.work), "rows": rows})
    print(f"JSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
