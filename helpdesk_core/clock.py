"""The only place that reads the wall clock.

Everything that needs "now" takes a `Clock`; `--now` swaps in a `FixedClock`, so a plan can
show what will fire next week and tests never sleep.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time, always timezone-aware (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock stopped at one moment (for `--now` and for tests)."""

    def __init__(self, moment: datetime) -> None:
        self._moment = require_aware(moment)

    def now(self) -> datetime:
        return self._moment


def require_aware(moment: datetime) -> datetime:
    """Refuse naive datetimes: a time without an offset means nothing across time zones."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamp {moment.isoformat()} has no UTC offset")
    return moment


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant that must carry an offset (`--now 2026-11-28T10:00+03:00`)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"'{text}' is not an ISO 8601 timestamp") from exc
    return require_aware(moment)


def clock_for(now: str | None) -> Clock:
    """The clock a command runs with: fixed when `--now` was given, else the system's."""
    return FixedClock(parse_instant(now)) if now else SystemClock()


def utc_stamp(moment: datetime) -> str:
    """A moment as Redmine's filters want it: UTC, whole seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# How far a run that writes may be from the real clock without --allow-far-now: back past the
# regulation's longest clock (a year), ahead by at most a week; 1970 or 2099 is a typo.
FAR_BEHIND = timedelta(days=400)
FAR_AHEAD = timedelta(days=7)


def far_off(moment: datetime, real: datetime) -> str | None:
    """Why `moment` is too far from `real` for a run that writes, or None when it is not."""
    if moment - real > FAR_AHEAD:
        return f"{moment.isoformat()} is more than {FAR_AHEAD.days} days after the real clock"
    if real - moment > FAR_BEHIND:
        return f"{moment.isoformat()} is more than {FAR_BEHIND.days} days before the real clock"
    return None
