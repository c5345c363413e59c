"""Issue 18 design: no import circle inside policies/ (config ↔ registry ↔ context ↔ rules).

Module-level imports only (a `TYPE_CHECKING` block is for annotations and never runs); an
import inside a function is a hidden circle too, so it counts.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []  # annotations only
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("policies."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("policies.")}
    return found


def test_policies_modules_import_without_a_circle() -> None:
    graph = {p.stem: _imports(p) for p in (ROOT / "policies").glob("*.py")}
    state: dict[str, int] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if state.get(name) == 1:
            raise AssertionError("import circle: " + " → ".join((*trail, name)))
        if state.get(name) == 2:
            return
        state[name] = 1
        for other in sorted(graph.get(name, ())):
            visit(other, (*trail, name))
        state[name] = 2

    for module in sorted(graph):
        visit(module, ())
    assert "rules" in graph["config"] and "config" not in graph["context"] and "rules" not in graph["registry"]


def test_each_module_imports_first_in_a_fresh_interpreter() -> None:
    for module in ("config", "registry", "context", "rules", "conversation", "engine", "settings"):
        done = subprocess.run([sys.executable, "-c", f"import policies.{module}"], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (module, done.stderr)
