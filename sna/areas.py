"""Area levels: events counted and rated by LSOA, MSOA (neighbourhood), electoral ward,
district or partnership, with names a councillor reads.

Every LSOA of the geography carries its MSOA and 2024 ward (:mod:`sna.io.geography`), so an
event placed in an LSOA is in that LSOA's ward, and a ward's population is the sum of its
LSOAs'. :func:`level_frame` gives one row per unit with its shape and count, ready for the
same analyses as LSOAs (rates, :func:`sna.hotspot.gistar`, :func:`sna.hotspot.local_moran`,
maps); :func:`rate_table` the table of a chapter: counts and rates with intervals, ranked, and
how each unit compares with the whole area.

>>> from sna.areas import LEVELS
>>> list(LEVELS)
['lsoa', 'msoa', 'ward', 'district', 'partnership']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .errors import AnalysisInputError
from .io.geography import LEVELS, areas, count_by

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["LEVELS", "LEVEL_LABELS", "level_frame", "rate_table", "COMPARISON"]

#: How a level is named in tables and captions: level -> (singular, plural).
LEVEL_LABELS: dict[str, tuple[str, str]] = {
    "lsoa": ("LSOA", "LSOAs"),
    "msoa": ("neighbourhood (MSOA)", "neighbourhoods (MSOAs)"),
    "ward": ("ward", "wards"),
    "district": ("district", "districts"),
    "partnership": ("partnership", "partnerships"),
}

#: Funnel-plot classes in plain words.
COMPARISON = {
    "High (0.001)": "higher than the area (99.8%)",
    "High (0.025)": "higher than the area (95%)",
    "Not significant": "similar to the area",
    "Low (0.025)": "lower than the area (95%)",
    "Low (0.001)": "lower than the area (99.8%)",
}


def level_frame(events: pd.DataFrame, geo: "gpd.GeoDataFrame", level: str = "ward") -> "gpd.GeoDataFrame":
    """One row per unit of ``level`` with its shape, population and count of ``events``.

    Parameters
    ----------
    events
        Events with an ``lsoa`` column (e.g. a year's serious violence from the incidents).
    geo
        The assessment's geography.
    level
        ``"lsoa"``, ``"msoa"``, ``"ward"``, ``"district"`` or ``"partnership"``.

    Returns
    -------
    geopandas.GeoDataFrame
        :func:`sna.io.geography.areas` plus ``n`` (events in the unit; 0 where none).

    Examples
    --------
    >>> import sna
    >>> from sna.datasets import nottingham_sample_config
    >>> a = sna.load_assessment(nottingham_sample_config(), use_cache=False)
    >>> w = level_frame(a.incidents, a.geography, "ward")
    >>> len(w), int(w.n.sum()) == int(a.incidents.lsoa.notna().sum())
    (20, True)
    """
    code = LEVELS[level][0]
    out = areas(geo, level).merge(count_by(events, geo, level), on=code, how="left")
    out["n"] = out["n"].fillna(0).astype("int64")
    return out


def _checked_units(units: pd.DataFrame, geo: pd.DataFrame, level: str) -> pd.DataFrame:
    """The caller's :func:`level_frame` for :func:`rate_table`, refused unless it has the
    level's code, ``n`` and ``population`` and holds exactly the geography's units."""
    code = LEVELS[level][0]
    missing = [c for c in (code, "n", "population") if c not in units.columns]
    if missing:
        raise AnalysisInputError(f"units must be level_frame(events, geo, {level!r}); it has no "
                                 f"column {missing[0]!r}", column=missing[0])
    if set(units[code].astype(str)) != set(geo[code].dropna().astype(str)):
        raise AnalysisInputError(f"units are not the {level}s of this geography: make them with "
                                 f"level_frame(events, geo, {level!r})", column=code)
    return units


def rate_table(
    events: pd.DataFrame,
    geo: "gpd.GeoDataFrame",
    level: str = "ward",
    *,
    multiplier: float = 1000,
    confidence: float = 0.95,
    units: "gpd.GeoDataFrame | None" = None,
) -> pd.DataFrame:
    """Events by unit of a level: count, rate with its interval, rank and the comparison with
    the area, as a table for readers who know their ward or neighbourhood by name.

    Parameters
    ----------
    events
        Events with an ``lsoa`` column.
    geo
        The assessment's geography.
    level
        The level (default ``"ward"``).
    multiplier
        Rate per this many residents (default 1,000).
    confidence
        Level of the rate's interval.
    units
        :func:`level_frame` of the same ``events``, ``geo`` and ``level``, when the caller
        has made it already (for a map): the units' shapes are then not dissolved again.

    Returns
    -------
    pandas.DataFrame
        One row per unit, most events first: the level's code and name, ``district_name``,
        ``partnership``, ``lsoas``, ``population``, ``n``, ``rate``, ``lowercl``, ``uppercl``
        (Byar's interval, :func:`sna.rates.crude_rate`), ``rank`` (1 = most events) and
        ``compared`` (the funnel-plot class of :func:`sna.rates.funnel` against the area's
        pooled rate, in words: "higher than the area (99.8%)" ... "similar to the area").
        Units without population have no rate and no comparison. ``attrs["sna"]`` records
        ``level``, ``multiplier``, ``area_rate`` and the funnel's own record.

    Examples
    --------
    >>> import sna
    >>> from sna.datasets import nottingham_sample_config
    >>> a = sna.load_assessment(nottingham_sample_config(), use_cache=False)
    >>> t = rate_table(a.incidents, a.geography, "ward")
    >>> t.columns.tolist()[:4], len(t), int(t["rank"].min())
    (['ward', 'ward_name', 'district_name', 'partnership'], 20, 1)
    """
    from . import rates

    code, name = LEVELS[level]
    f = level_frame(events, geo, level) if units is None else _checked_units(units, geo, level)
    cols = list(dict.fromkeys([code, name, "district_name", "partnership", "lsoas", "population", "n"]))
    t = pd.DataFrame(f[cols])
    t["population"] = t["population"].astype(float)
    ok = t["population"].notna() & (t["population"] > 0)
    t["rate"] = pd.Series(float("nan"), index=t.index)
    t["lowercl"] = t["rate"].copy()
    t["uppercl"] = t["rate"].copy()
    t["compared"] = pd.Series(pd.NA, index=t.index, dtype="string")
    meta: dict = {"level": level, "multiplier": multiplier}
    if ok.any():
        r = rates.crude_rate(t.loc[ok], "n", "population", multiplier=multiplier, confidence=confidence)
        t.loc[ok, "rate"] = r["value"].to_numpy()
        t.loc[ok, "lowercl"] = r["lowercl"].to_numpy()
        t.loc[ok, "uppercl"] = r["uppercl"].to_numpy()
        if ok.sum() >= 2:
            fun = rates.funnel(t.loc[ok], "n", "population", multiplier=multiplier)
            t.loc[ok, "compared"] = fun["significance"].map(COMPARISON).fillna(fun["significance"]).to_numpy()
            meta["funnel"] = dict(fun.attrs.get("sna", {}))
        meta["area_rate"] = float(t.loc[ok, "n"].sum() / t.loc[ok, "population"].sum() * multiplier)
    t = t.sort_values(["n", code], ascending=[False, True]).reset_index(drop=True)
    t["rank"] = t["n"].rank(method="min", ascending=False).astype("int64")
    t.attrs["sna"] = meta
    return t
