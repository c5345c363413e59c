"""Issue 11, item 9: peak memory of reading an export whose tickets.jsonl holds a few huge bad lines.

A small zip (the junk compresses to almost nothing) with `--lines` junk lines of `--mb` MB each
in tickets.jsonl, between good tickets. In a child process (its own max RSS via os.wait4), the
reader is driven the way `migrate plan`/`run` drive it: every file read, every bad record kept
by the caller (`on_bad=list.append`, as the engine does). Modes:

  baseline  a clean export of the same good tickets (the floor: interpreter, pydantic, models)
  reader    the junk export, bad records collected (what `plan` does)
  rejects   the same, and every bad line written to a rejects directory (what `run` does)

Before issue 11 every BadRecord kept its whole line (`raw`): RSS grew by the junk's size.
Now a record keeps a bounded excerpt and the line itself goes to the rejects directory.

    .venv/bin/python bench/bad_lines_memory.py                 # 12 lines of 30 MB
    .venv/bin/python bench/bad_lines_memory.py --lines 24 --mb 30
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, log, machine, run_child, table, write_result  # noqa: E402

GOOD_TICKETS = 200

CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
import helpdesk_core.export as ex
started = time.perf_counter()
bad = []
kwargs = {{"on_bad": bad.append}}
if sys.argv[2] != "-":
    from migrator.rejects import RejectsDir
    kwargs["rejects"] = RejectsDir(Path(sys.argv[2]))
with ex.open_export(sys.argv[1], **kwargs) as export:
    n = sum(1 for _ in export.companies()) + sum(1 for _ in export.users()) + sum(1 for _ in export.tickets())
if "rejects" in kwargs:
    kwargs["rejects"].close()
kept = sum(len(b.raw) for b in bad)
print(json.dumps({{"records": n, "bad": len(bad), "raw_chars_kept": kept,
                  "seconds": time.perf_counter() - started}}))
"""


def build(work: Path, lines: int, mb: int) -> tuple[Path, Path]:
    """(clean zip, junk zip): the bundled sample's companies and users, GOOD_TICKETS tickets each."""
    src = work / "sample"
    if not (src / "manifest.json").exists():
        log(f"generating a {GOOD_TICKETS}-ticket export in {src}")
        run_child([sys.executable, str(REPO / "samples" / "make_sample_export.py"), "--out", str(src),
                   "--tickets", str(GOOD_TICKETS), "--no-attachments"], ok_codes=(0,), workdir=work / "gen")
    good = [line for line in (src / "tickets.jsonl").read_bytes().splitlines() if line.strip()]
    manifest = json.loads((src / "manifest.json").read_text("utf-8"))
    clean, junk = work / "clean.zip", work / f"junk-{lines}x{mb}MB.zip"
    for path, n_junk in ((clean, 0), (junk, lines)):
        if path.exists():
            continue
        log(f"writing {path}")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for name in ("companies.jsonl", "users.jsonl"):
                zf.write(src / name, name)
            with zf.open("tickets.jsonl", "w", force_zip64=True) as fh:
                step = max(1, len(good) // (n_junk + 1))
                for i, line in enumerate(good):
                    fh.write(line + b"\n")
                    if n_junk and i % step == step - 1 and i // step < n_junk:
                        # A truncated ticket: starts like one, then 30 MB of text and no closing quote.
                        head = b'{"id": "JUNK%d", "subject": "' % (i // step)
                        fh.write(head)
                        chunk = b"x" * (1 << 20)
                        for _ in range(mb):
                            fh.write(chunk)
                        fh.write(b"\n")
            counts = dict(manifest["counts"], tickets=len(good) + n_junk)
            zf.writestr("manifest.json", json.dumps({**manifest, "counts": counts}))
    return clean, junk


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=12, help="junk lines (default 12)")
    parser.add_argument("--mb", type=int, default=30, help="MB per junk line (default 30)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/helpdesk-bench/bad-lines"))
    parser.add_argument("--modes", default="baseline,reader,rejects")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    clean, junk = build(args.work, args.lines, args.mb)
    script = args.work / "child.py"
    script.write_text(CHILD.format(repo=str(REPO)), "utf-8")
    rows: list[dict[str, Any]] = []
    for mode in args.modes.split(","):
        rejects = args.work / "rejects-dir"
        shutil.rmtree(rejects, ignore_errors=True)
        export = clean if mode == "baseline" else junk
        child = run_child([sys.executable, str(script), str(export), str(rejects) if mode == "rejects" else "-"],
                          ok_codes=(0,), workdir=args.work / mode)
        written = sum(p.stat().st_size for p in rejects.rglob("*") if p.is_file()) if rejects.exists() else 0
        rows.append({"mode": mode, "zip_kb": export.stat().st_size // 1024, **child.doc,
                     "max_rss_mb": round(child.max_rss_mb, 1), "rejects_mb": round(written / 2**20, 1)})
        log(f"{mode}: {rows[-1]}")
    print(table(["mode", "zip KB", "bad lines", "raw chars kept", "max RSS MB", "rejects MB", "s"],
                [[r["mode"], r["zip_kb"], r["bad"], r["raw_chars_kept"], r["max_rss_mb"], r["rejects_mb"],
                  round(r["seconds"], 2)] for r in rows]))
    path = write_result("bad_lines_memory", {"machine": machine(), "lines": args.lines, "mb": args.mb, "rows": rows})
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
