"""`migrate run --loader rails`: new tickets written inside Redmine by a Ruby loader, not over REST.

The Python side plans each ticket with the same code as the REST path (TicketMigration's mapping and
text helpers) and sends the plan as one JSON line to `loader.rb`, which runs under `rails runner`
(the command from --rails-runner / HELPDESK_RAILS_RUNNER, split like a shell would, then the script's
path). The loader writes the ticket in one transaction with ActiveRecord (authors and portal dates
set natively, no email) and answers one JSON line per ticket; the ledger is written from the answers.
Data only ever travels as JSON on stdin: nothing from the export becomes Ruby source. Attachments
travel as paths (Spool): copied out of the export in pieces, checked, and checked again by the loader,
so neither process holds a file in memory (memory flat in the attachments' size).

Requests to the REST API remain for the snapshot, users, projects, memberships and categories (a few
per company) and for tickets that already have an issue (deltas), which the REST path completes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import uuid
import zipfile
import zlib
from collections import deque
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from helpdesk_core.errors import ConfigError, HelpdeskError
from helpdesk_core.export import Export
from helpdesk_core.export_model import Attachment
from migrator.engine import (
    AttachmentRefused,
    CommentAct,
    ComplaintAct,
    TicketMigration,
    bytes_refused,
    fingerprint,
    read_refused,
)
from migrator.outcome import Finding
from migrator.text import attachment_filename
from migrator.timeline import issue_dates

Json = dict[str, Any]
RUNNER_ENV = "HELPDESK_RAILS_RUNNER"
WINDOW = 64  # tickets in flight: the pipe never holds more than this, memory stays flat
WINDOW_BYTES = 64 * 1024 * 1024  # ... nor more than this much JSON and spooled files (one ticket may exceed it)
CHUNK = 1024 * 1024  # attachments are copied in pieces of this size: memory flat in the files' size
BOOT_TIMEOUT = 300.0
NOTICE = "helpdesk-loader: "  # a loader's stderr line meant for the administrator, shown as a warning
log = logging.getLogger("helpdesk.loader")


class LoaderError(HelpdeskError):
    """The loader process could not start or died: the run stops (exit 1); a re-run resumes."""

    hint = "check the --rails-runner command (try it with a one-line script) and the loader's stderr above"


def runner_command(option: str | None) -> list[str]:
    """The runner command from --rails-runner or the environment, split like a shell would."""
    text = option or os.environ.get(RUNNER_ENV, "")
    if not text.strip():
        raise ConfigError(f"--loader rails needs the rails runner command: --rails-runner CMD or {RUNNER_ENV} "
                          f"(e.g. 'sudo -u www-data RAILS_ENV=production /usr/share/redmine/bin/rails runner')",
                          key="--rails-runner")
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise ConfigError(f"the rails runner command cannot be split: {exc}", key="--rails-runner") from exc


class LoaderProcess:
    """The long-running `rails runner loader.rb`: JSON lines in, JSON lines out, in order."""

    def __init__(self, command: list[str], args: tuple[str, ...] = ()) -> None:
        self._dir = tempfile.mkdtemp(prefix="helpdesk-loader-")
        script = Path(self._dir) / "loader.rb"
        script.write_bytes(resources.files("migrator").joinpath("loader.rb").read_bytes())
        # The runner often runs as the Redmine user (sudo -u www-data): it must be able to read the script.
        os.chmod(self._dir, 0o755)
        os.chmod(script, 0o644)
        try:
            self._proc = subprocess.Popen([*command, str(script), *args], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise LoaderError(f"cannot start the rails runner {command[0]!r}: {exc}") from exc
        self._stderr: deque[str] = deque(maxlen=40)
        self._pending: deque[tuple[Callable[[Json], None], int]] = deque()
        self._bytes = 0
        self._cond = threading.Condition()
        self._failure: BaseException | None = None
        self._ready = False
        self._closed = False
        self._stderr_reader = threading.Thread(target=self._read_stderr, name="loader-stderr", daemon=True)
        self._stderr_reader.start()
        threading.Thread(target=self._read_answers, name="loader-answers", daemon=True).start()

    # --- threads ----------------------------------------------------------------------------------

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for raw in self._proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()[:500]
            self._stderr.append(line)
            if line.startswith(NOTICE):  # what the loader tells the administrator (e.g. why it waits)
                log.warning("%s", line[len(NOTICE):])

    def _read_answers(self) -> None:
        assert self._proc.stdout is not None
        try:
            for raw in self._proc.stdout:
                doc = json.loads(raw)
                if not self._ready:
                    with self._cond:
                        self._ready = bool(doc.get("ready"))
                        self._cond.notify_all()
                    continue
                with self._cond:
                    handler, size = self._pending.popleft()
                    self._bytes -= size
                handler(doc)
                with self._cond:
                    self._cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            self._failure = exc
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    # --- main thread ------------------------------------------------------------------------------

    def _check(self) -> None:
        if self._failure is not None:
            raise LoaderError(f"the loader's answer could not be handled: {self._failure}") from self._failure
        if self._closed:
            code = self._proc.wait()
            tail = "\n".join(self._stderr) or "(no output)"
            raise LoaderError(f"the loader exited ({code}) with {len(self._pending)} tickets unanswered; "
                              f"its last words:\n{tail}")

    def unanswered(self) -> int:
        with self._cond:
            return len(self._pending)

    def check(self) -> None:
        """Raise if the process died or its answers could not be handled."""
        with self._cond:
            self._check()

    def wait_ready(self, timeout: float = BOOT_TIMEOUT) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._ready or self._closed, timeout):
                raise LoaderError(f"the loader did not start within {timeout:.0f} s")
            if not self._ready:
                self._check()

    def send(self, message: Json, handler: Callable[[Json], None], extra_bytes: int = 0) -> None:
        """Queue one ticket; blocks while WINDOW tickets (or WINDOW_BYTES, its spooled files counted as
        `extra_bytes`) are unanswered."""
        line = json.dumps(message, ensure_ascii=False).encode() + b"\n"
        size = len(line) + extra_bytes
        with self._cond:
            self._cond.wait_for(lambda: not self._pending or self._closed or self._failure is not None
                                or (len(self._pending) < WINDOW and self._bytes + size <= WINDOW_BYTES))
            self._check()
            self._pending.append((handler, size))
            self._bytes += size
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(line)
            self._proc.stdin.flush()
        except BrokenPipeError:
            with self._cond:
                self._cond.wait_for(lambda: self._closed, 10)
                self._check()
            raise

    def drain(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._pending or self._closed or self._failure is not None)
            if self._pending or self._failure is not None:
                self._check()

    def close(self) -> None:
        try:
            if self._proc.stdin is not None and not self._proc.stdin.closed:
                with contextlib.suppress(BrokenPipeError):
                    self._proc.stdin.close()
            try:
                self._proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._stderr_reader.join(timeout=5)  # its last lines (notices included) are read before we go on
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)


class LoaderPool:
    """Several loader processes (`--workers N`): Ruby is single-threaded, and while one process waits for
    the database another one computes. Each ticket goes to the process with the fewest unanswered ones;
    a ticket is still one transaction in one process, so exactly-once does not depend on the count."""

    def __init__(self, command: list[str], processes: int, portal_field: str) -> None:
        self.processes: list[LoaderProcess] = []
        # The portal id field's name (at boot, each loader lists the issues that already carry one) and
        # this run's name (a loader waits until loaders of other runs, e.g. a killed run's, are gone).
        args = (portal_field, uuid.uuid4().hex)
        try:
            for _ in range(max(1, processes)):  # all boot at once, while the snapshot is read
                self.processes.append(LoaderProcess(command, args))
        except BaseException:
            self.close()
            raise

    def wait_ready(self) -> None:
        for process in self.processes:
            process.wait_ready()

    def send(self, message: Json, handler: Callable[[Json], None], extra_bytes: int = 0) -> None:
        for process in self.processes:  # one process gone stops the run: a re-run resumes from the ledger
            process.check()
        min(self.processes, key=LoaderProcess.unanswered).send(message, handler, extra_bytes)

    def drain(self) -> None:
        for process in self.processes:
            process.drain()

    def close(self) -> None:
        for process in self.processes:
            process.close()


class Spool:
    """Attachments for the loader, copied out of the export in CHUNK pieces and checked on the way (size
    and sha256 of exactly the bytes copied); the loader gets the path and checks them again itself.

    The runner often is another account (sudo -u www-data): the directory can be traversed but not
    listed, and each file has an unguessable name; files go once their ticket is answered."""

    PREFIX = "helpdesk-spool-"

    def __init__(self, root: Path | None = None) -> None:
        root = Path(root or tempfile.gettempdir())
        self._remove_orphans(root)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.PREFIX}{os.getpid()}-", dir=root))
        os.chmod(self.dir, 0o711)

    @classmethod
    def _remove_orphans(cls, root: Path) -> None:
        """A killed run (SIGKILL) cannot remove its spool: the next run removes those whose process is gone."""
        for old in root.glob(f"{cls.PREFIX}*-*"):
            pid = old.name.removeprefix(cls.PREFIX).split("-", 1)[0]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                shutil.rmtree(old, ignore_errors=True)

    def copy(self, export: Export, att: Attachment) -> Path:
        path = self.dir / uuid.uuid4().hex
        digest, size = hashlib.sha256(), 0
        try:
            with export.open_attachment(att) as source, path.open("wb") as target:
                while size <= att.size and (chunk := source.read(CHUNK)):
                    digest.update(chunk)
                    size += len(chunk)
                    target.write(chunk)
        except (OSError, RuntimeError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
            path.unlink(missing_ok=True)
            raise read_refused(exc) from None
        if size != att.size or digest.hexdigest() != att.sha256:
            path.unlink(missing_ok=True)
            raise bytes_refused()
        os.chmod(path, 0o644)
        return path

    @staticmethod
    def remove(paths: list[Path]) -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class RailsLoader:
    """The engine's TicketLoader: plans a new ticket with the REST path's helpers, ledger on the answer."""

    def __init__(self, pool: LoaderPool) -> None:
        self.pool = pool
        self.existing: dict[str, int] = {}
        self._started = False
        self.spool = Spool()

    def submit(self, ticket: TicketMigration, project_id: int, tracker: str, priority: str, status: str) -> None:
        message, counts = self._plan(ticket, project_id, tracker, priority, status)
        if not self._started:
            self.pool.wait_ready()
            self._started = True
        files = [Path(a["path"]) for a in message["attachments"]]
        spooled = sum(int(a["size"]) for a in message["attachments"])

        def handle(answer: Json) -> None:
            try:
                self._apply(ticket, answer, counts)
            finally:
                self.spool.remove(files)

        self.pool.send(message, handle, extra_bytes=spooled)

    def finish(self) -> dict[str, int]:
        self.pool.drain()
        return self.existing

    def close(self) -> None:
        self.spool.close()

    # --- the plan ---------------------------------------------------------------------------------

    def _plan(self, tm: TicketMigration, project_id: int, tracker: str, priority: str,
              status: str) -> tuple[Json, dict[str, int]]:
        t, live = tm.t, tm.live
        api_user = int(live.users_by_login[live.admin_login.lower()]["id"])
        attachments: list[Json] = []

        def attach(files: tuple[Attachment, ...]) -> tuple[list[str], list[str]]:
            sound, lost = tm.sound_attachments(files)
            refs = []
            for att in sound:
                author, _ = tm.m.author_of(att.author_id)
                try:
                    path = self.spool.copy(tm.export, att)
                except AttachmentRefused as exc:
                    lost.append(tm.attachment_lost(att, exc.kind, str(exc)))
                    continue
                refs.append(f"a{len(attachments)}")
                attachments.append({"ref": refs[-1], "filename": attachment_filename(att.filename),
                                    "content_type": att.content_type,
                                    "author_id": author.redmine_id, "created_on": att.created_at.isoformat(),
                                    "path": str(path), "size": att.size, "sha256": att.sha256})
            return refs, lost

        _, lost = attach(t.attachments)
        author, fields = tm.issue_fields(project_id, tracker, priority, lost)
        assignee = tm.assignee()
        dates = issue_dates(t, tm._closed_portal_statuses())
        running = tm.m.default_status[tracker]  # a new issue starts there; the timeline moves it on
        issue: Json = {**fields, "author_id": author.redmine_id, "status_id": live.statuses[running],
                       "final_status_id": live.statuses[status],
                       "assigned_to_id": assignee.redmine_id if assignee else None,
                       "created_on": dates.created_on.isoformat(), "updated_on": dates.updated_on.isoformat(),
                       "closed_on": dates.closed_on.isoformat() if dates.closed_on else None}
        journals: list[Json] = []
        statuses_written = 0
        acts, final = tm.journal_acts(None, tracker, status, priority)  # what REST would write, in order
        for act in [*acts, *([final] if final is not None else [])]:
            if isinstance(act, CommentAct):
                comment = act.comment
                refs, lost = attach(comment.attachments)
                note, writer = tm.comment_note(comment, lost)
                journals.append({"marker": f"comment:{comment.id}", "notes": note, "private": comment.internal,
                                 "user_id": writer.redmine_id if writer else api_user,
                                 "created_on": comment.created_at.isoformat(), "attachments": refs, "details": []})
            elif isinstance(act, ComplaintAct):
                source = f"{t.id}-{act.index}"
                journals.append({"marker": f"complaint:{source}", "private": True, "user_id": api_user,
                                 "notes": tm.complaint_note(source, act.complaint.author_id, act.complaint.created_at,
                                                            act.complaint.text),
                                 "created_on": act.complaint.created_at.isoformat(), "attachments": [],
                                 "details": []})
            else:
                note, writer = tm.transition_note(act.step, act.kind)
                olds = {"status_id": act.old_status}
                journals.append({"marker": f"{act.kind}:{act.step.source}", "notes": note, "private": True,
                                 "user_id": writer.redmine_id if writer else api_user,
                                 "created_on": act.step.at.isoformat(), "attachments": [],
                                 "details": [[name, olds.get(name), value] for name, value in act.change.items()]})
                statuses_written += 1
        times: list[Json] = []
        activity = live.activities[tm.time_activity(tracker)] if t.time_entries else None
        for entry in t.time_entries:
            decided = tm.time_entry_write(entry)
            if decided is None:
                continue  # left out by the decision (reported there)
            times.append({"id": entry.id, "user_id": decided.person.redmine_id if decided.person else api_user,
                          "hours": str(entry.hours), "spent_on": entry.spent_on.isoformat(),
                          "activity_id": activity, "comments": decided.comments,
                          "custom_fields": {str(tm.time_portal_field()): decided.portal_id}})
        # Whose issue carrying the portal id counts as this ticket's: the REST path's rule (TicketMigration.run).
        authors = sorted(tm.m.tool_writers() | {author.redmine_id})
        message = {"ticket": t.id, "portal_field": live.custom_fields["portal_id"], "api_user_id": api_user,
                   "authors": authors, "issue": issue, "attachments": attachments, "journals": journals,
                   "time_entries": times}
        counts = {"attachment": len(attachments), "journal": len(t.comments), "complaint": len(t.complaints),
                  "time_entry": len(times), "status": statuses_written}
        return message, counts

    # --- the answer (on the loader's reader thread; ledger and tally are thread-safe) ----------------

    def _apply(self, tm: TicketMigration, answer: Json, counts: dict[str, int]) -> None:
        t, tally, ledger = tm.t, tm.m.tally, tm.m.ledger
        if answer.get("ticket") != t.id:
            raise LoaderError(f"the loader answered for {answer.get('ticket')!r} instead of {t.id!r}")
        if answer.get("error"):
            tm.m.ticket_failed(tm.source, f"loader: {answer.get('object', 'ticket')}: {answer['error']}")
            return
        issue_id = int(answer["issue"])
        if answer.get("existed"):
            self.existing[t.id] = issue_id  # completed by the REST path once the loader is done
            return
        tally.add("issue", "create")
        logged = len(answer.get("time_entries", {}))
        if counts["time_entry"] > logged:
            tally.add("time_entry", "fail", counts["time_entry"] - logged)
        counts = {**counts, "time_entry": logged}
        for kind, n in counts.items():
            if n:
                tally.add(kind, "create", n)  # type: ignore[arg-type]
        for note in answer.get("notes", []):
            tally.find(Finding(category=note["category"], file="tickets.jsonl", id=t.id, field=note.get("field"),
                               reason=note["reason"]))
        ledger.put("issue", t.id, issue_id)
        for marker, journal_id in answer.get("journals", {}).items():
            kind, _, source = marker.partition(":")
            if kind == "comment":
                ledger.put("journal", f"{t.id}:{source}", int(journal_id))
            elif kind == "complaint":
                ledger.put("complaint", source, None)
        for entry_id, time_id in answer.get("time_entries", {}).items():
            ledger.put("time_entry", entry_id, int(time_id))
        if not answer.get("incomplete"):
            ledger.mark_ticket_done(t.id, fingerprint(tm.source), issue_id)
