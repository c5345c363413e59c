"""The terminal's table rows and the one `--format` scheme."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from rich.console import Console

import cli
from helpdesk_cli.terminal import render_terminal
from helpdesk_core.messages import messages_for
from helpdesk_core.report import Column, Metric, Report, Section, Table


def report(rows: int) -> Report:
    table = Table(columns=[Column(key="n", label="n", numeric=True)], rows=[{"n": i} for i in range(rows)])
    return Report(title="Migration run", generated_at=datetime(2026, 1, 1, tzinfo=UTC),
                  summary=[Metric(label="tickets read", value=rows)],
                  sections=[Section(title="Differences", table=table)])


def rendered(rows: int, max_rows: int, lang: str = "ru") -> str:
    out = io.StringIO()
    render_terminal(report(rows), Console(file=out, width=100, color_system=None), messages_for(lang),
                    max_rows=max_rows)
    return out.getvalue()


def test_zero_rows_prints_one_line_per_table_with_its_size() -> None:
    text = rendered(23, 0)
    assert "Расхождения: 23 строки (все: --format json или --html FILE)" in text
    assert "прочитано обращений" in text and "┃" not in text
    assert len(text.splitlines()) == 4  # title, one metric, blank, the table's line


def test_a_cut_table_says_how_many_rows_are_hidden() -> None:
    text = rendered(45, 40, "en")
    assert "… 5 more rows" in text


@pytest.mark.parametrize("command", [["doctor"], ["sweep", "rules"], ["sweep", "run"]])
def test_csv_where_no_report_is_printed_is_a_usage_error_before_any_work(
        command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REDMINE_URL", "http://127.0.0.1:9")  # never contacted
    monkeypatch.setenv("REDMINE_API_KEY", "x" * 40)
    assert cli.main(["--lang", "en", *command, "--format", "csv"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "use text or json" in captured.err
    assert "retry" not in captured.err and "повтор" not in captured.err


def test_a_command_leaves_the_process_logging_as_it_found_it(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import logging
    logger = logging.getLogger("helpdesk")
    before = (logger.handlers[:], logger.level, logger.propagate)
    monkeypatch.setenv("REDMINE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("REDMINE_API_KEY", "x" * 40)
    assert cli.main(["sweep", "plan", "--now", "not-a-time"]) == 2  # settings (and the handler) were loaded
    assert (logger.handlers[:], logger.level, logger.propagate) == before


def test_nothing_to_measure_is_a_dash_in_every_renderer_never_zero() -> None:
    from helpdesk_core.html_report import render_html
    from helpdesk_core.report import NO_VALUE, Chart, Series

    chart = Chart(title="Met / (met + breached), %", categories=["Блокер", "Низкий"], unit="%",
                  series=[Series(name="sla-reaction", values=[None, 50]),
                          Series(name="sla-analysis", values=[0, None])])
    page = Report(title="SLA report", generated_at=datetime(2026, 1, 1, tzinfo=UTC),
                  sections=[Section(title="Compliance per priority", chart=chart)])
    out = io.StringIO()
    render_terminal(page, Console(file=out, width=100, color_system=None), messages_for("ru"))
    lines = [line for line in out.getvalue().splitlines() if "sla-" in line]
    assert [line.rstrip().endswith(NO_VALUE) for line in lines] == [True, False, False, True]
    assert lines[1].rstrip().endswith(" 0 %")  # a measured 0 is 0, not «—»
    html = render_html(page, messages_for("ru"))
    assert f"Блокер — sla-reaction: {NO_VALUE}" in html and f"Низкий — sla-analysis: {NO_VALUE}" in html
