"""Hostile and mistyped configuration files against the real local Redmine (issue 19.6, 19.7).

Mistyped ones — a note template with `{`, `{0}`, `{x!z}`, `{x:%Y}` or a name the rule never
supplies, `Europe/Moskow`, an unknown permission, two custom fields with one Redmine name —
stop every command at load with exit 2 naming the key, before any read or write.

Every YAML file the tool reads — `--config`, `--mappings`, `--policies`, `--companies`,
`--audit-rules` — is given an alias bomb, a self-referencing alias and a duplicate key; every
command refuses it with exit 2 naming the file and the line, at once, and a sweep that would
write leaves no trace (no audit log, no lock taken).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, LocalRedmine

pytestmark = pytest.mark.redmine
HELPDESK = [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())"]

BOMB = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)))
SELF = "redmine: &r\n  url: *r\n"
DUPLICATE_POLICIES = (REPO / "policies" / "policies.yaml").read_text(encoding="utf-8") + \
    "\nrules:\n  feedback-reminder: {enabled: false}\n"

# (what the file is, the command that reads it); {f} is the file
READERS = [
    ("config", ["--config", "{f}", "doctor"]),
    ("mappings", ["--mappings", "{f}", "doctor"]),
    ("policies", ["sweep", "run", "--policies", "{f}", "--state-dir", "{state}"]),
    ("companies", ["users", "approve", "--all-matching", "--companies", "{f}"]),
    ("audit rules", ["sweep", "run", "--audit-rules", "{f}", "--state-dir", "{state}"]),
]


def _helpdesk(redmine: LocalRedmine, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HELPDESK, *argv], env=redmine.env(), capture_output=True, text=True,
                          timeout=120, cwd=REPO)


@pytest.mark.parametrize(("kind", "argv"), READERS, ids=[r[0] for r in READERS])
@pytest.mark.parametrize(("case", "text", "line"), [("alias bomb", BOMB, 2), ("self alias", SELF, 2)],
                         ids=["bomb", "self"])
def test_aliases_are_refused_in_every_file_the_tool_reads(redmine: LocalRedmine, tmp_path: Path, kind: str,
                                                          argv: list[str], case: str, text: str, line: int) -> None:
    path = tmp_path / "file.yaml"
    path.write_text(text, encoding="utf-8")
    state = tmp_path / "state"
    started = time.monotonic()
    done = _helpdesk(redmine, [a.format(f=path, state=state) for a in argv])
    took = time.monotonic() - started
    assert done.returncode == 2, (case, done.stderr[-1000:])
    assert f"{path}:{line}" in done.stderr and "alias" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert took < 30, took  # it was 34 s and a MemoryError
    assert not state.exists()  # refused before the sweep's lock, log or any write


def test_a_duplicate_key_is_refused_not_silently_the_last(redmine: LocalRedmine, tmp_path: Path) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text(DUPLICATE_POLICIES, encoding="utf-8")
    state = tmp_path / "state"
    done = _helpdesk(redmine, ["sweep", "run", "--policies", str(path), "--state-dir", str(state)])
    assert done.returncode == 2, done.stderr[-1000:]
    line = DUPLICATE_POLICIES.splitlines().index("rules:", DUPLICATE_POLICIES.splitlines().index("rules:") + 1) + 1
    assert f"{path}:{line}" in done.stderr and "'rules'" in done.stderr, done.stderr
    assert not state.exists()
    config = tmp_path / "config.yaml"
    config.write_text(f"redmine:\n  url: {redmine.url}\n  url: http://elsewhere.example\n", encoding="utf-8")
    done = _helpdesk(redmine, ["--config", str(config), "doctor"])
    assert done.returncode == 2 and f"{config}:3" in done.stderr and "redmine.url" in done.stderr, done.stderr


def _policies_with(tmp_path: Path, template: str | None = None, zone: str | None = None) -> Path:
    doc = yaml.safe_load((REPO / "policies" / "policies.yaml").read_text(encoding="utf-8"))
    if template is not None:
        doc["rules"]["feedback-reminder"]["templates"]["comment"] = "Здравствуйте! " + template
    if zone is not None:
        doc["settings"].setdefault("calendar", {})["timezone"] = zone
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(("template", "words"), [
    ("{", "not a valid template"), ("{0}", "has no name"), ("{since!z}", "conversions"),
    ("{since:%Y}", "format specs"), ("{dealine}", "unknown placeholder '{dealine}'"),
    ("{issue.__class__}", "only plain names"),
])
def test_a_bad_template_stops_the_sweep_before_any_read_or_write(redmine: LocalRedmine, tmp_path: Path,
                                                                 template: str, words: str) -> None:
    path, state = _policies_with(tmp_path, template=template), tmp_path / "state"
    done = _helpdesk(redmine, ["sweep", "run", "--policies", str(path), "--state-dir", str(state)])
    assert done.returncode == 2, done.stderr[-1000:]
    assert "rules.feedback-reminder.templates.comment" in done.stderr and words in done.stderr, done.stderr
    assert f"{path}:" in done.stderr and "Traceback" not in done.stderr
    assert not state.exists()


def test_a_mistyped_time_zone_is_named_at_load(redmine: LocalRedmine, tmp_path: Path) -> None:
    path, state = _policies_with(tmp_path, zone="Europe/Moskow"), tmp_path / "state"
    done = _helpdesk(redmine, ["sweep", "run", "--policies", str(path), "--state-dir", str(state)])
    assert done.returncode == 2 and "settings.calendar.timezone" in done.stderr and "Europe/Moskow" in done.stderr
    assert not state.exists()


@pytest.mark.parametrize(("change", "key", "words"), [
    (lambda m: m["roles"]["client"]["permissions"].append("view_isues"), "roles.client.permissions",
     "unknown Redmine permission 'view_isues'"),
    (lambda m: m["custom_fields"]["orders"].update(name=m["custom_fields"]["account"]["name"]),
     "custom_fields.", "is already used by"),
])
def test_mappings_mistakes_redmine_would_swallow_are_refused(redmine: LocalRedmine, tmp_path: Path,
                                                             change: Any, key: str, words: str) -> None:
    doc = yaml.safe_load((REPO / "helpdesk_core" / "mappings.yaml").read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / "mappings.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    for argv in (["--mappings", str(path), "provision", "--ruby"], ["--mappings", str(path), "doctor"]):
        done = _helpdesk(redmine, argv)
        assert done.returncode == 2, (argv, done.stderr[-1000:])
        assert key in done.stderr and words in done.stderr and f"{path}:" in done.stderr, done.stderr
        assert done.stdout == ""  # no provisioning script was printed
