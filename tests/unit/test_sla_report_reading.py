"""`sla report` numbers people can trust: the terminal chart, the default period, severity order,
a reversed period refused, and a share of the budget far beyond reason said as such."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

import cli
from helpdesk_cli.support import Session
from tests.unit.test_sla_report import MSK, NOW, WORK, world
from tests.unit.test_sweep_fake import FakeRedmine


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeRedmine, dict[str, int]]:
    built = world()
    redmine, ids = built
    t = datetime(2026, 11, 23, 11, 0, tzinfo=MSK)
    ids["critical"] = redmine.add_issue(created=t, priority="Критический")
    redmine.journal(ids["critical"], t + timedelta(minutes=5), status=WORK)
    ids["low"] = redmine.add_issue(created=t, priority="Низкий")
    redmine.journal(ids["low"], t + timedelta(minutes=5), status=WORK)
    ids["forgotten"] = redmine.add_issue(created=datetime(2026, 11, 2, 3, 0, tzinfo=MSK), priority="Блокер")
    monkeypatch.setattr(Session, "gateway", lambda self, **_: redmine)
    return built


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["--lang", "en", "sla", "report", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_terminal_chart_shows_each_rule_never_their_sum(fake: object, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = run(capsys, "--from", "2026-11-01", "--to", "2026-11-30", "--now", NOW.isoformat())
    assert code == 3
    chart = out.split("Met / (met + breached), %")[1].split("Breached and at-risk clocks")[0]
    shares = [float(v) for v in re.findall(r"(\d+(?:\.\d+)?) %", chart)]
    assert shares and max(shares) <= 100
    lines = chart.splitlines()
    at = next(i for i, line in enumerate(lines) if "Блокер" in line)
    # Блокер: 1 of 3 reactions met; the regulation gives its analysis no number, so no analysis
    # clock runs: «—», never 0 % (and never the sum of the two rules)
    assert "sla-reaction" in lines[at] and lines[at].rstrip().endswith("33.3 %")
    assert "sla-analysis" in lines[at + 1] and lines[at + 1].rstrip().endswith("—")
    high = next(i for i, line in enumerate(lines) if "Высокий" in line)
    assert lines[high].rstrip().endswith("100.0 %") and lines[high + 1].rstrip().endswith("50.0 %")


def test_priorities_by_severity_and_the_default_period_is_the_last_full_month(
        fake: object, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--now", "2026-12-03T10:00+03:00", "--format", "json")
    assert code == 3
    doc = json.loads(out)
    assert doc["subtitle"].startswith("issues created 01.11.2026 — 30.11.2026")
    rows = doc["sections"][0]["table"]["rows"]
    order = list(dict.fromkeys(r["priority"] for r in rows if r["rule"] == "sla-reaction"))
    assert order == ["Блокер", "Критический", "Высокий", "Средний", "Низкий"]
    chart = doc["sections"][1]["chart"]
    assert chart["categories"] == ["Блокер", "Критический", "Высокий", "Средний", "Низкий"]
    issues = {r["issue"] for r in doc["sections"][2]["table"]["rows"]}
    assert fake[1]["old"] not in issues  # created in October: outside the default period


def test_a_reversed_period_is_a_usage_error(fake: object, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--from", "2026-11-30", "--to", "2026-11-01")
    assert code == 2 and out == ""
    assert "before it starts" in err


def test_a_share_far_beyond_the_budget_is_said_as_such(fake: object, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--from", "2026-11-01", "--to", "2026-11-30", "--now", NOW.isoformat(),
                       "--format", "json")
    assert code == 3
    rows = json.loads(out)["sections"][2]["table"]["rows"]
    forgotten = [r for r in rows if r["issue"] == fake[1]["forgotten"]]
    assert forgotten and all(r["used"] == "> 1000%" for r in forgotten)  # 23 days against 15 minutes
    assert all(r["used"] == "> 1000%" or int(r["used"].rstrip("%")) < 1000 for r in rows)


def test_the_default_month_leaves_migrated_issues_out_an_explicit_period_keeps_them(
        fake: tuple[FakeRedmine, dict[str, int]], capsys: pytest.CaptureFixture[str]) -> None:
    redmine, ids = fake
    redmine.issues[ids["blocker_late"]]["custom_fields"].append({"id": 1, "name": "ID в портале", "value": "T7"})
    code, out, _ = run(capsys, "--now", "2026-12-03T10:00+03:00", "--format", "json")
    doc = json.loads(out)
    assert doc["subtitle"].endswith("migrated issues left out: 1")
    assert ids["blocker_late"] not in {r["issue"] for r in doc["sections"][2]["table"]["rows"]}
    code, out, _ = run(capsys, "--now", "2026-12-03T10:00+03:00", "--format", "json", "--include-migrated")
    assert ids["blocker_late"] in {r["issue"] for r in json.loads(out)["sections"][2]["table"]["rows"]}
    code, out, _ = run(capsys, "--from", "2026-11-01", "--to", "2026-11-30", "--now", NOW.isoformat(),
                       "--format", "json")
    assert ids["blocker_late"] in {r["issue"] for r in json.loads(out)["sections"][2]["table"]["rows"]}
