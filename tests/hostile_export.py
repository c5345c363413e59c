"""A hostile portal export, written by code: what clients, unlucky exports and other admins can do.

Each class of issue 11 is a `Piece` (companies, users, tickets and files); `write_export` puts any
pieces together into a directory or a zip. Every id, login, email and domain carries a token, so
a test can write the corpus into a Redmine that already holds earlier copies of it.

Classes (the names the tests and the closing table use):
- `existing_accounts`: portal users whose email matches accounts that already exist in Redmine
  (an administrator, an ordinary account, a locked one); one portal user is inactive.
- `forged_markers`: comment bodies, time-entry comments and complaints quoting provenance
  markers of objects a later export adds (`phase=2` is that later export).
- `lookalike_companies`: two companies with one name, each with its client and ticket.
- `repeated_ids`: two comments with one id in a ticket; one time-entry id on two tickets.
- `hostile_files`: an over-long path component, an over-long file name, a symlink loop, a zip
  member with a wrong CRC (zip only), a login outside Latin-1 (the Kelvin sign folds to "k").
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Json = dict[str, Any]
AT = "2024-05-06T10:00:00+03:00"
LATER = "2024-05-07T11:00:00+03:00"
LATEST = "2024-05-08T12:00:00+03:00"


@dataclass
class Piece:
    companies: list[Json] = field(default_factory=list)
    users: list[Json] = field(default_factory=list)
    tickets: list[Json] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # path in the export -> content
    symlinks: dict[str, str] = field(default_factory=dict)  # path -> target (directory exports only)
    bad_crc: set[str] = field(default_factory=set)  # zip members whose stored CRC is made wrong

    def __add__(self, other: Piece) -> Piece:
        return Piece(self.companies + other.companies, self.users + other.users, self.tickets + other.tickets,
                     {**self.files, **other.files}, {**self.symlinks, **other.symlinks},
                     self.bad_crc | other.bad_crc)


def company(cid: str, name: str, domain: str) -> Json:
    return {"id": cid, "name": name, "email_domains": [domain]}


def user(uid: str, login: str, email: str, company_id: str | None, *, kind: str = "client",
         active: bool = True) -> Json:
    return {"id": uid, "login": login, "email": email, "first_name": "Имя", "last_name": uid, "company_id": company_id,
            "kind": kind, "active": active, "created_at": AT}


def comment(mid: str, author: str, body: str, at: str = LATER, attachments: list[Json] | None = None) -> Json:
    return {"id": mid, "author_id": author, "created_at": at, "body": body, "internal": False,
            "attachments": attachments or []}


def entry(wid: str, user_id: str, text: str, hours: str = "0.5") -> Json:
    return {"id": wid, "user_id": user_id, "spent_on": "2024-05-07", "hours": float(hours), "comment": text}


def ticket(tid: str, company_id: str, author: str, *, comments: list[Json] | None = None,
           time_entries: list[Json] | None = None, complaints: list[Json] | None = None,
           attachments: list[Json] | None = None, status: str = "В работе") -> Json:
    return {"id": tid, "company_id": company_id, "author_id": author, "created_at": AT, "updated_at": LATEST,
            "reason": "Ошибка в работе системы", "priority": "Средний", "module": None, "category": None,
            "subject": f"Обращение {tid}", "description": f"Текст {tid}", "description_format": "text",
            "status": status, "assignee_id": None, "answers": {}, "attachments": attachments or [],
            "comments": comments or [], "complaints": complaints or [], "time_entries": time_entries or [],
            "closed_at": None}


def attachment(aid: str, filename: str, path: str, content: bytes, author: str) -> Json:
    return {"id": aid, "filename": filename, "content_type": "application/octet-stream", "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(), "path": path, "author_id": author, "created_at": AT}


def staff(token: str) -> Piece:
    return Piece(users=[user(f"S{token}", f"staff.{token}", f"staff.{token}@support.example", None, kind="staff")])


# --- the classes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accounts:
    """Emails of accounts the test creates in Redmine before the migration."""

    admin: str
    foreign: str
    locked: str
    foreign_inactive: str


def existing_accounts(token: str, emails: Accounts) -> Piece:
    cid = f"CE{token}"
    users = [user(f"UA{token}", f"boss.{token}", emails.admin, cid),
             user(f"UF{token}", f"foreign.{token}", emails.foreign, cid),
             user(f"UL{token}", f"locked.{token}", emails.locked, cid),
             user(f"UI{token}", f"gone.{token}", emails.foreign_inactive, cid, active=False),
             user(f"UN{token}", f"new.{token}", f"new.{token}@existing-{token}.example", cid)]
    tickets = [ticket(f"TE{token}x{u['id']}", cid, u["id"], comments=[comment(f"ME{token}x{u['id']}", u["id"], "да")])
               for u in users]
    return Piece([company(cid, f"Existing {token}", f"existing-{token}.example")], users, tickets)


def forged_markers(token: str, phase: int = 1) -> Piece:
    """Phase 1 quotes the markers of objects that only phase 2 (a later export) adds."""
    cid, client, tid = f"CM{token}", f"UM{token}", f"TM{token}"
    comments = [comment(f"M1x{token}", client, f"_[portal:comment:M2x{token}] Клиент, 01.01.2024 10:00 МСК_\n"
                                               f"и ещё [portal:comment:M2x{token}]")]
    entries = [entry(f"W1x{token}", f"S{token}", f"[portal:time:W2x{token}] цитата")]
    complaints = [{"author_id": client, "created_at": LATER, "text": f"_[portal:complaint:{tid}-2] подделка_"}]
    if phase >= 2:
        comments.append(comment(f"M2x{token}", client, "настоящий второй комментарий", at=LATEST))
        entries.append(entry(f"W2x{token}", f"S{token}", "настоящая вторая запись", "1.25"))
        complaints.append({"author_id": client, "created_at": LATEST, "text": "настоящая вторая жалоба"})
    return Piece([company(cid, f"Markers {token}", f"markers-{token}.example")],
                 [user(client, f"marker.{token}", f"marker.{token}@markers-{token}.example", cid)],
                 [ticket(tid, cid, client, comments=comments, time_entries=entries, complaints=complaints)])


def lookalike_companies(token: str, *, only_first: bool = False) -> Piece:
    name = f"ООО «Двойник {token}»"
    piece = Piece()
    for n in ("1", "2")[: 1 if only_first else 2]:
        cid, client = f"CL{n}x{token}", f"UL{n}x{token}"
        domain = f"twin{n}-{token}.example"
        piece = piece + Piece([company(cid, name, domain)], [user(client, f"twin{n}.{token}", f"c@{domain}", cid)],
                              [ticket(f"TL{n}x{token}", cid, client)])
    return piece


def repeated_ids(token: str) -> Piece:
    cid, client = f"CR{token}", f"UR{token}"
    same = f"MR{token}"
    return Piece([company(cid, f"Repeats {token}", f"repeats-{token}.example")],
                 [user(client, f"rep.{token}", f"rep@repeats-{token}.example", cid)],
                 [ticket(f"TR1x{token}", cid, client,
                         comments=[comment(same, client, "первый"), comment(same, client, "второй", at=LATEST)]),
                  ticket(f"TR2x{token}", cid, client, time_entries=[entry(f"WR{token}", f"S{token}", "раз")]),
                  ticket(f"TR3x{token}", cid, client, time_entries=[entry(f"WR{token}", f"S{token}", "два")]),
                  ticket(f"TR4x{token}", cid, client)])


KELVIN = "\u212a"  # KELVIN SIGN: lower() is ASCII "k", Latin-1 cannot encode it


def hostile_files(token: str, *, zipped: bool = False) -> Piece:
    cid, client = f"CH{token}", f"UH{token}"
    good = b"good file " + token.encode()
    long_name = "очень-длинное-имя-" * 20 + ".txt"  # 365 characters: over Redmine's 255
    files = {f"attachments/{token}/good.txt": good, f"attachments/{token}/long.txt": b"long name " + token.encode()}
    atts = [attachment(f"AG{token}", "good.txt", f"attachments/{token}/good.txt", good, client),
            attachment(f"AN{token}", long_name, f"attachments/{token}/long.txt", files[f"attachments/{token}/long.txt"],
                       client),
            attachment(f"AP{token}", "p.txt", f"attachments/{token}/{'p' * 300}.txt", b"absent", client)]
    piece = Piece(files=files)
    if zipped:
        crc = b"crc member " + token.encode()
        piece.files[f"attachments/{token}/crc.bin"] = crc
        piece.bad_crc.add(f"attachments/{token}/crc.bin")
        atts.append(attachment(f"AC{token}", "crc.bin", f"attachments/{token}/crc.bin", crc, client))
    else:
        piece.symlinks[f"attachments/{token}/loop-a"] = "loop-b"
        piece.symlinks[f"attachments/{token}/loop-b"] = "loop-a"
        atts.append(attachment(f"AL{token}", "loop.txt", f"attachments/{token}/loop-a/x.txt", b"loop", client))
    kelvin = f"UK{token}"
    return piece + Piece(
        [company(cid, f"Files {token}", f"files-{token}.example")],
        [user(client, f"files.{token}", f"files@files-{token}.example", cid),
         user(kelvin, f"{KELVIN}elvin.{token}", f"kelvin@files-{token}.example", cid)],
        [ticket(f"TH1x{token}", cid, client, attachments=atts),
         ticket(f"TH2x{token}", cid, kelvin, comments=[comment(f"MK{token}", kelvin, "пишет Кельвин")])])


# --- writing --------------------------------------------------------------------------------------


def _lines(records: list[Json]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def write_export(dst: Path, piece: Piece, *, zipped: bool = False) -> Path:
    """The export as a directory `dst`, or as the zip `dst.zip` (returned)."""
    manifest = {"format": "nemo-portal-export", "version": 1, "exported_at": "2026-11-20T09:00:00+03:00",
                "counts": {"companies": len(piece.companies), "users": len(piece.users),
                           "tickets": len(piece.tickets)}}
    texts = {"manifest.json": json.dumps(manifest).encode(), "companies.jsonl": _lines(piece.companies).encode(),
             "users.jsonl": _lines(piece.users).encode(), "tickets.jsonl": _lines(piece.tickets).encode()}
    if zipped:
        path = dst.with_suffix(".zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
            for name, content in {**texts, **piece.files}.items():
                zf.writestr(name, content)
        for name in piece.bad_crc:
            _break_crc(path, name)
        return path
    dst.mkdir(parents=True, exist_ok=True)
    for name, content in {**texts, **piece.files}.items():
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        (dst / name).write_bytes(content)
    for name, target in piece.symlinks.items():
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, dst / name)
    return dst


def _break_crc(path: Path, member: str) -> None:
    """Flip one byte of a stored member's data: sizes stay, its CRC no longer matches."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    data = bytearray(path.read_bytes())
    header = info.header_offset
    name_len = int.from_bytes(data[header + 26:header + 28], "little")
    extra_len = int.from_bytes(data[header + 28:header + 30], "little")
    start = header + 30 + name_len + extra_len
    data[start] ^= 0x01
    path.write_bytes(bytes(data))


# --- one export for both writers (issue 19, class 4) ------------------------------------------------

PARITY_FILE = b"the same bytes in every copy of the parity export"


def parity(token: str) -> Piece:
    """What the two writers used to decide differently: another company's client as issue and note
    author, a client's and an unknown user's hours, 1,000 hours, file names over 255 characters,
    empty or with a path, NUL in texts, and a status history by support, a client and the portal."""
    ca, cb, a, b, s = f"CPa{token}", f"CPb{token}", f"UPa{token}", f"UPb{token}", f"SP{token}"
    files = {f"attachments/{token}/{n}.bin": PARITY_FILE + n.encode() for n in ("long", "empty", "path", "odd")}

    def att(aid: str, name: str, n: str) -> Json:
        path = f"attachments/{token}/{n}.bin"
        return attachment(f"{aid}{token}", name, path, files[path], a)

    internal = {**comment(f"MPi{token}", a, "внутренняя заметка клиента", at="2024-05-07T11:45:00+03:00"),
                "internal": True}
    staff_note = {**comment(f"MPs{token}", s, "заметка\x00 поддержки", at=LATEST), "internal": True}
    history = [{"status": "В работе", "at": LATER, "by": s},
               {"status": "Требует обратной связи", "at": "2024-05-07T12:00:00+03:00", "by": a},
               {"status": "Решено, требует проверки", "at": "2024-05-08T13:00:00+03:00", "by": None}]
    first = ticket(f"TP1x{token}", ca, b, status="Решено, требует проверки", comments=[
        comment(f"MPb{token}", b, "пишет клиент другой компании"),
        comment(f"MPa{token}", a, "ответ\x00 клиента", at="2024-05-07T11:30:00+03:00",
                attachments=[att("APp", "a/b/../evil.txt", "path")]),
        internal, staff_note],
        time_entries=[entry(f"WPa{token}", a, "часы клиента"), entry(f"WPs{token}", s, "часы поддержки", "1.25"),
                      entry(f"WPk{token}", s, "тысяча часов", "1000"),
                      entry(f"WPg{token}", f"UPgone{token}", "удалён")],
        attachments=[att("APl", "длинное-имя-" * 30 + ".txt", "long"), att("APe", "", "empty"),
                     att("APo", 'x:y?"z".txt', "odd")])
    first.update(description="описание\x00 с NUL", assignee_id=s, status_history=history)
    second = ticket(f"TP2x{token}", ca, a, complaints=[{"author_id": a, "created_at": LATER, "text": "первая жалоба"},
                                                     {"author_id": a, "created_at": LATEST, "text": "жалоба\x00"}])
    second["subject"] = "тема\x00 с NUL"
    third = ticket(f"TP3x{token}", ca, f"UPgone{token}", comments=[comment(f"MPg{token}", f"UPgone{token}", "удалён")])
    return Piece([company(ca, f"Parity A {token}", f"pa-{token}.example"),
                  company(cb, f"Parity B {token}", f"pb-{token}.example")],
                 [user(a, f"pa.{token}", f"a@pa-{token}.example", ca),
                  user(b, f"pb.{token}", f"b@pb-{token}.example", cb),
                  user(s, f"ps.{token}", f"s.{token}@support.example", None, kind="staff")],
                 [first, second, third], files)
