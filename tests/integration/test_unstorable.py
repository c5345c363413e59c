"""Issue 19, class 3 on PostgreSQL: what the database cannot store (NUL) is cleaned and reported by plan
and run; a ticket that fails for a reason of its own — a 500 (a database trigger refuses its row) or a
422 (a module Redmine finds blank) — is reported with its reason, kept in the rejects, and the tickets
after it migrate; a re-run retries only those; verify names only the one still refused."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LocalRedmine
from tests.hostile_export import Piece, comment, company, entry, staff, ticket, user, write_export
from tests.integration.test_loader_parity import cli

pytestmark = pytest.mark.redmine


def unstorable(token: str) -> Piece:
    cid, client = f"CN{token}", f"UN{token}"
    dirty = ticket(f"TN1x{token}", cid, client, comments=[comment(f"MN{token}", client, "ответ\x00 с NUL")],
                   time_entries=[entry(f"WN{token}", f"S{token}", "часы\x00")],
                   complaints=[{"author_id": client, "created_at": "2024-05-07T12:00:00+03:00", "text": "жал\x00оба"}])
    dirty.update(subject="тема\x00", description="\x00описание", answers={"Учетная запись": "agent\x00"},
                 module="Ав\x00иа")
    boom = ticket(f"TN2x{token}", cid, client)
    boom["subject"] = f"BOOM{token}"
    blank = ticket(f"TN3x{token}", cid, client)
    blank["module"] = "   "
    return staff(token) + Piece(
        [company(cid, f"Unstorable {token}", f"nul-{token}.example")],
        [{**user(client, f"nul.{token}", f"c@nul-{token}.example", cid), "last_name": "Нул\x00ев"}],
        [dirty, boom, blank, ticket(f"TN4x{token}", cid, client)])


def trigger(redmine: LocalRedmine, token: str, *, on: bool) -> None:
    """A real refusal by the real database for one ticket's row (PostgreSQL raises, Redmine answers 500)."""
    name = f"h19_boom_{token}"
    sql = (f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN IF NEW.subject = 'BOOM{token}' THEN "
           f"RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; "
           f"CREATE TRIGGER {name} BEFORE INSERT ON issues FOR EACH ROW EXECUTE FUNCTION {name}();") if on else (
           f"DROP TRIGGER IF EXISTS {name} ON issues; DROP FUNCTION IF EXISTS {name}();")
    redmine.runner(f"ActiveRecord::Base.connection.execute({json.dumps(sql)})")


def failed(result: dict[str, Any]) -> dict[str, str]:
    return {f["id"]: f["reason"] for f in result["findings"] if f["category"] == "write-failed"}


def test_nul_cleaned_and_a_ticket_refused_for_its_own_reason_stops_nothing(redmine_pg: LocalRedmine,
                                                                          tmp_path: Path) -> None:
    token = os.urandom(3).hex()
    export = write_export(tmp_path / "export", unstorable(token))
    state, rejects = tmp_path / "state.sqlite", tmp_path / "rejects"
    ids = {n: f"TN{n}x{token}" for n in range(1, 5)}
    plan = cli(redmine_pg, "migrate", "plan", str(export), "--state", str(state), codes=(3,))
    cleaned = {(f["file"], f["id"]): f["field"] for f in plan["findings"] if f["category"] == "text-cleaned"}
    assert cleaned[("tickets.jsonl", ids[1])] == ("module, subject, description, answers.Учетная запись, "
                                                   "comments.0.body, complaints.0.text, time_entries.0.comment")
    assert cleaned[("users.jsonl", f"UN{token}")] == "last_name"
    trigger(redmine_pg, token, on=True)
    try:
        run = cli(redmine_pg, "migrate", "run", str(export), "--state", str(state), "--rejects", str(rejects),
                  codes=(3,))
        assert set(failed(run)) == {ids[2], ids[3]}, run["findings"]
        assert "500" in failed(run)[ids[2]] and "a failure of this ticket" in failed(run)[ids[2]]
        # its 422, as Redmine said it: in the API user's language, Russian since provisioning (ru.yml: «Имя» + blank)
        assert "Имя не может быть пустым" in failed(run)[ids[3]]
        assert run["counts"]["issue"] == {"create": 2, "fail": 2}  # the ticket after the refused ones moved
        kept = [json.loads(line) for line in (rejects / "index.jsonl").read_text().splitlines()]
        assert sorted(k["id"] for k in kept) == [ids[2], ids[3]]
        assert {json.loads(line)["id"] for line in (rejects / "tickets.jsonl").read_text().splitlines()} == \
            {ids[2], ids[3]}
        again = cli(redmine_pg, "migrate", "run", str(export), "--state", str(state), codes=(3,))
        assert set(failed(again)) == {ids[2], ids[3]}
        assert again["counts"]["issue"] == {"skip": 2, "fail": 2}
    finally:
        trigger(redmine_pg, token, on=False)
    fixed = cli(redmine_pg, "migrate", "run", str(export), "--state", str(state), codes=(3,))
    assert set(failed(fixed)) == {ids[3]} and fixed["counts"]["issue"] == {"skip": 2, "create": 1, "fail": 1}
    verified = cli(redmine_pg, "migrate", "verify", str(export), "--state", str(state), codes=(3,))
    assert [(d["ticket"], d["field"]) for d in verified["differences"]] == [(ids[3], "exists once")]
    gw = redmine_pg.gateway()
    field = next(f["id"] for f in gw.get("/custom_fields.json")["custom_fields"] if f["name"] == "ID в портале")
    issue = gw.get("/issues.json", {f"cf_{field}": ids[1], "status_id": "*"})["issues"][0]
    assert issue["subject"] == "тема" and issue["description"] == "описание"
