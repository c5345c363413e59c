"""`helpdesk sla report` over the in-memory Redmine: compliance per priority, breaches, formats.

The CLI is driven end to end (`cli.main`) with the session's gateway swapped for the fake, so
the period filter, both clocks, the exit code and the three renderings are what a user gets.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import cli
from helpdesk_cli.support import Session
from tests.unit.test_sweep_fake import CLIENT, SUPPORT, FakeRedmine

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=MSK)
WORK, VERIFY, FEEDBACK = "В работе", "Решено, требует проверки", "Требует обратной связи"


def world() -> tuple[FakeRedmine, dict[str, int]]:
    """Five issues whose clocks are known by hand (deadlines in the comments)."""
    fake = FakeRedmine(NOW)
    ids: dict[str, int] = {}
    # Блокер: reaction 15 min round the clock; analysis: no number in the regulation, no clock
    t = datetime(2026, 11, 24, 3, 0, tzinfo=MSK)
    ids["blocker_ok"] = fake.add_issue(created=t, priority="Блокер")
    fake.journal(ids["blocker_ok"], t + timedelta(minutes=10), status=WORK)       # reaction met
    fake.journal(ids["blocker_ok"], t + timedelta(hours=2), status=VERIFY)
    ids["blocker_late"] = fake.add_issue(created=t, priority="Блокер")
    fake.journal(ids["blocker_late"], t + timedelta(minutes=30), status=WORK)     # due 03:15: breached
    fake.journal(ids["blocker_late"], t + timedelta(hours=6), status=VERIFY)
    # Высокий: 1 working hour to react, 1 working day (9 h) to analyse; still open on 25.11
    t = datetime(2026, 11, 20, 10, 0, tzinfo=MSK)
    ids["high_late"] = fake.add_issue(created=t, priority="Высокий")
    fake.journal(ids["high_late"], t + timedelta(minutes=30), status=WORK)        # reaction met
    # issue 18.4: analysed and answered in 2 hours, resolved 3 days later: analysis met
    ids["high_quick"] = fake.add_issue(created=t, priority="Высокий")
    fake.journal(ids["high_quick"], t + timedelta(minutes=20), status=WORK)       # reaction met
    fake.journal(ids["high_quick"], t + timedelta(hours=2), notes="Воспроизвели, исправим в релизе 25.11")
    fake.journal(ids["high_quick"], t + timedelta(days=3), notes="Исправлено, проверьте", status=VERIFY)
    # Средний: 3 working days to analyse, created yesterday: still running
    t = datetime(2026, 11, 24, 12, 0, tzinfo=MSK)
    ids["medium_running"] = fake.add_issue(created=t, priority="Средний", project="other")
    fake.journal(ids["medium_running"], t + timedelta(minutes=20), status=WORK)
    # outside the period: must not be counted
    ids["old"] = fake.add_issue(created=datetime(2026, 10, 1, 12, 0, tzinfo=MSK), priority="Блокер")
    return fake, ids


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeRedmine, dict[str, int]]:
    built = world()
    monkeypatch.setattr(Session, "gateway", lambda self, **_: built[0])
    return built


def report(capsys: pytest.CaptureFixture[str], *args: str, lang: str = "en") -> tuple[int, str]:
    code = cli.main(["--lang", lang, "sla", "report", "--from", "2026-11-01", "--to", "2026-11-30",
                     "--now", NOW.isoformat(), *args])
    return code, capsys.readouterr().out


def test_json_compliance_per_priority_and_breaches(fake: tuple[FakeRedmine, dict[str, int]],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _, ids = fake
    code, out = report(capsys, "--format", "json")
    assert code == 3  # breaches: attention
    doc = json.loads(out)
    tables = {s["title"]: s["table"] for s in doc["sections"] if s.get("table")}
    summary = {(r["rule"], r["priority"]): r for r in tables["Compliance per rule, priority and company"]["rows"]}
    assert {k: (r["met"], r["breached"], r["open"], r["compliance"]) for k, r in summary.items()} == {
        ("sla-reaction", "Блокер"): (1, 1, 0, "50.0"),
        ("sla-reaction", "Высокий"): (2, 0, 0, "100.0"),
        ("sla-reaction", "Средний"): (1, 0, 0, "100.0"),
        ("sla-analysis", "Высокий"): (1, 1, 0, "50.0"),
        ("sla-analysis", "Средний"): (0, 0, 1, None),
    }
    assert summary[("sla-analysis", "Средний")]["company"] == "other"
    breaches = {(r["issue"], r["rule"]): r for r in tables["Breached and at-risk clocks"]["rows"]}
    assert set(breaches) == {(ids["blocker_late"], "sla-reaction"), (ids["high_late"], "sla-analysis")}
    assert breaches[(ids["blocker_late"], "sla-reaction")]["deadline"] == "2026-11-24T03:15+03:00"
    # 1 сутки from the acceptance at 10:30 (issue 18 F2/F3), not from creation in working hours
    assert breaches[(ids["high_late"], "sla-analysis")]["deadline"] == "2026-11-21T10:30+03:00"
    metrics = {m["label"]: m["value"] for m in doc["summary"]}
    assert metrics["clocks"] == 8 and metrics["met"] == 5 and metrics["breached"] == 2
    assert metrics["compliance %"] == "71.4"
    assert all(r["issue"] != ids["old"] for r in tables["Breached and at-risk clocks"]["rows"])


def test_csv_is_the_compliance_table(fake: tuple[FakeRedmine, dict[str, int]],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out = report(capsys, "--format", "csv")
    assert code == 3
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["Rule", "Priority", "Company", "Issues", "Met", "Breached", "Running",
                             "At risk", "Compliance %"]
    code, russian = report(capsys, "--format", "csv", lang="ru")
    assert code == 3
    assert russian.splitlines()[0] == ("Правило,Приоритет,Компания,Задачи,Соблюдено,Нарушено,Идёт,"
                                       'Под угрозой,"Соблюдение, %"')
    assert russian.splitlines()[1:] == out.splitlines()[1:]  # the data itself does not change
    by_key = {(r["Rule"], r["Priority"]): r for r in rows}
    assert by_key[("sla-reaction", "Блокер")]["Compliance %"] == "50.0"
    assert by_key[("sla-analysis", "Высокий")]["Breached"] == "1"
    assert by_key[("sla-analysis", "Средний")]["Compliance %"] == ""
    assert sum(int(r["Issues"]) for r in rows) == 8


def test_html_page_carries_the_numbers(fake: tuple[FakeRedmine, dict[str, int]], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    _, ids = fake
    page = tmp_path / "sla.html"
    code, out = report(capsys, "--html", str(page))
    assert code == 3 and str(page) in out
    html = page.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    for text in ("SLA report", "Compliance per priority", "50.0", "71.4", "2026-11-24T03:15+03:00",
                 str(ids["blocker_late"]), str(ids["high_late"]), "Блокер", "Высокий"):
        assert text in html, text


def test_no_breaches_is_exit_0(fake: tuple[FakeRedmine, dict[str, int]],
                               capsys: pytest.CaptureFixture[str]) -> None:
    redmine = fake[0]
    redmine.issues.clear()
    issue = redmine.add_issue(created=datetime(2026, 11, 25, 11, 0, tzinfo=MSK), priority="Низкий", author=CLIENT)
    redmine.journal(issue, datetime(2026, 11, 25, 11, 5, tzinfo=MSK), user=SUPPORT, status=WORK)
    code, out = report(capsys, "--format", "json")
    assert code == 0
    assert json.loads(out)["sections"][-1]["table"]["rows"] == []
