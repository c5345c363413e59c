"""`migrate verify`: the export and Redmine reconciled ticket by ticket.

Independent of the ledger's claims: it reads Redmine (the portal-id index, then each issue
with its journals and attachments, and its time entries) and compares what is there with
what the export and mappings.yaml say should be there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from helpdesk_core.export import open_export
from helpdesk_core.export_model import Ticket
from helpdesk_core.gateway import Gateway
from helpdesk_core.mappings import Mappings
from migrator.ledger import Ledger
from migrator.live import index_portal_issues, read_live
from migrator.text import find_provenance

Json = dict[str, Any]


class Difference(BaseModel):
    ticket: str
    issue: int | None
    field: str
    expected: str
    actual: str


class VerifyResult(BaseModel):
    tickets: int
    differences: list[Difference]
    requests: dict[str, int] = {}


def _sound_attachments(ticket: Ticket, check: Callable[[Any], bool]) -> set[tuple[str, str]]:
    files = list(ticket.attachments) + [a for c in ticket.comments for a in c.attachments]
    return {(a.filename, a.sha256) for a in files if check(a)}


def _all_attachments(ticket: Ticket, check: Callable[[Any], bool]) -> list[tuple[str, str]]:
    """With repeats: the same file attached twice in the portal is attached twice in Redmine."""
    files = list(ticket.attachments) + [a for c in ticket.comments for a in c.attachments]
    return [(a.filename, a.sha256) for a in files if check(a)]


def verify_migration(export_path: Path, gateway: Gateway, mappings: Mappings, ledger: Ledger,
                     *, max_attachment_bytes: int | None = None,
                     progress: Callable[[int, int], None] | None = None) -> VerifyResult:
    live = read_live(gateway, mappings)
    migrated_projects = [rid for _, rid in ledger.items("project") if rid is not None]
    index_portal_issues(gateway, live, migrated_projects or None)  # no ledger: look everywhere
    admin_id = int(gateway.get("/users/current.json")["user"]["id"])
    limit = max_attachment_bytes or mappings.settings.attachment_max_size_kb * 1024
    portal = mappings.portal
    users = {source: rid for source, rid in ledger.items("user")}
    projects = {source: rid for source, rid in ledger.items("project")}
    differences: list[Difference] = []
    done = 0
    with open_export(export_path) as export:
        total = export.manifest.counts.tickets

        def check_attachment(att: Any) -> bool:
            return export.check_attachment(att).ok and att.size <= limit

        for ticket in export.tickets():
            done += 1
            if progress:
                progress(done, total)
            found = live.issues_by_portal_id.get(ticket.id, [])

            def differ(field: str, expected: object, actual: object, issue: int | None = None,
                       ticket: Ticket = ticket) -> None:
                differences.append(Difference(ticket=ticket.id, issue=issue, field=field,
                                              expected=str(expected), actual=str(actual)))

            if len(found) != 1:
                differ("exists once", 1, len(found))
                if not found:
                    continue
            issue_id = found[0]
            issue = gateway.get(f"/issues/{issue_id}.json", {"include": "journals,attachments"})["issue"]
            expected = {
                "project": projects.get(ticket.company_id),
                "tracker": portal.reasons.get(ticket.reason, portal.fallback_tracker),
                "status": portal.statuses.get(ticket.status, portal.fallback_status),
                "priority": portal.priorities.get(ticket.priority, portal.fallback_priority),
            }
            actual = {"project": issue["project"]["id"], "tracker": issue["tracker"]["name"],
                      "status": issue["status"]["name"], "priority": issue["priority"]["name"]}
            for key, value in expected.items():
                if value is not None and value != actual[key]:
                    differ(key, value, actual[key], issue_id)
            author = users.get(ticket.author_id)
            if author is not None and issue["author"]["id"] != author:
                differ("author", author, issue["author"]["id"], issue_id)
            comments = {}
            copies: Counter[tuple[str, str]] = Counter()  # a note written twice is a difference too
            for journal in issue.get("journals", []):
                for kind, source in find_provenance(journal.get("notes")):
                    copies[(kind, source)] += 1
                    if kind == "comment":
                        comments[source] = journal
            for (kind, source), n in sorted(copies.items()):
                if n > 1:
                    differ(f"{kind} {source} copies", 1, n, issue_id)
            if len(comments) != len(ticket.comments):
                differ("journals", len(ticket.comments), len(comments), issue_id)
            private = sum(1 for j in comments.values() if j.get("private_notes"))
            internal = sum(1 for c in ticket.comments if c.internal)
            if private != internal:
                differ("private journals", internal, private, issue_id)
            for comment in ticket.comments:
                journal = comments.get(comment.id)
                if journal is None:
                    continue
                writer = journal["user"]["id"]
                expected_writer = users.get(comment.author_id)
                # The run writes as the API user where the author may not (reported then, and noted
                # in the ledger): an internal note by a non-staff author, or a forbidden project.
                api_allowed = comment.internal or ledger.has("written-by-api", f"{ticket.id}:{comment.id}")
                if expected_writer not in (None, writer) and not (api_allowed and writer == admin_id):
                    differ(f"comment {comment.id} author", expected_writer, writer, issue_id)
            wanted_files = _sound_attachments(ticket, check_attachment)
            uploaded = [(a["filename"], gateway.download_sha256(a["content_url"]))
                        for a in issue.get("attachments", [])]
            have_files = set(uploaded)
            if wanted_files != have_files:
                differ("attachments (name, sha256)", sorted(wanted_files), sorted(have_files), issue_id)
            if len(uploaded) > len(have_files) and len(uploaded) > len(_all_attachments(ticket, check_attachment)):
                differ("attachments uploaded twice", len(have_files), len(uploaded), issue_id)
            if ticket.time_entries:
                entries = list(gateway.iterate("/time_entries.json", "time_entries",
                                               {"issue_id": issue_id, "sort": None}))
                marked = {s: e for e in entries for k, s in find_provenance(e.get("comments")) if k == "time"}
                logged = Counter(s for e in entries for k, s in find_provenance(e.get("comments")) if k == "time")
                for source, n in sorted(logged.items()):
                    if n > 1:
                        differ(f"time entry {source} copies", 1, n, issue_id)
                if set(marked) != {e.id for e in ticket.time_entries}:
                    differ("time entries", sorted(e.id for e in ticket.time_entries), sorted(marked), issue_id)
                hours = sum((Decimal(str(e["hours"])) for e in marked.values()), Decimal(0))
                wanted_hours = sum((e.hours for e in ticket.time_entries), Decimal(0))
                if hours.quantize(Decimal("0.01")) != wanted_hours.quantize(Decimal("0.01")):
                    differ("hours", wanted_hours, hours, issue_id)
    return VerifyResult(tickets=done, differences=differences, requests=gateway.stats.as_dict())

