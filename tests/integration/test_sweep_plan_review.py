"""`sweep plan` as the reviewer reads it before go-live, against the real Redmine: per action the
issue's subject, company and link, and the exact text its client will receive, grouped by rule."""

from __future__ import annotations

import html
import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.test_sweep_redmine import BASE, HELPDESK, World, asked, live, people, world  # noqa: F401

pytestmark = pytest.mark.redmine


def _words(text: str) -> str:
    return " ".join(text.split())


def test_plan_text_and_html_show_what_the_client_will_receive(world: World, tmp_path: Path) -> None:  # noqa: F811
    subject = "Оплата не проходит по заказу 7654321"
    issue, _ = asked(world, BASE, subject=subject)
    now = (BASE + timedelta(days=5, hours=1)).isoformat()
    common = [*HELPDESK, "sweep", "plan", "--now", now, "--only", "feedback-reminder",
              "--policies", str(world.policies)]
    env = {**world.live.env(), "COLUMNS": "80", "HELPDESK_LANG": "ru"}
    plan = subprocess.run([*common, "--format", "json"], env=env, capture_output=True, text=True, cwd=REPO)
    assert plan.returncode == 0, plan.stderr
    notes = json.loads(plan.stdout)["actions"][0]["notes"]
    page = tmp_path / "plan.html"
    text = subprocess.run([*common, "--html", str(page)], env=env, capture_output=True,
                          text=True, cwd=REPO)
    assert text.returncode == 0, text.stderr
    out = text.stdout
    link = f"{world.live.url}/issues/{issue}"
    # the count per rule (the summary table's row), then the rule's own section
    assert re.search(r"feedback-reminder\s*│\s*1\s", out) and "сообщений клиентам" in out, out
    assert subject in out and world.project in out and link in out
    assert "Клиент прочитает" in out and _words(notes) in _words(out)  # the whole text, word for word
    assert [line for line in out.splitlines() if len(line) > 80 and str(page) not in line] == []
    page_text = page.read_text(encoding="utf-8")
    assert f'<a href="{html.escape(link)}"' in page_text
    assert html.escape(notes) in page_text and html.escape(subject) in page_text
