"""Issue 19, item 5: peak memory of `migrate run --loader rails` on one ticket with many large files.

One company, one client, one ticket with `--files` attachments of `--mb` MB each (distinct contents,
each under the 5 MB attachment limit). The tool runs with its loader; /proc is sampled every 0.1 s
for the peak RSS (VmHWM) of the tool and of every process running loader.rb below it.

Before issue 19 every file of a ticket travelled base64 inside one JSON line: 25 × 4 MB took 609 MB in
the tool and 525 MB in Ruby, linear in the files. Now the tool copies each file (in 1 MB pieces) to a
spool directory and the loader reads it from there in pieces: both stay flat whatever the files weigh.

    REDMINE_LOCAL_PREFIX=... REDMINE_LOCAL_PORT_BASE=... .venv/bin/python bench/loader_memory.py
    ... bench/loader_memory.py --files 25 --mb 4      # the issue's own example
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    HELPDESK,
    REPO,
    log,
    machine,
    peak_rss_mb,
    redmine,
    runner_command,
    table,
    write_result,
)  # noqa: E402

AT = "2024-05-06T10:00:00+03:00"


def write_export(root: Path, files: int, size: int, token: str) -> Path:
    block = os.urandom(size)
    atts = []
    for n in range(files):
        content = n.to_bytes(4, "big") + block[4:]  # distinct digests, one random block in memory
        path = f"attachments/{n}.bin"
        (root / "attachments").mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)
        atts.append({"id": f"A{n}x{token}", "filename": f"file-{n}.bin", "content_type": "application/octet-stream",
                     "size": size, "sha256": hashlib.sha256(content).hexdigest(), "path": path,
                     "author_id": f"U{token}", "created_at": AT})
    cid = f"C{token}"
    ticket = {"id": f"T{token}", "company_id": cid, "author_id": f"U{token}", "created_at": AT, "updated_at": AT,
              "reason": "Ошибка в работе системы", "priority": "Средний", "module": None, "category": None,
              "subject": "Много файлов", "description": "", "description_format": "text", "status": "В работе",
              "attachments": atts, "comments": [], "closed_at": None}
    lines = {"companies.jsonl": {"id": cid, "name": f"Bench files {token}", "email_domains": [f"f-{token}.example"]},
             "users.jsonl": {"id": f"U{token}", "login": f"files.{token}", "email": f"u@f-{token}.example",
                             "first_name": "Ф", "last_name": "Ф", "company_id": cid, "kind": "client",
                             "active": True, "created_at": AT},
             "tickets.jsonl": ticket}
    for name, record in lines.items():
        (root / name).write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")
    manifest = {"format": "nemo-portal-export", "version": 1, "exported_at": AT,
                "counts": {"companies": 1, "users": 1, "tickets": 1}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _is_loader(pid: int) -> bool:
    try:
        return b"loader.rb" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def measure(cmd: list[str], env: dict[str, str], workdir: Path) -> dict[str, Any]:
    started = time.monotonic()
    with (workdir / "stdout.txt").open("wb") as out, (workdir / "stderr.txt").open("wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=REPO)
        tool, loaders = 0.0, {}
        while proc.poll() is None:
            tool = max(tool, peak_rss_mb(proc.pid) or 0.0)
            for pid in _descendants(proc.pid):
                if _is_loader(pid):
                    loaders[pid] = max(loaders.get(pid, 0.0), peak_rss_mb(pid) or 0.0)
            time.sleep(0.1)
    seconds = time.monotonic() - started
    if proc.returncode not in (0, 3):
        sys.exit(f"exit {proc.returncode}:\n{(workdir / 'stderr.txt').read_text()[-3000:]}")
    doc = json.loads((workdir / "stdout.txt").read_text())
    return {"exit": proc.returncode, "seconds": round(seconds, 1), "tool_peak_rss_mb": round(tool, 1),
            "loader_peak_rss_mb": round(max(loaders.values(), default=0.0), 1),
            "attachments_created": doc["counts"].get("attachment", {}).get("create", 0),
            "failures": [f for f in doc["findings"] if f["category"] in ("write-failed", "attachment")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--mb", type=float, default=5.0, help="size of each file in MB (10^6 bytes; default 5)")
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    target = redmine()
    token = os.urandom(3).hex()
    work = Path(tempfile.mkdtemp(prefix="bench-loader-memory-"))
    try:
        log(f"writing {args.files} × {size:,} bytes")
        export = write_export(work / "export", args.files, size, token)
        log("migrate run --loader rails")
        row = measure([HELPDESK, "migrate", "run", str(export), "--state", str(work / "state.sqlite"),
                       "--loader", "rails", "--rails-runner", runner_command(), "--format", "json"],
                      target.env(), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(table(["files", "MB each", "total MB", "tool peak RSS MB", "loader peak RSS MB", "seconds", "attached"],
                [[args.files, args.mb, round(args.files * size / 1e6), row["tool_peak_rss_mb"],
                  row["loader_peak_rss_mb"], row["seconds"], row["attachments_created"]]]))
    if row["failures"]:
        print(json.dumps(row["failures"], ensure_ascii=False, indent=1))
    path = write_result("loader_memory", {"files": args.files, "bytes_each": size, **row, "machine": machine()})
    log(f"written {path}")


if __name__ == "__main__":
    main()
