"""Administrator commands: `users pending`, `users approve`, `report consultations`.

Each command parses, builds the library objects, makes one library call and renders; the
decisions live in `admin.registrations` and `admin.billing`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from admin.billing import TABLES, BillingRules, Month, bill_month, bill_report, report_table
from admin.companies import CompanyDirectory, load_directory
from admin.registrations import (
    ApprovalOutcome,
    Pending,
    PendingAccount,
    ProjectIndex,
    apply_approvals,
    classify,
    plan_by_domain,
    plan_from_rows,
    read_awaiting,
    read_client_role_id,
    read_registration_csv,
)
from helpdesk_cli.support import (
    FormatOption,
    HtmlOption,
    NowOption,
    OutputFormat,
    Session,
    session_from,
)
from helpdesk_core.errors import EXIT_ATTENTION, EXIT_FAILED, EXIT_OK, ConfigError
from helpdesk_core.gateway import Gateway
from helpdesk_core.report import Column, Metric, Report, Section, Table

users_app = typer.Typer(help="Registration approvals: accounts clients registered themselves.",
                        no_args_is_help=True)
report_app = typer.Typer(help="Reports for administrators.", no_args_is_help=True)

CompaniesOption = Annotated[Path | None, typer.Option(
    "--companies", help="YAML file with a `companies:` section (name, project, domains) and optional "
    "`public_domains:` / `extra_public_domains:`.", exists=True, dir_okay=False)]
ExportOption = Annotated[Path | None, typer.Option(
    "--export", help="A portal export (directory or .zip): companies.jsonl gives the domains. Not needed "
    "after a migration: the domains and company id are read from the projects' custom fields.",
    exists=True)]




def _awaiting(session: Session, gateway: Gateway, projects: ProjectIndex) -> list[PendingAccount]:
    """Registered accounts and those confirmed through Redmine's activation email (no project yet)."""
    return read_awaiting(gateway, projects, session.mappings().user_custom_fields.portal_user_id.name)


def _pending_row(item: Pending) -> dict[str, str | int | None]:
    account = item.account
    return {"id": account.id, "login": account.login, "name": account.name, "mail": account.mail,
            "company": item.match.company.name if item.match.company else None,
            "project": item.project.identifier if item.project else None,
            "match": item.match.kind, "approvable": "yes" if item.approvable else "no",
            "mailbox": "confirmed" if account.confirmed else "unconfirmed",
            "reason": item.problem or item.match.reason}


@users_app.command("pending")
def pending(
    ctx: typer.Context,
    companies: CompaniesOption = None,
    export: ExportOption = None,
    output: FormatOption = OutputFormat.text,
    html: HtmlOption = None,
    now: NowOption = None,
) -> int:
    """List accounts awaiting approval, each with its company by email domain, or why none.

    Awaiting: registered accounts (mailbox not confirmed) and active ones in no project yet
    (confirmed through Redmine's activation email). Only confirmed ones are approvable by
    domain. Exit code 0 when every one can be approved by its domain, 3 when some need a
    person (unconfirmed mailbox, public or unknown domain, domain shared by two companies).

    Example:
        helpdesk users pending --companies companies.yaml
        helpdesk users pending --export portal-export/ --format json
    """
    session = session_from(ctx)
    gateway = session.gateway(writes_allowed=False)
    projects = ProjectIndex.read(gateway, session.mappings())
    directory = load_directory(companies, export, projects.companies())
    items = classify(_awaiting(session, gateway, projects), directory, projects)
    rows = [_pending_row(i) for i in items]
    needs_person = sum(not i.approvable for i in items)
    # Narrow enough for a terminal; JSON carries every field.
    columns = [Column(key=k, label=k.capitalize()) for k in ("login", "mail", "project", "reason")]
    report = Report(
        title="Accounts awaiting activation", generated_at=session.clock(now).now(),
        summary=[Metric(label="Pending", value=len(rows)),
                 Metric(label="Approvable by domain", value=len(rows) - needs_person, tone="ok"),
                 Metric(label="Need a person", value=needs_person, tone="warn" if needs_person else None)],
        sections=[Section(title="Pending accounts", table=Table(
            columns=columns, rows=[{c.key: row[c.key] for c in columns} for row in rows],
            empty_text="Nobody is waiting."))])
    if output is OutputFormat.json:
        if html is not None:
            session.write_html(report, html)
        # The account list, not the report: scripts want ids and match kinds.
        session.emit_json({"pending": rows, "count": len(rows), "approvable": len(rows) - needs_person})
    else:
        session.show_report(report, output, html)
    return EXIT_ATTENTION if needs_person else EXIT_OK


@users_app.command("approve")
def approve(
    ctx: typer.Context,
    logins: Annotated[list[str] | None, typer.Argument(help="Logins of pending accounts.")] = None,
    all_matching: Annotated[bool, typer.Option(
        "--all-matching", help="Every pending account whose domain names exactly one company.")] = False,
    from_csv: Annotated[Path | None, typer.Option(
        "--from-csv", help="CSV with columns email,company and optional login (or почта,компания,логин): the "
        "mailbox a request came from and the client company it names, which replaces the domain rule.",
        exists=True, dir_okay=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Say what would be done; write nothing.")] = False,
    companies: CompaniesOption = None,
    export: ExportOption = None,
    output: FormatOption = OutputFormat.text,
) -> int:
    """Activate accounts and make each a member of its own company's project, with the client role.

    Access needs proof: by domain (LOGIN..., --all-matching) only accounts that confirmed their
    mailbox through Redmine's activation email; an unconfirmed one, or one whose domain is
    public, unknown or shared, only from a request support received (--from-csv), whose company
    must be a client company and whose email domain must be that company's (or the row names
    the login alone). Administrators are never approved. Exit code 0 when everything
    asked for was done, 3 when something was skipped or a CSV row matched no account, 1 on
    errors.

    Example:
        helpdesk users approve ivanov petrova --companies companies.yaml
        helpdesk users approve --all-matching --dry-run --export portal-export/
        helpdesk users approve --from-csv registrations.csv --companies companies.yaml
    """
    chosen = sum([bool(logins), all_matching, from_csv is not None])
    if chosen != 1:
        raise ConfigError("give LOGIN..., --all-matching or --from-csv FILE (exactly one of them)")
    session = session_from(ctx)
    gateway = session.gateway(writes_allowed=not dry_run)
    rows = read_registration_csv(from_csv) if from_csv is not None else None
    # A CSV names companies itself; the directory then only helps map names to projects.
    csv_alone = rows is not None and companies is None and export is None
    projects = ProjectIndex.read(gateway, session.mappings())
    directory = CompanyDirectory(()) if csv_alone else load_directory(companies, export, projects.companies())
    role_id = read_client_role_id(gateway, session.mappings().roles.client.name)
    accounts = _awaiting(session, gateway, projects)
    if rows is not None:
        plan = plan_from_rows(rows, accounts, directory, projects, role_id)
    else:
        plan = plan_by_domain(classify(accounts, directory, projects), role_id,
                              logins=None if all_matching else logins)
    outcomes = apply_approvals(gateway, plan, dry_run=dry_run)
    _show_outcomes(session, outcomes, output, dry_run)
    if any(o.status == "error" for o in outcomes):
        return EXIT_FAILED
    return EXIT_ATTENTION if any(o.status in ("skipped", "unmatched") for o in outcomes) else EXIT_OK


def _show_outcomes(session: Session, outcomes: list[ApprovalOutcome], output: OutputFormat, dry_run: bool) -> None:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    if output is OutputFormat.json:
        session.emit_json({"dry_run": dry_run, "counts": counts,
                           "outcomes": [o.model_dump(mode="json") for o in outcomes]})
        return
    keys = ("subject", "status", "company", "project", "line", "reason")
    report = Report(
        title="Registration approvals" + (" (dry run: nothing written)" if dry_run else ""),
        generated_at=session.clock().now(),
        summary=[Metric(label=k, value=v) for k, v in sorted(counts.items())],
        sections=[Section(title="Accounts", table=Table(
            columns=[Column(key=k, label=k.capitalize(), numeric=k == "line") for k in keys],
            rows=[{k: getattr(o, k) for k in keys} for o in outcomes], empty_text="Nothing to do."))])
    session.show_report(report, output)


@report_app.command("consultations")
def consultations(
    ctx: typer.Context,
    month: Annotated[str, typer.Option("--month", help="Calendar month to bill, YYYY-MM.")],
    output: FormatOption = OutputFormat.text,
    html: HtmlOption = None,
    tracker: Annotated[list[str] | None, typer.Option(
        "--tracker", help="Tracker whose time is consultation time (repeatable). With --tracker or "
        "--activity, the two lists as given are the whole selection.")
    ] = None,
    activity: Annotated[list[str] | None, typer.Option(
        "--activity", help="Activity whose time is consultation time (repeatable; default Консультация, "
        "on any tracker).")
    ] = None,
    match: Annotated[str, typer.Option(
        "--match", help="any: tracker OR activity; all: tracker AND activity.")] = "any",
    unit: Annotated[str, typer.Option(
        "--unit", help="What one consultation is, rounded up to a whole hour: day (an issue's time "
        "on one day, default), entry (each time entry) or issue (an issue's time in the month).")] = "day",
    project: Annotated[str | None, typer.Option(
        "--project", help="Only this project (identifier or id) and its subprojects: one client's bill.")
    ] = None,
    table: Annotated[str, typer.Option(
        "--table", help=f"Table for --format csv: {', '.join(TABLES)}.")] = "issues",
    now: NowOption = None,
) -> int:
    """Bill consultations of one month: per company and per issue, each rounded up to an hour.

    Time entries of the month with the activity «Консультация» on any tracker (or the given
    activities and/or trackers) are read from Redmine; each consultation (an issue's time on one
    day) is rounded up to a whole hour with exact decimals. Issues support marked «Бесплатная
    консультация» are listed, not billed.

    Example:
        helpdesk report consultations --month 2026-03
        helpdesk report consultations --month 2026-03 --unit issue --html bill.html
        helpdesk report consultations --month 2026-03 --tracker Обсуждение --activity Консультация --match all
        helpdesk report consultations --month 2026-03 --format csv --table companies > bill.csv
    """
    session = session_from(ctx)
    try:
        # given, --tracker/--activity replace the default selection whole: `--tracker Обсуждение`
        # alone is "any time on Обсуждение", not that or the default activity
        chosen = {"trackers": tuple(tracker or ()), "activities": tuple(activity or ())} if tracker or activity else {}
        rules = BillingRules.model_validate({**chosen, "match": match, "unit": unit})
    except ValueError as exc:
        raise ConfigError(str(exc).splitlines()[-1] if str(exc) else "invalid billing rules") from None
    parsed = Month.parse(month)
    if output is OutputFormat.csv and table not in TABLES:
        raise ConfigError(f"unknown table '{table}' (one of: {', '.join(TABLES)})", key="--table")
    bill = bill_month(session.gateway(writes_allowed=False), parsed, rules, project)
    report = bill_report(bill, session.clock(now).now(), session.settings.url)
    session.show_report(report, output, html,
                        table=report_table(report, table) if output is OutputFormat.csv else None)
    return EXIT_OK


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(report_app, name="report")
