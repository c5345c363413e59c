"""The line a client reads where a portal file could not be moved.

One decision for both writers (the REST engine and the rails loader): the sentence is chosen from
the kind of loss, never parsed out of the administrator's technical reason (which keeps its path,
byte counts and exception names for the report). The client reads plain Russian: the file's name
letter for letter, its size as people say it, and only what is true from where the client stands.
"""

from __future__ import annotations

from typing import Literal

from helpdesk_core.messages import RUSSIAN_MESSAGES, plural_category
from migrator.text import attachment_filename, literal_markdown

# missing: not in the export; damaged: in the export, but not the file the portal recorded (size or
# sha256, at the check or when read for the upload); unreadable: the export cannot give its bytes;
# too_large: over the server's attachment limit.
LossKind = Literal["missing", "damaged", "unreadable", "too_large"]

# The export reader's statuses (helpdesk_core.export.AttachmentCheck) as kinds of loss.
CHECK_KINDS: dict[str, LossKind] = {"missing": "missing", "size_mismatch": "damaged",
                                    "sha256_mismatch": "damaged", "unreadable": "unreadable"}

_WHY: dict[LossKind, str] = {
    "missing": "файла нет в выгрузке портала",
    "damaged": "файл в выгрузке портала повреждён",
    "unreadable": "не удалось прочитать файл из выгрузки портала",
    "too_large": "файл больше допустимого размера {limit}",
}


def exact_bytes(n: int) -> str:
    """«5 242 880 байт»: digits grouped by a no-break space, the plural the number needs."""
    word = {"one": "байт", "few": "байта"}.get(plural_category("ru", n), "байт")
    return f"{n:,}".replace(",", "\u00a0") + " " + word


def _sizes(size: int, limit: int) -> tuple[str, str]:
    """The file's size and the limit as people say them; exact where rounding would make them look equal."""
    shown, limit_shown = RUSSIAN_MESSAGES.file_size(size), RUSSIAN_MESSAGES.file_size(limit)
    if shown == limit_shown:
        return exact_bytes(size), exact_bytes(limit)
    return shown, limit_shown


def lost_file_line(filename: str, size: int, kind: LossKind, limit_bytes: int = 0) -> str:
    """«_Вложение «отчёт.pdf» (2,4 МБ) не перенесено: файл больше допустимого размера 2 МБ_».

    `filename` is the portal's name (shown as Redmine would store it, markup escaped); `size` the one
    the portal recorded; `limit_bytes` the server's limit (used for `too_large` only)."""
    shown, limit = _sizes(size, limit_bytes) if kind == "too_large" else (RUSSIAN_MESSAGES.file_size(size), "")
    name = literal_markdown(attachment_filename(filename))
    return f"_Вложение «{name}» ({shown}) не перенесено: {_WHY[kind].format(limit=limit)}_"
