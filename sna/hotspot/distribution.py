"""How events are distributed: concentration in the top areas with the Gini coefficient and
Lorenz curve (:func:`concentration`), overlap between two sources' top areas
(:func:`overlap`), and rates by deprivation decile (:func:`by_deprivation`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .._log import record
from ._inputs import fail

__all__ = [
    "Concentration",
    "Overlap",
    "concentration",
    "overlap",
    "by_deprivation",
]


# --------------------------------------------------------------------------------------------
# concentration, overlap, deprivation
# --------------------------------------------------------------------------------------------


def _count_series(counts, value: str, what: str) -> pd.Series:
    if isinstance(counts, pd.Series):
        s = counts
    elif isinstance(counts, pd.DataFrame):
        if value not in counts.columns:
            raise fail(f"{what}: column {value!r} not found.", column=value)
        s = counts[value]
        if "lsoa" in counts.columns and not counts["lsoa"].duplicated().any():
            s = pd.Series(s.to_numpy(), index=pd.Index(counts["lsoa"].to_numpy(), name="lsoa"))
    else:
        raise fail(f"{what} must be a DataFrame or Series of counts, got {type(counts).__name__}.")
    if len(s) == 0:
        raise fail(f"{what} is empty.")
    s = pd.to_numeric(s, errors="coerce")
    if s.isna().any() or (s < 0).any():
        raise fail(
            f"{what}: counts must be non-negative numbers ({int(s.isna().sum())} missing).",
            column=value,
        )
    return s.astype(float)

@dataclass(frozen=True)
class Concentration:
    """How concentrated events are in few areas (see :func:`concentration`)."""

    shares: pd.DataFrame
    gini: float
    lorenz: pd.DataFrame
    n_areas: int
    n_events: float
    meta: dict = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row: the shares in the top areas and the Gini coefficient."""
        row = {
            f"share_top_{_pct(t)}": s
            for t, s in zip(self.shares["top"], self.shares["share"], strict=True)
        }
        return pd.DataFrame(
            [{"n_areas": self.n_areas, "n_events": self.n_events, **row, "gini": self.gini}]
        )

def _pct(t: float) -> str:
    return f"{t * 100:g}pct"

def concentration(
    counts, *, value: str = "n", tops: Sequence[float] = (0.01, 0.05, 0.1)
) -> Concentration:
    """Share of events in the top 1 %, 5 %, 10 % of areas, the Gini coefficient and the
    Lorenz curve.

    Parameters
    ----------
    counts
        A table with one row per area (all areas, including those with no events) and a
        count column, or a Series of counts.
    value
        The count column (default ``"n"``).
    tops
        Proportions of areas (default 1 %, 5 %, 10 %).

    Returns
    -------
    Concentration
        ``shares`` (DataFrame: ``top``, ``n_areas`` -- round(top × areas), at least 1 --,
        ``events``, ``share``), ``gini``, ``lorenz`` (DataFrame: ``area_share``,
        ``event_share``, from (0, 0) to (1, 1), areas in increasing order of events),
        ``n_areas``, ``n_events``; ``to_frame()`` gives one summary row.

    Raises
    ------
    AnalysisInputError
        No areas, missing or negative counts, or no events at all.

    Notes
    -----
    ``G = 2 Σᵢ i·x₍ᵢ₎ / (n Σ x) − (n + 1)/n`` with x sorted increasingly (i = 1..n); 0 when
    every area has the same count, (n − 1)/n when one area has them all. With fewer events
    than areas the Gini is high by construction (Bernasco & Steenbeek 2017): read it with
    the number of events.

    Examples
    --------
    >>> c = concentration(pd.Series([0, 0, 0, 1]))
    >>> round(c.gini, 4)
    0.75
    >>> concentration(pd.Series(range(1, 101))).shares[["top", "n_areas", "share"]].round(4)
        top  n_areas   share
    0  0.01        1  0.0198
    1  0.05        5  0.0970
    2  0.10       10  0.1891
    """
    s = _count_series(counts, value, "concentration")
    x = np.sort(s.to_numpy())
    n, total = len(x), float(x.sum())
    if total <= 0:
        raise fail("concentration: there are no events (all counts are zero).", column=value)
    desc = x[::-1]
    cum = np.cumsum(desc)
    rows = []
    for t in tops:
        if not 0 < t <= 1:
            raise fail(f"tops must be proportions in (0, 1], got {t!r}.")
        k = max(1, math.floor(t * n + 0.5))
        rows.append(
            {
                "top": float(t),
                "n_areas": k,
                "events": float(cum[k - 1]),
                "share": float(cum[k - 1] / total),
            }
        )
    i = np.arange(1, n + 1)
    gini = float(2 * (i * x).sum() / (n * total) - (n + 1) / n)
    lorenz = pd.DataFrame(
        {"area_share": np.r_[0.0, i / n], "event_share": np.r_[0.0, np.cumsum(x) / total]}
    )
    return Concentration(
        shares=pd.DataFrame(rows),
        gini=gini,
        lorenz=lorenz,
        n_areas=n,
        n_events=total,
        meta={"top_rule": "round(top x areas), at least 1, areas ranked by events"},
    )

@dataclass(frozen=True)
class Overlap:
    """Agreement between two sources' top areas (see :func:`overlap`)."""

    jaccard: float
    spearman: float
    spearman_pvalue: float
    n_areas: int
    top: float
    top_a: list
    top_b: list
    both: list
    meta: dict = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row: sizes of the top sets, their overlap, Jaccard and Spearman."""
        return pd.DataFrame(
            [
                {
                    "n_areas": self.n_areas,
                    "top": self.top,
                    "n_top_a": len(self.top_a),
                    "n_top_b": len(self.top_b),
                    "n_both": len(self.both),
                    "jaccard": self.jaccard,
                    "spearman": self.spearman,
                    "spearman_pvalue": self.spearman_pvalue,
                }
            ]
        )

def _top_set(s: pd.Series, top: float) -> list:
    k = max(1, math.floor(top * len(s) + 0.5))
    ordered = s.sort_values(ascending=False, kind="mergesort")
    threshold = ordered.iloc[k - 1]
    chosen = s[(s >= threshold) & (s > 0)]
    return sorted(chosen.index.tolist(), key=str)

def overlap(a, b, *, top: float = 0.1, value: str = "n") -> Overlap:
    """How far two sources (police, ambulance, A&E) agree on where violence is.

    Parameters
    ----------
    a, b
        Counts per area from two sources (tables with ``value`` -- matched on ``lsoa`` when
        both have it, else on the index -- or Series). Areas missing from one side count 0.
    top
        Proportion of areas that make the "top" set of each source (default 0.1).
    value
        The count column (default ``"n"``).

    Returns
    -------
    Overlap
        ``jaccard`` (``|A ∩ B| / |A ∪ B|`` of the two top sets), ``spearman`` (rank correlation
        over all areas) and its ``spearman_pvalue``, ``top_a``, ``top_b``, ``both`` (area
        labels), ``n_areas``; ``to_frame()`` gives one row.

    Raises
    ------
    AnalysisInputError
        Empty inputs, missing or negative counts, or a top proportion outside (0, 1].

    Notes
    -----
    A top set holds the round(top × areas) areas with most events, plus any tied with the
    last of them (so ties are not broken arbitrarily); areas with no events are never in it.

    Examples
    --------
    >>> a = pd.Series([10, 8, 1, 0, 0], index=list("ABCDE"))
    >>> b = pd.Series([9, 0, 7, 1, 0], index=list("ABCDE"))
    >>> o = overlap(a, b, top=0.4)
    >>> o.both, round(o.jaccard, 3), round(o.spearman, 3)
    (['A'], 0.333, 0.5)
    """
    if not 0 < top <= 1:
        raise fail(f"top must be a proportion in (0, 1], got {top!r}.")
    sa = _count_series(a, value, "overlap (a)")
    sb = _count_series(b, value, "overlap (b)")
    idx = sa.index.union(sb.index)
    sa = sa.groupby(level=0).sum().reindex(idx, fill_value=0.0)
    sb = sb.groupby(level=0).sum().reindex(idx, fill_value=0.0)
    ta, tb = _top_set(sa, top), _top_set(sb, top)
    both = sorted(set(ta) & set(tb), key=str)
    union = set(ta) | set(tb)
    jac = len(both) / len(union) if union else float("nan")
    if sa.nunique() > 1 and sb.nunique() > 1:
        res = stats.spearmanr(sa.to_numpy(), sb.to_numpy())
        rho, pval = float(res.statistic), float(res.pvalue)
    else:
        rho = pval = float("nan")
    return Overlap(
        jaccard=float(jac),
        spearman=rho,
        spearman_pvalue=pval,
        n_areas=len(idx),
        top=float(top),
        top_a=ta,
        top_b=tb,
        both=both,
        meta={"ties": "areas tied with the last of the top set are included"},
    )

def _rate_limits(o: np.ndarray, pop: np.ndarray, per: float, confidence: float):
    """Crude rate with Byar's interval (exact Poisson below 10), from :mod:`sna.rates`."""
    from ..rates import poisson_count_limits

    lo, hi, _ = poisson_count_limits(o, confidence)
    return o / pop * per, lo / pop * per, hi / pop * per

def _group_dispersion(geo, tab, group, population) -> dict:
    """Quasi-Poisson dispersion of the LSOA counts around their group's rate."""
    rates = (tab.set_index(group)["n"] / tab.set_index(group)["population"]).astype(float)
    expected = geo[population].astype(float).to_numpy() * geo[group].map(rates).to_numpy()
    observed = geo["n"].astype(float).to_numpy()
    df = int(len(geo) - len(tab))
    use = expected > 0
    if df <= 0:
        return {"phi": None, "df": df, "applied": False,
                "reason": "one LSOA per group: the dispersion cannot be estimated"}
    phi = float(((observed[use] - expected[use]) ** 2 / expected[use]).sum() / df)
    return {"phi": phi, "df": df, "applied": bool(phi > 1),
            "method": "Pearson chi-squared / (LSOAs - groups), as a quasi-Poisson GLM",
            "reason": "phi > 1: intervals widened by about sqrt(phi)" if phi > 1 else
            "phi <= 1: Poisson intervals"}


def by_deprivation(
    counts,
    geography: pd.DataFrame,
    *,
    value: str = "n",
    population: str = "population",
    decile: str = "imd_decile",
    per: float = 1000,
    confidence: float = 0.95,
    quintiles: bool = False,
    overdispersion: bool = True,
) -> pd.DataFrame:
    """Rates by IMD decile (or quintile) with Byar's intervals, and the rate ratio of the most
    to the least deprived.

    Parameters
    ----------
    counts
        Events per LSOA: a table with ``lsoa`` and ``value`` columns (e.g. :func:`count` on
        the geography), or a Series indexed by LSOA code.
    geography
        One row per LSOA with ``lsoa``, ``population`` and ``imd_decile`` (1 = most
        deprived 10 % of England).
    value, population, decile
        Column names.
    per
        Rate per this many people (default 1,000).
    confidence
        Confidence level of the intervals (default 0.95).
    quintiles
        Group deciles into quintiles (1-2 → 1 ... 9-10 → 5), for areas with few LSOAs in
        some deciles.
    overdispersion
        Widen the intervals for the extra variation between the LSOAs of a group (default
        True; see Notes). False: plain Poisson intervals, as if every event were
        independent of every other.

    Returns
    -------
    pandas.DataFrame
        One row per decile present (``imd_decile`` or ``imd_quintile``): ``areas``, ``n``,
        ``population``, ``rate``, ``lowercl``, ``uppercl`` (Byar's, exact below 10 events),
        ``rate_ratio`` (to the least deprived group present, the reference: 1 by
        definition, with no interval), ``rr_lowercl``, ``rr_uppercl``.
        ``attrs["sna"]["by_deprivation"]`` holds the rate ratio of the most to the least
        deprived group with its interval and which groups they are, and under
        ``overdispersion`` the dispersion φ, its degrees of freedom and whether the
        intervals were widened.

    Raises
    ------
    AnalysisInputError
        Missing columns, LSOAs with events but not in the geography, missing populations or
        deciles outside 1..10.

    Notes
    -----
    Rate ratio interval: exact, conditional on the total of the two groups (the binomial
    split of O₁ + O₂, Clopper-Pearson limits turned into the ratio) -- statsmodels'
    ``exact-cond`` method; LSOAs without a decile are left out and counted. The reference
    group's ratio with itself is 1 and has no interval.

    Over-dispersion: violence clusters, so the LSOAs of one decile vary far more than
    Poisson counts would. The dispersion is estimated as in a quasi-Poisson model of the
    LSOA counts with one rate per group (McCullagh & Nelder 1989): ``φ = Σ (Oₗ − Eₗ)²/Eₗ /
    (L − G)`` over the L LSOAs, ``Eₗ`` the LSOA's population times its group's rate, G the
    groups -- the scale statsmodels' ``GLM(..., family=Poisson()).fit(scale="X2")`` gives.
    When φ > 1 every interval is computed from the effective count ``O/φ`` (Byar's or
    exact limits of ``O/φ``, scaled back; the rate ratio's exact interval on ``O₁/φ`` and
    ``O₂/φ``), so intervals widen by about √φ; φ ≤ 1, or no degrees of freedom (one LSOA per
    group), leaves the Poisson intervals.

    Examples
    --------
    >>> import pandas as pd
    >>> geo = pd.DataFrame({"lsoa": list("ABCD"), "population": [1000, 1000, 2000, 2000],
    ...                     "imd_decile": [1, 1, 10, 10]})
    >>> ev = pd.DataFrame({"lsoa": list("ABCD"), "n": [30, 10, 10, 10]})
    >>> out = by_deprivation(ev, geo)
    >>> out[["imd_decile", "n", "rate", "rate_ratio"]]
       imd_decile   n  rate  rate_ratio
    0           1  40  20.0         4.0
    1          10  20   5.0         1.0
    """
    geo, group, no_decile = _lsoas(counts, geography, value, population, decile, quintiles)
    tab = (
        geo.groupby(group)
        .agg(areas=("lsoa", "size"), n=("n", "sum"), population=(population, "sum"))
        .reset_index()
        .sort_values(group, kind="mergesort")
        .reset_index(drop=True)
    )
    o = tab["n"].to_numpy(dtype=float)
    p = tab["population"].to_numpy(dtype=float)
    od = _group_dispersion(geo, tab, group, population) if overdispersion else None
    scale = od["phi"] if od and od["applied"] else 1.0
    rate = o / p * per
    _, lo, hi = _rate_limits(o / scale, p / scale, per, confidence)
    if np.all(np.mod(o, 1) == 0):
        tab["n"] = o.astype(np.int64)
    tab["rate"], tab["lowercl"], tab["uppercl"] = rate, lo, hi
    ref = len(tab) - 1  # least deprived group present
    rr, rlo, rhi = _rate_ratio(o / scale, p, o[ref] / scale, p[ref], confidence)
    rlo[ref] = rhi[ref] = np.nan  # the reference against itself: 1, no interval
    tab["rate_ratio"], tab["rr_lowercl"], tab["rr_uppercl"] = rr, rlo, rhi
    tab.attrs = {}
    meta = {
        "groups": group,
        "per": per,
        "confidence": confidence,
        "interval": "Byar's (exact Poisson below 10 events)"
        + (f" on the effective count O/phi (phi = {scale:.2f})" if scale != 1 else ""),
        "reference": f"{group} {int(tab[group].iloc[ref])} (least deprived present; "
        "rate ratio 1 by definition, no interval)",
        "rate_ratio": {
            "most_deprived": int(tab[group].iloc[0]),
            "least_deprived": int(tab[group].iloc[ref]),
            "value": float(rr[0]),
            "lowercl": float(rlo[0]),
            "uppercl": float(rhi[0]),
            "method": "exact conditional (binomial), Clopper-Pearson"
            + (", on effective counts O/phi" if scale != 1 else ""),
        },
        "overdispersion": od,
        "lsoas_without_decile": int(no_decile.sum()),
    }
    record(tab, "by_deprivation", meta)
    return tab

def _lsoas(counts, geography, value, population, decile, quintiles):
    """The LSOAs :func:`by_deprivation` groups, checked: those with a decile, with their
    events (``n``), population and group (decile or quintile); the group column's name and
    the mask of the geography's LSOAs without a decile."""
    for col in ("lsoa", population, decile):
        if col not in geography.columns:
            raise fail(f"by_deprivation: geography has no {col!r} column.", column=col)
    s = _count_series(counts, value, "by_deprivation")
    geo = pd.DataFrame(geography[["lsoa", population, decile]]).copy()
    unknown = sorted(set(s.index.astype(str)) - set(geo["lsoa"].astype(str)))
    s_events = s.groupby(s.index.astype(str)).sum()
    if unknown:
        lost = float(s_events.reindex(unknown).sum())
        if lost > 0:
            raise fail(
                f"by_deprivation: {len(unknown)} LSOA(s) with events are not in the geography "
                f"(e.g. {unknown[:3]}); filter the events to the area first.",
                column="lsoa",
            )
    geo["n"] = s_events.reindex(geo["lsoa"].astype(str)).fillna(0).to_numpy()
    dec = pd.to_numeric(geo[decile], errors="coerce")
    no_decile = dec.isna()
    if ((dec < 1) | (dec > 10)).any():
        raise fail("by_deprivation: IMD deciles must be 1..10 (1 = most deprived).", column=decile)
    pop = pd.to_numeric(geo[population], errors="coerce")
    if pop[~no_decile].isna().any() or (pop[~no_decile] <= 0).any():
        raise fail("by_deprivation: every LSOA needs a positive population.", column=population)
    geo = geo[~no_decile].assign(**{population: pop[~no_decile]})
    group = "imd_quintile" if quintiles else "imd_decile"
    geo[group] = (
        ((dec[~no_decile] + 1) // 2).astype(int) if quintiles else dec[~no_decile].astype(int)
    )
    return geo, group, no_decile

def _rate_ratio(o1, p1, o2, p2, confidence):
    """Rate ratio (o1/p1)/(o2/p2) with the exact conditional interval."""
    o1 = np.asarray(o1, dtype=float)
    rr = np.where(o2 > 0, (o1 / p1) / (o2 / p2) if o2 > 0 else np.nan, np.nan)
    a = 1 - confidence
    tot = o1 + o2
    with np.errstate(divide="ignore", invalid="ignore"):
        pl = np.where(o1 > 0, stats.beta.ppf(a / 2, o1, tot - o1 + 1), 0.0)
        pu = np.where(o1 < tot, stats.beta.ppf(1 - a / 2, o1 + 1, tot - o1), 1.0)
        k = p2 / p1
        lo = pl / (1 - pl) * k
        hi = np.where(pu < 1, pu / (1 - pu) * k, np.inf)
    if not o2 > 0:
        lo = np.full_like(o1, np.nan)
        hi = np.full_like(o1, np.nan)
    return rr, lo, hi
