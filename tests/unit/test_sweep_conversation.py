"""Issue 18: the regulation in its sense, over the in-memory Redmine (one test per point).

Each test names the point and the regulation sentence; the same situations run on the real
Redmine in tests/integration/test_sweep_sense.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from helpdesk_core.errors import ConfigError
from helpdesk_core.provision import MARKER_FIELD
from policies.config import Policies, load_policies, parse_policies
from policies.context import Directory
from policies.conversation import Conversation
from policies.engine import apply_plan, plan_sweep
from policies.issues import IssueView
from policies.rules import days_genitive_ru, one_year_after
from policies.text_audits import load_audit_config
from tests.unit.test_sweep_fake import ADMIN, CLIENT, CUSTOM_FIELDS, MARKER, SUPPORT, FakeRedmine

MSK = ZoneInfo("Europe/Moscow")
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
POLICIES = load_policies()
AUDIT = load_audit_config()
FEEDBACK, VERIFY, WORK = "Требует обратной связи", "Решено, требует проверки", "В работе"
CLOSING = ["feedback-reminder", "feedback-autoclose", "verification-autoclose", "stale-year-close",
           "client-reply-resume", "go-live-cutover"]
YAML = (Path(__file__).parents[2] / "policies" / "policies.yaml").read_text(encoding="utf-8")


def policies_with(**rules: dict[str, object]) -> Policies:
    doc = yaml.safe_load(YAML)
    for rule_id, change in rules.items():
        doc["rules"][rule_id].update(change)
    return parse_policies(yaml.safe_dump(doc, allow_unicode=True))


def acts(fake: FakeRedmine, at: datetime, policies: Policies = POLICIES) -> list[tuple[str, int, str]]:
    """What the sweep would write at `at` (a close held by a recent reminder is only a flag)."""
    fake.now = at
    return [(a.rule, a.issue, a.action) for a in plan_sweep(fake, policies, at, only=CLOSING, audit=AUDIT).actions
            if a.writes]


def run(fake: FakeRedmine, at: datetime, policies: Policies = POLICIES) -> list[tuple[str, int, str]]:
    """Plan and apply at `at` (the fake stamps writes at its `now`)."""
    fake.now = at
    plan = plan_sweep(fake, policies, at, only=CLOSING, audit=AUDIT)
    apply_plan(fake, plan, policies)  # type: ignore[arg-type]
    return [(a.rule, a.issue, a.action) for a in plan.actions if a.writes]


def asked(fake: FakeRedmine, at: datetime) -> int:
    issue = fake.add_issue(created=at - timedelta(days=1))
    fake.journal(issue, at, user=SUPPORT, notes="Пришлите, пожалуйста, скриншот ошибки.", status=FEEDBACK)
    return issue


def conversation(fake: FakeRedmine, issue: int) -> Conversation:
    names = {1: "На рассмотрении", 2: WORK, 3: FEEDBACK, 4: VERIFY, 5: "Закрыто", 6: "Отклонено"}
    view = IssueView.from_json(fake.issues[issue], names, frozenset({ADMIN}))
    return Conversation.of(view, Directory(fake, POLICIES.settings), POLICIES.settings.statuses)


def test_point1_a_reply_that_is_only_a_file_is_a_reply() -> None:
    """18.1 («при сравнении … скриншоты терминала»): a screenshot without text answers support's
    request: the issue resumes; it is never reminded «мы ждём от вас ответа», never closed."""
    fake = FakeRedmine(T0)
    issue = asked(fake, T0)
    fake.journal(issue, T0 + timedelta(days=1), user=CLIENT, files=("screenshot.png",))
    assert conversation(fake, issue).client_spoke_last() and conversation(fake, issue).awaited() == "support"
    silent = asked(fake, T0)
    assert conversation(fake, silent).awaited() == "client"
    for days in (5, 6, 11, 20):
        assert [a for a in acts(fake, T0 + timedelta(days=days, hours=1)) if a[1] == issue] == [
            ("client-reply-resume", issue, "set-status")]
    # the same file in verification: no "no remarks" close either
    checked = fake.add_issue(created=T0)
    fake.journal(checked, T0, user=SUPPORT, notes="Исправлено, проверьте", status=VERIFY)
    fake.journal(checked, T0 + timedelta(days=1), user=CLIENT, files=("still-broken.png",))
    assert ("verification-autoclose", checked, "close") not in acts(fake, T0 + timedelta(days=9))


def test_point2_a_migrated_status_without_history_is_placed_at_supports_comment() -> None:
    """18.2 (О4'.1 «статус будет изменен сотрудником поддержки на Решено, требует проверки»):
    a migrated status change at `updated_on` (written by the API user, same moment as the
    client's objection that moved updated_on) is placed at support's last public comment; the
    client's objection is the last word: resume, never the "no remarks" close."""
    fake = FakeRedmine(T0)
    issue = fake.add_issue(created=T0 - timedelta(days=20))
    fake.journal(issue, T0 - timedelta(days=10), user=SUPPORT, notes="Исправили, проверьте, пожалуйста")
    objection = T0 - timedelta(days=8)
    fake.journal(issue, objection, user=CLIENT, notes="Нет, ошибка повторяется")
    fake.journal(issue, objection, user=ADMIN, notes="_[portal:status:T9.1] портал, 25.10.2026 15:00 МСК_",
                 status=VERIFY)
    conv = conversation(fake, issue)
    entered = conv.entered({VERIFY})
    assert entered is not None and entered.at == T0 - timedelta(days=10)  # placed at support's comment
    assert conv.client_spoke_last()
    assert acts(fake, T0) == [("client-reply-resume", issue, "set-status")]


def test_point2_without_history_the_reminder_counts_from_supports_question() -> None:
    """18.2: «Требует обратной связи» migrated at updated_on (moved later by anything on the
    portal) counts from support's question at or before it."""
    fake = FakeRedmine(T0)
    issue = fake.add_issue(created=T0 - timedelta(days=20))
    fake.journal(issue, T0 - timedelta(days=6), user=SUPPORT, notes="Пришлите номер заказа")
    fake.journal(issue, T0 - timedelta(days=2), user=ADMIN, notes="_[portal:status:T8.1] портал, 31.10.2026_",
                 status=FEEDBACK)
    assert acts(fake, T0) == [("feedback-reminder", issue, "comment")]


def test_point2_the_client_speaking_last_is_never_reminded_nor_closed() -> None:
    """18.2, whatever the timeline: the client's public word after support's → support owes
    the answer; the tool's own reminder does not make support the last to speak."""
    fake = FakeRedmine(T0)
    issue = asked(fake, T0)
    run(fake, T0 + timedelta(days=5, hours=1))  # the reminder
    fake.journal(issue, T0 + timedelta(days=6), user=CLIENT, notes="Заказ 1234567")
    assert acts(fake, T0 + timedelta(days=30)) == [("client-reply-resume", issue, "set-status")]


def test_point3_a_new_question_after_the_reminder_restarts_the_sequence() -> None:
    """18.3 (З2.1/З2.2): support asks again after the reminder: no close 5 days after the old
    reminder; a new reminder 5 days after the new question; the close 5 days after that one."""
    fake = FakeRedmine(T0)
    issue = asked(fake, T0)
    assert run(fake, T0 + timedelta(days=5, hours=1)) == [("feedback-reminder", issue, "comment")]
    fake.journal(issue, T0 + timedelta(days=7), user=SUPPORT, notes="И ещё: под какой учётной записью?")
    assert acts(fake, T0 + timedelta(days=10, hours=2)) == []          # the old reminder is 5 days old
    assert acts(fake, T0 + timedelta(days=11, hours=23)) == []         # the new question is 4d23h old
    assert run(fake, T0 + timedelta(days=12, hours=1)) == [("feedback-reminder", issue, "comment")]
    assert acts(fake, T0 + timedelta(days=17)) == []
    assert run(fake, T0 + timedelta(days=17, hours=2)) == [("feedback-autoclose", issue, "close")]
    assert fake.issues[issue]["status"]["name"] == "Закрыто"


def test_point5_year_close_is_the_same_date_next_year_without_local_wait() -> None:
    """18.5 (З3 «через 1 год после его создания»): a calendar year, not 365 days; no `wait_days`."""
    fake = FakeRedmine(T0)
    created = datetime(2025, 11, 20, 12, 0, tzinfo=MSK)
    issue = fake.add_issue(created=created)
    fake.journal(issue, datetime(2026, 11, 19, 12, 0, tzinfo=MSK), user=SUPPORT, notes="Актуально?", status=FEEDBACK)
    assert acts(fake, datetime(2026, 11, 20, 11, 59, tzinfo=MSK)) == []  # 365 days passed, not a year
    assert acts(fake, datetime(2026, 11, 20, 12, 1, tzinfo=MSK)) == [("stale-year-close", issue, "close")]
    assert one_year_after(datetime(2024, 2, 29, 12, 0, tzinfo=MSK)) == datetime(2025, 3, 1, 12, 0, tzinfo=MSK)
    # the local choices are opt-in and still honoured
    local = policies_with(**{"stale-year-close": {"params": {"after_days": 400, "wait_days": 5}}})
    assert acts(fake, datetime(2026, 11, 20, 12, 1, tzinfo=MSK), local) == []


def test_point5_no_holidays_in_the_bundled_policies() -> None:
    """18.5 (ВР3 «ежедневно с 10:00 до 19:00»): no holiday in the bundled calendar."""
    assert POLICIES.settings.calendar.holidays == []
    assert POLICIES.settings.sla.target("analysis", "Блокер") is None


def test_point6_genitive_after_v_techenie_and_no_promise_without_the_close() -> None:
    """18.6: «в течение 1 дня / 3 дней / 21 дня»; with feedback-autoclose disabled the
    reminder promises no close."""
    assert [days_genitive_ru(n) for n in (1, 2, 3, 5, 11, 21, 22, 111)] == [
        "1 дня", "2 дней", "3 дней", "5 дней", "11 дней", "21 дня", "22 дней", "111 дней"]
    fake = FakeRedmine(T0)
    asked(fake, T0)
    fake.now = T0 + timedelta(days=5, hours=1)
    (reminder,) = plan_sweep(fake, POLICIES, fake.now, only=["feedback-reminder"], audit=AUDIT).actions
    assert "в течение 5 дней, обращение будет закрыто" in (reminder.notes or "")
    off = policies_with(**{"feedback-autoclose": {"enabled": False}})
    (quiet,) = plan_sweep(fake, off, fake.now, only=["feedback-reminder"], audit=AUDIT).actions
    assert "закрыт" not in (quiet.notes or "") and "{" not in (quiet.notes or "")
    assert "Если вопрос уже неактуален" in (quiet.notes or "")


def test_point6_go_live_cutover_asks_first_then_the_regulation_runs_from_it() -> None:
    """18.6: right after the move a ticket waiting since before it gets the go-live message (it
    lives here now; is it still relevant?) instead of «мы ждём от вас ответа уже 1006 дней»;
    then a reminder 5 days after that message, a close 5 days after the reminder."""
    moved = datetime(2026, 11, 1, 10, 0, tzinfo=MSK)
    policies = policies_with(**{"go-live-cutover": {"params": {"moved_at": moved.isoformat(), "after_days": 5}}})
    fake = FakeRedmine(T0)
    old = asked(fake, moved - timedelta(days=1006))
    checked = fake.add_issue(created=moved - timedelta(days=300))
    fake.journal(checked, moved - timedelta(days=200), user=SUPPORT, notes="Исправлено, проверьте", status=VERIFY)
    fresh = asked(fake, moved + timedelta(days=1))  # asked after the move: the regulation as usual
    after = moved + timedelta(hours=1)
    assert sorted(run(fake, after, policies)) == [("go-live-cutover", old, "comment"),
                                                  ("go-live-cutover", checked, "comment")]
    text = fake.issues[old]["journals"][-1]["notes"]
    assert "helpdesk.websky.tech" in text and "актуален" in text and "1006" not in text and "[" not in text
    assert acts(fake, after + timedelta(days=4, hours=23), policies) == []
    assert sorted(run(fake, after + timedelta(days=5, hours=1), policies)) == [
        ("feedback-reminder", old, "comment"), ("verification-autoclose", checked, "close")]
    reminder = fake.issues[old]["journals"][-1]["notes"]
    assert "уже 5 дней" in reminder
    assert acts(fake, after + timedelta(days=6, hours=2), policies) == [("feedback-reminder", fresh, "comment")]
    closes = acts(fake, after + timedelta(days=10, hours=2), policies)
    assert [(rule, action) for rule, issue, action in closes if issue == old] in (
        [("feedback-autoclose", "close")], [("stale-year-close", "close")])  # one close, 5 days after the reminder


def test_point7a_markers_travel_in_the_support_field_not_in_the_text() -> None:
    """18.7a: the comment a client reads has no marker; the marker is the support-only field's
    value in the same journal; `apply` and planning find it with the same function; an
    old-style marker line by the sweep's user still counts, a client's never."""
    fake = FakeRedmine(T0)
    issue = asked(fake, T0)
    assert run(fake, T0 + timedelta(days=5, hours=1)) == [("feedback-reminder", issue, "comment")]
    reminder = fake.issues[issue]["journals"][-1]
    assert "[" not in reminder["notes"] and reminder["user"]["id"] == ADMIN
    assert [(d["name"], d["new_value"]) for d in reminder["details"]] == [
        (str(MARKER), f"[helpdesk:feedback-reminder:{fake.issues[issue]['journals'][0]['id']}]")]
    assert acts(fake, T0 + timedelta(days=5, hours=2)) == []  # fire-once
    fake.now = T0 + timedelta(days=5, hours=1)
    again = plan_sweep(FakeRedmine(T0), POLICIES, fake.now, only=["feedback-reminder"], audit=AUDIT)
    assert again.actions == ()
    # the plan made before the reminder, applied again: the marker in the field means "done"
    stale_plan = plan_sweep(_replay(fake, issue), POLICIES, fake.now, only=["feedback-reminder"], audit=AUDIT)
    outcomes = apply_plan(fake, stale_plan, POLICIES)  # type: ignore[arg-type]
    assert [(o.outcome, o.reason) for o in outcomes] == [("skipped", "already done (marker present)")]
    # an already-migrated tracker: an old-style marker line by the sweep's user counts
    old = asked(fake, T0)
    question = fake.issues[old]["journals"][0]["id"]
    fake.journal(old, T0 + timedelta(days=5, hours=1), user=ADMIN,
                 notes=f"Напоминаем …\n\n[helpdesk:feedback-reminder:{question}]")
    assert ("feedback-reminder", old, "comment") not in acts(fake, T0 + timedelta(days=6))
    # the same field value written by a client is no marker (forgery): the reply resumes
    forged = asked(fake, T0)
    fake.journal(forged, T0 + timedelta(days=1), user=CLIENT, notes="Вот номер: 1234567",
                 fields={MARKER: f"[helpdesk:feedback-reminder:{fake.issues[forged]['journals'][0]['id']}]"})
    assert ("client-reply-resume", forged, "set-status") in acts(fake, T0 + timedelta(days=6))


def _replay(fake: FakeRedmine, issue: int) -> FakeRedmine:
    """A copy of `issue` as it was before the sweep's last journal (for a plan made earlier)."""
    import copy

    earlier = FakeRedmine(fake.now)
    earlier.issues[issue] = copy.deepcopy(fake.issues[issue])
    earlier.issues[issue]["journals"] = earlier.issues[issue]["journals"][:-1]
    earlier.issues[issue]["updated_on"] = fake.issues[issue]["updated_on"]
    return earlier


def test_point5_sweep_rules_marks_every_local_choice(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """18.5: the bundled file has no local choice; each one switched on is named as LOCAL."""
    import cli

    assert cli.main(["sweep", "rules", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["local"] == [] and all(r["local"] == [] for r in doc["rules"])
    text = YAML.replace("holidays: []", "holidays: [2027-01-01]").replace(
        "Блокер: null", "Блокер: {duration: PT4H, round_the_clock: true}").replace(
        "params: {after_days: null, wait_days: null}", "params: {after_days: 365, wait_days: 5}").replace(
        "stop_statuses: []", "stop_statuses: [Закрыто]")
    local = tmp_path / "local.yaml"
    local.write_text(text, encoding="utf-8")
    assert cli.main(["sweep", "rules", "--format", "json", "--policies", str(local)]) == 0
    doc = json.loads(capsys.readouterr().out)
    rules = {r["id"]: r["local"] for r in doc["rules"]}
    assert len(doc["local"]) == 2 and "ежедневно" in doc["local"][0] and "Блокер" in doc["local"][1]
    assert len(rules["stale-year-close"]) == 2 and len(rules["sla-analysis"]) == 1
    assert cli.main(["--lang", "en", "sweep", "rules", "--policies", str(local)]) == 0
    assert capsys.readouterr().out.count("LOCAL (not the regulation)") == 5
    assert cli.main(["sweep", "rules", "--policies", str(local)]) == 0
    assert capsys.readouterr().out.count("МЕСТНЫЙ ВЫБОР (не регламент)") == 5


def test_point7a_apply_writes_nothing_without_the_marker_field() -> None:
    """18.7a: fire-once depends on the field: without it (not provisioned) `apply` is a
    configuration error before any write; on an issue where it is not enabled, that action
    is an error and nothing is written there."""
    fake = FakeRedmine(T0)
    issue = asked(fake, T0)
    fake.now = T0 + timedelta(days=5, hours=1)
    plan = plan_sweep(fake, POLICIES, fake.now, only=["feedback-reminder"], audit=AUDIT)
    fake.issues[issue]["custom_fields"] = []  # the field is not enabled on this issue
    (outcome,) = apply_plan(fake, plan, POLICIES)  # type: ignore[arg-type]
    assert outcome.outcome == "error" and "helpdesk provision" in outcome.reason and fake.stats.writes == 0
    original = dict(CUSTOM_FIELDS)
    try:
        del CUSTOM_FIELDS[MARKER_FIELD]
        with pytest.raises(ConfigError, match="helpdesk provision"):
            apply_plan(fake, plan, POLICIES)  # type: ignore[arg-type]
    finally:
        CUSTOM_FIELDS.clear()
        CUSTOM_FIELDS.update(original)
    assert fake.stats.writes == 0
