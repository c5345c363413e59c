"""CSV export of a report table, safe to open in Excel or LibreOffice, in two dialects.

Administrators open these files in spreadsheets; ticket subjects and customer names come from
the portal, so a cell such as ``=HYPERLINK(...)`` must stay text instead of becoming a formula.
A reader may split on another separator than the writer's (Russian Excel splits on `;`, also
inside a comma file's quotes), so a subject `x;=1+1;` must not become a formula either: every
text cell is quoted, and every place where any reader's cell could start — the text's start
and after each `,` `;` tab or line break — gets a `'` before a formula character.

Dialects (issue 20.10): `rfc4180` (comma, `.` decimals, ISO dates, UTF-8 without BOM: scripts)
and `excel-ru` (what Russian Excel opens as columns: BOM, `;`, decimal comma, dates
ДД.ММ.ГГГГ).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from helpdesk_core.messages import Messages
from helpdesk_core.report import Cell, Table, format_value

__all__ = ["CSV_DIALECTS", "CsvDialect", "dialect_from", "render_csv"]

CsvDialect = Literal["rfc4180", "excel-ru"]
CSV_DIALECTS: tuple[CsvDialect, ...] = ("rfc4180", "excel-ru")

# OWASP's list: = + - @ start a formula; tab and CR are also interpreted by some spreadsheets.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A cell start for some reader: the text's start, or right after a separator any reader may use
# (spaces before the formula character do not help: spreadsheets skip them).
_CELL_START = re.compile(r"(^|[,;\t\r\n])([ ]*)(?=[=+\-@])")


@dataclass(frozen=True)
class _Format:
    delimiter: str
    decimal: str
    bom: str
    day: str  # strftime of a date


_FORMATS: dict[str, _Format] = {
    "rfc4180": _Format(delimiter=",", decimal=".", bom="", day="%Y-%m-%d"),
    "excel-ru": _Format(delimiter=";", decimal=",", bom="\ufeff", day="%d.%m.%Y"),
}


def dialect_from(explicit: str | None, environ: dict[str, str] | None = None) -> CsvDialect:
    """--csv-dialect, else HELPDESK_CSV_DIALECT, else `excel-ru` for a Russian LC_NUMERIC
    (the locale category of number formats), else `rfc4180`; an unknown name is a ValueError."""
    env = environ or {}
    name = explicit or env.get("HELPDESK_CSV_DIALECT")
    if not name:
        return "excel-ru" if env.get("LC_NUMERIC", "").lower().startswith("ru") else "rfc4180"
    if name not in CSV_DIALECTS:
        raise ValueError(f"unknown CSV dialect '{name}' (known: {', '.join(CSV_DIALECTS)})")
    return name  # type: ignore[return-value]


def _safe_text(text: str) -> str:
    """Neutralise formula injection at every cell start any reader may see."""
    text = _CELL_START.sub(r"\1\2'", text)
    return "'" + text if text.startswith(("\t", "\r")) else text


def _cell(value: Cell | date, fmt: _Format) -> str | int:
    """Typed numbers are written as numbers (``-5`` stays a number), dates in the dialect's
    form; only text is neutralised (and quoted by the writer)."""
    if isinstance(value, str):
        return _safe_text(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime(fmt.day + " %H:%M")
    if isinstance(value, date):
        return value.strftime(fmt.day)
    if isinstance(value, Decimal | int | float):
        return format_value(value).replace(".", fmt.decimal)
    return format_value(value)


class _Writer:
    """csv.writer that quotes every text cell and leaves numbers bare; the header row (our own
    labels) is quoted only where its text needs it."""

    def __init__(self, out: io.StringIO, fmt: _Format) -> None:
        self._cells = csv.writer(out, delimiter=fmt.delimiter, lineterminator="\r\n",
                                 quoting=csv.QUOTE_NONNUMERIC)
        self._header = csv.writer(out, delimiter=fmt.delimiter, lineterminator="\r\n",
                                  quoting=csv.QUOTE_MINIMAL)
        self._fmt = fmt

    def header(self, labels: list[str]) -> None:
        self._header.writerow([_safe_text(label) for label in labels])

    def row(self, cells: list[Cell | date]) -> None:
        values: list[str | float] = []
        for value in cells:
            shown = _cell(value, self._fmt)
            is_number = isinstance(value, Decimal | int | float) and not isinstance(value, bool)
            # QUOTE_NONNUMERIC leaves floats bare: a number spelled for the dialect goes as one
            values.append(_Bare(str(shown)) if is_number else str(shown))
        self._cells.writerow(values)


class _Bare(float):
    """A number already spelled for the dialect: csv writes `str()` of it, unquoted."""

    def __new__(cls, text: str) -> _Bare:
        instance = super().__new__(cls, 0.0)
        instance._text = text  # type: ignore[attr-defined]
        return instance

    def __str__(self) -> str:
        return self._text  # type: ignore[attr-defined, no-any-return]

    __repr__ = __str__


def render_csv(table: Table, messages: Messages, dialect: CsvDialect = "rfc4180") -> str:
    """The table as CSV (CRLF line ends, text quoted, numbers bare) with column labels as the
    header row. The header is in the reader's language (`messages`); the cells are data and
    stay as they are, spelled for `dialect`."""
    fmt = _FORMATS[dialect]
    table = messages.table(table, codes=False)  # a spreadsheet filters on the codes JSON also has
    out = io.StringIO()
    writer = _Writer(out, fmt)
    writer.header([c.label for c in table.columns])
    for row in table.rows:
        writer.row([row.get(c.key) for c in table.columns])
    return fmt.bom + out.getvalue()
