"""Consultation billing without a server: rounding, selection, sums, report shape."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from admin.billing import (
    BillingRules,
    IssueInfo,
    Month,
    TimeEntry,
    bill_report,
    billable_hours,
    compute_bill,
    read_issues,
    report_table,
    to_decimal,
)
from helpdesk_core.csv_report import render_csv
from helpdesk_core.errors import ConfigError
from helpdesk_core.messages import ENGLISH, messages_for
from helpdesk_core.report import report_to_json

MARCH = Month(2026, 3)
NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("hours", "billable"), [
    ("0.25", 1), ("1.0", 1), ("2.2", 3), ("1", 1), ("0.01", 1), ("3.0000", 3), ("0", 0), ("7.5", 8),
])
def test_each_consultation_is_rounded_up_to_a_whole_hour(hours: str, billable: int) -> None:
    assert billable_hours(Decimal(hours)) == Decimal(billable)


@given(st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False))
def test_rounding_is_the_smallest_whole_hour_not_below(hours: Decimal) -> None:
    result = billable_hours(hours)
    assert result == result.to_integral_value()
    assert result >= hours > result - 1 or result == hours == 0


def test_negative_hours_refused() -> None:
    with pytest.raises(ValueError):
        billable_hours(Decimal("-1"))


def test_redmine_floats_become_the_decimals_they_were_printed_as() -> None:
    assert to_decimal(2.2) == Decimal("2.2")
    assert to_decimal(0.1) + to_decimal(0.2) == Decimal("0.3")
    assert to_decimal(1) == Decimal(1)
    with pytest.raises(ValueError):
        to_decimal(True)


def test_month_bounds_and_bad_month() -> None:
    assert (MARCH.first, MARCH.last) == (date(2026, 3, 1), date(2026, 3, 31))
    assert Month.parse("2024-02").last == date(2024, 2, 29)
    for text in ("2026-13", "2026-3", "March", "2026-03-01"):
        with pytest.raises(ConfigError):
            Month.parse(text)


def entry(id: int, hours: str, issue: int | None, project: int = 1, activity: str = "Консультация") -> TimeEntry:
    return TimeEntry.from_api({
        "id": id, "hours": float(hours), "spent_on": "2026-03-10", "activity": {"id": 9, "name": activity},
        "project": {"id": project, "name": {1: "Ромашка", 2: "Авиа Лайн"}[project]},
        "user": {"id": 3, "name": "Support"}, **({"issue": {"id": issue}} if issue else {})})


ISSUES = {
    100: IssueInfo(id=100, subject="Как настроить тарифы", tracker="Обсуждение"),
    101: IssueInfo(id=101, subject="Ошибка оплаты", tracker="Баг"),
    200: IssueInfo(id=200, subject="<img src=x onerror=alert(1)>", tracker="Обсуждение"),
}


def test_per_entry_bill_with_totals_per_company_and_issue() -> None:
    entries = [entry(1, "0.25", 100), entry(2, "1.0", 100), entry(3, "2.2", 200, project=2),
               entry(4, "5", 101, activity="Поддержка"), entry(5, "1.5", None, activity="Поддержка")]
    bill = compute_bill(MARCH, entries, ISSUES, BillingRules(unit="entry"))
    assert {c.entry_ids: c.billable for c in bill.consultations} == {(1,): 1, (2,): 1, (3,): 3}
    assert bill.billable == 5 and bill.logged == Decimal("3.45")
    companies = {c.company: (c.billable, c.logged, c.consultations) for c in bill.companies}
    assert companies == {"Ромашка": (2, Decimal("1.25"), 2), "Авиа Лайн": (3, Decimal("2.2"), 1)}
    issues = {i.issue_id: i.billable for i in bill.issues}
    assert issues == {100: 2, 200: 3}
    assert (bill.entries_seen, bill.entries_billed) == (5, 3)


def test_default_consultation_is_one_issue_on_one_day() -> None:
    """Two entries on one issue on one day are one consultation (0.25 + 0.5 → 1 h, not 2);
    another day is another consultation; time on no issue stays one entry each."""
    entries = [entry(1, "0.25", 100), entry(2, "0.5", 100), entry(5, "0.5", None),
               TimeEntry.from_api({"id": 3, "hours": 0.5, "spent_on": "2026-03-11",
                                   "activity": {"name": "Консультация"},
                                   "project": {"id": 1, "name": "Ромашка"}, "issue": {"id": 100}})]
    rules = BillingRules()
    assert rules.unit == "day"
    bill = compute_bill(MARCH, entries, ISSUES, rules)
    assert {c.entry_ids: c.billable for c in bill.consultations} == {(1, 2): 1, (3,): 1, (5,): 1}
    assert "on one day" in rules.describe()


def test_free_consultations_are_listed_not_billed() -> None:
    """«Консультации могут быть как платными, так и бесплатными»: an issue support marked free."""
    issues = {**ISSUES, 100: IssueInfo(id=100, subject="Как настроить тарифы", tracker="Обсуждение", free=True)}
    entries = [entry(1, "0.25", 100), entry(2, "1.0", 100), entry(3, "2.2", 200, project=2)]
    bill = compute_bill(MARCH, entries, issues, BillingRules())
    assert bill.billable == 3 and [c.issue_id for c in bill.consultations] == [200]
    assert [(c.issue_id, c.billable, c.logged) for c in bill.free] == [(100, 0, Decimal("1.25"))]
    assert [i.issue_id for i in bill.issues] == [200] and bill.entries_billed == 1
    report = bill_report(bill, NOW)
    assert report.sections[-1].title == "Free consultations"
    assert render_csv(report_table(report, "free"), ENGLISH).splitlines()[1].startswith("\"Ромашка\",\"#100\",")
    assert render_csv(report_table(bill_report(compute_bill(MARCH, entries, ISSUES, BillingRules()), NOW),
                                   "free"), ENGLISH).splitlines()[1:] == []


def test_free_flag_is_read_from_the_issue_field() -> None:
    class Gw:
        def iterate(self, path: str, key: str, params: dict[str, Any], **_: Any) -> list[dict[str, Any]]:
            return [{"id": 1, "subject": "a", "tracker": {"name": "Обсуждение"},
                     "custom_fields": [{"id": 9, "name": "Бесплатная консультация", "value": "1"}]},
                    {"id": 2, "subject": "b", "tracker": {"name": "Обсуждение"},
                     "custom_fields": [{"id": 9, "name": "Бесплатная консультация", "value": "0"}]}]

    found = read_issues(Gw(), [1, 2])  # type: ignore[arg-type]
    assert (found[1].free, found[2].free) == (True, False)
    assert read_issues(Gw(), [1, 2], free_field=None)[1].free is False  # type: ignore[arg-type]


def test_per_issue_unit_rounds_the_month_sum_once() -> None:
    entries = [entry(1, "0.25", 100), entry(2, "1.0", 100), entry(3, "2.2", 200, project=2)]
    bill = compute_bill(MARCH, entries, ISSUES, BillingRules(unit="issue"))
    assert {c.issue_id: c.billable for c in bill.consultations} == {100: 2, 200: 3}
    entries = [entry(1, "0.25", 100), entry(2, "0.5", 100)]
    assert compute_bill(MARCH, entries, ISSUES, BillingRules(unit="issue")).billable == 1
    assert compute_bill(MARCH, entries, ISSUES, BillingRules(unit="entry")).billable == 2


def test_activity_rule_any_and_all() -> None:
    entries = [entry(1, "0.5", 101), entry(2, "0.5", 100, activity="Поддержка"), entry(3, "0.5", None)]
    by_activity = BillingRules(trackers=(), activities=("Консультация",))
    assert [c.entry_ids for c in compute_bill(MARCH, entries, ISSUES, by_activity).consultations] == [(1,), (3,)]
    either = BillingRules(trackers=("Обсуждение",), activities=("Консультация",))
    assert compute_bill(MARCH, entries, ISSUES, either).entries_billed == 3
    both = BillingRules(trackers=("Обсуждение",), activities=("Консультация",), match="all")
    assert compute_bill(MARCH, entries, ISSUES, both).entries_billed == 0
    by_tracker = BillingRules(trackers=("Обсуждение",), activities=())  # the old default: any time on Обсуждение
    assert [c.entry_ids for c in compute_bill(MARCH, entries, ISSUES, by_tracker).consultations] == [(2,)]
    assert not BillingRules(trackers=(), activities=()).counts("Обсуждение", "Консультация")


def test_default_bills_consultation_time_on_any_tracker_and_not_support_time() -> None:
    """The regulation's paid consultation is consultation time, whatever the tracker: 6 minutes
    of support reading an «Обсуждение» question (activity «Поддержка») bill nothing; 1.5 h of
    consultation logged on a «Баг» bill 2 h; consultation on an issue marked free is listed only."""
    issues = {**ISSUES, 200: IssueInfo(id=200, subject="Бесплатно", tracker="Обсуждение", free=True)}
    entries = [entry(1, "0.1", 100, activity="Поддержка"), entry(2, "1.5", 101),
               entry(3, "0.5", 200, project=2), entry(4, "3", 101, activity="Поддержка"), entry(5, "0.2", None)]
    rules = BillingRules()
    assert (rules.trackers, rules.activities, rules.free_field) == ((), ("Консультация",), "Бесплатная консультация")
    bill = compute_bill(MARCH, entries, issues, rules)
    assert {c.entry_ids: (c.tracker, c.billable) for c in bill.consultations} == {(2,): ("Баг", 1 + 1),
                                                                                 (5,): (None, 1)}
    assert [(c.entry_ids, c.billable) for c in bill.free] == [((3,), 0)]
    assert bill.billable == 3 and (bill.entries_seen, bill.entries_billed) == (5, 2)
    assert rules.describe() == "time on activity Консультация; each issue's time on one day rounded up to a whole hour"
    # only issues whose time may be billed are read (support time's issues are not asked for)
    assert not rules.may_count("Поддержка") and rules.may_count("Консультация")
    assert BillingRules(trackers=("Обсуждение",), activities=()).may_count("Поддержка")


def test_issue_that_cannot_be_read_is_reported() -> None:
    """An issue that cannot be read is judged by activity alone, and named; support time on one is no concern."""
    bill = compute_bill(MARCH, [entry(1, "1", 999), entry(2, "1", 998, activity="Поддержка")], ISSUES, BillingRules())
    assert bill.issues_unknown == [999] and bill.billable == 1
    by_tracker = BillingRules(trackers=("Обсуждение",), activities=())
    bill = compute_bill(MARCH, [entry(1, "1", 999)], ISSUES, by_tracker)
    assert bill.issues_unknown == [999] and bill.billable == 0


def test_report_shape_json_and_csv() -> None:
    entries = [entry(1, "0.25", 100), entry(2, "1.0", 100), entry(3, "2.2", 200, project=2)]
    report = bill_report(compute_bill(MARCH, entries, ISSUES, BillingRules(unit="entry")), NOW)
    data = json.loads(report_to_json(report))
    assert data["summary"][0] == {"label": "Billable hours", "value": "5", "tone": "ok"}
    assert [s["title"] for s in data["sections"]] == ["Per company", "Per issue", "Consultations"]
    chart = data["sections"][0]["chart"]
    assert chart["categories"] == ["Авиа Лайн", "Ромашка"] and chart["series"][0]["values"] == ["3", "2"]
    rows = data["sections"][2]["table"]["rows"]
    assert [(r["logged"], r["billable"]) for r in rows] == [("2.20", "3"), ("0.25", "1"), ("1.00", "1")]
    csv_text = render_csv(report_table(report, "companies"), ENGLISH)
    assert csv_text.splitlines()[0] == "Company,Issues,Consultations,Logged h,Billable h"
    assert "\"Ромашка\",1,2,1.25,2" in csv_text  # text quoted, numbers bare
    russian = render_csv(report_table(report, "companies"), messages_for("ru"))
    assert russian.splitlines()[0] == 'Компания,Задачи,Консультации,"Списано, ч","К оплате, ч"'
    with pytest.raises(ConfigError):
        report_table(report, "nope")


def test_empty_month_renders() -> None:
    report = bill_report(compute_bill(MARCH, [], {}, BillingRules()), NOW)
    assert report.sections[0].chart is None and report.summary[0].value == 0


class IssuesGateway:
    """Answers /issues.json for the ids asked, counting requests."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def iterate(self, path: str, key: str, params: dict[str, Any], **_: Any) -> list[dict[str, Any]]:
        assert path == "/issues.json" and params["status_id"] == "*"
        self.requests.append(params)
        return [{"id": int(i), "subject": f"s{i}", "tracker": {"id": 3, "name": "Обсуждение"}}
                for i in params["issue_id"].split(",")]


def test_issues_are_read_in_bulk_not_one_by_one() -> None:
    gateway = IssuesGateway()
    found = read_issues(gateway, list(range(1, 251)) + [5, 5])  # type: ignore[arg-type]
    assert len(found) == 250 and len(gateway.requests) == 3
    assert found[7].tracker == "Обсуждение"


def test_cli_bad_month_and_table_are_usage_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli import main

    monkeypatch.setenv("REDMINE_URL", "http://127.0.0.1:9")  # never reached: arguments fail first
    monkeypatch.setenv("REDMINE_API_KEY", "x" * 40)
    assert main(["report", "consultations", "--month", "2025-13"]) == 2
    assert main(["report", "consultations", "--month", "2025-03", "--format", "csv", "--table", "x"]) == 2
    assert main(["report", "consultations", "--month", "2025-03", "--unit", "week"]) == 2
