"""The HTML reports in headless chromium at 1400 px (a desk) and 420 px (a phone): the deciding
column is on screen without scrolling, headers are not cut, chart text keeps a readable size,
issue numbers are links, and the time is Moscow's, to the minute.

The page is measured by a copy of it with one added script (and no CSP, which would block that
script); the page's own markup and style are unchanged.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpdesk_core.html_report import render_html
from helpdesk_core.messages import messages_for
from helpdesk_core.report import Chart, Column, Metric, Report, Section, Series, Table
from policies.actions import Action, Plan
from policies.commands import _plan_report
from tests.browser import _run, file_url, screenshot

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "var" / "shots" / "after"

MEASURE = """<script>
window.addEventListener("load", () => {
  const width = document.documentElement.getBoundingClientRect().width;
  const out = {width, offscreen: [], cut: [], chart_px: [], links: 0};
  const heads = [...document.querySelectorAll("table.data")]
    .map(t => [...t.querySelectorAll("th")].map(th => th.textContent));
  document.querySelectorAll("table.data").forEach((table, ti) => {
    for (const tr of table.querySelectorAll("tbody tr")) {
      [...tr.children].forEach((td, ci) => {
        const r = td.getBoundingClientRect();
        if (r.width && (r.right > width + 1 || r.left < -1)) out.offscreen.push(heads[ti][ci] || String(ci));
      });
    }
  });
  for (const label of document.querySelectorAll("th .label")) {
    const shown = label.getBoundingClientRect().width;
    if (shown && label.scrollWidth > label.clientWidth + 1) out.cut.push(label.textContent);
  }
  for (const svg of document.querySelectorAll("svg[role=img]")) {
    if (getComputedStyle(svg).display === "none") continue;
    const text = svg.querySelector("text");
    if (text) out.chart_px.push(text.getBoundingClientRect().height);
  }
  out.links = document.querySelectorAll('td a[href*="/issues/"]').length;
  document.body.setAttribute("data-measure", JSON.stringify(out));
});
</script>"""


def measured(page: str, tmp_path: Path, width: int) -> dict[str, object]:
    probe = tmp_path / f"probe-{width}.html"
    stripped = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    # Headless windows are at least 500 px wide: the page is held to `width` (the phone's media rules
    # already apply below 640 px).
    held = f"<style>html {{ width: {width}px; }}</style>" if width < 500 else ""
    probe.write_text(stripped.replace("</head>", held + "</head>").replace("</body>", MEASURE + "</body>"),
                     encoding="utf-8")
    dom = _run([f"--window-size={width},1600", "--virtual-time-budget=3000", "--dump-dom", file_url(probe)], 90)
    found = re.search(r'data-measure="([^"]*)"', dom)
    assert found, dom[-500:]
    return json.loads(html.unescape(found.group(1)))


def sweep_page() -> str:
    text = ("Здравствуйте!\n\nНапоминаем, что по этому обращению мы ждём от вас ответа уже 12 дней (с 03.03.2026). "
            "Пожалуйста, ответьте на вопрос специалиста в комментарии выше.")
    actions = tuple(Action(rule="feedback-reminder", issue=100 + i, action="comment", notes=text,
                           reason="waiting for the client since 2026-03-03T02:45+03:00 (12.3 d ≥ 5 d), no reminder yet")
                    for i in range(3))
    plan = Plan(now="2026-03-15T10:00:00+03:00", actions=actions, requests=7, candidates=5)
    facts = {100 + i: ("Не выписывается билет по заказу 9386905", "ООО «Ромашка Тревел»") for i in range(3)}
    return render_html(_plan_report(plan, "Sweep plan", facts, "http://redmine.example"), messages_for("ru"))


def sla_page() -> str:
    columns = [Column(key="rule", label="Rule"), Column(key="priority", label="Priority"),
               Column(key="company", label="Company"), Column(key="total", label="Issues", numeric=True),
               Column(key="met", label="Met", numeric=True), Column(key="breached", label="Breached", numeric=True),
               Column(key="open", label="Running", numeric=True), Column(key="at_risk", label="At risk", numeric=True),
               Column(key="compliance", label="Compliance %", numeric=True)]
    rows = [{"rule": "sla-analysis", "priority": p, "company": "АО «Авиа Лайн Сервис»", "total": 5, "met": 2,
             "breached": 3, "open": 0, "at_risk": 0, "compliance": "40.0"} for p in ("Блокер", "Критический")]
    chart = Chart(title="Met / (met + breached), %", categories=["Блокер", "Критический", "Высокий"], unit="%",
                  series=[Series(name="sla-reaction", values=[50, 100, 75]),
                          Series(name="sla-analysis", values=[40, 0, 66.7])])
    report = Report(title="SLA report", generated_at=datetime(2026, 12, 1, 7, 0, 12, 345678, tzinfo=UTC),
                    summary=[Metric(label="breached", value=3, tone="bad")],
                    sections=[Section(title="Compliance per rule, priority and company",
                                      table=Table(columns=columns, rows=rows)),
                              Section(title="Compliance per priority", chart=chart)])
    return render_html(report, messages_for("ru"))


@pytest.mark.parametrize("width", [1400, 420])
def test_sweep_plan_keeps_what_the_client_reads_on_screen(width: int, tmp_path: Path) -> None:
    page = sweep_page()
    result = measured(page, tmp_path, width)
    assert result["offscreen"] == [] and result["cut"] == []
    assert result["links"] == 3
    assert 'href="http://redmine.example/issues/100"' in page
    path = tmp_path / "sweep.html"
    path.write_text(page, encoding="utf-8")
    screenshot(path, SHOTS / f"test-sweep-plan-{width}.png", size=(width, 1600))


@pytest.mark.parametrize("width", [1400, 420])
def test_sla_page_at_a_desk_and_on_a_phone(width: int, tmp_path: Path) -> None:
    page = sla_page()
    result = measured(page, tmp_path, width)
    assert result["offscreen"] == []  # «Соблюдение, %» included
    assert result["cut"] == []
    assert result["chart_px"] and min(result["chart_px"]) >= 10  # readable text, not a 4 px shrink
    assert "01.12.2026 10:00 МСК" in page and "345678" not in page  # Moscow time, to the minute
    path = tmp_path / "sla.html"
    path.write_text(page, encoding="utf-8")
    screenshot(path, SHOTS / f"test-sla-{width}.png", size=(width, 1600))


def test_colours_mean_what_they_say() -> None:
    chart = Chart(kind="stacked-bar", title="Objects by outcome", categories=["issue"],
                  series=[Series(name=n, values=[1]) for n in ("would create", "create", "match", "update", "skip",
                                                               "fail")])
    page = render_html(Report(title="t", generated_at=datetime(2026, 1, 1, tzinfo=UTC),
                              sections=[Section(title="s", chart=chart)]), messages_for("ru"))
    swatch = dict(re.findall(r'fill="(#[0-9a-f]{6})"/></svg>([^<]+)</li>', page)[i][::-1] for i in range(6))
    assert swatch["ошибок"] == "#e15759"  # red, not green
    assert swatch["создано"] == "#59a14f" and swatch["обновлено"] != "#e15759"
