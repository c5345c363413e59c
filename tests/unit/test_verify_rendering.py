"""`migrate verify` read by a person: one sentence per difference (no Python repr, no bare field
codes), in Russian by default, with the issue linked to Redmine."""

from __future__ import annotations

from datetime import UTC, datetime

from helpdesk_core.html_report import render_html
from helpdesk_core.messages import messages_for
from migrator.report import describe, verify_report
from migrator.verify import Difference, VerifyResult

RU = messages_for("ru")


def said(field: str, expected: str, actual: str) -> str:
    return RU.text(describe(Difference(ticket="T1", issue=5, field=field, expected=expected, actual=actual)),
                   nested=True)


def test_each_difference_is_one_russian_sentence() -> None:
    assert said("attachments (name, sha256)", "[('server.log', '9123abc')]", "[]") == (
        "вложения: нет в Redmine: server.log")
    assert said("status", "В работе", "Закрыто") == "статус в Redmine — «Закрыто», а по выгрузке — «В работе»"
    assert said("journals", "3", "2") == "в Redmine 2 из 3 комментариев выгрузки"
    assert said("exists once", "1", "0") == "обращение должно быть одной задачей в Redmine; найдено: 0"
    assert said("project", "one project carrying company id C9", "0") == (
        "проектов с ID компании C9: 0, а должен быть один")
    assert "[(" not in said("attachments (name, sha256)", "[('a.pdf', 'x')]", "[('b.pdf', 'y')]")


def test_the_issue_is_a_link_to_redmine() -> None:
    result = VerifyResult(tickets=1, differences=[Difference(ticket="T1", issue=5, field="journals", expected="3",
                                                             actual="2")])
    page = render_html(verify_report(result, datetime(2026, 1, 1, tzinfo=UTC), "http://redmine.example"), RU)
    assert '<a href="http://redmine.example/issues/5"' in page
    assert "в Redmine 2 из 3 комментариев выгрузки" in page
