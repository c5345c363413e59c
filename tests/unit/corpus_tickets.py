"""The labelled corpus of tests/data/audit_corpus.yaml and how the audits are scored on it.

Shared by tests/unit/test_text_audits.py (floors) and bench/audits.py (before/after tables).
Scoring takes the audits module as a parameter so the bench can score today's module and the
one before issue 12 side by side.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

CORPUS_PATH = Path(__file__).resolve().parent.parent / "data" / "audit_corpus.yaml"
LEVELS = ("Блокер", "Критический", "Высокий", "Средний", "Низкий")
CANNOT_TELL = "cannot tell"
NO_FLAG = "—"
CHECKS = ("order_numbers", "account", "page_link", "browser_version", "gds_screenshots")


class Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    split: Literal["dev", "holdout"]
    kind: Literal["ticket", "comment"]
    complaint: bool
    shouting: bool
    text: str
    subject: str = ""
    tracker: Literal["Баг", "Задача", "Обсуждение"] | None = None
    client: Literal[LEVELS] | None = None  # type: ignore[valid-type]
    priority: Literal[(*LEVELS, CANNOT_TELL)] | None = None  # type: ignore[valid-type]
    missing: list[Literal[CHECKS]] | None = None  # type: ignore[valid-type]
    fields: dict[str, str] = {}
    attachments: list[str] = []
    hard: str | None = None

    def body(self) -> str:
        """What the text audits read: subject and description, or the comment."""
        return f"{self.subject}\n{self.text}" if self.kind == "ticket" else self.text

    def ticket(self, audits: ModuleType) -> Any:
        return audits.TicketText(
            subject=self.subject, description=self.text, tracker=self.tracker or "", priority=self.client or "",
            attachments=[audits.Attachment(filename=name) for name in self.attachments],
            custom_fields=dict(self.fields))


class Corpus(BaseModel):
    entries: list[Entry] = Field(min_length=1)


def load_corpus(path: Path = CORPUS_PATH) -> list[Entry]:
    entries = Corpus.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).entries
    ids = Counter(e.id for e in entries)
    duplicated = [i for i, n in ids.items() if n > 1]
    if duplicated:
        raise ValueError(f"{path}: duplicated ids {duplicated}")
    for e in entries:
        if e.kind == "ticket" and (e.tracker is None or e.client is None or e.priority is None or e.missing is None):
            raise ValueError(f"{path}: ticket {e.id} needs tracker, client, priority and missing")
    return entries


# --- scoring -------------------------------------------------------------------------------

@dataclass
class Binary:
    """Precision/recall of one yes/no decision, with the ids behind each error."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    false_positives: list[str] = field(default_factory=list)
    false_negatives: list[str] = field(default_factory=list)

    def add(self, entry_id: str, expected: bool, got: bool) -> None:
        if expected and got:
            self.tp += 1
        elif got:
            self.fp += 1
            self.false_positives.append(entry_id)
        elif expected:
            self.fn += 1
            self.false_negatives.append(entry_id)
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class PriorityScore:
    """A flag is right when the labelled priority differs from the client's and the
    suggestion equals the label; every other flag is wrong (including on "cannot tell")."""

    flags: Binary = field(default_factory=Binary)
    per_class: dict[str, Binary] = field(default_factory=lambda: {level: Binary() for level in LEVELS})
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (expected, suggested)
    wrong: list[str] = field(default_factory=list)


@dataclass
class Scores:
    priority: PriorityScore = field(default_factory=PriorityScore)
    complaint: Binary = field(default_factory=Binary)
    shouting: Binary = field(default_factory=Binary)
    completeness: dict[str, Binary] = field(default_factory=lambda: {check: Binary() for check in CHECKS})

    def completeness_total(self) -> Binary:
        total = Binary()
        for b in self.completeness.values():
            total.tp, total.fp, total.fn, total.tn = total.tp + b.tp, total.fp + b.fp, total.fn + b.fn, total.tn + b.tn
        return total


def _count(b: Binary, entry_id: str, flagged: bool, expected: bool, right: bool) -> None:
    """tp: right flags; fp: other flags; fn: expected flags not made right."""
    if flagged and right:
        b.tp += 1
    elif flagged:
        b.fp += 1
        b.false_positives.append(entry_id)
    if expected and not right:
        b.fn += 1
        b.false_negatives.append(entry_id)
    if not flagged and not expected:
        b.tn += 1


def expected_flag(entry: Entry) -> str:
    """The suggestion a right priority flag makes, or NO_FLAG."""
    if entry.priority in (None, CANNOT_TELL) or entry.priority == entry.client:
        return NO_FLAG
    return str(entry.priority)


def score(audits: ModuleType, cfg: Any, entries: list[Entry]) -> Scores:
    """Run the four audits of `audits` (a module with today's function names) over `entries`."""
    scores = Scores()
    for entry in entries:
        body = entry.body()
        scores.complaint.add(entry.id, entry.complaint, audits.audit_delay_complaint(body, cfg) is not None)
        scores.shouting.add(entry.id, entry.shouting, audits.audit_tone(body, cfg) is not None)
        if entry.kind != "ticket":
            continue
        ticket = entry.ticket(audits)
        finding = audits.audit_priority(ticket, cfg)
        suggested = finding.suggested if finding is not None else NO_FLAG
        expected = expected_flag(entry)
        p = scores.priority
        p.confusion[(expected if expected != NO_FLAG else NO_FLAG, suggested)] += 1
        right = expected != NO_FLAG and suggested == expected
        if finding is not None and not right:
            p.wrong.append(f"{entry.id}: {entry.client}->{suggested} ({finding.matched_rule}), label {entry.priority}")
        _count(p.flags, entry.id, finding is not None, expected != NO_FLAG, right)
        for level in LEVELS:
            _count(p.per_class[level], entry.id, suggested == level, expected == level, right)
        completeness = audits.audit_completeness(ticket, cfg)
        got = {m.check for m in completeness.missing} if completeness is not None else set()
        for check in CHECKS:
            scores.completeness[check].add(entry.id, check in (entry.missing or []), check in got)
    return scores
