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
from rich.console import Console
from rich.text import Text

from admin import commands as admin_commands
from helpdesk_cli import core_commands
from helpdesk_cli.support import ConfigOption, InsecureOption, MappingsOption, Session
from helpdesk_core.errors import EXIT_USAGE, HelpdeskError
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
) -> None:
    """Shared options; see each command's --help."""
    ctx.obj = Session(config=config, mappings_path=mappings, insecure=insecure)


for register in (core_commands.register, migrator_commands.register, policies_commands.register,
                 admin_commands.register):
    register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the app; every `HelpdeskError` becomes one line on stderr and its exit code."""
    err = Console(stderr=True, soft_wrap=True)
    try:
        result = app(args=argv, standalone_mode=False)
    except HelpdeskError as exc:
        if os.environ.get("HELPDESK_TRACEBACK"):
            raise
        # Text, not markup: a message may quote ticket data such as "[b]".
        err.print(Text.assemble(("error: ", "bold red"), str(exc)), highlight=False)
        if exc.hint:
            err.print(Text(f"hint: {exc.hint}", style="dim"), highlight=False)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("aborted")
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as exc:
        # Usage errors come from click, which newer typer vendors: recognise them by shape.
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            show()
            return EXIT_USAGE
        raise
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
