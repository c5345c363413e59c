"""What a client reads where a portal file was not moved: one Russian sentence per file, on both writers.

A missing file, a damaged one (sha256 not the record's), an unreadable one (a zip member, CRC wrong)
and one over the server's limit, on the ticket (the description) and on a comment (its public note),
one with a name full of markup. Everything through `helpdesk migrate run` against the real local
Redmine (REST, and `--loader rails` on the SQLite instance), read back as the client reads it
(impersonated REST); the administrator's report keeps the technical reason with the path.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, LocalRedmine
from tests.hostile_export import Piece, attachment, comment, company, ticket, user, write_export
from tests.integration.test_client_sees_no_marker import rendered
from tests.integration.test_loader import with_loader

pytestmark = pytest.mark.redmine
HOSTILE = "_итог_ *[ссылка](http://x.example)* `код`.txt"


def lost_export(root: Path, token: str) -> Path:
    cid, client = f"CF{token}", f"UF{token}"
    good = b"good " + token.encode()
    big = b"x" * 3000  # over the 1 KB limit the test sets
    damaged = attachment(f"AD{token}", "акт.pdf", f"attachments/{token}/akt.pdf", b"the recorded bytes", client)
    damaged["sha256"] = hashlib.sha256(b"other bytes").hexdigest()  # size as recorded, content not
    files = {f"attachments/{token}/good.txt": good, f"attachments/{token}/big.bin": big,
             f"attachments/{token}/akt.pdf": b"the damaged bytes", f"attachments/{token}/crc.txt": b"crc!"}
    on_ticket = [attachment(f"AG{token}", "хорошо.txt", f"attachments/{token}/good.txt", good, client),
                 attachment(f"AM{token}", "отчёт.pdf", f"attachments/{token}/absent.pdf", b"a" * 2500, client),
                 damaged,
                 attachment(f"AB{token}", "большой.bin", f"attachments/{token}/big.bin", big, client),
                 attachment(f"AL{token}", "битый.txt", f"attachments/{token}/crc.txt", b"crc!", client)]
    on_comment = [attachment(f"AH{token}", HOSTILE, f"attachments/{token}/absent-too.txt", b"zz", client)]
    return write_export(root, Piece(
        [company(cid, f"Файлы {token}", f"lost-{token}.example")],
        [user(client, f"lost.{token}", f"lost@lost-{token}.example", cid),
         user(f"SF{token}", f"sf.{token}", f"sf.{token}@support.example", None, kind="staff")],
        [ticket(f"TF{token}", cid, client, attachments=on_ticket,
                comments=[comment(f"MF{token}", client, "прикладываю файл", attachments=on_comment)])],
        files, bad_crc={f"attachments/{token}/crc.txt"}), zipped=True)


def migrate(redmine: LocalRedmine, export: Path, state: Path, *extra: str) -> dict[str, Any]:
    done = subprocess.run([str(REPO / ".venv/bin/helpdesk"), "migrate", "run", str(export), "--state", str(state),
                           "--attachment-limit-kb", "1", "--format", "json", *extra],
                          env=redmine.env(), capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 3, f"exit {done.returncode}: {done.stderr[-3000:]}"  # the lost files are findings
    assert "Traceback" not in done.stderr
    return dict(json.loads(done.stdout))


def as_client(redmine: LocalRedmine, token: str) -> dict[str, Any]:
    gw = redmine.gateway()
    field = next(f["id"] for f in gw.get("/custom_fields.json")["custom_fields"] if f["name"] == "ID в портале")
    [found] = gw.get("/issues.json", {f"cf_{field}": f"TF{token}", "status_id": "*"})["issues"]
    return dict(gw.get(f"/issues/{found['id']}.json", {"include": "journals,attachments"},
                       as_user=f"lost.{token}")["issue"])


EXPECTED = {
    "отчёт.pdf": "_Вложение «отчёт.pdf» (2,4 КБ) не перенесено: файла нет в выгрузке портала_",
    "акт.pdf": "_Вложение «акт.pdf» (18 байт) не перенесено: файл в выгрузке портала повреждён_",
    "большой.bin": "_Вложение «большой.bin» (2,9 КБ) не перенесено: файл больше допустимого размера 1 КБ_",
    "битый.txt": "_Вложение «битый.txt» (4 байта) не перенесено: не удалось прочитать файл из выгрузки портала_",
}
# The name Redmine would store (no "*", ":", "/"), markup escaped: CommonMark shows it letter for letter.
HOSTILE_LINE = ("_Вложение «\\_итог\\_ \\_\\[ссылка\\](http\\_x.example)\\_ \\`код\\`.txt» (2 байта) "
                "не перенесено: файла нет в выгрузке портала_")


@pytest.mark.parametrize("loader", ["rest", "rails"])
def test_a_lost_file_reads_as_one_russian_sentence(redmine: LocalRedmine, tmp_path: Path, unique: str,
                                                   loader: str) -> None:
    extra = with_loader(redmine) if loader == "rails" else []
    result = migrate(redmine, lost_export(tmp_path / "e", unique), tmp_path / "state.sqlite", *extra)
    reasons = {f["field"]: f["reason"] for f in result["findings"] if f["category"] == "attachment"}
    # the administrator's report: the path and the technical reason
    assert set(reasons) == {f"attachments.A{k}{unique}" for k in "MDBLH"}, result["findings"]
    assert reasons[f"attachments.AB{unique}"] == (f"attachments/{unique}/big.bin: "
                                                  "3000 bytes is over the server's limit of 1024")
    assert reasons[f"attachments.AM{unique}"].startswith(f"attachments/{unique}/absent.pdf: ")

    issue = as_client(redmine, unique)
    assert [a["filename"] for a in issue["attachments"]] == ["хорошо.txt"]
    lines = [line for line in issue["description"].splitlines() if "не перенесено" in line]
    assert sorted(lines) == sorted(EXPECTED.values()), issue["description"]
    [note] = [j["notes"] for j in issue["journals"] if "прикладываю файл" in (j.get("notes") or "")]
    assert note.splitlines()[-1] == HOSTILE_LINE, note
    # on the issue page (Redmine's own common_mark formatter): the name letter for letter, nothing a link
    assert ("<em>Вложение «_итог_ _[ссылка](http_x.example)_ `код`.txt» (2 байта) не перенесено: "
            "файла нет в выгрузке портала</em>") in rendered(redmine, note)
    for line in [*lines, HOSTILE_LINE]:
        words = line.split("» (", 1)[1]  # after the file's name: only Russian, no path, hash or exception
        assert not re.search(r"[A-Za-z/]", words), line
