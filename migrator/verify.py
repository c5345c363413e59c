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
from typing import Any, Literal

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


class FileRef(BaseModel):
    """An attachment as a person recognises it: its name and size (bytes)."""

    name: str
    size: int | None = None


class Difference(BaseModel):
    ticket: str
    issue: int | None
    field: str
    expected: str
    actual: str
    # attachments only: the files behind `expected`/`actual`, by name and size
    missing: list[FileRef] = []
    extra: list[FileRef] = []


class UserRef(BaseModel):
    """A Redmine account named in a difference, as people know it."""

    login: str
    name: str


LimitSource = Literal["option", "run", "mappings"]


class AttachmentLimit(BaseModel):
    """The largest attachment the migration uploads, and where that figure came from."""

    kb: int
    source: LimitSource
    recorded_at: str | None = None  # the run that recorded it (source "run")


class VerifyResult(BaseModel):
    tickets: int
    differences: list[Difference]
    requests: dict[str, int] = {}
    users: dict[int, UserRef] = {}  # every account id a difference names
    attachment_limit: AttachmentLimit | None = None


def run_settings(mappings: Mappings, *, adopt_existing: bool, loader: str) -> dict[str, str]:
    """The options of `migrate run` that change what is written, as the ledger keeps them."""
    return {"attachment_limit_kb": str(mappings.settings.attachment_max_size_kb),
            "adopt_existing": "yes" if adopt_existing else "no", "loader": loader}


def attachment_limit(option_kb: int | None, ledger: Ledger, mappings: Mappings) -> AttachmentLimit:
    """The option when given; else what the last run recorded in the ledger; else mappings.yaml.
    Judging by a limit the run did not use would report every file between the two as a difference."""
    if option_kb is not None:
        return AttachmentLimit(kb=option_kb, source="option")
    recorded = ledger.run_settings().get("attachment_limit_kb")
    if recorded is not None and recorded[0].isdigit():
        return AttachmentLimit(kb=int(recorded[0]), source="run", recorded_at=recorded[1])
    return AttachmentLimit(kb=mappings.settings.attachment_max_size_kb, source="mappings")


def _sound_attachments(ticket: Ticket, check: Callable[[Any], bool]) -> set[tuple[str, str]]:
    files = list(ticket.attachments) + [a for c in ticket.comments for a in c.attachments]
    return {(attachment_filename(a.filename), a.sha256) for a in files if check(a)}


def _all_attachments(ticket: Ticket, check: Callable[[Any], bool]) -> list[tuple[str, str]]:
    """With repeats: the same file attached twice in the portal is attached twice in Redmine."""
    files = list(ticket.attachments) + [a for c in ticket.comments for a in c.attachments]
    return [(attachment_filename(a.filename), a.sha256) for a in files if check(a)]


def verify_migration(export_path: Path, gateway: Gateway, mappings: Mappings, ledger: Ledger,
                     *, limit: AttachmentLimit | None = None,
                     progress: Callable[[int, int], None] | None = None) -> VerifyResult:
    live = read_live(gateway, mappings)
    admin_id = live.api_user_id
    limit = limit or attachment_limit(None, ledger, mappings)
    max_bytes = limit.kb * 1024
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
            return export.check_attachment(att).ok and att.size <= max_bytes

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
                differences.append(Difference(
                    ticket=ticket.id, issue=issue_id, field="attachments (name, sha256)",
                    expected=str(sorted(wanted_files)), actual=str(sorted(have_files)),
                    missing=_file_refs(wanted_files - have_files, ticket, issue),
                    extra=_file_refs(have_files - wanted_files, ticket, issue)))
            if len(uploaded) > len(have_files) and len(uploaded) > len(_all_attachments(ticket, check_attachment)):
                differ("attachments uploaded twice", len(have_files), len(uploaded), issue_id)
            loggable = loggable_entries(ticket)  # what the migration logs (migrator.decide), nothing else
            if loggable:
                entries = list(gateway.iterate("/time_entries.json", "time_entries",
                                               {"issue_id": issue_id, "sort": None}))
                expected_users = {e.id: users.get(e.user_id, 0) for e in loggable}
                ours = our_time_entries(entries, tool_writers, expected_users,
                                        live.time_entry_fields["portal_time_id"])
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
    return VerifyResult(tickets=done, differences=differences, requests=gateway.stats.as_dict(),
                        users=_named_users(differences, live.users_by_login.values()), attachment_limit=limit)


def _file_refs(keys: set[tuple[str, str]], ticket: Ticket, issue: Json) -> list[FileRef]:
    """(name, sha256) pairs as name and size: the export's size, else Redmine's for a file only it has."""
    files = list(ticket.attachments) + [a for c in ticket.comments for a in c.attachments]
    exported = {(attachment_filename(a.filename), a.sha256): a.size for a in files}
    in_redmine = {str(a["filename"]): int(a.get("filesize") or 0) for a in issue.get("attachments", [])}
    return [FileRef(name=name, size=exported.get((name, sha), in_redmine.get(name))) for name, sha in sorted(keys)]


def _named_users(differences: list[Difference], users: Any) -> dict[int, UserRef]:
    """The accounts the author differences name (by id), with login and name for people to read."""
    wanted = {int(v) for d in differences if d.field == "author" or
              (d.field.startswith("comment ") and d.field.endswith(" author"))
              for v in (d.expected, d.actual) if v.isdigit()}
    return {int(u["id"]): UserRef(login=str(u.get("login", "")),
                                  name=" ".join(p for p in (u.get("firstname"), u.get("lastname")) if p))
            for u in users if int(u["id"]) in wanted}

