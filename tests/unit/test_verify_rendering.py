"""`migrate verify` read by a person: one sentence per difference (no Python repr, no bare field
codes, no user ids), in Russian by default, with the issue linked to Redmine, and the attachment
limit it judged by named with where it came from."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from helpdesk_core.html_report import render_html
from helpdesk_core.mappings import load_mappings
from helpdesk_core.messages import messages_for
from migrator.ledger import Ledger
from migrator.report import describe, verify_report
from migrator.verify import AttachmentLimit, Difference, FileRef, UserRef, VerifyResult, attachment_limit

RU = messages_for("ru")
EN = messages_for("en")
USERS = {12: UserRef(login="ivanov", name="Иван Иванов"), 1: UserRef(login="admin", name="Redmine Admin")}


def said(field: str, expected: str, actual: str, m: object = RU, **files: list[FileRef]) -> str:
    return describe(Difference(ticket="T1", issue=5, field=field, expected=expected, actual=actual, **files),
                    m, USERS)  # type: ignore[arg-type]


def test_each_difference_is_one_russian_sentence() -> None:
    assert said("attachments (name, sha256)", "[('server.log', '9123abc')]", "[]",
                missing=[FileRef(name="server.log", size=9123)]) == "вложения: нет в Redmine: server.log (8,9 КБ)"
    assert said("status", "В работе", "Закрыто") == "статус в Redmine — «Закрыто», а по выгрузке — «В работе»"
    assert said("journals", "3", "2") == "в Redmine 2 из 3 комментариев выгрузки"
    assert said("exists once", "1", "0") == "обращение должно быть одной задачей в Redmine; найдено: 0"
    assert said("project", "one project carrying company id C9", "0") == (
        "проектов с ID компании C9: 0, а должен быть один")
    assert said("time entries", "['E1', 'E2']", "['E2']") == (
        "трудозатраты: нет в Redmine — E1; есть в Redmine, но нет в выгрузке — —")
    assert said("comment M36 copies", "1", "2") == "комментарий M36 есть в Redmine несколько раз: 2"
    assert said("status S4 copies", "1", "2") == "заметка [portal:status:S4] есть в Redmine несколько раз: 2"


def test_people_by_login_and_name_not_by_id() -> None:
    assert said("comment M36 author", "12", "1") == (
        "автор комментария M36 в Redmine — admin (Redmine Admin), а должен быть ivanov (Иван Иванов)")
    assert said("author", "12", "1", EN) == (
        "the issue's author is admin (Redmine Admin) in Redmine, should be ivanov (Иван Иванов)")
    assert said("author", "99", "1") == "автор задачи в Redmine — admin (Redmine Admin), а должен быть #99"


def test_files_by_name_and_size_never_a_repr() -> None:
    text = said("attachments (name, sha256)", "[('a.pdf', 'x')]", "[('b.pdf', 'y')]", EN,
                missing=[FileRef(name="a.pdf", size=1)], extra=[FileRef(name="b.pdf", size=3 * 1024 * 1024)])
    assert text == "attachments missing in Redmine: a.pdf (1 byte); in Redmine but not in the export: b.pdf (3 MB)"
    assert "[(" not in text
    assert RU.file_size(2) == "2 байта" and RU.file_size(5) == "5 байт" and RU.file_size(1536) == "1,5 КБ"


def test_the_issue_is_a_link_to_redmine_and_the_limit_is_named() -> None:
    result = VerifyResult(tickets=1, differences=[Difference(ticket="T1", issue=5, field="journals", expected="3",
                                                             actual="2")],
                          attachment_limit=AttachmentLimit(kb=64, source="run",
                                                           recorded_at="2026-12-04T22:10:00+00:00"))
    page = render_html(verify_report(result, datetime(2026, 1, 1, tzinfo=UTC), "http://redmine.example", RU), RU)
    assert '<a href="http://redmine.example/issues/5"' in page
    assert "в Redmine 2 из 3 комментариев выгрузки" in page
    assert "вложения до 64 КБ, как в запуске 05.12.2026 01:10 МСК (журнал миграции)" in page
    rows = verify_report(result, datetime(2026, 1, 1, tzinfo=UTC), "http://redmine.example", RU).sections[0].table
    assert rows is not None and rows.rows[0]["url"] == "http://redmine.example/issues/5"  # the address on a terminal


def test_the_limit_comes_from_the_option_then_the_run_then_mappings(tmp_path: Path) -> None:
    mappings = load_mappings(None)
    ledger = Ledger(tmp_path / "l.sqlite")
    assert attachment_limit(None, ledger, mappings).source == "mappings"
    ledger.record_run_settings({"attachment_limit_kb": "64"}, "2026-12-04T22:10:00+00:00")
    assert attachment_limit(None, ledger, mappings) == AttachmentLimit(kb=64, source="run",
                                                                      recorded_at="2026-12-04T22:10:00+00:00")
    assert attachment_limit(128, ledger, mappings) == AttachmentLimit(kb=128, source="option")
    ledger.close()


def test_a_narrow_terminal_shows_the_issue_address_once() -> None:
    import io

    from rich.console import Console

    from helpdesk_cli.terminal import render_terminal

    result = VerifyResult(tickets=1, differences=[Difference(
        ticket="T1", issue=5, field="attachments (name, sha256)", expected="[('server.log', 'x')]", actual="[]",
        missing=[FileRef(name="server.log", size=306233)])])
    out = io.StringIO()
    render_terminal(verify_report(result, datetime(2026, 1, 1, tzinfo=UTC), "https://support.example/redmine", RU),
                    Console(file=out, width=50, color_system=None), RU)
    text = out.getvalue()
    assert text.count("https://support.example/redmine/issues/5") == 1
    assert "server.log (299,1 КБ)" in " ".join(text.split())
