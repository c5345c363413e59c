"""The labelled corpus of tests/data/audit_corpus.yaml (and its batch files) and how the audits
are scored on it.

Shared by tests/unit/test_text_audits.py (floors), bench/audits.py (before/after tables) and
scripts/build_audit_model.py (trains on tuning batches only). The split is by batch: every entry
carries its batch's role, `tuning` or `unseen`. Scoring takes the audits module as a parameter
so the bench can score today's module and the baseline side by side.
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
Role = Literal["tuning", "unseen"]


class Batch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    file: str | None  # None: the entries of the corpus file itself
    role: Role
    written: str
    brief: str
    author: str = ""


class Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    batch: str = "b00"
    split: Role = "tuning"  # the batch's role, set by load_corpus
    why: str | None = None
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
    why_codes: dict[str, str]
    batches: list[Batch] = Field(min_length=1)
    entries: list[dict[str, Any]] = Field(min_length=1)


class BatchFile(BaseModel):
    defaults: dict[str, Any] = {}
    entries: list[dict[str, Any]] = Field(min_length=1)


def load_batches(path: Path = CORPUS_PATH) -> list[Batch]:
    return Corpus.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).batches


def load_corpus(path: Path = CORPUS_PATH) -> list[Entry]:
    """Every entry of every batch, each with its batch id and role (`split`)."""
    corpus = Corpus.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    entries: list[Entry] = []
    for batch in corpus.batches:
        if batch.file is None:
            raw, defaults = corpus.entries, {}
        else:
            batch_file = BatchFile.model_validate(
                yaml.safe_load((path.parent / batch.file).read_text(encoding="utf-8")))
            raw, defaults = batch_file.entries, batch_file.defaults
        for item in raw:
            entry = Entry.model_validate({**defaults, **item, "batch": batch.id, "split": batch.role})
            if batch.file is not None and not entry.id.startswith(batch.id):
                raise ValueError(f"{batch.file}: entry {entry.id} does not start with its batch id {batch.id}")
            if entry.why is not None and entry.why not in corpus.why_codes:
                raise ValueError(f"{path}: entry {entry.id}: unknown why code {entry.why!r}")
            if entry.kind == "ticket" and (entry.tracker is None or entry.client is None or entry.priority is None):
                raise ValueError(f"{path}: ticket {entry.id} needs tracker, client and priority")
            if entry.kind == "ticket" and batch.file is None and entry.missing is None:
                raise ValueError(f"{path}: ticket {entry.id} of the corpus file needs missing")
            if entry.kind == "ticket" and batch.file is not None and entry.why is None:
                raise ValueError(f"{batch.file}: ticket {entry.id} needs a why code for its priority")
            entries.append(entry)
    ids = Counter(e.id for e in entries)
    duplicated = [i for i, n in ids.items() if n > 1]
    if duplicated:
        raise ValueError(f"{path}: duplicated ids {duplicated}")
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
    misfit_flags: int = 0       # flags on tickets whose priority is indeed wrong
    right_suggestions: int = 0  # … of which the suggested level is the regulation's

    @property
    def suggestion_right(self) -> float:
        """Of the flags raised on a real misfit, the share whose suggested priority is right."""
        return self.right_suggestions / self.misfit_flags if self.misfit_flags else 1.0


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
        if finding is not None and expected != NO_FLAG:
            p.misfit_flags += 1
            p.right_suggestions += right
        if finding is not None and not right:
            p.wrong.append(f"{entry.id}: {entry.client}->{suggested} ({finding.matched_rule}), label {entry.priority}")
        _count(p.flags, entry.id, finding is not None, expected != NO_FLAG, right)
        for level in LEVELS:
            _count(p.per_class[level], entry.id, suggested == level, expected == level, right)
        if entry.missing is None:  # completeness not labelled in this batch
            continue
        completeness = audits.audit_completeness(ticket, cfg)
        got = {m.check for m in completeness.missing} if completeness is not None else set()
        for check in CHECKS:
            scores.completeness[check].add(entry.id, check in entry.missing, check in got)
    return scores
