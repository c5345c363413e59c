"""`helpdesk`: the command line, a thin shell over the library.

Each command group lives beside its library (`migrator.commands`, `policies.commands`,
`admin.commands`); this module composes them, holds the options every command shares, and
is the only place that turns errors into exit codes:

    0 done · 1 failed · 2 usage or configuration error · 3 done, but something needs attention
"""

from __future__ import annotations

import os
import sys

import typer
from rich.text import Text

from admin import commands as admin_commands
from helpdesk_cli import core_commands
from helpdesk_cli.support import (
    ConfigOption,
    CsvDialectOption,
    InsecureOption,
    LangOption,
    MappingsOption,
    Session,
    TableRowsOption,
)
from helpdesk_cli.terminal import MAX_TERMINAL_ROWS, safe
from helpdesk_core.errors import EXIT_USAGE, HelpdeskError
from helpdesk_core.messages import DEFAULT_LANG, Messages, messages_for
from migrator import commands as migrator_commands
from policies import commands as policies_commands

app = typer.Typer(
    name="helpdesk",
    help="Move Nemo Travel support from the client portal to Redmine, and run the tracker by its "
    "regulation. Connection: REDMINE_URL and REDMINE_API_KEY, or --config FILE.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def root(
    ctx: typer.Context,
    config: ConfigOption = None,
    mappings: MappingsOption = None,
    insecure: InsecureOption = False,
    lang: LangOption = None,
    table_rows: TableRowsOption = MAX_TERMINAL_ROWS,
    csv_dialect: CsvDialectOption = None,
) -> None:
    """Shared options; see each command's --help."""
    session = ctx.ensure_object(Session)
    session.config, session.mappings_path, session.insecure, session.lang = config, mappings, insecure, lang
    session.table_rows = table_rows
    session.csv_dialect = csv_dialect
    session.messages  # noqa: B018 - an unknown --lang is a usage error before any work


for register in (core_commands.register, migrator_commands.register, policies_commands.register,
                 admin_commands.register):
    register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the app; every `HelpdeskError` becomes one line on stderr and its exit code."""
    session = Session()
    try:
        return _run(session, argv)
    finally:
        session.finish()


def _run(session: Session, argv: list[str] | None) -> int:
    err = session.stderr
    try:
        result = app(args=argv, standalone_mode=False, obj=session)
    except HelpdeskError as exc:
        session.close()
        if os.environ.get("HELPDESK_TRACEBACK"):
            raise
        m = _messages(session)
        # Not markup, and inert: a message may quote ticket data such as "[b]" or an ESC sequence.
        err.print(Text.assemble((m("error: "), "bold red"), safe(m.text(str(exc)))), highlight=False)
        if exc.hint:
            err.print(Text.assemble(m("hint: "), safe(m.text(exc.hint)), style="dim"), highlight=False)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        session.close()
        err.print(_messages(session)("aborted"))
        return 1
    except KeyboardInterrupt:
        session.close()
        err.print(_messages(session)("interrupted"))
        return 130
    except Exception as exc:
        session.close()
        # Usage errors come from click, which newer typer vendors: recognise them by shape.
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            show()
            return EXIT_USAGE
        raise
    return int(result or 0)


def _messages(session: Session) -> Messages:
    """The session's language; a bad --lang itself is reported in the default language."""
    try:
        return session.messages
    except HelpdeskError:
        return messages_for(DEFAULT_LANG)


if __name__ == "__main__":
    sys.exit(main())
