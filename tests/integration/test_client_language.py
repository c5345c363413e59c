"""Redmine speaks Russian to clients: what a client reads there is in the regulation's language.

Debian's Redmine defaults to English, and Redmine speaks to an account in the account's own
language (pages, the notification emails about its tickets, the encoding of its CSV exports:
English is ISO-8859-1, where Cyrillic becomes «?»). `helpdesk provision` makes Russian the default
(a second run changes nothing), `doctor` reports another one, and every account the tool makes
(`migrate run`) or approves (`users approve`) carries Russian of its own. Everything through the
real commands, read back as the client reads it: a real login, the pages, the CSV, and the emails
Redmine's own Mailer writes to them (caught by the test delivery method inside `rails runner`).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REDMINE_LOCAL, REPO, LocalRedmine
from tests.integration.mail_probe import CATCH_MAIL
from tests.integration.test_admin_registrations import World, _run, world  # noqa: F401 (fixture)
from tests.integration.test_client_sees_no_marker import FOUND, _login, client_session, hours_export, issue_id, run
from tests.integration.test_loader import with_loader

pytestmark = pytest.mark.redmine


def helpdesk(redmine: LocalRedmine, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**redmine.env(), "HELPDESK_LANG": "ru", "COLUMNS": "200"}
    return subprocess.run([str(REPO / ".venv/bin/helpdesk"), *args], env=env, capture_output=True, text=True,
                          timeout=900, cwd=REPO)


def provision(redmine: LocalRedmine) -> list[str]:
    """`helpdesk provision --ruby` run by `rails runner`, as README says: what it changed."""
    done = helpdesk(redmine, "provision", "--ruby")
    assert done.returncode == 0, done.stderr[-2000:]
    return list(json.loads(redmine.runner(done.stdout).strip().splitlines()[-1])["changed"])


def default_language(redmine: LocalRedmine) -> str:
    return redmine.runner("puts Setting.default_language\n").strip().splitlines()[-1]


def languages(redmine: LocalRedmine, *logins: str) -> dict[str, str]:
    """Each account's own language (Redmine's REST API does not show it)."""
    script = f"puts JSON.generate(User.where(login: {json.dumps(list(logins))}).to_h {{ |u| [u.login, u.language] }})\n"
    return dict(json.loads(redmine.runner(script).strip().splitlines()[-1]))


@pytest.fixture
def english_default(redmine: LocalRedmine) -> Iterator[None]:
    """Redmine's default switched to English (Debian's own), put back by provisioning afterwards."""
    redmine.runner("Setting.default_language = 'en'\n")
    try:
        yield
    finally:
        provision(redmine)


def runner_cmd(redmine: LocalRedmine) -> str:
    return subprocess.run([str(REDMINE_LOCAL), "runner-cmd", "--variant", redmine.variant], text=True,
                          capture_output=True, check=True).stdout.strip()


def language_checks(redmine: LocalRedmine) -> dict[str, dict[str, Any]]:
    """doctor's language checks (with the rails runner) by subject."""
    done = helpdesk(redmine, "doctor", "--rails-runner", runner_cmd(redmine), "--format", "json")
    assert done.returncode in (0, 3), done.stderr[-2000:]
    return {c["subject"]: c for c in json.loads(done.stdout)["checks"] if c["area"] == "language"}


def language_check(redmine: LocalRedmine) -> dict[str, Any]:
    return language_checks(redmine)["Redmine's default language"]


def test_provision_makes_russian_the_default_once_and_doctor_reports_another_one(
        redmine: LocalRedmine, english_default: None) -> None:
    assert language_check(redmine)["status"] == "problem"
    done = helpdesk(redmine, "doctor", "--rails-runner", runner_cmd(redmine))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "язык: язык Redmine по умолчанию  en, а не русский: на нём клиенты читают страницы и письма" in done.stdout
    assert "исправить: выполните `helpdesk provision --ruby > p.rb`" in done.stdout

    assert "setting default_language" in provision(redmine)
    assert default_language(redmine) == "ru"
    assert provision(redmine) == []  # idempotent: a second run changes nothing
    assert language_check(redmine)["status"] == "ok"


def test_without_a_rails_runner_doctor_says_the_language_was_not_read(redmine: LocalRedmine) -> None:
    done = helpdesk(redmine, "doctor", "--verbose")
    assert done.returncode in (0, 3), done.stderr[-2000:]
    assert "язык: язык Redmine по умолчанию  не прочитан: REST API его не показывает" in done.stdout


def others(check: dict[str, Any]) -> int:
    """How many accounts the doctor found reading another language of their own (0 when fine)."""
    return int(check["detail"].split()[0]) if check["status"] == "warning" else 0


def test_doctor_warns_of_an_account_that_keeps_english_of_its_own(redmine: LocalRedmine, unique: str) -> None:
    """As Redmine makes every account made before provisioning set Russian: a language of its own."""
    gw = redmine.gateway()
    before = others(language_checks(redmine)["accounts' own language"])
    user = gw.post("/users.json", {"user": {"login": f"english{unique}", "firstname": "Джон", "lastname": "Смит",
                                            "mail": f"english{unique}@example.com", "generate_password": True,
                                            "language": "en", "mail_notification": "none"}})["user"]
    try:
        check = language_checks(redmine)["accounts' own language"]
        assert check["status"] == "warning" and others(check) == before + 1, check
        done = helpdesk(redmine, "doctor", "--rails-runner", runner_cmd(redmine))
        assert done.returncode in (0, 3), done.stderr[-2000:]
        assert f"свой язык, не русский, у учётных записей (не администраторов): {before + 1};" in done.stdout
    finally:
        gw.delete(f"/users/{user['id']}.json")


def mails_to(redmine: LocalRedmine, issue: int, address: str) -> list[dict[str, str]]:
    """What Redmine's Mailer writes to `address` about the issue's creation and its last journal."""
    script = CATCH_MAIL + f"""
issue = Issue.find({issue})
Mailer.deliver_issue_add(issue)
Mailer.deliver_issue_edit(issue.journals.order(:id).last)
mails = ActionMailer::Base.deliveries.select {{ |m| Array(m.to).include?({json.dumps(address)}) }}
puts JSON.generate(mails.map {{ |m|
  part = m.text_part || m
  {{'subject' => m.subject, 'body' => part.body.decoded.force_encoding('UTF-8')}}
}})
"""
    return list(json.loads(redmine.runner(script).strip().splitlines()[-1]))


def test_a_client_migrated_while_the_default_is_english_reads_russian_pages_csv_and_emails(
        redmine: LocalRedmine, tmp_path: Path, english_default: None) -> None:
    """Redmine would store its default (English here) as a new account's language: the migration
    gives its accounts Russian of their own, so nobody depends on when provisioning ran."""
    token = os.urandom(3).hex()
    run(redmine, "migrate", "run", str(hours_export(tmp_path / "export", token)), "--state",
        str(tmp_path / "l.sqlite"), codes=FOUND)
    assert languages(redmine, f"client.{token}", f"sk.{token}") == {f"client.{token}": "ru", f"sk.{token}": "ru"}
    gw = redmine.gateway()
    issue = issue_id(gw, f"TK{token}")
    project = gw.get(f"/issues/{issue}.json")["issue"]["project"]["id"]
    gw.put(f"/issues/{issue}.json", {"issue": {"notes": "Ответ поддержки: проверили, всё работает."}})
    session = client_session(redmine, token)
    page = session.get(f"{redmine.url}/issues/{issue}", timeout=30)
    assert page.status_code == 200
    assert '<html lang="ru">' in page.text
    assert ">Задачи<" in page.text and "Трудозатраты" in page.text
    assert "Spent time" not in page.text and ">Issues<" not in page.text
    csv = session.get(f"{redmine.url}/projects/{project}/time_entries.csv", timeout=30)
    assert csv.status_code == 200
    text = csv.content.decode("utf-8")  # strict: ISO-8859-1 would have turned the Cyrillic into «?»
    assert "Дата" in text.splitlines()[0] and "разбор логов" in text and "созвон" in text
    assert "???" not in text
    mails = mails_to(redmine, issue, f"client@k{token}.example")
    bodies = [m["body"] for m in mails]
    assert len(mails) == 2, mails
    assert any(f"Создана новая задача #{issue}" in body for body in bodies), mails
    assert any(f"Задача #{issue} была обновлена" in body and "Ответ поддержки" in body for body in bodies), mails
    assert all("has been" not in m["body"] and "Issue #" not in m["body"] for m in mails), mails


def test_the_rails_loader_run_gives_its_accounts_russian_too(
        redmine: LocalRedmine, tmp_path: Path, english_default: None) -> None:
    """`--loader rails` writes tickets natively but makes accounts through the same REST code: same language."""
    token = os.urandom(3).hex()
    run(redmine, "migrate", "run", str(hours_export(tmp_path / "export", token)), "--state",
        str(tmp_path / "l.sqlite"), *with_loader(redmine), codes=FOUND)
    assert languages(redmine, f"client.{token}", f"sk.{token}") == {f"client.{token}": "ru", f"sk.{token}": "ru"}


def test_an_approved_client_registered_in_english_reads_russian(
        world: World, redmine: LocalRedmine, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    login = world.login("alpha_user")
    # what Redmine stores for an account registered from an English page (or made while the default was English)
    world.gateway.put(f"/users/{world.users['alpha_user']['id']}.json", {"user": {"language": "en"}})
    assert languages(redmine, login) == {login: "en"}
    code, doc = _run(["users", "approve", login, "--companies", str(world.companies_file), "--format", "json"], capsys)
    assert code == 0, doc
    assert [o["status"] for o in doc["outcomes"]] == ["approved"], doc
    assert languages(redmine, login) == {login: "ru"}
    session = _login(redmine.url, login, f"pw-{world.token}-123456")
    page = session.get(f"{redmine.url}/projects/{world.projects['alpha']['identifier']}/issues", timeout=30)
    assert page.status_code == 200
    assert '<html lang="ru">' in page.text and ">Задачи<" in page.text and ">Issues<" not in page.text
