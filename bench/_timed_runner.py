"""A pass-through in front of the rails runner for bench/migrate_throughput.py's loader rows.

    --rails-runner "python bench/_timed_runner.py OUT.json <the real runner command>"

Relays the tool's ticket lines to the loader and its answers back, and writes to OUT.<pid>.json what
the tool's own rusage cannot separate: the loader's CPU time and peak RSS (os.wait4 on it), this relay's
CPU, and the ticket phase (first ticket sent to last answer received, on the system-wide monotonic
clock, so that the files of several loader processes (`--workers N`) combine). Not part of the product.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

out_path = sys.argv[1]
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
first_sent: list[float] = []
sent = [0]


def pump_in() -> None:
    assert child.stdin is not None
    for line in sys.stdin.buffer:
        if not first_sent:
            first_sent.append(time.monotonic())
        sent[0] += 1
        child.stdin.write(line)
        child.stdin.flush()
    child.stdin.close()


threading.Thread(target=pump_in, daemon=True).start()
last_answer = 0.0
answers = -1  # the first line is "ready"
assert child.stdout is not None
for raw in child.stdout:
    answers += 1
    last_answer = time.monotonic()
    sys.stdout.buffer.write(raw)
    sys.stdout.buffer.flush()
_, status, usage = os.wait4(child.pid, 0)
with open(f"{out_path}.{os.getpid()}.json", "w", encoding="utf-8") as out:
    phase = round(last_answer - first_sent[0], 3) if first_sent else None
    json.dump({"tickets_answered": answers, "ticket_phase_seconds": phase,
               "first_sent": first_sent[0] if first_sent else None, "last_answer": last_answer,
               "loader_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
               "loader_max_rss_mb": round(usage.ru_maxrss / 1024, 1),
               "relay_cpu_seconds": round(time.process_time(), 2), "exit": os.waitstatus_to_exitcode(status)}, out)
sys.exit(os.waitstatus_to_exitcode(status))
