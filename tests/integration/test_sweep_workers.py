"""`sweep plan --workers N` against the real local Redmine: the same plan as one by one, and
one detail GET per candidate per run however many rules judge it.

Same harness as test_sweep_redmine.py (own project, policies scoped to it, dates moved with
`rails runner`).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.integration import test_sweep_redmine as harness
from tests.integration.test_sweep_redmine import BASE, World, asked

pytestmark = pytest.mark.redmine
# the harness's fixtures, by name (pytest finds fixtures in the module's namespace)
live, people, world = harness.live, harness.people, harness.world


def test_concurrent_reads_plan_the_same_and_read_each_candidate_once(world: World) -> None:
    waiting = [asked(world, BASE)[0] for _ in range(3)]
    answered, _ = asked(world, BASE)
    reply = world.update(answered, by=world.client, notes="Номер заказа 7654321")
    world.backdate(answered, BASE - timedelta(hours=1), {reply: BASE + timedelta(days=1)})
    verify = world.create_issue()
    done = world.update(verify, by=world.support, notes="Исправлено", status="Решено, требует проверки")
    world.backdate(verify, BASE, {done: BASE + timedelta(days=1)})
    now = BASE + timedelta(days=6, hours=1)

    code, one_by_one = world.sweep("plan", now, "--workers", "1")
    assert code == 0, one_by_one
    code, concurrent = world.sweep("plan", now, "--workers", "4")
    assert code == 0, concurrent
    assert concurrent == one_by_one  # actions in the same order, candidates, requests
    assert {(a["rule"], a["issue"]) for a in concurrent["actions"]} == {
        *(("feedback-reminder", i) for i in waiting), ("client-reply-resume", answered),
        ("verification-autoclose", verify)}

    # Three feedback rules judge every waiting issue (and delay-complaint the open ones):
    # two more waiting issues cost two more requests, not six.
    more = [asked(world, BASE)[0] for _ in range(2)]
    code, grown = world.sweep("plan", now, "--workers", "4")
    assert code == 0, grown
    assert {a["issue"] for a in grown["actions"] if a["rule"] == "feedback-reminder"} == {*waiting, *more}
    assert grown["candidates"] - concurrent["candidates"] == 2
    assert grown["requests"] - concurrent["requests"] == 2
