"""stale-year-close, delay-complaint and completeness-audit `ask` against the real local Redmine.

Same harness as test_sweep_redmine.py (own project per test, policies scoped to it, dates
moved with `rails runner`): each rule acts once on the issue it names, a second run with the
same `--now` writes nothing, and the look-alike issue next to it is left alone.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from tests.integration import test_sweep_redmine as harness
from tests.integration.test_sweep_redmine import BASE, World, scoped_policies, sweep_marks, writes

pytestmark = pytest.mark.redmine
# the harness's fixtures, by name (pytest finds fixtures in the module's namespace)
live, people, world = harness.live, harness.people, harness.world


def marked(world: World, issue: int, rule: str) -> list[dict]:
    """The journals of `issue` that carry `rule`'s marker."""
    return [j for j in world.issue(issue)["journals"] if f"[helpdesk:{rule}:" in sweep_marks(j)]


def test_stale_year_close_once_and_not_when_the_client_answered(world: World) -> None:
    created = BASE - timedelta(days=400)
    silent = world.create_issue(subject="Старый вопрос без ответа")
    asked = world.update(silent, by=world.support, notes="Актуален ли ещё вопрос?", status="Требует обратной связи")
    world.backdate(silent, created, {asked: created + timedelta(days=60)})  # the request still stands
    taken_back = world.create_issue(subject="Старый вопрос, забранный в работу")  # issue 18: not closed
    asked4 = world.update(taken_back, by=world.support, notes="Актуален ли ещё вопрос?",
                          status="Требует обратной связи")
    resumed = world.update(taken_back, by=world.support, status="В работе")
    world.backdate(taken_back, created, {asked4: created + timedelta(days=60), resumed: created + timedelta(days=70)})
    answered = world.create_issue(subject="Старый вопрос с ответом")
    asked2 = world.update(answered, by=world.support, notes="Актуален ли ещё вопрос?",
                          status="Требует обратной связи")
    reply = world.update(answered, by=world.client, notes="Да, актуален, заказ 1234567 так и не выписан")
    world.backdate(answered, created, {asked2: created + timedelta(days=60), reply: created + timedelta(days=61)})
    young = world.create_issue(subject="Свежий вопрос")  # asked and silent, but created 100 days ago
    asked3 = world.update(young, by=world.support, notes="Актуально?", status="Требует обратной связи")
    world.backdate(young, BASE - timedelta(days=100), {asked3: BASE - timedelta(days=90)})

    now = BASE + timedelta(days=1)
    only = ("--only", "stale-year-close")
    code, result = world.sweep("run", now, *only)
    assert code == 0 and writes(result) == [("stale-year-close", silent, "ok")], result
    assert world.issue(silent)["status"]["name"] == "Закрыто"
    notes = marked(world, silent, "stale-year-close")
    assert len(notes) == 1 and not notes[0]["private_notes"] and "(401 день назад)" in notes[0]["notes"]
    assert world.issue(answered)["status"]["name"] == "Требует обратной связи"
    assert world.issue(young)["status"]["name"] == "Требует обратной связи"
    assert world.issue(taken_back)["status"]["name"] == "В работе"
    code, again = world.sweep("run", now, *only)
    assert code == 0 and writes(again) == [] and again["actions"] == []
    assert len(marked(world, silent, "stale-year-close")) == 1


def test_delay_complaint_escalates_once_and_neutral_comment_does_nothing(world: World) -> None:
    complaint = world.create_issue(subject="Не выписывается билет")
    question = world.update(complaint, by=world.support, notes="Проверяем, ожидайте.")
    angry = world.update(complaint, by=world.client, notes="Сколько можно ждать? Уже три дня нет никакого ответа.")
    world.backdate(complaint, BASE, {question: BASE + timedelta(hours=1), angry: BASE + timedelta(days=1)})
    neutral = world.create_issue(subject="Вопрос по сбору")
    thanks = world.update(neutral, by=world.client, notes="Спасибо, номер заказа 7654321, логин agent1.")
    world.backdate(neutral, BASE, {thanks: BASE + timedelta(days=1)})
    # a complaint written by support (quoting a client) is not a client's complaint
    quoted = world.create_issue(subject="Цитата")
    staff = world.update(quoted, by=world.support, notes="Клиент пишет: «сколько можно ждать», разбираемся.")
    world.backdate(quoted, BASE, {staff: BASE + timedelta(days=1)})

    now = BASE + timedelta(days=1, hours=2)
    only = ("--only", "delay-complaint")
    code, result = world.sweep("run", now, *only)
    # the support group made a watcher (nobody is assigned), then the note
    assert code == 0 and writes(result) == [("delay-complaint", complaint, "ok")] * 2, result
    # Redmine splits a private note from its field changes: one PUT, one transaction, two journals
    marks = marked(world, complaint, "delay-complaint")
    assert len(marks) == 1 and f"[helpdesk:delay-complaint:{angry}]" in sweep_marks(marks[0])
    notes = [j for j in world.issue(complaint)["journals"] if j["private_notes"]]
    assert len(notes) == 1 and notes[0]["user"] == marks[0]["user"] and "helpdesk" not in notes[0]["notes"]
    assert marked(world, neutral, "delay-complaint") == [] and marked(world, quoted, "delay-complaint") == []
    code, again = world.sweep("run", now, *only)
    assert code == 0, again
    assert writes(again) == []
    assert [(a["issue"], a["action"]) for a in again["actions"]] == [(complaint, "flag")]
    assert len(marked(world, complaint, "delay-complaint")) == 1


def test_completeness_ask_comments_once_and_sets_feedback(world: World, tmp_path: Path) -> None:
    policies = scoped_policies(tmp_path / "ask.yaml", world.project, **{"completeness-audit": {"actions": ["ask"]}})
    incomplete = world.create_issue(subject="Неверно отображается цена", description="Цена на странице неверная.")
    complete = world.create_issue(subject="Ошибка в расчёте сбора",
                                  description="В заказе 1234567 под логином agent1 сбор считается неверно, "
                                              "страница https://example.org/order/1234567")
    world.backdate(incomplete, BASE, {})
    world.backdate(complete, BASE, {})

    now = BASE + timedelta(hours=1)
    only = ("--only", "completeness-audit")
    code, result = world.sweep("run", now, *only, policies=policies)
    assert code == 0 and writes(result) == [("completeness-audit", incomplete, "ok")], result
    data = world.issue(incomplete)
    assert data["status"]["name"] == "Требует обратной связи"
    notes = marked(world, incomplete, "completeness-audit")
    assert len(notes) == 1 and not notes[0]["private_notes"]
    assert "дополните обращение" in notes[0]["notes"] and "номера заказов" in notes[0]["notes"]
    assert marked(world, complete, "completeness-audit") == []
    assert world.issue(complete)["status"]["name"] == "На рассмотрении"
    code, again = world.sweep("run", now, *only, policies=policies)
    assert code == 0 and writes(again) == []
    assert len(marked(world, incomplete, "completeness-audit")) == 1


def test_unknown_project_in_scope_is_exit_2_naming_the_key(world: World, tmp_path: Path) -> None:
    policies = scoped_policies(tmp_path / "typo.yaml", world.project + "-typo")
    code, out = world.sweep("plan", BASE, "--only", "feedback-reminder", policies=policies)
    assert code == 2, out
    assert "rules.feedback-reminder.scope.projects.0" in out["stderr"] and "-typo'" in out["stderr"]
    assert "404" not in out["stderr"]


def test_api_user_notes_are_neither_client_nor_support(world: World, tmp_path: Path) -> None:
    """The admin API user (no project member) writes a migrated note with a provenance line
    on an issue awaiting the client and on a closed one: no resume, no redirect, no escalation,
    also when the sweep writes as a support login (act_as), i.e. is not the API user."""
    waiting = world.create_issue()
    question = world.update(waiting, by=world.support, notes="Уточните номер заказа.", status="Требует обратной связи")
    world.gw.put(f"/issues/{waiting}.json", {"issue": {"notes": "_[portal:comment:M1] Иванов Иван, 01.10.2026 "
                                                                "10:00 МСК_\n\nСколько можно ждать? Заказ 1234567"}})
    fallback = world.issue(waiting)["journals"][-1]
    assert fallback["user"]["id"] != world.client_id and not fallback["private_notes"]
    closed = world.create_issue()
    done = world.update(closed, by=world.support, notes="Готово", status="Закрыто")
    world.gw.put(f"/issues/{closed}.json", {"issue": {"notes": "_[portal:comment:M2] Иванов Иван, 02.10.2026 "
                                                               "10:00 МСК_\n\nА ещё вопрос"}})
    world.backdate(waiting, BASE - timedelta(days=1), {question: BASE, fallback["id"]: BASE + timedelta(days=1)})
    world.backdate(closed, BASE - timedelta(days=1), {done: BASE, world.issue(closed)["journals"][-1]["id"]:
                                                      BASE + timedelta(days=1)})
    only = ("--only", "client-reply-resume", "--only", "closed-reply-redirect", "--only", "delay-complaint")
    as_support = tmp_path / "act_as.yaml"
    doc = yaml.safe_load(world.policies.read_text(encoding="utf-8"))
    doc["settings"]["act_as"] = world.support
    as_support.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    for policies in (world.policies, as_support):
        code, plan = world.sweep("plan", BASE + timedelta(days=1, hours=1), *only, policies=policies)
        assert code == 0 and plan["actions"] == [], (policies.name, plan)
