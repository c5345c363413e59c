"""Sweep rules over an in-memory Redmine: boundaries, exactly-once, client replies, SLA, audits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from helpdesk_core.clock import FixedClock
from helpdesk_core.errors import ConfigError
from policies.actions import Plan
from policies.config import load_policies, parse_policies
from policies.engine import LockBusy, TooManyActions, apply_plan, plan_sweep, run_sweep, sweep_lock
from policies.text_audits import load_audit_config
from tests.unit.test_sweep_fake import ADMIN, CLIENT, MARKER, ROLE_SUPPORT, SUPPORT, FakeRedmine

MSK = ZoneInfo("Europe/Moscow")
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
POLICIES = load_policies()
AUDIT = load_audit_config()
FEEDBACK = "Требует обратной связи"


def plan(fake: FakeRedmine, now: datetime, *only: str) -> Plan:
    fake.now = now
    return plan_sweep(fake, POLICIES, now, only=list(only) or None, audit=AUDIT)


def apply(fake: FakeRedmine, the_plan: Plan) -> list[str]:
    return [o.outcome for o in apply_plan(fake, the_plan, POLICIES)]  # type: ignore[arg-type]


def awaiting_client(fake: FakeRedmine, asked: datetime, **kwargs: object) -> int:
    issue = fake.add_issue(created=asked - timedelta(days=1), **kwargs)  # type: ignore[arg-type]
    fake.journal(issue, asked, user=SUPPORT, notes="Уточните номер заказа, пожалуйста.", status=FEEDBACK)
    return issue


# --- feedback-reminder / autoclose ---------------------------------------------------------

def test_reminder_boundary_4d23h_no_5d1h_yes() -> None:
    fake = FakeRedmine(T0)
    issue = awaiting_client(fake, T0)
    assert plan(fake, T0 + timedelta(days=4, hours=23), "feedback-reminder").actions == ()
    actions = plan(fake, T0 + timedelta(days=5, hours=1), "feedback-reminder").actions
    assert [(a.rule, a.issue, a.action) for a in actions] == [("feedback-reminder", issue, "comment")]
    # issue 18.7a: the marker travels in the support-only field, never in the text a client reads
    assert actions[0].notes and "helpdesk:" not in actions[0].notes and "[" not in actions[0].notes
    assert actions[0].marker and actions[0].marker.startswith("[helpdesk:feedback-reminder:")


def test_reminder_fires_once_then_autoclose_once() -> None:
    fake = FakeRedmine(T0)
    issue = awaiting_client(fake, T0)
    first = plan(fake, T0 + timedelta(days=5, hours=1))
    assert [a.rule for a in first.actions if a.writes] == ["feedback-reminder"]
    assert apply(fake, first) == ["ok"]
    assert [a for a in plan(fake, T0 + timedelta(days=5, hours=1)).actions if a.writes] == []
    # 5 days after the reminder: close, once
    later = T0 + timedelta(days=10, hours=2)
    close = [a for a in plan(fake, later).actions if a.writes]
    assert [(a.rule, a.action, a.status) for a in close] == [("feedback-autoclose", "close", "Закрыто")]
    apply(fake, Plan(now=later.isoformat(), actions=tuple(close)))
    assert fake.issues[issue]["status"]["name"] == "Закрыто"
    assert [a for a in plan(fake, later).actions if a.writes] == []


def test_client_reply_cancels_reminder_and_close_and_resumes() -> None:
    fake = FakeRedmine(T0)
    issue = awaiting_client(fake, T0)
    apply(fake, plan(fake, T0 + timedelta(days=5, hours=1)))
    fake.journal(issue, T0 + timedelta(days=6), user=CLIENT, notes="Номер заказа 1234567")
    actions = plan(fake, T0 + timedelta(days=11)).actions
    assert [(a.rule, a.action, a.status) for a in actions if a.writes] == [
        ("client-reply-resume", "set-status", "В работе")]
    apply(fake, plan(fake, T0 + timedelta(days=11)))
    assert fake.issues[issue]["status"]["name"] == "В работе"
    feedback_rules = ("feedback-reminder", "feedback-autoclose", "client-reply-resume")
    assert plan(fake, T0 + timedelta(days=20), *feedback_rules).actions == ()


def test_role_member_counts_as_support_and_private_notes_do_not() -> None:
    fake = FakeRedmine(T0)
    issue = fake.add_issue(created=T0 - timedelta(days=1))
    fake.journal(issue, T0, user=ROLE_SUPPORT, notes="Вопрос", status=FEEDBACK)
    fake.journal(issue, T0 + timedelta(days=1), user=CLIENT, notes="внутреннее", private=True)
    fake.issues[issue]["updated_on"] = "2026-11-02T12:00:00Z"
    assert [a.rule for a in plan(fake, T0 + timedelta(days=5, hours=1)).actions] == ["feedback-reminder"]


def test_verification_autoclose_and_stale_year_close() -> None:
    fake = FakeRedmine(T0)
    verify = fake.add_issue(created=T0 - timedelta(days=3))
    fake.journal(verify, T0, user=SUPPORT, notes="Исправлено, проверьте", status="Решено, требует проверки")
    old = fake.add_issue(created=T0 - timedelta(days=400))
    fake.journal(old, T0 - timedelta(days=300), user=SUPPORT, notes="Актуально?", status=FEEDBACK)
    fake.journal(old, T0 + timedelta(days=3), user=SUPPORT, notes="Напишите, пожалуйста, актуально ли?")
    # issue 18.5: no local wait_days: a standing request on a year-old issue is enough
    # issue 18: the year close needs a request still standing; support took this one back to work
    back = fake.add_issue(created=T0 - timedelta(days=400))
    fake.journal(back, T0 - timedelta(days=300), user=SUPPORT, notes="Актуально?", status=FEEDBACK)
    fake.journal(back, T0 - timedelta(days=290), user=SUPPORT, status="В работе")
    assert [a.rule for a in plan(fake, T0 + timedelta(days=4, hours=23)).actions
            if a.issue == verify] == []
    actions = {(a.rule, a.issue) for a in plan(fake, T0 + timedelta(days=5, hours=1)).actions if a.writes}
    assert actions == {("verification-autoclose", verify), ("stale-year-close", old)}


def test_closed_reply_redirect_once() -> None:
    fake = FakeRedmine(T0)
    issue = fake.add_issue(created=T0 - timedelta(days=10))
    fake.journal(issue, T0 - timedelta(days=2), user=SUPPORT, notes="Готово", status="Закрыто")
    fake.journal(issue, T0, user=CLIENT, notes="А ещё вопрос")
    first = plan(fake, T0 + timedelta(hours=1))
    assert [(a.rule, a.action) for a in first.actions] == [("closed-reply-redirect", "comment")]
    apply(fake, first)
    fake.journal(issue, T0 + timedelta(hours=2), user=CLIENT, notes="И ещё")
    assert plan(fake, T0 + timedelta(hours=3)).actions == ()
    assert fake.issues[issue]["status"]["name"] == "Закрыто"


# --- SLA -----------------------------------------------------------------------------------

def test_reaction_medium_1850_due_1050_next_day() -> None:
    fake = FakeRedmine(T0)
    created = datetime(2026, 11, 24, 18, 50, tzinfo=MSK)
    fake.add_issue(created=created, priority="Средний")
    assert plan(fake, datetime(2026, 11, 25, 10, 30, tzinfo=MSK), "sla-reaction").actions == ()
    at_risk = plan(fake, datetime(2026, 11, 25, 10, 45, tzinfo=MSK), "sla-reaction").actions
    assert at_risk[0].sla == "at-risk"
    breached = plan(fake, datetime(2026, 11, 25, 10, 51, tzinfo=MSK), "sla-reaction").actions
    assert breached[0].sla == "breached"
    assert datetime.fromisoformat(breached[0].deadline or "") == datetime(2026, 11, 25, 10, 50, tzinfo=MSK)


def test_reaction_blocker_0300_due_0315() -> None:
    fake = FakeRedmine(T0)
    fake.add_issue(created=datetime(2026, 11, 24, 3, 0, tzinfo=MSK), priority="Блокер")
    assert plan(fake, datetime(2026, 11, 24, 3, 10, tzinfo=MSK), "sla-reaction").actions == ()
    actions = plan(fake, datetime(2026, 11, 24, 3, 16, tzinfo=MSK), "sla-reaction").actions
    assert actions[0].sla == "breached"
    assert datetime.fromisoformat(actions[0].deadline or "") == datetime(2026, 11, 24, 3, 15, tzinfo=MSK)


def test_reaction_note_once_then_report_only() -> None:
    fake = FakeRedmine(T0)
    fake.add_issue(created=datetime(2026, 11, 24, 3, 0, tzinfo=MSK), priority="Блокер")
    now = datetime(2026, 11, 24, 3, 16, tzinfo=MSK)
    first = plan(fake, now, "sla-reaction")
    assert [a.action for a in first.actions] == ["note"] and first.actions[0].private
    apply(fake, first)
    again = plan(fake, now, "sla-reaction").actions
    assert [(a.action, a.sla) for a in again] == [("flag", "breached")]


def test_analysis_time_in_feedback_is_not_counted() -> None:
    fake = FakeRedmine(T0)
    created = datetime(2026, 11, 23, 10, 0, tzinfo=MSK)  # Высокий: 1 working day = 9 h
    issue = fake.add_issue(created=created, priority="Высокий")
    fake.journal(issue, created + timedelta(minutes=10), status="В работе")
    # the sweep's completeness `ask` (not support's word on next steps) pauses, not ends, the analysis
    fake.journal(issue, created + timedelta(hours=2), user=ADMIN, notes="Дополните, пожалуйста", status=FEEDBACK,
                 fields={MARKER: f"[helpdesk:completeness-audit:ask-{issue}]"})
    fake.journal(issue, datetime(2026, 11, 24, 10, 0, tzinfo=MSK), user=CLIENT, notes="Вот данные")
    fake.journal(issue, datetime(2026, 11, 24, 10, 0, tzinfo=MSK), status="В работе")
    # 1 сутки from the acceptance (10:10): 1 h 50 min used before the pause, 22 h 10 min left
    # from 24.11 10:00 -> due 25.11 08:10, not 24.11 10:10
    assert plan(fake, datetime(2026, 11, 24, 17, 30, tzinfo=MSK), "sla-analysis").actions == ()
    actions = plan(fake, datetime(2026, 11, 25, 8, 30, tzinfo=MSK), "sla-analysis").actions
    assert len(actions) == 1 and actions[0].sla == "breached"
    assert datetime.fromisoformat(actions[0].deadline or "") == datetime(2026, 11, 25, 8, 10, tzinfo=MSK)
    assert plan(fake, datetime(2026, 11, 24, 14, 0, tzinfo=MSK), "sla-analysis").actions == ()


def test_analysis_ends_when_support_tells_the_next_steps() -> None:
    """Issue 18.4, О2 «сотрудник поддержки сообщит вам о дальнейших этапах работы»: a Высокий
    issue taken into work and answered in 2 hours is met, however long the resolution takes;
    a comment before it is taken into work, a private note or the sweep's note does not end it."""
    fake = FakeRedmine(T0)
    created = datetime(2026, 11, 23, 10, 0, tzinfo=MSK)
    answered = fake.add_issue(created=created, priority="Высокий")
    fake.journal(answered, created + timedelta(minutes=10), status="В работе")
    fake.journal(answered, created + timedelta(hours=2), notes="Воспроизвели, исправим в релизе 30.11")
    silent = fake.add_issue(created=created, priority="Высокий")
    fake.journal(silent, created + timedelta(minutes=5), notes="Приняли, смотрим")  # still «На рассмотрении»
    fake.journal(silent, created + timedelta(minutes=10), status="В работе")
    fake.journal(silent, created + timedelta(hours=1), notes="внутреннее: нужен разработчик", private=True)
    three_days_later = datetime(2026, 11, 26, 12, 0, tzinfo=MSK)
    actions = plan(fake, three_days_later, "sla-analysis").actions
    assert [(a.issue, a.sla) for a in actions] == [(silent, "breached")]
    fake.journal(silent, three_days_later, notes="Передали разработчикам, срок — до 01.12")
    assert plan(fake, three_days_later + timedelta(minutes=1), "sla-analysis").actions == ()


# --- apply, guards, lock, scope, cost ------------------------------------------------------

def test_apply_skips_a_stale_action() -> None:
    fake = FakeRedmine(T0)
    issue = awaiting_client(fake, T0)
    the_plan = plan(fake, T0 + timedelta(days=5, hours=1), "feedback-reminder")
    fake.journal(issue, T0 + timedelta(days=5, hours=2), user=SUPPORT, notes="", status=None)
    outcomes = apply_plan(fake, the_plan, POLICIES)  # type: ignore[arg-type]
    assert [(o.outcome, o.reason.split(":")[0]) for o in outcomes] == [("skipped", "stale")]
    assert fake.stats.writes == 0


def test_apply_skips_an_action_whose_status_changed_within_the_same_second() -> None:
    """updated_on has a one-second grain: the status recorded at planning is checked too."""
    fake = FakeRedmine(T0)
    issue = awaiting_client(fake, T0)
    the_plan = plan(fake, T0 + timedelta(days=5, hours=1), "feedback-reminder")
    fake.issues[issue]["status"] = fake._status("В работе")  # updated_on left as it was
    outcomes = apply_plan(fake, the_plan, POLICIES)  # type: ignore[arg-type]
    assert [(o.outcome, o.reason) for o in outcomes] == [
        ("skipped", "stale: status changed since the plan (Требует обратной связи → В работе)")]
    assert fake.stats.writes == 0


def test_max_actions_aborts_before_any_write(tmp_path: Path) -> None:
    fake = FakeRedmine(T0)
    awaiting_client(fake, T0)
    awaiting_client(fake, T0)
    with pytest.raises(TooManyActions):
        run_sweep(fake, POLICIES, FixedClock(T0 + timedelta(days=6)), state_dir=tmp_path,  # type: ignore[arg-type]
                  max_actions=1, audit=AUDIT)
    assert fake.stats.writes == 0
    result = run_sweep(fake, POLICIES, FixedClock(T0 + timedelta(days=6)), state_dir=tmp_path,  # type: ignore[arg-type]
                       max_actions=2, audit=AUDIT, only=["feedback-reminder"])
    assert [o.outcome for o in result.outcomes] == ["ok", "ok"]
    log = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert len(log) == 2 and '"rule": "feedback-reminder"' in log[0] and '"outcome": "ok"' in log[0]


def test_lock_held_means_no_second_run(tmp_path: Path) -> None:
    fake = FakeRedmine(T0)
    awaiting_client(fake, T0)
    with sweep_lock(tmp_path), pytest.raises(LockBusy):
        run_sweep(fake, POLICIES, FixedClock(T0 + timedelta(days=6)), state_dir=tmp_path)  # type: ignore[arg-type]
    assert fake.stats.total == 0


def test_scope_limits_projects_and_trackers() -> None:
    text = (Path(__file__).parents[2] / "policies" / "policies.yaml").read_text(encoding="utf-8")
    text = text.replace("    scope: {projects: \"*\", trackers: \"*\"}\n    params: {after_days: 5}",
                        "    scope: {projects: [acme], trackers: [Задача]}\n    params: {after_days: 5}", 1)
    scoped = parse_policies(text)
    fake = FakeRedmine(T0)
    inside = awaiting_client(fake, T0, tracker="Задача")
    awaiting_client(fake, T0, tracker="Баг")
    awaiting_client(fake, T0, tracker="Задача", project="other")
    result = plan_sweep(fake, scoped, T0 + timedelta(days=6), only=["feedback-reminder"], audit=AUDIT)
    assert [a.issue for a in result.actions] == [inside]


def test_requests_grow_with_candidates_not_issues() -> None:
    fake = FakeRedmine(T0)
    for _ in range(1000):
        issue = fake.add_issue(created=T0 - timedelta(days=60), status="В работе")
        fake.journal(issue, T0 - timedelta(days=59), status="Закрыто")
    for _ in range(3):
        awaiting_client(fake, T0)
    result = plan(fake, T0 + timedelta(days=6))
    assert len([a for a in result.actions if a.rule == "feedback-reminder"]) == 3
    assert result.requests <= 20, result.requests


# --- configuration -------------------------------------------------------------------------

def test_unknown_rule_names_known_ones_and_line() -> None:
    with pytest.raises(ConfigError) as err:
        parse_policies("rules:\n  feedback-reminder: {}\n  feedback-remindr: {}\n")
    assert err.value.line == 3 and "feedback-reminder" in str(err.value)


def test_bad_param_names_key_and_line() -> None:
    with pytest.raises(ConfigError) as err:
        parse_policies("rules:\n  feedback-reminder:\n    params:\n      after_days: -1\n"
                       "    templates: {comment: x}\n")
    assert err.value.key == "rules.feedback-reminder.params.after_days" and err.value.line == 4


def test_missing_template_is_an_error() -> None:
    with pytest.raises(ConfigError, match="template 'comment' is required"):
        parse_policies("rules:\n  feedback-reminder: {params: {after_days: 5}}\n")


# --- regulation details (issue 10) ---------------------------------------------------------

def test_a_priority_without_a_budget_is_a_config_error_naming_the_key() -> None:
    fake = FakeRedmine(T0)
    fake.priorities["Срочный"] = 9
    with pytest.raises(ConfigError) as err:
        plan(fake, T0, "sla-analysis")
    assert err.value.key == "settings.sla.analysis" and "Срочный" in str(err.value)
    assert plan(fake, T0, "feedback-reminder").actions == ()  # only the SLA rules need budgets
    text = (Path(__file__).parents[2] / "policies" / "policies.yaml").read_text(encoding="utf-8")
    fallback = parse_policies(text.replace("    at_risk_share: 0.8", "    analysis_fallback: {working_days: 2}\n"
                                                                     "    at_risk_share: 0.8"))
    urgent = fake.add_issue(created=T0, priority="Срочный")
    fake.journal(urgent, T0 + timedelta(minutes=5), status="В работе")  # taken into work: the clock runs
    actions = plan_sweep(fake, fallback, T0 + timedelta(days=3), only=["sla-analysis"], audit=AUDIT).actions
    assert [a.sla for a in actions] == ["breached"]


def test_an_issue_with_an_inactive_unbudgeted_priority_is_a_config_error() -> None:
    fake = FakeRedmine(T0)
    fake.add_issue(created=T0, priority="Нормальный")  # not among the active priorities
    with pytest.raises(ConfigError) as err:
        plan(fake, T0 + timedelta(days=3), "sla-analysis")
    assert err.value.key == "settings.sla.analysis" and "Нормальный" in str(err.value)


def test_reminder_and_stale_close_never_in_one_run_nor_within_5_days() -> None:
    fake = FakeRedmine(T0)
    issue = fake.add_issue(created=T0 - timedelta(days=400))
    fake.journal(issue, T0, user=SUPPORT, notes="Актуально?", status=FEEDBACK)
    first = plan(fake, T0 + timedelta(days=6))
    assert [(a.rule, a.action) for a in first.actions] == [("feedback-reminder", "comment"),
                                                           ("stale-year-close", "flag")]
    assert "close held: a reminder is planned in this run" in first.actions[1].reason
    apply(fake, first)
    held = plan(fake, T0 + timedelta(days=10, hours=23)).actions
    assert [(a.rule, a.action) for a in held] == [("stale-year-close", "flag")]
    closes = plan(fake, T0 + timedelta(days=11, hours=1)).actions
    assert [(a.rule, a.action) for a in closes] == [("feedback-autoclose", "close"), ("stale-year-close", "flag")]
    assert "another rule closes it" in closes[1].reason


COLLEAGUE = 22  # another client of the company (not the author): may press the button too
SUPPORT_GROUP = 7  # the fake's «Сотрудники техподдержки»


def _complaint_fields() -> tuple[int, int]:
    from tests.unit.test_sweep_fake import CUSTOM_FIELDS

    return CUSTOM_FIELDS["Пожаловаться на задержку"], CUSTOM_FIELDS["Жалобы на задержку"]


def test_delay_button_counts_every_press_and_escalates_once_per_working_day() -> None:
    """Every press is one complaint (counter +1, button cleared, in one write); an unassigned
    issue's escalation reaches the support group, made a watcher before the note; a second
    press the same working day is counted only; the next working day escalates again."""
    button, counter = _complaint_fields()
    fake = FakeRedmine(T0)  # 15:00 МСК, a working hour
    issue = fake.add_issue(created=T0 - timedelta(days=1), status="В работе")
    fake.journal(issue, T0 - timedelta(hours=5), user=SUPPORT, fields={counter: "2", button: "0"})
    press = fake.journal(issue, T0, user=COLLEAGUE, fields={button: "1"})
    first = plan(fake, T0 + timedelta(minutes=5), "delay-complaint")
    watch, note = first.actions
    assert (watch.action, watch.users) == ("watch", (SUPPORT_GROUP,))
    assert (note.action, note.private, note.marker) == ("note", True, f"[helpdesk:delay-complaint:button-{press}]")
    assert note.fields == {str(counter): "3", str(button): "0"}
    assert note.notes == (
        "Жалоба клиента на задержку: нажата кнопка «Пожаловаться на задержку», всего жалоб: 3\n"
        "- кто и когда: user22, 02.11.2026 15:00 МСК\n"
        "Получатель: группа «Сотрудники техподдержки», добавлена в наблюдатели.")
    assert "reaches support group #7 (watcher)" in note.reason
    assert apply(fake, first) == ["ok", "ok"]
    assert fake.issues[issue]["watchers"] == [{"id": SUPPORT_GROUP}]
    assert plan(fake, T0 + timedelta(minutes=10), "delay-complaint").actions == ()

    fake.journal(issue, T0 + timedelta(hours=1), user=CLIENT, fields={button: "1"})
    (again,) = plan(fake, T0 + timedelta(hours=1, minutes=5), "delay-complaint").actions
    assert (again.action, again.notes, again.marker) == ("count", None, None)
    assert again.fields == {str(counter): "4", str(button): "0"}
    assert "already escalated this working day" in again.reason
    assert apply(fake, again_plan := plan(fake, T0 + timedelta(hours=1, minutes=5), "delay-complaint")) == ["ok"]
    assert again_plan.actions[0].action == "count"
    escalations = [j for j in fake.issues[issue]["journals"]  # the marker travels in the support-only field
                   if any(d["name"] == str(MARKER) and "[helpdesk:delay-complaint:" in (d["new_value"] or "")
                          for d in j.get("details", []))]
    assert len(escalations) == 1 and value_of(fake, issue, counter) == "4" and value_of(fake, issue, button) == "0"
    assert plan(fake, T0 + timedelta(hours=1, minutes=10), "delay-complaint").actions == ()

    # after 19:00 МСК a press belongs to the next working day: escalated again (the group already watches)
    fake.journal(issue, T0 + timedelta(hours=6), user=CLIENT, fields={button: "1"})
    (late,) = plan(fake, T0 + timedelta(hours=6, minutes=5), "delay-complaint").actions
    assert (late.action, late.fields[str(counter)]) == ("note", "5")
    assert apply(fake, plan(fake, T0 + timedelta(hours=6, minutes=5), "delay-complaint")) == ["ok"]
    # the next morning, before 10:00, is that same working day: counted only
    fake.journal(issue, T0 + timedelta(hours=18), user=CLIENT, fields={button: "1"})
    (morning,) = plan(fake, T0 + timedelta(hours=18, minutes=5), "delay-complaint").actions
    assert (morning.action, morning.fields[str(counter)]) == ("count", "6")


def value_of(fake: FakeRedmine, issue: int, field_id: int) -> str:
    return str(next(f["value"] for f in fake.issues[issue]["custom_fields"] if f["id"] == field_id))


def test_delay_complaint_on_an_assigned_issue_reaches_the_assignee() -> None:
    """Redmine mails the assignee of every journal they may read: the note alone reaches them."""
    button, counter = _complaint_fields()
    fake = FakeRedmine(T0)
    issue = fake.add_issue(created=T0 - timedelta(days=1), status="В работе")
    fake.issues[issue]["assigned_to"] = {"id": SUPPORT, "name": "Иван Петров"}
    fake.journal(issue, T0 - timedelta(hours=1), user=SUPPORT, fields={counter: "0"})
    fake.journal(issue, T0, user=CLIENT, fields={button: "1"})
    (note,) = plan(fake, T0 + timedelta(minutes=5), "delay-complaint").actions
    assert note.action == "note" and "reaches assignee #10" in note.reason
    assert note.notes is not None and "Получатель: исполнитель Иван Петров." in note.notes


def test_delay_complaint_lead_and_one_escalation_for_a_press_and_a_comment_in_one_run() -> None:
    """A configured lead is the watcher instead of the group; a press and a complaint in words
    in the same run make one escalation (the comment is reported, not escalated twice)."""
    from policies.config import DEFAULT_POLICIES_PATH

    doc = DEFAULT_POLICIES_PATH.read_text(encoding="utf-8")
    assert doc.count("lead: null") == 1
    policies = parse_policies(doc.replace("lead: null", "lead: 77"))
    button, counter = _complaint_fields()
    fake = FakeRedmine(T0)
    issue = fake.add_issue(created=T0 - timedelta(days=1), status="В работе")
    fake.journal(issue, T0 - timedelta(hours=1), user=SUPPORT, fields={counter: "0"})
    fake.journal(issue, T0 - timedelta(minutes=30), user=CLIENT, notes="Сколько можно ждать ответа?")
    fake.journal(issue, T0, user=CLIENT, fields={button: "1"})
    fake.now = T0 + timedelta(minutes=5)
    actions = plan_sweep(fake, policies, fake.now, only=["delay-complaint"], audit=AUDIT).actions
    assert [(a.action, a.users) for a in actions] == [("watch", (77,)), ("note", ()), ("flag", ())]
    assert "ответственный (пользователь #77), добавлен в наблюдатели" in (actions[1].notes or "")
    assert "already escalated this working day" in actions[2].reason
