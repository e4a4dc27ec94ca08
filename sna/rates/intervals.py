"""Confidence limits of counts and proportions: Byar's, exact (Garwood) Poisson, Wilson.

The interval primitives of :mod:`sna.rates` (vectorised; counts may be arrays), as
PHEindicatormethods: :func:`poisson_count_limits` (exact below 10 events, Byar's from 10),
:func:`byars_lower` / :func:`byars_upper`, :func:`exact_poisson_lower` /
:func:`exact_poisson_upper`, and the Wilson score limits :func:`wilson_lower` /
:func:`wilson_upper`.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["poisson_count_limits", "byars_lower", "byars_upper", "exact_poisson_lower",
           "exact_poisson_upper", "wilson_lower", "wilson_upper", "BYAR_MIN_COUNT"]

#: Count below which exact limits replace Byar's approximation (as PHEindicatormethods).
BYAR_MIN_COUNT = 10


def _z(c: float) -> float:
    return float(stats.norm.ppf(1 - (1 - c) / 2))


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
