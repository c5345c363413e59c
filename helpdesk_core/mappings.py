"""mappings.yaml as pydantic models: the Redmine objects the helpdesk needs and the portal maps.

Validation checks more than shapes: every name the file refers to (a tracker's default
status, a portal value's target, a workflow's status) must be defined in the same file
(`reference_problems`), so a typo is an error with its key and line, not a failed
migration three hours in.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from helpdesk_core.mapping_checks import mapping_problems
from helpdesk_core.yaml_source import load_yaml_file, load_yaml_model

ANY = "*"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrackerSpec(Strict):
    name: str = Field(min_length=1, max_length=30)
    default_status: str
    description: str = ""


class StatusSpec(Strict):
    name: str = Field(min_length=1, max_length=30)
    closed: bool = False


class EnumerationSpec(Strict):
    name: str = Field(min_length=1, max_length=30)
    default: bool = False


class RoleSpec(Strict):
    name: str = Field(min_length=1, max_length=255)
    issues_visibility: Literal["all", "default", "own"] = "default"
    assignable: bool = True
    permissions: list[Annotated[str, StringConstraints(pattern=r"^[a-z_]+$")]] = Field(default_factory=list)


class Roles(Strict):
    client: RoleSpec
    support: RoleSpec


class CustomFieldSpec(Strict):
    name: str = Field(min_length=1, max_length=30)
    format: Literal["string", "text", "int", "bool", "date", "link"] = "string"
    filter: bool = False
    searchable: bool = False
    # What a client may do with the field on an existing issue (clients have edit_issues,
    # every other field is read-only for them after creation, see provision):
    # editable: also afterwards (the complaint button) · readonly: never, not even at creation ·
    # migration: the migration's own (portal id, portal date, complaint counter): the REST migration
    # writes it as the ticket's client at creation, so the client role may write it in the first
    # status only while Redmine is in migration mode; going live locks it everywhere (provision)
    client: Literal["creation", "editable", "readonly", "migration"] = "creation"


class CustomFields(Strict):
    """Keys are stable names code refers to; `name` is what Redmine shows."""

    portal_id: CustomFieldSpec
    portal_created: CustomFieldSpec
    category: CustomFieldSpec
    orders: CustomFieldSpec
    account: CustomFieldSpec
    page_url: CustomFieldSpec
    browser: CustomFieldSpec
    complaints: CustomFieldSpec
    # the portal's «Пожаловаться на задержку» button: the client ticks it, delay-complaint clears it
    delay_button: CustomFieldSpec = CustomFieldSpec(name="Пожаловаться на задержку", format="bool",
                                                    filter=True, client="editable")
    # support marks a consultation free; admin/billing.py skips it
    free_consultation: CustomFieldSpec = CustomFieldSpec(name="Бесплатная консультация", format="bool",
                                                         filter=True, client="readonly")

    def by_key(self) -> dict[str, CustomFieldSpec]:
        return {key: getattr(self, key) for key in type(self).model_fields}


class ProjectFields(Strict):
    """Project custom fields: how the migration and `users pending` recognise a company's project.

    A project is the company's when it carries the company's portal id, never by its name.
    """

    company_id: CustomFieldSpec = CustomFieldSpec(name="ID компании в портале")
    email_domains: CustomFieldSpec = CustomFieldSpec(name="Почтовые домены компании")

    def by_key(self) -> dict[str, CustomFieldSpec]:
        return {key: getattr(self, key) for key in type(self).model_fields}


class UserFields(Strict):
    """User custom fields, admin-only: set when the migration creates an account, so an account
    is the migration's own (it may lock it) by what Redmine says, not by a local file."""

    portal_user_id: CustomFieldSpec = CustomFieldSpec(name="ID пользователя в портале")

    def by_key(self) -> dict[str, CustomFieldSpec]:
        return {key: getattr(self, key) for key in type(self).model_fields}


class TimeEntryFields(Strict):
    """Time entry custom fields, seen by support and administrators only: the portal id of an entry
    the migration logged travels here, not in the comment clients read (provision hides it from
    every role but support)."""

    portal_time_id: CustomFieldSpec = CustomFieldSpec(name="ID трудозатрат в портале")

    def by_key(self) -> dict[str, CustomFieldSpec]:
        return {key: getattr(self, key) for key in type(self).model_fields}


class Transition(Strict):
    trackers: list[str] | Literal["*"] = ANY
    from_: list[str] | Literal["*"] = Field(ANY, alias="from")
    to: list[str] | Literal["*"] = ANY


class Workflow(Strict):
    support: list[Transition] = Field(default_factory=list)
    client: list[Transition] = Field(default_factory=list)


class ProjectSpec(Strict):
    modules: list[str] = Field(default_factory=lambda: ["issue_tracking", "time_tracking"])


class SettingsSpec(Strict):
    text_formatting: Literal["common_mark", "textile", ""] = "common_mark"
    attachment_max_size_kb: int = Field(5120, gt=0)


class StandinUser(Strict):
    login: str = Field(pattern=r"^[A-Za-z0-9_\-@.]{1,60}$")
    firstname: str = Field(min_length=1)
    lastname: str = Field(min_length=1)
    mail: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class PortalMaps(Strict):
    reasons: dict[str, str]
    priorities: dict[str, str]
    statuses: dict[str, str]
    answers: dict[str, str] = Field(default_factory=dict)
    fallback_priority: str
    fallback_status: str
    fallback_tracker: str
    standin_user: StandinUser
    activity_by_tracker: dict[str, str] = Field(default_factory=dict)


class Mappings(Strict):
    trackers: list[TrackerSpec] = Field(min_length=1)
    statuses: list[StatusSpec] = Field(min_length=1)
    priorities: list[EnumerationSpec] = Field(min_length=1)
    time_entry_activities: list[EnumerationSpec] = Field(min_length=1)
    roles: Roles
    support_group: str = Field(min_length=1)
    non_member_permissions: list[Annotated[str, StringConstraints(pattern=r"^[a-z_]+$")]] = Field(default_factory=list)
    anonymous_permissions: list[Annotated[str, StringConstraints(pattern=r"^[a-z_]+$")]] = Field(default_factory=list)
    custom_fields: CustomFields
    project_custom_fields: ProjectFields = ProjectFields()
    user_custom_fields: UserFields = UserFields()
    time_entry_custom_fields: TimeEntryFields = TimeEntryFields()
    workflow: Workflow = Workflow()
    project: ProjectSpec = ProjectSpec()
    settings: SettingsSpec = SettingsSpec()
    portal: PortalMaps

    def reference_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Names this file uses but does not define, each with its key path (for the line)."""
        statuses = {s.name for s in self.statuses}
        trackers = {t.name for t in self.trackers}
        priorities = {p.name for p in self.priorities}
        activities = {a.name for a in self.time_entry_activities}
        problems: list[tuple[tuple[str | int, ...], str]] = []

        def need(value: str, known: set[str], what: str, *where: str | int) -> None:
            if value not in known:
                problems.append((where, f"unknown {what} '{value}' (known: {', '.join(sorted(known))})"))

        for index, tracker in enumerate(self.trackers):
            need(tracker.default_status, statuses, "status", "trackers", index, "default_status")
        for section, known, what in (("reasons", trackers, "tracker"), ("priorities", priorities, "priority"),
                                     ("statuses", statuses, "status")):
            for portal_value, target in getattr(self.portal, section).items():
                need(target, known, what, "portal", section, portal_value)
        for question, key in self.portal.answers.items():
            need(key, set(CustomFields.model_fields), "custom field key", "portal", "answers", question)
        need(self.portal.fallback_priority, priorities, "priority", "portal", "fallback_priority")
        need(self.portal.fallback_status, statuses, "status", "portal", "fallback_status")
        need(self.portal.fallback_tracker, trackers, "tracker", "portal", "fallback_tracker")
        for tracker, activity in self.portal.activity_by_tracker.items():
            need(tracker, trackers, "tracker", "portal", "activity_by_tracker", tracker)
            need(activity, activities, "activity", "portal", "activity_by_tracker", tracker)
        for role in ("support", "client"):
            for index, rule in enumerate(getattr(self.workflow, role)):
                for field, key, known in (("trackers", "trackers", trackers), ("from_", "from", statuses),
                                          ("to", "to", statuses)):
                    values = getattr(rule, field)
                    for value in [] if values == ANY else values:
                        need(value, known, key, "workflow", role, index, key)
        if sum(p.default for p in self.priorities) != 1:
            problems.append((("priorities",), "exactly one priority must have default: true"))
        return problems

    # --- lookups used by provision, doctor, migration and sweeps ------------------------------

    @property
    def closed_statuses(self) -> set[str]:
        return {s.name for s in self.statuses if s.closed}

    @property
    def default_priority(self) -> str:
        return next(p.name for p in self.priorities if p.default)

    @property
    def default_activity(self) -> str:
        return next((a.name for a in self.time_entry_activities if a.default),
                    self.time_entry_activities[0].name)

    def transitions(self, role: Literal["support", "client"]) -> set[tuple[str, str, str]]:
        """Every (tracker, from status, to status) the workflow allows `role`."""
        trackers = [t.name for t in self.trackers]
        statuses = [s.name for s in self.statuses]
        allowed: set[tuple[str, str, str]] = set()
        for rule in getattr(self.workflow, role):
            for tracker in trackers if rule.trackers == ANY else rule.trackers:
                for old in statuses if rule.from_ == ANY else rule.from_:
                    for new in statuses if rule.to == ANY else rule.to:
                        if old != new:
                            allowed.add((tracker, old, new))
        return allowed


BUNDLED = "mappings.yaml"


def bundled_mappings_text() -> str:
    return files("helpdesk_core").joinpath(BUNDLED).read_text(encoding="utf-8")


def load_mappings(path: Path | None = None) -> Mappings:
    """The given mappings file, or the bundled default."""
    if path is not None:
        return load_yaml_file(path, Mappings, check=mapping_problems)
    return load_yaml_model(bundled_mappings_text(), Mappings, source=BUNDLED, check=mapping_problems)
