"""The rejects directory: every bad line of an export, byte for byte, kept for a corrected re-run.

The export contract says a bad record is "kept for a corrected re-run"; the report only names
it (file, line, id, field, reason, and an excerpt), so the lines themselves are written here,
streamed (a line may be larger than memory should hold):

    <dir>/companies.jsonl, users.jsonl, tickets.jsonl   the bad lines of each file, as they were
                                                        (a missing final newline added)
    <dir>/index.jsonl   one JSON object per bad line: file, line (in the export), id, field,
                        reason, bytes (its length as read, newline included), rejects_line (its
                        line in <dir>/<file>)

A ticket whose write failed for a reason of its own (migrator.engine) is kept here too, as the
tool read it (one JSON line), with `line` 0 in the index: its id names it in the export.

The directory is built beside its final place (`<dir>.partial`) and swapped in when the run
ends, so it always describes one whole run; a run without bad lines removes the previous one.
A path that exists and is not a rejects directory is refused before anything is read.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, TextIO

from helpdesk_core.errors import ConfigError
from helpdesk_core.export import BadRecord

INDEX = "index.jsonl"


def default_rejects_path(export_path: Path, report: Path | None = None) -> Path:
    """Beside the report when there is one (`migration.json` -> `migration.rejects`), else beside
    the export like the ledger (`export.zip` -> `export.rejects`)."""
    if report is not None:
        return report.parent / f"{report.stem}.rejects"
    return export_path.parent / f"{export_path.name.removesuffix('.zip')}.rejects"


def _is_ours(path: Path) -> bool:
    return path.is_dir() and ((path / INDEX).is_file() or not any(path.iterdir()))


class RejectsDir:
    """A `helpdesk_core.export.RejectsSink` writing the rejects directory; `close()` puts it in place."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if self.path.exists() and not _is_ours(self.path):
            raise ConfigError(f"{self.path} exists and is not a rejects directory (no {INDEX}): "
                              "give another --rejects path", key="--rejects")
        self._partial = self.path.with_name(self.path.name + ".partial")
        if self._partial.exists():  # left by a run that did not end
            shutil.rmtree(self._partial)
        self._files: dict[str, BinaryIO] = {}
        self._index: TextIO | None = None
        self._lines: Counter[str] = Counter()
        self.count = 0

    def keep(self, record: BadRecord, chunks: Iterable[bytes]) -> None:
        if self._index is None:
            self._partial.mkdir(parents=True)
            self._index = (self._partial / INDEX).open("w", encoding="utf-8", newline="\n")
        fh = self._files.get(record.file)
        if fh is None:
            fh = self._files[record.file] = (self._partial / Path(record.file).name).open("wb")
        size, last = 0, b""
        for chunk in chunks:
            fh.write(chunk)
            size += len(chunk)
            last = chunk[-1:] or last
        if last != b"\n":
            fh.write(b"\n")
        self._lines[record.file] += 1
        self.count += 1
        entry = {"file": record.file, "line": record.line, "id": record.id, "field": record.field,
                 "reason": record.reason, "bytes": size,
                 "rejects_line": self._lines[record.file]}
        self._index.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def close(self) -> Path | None:
        """Swap the new directory in; the path written, or None when there was no bad line."""
        for fh in self._files.values():
            fh.close()
        if self._index is not None:
            self._index.close()
        old = self.path.with_name(self.path.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        if self.path.exists():
            self.path.rename(old)
        if self._index is not None:
            self._partial.rename(self.path)
        if old.exists():
            shutil.rmtree(old)
        return self.path if self._index is not None else None
