"""The foundation against the real local Redmine: provisioning, doctor, impersonation, pagination."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from helpdesk_core.errors import ImpersonationError
from tests.conftest import REDMINE_LOCAL, REPO, LocalRedmine

pytestmark = pytest.mark.redmine


def cli(redmine: LocalRedmine, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv/bin/helpdesk"), *args], capture_output=True, text=True,
                          env=redmine.env(), timeout=300)


def test_provisioning_twice_changes_nothing(redmine: LocalRedmine) -> None:
    done = cli(redmine, "provision", "--ruby", "--notifications", "off")
    assert done.returncode == 0, done.stderr[-2000:]
    script = done.stdout
    redmine.runner(script)
    second = json.loads(redmine.runner(script).strip().splitlines()[-1])
    assert second == {"changed": [], "notifications": "off", "migration_fields": "open"}


def test_doctor_is_green_after_provisioning(redmine: LocalRedmine) -> None:
    done = cli(redmine, "doctor", "--format", "json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]  # the problems are in stdout
    result = json.loads(done.stdout)
    assert result["problems"] == 0 and result["notifications"] == "off"
    assert redmine.api_key not in done.stdout + done.stderr


@pytest.fixture(scope="module")
def bare_redmine() -> Iterator[LocalRedmine]:
    """A separate, never provisioned instance (its own database and port)."""
    env = {**os.environ, "REDMINE_LOCAL_PREFIX": "bare", "HELPDESK_PROVISION": "0"}
    args = ["--variant", "sqlite", "--port", "3309"]
    subprocess.run([str(REDMINE_LOCAL), "start", *args], env=env, check=True, timeout=900, capture_output=True)
    values = dict(line.split("=", 1) for line in (REPO / "var/redmine-bare_sqlite.env").read_text().split())
    try:
        yield LocalRedmine("sqlite", values["REDMINE_URL"], values["REDMINE_API_KEY"])
    finally:
        subprocess.run([str(REDMINE_LOCAL), "stop", *args], env=env, timeout=120, capture_output=True)


def test_doctor_names_each_missing_object_on_an_unprovisioned_redmine(bare_redmine: LocalRedmine) -> None:
    done = cli(bare_redmine, "doctor", "--format", "json")
    assert done.returncode == 3, done.stderr
    result = json.loads(done.stdout)
    missing = {(c["area"], c["subject"]) for c in result["checks"] if c["status"] == "problem"}
    for expected in [("tracker", "Баг"), ("tracker", "Обсуждение"), ("status", "Требует обратной связи"),
                     ("priority", "Блокер"), ("custom field", "ID в портале"), ("role", "Клиент"),
                     ("role", "Техподдержка"), ("group", "Сотрудники техподдержки")]:
        assert expected in missing
    text = cli(bare_redmine, "--lang", "en", "doctor")
    assert text.returncode == 3, text.stderr[-2000:]
    assert "fix: run `helpdesk provision --ruby" in text.stdout
    russian = cli(bare_redmine, "--lang", "ru", "doctor")
    assert russian.returncode == 3, russian.stderr[-2000:]
    assert "проблема трекер: Баг  отсутствует" in russian.stdout
    assert "исправить: выполните `helpdesk provision --ruby" in russian.stdout


def test_impersonation_works_for_active_and_is_clear_for_locked(redmine: LocalRedmine, unique: str) -> None:
    gateway = redmine.gateway()
    login = f"imp{unique}"
    user = gateway.post("/users.json", {"user": {"login": login, "firstname": "Имя", "lastname": "Фамилия",
                                                 "mail": f"{login}@example.test", "generate_password": True}})["user"]
    try:
        me = gateway.get("/users/current.json", as_user=login)["user"]
        assert me["login"] == login and me["id"] == user["id"]
        gateway.put(f"/users/{user['id']}.json", {"user": {"status": 3}})
        with pytest.raises(ImpersonationError) as error:
            gateway.get("/users/current.json", as_user=login)
        assert error.value.status == 412
        assert login in str(error.value) and "locked" in str(error.value)
        assert redmine.api_key not in str(error.value)
    finally:
        gateway.delete(f"/users/{user['id']}.json")


def test_pagination_streams_one_page_at_a_time_past_100(redmine: LocalRedmine, unique: str) -> None:
    gateway = redmine.gateway()
    identifier = f"pages-{unique}"
    project = gateway.post("/projects.json", {"project": {"name": f"Pages {unique}", "identifier": identifier,
                                                          "is_public": False}})["project"]
    try:
        redmine.runner(f"""
project = Project.find({int(project['id'])})
tracker = Tracker.first
project.trackers << tracker unless project.trackers.include?(tracker)
author = User.find_by_login('admin')
205.times {{ |i| Issue.create!(project: project, tracker: tracker, author: author, subject: "page #{{i}}") }}
""")
        stream = gateway.iterate("/issues.json", "issues", {"project_id": project["id"], "status_id": "*"})
        before = gateway.stats.by_method["GET"]
        first = next(stream)
        assert gateway.stats.by_method["GET"] == before + 1, "the first item must come after one page"
        ids = [first["id"], *(issue["id"] for issue in stream)]
        assert len(ids) == 205 and len(set(ids)) == 205
        assert ids == sorted(ids), "pages are sorted by id"
        assert gateway.stats.by_method["GET"] == before + 3
    finally:
        gateway.delete(f"/projects/{project['id']}.json")
