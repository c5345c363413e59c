"""CSV export of a report table, safe to open in Excel or LibreOffice.

Administrators open these files in spreadsheets; ticket subjects and customer names come from
the portal, so a cell such as ``=HYPERLINK(...)`` must stay text instead of becoming a formula.
"""

from __future__ import annotations

import csv
import io

from helpdesk_core.messages import Messages
from helpdesk_core.report import Cell, Table, format_value

__all__ = ["render_csv"]

# OWASP's list: = + - @ start a formula; tab and CR are also interpreted by some spreadsheets.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _safe_text(text: str) -> str:
    """Neutralise formula injection by making the cell start with a quote."""
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def _cell(value: Cell) -> str:
    """Typed numbers are written as is (``-5`` stays a number); only text is neutralised."""
    if isinstance(value, str):
        return _safe_text(value)
    return format_value(value)


def render_csv(table: Table, messages: Messages) -> str:
    """RFC 4180 CSV (CRLF line ends, minimal quoting) with column labels as the header row.

    The header is in the reader's language (`messages`); the cells are data and stay as they are.
    """
    table = messages.table(table)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([_safe_text(c.label) for c in table.columns])
    for row in table.rows:
        writer.writerow([_cell(row.get(c.key)) for c in table.columns])
    return out.getvalue()
