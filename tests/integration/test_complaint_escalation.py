"""«Пожаловаться на задержку» on the real local Redmine: any client of the company may press it
(and change nothing else), every press is counted, and the escalation reaches a person —
checked by who watches or is assigned, and by the recipients Redmine's own Mailer picks for
the escalation's journal — at most once per issue per working day.

Same harness as test_sweep_redmine.py (own project, policies scoped to it, users of this module).
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from helpdesk_core.errors import HelpdeskError
from tests.integration import test_sweep_redmine as harness
from tests.integration.mail_probe import CATCH_MAIL
from tests.integration.test_sweep_redmine import World, sweep_marks, writes

pytestmark = pytest.mark.redmine
live, people, world = harness.live, harness.people, harness.world
ONLY = ("--only", "delay-complaint")

# Redmine's own recipients for a journal (Mailer.deliver_issue_edit: watchers, assignee, who may read a
# private note), caught by the test delivery method. The global switch (`provision --notifications`)
# is left alone: it decides whether Redmine sends at all, not to whom.
RECIPIENTS = CATCH_MAIL + """
out = {}
%(journals)s.each do |jid|
  ActionMailer::Base.deliveries.clear
  Mailer.deliver_issue_edit(Journal.find(jid))
  out[jid.to_s] = caught_recipients
end
puts JSON.generate(out)
"""


def recipients(world: World, journals: list[int]) -> dict[int, list[str]]:
    found = json.loads(world.live.runner(RECIPIENTS % {"journals": json.dumps(journals)}).strip().splitlines()[-1])
    return {int(k): v for k, v in found.items()}


def fields(world: World, issue: int) -> dict[str, Any]:
    return {f["name"]: f.get("value") for f in world.issue(issue).get("custom_fields", [])}


def escalations(world: World, issue: int) -> list[dict[str, Any]]:
    """The escalation notes: private, clean of markers; each goes with one marker in the
    support-only field (issue 18.7a: Redmine splits the note from the field change of one PUT)."""
    journals = world.issue(issue)["journals"]
    marks = [j for j in journals if "[helpdesk:delay-complaint:" in sweep_marks(j)]
    notes = [j for j in journals if j["private_notes"] and (j["notes"] or "").startswith("Жалоба клиента на задержку")]
    assert len(marks) == len(notes) and not any("[helpdesk:" in j["notes"] for j in notes)
    return notes


@pytest.fixture
def company(world: World) -> dict[str, Any]:
    """A colleague of the author in the same project, and mail addresses Redmine will use."""
    gw = world.gw
    token = os.urandom(3).hex()
    colleague = f"col{token}"
    colleague_id = int(gw.post("/users.json", {"user": {
        "login": colleague, "firstname": "Коллега", "lastname": "Клиента", "mail": f"{colleague}@example.org",
        "password": "secret-Passw0rd", "mail_notification": "only_my_events"}})["user"]["id"])
    roles = {r["name"]: r["id"] for r in gw.get("/roles.json")["roles"]}
    gw.post(f"/projects/{world.project_id}/memberships.json",
            {"membership": {"user_id": colleague_id, "role_ids": [roles["Клиент"]]}})
    for user in (world.support_id, world.client_id):  # the harness makes them mute
        gw.put(f"/users/{user}.json", {"user": {"mail_notification": "only_my_events"}})
    group = next(int(g["id"]) for g in gw.get("/groups.json")["groups"] if g["name"] == "Сотрудники техподдержки")
    mails = {u: gw.get(f"/users/{u}.json")["user"]["mail"] for u in (world.support_id, world.client_id)}
    return {"colleague": colleague, "colleague_id": colleague_id, "group": group,
            "support_mail": mails[world.support_id], "client_mail": mails[world.client_id]}


def taken(world: World) -> int:
    issue = world.create_issue(subject="Не выписывается билет")
    world.update(issue, by=world.support, notes="Взяли в работу", status="В работе")
    return issue


def test_a_colleague_presses_the_button_and_changes_nothing_else(world: World, company: dict[str, Any]) -> None:
    """Regulation «ОС»: the button is the company's, not only the author's: a colleague (another
    client of the project) ticks it; subject, priority, description, other fields and the status
    stay what they were (read-only for clients once the issue is taken)."""
    issue = taken(world)
    before = world.issue(issue)
    priorities = world.ids("/enumerations/issue_priorities.json", "issue_priorities")
    ids = {f["name"]: int(f["id"]) for f in world.gw.get("/custom_fields.json")["custom_fields"]}
    statuses = world.ids("/issue_statuses.json", "issue_statuses")
    for change in ({"subject": "Переписано коллегой"}, {"description": "Другое описание"},
                   {"priority_id": priorities["Блокер"]}, {"status_id": statuses["Закрыто"]},
                   {"custom_fields": [{"id": ids["Номера заказов"], "value": "999"}]},
                   {"custom_fields": [{"id": ids["Жалобы на задержку"], "value": "40"}]}):
        with contextlib.suppress(HelpdeskError):  # Redmine drops read-only fields, or refuses
            world.gw.put(f"/issues/{issue}.json", {"issue": change}, as_user=company["colleague"])
    after = world.issue(issue)
    for key in ("subject", "description", "priority", "status", "custom_fields"):
        assert after[key] == before[key], key
    world.gw.put(f"/issues/{issue}.json", {"issue": {"custom_fields": [
        {"id": ids["Пожаловаться на задержку"], "value": "1"}]}}, as_user=company["colleague"])
    assert fields(world, issue)["Пожаловаться на задержку"] == "1"
    press = world.issue(issue)["journals"][-1]
    assert press["user"]["id"] == company["colleague_id"]


def test_an_unassigned_issue_escalates_to_the_support_group_once_a_working_day(
        world: World, company: dict[str, Any]) -> None:
    """The first press: the support group becomes a watcher, then the private note, so Redmine
    mails support (not the client) about it; a second press the same working day is counted
    and cleared with no second note; every press is in «Жалобы на задержку»."""
    issue = taken(world)
    button = next(int(f["id"]) for f in world.gw.get("/custom_fields.json")["custom_fields"]
                  if f["name"] == "Пожаловаться на задержку")

    def press(login: str) -> None:
        world.gw.put(f"/issues/{issue}.json", {"issue": {"custom_fields": [{"id": button, "value": "1"}]}},
                     as_user=login)

    press(company["colleague"])
    now = datetime.now(UTC) + timedelta(minutes=1)
    code, result = world.sweep("run", now, *ONLY)
    assert code == 0, result
    assert writes(result) == [("delay-complaint", issue, "ok")] * 2  # watch, then the note
    watchers = world.gw.get(f"/issues/{issue}.json", {"include": "watchers"})["issue"]["watchers"]
    assert company["group"] in {w["id"] for w in watchers}
    (note,) = escalations(world, issue)
    assert note["private_notes"] is True
    assert "Получатель: группа «Сотрудники техподдержки», добавлена в наблюдатели." in note["notes"]
    assert (fields(world, issue)["Жалобы на задержку"], fields(world, issue)["Пожаловаться на задержку"]) == ("1", "0")
    told = recipients(world, [note["id"]])[note["id"]]
    assert company["support_mail"] in told and company["client_mail"] not in told

    press(world.client)
    code, again = world.sweep("run", now, *ONLY)
    assert code == 0, again
    assert [(o["action"], o["outcome"]) for o in again["outcomes"]] == [("count", "ok")]
    assert len(escalations(world, issue)) == 1
    assert (fields(world, issue)["Жалобы на задержку"], fields(world, issue)["Пожаловаться на задержку"]) == ("2", "0")
    code, quiet = world.sweep("run", now, *ONLY)
    assert code == 0 and writes(quiet) == [], quiet


def test_an_assigned_issue_escalates_to_its_assignee(world: World, company: dict[str, Any]) -> None:
    """The assignee is the person: no watcher is added, and Redmine mails them the note."""
    issue = taken(world)
    world.gw.put(f"/issues/{issue}.json", {"issue": {"assigned_to_id": world.support_id}})
    button = next(int(f["id"]) for f in world.gw.get("/custom_fields.json")["custom_fields"]
                  if f["name"] == "Пожаловаться на задержку")
    world.gw.put(f"/issues/{issue}.json", {"issue": {"custom_fields": [{"id": button, "value": "1"}]}},
                 as_user=company["colleague"])

    def watchers() -> set[int]:  # Redmine itself adds whoever contributed (auto-watch)
        return {w["id"] for w in world.gw.get(f"/issues/{issue}.json", {"include": "watchers"})["issue"]["watchers"]}

    before = watchers()
    code, result = world.sweep("run", datetime.now(UTC) + timedelta(minutes=1), *ONLY)
    assert code == 0, result
    assert [(o["action"], o["outcome"]) for o in result["outcomes"]] == [("note", "ok")]
    assert company["group"] not in watchers() and watchers() - before <= {world.live.gateway().get(
        "/users/current.json")["user"]["id"]}  # only the sweep's own user, by Redmine's auto-watch
    (note,) = escalations(world, issue)
    assert "Получатель: исполнитель" in note["notes"]
    told = recipients(world, [note["id"]])[note["id"]]
    assert company["support_mail"] in told and company["client_mail"] not in told
