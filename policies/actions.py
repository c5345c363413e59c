"""What a sweep would do, as values: `Action` (planned) and `Outcome` (what applying did).

A plan is a list of actions; it is printed, saved to JSON, and applied later by `apply`,
which re-checks each action's precondition (the issue's `updated_on` at planning time and
the rule's marker) so a changed issue is skipped, never overwritten.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

# comment: public note · note: private note to support · close/set-status: change status (with
# a note) · watch: add watchers · assign: set the assignee · count: set fields only (a complaint
# counted) · flag: report only, writes nothing
ActionKind = Literal["comment", "note", "close", "set-status", "watch", "assign", "count", "flag"]
WRITING: frozenset[str] = frozenset({"comment", "note", "close", "set-status", "watch", "assign", "count"})

OutcomeKind = Literal["ok", "skipped", "error", "refused"]  # refused: a saved plan's line no rule produces


@dataclass(frozen=True)
class Action:
    """One thing one rule wants done to one issue, and why."""

    rule: str
    issue: int
    action: ActionKind
    reason: str
    marker: str | None = None          # written into the note; its presence means "done"
    notes: str | None = None
    private: bool = False
    status: str | None = None          # status name to set
    users: tuple[int, ...] = ()        # watchers to add / the assignee
    expect_updated_on: str = ""        # the issue's updated_on when planned (precondition)
    expect_status: str = ""
    sla: str | None = None             # "breached" / "at-risk" for the SLA rules
    deadline: str | None = None
    times: dict[str, str] = field(default_factory=dict)   # what the rule computed, for people
    evidence: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)  # custom field id -> value, set with the note

    @property
    def writes(self) -> bool:
        return self.action in WRITING

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["users"] = list(self.users)
        data["evidence"] = list(self.evidence)
        return {k: v for k, v in data.items() if v not in (None, "", [], {}) or k in ("rule", "issue")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Action:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["users"] = tuple(values.get("users", ()))
        values["evidence"] = tuple(values.get("evidence", ()))
        return cls(**values)


@dataclass(frozen=True)
class Outcome:
    action: Action
    outcome: OutcomeKind
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.action.rule, "issue": self.action.issue, "action": self.action.action,
                "outcome": self.outcome, "reason": self.reason}


@dataclass(frozen=True)
class Plan:
    """The result of planning: actions plus what it cost and when it was computed for."""

    now: str
    actions: tuple[Action, ...]
    requests: int = 0
    candidates: int = 0
    rules: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"now": self.now, "rules": list(self.rules), "candidates": self.candidates,
                "requests": self.requests, "actions": [a.to_json() for a in self.actions]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(now=str(data.get("now", "")), rules=tuple(data.get("rules", ())),
                   actions=tuple(Action.from_json(a) for a in data.get("actions", [])))
