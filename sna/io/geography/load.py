"""The assessment's area from its config: :func:`load_geography` builds the canonical
**geography** table (boundaries, districts and partnerships, wards and MSOAs, population,
deprivation) and the long **population** table, one named step after another;
:func:`geography_summary` gives its block of the QualityLog."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...errors import GeographyError
from .boundaries import BNG, read_boundaries
from .deprivation import convert_deprivation, read_deprivation
from .lookups import read_district_csp_lookup, read_levels_lookup, read_lsoa_district_lookup, recode_district
from .population import population_for_year, read_population
from .vintages import apportion, best_fit_pairs, detect_vintage

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from ...config import Config

__all__ = ["load_geography", "geography_summary"]

logger = logging.getLogger("sna")


def _population_files(g) -> dict:
    if g.population is None:
        return {}
    if isinstance(g.population, dict):
        return {int(y): p for y, p in sorted(g.population.items())}
    return {g.population_year: g.population}


def _read_area_population(path: Path, area: set, vintage: int, notes: list[str]) -> pd.DataFrame:
    found: dict = {}

    def rows(codes: pd.Series) -> np.ndarray:
        """The rows of the area (or, on the other vintage, of the LSOAs that map into it),
        the vintage told from every code of the file."""
        v = found["vintage"] = detect_vintage(codes.unique())
        if v is not None and v != vintage:
            pairs = best_fit_pairs(v, vintage)
            return codes.isin(set(pairs.loc[pairs["dst"].isin(area), "src"])).to_numpy()
        return codes.isin(area).to_numpy()

    pop = read_population(path, rows=rows)  # national files: only the area's rows converted
    method = pop.attrs["sna"]["population_age_method"]
    pop_vintage = found["vintage"]
    if pop_vintage is not None and pop_vintage != vintage:
        pairs = best_fit_pairs(pop_vintage, vintage)
        wanted = set(pairs.loc[pairs["dst"].isin(area), "src"])
        pop = apportion(pop[pop["lsoa"].isin(wanted)], "population", from_vintage=pop_vintage, to_vintage=vintage)
        ap = pop.attrs["sna"]["apportion"]
        note = (f"population estimates on {pop_vintage} LSOAs re-expressed on the boundaries' {vintage} LSOAs: "
                f"{ap['lsoas_split']} split LSOA(s) shared, {ap['lsoas_merged_into']} merged LSOA(s) summed "
                "(ONS best fit; shares by published populations)")
        if note not in notes:
            notes.append(note)
    pop = pop[pop["lsoa"].isin(area)].reset_index(drop=True)
    pop.attrs["sna"] = {"population_age_method": method}
    return pop


def load_geography(config: "Config", *, with_years: bool = False) -> tuple:
    """Build the assessment's geography and population from the config.

    Parameters
    ----------
    config
        The loaded :class:`sna.config.Config`.
    with_years
        Also return every population estimate (for several mid-years) as a third table.

    Returns
    -------
    (geopandas.GeoDataFrame, pandas.DataFrame[, pandas.DataFrame])
        **geography**, EPSG:27700, one row per LSOA of the area (the LSOAs of the boundaries
        whose district belongs to a configured partnership), sorted by code: ``lsoa``,
        ``name``, ``msoa``, ``msoa_name``, ``ward``, ``ward_name``, ``district``,
        ``district_name``, ``partnership``, ``population`` (``<NA>`` without a population
        file), ``imd_decile``, ``imd_rank``, ``geometry``. ``attrs["sna"]`` records the
        vintage, CRS, lookups used, the deprivation index, the methods and notes.
        **population** (long): ``lsoa, age, population`` for the area's LSOAs (empty without
        a population file): the estimate for the config's year (:func:`population_for_year`),
        or the latest. With ``with_years``, **populations**: ``year, lsoa, age, population``.

    Raises
    ------
    GeographyError
        No LSOA code column; no district known for the boundaries' LSOAs; no LSOA in any
        partnership.

    Notes
    -----
    Without ``partnerships`` in the config, every district of the boundaries is its own
    partnership (named after the district). Population and deprivation files on the other
    LSOA vintage than the boundaries are converted through the ONS best-fit lookup
    (:func:`apportion`, :func:`convert_deprivation`), so no LSOA loses its population or
    decile; the method is stated in ``attrs["sna"]["methods"]``.

    Examples
    --------
    >>> from sna.config import load_config
    >>> from sna.datasets import nottingham_sample_config
    >>> geo, pop = load_geography(load_config(nottingham_sample_config()))
    >>> len(geo), geo.partnership.unique().tolist(), int(geo.population.sum())
    (182, ['Nottingham City'], 332900)
    >>> geo.ward_name.nunique(), geo.msoa.nunique()
    (20, 38)
    """
    g = config.geography
    b = read_boundaries(config.resolve_many(g.boundaries), lsoa_column=g.lsoa_column, vintage=g.lsoa_vintage)
    meta = dict(b.attrs.get("sna", {}))
    vintage = meta["lsoa_vintage"]
    notes: list[str] = []
    methods: list[dict] = []
    geo, lookup_path, partnerships = _area_lsoas(config, b, meta, notes)
    _add_levels(geo, vintage, notes, methods)
    if g.lsoa_best_fit:
        methods.append(_best_fit_method(vintage))
    population, populations = _add_population(config, geo, vintage, notes, methods)
    labels = _add_deprivation(config, geo, vintage, notes, methods)
    geo = _canonical(geo)
    meta.update({
        "lsoa_to_district": str(lookup_path) if lookup_path else "bundled",
        "district_to_csp": str(config.resolve(g.district_to_csp)) if g.district_to_csp else "bundled",
        "partnerships": {p: sorted(d for d, q in partnerships.items() if q == p) for p in dict.fromkeys(partnerships.values())},
        "population_year": population.attrs["sna"].get("population_year", g.population_year),
        "population_years": sorted(int(y) for y in populations["year"].dropna().unique()),
        "deprivation": " and ".join(dict.fromkeys(labels)) or None,
        "methods": methods,
        "notes": notes,
    })
    geo.attrs["sna"] = meta
    if with_years:
        return geo, population, populations
    return geo, population


def _area_lsoas(config: "Config", b: "gpd.GeoDataFrame", meta: dict, notes: list[str]) -> tuple:
    """The boundaries' LSOAs in the configured partnerships, sorted by code, with their name,
    district and partnership; the LSOA -> district lookup's path (None: bundled) and the
    partnership of each district."""
    g = config.geography
    vintage = meta["lsoa_vintage"]
    lookup_path = config.resolve(g.lsoa_to_district)
    lookup = read_lsoa_district_lookup(lookup_path, vintage=vintage)
    lk = lookup.set_index("lsoa")
    geo = b.copy()
    geo["district"] = geo["lsoa"].map(lk["district"])
    if geo["name"].isna().all():
        geo["name"] = geo["lsoa"].map(lk["name"])
    geo["district_name"] = geo["lsoa"].map(lk["district_name"])
    missing = geo["district"].isna()
    if missing.all():
        raise GeographyError(
            f"none of the {len(geo)} boundary LSOAs (e.g. {', '.join(geo.lsoa.head(3))}) is in the "
            f"LSOA -> district lookup ({lookup_path or 'bundled, ' + str(vintage) + ' LSOAs'}): "
            "check the boundaries' LSOA vintage (geography.lsoa_vintage) or give a lookup of the "
            "same vintage (geography.lsoa_to_district)",
            file=", ".join(meta.get("boundary_files", [])[:3]),
        )
    if missing.any():
        notes.append(f"{int(missing.sum())} boundary LSOA(s) have no district in the lookup and are left out")
        logger.warning(notes[-1])
    csp = read_district_csp_lookup(config.resolve(g.district_to_csp))
    dnames = csp.set_index("district")["district_name"]
    geo["district_name"] = geo["district_name"].fillna(geo["district"].map(dnames))
    partnerships = {recode_district(d): p for d, p in config.district_partnership().items()}
    if not partnerships:
        partnerships = {d: (n if isinstance(n, str) else d) for d, n in
                        geo.loc[~missing, ["district", "district_name"]].drop_duplicates().itertuples(index=False)}
        notes.append("no partnerships configured: each district is its own partnership")
    geo["partnership"] = geo["district"].map(partnerships)
    in_area = geo["partnership"].notna()
    if not in_area.any():
        raise GeographyError(
            "no boundary LSOA lies in a configured partnership: the partnerships list districts "
            f"{', '.join(sorted(partnerships))} but the boundaries cover districts "
            f"{', '.join(sorted(geo.district.dropna().unique()))}; fix 'partnerships' in sna.yml",
            file=config.config_path,
            key="partnerships",
        )
    outside = int((~in_area & ~missing).sum())
    if outside:
        notes.append(f"{outside} boundary LSOA(s) in districts outside the partnerships are not part of the area")
    absent = sorted(set(partnerships) - set(geo.loc[in_area, "district"]))
    if absent:
        notes.append(f"partnership district(s) with no LSOA in the boundaries: {', '.join(absent)}")
        logger.warning(notes[-1])
    geo = geo.loc[in_area].sort_values("lsoa").reset_index(drop=True)
    return geo, lookup_path, partnerships


def _note_missing(geo: pd.DataFrame, column: str, what: str, notes: list[str]) -> None:
    """Note (and log) how many LSOAs lack ``column``: "<n> LSOA(s) <what>"; nothing if none."""
    n = int(geo[column].isna().sum())
    if n:
        notes.append(f"{n} LSOA(s) {what}")
        logger.warning(notes[-1])


def _add_levels(geo: pd.DataFrame, vintage: int, notes: list[str], methods: list[dict]) -> None:
    """Each LSOA's MSOA and ward (with names), in place."""
    levels = read_levels_lookup(vintage).drop_duplicates("lsoa").set_index("lsoa")
    for c in ("msoa", "msoa_name", "ward", "ward_name"):
        geo[c] = geo["lsoa"].map(levels[c])
    _note_missing(geo, "ward", "have no ward or MSOA in the bundled lookup", notes)
    methods.append({
        "method": "Wards and neighbourhoods",
        "what": ("LSOAs grouped into 2024 electoral wards (ONS LSOA 2021 to ward 2024 best fit) and "
                 f"{vintage} MSOAs (neighbourhoods)"
                 + ("; a 2011 LSOA takes the ward of its 2021 part with most residents" if vintage == 2011 else "")
                 + "."),
        "reference": "ONS Open Geography Portal lookups (OGL v3.0)",
    })


def _best_fit_method(vintage: int) -> dict:
    """The methods-table row of records coded on the other LSOA vintage (``lsoa_best_fit``)."""
    return {
        "method": "Records on the other LSOA vintage",
        "what": (f"Records coded on {2011 if vintage == 2021 else 2021} LSOAs (a baseline whose early years "
                 f"use 2011 codes and later years 2021 codes) are harmonised to the boundaries' {vintage} "
                 "LSOAs: placed by their coordinates where known; otherwise a merged or unchanged code is "
                 "translated by the ONS best-fit lookup and a split one goes to the part with most residents."),
        "reference": "ONS LSOA (2011) to LSOA (2021) best-fit lookup",
    }


def _add_population(config: "Config", geo: pd.DataFrame, vintage: int, notes: list[str],
                    methods: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each LSOA's ``population`` (in place) from one or several mid-year estimates; the
    population (long) of the config's year and every estimate (``year, lsoa, age, population``)."""
    g = config.geography
    area = set(geo["lsoa"])
    frames = []
    pop_method = None
    for year, path in _population_files(g).items():
        p = _read_area_population(config.resolve(path), area, vintage, notes)
        pop_method = p.attrs["sna"]["population_age_method"]
        frames.append(p.assign(year=year))
    if not frames:
        populations = pd.DataFrame({"year": pd.Series(dtype="Int64"), "lsoa": pd.Series(dtype="str"),
                                    "age": pd.Series(dtype=int), "population": pd.Series(dtype=float)})
        population = populations[["lsoa", "age", "population"]].copy()
        population.attrs["sna"] = {}
        geo["population"] = pd.Series(pd.NA, index=geo.index, dtype="Float64")
        return population, populations
    populations = pd.concat(frames, ignore_index=True)
    populations["year"] = populations["year"].astype("Int64")
    populations = populations[["year", "lsoa", "age", "population"]]
    want = config.fy if config.fy is not None else (
        int(populations["year"].max()) if populations["year"].notna().any() else 0)
    population = population_for_year(populations, want)
    pop_meta = population.attrs["sna"]
    population.attrs["sna"] = {"population_age_method": pop_method, **pop_meta}
    totals = population.groupby("lsoa")["population"].sum()
    geo["population"] = geo["lsoa"].map(totals).astype("Float64")
    _note_missing(geo, "population", "have no population estimate", notes)
    if any(n.startswith("population estimates on") for n in notes):
        methods.append({
            "method": f"Population on {vintage} LSOAs",
            "what": (f"Estimates published on {2011 if vintage == 2021 else 2021} LSOAs re-expressed on "
                     f"{vintage} LSOAs through the ONS best-fit lookup: merged LSOAs summed, split LSOAs "
                     "shared in proportion to the published residents of their parts (Census 2021 for "
                     "2021 LSOAs, mid-2020 estimates for 2011 LSOAs), the same share at every age."),
            "reference": "ONS LSOA (2011) to LSOA (2021) best-fit lookup; ONS Census 2021",
        })
    methods.append({
        "method": "Population",
        "what": ("ONS mid-year population estimates by LSOA"
                 + (f" for {', '.join(f'mid-{y}' for y in sorted(populations['year'].dropna().unique()))}"
                    if populations["year"].notna().any() else "")
                 + ": each financial year uses the estimate of the year it starts in, else the "
                 "nearest year available (the later when two are as near), stated where used."),
        "reference": "ONS small area population estimates (OGL v3.0)",
    })
    return population, populations


def _add_deprivation(config: "Config", geo: pd.DataFrame, vintage: int, notes: list[str],
                     methods: list[dict]) -> list[str]:
    """Each LSOA's ``imd_decile``, ``imd_rank`` and ``deprivation_index`` (in place), each index
    on its own deciles; the labels of the indices read."""
    g = config.geography
    dep_paths = [g.imd] if isinstance(g.imd, str) else list(g.imd or [])
    labels: list[str] = []
    if not dep_paths:
        geo["imd_decile"] = pd.Series(pd.NA, index=geo.index, dtype="Int64")
        geo["imd_rank"] = pd.Series(pd.NA, index=geo.index, dtype="Int64")
        geo["deprivation_index"] = pd.NA
        return labels
    parts = []
    for path in dep_paths:
        d = read_deprivation(path if path == "bundled-wimd2019" else config.resolve(path),
                             index=g.deprivation_index)
        dmeta = d.attrs["sna"]
        labels.append(dmeta["deprivation_label"])
        if dmeta["lsoa_vintage"] != vintage:
            d = convert_deprivation(d, vintage)
            notes.append(d.attrs["sna"]["method"])
            methods.append({"method": f"{dmeta['deprivation_label']} on {vintage} LSOAs",
                            "what": d.attrs["sna"]["method"] + ".",
                            "reference": "ONS LSOA 2011 to 2021 best-fit lookup"})
        parts.append(d.assign(_index=dmeta["deprivation_label"]))
    dep = pd.concat(parts, ignore_index=True).drop_duplicates("lsoa").set_index("lsoa")
    geo["imd_decile"] = geo["lsoa"].map(dep["imd_decile"]).astype("Int64")
    geo["imd_rank"] = geo["lsoa"].map(dep["imd_rank"]).astype("Int64")
    geo["deprivation_index"] = geo["lsoa"].map(dep["_index"])
    _note_missing(geo, "imd_decile", f"have no {' or '.join(labels)} decile", notes)
    methods.append({
        "method": "Deprivation",
        "what": (f"{' and '.join(labels)} decile of each LSOA (1 = most deprived 10% of the "
                 "nation's LSOAs, by the index's own ranking"
                 + ("; English and Welsh deciles are not comparable" if len(set(labels)) > 1 else "")
                 + ")."),
        "reference": {"IMD 2019": "MHCLG English Indices of Deprivation 2019",
                      "IoD 2025": "MHCLG English Indices of Deprivation 2025",
                      "WIMD 2019": "Welsh Government WIMD 2019"}.get(labels[0], labels[0]),
    })
    return labels


def _canonical(geo: pd.DataFrame) -> "gpd.GeoDataFrame":
    """The geography's columns in their order and types, in British National Grid."""
    import geopandas as gpd

    for c in ("lsoa", "name", "msoa", "msoa_name", "ward", "ward_name", "district", "district_name",
              "partnership", "deprivation_index"):
        geo[c] = geo[c].astype("string")
    return gpd.GeoDataFrame(
        geo[["lsoa", "name", "msoa", "msoa_name", "ward", "ward_name", "district", "district_name",
             "partnership", "population", "imd_decile", "imd_rank", "deprivation_index", "geometry"]],
        geometry="geometry", crs=BNG,
    )


def geography_summary(geo: "gpd.GeoDataFrame") -> dict:
    """The geography block of the QualityLog: LSOAs, districts and partnerships.

    Returns
    -------
    dict
        ``lsoas``, ``districts``, ``partnerships`` (name -> ``{"districts": [...], "lsoas": n,
        "population": n or None}``), ``lsoa_vintage``, ``crs``, ``notes``.

    Examples
    --------
    >>> from sna.config import load_config
    >>> from sna.datasets import nottingham_sample_config
    >>> geo, _ = load_geography(load_config(nottingham_sample_config()))
    >>> s = geography_summary(geo)
    >>> s["lsoas"], s["districts"], s["partnerships"]["Nottingham City"]["districts"]
    (182, 1, ['E06000018'])
    """
    meta = geo.attrs.get("sna", {})
    parts = {}
    for name, sub in geo.groupby("partnership", sort=False, observed=True):
        pop = sub["population"].sum(min_count=1)
        parts[str(name)] = {
            "districts": sorted(str(d) for d in sub["district"].unique()),
            "lsoas": int(len(sub)),
            "population": None if pd.isna(pop) else int(round(float(pop))),
        }
    return {
        "lsoas": int(geo["lsoa"].nunique()),
        "districts": int(geo["district"].nunique()),
        "partnerships": parts,
        "lsoa_vintage": meta.get("lsoa_vintage"),
        "crs": BNG,
        "notes": list(meta.get("notes", [])),
    }
