"""Commands about the Redmine side itself: `provision` and `doctor`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from helpdesk_cli.support import FormatOption, OutputFormat, session_from
from helpdesk_cli.terminal import safe
from helpdesk_core.doctor import run_doctor
from helpdesk_core.errors import EXIT_ATTENTION, EXIT_OK, ConfigError
from helpdesk_core.provision import NotificationSwitch, provision_script

STATUS_STYLE = {"ok": "green", "problem": "bold red", "warning": "yellow", "info": "dim"}


def provision(
    ctx: typer.Context,
    ruby: Annotated[bool, typer.Option("--ruby", help="Print the rails-runner script (required).")] = False,
    notifications: Annotated[str, typer.Option(
        help="keep, on or off: switch Redmine's email notifications (off during a migration).")] = "keep",
) -> int:
    """Print a Ruby script that creates or updates every object of mappings.yaml.

    Redmine's REST API cannot create trackers, statuses, priorities, custom fields, roles or
    workflows; run the script on the Redmine host. Running it twice changes nothing.

    Example:
        helpdesk provision --ruby --notifications off > provision.rb
        X_DEBIAN_SITEID=default RAILS_ENV=production bin/rails runner provision.rb
    """
    if not ruby:
        raise ConfigError("only --ruby is supported: the REST API cannot create these objects",
                          key="--ruby")
    if notifications not in ("keep", "on", "off"):
        raise ConfigError("must be keep, on or off", key="--notifications")
    switch: NotificationSwitch = notifications  # type: ignore[assignment]
    typer.echo(provision_script(session_from(ctx).mappings(), switch), nl=False)
    return EXIT_OK


def doctor(ctx: typer.Context, output: FormatOption = OutputFormat.text) -> int:
    """Check a live Redmine against mappings.yaml and say how to fix each problem.

    Exit code 0 when everything is in place, 3 when something is missing or wrong.

    Example:
        REDMINE_URL=http://127.0.0.1:3300 REDMINE_API_KEY=... helpdesk doctor
    """
    session = session_from(ctx)
    result = run_doctor(session.gateway(writes_allowed=False), session.mappings())
    if output is OutputFormat.json:
        session.emit_json(result.model_dump(mode="json") | {"problems": len(result.problems)})
    else:
        m = session.messages
        for check in result.checks:
            detail = f"  {check.detail}" if check.detail else ""
            line = Text.assemble((f"{m(check.status):>8} ", STATUS_STYLE[check.status]),
                                 safe(f"{check.area}: {check.subject}{detail}"))
            session.stdout.print(line)
            if check.fix and check.status != "ok":
                session.stdout.print(safe("           " + m("fix: {fix}", fix=check.fix), "dim"))
        verdict = m("all good") if not result.problems else m("{n} problem(s)", n=len(result.problems))
        session.stdout.print(safe(f"{result.url}: {verdict}", "bold"))
    return EXIT_ATTENTION if result.problems else EXIT_OK


def register(app: typer.Typer) -> None:
    app.command()(provision)
    app.command()(doctor)
