"""Figure 3: API requests and wall time of `helpdesk sweep plan` as the tracker grows ten-fold.

A dedicated project (`bench-sweep`, every rule of a generated policies file scoped to it) is
filled through `rails runner` — the REST API cannot backdate — with old issues no rule should
pick (70 % closed, 30 % long in work, 120 days old) and candidates waiting six days for the
client's answer (feedback-reminder; also feedback-autoclose, client-reply-resume and
sla-analysis, which judge them from the same journal GET). Measured steps, each with a fresh
`helpdesk sweep plan --format json --now <after seeding>` in a child process, once per
`--workers` value:

1. 1,000 issues, 1 % candidates;
2. ~10,000 issues, the same candidates (control: only the issues grew);
3. 10,000 issues, 1 % candidates;
4. with `--per-rule`: step 3 again, each rule alone (`--only`), one plan per rule and workers.

Requests track candidates: step 2 costs what step 1 costs, step 3 about ten times more
candidates' detail GETs. Every plan of a step must be the same whatever `--workers` (the
script stops otherwise), so each row's requests are equal too. A re-run empties the project
first (it only grows within a run). Wall time is the fastest of `--repeat` identical plans (the
machine is shared).

Why a bulk insert and not the migration loader (`helpdesk migrate run --loader rails`): the
loader writes a portal ticket's whole history, 62 tickets/s with one process and 123 with two on
a quiet 2-core machine (bench/README.md, «Loader and REST side by side»), so 100,000 tickets take
15-30 minutes of a benchmark that the bulk seed does in about one, and the generator's exports
carry fixed dates, not «closed 120 days ago» or «asked six days ago» relative to the sweep's --now.
The sweep reads issues, statuses and journals,
which the bulk rows have as Redmine stores them: old issues by `insert_all` (no journals, which
no rule reads for them), candidates through the model, so their status change is a real journal.

    .venv/bin/python bench/sweep_cost.py [--sizes 1000,10000] [--share 0.01] [--workers 1,4] [--per-rule]

Prints a table and writes bench/results/sweep_cost.json. ~2-3 min on a 2-core machine at the
default sizes; ~25 min with `--sizes 1000,100000 --per-rule`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from _common import REDMINE_LOCAL, REPO, VARIANT, Target, helpdesk, log, redmine, table, write_result

PROJECT = "bench-sweep"

# ARGV: project identifier, old issues wanted, candidates wanted. Old issues are inserted in
# bulk (no callbacks: a 10,000-issue top-up takes seconds); candidates go through the model
# so their status change is a real journal with a status_id detail.
SEED = r"""
ActionMailer::Base.perform_deliveries = false
ident, n_old, n_cand = ARGV[0], ARGV[1].to_i, ARGV[2].to_i
project = Project.find_by(identifier: ident) || Project.create!(name: ident, identifier: ident,
  is_public: false, tracker_ids: Tracker.pluck(:id))
admin = User.find(1)
tracker = Tracker.find_by!(name: 'Баг')
priority = IssuePriority.find_by!(name: 'Средний')
closed = IssueStatus.find_by!(name: 'Закрыто')
working = IssueStatus.find_by!(name: 'В работе')
feedback = IssueStatus.find_by!(name: 'Требует обратной связи')
long_ago = 120.days.ago
mine = Issue.where(project_id: project.id)
if mine.where.not(status_id: feedback.id).count > n_old || mine.where(status_id: feedback.id).count > n_cand
  # a previous run left a larger project: start again from empty (SQL deletes, seconds)
  journals = Journal.where(journalized_type: 'Issue', journalized_id: mine.select(:id))
  JournalDetail.where(journal_id: journals.select(:id)).delete_all
  journals.delete_all
  mine.delete_all
end
have = mine.where.not(status_id: feedback.id).count
rows = (have...n_old).map do |i|
  status = (i % 10 < 7 ? closed : working)
  {project_id: project.id, tracker_id: tracker.id, subject: "bench old #{i}", author_id: admin.id,
   status_id: status.id, priority_id: priority.id, created_on: long_ago, updated_on: long_ago,
   closed_on: (status.is_closed ? long_ago : nil), lft: 1, rgt: 2, is_private: false,
   done_ratio: 0, lock_version: 0}
end
rows.each_slice(2000) { |slice| Issue.insert_all(slice) }
Issue.where(project_id: project.id, root_id: nil).update_all('root_id = id')
cands = Issue.where(project_id: project.id, status_id: feedback.id).count
(cands...n_cand).each do |i|
  issue = Issue.create!(project: project, tracker: tracker, author: admin, priority: priority,
                        subject: "bench waiting #{i}").reload
  issue.init_journal(admin, 'Уточните, пожалуйста, номер заказа.')
  issue.status = feedback
  issue.save!
  Journal.where(journalized_id: issue.id, journalized_type: 'Issue').update_all(created_on: 6.days.ago)
  Issue.where(id: issue.id).update_all(created_on: 7.days.ago, updated_on: 6.days.ago)
end
total = Issue.where(project_id: project.id).count
waiting = Issue.where(project_id: project.id, status_id: feedback.id).count
puts "#{total} #{waiting}"
"""


@dataclass(frozen=True)
class Step:
    label: str
    old: int
    candidates: int


def seed(old: int, candidates: int) -> tuple[int, int]:
    """Top the project up to `old` + `candidates` issues; returns (issues, waiting)."""
    done = subprocess.run([str(REDMINE_LOCAL), "runner", "-", PROJECT, str(old), str(candidates),
                           "--variant", VARIANT], input=SEED, text=True, capture_output=True, timeout=900)
    if done.returncode != 0:
        sys.exit(f"seeding failed:\n{done.stderr[-2000:]}")
    total, waiting = done.stdout.split()[-2:]
    return int(total), int(waiting)


def scoped_policies(path: Path) -> Path:
    """The bundled policies with every rule limited to the bench project."""
    doc = yaml.safe_load((REPO / "policies" / "policies.yaml").read_text(encoding="utf-8"))
    for entry in doc["rules"].values():
        entry["scope"] = {"projects": [PROJECT], "trackers": "*"}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def plan(target: Target, policies: Path, workdir: Path, only: str | None, workers: int,
         now: str) -> tuple[dict[str, Any], list[Any]]:
    """One `sweep plan` child: its row and its actions (compared across --workers)."""
    args = ["sweep", "plan", "--format", "json", "--policies", str(policies), "--now", now,
            "--workers", str(workers)]
    if only:
        args += ["--only", only]
    child = helpdesk(args, target, workdir=workdir)
    row = {"rules": only or "all rules", "workers": workers, "candidates": child.doc["candidates"],
           "actions": len(child.doc["actions"]), "requests": child.doc["requests"],
           "seconds": round(child.seconds, 2)}
    return row, child.doc["actions"]


def measure(target: Target, policies: Path, workdir: Path, only: str | None, workers: list[int], now: str,
            repeat: int) -> list[dict[str, Any]]:
    """One row per workers value, the fastest of `repeat` plans; every plan must be the same."""
    rows, expected = [], None
    for w in workers:
        log(f"plan ({only or 'all rules'}, --workers {w})")
        runs = [plan(target, policies, workdir / f"{only}-{w}-{i}", only, w, now) for i in range(repeat)]
        for row, actions in runs:
            if expected is None:
                expected = (row["requests"], row["candidates"], actions)
            if (row["requests"], row["candidates"], actions) != expected:
                sys.exit(f"plans differ ({only or 'all rules'}, --workers {w}): {row} vs "
                         f"{expected[0]} requests, {expected[1]} candidates")
        rows.append(min((row for row, _ in runs), key=lambda r: r["seconds"]))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="small,large issue counts of the bench project")
    parser.add_argument("--share", type=float, default=0.01, help="share of candidates at each size")
    parser.add_argument("--repeat", type=int, default=2, help="plans per row; the fastest wall time is kept "
                        "(requests must be equal)")
    parser.add_argument("--workers", default="1,4", help="`sweep plan --workers` values, comma-separated: "
                        "each row is measured with each (4 is the command's default)")
    parser.add_argument("--per-rule", action="store_true", help="at the last step, also plan each rule alone")
    args = parser.parse_args()
    small, large = (int(s) for s in args.sizes.split(","))
    workers = [int(w) for w in args.workers.split(",")]
    k_small, k_large = max(1, round(small * args.share)), max(1, round(large * args.share))
    steps = [Step("small", small - k_small, k_small), Step("large, same candidates", large - k_large, k_small),
             Step("large", large - k_large, k_large)]
    target = redmine()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="sweep-cost-") as tmp:
        policies = scoped_policies(Path(tmp) / "policies.yaml")
        for n, step in enumerate(steps):
            log(f"seeding {PROJECT}: {step.old} old issues, {step.candidates} candidates")
            total, waiting = seed(step.old, step.candidates)
            if (total, waiting) != (step.old + step.candidates, step.candidates):
                sys.exit(f"{PROJECT} holds {total} issues ({waiting} waiting), expected "
                         f"{step.old + step.candidates} ({step.candidates})")
            now = datetime.now(UTC).isoformat(timespec="seconds")
            log(f"plans over {total} issues at {now}")
            for only in (None, "feedback-reminder"):
                rows += [{"step": step.label, "issues": total, **row}
                         for row in measure(target, policies, Path(tmp) / str(n), only, workers, now, args.repeat)]
        if args.per_rule:
            enabled = [r for r, e in yaml.safe_load(policies.read_text(encoding="utf-8"))["rules"].items()
                       if e.get("enabled", True)]
            for rule in enabled:
                rows += [{"step": "large, each rule alone", "issues": total, **row}
                         for row in measure(target, policies, Path(tmp) / "per-rule", rule, workers, now, 1)]
    top = max(workers)
    first, control, last = [r for r in rows if r["rules"] == "all rules" and r["workers"] == top
                            and r["step"] in {s.label for s in steps}]

    def ratio(key: str, a: dict[str, Any], b: dict[str, Any]) -> float:
        return round(b[key] / a[key], 2) if a[key] else 0.0

    ratios = {f"{b['step']} / {a['step']}": {k: ratio(k, a, b) for k in ("issues", "candidates", "requests", "seconds")}
              for a, b in ((first, control), (first, last))}
    headers = ["step", "rules", "workers", "issues", "candidates", "actions", "requests", "req/candidate", "seconds"]
    print(f"{PROJECT} on the {VARIANT} Redmine ({target.url}); every rule scoped to {PROJECT}")
    print(table(headers, [[r["step"], r["rules"], r["workers"], r["issues"], r["candidates"], r["actions"],
                           r["requests"], round(r["requests"] / r["candidates"], 2) if r["candidates"] else "-",
                           r["seconds"]] for r in rows]))
    print()
    print(table([f"ratio (all rules, --workers {top})", "issues", "candidates", "requests", "seconds"],
                [[name, v["issues"], v["candidates"], v["requests"], v["seconds"]] for name, v in ratios.items()]))
    path = write_result("sweep_cost", {"project": PROJECT, "share": args.share, "workers": workers, "rows": rows,
                                       "ratios": ratios})
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
