"""CLI of the sweeps without a server: rule listing and configuration errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cli


def test_rules_lists_every_rule_with_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sweep", "rules", "--format", "json"]) == 0
    rules = {r["id"]: r for r in json.loads(capsys.readouterr().out)["rules"]}
    assert len(rules) == 13 and rules["feedback-reminder"]["params"] == {"after_days": 5.0}
    assert all("YAML:" in r["doc"] for r in rules.values())


def test_bad_policies_file_is_exit_2_with_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "policies.yaml"
    bad.write_text("rules:\n  feedback-reminder:\n    params: {after_dayz: 5}\n", encoding="utf-8")
    assert cli.main(["sweep", "rules", "--policies", str(bad)]) == 2
    assert "policies.yaml:3" in capsys.readouterr().err
