"""`helpdesk migrate plan|run|verify|fix-dates`: thin commands over `migrator.engine`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from helpdesk_cli.support import FormatOption, HtmlOption, OutputFormat, Session, session_from
from helpdesk_core.doctor import notifications_state
from helpdesk_core.errors import EXIT_ATTENTION, EXIT_OK, ConfigError
from helpdesk_core.mappings import Mappings
from migrator.engine import Migration, MigrationOptions
from migrator.fix_dates import fix_dates_script
from migrator.ledger import Ledger, default_ledger_path
from migrator.rails_loader import LoaderPool, RailsLoader, runner_command
from migrator.rejects import default_rejects_path
from migrator.report import migration_report, verify_report
from migrator.verify import attachment_limit, run_settings, verify_migration

migrate_app = typer.Typer(help="Move a portal export into Redmine: plan, run, verify, fix-dates.",
                          no_args_is_help=True)

ExportArg = Annotated[Path, typer.Argument(help="The export: a directory or a .zip (portal-export-v1).",
                                           exists=True)]
StateOption = Annotated[Path | None, typer.Option(
    "--state", help="The ledger (SQLite). Default: <export>.ledger.sqlite beside the export.", dir_okay=False)]
AttachmentLimit = Annotated[int | None, typer.Option(
    "--attachment-limit-kb",
    help=("Largest attachment Redmine accepts (default: what the last run recorded in the ledger, "
          "else mappings settings)."))]
AdoptExisting = Annotated[bool, typer.Option(
    "--adopt-existing", help="Write as accounts that already exist in Redmine with a portal user's email "
                             "(never an administrator's or a locked one; their status is never changed). "
                             "Without it such users are held: the stand-in writes for them, naming them.")]
RejectsOption = Annotated[Path | None, typer.Option(
    "--rejects", file_okay=False, help="Directory for the bad lines, whole, for a corrected re-run "
    "(DIR/<file>.jsonl byte for byte + DIR/index.jsonl).")]


class LoaderKind(StrEnum):
    rest = "rest"
    rails = "rails"


@contextmanager
def _loader(kind: LoaderKind, runner: str | None, workers: int,
            mappings: Mappings) -> Iterator[RailsLoader | None]:
    """The Ruby loaders for `--loader rails` (one per worker), booting while the snapshot is read."""
    if kind is LoaderKind.rest:
        yield None
        return
    pool = LoaderPool(runner_command(runner), workers, mappings.custom_fields.portal_id.name)
    loader = None
    try:
        loader = RailsLoader(pool)
        yield loader
    finally:
        pool.close()
        if loader is not None:
            loader.close()


@contextmanager
def _progress(session: Session, enabled: bool, label: str) -> Iterator[Callable[[int, int], None]]:
    """The tickets' bar among the command's bars (stderr, terminal only)."""
    try:
        yield (lambda done, total: session.bars.update(label, done, total)) if enabled else (lambda done, total: None)
    finally:
        session.close()


def _migrate(ctx: typer.Context, export: Path, state: Path | None, *, dry_run: bool, workers: int,
             output: OutputFormat, html: Path | None, report: Path | None, allow_notifications: bool,
             attachment_limit_kb: int | None, adopt_existing: bool, rejects: Path | None,
             loader: LoaderKind = LoaderKind.rest, rails_runner: str | None = None) -> int:
    if loader is LoaderKind.rails:
        runner_command(rails_runner)  # a missing command is a usage error before anything starts
    session = session_from(ctx)
    mappings = session.mappings()
    gateway = session.gateway(writes_allowed=not dry_run, pool_size=max(workers, 4))
    if not dry_run and not allow_notifications and notifications_state(gateway) == "on":
        raise ConfigError("Redmine's email notifications are on: every client would be emailed. Run "
                          "`helpdesk provision --ruby --notifications off` on the Redmine host, or pass "
                          "--allow-notifications", key="notifications")
    path = state or default_ledger_path(export)
    # A plan writes nothing anywhere: it reads a private copy of the ledger (or none).
    ledger = Ledger.snapshot(path) if dry_run else Ledger(path)
    # The attachment limit as `verify` judges it: the option, else what the last run recorded, else
    # mappings.yaml. A later plan or delta run without the option keeps the migration's limit.
    limit_kb = attachment_limit(attachment_limit_kb, ledger, mappings).kb
    mappings = mappings.model_copy(update={"settings": mappings.settings.model_copy(
        update={"attachment_max_size_kb": limit_kb})})
    if not dry_run:  # what `verify` must judge by (migrator.verify.attachment_limit)
        ledger.record_run_settings(run_settings(mappings, adopt_existing=adopt_existing, loader=loader.value),
                                   session.clock().now().isoformat(timespec="seconds"))
    options = MigrationOptions(dry_run=dry_run, workers=workers, adopt_existing=adopt_existing,
                               rejects=rejects)
    try:
        with (_loader(loader, rails_runner, workers, mappings) as ticket_loader,
              _progress(session, output is OutputFormat.text, "plan" if dry_run else "migrate") as progress):
            result = Migration(export, gateway, mappings, ledger, options, progress=progress,
                               loader=ticket_loader).execute()
    finally:
        ledger.close()
    rendered = migration_report(result, session.clock().now())
    if report is not None:
        report.write_text(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2), "utf-8")
    if output is OutputFormat.json:
        session.emit_json(result.model_dump(mode="json"))  # richer than the report: every count
        if html is not None:
            session.write_html(rendered, html)
    else:
        session.show_report(rendered, output, html)
    return EXIT_ATTENTION if result.findings else EXIT_OK


@migrate_app.command("plan")
def plan(ctx: typer.Context, export: ExportArg, state: StateOption = None,
         output: FormatOption = OutputFormat.text, html: HtmlOption = None,
         attachment_limit_kb: AttachmentLimit = None, adopt_existing: AdoptExisting = False,
         rejects: RejectsOption = None) -> int:
    """Show what `run` would do, writing nothing anywhere (not even the ledger): creates, matches, bad
    records, unmapped values, and every portal user whose email matches an account already in Redmine.

    Reads the export and the live Redmine. Exit 0 when clean, 3 when something needs attention.
    Bad lines are written whole only when asked (--rejects DIR).

    Example:
        helpdesk migrate plan samples/export --html plan.html
    """
    return _migrate(ctx, export, state, dry_run=True, workers=1, output=output, html=html, report=None,
                    allow_notifications=True, attachment_limit_kb=attachment_limit_kb,
                    adopt_existing=adopt_existing, rejects=rejects)


@migrate_app.command("run")
def run(ctx: typer.Context, export: ExportArg, state: StateOption = None,
        workers: Annotated[int, typer.Option(min=1, max=32, help=(
            "Tickets written in parallel; with --loader rails, the number of loader processes "
            "(2 on a 2-core Redmine host is a good start)."))] = 1,
        report: Annotated[Path | None, typer.Option(help="Write counts and bad records as JSON.")] = None,
        allow_notifications: Annotated[bool, typer.Option(
            help="Run even though Redmine would email clients.")] = False,
        output: FormatOption = OutputFormat.text, html: HtmlOption = None,
        attachment_limit_kb: AttachmentLimit = None, adopt_existing: AdoptExisting = False,
        rejects: RejectsOption = None,
        loader: Annotated[LoaderKind, typer.Option(
            help="How new tickets are written: rest (the API, as each author) or rails (inside Redmine "
                 "through rails runner: portal dates and authors set natively, no email; needs host access).",
            case_sensitive=False)] = LoaderKind.rest,
        rails_runner: Annotated[str | None, typer.Option(
            "--rails-runner", envvar="HELPDESK_RAILS_RUNNER", show_envvar=True,
            help="The command that runs a Ruby script inside Redmine, split like a shell would; the loader "
                 "script's path is appended. E.g. 'sudo -u www-data RAILS_ENV=production "
                 "/usr/share/redmine/bin/rails runner'.")] = None) -> int:
    """Migrate the export into Redmine. Safe to re-run: what is done is skipped.

    Bad lines are written whole to --rejects DIR (default: <report>.rejects beside --report, else
    <export>.rejects beside the export), replaced by each run, absent when there are none.

    Example:
        helpdesk migrate run samples/export --workers 4 --report migration.json
        helpdesk migrate run samples/export --loader rails --workers 2 \
            --rails-runner "$(scripts/redmine-local runner-cmd)"
    """
    return _migrate(ctx, export, state, dry_run=False, workers=workers, output=output, html=html,
                    report=report, allow_notifications=allow_notifications,
                    attachment_limit_kb=attachment_limit_kb, adopt_existing=adopt_existing,
                    rejects=rejects or default_rejects_path(export, report), loader=loader,
                    rails_runner=rails_runner)


@migrate_app.command("verify")
def verify(ctx: typer.Context, export: ExportArg, state: StateOption = None,
           output: FormatOption = OutputFormat.text, html: HtmlOption = None,
           attachment_limit_kb: Annotated[int | None, typer.Option(
               "--attachment-limit-kb", help="Judge attachments by this limit, KB (default: the one the run "
               "recorded in the ledger, else mappings settings).")] = None) -> int:
    """Reconcile the export with Redmine ticket by ticket; exit 0 only when nothing differs.

    Reads the export and Redmine only (projects by their company id, issues by «ID в портале», notes
    and time entries by the markers the migration wrote); a ledger, when there is one, is read (never
    written) only to know which pre-existing accounts were adopted and which settings the run used:
    the attachment limit is the run's (recorded in the ledger) unless --attachment-limit-kb is given.

    Example:
        helpdesk migrate verify samples/export
    """
    session = session_from(ctx)
    mappings = session.mappings()
    ledger = Ledger.snapshot(state or default_ledger_path(export))
    try:
        limit = attachment_limit(attachment_limit_kb, ledger, mappings)
        with _progress(session, output is OutputFormat.text, "verify") as progress:
            result = verify_migration(export, session.gateway(writes_allowed=False), mappings, ledger,
                                      limit=limit, progress=progress)
    finally:
        ledger.close()
    if output is OutputFormat.json:
        session.emit_json(result.model_dump(mode="json"))
    else:
        session.show_report(verify_report(result, session.clock().now(), session.settings.url, session.messages),
                            output, html)
    return EXIT_ATTENTION if result.differences else EXIT_OK


@migrate_app.command("fix-dates")
def fix_dates(ctx: typer.Context,
              ruby: Annotated[bool, typer.Option("--ruby", help="Print the rails-runner script.")] = False,
              state: Annotated[Path | None, typer.Option("--state", help="The ledger of the migration.",
                                                         exists=True, dir_okay=False)] = None) -> int:
    """Print a rails-runner script that restores portal dates on migrated issues and journals.

    Example:
        helpdesk migrate fix-dates --ruby --state samples/export.ledger.sqlite > dates.rb
    """
    if not ruby:
        raise ConfigError("only --ruby is supported: the REST API cannot set dates", key="--ruby")
    if state is None:
        raise ConfigError("give the migration's ledger with --state", key="--state")
    ledger = Ledger(state)
    try:
        typer.echo(fix_dates_script(ledger), nl=False)
    finally:
        ledger.close()
    return EXIT_OK


def register(app: typer.Typer) -> None:
    app.add_typer(migrate_app, name="migrate")
