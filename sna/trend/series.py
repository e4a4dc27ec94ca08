"""Monthly series: complete monthly counts, their coverage and gaps, rolling 12-month totals.

- :func:`monthly` -- a complete monthly series of counts (0 for a month without events,
  missing for a month without data); :func:`gap_note` says which months have no data;
- :func:`assessment_window` -- the baseline years and the assessment year of a monthly table;
- :func:`rolling_12` -- rolling 12-month totals.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._log import record
from ..errors import AnalysisInputError
from ..periods import FinancialYear, fy_start_year
from .._validate import as_list as _as_list
from .._validate import check_columns as _check_columns
from .._validate import check_frame as _check_frame
from ._common import counts as _counts
from ._common import label as _label
from ._common import month_starts as _month_starts
from ._common import monthly_values as _monthly_values
from ._common import months as _months
from ._common import regular as _regular

__all__ = ["monthly", "gap_note", "assessment_window", "rolling_12"]

logger = logging.getLogger("sna")


def _coverage(covered, keys: pd.DataFrame, by_cols: list[str]) -> dict | pd.DatetimeIndex | None:
    """``covered`` as one DatetimeIndex, or a mapping series key -> DatetimeIndex."""
    if covered is None:
        return None
    if isinstance(covered, Mapping):
        if not by_cols:
            raise AnalysisInputError("covered= as a mapping needs by= (its keys are the series)")
        out = {}
        for key in keys.itertuples(index=False, name=None):
            k = key[0] if len(key) == 1 else key
            if k not in covered:
                raise AnalysisInputError(
                    f"covered= has no months for series {k!r}; give the months each series' "
                    "source covers (e.g. its QualityLog months)")
            out[k] = _month_starts(covered[k], f"covered[{k!r}]")
        return out
    return _month_starts(covered, "covered")


def monthly(
    data: pd.DataFrame,
    *,
    date: str = "month",
    count: str | None = None,
    by: str | Sequence[str] | None = None,
    start=None,
    end=None,
    covered=None,
) -> pd.DataFrame:
    """A complete monthly series of counts: 0 for a month without events, missing without data.

    Parameters
    ----------
    data
        Incidents (one row per event) or a pre-counted table. Not modified.
    date
        Column with the date or month of each row (datetime, "2020-04" strings or a monthly
        Period). Dates are floored to the month.
    count
        Column with a count per row (pre-counted data). None: each row is one event.
    by
        Column(s) giving separate series (e.g. ``source``); every series gets every month.
    start, end
        First and last month of the series (default the first and last month in ``data``).
    covered
        The months the source(s) supplied data for (its QualityLog ``months``:
        ``assessment.quality.sources[name].months``), or a mapping from each ``by`` key to
        its months. A month outside them has no data: its count is missing (``<NA>``), not
        0. None (default): every month from ``start`` to ``end`` is taken as covered, so a
        month with no rows counts 0 -- right for a subset of a complete source, wrong when
        the source itself lacks the month.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``month`` (datetime64, first of the month), ``fy`` (label
        "2020/21") and ``n`` (count; integer, nullable ``Int64`` with ``<NA>`` for the months
        without data when there are any), sorted; a fresh RangeIndex.
        ``attrs["sna"]["monthly"]["missing_months"]`` lists the months without data (per
        series when ``covered`` is a mapping).

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"month": ["2020-01", "2020-01", "2020-04"]})
    >>> monthly(ev)
           month       fy  n
    0 2020-01-01  2019/20  2
    1 2020-02-01  2019/20  0
    2 2020-03-01  2019/20  0
    3 2020-04-01  2020/21  1
    >>> m = monthly(ev, covered=["2020-01", "2020-02", "2020-04"])
    >>> m["n"].tolist(), m.attrs["sna"]["monthly"]["missing_months"]
    ([2, 0, <NA>, 1], ['2020-03'])
    """
    _check_frame(data, "data")
    by_cols = _as_list(by)
    _check_columns(data, [date, *by_cols, count], what="data")
    work = data[by_cols].copy()
    work["month"] = _months(data, date).to_numpy()
    work["n"] = _counts(data, count).to_numpy()
    first = _month_starts(start, "start")[0] if start is not None else work["month"].min()
    last = _month_starts(end, "end")[0] if end is not None else work["month"].max()
    if pd.isna(first) or pd.isna(last):
        raise AnalysisInputError("data has no rows: there are no months to count")
    if last < first:
        raise AnalysisInputError(f"end {last:%Y-%m} is before start {first:%Y-%m}")
    months = pd.date_range(first, last, freq="MS")
    work = work[(work["month"] >= first) & (work["month"] <= last)]
    counts = work.groupby([*by_cols, "month"], dropna=False, observed=True)["n"].sum()
    keys = data[by_cols].drop_duplicates() if by_cols else pd.DataFrame(index=[0])
    if len(by_cols) == 1:
        keys = keys.sort_values(by_cols)
    full = keys.merge(pd.DataFrame({"month": months}), how="cross")
    full = full.sort_values([*by_cols, "month"], kind="stable").reset_index(drop=True)
    idx = pd.MultiIndex.from_frame(full[[*by_cols, "month"]]) if by_cols else \
        pd.Index(full["month"])
    n = counts.reindex(idx, fill_value=0).to_numpy(dtype=float, copy=True)
    coverage = _coverage(covered, keys, by_cols)
    missing: dict | list = {}
    if isinstance(coverage, dict):
        for k, months_k in coverage.items():
            key = k if isinstance(k, tuple) else (k,)
            rows = np.logical_and.reduce([full[c] == v for c, v in zip(by_cols, key)])
            gap = rows & ~full["month"].isin(months_k).to_numpy()
            n[gap] = np.nan
            missing[" / ".join(map(str, key))] = [f"{m:%Y-%m}" for m in full.loc[gap, "month"]]
    elif coverage is not None:
        gap = ~full["month"].isin(coverage).to_numpy()
        n[gap] = np.nan
        missing = [f"{m:%Y-%m}" for m in months[~months.isin(coverage)]]
    out = full if by_cols else full[["month"]]
    whole = bool(np.all(np.isnan(n) | (n % 1 == 0)))
    out["n"] = pd.array(n, dtype="Int64") if whole and np.isnan(n).any() else \
        (n.astype("int64") if whole else n)
    out.insert(len(by_cols) + 1, "fy", pd.Series(
        [str(FinancialYear(y)) for y in fy_start_year(out["month"])], dtype="string"))
    if missing:
        logger.info("monthly: months without data (counts missing, not 0): %s", missing)
    record(out, "monthly", {"date": date, "count": count, "by": by_cols or None,
                            "start": f"{first:%Y-%m}", "end": f"{last:%Y-%m}",
                            "zero_filled": "covered months without events are 0",
                            "coverage": "given (covered=)" if covered is not None else
                            "not given: every month taken as covered",
                            "missing_months": missing or []})
    return out


def gap_note(missing, *, source: str | None = None) -> str:
    """A sentence naming the months without data and how they are treated ("" if none).

    >>> print(gap_note(["2018-12"], source="police"))
    The police data have no records for December 2018 (a gap in the supply of data, not a
    month without violence): it is left out, never counted as 0.
    """
    months = sorted(str(m) for m in (missing or []))
    if not months:
        return ""
    names = [pd.Period(m, "M").strftime("%B %Y") for m in months]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    whose = f"The {source} data have" if source else "The data have"
    return (f"{whose} no records for {listed} (a gap in the supply of data, not "
            f"{'a month' if len(names) == 1 else 'months'} without violence): "
            f"{'it is' if len(names) == 1 else 'they are'} left out, never counted as 0.")


def assessment_window(data: pd.DataFrame, year, *, baseline_years: int = 3,
                      date: str = "month") -> pd.DataFrame:
    """The rows of a monthly table from the first baseline month to the assessment year's end.

    What an SPC chart of the assessment shows and computes its limits from: the baseline
    years and the year itself, not the months after it.

    >>> m = pd.DataFrame({"month": pd.period_range("2016-04", "2022-03", freq="M"), "n": 1})
    >>> w = assessment_window(m, "2020/21")
    >>> str(w["month"].iloc[0]), str(w["month"].iloc[-1]), len(w)
    ('2017-04', '2021-03', 48)
    """
    _check_frame(data, "data")
    _check_columns(data, [date], what="data")
    target = FinancialYear.parse(year)
    first = target.baseline(baseline_years)[0].start
    months = _months(data, date)
    keep = ((months >= first) & (months <= target.months[-1].to_timestamp())).to_numpy()
    out = data[keep].copy()
    out.attrs = copy.deepcopy(data.attrs)
    record(out, "assessment_window", {"year": str(target), "first": f"{first:%Y-%m}",
                                      "last": str(target.months[-1])})
    return out


def rolling_12(
    data: pd.DataFrame,
    *,
    value: str = "n",
    date: str = "month",
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rolling 12-month totals of a monthly series.

    Parameters
    ----------
    data
        A monthly table (e.g. from :func:`monthly`). Not modified.
    value, date
        The monthly value and month columns.
    by
        Column(s) giving separate series.

    Returns
    -------
    pandas.DataFrame
        The input plus ``rolling_12``: the total of the 12 months ending in each month,
        missing until 12 months are available or when any of those months is absent or
        without data (a missing value: never read as 0).

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"month": pd.period_range("2020-01", periods=13, freq="M"), "n": 1})
    >>> rolling_12(m)["rolling_12"].tolist()[10:]
    [nan, 12.0, 12.0]
    """
    by_cols, x = _monthly_values(data, value, date, by)
    work = pd.DataFrame({"_m": _months(data, date).to_numpy(),
                         "_x": x.astype("float64").to_numpy()})
    for c in by_cols:
        work[c] = data[c].to_numpy()
    result = np.full(len(data), np.nan)
    groups = work.groupby(by_cols, dropna=False, observed=True, sort=False) if by_cols else [((), work)]
    for key, g in groups:
        _regular(g, _label(key, by_cols))
        s = g.set_index("_m")["_x"].sort_index()
        full = s.reindex(pd.date_range(s.index.min(), s.index.max(), freq="MS"))
        roll = full.rolling(12, min_periods=12).sum()
        result[g.index.to_numpy()] = roll.reindex(g["_m"]).to_numpy()
    out = data.copy()
    out["rolling_12"] = result
    out.attrs = copy.deepcopy(data.attrs)  # keep the input's record, never share it
    record(out, "rolling_12", {"value": value, "window": "12 months ending in the month",
                               "gaps": "a total including a month without data is missing"})
    return out
