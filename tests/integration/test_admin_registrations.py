"""Registration approvals against the real local Redmine.

Provisioning sets account activation by email. An account that used its activation link is
active and in no project: the fixture makes such *confirmed* accounts through the API with
status 1; a *registered* one (status 2, mailbox not confirmed) is made with status 2; one test
walks the real path (the public registration form, then the activation link). Accounts are
listed with their company, approved into their own project only, and the ambiguous,
unconfirmed and administrator ones are left alone. Names carry a per-run token.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

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
    fields = {f["name"]: f["id"] for f in gateway.get("/custom_fields.json")["custom_fields"]
              if f.get("customized_type") == "project"}
    domains = {k: f"{k}-{unique}.example" for k in ("alpha", "beta", "gamma")}
    try:
        for key, name in (("alpha", f"Альфа Тревел {unique}"), ("beta", f"Бета Авиа {unique}"),
                          ("gamma", f"Gamma Tours {unique}"), ("internal", f"Внутренний {unique}")):
            carried = [] if key == "internal" else [  # what the migration stores on a company's project
                {"id": fields["ID компании в портале"], "value": f"{key}-{unique}"},
                {"id": fields["Почтовые домены компании"], "value": domains[key]}]
            projects[key] = gateway.post("/projects.json", {"project": {
                "name": name, "identifier": f"hd-{key}-{unique}", "is_public": False,
                "custom_fields": carried}})["project"]
        shared = f"shared-{unique}.example"
        for key, mail, status, admin in (
                ("alpha_user", f"ivanov@{domains['alpha']}", 1, False),
                ("alpha_sub", f"orlova@msk.{domains['alpha']}", 1, False),
                ("beta_user", f"petrov@{domains['beta']}", 1, False),
                ("shared_user", f"kozlov@{shared}", 1, False),
                ("public_user", f"hd.{unique}.sidorova@gmail.com", 1, False),
                ("unknown_user", f"smirnov@nobody-{unique}.example", 1, False),
                ("unconfirmed", f"ceo@{domains['alpha']}", 2, False),
                ("admin_reg", f"root@{domains['alpha']}", 2, True)):
            users[key] = gateway.post("/users.json", {"user": {
                "login": f"{key.replace('_', '')}{unique}", "firstname": "Тест", "lastname": key,
                "mail": mail, "password": f"pw-{unique}-123456", "status": status, "admin": admin,
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
    assert _user(world, "unconfirmed")["status"] == 2
    assert (_user(world, "alpha_user")["status"], _user(world, "alpha_user")["memberships"]) == (1, [])


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
    # a domain alone is no proof: the unconfirmed mailbox and the administrator need a person
    assert (by_key["alpha_user"]["mailbox"], by_key["alpha_user"]["approvable"]) == ("confirmed", "yes")
    assert (by_key["unconfirmed"]["mailbox"], by_key["unconfirmed"]["approvable"]) == ("unconfirmed", "no")
    assert by_key["unconfirmed"]["project"] == f"hd-alpha-{world.token}"
    assert "not confirmed" in by_key["unconfirmed"]["reason"]
    assert by_key["admin_reg"]["approvable"] == "no" and "administrator" in by_key["admin_reg"]["reason"]


def test_all_matching_dry_run_then_approve_into_own_project_only(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["users", "approve", "--all-matching", "--companies", str(world.companies_file), "--format", "json"]
    code, doc = _run([*base, "--dry-run"], capsys)
    assert code == 3  # the ambiguous ones would be skipped
    mine = {o["subject"]: o["status"] for o in doc["outcomes"] if o["subject"].endswith(world.token)}
    assert mine[world.login("alpha_user")] == "would-approve"
    assert all(_user(world, k).get("memberships", []) == [] for k in world.users)  # dry run wrote nothing
    assert _user(world, "unconfirmed")["status"] == 2

    code, doc = _run(base, capsys)
    assert code == 3  # ambiguous ones were skipped
    mine = {o["subject"]: o for o in doc["outcomes"] if o["subject"].endswith(world.token)}
    approved = {k for k in world.users if mine[world.login(k)]["status"] == "approved"}
    assert approved == {"alpha_user", "alpha_sub", "beta_user"}
    for key in ("shared_user", "public_user", "unknown_user", "unconfirmed", "admin_reg"):
        assert mine[world.login(key)]["status"] == "skipped"
        assert _user(world, key).get("memberships", []) == [], f"{key} must stay without a project"
    for key in ("unconfirmed", "admin_reg"):
        assert _user(world, key)["status"] == 2, f"{key} must stay registered"
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
    alpha, beta, gamma = (world.projects[k]["name"] for k in ("alpha", "beta", "gamma"))
    csv_path.write_text(
        "name,email,company\n"
        f"{world.login('public_user')},{public_mail},{gamma}\n"            # gmail: not Gamma's domain
        f"{world.login('public_user')},,{gamma}\n"                         # support names the login alone
        f"{world.login('unknown_user')},,{world.projects['internal']['name']}\n"  # not a client company
        f"{world.login('unconfirmed')},{world.users['unconfirmed']['mail']},{alpha}\n"  # the request is the proof
        f"{world.login('admin_reg')},{world.users['admin_reg']['mail']},{alpha}\n"
        f"{world.login('beta_user')},{world.users['beta_user']['mail']},{gamma}\n"  # Beta's domain, Gamma's name
        f"ghost{world.token},ghost{world.token}@nowhere.example,{beta}\n",
        encoding="utf-8")
    code, doc = _run(["users", "approve", "--from-csv", str(csv_path), "--format", "json"], capsys)
    assert code == 3
    outcomes = {(o["subject"], o["line"], o["status"]) for o in doc["outcomes"]}
    assert (world.login("public_user"), None, "approved") in outcomes
    assert {(s, line, status) for s, line, status in outcomes if status == "skipped"} == {
        (world.login("public_user"), 2, "skipped"),
        (world.login("unknown_user"), 4, "skipped"), (world.login("admin_reg"), 6, "skipped"),
        (world.login("beta_user"), 7, "skipped")}
    assert (world.login("unconfirmed"), None, "approved") in outcomes
    assert (f"ghost{world.token}@nowhere.example", 8, "unmatched") in outcomes
    assert [m["project"]["id"] for m in _user(world, "public_user")["memberships"]] == [
        world.projects["gamma"]["id"]]
    unconfirmed = _user(world, "unconfirmed")
    assert unconfirmed["status"] == 1
    assert [m["project"]["id"] for m in unconfirmed["memberships"]] == [world.projects["alpha"]["id"]]
    for key in ("unknown_user", "admin_reg", "beta_user"):
        assert _user(world, key)["memberships"] == [], key
    assert _user(world, "admin_reg")["status"] == 2
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


def _register_on_the_public_form(url: str, login: str, mail: str, password: str) -> None:
    """What anyone on the internet can do: Redmine's own registration form."""
    session = requests.Session()
    page = session.get(f"{url}/account/register", timeout=30)
    assert page.status_code == 200, "self-registration must be open (provisioning: activation by email)"
    token = re.search(r'name="authenticity_token" value="([^"]+)"', page.text)
    assert token is not None
    done = session.post(f"{url}/account/register", timeout=30, allow_redirects=False, data={
        "authenticity_token": token.group(1), "user[login]": login, "user[password]": password,
        "user[password_confirmation]": password, "user[firstname]": "Иван", "user[lastname]": "Атакующий",
        "user[mail]": mail, "user[language]": "ru"})
    assert done.status_code == 302, re.findall(r'<li>([^<]+)</li>', done.text)[:5]  # 200: the form, with errors


def test_a_domain_alone_gives_no_access_until_the_mailbox_is_confirmed(
        world: World, redmine: LocalRedmine, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 19.1: anyone may register ceo@<client's domain>; until the activation link Redmine
    mailed is used, `--all-matching` (the documented routine) leaves it without access."""
    mail = f"director@alpha-{world.token}.example"
    login = f"director{world.token}"
    _register_on_the_public_form(redmine.url, login, mail, f"pw-{world.token}-123456")
    user = world.gateway.get("/users.json", {"name": login, "status": ""})["users"]
    [user_id] = [int(u["id"]) for u in user if u["login"] == login]
    world.users["form"] = {"id": user_id, "login": login}
    assert world.gateway.get(f"/users/{user_id}.json")["user"]["status"] == 2

    base = ["users", "approve", "--all-matching", "--companies", str(world.companies_file), "--format", "json"]
    code, doc = _run(base, capsys)
    assert code == 3, doc
    [outcome] = [o for o in doc["outcomes"] if o["subject"] == login]
    assert outcome["status"] == "skipped" and "not confirmed" in outcome["reason"]
    code, doc = _run(["users", "approve", login, "--companies", str(world.companies_file), "--format", "json"],
                     capsys)
    assert code == 3 and [o["status"] for o in doc["outcomes"]] == ["skipped"], doc
    detail = world.gateway.get(f"/users/{user_id}.json", {"include": "memberships"})["user"]
    assert (detail["status"], detail["memberships"]) == (2, [])

    # the owner of the mailbox follows the link Redmine mailed (read here from its token table)
    value = redmine.runner(f"puts Token.where(action: 'register', user_id: {user_id}).last.value\n").strip()
    activated = requests.get(f"{redmine.url}/account/activate", params={"token": value}, timeout=30,
                             allow_redirects=False)
    assert activated.status_code == 302
    detail = world.gateway.get(f"/users/{user_id}.json", {"include": "memberships"})["user"]
    assert (detail["status"], detail["memberships"]) == (1, [])  # active, but sees no project yet

    code, doc = _run(base, capsys)
    [outcome] = [o for o in doc["outcomes"] if o["subject"] == login]
    assert outcome["status"] == "approved", outcome
    detail = world.gateway.get(f"/users/{user_id}.json", {"include": "memberships"})["user"]
    assert [(m["project"]["id"], [r["name"] for r in m["roles"]]) for m in detail["memberships"]] == [
        (world.projects["alpha"]["id"], ["Клиент"])]


def test_an_administrator_is_never_given_the_client_role(world: World, capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path) -> None:
    """Even named explicitly in a CSV with the company's own domain: no membership, no activation."""
    csv_path = tmp_path / "admin.csv"
    csv_path.write_text(f"name,email,company\n{world.login('admin_reg')},,{world.projects['alpha']['name']}\n",
                        encoding="utf-8")
    code, doc = _run(["users", "approve", "--from-csv", str(csv_path), "--format", "json"], capsys)
    assert code == 3, doc
    assert [(o["status"], "administrator" in o["reason"]) for o in doc["outcomes"]] == [("skipped", True)]
    detail = _user(world, "admin_reg")
    assert (detail["status"], detail["memberships"]) == (2, [])


def test_csv_by_email_with_russian_headers_and_a_bad_row_named(world: World, capsys: pytest.CaptureFixture[str],
                                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """The mailbox a request came from finds the account (no login needed); a bad row stops the whole
    file before any write (exit 2), named by its line and column in Russian."""
    monkeypatch.setenv("HELPDESK_LANG", "ru")
    alpha = world.projects["alpha"]["name"]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"Почта;Компания;Логин\n{world.users['unconfirmed']['mail']};{alpha};\n"
                   f"{world.users['beta_user']['mail']};;\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["users", "approve", "--from-csv", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:3: столбец «Компания» пуст" in " ".join(err.split())
    assert _user(world, "unconfirmed")["status"] == 2  # nothing written

    good = tmp_path / "good.csv"
    good.write_text(f"Почта;Компания;Логин\n{world.users['unconfirmed']['mail'].upper()};{alpha};\n",
                    encoding="utf-8")
    code, doc = _run(["users", "approve", "--from-csv", str(good), "--format", "json"], capsys)
    assert code == 0, doc
    assert [(o["subject"], o["status"]) for o in doc["outcomes"]] == [(world.login("unconfirmed"), "approved")]
    assert _user(world, "unconfirmed")["status"] == 1
