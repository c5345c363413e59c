"""How many API requests a sweep plan makes over a Redmine with ≥ 1,000 issues and few candidates.

Creates (once; re-runs top up) a project `bench-sweep` holding N old issues that no rule
should pick (closed or long in work) and K issues waiting for the client's answer for six
days (feedback-reminder candidates), all through `rails runner` because the REST API
cannot backdate. Then plans each rule alone and all rules together with a fresh gateway,
and reports requests next to the number of issues and candidates.

    .venv/bin/python bench/sweep_cost.py [--issues 1000] [--candidates 3] [--variant sqlite]

Prints a table and writes bench/results/sweep_cost.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from helpdesk_core.config import ConnectionSettings  # noqa: E402
from helpdesk_core.gateway import Gateway  # noqa: E402
from policies.config import load_policies  # noqa: E402
from policies.engine import plan_sweep  # noqa: E402
from policies.text_audits import load_audit_config  # noqa: E402

SEED = r"""
ActionMailer::Base.perform_deliveries = false
# the server writes to the same SQLite file: wait for its locks instead of failing
conn = ActiveRecord::Base.connection
conn.execute('PRAGMA busy_timeout = 30000') if conn.adapter_name =~ /sqlite/i
n_old, n_cand = ARGV[0].to_i, ARGV[1].to_i
project = Project.find_by(identifier: 'bench-sweep') || Project.create!(name: 'bench-sweep',
  identifier: 'bench-sweep', is_public: false, tracker_ids: Tracker.pluck(:id))
admin = User.find(1)
tracker = Tracker.find_by!(name: 'Баг')
priority = IssuePriority.find_by!(name: 'Средний')
closed = IssueStatus.find_by!(name: 'Закрыто')
working = IssueStatus.find_by!(name: 'В работе')
feedback = IssueStatus.find_by!(name: 'Требует обратной связи')
long_ago = 120.days.ago
have = Issue.where(project_id: project.id).where.not(status_id: feedback.id).count
(have...n_old).each_slice(100) do |slice|
  Issue.transaction do
    slice.each do |i|
      issue = Issue.create!(project: project, tracker: tracker, author: admin, priority: priority,
                            status: (i % 10 < 7 ? closed : working), subject: "bench old #{i}")
      Issue.where(id: issue.id).update_all(created_on: long_ago, updated_on: long_ago)
    end
  end
end
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
puts Issue.where(project_id: project.id).count
"""


def _env(variant: str) -> dict[str, str]:
    text = (REPO / "var" / f"redmine-{variant}.env").read_text()
    return dict(line.split("=", 1) for line in text.split() if "=" in line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=1000)
    parser.add_argument("--candidates", type=int, default=3)
    parser.add_argument("--variant", default="sqlite")
    args = parser.parse_args()
    env = _env(args.variant)
    started = time.monotonic()
    seeded = subprocess.run([str(REPO / "scripts" / "redmine-local"), "runner", "-", str(args.issues),
                             str(args.candidates), "--variant", args.variant], input=SEED, text=True,
                            capture_output=True, timeout=1800)
    if seeded.returncode != 0:
        print(seeded.stderr[:2000], file=sys.stderr)
        return 1
    seed_seconds = time.monotonic() - started
    settings = ConnectionSettings(url=env["REDMINE_URL"], api_key=env["REDMINE_API_KEY"])
    policies, audit = load_policies(), load_audit_config()
    now = datetime.now(UTC)
    total_issues = Gateway(settings).count("/issues.json", {"status_id": "*"})
    rows = []
    for only in [[rule] for rule in policies.rules] + [None]:
        gateway = Gateway(settings, writes_allowed=False)
        t0 = time.monotonic()
        plan = plan_sweep(gateway, policies, now, only=only, audit=audit)
        rows.append({"rules": only[0] if only else "all rules", "issues_in_redmine": total_issues,
                     "candidates": plan.candidates, "actions": len(plan.actions),
                     "requests": gateway.stats.total, "seconds": round(time.monotonic() - t0, 2)})
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {"measured_at": now.isoformat(timespec="seconds"), "redmine": env["REDMINE_URL"],
              "variant": args.variant, "bench_project_issues": int(seeded.stdout.strip().splitlines()[-1]),
              "seed_seconds": round(seed_seconds, 1), "rows": rows}
    (out_dir / "sweep_cost.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"Redmine {env['REDMINE_URL']}: {total_issues} issues "
          f"(bench-sweep project: {result['bench_project_issues']})")
    print(f"{'rules':<24}{'issues':>8}{'candidates':>12}{'actions':>9}{'requests':>10}{'seconds':>9}")
    for row in rows:
        print(f"{row['rules']:<24}{row['issues_in_redmine']:>8}{row['candidates']:>12}{row['actions']:>9}"
              f"{row['requests']:>10}{row['seconds']:>9}")
    print(f"written: {out_dir / 'sweep_cost.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
