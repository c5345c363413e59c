"""Shared plumbing for the benchmarks in bench/: the pgsql Redmine, exports, timed child processes, output.

Not a benchmark itself. Every script imports it as `from _common import ...` (bench/ is put on
sys.path by running `python bench/<script>.py`).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
VENV_BIN = Path(sys.executable).parent
HELPDESK = str(VENV_BIN / "helpdesk")
GENERATOR = REPO / "samples" / "make_sample_export.py"
REDMINE_LOCAL = REPO / "scripts" / "redmine-local"
VARIANT = "pgsql"
# The benchmarks fill Redmine with thousands of users and issues (the generator's U1..Un, which the
# tests' sample shares): they get their own instance pair, never the one the tests use, unless
# REDMINE_LOCAL_PREFIX / REDMINE_LOCAL_PORT_BASE name another.
os.environ.setdefault("REDMINE_LOCAL_PREFIX", "bench")
os.environ.setdefault("REDMINE_LOCAL_PORT_BASE", "3390")


# --------------------------------------------------------------------------- Redmine


@dataclass(frozen=True)
class Target:
    url: str
    api_key: str
    variant: str = VARIANT

    def env(self) -> dict[str, str]:
        return {**os.environ, "REDMINE_URL": self.url, "REDMINE_API_KEY": self.api_key,
                "COLUMNS": "200", "NO_COLOR": "1"}


def redmine(start: bool = True) -> Target:
    """The PostgreSQL-backed local Redmine (Puma cluster); started if needed; notifications must be off."""
    if start:
        done = subprocess.run([str(REDMINE_LOCAL), "start", "--variant", VARIANT], capture_output=True,
                              text=True, timeout=1800)
        if done.returncode != 0:
            sys.exit(f"scripts/redmine-local start --variant {VARIANT} failed:\n{done.stderr[-2000:]}")
    values: dict[str, str] = {}
    prefix = os.environ.get("REDMINE_LOCAL_PREFIX", "helpdesk")
    name = VARIANT if prefix == "helpdesk" else f"{prefix}_{VARIANT}"
    for line in (REPO / "var" / f"redmine-{name}.env").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip("'\"")
    target = Target(values["REDMINE_URL"], values["REDMINE_API_KEY"])
    state = notifications(target)
    if state != "off":
        sys.exit(f"Redmine's email notifications are '{state}': benchmarks need them off "
                 "(scripts/redmine-local provisions them off; see `helpdesk doctor`)")
    return target


def notifications(target: Target) -> str:
    sys.path.insert(0, str(REPO))
    from helpdesk_core.config import ConnectionSettings
    from helpdesk_core.doctor import notifications_state
    from helpdesk_core.gateway import Gateway

    settings = ConnectionSettings.model_validate({"url": target.url, "api_key": target.api_key})
    return notifications_state(Gateway(settings, writes_allowed=False))


def puma_mode() -> str:
    """'cluster (N workers, threads a:b)' as the running Puma config says."""
    cfg = Path(f"/var/cache/redmine/{os.environ.get('REDMINE_LOCAL_PREFIX', 'helpdesk')}_{VARIANT}/puma.rb")
    try:
        text = cfg.read_text()
    except OSError:
        return "unknown"
    workers = next((ln.split()[1] for ln in text.splitlines() if ln.startswith("workers ")), None)
    threads = next((ln.split(None, 1)[1].replace(" ", "") for ln in text.splitlines()
                    if ln.startswith("threads ")), "?")
    return f"cluster ({workers} workers, threads {threads})" if workers else f"single (threads {threads})"


def machine() -> dict[str, Any]:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {"cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "loadavg_at_start": list(os.getloadavg())}


# --------------------------------------------------------------------------- exports


def generate(out: Path, tickets: int, *, id_prefix: str = "", seed: int | None = None,
             attachments: bool = False) -> float:
    """A bulk export (without attachments unless asked); returns the seconds it took."""
    cmd = [sys.executable, str(GENERATOR), "--tickets", str(tickets), "--out", str(out)]
    if not attachments:
        cmd.append("--no-attachments")
    if id_prefix:
        cmd += ["--id-prefix", id_prefix]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    started = time.monotonic()
    subprocess.run(cmd, check=True)
    return time.monotonic() - started


def run_id() -> str:
    """A short token unique to this run (ids in Redmine must not collide across runs)."""
    return time.strftime("%m%d%H%M%S") + os.urandom(2).hex()


# --------------------------------------------------------------------------- timed child processes


@dataclass
class Child:
    """A finished child process: exit code, wall time, CPU time, peak RSS, parsed JSON stdout."""

    exit_code: int
    seconds: float
    cpu_seconds: float
    max_rss_mb: float
    stdout: str
    stderr: str
    doc: dict[str, Any] = field(default_factory=dict)


def run_child(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
              ok_codes: tuple[int, ...] = (0, 3), workdir: Path) -> Child:
    """Run `cmd`, measuring wall time and the child's own rusage (os.wait4: this child only)."""
    workdir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = workdir / "stdout.txt", workdir / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd or REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = out_path.read_text("utf-8", "replace"), err_path.read_text("utf-8", "replace")
    child = Child(proc.returncode, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout, stderr)
    if child.exit_code not in ok_codes:
        sys.exit(f"{' '.join(cmd)} exited {child.exit_code}:\n{stderr[-3000:]}")
    if stdout.lstrip().startswith("{"):
        child.doc = json.loads(stdout)
    return child


def peak_rss_mb(pid: int) -> float | None:
    """A running process's peak RSS so far (VmHWM), in MB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def runner_command(variant: str = VARIANT) -> str:
    """`scripts/redmine-local runner-cmd`: the rails runner of the local instance, for --loader rails."""
    done = subprocess.run([str(REDMINE_LOCAL), "runner-cmd", "--variant", variant], capture_output=True,
                          text=True, timeout=60)
    if done.returncode != 0:
        sys.exit(f"scripts/redmine-local runner-cmd failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def helpdesk(args: list[str], target: Target, *, workdir: Path, ok_codes: tuple[int, ...] = (0, 3)) -> Child:
    return run_child([HELPDESK, *args], env=target.env(), ok_codes=ok_codes, workdir=workdir)


# --------------------------------------------------------------------------- output


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([line, sep, *body])


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_result(name: str, document: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {"benchmark": name, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "redmine": {"variant": VARIANT, "puma": puma_mode()}, **document}
    document.setdefault("machine", machine())["loadavg_at_end"] = list(os.getloadavg())
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return path


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
