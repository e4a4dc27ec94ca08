"""The partner cleaners' shared last step (:func:`finish_partner`): place the rows, set aside,
reconcile, with the quarantine records as read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .reader import fill_records

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    from ...clean import CleanedSource
    from ...config import Config

__all__ = [
    "PARTNER_REASONS",
    "finish_partner",
]


def finish_partner(
    name: str,
    format: str,
    df: pd.DataFrame,
    raw: pd.DataFrame,
    geography: "gpd.GeoDataFrame",
    config: "Config",
    *,
    keep_unlocated: bool = False,
) -> "CleanedSource":
    """Shared last steps of the partner cleaners: place, set aside, reconcile.

    Parameters
    ----------
    name, format
        Source name and format.
    df
        A frame from one of the partner readers (canonical columns plus ``set_aside``,
        ``set_aside_detail``, ``record``).
    raw
        The mapped values as read (:func:`sna.io.partner.read_partner` with ``return_raw``):
        the quarantine records of rows set aside here.
    geography
        The area.
    config
        The config (LSOA best-fit lookup).
    keep_unlocated
        Keep rows without any location (A&E attendances are counted by site).

    Returns
    -------
    CleanedSource
        As :func:`sna.clean.finish_source`, except ``quality.share_geocoded``: the share of
        kept rows placed in an LSOA (by code or by point), since partner records often give
        an LSOA and no coordinates (the share with coordinates is in the notes).
    """
    from ... import clean

    meta = df.attrs.get("sna", {})
    for reason, text in PARTNER_REASONS.items():
        clean.REASONS.setdefault(reason, text)
    work = clean.start(df.drop(columns=["set_aside", "set_aside_detail"]))
    for reason in pd.unique(df["set_aside"].dropna()):
        mask = (df["set_aside"] == reason).fillna(False)
        work = clean.set_aside(work, mask, str(reason), df["set_aside_detail"])
    best_fit = config.geography.lsoa_best_fit
    if best_fit not in (None, "bundled"):
        best_fit = str(config.resolve(best_fit))
    has_xy = "x" in work and "y" in work
    work = clean.place(work, geography, lsoa="lsoa" if "lsoa" in work else None,
                       x="x" if has_xy else None, y="y" if has_xy else None, crs=27700,
                       best_fit=best_fit, keep_unlocated=keep_unlocated, source=name)
    # every set-aside row's record: the row as read (identifiers pseudonymised)
    df = df[["set_aside", "record"]].copy()
    df["set_aside"] = work[clean.REASON].astype("string").to_numpy()
    fill_records(df, raw)
    res = clean.finish_source(
        name, format, work.drop(columns=["record"]), record_columns=[],
        files=[f["file"] for f in meta.get("files", [])], notes=meta.get("notes", []),
    )
    aside = work[clean.REASON].notna().to_numpy()
    if aside.any():
        res.quarantine["record"] = pd.array(df.loc[aside, "record"].to_numpy(), dtype="string")
    if meta.get("identifiers_pseudonymised"):
        res.quality.notes.append("identifiers pseudonymised at read time (HMAC-SHA256): "
                                 + ", ".join(meta["identifiers_pseudonymised"]))
    inc = res.incidents
    if len(inc):
        # partner records are often located by LSOA only: "geocoded" = placed in an LSOA
        res.quality.share_geocoded = float(inc["lsoa"].notna().mean())
        res.quality.notes.append(
            f"share geocoded = share of kept rows placed in an LSOA; {inc['x'].notna().mean():.1%} "
            "have coordinates")
    return res

#: Reasons for setting a partner row aside (added to :data:`sna.clean.REASONS` when used).
PARTNER_REASONS = {
    "no_date": "the record has no date",
    "bad_date": "the date cannot be read",
    "bad_age": "an age is impossible (not a whole number of years from 0 to 120)",
    "unknown_category": "the crime type / category is not known to the definition",
}
