"""LSOA vintages (2011 and 2021): which one a set of codes is on, and the ONS 2011 -> 2021
best-fit lookup that moves codes, counts and populations from one to the other.

:func:`detect_vintage` and :func:`vintage_mix` tell the vintage of codes;
:func:`vintage_mismatch` and :func:`harmonise_lsoa_codes` translate codes of the other vintage;
:func:`best_fit_weights` and :func:`apportion` share counts over split and merged LSOAs by the
published populations of their parts (bundled, Open Government Licence v3.0).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from ...errors import GeographyError
from ._common import detect_column, reference

__all__ = [
    "read_best_fit_lookup",
    "detect_vintage",
    "vintage_mix",
    "vintage_mismatch",
    "harmonise_lsoa_codes",
    "best_fit_weights",
    "best_fit_pairs",
    "apportion",
]


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
    p = reference("lookup_lsoa11_lsoa21_ltla22.csv.gz") if path in (None, "bundled") else Path(path)
    try:
        raw = _best_fit_cached(str(p))
    except FileNotFoundError:
        raise GeographyError("the LSOA best-fit lookup was not found", file=p) from None
    cols = list(raw.columns)
    c11 = detect_column(cols, [r"lsoa(20)?11(cd|code)", r"lsoacode(20)?11"])
    c21 = detect_column(cols, [r"lsoa(20)?21(cd|code)", r"lsoacode(20)?21"])
    if c11 is None or c21 is None:
        raise GeographyError(
            f"the best-fit lookup needs a 2011 and a 2021 LSOA code column (found: {', '.join(cols)})",
            file=p,
        )
    chg = detect_column(cols, [r"change(code)?", r"chgind", r"chgind.*"])
    dist = detect_column(cols, [r"(lad|ltla)(20)?2[12](cd|code)"])
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
    raw = pd.read_csv(reference("lookup_lsoa11_lsoa21_weights.csv.gz"), dtype={
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


def best_fit_pairs(from_vintage: int, to_vintage: int) -> pd.DataFrame:
    """The pairs of :func:`best_fit_weights` seen from one vintage to the other.

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``src`` (the LSOA of ``from_vintage``), ``dst`` (of the other
        vintage), ``weight`` (the share of ``src`` that goes to ``dst``), ``dst_pop`` (the
        published population of ``dst``), ``change_code``, and the other direction's columns.

    Examples
    --------
    >>> p = best_fit_pairs(2011, 2021)
    >>> p.loc[p.src == "E01033404", ["dst", "change_code"]].values.tolist()
    [['E01035501', 'S'], ['E01035502', 'S']]
    """
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
    pairs = best_fit_pairs(from_vintage, to_vintage)
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
