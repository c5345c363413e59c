"""What a rule sees while it decides: the moment, its parameters, and who is who in Redmine.

Client vs support is Redmine's answer (membership of the support group, or the support role
in the issue's project), looked up lazily and cached for one run: a name never decides.

Three sides, not two. The API key's own user (an administrator, usually in no project) is
*neither*: the migration writes as it when it cannot impersonate the portal author (unknown
people, internal notes of non-staff, forbidden writers), so its notes say nothing about who
answered; they are ignored by client/support detection. The sweep's own notes are told by their
marker line *and* their author: a marker counts only on a note written by the sweep's own
user (the API key's user or the `settings.act_as` login, `Directory.sweep_users`), so a
client who ends a reply with a marker line is still a client replying.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from helpdesk_core.catalog import Catalog
from helpdesk_core.errors import ConfigError
from policies.conversation import Conversation
from policies.issues import IssueView, Journal
from policies.settings import ResolvedRule, Settings
from policies.text_audits import AuditConfig


class Reader(Protocol):
    """The read half of `Gateway` (a fake in unit tests)."""

    def get(self, path: str, params: Any = None, *, as_user: str | None = None) -> dict[str, Any]: ...

    def iterate(self, path: str, key: str, params: Any = None, **kwargs: Any) -> Any: ...


@dataclass
class Directory:
    """Support users per Redmine, fetched on first use and cached for the run."""

    reader: Reader
    settings: Settings
    _group_users: set[int] | None = None
    _role_users: dict[int, set[int]] = field(default_factory=dict)
    _api_user: int | None = None
    _act_as_user: int | None = None

    def api_user(self) -> int:
        """The API key's user: neither client nor support (see the module docstring)."""
        if self._api_user is None:
            self._api_user = int(self.reader.get("/users/current.json")["user"]["id"])
        return self._api_user

    def group_users(self) -> set[int]:
        if self._group_users is None:
            name = self.settings.support.group
            users: set[int] = set()
            if name:
                groups = Catalog.of(self.reader).items("groups")
                match = [g for g in groups if g.get("name") == name]
                if not match:
                    raise ConfigError(f"group '{name}' not found in Redmine", key="settings.support.group")
                detail = self.reader.get(f"/groups/{match[0]['id']}.json", {"include": "users"})
                users = {int(u["id"]) for u in detail.get("group", {}).get("users", [])}
            self._group_users = users
        return self._group_users

    def role_users(self, project_id: int) -> set[int]:
        if project_id not in self._role_users:
            role = self.settings.support.role
            users: set[int] = set()
            if role:
                for membership in self.reader.iterate(f"/projects/{project_id}/memberships.json",
                                                      "memberships"):
                    if "user" in membership and any(r.get("name") == role for r in membership.get("roles", [])):
                        users.add(int(membership["user"]["id"]))
            self._role_users[project_id] = users
        return self._role_users[project_id]

    def check_act_as(self) -> None:
        """`settings.act_as` names a Redmine login: fail at planning (exit 2), not at the first write."""
        login = self.settings.act_as
        if login:
            users = self.reader.get("/users.json", {"name": login}).get("users", [])
            found = [int(u["id"]) for u in users if u.get("login") == login]
            if not found:
                raise ConfigError(f"user '{login}' not found", key="settings.act_as")
            self._act_as_user = found[0]

    def sweep_users(self) -> frozenset[int]:
        """Who the sweep writes as: the API key's user and the `act_as` login (when set). Only
        their notes can carry a sweep marker; both count, so changing `act_as` keeps history."""
        if self.settings.act_as and self._act_as_user is None:
            self.check_act_as()
        return frozenset({self.api_user()} | ({self._act_as_user} if self._act_as_user else set()))

    def side(self, user_id: int, project_id: int) -> Literal["support", "client", "neither"]:
        """Who a Redmine user is in a project: support by group or role, the API user neither,
        anyone else a client."""
        if user_id == self.api_user():
            return "neither"
        if user_id in self.group_users() or user_id in self.role_users(project_id):
            return "support"
        return "client"

    def is_support(self, user_id: int, project_id: int) -> bool:
        return self.side(user_id, project_id) == "support"

    def is_client(self, user_id: int, project_id: int) -> bool:
        return self.side(user_id, project_id) == "client"

    def is_client_comment(self, journal: Journal, issue: IssueView) -> bool:
        """A public comment written by a client (not support, not a sweep, not the API user)."""
        return (journal.is_public_comment and not journal.by_sweep
                and self.is_client(journal.user.id, issue.summary.project.id))

    def is_support_comment(self, journal: Journal, issue: IssueView) -> bool:
        """A public comment by support or by a sweep (told by its marker)."""
        return journal.is_public_comment and (
            journal.by_sweep or self.is_support(journal.user.id, issue.summary.project.id))


class _SafeDict(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class RuleContext:
    """Everything one rule needs for one run."""

    now: datetime
    rule: ResolvedRule
    settings: Settings
    directory: Directory
    audit: AuditConfig | None = None
    closed_statuses: frozenset[str] = frozenset()
    peers: Mapping[str, ResolvedRule] = field(default_factory=dict)  # every enabled rule, by id
    # one conversation per issue for the whole run, shared by every rule's context
    conversations: dict[tuple[int, str, int], Conversation] = field(default_factory=dict)

    def conversation(self, issue: IssueView) -> Conversation:
        """The issue as a conversation, built once per candidate and shared by all rules."""
        key = (issue.id, issue.summary.raw_updated_on, len(issue.journals))
        if key not in self.conversations:
            self.conversations[key] = Conversation.of(issue, self.directory, self.settings.statuses)
        return self.conversations[key]

    def peer_params(self, rule_id: str) -> Any:
        """Another enabled rule's parameters (None when it is disabled): texts that promise
        what that rule will do quote its real settings."""
        peer = self.peers.get(rule_id)
        return peer.params if peer is not None else None

    def watchers_of(self, issue: IssueView) -> set[int]:
        return set(issue.watchers)

    @property
    def params(self) -> Any:
        return self.rule.params

    def render(self, template: str, **values: Any) -> str:
        """Fill a template from policies.yaml; unknown placeholders stay visible, never crash."""
        text = self.rule.templates.get(template, "")
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
        return text.format_map(_SafeDict({k: v for k, v in values.items() if k in names}))
