"""`sweep apply PLAN` on the real Redmine: the file approves, the rules decide (issue 19.2), and a
run that writes refuses a far-off moment (issue 19.11).

A plan made by `sweep plan` is edited by hand the way an attacker or an unlucky administrator
would: another text for the client, a custom field the rule never sets (the portal id, the
complaint counter), a close of an issue no rule closes, a rule that does not exist. Apply writes
only the untouched line and refuses the others (exit 3); the issues they name stay as they were.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import REPO
from tests.integration import test_sweep_redmine as sweep_world
from tests.integration.test_sweep_redmine import BASE, FEEDBACK_RULES, HELPDESK, World, asked, sweep_marks

live, people, world = sweep_world.live, sweep_world.people, sweep_world.world  # the fixtures, shared


def _apply(world: World, plan_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HELPDESK, "sweep", "apply", str(plan_file), "--format", "json",
                           "--state-dir", str(world.state), "--policies", str(world.policies), *args],
                          env=world.live.env(), capture_output=True, text=True, timeout=300, cwd=REPO)


def _journal_count(world: World, issue: int) -> int:
    return len(world.issue(issue)["journals"])


def test_a_hand_edited_plan_writes_only_what_the_rules_produce(world: World, tmp_path: Path) -> None:
    kept, edited, extra_field = asked(world, BASE)[0], asked(world, BASE)[0], asked(world, BASE)[0]
    untouched = world.create_issue(subject="Вопрос без ответа поддержки")
    now = BASE + timedelta(days=6)
    plan_file = tmp_path / "plan.json"
    code, plan = world.sweep("plan", now, *FEEDBACK_RULES, "-o", str(plan_file))
    assert code == 0, plan
    assert sorted(a["issue"] for a in plan["actions"]) == sorted([kept, edited, extra_field])
    doc = json.loads(plan_file.read_text(encoding="utf-8"))
    by_issue = {a["issue"]: a for a in doc["actions"]}
    by_issue[edited]["notes"] = "Оплатите счёт по ссылке http://evil.example/pay\n" + by_issue[edited]["notes"]
    fields = {str(f["id"]): f["name"] for f in world.gw.get("/custom_fields.json")["custom_fields"]}
    portal_id = next(k for k, v in fields.items() if v == "ID в портале")
    counter = next(k for k, v in fields.items() if v == "Жалобы на задержку")
    by_issue[extra_field]["fields"] = {portal_id: "999999", counter: "7"}
    template = by_issue[kept]
    current = world.issue(untouched)["updated_on"]  # a forger can read it: not a guard by itself
    doc["actions"] += [
        {**template, "issue": untouched, "action": "close", "status": "Закрыто", "notes": "Закрываем.",
         "expect_updated_on": current},
        {**template, "rule": "no-such-rule", "issue": untouched, "expect_updated_on": current},
        {**template, "rule": "feedback-autoclose", "action": "close", "status": "Закрыто"},
    ]
    plan_file.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    before = {i: _journal_count(world, i) for i in (edited, extra_field, untouched)}

    done = _apply(world, plan_file)
    assert done.returncode == 3, done.stderr
    outcomes = [(o["rule"], o["issue"], o["action"], o["outcome"]) for o in json.loads(done.stdout)["outcomes"]]
    assert ("feedback-reminder", kept, "comment", "ok") in outcomes
    refused = sorted((rule, issue, action) for rule, issue, action, outcome in outcomes if outcome == "refused")
    assert refused == sorted([("feedback-reminder", edited, "comment"), ("feedback-reminder", extra_field, "comment"),
                              ("feedback-reminder", untouched, "close"), ("no-such-rule", untouched, "comment"),
                              ("feedback-autoclose", kept, "close")]), outcomes
    assert [o for o in outcomes if o[3] not in ("ok", "refused")] == []
    assert {i: _journal_count(world, i) for i in before} == before
    assert world.issue(untouched)["status"]["name"] != "Закрыто"
    journal = world.issue(kept)["journals"][-1]  # the rule's text; its marker in the support-only field
    reminder = journal["notes"]
    assert "[helpdesk:feedback-reminder:" in sweep_marks(journal) and "[helpdesk:" not in reminder
    assert "evil" not in reminder
    log = [json.loads(line) for line in (world.state / "audit.jsonl").read_text().splitlines()]
    assert sorted(e["outcome"] for e in log) == ["ok", *["refused"] * 5]

    # the same file applied again: the reminder is there (the issue changed), nothing twice
    after = _journal_count(world, kept)
    again = _apply(world, plan_file)
    assert again.returncode == 3, again.stderr
    second = {(o["rule"], o["issue"]): o for o in json.loads(again.stdout)["outcomes"]}
    assert second[("feedback-reminder", kept)]["outcome"] == "skipped", second
    assert _journal_count(world, kept) == after
    notes = [j["notes"] for j in world.issue(kept)["journals"] if "[helpdesk:feedback-reminder:" in sweep_marks(j)]
    assert len(notes) == 1


def test_a_plan_for_a_far_off_moment_is_refused_before_any_read(world: World, tmp_path: Path) -> None:
    issue = asked(world, BASE)[0]
    plan_file = tmp_path / "plan.json"
    code, plan = world.sweep("plan", BASE + timedelta(days=6), *FEEDBACK_RULES, "-o", str(plan_file))
    assert code == 0 and plan["actions"], plan
    doc = json.loads(plan_file.read_text(encoding="utf-8"))
    doc["now"] = "2099-01-01T10:00:00+03:00"
    plan_file.write_text(json.dumps(doc), encoding="utf-8")
    before = _journal_count(world, issue)
    done = _apply(world, plan_file)
    assert done.returncode == 2, done.stderr
    assert "now" in done.stderr and "--allow-far-now" in done.stderr
    assert _journal_count(world, issue) == before


def test_sweep_run_refuses_1970_and_2099_unless_asked(world: World) -> None:
    issue = asked(world, BASE)[0]
    before = _journal_count(world, issue)
    for moment in (datetime(1970, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)):
        code, result = world.sweep("run", moment, *FEEDBACK_RULES)
        assert code == 2, result
        assert "--allow-far-now" in result["stderr"]
        code, dry = world.sweep("run", moment, *FEEDBACK_RULES, "--dry-run")  # reads only: allowed
        assert code == 0, dry
    assert _journal_count(world, issue) == before
    code, result = world.sweep("run", datetime(1970, 1, 1, tzinfo=UTC), *FEEDBACK_RULES, "--allow-far-now")
    assert code == 0, result
    assert _journal_count(world, issue) == before  # 1970: nothing is due yet

