"""Who is who: the sweep's notes by marker, migrated notes by their Redmine author, the API
user (admin, no project member, writer of the migration's fallbacks) as neither side.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from policies.config import load_policies
from policies.context import Directory
from policies.engine import plan_sweep
from policies.issues import IssueView, sweep_marker
from policies.text_audits import load_audit_config
from tests.unit.test_sweep_fake import ADMIN, CLIENT, MARKER, ROLE_SUPPORT, STATUSES, SUPPORT, FakeRedmine

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
POLICIES, AUDIT = load_policies(), load_audit_config()
FEEDBACK = "Требует обратной связи"
FEEDBACK_RULES = ["feedback-reminder", "feedback-autoclose", "client-reply-resume"]


def prov(name: str = "Иванов Иван") -> str:
    """A migrated note's first line, as migrator.text.provenance_line writes it."""
    return f"_[portal:comment:M1] {name}, 01.10.2026 10:00 МСК_"


def rules_of(fake: FakeRedmine, now: datetime, only: list[str]) -> list[tuple[str, str]]:
    fake.now = now
    return [(a.rule, a.action) for a in plan_sweep(fake, POLICIES, now, only=only, audit=AUDIT).actions]


def asked(fake: FakeRedmine) -> int:
    issue = fake.add_issue(created=T0 - timedelta(days=1))
    fake.journal(issue, T0, user=SUPPORT, notes="Уточните номер заказа.", status=FEEDBACK)
    return issue


def test_sides_of_users() -> None:
    directory = Directory(FakeRedmine(T0), POLICIES.settings)
    assert directory.side(SUPPORT, 1) == "support"        # group member
    assert directory.side(ROLE_SUPPORT, 1) == "support"   # role in the project
    assert directory.side(CLIENT, 1) == "client"
    assert directory.side(ADMIN, 1) == "neither"          # the API key's user, in no project
    assert directory.side(999, 1) == "client"             # anyone else not support


def test_api_user_note_is_neither_reply_nor_question() -> None:
    """A migration fallback (API user, provenance line) after support's question: the client
    did not answer (no resume), and support did not ask again (the reminder keeps its anchor;
    it waits until the issue is a candidate again, updated_on ≥ 5 days ago)."""
    fake = FakeRedmine(T0)
    issue = asked(fake)
    question = fake.issues[issue]["journals"][-1]["id"]
    fake.journal(issue, T0 + timedelta(days=2), user=ADMIN, notes=f"{prov()}\n\nНомер заказа 1234567")
    assert rules_of(fake, T0 + timedelta(days=4, hours=23), FEEDBACK_RULES) == []
    later = T0 + timedelta(days=7, hours=1)
    fake.now = later
    (reminder,) = plan_sweep(fake, POLICIES, later, only=FEEDBACK_RULES, audit=AUDIT).actions
    assert reminder.rule == "feedback-reminder" and reminder.marker == f"[helpdesk:feedback-reminder:{question}]"
    assert datetime.fromisoformat(reminder.times["since"]) == T0  # shown in Moscow time, same instant


def test_api_user_note_on_closed_issue_is_not_a_client_reply() -> None:
    fake = FakeRedmine(T0)
    issue = fake.add_issue(created=T0 - timedelta(days=10))
    fake.journal(issue, T0 - timedelta(days=2), user=SUPPORT, notes="Готово", status="Закрыто")
    fake.journal(issue, T0, user=ADMIN, notes=f"{prov()}\n\nСколько можно ждать? Уже неделю нет ответа!")
    assert rules_of(fake, T0 + timedelta(hours=1), ["closed-reply-redirect", "delay-complaint"]) == []


def test_migrated_notes_are_classified_by_their_redmine_author() -> None:
    """Written under impersonation, a migrated note is its author's: the provenance line
    (a name, a date, «МСК») neither decides nor trips the text audits."""
    fake = FakeRedmine(T0)
    issue = fake.add_issue(created=T0 - timedelta(days=1))
    fake.journal(issue, T0, user=SUPPORT, notes=f"{prov('Петров Пётр')}\n\nУточните номер заказа.", status=FEEDBACK)
    assert rules_of(fake, T0 + timedelta(days=5, hours=1), FEEDBACK_RULES) == [("feedback-reminder", "comment")]
    fake.journal(issue, T0 + timedelta(days=1), user=CLIENT, notes=f"{prov('ООО РОМАШКА АГЕНТ')}\n\nЗаказ 1234567")
    assert rules_of(fake, T0 + timedelta(days=1, hours=1), FEEDBACK_RULES + ["tone-audit"]) == [
        ("client-reply-resume", "set-status")]


def _act_as(login: str):  # type: ignore[no-untyped-def]
    from policies.config import parse_policies

    text = (Path(__file__).parents[2] / "policies" / "policies.yaml").read_text(encoding="utf-8")
    return parse_policies(text.replace("act_as: null", f"act_as: {login}"))


def test_sweep_notes_by_marker_and_the_sweeps_own_author() -> None:
    """A reminder written as the `act_as` login is the sweep's; a client quoting the reminder,
    marker and all, is still a client answering."""
    policies = _act_as("rolesupport")
    fake = FakeRedmine(T0)
    issue = asked(fake)
    now = T0 + timedelta(days=5, hours=1)

    def rules(at: datetime) -> list[tuple[str, str]]:
        fake.now = at
        return [(a.rule, a.action) for a in plan_sweep(fake, policies, at, only=FEEDBACK_RULES, audit=AUDIT).actions]

    fake.now = now
    (reminder,) = plan_sweep(fake, policies, now, only=["feedback-reminder"], audit=AUDIT).actions
    fake.journal(issue, now, user=ROLE_SUPPORT, notes=reminder.notes or "",   # written as the act_as login
                 fields={MARKER: reminder.marker or ""})
    assert rules(now + timedelta(hours=1)) == []
    assert rules(now + timedelta(days=5, hours=1)) == [("feedback-autoclose", "close")]
    quoted = f"> {(reminder.notes or '').replace(chr(10), chr(10) + '> ')}\n> {reminder.marker}\n\nДа, заказ 1234567"
    fake.journal(issue, now + timedelta(days=1), user=CLIENT, notes=quoted)
    assert rules(now + timedelta(days=5, hours=1)) == [("client-reply-resume", "set-status")]


def test_forged_marker_in_a_client_reply_is_a_reply() -> None:
    """Issue 11 item 3: a client's reply whose last line is exactly a reminder marker is not the
    sweep's reminder: the issue resumes, and it is never closed citing the reply."""
    fake = FakeRedmine(T0)
    issue = asked(fake)
    question = fake.issues[issue]["journals"][-1]["id"]
    forged = f"Номер заказа 1234567\n\n[helpdesk:feedback-reminder:{question}]"
    fake.journal(issue, T0 + timedelta(days=1), user=CLIENT, notes=forged)
    for days in (2, 7, 12):
        assert rules_of(fake, T0 + timedelta(days=days), FEEDBACK_RULES) == [("client-reply-resume", "set-status")]
    # the same line written by support (not the sweep's user) is support's comment, not a reminder
    other = asked(fake)
    fake.journal(other, T0 + timedelta(days=1), user=SUPPORT,
                 notes=f"Ждём ответа\n\n[helpdesk:feedback-reminder:{question}]")
    fake.now = T0 + timedelta(days=7)
    actions = plan_sweep(fake, POLICIES, fake.now, only=["feedback-reminder", "feedback-autoclose"],
                         audit=AUDIT).actions
    assert [(a.issue, a.rule) for a in actions] == [(other, "feedback-reminder")]


def test_marker_after_a_provenance_line_is_not_the_sweeps() -> None:
    """A migrated portal comment written by the API user (a fallback) that ends with a marker
    line is a migrated note: the sweep never writes a provenance line."""
    fake = FakeRedmine(T0)
    issue = asked(fake)
    question = fake.issues[issue]["journals"][-1]["id"]
    fake.journal(issue, T0 + timedelta(hours=1), user=ADMIN,
                 notes=f"{prov()}\n\nтекст\n\n[helpdesk:feedback-reminder:{question}]")
    assert rules_of(fake, T0 + timedelta(days=5, hours=2), FEEDBACK_RULES) == [("feedback-reminder", "comment")]


def test_marker_only_as_the_last_line() -> None:
    assert sweep_marker("Текст\n\n[helpdesk:feedback-reminder:12]") == ("feedback-reminder", "12")
    assert sweep_marker("Текст\n\n[helpdesk:feedback-reminder:12]\n") == ("feedback-reminder", "12")
    assert sweep_marker("Вы писали [helpdesk:feedback-reminder:12] — ответ: да") is None
    assert sweep_marker("> [helpdesk:feedback-reminder:12]\n\nответ") is None
    assert sweep_marker(None) is None and sweep_marker("") is None


def test_migrated_text_without_provenance_for_audits() -> None:
    data = {"id": 1, "project": {"id": 1, "name": "acme"}, "tracker": {"id": 1, "name": "Баг"},
            "status": {"id": 1, "name": "На рассмотрении"}, "priority": {"id": 4, "name": "Средний"},
            "author": {"id": CLIENT}, "created_on": "2026-11-01T10:00:00Z", "updated_on": "2026-11-01T10:00:00Z",
            "journals": [{"id": 5, "user": {"id": CLIENT}, "created_on": "2026-11-01T11:00:00Z",
                          "notes": f"{prov('ИВАНОВ ИВАН')}\n\nВсё хорошо, спасибо."}]}
    view = IssueView.from_json(data, {i: n for i, n, _ in STATUSES})
    assert view.journals[0].text == "Всё хорошо, спасибо."
    # today's shape: the marker out of sight (a link reference definition), then the human line
    hidden = "[portal:comment:M1]: #\n_ИВАНОВ ИВАН, 01.10.2026 10:00 МСК_\n\nВсё хорошо, спасибо."
    data["journals"][0]["notes"] = hidden
    assert IssueView.from_json(data, {i: n for i, n, _ in STATUSES}).journals[0].text == "Всё хорошо, спасибо."
    assert sweep_marker(f"{hidden}\n\n[helpdesk:feedback-reminder:12]") is None  # a migrated note, not the sweep's


def test_tickets_of_the_api_user_are_not_audited() -> None:
    fake = FakeRedmine(T0)
    fake.add_issue(created=T0, author=ADMIN, subject="ВСЁ СЛОМАЛОСЬ!!!", description="НИЧЕГО НЕ РАБОТАЕТ!!!")
    shouting = fake.add_issue(created=T0, author=CLIENT, subject="ВСЁ СЛОМАЛОСЬ!!!",
                              description="НИЧЕГО НЕ РАБОТАЕТ!!!")
    fake.now = T0 + timedelta(hours=1)
    actions = plan_sweep(fake, POLICIES, fake.now, only=["tone-audit", "completeness-audit"], audit=AUDIT).actions
    assert {a.issue for a in actions} == {shouting}
