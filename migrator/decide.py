"""What a ticket becomes in Redmine, decided once for both writers (REST and `--loader rails`).

The writers only execute: who writes each act (the person, the stand-in, or the API user naming
them), what a text may hold, which name a file gets, which time entries are logged and as whom,
and what is left out and why (a `Finding`). Redmine's own rules are applied here as Redmine
applies them, so that a writer that bypasses them (the loader writes with ActiveRecord) and one
that meets them (REST) end with the same tracker:

- only a project's members write in it: support everywhere, a client in their company's project;
  another company's client is named, never written as (the stand-in creates the issue, the API
  user writes the note);
- only support logs time: a client's hours are logged by the API user, the client named;
- a time entry Redmine refuses whoever logs it (negative, or more hours than its default maximum for a
  day) is left out and reported with that reason; one Redmine refuses for another reason of its own
  is reported with Redmine's reason; neither is retried as someone else;
- a file name is what Redmine stores (no path, its invalid characters replaced, at most 255
  characters, never empty), so verify and a delta run compare like with like;
- no text holds what the database cannot store (NUL): it is removed and reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from helpdesk_core.export_model import Ticket, TimeEntry
from migrator.text import attachment_filename

__all__ = ["attachment_filename"]  # the file-name rule is text's (pure), decided for both writers

R = TypeVar("R", bound=BaseModel)
# PostgreSQL's text cannot hold NUL (SQLite can): Redmine answers 500 for it, the loader's insert fails.
UNSTORABLE = "\x00"
# Redmine refuses negative hours, and more than timelog_max_hours_per_day (999 unless changed) for one
# user and day (TimeEntry#validate_time_entry): an entry beyond that is refused whoever logs it. Below it,
# Redmine's own answer decides (the setting may be lower), reported with Redmine's reason.
MAX_HOURS = Decimal(999)


# Redmine's limit on each of firstname and lastname (User validates both present, 30 characters).
NAME_LIMIT = 30


def _name_part(text: str) -> str:
    return text if len(text) <= NAME_LIMIT else text[:NAME_LIMIT - 1] + "…"


def redmine_names(first_name: str, last_name: str, login: str) -> dict[str, str]:
    """Redmine's firstname and lastname for a portal user (Redmine requires both; it shows them
    «firstname lastname»). A name the export has in one field only stays that person's name:
    two words or more split at the first space («Иван Иванов»); a single word stays the first
    name and the login, in brackets, takes the last name's place («Smith (j.smith)», as the
    migrated notes name people) — never «j.smith Smith». No name at all: «Пользователь j.smith»."""
    first, last = " ".join(first_name.split()), " ".join(last_name.split())
    if first and last:
        return {"firstname": _name_part(first), "lastname": _name_part(last)}
    only = first or last
    if " " in only:
        head, _, rest = only.partition(" ")
        return {"firstname": _name_part(head), "lastname": _name_part(rest)}
    if only:
        return {"firstname": _name_part(only), "lastname": _name_part(f"({login})")}
    return {"firstname": "Пользователь", "lastname": _name_part(login)}


@dataclass
class Person:
    """A portal user as Redmine knows them (or the stand-in)."""

    redmine_id: int
    login: str
    display: str
    kind: str  # client | staff | standin
    active: bool = True
    owned: bool = True  # created by the migration (carries «ID пользователя в портале»): its status is ours to change
    company_id: str | None = None  # a client's company: the only project they write in


@dataclass(frozen=True)
class Writer:
    """Who writes one act: `person` (None: the API user) and, when it is not the portal's author,
    the author's name (for the text) and why (for the finding)."""

    person: Person | None
    name: str
    instead: str | None = None  # why the portal's author does not write it themself


def _clean(value: Any, path: str, changed: list[str]) -> Any:
    if isinstance(value, str):
        if UNSTORABLE in value:
            changed.append(path)
            return value.replace(UNSTORABLE, "")
        return value
    if isinstance(value, dict):
        return {k: _clean(v, f"{path}.{k}" if path else str(k), changed) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clean(v, f"{path}.{i}", changed) for i, v in enumerate(value))
    return value


def storable(record: R) -> tuple[R, list[str]]:
    """The record (a ticket, user or company) without characters the database cannot store, and the
    fields that held one."""
    changed: list[str] = []
    cleaned = _clean(record.model_dump(), "", changed)
    if not changed:
        return record, []
    model = type(record)
    try:
        return model.model_validate(cleaned), changed
    except ValidationError:  # a text that was only NUL (a subject must not be empty): a visible mark instead
        return model.model_validate(_mark(record.model_dump())), changed


def _mark(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(UNSTORABLE, "\ufffd")
    if isinstance(value, dict):
        return {k: _mark(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mark(v) for v in value)
    return value


def storable_text(text: str) -> str:
    return text.replace(UNSTORABLE, "")


def may_write_in(person: Person, company_id: str) -> bool:
    """Redmine's membership rule: support and the stand-in write everywhere, a client in their company only."""
    return person.kind != "client" or person.company_id == company_id


def issue_author(person: Person, stand_in: bool, standin: Person, company_id: str, name: str) -> Writer:
    """Who creates the issue: its author, else (unknown, held, another company's client) the stand-in."""
    if stand_in:
        return Writer(standin, name, "unknown or held: created by the stand-in")
    if not may_write_in(person, company_id):
        return Writer(standin, name, f"a client of company {person.company_id}, not a member of this "
                                     f"project: created by the stand-in")
    return Writer(person, name)


def note_writer(person: Person, stand_in: bool, company_id: str, name: str, *, private: bool) -> Writer:
    """Who writes a note: its author, else the API user naming them (only support writes private notes)."""
    if stand_in:
        return Writer(None, name, f"written by the API user for {name}")
    if not may_write_in(person, company_id):
        return Writer(None, name, f"written by the API user for {name}, a client of company "
                                  f"{person.company_id} (not a member of this project)")
    if private and person.kind != "staff":
        return Writer(None, name, f"written by the API user for {name}")
    return Writer(person, name)


def status_writer(person: Person | None, name: str) -> Writer:
    """Who makes a status change: the support employee the history names; anyone else's change (a
    client's: Redmine's workflow gives clients no transition; the portal's own) is the API user's."""
    if person is not None and person.kind == "staff":
        return Writer(person, name)
    return Writer(None, name)


def time_writer(person: Person, stand_in: bool, name: str) -> Writer:
    """Who logs the hours: a support employee as themself; anyone else by the API user, named."""
    if stand_in:
        return Writer(None, name, f"logged by the API user for {name} (unknown or held)")
    if person.kind != "staff":
        return Writer(None, name, f"logged by the API user for {name}, a client (clients do not log time)")
    return Writer(person, name)


# Redmine's limit on a time entry's comment (TimeEntry validates its length).
COMMENT_LIMIT = 1024


@dataclass(frozen=True)
class LoggedTime:
    """One time entry as both writers log it: for whom (None: the API user), the comment clients read
    in «Трудозатраты» (the portal's text, the person named when someone else logs it: no machine
    marker) and the portal id, carried in the support-only field «ID трудозатрат в портале» in the
    same write, so a re-run or a run resumed after a crash recognises the entry (migrator.live)."""

    person: Person | None
    comments: str
    portal_id: str


def logged_time(entry: TimeEntry, writer: Writer) -> LoggedTime:
    comment = " ".join(part for part in (entry.comment.strip(), f"({writer.name})" if writer.instead else "") if part)
    return LoggedTime(writer.person, comment[:COMMENT_LIMIT], entry.id)


def time_entry_problem(entry: TimeEntry) -> str | None:
    """Why Redmine would refuse this entry whoever logs it (None: it is loggable)."""
    if entry.hours < 0:
        return f"{entry.hours} hours: Redmine refuses negative hours"
    if entry.hours > MAX_HOURS:
        return (f"{entry.hours} hours in one entry: more than Redmine accepts for one user and day "
                f"by default ({MAX_HOURS}, setting timelog_max_hours_per_day)")
    return None


def loggable_entries(ticket: Ticket) -> list[TimeEntry]:
    return [e for e in ticket.time_entries if time_entry_problem(e) is None]
