"""Spatial weights (:func:`neighbours`): contiguity that copes with the slivers of
generalised boundaries, k nearest, distance bands; islands joined to their nearest neighbour.
"""

from __future__ import annotations

from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from .._log import logger
from ._inputs import fail, to_bng, unit_ids

__all__ = [
    "DEFAULT_TOLERANCE",
    "WeightsSpec",
    "neighbours",
]


DEFAULT_TOLERANCE = 1.0  # metres, see neighbours()

# --------------------------------------------------------------------------------------------
# spatial weights
# --------------------------------------------------------------------------------------------

WeightsSpec = str | Any

def neighbours(
    data: gpd.GeoDataFrame,
    weights: WeightsSpec = "queen",
    *,
    tolerance: float | None = None,
    k: int = 6,
    distance: float | None = None,
    islands: Literal["nearest", "raise"] = "nearest",
) -> tuple[sparse.csr_matrix, dict[str, Any]]:
    """Binary spatial weights (a sparse 0/1 matrix, no self-neighbours) and what was chosen.

    Parameters
    ----------
    data
        Polygons (LSOAs or grid cells), or points for ``"knn"`` / ``"distance"``.
    weights
        - ``"queen"`` (default): polygons that touch, at a point or along an edge, where
          "touch" allows a gap of up to ``tolerance`` metres -- generalised boundary files
          leave slivers and overlaps between neighbours (on the bundled Nottingham LSOAs
          libpysal's ``Queen``, which needs shared vertices, finds no neighbour at all);
        - ``"fuzzy"``: the same (the name libpysal uses for contiguity with a tolerance);
        - ``"adjacent"``: the same, for grid cells: the 8 cells around a square, the 6
          around a hexagon;
        - ``"strict"``: no tolerance: polygons that share a point or overlap;
        - ``"knn"``: the ``k`` nearest centroids;
        - ``"distance"``: centroids within ``distance`` metres;
        - or a libpysal ``W`` / ``Graph`` or a scipy sparse n × n matrix, used as given
          (rows in the order of ``data``).
    tolerance
        Gap in metres still counted as touching. ``None`` (default): 1 m, or 1 % of the
        median polygon's width when that is smaller (recorded).
    k, distance
        Parameters of ``"knn"`` and ``"distance"``.
    islands
        What to do with a unit that has no neighbour: ``"nearest"`` (default) joins it to
        its nearest unit (by boundary distance), symmetrically, and records it;
        ``"raise"`` stops with an error naming the islands.

    Returns
    -------
    (scipy.sparse.csr_matrix, dict)
        The n × n weights (zero diagonal) and a record: the method, tolerance, neighbour
        pairs found only thanks to the tolerance, islands and what was done with them, the
        number of connected components, and the mean / min / max number of neighbours.

    Raises
    ------
    AnalysisInputError
        No geometry, an unknown weights name, a matrix of the wrong shape, or islands with
        ``islands="raise"``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> cells = gpd.GeoDataFrame(
    ...     geometry=[box(0, 0, 100, 100), box(100.4, 0, 200, 100), box(500, 500, 600, 600)],
    ...     crs=27700)
    >>> w, info = neighbours(cells)      # the 0.4 m gap is bridged; the far cell is an island
    >>> w.toarray().astype(int)
    array([[0, 1, 0],
           [1, 0, 1],
           [0, 1, 0]])
    >>> info["islands"]
    ['2']
    """
    n = len(data)
    if n == 0:
        raise fail("data is empty: no areas to compute neighbours for.")
    info: dict[str, Any] = {}
    if not isinstance(weights, str):
        mat = getattr(weights, "sparse", weights)
        if not sparse.issparse(mat):
            raise fail(
                "weights must be a name ('queen', 'fuzzy', 'adjacent', 'strict', 'knn', "
                "'distance'), a libpysal W / Graph, or a scipy sparse matrix; got "
                f"{type(weights).__name__}."
            )
        mat = sparse.csr_matrix(mat, dtype=float)
        if mat.shape != (n, n):
            raise fail(f"weights matrix has shape {mat.shape}, but data has {n} rows.")
        mat.setdiag(0)
        mat.eliminate_zeros()
        info["method"] = f"given ({type(weights).__name__})"
        return _finish_weights(mat, data, info, islands, None)
    name = weights.lower()
    known = ("queen", "fuzzy", "adjacent", "strict", "knn", "distance")
    if name not in known:
        raise fail(
            f"unknown weights {weights!r}; choose one of {', '.join(known)}.", key="weights"
        )
    if not isinstance(data, gpd.GeoDataFrame | gpd.GeoSeries):
        raise fail(
            f"weights={weights!r} needs geometry, but data is a {type(data).__name__}; pass a "
            "GeoDataFrame or a weights matrix."
        )
    geoms = to_bng(data.geometry, "data", info).to_numpy()
    if shapely.is_missing(geoms).any() or shapely.is_empty(geoms).any():
        raise fail(
            "data has rows with no geometry; drop or repair them before computing neighbours."
        )
    if name in ("knn", "distance"):
        from scipy.spatial import cKDTree

        cent = shapely.get_coordinates(shapely.centroid(geoms))
        tree = cKDTree(cent)
        if name == "knn":
            kk = int(min(k, n - 1))
            if kk < 1:
                raise fail("knn weights need at least two units.")
            _, idx = tree.query(cent, k=kk + 1)
            rows = np.repeat(np.arange(n), kk)
            cols = idx[:, 1:].ravel()
            info["method"] = f"{kk} nearest neighbours (centroids)"
            info["k"] = kk
        else:
            if distance is None or not distance > 0:
                raise fail("weights='distance' needs distance= a positive number of metres.")
            pairs = tree.query_pairs(float(distance), output_type="ndarray")
            rows = np.r_[pairs[:, 0], pairs[:, 1]]
            cols = np.r_[pairs[:, 1], pairs[:, 0]]
            info["method"] = f"centroids within {float(distance):g} m"
            info["distance"] = float(distance)
        mat = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        mat.data[:] = 1.0
        return _finish_weights(mat, data, info, islands, geoms)
    if name == "strict":
        tol = 0.0
    elif tolerance is None:
        # 1 m, or 1% of the median polygon's width when that is smaller (tiny shapes)
        width = float(np.median(np.sqrt(np.abs(shapely.area(geoms)))))
        tol = min(DEFAULT_TOLERANCE, 0.01 * width) if width > 0 else DEFAULT_TOLERANCE
        tol = float(f"{tol:.3g}")
        info["tolerance_rule"] = "automatic: 1 m, or 1% of the median polygon width if smaller"
    else:
        tol = float(tolerance)
    if tol < 0:
        raise fail(f"tolerance must be >= 0 metres, got {tol!r}.")
    l, r, gap = _touching_pairs(geoms, tol)
    mat = sparse.csr_matrix((np.ones(2 * len(l)), (np.r_[l, r], np.r_[r, l])), shape=(n, n))
    mat.data[:] = 1.0
    info["method"] = (
        "queen contiguity (strict)"
        if tol == 0
        else f"queen contiguity with a {tol:g} m tolerance (polygons within {tol:g} m touch)"
    )
    info["tolerance"] = tol
    if tol > 0:
        info["pairs_only_with_tolerance"] = int((gap > 0).sum())
    return _finish_weights(mat, data, info, islands, geoms)

def _touching_pairs(geoms, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of geometries within ``tol`` of each other, and their gaps (0 = touch)."""
    b = shapely.bounds(geoms)
    pad = max(tol, 0.0)
    boxes = shapely.box(b[:, 0] - pad, b[:, 1] - pad, b[:, 2] + pad, b[:, 3] + pad)
    l, r = shapely.STRtree(geoms).query(boxes)
    keep = l < r
    l, r = l[keep], r[keep]
    if len(l) == 0:
        return l, r, np.zeros(0)
    if tol > 0:
        gap = shapely.distance(geoms[l], geoms[r])
        ok = gap <= tol
        return l[ok], r[ok], gap[ok]
    ok = shapely.intersects(geoms[l], geoms[r])
    return l[ok], r[ok], np.zeros(int(ok.sum()))

def _finish_weights(mat, data, info, islands, geoms):
    n = mat.shape[0]
    card = np.diff(mat.indptr)
    iso = np.flatnonzero(card == 0)
    labels: list[str] = []
    if len(iso):
        labels = unit_ids(data) if isinstance(data, pd.DataFrame) else [str(i) for i in range(n)]
    info["islands"] = [labels[i] for i in iso]
    if len(iso) and n > 1:
        if islands == "raise":
            raise fail(
                f"{len(iso)} unit(s) have no neighbour: {info['islands'][:10]}; use "
                "islands='nearest' or a larger tolerance."
            )
        if geoms is None:
            raise fail(
                f"{len(iso)} unit(s) have no neighbour in the given weights "
                f"({info['islands'][:10]}); give every unit a neighbour."
            )
        tree = shapely.STRtree(geoms)
        src, dst = tree.query_nearest(geoms[iso], exclusive=True, all_matches=True)
        rows = iso[src]
        # an island's new link has weight 1 (given weights keep their own values elsewhere)
        mat = mat.tolil()
        for i, j in zip(np.r_[rows, dst], np.r_[dst, rows], strict=True):
            if mat[i, j] == 0:
                mat[i, j] = 1.0
        mat = mat.tocsr()
        info["islands_joined_to"] = [[labels[i], labels[j]] for i, j in zip(rows, dst, strict=True)]
        info["islands_action"] = "joined to the nearest unit (boundary distance)"
        logger.warning(
            "%d unit(s) had no neighbour and were joined to their nearest unit: %s",
            len(iso),
            ", ".join(info["islands"][:10]),
        )
    elif len(iso) and n == 1:
        raise fail("a single unit has no neighbours; local statistics need at least two units.")
    from scipy.sparse.csgraph import connected_components

    card = np.diff(mat.indptr)
    info["components"] = int(connected_components(mat, directed=False)[0])
    info["neighbours_mean"] = round(float(card.mean()), 3)
    info["neighbours_min"] = int(card.min())
    info["neighbours_max"] = int(card.max())
    return mat, info
