"""Test exports: copies of the bundled sample made unique per test, so runs never collide.

Every id (C1, U10, T5, M1, A4, W3...), login, email domain and company name gets a token, so
a test can migrate "the sample" into a Redmine that already holds earlier copies of it.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "export"
ID = re.compile(r"^[A-Z]\d+$")
ID_KEYS = {"id", "company_id", "author_id", "assignee_id", "user_id", "by"}


def _rewrite(value: Any, token: str, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _rewrite(v, token, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, token, key) for v in value]
    if isinstance(value, str):
        if key in ID_KEYS and ID.match(value):
            return f"{value[0]}{token}x{value[1:]}"
        if key == "login":
            return f"{value}.{token}"
        if key == "email" and "@" in value:
            local, _, domain = value.partition("@")
            return f"{local}@{token}.{domain}"
        if key == "email_domains":
            return f"{token}.{value}"
        if key == "name":
            return f"{value} {token}"
    return value


def unique_export(dst: Path, token: str, src: Path = SAMPLE,
                  edit_ticket: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None) -> Path:
    """Copy `src` to `dst` with every id made unique by `token`; lines that are not JSON stay as they are.

    `edit_ticket` may change a ticket (after renaming) or drop it (return None).
    """
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    for name in ("companies.jsonl", "users.jsonl", "tickets.jsonl"):
        lines = []
        for line in (src / name).read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                lines.append(line)
                continue
            if not isinstance(record, dict):
                lines.append(line)
                continue
            record = _rewrite(record, token)
            if name == "tickets.jsonl" and edit_ticket is not None:
                record = edit_ticket(record)
                if record is None:
                    continue
            lines.append(json.dumps(record, ensure_ascii=False))
        (dst / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dst


def portal_id(sample_id: str, token: str) -> str:
    """The id a sample record has in a unique copy (`T5` → `T<token>x5`)."""
    return f"{sample_id[0]}{token}x{sample_id[1:]}"
