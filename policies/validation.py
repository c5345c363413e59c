"""Policies checked when they are loaded, not when a rule fires (issue 19.7).

A note template with a stray `{`, a positional `{0}`, a conversion `{x!z}`, a format spec
`{x:%Y}` or a name the rule never supplies, and a mistyped time zone (`Europe/Moskow`), used to
surface days later as a traceback from cron, or as a raw `{dealine}` in a client's email. Here
they are configuration errors naming the key (exit 2) before any read or write.

The names a template may use are asked of the rule class itself: they are the keywords of its
`ctx.render(<template>, ...)` calls, read from the class's source (and its bases'), so they
cannot drift from what the rule really supplies. Where a call spreads a dict (`**values`), the
string keys of the dict literals and value helpers of the class's module are added; a template
whose names cannot be told at all is checked for syntax only.
"""

from __future__ import annotations

import ast
import inspect
import string
import textwrap
from collections.abc import Iterable
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from policies.registry import Rule
from policies.rules import registered_rules

KeyPath = tuple[str | int, ...]
Problem = tuple[KeyPath, str]


def template_syntax(text: str) -> tuple[list[str], str | None]:
    """The placeholder names of `text`, or why it cannot be a note template."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        return [], f"not a valid template ({exc}): a literal brace is written doubled: {{{{, }}}}"
    names: list[str] = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name == "" or name.isdigit():
            return names, f"placeholder '{{{name}}}' has no name: use one of the rule's names, e.g. {{issue}}"
        if not name.isidentifier():
            return names, f"placeholder '{{{name}}}': only plain names (no attributes, no indexes)"
        if conversion is not None:
            return names, f"placeholder '{{{name}!{conversion}}}': conversions are not supported"
        if spec:
            return names, f"placeholder '{{{name}:{spec}}}': format specs are not supported (values arrive formatted)"
        names.append(name)
    return names, None


def _sources(cls: type[Rule]) -> list[tuple[ast.Module, ast.ClassDef]]:
    """The syntax trees of the rule class and of its bases up to `Rule`, each with its module."""
    found = []
    for klass in cls.__mro__:
        if klass is Rule or not issubclass(klass, Rule):
            continue
        try:
            module = ast.parse(inspect.getsource(inspect.getmodule(klass)))  # type: ignore[arg-type]
            node = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0]
        except (OSError, TypeError, SyntaxError):
            continue
        if isinstance(node, ast.ClassDef):
            found.append((module, node))
    return found


def _dict_keys(nodes: Iterable[ast.AST]) -> set[str]:
    return {k.value for node in nodes for d in ast.walk(node) if isinstance(d, ast.Dict)
            for k in d.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}


def _template_argument(node: ast.AST, helpers: dict[str, ast.FunctionDef]) -> ast.Constant | None:
    """The template id of a render call: `ctx.render("id", ...)`, or a module helper that renders
    its `template` parameter (`_render_promise(ctx, "id", ...)`), given by keyword or position."""
    if not isinstance(node, ast.Call):
        return None
    if isinstance(node.func, ast.Attribute) and node.func.attr == "render":
        first = node.args[0] if node.args else None
        return first if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
    helper = helpers.get(node.func.id) if isinstance(node.func, ast.Name) else None
    if helper is None or not any(isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
                                 and c.func.attr == "render" for c in ast.walk(helper)):
        return None
    params = [a.arg for a in helper.args.args]
    if "template" not in params:
        return None
    at = params.index("template")
    given = node.args[at] if at < len(node.args) else next(
        (k.value for k in node.keywords if k.arg == "template"), None)
    return given if isinstance(given, ast.Constant) and isinstance(given.value, str) else None


@cache
def template_names(cls: type[Rule]) -> dict[str, frozenset[str] | None]:
    """Per template of `cls`: the names its render calls supply (None: cannot be told)."""
    names: dict[str, set[str]] = {}
    unknown: set[str] = set()
    for module, klass in _sources(cls):
        helpers = {f.name: f for f in module.body if isinstance(f, ast.FunctionDef)}
        for call in ast.walk(klass):
            template_arg = _template_argument(call, helpers)
            if template_arg is None:
                continue
            template = str(template_arg.value)
            supplied = names.setdefault(template, set())
            for keyword in call.keywords:
                if keyword.arg is not None:
                    supplied.add(keyword.arg)
                    continue
                spread = keyword.value
                if isinstance(spread, ast.Call) and isinstance(spread.func, ast.Name) and spread.func.id in helpers:
                    keys = _dict_keys([helpers[spread.func.id]])
                else:  # a dict built elsewhere in the class (or its subclasses' calls)
                    keys = _dict_keys([k for _, k in _sources(cls)]) | _dict_keys(
                        [c for c in module.body if isinstance(c, ast.ClassDef)
                         and any(isinstance(b, ast.Name) and b.id == klass.name for b in c.bases)])
                if keys:
                    supplied |= keys
                else:
                    unknown.add(template)
    return {t: None if t in unknown else frozenset(n) for t, n in names.items()}


def template_problems(rules: dict[str, object]) -> list[Problem]:
    """Every template of every configured rule: syntax, and names the rule supplies."""
    registry = registered_rules()
    problems: list[Problem] = []
    for rule_id, entry in rules.items():
        cls = registry.get(rule_id)
        templates: dict[str, str] = getattr(entry, "templates", {}) or {}
        for name, text in templates.items():
            key: KeyPath = ("rules", rule_id, "templates", name)
            used, problem = template_syntax(text)
            if problem is not None:
                problems.append((key, problem))
                continue
            known = template_names(cls).get(name) if cls is not None else None
            if known is None:
                continue
            strange = [n for n in used if n not in known]
            if strange:
                problems.append((key, f"unknown placeholder '{{{strange[0]}}}'; {rule_id} supplies: "
                                      f"{', '.join(sorted(known)) or 'none'}"))
    return problems


def zone_problem(name: str, key: KeyPath) -> list[Problem]:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return [(key, f"unknown time zone '{name}' (e.g. Europe/Moscow)")]
    return []


def policy_problems(doc: object) -> list[Problem]:
    """All load-time checks of a policies file (a `PoliciesFile`)."""
    settings = getattr(doc, "settings", None)
    zone = getattr(getattr(settings, "calendar", None), "timezone", None)
    problems = zone_problem(zone, ("settings", "calendar", "timezone")) if isinstance(zone, str) else []
    return problems + template_problems(getattr(doc, "rules", {}))
