"""What a migration run found and did: counts per object and verb, and every finding.

`plan` and `run` return the same `MigrationResult`; in a plan the verbs mean "would".
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Literal

from pydantic import BaseModel, Field

Kind = Literal["project", "user", "membership", "issue", "journal", "attachment", "time_entry",
               "complaint", "category", "lock", "status"]
Verb = Literal["create", "match", "update", "skip", "fail"]
FindingCategory = Literal["bad-record", "unmapped-value", "login-collision", "attachment", "authorship",
                          "existing-account", "project-ambiguous", "ledger-conflict",
                          "workflow", "write-failed", "count-mismatch", "text-cleaned", "time-entry"]
KINDS: tuple[Kind, ...] = ("project", "user", "membership", "issue", "journal", "attachment", "time_entry",
                           "complaint", "category", "lock", "status")
VERBS: tuple[Verb, ...] = ("create", "match", "update", "skip", "fail")


class Finding(BaseModel):
    """Something an administrator must know: a bad record, an unmapped value, a lost file...

    `file`, `line`, `id`, `field` locate it in the export where that makes sense.
    """

    category: FindingCategory
    reason: str
    file: str | None = None
    line: int | None = None
    id: str | None = None
    field: str | None = None


EXAMPLES_PER_CATEGORY = 200  # beyond this, findings other than bad records are only counted


class MigrationResult(BaseModel):
    dry_run: bool
    export: str
    ledger: str
    counts: dict[str, dict[str, int]] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list)
    finding_counts: dict[str, int] = Field(default_factory=dict)
    unmapped: dict[str, dict[str, int]] = Field(default_factory=dict)
    notifications: Literal["on", "off", "unknown"] = "unknown"
    notification_emails_estimate: int = 0
    requests: dict[str, int] = Field(default_factory=dict)
    seconds: float = 0.0
    tickets_read: int = 0
    rejects: str | None = None  # the directory holding the bad lines whole (migrator.rejects), if written

    def count(self, kind: str, verb: str) -> int:
        return self.counts.get(kind, {}).get(verb, 0)


class Tally:
    """Thread-safe counters and findings while the run is going."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.findings: list[Finding] = []
        self.finding_counts: Counter[str] = Counter()
        self.unmapped: Counter[tuple[str, str]] = Counter()

    def add(self, kind: Kind, verb: Verb, n: int = 1) -> None:
        with self._lock:
            self.counts[(kind, verb)] += n

    def find(self, finding: Finding) -> None:
        """Every bad record is kept; other findings repeat per ticket, so past a few hundred
        examples per category they are only counted (memory stays flat on 10^6 tickets)."""
        with self._lock:
            self.finding_counts[finding.category] += 1
            if finding.category == "bad-record" or self.finding_counts[finding.category] <= EXAMPLES_PER_CATEGORY:
                self.findings.append(finding)

    def unmapped_value(self, field: str, value: str) -> None:
        with self._lock:
            self.unmapped[(field, value)] += 1

    def counts_dict(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}
        for (kind, verb), n in sorted(self.counts.items()):
            table.setdefault(kind, {})[verb] = n
        return table

    def unmapped_dict(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}
        for (field, value), n in sorted(self.unmapped.items()):
            table.setdefault(field, {})[value] = n
        return table
