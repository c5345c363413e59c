"""The HTML report in a real headless chromium: hostile ticket data stays inert, the page's
own script runs under its CSP and sorts/filters, and the page renders to a screenshot.

Set ``HELPDESK_SCREENSHOT=/some/file.png`` to keep the screenshot for a visual check.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest

from helpdesk_core.html_report import NNBSP, render_html
from helpdesk_core.messages import ENGLISH, messages_for
from helpdesk_core.report import Cell, Chart, Column, Metric, Report, Section, Series, Table
from tests.browser import dump_dom, screenshot

pytestmark = pytest.mark.browser

MSK = timezone(timedelta(hours=3))
TITLE = "Consultation billing — March 2025"
IMG_PWN = "<img src=x onerror=\"document.title='PWNED';document.body.setAttribute('data-pwned','img')\">"
SCRIPT_PWN = "<script>document.title='PWNED';document.body.setAttribute('data-pwned','script')</script>"
ATTR_PWN = "\"><svg onload=\"document.body.setAttribute('data-pwned','svg')\">"

COLUMNS = [
    Column(key="id", label="#", numeric=True),
    Column(key="subject", label=f"Subject {SCRIPT_PWN}"),
    Column(key="project", label="Project"),
    Column(key="hours", label="Hours", numeric=True),
    Column(key="amount", label="Amount, ₽", numeric=True),
]
ROWS: list[dict[str, Cell]] = [
    {
        "id": 1042,
        "subject": f"Не проходит оплата {SCRIPT_PWN}",
        "project": "WebSky",
        "hours": Decimal("12.50"),
        "amount": Decimal("18750.00"),
    },
    {"id": 977, "subject": IMG_PWN, "project": "Nemo Travel", "hours": Decimal("3.25"), "amount": "n/a"},
    {
        "id": 1100,
        "subject": "Ошибка выгрузки PNR",
        "project": "Аэроэкспресс",
        "hours": Decimal("7"),
        "amount": Decimal("10500.00"),
    },
    {"id": 15, "subject": ATTR_PWN, "project": None, "hours": None, "amount": Decimal("0")},
    {
        "id": 230,
        "subject": "Синхронизация расписаний",
        "project": "Nemo Travel 10",
        "hours": Decimal("1.75"),
        "amount": Decimal("-2625.00"),
    },
    {
        "id": 231,
        "subject": "Возврат билета",
        "project": "Nemo Travel 9",
        "hours": Decimal("3.25"),
        "amount": Decimal("4875.00"),
    },
]


def sample_report() -> Report:
    """A realistic billing report with hostile ticket subjects in every data position."""
    return Report(
        title=TITLE,
        subtitle="Nemo Travel / WebSky · billable consultations by project",
        generated_at=datetime(2025, 4, 1, 9, 30, tzinfo=MSK),
        summary=[
            Metric(label="Billable hours", value=Decimal("27.75"), tone="ok"),
            Metric(label="Amount, ₽", value=Decimal("31500.00")),
            Metric(label="SLA breaches", value=3, tone="bad"),
            Metric(label=f"Waiting > 3 days {IMG_PWN}", value=7, tone="warn"),
        ],
        sections=[
            Section(
                title="Hours by project",
                description="Hours billed per project, split by ticket status.",
                chart=Chart(
                    kind="stacked-bar",
                    title="Hours by project and status",
                    categories=["Nemo Travel", "WebSky", "Аэроэкспресс", IMG_PWN],
                    series=[
                        Series(name="Open", values=[12.5, 0, 4, 1]),
                        Series(name="In progress", values=[7, 1.75, 0, 2]),
                        Series(name=SCRIPT_PWN, values=[3, 3.25, 1, 0]),
                    ],
                    unit="hours",
                ),
            ),
            Section(
                title="Tickets",
                description="All billable tickets. Click a header to sort.",
                table=Table(columns=COLUMNS, rows=ROWS),
            ),
            Section(
                title="First response",
                chart=Chart(
                    title="Median first response",
                    categories=["Nemo Travel", "WebSky", "Аэроэкспресс"],
                    series=[Series(name="median", values=[3.5, 12, 0.75])],
                    unit="hours",
                ),
            ),
        ],
    )


class _Dom(HTMLParser):
    """Head title, body attributes and element names of a dumped DOM."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.body: dict[str, str | None] = {}
        self.tags: list[str] = []
        self.title: str | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "body":
            self.body = dict(attrs)
        self._in_title = tag == "title" and self.title is None

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = (self.title or "") + data


def parse_dom(dom: str) -> _Dom:
    parser = _Dom()
    parser.feed(dom)
    parser.close()
    return parser


def write_report(tmp_path: Path, html: str | None = None) -> Path:
    path = tmp_path / "отчёт report.html"  # non-ASCII and a space: the URL must be encoded right
    path.write_text(html if html is not None else render_html(sample_report(), ENGLISH), encoding="utf-8")
    return path


def expected_numeric_order(key: str, descending: bool) -> list[int]:
    """Mirror of the page's rule: numbers by value, unparseable/empty last, ties by original row."""

    def sort_key(i: int) -> tuple[bool, Decimal, int]:
        value = ROWS[i].get(key)
        try:
            number = Decimal(str(value)) if value is not None else None
        except ArithmeticError:
            number = None
        if number is None or not number.is_finite():
            return (True, Decimal(0), i)
        return (False, -number if descending else number, i)

    return sorted(range(len(ROWS)), key=sort_key)


def test_hostile_data_does_not_run_and_sorting_works(tmp_path: Path) -> None:
    path = write_report(tmp_path)
    dom = dump_dom(path, hash="selftest&filter=" + quote("АЭРО"))
    page = parse_dom(dom)

    # No script from ticket data ran: title untouched, no marker, no element injected.
    assert page.title == TITLE
    assert "PWNED" not in (page.title or "")
    assert "data-pwned" not in page.body
    assert "img" not in page.tags
    assert page.tags.count("script") == 1
    # The hostile strings are shown as text.
    for hostile in (SCRIPT_PWN, IMG_PWN, ATTR_PWN):
        assert escape(hostile, quote=False) in dom
    # Key numbers are on the page.
    for number in ("1042", "18750.00", "-2625.00", "12.50", f"31{NNBSP}500.00", ">22.5<", ">12<", "n/a"):
        assert number in dom, number

    assert "data-selftest-error" not in page.body, page.body.get("data-selftest-error")
    result = json.loads(page.body["data-selftest"] or "")
    assert result["css"] is True  # the hashed <style> was allowed by the CSP
    (table,) = result["tables"]
    assert table["rows"] == len(ROWS)
    columns = {c["key"]: c for c in table["columns"]}
    assert list(columns) == [c.key for c in COLUMNS]
    for key in ("id", "hours", "amount"):
        assert columns[key]["asc"]["order"] == expected_numeric_order(key, descending=False), key
        assert columns[key]["desc"]["order"] == expected_numeric_order(key, descending=True), key
    # Text sorting is case- and number-aware ("9" before "10"); empty cells stay last.
    assert columns["project"]["asc"]["order"] == [1, 5, 4, 0, 2, 3]
    assert columns["project"]["desc"]["order"] == [2, 0, 4, 5, 1, 3]
    for column in columns.values():
        assert column["asc"]["ariaSort"] == "ascending"
        assert column["desc"]["ariaSort"] == "descending"
        assert column["focusable"] is True
    assert table["filter"] == {"visible": [2], "count": "1 of 6 rows"}


def test_russian_page_counts_rows_in_russian(tmp_path: Path) -> None:
    """The page's script takes its words from the page: "1 из 6 строк", "2 строки", "21 строка"."""
    path = tmp_path / "ru.html"
    path.write_text(render_html(sample_report(), messages_for("ru")), encoding="utf-8")
    page = parse_dom(dump_dom(path, hash="selftest&filter=" + quote("АЭРО")))
    assert "data-selftest-error" not in page.body, page.body.get("data-selftest-error")
    (table,) = json.loads(page.body["data-selftest"] or "")["tables"]
    assert table["filter"] == {"visible": [2], "count": "1 из 6 строк"}
    assert 'placeholder="Фильтр строк…"' in dump_dom(path)


def test_csp_blocks_scripts_the_page_did_not_ship(tmp_path: Path) -> None:
    """Defence in depth: even markup that escaped escaping could not run under the page's CSP."""
    html = render_html(sample_report(), ENGLISH)
    injected = (
        "<script>document.body.setAttribute('data-pwned','inline')</script>"
        "<img src=\"x\" onerror=\"document.body.setAttribute('data-pwned','handler')\">"
        "<button id=\"b\" onclick=\"document.body.setAttribute('data-pwned','click')\">b</button>"
    )
    html = html.replace("<body>", "<body>" + injected, 1)
    page = parse_dom(dump_dom(write_report(tmp_path, html), hash="selftest"))
    assert "data-pwned" not in page.body
    assert page.body.get("data-selftest")  # while the page's own hashed script did run
    assert json.loads(page.body["data-selftest"] or "")["css"] is True


def _png_size(png: Path) -> tuple[int, int]:
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_screenshot_of_sample_report(tmp_path: Path) -> None:
    shot = screenshot(write_report(tmp_path), tmp_path / "shot.png", size=(1280, 900))
    assert _png_size(shot) == (1280, 900)
    assert shot.stat().st_size > 20_000  # a blank or error page compresses to far less
    keep = os.environ.get("HELPDESK_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
