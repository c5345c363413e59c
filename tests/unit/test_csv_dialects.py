"""CSV: text quoted, formula starts neutralised for any reader's separator, two dialects (19.8, 20.10)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from helpdesk_core.csv_report import dialect_from, render_csv
from helpdesk_core.messages import messages_for
from helpdesk_core.report import Column, Table

EN = messages_for("en")
TABLE = Table(columns=[Column(key="s", label="Subject"), Column(key="d", label="Date"),
                       Column(key="h", label="Hours", numeric=True)],
              rows=[{"s": "x;=1+1;", "d": date(2026, 3, 5), "h": Decimal("3.45")},
                    {"s": "a,@SUM(1)\n-2+3\t=x", "d": None, "h": -5}])


@pytest.mark.parametrize("dialect", ["rfc4180", "excel-ru"])
def test_every_cell_start_is_neutralised_and_values_survive_a_parser(dialect: str) -> None:
    out = render_csv(TABLE, EN, dialect)  # type: ignore[arg-type]
    delimiter = ";" if dialect == "excel-ru" else ","
    rows = list(csv.reader(io.StringIO(out.lstrip("\ufeff")), delimiter=delimiter))
    assert rows[1][0] == "x;'=1+1;" and rows[2][0] == "a,'@SUM(1)\n'-2+3\t'=x"
    assert rows[2][2] == "-5"  # a typed number is a number, never neutralised
    for other in (",", ";", "\t"):
        for line in out.lstrip("\ufeff").split("\r\n"):
            for cells in csv.reader(io.StringIO(line), delimiter=other):
                assert not [c for c in cells if c.lstrip().startswith(("=", "+", "@")) or
                            (c.lstrip().startswith("-") and not c.lstrip("-").replace(",", "").isdigit())]


def test_excel_ru_spelling() -> None:
    out = render_csv(TABLE, EN, "excel-ru")
    assert out.startswith("\ufeffSubject;Date;Hours\r\n")
    assert '"x;\'=1+1;";"05.03.2026";3,45\r\n' in out


def test_rfc4180_spelling() -> None:
    out = render_csv(TABLE, EN)
    assert out.startswith("Subject,Date,Hours\r\n") and '"x;\'=1+1;","2026-03-05",3.45\r\n' in out


@pytest.mark.parametrize(("explicit", "env", "expected"), [
    (None, {}, "rfc4180"), (None, {"LC_NUMERIC": "ru_RU.UTF-8"}, "excel-ru"),
    (None, {"HELPDESK_CSV_DIALECT": "excel-ru"}, "excel-ru"),
    ("rfc4180", {"LC_NUMERIC": "ru_RU.UTF-8"}, "rfc4180"), (None, {"LANG": "ru_RU.UTF-8"}, "rfc4180"),
])
def test_dialect_by_option_env_or_numeric_locale(explicit: str | None, env: dict[str, str], expected: str) -> None:
    assert dialect_from(explicit, env) == expected


def test_unknown_dialect() -> None:
    with pytest.raises(ValueError):
        dialect_from("excel-fr", {})
