"""Kernel density on a grid (:func:`kde`; quartic by default, bandwidth by likelihood
cross-validation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._log import logger, record
from . import grids
from ._inputs import BNG, checked_areas, fail, points_xy, weights_values
from .counts import count

__all__ = [
    "kde",
    "kernel_scale",
]


# --------------------------------------------------------------------------------------------
# kernel density
# --------------------------------------------------------------------------------------------


def _k_quartic(u):
    return 3 / np.pi * (1 - u**2) ** 2

def _k_epanechnikov(u):
    return 2 / np.pi * (1 - u**2)

def _k_triangular(u):
    return 3 / np.pi * (1 - u)

def _k_uniform(u):
    return np.full_like(u, 1 / np.pi)

_KERNELS = {
    "quartic": _k_quartic,
    "epanechnikov": _k_epanechnikov,
    "triangular": _k_triangular,
    "uniform": _k_uniform,
}

def _bandwidth_nrd(v: np.ndarray) -> float:
    q75, q25 = np.percentile(v, [75, 25])
    h = (q75 - q25) / 1.34
    sd = np.std(v, ddof=1) if len(v) > 1 else 0.0
    s = min(sd, h) if h > 0 else sd
    return 4 * 1.06 * s * len(v) ** (-1 / 5)


def _robust_sd(v: np.ndarray) -> float:
    q75, q25 = np.percentile(v, [75, 25])
    iqr = (q75 - q25) / 1.349
    sd = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
    return min(sd, iqr) if iqr > 0 else sd


def _scott_sd(xy: np.ndarray) -> float:
    """Scott's normal-reference standard deviation in two dimensions, mean over x and y."""
    return float(np.mean([_robust_sd(xy[:, 0]), _robust_sd(xy[:, 1])])) * len(xy) ** (-1 / 6)


def kernel_scale(kernel: str) -> float:
    """Radius of ``kernel`` that smooths as a Gaussian kernel of standard deviation 1 does.

    Two radial kernels smooth alike when their scales are in the ratio of their canonical
    bandwidths ``(R(K) / mu2(K)^2)^(1/6)`` in two dimensions (Marron & Nolan 1988; Wand &
    Jones 1995, section 4.5): the quartic kernel's radius is 2.78 standard deviations.

    >>> round(kernel_scale("quartic"), 3), round(kernel_scale("epanechnikov"), 3)
    (2.779, 2.402)
    """
    from scipy.integrate import quad

    f = _KERNELS[kernel]
    r_k = quad(lambda r: float(f(np.array(r)) ** 2) * 2 * np.pi * r, 0, 1)[0]
    mu2 = quad(lambda r: 0.5 * r**2 * float(f(np.array(r))) * 2 * np.pi * r, 0, 1)[0]
    canonical = (r_k / mu2**2) ** (1 / 6)
    gaussian = (1 / (4 * np.pi)) ** (1 / 6)  # R = 1/(4 pi), mu2 = 1
    return float(canonical / gaussian)


#: Locations at which the cross-validated likelihood is evaluated (a seeded sample above it).
LCV_MAX_POINTS = 2000


def _lcv_sigma(xy: np.ndarray, w: np.ndarray, *, seed: int = 0) -> tuple[float, dict]:
    """Gaussian standard deviation (metres) maximising the leave-one-location-out likelihood.

    Police data place events at snap points shared by many events; leaving one event out
    would let the others at its point pull the bandwidth to zero, so each location is left
    out whole (its events' density comes from the other locations). Above
    :data:`LCV_MAX_POINTS` locations the likelihood is evaluated at a seeded sample of them
    (against all locations). Kernel sums are cut at 4 standard deviations; the nearest other
    location always counts, so no location has density 0.
    """
    from scipy.optimize import minimize_scalar
    from scipy.spatial import cKDTree

    uniq, inv = np.unique(xy, axis=0, return_inverse=True)
    mass = np.bincount(inv.ravel(), weights=w)
    if len(uniq) < 3:
        raise fail("cannot choose a bandwidth from the data: the points are at fewer than "
                   "3 places; give bandwidth= in metres.")
    total = float(mass.sum())
    rng = np.random.default_rng(seed)
    idx = (np.arange(len(uniq)) if len(uniq) <= LCV_MAX_POINTS
           else np.sort(rng.choice(len(uniq), LCV_MAX_POINTS, replace=False)))
    ev, ev_mass = uniq[idx], mass[idx]
    tree = cKDTree(uniq)
    d_nn, j_nn = tree.query(ev, k=2)
    d1, log_m1 = d_nn[:, 1], np.log(mass[j_nn[:, 1]])
    ev_tree = cKDTree(ev)
    others = np.log(total - ev_mass)

    def minus_loglik(log_s: float) -> float:
        s = math.exp(log_s)
        pairs = ev_tree.sparse_distance_matrix(tree, 4 * s, output_type="ndarray")
        pairs = pairs[pairs["j"] != idx[pairs["i"]]]  # leave the location itself out
        k = np.exp(-pairs["v"] ** 2 / (2 * s * s)) * mass[pairs["j"]]
        dens = np.bincount(pairs["i"], weights=k, minlength=len(ev))
        log_floor = log_m1 - d1**2 / (2 * s * s)
        with np.errstate(divide="ignore"):
            log_dens = np.maximum(np.log(dens), log_floor)
        log_f = log_dens - math.log(2 * math.pi * s * s) - others
        return float(-(ev_mass * log_f).sum())

    lo = max(1.0, float(np.median(d1)) / 4)
    hi = max(2 * _scott_sd(xy), 4 * lo)
    res = minimize_scalar(minus_loglik, bounds=(math.log(lo), math.log(hi)), method="bounded",
                          options={"xatol": 0.002})
    sigma = float(math.exp(res.x))
    at_bound = bool(res.x > math.log(hi) - 0.02 or res.x < math.log(lo) + 0.02)
    if at_bound:
        logger.warning("kde: the cross-validated bandwidth is at the edge of its search "
                       "range (%.0f to %.0f m); consider giving bandwidth=", lo, hi)
    return sigma, {"gaussian_sd": sigma, "locations": int(len(uniq)),
                   "locations_evaluated": int(len(idx)), "search_metres": [lo, hi],
                   "at_search_bound": at_bound, "seed": seed}


def _automatic_bandwidth(xy, w, rule, kernel) -> tuple[float, str, dict]:
    """(radius in metres, the rule's description, details) of an automatic bandwidth."""
    if rule == "nrd":
        h = (_bandwidth_nrd(xy[:, 0]) + _bandwidth_nrd(xy[:, 1])) / 2
        return h, ("rule of thumb (MASS bandwidth.nrd, as sfhotspot): mean over x and y of "
                   "4 * 1.06 * min(sd, IQR/1.34) * n^(-1/5)"), {}
    scale = kernel_scale(kernel)
    if rule == "scott":
        sigma = _scott_sd(xy)
        return sigma * scale, (
            f"Scott's rule: Gaussian sd min(sd, IQR/1.349) * n^(-1/6) of the projected "
            f"coordinates (mean over x and y), times {scale:.2f} for the {kernel} kernel's "
            "radius"), {"gaussian_sd": sigma, "kernel_scale": scale}
    sigma, info = _lcv_sigma(xy, w)
    return sigma * scale, (
        f"likelihood cross-validation: the Gaussian sd that maximises the leave-one-location-"
        f"out likelihood of the events ({sigma:,.0f} m), times {scale:.2f} for the {kernel} "
        "kernel's radius"), {**info, "kernel_scale": scale}


def kde(
    points: pd.DataFrame,
    *,
    grid: gpd.GeoDataFrame | None = None,
    bandwidth: float | Literal["lcv", "scott", "nrd"] | None = None,
    kernel: Literal["quartic", "epanechnikov", "triangular", "uniform"] = "quartic",
    cell_size: float | None = None,
    weights: str | Sequence[float] | None = None,
) -> gpd.GeoDataFrame:
    """Kernel density of events on a grid (events per square kilometre).

    Parameters
    ----------
    points
        The events (x/y in EPSG:27700, longitude/latitude, or point geometries).
    grid
        Cells on which to estimate (from :func:`grid`); ``None`` builds one over the convex
        hull of the points (automatic cell size unless ``cell_size``).
    bandwidth
        Kernel radius in metres, or the rule that chooses it from the data (recorded):
        ``None`` or ``"lcv"`` (default) likelihood cross-validation, ``"scott"`` Scott's
        normal-reference rule, ``"nrd"`` the rule of thumb of sfhotspot (MASS
        ``bandwidth.nrd``, which over-smooths clustered events: about 6 km on a force).
    kernel
        ``"quartic"`` (default, the biweight used by crime-mapping tools), ``"epanechnikov"``,
        ``"triangular"`` or ``"uniform"``.
    cell_size
        Cell size of the automatic grid (ignored when ``grid`` is given).
    weights
        Optional weight per event.

    Returns
    -------
    geopandas.GeoDataFrame
        The grid plus ``n`` (events in the cell) and ``kde`` (estimated events per km²,
        evaluated at the cell's centroid). ``attrs["sna"]["kde"]`` records the bandwidth,
        the rule that chose it and the kernel.

    Raises
    ------
    AnalysisInputError
        Empty points, no locations, an unknown kernel or a non-positive bandwidth.

    Notes
    -----
    ``kde(s) = 10⁶ · Σᵢ wᵢ · K(‖s − xᵢ‖ / h) / h²`` with the quartic kernel
    ``K(u) = 3/π · (1 − u²)²`` for u < 1 (zero beyond the radius h), so the surface
    integrates to the number of events. The bandwidth is chosen from the data by likelihood
    cross-validation (Silverman 1986, 3.4.4; statsmodels ``KDEMultivariate(bw="cv_ml")``):
    the standard deviation of an isotropic Gaussian kernel on the projected coordinates
    that maximises the likelihood of each location's events under the density of the other
    locations (a location is left out whole: police data snap events to shared points),
    then converted to the radius of the chosen kernel that smooths alike (equal canonical
    bandwidths; 2.78 standard deviations for the quartic kernel; :func:`kernel_scale`). It
    adapts to how clustered the events are, where a normal-reference rule (``"scott"``,
    ``"nrd"``; the latter sfhotspot's, averaged over x and y) reads only their overall
    spread. The bandwidth matters far more than the cell size (Chainey 2020).

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"x": [500, 520, 540, 900], "y": [500, 510, 490, 900]})
    >>> k = kde(ev, bandwidth=300, cell_size=100)
    >>> k.attrs["sna"]["kde"]["bandwidth"], int(k["n"].sum())
    (300.0, 4)
    >>> bool(k.loc[k["kde"].idxmax(), "n"] >= 1)
    True
    """
    if kernel not in _KERNELS:
        raise fail(f"unknown kernel {kernel!r}; choose one of {sorted(_KERNELS)}.")
    xy, info = points_xy(points)
    wvals = weights_values(points, weights) if isinstance(points, pd.DataFrame) else None
    ok = np.isfinite(xy).all(axis=1)
    if not ok.any():
        raise fail("none of the points has a location; a density surface needs coordinates.")
    xy_ok = xy[ok]
    w_ok = np.ones(len(xy_ok)) if wvals is None else wvals[ok]
    rule = "lcv" if bandwidth is None else bandwidth
    auto = isinstance(rule, str)
    details: dict = {}
    if auto:
        if rule not in ("lcv", "scott", "nrd"):
            raise fail(f"bandwidth {rule!r}: give metres, or 'lcv', 'scott' or 'nrd'.")
        if np.ptp(xy_ok, axis=0).max() == 0:
            raise fail("cannot choose a bandwidth automatically: all points are at one place; "
                       "give bandwidth=.")
        h, rule_text, details = _automatic_bandwidth(xy_ok, w_ok, rule, kernel)
        bandwidth = float(round(h))
        if not bandwidth > 0:
            raise fail("cannot choose a bandwidth automatically: all points are at one place; "
                       "give bandwidth=.")
        logger.info("kde: bandwidth %s m chosen from the data (%s)", f"{bandwidth:g}", rule)
    bandwidth = float(bandwidth)
    if not bandwidth > 0:
        raise fail(f"bandwidth must be a positive number of metres, got {bandwidth!r}.")
    if grid is None:
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy_ok[:, 0], xy_ok[:, 1]), crs=BNG)
        grid = grids.grid(pts, cell_size=cell_size)
    target, geoms, ginfo = checked_areas(grid, "grid")
    counted = count(pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]}), grid=target, key=None)
    # unique locations with their total weight (police data snaps events to map points)
    uniq, inv = np.unique(xy_ok, axis=0, return_inverse=True)
    mass = np.bincount(inv.ravel(), weights=w_ok)
    centres = shapely.get_coordinates(geoms.centroid.to_numpy())
    from scipy.spatial import cKDTree

    tree_p = cKDTree(uniq)
    dens = np.zeros(len(centres))
    kfun = _KERNELS[kernel]
    # cells per block so that a block holds about two million (cell, location) pairs
    span = np.ptp(np.vstack([uniq, centres]), axis=0) + 2 * bandwidth
    per_cell = len(uniq) * min(1.0, math.pi * bandwidth**2 / max(span[0] * span[1], 1.0))
    step = int(max(1, 2_000_000 // max(1.0, 4 * per_cell)))
    for start in range(0, len(centres), step):
        sub = cKDTree(centres[start : start + step])
        m = sub.sparse_distance_matrix(tree_p, bandwidth, output_type="coo_matrix")
        if m.nnz:
            vals = kfun(m.data / bandwidth) * mass[m.col]
            dens[start : start + step] += np.bincount(m.row, weights=vals, minlength=len(sub.data))
    out = counted
    out.attrs = {}
    out["kde"] = dens / bandwidth**2 * 1e6
    meta = {
        "bandwidth": bandwidth,
        "bandwidth_rule": rule_text if auto else "given",
        **({"bandwidth_selection": details} if details else {}),
        "kernel": kernel,
        "units": "events per square kilometre",
        "events": int(ok.sum()),
        **info,
        **ginfo,
    }
    record(out, "kde", meta)
    record(out, "bandwidth", bandwidth)
    if "grid" in grid.attrs.get("sna", {}):
        record(out, "grid", grid.attrs["sna"]["grid"])
    return out
