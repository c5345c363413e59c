"""Bad input through the real CLI: every rule of portal-export-v1.md broken at least once in one
export, each bad record reported by `migrate plan --format json` with its file, line, id and
reason, and everything else planned and then migrated; mappings.yaml with mistakes stops with
exit 2 and one line naming the key and the line, never a traceback.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from helpdesk_core.mappings import bundled_mappings_text
from tests.conftest import LocalRedmine
from tests.integration.test_faults import assert_exactly_once, helpdesk, helpdesk_env

pytestmark = pytest.mark.redmine

SHA_HELLO = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"  # sha256(b"hello")
DELETE = object()


def company(cid: str, u: str, **kw: Any) -> dict[str, Any]:
    return {"id": cid, "name": f"ООО «Плохие данные {u}» {cid}", "email_domains": [f"bad-{u}.example"], **kw}


def user(uid: str, u: str, **kw: Any) -> dict[str, Any]:
    return {"id": uid, "login": f"bad.{uid.lower()}.{u}", "email": f"{uid.lower()}.{u}@bad-{u}.example",
            "first_name": "Иван", "last_name": "Плохов", "company_id": "C1", "kind": "client", "active": True,
            "created_at": "2021-03-04T11:22:33+03:00", **kw}


def ticket(tid: str, u: str, **kw: Any) -> dict[str, Any]:
    return {
        "id": f"{u}{tid}", "company_id": "C1", "author_id": "U10",
        "created_at": "2024-05-06T18:50:00+03:00", "updated_at": "2024-05-09T12:00:00+03:00",
        "reason": "Ошибка в работе системы", "priority": "Критический", "module": "Авиа", "category": "Бронирование",
        "subject": f"Обращение {tid}", "description": "Текст обращения", "description_format": "text",
        "status": "Требует обратной связи", "assignee_id": "U1", "answers": {"Учетная запись": "agent_007"},
        "attachments": [{"id": f"{u}A{tid}", "filename": "hello.txt", "content_type": "text/plain", "size": 5,
                         "sha256": SHA_HELLO, "path": "attachments/hello.txt", "author_id": "U10",
                         "created_at": "2024-05-06T18:51:00+03:00"}],
        "comments": [
            {"id": f"{u}M{tid}a", "author_id": "U1", "created_at": "2024-05-07T10:05:00+03:00",
             "body": "Уточните номер PNR.", "internal": False, "attachments": []},
            {"id": f"{u}M{tid}b", "author_id": "U10", "created_at": "2024-05-07T11:00:00+03:00",
             "body": "ABC123", "internal": False, "attachments": []}],
        "complaints": [{"author_id": "U10", "created_at": "2024-05-08T11:00:00+03:00", "text": "Нет ответа"}],
        "time_entries": [{"id": f"{u}W{tid}", "user_id": "U1", "spent_on": "2024-05-07", "hours": 0.75,
                          "comment": "Настройка"}],
        "closed_at": None, **kw}


def mutate(record: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    target: Any = record
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last: Any = int(keys[-1]) if isinstance(target, list) else keys[-1]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return record


# (contract rule, file, path to break, bad value, field the report must name or None)
COMPANY_RULES = [
    ("company id is a string", "id", 17, "id"),
    ("company name is a string", "name", None, "name"),
    ("email_domains is a list of strings", "email_domains", "bad.example", "email_domains"),
]
USER_RULES = [
    ("user login is a string", "login", 12, "login"),
    ("email required", "email", DELETE, "email"),
    ("email malformed", "email", "p.volkov(at)avialine.ru", "email"),
    ("first_name is a string", "first_name", None, "first_name"),
    ("last_name is a string", "last_name", ["Иванов"], "last_name"),
    ("company_id is a company id", "company_id", "C404", "company_id"),
    ("company_id null only for staff", "company_id", None, "company_id"),
    ("kind is client or staff", "kind", "manager", "kind"),
    ("active is a bool", "active", "yes", "active"),
    ("created_at has an offset", "created_at", "2021-03-04T11:22:33", "created_at"),
]
TICKET_RULES = [
    ("ticket company_id is a company id", "company_id", "C404", "company_id"),
    ("author_id required", "author_id", DELETE, "author_id"),
    ("assignee_id is an id or null", "assignee_id", 7, "assignee_id"),
    ("reason is a string", "reason", None, "reason"),
    ("priority is a string", "priority", 3, "priority"),
    ("module is a string or null", "module", ["Авиа"], "module"),
    ("category is a string or null", "category", 5, "category"),
    ("subject non-empty", "subject", "  ", "subject"),
    ("description is a string", "description", DELETE, "description"),
    ("description_format text or html", "description_format", "markdown", "description_format"),
    ("status is a string", "status", DELETE, "status"),
    ("answers are strings", "answers", {"Учетная запись": 7}, "answers.Учетная запись"),
    ("comments in time order", "comments.1.created_at", "2024-05-07T09:00:00+03:00", "comments.1.created_at"),
    ("comment internal is a bool", "comments.0.internal", "no", "comments.0.internal"),
    ("comment timestamps have an offset", "comments.0.created_at", "2024-05-07T10:05:00", "comments.0.created_at"),
    ("attachment path inside the export", "attachments.0.path", "../../etc/passwd", "attachments.0.path"),
    ("attachment path relative", "attachments.0.path", "/etc/passwd", "attachments.0.path"),
    ("attachment sha256 is hex", "attachments.0.sha256", "xyz", "attachments.0.sha256"),
    ("attachment size is a count", "attachments.0.size", -5, "attachments.0.size"),
    ("complaint text required", "complaints.0.text", DELETE, "complaints.0.text"),
    ("time entry hours positive", "time_entries.0.hours", 0, "time_entries.0.hours"),
    ("time entry hours a number", "time_entries.0.hours", "1.5", "time_entries.0.hours"),
    ("spent_on is a date", "time_entries.0.spent_on", "2024-05-07T10:00:00+03:00", "time_entries.0.spent_on"),
    ("timestamps have an offset", "created_at", "2024-05-06T18:50:00", "created_at"),
    ("closed_at ISO 8601 or null", "closed_at", "вчера", "closed_at"),
    ("updated_at is a timestamp", "updated_at", 1715000000, "updated_at"),
]
# raw lines: (rule, text, readable id)
RAW_TICKET_RULES = [
    ("not JSON (truncated)", '{{"id": "{u}T-trunc", "company_id": "C1", "subj', "T-trunc"),
    ("not a JSON object", '["{u}T-array"]', None),
    ("invalid UTF-8", None, "T-utf8"),  # built as bytes below
    ("lone UTF-16 surrogate", None, "T-surrogate"),
]


def build_export(root: Path, u: str) -> tuple[Path, list[dict[str, Any]], int]:
    """Write the export; return (root, expected bad records, number of good tickets)."""
    (root / "attachments").mkdir(parents=True)
    (root / "attachments" / "hello.txt").write_bytes(b"hello")
    expected: list[dict[str, Any]] = []

    companies: list[bytes] = [json.dumps(company("C1", u), ensure_ascii=False).encode()]
    for n, (rule, path, value, field) in enumerate(COMPANY_RULES, start=2):
        companies.append(json.dumps(mutate(company(f"C{n}", u), path, value), ensure_ascii=False).encode())
        expected.append({"rule": rule, "file": "companies.jsonl", "line": len(companies),
                         "id": "17" if path == "id" else f"C{n}", "field": field})
    companies.append(json.dumps(company("C1", u, name="Дубликат"), ensure_ascii=False).encode())
    expected.append({"rule": "company id unique", "file": "companies.jsonl", "line": len(companies), "id": "C1",
                     "field": "id"})

    users: list[bytes] = [
        json.dumps(user("U1", u, company_id=None, kind="staff"), ensure_ascii=False).encode(),
        json.dumps(user("U10", u), ensure_ascii=False).encode()]
    for n, (rule, path, value, field) in enumerate(USER_RULES, start=20):
        users.append(json.dumps(mutate(user(f"U{n}", u), path, value), ensure_ascii=False).encode())
        expected.append({"rule": rule, "file": "users.jsonl", "line": len(users), "id": f"U{n}", "field": field})
    users.append(json.dumps(user("U10", u, login="dup"), ensure_ascii=False).encode())
    expected.append({"rule": "user id unique", "file": "users.jsonl", "line": len(users), "id": "U10", "field": "id"})

    tickets: list[bytes] = [json.dumps(ticket("T-good1", u), ensure_ascii=False).encode()]
    for n, (rule, path, value, field) in enumerate(TICKET_RULES, start=1):
        tid = f"T-bad{n}"
        tickets.append(json.dumps(mutate(ticket(tid, u), path, value), ensure_ascii=False).encode())
        expected.append({"rule": rule, "file": "tickets.jsonl", "line": len(tickets), "id": u + tid, "field": field})
    tickets.append(b"")  # a blank line: ignored, but numbered
    for rule, text, rid in RAW_TICKET_RULES:
        if rule == "invalid UTF-8":
            line = json.dumps(ticket("T-utf8", u), ensure_ascii=False).encode().replace(
                "Текст обращения".encode(), b"\xff\xfe broken")
        elif rule == "lone UTF-16 surrogate":
            line = json.dumps(ticket("T-surrogate", u, subject="SURROGATE")).replace(
                "SURROGATE", "\\ud800").encode()
        else:
            assert text is not None
            line = text.format(u=u).encode()
        tickets.append(line)
        field = "subject" if rule == "lone UTF-16 surrogate" else None
        expected.append({"rule": rule, "file": "tickets.jsonl", "line": len(tickets),
                         "id": u + rid if rid else None, "field": field})
    tickets.append(json.dumps(ticket("T-good1", u, subject="Повтор"), ensure_ascii=False).encode())
    expected.append({"rule": "ticket id unique", "file": "tickets.jsonl", "line": len(tickets),
                     "id": f"{u}T-good1", "field": "id"})
    # good tickets after all the bad ones: a deleted author and assignee (not bad: a stand-in writes)
    tickets.append(json.dumps(ticket("T-good2", u, author_id="U999", assignee_id="U998"),
                              ensure_ascii=False).encode())
    tickets.append(json.dumps(ticket("T-good3", u, description_format="html", description="<b>жирный</b>",
                                     closed_at="2024-05-09T12:00:00Z", status="Закрыто"),
                              ensure_ascii=False).encode())
    good = 3

    for name, lines in (("companies.jsonl", companies), ("users.jsonl", users), ("tickets.jsonl", tickets)):
        (root / name).write_bytes(b"\n".join(lines) + b"\n")
    counts = {"companies": len(companies), "users": len(users), "tickets": sum(1 for t in tickets if t)}
    (root / "manifest.json").write_text(json.dumps({
        "format": "nemo-portal-export", "version": 1, "exported_at": "2026-11-20T09:00:00+03:00",
        "counts": counts}), "utf-8")
    return root, expected, good


def test_every_rule_broken_once_is_reported_and_the_rest_migrates(redmine_pg: LocalRedmine, tmp_path: Path,
                                                                  unique: str) -> None:
    u = f"b{unique}"
    export, expected, good = build_export(tmp_path / "export", u)
    state = tmp_path / "state.sqlite"
    env = helpdesk_env(redmine_pg)
    args = [str(export), "--state", str(state), "--format", "json"]

    planned = helpdesk(["migrate", "plan", *args], env)
    assert planned.returncode == 3, planned.stderr  # done, but records need attention
    assert "Traceback" not in planned.stderr
    plan = json.loads(planned.stdout)
    bad = [f for f in plan["findings"] if f["category"] == "bad-record"]
    reported = {(f["file"], f["line"]): f for f in bad}
    for want in expected:
        got = reported.get((want["file"], want["line"]))
        assert got is not None, f"not reported: {want}"
        assert got["id"] == want["id"], (want, got)
        assert got["reason"] and len(got["reason"]) > 5, got
        if want["field"] is not None:
            assert got["field"] == want["field"], (want, got)
    assert len(bad) == len(expected), sorted(set(reported) - {(w["file"], w["line"]) for w in expected})
    # users and tickets whose only fault is another file's bad record are reported too, not lost
    assert plan["counts"]["issue"]["create"] == good
    assert plan["tickets_read"] == good
    print(f"\nbad-record classes covered: {len(expected)} "
          f"({Counter(w['file'] for w in expected)}); good tickets planned: {good}")

    ran = helpdesk(["migrate", "run", *args], env)
    assert ran.returncode == 3, ran.stderr
    result = json.loads(ran.stdout)
    assert result["counts"]["issue"]["create"] == good
    assert [f for f in result["findings"] if f["category"] == "bad-record"] == bad
    assert not [f for f in result["findings"] if f["category"] == "write-failed"]
    assert_exactly_once(redmine_pg, export, state)


def test_unreadable_export_is_one_line_and_exit_2(redmine_pg: LocalRedmine, tmp_path: Path) -> None:
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "manifest.json").write_text('{"format": "something-else", "version": 1}')
    done = helpdesk(["migrate", "plan", str(tmp_path / "e"), "--format", "json"], helpdesk_env(redmine_pg))
    assert done.returncode == 2
    assert done.stdout == ""
    assert [line for line in done.stderr.splitlines() if line.strip()] == [done.stderr.strip()]
    assert "not a portal export" in done.stderr and "Traceback" not in done.stderr


# --- mappings.yaml with mistakes ---------------------------------------------------------------


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


MAPPING_MISTAKES = {
    # name: (replace this, with this, key named, line holding this text)
    "wrong type": ("attachment_max_size_kb: 5120", "attachment_max_size_kb: много",
                   "settings.attachment_max_size_kb", "attachment_max_size_kb"),
    "unknown status name": ("    В работе: В работе", "    В работе: Делается",
                            "portal.statuses.В работе", "В работе: Делается"),
    "unknown tracker of a reason": ("Консультация: Обсуждение", "Консультация: Беседа",
                                    "portal.reasons.Консультация", "Консультация: Беседа"),
    "unknown key": ("  text_formatting: common_mark", "  text_formatting: common_mark\n  colour: blue",
                    "settings.colour", "colour: blue"),
    "bad YAML": ("  fallback_priority: Средний", "  fallback_priority: [Средний",
                 None, None),
}


@pytest.mark.parametrize("case", sorted(MAPPING_MISTAKES))
def test_mappings_mistake_names_key_and_line_without_traceback(redmine_pg: LocalRedmine, tmp_path: Path,
                                                                case: str) -> None:
    old, new, key, marker = MAPPING_MISTAKES[case]
    text = bundled_mappings_text()
    assert old in text
    broken = text.replace(old, new, 1)
    path = tmp_path / "mappings.yaml"
    path.write_text(broken, "utf-8")
    env = helpdesk_env(redmine_pg)
    env["HELPDESK_TRACEBACK"] = ""
    env["HELPDESK_LANG"] = "en"  # the wording (key, line) is asserted
    for args in (["provision", "--ruby"], ["migrate", "plan", "samples/export", "--format", "json"]):
        done = helpdesk(["--mappings", str(path), *args], env)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stdout == ""
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, done.stderr
        assert "Traceback" not in done.stderr
        message = lines[0]
        assert str(path) in message
        if key is not None:
            assert f"key '{key}'" in message, message
            assert f"{path}:{_line_of(broken, marker)}," in message, message
        else:
            assert "not valid YAML" in message
            line = int(message.split(f"{path}:")[1].split(":")[0].split(",")[0])
            assert abs(line - _line_of(broken, "fallback_priority: [")) <= 1, message
