"""Deprivation by LSOA: the IMD 2019, IoD 2025 and WIMD 2019 files as published, and a
deprivation table moved to the other LSOA vintage by best fit (deciles never re-ranked)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import pandas as pd

from ...errors import InputFormatError
from ._common import detect_lsoa_column, read_csv_any, reference, to_number
from .vintages import best_fit_pairs, best_fit_weights

__all__ = ["DEPRIVATION_INDICES", "read_deprivation", "read_imd", "convert_deprivation"]


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
    p = reference("wimd2019_ranks_lsoa11.csv.gz") if str(path) == "bundled-wimd2019" else Path(path)
    if str(path) == "bundled-wimd2019" and index == "auto":
        index = "wimd2019"
    raw = read_csv_any(p, "deprivation")
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
        "imd_rank": to_number(raw[rank_col]).astype("Int64") if rank_col else pd.NA,
        "imd_decile": to_number(raw[dec_col]).astype("Int64") if dec_col else pd.NA,
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
    pairs = best_fit_pairs(src_vintage, to_vintage)
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
