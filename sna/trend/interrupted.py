"""Interrupted time series: segmented Poisson / negative-binomial regression with a counterfactual.

- :func:`its` -- the segmented regression of monthly counts around an interruption (by
  default the first national lockdown), with Newey-West standard errors and residual checks;
- :func:`its_effects` and :func:`its_diagnostics` -- its level and slope changes, and its
  residual checks, as tables;
- :func:`interruption_month` and :func:`newey_west_lags` -- the first affected month and the
  HAC lags rule.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from .._log import record
from ..errors import AnalysisInputError
from .._validate import check_columns as _check_columns
from .._validate import check_frame as _check_frame
from .._validate import confidences as _confidences
from ._common import months as _months
from ._common import regular as _regular
from ._glm import QUASI_POISSON
from ._glm import fit_count_model as _fit_count_model
from ._glm import quasi_poisson as _quasi_poisson

__all__ = [
    "LOCKDOWNS",
    "DEFAULT_INTERRUPTION",
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


def _months_either_side(seen, post, first_month, terms: int) -> tuple[int, int]:
    """The months with data before and after the interruption; enough of them, or an error."""
    n_pre, n_post = int((seen & (post == 0)).sum()), int((seen & (post == 1)).sum())
    if n_pre < 3 or n_post < 3:
        raise AnalysisInputError(
            f"{n_pre} month(s) with data before and {n_post} after the interruption (first "
            f"affected month {first_month}); an interrupted time series needs at least 3 on "
            "each side (preferably 12 or more)"
        )
    if seen.sum() < terms + 4:
        raise AnalysisInputError(
            f"{int(seen.sum())} months are too few for {terms} model terms; use more "
            "months, seasonal='fourier' or seasonal=None"
        )
    return n_pre, n_post


def _interruption_meta(interruption, first_month: pd.Period) -> dict:
    """The interruption's date, its first affected month and the rule between them."""
    return {
        "interruption": str(pd.Timestamp(interruption.to_timestamp() if isinstance(
            interruption, pd.Period) else interruption).date()),
        "first_affected_month": str(first_month),
        "rule": "an interruption after the 1st of a month first affects the next month",
    }


def _hac_meta(lags, hac_lags) -> dict:
    """The standard errors :func:`its` used: HAC with its lags and their rule, or model-based."""
    return {
        "cov_type": "HAC" if lags is not None else "nonrobust",
        "hac_lags": None if lags is None else int(lags),
        "hac_rule": "Newey-West 1994: floor(4 (T/100)^(2/9))" if hac_lags == "auto" else "given",
    }


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
    n_pre, n_post = _months_either_side(seen, post, first_month, X.shape[1])
    offset = _its_offset(work, population, pop_col)
    lags = newey_west_lags(int(seen.sum())) if hac_lags == "auto" else hac_lags
    fit_kw = {} if lags is None else {"cov_type": "HAC", "cov_kwds": {"maxlags": int(lags)}}
    fit, alpha, method, notes = _its_fit(
        y[seen], X[seen], None if offset is None else offset[seen], family, fit_kw)
    out = _its_frame(work, fit, X, names, offset, confidence, time, post, time_after,
                     _projection_end(projection_months, n_pre))
    meta = _its_meta(fit, names, confidence)
    record(out, "its", {
        "value": value, "date": date, **_interruption_meta(interruption, first_month),
        "family": family, "method": method, "seasonal": seasonal,
        "harmonics": int(harmonics) if seasonal == "fourier" else None,
        "offset": pop_col or (None if population is None else float(population)),
        "confidence": confidence, **_hac_meta(lags, hac_lags),
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
