"""A saved plan is an approval list, not a program.

`sweep apply plan.json` never writes what the file says. It plans again, on the live issues,
with the rules the file names and at the moment it was made for (the same `Sweeper` that
`sweep plan` runs, restricted to the file's issues), and writes an action only when the rule
produces it now AND the file lists it: same rule, issue, kind, text, privacy, status, custom
fields, users and marker. Whatever the file lists that the rules do not produce — a text edited
by hand, a field the rule never sets, a close, another issue, a rule that is disabled or does
not exist — is refused and reported (exit 3 with the other "needs attention" outcomes);
nothing is written for it. An action whose issue changed since the plan stays "stale".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from policies.actions import Action, Outcome, Plan
from policies.config import Policies
from policies.rules import registered_rules


def approval_key(action: Action) -> tuple[Any, ...]:
    """What must agree between the file and the rule for a write to be approved."""
    return (action.rule, action.issue, action.action, action.notes or "", action.private,
            action.status or "", tuple(sorted((str(k), str(v)) for k, v in action.fields.items())),
            tuple(action.users), action.marker or "")


@dataclass(frozen=True)
class Vetted:
    """The file's writes split: `approved` (the rules' own actions, in the file's order) and
    `outcomes` for the rest (refused, stale) and for the file's report-only lines."""

    approved: Plan
    outcomes: tuple[Outcome, ...]


def _difference(listed: Action, produced: Iterable[Action]) -> str:
    """Why a listed write is refused, in one sentence that names no value from the file."""
    same = [a for a in produced if (a.rule, a.issue) == (listed.rule, listed.issue)]
    if not same:
        return f"refused: rule '{listed.rule}' produces no action for issue {listed.issue} now"
    kinds = [a for a in same if a.action == listed.action]
    if not kinds:
        return (f"refused: rule '{listed.rule}' produces {', '.join(sorted({a.action for a in same}))} "
                f"for this issue now, not {listed.action}")
    theirs = kinds[0]
    differing = [name for name, mine, rule in (
        ("text", listed.notes or "", theirs.notes or ""), ("private", listed.private, theirs.private),
        ("status", listed.status or "", theirs.status or ""), ("fields", listed.fields, theirs.fields),
        ("users", tuple(listed.users), tuple(theirs.users)), ("marker", listed.marker or "", theirs.marker or ""))
        if mine != rule]
    return (f"refused: not what rule '{listed.rule}' produces now (differs in: "
            f"{', '.join(differing) or 'the expected issue state'})")


def vet_plan(plan: Plan, policies: Policies, now: datetime,
             derive: Callable[[list[str], frozenset[int]], list[Action]],
             updated_on: Callable[[int], str | None]) -> Vetted:
    """Split `plan` into what may be written and what may not.

    `derive(rules, issues)` plans again with those rules over those issues only (the engine's
    Sweeper); `updated_on(issue)` reads an issue's current `updated_on` (None: it is gone), to tell
    a stale action (the issue changed since the plan) from one the rules never produced."""
    registry = registered_rules()
    outcomes: list[Outcome] = []
    writing: list[Action] = []
    for action in plan.actions:
        if action.writes:
            writing.append(action)
        else:
            outcomes.append(Outcome(action, "ok", "reported only"))
    usable = [r for r in dict.fromkeys([*plan.rules, *(a.rule for a in writing)])
              if r in registry and r in policies.rules]
    issues = frozenset(a.issue for a in writing if a.rule in usable)
    produced = derive(usable, issues) if issues else []
    by_key: dict[tuple[Any, ...], list[Action]] = {}
    for action in produced:
        if action.writes:
            by_key.setdefault(approval_key(action), []).append(action)
    approved: list[Action] = []
    current: dict[int, str | None] = {}
    for listed in writing:
        if listed.rule not in registry:
            outcomes.append(Outcome(listed, "refused", f"refused: no rule is called '{listed.rule}'"))
            continue
        if listed.rule not in policies.rules:
            outcomes.append(Outcome(listed, "refused", f"refused: rule '{listed.rule}' is not enabled in the policies"))
            continue
        matches = by_key.get(approval_key(listed))
        if matches:
            mine = matches.pop(0)
            if mine.expect_updated_on != listed.expect_updated_on:
                outcomes.append(Outcome(listed, "skipped", f"stale: issue changed since the plan (updated_on "
                                        f"{listed.expect_updated_on} → {mine.expect_updated_on})"))
            else:
                approved.append(mine)
            continue
        if listed.issue not in current:
            current[listed.issue] = updated_on(listed.issue)
        now_on = current[listed.issue]
        if now_on is not None and now_on != listed.expect_updated_on:
            outcomes.append(Outcome(listed, "skipped", f"stale: issue changed since the plan "
                                    f"(updated_on {listed.expect_updated_on} → {now_on})"))
        else:
            outcomes.append(Outcome(listed, "refused", _difference(listed, produced)))
    return Vetted(approved=Plan(now=now.isoformat(), actions=tuple(approved), rules=tuple(usable)),
                  outcomes=tuple(outcomes))

