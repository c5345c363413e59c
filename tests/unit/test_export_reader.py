"""The export reader against the contract (shared/portal-export-v1.md): one bad-record test per rule."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
import zipfile
from collections.abc import Callable, Iterable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from helpdesk_core.export import (
    EXCERPT_BYTES,
    BadRecord,
    Export,
    ExportError,
    open_export,
)
from helpdesk_core.export_model import Ticket
from migrator.rejects import RejectsDir

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "export"
DELETE = object()
FILES = {"companies": "companies.jsonl", "users": "users.jsonl", "tickets": "tickets.jsonl"}


# ---------------------------------------------------------------------------- builders


def company(cid: str = "C1", **kw: Any) -> dict[str, Any]:
    return {"id": cid, "name": "ООО «Ромашка Тревел»", "email_domains": ["romashka.travel"], **kw}


def user(uid: str = "U10", **kw: Any) -> dict[str, Any]:
    return {
        "id": uid,
        "login": "i.ivanov",
        "email": "I.Ivanov@Romashka.travel",
        "first_name": "Иван",
        "last_name": "Иванов",
        "company_id": "C1",
        "kind": "client",
        "active": True,
        "created_at": "2021-03-04T11:22:33+03:00",
        **kw,
    }


def staff(uid: str = "U1", **kw: Any) -> dict[str, Any]:
    return user(
        uid, **{"login": "a.petrov", "email": "a.petrov@nemo.travel", "company_id": None, "kind": "staff", **kw}
    )


def attachment(aid: str = "A1", **kw: Any) -> dict[str, Any]:
    return {
        "id": aid,
        "filename": "terminal.png",
        "content_type": "image/png",
        "size": 5,
        "sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",  # sha256(b"hello")
        "path": "attachments/9/terminal.png",
        "author_id": "U10",
        "created_at": "2024-05-06T18:51:00+03:00",
        **kw,
    }


def ticket(tid: str = "T1", **kw: Any) -> dict[str, Any]:
    return {
        "id": tid,
        "company_id": "C1",
        "author_id": "U10",
        "created_at": "2024-05-06T18:50:00+03:00",
        "updated_at": "2024-05-09T12:00:00+03:00",
        "reason": "Ошибка в работе системы",
        "priority": "Критический",
        "module": "Авиа",
        "category": "Бронирование",
        "subject": "Не выписывается билет по заказу 1234567",
        "description": "Текст обращения",
        "description_format": "text",
        "status": "Требует обратной связи",
        "assignee_id": "U1",
        "answers": {"Учетная запись": "agent_007"},
        "attachments": [attachment()],
        "comments": [
            {
                "id": "M1",
                "author_id": "U1",
                "created_at": "2024-05-07T10:05:00+03:00",
                "body": "Уточните номер PNR.",
                "internal": False,
                "attachments": [],
            },
            {
                "id": "M2",
                "author_id": "U10",
                "created_at": "2024-05-07T11:00:00+03:00",
                "body": "ABC123",
                "internal": False,
                "attachments": [attachment("A2", path="attachments/10/pnr.txt")],
            },
        ],
        "complaints": [{"author_id": "U10", "created_at": "2024-05-08T11:00:00+03:00", "text": "Нет ответа"}],
        "time_entries": [
            {"id": f"W3-{tid}", "user_id": "U1", "spent_on": "2024-05-07", "hours": Decimal("0.75"),
             "comment": "Настройка"}
        ],
        "closed_at": None,
        **kw,
    }


Line = dict[str, Any] | str | bytes


def encode(line: Line) -> bytes:
    if isinstance(line, bytes):
        return line
    if isinstance(line, str):
        return line.encode("utf-8")
    return json.dumps(line, ensure_ascii=False, default=str).encode("utf-8")


def dumps(obj: dict[str, Any]) -> str:
    """JSON with Decimals written as numbers, as the exporter writes hours."""
    return json.dumps(obj, ensure_ascii=False, default=_decimal_marker).replace('"<<', "").replace('>>"', "")


def _decimal_marker(value: object) -> str:
    return f"<<{value}>>"


def write_export(
    root: Path,
    *,
    companies: Iterable[Line] = (company(),),
    users: Iterable[Line] = (staff(), user()),
    tickets: Iterable[Line] = (ticket(),),
    manifest: dict[str, Any] | None = None,
    files: dict[str, bytes] | None = None,
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    counts = {}
    for key, lines in (("companies", companies), ("users", users), ("tickets", tickets)):
        raw = [dumps(line).encode() if isinstance(line, dict) else encode(line) for line in lines]
        (root / FILES[key]).write_bytes(b"".join(r + b"\n" for r in raw))
        counts[key] = sum(1 for r in raw if r.strip())
    base = {"format": "nemo-portal-export", "version": 1, "exported_at": "2026-11-20T09:00:00+03:00", "counts": counts}
    (root / "manifest.json").write_text(json.dumps(manifest if manifest is not None else base), "utf-8")
    for rel, data in (files if files is not None else {"attachments/9/terminal.png": b"hello"}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def zip_tree(root: Path, target: Path, top: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, top + path.relative_to(root).as_posix())
    return target


def read_all(export: Export) -> dict[str, list[Any]]:
    return {
        "companies": list(export.companies()),
        "users": list(export.users()),
        "tickets": list(export.tickets()),
        "bad": list(export.bad_records),
    }


def mutate(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    record = copy.deepcopy(record)
    *parents, last = path.split(".")
    target: Any = record
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    elif value is DELETE:
        del target[last]
    else:
        target[last] = value
    return record


GOOD = {"companies": company, "users": user, "tickets": ticket}


# ---------------------------------------------------------------------------- one test per rule

# (file, path to change, new value, expected id, expected field, expected reason)
RULES: list[tuple[str, str, Any, str | None, str, str]] = [
    # companies.jsonl
    ("companies", "id", DELETE, None, "id", "required field is missing"),
    ("companies", "id", 17, "17", "id", "must be a string, got a number"),
    ("companies", "id", "", "", "id", "must not be empty"),
    ("companies", "name", None, "X", "name", "must be a string, got null"),
    ("companies", "email_domains", "a.ru", "X", "email_domains", "must be an array, got a string"),
    ("companies", "email_domains", [1], "X", "email_domains.0", "must be a string, got a number"),
    # users.jsonl
    ("users", "login", DELETE, "X", "login", "required field is missing"),
    ("users", "email", DELETE, "X", "email", "required field is missing"),
    ("users", "email", 5, "X", "email", "must be a string, got a number"),
    ("users", "email", "ivanov", "X", "email", "malformed email address 'ivanov'"),
    ("users", "email", "i@x@y.ru", "X", "email", "malformed email address 'i@x@y.ru'"),
    ("users", "email", "@romashka.travel", "X", "email", "malformed email address '@romashka.travel'"),
    ("users", "email", "i@localhost", "X", "email", "malformed email address 'i@localhost'"),
    ("users", "email", "i @x.ru", "X", "email", "malformed email address 'i @x.ru'"),
    ("users", "email", "i@x..ru", "X", "email", "malformed email address 'i@x..ru'"),
    ("users", "first_name", None, "X", "first_name", "must be a string, got null"),
    ("users", "last_name", DELETE, "X", "last_name", "required field is missing"),
    ("users", "kind", "admin", "X", "kind", "must be 'client' or 'staff', got 'admin'"),
    ("users", "company_id", None, "X", "company_id", "company_id is null but only staff may have no company"),
    ("users", "company_id", DELETE, "X", "company_id", "required field is missing"),
    ("users", "company_id", "C404", "X", "company_id", "company C404 is not a valid record of companies.jsonl"),
    ("users", "active", "true", "X", "active", "must be true or false, got a string"),
    ("users", "created_at", "2021-03-04T11:22:33", "X", "created_at", "timestamp has no UTC offset"),
    ("users", "created_at", "2021-03-04", "X", "created_at", "timestamp has no UTC offset"),
    ("users", "created_at", 1700000000, "X", "created_at", "timestamp must be an ISO 8601 string, got a number"),
    ("users", "created_at", "04.03.2021 11:22", "X", "created_at", "not an ISO 8601 timestamp: '04.03.2021 11:22'"),
    # tickets.jsonl: the ticket itself
    ("tickets", "company_id", DELETE, "X", "company_id", "required field is missing"),
    ("tickets", "company_id", None, "X", "company_id", "must be a string, got null"),
    ("tickets", "company_id", "C404", "X", "company_id", "company C404 is not a valid record of companies.jsonl"),
    ("tickets", "author_id", DELETE, "X", "author_id", "required field is missing"),
    ("tickets", "author_id", 7, "X", "author_id", "must be a string, got a number"),
    ("tickets", "created_at", "2024-05-06T18:50:00", "X", "created_at", "timestamp has no UTC offset"),
    ("tickets", "updated_at", DELETE, "X", "updated_at", "required field is missing"),
    ("tickets", "reason", None, "X", "reason", "must be a string, got null"),
    ("tickets", "priority", 3, "X", "priority", "must be a string, got a number"),
    ("tickets", "status", DELETE, "X", "status", "required field is missing"),
    ("tickets", "module", 5, "X", "module", "must be a string, got a number"),
    ("tickets", "category", DELETE, "X", "category", "required field is missing"),
    ("tickets", "subject", "", "X", "subject", "must not be empty"),
    ("tickets", "subject", "  \t", "X", "subject", "must not be empty"),
    ("tickets", "subject", DELETE, "X", "subject", "required field is missing"),
    ("tickets", "description", None, "X", "description", "must be a string, got null"),
    (
        "tickets",
        "description_format",
        "markdown",
        "X",
        "description_format",
        "must be 'text' or 'html', got 'markdown'",
    ),
    ("tickets", "assignee_id", 7, "X", "assignee_id", "must be a string, got a number"),
    ("tickets", "answers", ["a"], "X", "answers", "must be an object, got an array"),
    ("tickets", "answers", {"Версия браузера": 120}, "X", "answers.Версия браузера", "must be a string, got a number"),
    ("tickets", "closed_at", "2024-05-09T12:00:00", "X", "closed_at", "timestamp has no UTC offset"),
    ("tickets", "closed_at", DELETE, "X", "closed_at", "required field is missing"),
    # attachments
    ("tickets", "attachments", DELETE, "X", "attachments", "required field is missing"),
    ("tickets", "attachments", {}, "X", "attachments", "must be an array, got an object"),
    ("tickets", "attachments.0.sha256", "abc", "X", "attachments.0.sha256", "sha256 must be 64 hexadecimal characters"),
    (
        "tickets",
        "attachments.0.sha256",
        "g" * 64,
        "X",
        "attachments.0.sha256",
        "sha256 must be 64 hexadecimal characters",
    ),
    (
        "tickets",
        "attachments.0.path",
        "/etc/passwd",
        "X",
        "attachments.0.path",
        "attachment path must be relative to the export root",
    ),
    (
        "tickets",
        "attachments.0.path",
        "C:/x.png",
        "X",
        "attachments.0.path",
        "attachment path must be relative to the export root",
    ),
    (
        "tickets",
        "attachments.0.path",
        "attachments/../../x",
        "X",
        "attachments.0.path",
        "attachment path must not contain '..'",
    ),
    (
        "tickets",
        "attachments.0.path",
        "attachments\\x.png",
        "X",
        "attachments.0.path",
        "attachment path must use '/' and contain no NUL or '\\'",
    ),
    ("tickets", "attachments.0.path", "", "X", "attachments.0.path", "attachment path is empty"),
    ("tickets", "attachments.0.size", -1, "X", "attachments.0.size", "must be at least 0, got -1"),
    ("tickets", "attachments.0.size", "12", "X", "attachments.0.size", "must be an integer, got a string"),
    ("tickets", "attachments.0.size", Decimal("1.5"), "X", "attachments.0.size", "must be an integer, got a number"),
    ("tickets", "attachments.0.author_id", DELETE, "X", "attachments.0.author_id", "required field is missing"),
    (
        "tickets",
        "attachments.0.created_at",
        "2024-05-06T18:51",
        "X",
        "attachments.0.created_at",
        "timestamp has no UTC offset",
    ),
    # comments
    (
        "tickets",
        "comments.1.created_at",
        "2024-05-07T11:00:00",
        "X",
        "comments.1.created_at",
        "timestamp has no UTC offset",
    ),
    ("tickets", "comments.0.internal", "no", "X", "comments.0.internal", "must be true or false, got a string"),
    ("tickets", "comments.0.body", DELETE, "X", "comments.0.body", "required field is missing"),
    ("tickets", "comments.0.attachments", DELETE, "X", "comments.0.attachments", "required field is missing"),
    (
        "tickets",
        "comments.1.attachments.0.sha256",
        "0" * 63,
        "X",
        "comments.1.attachments.0.sha256",
        "sha256 must be 64 hexadecimal characters",
    ),
    (
        "tickets",
        "comments.1.created_at",
        "2024-05-07T09:00:00+03:00",
        "X",
        "comments.1.created_at",
        "comment is older than the one before it (comments must be in time order)",
    ),
    # complaints and time entries
    ("tickets", "complaints.0.text", DELETE, "X", "complaints.0.text", "required field is missing"),
    (
        "tickets",
        "complaints.0.created_at",
        "вчера",
        "X",
        "complaints.0.created_at",
        "not an ISO 8601 timestamp: 'вчера'",
    ),
    ("tickets", "time_entries.0.hours", 0, "X", "time_entries.0.hours", "must be greater than 0, got 0"),
    (
        "tickets",
        "time_entries.0.hours",
        Decimal("-1.5"),
        "X",
        "time_entries.0.hours",
        "must be greater than 0, got -1.5",
    ),
    ("tickets", "time_entries.0.hours", "1.5", "X", "time_entries.0.hours", "hours must be a number, got a string"),
    ("tickets", "time_entries.0.hours", True, "X", "time_entries.0.hours", "hours must be a number, got a boolean"),
    (
        "tickets",
        "time_entries.0.spent_on",
        "2024-05-07T10:00:00+03:00",
        "X",
        "time_entries.0.spent_on",
        "not an ISO 8601 date (YYYY-MM-DD): '2024-05-07T10:00:00+03:00'",
    ),
    (
        "tickets",
        "time_entries.0.spent_on",
        20240507,
        "X",
        "time_entries.0.spent_on",
        "date must be an ISO 8601 string, got a number",
    ),
    ("tickets", "time_entries.0.user_id", DELETE, "X", "time_entries.0.user_id", "required field is missing"),
]


@pytest.mark.parametrize(("file", "path", "value", "rid", "field", "reason"), RULES, ids=lambda v: str(v)[:40])
def test_each_rule_makes_a_bad_record(
    tmp_path: Path, file: str, path: str, value: Any, rid: str | None, field: str, reason: str
) -> None:
    make = GOOD[file]
    bad_line = mutate(make("X"), path, value)
    lines = {file: [make("G1"), bad_line, make("G2")]}
    if file == "companies":  # users and tickets refer to C1
        lines["companies"] = [company("C1"), *lines["companies"]]
    root = write_export(tmp_path / "e", **lines)

    with open_export(root) as export:
        got = read_all(export)

    line = 3 if file == "companies" else 2
    assert got["bad"] == [
        BadRecord(file=FILES[file], line=line, id=rid, field=field, reason=reason, raw=dumps(bad_line))
    ]
    assert [r.id for r in got[file] if r.id != "C1"] == ["G1", "G2"]


def raw_ticket_line(**kw: Any) -> str:
    return dumps(ticket("X", **kw))


# (raw line, expected id, expected field, expected reason)
LINE_RULES: list[tuple[bytes, str | None, str | None, str]] = [
    (b'{"id": "T9", "subject": "trunc', "T9", None, "not valid JSON: the line ends before the JSON does (truncated?)"),
    (b"{'id': 'T9'}", None, None, "not valid JSON: Expecting property name enclosed in double quotes at character 2"),
    (b'{"id": "T9"} {}', "T9", None, "not valid JSON: Extra data at character 14"),
    (b"[1, 2]", None, None, "line is an array, not a JSON object"),
    (b'"just a string"', None, None, "line is a string, not a JSON object"),
    (b"null", None, None, "line is null, not a JSON object"),
    (b'{"id": "T9", "x": \xff\xfe}', "T9", None, "line is not valid UTF-8 (byte 0xff at offset 18)"),
    (b'{"id": "T9", "hours": NaN}', "T9", None, "not valid JSON: NaN is not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, None, None, "JSON is nested too deeply"),
    (b'{"id": "T9", "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "T9", None, "JSON is nested too deeply"),
    (
        raw_ticket_line(subject="bad SURROGATE text").replace("SURROGATE", "\\ud800").encode(),
        "X",
        "subject",
        "text holds an unpaired UTF-16 surrogate (not valid Unicode)",
    ),
    (dumps(ticket(7)).encode(), "7", "id", "must be a string, got a number"),  # type: ignore[arg-type]
    (
        b"{}",
        None,
        "id",
        "required field is missing (and 15 more: company_id, author_id, created_at, updated_at, reason, …)",
    ),
]


@pytest.mark.parametrize(("raw", "rid", "field", "reason"), LINE_RULES, ids=lambda v: repr(v)[:40])
def test_line_level_problems_are_bad_records(
    tmp_path: Path, raw: bytes, rid: str | None, field: str | None, reason: str
) -> None:
    root = write_export(tmp_path / "e", tickets=[ticket("G1"), raw, ticket("G2")])
    with open_export(root) as export:
        got = read_all(export)
    assert [t.id for t in got["tickets"]] == ["G1", "G2"]
    [bad] = got["bad"]
    assert (bad.file, bad.line, bad.id, bad.field, bad.reason) == ("tickets.jsonl", 2, rid, field, reason)
    assert bad.raw == raw[:EXCERPT_BYTES].decode("utf-8", "backslashreplace")  # an excerpt, never more
    assert bad.raw_truncated is (len(raw) > EXCERPT_BYTES)


def test_overlong_line_is_bad_and_skipped_without_reading_it_whole(tmp_path: Path) -> None:
    huge = '{"id": "T9", "subject": "' + "x" * 300_000 + '"}'
    root = write_export(tmp_path / "e", tickets=[ticket("G1"), huge, ticket("G2")])
    with open_export(root, max_line_bytes=100_000) as export:
        got = read_all(export)
    assert [t.id for t in got["tickets"]] == ["G1", "G2"]
    [bad] = got["bad"]
    assert (bad.line, bad.id, bad.field) == (2, "T9", None)
    assert bad.reason == "line is longer than 100000 bytes"
    assert bad.raw == huge[:EXCERPT_BYTES] and bad.raw_truncated


def test_duplicate_ids_name_the_first_line(tmp_path: Path) -> None:
    tickets: list[Line] = [ticket(f"T{i}") for i in range(1, 12)] + [ticket("T5", subject="again"), ticket("T5")]
    root = write_export(tmp_path / "e", tickets=tickets)
    with open_export(root) as export:
        got = read_all(export)
    assert [t.id for t in got["tickets"]] == [f"T{i}" for i in range(1, 12)]
    assert [(b.line, b.id, b.field, b.reason) for b in got["bad"]] == [
        (12, "T5", "id", "duplicate id T5, first seen on line 5"),
        (13, "T5", "id", "duplicate id T5, first seen on line 5"),
    ]


def test_a_bad_first_occurrence_still_claims_its_id(tmp_path: Path) -> None:
    root = write_export(tmp_path / "e", tickets=[ticket("T1", subject=""), ticket("T1")])
    with open_export(root) as export:
        got = read_all(export)
    assert got["tickets"] == []
    assert [(b.line, b.reason) for b in got["bad"]] == [
        (1, "must not be empty"),
        (2, "duplicate id T1, first seen on line 1"),
    ]


def test_several_problems_are_all_named(tmp_path: Path) -> None:
    bad = mutate(mutate(ticket("X"), "subject", ""), "comments.0.internal", "no")
    root = write_export(tmp_path / "e", tickets=[bad])
    with open_export(root) as export:
        read_all(export)
    [record] = export.bad_records
    assert record.field == "subject"
    assert record.reason == "must not be empty (and 1 more: comments.0.internal)"


# ---------------------------------------------------------------------------- what is not bad


def test_references_to_missing_users_are_not_bad(tmp_path: Path) -> None:
    t = ticket("T1", author_id="U404", assignee_id="U405")
    t = mutate(t, "comments.0.author_id", "U406")
    t = mutate(t, "attachments.0.author_id", "U407")
    t = mutate(t, "time_entries.0.user_id", "U408")
    t = mutate(t, "complaints.0.author_id", "U409")
    root = write_export(tmp_path / "e", tickets=[t])
    with open_export(root) as export:
        got = read_all(export)
        assert export.user_ids() == {"U1", "U10"}
    assert [x.id for x in got["tickets"]] == ["T1"]
    assert got["bad"] == []


def test_bad_users_and_companies_are_left_out_of_the_id_sets(tmp_path: Path) -> None:
    root = write_export(
        tmp_path / "e",
        companies=[company("C1"), company("C2", name=None)],
        users=[staff("U1"), user("U10"), user("U11", email="broken"), user("U12", company_id="C2")],
    )
    with open_export(root) as export:
        assert export.company_ids() == {"C1"}
        assert export.user_ids() == {"U1", "U10"}
        assert export.bad_records == []  # the id passes are silent; reading reports
        got = read_all(export)
    assert [(b.file, b.line, b.id, b.field) for b in got["bad"]] == [
        ("companies.jsonl", 2, "C2", "name"),
        ("users.jsonl", 3, "U11", "email"),
        ("users.jsonl", 4, "U12", "company_id"),
    ]
    assert got["bad"][2].reason == "company C2 is not a valid record of companies.jsonl"


def test_good_records_keep_their_values(tmp_path: Path) -> None:
    t = ticket("T1", extra_field_from_v1_1={"x": [1]})
    t["time_entries"] = [
        {"id": "W1", "user_id": "U1", "spent_on": "2024-05-07", "hours": Decimal("2.2"), "comment": ""},
        {"id": "W2", "user_id": "U1", "spent_on": "2024-05-07", "hours": 1, "comment": ""},
        {
            "id": "W3",
            "user_id": "U1",
            "spent_on": "2024-05-07",
            "hours": Decimal("0.1000000000000000055511151231257827"),
            "comment": "",
        },
    ]
    minimal = ticket("T2", created_at="2024-05-06T15:50:00Z", updated_at="2024-05-06T20:50:00+05:00", module=None)
    for key in ("assignee_id", "answers", "complaints", "time_entries"):
        del minimal[key]
    root = write_export(tmp_path / "e", users=[staff("U1", company_id="C1"), user()], tickets=[t, minimal])
    with open_export(root) as export:
        got = read_all(export)
    assert got["bad"] == []
    first, second = got["tickets"]
    assert [w.hours for w in first.time_entries] == [
        Decimal("2.2"),
        Decimal(1),
        Decimal("0.1000000000000000055511151231257827"),
    ]
    assert all(isinstance(w.hours, Decimal) for w in first.time_entries)
    assert first.attachments[0].sha256 == attachment()["sha256"]
    assert second.assignee_id is None and second.answers == {} and second.complaints == ()
    assert second.created_at.utcoffset() == timedelta(0)
    assert second.updated_at.utcoffset() == timedelta(hours=5)
    assert got["users"][0].company_id == "C1"  # staff may belong to a company
    with pytest.raises(ValidationError):
        first.subject = "changed"  # type: ignore[misc]


def test_blank_lines_crlf_and_bom_are_tolerated_and_lines_keep_their_numbers(tmp_path: Path) -> None:
    root = write_export(tmp_path / "e")
    good = dumps(ticket("T1")).encode()
    (root / "tickets.jsonl").write_bytes(
        b"\xef\xbb\xbf" + good + b"\r\n\r\n   \n" + b"{oops}\r\n" + dumps(ticket("T2")).encode()
    )
    with open_export(root) as export:
        got = read_all(export)
    assert [t.id for t in got["tickets"]] == ["T1", "T2"]
    assert [(b.line, b.raw) for b in got["bad"]] == [(4, "{oops}")]


def test_records_are_streamed_lazily(tmp_path: Path) -> None:
    root = write_export(tmp_path / "e", tickets=[ticket("T1"), b"\xff" * 10])
    with open_export(root) as export:
        first = next(export.tickets())
        assert first.id == "T1"
        assert export.bad_records == []  # the second line has not been read yet


def test_bad_records_go_to_the_given_sink_and_whole_to_the_rejects(tmp_path: Path) -> None:
    sink: list[BadRecord] = []
    raws: list[Line] = [b"\xffnot utf-8", '{"id": "T2", "subject": "Ромашка', ticket("T3", subject="")]
    root = write_export(tmp_path / "e", tickets=raws)
    rejects = RejectsDir(tmp_path / "rejects")
    with open_export(root, on_bad=sink.append, rejects=rejects) as export:
        assert list(export.tickets()) == []
    assert rejects.close() == tmp_path / "rejects"
    assert export.bad_records == []
    assert [b.id for b in sink] == [None, "T2", "T3"]
    assert sink[0].raw == "\\xffnot utf-8"
    # the lines themselves, byte for byte, and an index naming each
    assert (tmp_path / "rejects" / "tickets.jsonl").read_bytes() == (root / "tickets.jsonl").read_bytes()
    index = [json.loads(line) for line in (tmp_path / "rejects" / "index.jsonl").read_text("utf-8").splitlines()]
    assert [(i["file"], i["line"], i["id"], i["rejects_line"]) for i in index] == [
        ("tickets.jsonl", n, rid, n) for n, rid in ((1, None), (2, "T2"), (3, "T3"))]
    assert [i["reason"] for i in index] == [b.reason for b in sink]


# ---------------------------------------------------------------------------- manifest and layout


def test_manifest_counts_are_checked_against_lines(tmp_path: Path) -> None:
    root = write_export(tmp_path / "e", tickets=[ticket("T1"), "not json", ""])
    with open_export(root) as export:
        assert export.manifest.counts.tickets == 2
        assert export.counts_check() == []
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["counts"]["tickets"] = 5
    (root / "manifest.json").write_text(json.dumps(manifest))
    with open_export(root) as export:
        [mismatch] = export.counts_check()
    assert (mismatch.file, mismatch.declared, mismatch.found) == ("tickets.jsonl", 5, 2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(format="zendesk"), "manifest.json format is 'zendesk', expected 'nemo-portal-export'"),
        (lambda m: m.update(version=2), "export format version 2 is not supported (this reader reads version 1)"),
        (lambda m: m.update(version="1"), "export format version '1' is not supported"),
        (lambda m: m.pop("counts"), "manifest.json: counts: required field is missing"),
        (lambda m: m.update(exported_at="2026-11-20T09:00:00"), "exported_at: timestamp has no UTC offset"),
    ],
)
def test_manifest_problems_stop_with_a_clear_error(
    tmp_path: Path, change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    root = write_export(tmp_path / "e")
    manifest = json.loads((root / "manifest.json").read_text())
    change(manifest)
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ExportError, match=re.escape(message)):
        open_export(root)


def test_unusable_exports_stop_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no such directory or zip file"):
        open_export(tmp_path / "nowhere")
    root = write_export(tmp_path / "e")
    (root / "manifest.json").write_text("{not json")
    with pytest.raises(ExportError, match="manifest.json is not valid JSON"):
        open_export(root)
    (root / "manifest.json").unlink()
    with pytest.raises(ExportError, match="no manifest.json: not a portal export"):
        open_export(root)
    root = write_export(tmp_path / "f")
    (root / "users.jsonl").unlink()
    with pytest.raises(ExportError, match="users.jsonl is missing from the export"):
        open_export(root)
    not_zip = tmp_path / "export.zip"
    not_zip.write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(ExportError, match="not a directory or a readable zip file"):
        open_export(not_zip)


def _everything(export: Export) -> dict[str, Any]:
    got = read_all(export)
    return {
        key: [r.model_dump(exclude={"raw"}) if key == "bad" else r.model_dump() for r in records]
        for key, records in got.items()
    } | {"ids": (export.company_ids(), export.user_ids()), "counts": export.counts_check()}


@pytest.mark.parametrize("top", ["", "portal-export-2026-11-20/"])
def test_zip_and_directory_give_the_same_result(tmp_path: Path, top: str) -> None:
    root = write_export(
        tmp_path / "e",
        users=[staff(), user(), user("U11", email="bad")],
        tickets=[ticket("T1"), "garbage", ticket("T1"), ticket("T2", company_id="C9")],
    )
    archive = zip_tree(root, tmp_path / "export.zip", top)
    with open_export(root) as from_dir, open_export(archive) as from_zip:
        assert _everything(from_zip) == _everything(from_dir)
        assert len(from_dir.bad_records) == 4


def test_zip_with_several_top_folders_is_refused(tmp_path: Path) -> None:
    root = write_export(tmp_path / "e")
    archive = zip_tree(root, tmp_path / "export.zip", "a/")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("b/manifest.json", "{}")
    with pytest.raises(ExportError, match="several folders hold a manifest.json: a/, b/"):
        open_export(archive)


# ---------------------------------------------------------------------------- attachments


def _attachment_statuses(export: Export) -> dict[str, str]:
    [t] = list(export.tickets())
    atts = [*t.attachments, *(a for c in t.comments for a in c.attachments)]
    return {a.id: export.check_attachment(a).status for a in atts}


def test_attachments_are_checked_in_directory_and_zip(tmp_path: Path) -> None:
    t = ticket("T1")
    t["attachments"] = [
        attachment("A1"),
        attachment("A2", path="attachments/2/other.png"),  # sha256 of b"hello", holds b"world"
        attachment("A3", path="attachments/3/short.png"),  # 5 bytes declared, 3 there
        attachment("A4", path="attachments/4/gone.png"),
    ]
    t["comments"][1]["attachments"] = []
    files = {
        "attachments/9/terminal.png": b"hello",
        "attachments/2/other.png": b"world",
        "attachments/3/short.png": b"hel",
    }
    root = write_export(tmp_path / "e", tickets=[t], files=files)
    expected = {"A1": "ok", "A2": "sha256_mismatch", "A3": "size_mismatch", "A4": "missing"}
    with open_export(root) as export:
        assert _attachment_statuses(export) == expected
        first = Ticket.model_validate(t).attachments[0]
        assert export.attachment_path(first) == root / "attachments/9/terminal.png"
        assert export.attachment_path(Ticket.model_validate(t).attachments[3]) is None
        check = export.check_attachment(Ticket.model_validate(t).attachments[2])
        assert (check.size, check.reason) == (3, "file has 3 bytes, the record says 5")
    with open_export(zip_tree(root, tmp_path / "e.zip", "top/")) as export:
        assert _attachment_statuses(export) == expected
        assert export.attachment_path(first) is None
        with export.open_attachment(first) as fh:
            assert fh.read() == b"hello"


def test_a_symlink_out_of_the_export_counts_as_missing(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"hello")
    root = write_export(tmp_path / "e", files={})
    (root / "attachments/9").mkdir(parents=True)
    (root / "attachments/9/terminal.png").symlink_to(secret)
    with open_export(root) as export:
        [t] = list(export.tickets())
        assert export.attachment_path(t.attachments[0]) is None
        assert export.check_attachment(t.attachments[0]).status == "missing"
        with pytest.raises(FileNotFoundError):
            export.open_attachment(t.attachments[0])


# ---------------------------------------------------------------------------- the bundled sample


def _sample_cases() -> dict[str, tuple[str, str]]:
    """case key -> (record ids, where), from the table in samples/export/README.md."""
    rows = re.findall(
        r"^\| `([^`]+)` \| .*? \| ([^|]*) \| ([^|]*) \|$", (SAMPLE / "README.md").read_text("utf-8"), re.M
    )
    return {key: (ids.strip(), where.strip()) for key, ids, where in rows}


def test_sample_export_reports_exactly_its_documented_bad_records() -> None:
    cases = _sample_cases()
    documented = set()
    for key, (rid, where) in cases.items():
        if key.startswith("bad-"):
            m = re.fullmatch(r"(\S+):(\d+)(?: field (\S+))?", where)
            assert m, where
            documented.add((m[1], int(m[2]), rid, m[3]))
    with open_export(SAMPLE) as export:
        got = read_all(export)
        assert export.counts_check() == []
        statuses = {
            a.id: export.check_attachment(a).status
            for t in got["tickets"]
            for a in [*t.attachments, *(a for c in t.comments for a in c.attachments)]
        }
    assert {(b.file, b.line, b.id, b.field) for b in got["bad"]} == documented
    assert len(got["tickets"]) == 36 and len(got["users"]) == 9 and len(got["companies"]) == 4
    missing = cases["attachment-missing"][1].split()[-1]
    mismatch = cases["attachment-sha256-mismatch"][1].split()[-1]
    assert {k for k, v in statuses.items() if v != "ok"} == {missing, mismatch}
    assert statuses[missing] == "missing" and statuses[mismatch] == "sha256_mismatch"


def test_sample_export_carries_the_awkward_cases() -> None:
    with open_export(SAMPLE) as export:
        tickets = {t.id: t for t in export.tickets()}
        users = {u.id: u for u in export.users()}
        user_ids = export.user_ids()
    cases = _sample_cases()
    assert len(tickets[cases["long-subject"][0]].subject) > 255
    html = tickets[cases["html-description"][0]]
    assert html.description_format == "html" and "<script>" in html.description and "<b>" in html.description
    assert len(tickets[cases["sixty-comments"][0]].comments) == 60
    assert any(c.internal for c in tickets[cases["internal-comments"][0]].comments)
    assert [w.hours for w in tickets[cases["time-entries"][0]].time_entries] == [
        Decimal("0.25"),
        Decimal("1.0"),
        Decimal("2.2"),
    ]
    assert tickets[cases["deleted-author"][0]].author_id not in user_ids
    assert not users[tickets[cases["inactive-author"][0]].author_id].active
    assert tickets[cases["unmapped-priority"][0]].priority == "Срочный"
    logins = [users[u].login for u in cases["case-colliding-logins"][0].split(", ")]
    assert logins[0] != logins[1] and logins[0].lower() == logins[1].lower()
    regulation = {
        "status": {
            "На рассмотрении",
            "В работе",
            "Требует обратной связи",
            "Решено, требует проверки",
            "Закрыто",
            "Отклонено",
        },
        "reason": {
            "Ошибка в работе системы",
            "Некорректное отображение",
            "Изменение настроек",
            "Запрос на доработку",
            "Консультация",
        },
        "priority": {"Блокер", "Критический", "Высокий", "Средний", "Низкий"},
    }
    for key, values in regulation.items():
        assert values <= {getattr(t, key) for t in tickets.values()}


def test_sample_export_is_what_the_generator_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("make_sample_export", REPO / "samples" / "make_sample_export.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    module.write_sample_export(tmp_path / "export")
    written = {
        p.relative_to(tmp_path / "export"): p.read_bytes() for p in (tmp_path / "export").rglob("*") if p.is_file()
    }
    bundled = {p.relative_to(SAMPLE): p.read_bytes() for p in SAMPLE.rglob("*") if p.is_file()}
    assert written == bundled
    assert sum(len(v) for v in bundled.values()) < 1024 * 1024
