"""`sweep plan --workers N`: candidates read concurrently, the plan exactly the one-by-one plan.

The world holds a candidate of every rule (several rules share some of them) and an issue
deleted between the list and its detail GET. The fake answers each detail GET after a
delay that differs per issue, so concurrent reads finish out of order.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from helpdesk_core.errors import ConfigError, NotFoundError, UnavailableError
from policies.actions import Plan
from policies.engine import plan_sweep
from policies.rules import registered_rules
from tests.unit.test_sweep_fake import ADMIN, CLIENT, CUSTOM_FIELDS, SUPPORT, FakeRedmine
from tests.unit.test_sweep_rules import AUDIT, POLICIES, T0, awaiting_client

NOW = T0 + timedelta(days=6)
BUTTON, COUNTER = CUSTOM_FIELDS["Пожаловаться на задержку"], CUSTOM_FIELDS["Жалобы на задержку"]


class SlowFake(FakeRedmine):
    """Detail GETs take 1-9 ms (by issue id), are counted per issue, and may fail on demand."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.details: Counter[int] = Counter()
        self.vanished: set[int] = set()   # listed, then 404 on the detail GET
        self.failing: set[int] = set()    # the detail GET fails (Redmine unreachable)
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()

    def get(self, path: str, params: Any = None, *, as_user: str | None = None) -> dict[str, Any]:
        if not path.startswith("/issues/"):
            return super().get(path, params, as_user=as_user)
        issue_id = int(path.split("/")[2].split(".")[0])
        with self._lock:
            self.details[issue_id] += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep((issue_id * 7 % 9 + 1) / 1000)
            if issue_id in self.failing:
                self.stats.count("GET")
                raise UnavailableError("connection failed; gave up after 6 attempts", method="GET", path=path)
            if issue_id in self.vanished:
                self.stats.count("GET")
                raise NotFoundError("not found", method="GET", path=path, status=404)
            return super().get(path, params, as_user=as_user)
        finally:
            with self._lock:
                self.in_flight -= 1


def world() -> SlowFake:
    """A candidate for every rule at NOW, and closed issues no rule reads."""
    fake = SlowFake(NOW)
    for _ in range(30):  # old and closed: listed by nobody's filters
        issue = fake.add_issue(created=T0 - timedelta(days=90), status="В работе")
        fake.journal(issue, T0 - timedelta(days=80), status="Закрыто")
    for _ in range(8):  # feedback-reminder due (also sla-analysis, resume and autoclose read them)
        awaiting_client(fake, T0)
    for _ in range(3):  # reminded 6 days ago: feedback-autoclose due
        issue = awaiting_client(fake, T0 - timedelta(days=6))
        asked = fake.issues[issue]["journals"][-1]["id"]
        fake.journal(issue, T0, user=ADMIN, notes=f"Напоминаем.\n\n[helpdesk:feedback-reminder:{asked}]")
    for _ in range(3):  # the client answered: client-reply-resume
        issue = awaiting_client(fake, T0)
        fake.journal(issue, T0 + timedelta(days=1), user=CLIENT, notes="Номер заказа 1234567")
    verify = fake.add_issue(created=T0 - timedelta(days=3))
    fake.journal(verify, T0, user=SUPPORT, notes="Исправлено", status="Решено, требует проверки")
    closed = fake.add_issue(created=T0 - timedelta(days=3))
    fake.journal(closed, T0, user=SUPPORT, notes="Готово", status="Закрыто")
    fake.journal(closed, T0 + timedelta(days=2), user=CLIENT, notes="А ещё вопрос")
    for priority in ("Блокер", "Средний"):  # sla-reaction
        fake.add_issue(created=NOW - timedelta(hours=3), priority=priority)
    working = fake.add_issue(created=NOW - timedelta(days=5), priority="Высокий")  # sla-analysis
    fake.journal(working, NOW - timedelta(days=5) + timedelta(hours=1), user=SUPPORT, status="В работе")
    fake.add_issue(created=NOW - timedelta(hours=2), subject="ВСЁ СЛОМАЛОСЬ!!!",
                   description="НИЧЕГО НЕ РАБОТАЕТ, СРОЧНО ИСПРАВЬТЕ!!!")  # tone-audit
    pressed = fake.add_issue(created=T0 + timedelta(days=5), status="В работе")
    fake.journal(pressed, T0 + timedelta(days=5), user=SUPPORT, fields={COUNTER: "0", BUTTON: "0"})
    fake.journal(pressed, NOW - timedelta(hours=1), user=CLIENT, fields={BUTTON: "1"})  # delay-complaint
    fake.vanished.add(awaiting_client(fake, T0))
    return fake


def sweep(fake: FakeRedmine, workers: int, **kwargs: Any) -> Plan:
    return plan_sweep(fake, POLICIES, NOW, audit=AUDIT, workers=workers, **kwargs)


@pytest.mark.parametrize("workers", [2, 8])
def test_the_plan_is_the_same_with_concurrent_reads(workers: int) -> None:
    one_by_one, concurrent = world(), world()
    expected, plan = sweep(one_by_one, 1), sweep(concurrent, workers)
    assert {a.rule for a in expected.actions} >= {
        "feedback-reminder", "feedback-autoclose", "client-reply-resume", "verification-autoclose",
        "closed-reply-redirect", "sla-reaction", "sla-analysis", "tone-audit", "delay-complaint"}
    assert plan.to_json() == expected.to_json()  # actions in the same order, same candidates and requests
    assert one_by_one.most_in_flight == 1 and concurrent.most_in_flight > 1


def test_each_candidate_is_read_once_per_run_however_many_rules_want_it(monkeypatch: pytest.MonkeyPatch) -> None:
    judged: Counter[int] = Counter()  # rules that evaluated each issue
    for cls in set(registered_rules().values()):
        def spy(self: Any, ctx: Any, issue: Any, _evaluate: Any = cls.evaluate) -> Any:
            judged[issue.id] += 1
            return _evaluate(self, ctx, issue)
        monkeypatch.setattr(cls, "evaluate", spy)
    fake = world()
    seen: list[tuple[int, int]] = []
    plan = sweep(fake, 4, progress=lambda done, total: seen.append((done, total)))
    assert max(judged.values()) >= 4  # a waiting issue: reminder, autoclose, resume, sla-analysis
    assert set(fake.details.values()) == {1}
    assert len(fake.details) == plan.candidates  # the vanished issue too: read once, then left out
    assert seen[-1] == (plan.candidates, plan.candidates)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_failed_read_stops_the_plan_with_its_error_as_one_by_one() -> None:
    errors = []
    for workers in (1, 4):
        fake = world()
        victim = sorted(i for i, v in fake.issues.items() if v["status"]["id"] == 3)[2]  # 3rd reminder candidate
        fake.failing.add(victim)
        with pytest.raises(UnavailableError) as caught:
            sweep(fake, workers)
        errors.append(str(caught.value))
        assert fake.details[victim] == 1
        assert sum(fake.details.values()) <= 2 + 2 * workers  # reads ahead stop: not the rest of the run
    assert errors[0] == errors[1] and "/issues/" in errors[0]


def test_a_config_error_found_while_listing_comes_after_the_candidates_before_it() -> None:
    """sla-reaction's pre-check raises for a priority without a budget (one Redmine no longer
    lists, so the budget check at the start cannot see it), after the issues listed before it:
    the same error, whatever the number of workers."""
    messages = []
    for workers in (1, 4):
        fake = world()
        fake.add_issue(created=NOW - timedelta(hours=3), priority="Срочный")
        with pytest.raises(ConfigError) as caught:
            sweep(fake, workers)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "Срочный" in messages[0]
