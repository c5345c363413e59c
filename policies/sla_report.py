"""The SLA report: reaction and analysis clocks of every issue created in a period.

Unlike a sweep this reads every issue of the period with its journals (the status history
is the clock's input), so its cost grows with the period, which the caller chooses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from helpdesk_core.clock import utc_stamp
from helpdesk_core.errors import ConfigError, NotFoundError
from helpdesk_core.report import Chart, Column, Metric, Report, Section, Series, Table
from policies.calendar import SlaResult, SlaState, pause_intervals
from policies.config import Policies
from policies.context import Directory
from policies.conversation import Conversation, Sides
from policies.engine import DETAIL_INCLUDE, RedmineFacts, check_sla_budgets
from policies.issues import IssueView
from policies.rules import AnalysisParams, analysis_started_at, analysis_stopped_at

RULES = ("sla-reaction", "sla-analysis")
ABSURD_SHARE = 10.0  # ten budgets and more: the clock ran over data from before the regulation


@dataclass(frozen=True)
class ClockRow:
    rule: str
    issue: int
    company: str
    priority: str
    result: SlaResult


def evaluate_issue(issue: IssueView, policies: Policies, now: datetime,
                   stop_statuses: list[str], directory: Sides) -> list[ClockRow]:
    """Both clocks of one issue: reaction stops when it leaves «На рассмотрении»; analysis starts
    then (rules.analysis_started_at) and stops when support tells the client the next steps
    (rules.analysis_stopped_at, the rule's own test);
    analysis pauses in «Требует обратной связи». A clock the policy leaves unmeasured
    (Блокер/Критический analysis) has no row."""
    sla, calendar = policies.settings.sla, policies.settings.calendar.calendar()
    summary = issue.summary
    for clock in ("reaction", "analysis"):
        try:
            sla.target(clock, summary.priority.name)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ConfigError(f"issue #{issue.id}: {exc}", key=f"settings.sla.{clock}") from None
    rows: list[ClockRow] = []
    history = issue.status_history()
    if history[0][1] == sla.reaction_status:
        left = next((c.at for c in issue.status_changes() if c.old == sla.reaction_status), None)
        result = sla.evaluate("reaction", summary.priority.name, calendar=calendar,
                              start=summary.created_on, now=now, stop=left)
        if result is not None:
            rows.append(ClockRow("sla-reaction", issue.id, summary.project.name, summary.priority.name, result))
    conv = Conversation.of(issue, directory, policies.settings.statuses)
    start = analysis_started_at(conv, policies.settings)
    if start is None:
        return rows  # not taken into work yet: no analysis clock
    done = analysis_stopped_at(conv, policies.settings, stop_statuses)
    pauses = pause_intervals(history, sla.analysis_pause_statuses, done or now)
    result = sla.evaluate("analysis", summary.priority.name, calendar=calendar, start=start,
                          now=now, pauses=pauses, stop=done)
    if result is not None:
        rows.append(ClockRow("sla-analysis", issue.id, summary.project.name, summary.priority.name, result))
    return rows


def build_sla_report(gateway: Any, policies: Policies, now: datetime, *, start: datetime | None = None,
                     end: datetime | None = None, severity: Sequence[str] = (),
                     skip_field: str | None = None) -> tuple[Report, int]:
    """The report and the number of breached clocks. `severity`: priorities from the most severe
    (the report's order); `skip_field`: issues with a value in this custom field are left out (the
    migrated ones, «ID в портале»: the portal's history is not judged by the new regulation)."""
    facts = RedmineFacts.load(gateway)
    check_sla_budgets(gateway, policies)  # a priority without a budget: exit 2, not a silent gap
    params: dict[str, str] = {"status_id": "*"}
    if start and end:
        params["created_on"] = f"><{utc_stamp(start)}|{utc_stamp(end)}"
    elif start:
        params["created_on"] = f">={utc_stamp(start)}"
    elif end:
        params["created_on"] = f"<={utc_stamp(end)}"
    analysis = policies.rules.get("sla-analysis")
    stop_statuses = (analysis.params.stop_statuses if analysis else AnalysisParams().stop_statuses)
    rows: list[ClockRow] = []
    skipped = 0
    directory = Directory(gateway, policies.settings)
    sweep_users = directory.sweep_users()
    for row in gateway.iterate("/issues.json", "issues", params):
        try:
            data = gateway.get(f"/issues/{row['id']}.json", {"include": DETAIL_INCLUDE})["issue"]
        except NotFoundError:
            continue  # deleted between the list and now
        if skip_field and any(f.get("name") == skip_field and f.get("value") for f in data.get("custom_fields", [])):
            skipped += 1
            continue
        rows += evaluate_issue(IssueView.from_json(data, facts.status_names, sweep_users), policies, now,
                               stop_statuses, directory)
    zone = policies.settings.calendar.calendar().zone
    report = _report(rows, now, start, end, zone, list(severity), skipped if skip_field else None,
                     f"{url.rstrip('/')}/issues/{{value}}" if (url := getattr(gateway, "url", "")) else None)
    return report, sum(1 for r in rows if r.result.state is SlaState.BREACHED)


def _compliance(met: int, breached: int) -> Decimal | None:
    return (Decimal(met * 100) / Decimal(met + breached)).quantize(Decimal("0.1")) if met + breached else None


def _used(share: float) -> str:
    """The share of the budget used; beyond ten budgets the figure means only "far over"."""
    return f"{share:.0%}" if share < ABSURD_SHARE else f"> {ABSURD_SHARE:.0%}"


def _report(rows: list[ClockRow], now: datetime, start: datetime | None, end: datetime | None,
            zone: tzinfo, severity: list[str], migrated: int | None, link: str | None = None) -> Report:
    """Times in the calendar's zone (Moscow): the one support reads deadlines in; priorities from
    the most severe, as `severity` lists them (others after, by name)."""

    def rank(priority: str) -> tuple[int, str]:
        return (severity.index(priority) if priority in severity else len(severity), priority)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).isoformat(timespec="minutes") if moment else ""

    groups: dict[tuple[str, str, str], Counter[str]] = {}
    for row in rows:
        groups.setdefault((row.rule, row.priority, row.company), Counter())[row.result.state.value] += 1
    summary_rows = []
    for (rule, priority, company), counts in sorted(groups.items(),
                                                    key=lambda g: (g[0][0], rank(g[0][1]), g[0][2])):
        summary_rows.append({"rule": rule, "priority": priority, "company": company,
                             "total": sum(counts.values()), "met": counts["met"], "breached": counts["breached"],
                             "open": counts["ok"] + counts["at-risk"], "at_risk": counts["at-risk"],
                             "compliance": _compliance(counts["met"], counts["breached"])})
    columns = [Column(key="rule", label="Rule"), Column(key="priority", label="Priority"),
               Column(key="company", label="Company"), Column(key="total", label="Issues", numeric=True),
               Column(key="met", label="Met", numeric=True), Column(key="breached", label="Breached", numeric=True),
               Column(key="open", label="Running", numeric=True), Column(key="at_risk", label="At risk", numeric=True),
               Column(key="compliance", label="Compliance %", numeric=True)]
    breaches = [r for r in rows if r.result.state in (SlaState.BREACHED, SlaState.AT_RISK)]
    breach_rows: list[dict[str, Any]] = [
        {"issue": r.issue, "rule": r.rule, "state": r.result.state.value, "priority": r.priority,
         "company": r.company, "start": local(r.result.start), "deadline": local(r.result.deadline),
         "stopped": local(r.result.stopped_at),
         "used": _used(r.result.used_share)} for r in breaches]
    breach_columns = [Column(key=k, label=label, numeric=k == "issue", link=link if k == "issue" else None)
                      for k, label in (
        ("issue", "Issue"), ("rule", "Rule"), ("state", "State"), ("priority", "Priority"),
        ("company", "Company"), ("start", "Start"), ("deadline", "Deadline"), ("stopped", "Stopped"),
        ("used", "Used"))]
    priorities = sorted({r.priority for r in rows}, key=rank)
    series = []
    for rule in RULES:
        values: list[float] = []
        for priority in priorities:
            met = sum(1 for r in rows if r.rule == rule and r.priority == priority and r.result.state is SlaState.MET)
            bad = sum(1 for r in rows if r.rule == rule and r.priority == priority
                      and r.result.state is SlaState.BREACHED)
            value = _compliance(met, bad)
            values.append(float(value) if value is not None else None)  # no clock: «—», not 0 %
        series.append(Series(name=rule, values=values))
    total_met = sum(1 for r in rows if r.result.state is SlaState.MET)
    total_bad = sum(1 for r in rows if r.result.state is SlaState.BREACHED)
    compliance = _compliance(total_met, total_bad)
    def day(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%d.%m.%Y") if moment else "…"

    subtitle = f"issues created {day(start)} — {day(end)}"
    if migrated is not None:
        subtitle += f" · migrated issues left out: {migrated}"
    return Report(
        title="SLA report", generated_at=now, subtitle=subtitle,
        summary=[Metric(label="clocks", value=len(rows)), Metric(label="met", value=total_met, tone="ok"),
                 Metric(label="breached", value=total_bad, tone="bad" if total_bad else "ok"),
                 Metric(label="compliance %", value=compliance if compliance is not None else "—")],
        sections=[Section(title="Compliance per rule, priority and company",
                          table=Table(columns=columns, rows=summary_rows, empty_text="No issues in the period.")),
                  Section(title="Compliance per priority", chart=Chart(
                      title="Met / (met + breached), %", categories=priorities, series=series, unit="%")),
                  Section(title="Breached and at-risk clocks",
                          table=Table(columns=breach_columns, rows=breach_rows, empty_text="No breaches."))])
