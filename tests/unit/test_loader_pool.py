"""The loader processes' plumbing (migrator.rails_loader.LoaderPool), with a stand-in for `rails runner`.

The stand-in is a Python script that speaks the loader's protocol: a "ready" line, then one answer per
ticket line, in order, naming its own pid and the arguments it was started with. The Ruby side is tested
against the real Redmine in tests/integration/test_loader*.py.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from migrator.rails_loader import LoaderError, LoaderPool

FAKE = r'''
import json, os, sys, time
script, args = sys.argv[1], sys.argv[2:]
print(json.dumps({"ready": True}), flush=True)
for n, line in enumerate(sys.stdin, start=1):
    doc = json.loads(line)
    if doc.get("say"):
        sys.stderr.write(doc["say"] + "\n")
        sys.stderr.flush()
    if doc.get("die"):
        sys.stderr.write("dying as asked\n")
        sys.exit(9)
    time.sleep(doc.get("sleep", 0))
    print(json.dumps({"ticket": doc["ticket"], "pid": os.getpid(), "args": args,
                      "script": os.path.basename(script)}), flush=True)
'''


def fake_runner(tmp_path: Path) -> list[str]:
    path = tmp_path / "fake_runner.py"
    path.write_text(FAKE, "utf-8")
    return [sys.executable, str(path)]


def collect(pool: LoaderPool, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answers: list[dict[str, Any]] = []
    lock = threading.Lock()

    def keep(answer: dict[str, Any]) -> None:
        with lock:
            answers.append(answer)

    pool.wait_ready()
    for message in messages:
        pool.send(message, keep)
    pool.drain()
    return answers


def test_every_ticket_is_answered_once_and_the_work_is_shared(tmp_path: Path) -> None:
    pool = LoaderPool(fake_runner(tmp_path), 2, "ID в портале")
    try:
        answers = collect(pool, [{"ticket": f"T{n}", "sleep": 0.01} for n in range(40)])
    finally:
        pool.close()
    assert sorted(a["ticket"] for a in answers) == sorted(f"T{n}" for n in range(40))
    by_process: dict[int, int] = {}
    for answer in answers:
        by_process[answer["pid"]] = by_process.get(answer["pid"], 0) + 1
    assert len(by_process) == 2 and min(by_process.values()) >= 10, by_process  # both loaders worked
    assert {a["script"] for a in answers} == {"loader.rb"}
    # the portal field's name, then one run name shared by the run's loaders
    assert len({tuple(a["args"]) for a in answers}) == 1
    field, run = answers[0]["args"]
    assert field == "ID в портале" and len(run) == 32


def test_each_run_has_its_own_name(tmp_path: Path) -> None:
    names = []
    for _ in range(2):
        pool = LoaderPool(fake_runner(tmp_path), 1, "ID в портале")
        try:
            names.append(collect(pool, [{"ticket": "T1"}])[0]["args"][1])
        finally:
            pool.close()
    assert names[0] != names[1]


def test_one_loader_dying_stops_the_run_with_its_last_words(tmp_path: Path) -> None:
    pool = LoaderPool(fake_runner(tmp_path), 2, "ID в портале")
    try:
        with pytest.raises(LoaderError) as caught:
            collect(pool, [{"ticket": "T1"}, {"ticket": "T2", "die": True}, *({"ticket": f"T{n}", "sleep": 0.05}
                                                                           for n in range(3, 30))])
    finally:
        pool.close()
    assert "exited (9)" in str(caught.value) and "dying as asked" in str(caught.value)


def test_a_runner_that_cannot_start_leaves_no_process_behind(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="cannot start"):
        LoaderPool([str(tmp_path / "no-such-runner")], 3, "ID в портале")


def test_the_loaders_notices_reach_the_administrator_and_other_output_does_not(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pool = LoaderPool(fake_runner(tmp_path), 1, "ID в портале")
    try:
        collect(pool, [{"ticket": "T1", "say": "helpdesk-loader: waiting for 1 loader(s) of another run"},
                       {"ticket": "T2", "say": "DEPRECATION WARNING: Rails chatter"}])
    finally:
        pool.close()
    shown = [r.getMessage() for r in caplog.records if r.name == "helpdesk.loader"]
    assert shown == ["waiting for 1 loader(s) of another run"]
