"""The local ledger: portal id → Redmine id for everything the migration wrote.

SQLite in WAL mode, one commit per record, so a process killed at any moment loses at most
the write in flight, which the migration then recovers from Redmine itself (the «ID в
портале» field and provenance lines). Shared by worker threads behind one lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS mapping (
    kind TEXT NOT NULL, source_id TEXT NOT NULL, redmine_id INTEGER,
    PRIMARY KEY (kind, source_id));
CREATE TABLE IF NOT EXISTS ticket_done (
    ticket_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, issue_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dates (
    kind TEXT NOT NULL, redmine_id INTEGER NOT NULL, created_on TEXT, updated_on TEXT, closed_on TEXT,
    PRIMARY KEY (kind, redmine_id));
CREATE TABLE IF NOT EXISTS note_dates (
    issue_id INTEGER NOT NULL, marker TEXT NOT NULL, created_on TEXT NOT NULL,
    PRIMARY KEY (issue_id, marker));
CREATE TABLE IF NOT EXISTS run_settings (
    name TEXT PRIMARY KEY, value TEXT NOT NULL, recorded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attachment_dates (
    issue_id INTEGER NOT NULL, filename TEXT NOT NULL, filesize INTEGER NOT NULL, created_on TEXT NOT NULL,
    PRIMARY KEY (issue_id, filename, filesize));
"""


class Ledger:
    """What was migrated, keyed by (kind, portal id); `ticket_done` makes re-runs free.

    A speed-up and a memory of the tool's own decisions, never the proof of what Redmine holds:
    everything in it can be recovered from Redmine (ids and markers), so a lost ledger costs time.
    """

    def __init__(self, path: Path, *, db: sqlite3.Connection | None = None) -> None:
        self.path = path
        if db is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        self._db = db
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    @classmethod
    def snapshot(cls, path: Path) -> Ledger:
        """A private in-memory copy of the ledger at `path` (empty when there is none).

        For `plan` and `verify`, which must write nothing anywhere: their own bookkeeping goes to
        the copy, and the file is opened read-only (never created).
        """
        memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        if path.is_file():
            source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                source.backup(memory)
            finally:
                source.close()
        return cls(path, db=memory)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get(self, kind: str, source_id: str) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT redmine_id FROM mapping WHERE kind=? AND source_id=?",
                                   (kind, source_id)).fetchone()
        return None if row is None else row[0]

    def has(self, kind: str, source_id: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM mapping WHERE kind=? AND source_id=?",
                                    (kind, source_id)).fetchone() is not None

    def put(self, kind: str, source_id: str, redmine_id: int | None) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO mapping VALUES (?, ?, ?)", (kind, source_id, redmine_id))

    def items(self, kind: str) -> Iterator[tuple[str, int | None]]:
        with self._lock:
            rows = self._db.execute("SELECT source_id, redmine_id FROM mapping WHERE kind=? ORDER BY rowid",
                                    (kind,)).fetchall()
        yield from rows

    def ticket_fingerprint(self, ticket_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT fingerprint FROM ticket_done WHERE ticket_id=?",
                                   (ticket_id,)).fetchone()
        return None if row is None else row[0]

    def done_issue_sample(self, size: int) -> tuple[int, list[int]]:
        """How many tickets the ledger records as migrated, and up to `size` of their issue ids
        spread over the range (lowest, middle, highest): enough to tell whose Redmine it is."""
        with self._lock:
            ids = [row[0] for row in self._db.execute(  # a hand-edited ledger may hold anything: ids only
                "SELECT issue_id FROM ticket_done WHERE typeof(issue_id) = 'integer' ORDER BY issue_id")]
        if len(ids) <= size:
            return len(ids), ids
        step = (len(ids) - 1) / (size - 1) if size > 1 else 0
        return len(ids), sorted({ids[round(i * step)] for i in range(size)})

    def mark_ticket_done(self, ticket_id: str, fingerprint: str, issue_id: int) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO ticket_done VALUES (?, ?, ?)",
                             (ticket_id, fingerprint, issue_id))

    def record_dates(self, kind: str, redmine_id: int, created_on: str | None, updated_on: str | None = None,
                     closed_on: str | None = None) -> None:
        """Portal timestamps for `fix-dates`, which the REST API cannot set."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO dates VALUES (?, ?, ?, ?, ?)",
                             (kind, redmine_id, created_on, updated_on, closed_on))

    def has_dates(self, kind: str, redmine_id: int) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM dates WHERE kind=? AND redmine_id=?",
                                    (kind, redmine_id)).fetchone() is not None

    def record_note_date(self, issue_id: int, marker: str, created_on: str) -> None:
        """A migrated note's portal time, keyed by its provenance marker (no journal id needed)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO note_dates VALUES (?, ?, ?)", (issue_id, marker, created_on))

    def has_note_date(self, issue_id: int, marker: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM note_dates WHERE issue_id=? AND marker=?",
                                    (issue_id, marker)).fetchone() is not None

    def note_dates(self) -> list[tuple[int, str, str]]:
        with self._lock:
            return self._db.execute("SELECT * FROM note_dates ORDER BY issue_id, marker").fetchall()

    def record_attachment_date(self, issue_id: int, filename: str, filesize: int, created_on: str) -> None:
        """A migrated file's portal time, keyed by what Redmine stores of it (its issue, name and size)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO attachment_dates VALUES (?, ?, ?, ?)",
                             (issue_id, filename, filesize, created_on))

    def attachment_dates(self) -> list[tuple[int, str, int, str]]:
        with self._lock:
            return self._db.execute("SELECT * FROM attachment_dates ORDER BY issue_id, filename").fetchall()

    def dates(self) -> list[tuple[str, int, str | None, str | None, str | None]]:
        with self._lock:
            return self._db.execute("SELECT * FROM dates ORDER BY kind, redmine_id").fetchall()

    def record_run_settings(self, settings: dict[str, str], recorded_at: str) -> None:
        """The options of the last `migrate run` that change what it writes (the attachment limit…):
        `verify` judges by them, not by defaults the run did not use."""
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO run_settings VALUES (?, ?, ?)",
                                 [(name, value, recorded_at) for name, value in settings.items()])

    def run_settings(self) -> dict[str, tuple[str, str]]:
        """name → (value, when the run recorded it); empty when no run was recorded."""
        with self._lock:
            rows = self._db.execute("SELECT name, value, recorded_at FROM run_settings").fetchall()
        return {name: (value, at) for name, value, at in rows}


def default_ledger_path(export_path: Path) -> Path:
    """Beside the export: `<export>.ledger.sqlite`."""
    return export_path.parent / f"{export_path.name.removesuffix('.zip')}.ledger.sqlite"
