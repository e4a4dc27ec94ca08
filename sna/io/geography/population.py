"""Population by LSOA and single year of age: reading an estimate (single years, age bands or
long), choosing the mid-year estimate a financial year uses, and putting it on the geography."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np
import pandas as pd

from ..._log import record
from ...errors import GeographyError, InputFormatError
from ._common import detect_lsoa_column, norm_column, read_csv_any, to_number

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["read_population", "population_for_year", "population_years", "with_population"]


_BAND_RE = re.compile(r"^\D*?(\d{1,2})\s*(?:-|to|_)\s*(\d{1,2})\D*$")
_PLUS_RE = re.compile(r"^\D*?(\d{1,2})\s*(?:\+|plus|andover|and over|orover|or over)\D*$", re.IGNORECASE)


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
    raw = read_csv_any(p, "population")
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
    norm = {c: norm_column(c) for c in cols}
    age_col = next((c for c in cols if norm[c] in ("age", "singleyearofage", "ageyears")), None)
    pop_col = next((c for c in cols if norm[c] in ("population", "count", "persons", "value", "obsvalue")), None)
    if age_col and pop_col:
        long = pd.DataFrame({"lsoa": lsoa, "age": to_number(raw[age_col]), "population": to_number(raw[pop_col])})
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
                frames.append(pd.DataFrame({"lsoa": lsoa, "age": min(age, 90), "population": to_number(raw[c])}))
            for lo, hi, c in bands:  # the open band (90+)
                if lo >= 90 or lo > max(singles):
                    frames.append(pd.DataFrame({"lsoa": lsoa, "age": min(lo, 90), "population": to_number(raw[c])}))
        elif bands:
            method = "bands_spread_evenly"
            for lo, hi, c in bands:
                lo, hi = min(lo, 90), min(hi, 90)
                ages = range(lo, hi + 1) if lo < 90 else [90]
                share = to_number(raw[c]) / len(ages)
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


def _fy_start(year) -> int:
    """The calendar year a financial year starts in (an int is taken as a mid-year)."""
    if isinstance(year, (int, np.integer)):
        return int(year)
    from ...periods import FinancialYear

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
