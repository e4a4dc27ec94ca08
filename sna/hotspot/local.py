"""Local statistics: Getis-Ord Gi* hot and cold spots (:func:`gistar`) and local Moran's I
clusters (:func:`local_moran`).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from .._log import logger, record
from ._inference import (
    DEFAULT_SEED,
    Alternative,
    Correction,
    adjust_pvalues,
    check_common,
    norm_pvalues,
    perm_pvalues,
    record_resolution,
    tail_counts,
)
from ._inputs import fail, population_of
from .weights import WeightsSpec, neighbours

__all__ = [
    "HOTSPOT_LABELS",
    "CLUSTER_LABELS",
    "gistar",
    "local_moran",
]


#: Gi* classes, strongest first (``hotspot`` column).
HOTSPOT_LABELS: tuple[str, ...] = (
    "hot spot (99.9%)",
    "hot spot (99%)",
    "hot spot (95%)",
    "not significant",
    "cold spot (95%)",
    "cold spot (99%)",
    "cold spot (99.9%)",
)

_LEVELS = ((0.001, "99.9%"), (0.01, "99%"), (0.05, "95%"))

#: Local Moran cluster classes (``cluster`` column); ``quadrant`` takes the first four.
CLUSTER_LABELS: tuple[str, ...] = ("HH", "LH", "LL", "HL", "not significant")

# --------------------------------------------------------------------------------------------
# Gi* and local Moran
# --------------------------------------------------------------------------------------------


def _values(data: pd.DataFrame, value: str, rates: bool, population, per: float, what: str):
    if not isinstance(data, pd.DataFrame):
        raise fail(f"data must be a DataFrame or GeoDataFrame, got {type(data).__name__}.")
    if len(data) == 0:
        raise fail(f"{what}: data is empty.")
    if value not in data.columns:
        raise fail(
            f"{what}: column {value!r} not found in data (columns: {list(data.columns)[:12]}).",
            column=value,
        )
    x = pd.to_numeric(data[value], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(x).all():
        bad = list(data.index[~np.isfinite(x)][:5])
        raise fail(
            f"{what}: column {value!r} has {int((~np.isfinite(x)).sum())} missing or non-numeric "
            f"value(s) (index {bad}); fill them (e.g. with 0 for no events) or drop the rows.",
            column=value,
        )
    if population is None and rates:
        population = "population"
    if population is not None:
        pop = population_of(data, population, what)
        return x / pop * per, population
    return x, None

def _hotspot_labels(padj: np.ndarray, hot: np.ndarray) -> np.ndarray:
    out = np.full(len(padj), "not significant", dtype=object)
    for level, name in reversed(_LEVELS):
        sig = padj <= level
        out[sig & hot] = f"hot spot ({name})"
        out[sig & ~hot] = f"cold spot ({name})"
    return out

def star_weights(mat):
    """The Gi* weights: binary, the unit itself included (the "star"); with each unit's
    Wᵢ = Σⱼ wᵢⱼ and S1ᵢ = Σⱼ wᵢⱼ²."""
    wstar = mat + sparse.identity(mat.shape[0], format="csr")
    wi = np.asarray(wstar.sum(axis=1)).ravel()
    s1 = np.asarray(wstar.multiply(wstar).sum(axis=1)).ravel()
    return wstar, wi, s1

def gistar_z(x: np.ndarray, wstar, wi: np.ndarray, s1: np.ndarray) -> np.ndarray:
    """Gi* z-scores of ``x`` (Ord & Getis 1995; see :func:`gistar`); NaN where every unit is
    a neighbour."""
    n = len(x)
    xbar = x.mean()
    s = np.sqrt((x**2).mean() - xbar**2)
    lag = np.asarray(wstar @ x).ravel()
    den = s * np.sqrt(np.maximum(n * s1 - wi**2, 0.0) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, (lag - xbar * wi) / np.where(den > 0, den, 1.0), np.nan)

def _gistar_permutations(x, mat, wstar, permutations, seed, alternative, randomisation):
    """Pseudo p-values of Gi* and the direction of each unit (hot = upper tail)."""
    if randomisation == "total":
        ge, le = tail_counts(x, wstar, permutations, seed, conditional=False)
        return perm_pvalues(ge, le, permutations, alternative)
    # the unit's own value is fixed: its star sum's rank is its neighbours' sum's rank
    ge, le = tail_counts(x, mat, permutations, seed, conditional=True)
    alone = np.diff(mat.indptr) == 0
    ge[alone] = permutations
    le[alone] = permutations
    p, hot = perm_pvalues(ge, le, permutations, alternative)
    return p, np.where(alone, x > x.mean(), hot)

class _Inputs(NamedTuple):
    """The checked inputs both statistics start from."""

    x: np.ndarray  # the values (or rates) analysed
    pop_col: str | None  # the population column of a rate, else None
    mat: sparse.csr_matrix  # binary neighbours, the unit itself excluded
    winfo: dict  # how the neighbours were found
    value: str
    per: float

def _inputs(data, what, value, rates, population, per, weights, tolerance, k, distance, islands):
    """Values (or rates) of ``data``, at least 3 areas, and their neighbours."""
    x, pop_col = _values(data, value, rates, population, per, what)
    if len(x) < 3:
        raise fail(f"{what} needs at least 3 areas.")
    mat, winfo = neighbours(
        data, weights, tolerance=tolerance, k=k, distance=distance, islands=islands
    )
    return _Inputs(x, pop_col, mat, winfo, value, per)

def _result(data, what, inp: _Inputs, columns: dict, *, style, method, permutations, seed,
            alternative, correction, sampling: dict, extra: dict, level: float = 0.01):
    """``data`` (its attrs cleared) plus ``rate`` when rates were analysed and the statistic's
    ``columns``; every choice recorded in ``attrs["sna"][what]``, with the p-values'
    resolution (:func:`record_resolution`). ``sampling`` follows ``permutations`` and
    ``extra`` closes the record."""
    out = data.copy()
    out.attrs = {}
    if inp.pop_col is not None:
        out["rate"] = inp.x
    for name, column in columns.items():
        out[name] = column
    meta = {
        "value": "rate" if inp.pop_col is not None else inp.value,
        "rate": {"population": inp.pop_col, "per": inp.per} if inp.pop_col is not None else None,
        "weights": {**inp.winfo, "style": style},
        "pvalues": method,
        "permutations": int(permutations),
        **sampling,
        "seed": int(seed) if permutations else None,
        "alternative": alternative,
        "correction": correction,
        **extra,
    }
    p, padj = columns["pvalue"], columns["pvalue_adj"]
    record_resolution(meta, p, padj, permutations, alternative, correction, what, level)
    record(out, what, meta)
    return out

def _gistar_scores(x: np.ndarray, mat, value: str):
    """Gi* star weights and z-scores of ``x``, after checking that the values differ; a
    warning counts the units where Gi* is undefined."""
    xbar = x.mean()
    s = np.sqrt((x**2).mean() - xbar**2)
    if not s > 1e-12 * max(1.0, abs(xbar)):
        raise fail(
            f"gistar: all values of {value!r} are equal; there is no hot or cold spot to find.",
            column=value,
        )
    wstar, wi, s1 = star_weights(mat)
    z = gistar_z(x, wstar, wi, s1)
    undefined = int(np.isnan(z).sum())
    if undefined:
        logger.warning(
            "gistar: %d unit(s) have every unit as a neighbour, so Gi* is undefined there (NaN)",
            undefined,
        )
    return wstar, z, undefined

def _gistar_pvalues(x, mat, wstar, z, permutations, seed, alternative, randomisation):
    """p-values of Gi*, the direction of each unit (hot = upper tail) and how they were
    found: permutations, or the normal approximation when ``permutations`` is 0."""
    if randomisation not in ("conditional", "total"):
        raise fail(f"randomisation must be 'conditional' or 'total', got {randomisation!r}.")
    if permutations:
        p, hot = _gistar_permutations(x, mat, wstar, permutations, seed, alternative,
                                      randomisation)
        method = f"permutation, {randomisation} randomisation ({permutations}, seed {seed})"
    else:
        p, hot = norm_pvalues(z, alternative)
        method = "normal approximation"
    return p, hot, method

def _log_spots(out, winfo, method, correction) -> None:
    logger.info(
        "gistar: %d hot and %d cold spots (%s, %s, correction %s)",
        int(np.char.startswith(out["hotspot"].to_numpy(dtype=str), "hot").sum()),
        int(np.char.startswith(out["hotspot"].to_numpy(dtype=str), "cold").sum()),
        winfo["method"],
        method,
        correction,
    )

def _moran(inp: _Inputs, value: str):
    """Local Moran's I of ``inp.x``, after checking that the values differ: the scaled
    deviations z, the row-standardised weights, the spatial lag of z, Σ zⱼ² and Iᵢ."""
    x, n = inp.x, len(inp.x)
    sd = x.std()
    if not sd > 1e-12 * max(1.0, abs(x.mean())):
        raise fail(
            f"local_moran: all values of {value!r} are equal; there is no cluster to find.",
            column=value,
        )
    z = (x - x.mean()) / sd
    rs = np.asarray(inp.mat.sum(axis=1)).ravel()
    inv = sparse.diags(np.where(rs != 0, 1 / np.where(rs != 0, rs, 1), 0))
    wr = (inv @ inp.mat).tocsr()
    lag = np.asarray(wr @ z).ravel()
    den = (z * z).sum()
    lisa = (n - 1) * z * lag / den
    return z, wr, lag, den, lisa

def _moran_pvalues(x, z, wr, den, lisa, permutations, seed, alternative):
    """p-values of local Moran's I and how they were found: conditional permutations, or
    the normal approximation with the conditional-randomisation moments."""
    n = len(x)
    if permutations:
        # the lag of z is an increasing function of the lag of x: count on x (exact sums)
        ge, le = tail_counts(x, wr, permutations, seed, conditional=True)
        # I is increasing in the neighbour sum when z_i > 0, decreasing when z_i < 0
        pos = z > 0
        ge_i = np.where(pos, ge, le)
        le_i = np.where(pos, le, ge)
        zero = z == 0
        ge_i[zero] = permutations
        le_i[zero] = permutations
        p, _ = perm_pvalues(ge_i, le_i, permutations, alternative)
        return p, f"conditional permutation ({permutations}, seed {seed})"
    m2 = den / n
    wi = np.asarray(wr.sum(axis=1)).ravel()
    wi2 = np.asarray(wr.multiply(wr).sum(axis=1)).ravel()
    e = -(z**2 * wi) / ((n - 1) * m2)
    v = (z / m2) ** 2 * (n / (n - 2)) * (wi2 - wi**2 / (n - 1)) * (m2 - z**2 / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        zz = np.where(v > 0, (lisa - e) / np.sqrt(v), 0.0)
    p, _ = norm_pvalues(zz, alternative)
    return p, "normal approximation (conditional randomisation moments, Sokal et al. 1998)"


def gistar(
    data: gpd.GeoDataFrame,
    *,
    value: str = "n",
    weights: WeightsSpec = "queen",
    permutations: int = 999,
    correction: Correction = "fdr_bh",
    alternative: Alternative = "two-sided",
    seed: int = DEFAULT_SEED,
    rates: bool = False,
    population: str | None = None,
    per: float = 1000,
    tolerance: float | None = None,
    k: int = 6,
    distance: float | None = None,
    islands: Literal["nearest", "raise"] = "nearest",
    randomisation: Literal["conditional", "total"] = "conditional",
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots.

    Parameters
    ----------
    data
        One row per area or grid cell with a value column (e.g. the output of
        :func:`count`), with geometry unless ``weights`` is a matrix.
    value
        Column to analyse (default ``"n"``).
    weights
        Neighbours, see :func:`neighbours` (default ``"queen"``: contiguity with a 1 m
        tolerance; ``"adjacent"`` on grids). Weights are binary and the unit itself is
        included (the "star" in Gi*).
    permutations
        Permutations for the pseudo p-values (default 999, seeded; see ``randomisation``).
        ``0`` uses the normal approximation (analytical p-values, as sfhotspot and ArcGIS's
        Hot Spot Analysis).
    correction
        Multiple-testing correction applied across the areas: ``"fdr_bh"`` (default),
        ``"holm"``, ``"bonferroni"`` or ``None``. The classes use the adjusted p-value.
    alternative
        ``"two-sided"`` (default: hot and cold spots), ``"greater"`` (hot only) or
        ``"less"`` (cold only).
    seed
        Random seed of the permutations (default 12345): same input, same output.
    randomisation
        ``"conditional"`` (default, as esda's ``G_Local`` and ArcGIS's permutation tests):
        each unit keeps its own value and its neighbours' values are drawn from the other
        n − 1; ``"total"``: the unit's value is drawn with its neighbours' from all n.
    rates, population, per
        Run on rates instead of counts where populations differ: ``population`` names the
        population column (``rates=True`` uses ``"population"``); the statistic is computed
        on ``value / population × per`` and a ``rate`` column is added.
    tolerance, k, distance, islands
        Passed to :func:`neighbours`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``data`` (same index, same CRS) plus ``gistar`` (the Gi* z-score), ``pvalue``
        (two-sided unless ``alternative`` says otherwise), ``pvalue_adj`` (after
        ``correction``) and ``hotspot``: ``"hot spot (99.9%)"``, ``"hot spot (99%)"``,
        ``"hot spot (95%)"``, ``"not significant"``, ``"cold spot (95%)"`` ... for
        ``pvalue_adj`` at or below 0.001, 0.01 and 0.05. ``attrs["sna"]["gistar"]`` records
        every choice: weights (method, tolerance, islands), permutations, seed, correction,
        alternative.

    Raises
    ------
    AnalysisInputError
        Empty data, a missing or non-numeric value column, no geometry, unknown weights,
        correction or alternative, or values that are all equal.

    Notes
    -----
    Ord & Getis (1995): with binary weights wᵢⱼ including wᵢᵢ = 1, Wᵢ = Σⱼ wᵢⱼ,
    S1ᵢ = Σⱼ wᵢⱼ², mean x̄ and (population) standard deviation s,

    ``Gi* = (Σⱼ wᵢⱼ xⱼ − x̄ Wᵢ) / (s √((n S1ᵢ − Wᵢ²) / (n − 1)))``,

    identical to esda ``G_Local(star=True, transform="B")`` ``Zs``. Analytical p-values
    are two-sided normal, ``2 Φ(−|z|)``.

    Permutation p-values use *conditional* randomisation by default (Anselin 1995; esda
    ``G_Local(star=True)``, ArcGIS): the unit's own value is held fixed and the values of
    its Wᵢ − 1 neighbours are drawn without replacement from the other n − 1 units; the
    p-value says whether the neighbourhood around the unit is unusual given the unit.
    ``randomisation="total"`` draws the unit's value with its neighbours' from all n (the
    null whose mean and variance are exactly those of the z-score); it differs from
    conditional mostly for a unit whose own value is extreme but whose neighbours are
    ordinary, which total randomisation can call a hot spot and conditional cannot -- use
    the z-score (``permutations=0``) or local Moran's High-Low outliers to see such units.
    A unit without neighbours has nothing to permute: p = 1. Two-sided p-values double
    the smaller tail, ``min(1, 2 · (1 + #tail) / (1 + permutations))`` (esda's ``p_sim``
    is the smaller tail itself, one-sided); the direction (hot / cold) is the tail the
    observed sum is in. The smallest two-sided pseudo p-value is ``2 / (1 +
    permutations)`` -- 0.002 with 999 -- so the 99.9% class needs 1999 or more
    permutations, and after a correction over many areas even the 99% class may need more
    (9999): a warning says so and ``attrs`` records it. sfhotspot applies no correction by
    default; ``sna`` applies Benjamini-Hochberg unless told otherwise, and says so.

    Examples
    --------
    A 6 x 6 grid with two events per cell and a 2 x 2 block of 7 to 9 events:

    >>> import geopandas as gpd, numpy as np
    >>> from shapely.geometry import box
    >>> n = np.full(36, 2)
    >>> n[[14, 15, 20, 21]] = [9, 8, 7, 9]
    >>> cells = gpd.GeoDataFrame(
    ...     {"n": n}, geometry=[box(x, y, x + 1, y + 1) for y in range(6) for x in range(6)],
    ...     crs=27700)
    >>> g = gistar(cells, permutations=0)
    >>> g.loc[[14, 0], ["n", "gistar", "hotspot"]].round(3)
        n  gistar          hotspot
    14  9   3.588   hot spot (99%)
    0   2  -0.732  not significant

    With 999 permutations the smallest two-sided p-value is 0.002; after the correction
    over 36 cells the block is not significant:

    >>> gistar(cells).loc[[14], ["pvalue", "hotspot"]]
        pvalue          hotspot
    14   0.024  not significant
    """
    check_common(permutations, alternative, correction, seed)
    inp = _inputs(data, "gistar", value, rates, population, per,
                  weights, tolerance, k, distance, islands)
    wstar, z, undefined = _gistar_scores(inp.x, inp.mat, value)
    p, hot, method = _gistar_pvalues(inp.x, inp.mat, wstar, z, permutations, seed,
                                     alternative, randomisation)
    padj = adjust_pvalues(p, correction)
    columns = {"gistar": z, "pvalue": p, "pvalue_adj": padj,
               "hotspot": _hotspot_labels(padj, hot)}
    out = _result(
        data, "gistar", inp, columns, style="binary, self included (Gi*)", method=method,
        permutations=permutations, seed=seed, alternative=alternative, correction=correction,
        sampling={"randomisation": randomisation if permutations else None},
        extra={"classes": "by pvalue_adj <= 0.001 / 0.01 / 0.05; hot if above expectation",
               "n": len(inp.x), "undefined": undefined},
    )
    _log_spots(out, inp.winfo, method, correction)
    return out

def local_moran(
    data: gpd.GeoDataFrame,
    *,
    value: str = "n",
    weights: WeightsSpec = "queen",
    permutations: int = 999,
    correction: Correction = "fdr_bh",
    alternative: Alternative = "two-sided",
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
    rates: bool = False,
    population: str | None = None,
    per: float = 1000,
    tolerance: float | None = None,
    k: int = 6,
    distance: float | None = None,
    islands: Literal["nearest", "raise"] = "nearest",
) -> gpd.GeoDataFrame:
    """Local Moran's I (LISA) clusters and outliers.

    Parameters
    ----------
    data
        One row per area or grid cell with a value column, with geometry unless
        ``weights`` is a matrix.
    value
        Column to analyse (default ``"n"``).
    weights
        Neighbours, see :func:`neighbours` (default ``"queen"`` with a 1 m tolerance); the
        weights are row-standardised and the unit itself is excluded.
    permutations
        Conditional permutations (default 999, seeded); ``0`` = normal approximation with
        the conditional-randomisation moments (Sokal, Oden & Thomson 1998).
    correction
        ``"fdr_bh"`` (default), ``"holm"``, ``"bonferroni"`` or ``None``.
    alternative
        ``"two-sided"`` (default), ``"greater"`` (clusters: I above expectation) or
        ``"less"`` (outliers).
    seed
        Random seed (default 12345).
    alpha
        Significance level of the ``cluster`` column, on ``pvalue_adj`` (default 0.05).
    rates, population, per
        Analyse ``value / population × per`` instead of counts (adds ``rate``).
    tolerance, k, distance, islands
        Passed to :func:`neighbours`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``data`` plus ``lisa_i`` (local Moran's I), ``pvalue``, ``pvalue_adj``,
        ``quadrant`` (``"HH"``, ``"LH"``, ``"LL"``, ``"HL"``: the unit's value and the mean
        of its neighbours above / below the overall mean) and ``cluster`` (the quadrant
        where ``pvalue_adj <= alpha``, else ``"not significant"``).

    Raises
    ------
    AnalysisInputError
        As :func:`gistar`.

    Notes
    -----
    Anselin (1995): ``Iᵢ = (n − 1) zᵢ Σⱼ wᵢⱼ zⱼ / Σⱼ zⱼ²`` with z the deviations from the
    mean (scaled by the standard deviation) and row-standardised w -- equal to esda
    ``Moran_Local(transformation="r")`` ``Is``. p-values as in :func:`gistar` (two-sided by
    doubling the smaller tail).

    Examples
    --------
    >>> import geopandas as gpd, numpy as np
    >>> from shapely.geometry import box
    >>> n = np.full(36, 2)
    >>> n[[14, 15, 20, 21]] = [9, 8, 7, 9]
    >>> cells = gpd.GeoDataFrame(
    ...     {"n": n}, geometry=[box(x, y, x + 1, y + 1) for y in range(6) for x in range(6)],
    ...     crs=27700)
    >>> lm = local_moran(cells, correction=None)
    >>> lm.loc[[14, 0], ["n", "lisa_i", "pvalue", "quadrant", "cluster"]].round(3)
        n  lisa_i  pvalue quadrant          cluster
    14  9   2.424   0.024       HH               HH
    0   2   0.119   1.000       LL  not significant
    """
    check_common(permutations, alternative, correction, seed)
    if not 0 < alpha < 1:
        raise fail(f"alpha must be between 0 and 1, got {alpha!r}.")
    inp = _inputs(data, "local_moran", value, rates, population, per,
                  weights, tolerance, k, distance, islands)
    z, wr, lag, den, lisa = _moran(inp, value)
    p, method = _moran_pvalues(inp.x, z, wr, den, lisa, permutations, seed, alternative)
    padj = adjust_pvalues(p, correction)
    quad = np.where(z > 0, np.where(lag > 0, "HH", "HL"), np.where(lag > 0, "LH", "LL")).astype(
        object
    )
    columns = {"lisa_i": lisa, "pvalue": p, "pvalue_adj": padj, "quadrant": quad,
               "cluster": np.where(padj <= alpha, quad, "not significant").astype(object)}
    return _result(
        data, "local_moran", inp, columns, style="row-standardised, self excluded",
        method=method, permutations=permutations, seed=seed, alternative=alternative,
        correction=correction, sampling={}, extra={"alpha": alpha, "n": len(inp.x)},
        level=alpha,
    )
