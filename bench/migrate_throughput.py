"""Figure 1: migration throughput of `helpdesk migrate run` vs the raw API ceiling, in one run.

For each worker count (default 1, 4, 8):
  tool  a fresh bulk export (no attachments, ids prefixed per run so every ticket is created) is
        migrated by `helpdesk migrate run --workers W` in a child process, with a passive log of
        every request it sends (bench/_recording_cli.py);
  raw   right after, a minimal client (plain `requests`, one session per thread, W threads) sends
        the same ticket writes with the same payloads (ids re-prefixed so they are new tickets):
        POST /issues.json, the PUT /issues/N.json of every note/complaint/final state and the
        POST /time_entries.json, with the same X-Redmine-Switch-User. No reads.
Then a third baseline: a straightforward python-redmine loop, one request at a time, replaying
the same ticket writes as the W=8 run (issue.create, issue.update, time_entry.create).
Then the in-process loader (`--loader rails`, issue 13) on a fresh export of the same shape, and once
more on a "full" one (with attachments), through bench/_timed_runner.py, which reports the loader's
own CPU and peak RSS and the ticket phase (first ticket sent to last answer). Tool CPU there is the
tool's rusage minus the loader's; tool RSS is the tool process's own high-water mark (/proc VmHWM).

issues/s = tickets / wall time. "e2e" is the whole command (process start, live snapshot,
users/memberships pass, tickets, report); "tickets" is the ticket phase only (first to last
request made for a ticket), which is what the raw client does. Ratio = tool / raw.

    .venv/bin/python bench/migrate_throughput.py                    # defaults: 80 / 300 / 300, loop 80
    .venv/bin/python bench/migrate_throughput.py --tickets 1000 --tickets-w1 300 --loop-tickets 200  # idle machine
    .venv/bin/python bench/migrate_throughput.py --loader-tickets 2000   # loader rows (0 skips them)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from collections import Counter, OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    BENCH,
    HELPDESK,
    REPO,
    Target,
    generate,
    helpdesk,
    log,
    machine,
    peak_rss_mb,
    puma_mode,
    redmine,
    run_child,
    run_id,
    runner_command,
    table,
    write_result,
)

TICKET_WRITE = re.compile(r"^/issues\.json$|^/issues/\d+\.json$|^/time_entries\.json$")
ISSUE_PATH = re.compile(r"^/issues/\d+\.json$")
MODULES = ("Авиа", "Отели", "Ж/Д")  # samples/make_sample_export.py MODULES (categories of bulk exports)

Request = dict[str, Any]
Group = list[Request]  # one ticket's writes, in the order the tool sent them


# --------------------------------------------------------------------------- setup


def warm_up(target: Target, work: Path, rid: str) -> dict[str, Any]:
    """Users, projects, memberships and categories of bulk exports exist before anything is timed.

    A 0-ticket export migrated by the tool creates (or matches) the 50 companies and 520 users;
    the per-(project, module) categories that tickets would create on first use are created here.
    """
    export = work / "warm-up"
    generate(export, 0, id_prefix=f"{rid}w-")
    child = helpdesk(["migrate", "run", str(export), "--workers", "4", "--format", "json",
                      "--state", str(work / "warm-up.ledger.sqlite")], target, workdir=work / "warm-up.out")
    session = requests.Session()
    session.headers["X-Redmine-API-Key"] = target.api_key
    created = 0
    projects: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = session.get(f"{target.url}/projects.json", params={"limit": 100, "offset": offset}).json()
        projects += page["projects"]
        offset += len(page["projects"])
        if not page["projects"] or offset >= page["total_count"]:
            break
    for project in projects:
        if not str(project["name"]).startswith("Агентство "):
            continue
        have = {c["name"] for c in session.get(f"{target.url}/projects/{project['id']}/issue_categories.json",
                                               params={"limit": 100}).json()["issue_categories"]}
        for name in MODULES:
            if name not in have:
                session.post(f"{target.url}/projects/{project['id']}/issue_categories.json",
                             json={"issue_category": {"name": name}}).raise_for_status()
                created += 1
    return {"seconds": round(child.seconds, 1), "requests": child.doc.get("requests", {}),
            "counts": child.doc.get("counts", {}), "categories_created": created}


# --------------------------------------------------------------------------- the tool


def run_tool(target: Target, work: Path, tickets: int, workers: int, prefix: str) -> tuple[dict[str, Any], list[Group]]:
    export = work / f"tool-w{workers}"
    generate(export, tickets, id_prefix=prefix)
    record = work / f"tool-w{workers}.requests.jsonl"
    env = {**target.env(), "BENCH_RECORD": str(record)}
    log(f"tool: {tickets} tickets, --workers {workers}")
    child = run_child([sys.executable, str(BENCH / "_recording_cli.py"), "migrate", "run", str(export),
                       "--workers", str(workers), "--format", "json",
                       "--state", str(work / f"tool-w{workers}.ledger.sqlite")],
                      env=env, workdir=work / f"tool-w{workers}.out")
    doc = child.doc
    entries = [json.loads(line) for line in record.read_text("utf-8").splitlines()]
    in_tickets = [e for e in entries if e["ticket"] is not None]
    phase = max(e["t1"] for e in in_tickets) - min(e["t0"] for e in in_tickets) if in_tickets else 0.0
    created = doc["counts"].get("issue", {}).get("create", 0)
    if created != tickets:
        log(f"warning: the tool created {created} issues of {tickets} (counts: {doc['counts']})")
    groups: OrderedDict[str, Group] = OrderedDict()
    for e in sorted(in_tickets, key=lambda e: e["t0"]):
        if e["method"] != "GET" and TICKET_WRITE.match(e["path"]):
            groups.setdefault(e["ticket"], []).append(e)
    reqs = doc["requests"]
    ticket_requests = len(in_tickets)
    result = {
        "kind": "tool", "workers": workers, "tickets": tickets, "issues_created": created,
        "seconds_e2e": round(child.seconds, 2), "seconds_tickets": round(phase, 2),
        "issues_per_s_e2e": round(tickets / child.seconds, 2),
        "issues_per_s_tickets": round(tickets / phase, 2) if phase else None,
        "requests": reqs["requests"], "writes": reqs["writes"], "gets": reqs.get("get", 0),
        "retries": reqs.get("retries", 0), "ticket_phase_requests": ticket_requests,
        "requests_per_s_e2e": round(reqs["requests"] / child.seconds, 2),
        "requests_per_s_tickets": round(ticket_requests / phase, 2) if phase else None,
        "cpu_seconds": round(child.cpu_seconds, 2), "cpu_share_of_wall": round(child.cpu_seconds / child.seconds, 3),
        "max_rss_mb": round(child.max_rss_mb, 1), "findings": len(doc.get("findings", [])),
        "counts": doc["counts"],
    }
    return result, list(groups.values())


# --------------------------------------------------------------------------- the loader


def _loader_timing(prefix: Path) -> dict[str, Any]:
    """The relays' files of one run combined: CPU summed, RSS summed (processes live side by side), the
    ticket phase from the first ticket sent by any to the last answer received by any."""
    parts = [json.loads(path.read_text("utf-8")) for path in sorted(prefix.parent.glob(f"{prefix.name}.*.json"))]
    if not parts:
        sys.exit(f"no loader timing files {prefix}.*.json")
    firsts = [p["first_sent"] for p in parts if p["first_sent"] is not None]
    return {"processes": len(parts),
            "ticket_phase_seconds": (max(p["last_answer"] for p in parts) - min(firsts)) if firsts else None,
            "loader_cpu_seconds": round(sum(p["loader_cpu_seconds"] for p in parts), 2),
            "relay_cpu_seconds": round(sum(p["relay_cpu_seconds"] for p in parts), 2),
            "loader_max_rss_mb": round(sum(p["loader_max_rss_mb"] for p in parts), 1)}


def run_loader(target: Target, work: Path, tickets: int, prefix: str, *, attachments: bool,
               workers: int = 1) -> dict[str, Any]:
    """`migrate run --loader rails --workers W` on a fresh export; the loaders' own figures come from
    _timed_runner (one file per loader process)."""
    name = f"loader{'-full' if attachments else ''}-w{workers}"
    export = work / name
    generate(export, tickets, id_prefix=prefix, attachments=attachments)
    timing = work / f"{name}.timing"
    runner = " ".join([shlex.quote(sys.executable), shlex.quote(str(BENCH / "_timed_runner.py")),
                       shlex.quote(str(timing)), runner_command()])
    cmd = [HELPDESK, "migrate", "run", str(export), "--format", "json", "--loader", "rails", "--rails-runner",
           runner, "--workers", str(workers), "--state", str(work / f"{name}.ledger.sqlite")]
    log(f"loader: {tickets} tickets{' with attachments' if attachments else ''}, {workers} process(es)")
    out_dir = work / f"{name}.out"
    out_dir.mkdir(parents=True, exist_ok=True)
    peak: list[float] = [0.0]
    with (out_dir / "stdout.txt").open("wb") as out, (out_dir / "stderr.txt").open("wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=target.env(), cwd=REPO)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], peak_rss_mb(proc.pid) or 0.0)

        threading.Thread(target=sample, daemon=True).start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        seconds = time.monotonic() - started
    code = os.waitstatus_to_exitcode(status)
    stdout = (out_dir / "stdout.txt").read_text("utf-8")
    if code not in (0, 3):
        sys.exit(f"loader run exited {code}:\n{(out_dir / 'stderr.txt').read_text('utf-8')[-3000:]}")
    doc = json.loads(stdout)
    t = _loader_timing(timing)
    total_cpu = usage.ru_utime + usage.ru_stime  # the tool and, once reaped, its runner
    tool_cpu = total_cpu - t["loader_cpu_seconds"] - t["relay_cpu_seconds"]
    phase = t["ticket_phase_seconds"] or seconds
    created = doc["counts"].get("issue", {}).get("create", 0)
    if created != tickets:
        log(f"warning: the loader created {created} issues of {tickets} (counts: {doc['counts']})")
    objects = sum(doc["counts"].get(k, {}).get("create", 0) for k in ("issue", "journal", "attachment",
                                                                       "time_entry", "complaint"))
    reqs = doc["requests"]
    return {
        "kind": "loader-full" if attachments else "loader", "workers": workers, "tickets": tickets,
        "issues_created": created, "objects_created": objects,
        "seconds_e2e": round(seconds, 2), "seconds_tickets": round(phase, 2),
        "issues_per_s_e2e": round(tickets / seconds, 2), "issues_per_s_tickets": round(tickets / phase, 2),
        "objects_per_s_tickets": round(objects / phase, 1),
        "requests": reqs["requests"], "writes": reqs["writes"],
        "requests_per_s_e2e": round(reqs["requests"] / seconds, 2),
        "cpu_seconds": round(tool_cpu, 2), "cpu_share_of_wall": round(tool_cpu / seconds, 3),
        "max_rss_mb": round(peak[0], 1), "loader_cpu_seconds": t["loader_cpu_seconds"],
        "loader_cpu_share_of_ticket_phase": round(t["loader_cpu_seconds"] / phase, 3),
        "loader_max_rss_mb": t["loader_max_rss_mb"], "findings": len(doc.get("findings", [])),
        "counts": doc["counts"],
    }


# --------------------------------------------------------------------------- raw client


def _rebody(entry: Request, old: str, new: str) -> Any:
    body = entry["json"]
    return None if body is None else json.loads(json.dumps(body, ensure_ascii=False).replace(old, new))


def run_raw(target: Target, groups: list[Group], workers: int, old: str, new: str) -> dict[str, Any]:
    """The same ticket writes, straight to the API with `requests`, `workers` tickets at a time."""
    local = threading.local()
    statuses: Counter[str] = Counter()
    lock = threading.Lock()

    def session() -> requests.Session:
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
            s.headers.update({"X-Redmine-API-Key": target.api_key, "Content-Type": "application/json"})
        return s

    def play(group: Group) -> None:
        s = session()
        issue_id: int | None = None
        for entry in group:
            body = _rebody(entry, old, new)
            path = entry["path"]
            if ISSUE_PATH.match(path):
                path = f"/issues/{issue_id}.json"
            if body and "time_entry" in body:
                body["time_entry"]["issue_id"] = issue_id
            headers = {"X-Redmine-Switch-User": entry["as_user"]} if entry["as_user"] else {}
            response = s.request(entry["method"], target.url + path, headers=headers, params=entry["params"],
                                 data=json.dumps(body, ensure_ascii=False).encode("utf-8"), timeout=60)
            if path == "/issues.json" and response.ok:
                issue_id = int(response.json()["issue"]["id"])
            same = response.ok == (200 <= int(entry["status"] or 0) < 300)
            with lock:
                statuses[f"{response.status_code}{'' if same else ' (tool got ' + str(entry['status']) + ')'}"] += 1

    started_cpu = time.process_time()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(play, groups))
    seconds = time.monotonic() - started
    cpu = time.process_time() - started_cpu
    sent = sum(statuses.values())
    tickets = len(groups)
    return {"kind": "raw", "workers": workers, "tickets": tickets, "seconds": round(seconds, 2),
            "issues_per_s": round(tickets / seconds, 2), "requests": sent,
            "requests_per_s": round(sent / seconds, 2), "cpu_seconds": round(cpu, 2),
            "cpu_share_of_wall": round(cpu / seconds, 3), "statuses": dict(statuses)}


# --------------------------------------------------------------------------- python-redmine loop


def run_python_redmine(target: Target, groups: list[Group], old: str, new: str) -> dict[str, Any]:
    """A straightforward loop: one python-redmine call after the other, impersonating like the tool."""
    from redminelib import Redmine
    from redminelib.exceptions import BaseRedmineError

    clients: dict[str | None, Any] = {}
    sent = Counter()

    def client(login: str | None) -> Any:
        if login not in clients:
            kwargs = {"impersonate": login} if login else {}
            clients[login] = Redmine(target.url, key=target.api_key, **kwargs)
            clients[login].engine.session.hooks["response"].append(lambda r, *a, **k: sent.update([r.status_code]))
        return clients[login]

    started_cpu = time.process_time()
    started = time.monotonic()
    for group in groups:
        issue_id: int | None = None
        for entry in group:
            body = _rebody(entry, old, new) or {}
            redmine = client(entry["as_user"])
            try:
                if entry["path"] == "/issues.json":
                    fields = {k: v for k, v in body["issue"].items() if not (k == "uploads" and not v)}
                    issue_id = redmine.issue.create(**fields).id
                elif ISSUE_PATH.match(entry["path"]):
                    redmine.issue.update(issue_id, **body["issue"])
                else:
                    redmine.time_entry.create(**{**body["time_entry"], "issue_id": issue_id})
            except BaseRedmineError:
                pass  # the tool got the same refusal (e.g. 403 for a client's note) and went on
    seconds = time.monotonic() - started
    cpu = time.process_time() - started_cpu
    requests_sent = sum(sent.values())
    return {"kind": "python-redmine loop", "workers": 1, "tickets": len(groups), "seconds": round(seconds, 2),
            "issues_per_s": round(len(groups) / seconds, 2), "requests": requests_sent,
            "requests_per_s": round(requests_sent / seconds, 2), "cpu_seconds": round(cpu, 2),
            "statuses": {str(k): v for k, v in sent.items()}}


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,4,8",
                        help="REST worker counts, comma-separated (default 1,4,8; empty: no REST rows)")
    parser.add_argument("--tickets", type=int, default=300, help="tickets per run for W > 1 (default 300)")
    parser.add_argument("--tickets-w1", type=int, default=80, help="tickets for the W = 1 run (default 80)")
    parser.add_argument("--loop-tickets", type=int, default=80,
                        help="tickets for the python-redmine loop (default 80; 0 skips it)")
    parser.add_argument("--loader-tickets", type=int, default=1000,
                        help="tickets for each loader row (--loader rails; default 1000; 0 skips them)")
    parser.add_argument("--loader-workers", default="1,2",
                        help="loader process counts (--loader rails --workers W), comma-separated (default 1,2)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/helpdesk-bench"),
                        help="where exports, ledgers and request logs go (default /tmp/helpdesk-bench)")
    args = parser.parse_args(argv)
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    loader_counts = [int(w) for w in args.loader_workers.split(",") if w.strip()]

    host = machine()
    target = redmine()
    rid = run_id()
    work = args.work / f"throughput-{rid}"
    work.mkdir(parents=True)
    log(f"Redmine {target.url} ({puma_mode()}), run {rid}, work dir {work}")
    warm = warm_up(target, work, rid)
    log(f"warm-up: {warm}")

    rows: list[dict[str, Any]] = []
    groups_by_workers: dict[int, list[Group]] = {}
    for workers in worker_counts:
        tickets = args.tickets_w1 if workers == 1 else args.tickets
        tool_prefix, raw_prefix = f"{rid}t{workers}-", f"{rid}r{workers}-"
        tool, groups = run_tool(target, work, tickets, workers, tool_prefix)
        groups_by_workers[workers] = groups
        log(f"raw: {len(groups)} tickets, {workers} concurrent")
        raw = run_raw(target, groups, workers, tool_prefix, raw_prefix)
        tool["ratio_tool_raw_e2e"] = round(tool["issues_per_s_e2e"] / raw["issues_per_s"], 3)
        tool["ratio_tool_raw_tickets"] = round((tool["issues_per_s_tickets"] or 0) / raw["issues_per_s"], 3)
        rows += [tool, raw]
        log(f"W={workers}: tool {tool['issues_per_s_e2e']} issues/s e2e, {tool['issues_per_s_tickets']} in the "
            f"ticket phase; raw {raw['issues_per_s']} issues/s")

    loop = None
    if args.loop_tickets:
        source_workers = max(worker_counts)
        groups = groups_by_workers[source_workers][: args.loop_tickets]
        log(f"python-redmine loop: {len(groups)} tickets, one request at a time")
        loop = run_python_redmine(target, groups, f"{rid}t{source_workers}-", f"{rid}p{source_workers}-")
        rows.append(loop)

    loaders: list[dict[str, Any]] = []
    if args.loader_tickets:
        for workers in loader_counts:
            for attachments in (False, True):
                loaders.append(run_loader(target, work, args.loader_tickets, f"{rid}l{workers}{int(attachments)}-",
                                          attachments=attachments, workers=workers))
                log(f"{loaders[-1]['kind']} W={workers}: {loaders[-1]['issues_per_s_e2e']} issues/s e2e, "
                    f"{loaders[-1]['issues_per_s_tickets']} in the ticket phase")
        rows += loaders

    tool_rows = {r["workers"]: r for r in rows if r["kind"] == "tool"}
    raw_rows = {r["workers"]: r for r in rows if r["kind"] == "raw"}
    headers = ["workers", "tickets", "tool iss/s e2e", "tool iss/s tickets", "raw iss/s", "ratio e2e",
               "ratio tickets", "tool req/s", "raw req/s", "tool req/ticket", "raw req/ticket", "tool CPU %"]
    body = []
    for w in worker_counts:
        t, r = tool_rows[w], raw_rows[w]
        body.append([w, t["tickets"], t["issues_per_s_e2e"], t["issues_per_s_tickets"], r["issues_per_s"],
                     t["ratio_tool_raw_e2e"], t["ratio_tool_raw_tickets"], t["requests_per_s_tickets"],
                     r["requests_per_s"], round(t["ticket_phase_requests"] / t["tickets"], 2),
                     round(r["requests"] / r["tickets"], 2), round(100 * t["cpu_share_of_wall"], 1)])
    print(f"Migration throughput — Redmine {target.variant} ({puma_mode()}), {host['cores']} cores, "
          f"notifications off")
    if body:
        print(table(headers, body))
    summary: dict[str, Any] = {}
    if loop is not None and max(worker_counts) in tool_rows:
        best = tool_rows[max(worker_counts)]
        summary = {"tool_workers": max(worker_counts), "loop_issues_per_s": loop["issues_per_s"],
                   "tool_over_loop_e2e": round(best["issues_per_s_e2e"] / loop["issues_per_s"], 2),
                   "tool_over_loop_tickets": round((best["issues_per_s_tickets"] or 0) / loop["issues_per_s"], 2)}
        print(f"python-redmine loop ({loop['tickets']} tickets, 1 at a time): {loop['issues_per_s']} issues/s, "
              f"{loop['requests_per_s']} req/s; tool@{max(worker_counts)} / loop = "
              f"{summary['tool_over_loop_e2e']} e2e, {summary['tool_over_loop_tickets']} ticket phase")
    print("targets: ratio >= 0.9 at every worker count; tool@8 >= 3x the python-redmine loop")
    side = [["REST", w, tool_rows[w]["tickets"], tool_rows[w]["issues_per_s_e2e"], tool_rows[w]["issues_per_s_tickets"],
             tool_rows[w]["requests_per_s_tickets"], tool_rows[w]["cpu_seconds"], tool_rows[w]["max_rss_mb"], "", ""]
            for w in worker_counts]
    side += [["raw", w, raw_rows[w]["tickets"], "", raw_rows[w]["issues_per_s"], raw_rows[w]["requests_per_s"],
              raw_rows[w]["cpu_seconds"], "", "", ""] for w in worker_counts]
    side += [[r["kind"], r["workers"], r["tickets"], r["issues_per_s_e2e"], r["issues_per_s_tickets"],
              r["requests_per_s_e2e"], r["cpu_seconds"], r["max_rss_mb"], r["loader_cpu_seconds"],
              r["loader_max_rss_mb"]] for r in loaders]
    print("\nSide by side (one run): tickets/s end to end and in the ticket phase, REST requests/s, CPU s, RSS MB")
    print(table(["path", "W", "tickets", "tickets/s e2e", "tickets/s phase", "req/s", "tool CPU s", "tool RSS MB",
                 "loader CPU s", "loader RSS MB"], side))
    print("target: loader >= 50 full tickets/s")
    path = write_result("migrate_throughput", {
        "machine": host, "run_id": rid, "work_dir": str(work), "warm_up": warm,
        "sizes": {"tickets": args.tickets, "tickets_w1": args.tickets_w1, "loop_tickets": args.loop_tickets},
        "rows": rows, "tool_vs_loop": summary, "repo": str(REPO)})
    print(f"JSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
