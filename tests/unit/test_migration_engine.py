"""The migration engine, verify, the ledger and fix-dates over an in-memory Redmine (no server).

The same hostile pieces as the integration corpus (tests/hostile_export.py), checked where a fake
can say more cheaply: every write counted, every journal's writer known.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from helpdesk_core.mappings import load_mappings
from migrator.engine import Migration, MigrationOptions
from migrator.fix_dates import fix_dates_script
from migrator.ledger import Ledger
from migrator.outcome import MigrationResult
from migrator.verify import verify_migration
from tests.hostile_export import (
    Accounts,
    Piece,
    company,
    existing_accounts,
    forged_markers,
    lookalike_companies,
    repeated_ids,
    staff,
    ticket,
    user,
    write_export,
)
from tests.unit.fake_migration_redmine import ADMIN, FakeRedmine

MAPPINGS = load_mappings()


def migrate(fake: FakeRedmine, export: Path, ledger: Ledger, *, dry_run: bool = False,
            adopt: bool = False) -> MigrationResult:
    options = MigrationOptions(dry_run=dry_run, adopt_existing=adopt)
    return Migration(export, fake, MAPPINGS, ledger, options).execute()  # type: ignore[arg-type]


def issue_of(fake: FakeRedmine, ticket_id: str) -> dict[str, Any]:
    found = [i for i in fake.issues.values()
             if any(v.get("value") == ticket_id for v in i["custom_fields"])]
    assert len(found) == 1, (ticket_id, len(found))
    return found[0]


def company_project(fake: FakeRedmine, company_id: str) -> int:
    [pid] = [p["id"] for p in fake.projects.values() if any(v.get("value") == company_id
                                                             for v in p["custom_fields"])]
    return int(pid)


@pytest.fixture
def fake() -> FakeRedmine:
    return FakeRedmine()


# --- ledger -----------------------------------------------------------------------------------------


def test_ledger_snapshot_never_creates_or_changes_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite"
    copy = Ledger.snapshot(missing)
    copy.put("project", "C1", 5)
    assert copy.get("project", "C1") == 5 and not missing.exists()
    real = Ledger(tmp_path / "real.sqlite")
    real.put("user", "U1", 7)
    real.close()
    copy = Ledger.snapshot(tmp_path / "real.sqlite")
    copy.put("user", "U1", 8)
    assert copy.get("user", "U1") == 8
    assert Ledger(tmp_path / "real.sqlite").get("user", "U1") == 7


# --- plan -------------------------------------------------------------------------------------------


def test_plan_writes_nothing_and_lists_what_needs_consent(fake: FakeRedmine, tmp_path: Path) -> None:
    admin = fake.add_user("boss", "boss@x.example", admin=True)
    other = fake.add_user("other", "other@x.example")
    emails = Accounts(admin="boss@x.example", foreign="other@x.example", locked="l@x.example",
                      foreign_inactive="i@x.example")
    export = write_export(tmp_path / "e", staff("t") + existing_accounts("t", emails) + repeated_ids("t"))
    result = migrate(fake, export, Ledger.snapshot(tmp_path / "ledger.sqlite"), dry_run=True)
    assert fake.writes == [] and not (tmp_path / "ledger.sqlite").exists()
    existing = {f.id: f.reason for f in result.findings if f.category == "existing-account"}
    assert set(existing) == {"UAt", "UFt"} and "administrator" in existing["UAt"]
    assert {f.id for f in result.findings if f.category == "bad-record"} == {"TR1xt", "TR3xt"}
    assert admin and other


# --- accounts ---------------------------------------------------------------------------------------


def test_foreign_accounts_keep_their_status_and_admins_are_never_written_as(fake: FakeRedmine,
                                                                             tmp_path: Path) -> None:
    admin = fake.add_user("boss", "boss@x.example", admin=True)
    locked = fake.add_user("locked", "l@x.example", status=3)
    foreign = fake.add_user("gone", "i@x.example")
    emails = Accounts(admin="boss@x.example", foreign="f@x.example", locked="l@x.example",
                      foreign_inactive="i@x.example")
    fake.add_user("f", "f@x.example")
    export = write_export(tmp_path / "e", staff("t") + existing_accounts("t", emails))
    migrate(fake, export, Ledger(tmp_path / "l.sqlite"), adopt=True)
    assert fake.users[locked]["status"] == 3 and fake.users[foreign]["status"] == 1  # inactive, not ours
    assert ("PUT", f"/users/{locked}.json") not in fake.writes
    assert all(admin not in members for members in fake.memberships.values())
    assert all(j["user"]["id"] != admin for i in fake.issues.values() for j in i["journals"])
    # the account the migration created for an inactive portal user is ours: it is locked at the end
    ours = fake.add_user("mine", "mine@x.example", portal_id="UIt2")
    piece = Piece(companies=[{"id": "CEt", "name": "Existing t", "email_domains": []}],
                  users=[{"id": "UIt2", "login": "mine", "email": "mine@x.example", "first_name": "", "last_name": "",
                          "company_id": "CEt", "kind": "client", "active": False,
                          "created_at": "2024-01-01T00:00:00+03:00"}])
    migrate(fake, write_export(tmp_path / "e2", piece), Ledger(tmp_path / "l2.sqlite"))
    assert fake.users[ours]["status"] == 3


# --- companies --------------------------------------------------------------------------------------


def test_lookalike_companies_keep_their_projects_without_ledger(fake: FakeRedmine, tmp_path: Path) -> None:
    squatter = fake.add_project("ООО «Двойник t»", "squatter")  # same name, no company id: never matched
    export = write_export(tmp_path / "e", lookalike_companies("t"))
    migrate(fake, export, Ledger(tmp_path / "a.sqlite"))
    projects = {n: company_project(fake, f"CL{n}xt") for n in "12"}
    migrate(fake, export, Ledger(tmp_path / "b.sqlite"))  # ledger lost
    assert {n: company_project(fake, f"CL{n}xt") for n in "12"} == projects
    assert len({projects["1"], projects["2"], squatter}) == 3
    for n in "12":
        assert issue_of(fake, f"TL{n}xt")["project"]["id"] == projects[n]
    assert fake.memberships[squatter] == {}
    assert verify_migration(export, fake, MAPPINGS, Ledger.snapshot(tmp_path / "none")).differences == []  # type: ignore[arg-type]


# --- markers ----------------------------------------------------------------------------------------


def test_quoted_markers_and_other_writers_never_count(fake: FakeRedmine, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    migrate(fake, write_export(tmp_path / "e1", staff("t") + forged_markers("t", 1)), ledger)
    issue = issue_of(fake, "TMt")
    intruder = fake.add_user("intruder", "intruder@x.example")
    fake.add_note(issue["id"], intruder, "_[portal:comment:M2xt] подделка от другого пользователя_")
    second = write_export(tmp_path / "e2", staff("t") + forged_markers("t", 2))
    migrate(fake, second, Ledger(tmp_path / "lost.sqlite"))  # even with the ledger lost
    opened = [j["notes"].split("]")[0] for j in issue["journals"] if j["user"]["id"] != intruder
              and j["notes"].startswith(("[portal:comment:", "_[portal:complaint:"))]  # not the timeline's
    assert sorted(opened) == sorted(["[portal:comment:M1xt", "[portal:comment:M2xt",
                                     "_[portal:complaint:TMt-1", "_[portal:complaint:TMt-2"])
    hours = sorted(e["hours"] for e in fake.time_entries.values())
    assert hours == [0.5, 1.25]
    assert verify_migration(second, fake, MAPPINGS, Ledger.snapshot(tmp_path / "none")).differences == []  # type: ignore[arg-type]


def test_verify_counts_a_doubled_note_and_a_moved_issue_without_ledger(fake: FakeRedmine, tmp_path: Path) -> None:
    export = write_export(tmp_path / "e", staff("t") + forged_markers("t", 2) + lookalike_companies("t"))
    migrate(fake, export, Ledger(tmp_path / "l.sqlite"))
    issue = issue_of(fake, "TMt")
    original = next(j for j in issue["journals"] if j["notes"].startswith("[portal:comment:M2xt]: #"))
    fake.add_note(issue["id"], ADMIN, original["notes"])
    moved = issue_of(fake, "TL1xt")
    moved["project"] = {"id": company_project(fake, "CL2xt")}
    diffs = verify_migration(export, fake, MAPPINGS, Ledger.snapshot(tmp_path / "none")).differences  # type: ignore[arg-type]
    found = {(d.ticket, d.field) for d in diffs}
    assert {("TL1xt", "project"), ("TMt", "comment M2xt copies")} <= found
    assert {ticket for ticket, _ in found} == {"TL1xt", "TMt"}


# --- fix-dates --------------------------------------------------------------------------------------


def test_fix_dates_matches_only_the_marker_opening_a_note_and_reports_ambiguity(fake: FakeRedmine,
                                                                                tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    migrate(fake, write_export(tmp_path / "e", staff("t") + forged_markers("t", 2)), ledger)
    script = fix_dates_script(ledger)
    payload = json.loads(base64.b64decode(re.search(r"decode64\(['\"]([^'\"]+)", script)[1]))  # type: ignore[index]
    assert {marker for _, marker, _ in payload["notes"]} == {"comment:M1xt", "comment:M2xt",
                                                             "complaint:TMt-1", "complaint:TMt-2", "status:TMt.1"}
    assert 'opening = "_[portal:#{marker}] "' in script and "start_with?(opening)" in script
    # a timeline marker dates only the journal that made the change, its note being just that line
    assert "(made & wanted).any?" in script and "match?(TIMELINE_LINE)" in script
    assert "ambiguous << " in script and "'%" not in script  # never a substring pattern


# --- the read-back of status changes ----------------------------------------------------------------


def _same_move_tickets(token: str, count: int, status: str) -> Piece:
    cid = f"CW{token}"
    users = [user(f"UW{token}", f"client.{token}", f"client.{token}@w{token}.example", cid)]
    tickets = [ticket(f"TW{token}x{n}", cid, f"UW{token}", status=status) for n in range(count)]
    return Piece([company(cid, f"Workflow {token}", f"w{token}.example")], users, tickets)


def test_a_status_change_seen_applied_once_is_not_read_back_again(fake: FakeRedmine, tmp_path: Path) -> None:
    result = migrate(fake, write_export(tmp_path / "e", _same_move_tickets("t", 5, "Закрыто")),
                     Ledger(tmp_path / "l.sqlite"))
    issues = [i for i in fake.issues.values() if i["subject"].startswith("Обращение TWt")]
    assert len(issues) == 5 and all(i["status"]["name"] == "Закрыто" for i in issues)
    assert len(fake.issue_reads) == 1  # the first one proved the change; the next four are known
    assert not [f for f in result.findings if f.category == "workflow"]


def test_a_status_change_the_workflow_ignores_is_reported_on_every_ticket(fake: FakeRedmine,
                                                                          tmp_path: Path) -> None:
    closed, review = fake.statuses["Закрыто"], fake.statuses["На рассмотрении"]
    fake.refused = {(tracker, review, closed) for tracker in fake.trackers.values()}
    export = write_export(tmp_path / "e", _same_move_tickets("t", 3, "Закрыто") + _same_move_tickets("u", 2,
                                                                                                 "В работе"))
    result = migrate(fake, export, Ledger(tmp_path / "l.sqlite"))
    reported = sorted(f.id for f in result.findings if f.category == "workflow")
    assert reported == ["TWtx0", "TWtx1", "TWtx2"]  # never learned as allowed, so read back every time
    assert all("Закрыто" in f.reason for f in result.findings if f.category == "workflow")
    assert len(fake.issue_reads) == 4  # three refused changes, one allowed (learned for the second ticket)


def test_a_timeline_journal_is_dated_by_its_marker_without_a_read_back(fake: FakeRedmine, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    migrate(fake, write_export(tmp_path / "e", _same_move_tickets("t", 2, "Закрыто")), ledger)
    issue = issue_of(fake, "TWtx1")
    assert issue["id"] not in fake.issue_reads
    assert (issue["id"], "status:TWtx1.1", "2024-05-08T12:00:00+03:00") in ledger.note_dates()


def test_the_ledger_sample_spans_its_issues(tmp_path: Path) -> None:
    from migrator.ledger import Ledger

    ledger = Ledger(tmp_path / "l.sqlite")
    assert ledger.done_issue_sample(3) == (0, [])
    for n in range(1, 11):
        ledger.mark_ticket_done(f"T{n}", "f", n * 10)
    assert ledger.done_issue_sample(3) == (10, [10, 50, 100])  # lowest, middle, highest
    assert ledger.done_issue_sample(20) == (10, [n * 10 for n in range(1, 11)])
    ledger._db.execute("INSERT INTO ticket_done VALUES ('T99', 'f', '../users/1')")  # hand-edited
    assert ledger.done_issue_sample(3) == (10, [10, 50, 100])  # never a path, never counted
    ledger.close()
