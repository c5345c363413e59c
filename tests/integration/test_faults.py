"""`migrate run` through a proxy that fails 10 % of requests, and through an outage.

Every test migrates a fresh copy of the bundled sample whose ticket, comment and time-entry
ids carry a prefix unique to the run, so duplicates are visible even though the projects and
users of earlier runs are (rightly) matched. The end state is checked twice: `migrate verify`
must pass, and a census counts every portal id in Redmine: issues, journals (by provenance
marker), attachments, time entries, users, and projects must each be there exactly once.

Helpers here (`prefixed_export`, `census`, `helpdesk`) are shared with test_crash and
test_security.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpdesk_core.export import open_export
from helpdesk_core.gateway import Gateway
from helpdesk_core.mappings import load_mappings
from migrator.text import find_provenance, time_entry_marker
from tests.conftest import LocalRedmine
from tests.faultproxy import FAULT_KINDS, FaultProxy

pytestmark = [pytest.mark.redmine, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "export"
HELPDESK = Path(sys.executable).with_name("helpdesk")
SEED = int(os.environ.get("HELPDESK_FAULT_SEED", "20261128"))
ATTACHMENT_LIMIT_KB = 200
# Small enough for a crash loop, still every kind of object: internal notes (T9), comment
# attachments (T10), complaints (T11), time entries (T12), an inactive author (T16), a deleted
# author (T17), ticket attachments (T30), a plain ticket (T1).
SMALL_TICKETS = ("T1", "T9", "T10", "T11", "T12", "T16", "T17", "T30")


# --- exports ------------------------------------------------------------------------------------


def prefixed_export(dst: Path, prefix: str, keep: tuple[str, ...] | None = None) -> Path:
    """Copy the sample to `dst` with every ticket/comment/time-entry id prefixed; `keep` picks tickets.

    Lines that are not JSON (the sample's truncated bad record) get the prefix textually, so the
    bad records stay bad in the same way and on the same lines.
    """
    shutil.copytree(SAMPLE, dst)
    lines = []
    for line in (dst / "tickets.jsonl").read_text("utf-8").split("\n"):
        try:
            ticket = json.loads(line)
        except ValueError:
            if keep is None:
                lines.append(line.replace('{"id": "T', f'{{"id": "{prefix}T', 1))
            continue
        if keep is not None and ticket.get("id") not in keep:
            continue
        ticket["id"] = prefix + ticket["id"]
        for comment in ticket.get("comments", []):
            comment["id"] = prefix + comment["id"]
        for entry in ticket.get("time_entries", []):
            entry["id"] = prefix + entry["id"]
        lines.append(json.dumps(ticket, ensure_ascii=False))
    (dst / "tickets.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    if keep is not None:
        manifest = json.loads((dst / "manifest.json").read_text("utf-8"))
        manifest["counts"]["tickets"] = len(lines)
        (dst / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
    return dst


# Long enough for the slowest honest answer (a page of 100 issues on a busy CI machine takes
# seconds); a shorter one would add timeouts of its own to the injected ones.
TIMEOUT = 10.0


def fault_config(path: Path, *, timeout: float = TIMEOUT, attempts: int = 10, max_wait: float = 2.0,
                 max_total_wait: float = 90.0) -> Path:
    """A --config file with a short timeout and a retry cap (URL and key come from the environment)."""
    path.write_text(json.dumps({"redmine": {"timeout": timeout, "retry": {
        "attempts": attempts, "initial_wait": 0.2, "max_wait": max_wait, "max_total_wait": max_total_wait}}}),
        "utf-8")
    return path


def helpdesk_env(redmine: LocalRedmine, url: str | None = None) -> dict[str, str]:
    env = redmine.env()
    if url is not None:
        env["REDMINE_URL"] = url
    env.pop("HELPDESK_TRACEBACK", None)
    env["COLUMNS"] = "200"
    return env


def helpdesk(args: list[str], env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run the real console script."""
    return subprocess.run([str(HELPDESK), *args], env=env, capture_output=True, text=True, timeout=timeout)


def migrate_args(export: Path, state: Path, command: str = "run", *, config: Path | None = None) -> list[str]:
    head = ["--config", str(config)] if config else []
    return [*head, "migrate", command, str(export), "--state", str(state),
            "--attachment-limit-kb", str(ATTACHMENT_LIMIT_KB), "--format", "json"]


# --- what Redmine holds -------------------------------------------------------------------------


@dataclass
class Census:
    """Portal objects counted in Redmine: each must be there exactly once."""

    counted: Counter[str] = field(default_factory=Counter)  # kind -> objects checked
    missing: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)  # internal comment that is not a private note

    def check(self, kind: str, what: str, found: int) -> None:
        self.counted[kind] += 1
        if found == 0:
            self.missing.append(f"{kind} {what}")
        elif found > 1:
            self.doubled.append(f"{kind} {what} ×{found}")

    def summary(self) -> str:
        counted = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counted.items()))
        return f"{counted}: {len(self.missing)} missing, {len(self.doubled)} doubled"


def census(gateway: Gateway, export_path: Path, attachment_limit_kb: int = ATTACHMENT_LIMIT_KB) -> Census:
    """Count in Redmine every issue, journal, attachment, time entry, user and project of the export."""
    mappings = load_mappings()
    fields = {f["name"]: int(f["id"]) for f in gateway.get("/custom_fields.json")["custom_fields"]}
    portal_field = f"cf_{fields[mappings.custom_fields.portal_id.name]}"
    limit = attachment_limit_kb * 1024
    result = Census()
    typed = {(f.get("customized_type"), f["name"]): int(f["id"])
             for f in gateway.get("/custom_fields.json")["custom_fields"]}
    company_field = typed[("project", mappings.project_custom_fields.company_id.name)]
    user_field = typed[("user", mappings.user_custom_fields.portal_user_id.name)]
    time_field = typed[("time_entry", mappings.time_entry_custom_fields.portal_time_id.name)]

    def carried(item: dict[str, Any], field_id: int) -> str | None:
        return next((v.get("value") for v in item.get("custom_fields", []) if v["id"] == field_id), None)

    with open_export(export_path, on_bad=lambda record: None) as export:
        # Projects and accounts by the portal id they carry (what the migration recognises them by):
        # other tests' exports reuse the sample's ids with other names and emails.
        projects = Counter(carried(p, company_field) for p in gateway.iterate("/projects.json", "projects",
                                                                            {"sort": None}))
        for company in export.companies():
            result.check("project", company.id, projects[company.id])
        accounts = Counter(carried(u, user_field) for u in gateway.iterate("/users.json", "users",
                                                                         {"status": "", "sort": None}))
        for user in export.users():
            result.check("user", user.id, accounts[user.id])
        standin = mappings.portal.standin_user.login
        found = gateway.get("/users.json", {"name": standin, "status": "", "limit": 100})["users"]
        result.check("user", "stand-in", sum(1 for u in found if u["login"] == standin))
        for ticket in export.tickets():
            issues = gateway.get("/issues.json", {portal_field: ticket.id, "status_id": "*", "limit": 100})["issues"]
            result.check("issue", ticket.id, len(issues))
            if not issues:
                continue
            issue = gateway.get(f"/issues/{issues[0]['id']}.json", {"include": "journals,attachments"})["issue"]
            markers: Counter[tuple[str, str]] = Counter()
            private: dict[tuple[str, str], bool] = {}
            for journal in issue.get("journals", []):
                for marker in find_provenance(journal.get("notes")):
                    markers[marker] += 1
                    private[marker] = bool(journal.get("private_notes"))
            for comment in ticket.comments:
                result.check("journal", f"{ticket.id}/{comment.id}", markers[("comment", comment.id)])
                if comment.internal and not private.get(("comment", comment.id), True):
                    result.leaks.append(f"{ticket.id}/{comment.id}")
            for index, _ in enumerate(ticket.complaints, start=1):
                source = f"{ticket.id}-{index}"
                result.check("journal", f"{ticket.id}/complaint {index}", markers[("complaint", source)])
            expected = [a for a in (*ticket.attachments, *(a for c in ticket.comments for a in c.attachments))
                        if export.check_attachment(a).ok and a.size <= limit]
            have = Counter((a["filename"], int(a["filesize"])) for a in issue.get("attachments", []))
            for att in expected:
                result.check("attachment", f"{ticket.id}/{att.id}", have[(att.filename, att.size)])
            extra = sum(have.values()) - len(expected)
            if extra > 0:
                result.doubled.append(f"attachment {ticket.id}: {extra} more than the export has")
            if ticket.time_entries:
                entries = gateway.iterate("/time_entries.json", "time_entries",
                                          {"issue_id": issue["id"], "sort": None})
                # by the support-only field the portal id travels in (an entry of an earlier version: its
                # comment's opening marker)
                times = Counter(carried(e, time_field) or time_entry_marker(e.get("comments")) for e in entries)
                for entry in ticket.time_entries:
                    result.check("time entry", f"{ticket.id}/{entry.id}", times[entry.id])
    return result


def assert_exactly_once(redmine: LocalRedmine, export: Path, state: Path) -> Census:
    """`migrate verify` passes and the census finds nothing missing, doubled or leaked."""
    verified = helpdesk(migrate_args(export, state, "verify"), helpdesk_env(redmine))
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-2000:]
    assert json.loads(verified.stdout)["differences"] == []
    counted = census(redmine.gateway(), export)
    assert counted.missing == [] and counted.doubled == [] and counted.leaks == [], counted
    return counted


def parse_result(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode in (0, 3), f"exit {done.returncode}: {done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)


# --- the tests ----------------------------------------------------------------------------------


def test_ten_percent_faults_end_exactly_like_a_clean_run(redmine_pg: LocalRedmine, tmp_path: Path,
                                                         unique: str) -> None:
    export = prefixed_export(tmp_path / "export", f"f{unique}")
    config = fault_config(tmp_path / "config.yaml")
    with FaultProxy(redmine_pg.url, seed=SEED, rate=0.10, delay=TIMEOUT + 0.5, retry_after=1) as proxy:
        started = time.monotonic()
        done = helpdesk(migrate_args(export, tmp_path / "state.sqlite", config=config),
                        helpdesk_env(redmine_pg, proxy.url))
        seconds = time.monotonic() - started
    result = parse_result(done)
    faults = dict(proxy.counts)
    print(f"\nfaults injected: {faults} in {proxy.requests} requests ({seconds:.0f} s); "
          f"client: {result['requests']}")
    assert set(faults) == set(FAULT_KINDS), faults  # every kind happened
    assert proxy.faults >= 0.05 * proxy.requests
    assert result["requests"]["retries"] >= proxy.faults
    # nothing was given up on: the only findings are those of the export itself
    categories = Counter(f["category"] for f in result["findings"])
    assert "write-failed" not in categories, [f for f in result["findings"] if f["category"] == "write-failed"]
    assert result["counts"]["issue"].get("fail", 0) == 0
    assert result["tickets_read"] == 36
    counted = assert_exactly_once(redmine_pg, export, tmp_path / "state.sqlite")
    print(f"census after faults: {counted.summary()}")
    # a re-run has nothing left to do
    again = parse_result(helpdesk(migrate_args(export, tmp_path / "state.sqlite"), helpdesk_env(redmine_pg)))
    assert again["requests"]["writes"] == 0, again["counts"]


def test_outage_exits_1_within_the_cap_then_completes(redmine_pg: LocalRedmine, tmp_path: Path,
                                                      unique: str) -> None:
    export = prefixed_export(tmp_path / "export", f"o{unique}", keep=SMALL_TICKETS)
    config = fault_config(tmp_path / "config.yaml", attempts=5, max_wait=1.0, max_total_wait=40.0)
    state = tmp_path / "state.sqlite"
    with FaultProxy(redmine_pg.url, seed=SEED) as proxy:
        child = subprocess.Popen([str(HELPDESK), *migrate_args(export, state, config=config)],
                                 env=helpdesk_env(redmine_pg, proxy.url), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        # Redmine "stops" in the middle of the writes: after the snapshot, part-way through the tickets.
        deadline = time.monotonic() + 300
        while proxy.by_method["PUT"] < 5 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if child.poll() is not None:
            pytest.fail(f"the run ended before the outage (exit {child.returncode}): {child.communicate()[1][-3000:]}")
        proxy.outage()
        down_at = time.monotonic()
        out, err = child.communicate(timeout=120)
        gave_up_after = time.monotonic() - down_at
        assert child.returncode == 1, err
        errors = [line for line in err.splitlines() if line.startswith(("ошибка:", "error:"))]
        assert len(errors) == 1, err
        assert ("gave up after" in errors[0] or "все неудачны" in errors[0]) and "Traceback" not in err
        assert out == ""  # no half JSON document on stdout
        # within its cap: 5 attempts at most 1 s apart, each refused at once (a request in flight
        # when the outage began may take up to the timeout to fail)
        assert gave_up_after < TIMEOUT + 5 * 1.0 + 5
        print(f"\noutage: exit 1 after {gave_up_after:.1f} s: {errors[0]}")

        proxy.restore()
        result = parse_result(helpdesk(migrate_args(export, state, config=config),
                                       helpdesk_env(redmine_pg, proxy.url)))
    assert result["counts"]["issue"].get("fail", 0) == 0
    counted = assert_exactly_once(redmine_pg, export, state)
    print(f"census after outage and re-run: {counted.summary()}")
    _doubles_are_caught(redmine_pg, export, state)


def _doubles_are_caught(redmine: LocalRedmine, export: Path, state: Path) -> None:
    """The checks can fail: a note and a time entry written twice are reported by verify and census."""
    gateway = redmine.gateway()
    portal = {f["name"]: f["id"] for f in gateway.get("/custom_fields.json")["custom_fields"]}["ID в портале"]
    t12 = next(t for t in (json.loads(line) for line in (export / "tickets.jsonl").read_text("utf-8").splitlines()
                           if line) if t["id"].endswith("T12"))
    issue = gateway.get("/issues.json", {f"cf_{portal}": t12["id"], "status_id": "*"})["issues"][0]
    comment = t12["comments"][0]["id"]
    gateway.put(f"/issues/{issue['id']}.json", {"issue": {"notes": f"_[portal:comment:{comment}] again_"}})
    entry = gateway.get("/time_entries.json", {"issue_id": issue["id"]})["time_entries"][0]
    gateway.post("/time_entries.json", {"time_entry": {"issue_id": issue["id"], "hours": "0.1",
                                                       "comments": entry["comments"],
                                                       "custom_fields": entry["custom_fields"]}})
    verified = helpdesk(migrate_args(export, state, "verify"), helpdesk_env(redmine))
    assert verified.returncode == 3, verified.stderr
    fields = {d["field"] for d in json.loads(verified.stdout)["differences"]}
    assert f"comment {comment} copies" in fields, fields
    assert any(f.startswith("time entry ") and f.endswith(" copies") for f in fields), fields
    counted = census(gateway, export)
    assert len(counted.doubled) == 2, counted.doubled


# --- sweeps -------------------------------------------------------------------------------------

SWEEP_RULES = ("--only", "feedback-reminder", "--only", "verification-autoclose", "--only", "sla-reaction")
SWEEP_BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=40)
SWEEP_NOW = (SWEEP_BASE + timedelta(days=6)).isoformat()


@dataclass
class SweepWorld:
    """A project in scope with issues the two rules act on, and look-alikes outside the scope."""

    project: str
    policies: Path
    in_scope: list[int]
    out_of_scope: list[int]  # same situation, other project or other tracker
    client: str


def _ids(gateway: Gateway, path: str, key: str) -> dict[str, int]:
    return {str(i["name"]): int(i["id"]) for i in gateway.get(path)[key]}


def build_sweep_world(redmine: LocalRedmine, tmp_path: Path, token: str, issues: int = 4) -> SweepWorld:
    gateway = redmine.gateway()
    trackers = _ids(gateway, "/trackers.json", "trackers")
    statuses = _ids(gateway, "/issue_statuses.json", "issue_statuses")
    roles = _ids(gateway, "/roles.json", "roles")
    group = _ids(gateway, "/groups.json", "groups")["Сотрудники техподдержки"]
    people = {}
    for who in ("sup", "cli"):
        login = f"{who}{token}"
        people[who] = int(gateway.post("/users.json", {"user": {
            "login": login, "firstname": login, "lastname": "Test", "mail": f"{login}@example.org",
            "password": "secret-Passw0rd", "mail_notification": "none"}})["user"]["id"])
    gateway.post(f"/groups/{group}/users.json", {"user_id": people["sup"]})
    projects = {}
    for suffix in ("in", "out"):
        identifier = f"sweep-{token}-{suffix}"
        projects[suffix] = int(gateway.post("/projects.json", {"project": {
            "name": identifier, "identifier": identifier, "tracker_ids": list(trackers.values()),
            "is_public": False}})["project"]["id"])
        for user, role in ((people["sup"], "Техподдержка"), (people["cli"], "Клиент")):
            gateway.post(f"/projects/{projects[suffix]}/memberships.json",
                         {"membership": {"user_id": user, "role_ids": [roles[role]]}})

    created: list[tuple[int, str, str]] = []  # (issue, project key, tracker)

    def situation(project: str, tracker: str, status: str) -> int:
        issue = int(gateway.post("/issues.json", {"issue": {
            "project_id": projects[project], "tracker_id": trackers[tracker], "subject": f"Вопрос {token}",
            "description": "Заказ 1234567"}}, as_user=f"cli{token}")["issue"]["id"])
        gateway.put(f"/issues/{issue}.json", {"issue": {"notes": "Уточните, пожалуйста, номер заказа.",
                                                        "status_id": statuses[status]}}, as_user=f"sup{token}")
        created.append((issue, project, tracker))
        return issue

    in_scope = [situation("in", "Баг", "Требует обратной связи" if n % 2 == 0 else "Решено, требует проверки")
                for n in range(issues)]
    # never answered by support: the reaction SLA is long gone (a private note)
    waiting = int(gateway.post("/issues.json", {"issue": {
        "project_id": projects["in"], "tracker_id": trackers["Баг"], "subject": f"Не отвечают {token}",
        "description": "Заказ 1234567"}}, as_user=f"cli{token}")["issue"]["id"])
    created.append((waiting, "in", "Баг"))
    in_scope.append(waiting)
    out_of_scope = [situation("out", "Баг", "Требует обратной связи"),
                    situation("in", "Задача", "Требует обратной связи"),
                    situation("out", "Баг", "Решено, требует проверки")]
    at = SWEEP_BASE.timestamp()
    redmine.runner("".join(
        f"Issue.where(id: {issue}).update_all(created_on: Time.at({at - 3600}), updated_on: Time.at({at}))\n"
        f"Journal.where(journalized_type: 'Issue', journalized_id: {issue}).update_all(created_on: Time.at({at}))\n"
        for issue, _, _ in created))
    doc = yaml.safe_load((REPO / "policies" / "policies.yaml").read_text("utf-8"))
    for entry in doc["rules"].values():
        entry["scope"] = {"projects": [f"sweep-{token}-in"], "trackers": ["Баг"]}
    policies = tmp_path / "policies.yaml"
    policies.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    return SweepWorld(f"sweep-{token}-in", policies, in_scope, out_of_scope, f"cli{token}")


def sweep_args(world: SweepWorld, command: str, state_dir: Path, *, config: Path | None = None) -> list[str]:
    head = ["--config", str(config)] if config else []
    tail = ["--state-dir", str(state_dir)] if command == "run" else []
    return [*head, "sweep", command, "--now", SWEEP_NOW, "--format", "json", "--policies", str(world.policies),
            *SWEEP_RULES, *tail]


def acting(actions: Iterable[dict[str, Any]]) -> list[tuple[str, int]]:
    """(rule, issue) of the actions that write; a `flag` is only reported."""
    return sorted((a["rule"], a["issue"]) for a in actions if a["action"] != "flag")


def sweep_markers(gateway: Gateway, issue: int) -> Counter[str]:
    """How many acts of each rule the issue carries (a rule's marker: [helpdesk:<rule>:...], in the
    marker field's journal details since issue 18.7a, in the notes before)."""
    journals = gateway.get(f"/issues/{issue}.json", {"include": "journals"})["issue"]["journals"]
    texts = [(j.get("notes") or "") + " " + " ".join(str(d.get("new_value") or "") for d in j.get("details", [])
                                                     if d.get("property") == "cf") for j in journals]
    return Counter(marker.split(":")[1] for text in texts for marker in re.findall(r"\[helpdesk:[^\]]+\]", text))


def assert_sweep_exactly_once(redmine: LocalRedmine, world: SweepWorld,
                              expected: list[tuple[str, int]]) -> None:
    gateway = redmine.gateway()
    for rule, issue in expected:
        assert sweep_markers(gateway, issue)[rule] == 1, (rule, issue, sweep_markers(gateway, issue))
    for issue in world.out_of_scope:
        assert sweep_markers(gateway, issue) == Counter(), f"issue {issue} is outside the scope"
        assert len(gateway.get(f"/issues/{issue}.json", {"include": "journals"})["issue"]["journals"]) == 1


def test_sweep_run_under_ten_percent_faults_acts_exactly_once(redmine_pg: LocalRedmine, tmp_path: Path,
                                                              unique: str) -> None:
    world = build_sweep_world(redmine_pg, tmp_path, unique, issues=6)
    state = tmp_path / "sweep-state"
    planned = helpdesk(sweep_args(world, "plan", state), helpdesk_env(redmine_pg))
    assert planned.returncode in (0, 3), planned.stderr
    expected = acting(json.loads(planned.stdout)["actions"])
    assert {issue for _, issue in expected} == set(world.in_scope), expected  # the clean run's actions
    config = fault_config(tmp_path / "config.yaml")
    with FaultProxy(redmine_pg.url, seed=SEED, rate=0.10, delay=TIMEOUT + 0.5, retry_after=1) as proxy:
        done = helpdesk(sweep_args(world, "run", state, config=config), helpdesk_env(redmine_pg, proxy.url))
    print(f"\nsweep faults injected: {dict(proxy.counts)} in {proxy.requests} requests")
    assert done.returncode in (0, 3), done.stderr[-3000:]  # 3: the plan reports SLA breaches
    result = json.loads(done.stdout)
    assert not [o for o in result["outcomes"] if o["outcome"] == "error"], result["outcomes"]
    assert acting(o for o in result["outcomes"] if o["outcome"] == "ok") == expected
    assert_sweep_exactly_once(redmine_pg, world, expected)
    again = helpdesk(sweep_args(world, "run", state), helpdesk_env(redmine_pg))
    assert again.returncode in (0, 3) and acting(json.loads(again.stdout)["actions"]) == [], again.stdout[-2000:]
