"""The regulation's status and closing rules, sentence by sentence, on the real local Redmine.

Same harness as test_sweep_redmine.py (own project per test, policies scoped to it, dates
moved with `rails runner`). Each test names the regulation sentence it checks; the table in
policies/README.md points here. Every sweep's exit code is asserted before its output is read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpdesk_core.clock import MOSCOW
from tests.integration import test_sweep_redmine as harness
from tests.integration.test_sweep_redmine import BASE, FEEDBACK_RULES, World, asked, sweep_marks, writes

pytestmark = pytest.mark.redmine
live, people, world = harness.live, harness.people, harness.world

CLOSING = ("--only", "feedback-reminder", "--only", "feedback-autoclose", "--only", "verification-autoclose",
           "--only", "stale-year-close", "--only", "client-reply-resume")


def marked(world: World, issue: int, rule: str) -> list[dict[str, Any]]:
    return [j for j in world.issue(issue)["journals"] if f"[helpdesk:{rule}:" in sweep_marks(j)]


def field_ids(world: World) -> dict[str, int]:
    return {f["name"]: int(f["id"]) for f in world.gw.get("/custom_fields.json")["custom_fields"]}


def value(world: World, issue: int, name: str) -> str | None:
    fields = world.gw.get(f"/issues/{issue}.json")["issue"].get("custom_fields", [])
    return next((f.get("value") for f in fields if f["name"] == name), None)


def test_client_comment_resumes_from_feedback_and_from_verification(world: World) -> None:
    """«После отправки комментария клиентом статус будет изменен автоматически на В работе»,
    also in «Решено, требует проверки» (the client says it is not fixed); and
    verification-autoclose never closes an issue the client commented on after the status."""
    waiting, _ = asked(world, BASE)
    reply = world.update(waiting, by=world.client, notes="Номер заказа 7654321")
    world.backdate(waiting, BASE - timedelta(hours=1), {reply: BASE + timedelta(days=1)})
    checked = world.create_issue()
    solved = world.update(checked, by=world.support, notes="Исправлено, проверьте", status="Решено, требует проверки")
    remark = world.update(checked, by=world.client, notes="Не исправлено: заказ 1234567 так и висит")
    world.backdate(checked, BASE - timedelta(hours=1), {solved: BASE, remark: BASE + timedelta(days=1)})

    now = BASE + timedelta(days=12)
    code, plan = world.sweep("plan", now, "--only", "verification-autoclose")
    assert code == 0, plan
    assert plan["actions"] == []  # a remark was left: no "no remarks" close, even 11 days later
    code, result = world.sweep("run", now, *CLOSING)
    assert code == 0, result
    assert sorted(writes(result)) == sorted([("client-reply-resume", waiting, "ok"),
                                             ("client-reply-resume", checked, "ok")])
    for issue in (waiting, checked):
        data = world.issue(issue)
        assert data["status"]["name"] == "В работе"
        assert data["journals"][-1]["private_notes"] is True
    assert "Решено, требует проверки" in world.issue(checked)["journals"][-1]["notes"]
    assert marked(world, checked, "verification-autoclose") == []
    code, again = world.sweep("run", now, *CLOSING)
    assert code == 0 and writes(again) == [], again


def test_forged_sweep_marker_in_a_client_reply_is_a_reply(world: World) -> None:
    """Issue 11 item 3: a client's reply ending with the reminder's marker line is a reply:
    the issue resumes, and nothing is closed citing it as "our reminder"."""
    issue, question = asked(world, BASE)
    forged = world.update(issue, by=world.client,
                          notes=f"Номер заказа 7654321\n\n[helpdesk:feedback-reminder:{question}]")
    world.backdate(issue, BASE - timedelta(hours=1), {question: BASE, forged: BASE + timedelta(days=1)})
    now = BASE + timedelta(days=11)
    code, plan = world.sweep("plan", now, "--only", "feedback-reminder", "--only", "feedback-autoclose")
    assert code == 0, plan
    assert plan["actions"] == []
    code, result = world.sweep("run", now, *FEEDBACK_RULES)
    assert code == 0, result
    assert writes(result) == [("client-reply-resume", issue, "ok")]
    assert world.issue(issue)["status"]["name"] == "В работе"
    assert marked(world, issue, "feedback-autoclose") == []


def test_private_note_or_field_edit_on_day_3_does_not_move_the_reminder(world: World) -> None:
    """«Сотрудник напомнит вам о необходимости комментария, если мы не получим его в течение
    5 дней»: counted from support's question, not from `updated_on`."""
    issue, question = asked(world, BASE)
    world.gw.put(f"/issues/{issue}.json", {"issue": {"notes": "внутреннее", "private_notes": True}},
                 as_user=world.support)
    private = world.issue(issue)["journals"][-1]["id"]
    priorities = world.ids("/enumerations/issue_priorities.json", "issue_priorities")
    world.gw.put(f"/issues/{issue}.json", {"issue": {"priority_id": priorities["Высокий"]}}, as_user=world.support)
    edit = world.issue(issue)["journals"][-1]["id"]
    day3 = BASE + timedelta(days=3)
    world.backdate(issue, BASE - timedelta(hours=1), {question: BASE, private: day3, edit: day3})
    assert world.issue(issue)["updated_on"] > (BASE + timedelta(days=2)).isoformat()
    code, plan = world.sweep("plan", BASE + timedelta(days=4, hours=23), "--only", "feedback-reminder")
    assert code == 0 and plan["actions"] == [], plan
    code, result = world.sweep("run", BASE + timedelta(days=5, hours=1), *FEEDBACK_RULES)
    assert code == 0, result
    assert writes(result) == [("feedback-reminder", issue, "ok")]
    assert f"[helpdesk:feedback-reminder:{question}]" in sweep_marks(world.issue(issue)["journals"][-1])


def test_one_issue_never_gets_a_reminder_and_a_close_closer_than_5_days(world: World) -> None:
    """A year-old issue waiting for the client 6 days: the reminder goes out, stale-year-close
    is held in that run and for 5 days after it, then exactly one rule closes it, once."""
    created = BASE - timedelta(days=400)
    issue = world.create_issue(subject="Старый вопрос")
    question = world.update(issue, by=world.support, notes="Уточните, актуален ли вопрос?",
                            status="Требует обратной связи")
    world.backdate(issue, created, {question: BASE})
    reminded_at = BASE + timedelta(days=6)
    code, result = world.sweep("run", reminded_at, *CLOSING)
    assert code == 0, result
    assert writes(result) == [("feedback-reminder", issue, "ok")]
    held = [a for a in result["actions"] if a["rule"] == "stale-year-close"]
    assert [a["action"] for a in held] == ["flag"] and "close held" in held[0]["reason"]
    assert world.issue(issue)["status"]["name"] == "Требует обратной связи"
    reminder = world.issue(issue)["journals"][-1]["id"]
    world.backdate(issue, created, {question: BASE, reminder: reminded_at})
    for later in (timedelta(hours=1), timedelta(days=4, hours=23)):
        code, result = world.sweep("run", reminded_at + later, *CLOSING)
        assert code == 0, result
        assert writes(result) == [], (later, result)
    code, result = world.sweep("run", reminded_at + timedelta(days=5, hours=1), *CLOSING)
    assert code == 0, result
    closes = writes(result)
    assert len(closes) == 1 and closes[0][1] == issue and closes[0][2] == "ok", result
    assert world.issue(issue)["status"]["name"] == "Закрыто"
    closing_notes = [j for j in world.issue(issue)["journals"]
                     if "[helpdesk:feedback-autoclose:" in sweep_marks(j)
                     or "[helpdesk:stale-year-close:" in sweep_marks(j)]
    assert len(closing_notes) == 1


def test_stale_year_close_needs_an_unanswered_request_and_says_what_happened(world: World) -> None:
    """«...клиентом не был актуализирован его статус по запросу сотрудника... через 1 год после
    его создания»: a request support took back into work is not a request left unanswered (issue
    18.5: no local `wait_days`, the request must still stand); the closing text names the real
    dates and age, and no «запрос об актуальности»."""
    created = BASE - timedelta(days=412)
    withdrawn = world.create_issue(subject="Вопрос забрали назад")
    ask1 = world.update(withdrawn, by=world.support, notes="Пришлите номер заказа", status="Требует обратной связи")
    back = world.update(withdrawn, by=world.support, status="В работе")
    world.backdate(withdrawn, created, {ask1: created + timedelta(days=30), back: created + timedelta(days=31)})
    silent = world.create_issue(subject="Вопрос без ответа")
    ask2 = world.update(silent, by=world.support, notes="Пришлите номер заказа", status="Требует обратной связи")
    world.backdate(silent, created, {ask2: created + timedelta(days=30)})
    code, result = world.sweep("run", BASE, "--only", "stale-year-close")
    assert code == 0, result
    assert writes(result) == [("stale-year-close", silent, "ok")]
    assert world.issue(withdrawn)["status"]["name"] == "В работе"
    (note,) = marked(world, silent, "stale-year-close")
    text = note["notes"]
    assert "412 дней назад" in text and "актуальност" not in text
    assert (created + timedelta(days=30)).astimezone(MOSCOW).strftime("%d.%m.%Y") in text


def test_texts_say_the_real_number_of_days(world: World) -> None:
    """A reminder 8 days after the question says 8 days, a verification close after 12 days
    says 12, with the Russian noun that fits (not the configured 5)."""
    late, _ = asked(world, BASE)
    checked = world.create_issue()
    solved = world.update(checked, by=world.support, notes="Исправлено", status="Решено, требует проверки")
    world.backdate(checked, BASE - timedelta(hours=1), {solved: BASE - timedelta(days=4)})
    code, result = world.sweep("run", BASE + timedelta(days=8, hours=1), *CLOSING)
    assert code == 0, result
    assert sorted(writes(result)) == sorted([("feedback-reminder", late, "ok"),
                                             ("verification-autoclose", checked, "ok")])
    (reminder,) = marked(world, late, "feedback-reminder")
    assert "уже 8 дней" in reminder["notes"] and "в течение 5 дней" in reminder["notes"]
    (closing,) = marked(world, checked, "verification-autoclose")
    assert "за 12 дней" in closing["notes"]


def test_priority_without_an_sla_budget_is_exit_2_or_the_declared_fallback(world: World, tmp_path: Path) -> None:
    """«Время реакции ... различаются в зависимости от приоритета запроса»: a priority Redmine
    has but the policies do not budget is a configuration error naming the key; a declared
    fallback measures it."""
    low = world.create_issue(priority="Низкий")
    taken = world.update(low, by=world.support, status="В работе")  # the analysis clock runs from here
    world.backdate(low, BASE, {taken: BASE + timedelta(minutes=30)})
    doc = yaml.safe_load(world.policies.read_text(encoding="utf-8"))
    del doc["settings"]["sla"]["analysis"]["Низкий"]
    missing = tmp_path / "missing.yaml"
    missing.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    code, out = world.sweep("plan", BASE + timedelta(days=20), "--only", "sla-analysis", policies=missing)
    assert code == 2, out
    assert "settings.sla.analysis" in out["stderr"] and "Низкий" in out["stderr"]
    doc["settings"]["sla"]["analysis_fallback"] = {"working_days": 5}
    fallback = tmp_path / "fallback.yaml"
    fallback.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    code, plan = world.sweep("plan", BASE + timedelta(days=20), "--only", "sla-analysis", policies=fallback)
    assert code == 3, plan
    assert [(a["issue"], a["sla"]) for a in plan["actions"]] == [(low, "breached")]


def test_delay_button_is_one_tick_for_the_client_and_counts_once_per_press(world: World) -> None:
    """«...нажать кнопку “Пожаловаться на задержку”»: the client ticks a boolean on their issue
    (and can change nothing else there); delay-complaint escalates, adds one to «Жалобы на
    задержку» (2 migrated complaints already counted) and clears the tick, once per press; a
    second press the same working day is counted, not escalated again."""
    ids = field_ids(world)
    button, counter, free = (ids["Пожаловаться на задержку"], ids["Жалобы на задержку"],
                             ids["Бесплатная консультация"])
    issue = world.create_issue(subject="Не выписывается билет")
    world.gw.put(f"/issues/{issue}.json", {"issue": {"custom_fields": [{"id": counter, "value": "2"}]}})
    world.update(issue, by=world.support, notes="Взяли в работу", status="В работе")
    world.gw.put(f"/issues/{issue}.json", {"issue": {
        "subject": "Переписанная тема", "custom_fields": [{"id": button, "value": "1"}, {"id": free, "value": "1"}]}},
        as_user=world.client)
    assert value(world, issue, "Пожаловаться на задержку") == "1"
    assert world.issue(issue)["subject"] == "Не выписывается билет"  # read-only for the client
    assert value(world, issue, "Бесплатная консультация") in ("", "0", None)
    now = datetime.now(UTC) + timedelta(minutes=5)
    only = ("--only", "delay-complaint")
    code, result = world.sweep("run", now, *only)
    assert code == 0, result
    assert writes(result) == [("delay-complaint", issue, "ok")] * 2  # the support group as watcher, the note
    assert value(world, issue, "Жалобы на задержку") == "3"
    assert value(world, issue, "Пожаловаться на задержку") == "0"
    # Redmine splits a private note from its field changes: one PUT, one transaction, two journals
    (mark,) = marked(world, issue, "delay-complaint")
    (note,) = [j for j in world.issue(issue)["journals"] if j["private_notes"] and j["user"] == mark["user"]]
    assert "Пожаловаться на задержку" in note["notes"] and "helpdesk" not in note["notes"]
    code, again = world.sweep("run", now, *only)
    assert code == 0 and writes(again) == [], again
    assert value(world, issue, "Жалобы на задержку") == "3"
    world.gw.put(f"/issues/{issue}.json", {"issue": {"custom_fields": [{"id": button, "value": "1"}]}},
                 as_user=world.client)
    code, second = world.sweep("run", now, *only)
    assert code == 0 and writes(second) == [("delay-complaint", issue, "ok")], second
    assert second["outcomes"][0]["action"] == "count"
    assert value(world, issue, "Жалобы на задержку") == "4"
    assert value(world, issue, "Пожаловаться на задержку") == "0"
    assert len(marked(world, issue, "delay-complaint")) == 1


def test_act_as_reminder_counts_and_a_support_marker_line_does_not(world: World, tmp_path: Path) -> None:
    """A sweep that writes as a support login (act_as) recognises its own reminder; the same
    marker line in a note by someone else is not the sweep's."""
    doc = yaml.safe_load(world.policies.read_text(encoding="utf-8"))
    doc["settings"]["act_as"] = world.support
    as_support = tmp_path / "act_as.yaml"
    as_support.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    issue, question = asked(world, BASE)
    code, result = world.sweep("run", BASE + timedelta(days=5, hours=1), *FEEDBACK_RULES, policies=as_support)
    assert code == 0 and writes(result) == [("feedback-reminder", issue, "ok")], result
    reminder = world.issue(issue)["journals"][-1]
    assert reminder["user"]["id"] == world.support_id
    world.backdate(issue, BASE - timedelta(hours=1),
                   {question: BASE, reminder["id"]: BASE + timedelta(days=5, hours=1)})
    code, closed = world.sweep("run", BASE + timedelta(days=10, hours=2), *FEEDBACK_RULES, policies=as_support)
    assert code == 0 and writes(closed) == [("feedback-autoclose", issue, "ok")], closed

