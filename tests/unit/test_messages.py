"""The reader's language: Russian by default, English on request, JSON unchanged."""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from admin.billing import BillingRules, Month, bill_report, compute_bill
from helpdesk_core.messages import ENGLISH, RUSSIAN, RUSSIAN_MESSAGES, language_from, messages_for
from helpdesk_core.report import Report, report_to_json
from migrator.live import Needed, need_error
from migrator.outcome import KINDS, VERBS, Finding, MigrationResult
from migrator.report import migration_report, verify_report
from migrator.verify import VerifyResult

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
RU = messages_for("ru")
SAME_IN_BOTH = {"SLA", "id"}


@pytest.mark.parametrize(("option", "environ", "expected"), [
    (None, {}, "ru"),
    (None, {"LANG": "C.UTF-8"}, "ru"),
    (None, {"LANG": "ru_RU.UTF-8"}, "ru"),
    (None, {"LANG": "en_US.UTF-8"}, "en"),
    (None, {"LANG": "ru_RU.UTF-8", "LC_ALL": "en_GB.UTF-8"}, "en"),
    (None, {"LANG": "en_US.UTF-8", "LC_MESSAGES": "ru_RU.UTF-8"}, "ru"),
    ("en", {"LANG": "ru_RU.UTF-8"}, "en"),
    ("ru", {"LANG": "en_US.UTF-8"}, "ru"),
])
def test_language_from_option_then_locale(option: str | None, environ: dict[str, str], expected: str) -> None:
    assert language_from(option, environ) == expected


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="de"):
        language_from("de", {})


def _labels(report: Report) -> Iterator[str]:
    yield report.title
    if report.subtitle:
        yield report.subtitle
    for metric in report.summary:
        yield metric.label
    for section in report.sections:
        yield section.title
        if section.description:
            yield section.description
        if section.table is not None:
            yield section.table.empty_text
            yield from (c.label for c in section.table.columns)
        if section.chart is not None:
            yield section.chart.title
            yield from (s.name for s in section.chart.series)


def _reports() -> Iterator[Report]:
    counts = {kind: dict.fromkeys(VERBS, 1) for kind in KINDS}
    finding = Finding(category="bad-record", file="tickets.jsonl", line=3, id="T1", field="subject", reason="x")
    for dry_run in (True, False):
        for rejects in (None, "e.rejects"):
            result = MigrationResult(dry_run=dry_run, export="e", ledger="l", counts=counts, findings=[finding],
                                     finding_counts={"bad-record": 5}, unmapped={"priority": {"Срочно": 2}},
                                     rejects=rejects)
            yield migration_report(result, NOW)
    yield verify_report(VerifyResult(tickets=1, differences=[]), NOW)
    yield bill_report(compute_bill(Month(2026, 3), [], {}, BillingRules()), NOW)


def test_every_label_of_the_reports_has_russian() -> None:
    """A label added to a report builder without a translation fails here, not in front of a reader."""
    missing = sorted({label for report in _reports() for label in _labels(report)
                      if RU.text(label) == label and label not in SAME_IN_BOTH})
    assert missing == []


def test_localize_translates_labels_not_data_and_json_stays_english() -> None:
    report = bill_report(compute_bill(Month(2026, 3), [], {}, BillingRules()), NOW)
    before = report_to_json(report)
    russian = RU.localize(report)
    assert russian.title == "Консультации к оплате за 2026-03"
    assert russian.summary[0].label == "Часы к оплате"
    assert russian.subtitle == ("время по виду деятельности Консультация; время задачи за один день округляется "
                                "вверх до целого часа")
    assert RU.text(BillingRules(unit="entry").describe()) == (
        "время по виду деятельности Консультация; каждая запись трудозатрат округляется вверх до целого часа")
    both = BillingRules(trackers=["Обсуждение"], activities=["Консультация"], match="any", unit="issue")
    assert RU.text(both.describe()) == ("время по трекеру Обсуждение или виду деятельности Консультация; "
                                        "время задачи за месяц округляется вверх до целого часа")
    assert report_to_json(report) == before  # the report itself is not changed
    assert json.loads(before)["title"] == "Consultation billing 2026-03"
    assert ENGLISH.localize(report) == report


def test_unknown_text_is_data_and_comes_back_unchanged() -> None:
    for data in ("ООО «Ромашка»", "Smith and Sons", "tracker", "Ticket 7 of 9 and more"):
        assert RU.text(data) in (data, RUSSIAN.get(data))
    assert RU.text("Smith and Sons") == "Smith and Sons"  # connectors apply inside our own templates only


def test_a_whole_sentence_of_ours_wins_over_a_connector_inside_a_part() -> None:
    """Found by CI on a fresh Redmine: a finding "T7: ticket author … : unknown or held: …" was split at
    its "or" by the connector and came out half English."""
    name = "пользователь портала U99 (удалён или недействителен)"
    sentence = f"ticket author U99 ({name}): unknown or held: created by the stand-in"
    expected = f"автор обращения U99 ({name}): неизвестен или придержан — обращение создал заместитель"
    assert RU.text(sentence) == expected
    assert RU.text(f"T7: {sentence}") == f"T7: {expected}"


@pytest.mark.parametrize(("n", "ru", "en"), [(0, "0 строк", "0 rows"), (1, "1 строка", "1 row"),
                                             (2, "2 строки", "2 rows"), (5, "5 строк", "5 rows"),
                                             (11, "11 строк", "11 rows"), (21, "21 строка", "21 rows"),
                                             (104, "104 строки", "104 rows"), (112, "112 строк", "112 rows")])
def test_row_counts_use_the_language_plural(n: int, ru: str, en: str) -> None:
    assert RU.rows(n) == ru and ENGLISH.rows(n) == en


def test_catalogue_templates_keep_their_placeholders() -> None:
    """A Russian text must fill exactly the placeholders its English id has."""
    import string
    fields = lambda text: {f for _, f, _, _ in string.Formatter().parse(text) if f}  # noqa: E731
    assert [k for k, v in RUSSIAN.items() if fields(k) != fields(v)] == []


def test_codes_in_known_columns_read_in_russian_on_screen_but_not_in_json_or_csv() -> None:
    from helpdesk_core.csv_report import render_csv
    from helpdesk_core.report import Column, Table

    table = Table(columns=[Column(key="kind", label="object"), Column(key="category", label="category"),
                           Column(key="reason", label="reason")],
                  rows=[{"kind": "issue", "category": "bad-record", "reason": "issue"}])
    shown = RU.table(table)
    assert shown.rows == [{"kind": "задача", "category": "плохая запись", "reason": "issue"}]  # data stays
    assert table.rows[0]["kind"] == "issue"
    assert render_csv(table, RU).splitlines() == ["объект,категория,причина", "\"issue\",\"bad-record\",\"issue\""]


def test_a_missing_connection_is_said_in_russian() -> None:
    """Found by hand on the whole path: the first error a new administrator meets was English."""
    from helpdesk_core.config import ConfigError, load_connection

    for env, named in (({}, "не заданы REDMINE_URL и REDMINE_API_KEY"),
                       ({"REDMINE_URL": "http://x"}, "не задан REDMINE_API_KEY")):
        with pytest.raises(ConfigError) as raised:
            load_connection(None, env)
        assert RU.text(str(raised.value)).startswith(named)


def test_an_outcomes_done_reads_in_russian_but_a_one_word_datum_stays() -> None:
    """Found on the whole path by hand: `sweep run` showed «done» in the reason column."""
    from helpdesk_core.report import Column, Table

    table = Table(columns=[Column(key="reason", label="reason")], rows=[{"reason": "done"}, {"reason": "issue"}])
    assert [r["reason"] for r in RU.table(table).rows] == ["сделано", "issue"]


def test_the_notifications_refusal_reads_in_russian() -> None:
    """Found on the whole path by hand: `migrate run` on a tracker gone live refused in English."""
    from helpdesk_core.errors import ConfigError

    error = ConfigError("Redmine's email notifications are on: every client would be emailed. Run "
                        "`helpdesk provision --ruby --notifications off` on the Redmine host, or pass "
                        "--allow-notifications", key="notifications")
    assert RU.text(str(error)).startswith("ключ «notifications»: в Redmine включены почтовые уведомления")


def test_pydantics_own_words_for_a_wrong_key_read_in_russian() -> None:
    """Found by hand: a mistyped key in mappings.yaml said «Extra inputs are not permitted»."""
    assert RU.text("/tmp/m.yaml:97, key 'settings.colour': Extra inputs are not permitted") == (
        "/tmp/m.yaml:97, ключ «settings.colour»: такого ключа нет (лишний ключ: опечатка?)")
    assert RU.text("key 'redmine.url': Field required") == "ключ «redmine.url»: обязательный ключ не задан"


@pytest.mark.parametrize("what", typing.get_args(Needed))
def test_what_a_migration_needs_from_redmine_is_said_in_russian(what: str) -> None:
    """migrator/live.py's refusal (a tracker, a custom field… provisioning never created), every kind."""
    error = need_error(what, ["Первое", "Второе"])  # type: ignore[arg-type]
    ru = RUSSIAN_MESSAGES.text(str(error))
    assert ru.startswith("в Redmine не хватает ") and ru.endswith(
        ": Первое, Второе — сначала выполните `helpdesk provision` (см. `helpdesk doctor`)"), ru
    assert not re.search(r"[A-Za-z]", re.sub(r"`[^`]*`|Redmine", "", ru)), ru
    assert ENGLISH.text(str(error)) == str(error) and str(error).startswith(f"Redmine has no {what} Первое, Второе")


def test_the_client_role_and_no_companies_refusals_read_in_russian() -> None:
    from admin.companies import load_directory
    from helpdesk_core.errors import ConfigError

    role = ConfigError("Redmine has no role 'Клиент' (run helpdesk provision)", key="roles.client.name")
    assert (RUSSIAN_MESSAGES.text(str(role))
            == "ключ «roles.client.name»: в Redmine нет роли «Клиент» (выполните helpdesk provision)")
    with pytest.raises(ConfigError) as raised:
        load_directory(None, None, [])
    assert RUSSIAN_MESSAGES.text(str(raised.value)) == (
        "ключ «--companies»: нет компаний: в Redmine нет проекта с ID компании портала (выполните миграцию), "
        "и не указаны ни --companies ФАЙЛ, ни --export КАТАЛОГ")
