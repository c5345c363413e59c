"""Bad lines through the real CLI against the real Redmine (issue 11, item 9): `migrate run` keeps
every bad line whole in the rejects directory beside its report (or beside the export), `plan`
writes nothing unless asked with --rejects, and a re-run replaces the directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import LocalRedmine
from tests.integration.test_faults import helpdesk, helpdesk_env, migrate_args, parse_result, prefixed_export

pytestmark = pytest.mark.redmine


def _with_junk(export: Path, junk: list[bytes]) -> dict[int, bytes]:
    """Append junk lines to tickets.jsonl (manifest counts kept true); their line numbers -> bytes."""
    tickets = export / "tickets.jsonl"
    data = tickets.read_bytes()
    first = data.count(b"\n") + 1
    tickets.write_bytes(data + b"".join(j + b"\n" for j in junk))
    manifest = json.loads((export / "manifest.json").read_text("utf-8"))
    manifest["counts"]["tickets"] += len(junk)
    (export / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return {first + i: j for i, j in enumerate(junk)}


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_run_keeps_bad_lines_whole_beside_the_report_and_plan_writes_nothing(redmine: LocalRedmine, tmp_path: Path,
                                                                           unique: str) -> None:
    export = prefixed_export(tmp_path / "export", f"rj{unique}", keep=("T1", "T24"))
    huge = b'{"id": "JUNK1", "subject": "' + "ж".encode() * 2_000_000 + b"\xff"  # 4 MB, not UTF-8, not JSON
    junk = _with_junk(export, [huge, b'{"id": "JUNK2", "hours": NaN}'])
    state = tmp_path / "state.sqlite"

    before = _files(tmp_path)
    plan = helpdesk(["migrate", "plan", str(export), "--state", str(state), "--format", "json"],
                    helpdesk_env(redmine))
    assert plan.returncode == 3, plan.stderr[-2000:]
    planned = json.loads(plan.stdout)
    assert planned["rejects"] is None
    assert _files(tmp_path) - before <= {p for p in _files(tmp_path) if p.startswith("state.sqlite")}
    assert not any(p.endswith(".rejects") for p in _files(tmp_path))  # plan wrote no rejects

    asked = helpdesk(["migrate", "plan", str(export), "--state", str(state), "--format", "json",
                      "--rejects", str(tmp_path / "plan.rejects")], helpdesk_env(redmine))
    assert asked.returncode == 3, asked.stderr[-2000:]
    assert json.loads(asked.stdout)["rejects"] == str(tmp_path / "plan.rejects")

    report = tmp_path / "out" / "migration.json"
    report.parent.mkdir()
    done = parse_result(helpdesk([*migrate_args(export, state), "--report", str(report)], helpdesk_env(redmine)))
    rejects = tmp_path / "out" / "migration.rejects"
    assert done["rejects"] == str(rejects)
    bad = [f for f in done["findings"] if f["category"] == "bad-record"]
    index = [json.loads(line) for line in (rejects / "index.jsonl").read_text("utf-8").splitlines()]
    assert [(i["file"], i["line"], i["reason"]) for i in index] == [(f["file"], f["line"], f["reason"]) for f in bad]
    for entry in index:  # every bad line, byte for byte, whichever file it came from
        kept = (rejects / str(entry["file"])).read_bytes().split(b"\n")
        original = (export / str(entry["file"])).read_bytes().split(b"\n")
        assert kept[entry["rejects_line"] - 1] == original[entry["line"] - 1]
    assert {i["line"] for i in index} >= set(junk)  # both junk lines, whole (4 MB included)
    assert max(i["bytes"] for i in index) == len(huge) + 1
    assert (tmp_path / "plan.rejects" / "tickets.jsonl").read_bytes() == (rejects / "tickets.jsonl").read_bytes()

    # the corrected re-run: the junk fixed away, the rejects shrink to what is still bad
    lines = (export / "tickets.jsonl").read_bytes().splitlines(keepends=True)
    (export / "tickets.jsonl").write_bytes(b"".join(line for n, line in enumerate(lines, 1) if n not in junk))
    manifest = json.loads((export / "manifest.json").read_text("utf-8"))
    manifest["counts"]["tickets"] -= len(junk)
    (export / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    again = parse_result(helpdesk([*migrate_args(export, state), "--report", str(report)], helpdesk_env(redmine)))
    still = [json.loads(line) for line in (rejects / "index.jsonl").read_text("utf-8").splitlines()]
    assert again["rejects"] == str(rejects) and len(still) == len(index) - len(junk)
    assert not any(b"JUNK" in p.read_bytes() for p in rejects.iterdir())


def test_run_without_a_report_keeps_rejects_beside_the_export_and_refuses_a_foreign_directory(
        redmine: LocalRedmine, tmp_path: Path, unique: str) -> None:
    export = prefixed_export(tmp_path / "export", f"rk{unique}", keep=("T1",))
    _with_junk(export, [b"not json at all"])
    state = tmp_path / "state.sqlite"
    done = parse_result(helpdesk(migrate_args(export, state), helpdesk_env(redmine)))
    assert done["rejects"] == str(tmp_path / "export.rejects")
    assert (tmp_path / "export.rejects" / "tickets.jsonl").read_bytes().endswith(b"not json at all\n")

    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"meow")
    refused = helpdesk([*migrate_args(export, state), "--rejects", str(foreign)], helpdesk_env(redmine))
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "not a rejects directory" in refused.stderr and "Traceback" not in refused.stderr
    assert _files(foreign) == {"cat.jpg"}
