"""From the last migrated ticket, the tracker runs by the regulation on the portal's timeline.

Each case below is a ticket whose portal history makes a sweep rule due today. It exists
twice in the real local Redmine: *migrated* (an export with that history → `migrate run` →
`fix-dates` through `rails runner`) and *native* (created through the API by the same people,
statuses changed by support, dates moved with `rails runner`, as the sweep tests do). The
sweep planned at the real current time must plan the same for both, case by case.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpdesk_core.clock import MOSCOW
from helpdesk_core.gateway import Gateway
from tests.conftest import REPO, LocalRedmine
from tests.integration import test_sweep_redmine as harness
from tests.integration.test_sweep_redmine import HELPDESK, POLICIES_YAML, support_project, sweep_marks

pytestmark = pytest.mark.redmine
live = harness.live  # the running sqlite Redmine (or the `redmine` fixture starts it)

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
DESCRIPTION = "Заказ 1234567, логин agent1, страница https://example.org/order/1234567"


@dataclass
class Case:
    """A ticket: created `age` days ago; events at `day` days after creation.

    An event is ("status", name, by) or ("comment", text, by), by "S" (support), "C" (the
    client) or None (the portal itself). `history=False` exports no status_history: only the
    final status, at updated_at (closed_at when closed), which is what the native twin gets.
    """

    name: str
    age: float
    events: list[tuple[float, str, str, str | None]] = field(default_factory=list)
    priority: str = "Средний"
    history: bool = True
    due: str | None = None  # a rule the native plan must contain for this case (else the case proves nothing)

    @property
    def created(self) -> datetime:
        return NOW - timedelta(days=self.age)

    def at(self, day: float) -> datetime:
        return self.created + timedelta(days=day)

    @property
    def status(self) -> str:
        statuses = [value for _, kind, value, _ in self.events if kind == "status"]
        return statuses[-1] if statuses else "На рассмотрении"

    @property
    def last(self) -> datetime:
        return max([self.created, *(self.at(day) for day, *_ in self.events)])

    def status_events(self) -> list[tuple[float, str, str, str | None]]:
        changes = [e for e in self.events if e[1] == "status"]
        if self.history or not changes:
            return changes
        return [(max(day for day, *_ in self.events), "status", changes[-1][2], None)]


ASK = "Уточните, пожалуйста, номер бронирования и время ошибки."
CASES = [
    Case("reminder", 20, [(0.05, "status", "В работе", "S"), (2, "comment", ASK, "S"),
                          (2, "status", "Требует обратной связи", "S")], due="feedback-reminder"),
    Case("reminder-then-close", 30, [(0.05, "status", "В работе", "S"), (2, "comment", ASK, "S"),
                                     (2, "status", "Требует обратной связи", "S")], due="feedback-reminder"),
    Case("reminder-no-history", 25, [(1, "comment", ASK, "S"), (1, "status", "Требует обратной связи", "S")],
         history=False, due="feedback-reminder"),
    Case("verification", 15, [(0.05, "status", "В работе", "S"), (3, "comment", "Исправили, проверьте.", "S"),
                              (3, "status", "Решено, требует проверки", "S")], due="verification-autoclose"),
    Case("verification-no-history", 12, [(2, "comment", "Исправили, проверьте.", "S"),
                                         (2, "status", "Решено, требует проверки", "S")],
         history=False, due="verification-autoclose"),
    Case("stale-year", 400, [(0.05, "status", "В работе", "S"), (60, "comment", "Актуален ли вопрос?", "S"),
                             (60, "status", "Требует обратной связи", "S")], due="stale-year-close"),
    Case("sla-reaction", 2, [], due="sla-reaction"),
    Case("sla-analysis", 10, [(0.02, "status", "В работе", "S"), (0.5, "status", "Требует обратной связи", "S"),
                              (1.5, "comment", "Номер бронирования ABC123", "C"),
                              (1.6, "status", "В работе", "S")], priority="Высокий", due="sla-analysis"),
    Case("client-replied", 10, [(0.05, "status", "В работе", "S"), (1, "comment", ASK, "S"),
                                (1, "status", "Требует обратной связи", "S"),
                                (2, "comment", "Номер бронирования ABC123", "C")], due="client-reply-resume"),
    Case("go-live", 3, [(0.05, "status", "В работе", "S")]),  # the go-live test answers on it, last
    Case("closed-then-reply", 10, [(0.05, "status", "В работе", "S"), (1, "status", "Закрыто", "S"),
                                   (3, "comment", "А ещё вопрос по заказу 7654321", "C")],
         due="closed-reply-redirect"),
]


def iso(moment: datetime) -> str:
    return moment.isoformat()


def export_for(root: Path, token: str, cases: list[Case]) -> Path:
    """A portal export holding the cases: one company, one support employee, one client."""
    root.mkdir(parents=True)
    company = {"id": f"C{token}", "name": f"Передача {token}", "email_domains": [f"{token}.example.org"]}
    users = [
        {"id": f"S{token}", "login": f"sup{token}", "email": f"sup{token}@nemo.example.org", "first_name": "Анна",
         "last_name": "Поддержкина", "company_id": None, "kind": "staff", "active": True,
         "created_at": "2020-01-01T10:00:00+03:00"},
        {"id": f"K{token}", "login": f"cli{token}", "email": f"cli{token}@{token}.example.org",
         "first_name": "Пётр", "last_name": "Клиентов", "company_id": company["id"], "kind": "client",
         "active": True, "created_at": "2020-01-01T10:00:00+03:00"},
    ]
    who = {"S": f"S{token}", "C": f"K{token}", None: None}
    tickets = []
    for n, case in enumerate(cases, start=1):
        comments = [{"id": f"M{token}-{n}-{i}", "author_id": who[by], "created_at": iso(case.at(day)), "body": text,
                     "internal": False, "attachments": []}
                    for i, (day, kind, text, by) in enumerate(case.events) if kind == "comment"]
        ticket: dict[str, Any] = {
            "id": f"T{token}-{n}", "company_id": company["id"], "author_id": who["C"],
            "created_at": iso(case.created), "updated_at": iso(case.last), "reason": "Ошибка в работе системы",
            "priority": case.priority, "module": None, "category": None, "subject": f"{case.name} {token}",
            "description": DESCRIPTION, "description_format": "text", "status": case.status, "assignee_id": None,
            "attachments": [], "comments": comments,
            "closed_at": iso(case.last) if case.status == "Закрыто" else None}
        if case.history:
            ticket["status_history"] = [{"status": "На рассмотрении", "at": iso(case.created), "by": None}] + [
                {"status": value, "at": iso(case.at(day)), "by": who[by]} for day, _, value, by in case.status_events()]
        tickets.append(ticket)
    for name, rows in (("companies", [company]), ("users", users), ("tickets", tickets)):
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    (root / "manifest.json").write_text(json.dumps({
        "format": "nemo-portal-export", "version": 1, "exported_at": iso(NOW),
        "counts": {"companies": 1, "users": len(users), "tickets": len(tickets)}}), "utf-8")
    return root


def helpdesk(redmine: LocalRedmine, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HELPDESK, *args], env=redmine.env(), capture_output=True, text=True, timeout=900,
                          cwd=REPO)


@dataclass
class Twins:
    """Issue ids per case, both ways; the two projects; who is who."""

    migrated: dict[str, int]
    native: dict[str, int]
    projects: list[str]
    support: str
    client: str
    export: Path
    state: Path


def backdate(redmine: LocalRedmine, issues: dict[int, dict[str, datetime | None]],
             journals: dict[int, datetime]) -> None:
    lines = []
    for issue, values in issues.items():
        sets = ", ".join(f"{k}: Time.at({v.timestamp()})" for k, v in values.items() if v is not None)
        lines.append(f"Issue.where(id: {issue}).update_all({sets})")
    lines += [f"Journal.where(id: {jid}).update_all(created_on: Time.at({at.timestamp()}))"
              for jid, at in journals.items()]
    redmine.runner("\n".join(lines) + "\n")


def create_native(gw: Gateway, project_id: int, support: str, client: str, case: Case,
                  dates: tuple[dict[int, dict[str, datetime | None]], dict[int, datetime]]) -> int:
    """The case made through the API as the real people would; its dates are added to `dates`
    (issues, journals), moved later by one `rails runner`."""
    ids = {s["name"]: int(s["id"]) for s in gw.get("/issue_statuses.json")["issue_statuses"]}
    trackers = {t["name"]: int(t["id"]) for t in gw.get("/trackers.json")["trackers"]}
    priorities = {p["name"]: int(p["id"])
                  for p in gw.get("/enumerations/issue_priorities.json")["issue_priorities"]}
    payload = {"issue": {"project_id": project_id, "tracker_id": trackers["Баг"], "subject": f"{case.name} native",
                         "description": DESCRIPTION, "priority_id": priorities[case.priority]}}
    issue = int(gw.post("/issues.json", payload, as_user=client)["issue"]["id"])
    who = {"S": support, "C": client, None: None}
    events = sorted([e for e in case.events if e[1] == "comment"] + case.status_events(),
                    key=lambda e: (e[0], e[1] == "status"))
    dated: dict[int, datetime] = {}
    for day, kind, value, by in events:
        body = {"notes": value} if kind == "comment" else {"status_id": ids[value]}
        gw.put(f"/issues/{issue}.json", {"issue": body}, as_user=who[by])
        journal = gw.get(f"/issues/{issue}.json", {"include": "journals"})["issue"]["journals"][-1]
        dated[int(journal["id"])] = case.at(day)
    dates[0][issue] = {"created_on": case.created, "updated_on": case.last,
                       "closed_on": case.last if case.status == "Закрыто" else None}
    dates[1].update(dated)
    return issue


@pytest.fixture(scope="module")
def twins(live: LocalRedmine, tmp_path_factory: pytest.TempPathFactory) -> Twins:
    token = os.urandom(3).hex()
    root = tmp_path_factory.mktemp("handoff")
    export = export_for(root / "export", token, CASES)
    state = root / "ledger.sqlite"
    ran = helpdesk(live, "migrate", "run", str(export), "--state", str(state), "--format", "json")
    assert ran.returncode == 0, ran.stderr[-3000:]
    fixed = helpdesk(live, "migrate", "fix-dates", "--ruby", "--state", str(state))
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    live.runner(fixed.stdout)

    gw = live.gateway()
    field = next(f["id"] for f in gw.get("/custom_fields.json")["custom_fields"] if f["name"] == "ID в портале")
    migrated: dict[str, int] = {}
    for n, case in enumerate(CASES, start=1):
        [found] = gw.get("/issues.json", {f"cf_{field}": f"T{token}-{n}", "status_id": "*"})["issues"]
        migrated[case.name] = int(found["id"])
    first = gw.get(f"/issues/{migrated[CASES[0].name]}.json")["issue"]
    migrated_project = gw.get(f"/projects/{first['project']['id']}.json")["project"]["identifier"]

    # The native twin: same people (the migrated accounts), own project, same roles.
    support = gw.get("/users.json", {"name": f"sup{token}"})["users"][0]
    client = gw.get("/users.json", {"name": f"cli{token}"})["users"][0]
    identifier = f"native-{token}"
    project = support_project(gw, identifier, support["id"], client["id"])
    dates: tuple[dict[int, dict[str, datetime | None]], dict[int, datetime]] = ({}, {})
    native = {case.name: create_native(gw, int(project["id"]), support["login"], client["login"], case, dates)
              for case in CASES}
    backdate(live, *dates)
    return Twins(migrated, native, [migrated_project, identifier], support["login"], client["login"], export, state)


def policies_for(path: Path, projects: list[str]) -> Path:
    doc = yaml.safe_load(POLICIES_YAML.read_text(encoding="utf-8"))
    for entry in doc["rules"].values():
        entry["scope"] = {"projects": list(projects), "trackers": "*"}  # a list each: no YAML alias (refused)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def sweep(redmine: LocalRedmine, command: str, policies: Path, *args: str) -> dict[str, Any]:
    """`sweep plan|run` at the real current time (no --now)."""
    done = helpdesk(redmine, "sweep", command, "--format", "json", "--policies", str(policies), *args)
    assert done.returncode in (0, 3), done.stderr[-3000:]
    return json.loads(done.stdout)


def by_case(plan: dict[str, Any], issues: dict[str, int]) -> dict[str, list[tuple[Any, ...]]]:
    """Per case: what is planned, without the ids that differ between the twins (issue, journal)."""
    names = {issue: name for name, issue in issues.items()}
    out: dict[str, list[tuple[Any, ...]]] = {name: [] for name in issues}
    for action in plan["actions"]:
        if action["issue"] in names:
            out[names[action["issue"]]].append((
                action["rule"], action["action"], action.get("status"), action.get("sla"), action.get("deadline"),
                tuple(sorted(action.get("times", {}).items())), action.get("private", False)))
    return {name: sorted(actions) for name, actions in out.items()}


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_migrated_history_leaves_no_migration_time(twins: Twins, live: LocalRedmine) -> None:
    """Every journal, created_on, updated_on, closed_on and start_date is a portal time."""
    gw = live.gateway()
    for case in CASES:
        issue = gw.get(f"/issues/{twins.migrated[case.name]}.json", {"include": "journals"})["issue"]
        portal_times = {case.at(day) for day, *_ in case.events} | {case.created, case.last}
        for journal in issue["journals"]:
            assert moment(journal["created_on"]) in portal_times, (case.name, journal)
        assert moment(issue["created_on"]) == case.created
        assert moment(issue["updated_on"]) == case.last
        assert issue["start_date"] == case.created.astimezone(MOSCOW).date().isoformat()
        if case.status == "Закрыто":
            assert moment(issue["closed_on"]) == case.last
        changes = [j for j in issue["journals"] if any(d["name"] == "status_id" for d in j["details"])]
        assert [moment(j["created_on"]) for j in changes] == [case.at(e[0]) for e in case.status_events()]
        # clients read no marker: the change is bare, its provenance line the private note right after it
        assert all(not j["notes"] for j in changes), case.name
        following = [issue["journals"][issue["journals"].index(j) + 1] for j in changes]
        assert all(j["notes"].startswith("_[portal:status:") and j["private_notes"] for j in following), case.name


def test_sweep_plans_the_same_for_migrated_and_native_tickets(twins: Twins, live: LocalRedmine,
                                                               tmp_path: Path) -> None:
    policies = policies_for(tmp_path / "policies.yaml", twins.projects)
    plan = sweep(live, "plan", policies)
    migrated, native = by_case(plan, twins.migrated), by_case(plan, twins.native)
    print("\nplanned per case (migrated == native):", {k: [a[:2] for a in v] for k, v in native.items()})
    assert migrated == native
    for case in [c for c in CASES if c.due]:  # each case really makes its rule due (else parity proves little)
        assert case.due in {rule for rule, *_ in native[case.name]}, (case.name, native[case.name])

    # The close after a reminder: remind (both twins), move the reminders 6 days back, plan again.
    reminded = sweep(live, "run", policies, "--only", "feedback-reminder", "--state-dir", str(tmp_path / "state"))
    assert reminded["outcomes"] and {o["outcome"] for o in reminded["outcomes"]} == {"ok"}
    gw = live.gateway()
    six_days_ago = NOW - timedelta(days=6)
    issues: dict[int, dict[str, datetime | None]] = {}
    journals: dict[int, datetime] = {}
    for ids in (twins.migrated, twins.native):
        issue = ids["reminder-then-close"]
        notes = gw.get(f"/issues/{issue}.json", {"include": "journals"})["issue"]["journals"]
        [reminder] = [j for j in notes if "[helpdesk:feedback-reminder:" in sweep_marks(j)]
        journals[int(reminder["id"])] = six_days_ago
        issues[issue] = {"updated_on": six_days_ago}
    backdate(live, issues, journals)
    again = sweep(live, "plan", policies)
    migrated, native = by_case(again, twins.migrated), by_case(again, twins.native)
    assert migrated == native
    assert ("feedback-autoclose", "close") in {a[:2] for a in native["reminder-then-close"]}


def test_sla_report_is_the_same_for_migrated_and_native_tickets(twins: Twins, live: LocalRedmine) -> None:
    """The SLA report reads the same clocks (start, stop, deadline, state) for both twins: not
    breached "at the migration moment"."""
    first = min(case.created for case in CASES if case.age <= 31).astimezone(MOSCOW).date()
    done = helpdesk(live, "sla", "report", "--from", first.isoformat(),
                    "--to", NOW.astimezone(MOSCOW).date().isoformat(), "--format", "json")
    assert done.returncode == 3, done.stderr[-2000:]  # 3: there are breaches (the cases make some)
    report = json.loads(done.stdout)
    [clocks] = [s["table"] for s in report["sections"]
                if s["table"] and any(c["key"] == "issue" for c in s["table"]["columns"])]

    def rows(ids: dict[str, int]) -> list[tuple[Any, ...]]:
        names = {issue: name for name, issue in ids.items()}
        return sorted((names[int(r["issue"])], *sorted((k, str(v)) for k, v in r.items()
                                                        if k not in ("issue", "company")))
                      for r in clocks["rows"] if int(r["issue"]) in names)

    native = rows(twins.native)
    assert native and rows(twins.migrated) == native


# Writes through Redmine's own models inside `rails runner`, so Redmine's own callbacks decide who
# is emailed (Journal#send_notification → Mailer.deliver_issue_edit; Issue → deliver_issue_add);
# the test delivery method only catches the mails instead of sending them.
MAIL_PROBE = """
ActionMailer::Base.delivery_method = :test
ActionMailer::Base.perform_deliveries = true
ActiveJob::Base.queue_adapter = :inline
issue = Issue.find(%(issue)d)
support = User.find_by!(login: '%(support)s')
client = User.find_by!(login: '%(client)s')
User.current = support
issue.init_journal(support, 'Проверили: билет выписан, проверьте, пожалуйста.')
issue.save!
answer = ActionMailer::Base.deliveries.flat_map { |m| Array(m.to) + Array(m.cc) + Array(m.bcc) }.uniq.sort
ActionMailer::Base.deliveries.clear
User.current = client
created = Issue.new(project: issue.project, tracker: issue.tracker, author: client, subject: 'Новое обращение',
                    priority: issue.priority)
created.save!
opened = ActionMailer::Base.deliveries.flat_map { |m| Array(m.to) + Array(m.cc) + Array(m.bcc) }.uniq.sort
puts JSON.generate({'answer' => answer, 'created' => opened, 'client' => client.mail, 'support' => support.mail,
                    'client_pref' => [client.mail_notification, client.pref.no_self_notified]})
"""


def mail_probe(redmine: LocalRedmine, twins: Twins) -> dict[str, Any]:
    script = MAIL_PROBE % {"issue": twins.migrated["go-live"], "support": twins.support, "client": twins.client}
    return json.loads(redmine.runner(script).strip().splitlines()[-1])


def doctor_mode(redmine: LocalRedmine) -> str:
    done = helpdesk(redmine, "doctor", "--format", "json")
    assert done.returncode in (0, 3), done.stderr[-2000:]
    return str(json.loads(done.stdout)["mode"])


def provision(redmine: LocalRedmine, switch: str) -> None:
    done = helpdesk(redmine, "provision", "--ruby", "--notifications", switch)
    assert done.returncode == 0, done.stderr[-2000:]
    redmine.runner(done.stdout)


def test_go_live_clients_hear_from_support_and_nobody_during_migration(twins: Twins, live: LocalRedmine) -> None:
    """Migration mode: a support answer and a new ticket email nobody. After the go-live step
    (`provision --notifications on`) the migrated client gets both emails (regulation,
    «Отслеживание статуса обращений» item 7), with no per-user change needed."""
    assert doctor_mode(live) == "migration"
    quiet = mail_probe(live, twins)
    assert quiet["client_pref"] == ["only_my_events", False]  # created with steady-state preferences
    assert quiet["answer"] == [] and quiet["created"] == []
    try:
        provision(live, "on")
        assert doctor_mode(live) == "live"
        loud = mail_probe(live, twins)
        assert loud["client"] in loud["answer"]
        assert loud["support"] not in loud["answer"]  # the writer is not told of their own note
        assert loud["client"] in loud["created"]
    finally:
        provision(live, "off")
    assert doctor_mode(live) == "migration"


def test_rerun_with_a_lost_ledger_replays_nothing_and_dates_stay(twins: Twins, live: LocalRedmine,
                                                                 tmp_path: Path) -> None:
    """Exactly once without the ledger: the replayed changes are recognised by their markers in
    Redmine, and fix-dates from the rebuilt ledger dates the same journals to the same times."""
    gw = live.gateway()

    def timeline() -> dict[str, list[tuple[int, str]]]:
        out = {}
        for case in CASES:
            journals = gw.get(f"/issues/{twins.migrated[case.name]}.json", {"include": "journals"})["issue"]["journals"]
            out[case.name] = [(j["id"], j["created_on"]) for j in journals
                              if (j["notes"] or "").startswith("_[portal:")]
        return out

    before = timeline()
    state = tmp_path / "rebuilt.sqlite"
    ran = helpdesk(live, "migrate", "run", str(twins.export), "--state", str(state), "--format", "json")
    assert ran.returncode == 0, ran.stderr[-3000:]
    counts = json.loads(ran.stdout)["counts"]
    assert counts.get("status", {}).get("create", 0) == 0 and counts.get("issue", {}).get("update", 0) == 0, counts
    assert counts.get("journal", {}).get("create", 0) == 0, counts
    fixed = helpdesk(live, "migrate", "fix-dates", "--ruby", "--state", str(state))
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    live.runner(fixed.stdout)
    assert timeline() == before
