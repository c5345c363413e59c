"""The hostile-export corpus (tests/hostile_export.py) through plan, run, re-run, verify on the real Redmine.

One test per class of issue 11 (items 1, 2, 4, 5, 6, 11); each asserts the exit code before it
reads the output, then counts in Redmine itself: nothing lost, nothing doubled, no foreign account
changed, no client a member of another company's project.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helpdesk_core.gateway import Gateway
from helpdesk_core.mappings import load_mappings
from migrator.fix_dates import fix_dates_script
from migrator.ledger import Ledger
from tests.conftest import LocalRedmine
from tests.hostile_export import (
    LATER,
    LATEST,
    Accounts,
    existing_accounts,
    forged_markers,
    hostile_files,
    lookalike_companies,
    repeated_ids,
    staff,
    write_export,
)

pytestmark = [pytest.mark.redmine]

HELPDESK = Path(sys.executable).with_name("helpdesk")
MAPPINGS = load_mappings()
# where the migration puts its marker: a comment's on its own first line (a link reference definition,
# rendered as nothing), a complaint's opening its first line
OPENING = re.compile(r"\[portal:(?P<kind>comment):(?P<id>[^\]\s]+)\]: #\n"
                     r"|_\[portal:(?P<kind2>[a-z-]+):(?P<id2>[^\]\s]+)\] ")


def cli(redmine: LocalRedmine, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**redmine.env(), "COLUMNS": "200"}
    env.pop("HELPDESK_TRACEBACK", None)
    return subprocess.run([str(HELPDESK), *args], env=env, capture_output=True, text=True, timeout=900)


def migrate(redmine: LocalRedmine, command: str, export: Path, state: Path, *extra: str,
            codes: tuple[int, ...] = (0, 3)) -> dict[str, Any]:
    done = cli(redmine, "migrate", command, str(export), "--state", str(state), "--format", "json", *extra)
    assert done.returncode in codes, f"exit {done.returncode}: {done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return json.loads(done.stdout)


def findings(result: dict[str, Any], category: str) -> dict[str, str]:
    return {str(f["id"]): f"{f.get('field')}: {f['reason']}" for f in result["findings"] if f["category"] == category}


def created(result: dict[str, Any]) -> int:
    return sum(verbs.get("create", 0) + verbs.get("update", 0) for verbs in result["counts"].values())


def field_id(gateway: Gateway, kind: str, name: str) -> int:
    return next(int(f["id"]) for f in gateway.get("/custom_fields.json")["custom_fields"]
                if f["name"] == name and f.get("customized_type") == kind)


def issues_of(gateway: Gateway, ticket_id: str) -> list[dict[str, Any]]:
    portal = field_id(gateway, "issue", MAPPINGS.custom_fields.portal_id.name)
    return gateway.get("/issues.json", {f"cf_{portal}": ticket_id, "status_id": "*", "limit": 100})["issues"]


def the_issue(gateway: Gateway, ticket_id: str) -> dict[str, Any]:
    found = issues_of(gateway, ticket_id)
    assert len(found) == 1, (ticket_id, len(found))
    return gateway.get(f"/issues/{found[0]['id']}.json", {"include": "journals,attachments"})["issue"]


def projects_of_company(gateway: Gateway, company_id: str) -> list[dict[str, Any]]:
    cf = field_id(gateway, "project", MAPPINGS.project_custom_fields.company_id.name)
    return [p for p in gateway.iterate("/projects.json", "projects", {"sort": None})
            if any(v["id"] == cf and v.get("value") == company_id for v in p.get("custom_fields", []))]


def memberships(gateway: Gateway, user_id: int) -> set[int]:
    user = gateway.get(f"/users/{user_id}.json", {"include": "memberships"})["user"]
    return {int(m["project"]["id"]) for m in user.get("memberships", [])}


def status(gateway: Gateway, user_id: int) -> int:
    return int(gateway.get(f"/users/{user_id}.json")["user"]["status"])


def make_account(gateway: Gateway, login: str, *, admin: bool = False, locked: bool = False) -> dict[str, Any]:
    user = gateway.post("/users.json", {"user": {
        "login": login, "firstname": "Чужой", "lastname": login, "mail": f"{login}@preexisting.example",
        "generate_password": True, "admin": admin}})["user"]
    if locked:
        gateway.put(f"/users/{user['id']}.json", {"user": {"status": 3}})
    return user


# --- 1. existing accounts ----------------------------------------------------------------------------


def _accounts(gateway: Gateway, unique: str) -> dict[str, dict[str, Any]]:
    return {"admin": make_account(gateway, f"adm{unique}", admin=True),
            "foreign": make_account(gateway, f"for{unique}"),
            "locked": make_account(gateway, f"lck{unique}", locked=True),
            "foreign_inactive": make_account(gateway, f"ina{unique}")}


def test_existing_accounts_are_held_without_consent_and_never_changed(redmine: LocalRedmine, tmp_path: Path,
                                                                      unique: str) -> None:
    gateway = redmine.gateway()
    accounts = _accounts(gateway, unique)
    emails = Accounts(**{k: v["mail"] for k, v in accounts.items()})
    export = write_export(tmp_path / "e", staff(unique) + existing_accounts(unique, emails))
    state = tmp_path / "state.sqlite"
    before = {k: (status(gateway, a["id"]), memberships(gateway, a["id"])) for k, a in accounts.items()}

    plan = migrate(redmine, "plan", export, state, codes=(3,))
    listed = findings(plan, "existing-account")
    assert {f"U{c}{unique}" for c in "AFLI"} == set(listed), plan["findings"]
    assert "administrator" in listed[f"UA{unique}"] and "locked" in listed[f"UL{unique}"]
    assert not state.exists()  # the plan wrote nothing, not even the ledger

    run = migrate(redmine, "run", export, state, codes=(3,))
    assert set(findings(run, "existing-account")) == set(listed)
    rerun = migrate(redmine, "run", export, state)
    assert created(rerun) == 0, rerun["counts"]
    after = {k: (status(gateway, a["id"]), memberships(gateway, a["id"])) for k, a in accounts.items()}
    assert after == before  # 0 foreign accounts changed: status and memberships
    for letter, account in zip("AFLI", accounts.values(), strict=True):
        issue = the_issue(gateway, f"TE{unique}xU{letter}{unique}")
        assert issue["author"]["id"] != account["id"]
        assert all(j["user"]["id"] != account["id"] for j in issue["journals"])
        assert "Автор в портале" in issue["description"]  # the stand-in writes, naming the author
    assert migrate(redmine, "verify", export, state, codes=(0,))["differences"] == []


def test_adopt_existing_writes_as_the_account_but_never_admin_locked_or_status(redmine: LocalRedmine,
                                                                              tmp_path: Path, unique: str) -> None:
    gateway = redmine.gateway()
    accounts = _accounts(gateway, unique)
    emails = Accounts(**{k: v["mail"] for k, v in accounts.items()})
    export = write_export(tmp_path / "e", staff(unique) + existing_accounts(unique, emails))
    state = tmp_path / "state.sqlite"
    run = migrate(redmine, "run", export, state, "--adopt-existing", codes=(3,))
    assert set(findings(run, "existing-account")) == {f"UA{unique}", f"UL{unique}"}
    [project] = projects_of_company(gateway, f"CE{unique}")
    assert the_issue(gateway, f"TE{unique}xUF{unique}")["author"]["id"] == accounts["foreign"]["id"]
    assert memberships(gateway, accounts["foreign"]["id"]) == {project["id"]}  # consented: a client there
    assert memberships(gateway, accounts["admin"]["id"]) == set()
    assert status(gateway, accounts["locked"]["id"]) == 3  # never unlocked
    assert status(gateway, accounts["foreign_inactive"]["id"]) == 1  # inactive in the portal, not ours to lock
    assert migrate(redmine, "verify", export, state, codes=(0,))["differences"] == []


# --- 2. forged provenance ------------------------------------------------------------------------------


def opened_by(issue: dict[str, Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Journals by the marker that opens them (where the migration writes its own): the test's census."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for journal in issue.get("journals", []):
        match = OPENING.match(journal.get("notes") or "")
        kind, source = (match["kind"] or match["kind2"], match["id"] or match["id2"]) if match else (None, None)
        if kind in ("comment", "complaint"):  # the timeline's journals are its own
            found.setdefault((str(kind), str(source)), []).append(journal)
    return found


@pytest.mark.parametrize("ledger", ["kept", "lost"])
def test_quoted_markers_never_hide_the_real_object(redmine: LocalRedmine, tmp_path: Path, unique: str,
                                                   ledger: str) -> None:
    gateway = redmine.gateway()
    token = f"{unique}{ledger[0]}"
    tid = f"TM{token}"
    state = tmp_path / "state.sqlite"
    first = write_export(tmp_path / "e1", staff(token) + forged_markers(token, phase=1))
    migrate(redmine, "run", first, state)
    if ledger == "lost":
        state.unlink()
    second = write_export(tmp_path / "e2", staff(token) + forged_markers(token, phase=2))
    migrate(redmine, "run", second, state)

    issue = the_issue(gateway, tid)
    notes = {marker: len(journals) for marker, journals in opened_by(issue).items()}
    assert notes == {("comment", f"M1x{token}"): 1, ("comment", f"M2x{token}"): 1,
                     ("complaint", f"{tid}-1"): 1, ("complaint", f"{tid}-2"): 1}, notes
    # by hours, whatever the comment format: W1 (0.5 h, quoting W2) and W2 (1.25 h), once each
    entries = list(gateway.iterate("/time_entries.json", "time_entries", {"issue_id": issue["id"], "sort": None}))
    assert sorted(float(e["hours"]) for e in entries) == [0.5, 1.25]
    assert migrate(redmine, "verify", second, state, codes=(0,))["differences"] == []

    # fix-dates touches exactly the note each marker names, never the one quoting it
    ruby = fix_dates_script(Ledger(state))
    out = json.loads(redmine.runner(ruby).strip().splitlines()[-1])
    assert "ambiguous" not in out, out
    dated = {source: journals[0]["created_on"] for (_, source), journals in opened_by(the_issue(gateway, tid)).items()}

    def utc(text: str) -> str:
        return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert dated[f"M1x{token}"] == utc(LATER) and dated[f"M2x{token}"] == utc(LATEST)

    # a second note opening with the same marker: fix-dates names the ambiguity and touches neither
    opening = f"_[portal:comment:M2x{token}] "
    gateway.put(f"/issues/{issue['id']}.json", {"issue": {"notes": opening + "копия, написанная вручную"}})
    out = json.loads(redmine.runner(fix_dates_script(Ledger(state))).strip().splitlines()[-1])
    [entry] = out["ambiguous"]
    assert entry["issue"] == issue["id"] and entry["marker"] == f"comment:M2x{token}" and len(entry["journals"]) == 2
    copy = next(j for j in the_issue(gateway, tid)["journals"] if "копия" in (j.get("notes") or ""))
    assert copy["created_on"] > utc(LATEST)  # not backdated


# --- 4. look-alike companies ---------------------------------------------------------------------------


def _assert_twins_apart(gateway: Gateway, unique: str) -> None:
    for n, other in (("1", "2"), ("2", "1")):
        [own] = projects_of_company(gateway, f"CL{n}x{unique}")
        [foreign] = projects_of_company(gateway, f"CL{other}x{unique}")
        assert the_issue(gateway, f"TL{n}x{unique}")["project"]["id"] == own["id"]
        client = gateway.get("/users.json", {"name": f"c@twin{n}-{unique}.example", "status": ""})["users"][0]
        assert foreign["id"] not in memberships(gateway, client["id"])  # 0 cross-company memberships


def test_lookalike_companies_stay_apart_after_interruption_and_without_ledger(redmine: LocalRedmine,
                                                                              tmp_path: Path, unique: str) -> None:
    gateway = redmine.gateway()
    state = tmp_path / "state.sqlite"
    # interrupted: the first company's project was made, then the run stopped; resumed with its ledger
    migrate(redmine, "run", write_export(tmp_path / "half", lookalike_companies(unique, only_first=True)), state)
    full = write_export(tmp_path / "full", lookalike_companies(unique))
    migrate(redmine, "run", full, state)
    _assert_twins_apart(gateway, unique)
    state.unlink()  # the ledger is lost
    rerun = migrate(redmine, "run", full, state)
    assert created(rerun) == 0, rerun["counts"]
    _assert_twins_apart(gateway, unique)
    assert migrate(redmine, "verify", full, state, codes=(0,))["differences"] == []

    # right after the migration, `users pending` knows the companies from the projects alone
    # (status 1, in no project: a registrant who used Redmine's activation link, issue 19.1)
    [twin2] = projects_of_company(gateway, f"CL2x{unique}")
    gateway.post("/users.json", {"user": {"login": f"reg{unique}", "firstname": "Новый", "lastname": "Клиент",
                                          "mail": f"new@twin2-{unique}.example", "generate_password": True,
                                          "status": 1}})
    done = cli(redmine, "users", "pending", "--format", "json")
    assert done.returncode in (0, 3), done.stderr[-2000:]
    [row] = [r for r in json.loads(done.stdout)["pending"] if r["login"] == f"reg{unique}"]
    assert row["project"] == twin2["identifier"] and row["approvable"] == "yes", row


# --- 5. repeated nested ids ------------------------------------------------------------------------------


def test_repeated_nested_ids_are_bad_records_in_plan_and_run(redmine: LocalRedmine, tmp_path: Path,
                                                             unique: str) -> None:
    gateway = redmine.gateway()
    export = write_export(tmp_path / "e", staff(unique) + repeated_ids(unique))
    state = tmp_path / "state.sqlite"
    for command in ("plan", "run", "run"):
        result = migrate(redmine, command, export, state, codes=(3,))
        bad = findings(result, "bad-record")
        assert set(bad) == {f"TR1x{unique}", f"TR3x{unique}"}, result["findings"]
        assert bad[f"TR1x{unique}"].startswith("comments.1.id") and "TR2x" in bad[f"TR3x{unique}"]
    for tid in (f"TR2x{unique}", f"TR4x{unique}"):
        the_issue(gateway, tid)
    assert issues_of(gateway, f"TR1x{unique}") == [] and issues_of(gateway, f"TR3x{unique}") == []
    assert migrate(redmine, "verify", export, state, codes=(0,))["differences"] == []


# --- 6. hostile files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("zipped", [False, True], ids=["directory", "zip"])
def test_hostile_files_are_findings_and_the_rest_migrates(redmine: LocalRedmine, tmp_path: Path, unique: str,
                                                          zipped: bool) -> None:
    gateway = redmine.gateway()
    token = f"{unique}{int(zipped)}"
    export = write_export(tmp_path / "e", staff(token) + hostile_files(token, zipped=zipped), zipped=zipped)
    state = tmp_path / "state.sqlite"
    plan = migrate(redmine, "plan", export, state, codes=(3,))
    run = migrate(redmine, "run", export, state, codes=(3,))
    for result in (plan, run):
        lost = {f["field"]: f["reason"] for f in result["findings"] if f["category"] == "attachment"}
        expected = {f"attachments.AP{token}", f"attachments.A{'C' if zipped else 'L'}{token}"}
        assert set(lost) == expected, result["findings"]
        if zipped:
            assert "cannot be read" in lost[f"attachments.AC{token}"]
    migrate(redmine, "run", export, state)  # the re-run does not crash either
    issue = the_issue(gateway, f"TH1x{token}")
    names = sorted(a["filename"] for a in issue["attachments"])
    assert len(names) == 2 and "good.txt" in names and all(len(n) <= 255 for n in names), names
    kelvin = the_issue(gateway, f"TH2x{token}")
    assert [j for j in kelvin["journals"] if (j.get("notes") or "").startswith(f"[portal:comment:MK{token}]: #")]
    assert migrate(redmine, "verify", export, state, codes=(0,))["differences"] == []


# --- 11. plan writes nothing; verify needs no ledger -------------------------------------------------------


def test_plan_writes_nothing_and_a_run_after_it_adds_the_support_group(redmine: LocalRedmine, tmp_path: Path,
                                                                       unique: str) -> None:
    gateway = redmine.gateway()
    piece = lookalike_companies(unique, only_first=True)
    company = piece.companies[0]
    fields = {k: field_id(gateway, "project", s.name) for k, s in MAPPINGS.project_custom_fields.by_key().items()}
    # The company's project exists already (made by hand, carrying its company id), without support.
    project = gateway.post("/projects.json", {"project": {
        "name": company["name"], "identifier": f"handmade-{unique}",
        "custom_fields": [{"id": fields["company_id"], "value": company["id"]}]}})["project"]
    export = write_export(tmp_path / "e", piece)
    state = tmp_path / "state.sqlite"
    counts_before = {p: gateway.count(p, {"status_id": "*"} if p == "/issues.json" else {"status": ""})
                     for p in ("/issues.json", "/users.json")}
    migrate(redmine, "plan", export, state)
    assert not state.exists()
    assert {p: gateway.count(p, {"status_id": "*"} if p == "/issues.json" else {"status": ""})
            for p in counts_before} == counts_before
    migrate(redmine, "run", export, state)
    group = next(g for g in gateway.get("/groups.json")["groups"] if g["name"] == MAPPINGS.support_group)
    members = gateway.get(f"/projects/{project['id']}/memberships.json")["memberships"]
    assert any((m.get("group") or {}).get("id") == group["id"] for m in members), members


def test_verify_without_a_ledger_still_checks_the_project(redmine: LocalRedmine, tmp_path: Path,
                                                          unique: str) -> None:
    gateway = redmine.gateway()
    export = write_export(tmp_path / "e", lookalike_companies(unique))
    state = tmp_path / "state.sqlite"
    migrate(redmine, "run", export, state)
    state.unlink()
    assert migrate(redmine, "verify", export, state, codes=(0,))["differences"] == []
    assert not state.exists()  # verify wrote no ledger either
    [twin2] = projects_of_company(gateway, f"CL2x{unique}")
    moved = the_issue(gateway, f"TL1x{unique}")
    gateway.put(f"/issues/{moved['id']}.json", {"issue": {"project_id": twin2["id"]}})
    result = migrate(redmine, "verify", export, state, codes=(3,))
    assert [(d["ticket"], d["field"]) for d in result["differences"]] == [(f"TL1x{unique}", "project")]
