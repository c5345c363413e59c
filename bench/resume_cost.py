"""Figure 4: the cost of re-running a finished migration (wall time, requests, writes).

1. migrate: a fresh bulk export (no attachments, ids unique to this run) is migrated with
   `helpdesk migrate run --workers W` (the reference: the migration itself);
2. resume: the same command again, same ledger: everything is done, so it must write nothing;
3. lost ledger (unless --no-lost-ledger): the same export with an empty ledger: the tool must
   recognise every ticket in Redmine itself («ID в портале», provenance markers) and still
   write nothing; it reads each issue back, so it costs reads in proportion to the tickets.

Requests are the tool's own count (`--format json` → `requests`). Target: 0 writes on
re-run, and far less time than the migration itself.

    .venv/bin/python bench/resume_cost.py                           # 1000 tickets, --workers 8
    .venv/bin/python bench/resume_cost.py --export DIR --state LEDGER   # re-use a migrated export
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import generate, helpdesk, log, machine, puma_mode, redmine, run_id, table, write_result  # noqa: E402


def migrate(target: Any, export: Path, ledger: Path, workers: int, workdir: Path) -> dict[str, Any]:
    child = helpdesk(["migrate", "run", str(export), "--workers", str(workers), "--format", "json",
                      "--state", str(ledger)], target, workdir=workdir)
    doc = child.doc
    reqs = doc.get("requests", {})
    issues = doc.get("counts", {}).get("issue", {})
    return {"exit": child.exit_code, "seconds": round(child.seconds, 2), "tool_seconds": doc.get("seconds"),
            "requests": reqs.get("requests", 0), "writes": reqs.get("writes", 0), "gets": reqs.get("get", 0),
            "retries": reqs.get("retries", 0), "tickets_read": doc.get("tickets_read"),
            "issues": issues, "cpu_seconds": round(child.cpu_seconds, 2),
            "max_rss_mb": round(child.max_rss_mb, 1), "findings": len(doc.get("findings", []))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1000, help="tickets in the export (default 1000)")
    parser.add_argument("--workers", type=int, default=8, help="--workers of every run (default 8)")
    parser.add_argument("--export", type=Path, help="an export already migrated (skips step 1)")
    parser.add_argument("--state", type=Path, help="its ledger (with --export)")
    parser.add_argument("--no-lost-ledger", action="store_true", help="skip step 3")
    parser.add_argument("--work", type=Path, default=Path("/tmp/helpdesk-bench"),
                        help="where the export and ledgers go (default /tmp/helpdesk-bench)")
    args = parser.parse_args(argv)
    if (args.export is None) != (args.state is None):
        parser.error("--export and --state go together")
    host = machine()
    target = redmine()
    rid = run_id()
    work = args.work / f"resume-{rid}"
    work.mkdir(parents=True)
    log(f"Redmine {target.url} ({puma_mode()}), run {rid}, work dir {work}")

    runs: list[dict[str, Any]] = []
    if args.export is None:
        export, ledger = work / "export", work / "ledger.sqlite"
        generate(export, args.tickets, id_prefix=f"{rid}-")
        log(f"migrate: {args.tickets} tickets, --workers {args.workers}")
        runs.append({"run": "migrate", **migrate(target, export, ledger, args.workers, work / "migrate.out")})
    else:
        export, ledger = args.export, args.state
    log("resume: same export, same ledger")
    runs.append({"run": "resume (ledger)", **migrate(target, export, ledger, args.workers, work / "resume.out")})
    if not args.no_lost_ledger:
        log("resume: same export, empty ledger (recovery from Redmine)")
        runs.append({"run": "resume (lost ledger)",
                     **migrate(target, export, work / "empty.ledger.sqlite", args.workers, work / "lost.out")})

    tickets = next((r["tickets_read"] for r in runs if r["tickets_read"]), args.tickets)
    headers = ["run", "tickets", "wall s", "requests", "writes", "GETs", "issues", "CPU s", "RSS MB"]
    body = [[r["run"], r["tickets_read"], r["seconds"], r["requests"], r["writes"], r["gets"],
             " ".join(f"{k}={v}" for k, v in r["issues"].items()), r["cpu_seconds"], r["max_rss_mb"]] for r in runs]
    print(f"Resume cost — {tickets} tickets, --workers {args.workers}, Redmine {target.variant} ({puma_mode()}), "
          f"{host['cores']} cores")
    print(table(headers, body))
    first = runs[0]
    if first["run"] == "migrate":
        for r in runs[1:]:
            r["time_vs_migrate"] = round(r["seconds"] / first["seconds"], 3)
        print("resume / migrate wall time: " + ", ".join(f"{r['run']} {r['time_vs_migrate']}" for r in runs[1:]))
    print("target: 0 writes on re-run, far less time than the migration itself")
    path = write_result("resume_cost", {"machine": host, "run_id": rid, "work_dir": str(work),
                                        "export": str(export), "ledger": str(ledger), "workers": args.workers,
                                        "runs": runs})
    print(f"JSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
