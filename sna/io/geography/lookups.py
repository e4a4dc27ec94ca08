"""The ONS lookups, bundled (Open Government Licence v3.0) or given: LSOA -> local authority
district, district -> Community Safety Partnership -> police force area (2024), LSOA -> MSOA
and 2024 electoral ward with names; and the current code of a recoded district."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from ...errors import GeographyError, InputFormatError
from ._common import detect_column, detect_lsoa_column, name_column, reference
from .vintages import best_fit_weights

__all__ = [
    "recode_district",
    "read_lsoa_district_lookup",
    "read_district_csp_lookup",
    "read_levels_lookup",
]


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
        p = reference("lookup_lsoa11_ltla21.csv.gz") if path is None else Path(path)
        try:
            raw = pd.read_csv(p, dtype=str, encoding="utf-8-sig")
        except FileNotFoundError:
            raise GeographyError("the LSOA -> district lookup was not found", file=p) from None
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InputFormatError(f"the LSOA -> district lookup cannot be read as CSV: {exc}", file=p) from None
        cols = list(raw.columns)
        lsoa_col, _ = detect_lsoa_column(cols, raw)
        dist_col = detect_column(cols, [r"(lad|ltla|lau1|la)(20)?\d{0,2}(cd|code)", r"(local)?authority.*code.*",
                                         r"district.*code.*", r"districtcd"])
        if lsoa_col is None or dist_col is None:
            raise GeographyError(
                "the LSOA -> district lookup needs an LSOA code column and a district code column "
                f"(e.g. LSOA11CD and LAD21CD); found: {', '.join(cols)}",
                file=p,
            )
        dname = detect_column(cols, [r"(lad|ltla|lau1|la)(20)?\d{0,2}(nm|name)", r"(local)?authority.*name.*",
                                      r"district.*name.*"])
        lname = name_column(cols)
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
    p = reference("lookup_ltla24_csp24_pfa24.csv.gz") if path is None else Path(path)
    try:
        raw = pd.read_csv(p, dtype=str, encoding="utf-8-sig")
    except FileNotFoundError:
        raise GeographyError("the district -> CSP lookup was not found", file=p) from None
    cols = list(raw.columns)
    pick = {
        "district": detect_column(cols, [r"(lad|ltla)(20)?\d{0,2}(cd|code)"]),
        "district_name": detect_column(cols, [r"(lad|ltla)(20)?\d{0,2}(nm|name)"]),
        "csp_code": detect_column(cols, [r"csp(20)?\d{0,2}(cd|code)"]),
        "csp": detect_column(cols, [r"csp(20)?\d{0,2}(nm|name)"]),
        "pfa_code": detect_column(cols, [r"pfa(20)?\d{0,2}(cd|code)"]),
        "pfa": detect_column(cols, [r"pfa(20)?\d{0,2}(nm|name)"]),
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


@lru_cache(maxsize=1)
def _lsoa21_levels() -> pd.DataFrame:
    return pd.read_csv(reference("lookup_lsoa21_msoa21_ward24_ltla24.csv.gz"), dtype=str)


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
    m11 = pd.read_csv(reference("lookup_lsoa11_msoa11.csv.gz"), dtype=str)
    out = pd.DataFrame({"lsoa": m11["lsoa11_code"], "msoa": m11["msoa11_code"], "msoa_name": m11["msoa11_name"]})
    via = l21.set_index("lsoa").reindex(out["lsoa"].map(best))
    for c in ("ward", "ward_name", "district24", "district24_name"):
        out[c] = via[c].to_numpy()
    return out
