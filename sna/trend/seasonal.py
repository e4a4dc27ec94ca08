"""Seasonal-trend decomposition of monthly series by LOESS (STL, period 12).

:func:`stl` -- trend, seasonal and remainder of each series (statsmodels ``STL``), robust
when the window includes the first pandemic year.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pandas as pd

from .._log import record
from ..errors import AnalysisInputError
from ._common import label as _label
from ._common import monthly_values as _monthly_values
from ._common import months as _months
from ._common import regular as _regular

__all__ = ["stl"]

#: Months of the first pandemic year; an STL window containing any of them is fitted robustly.
_PANDEMIC = (pd.Timestamp("2020-03-01"), pd.Timestamp("2021-03-31"))


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

    by_cols, x = _monthly_values(data, value, date, by)
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
