"""policies.yaml: which rules run, where, with which parameters, actions and texts.

Validated in two steps with errors that name the key and the line: the file's shape
(pydantic), then each rule's `params` against that rule's own schema from the registry,
its action names and its templates. An unknown rule id names the known ones.
"""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helpdesk_core.errors import ConfigError
from helpdesk_core.yaml_source import load_yaml_file, load_yaml_model
from policies.calendar import SlaPolicy, WorkingCalendar
from policies.registry import Rule, registered_rules
from policies.validation import policy_problems

DEFAULT_POLICIES_PATH = Path(__file__).with_name("policies.yaml")
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


class PoliciesFile(_Strict):
    settings: Settings = Settings()
    rules: dict[str, RuleEntry]


class ResolvedRule(_Strict):
    """A rule entry after validation against the rule's own schema."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    id: str
    scope: Scope
    params: Any
    actions: tuple[str, ...]
    templates: dict[str, str]


class Policies(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    source: str
    settings: Settings
    rules: dict[str, ResolvedRule]  # enabled rules only, in file order
    # "rules.x.scope.projects.0" -> line: for errors only Redmine can find (an unknown project)
    lines: dict[str, int] = Field(default_factory=dict, repr=False)

    def config_error(self, message: str, key: str) -> ConfigError:
        """A configuration error found while sweeping, named like a load error (file, line, key)."""
        return ConfigError(message, source=self.source, key=key, line=self.lines.get(key))


def key_lines(text: str) -> dict[str, int]:
    """Line of every key path ("a.b.0") in a YAML text; {} if it does not parse."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}

    def walk(node: yaml.Node | None, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value in node.value:
                key = f"{path}.{key_node.value}" if path else str(key_node.value)
                lines[key] = key_node.start_mark.line + 1
                walk(value, key)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[f"{path}.{index}"] = item.start_mark.line + 1
                walk(item, f"{path}.{index}")

    walk(root, "")
    return lines


def _rule_problems(doc: PoliciesFile) -> list[tuple[tuple[str | int, ...], str]]:
    registry = registered_rules()
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for rule_id, entry in doc.rules.items():
        if rule_id not in registry:
            problems.append((("rules", rule_id), f"unknown rule '{rule_id}'; known: {', '.join(registry)}"))
            continue
        cls = registry[rule_id]
        try:
            cls.Params.model_validate(entry.params)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = tuple(p for p in first["loc"] if isinstance(p, str | int))
            problems.append((("rules", rule_id, "params", *loc), first["msg"]))
        for index, action in enumerate(entry.actions or []):
            if action not in cls.actions:
                problems.append((("rules", rule_id, "actions", index),
                                 f"unknown action '{action}' for {rule_id}; allowed: {', '.join(cls.actions)}"))
        if entry.enabled:
            for name in cls.templates:
                if not entry.templates.get(name, "").strip():
                    problems.append((("rules", rule_id, "templates"), f"template '{name}' is required"))
        for name in entry.templates:
            if name not in cls.templates:
                problems.append((("rules", rule_id, "templates", name),
                                 f"unknown template '{name}'; {rule_id} uses: {', '.join(cls.templates) or 'none'}"))
    # an unknown rule id is the likeliest typo: report it before anything else
    return sorted(problems, key=lambda p: not p[1].startswith("unknown rule"))


def _resolve(doc: PoliciesFile, source: str, text: str = "") -> Policies:
    registry = registered_rules()
    resolved: dict[str, ResolvedRule] = {}
    for rule_id, entry in doc.rules.items():
        if not entry.enabled:
            continue
        cls: type[Rule] = registry[rule_id]
        actions = tuple(entry.actions) if entry.actions is not None else cls.actions[:1]
        resolved[rule_id] = ResolvedRule(id=rule_id, scope=entry.scope,
                                         params=cls.Params.model_validate(entry.params),
                                         actions=actions, templates=dict(entry.templates))
    return Policies(source=source, settings=doc.settings, rules=resolved, lines=key_lines(text))


def load_policies(path: Path | None = None) -> Policies:
    """The given policies file, or the bundled defaults; `ConfigError` names key and line."""
    if path is None:
        text = DEFAULT_POLICIES_PATH.read_text(encoding="utf-8")
        return parse_policies(text, source=DEFAULT_POLICIES_PATH.name)
    doc = load_yaml_file(path, PoliciesFile, check=_load_problems)
    return _resolve(doc, str(path), path.read_text(encoding="utf-8"))


def parse_policies(text: str, *, source: str = "policies.yaml") -> Policies:
    return _resolve(load_yaml_model(text, PoliciesFile, source=source, check=_load_problems), source, text)


def _load_problems(doc: PoliciesFile) -> list[tuple[tuple[str | int, ...], str]]:
    """Schema-level rule problems first, then the load-time checks (templates, time zone)."""
    return _rule_problems(doc) + policy_problems(doc)
