"""Grids: square or hexagonal cells clipped to a study area (:func:`grid`), and the cells of
the area itself (:func:`cells_within`).
"""

from __future__ import annotations

import math
from typing import Literal

import geopandas as gpd
import numpy as np
import shapely

from .._log import logger, record
from ._inputs import BNG, check_size, checked_areas, fail, polygonal, study_area_of

__all__ = [
    "grid",
    "cells_within",
]


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
        raise fail(f"shape must be 'square' or 'hex', got {shape!r}.")
    poly, info = study_area_of(area)
    bounds = poly.bounds
    auto = cell_size is None
    if auto:
        cell_size = _auto_cell_size(bounds)
    cell_size = float(cell_size)
    if not cell_size > 0 or not math.isfinite(cell_size):
        raise fail(f"cell_size must be a positive number of metres, got {cell_size!r}.")
    minx, miny, maxx, maxy = bounds
    if shape == "square":
        x0 = math.floor(minx / cell_size) * cell_size
        y0 = math.floor(miny / cell_size) * cell_size
        nx = max(1, math.ceil((maxx - x0) / cell_size))
        ny = max(1, math.ceil((maxy - y0) / cell_size))
        check_size(nx * ny, cell_size)
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
        check_size(nx * ny, cell_size)
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
    clipped[edge] = [polygonal(g) for g in shapely.intersection(cells[edge], poly)]
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
    cells, cell_geoms, _ = checked_areas(cells, "cells")
    _, area_geoms, _ = checked_areas(area, "area")
    tree = shapely.STRtree(area_geoms.to_numpy())
    hit = np.unique(tree.query(cell_geoms.centroid.to_numpy(), predicate="intersects")[0])
    return cells.iloc[hit].reset_index(drop=True)  # (attrs travel with the rows)
