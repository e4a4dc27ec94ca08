"""Where violence concentrates: grids, counts, density, Gi* hot spots, local Moran clusters,
hot-spot persistence, concentration, overlap between sources and the deprivation gradient.

One call per question, a documented automatic default for every choice, and the choice
reported back in ``result.attrs["sna"]`` (and logged on the ``sna`` logger), after the R
package sfhotspot. Output column names follow sfhotspot where it has them (``n``, ``kde``,
``gistar``, ``pvalue``, ``hotspot_category``).

- :func:`grid` -- square or hexagonal cells clipped to a study area;
- :func:`count` -- events per area (by LSOA code or point in polygon) or per grid cell;
- :func:`kde` -- kernel density (quartic by default) on a grid;
- :func:`neighbours` -- the spatial weights every statistic uses (contiguity that copes with
  the slivers of generalised boundaries; islands joined to their nearest neighbour);
- :func:`gistar` -- Getis-Ord Gi* z-scores, two-sided p-values, a multiple-testing
  correction and the hot / cold spot class;
- :func:`local_moran` -- local Moran's I, its quadrant and the significant clusters;
- :func:`change` and :func:`classify` -- change between two periods, and persistent /
  emerging / former / intermittent hot and cold spots over many periods;
- :func:`concentration`, :func:`overlap`, :func:`by_deprivation` -- the share of events in
  the top areas (and Gini, Lorenz curve), agreement between two sources' top areas, and
  rates by IMD decile.

Coordinates are British National Grid (EPSG:27700, metres). Points or areas in longitude /
latitude are reprojected, with a log line; outputs keep the index (and the CRS) of the
table they extend.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> from sna import hotspot
>>> area = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000)], crs=27700)
>>> cells = hotspot.grid(area, cell_size=250)
>>> len(cells), cells.attrs["sna"]["cell_size"]
(16, 250.0)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse, stats

from ._log import logger, record
from .errors import AnalysisInputError

__all__ = [
    "BNG",
    "CATEGORY_LABELS",
    "CLUSTER_LABELS",
    "HOTSPOT_LABELS",
    "Concentration",
    "Overlap",
    "adjust_pvalues",
    "by_deprivation",
    "cells_within",
    "change",
    "classify",
    "concentration",
    "count",
    "gistar",
    "grid",
    "kde",
    "local_moran",
    "neighbours",
    "overlap",
]

BNG = "EPSG:27700"

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

#: Persistence classes of :func:`classify` (``hotspot_category`` column).
CATEGORY_LABELS: tuple[str, ...] = (
    "persistent hot spot",
    "emerging hot spot",
    "intermittent hot spot",
    "former hot spot",
    "mixed hot and cold spot",
    "no pattern",
    "former cold spot",
    "intermittent cold spot",
    "emerging cold spot",
    "persistent cold spot",
)

DEFAULT_SEED = 12345
_BLOCK_BUDGET = 8_000_000  # permutations x units held at once by the permutation engine
DEFAULT_TOLERANCE = 1.0  # metres, see neighbours()
_MAX_CELLS = 2_000_000

Correction = Literal["fdr_bh", "holm", "bonferroni"] | None
Alternative = Literal["two-sided", "greater", "less"]


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------


def _fail(message: str, **where) -> AnalysisInputError:
    return AnalysisInputError(message, **where)


def _is_lonlat(x: np.ndarray, y: np.ndarray) -> bool:
    """x/y all inside the lon/lat box of the British Isles (no BNG coordinate is)."""
    ok = np.isfinite(x) & np.isfinite(y) & ~((x == 0) & (y == 0))
    if not ok.any():
        return False
    return bool(
        (x[ok] >= -11).all()
        and (x[ok] <= 3).all()
        and (y[ok] >= 49).all()
        and (y[ok] <= 61.5).all()
    )


_XY_PAIRS = (("x", "y"), ("easting", "northing"), ("longitude", "latitude"), ("lon", "lat"))


def _points_xy(points, what: str = "points") -> tuple[np.ndarray, dict[str, Any]]:
    """Coordinates (EPSG:27700) of a points table as an (m, 2) array (NaN where unknown)."""
    info: dict[str, Any] = {}
    if isinstance(points, gpd.GeoSeries):
        points = gpd.GeoDataFrame(geometry=points)
    if isinstance(points, gpd.GeoDataFrame) and points.geometry.name in points.columns:
        if len(points) == 0:
            raise _fail(f"{what} is empty: there are no events to analyse.")
        geoms = points.geometry
        types = set(geoms[~(geoms.isna() | geoms.is_empty)].geom_type)
        if types - {"Point"}:
            raise _fail(
                f"{what} must hold point geometries, found {sorted(types)}; use "
                "`.representative_point()` or count on areas instead."
            )
        geoms = _to_bng(geoms, what, info)
        missing = geoms.isna() | geoms.is_empty
        xy = np.full((len(geoms), 2), np.nan)
        if (~missing).any():
            xy[~missing.to_numpy()] = shapely.get_coordinates(geoms[~missing].to_numpy())
        return xy, info
    if not isinstance(points, pd.DataFrame):
        raise _fail(f"{what} must be a DataFrame or GeoDataFrame, got {type(points).__name__}.")
    if len(points) == 0:
        raise _fail(f"{what} is empty: there are no events to analyse.")
    lower = {str(c).lower(): c for c in points.columns}
    for xname, yname in _XY_PAIRS:
        if xname in lower and yname in lower:
            xcol, ycol = lower[xname], lower[yname]
            x = pd.to_numeric(points[xcol], errors="coerce").to_numpy(dtype=float)
            y = pd.to_numeric(points[ycol], errors="coerce").to_numpy(dtype=float)
            lonlat = xname in ("longitude", "lon") or _is_lonlat(x, y)
            if lonlat:
                from pyproj import Transformer

                tr = Transformer.from_crs("EPSG:4326", BNG, always_xy=True)
                ok = np.isfinite(x) & np.isfinite(y)
                # data.police.uk zeroes points more than 20 km off; (0, 0) is not a place
                ok &= ~((x == 0) & (y == 0))
                ex, ny = np.full(len(x), np.nan), np.full(len(y), np.nan)
                if ok.any():
                    ex[ok], ny[ok] = tr.transform(x[ok], y[ok])
                x, y = ex, ny
                info["reprojected"] = f"{what}: columns {xcol!r}/{ycol!r} read as lon/lat"
                logger.info(
                    "%s: columns %r/%r hold longitude/latitude; reprojected to British National "
                    "Grid (EPSG:27700)",
                    what,
                    xcol,
                    ycol,
                )
            return np.column_stack([x, y]), info
    raise _fail(
        f"{what} has no coordinates: give x/y columns (British National Grid, EPSG:27700), "
        "longitude/latitude columns, or point geometries.",
        column="x",
    )


def _to_bng(geoms: gpd.GeoSeries, what: str, info: dict) -> gpd.GeoSeries:
    if geoms.crs is None:
        b = geoms.total_bounds
        if (
            np.all(np.isfinite(b))
            and max(abs(b[0]), abs(b[2])) <= 180
            and max(abs(b[1]), abs(b[3])) <= 90
        ):
            raise _fail(
                f"{what} has no CRS and its coordinates look like longitude/latitude; set it "
                "with `.set_crs(4326)` (or `.set_crs(27700)` for British National Grid)."
            )
        logger.info("%s has no CRS; assumed British National Grid (EPSG:27700)", what)
        info["crs_assumed"] = BNG
        return geoms.set_crs(BNG)
    if geoms.crs.to_epsg() != 27700:
        logger.info(
            "%s: reprojected from %s to British National Grid (EPSG:27700)", what, geoms.crs
        )
        info["reprojected"] = f"{what}: {geoms.crs.to_string()} -> {BNG}"
        return geoms.to_crs(BNG)
    return geoms


def _areas(areas, what: str = "areas") -> tuple[gpd.GeoDataFrame, gpd.GeoSeries, dict]:
    """Validate a polygon table; return (the table, its geometry in BNG, info)."""
    if isinstance(areas, gpd.GeoSeries):
        areas = gpd.GeoDataFrame(geometry=areas)
    if not isinstance(areas, gpd.GeoDataFrame) or areas.geometry.name not in areas.columns:
        raise _fail(
            f"{what} has no geometry: pass a GeoDataFrame of polygons (e.g. the assessment's "
            "`geography`, or `sna.hotspot.grid(...)`)."
        )
    if len(areas) == 0:
        raise _fail(f"{what} is empty: there are no areas.")
    geoms = areas.geometry
    if geoms.isna().any() or geoms.is_empty.any():
        bad = list(areas.index[(geoms.isna() | geoms.is_empty).to_numpy()][:5])
        raise _fail(f"{what} has rows with no geometry (index {bad}); drop or repair them.")
    info: dict[str, Any] = {}
    return areas, _to_bng(geoms, what, info), info


def _ids(frame: pd.DataFrame) -> list[str]:
    """Labels that identify rows in a record: the ``lsoa`` column, else the index."""
    for col in ("lsoa", "cell_id"):
        if col in frame.columns:
            return [str(v) for v in frame[col]]
    return [str(v) for v in frame.index]


# --------------------------------------------------------------------------------------------
# grid
# --------------------------------------------------------------------------------------------


def _study_area(area) -> tuple[Any, dict]:
    """A single (multi)polygon in BNG from polygons (their union) or points (convex hull)."""
    info: dict[str, Any] = {}
    if isinstance(area, shapely.Geometry):
        area = gpd.GeoSeries([area], crs=BNG)
    if isinstance(area, pd.DataFrame) and not isinstance(area, gpd.GeoDataFrame):
        xy, info = _points_xy(area, "area")
        xy = xy[np.isfinite(xy).all(axis=1)]
        if len(xy) == 0:
            raise _fail("area: none of the points has a location.")
        return _hull(xy), {**info, "study_area": "convex hull of the points"}
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        geoms = area.geometry if isinstance(area, gpd.GeoDataFrame) else area
        if len(geoms) == 0:
            raise _fail("area is empty.")
        geoms = _to_bng(geoms, "area", info)
        geoms = geoms[~(geoms.isna() | geoms.is_empty)]
        if len(geoms) == 0:
            raise _fail("area has no geometry.")
        if set(geoms.geom_type) <= {"Point", "MultiPoint"}:
            xy = shapely.get_coordinates(geoms.to_numpy())
            return _hull(xy), {**info, "study_area": "convex hull of the points"}
        return shapely.union_all(geoms.to_numpy()), {**info, "study_area": "union of the polygons"}
    raise _fail(
        f"area must be a GeoDataFrame, GeoSeries or shapely geometry, got {type(area).__name__}."
    )


def _hull(xy: np.ndarray):
    hull = shapely.multipoints(xy).convex_hull
    if hull.area == 0:  # one point or a line of points: give it some room
        hull = hull.buffer(100.0)
    return hull


def _auto_cell_size(bounds) -> float:
    side = min(bounds[2] - bounds[0], bounds[3] - bounds[1])
    if side <= 0:
        side = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    raw = side / 50
    if raw >= 100:
        return float(math.floor(raw / 100) * 100)
    if raw >= 10:
        return float(math.floor(raw / 10) * 10)
    return float(raw) if raw > 0 else 100.0


def grid(
    area,
    *,
    cell_size: float | None = None,
    shape: Literal["square", "hex"] = "square",
) -> gpd.GeoDataFrame:
    """A regular grid of square or hexagonal cells over a study area, clipped to it.

    Parameters
    ----------
    area
        The study area: polygons (their union is the area, e.g. the assessment's
        ``geography``), a shapely geometry in EPSG:27700, or points (a GeoDataFrame or a
        DataFrame with x/y; the area is their convex hull).
    cell_size
        Width of a square cell, or the distance between the centres of neighbouring hexagons
        (the width of a hexagon across its flat sides), in metres. ``None`` (default): the
        automatic rule below.
    shape
        ``"square"`` (default) or ``"hex"`` (pointy-topped hexagons).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cell that touches the area: ``cell_id`` (0, 1, ...) and ``geometry``
        (the cell clipped to the area), CRS EPSG:27700. ``attrs["sna"]["grid"]`` holds the
        cell size, the rule that chose it, the shape, the origin and the number of cells.

    Raises
    ------
    AnalysisInputError
        No geometry, an empty area, an unknown shape, a non-positive cell size, or a grid of
        more than two million cells.

    Notes
    -----
    Automatic cell size, after sfhotspot: one fiftieth of the shorter side of the area's
    bounding box, rounded down to a whole 100 m when that is at least 100 m (to a whole
    10 m between 10 and 100 m). Cells are anchored on multiples of the cell size, so grids
    built in different years over the same area line up cell for cell.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> area = gpd.GeoDataFrame(geometry=[box(0, 0, 10_000, 5_000)], crs=27700)
    >>> g = grid(area)
    >>> g.attrs["sna"]["grid"]["cell_size"], len(g)
    (100.0, 5000)
    >>> len(grid(area, cell_size=1000, shape="hex")) > 50
    True
    """
    if shape not in ("square", "hex"):
        raise _fail(f"shape must be 'square' or 'hex', got {shape!r}.")
    poly, info = _study_area(area)
    bounds = poly.bounds
    auto = cell_size is None
    if auto:
        cell_size = _auto_cell_size(bounds)
    cell_size = float(cell_size)
    if not cell_size > 0 or not math.isfinite(cell_size):
        raise _fail(f"cell_size must be a positive number of metres, got {cell_size!r}.")
    minx, miny, maxx, maxy = bounds
    if shape == "square":
        x0 = math.floor(minx / cell_size) * cell_size
        y0 = math.floor(miny / cell_size) * cell_size
        nx = max(1, math.ceil((maxx - x0) / cell_size))
        ny = max(1, math.ceil((maxy - y0) / cell_size))
        _check_size(nx * ny, cell_size)
        ix, iy = np.meshgrid(np.arange(nx), np.arange(ny))
        xs, ys = x0 + ix.ravel() * cell_size, y0 + iy.ravel() * cell_size
        cells = shapely.box(xs, ys, xs + cell_size, ys + cell_size)
        origin = (x0, y0)
    else:
        w = cell_size
        r = w / math.sqrt(3)  # circumradius
        dy = 1.5 * r
        x0 = math.floor(minx / w) * w - w
        y0 = math.floor(miny / dy) * dy - dy
        nx = math.ceil((maxx - x0) / w) + 2
        ny = math.ceil((maxy - y0) / dy) + 2
        _check_size(nx * ny, cell_size)
        ix, iy = np.meshgrid(np.arange(nx), np.arange(ny))
        cx = x0 + ix.ravel() * w + (iy.ravel() % 2) * w / 2
        cy = y0 + iy.ravel() * dy
        ang = np.deg2rad(np.arange(6) * 60 + 30)
        ring = np.stack([cx[:, None] + r * np.cos(ang), cy[:, None] + r * np.sin(ang)], axis=-1)
        cells = shapely.polygons(ring)
        origin = (x0, y0)
    shapely.prepare(poly)
    inside = shapely.contains_properly(poly, cells)
    edge = ~inside & shapely.intersects(poly, cells)
    edge[edge] = ~shapely.touches(poly, cells[edge])
    keep = inside | edge
    clipped = cells.copy()
    # clip the cells on the edge only; keep the polygonal part (clipping can leave lines)
    clipped[edge] = [_polygonal(g) for g in shapely.intersection(cells[edge], poly)]
    clipped = clipped[keep]
    clipped = clipped[~shapely.is_empty(clipped)]
    out = gpd.GeoDataFrame(
        {"cell_id": np.arange(len(clipped), dtype=np.int64)},
        geometry=gpd.GeoSeries(clipped, crs=BNG),
        crs=BNG,
    )
    meta = {
        "cell_size": cell_size,
        "cell_size_rule": (
            "automatic: 1/50 of the shorter side of the bounding box, rounded down to 100 m "
            "(10 m below 100 m)"
            if auto
            else "given"
        ),
        "shape": shape,
        "origin": [float(origin[0]), float(origin[1])],
        "n_cells": len(out),
        **info,
    }
    out.attrs = {}
    record(out, "grid", meta)
    record(out, "cell_size", cell_size)
    if auto:
        logger.info("grid: cell size set to %s m automatically", f"{cell_size:g}")
    return out


def _check_size(n: int, cell_size: float) -> None:
    if n > _MAX_CELLS:
        raise _fail(
            f"a cell size of {cell_size:g} m would make about {n:,} cells (more than "
            f"{_MAX_CELLS:,}); choose a larger cell_size."
        )


def _polygonal(g):
    if g is None or g.is_empty:
        return shapely.Polygon()
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


# --------------------------------------------------------------------------------------------
# counts
# --------------------------------------------------------------------------------------------


def _weights_values(points: pd.DataFrame, weights) -> np.ndarray | None:
    if weights is None:
        return None
    if isinstance(weights, str):
        if weights not in points.columns:
            raise _fail(f"weights column {weights!r} is not in points.", column=weights)
        w = pd.to_numeric(points[weights], errors="coerce").to_numpy(dtype=float)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (len(points),):
            raise _fail(
                f"weights must have one value per point ({len(points)}), got shape {w.shape}."
            )
    return np.nan_to_num(w, nan=0.0)


def _assign(xy: np.ndarray, geoms: gpd.GeoSeries) -> np.ndarray:
    """Position of the polygon each point falls in (-1 outside or unknown); first match wins."""
    out = np.full(len(xy), -1, dtype=np.int64)
    ok = np.isfinite(xy).all(axis=1)
    if not ok.any():
        return out
    pts = shapely.points(xy[ok])
    tree = shapely.STRtree(geoms.to_numpy())
    p_idx, g_idx = tree.query(pts, predicate="intersects")
    if len(p_idx):
        order = np.lexsort((g_idx, p_idx))
        p_idx, g_idx = p_idx[order], g_idx[order]
        first = np.r_[True, p_idx[1:] != p_idx[:-1]]
        sub = np.full(len(pts), -1, dtype=np.int64)
        sub[p_idx[first]] = g_idx[first]
        out[np.flatnonzero(ok)] = sub
    return out


def _rate_column(
    out: pd.DataFrame, value: np.ndarray, population, per: float, what: str
) -> np.ndarray:
    pop = _population(out, population, what)
    rate = value / pop * per
    out["rate"] = rate
    return rate


def _population(frame: pd.DataFrame, population, what: str) -> np.ndarray:
    if isinstance(population, str):
        if population not in frame.columns:
            raise _fail(
                f"{what}: population column {population!r} not found; pass population= the "
                "name of the column with the population of each area.",
                column=population,
            )
        pop = pd.to_numeric(frame[population], errors="coerce").to_numpy(dtype=float)
    else:
        pop = np.asarray(population, dtype=float)
        if pop.shape != (len(frame),):
            raise _fail(f"{what}: population must have one value per row ({len(frame)}).")
    bad = ~np.isfinite(pop) | (pop <= 0)
    if bad.any():
        rows = list(frame.index[bad][:5])
        raise _fail(
            f"{what}: {int(bad.sum())} area(s) have a missing or non-positive population "
            f"(index {rows}); rates need a positive population for every area.",
            column=population if isinstance(population, str) else None,
        )
    return pop


def count(
    points: pd.DataFrame,
    *,
    areas: gpd.GeoDataFrame | None = None,
    grid: gpd.GeoDataFrame | None = None,
    weights: str | Sequence[float] | None = None,
    key: str | None = "auto",
    population: str | None = None,
    per: float = 1000,
) -> gpd.GeoDataFrame:
    """Count events per area (LSOA) or per grid cell.

    Parameters
    ----------
    points
        The events: the canonical incidents table (x/y in EPSG:27700 and ``lsoa``), any
        DataFrame with x/y or longitude/latitude columns, or a GeoDataFrame of points.
        Longitude/latitude is reprojected to British National Grid (logged).
    areas
        Polygons to count in, e.g. the assessment's ``geography`` (one row per LSOA).
    grid
        Grid cells to count in (from :func:`grid`). With neither ``areas`` nor ``grid`` a
        grid is built over the convex hull of the points with the automatic cell size.
    weights
        Optional column (or array) of weights per event, summed into ``sum``.
    key
        How events are matched to ``areas``: ``"auto"`` (default) matches on the ``lsoa``
        column when both tables have one (the code the source assigned; generalised
        boundaries would misplace events near a border), else point in polygon; a column
        name matches on that column; ``None`` forces point in polygon.
    population
        Optional population column of ``areas``: adds ``rate`` (events per ``per`` people).
    per
        Rate multiplier (default 1,000).

    Returns
    -------
    geopandas.GeoDataFrame
        ``areas`` / ``grid`` (same index, same CRS) plus ``n`` (events, int64), ``sum`` (if
        ``weights``) and ``rate`` (if ``population``). ``attrs["sna"]["count"]`` records
        the method and how many events were counted, fell outside every area, or had no
        location.

    Raises
    ------
    AnalysisInputError
        Empty points, no coordinates (and no key to match on), areas without geometry, both
        ``areas`` and ``grid`` given, or an unknown weights column.

    Examples
    --------
    >>> import pandas as pd, geopandas as gpd
    >>> from shapely.geometry import box
    >>> areas = gpd.GeoDataFrame({"lsoa": ["A", "B"]},
    ...                          geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=27700)
    >>> events = pd.DataFrame({"x": [10, 20, 150, 500], "y": [10, 20, 50, 50]})
    >>> count(events, areas=areas)[["lsoa", "n"]]
      lsoa  n
    0    A  2
    1    B  1
    """
    if areas is not None and grid is not None:
        raise _fail("give either areas= or grid=, not both.")
    if not isinstance(points, pd.DataFrame | gpd.GeoSeries):
        raise _fail(f"points must be a DataFrame or GeoDataFrame, got {type(points).__name__}.")
    if len(points) == 0:
        raise _fail("points is empty: there are no events to count.")
    target = areas if areas is not None else grid
    built = False
    if target is None:
        target = globals()["grid"](points)
        built = True
    target, geoms, info = _areas(target, "areas" if areas is not None else "grid")
    wvals = _weights_values(points, weights) if isinstance(points, pd.DataFrame) else None
    meta: dict[str, Any] = {"events": len(points), **info}
    if built:
        meta["grid"] = target.attrs.get("sna", {}).get("grid")

    match_on = None
    if areas is not None and key is not None:
        if key == "auto":
            if "lsoa" in getattr(points, "columns", ()) and "lsoa" in target.columns:
                match_on = "lsoa"
        else:
            if key not in getattr(points, "columns", ()) or key not in target.columns:
                raise _fail(f"key column {key!r} must be in both points and areas.", column=key)
            match_on = key

    if match_on is not None:
        codes = points[match_on]
        lookup = pd.Series(np.arange(len(target)), index=pd.Index(target[match_on].astype(str)))
        if lookup.index.has_duplicates:
            raise _fail(
                f"areas has duplicate {match_on!r} values; one row per area is needed.",
                column=match_on,
            )
        pos = lookup.reindex(codes.astype(str).where(codes.notna(), "\0")).to_numpy()
        missing = codes.isna().to_numpy()
        pos = np.where(np.isnan(pos), -1, pos).astype(np.int64)
        meta["method"] = f"matched on column {match_on!r}"
        if missing.any():
            # events without a code but with coordinates: place them by location
            try:
                xy, pinfo = _points_xy(points)
            except AnalysisInputError:
                xy = None
            if xy is not None:
                has_xy = missing & np.isfinite(xy).all(axis=1)
                if has_xy.any():
                    sub = _assign(xy[has_xy], geoms)
                    pos[np.flatnonzero(has_xy)] = sub
                    missing = missing & ~has_xy
                    meta.update(pinfo)
                    meta["placed_by_location"] = int((sub >= 0).sum())
        meta["missing_location"] = int(missing.sum())
        meta["outside"] = int(((pos < 0) & ~missing).sum())
    else:
        xy, pinfo = _points_xy(points)
        meta.update(pinfo)
        pos = _assign(xy, geoms)
        missing = ~np.isfinite(xy).all(axis=1)
        meta["method"] = "point in polygon"
        meta["missing_location"] = int(missing.sum())
        meta["outside"] = int(((pos < 0) & ~missing).sum())
    inside = pos >= 0
    meta["counted"] = int(inside.sum())
    out = target.copy()
    out.attrs = {}
    out["n"] = np.bincount(pos[inside], minlength=len(target)).astype(np.int64)
    if wvals is not None:
        out["sum"] = np.bincount(pos[inside], weights=wvals[inside], minlength=len(target))
    if population is not None:
        _rate_column(out, out["n"].to_numpy(dtype=float), population, per, "count")
        meta["rate_per"] = per
    if meta["outside"] or meta["missing_location"]:
        logger.info(
            "count: %d of %d events counted; %d outside every area, %d without a location",
            meta["counted"],
            meta["events"],
            meta["outside"],
            meta["missing_location"],
        )
    record(out, "count", meta)
    return out


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


def cells_within(cells: gpd.GeoDataFrame, area) -> gpd.GeoDataFrame:
    """The cells whose centre lies in the study area (for showing a surface within it).

    A surface from :func:`kde` without a ``grid`` is estimated over the convex hull of the
    points, which spills past the area's boundary; this keeps the cells of the area only.

    Parameters
    ----------
    cells
        Grid cells (e.g. the result of :func:`kde` or :func:`grid`).
    area
        The study area's polygons (e.g. the assessment's ``geography``).

    Returns
    -------
    geopandas.GeoDataFrame
        The cells kept, in their order, renumbered from 0; ``attrs`` are kept.

    Raises
    ------
    AnalysisInputError
        Cells or area without geometry, or empty.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> cells = gpd.GeoDataFrame({"n": [1, 2, 3]}, crs=27700,
    ...     geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(200, 0, 300, 100)])
    >>> area = gpd.GeoDataFrame(geometry=[box(0, 0, 160, 100)], crs=27700)
    >>> cells_within(cells, area)["n"].tolist()
    [1, 2]
    """
    cells, cell_geoms, _ = _areas(cells, "cells")
    _, area_geoms, _ = _areas(area, "area")
    tree = shapely.STRtree(area_geoms.to_numpy())
    hit = np.unique(tree.query(cell_geoms.centroid.to_numpy(), predicate="intersects")[0])
    return cells.iloc[hit].reset_index(drop=True)  # (attrs travel with the rows)


def kde(
    points: pd.DataFrame,
    *,
    grid: gpd.GeoDataFrame | None = None,
    bandwidth: float | None = None,
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
        Kernel radius in metres; ``None`` = the rule of thumb below (recorded).
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
    integrates to the number of events. Automatic bandwidth: the rule of thumb sfhotspot
    uses, ``MASS::bandwidth.nrd`` = 4 · 1.06 · min(sd, IQR/1.34) · n^(−1/5), averaged over
    the x and y coordinates (the documented intent of sfhotspot; its code takes the x value
    only). The bandwidth matters far more than the cell size (Chainey 2020).

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
        raise _fail(f"unknown kernel {kernel!r}; choose one of {sorted(_KERNELS)}.")
    xy, info = _points_xy(points)
    wvals = _weights_values(points, weights) if isinstance(points, pd.DataFrame) else None
    ok = np.isfinite(xy).all(axis=1)
    if not ok.any():
        raise _fail("none of the points has a location; a density surface needs coordinates.")
    xy_ok = xy[ok]
    w_ok = np.ones(len(xy_ok)) if wvals is None else wvals[ok]
    auto = bandwidth is None
    if auto:
        hx, hy = _bandwidth_nrd(xy_ok[:, 0]), _bandwidth_nrd(xy_ok[:, 1])
        bandwidth = float(round((hx + hy) / 2))
        if not bandwidth > 0:
            raise _fail(
                "cannot choose a bandwidth automatically: all points are at one place; give bandwidth=."
            )
        logger.info("kde: bandwidth set to %s m automatically (rule of thumb)", f"{bandwidth:g}")
    bandwidth = float(bandwidth)
    if not bandwidth > 0:
        raise _fail(f"bandwidth must be a positive number of metres, got {bandwidth!r}.")
    if grid is None:
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy_ok[:, 0], xy_ok[:, 1]), crs=BNG)
        grid = globals()["grid"](pts, cell_size=cell_size)
    target, geoms, ginfo = _areas(grid, "grid")
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
        "bandwidth_rule": (
            "automatic: mean over x and y of MASS::bandwidth.nrd, "
            "4 * 1.06 * min(sd, IQR/1.34) * n^(-1/5)"
            if auto
            else "given"
        ),
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
        raise _fail("data is empty: no areas to compute neighbours for.")
    info: dict[str, Any] = {}
    if not isinstance(weights, str):
        mat = getattr(weights, "sparse", weights)
        if not sparse.issparse(mat):
            raise _fail(
                "weights must be a name ('queen', 'fuzzy', 'adjacent', 'strict', 'knn', "
                "'distance'), a libpysal W / Graph, or a scipy sparse matrix; got "
                f"{type(weights).__name__}."
            )
        mat = sparse.csr_matrix(mat, dtype=float)
        if mat.shape != (n, n):
            raise _fail(f"weights matrix has shape {mat.shape}, but data has {n} rows.")
        mat.setdiag(0)
        mat.eliminate_zeros()
        info["method"] = f"given ({type(weights).__name__})"
        return _finish_weights(mat, data, info, islands, None)
    name = weights.lower()
    known = ("queen", "fuzzy", "adjacent", "strict", "knn", "distance")
    if name not in known:
        raise _fail(
            f"unknown weights {weights!r}; choose one of {', '.join(known)}.", key="weights"
        )
    if not isinstance(data, gpd.GeoDataFrame | gpd.GeoSeries):
        raise _fail(
            f"weights={weights!r} needs geometry, but data is a {type(data).__name__}; pass a "
            "GeoDataFrame or a weights matrix."
        )
    geoms = _to_bng(data.geometry, "data", info).to_numpy()
    if shapely.is_missing(geoms).any() or shapely.is_empty(geoms).any():
        raise _fail(
            "data has rows with no geometry; drop or repair them before computing neighbours."
        )
    if name in ("knn", "distance"):
        from scipy.spatial import cKDTree

        cent = shapely.get_coordinates(shapely.centroid(geoms))
        tree = cKDTree(cent)
        if name == "knn":
            kk = int(min(k, n - 1))
            if kk < 1:
                raise _fail("knn weights need at least two units.")
            _, idx = tree.query(cent, k=kk + 1)
            rows = np.repeat(np.arange(n), kk)
            cols = idx[:, 1:].ravel()
            info["method"] = f"{kk} nearest neighbours (centroids)"
            info["k"] = kk
        else:
            if distance is None or not distance > 0:
                raise _fail("weights='distance' needs distance= a positive number of metres.")
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
        raise _fail(f"tolerance must be >= 0 metres, got {tol!r}.")
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
        labels = _ids(data) if isinstance(data, pd.DataFrame) else [str(i) for i in range(n)]
    info["islands"] = [labels[i] for i in iso]
    if len(iso) and n > 1:
        if islands == "raise":
            raise _fail(
                f"{len(iso)} unit(s) have no neighbour: {info['islands'][:10]}; use "
                "islands='nearest' or a larger tolerance."
            )
        if geoms is None:
            raise _fail(
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
        raise _fail("a single unit has no neighbours; local statistics need at least two units.")
    from scipy.sparse.csgraph import connected_components

    card = np.diff(mat.indptr)
    info["components"] = int(connected_components(mat, directed=False)[0])
    info["neighbours_mean"] = round(float(card.mean()), 3)
    info["neighbours_min"] = int(card.min())
    info["neighbours_max"] = int(card.max())
    return mat, info


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
        raise _fail(
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


def _tail_counts(
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


def _perm_pvalues(ge, le, permutations: int, alternative: Alternative):
    p_greater = (ge + 1) / (permutations + 1)
    p_less = (le + 1) / (permutations + 1)
    if alternative == "greater":
        return p_greater, np.ones_like(p_greater, dtype=bool)
    if alternative == "less":
        return p_less, np.zeros_like(p_less, dtype=bool)
    return np.minimum(1.0, 2 * np.minimum(p_greater, p_less)), p_greater <= p_less


def _norm_pvalues(z: np.ndarray, alternative: Alternative):
    if alternative == "greater":
        return stats.norm.sf(z), np.ones_like(z, dtype=bool)
    if alternative == "less":
        return stats.norm.cdf(z), np.zeros_like(z, dtype=bool)
    return 2 * stats.norm.sf(np.abs(z)), np.nan_to_num(z) > 0


# --------------------------------------------------------------------------------------------
# Gi* and local Moran
# --------------------------------------------------------------------------------------------


def _values(data: pd.DataFrame, value: str, rates: bool, population, per: float, what: str):
    if not isinstance(data, pd.DataFrame):
        raise _fail(f"data must be a DataFrame or GeoDataFrame, got {type(data).__name__}.")
    if len(data) == 0:
        raise _fail(f"{what}: data is empty.")
    if value not in data.columns:
        raise _fail(
            f"{what}: column {value!r} not found in data (columns: {list(data.columns)[:12]}).",
            column=value,
        )
    x = pd.to_numeric(data[value], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(x).all():
        bad = list(data.index[~np.isfinite(x)][:5])
        raise _fail(
            f"{what}: column {value!r} has {int((~np.isfinite(x)).sum())} missing or non-numeric "
            f"value(s) (index {bad}); fill them (e.g. with 0 for no events) or drop the rows.",
            column=value,
        )
    if population is None and rates:
        population = "population"
    if population is not None:
        pop = _population(data, population, what)
        return x / pop * per, population
    return x, None


def _check_common(permutations, alternative, correction, seed):
    if alternative not in ("two-sided", "greater", "less"):
        raise _fail(f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}.")
    if correction not in (None, "none", "fdr_bh", "holm", "bonferroni"):
        raise _fail(
            f"unknown correction {correction!r}; choose 'fdr_bh', 'holm', 'bonferroni' or None.",
            key="correction",
        )
    if not isinstance(permutations, int | np.integer) or permutations < 0:
        raise _fail(f"permutations must be a whole number >= 0, got {permutations!r}.")
    if permutations and seed is None:
        raise _fail("seed must be an integer (results must be reproducible).")


def _resolution(meta, p, padj, permutations, alternative, correction, what, level=0.01) -> None:
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


def _hotspot_labels(padj: np.ndarray, hot: np.ndarray) -> np.ndarray:
    out = np.full(len(padj), "not significant", dtype=object)
    for level, name in reversed(_LEVELS):
        sig = padj <= level
        out[sig & hot] = f"hot spot ({name})"
        out[sig & ~hot] = f"cold spot ({name})"
    return out


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
        Conditional permutations for the pseudo p-values (default 999, seeded). ``0`` uses
        the normal approximation (analytical p-values, as sfhotspot and ArcGIS).
    correction
        Multiple-testing correction applied across the areas: ``"fdr_bh"`` (default),
        ``"holm"``, ``"bonferroni"`` or ``None``. The classes use the adjusted p-value.
    alternative
        ``"two-sided"`` (default: hot and cold spots), ``"greater"`` (hot only) or
        ``"less"`` (cold only).
    seed
        Random seed of the permutations (default 12345): same input, same output.
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

    Permutation p-values use *total* randomisation: the Wᵢ values of the unit and its
    neighbours are drawn together, without replacement, from all n values. The mean and
    variance of that sum are exactly x̄ Wᵢ and the square of the Gi* denominator, so the
    permutation test is the exact counterpart of the z-score. (esda holds the unit's own
    value fixed -- conditional randomisation, right for local Moran -- which for Gi*
    leaves the star's own contribution untested: a city-centre LSOA with the most events
    but ordinary neighbours would not register.) Two-sided p-values double the smaller
    tail, ``min(1, 2 · (1 + #tail) / (1 + permutations))``; the direction (hot / cold) is
    the tail the observed sum is in. The smallest two-sided pseudo p-value is
    ``2 / (1 + permutations)`` -- 0.002 with 999 -- so the 99.9% class needs 1999 or more
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
    14   0.006  not significant
    """
    _check_common(permutations, alternative, correction, seed)
    x, pop_col = _values(data, value, rates, population, per, "gistar")
    n = len(x)
    if n < 3:
        raise _fail("gistar needs at least 3 areas.")
    mat, winfo = neighbours(
        data, weights, tolerance=tolerance, k=k, distance=distance, islands=islands
    )
    xbar = x.mean()
    s = np.sqrt((x**2).mean() - xbar**2)
    if not s > 1e-12 * max(1.0, abs(xbar)):
        raise _fail(
            f"gistar: all values of {value!r} are equal; there is no hot or cold spot to find.",
            column=value,
        )
    wstar = mat + sparse.identity(n, format="csr")
    wi = np.asarray(wstar.sum(axis=1)).ravel()
    s1 = np.asarray(wstar.multiply(wstar).sum(axis=1)).ravel()
    lag = np.asarray(wstar @ x).ravel()
    den = s * np.sqrt(np.maximum(n * s1 - wi**2, 0.0) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(den > 0, (lag - xbar * wi) / np.where(den > 0, den, 1.0), np.nan)
    undefined = int(np.isnan(z).sum())
    if undefined:
        logger.warning(
            "gistar: %d unit(s) have every unit as a neighbour, so Gi* is undefined there (NaN)",
            undefined,
        )
    if permutations:
        ge, le = _tail_counts(x, wstar, permutations, seed, conditional=False)
        p, hot = _perm_pvalues(ge, le, permutations, alternative)
        method = f"permutation, total randomisation ({permutations}, seed {seed})"
    else:
        p, hot = _norm_pvalues(z, alternative)
        method = "normal approximation"
    padj = adjust_pvalues(p, correction)
    out = data.copy()
    out.attrs = {}
    if pop_col is not None:
        out["rate"] = x
    out["gistar"] = z
    out["pvalue"] = p
    out["pvalue_adj"] = padj
    out["hotspot"] = _hotspot_labels(padj, hot)
    meta = {
        "value": "rate" if pop_col is not None else value,
        "rate": {"population": pop_col, "per": per} if pop_col is not None else None,
        "weights": {**winfo, "style": "binary, self included (Gi*)"},
        "pvalues": method,
        "permutations": int(permutations),
        "seed": int(seed) if permutations else None,
        "alternative": alternative,
        "correction": correction,
        "classes": "by pvalue_adj <= 0.001 / 0.01 / 0.05; hot if above expectation",
        "n": n,
        "undefined": undefined,
    }
    _resolution(meta, p, padj, permutations, alternative, correction, "gistar")
    record(out, "gistar", meta)
    logger.info(
        "gistar: %d hot and %d cold spots (%s, %s, correction %s)",
        int(np.char.startswith(out["hotspot"].to_numpy(dtype=str), "hot").sum()),
        int(np.char.startswith(out["hotspot"].to_numpy(dtype=str), "cold").sum()),
        winfo["method"],
        method,
        correction,
    )
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
    _check_common(permutations, alternative, correction, seed)
    if not 0 < alpha < 1:
        raise _fail(f"alpha must be between 0 and 1, got {alpha!r}.")
    x, pop_col = _values(data, value, rates, population, per, "local_moran")
    n = len(x)
    if n < 3:
        raise _fail("local_moran needs at least 3 areas.")
    mat, winfo = neighbours(
        data, weights, tolerance=tolerance, k=k, distance=distance, islands=islands
    )
    sd = x.std()
    if not sd > 1e-12 * max(1.0, abs(x.mean())):
        raise _fail(
            f"local_moran: all values of {value!r} are equal; there is no cluster to find.",
            column=value,
        )
    z = (x - x.mean()) / sd
    rs = np.asarray(mat.sum(axis=1)).ravel()
    inv = sparse.diags(np.where(rs != 0, 1 / np.where(rs != 0, rs, 1), 0))
    wr = (inv @ mat).tocsr()
    lag = np.asarray(wr @ z).ravel()
    den = (z * z).sum()
    lisa = (n - 1) * z * lag / den
    if permutations:
        # the lag of z is an increasing function of the lag of x: count on x (exact sums)
        ge, le = _tail_counts(x, wr, permutations, seed, conditional=True)
        # I is increasing in the neighbour sum when z_i > 0, decreasing when z_i < 0
        pos = z > 0
        ge_i = np.where(pos, ge, le)
        le_i = np.where(pos, le, ge)
        zero = z == 0
        ge_i[zero] = permutations
        le_i[zero] = permutations
        p, _ = _perm_pvalues(ge_i, le_i, permutations, alternative)
        method = f"conditional permutation ({permutations}, seed {seed})"
    else:
        m2 = den / n
        wi = np.asarray(wr.sum(axis=1)).ravel()
        wi2 = np.asarray(wr.multiply(wr).sum(axis=1)).ravel()
        e = -(z**2 * wi) / ((n - 1) * m2)
        v = (z / m2) ** 2 * (n / (n - 2)) * (wi2 - wi**2 / (n - 1)) * (m2 - z**2 / (n - 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            zz = np.where(v > 0, (lisa - e) / np.sqrt(v), 0.0)
        p, _ = _norm_pvalues(zz, alternative)
        method = "normal approximation (conditional randomisation moments, Sokal et al. 1998)"
    padj = adjust_pvalues(p, correction)
    quad = np.where(z > 0, np.where(lag > 0, "HH", "HL"), np.where(lag > 0, "LH", "LL")).astype(
        object
    )
    out = data.copy()
    out.attrs = {}
    if pop_col is not None:
        out["rate"] = x
    out["lisa_i"] = lisa
    out["pvalue"] = p
    out["pvalue_adj"] = padj
    out["quadrant"] = quad
    out["cluster"] = np.where(padj <= alpha, quad, "not significant").astype(object)
    meta = {
        "value": "rate" if pop_col is not None else value,
        "rate": {"population": pop_col, "per": per} if pop_col is not None else None,
        "weights": {**winfo, "style": "row-standardised, self excluded"},
        "pvalues": method,
        "permutations": int(permutations),
        "seed": int(seed) if permutations else None,
        "alternative": alternative,
        "correction": correction,
        "alpha": alpha,
        "n": n,
    }
    _resolution(meta, p, padj, permutations, alternative, correction, "local_moran", alpha)
    record(out, "local_moran", meta)
    return out


# --------------------------------------------------------------------------------------------
# change and persistence
# --------------------------------------------------------------------------------------------


def change(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    areas: gpd.GeoDataFrame | None = None,
    grid: gpd.GeoDataFrame | None = None,
    value: str = "n",
) -> gpd.GeoDataFrame:
    """Change in events per area or cell between two periods (or two groups).

    Parameters
    ----------
    before, after
        Either two tables of counts for the same areas (e.g. two outputs of :func:`count`,
        matched on the index), or two tables of events, which are counted on ``areas`` /
        ``grid`` (a shared grid over both sets of events when neither is given).
    areas, grid
        Where to count events (ignored for counts).
    value
        The count column of count tables (default ``"n"``).

    Returns
    -------
    geopandas.GeoDataFrame
        The areas / cells plus ``n_before``, ``n_after``, ``change`` (after − before) and
        ``pct_change`` (NaN where there were no events before), as sfhotspot
        ``hotspot_change``.

    Raises
    ------
    AnalysisInputError
        Empty inputs, or count tables whose areas differ.

    Examples
    --------
    >>> import pandas as pd
    >>> b = pd.DataFrame({"n": [4, 0, 2]}, index=["A", "B", "C"])
    >>> a = pd.DataFrame({"n": [2, 3, 2]}, index=["A", "B", "C"])
    >>> change(b, a)[["n_before", "n_after", "change", "pct_change"]]
       n_before  n_after  change  pct_change
    A         4        2      -2       -50.0
    B         0        3       3         NaN
    C         2        2       0         0.0
    """
    for name, obj in (("before", before), ("after", after)):
        if not isinstance(obj, pd.DataFrame):
            raise _fail(f"{name} must be a DataFrame, got {type(obj).__name__}.")
        if len(obj) == 0:
            raise _fail(f"{name} is empty.")
    counts_given = value in before.columns and value in after.columns
    meta: dict[str, Any] = {}
    if counts_given:
        if not before.index.equals(after.index):
            if set(before.index) != set(after.index):
                raise _fail(
                    "before and after count different areas; count both on the same areas / grid."
                )
            after = after.loc[before.index]
        out = before.drop(columns=[value]).copy()
        nb = pd.to_numeric(before[value], errors="coerce").fillna(0).to_numpy()
        na = pd.to_numeric(after[value], errors="coerce").fillna(0).to_numpy()
        meta["input"] = "counts"
    else:
        if areas is None and grid is None:
            xb, _ = _points_xy(before, "before")
            xa, _ = _points_xy(after, "after")
            both = np.vstack([xb, xa])
            both = both[np.isfinite(both).all(axis=1)]
            grid = globals()["grid"](pd.DataFrame({"x": both[:, 0], "y": both[:, 1]}))
        cb = count(before, areas=areas, grid=grid)
        ca = count(after, areas=areas, grid=grid)
        out = cb.drop(columns=["n"]).copy()
        nb, na = cb["n"].to_numpy(), ca["n"].to_numpy()
        meta["input"] = "events"
        meta["count_before"] = cb.attrs["sna"]["count"]
        meta["count_after"] = ca.attrs["sna"]["count"]
    out.attrs = {}
    if np.all(np.mod(nb, 1) == 0) and np.all(np.mod(na, 1) == 0):
        nb, na = nb.astype(np.int64), na.astype(np.int64)
    out["n_before"] = nb
    out["n_after"] = na
    out["change"] = na - nb
    with np.errstate(divide="ignore", invalid="ignore"):
        out["pct_change"] = np.where(nb > 0, (na - nb) / np.where(nb > 0, nb, 1) * 100, np.nan)
    meta["total_before"] = float(nb.sum())
    meta["total_after"] = float(na.sum())
    record(out, "change", meta)
    return out


_UNITS = {
    "day": "D",
    "week": "W",
    "month": "M",
    "quarter": "Q",
    "year": "Y",
}


def _parse_period(period: str) -> tuple[float, str]:
    m = re.fullmatch(
        r"\s*([0-9]*\.?[0-9]+)\s*(day|week|month|quarter|year)s?\s*", str(period).lower()
    )
    if not m:
        raise _fail(
            f"period must be a number and a unit of time, e.g. '12 months', '1 year', "
            f"'4 weeks'; got {period!r}.",
            key="period",
        )
    return float(m.group(1)), m.group(2)


def _offset(num: float, unit: str) -> pd.DateOffset:
    if unit in ("month", "quarter", "year"):
        months = num * {"month": 1, "quarter": 3, "year": 12}[unit]
        if months != int(months):
            raise _fail(f"period of {num:g} {unit}s is not a whole number of months.", key="period")
        return pd.DateOffset(months=int(months))
    days = num * (7 if unit == "week" else 1)
    return pd.DateOffset(days=days) if days == int(days) else pd.Timedelta(days=days)


def classify(
    points: pd.DataFrame,
    *,
    time: str,
    period: str = "12 months",
    start=None,
    areas: gpd.GeoDataFrame | None = None,
    grid: gpd.GeoDataFrame | None = None,
    cell_size: float | None = None,
    shape: Literal["square", "hex"] = "square",
    weights: WeightsSpec = "queen",
    hotspot_prop: float = 0.1,
    persistent_prop: float = 0.8,
    recent_prop: float = 0.2,
    critical_p: float = 0.05,
    correction: Correction = "holm",
    collapse: bool = False,
) -> gpd.GeoDataFrame:
    """Classify areas as persistent, emerging, former or intermittent hot or cold spots.

    Parameters
    ----------
    points
        The events, with coordinates (or an ``lsoa`` column when ``areas`` is given) and a
        date column.
    time
        Name of the date column (e.g. ``"month"`` or ``"date"``).
    period
        Length of each period: a number and a unit (day, week, month, quarter, year), e.g.
        ``"12 months"`` (default), ``"3 months"``, ``"1 year"``.
    start
        Start of the first period; default: the earliest date (the first of its month for
        month, quarter and year periods). Use e.g. ``"2018-04-01"`` for financial years.
    areas, grid, cell_size, shape
        Where to count: LSOAs (``areas``), a given ``grid``, or (default) a grid over the
        convex hull of the events with ``cell_size`` / ``shape`` (see :func:`grid`).
    weights
        Neighbours for Gi* (default ``"queen"``, i.e. adjacent cells on a grid).
    hotspot_prop, persistent_prop, recent_prop, critical_p
        sfhotspot ``hotspot_classify_params`` defaults: 0.1, 0.8, 0.2, 0.05.
    correction
        Adjustment of each area's p-values across the periods (default ``"holm"``: what
        sfhotspot does when no method is given, as R's ``p.adjust`` defaults to Holm).
    collapse
        Merge a final, partial period into the one before it.

    Returns
    -------
    geopandas.GeoDataFrame
        The areas / cells plus ``n`` (all events), ``periods_hot``, ``periods_cold`` (number
        of periods significantly hot / cold) and ``hotspot_category``: one of
        :data:`CATEGORY_LABELS`. ``attrs["sna"]["classify"]`` records the periods (start,
        end, events), the parameters and the number of areas per category.

    Raises
    ------
    AnalysisInputError
        Unknown time column, an unparseable period, fewer than two periods with events, or
        parameters outside (0, 1).

    Notes
    -----
    After sfhotspot ``hotspot_classify`` (Ashby): Gi* (binary weights, self included,
    normal p-values, no spatial correction) in each period; each area's p-values adjusted
    across periods; a period is "hot" when the adjusted p < ``critical_p`` and Gi* > 0
    ("cold" when Gi* < 0). With N periods the last ``max(1, floor(recent_prop · N))`` are
    "recent" and the rest "older". For hot spots (cold spots alike):

    - *persistent*: hot in at least ``persistent_prop`` of all periods;
    - else *emerging*: hot in less than ``hotspot_prop`` of the older periods and at least
      ``hotspot_prop`` of the recent ones;
    - else *former*: hot in at least ``hotspot_prop`` of the older periods and less than
      ``hotspot_prop`` of the recent ones;
    - else *intermittent*: hot in at least ``hotspot_prop`` of all periods;
    - an area with both a hot and a cold pattern is *mixed*; otherwise *no pattern*.

    These are sfhotspot's documented rules, which ``sna`` follows. Its code (version 0.9)
    differs in two details: the recent window it sums holds one period more than it divides
    by (the last older period is counted as recent too), and "emerging" compares the recent
    share with ``recent_prop`` rather than ``hotspot_prop`` (the same decision with the
    default parameters below 30 periods). Periods without events are left out (logged).

    Examples
    --------
    Two years of events on a 5 x 5 grid of areas, 20 a year in the central 3 x 3 block and
    2 elsewhere:

    >>> import numpy as np, pandas as pd, geopandas as gpd
    >>> from shapely.geometry import box
    >>> cells = gpd.GeoDataFrame({"lsoa": [f"L{i}" for i in range(25)]},
    ...     geometry=[box(x, y, x + 1, y + 1) for y in range(5) for x in range(5)], crs=27700)
    >>> n = np.full(25, 2)
    >>> n[[6, 7, 8, 11, 12, 13, 16, 17, 18]] = 20
    >>> ev = pd.DataFrame({"lsoa": np.repeat(cells["lsoa"], n), "month": pd.Timestamp("2020-01-01")})
    >>> ev = pd.concat([ev, ev.assign(month=pd.Timestamp("2021-01-01"))], ignore_index=True)
    >>> out = classify(ev, time="month", areas=cells)
    >>> out.loc[12, "hotspot_category"], out.attrs["sna"]["classify"]["n_periods"]
    ('persistent hot spot', 2)
    """
    for name, v in (
        ("hotspot_prop", hotspot_prop),
        ("persistent_prop", persistent_prop),
        ("recent_prop", recent_prop),
        ("critical_p", critical_p),
    ):
        if not 0 < v < 1:
            raise _fail(f"{name} must be greater than 0 and less than 1, got {v!r}.", key=name)
    if not isinstance(points, pd.DataFrame) or len(points) == 0:
        raise _fail("points is empty: there are no events to classify.")
    if time not in points.columns:
        raise _fail(f"time column {time!r} not found in points.", column=time)
    when = pd.to_datetime(points[time], errors="coerce")
    if when.isna().all():
        raise _fail(f"time column {time!r} has no dates.", column=time)
    num, unit = _parse_period(period)
    off = _offset(num, unit)
    t0 = when.min()
    if start is None:
        start = t0.normalize()
        if unit in ("month", "quarter", "year"):
            start = start.replace(day=1)
    start = pd.Timestamp(start)
    if start > t0:
        raise _fail(
            f"start ({start.date()}) is after the first date in the data ({t0.date()}).",
            key="start",
        )
    tmax = when.max()
    # the end of the data: a month of data when the dates are months (data.police.uk)
    month_precision = bool(((when.dt.day == 1) & (when.dt.normalize() == when)).all())
    data_end = tmax + (pd.DateOffset(months=1) if month_precision else pd.Timedelta(days=1))
    edges = [start]
    while edges[-1] + off <= tmax:
        edges.append(edges[-1] + off)
    edges.append(edges[-1] + off)
    partial = data_end < edges[-1]
    if partial and collapse and len(edges) > 2:
        edges = edges[:-2] + [edges[-1]]
    pos = np.searchsorted(
        np.array(edges[1:], dtype="datetime64[ns]"), when.to_numpy(), side="right"
    )
    pos = np.where(when.isna().to_numpy(), -1, pos)
    n_periods = len(edges) - 1

    # where to count
    if areas is None and grid is None:
        xy, _ = _points_xy(points)
        okxy = np.isfinite(xy).all(axis=1)
        grid = globals()["grid"](
            pd.DataFrame({"x": xy[okxy, 0], "y": xy[okxy, 1]}), cell_size=cell_size, shape=shape
        )
    target = areas if areas is not None else grid
    per_period = []
    counts = []
    for p in range(n_periods):
        sub = points[pos == p]
        end = min(edges[p + 1], data_end) - pd.Timedelta(days=1)
        info = {"start": str(edges[p].date()), "end": str(end.date()), "events": len(sub)}
        per_period.append(info)
        if len(sub) == 0:
            logger.warning(
                "classify: no events in the period starting %s; it is left out", info["start"]
            )
            info["used"] = False
            continue
        c = count(sub, areas=areas, grid=target if areas is None else None)
        counts.append((p, c["n"].to_numpy(dtype=float)))
        info["used"] = True
    if len(counts) < 2:
        raise _fail(
            f"classify needs at least two periods with events; the data give {len(counts)} "
            f"period(s) of {period!r}. Use a shorter period.",
            key="period",
        )
    target_checked, _, _ = _areas(target, "areas" if areas is not None else "grid")
    mat, winfo = neighbours(target_checked, weights)
    nmat = np.column_stack([c for _, c in counts])  # areas x periods
    zmat = np.full(nmat.shape, np.nan)
    pmat = np.full(nmat.shape, np.nan)
    n = nmat.shape[0]
    wstar = mat + sparse.identity(n, format="csr")
    wi = np.asarray(wstar.sum(axis=1)).ravel()
    s1 = np.asarray(wstar.multiply(wstar).sum(axis=1)).ravel()
    for j in range(nmat.shape[1]):
        x = nmat[:, j]
        xbar, s = x.mean(), np.sqrt((x**2).mean() - x.mean() ** 2)
        if s == 0:
            continue
        den = s * np.sqrt(np.maximum(n * s1 - wi**2, 0.0) / (n - 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(den > 0, (np.asarray(wstar @ x).ravel() - xbar * wi) / den, np.nan)
        zmat[:, j] = z
        pmat[:, j] = 2 * stats.norm.sf(np.abs(z))
    padj = np.vstack([adjust_pvalues(row, correction) for row in pmat])
    sig = padj < critical_p
    hot = sig & (zmat > 0)
    cold = sig & (zmat < 0)
    m = nmat.shape[1]
    recent = math.floor(recent_prop * m)
    if recent < 1:
        recent = 1
        logger.warning(
            "classify: recent_prop x %d periods < 1; the last period is treated as recent", m
        )
    older = m - recent
    if older < 1:
        raise _fail(
            "classify needs at least one non-recent period; use a shorter period.", key="period"
        )

    def cats(flag: np.ndarray, kind: str) -> np.ndarray:
        prop = flag.sum(axis=1) / m
        rec = flag[:, older:].sum(axis=1) / recent
        old = flag[:, :older].sum(axis=1) / older
        out = np.full(len(flag), "no pattern", dtype=object)
        inter = prop >= hotspot_prop
        former = (old >= hotspot_prop) & (rec < hotspot_prop)
        emerging = (old < hotspot_prop) & (rec >= hotspot_prop)
        persistent = prop >= persistent_prop
        out[inter] = f"intermittent {kind}"
        out[former] = f"former {kind}"
        out[emerging] = f"emerging {kind}"
        out[persistent] = f"persistent {kind}"
        return out

    ch, cc = cats(hot, "hot spot"), cats(cold, "cold spot")
    final = np.where(
        (ch != "no pattern") & (cc != "no pattern"),
        "mixed hot and cold spot",
        np.where(ch != "no pattern", ch, cc),
    ).astype(object)
    out = target_checked.copy()
    out.attrs = {}
    out["n"] = nmat.sum(axis=1).astype(np.int64)
    out["periods_hot"] = hot.sum(axis=1).astype(np.int64)
    out["periods_cold"] = cold.sum(axis=1).astype(np.int64)
    out["hotspot_category"] = final
    meta = {
        "period": period,
        "start": str(start.date()),
        "periods": per_period,
        "n_periods": m,
        "recent_periods": recent,
        "final_period_partial": bool(partial and not collapse),
        "hotspot_prop": hotspot_prop,
        "persistent_prop": persistent_prop,
        "recent_prop": recent_prop,
        "critical_p": critical_p,
        "correction": f"{correction} across periods within each area" if correction else None,
        "weights": winfo,
        "pvalues": "normal approximation, two-sided, per period",
        "categories": {k: int(v) for k, v in pd.Series(final).value_counts().items()},
    }
    if partial and not collapse:
        logger.warning(
            "classify: the last period (from %s) is only partly covered by the data (to %s); "
            "pass collapse=True to merge it into the one before",
            edges[-2].date(),
            (data_end - pd.Timedelta(days=1)).date(),
        )
    if "grid" in target.attrs.get("sna", {}):
        meta["grid"] = target.attrs["sna"]["grid"]
    record(out, "classify", meta)
    return out


# --------------------------------------------------------------------------------------------
# concentration, overlap, deprivation
# --------------------------------------------------------------------------------------------


def _count_series(counts, value: str, what: str) -> pd.Series:
    if isinstance(counts, pd.Series):
        s = counts
    elif isinstance(counts, pd.DataFrame):
        if value not in counts.columns:
            raise _fail(f"{what}: column {value!r} not found.", column=value)
        s = counts[value]
        if "lsoa" in counts.columns and not counts["lsoa"].duplicated().any():
            s = pd.Series(s.to_numpy(), index=pd.Index(counts["lsoa"].to_numpy(), name="lsoa"))
    else:
        raise _fail(f"{what} must be a DataFrame or Series of counts, got {type(counts).__name__}.")
    if len(s) == 0:
        raise _fail(f"{what} is empty.")
    s = pd.to_numeric(s, errors="coerce")
    if s.isna().any() or (s < 0).any():
        raise _fail(
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
        raise _fail("concentration: there are no events (all counts are zero).", column=value)
    desc = x[::-1]
    cum = np.cumsum(desc)
    rows = []
    for t in tops:
        if not 0 < t <= 1:
            raise _fail(f"tops must be proportions in (0, 1], got {t!r}.")
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
        raise _fail(f"top must be a proportion in (0, 1], got {top!r}.")
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
    """Crude rate with Byar's interval (exact Poisson below 10): sna.rates when present."""
    try:
        from .rates import poisson_count_limits
    except ImportError:  # pragma: no cover - the rates room not built yet
        poisson_count_limits = None
    if poisson_count_limits is not None:
        lo, hi, _ = poisson_count_limits(o, confidence)
    else:  # pragma: no cover
        z = stats.norm.ppf(1 - (1 - confidence) / 2)
        a = 1 - confidence
        with np.errstate(divide="ignore", invalid="ignore"):
            byl = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
        byu = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * np.sqrt(o + 1))) ** 3
        exl = np.where(o > 0, stats.chi2.ppf(a / 2, 2 * np.maximum(o, 1)) / 2, 0.0)
        exu = stats.chi2.ppf(1 - a / 2, 2 * o + 2) / 2
        lo = np.where(o < 10, exl, np.where(o > 0, byl, 0.0))
        hi = np.where(o < 10, exu, byu)
    return o / pop * per, lo / pop * per, hi / pop * per


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

    Returns
    -------
    pandas.DataFrame
        One row per decile present (``imd_decile`` or ``imd_quintile``): ``areas``, ``n``,
        ``population``, ``rate``, ``lowercl``, ``uppercl`` (Byar's, exact below 10 events),
        ``rate_ratio`` (to the least deprived group present), ``rr_lowercl``,
        ``rr_uppercl``. ``attrs["sna"]["by_deprivation"]["rate_ratio"]`` holds the rate
        ratio of the most to the least deprived group with its interval and which groups
        they are.

    Raises
    ------
    AnalysisInputError
        Missing columns, LSOAs with events but not in the geography, missing populations or
        deciles outside 1..10.

    Notes
    -----
    Rate ratio interval: exact, conditional on the total of the two groups (the binomial
    split of O₁ + O₂, Clopper-Pearson limits turned into the ratio) -- statsmodels'
    ``exact-cond`` method; LSOAs without a decile are left out and counted.

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
    for col in ("lsoa", population, decile):
        if col not in geography.columns:
            raise _fail(f"by_deprivation: geography has no {col!r} column.", column=col)
    s = _count_series(counts, value, "by_deprivation")
    geo = pd.DataFrame(geography[["lsoa", population, decile]]).copy()
    unknown = sorted(set(s.index.astype(str)) - set(geo["lsoa"].astype(str)))
    s_events = s.groupby(s.index.astype(str)).sum()
    if unknown:
        lost = float(s_events.reindex(unknown).sum())
        if lost > 0:
            raise _fail(
                f"by_deprivation: {len(unknown)} LSOA(s) with events are not in the geography "
                f"(e.g. {unknown[:3]}); filter the events to the area first.",
                column="lsoa",
            )
    geo["n"] = s_events.reindex(geo["lsoa"].astype(str)).fillna(0).to_numpy()
    dec = pd.to_numeric(geo[decile], errors="coerce")
    no_decile = dec.isna()
    if ((dec < 1) | (dec > 10)).any():
        raise _fail("by_deprivation: IMD deciles must be 1..10 (1 = most deprived).", column=decile)
    pop = pd.to_numeric(geo[population], errors="coerce")
    if pop[~no_decile].isna().any() or (pop[~no_decile] <= 0).any():
        raise _fail("by_deprivation: every LSOA needs a positive population.", column=population)
    geo = geo[~no_decile].assign(**{population: pop[~no_decile]})
    group = "imd_quintile" if quintiles else "imd_decile"
    geo[group] = (
        ((dec[~no_decile] + 1) // 2).astype(int) if quintiles else dec[~no_decile].astype(int)
    )
    tab = (
        geo.groupby(group)
        .agg(areas=("lsoa", "size"), n=("n", "sum"), population=(population, "sum"))
        .reset_index()
        .sort_values(group, kind="mergesort")
        .reset_index(drop=True)
    )
    o = tab["n"].to_numpy(dtype=float)
    p = tab["population"].to_numpy(dtype=float)
    rate, lo, hi = _rate_limits(o, p, per, confidence)
    if np.all(np.mod(o, 1) == 0):
        tab["n"] = o.astype(np.int64)
    tab["rate"], tab["lowercl"], tab["uppercl"] = rate, lo, hi
    ref = len(tab) - 1  # least deprived group present
    rr, rlo, rhi = _rate_ratio(o, p, o[ref], p[ref], confidence)
    tab["rate_ratio"], tab["rr_lowercl"], tab["rr_uppercl"] = rr, rlo, rhi
    tab.attrs = {}
    meta = {
        "groups": group,
        "per": per,
        "confidence": confidence,
        "interval": "Byar's (exact Poisson below 10 events)",
        "reference": f"{group} {int(tab[group].iloc[ref])} (least deprived present)",
        "rate_ratio": {
            "most_deprived": int(tab[group].iloc[0]),
            "least_deprived": int(tab[group].iloc[ref]),
            "value": float(rr[0]),
            "lowercl": float(rlo[0]),
            "uppercl": float(rhi[0]),
            "method": "exact conditional (binomial), Clopper-Pearson",
        },
        "lsoas_without_decile": int(no_decile.sum()),
    }
    record(tab, "by_deprivation", meta)
    return tab


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
