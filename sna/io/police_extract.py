"""Force crime extracts: one row per crime, with Home Office offence codes, times and victims.

A force's analysts export recorded crime from their records system (Niche, Athena, Connect,
...) as CSV or Excel. Column names differ between forces and between years, so a source is
read through a column mapping (:mod:`sna.io.partner`; ``sna init`` proposes one from the
header). The canonical fields (``sources.<name>.columns`` keys):

============== ============================================================================
field          holds
============== ============================================================================
record_id      crime reference (**pseudonymised at read time**), required
date, time     start of the offence window ("committed from"): a date, a date and time, or
               a date plus a separate time column; required
date_to,       end of the window ("committed to"), optional
time_to
recorded_date  date recorded, optional (kept for reference)
offence_code   Home Office offence code (``8N``, ``105A``, ``34B``, ``4/1``...), required
crime_type     offence description (the code table's description if absent)
x, y           easting / northing (EPSG:27700); or ``longitude`` / ``latitude``; or
lsoa           the LSOA code (trusted over coordinates when both are given)
location_type  type of place
person_id      victim identifier (pseudonymised)
age, sex,      victim age, sex, ethnicity (16+1 / 18+1 / IC codes or text)
ethnicity
offender_id,   suspect identifier (pseudonymised), age and sex
offender_age,
offender_sex
knife,         knife or sharp instrument / firearm / domestic-abuse flags (Y/N; blank =
firearm,       unknown, never "no")
domestic
============== ============================================================================

Dates keep the precision actually known (``date_precision``):

- ``minute`` when the start time is known and the window (if any) is at most
  :data:`MAX_WINDOW_FOR_TIME` (6 hours): the start of the window is the time;
- ``day`` when the time is unknown, or the window is longer but within one calendar day;
- ``month`` when the window spans days (the start month is used, and ``date`` is the 1st of
  that month) or only a month is given.

Rows are set aside (quarantine, with file and line) when the date is blank (``no_date``) or
unreadable (``bad_date``), an age is impossible (``bad_age``), the offence code is not in the
offence-code table (``unknown_category``: add it with ``definition.offence_codes``), or the
row has no location / is outside the area (``no_location`` / ``out_of_area``).

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "crimes.csv").write_text(
...     "Crime Ref,HO Code,Committed From Date,Committed From Time,Victim Age,Knife Flag\\n"
...     "NT/1,8N,13/06/2020,23:15,19,Y\\n"
...     "NT/2,105A,14/06/2020,,250,N\\n")
>>> df = read_police_extract(d / "crimes.csv", key=b"demo key, not a secret")
>>> df[["category", "date_precision", "age", "knife", "set_aside"]].values.tolist()
[['Violence against the person', 'minute', 19, True, <NA>], ['Violence against the person', 'day', <NA>, False, 'bad_age']]
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from .partner import combine_date_time, fill_records, finish_partner, month_start, read_partner

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from ..clean import CleanedSource
    from ..config import Config, DefinitionConfig, SourceConfig

__all__ = [
    "MAX_WINDOW_FOR_TIME",
    "read_police_extract",
    "offence_dates",
    "clean_police_extract",
    "detect_police_extract",
]

logger = logging.getLogger("sna")

#: Longest offence window ("committed from" -> "to") for which the start time is kept.
MAX_WINDOW_FOR_TIME = pd.Timedelta(hours=6)


def offence_dates(
    start: pd.Series,
    start_precision: pd.Series,
    end: "pd.Series | None" = None,
    end_precision: "pd.Series | None" = None,
    *,
    max_window: pd.Timedelta = MAX_WINDOW_FOR_TIME,
) -> tuple[pd.Series, pd.Series]:
    """The date of an offence from its window, with the precision actually known.

    Parameters
    ----------
    start, start_precision
        "Committed from" (datetime64) and its precision (``minute`` / ``day`` / ``month``).
    end, end_precision
        "Committed to" and its precision; missing, or earlier than the start, means no window.
    max_window
        Longest window for which the start time is kept (default 6 hours).

    Returns
    -------
    (date, precision)
        ``date`` is the start (``minute``), its day (``day``) or the 1st of its month
        (``month``).

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.Series(pd.to_datetime(["2020-06-13 23:15", "2020-06-13 08:00", "2020-06-12 22:00",
    ...                               "2020-06-13 00:00"]))
    >>> sp = pd.Series(["minute", "minute", "minute", "day"], dtype="string")
    >>> e = pd.Series(pd.to_datetime(["2020-06-14 01:00", "2020-06-13 18:00", "2020-06-15 09:00", None]))
    >>> ep = pd.Series(["minute", "minute", "minute", None], dtype="string")
    >>> d, p = offence_dates(s, sp, e, ep)
    >>> [str(x) for x in d], p.tolist()
    (['2020-06-13 23:15:00', '2020-06-13 00:00:00', '2020-06-01 00:00:00', '2020-06-13 00:00:00'], ['minute', 'day', 'month', 'day'])
    """
    prec = start_precision.astype("string").copy()
    if end is not None:
        ep = end_precision.astype("string") if end_precision is not None else pd.Series(
            "day", index=end.index, dtype="string")
        window = end.notna() & start.notna() & (end >= start)
        both_times = (prec == "minute").fillna(False) & (ep == "minute").fillna(False)
        short = window & both_times & ((end - start) <= max_window)
        same_day = window & (end.dt.normalize() == start.dt.normalize())
        wide = window & ~short & ~same_day
        # a window within one day but longer than max_window (or without both times): the day
        prec[(window & ~short & same_day & (prec == "minute")).fillna(False)] = "day"
        prec[(wide & prec.isin(["minute", "day"])).fillna(False)] = "month"
    date = start.copy()
    day = (prec == "day").fillna(False)
    month = (prec == "month").fillna(False)
    date[day] = start[day].dt.normalize()
    date[month] = month_start(start[month])
    return date, prec


def read_police_extract(
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
    """Read a force crime extract into canonical columns, one row per row read.

    Parameters
    ----------
    path
        CSV / ``.csv.gz`` / ``.xlsx`` file(s), a folder, glob, zip archive or list.
    columns
        Column mapping, canonical name -> the file's column (see the module table); fields
        left out are found by common spellings.
    config
        The loaded config (pseudonymisation key, definition).
    definition
        The local definition (``config.definition`` if None and a config is given).
    key
        A pseudonymisation key overriding the config's.
    source, encoding, sheet
        Source name (messages), CSV encoding, Excel sheet.

    Returns
    -------
    pandas.DataFrame
        ``record_id``, ``person_id``, ``offender_id`` (pseudonyms), ``date``,
        ``date_precision``, ``month``, ``fy``, ``crime_type``, ``offence_code``, ``category``,
        ``subcategory``, ``serious_violence``, ``knife``, ``firearm``, ``domestic``, ``lsoa``,
        ``x``, ``y`` (EPSG:27700), ``location_type``, ``age``, ``sex``, ``ethnicity``,
        ``offender_age``, ``offender_sex`` (each present when the file has it), ``file``,
        ``line``, ``set_aside`` (reason or ``<NA>``), ``set_aside_detail``, ``record``
        (JSON of a set-aside row). ``attrs["sna"]`` as :func:`sna.io.partner.read_partner`.

    Raises
    ------
    InputFormatError, ConfigError, PrivacyError
        See :func:`sna.io.partner.read_partner`.
    """
    out, raw = _read(path, columns=columns, config=config, definition=definition, key=key,
                     source=source, encoding=encoding, sheet=sheet)
    fill_records(out, raw)
    return out


def _read(path, *, columns, config, definition, key, source, encoding, sheet):
    from ..clean import fy_labels
    from ..definitions import classify_offence_codes, serious_violence_flags

    if definition is None and config is not None:
        definition = config.definition
    df, raw = read_partner(path, "police_extract", columns=columns, config=config, source=source,
                           encoding=encoding, sheet=sheet, key=key, return_raw=True)
    meta = df.attrs["sna"]
    start, sp = combine_date_time(df["date"], df["date_precision"], df.get("time"))
    end = ep = None
    if "date_to" in df:
        end, ep = combine_date_time(df["date_to"], df["date_to_precision"], df.get("time_to"))
        backwards = end.notna() & start.notna() & (end < start)
        if backwards.any():
            meta["notes"].append(f"{int(backwards.sum())} row(s) whose offence window ends before it "
                                 "starts: the end is ignored")
    date, prec = offence_dates(start, sp, end, ep)
    out = df.drop(columns=[c for c in ("time", "date_to", "date_to_precision", "time_to")
                           if c in df]).copy()
    out["date"] = date
    out["date_precision"] = prec
    out["month"] = month_start(date)
    out["fy"] = fy_labels(out["month"]).astype("string")
    if "offence_code" in out:
        cls = classify_offence_codes(out["offence_code"], definition)
        out["offence_code"] = cls["offence_code"]
        out["category"] = cls["category"]
        out["subcategory"] = cls["subcategory"]
        desc = out["crime_type"] if "crime_type" in out else pd.Series(pd.NA, index=out.index, dtype="string")
        out["crime_type"] = desc.fillna(cls["description"]).astype("string")
        unknown = ~cls["known"] & out["set_aside"].isna()
        if unknown.any():
            code = out["offence_code"].fillna("")
            detail = np.where(
                code == "",
                "no Home Office offence code",
                "Home Office offence code '" + code + "' (" + out["crime_type"].fillna("no description")
                + ") is not in the offence-code table: add it to definition.offence_codes in sna.yml",
            )
            out.loc[unknown, "set_aside"] = "unknown_category"
            out.loc[unknown, "set_aside_detail"] = pd.Series(detail, index=out.index)[unknown]
        out["serious_violence"] = serious_violence_flags(out, definition)
    out.attrs["sna"] = meta
    return out, raw


def clean_police_extract(
    name: str,
    source: "SourceConfig",
    config: "Config",
    geography: "gpd.GeoDataFrame",
    *,
    progress: Callable[[str], None] | None = None,
) -> "CleanedSource":
    """Read and clean a force crime extract source (``format: police_extract``).

    Parameters
    ----------
    name
        The source's name in the config.
    source
        Its config (``path``, ``columns``, ``encoding``, ``sheet``).
    config
        The whole config (pseudonymisation key, definition).
    geography
        The area's geography.
    progress
        Called with a message before reading.

    Returns
    -------
    CleanedSource
        Canonical incidents (police extract rows) and their quarantine and QualityLog
        entry; set-aside reasons ``no_date``, ``bad_date``, ``bad_age``,
        ``unknown_category``, ``no_location``, ``out_of_area``.
    """
    if progress is not None:
        progress(f"reading {name} (force crime extract)")
    df, raw = _read(config.resolve_many(source.path), columns=source.columns, config=config,
                    definition=config.definition, key=None, source=name, encoding=source.encoding,
                    sheet=source.sheet)
    return finish_partner(name, "police_extract", df, raw, geography, config)


def detect_police_extract(path) -> dict | None:
    """``sna init``: a force crime extract's proposed config (format and column mapping), or None.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "extract.csv"
    >>> _ = p.write_text("Crime Number,Offence Date,HO Code,Easting,Northing,Victim Age\\n")
    >>> detect_police_extract(p)["columns"]["offence_code"]
    'HO Code'
    """
    from .partner import detect_source

    return detect_source(path, "police_extract")
