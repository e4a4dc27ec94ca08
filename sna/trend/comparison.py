"""Change against a baseline: a financial year against the annual average of the years before it.

- :func:`compare_periods` -- the board report's "Table A" comparison, with an exact
  conditional Poisson test and interval; the years are compared like for like when a month
  has no data;
- :func:`compare_previous` -- the same against the previous year.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._log import record
from ..errors import AnalysisInputError
from ..periods import FinancialYear, months_of
from .._validate import as_list as _as_list
from .._validate import check_columns as _check_columns
from .._validate import check_frame as _check_frame
from .._validate import confidences as _confidences
from ._common import counts as _counts
from ._common import fy_years as _fy_years
from ._common import month_starts as _month_starts
from ._common import months as _months
from ._common import population_by_year as _population_by_year

__all__ = ["compare_periods", "compare_previous", "MIN_RELIABLE_COUNT"]

logger = logging.getLogger("sna")

#: Counts below which a change is flagged unreliable.
MIN_RELIABLE_COUNT = 10


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


def _by_row(grid: pd.DataFrame, rows: list[str], years: list[int]):
    """The table's rows (a frame of the ``rows`` columns, in order) and their counts by year."""
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
    return out, vals


def _comparison_meta(target, base, rates: bool, confidence, min_count, multiplier, total,
                     months: dict) -> dict:
    """What :func:`compare_periods` records in ``attrs["sna"]["compare_periods"]``."""
    k = len(base)
    return {
        "year": str(target), "baseline": [str(b) for b in base],
        "baseline_label": f"{base[0]} to {base[-1]}" if k > 1 else str(base[0]),
        "exposure": "population-years" if rates else "years",
        "test": "exact conditional Poisson test (binomial), two-sided",
        "interval": "Clopper-Pearson on the conditional binomial proportion",
        "confidence": confidence, "min_count": int(min_count),
        "multiplier": multiplier if rates else None,
        "total_row": total, "incomplete_years": months["incomplete"],
        **{k: v for k, v in months.items() if k != "incomplete"},
        "period_note": _period_note(months),
    }


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
    out, vals = _by_row(grid, [*by_cols, *([category] if category is not None else [])], years)
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
    record(out, "compare_periods", _comparison_meta(
        target, base, population is not None, confidence, min_count, multiplier, total, months))
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
