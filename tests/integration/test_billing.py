"""Consultation billing over real time entries in the local Redmine.

0.25 h, 1.0 h and 2.2 h of consultation on an «Обсуждение» issue bill as 1, 1 and 3 hours;
support's own time (activity «Поддержка») on that issue or on a «Баг» is not a consultation,
consultation time on a «Баг» is. `--project` keeps other tests' time out of the totals.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli import main
from helpdesk_core.errors import HelpdeskError
from helpdesk_core.gateway import Gateway
from tests.conftest import LocalRedmine

pytestmark = pytest.mark.redmine

MONTH = "2025-03"
HOSTILE = "<img src=x onerror=\"document.title='PWNED'\">"


@dataclass
class Billed:
    token: str
    gateway: Gateway
    project: dict[str, Any]
    consultation: dict[str, Any]
    bug: dict[str, Any]


def _id_by_name(items: list[dict[str, Any]], name: str) -> int:
    return next(int(i["id"]) for i in items if i["name"] == name)


def make_billing_world(redmine: LocalRedmine, unique: str) -> Iterator[Billed]:
    """A project with one «Обсуждение» issue (0.25, 1.0, 2.2 h of consultation, 0.1 h of support
    reading it) and one «Баг» issue (5 h of support)."""
    gateway = redmine.gateway()
    trackers = gateway.get("/trackers.json")["trackers"]
    discussion, bug = _id_by_name(trackers, "Обсуждение"), _id_by_name(trackers, "Баг")
    activities = gateway.get("/enumerations/time_entry_activities.json")["time_entry_activities"]
    activity, support = _id_by_name(activities, "Консультация"), _id_by_name(activities, "Поддержка")
    project = gateway.post("/projects.json", {"project": {
        "name": f"Биллинг {unique}", "identifier": f"hd-bill-{unique}", "tracker_ids": [discussion, bug],
        "enabled_module_names": ["issue_tracking", "time_tracking"]}})["project"]
    try:
        consultation = gateway.post("/issues.json", {"issue": {
            "project_id": project["id"], "tracker_id": discussion, "subject": f"{HOSTILE} {unique}"}})["issue"]
        bug_issue = gateway.post("/issues.json", {"issue": {
            "project_id": project["id"], "tracker_id": bug, "subject": f"Ошибка {unique}"}})["issue"]
        for hours, day in (("0.25", "03"), ("1.0", "14"), ("2.2", "31")):
            gateway.post("/time_entries.json", {"time_entry": {
                "issue_id": consultation["id"], "hours": hours, "spent_on": f"{MONTH}-{day}",
                "activity_id": activity}})
        gateway.post("/time_entries.json", {"time_entry": {  # support reading the question: 6 minutes
            "issue_id": consultation["id"], "hours": "0.1", "spent_on": f"{MONTH}-07", "activity_id": support}})
        gateway.post("/time_entries.json", {"time_entry": {
            "issue_id": bug_issue["id"], "hours": "5", "spent_on": f"{MONTH}-10", "activity_id": support}})
        gateway.post("/time_entries.json", {"time_entry": {  # next month: not in the bill
            "issue_id": consultation["id"], "hours": "4", "spent_on": "2025-04-01", "activity_id": activity}})
        yield Billed(unique, gateway, project, consultation, bug_issue)
    finally:
        with contextlib.suppress(HelpdeskError):  # best effort: a busy SQLite must not fail the test
            gateway.delete(f"/projects/{project['id']}.json")


@pytest.fixture
def billed(redmine: LocalRedmine, unique: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Billed]:
    monkeypatch.setenv("REDMINE_URL", redmine.url)
    monkeypatch.setenv("REDMINE_API_KEY", redmine.api_key)
    yield from make_billing_world(redmine, unique)


def _report(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["report", "consultations", "--month", MONTH, *args])
    return code, capsys.readouterr().out


def test_entries_of_025_10_22_hours_bill_1_1_3(billed: Billed, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _report(["--project", billed.project["identifier"], "--format", "json"], capsys)
    assert code == 0
    report = json.loads(out)
    summary = {m["label"]: m["value"] for m in report["summary"]}
    assert summary["Billable hours"] == "5"
    assert summary["Logged hours"] == "3.45"
    assert summary["Consultations"] == 3
    sections = {s["title"]: s["table"]["rows"] for s in report["sections"]}
    assert [r["billable"] for r in sections["Consultations"]] == ["1", "1", "3"]
    assert sections["Per company"] == [{"company": billed.project["name"], "issues": 1, "consultations": 3,
                                        "logged": "3.45", "billable": "5"}]
    [issue] = sections["Per issue"]
    assert (issue["issue"], issue["billable"], issue["tracker"]) == (
        f"#{billed.consultation['id']}", "5", "Обсуждение")


def test_unit_issue_and_activity_rule(billed: Billed, capsys: pytest.CaptureFixture[str]) -> None:
    project = ["--project", billed.project["identifier"], "--format", "json"]
    code, out = _report([*project, "--unit", "issue"], capsys)
    assert code == 0, out
    assert {m["label"]: m["value"] for m in json.loads(out)["summary"]}["Billable hours"] == "4"  # ⌈3.45⌉
    # the tracker rule, chosen: any time on «Обсуждение» (support's 0.1 h too, rounded to 1), none on the bug
    code, out = _report([*project, "--tracker", "Обсуждение"], capsys)
    assert code == 0, out
    assert {m["label"]: m["value"] for m in json.loads(out)["summary"]}["Billable hours"] == "6"
    code, out = _report([*project, "--tracker", "Обсуждение", "--activity", "Поддержка"], capsys)  # either
    assert code == 0, out
    assert {m["label"]: m["value"] for m in json.loads(out)["summary"]}["Billable hours"] == "11"
    code, out = _report([*project, "--tracker", "Обсуждение", "--activity", "Консультация", "--match", "all"], capsys)
    assert code == 0, out
    assert {m["label"]: m["value"] for m in json.loads(out)["summary"]}["Billable hours"] == "5"


def test_consultation_time_on_any_tracker_is_billed_support_time_never(
        billed: Billed, capsys: pytest.CaptureFixture[str]) -> None:
    """The default, from the regulation's words: consultation time is billed whatever the
    tracker (1.5 h of «Консультация» on the «Баг» → 2 h), support's own time never (the bug's 5 h
    and the 0.1 h on «Обсуждение» of the world stay out)."""
    activity = _id_by_name(billed.gateway.get("/enumerations/time_entry_activities.json")["time_entry_activities"],
                           "Консультация")
    billed.gateway.post("/time_entries.json", {"time_entry": {
        "issue_id": billed.bug["id"], "hours": "1.5", "spent_on": f"{MONTH}-11", "activity_id": activity}})
    code, out = _report(["--project", billed.project["identifier"], "--format", "json"], capsys)
    assert code == 0, out
    report = json.loads(out)
    summary = {m["label"]: m["value"] for m in report["summary"]}
    assert (summary["Billable hours"], summary["Logged hours"]) == ("7", "4.95")
    assert summary["Time entries billed"] == "4 of 6"
    issues = {r["issue"]: (r["tracker"], r["billable"]) for r in
              {s["title"]: s["table"]["rows"] for s in report["sections"]}["Per issue"]}
    assert issues == {f"#{billed.consultation['id']}": ("Обсуждение", "5"), f"#{billed.bug['id']}": ("Баг", "2")}
    assert "activity Консультация" in report["subtitle"]


def test_csv_and_unfiltered_report(billed: Billed, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = _report(["--project", billed.project["identifier"], "--format", "csv", "--table", "companies"],
                        capsys)
    assert code == 0
    assert out.splitlines()[1] == f"\"{billed.project['name']}\",1,3,3.45,5"  # text quoted, numbers bare
    # Without --project the company is still there, beside whatever else this Redmine holds.
    html = tmp_path / "bill.html"
    code, out = _report(["--format", "json", "--html", str(html)], capsys)
    assert code == 0, out
    rows = {r["company"]: r for r in json.loads(out)["sections"][0]["table"]["rows"]}
    assert rows[billed.project["name"]]["billable"] == "5"
    assert html.read_text(encoding="utf-8").count("PWNED") >= 1  # present, escaped (see browser test)



def test_one_issue_one_day_is_one_consultation_and_free_ones_are_not_billed(
        billed: Billed, capsys: pytest.CaptureFixture[str]) -> None:
    """Two entries on one day (0.5 + 0.25 h) are one consultation: 1 h, not 2. An «Обсуждение»
    issue support marked «Бесплатная консультация» is listed as free and bills nothing."""
    gateway = billed.gateway
    activity = _id_by_name(gateway.get("/enumerations/time_entry_activities.json")["time_entry_activities"],
                           "Консультация")
    free_field = _id_by_name(gateway.get("/custom_fields.json")["custom_fields"], "Бесплатная консультация")
    for hours in ("0.5", "0.25"):
        gateway.post("/time_entries.json", {"time_entry": {
            "issue_id": billed.consultation["id"], "hours": hours, "spent_on": f"{MONTH}-20",
            "activity_id": activity}})
    free = gateway.post("/issues.json", {"issue": {
        "project_id": billed.project["id"], "tracker_id": billed.consultation["tracker"]["id"],
        "subject": f"Бесплатно {billed.token}", "custom_fields": [{"id": free_field, "value": "1"}]}})["issue"]
    gateway.post("/time_entries.json", {"time_entry": {
        "issue_id": free["id"], "hours": "2", "spent_on": f"{MONTH}-20", "activity_id": activity}})
    code, out = _report(["--project", billed.project["identifier"], "--format", "json"], capsys)
    assert code == 0, out
    report = json.loads(out)
    summary = {m["label"]: m["value"] for m in report["summary"]}
    assert summary["Billable hours"] == "6"  # 1 + 1 + 3 as before, + 1 for the day of 0.75 h
    assert summary["Consultations"] == 4 and summary["Free consultations"] == 1
    sections = {s["title"]: s["table"]["rows"] for s in report["sections"]}
    assert [r["issue"] for r in sections["Free consultations"]] == [f"#{free['id']}"]
    assert all(r["issue"] != f"#{free['id']}" for r in sections["Per issue"])
    code, out = _report(["--project", billed.project["identifier"], "--format", "json", "--unit", "entry"], capsys)
    assert code == 0, out
    assert {m["label"]: m["value"] for m in json.loads(out)["summary"]}["Billable hours"] == "7"
