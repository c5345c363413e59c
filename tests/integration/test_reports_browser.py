"""The consultation report, written with `--html`, opened in a real headless chromium.

Checks that the key numbers are on the page, that a hostile issue subject is shown as text
and never runs, and that the page renders to a screenshot. Set
``HELPDESK_SCREENSHOT=/some/file.png`` to keep the screenshot for a look.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

import admin.commands
from admin.billing import Bill, BillingRules, IssueInfo, Month, TimeEntry, compute_bill
from cli import main
from tests.browser import dump_dom, screenshot
from tests.conftest import LocalRedmine
from tests.integration.test_billing import Billed, make_billing_world

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=\"document.title='PWNED'\">"
MONTH = Month(2025, 3)


class _Page(HTMLParser):
    """Title, tags and visible text of a dumped DOM."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.tags: list[str] = []
        self.text: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        self.text.append(data)


def open_page(path: Path) -> tuple[_Page, str]:
    dom = dump_dom(path)
    page = _Page()
    page.feed(dom)
    page.close()
    return page, dom


def offline_bill() -> Bill:
    """0.25 h, 1.0 h and 2.2 h of consultation, one with a hostile subject; 5 h of support's own
    work on a bug (activity «Поддержка»: never billed)."""
    def entry(id: int, hours: str, issue: int, project: int, name: str,
              activity: str = "Консультация") -> TimeEntry:
        return TimeEntry(id=id, hours=Decimal(hours), spent_on=date(2025, 3, 10), project_id=project,
                         project=name, issue_id=issue, activity=activity)

    entries = [entry(1, "0.25", 7, 1, "ООО «Ромашка»"), entry(2, "1.0", 7, 1, "ООО «Ромашка»"),
               entry(3, "2.2", 8, 2, "Авиа Лайн"), entry(4, "5", 9, 2, "Авиа Лайн", "Поддержка")]
    issues = {7: IssueInfo(id=7, subject=HOSTILE, tracker="Обсуждение"),
              8: IssueInfo(id=8, subject="Тарифы", tracker="Обсуждение"),
              9: IssueInfo(id=9, subject="Ошибка", tracker="Баг")}
    return compute_bill(MONTH, entries, issues, BillingRules(unit="entry"))  # one row per entry


@pytest.fixture
def offline_html(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The page `helpdesk report consultations --html` writes, over a bill made without Redmine."""
    monkeypatch.setenv("REDMINE_URL", "http://127.0.0.1:9")  # never contacted: bill_month is replaced
    monkeypatch.setenv("REDMINE_API_KEY", "x" * 40)
    monkeypatch.setattr(admin.commands, "bill_month", lambda *args, **kwargs: offline_bill())
    default_locale(monkeypatch)
    path = tmp_path / "консультации 2025-03.html"
    assert main(["report", "consultations", "--month", str(MONTH), "--html", str(path)]) == 0
    return path


def default_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine that says nothing about language (LANG=C.UTF-8, as on CI): the reports speak Russian."""
    for name in ("LC_ALL", "LC_MESSAGES", "HELPDESK_LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def assert_inert_and_shown(page: _Page, dom: str, title: str = "Консультации к оплате за 2025-03") -> None:
    assert "PWNED" not in page.title
    assert page.title.startswith(title)
    assert "img" not in page.tags
    assert escape(HOSTILE, quote=False) in dom or any(HOSTILE in t for t in page.text)


def test_offline_report_numbers_and_hostile_subject(offline_html: Path) -> None:
    page, dom = open_page(offline_html)
    assert_inert_and_shown(page, dom)
    text = " ".join(page.text)
    for label in ("Часы к оплате", "По компаниям", "По задачам", "Часы к оплате по компаниям",
                  "Компания", "К оплате, ч", "Сформирован"):
        assert label in text, label
    for english in ("Billable", "Per company", "Generated"):
        assert english not in text, english
    assert "строк" in text  # the row count, in the page's language
    for company in ("ООО «Ромашка»", "Авиа Лайн"):
        assert company in text
    for number in (">5<", ">3.45<", ">0.25<", ">1.00<", ">2.20<", ">3<", ">2<", ">1<"):
        assert number in dom, number
    assert "<svg" in dom  # the chart of billable hours per company


@pytest.mark.parametrize(("how", "env"), [(["--lang", "en"], {}), ([], {"LANG": "en_US.UTF-8"})])
def test_english_on_request(how: list[str], env: dict[str, str], tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDMINE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("REDMINE_API_KEY", "x" * 40)
    monkeypatch.setattr(admin.commands, "bill_month", lambda *args, **kwargs: offline_bill())
    default_locale(monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "bill.html"
    assert main([*how, "report", "consultations", "--month", str(MONTH), "--html", str(path)]) == 0
    page, dom = open_page(path)
    assert_inert_and_shown(page, dom, "Consultation billing 2025-03")
    text = " ".join(page.text)
    for label in ("Billable hours", "Per company", "Generated"):
        assert label in text, label
    assert "Часы к оплате" not in text


def test_screenshot_of_consultation_report(offline_html: Path, tmp_path: Path) -> None:
    shot = screenshot(offline_html, tmp_path / "consultations.png", size=(1280, 900))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 900)
    assert shot.stat().st_size > 20_000  # a blank or error page compresses to far less
    keep = os.environ.get("HELPDESK_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)


@pytest.fixture
def billed(redmine: LocalRedmine, unique: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Billed]:
    monkeypatch.setenv("REDMINE_URL", redmine.url)
    monkeypatch.setenv("REDMINE_API_KEY", redmine.api_key)
    default_locale(monkeypatch)
    yield from make_billing_world(redmine, unique)


@pytest.mark.redmine
def test_report_from_real_redmine_in_browser(billed: Billed, tmp_path: Path) -> None:
    path = tmp_path / "bill.html"
    assert main(["report", "consultations", "--month", str(MONTH), "--project",
                 billed.project["identifier"], "--html", str(path)]) == 0
    page, dom = open_page(path)
    assert_inert_and_shown(page, dom)
    assert billed.project["name"] in " ".join(page.text)
    for number in (">5<", ">3.45<", ">0.25<", ">1.00<", ">2.20<", ">3<", ">1<"):
        assert number in dom, number


@pytest.mark.redmine
@pytest.mark.parametrize("width", [1400, 420])
def test_bill_links_issues_in_moscow_time_with_the_amount_on_screen(billed: Billed, tmp_path: Path, width: int,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Issue numbers link to Redmine, the time is Moscow's to the minute, and «К оплате, ч» (what the
    bill decides) is on screen at a desk and on a phone; JSON carries each issue's address."""
    from tests.integration.test_html_phone import SHOTS, measured

    path = tmp_path / "bill.html"
    args = ["report", "consultations", "--month", str(MONTH), "--project", billed.project["identifier"],
            "--now", "2025-04-01T07:00:12.345678+00:00"]
    assert main([*args, "--html", str(path)]) == 0
    page = path.read_text(encoding="utf-8")
    issue = f"{billed.gateway.url.rstrip('/')}/issues/{billed.consultation['id']}"
    assert f'<a href="{issue}"' in page and f">#{billed.consultation['id']}</a>" in page
    assert "01.04.2025 10:00 МСК" in page and "345678" not in page
    shown = measured(page, tmp_path, width)
    assert shown["offscreen"] == [] and shown["cut"] == []
    assert shown["links"] >= 4  # the issue in «По задачам» and in each of its three consultations
    screenshot(path, SHOTS / f"test-consultations-{width}.png", size=(width, 1600))
    capsys.readouterr()
    assert main([*args, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    rows = [row for section in document["sections"] if section.get("table") for row in section["table"]["rows"]
            if row.get("issue") == f"#{billed.consultation['id']}"]
    assert rows and all(row["url"] == issue for row in rows)
