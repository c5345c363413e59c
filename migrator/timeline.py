"""A ticket's portal timeline: which status changes to replay, and the dates Redmine must end with.

The sweeps ask Redmine "since when is this issue in its status" (the journals' status details)
and "how old is it" (created_on, start_date, closed_on). A migration that leaves the
migration's own time anywhere in that answer makes every rule wrong, so the timeline is
decided here, from the export alone, as plain values the engine writes and `fix-dates` dates.

Each replayed change is written by one PUT: the change itself (a public journal without text,
by the support employee the history names, else the API user) and its provenance line as a
private note, `_[portal:status:T5.2] Иван Иванов (i.ivanov), 07.05.2024 10:05 МСК_` (ticket T5,
the history's 2nd entry), which clients never read; Redmine stores them as two journals.
Without a `status_history` the export still tells when the last
change happened (closed_at for a closed ticket, else updated_at): that is a history of one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from helpdesk_core.clock import MOSCOW
from helpdesk_core.export_model import StatusChange, Ticket

STATUS_KIND = "status"
STATE_KIND = "state"  # assignee / priority brought to the export's value when no status change carries them
TIMELINE_KINDS = (STATUS_KIND, STATE_KIND)
# A journal the migration wrote for the timeline: its notes are exactly this one line.
_TIMELINE_NOTE = re.compile(r"_\[portal:(?P<kind>status|state):(?P<id>[^\]\s]+)\] [^\n]*_")


@dataclass(frozen=True)
class Transition:
    """One status change to replay: the portal's status, its time and author (None: the portal)."""

    index: int  # 1-based position in the history
    status: str
    at: datetime
    by: str | None
    source: str  # the marker's id: "<ticket id>.<index>"


def last_change(ticket: Ticket, closed: bool) -> datetime:
    """The contract's best estimate of the last status change when there is no history."""
    if closed and ticket.closed_at is not None:
        return ticket.closed_at
    return ticket.updated_at


def transitions(ticket: Ticket, closed: bool) -> list[Transition]:
    """The history to replay, oldest first; a history of one (by the portal) when the export has none."""
    history: Iterable[StatusChange] = ticket.status_history or (
        StatusChange(status=ticket.status, at=last_change(ticket, closed), by=None),)
    return [Transition(i, change.status, change.at, change.by, f"{ticket.id}.{i}")
            for i, change in enumerate(history, start=1)]


def timeline_marker(notes: str | None) -> tuple[str, str] | None:
    """(kind, id) when `notes` is exactly one timeline provenance line, as the migration writes it.

    Strict on purpose: a marker quoted in a comment, or one line among others, is not ours.
    """
    found = _TIMELINE_NOTE.fullmatch((notes or "").strip())
    return (found["kind"], found["id"]) if found else None


@dataclass(frozen=True)
class IssueDates:
    created_on: datetime
    updated_on: datetime
    closed_on: datetime | None
    start_date: date


def issue_dates(ticket: Ticket, closed_statuses: set[str]) -> IssueDates:
    """What created_on, updated_on, closed_on and start_date must say after `fix-dates`.

    updated_on is never older than the newest dated event: the sweeps' candidate queries rely on
    "updated_on is at least as new as any journal". closed_on is the portal's closed_at, else the
    last change into a closed status (Redmine keeps it after a reopen too), else empty.
    """
    closed = ticket.status in closed_statuses
    changes = transitions(ticket, closed)
    moments = [ticket.updated_at, *(c.created_at for c in ticket.comments),
               *(c.created_at for c in ticket.complaints), *(c.at for c in changes)]
    closed_on = ticket.closed_at
    if closed_on is None:
        closings = [c.at for c in changes if c.status in closed_statuses]
        closed_on = closings[-1] if closings else None
    return IssueDates(created_on=ticket.created_at, updated_on=max(moments), closed_on=closed_on,
                      start_date=ticket.created_at.astimezone(MOSCOW).date())


def timeline_journals(issue: dict[str, Any] | None, api_user: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, id, journal) of the timeline journals in an issue read with its journals.

    Its notes are exactly one timeline provenance line *and* it changed the status (a `status`
    marker: clients have no status transitions) or, for a `state` marker, status, assignee or
    priority and was written by the API user (`api_user`), who alone writes those: a client may
    edit the priority of a new issue, so a change alone is no proof there.

    Two shapes are ours. Today's: the marker is a private note (clients never read it) written in
    the same PUT as the change, which Redmine splits into the public change (notes empty) and,
    right after it, the private note by the same user; the returned journal is the private one,
    with `change_journal_id` naming the change's journal. Before: one public journal carrying both
    (still read, so an issue migrated then is never replayed again).
    """
    found = []
    journals = (issue or {}).get("journals", [])
    for position, journal in enumerate(journals):
        marker = timeline_marker(journal.get("notes"))
        if marker is None:
            continue
        wanted = {"status_id"} if marker[0] == STATUS_KIND else {"status_id", "assigned_to_id", "priority_id"}
        writer = (journal.get("user") or {}).get("id")
        change = journal
        if journal.get("private_notes") and not _changed(journal) and position > 0:
            before = journals[position - 1]
            if (before.get("user") or {}).get("id") == writer and not (before.get("notes") or "").strip():
                change = before
        if _changed(change) & wanted and (marker[0] == STATUS_KIND or writer == api_user):
            found.append((marker[0], marker[1], journal if change is journal
                          else {**journal, "change_journal_id": change.get("id")}))
    return found


def _changed(journal: dict[str, Any]) -> set[str]:
    return {d.get("name") for d in journal.get("details", []) if d.get("property") == "attr"}
