"""An in-memory Redmine with the gateway's interface, for sweep unit tests (no sockets).

It answers the few endpoints sweeps use and applies Redmine's server-side filters
(status_id, updated_on, created_on, project_id, tracker_id) so request counts mean what
they would against the real server. Writes add journals stamped at the fake's `now`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from helpdesk_core.errors import NotFoundError
from helpdesk_core.gateway import RequestStats
from helpdesk_core.provision import MARKER_FIELD

STATUSES = [(1, "На рассмотрении", False), (2, "В работе", False), (3, "Требует обратной связи", False),
            (4, "Решено, требует проверки", False), (5, "Закрыто", True), (6, "Отклонено", True)]
TRACKERS = [(1, "Баг"), (2, "Задача"), (3, "Обсуждение")]
PRIORITIES = {"Блокер": 1, "Критический": 2, "Высокий": 3, "Средний": 4, "Низкий": 5}
SUPPORT, CLIENT, ADMIN, ROLE_SUPPORT = 10, 20, 1, 30  # user ids
LOGINS = {SUPPORT: "support", CLIENT: "client", ADMIN: "admin", ROLE_SUPPORT: "rolesupport"}
MARKER = 43  # the support-only field the sweep's markers travel in (helpdesk_core.provision.MARKER_FIELD)
CUSTOM_FIELDS = {"Пожаловаться на задержку": 41, "Жалобы на задержку": 42, MARKER_FIELD: MARKER}


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class FakeRedmine:
    now: datetime
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    projects: dict[str, int] = field(default_factory=lambda: {"acme": 1, "other": 2})
    stats: RequestStats = field(default_factory=RequestStats)  # the gateway's own counters
    writes_allowed: bool = True
    priorities: dict[str, int] = field(default_factory=lambda: dict(PRIORITIES))
    _next_journal: int = 1000

    # --- building --------------------------------------------------------------------------
    def add_issue(self, *, created: datetime, status: str = "На рассмотрении", priority: str = "Средний",
                  tracker: str = "Баг", project: str = "acme", author: int = CLIENT, subject: str = "Тема",
                  description: str = "", issue_id: int | None = None) -> int:
        issue_id = issue_id or (max(self.issues, default=0) + 1)
        self.issues[issue_id] = {
            "id": issue_id, "project": {"id": self.projects[project], "name": project, "identifier": project},
            "tracker": {"id": dict((n, i) for i, n in TRACKERS)[tracker], "name": tracker},
            "status": self._status(status), "priority": {"id": self.priorities.get(priority, 99), "name": priority},
            "author": {"id": author, "name": f"user{author}"}, "subject": subject, "description": description,
            "created_on": z(created), "updated_on": z(created),
            "custom_fields": [{"id": MARKER, "name": MARKER_FIELD, "value": ""}], "journals": [],
            "attachments": [], "watchers": []}
        return issue_id

    def journal(self, issue_id: int, at: datetime, *, user: int = SUPPORT, notes: str = "",
                private: bool = False, status: str | None = None, fields: dict[int, str] | None = None,
                files: tuple[str, ...] = ()) -> int:
        issue = self.issues[issue_id]
        details: list[dict[str, Any]] = [{"property": "attachment", "name": str(900 + n), "old_value": None,
                                          "new_value": name} for n, name in enumerate(files)]
        for field_id, value in (fields or {}).items():
            current = next((f for f in issue["custom_fields"] if f["id"] == field_id), None)
            if current is None:
                current = {"id": field_id, "name": next(n for n, i in CUSTOM_FIELDS.items() if i == field_id),
                           "value": ""}
                issue["custom_fields"].append(current)
            if current["value"] != value:
                details.append({"property": "cf", "name": str(field_id), "old_value": current["value"],
                                "new_value": value})
                current["value"] = value
        if status is not None:
            details.append({"property": "attr", "name": "status_id", "old_value": str(issue["status"]["id"]),
                            "new_value": str(self._status(status)["id"])})
            issue["status"] = self._status(status)
        self._next_journal += 1
        issue["journals"].append({"id": self._next_journal, "user": {"id": user, "name": f"user{user}"},
                                  "notes": notes, "created_on": z(at), "private_notes": private,
                                  "details": details})
        issue["updated_on"] = z(max(at, _parse(issue["updated_on"])))
        return self._next_journal

    @staticmethod
    def _status(name: str) -> dict[str, Any]:
        for sid, sname, _ in STATUSES:
            if sname == name:
                return {"id": sid, "name": sname}
        raise KeyError(name)

    # --- gateway interface -----------------------------------------------------------------
    def get(self, path: str, params: Any = None, *, as_user: str | None = None) -> dict[str, Any]:
        self.stats.count("GET")  # locked: `sweep plan --workers N` reads from N threads
        if path == "/issue_statuses.json":
            return {"issue_statuses": [{"id": i, "name": n, "is_closed": c} for i, n, c in STATUSES]}
        if path == "/trackers.json":
            return {"trackers": [{"id": i, "name": n} for i, n in TRACKERS]}
        if path == "/users/current.json":
            return {"user": {"id": ADMIN, "login": "admin"}}
        if path == "/groups.json":
            return {"groups": [{"id": 7, "name": "Сотрудники техподдержки"}]}
        if path == "/users.json":
            name = (params or {}).get("name")
            return {"users": [{"id": i, "login": login} for i, login in LOGINS.items() if login == name]}
        if path == "/enumerations/issue_priorities.json":
            return {"issue_priorities": [{"id": i, "name": n} for n, i in self.priorities.items()]}
        if path == "/custom_fields.json":
            return {"custom_fields": [{"id": i, "name": n, "customized_type": "issue"}
                                      for n, i in CUSTOM_FIELDS.items()]}
        if path == "/groups/7.json":
            return {"group": {"id": 7, "users": [{"id": SUPPORT, "name": "support"}]}}
        if path.startswith("/issues/"):
            issue_id = int(path.split("/")[2].split(".")[0])
            if issue_id not in self.issues:
                raise NotFoundError("not found", method="GET", path=path, status=404)
            return {"issue": self.issues[issue_id]}
        raise NotFoundError("unexpected", method="GET", path=path, status=404)

    def iterate(self, path: str, key: str, params: Any = None, **_: Any) -> Any:
        params = dict(params or {})
        if path == "/groups.json":
            self.stats.by_method["GET"] += 1
            yield from [{"id": 7, "name": "Сотрудники техподдержки"}]
            return
        if path.endswith("/memberships.json"):
            self.stats.by_method["GET"] += 1
            yield from [{"user": {"id": ROLE_SUPPORT}, "roles": [{"name": "Техподдержка"}]},
                        {"user": {"id": CLIENT}, "roles": [{"name": "Клиент"}]}]
            return
        assert path == "/issues.json", path
        if "project_id" in params and params["project_id"] not in self.projects:
            self.stats.by_method["GET"] += 1
            raise NotFoundError("not found", method="GET", path=path, status=404)  # as Redmine answers
        rows = [i for i in self.issues.values() if self._matches(i, params)]
        rows.sort(key=lambda i: i["id"])
        pages = max(1, -(-len(rows) // 100))
        self.stats.by_method["GET"] += pages
        for row in rows:
            yield {k: v for k, v in row.items() if k not in ("journals", "watchers", "attachments")}

    def _matches(self, issue: dict[str, Any], params: dict[str, str]) -> bool:
        closed = {i for i, _, c in STATUSES if c}
        status = params.get("status_id", "open")
        sid = issue["status"]["id"]
        if status == "open" and sid in closed or status == "closed" and sid not in closed:
            return False
        if status not in ("open", "closed", "*") and str(sid) not in status.split("|"):
            return False
        if "tracker_id" in params and str(issue["tracker"]["id"]) not in params["tracker_id"].split("|"):
            return False
        if "project_id" in params and issue["project"]["identifier"] != params["project_id"]:
            return False
        for name in ("updated_on", "created_on"):
            if name not in params:
                continue
            value, moment = params[name], _parse(issue[name])
            if value.startswith("<=") and moment > _parse(value[2:]):
                return False
            if value.startswith(">=") and moment < _parse(value[2:]):
                return False
            if value.startswith("><"):
                low, high = value[2:].split("|")
                if not _parse(low) <= moment <= _parse(high):
                    return False
        return True

    def put(self, path: str, payload: dict[str, Any], *, as_user: str | None = None, recover: Any = None) -> dict:
        assert self.writes_allowed
        self.stats.by_method["PUT"] += 1
        issue_id = int(path.split("/")[2].split(".")[0])
        body = payload["issue"]
        status = next((n for i, n, _ in STATUSES if i == body.get("status_id")), None)
        user = next((i for i, login in LOGINS.items() if login == as_user), ADMIN)
        if "assigned_to_id" in body:
            self.issues[issue_id]["assigned_to"] = {"id": body["assigned_to_id"]}
        self.journal(issue_id, self.now, user=user, notes=body.get("notes", ""),
                     private=bool(body.get("private_notes")), status=status,
                     fields={int(f["id"]): str(f["value"]) for f in body.get("custom_fields", [])})
        return {}

    def post(self, path: str, payload: dict[str, Any], *, as_user: str | None = None, recover: Any = None) -> dict:
        assert self.writes_allowed
        self.stats.by_method["POST"] += 1
        issue_id = int(path.split("/")[2])
        self.issues[issue_id]["watchers"].append({"id": payload["user_id"]})
        return {}


def test_fake_filters_by_status_and_dates() -> None:
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    fake = FakeRedmine(now)
    old = fake.add_issue(created=datetime(2026, 11, 1, tzinfo=UTC), status="Требует обратной связи")
    fake.add_issue(created=datetime(2026, 11, 27, tzinfo=UTC))
    rows = list(fake.iterate("/issues.json", "issues", {"status_id": "3", "updated_on": "<=2026-11-20T00:00:00Z"}))
    assert [r["id"] for r in rows] == [old]
