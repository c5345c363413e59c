"""Terminal rendering of a `Report` with rich: what an administrator reads after a command.

Renderers are the only code that prints. Long tables are cut on the terminal (the JSON and
HTML outputs always carry every row) and the cut is said, never silent.
"""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from helpdesk_core.report import Chart, Report, Table, format_value

TONE_STYLE = {"ok": "green", "warn": "yellow", "bad": "bold red", None: ""}
MAX_TERMINAL_ROWS = 40


def _table(table: Table, title: str | None, max_rows: int) -> RichTable:
    rich = RichTable(title=title, title_justify="left", show_lines=False, header_style="bold")
    for column in table.columns:
        rich.add_column(column.label, justify=column.align, overflow="fold")
    for row in table.rows[:max_rows]:
        # Text(...) so that ticket text like "[bold]" is shown literally, never as markup.
        rich.add_row(*(Text(format_value(row.get(c.key))) for c in table.columns))
    return rich


def _chart(chart: Chart, console: Console) -> None:
    totals = [sum(Decimal(str(s.values[i])) for s in chart.series) for i in range(len(chart.categories))]
    peak = max(totals, default=Decimal(0)) or Decimal(1)
    width = max((len(c) for c in chart.categories), default=0)
    console.print(Text(chart.title, style="bold"))
    for category, total in zip(chart.categories, totals, strict=True):
        bar = "█" * int(Decimal(30) * total / peak)
        console.print(Text(f"  {category:<{width}} {bar} {format_value(total)}"))


def render_terminal(report: Report, console: Console, *, max_rows: int = MAX_TERMINAL_ROWS) -> None:
    """Print a report: headline metrics, then each section's table (cut) and chart."""
    console.print(Text(report.title, style="bold underline"))
    if report.subtitle:
        console.print(Text(report.subtitle, style="dim"))
    if report.summary:
        summary = RichTable(show_header=False, box=None, padding=(0, 2))
        summary.add_column(justify="left")
        summary.add_column(justify="right")
        for metric in report.summary:
            summary.add_row(Text(metric.label),
                            Text(format_value(metric.value), style=TONE_STYLE[metric.tone]))
        console.print(summary)
    for section in report.sections:
        if section.table is None and section.chart is None:
            continue
        console.print()
        if section.table is not None:
            if not section.table.rows:
                console.print(Text(f"{section.title}: {section.table.empty_text}", style="dim"))
            else:
                console.print(_table(section.table, section.title, max_rows))
                hidden = len(section.table.rows) - max_rows
                if hidden > 0:
                    console.print(Text(f"  … {hidden} more rows: use --format json or --html FILE",
                                       style="dim"))
        if section.chart is not None and section.chart.categories:
            _chart(section.chart, console)
