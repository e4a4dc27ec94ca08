"""Rates, proportions and standardised rates with confidence intervals; funnel plots.

A Python port of the methods of PHEindicatormethods (the R package behind the
Fingertips public-health profiles), with the same output columns so that figures can be
checked against the reference tool: ``value``, ``lowercl``, ``uppercl``, ``confidence``,
``statistic``, ``method``.

- :func:`crude_rate` -- rate per ``multiplier`` with Byar's interval (exact below 10 events);
- :func:`proportion` -- proportion with the Wilson score interval;
- :func:`dsr` -- directly standardised rate, Dobson's method, European Standard
  Population 2013 built in (:data:`ESP2013`);
- :func:`funnel` and :func:`funnel_limits` -- funnel-plot control limits (95 % and 99.8 %)
  and the significance class of each unit.

Every function takes a DataFrame and returns a new one (the input is never changed) and
records its choices in ``result.attrs["sna"]``.

Examples
--------
>>> import pandas as pd
>>> from sna.rates import crude_rate
>>> df = pd.DataFrame({"area": ["City", "County"], "n": [300, 7], "pop": [250_000, 20_000]})
>>> out = crude_rate(df, "n", "pop")
>>> out[["area", "value", "lowercl", "uppercl", "method"]].round(2)
     area  value  lowercl  uppercl method
0    City  120.0   106.80   134.38  Byars
1  County   35.0    14.07    72.11  Exact
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._log import record
from ._validate import as_list as _as_list
from ._validate import check_columns as _check_columns
from ._validate import check_frame as _check_frame
from ._validate import confidences as _confidences
from .errors import AnalysisInputError

__all__ = [
    "ESP2013",
    "esp2013_band",
    "byars_lower",
    "byars_upper",
    "exact_poisson_lower",
    "exact_poisson_upper",
    "poisson_count_limits",
    "wilson_lower",
    "wilson_upper",
    "crude_rate",
    "proportion",
    "dsr",
    "funnel",
    "funnel_limits",
    "dispersion",
    "FUNNEL_CLASSES",
    "OVERDISPERSION_METHODS",
]

logger = logging.getLogger("sna")

#: European Standard Population 2013: 19 age bands, 0-4 ... 85-89 and 90+ (sum 100,000).
ESP2013: pd.Series = pd.Series(
    [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000,
     4000, 2500, 1500, 1000],
    index=pd.Index([f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"], name="age_band"),
    name="esp2013",
    dtype="int64",
)

#: Significance classes of :func:`funnel`, from highest to lowest.
FUNNEL_CLASSES: tuple[str, ...] = (
    "High (0.001)",
    "High (0.025)",
    "Not significant",
    "Low (0.025)",
    "Low (0.001)",
)

#: Count below which exact limits replace Byar's approximation (as PHEindicatormethods).
BYAR_MIN_COUNT = 10

#: Events below which a directly standardised rate is not shown.
DSR_MIN_COUNT = 10

Confidence = float | Sequence[float]


# --------------------------------------------------------------------------------------------
# validation helpers of rates (the ones shared with sna.trend and sna.spc: sna._validate)
# --------------------------------------------------------------------------------------------


def _numeric(df: pd.DataFrame, column: str, *, role: str) -> pd.Series:
    """The column as float, refusing text, missing and negative values."""
    s = df[column]
    if s.dtype == bool or not (pd.api.types.is_numeric_dtype(s) or s.dtype == object):
        raise AnalysisInputError(
            f"{role} column {column!r} must hold numbers, found dtype {s.dtype}", column=column
        )
    try:
        values = pd.to_numeric(s, errors="raise").astype("float64")
    except (TypeError, ValueError) as exc:
        raise AnalysisInputError(
            f"{role} column {column!r} must hold numbers ({exc})", column=column
        ) from None
    if values.isna().any():
        first = values.index[values.isna()][0]
        raise AnalysisInputError(
            f"{role} column {column!r} has {int(values.isna().sum())} missing value(s) "
            f"(first at index {first!r}); fill them (0 if there were no events) or drop the rows",
            column=column,
        )
    if np.isinf(values).any():
        raise AnalysisInputError(f"{role} column {column!r} has infinite values", column=column)
    if (values < 0).any():
        first = values.index[values < 0][0]
        raise AnalysisInputError(
            f"{role} column {column!r} has negative values (first at index {first!r}: "
            f"{values[first]:g}); counts and populations cannot be negative",
            column=column,
        )
    return values


def _positive(values: pd.Series, column: str, *, role: str) -> None:
    if (values <= 0).any():
        first = values.index[values <= 0][0]
        raise AnalysisInputError(
            f"{role} column {column!r} has zero or negative values (first at index {first!r}); "
            "a rate needs a positive denominator: drop those rows or correct the population",
            column=column,
        )


def _level_label(c: float) -> str:
    """0.95 -> '95%', 0.998 -> '99.8%' (as PHEindicatormethods)."""
    return f"{c * 100:.10g}%"


def _level_suffix(c: float) -> str:
    """0.95 -> '95_0', 0.998 -> '99_8' (PHEindicatormethods' column suffix)."""
    return f"{c * 100:.1f}".replace(".", "_")


def _z(c: float) -> float:
    return float(stats.norm.ppf(1 - (1 - c) / 2))


def _check_multiplier(multiplier) -> float:
    try:
        m = float(multiplier)
    except (TypeError, ValueError):
        raise AnalysisInputError(f"multiplier {multiplier!r} must be a positive number") from None
    if not m > 0 or not np.isfinite(m):
        raise AnalysisInputError(f"multiplier {multiplier!r} must be a positive number")
    return m


def _fmt_mult(m: float) -> str:
    return f"{m:.0f}" if float(m).is_integer() else f"{m:g}"


def _aggregate(df: pd.DataFrame, by, columns: list[str]) -> pd.DataFrame:
    by = _as_list(by)
    _check_columns(df, by, what="df")
    return df.groupby(by, dropna=False, sort=True, observed=True)[columns].sum().reset_index()


# --------------------------------------------------------------------------------------------
# interval primitives (vectorised; counts may be arrays)
# --------------------------------------------------------------------------------------------


def byars_lower(count, confidence: float = 0.95):
    """Byar's approximation to the lower exact Poisson limit of a count.

    ``O·(1 − 1/(9O) − z/(3√O))³`` (Breslow & Day 1987). Zero for a zero count.

    >>> round(float(byars_lower(10)), 4)
    4.7874
    """
    o = np.asarray(count, dtype=float)
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
    return np.where(o > 0, out, 0.0)


def byars_upper(count, confidence: float = 0.95):
    """Byar's approximation to the upper exact Poisson limit of a count.

    ``(O+1)·(1 − 1/(9(O+1)) + z/(3√(O+1)))³`` (Breslow & Day 1987).

    >>> round(float(byars_upper(10)), 4)
    18.3915
    """
    o = np.asarray(count, dtype=float) + 1
    z = _z(confidence)
    return o * (1 - 1 / (9 * o) + z / (3 * np.sqrt(o))) ** 3


def exact_poisson_lower(count, confidence: float = 0.95):
    """Exact (Garwood) lower Poisson limit of a count: ``χ²(α/2; 2O)/2``; 0 for O = 0.

    >>> round(float(exact_poisson_lower(7)), 4)
    2.8144
    """
    o = np.asarray(count, dtype=float)
    a = 1 - confidence
    with np.errstate(invalid="ignore"):
        out = stats.chi2.ppf(a / 2, 2 * np.where(o > 0, o, 1)) / 2
    return np.where(o > 0, out, 0.0)


def exact_poisson_upper(count, confidence: float = 0.95):
    """Exact (Garwood) upper Poisson limit of a count: ``χ²(1 − α/2; 2O + 2)/2``.

    >>> round(float(exact_poisson_upper(7)), 4)
    14.4227
    """
    o = np.asarray(count, dtype=float)
    a = 1 - confidence
    return stats.chi2.ppf(1 - a / 2, 2 * o + 2) / 2


def poisson_count_limits(count, confidence: float = 0.95):
    """Limits of a Poisson count as PHEindicatormethods: exact below 10, Byar's from 10.

    Returns ``(lower, upper, method)`` arrays; method is "Exact" or "Byars".

    >>> lo, hi, m = poisson_count_limits([7, 10])
    >>> [round(float(v), 4) for v in lo], [round(float(v), 4) for v in hi], m.tolist()
    ([2.8144, 4.7874], [14.4227, 18.3915], ['Exact', 'Byars'])
    """
    o = np.asarray(count, dtype=float)
    exact = o < BYAR_MIN_COUNT
    lower = np.where(exact, exact_poisson_lower(o, confidence), byars_lower(o, confidence))
    upper = np.where(exact, exact_poisson_upper(o, confidence), byars_upper(o, confidence))
    method = np.where(exact, "Exact", "Byars")
    return lower, upper, method


def wilson_lower(x, n, confidence: float = 0.95):
    """Lower Wilson score limit of the proportion ``x / n`` (Wilson 1927).

    >>> round(float(wilson_lower(45, 120)), 5)
    0.29352
    """
    return _wilson(x, n, confidence, -1)


def wilson_upper(x, n, confidence: float = 0.95):
    """Upper Wilson score limit of the proportion ``x / n`` (Wilson 1927).

    >>> round(float(wilson_upper(45, 120)), 5)
    0.46423
    """
    return _wilson(x, n, confidence, +1)


def _wilson(x, n, confidence, sign):
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    z = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(np.maximum(z**2 + 4 * x * (1 - x / n), 0.0))
        out = (2 * x + z**2 + sign * z * root) / (2 * (n + z**2))
    # exact at the edges (rounding would otherwise leave 1 - 1e-16 above a proportion of 1)
    out = np.where((sign < 0) & (x <= 0), 0.0, out)
    out = np.where((sign > 0) & (x >= n), 1.0, out)
    return np.clip(out, 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# crude rates and proportions
# --------------------------------------------------------------------------------------------


def _add_limits(out, lower_fn, upper_fn, levels, scale) -> None:
    """Add lowercl/uppercl (one level) or lowerXX_Xcl/upperXX_Xcl (several)."""
    if len(levels) == 1:
        out["lowercl"] = lower_fn(levels[0]) * scale
        out["uppercl"] = upper_fn(levels[0]) * scale
    else:
        for c in levels:
            suffix = _level_suffix(c)
            out[f"lower{suffix}cl"] = lower_fn(c) * scale
            out[f"upper{suffix}cl"] = upper_fn(c) * scale


def crude_rate(
    df: pd.DataFrame,
    numerator: str,
    denominator: str,
    *,
    by: str | Sequence[str] | None = None,
    confidence: Confidence = 0.95,
    multiplier: float = 100_000,
) -> pd.DataFrame:
    """Crude rate per ``multiplier`` with Byar's (or exact) confidence interval.

    Parameters
    ----------
    df
        One row per unit (area, year, group ...). Not modified.
    numerator
        Column with the count of events (non-negative; need not be whole).
    denominator
        Column with the population at risk (positive).
    by
        Column(s) to group by: numerator and denominator are summed within each group first
        and the result has one row per group (the ``by`` columns, the summed numerator and
        denominator, then the statistics). Without ``by`` the result is the input, same
        index, with the statistic columns added.
    confidence
        0.95 (default), 0.998, any level in [0.5, 1), or a list such as ``[0.95, 0.998]``.
        With several levels the limit columns are named as in PHEindicatormethods:
        ``lower95_0cl``, ``upper95_0cl``, ``lower99_8cl``, ``upper99_8cl`` (no ``lowercl`` /
        ``uppercl``), and ``confidence`` reads "95%, 99.8%".
    multiplier
        Rate per this many people (default 100,000).

    Returns
    -------
    pandas.DataFrame
        The input (or the grouped table) plus ``value`` (the rate), ``lowercl``,
        ``uppercl``, ``confidence`` (e.g. "95%"), ``statistic`` (e.g. "rate per 100000")
        and ``method`` ("Byars" for 10 or more events, "Exact" below 10).

    Raises
    ------
    AnalysisInputError
        A column is missing or not numeric, a count or population is missing or negative,
        a population is zero, or the confidence level is not a proportion.

    Notes
    -----
    ``rate = O / n × m``. For O ≥ 10, Byar's approximation to the exact Poisson limits
    (Breslow & Day 1987, *Statistical Methods in Cancer Research* vol. II):
    ``O_L = O(1 − 1/(9O) − z/(3√O))³``, ``O_U = (O+1)(1 − 1/(9(O+1)) + z/(3√(O+1)))³``;
    for O < 10 the exact limits ``χ²(α/2; 2O)/2`` and ``χ²(1−α/2; 2O+2)/2``. The interval
    is ``O_L / n × m, O_U / n × m``. As PHEindicatormethods ``phe_rate`` and the Fingertips
    technical guidance.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"n": [300], "pop": [250_000]})
    >>> crude_rate(df, "n", "pop").round(2).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'n': 300, 'pop': 250000, 'value': 120.0, 'lowercl': 106.8, 'uppercl': 134.38,
     'confidence': '95%', 'statistic': 'rate per 100000', 'method': 'Byars'}
    >>> crude_rate(df, "n", "pop", confidence=[0.95, 0.998]).filter(like="cl").round(1)
       lower95_0cl  upper95_0cl  lower99_8cl  upper99_8cl
    0        106.8        134.4         99.7        143.0
    """
    _check_frame(df)
    _check_columns(df, [numerator, denominator, *_as_list(by)])
    levels = _confidences(confidence)
    m = _check_multiplier(multiplier)
    num = _numeric(df, numerator, role="numerator")
    den = _numeric(df, denominator, role="denominator")
    if by is not None:
        out = _aggregate(df.assign(**{numerator: num, denominator: den}), by, [numerator, denominator])
        num, den = out[numerator].astype(float), out[denominator].astype(float)
    else:
        out = df.copy()
    _positive(den, denominator, role="denominator")
    o, n = num.to_numpy(), den.to_numpy()
    out["value"] = o / n * m
    _add_limits(
        out,
        lambda c: poisson_count_limits(o, c)[0],
        lambda c: poisson_count_limits(o, c)[1],
        levels,
        m / n,
    )
    out["confidence"] = ", ".join(_level_label(c) for c in levels)
    out["statistic"] = f"rate per {_fmt_mult(m)}"
    out["method"] = np.where(o < BYAR_MIN_COUNT, "Exact", "Byars")
    out.attrs = {}
    record(
        out,
        "crude_rate",
        {
            "numerator": numerator,
            "denominator": denominator,
            "by": _as_list(by) or None,
            "confidence": levels,
            "multiplier": m,
            "method": f"Byar's approximation for counts >= {BYAR_MIN_COUNT}, exact "
            "Poisson (chi-squared) limits below",
        },
    )
    return out


def proportion(
    df: pd.DataFrame,
    numerator: str,
    denominator: str,
    *,
    by: str | Sequence[str] | None = None,
    confidence: Confidence = 0.95,
    multiplier: float = 1,
) -> pd.DataFrame:
    """Proportion with the Wilson score interval.

    Parameters
    ----------
    df
        One row per unit. Not modified.
    numerator
        Column with the number of cases with the characteristic (0 ≤ x ≤ n).
    denominator
        Column with the number of cases in the sample (positive).
    by
        Column(s) to group by; numerator and denominator are summed within groups first.
    confidence
        0.95 (default), 0.998, another level, or a list of levels (see :func:`crude_rate`).
    multiplier
        1 for a proportion (default), 100 for a percentage.

    Returns
    -------
    pandas.DataFrame
        The input (or grouped table) plus ``value``, ``lowercl``, ``uppercl``,
        ``confidence``, ``statistic`` ("proportion of 1" or "percentage") and ``method``
        ("Wilson").

    Raises
    ------
    AnalysisInputError
        Missing or negative values, a zero denominator, or a numerator larger than its
        denominator.

    Notes
    -----
    Wilson (1927), *J. Am. Stat. Assoc.* 22:209-212:
    ``[2x + z² ∓ z√(z² + 4x(1 − x/n))] / [2(n + z²)]``, as PHEindicatormethods
    ``phe_proportion``. Unlike the normal approximation it stays within [0, 1] and
    behaves at 0 and n.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [45], "n": [120]})
    >>> proportion(df, "x", "n")[["value", "lowercl", "uppercl", "method"]].round(5)
       value  lowercl  uppercl  method
    0  0.375  0.29352  0.46423  Wilson
    """
    _check_frame(df)
    _check_columns(df, [numerator, denominator, *_as_list(by)])
    levels = _confidences(confidence)
    m = _check_multiplier(multiplier)
    num = _numeric(df, numerator, role="numerator")
    den = _numeric(df, denominator, role="denominator")
    if by is not None:
        out = _aggregate(df.assign(**{numerator: num, denominator: den}), by, [numerator, denominator])
        num, den = out[numerator].astype(float), out[denominator].astype(float)
    else:
        out = df.copy()
    _positive(den, denominator, role="denominator")
    if (num > den).any():
        first = num.index[num > den][0]
        raise AnalysisInputError(
            f"numerator {numerator!r} exceeds denominator {denominator!r} at index {first!r}; "
            "a proportion's numerator must be part of its denominator",
            column=numerator,
        )
    x, n = num.to_numpy(), den.to_numpy()
    out["value"] = x / n * m
    _add_limits(out, lambda c: wilson_lower(x, n, c), lambda c: wilson_upper(x, n, c), levels, m)
    out["confidence"] = ", ".join(_level_label(c) for c in levels)
    out["statistic"] = "percentage" if m == 100 else f"proportion of {_fmt_mult(m)}"
    out["method"] = "Wilson"
    out.attrs = {}
    record(
        out,
        "proportion",
        {"numerator": numerator, "denominator": denominator, "by": _as_list(by) or None,
         "confidence": levels, "multiplier": m, "method": "Wilson score interval"},
    )
    return out


# --------------------------------------------------------------------------------------------
# directly standardised rates
# --------------------------------------------------------------------------------------------


def esp2013_band(age) -> pd.Series:
    """The ESP2013 band ("0-4" ... "85-89", "90+") of single years of age.

    Missing or negative ages give a missing band.

    >>> esp2013_band([0, 4, 5, 89, 90, 104]).tolist()
    ['0-4', '0-4', '5-9', '85-89', '90+', '90+']
    """
    a = pd.to_numeric(pd.Series(age), errors="coerce")
    lower = (np.floor(a.clip(upper=90) / 5) * 5).where(a >= 0)
    labels = {float(lo): lab for lo, lab in zip(range(0, 95, 5), ESP2013.index)}
    labels[90.0] = "90+"
    out = lower.map(labels)
    return pd.Series(pd.Categorical(out, categories=list(ESP2013.index), ordered=True),
                     index=pd.Series(age).index, name="age_band")


def _standard_weights(standard, age_values) -> pd.Series:
    if standard is None:
        return ESP2013.astype(float)
    if isinstance(standard, pd.Series):
        w = standard.astype(float)
    elif isinstance(standard, dict):
        w = pd.Series(standard, dtype=float)
    else:
        try:
            values = np.asarray(standard, dtype=float)
        except (TypeError, ValueError):
            raise AnalysisInputError(
                "standard must be None (ESP2013), a Series or dict of band -> weight, a "
                "sequence of weights or the name of a weight column"
            ) from None
        w = pd.Series(values)
        if len(w) == len(ESP2013):  # weights in ESP2013 band order
            w.index = ESP2013.index
        elif age_values is not None:
            raise AnalysisInputError(
                f"standard has {len(w)} unlabelled weights but age= names a band column; "
                "give the standard as a Series indexed by the band labels"
            )
    if w.isna().any() or (w < 0).any() or w.sum() <= 0:
        raise AnalysisInputError(
            "standard population weights must be non-negative numbers with a positive total"
        )
    return w


def _band_labels(work, age, weights, standard, by_cols, numerator, denominator, notes):
    """Each row's band label (single years of age are summed into ESP2013 bands first)."""
    band = work[age]
    labels = weights.index.astype(str)
    band_str = band.astype("string")
    if not band_str.isin(labels).all() and pd.api.types.is_numeric_dtype(band):
        if standard is not None and not weights.index.equals(ESP2013.index):
            raise AnalysisInputError(
                f"column {age!r} holds ages but the standard has bands "
                f"{list(labels)[:3]}...; pass band labels matching the standard",
                column=age,
            )
        if band.isna().any() or (band < 0).any():
            raise AnalysisInputError(f"column {age!r} has missing or negative ages", column=age)
        work["_band"] = esp2013_band(band).astype(str)
        notes["ages_banded"] = "single years of age summed into ESP2013 bands"
        work = work.groupby([*by_cols, "_band"], dropna=False, observed=True)[
            [numerator, denominator]].sum().reset_index()
        band_str = work["_band"]
    unknown = sorted(set(band_str.dropna()) - set(labels))
    if unknown or band_str.isna().any():
        raise AnalysisInputError(
            f"column {age!r} has band(s) not in the standard population: "
            f"{unknown[:5] or ['<missing>']}; the standard's bands are {', '.join(labels)}",
            column=age,
        )
    work["_key"] = band_str.astype(str).to_numpy()
    return work


def _dsr_weights(work, df, *, age, by_cols, standard, std_col, numerator, denominator, notes):
    """``work`` with ``_w``, each row's standard-population weight."""
    if std_col is not None:
        work["_w"] = _numeric(df, std_col, role="standard population")
        return work
    weights = _standard_weights(standard, age)
    groups = (lambda w: w.groupby(by_cols, dropna=False, observed=True) if by_cols
              else [(None, w)])
    if age is not None:
        work = _band_labels(work, age, weights, standard, by_cols, numerator, denominator, notes)
        labels = weights.index.astype(str)
        w_map = pd.Series(weights.to_numpy(), index=labels)
        # every unit must have every band (missing bands make the rate wrong silently)
        for key, g in groups(work):
            if g["_key"].duplicated().any():
                dup = g["_key"][g["_key"].duplicated()].iloc[0]
                raise AnalysisInputError(
                    f"band {dup!r} appears twice for unit {key!r}; give one row per band "
                    "(or single years of age)", column=age)
            missing = sorted(set(labels[w_map.to_numpy() > 0]) - set(g["_key"]))
            if missing:
                raise AnalysisInputError(
                    f"unit {key!r} has no row for band(s) {missing[:5]}; add them with "
                    "their population (0 events if none)", column=age)
        work["_w"] = work["_key"].map(w_map).to_numpy()
        return work
    k = len(weights)
    sizes = (work.groupby(by_cols, dropna=False, observed=True).size() if by_cols
             else pd.Series([len(work)]))
    if (sizes != k).any():
        raise AnalysisInputError(
            f"each unit needs exactly {k} rows, one per band of the standard in order "
            f"(found {sorted(set(sizes.tolist()))}); or pass age= naming the band column")
    pos = (work.groupby(by_cols, dropna=False, observed=True).cumcount() if by_cols
           else pd.Series(range(len(work)), index=work.index))
    work["_w"] = weights.to_numpy()[pos.to_numpy()]
    return work


#: What :func:`dsr` does with a unit that has an age band with no population.
EMPTY_BANDS = ("no value", "renormalise")


def _dsr_sums(work, *, numerator, denominator, by_cols, empty_bands, age):
    """Per unit: counts, population, weighted rate and variance sums, and empty bands."""
    o_i, n_i, w_i = work[numerator], work[denominator], work["_w"]
    bad = (o_i > 0) & (n_i <= 0)
    if bad.any():
        raise AnalysisInputError(
            f"{int(bad.sum())} band(s) have events but zero population in {denominator!r}; "
            "correct the population or the age of those events", column=denominator)
    empty = ((n_i <= 0) & (w_i > 0)).to_numpy()
    safe_n = n_i.where(~empty, 1.0)
    work = work.assign(
        _num=np.where(empty, 0.0, o_i / safe_n * w_i),
        _var=np.where(empty, 0.0, o_i * w_i**2 / safe_n**2),
        _w=np.where(empty & (empty_bands == "renormalise"), 0.0, w_i),
        _empty=empty,
        _label=(work["_key"] if "_key" in work else work.index.astype(str)).where(empty, ""))
    agg = {"total_count": (numerator, "sum"), "total_pop": (denominator, "sum"),
           "_num": ("_num", "sum"), "_var": ("_var", "sum"), "_w": ("_w", "sum"),
           "_empty": ("_empty", "sum"),
           "_bands": ("_label", lambda s: ", ".join(v for v in s if v))}
    if by_cols:
        return work.groupby(by_cols, dropna=False, observed=True, sort=True).agg(
            **agg).reset_index()
    return pd.DataFrame({k: [work[c].agg(f)] for k, (c, f) in agg.items()})


def dsr(
    df: pd.DataFrame,
    numerator: str,
    denominator: str,
    *,
    age: str | None = None,
    by: str | Sequence[str] | None = None,
    standard: pd.Series | Sequence[float] | dict | str | None = None,
    confidence: Confidence = 0.95,
    multiplier: float = 100_000,
    empty_bands: Literal["no value", "renormalise"] = "no value",
) -> pd.DataFrame:
    """Directly standardised rate with Dobson's confidence interval.

    Parameters
    ----------
    df
        One row per age band (per group): events and population. Not modified.
    numerator, denominator
        Columns with the events and the population of each band.
    age
        Column naming each row's band. Its values are either labels of the ``standard``
        (for the default ESP2013: "0-4" ... "85-89", "90+") or single years of age, which are
        first summed into ESP2013 bands (see :func:`esp2013_band`). Without ``age`` each
        group's rows must be in the order of the standard and as many.
    by
        Column(s) identifying the units (areas, years); one output row per unit.
    standard
        The standard population: None for :data:`ESP2013`; a Series indexed by band label;
        a dict band -> weight; a sequence of weights in band order; or the name of a column
        of ``df`` holding each row's weight.
    confidence
        0.95 (default), 0.998 or a list of levels (see :func:`crude_rate`).
    multiplier
        Rate per this many people (default 100,000).
    empty_bands
        A unit with an age band of the standard that has no population: "no value"
        (default, as PHEindicatormethods, which requires every denominator to be above
        zero) gives it no rate and says why in ``note``; "renormalise" leaves the band out
        and standardises to the remaining bands' weights (stated in ``note``).

    Returns
    -------
    pandas.DataFrame
        One row per unit: the ``by`` columns, ``total_count``, ``total_pop``, ``value``,
        ``lowercl``, ``uppercl``, ``confidence``, ``statistic`` ("dsr per 100000"),
        ``method`` ("Dobson") and ``note``. When fewer than 10 events, or (by default) an
        age band has no population, the value and limits are NaN and ``note`` says why.

    Raises
    ------
    AnalysisInputError
        Missing columns, negative counts or populations, events in a band with no
        population, a band label not in the standard, or a unit whose bands do not match
        the standard.

    Notes
    -----
    Dobson et al. (1991), *Statistics in Medicine* 10:457-462:
    ``DSR = Σ(Oᵢ/nᵢ·wᵢ)/Σwᵢ × m``, ``var = Σ(Oᵢ·wᵢ²/nᵢ²)/(Σwᵢ)²``, limits
    ``DSR + √(var/O)·(O_L − O)`` and ``DSR + √(var/O)·(O_U − O)`` with ``O = ΣOᵢ`` and
    Byar's ``O_L``, ``O_U`` (exact below 10 events, never shown there), as
    PHEindicatormethods ``calculate_dsr``. A band with no population has no rate: counting
    it as a zero rate with its full weight would pull the DSR down, so (as PHE) the unit
    gets no value, or with ``empty_bands="renormalise"`` the band's weight is dropped and
    the remaining weights renormalised. A band with events but no population is an error.

    Examples
    --------
    >>> import pandas as pd
    >>> from sna.rates import ESP2013, dsr
    >>> df = pd.DataFrame({"band": ESP2013.index, "n": [3] * 19, "pop": [5000] * 19})
    >>> dsr(df, "n", "pop", age="band")[["total_count", "value", "lowercl", "uppercl"]].round(1)
       total_count  value  lowercl  uppercl
    0           57   60.0     44.7     78.7
    """
    _check_frame(df)
    by_cols = _as_list(by)
    std_col = standard if isinstance(standard, str) else None
    _check_columns(df, [numerator, denominator, age, *by_cols, std_col])
    levels = _confidences(confidence)
    m = _check_multiplier(multiplier)
    if empty_bands not in EMPTY_BANDS:
        raise AnalysisInputError(
            f"empty_bands must be 'no value' or 'renormalise', got {empty_bands!r}")
    cols = [c for c in dict.fromkeys([*by_cols, age, numerator, denominator, std_col]) if c]
    work = df[cols].copy()
    work[numerator] = _numeric(df, numerator, role="numerator")
    work[denominator] = _numeric(df, denominator, role="denominator")
    notes: dict[str, object] = {}
    work = _dsr_weights(work, df, age=age, by_cols=by_cols, standard=standard,
                        std_col=std_col, numerator=numerator, denominator=denominator,
                        notes=notes)
    out = _dsr_sums(work, numerator=numerator, denominator=denominator, by_cols=by_cols,
                    empty_bands=empty_bands, age=age)
    if out["_empty"].sum():
        notes["empty_bands"] = int(out["_empty"].sum())
    shown = _dsr_values(out, levels, m, empty_bands)
    out = out.drop(columns=["_num", "_var", "_w", "_empty", "_bands"])
    if pd.api.types.is_float_dtype(out["total_count"]) and (out["total_count"] % 1 == 0).all():
        out["total_count"] = out["total_count"].astype("int64")
    out["confidence"] = ", ".join(_level_label(c) for c in levels)
    out["statistic"] = f"dsr per {_fmt_mult(m)}"
    out["method"] = "Dobson"
    out.attrs = {}
    record(out, "dsr", {
        "numerator": numerator, "denominator": denominator, "age": age,
        "by": by_cols or None,
        "standard": std_col or ("ESP2013" if standard is None else "user-supplied"),
        "confidence": levels, "multiplier": m, "min_events": DSR_MIN_COUNT,
        "method": "Dobson et al. 1991 with Byar's limits (exact below 10 events)",
        "empty_bands_rule": empty_bands,
        "suppressed_units": int((~shown).sum()), **notes})
    return out


def _dsr_values(out: pd.DataFrame, levels, m: float, empty_bands: str) -> np.ndarray:
    """Add ``value``, the limits and ``note``; return which units are shown."""
    O = out["total_count"].to_numpy(dtype=float)
    W = out["_w"].to_numpy(dtype=float)
    has_empty = out["_empty"].to_numpy() > 0
    blocked = has_empty & (empty_bands == "no value")
    shown = (O >= DSR_MIN_COUNT) & ~blocked & (W > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = out["_num"].to_numpy() / W
        f = np.sqrt(out["_var"].to_numpy() / W**2 / O)
    out["value"] = np.where(shown, value * m, np.nan)

    def lower(c):
        return np.where(shown, value + f * (poisson_count_limits(O, c)[0] - O), np.nan)

    def upper(c):
        return np.where(shown, value + f * (poisson_count_limits(O, c)[1] - O), np.nan)

    _add_limits(out, lower, upper, levels, m)
    bands = out["_bands"].to_numpy()
    note = np.where(O >= DSR_MIN_COUNT, "", f"not shown: fewer than {DSR_MIN_COUNT} events")
    note = np.where(blocked, [f"not calculated: no population in band(s) {b}" for b in bands],
                    note)
    renorm = has_empty & (empty_bands == "renormalise") & shown
    note = np.where(renorm, [f"standardised without band(s) {b} (no population); weights "
                             "renormalised" for b in bands], note)
    out["note"] = note
    return shown


# --------------------------------------------------------------------------------------------
# funnel plots
# --------------------------------------------------------------------------------------------

_FUNNEL_P = {"2s": 0.975, "3s": 0.999}  # two-sided 95 % and 99.8 %


def _pooled(num: pd.Series, den: pd.Series, target) -> float:
    if target is not None:
        return float(target)
    total = den.sum()
    if total <= 0:
        raise AnalysisInputError("the denominators sum to zero; a funnel plot needs populations")
    return float(num.sum() / total)


def _solve_increasing(fn, target, lo, hi, iterations: int = 200):
    """Vectorised bisection: x in [lo, hi] with fn(x) = target, fn increasing in x."""
    lo = np.array(lo, dtype=float)
    hi = np.array(hi, dtype=float)
    for _ in range(60):  # widen the bracket where needed
        short = fn(hi) < target
        if not short.any():
            break
        hi = np.where(short, hi * 2, hi)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        below = fn(mid) < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
        if np.all(hi - lo <= 1e-12 * np.maximum(1.0, hi)):
            break
    return (lo + hi) / 2


def _rate_upper_curve_count(expected, p):
    """Count x (continuous) whose exact lower limit (one-sided level p) is the expected count.

    A unit with more events than this is significantly high.
    """
    e = np.asarray(expected, dtype=float)
    fn = lambda x: stats.chi2.ppf(1 - p, 2 * np.maximum(x, 1e-300)) / 2  # noqa: E731
    x = _solve_increasing(fn, e, np.zeros_like(e), e + 10 * np.sqrt(e) + 20)
    return np.where(e > 0, x, 0.0)


def _rate_lower_curve_count(expected, p):
    """Count x whose exact upper limit (one-sided level p) is the expected count; 0 if none.

    A unit with fewer events than this is significantly low.
    """
    e = np.asarray(expected, dtype=float)
    fn = lambda x: stats.chi2.ppf(p, 2 * x + 2) / 2  # noqa: E731
    x = _solve_increasing(fn, e, np.zeros_like(e), np.maximum(e, 1.0))
    return np.where(fn(np.zeros_like(e)) >= e, 0.0, x)


def _limits_at(den, centre, kind, m, od: dict | None = None):
    """Funnel limits (on the output scale) at denominators ``den``.

    Without an over-dispersion adjustment (``od`` None or not applied): exact Poisson
    limits for rates, inverse Wilson for proportions. With one: Spiegelhalter's limits on
    the variance-stabilised scale, inflated multiplicatively or by a random effect.
    """
    den = np.asarray(den, dtype=float)
    out = {}
    for tag, p in _FUNNEL_P.items():
        if od is not None and od["applied"]:
            lo, hi = _od_limits(den, centre, kind, p, od)
        elif kind == "proportion":
            z = stats.norm.ppf(p)
            half = z * np.sqrt(centre * (1 - centre) / den)
            lo, hi = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
        else:
            e = centre * den
            lo = _rate_lower_curve_count(e, p) / den
            hi = _rate_upper_curve_count(e, p) / den
        out[f"lower_{tag}_limit"] = lo * m
        out[f"upper_{tag}_limit"] = hi * m
    return out


def _check_kind(kind) -> str:
    if kind not in ("rate", "proportion"):
        raise AnalysisInputError(f"kind must be 'rate' or 'proportion', got {kind!r}")
    return kind


# --------------------------------------------------------------------------------------------
# over-dispersion (Spiegelhalter 2005)
# --------------------------------------------------------------------------------------------

#: Share of the z-scores winsorised at each end before estimating the dispersion.
WINSORISE = 0.1

#: Over-dispersion adjustments of :func:`funnel`.
OVERDISPERSION_METHODS = ("additive", "multiplicative")


def _transformed(x, n, centre, kind):
    """Variance-stabilised values, their target and within-unit standard errors.

    Rates: ``y = √(O/E)`` with ``E = centre × n``, target 1, ``s = 1/(2√E)``;
    proportions: ``y = asin √(x/n)``, target ``asin √centre``, ``s = 1/(2√n)``.
    """
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    if kind == "rate":
        e = centre * n
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(x / e), 1.0, 1 / (2 * np.sqrt(e))
    return np.arcsin(np.sqrt(x / n)), float(np.arcsin(np.sqrt(centre))), 1 / (2 * np.sqrt(n))


def dispersion(z, s, *, winsorise: float = 0.1) -> dict:
    """Spiegelhalter's over-dispersion ratio φ and between-unit variance τ² from z-scores.

    Parameters
    ----------
    z
        The units' z-scores on the variance-stabilised scale, ``(yᵢ − target)/sᵢ``.
    s
        The units' within-unit standard errors on that scale.
    winsorise
        Share of the z-scores pulled in to the quantile at each end (default 10%).

    Returns
    -------
    dict
        ``phi`` (``Σ zw²/I`` of the winsorised z-scores), ``tau2`` (DerSimonian-Laird:
        ``(Iφ − (I − 1)) / (Σwᵢ − Σwᵢ²/Σwᵢ)``, ``wᵢ = 1/sᵢ²``, 0 when ``Iφ ≤ I − 1``),
        ``units`` (I), ``winsorised`` (units pulled in), ``winsorise`` and ``p_value``
        (``Iφ`` against χ² on I − 1 degrees of freedom: the chance of a φ this large
        without over-dispersion).

    Examples
    --------
    >>> d = dispersion([0.5, -1.0, 2.0, -0.5, 1.0], [0.1] * 5, winsorise=0.0)
    >>> round(d["phi"], 3), round(d["tau2"], 5)
    (1.3, 0.00625)
    """
    z = np.asarray(z, dtype=float)
    s = np.asarray(s, dtype=float)
    units = len(z)
    lo, hi = np.quantile(z, [winsorise, 1 - winsorise])  # R's type 7, as FunnelPlotR
    zw = np.clip(z, lo, hi)
    phi = float(np.mean(zw**2))
    w = 1 / s**2
    excess = units * phi - (units - 1)
    tau2 = float(max(0.0, excess / (w.sum() - (w**2).sum() / w.sum()))) if excess > 0 else 0.0
    return {"phi": phi, "tau2": tau2, "units": int(units),
            "winsorised": int(((z < lo) | (z > hi)).sum()), "winsorise": float(winsorise),
            "p_value": float(stats.chi2.sf(units * phi, units - 1)) if units > 1 else np.nan}


def _od_limits(den, centre, kind, p, od):
    """Lower and upper limits (per-person scale) at one level, over-dispersion allowed."""
    _, target, s = _transformed(np.zeros_like(den), den, centre, kind)
    z = stats.norm.ppf(p)
    if od["method"] == "multiplicative":
        half = z * np.sqrt(od["phi"]) * s
    else:
        half = z * np.sqrt(s**2 + od["tau2"])
    lo, hi = target - half, target + half
    if kind == "rate":
        return np.maximum(lo, 0) ** 2 * centre, hi**2 * centre
    top = np.pi / 2
    return np.sin(np.clip(lo, 0, top)) ** 2, np.sin(np.clip(hi, 0, top)) ** 2


def _od_z(x, n, centre, kind, od):
    """Each unit's z-score against the over-dispersed limits."""
    y, target, s = _transformed(x, n, centre, kind)
    if od["method"] == "multiplicative":
        return (y - target) / (np.sqrt(od["phi"]) * s)
    return (y - target) / np.sqrt(s**2 + od["tau2"])


def _overdispersion(x, n, centre, kind, overdispersion, winsorise) -> dict | None:
    """Estimate φ and τ² and decide whether the limits are adjusted (φ > 1)."""
    if overdispersion is False or overdispersion is None:
        return None
    method = "additive" if overdispersion is True else overdispersion
    if method not in OVERDISPERSION_METHODS:
        raise AnalysisInputError(
            f"overdispersion must be True (additive), 'additive', 'multiplicative' or False, "
            f"got {overdispersion!r}")
    if not 0 <= winsorise < 0.5:
        raise AnalysisInputError(f"winsorise must be a share in [0, 0.5), got {winsorise!r}")
    y, target, s = _transformed(x, n, centre, kind)
    ok = np.isfinite(y) & np.isfinite(s) & (s > 0)
    if ok.sum() < 3:
        return {"method": method, "applied": False, "phi": None, "tau2": None,
                "units": int(ok.sum()), "reason": "fewer than 3 units: φ cannot be estimated"}
    d = dispersion((y[ok] - target) / s[ok], s[ok], winsorise=winsorise)
    applied = d["phi"] > 1
    return {"method": method, "applied": bool(applied), **d,
            "reason": "φ > 1: the units vary more than chance allows" if applied else
            "φ ≤ 1: no over-dispersion, plain limits"}


def funnel(
    df: pd.DataFrame,
    numerator: str,
    denominator: str,
    *,
    kind: Literal["rate", "proportion"] = "rate",
    multiplier: float | None = None,
    target: float | None = None,
    overdispersion: bool | Literal["additive", "multiplicative"] = True,
    winsorise: float = WINSORISE,
) -> pd.DataFrame:
    """Funnel-plot limits and significance class of each unit against the pooled value.

    Parameters
    ----------
    df
        One row per unit (area, partnership, ...). Not modified.
    numerator, denominator
        Columns with each unit's events and population (or cases and sample size).
    kind
        "rate" (Poisson counts over a population) or "proportion" (binomial).
    multiplier
        Scale of ``value`` and the limits: default 100,000 for rates, 1 for proportions.
    target
        The centre line on the per-person scale (e.g. a national rate 0.0012); default the
        pooled value ``ΣO / Σn`` of the units.
    overdispersion
        Allow for units varying more than chance alone (crime counts of areas always do):
        True (default) or "additive" -- an additive random-effects model, limits
        ``target ± z√(sᵢ² + τ²)``; "multiplicative" -- limits ``target ± z√φ·sᵢ``;
        False -- the plain Poisson (or binomial) limits. The adjustment is made only when
        the estimated φ exceeds 1; with fewer than 3 units it cannot be estimated and the
        plain limits are kept.
    winsorise
        Share of the z-scores winsorised at each end before φ is estimated (default 10%,
        as Spiegelhalter 2005), so that the outliers being looked for do not widen the
        limits themselves.

    Returns
    -------
    pandas.DataFrame
        The input plus ``value``, ``baseline`` (the centre line), ``lower_2s_limit``,
        ``upper_2s_limit`` (95 %), ``lower_3s_limit``, ``upper_3s_limit`` (99.8 %) at the
        unit's denominator, and ``significance``: "High (0.001)", "High (0.025)",
        "Not significant", "Low (0.025)" or "Low (0.001)" (see :data:`FUNNEL_CLASSES`).
        ``attrs["sna"]["funnel"]`` records the centre, the method and, under
        ``overdispersion``, φ, τ², the units winsorised, the χ² p-value of φ, the
        adjustment and whether it was applied.

    Notes
    -----
    Spiegelhalter (2005), "Funnel plots for comparing institutional performance",
    *Statistics in Medicine* 24:1185-1202, and "Handling over-dispersion of performance
    indicators", *Quality and Safety in Health Care* 14:347-351; as NHS England's and
    the Care Quality Commission's funnel methods and the FunnelPlotR package. Limits at
    p = 0.975 and p = 0.999 (95 % and 99.8 %) as the PHE Fingertips guidance.
    Over-dispersion: on the variance-stabilised scale (rates: ``yᵢ = √(Oᵢ/Eᵢ)``,
    ``Eᵢ = centre × nᵢ``, target 1, ``sᵢ = 1/(2√Eᵢ)``; proportions: ``asin √pᵢ``,
    ``sᵢ = 1/(2√nᵢ)``) the z-scores ``zᵢ = (yᵢ − target)/sᵢ`` are winsorised (10 % at
    each end) and ``φ = Σzᵢ²/I``. Multiplicative limits scale ``sᵢ`` by ``√φ``; additive
    random-effects limits add the between-unit variance ``τ² = (Iφ − (I − 1)) / (Σwᵢ −
    Σwᵢ²/Σwᵢ)``, ``wᵢ = 1/sᵢ²`` (DerSimonian & Laird 1986) -- the default, because with
    large populations multiplicative limits still shrink towards the centre and flag
    nearly every large unit. Limits are transformed back (squared; sin²). Without the
    adjustment, rates: a unit is high at level p when the exact (χ²) lower limit of its
    count exceeds the expected count ``centre × n`` -- the limits are the exact Poisson
    limits inverted, so classes and plotted curves agree; proportions: the Wilson
    interval inverted, ``centre ± z√(centre(1 − centre)/n)``. A unit exactly on a limit
    is not significant.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"area": list("ABCD"), "n": [30, 120, 95, 160],
    ...                    "pop": [40_000, 100_000, 90_000, 100_000]})
    >>> funnel(df, "n", "pop", overdispersion=False)[["area", "value", "significance"]]
      area  value     significance
    0    A   75.0  Low (0.025)
    1    B  120.0  Not significant
    2    C  105.6  Not significant
    3    D  160.0  High (0.001)
    >>> out = funnel(df, "n", "pop")
    >>> od = out.attrs["sna"]["funnel"]["overdispersion"]
    >>> round(od["phi"], 2), od["applied"], out["significance"].tolist()
    (3.41, True, ['Not significant', 'Not significant', 'Not significant', 'Not significant'])
    """
    _check_frame(df)
    _check_columns(df, [numerator, denominator])
    kind = _check_kind(kind)
    m = _check_multiplier(multiplier if multiplier is not None else (1e5 if kind == "rate" else 1))
    num = _numeric(df, numerator, role="numerator")
    den = _numeric(df, denominator, role="denominator")
    _positive(den, denominator, role="denominator")
    if kind == "proportion" and (num > den).any():
        raise AnalysisInputError(
            f"numerator {numerator!r} exceeds denominator {denominator!r}; not a proportion",
            column=numerator,
        )
    centre = _pooled(num, den, target)
    if kind == "proportion" and not 0 <= centre <= 1:
        raise AnalysisInputError(f"target {target!r} must be a proportion between 0 and 1")
    if centre < 0:
        raise AnalysisInputError(f"target {target!r} must not be negative")
    x, n = num.to_numpy(), den.to_numpy()
    od = _overdispersion(x, n, centre, kind, overdispersion, winsorise)
    out = df.copy()
    out["value"] = x / n * m
    out["baseline"] = centre * m
    limits = _limits_at(n, centre, kind, m, od)
    for k, v in limits.items():
        out[k] = v
    out["significance"] = _funnel_classes(x, n, centre, kind, od, out["value"].to_numpy(),
                                          limits)
    out.attrs = {}
    record(out, "funnel", {
        "kind": kind, "numerator": numerator, "denominator": denominator, "multiplier": m,
        "centre": centre * m, "centre_from": "target" if target is not None else "pooled",
        "limits": "95% (p=0.975) and 99.8% (p=0.999), two-sided",
        "method": _funnel_method(kind, od), "overdispersion": od,
    })
    return out


def _funnel_method(kind: str, od: dict | None) -> str:
    if od is not None and od["applied"]:
        how = ("additive random effects (DerSimonian-Laird tau-squared)"
               if od["method"] == "additive" else "multiplicative (phi)")
        scale = "square-root" if kind == "rate" else "arcsine square-root"
        return (f"Spiegelhalter (2005) over-dispersed limits, {how}, on the {scale} scale; "
                f"phi = {od['phi']:.2f} from z-scores winsorised "
                f"{od['winsorise']:.0%} at each end")
    plain = ("exact Poisson (chi-squared) limits inverted" if kind == "rate"
             else "Wilson score interval inverted")
    if od is not None:
        return f"{plain} ({od['reason']})"
    return plain


def _funnel_classes(x, n, centre, kind, od, value, limits) -> np.ndarray:
    if od is not None and od["applied"]:
        z = _od_z(x, n, centre, kind, od)
        z3, z2 = stats.norm.ppf(_FUNNEL_P["3s"]), stats.norm.ppf(_FUNNEL_P["2s"])
        high3, high2, low3, low2 = z > z3, z > z2, z < -z3, z < -z2
    elif kind == "rate":
        e = centre * n
        high3 = exact_poisson_lower(x, 0.998) > e
        high2 = exact_poisson_lower(x, 0.95) > e
        low3 = exact_poisson_upper(x, 0.998) < e
        low2 = exact_poisson_upper(x, 0.95) < e
    else:
        high3, high2 = value > limits["upper_3s_limit"], value > limits["upper_2s_limit"]
        low3, low2 = value < limits["lower_3s_limit"], value < limits["lower_2s_limit"]
    return np.select(
        [high3, high2, low3, low2],
        ["High (0.001)", "High (0.025)", "Low (0.001)", "Low (0.025)"],
        "Not significant",
    )


def funnel_limits(
    df: pd.DataFrame | None = None,
    numerator: str | None = None,
    denominator: str | None = None,
    *,
    kind: Literal["rate", "proportion"] = "rate",
    multiplier: float | None = None,
    target: float | None = None,
    denominators: Sequence[float] | None = None,
    points: int = 100,
    overdispersion: bool | Literal["additive", "multiplicative"] | dict = True,
    winsorise: float = WINSORISE,
) -> pd.DataFrame:
    """The funnel's control-limit curves, for plotting.

    Parameters
    ----------
    df, numerator, denominator
        The units (as for :func:`funnel`); they give the pooled centre and the range of
        denominators. May be omitted when both ``target`` and ``denominators`` are given.
    kind, multiplier, target
        As for :func:`funnel`.
    denominators
        Denominators at which to evaluate the curves; default ``points`` values spaced
        geometrically from half the smallest to 1.1 times the largest unit denominator.
    points
        Number of curve points when ``denominators`` is not given (default 100).
    overdispersion, winsorise
        As for :func:`funnel`, estimated from the units; or the adjustment a funnel
        already estimated (its ``attrs["sna"]["funnel"]["overdispersion"]``), the only way
        to adjust curves drawn without the units.

    Returns
    -------
    pandas.DataFrame
        ``denominator``, ``baseline``, ``lower_2s_limit``, ``upper_2s_limit``,
        ``lower_3s_limit``, ``upper_3s_limit``, one row per denominator.
        ``attrs["sna"]["funnel_limits"]["overdispersion"]`` records the adjustment.

    Examples
    --------
    >>> lim = funnel_limits(target=0.001, denominators=[10_000, 100_000])
    >>> print(lim.drop(columns="baseline").round(1).to_string())
       denominator  lower_2s_limit  upper_2s_limit  lower_3s_limit  upper_3s_limit
    0      10000.0            38.3           171.3            13.7           215.7
    1     100000.0            80.4           120.6            70.1           132.8
    """
    kind = _check_kind(kind)
    m = _check_multiplier(multiplier if multiplier is not None else (1e5 if kind == "rate" else 1))
    if df is not None:
        _check_frame(df)
        _check_columns(df, [numerator, denominator])
        num = _numeric(df, numerator, role="numerator")
        den = _numeric(df, denominator, role="denominator")
        _positive(den, denominator, role="denominator")
        centre = _pooled(num, den, target)
        od = overdispersion if isinstance(overdispersion, dict) else _overdispersion(
            num.to_numpy(), den.to_numpy(), centre, kind, overdispersion, winsorise)
    elif target is None or denominators is None:
        raise AnalysisInputError(
            "funnel_limits needs either the units (df, numerator, denominator) or both "
            "target= and denominators="
        )
    else:
        centre = float(target)
        od = overdispersion if isinstance(overdispersion, dict) else None
    if denominators is None:
        lo, hi = float(den.min()) / 2, float(den.max()) * 1.1
        grid = np.geomspace(max(lo, 1e-9), hi, int(points))
    else:
        grid = np.asarray(denominators, dtype=float)
        if (grid <= 0).any():
            raise AnalysisInputError("denominators must all be positive")
    out = pd.DataFrame({"denominator": grid, "baseline": centre * m})
    for k, v in _limits_at(grid, centre, kind, m, od).items():
        out[k] = v
    record(out, "funnel_limits", {"kind": kind, "centre": centre * m, "multiplier": m,
                                  "overdispersion": od})
    return out
