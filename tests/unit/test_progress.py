"""Progress bars: rate and ETA on a terminal, not one byte on a pipe; fed by the gateway's pages."""

from __future__ import annotations

import io

import responses
from rich.console import Console

from helpdesk_cli.progress import MIN_TOTAL, Bars
from helpdesk_core.gateway import Gateway
from tests.unit.test_gateway import URL, settings


def test_nothing_on_a_pipe() -> None:
    out = io.StringIO()
    bars = Bars(Console(file=out, force_terminal=False))
    for done in range(0, 5001, 500):
        bars.update("/issues.json", done, 5000)
    bars.close()
    assert out.getvalue() == ""


def test_a_bar_with_count_and_rate_on_a_terminal() -> None:
    out = io.StringIO()
    bars = Bars(Console(file=out, force_terminal=True, width=120))
    for done in range(0, 2001, 100):
        bars.update("/time_entries.json", done, 2000)
    bars._progress.refresh()  # type: ignore[union-attr]  # what a person sees, now, not at the next tick
    bars.close()
    shown = out.getvalue()
    assert "/time_entries.json" in shown and "2000/2000" in shown and "/s" in shown


def test_short_reads_get_no_bar() -> None:
    out = io.StringIO()
    bars = Bars(Console(file=out, force_terminal=True))
    bars.update("/roles.json", 10, MIN_TOTAL - 1)
    bars.close()
    assert out.getvalue() == ""


@responses.activate
def test_gateway_reports_each_page_of_a_collection() -> None:
    for offset, ids in ((0, [1, 2]), (2, [3, 4]), (4, [5])):
        responses.get(f"{URL}/issues.json", match=[responses.matchers.query_param_matcher(
            {"sort": "id", "limit": "2", "offset": str(offset)})],
            json={"issues": [{"id": i} for i in ids], "total_count": 5})
    seen: list[tuple[str, int, int | None]] = []
    gateway = Gateway(settings(), progress=lambda path, done, total: seen.append((path, done, total)))
    assert [i["id"] for i in gateway.iterate("/issues.json", "issues", page_size=2)] == [1, 2, 3, 4, 5]
    assert seen == [("/issues.json", 2, 5), ("/issues.json", 4, 5), ("/issues.json", 5, 5)]


def test_a_sweep_reports_each_candidate_read_in_full() -> None:
    from datetime import timedelta

    from policies.engine import plan_sweep
    from tests.unit.test_sweep_rules import AUDIT, POLICIES, T0, FakeRedmine, awaiting_client

    fake = FakeRedmine(T0)
    for _ in range(3):
        awaiting_client(fake, T0)
    seen: list[tuple[int, int]] = []
    fake.now = T0 + timedelta(days=6)
    plan = plan_sweep(fake, POLICIES, fake.now, audit=AUDIT, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (plan.candidates, plan.candidates)
    assert all(done <= total for done, total in seen)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
