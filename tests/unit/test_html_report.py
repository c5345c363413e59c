"""The HTML report is mailed around and opened from disk: it must be inert with hostile data,
self-contained (no network) and still carry every number.  Also covers the report model,
its JSON form and the CSV export, which the HTML page shares its value formatting with."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from html import escape
from html.parser import HTMLParser

import pytest
from pydantic import ValidationError

from helpdesk_core.csv_report import render_csv
from helpdesk_core.html_report import CSP, SCRIPT, STYLE, render_html
from helpdesk_core.messages import ENGLISH
from helpdesk_core.report import (
    Chart,
    Column,
    Metric,
    Report,
    Section,
    Series,
    Table,
    format_value,
    report_to_json,
)

MSK = timezone(timedelta(hours=3))
NNBSP = "\u202f"

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</title><script>alert(2)</script>",
    "</style><script>alert(3)</script>",
    "<!-- --><iframe src=//evil.example/>",
    "&amp; &lt;b&gt; already escaped",
    "\u2028line\u2029sep",
]


class _Page(HTMLParser):
    """Collects what a browser would build: tags, attributes, and raw text of special elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": [], "title": []}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open.append(tag)
        if tag in self.raw:
            self.raw[tag].append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1] in self.raw:
            self.raw[self._open[-1]][-1] += data

    def all_attrs(self) -> list[tuple[str, str, str]]:
        return [(tag, k, v or "") for tag, attrs in self.tags for k, v in attrs.items()]


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def hostile_report(text: str) -> Report:
    """``text`` in every position a data string can reach the page."""
    table = Table(
        columns=[
            Column(key=text, label=text),
            Column(key="n", label=f"N {text}", numeric=True),
        ],
        rows=[{text: text, "n": 1}, {text: f"x{text}", "n": Decimal("2.5")}, {text: None, "n": text}],
        empty_text=text,
    )
    chart = Chart(
        kind="stacked-bar",
        title=text,
        categories=[text, f"b{text}"],
        series=[Series(name=text, values=[1, 2]), Series(name=f"s{text}", values=[3, 4])],
        unit=text,
    )
    return Report(
        title=text,
        subtitle=text,
        generated_at=datetime(2025, 3, 1, 12, 0, tzinfo=MSK),
        summary=[Metric(label=text, value=text, tone="bad"), Metric(label=f"m{text}", value=3)],
        sections=[
            Section(title=text, description=text, table=table, chart=chart),
            Section(
                title=f"empty {text}", table=Table(columns=[Column(key="a", label="A")], empty_text=text)
            ),
            Section(
                title=f"bars {text}",
                chart=Chart(title=text, categories=[text], series=[Series(name=text, values=[5])]),
            ),
        ],
    )


def sample_report() -> Report:
    return Report(
        title="Биллинг консультаций — март 2025",
        subtitle="Nemo Travel / WebSky",
        generated_at=datetime(2025, 4, 1, 9, 30, tzinfo=MSK),
        summary=[
            Metric(label="Billable hours", value=Decimal("24.50"), tone="ok"),
            Metric(label="Amount", value=Decimal("36750.00")),
            Metric(label="SLA breaches", value=3, tone="bad"),
        ],
        sections=[
            Section(
                title="Hours by project",
                chart=Chart(
                    kind="stacked-bar",
                    title="Hours by project and status",
                    categories=["Nemo Travel", "WebSky", "Аэроэкспресс"],
                    series=[
                        Series(name="Open", values=[12.5, 0, 4]),
                        Series(name="Closed", values=[3, Decimal("3.25"), 1]),
                    ],
                    unit="hours",
                ),
            ),
            Section(
                title="Tickets",
                table=Table(
                    columns=[
                        Column(key="id", label="#", numeric=True),
                        Column(key="subject", label="Тема"),
                        Column(key="hours", label="Hours", numeric=True),
                    ],
                    rows=[
                        {"id": 1042, "subject": "Не проходит оплата", "hours": Decimal("12.50")},
                        {"id": 977, "subject": "PNR export", "hours": None},
                        {"id": 15, "subject": "Синхронизация", "hours": Decimal("1.75")},
                    ],
                ),
            ),
            Section(
                title="Response",
                chart=Chart(
                    title="Median response",
                    categories=["A", "B"],
                    series=[Series(name="h", values=[3.5, -2])],
                ),
            ),
        ],
    )


def _csp_of(page: _Page) -> str:
    metas = [
        a
        for t, a in page.tags
        if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"
    ]
    assert len(metas) == 1
    return metas[0]["content"] or ""


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# ---------------------------------------------------------------- escaping


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_inert_in_every_position(text: str) -> None:
    html = render_html(hostile_report(text), ENGLISH)
    page = parse(html)

    # The only script is the page's own, unchanged; no data-driven element or handler exists.
    assert html.lower().count("<script") == 1
    assert page.raw["script"] == [SCRIPT]
    assert [
        t for t, _ in page.tags if t in {"img", "iframe", "object", "embed", "link", "base", "form"}
    ] == []
    assert not [(t, k) for t, k, _ in page.all_attrs() if k.startswith("on")]
    svgs = [t for t, _ in page.tags if t == "svg"]
    assert len(svgs) == 2 * 2 + 2  # two charts (wide and narrow) and the legend's swatches: none from data
    # The data shows as text: the page's <title> and heading carry it verbatim.
    assert page.raw["title"][0] == text
    assert f"<h1>{escape(text)}</h1>" in html
    if "<" in text:
        assert text not in html


def test_every_data_position_is_escaped() -> None:
    text = "<b id=pwn>x</b>"
    html = render_html(hostile_report(text), ENGLISH)
    e = escape(text)
    assert "<b id=pwn>" not in html
    expected = [
        f"<title>{e}</title>",  # document title
        f'<p class="subtitle">{e}</p>',
        f'<dt title="{e}">{e}</dt>',  # metric label, also as its tooltip
        f"<dd>{e}<span",  # metric value (str) followed by its tone note
        f'<h2 id="s1-h">{e}</h2>',
        f'<p class="desc">{e}</p>',
        f'<span class="label">{e}</span>',  # column label
        f'data-key="{e}"',  # column key
        f'data-label="{e}">{e}</td>',  # cell, under its column's label on a phone
        f'data-label="{e}">x{e}</td>',
        f'<td class="num" data-label="N {e}">{e}</td>',  # text in a numeric column
        f'<td colspan="1">{e}</td>',  # empty_text
        f'<h3 id="s1-c-h">{e}</h3>',  # chart title
        f"<title>{e}</title>",  # chart category tooltip
        f"</svg>{e}</li>",  # legend series name
        f"<title>{e} \u2014 {e}: 1 {e}</title>",  # bar tooltip: category, series, unit
        f">{e}</text>",  # unit axis title / category label
        f'<a href="#s1">{e}</a>',  # table of contents
        f'aria-label="Filter rows of {e}"',
    ]
    missing = [x for x in expected if x not in html]
    assert missing == []


def test_script_is_static_and_builds_no_html_from_strings() -> None:
    assert (
        parse(render_html(sample_report(), ENGLISH)).raw["script"]
        == parse(render_html(hostile_report("<x>"), ENGLISH)).raw["script"]
    )
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
        "setTimeout(",
    ):
        assert sink not in SCRIPT
    assert "textContent" in SCRIPT
    assert "</" not in SCRIPT  # nothing that could close the element early


# ---------------------------------------------------------------- CSP and self-containment


def test_csp_allows_only_own_hashed_script_and_style() -> None:
    html = render_html(sample_report(), ENGLISH)
    page = parse(html)
    csp = _csp_of(page)
    assert csp == CSP
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == [_hash(page.raw["script"][0])]
    assert directives["style-src"] == [_hash(page.raw["style"][0])]
    assert page.raw["style"] == [STYLE]
    assert directives["img-src"] == ["data:"]
    assert directives["base-uri"] == ["'none'"]
    assert "unsafe-inline" not in directives["script-src"][0] and "unsafe-eval" not in csp
    # The policy must be in force before any script or style element is parsed.
    order = [t for t, a in page.tags if t in {"script", "style"} or a.get("http-equiv")]
    assert order[0] == "meta"


def test_charset_is_declared_first_and_russian_is_raw_utf8() -> None:
    html = render_html(sample_report(), ENGLISH)
    assert html.startswith("<!DOCTYPE html>")
    assert html.index('<meta charset="utf-8">') < 200
    assert "<title>Биллинг консультаций — март 2025</title>" in html


_RESOURCE_ATTRS = {
    "src",
    "href",
    "action",
    "formaction",
    "srcset",
    "poster",
    "data",
    "xlink:href",
    "background",
}


def _external_refs(page: _Page) -> list[tuple[str, str, str]]:
    return [
        (t, k, v)
        for t, k, v in page.all_attrs()
        if k in _RESOURCE_ATTRS and not (v.startswith("#") or v.startswith("data:"))
    ]


def test_no_external_url_anywhere_in_the_page() -> None:
    html = render_html(sample_report(), ENGLISH)
    without_csp = html.replace(CSP, "").replace(escape(CSP), "")  # base64 hashes may contain "//"
    assert not re.search(r"https?:|//|\bsrc\s*=|url\(|@import", without_csp, re.I), re.findall(
        r".{30}(?:https?:|//|src\s*=|url\(|@import).{30}", without_csp, re.I
    )
    assert _external_refs(parse(html)) == []


@pytest.mark.parametrize("text", ["https://evil.example/x.js", "//evil.example/x", "javascript:alert(1)"])
def test_urls_in_data_stay_text(text: str) -> None:
    page = parse(render_html(hostile_report(text), ENGLISH))
    assert _external_refs(page) == []
    assert [v for _, k, v in page.all_attrs() if k in _RESOURCE_ATTRS] == ["#s1", "#s2", "#s3"]  # contents


# ---------------------------------------------------------------- tables


def test_table_is_sortable_filterable_and_counted() -> None:
    html = render_html(sample_report(), ENGLISH)
    page = parse(html)
    headers = [a for t, a in page.tags if t == "th"]
    assert [h["data-type"] for h in headers] == ["number", "text", "number"]
    assert [h["data-key"] for h in headers] == ["id", "subject", "hours"]
    buttons = [a for t, a in page.tags if t == "button"]
    assert len(buttons) == 3 and all(b == {"type": "button", "class": "sort"} for b in buttons)
    assert '<span class="count" aria-live="polite">3 rows</span>' in html
    filters = [a for t, a in page.tags if t == "input"]
    assert len(filters) == 1 and filters[0]["type"] == "search" and "aria-label" in filters[0]
    # Raw sort keys next to the shown value; empty cells sort last via an empty key.
    assert '<td class="num" data-label="Hours" data-sort="12.50">12.50</td>' in html
    assert '<td class="num" data-label="Hours" data-sort=""><span class="nil">\u2014</span></td>' in html
    assert [a["data-i"] for t, a in page.tags if t == "tr" and "data-i" in a] == ["0", "1", "2"]
    for needed in ('addEventListener("click"', "aria-sort", "Intl.Collator", 'addEventListener("input"'):
        assert needed in SCRIPT
    assert ".ind::after" in STYLE and 'th[aria-sort="ascending"]' in STYLE


def test_empty_table_shows_its_empty_text() -> None:
    report = Report(
        title="t",
        generated_at=datetime(2025, 1, 1, tzinfo=UTC),
        sections=[
            Section(title="s", table=Table(columns=[Column(key="a", label="A")], empty_text="Nothing due."))
        ],
    )
    html = render_html(report, ENGLISH)
    assert '<tr class="empty-row"><td colspan="1">Nothing due.</td></tr>' in html
    assert "0 rows" in html


# ---------------------------------------------------------------- charts


def test_chart_is_server_side_svg_with_values_and_legend() -> None:
    html = render_html(sample_report(), ENGLISH)
    page = parse(html)
    charts = [a for t, a in page.tags if t == "svg" and a.get("role") == "img"]
    assert [c["class"] for c in charts] == ["wide", "narrow"] * 2  # a phone gets the narrow drawing
    for value in ("12.5", "3.25", "15.5", "4", "5", "3.5", "-2"):  # segments, totals, bars
        assert f">{value}</text>" in html, value
    assert ">Аэроэкспресс</text>" in html
    assert '<ul class="legend" aria-label="Legend">' in html
    assert "</svg>Open</li>" in html and "</svg>Closed</li>" in html
    assert ">hours</text>" in html  # axis title
    assert html.count("<rect") >= 5 + 2 + 2  # stacked segments (one zero skipped), bars, swatches
    assert "<title>Nemo Travel \u2014 Open: 12.5 hours</title>" in html


def test_chart_axis_has_round_ticks() -> None:
    html = render_html(sample_report(), ENGLISH)
    ticks = re.findall(r'text-anchor="middle" fill="#6b7280" font-size="11">([^<]+)</text>', html)
    assert ticks[:5] == ["0", "5", "10", "15", "20"]
    assert "-2" in ticks or "-2.5" in ticks or "-5" in ticks  # negative bar gets a negative axis


def test_chart_without_data_says_so() -> None:
    report = Report(
        title="t",
        generated_at=datetime(2025, 1, 1, tzinfo=UTC),
        sections=[Section(title="s", chart=Chart(title="c", categories=[], series=[]))],
    )
    assert "No data for this chart." in render_html(report, ENGLISH)


def test_metric_cards_are_toned_and_grouped() -> None:
    html = render_html(sample_report(), ENGLISH)
    assert (
        '<div class="metric tone-ok"><dt title="Billable hours">Billable hours</dt>'
        '<dd>24.50<span class="sr-only"> (ok)</span>' in html
    )
    assert f"<dd>36{NNBSP}750.00</dd>" in html
    assert '<div class="metric tone-bad"><dt title="SLA breaches">SLA breaches</dt>' in html


def test_rendering_is_deterministic() -> None:
    assert render_html(sample_report(), ENGLISH) == render_html(sample_report(), ENGLISH)


# ---------------------------------------------------------------- model, JSON, CSV


def test_model_rejects_what_would_render_wrong() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        Report(title="t", generated_at=datetime(2025, 1, 1))
    with pytest.raises(ValidationError, match="not in columns"):
        Table(columns=[Column(key="a", label="A")], rows=[{"b": 1}])
    with pytest.raises(ValidationError, match="duplicate column"):
        Table(columns=[Column(key="a", label="A"), Column(key="a", label="B")])
    with pytest.raises(ValidationError, match="2 categories"):
        Chart(title="c", categories=["a", "b"], series=[Series(name="s", values=[1])])
    with pytest.raises(ValidationError, match="negative"):
        Chart(kind="stacked-bar", title="c", categories=["a"], series=[Series(name="s", values=[-1])])
    with pytest.raises(ValidationError, match="finite"):
        Chart(title="c", categories=["a"], series=[Series(name="s", values=[float("inf")])])
    with pytest.raises(ValidationError):
        Metric(label="m", value=1, tone="great")
    assert Column(key="n", label="N", numeric=True).align == "right"
    assert Column(key="n", label="N", numeric=True, align="center").align == "center"


def test_json_is_stable_and_exact() -> None:
    report = sample_report()
    text = report_to_json(report)
    assert text == report_to_json(sample_report())
    data = json.loads(text)
    assert data["generated_at"] == "2025-04-01T09:30:00+03:00"
    assert data["summary"][0]["value"] == "24.50"  # Decimal as string, scale kept
    assert data["sections"][1]["table"]["rows"][0] == {
        "hours": "12.50",
        "id": 1042,
        "subject": "Не проходит оплата",
    }
    assert list(data) == sorted(data)
    assert Report.model_validate_json(text).title == report.title


def test_format_value() -> None:
    assert format_value(None) == ""
    assert format_value(Decimal("1E+3")) == "1000"
    assert format_value(Decimal("12.50")) == "12.50"
    assert format_value(2.0) == "2"
    assert format_value(1 / 3) == "0.33"
    assert format_value(-7) == "-7"


def test_csv_is_rfc4180_and_formula_safe() -> None:
    table = Table(
        columns=[Column(key="s", label="=Subject"), Column(key="n", label="N", numeric=True)],
        rows=[
            {"s": '=HYPERLINK("http://evil","x")', "n": -5},
            {"s": "+1", "n": Decimal("2.50")},
            {"s": "-2", "n": None},
            {"s": "@SUM(A1)", "n": 0},
            {"s": "\tcmd", "n": 1},
            {"s": 'плохо, "очень"\nвторая строка'},
        ],
    )
    text = render_csv(table, ENGLISH)
    assert text.endswith("\r\n") and "\r\n" in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [
        ["'=Subject", "N"],
        ['\'=HYPERLINK("http://evil","x")', "-5"],  # typed numbers are not neutralised
        ["'+1", "2.50"],
        ["'-2", ""],
        ["'@SUM(A1)", "0"],
        ["'\tcmd", "1"],
        ['плохо, "очень"\nвторая строка', ""],
    ]
    assert '"плохо, ""очень""\nвторая строка",' in text
