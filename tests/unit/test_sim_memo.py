"""The simulated year's shortcuts answer what the plain fake answers (tests/sim/fake.py,
tests/sim/memo.py): an indexed /issues.json gives the same rows in the same order for the same
request count, and a remembered issue is handed out only while it is unchanged."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from policies.config import load_policies
from tests.sim.fake import SimRedmine
from tests.sim.memo import Memo, MemoSweeper
from tests.unit.test_sweep_fake import STATUSES, FakeRedmine, z

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _tracker() -> SimRedmine:
    fake = SimRedmine(NOW)
    names = [name for _, name, _ in STATUSES]
    for n in range(24):
        issue = fake.add_issue(created=NOW - timedelta(days=n), tracker=["Баг", "Задача", "Обсуждение"][n % 3])
        for step in range(n % 4):
            fake.journal(issue, NOW - timedelta(days=n) + timedelta(hours=step + 1), notes="x",
                         status=names[(n + step) % len(names)])
    return fake


def test_indexed_issue_lists_are_the_plain_fakes_rows_in_order_with_the_same_request_count() -> None:
    fake = _tracker()
    moment = z(NOW - timedelta(days=9))
    statuses = ["open", "closed", "*", "3", "3|4", "5|6"]
    filters = [{}, {"updated_on": "<=" + moment}, {"created_on": ">=" + moment},
               {"created_on": f"><{z(NOW - timedelta(days=20))}|{moment}"}, {"tracker_id": "1|3"},
               {"project_id": "acme"}]
    for status, extra in itertools.product(statuses, filters):
        params = {"status_id": status, **extra}
        before = fake.stats.by_method["GET"]
        indexed = list(fake.iterate("/issues.json", "issues", params))
        spent = fake.stats.by_method["GET"] - before
        plain = list(FakeRedmine.iterate(fake, "/issues.json", "issues", params))
        assert indexed == plain, params
        assert spent == fake.stats.by_method["GET"] - before - spent, params
    assert any(list(fake.iterate("/issues.json", "issues", {"status_id": s})) for s in statuses)


def test_a_remembered_issue_is_reused_until_it_changes_and_its_conversation_goes_with_it() -> None:
    fake = _tracker()
    memo = Memo()
    policies = load_policies()

    def view(issue: int) -> object:
        sweeper = MemoSweeper(fake, policies, NOW, memo=memo)
        sweeper.plan()  # sets the run's facts and sweep users, fills the memo
        return sweeper.detail(issue)

    first = view(1)
    assert view(1) is first
    memo.conversations[(1, "any", 0)] = object()
    fake.post("/issues/1/watchers.json", {"user_id": 10})  # no journal, no updated_on: still a change
    again = view(1)
    assert again is not first and again.watchers == (10,)  # type: ignore[attr-defined]
    assert (1, "any", 0) not in memo.conversations
