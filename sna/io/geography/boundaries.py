"""LSOA boundaries: any format geopandas reads (GeoJSON, GeoPackage, shapefile, FlatGeobuf,
GeoParquet), a folder of them, a glob, a zip archive or a list; the LSOA code column and its
vintage detected, the polygons reprojected to British National Grid (:data:`BNG`)."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Iterable

import pandas as pd

from ..._log import record
from ...errors import GeographyError, InputFormatError
from .._files import InputFile, expand_paths
from ._common import detect_lsoa_column, name_column
from .vintages import detect_vintage

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["BNG", "read_boundaries"]

logger = logging.getLogger("sna")


#: British National Grid.
BNG = "EPSG:27700"
_BOUNDARY_PATTERNS = ("*.geojson", "*.json", "*.gpkg", "*.shp", "*.fgb", "*.parquet", "*.geoparquet")


def _read_one_boundary(f: InputFile) -> "gpd.GeoDataFrame":
    import geopandas as gpd

    target = str(f.path) if f.member is None else f"/vsizip/{f.path}/{f.member}"
    try:
        if f.basename.lower().endswith((".parquet", ".geoparquet")):
            return gpd.read_parquet(target)
        return gpd.read_file(target)
    except Exception as exc:  # pyogrio / fiona errors vary by driver
        raise InputFormatError(
            f"the boundary file cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "give a GeoJSON, GeoPackage, shapefile or GeoParquet of LSOA polygons",
            file=f.name,
        ) from None


def _guess_crs(gdf: "gpd.GeoDataFrame") -> str:
    minx, miny, maxx, maxy = gdf.total_bounds
    if -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90:
        return "EPSG:4326"
    return BNG


def read_boundaries(
    path: "str | os.PathLike | Iterable[str | os.PathLike]",
    *,
    lsoa_column: str | None = None,
    vintage: int | None = None,
) -> "gpd.GeoDataFrame":
    """Read LSOA boundaries and reproject them to British National Grid.

    Parameters
    ----------
    path
        A file in any format geopandas reads, a folder of them (e.g. one GeoJSON per
        district), a glob, a zip archive, or a list.
    lsoa_column
        The LSOA code column; detected if None (:func:`~sna.io.geography.detect_lsoa_column`).
    vintage
        2011 or 2021; detected from the column name, else from the codes, if None.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:27700, one row per LSOA: ``lsoa``, ``name`` (may be missing), ``geometry``.
        ``attrs["sna"]`` records ``lsoa_column``, ``lsoa_vintage``, ``source_crs``, ``files``.

    Raises
    ------
    GeographyError
        No LSOA code column (the file and the columns seen are named).

    Notes
    -----
    A file without a CRS is taken as WGS84 when its coordinates fit longitude / latitude,
    else as British National Grid (logged). An LSOA present in two files is kept once.

    Examples
    --------
    >>> from sna.datasets import nottingham_sample_config
    >>> b = read_boundaries(nottingham_sample_config().parent / "boundaries")
    >>> len(b), b.crs.to_epsg(), b.attrs["sna"]["lsoa_vintage"]
    (182, 27700, 2011)
    """
    import geopandas as gpd

    files = expand_paths(path, patterns=_BOUNDARY_PATTERNS, zips=True, what="LSOA boundary")
    parts = []
    source_crs = set()
    detected_col: str | None = None
    detected_vintage: int | None = None
    for f in files:
        g = _read_one_boundary(f)
        if g.empty:
            logger.warning("boundary file %s holds no features", f.name)
            continue
        col = lsoa_column
        v = vintage
        if col is None:
            col, v_name = detect_lsoa_column(list(g.columns), g)
            v = v or v_name
        if col is None or col not in g.columns:
            seen = ", ".join(str(c) for c in g.columns if c != "geometry")
            what = f"the configured LSOA column {lsoa_column!r} is not in" if lsoa_column else "no LSOA code column in"
            raise GeographyError(
                f"{what} the boundary file (columns seen: {seen}); give LSOA boundaries with a "
                "code column such as LSOA11CD or LSOA21CD, or set geography.lsoa_column in sna.yml",
                file=f.name,
            )
        detected_col = detected_col or col
        detected_vintage = detected_vintage or v
        if g.crs is None:
            crs = _guess_crs(g)
            logger.info("boundary file %s has no CRS: taken as %s from its coordinates", f.name, crs)
            g = g.set_crs(crs)
        source_crs.add(g.crs.to_string())
        name_col = name_column([c for c in g.columns if c != col])
        part = gpd.GeoDataFrame(
            {
                "lsoa": g[col].astype(str).str.strip(),
                "name": g[name_col].astype("string") if name_col else pd.Series(pd.NA, index=g.index, dtype="string"),
            },
            geometry=g.geometry.to_crs(BNG),
            crs=BNG,
        )
        parts.append(part)
    if not parts:
        raise GeographyError("the boundary files hold no features", file=str(path))
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=BNG)
    dup = out["lsoa"].duplicated()
    if dup.any():
        logger.warning("%d LSOA(s) appear in more than one boundary file: kept once", int(dup.sum()))
        out = out.loc[~dup].reset_index(drop=True)
    bad = out["lsoa"].isin(["", "nan", "None"]) | out.geometry.isna()
    if bad.any():
        logger.warning("%d boundary feature(s) without an LSOA code or geometry ignored", int(bad.sum()))
        out = out.loc[~bad].reset_index(drop=True)
    invalid = ~out.geometry.is_valid
    if invalid.any():
        out.loc[invalid, "geometry"] = out.geometry[invalid].make_valid()
    if detected_vintage is None:
        detected_vintage = detect_vintage(out["lsoa"])
        if detected_vintage is None:
            detected_vintage = 2011
            logger.info("LSOA vintage not told by the column name or codes: 2011 assumed")
    out.attrs["sna"] = {}
    record(out, "lsoa_column", detected_col)
    record(out, "lsoa_vintage", int(detected_vintage))
    record(out, "source_crs", sorted(source_crs))
    record(out, "boundary_files", [f.name for f in files])
    if source_crs != {BNG}:
        logger.info("boundaries reprojected from %s to %s", ", ".join(sorted(source_crs)), BNG)
    return out
