"""The terminal at 80 columns (pipes, cron mail): no word is ever broken, a column empty in every
row is left out, and a table too wide for the width is shown one record per row."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from helpdesk_cli.terminal import render_terminal
from helpdesk_core.messages import messages_for
from helpdesk_core.report import Column, Report, Section, Table


def shown(table: Table, width: int = 80) -> str:
    out = io.StringIO()
    report = Report(title="SLA report", generated_at=datetime(2026, 1, 1, tzinfo=UTC),
                    sections=[Section(title="Breached and at-risk clocks", table=table)])
    render_terminal(report, Console(file=out, width=width, color_system=None, soft_wrap=True), messages_for("ru"))
    return out.getvalue()


def words_of(table: Table) -> set[str]:
    """Every word of the data (a coded state is shown translated, so it is left out)."""
    return {w for row in table.rows for k, v in row.items() if k != "state" for w in str(v).split()}


def test_a_narrow_table_keeps_every_word_whole_and_drops_an_empty_column() -> None:
    table = Table(columns=[Column(key="priority", label="Priority"), Column(key="company", label="Company"),
                           Column(key="deadline", label="Deadline"), Column(key="sla", label="SLA")],
                  rows=[{"priority": "Критический", "company": "АО «Авиа Лайн Сервис»",
                         "deadline": "2024-03-01T18:26+03:00", "sla": ""}] * 3)
    text = shown(table)
    assert "Приоритет" in text and "Критический" in text  # not «Приори тет»
    assert all(word in text for word in words_of(table))
    assert "SLA" not in text.split("\n", 1)[1]  # empty in every row (the title aside)
    assert max(len(line) for line in text.splitlines()) <= 80


def test_too_wide_for_the_terminal_becomes_records() -> None:
    keys = ("issue", "rule", "state", "priority", "company", "start", "deadline", "stopped", "used")
    table = Table(columns=[Column(key=k, label=k.capitalize(), numeric=k == "issue") for k in keys],
                  rows=[{"issue": 7, "rule": "sla-analysis", "state": "breached", "priority": "Критический",
                         "company": "ООО «Ромашка-Тревел»", "start": "2024-03-01T18:11+03:00",
                         "deadline": "2024-03-01T22:11+03:00", "stopped": "2024-03-02T10:22+03:00",
                         "used": "> 1000%"}])
    text = shown(table)
    assert "┃" not in text  # no table frame: one record per row
    assert "7 · sla-analysis · нарушен" in text
    assert "Компания: ООО «Ромашка-Тревел»" in text.replace("\u00a0", " ")
    assert all(word in text.replace("\u00a0", " ") for word in words_of(table))
    assert max(len(line) for line in text.splitlines()) <= 80
    wide = shown(table, width=200)
    assert "┃" in wide  # the same table fits a wide terminal as a table
