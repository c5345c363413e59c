"""Figure 2: `helpdesk migrate plan` speed and peak memory on 10k and 100k-ticket exports.

Exports are generated (bulk, no attachments) once and kept in the work dir (re-used by later
runs with the same sizes). For each size, in child processes, measured with os.wait4 (the
child's own max RSS and CPU):

  plan     `helpdesk migrate plan EXPORT --format json --state <fresh ledger>` against the pgsql
           Redmine: the export read and validated, every ticket planned, the live Redmine read once.
  reader   the export reader alone (`open_export(...).tickets()` iterated): reading + validating.

`plan` runs through bench/_recording_cli.py, which also notes when the first ticket starts and
the last one ends: "ticket phase" tickets/s = tickets / that span (reading, validating and
planning every ticket), the rest of the wall time is start-up, the live snapshot (every issue
that carries a portal id, 100 per page) and the users/memberships pass.
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
from _common import BENCH, REPO, generate, log, machine, puma_mode, redmine, run_child, table, write_result  # noqa: E402

# Ticket ids no migration uses (the bundled sample's T1..T40 are in Redmine): every ticket plans a create.
PREFIX = "plan-"
READER = """
import json, sys, time
sys.path.insert(0, {repo!r})
from helpdesk_core.export import open_export
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
    path = work / f"export-{PREFIX}{tickets}"
    manifest = path / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text())["counts"]["tickets"] == tickets:
        return path, None
    log(f"generating a {tickets}-ticket export in {path}")
    return path, round(generate(path, tickets, id_prefix=PREFIX), 1)


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
    for tickets in sizes:
        export, gen_seconds = export_for(args.work, tickets)
        ledger = args.work / f"plan-{tickets}.ledger.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{ledger}{suffix}").unlink(missing_ok=True)
        log(f"plan: {tickets} tickets")
        record = args.work / f"plan-{tickets}.requests.jsonl"
        plan = run_child([sys.executable, str(BENCH / "_recording_cli.py"), "migrate", "plan", str(export),
                          "--format", "json", "--state", str(ledger)],
                         env={**target.env(), "BENCH_RECORD": str(record)}, workdir=args.work / f"plan-{tickets}.out")
        phase = json.loads(Path(f"{record}.phase.json").read_text())
        span = (phase["last_end"] - phase["first_start"]) if phase["tickets"] else 0.0
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
            "ticket_phase_seconds": round(span, 2), "outside_tickets_seconds": round(plan.seconds - span, 2),
            "ticket_phase_tickets_per_s": round(tickets / span) if span else None,
        }
        if reader is not None:
            out = json.loads(reader.stdout)
            row.update(reader_seconds=round(out["seconds"], 2), reader_tickets=out["tickets"],
                       reader_bad=out["bad"], reader_tickets_per_s=round(out["tickets"] / out["seconds"]),
                       reader_max_rss_mb=round(reader.max_rss_mb, 1))
        rows.append(row)

    headers = ["tickets", "plan s", "of which tickets s", "plan t/s", "ticket phase t/s", "plan RSS MB",
               "plan CPU s", "requests", "findings", "reader t/s", "reader RSS MB"]
    body = [[r["tickets"], r["plan_seconds"], r["ticket_phase_seconds"], r["plan_tickets_per_s"],
             r["ticket_phase_tickets_per_s"], r["plan_max_rss_mb"], r["plan_cpu_seconds"],
             r["requests"].get("requests", "-"), r["findings"], r.get("reader_tickets_per_s", "-"),
             r.get("reader_max_rss_mb", "-")] for r in rows]
    print(f"migrate plan — Redmine {target.variant} ({puma_mode()}), {host['cores']} cores "
          f"(outside the ticket phase: start-up, live snapshot, users pass)")
    print(table(headers, body))
    print("targets: >= 20,000 tickets/s reading and validating; peak RSS < 200 MB, flat")
    path = write_result("plan_speed", {"machine": host, "work_dir": str(args.work), "rows": rows})
    print(f"JSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
