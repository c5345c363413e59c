"""The migration's results as a `Report` (terminal, JSON, HTML share it)."""

from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path

from helpdesk_core.report import Chart, Column, Metric, Report, Section, Series, Table
from migrator.outcome import KINDS, VERBS, MigrationResult
from migrator.verify import Difference, VerifyResult


def migration_report(result: MigrationResult, generated_at: datetime) -> Report:
    mode = "plan (nothing written)" if result.dry_run else "run"
    bad = [f for f in result.findings if f.category == "bad-record"]
    would = "would " if result.dry_run else ""

    def done(noun: str, verb: str, past: str) -> str:
        return f"{noun} to {verb}" if result.dry_run else f"{noun} {past}"

    summary = [
        Metric(label="tickets read", value=result.tickets_read),
        Metric(label=done("issues", "create", "created"), value=result.count("issue", "create")),
        Metric(label="issues already there", value=result.count("issue", "match") + result.count("issue", "skip")),
        Metric(label=done("notes", "write", "written"), value=result.count("journal", "create")),
        Metric(label=done("attachments", "upload", "uploaded"), value=result.count("attachment", "create")),
        Metric(label=done("time entries", "log", "logged"), value=result.count("time_entry", "create")),
        Metric(label="bad records", value=len(bad), tone="bad" if bad else "ok"),
        Metric(label="findings", value=sum(result.finding_counts.values()) or len(result.findings),
               tone="warn" if result.findings else "ok"),
        Metric(label="notifications", value=result.notifications,
               tone="bad" if result.notifications == "on" else ("ok" if result.notifications == "off" else "warn")),
        Metric(label="emails if notifications stay on (up to)", value=result.notification_emails_estimate),
        Metric(label="API requests", value=result.requests.get("requests", 0)),
        Metric(label="seconds", value=str(result.seconds)),
    ]
    counts = Table(
        columns=[Column(key="kind", label="object"),
                 *[Column(key=v, label=f"{would}{v}" if v == "create" else v, numeric=True) for v in VERBS]],
        rows=[{"kind": k, **{v: result.count(k, v) for v in VERBS}} for k in KINDS if k in result.counts],
    )
    findings = Table(
        columns=[Column(key="category", label="category"), Column(key="file", label="file"),
                 Column(key="line", label="line", numeric=True), Column(key="id", label="id"),
                 Column(key="field", label="field"), Column(key="reason", label="reason")],
        rows=[f.model_dump(include={"category", "file", "line", "id", "field", "reason"}) for f in result.findings],
        empty_text="Nothing to report.",
    )
    unmapped = Table(
        columns=[Column(key="field", label="portal field"), Column(key="value", label="value"),
                 Column(key="count", label="tickets", numeric=True)],
        rows=[{"field": f, "value": v, "count": n} for f, values in result.unmapped.items() for v, n in values.items()],
        empty_text="Every portal value has a mapping.",
    )
    chart_kinds = [k for k in KINDS if k in result.counts]
    chart = Chart(kind="stacked-bar", title="Objects by outcome", categories=chart_kinds,
                  series=[Series(name=v, values=[result.count(k, v) for k in chart_kinds]) for v in VERBS])
    shown = {f.category for f in result.findings}
    cut = {c: n for c, n in result.finding_counts.items() if c in shown and n > sum(
        1 for f in result.findings if f.category == c)}
    subtitle_cut = "; ".join(f"{c}: first {sum(1 for f in result.findings if f.category == c)} of {n} shown"
                             for c, n in sorted(cut.items()))
    return Report(
        title=f"Migration {mode}", subtitle=f"export {result.export} · " + (
            f"ledger {result.ledger}" if Path(result.ledger).exists()
            else f"no ledger yet ({result.ledger}): the state was read from Redmine")
        + (f" · bad lines kept whole in {result.rejects}" if result.rejects else ""),
        generated_at=generated_at, summary=summary,
        sections=[Section(title="What it does", table=counts, chart=chart),
                  Section(title="Findings (bad records, unmapped values, attachments, authorship)",
                          description=subtitle_cut or None, table=findings),
                  Section(title="Unmapped portal values", table=unmapped)],
    )


def _names(listed: str) -> set[str]:
    """File names out of an attachments cell ("[('a.pdf', 'sha…')]"); the cell as it is when unparsable."""
    try:
        return {str(item[0]) for item in ast.literal_eval(listed)}
    except (ValueError, SyntaxError, TypeError, IndexError):
        return {listed}


def describe(d: Difference) -> str:
    """One difference as one sentence (English; the catalogue has its Russian)."""
    field, expected, actual = d.field, d.expected, d.actual
    if field == "project" and expected.startswith("one project carrying company id "):
        return f"projects carrying company id {expected.rsplit(' ', 1)[-1]}: {actual}, should be one"
    if field == "exists once":
        return f"the ticket should be one issue in Redmine; found {actual}"
    if field in ("tracker", "status", "priority"):
        return f"{field} is «{actual}» in Redmine, the export says «{expected}»"
    if field == "author":
        return f"the issue's author is user #{actual} in Redmine, should be user #{expected}"
    if field.startswith("comment ") and field.endswith(" author"):
        return f"comment {field.split()[1]} is by user #{actual} in Redmine, should be by user #{expected}"
    if field == "attachments (name, sha256)":
        missing, extra = sorted(_names(expected) - _names(actual)), sorted(_names(actual) - _names(expected))
        parts = ([f"missing in Redmine: {', '.join(missing)}"] if missing else []) + (
            [f"in Redmine but not in the export: {', '.join(extra)}"] if extra else [])
        return "attachments " + "; ".join(parts) if parts else "attachments differ in content (sha256)"
    if field == "journals":
        return f"{actual} of the export's {expected} comments are in Redmine"
    if field == "private journals":
        return f"{actual} private comments in Redmine, {expected} internal in the export"
    if field.endswith(" copies") or field == "attachments uploaded twice":
        return f"{field.removesuffix(' copies')}: copies in Redmine: {actual}"
    if field == "hours":
        return f"hours: {actual} in Redmine, {expected} in the export"
    return f"{field}: expected {expected}, Redmine has {actual}"


def verify_report(result: VerifyResult, generated_at: datetime, redmine_url: str = "") -> Report:
    link = f"{redmine_url.rstrip('/')}/issues/{{value}}" if redmine_url else None
    table = Table(columns=[Column(key="ticket", label="ticket"),
                           Column(key="issue", label="issue", numeric=True, link=link),
                           Column(key="difference", label="difference"),
                           Column(key="field", label="field"), Column(key="expected", label="expected"),
                           Column(key="actual", label="actual")],
                  rows=[{**d.model_dump(), "difference": describe(d)} for d in result.differences],
                  empty_text="No difference.")
    return Report(title="Migration verify", generated_at=generated_at,
                  summary=[Metric(label="tickets checked", value=result.tickets),
                           Metric(label="differences", value=len(result.differences),
                                  tone="bad" if result.differences else "ok"),
                           Metric(label="API requests", value=result.requests.get("requests", 0))],
                  sections=[Section(title="Differences", table=table)])
