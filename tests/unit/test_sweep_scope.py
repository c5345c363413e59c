"""A project in a rule's scope that Redmine does not know is a configuration error (exit 2).

Redmine answers 404 to `/issues.json?project_id=<unknown>`; the sweep reports the key and the
line of the policies file instead of a failed request, and writes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import cli
from helpdesk_cli.support import Session
from helpdesk_core.clock import FixedClock
from helpdesk_core.errors import EXIT_USAGE, ConfigError
from policies.config import load_policies
from policies.engine import plan_sweep, run_sweep
from policies.text_audits import load_audit_config
from tests.unit.test_sweep_fake import SUPPORT, FakeRedmine

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
BUNDLED = Path(__file__).parents[2] / "policies" / "policies.yaml"


def policies_with_scope(tmp_path: Path, projects: str) -> Path:
    """The bundled file with feedback-reminder scoped to `projects` (a YAML flow list)."""
    text = BUNDLED.read_text(encoding="utf-8").replace(
        'scope: {projects: "*", trackers: "*"}', f'scope: {{projects: {projects}, trackers: "*"}}', 1)
    path = tmp_path / "policies.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def waiting_issue(fake: FakeRedmine) -> int:
    issue = fake.add_issue(created=T0 - timedelta(days=1))
    fake.journal(issue, T0, user=SUPPORT, notes="Уточните номер заказа", status="Требует обратной связи")
    return issue


def test_unknown_project_names_key_and_line(tmp_path: Path) -> None:
    path = policies_with_scope(tmp_path, "[acme, acmee]")
    line = next(n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "acmee" in text)
    fake = FakeRedmine(T0)
    waiting_issue(fake)
    with pytest.raises(ConfigError) as err:
        plan_sweep(fake, load_policies(path), T0 + timedelta(days=6), audit=load_audit_config())
    assert err.value.key == "rules.feedback-reminder.scope.projects.1"
    assert err.value.line == line and err.value.source == str(path)
    assert "acmee" in str(err.value) and err.value.exit_code == EXIT_USAGE


def test_run_with_unknown_project_writes_nothing(tmp_path: Path) -> None:
    fake = FakeRedmine(T0)
    waiting_issue(fake)
    policies = load_policies(policies_with_scope(tmp_path, "[nope]"))
    with pytest.raises(ConfigError):
        run_sweep(fake, policies, FixedClock(T0 + timedelta(days=6)), state_dir=tmp_path / "state",  # type: ignore[arg-type]
                  audit=load_audit_config())
    assert fake.stats.writes == 0


def test_known_projects_still_plan(tmp_path: Path) -> None:
    fake = FakeRedmine(T0)
    issue = waiting_issue(fake)
    policies = load_policies(policies_with_scope(tmp_path, "[acme, other]"))
    plan = plan_sweep(fake, policies, T0 + timedelta(days=6), only=["feedback-reminder"], audit=load_audit_config())
    assert [a.issue for a in plan.actions] == [issue]


def test_cli_exit_2_with_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeRedmine(T0)
    waiting_issue(fake)
    monkeypatch.setattr(Session, "gateway", lambda self, **_: fake)
    path = policies_with_scope(tmp_path, "[nope]")
    code = cli.main(["sweep", "plan", "--now", (T0 + timedelta(days=6)).isoformat(), "--policies", str(path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "rules.feedback-reminder.scope.projects.0" in err and "'nope'" in err and "404" not in err
