"""What every command shares: connection options, output modes, and report writing.

Command modules (`migrator.commands`, `policies.commands`, `admin.commands`) build on these
so that `--config`, `--format json`, `--html FILE` and the error handling behave the same
everywhere; `cli.main` turns errors into exit codes.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from helpdesk_cli.progress import Bars
from helpdesk_cli.terminal import MAX_TERMINAL_ROWS, render_terminal
from helpdesk_core.clock import Clock, clock_for
from helpdesk_core.config import ConnectionSettings, load_connection
from helpdesk_core.csv_report import dialect_from, render_csv
from helpdesk_core.errors import ConfigError
from helpdesk_core.gateway import Gateway
from helpdesk_core.html_report import render_html
from helpdesk_core.inert import inert, inert_json
from helpdesk_core.mappings import Mappings, load_mappings
from helpdesk_core.messages import LANGS, Messages, language_from, messages_for
from helpdesk_core.redaction import Redactor
from helpdesk_core.report import Report, Table, report_to_json


class OutputFormat(StrEnum):
    """The one `--format` of every command: text for people, json for scripts, csv for spreadsheets."""

    text = "text"
    json = "json"
    csv = "csv"


ConfigOption = Annotated[Path | None, typer.Option(
    "--config", envvar="HELPDESK_CONFIG", help="YAML file with `redmine: {url, api_key}`; "
    "REDMINE_URL / REDMINE_API_KEY override it.", exists=True, dir_okay=False)]
MappingsOption = Annotated[Path | None, typer.Option(
    "--mappings", envvar="HELPDESK_MAPPINGS", help="mappings.yaml to use instead of the bundled one.",
    exists=True, dir_okay=False)]
FormatOption = Annotated[OutputFormat, typer.Option(
    "--format", help="text for people; json prints one JSON document and nothing else on stdout; "
    "csv prints the report's main table (commands that print a report).")]
HtmlOption = Annotated[Path | None, typer.Option(
    "--html", help="Also write the report as one self-contained HTML page.", dir_okay=False)]
NowOption = Annotated[str | None, typer.Option(
    "--now", help="Evaluate at this moment instead of the clock (ISO 8601 with offset).")]
InsecureOption = Annotated[bool, typer.Option(
    "--insecure", help="Do not verify TLS certificates (prints a warning).")]
TableRowsOption = Annotated[int, typer.Option(
    "--table-rows", envvar="HELPDESK_TABLE_ROWS", min=0,
    help="Rows per table on the terminal (0: one line per table); JSON, CSV and HTML carry every row.")]
CsvDialectOption = Annotated[str | None, typer.Option(
    "--csv-dialect", envvar="HELPDESK_CSV_DIALECT", help="CSV for --format csv: rfc4180 (comma, 3.45, ISO "
    "dates) or excel-ru (BOM, ';', 3,45, ДД.ММ.ГГГГ: opens as columns in Russian Excel). Default: excel-ru "
    "when LC_NUMERIC is Russian, else rfc4180.")]
LangOption = Annotated[str | None, typer.Option(
    "--lang", envvar="HELPDESK_LANG", help=f"Language of tables, reports and hints: {' or '.join(LANGS)}. "
    "Default: en when the locale (LC_ALL, LC_MESSAGES, LANG) is English, else ru. JSON is always the same.")]


class RedactingFilter(logging.Filter):
    """Belt and braces: no log record may carry the API key, whatever formatted it."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._redact = Redactor(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._redact.found_in(message):  # however spelt: escaped, encoded, case-changed
            record.msg, record.args = self._redact(message), None
        return True


class InertFormatter(logging.Formatter):
    """Log lines quote Redmine and export data: shown inert on the terminal, in the reader's language
    ("внимание: …"), without the logger's name (a developer's detail)."""

    def __init__(self, messages: Messages) -> None:
        super().__init__("%(message)s")
        self._messages = messages

    def format(self, record: logging.LogRecord) -> str:
        m = self._messages
        prefix = m("warning: ") if record.levelno == logging.WARNING else f"{record.levelname.lower()}: "
        return inert(prefix + m.text(super().format(record)))


@dataclass
class Session:
    """One command's context: consoles, connection settings, mappings and the clock."""

    config: Path | None = None
    mappings_path: Path | None = None
    insecure: bool = False
    lang: str | None = None
    table_rows: int = MAX_TERMINAL_ROWS
    csv_dialect: str | None = None
    stdout: Console = field(default_factory=lambda: Console(soft_wrap=True))
    stderr: Console = field(default_factory=lambda: Console(stderr=True, soft_wrap=True))
    _settings: ConnectionSettings | None = None
    _bars: Bars | None = None
    _logging: tuple[logging.Handler, list[logging.Handler], int, bool] | None = None

    @property
    def settings(self) -> ConnectionSettings:
        if self._settings is None:
            self._settings = load_connection(self.config, insecure=self.insecure)
            self._install_redaction(self._settings.api_key.get_secret_value())
            if not self._settings.verify_tls:
                m = self.messages
                self.stderr.print(Text.assemble((m("warning: "), "yellow"),
                                                m("TLS certificate verification is OFF (--insecure)")))
        return self._settings

    def _install_redaction(self, secret: str) -> None:
        """Warnings of this command on stderr, redacted and inert; `close` puts the logger back.

        The logger is the process's, so the handler lives exactly as long as the command: a
        second session in the same process (tests, a caller) neither stacks nor loses handlers.
        """
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(RedactingFilter(secret))
        handler.setFormatter(InertFormatter(self._log_messages()))
        logger = logging.getLogger("helpdesk")
        self._logging = (handler, logger.handlers[:], logger.level, logger.propagate)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.WARNING)
        logger.propagate = False

    def _log_messages(self) -> Messages:
        try:
            return self.messages
        except ConfigError:
            return messages_for("ru")

    @property
    def messages(self) -> Messages:
        """The reader's language: --lang / HELPDESK_LANG, else the locale; Russian by default."""
        try:
            return messages_for(language_from(self.lang, os.environ))
        except ValueError as exc:
            raise ConfigError(str(exc), key="--lang") from None

    @property
    def bars(self) -> Bars:
        """The command's progress bars (stderr, terminal only)."""
        if self._bars is None:
            self._bars = Bars(self.stderr)
        return self._bars

    def close(self) -> None:
        """End of output: bars stop before anything else is printed; at the very end, logging is restored."""
        if self._bars is not None:
            self._bars.close()

    def finish(self) -> None:
        """The command is over: nothing of it stays in the process (bars, log handler)."""
        self.close()
        if self._logging is not None:
            _, handlers, level, propagate = self._logging
            logger = logging.getLogger("helpdesk")
            logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate
            self._logging = None

    def gateway(self, *, writes_allowed: bool = True, pool_size: int = 16) -> Gateway:
        return Gateway(self.settings, writes_allowed=writes_allowed, pool_size=pool_size,
                       progress=lambda path, done, total: self.bars.update(path, done, total))

    def mappings(self) -> Mappings:
        return load_mappings(self.mappings_path)

    def clock(self, now: str | None = None) -> Clock:
        """The command's clock: fixed at `now` (a command's --now) when given, else the real one."""
        try:
            return clock_for(now)
        except ValueError as exc:
            raise ConfigError(str(exc), key="--now") from None

    def emit_json(self, document: Any) -> None:
        """The one JSON document of `--format json`, on stdout, nothing else."""
        self.close()
        text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False,
                                                                       indent=2, default=str)
        sys.stdout.write(inert_json(text) + "\n")
        sys.stdout.flush()

    def show_report(self, report: Report, output: OutputFormat, html: Path | None = None, *,
                    table: Table | None = None) -> None:
        """Terminal, JSON or CSV (`table`, else the report's first table) on stdout; the HTML page when asked."""
        self.close()
        if html is not None:
            self.write_html(report, html)
        if output is OutputFormat.csv:
            main = table or next((s.table for s in report.sections if s.table is not None), None)
            if main is None:
                raise ConfigError("this report has no table to write as CSV", key="--format")
            sys.stdout.write(self.csv(main))
            sys.stdout.flush()
        elif output is OutputFormat.json:
            self.emit_json(report_to_json(report))
        else:
            render_terminal(report, self.stdout, self.messages, max_rows=self.table_rows)
            if html is not None:
                self.stdout.print(Text(inert(self.messages("HTML report: {path}", path=html))))

    def write_html(self, report: Report, path: Path) -> None:
        """The report as one HTML page in the reader's language."""
        path.write_text(render_html(report, self.messages), encoding="utf-8")

    @staticmethod
    def refuse_csv(output: OutputFormat, what: str) -> None:
        """Commands whose output is not a report: csv is a usage error, not silently text."""
        if output is OutputFormat.csv:
            raise ConfigError(f"{what} prints no table for CSV: use text or json", key="--format")

    def csv(self, table: Table) -> str:
        """A report table as CSV with its header in the reader's language."""
        try:
            dialect = dialect_from(self.csv_dialect, dict(os.environ))
        except ValueError as exc:
            raise ConfigError(str(exc), key="--csv-dialect") from None
        return render_csv(table, self.messages, dialect)


def session_from(ctx: typer.Context) -> Session:
    """The `Session` the root callback stored on the click context."""
    obj = ctx.find_root().obj
    if not isinstance(obj, Session):
        raise ConfigError("internal: no session on the command context")
    return obj
