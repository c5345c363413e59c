"""What the simulated cron remembers between its runs: each issue parsed once per version.

A real cron run reads every candidate afresh (its process is new). The simulated year makes
some 30,000 runs per shard against one in-memory Redmine whose issues mostly do not change
between two runs, and re-parsing them (pydantic models, the conversation) was most of its
cost. `MemoSweeper` is the engine's `Sweeper` with one difference: an issue whose version
(tests/sim/fake.py counts every change) is the one it parsed before is handed out as the same
frozen `IssueView`, its list row as the same `Summary`, and its conversation is reused. Rules
still judge every candidate at every run, at that run's moment: only the parsing is saved.
Valid because the simulated Redmine's statuses and sweep users never change during a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.engine import Sweeper
from policies.issues import IssueView, Summary


@dataclass
class Memo:
    views: dict[int, tuple[int, IssueView | None]] = field(default_factory=dict)
    summaries: dict[int, tuple[int, Summary]] = field(default_factory=dict)
    conversations: dict[Any, Any] = field(default_factory=dict)

    def forget(self, issue_id: int) -> None:
        """The issue changed: its old conversation is not reused (its key may not show it)."""
        for key in [k for k in self.conversations if k[0] == issue_id]:
            del self.conversations[key]


@dataclass
class MemoSweeper(Sweeper):
    memo: Memo = field(default_factory=Memo)

    def __post_init__(self) -> None:
        self.conversations = self.memo.conversations

    def _fetch(self, issue_id: int) -> IssueView | None:
        version = self.gateway.versions.get(issue_id)
        known = self.memo.views.get(issue_id)
        if known is not None and known[0] == version:
            self.gateway.stats.count("GET")
            return known[1]
        view = super()._fetch(issue_id)
        self.memo.forget(issue_id)
        self.memo.views[issue_id] = (version, view)
        return view

    def _summary(self, row: dict[str, Any]) -> Summary:
        version = self.gateway.versions[row["id"]]
        known = self.memo.summaries.get(row["id"])
        if known is None or known[0] != version:
            known = (version, Summary.from_json(row))
            self.memo.summaries[row["id"]] = known
        return known[1]
