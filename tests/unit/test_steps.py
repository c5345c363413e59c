"""scripts/lib/steps.sh: one line per step on the terminal, everything else in the log, and on
failure the log's path and the failing step's last lines."""

from __future__ import annotations

import subprocess
from pathlib import Path

STEPS = Path(__file__).resolve().parents[2] / "scripts/lib/steps.sh"

SCRIPT = f"""
set -euo pipefail
. {STEPS}
steps_init t
step "quiet" bash -c 'for i in $(seq 1 500); do echo noise $i; done'
step --ok 3 "attention" bash -c 'echo out; exit 3'
step --show "summary" bash -c 'echo TABLE; echo warning-on-stderr >&2'
step "broken" bash -c 'for i in $(seq 1 100); do echo line $i; done; echo boom >&2; exit 7'
echo never
"""


def test_quiet_steps_and_a_failing_step(tmp_path: Path) -> None:
    done = subprocess.run(["bash", "-c", SCRIPT], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 7  # the failing step's own code
    out = done.stdout.splitlines()
    assert out[0].startswith("журнал: var/log/t-") and len(out) == 7, out
    assert "quiet" in out[1] and "готово (" in out[1]
    assert "требует внимания: код 3" in out[2]
    assert out[4] == "TABLE" and "noise" not in done.stdout and "warning-on-stderr" not in done.stdout
    assert "ОШИБКА (код 7" in out[6] and "never" not in done.stdout
    log = next((tmp_path / "var/log").iterdir())
    assert f"журнал: {log}" in done.stderr
    tail = [line for line in done.stderr.splitlines() if line.startswith("  | ")]
    assert tail[-1] == "  | boom" and "  | line 100" in tail and len(tail) == 25
    text = log.read_text()
    assert "noise 500" in text and "warning-on-stderr" in text and "line 1\n" in text
