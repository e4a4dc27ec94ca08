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

The package, one module per family of methods: :mod:`~sna.rates.intervals` (the limits of
counts and proportions), :mod:`~sna.rates.crude` (crude rates, proportions),
:mod:`~sna.rates.standardised` (DSR, ESP2013) and :mod:`~sna.rates.funnels` (funnel limits,
over-dispersion); their shared input checks are in ``sna.rates._common``.

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

from ._common import Confidence  # noqa: F401 - kept at its former path, sna.rates.Confidence
from .crude import crude_rate, proportion
from .funnels import (  # noqa: F401
    FUNNEL_CLASSES,
    OVERDISPERSION_METHODS,
    WINSORISE,
    dispersion,
    funnel,
    funnel_limits,
)
from .intervals import (BYAR_MIN_COUNT, byars_lower, byars_upper,  # noqa: F401
                        exact_poisson_lower, exact_poisson_upper, poisson_count_limits,
                        wilson_lower, wilson_upper)
from .standardised import DSR_MIN_COUNT, EMPTY_BANDS, ESP2013, dsr, esp2013_band  # noqa: F401

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
