"""Year effects from a negative-binomial model of monthly counts, for over-dispersed counts.

:func:`nb_year_effect` -- each financial year against the baseline years, from a model with a
year effect and month-of-year terms (NB2, quasi-Poisson when it does not converge).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._log import record
from ..errors import AnalysisInputError
from ..periods import FinancialYear, fy_start_year
from .._validate import as_list as _as_list
from .._validate import check_columns as _check_columns
from .._validate import check_frame as _check_frame
from .._validate import confidences as _confidences
from ._common import label as _label
from ._common import months as _months
from ._common import population_by_year as _population_by_year
from ._glm import fit_count_model as _fit_count_model
from .series import monthly

__all__ = ["nb_year_effect"]


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
