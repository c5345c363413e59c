"""A ledger that is not this Redmine's is refused before anything is written.

The ledger makes re-runs free: a ticket it records as migrated is skipped. Given another
Redmine's ledger (staging's against production), or after this Redmine was reset or restored,
a run used to skip every ticket, write nothing, exit 0 and leave `verify` to find every issue
missing. Now `plan` and `run` look up a few issues the ledger names and stop (exit 2) when none
is here, saying why in Russian; a ledger whose issues are here is used as before."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import LocalRedmine
from tests.exports import unique_export

pytestmark = pytest.mark.redmine
ROOT = Path(__file__).resolve().parents[2]


def helpdesk(redmine: LocalRedmine, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**redmine.env(), "HELPDESK_LANG": "ru", "COLUMNS": "160"}
    return subprocess.run([".venv/bin/helpdesk", *args], capture_output=True, text=True, env=env, timeout=900,
                          cwd=ROOT)


def issue_count(redmine: LocalRedmine) -> int:
    return int(redmine.gateway().get("/issues.json", {"status_id": "*", "limit": 1})["total_count"])


def test_a_ledger_naming_no_issue_of_this_redmine_stops_plan_and_run(redmine: LocalRedmine,
                                                                        tmp_path: Path) -> None:
    export = unique_export(tmp_path / "export", os.urandom(3).hex())
    migrated = tmp_path / "ours.sqlite"
    first = helpdesk(redmine, "migrate", "run", str(export), "--state", str(migrated), "--format", "json")
    assert first.returncode in (0, 3), first.stderr[-2000:]
    # Another Redmine's ledger of the same export: the same tickets, done as issues this one lacks.
    foreign = tmp_path / "foreign.sqlite"
    shutil.copy(migrated, foreign)
    with sqlite3.connect(foreign) as db:
        db.execute("UPDATE ticket_done SET issue_id = issue_id + 900000")
    before = issue_count(redmine)

    for command in ("plan", "run"):
        refused = helpdesk(redmine, "migrate", command, str(export), "--state", str(foreign))
        assert refused.returncode == 2, refused.stdout[-1500:] + refused.stderr[-1500:]
        assert "журнал миграции" in refused.stderr and "в этом Redmine нет" in refused.stderr, refused.stderr
        assert "--state" in refused.stderr and "Traceback" not in refused.stderr
    assert issue_count(redmine) == before  # nothing was written

    again = helpdesk(redmine, "migrate", "run", str(export), "--state", str(migrated), "--format", "json")
    assert again.returncode in (0, 3), again.stderr[-2000:]
    counts = json.loads(again.stdout)["counts"]
    assert counts.get("issue", {}).get("create", 0) == 0  # this Redmine's own ledger: nothing to redo
    assert issue_count(redmine) == before
