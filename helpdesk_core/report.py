"""One data model for every report the tool writes.

The migration plan, the sweep plan, the SLA report and the consultation billing are all
expressed as a :class:`Report`, so each output format (terminal, HTML, CSV, JSON) is written
once and every report gets all of them.  The models only carry data; presentation decisions
(colours, sorting, number grouping) belong to the renderers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Tone = Literal["ok", "warn", "bad"]
Align = Literal["left", "center", "right"]
Cell = str | int | Decimal | date | None  # a date: each format spells it its own way
ChartValue = float | int | Decimal

__all__ = [
    "Align",
    "Cell",
    "Chart",
    "ChartValue",
    "Column",
    "Metric",
    "Report",
    "Section",
    "Series",
    "Table",
    "Tone",
    "columns_with_values",
    "format_value",
    "NO_VALUE",
    "chart_value",
    "ordered_summary",
    "report_to_json",
]


class _Model(BaseModel):
    """Frozen and strict about unknown fields: a typo in a report builder must fail loudly."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Metric(_Model):
    """A headline number shown as a card at the top of the report."""

    label: str = Field(min_length=1)
    value: str | int | Decimal
    tone: Tone | None = None


class Column(_Model):
    """A table column; ``numeric`` drives numeric sorting and right alignment."""

    key: str = Field(min_length=1)
    label: str
    align: Align = "left"
    numeric: bool = False
    # A cell's link, "{value}" replaced by the cell (e.g. an issue in Redmine); for people's
    # renderers only, so the JSON of a report stays as it was.
    link: str | None = Field(default=None, exclude=True)
    # Multi-line text shown whole (a message as a client will read it), not squeezed into a cell.
    block: bool = Field(default=False, exclude=True)
    # The row's key whose value fills the link when the cell shows something else (an issue shown
    # as «#7» links by its address); that key is carried by the rows (and the JSON) but not shown.
    link_key: str | None = Field(default=None, exclude=True)

    def href(self, value: Cell) -> str | None:
        """The cell's link, when the column has one and the cell has a value."""
        return self.link.replace("{value}", str(value)) if self.link and value not in (None, "") else None

    def href_in(self, row: dict[str, Cell]) -> str | None:
        """The link of this column's cell in `row` (from `link_key` when the column has one)."""
        return self.href(row.get(self.link_key or self.key))

    @model_validator(mode="before")
    @classmethod
    def _numeric_defaults_right(cls, data: object) -> object:
        """Numbers line up by their last digit unless the caller asked otherwise."""
        if isinstance(data, dict) and data.get("numeric") and "align" not in data:
            return {**data, "align": "right"}
        return data


class Table(_Model):
    """Rows keyed by column key; a missing key is an empty cell."""

    columns: list[Column] = Field(min_length=1)
    rows: list[dict[str, Cell]] = Field(default_factory=list)
    empty_text: str = "No rows."

    @model_validator(mode="after")
    def _keys_match_columns(self) -> Table:
        """Reject unknown row keys: they are almost always a typo that would silently drop data."""
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            raise ValueError(f"duplicate column keys: {dupes}")
        known = set(keys) | {c.link_key for c in self.columns if c.link_key}
        for i, row in enumerate(self.rows):
            unknown = sorted(set(row) - known)
            if unknown:
                raise ValueError(f"row {i} has keys not in columns: {unknown}")
            for key, value in row.items():
                if isinstance(value, Decimal) and not value.is_finite():
                    raise ValueError(f"row {i}, column {key!r}: {value} is not a finite number")
        return self


class Series(_Model):
    """One named sequence of values, aligned with the chart's categories."""

    name: str
    values: list[ChartValue | None]  # None: nothing to measure there (`chart_value`: «—», never 0)


class Chart(_Model):
    """A bar chart (one bar per series, grouped) or a stacked bar chart."""

    kind: Literal["bar", "stacked-bar"] = "bar"
    title: str
    categories: list[str]
    series: list[Series]
    unit: str | None = None

    @model_validator(mode="after")
    def _aligned_and_finite(self) -> Chart:
        """A series that does not line up with the categories would draw wrong bars."""
        for s in self.series:
            if len(s.values) != len(self.categories):
                raise ValueError(
                    f"series {s.name!r} has {len(s.values)} values for {len(self.categories)} categories"
                )
            for v in s.values:
                if v is None:
                    continue
                if not math.isfinite(v):
                    raise ValueError(f"series {s.name!r}: {v} is not a finite number")
                if self.kind == "stacked-bar" and v < 0:
                    raise ValueError(f"series {s.name!r}: stacked bars cannot be negative ({v})")
        return self


class Section(_Model):
    """A titled part of the report with an optional table and/or chart."""

    title: str
    description: str | None = None
    table: Table | None = None
    chart: Chart | None = None


class Report(_Model):
    """A whole report; ``generated_at`` must be timezone-aware so readers in other zones agree."""

    title: str = Field(min_length=1)
    generated_at: AwareDatetime
    subtitle: str | None = None
    summary: list[Metric] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)


# Cards about the tool's own cost come after the ones about the work.
TECHNICAL_METRICS = frozenset({"seconds", "API requests", "candidates"})


def ordered_summary(report: Report) -> Report:
    """The report with its headline numbers about the work first, the tool's cost (seconds, requests) last."""
    ordered = sorted(report.summary, key=lambda metric: metric.label in TECHNICAL_METRICS)
    return report.model_copy(update={"summary": ordered})


def columns_with_values(table: Table) -> list[Column]:
    """The table's columns that hold a value in some row (all of them when there are no rows)."""
    if not table.rows:
        return list(table.columns)
    return [c for c in table.columns if any(row.get(c.key) not in (None, "") for row in table.rows)]


def format_value(value: Cell | float) -> str:
    """Plain text of a value, shared by renderers so every format shows the same digits.

    Decimals keep their scale (``12.50`` stays ``12.50``) and never use exponent notation;
    floats are shown with at most two decimals because they come from averages and ratios.
    """
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


NO_VALUE = "\u2014"  # «—»: nothing to measure there


def chart_value(value: ChartValue | None, number: Callable[[ChartValue], str] = format_value) -> str:
    """A chart's value as every renderer shows it: `number` of it, «—» where there is nothing to measure
    (a rule with no finished issue is not 0 %)."""
    return NO_VALUE if value is None else number(value)


def report_to_json(report: Report) -> str:
    """Deterministic JSON: sorted keys, Decimals as strings (no float rounding), ISO datetimes."""
    data = report.model_dump(mode="json")
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
