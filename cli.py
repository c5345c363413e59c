"""`helpdesk`: the command line, a thin shell over the library.

Each command group lives beside its library (`migrator.commands`, `policies.commands`,
`admin.commands`); this module composes them, holds the options every command shares, and
is the only place that turns errors into exit codes:

    0 done · 1 failed · 2 usage or configuration error · 3 done, but something needs attention
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import version as package_version
from typing import Annotated

import typer
from rich.text import Text

from admin import commands as admin_commands
from helpdesk_cli import core_commands
from helpdesk_cli.help import localize, usage_error
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
from helpdesk_core.messages import DEFAULT_LANG, Messages, language_from, messages_for
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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"helpdesk {package_version('helpdesk')}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_version,
                                          help="Print the version and exit.")] = False,
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


def hoist_lang(argv: list[str]) -> list[str]:
    """`--lang X` is accepted anywhere (`helpdesk sweep plan --lang en`): moved before the command."""
    hoisted, rest, i = [], [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        if arg == "--lang" and i + 1 < len(argv):
            hoisted, i = ["--lang", argv[i + 1]], i + 2
            continue
        if arg.startswith("--lang="):
            hoisted = [arg]
        else:
            rest.append(arg)
        i += 1
    return hoisted + rest


def _reader_messages(argv: list[str]) -> Messages:
    """The language of help and usage errors, known before click parses anything."""
    lang = argv[1] if argv[:1] == ["--lang"] and len(argv) > 1 else (
        argv[0].split("=", 1)[1] if argv and argv[0].startswith("--lang=") else None)
    try:
        return messages_for(language_from(lang, os.environ))
    except ValueError:
        return messages_for(DEFAULT_LANG)


def _run(session: Session, argv: list[str] | None) -> int:
    err = session.stderr
    argv = hoist_lang(list(sys.argv[1:] if argv is None else argv))
    reader = _reader_messages(argv)
    command = typer.main.get_command(app)
    localize(command, reader)
    try:
        result = command.main(args=argv, prog_name="helpdesk", standalone_mode=False, obj=session)
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
        if callable(getattr(exc, "format_message", None)) and isinstance(getattr(exc, "exit_code", None), int):
            if type(exc).__name__ == "NoArgsIsHelpError":  # `helpdesk sweep`: the group's help
                err.print(Text(exc.format_message()), highlight=False)
            else:
                for line in usage_error(exc, reader):
                    err.print(safe(line), highlight=False)
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
