"""What every hot-spot function checks and converts: events to British National Grid points,
areas and their identifiers, the study area, the population column, clear errors.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._log import logger
from ..errors import AnalysisInputError

__all__ = [
    "BNG",
]


BNG = "EPSG:27700"

_MAX_CELLS = 2_000_000

# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------


def fail(message: str, **where) -> AnalysisInputError:
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

def points_xy(points, what: str = "points") -> tuple[np.ndarray, dict[str, Any]]:
    """Coordinates (EPSG:27700) of a points table as an (m, 2) array (NaN where unknown)."""
    info: dict[str, Any] = {}
    if isinstance(points, gpd.GeoSeries):
        points = gpd.GeoDataFrame(geometry=points)
    if isinstance(points, gpd.GeoDataFrame) and points.geometry.name in points.columns:
        if len(points) == 0:
            raise fail(f"{what} is empty: there are no events to analyse.")
        geoms = points.geometry
        types = set(geoms[~(geoms.isna() | geoms.is_empty)].geom_type)
        if types - {"Point"}:
            raise fail(
                f"{what} must hold point geometries, found {sorted(types)}; use "
                "`.representative_point()` or count on areas instead."
            )
        geoms = to_bng(geoms, what, info)
        missing = geoms.isna() | geoms.is_empty
        xy = np.full((len(geoms), 2), np.nan)
        if (~missing).any():
            xy[~missing.to_numpy()] = shapely.get_coordinates(geoms[~missing].to_numpy())
        return xy, info
    if not isinstance(points, pd.DataFrame):
        raise fail(f"{what} must be a DataFrame or GeoDataFrame, got {type(points).__name__}.")
    if len(points) == 0:
        raise fail(f"{what} is empty: there are no events to analyse.")
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
    raise fail(
        f"{what} has no coordinates: give x/y columns (British National Grid, EPSG:27700), "
        "longitude/latitude columns, or point geometries.",
        column="x",
    )

def to_bng(geoms: gpd.GeoSeries, what: str, info: dict) -> gpd.GeoSeries:
    if geoms.crs is None:
        b = geoms.total_bounds
        if (
            np.all(np.isfinite(b))
            and max(abs(b[0]), abs(b[2])) <= 180
            and max(abs(b[1]), abs(b[3])) <= 90
        ):
            raise fail(
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

def checked_areas(areas, what: str = "areas") -> tuple[gpd.GeoDataFrame, gpd.GeoSeries, dict]:
    """Validate a polygon table; return (the table, its geometry in BNG, info)."""
    if isinstance(areas, gpd.GeoSeries):
        areas = gpd.GeoDataFrame(geometry=areas)
    if not isinstance(areas, gpd.GeoDataFrame) or areas.geometry.name not in areas.columns:
        raise fail(
            f"{what} has no geometry: pass a GeoDataFrame of polygons (e.g. the assessment's "
            "`geography`, or `sna.hotspot.grid(...)`)."
        )
    if len(areas) == 0:
        raise fail(f"{what} is empty: there are no areas.")
    geoms = areas.geometry
    if geoms.isna().any() or geoms.is_empty.any():
        bad = list(areas.index[(geoms.isna() | geoms.is_empty).to_numpy()][:5])
        raise fail(f"{what} has rows with no geometry (index {bad}); drop or repair them.")
    info: dict[str, Any] = {}
    return areas, to_bng(geoms, what, info), info

def unit_ids(frame: pd.DataFrame) -> list[str]:
    """Labels that identify rows in a record: the ``lsoa`` column, else the index."""
    for col in ("lsoa", "cell_id"):
        if col in frame.columns:
            return [str(v) for v in frame[col]]
    return [str(v) for v in frame.index]

# --------------------------------------------------------------------------------------------
# grid
# --------------------------------------------------------------------------------------------


def study_area_of(area) -> tuple[Any, dict]:
    """A single (multi)polygon in BNG from polygons (their union) or points (convex hull)."""
    info: dict[str, Any] = {}
    if isinstance(area, shapely.Geometry):
        area = gpd.GeoSeries([area], crs=BNG)
    if isinstance(area, pd.DataFrame) and not isinstance(area, gpd.GeoDataFrame):
        xy, info = points_xy(area, "area")
        xy = xy[np.isfinite(xy).all(axis=1)]
        if len(xy) == 0:
            raise fail("area: none of the points has a location.")
        return _hull(xy), {**info, "study_area": "convex hull of the points"}
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        geoms = area.geometry if isinstance(area, gpd.GeoDataFrame) else area
        if len(geoms) == 0:
            raise fail("area is empty.")
        geoms = to_bng(geoms, "area", info)
        geoms = geoms[~(geoms.isna() | geoms.is_empty)]
        if len(geoms) == 0:
            raise fail("area has no geometry.")
        if set(geoms.geom_type) <= {"Point", "MultiPoint"}:
            xy = shapely.get_coordinates(geoms.to_numpy())
            return _hull(xy), {**info, "study_area": "convex hull of the points"}
        return shapely.union_all(geoms.to_numpy()), {**info, "study_area": "union of the polygons"}
    raise fail(
        f"area must be a GeoDataFrame, GeoSeries or shapely geometry, got {type(area).__name__}."
    )

def _hull(xy: np.ndarray):
    hull = shapely.multipoints(xy).convex_hull
    if hull.area == 0:  # one point or a line of points: give it some room
        hull = hull.buffer(100.0)
    return hull

def check_size(n: int, cell_size: float) -> None:
    if n > _MAX_CELLS:
        raise fail(
            f"a cell size of {cell_size:g} m would make about {n:,} cells (more than "
            f"{_MAX_CELLS:,}); choose a larger cell_size."
        )

def polygonal(g):
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


def weights_values(points: pd.DataFrame, weights) -> np.ndarray | None:
    if weights is None:
        return None
    if isinstance(weights, str):
        if weights not in points.columns:
            raise fail(f"weights column {weights!r} is not in points.", column=weights)
        w = pd.to_numeric(points[weights], errors="coerce").to_numpy(dtype=float)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (len(points),):
            raise fail(
                f"weights must have one value per point ({len(points)}), got shape {w.shape}."
            )
    return np.nan_to_num(w, nan=0.0)

def assign_to_areas(xy: np.ndarray, geoms: gpd.GeoSeries) -> np.ndarray:
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

def rate_column(
    out: pd.DataFrame, value: np.ndarray, population, per: float, what: str
) -> np.ndarray:
    pop = population_of(out, population, what)
    rate = value / pop * per
    out["rate"] = rate
    return rate

def population_of(frame: pd.DataFrame, population, what: str) -> np.ndarray:
    if isinstance(population, str):
        if population not in frame.columns:
            raise fail(
                f"{what}: population column {population!r} not found; pass population= the "
                "name of the column with the population of each area.",
                column=population,
            )
        pop = pd.to_numeric(frame[population], errors="coerce").to_numpy(dtype=float)
    else:
        pop = np.asarray(population, dtype=float)
        if pop.shape != (len(frame),):
            raise fail(f"{what}: population must have one value per row ({len(frame)}).")
    bad = ~np.isfinite(pop) | (pop <= 0)
    if bad.any():
        rows = list(frame.index[bad][:5])
        raise fail(
            f"{what}: {int(bad.sum())} area(s) have a missing or non-positive population "
            f"(index {rows}); rates need a positive population for every area.",
            column=population if isinstance(population, str) else None,
        )
    return pop
