"""Load-time checks of policies and mappings (issue 19.7), without a server."""

from __future__ import annotations

import pytest

from helpdesk_core.mapping_checks import field_name_problems, permission_problems
from helpdesk_core.mappings import load_mappings
from policies.config import DEFAULT_POLICIES_PATH, load_policies
from policies.rules import registered_rules
from policies.validation import template_names, template_syntax


def test_placeholder_names_are_asked_of_the_rule_classes() -> None:
    """Read from each class's own render calls (helpers and spread dicts included), not a list."""
    registry = registered_rules()
    assert template_names(registry["feedback-reminder"])["comment"] >= {"issue", "since", "close_in", "days_text"}
    assert template_names(registry["sla-reaction"])["note"] >= {"state", "deadline", "priority"}
    assert template_names(registry["delay-complaint"])["note"] >= {"summary", "journal", "evidence"}
    for rule_id, cls in registry.items():
        assert set(template_names(cls)) == set(cls.templates), rule_id


def test_every_bundled_template_passes_its_own_rule() -> None:
    assert load_policies(DEFAULT_POLICIES_PATH).rules  # the shipped texts use only supplied names


@pytest.mark.parametrize("text", ["{", "}", "{0}", "{}", "{x!z}", "{x!r}", "{x:%Y}", "{x.y}", "{x[0]}"])
def test_template_syntax_refusals(text: str) -> None:
    assert template_syntax(f"Здравствуйте! {text}")[1] is not None


def test_plain_names_and_doubled_braces_are_fine() -> None:
    assert template_syntax("Обращение #{issue}: {{не поле}} {days_text}") == (["issue", "days_text"], None)


def test_bundled_mappings_know_every_permission_and_name_each_field_once() -> None:
    mappings = load_mappings()
    assert permission_problems(mappings) == [] and field_name_problems(mappings) == []
