"""Funnel plots: control limits and each unit's significance class, over-dispersion allowed.

- :func:`funnel` -- funnel-plot limits (95 % and 99.8 %) at each unit's denominator and its
  class (:data:`FUNNEL_CLASSES`);
- :func:`funnel_limits` -- the limit curves, for plotting;
- :func:`dispersion` -- Spiegelhalter's over-dispersion ratio φ and between-unit variance τ².
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from .._log import record
from .._validate import check_columns as _check_columns
from .._validate import check_frame as _check_frame
from ..errors import AnalysisInputError
from ._common import check_multiplier as _check_multiplier
from ._common import numeric as _numeric
from ._common import positive as _positive
from .intervals import exact_poisson_lower, exact_poisson_upper

__all__ = ["funnel", "funnel_limits", "dispersion", "FUNNEL_CLASSES", "OVERDISPERSION_METHODS",
           "WINSORISE"]

#: Significance classes of :func:`funnel`, from highest to lowest.
FUNNEL_CLASSES: tuple[str, ...] = (
    "High (0.001)",
    "High (0.025)",
    "Not significant",
    "Low (0.025)",
    "Low (0.001)",
)


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
