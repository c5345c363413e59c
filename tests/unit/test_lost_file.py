"""The line a client reads where a portal file was not moved (migrator.lost_file): plain Russian, true facts."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from helpdesk_core.export import AttachmentCheck
from migrator.engine import bytes_refused, read_refused
from migrator.lost_file import CHECK_KINDS, LossKind, exact_bytes, lost_file_line
from migrator.text import attachment_filename

MB = 1024 * 1024
# Anything a client must never read: English words, exception names, paths, hashes, byte counts in digits+"bytes".
MACHINE = re.compile(r"[A-Za-z]{3,}|/|[0-9a-f]{12}")


@pytest.mark.parametrize(("kind", "why"), [
    ("missing", "файла нет в выгрузке портала"),
    ("damaged", "файл в выгрузке портала повреждён"),
    ("unreadable", "не удалось прочитать файл из выгрузки портала"),
    ("too_large", "файл больше допустимого размера 5 МБ"),
])
def test_every_kind_has_its_russian_sentence(kind: LossKind, why: str) -> None:
    line = lost_file_line("отчёт.pdf", 2516582 if kind != "too_large" else 6 * MB, kind, 5 * MB)
    size = "2,4 МБ" if kind != "too_large" else "6 МБ"
    assert line == f"_Вложение «отчёт.pdf» ({size}) не перенесено: {why}_"
    assert not MACHINE.search(line.replace("отчёт.pdf", "")), line


def test_every_kind_and_every_export_status_is_covered() -> None:
    assert set(get_args(LossKind)) == {"missing", "damaged", "unreadable", "too_large"}
    statuses = set(get_args(AttachmentCheck.model_fields["status"].annotation)) - {"ok"}
    assert set(CHECK_KINDS) == statuses


@pytest.mark.parametrize(("size", "shown"), [
    (0, "0 байт"), (1, "1 байт"), (2, "2 байта"), (4, "4 байта"), (5, "5 байт"), (11, "11 байт"),
    (12, "12 байт"), (21, "21 байт"), (22, "22 байта"), (111, "111 байт"), (1023, "1023 байта"),
    (1024, "1 КБ"), (1536, "1,5 КБ"), (5 * MB, "5 МБ"), (int(2.4 * MB), "2,4 МБ"),
])
def test_size_in_russian_words_and_decimal_comma(size: int, shown: str) -> None:
    assert f"({shown}) не перенесено" in lost_file_line("a.txt", size, "missing")


def test_size_over_the_limit_never_looks_equal_to_it() -> None:
    line = lost_file_line("a.txt", 5 * MB + 100, "too_large", 5 * MB)
    assert line == ("_Вложение «a.txt» (5\u00a0242\u00a0980 байт) не перенесено: "
                    "файл больше допустимого размера 5\u00a0242\u00a0880 байт_")
    assert exact_bytes(1_000_001) == "1\u00a0000\u00a0001 байт"
    assert exact_bytes(1_000_002) == "1\u00a0000\u00a0002 байта"


def test_hostile_name_is_shown_letter_for_letter_and_stays_inert() -> None:
    name = "_итог_ *[ссылка](javascript:alert(1))* <script>`x`&amp;~~s~~!.pdf"
    line = lost_file_line(name, 10, "damaged")
    # every markup character escaped: the italics around the line stay whole, nothing becomes a link
    inner = line.removeprefix("_Вложение «").split("» (10 байт)")[0]
    assert re.sub(r"\\(.)", r"\1", inner) == attachment_filename(name)  # the name Redmine stores, letter for letter
    assert "[ссылка](javascript_alert(1))" in attachment_filename(name)
    assert not re.search(r"(?<!\\)[_*\[\]<>`&~!]", inner), inner


def test_a_name_with_a_path_or_newline_is_the_name_redmine_stores() -> None:
    line = lost_file_line("../../etc/passwd\nиначе", 10, "missing")
    assert "/" not in line and "\n" not in line


def test_both_writers_refusals_carry_the_kind_and_keep_the_technical_reason() -> None:
    unreadable = read_refused(OSError("boom"))
    assert unreadable.kind == "unreadable" and "OSError" in str(unreadable)
    damaged = bytes_refused()
    assert damaged.kind == "damaged" and "sha256" in str(damaged)
