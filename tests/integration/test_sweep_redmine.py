"""Sweeps against the real local Redmine: each rule fires once, replies resume, guards hold.

Issues are created through the gateway (the client impersonated, so Redmine records the
client as author), then their dates are moved into the past with `rails runner` because
the REST API cannot backdate. Every test works in its own project and runs the sweep with
a policies file scoped to that project, so other tests' issues are never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from helpdesk_core.gateway import Gateway
from tests.conftest import REPO, LocalRedmine, state_file

pytestmark = pytest.mark.redmine
POLICIES_YAML = REPO / "policies" / "policies.yaml"
HELPDESK = [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())"]


@pytest.fixture(scope="module")
def live(request: pytest.FixtureRequest) -> LocalRedmine:
    """The running sqlite Redmine from var/redmine-sqlite.env, else the `redmine` fixture starts it."""
    env_file = state_file("sqlite")
    if env_file.exists():
        values = dict(line.split("=", 1) for line in env_file.read_text().split() if "=" in line)
        try:
            requests.get(values["REDMINE_URL"] + "/users/current.json", timeout=5,
                         headers={"X-Redmine-API-Key": values["REDMINE_API_KEY"]}).raise_for_status()
            return LocalRedmine("sqlite", values["REDMINE_URL"], values["REDMINE_API_KEY"])
        except (requests.RequestException, KeyError):
            pass
    return request.getfixturevalue("redmine")


@dataclass
class World:
    live: LocalRedmine
    gw: Gateway
    project: str
    project_id: int
    support: str
    support_id: int
    client: str
    client_id: int
    policies: Path
    state: Path

    def ids(self, path: str, key: str) -> dict[str, int]:
        return {i["name"]: int(i["id"]) for i in self.gw.get(path)[key]}

    def create_issue(self, subject: str = "Не проходит оплата", priority: str = "Средний",
                     tracker: str = "Баг", description: str = "Заказ 1234567, логин agent1") -> int:
        payload = {"issue": {"project_id": self.project_id, "subject": subject, "description": description,
                             "tracker_id": self.ids("/trackers.json", "trackers")[tracker],
                             "priority_id": self.ids("/enumerations/issue_priorities.json",
                                                     "issue_priorities")[priority]}}
        return int(self.gw.post("/issues.json", payload, as_user=self.client)["issue"]["id"])

    def update(self, issue: int, *, by: str, notes: str = "", status: str | None = None) -> int:
        body: dict[str, Any] = {"notes": notes}
        if status:
            body["status_id"] = self.ids("/issue_statuses.json", "issue_statuses")[status]
        self.gw.put(f"/issues/{issue}.json", {"issue": body}, as_user=by)
        return int(self.issue(issue)["journals"][-1]["id"])

    def issue(self, issue: int) -> dict[str, Any]:
        return self.gw.get(f"/issues/{issue}.json", {"include": "journals"})["issue"]

    def backdate(self, issue: int, created: datetime, journals: dict[int, datetime]) -> None:
        """Move the issue's and journals' dates (REST cannot); updated_on = the newest of them."""
        newest = max([created, *journals.values()])
        lines = [f"Issue.where(id: {issue}).update_all(created_on: Time.at({created.timestamp()}), "
                 f"updated_on: Time.at({newest.timestamp()}))"]
        lines += [f"Journal.where(id: {jid}).update_all(created_on: Time.at({at.timestamp()}))"
                  for jid, at in journals.items()]
        self.live.runner("\n".join(lines) + "\n")

    def sweep(self, command: str, now: datetime, *args: str, policies: Path | None = None) -> tuple[int, Any]:
        argv = [*HELPDESK, "sweep", command, "--now", now.isoformat(), "--format", "json",
                "--policies", str(policies or self.policies)]
        if command == "run":
            argv += ["--state-dir", str(self.state)]
        done = subprocess.run([*argv, *args], env=self.live.env(), capture_output=True, text=True,
                              timeout=300, cwd=REPO)
        try:
            return done.returncode, json.loads(done.stdout)
        except json.JSONDecodeError:
            return done.returncode, {"stdout": done.stdout, "stderr": done.stderr}


def scoped_policies(path: Path, project: str, **changes: Any) -> Path:
    """The bundled policies with every rule scoped to one project (plus per-rule changes)."""
    doc = yaml.safe_load(POLICIES_YAML.read_text(encoding="utf-8"))
    for rule_id, entry in doc["rules"].items():
        entry["scope"] = {"projects": [project], "trackers": "*"}
        entry.update(changes.get(rule_id, {}))
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def _user(gw: Gateway, login: str) -> int:
    body = {"user": {"login": login, "firstname": login, "lastname": "Test", "mail": f"{login}@example.org",
                     "password": "secret-Passw0rd", "mail_notification": "none"}}
    return int(gw.post("/users.json", body)["user"]["id"])


@pytest.fixture(scope="module")
def people(live: LocalRedmine) -> dict[str, Any]:
    gw = live.gateway()
    token = os.urandom(3).hex()
    support, client = f"sup{token}", f"cli{token}"
    support_id, client_id = _user(gw, support), _user(gw, client)
    group = next(g for g in gw.get("/groups.json")["groups"] if g["name"] == "Сотрудники техподдержки")
    gw.post(f"/groups/{group['id']}/users.json", {"user_id": support_id})
    return {"support": support, "support_id": support_id, "client": client, "client_id": client_id}


def support_project(gw: Gateway, identifier: str, support_id: int, client_id: int) -> dict[str, Any]:
    """A private project with every tracker, one support member and one client member."""
    trackers = [t["id"] for t in gw.get("/trackers.json")["trackers"]]
    project = gw.post("/projects.json", {"project": {"name": identifier, "identifier": identifier,
                                                     "tracker_ids": trackers, "is_public": False}})["project"]
    roles = {r["name"]: r["id"] for r in gw.get("/roles.json")["roles"]}
    for user, role in ((support_id, "Техподдержка"), (client_id, "Клиент")):
        gw.post(f"/projects/{project['id']}/memberships.json",
                {"membership": {"user_id": user, "role_ids": [roles[role]]}})
    return project


@pytest.fixture
def world(live: LocalRedmine, people: dict[str, Any], tmp_path: Path) -> World:
    gw = live.gateway()
    identifier = f"sw-{os.urandom(3).hex()}-" + tmp_path.name.lower().replace("_", "-")[-30:].strip("-")
    project = support_project(gw, identifier, people["support_id"], people["client_id"])
    state = tmp_path / "state"
    return World(live, gw, identifier, int(project["id"]), people["support"], people["support_id"],
                 people["client"], people["client_id"], scoped_policies(tmp_path / "policies.yaml", identifier),
                 state)


def sweep_marks(journal: dict[str, Any]) -> str:
    """The sweep markers a journal carries: issue 18.7a puts them in the support-only marker
    field (the journal's `cf` details), never in the notes a client reads."""
    return " ".join(str(d.get("new_value") or "") for d in journal.get("details", []) if d.get("property") == "cf")


def writes(result: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [(o["rule"], o["issue"], o["outcome"]) for o in result.get("outcomes", [])
            if o["action"] != "flag"]


BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=40)


def asked(world: World, at: datetime, **kwargs: Any) -> tuple[int, int]:
    issue = world.create_issue(**kwargs)
    jid = world.update(issue, by=world.support, notes="Уточните, пожалуйста, номер заказа.",
                       status="Требует обратной связи")
    world.backdate(issue, at - timedelta(hours=1), {jid: at})
    return issue, jid


FEEDBACK_RULES = ("--only", "feedback-reminder", "--only", "feedback-autoclose", "--only", "client-reply-resume")


def test_reminder_once_then_close_once(world: World) -> None:
    issue, _ = asked(world, BASE)
    code, plan = world.sweep("plan", BASE + timedelta(days=4, hours=23), *FEEDBACK_RULES)
    assert code == 0 and plan["actions"] == []
    code, result = world.sweep("run", BASE + timedelta(days=5, hours=1), *FEEDBACK_RULES)
    assert code == 0 and writes(result) == [("feedback-reminder", issue, "ok")], result
    code, again = world.sweep("run", BASE + timedelta(days=5, hours=1), *FEEDBACK_RULES)
    assert code == 0 and writes(again) == [] and again["actions"] == []
    journals = world.issue(issue)["journals"]
    reminder = journals[-1]
    assert "[helpdesk:feedback-reminder:" in sweep_marks(reminder) and not reminder["private_notes"]
    assert "helpdesk" not in reminder["notes"] and "[" not in reminder["notes"]  # clients read no marker
    world.backdate(issue, BASE - timedelta(hours=1), {reminder["id"]: BASE + timedelta(days=5, hours=1)})
    code, closed = world.sweep("run", BASE + timedelta(days=10, hours=2), *FEEDBACK_RULES)
    assert code == 0, closed
    assert writes(closed) == [("feedback-autoclose", issue, "ok")], closed
    assert world.issue(issue)["status"]["name"] == "Закрыто"
    code, again = world.sweep("run", BASE + timedelta(days=10, hours=2), *FEEDBACK_RULES)
    assert code == 0, again
    assert writes(again) == []


def test_client_reply_cancels_close_and_resumes(world: World) -> None:
    issue, asked_jid = asked(world, BASE)
    code, first = world.sweep("run", BASE + timedelta(days=5, hours=1), *FEEDBACK_RULES)
    assert code == 0 and writes(first) == [("feedback-reminder", issue, "ok")], first
    reminder = world.issue(issue)["journals"][-1]["id"]
    reply = world.update(issue, by=world.client, notes="Номер заказа 7654321")
    world.backdate(issue, BASE - timedelta(hours=1), {asked_jid: BASE, reminder: BASE + timedelta(days=5, hours=1),
                                                      reply: BASE + timedelta(days=6)})
    code, result = world.sweep("run", BASE + timedelta(days=11), *FEEDBACK_RULES)
    assert code == 0, result
    assert writes(result) == [("client-reply-resume", issue, "ok")], result
    data = world.issue(issue)
    assert data["status"]["name"] == "В работе"
    assert data["journals"][-1]["private_notes"] is True
    code, again = world.sweep("run", BASE + timedelta(days=11), *FEEDBACK_RULES)
    assert code == 0, again
    assert writes(again) == []


def test_apply_skips_stale_and_max_actions_aborts(world: World, tmp_path: Path) -> None:
    first, _ = asked(world, BASE)
    second, _ = asked(world, BASE)
    now = BASE + timedelta(days=6)
    code, aborted = world.sweep("run", now, *FEEDBACK_RULES, "--max-actions", "1")
    assert code == 1 and "max-actions" in aborted.get("stderr", "")
    assert all("[helpdesk:" not in (j["notes"] or "") + sweep_marks(j)
               for i in (first, second) for j in world.issue(i)["journals"])
    plan_file = tmp_path / "plan.json"
    code, plan = world.sweep("plan", now, *FEEDBACK_RULES, "-o", str(plan_file))
    assert code == 0, plan
    assert sorted(a["issue"] for a in plan["actions"]) == sorted([first, second])
    world.update(first, by=world.support, notes="Ещё один вопрос")  # the issue changes after planning
    done = subprocess.run([*HELPDESK, "sweep", "apply", str(plan_file), "--format", "json",
                           "--state-dir", str(world.state), "--policies", str(world.policies)],
                          env=world.live.env(), capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 3, done.stderr
    outcomes = {o["issue"]: o for o in json.loads(done.stdout)["outcomes"]}
    assert outcomes[first]["outcome"] == "skipped" and outcomes[first]["reason"].startswith("stale")
    assert outcomes[second]["outcome"] == "ok"
    log = [json.loads(line) for line in (world.state / "audit.jsonl").read_text().splitlines()]
    assert {(e["issue"], e["outcome"]) for e in log} == {(first, "skipped"), (second, "ok")}


def test_two_sweeps_at_once_never_act_twice(world: World) -> None:
    issues = [asked(world, BASE)[0] for _ in range(3)]
    now = (BASE + timedelta(days=6)).isoformat()
    argv = [*HELPDESK, "sweep", "run", "--now", now, "--format", "json", "--policies", str(world.policies),
            "--state-dir", str(world.state), "--lock-wait", "120", *FEEDBACK_RULES]
    procs = [subprocess.Popen(argv, env=world.live.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=REPO) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    for issue in issues:
        notes = [j["notes"] for j in world.issue(issue)["journals"]
                 if "[helpdesk:feedback-reminder:" in sweep_marks(j)]
        assert len(notes) == 1


def test_scope_is_respected(world: World, people: dict[str, Any], tmp_path: Path) -> None:
    inside, _ = asked(world, BASE)
    # the same situation in another project that the policies do not cover
    other = World(**{**world.__dict__, "policies": world.policies})
    other_id = world.gw.post("/projects.json", {"project": {
        "name": world.project + "-x", "identifier": world.project + "-x",
        "tracker_ids": [t["id"] for t in world.gw.get("/trackers.json")["trackers"]]}})["project"]["id"]
    roles = {r["name"]: r["id"] for r in world.gw.get("/roles.json")["roles"]}
    world.gw.post(f"/projects/{other_id}/memberships.json",
                  {"membership": {"user_id": people["client_id"], "role_ids": [roles["Клиент"]]}})
    world.gw.post(f"/projects/{other_id}/memberships.json",
                  {"membership": {"user_id": people["support_id"], "role_ids": [roles["Техподдержка"]]}})
    other.project_id = int(other_id)
    outside, _ = asked(other, BASE)
    code, result = world.sweep("run", BASE + timedelta(days=6), *FEEDBACK_RULES)
    assert code == 0, result
    assert writes(result) == [("feedback-reminder", inside, "ok")]
    assert all("[helpdesk:" not in (j["notes"] or "") + sweep_marks(j) for j in world.issue(outside)["journals"])


def test_sla_reaction_boundaries_on_real_dates(world: World) -> None:
    medium = world.create_issue(priority="Средний")
    blocker = world.create_issue(priority="Блокер", subject="Система полностью не работает")
    created_medium = datetime(2026, 11, 17, 15, 50, tzinfo=UTC)  # 18:50 Moscow
    created_blocker = datetime(2026, 11, 18, 0, 0, tzinfo=UTC)    # 03:00 Moscow
    world.backdate(medium, created_medium, {})
    world.backdate(blocker, created_blocker, {})
    sla_only = ("--only", "sla-reaction")
    code, plan = world.sweep("plan", datetime(2026, 11, 18, 7, 51, tzinfo=UTC), *sla_only)
    assert code == 3, plan  # breaches: done, attention needed
    by_issue = {a["issue"]: a for a in plan["actions"]}
    assert by_issue[medium]["sla"] == "breached"
    assert datetime.fromisoformat(by_issue[medium]["deadline"]) == datetime(2026, 11, 18, 7, 50, tzinfo=UTC)
    assert datetime.fromisoformat(by_issue[blocker]["deadline"]) == datetime(2026, 11, 18, 0, 15, tzinfo=UTC)
    code, early = world.sweep("plan", datetime(2026, 11, 18, 0, 10, tzinfo=UTC), *sla_only)
    assert code == 0, early
    assert [a["issue"] for a in early["actions"]] == []
    code, result = world.sweep("run", datetime(2026, 11, 18, 7, 51, tzinfo=UTC), *sla_only)
    assert code == 3 and sorted(i for _, i, _ in writes(result)) == sorted([medium, blocker])
    code, again = world.sweep("run", datetime(2026, 11, 18, 7, 51, tzinfo=UTC), *sla_only)
    assert code == 3, again
    assert writes(again) == [] and {a["action"] for a in again["actions"]} == {"flag"}


def test_closed_reply_redirect_and_verification_close(world: World) -> None:
    closed = world.create_issue()
    close_j = world.update(closed, by=world.support, notes="Готово", status="Закрыто")
    reply = world.update(closed, by=world.client, notes="А ещё вопрос по заказу")
    world.backdate(closed, BASE, {close_j: BASE + timedelta(days=1), reply: BASE + timedelta(days=2)})
    verify = world.create_issue()
    verify_j = world.update(verify, by=world.support, notes="Исправлено", status="Решено, требует проверки")
    world.backdate(verify, BASE, {verify_j: BASE + timedelta(days=1)})
    only = ("--only", "closed-reply-redirect", "--only", "verification-autoclose")
    code, result = world.sweep("run", BASE + timedelta(days=6, hours=1), *only)
    assert code == 0, result
    assert sorted(writes(result)) == sorted([("closed-reply-redirect", closed, "ok"),
                                             ("verification-autoclose", verify, "ok")])
    assert world.issue(closed)["status"]["name"] == "Закрыто"
    assert world.issue(verify)["status"]["name"] == "Закрыто"
    code, again = world.sweep("run", BASE + timedelta(days=6, hours=1), *only)
    assert code == 0, again
    assert writes(again) == []


def test_audits_flag_bad_tickets_and_leave_good_ones(world: World) -> None:
    bad_priority = world.create_issue(priority="Блокер", subject="Не работает фильтр",
                                      description="Поиск работает, но фильтр по цене не применяется. Заказ 1234567, "
                                                  "логин agent1, https://example.org/search")
    shouting = world.create_issue(subject="ВСЁ СЛОМАЛОСЬ!!!", description="НИЧЕГО НЕ РАБОТАЕТ, СРОЧНО ИСПРАВЬТЕ!!!")
    good = world.create_issue(priority="Средний", subject="Ошибка в расчёте сбора",
                              description="В заказе 1234567 под логином agent1 сбор считается неверно, "
                                          "страница https://example.org/order/1234567")
    now = datetime.now(UTC) + timedelta(minutes=5)
    code, plan = world.sweep("plan", now, "--only", "priority-audit", "--only", "tone-audit",
                             "--only", "completeness-audit")
    assert code == 0, plan
    flagged = {(a["rule"], a["issue"]) for a in plan["actions"]}
    assert ("priority-audit", bad_priority) in flagged
    assert ("tone-audit", shouting) in flagged
    assert not any(issue == good for _, issue in flagged)

