"""Issue 18 on the real local Redmine: the regulation in its sense, one test per point.

Same harness as test_sweep_redmine.py (own project per test, policies scoped to it, dates
moved with `rails runner`). Every command's exit code is asserted before its output is read.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from helpdesk_core.provision import MARKER_FIELD
from tests.conftest import REPO
from tests.integration import test_sweep_redmine as harness
from tests.integration.test_sweep_redmine import BASE, HELPDESK, World, asked, sweep_marks, writes

pytestmark = pytest.mark.redmine
live, people, world = harness.live, harness.people, harness.world
MSK = ZoneInfo("Europe/Moscow")
CLOSING = ("--only", "feedback-reminder", "--only", "feedback-autoclose", "--only", "verification-autoclose",
           "--only", "client-reply-resume", "--only", "go-live-cutover")


def with_rule(world: World, tmp_path: Path, rule: str, **change: Any) -> Path:
    doc = yaml.safe_load(world.policies.read_text(encoding="utf-8"))
    doc["rules"][rule].update(change)
    path = tmp_path / f"policies-{rule}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_point1_a_screenshot_without_text_is_an_answer(world: World) -> None:
    """18.1: the client answers support's question with a file only: resumed, never reminded."""
    issue, question = asked(world, BASE)
    token = world.gw.upload(b"\x89PNG\r\n\x1a\n", "screenshot.png", as_user=world.client)
    world.gw.put(f"/issues/{issue}.json", {"issue": {"uploads": [
        {"token": token, "filename": "screenshot.png", "content_type": "image/png"}]}}, as_user=world.client)
    reply = world.issue(issue)["journals"][-1]
    assert not reply["notes"] and reply["details"][0]["property"] == "attachment"
    world.backdate(issue, BASE - timedelta(hours=1), {question: BASE, int(reply["id"]): BASE + timedelta(days=1)})
    code, result = world.sweep("run", BASE + timedelta(days=6), *CLOSING)
    assert code == 0, result
    assert writes(result) == [("client-reply-resume", issue, "ok")]
    assert world.issue(issue)["status"]["name"] == "В работе"


def test_point2_migrated_status_at_updated_on_after_the_clients_objection(world: World) -> None:
    """18.2: without a status history the migration wrote «Решено, требует проверки» at
    updated_on, the moment of the client's «Нет, ошибка повторяется»: the client spoke last
    after support's comment → resumed, not closed as "no remarks"."""
    issue = world.create_issue()
    fixed = world.update(issue, by=world.support, notes="Исправили, проверьте, пожалуйста")
    objection = world.update(issue, by=world.client, notes="Нет, ошибка повторяется")
    status = _as_api_user(world, issue)
    at = BASE + timedelta(days=2)
    world.backdate(issue, BASE - timedelta(days=1), {fixed: BASE, objection: at, status: at})
    code, plan = world.sweep("plan", BASE + timedelta(days=9), "--only", "verification-autoclose")
    assert code == 0 and plan["actions"] == [], plan
    code, result = world.sweep("run", BASE + timedelta(days=9), *CLOSING)
    assert code == 0, result
    assert writes(result) == [("client-reply-resume", issue, "ok")]
    assert world.issue(issue)["status"]["name"] == "В работе"


def _as_api_user(world: World, issue: int) -> int:
    """The migration's status journal: the API key's own user, a provenance line, no words."""
    statuses = world.ids("/issue_statuses.json", "issue_statuses")
    world.gw.put(f"/issues/{issue}.json", {"issue": {
        "notes": "_[portal:status:T9.1] портал, 25.10.2026 15:00 МСК_",
        "status_id": statuses["Решено, требует проверки"]}})
    return int(world.issue(issue)["journals"][-1]["id"])


def test_point3_new_question_after_the_reminder_restarts(world: World) -> None:
    """18.3: a question after the reminder: no close 5 days after the old reminder; a new
    reminder 5 days after the question; the close 5 days after that reminder."""
    issue, question = asked(world, BASE)
    code, result = world.sweep("run", BASE + timedelta(days=5, hours=1), *CLOSING)
    assert code == 0 and writes(result) == [("feedback-reminder", issue, "ok")], result
    reminder = int(world.issue(issue)["journals"][-1]["id"])
    again = world.update(issue, by=world.support, notes="И ещё: под какой учётной записью?")
    world.backdate(issue, BASE - timedelta(hours=1), {question: BASE, reminder: BASE + timedelta(days=5, hours=1),
                                                      again: BASE + timedelta(days=7)})
    code, result = world.sweep("run", BASE + timedelta(days=10, hours=2), *CLOSING)
    assert code == 0 and writes(result) == [], result
    code, result = world.sweep("run", BASE + timedelta(days=12, hours=1), *CLOSING)
    assert code == 0 and writes(result) == [("feedback-reminder", issue, "ok")], result
    second = int(world.issue(issue)["journals"][-1]["id"])
    world.backdate(issue, BASE - timedelta(hours=1), {second: BASE + timedelta(days=12, hours=1)})
    code, result = world.sweep("run", BASE + timedelta(days=17, hours=2), *CLOSING)
    assert code == 0 and writes(result) == [("feedback-autoclose", issue, "ok")], result
    assert world.issue(issue)["status"]["name"] == "Закрыто"


def test_point4_analysis_ends_with_supports_next_steps_comment(world: World) -> None:
    """18.4 (О2): a Высокий ticket taken into work and answered in 2 hours is met in `sla
    report`, though it is resolved days later; a silent one is breached."""
    created = datetime(2026, 11, 23, 10, 0, tzinfo=MSK)
    quick = world.create_issue(priority="Высокий")
    taken = world.update(quick, by=world.support, status="В работе")
    said = world.update(quick, by=world.support, notes="Воспроизвели, исправим в релизе 30.11")
    solved = world.update(quick, by=world.support, notes="Исправлено", status="Решено, требует проверки")
    world.backdate(quick, created, {taken: created + timedelta(minutes=10), said: created + timedelta(hours=2),
                                    solved: created + timedelta(days=3)})
    silent = world.create_issue(priority="Высокий")
    taken2 = world.update(silent, by=world.support, status="В работе")
    world.backdate(silent, created, {taken2: created + timedelta(minutes=10)})
    code, plan = world.sweep("plan", created + timedelta(days=3, hours=2), "--only", "sla-analysis")
    assert code == 3, plan  # a breach: attention
    assert [(a["issue"], a["sla"]) for a in plan["actions"]] == [(silent, "breached")]
    done = subprocess.run([*HELPDESK, "sla", "report", "--from", "2026-11-23", "--to", "2026-11-23", "--now",
                           (created + timedelta(days=3, hours=2)).isoformat(), "--format", "json",
                           "--policies", str(world.policies)],
                          env=world.live.env(), capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 3, done.stderr  # the silent one's breach
    doc = json.loads(done.stdout)
    rows = next(s["table"]["rows"] for s in doc["sections"] if s["title"] == "Breached and at-risk clocks")
    analysis = {r["issue"]: r["state"] for r in rows if r["rule"] == "sla-analysis"}
    assert analysis.get(silent) == "breached" and quick not in analysis


def test_point5_year_close_is_a_calendar_year(world: World) -> None:
    """18.5 (З3 «через 1 год»): 365 days across 29 February are not a year; the same date
    next year is; no local wait after the request."""
    created = datetime(2023, 3, 10, 12, 0, tzinfo=MSK)
    issue = world.create_issue(subject="Старый вопрос")
    question = world.update(issue, by=world.support, notes="Актуально ли ещё?", status="Требует обратной связи")
    world.backdate(issue, created, {question: datetime(2024, 3, 9, 11, 0, tzinfo=MSK)})
    only = ("--only", "stale-year-close")
    code, plan = world.sweep("plan", datetime(2024, 3, 9, 12, 30, tzinfo=MSK), *only)  # 365 days
    assert code == 0 and plan["actions"] == [], plan
    code, result = world.sweep("run", datetime(2024, 3, 10, 12, 1, tzinfo=MSK), *only,
                               "--allow-far-now")  # a fixed day of 2024: a writing run asks for it
    assert code == 0, result
    assert writes(result) == [("stale-year-close", issue, "ok")]


def test_point5_local_choices_are_marked_in_sweep_rules(world: World) -> None:
    """18.5: `sweep rules` says which settings are local choices, not the regulation."""
    done = subprocess.run([*HELPDESK, "sweep", "rules", "--format", "json", "--policies", str(world.policies)],
                          env=world.live.env(), capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["local"] == []  # the bundled policies: the regulation only
    rules = {r["id"]: r for r in doc["rules"]}
    assert rules["stale-year-close"]["local"] == [] and rules["stale-year-close"]["params"]["after_days"] is None


def test_point6_go_live_cutover_then_the_regulation(world: World, tmp_path: Path) -> None:
    """18.6: the first message on a ticket waiting since long before the move says it lives
    in the new helpdesk and asks if it is still relevant; 5 days later the reminder (genitive
    «в течение 5 дней»); the plan → review → run of the runbook."""
    moved = BASE - timedelta(days=1)
    policies = with_rule(world, tmp_path, "go-live-cutover",
                         params={"moved_at": moved.isoformat(), "after_days": 5})
    issue, _ = asked(world, moved - timedelta(days=1006))
    code, plan = world.sweep("plan", BASE, "--only", "go-live-cutover", policies=policies)
    assert code == 0, plan
    assert [(a["rule"], a["issue"]) for a in plan["actions"]] == [("go-live-cutover", issue)]
    code, result = world.sweep("run", BASE, *CLOSING, policies=policies)
    assert code == 0 and writes(result) == [("go-live-cutover", issue, "ok")], result
    message = world.issue(issue)["journals"][-1]
    text = message["notes"]
    assert "helpdesk.websky.tech" in text and "актуален" in text and "1006" not in text and "[" not in text
    world.backdate(issue, moved - timedelta(days=1007), {int(message["id"]): BASE})
    code, result = world.sweep("run", BASE + timedelta(days=4, hours=23), *CLOSING, policies=policies)
    assert code == 0 and writes(result) == [], result
    code, result = world.sweep("run", BASE + timedelta(days=5, hours=1), *CLOSING, policies=policies)
    assert code == 0 and writes(result) == [("feedback-reminder", issue, "ok")], result
    reminder = world.issue(issue)["journals"][-1]["notes"]
    assert "уже 5 дней" in reminder and "в течение 5 дней, обращение будет закрыто" in reminder


def test_point7a_marker_is_in_a_field_the_client_cannot_see_or_write(world: World) -> None:
    """18.7a: the reminder's text has no marker; its journal sets the support-only field to it;
    the client sees neither the field nor the detail, and cannot write it; fire-once holds."""
    issue, question = asked(world, BASE)
    code, result = world.sweep("run", BASE + timedelta(days=5, hours=1), *CLOSING)
    assert code == 0 and writes(result) == [("feedback-reminder", issue, "ok")], result
    reminder = world.issue(issue)["journals"][-1]
    assert "[" not in reminder["notes"] and sweep_marks(reminder) == f"[helpdesk:feedback-reminder:{question}]"
    seen = world.gw.get(f"/issues/{issue}.json", {"include": "journals"}, as_user=world.client)["issue"]
    assert all(f["name"] != MARKER_FIELD for f in seen.get("custom_fields", []))
    assert all(sweep_marks(j) == "" for j in seen["journals"])
    fields = {f["name"]: int(f["id"]) for f in world.gw.get("/custom_fields.json")["custom_fields"]}
    world.gw.put(f"/issues/{issue}.json", {"issue": {"notes": "Ответ", "custom_fields": [
        {"id": fields[MARKER_FIELD], "value": "[helpdesk:feedback-autoclose:1]"}]}}, as_user=world.client)
    assert sweep_marks(world.issue(issue)["journals"][-1]) == ""  # the client's value was not taken
    code, result = world.sweep("run", BASE + timedelta(days=5, hours=2), "--only", "feedback-reminder")
    assert code == 0 and writes(result) == [], result
