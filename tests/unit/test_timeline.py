"""A ticket's timeline: `status_history` read and checked by the export reader, the transitions
the migration replays, the dates fix-dates writes, and the strict timeline marker."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from helpdesk_core.export import open_export
from helpdesk_core.export_model import Ticket
from migrator.text import provenance_line
from migrator.timeline import issue_dates, timeline_journals, timeline_marker, transitions
from tests.unit.test_export_reader import read_all, ticket, write_export

HISTORY = [
    {"status": "На рассмотрении", "at": "2024-05-06T18:50:00+03:00", "by": None},
    {"status": "В работе", "at": "2024-05-07T10:00:00+03:00", "by": "U1"},
    {"status": "Требует обратной связи", "at": "2024-05-07T10:05:00+03:00", "by": "U1"},
]
CLOSED = {"Закрыто", "Отклонено"}


def model(**kw: Any) -> Ticket:
    return Ticket.model_validate(ticket(**kw))


def test_history_is_read_into_the_model() -> None:
    t = model(status_history=HISTORY)
    assert t.status_history is not None
    assert [(c.status, c.by) for c in t.status_history] == [
        ("На рассмотрении", None), ("В работе", "U1"), ("Требует обратной связи", "U1")]


@pytest.mark.parametrize(("history", "field", "reason"), [
    ([{**HISTORY[0], "at": "2024-05-06T18:49:00+03:00"}, *HISTORY[1:]], "status_history.0.at",
     "status change is older than the ticket's created_at"),
    ([HISTORY[0], HISTORY[2], HISTORY[1]], "status_history.2.at",
     "status change is older than the one before it (status_history must be in time order)"),
    (HISTORY[:2], "status_history.1.status",
     "the last status change is to 'В работе', but the ticket's status is 'Требует обратной связи'"),
    ([HISTORY[0], {**HISTORY[1], "at": "2024-05-07T10:00:00"}, HISTORY[2]], "status_history.1.at",
     "timestamp has no UTC offset"),
    ([HISTORY[0], {"status": "В работе", "at": "2024-05-07T10:00:00+03:00"}, HISTORY[2]],
     "status_history.1.by", "required field is missing"),
    ([HISTORY[0], {**HISTORY[1], "status": " "}, HISTORY[2]], "status_history.1.status", "must not be empty"),
    (["В работе"], "status_history.0", "must be an object, got a string"),
    ({"status": "В работе"}, "status_history", "must be an array, got an object"),
])
def test_a_bad_history_is_a_bad_record_naming_ticket_field_reason(
        tmp_path: Path, history: Any, field: str, reason: str) -> None:
    root = write_export(tmp_path / "e", tickets=[ticket("T1"), ticket("T2", status_history=history)])
    with open_export(root) as export:
        got = read_all(export)
    assert [t.id for t in got["tickets"]] == ["T1"]  # nothing else is lost
    [bad] = got["bad"]
    assert (bad.file, bad.line, bad.id, bad.field) == ("tickets.jsonl", 2, "T2", field)
    assert bad.reason.startswith(reason), bad.reason


def test_absent_or_empty_history_is_one_change_at_updated_or_closed() -> None:
    open_ticket = model()
    assert [(s.status, s.at, s.by) for s in transitions(open_ticket, closed=False)] == [
        ("Требует обратной связи", open_ticket.updated_at, None)]
    closed = model(status="Закрыто", closed_at="2024-05-08T09:00:00+03:00", status_history=[])
    [step] = transitions(closed, closed=True)
    assert step.at == datetime.fromisoformat("2024-05-08T09:00:00+03:00") and step.source == "T1.1"


def test_history_steps_keep_times_authors_and_numbered_sources() -> None:
    steps = transitions(model(status_history=HISTORY), closed=False)
    assert [(s.index, s.source, s.by) for s in steps] == [(1, "T1.1", None), (2, "T1.2", "U1"), (3, "T1.3", "U1")]
    assert steps[2].at == datetime.fromisoformat("2024-05-07T10:05:00+03:00")


def test_issue_dates_start_date_closed_on_and_updated_on() -> None:
    late = model(created_at="2024-05-06T23:30:00+00:00")
    dates = issue_dates(late, CLOSED)
    assert dates.start_date == date(2024, 5, 7)  # 02:30 in Moscow: the portal's day is the 7th
    assert dates.closed_on is None
    # updated_on is never older than a comment or complaint (the sweeps' candidate queries rely on it)
    assert dates.updated_on == datetime.fromisoformat("2024-05-09T12:00:00+03:00")
    stale = model(updated_at="2024-05-06T19:00:00+03:00")
    assert issue_dates(stale, CLOSED).updated_on == datetime.fromisoformat("2024-05-08T11:00:00+03:00")
    closed = model(status="Закрыто", closed_at="2024-05-09T12:00:00+03:00",
                   status_history=[*HISTORY, {"status": "Закрыто", "at": "2024-05-09T11:00:00+03:00", "by": "U1"}])
    assert issue_dates(closed, CLOSED).closed_on == datetime.fromisoformat("2024-05-09T12:00:00+03:00")
    reopened = model(status="В работе", status_history=[
        HISTORY[0], {"status": "Закрыто", "at": "2024-05-07T09:00:00+03:00", "by": "U1"},
        {"status": "В работе", "at": "2024-05-08T09:00:00+03:00", "by": "U1"}])
    assert issue_dates(reopened, CLOSED).closed_on == datetime.fromisoformat("2024-05-07T09:00:00+03:00")


def test_timeline_marker_only_as_the_whole_note_the_migration_writes() -> None:
    moment = datetime.fromisoformat("2024-05-07T10:05:00+03:00")
    line = provenance_line("status", "T1.3", "Алексей Петров (a.petrov)", moment)
    assert timeline_marker(line) == ("status", "T1.3")
    assert timeline_marker(provenance_line("state", "T1.1", "портал", moment)) == ("state", "T1.1")
    assert timeline_marker(f"Смотрите {line}") is None  # quoted in a comment
    assert timeline_marker(f"{line}\n\nи ещё текст") is None  # one line among others
    assert timeline_marker(provenance_line("comment", "M1", "Иван", moment)) is None  # not a timeline kind
    assert timeline_marker(None) is None


def test_only_a_journal_that_changed_what_clients_cannot_counts_as_ours() -> None:
    moment = datetime.fromisoformat("2024-05-07T10:05:00+03:00")
    line = provenance_line("status", "T1.3", "Алексей Петров (a.petrov)", moment)
    state = provenance_line("state", "T1.1", "портал", moment)
    status = {"property": "attr", "name": "status_id", "old_value": "1", "new_value": "2"}
    priority = {"property": "attr", "name": "priority_id", "old_value": "2", "new_value": "3"}
    api, support, client = {"id": 1}, {"id": 7}, {"id": 42}
    issue = {"journals": [
        {"id": 1, "user": support, "notes": line, "details": [status]},     # ours, written as its author
        {"id": 2, "user": client, "notes": line, "details": []},            # a client pasting our line
        {"id": 3, "user": support, "notes": f"«{line}»", "details": [status]},  # quoted
        {"id": 4, "user": support, "notes": line, "details": [priority]},  # a status marker must change status
        {"id": 5, "user": api, "notes": state, "details": [priority]},     # ours: state, by the API user
        {"id": 6, "user": client, "notes": state, "details": [priority]},  # a client may edit a new issue's priority
    ]}
    assert [(kind, source, j["id"]) for kind, source, j in timeline_journals(issue, api_user=1)] == [
        ("status", "T1.3", 1), ("state", "T1.1", 5)]


def test_a_private_marker_counts_only_beside_the_change_its_writer_made_just_before() -> None:
    """Today's shape (issue 18, point 7): the change is a bare public journal, the line a private note of
    the same PUT right after it; the old one-journal shape is still read (nothing is replayed twice)."""
    moment = datetime.fromisoformat("2024-05-07T10:05:00+03:00")
    line = provenance_line("status", "T1.3", "Алексей Петров (a.petrov)", moment)
    other = provenance_line("status", "T1.4", "портал", moment)
    old = provenance_line("status", "T1.2", "портал", moment)
    status = {"property": "attr", "name": "status_id", "old_value": "1", "new_value": "2"}
    api, support, client = {"id": 1}, {"id": 7}, {"id": 42}
    issue = {"journals": [
        {"id": 10, "user": api, "notes": old, "private_notes": False, "details": [status]},  # before: one journal
        {"id": 11, "user": support, "notes": "", "private_notes": False, "details": [status]},
        {"id": 12, "user": support, "notes": line, "private_notes": True, "details": []},  # ours: beside 11
        {"id": 13, "user": client, "notes": "", "private_notes": False, "details": [status]},
        {"id": 14, "user": api, "notes": other, "private_notes": True, "details": []},  # another user's change
        {"id": 15, "user": api, "notes": "", "private_notes": False, "details": []},
        {"id": 16, "user": api, "notes": other, "private_notes": False, "details": []},  # public, no change
    ]}
    found = timeline_journals(issue, api_user=1)
    assert [(kind, source, j["id"], j.get("change_journal_id")) for kind, source, j in found] == [
        ("status", "T1.2", 10, None), ("status", "T1.3", 12, 11)]
