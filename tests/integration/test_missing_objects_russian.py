"""A migration refused because Redmine lacks what the mappings name says so in Russian by default
(`--lang en`: English), against the real local Redmine: a mappings file naming a custom field that
provisioning never created."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, LocalRedmine

pytestmark = pytest.mark.redmine
SAMPLE = REPO / "samples" / "export"


def plan(redmine: LocalRedmine, mappings: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv/bin/helpdesk"), *extra, "migrate", "plan", str(SAMPLE),
                           "--state", str(mappings.parent / "state.sqlite")],
                          env={**redmine.env(), "LANG": "C.UTF-8", "HELPDESK_MAPPINGS": str(mappings)},
                          capture_output=True, text=True, timeout=600, cwd=REPO)


def test_a_missing_custom_field_is_named_in_russian_and_in_english_on_request(redmine: LocalRedmine,
                                                                              tmp_path: Path) -> None:
    bundled = (REPO / "helpdesk_core" / "mappings.yaml").read_text(encoding="utf-8")
    assert "name: Создано в портале," in bundled
    mappings = tmp_path / "mappings.yaml"
    mappings.write_text(bundled.replace("name: Создано в портале,", "name: Создано в старом портале,"),
                        encoding="utf-8")

    ru = plan(redmine, mappings)
    assert ru.returncode == 2, f"exit {ru.returncode}: {ru.stderr[-2000:]}"
    assert "Traceback" not in ru.stderr
    assert ("в Redmine не хватает настраиваемых полей задач: Создано в старом портале — сначала выполните "
            "`helpdesk provision` (см. `helpdesk doctor`)") in " ".join(ru.stderr.split()), ru.stderr
    assert "Redmine has no" not in ru.stderr

    en = plan(redmine, mappings, "--lang", "en")
    assert en.returncode == 2, f"exit {en.returncode}: {en.stderr[-2000:]}"
    assert ("Redmine has no custom field Создано в старом портале: run `helpdesk provision` first "
            "(see `helpdesk doctor`)") in " ".join(en.stderr.split()), en.stderr
