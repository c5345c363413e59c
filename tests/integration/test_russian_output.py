"""Every sentence a person reads is Russian by default: the help of every command, a representative
run of each command against the real Redmine with the bundled sample, and typical mistakes.

The check is a heuristic: a run of three or more Latin words outside data and code (quotes,
backticks, paths, URLs, options, identifiers with -, _ or ., ALL-CAPS names, the sample's own
company and people names) is an English sentence. `HELPDESK_ENGLISH_REPORT=FILE` writes what
was found, for the closing note's figure.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

from tests.conftest import REPO, LocalRedmine
from tests.unit.test_cli import all_commands

pytestmark = pytest.mark.redmine
HELPDESK = [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())"]
SAMPLE = REPO / "samples" / "export"
NOW = "2026-12-01T10:00:00+03:00"

_COMMAND = r"\bhelpdesk(?: (?:migrate|plan|run|verify|fix-dates|sweep|apply|rules|sla|report|users|pending|approve|" \
           r"consultations|doctor|provision))*"
_SPANS = re.compile(r"`[^`]*`|«[^»]*»|'[^']*'|\"[^\"]*\"|\S+://\S+|\[helpdesk:[^\]]*\]|" + _COMMAND)
_WORD = re.compile(r"[(\[]?[A-Za-z][a-z]+[)\],;:.!?]*")


def sample_names() -> list[str]:
    """Data the sample itself carries in Latin letters (company and people names): not our sentences."""
    names = []
    for file, keys in (("companies.jsonl", ("name",)), ("users.jsonl", ("name", "first_name", "last_name"))):
        for line in (SAMPLE / file).read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            names += [str(record[k]) for k in keys if isinstance(record, dict) and record.get(k)]
    return sorted(set(names), key=len, reverse=True)


def english_sentences(text: str, data: list[str]) -> list[str]:
    """Lines with a run of three or more Latin words outside data and code."""
    found = []
    for line in text.splitlines():
        plain = line
        for name in data:
            plain = plain.replace(name, " ")
        plain = _SPANS.sub(" ", plain)
        run = 0
        for token in plain.split():
            run = run + 1 if _WORD.fullmatch(token) else 0
            if run >= 3:
                found.append(line.strip())
                break
    return found


def page_text(html: str) -> str:
    """What a reader of the page sees: no script, style or markup; one line per element."""
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", "", html)
    return unescape(re.sub(r"<[^>]+>", "\n", html))


def test_the_heuristic_finds_english_and_leaves_data_alone() -> None:
    assert english_sentences("ошибка: key 'x': Redmine's email notifications are on", [])
    assert english_sentences("  Причина: waiting for the client since 2024-03-03", [])
    assert not english_sentences("Клиент: WebSky Partner Ltd · задача #2", ["WebSky Partner Ltd"])
    assert not english_sentences("выполните `helpdesk provision --ruby > p.rb` на сервере Redmine", [])
    assert not english_sentences("через rails runner: даты портала, REST API, --format json", [])
    assert not english_sentences("Использование: helpdesk migrate plan [ПАРАМЕТРЫ] EXPORT", [])
    assert english_sentences("helpdesk sweep is already running here", [])


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HELPDESK, *args], env=env, capture_output=True, text=True, cwd=REPO, timeout=600)


def test_every_command_speaks_russian(redmine: LocalRedmine, tmp_path: Path) -> None:
    env = {k: v for k, v in redmine.env().items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES", "HELPDESK_LANG")}
    env |= {"COLUMNS": "80", "HELPDESK_TABLE_ROWS": "40"}
    ledger = str(tmp_path / "ledger.sqlite")
    bad_csv = tmp_path / "requests.csv"
    bad_csv.write_text("email,company\nnot-an-address,Ромашка\n", encoding="utf-8")
    runs: list[list[str]] = [[*path, "--help"] for path in all_commands()] + [
        ["--help"], ["migrate", "--help"], ["nosuch"], ["migrate", "plan"], ["sweep", "run", "--workers", "x"],
        ["sla", "report", "--from", "2026-11-30", "--to", "2026-11-01"],
        ["doctor"], ["doctor", "--verbose"],
        ["migrate", "plan", str(SAMPLE), "--attachment-limit-kb", "200", "--html", str(tmp_path / "plan.html")],
        ["migrate", "run", str(SAMPLE), "--state", ledger, "--attachment-limit-kb", "200"],
        ["migrate", "verify", str(SAMPLE), "--state", ledger, "--attachment-limit-kb", "200"],
        ["migrate", "verify", str(SAMPLE), "--state", ledger],  # the run's limit, said where it came from
        ["migrate", "verify", str(SAMPLE), "--state", ledger, "--attachment-limit-kb", "5120",  # differences
         "--html", str(tmp_path / "verify.html")],
        ["sweep", "rules"], ["sweep", "plan", "--now", NOW, "--html", str(tmp_path / "sweep.html")],
        ["sweep", "run", "--dry-run", "--now", NOW, "--max-actions", "1", "--state-dir", str(tmp_path)],
        ["sla", "report", "--now", NOW, "--from", "2024-01-01", "--include-migrated", "--html",
         str(tmp_path / "sla.html")],
        ["sla", "report", "--now", NOW],
        ["users", "pending", "--export", str(SAMPLE)],
        ["users", "approve", "--all-matching", "--dry-run", "--export", str(SAMPLE)],
        ["report", "consultations", "--month", "2024-03", "--html", str(tmp_path / "bill.html")],
        ["users", "approve", "--from-csv", str(bad_csv)],
    ]
    data = sample_names()
    found: dict[str, list[str]] = {}
    for args in runs:
        done = _run(args, env)
        assert "Traceback" not in done.stderr, (args, done.stderr[-2000:])
        english = english_sentences(done.stdout + "\n" + done.stderr, data)
        if english:
            found[" ".join(args)] = english
    bad_url = _run(["doctor"], {**env, "REDMINE_URL": "http://127.0.0.1:9"})
    bad_key = _run(["doctor"], {**env, "REDMINE_API_KEY": "0" * 40})
    for name, done in (("wrong port", bad_url), ("wrong key", bad_key)):
        english = english_sentences(done.stdout + "\n" + done.stderr, data)
        if english:
            found[name] = english
    for page in sorted(tmp_path.glob("*.html")):
        english = english_sentences(page_text(page.read_text(encoding="utf-8")), data)
        if english:
            found[page.name] = english
    assert len(list(tmp_path.glob("*.html"))) == 5
    report = os.environ.get("HELPDESK_ENGLISH_REPORT")
    if report:
        Path(report).write_text(json.dumps(found, ensure_ascii=False, indent=2), encoding="utf-8")
    count = sum(len(lines) for lines in found.values())
    assert count == 0, f"English sentences found: {count}\n" + json.dumps(found, ensure_ascii=False, indent=2)
