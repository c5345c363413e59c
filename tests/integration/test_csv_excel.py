"""CSV that a Russian Excel opens as columns, and no formula whatever separator a reader uses
(issue 19.8, 20.10), on the consultation bill of the real local Redmine."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest

from cli import main
from tests.conftest import LocalRedmine
from tests.integration.test_billing import MONTH, Billed, _id_by_name, make_billing_world

pytestmark = pytest.mark.redmine
FORMULA = re.compile(r"^\s*[=+\-@]")
SUBJECT = "x;=1+1;"


@pytest.fixture
def billed(redmine: LocalRedmine, unique: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Billed]:
    monkeypatch.setenv("REDMINE_URL", redmine.url)
    monkeypatch.setenv("REDMINE_API_KEY", redmine.api_key)
    for world in make_billing_world(redmine, unique):
        gateway = world.gateway
        discussion = _id_by_name(gateway.get("/trackers.json")["trackers"], "Обсуждение")
        activity = _id_by_name(gateway.get("/enumerations/time_entry_activities.json")["time_entry_activities"],
                               "Консультация")
        hostile = gateway.post("/issues.json", {"issue": {
            "project_id": world.project["id"], "tracker_id": discussion, "subject": SUBJECT}})["issue"]
        gateway.post("/time_entries.json", {"time_entry": {
            "issue_id": hostile["id"], "hours": "1.5", "spent_on": f"{MONTH}-05", "activity_id": activity}})
        yield world


def _csv(billed: Billed, capsys: pytest.CaptureFixture[str], table: str, *options: str) -> str:
    capsys.readouterr()
    code = main([*options, "report", "consultations", "--month", MONTH, "--project", billed.project["identifier"],
                 "--format", "csv", "--table", table])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


@pytest.mark.parametrize("options", [(), ("--csv-dialect", "excel-ru")], ids=["rfc4180", "excel-ru"])
def test_no_cell_starts_a_formula_whatever_the_readers_separator(billed: Billed, capsys: pytest.CaptureFixture[str],
                                                                  options: tuple[str, ...]) -> None:
    out = _csv(billed, capsys, "issues", *options)
    assert SUBJECT.replace("=", "'=") in out
    for separator in (",", ";", "\t"):  # how any spreadsheet might split the same bytes
        for line in out.lstrip("\ufeff").splitlines():
            for cell in csv.reader(io.StringIO(line), delimiter=separator):
                starts = [c for c in cell if FORMULA.match(c) and not re.fullmatch(r"-?\d+([.,]\d+)?", c.strip())]
                assert starts == [], (separator, line)
            for naive in re.split(r"[,;\t]", line):  # and a reader that ignores quotes altogether
                bare = naive.strip().strip('"')
                assert not FORMULA.match(bare) or re.fullmatch(r"-?\d+([.,]\d+)?", bare), (naive, line)


def test_excel_ru_has_bom_semicolons_decimal_commas_and_dates(billed: Billed,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = _csv(billed, capsys, "consultations", "--lang", "en", "--csv-dialect", "excel-ru")
    assert out.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff")), delimiter=";"))
    assert sorted(r["Date"] for r in rows) == ["03.03.2025", "05.03.2025", "14.03.2025", "31.03.2025"]
    by_day = {r["Date"]: r for r in rows}
    assert (by_day["31.03.2025"]["Logged h"], by_day["31.03.2025"]["Billable h"]) == ("2,20", "3")
    assert by_day["05.03.2025"]["Logged h"] == "1,50"
    assert ";2,20;3\r\n" in out  # numbers bare (a number cell in Excel), not quoted text
    plain = _csv(billed, capsys, "consultations", "--lang", "en", "--csv-dialect", "rfc4180")
    assert not plain.startswith("\ufeff")
    assert {r["Date"]: r["Logged h"] for r in csv.DictReader(io.StringIO(plain))}["2025-03-31"] == "2.20"


def test_an_unknown_dialect_is_a_usage_error(billed: Billed, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--csv-dialect", "excel-fr", "report", "consultations", "--month", MONTH, "--format", "csv",
                 "--project", billed.project["identifier"]])
    assert code == 2
