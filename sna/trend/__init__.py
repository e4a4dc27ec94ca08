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

The package, one module per family of methods: :mod:`~sna.trend.series` (monthly series,
coverage, rolling totals), :mod:`~sna.trend.comparison` (a year against its baseline),
:mod:`~sna.trend.measures` (Table A's measures and the table of an assessment),
:mod:`~sna.trend.year_effect` (the negative-binomial year effect), :mod:`~sna.trend.seasonal`
(STL) and :mod:`~sna.trend.interrupted` (interrupted time series and its diagnostics); the
shared helpers are in ``sna.trend._common``, the count models in ``sna.trend._glm``.

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

from ._glm import QUASI_POISSON  # noqa: F401 - kept at its former path, sna.trend.QUASI_POISSON
from .comparison import MIN_RELIABLE_COUNT, compare_periods, compare_previous  # noqa: F401
from .interrupted import (
    DEFAULT_INTERRUPTION,
    LOCKDOWNS,
    interruption_month,
    its,
    its_diagnostics,
    its_effects,
    newey_west_lags,
)
from .measures import KNIFE_MEASURES, TABLE_A_REASONS, table_a, table_a_measures
from .seasonal import stl
from .series import assessment_window, gap_note, monthly, rolling_12
from .year_effect import nb_year_effect

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
