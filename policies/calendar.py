"""SLA clocks: working-time arithmetic over the support calendar, and SLA evaluation.

Owns the regulation's time rules: support works every day 10:00-19:00 Moscow time, Блокер
and Критический are handled 24/7, time in «Требует обратной связи» pauses the analysis
clock. Pure functions of their arguments: `now` is always a parameter, never read here.

All arithmetic is done in UTC. Python subtracts two datetimes that share a tzinfo by wall
clock, which is wrong across a DST change; converting first makes every zone exact.

"Working day" budgets: one working day is the nominal length of the working window
(`day_end - day_start`, 9 hours for 10:00-19:00), so "3 working days" created at 18:00 is
due at 18:00 three working days later, not at the end of the third calendar day.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from helpdesk_core.clock import require_aware

# A moment far enough away to stand for "no end" without overflowing datetime arithmetic.
_FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)

Span = tuple[datetime, datetime]


class Interval(BaseModel):
    """A closed-open stretch of time, e.g. one stay in «Требует обратной связи»."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _check(self) -> Interval:
        require_aware(self.start)
        require_aware(self.end)
        if self.end < self.start:
            raise ValueError(f"interval ends ({self.end.isoformat()}) before it starts "
                             f"({self.start.isoformat()})")
        return self


class WorkingCalendar(BaseModel):
    """When the support clock runs: a daily window in one time zone, minus holidays.

    `round_the_clock` makes every moment working time (holidays included): that is how the
    regulation treats Блокер and Критический. Windows must not cross midnight.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "Europe/Moscow"
    day_start: time = time(10, 0)
    day_end: time = time(19, 0)
    holidays: frozenset[date] = frozenset()
    round_the_clock: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}'") from exc
        return value

    @model_validator(mode="after")
    def _check_window(self) -> WorkingCalendar:
        if self.day_start.tzinfo is not None or self.day_end.tzinfo is not None:
            raise ValueError("day_start/day_end are local wall-clock times; give them without an offset")
        if self.day_start >= self.day_end:
            raise ValueError("day_start must be before day_end (windows across midnight are not supported)")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def working_day(self) -> timedelta:
        """Nominal length of one working day (9 h for 10:00-19:00): the unit of day budgets."""
        anchor = date(2000, 1, 1)
        return datetime.combine(anchor, self.day_end) - datetime.combine(anchor, self.day_start)

    def working_days(self, count: int | Decimal) -> timedelta:
        """A budget of `count` working days, exact to the microsecond."""
        micros = Decimal(self.working_day // timedelta(microseconds=1)) * Decimal(count)
        return timedelta(microseconds=int(micros.to_integral_value()))

    def around_the_clock(self) -> WorkingCalendar:
        """The same calendar running 24/7 (for Блокер/Критический clocks)."""
        return self.model_copy(update={"round_the_clock": True})

    def add_working_time(self, start: datetime, budget: timedelta,
                         pauses: Sequence[Interval] = ()) -> datetime:
        """The deadline: the first moment at which `budget` of unpaused working time has passed.

        If the budget runs out exactly at the end of a window the deadline is that end
        (19:00), not the next morning. Returned in `start`'s time zone.
        """
        require_aware(start)
        if budget < timedelta(0):
            raise ValueError(f"budget must not be negative, got {budget}")
        begin = start.astimezone(UTC)
        if budget == timedelta(0):
            return start
        remaining = budget
        for free_start, free_end in _subtract(self._windows(begin, None), _merge(pauses)):
            length = free_end - free_start
            if remaining <= length:
                return (free_start + remaining).astimezone(start.tzinfo)
            remaining -= length
        raise AssertionError("unreachable: the window sequence is unbounded")  # pragma: no cover

    def working_time_between(self, start: datetime, end: datetime,
                             pauses: Sequence[Interval] = ()) -> timedelta:
        """Unpaused working time in [start, end): how much of a budget has been used."""
        require_aware(start)
        require_aware(end)
        begin, finish = start.astimezone(UTC), end.astimezone(UTC)
        if finish < begin:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        total = timedelta(0)
        for free_start, free_end in _subtract(self._windows(begin, finish), _merge(pauses)):
            total += free_end - free_start
        return total

    def _windows(self, begin: datetime, finish: datetime | None) -> Iterator[Span]:
        """Working windows in UTC, clipped to [begin, finish); one per day, so cost is O(days)."""
        if self.round_the_clock:
            yield begin, finish or _FAR_FUTURE
            return
        zone = self.zone
        day = begin.astimezone(zone).date()
        last_day = finish.astimezone(zone).date() if finish is not None else None
        while last_day is None or day <= last_day:
            if day not in self.holidays:
                # fold=0 on an ambiguous/non-existent local time picks the pre-transition
                # offset; converting to UTC then gives a real instant either way.
                window_start = datetime.combine(day, self.day_start, tzinfo=zone).astimezone(UTC)
                window_end = datetime.combine(day, self.day_end, tzinfo=zone).astimezone(UTC)
                clipped_start = max(window_start, begin)
                clipped_end = window_end if finish is None else min(window_end, finish)
                if clipped_start < clipped_end:
                    yield clipped_start, clipped_end
            day += timedelta(days=1)


def _merge(pauses: Iterable[Interval]) -> list[Span]:
    """Pauses in UTC, sorted, overlaps joined: status histories may overlap at the edges."""
    spans = sorted((p.start.astimezone(UTC), p.end.astimezone(UTC)) for p in pauses)
    merged: list[Span] = []
    for start, end in spans:
        if start == end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(windows: Iterable[Span], pauses: list[Span]) -> Iterator[Span]:
    """The parts of increasing `windows` not covered by sorted disjoint `pauses`.

    One forward pointer into `pauses`: total cost O(windows + pauses).
    """
    first = 0
    for window_start, window_end in windows:
        while first < len(pauses) and pauses[first][1] <= window_start:
            first += 1
        cursor = window_start
        index = first
        while index < len(pauses) and pauses[index][0] < window_end and cursor < window_end:
            pause_start, pause_end = pauses[index]
            if pause_start > cursor:
                yield cursor, pause_start
            cursor = max(cursor, pause_end)
            index += 1
        if cursor < window_end:
            yield cursor, window_end


def pause_intervals(changes: Sequence[tuple[datetime, str]], paused_statuses: Iterable[str],
                    until: datetime) -> list[Interval]:
    """Turn a status history into pause intervals for one clock.

    `changes` are (moment, status entered), oldest first, starting with the status at
    creation. A pause still open at `until` (normally `now`) is closed there, so a deadline
    computed from it means "if the client answered now".
    """
    require_aware(until)
    paused = set(paused_statuses)
    intervals: list[Interval] = []
    opened: datetime | None = None
    for moment, status in changes:
        require_aware(moment)
        if status in paused and opened is None:
            opened = moment
        elif status not in paused and opened is not None:
            intervals.append(Interval(start=opened, end=max(moment, opened)))
            opened = None
    if opened is not None:
        intervals.append(Interval(start=opened, end=max(until, opened)))
    return intervals


class SlaState(StrEnum):
    OK = "ok"
    AT_RISK = "at-risk"
    BREACHED = "breached"
    MET = "met"


class SlaResult(BaseModel):
    """Where one SLA clock stands at `now`."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    deadline: datetime
    budget: timedelta
    used: timedelta
    remaining: timedelta  # negative once overdue, in working time
    used_share: Decimal  # used / budget, 4 decimal places; above 1 when overdue
    state: SlaState
    stopped_at: datetime | None = None


def evaluate_sla(start: datetime, now: datetime, budget: timedelta, calendar: WorkingCalendar,
                 pauses: Sequence[Interval] = (), at_risk_share: Decimal = Decimal("0.8"),
                 stop: datetime | None = None) -> SlaResult:
    """Deadline, used share and state of one clock.

    `stop` is when the clock stopped (e.g. the ticket left «На рассмотрении»): `met` if at or
    before the deadline, else `breached`. Without `stop`: `breached` once `now` is past the
    deadline, `at-risk` once `used_share >= at_risk_share`, else `ok`. A `now` or `stop`
    before `start` (clock skew between Redmine and us) counts as nothing used.
    """
    for moment in (start, now, *((stop,) if stop is not None else ())):
        require_aware(moment)
    if budget <= timedelta(0):
        raise ValueError(f"budget must be positive, got {budget}")
    if not Decimal(0) < at_risk_share <= Decimal(1):
        raise ValueError(f"at_risk_share must be in (0, 1], got {at_risk_share}")
    deadline = calendar.add_working_time(start, budget, pauses)
    measured_until = max(stop if stop is not None else now, start)
    used = calendar.working_time_between(start, measured_until, pauses)
    share = Decimal(used // timedelta(microseconds=1)) / Decimal(budget // timedelta(microseconds=1))
    if stop is not None:
        state = SlaState.MET if stop <= deadline else SlaState.BREACHED
    elif now > deadline:
        state = SlaState.BREACHED
    elif share >= at_risk_share:
        state = SlaState.AT_RISK
    else:
        state = SlaState.OK
    return SlaResult(start=start, deadline=deadline, budget=budget, used=used, remaining=budget - used,
                     used_share=share.quantize(Decimal("0.0001")), state=state, stopped_at=stop)


class SlaTarget(BaseModel):
    """One clock's budget: a `duration` of (working) time, or a number of `working_days`.

    `round_the_clock: true` runs this clock 24/7 whatever the calendar says; `false` follows
    the calendar. Day budgets are only meaningful against the working window, so they cannot
    be combined with `round_the_clock` (write `duration: PT24H` instead).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    duration: timedelta | None = None
    working_days: Decimal | None = None
    round_the_clock: bool = False

    @model_validator(mode="after")
    def _one_budget(self) -> SlaTarget:
        if (self.duration is None) == (self.working_days is None):
            raise ValueError("give exactly one of duration or working_days")
        if self.working_days is not None and self.round_the_clock:
            raise ValueError("working_days cannot be round_the_clock; use duration")
        if (self.duration is not None and self.duration <= timedelta(0)) or (
                self.working_days is not None and self.working_days <= 0):
            raise ValueError("the budget must be positive")
        return self

    def budget_for(self, calendar: WorkingCalendar) -> timedelta:
        if self.duration is not None:
            return self.duration
        assert self.working_days is not None
        return calendar.working_days(self.working_days)

    def calendar_for(self, calendar: WorkingCalendar) -> WorkingCalendar:
        return calendar.around_the_clock() if self.round_the_clock else calendar


ClockKind = Literal["reaction", "analysis"]

_URGENT_REACTION = SlaTarget(duration=timedelta(minutes=15), round_the_clock=True)


def _default_reaction() -> dict[str, SlaTarget | None]:
    return {"Блокер": _URGENT_REACTION, "Критический": _URGENT_REACTION}


def _default_analysis() -> dict[str, SlaTarget | None]:
    # Блокер/Критический: «анализ проводится с максимально возможным приоритетом», no number:
    # not measured (None). A budget for them is a local choice (policies.yaml).
    return {
        "Блокер": None,
        "Критический": None,
        # «в течение 1 дня … 3 дней … до 5 дней», «от 30 минут до 5 суток»: сутки, and support
        # works every day, so the clock runs round the clock from the acceptance
        "Высокий": SlaTarget(duration=timedelta(days=1), round_the_clock=True),
        "Средний": SlaTarget(duration=timedelta(days=3), round_the_clock=True),
        "Низкий": SlaTarget(duration=timedelta(days=5), round_the_clock=True),
    }


class SlaPolicy(BaseModel):
    """Per-priority budgets, defaulting to the regulation.

    Reaction (leave «На рассмотрении»): Блокер/Критический 15 min 24/7, others 1 working
    hour. Analysis: Высокий 1, Средний 3, Низкий 5 сутки (24 h each, round the clock: «до 5
    суток», support works every day) from the acceptance; paused while «Требует обратной
    связи»; Блокер/Критический `None`: the regulation gives no number («с максимально
    возможным приоритетом»), so they are not measured unless a local budget is configured.
    A priority listed with `None` is declared unmeasured; a priority not listed falls back to
    `*_fallback`; without a fallback it is an error, so a renamed priority is not silently
    given no SLA.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    reaction: dict[str, SlaTarget | None] = Field(default_factory=_default_reaction)
    reaction_fallback: SlaTarget | None = SlaTarget(duration=timedelta(hours=1))
    analysis: dict[str, SlaTarget | None] = Field(default_factory=_default_analysis)
    analysis_fallback: SlaTarget | None = None
    reaction_status: str = "На рассмотрении"
    analysis_pause_statuses: frozenset[str] = frozenset({"Требует обратной связи"})
    at_risk_share: Decimal = Field(default=Decimal("0.8"), gt=0, le=1)

    def target(self, clock: ClockKind, priority: str) -> SlaTarget | None:
        """The budget; None for a priority declared unmeasured (listed with null)."""
        table = self.reaction if clock == "reaction" else self.analysis
        fallback = self.reaction_fallback if clock == "reaction" else self.analysis_fallback
        key = priority.strip()
        if key in table:
            return table[key]
        if fallback is None:
            raise ValueError(f"no {clock} SLA for priority '{priority}'; known: {', '.join(table)}")
        return fallback

    def evaluate(self, clock: ClockKind, priority: str, *, calendar: WorkingCalendar, start: datetime,
                 now: datetime, pauses: Sequence[Interval] = (), stop: datetime | None = None) -> SlaResult | None:
        """`evaluate_sla` with this policy's budget, 24/7 switch and at-risk share; None when
        the priority is declared unmeasured on this clock."""
        target = self.target(clock, priority)
        if target is None:
            return None
        return evaluate_sla(start, now, target.budget_for(calendar), target.calendar_for(calendar),
                            pauses, self.at_risk_share, stop)
