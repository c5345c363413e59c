"""Issue 18's proof, short: a seeded stretch of support life, the real sweeps every 15
simulated minutes, every action taken and every action due checked by the oracle
(tests/sim/oracle.py, a reading of the regulation that imports nothing from policies/).

The full year is `bench/simulate_year.py --tickets 5000`; here 30 tickets over three weeks
(about 20 s of CPU: every open ticket is read and judged at every cron run)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from policies.config import load_policies
from tests.sim import oracle as o
from tests.sim.world import START, TICK, Shard, Sim, Tally, rows, simulate


def _assert_agrees(tally: Tally) -> list[dict[str, object]]:
    table = rows(tally)
    bad = [r for r in table if r["judged"] and (r["wrong"] or r["missed"] or r["clock_diff"])]
    assert bad == [], "\n".join([str(bad), *(str(e) for e in tally.examples[:6])])
    return table


def test_a_seeded_three_weeks_has_no_wrong_and_no_missed_action() -> None:
    tally = simulate(seed=18, tickets=30, days=21, processes=1, long_share=0.0, tail_days=15)
    table = _assert_agrees(tally)
    assert tally.human_acts > 100  # the world did live, and every rule but the year close acted
    assert [r["rule"] for r in table if r["judged"] and not r["actions"]] == [o.YEAR_CLOSE]


def test_tickets_a_year_old_close_on_their_anniversary_and_nothing_else_goes_wrong() -> None:
    tally = simulate(seed=5, tickets=8, days=21, processes=1, long_share=1.0, tail_days=15)
    table = _assert_agrees(tally)
    assert next(r for r in table if r["rule"] == o.YEAR_CLOSE)["due"] >= 1


# --- the oracle on its own: a few readings pinned --------------------------------------------

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # 12:00 Moscow
POLICIES = load_policies()


def test_oracle_one_working_hour_runs_over_the_night_and_has_no_holidays() -> None:
    late = datetime(2027, 1, 1, 15, 50, tzinfo=UTC)  # 18:50 Moscow, 1 January: a working day
    assert o.add_working(late, timedelta(hours=1)) == datetime(2027, 1, 2, 7, 50, tzinfo=UTC)


def test_oracle_a_new_question_restarts_the_reminder_and_a_file_is_an_answer() -> None:
    asked = o.Act(T0, "support", public=True, status=o.FEEDBACK)
    reminder = o.Act(T0 + timedelta(days=5), "tool", public=True, rule=o.REMIND)
    again = o.Act(T0 + timedelta(days=7), "support", public=True)
    ticket = o.Ticket(T0 - timedelta(days=1), "Средний", (asked, reminder, again), initial_status=o.IN_WORK)
    at = T0 + timedelta(days=10, minutes=1)
    assert not o.verdicts(ticket, at).dues[o.FEEDBACK_CLOSE].allowed
    assert o.verdicts(ticket, T0 + timedelta(days=12, minutes=1)).dues[o.REMIND].required
    answered = o.Ticket(ticket.created, "Средний", (asked, o.Act(T0 + timedelta(days=1), "client", public=True,
                                                                  file=True)), initial_status=o.IN_WORK)
    verdicts = o.verdicts(answered, T0 + timedelta(days=6))
    assert verdicts.dues[o.RESUME].required and not verdicts.dues[o.REMIND].allowed


def test_oracle_year_close_is_a_calendar_year_after_creation() -> None:
    created = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    assert o.one_year_after(created) == datetime(2028, 3, 1, 9, 0, tzinfo=UTC)


# F4 (tests/sim/FINDINGS.md): ticket 406 of the 1,000-ticket year, by hand. Created 08.02.2026
# 14:00 Moscow, in work; support asks on 03.02.2027 01:50; the reminder is due 08.02.2027 01:50,
# the anniversary is 08.02.2027 14:00, while the reminder's «в течение 5 дней» still runs.
CREATED_406 = datetime(2026, 2, 8, 11, 0, tzinfo=UTC)
ASKED_406 = datetime(2027, 2, 2, 22, 50, 31, tzinfo=UTC)
HISTORY_406 = (o.Act(CREATED_406 + timedelta(minutes=5), "support", status=o.IN_WORK),
               o.Act(CREATED_406 + timedelta(hours=1), "support", public=True),
               o.Act(ASKED_406, "support", public=True, status=o.FEEDBACK))


def test_oracle_no_year_close_while_a_reminder_promises_five_days_then_the_promised_close() -> None:
    reminded = datetime(2027, 2, 7, 23, 0, tzinfo=UTC)  # 08.02 02:00 Moscow
    ticket = o.Ticket(CREATED_406, "Средний", (*HISTORY_406, o.Act(reminded, "tool", public=True, rule=o.REMIND)))
    anniversary = o.one_year_after(CREATED_406)
    at_anniversary = o.verdicts(ticket, anniversary + timedelta(minutes=15)).dues
    assert not at_anniversary[o.YEAR_CLOSE].allowed and not at_anniversary[o.FEEDBACK_CLOSE].allowed
    promised = o.verdicts(ticket, reminded + timedelta(days=5, minutes=15)).dues
    assert promised[o.FEEDBACK_CLOSE].required and promised[o.YEAR_CLOSE].allowed
    assert not o.verdicts(ticket, reminded + timedelta(days=5) - timedelta(minutes=1)).dues[o.YEAR_CLOSE].allowed


def test_oracle_year_close_at_the_anniversary_when_no_promise_runs() -> None:
    anniversary = o.one_year_after(CREATED_406)
    unreminded = o.Ticket(CREATED_406, "Средний", (*HISTORY_406[:2], o.Act(anniversary - timedelta(days=2),
                                                                           "support", public=True, status=o.FEEDBACK)))
    assert o.verdicts(unreminded, anniversary + timedelta(minutes=15)).dues[o.YEAR_CLOSE].required
    # the reminder due in the same run as the anniversary: the tool may remind first
    tie = o.Ticket(CREATED_406, "Средний", (*HISTORY_406[:2], o.Act(anniversary - timedelta(days=5, minutes=5),
                                                                    "support", public=True, status=o.FEEDBACK)))
    dues = o.verdicts(tie, anniversary + timedelta(minutes=1)).dues
    assert dues[o.REMIND].required and dues[o.YEAR_CLOSE].allowed and not dues[o.YEAR_CLOSE].required
    # a promise the client answered is void, and so is the question: no year close at all
    answered = o.Ticket(CREATED_406, "Средний", (*HISTORY_406, o.Act(datetime(2027, 2, 7, 23, tzinfo=UTC), "tool",
                                                                     public=True, rule=o.REMIND),
                                                 o.Act(datetime(2027, 2, 8, 8, tzinfo=UTC), "client", public=True)))
    assert not o.verdicts(answered, anniversary + timedelta(minutes=15)).dues[o.YEAR_CLOSE].allowed


def test_oracle_support_asking_again_does_not_take_the_reminders_promise_back() -> None:
    """Ticket 521 of the 1,000-ticket year: reminded 15.08 20:30, support asks again 17.08 05:45,
    the anniversary has passed; the reminder's 5 days run to 20.08 20:30, then the year close."""
    reminded = datetime(2027, 2, 7, 23, 0, tzinfo=UTC)
    again = o.Act(reminded + timedelta(days=1, hours=9), "support", public=True)
    ticket = o.Ticket(CREATED_406, "Средний",
                      (*HISTORY_406, o.Act(reminded, "tool", public=True, rule=o.REMIND), again))
    assert not o.verdicts(ticket, again.at + timedelta(minutes=15)).dues[o.YEAR_CLOSE].allowed
    after = o.verdicts(ticket, reminded + timedelta(days=5, minutes=15)).dues
    assert after[o.YEAR_CLOSE].required and not after[o.FEEDBACK_CLOSE].allowed  # a new question: no feedback close yet


def test_ticket_406_the_real_sweeps_keep_the_reminders_promise_and_the_oracle_agrees() -> None:
    from tests.sim.fake import SimRedmine

    sim = Sim(id=406, created=CREATED_406, priority="Средний", rng=None, acts=list(HISTORY_406))  # type: ignore[arg-type]
    shard = Shard(0, [sim], datetime(2027, 3, 1, tzinfo=UTC), POLICIES)
    shard.fake = SimRedmine(ASKED_406)
    shard._create(sim)
    tick = datetime(2027, 2, 2, 23, 0, tzinfo=UTC)
    while tick <= datetime(2027, 2, 16, tzinfo=UTC):
        shard._sweep(tick)
        tick += TICK
    _assert_agrees(shard.tally)
    tool = [(a.rule, a.at.astimezone(o.MOSCOW).strftime("%d.%m %H:%M"), a.status) for a in sim.acts if a.who == "tool"]
    assert tool == [(o.REMIND, "08.02 02:00", None), (o.FEEDBACK_CLOSE, "13.02 02:00", o.CLOSED)], tool


# --- one ticket, any sequence: Hypothesis shrinks to the shortest breaking history -----------

class OneTicket(RuleBasedStateMachine):
    """People act on one ticket in any order; between acts time passes and cron runs the
    sweeps every 15 minutes; the oracle judges every run (Shard._check)."""

    @initialize(priority=st.sampled_from(["Блокер", "Критический", "Высокий", "Средний", "Низкий"]),
                offset=st.integers(0, 24 * 4 - 1))
    def create(self, priority: str, offset: int) -> None:
        created = START + timedelta(minutes=15 * offset, seconds=17)
        self.sim = Sim(id=1, created=created, priority=priority, rng=None)  # type: ignore[arg-type]
        self.shard = Shard(0, [self.sim], created + timedelta(days=400), POLICIES)
        from tests.sim.fake import SimRedmine

        self.shard.fake = SimRedmine(created)
        self.shard._create(self.sim)
        self.now = created
        self.tick = created.replace(minute=created.minute - created.minute % 15, second=0) + TICK

    def _act(self, who: str, **kwargs: object) -> None:
        self.now += timedelta(seconds=31)
        act = o.Act(self.now, who, **kwargs)  # type: ignore[arg-type]
        self.shard.add(self.sim, act)

    @rule()
    def support_accepts(self) -> None:
        if self.sim.status() == o.NEW:
            self._act("support", status=o.IN_WORK)

    @rule(status=st.sampled_from([None, o.FEEDBACK, o.VERIFY, o.CLOSED]))
    def support_comments(self, status: str | None) -> None:
        if self.sim.status() not in o.CLOSED_STATUSES:
            self._act("support", public=True, status=status)

    @rule(file=st.booleans())
    def client_answers(self, file: bool) -> None:
        self._act("client", public=True, file=file)

    @rule()
    def support_resumes(self) -> None:
        if self.sim.status() in (o.FEEDBACK, o.VERIFY):
            self._act("support", status=o.IN_WORK)

    @rule(hours=st.sampled_from([0.5, 3, 20, 61, 121]))
    def time_passes(self, hours: float) -> None:
        until = self.now + timedelta(hours=hours)
        while self.tick <= until:
            self.shard._sweep(self.tick)
            self.tick += TICK
        self.now = max(self.now, self.tick - TICK)

    @invariant()
    def the_oracle_agrees(self) -> None:
        if not hasattr(self, "shard"):
            return
        table = [r for r in rows(self.shard.tally) if r["judged"]]
        bad = [r for r in table if r["wrong"] or r["missed"] or r["clock_diff"]]
        assert bad == [], "\n".join([str(bad), *(str(e) for e in self.shard.tally.examples)])


TestOneTicket = OneTicket.TestCase
# every simulated hour is 4 real sweeps: kept small so that shrinking ends in minutes
TestOneTicket.settings = settings(max_examples=20, stateful_step_count=8, deadline=None,
                                  suppress_health_check=[HealthCheck.too_slow])
pytest.mark.timeout(600)(TestOneTicket)


def test_the_oracle_imports_nothing_from_the_rules() -> None:
    import ast
    from pathlib import Path

    tree = ast.parse(Path(o.__file__).read_text(encoding="utf-8"))
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not [m for m in imported if m.split(".")[0] in ("policies", "helpdesk_core", "tests")], imported
