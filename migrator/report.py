"""The migration's results as a `Report` (terminal, JSON, HTML share it)."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from helpdesk_core.clock import MOSCOW
from helpdesk_core.messages import ENGLISH, Messages
from helpdesk_core.report import Chart, Column, Metric, Report, Section, Series, Table
from migrator.outcome import KINDS, VERBS, MigrationResult
from migrator.verify import AttachmentLimit, Difference, FileRef, UserRef, VerifyResult


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


def _who(value: str, users: Mapping[int, UserRef]) -> str:
    """An account as people know it: «login (First Last)»; «#id» for one Redmine no longer has."""
    user = users.get(int(value)) if value.isdigit() else None
    if user is None:
        return f"#{value}"
    return f"{user.login} ({user.name})" if user.name and user.name != user.login else user.login


def _ids(listed: str) -> set[str]:
    """Portal ids out of a list cell ("['E1', 'E2']"): the cell itself when it is not such a list."""
    try:
        return {str(item) for item in ast.literal_eval(listed)}
    except (ValueError, SyntaxError, TypeError):
        return {listed}


def _files(files: list[FileRef], m: Messages) -> str:
    return ", ".join(f"{f.name} ({m.file_size(f.size)})" if f.size is not None else f.name for f in files)


def describe(d: Difference, m: Messages = ENGLISH, users: Mapping[int, UserRef] | None = None) -> str:
    """One difference as one sentence in `m`'s language: people by login and name, files by name and size."""
    field, expected, actual, users = d.field, d.expected, d.actual, users or {}
    if field == "project" and expected.startswith("one project carrying company id "):
        return m("projects carrying company id {id}: {n}, should be one", id=expected.rsplit(" ", 1)[-1], n=actual)
    if field == "exists once":
        return m("the ticket should be one issue in Redmine; found {n}", n=actual)
    if field in ("tracker", "status", "priority"):
        return m("{field} is «{actual}» in Redmine, the export says «{expected}»", field=m(field),
                 actual=actual, expected=expected)
    if field == "author":
        return m("the issue's author is {actual} in Redmine, should be {expected}",
                 actual=_who(actual, users), expected=_who(expected, users))
    if field.startswith("comment ") and field.endswith(" author"):
        return m("the author of comment {id} is {actual} in Redmine, should be {expected}", id=field.split()[1],
                 actual=_who(actual, users), expected=_who(expected, users))
    if field == "attachments (name, sha256)":
        missing, extra = _files(d.missing, m), _files(d.extra, m)
        if missing and extra:
            return m("attachments missing in Redmine: {names}; in Redmine but not in the export: {extra}",
                     names=missing, extra=extra)
        if missing:
            return m("attachments missing in Redmine: {names}", names=missing)
        if extra:
            return m("attachments in Redmine but not in the export: {names}", names=extra)
        return m("attachments differ in content (sha256)")
    if field == "journals":
        return m("{actual} of the export's {expected} comments are in Redmine", actual=actual, expected=expected)
    if field == "private journals":
        return m("{actual} private comments in Redmine, {expected} internal in the export",
                 actual=actual, expected=expected)
    if field == "project":
        return m("the issue is in project #{actual} in Redmine, should be in #{expected}",
                 actual=actual, expected=expected)
    if field.endswith(" copies"):
        kind, _, source = field.removesuffix(" copies").rpartition(" ")
        if kind in ("comment", "time entry"):
            return m(f"{kind} {{id}} is in Redmine {{n}} times", id=source, n=actual)
        return m("the note [portal:{kind}:{id}] is in Redmine {n} times", kind=kind, id=source, n=actual)
    if field == "attachments uploaded twice":
        return m("attachments uploaded more than once: {n} files in Redmine, {distinct} distinct",
                 n=actual, distinct=expected)
    if field == "time entries":
        wanted, found = _ids(expected), _ids(actual)
        return m("time entries missing in Redmine: {missing}; in Redmine but not in the export: {extra}",
                 missing=", ".join(sorted(wanted - found)) or "—", extra=", ".join(sorted(found - wanted)) or "—")
    if field == "hours":
        return m("hours: {actual} in Redmine, {expected} in the export", actual=actual, expected=expected)
    return m("{field}: expected {expected}, Redmine has {actual}", field=field, expected=expected, actual=actual)


def limit_note(limit: AttachmentLimit, m: Messages) -> str:
    """Which attachment limit verify judged by, and where it came from."""
    if limit.source == "option":
        return m("attachments up to {kb} KB (--attachment-limit-kb)", kb=limit.kb)
    if limit.source == "run":
        return m("attachments up to {kb} KB, as the run of {at} used (ledger)", kb=limit.kb,
                 at=_moscow(limit.recorded_at or "", m))
    return m("attachments up to {kb} KB (mappings.yaml: no run recorded in the ledger)", kb=limit.kb)


def _moscow(moment: str, m: Messages) -> str:
    """An ISO moment as the regulation's clock reads it: «05.12.2026 01:10 MSK»; as it is when unreadable."""
    try:
        when = datetime.fromisoformat(moment)
    except ValueError:
        return moment
    return m("{at} MSK", at=when.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M")) if when.tzinfo else moment


def verify_report(result: VerifyResult, generated_at: datetime, redmine_url: str = "",
                  m: Messages = ENGLISH) -> Report:
    """The differences for people, in `m`'s language: one sentence each, the issue linked to Redmine."""
    base = redmine_url.rstrip("/")
    link = f"{base}/issues/{{value}}" if base else None
    columns = [Column(key="ticket", label="ticket"), Column(key="issue", label="issue", numeric=True, link=link),
               Column(key="difference", label="difference")]
    if base:  # the address itself, for a terminal (a page links the issue number)
        columns.append(Column(key="url", label="link", link="{value}"))
    table = Table(columns=columns,
                  rows=[{"ticket": d.ticket, "issue": d.issue, "difference": describe(d, m, result.users),
                         **({"url": f"{base}/issues/{d.issue}" if d.issue is not None else None} if base else {})}
                        for d in result.differences],
                  empty_text="No difference.")
    return Report(title="Migration verify", generated_at=generated_at,
                  subtitle=limit_note(result.attachment_limit, m) if result.attachment_limit else None,
                  summary=[Metric(label="tickets checked", value=result.tickets),
                           Metric(label="differences", value=len(result.differences),
                                  tone="bad" if result.differences else "ok"),
                           Metric(label="API requests", value=result.requests.get("requests", 0))],
                  sections=[Section(title="Differences", table=table)])
