"""`migrate verify`: the export and Redmine reconciled ticket by ticket.

Export ↔ Redmine alone: projects are found by the company id they carry, accounts by the portal
user id the migration set on them, issues by «ID в портале», notes and time entries by the marker
the migration wrote where it writes it (never a marker quoted in client text). The ledger is read
only for what Redmine cannot say: which pre-existing accounts the administrator let it adopt and
which notes it had to write as the API user. Without a ledger those checks are looser, never skipped.
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
from migrator.decide import Person, issue_author, loggable_entries, note_writer
from migrator.ledger import Ledger
from migrator.live import index_portal_issues, our_notes, our_time_entries, read_live
from migrator.text import attachment_filename

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
    return {(attachment_filename(a.filename), a.sha256) for a in files if check(a)}


def _all_attachments(ticket: Ticket, check: Callable[[Any], bool]) -> list[tuple[str, str]]:
    """With repeats: the same file attached twice in the portal is attached twice in Redmine."""
    files = list(ticket.attachments) + [a for c in ticket.comments for a in c.attachments]
    return [(attachment_filename(a.filename), a.sha256) for a in files if check(a)]


def verify_migration(export_path: Path, gateway: Gateway, mappings: Mappings, ledger: Ledger,
                     *, max_attachment_bytes: int | None = None,
                     progress: Callable[[int, int], None] | None = None) -> VerifyResult:
    live = read_live(gateway, mappings)
    admin_id = live.api_user_id
    limit = max_attachment_bytes or mappings.settings.attachment_max_size_kb * 1024
    portal = mappings.portal
    standin = live.users_by_login.get(portal.standin_user.login.lower())
    tool_writers = {admin_id, int(standin["id"]) if standin else 0}
    # Accounts: the one carrying the portal user id, else one the ledger says was adopted with consent.
    users = {source: int(user["id"]) for source, user in live.users_by_portal_id.items()}
    for source, rid in [*ledger.items("adopted")]:
        if rid is not None:
            users.setdefault(source, rid)
    with open_export(export_path) as company_pass:
        company_ids = [c.id for c in company_pass.companies()]
        # Who each portal user is (kind, company): the decision rules (migrator.decide) need it.
        people = {u.id: Person(users[u.id], u.login, u.login, u.kind, company_id=u.company_id)
                  for u in company_pass.users() if u.id in users}
    projects = {cid: int(found[0]["id"]) for cid in company_ids
                if len(found := live.projects_by_company.get(cid, [])) == 1}
    index_portal_issues(gateway, live, list(projects.values()) or [0])
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
            author = users.get(ticket.author_id)
            writers = tool_writers | {author or 0}
            found = [i for i in live.issues_by_portal_id.get(ticket.id, []) if live.issue_authors.get(i) in writers]

            def differ(field: str, expected: object, actual: object, issue: int | None = None,
                       ticket: Ticket = ticket) -> None:
                differences.append(Difference(ticket=ticket.id, issue=issue, field=field,
                                              expected=str(expected), actual=str(actual)))

            if ticket.company_id not in projects:
                differ("project", f"one project carrying company id {ticket.company_id}",
                       len(live.projects_by_company.get(ticket.company_id, [])))
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
            if author is not None and issue["author"]["id"] not in (author, admin_id):
                decided = issue_author(people[ticket.author_id], False, people[ticket.author_id], ticket.company_id, "")
                if decided.instead is None or issue["author"]["id"] not in tool_writers:
                    differ("author", author, issue["author"]["id"], issue_id)
            comments = {}
            copies: Counter[tuple[str, str]] = Counter()  # a note written twice is a difference too
            authors = {c.id: users.get(c.author_id, 0) for c in ticket.comments}
            for kind, source, journal in our_notes(issue, tool_writers, authors):
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
                person = people.get(comment.author_id)
                decided = note_writer(person, False, ticket.company_id, "", private=comment.internal) \
                    if person is not None else None
                api_allowed = (decided is not None and decided.person is None) or comment.internal \
                    or ledger.has("written-by-api", f"{ticket.id}:{comment.id}")
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
            loggable = loggable_entries(ticket)  # what the migration logs (migrator.decide), nothing else
            if loggable:
                entries = list(gateway.iterate("/time_entries.json", "time_entries",
                                               {"issue_id": issue_id, "sort": None}))
                expected_users = {e.id: users.get(e.user_id, 0) for e in loggable}
                ours = our_time_entries(entries, tool_writers, expected_users)
                marked = dict(ours)
                logged = Counter(source for source, _ in ours)
                for source, n in sorted(logged.items()):
                    if n > 1:
                        differ(f"time entry {source} copies", 1, n, issue_id)
                if set(marked) != {e.id for e in loggable}:
                    differ("time entries", sorted(e.id for e in loggable), sorted(marked), issue_id)
                hours = sum((Decimal(str(e["hours"])) for e in marked.values()), Decimal(0))
                wanted_hours = sum((e.hours for e in loggable), Decimal(0))
                if hours.quantize(Decimal("0.01")) != wanted_hours.quantize(Decimal("0.01")):
                    differ("hours", wanted_hours, hours, issue_id)
    return VerifyResult(tickets=done, differences=differences, requests=gateway.stats.as_dict())

