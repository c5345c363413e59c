"""`migrate run --loader rails` killed with SIGKILL at 20+ moments; resumed; nothing lost or doubled.

The loader writes straight into Redmine's database, so a proxy cannot see its writes: the kill comes
from a relay that the test puts in front of the real runner command (`--rails-runner "python relay
... <runner>"`). The relay passes the tool's ticket lines to the loader and the loader's answers back,
counting them, and at ticket N it SIGKILLs
  - the tool when it sends ticket N (the loader then finishes what it was given and ends),
  - the tool when the loader's answer N arrives (the ticket is committed; the ledger never hears of it),
  - the loader itself a moment after ticket N reached it (inside or after its transaction).
Each round is a fresh copy of the whole sample (36 tickets, every kind of object); the moment is drawn
among the tickets Redmine does not hold yet (those go to the loader), and runs are killed until one
completes; `migrate
verify` must then pass and the census must find every object exactly once. The RNG is seeded.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import LocalRedmine
from tests.integration.test_faults import (
    HELPDESK,
    SEED,
    assert_exactly_once,
    helpdesk,
    helpdesk_env,
    migrate_args,
    parse_result,
    prefixed_export,
)
from tests.integration.test_loader import runner_cmd

pytestmark = [pytest.mark.redmine, pytest.mark.slow]

KILL_POINTS = int(os.environ.get("HELPDESK_CRASH_POINTS", "20"))
MAX_ROUNDS = 16  # stops as soon as KILL_POINTS kills happened (a round yields ~2)
MODES = ("tool-on-send", "tool-on-answer", "loader-after-send")

RELAY = r'''
import json, os, random, signal, subprocess, sys, threading, time
spec = json.load(open(sys.argv[1]))
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
tool = os.getppid()

def kill_tool():
    try:
        os.kill(tool, signal.SIGKILL)
    except ProcessLookupError:  # already gone: this relay must still close its loader's input below
        pass

def fire(n):
    # One kill per run: with several loader processes, each has a relay, and only the first to reach
    # the moment fires (a late one would otherwise log its kill into the next run's record).
    try:
        os.close(os.open(sys.argv[1] + ".fired", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    with open(spec["log"], "a") as log:
        log.write(json.dumps([spec["mode"], n]) + "\n")
    return True

def pump_in():
    sent = 0
    for line in sys.stdin.buffer:
        sent += 1
        if spec["mode"] == "tool-on-send" and sent == spec["at"] and fire(sent):
            kill_tool()
        try:
            child.stdin.write(line)
            child.stdin.flush()
        except BrokenPipeError:
            break
        if spec["mode"] == "loader-after-send" and sent == spec["at"] and fire(sent):
            time.sleep(random.Random(spec["seed"]).uniform(0, 0.08))
            child.kill()
            break
    try:
        child.stdin.close()
    except BrokenPipeError:
        pass

threading.Thread(target=pump_in, daemon=True).start()
answers = -1  # the first line is the loader's "ready"
for line in child.stdout:
    answers += 1
    if spec["mode"] == "tool-on-answer" and answers == spec["at"] > 0 and fire(answers):
        kill_tool()
    try:
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        pass
sys.exit(child.wait())
'''


TICKETS = 36  # the sample's sound tickets


def in_redmine(redmine: LocalRedmine, prefix: str) -> int:
    """Issues whose «ID в портале» carries the round's prefix (the loader skips them on a re-run)."""
    gateway = redmine.gateway()
    field = next(f["id"] for f in gateway.get("/custom_fields.json")["custom_fields"] if f["name"] == "ID в портале")
    return int(gateway.get("/issues.json", {f"cf_{field}": f"~{prefix}", "status_id": "*", "limit": 1})["total_count"])


@pytest.mark.timeout(2400)
@pytest.mark.parametrize(("variant", "workers"), [("sqlite", 1), ("pgsql", 2)])
def test_loader_killed_at_twenty_moments_loses_and_doubles_nothing(variant: str, workers: int, tmp_path: Path,
                                                                   unique: str, request: pytest.FixtureRequest) -> None:
    """SQLite with one loader; PostgreSQL with two, where a loader trusts the list of portal ids it read at
    boot (after waiting out a killed run's orphans) and asks the database only when a ticket's lock was held."""
    redmine: LocalRedmine = request.getfixturevalue("redmine" if variant == "sqlite" else "redmine_pg")
    rng = random.Random(SEED)
    relay = tmp_path / "relay.py"
    relay.write_text(RELAY, "utf-8")
    runner = runner_cmd(redmine)
    env = helpdesk_env(redmine)
    log = tmp_path / "kills.jsonl"
    kills: list[tuple[str, int]] = []
    started = time.monotonic()
    for round_no in range(1, MAX_ROUNDS + 1):
        if len(kills) >= KILL_POINTS:
            break
        prefix = f"k{unique}r{round_no}"
        export = prefixed_export(tmp_path / f"e{round_no}", prefix)
        state = tmp_path / f"state{round_no}.sqlite"
        for attempt in range(40):
            spec = tmp_path / f"spec{round_no}-{attempt}.json"
            left = TICKETS - in_redmine(redmine, prefix)
            # each loader process sees its share of the tickets, and its relay counts only those
            at = 0 if len(kills) >= KILL_POINTS or left < 1 else rng.randint(1, max(1, left // workers))
            spec.write_text(json.dumps({"mode": rng.choice(MODES), "at": at, "log": str(log),
                                        "seed": rng.random()}), "utf-8")
            before = len(log.read_text().splitlines()) if log.exists() else 0
            command = f"{shlex.quote(sys.executable)} {shlex.quote(str(relay))} {shlex.quote(str(spec))} {runner}"
            done = subprocess.run([str(HELPDESK), *migrate_args(export, state), "--loader", "rails",
                                   "--workers", str(workers), "--rails-runner", command], env=env,
                                  capture_output=True, text=True, timeout=600)
            fired = [tuple(json.loads(line)) for line in log.read_text().splitlines()[before:]] if log.exists() else []
            if not fired:
                parse_result(done)  # nothing was killed: the run must have completed
                break
            mode, n = fired[0]
            kills.append((mode, n))
            expected = 1 if mode == "loader-after-send" else -signal.SIGKILL
            assert done.returncode == expected, (mode, n, done.returncode, done.stderr[-2000:])
            if mode == "loader-after-send":
                assert "the loader exited" in done.stderr, done.stderr[-2000:]
        else:
            pytest.fail(f"round {round_no} never completed")
        assert_exactly_once(redmine, export, state)
    last = parse_result(helpdesk(migrate_args(export, state), env))  # and the REST way: nothing left to do
    assert last["requests"]["writes"] == 0, last["counts"]
    print(f"\nloader SIGKILLed at {len(kills)} moments in {round_no} rounds of {TICKETS} tickets; "
          f"{time.monotonic() - started:.0f} s: {sorted(set(kills))}")
    assert len(kills) >= KILL_POINTS
    assert len(set(kills)) >= KILL_POINTS * 0.6  # distinct moments, not one moment many times
    assert {mode for mode, _ in kills} == set(MODES)
