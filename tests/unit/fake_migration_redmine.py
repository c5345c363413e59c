"""An in-memory Redmine with the gateway's interface, for migrator unit tests (no sockets).

It answers what `migrator.live`, the engine and verify ask, with Redmine's rules that matter to
them: impersonation of a locked account fails (412), a note is stamped with the user who wrote it
and the attribute changes it made (`details`), a status change the workflow does not allow
(`refused`) is ignored without a word as Redmine does (204), custom fields filter issues and carry
recognition keys on projects and users, and every write is logged (`writes`, and every read of
one issue in `issue_reads`) so a test can say "a plan writes nothing" by counting.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from helpdesk_core.errors import ImpersonationError, NotFoundError, ValidationFailed
from helpdesk_core.gateway import RequestStats
from helpdesk_core.mappings import Mappings, load_mappings
from helpdesk_core.provision import NOTIFICATIONS_MARKER_FIELD

Json = dict[str, Any]
ADMIN = 1


@dataclass
class FakeRedmine:
    mappings: Mappings = field(default_factory=load_mappings)
    stats: RequestStats = field(default_factory=RequestStats)
    writes: list[tuple[str, str]] = field(default_factory=list)
    users: dict[int, Json] = field(default_factory=dict)
    projects: dict[int, Json] = field(default_factory=dict)
    issues: dict[int, Json] = field(default_factory=dict)
    time_entries: dict[int, Json] = field(default_factory=dict)
    memberships: dict[int, dict[int, set[int]]] = field(default_factory=dict)  # project -> principal -> roles
    group_users: set[int] = field(default_factory=set)
    uploads: dict[str, Json] = field(default_factory=dict)
    refused: set[tuple[int, int, int]] = field(default_factory=set)  # (tracker, from, to) ids the workflow denies
    issue_reads: list[int] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(100))

    def __post_init__(self) -> None:
        m = self.mappings
        self.statuses = {s.name: i for i, s in enumerate(m.statuses, start=1)}
        self.trackers = {t.name: i for i, t in enumerate(m.trackers, start=1)}
        self.priorities = {p.name: i for i, p in enumerate(m.priorities, start=1)}
        self.activities = {a.name: i for i, a in enumerate(m.time_entry_activities, start=1)}
        self.roles = {m.roles.client.name: 3, m.roles.support.name: 4}
        self.group = 50
        fields: list[Json] = []
        for spec in m.custom_fields.by_key().values():
            fields.append({"name": spec.name, "customized_type": "issue"})
        for spec in m.project_custom_fields.by_key().values():
            fields.append({"name": spec.name, "customized_type": "project"})
        for spec in m.user_custom_fields.by_key().values():
            fields.append({"name": spec.name, "customized_type": "user"})
        for spec in m.time_entry_custom_fields.by_key().values():
            fields.append({"name": spec.name, "customized_type": "time_entry", "visible": False})
        fields.append({"name": NOTIFICATIONS_MARKER_FIELD, "customized_type": "issue", "default_value": "off"})
        self.fields = [{**f, "id": i} for i, f in enumerate(fields, start=1)]
        self.field = {(f["customized_type"], f["name"]): f["id"] for f in self.fields}
        self.users[ADMIN] = {"id": ADMIN, "login": "admin", "admin": True, "mail": "admin@example.net",
                             "status": 1, "custom_fields": []}

    # --- building -------------------------------------------------------------------------------
    def add_user(self, login: str, mail: str, *, admin: bool = False, status: int = 1, portal_id: str | None = None
                 ) -> int:
        uid = next(self._ids)
        cf = self.field[("user", self.mappings.user_custom_fields.portal_user_id.name)]
        self.users[uid] = {"id": uid, "login": login, "mail": mail, "admin": admin, "status": status,
                           "custom_fields": [{"id": cf, "value": portal_id}]}
        return uid

    def add_project(self, name: str, identifier: str, company_id: str | None = None) -> int:
        pid = next(self._ids)
        cf = self.field[("project", self.mappings.project_custom_fields.company_id.name)]
        domains = self.field[("project", self.mappings.project_custom_fields.email_domains.name)]
        self.projects[pid] = {"id": pid, "name": name, "identifier": identifier,
                              "custom_fields": [{"id": cf, "value": company_id}, {"id": domains, "value": ""}]}
        self.memberships[pid] = {}
        return pid

    def add_note(self, issue_id: int, user_id: int, notes: str, details: list[Json] | None = None) -> int:
        jid = next(self._ids)
        self.issues[issue_id]["journals"].append({"id": jid, "user": {"id": user_id}, "notes": notes,
                                                  "private_notes": False, "details": details or []})
        return jid

    # --- the gateway's interface -------------------------------------------------------------------
    def _who(self, as_user: str | None) -> int:
        if as_user is None:
            return ADMIN
        user = next((u for u in self.users.values() if u["login"] == as_user), None)
        if user is None or user["status"] != 1:
            raise ImpersonationError("412", method="*", path="", status=412)
        return int(user["id"])

    def get(self, path: str, params: Any = None, *, as_user: str | None = None) -> Json:
        self.stats.by_method["GET"] += 1
        p = dict(params or {})
        if path == "/users/current.json":
            return {"user": self.users[ADMIN]}
        if path == "/issue_statuses.json":
            closed = self.mappings.closed_statuses
            return {"issue_statuses": [{"id": i, "name": n, "is_closed": n in closed}
                                       for n, i in self.statuses.items()]}
        if path == "/trackers.json":
            return {"trackers": [{"id": i, "name": n} for n, i in self.trackers.items()]}
        if path == "/enumerations/issue_priorities.json":
            return {"issue_priorities": [{"id": i, "name": n} for n, i in self.priorities.items()]}
        if path == "/enumerations/time_entry_activities.json":
            return {"time_entry_activities": [{"id": i, "name": n} for n, i in self.activities.items()]}
        if path == "/custom_fields.json":
            return {"custom_fields": self.fields}
        if path == "/roles.json":
            return {"roles": [{"id": i, "name": n} for n, i in self.roles.items()]}
        if path == "/groups.json":
            return {"groups": [{"id": self.group, "name": self.mappings.support_group}]}
        if path == f"/groups/{self.group}.json":
            return {"group": {"id": self.group, "users": [{"id": u} for u in sorted(self.group_users)]}}
        if match := re.fullmatch(r"/projects/([^/]+)\.json", path):
            found = [pr for pr in self.projects.values() if str(pr["id"]) == match[1] or pr["identifier"] == match[1]]
            if not found:
                raise NotFoundError("404", method="GET", path=path, status=404)
            return {"project": found[0]}
        if match := re.fullmatch(r"/issues/(\d+)\.json", path):
            if int(match[1]) not in self.issues:
                raise NotFoundError("404", method="GET", path=path, status=404)
            self.issue_reads.append(int(match[1]))
            return {"issue": self.issues[int(match[1])]}
        if match := re.fullmatch(r"/users/(\d+)\.json", path):
            return {"user": self.users[int(match[1])]}
        return {key: list(self._collection(path, key, p)) for key in [path.rsplit("/", 1)[-1].removesuffix(".json")]}

    def iterate(self, path: str, key: str, params: Any = None, *, as_user: str | None = None,
                page_size: int = 100) -> Any:
        self.stats.by_method["GET"] += 1
        yield from self._collection(path, key, dict(params or {}))

    def _collection(self, path: str, key: str, p: Json) -> Any:
        if path == "/projects.json":
            yield from self.projects.values()
        elif path == "/users.json":
            status = p.get("status", 1)
            for user in self.users.values():
                if status == 3 and user["status"] != 3 or status == 1 and user["status"] != 1:
                    continue
                if p.get("name") and p["name"].lower() not in (user["mail"].lower(), user["login"].lower()):
                    continue
                yield {k: v for k, v in user.items() if k != "status"}
        elif path == "/issues.json":
            cf = next((k for k in p if k.startswith("cf_")), None)
            for issue in self.issues.values():
                if "project_id" in p and issue["project"]["id"] != p["project_id"]:
                    continue
                if cf is not None:
                    value = next((v["value"] for v in issue["custom_fields"] if v["id"] == int(cf[3:])), None)
                    if not value or (p[cf] != "*" and value != p[cf]):
                        continue
                yield issue
        elif match := re.fullmatch(r"/projects/(\d+)/memberships\.json", path):
            for principal in self.memberships.get(int(match[1]), {}):
                kind = "group" if principal == self.group else "user"
                yield {kind: {"id": principal}}
        elif re.fullmatch(r"/projects/(\d+)/issue_categories\.json", path):
            yield from ()
        elif path == "/time_entries.json":
            yield from (e for e in self.time_entries.values() if e["issue"]["id"] == p.get("issue_id"))
        else:
            raise NotFoundError("404", method="GET", path=path, status=404)

    def post(self, path: str, payload: Json, *, as_user: str | None = None, recover: Any = None) -> Json:
        self.stats.by_method["POST"] += 1
        self.writes.append(("POST", path))
        who = self._who(as_user)
        if path == "/projects.json":
            data = payload["project"]
            if any(p["identifier"] == data["identifier"] for p in self.projects.values()):
                raise ValidationFailed("422", method="POST", path=path, status=422, errors=["Identifier taken"])
            pid = self.add_project(data["name"], data["identifier"])
            self.projects[pid]["custom_fields"] = [dict(v) for v in data.get("custom_fields", [])]
            return {"project": self.projects[pid]}
        if path == "/users.json":
            data = payload["user"]
            uid = self.add_user(data["login"], data["mail"])
            self.users[uid]["custom_fields"] = [dict(v) for v in data.get("custom_fields", [])]
            return {"user": self.users[uid]}
        if path == "/issues.json":
            data = payload["issue"]
            iid = next(self._ids)
            project = self.projects[data["project_id"]]
            self.issues[iid] = {
                "id": iid, "project": {"id": project["id"]}, "author": {"id": who},
                "tracker": {"id": data["tracker_id"], "name": self._name(self.trackers, data["tracker_id"])},
                "status": {"id": 1, "name": self._name(self.statuses, 1)},
                "priority": {"id": data["priority_id"], "name": self._name(self.priorities, data["priority_id"])},
                "subject": data["subject"], "description": data["description"],
                "custom_fields": [dict(v) for v in data.get("custom_fields", [])], "journals": [],
                "attachments": [self.uploads.pop(u["token"]) for u in data.get("uploads", [])]}
            return {"issue": self.issues[iid]}
        if match := re.fullmatch(r"/projects/(\d+)/memberships\.json", path):
            data = payload["membership"]
            self.memberships[int(match[1])].setdefault(data["user_id"], set()).update(data["role_ids"])
            return {}
        if path == f"/groups/{self.group}/users.json":
            self.group_users.add(payload["user_id"])
            return {}
        if path == "/time_entries.json":
            data = payload["time_entry"]
            eid = next(self._ids)
            self.time_entries[eid] = {"id": eid, "issue": {"id": data["issue_id"]}, "hours": float(data["hours"]),
                                      "user": {"id": data.get("user_id", who)}, "comments": data["comments"],
                                      "custom_fields": [dict(v) for v in data.get("custom_fields", [])]}
            return {"time_entry": self.time_entries[eid]}
        raise NotFoundError("404", method="POST", path=path, status=404)

    @staticmethod
    def _name(table: dict[str, int], wanted: int) -> str:
        return next(n for n, i in table.items() if i == wanted)

    def put(self, path: str, payload: Json, *, as_user: str | None = None, recover: Any = None) -> Json:
        self.stats.by_method["PUT"] += 1
        self.writes.append(("PUT", path))
        who = self._who(as_user)
        if match := re.fullmatch(r"/issues/(\d+)\.json", path):
            issue, data = self.issues[int(match[1])], payload["issue"]
            details = []
            old_status, new_status = issue["status"]["id"], data.get("status_id")
            if new_status is not None and new_status != old_status and \
                    (issue["tracker"]["id"], old_status, new_status) not in self.refused:
                issue["status"] = {"id": new_status, "name": self._name(self.statuses, new_status)}
                details.append({"property": "attr", "name": "status_id", "old_value": str(old_status),
                                "new_value": str(new_status)})
            if "assigned_to_id" in data:
                details.append({"property": "attr", "name": "assigned_to_id", "old_value": None,
                                "new_value": str(data["assigned_to_id"])})
                issue["assigned_to"] = {"id": data["assigned_to_id"]}
            if data.get("notes") or details:
                self.add_note(issue["id"], who, data.get("notes") or "", details)
                issue["journals"][-1]["private_notes"] = bool(data.get("private_notes"))
            if "priority_id" in data:
                issue["priority"] = {"id": data["priority_id"],
                                     "name": self._name(self.priorities, data["priority_id"])}
            if "project_id" in data:
                issue["project"] = {"id": data["project_id"]}
            issue["attachments"] += [self.uploads.pop(u["token"]) for u in data.get("uploads", [])]
            return {}
        if match := re.fullmatch(r"/users/(\d+)\.json", path):
            self.users[int(match[1])]["status"] = payload["user"]["status"]
            return {}
        if match := re.fullmatch(r"/projects/(\d+)\.json", path):
            self.projects[int(match[1])]["custom_fields"] = [dict(v) for v in payload["project"]["custom_fields"]]
            return {}
        raise NotFoundError("404", method="PUT", path=path, status=404)

    def upload(self, content: bytes, filename: str, *, as_user: str | None = None) -> str:
        self.stats.by_method["POST"] += 1
        self.writes.append(("POST", "/uploads.json"))
        self._who(as_user)
        token = f"tok{next(self._ids)}"
        self.uploads[token] = {"filename": filename, "filesize": len(content), "content_url": f"fake://{token}",
                               "sha": hashlib.sha256(content).hexdigest()}
        return token

    def download_sha256(self, url: str) -> str:
        return next(a["sha"] for i in self.issues.values() for a in i["attachments"] if a["content_url"] == url)
