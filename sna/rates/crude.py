"""Crude rates with Byar's (or exact) interval, and proportions with the Wilson interval.

- :func:`crude_rate` -- rate per ``multiplier`` with Byar's interval (exact below 10 events);
- :func:`proportion` -- proportion with the Wilson score interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._log import record
from .._validate import as_list as _as_list
from .._validate import check_columns as _check_columns
from .._validate import check_frame as _check_frame
from .._validate import confidences as _confidences
from ..errors import AnalysisInputError
from ._common import Confidence
from ._common import add_limits as _add_limits
from ._common import aggregate as _aggregate
from ._common import check_multiplier as _check_multiplier
from ._common import fmt_mult as _fmt_mult
from ._common import level_label as _level_label
from ._common import numeric as _numeric
from ._common import positive as _positive
from .intervals import BYAR_MIN_COUNT, poisson_count_limits, wilson_lower, wilson_upper

__all__ = ["crude_rate", "proportion"]


def _units(df: pd.DataFrame, numerator: str, denominator: str, by):
    """The output's rows (``df``, or its sums by ``by``) and their checked numerators and
    (positive) denominators."""
    num = _numeric(df, numerator, role="numerator")
    den = _numeric(df, denominator, role="denominator")
    if by is not None:
        out = _aggregate(df.assign(**{numerator: num, denominator: den}), by, [numerator, denominator])
        num, den = out[numerator].astype(float), out[denominator].astype(float)
    else:
        out = df.copy()
    _positive(den, denominator, role="denominator")
    return out, num, den


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
    out, num, den = _units(df, numerator, denominator, by)
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
    out, num, den = _units(df, numerator, denominator, by)
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
