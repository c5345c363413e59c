"""`helpdesk` exactly as installed, plus a log of every logical request it sends (for the raw baselines).

    BENCH_RECORD=/tmp/requests.jsonl python bench/_recording_cli.py migrate run EXPORT --workers 8

The log is kept in memory and written at exit, one JSON line per `Gateway.request` call (retries
of one call are one line): monotonic start/end, thread, the ticket being migrated (None outside
the ticket phase), method, path, params, JSON body, X-Redmine-Switch-User, and the outcome
status. `<BENCH_RECORD>.phase.json` gets the ticket phase: monotonic start of the first ticket,
end of the last, and the number of tickets. The cost is one list append per request and two
clock reads per ticket; nothing else in the tool changes.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from helpdesk_core import gateway as gateway_module  # noqa: E402
from helpdesk_core.errors import RedmineError  # noqa: E402
from migrator import engine  # noqa: E402

_log: list[dict[str, Any]] = []
_ticket = threading.local()
_phase: dict[str, Any] = {"first_start": None, "last_end": None, "tickets": 0}  # the ticket phase, in O(1) memory
_phase_lock = threading.Lock()
_original_request = gateway_module.Gateway.request
_original_run = engine.TicketMigration.run


def _request(self: Any, method: str, path: str, **kwargs: Any) -> Any:
    entry: dict[str, Any] = {"t0": time.monotonic(), "thread": threading.current_thread().name,
                             "ticket": getattr(_ticket, "id", None), "method": method, "path": path,
                             "params": kwargs.get("params"), "json": kwargs.get("json_body"),
                             "as_user": kwargs.get("as_user"), "status": None}
    try:
        result = _original_request(self, method, path, **kwargs)
        entry["status"] = getattr(result, "status_code", 200)
        return result
    except RedmineError as exc:
        entry["status"] = exc.status or -1
        raise
    finally:
        entry["t1"] = time.monotonic()
        _log.append(entry)


def _run(self: Any) -> None:
    _ticket.id = self.t.id
    if _phase["first_start"] is None:
        _phase["first_start"] = time.monotonic()
    try:
        _original_run(self)
    finally:
        _ticket.id = None
        with _phase_lock:
            _phase["last_end"] = time.monotonic()
            _phase["tickets"] += 1


def _dump() -> None:
    target = os.environ.get("BENCH_RECORD")
    if target:
        with open(target, "w", encoding="utf-8") as fh:
            for entry in _log:
                fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        with open(f"{target}.phase.json", "w", encoding="utf-8") as fh:
            json.dump(_phase, fh)


gateway_module.Gateway.request = _request  # type: ignore[method-assign]
engine.TicketMigration.run = _run  # type: ignore[method-assign]
atexit.register(_dump)

if __name__ == "__main__":
    from cli import main

    sys.exit(main(sys.argv[1:]))
