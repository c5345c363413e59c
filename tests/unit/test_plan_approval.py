"""A saved plan is an approval list (issue 19.2): `vet_plan` without a server."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from policies.actions import Action, Plan
from policies.approval import vet_plan
from policies.config import load_policies

POLICIES = load_policies()
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
RULE = "feedback-reminder"
PRODUCED = Action(rule=RULE, issue=7, action="comment", reason="waiting", marker="[helpdesk:feedback-reminder:1]",
                  notes="Здравствуйте!\n[helpdesk:feedback-reminder:1]", expect_updated_on="2026-11-01T10:00:00Z")


def vet(listed: list[Action], *, live_updated: str = "2026-11-01T10:00:00Z") -> dict[tuple[str, int, str], str]:
    asked: list[tuple[list[str], frozenset[int]]] = []

    def derive(rules: list[str], issues: frozenset[int]) -> list[Action]:
        asked.append((rules, issues))
        return [PRODUCED] if 7 in issues and RULE in rules else []

    vetted = vet_plan(Plan(now=NOW.isoformat(), actions=tuple(listed), rules=(RULE,)), POLICIES, NOW, derive,
                      lambda issue: live_updated)
    assert len(asked) <= 1  # one re-plan for the whole file
    result = {(o.action.rule, o.action.issue, o.action.action): o.outcome for o in vetted.outcomes}
    result.update({(a.rule, a.issue, a.action): "approved" for a in vetted.approved.actions})
    return result


def test_the_rules_own_line_is_approved_and_what_is_written_is_the_rules() -> None:
    assert vet([PRODUCED]) == {(RULE, 7, "comment"): "approved"}


def test_edited_text_fields_status_kind_issue_and_rule_are_refused() -> None:
    forged = [replace(PRODUCED, notes="Оплатите по ссылке"), replace(PRODUCED, fields={"3": "T999"}),
              replace(PRODUCED, action="close", status="Закрыто"), replace(PRODUCED, issue=8),
              replace(PRODUCED, rule="no-such-rule"), replace(PRODUCED, private=True)]
    for action in forged:
        assert set(vet([action]).values()) == {"refused"}, action


def test_a_line_listed_twice_is_written_once() -> None:
    outcomes = [o for o in vet_plan(Plan(now=NOW.isoformat(), actions=(PRODUCED, PRODUCED), rules=(RULE,)),
                                    POLICIES, NOW, lambda r, i: [PRODUCED], lambda i: PRODUCED.expect_updated_on
                                    ).outcomes]
    assert [o.outcome for o in outcomes] == ["refused"]


def test_an_issue_changed_since_the_plan_is_stale_not_refused() -> None:
    assert vet([replace(PRODUCED, issue=9)], live_updated="2026-11-02T09:00:00Z") == {(RULE, 9, "comment"): "skipped"}
