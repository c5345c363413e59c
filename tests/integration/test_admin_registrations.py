"""Registration approvals against the real local Redmine.

Self-registered accounts are made through the API with status 2 (Redmine accepts it from
an administrator), listed with their company, approved into their own project only, and
the ambiguous ones are left alone. Names carry a per-run token so runs never collide.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli import main
from helpdesk_core.errors import HelpdeskError
from helpdesk_core.gateway import Gateway
from helpdesk_core.mappings import Mappings
from tests.conftest import LocalRedmine
from tests.integration.mail_probe import CATCH_MAIL

pytestmark = pytest.mark.redmine


@dataclass
class World:
    token: str
    gateway: Gateway
    projects: dict[str, dict[str, Any]]  # key -> project json
    users: dict[str, dict[str, Any]]  # key -> user json
    companies_file: Path

    def login(self, key: str) -> str:
        return str(self.users[key]["login"])


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    capsys.readouterr()
    code = main(args)
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip().startswith("{") else out


@pytest.fixture
def world(redmine: LocalRedmine, unique: str, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("REDMINE_URL", redmine.url)
    monkeypatch.setenv("REDMINE_API_KEY", redmine.api_key)
    gateway = redmine.gateway()
    projects: dict[str, dict[str, Any]] = {}
    users: dict[str, dict[str, Any]] = {}
    try:
        for key, name in (("alpha", f"Альфа Тревел {unique}"), ("beta", f"Бета Авиа {unique}"),
                          ("gamma", f"Gamma Tours {unique}")):
            projects[key] = gateway.post("/projects.json", {"project": {
                "name": name, "identifier": f"hd-{key}-{unique}", "is_public": False}})["project"]
        domains = {k: f"{k}-{unique}.example" for k in projects}
        shared = f"shared-{unique}.example"
        for key, mail in (("alpha_user", f"ivanov@{domains['alpha']}"),
                          ("alpha_sub", f"orlova@msk.{domains['alpha']}"),
                          ("beta_user", f"petrov@{domains['beta']}"),
                          ("shared_user", f"kozlov@{shared}"),
                          ("public_user", f"hd.{unique}.sidorova@gmail.com"),
                          ("unknown_user", f"smirnov@nobody-{unique}.example")):
            users[key] = gateway.post("/users.json", {"user": {
                "login": f"{key.replace('_', '')}{unique}", "firstname": "Тест", "lastname": key,
                "mail": mail, "password": f"pw-{unique}-123456", "status": 2,
                "mail_notification": "none"}})["user"]
        companies_file = tmp_path / "companies.yaml"
        companies_file.write_text(
            "companies:\n"
            f"  - {{name: '{projects['alpha']['name']}', project: hd-alpha-{unique}, domains: [{domains['alpha']}]}}\n"
            f"  - {{name: '{projects['beta']['name']}', project: hd-beta-{unique}, "
            f"domains: [{domains['beta']}, {shared}]}}\n"
            f"  - {{name: '{projects['gamma']['name']}', domains: [{domains['gamma']}, {shared}]}}\n",
            encoding="utf-8")
        yield World(unique, gateway, projects, users, companies_file)
    finally:
        # Best effort, one by one: a busy SQLite must not leave the rest behind.
        for path in [f"/users/{u['id']}.json" for u in users.values()] + [
                f"/projects/{p['id']}.json" for p in projects.values()]:
            with contextlib.suppress(HelpdeskError):
                gateway.delete(path)


def _user(world: World, key: str) -> dict[str, Any]:
    return world.gateway.get(f"/users/{world.users[key]['id']}.json", {"include": "memberships"})["user"]


def test_registered_status_is_accepted_through_the_api(world: World) -> None:
    assert _user(world, "alpha_user")["status"] == 2


def test_pending_lists_each_account_with_its_company_or_why_not(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _run(["users", "pending", "--companies", str(world.companies_file), "--format", "json"], capsys)
    assert code == 3  # some accounts need a person
    mine = {row["login"]: row for row in doc["pending"] if row["login"].endswith(world.token)}
    assert set(mine) == {world.login(k) for k in world.users}
    by_key = {k: mine[world.login(k)] for k in world.users}
    assert by_key["alpha_user"]["company"] == world.projects["alpha"]["name"]
    assert by_key["alpha_user"]["project"] == f"hd-alpha-{world.token}"
    assert by_key["alpha_sub"]["project"] == f"hd-alpha-{world.token}"
    assert by_key["beta_user"]["project"] == f"hd-beta-{world.token}"
    assert (by_key["shared_user"]["match"], by_key["shared_user"]["approvable"]) == ("ambiguous", "no")
    assert by_key["public_user"]["match"] == "public-domain"
    assert by_key["unknown_user"]["match"] == "unknown-domain"


def test_all_matching_dry_run_then_approve_into_own_project_only(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["users", "approve", "--all-matching", "--companies", str(world.companies_file), "--format", "json"]
    code, doc = _run([*base, "--dry-run"], capsys)
    assert code == 3  # the ambiguous ones would be skipped
    mine = {o["subject"]: o["status"] for o in doc["outcomes"] if o["subject"].endswith(world.token)}
    assert mine[world.login("alpha_user")] == "would-approve"
    assert all(_user(world, k)["status"] == 2 for k in world.users)  # dry run wrote nothing

    code, doc = _run(base, capsys)
    assert code == 3  # ambiguous ones were skipped
    mine = {o["subject"]: o for o in doc["outcomes"] if o["subject"].endswith(world.token)}
    approved = {k for k in world.users if mine[world.login(k)]["status"] == "approved"}
    assert approved == {"alpha_user", "alpha_sub", "beta_user"}
    for key in ("shared_user", "public_user", "unknown_user"):
        assert mine[world.login(key)]["status"] == "skipped"
        assert _user(world, key)["status"] == 2, f"{key} must stay pending"
        assert _user(world, key).get("memberships", []) == []
    for key, project in (("alpha_user", "alpha"), ("alpha_sub", "alpha"), ("beta_user", "beta")):
        user = _user(world, key)
        assert user["status"] == 1
        assert [(m["project"]["id"], [r["name"] for r in m["roles"]]) for m in user["memberships"]] == [
            (world.projects[project]["id"], ["Клиент"])]

    # Re-running changes nothing: the approved accounts are no longer pending.
    code, doc = _run(base, capsys)
    assert code == 3  # the ambiguous ones are still pending
    assert not [o for o in doc["outcomes"] if o["subject"].endswith(world.token) and o["status"] == "approved"]


def test_named_login_and_csv_rows(world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                  mappings: Mappings) -> None:
    code, doc = _run(["users", "approve", world.login("shared_user"), "--companies",
                      str(world.companies_file), "--format", "json"], capsys)
    assert code == 3
    assert [o["status"] for o in doc["outcomes"]] == ["skipped"]

    csv_path = tmp_path / "registrations.csv"
    public_mail = world.users["public_user"]["mail"]
    csv_path.write_text(
        "name,email,company\n"
        f"{world.login('public_user')},{public_mail},{world.projects['gamma']['name']}\n"
        f"{world.login('shared_user')},{world.users['shared_user']['mail']},{world.projects['beta']['name']}\n"
        f"ghost{world.token},ghost{world.token}@nowhere.example,{world.projects['beta']['name']}\n",
        encoding="utf-8")
    code, doc = _run(["users", "approve", "--from-csv", str(csv_path), "--format", "json"], capsys)
    assert code == 3
    outcomes = {o["subject"]: o for o in doc["outcomes"]}
    assert outcomes[world.login("public_user")]["project"] == f"hd-gamma-{world.token}"
    assert outcomes[world.login("shared_user")]["status"] == "approved"
    assert outcomes[f"ghost{world.token}@nowhere.example"]["status"] == "unmatched"
    assert [m["project"]["id"] for m in _user(world, "public_user")["memberships"]] == [
        world.projects["gamma"]["id"]]
    assert [m["project"]["id"] for m in _user(world, "shared_user")["memberships"]] == [
        world.projects["beta"]["id"]]
    assert _user(world, "unknown_user")["status"] == 2
    assert mappings.roles.client.name == "Клиент"


# Runs inside Redmine (`rails runner`): each account's stored preferences, then a ticket it creates
# in its project, handed to Redmine's own Mailer.deliver_issue_add (the test delivery method only
# catches the mails), so Redmine's own rules (mail_notification, no_self_notified) pick the recipients.
# The global switch (`provision --notifications on|off`) is not what this checks: it is left alone.
NEW_TICKET_MAIL = CATCH_MAIL + """
out = {}
%(logins)s.each do |login|
  user = User.find_by!(login: login)
  project = user.memberships.first.project
  User.current = user
  issue = Issue.new(project: project, tracker: project.trackers.first, author: user,
                    subject: 'Новое обращение', priority: IssuePriority.default || IssuePriority.active.first)
  issue.save!
  ActionMailer::Base.deliveries.clear
  Mailer.deliver_issue_add(issue)
  out[login] = {'pref' => [user.mail_notification, user.pref.no_self_notified],
                'told' => caught_recipients.include?(user.mail)}
end
puts JSON.generate(out)
"""


def test_approved_client_is_emailed_about_the_ticket_it_creates(
        world: World, redmine: LocalRedmine, capsys: pytest.CaptureFixture[str]) -> None:
    """О7 («при создании обращения … приходит уведомление»): `users approve` gives the account the
    preferences migrated clients get (only_my_events, not no_self_notified), so Redmine emails the
    client about its own new ticket. An account merely activated (what approval did before) keeps
    Redmine's default `no_self_notified` and is not emailed: the check can tell the two apart."""
    code, doc = _run(["users", "approve", world.login("alpha_user"), "--companies",
                      str(world.companies_file), "--format", "json"], capsys)
    assert code == 0, doc
    assert [o["status"] for o in doc["outcomes"]] == ["approved"]
    # the control: the same membership, then only activation (Redmine's defaults for the rest)
    control = world.users["beta_user"]
    role = next(r["id"] for r in world.gateway.get("/roles.json")["roles"] if r["name"] == "Клиент")
    world.gateway.post(f"/projects/{world.projects['beta']['id']}/memberships.json",
                       {"membership": {"user_id": control["id"], "role_ids": [role]}})
    world.gateway.put(f"/users/{control['id']}.json", {"user": {"status": 1, "mail_notification": "only_my_events"}})
    approved, activated = world.login("alpha_user"), world.login("beta_user")
    found = json.loads(redmine.runner(NEW_TICKET_MAIL % {"logins": json.dumps([approved, activated])})
                       .strip().splitlines()[-1])
    assert found[approved] == {"pref": ["only_my_events", False], "told": True}
    assert found[activated] == {"pref": ["only_my_events", True], "told": False}
