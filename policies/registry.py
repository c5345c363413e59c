"""The rule registry: every sweep rule registers itself under its fixed id.

A new rule is a new class with `@register("rule-id")`, its own pydantic `Params` schema and a
docstring that shows its YAML form; the engine and the config loader only look rules up
here. The registry is filled once, at import of `policies.rules` (whose `registered_rules` hands
it out), and never changed after: this module imports no rule, so there is no import circle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from policies.actions import Action
    from policies.context import RuleContext
    from policies.issues import IssueView, Summary


class Params(BaseModel):
    """Base of every rule's parameters: unknown keys are errors (typos must not pass)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Query:
    """One server-side filter of /issues.json; `status_id` is a name key or Redmine's open/closed/*."""

    statuses: tuple[str, ...] = ()        # status names (ORed); empty = use `status_id`
    status_id: str = "open"              # "open", "closed" or "*" when `statuses` is empty
    updated_before_days: float | None = None
    updated_after_days: float | None = None
    created_before_days: float | None = None
    created_after_days: float | None = None
    # (custom field name, value, policies key naming the field): Redmine's cf_<id> filter
    fields: tuple[tuple[str, str, str], ...] = ()


class Rule:
    """A condition over one issue that yields actions; subclasses set the class attributes."""

    id: ClassVar[str]
    Params: ClassVar[type[Params]] = Params
    # action names the YAML may list, and the first is the default
    actions: ClassVar[tuple[str, ...]] = ()
    # templates the YAML must give (name -> why)
    templates: ClassVar[tuple[str, ...]] = ()
    # True when the rule writes to issues a client sees (shown by `sweep rules`)
    client_facing: ClassVar[bool] = False
    # True for a rule whose comment is the regulation's reminder: no rule closes the issue in
    # the same run or within `settings.close_after_reminder_days` of it (engine._hold_closes)
    reminds: ClassVar[bool] = False

    def queries(self, ctx: RuleContext) -> list[Query]:
        """Server-side filters that bound the candidates."""
        raise NotImplementedError

    def wants(self, ctx: RuleContext, summary: Summary) -> bool:
        """A cheap check on list data before the one detail GET; False skips the issue."""
        return True

    def evaluate(self, ctx: RuleContext, issue: IssueView) -> list[Action]:
        raise NotImplementedError


R = TypeVar("R", bound=type[Rule])


class Registry(Mapping[str, type[Rule]]):
    """Rule classes by id; filled by the decorator at import."""

    def __init__(self) -> None:
        self._rules: dict[str, type[Rule]] = {}

    def register(self, rule_id: str) -> Callable[[R], R]:
        def decorate(cls: R) -> R:
            if rule_id in self._rules:
                raise ValueError(f"rule id '{rule_id}' registered twice")
            cls.id = rule_id
            self._rules[rule_id] = cls
            return cls
        return decorate

    def __getitem__(self, rule_id: str) -> type[Rule]:
        return self._rules[rule_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)


RULES = Registry()
register = RULES.register
