"""Terminal rendering of a `Report` with rich: what an administrator reads after a command.

Renderers are the only code that prints. Long tables are cut on the terminal (the JSON and
HTML outputs always carry every row) and the cut is said, never silent. Every string goes
through `safe`: report text quotes clients and must not drive the terminal.
"""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from helpdesk_core.inert import inert
from helpdesk_core.messages import Messages
from helpdesk_core.report import Chart, Report, Table, format_value

TONE_STYLE = {"ok": "green", "warn": "yellow", "bad": "bold red", None: ""}
MAX_TERMINAL_ROWS = 40


def safe(text: str, style: str = "") -> Text:
    """Text for the terminal: never markup ("[bold]" stays literal), never a control sequence."""
    return Text(inert(text), style=style)


def _table(table: Table, title: str | None, max_rows: int) -> RichTable:
    rich = RichTable(title=safe(title) if title else None, title_justify="left", show_lines=False,
                     header_style="bold")
    for column in table.columns:
        rich.add_column(safe(column.label), justify=column.align, overflow="fold")
    for row in table.rows[:max_rows]:
        rich.add_row(*(safe(format_value(row.get(c.key))) for c in table.columns))
    return rich


def _chart(chart: Chart, console: Console) -> None:
    totals = [sum(Decimal(str(s.values[i])) for s in chart.series) for i in range(len(chart.categories))]
    peak = max(totals, default=Decimal(0)) or Decimal(1)
    width = max((len(c) for c in chart.categories), default=0)
    console.print(safe(chart.title, "bold"))
    for category, total in zip(chart.categories, totals, strict=True):
        bar = "█" * int(Decimal(30) * total / peak)
        console.print(safe(f"  {category:<{width}} {bar} {format_value(total)}"))


def render_terminal(report: Report, console: Console, messages: Messages, *,
                    max_rows: int = MAX_TERMINAL_ROWS) -> None:
    """Print a report: headline metrics, then each section's table (cut) and chart, in `messages`' language."""
    report = messages.localize(report)
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
            else:
                console.print(_table(section.table, section.title, max_rows))
                hidden = len(section.table.rows) - max_rows
                if hidden > 0:
                    console.print(safe(messages("  … {hidden} more rows: use --format json or --html FILE",
                                                hidden=hidden), "dim"))
        if section.chart is not None and section.chart.categories:
            _chart(section.chart, console)
