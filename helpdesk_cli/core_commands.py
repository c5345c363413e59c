"""Commands about the Redmine side itself: `provision` and `doctor`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.text import Text

from helpdesk_cli.support import FormatOption, OutputFormat, Session, session_from
from helpdesk_cli.terminal import safe
from helpdesk_core.doctor import DoctorResult, run_doctor
from helpdesk_core.errors import EXIT_ATTENTION, EXIT_OK, ConfigError
from helpdesk_core.provision import NotificationSwitch, provision_script
from migrator.rails_loader import runner_command

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


class Purpose(StrEnum):
    """What the Redmine is about to be used for: the mode it must be in."""

    migration = "migration"
    live = "live"


def doctor(ctx: typer.Context, output: FormatOption = OutputFormat.text,
           verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also list what is fine.")] = False,
           rails_runner: Annotated[str | None, typer.Option(
               "--rails-runner", envvar="HELPDESK_RAILS_RUNNER", show_envvar=True,
               help="The rails runner command of this Redmine: Redmine's real email setting is read with it.")] = None,
           purpose: Annotated[Purpose | None, typer.Option(
               "--for", help="migration or live: the mode Redmine must be in for what comes next.")] = None) -> int:
    """Check a live Redmine against mappings.yaml and say how to fix each problem.

    Prints the problems, warnings and the mode (--verbose: every check). Exit code 0 when
    everything is in place, 3 when something is missing or wrong (or the mode is not --for's).

    Example:
        REDMINE_URL=http://127.0.0.1:3300 REDMINE_API_KEY=... helpdesk doctor
        helpdesk doctor --for migration --rails-runner 'sudo -u www-data RAILS_ENV=production bin/rails runner'
    """
    session = session_from(ctx)
    session.refuse_csv(output, "doctor")
    runner = runner_command(rails_runner) if rails_runner else None
    result = run_doctor(session.gateway(writes_allowed=False), session.mappings(), rails_runner=runner,
                        expect=purpose.value if purpose else None)  # type: ignore[arg-type]
    if output is OutputFormat.json:
        session.emit_json(result.model_dump(mode="json") | {"problems": len(result.problems)})
    else:
        _show_checks(session, result, verbose)
    return EXIT_ATTENTION if result.problems else EXIT_OK


def _show_checks(session: Session, result: DoctorResult, verbose: bool) -> None:
    """Problems, warnings and the mode (every check with --verbose); the last line says the mode."""
    m = session.messages
    shown = [c for c in result.checks if verbose or c.status in ("problem", "warning") or c.area == "mode"]
    for check in shown:
        detail = f"  {m.text(check.detail)}" if check.detail in m.catalogue else (
            f"  {'; '.join(m.text(d, nested=True) for d in check.detail.split('; '))}" if check.detail else "")
        line = Text.assemble((f"{m(check.status):>8} ", STATUS_STYLE[check.status]),
                             safe(f"{m.text(check.area)}: {m.text(check.subject)}{detail}"))
        session.stdout.print(line)
        if check.fix and check.status != "ok":
            session.stdout.print(safe("           " + m("fix: {fix}", fix=m.text(check.fix, nested=True)), "dim"))
    hidden = len(result.checks) - len(shown)
    if hidden:
        session.stdout.print(safe(m("{n} checks fine (--verbose lists them)", n=hidden), "dim"))
    mode = m(MODE_NAMES[result.mode])
    verdict = (m("no problems; mode: {mode}", mode=mode) if not result.problems
               else m("{n} problem(s); mode: {mode}", n=len(result.problems), mode=mode))
    session.stdout.print(safe(f"{result.url}: {verdict}", "bold"))


MODE_NAMES = {"migration": "migration (nobody is emailed)", "live": "live (clients are emailed)",
              "unknown": "unknown"}


def register(app: typer.Typer) -> None:
    app.command()(provision)
    app.command()(doctor)
