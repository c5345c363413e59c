"""Property tests: whatever bytes a jsonl file holds, the reader never raises, every good record
comes out and every other non-blank line is reported exactly once, on its own line number."""

from __future__ import annotations

import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_core.export import open_export
from tests.unit.test_export_reader import dumps, ticket, write_export

MAX_LINE = 1 << 20
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,  # no example files left in the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

# Replacing one of these with an int or a non-empty list of ints always breaks the ticket.
TYPED_PATHS = [
    "id",
    "company_id",
    "author_id",
    "created_at",
    "updated_at",
    "reason",
    "priority",
    "module",
    "subject",
    "description",
    "description_format",
    "status",
    "answers",
    "attachments",
    "comments",
    "closed_at",
    "attachments.0.sha256",
    "comments.0.created_at",
    "comments.1.internal",
    "time_entries.0.spent_on",
]


def _set(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    target: Any = record
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    target[last] = value
    return record


def _not_blank(line: bytes) -> bool:
    return bool(line) and not line.isspace()


wrong_value = st.one_of(st.integers(), st.lists(st.integers(), min_size=1, max_size=3))
deep = st.sampled_from([1_000, 5_000, 100_000])


@st.composite
def junk_line(draw: st.DrawFn, n: int) -> bytes:
    """One line that must become a bad record. Junk ids start with J so they never clash with T ids."""
    kind = draw(
        st.sampled_from(["bytes", "text", "truncated", "huge", "deep", "deep-in-object", "wrong-type", "scalar"])
    )
    if kind == "bytes":
        line = draw(st.binary(min_size=1, max_size=300)).replace(b"\n", b"\xff")
    elif kind == "text":
        line = draw(st.text(min_size=1, max_size=200)).replace("\n", "\\").encode("utf-8")
    elif kind == "truncated":
        full = dumps(ticket(f"J{n}"))
        line = full[: draw(st.integers(1, len(full) - 1))].encode("utf-8")
    elif kind == "huge":
        size = draw(st.sampled_from([10, 100_000, MAX_LINE + 10]))
        line = (f'{{"id": "J{n}", "subject": "' + "ы" * size + '"}').encode()
    elif kind == "deep":
        depth = draw(deep)
        line = b"[" * depth + b"]" * depth
    elif kind == "deep-in-object":
        depth = draw(deep)
        line = f'{{"id": "J{n}", "answers": '.encode() + b"[" * depth + b"]" * depth + b"}"
    elif kind == "wrong-type":
        line = dumps(_set(ticket(f"J{n}"), draw(st.sampled_from(TYPED_PATHS)), draw(wrong_value))).encode()
    else:
        line = json.dumps(draw(st.one_of(st.integers(), st.text(max_size=50), st.lists(st.integers())))).encode()
    if not _not_blank(line) or line.startswith(b"\xef\xbb\xbf"):
        line = b"#" + line
    return line


@st.composite
def good_line(draw: st.DrawFn, n: int) -> bytes:
    subject = draw(st.text(min_size=1, max_size=draw(st.sampled_from([50, 5_000])))).strip() or "тема"
    hours = draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000"), places=2))
    record = ticket(f"T{n}", subject=subject, description=draw(st.text(max_size=300)))
    record["time_entries"][0]["hours"] = hours
    return dumps(record).encode()


@st.composite
def mixed_file(draw: st.DrawFn) -> tuple[list[bytes], list[str], list[int]]:
    """Lines, the ids of the good ones, and the line numbers of the bad ones."""
    lines: list[bytes] = []
    good_ids: list[str] = []
    bad_lines: list[int] = []
    for n in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["good", "junk", "blank"]))
        if kind == "good":
            lines.append(draw(good_line(n)))
            good_ids.append(f"T{n}")
        elif kind == "junk":
            lines.append(draw(junk_line(n)))
            bad_lines.append(len(lines))
        else:
            lines.append(draw(st.sampled_from([b"", b"   ", b"\t", b"\r"])))
    return lines, good_ids, bad_lines


@FUZZ
@given(mixed_file())
def test_mixed_lines_give_every_good_record_and_report_every_bad_line(
    case: tuple[list[bytes], list[str], list[int]],
) -> None:
    lines, good_ids, bad_lines = case
    with tempfile.TemporaryDirectory() as tmp:
        root = write_export(Path(tmp) / "e", tickets=lines)
        with open_export(root, max_line_bytes=MAX_LINE) as export:
            got = [t.id for t in export.tickets()]
            bad = export.bad_records
            assert export.counts_check() == []
    assert got == good_ids
    assert [b.line for b in bad] == bad_lines
    assert all(b.file == "tickets.jsonl" and b.reason for b in bad)
    for record in bad:  # every bad record can be written out for a re-run
        json.dumps(record.model_dump(), ensure_ascii=False).encode("utf-8")


@FUZZ
@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_never_raise_and_every_line_is_accounted_for(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_export(Path(tmp) / "e")
        (root / "users.jsonl").write_bytes(data)
        with open_export(root) as export:
            users = list(export.users())
            tickets = list(export.tickets())  # ticket authors may now be missing: still fine
            bad = export.bad_records
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    if lines:
        lines[0] = lines[0].removeprefix(b"\xef\xbb\xbf")
    expected = [i for i, line in enumerate(lines, 1) if _not_blank(line)]
    assert users == []
    assert [t.id for t in tickets] == ["T1"]
    assert [b.line for b in bad] == expected
    assert all(b.file == "users.jsonl" for b in bad)
