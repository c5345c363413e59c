"""policies/README.md's regulation → rule → test table names tests that exist (it is the
closing note's source; a renamed test must not leave it pointing at nothing)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ALIASES = {"reg": "it/test_sweep_regulation.py", "sw": "it/test_sweep_redmine.py",
           "more": "it/test_sweep_more_rules.py", "rules": "unit/test_sweep_rules.py",
           "sense": "it/test_sweep_sense.py", "conv": "unit/test_sweep_conversation.py"}


def table() -> list[str]:
    text = (REPO / "policies" / "README.md").read_text(encoding="utf-8")
    section = text.split("### Regulation → rule → test", 1)[1].split("\n### ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| #")]


def test_every_test_in_the_table_exists() -> None:
    rows = table()
    assert len(rows) >= 24  # 17 sentences of «Отслеживание…», 6 of «Правила закрытия…», «Обратная связь»
    refs = [ref for row in rows for ref in re.findall(r"`([\w/.]+)::(test_\w+)`", row)]
    assert len(refs) >= 30
    for path, name in refs:
        path = ALIASES.get(path, path)
        path = "tests/" + ("integration/" + path[3:] if path.startswith("it/") else path)
        source = (REPO / path).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", source, re.M), f"{path}::{name} named in policies/README.md"
