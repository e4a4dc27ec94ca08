"""Reading a partner source into canonical, parsed columns, one row per row read
(:func:`read_partner`): read, map, pseudonymise identifiers at once, parse, place coordinates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ..._log import logger
from ...errors import InputFormatError
from .fields import FREE_TEXT, fields_of, resolve_mapping
from .tables import TABLE_PATTERNS, apply_mapping, read_table
from .values import (
    DATE_ORDERS,
    AmbiguousDates,
    as_text,
    is_na_token,
    parse_age,
    parse_code,
    parse_dates,
    parse_ethnicity,
    parse_flag,
    parse_float,
    parse_lsoa,
    parse_sex,
    parse_times,
)

__all__ = [
    "read_partner",
    "fill_records",
]


# --------------------------------------------------------------------------------------------
# the shared reader engine of the partner formats
# --------------------------------------------------------------------------------------------
_ID_KINDS = ("id",)

class _SetAside:
    """Collects the first reason each row is set aside for, with a detail."""

    def __init__(self, index: pd.Index) -> None:
        self.reason = pd.Series(pd.NA, index=index, dtype="string")
        self.detail = pd.Series(pd.NA, index=index, dtype="string")

    def add(self, mask: pd.Series, reason: str, detail: "pd.Series | str") -> None:
        new = mask.fillna(False).astype(bool) & self.reason.isna()
        if not new.any():
            return
        self.reason[new] = reason
        self.detail[new] = detail[new] if isinstance(detail, pd.Series) else detail

def _example(mask: pd.Series, values: pd.Series, df: pd.DataFrame) -> str:
    from ...privacy import redact_nhs_numbers

    i = mask[mask].index[0]
    return redact_nhs_numbers(f"e.g. {values[i]!r} at {df.at[i, 'file']} line {int(df.at[i, 'line'])}")

def _note(notes: list[str], mask: pd.Series, raw: pd.Series, df: pd.DataFrame, col: str, what: str) -> None:
    n = int(mask.sum())
    if n:
        notes.append(f"{n} value(s) of column {col!r} {what}, kept as unknown ({_example(mask, raw, df)})")

def _bng_from_lonlat(lon: pd.Series, lat: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = tr.transform(lon.to_numpy(dtype=float), lat.to_numpy(dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

def read_partner(
    path,
    format: str,
    *,
    columns: dict[str, str] | None = None,
    config=None,
    source: str | None = None,
    encoding: str = "utf-8",
    sheet: str | int | None = None,
    key: bytes | str | None = None,
    prefix: str | None = None,
    max_age: int = 120,
    return_raw: bool = False,
    exclude: "Iterable[object]" = (),
    date_format: str | None = None,
) -> "pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]":
    """Read partner tables of one format into canonical, parsed columns (one row per row read).

    The steps, in order: expand ``path`` (file, folder, glob, zip, list); read each table
    (:func:`read_table`); map its columns (:func:`resolve_mapping`; files may differ in their
    headers); **pseudonymise identifiers at once** (:mod:`sna.privacy`); parse each field by
    its kind. Rows are never dropped: a row that cannot be used gets a ``set_aside`` reason
    (``no_date``, ``bad_date``, ``bad_age``) and a ``set_aside_detail`` naming the column and
    value, and the cleaning moves it to the quarantine. Values that are merely unreadable in
    an optional column become unknown (``<NA>``) and are counted in ``attrs["sna"]["notes"]``.

    Parameters
    ----------
    path
        File(s): CSV, ``.csv.gz`` or ``.xlsx``; a folder, glob, zip archive or list.
    format
        ``police_extract``, ``ambulance``, ``ecds``, ``interventions`` (participants) or
        ``interventions_table``.
    columns
        The column mapping (``sources.<name>.columns``).
    config
        The loaded config: where the pseudonymisation key comes from (``privacy``).
    source
        The source name, for messages.
    encoding, sheet
        Text encoding of CSVs; Excel sheet.
    key
        The pseudonymisation key, overriding the config (tests, notebooks).
    prefix
        Table prefix of mapping keys (``participants`` / ``interventions``).
    max_age
        Largest possible age (older is ``bad_age``).
    exclude
        Files not to read (e.g. the interventions table inside a folder of participant files).
    date_format
        How the source writes numeric dates (``dayfirst``, ``monthfirst``, ``iso`` or a
        strptime pattern); by default the source's ``date_format`` in the config, else inferred
        for each date column from all its values (:func:`~sna.io.partner.parse_dates`).
    return_raw
        Also return the mapped values as read (identifiers pseudonymised), from which
        :func:`fill_records` writes the quarantine records of rows set aside later.

    Returns
    -------
    pandas.DataFrame
        One column per canonical field found (ids as pseudonyms, dates ``datetime64[ns]``
        plus ``<date>_precision``, times ``timedelta64[ns]``, ages ``Int64``, flags
        ``boolean``, text ``string``, x/y ``float64`` in EPSG:27700 (from longitude/latitude
        when the file has no easting/northing)), plus ``file``, ``line``, ``set_aside``,
        ``set_aside_detail`` and ``record`` (for set-aside rows: the mapped row as JSON with
        the file's column names, identifiers pseudonymised). ``attrs["sna"]`` holds
        ``rows_read``, ``files`` (per file: rows and the mapping used) and ``notes``.

    Raises
    ------
    InputFormatError
        Unreadable file, missing mapped or required column (the header is listed).
    ConfigError
        Unknown canonical name in ``columns``.
    PrivacyError
        The files hold identifiers and no pseudonymisation key is configured.
    InputFormatError
        A date column whose order of day and month cannot be told (every value reads both
        ways) or that mixes both: naming the files and the column, and the ``date_format`` key.
    """
    fields = {f.name: f for f in fields_of(format)}
    if date_format is None and config is not None and source in getattr(config, "sources", {}):
        date_format = getattr(config.sources[source], "date_format", None)
    df, files, file_info, colname = _read_mapped(path, format, columns, source, encoding, sheet,
                                                 prefix, exclude)
    # 1. identifiers: pseudonymised before anything else happens to the rows, those found
    #    outside the identifier columns (a shifted file) too
    strays = _scrub_identifiers(df, fields, colname, key, config)
    present = _pseudonymise(df, fields, colname, key, config, source, files)
    raw_text = df.copy()  # mapped values as read (ids already pseudonymised)
    out, sa, notes, read_as = _parse_fields(df, fields, colname, max_age, date_format=date_format,
                                            source=source or format)
    _strays_unknown(out, strays, fields, colname, df, notes)
    # 2. coordinates: zero means unknown; lon/lat -> British National Grid; out of range -> unknown
    if "x" in out or "longitude" in out:
        _coordinates(out, df, notes)
    out["file"] = df["file"].astype("string")
    out["line"] = df["line"].astype("Int64")
    out["set_aside"] = sa.reason
    out["set_aside_detail"] = sa.detail
    out["record"] = pd.Series(pd.NA, index=df.index, dtype="string")
    raw_text.attrs = {"colname": colname}
    fill_records(out, raw_text)
    for note in notes:
        logger.warning("%s: %s", source or format, note)
    for note in read_as:  # how the dates were read: in the QualityLog, not a warning
        logger.info("%s: %s", source or format, note)
    notes = [*read_as, *notes]
    out.attrs["sna"] = {
        "format": format,
        "rows_read": int(len(out)),
        "files": file_info,
        "notes": notes,
        "identifiers_pseudonymised": [colname[k] for k in present],
        "identifiers_found_elsewhere": {colname.get(k, k): int(m.sum()) for k, m in strays.items()},
    }
    if return_raw:
        return out, raw_text
    return out

def _read_mapped(path, format, columns, source, encoding, sheet, prefix, exclude):
    """Every table of ``path`` read and mapped to canonical names, concatenated; with the files,
    each file's rows and mapping, and the file column name of each canonical field."""
    from .._files import expand_paths

    files = expand_paths(path, patterns=TABLE_PATTERNS, what=f"{format} data")
    skip = {str(Path(e).resolve()) for e in exclude}
    if skip:
        files = [f for f in files if f.member is not None or str(f.path.resolve()) not in skip]
        if not files:
            raise InputFormatError(f"no {format} files left to read", file=str(path))
    frames, file_info = [], []
    for f in files:
        raw = read_table(f, encoding=encoding, sheet=sheet)
        header = [c for c in raw.columns if c not in ("file", "line")]
        mapping = resolve_mapping(header, format, columns, file=f.name, source=source, prefix=prefix)
        m = apply_mapping(raw, mapping)
        m.attrs["mapping"] = mapping
        logger.info("%s: %d rows read as %s, columns %s", f.name, len(m), format,
                    ", ".join(f"{k}={v!r}" for k, v in mapping.items()))
        frames.append(m)
        file_info.append({"file": f.name, "rows": len(m), "mapping": mapping})
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
    # the file column names of each canonical field (for messages and the quarantine record)
    colname: dict[str, str] = {}
    for info in file_info:
        for k, v in info["mapping"].items():
            colname.setdefault(k, v)
    return df, files, file_info, colname

def _pseudonymise(df, fields, colname, key, config, source, files) -> list[str]:
    """Replace the identifiers of ``df`` by their pseudonyms, in place; the fields replaced."""
    from ...privacy import Pseudonymiser, pseudonymiser

    id_fields = [k for k, fld in fields.items() if fld.kind in _ID_KINDS and k in df]
    present = [k for k in id_fields if df[k].notna().any()]
    if present:
        if key is not None:
            pseudo = Pseudonymiser(key)
        else:
            pseudo = pseudonymiser(config, source=source, columns=[colname[k] for k in present],
                                   file=files[0].name if len(files) == 1 else None)
        for k in present:
            df[k] = pseudo(df[k])
    return present

def _scrub_identifiers(df, fields, colname, key, config) -> dict[str, pd.Series]:
    """Values that look like identifiers in the other columns (NHS numbers, values shaped like
    the identifier columns' own) replaced by ``[id <pseudonym>]``, in place, before anything
    reads them; the mask of the values replaced, by field."""
    from ...privacy import IdentifierScan, Pseudonymiser, load_key

    id_fields = [k for k, fld in fields.items() if fld.kind in _ID_KINDS and k in df]
    scan = IdentifierScan([df[k] for k in id_fields])
    found: dict[str, pd.Series] = {}
    pseudo: "Pseudonymiser | None | bool" = False  # looked up when first needed
    for k in df.columns:
        if k in id_fields or k in ("file", "line") or k not in fields:
            continue
        mask = scan(df[k])
        if not mask.any():
            continue
        if pseudo is False:
            secret = key if key is not None else load_key(config)
            pseudo = Pseudonymiser(secret) if secret is not None else None
        df[k], found[k] = scan.scrub(df[k], pseudo, found=mask)
    return found

def _strays_unknown(out, strays, fields, colname, df, notes) -> None:
    """Identifiers found outside their columns: unknown in the parsed text columns (never a
    category or a name in a table), and one note saying where (no value shown)."""
    if not strays:
        return
    for k, mask in strays.items():
        if k in out and fields[k].kind in ("text", "code"):
            out.loc[mask, k] = pd.NA
    n = int(sum(int(m.sum()) for m in strays.values()))
    rows = pd.concat(list(strays.values()), axis=1).any(axis=1)
    i = rows[rows].index[0]
    cols = ", ".join(repr(colname.get(k, k)) for k in strays)
    notes.append(f"{n} value(s) that look like identifiers (NHS numbers, or IDs like the file's "
                 f"identifier columns) found in column(s) {cols}, in {int(rows.sum())} row(s): "
                 "pseudonymised at read time, never shown; the file's columns may be shifted "
                 f"(first at {df.at[i, 'file']} line {int(df.at[i, 'line'])})")

#: Kinds whose unreadable values are kept as unknown, with a note: kind -> (parser, the note).
_LENIENT = {
    "flag": (parse_flag, "not read as yes/no"),
    "sex": (parse_sex, "not read as a sex (Male / Female / Other)"),
    "ethnicity": (parse_ethnicity, "not read as an ethnic group"),
    "lsoa": (parse_lsoa, "not LSOA codes (E01... / W01...)"),
}


def _dates_by_column(v, df, col, k, date_format, source):
    """A date column parsed as a whole (:func:`parse_dates`), with notes saying how it was
    read; an ambiguous or mixed column is an :class:`InputFormatError` naming its files."""
    try:
        d, p, bad = parse_dates(v, date_format=date_format)
    except AmbiguousDates as exc:
        files = ", ".join(str(f) for f in pd.unique(df["file"].astype(str)))
        raise InputFormatError(
            f"column {col!r} ({k}): {exc}; say how this source writes its dates with "
            f"'date_format: dayfirst' (dd/mm/yyyy), 'date_format: monthfirst' (mm/dd/yyyy) or a "
            f"pattern such as '%m/%d/%Y %H:%M' under sources.{source} in sna.yml",
            file=files,
        ) from None
    notes = []
    order = d.attrs.get("date_order")
    if order:
        how = "as configured (date_format)" if date_format in DATE_ORDERS else "from all its values"
        notes.append(f"column {col!r} ({k}): numeric dates read {DATE_ORDERS[order].split(' (')[0]} "
                     f"({'dd/mm/yyyy' if order == 'dayfirst' else 'mm/dd/yyyy'}), decided {how}")
    elif date_format and date_format not in DATE_ORDERS:
        notes.append(f"column {col!r} ({k}): dates read with the configured pattern {date_format!r}")
    n, eg = d.attrs.get("serials", (0, None))
    if n:
        notes.append(f"{n} value(s) of column {col!r} ({k}) were Excel serial day numbers, converted "
                     f"(e.g. {eg[0]!r} -> {eg[1][:16]})")
    return d, p, bad, notes


def _parse_fields(df, fields, colname, max_age, *, date_format=None, source=""):
    """Each canonical field parsed by its kind: (the parsed columns, the rows set aside, notes
    on values kept as unknown and on how dates were read)."""
    out = pd.DataFrame(index=df.index)
    sa = _SetAside(df.index)
    notes: list[str] = []
    read_as: list[str] = []
    for k, fld in fields.items():
        if k not in df:
            continue
        v = df[k]
        col = colname.get(k, k)
        label = f"column {col!r} ({k})"
        if fld.kind == "id":
            out[k] = v.astype("string")
        elif fld.kind == "date":
            d, p, bad, date_notes = _dates_by_column(v, df, col, k, date_format, source)
            read_as.extend(date_notes)
            if fld.required:
                sa.add(v.isna() | is_na_token(as_text(v)), "no_date", f"{label} is blank")
                sa.add(bad, "bad_date", label + ": " + as_text(v).fillna("").map(repr) +
                       " is not a date (write dd/mm/yyyy [hh:mm] or yyyy-mm-dd [hh:mm])")
            else:
                _note(notes, bad, v, df, col, "not read as a date")
            out[k] = d
            out[f"{k}_precision"] = p
        elif fld.kind == "time":
            t, bad = parse_times(v)
            _note(notes, bad, v, df, col, "not read as a time of day")
            out[k] = t
        elif fld.kind == "age":
            a, bad = parse_age(v, max_age=max_age)
            sa.add(bad, "bad_age", label + ": " + as_text(v).fillna("").map(repr) +
                   f" is not a possible age (a whole number of years, 0-{max_age})")
            out[k] = a
        elif fld.kind in ("float", "money"):
            x, bad = parse_float(v)
            _note(notes, bad, v, df, col, "not read as a number")
            out[k] = x.astype("float64") if k in ("x", "y", "longitude", "latitude") else x
        elif fld.kind in _LENIENT:
            parse, what = _LENIENT[fld.kind]
            x, bad = parse(v)
            _note(notes, bad, v, df, col, what)
            out[k] = x
        elif fld.kind == "code":
            out[k] = parse_code(v)
        else:  # text
            out[k] = as_text(v).astype("string")
    return out, sa, notes, read_as

def _coordinates(out, df, notes) -> None:
    """``x``, ``y`` in British National Grid, in place: zero is unknown, longitude / latitude
    converted where there is no easting / northing, out-of-range or half pairs unknown."""
    x = out["x"] if "x" in out else pd.Series(np.nan, index=out.index)
    y = out["y"] if "y" in out else pd.Series(np.nan, index=out.index)
    x = x.astype("float64").where(lambda s: s != 0)
    y = y.astype("float64").where(lambda s: s != 0)
    if "longitude" in out and "latitude" in out:
        lon = out.pop("longitude").astype("float64")
        lat = out.pop("latitude").astype("float64")
        use = x.isna() & lon.notna() & lat.notna() & (lon != 0) & (lat != 0)
        if use.any():
            bx, by = _bng_from_lonlat(lon[use], lat[use])
            x[use], y[use] = bx, by
    bad = (x.notna() & ~x.between(0, 700_000)) | (y.notna() & ~y.between(0, 1_300_000))
    bad = bad | (x.isna() != y.isna())
    if bad.any():
        notes.append(f"{int(bad.sum())} row(s) with coordinates outside Great Britain or only one "
                     f"of the two, kept without coordinates ({_example(bad, x, df)})")
    out["x"] = x.where(~bad)
    out["y"] = y.where(~bad)

def fill_records(out: pd.DataFrame, raw: pd.DataFrame) -> None:
    """Write ``record`` (JSON of the row as read) for set-aside rows that have none yet.

    Parameters
    ----------
    out
        A partner frame with ``set_aside`` and ``record`` (modified in place).
    raw
        The mapped values as read, aligned with ``out`` (from ``read_partner(...,
        return_raw=True)``); identifiers already pseudonymised. The record uses the file's
        own column names; free-text fields (:data:`FREE_TEXT`, which may name people) are
        left out.
    """
    import json

    need = out["set_aside"].notna() & out["record"].isna()
    if not need.any():
        return
    colname = raw.attrs.get("colname", {})
    cols = [c for c in raw.columns if c not in ("file", "line") and c not in FREE_TEXT]
    rec = raw.loc[need, cols].astype(object)
    rec = rec.where(rec.notna(), None)
    rec.columns = [colname.get(c, c) for c in cols]
    out.loc[need, "record"] = [json.dumps(r, default=str, ensure_ascii=False) for r in rec.to_dict("records")]
