"""doctor tells the truth about email: Redmine's own setting read through rails runner (a change
made by hand in Administration → Settings is seen), plainly said when it is not read, quiet by
default, and never a bare «всё в порядке» while the mode is wrong for what comes next."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import REDMINE_LOCAL, REPO, LocalRedmine

pytestmark = pytest.mark.redmine
HELPDESK = [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())"]


def doctor(redmine: LocalRedmine, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**redmine.env(), "HELPDESK_LANG": "ru", "COLUMNS": "200"}
    return subprocess.run([*HELPDESK, "doctor", *args], env=env, capture_output=True, text=True, cwd=REPO,
                          timeout=600)


@pytest.fixture
def runner(redmine: LocalRedmine) -> Iterator[str]:
    """This instance's rails runner command; Redmine's email setting put back afterwards."""
    command = subprocess.run([str(REDMINE_LOCAL), "runner-cmd", "--variant", redmine.variant], text=True,
                             capture_output=True, check=True).stdout.strip()
    before = redmine.runner("puts Setting.notified_events.reject(&:blank?).join(',')\n").strip().splitlines()[-1:]
    yield command
    events = before[0].split(",") if before and before[0] else []
    redmine.runner(f"Setting.notified_events = {events!r}\n".replace("'", '"'))


def test_quiet_by_default_and_says_the_mode(redmine: LocalRedmine) -> None:
    quiet, verbose = doctor(redmine), doctor(redmine, "--verbose")
    assert quiet.returncode == verbose.returncode
    assert " ок " not in quiet.stdout and "в порядке проверок:" in quiet.stdout
    assert verbose.stdout.count(" ок ") > 20
    assert "режим:" in quiet.stdout.splitlines()[-1] and "всё в порядке" not in quiet.stdout
    # without rails runner: said plainly that the setting itself was not read
    assert "настройки почты Redmine" in quiet.stdout and "не прочитаны" in quiet.stdout


def test_email_switched_on_by_hand_is_seen_and_blocks_a_migration(redmine: LocalRedmine, runner: str) -> None:
    redmine.runner('Setting.notified_events = ["issue_added", "issue_updated"]\n')
    done = doctor(redmine, "--rails-runner", runner, "--for", "migration")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "ВКЛЮЧЕНЫ в настройках Redmine (событий: 2" in done.stdout
    assert "режим — рабочий, а не миграция (--for)" in done.stdout
    assert "проблем нет" not in done.stdout and "всё в порядке" not in done.stdout
    redmine.runner("Setting.notified_events = []\n")
    done = doctor(redmine, "--rails-runner", runner, "--for", "migration", "--format", "json")
    assert done.returncode in (0, 3)
    assert '"notifications": "off"' in done.stdout and '"notifications_source": "rails"' in done.stdout
    assert '"mode": "migration"' in done.stdout
