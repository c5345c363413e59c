"""The sweep engine: candidates → one detail GET each → actions; apply with re-checks.

Cost: each rule's candidates come from /issues.json filtered on the server (status,
updated_on/created_on, project, tracker); identical list queries are made once per run and
journals are fetched once per candidate issue, shared by all rules. So requests grow with
candidates, not with the size of the tracker.

Speed: Redmine 5.0 has no list of issues with their journals, so the detail GETs are the
sweep's time (~50 ms of server work each). With `workers` > 1 they, and the pages of long
lists, are read a few ahead on that many threads (through the same gateway) while rules still
judge the candidates one by one in list order, so the plan is the one a sequential run makes.

Safety: `run_sweep` holds an exclusive file lock for the whole plan+apply (an overlapping
cron run waits or gives up, it never plans from a stale view), `max_actions` aborts before
the first write, and every applied action goes to a JSONL audit log.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from helpdesk_core.catalog import Catalog
from helpdesk_core.clock import MOSCOW, Clock, SystemClock, utc_stamp
from helpdesk_core.errors import EXIT_ATTENTION, ConfigError, HelpdeskError, NotFoundError, RedmineError
from helpdesk_core.gateway import Gateway
from helpdesk_core.provision import MARKER_FIELD
from policies.actions import Action, Outcome, Plan
from policies.approval import vet_plan
from policies.config import Policies, ResolvedRule
from policies.context import Directory, RuleContext
from policies.issues import IssueView, Journal, Summary, has_marker
from policies.registry import Query, Rule
from policies.rules import registered_rules
from policies.text_audits import AuditConfig, load_audit_config

DETAIL_INCLUDE = "journals,attachments,watchers"
DEFAULT_WORKERS = 4  # the CLI's --workers: Redmine's Puma serves 2 workers x 5 threads here


class LockBusy(HelpdeskError):
    """Another sweep holds the lock: this run did nothing (cron will try again)."""

    exit_code = EXIT_ATTENTION
    hint = "another `helpdesk sweep` is running; it is safe to try again later"


class TooManyActions(HelpdeskError):
    """The plan would write more than --max-actions: nothing was written."""


def default_state_dir() -> Path:
    """Where the lock and the audit log live: $HELPDESK_STATE_DIR, else XDG state home."""
    explicit = os.environ.get("HELPDESK_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "helpdesk"


@contextlib.contextmanager
def sweep_lock(state_dir: Path, *, wait: float = 0.0, sleep: Callable[[float], None] = time.sleep,
               monotonic: Callable[[], float] = time.monotonic) -> Iterator[Path]:
    """An exclusive `flock` on state_dir/sweep.lock; released by the kernel even on a crash."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "sweep.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if monotonic() >= deadline:
                    raise LockBusy(f"lock {path} is held by another sweep") from None
                sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        os.close(fd)


@dataclass
class AuditLog:
    """Append-only JSONL: one line per applied action (time, rule, issue, action, outcome)."""

    path: Path
    clock: Clock = field(default_factory=SystemClock)

    def write(self, outcome: Outcome, *, evaluated_at: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"time": self.clock.now().isoformat(), "now": evaluated_at, **outcome.to_json()}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


@dataclass
class RedmineFacts:
    """Names ↔ ids Redmine assigned (statuses, trackers), read once per run."""

    status_ids: dict[str, int]
    status_names: dict[int, str]
    closed: frozenset[str]
    tracker_ids: dict[str, int]

    @classmethod
    def load(cls, reader: Any) -> RedmineFacts:
        catalog = Catalog.of(reader)
        statuses, trackers = catalog.items("statuses"), catalog.items("trackers")
        return cls(status_ids={s["name"]: int(s["id"]) for s in statuses},
                   status_names={int(s["id"]): s["name"] for s in statuses},
                   closed=frozenset(s["name"] for s in statuses if s.get("is_closed")),
                   tracker_ids={t["name"]: int(t["id"]) for t in trackers})

    def status_id(self, name: str, key: str = "settings.statuses") -> int:
        if name not in self.status_ids:
            raise ConfigError(f"status '{name}' does not exist in Redmine "
                              f"(known: {', '.join(self.status_ids)})", key=key)
        return self.status_ids[name]


def query_params(query: Query, rule: ResolvedRule, facts: RedmineFacts, now: datetime,
                 field_ids: Callable[[], dict[str, int]] | None = None) -> list[dict[str, str]]:
    """Redmine filters for one query: one parameter set per scoped project."""
    params: dict[str, str] = {}
    for name, value, key in query.fields:
        ids = field_ids() if field_ids is not None else {}
        if name not in ids:
            raise ConfigError(f"custom field '{name}' does not exist in Redmine (run `helpdesk provision`)", key=key)
        params[f"cf_{ids[name]}"] = value
    if query.statuses:
        params["status_id"] = "|".join(str(facts.status_id(s, f"rules.{rule.id}")) for s in query.statuses)
    else:
        params["status_id"] = query.status_id
    for name, before, after in (("updated_on", query.updated_before_days, query.updated_after_days),
                                ("created_on", query.created_before_days, query.created_after_days)):
        if before is not None and after is not None:
            params[name] = f"><{utc_stamp(now - timedelta(days=after))}|{utc_stamp(now - timedelta(days=before))}"
        elif before is not None:
            params[name] = f"<={utc_stamp(now - timedelta(days=before))}"
        elif after is not None:
            params[name] = f">={utc_stamp(now - timedelta(days=after))}"
    if rule.scope.trackers != "*":
        unknown = [t for t in rule.scope.trackers if t not in facts.tracker_ids]
        if unknown:
            raise ConfigError(f"unknown tracker '{unknown[0]}'", key=f"rules.{rule.id}.scope.trackers")
        params["tracker_id"] = "|".join(str(facts.tracker_ids[t]) for t in rule.scope.trackers)
    if rule.scope.projects == "*":
        return [params]
    return [{**params, "project_id": p, "subproject_id": "!*"} for p in rule.scope.projects]


@dataclass
class Sweeper:
    """One run's planning state: caches shared by every rule."""

    gateway: Any  # Gateway or a fake with get/iterate
    policies: Policies
    now: datetime
    audit: AuditConfig | None = None
    facts: RedmineFacts | None = None
    sweep_users: frozenset[int] = frozenset()
    _lists: dict[str, list[Summary]] = field(default_factory=dict)
    _field_ids: dict[str, int] | None = None
    _details: dict[int, IssueView | None] = field(default_factory=dict)
    candidates: set[int] = field(default_factory=set)
    progress: Callable[[int, int], None] | None = None  # (issues read in full, candidates so far)
    workers: int = 1  # detail GETs in flight at once (1: one by one, no threads)
    only_issues: frozenset[int] | None = None  # `sweep apply`: re-derive these issues only
    # one conversation per candidate, shared by all rules; None: a fresh one per plan(). A
    # caller that keeps it across runs must keep the IssueViews too (the key is the issue's
    # id, updated_on and journal count: tests/sim does, with its own memo of unchanged issues)
    conversations: dict[Any, Any] | None = None

    def _list(self, params: dict[str, str]) -> list[Summary]:
        key = json.dumps(params, sort_keys=True)
        if key not in self._lists:
            rows = self.gateway.iterate("/issues.json", "issues", params, workers=self.workers)
            self._lists[key] = [self._summary(row) for row in rows]
        return self._lists[key]

    def _summary(self, row: dict[str, Any]) -> Summary:
        """One list row as a summary; tests/sim's memo reuses an unchanged issue's."""
        return Summary.from_json(row)

    def _rows(self, params: dict[str, str], rule: ResolvedRule) -> list[Summary]:
        """The list for one query; Redmine's 404 for a scoped project is a configuration error
        naming the key (exit 2), not a failed request: the project does not exist (or the
        API user cannot see it), and no sweep of that rule can work until the file changes."""
        try:
            return self._list(params)
        except NotFoundError:
            project = params.get("project_id")
            if project is None or rule.scope.projects == "*":
                raise
            index = rule.scope.projects.index(project)
            raise self.policies.config_error(
                f"project '{project}' does not exist in Redmine (or the API user cannot see it)",
                key=f"rules.{rule.id}.scope.projects.{index}") from None

    def field_ids(self) -> dict[str, int]:
        """Issue custom field ids by name (/custom_fields.json, admin), read once, on first need."""
        if self._field_ids is None:
            rows = Catalog.of(self.gateway).items("custom_fields")
            self._field_ids = {str(f["name"]): int(f["id"]) for f in rows
                               if f.get("customized_type", "issue") == "issue"}
        return self._field_ids

    def _fetch(self, issue_id: int) -> IssueView | None:
        """One detail GET (any thread): the issue with journals; None if it vanished since the list."""
        assert self.facts is not None
        try:
            data = self.gateway.get(f"/issues/{issue_id}.json", {"include": DETAIL_INCLUDE})["issue"]
        except NotFoundError:
            return None
        return IssueView.from_json(data, self.facts.status_names, self.sweep_users)

    def detail(self, issue_id: int) -> IssueView | None:
        """The issue with journals, fetched once per run; None if it vanished since the list."""
        if issue_id not in self._details:
            self._details[issue_id] = self._fetch(issue_id)
        return self._details[issue_id]

    def _candidates(self, rule: Rule, ctx: RuleContext) -> Iterator[int]:
        """One rule's candidates in list order, each once: its queries' rows that `wants` keeps."""
        assert self.facts is not None
        seen: set[int] = set()
        for query in rule.queries(ctx):
            for params in query_params(query, ctx.rule, self.facts, self.now, self.field_ids):
                for summary in self._rows(params, ctx.rule):
                    if self.only_issues is not None and summary.id not in self.only_issues:
                        continue
                    if summary.id not in seen and rule.wants(ctx, summary):
                        seen.add(summary.id)
                        yield summary.id

    def _read(self, ids: Iterable[int], pool: ThreadPoolExecutor | None) -> Iterator[tuple[int, IssueView | None]]:
        """(id, detail) in the order of `ids`, each read once per run. With a pool, up to
        2 x workers reads are in flight ahead of the caller. Whatever stops `ids` (a list that
        fails, a `wants` that raises) is raised only after the candidates before it were handed
        out, and a failed read only when the caller reaches it: errors come in the order a
        one-by-one run meets them."""
        if pool is None:
            for issue_id in ids:
                yield issue_id, self.detail(issue_id)
            return
        source = iter(ids)
        ahead: deque[tuple[int, Future[IssueView | None] | None]] = deque()
        flying: dict[int, Future[IssueView | None]] = {}
        exhausted = False
        failure: Exception | None = None
        try:
            while True:
                while not exhausted and len(ahead) < 2 * self.workers:
                    try:
                        issue_id = next(source)
                    except StopIteration:
                        exhausted = True
                    except Exception as exc:  # re-raised below, in its turn
                        exhausted, failure = True, exc
                    else:
                        if issue_id not in self._details and issue_id not in flying:
                            flying[issue_id] = pool.submit(self._fetch, issue_id)
                        ahead.append((issue_id, flying.get(issue_id)))
                if not ahead:
                    break
                issue_id, future = ahead.popleft()
                if future is not None and issue_id not in self._details:
                    self._details[issue_id] = future.result()
                flying.pop(issue_id, None)
                yield issue_id, self._details[issue_id]
        finally:
            for future in flying.values():
                future.cancel()
        if failure is not None:
            raise failure

    def plan(self, only: Sequence[str] | None = None) -> list[Action]:
        registry = registered_rules()
        if only:
            unknown = [r for r in only if r not in registry]
            if unknown:
                raise ConfigError(f"unknown rule '{unknown[0]}'; known: {', '.join(registry)}", key="--only")
        self.facts = self.facts or RedmineFacts.load(self.gateway)
        directory = Directory(self.gateway, self.policies.settings)
        directory.check_act_as()
        self.sweep_users = directory.sweep_users()
        selected = [r for r in self.policies.rules if not only or r in only]
        if any(r in SLA_RULES for r in selected):
            check_sla_budgets(self.gateway, self.policies)
        actions: list[Action] = []
        conversations: dict[Any, Any] = {} if self.conversations is None else self.conversations
        with contextlib.ExitStack() as stack:
            pool = None
            if self.workers > 1:
                pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sweep-read")
                stack.callback(pool.shutdown, cancel_futures=True)
            for rule_id in selected:
                resolved = self.policies.rules[rule_id]
                rule = registry[rule_id]()
                ctx = RuleContext(now=self.now, rule=resolved, settings=self.policies.settings,
                                  directory=directory, audit=self.audit, closed_statuses=self.facts.closed,
                                  peers=self.policies.rules, conversations=conversations)
                for issue_id, issue in self._read(self._candidates(rule, ctx), pool):
                    self.candidates.add(issue_id)
                    if self.progress is not None:
                        self.progress(len(self._details), len(self.candidates))
                    if issue is not None:
                        actions.extend(rule.evaluate(ctx, issue))
        return self._hold_closes(actions)

    def _hold_closes(self, actions: list[Action]) -> list[Action]:
        """At most one close per issue, never in the run that reminds, never within
        `settings.close_after_reminder_days` of a reminder (regulation: close 5 days after
        the reminder): such a close becomes a `flag` that says why it waits."""
        registry = registered_rules()
        reminding = [r for r in registry if registry[r].reminds]
        gap = timedelta(days=self.policies.settings.close_after_reminder_days)
        reminded_now = {a.issue for a in actions if a.rule in reminding and a.writes}
        closing: set[int] = set()
        out: list[Action] = []
        for action in actions:
            if action.action == "close":
                why = None
                issue = self._details.get(action.issue)
                last = max((j.created_on for r in reminding for j, _ in issue.markers_of(r)),
                           default=None) if issue is not None else None
                if action.issue in reminded_now:
                    why = "a reminder is planned in this run"
                elif last is not None and self.now - last < gap:
                    why = (f"the reminder of {last.astimezone(MOSCOW).isoformat(timespec='minutes')} is "
                           f"younger than {gap.total_seconds() / 86400:g} d")
                elif action.issue in closing:
                    why = "another rule closes it in this run"
                if why is not None:
                    action = replace(action, action="flag", marker=None, notes=None, status=None,
                                     reason=f"{action.reason}; close held: {why}")
                else:
                    closing.add(action.issue)
            out.append(action)
        return out


SLA_RULES = ("sla-reaction", "sla-analysis")


def check_sla_budgets(reader: Any, policies: Policies) -> None:
    """Every active priority Redmine offers gets a budget on both clocks (its own or the declared
    `*_fallback`); otherwise a configuration error naming the key (exit 2), before any
    write: an issue of that priority must never be silently unmeasured."""
    rows = Catalog.of(reader).items("priorities")
    sla = policies.settings.sla
    for clock in ("reaction", "analysis"):
        for name in (str(r["name"]) for r in rows if r.get("active", True)):  # issues keep inactive ones:
            # an issue with one reaches the rule, which raises the same error naming the issue
            try:
                sla.target(clock, name)
            except ValueError:
                key = f"settings.sla.{clock}"
                raise policies.config_error(
                    f"priority '{name}' has no {clock} budget: add {key}.{name} or "
                    f"settings.sla.{clock}_fallback", key=key) from None


def plan_sweep(gateway: Any, policies: Policies, now: datetime, *, only: Sequence[str] | None = None,
               audit: AuditConfig | None = None, progress: Callable[[int, int], None] | None = None,
               workers: int = 1, sweeper_class: Callable[..., Sweeper] = Sweeper) -> Plan:
    """What every enabled rule would do at `now`; reads only (`workers` detail GETs at once).
    `sweeper_class`: the planning state (the simulated year passes one that remembers
    unchanged issues across its cron runs)."""
    before = gateway.stats.total if hasattr(gateway, "stats") else 0
    sweeper = sweeper_class(gateway, policies, now, audit=audit if audit is not None else load_audit_config(),
                      progress=progress, workers=workers)
    actions = sweeper.plan(only)
    spent = (gateway.stats.total - before) if hasattr(gateway, "stats") else 0
    rules = tuple(r for r in policies.rules if not only or r in only)
    return Plan(now=now.isoformat(), actions=tuple(actions), requests=spent,
                candidates=len(sweeper.candidates), rules=rules)


# --- apply ---------------------------------------------------------------------------------

def _has_marker(issue: dict[str, Any], tag: str, sweep_users: frozenset[int]) -> bool:
    """The sweep's act `tag` is on the issue: the very test planning makes (issues.has_marker)."""
    return has_marker((Journal.from_json(j, sweep_users) for j in issue.get("journals", [])), tag)


def marker_field_id(reader: Any) -> int:
    """The id of the support-only custom field the sweep's markers travel in; a configuration
    error (exit 2, before any write) when `helpdesk provision` has not created it."""
    found = Catalog.of(reader).ids("custom_fields").get(MARKER_FIELD)
    if found is None:
        raise ConfigError(f"custom field '{MARKER_FIELD}' does not exist in Redmine: run `helpdesk provision` "
                          "(the sweep's fire-once markers travel in it, out of what clients read)",
                          key="settings")
    return found


def _marker_field_missing(issue: dict[str, Any], field_id: int) -> bool:
    """The marker field is not enabled on this issue: Redmine would drop the value silently
    and the act would not be fire-once, so it is not written."""
    return not any(int(f.get("id", 0)) == field_id for f in issue.get("custom_fields", []))


def _write(gateway: Gateway, action: Action, facts: RedmineFacts, as_user: str | None,
           sweep_users: frozenset[int], field_id: int | None = None) -> None:
    """One PUT is one journal: the note (clean text), the status and, when the act is
    fire-once, its marker as the value of the support-only field `MARKER_FIELD`."""
    path = f"/issues/{action.issue}.json"

    def recover() -> dict[str, Any] | None:
        """After an ambiguous failure: if the marker is in Redmine the write happened."""
        if action.marker is None:
            return None
        data = gateway.get(path, {"include": "journals"})["issue"]
        return {} if _has_marker(data, action.marker, sweep_users) else None

    if action.action == "watch":
        for user in action.users:
            gateway.post(f"/issues/{action.issue}/watchers.json", {"user_id": user}, as_user=as_user)
        return
    issue: dict[str, Any] = {}
    if action.action == "assign":
        issue["assigned_to_id"] = action.users[0]
    if action.notes:
        issue["notes"] = action.notes
        if action.private:
            issue["private_notes"] = True
    if action.status:
        issue["status_id"] = facts.status_id(action.status)
    fields = [{"id": int(k), "value": v} for k, v in action.fields.items()]
    if action.marker:
        assert field_id is not None
        fields.append({"id": field_id, "value": action.marker})
    if fields:
        issue["custom_fields"] = fields
    gateway.put(path, {"issue": issue}, as_user=as_user, recover=recover)


def apply_plan(gateway: Gateway, plan: Plan, policies: Policies, *, log: AuditLog | None = None,
               facts: RedmineFacts | None = None) -> list[Outcome]:
    """Apply exactly `plan`: per issue, re-read it; a changed issue is skipped, a marker that
    is already there means done. Writes that carry a marker go last so a failure before
    them leaves the issue to be retried by the next run."""
    facts = facts or RedmineFacts.load(gateway)
    as_user = policies.settings.act_as
    sweep_users = Directory(gateway, policies.settings).sweep_users() if any(
        a.writes for a in plan.actions) else frozenset()
    field_id = marker_field_id(gateway) if any(a.writes and a.marker for a in plan.actions) else None
    by_issue: dict[int, list[Action]] = {}
    for action in plan.actions:
        by_issue.setdefault(action.issue, []).append(action)
    outcomes: list[Outcome] = []

    def record(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if log is not None:
            log.write(outcome, evaluated_at=plan.now)

    for issue_id, actions in by_issue.items():
        actions.sort(key=lambda a: a.marker is not None)
        writing = [a for a in actions if a.writes]
        for action in actions:
            if not action.writes:
                record(Outcome(action, "ok", "reported only"))
        if not writing:
            continue
        try:
            current = gateway.get(f"/issues/{issue_id}.json", {"include": "journals"})["issue"]
        except RedmineError as exc:
            for action in writing:
                record(Outcome(action, "error", str(exc)))
            continue
        changed = current.get("updated_on") != writing[0].expect_updated_on
        status_now = (current.get("status") or {}).get("name", "")
        for action in writing:
            if action.marker and _has_marker(current, action.marker, sweep_users):
                record(Outcome(action, "skipped", "already done (marker present)"))
            elif changed:
                record(Outcome(action, "skipped", f"stale: issue changed since the plan "
                               f"(updated_on {action.expect_updated_on} → {current.get('updated_on')})"))
            elif action.expect_status and status_now != action.expect_status:
                # updated_on has a one-second grain: a status set within that second is caught here.
                record(Outcome(action, "skipped", f"stale: status changed since the plan "
                               f"({action.expect_status} → {status_now})"))
            elif action.marker and field_id is not None and _marker_field_missing(current, field_id):
                record(Outcome(action, "error", f"custom field '{MARKER_FIELD}' is not enabled on this issue "
                               "(its tracker or project): run `helpdesk provision`; nothing written"))
            else:
                try:
                    _write(gateway, action, facts, as_user, sweep_users, field_id)
                except RedmineError as exc:
                    record(Outcome(action, "error", str(exc)))
                    break  # later actions of this issue depend on this one
                record(Outcome(action, "ok", "done"))
    return outcomes


def count_writes(plan: Plan) -> int:
    return sum(1 for a in plan.actions if a.writes)


def _check_max_actions(plan: Plan, max_actions: int | None) -> None:
    """--max-actions: refuse the whole plan before its first write, never stop half-way."""
    writes = count_writes(plan)
    if max_actions is not None and writes > max_actions:
        raise TooManyActions(f"the plan has {writes} writing actions, more than --max-actions "
                             f"{max_actions}; nothing was written")


@dataclass(frozen=True)
class RunResult:
    plan: Plan
    outcomes: tuple[Outcome, ...]


def run_sweep(gateway: Gateway, policies: Policies, clock: Clock, *, state_dir: Path,
              only: Sequence[str] | None = None, max_actions: int | None = None, dry_run: bool = False,
              lock_wait: float = 0.0, audit: AuditConfig | None = None,
              log_clock: Clock | None = None, progress: Callable[[int, int], None] | None = None,
              workers: int = 1) -> RunResult:
    """Plan and apply under the lock (cron's entry point). The plan is made inside the lock,
    so a run that waited sees what the previous one wrote."""
    with sweep_lock(state_dir, wait=lock_wait):
        plan = plan_sweep(gateway, policies, clock.now(), only=only, audit=audit, progress=progress,
                          workers=workers)
        if dry_run:
            return RunResult(plan, ())
        _check_max_actions(plan, max_actions)
        log = AuditLog(state_dir / "audit.jsonl", log_clock or SystemClock())
        outcomes = apply_plan(gateway, plan, policies, log=log)
        return RunResult(plan, tuple(outcomes))


def apply_saved_plan(gateway: Gateway, plan: Plan, policies: Policies, *, state_dir: Path,
                     max_actions: int | None = None, lock_wait: float = 0.0,
                     log_clock: Clock | None = None, audit: AuditConfig | None = None,
                     now: datetime | None = None) -> list[Outcome]:
    """`sweep apply plan.json`: the file approves, the rules decide (policies/approval.py).
    Under the lock, the file's issues are planned again at `now` (the plan's moment, checked
    by the caller) with the file's rules; only writes both agree on are applied, with the
    same re-checks and log as `sweep run`; the rest is refused or stale, and logged too."""
    moment = now if now is not None else datetime.fromisoformat(plan.now)
    with sweep_lock(state_dir, wait=lock_wait):
        _check_max_actions(plan, max_actions)
        sweeper = Sweeper(gateway, policies, moment, audit=audit if audit is not None else load_audit_config())

        def derive(rules: list[str], issues: frozenset[int]) -> list[Action]:
            sweeper.only_issues = issues
            return sweeper.plan(rules)

        def updated_on(issue_id: int) -> str | None:
            view = sweeper.detail(issue_id)  # read during derive() when it was a candidate
            return view.summary.raw_updated_on if view is not None else None

        vetted = vet_plan(plan, policies, moment, derive, updated_on)
        log = AuditLog(state_dir / "audit.jsonl", log_clock or SystemClock())
        for outcome in vetted.outcomes:
            log.write(outcome, evaluated_at=vetted.approved.now)
        applied = apply_plan(gateway, vetted.approved, policies, log=log, facts=sweeper.facts)
        return [*vetted.outcomes, *applied]
