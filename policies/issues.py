"""Redmine issues as the rules see them: list summaries, journals, status history, markers.

Parsed once from Redmine's JSON into frozen models, so rules never poke at raw dicts and a
field Redmine leaves out fails here, not deep in a rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

MARKER_RE = re.compile(r"\[helpdesk:([a-z0-9-]+):([^\]\s]+)\]")
# The first line of a migrated note: `_[portal:comment:M1] Name, 01.02.2026 10:00 МСК_`.
_PROVENANCE_LINE_RE = re.compile(r"_\[portal:[a-z-]+:[^\]\s]+\][^\n]*_")
# A migrated comment today: the marker out of sight (a link reference definition), then `_Name, date МСК_`.
_HIDDEN_PROVENANCE_RE = re.compile(r"\[portal:[a-z-]+:[^\]\s]+\]: #")
_HUMAN_PROVENANCE_RE = re.compile(r"_[^\n]*_")


def sweep_marker(notes: str | None) -> tuple[str, str] | None:
    """(rule, fingerprint) when `notes` has the shape of a sweep's note: its last line is
    exactly a marker (rules._with_marker puts it there) and its first line is not a migrated
    note's provenance line (the sweep never writes one).
    The shape alone is not enough: anyone can end a comment with a marker line. Only
    `journal_markers` (shape *and* the sweep's own author) decides."""
    lines = (notes or "").strip().splitlines()
    first = lines[0].strip() if lines else ""
    if not lines or _PROVENANCE_LINE_RE.fullmatch(first) or _HIDDEN_PROVENANCE_RE.fullmatch(first):
        return None
    found = MARKER_RE.fullmatch(lines[-1].strip())
    return (found[1], found[2]) if found else None


def marker(rule: str, fingerprint: object) -> str:
    """The machine-readable tag of one sweep act: which rule, for what. It travels in the
    sweep's own journal as the value of the support-only custom field `MARKER_FIELD` (never
    in the note a client reads); older trackers have it as the note's last line."""
    return f"[helpdesk:{rule}:{fingerprint}]"


def journal_markers(notes: str | None, details: Iterable[dict[str, Any]], sweep_author: bool) -> list[tuple[str, str]]:
    """The sweep markers one journal carries: the value a custom field was set to in it, or an
    old-style marker line of its note; none unless the sweep's own user wrote it (a client can
    neither see nor write the marker field, and a marker line in a client's note is forgery).
    The single test of "the sweep did this", for planning and for `apply` alike."""
    if not sweep_author:
        return []
    found = [(m[1], m[2]) for d in details if d.get("property") == "cf"
             for m in [MARKER_RE.fullmatch(str(d.get("new_value") or "").strip())] if m]
    old_style = sweep_marker(notes)
    return found + ([old_style] if old_style else [])


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Ref(_Model):
    id: int
    name: str = ""


class Summary(_Model):
    """One row of /issues.json: enough for scope and cheap pre-checks."""

    id: int
    project: Ref
    tracker: Ref
    status: Ref
    priority: Ref
    author: Ref
    assigned_to: Ref | None = None
    subject: str = ""
    description: str = ""
    created_on: datetime
    updated_on: datetime
    closed_on: datetime | None = None
    custom_fields: tuple[dict[str, Any], ...] = ()
    raw_updated_on: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        return cls.model_validate({**data, "description": data.get("description") or "",
                                   "raw_updated_on": data["updated_on"]})


class StatusChange(_Model):
    journal_id: int
    at: datetime
    old: str
    new: str


class Journal(_Model):
    id: int
    user: Ref
    notes: str = ""
    created_on: datetime
    private_notes: bool = False
    details: tuple[dict[str, Any], ...] = ()
    # set at parsing: written by the sweep's own user (IssueView.from_json's `sweep_users`)
    sweep_author: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any], sweep_users: frozenset[int]) -> Journal:
        """One journal of Redmine's JSON; `sweep_users`: who the sweep writes as."""
        return cls.model_validate({**data, "notes": data.get("notes") or "", "details": data.get("details") or (),
                                   "sweep_author": int((data.get("user") or {}).get("id", 0)) in sweep_users})

    @property
    def is_comment(self) -> bool:
        return bool(self.notes.strip())

    @property
    def files(self) -> tuple[str, ...]:
        """Names of the files attached in this journal (a reply may be only a screenshot)."""
        return tuple(str(d.get("new_value") or "") for d in self.details
                     if d.get("property") == "attachment" and d.get("new_value"))

    @property
    def is_public_comment(self) -> bool:
        return self.is_comment and not self.private_notes

    def markers(self) -> list[tuple[str, str]]:
        """The sweep markers of this journal ([] unless the sweep's own user wrote it)."""
        return journal_markers(self.notes, self.details, self.sweep_author)

    @property
    def by_sweep(self) -> bool:
        return bool(self.markers())

    @property
    def marker_in_text(self) -> bool:
        """An old-style sweep note: its marker is its last line (trackers swept before issue 18)."""
        return self.sweep_author and sweep_marker(self.notes) is not None

    @property
    def text(self) -> str:
        """What the person wrote, for the text audits: without a migrated note's provenance
        line (a name, a date, «МСК») and without a sweep's marker."""
        lines = self.notes.strip().splitlines()
        if lines and _PROVENANCE_LINE_RE.fullmatch(lines[0].strip()):
            lines = lines[1:]
        elif lines and _HIDDEN_PROVENANCE_RE.fullmatch(lines[0].strip()):
            lines = lines[2:] if len(lines) > 1 and _HUMAN_PROVENANCE_RE.fullmatch(lines[1].strip()) else lines[1:]
        if self.marker_in_text:
            lines = lines[:-1]
        return "\n".join(lines).strip()


class Attachment(_Model):
    filename: str
    content_type: str | None = None


class IssueView(_Model):
    """One issue with its journals (GET /issues/:id.json?include=journals,attachments)."""

    summary: Summary
    journals: tuple[Journal, ...]
    attachments: tuple[Attachment, ...] = ()
    watchers: tuple[int, ...] = ()
    status_names: dict[int, str] = {}

    @classmethod
    def from_json(cls, data: dict[str, Any], status_names: dict[int, str],
                  sweep_users: frozenset[int] = frozenset()) -> IssueView:
        """`sweep_users`: who the sweep writes as; only their notes can carry a sweep marker."""
        journals = tuple(sorted((Journal.from_json(j, sweep_users) for j in data.get("journals", [])),
                                key=lambda j: (j.created_on, j.id)))
        return cls(summary=Summary.from_json(data), journals=journals,
                   attachments=tuple(Attachment.model_validate(a) for a in data.get("attachments", [])),
                   watchers=tuple(int(w["id"]) for w in data.get("watchers", [])),
                   status_names=status_names)

    @property
    def id(self) -> int:
        return self.summary.id

    @property
    def status(self) -> str:
        return self.summary.status.name

    def status_changes(self) -> list[StatusChange]:
        """Every status change, oldest first, from the journals' `status_id` details."""
        changes: list[StatusChange] = []
        for journal in self.journals:
            for detail in journal.details:
                if detail.get("property") == "attr" and detail.get("name") == "status_id":
                    changes.append(StatusChange(
                        journal_id=journal.id, at=journal.created_on,
                        old=self._status_name(detail.get("old_value")),
                        new=self._status_name(detail.get("new_value"))))
        return changes

    def _status_name(self, value: object) -> str:
        try:
            return self.status_names.get(int(str(value)), str(value))
        except ValueError:
            return str(value)

    def initial_status(self) -> str:
        changes = self.status_changes()
        return changes[0].old if changes else self.status

    def status_history(self) -> list[tuple[datetime, str]]:
        """(moment, status entered), starting with the status at creation."""
        history = [(self.summary.created_on, self.initial_status())]
        history += [(c.at, c.new) for c in self.status_changes()]
        return history

    def entered(self, statuses: set[str]) -> tuple[datetime, int | None] | None:
        """When the issue last entered one of `statuses` (and by which journal; None = creation)."""
        found: tuple[datetime, int | None] | None = None
        if self.initial_status() in statuses:
            found = (self.summary.created_on, None)
        for change in self.status_changes():
            if change.new in statuses and change.old not in statuses:
                found = (change.at, change.journal_id)
        return found

    def has_marker(self, tag: str) -> bool:
        """A sweep journal carrying exactly `tag` exists."""
        return has_marker(self.journals, tag)

    def markers_of(self, rule: str) -> list[tuple[Journal, str]]:
        return [(j, fp) for j in self.journals for r, fp in j.markers() if r == rule]


def has_marker(journals: Iterable[Journal], tag: str) -> bool:
    """One of `journals` is the sweep's act `tag`: planning and `apply` ask this same question."""
    return any(marker(r, fp) == tag for j in journals for r, fp in j.markers())
