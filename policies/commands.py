"""`helpdesk sweep plan|apply|run|rules` and `helpdesk sla report`: parse, call, render.

The only module of `policies` that prints. Exit codes: 0 done, 1 failed, 2 usage or
configuration, 3 done but something needs attention (SLA breaches, stale or failed actions).
"""

from __future__ import annotations

import inspect
import json
import textwrap
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from helpdesk_cli.support import FormatOption, HtmlOption, NowOption, OutputFormat, Session, session_from
from helpdesk_cli.terminal import safe
from helpdesk_core.clock import MOSCOW, SystemClock, far_off, parse_instant
from helpdesk_core.errors import EXIT_ATTENTION, EXIT_FAILED, EXIT_OK, ConfigError
from helpdesk_core.report import Column, Metric, Report, Section, Table
from policies.actions import Action, Outcome, Plan
from policies.config import Policies, load_policies, local_choices
from policies.engine import (
    DEFAULT_WORKERS,
    apply_saved_plan,
    count_writes,
    default_state_dir,
    plan_sweep,
    run_sweep,
)
from policies.rules import registered_rules
from policies.sla_report import build_sla_report
from policies.text_audits import AuditConfig, load_audit_config

sweep_app = typer.Typer(help="Apply the regulation's rules to the tracker (plan → apply).", no_args_is_help=True)
sla_app = typer.Typer(help="SLA compliance reports.", no_args_is_help=True)

PoliciesOption = Annotated[Path | None, typer.Option(
    "--policies", envvar="HELPDESK_POLICIES", help="policies.yaml to use instead of the bundled one.",
    exists=True, dir_okay=False)]
AuditRulesOption = Annotated[Path | None, typer.Option(
    "--audit-rules", envvar="HELPDESK_AUDIT_RULES", help="audit_rules.yaml instead of the bundled one.",
    exists=True, dir_okay=False)]
OnlyOption = Annotated[list[str] | None, typer.Option("--only", help="Run only this rule (repeatable).")]
StateDirOption = Annotated[Path | None, typer.Option(
    "--state-dir", envvar="HELPDESK_STATE_DIR", help="Directory of the lock file and audit.jsonl.",
    file_okay=False)]
LockWaitOption = Annotated[float, typer.Option(
    "--lock-wait", help="Seconds to wait for another sweep to finish (0: give up at once, exit 3).")]
MaxActionsOption = Annotated[int | None, typer.Option(
    "--max-actions", min=0, help="Abort before the first write if the plan writes more than N times.")]
AllowFarNowOption = Annotated[bool, typer.Option(
    "--allow-far-now", help="Write even when the moment (--now, or a saved plan's) is more than a week "
    "ahead of the real clock or more than 400 days behind it.")]
WorkersOption = Annotated[int, typer.Option(
    "--workers", min=1, max=32, help="Candidates read from Redmine at once while planning (the plan is "
    "the same for any N; 1 reads them one by one).")]


def _load(policies: Path | None, audit_rules: Path | None) -> tuple[Policies, AuditConfig]:
    return load_policies(policies), load_audit_config(audit_rules)


def _writing_moment(moment: datetime, allow_far: bool, *, key: str, source: str | None = None) -> datetime:
    """A run that writes refuses a far-off moment (a typo like 1970 or 2099) unless asked."""
    why = None if allow_far else far_off(moment, SystemClock().now())
    if why is not None:
        raise ConfigError(f"{why}: a run that writes refuses it (pass --allow-far-now if you mean it)",
                          key=key, source=source)
    return moment


def _issues_bar(session: Session) -> Callable[[int, int], None]:
    """The sweep's long part: each candidate read with its journals."""
    return lambda done, total: session.bars.update("sweep: issues read", done, total)


CLIENT_READS = frozenset({"comment", "close", "set-status"})


def client_text(action: Action) -> str | None:
    """The text the issue's client will read after this action: a public note; None when none."""
    return action.notes if action.action in CLIENT_READS and action.notes and not action.private else None


def _issue_facts(gateway: Any, ids: list[int]) -> dict[int, tuple[str, str]]:
    """Subject and company (project) of each planned issue, read a hundred at a time for the reader."""
    facts: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 100):
        chunk = ids[start:start + 100]
        params = {"issue_id": ",".join(str(i) for i in chunk), "status_id": "*"}
        for issue in gateway.iterate("/issues.json", "issues", params):
            facts[issue["id"]] = (issue.get("subject", ""), issue.get("project", {}).get("name", ""))
    return facts


def _plan_report(plan: Plan, title: str, facts: dict[int, tuple[str, str]] | None = None,
                 redmine_url: str = "") -> Report:
    """The plan as a reviewer reads it: counts per rule, then per rule each issue with its subject,
    company, link, and the exact text its client will receive."""
    facts = facts or {}
    link = f"{redmine_url.rstrip('/')}/issues/{{value}}" if redmine_url else None
    columns = [Column(key="issue", label="Issue", numeric=True, link=link), Column(key="subject", label="Subject"),
               Column(key="company", label="Company"), Column(key="action", label="Action"),
               Column(key="sla", label="SLA"), Column(key="deadline", label="Deadline"),
               Column(key="client_text", label="The client will read", block=True),
               Column(key="reason", label="Reason")]
    by_rule: dict[str, list[Action]] = {}
    for action in plan.actions:
        by_rule.setdefault(action.rule, []).append(action)
    counts = [{"rule": rule, "actions": len(actions), "to_clients": sum(1 for a in actions if client_text(a)),
               "writes": sum(1 for a in actions if a.writes)} for rule, actions in by_rule.items()]
    sections = [Section(title="Actions per rule", table=Table(
        columns=[Column(key="rule", label="Rule"), Column(key="actions", label="actions", numeric=True),
                 Column(key="to_clients", label="to clients", numeric=True),
                 Column(key="writes", label="writes", numeric=True)],
        rows=counts, empty_text="Nothing to do."))]
    for rule, actions in by_rule.items():
        rows = [_plan_row(a, facts) for a in actions]
        sections.append(Section(title=rule, table=Table(columns=columns, rows=rows)))  # the renderer counts rows
    breached = sum(1 for a in plan.actions if a.sla == "breached")
    moment = datetime.fromisoformat(plan.now)
    return Report(title=title, generated_at=moment,
                  subtitle=f"evaluated at {moment.astimezone(MOSCOW):%d.%m.%Y %H:%M} (Moscow)",
                  summary=[Metric(label="messages to clients", value=sum(c["to_clients"] for c in counts)),
                           Metric(label="actions", value=len(plan.actions)),
                           Metric(label="writes", value=sum(1 for a in plan.actions if a.writes)),
                           Metric(label="SLA breaches", value=breached, tone="bad" if breached else "ok"),
                           Metric(label="candidates", value=plan.candidates),
                           Metric(label="API requests", value=plan.requests)],
                  sections=sections)


def _plan_row(action: Action, facts: dict[int, tuple[str, str]]) -> dict[str, Any]:
    subject, company = facts.get(action.issue, ("", ""))
    shown = client_text(action) or ("" if not action.writes else "(not shown to the client)")
    return {"issue": action.issue, "subject": subject, "company": company, "action": action.action,
            "sla": action.sla or "", "deadline": action.deadline or "", "client_text": shown, "reason": action.reason}


def _plan_table(plan: Plan, facts: dict[int, tuple[str, str]]) -> Table:
    """CSV: every action in one table, the columns of before first (rule, issue, action, sla, deadline,
    reason), then what the reviewer reads (subject, company, the client's text)."""
    keys = [("rule", "Rule"), ("issue", "Issue"), ("action", "Action"), ("sla", "SLA"), ("deadline", "Deadline"),
            ("reason", "Reason"), ("subject", "Subject"), ("company", "Company"),
            ("client_text", "The client will read")]
    return Table(columns=[Column(key=k, label=label, numeric=k == "issue") for k, label in keys],
                 rows=[{"rule": a.rule, **_plan_row(a, facts)} for a in plan.actions], empty_text="Nothing to do.")


def _show_plan(session: Session, plan: Plan, title: str, output: OutputFormat, html: Path | None,
               gateway: Any) -> None:
    """Text, CSV and HTML of a plan (JSON is the plan itself); facts are read only for people's formats."""
    if output is OutputFormat.json and html is None:
        session.emit_json(plan.to_json())
        return
    ids = sorted({a.issue for a in plan.actions})
    facts = _issue_facts(gateway, ids)
    report = _plan_report(plan, title, facts, gateway.url)
    if output is OutputFormat.json:
        session.write_html(report, html)  # type: ignore[arg-type]
        session.emit_json(plan.to_json())  # the plan itself: `actions` with rule, issue, action, reason
    else:
        session.show_report(report, output, html, table=_plan_table(plan, facts))


def _plan_code(plan: Plan) -> int:
    return EXIT_ATTENTION if any(a.sla == "breached" for a in plan.actions) else EXIT_OK


def _outcome_code(plan: Plan, outcomes: list[Outcome] | tuple[Outcome, ...]) -> int:
    if any(o.outcome == "error" for o in outcomes):
        return EXIT_FAILED
    if any(o.outcome == "refused" or (o.outcome == "skipped" and o.reason.startswith("stale"))
           for o in outcomes):
        return EXIT_ATTENTION
    return _plan_code(plan)


def _show_outcomes(session: Session, outcomes: list[Outcome] | tuple[Outcome, ...],
                   output: OutputFormat, plan: Plan) -> None:
    if output is OutputFormat.json:
        session.emit_json({**plan.to_json(), "outcomes": [o.to_json() for o in outcomes]})
        return
    columns = [Column(key=k, label=k, numeric=k == "issue") for k in ("rule", "issue", "action", "outcome", "reason")]
    rows: list[dict[str, Any]] = [{"rule": o.action.rule, "issue": o.action.issue, "action": o.action.action,
                                   "outcome": o.outcome, "reason": o.reason} for o in outcomes]
    report = Report(title="Outcomes", generated_at=datetime.fromisoformat(plan.now) if plan.now else datetime.now(UTC),
                    sections=[Section(title="Actions", table=Table(columns=columns, rows=rows,
                                                                   empty_text="Nothing to do."))])
    session.show_report(report, OutputFormat.text)


@sweep_app.command("plan")
def plan_command(ctx: typer.Context, now: NowOption = None, only: OnlyOption = None,
                 out: Annotated[Path | None, typer.Option("-o", "--output", dir_okay=False,
                                                          help="Write the plan (JSON) for `sweep apply`.")] = None,
                 output: FormatOption = OutputFormat.text, html: HtmlOption = None,
                 policies: PoliciesOption = None, audit_rules: AuditRulesOption = None,
                 workers: WorkersOption = DEFAULT_WORKERS) -> int:
    """Show what each rule would do, per issue, with the reason and computed times. Reads only.

    Exit code 3 when the plan reports SLA breaches.

    Example:
        helpdesk sweep plan --now 2026-12-01T10:00+03:00 --only feedback-reminder -o plan.json
    """
    session = session_from(ctx)
    loaded, audit = _load(policies, audit_rules)
    gateway = session.gateway(writes_allowed=False)
    plan = plan_sweep(gateway, loaded, session.clock(now).now(),
                      only=only, audit=audit, progress=_issues_bar(session), workers=workers)
    if out is not None:
        out.write_text(json.dumps(plan.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _show_plan(session, plan, "Sweep plan", output, html, gateway)
    return _plan_code(plan)


@sweep_app.command("apply")
def apply_command(ctx: typer.Context, plan_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
                  max_actions: MaxActionsOption = None, output: FormatOption = OutputFormat.text,
                  policies: PoliciesOption = None, state_dir: StateDirOption = None,
                  lock_wait: LockWaitOption = 0.0, audit_rules: AuditRulesOption = None,
                  allow_far_now: AllowFarNowOption = False) -> int:
    """Apply a saved plan as an approval list: each issue is planned again with the named rule
    at the plan's moment, and only what the rule produces now and the file lists is written.

    Exit code 3 when an action was refused (the rule does not produce it now) or skipped as
    stale, 1 when one failed.

    Example:
        helpdesk sweep apply plan.json
    """
    session = session_from(ctx)
    session.refuse_csv(output, "sweep apply")
    try:
        plan = Plan.from_json(json.loads(plan_file.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ConfigError(f"not a sweep plan: {exc}", source=str(plan_file)) from None
    try:
        moment = parse_instant(plan.now)
    except ValueError as exc:
        raise ConfigError(str(exc), key="now", source=str(plan_file)) from None
    _writing_moment(moment, allow_far_now, key="now", source=str(plan_file))
    loaded, audit = _load(policies, audit_rules)
    outcomes = apply_saved_plan(session.gateway(), plan, loaded,
                                state_dir=state_dir or default_state_dir(), max_actions=max_actions,
                                lock_wait=lock_wait, audit=audit, now=moment)
    _show_outcomes(session, outcomes, output, plan)
    return _outcome_code(plan, outcomes)


@sweep_app.command("run")
def run_command(ctx: typer.Context, now: NowOption = None, only: OnlyOption = None,
                max_actions: MaxActionsOption = None,
                dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan, write nothing.")] = False,
                output: FormatOption = OutputFormat.text, policies: PoliciesOption = None,
                audit_rules: AuditRulesOption = None, state_dir: StateDirOption = None,
                lock_wait: LockWaitOption = 0.0, workers: WorkersOption = DEFAULT_WORKERS,
                allow_far_now: AllowFarNowOption = False) -> int:
    """Plan and apply in one go under a lock (for cron).

    A run that writes refuses a --now more than a week ahead or 400 days behind the real clock
    (exit 2) unless --allow-far-now.

    Example:
        */5 * * * * helpdesk sweep run --max-actions 50 --format json >> /var/log/helpdesk-sweep.log
    """
    session = session_from(ctx)
    if not dry_run:
        session.refuse_csv(output, "sweep run")
    loaded, audit = _load(policies, audit_rules)
    clock = session.clock(now)
    if not dry_run:
        _writing_moment(clock.now(), allow_far_now, key="--now")
    gateway = session.gateway(writes_allowed=not dry_run)
    result = run_sweep(gateway, loaded, clock,
                       state_dir=state_dir or default_state_dir(), only=only, max_actions=max_actions,
                       dry_run=dry_run, lock_wait=lock_wait, audit=audit, progress=_issues_bar(session),
                       workers=workers)
    if dry_run:
        _show_plan(session, result.plan, "Sweep plan (dry run)", output, None, gateway)
        writes = count_writes(result.plan)
        if max_actions is not None and writes > max_actions:  # the real run would refuse this plan
            m = session.messages
            session.stderr.print(safe(m("warning: ") + m(
                "the plan writes {writes} times, more than --max-actions {limit}: a real run would stop "
                "before its first write", writes=writes, limit=max_actions), "yellow"))
            return EXIT_ATTENTION
        return _plan_code(result.plan)
    _show_outcomes(session, result.outcomes, output, result.plan)
    return _outcome_code(result.plan, result.outcomes)


@sweep_app.command("rules")
def rules_command(ctx: typer.Context, output: FormatOption = OutputFormat.text,
                  policies: PoliciesOption = None) -> int:
    """List every rule: id, whether enabled, actions, parameters and its YAML form.

    Example:
        helpdesk sweep rules --format json
    """
    session = session_from(ctx)
    session.refuse_csv(output, "sweep rules")
    loaded = load_policies(policies)
    local = local_choices(loaded)
    items = []
    for rule_id, cls in registered_rules().items():
        resolved = loaded.rules.get(rule_id)
        items.append({"id": rule_id, "enabled": resolved is not None, "client_facing": cls.client_facing,
                      "local": local.get(rule_id, []),
                      "actions": list(cls.actions), "configured_actions": list(resolved.actions) if resolved else [],
                      "params": resolved.params.model_dump(mode="json") if resolved else {},
                      "schema": cls.Params.model_json_schema(), "doc": inspect.cleandoc(cls.__doc__ or "")})
    if output is OutputFormat.json:
        session.emit_json({"rules": items, "local": local["settings"]})
        return EXIT_OK
    m = session.messages
    for choice in local["settings"]:
        session.stdout.print(safe(m.text(f"LOCAL (not the regulation): {choice}")))
    for item in items:
        state = "enabled" if item["enabled"] else "disabled"
        heading = m.text(f"{item['id']} ({state}; actions: {', '.join(item['configured_actions']) or '—'})",
                         nested=True)
        session.stdout.print(safe(heading, "bold"))
        for choice in item["local"]:
            session.stdout.print(safe(m.text(f"LOCAL (not the regulation): {choice}")))
        # The docstring (English, with its YAML) for --lang en; the regulation's words otherwise.
        described = m.text(f"rule {item['id']}")
        text = item["doc"] if described == f"rule {item['id']}" else textwrap.fill(described, session.stdout.width)
        session.stdout.print(safe(text))
        session.stdout.print("")
    return EXIT_OK


def _day(value: str | None, key: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"'{value}' is not a date (YYYY-MM-DD)", key=key) from None


def last_full_month(today: date) -> tuple[date, date]:
    """The month before `today`'s: the default period of a report read at the start of a month."""
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


@sla_app.command("report")
def sla_report_command(
        ctx: typer.Context,
        from_: Annotated[str | None, typer.Option(
            "--from", help="First creation day (YYYY-MM-DD). Default: the last full month.")] = None,
        to: Annotated[str | None, typer.Option("--to", help="Last creation day (YYYY-MM-DD).")] = None,
        include_migrated: Annotated[bool, typer.Option(
            "--include-migrated", help="Without --from/--to: also judge issues migrated from the portal.")] = False,
        now: NowOption = None,
        output: FormatOption = OutputFormat.text,
        html: HtmlOption = None, policies: PoliciesOption = None) -> int:
    """Breaches and compliance per priority, company and rule for issues created in a period.

    Without --from/--to: the last full month, issues migrated from the portal left out (unless
    --include-migrated). Exit code 3 when there are breaches, 2 for a reversed period.

    Example:
        helpdesk sla report --from 2026-11-01 --to 2026-11-30 --html sla.html
    """
    session = session_from(ctx)
    loaded = load_policies(policies)
    moment = session.clock(now).now()
    zone = loaded.settings.calendar.calendar().zone
    first, last = _day(from_, "--from"), _day(to, "--to")
    default_period = first is None and last is None
    if default_period:  # the last full month, after go-live: the portal's history is not judged
        first, last = last_full_month(moment.astimezone(zone).date())
    if first and last and first > last:
        raise ConfigError(f"the period ends ({last}) before it starts ({first})", key="--to")
    start = datetime.combine(first, time(0), tzinfo=zone) if first else None
    end = datetime.combine(last, time(23, 59, 59), tzinfo=zone) if last else None
    mappings = session.mappings()
    report, breaches = build_sla_report(session.gateway(writes_allowed=False), loaded, moment,
                                        start=start, end=end, severity=[p.name for p in mappings.priorities],
                                        skip_field=mappings.custom_fields.portal_id.name
                                        if default_period and not include_migrated else None)
    session.show_report(report, output, html)
    return EXIT_ATTENTION if breaches else EXIT_OK


def register(app: typer.Typer) -> None:
    app.add_typer(sweep_app, name="sweep")
    app.add_typer(sla_app, name="sla")
