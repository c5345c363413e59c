"""sla-analysis on the real Redmine: time in «Требует обратной связи» does not count.

The status history comes from Redmine's journals (journal_details rows with `status_id`), so
moving each journal's `created_on` with `rails runner` moves the status changes; the
details themselves carry no date.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpdesk_core.provision import MARKER_FIELD
from tests.integration import test_sweep_redmine as harness
from tests.integration.test_sweep_redmine import World, sweep_marks, writes

pytestmark = pytest.mark.redmine
live, people, world = harness.live, harness.people, harness.world
MSK = ZoneInfo("Europe/Moscow")


def test_analysis_clock_pauses_in_feedback(world: World) -> None:
    # Высокий: 1 сутки from the acceptance (23.11 10:10). 1 h 50 min used before the question,
    # paused until the client's answer the next morning, 22 h 10 min left from 24.11 10:00 →
    # due 25.11 08:10, not 24.11 10:10 as it would be if the night in feedback counted.
    created = datetime(2026, 11, 23, 10, 0, tzinfo=MSK)
    issue = world.create_issue(priority="Высокий", subject="Не считается сбор")
    taken = world.update(issue, by=world.support, status="В работе")
    # the sweep's completeness `ask` (the API key's user, its marker in the field) pauses the
    # analysis; a support person's comment would end it (issue 18.4: the next steps were told)
    fields = {f["name"]: int(f["id"]) for f in world.gw.get("/custom_fields.json")["custom_fields"]}
    statuses = world.ids("/issue_statuses.json", "issue_statuses")
    world.gw.put(f"/issues/{issue}.json", {"issue": {
        "notes": "Пожалуйста, дополните обращение: номер заказа", "status_id": statuses["Требует обратной связи"],
        "custom_fields": [{"id": fields[MARKER_FIELD], "value": f"[helpdesk:completeness-audit:ask-{issue}]"}]}})
    asked = int(world.issue(issue)["journals"][-1]["id"])
    answer = world.update(issue, by=world.client, notes="Номер заказа 1234567")
    resumed = world.update(issue, by=world.support, status="В работе")
    back = datetime(2026, 11, 24, 10, 0, tzinfo=MSK)
    world.backdate(issue, created, {taken: created + timedelta(minutes=10), asked: created + timedelta(hours=2),
                                    answer: back, resumed: back})
    history = [(d["old_value"], d["new_value"]) for j in world.issue(issue)["journals"]
               for d in j["details"] if d["name"] == "status_id"]
    assert len(history) == 3  # the clock's input really is in Redmine's journal_details

    only = ("--only", "sla-analysis")
    code, calm = world.sweep("plan", datetime(2026, 11, 24, 14, 0, tzinfo=MSK), *only)
    assert code == 0, calm
    assert calm["actions"] == []  # 5 h 50 min of 24 h used; without the pause it would be breached
    code, risk = world.sweep("plan", datetime(2026, 11, 25, 5, 0, tzinfo=MSK), *only)
    assert code == 0, risk  # at risk is not yet a breach
    assert [(a["issue"], a["sla"]) for a in risk["actions"]] == [(issue, "at-risk")]
    due = datetime(2026, 11, 25, 8, 10, tzinfo=MSK)
    code, plan = world.sweep("plan", datetime(2026, 11, 25, 8, 30, tzinfo=MSK), *only)
    assert code == 3, plan
    assert [(a["issue"], a["sla"]) for a in plan["actions"]] == [(issue, "breached")]
    assert datetime.fromisoformat(plan["actions"][0]["deadline"]) == due
    code, result = world.sweep("run", datetime(2026, 11, 25, 8, 30, tzinfo=MSK), *only,
                               "--allow-far-now")  # a fixed day: writes even once it is long past
    assert code == 3, result  # done, and the breach needs attention
    assert writes(result) == [("sla-analysis", issue, "ok")]
    mark, note = world.issue(issue)["journals"][-2:]  # Redmine splits a private note from its field change
    assert note["private_notes"] is True and "[helpdesk:sla-analysis:breached]" in sweep_marks(mark)
