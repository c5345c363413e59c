"""Small things said plainly: a dry run whose plan a real run would refuse (--max-actions), and a
migration plan without a ledger that says where its state came from."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import REPO, LocalRedmine
from tests.integration.test_sweep_redmine import BASE, HELPDESK, World, asked, live, people, world  # noqa: F401

pytestmark = pytest.mark.redmine


def test_a_dry_run_over_max_actions_says_the_real_run_would_stop(world: World, tmp_path: Path) -> None:  # noqa: F811
    asked(world, BASE)
    now = (BASE + timedelta(days=5, hours=1)).isoformat()
    args = [*HELPDESK, "sweep", "run", "--dry-run", "--now", now, "--only", "feedback-reminder",
            "--policies", str(world.policies), "--state-dir", str(tmp_path)]
    env = {**world.live.env(), "HELPDESK_LANG": "ru"}
    over = subprocess.run([*args, "--max-actions", "0"], env=env, capture_output=True, text=True, cwd=REPO)
    assert over.returncode == 3, over.stderr
    assert "записей в плане: 1 — больше, чем --max-actions 0: настоящий запуск остановится" in over.stderr
    within = subprocess.run([*args, "--max-actions", "1"], env=env, capture_output=True, text=True, cwd=REPO)
    assert within.returncode == 0 and "--max-actions" not in within.stderr


def test_a_plan_without_a_ledger_says_the_state_was_read_from_redmine(redmine: LocalRedmine,
                                                                       tmp_path: Path) -> None:
    ledger = tmp_path / "none.ledger.sqlite"
    done = subprocess.run([*HELPDESK, "migrate", "plan", str(REPO / "samples" / "export"), "--state", str(ledger),
                           "--attachment-limit-kb", "200"], env={**redmine.env(), "HELPDESK_LANG": "ru"},
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode in (0, 3), done.stderr
    assert f"журнала ещё нет ({ledger}): состояние прочитано из Redmine" in done.stdout
    assert not ledger.exists()


def test_applying_a_plan_reports_each_outcome_in_russian(world: World, tmp_path: Path) -> None:  # noqa: F811
    issue, _ = asked(world, BASE)
    now = (BASE + timedelta(days=5, hours=1)).isoformat()
    plan = tmp_path / "plan.json"
    env = {**world.live.env(), "HELPDESK_LANG": "ru", "COLUMNS": "80"}
    planned = subprocess.run([*HELPDESK, "sweep", "plan", "--now", now, "--only", "feedback-reminder", "--policies",
                              str(world.policies), "-o", str(plan), "--format", "json"], env=env,
                             capture_output=True, text=True, cwd=REPO)
    assert planned.returncode == 0, planned.stderr
    applied = subprocess.run([*HELPDESK, "sweep", "apply", str(plan), "--policies", str(world.policies),
                              "--state-dir", str(tmp_path)], env=env, capture_output=True, text=True, cwd=REPO)
    assert applied.returncode == 0, applied.stderr
    assert "Результаты" in applied.stdout and "выполнено" in applied.stdout and "комментарий" in applied.stdout
    assert str(issue) in applied.stdout
    assert max(len(line) for line in applied.stdout.splitlines()) <= 80
