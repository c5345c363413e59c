"""`helpdesk sweep plan|apply|run|rules` and `helpdesk sla report`: parse, call, render.

The only module of `policies` that prints. Exit codes: 0 done, 1 failed, 2 usage or
configuration, 3 done but something needs attention (SLA breaches, stale or failed actions).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from helpdesk_cli.support import FormatOption, HtmlOption, NowOption, OutputFormat, Session, session_from
from helpdesk_cli.terminal import safe
from helpdesk_core.errors import EXIT_ATTENTION, EXIT_FAILED, EXIT_OK, ConfigError
from helpdesk_core.report import Column, Metric, Report, Section, Table
from policies.actions import Outcome, Plan
from policies.config import Policies, load_policies, local_choices
from policies.engine import DEFAULT_WORKERS, apply_saved_plan, default_state_dir, plan_sweep, run_sweep
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
WorkersOption = Annotated[int, typer.Option(
    "--workers", min=1, max=32, help="Candidates read from Redmine at once while planning (the plan is "
    "the same for any N; 1 reads them one by one).")]


def _load(policies: Path | None, audit_rules: Path | None) -> tuple[Policies, AuditConfig]:
    return load_policies(policies), load_audit_config(audit_rules)


def _issues_bar(session: Session) -> Callable[[int, int], None]:
    """The sweep's long part: each candidate read with its journals."""
    return lambda done, total: session.bars.update("sweep: issues read", done, total)


def _plan_report(plan: Plan, title: str) -> Report:
    rows: list[dict[str, Any]] = [{"rule": a.rule, "issue": a.issue, "action": a.action, "sla": a.sla or "",
                                   "deadline": a.deadline or "", "reason": a.reason} for a in plan.actions]
    columns = [Column(key="rule", label="Rule"), Column(key="issue", label="Issue", numeric=True),
               Column(key="action", label="Action"), Column(key="sla", label="SLA"),
               Column(key="deadline", label="Deadline"), Column(key="reason", label="Reason")]
    breached = sum(1 for a in plan.actions if a.sla == "breached")
    return Report(title=title, generated_at=datetime.fromisoformat(plan.now),
                  subtitle=f"evaluated at {plan.now}",
                  summary=[Metric(label="actions", value=len(plan.actions)),
                           Metric(label="writes", value=sum(1 for a in plan.actions if a.writes)),
                           Metric(label="SLA breaches", value=breached, tone="bad" if breached else "ok"),
                           Metric(label="candidates", value=plan.candidates),
                           Metric(label="API requests", value=plan.requests)],
                  sections=[Section(title="Actions", table=Table(columns=columns, rows=rows,
                                                                    empty_text="Nothing to do."))])


def _plan_code(plan: Plan) -> int:
    return EXIT_ATTENTION if any(a.sla == "breached" for a in plan.actions) else EXIT_OK


def _outcome_code(plan: Plan, outcomes: list[Outcome] | tuple[Outcome, ...]) -> int:
    if any(o.outcome == "error" for o in outcomes):
        return EXIT_FAILED
    if any(o.outcome == "skipped" and o.reason.startswith("stale") for o in outcomes):
        return EXIT_ATTENTION
    return _plan_code(plan)


def _show_outcomes(session: Session, outcomes: list[Outcome] | tuple[Outcome, ...],
                   output: OutputFormat, plan: Plan) -> None:
    if output is OutputFormat.json:
        session.emit_json({**plan.to_json(), "outcomes": [o.to_json() for o in outcomes]})
        return
    m = session.messages
    table = RichTable(*(m(h) for h in ("rule", "issue", "action", "outcome", "reason")), title=m("Outcomes"))
    for o in outcomes:
        table.add_row(*(safe(v) for v in (o.action.rule, str(o.action.issue), o.action.action, o.outcome, o.reason)))
    session.stdout.print(table)


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
    plan = plan_sweep(session.gateway(writes_allowed=False), loaded, session.clock(now).now(),
                      only=only, audit=audit, progress=_issues_bar(session), workers=workers)
    if out is not None:
        out.write_text(json.dumps(plan.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if html is not None:
        session.write_html(_plan_report(plan, "Sweep plan"), html)
    if output is OutputFormat.json:
        session.emit_json(plan.to_json())  # the plan itself: `actions` with rule, issue, action, reason
    else:
        session.show_report(_plan_report(plan, "Sweep plan"), output)
    return _plan_code(plan)


@sweep_app.command("apply")
def apply_command(ctx: typer.Context, plan_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
                  max_actions: MaxActionsOption = None, output: FormatOption = OutputFormat.text,
                  policies: PoliciesOption = None, state_dir: StateDirOption = None,
                  lock_wait: LockWaitOption = 0.0) -> int:
    """Apply exactly a saved plan; an action whose issue changed since the plan is skipped.

    Exit code 3 when an action was skipped as stale, 1 when one failed.

    Example:
        helpdesk sweep apply plan.json
    """
    session = session_from(ctx)
    session.refuse_csv(output, "sweep apply")
    try:
        plan = Plan.from_json(json.loads(plan_file.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"not a sweep plan: {exc}", source=str(plan_file)) from None
    outcomes = apply_saved_plan(session.gateway(), plan, load_policies(policies),
                                state_dir=state_dir or default_state_dir(), max_actions=max_actions,
                                lock_wait=lock_wait)
    _show_outcomes(session, outcomes, output, plan)
    return _outcome_code(plan, outcomes)


@sweep_app.command("run")
def run_command(ctx: typer.Context, now: NowOption = None, only: OnlyOption = None,
                max_actions: MaxActionsOption = None,
                dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan, write nothing.")] = False,
                output: FormatOption = OutputFormat.text, policies: PoliciesOption = None,
                audit_rules: AuditRulesOption = None, state_dir: StateDirOption = None,
                lock_wait: LockWaitOption = 0.0, workers: WorkersOption = DEFAULT_WORKERS) -> int:
    """Plan and apply in one go under a lock (for cron).

    Example:
        */5 * * * * helpdesk sweep run --max-actions 50 --format json >> /var/log/helpdesk-sweep.log
    """
    session = session_from(ctx)
    if not dry_run:
        session.refuse_csv(output, "sweep run")
    loaded, audit = _load(policies, audit_rules)
    clock = session.clock(now)
    result = run_sweep(session.gateway(writes_allowed=not dry_run), loaded, clock,
                       state_dir=state_dir or default_state_dir(), only=only, max_actions=max_actions,
                       dry_run=dry_run, lock_wait=lock_wait, audit=audit, progress=_issues_bar(session),
                       workers=workers)
    if dry_run:
        if output is OutputFormat.json:
            session.emit_json(result.plan.to_json())
        else:
            session.show_report(_plan_report(result.plan, "Sweep plan (dry run)"), output)
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
    for choice in local["settings"]:
        session.stdout.print(f"LOCAL (not the regulation): {choice}", markup=False, highlight=False)
    for item in items:
        state = "enabled" if item["enabled"] else "disabled"
        session.stdout.print(f"[bold]{item['id']}[/] ({state}; actions: {', '.join(item['configured_actions'])})",
                             highlight=False)
        for choice in item["local"]:
            session.stdout.print(f"LOCAL (not the regulation): {choice}", markup=False, highlight=False)
        session.stdout.print(item["doc"], markup=False, highlight=False)
        session.stdout.print("")
    return EXIT_OK


def _day(value: str | None, key: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"'{value}' is not a date (YYYY-MM-DD)", key=key) from None


@sla_app.command("report")
def sla_report_command(
        ctx: typer.Context,
        from_: Annotated[str | None, typer.Option("--from", help="First creation day (YYYY-MM-DD).")] = None,
        to: Annotated[str | None, typer.Option("--to", help="Last creation day (YYYY-MM-DD).")] = None,
        now: NowOption = None,
        output: FormatOption = OutputFormat.text,
        html: HtmlOption = None, policies: PoliciesOption = None) -> int:
    """Breaches and compliance per priority, company and rule for issues created in a period.

    Exit code 3 when there are breaches.

    Example:
        helpdesk sla report --from 2026-11-01 --to 2026-11-30 --html sla.html
    """
    session = session_from(ctx)
    loaded = load_policies(policies)
    moment = session.clock(now).now()
    zone = loaded.settings.calendar.calendar().zone
    first, last = _day(from_, "--from"), _day(to, "--to")
    start = datetime.combine(first, time(0), tzinfo=zone) if first else None
    end = datetime.combine(last, time(23, 59, 59), tzinfo=zone) if last else None
    report, breaches = build_sla_report(session.gateway(writes_allowed=False), loaded, moment,
                                        start=start, end=end)
    session.show_report(report, output, html)
    return EXIT_ATTENTION if breaches else EXIT_OK


def register(app: typer.Typer) -> None:
    app.add_typer(sweep_app, name="sweep")
    app.add_typer(sla_app, name="sla")
