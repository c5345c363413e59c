"""A seeded year of support life: clients and support act, cron runs the real sweeps.

Tickets are independent, so the year is cut into shards (tickets grouped by the week their
life starts); each shard has its own in-memory Redmine and runs `policies.engine.plan_sweep`
+ `apply_plan` (what `run_sweep` does, without the file lock and the JSONL log) every 15
simulated minutes from its first ticket to the last ticket's end. Every act of a person and
every action the sweeps applied is recorded per ticket (a Jepsen-style history), and at each
cron run the checker asks the oracle (tests/sim/oracle.py, which knows nothing of the rules)
whether each action taken was allowed and whether each required action was taken.

Seeds: each ticket's behaviour comes from its own `random.Random((seed, ticket))`, so a
ticket does the same things whichever shard or process runs it.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from policies.actions import Action
from policies.config import Policies, load_policies
from policies.engine import apply_plan, plan_sweep
from policies.text_audits import AuditConfig, load_audit_config
from tests.sim import oracle as o
from tests.sim.fake import CLIENT, SUPPORT, SimRedmine
from tests.sim.memo import Memo, MemoSweeper

TICK = timedelta(minutes=15)
PRIORITIES = [("Блокер", 0.03), ("Критический", 0.07), ("Высокий", 0.2), ("Средний", 0.45), ("Низкий", 0.25)]
TRACKERS = ["Баг", "Задача", "Обсуждение"]
CRITICAL = ("Блокер", "Критический")


# --- what people do ----------------------------------------------------------------------

@dataclass
class Move:
    at: datetime
    who: str                       # client | support
    kind: str                      # comment | file | private | press | status-only
    status: str | None = None
    label: str = ""


@dataclass
class Sim:
    """One ticket: its oracle history, its persona and its random stream."""

    id: int
    created: datetime
    priority: str
    rng: random.Random
    acts: list[o.Act] = field(default_factory=list)
    told: bool = False             # support has told the client the next steps
    answers_left: int = 0          # how many more times the client answers a question
    verdict: str = ""              # what the client says to a resolution: ok | object | silent
    long: bool = False             # a ticket that lives a year (pre-history before the shard)
    done: bool = False
    after_close_said: bool = False
    pressed: int = 0
    long_ask: datetime | None = None   # a long ticket: when support asks whether it still matters
    pending: Move | None = None        # the one move this ticket's people have planned

    def status(self) -> str:
        current = o.NEW
        for act in self.acts:
            if act.status is not None:
                current = act.status
        return current

    def last_public(self) -> o.Act | None:
        return next((a for a in reversed(self.acts) if a.public), None)

    def ticket(self) -> o.Ticket:
        return o.Ticket(created=self.created, priority=self.priority, acts=tuple(self.acts))


def _off_tick(moment: datetime, rng: random.Random) -> datetime:
    """People never act exactly at a cron instant (order at equal times would be a guess)."""
    moment = moment.replace(microsecond=0) + timedelta(seconds=rng.randint(1, 59))
    return moment if moment.second else moment + timedelta(seconds=7)


def _support_delay(sim: Sim, start: datetime, minutes: float) -> datetime:
    """Support acts `minutes` of its time after `start`: working hours, or 24/7 for the critical."""
    if sim.priority in CRITICAL:
        return _off_tick(start + timedelta(minutes=minutes), sim.rng)
    return _off_tick(o.add_working(start, timedelta(minutes=minutes)), sim.rng)


def _days(sim: Sim, start: datetime, low: float, high: float) -> datetime:
    return _off_tick(start + timedelta(days=sim.rng.uniform(low, high)), sim.rng)


def next_move(sim: Sim, now: datetime) -> Move | None:
    """What a person does next on this ticket, given its history (re-decided after every act)."""
    rng, status, last = sim.rng, sim.status(), sim.last_public()
    if sim.done:
        return None
    if status == o.NEW:
        roll = rng.random()
        if sim.priority in CRITICAL:
            minutes = rng.uniform(1, 14) if roll < 0.85 else rng.uniform(16, 120)
        else:
            minutes = rng.uniform(3, 58) if roll < 0.85 else rng.uniform(62, 9 * 60 * 3)
        if rng.random() < 0.03:
            return Move(_support_delay(sim, sim.created, minutes), "support", "comment", o.REJECTED, "reject")
        if rng.random() < 0.05:  # the client adds a screenshot before support reacts
            return Move(_days(sim, now, 0, 0.02), "client", "file", None, "adds a file")
        return Move(_support_delay(sim, sim.created, minutes), "support", "status-only", o.IN_WORK, "accept")
    if status in o.CLOSED_STATUSES:
        if not sim.after_close_said and rng.random() < 0.06:
            sim.after_close_said = True
            return Move(_days(sim, now, 0.1, 20), "client", rng.choice(["comment", "file"]), None, "after close")
        sim.done = True
        return None
    if sim.pressed < 2 and rng.random() < 0.06 and status in (o.IN_WORK, o.NEW):
        sim.pressed += 1
        return Move(_days(sim, now, 0.05, 2), "client", "press", None, "complains")
    if status == o.IN_WORK:
        if rng.random() < 0.08:  # support's private note: the client sees nothing, no clock moves
            return Move(_support_delay(sim, now, rng.uniform(5, 300)), "support", "private", None, "private note")
        if rng.random() < 0.05 and (last is None or last.who != "client"):  # «any news?»
            return Move(_days(sim, now, 0.1, 3), "client", "comment", None, "asks for news")
        if last is not None and last.who == "client" and sim.verdict == "ok-said":
            return Move(_support_delay(sim, now, rng.uniform(10, 600)), "support", "comment", o.CLOSED, "close on ok")
        if not sim.told:
            budget = {"Высокий": 1, "Средний": 3, "Низкий": 5}.get(sim.priority, 0.2)
            share = rng.uniform(0.05, 0.95) if rng.random() < 0.9 else rng.uniform(1.02, 1.6)
            at = _support_delay(sim, now, budget * share * 24 * 60 / 3) if sim.priority not in CRITICAL else \
                _off_tick(now + timedelta(hours=rng.uniform(0.2, 6)), rng)
            return _work_move(sim, at, first=True)
        if sim.long_ask is not None:
            ask, sim.long_ask = sim.long_ask, None
            return Move(ask, "support", "comment", o.FEEDBACK, "asks")
        return _work_move(sim, _support_delay(sim, now, rng.uniform(60, 9 * 60 * 4)), first=False)
    if status == o.FEEDBACK:
        if last is not None and last.who == "client":
            # the client answered: support reads it (the tool should have resumed already)
            return Move(_support_delay(sim, now, rng.uniform(30, 9 * 60 * 2)), "support", "status-only",
                        o.IN_WORK, "support resumes")
        if last is not None and last.who == "tool" and last.rule == o.REMIND and rng.random() < 0.25:
            return Move(_days(sim, now, 0.1, 4.5), "support", "comment", None, "asks again")
        if sim.answers_left > 0:
            roll = rng.random()
            at = _days(sim, now, 0.01, 3) if roll < 0.6 else _days(sim, now, 3, 9.9) if roll < 0.9 else \
                _days(sim, now, 10, 25)
            sim.answers_left -= 1
            return Move(at, "client", "file" if rng.random() < 0.3 else "comment", None, "answers")
        return None  # the client never answers
    if status == o.VERIFY:
        if last is not None and last.who == "client":
            return Move(_support_delay(sim, now, rng.uniform(30, 9 * 60 * 2)), "support", "status-only",
                        o.IN_WORK, "support resumes")
        if sim.verdict in ("ok", "object"):
            kind = "comment" if sim.verdict == "ok" else rng.choice(["comment", "file"])
            roll = rng.random()
            at = _days(sim, now, 0.01, 4.9) if roll < 0.85 else _days(sim, now, 5.1, 12)
            sim.verdict = "ok-said" if sim.verdict == "ok" else "objected"
            return Move(at, "client", kind, None, "answers the resolution")
        return None
    return None


def _work_move(sim: Sim, at: datetime, *, first: bool) -> Move:
    """Support, on an issue in work: ask, resolve, or tell the next steps."""
    roll = sim.rng.random()
    sim.told = True
    if roll < 0.35:
        sim.answers_left = sim.rng.choice([0, 1, 1, 1, 2]) if sim.answers_left == 0 else sim.answers_left
        return Move(at, "support", "comment", o.FEEDBACK, "asks")
    if roll < 0.7 or not first:
        sim.verdict = sim.rng.choice(["ok", "ok", "object", "silent", "silent"])
        return Move(at, "support", "comment", o.VERIFY, "resolves")
    return Move(at, "support", "comment", None, "tells the next steps")


# --- the shard ---------------------------------------------------------------------------

@dataclass
class Tally:
    """Per rule: actions taken, due (required episodes), wrong, missed, local, clock diffs."""

    actions: Counter[str] = field(default_factory=Counter)
    due: Counter[str] = field(default_factory=Counter)
    wrong: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)
    local: Counter[str] = field(default_factory=Counter)
    clocks: dict[str, set[int]] = field(default_factory=dict)
    not_judged: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)
    ticks: int = 0
    tickets: int = 0
    human_acts: int = 0
    cpu_s: float = 0.0             # CPU of the shard processes (the sweeps, the fake, the oracle)

    def merge(self, other: Tally) -> None:
        for name in ("actions", "due", "wrong", "missed", "local", "not_judged"):
            getattr(self, name).update(getattr(other, name))
        for rule, ids in other.clocks.items():
            self.clocks.setdefault(rule, set()).update(ids)
        self.examples += other.examples[: max(0, 40 - len(self.examples))]
        self.ticks += other.ticks
        self.cpu_s += other.cpu_s
        self.tickets += other.tickets
        self.human_acts += other.human_acts


def _act_of(action: Action, at: datetime) -> o.Act:
    public = bool(action.notes) and not action.private and action.action in ("comment", "close", "set-status")
    return o.Act(at=at, who="tool", public=public, status=action.status, private=not public,
                 rule=action.rule, sla=action.sla)


@dataclass
class Shard:
    seed: int
    sims: list[Sim]
    end: datetime
    policies: Policies
    audit: AuditConfig | None = None   # the bundled audit_rules.yaml, read once (plan_sweep reads it per run)
    fake: SimRedmine = field(init=False)
    tally: Tally = field(default_factory=Tally)
    _redmine_id: dict[int, int] = field(default_factory=dict)
    _index_of: dict[int, int] = field(default_factory=dict)      # Redmine id → index in sims
    _seen: dict[int, tuple[int, datetime | None, frozenset[object]]] = field(default_factory=dict)
    # tickets the checker must judge at the next run: new, or with acts since their last check
    _stale: set[int] = field(default_factory=set)
    _wakes: list[tuple[datetime, int]] = field(default_factory=list)  # (oracle's next change, index)
    _last_act: datetime | None = None
    memo: Memo = field(default_factory=Memo)
    _missed_keys: set[tuple[int, str, object]] = field(default_factory=set)
    _due_keys: set[tuple[int, str, object]] = field(default_factory=set)

    def run(self, on_tick: Callable[[datetime], None] | None = None) -> Tally:
        starts = {s.id: _start(s) for s in self.sims}
        first = min(starts.values())
        self.fake = SimRedmine(first)
        self._queue: list[tuple[datetime, int, int]] = []
        pending = sorted(range(len(self.sims)), key=lambda i: starts[self.sims[i].id])
        created = 0
        tick = first.replace(minute=first.minute - first.minute % 15, second=0, microsecond=0) + TICK
        self.tally.tickets = len(self.sims)
        while tick <= self.end:
            while created < len(pending) and starts[self.sims[pending[created]].id] < tick:
                index = pending[created]
                self._create(self.sims[index])
                self._plan(index, starts[self.sims[index].id])
                created += 1
            while self._queue and self._queue[0][0] < tick:
                at, _, index = heapq.heappop(self._queue)
                sim = self.sims[index]
                move, sim.pending = sim.pending, None
                if move is not None and move.at == at:
                    self._perform(sim, move)
                self._plan(index, at)
            for index in self._sweep(tick):
                self._plan(index, tick)
            self.tally.ticks += 1
            if on_tick is not None:
                on_tick(tick)
            if created == len(pending) and not self._queue and self._quiet(tick):
                break
            tick += TICK
        return self.tally

    def _plan(self, index: int, now: datetime) -> None:
        """Ask the ticket's people for their next move, unless one is already planned."""
        sim = self.sims[index]
        if sim.pending is not None:
            return
        move = next_move(sim, now)
        if move is not None:
            if move.at <= now:  # a delay counted from an earlier moment: act now
                move.at = _off_tick(now, sim.rng)
            sim.pending = move
            self._order = getattr(self, "_order", 0) + 1
            heapq.heappush(self._queue, (move.at, self._order, index))

    def _quiet(self, tick: datetime) -> bool:
        """Nothing left for people or sweeps: no move planned, every ticket closed for a month
        (the sweeps' longest look-back), no oracle verdict about to change."""
        return self._last_act is not None and tick - self._last_act > timedelta(days=31) and \
            all(s.status() in o.CLOSED_STATUSES for s in self.sims) and \
            all(seen[1] is None or seen[1] <= tick for seen in self._seen.values())

    # --- people ---------------------------------------------------------------------------
    def _create(self, sim: Sim) -> None:
        rid = self.fake.add_issue(created=sim.created, priority=sim.priority,
                                  tracker=TRACKERS[sim.id % 3], subject=f"Обращение {sim.id}",
                                  description="Заказ 12345, пользователь agent1, https://example.test/x")
        self._redmine_id[sim.id] = rid
        self._index_of[rid] = index = self.sims.index(sim)
        self._stale.add(index)
        for act in sim.acts:  # a long ticket's pre-history
            self._write(rid, act)
            self._acted(act)

    def add(self, sim: Sim, act: o.Act) -> None:
        """A person's act: into the ticket's history and into Redmine."""
        sim.acts.append(act)
        self._write(self._redmine_id[sim.id], act)
        self._stale.add(self._index_of[self._redmine_id[sim.id]])
        self._acted(act)

    def _acted(self, act: o.Act) -> None:
        if self._last_act is None or act.at > self._last_act:
            self._last_act = act.at

    def _write(self, rid: int, act: o.Act) -> None:
        user = CLIENT if act.who == "client" else SUPPORT
        if act.press:
            self.fake.press(rid, act.at, user=user)
        elif act.file:
            self.fake.attach(rid, act.at, user=user)
        else:
            text = "Комментарий" if act.public else ("Внутренняя заметка" if act.private else "")
            self.fake.journal(rid, act.at, user=user, notes=text, private=act.private, status=act.status)

    def _perform(self, sim: Sim, move: Move) -> None:
        """Apply a person's move if it still makes sense (the tool may have changed the issue
        since it was planned); a move that no longer fits is dropped and the next one asked."""
        status = sim.status()
        fits = {"accept": status == o.NEW, "reject": status == o.NEW,
                "support resumes": status in (o.FEEDBACK, o.VERIFY),
                "asks again": status == o.FEEDBACK,
                "answers": status == o.FEEDBACK or status in o.CLOSED_STATUSES,
                "answers the resolution": status == o.VERIFY or status in o.CLOSED_STATUSES,
                "after close": status in o.CLOSED_STATUSES}.get(move.label, status not in o.CLOSED_STATUSES)
        if move.who == "support" and status in o.CLOSED_STATUSES:
            fits = False
        if not fits:
            return
        act = o.Act(at=move.at, who=move.who, public=move.kind in ("comment", "file"),  # type: ignore[arg-type]
                    status=move.status, private=move.kind == "private", press=move.kind == "press",
                    file=move.kind == "file")
        self.add(sim, act)
        self.tally.human_acts += 1

    # --- the sweeps and the checker -------------------------------------------------------
    def _sweep(self, tick: datetime) -> list[int]:
        self.fake.now = tick
        if self.audit is None:
            self.audit = load_audit_config()
        plan = plan_sweep(self.fake, self.policies, tick, audit=self.audit,
                          sweeper_class=partial(MemoSweeper, memo=self.memo))
        outcomes = apply_plan(self.fake, plan, self.policies)
        by_rid = self._index_of
        taken: dict[int, list[Action]] = {}
        for outcome in outcomes:
            if outcome.outcome == "ok" and outcome.action.writes:
                taken.setdefault(by_rid[outcome.action.issue], []).append(outcome.action)
        reports: dict[int, list[Action]] = {}
        for action in plan.actions:
            if action.rule in (o.REACTION, o.ANALYSIS):
                reports.setdefault(by_rid[action.issue], []).append(action)
        # judged: a ticket that is new or has new acts, whose oracle verdict changes by now,
        # or that the sweeps acted on or reported (in index order, as a scan of all would)
        while self._wakes and self._wakes[0][0] <= tick:
            moment, index = heapq.heappop(self._wakes)
            if self._seen[index][1] == moment:
                self._stale.add(index)
        for index in sorted(self._stale | taken.keys() | reports.keys()):
            self._check(index, self.sims[index], tick, taken.get(index, []), reports.get(index, []))
        self._stale.clear()
        for index, actions in taken.items():
            for action in actions:
                act = _act_of(action, tick)
                self.sims[index].acts.append(act)
                self._acted(act)
            self._stale.add(index)
        return list(taken)

    def _check(self, index: int, sim: Sim, tick: datetime, taken: list[Action], reports: list[Action]) -> None:
        verdicts = o.verdicts(sim.ticket(), tick)
        self._seen[index] = (len(sim.acts), verdicts.next_change, frozenset())
        if verdicts.next_change is not None:
            heapq.heappush(self._wakes, (verdicts.next_change, index))
        t = self.tally
        closed_now = any(a.status in o.CLOSED_STATUSES for a in taken)
        for action in taken:
            rule = action.rule
            t.actions[rule] += 1
            due = verdicts.dues.get(rule)
            if due is None:
                t.not_judged[rule] += 1
                continue
            if due.local:
                t.local[rule] += 1
                continue
            wrong = not due.allowed or (action.sla == "breached" and not due.breach_allowed)
            if wrong:
                t.wrong[rule] += 1
                self._example("wrong", sim, tick, rule, action)
        for action in reports:
            due = verdicts.dues.get(action.rule)
            if due is not None and due.deadline is not None and not due.local and action.deadline:
                theirs = datetime.fromisoformat(action.deadline)
                if abs((theirs - due.deadline).total_seconds()) > 60:
                    if sim.id not in t.clocks.setdefault(action.rule, set()):
                        self._example("clock", sim, tick, action.rule, action, oracle=due.deadline.isoformat())
                    t.clocks[action.rule].add(sim.id)
        acted = {a.rule for a in taken}
        for rule, due in verdicts.dues.items():
            if not due.required:
                continue
            key = (sim.id, rule, due.key)
            if key not in self._due_keys:
                self._due_keys.add(key)
                t.due[rule] += 1
            done = rule in acted or (rule in o.CLOSE_RULES and closed_now)
            if not done and key not in self._missed_keys:
                self._missed_keys.add(key)
                t.missed[rule] += 1
                self._example("missed", sim, tick, rule, None)

    def _example(self, kind: str, sim: Sim, tick: datetime, rule: str, action: Action | None, **extra: str) -> None:
        if sum(1 for e in self.tally.examples if e["rule"] == rule and e["kind"] == kind) >= 3:
            return
        self.tally.examples.append({
            "kind": kind, "rule": rule, "ticket": sim.id, "priority": sim.priority, "at": tick.isoformat(),
            "action": None if action is None else {"action": action.action, "status": action.status,
                                                   "sla": action.sla, "deadline": action.deadline,
                                                   "reason": action.reason},
            "history": [(a.at.astimezone(o.MOSCOW).isoformat(timespec="seconds"), a.who,
                         "file" if a.file else "public" if a.public else "private" if a.private else
                         "press" if a.press else "",
                         a.status or "", a.rule or "", a.sla or "") for a in sim.acts if a.at < tick],
            **extra})


# --- the world ---------------------------------------------------------------------------

def make_tickets(seed: int, count: int, start: datetime, days: float, long_share: float = 0.01) -> list[Sim]:
    """`count` tickets created over `days` from `start`: priorities by the weights above, at
    any hour (more in the day); `long_share` of them live a year (see make_long)."""
    world = random.Random(seed)
    sims: list[Sim] = []
    for ticket in range(1, count + 1):
        rng = random.Random(f"{seed}-{ticket}")
        day = start + timedelta(days=world.uniform(0, days))
        hour = rng.choice([rng.uniform(0, 24), rng.uniform(9, 19), rng.uniform(9, 19)])
        created = _off_tick(day.replace(hour=0, minute=0, second=0) + timedelta(hours=hour), rng)
        priority = rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]
        sim = Sim(id=ticket, created=created, priority=priority, rng=rng)
        if rng.random() < long_share and start + timedelta(days=14) < created:
            make_long(sim)
        sims.append(sim)
    return sims


def make_long(sim: Sim) -> None:
    """A ticket whose anniversary falls near `sim.created`: it was created a calendar year
    earlier, accepted in 5 minutes, told the next steps within the hour and kept in work with
    support's word every month or so; a few days before or after its anniversary support asks
    whether it is still relevant (most clients never answer). This pre-history is written into
    Redmine before the shard's first cron run; nothing is due at that moment."""
    rng = sim.rng
    anniversary = sim.created
    birth = anniversary.replace(year=anniversary.year - 1, day=min(anniversary.day, 28)
                                if anniversary.month == 2 else anniversary.day)
    ask = _off_tick(anniversary - timedelta(days=rng.uniform(-2, 6)), rng)
    acts = [o.Act(at=birth + timedelta(minutes=5), who="support", status=o.IN_WORK),
            o.Act(at=birth + timedelta(hours=1), who="support", public=True)]
    moment = birth + timedelta(days=30)
    while moment < ask - timedelta(days=10):
        acts.append(o.Act(at=_off_tick(moment, rng), who="support", public=True))
        moment += timedelta(days=rng.uniform(20, 45))
    sim.long, sim.created, sim.told, sim.acts, sim.long_ask = True, birth, True, acts, ask
    sim.answers_left = 1 if rng.random() < 0.3 else 0


def shards_of(sims: list[Sim], days_per_shard: float = 7) -> list[list[Sim]]:
    """Tickets grouped by the week their life in the shard starts."""
    groups: dict[int, list[Sim]] = {}
    first = min(_start(s) for s in sims)
    for sim in sims:
        groups.setdefault(int((_start(s := sim) - first).total_seconds() // (days_per_shard * 86400)), []).append(s)
    return [groups[k] for k in sorted(groups)]


def _start(sim: Sim) -> datetime:
    """When the ticket enters its shard: created, or (a long one) a day before support asks."""
    if sim.long and sim.long_ask is not None:
        return sim.long_ask - timedelta(days=1)
    return sim.created


def run_shard(seed: int, sims: list[Sim], end: datetime, policies: Policies | None = None) -> Tally:
    import time

    cpu = time.process_time()
    tally = Shard(seed, sims, end, policies or load_policies()).run()
    tally.cpu_s = time.process_time() - cpu
    return tally


START = datetime(2027, 1, 1, tzinfo=UTC) - timedelta(hours=3)  # 1 January 2027, 00:00 Moscow


def simulate(seed: int, tickets: int, days: float, *, processes: int = 1, shard_days: float = 7,
             long_share: float = 0.01, tail_days: float = 40,
             progress: Callable[[Tally], None] | None = None) -> Tally:
    """The whole world: `tickets` created over `days` from START, each shard run to its end
    (at most `tail_days` after the last creation), on `processes` processes."""
    sims = make_tickets(seed, tickets, START, days, long_share)
    end = START + timedelta(days=days + tail_days)
    shards = shards_of(sims, shard_days)
    total = Tally()
    if processes <= 1:
        for shard in shards:
            tally = run_shard(seed, shard, end)
            total.merge(tally)
            if progress is not None:
                progress(tally)
        return total
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        for tally in pool.imap_unordered(_run_packed, [(seed, shard, end) for shard in shards]):
            total.merge(tally)
            if progress is not None:
                progress(tally)
    return total


def _run_packed(args: tuple[int, list[Sim], datetime]) -> Tally:
    return run_shard(*args)


def rows(tally: Tally) -> list[dict[str, object]]:
    """The per-rule table: actions taken, episodes due, wrong, missed, local, clocks off > 1 min."""
    rules = sorted(set(o.JUDGED) | set(tally.actions))
    return [{"rule": r, "actions": tally.actions[r], "due": tally.due[r], "wrong": tally.wrong[r],
             "missed": tally.missed[r], "local": tally.local[r], "clock_diff": len(tally.clocks.get(r, ())),
             "judged": r in o.JUDGED} for r in rules]
