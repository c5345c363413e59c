"""The migration: portal export → Redmine, one code path for `plan` and `run`.

Every decision (match or create, which tracker, which author, which journal is missing) is
made the same way in both modes; only `_write` differs: in a plan it counts and returns a
placeholder, in a run it calls Redmine and records the result in the ledger. What a ticket
becomes (who writes each act, file names, texts the database can store, which time entries) is
decided by the rules of `migrator.decide`, and its journals as one list of acts
(`TicketMigration.journal_acts`): REST executes them here, `--loader rails` serialises the same
(migrator.rails_loader), so the two writers cannot decide differently.

Exactly once: the ledger says what was done; what the ledger cannot know (the write in
flight when the process died, or a lost ledger) is recovered from Redmine itself: issues by
their «ID в портале», notes, complaints and time entries by their provenance marker.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from helpdesk_core.doctor import notifications_state
from helpdesk_core.errors import (
    ConfigError,
    ForbiddenError,
    ImpersonationError,
    NotFoundError,
    RedmineError,
    UnavailableError,
    ValidationFailed,
)
from helpdesk_core.export import BadRecord, Export, open_export
from helpdesk_core.export_model import Attachment, Comment, Company, Complaint, Ticket, TimeEntry, User
from helpdesk_core.gateway import Gateway
from helpdesk_core.identifiers import project_identifier
from helpdesk_core.mail_preferences import CLIENT_PREFERENCES, REDMINE_LANGUAGE, STEADY_MAIL_NOTIFICATION
from helpdesk_core.mappings import Mappings
from migrator.decide import (
    LoggedTime,
    Person,
    Writer,
    issue_author,
    logged_time,
    note_writer,
    redmine_names,
    status_writer,
    storable,
    time_entry_problem,
    time_writer,
)
from migrator.ledger import Ledger
from migrator.live import (
    LiveRedmine,
    check_ledger_is_here,
    index_portal_issues,
    our_notes,
    our_time_entries,
    read_live,
    remember_user,
)
from migrator.lost_file import CHECK_KINDS, LossKind, lost_file_line
from migrator.outcome import Finding, Kind, MigrationResult, Tally, Verb
from migrator.rejects import RejectsDir
from migrator.text import (
    attachment_filename,
    comment_header,
    cut_subject,
    html_to_markdown,
    moscow_time,
    new_files_note,
    provenance_line,
)
from migrator.timeline import (
    STATE_KIND,
    STATUS_KIND,
    TIMELINE_KINDS,
    Transition,
    issue_dates,
    timeline_journals,
    transitions,
)

T = TypeVar("T")
R = TypeVar("R", Company, User)
Json = dict[str, Any]
LOGIN_ALLOWED = set("abcdefghijklmnopqrstuvwxyz0123456789_-@.")


@dataclass(frozen=True)
class MigrationOptions:
    dry_run: bool = True
    workers: int = 1
    lock_inactive_users: bool = True
    adopt_existing: bool = False  # write as pre-existing (non-admin, unlocked) accounts matched by email
    rejects: Path | None = None  # where whole bad lines go (migrator.rejects); None: nowhere


UserRef = Person  # the name the rest of the engine uses


@dataclass
class RunContext:
    projects: dict[str, int] = field(default_factory=dict)  # company id -> project id
    users: dict[str, UserRef] = field(default_factory=dict)  # portal user id -> ref
    held: dict[str, str] = field(default_factory=dict)  # portal user id -> name, written by the stand-in
    standin: UserRef | None = None
    categories: dict[tuple[int, str], int] = field(default_factory=dict)
    categories_read: set[int] = field(default_factory=set)  # projects whose categories are known
    categories_lock: threading.Lock = field(default_factory=threading.Lock)
    unlock_lock: threading.Lock = field(default_factory=threading.Lock)
    unlocked: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Move:
    """One status change as Redmine's workflow judges it on an issue this run created.

    Redmine answers 204 even where its workflow ignores a status change, so the first change of
    each kind is read back; once Redmine was seen to apply it, the same change (same writer,
    tracker, from and to status, writer the author or not) is known to be allowed for the rest of
    the run. A new issue has no assignee before its final state, no parent and no relations, so
    nothing else in Redmine's rule (Issue#new_statuses_allowed_to) differs between two of them.
    """

    writer: int
    tracker: int
    old: int
    new: int
    author: bool


@dataclass(frozen=True)
class StatusAct:
    """A status change (or the final state) to write: one dated journal of the ticket's timeline."""

    kind: str  # STATUS_KIND | STATE_KIND (migrator.timeline)
    step: Transition
    change: dict[str, int]  # field -> the value it gets (status_id, assigned_to_id, priority_id)
    old_status: int  # the status before it (the workflow judges the move from there)
    count: tuple[Kind, Verb] = ("status", "create")


@dataclass(frozen=True)
class CommentAct:
    comment: Comment


@dataclass(frozen=True)
class ComplaintAct:
    index: int  # 1-based: the complaint's marker is "<ticket id>-<index>"
    complaint: Complaint


Act = StatusAct | CommentAct | ComplaintAct


class TicketLoader(Protocol):
    """Writes whole new tickets some other way than REST (migrator.rails_loader); ledger on its answers."""

    def submit(self, ticket: TicketMigration, project_id: int, tracker: str, priority: str, status: str) -> None: ...

    def finish(self) -> dict[str, int]:
        """Wait for every answer; the tickets it found already in Redmine (portal id -> issue id)."""
        ...


def fingerprint(ticket: Ticket) -> str:
    return hashlib.sha256(ticket.model_dump_json().encode()).hexdigest()


def _display(user: User) -> str:
    name = f"{user.first_name} {user.last_name}".strip()
    return f"{name} ({user.login})" if name else user.login


def _redmine_login(login: str) -> str:
    """ASCII only: a character whose lower case is ASCII (the Kelvin sign) is not ASCII itself, and the
    impersonation header cannot carry what Latin-1 cannot encode."""
    cleaned = "".join(ch if ch.isascii() and ch.lower() in LOGIN_ALLOWED else "_" for ch in login)[:60]
    return cleaned or "user"


def _header_safe(login: str) -> bool:
    try:
        login.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


class AttachmentRefused(Exception):
    """The bytes read for an upload are not the file the export declares: nothing is attached.

    Its text is the administrator's reason; `kind` decides what the client reads (migrator.lost_file)."""

    def __init__(self, kind: LossKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


def read_refused(exc: BaseException) -> AttachmentRefused:
    """The export could not give a file's bytes (both writers read them: the upload, the spool)."""
    return AttachmentRefused("unreadable", f"file cannot be read ({type(exc).__name__})")


def bytes_refused() -> AttachmentRefused:
    """The bytes read are not those the export declares (both writers check what they read)."""
    return AttachmentRefused("damaged", "file content does not match its size and sha256 (read for the upload)")


class Migration:
    """One migration run over one export; `execute()` returns the result."""

    def __init__(self, export_path: Path, gateway: Gateway, mappings: Mappings, ledger: Ledger,
                 options: MigrationOptions, *, progress: Callable[[int, int], None] | None = None,
                 loader: TicketLoader | None = None) -> None:
        self.export_path = export_path
        self.gateway = gateway
        self.mappings = mappings
        self.ledger = ledger
        self.options = options
        self.progress = progress or (lambda done, total: None)
        self.tally = Tally()
        self.placeholders = itertools.count(-1, -1)  # ids this plan hands out for objects it would create
        self.ctx = RunContext()
        self.max_attachment_bytes = mappings.settings.attachment_max_size_kb * 1024
        self.default_status = {t.name: t.default_status for t in mappings.trackers}
        self.live: LiveRedmine
        self._members: dict[int, set[int]] = {}  # project id -> principal ids, read once per project
        # Status changes Redmine was seen to apply on an issue this run created (read back): see Move.
        self.applied_moves: set[Move] = set()
        self.loader = None if options.dry_run else loader
        self.rejects: RejectsDir | None = None  # bad lines, and tickets whose write failed (line 0)
        self._rejects_lock = threading.Lock()

    # --- the one branch point between plan and run ----------------------------------------------

    def _write(self, kind: Kind, verb: Verb | None, do: Callable[[], T]) -> T | int:
        """Count the write (unless `verb` is None: part of another write); perform it only in a run
        (counted once it succeeded).

        A plan gets a negative placeholder id, so the steps after it run unchanged.
        """
        if self.options.dry_run:
            if verb is not None:
                self.tally.add(kind, verb)
            return next(self.placeholders)
        done = do()
        if verb is not None:  # counted once done: a write that failed is not a create
            self.tally.add(kind, verb)
        return done

    # --- entry point ------------------------------------------------------------------------------

    def execute(self) -> MigrationResult:
        started = time.monotonic()
        bad: list[BadRecord] = []
        rejects = RejectsDir(self.options.rejects) if self.options.rejects is not None else None
        self.rejects = rejects
        with open_export(self.export_path, on_bad=bad.append, rejects=rejects) as export:
            self.live = read_live(self.gateway, self.mappings)
            check_ledger_is_here(self.ledger, self.gateway)  # before anything is written
            self._migrate_companies(export)
            index_portal_issues(self.gateway, self.live, self.ctx.projects.values())
            self._migrate_users(export)
            total = export.manifest.counts.tickets
            tickets_read = self._migrate_tickets(export.tickets(), export, total)
            if self.options.lock_inactive_users:
                self._lock_inactive_users()
            for mismatch in export.counts_check():
                self.tally.find(Finding(category="count-mismatch", file=mismatch.file,
                                        reason=f"manifest says {mismatch.declared} lines, "
                                               f"the file has {mismatch.found}"))
        rejects_path = rejects.close() if rejects is not None else None
        for record in bad:
            self.tally.find(Finding(category="bad-record", file=record.file, line=record.line, id=record.id,
                                    field=record.field, reason=record.reason))
        counts = self.tally.counts_dict()
        writes_that_notify = sum(counts.get(kind, {}).get("create", 0)
                                 for kind in ("issue", "journal", "complaint", "status"))
        return MigrationResult(
            dry_run=self.options.dry_run, export=str(self.export_path), ledger=str(self.ledger.path),
            counts=counts, findings=self.tally.findings, finding_counts=dict(self.tally.finding_counts),
            unmapped=self.tally.unmapped_dict(),
            notifications=notifications_state(self.gateway),
            # Redmine mails the author, the assignee and watchers of each change: up to 2 per write here.
            notification_emails_estimate=2 * writes_that_notify,
            requests=self.gateway.stats.as_dict(), seconds=round(time.monotonic() - started, 3),
            tickets_read=tickets_read, rejects=str(rejects_path) if rejects_path is not None else None,
        )

    def _storable(self, record: R, file: str) -> R:
        """The record as the database can store it (migrator.decide.storable); a change is reported."""
        cleaned, fields = storable(record)
        if fields:
            self.tally.find(Finding(category="text-cleaned", file=file, id=str(getattr(record, "id", "")),
                                    field=", ".join(fields)[:200],
                                    reason="NUL characters removed: the database cannot store them"))
        return cleaned

    # --- companies → projects -----------------------------------------------------------------------

    def _migrate_companies(self, export: Export) -> None:
        used = set(self.live.projects_by_identifier)
        for company in map(lambda c: self._storable(c, "companies.jsonl"), export.companies()):
            project_id = self._project_for(company, used)
            if project_id is not None:
                self.ctx.projects[company.id] = project_id

    def _project_for(self, company: Company, used: set[str]) -> int | None:
        """The company's project, recognised by the company id it carries in Redmine, never by name.

        The ledger only helps adopt a project an older version created without the id (it is then
        set); a ledger entry pointing at a project that carries another company's id is ignored.
        None: the company cannot be placed safely (two projects claim it); its tickets wait.
        """
        domains = " ".join(company.email_domains)
        fields = self.live.project_fields
        carriers = self.live.projects_by_company.get(company.id, [])
        if len(carriers) > 1:
            self.tally.find(Finding(category="project-ambiguous", file="companies.jsonl", id=company.id,
                                    field="id", reason=f"projects {', '.join(str(p['identifier']) for p in carriers)} "
                                                       f"all carry this company id: nothing written for it"))
            return None
        known = self.ledger.get("project", company.id)
        if carriers:
            project = carriers[0]
            project_id = int(project["id"])
            self.tally.add("project", "skip" if known == project_id else "match")
            if sorted(domains.split()) != sorted(str(self._field(project, fields["email_domains"])).split()):
                self._set_company_fields(project_id, company, domains, verb="update")
        elif known is not None and known in self.live.projects_by_id and \
                self.live.project_company(self.live.projects_by_id[known]) is None:
            project_id = known  # ours by our own record, from before projects carried the company id
            self.tally.add("project", "match")
            self._set_company_fields(project_id, company, domains, verb="update")
        else:
            if known is not None:
                self.tally.find(Finding(category="ledger-conflict", file="companies.jsonl", id=company.id,
                                        reason=f"the ledger names project {known}, which does not carry this "
                                               f"company id: ignored"))
            identifier = project_identifier(company.name, used, company.id)
            payload = {"project": {
                "name": company.name[:255], "identifier": identifier, "is_public": False,
                "enabled_module_names": self.mappings.project.modules,
                "tracker_ids": [self.live.trackers[t.name] for t in self.mappings.trackers],
                "description": f"Компания из портала ({company.id})",
                "custom_fields": [{"id": fields["company_id"], "value": company.id},
                                  {"id": fields["email_domains"], "value": domains}]}}
            created = self._write("project", "create", lambda: self.gateway.post(
                "/projects.json", payload, recover=lambda: self._find_project(identifier, company.id)))
            project_id = int(created["project"]["id"]) if isinstance(created, dict) else int(created)
            if isinstance(created, dict):
                self.live.remember_project({"issue_categories": [], **created["project"]})  # new: none yet
        self._ensure_membership(project_id, self.live.support_group_id, self.live.support_role_id)
        if project_id > 0 and not self.options.dry_run:
            self.ledger.put("project", company.id, project_id)
        return project_id

    @staticmethod
    def _field(item: Json, field_id: int) -> str:
        return next((str(v.get("value") or "") for v in item.get("custom_fields", []) if v.get("id") == field_id), "")

    def _set_company_fields(self, project_id: int, company: Company, domains: str, *, verb: Verb) -> None:
        fields = self.live.project_fields
        payload = {"project": {"custom_fields": [{"id": fields["company_id"], "value": company.id},
                                                 {"id": fields["email_domains"], "value": domains}]}}
        self._write("project", verb, lambda: self.gateway.put(f"/projects/{project_id}.json", payload))

    def _find_project(self, identifier: str, company_id: str) -> Json | None:
        """After an ambiguous POST: the project is ours only if it carries this company's id."""
        try:
            found = self.gateway.get(f"/projects/{identifier}.json")
        except NotFoundError:
            return None
        return found if self.live.project_company(found.get("project", {})) == company_id else None

    def _project_members(self, project_id: int) -> set[int]:
        members: set[int] = set()
        for membership in self.gateway.iterate(f"/projects/{project_id}/memberships.json", "memberships",
                                               {"sort": None}):
            principal = membership.get("user") or membership.get("group") or {}
            members.add(int(principal.get("id", 0)))
        return members

    def _members_of(self, project_id: int) -> set[int]:
        """The project's members as read once in this run (one read per project, not one per user)."""
        if project_id not in self._members:
            self._members[project_id] = self._project_members(project_id)
        return self._members[project_id]

    def _ensure_membership(self, project_id: int, principal_id: int, role_id: int) -> None:
        key = f"{project_id}:{principal_id}"
        if self.ledger.has("membership", key):
            self.tally.add("membership", "skip")
            return
        if project_id > 0 and principal_id > 0 and principal_id in self._members_of(project_id):
            self.tally.add("membership", "match")
        else:
            payload = {"membership": {"user_id": principal_id, "role_ids": [role_id]}}
            self._write("membership", "create", lambda: self.gateway.post(
                f"/projects/{project_id}/memberships.json", payload,
                recover=lambda: {} if principal_id in self._project_members(project_id) else None))
            if project_id > 0:
                self._members_of(project_id).add(principal_id)
        if not self.options.dry_run:
            self.ledger.put("membership", key, principal_id)

    # --- users ------------------------------------------------------------------------------------

    def _migrate_users(self, export: Export) -> None:
        # users fit in memory (thousands), tickets never are loaded
        users = [self._storable(u, "users.jsonl") for u in export.users()]
        taken = {login for login in self.live.users_by_login}
        by_lower: dict[str, list[User]] = {}
        for user in users:
            by_lower.setdefault(user.login.lower(), []).append(user)
        for group in by_lower.values():
            if len(group) > 1:
                self.tally.find(Finding(category="login-collision", file="users.jsonl",
                                        id=", ".join(u.id for u in group), field="login",
                                        reason=f"logins {', '.join(u.login for u in group)} differ only in "
                                               f"case: kept apart as different people, later ones renamed"))
        for user in users:
            ref = self._user_for(user, taken)
            if ref is not None:
                self.ctx.users[user.id] = ref
        self.ctx.standin = self._standin()
        # The stand-in writes for deleted clients in every company's project.
        for project_id in self.ctx.projects.values():
            self._ensure_membership(project_id, self.ctx.standin.redmine_id, self.live.client_role_id)

    def _user_for(self, user: User, taken: set[str]) -> UserRef | None:
        """The account to write as: the one the migration created for this portal user (it carries
        the portal id), else a pre-existing one with the same email only with the administrator's
        consent (--adopt-existing) and never an administrator's or a locked one, else a new one.

        None: the user is held (the stand-in writes for them, naming them), and that is reported.
        """
        known = self.ledger.get("user", user.id)
        ours = self.live.users_by_portal_id.get(user.id)
        matched = self.live.users_by_email.get(user.email.lower())
        if ours is not None and int(ours["id"]) not in self.live.admins:
            self.tally.add("user", "skip" if known == int(ours["id"]) else "match")
            ref = UserRef(int(ours["id"]), str(ours["login"]), _display(user), user.kind, user.active,
                          company_id=user.company_id)
        elif ours is not None or matched is not None:
            account = ours if ours is not None else matched
            assert account is not None
            ref = self._existing_account(user, account)
            if ref is None:
                return None
        else:
            login = _redmine_login(user.login)
            if login.lower() in taken:
                login = f"{_redmine_login(login[:50] + '.' + user.id.lower())}"[:60]
            taken.add(login.lower())
            payload = {"user": {
                "login": login, **redmine_names(user.first_name, user.last_name, login), "mail": user.email,
                "generate_password": True, "send_information": False, "must_change_passwd": False,
                "mail_notification": STEADY_MAIL_NOTIFICATION, "language": REDMINE_LANGUAGE, "status": 1,
                "custom_fields": [{"id": self.live.user_fields["portal_user_id"], "value": user.id}]}}
            if user.kind == "client":
                payload["pref"] = CLIENT_PREFERENCES
            created = self._write("user", "create", lambda: self.gateway.post(
                "/users.json", payload, recover=lambda: self._find_user(user.email, user.id)))
            user_id = int(created["user"]["id"]) if isinstance(created, dict) else int(created)
            if isinstance(created, dict):
                remember_user(self.live, created["user"])
                self.ledger.put("created-user", user.id, user_id)  # and in Redmine: «ID пользователя в портале»
            ref = UserRef(user_id, login, _display(user), user.kind, user.active, company_id=user.company_id)
        if ref.redmine_id > 0 and not self.options.dry_run:
            self.ledger.put("user", user.id, ref.redmine_id)
        if user.kind == "staff":
            self._ensure_support_member(ref.redmine_id)
        elif user.company_id in self.ctx.projects:
            self._ensure_membership(self.ctx.projects[user.company_id], ref.redmine_id, self.live.client_role_id)
        return ref

    def _existing_account(self, user: User, account: Json) -> UserRef | None:
        """A pre-existing account with this user's email: adopted only with consent, never an admin's
        (not written as, not made a client) and never a locked one (it stays locked)."""
        account_id = int(account["id"])
        login = str(account["login"])
        name = _display(user)
        if account_id in self.live.admins:
            reason = f"matches administrator account {login}: never written as, never a client"
        elif account_id in self.live.locked_users:
            reason = f"matches locked account {login}: left locked, the stand-in writes naming {name}"
        elif not _header_safe(login):
            reason = f"matches account {login}, whose login cannot be sent in the impersonation header"
        elif not self.options.adopt_existing:
            reason = (f"matches pre-existing account {login} (by email): held, the stand-in writes naming "
                      f"{name}; pass --adopt-existing to write as that account")
        else:
            reason = None
        if reason is not None or self.options.dry_run:
            self.tally.find(Finding(category="existing-account", file="users.jsonl", id=user.id, field="email",
                                    reason=reason or f"matches pre-existing account {login}: adopted "
                                                     f"(--adopt-existing), its status is never changed"))
        if reason is not None:
            self.ctx.held[user.id] = name
            self.tally.add("user", "skip")
            return None
        self.tally.add("user", "match")
        if not self.options.dry_run:
            self.ledger.put("adopted", user.id, account_id)
        return UserRef(account_id, login, name, user.kind, user.active, owned=False, company_id=user.company_id)

    def _find_user(self, email: str, portal_id: str | None) -> Json | None:
        """After an ambiguous POST: the account is the one we sent only if it carries our marker."""
        for user in self.gateway.get("/users.json", {"name": email, "status": ""}).get("users", []):
            if str(user.get("mail", "")).lower() == email.lower() and (
                    portal_id is None or self.live.user_portal_id(user) == portal_id):
                return {"user": user}
        return None

    def _ensure_support_member(self, user_id: int) -> None:
        if user_id in self.live.support_members:
            self.tally.add("membership", "match")
            return
        group = self.live.support_group_id
        self._write("membership", "create", lambda: self.gateway.post(
            f"/groups/{group}/users.json", {"user_id": user_id},
            recover=lambda: {} if user_id in self._group_members() else None))
        self.live.support_members.add(user_id)

    def _group_members(self) -> set[int]:
        group = self.gateway.get(f"/groups/{self.live.support_group_id}.json", {"include": "users"})["group"]
        return {int(u["id"]) for u in group.get("users", [])}

    def _standin(self) -> UserRef:
        spec = self.mappings.portal.standin_user
        existing = self.live.users_by_login.get(spec.login.lower()) or self.live.users_by_email.get(spec.mail)
        if existing is not None:
            if int(existing["id"]) in self.live.admins:
                raise ConfigError(f"the stand-in user {spec.login} is an administrator account in Redmine: "
                                  f"name another account in portal.standin_user", key="portal.standin_user")
            self.tally.add("user", "match")
            return UserRef(int(existing["id"]), str(existing["login"]), spec.firstname, "standin", owned=False)
        payload = {"user": {"login": spec.login, "firstname": spec.firstname, "lastname": spec.lastname,
                            "mail": spec.mail, "generate_password": True, "send_information": False,
                            "mail_notification": "none", "language": REDMINE_LANGUAGE, "status": 1}}
        created = self._write("user", "create", lambda: self.gateway.post(
            "/users.json", payload, recover=lambda: self._find_user(spec.mail, None)))
        user_id = int(created["user"]["id"]) if isinstance(created, dict) else int(created)
        return UserRef(user_id, spec.login, f"{spec.firstname} {spec.lastname}", "standin")

    def _lock_inactive_users(self) -> None:
        """Final state last: portal users that are inactive end up locked (after their writes)."""
        for portal_id, ref in self.ctx.users.items():
            if ref.active or ref.redmine_id <= 0 or not ref.owned:  # never another's account
                continue
            if ref.redmine_id in self.live.locked_users and ref.redmine_id not in self.ctx.unlocked:
                self.tally.add("lock", "skip")
                continue
            self._write("lock", "update", lambda ref=ref: self.gateway.put(
                f"/users/{ref.redmine_id}.json", {"user": {"status": 3}}))
            self.ledger.put("lock", portal_id, ref.redmine_id)

    # --- tickets ----------------------------------------------------------------------------------

    def _migrate_tickets(self, tickets: Iterable[Ticket], export: Export, total: int) -> int:
        done = 0
        workers = 1 if self.loader is not None else max(1, self.options.workers)
        if workers == 1:  # a plan, or a run of one: no pool, no hand-off between two threads per ticket
            for ticket in tickets:
                self._migrate_ticket_safely(ticket, export)
                done += 1
                self.progress(done, total)
            if self.loader is not None:
                self._after_loader(export)
            return done
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ticket") as pool:
            pending: set[Future[None]] = set()
            for ticket in tickets:
                pending.add(pool.submit(self._migrate_ticket_safely, ticket, export))
                if len(pending) >= workers * 2:  # bounded: an export of 10^6 tickets is never queued whole
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        future.result()
                        done += 1
                        self.progress(done, total)
            for future in pending:
                future.result()
                done += 1
                self.progress(done, total)
        return done

    def _after_loader(self, export: Export) -> None:
        """Tickets the loader found already in Redmine (written meanwhile) are completed the REST way."""
        assert self.loader is not None
        existing = self.loader.finish()
        if not existing:
            return
        for portal_id, issue_id in existing.items():
            self.live.issues_by_portal_id[portal_id] = [issue_id]
        for ticket in export.tickets():
            if ticket.id in existing:
                self._migrate_ticket_safely(ticket, export)

    def _migrate_ticket_safely(self, ticket: Ticket, export: Export) -> None:
        """A ticket that fails for a reason of its own is reported (finding and rejects) and the run goes
        on; only a failure of the server stops it. A 500 that outlived the retries is the ticket's own
        when Redmine still answers another request (e.g. a value the database refuses), else the server's."""
        try:
            TicketMigration(self, ticket, export).run()
        except UnavailableError as exc:
            if not self._server_answers():
                raise
            self.ticket_failed(ticket, f"{exc} (Redmine answers other requests: a failure of this ticket)")
        except RedmineError as exc:
            self.ticket_failed(ticket, str(exc))

    def _server_answers(self) -> bool:
        try:
            self.gateway.get("/users/current.json")
        except RedmineError:
            return False
        return True

    def ticket_failed(self, ticket: Ticket, reason: str) -> None:
        """Reported, its line kept in the rejects for a corrected re-run; it is not marked done."""
        self.tally.add("issue", "fail")
        self.tally.find(Finding(category="write-failed", file="tickets.jsonl", id=ticket.id, reason=reason))
        if self.rejects is None:
            return
        record = BadRecord(file="tickets.jsonl", line=0, id=ticket.id, field=None, reason=reason[:500],
                           raw=ticket.model_dump_json()[:200])
        with self._rejects_lock:
            self.rejects.keep(record, [ticket.model_dump_json().encode() + b"\n"])

    # --- lookups shared by ticket migrations ------------------------------------------------------

    def tool_writers(self) -> set[int]:
        """Accounts the tool writes as whatever the portal author: the API user and the stand-in."""
        return {self.live.api_user_id, self.ctx.standin.redmine_id if self.ctx.standin else 0}

    def author_of(self, portal_user_id: str | None) -> tuple[UserRef, bool]:
        """The Redmine user for a portal user id, or the stand-in (second value True)."""
        if portal_user_id and portal_user_id in self.ctx.users:
            return self.ctx.users[portal_user_id], False
        assert self.ctx.standin is not None
        return self.ctx.standin, True

    def category_id(self, project_id: int, name: str) -> int:
        key = (project_id, name[:60])
        with self.ctx.categories_lock:
            if key in self.ctx.categories:
                return self.ctx.categories[key]
            if project_id > 0 and project_id not in self.ctx.categories_read:
                for category in self._project_categories(project_id):
                    self.ctx.categories[(project_id, str(category["name"]))] = int(category["id"])
                self.ctx.categories_read.add(project_id)
                if key in self.ctx.categories:
                    self.tally.add("category", "match")
                    return self.ctx.categories[key]
            created = self._write("category", "create", lambda: self._post_category(project_id, key[1]))
            category_id = int(created["issue_category"]["id"]) if isinstance(created, dict) else int(created)
            self.ctx.categories[key] = category_id
            return category_id

    def _project_categories(self, project_id: int) -> list[Json]:
        """As the snapshot read them with the project (one read per project only when it did not)."""
        project = self.live.projects_by_id.get(project_id, {})
        if "issue_categories" in project:
            return list(project["issue_categories"])
        return list(self.gateway.get(f"/projects/{project_id}/issue_categories.json",
                                     {"limit": 100}).get("issue_categories", []))

    def _post_category(self, project_id: int, name: str) -> Json:
        try:
            return self.gateway.post(f"/projects/{project_id}/issue_categories.json",
                                     {"issue_category": {"name": name}},
                                     recover=lambda: self._find_category(project_id, name))
        except ValidationFailed:
            found = self._find_category(project_id, name)  # created since the snapshot (another run)
            if found is None:
                raise
            return found

    def _find_category(self, project_id: int, name: str) -> Json | None:
        # After an ambiguous POST: a second one would be refused (name taken) and fail the ticket.
        for category in self.gateway.get(f"/projects/{project_id}/issue_categories.json",
                                         {"limit": 100}).get("issue_categories", []):
            if str(category["name"]) == name:
                return {"issue_category": category}
        return None

    def as_user(self, ref: UserRef, call: Callable[[str | None], T]) -> T:
        """Run a write as `ref`; a locked author the migration created is unlocked for it (and locked
        again at the end). Another's account is never unlocked: the API user writes, and that is reported."""
        if ref.redmine_id <= 0:
            return call(None)
        if not _header_safe(ref.login):
            self.tally.find(Finding(category="authorship", file="users.jsonl", id=ref.login,
                                    reason="login cannot be sent in the impersonation header: written by "
                                           "the API user"))
            return call(None)
        try:
            return call(ref.login)
        except ImpersonationError:
            if not ref.owned:
                self.tally.find(Finding(category="existing-account", file="users.jsonl", id=ref.login,
                                        reason="pre-existing account cannot be written as (locked?): left as "
                                               "it is, written by the API user"))
                return call(None)
            with self.ctx.unlock_lock:
                if ref.redmine_id not in self.ctx.unlocked:
                    self.gateway.put(f"/users/{ref.redmine_id}.json", {"user": {"status": 1}})
                    self.ctx.unlocked.add(ref.redmine_id)
                    ref.active = False  # so the final lock pass locks them again
            return call(ref.login)


class TicketMigration:
    """Everything for one ticket, in order: issue, notes, complaints, time, final state, read-back."""

    def __init__(self, migration: Migration, ticket: Ticket, export: Export) -> None:
        self.m = migration
        self.source = ticket  # as the export says it (its fingerprint); `t` is what Redmine can store
        self.t, self.cleaned = storable(ticket)
        self.export = export
        self.gateway = migration.gateway
        self.live = migration.live
        self.tally = migration.tally
        self.ledger = migration.ledger
        self.present: set[tuple[str, str]] = set()  # provenance markers already in Redmine
        self.replayed = 0  # status-change journals written for this ticket in this run
        self.timeline_seen: list[tuple[str, str, Json]] = []  # timeline journals already in Redmine
        self.state_written: str | None = None  # the `state` journal's id written in this run
        self.author_id: int | None = None  # the author of the issue this run created
        self.moves: list[Move] = []  # status changes written on the issue this run created
        self.incomplete = False  # something of it was refused: not marked done, a re-run tries again
        self.created_now = False  # the issue was created by this run, its final field values with it

    # --- mapping ----------------------------------------------------------------------------------

    def _mapped(self, field: str, value: str, table: dict[str, str], fallback: str) -> str:
        if value in table:
            return table[value]
        self.tally.unmapped_value(field, value)
        self.tally.find(Finding(category="unmapped-value", file="tickets.jsonl", id=self.t.id, field=field,
                                reason=f"portal value '{value}' has no mapping; used '{fallback}'"))
        return fallback

    def tracker(self) -> str:
        portal = self.m.mappings.portal
        return self._mapped("reason", self.t.reason, portal.reasons, portal.fallback_tracker)

    def priority(self) -> str:
        portal = self.m.mappings.portal
        return self._mapped("priority", self.t.priority, portal.priorities, portal.fallback_priority)

    def status(self) -> str:
        portal = self.m.mappings.portal
        return self._mapped("status", self.t.status, portal.statuses, portal.fallback_status)

    # --- run --------------------------------------------------------------------------------------

    def run(self) -> None:
        t = self.t
        done_as = self.ledger.ticket_fingerprint(t.id)  # the digest is only worth computing when there is one
        if done_as is not None and done_as == fingerprint(self.source):
            self.tally.add("issue", "skip")
            return
        if self.cleaned:
            self.tally.find(Finding(category="text-cleaned", file="tickets.jsonl", id=t.id,
                                    field=", ".join(self.cleaned)[:200],
                                    reason="NUL characters removed: the database cannot store them"))
        project_id = self.m.ctx.projects.get(t.company_id)
        if project_id is None:
            self.tally.find(Finding(category="bad-record", file="tickets.jsonl", id=t.id, field="company_id",
                                    reason=f"company {t.company_id} was not migrated"))
            return
        tracker, priority, status = self.tracker(), self.priority(), self.status()
        issue_id = self.ledger.get("issue", t.id)
        # Only issues the tool wrote count: a client may type any «ID в портале» on an issue of their own.
        authors = self.m.tool_writers() | {self.m.author_of(t.author_id)[0].redmine_id}
        existing = [i for i in self.live.issues_by_portal_id.get(t.id, []) if self.live.issue_authors.get(i) in authors]
        if issue_id is None and existing:
            issue_id = existing[0]
            if len(existing) > 1:
                self.tally.find(Finding(category="write-failed", file="tickets.jsonl", id=t.id,
                                        reason=f"{len(existing)} issues carry this portal id: {existing}"))
        issue: Json | None = None
        if issue_id is None and self.m.loader is not None:
            self.m.loader.submit(self, project_id, tracker, priority, status)  # the whole ticket, dates included
            return
        if issue_id is None:
            issue_id = self._create_issue(project_id, tracker, priority)
            self.created_now = True
        else:
            self.tally.add("issue", "match")
            if issue_id > 0:
                issue = self._read_issue(issue_id)
                self.present = self._markers(issue)
                self._date_timeline_journals(issue_id, issue)  # dates journals a crashed run wrote, free
        if issue_id > 0:
            self.ledger.put("issue", t.id, issue_id)
        acts, final = self.journal_acts(issue, tracker, status, priority)
        for act in acts:
            if isinstance(act, CommentAct):
                self._migrate_comment(issue_id, act.comment)
            elif isinstance(act, ComplaintAct):
                self._migrate_complaint(issue_id, act.index, act.complaint.author_id, act.complaint.created_at,
                                        act.complaint.text)
            else:
                self._write_transition(issue_id, act, tracker=tracker)
        if issue is not None:
            self._new_ticket_attachments(issue_id, issue)
        self._migrate_time_entries(issue_id, tracker, created=issue is None)
        if final is not None:
            self._write_transition(issue_id, final, tracker=tracker)
        status_changed = final is not None and "status_id" in final.change
        if issue_id > 0 and not self.m.options.dry_run:
            if (status_changed or self.replayed) and not self._moves_known(issue):
                self._read_back(issue_id, status, learn=issue is None)
            self._record_issue_dates(issue_id)
            self._record_attachment_dates(issue_id)
            if not self.incomplete:
                self.ledger.mark_ticket_done(t.id, fingerprint(self.source), issue_id)

    # --- the issue itself -------------------------------------------------------------------------

    def _description(self, stand_in: bool, cut: bool, lost: list[str]) -> str:
        t = self.t
        body = html_to_markdown(t.description) if t.description_format == "html" else t.description
        head: list[str] = []
        if cut:
            head.append(f"**Полная тема:** {t.subject}")
        if stand_in:
            head.append(f"**Автор в портале:** {self._portal_user_name(t.author_id)}")
        head += lost
        return "\n\n".join([*head, body]) if head else body

    def _portal_user_name(self, portal_id: str | None) -> str:
        if portal_id and portal_id in self.m.ctx.users:
            return self.m.ctx.users[portal_id].display
        if portal_id and portal_id in self.m.ctx.held:
            return self.m.ctx.held[portal_id]
        return f"пользователь портала {portal_id or '—'} (удалён или недействителен)"

    def _custom_fields(self) -> list[Json]:
        fields = self.live.custom_fields
        # «Создано в портале» as people read it (Moscow, like every migrated note); nothing parses it back
        values: dict[str, str] = {"portal_id": self.t.id, "portal_created": moscow_time(self.t.created_at)}
        if self.t.category:
            values["category"] = self.t.category
        for question, answer in self.t.answers.items():
            key = self.m.mappings.portal.answers.get(question)
            if key:
                values[key] = answer
        if self.t.complaints:
            values["complaints"] = str(len(self.t.complaints))
        return [{"id": fields[key], "value": value} for key, value in values.items()]

    def issue_writer(self) -> Writer:
        """Who creates the issue (migrator.decide): its author, or the stand-in naming them."""
        person, stand_in = self.m.author_of(self.t.author_id)
        assert self.m.ctx.standin is not None
        return issue_author(person, stand_in, self.m.ctx.standin, self.t.company_id,
                            self._portal_user_name(self.t.author_id))

    def issue_fields(self, project_id: int, tracker: str, priority: str, lost: list[str]) -> tuple[UserRef, Json]:
        """The author and the fields of the new issue (both writers); an unknown author is reported."""
        t = self.t
        writer = self.issue_writer()
        subject, cut = cut_subject(t.subject)
        fields: Json = {
            "project_id": project_id, "tracker_id": self.live.trackers[tracker],
            "priority_id": self.live.priorities[priority], "subject": subject,
            "description": self._description(writer.instead is not None, cut, lost),
            "custom_fields": self._custom_fields()}
        if t.module:
            fields["category_id"] = self.m.category_id(project_id, t.module)
        if writer.instead is not None:
            self._authorship_note(f"ticket author {t.author_id} ({writer.name}): {writer.instead}")
        author = writer.person
        assert author is not None  # an issue always has a Redmine author: the stand-in at least
        fields["start_date"] = issue_dates(t, self._closed_portal_statuses()).start_date.isoformat()
        return author, fields

    def _create_issue(self, project_id: int, tracker: str, priority: str) -> int:
        t = self.t
        uploads, lost = self._uploads(t.attachments)
        author, fields = self.issue_fields(project_id, tracker, priority, lost)
        payload: Json = {"issue": {**fields, "uploads": uploads}}
        created = self.m._write("issue", "create", lambda: self._post_issue(author, payload))
        if isinstance(created, dict):
            issue_id = int(created["issue"]["id"])
            self.author_id = int((created["issue"].get("author") or {}).get("id") or 0) or None
            self._restore_dropped_fields(issue_id, created["issue"], fields["custom_fields"])
            self._record_issue_dates(issue_id)
            return issue_id
        return int(created)

    def _record_attachment_dates(self, issue_id: int) -> None:
        """The portal's time of each file (Redmine stamps an upload with the moment of the call): fix-dates
        writes it on the attachment of this issue with that stored name and size."""
        for att in [*self.t.attachments, *(a for c in self.t.comments for a in c.attachments)]:
            self.ledger.record_attachment_date(issue_id, attachment_filename(att.filename), att.size,
                                               att.created_at.isoformat())

    def _restore_dropped_fields(self, issue_id: int, issue: Json, wanted: list[Json]) -> None:
        """A field Redmine silently dropped because the author may not write it (the migration's own
        fields once the tracker is live: provision.client_locked_when_live) is written by the API user
        at once, and reported: without «ID в портале» a re-run would not recognise the issue."""
        specs = self.m.mappings.custom_fields.by_key()
        names = {fid: specs[key].name for key, fid in self.live.custom_fields.items()
                 if key in specs and specs[key].client == "migration"}
        stored = {int(f["id"]) for f in issue.get("custom_fields", [])
                  if "id" in f and f.get("value") not in (None, "")}
        dropped = [f for f in wanted if int(f["id"]) in names and int(f["id"]) not in stored]
        if not dropped:
            return
        self.m._write("issue", None, lambda: self.gateway.put(f"/issues/{issue_id}.json",
                                                                {"issue": {"custom_fields": dropped}}))
        listed = ", ".join(f"«{names[int(f['id'])]}»" for f in dropped)
        self.tally.find(Finding(category="workflow", file="tickets.jsonl", id=self.t.id,
                                reason=f"Redmine did not let the author write {listed} (the tracker is live: "
                                       "provision --notifications off); written by the API user"))

    def _post_issue(self, author: UserRef, payload: Json) -> Json:
        recover = self._find_issue

        def post(login: str | None) -> Json:
            return self.gateway.post("/issues.json", payload, as_user=login, recover=recover)

        try:
            return self.m.as_user(author, post)
        except (ForbiddenError, ValidationFailed) as exc:
            if isinstance(exc, ValidationFailed) and not self._author_problem(exc):
                raise
            # The author may not add issues here (e.g. a client of another company): keep the
            # ticket, written by the API user, with the author named in the description.
            self._authorship_note(f"author {author.login} cannot create issues in this project ({exc.reason})")
            payload["issue"]["description"] = (f"**Автор в портале:** {author.display}\n\n"
                                               + payload["issue"]["description"])
            return self.gateway.post("/issues.json", payload, recover=recover)

    @staticmethod
    def _author_problem(exc: ValidationFailed) -> bool:
        return any(word in " ".join(exc.errors).lower() for word in ("tracker", "трекер", "project", "проект"))

    def _find_issue(self) -> Json | None:
        found = self.gateway.get("/issues.json", {self.live.portal_field(): self.t.id, "status_id": "*",
                                                  "limit": 25})
        authors = self.m.tool_writers() | {self.m.author_of(self.t.author_id)[0].redmine_id}
        issues = [i for i in found.get("issues", []) if int((i.get("author") or {}).get("id", 0)) in authors]
        return {"issue": issues[0]} if issues else None

    def _read_issue(self, issue_id: int) -> Json:
        return self.gateway.get(f"/issues/{issue_id}.json", {"include": "journals,attachments"})["issue"]

    def _markers(self, issue: Json) -> set[tuple[str, str]]:
        markers = {(kind, source) for kind, source, _ in self._our_notes(issue) if kind not in TIMELINE_KINDS}
        # timeline markers count only as the migration writes them (migrator.timeline), never quoted
        markers.update((kind, source) for kind, source, _ in timeline_journals(issue, self.live.api_user_id))
        return markers

    def _our_notes(self, issue: Json) -> list[tuple[str, str, Json]]:
        """(kind, source id, journal) of each note the tool wrote on this issue: the marker opens the
        note, and the journal's user is one the tool writes as for it (the API user, the stand-in, or
        the portal author of that comment). A marker quoted in client text never counts."""
        authors = {c.id: self.m.author_of(c.author_id)[0].redmine_id for c in self.t.comments}
        return our_notes(issue, self.m.tool_writers(), authors)

    def _authorship_note(self, reason: str) -> None:
        self.tally.find(Finding(category="authorship", file="tickets.jsonl", id=self.t.id, reason=reason))

    # --- attachments ------------------------------------------------------------------------------

    def sound_attachments(self, attachments: Iterable[Attachment]) -> tuple[list[Attachment], list[str]]:
        """The files that can move; a missing, corrupt or oversize one is reported and named in a line."""
        sound: list[Attachment] = []
        lost: list[str] = []
        for att in attachments:
            check = self.export.check_attachment(att)
            if not check.ok:
                lost.append(self.attachment_lost(att, CHECK_KINDS[check.status], check.reason))
                continue
            if att.size > self.m.max_attachment_bytes:
                problem = f"{att.size} bytes is over the server's limit of {self.m.max_attachment_bytes}"
                lost.append(self.attachment_lost(att, "too_large", problem))
                continue
            sound.append(att)
        return sound, lost

    def attachment_lost(self, att: Attachment, kind: LossKind, problem: str) -> str:
        """Reported with its technical `problem` (for administrators), and the line the note or
        description gets in its place, in the client's words for its `kind` (both writers)."""
        self.tally.add("attachment", "fail")
        self.tally.find(Finding(category="attachment", file="tickets.jsonl", id=self.t.id,
                                field=f"attachments.{att.id}", reason=f"{att.path}: {problem}"))
        return lost_file_line(att.filename, att.size, kind, self.m.max_attachment_bytes)

    def _uploads(self, attachments: Iterable[Attachment]) -> tuple[list[Json], list[str]]:
        """Upload every sound file (as its author).

        The bytes sent are the bytes checked: `_upload` hashes what it read and refuses a mismatch, so
        no path (a resumed run, a file changed since the check) can attach an unchecked file.
        """
        sound, lost = self.sound_attachments(attachments)
        uploads: list[Json] = []
        for att in sound:
            author, _ = self.m.author_of(att.author_id)
            try:
                token = self.m._write("attachment", "create",
                                      lambda att=att, author=author: self._upload(att, author))
            except AttachmentRefused as exc:
                lost.append(self.attachment_lost(att, exc.kind, str(exc)))
                continue
            uploads.append({"token": str(token), "filename": attachment_filename(att.filename),
                            "content_type": att.content_type})
        return uploads, lost

    def _upload(self, att: Attachment, author: UserRef) -> str:
        try:
            with self.export.open_attachment(att) as handle:
                content = handle.read(att.size + 1)
        except (OSError, RuntimeError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise read_refused(exc) from None
        if len(content) != att.size or hashlib.sha256(content).hexdigest() != att.sha256:
            raise bytes_refused()
        name = attachment_filename(att.filename)
        return self.m.as_user(author, lambda login: self.gateway.upload(content, name, as_user=login))

    def _new_ticket_attachments(self, issue_id: int, issue: Json) -> None:
        """Delta: ticket-level attachments added in the portal since the issue was created."""
        have = {(a.get("filename"), a.get("filesize")) for a in issue.get("attachments", [])}
        new = [a for a in self.t.attachments
               if (attachment_filename(a.filename), a.size) not in have and ("attachment", a.id) not in self.present]
        if not new:
            return
        uploads, lost = self._uploads(new)
        # Clients read it: the files by their names, the marker out of sight (as a migrated comment's).
        note = "\n\n".join([new_files_note(new[0].id, [attachment_filename(a.filename) for a in new]), *lost])
        self._put_note(issue_id, ("attachment", new[0].id), note, private=False, author=None,
                       uploads=uploads, kind="attachment", created_at=max(a.created_at for a in new))

    # --- notes ------------------------------------------------------------------------------------

    def _migrate_comment(self, issue_id: int, comment: Comment) -> None:
        key = f"{self.t.id}:{comment.id}"
        if self.ledger.has("journal", key) or ("comment", comment.id) in self.present:
            self.tally.add("journal", "skip")
            if not self.ledger.has("journal", key) and issue_id > 0 and not self.m.options.dry_run:
                self.ledger.put("journal", key, None)  # found in Redmine: a lost ledger learns its date again
                self.ledger.record_note_date(issue_id, f"comment:{comment.id}", comment.created_at.isoformat())
            return
        uploads, lost = self._uploads(comment.attachments)
        note, writer = self.comment_note(comment, lost)
        self._put_note(issue_id, ("comment", comment.id), note, private=comment.internal, author=writer,
                       uploads=uploads, kind="journal", created_at=comment.created_at)
        if issue_id > 0 and not self.m.options.dry_run:
            self.ledger.put("journal", key, None)

    def comment_note(self, comment: Comment, lost: list[str]) -> tuple[str, UserRef | None]:
        """The note's text and its writer (None: the API user, which is reported)."""
        author, stand_in = self.m.author_of(comment.author_id)
        name = self._portal_user_name(comment.author_id) if stand_in else author.display
        body = html_to_markdown(comment.body) if "<" in comment.body and ">" in comment.body else comment.body
        note = "\n\n".join([comment_header(comment.id, name, comment.created_at), body, *lost])
        writer = note_writer(author, stand_in, self.t.company_id, name, private=comment.internal)
        if writer.instead is not None:
            self._authorship_note(f"comment {comment.id}: {writer.instead}")
        return note, writer.person

    def _put_note(self, issue_id: int, marker: tuple[str, str], note: str, *, private: bool,
                  author: UserRef | None, uploads: list[Json], kind: Kind,
                  extra: Json | None = None, created_at: datetime | None = None, verb: Verb = "create") -> None:
        payload: Json = {"issue": {"notes": note, "private_notes": private, **(extra or {})}}
        if uploads:
            payload["issue"]["uploads"] = uploads

        def recover() -> Json | None:
            return {} if marker in self._markers(self._read_issue(issue_id)) else None

        def put(login: str | None) -> Json:
            return self.gateway.put(f"/issues/{issue_id}.json", payload, as_user=login, recover=recover)

        def write() -> Json:
            if author is None:
                return put(None)
            try:
                return self.m.as_user(author, put)
            except ForbiddenError as exc:
                self._authorship_note(f"{marker[0]} {marker[1]}: {author.login} may not write here "
                                      f"({exc.reason}); written by the API user")
                self.ledger.put("written-by-api", f"{self.t.id}:{marker[1]}", author.redmine_id)
                return put(None)

        self.m._write(kind, verb, write)
        self.present.add(marker)
        if created_at is not None and issue_id > 0 and not self.m.options.dry_run:
            self.ledger.record_note_date(issue_id, f"{marker[0]}:{marker[1]}", created_at.isoformat())

    def _migrate_complaint(self, issue_id: int, index: int, author_id: str, created_at: datetime,
                           text: str) -> None:
        source = f"{self.t.id}-{index}"
        if self.ledger.has("complaint", source) or ("complaint", source) in self.present:
            self.tally.add("complaint", "skip")
            if not self.ledger.has("complaint", source) and issue_id > 0 and not self.m.options.dry_run:
                self.ledger.put("complaint", source, None)
                self.ledger.record_note_date(issue_id, f"complaint:{source}", created_at.isoformat())
            return
        note = self.complaint_note(source, author_id, created_at, text)
        # A new issue got the final count at creation (no journal counting 2→1→2 on the migration day,
        # as the loader writes it too); an issue of an earlier run gets the new count with the last complaint.
        extra: Json | None = None
        if not self.created_now and index == len(self.t.complaints):
            extra = {"custom_fields": [{"id": self.live.custom_fields["complaints"], "value": str(index)}]}
        self._put_note(issue_id, ("complaint", source), note, private=True, author=None, uploads=[],
                       kind="complaint", extra=extra, created_at=created_at)
        if issue_id > 0 and not self.m.options.dry_run:
            self.ledger.put("complaint", source, None)

    def complaint_note(self, source: str, author_id: str, created_at: datetime, text: str) -> str:
        name = self._portal_user_name(author_id)
        return (f"{provenance_line('complaint', source, name, created_at)}\n\n"
                f"**Жалоба на задержку** #жалоба\n\n{text}")

    # --- time -------------------------------------------------------------------------------------

    def _migrate_time_entries(self, issue_id: int, tracker: str, *, created: bool = False) -> None:
        """`created`: the issue was created by this very run, so it has no time entries to look for."""
        if not self.t.time_entries:
            return
        activity = self.time_activity(tracker)
        existing: dict[str, int] | None = None
        for entry in self.t.time_entries:
            if self.ledger.has("time_entry", entry.id):
                self.tally.add("time_entry", "skip")
                continue
            if existing is None:
                existing = {} if created else self._time_markers(issue_id)
            if entry.id in existing:
                self.tally.add("time_entry", "match")
                self.ledger.put("time_entry", entry.id, existing[entry.id])
                continue
            decided = self.time_entry_write(entry)
            if decided is None:
                continue  # left out by the decision (reported there)
            payload: Json = {"time_entry": {
                "issue_id": issue_id, "spent_on": entry.spent_on.isoformat(), "hours": str(entry.hours),
                "activity_id": self.live.activities[activity], "comments": decided.comments,
                "custom_fields": [{"id": self.time_portal_field(), "value": decided.portal_id}]}}
            if decided.person is not None:
                payload["time_entry"]["user_id"] = decided.person.redmine_id

            def post(payload: Json = payload, entry_id: str = entry.id) -> Json:
                def recover() -> Json | None:
                    found = self._time_markers(issue_id).get(entry_id)
                    return {"time_entry": {"id": found}} if found else None
                return self.gateway.post("/time_entries.json", payload, recover=recover)

            try:
                created = self.m._write("time_entry", "create", post)
            except ValidationFailed as exc:
                # Refused for a reason of its own (who logs it was decided before): its real reason is
                # reported, nobody else logs it, and the ticket stays to be done (a re-run tries again).
                self.time_refused(entry.id, "; ".join(exc.errors) or exc.reason)
                self.incomplete = True
                continue
            if isinstance(created, dict):
                self.ledger.put("time_entry", entry.id, int(created["time_entry"]["id"]))

    def time_activity(self, tracker: str) -> str:
        return self.m.mappings.portal.activity_by_tracker.get(tracker, self.m.mappings.default_activity)

    def time_entry_write(self, entry: TimeEntry) -> LoggedTime | None:
        """Who logs it (None: the API user, naming the portal user in the comment), its comment and the
        portal id it carries (migrator.decide, both writers); None: nobody, left out and reported."""
        problem = time_entry_problem(entry)
        if problem is not None:
            self.time_refused(entry.id, problem)
            return None
        user, stand_in = self.m.author_of(entry.user_id)
        writer = time_writer(user, stand_in, self._portal_user_name(entry.user_id))
        if writer.instead is not None:
            self._authorship_note(f"time entry {entry.id}: {writer.instead}")
        return logged_time(entry, writer)

    def time_portal_field(self) -> int:
        """The support-only time entry field that carries the portal id (both writers set it)."""
        return self.live.time_entry_fields["portal_time_id"]

    def time_refused(self, entry_id: str, reason: str) -> None:
        self.tally.add("time_entry", "fail")
        self.tally.find(Finding(category="time-entry", file="tickets.jsonl", id=self.t.id,
                                field=f"time_entries.{entry_id}", reason=f"not logged: {reason}"))

    def _time_markers(self, issue_id: int) -> dict[str, int]:
        if issue_id <= 0:
            return {}
        expected = {e.id: self.m.author_of(e.user_id)[0].redmine_id for e in self.t.time_entries}
        entries = self.gateway.iterate("/time_entries.json", "time_entries", {"issue_id": issue_id, "sort": None})
        ours = our_time_entries(entries, self.m.tool_writers(), expected, self.time_portal_field())
        return {source: int(entry["id"]) for source, entry in ours}

    # --- final state ------------------------------------------------------------------------------

    def journal_acts(self, issue: Json | None, tracker: str, status: str,
                     priority: str) -> tuple[list[Act], StatusAct | None]:
        """The ticket's journals still to write, in order, and its final state: what both writers write
        (REST here, the loader from the same list), decided once.

        Status changes of the history are interleaved with the comments by time (one skipped where
        Redmine is already in that status); complaints follow; the final state comes last."""
        pending = self._pending_transitions(issue)
        last = pending.pop() if pending and pending[-1].index == len(self._transitions()) else None
        running = (issue or {}).get("status", {}).get("name") or self.m.default_status[tracker]
        acts: list[Act] = []

        def replay(step: Transition) -> None:
            nonlocal running
            target = self._mapped("status", step.status, self.m.mappings.portal.statuses,
                                  self.m.mappings.portal.fallback_status)
            if target == running:
                self.tally.add("status", "skip")
                return
            acts.append(StatusAct(STATUS_KIND, step, {"status_id": self.live.statuses[target]},
                                  self.live.statuses[running]))
            running = target

        for comment in self.t.comments:
            while pending and pending[0].at < comment.created_at:
                replay(pending.pop(0))
            acts.append(CommentAct(comment))
        for step in pending:
            replay(step)
        acts += [ComplaintAct(index, c) for index, c in enumerate(self.t.complaints, start=1)]
        return acts, self._final_act(issue, tracker, status, priority, last, running)

    def _final_act(self, issue: Json | None, tracker: str, status: str, priority: str,
                   last: Transition | None, running: str) -> StatusAct | None:
        """Status, priority and assignee after the notes (None: nothing left to change).

        The change is one journal dated by the portal: the history's last transition (its time
        and author) when that is still to be written, else a `state` journal at the ticket's
        last change. Never the migration's own time."""
        wanted: dict[str, int] = {}
        status_id = self.live.statuses[status]
        current = self.live.statuses.get(running, (int(issue.get("status", {}).get("id", 0)) if issue is not None
                                                   else self.live.statuses[self.m.default_status[tracker]]))
        if current != status_id:
            wanted["status_id"] = status_id
        if issue is not None and int(issue.get("priority", {}).get("id", 0)) != self.live.priorities[priority]:
            wanted["priority_id"] = self.live.priorities[priority]
        assignee = self.assignee()
        current_assignee = (issue or {}).get("assigned_to", {}).get("id")
        if assignee is not None and current_assignee != assignee.redmine_id:
            wanted["assigned_to_id"] = assignee.redmine_id
        if not wanted:
            return None
        # On an existing issue (a delta run) this is an update of the issue, as it always was counted.
        final: tuple[Kind, Verb] = ("issue", "update") if issue is not None else ("status", "create")
        if "status_id" in wanted and last is not None:
            return StatusAct(STATUS_KIND, last, wanted, current, final)
        step = Transition(0, self.t.status, issue_dates(self.t, self._closed_portal_statuses()).updated_on, None,
                          f"{self.t.id}.{self._state_count() + 1}")
        return StatusAct(STATE_KIND, step, wanted, current, final)

    def assignee(self) -> UserRef | None:
        """The Redmine user the ticket is assigned to; none for an unknown portal user."""
        if not self.t.assignee_id:
            return None
        assignee, stand_in = self.m.author_of(self.t.assignee_id)
        return None if stand_in else assignee

    def _moves_known(self, issue: Json | None) -> bool:
        """Every status change written on this issue is one Redmine was seen to apply (see Move)."""
        return issue is None and self.author_id is not None and all(m in self.m.applied_moves for m in self.moves)

    def _read_back(self, issue_id: int, status: str, *, learn: bool = False) -> None:
        """After a status change, read the issue back: Redmine answers 204 even when its workflow
        ignored the transition, so that is reported here. Journal ids found go to the ledger.

        `learn` (an issue this run created): the status changes its journals show Redmine applied
        are remembered, so the same changes on later new issues need no read-back."""
        issue = self._read_issue(issue_id)
        if learn:
            self._learn_moves(issue)
        if issue.get("status", {}).get("name") != status:
            self.tally.find(Finding(category="workflow", file="tickets.jsonl", id=self.t.id, field="status",
                                    reason=f"Redmine kept status '{issue.get('status', {}).get('name')}' "
                                           f"instead of '{status}' (workflow?)"))
        created = {c.id: c.created_at for c in self.t.comments}
        complaints = {f"{self.t.id}-{i}": c.created_at for i, c in enumerate(self.t.complaints, start=1)}
        self._date_timeline_journals(issue_id, issue)
        for kind, source, journal in self._our_notes(issue):
            if kind in TIMELINE_KINDS:
                continue
            moment = created.get(source) if kind == "comment" else complaints.get(source)
            if kind == "comment":
                self.ledger.put("journal", f"{self.t.id}:{source}", int(journal["id"]))
            if moment is not None:
                self.ledger.record_dates("journal", int(journal["id"]), moment.isoformat())

    def _learn_moves(self, issue: Json) -> None:
        author = int((issue.get("author") or {}).get("id") or 0)
        tracker = int((issue.get("tracker") or {}).get("id") or 0)
        for journal in issue.get("journals", []):
            writer = int((journal.get("user") or {}).get("id") or 0)
            for detail in journal.get("details", []):
                if detail.get("property") == "attr" and detail.get("name") == "status_id" and \
                        detail.get("old_value") and detail.get("new_value"):
                    self.m.applied_moves.add(Move(writer, tracker, int(detail["old_value"]),
                                                  int(detail["new_value"]), writer == author))

    # --- timeline: replayed status changes (see migrator.timeline) -------------------------------

    def _closed_portal_statuses(self) -> set[str]:
        """The ticket's portal statuses (its own and its history's) that map to a closed Redmine status."""
        names = {self.t.status, *(c.status for c in self.t.status_history or ())}
        portal = self.m.mappings.portal
        closed = self.live.closed_status_ids
        return {name for name in names
                if self.live.statuses.get(portal.statuses.get(name, portal.fallback_status)) in closed}

    def _transitions(self) -> list[Transition]:
        return transitions(self.t, self.t.status in self._closed_portal_statuses())

    def _pending_transitions(self, issue: Json | None) -> list[Transition]:
        """Transitions still to write. An issue migrated before status histories existed (no
        timeline journal at all) is not replayed: its history would walk a finished issue backwards."""
        steps = self._transitions()
        if issue is None:
            return steps
        self.timeline_seen = timeline_journals(issue, self.live.api_user_id)
        done = {source for kind, source, _ in self.timeline_seen if kind == STATUS_KIND}
        if not done:
            return []
        last_done = max((s.index for s in steps if s.source in done), default=0)
        return [s for s in steps if s.index > last_done]

    def _state_count(self) -> int:
        return sum(1 for kind, _, _ in self.timeline_seen if kind == STATE_KIND)

    def transition_note(self, step: Transition, kind: str) -> tuple[str, UserRef | None]:
        """The change's provenance line (a private note: support reads it, clients never do) and its
        writer (migrator.decide.status_writer): the employee the history names, else the API user (None)."""
        author, stand_in = self.m.author_of(step.by) if step.by else (None, True)
        name = (self._portal_user_name(step.by) if step.by and stand_in else
                author.display if author is not None and step.by else "портал")
        writer = status_writer(None if stand_in else author, name)
        return provenance_line(kind, step.source, name, step.at), writer.person

    def _write_transition(self, issue_id: int, act: StatusAct, *, tracker: str) -> None:
        """One PUT, dated: the change (public, no text) and its provenance line as a private note,
        which Redmine keeps as two journals of one transaction (migrator.timeline), written as the
        employee the history names, else by the API user (the private line names the author).

        Dated by its marker (fix-dates checks it is a timeline journal, see migrator.fix_dates), and
        by its journal id too when a read-back sees it."""
        note, writer = self.transition_note(act.step, act.kind)
        if "status_id" in act.change:
            by = writer.redmine_id if writer is not None else self.live.api_user_id
            self.moves.append(Move(by, self.live.trackers[tracker], act.old_status, act.change["status_id"],
                                   by == self.author_id))
        self._put_note(issue_id, (act.kind, act.step.source), note, private=True, author=writer, uploads=[],
                       kind=act.count[0], verb=act.count[1], extra=dict(act.change), created_at=act.step.at)
        self.replayed += 1
        if act.kind == STATE_KIND:
            self.state_written = act.step.source

    def _date_timeline_journals(self, issue_id: int, issue: Json) -> None:
        """The read-back found timeline journals: date each by its id (exactly that journal, and the
        public change journal beside its private marker)."""
        for kind, source, journal in timeline_journals(issue, self.live.api_user_id):
            if kind == STATUS_KIND:
                moment = next((s.at for s in self._transitions() if s.source == source), None)
            else:  # a `state` journal is dated once: by the run that wrote it, or the next after a crash
                fresh = source == self.state_written or not (
                    self.ledger.has_dates("journal", int(journal["id"]))
                    or self.ledger.has_note_date(issue_id, f"{STATE_KIND}:{source}"))
                moment = issue_dates(self.t, self._closed_portal_statuses()).updated_on if fresh else None
            if moment is not None and not self.m.options.dry_run:  # both ways it is dated say the same
                self.ledger.record_dates("journal", int(journal["id"]), moment.isoformat())
                if journal.get("change_journal_id"):
                    self.ledger.record_dates("journal", int(journal["change_journal_id"]), moment.isoformat())
                self.ledger.record_note_date(issue_id, f"{kind}:{source}", moment.isoformat())

    def _record_issue_dates(self, issue_id: int) -> None:
        dates = issue_dates(self.t, self._closed_portal_statuses())
        self.ledger.record_dates("issue", issue_id, dates.created_on.isoformat(), dates.updated_on.isoformat(),
                                 dates.closed_on.isoformat() if dates.closed_on else None)
