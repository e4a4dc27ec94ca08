"""Statistical disclosure control for the public build, and the output checker.

Partners may see everything; the public may not. Health data carry the NHS Digital rule,
force extracts and intervention data carry victims' and participants' details, and a small
count in a small area can identify a child. This module makes a public table safe by
construction (:func:`apply`, :func:`write_public_table`) and proves a finished output folder
is safe (:func:`check_outputs`, ``sna check-outputs DIR``).

The rules (``rule=``)
---------------------
``"nhs2018"``
    NHS Digital's rule for hospital (HES) and A&E (ECDS) data below national level, in force
    since September 2018: 0 stays 0, **1-7 is shown as** ``*``, every other count is
    **rounded to the nearest 5**. Totals are rounded independently from the unrounded totals
    (so a total need not equal the sum of its rounded parts); percentages, when asked for, are
    recomputed from the rounded figures. No secondary suppression is needed: rounding already
    hides the exact values.
``"legacy5"``
    The older rule: **1-5 is shown as** ``*``, plus **secondary suppression** so that no
    suppressed value can be recovered from the row or column totals (see Notes of
    :func:`apply` for the algorithm).
``"none"``
    No control: open data (data.police.uk is already anonymised). The table is unchanged.

In both controlled rules a rate, interval or percentage whose numerator count is suppressed
is suppressed too, and a directly standardised rate (DSR) on fewer than 10 events is not
shown.

How a suppressed cell looks
---------------------------
:func:`apply` returns a new DataFrame in which every controlled column (the counts and the
columns derived from them) has ``object`` dtype holding Python numbers and the string
``"*"`` (:data:`SUPPRESSED`) for a suppressed cell; missing values stay missing (``None``).
So CSV, XLSX and HTML written from it show ``*`` with no further work. What was done is in
``result.attrs["sna"]["disclosure"]`` (rule, columns, totals, numbers of cells suppressed).
:func:`is_suppressed` gives the boolean mask and :func:`as_numeric` a copy with ``NaN`` in
place of ``*`` for charts.

The metadata convention (what the public build writes, what the checker reads)
-------------------------------------------------------------------------------
Every public table file ``tables/<stem>.csv`` has a sidecar ``tables/<stem>.meta.json``
(:func:`write_public_table` writes both)::

    {"table": "<name>", "rule": "nhs2018", "counts": ["n", "Total"],
     "derived": {"rate": ["n"]}, "total_rows": ["Total"], "total_columns": ["Total"], ...}

A file holding several tables (a workbook's sheets, a GeoPackage's layers) has one sidecar
``<stem>.meta.json`` of the form ``{"tables": [{"table": "<sheet>", ...}, ...]}``
(:func:`write_public_workbook`). The checker also reads ``manifest.json`` (key
``"disclosure"``: ``{"default_rule": ..., "tables": [{"file": "tables/x.csv", ...}]}``), the
chapter sidecars ``chapters/*.json`` written by :class:`sna.chapter.Chapter` (their
``tables`` and ``maps`` entries with ``file`` and ``disclosure``), the ``sna`` metadata of
executed notebooks' table outputs, and ``data-sna-*`` attributes on an HTML ``<table>``
(:func:`html_table`). Tables without metadata are checked under a default rule with the
count columns guessed (:func:`guess_count_columns`).

References
----------
NHS Digital, *Hospital Episode Statistics (HES) Analysis Guide*, section on the suppression
of small numbers (the 2018 rule, which also covers ECDS). Government Statistical Service,
*Disclosure control for tables produced from administrative sources*. Hundepool A. et al.
(2012) *Statistical Disclosure Control*, Wiley, ch. 4 (cell suppression). The methods page
of the documentation (*Disclosure control*) summarises the rules this module implements.

Examples
--------
>>> import pandas as pd
>>> from sna import disclosure
>>> t = pd.DataFrame({"district": ["Ashfield", "Bassetlaw", "Total"], "n": [3, 48, 51]})
>>> disclosure.apply(t, rule="nhs2018", counts=["n"])
    district   n
0   Ashfield   *
1  Bassetlaw  50
2      Total  50
>>> disclosure.suppression_note("nhs2018").split(".")[0]
'Counts from 1 to 7 are shown as * and others rounded to the nearest 5 (NHS Digital rule, 2018)'
"""

from __future__ import annotations

import copy
import csv
import fnmatch
import json
import math
import os
import re
import sys
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._log import logger, record
from .errors import DisclosureError, SnaError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "RULES",
    "SUPPRESSED",
    "SMALL_COUNTS",
    "DSR_MIN_EVENTS",
    "TOTAL_LABELS",
    "FINDING_COLUMNS",
    "apply",
    "is_suppressed",
    "as_numeric",
    "guess_count_columns",
    "suppression_note",
    "table_meta",
    "write_public_table",
    "write_public_workbook",
    "html_table",
    "check_outputs",
    "check_outputs_cli",
]

#: The disclosure rules :func:`apply` knows.
RULES: tuple[str, ...] = ("nhs2018", "legacy5", "none")

#: How a suppressed cell is shown in a published table.
SUPPRESSED = "*"

#: Counts suppressed by each rule (inclusive range).
SMALL_COUNTS: dict[str, tuple[int, int]] = {"nhs2018": (1, 7), "legacy5": (1, 5)}

#: A directly standardised rate on fewer events than this is not shown.
DSR_MIN_EVENTS = 10

#: Row labels and column names taken to mean "total" (compared case-insensitively).
TOTAL_LABELS: frozenset[str] = frozenset(
    {"total", "totals", "grand total", "all", "all ages", "all persons", "all people",
     "all areas", "overall"}
)

#: The columns of the checker's findings table.
FINDING_COLUMNS: list[str] = [
    "file", "table", "row", "label", "column", "value", "check", "problem", "rule",
]

_ROUND_TO = 5
_SUPPRESSION_MARKERS = {"*", "[c]"}
_MISSING_TEXT = {"", "nan", "none", "<na>", "null", "na", "n/a", "-", "–", "..", ":"}


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------
def _check_rule(rule: object, *, key: str = "rule") -> str:
    if rule not in RULES:
        raise DisclosureError(
            f"unknown disclosure rule {rule!r}; use one of {', '.join(map(repr, RULES))}",
            key=key,
        )
    return str(rule)


def _is_total_label(value: object) -> bool:
    return isinstance(value, str) and " ".join(value.split()).casefold() in TOTAL_LABELS


def _round5(v: float) -> int:
    """Round a non-negative whole number to the nearest multiple of 5 (halves cannot occur)."""
    return int(_ROUND_TO * math.floor(v / _ROUND_TO + 0.5))


def _norm_name(name: object) -> str:
    return re.sub(r"[^0-9a-z%]+", "_", str(name).strip().casefold()).strip("_")


def _tokens(name: object) -> list[str]:
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
}


def _count_name_ok(name: object) -> bool:
    """False for names that say the column is not a count (rate, population, year, ...)."""
    text = str(name).strip()
    if not text or text.casefold().startswith("unnamed"):
        return False
    if "%" in text:
        return False
    norm = _norm_name(text)
    if norm in _NOT_COUNT_NAMES:
        return False
    for tok in _tokens(text):
        if tok in _NOT_COUNT_TOKENS or re.fullmatch(r"(lower|upper)\d+", tok):
            return False
    return True


_DERIVED_TOKENS = {
    "rate", "rates", "per", "pct", "percent", "percentage", "share", "proportion", "dsr",
    "lower", "upper", "lcl", "ucl", "lowercl", "uppercl", "ci", "value", "%",
}


def _looks_derived(name: object) -> bool:
    if "%" in str(name):
        return True
    return any(t in _DERIVED_TOKENS or re.fullmatch(r"(lower|upper)\d+.*", t)
               for t in _tokens(name))


# ---------------------------------------------------------------------------------------------
# apply
# ---------------------------------------------------------------------------------------------
def guess_count_columns(table: pd.DataFrame, *, exclude: Iterable[Hashable] = ()) -> list:
    """The columns of ``table`` that look like counts.

    A column is taken as a count when every value present is a whole number >= 0 (or ``*``)
    and its name does not say it is something else: names such as ``age``, ``year``,
    ``rank``, ``decile``, ``x`` and ``y``, or containing a word such as ``rate``, ``per``,
    ``pct``/``percent``/``%``, ``share``, ``dsr``, ``lower``/``upper``/``ci``, ``population``/
    ``pop``, ``id``, ``code``, ``score``, ``mean``, ``change``, ``value``, ``weekday``,
    ``hour`` or ``lsoas``/``areas``/``cells``/``rows`` (counts of areas, not of people or
    events) are not counts.
    So ``n``, ``count``, ``Total``, ``victims``, ``baseline_n`` and the year or age-band
    columns of a cross-tabulation (``2019/20``, ``10-17``) are counts.

    Parameters
    ----------
    table
        The table.
    exclude
        Columns never to take as counts (e.g. the derived columns).

    Returns
    -------
    list
        The count columns, in table order.

    Notes
    -----
    A heuristic, recorded wherever it is used: the public build passes its count columns
    explicitly and records them in the table's metadata; the checker uses this guess (in
    addition to the metadata) so that a column the build forgot is still checked.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"district": ["A", "B"], "n": [3, 12], "rate": [1.5, 6.0],
    ...                   "population": [2000, 2000], "2019/20": [4, 0], "age": [10, 17]})
    >>> guess_count_columns(t)
    ['n', '2019/20']
    """
    import pandas as pd

    skip = set(exclude)
    out = []
    for c in table.columns:
        if c in skip or not _count_name_ok(c):
            continue
        s = table[c]
        if isinstance(s, pd.DataFrame):  # duplicated names
            continue
        if pd.api.types.is_bool_dtype(s.dtype):
            continue
        if pd.api.types.is_numeric_dtype(s.dtype):
            vals = s.dropna().to_numpy(dtype=float)
            if len(vals) and (vals >= 0).all() and (vals % 1 == 0).all():
                out.append(c)
            continue
        kinds = [_parse_cell(v)[0] for v in s.tolist()]
        nums = [_parse_cell(v)[1] for v in s.tolist()]
        if "text" in kinds or "num" not in kinds and "star" not in kinds:
            continue
        if all(x is None or (x >= 0 and x % 1 == 0) for x in nums):
            out.append(c)
    return out


def _normalise_derived(derived, columns) -> dict:
    out: dict = {}
    for d, src in dict(derived or {}).items():
        if isinstance(src, (str, bytes)) or not isinstance(src, Iterable):
            srcs = [src]
        else:
            srcs = list(src)
        if not srcs:
            raise DisclosureError(
                f"derived column {d!r} names no count column; map it to the count (or list "
                "of counts) it is computed from", column=str(d))
        out[d] = srcs
    return out


def _normalise_percentages(percentages) -> dict:
    out: dict = {}
    for p, spec in dict(percentages or {}).items():
        if isinstance(spec, tuple) or isinstance(spec, list):
            if len(spec) != 2:
                raise DisclosureError(
                    f"percentage column {p!r}: give the count column, or (count, denominator)"
                    " with denominator a column or None for the column total",
                    column=str(p))
            out[p] = (spec[0], spec[1])
        else:
            out[p] = (spec, None)
    return out


def _row_name(table, i: int, label_cols: Sequence) -> str:
    import pandas as pd

    parts = [f"row {i + 1}"]
    lab = table.index[i]
    if not isinstance(table.index, pd.RangeIndex):
        parts.append(f"index {lab!r}")
    for c in label_cols[:1]:
        parts.append(f"{c}={table[c].iloc[i]!r}")
    return ", ".join(parts)


def _parse_count_matrix(table, cols, label_cols):
    """Values (float, NaN for missing or *) and a mask of cells already shown as *."""
    import numpy as np
    import pandas as pd

    n = len(table)
    values = np.full((n, len(cols)), np.nan)
    pre = np.zeros((n, len(cols)), dtype=bool)
    for j, c in enumerate(cols):
        s = table[c]
        if pd.api.types.is_bool_dtype(s.dtype):
            raise DisclosureError(f"count column {c!r} holds true/false values, not counts",
                                  column=str(c))
        if pd.api.types.is_numeric_dtype(s.dtype):
            values[:, j] = s.to_numpy(dtype=float, na_value=np.nan)
        else:
            for i, v in enumerate(s.tolist()):
                kind, num = _parse_cell(v)
                if kind == "star":
                    pre[i, j] = True
                elif kind == "num":
                    values[i, j] = num
                elif kind == "text":
                    raise DisclosureError(
                        f"count column {c!r} holds {v!r} at {_row_name(table, i, label_cols)};"
                        " counts must be whole numbers (or * for a cell already suppressed)",
                        column=str(c))
        col = values[:, j]
        bad = np.isinf(col)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DisclosureError(f"count column {c!r} is infinite at "
                                  f"{_row_name(table, i, label_cols)}", column=str(c))
        neg = col < 0
        if neg.any():
            i = int(np.flatnonzero(neg)[0])
            raise DisclosureError(
                f"count column {c!r} has a negative count ({col[i]:g}) at "
                f"{_row_name(table, i, label_cols)}; counts must be >= 0", column=str(c))
        frac = ~np.isnan(col) & (col % 1 != 0)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise DisclosureError(
                f"count column {c!r} has a non-whole value ({col[i]:g}) at "
                f"{_row_name(table, i, label_cols)}; pass rates and other derived values in "
                "derived=, not counts=", column=str(c))
    return values, pre


def _find_totals(table, count_cols, label_cols, totals):
    """Positions of total rows and the total count columns."""
    names = None if totals is None else list(totals)
    if names is None:
        total_cols = [c for c in count_cols if _is_total_label(c)]

        def is_total(v):
            return _is_total_label(v)
    else:
        total_cols = [c for c in count_cols if c in names]
        wanted = {n.casefold() if isinstance(n, str) else n for n in names}

        def is_total(v):
            key = v.strip().casefold() if isinstance(v, str) else v
            try:
                return key in wanted
            except TypeError:
                return False
    rows = []
    labels = []
    idx_levels = (
        [list(table.index.get_level_values(k)) for k in range(table.index.nlevels)]
    )
    label_values = [table[c].tolist() for c in label_cols]
    for i in range(len(table)):
        cand = [lv[i] for lv in label_values] + [lv[i] for lv in idx_levels]
        hit = next((v for v in cand if is_total(v)), None)
        if hit is not None:
            rows.append(i)
            labels.append(_py(hit))
    if names is not None:
        found = set(total_cols)
        for i in rows:
            found.update(v for v in [lv[i] for lv in idx_levels] + [lv[i] for lv in label_values]
                         if is_total(v))
        found_cf = {f.strip().casefold() if isinstance(f, str) else f for f in found}
        missing = [n for n in names
                   if (n.strip().casefold() if isinstance(n, str) else n) not in found_cf]
        if missing:
            raise DisclosureError(
                f"totals={missing!r} match neither a count column nor a row label; count "
                f"columns are {list(count_cols)!r}", key="totals")
    return rows, labels, total_cols


def apply(
    table: pd.DataFrame,
    *,
    rule: str = "nhs2018",
    counts: Sequence[Hashable] | None = None,
    derived: Mapping[Hashable, Hashable | Sequence[Hashable]] | None = None,
    totals: Sequence[Hashable] | None = None,
    percentages: Mapping[Hashable, Hashable | tuple[Hashable, Hashable | None]] | None = None,
    dsr: Sequence[Hashable] | None = None,
    decimals: int = 1,
    source: str | None = None,
) -> pd.DataFrame:
    """Put a table under statistical disclosure control for publication.

    Parameters
    ----------
    table
        The table as analysed: one row per category / area / period, count columns of whole
        numbers >= 0 (a cell already shown as ``*`` is accepted as suppressed), optionally a
        total row and/or a total column. Not modified.
    rule
        ``"nhs2018"`` (default), ``"legacy5"`` or ``"none"`` (see the module docstring).
    counts
        The count columns. ``None`` guesses them (:func:`guess_count_columns`; the guess is
        recorded). Count columns named by ``derived`` or ``percentages`` are added.
    derived
        Columns computed from counts (rates, intervals, percentages, DSRs): ``{column:
        count_column}``, or ``{column: [count, ...]}`` when it depends on several counts of
        the row. A derived cell is suppressed when any of its counts is suppressed.
    totals
        Names of the total rows (matched against the index and the text columns) and total
        columns (matched against the count columns). ``None`` detects them: rows labelled and
        count columns named ``Total``, ``All``, ``Grand total``, ``Overall``... (see
        :data:`TOTAL_LABELS`); ``[]`` means the table has no totals.
    percentages
        Percentage columns to (re)compute from the published figures: ``{column: count}``
        (share of the column total: the total row when there is one, else the total of the
        column rounded as a total) or ``{column: (count, denominator_column)}``. New columns
        are appended. Suppressed with their count or denominator.
    dsr
        Derived columns that are directly standardised rates (or their limits), hidden when
        their count is below :data:`DSR_MIN_EVENTS`. ``None`` takes derived columns whose
        name contains ``dsr``, and every derived column in rows whose ``statistic`` /
        ``method`` / ``indicator`` / ``measure`` text mentions "dsr" or "standardised" (the
        output of :func:`sna.rates.dsr`).
    decimals
        Decimals of recomputed percentages.
    source
        The source(s) the counts come from, recorded in the metadata.

    Returns
    -------
    pandas.DataFrame
        A new table, same index, columns and row order (plus any new percentage columns at
        the end). Count and derived columns have ``object`` dtype holding Python numbers and
        ``"*"`` for a suppressed cell; missing stays ``None``. ``attrs["sna"]["disclosure"]``
        holds ``rule``, ``counts``, ``derived``, ``columns`` (every controlled column),
        ``total_rows`` (labels), ``total_columns``, ``suppressed_primary``,
        ``suppressed_secondary``, ``suppressed_derived``, ``dsr_hidden`` and ``source``.
        With ``rule="none"`` the table is returned unchanged (a copy, with the record).

    Raises
    ------
    DisclosureError
        An unknown rule; count, derived or percentage columns that do not exist; negative,
        non-whole or non-numeric counts; ``totals`` names that match nothing; a
        ``legacy5`` table with more than one total row or total column (split it); a table
        that cannot be protected.

    Notes
    -----
    **nhs2018.** 0 stays 0; 1-7 -> ``*``; any other count ``n`` -> ``5 * floor(n/5 + 1/2)``.
    Every count, totals included, is treated on its own unrounded value, which is what
    "totals are rounded independently" means. No secondary suppression.

    **legacy5.** Primary suppression of 1-5, then secondary suppression over the table's
    *equations*: a row is an equation when the table has a total column (its cells sum to
    the row total), a column is one when the table has a total row (or its percentages of
    the column total are published). A suppressed cell can be recovered exactly by
    differencing when it is the only unknown of an equation, or more generally when it is
    a *bridge* of the graph whose nodes are the equations and whose edges are the unknown
    cells (an unknown in one equation only is an edge to a free node). The algorithm:

    1. while some equation has exactly one suppressed cell, suppress the smallest non-zero
       published cell of that equation (interior cells before totals; rows top to bottom,
       then columns left to right);
    2. if a suppressed cell is still a bridge (two groups of suppressions joined through it),
       suppress the smallest non-zero cell that joins the two groups, then go back to 1.

    It ends when no suppressed cell is a bridge: then each lies on a cycle of unknowns and
    any value can be moved around that cycle without changing a published total, so none is
    determined by the published figures. One-way tables with a total row are the same
    problem with one equation. Bounds (a suppressed pair whose sum is 2) are not protected
    further; the rule does not ask it.

    **Derived columns** (both rules): a rate, interval or percentage whose numerator (or
    percentage denominator) is suppressed is suppressed; a DSR on fewer than 10 events is not
    shown (``*``). NHS Digital's guidance exempts standardised rates and intervals from
    control, but a rate next to a suppressed count lets a reader rebuild it from the
    population, so the public build suppresses it.

    References: NHS Digital, *HES Analysis Guide* (suppression of small numbers, 2018 rule);
    Hundepool et al. (2012) *Statistical Disclosure Control*, Wiley, ch. 4.

    Examples
    --------
    The NHS rule: 1-7 hidden, the rest rounded to 5; the total rounded on its own value.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"area": ["A", "B", "C", "Total"], "n": [0, 6, 23, 29]})
    >>> out = apply(t, rule="nhs2018", counts=["n"])
    >>> out["n"].tolist()
    [0, '*', 25, 30]
    >>> out.attrs["sna"]["disclosure"]["suppressed_primary"]
    1

    The older rule protects the suppressed 3 from the total by suppressing the next
    smallest cell too:

    >>> t = pd.DataFrame({"area": ["A", "B", "C", "Total"], "n": [3, 9, 40, 52],
    ...                   "rate": [0.6, 1.8, 8.0, 10.4]})
    >>> out = apply(t, rule="legacy5", counts=["n"], derived={"rate": "n"})
    >>> out
        area   n  rate
    0      A   *     *
    1      B   *     *
    2      C  40   8.0
    3  Total  52  10.4
    >>> d = out.attrs["sna"]["disclosure"]
    >>> d["suppressed_primary"], d["suppressed_secondary"], d["suppressed_derived"]
    (1, 1, 2)
    """
    import numpy as np
    import pandas as pd

    rule = _check_rule(rule)
    if not isinstance(table, pd.DataFrame):
        raise DisclosureError(
            f"apply() needs a pandas DataFrame, not {type(table).__name__}; wrap a Series with "
            ".to_frame()")
    if table.columns.duplicated().any():
        dup = list(table.columns[table.columns.duplicated()])
        raise DisclosureError(f"the table has duplicated column names {dup!r}; rename them",
                              column=str(dup[0]))
    out = table.copy()
    out.attrs = copy.deepcopy(dict(table.attrs))
    cols = list(table.columns)

    derived_map = _normalise_derived(derived, cols)
    pct_map = _normalise_percentages(percentages)
    for d in derived_map:
        if d not in cols:
            raise DisclosureError(f"derived column {d!r} is not in the table; columns are "
                                  f"{cols!r}", column=str(d))
    for p in pct_map:
        if p in derived_map:
            raise DisclosureError(f"column {p!r} is given both in derived= and percentages=",
                                  column=str(p))

    guessed = counts is None
    if counts is None:
        count_cols = guess_count_columns(table, exclude=[*derived_map, *pct_map])
    else:
        if isinstance(counts, (str, bytes)):
            counts = [counts]
        count_cols = list(dict.fromkeys(counts))
    implied = [c for srcs in derived_map.values() for c in srcs]
    implied += [x for num, den in pct_map.values() for x in (num, den) if x is not None]
    for c in implied:
        if c not in count_cols:
            if c not in cols:
                raise DisclosureError(
                    f"a derived or percentage column refers to count column {c!r}, which is "
                    f"not in the table; columns are {cols!r}", column=str(c))
            count_cols.append(c)
            logger.info("disclosure: %r added to the count columns (a derived column uses it)", c)
    count_cols = [c for c in cols if c in set(count_cols)] + [
        c for c in count_cols if c not in cols]
    missing = [c for c in count_cols if c not in cols]
    if missing:
        raise DisclosureError(f"count column(s) {missing!r} not in the table; columns are "
                              f"{cols!r}", column=str(missing[0]))
    for d in derived_map:
        if d in count_cols:
            raise DisclosureError(f"column {d!r} is given both as a count and as derived",
                                  column=str(d))
    if not count_cols and rule != "none" and len(table):
        raise DisclosureError(
            "no count columns found to control" + (" (none looks like a count)" if guessed
                                                   else "") + "; pass counts=[...]")

    label_cols = [c for c in cols if c not in count_cols and c not in derived_map
                  and c not in pct_map and (pd.api.types.is_object_dtype(table[c].dtype)
                                            or pd.api.types.is_string_dtype(table[c].dtype)
                                            or isinstance(table[c].dtype, pd.CategoricalDtype))]
    values, pre = _parse_count_matrix(table, count_cols, label_cols)
    total_rows, total_labels, total_cols = _find_totals(table, count_cols, label_cols, totals)

    info: dict[str, Any] = {
        "rule": rule,
        "counts": list(count_cols),
        "counts_guessed": guessed,
        "derived": {d: list(s) for d, s in derived_map.items()},
        "percentages": {p: [n, d] for p, (n, d) in pct_map.items()},
        "columns": [*count_cols, *derived_map, *pct_map],
        "total_rows": total_labels,
        "total_columns": list(total_cols),
        "suppressed_primary": 0,
        "suppressed_secondary": 0,
        "suppressed_derived": 0,
        "dsr_hidden": 0,
        "source": source,
    }
    if rule == "none" or not len(table):
        if rule == "none":
            info["columns"] = []
        record(out, "disclosure", info)
        return out

    lo, hi = SMALL_COUNTS[rule]
    isnan = np.isnan(values)
    primary = pre | (~isnan & (values >= lo) & (values <= hi))
    suppressed = primary.copy()
    if rule == "legacy5":
        if len(total_rows) > 1 or len(total_cols) > 1:
            raise DisclosureError(
                f"legacy5 secondary suppression needs at most one total row and one total "
                f"column; this table has total rows {info['total_rows']!r} and total columns "
                f"{list(total_cols)!r}; publish one table per group (or name the real totals "
                "with totals=[...])", key="totals")
        col_eq = np.zeros(len(count_cols), dtype=bool)
        if total_rows and len(table) > 1:  # a lone total row sums nothing
            col_eq[:] = True
        for num, den in pct_map.values():
            if den is None and len(table) > 1:
                col_eq[count_cols.index(num)] = True
        suppressed = _protect(
            values, suppressed, isnan,
            total_row=total_rows[0] if total_rows else None,
            total_col=count_cols.index(total_cols[0]) if total_cols else None,
            row_eq=bool(total_cols) and len(count_cols) > 1, col_eq=col_eq,
        )
    info["suppressed_primary"] = int(primary.sum())
    info["suppressed_secondary"] = int((suppressed & ~primary).sum())

    # published counts
    published = np.full(values.shape, np.nan)
    for j, c in enumerate(count_cols):
        cells: list[Any] = []
        for i in range(len(table)):
            v = values[i, j]
            if suppressed[i, j]:
                cells.append(SUPPRESSED)
            elif np.isnan(v):
                cells.append(None)
            else:
                p = _round5(v) if rule == "nhs2018" and v != 0 else int(v)
                published[i, j] = p
                cells.append(p)
        out[c] = pd.Series(cells, index=out.index, dtype=object)

    # derived columns
    col_pos = {c: j for j, c in enumerate(count_cols)}
    dsr_cols = _dsr_mask(table, derived_map, dsr)
    n_derived = n_dsr = 0
    for d, srcs in derived_map.items():
        idx = [col_pos[s] for s in srcs]
        hide = suppressed[:, idx].any(axis=1)
        raw = np.where(np.isnan(values[:, idx]), 0, values[:, idx]).sum(axis=1)
        small = dsr_cols[d] & (raw < DSR_MIN_EVENTS) & ~hide & ~np.isnan(values[:, idx]).all(axis=1)
        cells = []
        for i, v in enumerate(table[d].tolist()):
            if hide[i] or small[i]:
                if not (isinstance(v, str) and v == SUPPRESSED):
                    if hide[i]:
                        n_derived += 1
                    else:
                        n_dsr += 1
                cells.append(SUPPRESSED)
            else:
                cells.append(_py(v))
        out[d] = pd.Series(cells, index=out.index, dtype=object)

    # percentages, from the published figures
    for p, (num, den) in pct_map.items():
        j = col_pos[num]
        cells = []
        if den is None:
            if total_rows:
                t = total_rows[0]
                den_vals = np.full(len(table), published[t, j])
                den_supp = np.full(len(table), suppressed[t, j])
            else:  # the column total, rounded as a total; unknown if a cell came in as *
                raw_total = float(np.nansum(values[:, j]))
                tot = _round5(raw_total) if rule == "nhs2018" and raw_total else raw_total
                den_vals = np.full(len(table), tot)
                den_supp = np.full(len(table), bool(pre[:, j].any()))
        else:
            k = col_pos[den]
            den_vals, den_supp = published[:, k], suppressed[:, k]
        for i in range(len(table)):
            if suppressed[i, j] or den_supp[i]:
                cells.append(SUPPRESSED)
                n_derived += 1
            elif np.isnan(published[i, j]) or np.isnan(den_vals[i]) or den_vals[i] == 0:
                cells.append(None)
            else:
                cells.append(round(float(100.0 * published[i, j] / den_vals[i]), decimals))
        out[p] = pd.Series(cells, index=out.index, dtype=object)

    info["suppressed_derived"] = n_derived
    info["dsr_hidden"] = n_dsr
    logger.info("disclosure %s: %d primary, %d secondary, %d derived suppressed, %d DSR hidden",
                rule, info["suppressed_primary"], info["suppressed_secondary"], n_derived, n_dsr)
    record(out, "disclosure", info)
    return out


def _py(v):
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


def _dsr_mask(table, derived_map, dsr):
    """For each derived column, a boolean array: True in rows where it is a DSR."""
    import numpy as np

    n = len(table)
    out = {}
    explicit = None if dsr is None else set(dsr)
    stat_rows = np.zeros(n, dtype=bool)
    if dsr is None:
        for c in table.columns:
            if _norm_name(c) in ("statistic", "method", "indicator", "measure"):
                txt = table[c].astype(str).str.casefold()
                stat_rows |= (txt.str.contains("dsr", regex=False)
                              | txt.str.contains("standardi", regex=False)).to_numpy()
    for d in derived_map:
        if explicit is not None:
            out[d] = np.full(n, d in explicit)
        elif "dsr" in _tokens(d) or "dsr" in _norm_name(d):
            out[d] = np.ones(n, dtype=bool)
        else:
            out[d] = stat_rows.copy()
    if explicit is not None:
        unknown = [d for d in explicit if d not in derived_map]
        if unknown:
            raise DisclosureError(
                f"dsr={unknown!r}: DSR columns must also be given in derived= (with their count)",
                key="dsr")
    return out


# ---------------------------------------------------------------------------------------------
# secondary suppression: equations, bridges
# ---------------------------------------------------------------------------------------------
def _bridges(n_nodes: int, edges: Sequence[tuple[int, int]]) -> set[int]:
    """Indices of the edges that are bridges of a multigraph (iterative Tarjan)."""
    adj: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    for k, (u, v) in enumerate(edges):
        if u == v:
            continue
        adj[u].append((v, k))
        adj[v].append((u, k))
    disc = [-1] * n_nodes
    low = [0] * n_nodes
    t = 0
    out: set[int] = set()
    for s in range(n_nodes):
        if disc[s] != -1 or not adj[s]:
            continue
        disc[s] = low[s] = t
        t += 1
        stack = [(s, -1, iter(adj[s]))]
        while stack:
            node, pedge, it = stack[-1]
            advanced = False
            for nb, k in it:
                if k == pedge:
                    continue
                if disc[nb] == -1:
                    disc[nb] = low[nb] = t
                    t += 1
                    stack.append((nb, k, iter(adj[nb])))
                    advanced = True
                    break
                low[node] = min(low[node], disc[nb])
            if not advanced:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > disc[parent]:
                        out.add(pedge)
    return out


@dataclass
class _Equations:
    """The additive structure of a table: which rows / columns sum to a published total."""

    n_rows: int
    n_cols: int
    total_row: int | None
    total_col: int | None
    row_eq: bool
    col_eq: Any  # bool array per column

    @property
    def ground(self) -> int:
        return self.n_rows + self.n_cols

    def nodes(self, i: int, j: int) -> tuple[int, int]:
        u = i if self.row_eq else self.ground
        w = self.n_rows + j if self.col_eq[j] else self.ground
        return u, w

    def level(self, i: int, j: int) -> int:
        return int(i == self.total_row) + int(j == self.total_col)

    def lines(self):
        """(kind, index, cells) of every equation."""
        if self.row_eq:
            for i in range(self.n_rows):
                yield "row", i, [(i, j) for j in range(self.n_cols)]
        for j in range(self.n_cols):
            if self.col_eq[j]:
                yield "column", j, [(i, j) for i in range(self.n_rows)]

    def recoverable(self, suppressed, unknown) -> list[tuple[int, int]]:
        """Suppressed cells that the published figures determine exactly (bridges)."""
        cells = [(int(i), int(j)) for i, j in zip(*unknown.nonzero())]
        edges = [self.nodes(i, j) for i, j in cells]
        br = _bridges(self.ground + 1, edges)
        return sorted(cells[k] for k in br if suppressed[cells[k]])

    def sides(self, unknown, cell) -> tuple[set[int], set[int]]:
        """The two node sets a bridge ``cell`` joins (the graph without it)."""
        adj: dict[int, list[int]] = {}
        for i, j in zip(*unknown.nonzero()):
            if (int(i), int(j)) == cell:
                continue
            u, w = self.nodes(int(i), int(j))
            adj.setdefault(u, []).append(w)
            adj.setdefault(w, []).append(u)

        def comp(start):
            seen = {start}
            todo = [start]
            while todo:
                x = todo.pop()
                for y in adj.get(x, ()):
                    if y not in seen:
                        seen.add(y)
                        todo.append(y)
            return seen

        u, w = self.nodes(*cell)
        return comp(u), comp(w)


def _protect(values, primary, isnan, *, total_row, total_col, row_eq, col_eq):
    """Secondary suppression (see :func:`apply`, Notes). Returns the new suppression mask."""
    import numpy as np

    eq = _Equations(values.shape[0], values.shape[1], total_row, total_col, row_eq,
                    np.asarray(col_eq, dtype=bool))
    supp = primary.copy()
    if not eq.row_eq and not eq.col_eq.any():
        return supp

    def key(c):
        i, j = c
        v = values[i, j]
        return (v == 0, eq.level(i, j), v, i, j)

    def pick(cells):
        cand = [c for c in cells if not supp[c] and not isnan[c]]
        return min(cand, key=key) if cand else None

    for _ in range(values.size + 1):
        changed = True
        while changed:
            changed = False
            for kind, k, cells in eq.lines():
                n_unknown = sum(1 for c in cells if supp[c] or isnan[c])
                if n_unknown == 1 and any(supp[c] for c in cells):
                    c = pick(cells)
                    if c is None:
                        raise DisclosureError(
                            f"cannot protect the suppressed cell of {kind} {k + 1}: no other "
                            "cell to suppress; publish this table without that "
                            f"{kind}'s total")
                    supp[c] = True
                    changed = True
        unknown = supp | isnan
        rec = eq.recoverable(supp, unknown)
        if not rec:
            return supp
        cell = rec[0]
        side_a, side_b = eq.sides(unknown, cell)
        joining = []
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                u, w = eq.nodes(i, j)
                if (u in side_a and w in side_b) or (u in side_b and w in side_a):
                    joining.append((i, j))
        c = pick(joining)
        if c is None:
            i, j = cell
            c = pick([(i, jj) for jj in range(values.shape[1])]
                     + [(ii, j) for ii in range(values.shape[0])])
        if c is None:
            raise DisclosureError(
                f"cannot protect suppressed cell (row {cell[0] + 1}, column {cell[1] + 1}) "
                "from differencing; publish the table without its totals")
        supp[c] = True
    raise DisclosureError("secondary suppression did not converge")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# small public helpers
# ---------------------------------------------------------------------------------------------
def is_suppressed(table: pd.DataFrame) -> pd.DataFrame:
    """A boolean table: True where a cell is shown as ``*``.

    Examples
    --------
    >>> import pandas as pd
    >>> is_suppressed(pd.DataFrame({"n": ["*", 10]}))["n"].tolist()
    [True, False]
    """
    return table.map(lambda v: isinstance(v, str) and v.strip() in _SUPPRESSION_MARKERS)


def as_numeric(table: pd.DataFrame) -> pd.DataFrame:
    """A copy for charts: controlled columns numeric, ``*`` as ``NaN``.

    Examples
    --------
    >>> import pandas as pd
    >>> as_numeric(pd.DataFrame({"area": ["A", "B"], "n": ["*", 10]}))["n"].tolist()
    [nan, 10.0]
    """
    import pandas as pd

    out = table.copy()
    info = table.attrs.get("sna", {}).get("disclosure", {})
    cols = info.get("columns") or [c for c in table.columns if is_suppressed(table[[c]]).any().any()]
    for c in cols:
        if c in out.columns:
            out[c] = pd.to_numeric(out[c].map(lambda v: None if isinstance(v, str)
                                              and v.strip() in _SUPPRESSION_MARKERS else v),
                                   errors="coerce").astype(float)
    return out


_NOTES = {
    "nhs2018": (
        "Counts from 1 to 7 are shown as * and others rounded to the nearest 5 (NHS Digital "
        "rule, 2018). Totals are rounded independently, so they may differ from the sum of "
        "the rounded figures; percentages are calculated from the rounded figures. Rates and "
        "intervals whose count is suppressed are not shown, nor are standardised rates based "
        "on fewer than 10 events."
    ),
    "legacy5": (
        "Counts from 1 to 5 are shown as *, and further cells are shown as * where needed so "
        "that no suppressed count can be worked out from the totals (secondary suppression). "
        "Rates and intervals whose count is suppressed are not shown, nor are standardised "
        "rates based on fewer than 10 events."
    ),
    "none": (
        "No disclosure control is applied: the figures come from open data that is already "
        "anonymised (data.police.uk) and are shown unchanged."
    ),
}


def suppression_note(rule: str) -> str:
    """The sentence(s) a report prints under a table published under ``rule``.

    Examples
    --------
    >>> suppression_note("legacy5").split(",")[0]
    'Counts from 1 to 5 are shown as *'
    >>> suppression_note("nhs2019")
    Traceback (most recent call last):
    ...
    sna.errors.DisclosureError: unknown disclosure rule 'nhs2019'; use one of 'nhs2018', 'legacy5', 'none' (key 'rule')
    """
    return _NOTES[_check_rule(rule)]


def _jsonable(v):
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set)):
        return [_jsonable(x) for x in v]
    v = _py(v)
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def table_meta(table: pd.DataFrame, *, name: str | None = None, **extra: Any) -> dict:
    """The metadata record of a controlled table, as the checker reads it.

    Parameters
    ----------
    table
        A table returned by :func:`apply` (its ``attrs["sna"]["disclosure"]``).
    name
        The table's name (file stem, sheet or layer name).
    **extra
        More keys to record (``caption``, ``chapter``, ``source``...).

    Returns
    -------
    dict
        JSON-ready: ``table``, ``rule``, ``counts``, ``derived``, ``percentages``,
        ``total_rows``, ``total_columns``, ``suppressed_primary``, ``suppressed_secondary``,
        ``suppressed_derived``, ``dsr_hidden``, ``source`` and the extra keys.

    Examples
    --------
    >>> import pandas as pd
    >>> t = apply(pd.DataFrame({"n": [2, 10]}), rule="legacy5", counts=["n"])
    >>> m = table_meta(t, name="demo")
    >>> m["table"], m["rule"], m["counts"]
    ('demo', 'legacy5', ['n'])
    """
    info = table.attrs.get("sna", {}).get("disclosure")
    if not info:
        raise DisclosureError(
            f"table {name or ''!r} has not been through disclosure control: pass it through "
            "sna.disclosure.apply(table, rule=...) first (rule='none' for open data)")
    meta = {"table": name, "rule": info["rule"], "counts": info["counts"],
            "derived": info["derived"], "percentages": info.get("percentages", {}),
            "total_rows": info["total_rows"], "total_columns": info["total_columns"],
            "suppressed_primary": info["suppressed_primary"],
            "suppressed_secondary": info["suppressed_secondary"],
            "suppressed_derived": info["suppressed_derived"], "dsr_hidden": info["dsr_hidden"],
            "source": info.get("source")}
    meta.update(extra)
    return _jsonable(meta)


def _write_index(df, index: bool | None) -> bool:
    import pandas as pd

    if index is not None:
        return bool(index)
    return not (isinstance(df.index, pd.RangeIndex) and df.index.name is None)


def write_public_table(
    df: pd.DataFrame,
    path: str | os.PathLike,
    *,
    rule: str,
    counts: Sequence[Hashable] | None = None,
    derived: Mapping[Hashable, Hashable | Sequence[Hashable]] | None = None,
    totals: Sequence[Hashable] | None = None,
    percentages: Mapping[Hashable, Any] | None = None,
    dsr: Sequence[Hashable] | None = None,
    source: str | Sequence[str] | None = None,
    name: str | None = None,
    index: bool | None = None,
    **extra: Any,
) -> pd.DataFrame:
    """Put a table under disclosure control and write it as CSV with its metadata sidecar.

    The one call the public build needs per table: :func:`apply`, then ``<path>`` (CSV) and
    ``<stem>.meta.json`` beside it, which :func:`check_outputs` reads.

    Parameters
    ----------
    df
        The table as analysed. Not modified.
    path
        The CSV to write (``tables/<stem>.csv``); folders are created.
    rule, counts, derived, totals, percentages, dsr
        As for :func:`apply`.
    source
        The source(s) of the counts, recorded.
    name
        The table's name in the metadata (default: the file stem).
    index
        Write the index as the first column(s); default: only when it is not a plain
        ``RangeIndex``.
    **extra
        More metadata keys (``caption``, ``chapter``...).

    Returns
    -------
    pandas.DataFrame
        The published table (as :func:`apply` returns it).

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> import pandas as pd
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> t = pd.DataFrame({"district": ["A", "B", "Total"], "n": [4, 30, 34]})
    >>> out = write_public_table(t, folder / "by_district.csv", rule="nhs2018", counts=["n"])
    >>> print((folder / "by_district.csv").read_text())
    district,n
    A,*
    B,30
    Total,35
    <BLANKLINE>
    >>> json.loads((folder / "by_district.meta.json").read_text())["rule"]
    'nhs2018'
    """
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise DisclosureError(f"write_public_table writes CSV; name the file '*.csv', not "
                              f"{path.name!r} (use write_public_workbook for Excel)", file=path)
    out = apply(df, rule=rule, counts=counts, derived=derived, totals=totals,
                percentages=percentages, dsr=dsr,
                source=source if source is None or isinstance(source, str) else ",".join(source))
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=_write_index(out, index))
    meta = table_meta(out, name=name or path.stem, file=path.name, **extra)
    if source is not None and not isinstance(source, str):
        meta["source"] = list(source)
    _meta_path(path).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    out.attrs["sna"]["disclosure"]["file"] = str(path)
    return out


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name[: -len(path.suffix)] + ".meta.json" if path.suffix
                          else path.name + ".meta.json")


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def write_public_workbook(
    tables: Mapping[str, pd.DataFrame],
    path: str | os.PathLike,
    *,
    index: bool | None = None,
) -> Path:
    """Write controlled tables as the sheets of one workbook, with a metadata sidecar.

    Parameters
    ----------
    tables
        Sheet name -> a table returned by :func:`apply` (or :func:`write_public_table`).
        Names are cut to Excel's 31 characters and freed of ``[]:*?/\\``.
    path
        The ``.xlsx`` file; ``<stem>.meta.json`` is written beside it
        (``{"tables": [{"table": <sheet>, "rule": ..., ...}]}``).
    index
        As for :func:`write_public_table`.

    Returns
    -------
    pathlib.Path
        The workbook.

    Raises
    ------
    DisclosureError
        A table that has not been through :func:`apply`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> t = apply(pd.DataFrame({"n": [3, 12]}), rule="nhs2018", counts=["n"])
    >>> write_public_workbook({"A&E by month": t}, folder / "tables.xlsx").name
    'tables.xlsx'
    >>> sorted(p.name for p in folder.iterdir())
    ['tables.meta.json', 'tables.xlsx']
    """
    import pandas as pd

    path = Path(path)
    records = []
    used: set[str] = set()
    prepared = []
    for name, df in tables.items():
        sheet = _SHEET_BAD.sub("_", str(name))[:31] or "Sheet"
        base, k = sheet, 2
        while sheet.casefold() in used:
            suffix = f" ({k})"
            sheet = base[: 31 - len(suffix)] + suffix
            k += 1
        used.add(sheet.casefold())
        records.append(table_meta(df, name=sheet, title=str(name)))
        prepared.append((sheet, df))
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for sheet, df in prepared:
            df.to_excel(xw, sheet_name=sheet, index=_write_index(df, index))
    _meta_path(path).write_text(json.dumps({"file": path.name, "tables": records}, indent=2),
                                encoding="utf-8")
    return path


def html_table(table: pd.DataFrame, *, table_id: str | None = None, **to_html: Any) -> str:
    """HTML of a controlled table that carries its disclosure metadata for the checker.

    The ``<table>`` gets ``data-sna-rule``, ``data-sna-counts``, ``data-sna-derived``,
    ``data-sna-total-rows`` and ``data-sna-total-columns`` attributes (JSON), which
    :func:`check_outputs` reads before any other metadata.

    Examples
    --------
    >>> import pandas as pd
    >>> t = apply(pd.DataFrame({"n": [3, 12]}), rule="nhs2018", counts=["n"])
    >>> html_table(t, index=False).splitlines()[0]
    '<table border="1" class="dataframe" data-sna-rule="nhs2018" data-sna-counts="[&quot;n&quot;]" data-sna-derived="{}" data-sna-total-rows="[]" data-sna-total-columns="[]">'
    """
    import html as _html

    meta = table_meta(table)
    text = table.to_html(table_id=table_id, **to_html)
    attrs = {
        "data-sna-rule": meta["rule"], "data-sna-counts": json.dumps(meta["counts"]),
        "data-sna-derived": json.dumps(meta["derived"]),
        "data-sna-total-rows": json.dumps(meta["total_rows"]),
        "data-sna-total-columns": json.dumps(meta["total_columns"]),
    }
    extra = "".join(f' {k}="{_html.escape(str(v), quote=True)}"' for k, v in attrs.items())
    return re.sub(r"<table\b([^>]*)>", lambda m: f"<table{m.group(1)}{extra}>", text, count=1)


# ---------------------------------------------------------------------------------------------
# the output checker
# ---------------------------------------------------------------------------------------------
def _parse_cell(v) -> tuple[str, float | None]:
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
    if s.casefold() in _MISSING_TEXT:
        return "missing", None
    if s in _SUPPRESSION_MARKERS:
        return "star", None
    if re.fullmatch(r"[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?", s):
        return "num", float(s.replace(",", ""))
    if re.fullmatch(r"[-+]?\d*\.\d+(e[-+]?\d+)?|[-+]?\d+e[-+]?\d+", s, re.IGNORECASE):
        return "num", float(s)
    return "text", None


@dataclass
class _Table:
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
class _Finding:
    file: str
    table: str | None
    row: int | None
    label: Any
    column: str | None
    value: Any
    check: str
    problem: str
    rule: str | None


@dataclass
class _Context:
    root: Path
    default_rule: str
    patterns: dict[str, str]
    meta: "_MetaIndex"
    source_rules: dict[str, str] = field(default_factory=dict)
    findings: list[_Finding] = field(default_factory=list)
    tables: int = 0
    files: int = 0
    skipped: list[str] = field(default_factory=list)


_DATA_SUFFIXES = {".parquet", ".feather", ".arrow", ".pkl", ".pickle", ".sqlite", ".sqlite3",
                  ".db", ".duckdb", ".dta", ".sav", ".rds", ".rdata", ".h5", ".hdf5"}
_TABLE_SUFFIXES = {".csv", ".tsv", ".xlsx", ".xlsm", ".html", ".htm", ".ipynb", ".gpkg"}


def _norm_record(d: Mapping) -> dict:
    def listify(x):
        if x is None:
            return None
        return [x] if isinstance(x, str) else list(x)

    derived = d.get("derived", d.get("derived_columns")) or {}
    return {
        "table": d.get("table", d.get("label", d.get("sheet", d.get("layer")))),
        "label": d.get("label"),
        "rule": d.get("rule", d.get("disclosure")),
        "counts": listify(d.get("counts", d.get("count_columns"))),
        "derived": {str(k): listify(v) for k, v in dict(derived).items()},
        "total_rows": listify(d.get("total_rows")),
        "total_columns": listify(d.get("total_columns")),
        "not_counts": listify(d.get("not_counts")) or [],
        "sources": listify(d.get("sources", d.get("source"))) or [],
    }


class _MetaIndex:
    """Every piece of disclosure metadata in an output folder."""

    def __init__(self, root: Path):
        self.root = root
        self.by_file: dict[str, list[dict]] = {}
        self.by_label: dict[str, dict] = {}
        self.by_stem: dict[str, dict] = {}  # single-table files (CSV) by stem, for sheets
        self.default_rule: str | None = None
        self.build: str | None = None
        self.problems: list[_Finding] = []

    def _add(self, file: str, rec: dict) -> None:
        self.by_file.setdefault(file, []).append(rec)
        name = file.rsplit("/", 1)[-1]
        single = name.endswith((".csv", ".tsv")) or (name.endswith(".*") and any(
            (self.root / (file[:-2] + ext)).is_file() for ext in (".csv", ".tsv")))
        if single:
            stem = re.sub(r"\.(?:\*|csv|tsv)$", "", name)
            for key in (stem, stem[:31]):
                self.by_stem.setdefault(key, rec)
        for key in (rec.get("label"), rec.get("table")):
            if isinstance(key, str) and re.match(r"^(Table|Map|Figure)\s+\d", key):
                self.by_label.setdefault(key, rec)

    def load(self, json_files: Iterable[Path]) -> None:
        for p in json_files:
            rel = p.relative_to(self.root).as_posix()
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                if p.name.endswith(".meta.json") or p.name == "manifest.json":
                    self.problems.append(_Finding(rel, None, None, None, None, None, "metadata",
                                                  f"cannot read metadata: {exc}", None))
                continue
            if not isinstance(data, dict):
                continue
            folder = p.parent.relative_to(self.root).as_posix()
            prefix = "" if folder == "." else folder + "/"
            if p.name.endswith(".meta.json"):
                stem = p.name[: -len(".meta.json")]
                key = prefix + stem + ".*"
                recs = data.get("tables") if isinstance(data.get("tables"), list) else [data]
                for r in recs:
                    if isinstance(r, dict):
                        self._add(key, _norm_record(r))
            elif p.name == "manifest.json":
                self.build = data.get("build") if isinstance(data.get("build"), str) else None
                disc = data.get("disclosure")
                if isinstance(disc, dict):
                    if disc.get("default_rule") in RULES:
                        self.default_rule = disc["default_rule"]
                    for r in disc.get("tables") or []:
                        if isinstance(r, dict) and r.get("file"):
                            self._add(str(r["file"]).replace("\\", "/"), _norm_record(r))
            elif "chapter" in data and ("tables" in data or "maps" in data):
                for kind in ("tables", "maps"):
                    for r in data.get(kind) or []:
                        if isinstance(r, dict) and r.get("file"):
                            rec = _norm_record(r)
                            rec["label"] = r.get("label")
                            self._add(str(r["file"]).replace("\\", "/"), rec)

    def find(self, file: str, table: str | None, label: str | None,
             single_table: bool) -> dict | None:
        stem_key = re.sub(r"\.[^./]+$", "", file) + ".*"
        candidates = self.by_file.get(file, []) + self.by_file.get(stem_key, [])
        if candidates:
            if single_table:
                return candidates[0]
            for r in candidates:
                if table is not None and r.get("table") == table:
                    return r
            for r in candidates:
                if label is not None and label in (r.get("table"), r.get("label")):
                    return r
            untitled = [r for r in candidates if r.get("table") in (None, "")]
            if untitled:
                return untitled[0]
        if label is not None and label in self.by_label:
            return self.by_label[label]
        return None


# ---- readers ----------------------------------------------------------------------------------
def _read_csv(path: Path, rel: str) -> list[_Table]:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        sample = fh.read(4096)
        fh.seek(0)
        delim = "\t" if path.suffix.lower() == ".tsv" or (
            sample.count("\t") > sample.count(",")) else ","
        rows = list(csv.reader(fh, delimiter=delim))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return [_Table(rel, path.stem, [], [])]
    return [_Table(rel, path.stem, [c.strip() for c in rows[0]], rows[1:])]


def _read_xlsx(path: Path, rel: str) -> list[_Table]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out = []
    try:
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            while rows and all(v is None or str(v).strip() == "" for v in rows[-1]):
                rows.pop()
            if not rows:
                out.append(_Table(rel, ws.title, [], []))
                continue
            header = ["" if v is None else str(v).strip() for v in rows[0]]
            out.append(_Table(rel, ws.title, header, rows[1:]))
    finally:
        wb.close()
    # a "contents" sheet listing each sheet's source file (as sna.report writes it)
    for t in out:
        cols = [h.casefold() for h in t.header]
        if t.name.casefold() == "contents" and "sheet" in cols and "file" in cols:
            si, fi = cols.index("sheet"), cols.index("file")
            li = cols.index("table") if "table" in cols else None
            where = {str(r[si]): (str(r[fi]), None if li is None else r[li])
                     for r in t.rows if len(r) > max(si, fi) and r[si] and r[fi]}
            for other in out:
                if other.name in where:
                    other.alias, label = where[other.name]
                    if isinstance(label, str) and label.strip():
                        other.label = label.strip()
    return out


class _HTMLTables(HTMLParser):
    """Every <table> of an HTML document: header, body rows, attributes, caption."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self._stack: list[dict] = []
        self._recent = ""

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v or "") for k, v in attrs}
        if tag == "table":
            self._stack.append({"attrs": attrs, "rows": [], "caption": "", "section": None,
                                "row": None, "cell": None, "spans": {}, "in_caption": False,
                                "before": self._recent})
            self._recent = ""
            return
        if not self._stack:
            return
        t = self._stack[-1]
        if tag in ("thead", "tbody", "tfoot"):
            t["section"] = tag
        elif tag == "tr":
            self._end_row(t)
            t["row"] = {"cells": [], "head": t["section"] == "thead", "all_th": True}
        elif tag in ("td", "th"):
            if t["row"] is None:
                t["row"] = {"cells": [], "head": t["section"] == "thead", "all_th": True}
            self._end_cell(t)
            try:
                colspan = max(1, min(int(attrs.get("colspan") or 1), 1000))
                rowspan = max(1, min(int(attrs.get("rowspan") or 1), 10000))
            except ValueError:
                colspan = rowspan = 1
            t["cell"] = {"parts": [], "th": tag == "th", "colspan": colspan, "rowspan": rowspan}
        elif tag == "caption":
            t["in_caption"] = True
        elif tag == "br" and t["cell"] is not None:
            t["cell"]["parts"].append(" ")

    def _end_cell(self, t):
        cell = t["cell"]
        if cell is None or t["row"] is None:
            t["cell"] = None
            return
        t["cell"] = None
        row = t["row"]
        text = " ".join("".join(cell["parts"]).split())
        self._fill_spans(t, row)
        for k in range(cell["colspan"]):
            pos = len(row["cells"])
            value = text if (k == 0 or cell["th"]) else ""
            row["cells"].append(value)
            if cell["rowspan"] > 1:
                t["spans"][pos] = [cell["rowspan"] - 1, value]
            self._fill_spans(t, row)
        if not cell["th"]:
            row["all_th"] = False

    @staticmethod
    def _fill_spans(t, row):
        while len(row["cells"]) in t["spans"] and row.get("filling", True):
            pos = len(row["cells"])
            span = t["spans"][pos]
            if span[0] <= 0:
                del t["spans"][pos]
                break
            row["cells"].append(span[1])
            span[0] -= 1
            if span[0] <= 0:
                del t["spans"][pos]

    def _end_row(self, t):
        self._end_cell(t)
        row = t["row"]
        if row is not None:
            if row["cells"]:
                t["rows"].append(row)
            t["row"] = None

    def handle_endtag(self, tag):
        if not self._stack:
            return
        t = self._stack[-1]
        if tag in ("td", "th"):
            self._end_cell(t)
        elif tag == "tr":
            self._end_row(t)
        elif tag == "caption":
            t["in_caption"] = False
        elif tag in ("thead", "tbody", "tfoot"):
            self._end_row(t)
            t["section"] = None
        elif tag == "table":
            self._end_row(t)
            self._stack.pop()
            self.tables.append(t)
            self._recent = ""

    def handle_data(self, data):
        if self._stack:
            t = self._stack[-1]
            if t["cell"] is not None:
                t["cell"]["parts"].append(data)
            elif t["in_caption"]:
                t["caption"] += data
        else:
            self._recent = (self._recent + data)[-600:]


_LABEL_RE = re.compile(r"\b((?:Table|Map)\s+\d+(?:\.\d+)*)")


def _html_tables(text: str, rel: str, prefix: str = "") -> list[_Table]:
    parser = _HTMLTables()
    parser.feed(text)
    parser.close()
    out = []
    for k, t in enumerate(parser.tables, start=1):
        rows = t["rows"]
        head = [r for r in rows if r["head"]]
        if not head and rows and rows[0]["all_th"]:
            head = [rows[0]]
        body = [r["cells"] for r in rows if r not in head]
        width = max([len(r["cells"]) for r in rows] or [0])
        header = []
        for pos in range(width):
            parts = []
            for h in head:
                if pos < len(h["cells"]) and h["cells"][pos] and h["cells"][pos] not in parts:
                    parts.append(h["cells"][pos])
            header.append(" ".join(parts))
        caption = " ".join(t["caption"].split())
        m = _LABEL_RE.search(caption) or (
            list(_LABEL_RE.finditer(t["before"]))[-1] if _LABEL_RE.search(t["before"]) else None)
        label = m.group(1) if m else None
        attrs = t["attrs"]
        inline = None
        if "data-sna-rule" in attrs:
            inline = {"rule": attrs.get("data-sna-rule")}
            for key, attr in (("counts", "data-sna-counts"), ("derived", "data-sna-derived"),
                              ("total_rows", "data-sna-total-rows"),
                              ("total_columns", "data-sna-total-columns")):
                try:
                    if attr in attrs:
                        inline[key] = json.loads(attrs[attr])
                except json.JSONDecodeError:
                    pass
            inline = _norm_record(inline)
        name = attrs.get("data-sna-table") or attrs.get("id") or label or f"{prefix}table {k}"
        out.append(_Table(rel, name, header, body, inline=inline, label=label))
    return out


def _read_html(path: Path, rel: str) -> list[_Table]:
    return _html_tables(path.read_text(encoding="utf-8", errors="replace"), rel)


def _read_ipynb(path: Path, rel: str) -> list[_Table]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for ci, cell in enumerate(nb.get("cells") or [], start=1):
        for oi, output in enumerate(cell.get("outputs") or [], start=1):
            data = output.get("data") or {}
            html_text = data.get("text/html")
            if not html_text:
                continue
            if isinstance(html_text, list):
                html_text = "".join(html_text)
            sna_meta = (output.get("metadata") or {}).get("sna") or {}
            tables = _html_tables(html_text, rel, prefix=f"cell {ci} output {oi} ")
            for t in tables:
                if t.inline is None and isinstance(sna_meta, dict) and sna_meta.get("disclosure"):
                    t.inline = _norm_record({"rule": sna_meta.get("disclosure")})
                if t.label is None and isinstance(sna_meta.get("label"), str):
                    t.label = sna_meta["label"]
                if not t.name.startswith(("Table", "Map")) and t.label:
                    t.name = t.label
            out.extend(tables)
    return out


def _read_gpkg(path: Path, rel: str) -> list[_Table]:
    import geopandas as gpd
    import pyogrio

    out = []
    for layer, _geom in pyogrio.list_layers(path):
        gdf = gpd.read_file(path, layer=layer)
        cols = [c for c in gdf.columns if c != gdf.geometry.name]
        rows = [[_py(v) for v in r] for r in gdf[cols].itertuples(index=False, name=None)]
        t = _Table(rel, str(layer), [str(c) for c in cols], rows)
        geom = gdf.geometry
        pts = geom[geom.geom_type == "Point"] if len(geom) else geom
        if len(pts):
            t.points = (pts.x.to_numpy(), pts.y.to_numpy(), gdf.crs)
        out.append(t)
    return out


_READERS = {".csv": _read_csv, ".tsv": _read_csv, ".xlsx": _read_xlsx, ".xlsm": _read_xlsx,
            ".html": _read_html, ".htm": _read_html, ".ipynb": _read_ipynb, ".gpkg": _read_gpkg}


# ---- checks ------------------------------------------------------------------------------------
_ID_NAME = re.compile(
    r"^(?:(?:record|person|offender|victim|patient|suspect|participant|client|pupil|child|"
    r"subject|nominal|crime|incident|occurrence|call|cad|attendance|case|referral|arrest|"
    r"custody)_?(?:id|ref|reference|number|no|num|urn)s?"
    r"|(?:nhs|chi|upn|pnc)_?(?:number|no|num|id)|nhsnumber|crn|urn|ucrn|pseudonym|pseudo_id|"
    r"hash|hashed_id)$"
)
_HEX = re.compile(r"^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$")
_NHS_TEXT = re.compile(r"^\d{3}[ -]?\d{3}[ -]?\d{4}$")
_COORD_NAMES = {"x", "y", "easting", "northing", "eastings", "northings", "east", "north",
                "lon", "lng", "long", "longitude", "lat", "latitude", "xcoord", "ycoord",
                "x_coord", "y_coord", "x_coordinate", "y_coordinate", "point_x", "point_y",
                "location_x", "location_y", "grid_x", "grid_y", "bng_x", "bng_y"}
_COORD_SUFFIX = re.compile(r"_(?:x|y|easting|northing|lat|lon|lng|latitude|longitude)$")
_GEO_NAME = re.compile(r"(?:^|_)(?:lat|lon|lng|long|latitude|longitude)$")
_MANY_DISTINCT = 10


def _valid_nhs_number(digits: str) -> bool:
    """Modulus 11 check of a 10-digit NHS number.

    >>> _valid_nhs_number("9434765919"), _valid_nhs_number("9434765918")
    (True, False)
    """
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _mask(value: Any) -> str:
    """An identifier cut short for the findings: at most 4 characters, never half or more."""
    s = str(value)
    return s[: min(4, len(s) // 2)] + "…"


def _decimals(raw: Any) -> int:
    if isinstance(raw, float):
        s = repr(raw)
    else:
        s = str(raw).strip()
    if "e" in s.casefold():
        try:
            s = f"{float(s):.12f}"
        except ValueError:
            return 0
    if "." not in s:
        return 0
    return len(s.split(".", 1)[1].rstrip("0"))


def _lattice_step(values: Sequence[float], unit: float) -> float:
    """The step of the regular lattice the values lie on (0 when none)."""
    ints = sorted({int(round(v / unit)) for v in values})
    g = 0
    for a, b in zip(ints, ints[1:]):
        g = math.gcd(g, b - a)
    return g * unit


def _is_record_level(name: str, nums: list[float], raws: list[Any]) -> str | None:
    distinct = set(nums)
    geo = bool(_GEO_NAME.search(name)) or (
        name in ("x", "y") and nums and all(abs(v) <= 180 for v in nums))
    if geo and any(_decimals(r) >= 4 for r in raws):
        return "longitude/latitude with 4 or more decimals (about 10 m or better)"
    if len(distinct) < _MANY_DISTINCT:
        return None
    step = _lattice_step(list(distinct), 1e-7 if geo else 0.01)
    if step >= (0.001 if geo else 50):
        return None  # a grid of cells, not points
    return f"{len(distinct)} distinct coordinate values, not on a grid"


def _table_rule(ctx: _Context, t: _Table, single: bool) -> tuple[str, dict | None, str | None]:
    """(rule to check under, metadata record or None, the rule the metadata claimed)."""
    rec = t.inline or ctx.meta.find(t.file, t.name, t.label, single)
    if rec is None and not single:  # a sheet copied from a CSV: the CSV's metadata
        rec = ctx.meta.find(t.alias, None, None, True) if t.alias else ctx.meta.by_stem.get(t.name)
    claimed = rec.get("rule") if rec else None
    if rec and claimed in RULES:
        return claimed, rec, claimed
    rule = None
    srcs = [ctx.source_rules[x] for x in (rec or {}).get("sources") or [] if x in ctx.source_rules]
    if srcs:  # what the config says for the table's sources; nhs2018 hides the most counts
        rule = next(r for r in ("nhs2018", "legacy5", "none") if r in srcs)
    for pat, r in ctx.patterns.items():
        if fnmatch.fnmatch(t.file, pat) or fnmatch.fnmatch(f"{t.file}::{t.name}", pat):
            rule = r
            break
    return rule or ctx.default_rule, rec, claimed


def _check_table(ctx: _Context, t: _Table, single: bool) -> None:
    ctx.tables += 1
    rule, rec, claimed = _table_rule(ctx, t, single)
    add = ctx.findings.append

    if claimed is not None and claimed not in RULES:
        add(_Finding(t.file, t.name, None, None, None, None, "metadata",
                     f"the table was not put under disclosure control (its metadata says "
                     f"{claimed!r}); checked under {rule}", rule))
    width = max([len(t.header)] + [len(r) for r in t.rows])
    header = list(t.header) + [""] * (width - len(t.header))
    names = []
    for k, h in enumerate(header):
        h = str(h).strip()
        names.append(h if h else f"column {k + 1}")
    rows = [list(r) + [None] * (width - len(r)) for r in t.rows]
    parsed = [[_parse_cell(v) for v in r] for r in rows]
    n = len(rows)
    if n == 0:
        return

    # which columns are counts
    kinds_by_col = [[p[j][0] for p in parsed] for j in range(width)]
    label_col = next((j for j in range(width)
                      if kinds_by_col[j].count("text") > n / 2), None)

    def row_label(i):
        return None if label_col is None else rows[i][label_col]

    meta_counts = set(rec["counts"] or []) if rec else set()
    not_counts = set(rec.get("not_counts") or []) if rec else set()
    derived = dict(rec["derived"]) if rec else {}
    count_cols = []
    for j, name in enumerate(header):
        if name in not_counts or names[j] in derived:
            continue
        ks = kinds_by_col[j]
        if (name in meta_counts and "num" in ks) or ("star" in ks and "text" not in ks):
            count_cols.append(j)
            continue
        if "text" in ks or "num" not in ks or not _count_name_ok(name):
            continue
        nums = [p[j][1] for p in parsed if p[j][0] == "num"]
        if all(x >= 0 and x % 1 == 0 for x in nums):
            count_cols.append(j)
    if not derived and len(count_cols) == 1:
        only = header[count_cols[0]]
        derived = {names[j]: [only] for j in range(width)
                   if j not in count_cols and _looks_derived(header[j])
                   and "text" not in kinds_by_col[j]}

    # small and unrounded counts
    if rule != "none":
        lo, hi = SMALL_COUNTS[rule]
        for j in count_cols:
            for i in range(n):
                kind, x = parsed[i][j]
                if kind != "num":
                    continue
                if lo <= x <= hi:
                    add(_Finding(t.file, t.name, i + 1, row_label(i), names[j], rows[i][j],
                                 "small_count", f"unsuppressed small count ({lo}-{hi} must be "
                                 f"shown as *)", rule))
                elif rule == "nhs2018" and x != 0 and (x % 1 != 0 or x % _ROUND_TO != 0):
                    add(_Finding(t.file, t.name, i + 1, row_label(i), names[j], rows[i][j],
                                 "unrounded", "count not rounded to a multiple of 5", rule))

        # derived values shown next to a suppressed count
        col_of = {names[j]: j for j in range(width)}
        col_of.update({h: j for j, h in enumerate(header) if h})
        for d, srcs in derived.items():
            dj = col_of.get(d)
            sj = [col_of[s] for s in srcs if s in col_of]
            if dj is None or not sj:
                continue
            for i in range(n):
                if any(parsed[i][s][0] == "star" for s in sj) and parsed[i][dj][0] in ("num",
                                                                                       "text"):
                    add(_Finding(t.file, t.name, i + 1, row_label(i), names[dj], rows[i][dj],
                                 "derived", "a rate / interval / percentage is shown where its "
                                 "count is suppressed", rule))

        # differencing
        if rule == "legacy5" and count_cols:
            _check_differencing(ctx, t, rec, rule, header, names, rows, parsed, count_cols,
                                label_col)

    _check_identifiers(ctx, t, rule, names, rows, parsed, row_label)
    _check_coordinates(ctx, t, rule, names, rows, parsed)


def _check_differencing(ctx, t, rec, rule, header, names, rows, parsed, count_cols, label_col):
    import numpy as np

    n = len(rows)
    want_rows = set(rec.get("total_rows") or []) if rec and rec.get("total_rows") else None
    want_cols = set(rec.get("total_columns") or []) if rec and rec.get("total_columns") else None
    total_rows = []
    for i in range(n):
        texts = [rows[i][j] for j in range(len(rows[i]))
                 if j not in count_cols and parsed[i][j][0] == "text"]
        if any(_is_total_label(v) for v in texts) or (
                want_rows and any(str(v).strip() in {str(w) for w in want_rows} for v in texts)):
            total_rows.append(i)
    total_cols = [k for k, j in enumerate(count_cols)
                  if _is_total_label(header[j]) or (want_cols and header[j] in want_cols)]
    supp = np.array([[parsed[i][j][0] == "star" for j in count_cols] for i in range(n)])
    if not supp.any() or (not total_rows and not total_cols):
        return
    if len(total_rows) > 1 or len(total_cols) > 1:
        ctx.findings.append(_Finding(
            t.file, t.name, None, None, None, None, "differencing",
            f"the table has {len(total_rows)} total rows and {len(total_cols)} total columns "
            "and suppressed cells; differencing cannot be checked: publish one table per group",
            rule))
        return
    missing = np.array([[parsed[i][j][0] == "missing" for j in count_cols] for i in range(n)])
    eq = _Equations(n, len(count_cols), total_rows[0] if total_rows else None,
                    total_cols[0] if total_cols else None,
                    bool(total_cols) and len(count_cols) > 1,
                    np.full(len(count_cols), bool(total_rows) and n > 1))
    unknown = supp | missing
    for i, k in eq.recoverable(supp, unknown):
        row_unknown = unknown[i].sum() if eq.row_eq else 0
        col_unknown = unknown[:, k].sum() if eq.col_eq[k] else 0
        if row_unknown == 1:
            why = "it is the only suppressed cell of a row with a total"
        elif col_unknown == 1:
            why = "it is the only suppressed cell of a column with a total"
        else:
            why = "it can be worked out by combining rows and columns with totals"
        j = count_cols[k]
        ctx.findings.append(_Finding(
            t.file, t.name, i + 1, None if label_col is None else rows[i][label_col], names[j],
            rows[i][j], "differencing", f"differencing risk: {why}", rule))


def _check_identifiers(ctx, t, rule, names, rows, parsed, row_label):
    n = len(rows)
    for j, name in enumerate(names):
        present = [i for i in range(n) if parsed[i][j][0] != "missing"]
        if not present:
            continue
        if _ID_NAME.match(_norm_name(name)):
            i = present[0]
            ctx.findings.append(_Finding(
                t.file, t.name, None, None, name, _mask(rows[i][j]), "identifier",
                f"a column of record or person identifiers ({len(present)} values)", rule))
            continue
        hexes, nhs = [], []
        for i in present:
            v = rows[i][j]
            kind, x = parsed[i][j]
            s = str(v).strip()
            if kind == "text" and _HEX.match(s) and re.search(r"[a-fA-F]", s) and re.search(
                    r"\d", s):
                hexes.append(i)
            elif kind == "text" and _NHS_TEXT.match(s) and _valid_nhs_number(
                    re.sub(r"\D", "", s)):
                nhs.append(i)
            elif kind == "num" and x is not None and 1e9 <= x < 1e10 and x % 1 == 0 and (
                    _valid_nhs_number(str(int(x)))):
                nhs.append(i)
        for hits, what in ((hexes, "pseudonymised identifiers (hexadecimal hashes)"),
                           (nhs, "NHS-number-like values (10 digits, valid check digit)")):
            if hits:
                i = hits[0]
                ctx.findings.append(_Finding(
                    t.file, t.name, i + 1, row_label(i), name, _mask(rows[i][j]), "identifier",
                    f"{what} in {len(hits)} cell(s), first at row {i + 1}", rule))


def _check_coordinates(ctx, t, rule, names, rows, parsed):
    n = len(rows)
    numeric_cols = {}
    for j, name in enumerate(names):
        nums = [parsed[i][j][1] for i in range(n) if parsed[i][j][0] == "num"]
        raws = [rows[i][j] for i in range(n) if parsed[i][j][0] == "num"]
        if not nums or any(parsed[i][j][0] == "text" for i in range(n)):
            continue
        numeric_cols[j] = (nums, raws)
        norm = _norm_name(name)
        if norm in _COORD_NAMES or _COORD_SUFFIX.search(norm):
            why = _is_record_level(norm, nums, raws)
            if why:
                ctx.findings.append(_Finding(t.file, t.name, None, None, name, raws[0],
                                             "coordinates", f"record-level coordinates: {why}",
                                             rule))
    # unnamed UK longitude / latitude pairs
    def precise(raws):
        return sum(_decimals(r) >= 4 for r in raws) >= 0.8 * len(raws)

    lats = [j for j, (nums, raws) in numeric_cols.items()
            if len(nums) >= 3 and all(49.8 <= v <= 60.9 for v in nums) and precise(raws)]
    lons = [j for j, (nums, raws) in numeric_cols.items()
            if len(nums) >= 3 and all(-8.7 <= v <= 1.8 for v in nums) and precise(raws)]
    if lats and lons:
        for j in (lats[0], lons[0]):
            norm = _norm_name(names[j])
            if norm in _COORD_NAMES or _COORD_SUFFIX.search(norm):
                continue  # already reported by name
            ctx.findings.append(_Finding(
                t.file, t.name, None, None, names[j], numeric_cols[j][1][0], "coordinates",
                "record-level coordinates: a pair of columns holding precise UK latitudes and "
                "longitudes", rule))
    pts = t.points
    if pts is not None:
        xs, ys, crs = pts
        geo = bool(crs is not None and getattr(crs, "is_geographic", False))
        unit, lim = (1e-7, 0.001) if geo else (0.01, 50)
        coords = {(float(x), float(y)) for x, y in zip(xs, ys)}
        if len(coords) >= _MANY_DISTINCT and (
                _lattice_step([c[0] for c in coords], unit) < lim
                or _lattice_step([c[1] for c in coords], unit) < lim):
            ctx.findings.append(_Finding(
                t.file, t.name, None, None, "geometry", f"{len(coords)} points", "coordinates",
                f"record-level coordinates: a point layer with {len(coords)} distinct points, "
                "not on a grid", rule))


def _default_rule(rules, config) -> tuple[str, dict[str, str], dict[str, str]]:
    patterns: dict[str, str] = {}
    source_rules: dict[str, str] = {}
    default = None
    if isinstance(rules, str):
        default = _check_rule(rules, key="rules")
    elif isinstance(rules, Mapping):
        for pat, r in rules.items():
            patterns[str(pat)] = _check_rule(r, key=f"rules.{pat}")
    elif rules is not None:
        raise DisclosureError("rules must be a rule name or a mapping of file pattern -> rule",
                              key="rules")
    if config is not None:
        from .config import Config, load_config

        cfg = config if isinstance(config, Config) else load_config(config)
        source_rules = {name: src.default_disclosure for name, src in cfg.sources.items()}
        if default is None:
            default = cfg.disclosure.default_rule
    return default or "", patterns, source_rules


def check_outputs(
    dir: str | os.PathLike,
    *,
    rules: str | Mapping[str, str] | None = None,
    config: Any = None,
) -> pd.DataFrame:
    """Scan a finished output folder for anything unsafe to publish.

    Reads every CSV/TSV, every sheet of every XLSX, every ``<table>`` of every HTML file and
    of the HTML outputs of executed notebooks, and the layers of GeoPackages, and reports:

    - ``small_count``: an unsuppressed count from 1 to 7 (nhs2018) or 1 to 5 (legacy5);
    - ``unrounded``: under nhs2018, a count that is not a multiple of 5;
    - ``differencing``: under legacy5, a suppressed cell that the published totals give
      away (the only ``*`` of a row or column with a total, or a bridge; see :func:`apply`);
    - ``derived``: a rate / interval / percentage shown where its count is ``*``;
    - ``identifier``: a column named like ``record_id`` / ``person_id`` /
      ``crime_reference`` / ``nhs_number``; pseudonyms (16-, 32-, 40- or 64-character
      hexadecimal hashes); NHS-number-like values (10 digits with a valid check digit);
    - ``coordinates``: columns named ``x``/``y``/``easting``/``northing``/``lon``/``lat``...
      with 10 or more distinct values not on a grid (step under 50 m / 0.001 degrees), or
      longitudes/latitudes with 4 or more decimals; unnamed pairs of precise UK latitudes
      and longitudes; point layers of 10 or more distinct points;
    - ``data_file``: a record-level data file (Parquet, Feather, pickle, SQLite, DuckDB...),
      e.g. the data cache, which a public folder must not hold;
    - ``metadata``: a table whose metadata says it was not put under control (restricted
      build), a restricted manifest, unreadable metadata;
    - ``unreadable``: a table file that cannot be read (the checker fails closed).

    Parameters
    ----------
    dir
        The output folder (``outputs/<area>/<FY>``).
    rules
        The rule for tables without metadata: a rule name, or ``{glob: rule}`` matched
        against the file's path in the folder (``"tables/07_*"``) or ``"path::table"``.
    config
        A config (path, dict or :class:`~sna.config.Config`) whose
        ``disclosure.default_rule`` is the default when ``rules`` gives none.

    Returns
    -------
    pandas.DataFrame
        One row per finding: ``file`` (path in the folder), ``table`` (file stem, sheet,
        layer, HTML table id / "Table 4.1" label / "table k"), ``row`` (1-based data row
        below the header; CSV line and Excel row = ``row + 1``; empty for a whole column),
        ``label`` (the row's label), ``column``, ``value`` (as shown; identifiers masked),
        ``check``, ``problem``, ``rule`` (the rule the table was checked under).
        ``attrs["sna"]["check_outputs"]`` holds ``dir``, ``files``, ``tables``,
        ``default_rule`` and ``skipped`` (files not scanned).

    Raises
    ------
    DisclosureError
        The folder does not exist; an unknown rule in ``rules``.

    Notes
    -----
    The rule of each table comes from, in order: ``data-sna-*`` attributes of an HTML
    table or the ``sna`` metadata of a notebook output; the file's ``<stem>.meta.json``;
    the chapter sidecars ``chapters/*.json``; ``manifest.json`` ``disclosure.tables``
    (matched by file, then by "Table N.k" label for HTML copies of a table; a workbook sheet
    copied from a CSV takes the CSV's metadata, found through a ``contents`` sheet with
    ``sheet`` and ``file`` columns or by the sheet being named as the CSV's stem). When that
    metadata names no known rule (a restricted build says "not applied") but lists the
    table's ``sources`` and a ``config`` is given, the sources' configured rules decide
    (nhs2018 if any source uses it); otherwise ``rules``, then ``manifest.json`` ``disclosure.default_rule``, then the config's
    ``disclosure.default_rule``, then ``legacy5``. Count columns are those the metadata
    names plus :func:`guess_count_columns`' guess (so a column the build forgot is still
    checked); metadata ``not_counts`` excludes a column. Tables under ``"none"`` get only
    the identifier and coordinate checks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_public_table(pd.DataFrame({"area": ["A", "B"], "n": [3, 22]}),
    ...                        folder / "tables" / "by_area.csv", rule="nhs2018", counts=["n"])
    >>> check_outputs(folder).empty
    True
    >>> pd.DataFrame({"area": ["A", "B"], "n": [3, 20]}).to_csv(folder / "tables" / "by_area.csv",
    ...                                                       index=False)
    >>> check_outputs(folder)[["file", "row", "column", "value", "check"]]
                       file  row column value        check
    0  tables/by_area.csv    1      n     3  small_count
    """
    import pandas as pd

    root = Path(dir)
    if not root.is_dir():
        raise DisclosureError(
            "the output folder does not exist (or is not a folder); give the folder "
            "'sna run' wrote, e.g. outputs/<area>/<year>", file=root)
    default, patterns, source_rules = _default_rule(rules, config)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    meta = _MetaIndex(root)
    meta.load(p for p in files if p.suffix.lower() == ".json")
    ctx = _Context(root, default or meta.default_rule or "legacy5", patterns, meta, source_rules)
    ctx.findings.extend(meta.problems)
    if meta.build and meta.build != "public":
        ctx.findings.append(_Finding("manifest.json", None, None, None, "build", meta.build,
                                     "metadata", f"the manifest says this is a {meta.build!r} "
                                     "build, not a public one", None))
    for p in files:
        rel = p.relative_to(root).as_posix()
        suffix = p.suffix.lower()
        if suffix in _DATA_SUFFIXES:
            ctx.files += 1
            ctx.findings.append(_Finding(rel, None, None, None, None, None, "data_file",
                                         "a data file (record-level data or the data cache) "
                                         "cannot be published", None))
            continue
        reader = _READERS.get(suffix)
        if reader is None:
            if suffix != ".json":  # metadata, read above
                ctx.skipped.append(rel)
            continue
        ctx.files += 1
        try:
            tables = reader(p, rel)
        except Exception as exc:  # the checker fails closed on anything it cannot read
            ctx.findings.append(_Finding(rel, None, None, None, None, None, "unreadable",
                                         f"cannot read the file to check it: {exc}", None))
            continue
        single = suffix in (".csv", ".tsv")
        for t in tables:
            _check_table(ctx, t, single)
    records = [{k: (None if v is None else (v if k == "row" else str(v)))
                for k, v in f.__dict__.items()} for f in ctx.findings]
    df = pd.DataFrame({c: pd.Series([r[c] for r in records], dtype=object)
                       for c in FINDING_COLUMNS})
    df["row"] = df["row"].astype("Int64")
    df.attrs["sna"] = {"check_outputs": {
        "dir": str(root), "files": ctx.files, "tables": ctx.tables,
        "default_rule": ctx.default_rule, "skipped": ctx.skipped,
    }}
    logger.info("check_outputs %s: %d findings in %d tables of %d files", root, len(df),
                ctx.tables, ctx.files)
    return df


def _finding_line(f: Mapping[str, Any]) -> str:
    where = [str(f["file"])]
    if f.get("table") not in (None, "") and not str(f["file"]).endswith(
            f"{f['table']}.csv"):
        where.append(f"table {f['table']!r}")
    row = f.get("row")
    if row is not None and not (isinstance(row, float) and math.isnan(row)) and str(row) != "<NA>":
        lab = f.get("label")
        where.append(f"row {row}" + (f" ({lab})" if lab not in (None, "") else ""))
    if f.get("column") not in (None, ""):
        where.append(f"column {f['column']!r}")
    text = ", ".join(where) + ": "
    if f.get("value") not in (None, ""):
        text += f"{f['value']} - "
    text += str(f["problem"])
    if f.get("rule"):
        text += f" [{f['check']}, {f['rule']}]"
    else:
        text += f" [{f['check']}]"
    return text


def check_outputs_cli(args: Any) -> int:
    """``sna check-outputs DIR``: print the findings; the exit code says whether any.

    Parameters
    ----------
    args
        An argparse Namespace with ``dir`` (the folder), ``config`` (optional config path),
        ``json`` (bool: print the findings as JSON), and optionally ``rule`` (the rule for
        tables without metadata) and ``debug``.

    Returns
    -------
    int
        0 when nothing is found, 1 when anything is, 2 when the folder does not exist or the
        config or rule is invalid (the message goes to stderr).

    Examples
    --------
    >>> import argparse, tempfile
    >>> check_outputs_cli(argparse.Namespace(dir=tempfile.mkdtemp(), config=None, json=False))
    sna check-outputs: no findings in 0 tables of 0 files under ...
    0
    >>> check_outputs_cli(argparse.Namespace(dir="/no/such/folder", config=None, json=False))
    2
    """
    folder = getattr(args, "dir", None)
    try:
        if folder is None:
            raise DisclosureError("give the output folder to check: sna check-outputs DIR")
        findings = check_outputs(folder, rules=getattr(args, "rule", None),
                                 config=getattr(args, "config", None))
    except SnaError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"sna check-outputs: {exc}", file=sys.stderr)
        return 2
    info = findings.attrs["sna"]["check_outputs"]
    records = [
        {k: (None if (v is None or str(v) in ("<NA>", "nan")) else (int(v) if k == "row" else v))
         for k, v in r.items()}
        for r in findings.to_dict(orient="records")
    ]
    if getattr(args, "json", False):
        print(json.dumps({"dir": info["dir"], "files": info["files"], "tables": info["tables"],
                          "default_rule": info["default_rule"], "findings": records},
                         indent=2, default=str))
    else:
        for r in records:
            print(_finding_line(r))
        if records:
            by_check = findings["check"].value_counts()
            kinds = ", ".join(f"{n} {c}" for c, n in by_check.items())
            n_files = findings["file"].nunique()
            print(f"sna check-outputs: {len(records)} finding(s) ({kinds}) in {n_files} of "
                  f"{info['files']} files ({info['tables']} tables) under {info['dir']}")
        else:
            print(f"sna check-outputs: no findings in {info['tables']} tables of "
                  f"{info['files']} files under {info['dir']}")
    return 1 if records else 0
