"""The area's units at any level (LSOA, MSOA, ward, district, partnership): the LSOAs grouped
into them (:func:`areas`) and events counted by them (:func:`count_by`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ...errors import GeographyError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["LEVELS", "areas", "count_by"]


#: The area levels of the geography table: level -> (code column, name column).
LEVELS: dict[str, tuple[str, str]] = {
    "lsoa": ("lsoa", "name"),
    "msoa": ("msoa", "msoa_name"),
    "ward": ("ward", "ward_name"),
    "district": ("district", "district_name"),
    "partnership": ("partnership", "partnership"),
}


def areas(geo: "gpd.GeoDataFrame", level: str = "ward") -> "gpd.GeoDataFrame":
    """The area's units at a level: LSOAs grouped into MSOAs, wards, districts or partnerships.

    Parameters
    ----------
    geo
        The geography (:func:`load_geography`).
    level
        ``"lsoa"``, ``"msoa"``, ``"ward"``, ``"district"`` or ``"partnership"``
        (:data:`LEVELS`).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per unit, sorted by code: the level's code and name columns (``ward``,
        ``ward_name``...), ``district``, ``district_name``, ``partnership`` (of the unit's
        LSOA with most residents, for a unit across a boundary), ``lsoas`` (how many),
        ``population`` (sum; missing if any LSOA lacks one), ``imd_decile_median`` (the median
        decile of its LSOAs, a description only), ``geometry`` (the LSOAs dissolved).
        ``attrs["sna"]`` keeps the geography's and records ``level``.

    Notes
    -----
    Wards and MSOAs are made of whole LSOAs (best fit), so a unit's population is the sum of its
    LSOAs' and an event placed in an LSOA is in the LSOA's ward. Pass the result to the same
    analyses as LSOAs (rates, :func:`sna.hotspot.gistar`, maps), with ``level``'s code column
    as the key (:func:`count_by`).

    Examples
    --------
    >>> from sna.config import load_config
    >>> from sna.datasets import nottingham_sample_config
    >>> from sna.io.geography import load_geography
    >>> geo, _ = load_geography(load_config(nottingham_sample_config()))
    >>> w = areas(geo, "ward")
    >>> len(w), int(w.lsoas.sum()), int(w.population.sum())
    (20, 182, 332900)
    >>> w.columns[:3].tolist()
    ['ward', 'ward_name', 'district']
    """
    import geopandas as gpd

    if level not in LEVELS:
        raise GeographyError(f"unknown area level {level!r}: one of {', '.join(LEVELS)}")
    code, name = LEVELS[level]
    if level == "lsoa":
        out = geo.copy()
        out["lsoas"] = 1
        out["imd_decile_median"] = out["imd_decile"].astype("Float64")
        out.attrs["sna"] = dict(geo.attrs.get("sna", {}), level=level)
        return out
    if geo[code].isna().any():
        raise GeographyError(f"{int(geo[code].isna().sum())} LSOA(s) have no {level}: the bundled lookups "
                             "do not cover them")
    g = geo.sort_values(["population", "lsoa"], ascending=[False, True], na_position="last")
    first = g.drop_duplicates(code).set_index(code)
    grouped = geo.groupby(code, sort=True)
    pop = grouped["population"].sum(min_count=1)
    pop[grouped["population"].apply(lambda s: s.isna().any())] = pd.NA
    cols = [c for c in (name, "district", "district_name", "partnership") if c != code]
    out = pd.DataFrame({code: pop.index})
    for c in dict.fromkeys(cols):
        out[c] = out[code].map(first[c]).astype("string")
    out["lsoas"] = out[code].map(grouped.size()).astype("int64")
    out["population"] = out[code].map(pop).astype("Float64")
    out["imd_decile_median"] = out[code].map(grouped["imd_decile"].median()).astype("Float64")
    shapes = geo[[code, "geometry"]].dissolve(by=code).geometry
    shapes = shapes.buffer(25).buffer(-25)  # close the slivers between generalised LSOAs
    out = gpd.GeoDataFrame(out, geometry=out[code].map(shapes).to_numpy(), crs=geo.crs)
    out.attrs["sna"] = dict(geo.attrs.get("sna", {}), level=level)
    return out


def count_by(events: pd.DataFrame, geo: pd.DataFrame, level: str = "ward", *, column: str = "n") -> pd.DataFrame:
    """Events (with an ``lsoa`` column) counted by the units of a level, every unit listed.

    Examples
    --------
    >>> geo = pd.DataFrame({"lsoa": ["a", "b", "c"], "ward": ["W1", "W1", "W2"]})
    >>> count_by(pd.DataFrame({"lsoa": ["a", "b", "b", None]}), geo, "ward").values.tolist()
    [['W1', 3], ['W2', 0]]
    """
    code, _ = LEVELS[level]
    units = pd.Index(sorted(pd.Series(geo[code]).dropna().astype(str).unique()), name=code)
    key = pd.Series(geo[code].astype(str).to_numpy(), index=geo["lsoa"].astype(str).to_numpy())
    where = events["lsoa"].astype("string").map(key) if level != "lsoa" else events["lsoa"].astype("string")
    n = where.dropna().astype(str).value_counts().reindex(units, fill_value=0).astype("int64")
    return n.rename(column).reset_index()
