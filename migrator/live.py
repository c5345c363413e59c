"""A snapshot of what the live Redmine already holds, read once at the start of a migration.

One bulk read per collection (ids of trackers, statuses, priorities, activities, custom
fields, roles, the support group, projects with their issue categories, users, and — per project of the export — every
issue that carries an «ID в портале») replaces per-ticket lookups: the migration never scans
Redmine per ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from helpdesk_core.catalog import Catalog
from helpdesk_core.errors import ConfigError
from helpdesk_core.gateway import Gateway, NotFoundError
from helpdesk_core.mappings import Mappings
from migrator.ledger import Ledger
from migrator.text import note_marker, time_entry_marker

Json = dict[str, Any]


@dataclass
class LiveRedmine:
    trackers: dict[str, int]
    statuses: dict[str, int]
    closed_status_ids: set[int]
    priorities: dict[str, int]
    activities: dict[str, int]
    custom_fields: dict[str, int]  # mappings key -> id (issue fields)
    project_fields: dict[str, int]  # mappings project_custom_fields key -> id
    user_fields: dict[str, int]  # mappings user_custom_fields key -> id
    time_entry_fields: dict[str, int]  # mappings time_entry_custom_fields key -> id (support-only)
    client_role_id: int
    support_role_id: int
    support_group_id: int
    admin_login: str
    api_user_id: int  # the key's own user: writes every `[portal:state:…]` journal (migrator.timeline)
    projects_by_identifier: dict[str, Json] = field(default_factory=dict)
    projects_by_id: dict[int, Json] = field(default_factory=dict)
    # portal company id -> projects carrying it in «ID компании в портале» (one, unless someone copied it)
    projects_by_company: dict[str, list[Json]] = field(default_factory=dict)
    users_by_email: dict[str, Json] = field(default_factory=dict)
    users_by_login: dict[str, Json] = field(default_factory=dict)  # lower-cased login
    # portal user id -> the account the migration created for it («ID пользователя в портале»)
    users_by_portal_id: dict[str, Json] = field(default_factory=dict)
    admins: set[int] = field(default_factory=set)
    support_members: set[int] = field(default_factory=set)
    locked_users: set[int] = field(default_factory=set)
    issues_by_portal_id: dict[str, list[int]] = field(default_factory=dict)
    issue_authors: dict[int, int] = field(default_factory=dict)  # issue id -> author id (from the same read)

    def portal_field(self) -> str:
        return f"cf_{self.custom_fields['portal_id']}"

    def project_company(self, project: Json) -> str | None:
        """The portal company id a project carries (None: not a migrated company's project)."""
        return _field_value(project, self.project_fields["company_id"])

    def user_portal_id(self, user: Json) -> str | None:
        """The portal user id an account carries: set only on accounts the migration created."""
        return _field_value(user, self.user_fields["portal_user_id"])

    def remember_project(self, project: Json) -> None:
        self.projects_by_identifier[str(project["identifier"])] = project
        self.projects_by_id[int(project["id"])] = project
        company = self.project_company(project)
        if company:
            carriers = self.projects_by_company.setdefault(company, [])
            if all(int(p["id"]) != int(project["id"]) for p in carriers):
                carriers.append(project)


def _field_value(item: Json, field_id: int) -> str | None:
    for value in item.get("custom_fields", []):
        if value.get("id") == field_id and value.get("value"):
            return str(value["value"])
    return None


def _ids(items: list[Json]) -> dict[str, int]:
    return {str(item["name"]): int(item["id"]) for item in items}


# What provisioning creates and a migration needs by name: each has its sentence in the messages catalogue.
Needed = Literal["tracker", "status", "priority", "activity", "custom field", "project custom field",
                 "user custom field", "time entry custom field", "role", "group"]


def need_error(what: Needed, missing: list[str]) -> ConfigError:
    """The refusal when Redmine lacks what the mappings name (English id; the catalogue has its Russian)."""
    return ConfigError(f"Redmine has no {what} {', '.join(missing)}: run `helpdesk provision` first "
                       f"(see `helpdesk doctor`)")


def _need(found: dict[str, int], names: list[str], what: Needed) -> None:
    missing = [n for n in names if n not in found]
    if missing:
        raise need_error(what, missing)


def read_live(gateway: Gateway, mappings: Mappings) -> LiveRedmine:
    """Read the snapshot; fails with a ConfigError naming what provisioning must create first."""
    me = gateway.get("/users/current.json")["user"]
    catalog = Catalog.of(gateway)
    trackers, statuses = catalog.ids("trackers"), catalog.ids("statuses")
    priorities, activities = catalog.ids("priorities"), catalog.ids("activities")
    roles, groups = catalog.ids("roles"), catalog.ids("groups")
    all_fields = catalog.items("custom_fields")
    fields_by_name = _ids([f for f in all_fields if f.get("customized_type", "issue") == "issue"])
    project_fields = _ids([f for f in all_fields if f.get("customized_type") == "project"])
    user_fields = _ids([f for f in all_fields if f.get("customized_type") == "user"])
    time_fields = _ids([f for f in all_fields if f.get("customized_type") == "time_entry"])
    _need(trackers, [t.name for t in mappings.trackers], "tracker")
    _need(statuses, [s.name for s in mappings.statuses], "status")
    _need(priorities, [p.name for p in mappings.priorities], "priority")
    _need(activities, [a.name for a in mappings.time_entry_activities], "activity")
    spec_fields = mappings.custom_fields.by_key()
    _need(fields_by_name, [f.name for f in spec_fields.values()], "custom field")
    project_specs = mappings.project_custom_fields.by_key()
    user_specs = mappings.user_custom_fields.by_key()
    _need(project_fields, [f.name for f in project_specs.values()], "project custom field")
    _need(user_fields, [f.name for f in user_specs.values()], "user custom field")
    time_specs = mappings.time_entry_custom_fields.by_key()
    _need(time_fields, [f.name for f in time_specs.values()], "time entry custom field")
    _need(roles, [mappings.roles.client.name, mappings.roles.support.name], "role")
    _need(groups, [mappings.support_group], "group")
    group_id = groups[mappings.support_group]
    group = gateway.get(f"/groups/{group_id}.json", {"include": "users"})["group"]
    live = LiveRedmine(
        trackers=trackers, statuses=statuses,
        closed_status_ids={int(s["id"]) for s in catalog.closed_statuses()},
        priorities=priorities, activities=activities,
        custom_fields={key: fields_by_name[spec.name] for key, spec in spec_fields.items()},
        project_fields={key: project_fields[spec.name] for key, spec in project_specs.items()},
        user_fields={key: user_fields[spec.name] for key, spec in user_specs.items()},
        time_entry_fields={key: time_fields[spec.name] for key, spec in time_specs.items()},
        client_role_id=roles[mappings.roles.client.name], support_role_id=roles[mappings.roles.support.name],
        support_group_id=group_id, admin_login=str(me.get("login")), api_user_id=int(me.get("id", 0)),
        support_members={int(u["id"]) for u in group.get("users", [])},
    )
    # the projects' issue categories come with the same pages: no read per project when tickets need them
    for project in gateway.iterate("/projects.json", "projects", {"sort": None, "include": "issue_categories"}):
        live.remember_project(project)
    for user in gateway.iterate("/users.json", "users", {"status": "", "sort": None}):
        remember_user(live, user)
    # The list does not say who is locked; ask for them (status 3) separately.
    live.locked_users = {int(u["id"]) for u in gateway.iterate("/users.json", "users", {"status": 3, "sort": None})}
    return live


def remember_user(live: LiveRedmine, user: Json) -> None:
    if user.get("mail"):
        live.users_by_email[str(user["mail"]).lower()] = user
    live.users_by_login[str(user["login"]).lower()] = user
    if user.get("admin"):
        live.admins.add(int(user["id"]))
    portal_id = live.user_portal_id(user)
    if portal_id:
        live.users_by_portal_id.setdefault(portal_id, user)


def index_portal_issues(gateway: Gateway, live: LiveRedmine, project_ids: Iterable[int] | None) -> None:
    """Every issue carrying an «ID в портале» in the export's projects, one bulk read per project.

    Scoped to the export's projects so that a Redmine holding other work (or earlier
    migrations of other exports) does not make every run's start slower. An issue that support
    moved to another project is still found through the ledger. `None` reads every project.
    """
    field = live.custom_fields["portal_id"]
    scopes: list[int | None] = [None] if project_ids is None else sorted({p for p in project_ids if p > 0})
    for project_id in scopes:
        params: dict[str, object] = {live.portal_field(): "*", "status_id": "*"}
        if project_id is not None:
            params["project_id"] = project_id
        for issue in gateway.iterate("/issues.json", "issues", params):
            for value in issue.get("custom_fields", []):
                if value.get("id") == field and value.get("value"):
                    ids = live.issues_by_portal_id.setdefault(str(value["value"]), [])
                    if int(issue["id"]) not in ids:
                        ids.append(int(issue["id"]))
                    live.issue_authors[int(issue["id"])] = int((issue.get("author") or {}).get("id", 0))


def _user_id(item: Json) -> int:
    return int((item.get("user") or {}).get("id", 0))


def our_notes(issue: Json, tool_writers: set[int], authors: Mapping[str, int]) -> list[tuple[str, str, Json]]:
    """(kind, source id, journal) for each journal the migration wrote: the marker opens its notes
    and it was written by the API user, the stand-in, or (for a comment) that comment's author."""
    found = []
    for journal in issue.get("journals", []):
        marker = note_marker(journal.get("notes"))
        if marker is None:
            continue
        kind, source = marker
        writer = _user_id(journal)
        if writer in tool_writers or (kind == "comment" and authors.get(source) == writer):
            found.append((kind, source, journal))
    return found


def time_entry_source(entry: Json, field_id: int) -> str | None:
    """The portal id a time entry carries: the support-only field «ID трудозатрат в портале» where it
    is set (every entry this version logs; clients can neither read nor write it), else the marker
    that opened the comment of an entry logged by an earlier version (`[portal:time:W3] text`).

    Where the field is set the comment is never read: it now begins with the client's own text."""
    carried = _field_value(entry, field_id)
    return carried if carried is not None else time_entry_marker(entry.get("comments"))


def our_time_entries(entries: Iterable[Json], tool_writers: set[int],
                     expected: Mapping[str, int], field_id: int) -> list[tuple[str, Json]]:
    """(portal id, entry) for each time entry the migration logged: it carries the portal id
    (`time_entry_source`), the id belongs to this ticket, and it is logged for the API user or that
    entry's own user."""
    found = []
    for entry in entries:
        source = time_entry_source(entry, field_id)
        if source is not None and source in expected and _user_id(entry) in tool_writers | {expected[source]}:
            found.append((source, entry))
    return found


LEDGER_SAMPLE = 3  # issues looked up to tell whether a ledger is this Redmine's


def check_ledger_is_here(ledger: Ledger, gateway: Gateway) -> None:
    """Refuse a ledger whose migrated tickets this Redmine does not hold.

    The ledger makes re-runs free by trusting it: a ticket it records as done is skipped. Given
    the ledger of another Redmine (staging's against production) or after this Redmine was reset
    or restored from an older copy, a run would skip every ticket and write nothing, and only
    `verify` would notice. So before anything is read or written, a few of the issues it names
    are looked up; when none of them exists the run stops and says why (a ledger where only some
    are missing is this Redmine's: an issue deleted by hand is `verify`'s business)."""
    count, sample = ledger.done_issue_sample(LEDGER_SAMPLE)
    if not sample:
        return
    for issue_id in sample:
        try:
            gateway.get(f"/issues/{issue_id}.json")
            return
        except NotFoundError:
            continue
    raise ConfigError(f"the ledger {ledger.path} records {count} migrated tickets, but none of the issues it "
                      f"names ({', '.join(f'#{i}' for i in sample)}) is in this Redmine: the ledger belongs to "
                      "another Redmine, or this one was reset or restored from a copy. Give this Redmine's "
                      "ledger with --state, or move the ledger away to migrate afresh", key="--state")
