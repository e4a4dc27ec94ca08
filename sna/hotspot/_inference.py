"""The inference engine the local statistics share (esda's ``crand.py`` is the model):
seeded permutations in blocks, tail counts, pseudo and normal p-values, multiple-testing
corrections (:func:`adjust_pvalues`), and the check of the p-values' resolution.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import sparse, stats

from .._log import logger
from ._inputs import fail

__all__ = [
    "DEFAULT_SEED",
    "Correction",
    "Alternative",
    "adjust_pvalues",
]


DEFAULT_SEED = 12345

_BLOCK_BUDGET = 8_000_000  # permutations x units held at once by the permutation engine

Correction = Literal["fdr_bh", "holm", "bonferroni"] | None

Alternative = Literal["two-sided", "greater", "less"]

# --------------------------------------------------------------------------------------------
# multiple testing
# --------------------------------------------------------------------------------------------


def adjust_pvalues(pvalues, method: Correction = "fdr_bh") -> np.ndarray:
    """Adjust p-values for multiple testing.

    Parameters
    ----------
    pvalues
        Array-like of p-values; NaN stays NaN and does not count as a test.
    method
        ``"fdr_bh"`` (Benjamini-Hochberg false discovery rate), ``"holm"`` (Holm's
        step-down family-wise error rate), ``"bonferroni"`` or ``None`` (no adjustment).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values (capped at 1), in the input order. As R's ``p.adjust`` and
        statsmodels' ``multipletests``.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03, 0.2], "fdr_bh").round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.2]
    >>> adjust_pvalues([0.01, 0.04, 0.03, 0.2], "holm").round(4).tolist()
    [0.04, 0.09, 0.09, 0.2]
    """
    p = np.asarray(pvalues, dtype=float)
    out = p.copy()
    if method is None or method == "none":
        return out
    ok = np.isfinite(p)
    q = p[ok]
    m = len(q)
    if m == 0:
        return out
    if method == "bonferroni":
        adj = np.minimum(q * m, 1.0)
    elif method == "holm":
        order = np.argsort(q, kind="mergesort")
        s = q[order] * (m - np.arange(m))
        s = np.minimum(np.maximum.accumulate(s), 1.0)
        adj = np.empty(m)
        adj[order] = s
    elif method == "fdr_bh":
        order = np.argsort(q, kind="mergesort")
        s = q[order] * m / np.arange(1, m + 1)
        s = np.minimum(np.minimum.accumulate(s[::-1])[::-1], 1.0)
        adj = np.empty(m)
        adj[order] = s
    else:
        raise fail(
            f"unknown correction {method!r}; choose 'fdr_bh', 'holm', 'bonferroni' or None.",
            key="correction",
        )
    out[ok] = adj
    return out

# --------------------------------------------------------------------------------------------
# conditional randomisation (vectorised, no numba)
# --------------------------------------------------------------------------------------------


def _draws(n_other: int, permutations: int, kmax: int, seed: int) -> np.ndarray:
    """(permutations, kmax) indices drawn without replacement from range(n_other), per row."""
    rng = np.random.default_rng(seed)
    kmax = min(kmax, n_other)
    if kmax == 0:
        return np.zeros((permutations, 0), dtype=np.int64)
    out = np.empty((permutations, kmax), dtype=np.int64)
    if n_other <= 4 * kmax:
        for p in range(permutations):
            out[p] = rng.permutation(n_other)[:kmax]
        return out
    # draw with replacement and redraw the (rare) rows with a repeated index
    out[:] = rng.integers(0, n_other, size=(permutations, kmax))
    while True:
        s = np.sort(out, axis=1)
        bad = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))
        if len(bad) == 0:
            return out
        out[bad] = rng.integers(0, n_other, size=(len(bad), kmax))

def tail_counts(
    x: np.ndarray,
    mat: sparse.csr_matrix,
    permutations: int,
    seed: int,
    *,
    conditional: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Permutation null of the weighted sum ``Σⱼ wᵢⱼ xⱼ`` over each unit's row of ``mat``.

    - ``conditional=True`` (local Moran; ``mat`` has no diagonal): unit i keeps its own
      value and its kᵢ neighbours' values are replaced by kᵢ values drawn without
      replacement from the other n − 1 units (Anselin 1995);
    - ``conditional=False`` (Gi*; ``mat`` includes the unit itself): all the values in the
      row, the unit's own included, are drawn without replacement from the n values -- the
      null whose mean and variance are exactly those of the Gi* z-score.

    The same draws serve every unit (as in esda's engine). Returns, per unit, the numbers of
    the ``permutations`` simulated sums that are >= and <= the observed sum.
    """
    n = len(x)
    card = np.diff(mat.indptr)
    kmax = int(card.max()) if n else 0
    pool = n - 1 if conditional else n
    ids = _draws(pool, permutations, kmax, seed)
    obs = np.asarray(mat @ x).ravel()
    ge = np.zeros(n, dtype=np.int64)
    le = np.zeros(n, dtype=np.int64)
    data = mat.data
    integer = bool(np.all(np.mod(x, 1) == 0))
    scale = float(np.abs(x).max()) * max(1.0, float(np.abs(data).max(initial=0))) * max(kmax, 1)
    tol = 1e-9 * scale
    budget = 6_000_000  # elements per block (units x permutations x neighbours)
    for kk in np.unique(card):
        if kk == 0:
            continue
        units = np.flatnonzero(card == kk)
        idx = ids[:, :kk]  # (P, k)
        w_rows = data[mat.indptr[units][:, None] + np.arange(kk)[None, :]]
        equal = np.all(w_rows == w_rows[:, :1], axis=1) & (w_rows[:, 0] != 0)
        # rows of equal weights (binary, row-standardised): compare plain sums, exactly
        eq_units, w0 = units[equal], w_rows[equal, 0]
        o_eq = obs[eq_units] / w0
        if integer:
            o_eq = np.round(o_eq, 6)
        if not conditional and len(eq_units):
            sims = np.sort(x[idx].sum(axis=1))  # one null for every unit of this size
            ge[eq_units] = permutations - np.searchsorted(sims, o_eq - tol, side="left")
            le[eq_units] = np.searchsorted(sims, o_eq + tol, side="right")
        elif len(eq_units):
            _conditional_equal(x, idx, eq_units, o_eq, tol, ge, le)
        # rows of unequal weights (weights given by the user)
        other, w_other = units[~equal], w_rows[~equal]
        if len(other):
            x_lo = x[idx]
            x_hi = x[np.minimum(idx + 1, n - 1)] if conditional else x_lo
            block = max(1, budget // (permutations * kk))
            for s0 in range(0, len(other), block):
                u = other[s0 : s0 + block]
                if conditional:
                    vals = np.where(idx[None, :, :] >= u[:, None, None], x_hi[None], x_lo[None])
                else:
                    vals = np.broadcast_to(x_lo[None], (len(u), *x_lo.shape))
                sims = np.einsum("upk,uk->up", vals, w_other[s0 : s0 + block])
                o = obs[u][:, None]
                ge[u] = (sims >= o - tol).sum(axis=1)
                le[u] = (sims <= o + tol).sum(axis=1)
    return ge, le

def _conditional_equal(x, idx, units, observed, tol, ge, le) -> None:
    """Conditional randomisation for rows of equal weights, in O(units x permutations).

    A drawn index d stands for unit d when d < i and for unit d + 1 when d >= i (the unit
    itself is skipped). With each permutation's draws sorted, the draws at or above unit i
    form a suffix, so the simulated sum for unit i is ``Σ x[d] + Σ_suffix (x[d+1] − x[d])``:
    a shared base plus a suffix sum picked by how many draws fall below i. Those counts
    come from a cumulative sum over the (sorted) units instead of a units x draws compare.
    """
    permutations, k = idx.shape
    srt = np.sort(idx, axis=1)
    lo = x[srt]
    diff = x[srt + 1] - lo
    base = lo.sum(axis=1)  # (P,)
    # suffix[p, j] = sum of diff[p, j:], j = 0..k
    suffix = np.zeros((permutations, k + 1))
    suffix[:, :k] = np.cumsum(diff[:, ::-1], axis=1)[:, ::-1]
    block = max(1, _BLOCK_BUDGET // permutations)
    rows = np.repeat(np.arange(permutations), k)
    for s0 in range(0, len(units), block):
        u = units[s0 : s0 + block]  # ascending
        nb = len(u)
        # first unit (position in u) strictly above each draw: draws below it from there on
        first = np.searchsorted(u, srt.ravel(), side="right")
        inc = np.bincount(rows * (nb + 1) + first, minlength=permutations * (nb + 1))
        below = np.cumsum(inc.reshape(permutations, nb + 1)[:, :nb], axis=1)
        sims = base[:, None] + np.take_along_axis(suffix, below, axis=1)  # (P, nb)
        o = observed[s0 : s0 + block][None, :]
        ge[u] = (sims >= o - tol).sum(axis=0)
        le[u] = (sims <= o + tol).sum(axis=0)

def perm_pvalues(ge, le, permutations: int, alternative: Alternative):
    p_greater = (ge + 1) / (permutations + 1)
    p_less = (le + 1) / (permutations + 1)
    if alternative == "greater":
        return p_greater, np.ones_like(p_greater, dtype=bool)
    if alternative == "less":
        return p_less, np.zeros_like(p_less, dtype=bool)
    return np.minimum(1.0, 2 * np.minimum(p_greater, p_less)), p_greater <= p_less

def norm_pvalues(z: np.ndarray, alternative: Alternative):
    if alternative == "greater":
        return stats.norm.sf(z), np.ones_like(z, dtype=bool)
    if alternative == "less":
        return stats.norm.cdf(z), np.zeros_like(z, dtype=bool)
    return 2 * stats.norm.sf(np.abs(z)), np.nan_to_num(z) > 0

def check_common(permutations, alternative, correction, seed):
    if alternative not in ("two-sided", "greater", "less"):
        raise fail(f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}.")
    if correction not in (None, "none", "fdr_bh", "holm", "bonferroni"):
        raise fail(
            f"unknown correction {correction!r}; choose 'fdr_bh', 'holm', 'bonferroni' or None.",
            key="correction",
        )
    if not isinstance(permutations, int | np.integer) or permutations < 0:
        raise fail(f"permutations must be a whole number >= 0, got {permutations!r}.")
    if permutations and seed is None:
        raise fail("seed must be an integer (results must be reproducible).")

def record_resolution(meta, p, padj, permutations, alternative, correction, what, level=0.01) -> None:
    """Record (and warn) when the number of permutations, not the data, limits significance."""
    if not permutations:
        return
    floor = (2 if alternative == "two-sided" else 1) / (permutations + 1)
    at_floor = p <= floor * (1 + 1e-9)
    meta["pvalue_floor"] = floor
    meta["at_pvalue_floor"] = int(at_floor.sum())
    if at_floor.any() and padj[at_floor].min() > level:
        msg = (
            f"{what}: {int(at_floor.sum())} unit(s) have the smallest p-value {permutations} "
            f"permutations can give ({floor:.4f}); after the {correction} correction over "
            f"{len(p)} units their adjusted p-value is {padj[at_floor].min():.4f}, so the "
            f"{(1 - level) * 100:g}% level is out of reach because of the number of permutations, "
            "not the data. Use more permutations (e.g. 9999) or permutations=0 (normal "
            "approximation)."
        )
        meta["resolution_warning"] = msg
        logger.warning(msg)
