"""Reading a portal export (format version 1) from a directory or a zip of the same tree.

This module owns the file-level rules of the contract (shared/portal-export-v1.md):
the manifest, line-by-line streaming of the jsonl files, bad records (a line that is
not JSON or breaks a rule is reported, never raised, never silently dropped),
duplicate ids, references to other files, the manifest counts and attachment files.
Per-record rules live in `helpdesk_core.export_model`.

Decisions the contract leaves open:
- `manifest.counts` counts lines: every non-blank line the exporter wrote, good or bad.
- `company_ids()` / `user_ids()` hold the ids of *valid* records. A user whose company
  is a bad record is itself bad (nothing to attach it to); a ticket whose author is a
  bad or missing user is still good, the mapping picks a stand-in (deleted users).
- Every line with a readable string id claims that id, so a later line with the same id
  is a duplicate even when the first one was bad: the corrected re-run fixes line one.
- Lines longer than `max_line_bytes` are bad records; a UTF-8 byte order mark on the first
  line is tolerated.
- A `BadRecord` keeps an excerpt of its line (`raw`, at most `EXCERPT_BYTES` of it), never the
  line: a dozen 30 MB junk lines must not cost 30 MB each in memory. The lines themselves, byte
  for byte, go to a `RejectsSink` when the caller gives one (`migrator.rejects`: `run` does,
  `plan` only when asked), streamed in chunks, so even a line past `max_line_bytes` is kept whole.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, Generic, Literal, NamedTuple, NoReturn, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from helpdesk_core.errors import EXIT_USAGE, HelpdeskError
from helpdesk_core.export_model import (
    FORMAT,
    VERSION,
    Attachment,
    Company,
    Manifest,
    Record,
    Ticket,
    User,
    json_type,
)

COMPANIES = "companies.jsonl"
USERS = "users.jsonl"
TICKETS = "tickets.jsonl"
MANIFEST = "manifest.json"

DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
EXCERPT_BYTES = 4096  # a typical ticket line fits whole; a 30 MB one does not
_CHUNK = 1024 * 1024
_MANIFEST_MAX_BYTES = 1024 * 1024
# A JSON escape of a UTF-16 surrogate; only lines holding one need the (slower) lone-surrogate walk.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")

R = TypeVar("R", bound=Record)


class ExportError(HelpdeskError):
    """The export as a whole cannot be read (no manifest, wrong format or version, missing file).

    Single bad lines never raise this: they become `BadRecord`s. Exit code 2: the input is wrong.
    """

    exit_code = EXIT_USAGE

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message)
        self.path = path


class BadRecord(BaseModel):
    """One line that could not become a record, with enough to find and fix it."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    id: str | None
    field: str | None
    reason: str
    raw: str  # the line, or its first EXCERPT_BYTES when `raw_truncated`: the whole line is in the rejects
    raw_truncated: bool = False


class AttachmentCheck(BaseModel):
    """Whether an attachment's file is present and matches its declared size and sha256."""

    model_config = ConfigDict(frozen=True)

    attachment_id: str
    path: str
    status: Literal["ok", "missing", "sha256_mismatch", "size_mismatch", "unreadable"]
    reason: str
    size: int | None = None
    sha256: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class CountMismatch(BaseModel):
    """A file whose number of lines differs from the manifest's count."""

    model_config = ConfigDict(frozen=True)

    file: str
    declared: int
    found: int


BadRecordSink = Callable[[BadRecord], None]


class RejectsSink(Protocol):
    """Where whole bad lines go: `keep` gets the record and the line's bytes in chunks (read once)."""

    def keep(self, record: BadRecord, chunks: Iterable[bytes]) -> None: ...


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _new_decoder() -> json.JSONDecoder:
    """Decimal for every fractional number, so hours never pass through a float."""
    return json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


# ---------------------------------------------------------------------------- sources


class _Source(Protocol):
    def open(self, name: str) -> BinaryIO: ...
    def size(self, name: str) -> int: ...
    def local_path(self, name: str) -> Path | None: ...
    def close(self) -> None: ...


class _DirSource:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._resolved = root.resolve()

    def local_path(self, name: str) -> Path | None:
        path = self.root / name
        # A symlink inside the export must not lead outside it; a symlink loop or a name too long
        # for the file system is a file that is not there.
        try:
            if not path.resolve().is_relative_to(self._resolved) or not path.is_file():
                return None
        except (OSError, RuntimeError):
            return None
        return path

    def open(self, name: str) -> BinaryIO:
        path = self.local_path(name)
        if path is None:
            raise FileNotFoundError(name)
        return path.open("rb", buffering=_CHUNK)

    def size(self, name: str) -> int:
        path = self.local_path(name)
        if path is None:
            raise FileNotFoundError(name)
        return path.stat().st_size

    def close(self) -> None:
        pass


class _ZipSource:
    def __init__(self, zf: zipfile.ZipFile, prefix: str) -> None:
        self.zf = zf
        self.prefix = prefix

    def _info(self, name: str) -> zipfile.ZipInfo:
        try:
            return self.zf.getinfo(self.prefix + name)
        except KeyError:
            raise FileNotFoundError(name) from None

    def local_path(self, name: str) -> Path | None:
        return None

    def open(self, name: str) -> BinaryIO:
        # ZipExtFile.readline is pure Python; a buffer in front keeps line reading in C.
        return io.BufferedReader(self.zf.open(self._info(name)), _CHUNK)  # type: ignore[arg-type]

    def size(self, name: str) -> int:
        return self._info(name).file_size

    def close(self) -> None:
        self.zf.close()


def _zip_prefix(zf: zipfile.ZipFile, path: Path) -> str:
    """Find the export root inside a zip: the top, or one top-level folder."""
    names = zf.namelist()
    if MANIFEST in names:
        return ""
    roots = [
        n[: -len(MANIFEST)]
        for n in names
        if n.endswith("/" + MANIFEST) and n.count("/") == 1 and not n.startswith("__MACOSX/")
    ]
    if len(roots) == 1:
        return roots[0]
    if roots:
        raise ExportError(f"{path}: several folders hold a {MANIFEST}: {', '.join(sorted(roots))}", path)
    raise ExportError(f"{path}: no {MANIFEST} at the top of the zip or in one top-level folder", path)


def _open_source(path: Path) -> _Source:
    if path.is_dir():
        return _DirSource(path)
    if path.is_file():
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ExportError(f"{path}: not a directory or a readable zip file ({exc})", path) from None
        try:
            return _ZipSource(zf, _zip_prefix(zf, path))
        except ExportError:
            zf.close()
            raise
    raise ExportError(f"{path}: no such directory or zip file", path)


# ---------------------------------------------------------------------------- reasons


def _short(value: object) -> str:
    """A short, safe rendering of an input: never repr a structure (it may be nested 10^5 deep)."""
    if isinstance(value, str):
        return repr(value[:60] + ("…" if len(value) > 60 else ""))
    if isinstance(value, bool | int | Decimal | float) or value is None:
        return json.dumps(value) if not isinstance(value, Decimal) else str(value)
    return json_type(value)


def _clean(text: str) -> str:
    """Make text writable as UTF-8: lone surrogates (from JSON escapes) become \\udXXX."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _error_reason(err: ErrorDetails) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    got = json_type(value)
    match kind:
        case "missing":
            return "required field is missing"
        case "string_type":
            return f"must be a string, got {got}"
        case "bool_type":
            return f"must be true or false, got {got}"
        case "int_type" | "int_parsing" | "int_from_float":
            return f"must be an integer, got {got}"
        case "string_too_short":
            return "must not be empty"
        case "greater_than":
            return f"must be greater than {ctx.get('gt')}, got {_short(value)}"
        case "greater_than_equal":
            return f"must be at least {ctx.get('ge')}, got {_short(value)}"
        case "literal_error":
            return f"must be {ctx.get('expected')}, got {_short(value)}"
        case "tuple_type" | "list_type":
            return f"must be an array, got {got}"
        case "dict_type" | "model_type" | "model_attributes_type":
            return f"must be an object, got {got}"
        case "timezone_aware":
            return "timestamp has no UTC offset"
    return err["msg"]


def _error_field(err: ErrorDetails) -> str | None:
    parts = [str(p) for p in err["loc"]]
    at = (err.get("ctx") or {}).get("at")
    if at:
        parts.extend(str(at).split("."))
    return ".".join(parts) or None


def _describe(exc: ValidationError) -> tuple[str | None, str]:
    """Field and reason of the first problem; the others are named so one re-run can fix all."""
    errors = exc.errors(include_url=False)
    field = _error_field(errors[0])
    reason = _error_reason(errors[0])
    if len(errors) > 1:
        others = [f or "(record)" for f in (_error_field(e) for e in errors[1:6])]
        more = ", ".join(others) + (", …" if len(errors) > 6 else "")
        reason += f" (and {len(errors) - 1} more: {more})"
    return field, reason


def _lone_surrogate_field(obj: object) -> str | None:
    """Path of the first string holding an unpaired UTF-16 surrogate (valid JSON, invalid Unicode).

    Iterative, because the object may be nested as deep as the JSON parser allows.
    """
    stack: list[tuple[str, object]] = [("", obj)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return path or None
        elif isinstance(value, dict):
            for key, item in value.items():
                sub = f"{path}.{key}" if path else str(key)
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:
                    return sub
                stack.append((sub, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item) for i, item in enumerate(value))
    return None


def _salvage_id(text: str) -> str | None:
    """Best effort for lines that are not JSON: the exporter writes `{"id": ...` first."""
    head = text[:300].lstrip()
    if not head.startswith("{"):
        return None
    head = head[1:].lstrip()
    if not head.startswith('"id"'):
        return None
    head = head[4:].lstrip()
    if not head.startswith(":"):
        return None
    head = head[1:].lstrip()
    if not head.startswith('"'):
        return None
    end = head.find('"', 1)
    if end <= 1 or "\\" in head[1:end]:
        return None
    return head[1:end]


# ---------------------------------------------------------------------------- the export


class Export:
    """An opened export: its manifest, streams of valid records, and its attachment files.

    Bad lines go to `on_bad` (default: appended to `bad_records`). Close it, or use it
    as a context manager, to release a zip file.
    """

    def __init__(
        self,
        source: _Source,
        manifest: Manifest,
        location: Path,
        on_bad: BadRecordSink | None,
        max_line_bytes: int,
        rejects: RejectsSink | None = None,
    ) -> None:
        self._source = source
        self.manifest = manifest
        self.location = location
        self.bad_records: list[BadRecord] = []
        self._on_bad: BadRecordSink = on_bad if on_bad is not None else self.bad_records.append
        self._rejects = rejects
        self._max_line_bytes = max_line_bytes
        self._company_ids: frozenset[str] | None = None
        self._user_ids: frozenset[str] | None = None

    def __enter__(self) -> Export:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._source.close()

    # -- records

    def companies(self) -> Iterator[Company]:
        """Valid companies, in file order; bad lines go to the sink."""
        return self._records(COMPANIES, Company, self._on_bad, self._rejects)

    def users(self) -> Iterator[User]:
        """Valid users whose company (if any) is a valid company; bad lines go to the sink."""
        return self._records(USERS, User, self._on_bad, self._rejects)

    def tickets(self) -> Iterator[Ticket]:
        """Valid tickets whose company is a valid company; bad lines go to the sink.

        Users they refer to may be absent (deleted users): see `user_ids()`.
        """
        return self._records(TICKETS, Ticket, self._on_bad, self._rejects)

    def company_ids(self) -> frozenset[str]:
        """Ids of the valid companies (one silent pass, cached)."""
        if self._company_ids is None:
            self._company_ids = frozenset(c.id for c in self._records(COMPANIES, Company, _ignore))
        return self._company_ids

    def user_ids(self) -> frozenset[str]:
        """Ids of the valid users (one silent pass, cached): a reference outside it needs a stand-in."""
        if self._user_ids is None:
            self._user_ids = frozenset(u.id for u in self._records(USERS, User, _ignore))
        return self._user_ids

    def counts_check(self) -> list[CountMismatch]:
        """Compare the manifest's counts with the number of non-blank lines of each file."""
        declared = self.manifest.counts
        mismatches = []
        for name, expected in (
            (COMPANIES, declared.companies),
            (USERS, declared.users),
            (TICKETS, declared.tickets),
        ):
            found = sum(1 for _ in self._lines(name))
            if found != expected:
                mismatches.append(CountMismatch(file=name, declared=expected, found=found))
        return mismatches

    # -- attachments

    def attachment_path(self, att: Attachment) -> Path | None:
        """The file on disk for a directory export; None when missing or inside a zip."""
        return self._source.local_path(att.path)

    def open_attachment(self, att: Attachment) -> BinaryIO:
        """The attachment's bytes, from a directory or a zip; FileNotFoundError when missing."""
        return self._source.open(att.path)

    def check_attachment(self, att: Attachment) -> AttachmentCheck:
        """Is the file there, of the declared size and sha256? Streams it; never loads it whole."""
        base = {"attachment_id": att.id, "path": att.path}
        try:
            size = self._source.size(att.path)
        except FileNotFoundError:
            return AttachmentCheck(**base, status="missing", reason=f"file {att.path} is not in the export")
        if size != att.size:
            return AttachmentCheck(
                **base,
                status="size_mismatch",
                size=size,
                reason=f"file has {size} bytes, the record says {att.size}",
            )
        digest = hashlib.sha256()
        try:
            with self._source.open(att.path) as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
        except (OSError, RuntimeError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
            # A zip member whose CRC is wrong, a file that vanished or cannot be read.
            return AttachmentCheck(**base, status="unreadable", size=size,
                                   reason=f"file {att.path} cannot be read ({type(exc).__name__}: {exc})")
        actual = digest.hexdigest()
        if actual != att.sha256:
            return AttachmentCheck(
                **base,
                status="sha256_mismatch",
                size=size,
                sha256=actual,
                reason=f"file content does not match its sha256 (file {actual[:12]}…, record {att.sha256[:12]}…)",
            )
        return AttachmentCheck(**base, status="ok", size=size, sha256=actual, reason="file matches")

    # -- reading

    def _lines(self, name: str) -> Iterator[tuple[int, bytes, _Tail | None]]:
        """(line number, bytes, tail) for each non-blank line, never holding more than one line.

        A line longer than the limit comes as its first `limit + 1` bytes and a `_Tail` (the rest,
        readable once, in chunks); what the consumer leaves of it is skipped here.
        """
        limit = self._max_line_bytes
        try:
            fh = self._source.open(name)
        except FileNotFoundError:
            raise ExportError(f"{self.location}: {name} is missing from the export", self.location) from None
        try:
            with fh:
                line_no = 0
                while data := fh.readline(limit + 1):
                    line_no += 1
                    if line_no == 1 and data.startswith(codecs.BOM_UTF8):
                        data = data[len(codecs.BOM_UTF8) :]
                    if len(data) > limit and not data.endswith(b"\n"):
                        tail = _Tail(fh)
                        yield line_no, data, tail
                        tail.skip()
                    elif data and not data.isspace():
                        yield line_no, data, None
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ExportError(f"{self.location}: {name} is corrupt in the zip ({exc})", self.location) from None

    def _records(self, name: str, model: type[R], on_bad: BadRecordSink,
                 rejects: RejectsSink | None = None) -> Iterator[R]:
        """Valid records of one file; each bad line becomes one BadRecord (and goes to `rejects`)."""
        needs_company = model is User or model is Ticket
        check = _LineCheck(model, self.company_ids() if needs_company else None, self._max_line_bytes)
        for line_no, data, tail in self._lines(name):
            result = check(line_no, data, tail is not None)
            if isinstance(result, _Problem):
                record = _bad_record(name, line_no, data, result, too_long=tail is not None)
                if rejects is not None:
                    rejects.keep(record, _whole_line(data, tail))
                on_bad(record)
            else:
                yield result


class _Tail:
    """The rest of an over-long line, after its head: readable once, in chunks, up to its newline."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        while not self._done:
            rest = self._fh.readline(_CHUNK)
            if not rest or rest.endswith(b"\n"):
                self._done = True
            if rest:
                yield rest

    def skip(self) -> None:
        for _ in self:
            pass


def _whole_line(head: bytes, tail: _Tail | None) -> Iterator[bytes]:
    yield head
    if tail is not None:
        yield from tail


def _bad_record(name: str, line_no: int, data: bytes, problem: _Problem, *, too_long: bool) -> BadRecord:
    """The record of a bad line, with a bounded excerpt of it (valid UTF-8 stays whole characters)."""
    end = len(data) - (2 if data.endswith(b"\r\n") else 1 if data.endswith(b"\n") else 0)
    truncated = too_long or end > EXCERPT_BYTES
    decoder = codecs.getincrementaldecoder("utf-8")("backslashreplace")
    raw = decoder.decode(data[: min(end, EXCERPT_BYTES)], final=not truncated)
    rid = problem.id if problem.id is not None else _salvage_id(raw)
    return BadRecord(
        file=name,
        line=line_no,
        id=_clean(rid) if rid is not None else None,
        field=_clean(problem.field) if problem.field is not None else None,
        reason=_clean(problem.reason),
        raw=raw,
        raw_truncated=truncated,
    )


class _Problem(NamedTuple):
    id: str | None
    field: str | None
    reason: str


class _LineCheck(Generic[R]):
    """Turns one line into a record or a problem; state is the ids seen so far in this file.

    This is the hot loop: the good path does only decode, parse, one dict lookup, validate.
    """

    def __init__(self, model: type[R], company_ids: frozenset[str] | None, max_line_bytes: int) -> None:
        self._validate = model.model_validate
        self._decode = _new_decoder().decode
        self._company_ids = company_ids
        self._max_line_bytes = max_line_bytes
        self._seen: dict[str, int] = {}
        self._nested = _NestedIds() if model is Ticket else None

    def __call__(self, line_no: int, data: bytes, too_long: bool) -> R | _Problem:
        if too_long:
            return _Problem(None, None, f"line is longer than {self._max_line_bytes} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _Problem(None, None, f"line is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})")
        try:
            obj = self._decode(text)
        except json.JSONDecodeError as exc:
            if exc.pos >= len(text.rstrip()):
                return _Problem(None, None, "not valid JSON: the line ends before the JSON does (truncated?)")
            return _Problem(None, None, f"not valid JSON: {exc.msg.removesuffix(' at')} at character {exc.pos + 1}")
        except ValueError as exc:  # NaN / Infinity, refused by the decoder
            return _Problem(None, None, f"not valid JSON: {exc}")
        except RecursionError:
            return _Problem(None, None, "JSON is nested too deeply")
        if not isinstance(obj, dict):
            return _Problem(None, None, f"line is {json_type(obj)}, not a JSON object")

        rid = obj.get("id")
        if isinstance(rid, str):
            first = self._seen.setdefault(rid, line_no)
            if first != line_no:
                return _Problem(rid, "id", f"duplicate id {rid}, first seen on line {first}")
        else:
            rid = str(rid) if isinstance(rid, int) and not isinstance(rid, bool) else None
        if b"\\" in data and _SURROGATE_ESCAPE.search(data):  # memchr first: most lines hold no escape
            where = _lone_surrogate_field(obj)
            if where is not None:
                return _Problem(rid, where, "text holds an unpaired UTF-16 surrogate (not valid Unicode)")
        try:
            record = self._validate(obj)
        except ValidationError as exc:
            return _Problem(rid, *_describe(exc))
        except RecursionError:
            return _Problem(rid, None, "record is nested too deeply")
        if self._company_ids is not None:
            company_id = record.company_id  # type: ignore[attr-defined]
            if company_id is not None and company_id not in self._company_ids:
                return _Problem(rid, "company_id", f"company {company_id} is not a valid record of {COMPANIES}")
        if self._nested is not None:
            repeated = self._nested.check(record, line_no)  # type: ignore[arg-type]
            if repeated is not None:
                return _Problem(rid, *repeated)
        return record


class _NestedIds:
    """Ids inside tickets that the migration keys its exactly-once on: a comment's or an attachment's
    within its ticket, a time entry's across the file. A repeat would make the second object look
    "already migrated", so the ticket that repeats one is a bad record."""

    def __init__(self) -> None:
        self._time_entries: dict[str, tuple[str, int]] = {}  # entry id -> (ticket id, line)

    def check(self, ticket: Ticket, line_no: int) -> tuple[str, str] | None:
        for what, ids in (("comments", [c.id for c in ticket.comments]),
                          ("attachments", [a.id for a in ticket.attachments]
                           + [a.id for c in ticket.comments for a in c.attachments]),
                          ("time_entries", [e.id for e in ticket.time_entries])):
            seen: set[str] = set()
            for index, item_id in enumerate(ids):
                if item_id in seen:
                    return f"{what}.{index}.id", f"id {item_id} is repeated within the ticket"
                seen.add(item_id)
        for index, entry in enumerate(ticket.time_entries):
            first = self._time_entries.get(entry.id)
            if first is not None and first[0] != ticket.id:
                return (f"time_entries.{index}.id",
                        f"time entry id {entry.id} is already used by ticket {first[0]} on line {first[1]}")
        for entry in ticket.time_entries:
            self._time_entries.setdefault(entry.id, (ticket.id, line_no))
        return None


def _ignore(record: BadRecord) -> None:
    """Sink for the silent id passes: the real pass reports the same lines."""


def _read_manifest(source: _Source, location: Path) -> Manifest:
    try:
        with source.open(MANIFEST) as fh:
            data = fh.read(_MANIFEST_MAX_BYTES + 1)
    except FileNotFoundError:
        raise ExportError(f"{location}: no {MANIFEST}: not a portal export", location) from None
    if len(data) > _MANIFEST_MAX_BYTES:
        raise ExportError(f"{location}: {MANIFEST} is larger than {_MANIFEST_MAX_BYTES} bytes", location)
    try:
        obj = _new_decoder().decode(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ExportError(f"{location}: {MANIFEST} is not valid JSON ({exc})", location) from None
    if not isinstance(obj, dict):
        raise ExportError(f"{location}: {MANIFEST} is {json_type(obj)}, not a JSON object", location)
    if obj.get("format") != FORMAT:
        raise ExportError(
            f"{location}: {MANIFEST} format is {_short(obj.get('format'))}, expected {FORMAT!r}: not a portal export",
            location,
        )
    version = obj.get("version")
    if version != VERSION or isinstance(version, bool):
        raise ExportError(
            f"{location}: export format version {_short(version)} is not supported "
            f"(this reader reads version {VERSION})",
            location,
        )
    try:
        return Manifest.model_validate(obj)
    except ValidationError as exc:
        field, reason = _describe(exc)
        raise ExportError(f"{location}: {MANIFEST}: {field}: {reason}", location) from None


def open_export(
    path: str | os.PathLike[str],
    *,
    on_bad: BadRecordSink | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    rejects: RejectsSink | None = None,
) -> Export:
    """Open a directory or a .zip export, read and check its manifest; records are read lazily.

    Bad lines go to `on_bad` as records with an excerpt, and whole to `rejects` when given.
    Raises ExportError when the export as a whole is unusable.
    """
    location = Path(path)
    source = _open_source(location)
    try:
        manifest = _read_manifest(source, location)
        for name in (COMPANIES, USERS, TICKETS):
            try:
                source.size(name)
            except FileNotFoundError:
                raise ExportError(f"{location}: {name} is missing from the export", location) from None
    except BaseException:
        source.close()
        raise
    return Export(source, manifest, location, on_bad, max_line_bytes, rejects)

