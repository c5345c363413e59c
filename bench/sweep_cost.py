"""Figure 3: API requests and wall time of `helpdesk sweep plan` as the tracker grows ten-fold.

A dedicated project (`bench-sweep`, every rule of a generated policies file scoped to it) is
filled through `rails runner` — the REST API cannot backdate — with old issues no rule should
pick (70 % closed, 30 % long in work, 120 days old) and candidates waiting six days for the
client's answer (feedback-reminder; also sla-analysis, which shares their journal GET).
Measured steps, each with a fresh `helpdesk sweep plan --format json` in a child process:

1. 1,000 issues, 1 % candidates;
2. ~10,000 issues, the same candidates (control: only the issues grew);
3. 10,000 issues, 1 % candidates.

Requests track candidates: step 2 costs what step 1 costs, step 3 about ten times more
candidates' detail GETs. A re-run empties the project first (it only grows within a run). Wall
time is the fastest of `--repeat` identical plans (the machine is shared; requests are equal).

    .venv/bin/python bench/sweep_cost.py [--sizes 1000,10000] [--share 0.01]

Prints a table and writes bench/results/sweep_cost.json. ~2-3 min on a 2-core machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass
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


def plan(target: Target, policies: Path, workdir: Path, only: str | None) -> dict[str, Any]:
    args = ["sweep", "plan", "--format", "json", "--policies", str(policies)]
    if only:
        args += ["--only", only]
    child = helpdesk(args, target, workdir=workdir)
    return {"rules": only or "all rules", "candidates": child.doc["candidates"], "actions": len(child.doc["actions"]),
            "requests": child.doc["requests"], "seconds": round(child.seconds, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="small,large issue counts of the bench project")
    parser.add_argument("--share", type=float, default=0.01, help="share of candidates at each size")
    parser.add_argument("--repeat", type=int, default=2, help="plans per row; the fastest wall time is kept "
                        "(requests must be equal)")
    args = parser.parse_args()
    small, large = (int(s) for s in args.sizes.split(","))
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
            for only in (None, "feedback-reminder"):
                log(f"plan ({only or 'all rules'}) over {total} issues")
                runs = [plan(target, policies, Path(tmp) / f"{n}-{only}-{i}", only) for i in range(args.repeat)]
                if len({(r["requests"], r["candidates"]) for r in runs}) != 1:
                    sys.exit(f"requests differ between identical plans: {runs}")
                best = min(runs, key=lambda r: r["seconds"])
                rows.append({"step": step.label, "issues": total, **best})
    all_rules = [r for r in rows if r["rules"] == "all rules"]
    first, control, last = all_rules

    def ratio(key: str, a: dict[str, Any], b: dict[str, Any]) -> float:
        return round(b[key] / a[key], 2) if a[key] else 0.0

    ratios = {f"{b['step']} / {a['step']}": {k: ratio(k, a, b) for k in ("issues", "candidates", "requests", "seconds")}
              for a, b in ((first, control), (first, last))}
    headers = ["step", "rules", "issues", "candidates", "actions", "requests", "req/candidate", "seconds"]
    print(f"{PROJECT} on the {VARIANT} Redmine ({target.url}); every rule scoped to {PROJECT}")
    print(table(headers, [[r["step"], r["rules"], r["issues"], r["candidates"], r["actions"], r["requests"],
                           round(r["requests"] / r["candidates"], 2) if r["candidates"] else "-", r["seconds"]]
                          for r in rows]))
    print()
    print(table(["ratio (all rules)", "issues", "candidates", "requests", "seconds"],
                [[name, v["issues"], v["candidates"], v["requests"], v["seconds"]] for name, v in ratios.items()]))
    path = write_result("sweep_cost", {"project": PROJECT, "share": args.share, "rows": rows, "ratios": ratios})
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
