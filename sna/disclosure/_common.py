"""What the rules, the publishing and the output checker share: how a cell is read (a number,
``*``, missing or text), the names that say a column is not a count, Python scalars; and what
the output checker's modules share: a table as read (``Table``) and a finding (``Finding``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any


ROUND_TO = 5

SUPPRESSION_MARKERS = {"*", "[c]"}

MISSING_TEXT = {"", "nan", "none", "<na>", "null", "na", "n/a", "-", "–", "..", ":"}

def norm_name(name: object) -> str:
    return re.sub(r"[^0-9a-z%]+", "_", str(name).strip().casefold()).strip("_")

def tokens(name: object) -> list[str]:
    return [t for t in re.split(r"[^0-9a-z%]+", str(name).casefold()) if t]

_NOT_COUNT_NAMES = {
    "age", "year", "yr", "fy", "month", "week", "day", "hour", "date", "x", "y", "z", "p",
    "index", "idx", "row", "line", "order", "position", "period", "band", "level", "group",
    "id", "code", "rank", "lsoa", "msoa", "ward", "district", "decile", "quintile",
    "day_of_week", "day_of_month", "month_of_year", "hour_of_day", "week_number",
    "month_number", "dayofweek", "time",
}

_NOT_COUNT_TOKENS = {
    "rate", "rates", "per", "pct", "percent", "percentage", "share", "proportion", "ratio",
    "dsr", "lower", "upper", "lcl", "ucl", "lowercl", "uppercl", "ci", "population", "pop",
    "denominator", "rank", "decile", "quintile", "imd", "score", "id", "code", "cost", "spend",
    "mean", "median", "average", "avg", "sd", "std", "pvalue", "gistar", "zscore", "kde",
    "density", "change", "diff", "difference", "value", "confidence", "latitude", "longitude",
    "easting", "northing", "lat", "lon", "lng", "weight", "multiplier", "%",
    # time of day / week and counts of areas, cells or rows are not counts of people or events
    "weekday", "dow", "quarter", "hour", "hours", "minute", "lsoas", "msoas", "areas", "cells",
    "districts", "wards", "rows",
    # nor are counts of months or years covered
    "months", "years", "weeks",
}

def count_name_ok(name: object) -> bool:
    """False for names that say the column is not a count (rate, population, year, ...)."""
    text = str(name).strip()
    if not text or text.casefold().startswith("unnamed"):
        return False
    if "%" in text:
        return False
    norm = norm_name(text)
    if norm in _NOT_COUNT_NAMES:
        return False
    for tok in tokens(text):
        if tok in _NOT_COUNT_TOKENS or re.fullmatch(r"(lower|upper)\d+", tok):
            return False
    return True

_DERIVED_TOKENS = {
    "rate", "rates", "per", "pct", "percent", "percentage", "share", "proportion", "dsr",
    "lower", "upper", "lcl", "ucl", "lowercl", "uppercl", "ci", "value", "%",
}

def looks_derived(name: object) -> bool:
    if "%" in str(name):
        return True
    return any(t in _DERIVED_TOKENS or re.fullmatch(r"(lower|upper)\d+.*", t)
               for t in tokens(name))

def to_python(v):
    """A Python scalar (numpy scalars unwrapped; NaN/NA -> None)."""
    if v is None:
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            pass
    try:
        if v != v:  # NaN
            return None
    except (TypeError, ValueError):
        return None if str(v) == "<NA>" else v
    if str(v) == "<NA>":
        return None
    return v

# ---------------------------------------------------------------------------------------------
# the output checker
# ---------------------------------------------------------------------------------------------
def parse_cell(v) -> tuple[str, float | None]:
    """('missing' | 'star' | 'num' | 'text', number)."""
    if v is None:
        return "missing", None
    if isinstance(v, bool):
        return "text", None
    if isinstance(v, (int, float)) or type(v).__module__ == "numpy":
        try:
            x = float(v)
        except (TypeError, ValueError):
            return "text", None
        if math.isnan(x):
            return "missing", None
        return "num", x
    s = str(v).strip()
    if s.casefold() in MISSING_TEXT:
        return "missing", None
    if s in SUPPRESSION_MARKERS:
        return "star", None
    if re.fullmatch(r"[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?", s):
        return "num", float(s.replace(",", ""))
    if re.fullmatch(r"[-+]?\d*\.\d+(e[-+]?\d+)?|[-+]?\d+e[-+]?\d+", s, re.IGNORECASE):
        return "num", float(s)
    return "text", None

@dataclass
class Table:
    """One table of a file in an output folder, as the output checker reads it."""

    file: str
    name: str
    header: list[str]
    rows: list[list[Any]]
    meta: dict | None = None
    inline: dict | None = None  # metadata carried by the table itself
    label: str | None = None  # "Table 4.1" caption label
    points: Any = None  # (x, y, crs) of a point layer
    alias: str | None = None  # the single-table file this table is a copy of (a sheet's CSV)

@dataclass
class Finding:
    """One problem the output checker found (a row of its findings table)."""

    file: str
    table: str | None
    row: int | None
    label: Any
    column: str | None
    value: Any
    check: str
    problem: str
    rule: str | None
