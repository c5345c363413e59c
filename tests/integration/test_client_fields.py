"""What a client may change while an issue is «На рассмотрении» (issue 19.9), as a client user
of the real local Redmine (impersonated, so Redmine applies the client role's field permissions).

The regulation gives clients the subject, the description, the priority and the reason's answers
when they create an issue, and the complaint check box; never the complaint counter nor the
tracker (billing: «Обсуждение» is paid), nor the assignee, privacy or due date.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from helpdesk_core.gateway import Gateway
from tests.conftest import LocalRedmine

pytestmark = pytest.mark.redmine


def _ids(gw: Gateway, path: str, key: str) -> dict[str, int]:
    return {str(i["name"]): int(i["id"]) for i in gw.get(path)[key]}


@pytest.fixture
def client_world(redmine: LocalRedmine) -> dict[str, Any]:
    gw = redmine.gateway()
    token = os.urandom(3).hex()
    trackers = _ids(gw, "/trackers.json", "trackers")
    project = gw.post("/projects.json", {"project": {"name": f"cf{token}", "identifier": f"cf-{token}",
                                                     "tracker_ids": list(trackers.values()),
                                                     "is_public": False}})["project"]
    client = gw.post("/users.json", {"user": {"login": f"cf{token}", "firstname": "Клиент", "lastname": "Тест",
                                              "mail": f"cf{token}@client.example", "password": "secret-Passw0rd1",
                                              "mail_notification": "none"}})["user"]
    roles = _ids(gw, "/roles.json", "roles")
    gw.post(f"/projects/{project['id']}/memberships.json",
            {"membership": {"user_id": client["id"], "role_ids": [roles["Клиент"]]}})
    fields = {f["name"]: int(f["id"]) for f in gw.get("/custom_fields.json")["custom_fields"]
              if f.get("customized_type") == "issue"}
    return {"gw": gw, "project": project, "client": client["login"], "client_id": client["id"],
            "trackers": trackers, "fields": fields,
            "priorities": _ids(gw, "/enumerations/issue_priorities.json", "issue_priorities")}


def _values(issue: dict[str, Any]) -> dict[str, Any]:
    return {f["name"]: f.get("value") for f in issue.get("custom_fields", [])}


def test_a_client_sets_what_the_regulation_gives_and_nothing_else(client_world: dict[str, Any]) -> None:
    gw, fields, client = client_world["gw"], client_world["fields"], client_world["client"]
    trackers, priorities = client_world["trackers"], client_world["priorities"]
    created = gw.post("/issues.json", {"issue": {
        "project_id": client_world["project"]["id"], "tracker_id": trackers["Обсуждение"],
        "priority_id": priorities["Критический"], "subject": "Как настроить тарифы", "description": "Вопрос",
        "due_date": "2030-01-01",
        "custom_fields": [{"id": fields["Номера заказов"], "value": "1234567"}]}}, as_user=client)["issue"]
    issue_id = created["id"]

    def read() -> dict[str, Any]:
        return gw.get(f"/issues/{issue_id}.json")["issue"]

    issue = read()
    # at creation: the tracker, priority, subject and the reason's answers are the client's
    assert (issue["tracker"]["name"], issue["priority"]["name"], issue["subject"]) == (
        "Обсуждение", "Критический", "Как настроить тарифы")
    assert _values(issue)["Номера заказов"] == "1234567"
    assert issue.get("due_date") is None

    gw.put(f"/issues/{issue_id}.json", {"issue": {"custom_fields": [
        {"id": fields["Жалобы на задержку"], "value": "2"}]}})  # support's (or the sweep's) count
    assert read()["status"]["name"] == "На рассмотрении"
    gw.put(f"/issues/{issue_id}.json", {"issue": {
        "tracker_id": trackers["Баг"], "is_private": True, "assigned_to_id": client_world["client_id"],
        "due_date": "2030-01-01", "subject": "Как настроить тарифы (уточнено)",
        # (the complaint counter is left out: still the client's in the first status, like the
        # portal ids, because the REST migration writes it as the client at creation; README)
        "custom_fields": [{"id": fields["Пожаловаться на задержку"], "value": "1"},
                          {"id": fields["Бесплатная консультация"], "value": "1"}]}}, as_user=client)
    issue = read()
    assert issue["tracker"]["name"] == "Обсуждение"  # billing cannot be dodged
    assert _values(issue)["Жалобы на задержку"] == "2"
    assert _values(issue)["Бесплатная консультация"] in (None, "", "0")
    assert issue["is_private"] is False and issue.get("assigned_to") is None and issue.get("due_date") is None
    assert _values(issue)["Пожаловаться на задержку"] == "1"  # the complaint check box is the client's
    assert issue["subject"] == "Как настроить тарифы (уточнено)"  # still «На рассмотрении»: the text is theirs
