"""Registration approvals: who is waiting for access, whose company that is, and approving.

Clients register themselves (regulation, «Регистрация в трекере техподдержки»). Access needs
proof, never a domain alone: provisioning sets Redmine's account activation by email, so an
account that clicked the link Redmine mailed it is *active without any project* (it owns the
mailbox, it sees nothing yet), and one that did not is still *registered* (status 2). Approving
by domain (`--all-matching`, named logins) takes only the first kind; a registered account is
approved only from a request support received (`--from-csv`). Approving one means: a
membership in its own company's project with the client role, then activation when needed.
An administrator account is never approved and never given the client role.
Approval gives the account the email preferences every client has
(`helpdesk_core.mail_preferences`).

The shape is plan → apply: `plan_approvals` decides everything (which account, which project,
or why not), `apply_approvals` only executes; a dry run is `apply_approvals(..., dry_run=True)`, which
walks the same plan through the same `approve` (same reads and decisions) and only lists the writes.

Order of the two writes (membership first, then activation) is on purpose: if the run stops
between them, the account is still pending and the next run finishes it (the membership
write is idempotent); the other order would leave an active account without its project,
invisible to `users pending` forever.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from admin.companies import CompanyDirectory, CompanySpec, DomainMatch, company_key, valid_domains
from helpdesk_core.catalog import Catalog
from helpdesk_core.errors import ConfigError, HelpdeskError, RedmineError, ValidationFailed
from helpdesk_core.gateway import Gateway
from helpdesk_core.mail_preferences import with_client_preferences
from helpdesk_core.mappings import Mappings, load_mappings

STATUS_ACTIVE = 1
STATUS_REGISTERED = 2


class PendingAccount(BaseModel):
    """An account awaiting approval, as /users.json returns it: registered (mailbox not
    confirmed) or active without any project (confirmed through Redmine's activation email)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    login: str
    firstname: str = ""
    lastname: str = ""
    mail: str = ""
    created_on: str | None = None
    admin: bool = False
    status: int = STATUS_REGISTERED

    @property
    def name(self) -> str:
        return f"{self.firstname} {self.lastname}".strip()

    @property
    def confirmed(self) -> bool:
        """It used the activation link Redmine mailed to it: it owns the mailbox."""
        return self.status == STATUS_ACTIVE


NOT_CONFIRMED = ("mailbox not confirmed (the activation link Redmine mailed was not used): approve it only "
                 "from a request support received (--from-csv)")
ADMINISTRATOR = "an administrator account: never approved, never given the client role"


@dataclass(frozen=True)
class ProjectRef:
    """A Redmine project an account may join; `company_id`/`domains`: what the migration stored on it."""

    id: int
    identifier: str
    name: str
    company_id: str | None = None
    domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pending:
    """One pending account with the company its address points to (or why none)."""

    account: PendingAccount
    match: DomainMatch
    project: ProjectRef | None
    problem: str | None  # set when the account cannot be approved by the domain rule

    @property
    def approvable(self) -> bool:
        return self.problem is None


class ProjectIndex:
    """Redmine's projects by identifier, by the portal company id they carry, and by name; read once."""

    def __init__(self, projects: Iterable[ProjectRef]) -> None:
        self._all = list(projects)
        self._by_identifier = {p.identifier: p for p in self._all}
        self._by_company: dict[str, list[ProjectRef]] = {}
        self._by_name: dict[str, list[ProjectRef]] = {}
        for project in self._all:
            self._by_name.setdefault(company_key(project.name), []).append(project)
            if project.company_id:
                self._by_company.setdefault(project.company_id, []).append(project)

    @classmethod
    def read(cls, gateway: Gateway, mappings: Mappings | None = None) -> ProjectIndex:
        """Every project, with the company id and mail domains the migration stored on it."""
        specs = (mappings or load_mappings()).project_custom_fields
        fields = {str(f["name"]): int(f["id"]) for f in Catalog.of(gateway).items("custom_fields")
                  if f.get("customized_type") == "project"}
        company_field, domains_field = fields.get(specs.company_id.name), fields.get(specs.email_domains.name)

        def value(project: dict[str, Any], field_id: int | None) -> str:
            return next((str(v.get("value") or "") for v in project.get("custom_fields", [])
                         if field_id is not None and v.get("id") == field_id), "")

        return cls(ProjectRef(id=int(p["id"]), identifier=str(p["identifier"]), name=str(p["name"]),
                              company_id=value(p, company_field) or None,
                              domains=tuple(value(p, domains_field).split()))
                   for p in gateway.iterate("/projects.json", "projects", {"sort": None}))

    def all(self) -> list[ProjectRef]:
        return list(self._all)

    def companies(self) -> list[CompanySpec]:
        """A company for each project that carries a portal company id (what the migration made)."""
        return [CompanySpec(name=p.name, domains=valid_domains(p.domains), source_id=p.company_id)
                for p in self._all if p.company_id]

    def for_company(self, company: CompanySpec) -> tuple[ProjectRef | None, str | None]:
        """The company's project, or why it cannot be told.

        An explicit identifier wins. A company with a portal id is the project carrying that id,
        never one found by name (two companies may share a name). Only a company given by name
        alone (a --companies entry) is looked up by its name.
        """
        if company.project is not None:
            project = self._by_identifier.get(company.project)
            return (project, None) if project else (None, f"project '{company.project}' does not exist")
        if company.source_id is not None:
            carriers = self._by_company.get(company.source_id, [])
            if len(carriers) == 1:
                return carriers[0], None
            if not carriers:
                return None, (f"no project carries company id {company.source_id} (migrate the company first, "
                              f"or give the project identifier in --companies)")
            names = ", ".join(p.identifier for p in carriers)
            return None, f"several projects carry company id {company.source_id} ({names}): give the identifier"
        found = self._by_name.get(company_key(company.name), [])
        if len(found) == 1:
            return found[0], None
        if not found:
            return None, f"no project named '{company.name}' (give its identifier in --companies)"
        names = ", ".join(p.identifier for p in found)
        return None, f"several projects are named '{company.name}' ({names}): give the identifier"


def read_pending(gateway: Gateway) -> Iterator[PendingAccount]:
    """Accounts still registered (status 2: the mailbox is not confirmed), page by page."""
    for user in gateway.iterate("/users.json", "users", {"status": STATUS_REGISTERED}):
        yield PendingAccount.model_validate({**user, "status": STATUS_REGISTERED})


def _users_with_access(gateway: Gateway, projects: ProjectIndex) -> set[int]:
    """Everyone who is in a group (support staff) or a member of some project, directly or
    through a group: such an account is somebody's already, never a registration to approve."""
    users: set[int] = set()
    group_members: dict[int, set[int]] = {}
    for group in Catalog.of(gateway).items("groups"):
        detail = gateway.get(f"/groups/{group['id']}.json", {"include": "users"}).get("group", {})
        group_members[int(group["id"])] = {int(u["id"]) for u in detail.get("users", [])}
        users |= group_members[int(group["id"])]
    for project in projects.all():
        for membership in gateway.iterate(f"/projects/{project.id}/memberships.json", "memberships"):
            if membership.get("user"):
                users.add(int(membership["user"]["id"]))
            elif membership.get("group"):
                users |= group_members.get(int(membership["group"]["id"]), set())
    return users


def read_awaiting(gateway: Gateway, projects: ProjectIndex, portal_user_field: str) -> list[PendingAccount]:
    """Every account awaiting approval: the registered ones (unconfirmed) and the active ones
    that belong to no project and no group, are no administrator and were not made by the
    migration (no «ID пользователя в портале»): confirmed through Redmine's activation email."""
    awaiting = list(read_pending(gateway))
    taken = _users_with_access(gateway, projects)
    for user in gateway.iterate("/users.json", "users", {"status": STATUS_ACTIVE}):
        migrated = any(f.get("name") == portal_user_field and f.get("value")
                       for f in user.get("custom_fields", []))
        if user.get("admin") or migrated or int(user["id"]) in taken:
            continue
        awaiting.append(PendingAccount.model_validate({**user, "status": STATUS_ACTIVE}))
    return awaiting


def classify(accounts: Iterable[PendingAccount], directory: CompanyDirectory,
             projects: ProjectIndex) -> list[Pending]:
    """Attach to each account its company (by email domain) and project, or the reason why not."""
    result = []
    for account in accounts:
        match = directory.match_email(account.mail)
        project, problem = None, None if match.matched else match.reason
        if match.company is not None:
            project, problem = projects.for_company(match.company)
        if account.admin:
            problem = ADMINISTRATOR
        elif not account.confirmed:
            problem = NOT_CONFIRMED
        result.append(Pending(account, match, project, problem))
    return result


# --- CSV of registration data sent by email ------------------------------------------------------

# What each column holds, by the header as people write it (lower case, Russian too). `name` is the
# old header of the login column: still read (deprecated, admin/README.md), never a person's name.
_HEADER_ALIASES = {
    "email": "email", "e-mail": "email", "mail": "email", "почта": "email", "эл. почта": "email",
    "электронная почта": "email", "адрес почты": "email", "email адрес": "email",
    "login": "login", "логин": "login", "username": "login", "user": "login", "имя пользователя": "login",
    "name": "login",  # deprecated
    "company": "company", "компания": "company", "название компании": "company", "организация": "company",
}
_HEADER_HINT = "email,company and optional login (почта,компания,логин)"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class RegistrationRow(BaseModel):
    """One request support received by email: the mailbox it came from (the proof, issue 19), the
    client company it names, and optionally the login of the account it asks for."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    line: int
    login: str = ""
    email: str = ""
    company: str = Field(min_length=1)

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


def read_registration_csv(path: Path) -> list[RegistrationRow]:
    """Rows of the CSV (header `email,company[,login]`); a bad row is an error naming its line and column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", source=str(path)) from None
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if header is None:
        raise ConfigError(f"empty file: expected a header row {_HEADER_HINT}", source=str(path))
    keys = [_HEADER_ALIASES.get(" ".join(h.strip().lower().split())) for h in header]
    shown = {key: h.strip() for h, key in zip(header, keys, strict=True) if key is not None}
    if not {"email", "company"} <= set(keys):
        raise ConfigError(f"the header must name the columns {_HEADER_HINT}; found: {', '.join(header)}",
                          source=str(path), line=1)
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        values = {k: v for k, v in zip(keys, cells, strict=False) if k is not None}

        def bad(message: str, key: str, number: int = number) -> ConfigError:
            return ConfigError(f"column «{shown.get(key, key)}»: {message}", source=str(path), line=number)

        if not values.get("company", "").strip():
            raise bad("empty; each row names the client company", "company")
        email = values.get("email", "").strip()
        if email and not _EMAIL.fullmatch(email):
            raise bad(f"'{email}' is not an email address", "email")
        row = RegistrationRow.model_validate({"line": number, **values})
        if not row.email and not row.login:
            raise bad("empty and no login given; each row names the mailbox the request came from", "email")
        rows.append(row)
    return rows


# --- plan ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Approval:
    """Activate `account` and make it a member of `project` with the client role (why: `basis`)."""

    account: PendingAccount
    company: str
    project: ProjectRef
    role_id: int
    basis: str


@dataclass(frozen=True)
class Skip:
    """An account or a CSV row that will not be approved, and why."""

    subject: str
    reason: str
    line: int | None = None


@dataclass(frozen=True)
class ApprovalPlan:
    approvals: tuple[Approval, ...]
    skipped: tuple[Skip, ...]
    unmatched_rows: tuple[Skip, ...] = ()


Selection = Literal["logins", "all-matching", "csv"]


def plan_by_domain(pending: Sequence[Pending], role_id: int, *,
                   logins: Sequence[str] | None = None) -> ApprovalPlan:
    """Approve by the domain rule: the named logins, or every account with exactly one company.

    An account matched to no company or to two is never approved this way.
    """
    by_login = {p.account.login: p for p in pending}
    chosen: list[Pending] = []
    skipped: list[Skip] = []
    if logins is None:
        chosen = list(pending)
    else:
        for login in dict.fromkeys(logins):
            item = by_login.get(login)
            if item is None:
                skipped.append(Skip(login, "not a pending account (unknown, already active or locked)"))
            else:
                chosen.append(item)
    approvals = []
    for item in chosen:
        if item.project is None or item.match.company is None or item.problem is not None:
            skipped.append(Skip(item.account.login, item.problem or "no company"))
            continue
        approvals.append(Approval(item.account, item.match.company.name, item.project, role_id,
                                  item.match.reason))
    return ApprovalPlan(tuple(approvals), tuple(skipped))


def plan_from_rows(rows: Sequence[RegistrationRow], accounts: Sequence[PendingAccount],
                   directory: CompanyDirectory, projects: ProjectIndex, role_id: int) -> ApprovalPlan:
    """Approve what clients sent: each row names its account (email, else user name) and company.

    The company named in the row replaces the domain rule; it is looked up in the companies
    config first, then among Redmine's project names. Rows that match no pending account are
    reported, as are rows naming an unknown company or an account named by two rows.
    """
    by_mail: dict[str, list[PendingAccount]] = {}
    for account in accounts:
        by_mail.setdefault(account.mail.lower(), []).append(account)
    by_login = {a.login.lower(): a for a in accounts}
    approvals: dict[int, Approval] = {}
    lines_for: dict[int, int] = {}
    skipped: list[Skip] = []
    unmatched: list[Skip] = []
    for row in rows:
        subject = row.email or row.login
        account = _row_account(row, by_mail, by_login)
        if isinstance(account, str):
            unmatched.append(Skip(subject, account, row.line))
            continue
        if account.admin:
            skipped.append(Skip(account.login, ADMINISTRATOR, row.line))
            continue
        spec, project, problem = _client_company(row.company, directory, projects)
        if project is None or spec is None:
            skipped.append(Skip(account.login, f"company '{row.company}': {problem}", row.line))
            continue
        foreign = _foreign_domain(row, spec, project)
        if foreign is not None:
            skipped.append(Skip(account.login, foreign, row.line))
            continue
        previous = approvals.get(account.id)
        if previous is not None and previous.project != project:
            del approvals[account.id]
            skipped.append(Skip(account.login, f"rows {lines_for[account.id]} and {row.line} name "
                                f"different companies", row.line))
            continue
        approvals[account.id] = Approval(account, spec.name, project, role_id, f"CSV line {row.line}")
        lines_for[account.id] = row.line
    return ApprovalPlan(tuple(approvals.values()), tuple(skipped), tuple(unmatched))


def _client_company(name: str, directory: CompanyDirectory,
                    projects: ProjectIndex) -> tuple[CompanySpec | None, ProjectRef | None, str | None]:
    """The client company a CSV row names and its project, or why there is none: only a project
    carrying a portal company id is a client company."""
    spec = directory.by_name(name) or CompanyDirectory.build(projects.companies()).by_name(name)
    if spec is None:
        return None, None, "no client company of that name (a project with a portal company id)"
    project, problem = projects.for_company(spec)
    if project is not None and not project.company_id:
        return None, None, f"project '{project.identifier}' carries no portal company id: not a client company"
    return spec, project, problem


def _foreign_domain(row: RegistrationRow, spec: CompanySpec, project: ProjectRef) -> str | None:
    """Why the row's email is not that company's, or None (no email: support named the login)."""
    if not row.email:
        return None
    own = valid_domains([*spec.domains, *project.domains])
    if CompanyDirectory.build([spec.model_copy(update={"domains": own})]).match_email(row.email).matched:
        return None
    return (f"the email's domain does not belong to '{spec.name}': name the login alone (no email) "
            f"if support vouches for this account")


def _row_account(row: RegistrationRow, by_mail: dict[str, list[PendingAccount]],
                 by_login: dict[str, PendingAccount]) -> PendingAccount | str:
    """The pending account a row names, or why there is none."""
    if row.email:
        found = by_mail.get(row.email, [])
        if len(found) == 1:
            if row.login and row.login.lower() != found[0].login.lower():
                return f"email {row.email} is pending as '{found[0].login}', not '{row.login}'"
            return found[0]
        if len(found) > 1:
            return f"several pending accounts use {row.email}"
    if row.login and row.login.lower() in by_login and not row.email:
        return by_login[row.login.lower()]
    return "matches no pending account"


# --- apply --------------------------------------------------------------------------------------


class ApprovalRefused(HelpdeskError):
    """The account may not be approved at all (an administrator): nothing was written."""


ApprovalStatus = Literal["approved", "would-approve", "skipped", "unmatched", "error"]


class ApprovalOutcome(BaseModel):
    """What happened to one account or CSV row."""

    model_config = ConfigDict(frozen=True)

    subject: str
    status: ApprovalStatus
    company: str | None = None
    project: str | None = None
    reason: str = ""
    line: int | None = None


def read_client_role_id(gateway: Gateway, role_name: str) -> int:
    """The id of the client role (mappings: roles.client.name)."""
    for role in Catalog.of(gateway).items("roles"):
        if role.get("name") == role_name:
            return int(role["id"])
    raise ConfigError(f"Redmine has no role '{role_name}' (run helpdesk provision)", key="roles.client.name")


def apply_approvals(gateway: Gateway, plan: ApprovalPlan, *, dry_run: bool) -> list[ApprovalOutcome]:
    """Execute the plan (or, with `dry_run`, only say what it would do); one outcome per subject.

    A failure of one account is its outcome, not the end of the run.
    """
    outcomes: list[ApprovalOutcome] = []
    for approval in plan.approvals:
        where = {"subject": approval.account.login, "company": approval.company,
                 "project": approval.project.identifier}
        try:
            approve(gateway, approval, dry_run=dry_run)
        except HelpdeskError as exc:
            outcomes.append(ApprovalOutcome(**where, status="error", reason=str(exc)))
            continue
        outcomes.append(ApprovalOutcome(**where, status="would-approve" if dry_run else "approved",
                                        reason=approval.basis))
    outcomes.extend(ApprovalOutcome(subject=s.subject, status="skipped", reason=s.reason, line=s.line)
                    for s in plan.skipped)
    outcomes.extend(ApprovalOutcome(subject=s.subject, status="unmatched", reason=s.reason, line=s.line)
                    for s in plan.unmatched_rows)
    return outcomes


def approve(gateway: Gateway, approval: Approval, *, dry_run: bool = False) -> list[str]:
    """Membership with the client role in the company's project, then status active.

    One path for both modes: a dry run makes the same reads and decisions and only lists the
    writes (returned as "METHOD path"), so what it shows is what a real run would send.
    """
    user_id, project_id = approval.account.id, approval.project.id
    path = f"/projects/{project_id}/memberships.json"
    writes: list[str] = []
    if approval.account.admin or gateway.get(f"/users/{user_id}.json").get("user", {}).get("admin"):
        raise ApprovalRefused(f"{approval.account.login}: {ADMINISTRATOR}")

    def existing() -> dict[str, Any] | None:
        for membership in gateway.iterate(path, "memberships"):
            if (membership.get("user") or {}).get("id") == user_id:
                return membership
        return None

    def send(method: str, target: str, payload: dict[str, Any], **options: Any) -> None:
        if not dry_run:
            (gateway.post if method == "POST" else gateway.put)(target, payload, **options)
        writes.append(f"{method} {target}")  # what was (or would be) accepted

    preferences = f"/users/{user_id}.json"
    if approval.account.confirmed:
        # Active already, pending because it is in no project: its preferences first, so that a
        # run stopped before the membership leaves it pending (the next run finishes it).
        send("PUT", preferences, with_client_preferences({"user": {}}))
    # A real run learns "already a member" from the POST's 422 (one request fewer); a dry run
    # cannot send it, so it reads the memberships first.
    membership = existing() if dry_run else None
    if membership is None:
        try:
            send("POST", path, {"membership": {"user_id": user_id, "role_ids": [approval.role_id]}},
                 recover=existing)
        except ValidationFailed:
            # Already a member (an earlier run stopped before activating): make sure of the role.
            membership = existing()
            if membership is None:
                raise
    if membership is not None:
        role_ids = {int(r["id"]) for r in membership.get("roles", [])}
        if approval.role_id not in role_ids:
            send("PUT", f"/memberships/{membership['id']}.json",
                 {"membership": {"role_ids": sorted(role_ids | {approval.role_id})}})
    if not approval.account.confirmed:
        # activation (CSV only), with the email preferences go-live gives migrated clients (О7:
        # told of their own tickets)
        send("PUT", preferences, with_client_preferences({"user": {"status": STATUS_ACTIVE}}))
    if not dry_run:
        check = gateway.get(f"/users/{user_id}.json").get("user", {})
        if int(check.get("status", STATUS_ACTIVE)) != STATUS_ACTIVE:
            raise RedmineError("Redmine kept the account inactive", method="PUT", path=f"/users/{user_id}.json")
    return writes
