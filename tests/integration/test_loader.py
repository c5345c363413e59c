"""`migrate run --loader rails` against the real local Redmine (SQLite instance): the sample end to end,
native dates and authors, verify, REST re-runs, a lost ledger, and the runner's usage errors."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REDMINE_LOCAL, LocalRedmine
from tests.exports import portal_id, unique_export
from tests.integration.test_faults import assert_exactly_once
from tests.integration.test_migration import issue_for as issue_in

pytestmark = pytest.mark.redmine
REPO = Path(__file__).resolve().parents[2]
LIMIT = ["--attachment-limit-kb", "200"]  # the same as tests/integration/test_faults (census, verify)


def runner_cmd(redmine: LocalRedmine) -> str:
    done = subprocess.run([str(REDMINE_LOCAL), "runner-cmd", "--variant", redmine.variant], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def helpdesk(redmine: LocalRedmine, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv/bin/helpdesk"), *args], capture_output=True, text=True,
                          env={**redmine.env(), **(env or {})}, timeout=900, cwd=REPO)


def migrate(redmine: LocalRedmine, export: Path, state: Path, *extra: str) -> dict[str, Any]:
    done = helpdesk(redmine, "migrate", "run", str(export), "--state", str(state), *LIMIT, "--format", "json", *extra)
    assert done.returncode == 3, f"exit {done.returncode}: {done.stderr[-3000:]}"  # the sample's bad records
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)


def with_loader(redmine: LocalRedmine) -> list[str]:
    return ["--loader", "rails", "--rails-runner", runner_cmd(redmine)]


def issue_for(redmine: LocalRedmine, pid: str) -> dict[str, Any]:
    fields = redmine.gateway().get("/custom_fields.json")["custom_fields"]
    return issue_in(redmine, next(f["id"] for f in fields if f["name"] == "ID в портале"), pid)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def loaded(redmine: LocalRedmine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    token = __import__("os").urandom(3).hex()
    root = tmp_path_factory.mktemp("loader")
    export = unique_export(root / "export", token)
    state = root / "ledger.sqlite"
    # Two loader processes: every assertion below also holds when tickets are split between them
    result = migrate(redmine, export, state, *with_loader(redmine), "--workers", "2")
    return {"token": token, "export": export, "state": state, "result": result}


def test_loader_run_verifies_and_counts_like_rest(loaded: dict[str, Any], redmine: LocalRedmine) -> None:
    result = loaded["result"]
    assert result["counts"]["issue"]["create"] == result["tickets_read"] == 36  # every sound ticket
    assert result["counts"]["issue"].get("fail", 0) == 0, result["findings"]
    assert result["counts"]["journal"]["create"] > 100
    assert result["counts"]["time_entry"]["create"] == 3
    assert result["counts"]["attachment"]["create"] >= 2
    assert not [f for f in result["findings"] if f["category"] == "write-failed"]
    # The loader's REST traffic is the snapshot and the per-company setup, never a request per note
    assert result["requests"]["put"] <= 2, result["requests"]
    assert_exactly_once(redmine, loaded["export"], loaded["state"])


def test_rest_rerun_after_the_loader_writes_nothing(loaded: dict[str, Any], redmine: LocalRedmine) -> None:
    again = migrate(redmine, loaded["export"], loaded["state"])
    assert again["requests"]["writes"] == 0, again["counts"]
    assert again["counts"]["issue"] == {"skip": 36}


def test_lost_ledger_after_the_loader_is_rebuilt_without_a_new_object(loaded: dict[str, Any], redmine: LocalRedmine,
                                                                      tmp_path: Path) -> None:
    result = migrate(redmine, loaded["export"], tmp_path / "new-ledger.sqlite", *with_loader(redmine))
    for kind in ("issue", "journal", "time_entry", "user", "project", "complaint"):
        assert result["counts"].get(kind, {}).get("create", 0) == 0, (kind, result["counts"])
    assert result["counts"]["issue"]["match"] == 36


def test_authors_dates_and_private_notes_are_native(loaded: dict[str, Any], redmine: LocalRedmine) -> None:
    token = loaded["token"]
    tickets = {}
    for line in (loaded["export"] / "tickets.jsonl").read_text("utf-8").splitlines():
        try:
            tickets[json.loads(line)["id"]] = json.loads(line)
        except (ValueError, KeyError, TypeError):
            continue
    users = {json.loads(line)["id"]: json.loads(line) for line in
             (loaded["export"] / "users.jsonl").read_text("utf-8").splitlines() if line.strip()}
    ticket = tickets[portal_id("T9", token)]  # internal notes by staff and by clients
    issue = issue_for(redmine, ticket["id"])
    assert when(issue["created_on"]) == when(ticket["created_at"])
    moments = [ticket["updated_at"], *(c["created_at"] for c in ticket["comments"]),
               *(h["at"] for h in ticket.get("status_history") or ())]
    assert when(issue["updated_on"]) == max(when(m) for m in moments)  # never older than its newest event
    assert issue["author"]["name"].startswith(users[ticket["author_id"]]["first_name"])
    notes = [j for j in issue["journals"] if "[portal:comment:" in (j.get("notes") or "")]
    assert len(notes) == len(ticket["comments"])
    for comment, journal in zip(ticket["comments"], notes, strict=True):
        assert f"[portal:comment:{comment['id']}]" in journal["notes"]
        assert when(journal["created_on"]) == when(comment["created_at"])
        assert journal["private_notes"] == comment["internal"]
    timeline = [j for j in issue["journals"] if "[portal:status:" in (j.get("notes") or "")]
    assert timeline and all(d["name"] == "status_id" for j in timeline for d in j["details"][:1])  # replayed
    closed = next(t for t in tickets.values() if t.get("closed_at"))
    issue = issue_for(redmine, closed["id"])
    assert when(issue["closed_on"]) == when(closed["closed_at"])


def test_loader_without_a_runner_command_is_a_usage_error(loaded: dict[str, Any], redmine: LocalRedmine,
                                                         tmp_path: Path) -> None:
    done = helpdesk(redmine, "migrate", "run", str(loaded["export"]), "--state", str(tmp_path / "s.sqlite"),
                    "--loader", "rails", env={"HELPDESK_RAILS_RUNNER": ""})
    assert done.returncode == 2, done.stderr
    assert "--rails-runner" in done.stderr and "HELPDESK_RAILS_RUNNER" in done.stderr
    assert not (tmp_path / "s.sqlite").exists()  # nothing started


def test_a_runner_that_dies_at_boot_fails_the_run_with_its_words(redmine: LocalRedmine, tmp_path: Path) -> None:
    export = unique_export(tmp_path / "export", __import__("os").urandom(3).hex())
    done = helpdesk(redmine, "migrate", "run", str(export), "--state", str(tmp_path / "s.sqlite"), *LIMIT,
                    "--loader", "rails", env={"HELPDESK_RAILS_RUNNER": "sh -c 'echo no redmine here >&2; exit 7'"})
    assert done.returncode == 1, done.stderr
    assert "no redmine here" in done.stderr and "exited (7)" in done.stderr


def test_an_assignee_redmine_refuses_is_left_out_and_reported(redmine: LocalRedmine, tmp_path: Path) -> None:
    token = __import__("os").urandom(3).hex()
    ticket_id = portal_id("T1", token)

    def edit(ticket: dict[str, Any]) -> dict[str, Any]:
        if ticket["id"] == ticket_id:
            ticket["assignee_id"] = portal_id("U10", token)  # a client of another company: not assignable here
        return ticket

    export = unique_export(tmp_path / "export", token, edit_ticket=edit)
    result = migrate(redmine, export, tmp_path / "s.sqlite", *with_loader(redmine))
    assert result["counts"]["issue"].get("fail", 0) == 0
    issue = issue_for(redmine, ticket_id)
    assert "assigned_to" not in issue
    assert len([j for j in issue["journals"] if "[portal:comment:" in (j.get("notes") or "")]) == 2  # all moved
    assert not [d for j in issue["journals"] for d in j["details"] if d["name"] == "assigned_to_id"]
    reasons = [f["reason"] for f in result["findings"] if f["id"] == ticket_id and f["category"] == "workflow"]
    assert len(reasons) == 1 and "left unassigned" in reasons[0], result["findings"]


def _shape(issue: dict[str, Any], token: str) -> dict[str, Any]:
    """What an issue holds, without what differs between two copies (ids, tokens, the migration's clock)."""
    def plain(text: Any) -> Any:
        return text.replace(token, "TOKEN") if isinstance(text, str) else text

    return {
        "custom_fields": sorted((f["name"], plain(f.get("value"))) for f in issue["custom_fields"]),
        "status": issue["status"]["name"], "priority": issue["priority"]["name"],
        # as a multiset: Redmine lists journals by date, and REST's dates are the migration's until fix-dates
        "journals": sorted(repr((j["private_notes"], j["user"]["name"] == issue["author"]["name"], bool(j.get("notes")),
                                 [(d["property"], d["name"] if d["property"] == "attr" else "file")
                                  for d in j["details"]])) for j in issue["journals"]),
        "attachments": sorted(a["filename"] for a in issue["attachments"]),
    }


def test_the_loader_writes_what_rest_writes(redmine: LocalRedmine, tmp_path: Path) -> None:
    """The same ticket (a private note with two files among its comments) through REST and through the
    loader: the same custom values, the same journals (the files' details in a public journal of their own,
    as Redmine splits them), the same files; the loader's journals carry the portal's dates."""
    issues = {}
    for way in ("rest", "rails"):
        token = __import__("os").urandom(3).hex()
        ticket_id = portal_id("T10", token)

        def edit(ticket: dict[str, Any], ticket_id: str = ticket_id) -> dict[str, Any]:
            if ticket["id"] == ticket_id:
                for comment in ticket["comments"]:
                    comment["internal"] = comment["internal"] or bool(comment.get("attachments"))
            return ticket

        export = unique_export(tmp_path / way, token, edit_ticket=edit)
        extra = with_loader(redmine) if way == "rails" else []
        result = migrate(redmine, export, tmp_path / f"{way}.sqlite", *extra)
        assert result["counts"]["issue"].get("fail", 0) == 0, result["findings"]
        issue = issue_for(redmine, ticket_id)
        issues[way] = (_shape(issue, token), issue)
    rest, rails = issues["rest"][0], issues["rails"][0]
    assert rails == rest
    split = [j for j in issues["rails"][1]["journals"] if j["details"] and j["details"][0]["property"] == "attachment"]
    assert split and all(not j["private_notes"] and not j.get("notes") for j in split)
    ticket = next(json.loads(line) for line in (tmp_path / "rails" / "tickets.jsonl").read_text("utf-8").splitlines()
                  if line.startswith("{") and '"T' in line and json.loads(line).get("id", "").endswith("x10"))
    private = [c for c in ticket["comments"] if c.get("attachments")]
    notes = {j["id"]: j for j in issues["rails"][1]["journals"]}
    for comment in private:
        journal = next(j for j in notes.values() if f"[portal:comment:{comment['id']}]" in (j.get("notes") or ""))
        assert journal["private_notes"] is True
        assert when(journal["created_on"]) == when(comment["created_at"])
        files = notes.get(journal["id"] - 1)  # its files' journal, written just before it, at the same moment
        assert files is not None and files["details"] and when(files["created_on"]) == when(comment["created_at"])


@pytest.mark.parametrize("variant", ["sqlite", "pgsql"])
def test_an_issue_someone_else_wrote_with_the_portal_id_is_not_taken_for_the_ticket(
        variant: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """As over REST, only an issue the tool (or the ticket's author) wrote counts as the ticket's: one that
    someone else wrote carrying the same «ID в портале» is neither adopted nor completed. SQLite asks the
    database per ticket; PostgreSQL reads the list at boot."""
    target: LocalRedmine = request.getfixturevalue("redmine" if variant == "sqlite" else "redmine_pg")
    token = __import__("os").urandom(3).hex()
    ticket_id = portal_id("T1", token)
    gateway = target.gateway()
    field = next(f["id"] for f in gateway.get("/custom_fields.json")["custom_fields"] if f["name"] == "ID в портале")
    outsider = gateway.post("/users.json", {"user": {
        "login": f"outsider{token}", "firstname": "Посторонний", "lastname": "Автор", "mail": f"o{token}@example.test",
        "generate_password": True}})["user"]["id"]
    project = gateway.get("/projects.json", {"limit": 1})["projects"][0]["id"]
    forged = gateway.post("/issues.json", {"issue": {"project_id": project, "subject": "не тикет портала",
                                                     "custom_fields": [{"id": field, "value": ticket_id}]}})
    forged_id = forged["issue"]["id"]
    target.runner(f"Issue.where(id: {int(forged_id)}).update_all(author_id: {int(outsider)})")
    export = unique_export(tmp_path / "export", token)
    result = migrate(target, export, tmp_path / "s.sqlite", "--loader", "rails", "--rails-runner", runner_cmd(target),
                     "--workers", "2")
    assert result["counts"]["issue"]["create"] == 36, result["counts"]
    carrying = gateway.get("/issues.json", {f"cf_{field}": ticket_id, "status_id": "*"})["issues"]
    assert sorted(i["id"] for i in carrying) != [forged_id] and len(carrying) == 2
    ours = next(i for i in carrying if i["id"] != forged_id)
    assert ours["author"]["id"] != outsider
    untouched = gateway.get(f"/issues/{forged_id}.json", {"include": "journals"})["issue"]
    assert untouched["journals"] == [] and untouched["author"]["id"] == outsider
