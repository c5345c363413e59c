"""Write portal exports (format version 1): the bundled awkward sample, or big ones for benchmarks.

The sample (`samples/export/`, committed) carries one instance of every awkward case the
migrator must handle, and a README that names the record carrying each case. Output is
a pure function of the seed: re-running rewrites the same bytes.

Example:
    python samples/make_sample_export.py                      # rewrite samples/export/
    python samples/make_sample_export.py --tickets 100000 --out /tmp/big --no-attachments
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

DEFAULT_SEED = 20261120
SAMPLE_DIR = Path(__file__).resolve().parent / "export"
MSK = timezone(timedelta(hours=3))
EXPORTED_AT = "2026-11-20T09:00:00+03:00"

STATUSES = (
    "На рассмотрении",
    "В работе",
    "Требует обратной связи",
    "Решено, требует проверки",
    "Закрыто",
    "Отклонено",
)
CLOSED_STATUSES = ("Закрыто", "Отклонено")
REASONS = (
    "Ошибка в работе системы",
    "Некорректное отображение",
    "Изменение настроек",
    "Запрос на доработку",
    "Консультация",
)
PRIORITIES = ("Блокер", "Критический", "Высокий", "Средний", "Низкий")
MODULES = (("Авиа", "Бронирование"), ("Авиа", "Выписка"), ("Отели", "Поиск"), ("Ж/Д", None), (None, None))
PHRASES = (
    "Не выписывается билет по заказу",
    "При поиске рейсов появляется ошибка",
    "Просим изменить настройки сборов",
    "Не приходит письмо с маршрутной квитанцией",
    "Цена в корзине отличается от цены в выдаче",
    "Добавьте, пожалуйста, фильтр по багажу",
    "Как настроить правила отображения тарифов",
    "Ошибка при возврате билета",
)
WORDS = (
    "заказ",
    "бронирование",
    "PNR",
    "тариф",
    "перевозчик",
    "агент",
    "сбор",
    "выписка",
    "возврат",
    "обмен",
    "пассажир",
    "билет",
    "рейс",
    "сегмент",
    "оплата",
    "карта",
    "ошибка",
    "настройка",
    "поиск",
    "выдача",
    "корзина",
    "квитанция",
)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class JsonlWriter:
    """Writes one jsonl file, remembering line numbers so the README can cite them."""

    path: Path
    lines: int = 0
    _fh: Any = field(default=None, repr=False)

    def __enter__(self) -> JsonlWriter:
        self._fh = self.path.open("w", encoding="utf-8", newline="\n")
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()

    def record(self, obj: dict[str, Any]) -> int:
        return self.raw(json.dumps(obj, ensure_ascii=False))

    def raw(self, text: str) -> int:
        self._fh.write(text + "\n")
        self.lines += 1
        return self.lines


def write_manifest(out: Path, companies: int, users: int, tickets: int) -> None:
    """counts are lines written, good or bad: what the exporter meant to export."""
    manifest = {
        "format": "nemo-portal-export",
        "version": 1,
        "exported_at": EXPORTED_AT,
        "counts": {"companies": companies, "users": users, "tickets": tickets},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


# ---------------------------------------------------------------------------- the sample


@dataclass
class Sample:
    """Builds the awkward sample and records which record carries which case."""

    out: Path
    rng: random.Random
    cases: list[tuple[str, str, str, str]] = field(default_factory=list)  # key, description, id, where
    clock: datetime = datetime(2024, 3, 1, 9, 0, tzinfo=MSK)
    attachment_seq: int = 0

    def case(self, key: str, description: str, record_id: str, where: str) -> None:
        self.cases.append((key, description, record_id, where))

    def tick(self, minutes: int = 0) -> datetime:
        self.clock += timedelta(minutes=minutes or self.rng.randint(20, 600))
        return self.clock

    def attachment(
        self,
        ticket_id: str,
        filename: str,
        author_id: str,
        created_at: datetime,
        *,
        content: bytes | None = None,
        content_type: str = "image/png",
        write: bool = True,
        declared_sha256: str | None = None,
    ) -> dict[str, Any]:
        self.attachment_seq += 1
        data = content if content is not None else self.rng.randbytes(self.rng.randint(512, 4096))
        rel = f"attachments/{ticket_id}/{filename}"
        if write:
            target = self.out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return {
            "id": f"A{self.attachment_seq}",
            "filename": filename,
            "content_type": content_type,
            "size": len(data),
            "sha256": declared_sha256 or sha256(data),
            "path": rel,
            "author_id": author_id,
            "created_at": iso(created_at),
        }

    def comment(
        self, n: int, author: str, *, internal: bool = False, body: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": f"M{n}",
            "author_id": author,
            "created_at": iso(self.tick()),
            "body": body or sentence(self.rng, self.rng.randint(6, 20)),
            "internal": internal,
            "attachments": [],
        }


STAFF = ("U1", "U2", "U3")
CLIENTS = {"U10": "C1", "U11": "C2", "U13": "C3", "U14": "C4", "U16": "C3"}


# Tickets that carry a status_history (one of each status, and 2024 dates, so the sweeps have work).
HISTORY_TICKETS = (2, 4, 9, 34, 35, 36, 37, 38, 39, 40)


def status_history(ticket: dict[str, Any]) -> list[dict[str, Any]]:
    """A plausible portal history ending in the ticket's status, from its own dates (no randomness,
    so adding histories changes no other byte of the sample)."""
    created = datetime.fromisoformat(ticket["created_at"])
    updated = datetime.fromisoformat(ticket["updated_at"])
    staff = ticket["assignee_id"] if ticket.get("assignee_id") in STAFF else "U1"
    status = ticket["status"]
    history = [{"status": "На рассмотрении", "at": iso(created), "by": None}]
    if status == "На рассмотрении":
        return history
    history.append({"status": "В работе", "at": iso(created + timedelta(minutes=15)), "by": staff})
    comments = ticket["comments"]
    last = comments[-1] if comments else None
    if status == "Требует обратной связи":
        asked = last if last is not None and last["author_id"] in STAFF else None
        history.append({"status": status, "at": asked["created_at"] if asked else iso(updated),
                        "by": asked["author_id"] if asked else staff})
    elif status == "Закрыто":
        start = datetime.fromisoformat(last["created_at"]) if last else created + timedelta(minutes=15)
        history.append({"status": "Решено, требует проверки", "at": iso(start + (updated - start) / 2),
                        "by": staff})
        history.append({"status": status, "at": iso(updated), "by": staff})
    elif status != "В работе":
        history.append({"status": status, "at": iso(updated), "by": staff})
    return history


def write_sample_export(out: Path, seed: int = DEFAULT_SEED) -> list[tuple[str, str, str, str]]:
    """Write the awkward sample export into `out` (replaced) and its README; return the cases."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    s = Sample(out, random.Random(seed))

    with JsonlWriter(out / "companies.jsonl") as w:
        w.record({"id": "C1", "name": "ООО «Ромашка Тревел»", "email_domains": ["romashka.travel"]})
        w.record({"id": "C2", "name": "ООО «Ромашка-Тревел»", "email_domains": ["Romashka-Travel.RU"]})
        w.record(
            {"id": "C3", "name": "АО «Авиа Лайн Сервис»", "email_domains": ["avialine.ru", "avialine.com"]}
        )
        w.record({"id": "C4", "name": "WebSky Partner Ltd", "email_domains": []})
        companies = w.lines
    s.case(
        "names-transliterate-alike", "«Ромашка Тревел» and «Ромашка-Тревел»", "C1, C2", "companies.jsonl:1-2"
    )
    s.case("empty-email-domains", "company without email domains", "C4", "companies.jsonl:4")
    s.case("upper-case-domain", "email domain not lower-case", "C2", "companies.jsonl:2")

    people = [
        ("U1", "a.petrov", "a.petrov@nemo.travel", "Алексей", "Петров", None, True),
        ("U2", "s.sidorova", "S.Sidorova@Nemo.Travel", "Светлана", "Сидорова", None, True),
        ("U3", "m.orlov", "m.orlov@nemo.travel", "Михаил", "Орлов", None, True),
        ("U10", "i.ivanov", "i.ivanov@romashka.travel", "Иван", "Иванов", "C1", True),
        ("U11", "I.Ivanov", "I.Ivanov@Romashka-Travel.ru", "Игорь", "Иванов", "C2", True),
        ("U12", "o.stepanova", "o.stepanova@romashka.travel", "Ольга", "Степанова", "C1", False),
        ("U13", "m.kuznetsova", "m.kuznetsova@avialine.ru", "Мария", "Кузнецова", "C3", True),
        ("U14", "j.smith", "j.smith@websky-partner.com", "", "Smith", "C4", True),
        ("U15", "p.volkov", "p.volkov(at)avialine.ru", "Павел", "Волков", "C3", True),
        ("U16", "n.belova", "n.belova@avialine.com", "Наталья", "Белова", "C3", True),
    ]
    user_line: dict[str, int] = {}
    with JsonlWriter(out / "users.jsonl") as w:
        for uid, login, email, first, last, company, active in people:
            user_line[uid] = w.record(
                {
                    "id": uid,
                    "login": login,
                    "email": email,
                    "first_name": first,
                    "last_name": last,
                    "company_id": company,
                    "kind": "staff" if company is None else "client",
                    "active": active,
                    "created_at": iso(
                        datetime(2021, 1, 1, 10, tzinfo=MSK) + timedelta(days=int(uid[1:]) * 17)
                    ),
                }
            )
        users = w.lines
    u = user_line
    s.case(
        "case-colliding-logins",
        "logins i.ivanov / I.Ivanov",
        "U10, U11",
        f"users.jsonl:{u['U10']}-{u['U11']}",
    )
    s.case("inactive-user", "inactive client", "U12", f"users.jsonl:{u['U12']}")
    s.case("empty-first-name", "user with an empty first_name", "U14", f"users.jsonl:{u['U14']}")
    s.case("bad-malformed-email", "BAD RECORD: malformed email", "U15", f"users.jsonl:{u['U15']} field email")
    s.case("staff-without-company", "staff with company_id null", "U1, U2, U3", "users.jsonl:1-3")

    tickets: dict[int, dict[str, Any]] = {}
    rng = s.rng
    n_comment = 0

    def base(n: int) -> dict[str, Any]:
        """A plain valid ticket; the regulation's values cycle so every one occurs."""
        nonlocal n_comment
        author = rng.choice(sorted(CLIENTS))
        status = STATUSES[n % len(STATUSES)]
        module, category = MODULES[n % len(MODULES)]
        created = s.tick()
        comments = []
        for i in range(rng.randint(1, 3)):
            n_comment += 1
            comments.append(s.comment(n_comment, rng.choice(STAFF) if i % 2 == 0 else author))
        updated = s.tick()
        return {
            "id": f"T{n}",
            "company_id": CLIENTS[author],
            "author_id": author,
            "created_at": iso(created),
            "updated_at": iso(updated),
            "reason": REASONS[n % len(REASONS)],
            "priority": PRIORITIES[n % len(PRIORITIES)],
            "module": module,
            "category": category,
            "subject": f"{rng.choice(PHRASES)} {rng.randint(1000000, 9999999)}",
            "description": " ".join(sentence(rng, rng.randint(5, 15)) for _ in range(rng.randint(1, 4))),
            "description_format": "text",
            "status": status,
            "assignee_id": rng.choice(STAFF),
            "answers": {
                "Учетная запись": f"agent_{rng.randint(1, 999):03d}",
                "Номера заказов": f"{rng.randint(1000000, 9999999)}",
                "Версия браузера": rng.choice(("Chrome 120", "Firefox 121", "Safari 17")),
            },
            "attachments": [],
            "comments": comments,
            "complaints": [],
            "time_entries": [],
            "closed_at": iso(updated) if status in CLOSED_STATUSES else None,
        }

    def new_comment(author: str, **kw: Any) -> dict[str, Any]:
        nonlocal n_comment
        n_comment += 1
        return s.comment(n_comment, author, **kw)

    for n in range(1, 41):
        tickets[n] = base(n)
    t = tickets

    t[5]["subject"] = (
        "Очень длинная тема обращения: " + "не работает выписка билетов по всем направлениям, " * 8
    )[:300]
    t[6]["description_format"] = "html"
    t[6]["description"] = (
        "<p>Здравствуйте!</p><p><b>Ошибка</b> при выписке: <script>alert('xss')</script></p>"
        "<ul><li>заказ 1234567</li><li>PNR ABC123</li></ul><iframe src='https://evil.example'></iframe>"
    )
    t[7]["subject"] = "Не работает поиск ✈️🔥 срочно"
    t[7]["comments"][0]["body"] = "Посмотрим 👀, уже чиним 🛠️"
    t[8]["comments"] = [
        new_comment(STAFF[i % 3] if i % 2 else t[8]["author_id"], internal=i % 7 == 3) for i in range(60)
    ]
    t[9]["comments"] = [
        new_comment(t[9]["author_id"]),
        new_comment("U1", internal=True, body="Внутреннее: клиент уже писал об этом в прошлом месяце"),
        new_comment("U2", body="Исправили, проверьте, пожалуйста."),
        new_comment("U3", internal=True, body="Внутреннее: закрыть после подтверждения"),
    ]
    c10 = [new_comment(t[10]["author_id"]), new_comment("U2")]
    c10[0]["attachments"] = [s.attachment("T10", "Скриншот ошибки.png", t[10]["author_id"], s.clock)]
    c10[1]["attachments"] = [
        s.attachment("T10", "инструкция.pdf", "U2", s.clock, content_type="application/pdf"),
        s.attachment(
            "T10",
            "log.txt",
            "U2",
            s.clock,
            content=b"2024-03-01 ERROR booking failed\n",
            content_type="text/plain",
        ),
    ]
    t[10]["comments"] = c10
    t[11]["complaints"] = [
        {"author_id": t[11]["author_id"], "created_at": iso(s.tick()), "text": "Нет ответа больше суток"},
        {
            "author_id": t[11]["author_id"],
            "created_at": iso(s.tick()),
            "text": "Вторая жалоба: всё ещё нет ответа",
        },
    ]
    day = s.clock.date().isoformat()
    t[12]["time_entries"] = [
        {"id": "W1", "user_id": "U1", "spent_on": day, "hours": 0.25, "comment": "Консультация по настройке"},
        {"id": "W2", "user_id": "U2", "spent_on": day, "hours": 1.0, "comment": "Анализ логов"},
        {"id": "W3", "user_id": "U3", "spent_on": day, "hours": 2.2, "comment": ""},
    ]
    t[13]["attachments"] = [s.attachment("T13", "missing.pdf", t[13]["author_id"], s.clock, write=False)]
    t[14]["attachments"] = [
        s.attachment(
            "T14", "corrupted.png", t[14]["author_id"], s.clock, declared_sha256=sha256(b"other content")
        )
    ]
    big_log = "".join(
        f"2024-03-01T10:{i // 60 % 60:02d}:{i % 60:02d}+03:00 INFO search {i} took {rng.randint(5, 900)} ms\n"
        for i in range(5600)
    ).encode()
    t[15]["attachments"] = [
        s.attachment(
            "T15", "server.log", t[15]["author_id"], s.clock, content=big_log, content_type="text/plain"
        )
    ]
    t[16].update(author_id="U12", company_id="C1")
    t[17].update(author_id="U99", company_id="C3")
    t[17]["comments"].append(new_comment("U99"))
    t[18].update(author_id="U10", company_id="C1", subject="Ошибка выписки у i.ivanov")
    t[19].update(author_id="U11", company_id="C2", subject="Ошибка выписки у I.Ivanov")
    t[20]["priority"] = "Срочный"
    t[21]["status"] = "Переоткрыто"
    t[22]["reason"] = "Прочее"
    t[23]["assignee_id"] = "U98"
    t[28].update(description="", module=None, category=None)
    del t[28]["answers"], t[28]["complaints"], t[28]["time_entries"], t[28]["assignee_id"]
    t[29]["created_at"] = datetime.fromisoformat(t[29]["created_at"]).astimezone(UTC).isoformat()[:-6] + "Z"
    t[29]["updated_at"] = (
        datetime.fromisoformat(t[29]["updated_at"]).astimezone(timezone(timedelta(hours=5))).isoformat()
    )
    t[30]["attachments"] = [
        s.attachment("T30", "договор.pdf", "U1", s.clock, content_type="application/pdf"),
        s.attachment("T30", "screen.png", t[30]["author_id"], s.clock),
    ]
    t[31].update(author_id="U15", company_id="C3")
    t[32]["new_field_from_a_later_exporter"] = {"anything": [1, 2, 3]}
    t[33]["assignee_id"] = None
    for n in HISTORY_TICKETS:
        t[n]["status_history"] = status_history(t[n])
    # Bad records (invalid on purpose):
    t[25]["created_at"] = "2024-05-06T18:50:00"
    t[26]["comments"] = [new_comment("U1"), new_comment("U2")]
    t[26]["comments"][1]["created_at"] = t[26]["comments"][1]["created_at"][:-6]
    t[27]["company_id"] = "C9"

    with JsonlWriter(out / "tickets.jsonl") as w:
        where: dict[str, int] = {}
        for n, ticket in t.items():
            if n == 24:
                where["T24"] = w.raw(json.dumps(ticket, ensure_ascii=False)[:180])  # truncated: not JSON
            else:
                where[ticket["id"]] = w.record(ticket)
            if n == 34:
                w.raw("")  # blank lines are ignored, but still count for line numbers
            if n == 35:
                duplicate = dict(t[3], subject="Повтор обращения T3 с другой темой")
                where["T3 (duplicate)"] = w.record(duplicate)
        ticket_lines = w.lines - 1  # the blank line is not a record

    def at(tid: str, extra: str = "") -> str:
        return f"tickets.jsonl:{where[tid]}" + (f" {extra}" if extra else "")

    s.case("long-subject", "subject of 300 characters (> 255)", "T5", at("T5"))
    s.case("html-description", "HTML description with `<script>`, `<iframe>` and `<b>`", "T6", at("T6"))
    s.case("emoji", "emoji in subject and comment", "T7", at("T7"))
    s.case("sixty-comments", "60 comments, some internal", "T8", at("T8"))
    s.case("internal-comments", "internal (employees-only) comments", "T9", at("T9"))
    s.case(
        "comment-attachments", "comments with attachments (Cyrillic file name with a space)", "T10", at("T10")
    )
    s.case("complaints", "two complaints", "T11", at("T11"))
    s.case("time-entries", "time entries of 0.25, 1.0 and 2.2 hours", "T12", at("T12"))
    s.case(
        "attachment-missing",
        "attachment whose file is not in the export",
        "T13",
        at("T13", t[13]["attachments"][0]["id"]),
    )
    s.case(
        "attachment-sha256-mismatch",
        "file differs from its sha256",
        "T14",
        at("T14", t[14]["attachments"][0]["id"]),
    )
    s.case(
        "attachment-large",
        f"attachment of {len(big_log)} bytes (tests set a low size limit)",
        "T15",
        at("T15"),
    )
    s.case("inactive-author", "author is an inactive user (U12)", "T16", at("T16"))
    s.case("deleted-author", "author and a commenter U99 not in users.jsonl", "T17", at("T17"))
    s.case(
        "case-colliding-authors",
        "authors i.ivanov (C1) and I.Ivanov (C2)",
        "T18, T19",
        f"{at('T18')}, {at('T19')}",
    )
    s.case("unmapped-priority", "priority «Срочный»", "T20", at("T20"))
    s.case("unmapped-status", "status «Переоткрыто»", "T21", at("T21"))
    s.case("unmapped-reason", "reason «Прочее»", "T22", at("T22"))
    s.case("deleted-assignee", "assignee U98 not in users.jsonl", "T23", at("T23"))
    s.case(
        "minimal-ticket", "empty description, null module/category, optional fields absent", "T28", at("T28")
    )
    s.case("other-offsets", "timestamps in Z and +05:00", "T29", at("T29"))
    s.case(
        "ticket-attachments", "ticket attachments by staff and client (Cyrillic file name)", "T30", at("T30")
    )
    s.case("author-is-bad-user", "author U15 is a bad record in users.jsonl", "T31", at("T31"))
    s.case("unknown-field", "a field this reader does not know (ignored)", "T32", at("T32"))
    s.case("null-assignee", "assignee_id null", "T33", at("T33"))
    s.case(
        "status-history",
        "status_history: transitions with their times and authors (the first by the portal, null)",
        ", ".join(f"T{n}" for n in HISTORY_TICKETS),
        at("T2"),
    )
    s.case(
        "blank-line",
        "blank line after T34 (ignored, still numbered)",
        "-",
        f"tickets.jsonl:{where['T34'] + 1}",
    )
    s.case("bad-not-json", "BAD RECORD: truncated line, not JSON", "T24", at("T24"))
    s.case(
        "bad-naive-timestamp", "BAD RECORD: created_at without offset", "T25", at("T25", "field created_at")
    )
    s.case(
        "bad-naive-comment-timestamp",
        "BAD RECORD: comment timestamp without offset",
        "T26",
        at("T26", "field comments.1.created_at"),
    )
    s.case(
        "bad-unknown-company",
        "BAD RECORD: company_id C9 not in companies.jsonl",
        "T27",
        at("T27", "field company_id"),
    )
    s.case("bad-duplicate-id", "BAD RECORD: second ticket with id T3", "T3", at("T3 (duplicate)", "field id"))
    for values, key in ((STATUSES, "status"), (REASONS, "reason"), (PRIORITIES, "priority")):
        for value in values:
            carriers = [tk["id"] for n, tk in t.items() if tk[key] == value and n not in (24, 25, 26, 27)]
            s.case(f"{key}-{values.index(value) + 1}", f"{key} «{value}»", ", ".join(carriers[:3]), "")

    write_manifest(out, companies, users, ticket_lines)
    _write_readme(out, s.cases, companies, users, ticket_lines)
    return s.cases


def _write_readme(
    out: Path, cases: list[tuple[str, str, str, str]], companies: int, users: int, tickets: int
) -> None:
    rows = "\n".join(f"| `{key}` | {desc} | {rid} | {where} |" for key, desc, rid, where in cases)
    (out / "README.md").write_text(
        f"""# Bundled sample export (portal export v1)

Generated by `python samples/make_sample_export.py` (seed {DEFAULT_SEED}); do not edit by hand,
re-run the generator. Tests refer to the case keys and ids below.

`manifest.json` counts are lines written (good and bad records alike): companies {companies},
users {users}, tickets {tickets}. The blank line in tickets.jsonl is not counted.

Bad records (rows marked BAD RECORD) are on purpose: the reader must report them with file,
line, id and field, and go on. Everything else is valid and must migrate.

| case | what | record id | where |
|---|---|---|---|
{rows}
""",
        "utf-8",
    )


# ---------------------------------------------------------------------------- big exports


def _bulk_tickets(
    rng: random.Random, count: int, clients: list[tuple[str, str]], staff: list[str], id_prefix: str = ""
) -> Iterator[dict[str, Any]]:
    """Typical tickets: a few comments, often an attachment, sometimes time or a complaint.

    `id_prefix` goes before every ticket, comment, attachment and time-entry id, so that
    exports of the same seed can be migrated into one Redmine as distinct tickets.
    """
    p = id_prefix
    start = datetime(2022, 1, 1, 9, 0, tzinfo=MSK)
    n_comment = n_att = 0
    for n in range(1, count + 1):
        author, company = rng.choice(clients)
        moment = start + timedelta(minutes=n * 7)
        status = rng.choice(STATUSES)
        comments = []
        for i in range(rng.randint(1, 5)):
            n_comment += 1
            moment += timedelta(minutes=rng.randint(5, 300))
            comments.append(
                {
                    "id": f"{p}M{n_comment}",
                    "author_id": rng.choice(staff) if i % 2 == 0 else author,
                    "created_at": iso(moment),
                    "body": sentence(rng, rng.randint(8, 40)),
                    "internal": rng.random() < 0.2,
                    "attachments": [],
                }
            )
        attachments = []
        if rng.random() < 0.4:
            n_att += 1
            attachments.append(
                {
                    "id": f"{p}A{n_att}",
                    "filename": f"screen{n_att}.png",
                    "content_type": "image/png",
                    "size": 0,
                    "sha256": "",
                    "path": f"attachments/{n // 1000}/{n_att}/screen.png",
                    "author_id": author,
                    "created_at": iso(start + timedelta(minutes=n * 7 + 1)),
                }
            )
        module, category = rng.choice(MODULES)
        yield {
            "id": f"{p}T{n}",
            "company_id": company,
            "author_id": author,
            "created_at": iso(start + timedelta(minutes=n * 7)),
            "updated_at": iso(moment),
            "reason": rng.choice(REASONS),
            "priority": rng.choice(PRIORITIES),
            "module": module,
            "category": category,
            "subject": f"{rng.choice(PHRASES)} {rng.randint(1000000, 9999999)}",
            "description": " ".join(sentence(rng, rng.randint(8, 20)) for _ in range(rng.randint(1, 4))),
            "description_format": "text",
            "status": status,
            "assignee_id": rng.choice(staff),
            "answers": {
                "Учетная запись": f"agent_{rng.randint(1, 999):03d}",
                "Номера заказов": f"{rng.randint(1000000, 9999999)}",
                "Версия браузера": "Chrome 120",
            },
            "attachments": attachments,
            "comments": comments,
            "complaints": (
                [{"author_id": author, "created_at": iso(moment), "text": "Нет ответа"}]
                if rng.random() < 0.05
                else []
            ),
            "time_entries": (
                [
                    {
                        "id": f"{p}W{n}",
                        "user_id": rng.choice(staff),
                        "spent_on": moment.date().isoformat(),
                        "hours": rng.choice((0.25, 0.5, 1.0, 1.5, 2.2)),
                        "comment": "Работа по обращению",
                    }
                ]
                if rng.random() < 0.3
                else []
            ),
            "closed_at": iso(moment) if status in CLOSED_STATUSES else None,
        }


def write_bulk_export(
    out: Path, tickets: int, seed: int = DEFAULT_SEED, attachments: bool = True, id_prefix: str = ""
) -> None:
    """Write a big valid export for benchmarks; `attachments=False` leaves attachments out entirely."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    n_companies, n_staff, n_clients = 50, 20, 500
    with JsonlWriter(out / "companies.jsonl") as w:
        for c in range(1, n_companies + 1):
            w.record({"id": f"C{c}", "name": f"Агентство {c}", "email_domains": [f"agency{c}.example"]})
    staff = [f"U{i}" for i in range(1, n_staff + 1)]
    clients = [
        (f"U{i}", f"C{rng.randint(1, n_companies)}") for i in range(n_staff + 1, n_staff + n_clients + 1)
    ]
    with JsonlWriter(out / "users.jsonl") as w:
        for uid in staff:
            w.record(_bulk_user(uid, None))
        for uid, company in clients:
            w.record(_bulk_user(uid, company))
    with JsonlWriter(out / "tickets.jsonl") as w:
        for ticket in _bulk_tickets(rng, tickets, clients, staff, id_prefix):
            for att in ticket["attachments"]:
                if attachments:
                    data = rng.randbytes(rng.randint(256, 2048))
                    target = out / att["path"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                    att.update(size=len(data), sha256=sha256(data))
            if not attachments:
                ticket["attachments"] = []
            w.record(ticket)
    write_manifest(out, n_companies, n_staff + n_clients, tickets)


def _bulk_user(uid: str, company: str | None) -> dict[str, Any]:
    return {
        "id": uid,
        "login": f"user{uid[1:]}",
        "email": f"user{uid[1:]}@{'nemo.travel' if company is None else f'agency{company[1:]}.example'}",
        "first_name": "Имя",
        "last_name": f"Фамилия{uid[1:]}",
        "company_id": company,
        "kind": "staff" if company is None else "client",
        "active": True,
        "created_at": "2021-03-04T11:22:33+03:00",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, help=f"output directory (default: {SAMPLE_DIR} for the sample)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--tickets", type=int, help="write a big typical export of N tickets instead of the sample"
    )
    parser.add_argument("--no-attachments", action="store_true", help="big export: no attachments at all")
    parser.add_argument(
        "--id-prefix",
        default="",
        help="big export: prefix for ticket/comment/attachment/time-entry ids (distinct tickets per run)",
    )
    args = parser.parse_args(argv)
    if args.tickets is None:
        write_sample_export(args.out or SAMPLE_DIR, args.seed)
    else:
        if args.out is None:
            parser.error("--tickets needs --out")
        write_bulk_export(
            args.out, args.tickets, args.seed, attachments=not args.no_attachments, id_prefix=args.id_prefix
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
