"""Every finding of every audit on every corpus text, as JSON: proof that a speed-only change
changed no decision. The code audited is the checkout in the current directory, so one script
dumps any commit; compare the two files byte for byte:

    git worktree add /tmp/before <earlier commit>
    (cd /tmp/before && $REPO/.venv/bin/python $REPO/bench/audit_decisions.py /tmp/before.json)
    .venv/bin/python bench/audit_decisions.py /tmp/after.json && cmp /tmp/before.json /tmp/after.json

Each ticket is audited as the corpus has it and as bench/audits.py times it (a numbered line
appended), so the timed path is covered too."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path.cwd()))

from policies import text_audits as audits  # noqa: E402
from tests.unit.corpus_tickets import load_corpus  # noqa: E402


def _dump(finding: Any) -> Any:
    return None if finding is None else finding.model_dump(mode="json")


def decisions() -> dict[str, dict[str, Any]]:
    cfg = audits.load_audit_config()
    out: dict[str, dict[str, Any]] = {}
    for entry in load_corpus():
        body = entry.body()
        row: dict[str, Any] = {"delay": _dump(audits.audit_delay_complaint(body, cfg)),
                               "tone": _dump(audits.audit_tone(body, cfg))}
        if entry.kind == "ticket":
            ticket = entry.ticket(audits)
            row["priority"] = _dump(audits.audit_priority(ticket, cfg))
            row["completeness"] = _dump(audits.audit_completeness(ticket, cfg))
            timed = ticket.model_copy(update={"description": f"{entry.text}\nСм. также обращение a1."})
            row["timed"] = [_dump(audits.audit_priority(timed, cfg)), _dump(audits.audit_completeness(timed, cfg)),
                            _dump(audits.audit_tone(timed.body(), cfg)),
                            _dump(audits.audit_delay_complaint(timed.body(), cfg))]
        out[entry.id] = row
    return out


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    found = decisions()
    Path(sys.argv[1]).write_text(json.dumps(found, ensure_ascii=False, indent=0, sort_keys=True), encoding="utf-8")
    print(f"{len(found)} corpus texts: every finding written to {sys.argv[1]}")


if __name__ == "__main__":
    main()
