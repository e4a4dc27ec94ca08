"""Geography: LSOA boundaries, LSOA -> MSOA / ward / district -> CSP, population, deprivation.

Everything is keyed by LSOA code. Boundaries come from any format geopandas reads (GeoJSON,
GeoPackage, shapefile, FlatGeobuf, GeoParquet), a folder of them, a glob or a list; the LSOA
code column (``LSOA11CD``, ``LSOA21CD``, ``lsoa11_code``, ``LSOA code (2011)``...) and its
vintage (2011 or 2021) are detected, and the polygons are reprojected to British National
Grid (EPSG:27700).

National lookups are bundled (``sna/datasets/reference``, Open Government Licence v3.0):
2011 LSOA -> 2021 district, district -> Community Safety Partnership -> police force area
(2024), and the ONS 2011 -> 2021 LSOA best-fit lookup used to harmonise records coded on
another vintage than the boundaries, with the published populations that apportion split and
merged LSOAs (:func:`best_fit_weights`); LSOA -> MSOA and 2024 electoral ward with names.
Population and deprivation files (IMD 2019, IoD 2025, WIMD 2019) on either vintage are
converted to the boundaries' vintage (:func:`apportion`, :func:`convert_deprivation`).

:func:`load_geography` builds the canonical **geography** table of the assessment's area and
the long **population** table (``lsoa, age, population``).
"""

from __future__ import annotations

import logging
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .._log import record
from ..errors import GeographyError, InputFormatError
from ._files import InputFile, expand_paths

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from ..config import Config

__all__ = [
    "BNG",
    "detect_lsoa_column",
    "detect_vintage",
    "vintage_mix",
    "read_boundaries",
    "read_lsoa_district_lookup",
    "read_district_csp_lookup",
    "read_best_fit_lookup",
    "read_population",
    "read_imd",
    "read_deprivation",
    "DEPRIVATION_INDICES",
    "best_fit_weights",
    "apportion",
    "convert_deprivation",
    "LEVELS",
    "read_levels_lookup",
    "population_for_year",
    "population_years",
    "with_population",
    "areas",
    "count_by",
    "recode_district",
    "vintage_mismatch",
    "harmonise_lsoa_codes",
    "load_geography",
    "geography_summary",
]

logger = logging.getLogger("sna")

#: British National Grid.
BNG = "EPSG:27700"

_BOUNDARY_PATTERNS = ("*.geojson", "*.json", "*.gpkg", "*.shp", "*.fgb", "*.parquet", "*.geoparquet")
_LSOA_CODE_RE = re.compile(r"^[EW]01\d{6}$")

# Districts recoded since the boundary files of 2011 were published: old -> current code.
_DISTRICT_RECODES = {
    "E08000020": "E08000037",  # Gateshead
    "E06000048": "E06000057",  # Northumberland
    "E07000097": "E07000242",  # East Hertfordshire
    "E07000100": "E07000240",  # St Albans
    "E07000101": "E07000243",  # Stevenage
    "E07000104": "E07000241",  # Welwyn Hatfield
}


def recode_district(code: str) -> str:
    """The current code of a district whose code changed (Gateshead, Northumberland, ...).

    >>> recode_district("E08000020"), recode_district("E06000018")
    ('E08000037', 'E06000018')
    """
    return _DISTRICT_RECODES.get(code, code)


# --------------------------------------------------------------------------------------------
# column detection
# --------------------------------------------------------------------------------------------
def _norm(col: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(col).lower())


def detect_lsoa_column(
    columns: Sequence[str], values: "pd.DataFrame | None" = None
) -> tuple[str | None, int | None]:
    """Find the LSOA code column among ``columns`` and the vintage its name says.

    Parameters
    ----------
    columns
        Column names.
    values
        Optionally the data: when no name fits, a text column whose values are LSOA codes
        (``E01``/``W01`` + 6 digits) is taken.

    Returns
    -------
    (column, vintage)
        The column (None when none is found) and 2011, 2021 or None (not said by the name).

    Examples
    --------
    >>> detect_lsoa_column(["OBJECTID", "LSOA21CD", "LSOA21NM"])
    ('LSOA21CD', 2021)
    >>> detect_lsoa_column(["LSOA code (2011)", "LSOA name (2011)"])
    ('LSOA code (2011)', 2011)
    >>> detect_lsoa_column(["lsoa_code", "x"])
    ('lsoa_code', None)
    >>> detect_lsoa_column(["name", "geometry"])
    (None, None)
    """
    ranked: list[tuple[int, str, int | None]] = []
    for col in columns:
        n = _norm(col)
        if "lsoa" not in n or "name" in n or n.endswith("nm"):
            continue
        vintage = 2021 if re.search(r"lsoa(20)?21|2021", n) else 2011 if re.search(r"lsoa(20)?11|2011", n) else None
        if re.fullmatch(r"lsoa(20)?(11|21)?(cd|code)", n) or re.fullmatch(r"lsoacode(20)?(11|21)?", n):
            ranked.append((0, col, vintage))
        elif "cd" in n or "code" in n:
            ranked.append((1, col, vintage))
        elif n in ("lsoa", "lsoa11", "lsoa21", "lsoa2011", "lsoa2021"):
            ranked.append((2, col, vintage))
    if ranked:
        ranked.sort(key=lambda t: t[0])
        return ranked[0][1], ranked[0][2]
    if values is not None:
        for col in columns:
            if col == "geometry" or col not in values:
                continue
            s = values[col].dropna().astype(str).head(200)
            if len(s) and s.str.match(_LSOA_CODE_RE).mean() >= 0.9:
                return col, None
    return None, None


def _detect_column(columns: Sequence[str], patterns: Sequence[str]) -> str | None:
    for pat in patterns:
        rx = re.compile(pat)
        for col in columns:
            if rx.fullmatch(_norm(col)):
                return col
    return None


def _name_column(columns: Sequence[str]) -> str | None:
    return _detect_column(columns, [r"lsoa(20)?(11|21)?(nm|name)", r"lsoaname(20)?(11|21)?", r"lsoa.*name.*"])


# --------------------------------------------------------------------------------------------
# bundled lookups
# --------------------------------------------------------------------------------------------
def _reference(name: str) -> Path:
    from ..datasets import reference_path

    return reference_path(name)


@lru_cache(maxsize=4)
def _best_fit_cached(path: str) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    return df


def read_best_fit_lookup(path: "str | os.PathLike | None" = None) -> pd.DataFrame:
    """The 2011 -> 2021 LSOA best-fit lookup (ONS), bundled by default.

    Parameters
    ----------
    path
        A CSV with 2011 and 2021 LSOA code columns (e.g. ``lsoa11_code``, ``lsoa21_code`` or
        ``LSOA11CD``, ``LSOA21CD``) and optionally ``change_code`` and a 2022 district code;
        None or ``"bundled"`` for the bundled ONS lookup.

    Returns
    -------
    pandas.DataFrame
        Columns ``lsoa11``, ``lsoa21``, ``change_code`` (U unchanged, S split, M merged,
        X irregular; missing if the file has none), ``district21`` (district of the 2021 LSOA;
        may be missing).

    Examples
    --------
    >>> bf = read_best_fit_lookup()
    >>> bf.loc[bf.lsoa11 == "E01013810", ["lsoa21", "change_code"]].values.tolist()
    [['E01013810', 'U']]
    """
    p = _reference("lookup_lsoa11_lsoa21_ltla22.csv.gz") if path in (None, "bundled") else Path(path)
    try:
        raw = _best_fit_cached(str(p))
    except FileNotFoundError:
        raise GeographyError("the LSOA best-fit lookup was not found", file=p) from None
    cols = list(raw.columns)
    c11 = _detect_column(cols, [r"lsoa(20)?11(cd|code)", r"lsoacode(20)?11"])
    c21 = _detect_column(cols, [r"lsoa(20)?21(cd|code)", r"lsoacode(20)?21"])
    if c11 is None or c21 is None:
        raise GeographyError(
            f"the best-fit lookup needs a 2011 and a 2021 LSOA code column (found: {', '.join(cols)})",
            file=p,
        )
    chg = _detect_column(cols, [r"change(code)?", r"chgind", r"chgind.*"])
    dist = _detect_column(cols, [r"(lad|ltla)(20)?2[12](cd|code)"])
    return pd.DataFrame({
        "lsoa11": raw[c11].str.strip(),
        "lsoa21": raw[c21].str.strip(),
        "change_code": raw[chg] if chg else pd.Series(pd.NA, index=raw.index, dtype="string"),
        "district21": raw[dist] if dist else pd.Series(pd.NA, index=raw.index, dtype="string"),
    })


@lru_cache(maxsize=1)
def _code_sets() -> tuple[frozenset, frozenset]:
    bf = read_best_fit_lookup()
    return frozenset(bf.lsoa11), frozenset(bf.lsoa21)


def detect_vintage(codes: Iterable[str]) -> int | None:
    """The LSOA vintage of a set of codes: 2011, 2021, or None when it cannot be told.

    Codes that exist in only one vintage decide (most codes are the same in both).

    >>> detect_vintage(["E01013810", "E01013926"])  # the second exists only in 2011
    2011
    >>> detect_vintage(["E01013810"]) is None
    True
    """
    s11, s21 = _code_sets()
    codes = set(codes)
    only11 = len(codes & (s11 - s21))
    only21 = len(codes & (s21 - s11))
    if only11 > only21:
        return 2011
    if only21 > only11:
        return 2021
    return None


def vintage_mix(codes: Iterable[str]) -> set[int]:
    """The LSOA vintages present among ``codes``: those of the codes found in only one vintage.

    >>> sorted(vintage_mix(["E01013810", "E01013926", "E01035505"]))  # 2011-only and 2021-only codes
    [2011, 2021]
    >>> vintage_mix(["E01013810"])
    set()
    """
    s11, s21 = _code_sets()
    codes = set(codes)
    return ({2011} if codes & (s11 - s21) else set()) | ({2021} if codes & (s21 - s11) else set())


def read_lsoa_district_lookup(
    path: "str | os.PathLike | None" = None, *, vintage: int | None = 2011
) -> pd.DataFrame:
    """LSOA -> local authority district lookup.

    Parameters
    ----------
    path
        A CSV with an LSOA code column and a district code column (``LAD21CD``, ``ltla21_code``,
        ...), optionally names; None for the bundled lookup of the boundaries' vintage
        (2011 LSOA -> 2021 district; 2021 LSOA -> 2024 district).
    vintage
        LSOA vintage of the boundaries (chooses the bundled lookup).

    Returns
    -------
    pandas.DataFrame
        Columns ``lsoa``, ``name`` (LSOA name, may be missing), ``district`` (current code,
        see :func:`recode_district`), ``district_name`` (may be missing); one row per LSOA.

    Examples
    --------
    >>> lk = read_lsoa_district_lookup()
    >>> lk.loc[lk.lsoa == "E01013810", ["district", "district_name"]].values.tolist()
    [['E06000018', 'Nottingham']]
    """
    if path is None and vintage == 2021:
        lk = _lsoa21_levels()
        out = pd.DataFrame({"lsoa": lk["lsoa21_code"], "name": lk["lsoa21_name"],
                            "district": lk["ltla24_code"], "district_name": lk["ltla24_name"]})
    else:
        p = _reference("lookup_lsoa11_ltla21.csv.gz") if path is None else Path(path)
        try:
            raw = pd.read_csv(p, dtype=str, encoding="utf-8-sig")
        except FileNotFoundError:
            raise GeographyError("the LSOA -> district lookup was not found", file=p) from None
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InputFormatError(f"the LSOA -> district lookup cannot be read as CSV: {exc}", file=p) from None
        cols = list(raw.columns)
        lsoa_col, _ = detect_lsoa_column(cols, raw)
        dist_col = _detect_column(cols, [r"(lad|ltla|lau1|la)(20)?\d{0,2}(cd|code)", r"(local)?authority.*code.*",
                                         r"district.*code.*", r"districtcd"])
        if lsoa_col is None or dist_col is None:
            raise GeographyError(
                "the LSOA -> district lookup needs an LSOA code column and a district code column "
                f"(e.g. LSOA11CD and LAD21CD); found: {', '.join(cols)}",
                file=p,
            )
        dname = _detect_column(cols, [r"(lad|ltla|lau1|la)(20)?\d{0,2}(nm|name)", r"(local)?authority.*name.*",
                                      r"district.*name.*"])
        lname = _name_column(cols)
        out = pd.DataFrame({
            "lsoa": raw[lsoa_col].str.strip(),
            "name": raw[lname] if lname else pd.NA,
            "district": raw[dist_col].str.strip(),
            "district_name": raw[dname] if dname else pd.NA,
        }).drop_duplicates("lsoa")
    out["district"] = out["district"].map(recode_district, na_action="ignore")
    return out.loc[:, ["lsoa", "name", "district", "district_name"]].reset_index(drop=True)


def read_district_csp_lookup(path: "str | os.PathLike | None" = None) -> pd.DataFrame:
    """District -> Community Safety Partnership -> police force area lookup (bundled: 2024).

    Returns
    -------
    pandas.DataFrame
        Columns ``district``, ``district_name``, ``csp_code``, ``csp``, ``pfa_code``, ``pfa``.

    Examples
    --------
    >>> csp = read_district_csp_lookup()
    >>> sorted(csp.loc[csp.csp == "South Nottinghamshire", "district_name"])
    ['Broxtowe', 'Gedling', 'Rushcliffe']
    """
    p = _reference("lookup_ltla24_csp24_pfa24.csv.gz") if path is None else Path(path)
    try:
        raw = pd.read_csv(p, dtype=str, encoding="utf-8-sig")
    except FileNotFoundError:
        raise GeographyError("the district -> CSP lookup was not found", file=p) from None
    cols = list(raw.columns)
    pick = {
        "district": _detect_column(cols, [r"(lad|ltla)(20)?\d{0,2}(cd|code)"]),
        "district_name": _detect_column(cols, [r"(lad|ltla)(20)?\d{0,2}(nm|name)"]),
        "csp_code": _detect_column(cols, [r"csp(20)?\d{0,2}(cd|code)"]),
        "csp": _detect_column(cols, [r"csp(20)?\d{0,2}(nm|name)"]),
        "pfa_code": _detect_column(cols, [r"pfa(20)?\d{0,2}(cd|code)"]),
        "pfa": _detect_column(cols, [r"pfa(20)?\d{0,2}(nm|name)"]),
    }
    if pick["district"] is None or pick["csp"] is None:
        raise GeographyError(
            f"the district -> CSP lookup needs district and CSP columns (e.g. LAD24CD, CSP24NM); "
            f"found: {', '.join(cols)}",
            file=p,
        )
    out = pd.DataFrame({k: (raw[v] if v else pd.NA) for k, v in pick.items()})
    out["district"] = out["district"].map(recode_district)
    return out.drop_duplicates("district").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# boundaries
# --------------------------------------------------------------------------------------------
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
        The LSOA code column; detected if None (:func:`detect_lsoa_column`).
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
        name_col = _name_column([c for c in g.columns if c != col])
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


# --------------------------------------------------------------------------------------------
# population and IMD
# --------------------------------------------------------------------------------------------
_BAND_RE = re.compile(r"^\D*?(\d{1,2})\s*(?:-|to|_)\s*(\d{1,2})\D*$")
_PLUS_RE = re.compile(r"^\D*?(\d{1,2})\s*(?:\+|plus|andover|and over|orover|or over)\D*$", re.IGNORECASE)


def _read_workbook(path: Path, what: str) -> pd.DataFrame:
    """The sheet of a workbook (xlsx, xls, ods) that holds an LSOA code column, its header found
    below any title rows (published deprivation and population workbooks have notes sheets and
    titles above the table)."""
    engine = "odf" if path.suffix.lower() == ".ods" else None
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str, engine=engine)
    except ImportError:
        raise InputFormatError(f"the {what} file is an OpenDocument spreadsheet, which needs the odfpy "
                               "package: save the sheet as CSV (or .xlsx), or pip install odfpy",
                               file=path) from None
    for frame in sheets.values():
        for i in range(min(len(frame), 20)):
            row = [str(v) for v in frame.iloc[i].tolist() if isinstance(v, str)]
            col, _ = detect_lsoa_column(row)
            if col is not None:
                out = frame.iloc[i + 1:].reset_index(drop=True)
                out.columns = [str(v).strip() if isinstance(v, str) else f"column {j + 1}"
                               for j, v in enumerate(frame.iloc[i].tolist())]
                return out.dropna(how="all")
    return next(iter(sheets.values()), pd.DataFrame()).pipe(
        lambda f: f.iloc[1:].set_axis([str(c) for c in f.iloc[0]], axis=1) if len(f) else f)


def _read_csv_any(path: Path, what: str) -> pd.DataFrame:
    try:
        if path.suffix.lower() in (".xlsx", ".xls", ".ods"):
            return _read_workbook(path, what)
        return pd.read_csv(path, dtype=str, encoding="utf-8-sig", thousands=",")
    except FileNotFoundError:
        raise InputFormatError(f"the {what} file was not found", file=path) from None
    except UnicodeDecodeError:
        raise InputFormatError(f"the {what} file is not UTF-8 text; save it as UTF-8", file=path) from None
    except pd.errors.EmptyDataError:
        raise InputFormatError(f"the {what} file is empty", file=path) from None
    except pd.errors.ParserError as exc:
        raise InputFormatError(f"the {what} file cannot be read as CSV: {exc}", file=path) from None


def _to_number(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.astype("string").str.replace(",", "", regex=False).str.strip(), errors="coerce")


def read_population(path: "str | os.PathLike",
                    rows: "Callable[[pd.Series], np.ndarray] | None" = None) -> pd.DataFrame:
    """Population by LSOA and single year of age, as a long table.

    Parameters
    ----------
    path
        CSV (optionally gzipped) or Excel, in one of three shapes:

        - wide by single year of age, as ONS small-area estimates: an LSOA code column, an
          optional total, then ``0``, ``1``, ..., ``89``, ``90+``;
        - wide by age band: ``0-4``, ``5-9``, ... ``90+`` (also ``Aged 0 to 4``, ``85 and over``);
        - long: an LSOA code column, ``age`` and ``population``.
    rows
        Given every row's LSOA code (stripped text), which rows to keep (a boolean array):
        the others are dropped before any number is converted, so reading a national file for
        one area converts only the area's rows.

    Returns
    -------
    pandas.DataFrame
        Columns ``lsoa``, ``age`` (int, 0..90; 90 = 90 and over), ``population`` (float).
        ``attrs["sna"]["population_age_method"]`` says ``single_year``, ``long`` or
        ``bands_spread_evenly``.

    Notes
    -----
    Age bands are spread evenly over their single years (an open band ``90+`` goes to 90), a
    documented approximation; single-year estimates are preferred (ONS SAPE).

    Examples
    --------
    >>> from sna.datasets import nottingham_sample_config
    >>> pop = read_population(nottingham_sample_config().parent / "population/population19_lsoa11.csv")
    >>> pop.columns.tolist(), int(pop.age.max()), pop.lsoa.nunique()
    (['lsoa', 'age', 'population'], 90, 182)
    """
    p = Path(path)
    raw = _read_csv_any(p, "population")
    cols = list(raw.columns)
    lsoa_col, _ = detect_lsoa_column(cols, raw)
    if lsoa_col is None:
        raise GeographyError(
            f"no LSOA code column in the population file (columns seen: {', '.join(cols[:12])}"
            f"{', ...' if len(cols) > 12 else ''})",
            file=p,
        )
    lsoa = raw[lsoa_col].astype(str).str.strip()
    if rows is not None:  # only the rows asked for are converted
        keep = np.asarray(rows(lsoa), dtype=bool)
        raw, lsoa = raw.loc[keep], lsoa.loc[keep]
    norm = {c: _norm(c) for c in cols}
    age_col = next((c for c in cols if norm[c] in ("age", "singleyearofage", "ageyears")), None)
    pop_col = next((c for c in cols if norm[c] in ("population", "count", "persons", "value", "obsvalue")), None)
    if age_col and pop_col:
        long = pd.DataFrame({"lsoa": lsoa, "age": _to_number(raw[age_col]), "population": _to_number(raw[pop_col])})
        method = "long"
    else:
        singles: dict[int, str] = {}
        bands: list[tuple[int, int, str]] = []
        for c in cols:
            s = str(c).strip()
            if re.fullmatch(r"\d{1,2}", s):
                singles[int(s)] = c
            elif (m := _PLUS_RE.match(s)) and "total" not in s.lower():
                bands.append((int(m.group(1)), 90, c))
            elif (m := _BAND_RE.match(s)) and "lsoa" not in s.lower():
                lo, hi = int(m.group(1)), int(m.group(2))
                if lo <= hi:
                    bands.append((lo, hi, c))
        frames = []
        if len(singles) >= 20:
            method = "single_year"
            for age, c in singles.items():
                frames.append(pd.DataFrame({"lsoa": lsoa, "age": min(age, 90), "population": _to_number(raw[c])}))
            for lo, hi, c in bands:  # the open band (90+)
                if lo >= 90 or lo > max(singles):
                    frames.append(pd.DataFrame({"lsoa": lsoa, "age": min(lo, 90), "population": _to_number(raw[c])}))
        elif bands:
            method = "bands_spread_evenly"
            for lo, hi, c in bands:
                lo, hi = min(lo, 90), min(hi, 90)
                ages = range(lo, hi + 1) if lo < 90 else [90]
                share = _to_number(raw[c]) / len(ages)
                for a in ages:
                    frames.append(pd.DataFrame({"lsoa": lsoa, "age": a, "population": share}))
        else:
            raise InputFormatError(
                "the population file has no age columns: expected single years (0, 1, ..., 90+), "
                "age bands (0-4, 5-9, ..., 90+) or long columns age and population",
                file=p,
            )
        long = pd.concat(frames, ignore_index=True)
    long = long.dropna(subset=["age"])
    long["age"] = long["age"].clip(upper=90).astype(int)
    long = long.groupby(["lsoa", "age"], as_index=False, sort=True)["population"].sum()
    long["population"] = long["population"].astype(float)
    long.attrs["sna"] = {}
    record(long, "population_age_method", method)
    return long


#: The deprivation indices sna reads: name -> (label, LSOA vintage, nation, LSOAs ranked).
DEPRIVATION_INDICES: dict[str, tuple[str, int, str, int]] = {
    "imd2019": ("IMD 2019", 2011, "England", 32844),
    "iod2025": ("IoD 2025", 2021, "England", 33755),
    "wimd2019": ("WIMD 2019", 2011, "Wales", 1909),
}


def _detect_index(cols: Sequence[str], lsoa_vintage: int | None) -> str | None:
    low = [str(c).lower() for c in cols]
    if any(c.strip() == "wimd 2019" or c.startswith("wimd 2019") or c.startswith("wimd2019") for c in low):
        return "wimd2019"
    if any("multiple deprivation" in c or "imd" in c for c in low):
        return "iod2025" if lsoa_vintage == 2021 else "imd2019"
    return None


def read_deprivation(path: "str | os.PathLike", *, index: str = "auto") -> pd.DataFrame:
    """Deprivation rank and decile by LSOA from an index file as published.

    Reads the English Indices of Deprivation 2019 File 1 (IMD 2019, 2011 LSOAs), the English
    Indices of Deprivation 2025 File 1 (IoD 2025, 2021 LSOAs) and the Welsh Index of Multiple
    Deprivation 2019 ranks (WIMD 2019, 2011 LSOAs), with their quirks: UTF-8 with a
    byte-order mark, ranks with thousands separators (``"29,199"``), gzip, Excel.

    Parameters
    ----------
    path
        The file (CSV, optionally gzipped, or Excel). ``"bundled-wimd2019"`` reads the
        bundled WIMD 2019 ranks of all 1,909 Welsh LSOAs.
    index
        ``"imd2019"``, ``"iod2025"``, ``"wimd2019"`` or ``"auto"`` (from the columns: a
        ``WIMD 2019`` rank column is WIMD; an IMD rank or decile column keyed by ``LSOA code
        (2021)`` is IoD 2025, by ``LSOA code (2011)`` IMD 2019).

    Returns
    -------
    pandas.DataFrame
        Columns ``lsoa``, ``imd_rank`` (Int64; 1 = most deprived), ``imd_decile`` (Int64;
        1 = most deprived 10% of the index's own LSOAs). ``attrs["sna"]`` records
        ``deprivation_index`` (e.g. ``"iod2025"``), ``deprivation_label`` (``"IoD 2025"``)
        and ``lsoa_vintage``.

    Notes
    -----
    Where a file has ranks but no deciles (WIMD's ranks table), the decile is
    ``(rank - 1) * 10 // N + 1`` with ``N`` the number of LSOAs the index ranks (32,844 for
    IMD 2019, 33,755 for IoD 2025, 1,909 for WIMD 2019), as the publishers define deciles.
    Deciles of different indices are not comparable (each ranks its own nation and year).

    Examples
    --------
    >>> from sna.datasets import demo_config
    >>> d = read_deprivation(demo_config().parent / "imd/File_1_-_IoD2025_Index_of_Multiple_Deprivation.csv.gz")
    >>> d.attrs["sna"]["deprivation_label"], d.attrs["sna"]["lsoa_vintage"], len(d)
    ('IoD 2025', 2021, 684)
    >>> w = read_deprivation("bundled-wimd2019")
    >>> w.attrs["sna"]["deprivation_index"], len(w), int(w.imd_decile.min()), int(w.imd_decile.max())
    ('wimd2019', 1909, 1, 10)
    """
    p = _reference("wimd2019_ranks_lsoa11.csv.gz") if str(path) == "bundled-wimd2019" else Path(path)
    if str(path) == "bundled-wimd2019" and index == "auto":
        index = "wimd2019"
    raw = _read_csv_any(p, "deprivation")
    cols = list(raw.columns)
    lsoa_col, col_vintage = detect_lsoa_column(cols, raw)
    if index == "auto":
        index = _detect_index(cols, col_vintage) or ""
    if index not in DEPRIVATION_INDICES:
        raise InputFormatError(
            "this does not look like a deprivation index file: expected the IMD 2019 or IoD 2025 "
            "File 1 ('LSOA code (2011)' or 'LSOA code (2021)', 'Index of Multiple Deprivation (IMD) "
            "Rank ...' and '... Decile ...') or the WIMD 2019 ranks ('LSOA code', 'WIMD 2019'); "
            f"set geography.deprivation_index if the columns are renamed (found: {', '.join(map(str, cols))})",
            file=p,
        )
    label, vintage, _, n_ranked = DEPRIVATION_INDICES[index]

    def find(word: str) -> str | None:
        for c in cols:
            lc = str(c).lower()
            if word in lc and ("imd" in lc or "multiple deprivation" in lc or "wimd" in lc):
                return c
        return next((c for c in cols if word in str(c).lower()), None)

    if index == "wimd2019":
        rank_col = next((c for c in cols if str(c).strip().lower() in ("wimd 2019", "wimd 2019 rank",
                                                                        "wimd2019", "wimd 2019 overall rank")),
                        None) or find("rank")
        dec_col = next((c for c in cols if "decile" in str(c).lower() and "wimd" in str(c).lower()), None)
    else:
        rank_col, dec_col = find("rank"), find("decile")
    if lsoa_col is None or (rank_col is None and dec_col is None):
        raise InputFormatError(
            f"this does not look like {label}: expected an LSOA code column and the overall rank "
            f"or decile (found: {', '.join(map(str, cols))})",
            file=p,
        )
    out = pd.DataFrame({
        "lsoa": raw[lsoa_col].astype(str).str.strip(),
        "imd_rank": _to_number(raw[rank_col]).astype("Int64") if rank_col else pd.NA,
        "imd_decile": _to_number(raw[dec_col]).astype("Int64") if dec_col else pd.NA,
    })
    if out["imd_decile"].isna().all() and rank_col:
        out["imd_decile"] = ((out["imd_rank"] - 1) * 10 // n_ranked + 1).astype("Int64")
    out = out.drop_duplicates("lsoa").reset_index(drop=True)
    out.attrs["sna"] = {"deprivation_index": index, "deprivation_label": label, "lsoa_vintage": vintage}
    return out


def read_imd(path: "str | os.PathLike") -> pd.DataFrame:
    """IMD rank and decile by LSOA, from File 1 as published (see :func:`read_deprivation`).

    Examples
    --------
    >>> from sna.datasets import nottingham_sample_config
    >>> imd = read_imd(nottingham_sample_config().parent /
    ...                "imd/File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv")
    >>> imd.iloc[0].astype(str).tolist()
    ['E01013810', '1767', '1']
    """
    return read_deprivation(path)


# --------------------------------------------------------------------------------------------
# vintages
# --------------------------------------------------------------------------------------------
def vintage_mismatch(codes: Iterable[str], vintage: int, area_lsoas: Iterable[str]) -> dict[str, list[str]]:
    """Codes of the *other* LSOA vintage that fall in the area once translated.

    Parameters
    ----------
    codes
        LSOA codes found in a source.
    vintage
        The boundaries' vintage (2011 or 2021).
    area_lsoas
        The area's LSOA codes (boundaries' vintage).

    Returns
    -------
    dict
        code -> the area LSOAs it corresponds to under the bundled best-fit lookup, for every
        code that exists only in the other vintage and maps into the area. Empty when the
        vintages agree.

    Examples
    --------
    >>> area = ["E01013810", "E01013926"]
    >>> vintage_mismatch(["E01013810"], 2011, area)
    {}
    """
    s11, s21 = _code_sets()
    this, other = (s11, s21) if vintage == 2011 else (s21, s11)
    area = set(area_lsoas)
    candidates = {c for c in codes if c not in area and c in other and c not in this}
    if not candidates:
        return {}
    bf = read_best_fit_lookup()
    src, dst = ("lsoa21", "lsoa11") if vintage == 2011 else ("lsoa11", "lsoa21")
    sub = bf[bf[src].isin(candidates) & bf[dst].isin(area)]
    return {k: sorted(v) for k, v in sub.groupby(src)[dst]}


def harmonise_lsoa_codes(
    codes: Iterable[str], vintage: int, area_lsoas: Iterable[str], best_fit: "str | os.PathLike | None" = None
) -> dict[str, str]:
    """Translate codes of the other vintage to the boundaries' vintage (best fit).

    Parameters
    ----------
    codes
        LSOA codes found in a source.
    vintage
        The boundaries' vintage.
    area_lsoas
        The area's LSOA codes.
    best_fit
        The best-fit lookup (a path, or None / ``"bundled"`` for the bundled ONS lookup).

    Returns
    -------
    dict
        other-vintage code -> boundaries' code. Where one code corresponds to several
        (a split 2011 LSOA seen from 2021, or a merge seen from 2011), the first by code is
        one holding most residents is given (the best fit, by the populations of
        :func:`best_fit_weights`); :func:`sna.clean.place` re-places such records by their
        coordinates when known.

    Examples
    --------
    >>> harmonise_lsoa_codes(["E01013810"], 2011, ["E01013810"])
    {}
    """
    bf = read_best_fit_lookup(best_fit)
    this_col, other_col = ("lsoa11", "lsoa21") if vintage == 2011 else ("lsoa21", "lsoa11")
    this = set(bf[this_col])
    area = set(area_lsoas)
    wanted = {c for c in codes if c not in area and c not in this}
    sub = bf[bf[other_col].isin(wanted)]
    # the part holding most residents first (published populations), then by code
    w = best_fit_weights()
    share = w.set_index(["lsoa11", "lsoa21"])["w11_21" if vintage == 2021 else "w21_11"]
    sub = sub.assign(_w=share.reindex(pd.MultiIndex.from_frame(sub[["lsoa11", "lsoa21"]])).to_numpy())
    sub = sub.sort_values([other_col, "_w", this_col], ascending=[True, False, True], na_position="last")
    return dict(sub.drop_duplicates(other_col).loc[:, [other_col, this_col]].itertuples(index=False, name=None))


def best_fit_weights() -> pd.DataFrame:
    """The bundled 2011 <-> 2021 LSOA best-fit lookup with apportionment weights.

    Returns
    -------
    pandas.DataFrame
        One row per pair of the ONS best-fit lookup: ``lsoa11``, ``lsoa21``, ``change_code``
        (U unchanged, S split, M merged, X irregular), ``w11_21`` (the share of the 2011
        LSOA that goes to this 2021 LSOA) and ``w21_11`` (the share of the 2021 LSOA that
        goes to this 2011 LSOA). Each 2011 LSOA's ``w11_21`` sum to 1, and each 2021 LSOA's
        ``w21_11``.

    Notes
    -----
    The weights are populations published by ONS: a 2011 LSOA split into several 2021 LSOAs
    (S) is shared in proportion to the **Census 2021** usual residents of its parts; a 2021
    LSOA that merges several 2011 LSOAs (M) is shared back in proportion to the **mid-2020**
    estimates of its 2011 parts. Unchanged pairs (U) weigh 1. Irregular pairs (X, none in most
    areas) are shared by the same rule, an approximation since their parts overlap only in
    part.

    Examples
    --------
    >>> w = best_fit_weights()
    >>> s = w[w.lsoa11 == "E01033404"]  # Nottingham 028G, split in two in 2021
    >>> s[["lsoa21", "change_code"]].values.tolist(), round(float(s.w11_21.sum()), 12)
    ([['E01035501', 'S'], ['E01035502', 'S']], 1.0)
    """
    return _best_fit_weights().copy()


@lru_cache(maxsize=1)
def _best_fit_weights() -> pd.DataFrame:
    raw = pd.read_csv(_reference("lookup_lsoa11_lsoa21_weights.csv.gz"), dtype={
        "lsoa11_code": str, "lsoa21_code": str, "change_code": str})
    p11 = raw["lsoa11_population_mid2020"].astype(float)
    p21 = raw["lsoa21_population_census2021"].astype(float)
    w11_21 = p21 / p21.groupby(raw["lsoa11_code"]).transform("sum")
    w21_11 = p11 / p11.groupby(raw["lsoa21_code"]).transform("sum")
    return pd.DataFrame({
        "lsoa11": raw["lsoa11_code"], "lsoa21": raw["lsoa21_code"], "change_code": raw["change_code"],
        "w11_21": w11_21.fillna(1.0).to_numpy(), "w21_11": w21_11.fillna(1.0).to_numpy(),
        "pop11": p11.to_numpy(), "pop21": p21.to_numpy(),
    })


def _pairs(from_vintage: int, to_vintage: int) -> pd.DataFrame:
    w = _best_fit_weights()
    if from_vintage == 2011:
        return w.rename(columns={"lsoa11": "src", "lsoa21": "dst", "w11_21": "weight", "pop21": "dst_pop"})
    return w.rename(columns={"lsoa21": "src", "lsoa11": "dst", "w21_11": "weight", "pop11": "dst_pop"})


def apportion(
    frame: pd.DataFrame,
    values: "str | Sequence[str]",
    *,
    from_vintage: int,
    to_vintage: int,
    lsoa: str = "lsoa",
) -> pd.DataFrame:
    """Re-express counts (people, offences) on LSOAs of the other vintage.

    Parameters
    ----------
    frame
        A table with an LSOA code column, the value column(s) and optionally other keys
        (e.g. ``age``, ``month``): every column that is neither ``lsoa`` nor a value is kept
        as a key.
    values
        The additive column(s) to apportion.
    from_vintage, to_vintage
        2011 or 2021.
    lsoa
        The LSOA code column.

    Returns
    -------
    pandas.DataFrame
        The same columns, LSOAs of ``to_vintage``, values summed over merged LSOAs and shared
        over split ones by :func:`best_fit_weights` (so the total is kept exactly). Codes the
        lookup does not know are kept as they are. ``attrs["sna"]["apportion"]`` counts the
        LSOAs merged, split and unknown.

    Examples
    --------
    >>> pop = pd.DataFrame({"lsoa": ["E01013974", "E01013975", "E01033404"], "population": [1500.0, 1700.0, 2000.0]})
    >>> out = apportion(pop, "population", from_vintage=2011, to_vintage=2021)
    >>> out.round(1).values.tolist()  # a merge (Nottingham 041E) and a split (028H, 028I)
    [['E01035501', 898.8], ['E01035502', 1101.2], ['E01035507', 3200.0]]
    """
    values = [values] if isinstance(values, str) else list(values)
    if from_vintage == to_vintage:
        return frame.copy()
    pairs = _pairs(from_vintage, to_vintage)
    codes = frame[lsoa].astype(str)
    known = codes.isin(set(pairs["src"]))
    keys = [c for c in frame.columns if c != lsoa and c not in values]
    sub = frame.loc[known].assign(**{lsoa: codes[known]})
    m = sub.merge(pairs[["src", "dst", "weight", "change_code"]], left_on=lsoa, right_on="src", how="left")
    for v in values:
        m[v] = m[v].astype(float) * m["weight"]
    m[lsoa] = m["dst"]
    moved = m.groupby([lsoa, *keys], as_index=False, sort=True, observed=True, dropna=False)[values].sum()
    rest = frame.loc[~known]
    out = pd.concat([moved, rest[moved.columns]], ignore_index=True) if len(rest) else moved
    src_codes = set(codes[known])
    kinds = pairs[pairs["src"].isin(src_codes)].groupby("src")["dst"].nunique()
    n_into = pairs[pairs["src"].isin(src_codes)].groupby("dst")["src"].nunique()
    out.attrs["sna"] = {"apportion": {
        "from_vintage": from_vintage, "to_vintage": to_vintage,
        "lsoas_split": int((kinds > 1).sum()), "lsoas_merged_into": int((n_into > 1).sum()),
        "unknown_codes": int(codes[~known].nunique()),
        "method": (f"{from_vintage} LSOAs re-expressed on {to_vintage} LSOAs through the ONS best-fit "
                   "lookup: merged LSOAs summed, split LSOAs shared by the published populations of "
                   "their parts (Census 2021 usual residents of 2021 LSOAs; mid-2020 estimates of "
                   "2011 LSOAs)"),
    }}
    return out


def convert_deprivation(dep: pd.DataFrame, to_vintage: int) -> pd.DataFrame:
    """A deprivation table (:func:`read_deprivation`) on LSOAs of the other vintage.

    Each LSOA of ``to_vintage`` takes the rank and decile of the LSOA of the index's own
    vintage that holds most of its residents (the best fit): a split LSOA's parts keep their
    parent's decile; a merged LSOA takes the decile of its most populous part. Deciles stay
    those of the index (they are never re-ranked).

    Returns
    -------
    pandas.DataFrame
        ``lsoa, imd_rank, imd_decile`` on ``to_vintage``; ``attrs["sna"]`` as the input's plus
        ``converted_to``, ``lsoas_best_fit`` (LSOAs whose parts differ in decile: the decile of
        the most populous part was taken) and ``method``.

    Examples
    --------
    >>> dep = pd.DataFrame({"lsoa": ["E01013974", "E01013975"], "imd_rank": [100, 9000],
    ...                     "imd_decile": [1, 3]}).astype({"imd_rank": "Int64", "imd_decile": "Int64"})
    >>> dep.attrs["sna"] = {"lsoa_vintage": 2011, "deprivation_label": "IMD 2019"}
    >>> convert_deprivation(dep, 2021).values.tolist()  # merged into E01035507
    [['E01035507', 9000, 3]]
    """
    meta = dict(dep.attrs.get("sna", {}))
    src_vintage = meta.get("lsoa_vintage", 2011)
    if src_vintage == to_vintage:
        return dep
    pairs = _pairs(src_vintage, to_vintage)
    w = best_fit_weights()
    src_pop = (w.drop_duplicates("lsoa11").set_index("lsoa11")["pop11"] if src_vintage == 2011
               else w.drop_duplicates("lsoa21").set_index("lsoa21")["pop21"])
    m = pairs.merge(dep, left_on="src", right_on="lsoa", how="inner")
    # residents of the source LSOA that live in the target LSOA
    m["share"] = m["src"].map(src_pop).astype(float) * m["weight"]
    m = m.sort_values(["dst", "share", "src"], ascending=[True, False, True])
    differ = m.groupby("dst")["imd_decile"].nunique()
    out = (m.drop_duplicates("dst")[["dst", "imd_rank", "imd_decile"]].rename(columns={"dst": "lsoa"})
           .reset_index(drop=True))
    label = meta.get("deprivation_label", "the index")
    meta.update({
        "converted_to": to_vintage,
        "lsoas_best_fit": int((differ > 1).sum()),
        "method": (f"{label} (on {src_vintage} LSOAs) on {to_vintage} LSOAs by best fit: each LSOA takes "
                   f"the rank and decile of the {src_vintage} LSOA holding most of its residents; "
                   f"{int((differ > 1).sum())} LSOA(s) had parts in different deciles"),
    })
    out.attrs["sna"] = meta
    return out


# --------------------------------------------------------------------------------------------
# wards and MSOAs
# --------------------------------------------------------------------------------------------
#: The area levels of the geography table: level -> (code column, name column).
LEVELS: dict[str, tuple[str, str]] = {
    "lsoa": ("lsoa", "name"),
    "msoa": ("msoa", "msoa_name"),
    "ward": ("ward", "ward_name"),
    "district": ("district", "district_name"),
    "partnership": ("partnership", "partnership"),
}


@lru_cache(maxsize=1)
def _lsoa21_levels() -> pd.DataFrame:
    return pd.read_csv(_reference("lookup_lsoa21_msoa21_ward24_ltla24.csv.gz"), dtype=str)


def read_levels_lookup(vintage: int) -> pd.DataFrame:
    """LSOA -> MSOA and electoral ward (with names), bundled for England and Wales.

    Parameters
    ----------
    vintage
        2011 or 2021: the LSOAs to key the lookup by.

    Returns
    -------
    pandas.DataFrame
        One row per LSOA: ``lsoa``, ``msoa``, ``msoa_name``, ``ward``, ``ward_name``,
        ``district24``, ``district24_name``. Wards are the **2024** electoral wards (ONS LSOA
        (2021) to ward (2024) best fit); 2011 LSOAs take the ward of their 2021 part with most
        residents, and the 2011 MSOA they were published in.

    Examples
    --------
    >>> lk = read_levels_lookup(2021).set_index("lsoa")
    >>> lk.loc["E01013810", ["msoa_name", "ward_name"]].tolist()
    ['Nottingham 018', 'Hyson Green & Arboretum']
    """
    lk = _lsoa21_levels()
    l21 = pd.DataFrame({
        "lsoa": lk["lsoa21_code"], "msoa": lk["msoa21_code"], "msoa_name": lk["msoa21_name"],
        "ward": lk["ward24_code"], "ward_name": lk["ward24_name"],
        "district24": lk["ltla24_code"], "district24_name": lk["ltla24_name"],
    })
    if vintage == 2021:
        return l21
    w = best_fit_weights().sort_values(["lsoa11", "w11_21", "lsoa21"], ascending=[True, False, True])
    best = w.drop_duplicates("lsoa11").set_index("lsoa11")["lsoa21"]
    m11 = pd.read_csv(_reference("lookup_lsoa11_msoa11.csv.gz"), dtype=str)
    out = pd.DataFrame({"lsoa": m11["lsoa11_code"], "msoa": m11["msoa11_code"], "msoa_name": m11["msoa11_name"]})
    via = l21.set_index("lsoa").reindex(out["lsoa"].map(best))
    for c in ("ward", "ward_name", "district24", "district24_name"):
        out[c] = via[c].to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# the canonical geography
# --------------------------------------------------------------------------------------------
def _fy_start(year) -> int:
    """The calendar year a financial year starts in (an int is taken as a mid-year)."""
    if isinstance(year, (int, np.integer)):
        return int(year)
    from ..periods import FinancialYear

    return FinancialYear.parse(year).start.year


def population_for_year(populations: pd.DataFrame, year) -> pd.DataFrame:
    """The population estimate to use for a financial year, from several mid-year estimates.

    This is the function trend, rates and Table A code call to get the population of a year
    (also as :meth:`sna.Assessment.population_for`).

    Parameters
    ----------
    populations
        Long table ``year, lsoa, age, population`` (``year``: the mid-year of each estimate;
        missing for a single file of unstated year), as :func:`load_geography` makes with
        ``with_years=True`` and :class:`sna.Assessment` keeps as ``populations``.
    year
        A financial year (``"2020/21"`` or a :class:`~sna.periods.FinancialYear`) or a calendar
        mid-year (int).

    Returns
    -------
    pandas.DataFrame
        ``lsoa, age, population`` of the chosen estimate. ``attrs["sna"]`` holds
        ``population_year`` (the mid-year used, or None), ``population_year_wanted`` and
        ``population_note`` (a sentence when the year used is not the one wanted, else None).

    Notes
    -----
    A financial year uses the ONS mid-year estimate of the year it starts in (mid-2020, at 30
    June 2020, for 2020/21: the estimate falls inside the year). When that estimate is not
    available the nearest year is used, the later one when two are as near (it is nearer the
    middle of the financial year), and the choice is stated.

    Examples
    --------
    >>> pops = pd.DataFrame({"year": [2017, 2019, 2020], "lsoa": ["E01000001"] * 3,
    ...                      "age": [30] * 3, "population": [10.0, 11.0, 12.0]})
    >>> p = population_for_year(pops, "2018/19")
    >>> float(p.population.sum()), p.attrs["sna"]["population_year"]
    (11.0, 2019)
    >>> p.attrs["sna"]["population_note"]
    'mid-2019 population used for 2018/19 (mid-2018 not available; nearest year)'
    >>> population_for_year(pops, "2020/21").attrs["sna"]["population_note"] is None
    True
    """
    wanted = _fy_start(year)
    label = str(year) if not isinstance(year, (int, np.integer)) else f"mid-{wanted}"
    cols = ["lsoa", "age", "population"]
    years = pd.Series(populations["year"]).dropna().astype(int).unique() if "year" in populations else []
    note = None
    if len(years) == 0:
        out = populations[cols].reset_index(drop=True)
        used = None
        if len(populations):
            note = f"the one population estimate given (year not stated) is used for {label}"
    else:
        used = int(sorted(years, key=lambda y: (abs(y - wanted), -y))[0])
        out = populations.loc[populations["year"] == used, cols].reset_index(drop=True)
        if used != wanted:
            why = "not available; nearest year" if len(years) > 1 else "the only estimate given"
            note = f"mid-{used} population used for {label} (mid-{wanted} {why})"
    out.attrs["sna"] = {"population_year": used, "population_year_wanted": wanted, "population_note": note}
    return out


def population_years(populations: pd.DataFrame, years: Iterable) -> pd.DataFrame:
    """Which population estimate each financial year uses (for the methods table).

    Returns
    -------
    pandas.DataFrame
        ``fy, population_year, note`` (one row per year given).

    Examples
    --------
    >>> pops = pd.DataFrame({"year": [2017, 2020], "lsoa": ["E01000001"] * 2, "age": [0, 0],
    ...                      "population": [1.0, 1.0]})
    >>> population_years(pops, ["2017/18", "2018/19", "2019/20", "2020/21"]).population_year.tolist()
    [2017, 2017, 2020, 2020]
    """
    rows = []
    for y in years:
        meta = population_for_year(populations, y).attrs["sna"]
        rows.append({"fy": str(y), "population_year": meta["population_year"], "note": meta["population_note"]})
    return pd.DataFrame(rows, columns=["fy", "population_year", "note"])


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
            pairs = _pairs(v, vintage)
            return codes.isin(set(pairs.loc[pairs["dst"].isin(area), "src"])).to_numpy()
        return codes.isin(area).to_numpy()

    pop = read_population(path, rows=rows)  # national files: only the area's rows converted
    method = pop.attrs["sna"]["population_age_method"]
    pop_vintage = found["vintage"]
    if pop_vintage is not None and pop_vintage != vintage:
        pairs = _pairs(pop_vintage, vintage)
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
    import geopandas as gpd

    g = config.geography
    b = read_boundaries(config.resolve_many(g.boundaries), lsoa_column=g.lsoa_column, vintage=g.lsoa_vintage)
    meta = dict(b.attrs.get("sna", {}))
    vintage = meta["lsoa_vintage"]
    lookup_path = config.resolve(g.lsoa_to_district)
    lookup = read_lsoa_district_lookup(lookup_path, vintage=vintage)
    lk = lookup.set_index("lsoa")
    geo = b.copy()
    geo["district"] = geo["lsoa"].map(lk["district"])
    if geo["name"].isna().all():
        geo["name"] = geo["lsoa"].map(lk["name"])
    geo["district_name"] = geo["lsoa"].map(lk["district_name"])
    notes: list[str] = []
    methods: list[dict] = []
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
    area = set(geo["lsoa"])

    # wards and MSOAs
    levels = read_levels_lookup(vintage).drop_duplicates("lsoa").set_index("lsoa")
    for c in ("msoa", "msoa_name", "ward", "ward_name"):
        geo[c] = geo["lsoa"].map(levels[c])
    nlev = int(geo["ward"].isna().sum())
    if nlev:
        notes.append(f"{nlev} LSOA(s) have no ward or MSOA in the bundled lookup")
        logger.warning(notes[-1])
    methods.append({
        "method": "Wards and neighbourhoods",
        "what": ("LSOAs grouped into 2024 electoral wards (ONS LSOA 2021 to ward 2024 best fit) and "
                 f"{vintage} MSOAs (neighbourhoods)"
                 + ("; a 2011 LSOA takes the ward of its 2021 part with most residents" if vintage == 2011 else "")
                 + "."),
        "reference": "ONS Open Geography Portal lookups (OGL v3.0)",
    })

    if g.lsoa_best_fit:
        methods.append({
            "method": "Records on the other LSOA vintage",
            "what": (f"Records coded on {2011 if vintage == 2021 else 2021} LSOAs (a baseline whose early years "
                     f"use 2011 codes and later years 2021 codes) are harmonised to the boundaries' {vintage} "
                     "LSOAs: placed by their coordinates where known; otherwise a merged or unchanged code is "
                     "translated by the ONS best-fit lookup and a split one goes to the part with most residents."),
            "reference": "ONS LSOA (2011) to LSOA (2021) best-fit lookup",
        })

    # population, one or several mid-years
    frames = []
    pop_method = None
    for year, path in _population_files(g).items():
        p = _read_area_population(config.resolve(path), area, vintage, notes)
        pop_method = p.attrs["sna"]["population_age_method"]
        frames.append(p.assign(year=year))
    if frames:
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
        nmiss = int(geo["population"].isna().sum())
        if nmiss:
            notes.append(f"{nmiss} LSOA(s) have no population estimate")
            logger.warning(notes[-1])
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
    else:
        populations = pd.DataFrame({"year": pd.Series(dtype="Int64"), "lsoa": pd.Series(dtype="str"),
                                    "age": pd.Series(dtype=int), "population": pd.Series(dtype=float)})
        population = populations[["lsoa", "age", "population"]].copy()
        population.attrs["sna"] = {}
        geo["population"] = pd.Series(pd.NA, index=geo.index, dtype="Float64")

    # deprivation, each index on its own deciles
    dep_paths = [g.imd] if isinstance(g.imd, str) else list(g.imd or [])
    labels: list[str] = []
    if dep_paths:
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
        nmiss = int(geo["imd_decile"].isna().sum())
        if nmiss:
            notes.append(f"{nmiss} LSOA(s) have no {' or '.join(labels)} decile")
            logger.warning(notes[-1])
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
    else:
        geo["imd_decile"] = pd.Series(pd.NA, index=geo.index, dtype="Int64")
        geo["imd_rank"] = pd.Series(pd.NA, index=geo.index, dtype="Int64")
        geo["deprivation_index"] = pd.NA
    for c in ("lsoa", "name", "msoa", "msoa_name", "ward", "ward_name", "district", "district_name",
              "partnership", "deprivation_index"):
        geo[c] = geo[c].astype("string")
    geo = gpd.GeoDataFrame(
        geo[["lsoa", "name", "msoa", "msoa_name", "ward", "ward_name", "district", "district_name",
             "partnership", "population", "imd_decile", "imd_rank", "deprivation_index", "geometry"]],
        geometry="geometry", crs=BNG,
    )
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


def with_population(geo: "gpd.GeoDataFrame", population: pd.DataFrame) -> "gpd.GeoDataFrame":
    """The geography with its ``population`` column from another estimate (a copy).

    ``attrs["sna"]["population_year"]`` and the note of :func:`population_for_year` follow.
    """
    out = geo.copy()
    out.attrs["sna"] = dict(geo.attrs.get("sna", {}))
    if len(population):
        totals = population.groupby("lsoa")["population"].sum()
        out["population"] = out["lsoa"].map(totals).astype("Float64")
    meta = population.attrs.get("sna", {})
    out.attrs["sna"]["population_year"] = meta.get("population_year")
    note = meta.get("population_note")
    notes = [n for n in out.attrs["sna"].get("notes", []) if "population used for" not in n]
    out.attrs["sna"]["notes"] = notes + ([note] if note else [])
    return out


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
