"""Counting events per area (by LSOA code or point in polygon) or per grid cell
(:func:`count`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .._log import logger, record
from ..errors import AnalysisInputError
from . import grids
from ._inputs import assign_to_areas, checked_areas, fail, points_xy, rate_column, weights_values

__all__ = [
    "count",
]


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
        raise fail("give either areas= or grid=, not both.")
    if not isinstance(points, pd.DataFrame | gpd.GeoSeries):
        raise fail(f"points must be a DataFrame or GeoDataFrame, got {type(points).__name__}.")
    if len(points) == 0:
        raise fail("points is empty: there are no events to count.")
    target = areas if areas is not None else grid
    built = False
    if target is None:
        target = grids.grid(points)
        built = True
    target, geoms, info = checked_areas(target, "areas" if areas is not None else "grid")
    wvals = weights_values(points, weights) if isinstance(points, pd.DataFrame) else None
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
                raise fail(f"key column {key!r} must be in both points and areas.", column=key)
            match_on = key

    if match_on is not None:
        codes = points[match_on]
        lookup = pd.Series(np.arange(len(target)), index=pd.Index(target[match_on].astype(str)))
        if lookup.index.has_duplicates:
            raise fail(
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
                xy, pinfo = points_xy(points)
            except AnalysisInputError:
                xy = None
            if xy is not None:
                has_xy = missing & np.isfinite(xy).all(axis=1)
                if has_xy.any():
                    sub = assign_to_areas(xy[has_xy], geoms)
                    pos[np.flatnonzero(has_xy)] = sub
                    missing = missing & ~has_xy
                    meta.update(pinfo)
                    meta["placed_by_location"] = int((sub >= 0).sum())
        meta["missing_location"] = int(missing.sum())
        meta["outside"] = int(((pos < 0) & ~missing).sum())
    else:
        xy, pinfo = points_xy(points)
        meta.update(pinfo)
        pos = assign_to_areas(xy, geoms)
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
        rate_column(out, out["n"].to_numpy(dtype=float), population, per, "count")
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
