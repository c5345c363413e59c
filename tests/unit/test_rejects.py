"""Bad lines: bounded excerpts in memory, the lines themselves whole in the rejects directory
(issue 11, item 9). Memory itself is measured in bench/bad_lines_memory.py, not asserted here."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from helpdesk_core.errors import ConfigError
from helpdesk_core.export import EXCERPT_BYTES, BadRecord, open_export
from migrator.rejects import RejectsDir, default_rejects_path
from tests.unit.test_export_reader import company, dumps, staff, ticket, user, write_export, zip_tree

BIG = 3 * 1024 * 1024  # far above the excerpt, below the line limit


def _index(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (path / "index.jsonl").read_text("utf-8").splitlines()]


def _junk(n: int, size: int = BIG) -> bytes:
    return b'{"id": "J%d", "subject": "' % n + ("ж" * (size // 2)).encode() + b"\xff tail"


@pytest.mark.parametrize("as_zip", [False, True], ids=["directory", "zip"])
def test_huge_bad_lines_keep_an_excerpt_in_memory_and_go_whole_to_the_rejects(tmp_path: Path, as_zip: bool) -> None:
    junk = [_junk(1), _junk(2)]
    root = write_export(tmp_path / "e", companies=[company("C1"), b"{not json", company("C2")],
                        tickets=[ticket("T1"), junk[0], ticket("T2"), junk[1]])
    export_path = zip_tree(root, tmp_path / "e.zip") if as_zip else root
    bad: list[BadRecord] = []
    rejects = RejectsDir(tmp_path / "out.rejects")
    with open_export(export_path, on_bad=bad.append, rejects=rejects) as export:
        assert [c.id for c in export.companies()] == ["C1", "C2"]
        assert len(list(export.users())) == 2
        assert [t.id for t in export.tickets()] == ["T1", "T2"]
    assert rejects.close() == tmp_path / "out.rejects" and rejects.count == 3

    assert [(b.file, b.line, b.id) for b in bad] == [("companies.jsonl", 2, None), ("tickets.jsonl", 2, "J1"),
                                                      ("tickets.jsonl", 4, "J2")]
    for record in bad[1:]:
        assert record.raw_truncated and len(record.raw.encode()) <= EXCERPT_BYTES
        assert record.raw.startswith(f'{{"id": "{record.id}", "subject": "жжж')
        assert "\\x" not in record.raw  # cut at a character boundary, no half letter
    assert bad[0].raw == "{not json" and not bad[0].raw_truncated

    out = tmp_path / "out.rejects"
    assert (out / "tickets.jsonl").read_bytes() == junk[0] + b"\n" + junk[1] + b"\n"
    assert (out / "companies.jsonl").read_bytes() == b"{not json\n"
    assert not (out / "users.jsonl").exists()
    index = _index(out)
    assert [(i["file"], i["line"], i["id"], i["rejects_line"], i["bytes"]) for i in index] == [
        ("companies.jsonl", 2, None, 1, len(b"{not json\n")),
        ("tickets.jsonl", 2, "J1", 1, len(junk[0]) + 1), ("tickets.jsonl", 4, "J2", 2, len(junk[1]) + 1)]


def test_a_line_past_the_limit_is_kept_whole_in_the_rejects_and_cut_in_memory(tmp_path: Path) -> None:
    huge = b'{"id": "T9", "subject": "' + b"x" * 300_000 + b'"}'
    root = write_export(tmp_path / "e", tickets=[ticket("G1"), huge, ticket("G2")])
    bad: list[BadRecord] = []
    rejects = RejectsDir(tmp_path / "r")
    with open_export(root, max_line_bytes=100_000, on_bad=bad.append, rejects=rejects) as export:
        assert [t.id for t in export.tickets()] == ["G1", "G2"]
        assert export.counts_check() == []  # the over-long line still counts as one line
    rejects.close()
    [record] = bad
    assert record.reason == "line is longer than 100000 bytes" and record.raw_truncated
    assert len(record.raw) == EXCERPT_BYTES
    assert (tmp_path / "r" / "tickets.jsonl").read_bytes() == huge + b"\n"


def test_without_a_rejects_sink_nothing_is_written_and_silent_passes_never_write(tmp_path: Path) -> None:
    root = write_export(tmp_path / "e", users=[staff(), b"junk", user()], tickets=[b"junk", ticket()])
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with open_export(root) as export:
        list(export.tickets())
        assert len(export.bad_records) == 1
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    # company_ids()/user_ids() read the files silently: their bad lines are not kept twice
    rejects = RejectsDir(tmp_path / "r")
    with open_export(root, on_bad=lambda r: None, rejects=rejects) as export:
        export.user_ids()
        export.company_ids()
        list(export.users())
        list(export.tickets())
    rejects.close()
    assert [(i["file"], i["line"]) for i in _index(tmp_path / "r")] == [("users.jsonl", 2), ("tickets.jsonl", 1)]


def test_a_new_run_replaces_the_rejects_and_a_clean_run_removes_them(tmp_path: Path) -> None:
    out = tmp_path / "r"
    root = write_export(tmp_path / "e", tickets=[b"first junk", ticket()])
    for junk in (b"first junk", b"second junk"):
        root = write_export(tmp_path / "e", tickets=[junk, ticket()])
        rejects = RejectsDir(out)
        with open_export(root, on_bad=lambda r: None, rejects=rejects) as export:
            list(export.tickets())
        rejects.close()
        assert (out / "tickets.jsonl").read_bytes() == junk + b"\n"
    (tmp_path / "r.partial").mkdir()  # left by a crashed run: cleared, not mixed in
    root = write_export(tmp_path / "e", tickets=[ticket()])
    rejects = RejectsDir(out)
    with open_export(root, on_bad=lambda r: None, rejects=rejects) as export:
        list(export.tickets())
    assert rejects.close() is None
    assert not out.exists() and not (tmp_path / "r.partial").exists()


def test_a_path_that_is_not_a_rejects_directory_is_refused(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work", "utf-8")
    with pytest.raises(ConfigError, match="not a rejects directory") as caught:
        RejectsDir(precious)
    assert caught.value.exit_code == 2
    (tmp_path / "file").write_text("x", "utf-8")
    with pytest.raises(ConfigError):
        RejectsDir(tmp_path / "file")
    assert (precious / "thesis.tex").read_text("utf-8") == "years of work"


def test_default_path_is_beside_the_report_else_beside_the_export(tmp_path: Path) -> None:
    assert default_rejects_path(tmp_path / "export.zip") == tmp_path / "export.rejects"
    assert default_rejects_path(tmp_path / "export") == tmp_path / "export.rejects"
    assert default_rejects_path(tmp_path / "export.zip", tmp_path / "out" / "migration.json") == (
        tmp_path / "out" / "migration.rejects")


def test_zip_members_are_read_by_name_only(tmp_path: Path) -> None:
    """The rejects file names come from the reader's three file names, never from the export."""
    root = write_export(tmp_path / "e", tickets=[b"junk"])
    with zipfile.ZipFile(zip_tree(root, tmp_path / "e.zip")) as zf:
        assert "tickets.jsonl" in zf.namelist()
    rejects = RejectsDir(tmp_path / "r")
    with open_export(tmp_path / "e.zip", on_bad=lambda r: None, rejects=rejects) as export:
        list(export.tickets())
    rejects.close()
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["index.jsonl", "tickets.jsonl"]
    assert dumps(ticket()) not in (tmp_path / "r" / "tickets.jsonl").read_text("utf-8")
