"""Render a :class:`~helpdesk_core.report.Report` as one self-contained HTML page.

The page is mailed around and opened from disk (``file://``), often by people who did not
run the tool, so it must work with no server and no network: CSS and JS are inline, charts
are SVG drawn here in Python (visible without JS), and a Content-Security-Policy allows
only this module's own script and style (by hash) and nothing from the network.

Ticket subjects and customer names are hostile input: every data string goes through
:func:`html.escape`, data never enters the ``<script>`` element, and the script builds DOM
with ``textContent`` only.  The script is static, so its hash is computed once at import.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from helpdesk_core.clock import MOSCOW
from helpdesk_core.messages import Messages
from helpdesk_core.report import (
    NO_VALUE,
    Cell,
    Chart,
    Column,
    Metric,
    Report,
    Section,
    Table,
    chart_value,
    columns_with_values,
    format_value,
    ordered_summary,
)

__all__ = ["CSP", "SCRIPT", "STYLE", "render_html"]

NNBSP = "\u202f"  # narrow no-break space: thousands separator that never wraps

_TONE_NAMES = {"ok": "ok", "warn": "warning", "bad": "problem"}

STYLE = """
:root {
  --hd-css: 1;
  color-scheme: light;
  --fg: #1f2937; --muted: #6b7280; --faint: #9ca3af; --line: #e5e7eb; --bg: #f5f6f8;
  --card: #ffffff; --head: #f9fafb; --accent: #2563eb;
  --ok: #15803d; --warn: #b45309; --bad: #b91c1c; --neutral: #94a3b8;
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans",
    "Liberation Sans", "DejaVu Sans", Arial, sans-serif;
}
.page { max-width: 1120px; margin: 0 auto; padding: 32px 24px 40px; }
.page-header h1 {
  font-size: 26px; line-height: 1.25; margin: 0; font-weight: 650; letter-spacing: -0.01em;
  overflow-wrap: anywhere;
}
.subtitle { margin: 4px 0 0; color: var(--muted); font-size: 16px; overflow-wrap: anywhere; }
.meta { margin: 8px 0 0; color: var(--muted); font-size: 13px; }
.metrics {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px;
  margin: 24px 0 0; padding: 0;
}
.metric {
  display: flex; flex-direction: column;
  background: var(--card); border: 1px solid var(--line); border-left: 4px solid var(--neutral);
  border-radius: 8px; padding: 12px 16px; margin: 0; min-width: 0;
}
.metric dt {
  font-size: 12.5px; color: var(--muted); overflow-wrap: anywhere;
  display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; line-clamp: 2; overflow: hidden;
}
.metric dd {
  margin: auto 0 0; padding-top: 2px; font-size: 24px; font-weight: 650; line-height: 1.3;
  font-variant-numeric: tabular-nums; overflow-wrap: anywhere;
}
.metric.tone-ok { border-left-color: var(--ok); }
.metric.tone-ok dd { color: var(--ok); }
.metric.tone-warn { border-left-color: var(--warn); }
.metric.tone-warn dd { color: var(--warn); }
.metric.tone-bad { border-left-color: var(--bad); }
.metric.tone-bad dd { color: var(--bad); }
.toc { margin: 20px 0 0; font-size: 13px; }
.toc ol { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 0; padding: 0; list-style: none; }
.toc a { color: var(--accent); text-decoration: none; }
.toc a:hover { text-decoration: underline; }
.section {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 20px 24px; margin: 20px 0 0;
}
.section h2 { font-size: 18px; line-height: 1.3; margin: 0; font-weight: 650; overflow-wrap: anywhere; }
.desc { color: var(--muted); margin: 4px 0 0; white-space: pre-line; overflow-wrap: anywhere; }
.chart { margin: 16px 0 0; }
.chart h3 { font-size: 14px; font-weight: 600; margin: 0 0 8px; overflow-wrap: anywhere; }
.chart svg { display: block; max-width: 100%; height: auto; }
.chart svg text { font-family: inherit; }
.legend {
  display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 0 0 8px; padding: 0; list-style: none;
  font-size: 13px;
}
.legend li { display: flex; align-items: center; gap: 6px; overflow-wrap: anywhere; }
.legend svg { flex: none; }
.table-block { margin: 16px 0 0; }
.table-tools {
  display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center;
  gap: 8px 16px; margin: 0 0 8px;
}
.count { color: var(--muted); font-size: 13px; font-variant-numeric: tabular-nums; }
.filter {
  font: inherit; font-size: 13px; color: inherit; background: var(--card);
  padding: 6px 10px; border: 1px solid #d1d5db; border-radius: 6px; width: 260px; max-width: 100%;
}
.filter:focus { outline: 2px solid var(--accent); outline-offset: 0; border-color: var(--accent); }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; }
table.data { border-collapse: collapse; width: 100%; font-size: 13px; }
table.data th, table.data td {
  padding: 7px 12px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top;
}
table.data tbody tr:last-child td { border-bottom: 0; }
table.data thead th { background: var(--head); font-weight: 600; padding: 0; vertical-align: bottom; }
table.data thead th.num { white-space: nowrap; }
table.data tbody tr:nth-child(even of :not([hidden])) { background: #fbfbfc; }
table.data tbody tr:hover { background: #f1f5fb; }
table.data td { overflow-wrap: break-word; }
table.data td.block { white-space: pre-line; min-width: 22em; }
table.data .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.data .center { text-align: center; }
table.data .right { text-align: right; }
.sort {
  display: flex; align-items: center; gap: 6px; width: 100%; margin: 0; padding: 8px 12px;
  font: inherit; font-weight: 600; color: inherit; text-align: inherit; background: none;
  border: 0; cursor: pointer;
}
.sort:hover { background: #eef2f7; }
.sort:focus-visible { outline: 2px solid var(--accent); outline-offset: -2px; }
th.num .sort, th.right .sort { justify-content: flex-end; }
th.center .sort { justify-content: center; }
.ind { display: inline-block; width: 0.8em; color: var(--faint); font-size: 11px; }
.ind::after { content: "\\2195"; }
th[aria-sort="ascending"] .ind, th[aria-sort="descending"] .ind { color: var(--accent); }
th[aria-sort="ascending"] .ind::after { content: "\\25B2"; }
th[aria-sort="descending"] .ind::after { content: "\\25BC"; }
.nil { color: var(--faint); }
.empty-row td { color: var(--muted); text-align: center; padding: 20px; }
.no-match { color: var(--muted); margin: 8px 0 0; font-size: 13px; }
.empty { color: var(--muted); margin: 12px 0 0; }
.sr-only {
  position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; border: 0;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
}
.page-footer { color: var(--faint); font-size: 12px; margin: 24px 0 0; }
.chart svg.narrow { display: none; }
table.data a { color: var(--accent); }
@media (max-width: 640px) {
  .page { padding: 20px 12px 32px; }
  .section { padding: 16px; }
  .chart svg.wide { display: none; }
  .chart svg.narrow { display: block; }
  /* A phone: each row is a card, every cell under its column's name; nothing is off-screen. */
  .table-wrap { overflow-x: visible; }
  table.data thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.data, table.data tbody, table.data tr, table.data td { display: block; width: auto; }
  table.data tr[hidden] { display: none; }
  table.data tbody tr { border-bottom: 1px solid var(--line); padding: 6px 0; }
  table.data td { display: flex; gap: 10px; border: 0; padding: 3px 12px; text-align: left; white-space: normal; }
  table.data td::before { content: attr(data-label); flex: 0 0 38%; color: var(--muted); font-weight: 600; }
  table.data td.num { text-align: left; }
  table.data td.block { min-width: 0; }
  table.data td > * , table.data td { overflow-wrap: anywhere; }
  .empty-row td::before { content: none; }
}
@page { margin: 14mm; }
@media print {
  body { background: #fff; font-size: 11px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .page { max-width: none; padding: 0; }
  .section { border: 0; border-radius: 0; padding: 0; margin: 18px 0 0; }
  .metric, .chart, table.data tr { break-inside: avoid; }
  .section h2 { break-after: avoid; }
  .filter, .ind, .toc { display: none !important; }
  .sort { padding: 6px 8px; }
  .table-wrap { overflow: visible; border: 0; }
  table.data tbody tr:nth-child(even of :not([hidden])) { background: none; }
  table.data thead { display: table-header-group; }
}
""".strip()

# Static by design: no report data is ever placed in here (it is read from the DOM), so the
# CSP hash below stays valid and nothing in the data can break out of the script element.
# No "//" comments: the page is checked for protocol-relative URLs.
SCRIPT = """
(function () {
  "use strict";
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  var words = document.documentElement.dataset;
  var plural = new Intl.PluralRules(document.documentElement.lang);

  function rowsWord(n) { return words["row" + plural.select(n)] || words.rowother; }

  function cellKey(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var key = cell.getAttribute("data-sort");
    return key === null ? cell.textContent.trim() : key;
  }

  function toNumber(text) {
    var cleaned = text.replace(/[\\s\\u00a0\\u202f]/g, "").replace(",", ".");
    return cleaned === "" ? NaN : Number(cleaned);
  }

  function TableView(block) {
    this.block = block;
    this.table = block.querySelector("table.data");
    this.tbody = this.table.tBodies[0];
    this.rows = Array.prototype.slice.call(this.tbody.querySelectorAll("tr[data-i]"));
    this.headers = Array.prototype.slice.call(this.table.tHead.rows[0].cells);
    this.count = block.querySelector(".count");
    this.filter = block.querySelector("input.filter");
    this.noMatch = block.querySelector(".no-match");
    this.sortIndex = -1;
    this.sortDir = 1;
  }

  TableView.prototype.init = function () {
    var view = this;
    view.headers.forEach(function (th, index) {
      var button = th.querySelector("button.sort");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var dir = view.sortIndex === index ? -view.sortDir : 1;
        view.sort(index, dir);
      });
    });
    if (view.filter && view.rows.length > 0) {
      view.filter.hidden = false;
      view.filter.addEventListener("input", function () { view.applyFilter(view.filter.value); });
    }
  };

  TableView.prototype.sort = function (index, dir) {
    var numeric = this.headers[index].getAttribute("data-type") === "number";
    var keyed = this.rows.map(function (row) {
      var raw = cellKey(row, index);
      var value = numeric ? toNumber(raw) : raw;
      return {
        row: row,
        value: value,
        missing: numeric ? Number.isNaN(value) : raw === "",
        i: Number(row.getAttribute("data-i"))
      };
    });
    keyed.sort(function (a, b) {
      if (a.missing !== b.missing) { return a.missing ? 1 : -1; }
      var c = 0;
      if (!a.missing) {
        c = numeric ? Math.sign(a.value - b.value) : collator.compare(a.value, b.value);
      }
      return c !== 0 ? c * dir : a.i - b.i;
    });
    var fragment = document.createDocumentFragment();
    keyed.forEach(function (k) { fragment.appendChild(k.row); });
    this.tbody.appendChild(fragment);
    this.headers.forEach(function (th, j) {
      if (j === index) {
        th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      } else {
        th.removeAttribute("aria-sort");
      }
    });
    this.sortIndex = index;
    this.sortDir = dir;
  };

  TableView.prototype.applyFilter = function (query) {
    var q = query.trim().toLocaleLowerCase();
    var shown = 0;
    this.rows.forEach(function (row) {
      var match = q === "" || row.textContent.toLocaleLowerCase().indexOf(q) !== -1;
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    var total = this.rows.length;
    this.count.textContent = q === ""
      ? total + " " + rowsWord(total)
      : shown + " " + words.of + " " + total + " " + rowsWord(total);
    if (this.noMatch) { this.noMatch.hidden = shown !== 0; }
  };

  TableView.prototype.order = function (visibleOnly) {
    return this.rows
      .slice()
      .sort(function (a, b) { return a.compareDocumentPosition(b) & 4 ? -1 : 1; })
      .filter(function (row) { return !visibleOnly || !row.hidden; })
      .map(function (row) { return Number(row.getAttribute("data-i")); });
  };

  function selfTest(views, params) {
    var result = {
      css: getComputedStyle(document.documentElement).getPropertyValue("--hd-css").trim() === "1",
      tables: []
    };
    views.forEach(function (view) {
      var t = { rows: view.rows.length, columns: [] };
      view.headers.forEach(function (th) {
        var button = th.querySelector("button.sort");
        if (!button) { return; }
        button.click();
        var asc = { order: view.order(false), ariaSort: th.getAttribute("aria-sort") };
        button.click();
        var desc = { order: view.order(false), ariaSort: th.getAttribute("aria-sort") };
        t.columns.push({
          key: th.getAttribute("data-key"), asc: asc, desc: desc, focusable: button.tabIndex >= 0
        });
      });
      if (params.has("filter") && view.filter) {
        view.filter.value = params.get("filter");
        view.filter.dispatchEvent(new Event("input"));
        t.filter = { visible: view.order(true), count: view.count.textContent };
      }
      result.tables.push(t);
    });
    document.body.setAttribute("data-selftest", JSON.stringify(result));
  }

  var views = Array.prototype.slice.call(document.querySelectorAll("[data-table]"))
    .map(function (block) { return new TableView(block); })
    .filter(function (view) { return view.table !== null; });
  views.forEach(function (view) { view.init(); });
  var params = new URLSearchParams(location.hash.slice(1));
  if (params.has("selftest")) {
    try {
      selfTest(views, params);
    } catch (err) {
      document.body.setAttribute("data-selftest-error", String(err));
    }
  }
})();
""".strip()


def _sha256(text: str) -> str:
    """CSP source expression for an inline element with exactly this content."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


CSP = "; ".join(
    [
        "default-src 'none'",
        f"script-src {_sha256(SCRIPT)}",
        f"style-src {_sha256(STYLE)}",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)


def _e(text: str) -> str:
    """Escape for element content and quoted attributes alike (quotes included)."""
    return escape(text, quote=True)


def _group_digits(text: str) -> str:
    """Group thousands of long numbers (10 000 and up) the way both Russian and SI style allow."""
    sign = text[0] if text.startswith(("-", "+")) else ""
    int_part, dot, frac = text[len(sign) :].partition(".")
    if not int_part.isdigit() or len(int_part) < 5:
        return text
    head = len(int_part) % 3 or 3
    groups = [int_part[:head]] + [int_part[i : i + 3] for i in range(head, len(int_part), 3)]
    return sign + NNBSP.join(groups) + dot + frac


def display_number(value: int | float | Decimal) -> str:
    """Headline number as shown in cards and charts, grouped so big amounts read at a glance."""
    return _group_digits(format_value(value))


# ---------------------------------------------------------------- summary and tables


def _render_metric(metric: Metric, m: Messages) -> str:
    value = metric.value
    shown = value if isinstance(value, str) else display_number(value)
    tone_cls = f" tone-{metric.tone}" if metric.tone else ""
    # Colour alone is not enough for colour-blind readers or black-and-white prints.
    tone_text = f'<span class="sr-only"> ({m(_TONE_NAMES[metric.tone])})</span>' if metric.tone else ""
    label = _e(metric.label)
    return (
        f'<div class="metric{tone_cls}"><dt title="{label}">{label}</dt><dd>{_e(shown)}{tone_text}</dd></div>'
    )


def _align_class(column: Column) -> str:
    if column.numeric and column.align == "right":
        return "num"
    return {"left": "", "center": "center", "right": "right"}[column.align]


def _class_attr(*classes: str) -> str:
    names = " ".join(c for c in classes if c)
    return f' class="{names}"' if names else ""


def _linked(text: str, href: str | None) -> str:
    """The cell's text as a link when its column has one (only http(s) links: a page never runs a URL)."""
    if not href or not href.lower().startswith(("http://", "https://")):
        return text
    return f'<a href="{_e(href)}" rel="noreferrer noopener" target="_blank">{text}</a>'


def _render_cell(value: Cell, column: Column, href: str | None = None) -> str:
    # data-label: on a phone each row becomes a card, every cell under its column's name
    cls = _class_attr(_align_class(column), "block" if column.block else "") + f' data-label="{_e(column.label)}"'
    if value is None:
        return f'<td{cls} data-sort=""><span class="nil">{NO_VALUE}</span></td>'
    if isinstance(value, str):
        return f"<td{cls}>{_linked(_e(value), href)}</td>"
    # Not digit-grouped: ids and codes live in numeric columns too, and copy-paste stays exact.
    plain = _e(format_value(value))
    return f'<td{cls} data-sort="{plain}">{_linked(plain, href)}</td>'


def _render_table(table: Table, caption: str, ident: str, m: Messages) -> str:
    head = []
    table = table.model_copy(update={"columns": columns_with_values(table)})
    for column in table.columns:
        data_type = "number" if column.numeric else "text"
        head.append(
            f'<th scope="col"{_class_attr(_align_class(column))} data-key="{_e(column.key)}"'
            f' data-type="{data_type}"><button type="button" class="sort">'
            f'<span class="label">{_e(column.label)}</span><span class="ind" aria-hidden="true"></span>'
            "</button></th>"
        )
    body = []
    for i, row in enumerate(table.rows):
        cells = "".join(_render_cell(row.get(c.key), c, c.href_in(row)) for c in table.columns)
        body.append(f'<tr data-i="{i}">{cells}</tr>')
    if not table.rows:
        body.append(
            f'<tr class="empty-row"><td colspan="{len(table.columns)}">{_e(table.empty_text)}</td></tr>'
        )
    return (
        f'<div class="table-block" data-table id="{ident}">'
        '<div class="table-tools">'
        f'<span class="count" aria-live="polite">{_e(m.rows(len(table.rows)))}</span>'
        f'<input type="search" class="filter" placeholder="{_e(m("Filter rows…"))}"'
        f' aria-label="{_e(m("Filter rows of {caption}", caption=caption))}"'
        f' aria-controls="{ident}-t" autocomplete="off" spellcheck="false" hidden>'
        "</div>"
        f'<div class="table-wrap"><table class="data" id="{ident}-t">'
        f'<caption class="sr-only">{_e(caption)}</caption>'
        f"<thead><tr>{''.join(head)}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
        f'<p class="no-match" hidden>{_e(m("No rows match the filter."))}</p>'
        "</div>"
    )


# ---------------------------------------------------------------- charts (server-side SVG)

# Tableau 10: distinguishable for common colour-vision deficiencies and in greyscale print.
_PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
_CHART_W = 880
_CHART_W_NARROW = 380  # a phone's width: its 12 px text is 12 px on the screen
_FONT_PX = 12
_TEXT_DARK = "#1f2937"
_TEXT_MUTED = "#6b7280"
_GRID = "#e5e7eb"
_AXIS = "#9ca3af"


# Colours that mean something: a failure is red, a creation green, what is left alone grey.
_MEANING = {"fail": "#e15759", "error": "#e15759", "breached": "#e15759", "create": "#59a14f",
            "would create": "#8cd17d", "met": "#59a14f", "update": "#4e79a7", "match": "#76b7b2",
            "skip": "#bab0ac", "at-risk": "#edc948"}


def series_colours(chart: Chart) -> list[str]:
    """Each series' colour: by what its name means (the builder's English id), else the palette's next."""
    spare = (c for c in _PALETTE if c not in _MEANING.values())
    return [_MEANING.get(s.name) or next(spare, _colour(i)) for i, s in enumerate(chart.series)]


def _colour(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]


def _text_on(fill: str) -> str:
    """Dark or white label, whichever reads better on this bar colour (WCAG luminance)."""

    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(fill[i : i + 2]) for i in (1, 3, 5))
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return _TEXT_DARK if lum > 0.3 else "#ffffff"


def _text_px(text: str, size: float = _FONT_PX) -> float:
    """Rough rendered width; layout only needs to be safe, not exact."""
    return sum(size * (0.36 if ch in " .,:;|il1!'" else 0.62 if ord(ch) < 128 else 0.68) for ch in text)


def _fit(text: str, max_px: float) -> str:
    """Truncate with an ellipsis to fit; the full text stays in the SVG <title> tooltip."""
    if _text_px(text) <= max_px:
        return text
    while text and _text_px(text + "\u2026") > max_px:
        text = text[:-1]
    return text + "\u2026"


def _nice_ticks(lo: float, hi: float, integral: bool, target: int = 5) -> list[float]:
    """Round axis ticks (1, 2, 2.5, 5 times a power of ten) covering [lo, hi]."""
    if hi - lo <= 0:
        hi = lo + 1
    raw = (hi - lo) / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if raw <= m * mag * (1 + 1e-9))
    if integral:
        step = max(step, 1.0)
        if step != int(step):
            step = math.ceil(step)
    start = math.floor(lo / step + 1e-9) * step
    end = math.ceil(hi / step - 1e-9) * step
    count = round((end - start) / step)
    return [start + k * step for k in range(count + 1)]


def _tick_label(value: float, step: float) -> str:
    decimals = 0
    while decimals < 6 and abs(round(step * 10**decimals) - step * 10**decimals) > 1e-9:
        decimals += 1
    text = f"{value:.{decimals}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return _group_digits(text)


def _num(x: float) -> str:
    """SVG coordinate with one decimal: enough precision, small output."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _svg_text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    fill: str = _TEXT_DARK,
    weight: str | None = None,
    size: float = _FONT_PX,
) -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" dy="0.35em" text-anchor="{anchor}" fill="{fill}"'
        f' font-size="{_num(size)}"{bold}>{_e(text)}</text>'
    )


def _render_legend(chart: Chart, m: Messages, colours: list[str]) -> str:
    items = []
    for i, s in enumerate(chart.series):
        items.append(
            '<li><svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">'
            f'<rect width="12" height="12" rx="2" fill="{colours[i]}"/></svg>{_e(s.name)}</li>'
        )
    return f'<ul class="legend" aria-label="{_e(m("Legend"))}">{"".join(items)}</ul>'


@dataclass(frozen=True)
class _Plot:
    """Where a chart's pieces go: value axis (ticks, scale) and the rows of bars."""

    ticks: list[float]
    step: float
    label_w: float
    x_start: float
    x_end: float
    bar_h: float
    group_h: float
    gap: float
    top: float
    y_axis: float
    height: float

    def x_of(self, v: float) -> float:
        d0, d1 = self.ticks[0], self.ticks[-1]
        return self.x_start + (v - d0) / (d1 - d0) * (self.x_end - self.x_start)

    def row_top(self, ci: int) -> float:
        return self.top + ci * (self.group_h + self.gap)


def _plot(chart: Chart, shown: list[float], integral: bool, end_labels: list[str], width: int = 880) -> _Plot:
    lo, hi = min(0.0, *shown), max(0.0, *shown)
    ticks = _nice_ticks(lo, hi, integral)
    label_w = min(240.0 * width / _CHART_W, max(72.0, max(_text_px(c) for c in chart.categories) + 16))
    right_pad = max(_text_px(t) for t in end_labels) + 14
    left_pad = right_pad if lo < 0 else 8.0
    n_series = len(chart.series)
    stacked = chart.kind == "stacked-bar"
    bar_h = 22.0 if stacked or n_series == 1 else 14.0
    group_h = bar_h if stacked else n_series * bar_h + (n_series - 1) * 2
    gap, top = 12.0, 6.0
    y_axis = top + len(chart.categories) * (group_h + gap) - gap / 2 + 4
    return _Plot(ticks=ticks, step=ticks[1] - ticks[0] if len(ticks) > 1 else 1.0, label_w=label_w,
                 x_start=label_w + left_pad, x_end=width - right_pad, bar_h=bar_h, group_h=group_h,
                 gap=gap, top=top, y_axis=y_axis, height=y_axis + (42 if chart.unit else 26))


def _axis(plot: _Plot, unit: str | None) -> list[str]:
    """Grid lines with round tick labels, the axis line, and the unit under it."""
    parts: list[str] = []
    for t in plot.ticks:
        x = plot.x_of(t)
        colour = _AXIS if t == 0 else _GRID
        parts.append(
            f'<line x1="{_num(x)}" y1="{_num(plot.top - 4)}" x2="{_num(x)}" y2="{_num(plot.y_axis)}"'
            f' stroke="{colour}" stroke-width="1"/>'
        )
        parts.append(
            _svg_text(x, plot.y_axis + 12, _tick_label(t, plot.step), anchor="middle", fill=_TEXT_MUTED, size=11)
        )
    parts.append(
        f'<line x1="{_num(plot.x_start)}" y1="{_num(plot.y_axis)}" x2="{_num(plot.x_end)}" y2="{_num(plot.y_axis)}"'
        f' stroke="{_AXIS}" stroke-width="1"/>'
    )
    if unit:
        parts.append(
            _svg_text(
                (plot.x_start + plot.x_end) / 2, plot.y_axis + 30, unit, anchor="middle", fill=_TEXT_MUTED, size=11
            )
        )
    return parts


def _stacked_row(chart: Chart, plot: _Plot, ci: int, values: list[list[float]], total_label: str,
                 colours: list[str]) -> list[str]:
    """One category as one bar of coloured segments, labelled inside when they fit, total at the end."""
    category, y0, unit = chart.categories[ci], plot.row_top(ci), f" {chart.unit}" if chart.unit else ""
    parts: list[str] = []
    acc = 0.0
    for si, s in enumerate(chart.series):
        v = values[si][ci]
        if v == 0:
            continue
        x_a, x_b = plot.x_of(acc), plot.x_of(acc + v)
        fill = colours[si]
        label = display_number(s.values[ci])
        tip = f"{category} \u2014 {s.name}: {label}{unit}"
        seg = (
            f'<g><title>{_e(tip)}</title><rect x="{_num(x_a)}" y="{_num(y0)}"'
            f' width="{_num(x_b - x_a)}" height="{_num(plot.bar_h)}" fill="{fill}"/>'
        )
        if x_b - x_a >= _text_px(label, 11) + 8:
            seg += _svg_text(
                (x_a + x_b) / 2, y0 + plot.bar_h / 2, label, anchor="middle", fill=_text_on(fill), size=11
            )
        parts.append(seg + "</g>")
        acc += v
    parts.append(_svg_text(plot.x_of(acc) + 6, y0 + plot.bar_h / 2, total_label, weight="600"))
    return parts


def _grouped_row(chart: Chart, plot: _Plot, ci: int, values: list[list[float]], colours: list[str]) -> list[str]:
    """One category as one bar per series, each labelled at its end (left of negative bars)."""
    category, y0, unit = chart.categories[ci], plot.row_top(ci), f" {chart.unit}" if chart.unit else ""
    n_series = len(chart.series)
    parts: list[str] = []
    for si, s in enumerate(chart.series):
        v = values[si][ci]
        y = y0 + si * (plot.bar_h + 2)
        x_a, x_b = sorted((plot.x_of(0), plot.x_of(v)))
        label = chart_value(s.values[ci], display_number)
        tip = f"{category} \u2014 {s.name}: {label}{unit}" if s.name else f"{category}: {label}{unit}"
        text_x, anchor = (x_b + 5, "start") if v >= 0 else (x_a - 5, "end")
        parts.append(
            f'<g><title>{_e(tip)}</title><rect x="{_num(x_a)}" y="{_num(y)}"'
            f' width="{_num(x_b - x_a)}" height="{_num(plot.bar_h)}" rx="2" fill="{colours[si]}"/>'
            + _svg_text(
                text_x, y + plot.bar_h / 2, label, anchor=anchor, size=11 if n_series > 1 else _FONT_PX
            )
            + "</g>"
        )
    return parts


def _render_chart(chart: Chart, ident: str, m: Messages, colours: list[str] | None = None) -> str:
    """Horizontal bars: long category names (projects, customers) stay readable unrotated. Two drawings,
    wide and narrow, one shown by the page's width: on a phone the text keeps its size."""
    title = f'<h3 id="{ident}-h">{_e(chart.title)}</h3>'
    if not chart.categories or not chart.series:
        return f'<figure class="chart">{title}<p class="empty">{_e(m("No data for this chart."))}</p></figure>'
    colours = colours or [_colour(i) for i in range(len(chart.series))]
    legend = _render_legend(chart, m, colours) if chart.kind == "stacked-bar" or len(chart.series) > 1 else ""
    svgs = "".join(_chart_svg(chart, ident, colours, width, cls)
                   for width, cls in ((_CHART_W, "wide"), (_CHART_W_NARROW, "narrow")))
    return f'<figure class="chart" id="{ident}">{title}{legend}{svgs}</figure>'


def _chart_svg(chart: Chart, ident: str, colours: list[str], width: int, cls: str) -> str:
    stacked = chart.kind == "stacked-bar"
    # None: no bar, labelled «—» (chart_value)
    values = [[float(v) if v is not None else 0.0 for v in s.values] for s in chart.series]
    totals = [sum(col) for col in zip(*values, strict=True)]
    shown = totals if stacked else [v for row in values for v in row]
    end_labels = [display_number(v) for v in shown]
    plot = _plot(chart, shown, all(v.is_integer() for row in values for v in row), end_labels, width)
    parts = _axis(plot, chart.unit)
    for ci, category in enumerate(chart.categories):
        y0 = plot.row_top(ci)
        parts.append(
            f"<g><title>{_e(category)}</title>"
            + _svg_text(plot.label_w - 8, y0 + plot.group_h / 2, _fit(category, plot.label_w - 16), anchor="end")
            + "</g>"
        )
        parts.extend(_stacked_row(chart, plot, ci, values, end_labels[ci], colours) if stacked
                     else _grouped_row(chart, plot, ci, values, colours))
    return (
        f'<svg class="{cls}" width="{width}" height="{_num(plot.height)}" viewBox="0 0 {width} {_num(plot.height)}"'
        f' role="img" aria-labelledby="{ident}-h">{"".join(parts)}</svg>'
    )


# ---------------------------------------------------------------- page


def _render_section(section: Section, n: int, m: Messages, colours: list[str] | None = None) -> str:
    ident = f"s{n}"
    parts = [f'<section class="section" id="{ident}" aria-labelledby="{ident}-h">']
    parts.append(f'<h2 id="{ident}-h">{_e(section.title)}</h2>')
    if section.description:
        parts.append(f'<p class="desc">{_e(section.description)}</p>')
    if section.chart is not None:
        parts.append(_render_chart(section.chart, f"{ident}-c", m, colours))
    if section.table is not None:
        parts.append(_render_table(section.table, section.title, f"{ident}-tbl", m))
    if section.chart is None and section.table is None and not section.description:
        parts.append(f'<p class="empty">{_e(m("Nothing to report."))}</p>')
    parts.append("</section>")
    return "".join(parts)


def _render_toc(sections: Sequence[Section], m: Messages) -> Iterator[str]:
    if len(sections) < 3:
        return
    yield f'<nav class="toc" aria-label="{_e(m("Contents"))}"><ol>'
    for n, section in enumerate(sections, start=1):
        yield f'<li><a href="#s{n}">{_e(section.title)}</a></li>'
    yield "</ol></nav>"


def render_html(report: Report, messages: Messages) -> str:
    """The whole report as one HTML5 document (UTF-8 text; write it with encoding='utf-8').

    Labels are shown in the language of `messages`; the page's script reads its few words
    (row counts) from the <html> element, so the script, and its CSP hash, stay fixed.
    """
    m = messages
    colours = [series_colours(s.chart) if s.chart is not None else None for s in report.sections]
    report = m.localize(ordered_summary(report))
    row_words = "".join(f' data-row{form}="{_e(m.rows_word(form))}"' for form in ("one", "few", "many", "other"))
    when_iso = report.generated_at.isoformat(timespec="seconds")
    # The regulation's clock: Moscow time, to the minute, whatever zone the report was made in.
    when_shown = report.generated_at.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M") + " " + m("MSK")
    out: list[str] = [
        "<!DOCTYPE html>",
        f'<html lang="{m.lang}"{row_words} data-of="{_e(m("of"))}">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="helpdesk">',
        f"<title>{_e(report.title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        '<div class="page">',
        '<header class="page-header">',
        f"<h1>{_e(report.title)}</h1>",
    ]
    if report.subtitle:
        out.append(f'<p class="subtitle">{_e(report.subtitle)}</p>')
    out.append(f'<p class="meta">{_e(m("Generated"))} <time datetime="{_e(when_iso)}">{_e(when_shown)}</time></p>')
    out.append("</header>")
    if report.summary:
        cards = "".join(_render_metric(metric, m) for metric in report.summary)
        out.append(f'<dl class="metrics" aria-label="{_e(m("Summary"))}">{cards}</dl>')
    out.extend(_render_toc(report.sections, m))
    out.append("<main>")
    out.extend(_render_section(s, n, m, colours[n - 1]) for n, s in enumerate(report.sections, start=1))
    if not report.sections:
        out.append(f'<p class="empty">{_e(m("This report has no sections."))}</p>')
    out.append("</main>")
    out.append(f'<footer class="page-footer">{_e(m("helpdesk report · self-contained page, works offline"))}</footer>')
    out.append("</div>")
    out.append(f"<script>{SCRIPT}</script>")
    out.append("</body>")
    out.append("</html>")
    return "\n".join(out) + "\n"
