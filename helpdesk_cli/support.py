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

from helpdesk_cli.terminal import render_terminal
from helpdesk_core.clock import Clock, clock_for
from helpdesk_core.config import ConnectionSettings, load_connection
from helpdesk_core.csv_report import render_csv
from helpdesk_core.errors import ConfigError
from helpdesk_core.gateway import Gateway
from helpdesk_core.html_report import render_html
from helpdesk_core.inert import inert, inert_json
from helpdesk_core.mappings import Mappings, load_mappings
from helpdesk_core.messages import LANGS, Messages, language_from, messages_for
from helpdesk_core.redaction import Redactor
from helpdesk_core.report import Report, Table, report_to_json


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


ConfigOption = Annotated[Path | None, typer.Option(
    "--config", envvar="HELPDESK_CONFIG", help="YAML file with `redmine: {url, api_key}`; "
    "REDMINE_URL / REDMINE_API_KEY override it.", exists=True, dir_okay=False)]
MappingsOption = Annotated[Path | None, typer.Option(
    "--mappings", envvar="HELPDESK_MAPPINGS", help="mappings.yaml to use instead of the bundled one.",
    exists=True, dir_okay=False)]
FormatOption = Annotated[OutputFormat, typer.Option(
    "--format", help="text for people; json prints one JSON document and nothing else on stdout.")]
HtmlOption = Annotated[Path | None, typer.Option(
    "--html", help="Also write the report as one self-contained HTML page.", dir_okay=False)]
NowOption = Annotated[str | None, typer.Option(
    "--now", help="Evaluate at this moment instead of the clock (ISO 8601 with offset).")]
InsecureOption = Annotated[bool, typer.Option(
    "--insecure", help="Do not verify TLS certificates (prints a warning).")]
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
    """Log lines quote Redmine and export data: shown inert on the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return inert(super().format(record))


@dataclass
class Session:
    """One command's context: consoles, connection settings, mappings and the clock."""

    config: Path | None = None
    mappings_path: Path | None = None
    insecure: bool = False
    now: str | None = None
    lang: str | None = None
    stdout: Console = field(default_factory=lambda: Console(soft_wrap=True))
    stderr: Console = field(default_factory=lambda: Console(stderr=True, soft_wrap=True))
    _settings: ConnectionSettings | None = None

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
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(RedactingFilter(secret))
        handler.setFormatter(InertFormatter("%(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger("helpdesk")
        root.handlers[:] = [handler]
        root.setLevel(logging.WARNING)
        root.propagate = False

    @property
    def messages(self) -> Messages:
        """The reader's language: --lang / HELPDESK_LANG, else the locale; Russian by default."""
        try:
            return messages_for(language_from(self.lang, os.environ))
        except ValueError as exc:
            raise ConfigError(str(exc), key="--lang") from None

    def gateway(self, *, writes_allowed: bool = True, pool_size: int = 16) -> Gateway:
        return Gateway(self.settings, writes_allowed=writes_allowed, pool_size=pool_size)

    def mappings(self) -> Mappings:
        return load_mappings(self.mappings_path)

    def clock(self) -> Clock:
        try:
            return clock_for(self.now)
        except ValueError as exc:
            raise ConfigError(str(exc), key="--now") from None

    def emit_json(self, document: Any) -> None:
        """The one JSON document of `--format json`, on stdout, nothing else."""
        text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False,
                                                                       indent=2, default=str)
        sys.stdout.write(inert_json(text) + "\n")
        sys.stdout.flush()

    def show_report(self, report: Report, output: OutputFormat, html: Path | None = None) -> None:
        """Terminal or JSON on stdout, and the HTML page when asked."""
        if html is not None:
            self.write_html(report, html)
        if output is OutputFormat.json:
            self.emit_json(report_to_json(report))
        else:
            render_terminal(report, self.stdout, self.messages)
            if html is not None:
                self.stdout.print(Text(inert(self.messages("HTML report: {path}", path=html))))

    def write_html(self, report: Report, path: Path) -> None:
        """The report as one HTML page in the reader's language."""
        path.write_text(render_html(report, self.messages), encoding="utf-8")

    def csv(self, table: Table) -> str:
        """A report table as CSV with its header in the reader's language."""
        return render_csv(table, self.messages)


def session_from(ctx: typer.Context) -> Session:
    """The `Session` the root callback stored on the click context."""
    obj = ctx.find_root().obj
    if not isinstance(obj, Session):
        raise ConfigError("internal: no session on the command context")
    return obj
