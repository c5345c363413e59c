"""Consultation billing: the hours a company pays for in one month.

Regulation: paid consultations are consultations and meetings with the project manager
(«Подобные консультации подлежат оплате … с округлением до целого консультационного часа в
большую сторону»), and «Обсуждение — консультации… Консультации могут быть как платными, так и
бесплатными». So what is billed is consultation *time*, not a tracker: by default the time
logged with the activity «Консультация», on an issue of any tracker (or on no issue), unless
support marked the issue free (the issue field «Бесплатная консультация»). Support's other
time — reading a question on «Обсуждение», fixing a bug — is work under the support contract,
never billed. Which time counts (activities and/or trackers), what one consultation is (by
default the time logged on one issue on one day; or one time entry; or an issue's time in the
month) and the free field are `BillingRules`. Free consultations are listed, never billed.

Hours are `Decimal` from the moment they leave Redmine's JSON to the report: a float sum of
0.1 + 0.2 is not 0.3, and a bill must add up.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from helpdesk_core.errors import ConfigError
from helpdesk_core.gateway import Gateway
from helpdesk_core.report import Cell, Chart, Column, Metric, Report, Section, Series, Table

ISSUE_BATCH = 100  # ids per /issues.json request: keeps the URL short, the request count low
CONSULTATION_HOUR = Decimal(1)

Unit = Literal["day", "entry", "issue"]
FREE_FIELD = "Бесплатная консультация"
CONSULTATION_ACTIVITY = "Консультация"  # mappings.yaml time_entry_activities; migrated «Обсуждение» time too


class BillingRules(BaseModel):
    """What is billed: time with these activities and/or on these trackers, and the unit.

    The default is the regulation's paid consultation: the activity «Консультация» on any
    tracker. `match: any` bills time that meets either condition, `all` only time that meets
    both (when both lists are given).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    trackers: tuple[str, ...] = ()
    activities: tuple[str, ...] = (CONSULTATION_ACTIVITY,)
    match: Literal["any", "all"] = "any"
    unit: Unit = "day"
    free_field: str | None = FREE_FIELD  # issue boolean custom field; "1" = not billed

    @field_validator("trackers", "activities")
    @classmethod
    def _no_blanks(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip() for v in values if v.strip())

    def counts(self, tracker: str | None, activity: str | None) -> bool:
        """Whether time with this issue tracker and activity is a consultation."""
        tests = []
        if self.trackers:
            tests.append(tracker in self.trackers)
        if self.activities:
            tests.append(activity in self.activities)
        if not tests:
            return False
        return all(tests) if self.match == "all" else any(tests)

    def may_count(self, activity: str | None) -> bool:
        """Whether time with this activity can be a consultation on some tracker (its issue is worth reading)."""
        return any(self.counts(tracker, activity) for tracker in (*self.trackers, None))

    def describe(self) -> str:
        what = [f"tracker {', '.join(self.trackers)}" if self.trackers else "",
                f"activity {', '.join(self.activities)}" if self.activities else ""]
        joined = (" and " if self.match == "all" else " or ").join(w for w in what if w) or "nothing"
        unit = {"day": "each issue's time on one day", "entry": "each time entry",
                "issue": "each issue's time in the month"}[self.unit]
        return f"time on {joined}; {unit} rounded up to a whole hour"

    def key(self, entry: TimeEntry) -> tuple[Any, ...]:
        """What one consultation is: the entries that share this key are rounded together."""
        if self.unit == "issue":
            return (entry.project_id, entry.issue_id)
        if self.unit == "day":
            return (entry.project_id, entry.issue_id, entry.spent_on) if entry.issue_id is not None else (
                entry.project_id, None, entry.id)  # time on no issue: each entry its own
        return (entry.project_id, entry.issue_id, entry.id)


def billable_hours(hours: Decimal) -> Decimal:
    """Round up to a whole consultation hour: 0.25 → 1, 1.0 → 1, 2.2 → 3, 0 → 0."""
    if not hours.is_finite() or hours < 0:
        raise ValueError(f"hours must be a finite non-negative number, got {hours}")
    return (hours / CONSULTATION_HOUR).to_integral_value(rounding=ROUND_CEILING) * CONSULTATION_HOUR


def to_decimal(value: Any) -> Decimal:
    """Redmine's hours as an exact Decimal: a float becomes the decimal it was printed as."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"hours is not a number: {value!r}")
    return Decimal(repr(value) if isinstance(value, float) else value)


@dataclass(frozen=True)
class Month:
    """A calendar month; `first`..`last` are the from/to filters Redmine takes."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        found = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
        if not found or not 1 <= int(found.group(2)) <= 12:
            raise ConfigError(f"'{text}' is not a month (YYYY-MM)", key="--month")
        return cls(int(found.group(1)), int(found.group(2)))

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class TimeEntry(BaseModel):
    """The fields of a Redmine time entry billing needs."""

    model_config = ConfigDict(frozen=True)

    id: int
    hours: Decimal
    spent_on: date
    project_id: int
    project: str
    issue_id: int | None = None
    activity: str | None = None
    user: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> TimeEntry:
        def name(key: str) -> str | None:
            value = data.get(key)
            return str(value.get("name")) if isinstance(value, dict) and "name" in value else None

        issue = data.get("issue")
        return cls(id=int(data["id"]), hours=to_decimal(data["hours"]),
                   spent_on=date.fromisoformat(str(data["spent_on"])),
                   project_id=int(data["project"]["id"]), project=name("project") or "",
                   issue_id=int(issue["id"]) if isinstance(issue, dict) and "id" in issue else None,
                   activity=name("activity"), user=name("user"))


class IssueInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    subject: str
    tracker: str | None
    free: bool = False  # support ticked the free-consultation field


def read_time_entries(gateway: Gateway, month: Month, project: str | None = None) -> Iterator[TimeEntry]:
    """Every time entry spent in the month (of one project and its subprojects if given), streamed."""
    params = {"from": month.first.isoformat(), "to": month.last.isoformat()}
    if project is not None:
        params["project_id"] = project
    for data in gateway.iterate("/time_entries.json", "time_entries", params):
        yield TimeEntry.from_api(data)


def read_issues(gateway: Gateway, ids: Iterable[int], free_field: str | None = FREE_FIELD) -> dict[int, IssueInfo]:
    """Tracker and subject of many issues, `ISSUE_BATCH` per request, closed ones included.

    An issue that is missing from the answer (deleted, or invisible to this key) is absent
    from the result; its time is then judged by activity alone.
    """
    wanted = sorted(set(ids))
    found: dict[int, IssueInfo] = {}
    for start in range(0, len(wanted), ISSUE_BATCH):
        batch = wanted[start:start + ISSUE_BATCH]
        params = {"issue_id": ",".join(map(str, batch)), "status_id": "*"}
        for data in gateway.iterate("/issues.json", "issues", params, page_size=ISSUE_BATCH):
            tracker = data.get("tracker")
            free = any(f.get("name") == free_field and str(f.get("value")) == "1"
                       for f in data.get("custom_fields", []) if isinstance(f, dict)) if free_field else False
            found[int(data["id"])] = IssueInfo(
                id=int(data["id"]), subject=str(data.get("subject", "")),
                tracker=str(tracker["name"]) if isinstance(tracker, dict) else None, free=free)
    return found


# --- computing the bill ---------------------------------------------------------------------------


class Consultation(BaseModel):
    """One unit of consultation time (see `BillingRules.key`), rounded up on its own."""

    model_config = ConfigDict(frozen=True)

    project_id: int
    company: str
    issue_id: int | None
    subject: str
    tracker: str | None
    entry_ids: tuple[int, ...]
    logged: Decimal
    billable: Decimal
    first_day: date | None = None  # the days its time was spent (one day for the default unit)
    last_day: date | None = None


class IssueLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    company: str
    issue_id: int | None
    subject: str
    tracker: str | None
    consultations: int
    logged: Decimal
    billable: Decimal


class CompanyLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    project_id: int
    company: str
    issues: int
    consultations: int
    logged: Decimal
    billable: Decimal


class Bill(BaseModel):
    """The month's consultations with per-issue and per-company sums and totals."""

    model_config = ConfigDict(frozen=True)

    month: str
    rules: BillingRules
    consultations: list[Consultation]
    issues: list[IssueLine]
    companies: list[CompanyLine]
    logged: Decimal
    billable: Decimal
    entries_seen: int
    entries_billed: int
    issues_unknown: list[int] = Field(default_factory=list)
    free: list[Consultation] = Field(default_factory=list)  # marked free by support: not billed


def compute_bill(month: Month, entries: Sequence[TimeEntry], issues: dict[int, IssueInfo],
                 rules: BillingRules) -> Bill:
    """Select consultation time, group it into consultations (`rules.key`), round each up,
    set free ones aside, and add up per issue and company."""
    selected = []
    for entry in entries:
        info = issues.get(entry.issue_id) if entry.issue_id is not None else None
        if rules.counts(info.tracker if info else None, entry.activity):
            selected.append((entry, info))
    units: dict[tuple[Any, ...], list[tuple[TimeEntry, IssueInfo | None]]] = {}
    for entry, info in selected:
        units.setdefault(rules.key(entry), []).append((entry, info))
    consultations, free = [], []
    for group in units.values():
        first, info = group[0]
        logged = sum((e.hours for e, _ in group), Decimal(0))
        unit = Consultation(
            project_id=first.project_id, company=first.project, issue_id=first.issue_id,
            subject=info.subject if info else "", tracker=info.tracker if info else None,
            entry_ids=tuple(e.id for e, _ in group), logged=logged,
            first_day=min(e.spent_on for e, _ in group), last_day=max(e.spent_on for e, _ in group),
            billable=Decimal(0) if info is not None and info.free else billable_hours(logged))
        (free if info is not None and info.free else consultations).append(unit)
    order = lambda c: (c.company, c.issue_id is None, c.issue_id or 0, c.entry_ids)  # noqa: E731
    consultations.sort(key=order)
    free.sort(key=order)
    issue_lines = _by_issue(consultations)
    company_lines = _by_company(consultations)
    unknown = sorted({e.issue_id for e in entries if e.issue_id is not None and e.issue_id not in issues
                      and rules.may_count(e.activity)})
    return Bill(month=str(month), rules=rules, consultations=consultations, issues=issue_lines,
                companies=company_lines, logged=sum((c.logged for c in consultations), Decimal(0)),
                billable=sum((c.billable for c in consultations), Decimal(0)),
                entries_seen=len(entries), entries_billed=sum(len(c.entry_ids) for c in consultations),
                issues_unknown=unknown, free=free)


def _by_issue(consultations: Sequence[Consultation]) -> list[IssueLine]:
    groups: dict[tuple[int, int | None], list[Consultation]] = {}
    for c in consultations:
        groups.setdefault((c.project_id, c.issue_id), []).append(c)
    return [IssueLine(company=g[0].company, issue_id=g[0].issue_id, subject=g[0].subject,
                      tracker=g[0].tracker, consultations=len(g),
                      logged=sum((c.logged for c in g), Decimal(0)),
                      billable=sum((c.billable for c in g), Decimal(0))) for g in groups.values()]


def _by_company(consultations: Sequence[Consultation]) -> list[CompanyLine]:
    groups: dict[int, list[Consultation]] = {}
    for c in consultations:
        groups.setdefault(c.project_id, []).append(c)
    lines = [CompanyLine(project_id=pid, company=g[0].company, issues=len({c.issue_id for c in g}),
                         consultations=len(g), logged=sum((c.logged for c in g), Decimal(0)),
                         billable=sum((c.billable for c in g), Decimal(0))) for pid, g in groups.items()]
    return sorted(lines, key=lambda line: (-line.billable, line.company))


def bill_month(gateway: Gateway, month: Month, rules: BillingRules, project: str | None = None) -> Bill:
    """Read the month's time entries and, in bulk, the issues of those that may be consultations
    (tracker, subject, free mark), and compute the bill."""
    entries = list(read_time_entries(gateway, month, project))
    wanted = (e.issue_id for e in entries if e.issue_id is not None and rules.may_count(e.activity))
    issues = read_issues(gateway, wanted, rules.free_field)
    return compute_bill(month, entries, issues, rules)


# --- the report ----------------------------------------------------------------------------------

TABLES = ("companies", "issues", "consultations", "free")


def _hours(value: Decimal) -> Decimal:
    """Hours as shown: at least two decimals so 0.25 and 1.00 line up, never fewer digits."""
    exponent = value.as_tuple().exponent
    return value if isinstance(exponent, int) and exponent <= -2 else value.quantize(Decimal("0.01"))


def _issue_ref(issue_id: int | None) -> str:
    return f"#{issue_id}" if issue_id is not None else "(no issue)"


def bill_report(bill: Bill, generated_at: datetime, redmine_url: str = "") -> Report:
    """The bill as a `Report`: totals on top, a chart and a table per company, then per issue.
    With `redmine_url`, each issue links to Redmine (the rows carry its address as "url")."""
    base = redmine_url.rstrip("/")

    def issue_column() -> Column:
        return Column(key="issue", label="Issue", link="{value}" if base else None, link_key="url" if base else None)

    def issue_cells(issue_id: int | None) -> dict[str, Cell]:
        url = f"{base}/issues/{issue_id}" if base and issue_id is not None else None
        return {"issue": _issue_ref(issue_id), **({"url": url} if base else {})}

    companies = Table(
        columns=[Column(key="company", label="Company"),
                 Column(key="issues", label="Issues", numeric=True),
                 Column(key="consultations", label="Consultations", numeric=True),
                 Column(key="logged", label="Logged h", numeric=True),
                 Column(key="billable", label="Billable h", numeric=True)],
        rows=[{"company": c.company, "issues": c.issues, "consultations": c.consultations,
               "logged": _hours(c.logged), "billable": c.billable} for c in bill.companies],
        empty_text="No consultation time this month.")
    issues = Table(
        columns=[Column(key="company", label="Company"), issue_column(),
                 Column(key="subject", label="Subject"), Column(key="tracker", label="Tracker"),
                 Column(key="consultations", label="Consultations", numeric=True),
                 Column(key="logged", label="Logged h", numeric=True),
                 Column(key="billable", label="Billable h", numeric=True)],
        rows=[{"company": i.company, **issue_cells(i.issue_id), "subject": i.subject,
               "tracker": i.tracker, "consultations": i.consultations, "logged": _hours(i.logged),
               "billable": i.billable} for i in bill.issues],
        empty_text="No consultation time this month.")
    spans = any(c.last_day != c.first_day for c in bill.consultations)  # --unit issue: several days
    units = Table(
        columns=[Column(key="company", label="Company"), issue_column(),
                 Column(key="day", label="Date"), *([Column(key="last_day", label="Last date")] if spans else []),
                 Column(key="entries", label="Time entries"),
                 Column(key="logged", label="Logged h", numeric=True),
                 Column(key="billable", label="Billable h", numeric=True)],
        rows=[{"company": c.company, **issue_cells(c.issue_id), "day": c.first_day,
               **({"last_day": c.last_day} if spans else {}),
               "entries": ", ".join(f"#{e}" for e in c.entry_ids), "logged": _hours(c.logged),
               "billable": c.billable} for c in bill.consultations],
        empty_text="No consultation time this month.")
    free = Table(
        columns=[Column(key="company", label="Company"), issue_column(),
                 Column(key="subject", label="Subject"), Column(key="entries", label="Time entries"),
                 Column(key="logged", label="Logged h", numeric=True)],
        rows=[{"company": c.company, **issue_cells(c.issue_id), "subject": c.subject,
               "entries": ", ".join(f"#{e}" for e in c.entry_ids), "logged": _hours(c.logged)}
              for c in bill.free],
        empty_text="No free consultations this month.")
    chart = Chart(title="Billable hours per company", categories=[c.company for c in bill.companies],
                  series=[Series(name="Billable hours", values=[c.billable for c in bill.companies])],
                  unit="h")
    summary = [
        Metric(label="Billable hours", value=bill.billable, tone="ok"),
        Metric(label="Logged hours", value=_hours(bill.logged)),
        Metric(label="Consultations", value=len(bill.consultations)),
        Metric(label="Companies", value=len(bill.companies)),
        Metric(label="Time entries billed", value=f"{bill.entries_billed} of {bill.entries_seen}"),
    ]
    if bill.free:
        summary.append(Metric(label="Free consultations", value=len(bill.free)))
    if bill.issues_unknown:
        summary.append(Metric(label="Issues not readable", value=len(bill.issues_unknown), tone="warn"))
    return Report(
        title=f"Consultation billing {bill.month}", generated_at=generated_at,
        subtitle=bill.rules.describe(), summary=summary,
        sections=[
            Section(title="Per company", description="Each consultation is rounded up before adding.",
                    table=companies, chart=chart if bill.companies else None),
            Section(title="Per issue", table=issues),
            Section(title="Consultations", description="What was rounded: one row per billed unit.",
                    table=units),
            # only when there are some: the three sections above are the bill's stable shape
            *([Section(title="Free consultations",
                       description=f"Issues marked «{bill.rules.free_field}»: listed, not billed.", table=free)]
              if bill.free else []),
        ])


def report_table(report: Report, name: str) -> Table:
    """The table `--format csv` writes: companies, issues, consultations or free."""
    if name not in TABLES:
        raise ConfigError(f"unknown table '{name}' (one of: {', '.join(TABLES)})", key="--table")
    if name == "free" and len(report.sections) <= TABLES.index(name):
        return Table(columns=[Column(key="company", label="Company"), Column(key="issue", label="Issue"),
                              Column(key="logged", label="Logged h", numeric=True)], rows=[])
    table = report.sections[TABLES.index(name)].table
    assert table is not None
    return table
