"""Turning portal text into Redmine text: subjects, HTML and provenance lines.

Pure functions, so the rules (255-character subjects, nothing executable surviving HTML,
provenance a re-run can recognise) are unit-tested on their own.
"""

from __future__ import annotations

import re
from datetime import datetime

from bs4 import BeautifulSoup
from markdownify import markdownify

from helpdesk_core.clock import MOSCOW

SUBJECT_LIMIT = 255
# Elements whose content must not survive at all (not even as text).
DROPPED_ELEMENTS = ("script", "style", "iframe", "object", "embed", "noscript", "template", "form")

PROVENANCE = re.compile(r"\[portal:(?P<kind>[a-z-]+):(?P<id>[^\]\s]+)\]")
# Where the tool itself puts a marker, and nowhere else: at the very start of a note (its first
# line, `provenance_line`) and, in runs of earlier versions, at the very start of a time entry's
# comment (`time_marker`; now the portal id travels in a support-only field, migrator.live).
# Client text comes after it, so a quoted marker inside the text never matches.
NOTE_MARKER = re.compile(r"\A_\[portal:(?P<kind>[a-z-]+):(?P<id>[^\]\s]+)\] ")
# A comment clients read carries it out of sight (`comment_header`): as a CommonMark link reference
# definition on the note's first line, which Redmine's common_mark renders as nothing at all.
HIDDEN_NOTE_MARKER = re.compile(r"\A\[portal:(?P<kind>[a-z-]+):(?P<id>[^\]\s]+)\]: #\r?\n")
TIME_MARKER = re.compile(r"\A\[portal:time:(?P<id>[^\]\s]+)\](?: |\Z)")


def cut_subject(subject: str, limit: int = SUBJECT_LIMIT) -> tuple[str, bool]:
    """Fit a subject into Redmine's limit at a word boundary; says whether it was cut."""
    subject = " ".join(subject.split())
    if len(subject) <= limit:
        return subject, False
    head = subject[: limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(" ,.;:-") + "…", True


def html_to_markdown(html: str) -> str:
    """Portal HTML as CommonMark; scripts, styles, frames and event handlers are dropped.

    markdownify keeps only text and formatting, so attributes such as onerror= cannot
    survive; the dropped elements are removed first so their content does not leak as text.
    """
    soup = BeautifulSoup(html, "html.parser")
    for element in soup.find_all(DROPPED_ELEMENTS):
        element.decompose()
    text = markdownify(str(soup), heading_style="ATX", bullets="-", strip=["img"])
    # Markdown may still carry raw HTML that a renderer would pass through: neutralise "<".
    text = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


FILENAME_LIMIT = 255
# Redmine's Attachment#sanitize_filename: what it replaces (a run of them by one "_"), after taking the
# part after the last "/" or "\\" (here those are replaced too: the name keeps what the portal showed).
_REDMINE_INVALID = re.compile(r"[/\\?%*:|\"'<>\n\r]+")


def attachment_filename(name: str, limit: int = FILENAME_LIMIT) -> str:
    """The name Redmine stores for a portal file (both writers send it, verify expects it): no path,
    no character Redmine replaces, at most 255 characters (cut before a short extension, which is
    kept), never empty."""
    name = _REDMINE_INVALID.sub("_", name.replace("\x00", "")).strip() or "file"  # NUL: as every text (decide)
    if len(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= 16:
        return stem[: limit - len(ext) - 2] + "…." + ext
    return name[: limit - 1] + "…"


def moscow_time(moment: datetime) -> str:
    return moment.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M МСК")


def provenance_line(kind: str, source_id: str, author: str, moment: datetime) -> str:
    """The first line of every migrated note: who wrote it in the portal, when, and its id."""
    return f"_[portal:{kind}:{source_id}] {author}, {moscow_time(moment)}_"


def comment_header(source_id: str, author: str, moment: datetime) -> str:
    """The first lines of a migrated comment: the machine marker where no person reads it, then who
    wrote it in the portal and when («_Иван Иванов (i.ivanov), 07.05.2024 10:05 МСК_»).

    The marker stays in the note, at its very start: recognition (re-runs, a lost ledger, verify,
    fix-dates) keeps its one rule — the marker opens the note and the journal is by one of the
    tool's writers — and the note is still written in one request as its own author (a client
    cannot write the support-only field «helpdesk: отметка сценария», so the marker cannot travel
    there without a second, administrator's journal). Written as a link reference definition
    (`[portal:comment:M4]: #`), it renders as nothing in Redmine's web UI (text formatting
    common_mark, as provisioned); the raw text (REST, a text e-mail, «Цитировать») still holds it."""
    return f"{hidden_marker('comment', source_id)}\n_{author}, {moscow_time(moment)}_"


def find_provenance(text: str | None) -> list[tuple[str, str]]:
    """Every (kind, source id) marker quoted anywhere in a text: for reports only, never for recognition."""
    return [(m["kind"], m["id"]) for m in PROVENANCE.finditer(text or "")]


def note_marker(notes: str | None) -> tuple[str, str] | None:
    """The (kind, source id) of a note the tool wrote: its marker opens the note, exactly."""
    found = NOTE_MARKER.match(notes or "") or HIDDEN_NOTE_MARKER.match(notes or "")
    return (found["kind"], found["id"]) if found else None


def hidden_marker(kind: str, source_id: str) -> str:
    """A note's first line that carries its marker out of sight (see `comment_header`)."""
    return f"[portal:{kind}:{source_id}]: #"


# CommonMark punctuation that could turn part of a file name into markup (emphasis, a link, code, an
# entity, strikethrough): escaped with a backslash, which CommonMark renders as the character itself.
_MARKUP = re.compile(r"([\\`*_\[\]<>!&~])")


def literal_markdown(text: str) -> str:
    """`text` as CommonMark shows it letter for letter (a file name such as «_итог_.pdf» stays as is)."""
    return _MARKUP.sub(r"\\\1", text)


def new_files_note(first_id: str, filenames: list[str]) -> str:
    """A delta run's note on ticket files added in the portal after the migration: the marker out of
    sight (recognised as every note's, `note_marker`), then the files by the names Redmine shows:
    «Файл, добавленный в портале после переноса: отчёт.pdf» — or «Файлы, добавленные …: a, b»."""
    names = ", ".join(literal_markdown(name) for name in filenames)
    lead = "Файл, добавленный" if len(filenames) == 1 else "Файлы, добавленные"
    return f"{hidden_marker('attachment', first_id)}\n{lead} в портале после переноса: {names}"


def time_marker(entry_id: str) -> str:
    """The marker earlier versions put at the start of a time entry's comment (still recognised)."""
    return f"[portal:time:{entry_id}]"


def time_entry_marker(comments: str | None) -> str | None:
    """The portal id in an earlier version's time entry comment: its marker opens the comment, exactly."""
    found = TIME_MARKER.match(comments or "")
    return found["id"] if found else None
