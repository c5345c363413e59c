"""The sweep tests' in-memory Redmine, plus what the simulated people do that it lacks:
a reply that is only a file, and a press of «Пожаловаться на задержку».

A year of cron runs lists the same issues some 30,000 times each, so the simulated Redmine
answers /issues.json from an index by status and keeps one list row per issue version; the
answers (rows, their order, the request counts) are the sweep fake's. `versions` counts every
change of an issue, so a reader can tell an unchanged issue (tests/sim/memo.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.unit.test_sweep_fake import CLIENT, CUSTOM_FIELDS, STATUSES, SUPPORT, FakeRedmine, _parse, z

__all__ = ["CLIENT", "SUPPORT", "SimRedmine"]

BUTTON = CUSTOM_FIELDS["Пожаловаться на задержку"]
COUNTER = CUSTOM_FIELDS["Жалобы на задержку"]
OPEN = frozenset(i for i, _, closed in STATUSES if not closed)
CLOSED = frozenset(i for i, _, closed in STATUSES if closed)
LISTED_OUT = ("journals", "watchers", "attachments")


@dataclass
class SimRedmine(FakeRedmine):
    versions: dict[int, int] = field(default_factory=dict)
    by_status: dict[int, set[int]] = field(default_factory=dict)
    _rows: dict[int, tuple[int, dict[str, Any], datetime, datetime]] = field(default_factory=dict)

    def add_issue(self, **kwargs: Any) -> int:
        issue_id = super().add_issue(**kwargs)
        self.issues[issue_id]["custom_fields"] += [
            {"id": BUTTON, "name": "Пожаловаться на задержку", "value": "0"},
            {"id": COUNTER, "name": "Жалобы на задержку", "value": "0"}]
        self.versions[issue_id] = 0
        self.by_status.setdefault(self.issues[issue_id]["status"]["id"], set()).add(issue_id)
        return issue_id

    def journal(self, issue_id: int, at: datetime, **kwargs: Any) -> int:
        before = self.issues[issue_id]["status"]["id"]
        journal = super().journal(issue_id, at, **kwargs)
        after = self.issues[issue_id]["status"]["id"]
        if after != before:
            self.by_status[before].discard(issue_id)
            self.by_status.setdefault(after, set()).add(issue_id)
        self.versions[issue_id] += 1
        return journal

    def post(self, path: str, payload: dict[str, Any], **kwargs: Any) -> dict:
        answer = super().post(path, payload, **kwargs)
        self.versions[int(path.split("/")[2])] += 1
        return answer

    def attach(self, issue_id: int, at: datetime, *, user: int = CLIENT) -> int:
        """A journal with a file and no text (what Redmine writes for an upload alone)."""
        issue = self.issues[issue_id]
        attachment = len(issue["attachments"]) + 1 + 1000 * issue_id
        issue["attachments"].append({"id": attachment, "filename": f"screen{attachment}.png",
                                     "content_type": "image/png", "created_on": z(at),
                                     "author": {"id": user, "name": f"user{user}"}})
        journal = self.journal(issue_id, at, user=user)
        issue["journals"][-1]["details"].append({"property": "attachment", "name": str(attachment),
                                                 "old_value": None, "new_value": f"screen{attachment}.png"})
        return journal

    def press(self, issue_id: int, at: datetime, *, user: int = CLIENT) -> int:
        """The client ticks the complaint button (a boolean custom field)."""
        return self.journal(issue_id, at, user=user, fields={BUTTON: "1"})

    # --- /issues.json, indexed --------------------------------------------------------------
    def iterate(self, path: str, key: str, params: Any = None, **kwargs: Any) -> Any:
        params = dict(params or {})
        if path != "/issues.json" or ("project_id" in params and params["project_id"] not in self.projects):
            yield from super().iterate(path, key, params, **kwargs)
            return
        keep = _filter(params)
        rows = [row for issue_id in sorted(self._ids(params.get("status_id", "open")))
                if keep(row := self._row(issue_id))]
        self.stats.by_method["GET"] += max(1, -(-len(rows) // 100))
        for row in rows:
            yield row[0]

    def _ids(self, status: str) -> Iterator[int]:
        wanted = OPEN if status == "open" else CLOSED if status == "closed" else \
            frozenset(self.by_status) if status == "*" else frozenset(int(s) for s in status.split("|"))
        for sid in wanted:
            yield from self.by_status.get(sid, ())

    def _row(self, issue_id: int) -> tuple[dict[str, Any], datetime, datetime]:
        """The issue as /issues.json lists it (no journals), with its parsed dates."""
        version = self.versions[issue_id]
        cached = self._rows.get(issue_id)
        if cached is None or cached[0] != version:
            issue = self.issues[issue_id]
            row = {k: v for k, v in issue.items() if k not in LISTED_OUT}
            cached = (version, row, _parse(issue["created_on"]), _parse(issue["updated_on"]))
            self._rows[issue_id] = cached
        return cached[1], cached[2], cached[3]


def _filter(params: dict[str, str]) -> Callable[[tuple[dict[str, Any], datetime, datetime]], bool]:
    """FakeRedmine._matches for rows already chosen by status: tracker, project and dates,
    the parameters parsed once per list."""
    trackers = params["tracker_id"].split("|") if "tracker_id" in params else None
    project = params.get("project_id")
    bounds: list[tuple[int, datetime | None, datetime | None]] = []
    for position, name in ((1, "created_on"), (2, "updated_on")):
        value = params.get(name)
        if value is None:
            continue
        if value.startswith("<="):
            bounds.append((position, None, _parse(value[2:])))
        elif value.startswith(">="):
            bounds.append((position, _parse(value[2:]), None))
        elif value.startswith("><"):
            low, high = value[2:].split("|")
            bounds.append((position, _parse(low), _parse(high)))

    def keep(row: tuple[dict[str, Any], datetime, datetime]) -> bool:
        issue = row[0]
        if trackers is not None and str(issue["tracker"]["id"]) not in trackers:
            return False
        if project is not None and issue["project"]["identifier"] != project:
            return False
        for position, low, high in bounds:
            moment = row[position]
            if (low is not None and moment < low) or (high is not None and moment > high):
                return False
        return True

    return keep
