"""SLA clocks: the regulation's examples, DST, pauses and edge cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from policies.calendar import (
    Interval,
    SlaPolicy,
    SlaState,
    SlaTarget,
    WorkingCalendar,
    evaluate_sla,
    pause_intervals,
)

MSK = ZoneInfo("Europe/Moscow")
CAL = WorkingCalendar()
POLICY = SlaPolicy()


def msk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


def reaction_deadline(priority: str, created: datetime, calendar: WorkingCalendar = CAL) -> datetime:
    target = POLICY.target("reaction", priority)
    return target.calendar_for(calendar).add_working_time(created, target.budget_for(calendar))


# --- the must-pass examples -------------------------------------------------------------

def test_medium_created_at_1850_is_due_at_1050_next_day() -> None:
    assert reaction_deadline("Средний", msk(2026, 3, 10, 18, 50)) == msk(2026, 3, 11, 10, 50)


def test_blocker_created_at_night_is_due_15_minutes_later() -> None:
    assert reaction_deadline("Блокер", msk(2026, 3, 10, 3, 0)) == msk(2026, 3, 10, 3, 15)
    assert reaction_deadline("Критический", msk(2026, 3, 10, 3, 0)) == msk(2026, 3, 10, 3, 15)


def test_created_before_opening_starts_at_1000() -> None:
    assert reaction_deadline("Низкий", msk(2026, 3, 10, 8, 0)) == msk(2026, 3, 10, 11, 0)


def test_holiday_is_skipped() -> None:
    calendar = WorkingCalendar(holidays=frozenset({date(2026, 3, 11)}))
    assert reaction_deadline("Средний", msk(2026, 3, 10, 18, 50), calendar) == msk(2026, 3, 12, 10, 50)


def test_holiday_does_not_stop_round_the_clock() -> None:
    calendar = WorkingCalendar(holidays=frozenset({date(2026, 1, 1)}))
    assert reaction_deadline("Блокер", msk(2026, 1, 1, 12, 0), calendar) == msk(2026, 1, 1, 12, 15)


def test_paused_day_is_not_counted() -> None:
    # Created Monday 10:00; two working days later (Wednesday 10:00) 18 h of window passed,
    # but the ticket waited for the client from Monday 14:00 to Tuesday 14:00 (9 working hours).
    created, now = msk(2026, 3, 9, 10, 0), msk(2026, 3, 11, 10, 0)
    pauses = [Interval(start=msk(2026, 3, 9, 14, 0), end=msk(2026, 3, 10, 14, 0))]
    assert CAL.working_time_between(created, now) == timedelta(hours=18)
    assert CAL.working_time_between(created, now, pauses) == timedelta(hours=9)
    working_days = SlaPolicy.model_validate({"analysis": {"Средний": {"working_days": 3}}})  # a local choice
    result = working_days.evaluate("analysis", "Средний", calendar=CAL, start=created, now=now, pauses=pauses)
    assert result is not None and result.used == timedelta(hours=9)
    assert result.used_share == Decimal("0.3333")
    # 27 h of budget: Mon 4 h + Tue 5 h + Wed 9 h + Thu 9 h, the paused hours skipped.
    assert result.deadline == msk(2026, 3, 12, 19, 0)
    assert result.state is SlaState.OK


def test_weekend_counts_support_works_every_day() -> None:
    saturday = msk(2026, 3, 14, 18, 30)
    assert saturday.weekday() == 5
    assert reaction_deadline("Высокий", saturday) == msk(2026, 3, 15, 10, 30)
    assert CAL.working_time_between(msk(2026, 3, 14, 0, 0), msk(2026, 3, 16, 0, 0)) == timedelta(hours=18)


def test_utc_input_gives_the_same_instant() -> None:
    created_msk = msk(2026, 3, 10, 18, 50)
    created_utc = created_msk.astimezone(UTC)
    assert created_utc.hour == 15
    due_utc = reaction_deadline("Средний", created_utc)
    assert due_utc == msk(2026, 3, 11, 10, 50)
    assert due_utc.tzinfo is UTC  # returned in the caller's zone
    now = msk(2026, 3, 11, 10, 0)
    a = evaluate_sla(created_msk, now, timedelta(hours=1), CAL)
    b = evaluate_sla(created_utc, now.astimezone(UTC), timedelta(hours=1), CAL)
    assert (a.deadline, a.used, a.state) == (b.deadline, b.used, b.state)


# --- working-day budgets ------------------------------------------------------------------

def test_one_working_day_is_nine_hours() -> None:
    assert CAL.working_day == timedelta(hours=9)
    assert CAL.working_days(3) == timedelta(hours=27)
    assert CAL.working_days(Decimal("0.5")) == timedelta(hours=4, minutes=30)


def test_analysis_days_land_at_the_same_time_of_day() -> None:
    created = msk(2026, 3, 10, 18, 0)
    # «до 5 суток»: the bundled budgets are сутки, round the clock (support works every day)
    target = POLICY.target("analysis", "Средний")
    assert target is not None and target.round_the_clock
    assert target.calendar_for(CAL).add_working_time(created, target.budget_for(CAL)) == msk(2026, 3, 13, 18, 0)
    low = POLICY.target("analysis", "Низкий")
    assert low is not None
    assert low.calendar_for(CAL).add_working_time(msk(2026, 3, 10, 23, 0), low.budget_for(CAL)) \
        == msk(2026, 3, 15, 23, 0)
    # working days are a local choice: 3 of 9 h from 18:00 also land at 18:00
    local = SlaTarget(working_days=Decimal(3))
    assert CAL.add_working_time(created, local.budget_for(CAL)) == msk(2026, 3, 13, 18, 0)


def test_budget_ending_exactly_at_close_is_due_at_close() -> None:
    assert CAL.add_working_time(msk(2026, 3, 10, 18, 0), timedelta(hours=1)) == msk(2026, 3, 10, 19, 0)
    assert CAL.add_working_time(msk(2026, 3, 10, 10, 0), timedelta(hours=9)) == msk(2026, 3, 10, 19, 0)


def test_zero_budget_is_due_at_start() -> None:
    start = msk(2026, 3, 10, 22, 0)
    assert CAL.add_working_time(start, timedelta(0)) == start


def test_urgent_analysis_has_no_number_unless_a_local_budget_is_set() -> None:
    """Issue 18.5: «с максимально возможным приоритетом» is no number: unmeasured by default;
    a local budget (here 4 h round the clock) is honoured when configured."""
    assert POLICY.target("analysis", "Критический") is None and POLICY.target("analysis", "Блокер") is None
    assert POLICY.evaluate("analysis", "Блокер", calendar=CAL, start=msk(2026, 3, 10, 22, 0),
                           now=msk(2026, 3, 12, 22, 0)) is None
    local = SlaPolicy.model_validate({"analysis": {"Критический": {"duration": "PT4H", "round_the_clock": True}}})
    target = local.target("analysis", "Критический")
    assert target is not None
    assert target.calendar_for(CAL).add_working_time(msk(2026, 3, 10, 22, 0), target.budget_for(CAL)) \
        == msk(2026, 3, 11, 2, 0)


def test_unknown_priority() -> None:
    assert POLICY.target("reaction", "Нормальный").duration == timedelta(hours=1)
    with pytest.raises(ValueError, match="no analysis SLA"):
        POLICY.target("analysis", "Нормальный")


# --- pauses -------------------------------------------------------------------------------

def test_pause_outside_working_hours_changes_nothing() -> None:
    night = [Interval(start=msk(2026, 3, 10, 20, 0), end=msk(2026, 3, 11, 9, 0))]
    assert CAL.add_working_time(msk(2026, 3, 10, 18, 0), timedelta(hours=2), night) == msk(2026, 3, 11, 11, 0)


def test_overlapping_and_unsorted_pauses_are_merged() -> None:
    pauses = [
        Interval(start=msk(2026, 3, 10, 12, 0), end=msk(2026, 3, 10, 14, 0)),
        Interval(start=msk(2026, 3, 10, 11, 0), end=msk(2026, 3, 10, 13, 0)),
        Interval(start=msk(2026, 3, 10, 16, 0), end=msk(2026, 3, 10, 16, 0)),  # empty
    ]
    assert CAL.working_time_between(msk(2026, 3, 10, 10, 0), msk(2026, 3, 10, 19, 0), pauses) \
        == timedelta(hours=6)
    due = CAL.add_working_time(msk(2026, 3, 10, 10, 0), timedelta(hours=2), pauses)
    assert due == msk(2026, 3, 10, 15, 0)


def test_pause_spanning_many_days() -> None:
    pauses = [Interval(start=msk(2026, 3, 10, 11, 0), end=msk(2026, 4, 10, 11, 0))]
    due = CAL.add_working_time(msk(2026, 3, 10, 10, 0), timedelta(hours=2), pauses)
    assert due == msk(2026, 4, 10, 12, 0)


def test_pauses_stop_the_round_the_clock_too() -> None:
    around = CAL.around_the_clock()
    pauses = [Interval(start=msk(2026, 3, 10, 3, 5), end=msk(2026, 3, 10, 4, 0))]
    assert around.add_working_time(msk(2026, 3, 10, 3, 0), timedelta(minutes=15), pauses) \
        == msk(2026, 3, 10, 4, 10)


def test_pause_intervals_from_status_history() -> None:
    history = [
        (msk(2026, 3, 9, 10, 0), "На рассмотрении"),
        (msk(2026, 3, 9, 10, 30), "В работе"),
        (msk(2026, 3, 9, 14, 0), "Требует обратной связи"),
        (msk(2026, 3, 10, 14, 0), "В работе"),
        (msk(2026, 3, 11, 12, 0), "Требует обратной связи"),
    ]
    now = msk(2026, 3, 11, 15, 0)
    assert pause_intervals(history, POLICY.analysis_pause_statuses, now) == [
        Interval(start=msk(2026, 3, 9, 14, 0), end=msk(2026, 3, 10, 14, 0)),
        Interval(start=msk(2026, 3, 11, 12, 0), end=now),
    ]


# --- evaluate_sla -------------------------------------------------------------------------

@pytest.mark.parametrize(("now", "stop", "state"), [
    (msk(2026, 3, 10, 10, 30), None, SlaState.OK),
    (msk(2026, 3, 10, 10, 48), None, SlaState.AT_RISK),
    (msk(2026, 3, 10, 11, 0), None, SlaState.AT_RISK),  # exactly at the deadline: not yet late
    (msk(2026, 3, 10, 11, 1), None, SlaState.BREACHED),
    (msk(2026, 3, 10, 22, 0), None, SlaState.BREACHED),
    (msk(2026, 3, 10, 12, 0), msk(2026, 3, 10, 10, 59), SlaState.MET),
    (msk(2026, 3, 10, 12, 0), msk(2026, 3, 10, 11, 0), SlaState.MET),
    (msk(2026, 3, 10, 12, 0), msk(2026, 3, 10, 11, 30), SlaState.BREACHED),
])
def test_states(now: datetime, stop: datetime | None, state: SlaState) -> None:
    result = evaluate_sla(msk(2026, 3, 10, 10, 0), now, timedelta(hours=1), CAL, stop=stop)
    assert result.deadline == msk(2026, 3, 10, 11, 0)
    assert result.state is state


def test_share_and_remaining_when_overdue() -> None:
    result = evaluate_sla(msk(2026, 3, 10, 10, 0), msk(2026, 3, 10, 11, 30), timedelta(hours=1), CAL)
    assert result.used_share == Decimal("1.5000")
    assert result.remaining == timedelta(minutes=-30)


def test_now_before_start_counts_nothing() -> None:
    result = evaluate_sla(msk(2026, 3, 10, 10, 0), msk(2026, 3, 10, 9, 59), timedelta(hours=1), CAL)
    assert result.used == timedelta(0)
    assert result.state is SlaState.OK


def test_custom_at_risk_share() -> None:
    start = msk(2026, 3, 10, 10, 0)
    assert evaluate_sla(start, msk(2026, 3, 10, 10, 30), timedelta(hours=1), CAL,
                        at_risk_share=Decimal("0.5")).state is SlaState.AT_RISK
    with pytest.raises(ValueError, match="at_risk_share"):
        evaluate_sla(start, start, timedelta(hours=1), CAL, at_risk_share=Decimal("1.5"))


# --- validation and DST -------------------------------------------------------------------

def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 3, 10, 10, 0)
    with pytest.raises(ValueError, match="offset"):
        CAL.add_working_time(naive, timedelta(hours=1))
    with pytest.raises(ValueError, match="offset"):
        CAL.working_time_between(msk(2026, 3, 10), naive)
    with pytest.raises(ValueError, match="offset"):
        evaluate_sla(msk(2026, 3, 10), naive, timedelta(hours=1), CAL)
    with pytest.raises(ValidationError):
        Interval(start=naive, end=msk(2026, 3, 10))


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        WorkingCalendar(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="day_start"):
        WorkingCalendar(day_start=time(19), day_end=time(10))
    with pytest.raises(ValidationError, match="exactly one"):
        SlaTarget()
    with pytest.raises(ValidationError, match="round_the_clock"):
        SlaTarget(working_days=Decimal(1), round_the_clock=True)
    with pytest.raises(ValueError, match="end"):
        CAL.working_time_between(msk(2026, 3, 10, 12), msk(2026, 3, 10, 11))


def test_policy_loads_from_plain_data() -> None:
    policy = SlaPolicy.model_validate({
        "reaction": {"Блокер": {"duration": "PT10M", "round_the_clock": True}},
        "analysis": {"Средний": {"working_days": "2.5"}},
        "analysis_fallback": {"duration": 3600},
    })
    assert policy.target("reaction", "Блокер").duration == timedelta(minutes=10)
    assert policy.target("analysis", "Средний").budget_for(CAL) == timedelta(hours=22, minutes=30)
    assert policy.target("analysis", "Низкий").duration == timedelta(hours=1)


def test_dst_spring_forward_inside_working_hours() -> None:
    berlin = WorkingCalendar(timezone="Europe/Berlin", day_start=time(1, 0), day_end=time(4, 0))
    # 2026-03-29: Berlin goes 02:00 -> 03:00 CET->CEST, so 01:00-04:00 is only 2 real hours.
    day = date(2026, 3, 29)
    tz = ZoneInfo("Europe/Berlin")
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    end = datetime.combine(day, time(23, 0), tzinfo=tz)
    assert berlin.working_time_between(start, end) == timedelta(hours=2)
    assert berlin.add_working_time(start, timedelta(hours=2)) == datetime.combine(day, time(4, 0), tzinfo=tz)
    # An ordinary day has the full 3 hours.
    assert berlin.working_time_between(start + timedelta(days=1), end + timedelta(days=1)) \
        == timedelta(hours=3)


def test_dst_autumn_in_a_zone_with_dst() -> None:
    # New York working hours across the November change: each day still has 9 real hours.
    ny = WorkingCalendar(timezone="America/New_York")
    tz = ZoneInfo("America/New_York")
    start = datetime(2026, 10, 31, 18, 0, tzinfo=tz)
    due = ny.add_working_time(start, timedelta(hours=2))
    assert due == datetime(2026, 11, 1, 11, 0, tzinfo=tz)
    # Same-tzinfo subtraction is by wall clock (17 h); real elapsed time includes the repeated hour.
    assert due.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=18)


def test_long_spans_are_fast() -> None:
    start = msk(2020, 1, 1, 10, 0)
    end = msk(2030, 1, 1, 10, 0)
    total = CAL.working_time_between(start, end)
    assert total == timedelta(hours=9) * (end.date() - start.date()).days
    assert CAL.add_working_time(start, total) == msk(2029, 12, 31, 19, 0)
