"""The validated shapes of policies.yaml's settings and of one resolved rule.

Only data: nothing here knows the rules or the loader, so the rule context, the rules and
the loader can all import it without an import circle (config → rules → context → settings).
"""

from __future__ import annotations

from datetime import date, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from policies.calendar import SlaPolicy, WorkingCalendar

ANY = "*"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(_Strict):
    """Project identifiers and tracker names a rule may touch; "*" = all."""

    projects: list[str] | Literal["*"] = ANY
    trackers: list[str] | Literal["*"] = ANY

    def allows(self, project_identifier: str, tracker: str) -> bool:
        return (self.projects == ANY or project_identifier in self.projects) and (
            self.trackers == ANY or tracker in self.trackers)


class RuleEntry(_Strict):
    enabled: bool = True
    scope: Scope = Scope()
    params: dict[str, Any] = Field(default_factory=dict)
    actions: list[str] | None = None
    templates: dict[str, str] = Field(default_factory=dict)


class Statuses(_Strict):
    """The regulation's status names as Redmine spells them (see mappings.yaml)."""

    new: str = "На рассмотрении"
    in_progress: str = "В работе"
    feedback: str = "Требует обратной связи"
    verification: str = "Решено, требует проверки"
    closed: str = "Закрыто"


class SupportDetection(_Strict):
    """How a user is recognised as support: member of the group, or the role in the project."""

    group: str | None = "Сотрудники техподдержки"
    role: str | None = "Техподдержка"


class CalendarSpec(_Strict):
    timezone: str = "Europe/Moscow"
    day_start: time = time(10, 0)
    day_end: time = time(19, 0)
    holidays: list[date] = Field(default_factory=list)

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(timezone=self.timezone, day_start=self.day_start, day_end=self.day_end,
                               holidays=frozenset(self.holidays))


class ComplaintFields(_Strict):
    """The Redmine side of the portal's «Пожаловаться на задержку» button (mappings.yaml
    custom fields `delay_button` and `complaints`): the client ticks `button`, the
    `delay-complaint` rule escalates, adds one to `counter` and clears `button`."""

    button: str = "Пожаловаться на задержку"
    counter: str = "Жалобы на задержку"


class Settings(_Strict):
    statuses: Statuses = Statuses()
    support: SupportDetection = SupportDetection()
    calendar: CalendarSpec = CalendarSpec()
    sla: SlaPolicy = SlaPolicy()
    act_as: str | None = None  # login to write as (X-Redmine-Switch-User); None = the key's user
    # Regulation: a close comes no earlier than 5 days after the reminder; holds every rule that
    # closes (never a reminder and a close in one run, or in two runs closer than this).
    close_after_reminder_days: float = Field(5, ge=0)
    complaints: ComplaintFields = ComplaintFields()


class ResolvedRule(_Strict):
    """A rule entry after validation against the rule's own schema."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    id: str
    scope: Scope
    params: Any
    actions: tuple[str, ...]
    templates: dict[str, str]
