"""Progress you can trust: bars with rate and ETA on a terminal, nothing at all on a pipe.

One live display per command (rich allows only one), shared by everything long: the
migration's tickets and the gateway's paged reads (issues of a sweep, a year of time
entries, a verify). Always on stderr: stdout may carry the one JSON document.
"""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from helpdesk_core.inert import inert

# A paged read shorter than this is over before a bar would help.
MIN_TOTAL = 200


class RateColumn(ProgressColumn):
    """Items per second, from rich's own moving estimate."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.1f}/s" if task.speed else "", style="progress.data.speed")


class Bars:
    """Bars by label, started on the first update that is worth one; a no-op off a terminal."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._enabled = console.is_terminal
        self._progress: Progress | None = None
        self._tasks: dict[str, int] = {}
        self._lock = threading.Lock()

    def update(self, label: str, done: int, total: int | None) -> None:
        """`done` of `total` items of `label` (total None: not known yet)."""
        if not self._enabled or (label not in self._tasks and (total or 0) < MIN_TOTAL):
            return
        with self._lock:
            if self._progress is None:
                self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                          TaskProgressColumn(), RateColumn(), TimeRemainingColumn(),
                                          console=self._console, transient=True)
                self._progress.start()
            task = self._tasks.get(label)
            if task is None:
                task = self._tasks[label] = self._progress.add_task(inert(label), total=total)
            self._progress.update(task, completed=done, total=max(total or 0, done) or None)

    def close(self) -> None:
        """Stop the live display (the bars vanish; the report follows)."""
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None
                self._tasks.clear()
