"""The layering README promises: helpdesk_core is a library without the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, json, pkgutil, sys
import helpdesk_core
names = sorted(m.name for m in pkgutil.iter_modules(helpdesk_core.__path__, "helpdesk_core."))
for name in names:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("typer", "rich", "click"))
print(json.dumps({"modules": names, "cli": loaded}))
"""


def test_helpdesk_core_imports_neither_typer_nor_rich() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    # The probe really imported the library (the gateway, the export reader, the renderers).
    assert {"helpdesk_core.gateway", "helpdesk_core.export", "helpdesk_core.html_report"} <= set(found["modules"])
    assert found["cli"] == []


def test_library_packages_do_not_import_one_another() -> None:
    """migrator, policies and admin meet only in helpdesk_core (and in the command line)."""
    libraries = ("migrator", "policies", "admin")
    offenders = []
    for package in libraries + ("helpdesk_core",):
        for path in (ROOT / package).glob("*.py"):
            text = path.read_text(encoding="utf-8")
            forbidden = [other for other in libraries + ("helpdesk_cli", "cli") if other != package]
            for other in forbidden:
                if f"from {other}." in text or f"from {other} import" in text or f"import {other}\n" in text:
                    if path.name == "commands.py" and other == "helpdesk_cli":
                        continue
                    offenders.append(f"{path.relative_to(ROOT)} imports {other}")
    assert offenders == []
