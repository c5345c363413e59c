"""Terminal rendering of a `Report` with rich: what an administrator reads after a command.

Renderers are the only code that prints. Long tables are cut on the terminal (the JSON and
HTML outputs always carry every row) and the cut is said, never silent. Every string goes
through `safe`: report text quotes clients and must not drive the terminal.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from helpdesk_core.inert import inert
from helpdesk_core.messages import Messages
from helpdesk_core.report import (
    Chart,
    Column,
    Report,
    Table,
    chart_value,
    columns_with_values,
    format_value,
    ordered_summary,
)

TONE_STYLE = {"ok": "green", "warn": "yellow", "bad": "bold red", None: ""}
MAX_TERMINAL_ROWS = 40


def safe(text: str, style: str = "") -> Text:
    """Text for the terminal: never markup ("[bold]" stays literal), never a control sequence."""
    return Text(inert(text), style=style)


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=0)


def _fits(table: Table, columns: list[Column], width: int) -> bool:
    """Whether every column gets its longest word whole (so no word is ever broken) within `width`."""
    if any(c.block for c in columns):
        return False
    need = [max(_longest_word(c.label), *(_longest_word(format_value(r.get(c.key))) for r in table.rows))
            for c in columns]
    # rich's heavy-head box: one border per column plus one, and one space of padding on each side.
    return sum(need) + 3 * len(columns) + 1 <= width and all(n <= width // 2 for n in need)


def _table(table: Table, title: str | None, max_rows: int, columns: list[Column]) -> RichTable:
    rich = RichTable(title=safe(title) if title else None, title_justify="left", show_lines=False,
                     header_style="bold")
    for column in columns:
        minimum = max(_longest_word(column.label),
                      *(_longest_word(format_value(r.get(column.key))) for r in table.rows[:max_rows]))
        rich.add_column(safe(column.label), justify=column.align, overflow="fold", min_width=minimum)
    for row in table.rows[:max_rows]:
        rich.add_row(*(safe(format_value(row.get(c.key))) for c in columns))
    return rich


def _wrapped(text: str, width: int, indent: str) -> list[str]:
    """Lines of `text` within `width`, words never broken (no-break spaces hold pairs together);
    a word longer than a line is cut with «…»."""
    lines: list[str] = []
    room = max(width - len(indent), 10)
    for paragraph in text.splitlines() or [""]:
        words = [w if len(w) <= room else w[:room - 1] + "…" for w in paragraph.split(" ") if w]
        lines += [indent + line for line in textwrap.wrap(" ".join(words), room, break_long_words=False,
                                                          break_on_hyphens=False)] or [""]
    return lines


def _pair(label: str, value: str, sep: str = " ") -> str:
    return f"{label}{sep}{value}".replace(" ", "\u00a0") if len(label) + len(value) < 40 else f"{label}{sep}{value}"


def _records(table: Table, title: str | None, max_rows: int, columns: list[Column], console: Console) -> None:
    """A table too wide for the terminal, one record per row: the first columns as a heading, then
    short values as "label: value" pairs, and long or multi-line text under its label; no word broken."""
    width = console.width
    if title:
        console.print(safe(title, "bold"))
    head, rest = columns[:min(3, len(columns))], columns[min(3, len(columns)):]
    spaced = any(c.block for c in columns)
    for row in table.rows[:max_rows]:
        heading = " · ".join(("#" if c.link and not c.link_key else "") + format_value(row.get(c.key)) for c in head
                             if row.get(c.key) not in (None, ""))
        for line in _wrapped(heading, width, ""):
            console.print(safe(line, "bold"))
        links = list(dict.fromkeys(filter(None, (c.href_in(row) for c in columns))))  # each address once
        for link in links:
            console.print(safe(f"  {link}", "dim"))
        values = [(c, format_value(row.get(c.key))) for c in rest
                  if row.get(c.key) not in (None, "") and format_value(row.get(c.key)) not in links]
        long = [(c, v) for c, v in values if c.block or "\n" in v or len(v) > width // 2]
        pairs = " · ".join(_pair(c.label, v, " " if c.numeric else ": ") for c, v in values if (c, v) not in long)
        for line in _wrapped(pairs, width, "  ") if pairs else []:
            console.print(safe(line))
        for column, value in long:
            console.print(safe(f"  {column.label}:", "dim"))
            for line in _wrapped(value, width, "    "):
                console.print(safe(line))
        if spaced:
            console.print()


def _chart(chart: Chart, console: Console) -> None:
    """Stacked bars add up; grouped bars (one per series, e.g. two rules' percentages) never do."""
    def number(value: object) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    if chart.kind == "stacked-bar" or len(chart.series) == 1:
        bars = [(c, "", sum(number(s.values[i]) or Decimal(0) for s in chart.series))
                for i, c in enumerate(chart.categories)]
    else:
        bars = [(c if j == 0 else "", s.name, number(s.values[i]))
                for i, c in enumerate(chart.categories) for j, s in enumerate(chart.series)]
    peak = max((v for _, _, v in bars if v is not None), default=Decimal(0)) or Decimal(1)
    if chart.unit == "%":
        peak = max(peak, Decimal(100))
    width = max((len(c) for c in chart.categories), default=0)
    names = max((len(n) for _, n, _ in bars), default=0)
    unit = f" {chart.unit}" if chart.unit else ""
    room = max(console.width - width - names - 14, 10)
    console.print(safe(chart.title, "bold"))
    for category, name, value in bars:
        label = f"{name:<{names}} " if names else ""
        bar, shown_unit = ("█" * int(Decimal(room) * value / peak), unit) if value is not None else ("", "")
        console.print(safe(f"  {category:<{width}} {label}{bar} {chart_value(value)}{shown_unit}"))


def render_terminal(report: Report, console: Console, messages: Messages, *,
                    max_rows: int = MAX_TERMINAL_ROWS) -> None:
    """Print a report: headline metrics, then each section's table (cut) and chart, in `messages`' language."""
    report = messages.localize(ordered_summary(report))
    console.print(safe(report.title, "bold underline"))
    if report.subtitle:
        console.print(safe(report.subtitle, "dim"))
    if report.summary:
        summary = RichTable(show_header=False, box=None, padding=(0, 2))
        summary.add_column(justify="left")
        summary.add_column(justify="right")
        for metric in report.summary:
            summary.add_row(safe(metric.label), safe(format_value(metric.value), TONE_STYLE[metric.tone]))
        console.print(summary)
    for section in report.sections:
        if section.table is None and section.chart is None:
            continue
        console.print()
        if section.table is not None:
            if not section.table.rows:
                console.print(safe(f"{section.title}: {section.table.empty_text}", "dim"))
            elif max_rows == 0:
                console.print(safe(messages("{title}: {rows} (all of them: --format json or --html FILE)",
                                            title=section.title, rows=messages.rows(len(section.table.rows)))))
            else:
                columns = columns_with_values(section.table)
                if _fits(section.table, columns, console.width):
                    console.print(_table(section.table, section.title, max_rows, columns))
                else:
                    _records(section.table, section.title, max_rows, columns, console)
                hidden = len(section.table.rows) - max_rows
                if hidden > 0:
                    console.print(safe(messages("  … {hidden} more rows: use --format json or --html FILE",
                                                hidden=hidden), "dim"))
        # Beside a table the chart repeats its numbers: on a terminal the table alone says it.
        if section.chart is not None and section.chart.categories and section.table is None:
            _chart(section.chart, console)
