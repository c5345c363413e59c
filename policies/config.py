"""policies.yaml: which rules run, where, with which parameters, actions and texts.

Validated in two steps with errors that name the key and the line: the file's shape
(pydantic), then each rule's `params` against that rule's own schema from the registry,
its action names and its templates. An unknown rule id names the known ones.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ConfigDict, Field, ValidationError

from helpdesk_core.errors import ConfigError
from helpdesk_core.yaml_source import load_yaml_file, load_yaml_model
from policies.registry import Rule
from policies.rules import registered_rules
from policies.settings import (  # noqa: F401  (re-exported: callers import them from here)
    ANY,
    CalendarSpec,
    ComplaintFields,
    ResolvedRule,
    RuleEntry,
    Scope,
    Settings,
    Statuses,
    SupportDetection,
    _Strict,
)
from policies.validation import policy_problems

DEFAULT_POLICIES_PATH = Path(__file__).with_name("policies.yaml")


class PoliciesFile(_Strict):
    settings: Settings = Settings()
    rules: dict[str, RuleEntry]


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


def local_choices(policies: Policies) -> dict[str, list[str]]:
    """The choices of ours in force that the regulation does not make (issue 18.5), so that
    `sweep rules` and policies/README can say "local, not the regulation": "settings" and
    one list per enabled rule id (empty lists when the file follows the regulation only)."""
    settings = policies.settings
    found: dict[str, list[str]] = {"settings": [], **{rule_id: [] for rule_id in policies.rules}}
    if settings.calendar.holidays:
        found["settings"].append(f"settings.calendar.holidays: {len(settings.calendar.holidays)} date(s) stop "
                                 "the clocks (the regulation: support works «ежедневно»)")
    for priority in ("Блокер", "Критический"):
        if settings.sla.analysis.get(priority) is not None:
            found["settings"].append(f"settings.sla.analysis.{priority}: a budget (the regulation gives no "
                                     "number: «с максимально возможным приоритетом»)")
    for priority in ("Высокий", "Средний", "Низкий"):
        target = settings.sla.analysis.get(priority)
        if target is not None and not target.round_the_clock:
            found["settings"].append(f"settings.sla.analysis.{priority}: counted in working time (the regulation: "
                                     "«в течение … дней», «до 5 суток», support works «ежедневно»)")
    stale = policies.rules.get("stale-year-close")
    if stale is not None and stale.params.after_days is not None:
        found[stale.id].append(f"after_days: {stale.params.after_days:g} (the regulation: «через 1 год», "
                               "the same date next year)")
    if stale is not None and stale.params.wait_days is not None:
        found[stale.id].append(f"wait_days: {stale.params.wait_days:g} (the regulation sets no wait)")
    analysis = policies.rules.get("sla-analysis")
    if analysis is not None and analysis.params.stop_statuses:
        found[analysis.id].append(f"stop_statuses: {', '.join(analysis.params.stop_statuses)} (the regulation "
                                  "ends the analysis with support's message about the next steps)")
    return found
