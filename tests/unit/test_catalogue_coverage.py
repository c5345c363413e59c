"""Every code a Russian reader meets on screen has its Russian: object kinds (a chart's categories
translate only when all of them are known), outcomes, finding categories, sweep actions."""

from __future__ import annotations

import typing

from helpdesk_core.messages import RUSSIAN_CODES, RUSSIAN_MESSAGES
from migrator.outcome import KINDS, VERBS, FindingCategory
from policies.actions import ActionKind


def test_every_object_kind_outcome_category_and_action_reads_in_russian() -> None:
    assert set(KINDS) <= set(RUSSIAN_CODES["kind"])
    assert all(RUSSIAN_MESSAGES.text(verb) != verb for verb in VERBS)
    assert set(typing.get_args(FindingCategory)) <= set(RUSSIAN_CODES["category"])
    assert set(typing.get_args(ActionKind)) <= set(RUSSIAN_CODES["action"])


def test_a_migration_chart_with_every_kind_reads_in_russian() -> None:
    from datetime import UTC, datetime

    from helpdesk_core.report import Chart, Report, Section, Series

    chart = Chart(kind="stacked-bar", title="Objects by outcome", categories=list(KINDS),
                  series=[Series(name=v, values=[1] * len(KINDS)) for v in VERBS])
    shown = RUSSIAN_MESSAGES.localize(Report(title="Migration run", generated_at=datetime(2026, 1, 1, tzinfo=UTC),
                                             sections=[Section(title="What it does", chart=chart)]))
    categories = shown.sections[0].chart.categories  # type: ignore[union-attr]
    assert "project" not in categories and "пользователь" in categories and "трудозатраты" in categories
