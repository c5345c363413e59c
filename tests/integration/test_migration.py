"""The migration against the real local Redmine: the bundled sample end to end, re-runs, deltas,
client isolation and fix-dates. Each test migrates its own unique copy of the sample."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LocalRedmine
from tests.exports import portal_id, unique_export

pytestmark = pytest.mark.redmine
LIMIT = ["--attachment-limit-kb", "200"]  # makes the sample's 300 KB log file "oversize"


def helpdesk(redmine: LocalRedmine, *args: str, check_codes: tuple[int, ...] = (0, 3)) -> tuple[int, Any]:
    """Run the real CLI as a subprocess with --format json; returns (exit code, parsed stdout)."""
    done = subprocess.run([".venv/bin/helpdesk", *args, "--format", "json"], capture_output=True, text=True,
                          env=redmine.env(), timeout=900, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode in check_codes, f"exit {done.returncode}: {done.stderr[-3000:]}"
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else None


def issue_for(redmine: LocalRedmine, field_id: int, pid: str) -> dict[str, Any]:
    gateway = redmine.gateway()
    found = gateway.get("/issues.json", {f"cf_{field_id}": pid, "status_id": "*"})["issues"]
    assert len(found) == 1, f"{pid}: {len(found)} issues"
    return gateway.get(f"/issues/{found[0]['id']}.json", {"include": "journals,attachments"})["issue"]


@pytest.fixture(scope="module")
def migrated(redmine_pg: LocalRedmine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sample, planned then migrated with 4 workers into the PostgreSQL instance."""
    token = __import__("os").urandom(3).hex()
    root = tmp_path_factory.mktemp("e2e")
    export = unique_export(root / "export", token)
    state = root / "ledger.sqlite"
    plan_code, plan = helpdesk(redmine_pg, "migrate", "plan", str(export), "--state", str(state), *LIMIT)
    run_code, run = helpdesk(redmine_pg, "migrate", "run", str(export), "--state", str(state),
                             "--workers", "4", "--report", str(root / "report.json"), *LIMIT)
    fields = {f["name"]: f["id"] for f in redmine_pg.gateway().get("/custom_fields.json")["custom_fields"]}
    return {"token": token, "export": export, "state": state, "plan": plan, "plan_code": plan_code,
            "run": run, "run_code": run_code, "root": root, "portal_field": fields["ID в портале"]}


def test_plan_writes_nothing_and_predicts_the_run(migrated: dict[str, Any]) -> None:
    plan, run = migrated["plan"], migrated["run"]
    assert plan["dry_run"] is True
    assert plan["requests"]["writes"] == 0
    assert plan["counts"]["issue"]["create"] == run["counts"]["issue"]["create"] == 36
    assert plan["counts"]["journal"] == run["counts"]["journal"]
    assert migrated["plan_code"] == 3  # the sample has bad records: attention needed


def test_bad_records_are_reported_with_file_line_id_and_reason(migrated: dict[str, Any]) -> None:
    token = migrated["token"]
    report = json.loads((migrated["root"] / "report.json").read_text())
    bad = {(f["file"], f["line"], f["id"]) for f in report["findings"] if f["category"] == "bad-record"}
    assert ("tickets.jsonl", 24, "T24") in bad  # not JSON: the copy could not rename its id
    for line, sample_id in ((25, "T25"), (26, "T26"), (27, "T27"), (37, "T3")):
        assert ("tickets.jsonl", line, portal_id(sample_id, token)) in bad
    assert ("users.jsonl", 9, portal_id("U15", token)) in bad
    unmapped = report["unmapped"]
    assert unmapped == {"priority": {"Срочный": 1}, "reason": {"Прочее": 1}, "status": {"Переоткрыто": 1}}
    lost = {f["id"] for f in report["findings"] if f["category"] == "attachment"}
    assert lost == {portal_id(t, token) for t in ("T13", "T14", "T15")}


def test_verify_passes_and_second_run_writes_nothing(migrated: dict[str, Any], redmine_pg: LocalRedmine) -> None:
    code, verify = helpdesk(redmine_pg, "migrate", "verify", str(migrated["export"]), "--state",
                            str(migrated["state"]), *LIMIT, check_codes=(0,))
    assert verify["differences"] == [] and verify["tickets"] == 36
    _, again = helpdesk(redmine_pg, "migrate", "run", str(migrated["export"]), "--state", str(migrated["state"]),
                        *LIMIT)
    assert again["requests"]["writes"] == 0, again["counts"]
    assert again["counts"]["issue"] == {"skip": 36}


def test_awkward_tickets_are_faithful(migrated: dict[str, Any], redmine_pg: LocalRedmine) -> None:
    token, field = migrated["token"], migrated["portal_field"]
    long_subject = issue_for(redmine_pg, field, portal_id("T5", token))
    assert len(long_subject["subject"]) <= 255 and long_subject["subject"].endswith("…")
    assert "**Полная тема:**" in long_subject["description"]
    html = issue_for(redmine_pg, field, portal_id("T6", token))
    assert "<script" not in html["description"] and "<iframe" not in html["description"]
    sixty = issue_for(redmine_pg, field, portal_id("T8", token))
    notes = [j for j in sixty["journals"] if "[portal:comment:" in (j.get("notes") or "")]
    assert len(notes) == 60
    comment_ids = [j["notes"].split("[portal:comment:")[1].split("]")[0] for j in notes]
    assert comment_ids == sorted(comment_ids, key=lambda c: int(c.split("x")[1])), "comments out of order"
    internal = issue_for(redmine_pg, field, portal_id("T9", token))
    assert any(j["private_notes"] for j in internal["journals"])
    files = issue_for(redmine_pg, field, portal_id("T10", token))
    assert files["attachments"], "comment attachments were not uploaded"
    stand_in = issue_for(redmine_pg, field, portal_id("T17", token))
    assert stand_in["author"]["name"] != "Redmine Admin"
    assert "**Автор в портале:**" in stand_in["description"]


def test_each_comment_under_its_own_author(migrated: dict[str, Any], redmine_pg: LocalRedmine) -> None:
    token, field = migrated["token"], migrated["portal_field"]
    export = migrated["export"]
    users = {u["id"]: u for u in map(json.loads, (export / "users.jsonl").read_text().splitlines()) if u}
    ticket = next(t for t in map(json.loads, filter(None, (export / "tickets.jsonl").read_text().splitlines()[:12]))
                  if t["id"] == portal_id("T8", token))
    issue = issue_for(redmine_pg, field, ticket["id"])
    by_id = {j["notes"].split("[portal:comment:")[1].split("]")[0]: j for j in issue["journals"]
             if "[portal:comment:" in (j.get("notes") or "")}
    checked = 0
    for comment in ticket["comments"]:
        author = users.get(comment["author_id"])
        if author and not comment["internal"] or (author and author["kind"] == "staff"):
            expected = f"{author['first_name']} {author['last_name']}".strip()
            assert by_id[comment["id"]]["user"]["name"] == expected, comment["id"]
            assert by_id[comment["id"]]["private_notes"] == comment["internal"]
            checked += 1
    assert checked >= 40


def test_case_colliding_logins_are_two_people_and_inactive_users_end_locked(
        migrated: dict[str, Any], redmine_pg: LocalRedmine) -> None:
    token = migrated["token"]
    gateway = redmine_pg.gateway()
    people = [u for u in gateway.iterate("/users.json", "users", {"status": "", "name": f"ivanov.{token}"})]
    assert len({u["id"] for u in people}) == 2, people
    locked = {u["login"] for u in gateway.iterate("/users.json", "users", {"status": 3, "name": token})}
    assert any(login.startswith("m.kuznetsova") or token in login for login in locked), locked


def test_client_sees_only_own_company_and_no_private_note(migrated: dict[str, Any], redmine_pg: LocalRedmine) -> None:
    token = migrated["token"]
    gateway = redmine_pg.gateway()
    users = [json.loads(line) for line in (migrated["export"] / "users.jsonl").read_text().splitlines() if line]
    client = next(u for u in users if u["kind"] == "client" and u["active"])
    login = client["login"]
    visible = list(gateway.iterate("/issues.json", "issues", {"status_id": "*"}, as_user=login))
    assert visible, "the client sees none of their company's issues"
    projects = {i["project"]["name"] for i in visible}
    assert len(projects) == 1, f"{login} sees issues of {projects}"
    for issue in visible:
        full = gateway.get(f"/issues/{issue['id']}.json", {"include": "journals"}, as_user=login)["issue"]
        assert not any(j.get("private_notes") for j in full["journals"]), issue["id"]
        assert "#жалоба" not in json.dumps(full, ensure_ascii=False)
    assert token


def test_delta_run_writes_exactly_the_changes(migrated: dict[str, Any], redmine_pg: LocalRedmine,
                                              tmp_path: Path) -> None:
    token = migrated["token"]
    new_comment = {"id": f"M{token}x9001", "author_id": portal_id("U10", token),
                   "created_at": "2026-11-21T10:00:00+03:00", "body": "Новый комментарий после выгрузки",
                   "internal": False, "attachments": []}

    def edit(ticket: dict[str, Any]) -> dict[str, Any]:
        if ticket["id"] == portal_id("T1", token):
            ticket["comments"].append({**new_comment, "author_id": ticket["author_id"]})
            ticket["updated_at"] = "2026-11-21T10:00:00+03:00"
        if ticket["id"] == portal_id("T2", token):
            ticket["status"] = "Закрыто"
            ticket["status_history"].append({"status": "Закрыто", "at": "2026-11-21T11:00:00+03:00", "by": None})
        return ticket

    delta = unique_export(tmp_path / "delta", token, edit_ticket=edit)
    _, result = helpdesk(redmine_pg, "migrate", "run", str(delta), "--state", str(migrated["state"]), *LIMIT)
    assert result["counts"]["journal"]["create"] == 1
    assert result["counts"]["issue"].get("update") == 1
    assert result["counts"]["issue"].get("create", 0) == 0
    assert result["requests"]["writes"] == 2, result["requests"]
    closed = issue_for(redmine_pg, migrated["portal_field"], portal_id("T2", token))
    assert closed["status"]["name"] == "Закрыто"
    code, verify = helpdesk(redmine_pg, "migrate", "verify", str(delta), "--state", str(migrated["state"]),
                            *LIMIT, check_codes=(0,))
    assert verify["differences"] == []


def test_lost_ledger_is_rebuilt_from_redmine(migrated: dict[str, Any], redmine_pg: LocalRedmine,
                                             tmp_path: Path) -> None:
    _, result = helpdesk(redmine_pg, "migrate", "run", str(migrated["export"]), "--state",
                         str(tmp_path / "new-ledger.sqlite"), *LIMIT)
    assert result["counts"].get("issue", {}).get("create", 0) == 0
    assert result["counts"].get("journal", {}).get("create", 0) == 0
    assert result["counts"].get("time_entry", {}).get("create", 0) == 0
    assert result["counts"].get("user", {}).get("create", 0) == 0


def test_fix_dates_restores_portal_timestamps_idempotently(migrated: dict[str, Any],
                                                            redmine_pg: LocalRedmine) -> None:
    done = subprocess.run([".venv/bin/helpdesk", "migrate", "fix-dates", "--ruby", "--state",
                           str(migrated["state"])], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    script = done.stdout
    first = json.loads(redmine_pg.runner(script).strip().splitlines()[-1])
    assert first["changed"] > 0
    second = json.loads(redmine_pg.runner(script).strip().splitlines()[-1])
    assert second["changed"] == 0
    issue = issue_for(redmine_pg, migrated["portal_field"], portal_id("T5", migrated["token"]))
    ticket = json.loads((migrated["export"] / "tickets.jsonl").read_text().splitlines()[4])
    from datetime import datetime

    def instant(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    assert instant(issue["created_on"]) == instant(ticket["created_at"])
    sixty = issue_for(redmine_pg, migrated["portal_field"], portal_id("T8", migrated["token"]))
    ticket8 = json.loads((migrated["export"] / "tickets.jsonl").read_text().splitlines()[7])
    marker = f"[portal:comment:{ticket8['comments'][0]['id']}]"
    first = next(j for j in sixty["journals"] if marker in (j["notes"] or ""))
    assert instant(first["created_on"]) == instant(ticket8["comments"][0]["created_at"])
