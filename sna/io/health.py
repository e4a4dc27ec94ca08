"""Health data: ambulance call-outs for violence and A&E (ECDS / ISTV) assault attendances.

Most violence that reaches hospital never reaches police records, so an SNA reads the
ambulance service's call-outs and the emergency departments' assault attendances (the
Cardiff Model / Information Sharing to Tackle Violence minimum data set, ISB 1594, now part of
ECDS). Both are read through a column mapping (:mod:`sna.io.partner`).

Ambulance (``format: ambulance``)
    ``record_id`` incident number (pseudonymised), ``date`` (+ ``time``) of the call,
    ``call_category`` (assault; sexual assault; stab / gunshot / penetrating trauma),
    ``lsoa`` or ``x``/``y`` or ``longitude``/``latitude``, ``age`` (or ``age_band``, kept
    only as unknown age: a band is never turned into an age), ``sex``, ``ethnicity``,
    ``person_id``, ``location_type``.

    Canonical rows: ``category`` ``Assault`` or ``Sexual assault``; ``weapon`` = the call
    category; ``knife`` True for a stabbing-only category, ``firearm`` True for a
    gunshot-only category, unknown otherwise (a combined "stab / gunshot / penetrating" call
    does not say which; an "assault" call does not say there was no knife). Call categories
    that are not violence are set aside as ``unknown_category``.

A&E, ECDS / ISTV (``format: ecds``)
    ``record_id`` attendance id and ``person_id`` NHS number / local patient id (both
    pseudonymised), ``date`` (+ ``time``) of **arrival**, ``assault_date`` (+
    ``assault_time``), ``weapon`` (assault method: weapon or body part), ``location_type``
    and ``location_description``, ``lsoa`` (where the assault happened, where known),
    ``home_lsoa``, ``age``, ``sex``, ``ethnicity``, ``site``.

    Canonical rows: ``date`` is the arrival (what ECDS counts; always known to the minute);
    ``category`` ``Assault`` (``Sexual assault`` where the method says so); ``weapon`` = the
    assault method; ``knife`` True where the method is a knife, blade or sharp object, False
    where another method is recorded, unknown where none is; ``firearm`` likewise. The
    location is the assault's LSOA where known; attendances without one are **kept** (they
    count by site) with no LSOA, district or partnership; an assault LSOA outside the area is
    ``out_of_area``.

For both, ``serious_violence`` follows the local definition: an assault counts as *Violence
with injury* (someone needed an ambulance or an emergency department), a sexual assault as
*Sexual offences*; with ``knife_enabled_only`` only knife-enabled rows count.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "amb.csv").write_text(
...     "Incident Number,Incident Date,Incident Time,Call Category,LSOA,Patient Age,Patient Sex\\n"
...     "A1,13/06/2020,23:15,Stab/Gunshot/Penetrating Trauma,E01013810,19,M\\n"
...     "A2,13/06/2020,23:40,Sexual Assault,E01013810,,F\\n")
>>> amb = read_ambulance(d / "amb.csv", key=b"demo key, not a secret")
>>> amb[["category", "date_precision", "knife", "serious_violence"]].values.tolist()
[['Assault', 'minute', <NA>, True], ['Sexual assault', 'minute', <NA>, True]]
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from .partner import combine_date_time, fill_records, finish_partner, month_start, read_partner

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from ..clean import CleanedSource
    from ..config import Config, DefinitionConfig, SourceConfig

__all__ = [
    "read_ambulance",
    "read_ecds",
    "ambulance_categories",
    "assault_methods",
    "clean_ambulance",
    "clean_ecds",
    "link_to_police",
    "detect_ambulance",
    "detect_ecds",
]

_VIOLENCE_WORDS = re.compile(r"assault|stab|gunshot|shot|penetrat|wound|violen|fight|attack|sexual|rape")
_KNIFE = re.compile(r"knife|knives|blade|sharp|stab|machete|sword|razor|cutting")
_FIREARM = re.compile(r"firearm|gun|shot|pistol|rifle|airgun|air weapon")
_SEXUAL = re.compile(r"sexual|rape")
_COMBINED_PROTOCOL = re.compile(r"^assault\s*/\s*sexual assault(\s*/\s*stun gun)?$")


def ambulance_categories(call_category: pd.Series) -> pd.DataFrame:
    """Category, knife and firearm flags of ambulance call categories.

    Parameters
    ----------
    call_category
        The call category / chief complaint text.

    Returns
    -------
    pandas.DataFrame
        Same index: ``category`` (``Assault`` / ``Sexual assault``; ``<NA>`` when the call is
        not violence), ``knife`` and ``firearm`` (``boolean``: True only when the category
        names a stabbing or a shooting alone; otherwise unknown).

    Examples
    --------
    >>> import pandas as pd
    >>> out = ambulance_categories(pd.Series(["Assault", "Sexual Assault", "Stab wound",
    ...     "Stab/Gunshot/Penetrating Trauma", "Assault/Sexual Assault/Stun Gun", "Falls"]))
    >>> out.values.tolist()
    [['Assault', <NA>, <NA>], ['Sexual assault', <NA>, <NA>], ['Assault', True, <NA>], ['Assault', <NA>, <NA>], ['Assault', <NA>, <NA>], [<NA>, <NA>, <NA>]]
    """
    low = call_category.astype("string").str.lower().str.strip()

    def one(t: str):
        t2 = " ".join(t.split())
        if not _VIOLENCE_WORDS.search(t2):
            return (None, None, None)
        if _COMBINED_PROTOCOL.match(t2):
            return ("Assault", None, None)
        cat = "Sexual assault" if _SEXUAL.search(t2) else "Assault"
        knife = bool(_KNIFE.search(t2))
        gun = bool(re.search(r"gunshot|shot|firearm|gun\b", t2))
        return (cat, True if knife and not gun else None, True if gun and not knife else None)

    uniq = pd.unique(low.dropna().to_numpy(dtype=object))
    lut = {u: one(u) for u in uniq}
    got = low.map(lut, na_action="ignore")
    out = pd.DataFrame(index=call_category.index)
    out["category"] = got.map(lambda v: v[0], na_action="ignore").astype("string")
    out["knife"] = got.map(lambda v: v[1], na_action="ignore").astype("boolean")
    out["firearm"] = got.map(lambda v: v[2], na_action="ignore").astype("boolean")
    return out


def assault_methods(method: pd.Series) -> pd.DataFrame:
    """Knife and firearm flags, and category, of A&E assault methods.

    Parameters
    ----------
    method
        The assault method (weapon or body part), as recorded.

    Returns
    -------
    pandas.DataFrame
        Same index: ``category`` (``Sexual assault`` where the method says so, else
        ``Assault``), ``knife`` (True for knife / blade / sharp object, False for another
        recorded method, ``<NA>`` where none or "unknown"), ``firearm`` likewise.

    Examples
    --------
    >>> import pandas as pd
    >>> out = assault_methods(pd.Series(["Knife or sharp object", "Body part (fist, feet)",
    ...                                  None, "Firearm", "Unknown"]))
    >>> out[["knife", "firearm"]].values.tolist()
    [[True, False], [False, False], [<NA>, <NA>], [False, True], [<NA>, <NA>]]
    """
    low = method.astype("string").str.lower().str.strip()
    unknown = low.isna() | low.isin(["", "unknown", "not known", "not recorded", "other - unknown"])
    knife = low.str.contains(_KNIFE, na=False)
    gun = low.str.contains(_FIREARM, na=False) & ~knife
    out = pd.DataFrame(index=method.index)
    out["category"] = pd.Series(np.where(low.str.contains(_SEXUAL, na=False), "Sexual assault", "Assault"),
                                index=method.index, dtype="string")
    out["knife"] = pd.Series(knife.to_numpy(), index=method.index, dtype="boolean").mask(unknown)
    out["firearm"] = pd.Series(gun.to_numpy(), index=method.index, dtype="boolean").mask(unknown)
    return out


def _health_serious_violence(df: pd.DataFrame, definition: "DefinitionConfig | None") -> pd.Series:
    from ..definitions import serious_violence_flags

    as_police = pd.DataFrame(index=df.index)
    sexual = (df["category"] == "Sexual assault").fillna(False)
    as_police["category"] = np.where(sexual, "Sexual offences", "Violence against the person")
    as_police["subcategory"] = np.where(sexual, "Other sexual offences", "Violence with injury")
    as_police["knife"] = df["knife"] if "knife" in df else pd.NA
    if "domestic" in df:
        as_police["domestic"] = df["domestic"]
    return serious_violence_flags(as_police, definition)


def _dates(df: pd.DataFrame) -> pd.DataFrame:
    from ..clean import fy_labels

    date, prec = combine_date_time(df["date"], df["date_precision"], df.get("time"))
    out = df.drop(columns=[c for c in ("time",) if c in df]).copy()
    out["date"] = date
    out["date_precision"] = prec
    out["month"] = month_start(date)
    out["fy"] = fy_labels(out["month"]).astype("string")
    return out


def read_ambulance(
    path,
    *,
    columns: dict[str, str] | None = None,
    config: "Config | None" = None,
    definition: "DefinitionConfig | None" = None,
    key: bytes | str | None = None,
    source: str | None = None,
    encoding: str = "utf-8",
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read ambulance call-outs for violence into canonical columns, one row per row read.

    Parameters
    ----------
    path
        CSV / ``.csv.gz`` / ``.xlsx`` file(s), folder, glob, zip or list.
    columns
        Column mapping (canonical -> the file's column); see the module notes.
    config, definition, key, source, encoding, sheet
        As :func:`sna.io.police_extract.read_police_extract`.

    Returns
    -------
    pandas.DataFrame
        ``record_id``, ``person_id``, ``date``, ``date_precision``, ``month``, ``fy``,
        ``crime_type`` and ``weapon`` (the call category), ``category``, ``knife``,
        ``firearm``, ``serious_violence``, ``lsoa``, ``x``, ``y``, ``location_type``, ``age``,
        ``sex``, ``ethnicity`` (those the file has), ``file``, ``line``, ``set_aside``,
        ``set_aside_detail``, ``record``.
    """
    out, raw = _read_ambulance(path, columns=columns, config=config, definition=definition, key=key,
                               source=source, encoding=encoding, sheet=sheet)
    fill_records(out, raw)
    return out


def _read_ambulance(path, *, columns, config, definition, key, source, encoding, sheet):
    if definition is None and config is not None:
        definition = config.definition
    df, raw = read_partner(path, "ambulance", columns=columns, config=config, source=source,
                           encoding=encoding, sheet=sheet, key=key, return_raw=True)
    meta = df.attrs["sna"]
    out = _dates(df)
    cats = ambulance_categories(out["call_category"])
    out["crime_type"] = out["call_category"]
    out["weapon"] = out.pop("call_category")
    out["category"] = cats["category"]
    out["knife"] = cats["knife"]
    out["firearm"] = cats["firearm"]
    if "age_band" in out:
        banded = out["age_band"].notna() & (out["age"].isna() if "age" in out else True)
        if banded.any():
            meta["notes"].append(f"{int(banded.sum())} row(s) give only an age band: their age is "
                                 "kept as unknown")
        out = out.drop(columns=["age_band"])
    unknown = out["category"].isna() & out["set_aside"].isna()
    if unknown.any():
        out.loc[unknown, "set_aside"] = "unknown_category"
        out.loc[unknown, "set_aside_detail"] = ("call category " + out["weapon"].fillna("(blank)").map(repr)
                                                + " is not violence (assault, sexual assault, stab, "
                                                "gunshot, penetrating trauma)")[unknown]
    out["serious_violence"] = _health_serious_violence(out, definition)
    out.attrs["sna"] = meta
    return out, raw


def read_ecds(
    path,
    *,
    columns: dict[str, str] | None = None,
    config: "Config | None" = None,
    definition: "DefinitionConfig | None" = None,
    key: bytes | str | None = None,
    source: str | None = None,
    encoding: str = "utf-8",
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read A&E assault attendances (ECDS / ISTV) into canonical columns, one row per row read.

    Parameters
    ----------
    path
        CSV / ``.csv.gz`` / ``.xlsx`` file(s), folder, glob, zip or list.
    columns
        Column mapping (canonical -> the file's column); see the module notes.
    config, definition, key, source, encoding, sheet
        As :func:`sna.io.police_extract.read_police_extract`.

    Returns
    -------
    pandas.DataFrame
        ``record_id``, ``person_id``, ``date`` (arrival), ``date_precision``, ``month``,
        ``fy``, ``assault_date`` and ``assault_date_precision`` (when given), ``crime_type``
        and ``weapon`` (assault method), ``category``, ``knife``, ``firearm``,
        ``serious_violence``, ``location_type``, ``lsoa`` (assault), ``home_lsoa``, ``age``,
        ``sex``, ``ethnicity``, ``site`` (those the file has), ``file``, ``line``,
        ``set_aside``, ``set_aside_detail``, ``record``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "ed.csv").write_text(
    ...     "Attendance ID,NHS Number,Arrival Date,Arrival Time,Assault Date,Assault Method,Site Code\\n"
    ...     "X1,485 777 3456,14/06/2020,00:20,13/06/2020,Knife or sharp object,RX1RA\\n")
    >>> ed = read_ecds(d / "ed.csv", key=b"demo key, not a secret")
    >>> [str(v) for v in ed.loc[0, ["date_precision", "assault_date_precision", "knife", "site"]]]
    ['minute', 'day', 'True', 'RX1RA']
    >>> ed.loc[0, "person_id"] != "4857773456"
    True
    """
    out, raw = _read_ecds(path, columns=columns, config=config, definition=definition, key=key,
                          source=source, encoding=encoding, sheet=sheet)
    fill_records(out, raw)
    return out


def _read_ecds(path, *, columns, config, definition, key, source, encoding, sheet):
    if definition is None and config is not None:
        definition = config.definition
    df, raw = read_partner(path, "ecds", columns=columns, config=config, source=source,
                           encoding=encoding, sheet=sheet, key=key, return_raw=True)
    meta = df.attrs["sna"]
    out = _dates(df)
    if "assault_date" in out:
        ad, ap = combine_date_time(out["assault_date"], out["assault_date_precision"], out.get("assault_time"))
        out["assault_date"] = ad
        out["assault_date_precision"] = ap
    out = out.drop(columns=[c for c in ("assault_time",) if c in out])
    method = out["weapon"] if "weapon" in out else pd.Series(pd.NA, index=out.index, dtype="string")
    flags = assault_methods(method)
    out["crime_type"] = method
    out["weapon"] = method
    out["category"] = flags["category"]
    out["knife"] = flags["knife"]
    out["firearm"] = flags["firearm"]
    if "location_description" in out:
        out = out.drop(columns=["location_description"])  # free text: not carried further
    out["serious_violence"] = _health_serious_violence(out, definition)
    out.attrs["sna"] = meta
    return out, raw


def clean_ambulance(
    name: str,
    source: "SourceConfig",
    config: "Config",
    geography: "gpd.GeoDataFrame",
    *,
    progress: Callable[[str], None] | None = None,
) -> "CleanedSource":
    """Read and clean an ambulance source (``format: ambulance``); see the module notes."""
    if progress is not None:
        progress(f"reading {name} (ambulance call-outs)")
    df, raw = _read_ambulance(config.resolve_many(source.path), columns=source.columns, config=config,
                              definition=config.definition, key=None, source=name,
                              encoding=source.encoding, sheet=source.sheet)
    return finish_partner(name, "ambulance", df, raw, geography, config)


def clean_ecds(
    name: str,
    source: "SourceConfig",
    config: "Config",
    geography: "gpd.GeoDataFrame",
    *,
    progress: Callable[[str], None] | None = None,
) -> "CleanedSource":
    """Read and clean an A&E (ECDS / ISTV) source (``format: ecds``); see the module notes.

    Attendances without an assault location are kept (counted by site); the home LSOA is
    kept as ``home_lsoa`` and never used as the place of the assault.
    """
    if progress is not None:
        progress(f"reading {name} (A&E assault attendances)")
    df, raw = _read_ecds(config.resolve_many(source.path), columns=source.columns, config=config,
                         definition=config.definition, key=None, source=name,
                         encoding=source.encoding, sheet=source.sheet)
    return finish_partner(name, "ecds", df, raw, geography, config, keep_unlocated=True)


def link_to_police(
    health: pd.DataFrame,
    police: pd.DataFrame,
    *,
    days: int = 1,
    age_tolerance: int = 1,
) -> pd.Series:
    """Which health records have a matching police record (a measure of under-reporting).

    A health record (A&E attendance or ambulance call-out) matches when a police record of
    violence has the same LSOA, a date within ``days`` days (the assault date where the health
    record has one, else its date), the same sex and an age within ``age_tolerance`` years.
    Records without an LSOA, date, sex or age cannot be matched and are ``<NA>``.

    Parameters
    ----------
    health
        Canonical incidents of one health source (``lsoa``, ``date``, ``sex``, ``age``, and
        optionally ``assault_date``).
    police
        Canonical police incidents (force extract: victims' ages and sexes).
    days, age_tolerance
        Matching windows.

    Returns
    -------
    pandas.Series
        ``boolean``, aligned with ``health``: True matched, False not matched, ``<NA>`` not
        matchable. ``attrs["sna"]`` records the windows.

    Notes
    -----
    The Cardiff Model literature finds that only a quarter to a third of ED-treated violence
    appears in police data (Shepherd et al.; Home Office ISTV guidance).

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"lsoa": ["E1", "E1", None], "date": pd.to_datetime(["2020-06-13"] * 3),
    ...                   "sex": ["Male"] * 3, "age": [19, 40, 19]})
    >>> p = pd.DataFrame({"lsoa": ["E1"], "date": pd.to_datetime(["2020-06-12 23:00"]),
    ...                   "sex": ["Male"], "age": [20]})
    >>> link_to_police(h, p).tolist()
    [True, False, <NA>]
    """
    when = health["date"]
    if "assault_date" in health:
        when = health["assault_date"].where(health["assault_date"].notna(), when)
    h = pd.DataFrame({
        "lsoa": health["lsoa"].astype("string"), "day": pd.to_datetime(when).dt.normalize(),
        "sex": health["sex"].astype("string"), "age": pd.array(health["age"], dtype="Int64"),
        "_i": np.arange(len(health)),
    })
    ok = h[["lsoa", "day", "sex", "age"]].notna().all(axis=1)
    p = pd.DataFrame({
        "lsoa": police["lsoa"].astype("string"), "pday": pd.to_datetime(police["date"]).dt.normalize(),
        "sex": police["sex"].astype("string"), "page": pd.array(police["age"], dtype="Int64"),
    }).dropna()
    m = h[ok].merge(p, on=["lsoa", "sex"], how="inner")
    hit = ((m["pday"] - m["day"]).abs() <= pd.Timedelta(days=days)) & \
        ((m["page"] - m["age"]).abs() <= age_tolerance)
    matched = np.zeros(len(health), dtype=bool)
    matched[m.loc[hit.fillna(False).to_numpy(), "_i"].to_numpy()] = True
    out = pd.Series(matched, index=health.index, dtype="boolean")
    out[~ok.to_numpy()] = pd.NA
    out.attrs["sna"] = {"link_days": days, "link_age_tolerance": age_tolerance}
    return out


def detect_ambulance(path) -> dict | None:
    """``sna init``: an ambulance source's proposed config (format and column mapping), or None."""
    from .partner import detect_source

    return detect_source(path, "ambulance")


def detect_ecds(path) -> dict | None:
    """``sna init``: an A&E (ECDS / ISTV) source's proposed config, or None."""
    from .partner import detect_source

    return detect_source(path, "ecds")
