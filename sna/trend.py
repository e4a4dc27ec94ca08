"""Volume and trend: monthly series, change against a baseline, seasonality, interrupted time series.

- :func:`monthly` -- a complete monthly series of counts (0 for a month without events,
  missing for a month without data); :func:`assessment_window` -- its baseline years and
  assessment year;
- :func:`rolling_12` -- rolling 12-month totals;
- :func:`compare_periods` -- the board report's "Table A": a financial year against the annual
  average of a multi-year baseline, with an exact conditional Poisson test and interval;
  :func:`compare_previous` -- the same against the previous year;
- :func:`nb_year_effect` -- a negative-binomial model of monthly counts (year effect + month of
  year) for over-dispersed counts;
- :func:`stl` -- seasonal-trend decomposition (statsmodels STL, period 12);
- :func:`its` -- interrupted time series (segmented Poisson / negative-binomial regression)
  with the counterfactual; :func:`its_effects` tabulates its level and slope changes.

Inputs are either **incidents** (one row per event, with a ``month`` or date column and/or an
``fy`` label, as the canonical incidents table) or **pre-counted** tables (a count column,
``n`` by default). Every function returns a new DataFrame and records its choices in
``result.attrs["sna"]``.

Examples
--------
>>> import pandas as pd
>>> from sna.trend import compare_periods
>>> counts = pd.DataFrame({"fy": ["2017/18", "2018/19", "2019/20", "2020/21"],
...                        "n": [340, 360, 350, 300]})
>>> row = compare_periods(counts, year="2020/21", category=None).iloc[0]
>>> [round(float(row[c]), 5) for c in ("pct_change", "rate_ratio", "p_value")]
[-14.28571, 0.85714, 0.01839]
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._log import record
from .errors import AnalysisInputError
from .periods import FinancialYear, fy_start_year, months_of, parse_dates
from ._validate import as_list as _as_list
from ._validate import check_columns as _check_columns
from ._validate import check_frame as _check_frame
from ._validate import confidences as _confidences
from ._validate import timestamps as _timestamps

__all__ = [
    "LOCKDOWNS",
    "DEFAULT_INTERRUPTION",
    "monthly",
    "assessment_window",
    "gap_note",
    "rolling_12",
    "compare_periods",
    "compare_previous",
    "table_a_measures",
    "KNIFE_MEASURES",
    "table_a",
    "TABLE_A_REASONS",
    "nb_year_effect",
    "stl",
    "its",
    "its_effects",
    "its_diagnostics",
    "newey_west_lags",
    "interruption_month",
]

logger = logging.getLogger("sna")

#: The start of each national COVID-19 lockdown in England.
LOCKDOWNS: dict[str, pd.Timestamp] = {
    "First lockdown": pd.Timestamp("2020-03-23"),
    "Second lockdown": pd.Timestamp("2020-11-05"),
    "Third lockdown": pd.Timestamp("2021-01-06"),
}

#: Default interruption of :func:`its`: the first national lockdown, 23 March 2020.
DEFAULT_INTERRUPTION = "2020-03-23"

#: Counts below which a change is flagged unreliable.
MIN_RELIABLE_COUNT = 10

#: Months of the first pandemic year; an STL window containing any of them is fitted robustly.
_PANDEMIC = (pd.Timestamp("2020-03-01"), pd.Timestamp("2021-03-31"))


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------


def _months(data: pd.DataFrame, date: str) -> pd.Series:
    """The first of the month of each row, as datetime64."""
    return _timestamps(data[date], date).dt.to_period("M").dt.to_timestamp()


def _counts(data: pd.DataFrame, count: str | None) -> pd.Series:
    """Each row's count: the ``count`` column when present, else 1 (one row per event)."""
    if count is not None and count in data.columns:
        s = data[count]
        if not pd.api.types.is_numeric_dtype(s) or s.dtype == bool:
            raise AnalysisInputError(
                f"count column {count!r} must hold numbers, found dtype {s.dtype}", column=count
            )
        s = s.astype("float64")
        if s.isna().any():
            raise AnalysisInputError(
                f"count column {count!r} has {int(s.isna().sum())} missing value(s); use 0 for "
                "no events or drop the rows",
                column=count,
            )
        if (s < 0).any():
            first = s.index[s < 0][0]
            raise AnalysisInputError(
                f"count column {count!r} has negative counts (first at index {first!r}); "
                "counts of events cannot be negative",
                column=count,
            )
        return s
    return pd.Series(1.0, index=data.index)


def _fy_years(data: pd.DataFrame, fy: str, date: str) -> pd.Series:
    """Financial-year start year of each row, from the ``fy`` label or the ``date`` column."""
    if fy in data.columns:
        labels = data[fy]
        if labels.isna().any():
            raise AnalysisInputError(
                f"column {fy!r} has {int(labels.isna().sum())} missing financial year(s)",
                column=fy,
            )
        parsed = {v: FinancialYear.parse(v).start_year for v in pd.unique(labels)}
        return labels.map(parsed).astype("int64")
    if date in data.columns:
        years = fy_start_year(_months(data, date))
        return years.astype("int64").set_axis(data.index)
    raise AnalysisInputError(
        f"data needs a financial-year column {fy!r} or a date column {date!r} (columns are: "
        f"{', '.join(map(str, data.columns))}); pass fy= or date= naming yours"
    )


def _label(key, by_cols) -> str:
    if not by_cols:
        return "all"
    return " / ".join(map(str, key if isinstance(key, tuple) else (key,)))


def _population_by_year(population, years: list[int], by_cols: list[str], groups: pd.DataFrame):
    """Resolve ``population`` to a frame: group columns, ``_fy``, ``_pop``."""
    if isinstance(population, pd.DataFrame):
        _check_columns(population, ["fy", "population"], what="population")
        pop = population.copy()
        pop["_fy"] = pop["fy"].map(lambda v: FinancialYear.parse(v).start_year)
        keys = [c for c in by_cols if c in pop.columns]
        pop = pop.groupby([*keys, "_fy"], dropna=False, observed=True)["population"].sum()
        pop = pop.rename("_pop").reset_index()
    elif isinstance(population, (Mapping, pd.Series)):
        items = population.items()
        pop = pd.DataFrame(
            [(FinancialYear.parse(k).start_year, float(v)) for k, v in items],
            columns=["_fy", "_pop"],
        )
        keys = []
    elif np.isscalar(population) and not isinstance(population, (str, bool)):
        pop = pd.DataFrame({"_fy": years, "_pop": float(population)})
        keys = []
    else:
        raise AnalysisInputError(
            "population must be a number, a mapping of financial year -> population, or a "
            "DataFrame with columns 'fy' and 'population' (and optionally the by= columns)"
        )
    grid = groups.merge(pd.DataFrame({"_fy": years}), how="cross")
    out = grid.merge(pop, on=[*keys, "_fy"], how="left")
    if out["_pop"].isna().any():
        miss = out[out["_pop"].isna()].iloc[0]
        where = ", ".join(f"{k}={miss[k]!r}" for k in keys)
        raise AnalysisInputError(
            f"population is missing for {FinancialYear(int(miss['_fy']))}"
            + (f" ({where})" if where else "")
            + "; give a population for every year compared"
        )
    if (out["_pop"] <= 0).any():
        raise AnalysisInputError("population must be positive for every year compared")
    return out[[*keys, "_fy", "_pop"]].drop_duplicates(), keys


def _exact_poisson_ratio(x1, x0, e1, e0, confidence: float):
    """Exact conditional test and Clopper-Pearson interval of (x1/e1)/(x0/e0)."""
    x1 = np.asarray(x1, dtype=float)
    x0 = np.asarray(x0, dtype=float)
    e1 = np.broadcast_to(np.asarray(e1, dtype=float), x1.shape)
    e0 = np.broadcast_to(np.asarray(e0, dtype=float), x1.shape)
    a = 1 - confidence
    rr = np.full(x1.shape, np.nan)
    lo = np.full(x1.shape, np.nan)
    hi = np.full(x1.shape, np.nan)
    p = np.full(x1.shape, np.nan)
    for i in np.ndindex(x1.shape):
        k, m = x1[i], x0[i]
        n = k + m
        if n == 0:
            p[i] = 1.0
            continue
        ratio = e0[i] / e1[i]
        pi = e1[i] / (e1[i] + e0[i])
        rr[i] = (k / m) * ratio if m > 0 else np.inf
        p[i] = stats.binomtest(int(k), int(n), pi, alternative="two-sided").pvalue
        pl = stats.beta.ppf(a / 2, k, m + 1) if k > 0 else 0.0
        pu = stats.beta.ppf(1 - a / 2, k + 1, m) if m > 0 else 1.0
        lo[i] = pl / (1 - pl) * ratio
        hi[i] = pu / (1 - pu) * ratio if pu < 1 else np.inf
    return rr, lo, hi, p


# --------------------------------------------------------------------------------------------
# monthly series
# --------------------------------------------------------------------------------------------


def _month_starts(values, what: str) -> pd.DatetimeIndex:
    """Months ("2020-04", Periods, dates) as first-of-month timestamps."""
    try:
        if isinstance(values, (str, pd.Period, pd.Timestamp)):
            values = [values]
        out = []
        for v in values:
            if isinstance(v, str):
                v = parse_dates(pd.Series([v])).iloc[0]
                if pd.isna(v):
                    raise ValueError("not a date")
            p = v.asfreq("M") if isinstance(v, pd.Period) else pd.Timestamp(v).to_period("M")
            out.append(p.to_timestamp())
        return pd.DatetimeIndex(out)
    except (TypeError, ValueError) as exc:
        raise AnalysisInputError(f"{what}: cannot read the months ({exc}); give months as "
                                 "'2020-04', monthly Periods or dates") from None


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


def _regular(g: pd.DataFrame, label: str) -> None:
    m = g["_m"]
    if m.duplicated().any():
        raise AnalysisInputError(
            f"series {label!r} has more than one row for {m[m.duplicated()].iloc[0]:%Y-%m}; "
            "aggregate first (sna.trend.monthly) or pass by= to separate the series"
        )


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
    _check_frame(data, "data")
    by_cols = _as_list(by)
    _check_columns(data, [value, date, *by_cols], what="data")
    x = data[value]
    if not pd.api.types.is_numeric_dtype(x):
        raise AnalysisInputError(f"value column {value!r} must hold numbers", column=value)
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


# --------------------------------------------------------------------------------------------
# change against a baseline
# --------------------------------------------------------------------------------------------


_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"]


def _like_for_like(data, years, covered, count, date) -> tuple[pd.Series, dict]:
    """Rows to keep so that every year compared has the same months with data.

    A month without data in any year compared (not in ``covered``, or a missing count in
    pre-counted data) removes that calendar month from every year.
    """
    keep = pd.Series(True, index=data.index)
    na_count = (data[count].isna() if count is not None and count in data.columns
                else pd.Series(False, index=data.index))
    if covered is None and not na_count.any():
        return keep, {}
    if date not in data.columns:
        raise AnalysisInputError(
            f"months without data can only be left out with a month column ({date!r}); "
            "pass date= naming it")
    window = months_of([FinancialYear(y) for y in years]).to_timestamp()
    month = _months(data, date)
    gaps = set(month[na_count])
    if covered is not None:
        gaps |= set(window.difference(_month_starts(covered, "covered")))
    gaps = sorted(g for g in gaps if g in set(window))
    keep &= ~na_count
    if not gaps:
        return keep, {}
    drop = sorted({g.month for g in gaps}, key=lambda m: (m - 4) % 12)
    if len(drop) == 12:
        raise AnalysisInputError(
            "no calendar month has data in every year compared (months without data: "
            f"{', '.join(f'{g:%Y-%m}' for g in gaps[:6])}...); the comparison is not available")
    keep &= ~month.dt.month.isin(drop)
    note = {"missing_months": [f"{g:%Y-%m}" for g in gaps],
            "excluded_calendar_months": [_MONTH_NAMES[m - 1] for m in drop],
            "months_compared": 12 - len(drop)}
    logger.warning("months without data %s: %s left out of every year compared",
                   note["missing_months"], ", ".join(note["excluded_calendar_months"]))
    return keep, note


def _annual_table(data, *, year, k, by_cols, category, count, date, fy, total, covered=None):
    _check_frame(data, "data")
    cat_cols = [category] if category is not None else []
    _check_columns(data, [*by_cols, *cat_cols], what="data")
    target = FinancialYear.parse(year)
    base = target.baseline(k)
    years = [b.start_year for b in base] + [target.start_year]
    rows, gaps = _like_for_like(data, years, covered, count, date)
    data_all, data = data, data[rows.to_numpy()]
    work = data[[*by_cols, *cat_cols]].copy()
    work["_fy"] = _fy_years(data, fy, date).to_numpy()
    work["_n"] = _counts(data, count).to_numpy()
    present = set(work["_fy"].unique())
    missing = [str(FinancialYear(y)) for y in years if y not in present]
    if missing:
        have = sorted(present)
        span = f"{FinancialYear(have[0])} to {FinancialYear(have[-1])}" if have else "nothing"
        raise AnalysisInputError(
            f"no data for {', '.join(missing)} (needed: {FinancialYear(years[0])} to {target}; "
            f"the data cover {span}); add those years or shorten baseline_years"
        )
    incomplete = {}
    if date in data.columns and not gaps:  # months known: say which years are not complete
        in_window = work["_fy"].isin(years).to_numpy()
        months = _months(data, date)[in_window]
        per_year = months.groupby(work["_fy"].to_numpy()[in_window]).nunique()
        incomplete = {str(FinancialYear(int(y))): int(c) for y, c in per_year.items() if c < 12}
        if incomplete and covered is None:
            logger.warning("years with fewer than 12 months of data: %s", incomplete)
        elif incomplete:  # covered months without events: genuinely none
            incomplete = {}
    work = work[work["_fy"].isin(years)]
    keys = [*by_cols, *cat_cols]
    counts = work.groupby([*keys, "_fy"], dropna=False, observed=True)["_n"].sum()
    groups = data_all[by_cols].drop_duplicates() if by_cols else pd.DataFrame(index=[0])
    cats = pd.DataFrame({category: pd.unique(data_all[category])}) if cat_cols else None
    if cats is not None:
        if cats[category].isna().any():
            cats = cats.dropna()
            logger.warning("rows with no %r are counted in no category", category)
        cats = cats.sort_values(category)
    grid = groups.merge(cats, how="cross") if cats is not None else groups
    grid = grid.merge(pd.DataFrame({"_fy": years}), how="cross")
    if not keys:
        grid = grid.drop(columns=[c for c in grid.columns if c != "_fy"])
    idx = pd.MultiIndex.from_frame(grid[[*keys, "_fy"]]) if keys else pd.Index(grid["_fy"])
    grid["_n"] = counts.reindex(idx, fill_value=0).to_numpy() if keys else \
        counts.reindex(grid["_fy"], fill_value=0).to_numpy()
    if total is not None:
        if not cat_cols:
            raise AnalysisInputError("total= needs category= (the rows to add up)")
        tot = grid.groupby([*by_cols, "_fy"], dropna=False, observed=True)["_n"].sum().reset_index()
        tot[category] = total
        if isinstance(grid[category].dtype, pd.CategoricalDtype):
            grid[category] = grid[category].astype(object)
        grid = pd.concat([tot[grid.columns], grid], ignore_index=True)
    if by_cols:  # groups in order, the total row first within each (stable sort)
        grid = grid.sort_values(by_cols, kind="stable").reset_index(drop=True)
    return grid, target, base, years, keys, groups, {"incomplete": incomplete, **gaps}


#: Table A's knife measures: name and the police category they are limited to (None: all).
KNIFE_MEASURES: tuple[tuple[str, str | None], ...] = (
    ("Knife crime (any offence involving a knife)", None),
    ("Knife-enabled robbery", "Robbery"),
    ("Knife possession", "Possession of weapons"),
)


#: Why Table A's defaults are what they are (for the methods page and the caption).
TABLE_A_REASONS: dict[str, str] = {
    "homicide": "homicide counts within violence against the person, as in the ONS offence "
                "group of police recorded crime, so the row compares with national figures",
    "offence": "a crime counts in the year of its offence date: the assessment asks when "
               "violence happened, and offences reported late (sexual offences especially) "
               "stay in the year they happened",
    "recorded": "a crime counts in the year it was recorded, as in ONS police recorded crime "
                "statistics",
}


def _by_recorded_date(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``fy`` and ``month`` from the recorded date (the offence date where it is missing)."""
    if "recorded_date" not in frame.columns or (len(frame) and frame["recorded_date"].isna().all()):
        raise AnalysisInputError(
            "Table A by recorded date needs the police source's recorded_date column (map it "
            "in sources.<name>.columns), or set definition.table_a.date: offence",
            key="definition.table_a.date")
    rec = pd.to_datetime(frame["recorded_date"])
    missing = int(rec.isna().sum())
    month = rec.dt.to_period("M").dt.to_timestamp()
    out = frame.copy()
    if "month" in out.columns:
        out["month"] = month.where(rec.notna(), out["month"])
    labels = [None if pd.isna(y) else str(FinancialYear(int(y))) for y in fy_start_year(month)]
    out["fy"] = pd.Series(labels, index=out.index, dtype="string").where(
        rec.notna(), out["fy"].astype("string"))
    return out, missing


def table_a_measures(
    serious: pd.DataFrame,
    records: pd.DataFrame,
    categories: Sequence[str],
    *,
    knife: bool = False,
    homicide_in_violence_against_the_person: bool = True,
    date: Literal["offence", "recorded"] = "offence",
) -> pd.DataFrame:
    """The records under each measure of the board report's Table A, for :func:`compare_periods`.

    A record counts under every measure it meets: "All serious violence" (``serious``, the
    local definition), each police category in ``categories`` (every record of it, in that
    order, left out when there are none; "Violence against the person" with homicide, as the
    ONS offence group, unless told otherwise), and with ``knife`` the three knife measures
    of :data:`KNIFE_MEASURES` (records whose ``knife`` flag is true).

    Parameters
    ----------
    serious
        The serious-violence records.
    records
        Every police record (with ``category``, and ``knife`` when ``knife`` is true).
    categories
        The police categories shown as their own measures.
    knife
        Add the knife measures (the source has a knife flag).
    homicide_in_violence_against_the_person
        Count homicide within "Violence against the person" (default, as the ONS offence
        group; :confval:`definition.table_a.homicide_in_violence_against_the_person`).
    date
        "offence" (default): each record's ``fy`` / ``month`` as cleaned, from the offence
        date; "recorded": from its ``recorded_date`` (the offence date where that is
        missing, counted in ``attrs``) (:confval:`definition.table_a.date`).

    Returns
    -------
    pandas.DataFrame
        The records, stacked, with a ``measure`` column; measures in Table A's order.
        ``attrs["sna"]["table_a_measures"]`` records both choices, their reasons and a
        ``definition_note`` sentence for the table's caption.

    Notes
    -----
    Defaults and reasons (:data:`TABLE_A_REASONS`): homicide within violence against the
    person, as the ONS offence group, so the row compares with national figures; the offence
    date, because the assessment asks when violence happened and offences reported late
    (sexual offences especially) stay in the year they happened -- ONS statistics count by
    the recorded date, which ``date="recorded"`` gives. On the demo, sexual offences
    change by -28.0% by offence date and -24.2% by recorded date.

    Examples
    --------
    >>> recs = pd.DataFrame({"category": ["Robbery", "Robbery", "Sexual offences"],
    ...                      "knife": [True, False, None]})
    >>> long = table_a_measures(recs.iloc[:1], recs, ["Robbery", "Public order"], knife=True)
    >>> long["measure"].value_counts(sort=False).to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'All serious violence': 1, 'Robbery': 2, 'Knife crime (any offence involving a knife)': 1,
     'Knife-enabled robbery': 1}
    """
    if date not in ("offence", "recorded"):
        raise AnalysisInputError(f"date must be 'offence' or 'recorded', got {date!r}",
                                 key="definition.table_a.date")
    missing = 0
    if date == "recorded":
        serious, _ = _by_recorded_date(serious)
        records, missing = _by_recorded_date(records)
    vap = "Violence against the person"
    out = [serious.assign(measure="All serious violence")]
    for cat in categories:
        cats = [cat, "Homicide"] if cat == vap and homicide_in_violence_against_the_person \
            else [cat]
        part = records[records["category"].isin(cats)]
        if len(part):
            out.append(part.assign(measure=cat))
    if knife:
        flagged = records[records["knife"].fillna(False).astype(bool)]
        for name, cat in KNIFE_MEASURES:
            part = flagged if cat is None else flagged[flagged["category"] == cat]
            out.append(part.assign(measure=name))
    long = pd.concat(out, ignore_index=True)
    long.attrs = {}
    with_homicide = homicide_in_violence_against_the_person and vap in categories
    note = ("Offences are counted in the financial year of their "
            + ("offence date (when the violence happened; ONS statistics use the recorded date)"
               if date == "offence" else "recorded date, as ONS statistics")
            + ("; violence against the person includes homicide, as the ONS offence group "
               "does, so the row compares with national figures." if with_homicide else
               "; violence against the person excludes homicide (the ONS offence group "
               "includes it)." if vap in categories else "."))
    record(long, "table_a_measures", {
        "homicide_in_violence_against_the_person": bool(homicide_in_violence_against_the_person),
        "date": date, "records_without_recorded_date": missing,
        "reasons": {"homicide": TABLE_A_REASONS["homicide"], "date": TABLE_A_REASONS[date]},
        "definition_note": note.strip(),
    })
    return long


def _period_note(months: dict) -> str:
    """A sentence for a caption: which months the comparison leaves out, and why."""
    if months.get("excluded_calendar_months"):
        names = months["excluded_calendar_months"]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return (f"{listed} {'is' if len(names) == 1 else 'are'} left out of every year "
                f"compared because the data lack {', '.join(months['missing_months'])}: "
                f"each year counts the same {months['months_compared']} months.")
    if months.get("incomplete"):
        return ("Years with fewer than 12 months of data: "
                + ", ".join(f"{y} ({n} months)" for y, n in months["incomplete"].items()) + ".")
    return ""


def _exposures(population, years, k, by_cols, groups, out):
    """Exposure of the year (e1) and of the baseline years together (e0) for each row."""
    if population is None:
        return np.ones(len(out)), np.full(len(out), float(k))
    popgroups = groups[by_cols] if by_cols else pd.DataFrame(index=[0])
    pop, pkeys = _population_by_year(population, years, by_cols, popgroups)
    if pkeys:
        pw = pop.pivot_table(index=pkeys, columns="_fy", values="_pop", aggfunc="sum")
        aligned = pw.reindex(pd.MultiIndex.from_frame(out[pkeys]) if len(pkeys) > 1
                             else pd.Index(out[pkeys[0]]))
        pvals = aligned[years].to_numpy(dtype=float)
    else:
        pvals = np.tile(pop.drop_duplicates("_fy").set_index("_fy")["_pop"]
                        .reindex(years).to_numpy(dtype=float), (len(out), 1))
    return pvals[:, k], pvals[:, :k].sum(axis=1)


def compare_periods(
    data: pd.DataFrame,
    *,
    year,
    baseline_years: int = 3,
    by: str | Sequence[str] | None = None,
    category: str | None = "category",
    population=None,
    count: str = "n",
    date: str = "month",
    fy: str = "fy",
    total: str | None = None,
    confidence: float = 0.95,
    multiplier: float = 1_000,
    min_count: int = MIN_RELIABLE_COUNT,
    covered=None,
) -> pd.DataFrame:
    """A financial year against the annual average of the years before it ("Table A").

    Parameters
    ----------
    data
        Incidents (one row per event, with ``fy`` or a ``month``/date column) or a
        pre-counted table with a ``count`` column and ``fy`` or ``month``. Not modified.
    year
        The financial year to compare ("2020/21", 2020 or a FinancialYear).
    baseline_years
        Number of years before ``year`` that make the baseline (default 3: for 2020/21,
        April 2017 - March 2020).
    by
        Column(s) giving separate areas or groups (e.g. ``partnership``).
    category
        Column whose values are the table's rows (default "category"); None for one row
        per ``by`` group.
    population
        None (compare counts), a number, a mapping of financial year -> population, or a
        DataFrame with ``fy``, ``population`` and optionally ``by`` columns. With a
        population the comparison is of rates (exposure = population-years).
    count
        Count column of pre-counted data (default "n"); if absent, each row is one event.
    date, fy
        The month/date and financial-year columns; ``fy`` is used when present.
    total
        If given, the label of an extra row (per ``by`` group) adding up all categories,
        e.g. "Overall serious violence". Meaningful when categories do not overlap.
    confidence
        Level of the rate-ratio interval; ``significant`` is ``p_value < 1 - confidence``.
    multiplier
        Rates per this many people, when ``population`` is given (default 1,000).
    min_count
        Changes on counts below this (current or baseline mean) are flagged not reliable.
    covered
        The months the source supplied data for (its QualityLog ``months``). A month of
        the compared years without data removes that calendar month from every year, so
        the years are compared like for like (e.g. April-November and January-March when
        a December is missing; April-September when the year has six months so far).
        Pre-counted data with a missing count in a month are treated the same way. None:
        every month is taken as covered (a year short of months is only logged).

    Returns
    -------
    pandas.DataFrame
        One row per ``by`` group and category: the ``by`` and ``category`` columns,
        ``current`` (count in ``year``), ``baseline_mean``, ``baseline_min``,
        ``baseline_max`` (annual counts over the baseline years), ``pct_change``,
        ``rate_ratio``, ``rr_lower``, ``rr_upper``, ``p_value``, ``significant``,
        ``reliable``; with a population also ``current_rate`` and ``baseline_rate`` (per
        ``multiplier``). ``attrs["sna"]["compare_periods"]`` holds the years, the test, any
        years with fewer than 12 months of data (``incomplete_years``) and, when months
        without data were left out, ``missing_months``, ``excluded_calendar_months`` and
        ``months_compared``; its ``period_note`` says so in a sentence for a caption.

    Raises
    ------
    AnalysisInputError
        Missing columns, negative or missing counts, a year with no data, a missing or
        non-positive population, or non-integer counts.

    Notes
    -----
    With ``X₁`` events in the year (exposure ``E₁``: 1 year or its population) and ``X₀``
    over ``k`` baseline years (exposure ``E₀``), ``RR = (X₁/E₁)/(X₀/E₀)`` and
    ``% change = (RR − 1) × 100``, which for counts is ``(X₁ − B)/B × 100`` with
    ``B = X₀/k``. Conditionally on ``X₁ + X₀``, ``X₁ ~ Binomial(X₁ + X₀, E₁/(E₁ + E₀))``
    under no change: the two-sided p-value is the exact binomial test and the interval is
    Clopper-Pearson on that proportion, mapped to ``RR = p/(1−p)·E₀/E₁`` (as statsmodels
    ``test_poisson_2indep(method="exact-cond")``; Breslow & Day 1987). Crime counts are
    over-dispersed, so the test is anti-conservative for large counts: read it with the
    baseline's year-to-year range (``baseline_min``/``baseline_max``) or use
    :func:`nb_year_effect`.

    Examples
    --------
    >>> import pandas as pd
    >>> counts = pd.DataFrame({"fy": ["2017/18", "2018/19", "2019/20", "2020/21"] * 2,
    ...                        "category": ["Robbery"] * 4 + ["Homicide"] * 4,
    ...                        "n": [340, 360, 350, 300, 4, 6, 5, 3]})
    >>> t = compare_periods(counts, year="2020/21", total="All")
    >>> t[["category", "current", "baseline_mean", "pct_change", "significant", "reliable"]]
       category  current  baseline_mean  pct_change  significant  reliable
    0       All      303          355.0  -14.647887         True      True
    1  Homicide        3            5.0  -40.000000        False     False
    2   Robbery      300          350.0  -14.285714         True      True
    """
    by_cols = _as_list(by)
    (confidence,) = _confidences(confidence)
    grid, target, base, years, keys, groups, months = _annual_table(
        data, year=year, k=baseline_years, by_cols=by_cols, category=category, count=count,
        date=date, fy=fy, total=total, covered=covered)
    if (grid["_n"] % 1 != 0).any():
        raise AnalysisInputError(
            f"counts in {count!r} must be whole numbers for the exact Poisson test"
        )
    k = len(base)
    rows = [*by_cols, *([category] if category is not None else [])]
    if rows:
        wide = grid.pivot_table(index=rows, columns="_fy", values="_n", aggfunc="sum",
                                dropna=False, observed=True, sort=False)
        wide = wide.reindex(pd.MultiIndex.from_frame(grid[rows].drop_duplicates())
                            if len(rows) > 1 else pd.Index(grid[rows[0]].drop_duplicates()))
        out = wide.index.to_frame(index=False)
        vals = wide[years].to_numpy(dtype=float)
    else:
        out = pd.DataFrame(index=[0])
        vals = grid.set_index("_fy")["_n"].reindex(years).to_numpy(dtype=float)[None, :]
    baseline_counts = vals[:, :k]
    x1 = vals[:, k]
    x0 = baseline_counts.sum(axis=1)
    out["current"] = x1.astype("int64")
    out["baseline_mean"] = x0 / k
    out["baseline_min"] = baseline_counts.min(axis=1).astype("int64")
    out["baseline_max"] = baseline_counts.max(axis=1).astype("int64")
    e1, e0 = _exposures(population, years, k, by_cols, groups, out)
    rr, lo, hi, p = _exact_poisson_ratio(x1, x0, e1, e0, confidence)
    if population is not None:
        out["current_rate"] = x1 / e1 * multiplier
        out["baseline_rate"] = x0 / e0 * multiplier
    out["pct_change"] = (rr - 1) * 100
    out["rate_ratio"] = rr
    out["rr_lower"] = lo
    out["rr_upper"] = hi
    out["p_value"] = p
    out["significant"] = p < (1 - confidence)
    out["reliable"] = (x1 >= min_count) & (x0 / k >= min_count)
    record(out, "compare_periods", {
        "year": str(target), "baseline": [str(b) for b in base],
        "baseline_label": f"{base[0]} to {base[-1]}" if k > 1 else str(base[0]),
        "exposure": "years" if population is None else "population-years",
        "test": "exact conditional Poisson test (binomial), two-sided",
        "interval": "Clopper-Pearson on the conditional binomial proportion",
        "confidence": confidence, "min_count": int(min_count),
        "multiplier": multiplier if population is not None else None,
        "total_row": total, "incomplete_years": months["incomplete"],
        **{k: v for k, v in months.items() if k != "incomplete"},
        "period_note": _period_note(months),
    })
    return out


def compare_previous(
    data: pd.DataFrame,
    *,
    year,
    by: str | Sequence[str] | None = None,
    category: str | None = "category",
    population=None,
    count: str = "n",
    date: str = "month",
    fy: str = "fy",
    total: str | None = None,
    confidence: float = 0.95,
    multiplier: float = 1_000,
    min_count: int = MIN_RELIABLE_COUNT,
    covered=None,
) -> pd.DataFrame:
    """A financial year against the previous one.

    :func:`compare_periods` with ``baseline_years=1``; the same columns plus ``previous``
    (the previous year's count, equal to ``baseline_mean``).

    Examples
    --------
    >>> import pandas as pd
    >>> counts = pd.DataFrame({"fy": ["2019/20", "2020/21"], "n": [350, 300]})
    >>> row = compare_previous(counts, year="2020/21", category=None).iloc[0]
    >>> int(row["previous"]), int(row["current"]), round(float(row["pct_change"]), 1)
    (350, 300, -14.3)
    >>> bool(row["significant"])
    False
    """
    out = compare_periods(
        data, year=year, baseline_years=1, by=by, category=category, population=population,
        count=count, date=date, fy=fy, total=total, confidence=confidence,
        multiplier=multiplier, min_count=min_count, covered=covered)
    out.insert(list(out.columns).index("current") + 1, "previous",
               out["baseline_mean"].astype("int64"))
    meta = out.attrs["sna"].pop("compare_periods")
    record(out, "compare_previous", meta)
    return out


# --------------------------------------------------------------------------------------------
# negative-binomial year effect
# --------------------------------------------------------------------------------------------


def _fit_count_model(y, X, offset, family: str):
    """Fit NB2 (alpha by maximum likelihood) or quasi-Poisson; return (params, cov, alpha, method, notes)."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

    notes = []
    if family == "negbin":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                nb = sm.NegativeBinomial(y, X, offset=offset, loglike_method="nb2")
                res = nb.fit(disp=0, maxiter=500, method="bfgs")
                if res.params[-1] > 1e-6:  # Newton from alpha near 0 diverges, slowly
                    res = nb.fit(start_params=res.params, disp=0, maxiter=100,
                                 method="newton")
                alpha = float(res.params[-1])
                ok = bool(res.mle_retvals.get("converged", True)) and np.isfinite(alpha)
            except (np.linalg.LinAlgError, ValueError):
                ok, alpha = False, np.nan
        for w in caught:
            if issubclass(w.category, (ConvergenceWarning, HessianInversionWarning, RuntimeWarning)):
                notes.append(str(w.message).splitlines()[0])
        if ok and alpha > 1e-8:
            glm = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=alpha), offset=offset)
            fit = glm.fit()
            return fit, alpha, "negative binomial (NB2, alpha by maximum likelihood)", notes
        notes.append("negative binomial did not converge or showed no over-dispersion; "
                     "quasi-Poisson used instead")
    return _quasi_poisson(y, X, offset), np.nan, QUASI_POISSON, notes


#: How the quasi-Poisson scale is chosen.
QUASI_POISSON = "quasi-Poisson (Pearson chi-squared scale, not below 1)"


def _quasi_poisson(y, X, offset, **fit_kw):
    """Poisson GLM with the Pearson χ² scale, floored at 1 (under-dispersion not credited)."""
    import statsmodels.api as sm

    glm = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset)
    fit = glm.fit(scale="X2", **fit_kw)
    if fit.scale < 1:
        fit = glm.fit(scale=1.0, **fit_kw)
    return fit


def _nb_group(g, years, per_year, population, z):
    """Fit one series' year + month-of-year model; each year's effect against the baseline."""
    zero_years = [y for y in years if per_year[y] == 0]
    fit_years = [y for y in years if y not in zero_years]
    base_fit = [y for y in years[:-1] if y in fit_years]
    res = {y: (np.nan, np.nan, np.nan, np.nan) for y in years}
    if not base_fit:
        method = "not fitted: no events in the baseline years"
        return res, {"method": method}, np.nan, method
    gg = g[g["_fy"].isin(fit_years)]
    ref = fit_years[0]
    cols, names = [np.ones(len(gg))], ["const"]
    for y in fit_years[1:]:
        cols.append((gg["_fy"] == y).to_numpy(dtype=float))
        names.append(f"fy{y}")
    for mth in range(1, 13):
        if mth == 4:  # April is the reference month (first of the financial year)
            continue
        cols.append((gg["_moy"] == mth).to_numpy(dtype=float))
        names.append(f"m{mth}")
    offset = np.log(gg["_pop"].to_numpy(dtype=float) / 12) if population is not None else None
    fit, alpha, method, notes = _fit_count_model(gg["n"].to_numpy(dtype=float),
                                                 np.column_stack(cols), offset, "negbin")
    params, cov = np.asarray(fit.params), np.asarray(fit.cov_params())
    for y in fit_years:
        c = np.zeros(len(params))
        if y != ref:
            c[names.index(f"fy{y}")] += 1
        for b in base_fit:
            if b != ref:
                c[names.index(f"fy{b}")] -= 1 / len(base_fit)
        est = float(c @ params)
        se = float(np.sqrt(max(c @ cov @ c, 0.0)))
        if se == 0:
            res[y] = (np.exp(est), np.exp(est), np.exp(est), 1.0 if est == 0 else 0.0)
        else:
            pv = float(2 * stats.norm.sf(abs(est / se)))
            res[y] = (np.exp(est), np.exp(est - z * se), np.exp(est + z * se), pv)
    for y in zero_years:
        res[y] = (0.0, 0.0, np.nan, np.nan)
    meta = {"alpha": None if np.isnan(alpha) else float(alpha), "method": method,
            "notes": notes, "months": int(len(gg))}
    return res, meta, alpha, method


def nb_year_effect(
    data: pd.DataFrame,
    *,
    year,
    baseline_years: int = 3,
    by: str | Sequence[str] | None = None,
    category: str | None = "category",
    population=None,
    count: str = "n",
    date: str = "month",
    confidence: float = 0.95,
    covered=None,
) -> pd.DataFrame:
    """Year effects from a negative-binomial model of monthly counts (year + month of year).

    Parameters
    ----------
    data
        Incidents or a pre-counted monthly table (``count`` column), with a ``date`` column.
        Not modified.
    year, baseline_years
        The year of interest and the number of baseline years before it (as
        :func:`compare_periods`); the model is fitted to the months of all these years.
    by, category
        Separate series (one model each), as :func:`compare_periods`.
    population
        Optional yearly population (number, mapping fy -> population, or DataFrame with
        ``fy`` and ``population``): entered as a log offset, so effects are rate ratios.
    count, date
        Count column of pre-counted data (else one row per event) and the month column.
    confidence
        Level of the intervals; ``significant`` is ``p_value < 1 - confidence``.
    covered
        The months the source supplied data for (see :func:`monthly`): the months without
        data are left out of the model (not counted as 0) and listed in ``attrs``.

    Returns
    -------
    pandas.DataFrame
        One row per series and financial year (baseline years and ``year``): the ``by``
        and ``category`` columns, ``fy``, ``n`` (the year's count), ``rate_ratio`` (the
        year against the average of the baseline years' effects), ``rr_lower``,
        ``rr_upper``, ``p_value``, ``significant``, ``alpha`` (the NB dispersion; NaN when
        quasi-Poisson was used) and ``method``.

    Notes
    -----
    ``log E[Y] = β₀ + Σ γ_y·[fy = y] + Σ δ_m·[month = m] (+ log population)`` with
    ``Y ~ NB2(μ, α)`` (Cameron & Trivedi 2013; α by maximum likelihood, then the GLM with
    that α). A year's rate ratio is ``exp(γ_y − mean of γ over the baseline years)`` with a
    Wald interval and test. The year-to-year extra variation the exact Poisson test of
    :func:`compare_periods` ignores is carried by α and the seasonality by the month terms,
    so intervals are wider and more honest. If the model does not converge or shows no
    over-dispersion, a quasi-Poisson model is used (Pearson scale, not below 1: apparent
    under-dispersion is not credited; recorded in ``method``). A year with no
    events gets a rate ratio of 0 and no interval.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> months = pd.period_range("2017-04", "2021-03", freq="M")
    >>> mu = np.where(months >= pd.Period("2020-04", "M"), 25, 30)
    >>> df = pd.DataFrame({"month": months, "n": rng.negative_binomial(10, 10 / (10 + mu))})
    >>> out = nb_year_effect(df, year="2020/21", category=None)
    >>> out[["fy", "n"]].to_dict("list")
    {'fy': ['2017/18', '2018/19', '2019/20', '2020/21'], 'n': [337, 364, 382, 318]}
    >>> round(float(out["rate_ratio"].iloc[-1]), 2), bool(out["significant"].iloc[-1])
    (0.87, False)
    """
    _check_frame(data, "data")
    by_cols = _as_list(by)
    cat_cols = [category] if category is not None else []
    _check_columns(data, [date, *by_cols, *cat_cols], what="data")
    (confidence,) = _confidences(confidence)
    target = FinancialYear.parse(year)
    base = target.baseline(baseline_years)
    years = [b.start_year for b in base] + [target.start_year]
    first = pd.Timestamp(base[0].start)
    last = pd.Timestamp(target.months[-1].to_timestamp())
    series = monthly(data, date=date, count=count if count in data.columns else None,
                     by=[*by_cols, *cat_cols] or None, start=first, end=last, covered=covered)
    no_data = series.attrs["sna"]["monthly"]["missing_months"]
    series = series[series["n"].notna()].reset_index(drop=True)
    months_seen = _months(data, date)
    if months_seen.min() > first or months_seen.max() < last:
        raise AnalysisInputError(
            f"the model needs months {first:%Y-%m} to {last:%Y-%m}; the data cover "
            f"{months_seen.min():%Y-%m} to {months_seen.max():%Y-%m}"
        )
    series["_fy"] = fy_start_year(series["month"]).astype("int64").to_numpy()
    series["_moy"] = series["month"].dt.month
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    if population is not None:
        groups = series[by_cols].drop_duplicates() if by_cols else pd.DataFrame(index=[0])
        pop, pkeys = _population_by_year(population, years, by_cols, groups)
        series = series.merge(pop, on=[*pkeys, "_fy"], how="left")
    keys = [*by_cols, *cat_cols]
    rows = []
    fits = {}
    grouped = series.groupby(keys, dropna=False, observed=True, sort=False) if keys else [((), series)]
    for key, g in grouped:
        label = _label(key, keys)
        keyvals = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        per_year = g.groupby("_fy")["n"].sum().reindex(years, fill_value=0).astype("int64")
        res, fits[label], alpha, method = _nb_group(g, years, per_year, population, z)
        for y in years:
            rr, lo, hi, pv = res[y]
            rows.append({**keyvals, "fy": str(FinancialYear(y)), "n": int(per_year[y]),
                         "rate_ratio": rr, "rr_lower": lo, "rr_upper": hi, "p_value": pv,
                         "significant": bool(pv < 1 - confidence) if np.isfinite(pv) else False,
                         "alpha": alpha, "method": method})
    out = pd.DataFrame(rows)
    out["fy"] = out["fy"].astype("string")
    record(out, "nb_year_effect", {
        "year": str(target), "baseline": [str(b) for b in base],
        "model": "log E[n] = year + month of year (+ log population); NB2",
        "effect": "year effect minus the mean of the baseline years' effects",
        "confidence": confidence, "fits": fits, "months_without_data": no_data,
    })
    return out


# --------------------------------------------------------------------------------------------
# STL
# --------------------------------------------------------------------------------------------


def stl(
    data: pd.DataFrame,
    *,
    value: str = "n",
    date: str = "month",
    by: str | Sequence[str] | None = None,
    period: int = 12,
    robust: bool | Literal["auto"] = "auto",
    seasonal: int = 7,
) -> pd.DataFrame:
    """Seasonal-trend decomposition of a monthly series by LOESS (STL).

    Parameters
    ----------
    data
        A monthly table without gaps (e.g. from :func:`monthly`). Not modified.
    value, date
        The value and month columns.
    by
        Column(s) giving separate series, each decomposed on its own.
    period
        Length of the seasonal cycle (12 for monthly data).
    robust
        Down-weight outlying months (robust LOESS). "auto" (default): robust when the
        series includes any month from March 2020 to March 2021 (the pandemic), else not.
    seasonal
        Length of the seasonal smoother (odd, at least 7).

    Returns
    -------
    pandas.DataFrame
        The input sorted by ``by`` and month (index kept) plus ``trend``, ``seasonal`` and
        ``resid`` (``value = trend + seasonal + resid``).

    Raises
    ------
    AnalysisInputError
        Fewer than two full cycles, a month absent or repeated, or a month without data
        (a missing value): STL cannot decompose a series with a gap, and a gap is never
        read as 0.

    Notes
    -----
    Cleveland et al. (1990), *J. Official Statistics* 6:3-73; statsmodels ``STL``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> m = pd.period_range("2015-04", periods=36, freq="M")
    >>> df = pd.DataFrame({"month": m, "n": 100 + 10 * np.sin(2 * np.pi * m.month / 12)})
    >>> out = stl(df)
    >>> bool(np.allclose(out.trend + out.seasonal + out.resid, out.n))
    True
    >>> out.attrs["sna"]["stl"]["robust"]
    False
    """
    from statsmodels.tsa.seasonal import STL

    _check_frame(data, "data")
    by_cols = _as_list(by)
    _check_columns(data, [value, date, *by_cols], what="data")
    x = data[value]
    if not pd.api.types.is_numeric_dtype(x):
        raise AnalysisInputError(f"value column {value!r} must hold numbers", column=value)
    work = data.copy()
    work["_m"] = _months(data, date).to_numpy()
    work = work.sort_values([*by_cols, "_m"], kind="stable")
    if x.isna().any():
        gaps = work.loc[work[value].isna(), "_m"]
        raise AnalysisInputError(
            f"the series has {len(gaps)} month(s) without data (first {gaps.iloc[0]:%Y-%m}); "
            "STL needs every month and a gap must not be read as 0, so the decomposition is "
            "not available for this series (shorten it to a stretch without gaps)",
            column=value,
        )
    if robust == "auto":
        use_robust = bool(((work["_m"] >= _PANDEMIC[0]) & (work["_m"] <= _PANDEMIC[1])).any())
    else:
        use_robust = bool(robust)
    parts = []
    groups = work.groupby(by_cols, dropna=False, observed=True, sort=False) if by_cols else [((), work)]
    for key, g in groups:
        label = _label(key, by_cols)
        _regular(g, label)
        expected = pd.date_range(g["_m"].min(), g["_m"].max(), freq="MS")
        if len(expected) != len(g):
            missing = expected.difference(pd.DatetimeIndex(g["_m"]))
            raise AnalysisInputError(
                f"series {label!r} has gaps (first missing month {missing[0]:%Y-%m}); STL needs "
                "every month: build the series with sna.trend.monthly (0 for a covered month "
                "without events; a month without data makes STL not available)"
            )
        if len(g) < 2 * period:
            raise AnalysisInputError(
                f"series {label!r} has {len(g)} months; STL needs at least {2 * period} "
                f"(two full cycles of {period})"
            )
        res = STL(g[value].to_numpy(dtype=float), period=period, seasonal=seasonal,
                  robust=use_robust).fit()
        g = g.copy()
        g["trend"], g["seasonal"], g["resid"] = res.trend, res.seasonal, res.resid
        parts.append(g)
    out = pd.concat(parts).drop(columns="_m")
    out.attrs = {}
    record(out, "stl", {"value": value, "date": date, "by": by_cols or None, "period": period, "seasonal": seasonal,
                        "robust": use_robust,
                        "robust_rule": "auto: robust when Mar 2020 - Mar 2021 is in the window"
                        if robust == "auto" else "given"})
    return out


# --------------------------------------------------------------------------------------------
# interrupted time series
# --------------------------------------------------------------------------------------------


def interruption_month(when) -> pd.Period:
    """The first month affected by an interruption on ``when``.

    A month is affected from its first day: an interruption on the 1st affects that month,
    one later in the month affects the next month (the month that contains it is mostly
    before it and stays in the pre-period). So 23 March 2020 -> April 2020.

    >>> str(interruption_month("2020-03-23")), str(interruption_month("2020-04-01"))
    ('2020-04', '2020-04')
    """
    if isinstance(when, pd.Period):
        return when.asfreq("M")
    ts = pd.Timestamp(when)
    month = ts.to_period("M")
    return month if ts.day == 1 else month + 1


def newey_west_lags(months: int) -> int:
    """Newey & West's (1994) rule for the lags of a HAC covariance: ``⌊4·(T/100)^(2/9)⌋``.

    >>> newey_west_lags(48), newey_west_lags(120)
    (3, 4)
    """
    return int(np.floor(4 * (max(int(months), 1) / 100) ** (2 / 9)))


def _its_design(work: pd.DataFrame, first_month: pd.Period, seasonal, harmonics):
    """Design matrix of the segmented regression and its time columns."""
    per = work["_m"].dt.to_period("M")
    start = per.iloc[0]
    time = np.array([(p - start).n for p in per], dtype=float)
    post = (work["_m"] >= first_month.to_timestamp()).to_numpy(dtype=float)
    time_after = np.where(post == 1, time - float((first_month - start).n), 0.0)
    cols = [np.ones(len(work)), time, post, time_after]
    names = ["const", "time", "post", "time_after"]
    moy = work["_m"].dt.month.to_numpy()
    if seasonal == "month":
        for mth in range(2, 13):
            cols.append((moy == mth).astype(float))
            names.append(f"month_{mth}")
    elif seasonal == "fourier":
        for k in range(1, int(harmonics) + 1):
            cols += [np.sin(2 * np.pi * k * moy / 12), np.cos(2 * np.pi * k * moy / 12)]
            names += [f"sin{k}", f"cos{k}"]
    return np.column_stack(cols), names, time, post, time_after


def _its_offset(work: pd.DataFrame, population, pop_col):
    if pop_col is not None:
        pop = pd.to_numeric(work[pop_col], errors="coerce").to_numpy(dtype=float)
        if np.isnan(pop).any() or (pop <= 0).any():
            raise AnalysisInputError(
                f"population column {pop_col!r} must be positive with no missing values",
                column=pop_col,
            )
        return np.log(pop)
    if population is not None:
        if not float(population) > 0:
            raise AnalysisInputError("population must be positive")
        return np.full(len(work), np.log(float(population)))
    return None


def _its_fit(y, X, offset, family, fit_kw):
    """Fit the count model; returns (fit, alpha, method, notes)."""
    import statsmodels.api as sm

    if family == "negbin":
        _, alpha, method, notes = _fit_count_model(y, X, offset, "negbin")
        if np.isnan(alpha):
            return _quasi_poisson(y, X, offset, **fit_kw), alpha, method, notes
        fam = sm.families.NegativeBinomial(alpha=alpha)
        return sm.GLM(y, X, family=fam, offset=offset).fit(**fit_kw), alpha, method, notes
    if family == "quasipoisson":
        return _quasi_poisson(y, X, offset, **fit_kw), np.nan, QUASI_POISSON, []
    fit = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(**fit_kw)
    return fit, np.nan, "Poisson", []


def _its_diagnostics(fit, family: str) -> dict:
    """Residual autocorrelation (Durbin-Watson, lag-1 correlation, Ljung-Box) and dispersion."""
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.stats.stattools import durbin_watson

    resid = np.asarray(fit.resid_pearson)
    dw = float(durbin_watson(resid))
    acf1 = float(np.corrcoef(resid[:-1], resid[1:])[0, 1]) if len(resid) > 2 else np.nan
    lags = min(12, len(resid) // 2)
    lb_p = float(acorr_ljungbox(resid, lags=[lags])["lb_pvalue"].iloc[0]) if lags >= 1 else np.nan
    if not 1.5 <= dw <= 2.5:
        logger.warning("its: Durbin-Watson %.2f: the residuals are autocorrelated", dw)
    dispersion = float(fit.scale) if family != "negbin" else float(
        np.sum(resid**2) / fit.df_resid)
    return {"durbin_watson": dw, "acf_lag1": acf1, "ljung_box_lags": lags,
            "ljung_box_p": lb_p, "dispersion": dispersion,
            "autocorrelated": bool(not 1.5 <= dw <= 2.5 or lb_p < 0.05)}


def _its_checks(data, value, date, pop_col, family, seasonal, confidence):
    _check_frame(data, "data")
    _check_columns(data, [value, date, pop_col], what="data")
    if family not in ("quasipoisson", "negbin", "poisson"):
        raise AnalysisInputError(
            f"family must be 'quasipoisson', 'negbin' or 'poisson', got {family!r}")
    if seasonal not in ("month", "fourier", None):
        raise AnalysisInputError(f"seasonal must be 'month', 'fourier' or None, got {seasonal!r}")
    (confidence,) = _confidences(confidence)
    y_all = data[value]
    if not pd.api.types.is_numeric_dtype(y_all) or (y_all.dropna() < 0).any():
        raise AnalysisInputError(
            f"value column {value!r} must hold non-negative counts (a missing value is a "
            "month without data)", column=value)
    return confidence


def its(
    data: pd.DataFrame,
    *,
    value: str = "n",
    date: str = "month",
    interruption=DEFAULT_INTERRUPTION,
    population: str | float | None = None,
    family: Literal["quasipoisson", "negbin", "poisson"] = "quasipoisson",
    seasonal: Literal["month", "fourier"] | None = "month",
    harmonics: int = 2,
    confidence: float = 0.95,
    hac_lags: int | Literal["auto"] | None = "auto",
    projection_months: int | None = 12,
) -> pd.DataFrame:
    """Interrupted time series: segmented regression of monthly counts with a counterfactual.

    Parameters
    ----------
    data
        One row per month of one series (e.g. from :func:`monthly`). Not modified. A month
        without data (a missing value) is left out of the fit, never read as 0.
    value, date
        The count and month columns.
    interruption
        The date of the interruption (default 23 March 2020, the first national lockdown)
        or a month (Period). The first affected month follows :func:`interruption_month`:
        2020-03-23 -> April 2020.
    population
        Optional: a column of ``data`` with each month's population, or one number; it
        enters as a log offset so the effects are rate ratios.
    family
        "quasipoisson" (default: Poisson with the scale from Pearson's χ², not below 1),
        "negbin" (negative binomial, α by maximum likelihood) or "poisson" (no
        over-dispersion).
    seasonal
        "month" (month-of-year terms), "fourier" (``harmonics`` sine/cosine pairs) or None.
    harmonics
        Number of Fourier pairs when ``seasonal="fourier"``.
    confidence
        Level of the intervals.
    hac_lags
        Newey-West (HAC) standard errors for autocorrelated residuals: "auto" (default)
        takes Newey & West's rule ⌊4·(T/100)^(2/9)⌋ for T months (3 for 48 months; see
        :func:`newey_west_lags`), an int that many lags, None the model-based errors
        (too narrow when the residuals are autocorrelated).
    projection_months
        How far past the first affected month the counterfactual is drawn (default 12,
        never more than the months before the interruption): beyond it the pre-period
        trend is an extrapolation the data do not support, and the counterfactual columns
        are missing. None: every month.

    Returns
    -------
    pandas.DataFrame
        The input sorted by month plus ``time`` (months from the first, 0-based), ``post``
        (1 from the first affected month), ``time_after`` (months since the first affected
        month, 0 before), ``fitted``, ``fitted_lower``, ``fitted_upper``,
        ``counterfactual``, ``counterfactual_lower``, ``counterfactual_upper`` (the model's
        projection without the interruption, within the projection window).
        ``attrs["sna"]["its"]`` holds ``level_change`` and ``slope_change`` (each
        ``rate_ratio``, ``lower``, ``upper``, ``p_value``), the ``pre_trend`` (monthly rate
        ratio), the residual diagnostics ``durbin_watson``, ``acf_lag1``,
        ``ljung_box_p`` (lag 12) and ``autocorrelated``, ``dispersion``, ``family``,
        ``cov_type`` and ``hac_lags``, the months used and without data, and the
        projection window; see :func:`its_effects` and :func:`its_diagnostics`.

    Raises
    ------
    AnalysisInputError
        Missing columns, repeated months, negative counts, or fewer than 3 months with
        data before or after the interruption, or too few months for the seasonal terms.

    Notes
    -----
    Lopez Bernal, Cummins & Gasparrini (2017), *Int. J. Epidemiology* 46:348-355:
    ``log E[Yₜ] = β₀ + β₁t + β₂Xₜ + β₃(t − T₀)Xₜ + seasonal terms + log(population)``;
    ``exp(β₂)`` is the level change (rate ratio at the first affected month against the
    counterfactual), ``exp(β₃)`` the change in the monthly trend. Over-dispersion by
    quasi-Poisson or negative binomial. Monthly crime counts are autocorrelated, which
    makes model-based intervals too narrow, so the standard errors are Newey-West (HAC,
    Bartlett kernel; Newey & West 1987, 1994) by default, computed by statsmodels
    (``cov_type="HAC"``); the residuals are checked with the Durbin-Watson statistic
    (about 2 when there is no autocorrelation) and the Ljung-Box test. Months without data
    are left out of the fit; time keeps counting through them, and the HAC lags and the
    residual checks run over the months with data in order. The counterfactual
    extrapolates the pre-interruption trend: it is a model projection, drawn only for
    ``projection_months`` after the interruption.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> m = pd.period_range("2017-04", "2021-03", freq="M")
    >>> mu = 100 * np.where(m >= pd.Period("2020-04", "M"), 0.7, 1.0)
    >>> df = pd.DataFrame({"month": m, "n": rng.poisson(mu)})
    >>> out = its(df, seasonal=None)
    >>> eff = its_effects(out)
    >>> round(float(eff.loc[eff.term == "level", "rate_ratio"].iloc[0]), 2)
    0.67
    >>> meta = out.attrs["sna"]["its"]
    >>> meta["first_affected_month"], meta["cov_type"], meta["hac_lags"]
    ('2020-04', 'HAC', 3)
    """
    pop_col = population if isinstance(population, str) else None
    confidence = _its_checks(data, value, date, pop_col, family, seasonal, confidence)
    work = data.copy()
    work["_m"] = _months(data, date).to_numpy()
    work = work.sort_values("_m", kind="stable")
    _regular(work, "data")
    first_month = interruption_month(interruption)
    X, names, time, post, time_after = _its_design(work, first_month, seasonal, harmonics)
    y = work[value].astype("float64").to_numpy()
    seen = ~np.isnan(y)
    n_pre, n_post = int((seen & (post == 0)).sum()), int((seen & (post == 1)).sum())
    if n_pre < 3 or n_post < 3:
        raise AnalysisInputError(
            f"{n_pre} month(s) with data before and {n_post} after the interruption (first "
            f"affected month {first_month}); an interrupted time series needs at least 3 on "
            "each side (preferably 12 or more)"
        )
    if seen.sum() < X.shape[1] + 4:
        raise AnalysisInputError(
            f"{int(seen.sum())} months are too few for {X.shape[1]} model terms; use more "
            "months, seasonal='fourier' or seasonal=None"
        )
    offset = _its_offset(work, population, pop_col)
    lags = newey_west_lags(int(seen.sum())) if hac_lags == "auto" else hac_lags
    fit_kw = {} if lags is None else {"cov_type": "HAC", "cov_kwds": {"maxlags": int(lags)}}
    fit, alpha, method, notes = _its_fit(
        y[seen], X[seen], None if offset is None else offset[seen], family, fit_kw)
    out = _its_frame(work, fit, X, names, offset, confidence, time, post, time_after,
                     _projection_end(projection_months, n_pre))
    meta = _its_meta(fit, names, confidence)
    record(out, "its", {
        "value": value, "date": date,
        "interruption": str(pd.Timestamp(interruption.to_timestamp() if isinstance(
            interruption, pd.Period) else interruption).date()),
        "first_affected_month": str(first_month),
        "rule": "an interruption after the 1st of a month first affects the next month",
        "family": family, "method": method, "seasonal": seasonal,
        "harmonics": int(harmonics) if seasonal == "fourier" else None,
        "offset": pop_col or (None if population is None else float(population)),
        "confidence": confidence, "cov_type": "HAC" if lags is not None else "nonrobust",
        "hac_lags": None if lags is None else int(lags),
        "hac_rule": "Newey-West 1994: floor(4 (T/100)^(2/9))" if hac_lags == "auto" else "given",
        "months_before": n_pre, "months_after": n_post,
        "months_without_data": [f"{m:%Y-%m}" for m in work.loc[~seen, "_m"]],
        "projection_months": _projection_end(projection_months, n_pre),
        "projection_end": _projection_label(first_month, projection_months, n_pre,
                                            work["_m"].iloc[-1]),
        **meta, "alpha": None if np.isnan(alpha) else float(alpha),
        **_its_diagnostics(fit, family), "notes": notes,
    })
    return out


def _projection_end(projection_months, n_pre) -> int | None:
    return None if projection_months is None else int(min(projection_months, n_pre))


def _projection_label(first_month, projection_months, n_pre, last) -> str:
    end = _projection_end(projection_months, n_pre)
    last_month = pd.Timestamp(last).to_period("M")
    if end is None:
        return str(last_month)
    return str(min(first_month + (end - 1), last_month))


def _its_meta(fit, names, confidence) -> dict:
    params, bse, pvals = (np.asarray(a) for a in (fit.params, fit.bse, fit.pvalues))
    z = stats.norm.ppf(1 - (1 - confidence) / 2)

    def effect(name):
        i = names.index(name)
        return {"rate_ratio": float(np.exp(params[i])),
                "lower": float(np.exp(params[i] - z * bse[i])),
                "upper": float(np.exp(params[i] + z * bse[i])),
                "p_value": float(pvals[i])}

    return {"level_change": effect("post"), "slope_change": effect("time_after"),
            "pre_trend": effect("time")}


def _its_frame(work, fit, X, names, offset, confidence, time, post, time_after, horizon):
    alpha_level = 1 - confidence
    pred = fit.get_prediction(X, offset=offset).summary_frame(alpha=alpha_level)
    Xcf = X.copy()
    Xcf[:, names.index("post")] = 0
    Xcf[:, names.index("time_after")] = 0
    cf = fit.get_prediction(Xcf, offset=offset).summary_frame(alpha=alpha_level)
    shown = np.ones(len(work), dtype=bool) if horizon is None else time_after < horizon
    out = work.drop(columns="_m")
    out["time"] = time.astype("int64")
    out["post"] = post.astype("int64")
    out["time_after"] = time_after.astype("int64")
    out["fitted"] = pred["mean"].to_numpy()
    out["fitted_lower"] = pred["mean_ci_lower"].to_numpy()
    out["fitted_upper"] = pred["mean_ci_upper"].to_numpy()
    for col, src in [("counterfactual", "mean"), ("counterfactual_lower", "mean_ci_lower"),
                     ("counterfactual_upper", "mean_ci_upper")]:
        out[col] = np.where(shown, cf[src].to_numpy(), np.nan)
    out.attrs = {}
    return out


def its_effects(result: pd.DataFrame) -> pd.DataFrame:
    """The level and slope changes of an :func:`its` result as a table.

    Returns
    -------
    pandas.DataFrame
        Rows ``level`` (rate ratio at the first affected month against the counterfactual),
        ``slope`` (change in the monthly rate ratio) and ``pre_trend`` (monthly rate ratio
        before); columns ``term``, ``rate_ratio``, ``lower``, ``upper``, ``p_value``,
        ``description``.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.period_range("2019-01", periods=24, freq="M")
    >>> n = [50, 52, 48, 51, 49, 50, 53, 47, 50, 51, 49, 50, 52, 48, 50, 30, 31, 29, 30,
    ...      32, 28, 30, 31, 29]
    >>> out = its(pd.DataFrame({"month": m, "n": n}), seasonal=None)
    >>> its_effects(out)[["term", "rate_ratio"]].round(2)
            term  rate_ratio
    0      level        0.61
    1      slope        1.00
    2  pre_trend        1.00
    """
    meta = result.attrs.get("sna", {}).get("its")
    if meta is None:
        raise AnalysisInputError("its_effects needs the output of sna.trend.its")
    desc = {
        "level": f"change in level at {meta['first_affected_month']} (rate ratio)",
        "slope": "change in the monthly trend after the interruption (rate ratio per month)",
        "pre_trend": "monthly trend before the interruption (rate ratio per month)",
    }
    rows = []
    for term, key in [("level", "level_change"), ("slope", "slope_change"),
                      ("pre_trend", "pre_trend")]:
        rows.append({"term": term, **meta[key], "description": desc[term]})
    return pd.DataFrame(rows)


def its_diagnostics(result: pd.DataFrame) -> pd.DataFrame:
    """The residual checks of an :func:`its` result as a table, each with how to read it.

    Returns
    -------
    pandas.DataFrame
        Rows ``Durbin-Watson``, ``lag-1 autocorrelation``, ``Ljung-Box p-value``,
        ``dispersion``, ``standard errors`` and ``months used``; columns ``check``,
        ``value`` (text) and ``reading``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> m = pd.period_range("2017-04", "2021-03", freq="M")
    >>> df = pd.DataFrame({"month": m, "n": rng.poisson(100, len(m))})
    >>> its_diagnostics(its(df, seasonal=None))["check"].tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['Durbin-Watson', 'lag-1 autocorrelation', 'Ljung-Box p-value', 'dispersion',
     'standard errors', 'months used']
    """
    meta = result.attrs.get("sna", {}).get("its")
    if meta is None:
        raise AnalysisInputError("its_diagnostics needs the output of sna.trend.its")
    dw, lb = meta["durbin_watson"], meta["ljung_box_p"]
    hac = meta["cov_type"] == "HAC"
    gaps = meta.get("months_without_data") or []
    rows = [
        ("Durbin-Watson", f"{dw:.2f}",
         "between 1.5 and 2.5: no sign of autocorrelation"
         if 1.5 <= dw <= 2.5 else
         f"{'below 1.5' if dw < 1.5 else 'above 2.5'}: the residuals are autocorrelated"),
        ("lag-1 autocorrelation", f"{meta['acf_lag1']:.2f}",
         "correlation of each month's residual with the next month's"),
        ("Ljung-Box p-value", f"{lb:.2g} ({meta['ljung_box_lags']} lags)",
         "no evidence of autocorrelation" if lb >= 0.05 else
         "autocorrelation up to a year: model-based intervals would be too narrow"),
        ("dispersion", f"{meta['dispersion']:.2f}",
         "Pearson chi-squared / residual df; above 1 the counts vary more than Poisson"),
        ("standard errors",
         f"Newey-West (HAC), {meta['hac_lags']} lags" if hac else "model-based",
         "robust to autocorrelation and over-dispersion" if hac else
         "assume independent months: too narrow if the checks above find autocorrelation"),
        ("months used", f"{meta['months_before']} before, {meta['months_after']} after",
         "months without data left out: " + ", ".join(gaps) if gaps else
         "every month of the series has data"),
    ]
    return pd.DataFrame(rows, columns=["check", "value", "reading"])


def table_a(assessment, source: str | None = None) -> pd.DataFrame:
    """The board report's Table A of an assessment: the one definition of its measures.

    The definitions are the config's :confval:`definition.table_a` (homicide within violence
    against the person, offence or recorded date; by offence date, with a note, when the
    source has no recorded dates), and the months the source did not supply are left out of
    every year alike (:func:`compare_periods` ``covered=``).

    Chapter 1, the tutorial notebook and the README all call this, so "Violence against the
    person" means the same records wherever Table A is shown: "All serious violence" (the
    local definition), then every record of each police category (a force extract's SNA
    categories but public order; data.police.uk's configured serious-violence crime types),
    then the knife measures when the source's knife flag is filled for at least a fifth of its
    records; each compared with the annual average of the baseline years
    (:func:`compare_periods`), in that order.

    Parameters
    ----------
    assessment
        A :class:`sna.assessment.Assessment`, or a results-only
        :class:`sna.dataset.IncidentDataset` (its ``monthly`` counts: the same table).
    source
        The police source; default the first force extract, else the first data.police.uk
        source of the config.

    Returns
    -------
    pandas.DataFrame
        :func:`compare_periods`'s columns, one row per measure (``measure``);
        ``attrs["sna"]`` holds ``compare_periods`` (with its ``period_note``) and
        ``table_a_measures`` (the definitions, their reasons, ``definition_note`` and any
        ``fallback``).

    Raises
    ------
    AnalysisInputError
        No police source, or the data do not cover the baseline years.
    """
    from .schemas import SNA_CATEGORIES

    cfg = assessment.config
    if source is None:
        source = next((n for fmt in ("police_extract", "police_uk")
                       for n, src in cfg.sources.items() if src.format == fmt), None)
    if source is None or source not in cfg.sources:
        raise AnalysisInputError("Table A needs a police source (police_extract or police_uk) "
                                 "in the config.", key="sources")
    counted = not isinstance(getattr(assessment, "incidents", None), pd.DataFrame)
    # a results-only dataset (sna.dataset.IncidentDataset): its monthly counts, column n
    inc = assessment.monthly if counted else assessment.incidents
    records = inc[inc["source"] == source]
    serious = records[records["serious_violence"].fillna(False).astype(bool)]
    if cfg.sources[source].format == "police_extract":
        categories = [c for c in SNA_CATEGORIES if c != "Public order"]
    else:
        categories = list(cfg.definition.police_uk_serious_violence)
    weight = records["n"] if counted else pd.Series(1, index=records.index)
    knife = bool(len(records)) and "knife" in records.columns and \
        float(weight[records["knife"].notna()].sum() / weight.sum()) >= 0.2
    rules = cfg.definition.table_a
    kw = {"knife": knife, "homicide_in_violence_against_the_person":
          rules.homicide_in_violence_against_the_person}
    fallback = None
    try:
        long = table_a_measures(serious, records, categories, date=rules.date, **kw)
    except AnalysisInputError as exc:  # no recorded dates: by offence date, and said so
        fallback = f"Counted by offence date: {exc.message}."
        long = table_a_measures(serious, records, categories, **kw)
    quality = getattr(assessment, "quality", None)
    covered = quality.sources[source].months if quality and source in quality.sources else None
    out = compare_periods(long, year=assessment.year, baseline_years=cfg.baseline_years,
                          category="measure", covered=covered,
                          **({"count": "n"} if counted else {}))
    out.attrs["sna"]["table_a_measures"] = {
        **long.attrs["sna"]["table_a_measures"], "fallback": fallback}
    order = [m for m in long["measure"].unique() if m in set(out["measure"])]
    attrs = out.attrs
    out = out.set_index("measure").loc[order].reset_index()
    out.attrs = attrs
    return out
