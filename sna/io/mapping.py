"""Column mapping for partner data: each force and trust names its columns differently.

A partner source is described in ``sna.yml`` by its ``format`` and, optionally, a column
mapping from the **canonical field names** below to the names used in the source's files::

    sources:
      police:
        format: police_extract
        path: police/crimes_2016-2022.csv.gz
        columns:
          record_id: CrimeRef          # canonical name: the file's column
          age: "Victim Age (years)"

Fields left out of the mapping are found by their common header spellings (see
:data:`FIELDS`): headers are compared ignoring case, spaces and punctuation, so ``VICTIM_AGE``,
``Victim Age`` and ``victim-age`` all match ``age`` for a police extract. A field named in the
mapping must exist in the file (:class:`~sna.errors.InputFormatError` lists the header
otherwise); an unknown canonical name in the mapping is a :class:`~sna.errors.ConfigError`
suggesting the nearest one. :func:`propose_mapping` proposes a mapping from a header (used by
``sna init``).

This module also reads the tables themselves (:func:`read_table`): CSV, gzipped CSV
(``.csv.gz``) or Excel (``.xlsx``), every value kept as text (Excel dates and numbers as the
cell's value), each row with its ``file`` and ``line`` (1 = the header).

Examples
--------
>>> propose_mapping(["Crime Ref", "HO Code", "Committed From Date", "Victim Age", "Notes"],
...                 "police_extract")
{'record_id': 'Crime Ref', 'date': 'Committed From Date', 'offence_code': 'HO Code', 'age': 'Victim Age'}
"""

from __future__ import annotations

import codecs
import csv
import difflib
import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np
import pandas as pd

from .._log import logger
from ..errors import ConfigError, InputFormatError
from ._files import InputFile

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from ..clean import CleanedSource
    from ..config import Config

__all__ = [
    "finish_partner",
    "PARTNER_REASONS",
    "Field",
    "FIELDS",
    "PARTNER_FORMATS",
    "TABLE_PATTERNS",
    "normalise_header",
    "propose_mapping",
    "detect_format",
    "resolve_mapping",
    "read_table",
    "apply_mapping",
    "read_partner",
    "fill_records",
    "FREE_TEXT",
    "detect_source",
    "header_of",
    "parse_flag",
    "parse_sex",
    "parse_ethnicity",
    "parse_age",
    "parse_float",
    "parse_lsoa",
    "parse_dates",
    "parse_times",
    "parse_code",
    "combine_date_time",
    "month_start",
    "ETHNIC_GROUPS",
    "NA_TOKENS",
]

#: Free-text fields: read, but never written to the quarantine (they may name people).
FREE_TEXT = frozenset({"location_description"})

#: File-name patterns read from a folder for partner sources.
TABLE_PATTERNS = ("*.csv", "*.csv.gz", "*.xlsx", "*.txt", "*.tsv")


@dataclass(frozen=True)
class Field:
    """A canonical input field of a partner format.

    Attributes
    ----------
    name
        Canonical name (the key in ``sources.<name>.columns``).
    kind
        How values are parsed: ``id`` (pseudonymised), ``date``, ``time``, ``text``, ``code``,
        ``int``, ``float``, ``flag``, ``sex``, ``ethnicity``, ``lsoa``, ``age``.
    required
        Whether the file must have it.
    aliases
        Common header spellings (matched ignoring case, spaces and punctuation).
    description
        What it holds.
    """

    name: str
    kind: str
    required: bool
    aliases: tuple[str, ...]
    description: str


def _f(name, kind, required, aliases, description) -> Field:
    return Field(name, kind, required, tuple(aliases), description)


_LOCATION = [
    _f("x", "float", False, ["Easting", "X", "X Coordinate", "XCoord", "Grid Easting", "Location Easting",
                             "Incident Easting", "Map X", "OS Easting"],
       "easting, British National Grid (EPSG:27700)"),
    _f("y", "float", False, ["Northing", "Y", "Y Coordinate", "YCoord", "Grid Northing",
                             "Location Northing", "Incident Northing", "Map Y", "OS Northing"],
       "northing, British National Grid (EPSG:27700)"),
    _f("longitude", "float", False, ["Longitude", "Long", "Lon", "Lng", "Incident Longitude"],
       "longitude, WGS84"),
    _f("latitude", "float", False, ["Latitude", "Lat", "Incident Latitude"], "latitude, WGS84"),
]

#: Canonical fields of each partner format (``interventions_table`` is the second table of the
#: ``interventions`` format, configured as ``sources.<name>.interventions_table``).
FIELDS: dict[str, tuple[Field, ...]] = {
    "police_extract": (
        _f("record_id", "id", True,
           ["Crime Reference", "Crime Ref", "Crime Reference Number", "Crime Number", "Crime No",
            "CRN", "Crime ID", "Occurrence Reference", "Occurrence Number", "Crime URN", "URN",
            "Reference"], "crime reference (pseudonymised at read time)"),
        _f("date", "date", True,
           ["Committed From Date", "Committed From", "Offence From Date", "Offence From",
            "Date From", "From Date", "Occurred From", "Occurred From Date", "First Committed Date",
            "Committed Date", "Offence Date", "Date Committed", "Start Date", "Incident Date"],
           "start of the offence window (date, or date and time)"),
        _f("time", "time", False,
           ["Committed From Time", "Offence From Time", "Time From", "From Time", "Occurred From Time",
            "First Committed Time", "Committed Time", "Offence Time", "Start Time"],
           "time of the start of the window, where a separate column"),
        _f("date_to", "date", False,
           ["Committed To Date", "Committed To", "Offence To Date", "Offence To", "Date To", "To Date",
            "Occurred To", "Occurred To Date", "Last Committed Date", "End Date"],
           "end of the offence window"),
        _f("time_to", "time", False,
           ["Committed To Time", "Offence To Time", "Time To", "To Time", "Occurred To Time",
            "Last Committed Time", "End Time"], "time of the end of the window"),
        _f("recorded_date", "date", False,
           ["Recorded Date", "Date Recorded", "Crime Recorded Date", "Reported Date", "Date Reported"],
           "date the crime was recorded"),
        _f("offence_code", "code", True,
           ["HO Code", "HO Offence Code", "Home Office Code", "Home Office Offence Code", "HOCR Code",
            "HO Class Code", "HO Classification", "Offence Code", "Classification Code"],
           "Home Office offence code (e.g. 8N, 105A, 34B)"),
        _f("crime_type", "text", False,
           ["HO Description", "HO Offence Description", "Home Office Description", "Offence Description",
            "Offence", "Offence Type", "Offence Name", "Crime Type", "Classification Description"],
           "offence description"),
        _f("lsoa", "lsoa", False,
           ["LSOA", "LSOA Code", "LSOA11CD", "LSOA21CD", "LSOA11", "LSOA21", "LSOA 2011",
            "Lower Super Output Area", "Offence LSOA", "Location LSOA"], "LSOA of the offence location"),
        *_LOCATION,
        _f("location_type", "text", False,
           ["Location Type", "Premises Type", "Location Category", "Place Type", "Location Class"],
           "type of place"),
        _f("person_id", "id", False,
           ["Victim ID", "Victim URN", "Victim Person ID", "Victim Nominal", "Victim Nominal ID",
            "Victim Ref", "Injured Party ID", "IP ID"], "victim identifier (pseudonymised)"),
        _f("age", "age", False,
           ["Victim Age", "Age of Victim", "Victim Age at Offence", "Victim Age Years", "IP Age", "Age"],
           "victim age in years"),
        _f("sex", "sex", False,
           ["Victim Sex", "Victim Gender", "Sex of Victim", "Gender of Victim", "IP Gender", "IP Sex",
            "Sex", "Gender"], "victim sex"),
        _f("ethnicity", "ethnicity", False,
           ["Victim Ethnicity", "Victim Ethnic Group", "Victim Self Defined Ethnicity",
            "Victim Ethnic Appearance", "Victim Ethnicity Code", "Ethnicity", "Ethnic Group"],
           "victim ethnicity (16+1, self-defined codes, IC codes or text)"),
        _f("offender_id", "id", False,
           ["Suspect ID", "Suspect URN", "Offender ID", "Offender URN", "Suspect Nominal",
            "Suspect Nominal ID", "Suspect Person ID"], "suspect identifier (pseudonymised)"),
        _f("offender_age", "age", False,
           ["Suspect Age", "Offender Age", "Age of Suspect", "Age of Offender", "Suspect Age at Offence"],
           "suspect age"),
        _f("offender_sex", "sex", False,
           ["Suspect Sex", "Suspect Gender", "Offender Sex", "Offender Gender", "Sex of Suspect",
            "Gender of Suspect"], "suspect sex"),
        _f("knife", "flag", False,
           ["Knife Flag", "Knife", "Knife Crime", "Knife Enabled", "Knife or Sharp Instrument",
            "Knife Sharp Instrument", "Knife/Sharp Instrument Flag", "Knife Or Sharp Instrument Flag",
            "Bladed Article", "Sharp Instrument"], "knife or sharp instrument used or threatened"),
        _f("firearm", "flag", False,
           ["Firearm Flag", "Firearm", "Firearms", "Firearm Involved", "Gun Crime", "Gun Flag"],
           "firearm involved"),
        _f("domestic", "flag", False,
           ["Domestic Abuse Flag", "Domestic Abuse", "DA Flag", "Domestic", "Domestic Flag",
            "Domestic Violence", "DV Flag", "Domestic Abuse Marker", "DA"], "domestic-abuse related"),
    ),
    "ambulance": (
        _f("record_id", "id", False,
           ["Incident Number", "Incident No", "Incident ID", "Incident Ref", "Incident Reference",
            "CAD Number", "CAD Incident Number", "CAD Ref", "Call ID", "Call Number", "Job Number",
            "Job ID"], "incident / call number (pseudonymised)"),
        _f("date", "date", True,
           ["Incident Date", "Incident Date Time", "Incident Datetime", "Call Date", "Call Date Time",
            "Call Datetime", "Date Time Of Call", "Call Received", "Date Of Call", "Date"],
           "incident or call date (and time)"),
        _f("time", "time", False,
           ["Incident Time", "Call Time", "Time Of Call", "Call Received Time", "Time"],
           "incident / call time, where a separate column"),
        _f("call_category", "text", True,
           ["Call Category", "Chief Complaint", "MPDS Chief Complaint", "Call Type", "Nature Of Call",
            "Incident Type", "Category", "Complaint", "Protocol"],
           "call category: assault / sexual assault; stab / gunshot / penetrating trauma"),
        _f("lsoa", "lsoa", False,
           ["LSOA", "LSOA Code", "LSOA11CD", "LSOA21CD", "Incident LSOA", "LSOA11", "Lower Super Output Area"],
           "LSOA of the incident"),
        *_LOCATION,
        _f("location_type", "text", False, ["Location Type", "Premises Type", "Incident Location Type"],
           "type of place"),
        _f("person_id", "id", False,
           ["NHS Number", "Patient NHS Number", "Patient ID", "Patient Number", "ePR ID"],
           "patient identifier (pseudonymised)"),
        _f("age", "age", False, ["Patient Age", "Age", "Age Years", "Patient Age Years"], "patient age"),
        _f("age_band", "text", False, ["Age Band", "Patient Age Band", "Age Group", "Age Range"],
           "patient age band where the age is not given (kept as text)"),
        _f("sex", "sex", False, ["Patient Sex", "Patient Gender", "Sex", "Gender"], "patient sex"),
        _f("ethnicity", "ethnicity", False, ["Patient Ethnicity", "Ethnicity", "Ethnic Group"],
           "patient ethnicity"),
    ),
    "ecds": (
        _f("record_id", "id", False,
           ["Attendance ID", "Attendance Identifier", "Attendance Number", "Attendance Ref",
            "ED Attendance ID", "Episode ID", "Attendance Unique ID", "Record ID"],
           "attendance identifier (pseudonymised)"),
        _f("person_id", "id", False,
           ["NHS Number", "Patient NHS Number", "NHS No", "Patient ID", "Local Patient ID",
            "Local Patient Identifier", "Hospital Number", "MRN"], "patient identifier (pseudonymised)"),
        _f("date", "date", True,
           ["Arrival Date", "Arrival Date Time", "Arrival Datetime", "Arrival", "Attendance Date",
            "Attendance Date Time", "ED Arrival Date"], "arrival date (and time)"),
        _f("time", "time", False, ["Arrival Time", "Attendance Time", "ED Arrival Time"],
           "arrival time, where a separate column"),
        _f("assault_date", "date", False,
           ["Assault Date", "Date Of Assault", "Assault Date Time", "Incident Date", "Injury Date",
            "Date Of Injury"], "assault date (and time)"),
        _f("assault_time", "time", False,
           ["Assault Time", "Time Of Assault", "Incident Time", "Injury Time", "Time Of Injury"],
           "assault time, where a separate column"),
        _f("weapon", "text", False,
           ["Assault Method", "Method Of Assault", "Weapon", "Weapon Used", "Weapon Or Body Part",
            "Injury Mechanism", "Mechanism Of Injury", "Method"],
           "assault method: weapon or body part (knife / sharp object recognised)"),
        _f("location_type", "text", False,
           ["Assault Location Type", "Assault Location", "Location Type", "Place Of Assault",
            "Place Of Incident", "Incident Location Type"], "assault location type"),
        _f("location_description", "text", False,
           ["Assault Location Description", "Location Description", "Location Details",
            "Location Free Text", "Assault Location Detail", "Venue"], "free-text location"),
        _f("lsoa", "lsoa", False,
           ["Incident LSOA", "Assault LSOA", "Location LSOA", "Injury LSOA", "Assault Location LSOA"],
           "LSOA of the assault, where known"),
        _f("home_lsoa", "lsoa", False,
           ["Home LSOA", "Patient LSOA", "Residence LSOA", "LSOA Of Residence", "Patient Home LSOA",
            "LSOA", "LSOA Code", "LSOA11CD"], "patient's home LSOA"),
        *_LOCATION,
        _f("age", "age", False, ["Patient Age", "Age", "Age At Arrival", "Age At Attendance", "Age Years"],
           "patient age"),
        _f("sex", "sex", False, ["Patient Sex", "Patient Gender", "Sex", "Gender", "Stated Gender"],
           "patient sex"),
        _f("ethnicity", "ethnicity", False,
           ["Patient Ethnicity", "Ethnic Category", "Ethnicity", "Ethnic Group", "Ethnic Category Code"],
           "patient ethnicity (NHS 16+1 code or text)"),
        _f("site", "text", False,
           ["Site Code", "Site", "ED Site", "Site Code Of Treatment", "Provider Site Code",
            "Organisation Site Code", "Hospital Site", "Treatment Site"], "ED site code"),
    ),
    "interventions": (
        _f("person_id", "id", True,
           ["Participant ID", "Participant Reference", "Young Person ID", "YP ID", "Client ID",
            "Client Reference", "Case ID", "Case Number", "Person ID", "Unique ID", "Service User ID"],
           "participant identifier (pseudonymised)"),
        _f("intervention", "text", True,
           ["Intervention", "Intervention Name", "Programme", "Program", "Project", "Project Name",
            "Service"], "intervention name"),
        _f("provider", "text", False,
           ["Provider", "Provider Name", "Delivery Partner", "Organisation", "Delivered By"], "provider"),
        _f("level", "text", False,
           ["Prevention Level", "Level", "Intervention Level", "Tier", "Prevention Tier"],
           "universal / secondary / tertiary"),
        _f("referral_date", "date", False, ["Referral Date", "Date Of Referral", "Referred"], "referral date"),
        _f("start_date", "date", True,
           ["Start Date", "Date Started", "Intervention Start", "Engagement Start", "Start"], "start date"),
        _f("end_date", "date", False,
           ["End Date", "Date Ended", "Intervention End", "Exit Date", "Closure Date", "End"], "end date"),
        _f("age", "age", False,
           ["Age At Start", "Age At Referral", "Age", "Age On Entry", "Participant Age"], "age at start"),
        _f("sex", "sex", False, ["Sex", "Gender", "Participant Sex", "Participant Gender"], "sex"),
        _f("ethnicity", "ethnicity", False, ["Ethnicity", "Ethnic Group", "Ethnic Background"], "ethnicity"),
        _f("home_lsoa", "lsoa", False,
           ["Home LSOA", "LSOA", "LSOA Code", "Residence LSOA", "Participant LSOA", "LSOA11CD"],
           "home LSOA"),
        _f("outcome_start", "float", False,
           ["Outcome Start", "Outcome Score Start", "Score At Start", "Baseline Score", "Start Score",
            "Wellbeing Start", "WEMWBS Start", "Outcome Measure Start"], "outcome measure at start"),
        _f("outcome_end", "float", False,
           ["Outcome End", "Outcome Score End", "Score At End", "Exit Score", "End Score", "Wellbeing End",
            "WEMWBS End", "Outcome Measure End"], "outcome measure at end"),
        _f("offending_before", "flag", False,
           ["Offending Before", "Offended Before", "Offending Prior", "Prior Offending",
            "Offending In 12 Months Before"], "offended in the period before"),
        _f("offending_after", "flag", False,
           ["Offending After", "Offended After", "Reoffended", "Re Offending", "Reoffending",
            "Offending In 12 Months After"], "offended in the period after"),
    ),
    "interventions_table": (
        _f("intervention", "text", True,
           ["Intervention", "Intervention Name", "Programme", "Program", "Project", "Project Name",
            "Service", "Name"], "intervention name"),
        _f("provider", "text", False,
           ["Provider", "Provider Name", "Delivery Partner", "Organisation", "Delivered By"], "provider"),
        _f("level", "text", False,
           ["Prevention Level", "Level", "Intervention Level", "Tier", "Prevention Tier"],
           "universal / secondary / tertiary"),
        _f("funding_stream", "text", False,
           ["Funding Stream", "Funding", "Fund", "Funder", "Funding Source", "Grant"], "funding stream"),
        _f("cost", "money", False,
           ["Cost", "Cost GBP", "Cost (£)", "Cost £", "Budget", "Amount", "Grant Amount", "Value",
            "Annual Cost", "Allocation"], "cost in GBP for the year"),
        _f("fy", "text", False, ["Financial Year", "FY", "Year", "Funding Year"], "financial year"),
    ),
}

#: The partner formats (keys of :data:`FIELDS` that are a source ``format``).
PARTNER_FORMATS = ("police_extract", "ambulance", "ecds", "interventions")


def normalise_header(name: object) -> str:
    """A header name reduced for matching: lower case, letters and digits only.

    Examples
    --------
    >>> normalise_header(" Victim_Age (years) ")
    'victimageyears'
    >>> normalise_header("Cost (£)")
    'cost'
    """
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _fields(fmt: str) -> tuple[Field, ...]:
    try:
        return FIELDS[fmt]
    except KeyError:
        raise ConfigError(f"no column mapping is defined for format {fmt!r} "
                          f"(partner formats: {', '.join(PARTNER_FORMATS)})") from None


def propose_mapping(header: Sequence[str], format: str) -> dict[str, str]:
    """Propose a column mapping (canonical name -> header column) from a file's header.

    Each canonical field takes the first header column matching one of its aliases (ignoring
    case, spaces and punctuation); aliases are tried in order, so a specific spelling
    ("Victim Age") wins over a generic one ("Age"). A header column is used at most once.

    Parameters
    ----------
    header
        The file's column names.
    format
        ``police_extract``, ``ambulance``, ``ecds``, ``interventions`` or ``interventions_table``.

    Returns
    -------
    dict
        canonical name -> header column, in the order of :data:`FIELDS`; fields not found are
        left out.

    Examples
    --------
    >>> propose_mapping(["Incident No", "Call Date", "Chief Complaint", "LSOA", "Patient Age"],
    ...                 "ambulance")
    {'record_id': 'Incident No', 'date': 'Call Date', 'call_category': 'Chief Complaint', 'lsoa': 'LSOA', 'age': 'Patient Age'}
    """
    by_norm: dict[str, str] = {}
    for col in header:
        by_norm.setdefault(normalise_header(col), col)
    used: set[str] = set()
    fields = _fields(format)
    out: dict[str, str] = {}
    # two passes: exact canonical names first (a file already in canonical names), then aliases
    for fld in fields:
        col = by_norm.get(normalise_header(fld.name))
        if col is not None and col not in used:
            out[fld.name] = col
            used.add(col)
    for fld in fields:
        if fld.name in out:
            continue
        for alias in fld.aliases:
            col = by_norm.get(normalise_header(alias))
            if col is not None and col not in used:
                out[fld.name] = col
                used.add(col)
                break
    order = [f.name for f in fields]
    return {k: out[k] for k in order if k in out}


def detect_format(header: Sequence[str]) -> str | None:
    """Guess which partner format a header belongs to (or ``None``).

    The format whose required fields are all found and which matches the most fields wins.

    Examples
    --------
    >>> detect_format(["Attendance ID", "NHS Number", "Arrival Date", "Assault Method", "Site Code"])
    'ecds'
    >>> detect_format(["Crime ID", "Month", "Crime type"]) is None
    True
    """
    best, best_score = None, 0
    for fmt in PARTNER_FORMATS:
        m = propose_mapping(header, fmt)
        required = [f.name for f in FIELDS[fmt] if f.required]
        if not all(r in m for r in required):
            continue
        if len(m) > best_score:
            best, best_score = fmt, len(m)
    return best


def resolve_mapping(
    header: Sequence[str],
    format: str,
    columns: dict[str, str] | None = None,
    *,
    file: object = None,
    source: str | None = None,
    prefix: str | None = None,
) -> dict[str, str]:
    """The mapping to use for one file: the configured columns, then aliases for the rest.

    Parameters
    ----------
    header
        The file's column names.
    format
        The partner format (or ``interventions_table``).
    columns
        ``sources.<name>.columns`` from the config (canonical -> file column). Keys with a
        ``<prefix>.`` (e.g. ``interventions.cost``) apply only to that table; keys of another
        table's prefix are ignored.
    file, source
        For error messages.
    prefix
        The table prefix accepted on keys (``participants`` / ``interventions`` for the two
        tables of the interventions format).

    Returns
    -------
    dict
        canonical name -> file column for every field found.

    Raises
    ------
    ConfigError
        A key of ``columns`` is not a canonical field of the format (the nearest is suggested).
    InputFormatError
        A mapped column is not in the header, or a required field is neither mapped nor found
        (the header is listed).

    Examples
    --------
    >>> resolve_mapping(["Ref", "When", "Offence Code"], "police_extract",
    ...                 {"record_id": "Ref", "date": "When"})
    {'record_id': 'Ref', 'date': 'When', 'offence_code': 'Offence Code'}
    """
    fields = _fields(format)
    names = [f.name for f in fields]
    where = f"sources.{source}.columns" if source else "columns"
    configured: dict[str, str] = {}
    prefixes = {"participants", "interventions"}
    for key, col in (columns or {}).items():
        k = key
        if "." in key:
            pre, _, rest = key.partition(".")
            if pre in prefixes:
                if pre != prefix:
                    continue
                k = rest
        if k not in names:
            if prefix is not None and "." not in key:
                # an unprefixed key of the other table of the interventions format
                other = "interventions_table" if format == "interventions" else "interventions"
                if k in [f.name for f in FIELDS.get(other, ())]:
                    continue
            hint = difflib.get_close_matches(k, names, n=1, cutoff=0.5)
            raise ConfigError(
                f"unknown canonical column {k!r} for format {format!r}"
                + (f" - did you mean {hint[0]!r}?" if hint else "")
                + f" (valid names: {', '.join(names)})",
                key=f"{where}.{key}",
            )
        configured[k] = str(col)
    header_list = [str(h) for h in header]
    header_set = set(header_list)
    by_norm = {normalise_header(h): h for h in header_list}
    out: dict[str, str] = {}
    for k, col in configured.items():
        if col in header_set:
            out[k] = col
        elif normalise_header(col) in by_norm:
            out[k] = by_norm[normalise_header(col)]
        else:
            raise InputFormatError(
                f"the column {col!r} mapped to {k!r} in {where} is not in the file's header "
                f"(the header has: {', '.join(header_list)}); correct {where}.{k}",
                file=file, line=1, column=col,
            )
    proposed = propose_mapping([h for h in header_list if h not in out.values()], format)
    for k, col in proposed.items():
        out.setdefault(k, col)
    missing = [f for f in fields if f.required and f.name not in out]
    if missing:
        need = "; ".join(f"{f.name!r} ({f.description}; e.g. {', '.join(f.aliases[:3])})" for f in missing)
        raise InputFormatError(
            f"required column(s) not found for a {format} file: {need}. The header has: "
            f"{', '.join(header_list)}. Map them in {where} (canonical name: the file's column)",
            file=file, line=1,
        )
    return {k: out[k] for k in names if k in out}


# --------------------------------------------------------------------------------------------
# reading a table
# --------------------------------------------------------------------------------------------
def _physical_lines(text: str, nrows: int) -> np.ndarray:
    """Physical line (header = 1) at which each of the ``nrows`` records starts."""
    n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if n_lines == nrows + 1 and "\n\n" not in text:
        return np.arange(2, nrows + 2, dtype=np.int64)
    reader = csv.reader(io.StringIO(text, newline=""))
    starts: list[int] = []
    prev = 0
    for i, row in enumerate(reader):
        start = prev + 1
        prev = reader.line_num
        if i == 0 or not row or not any(c.strip() for c in row):
            continue
        starts.append(start)
    return np.asarray(starts[:nrows], dtype=np.int64)


def _decode(data: bytes, encoding: str, name: str) -> str:
    enc = encoding.lower().replace("_", "-")
    if enc in ("utf-8", "utf8"):
        enc = "utf-8-sig"
    try:
        return data.decode(enc)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputFormatError(
            f"the file is not {encoding} text (byte {data[exc.start]:#04x} cannot be decoded); save "
            "it as UTF-8, or set the source's 'encoding' in sna.yml (e.g. cp1252)",
            file=name, line=line,
        ) from None
    except LookupError:
        raise ConfigError(f"unknown text encoding {encoding!r}", key="encoding") from None


def _diagnose(text: str, name: str, ncols: int, sep: str, msg: str) -> InputFormatError:
    """Find the line where a CSV that pyarrow could not parse goes wrong."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    last = 0
    n_lines = text.rstrip("\r\n").count("\n") + 1
    try:
        for row in reader:
            start = last + 1
            last = reader.line_num
            if not row:
                continue
            if len(row) != ncols:
                at_end = reader.line_num >= n_lines
                hint = (" - the last line is incomplete: the file looks truncated" if at_end
                        else " - the row is damaged; fix or remove it")
                return InputFormatError(f"expected {ncols} fields as in the header, found {len(row)}{hint}",
                                        file=name, line=start)
    except csv.Error as exc:
        return InputFormatError(f"the CSV cannot be parsed ({exc}): a quoted field is never closed, so "
                                "the file looks truncated or damaged", file=name, line=last + 1)
    return InputFormatError(f"the CSV cannot be parsed: {msg}", file=name)


def _read_csv_text(text: str, name: str, sep: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if not text.strip():
        raise InputFormatError("the file is empty: a table needs at least a header line", file=name)
    first = text.split("\n", 1)[0].rstrip("\r")
    header = [h.strip() for h in next(csv.reader([first], delimiter=sep))]
    if len(set(header)) != len(header) or "" in header:
        dup = sorted({h for h in header if header.count(h) > 1})
        what = (f"repeats column name(s) {', '.join(map(repr, dup))}" if dup
                else "has a column without a name")
        raise InputFormatError(f"the header {what}: give each column its own name", file=name, line=1)
    if "line" in header or "file" in header:
        header = [f"{h} (source)" if h in ("line", "file") else h for h in header]
    data = text.encode("utf-8")
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                 strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raise _diagnose(text, name, len(header), sep, str(exc)) from None
    import pyarrow.compute as pc

    cols = {}
    for c in header:
        arr = pc.utf8_trim_whitespace(table[c])
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
        cols[c] = pd.Series(pd.array(arr, dtype=_STRING))
    out = pd.DataFrame(cols)
    out["line"] = _physical_lines(text, len(out))[: len(out)]
    return out


def _read_excel(f: InputFile, sheet: str | int | None) -> pd.DataFrame:
    try:
        raw = pd.read_excel(io.BytesIO(f.read_bytes()), sheet_name=0 if sheet is None else sheet,
                            header=None, dtype=object, engine="openpyxl")
    except ValueError as exc:
        raise InputFormatError(f"cannot read the Excel sheet {sheet!r}: {exc}", file=f.name,
                               key="sheet") from None
    except Exception as exc:  # zipfile.BadZipFile, openpyxl errors
        raise InputFormatError(f"this is not a readable Excel (.xlsx) workbook: {exc}",
                               file=f.name) from None
    if raw.empty:
        raise InputFormatError("the sheet is empty: a table needs at least a header row", file=f.name)
    header = [("" if pd.isna(h) else str(h).strip()) for h in raw.iloc[0].tolist()]
    keep = [i for i, h in enumerate(header) if h]
    body = raw.iloc[1:, keep].copy()
    body.columns = [header[i] for i in keep]
    body["line"] = np.arange(2, len(raw) + 1, dtype=np.int64)
    empty = body.drop(columns="line").isna().all(axis=1)
    body = body[~empty].reset_index(drop=True)
    body = body.astype(object).where(body.notna(), None)
    body.attrs["excel"] = True
    return body


def read_table(f: InputFile, *, encoding: str = "utf-8", sheet: str | int | None = None) -> pd.DataFrame:
    """Read one CSV, gzipped CSV or Excel table, values kept as text.

    Parameters
    ----------
    f
        The input file (see :func:`sna.io.expand_paths`).
    encoding
        Text encoding of a CSV (a UTF-8 byte-order mark is accepted).
    sheet
        Excel sheet name or index (the first sheet by default).

    Returns
    -------
    pandas.DataFrame
        The file's own columns (CSV: ``string`` dtype, stripped, ``<NA>`` for blanks; Excel:
        object dtype, values as the cells hold them: text, numbers, datetimes), plus ``file`` and
        ``line`` (1 = the header). ``attrs["excel"]`` is True for a workbook.

    Raises
    ------
    InputFormatError
        Empty file, undecodable text (with the line), a truncated or damaged row (with the
        line), repeated header names, an unreadable workbook.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sna.io._files import InputFile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("Ref,Age\\nA1,23\\nA2,\\n")
    >>> read_table(InputFile(str(p), p))[["Ref", "Age", "line"]].values.tolist()
    [['A1', '23', 2], ['A2', <NA>, 3]]
    """
    lower = f.basename.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        df = _read_excel(f, sheet)
    elif lower.endswith(".xls"):
        raise InputFormatError("old Excel .xls workbooks are not read: save the sheet as .xlsx or CSV",
                               file=f.name)
    else:
        data = f.read_bytes()
        if lower.endswith(".gz"):
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise InputFormatError(f"the gzip file cannot be decompressed ({exc}); it may be "
                                       "truncated", file=f.name) from None
        text = _decode(data, encoding, f.name)
        first = text.split("\n", 1)[0]
        sep = "\t" if (lower.endswith((".tsv", ".tsv.gz")) or (first.count("\t") > first.count(","))) else ","
        df = _read_csv_text(text, f.name, sep)
    df.insert(len(df.columns) - 1, "file", f.name)
    df["line"] = df["line"].astype("int64")
    return df


def apply_mapping(df: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """Keep only the mapped columns, renamed to canonical names (plus ``file`` and ``line``).

    Columns not in the mapping are dropped, so an unmapped identifier column never travels
    further.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Ref": ["A"], "Secret": ["x"], "file": ["f"], "line": [2]})
    >>> apply_mapping(df, {"record_id": "Ref"}).columns.tolist()
    ['record_id', 'file', 'line']
    """
    out = pd.DataFrame({k: df[v] for k, v in mapping.items()}, index=df.index)
    out["file"] = df["file"]
    out["line"] = df["line"]
    out.attrs = dict(df.attrs)
    return out


def header_of(f: InputFile, *, encoding: str = "utf-8", sheet: str | int | None = None) -> list[str]:
    """The header of a table file (first line of a CSV, first row of a sheet).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sna.io._files import InputFile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("\\ufeffRef, HO Code\\nA,8N\\n", encoding="utf-8")
    >>> header_of(InputFile(str(p), p))
    ['Ref', 'HO Code']
    """
    lower = f.basename.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        df = _read_excel(f, sheet)
        return [c for c in df.columns if c not in ("line",)]
    data = f.read_bytes()
    if lower.endswith(".gz"):
        with gzip.open(io.BytesIO(data)) as fh:
            data = fh.read(65536)
    first = data[:65536].split(b"\n", 1)[0].lstrip(codecs.BOM_UTF8).decode(encoding, errors="replace")
    sep = "\t" if first.count("\t") > first.count(",") else ","
    return [h.strip() for h in next(csv.reader([first.rstrip("\r")], delimiter=sep), [])]



# --------------------------------------------------------------------------------------------
# parsing values: unknown stays unknown, nothing is guessed
# --------------------------------------------------------------------------------------------
#: Values read as "unknown" in any column (compared upper-cased, spaces collapsed).
NA_TOKENS = frozenset({
    "", "NA", "N/A", "N.A.", "NULL", "NONE", "NAN", "NAT", "UNKNOWN", "NOT KNOWN", "NK", "N/K",
    "U", "UNK", "-", "--", "?", "NOT STATED", "NOT RECORDED", "NOT SPECIFIED", "REFUSED",
    "PREFER NOT TO SAY", "NOT GIVEN", "Z", "99", "X99",
})
_NA_NUMERIC = NA_TOKENS - {"99"}  # 99 is an age


_STRING = pd.StringDtype("pyarrow")


def _is_text(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.StringDtype)


def _text(values: pd.Series) -> pd.Series:
    """Values as text (``string`` dtype): white space collapsed and stripped, blanks missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if _is_text(values):
        s = values.astype(_STRING)
    else:
        obj = values.astype(object)
        s = _map_unique(obj.where(values.notna()), lambda v: str(v)).astype(_STRING)
    arr = pa.array(s.array)  # arrow-backed: RE2 in C, not Python's re
    arr = pc.utf8_trim_whitespace(pc.replace_substring_regex(arr, r"\s+", " "))
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return pd.Series(pd.array(arr, dtype=_STRING), index=values.index)


def _is_na_token(t: pd.Series, tokens=NA_TOKENS) -> pd.Series:
    return (t.isna() | t.str.upper().isin(tokens)).fillna(True).astype(bool)


def _map_unique(values: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` once per distinct value (values repeat a lot in these files)."""
    uniq = pd.unique(values.dropna().to_numpy(dtype=object))
    lut = {u: fn(u) for u in uniq}
    return values.map(lut, na_action="ignore")


_YES = {"Y", "YES", "TRUE", "T", "1", "1.0", "FLAG", "FLAGGED", "KNIFE", "DA", "DOMESTIC"}
_NO = {"N", "NO", "FALSE", "F", "0", "0.0", "NOT FLAGGED"}


def parse_flag(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Yes/no flags as nullable booleans.

    Y / Yes / True / T / 1 -> True; N / No / False / F / 0 -> False; blank and "unknown"-type
    values -> ``<NA>`` (a blank flag is not read as "no").

    Returns
    -------
    (flags, unrecognised)
        ``boolean`` Series, and a bool mask of values that were neither (also ``<NA>``).

    Examples
    --------
    >>> import pandas as pd
    >>> flags, bad = parse_flag(pd.Series(["Y", "n", None, "Unknown", "maybe", True]))
    >>> flags.tolist(), bad.tolist()
    ([True, False, <NA>, <NA>, <NA>, True], [False, False, False, False, True, False])
    """
    t = _text(values)
    up = t.str.upper()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[up.isin(_YES)] = True
    out[up.isin(_NO)] = False
    bad = out.isna() & ~_is_na_token(t)
    return out, bad.astype(bool)


_SEX = {
    "M": "Male", "MALE": "Male", "MAN": "Male", "BOY": "Male", "1": "Male",
    "F": "Female", "FEMALE": "Female", "WOMAN": "Female", "GIRL": "Female", "2": "Female",
    "O": "Other", "OTHER": "Other", "I": "Other", "INDETERMINATE": "Other",
    "NON-BINARY": "Other", "NON BINARY": "Other", "NONBINARY": "Other",
}


def parse_sex(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Sex as ``Male`` / ``Female`` / ``Other`` / ``<NA>``.

    NHS codes 1 / 2 (0, 9 and X: not known / not specified) and police M / F / U are
    recognised.

    Examples
    --------
    >>> import pandas as pd
    >>> sex, bad = parse_sex(pd.Series(["M", "female", "U", "2", "?", "robot"]))
    >>> sex.tolist(), bad.tolist()
    (['Male', 'Female', <NA>, 'Female', <NA>, <NA>], [False, False, False, False, False, True])
    """
    t = _text(values)
    up = t.str.upper()
    out = up.map(_SEX).astype("string")
    na = _is_na_token(t) | up.isin({"0", "9", "X"})
    bad = out.isna() & ~na
    return out, bad.astype(bool)


#: Ethnic groups (ONS 5+1, 2011 census grouping).
ETHNIC_GROUPS = ("White", "Mixed", "Asian", "Black", "Other")

_ETH_CODES = {
    # NHS Data Dictionary ethnic category (16+1)
    "A": "White", "B": "White", "C": "White", "D": "Mixed", "E": "Mixed", "F": "Mixed", "G": "Mixed",
    "H": "Asian", "J": "Asian", "K": "Asian", "L": "Asian", "M": "Black", "N": "Black", "P": "Black",
    "R": "Asian", "S": "Other",
    # police self-defined ethnicity (18+1)
    "W1": "White", "W2": "White", "W3": "White", "W4": "White", "W9": "White",
    "M1": "Mixed", "M2": "Mixed", "M3": "Mixed", "M9": "Mixed",
    "A1": "Asian", "A2": "Asian", "A3": "Asian", "A4": "Asian", "A9": "Asian",
    "B1": "Black", "B2": "Black", "B9": "Black", "O1": "Other", "O2": "Other", "O9": "Other",
    # police officer-observed ethnicity (IC codes)
    "IC1": "White", "IC2": "White", "IC3": "Black", "IC4": "Asian", "IC5": "Asian", "IC6": "Other",
}
_ETH_NA = {"NS", "IC0", "IC9", "99", "Z", "NOT STATED", "NOT KNOWN", "UNKNOWN", "PREFER NOT TO SAY"}


def _ethnic_group(text: str) -> str | None:
    up = text.upper().strip()
    if up in _ETH_CODES:
        return _ETH_CODES[up]
    code = re.match(r"^([A-Z]{1,2}\d{0,2})\s*[-:–)]\s*", up)
    if code and code.group(1) in _ETH_CODES:
        return _ETH_CODES[code.group(1)]
    low = up.lower()
    if "mixed" in low or "multiple" in low or re.search(r"white and (black|asian)", low):
        return "Mixed"
    if "white" in low or "gypsy" in low or "traveller" in low or "roma" in low or "irish" in low:
        return "White"
    if "black" in low or "african" in low or "caribbean" in low:
        return "Black"
    if any(w in low for w in ("asian", "indian", "pakistani", "bangladeshi", "chinese")):
        return "Asian"
    if "arab" in low or "other" in low:
        return "Other"
    return None


def parse_ethnicity(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Ethnicity as an ONS 5+1 group (``White``, ``Mixed``, ``Asian``, ``Black``, ``Other``).

    Recognises NHS 16+1 letter codes (A-S, Z not stated), police self-defined codes (W1 ...
    O9, NS), police IC codes (IC1-IC6, IC0 unknown), and text ("Black or Black British -
    African"). "Not stated" / "Not known" -> ``<NA>``. Chinese is counted in *Asian* (2011
    census grouping).

    Examples
    --------
    >>> import pandas as pd
    >>> eth, bad = parse_ethnicity(pd.Series(["A", "W1 - White British", "IC3",
    ...     "Mixed - White and Black Caribbean", "Z", "Martian"]))
    >>> eth.tolist(), bad.tolist()[-1]
    (['White', 'White', 'Black', 'Mixed', <NA>, <NA>], True)
    """
    t = _text(values)
    up = t.str.upper()
    na = _is_na_token(t) | up.isin(_ETH_NA)
    out = _map_unique(t.where(~na), _ethnic_group).astype("string")
    bad = out.isna() & ~na
    return out, bad.astype(bool)


def _number(v) -> float | None:
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return float(v)
    s = str(v).strip().replace(",", "").replace("£", "").replace(" ", "")
    try:
        return float(s)
    except ValueError:
        return None


def parse_float(values: pd.Series, *, na_tokens=_NA_NUMERIC) -> tuple[pd.Series, pd.Series]:
    """Numbers (thousands separators and £ signs allowed) as ``Float64``.

    Examples
    --------
    >>> import pandas as pd
    >>> num, bad = parse_float(pd.Series(["1,234.5", "£20", None, "abc"]))
    >>> num.tolist(), bad.tolist()
    ([1234.5, 20.0, <NA>, <NA>], [False, False, False, True])
    """
    t = _text(values)
    na = (t.isna() | t.str.upper().isin(na_tokens)).fillna(True).astype(bool)
    if _is_text(values) or values.dtype == object and not len(values):
        import pyarrow as pa
        import pyarrow.compute as pc

        clean = pc.replace_substring_regex(pa.array(t.where(~na).array), r"[,£ ]", "")
        num = pd.to_numeric(pd.Series(pd.array(clean, dtype=_STRING), index=t.index).astype(object),
                            errors="coerce").astype("float64")
    else:
        obj = values.astype(object).where(~na)
        num = _map_unique(obj, _number).astype("float64")
    out = pd.Series(pd.array(num.to_numpy(dtype="float64"), dtype="Float64"), index=values.index)
    out = out.mask(num.isna().to_numpy())
    bad = out.isna() & ~na
    return out, bad.astype(bool)


def parse_age(values: pd.Series, *, max_age: int = 120) -> tuple[pd.Series, pd.Series]:
    """Ages in whole years (``Int64``); impossible ages are flagged, never corrected.

    Decimal ages are floored ("23.0" -> 23, "16.5" -> 16). A value that is not a number (and
    not an "unknown" token), is negative, or is above ``max_age`` is flagged as bad: the row
    is set aside with reason ``bad_age``.

    Returns
    -------
    (ages, bad)
        ``Int64`` Series (``<NA>`` for unknown or bad) and the bad mask.

    Examples
    --------
    >>> import pandas as pd
    >>> age, bad = parse_age(pd.Series(["23", "16.5", None, "Unknown", "250", "-1", "twelve"]))
    >>> age.tolist(), bad.tolist()
    ([23, 16, <NA>, <NA>, <NA>, <NA>, <NA>], [False, False, False, False, True, True, True])
    """
    num, bad = parse_float(values)
    out_of_range = num.notna() & ((num < 0) | (num > max_age))
    bad = bad | out_of_range.fillna(False).astype(bool)
    age = np.floor(num.where(~bad)).astype("Int64")
    return age, bad.astype(bool)


_LSOA_RE = re.compile(r"^[EW]0[0-9]{7}$")


def parse_lsoa(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """LSOA codes (``E01...`` / ``W01...``), upper-cased; anything else flagged.

    Examples
    --------
    >>> import pandas as pd
    >>> lsoa, bad = parse_lsoa(pd.Series([" e01013810", "Nottingham 018A", None]))
    >>> lsoa.tolist(), bad.tolist()
    (['E01013810', <NA>, <NA>], [False, True, False])
    """
    t = _text(values)
    up = t.str.upper().str.replace(" ", "", regex=False)
    na = _is_na_token(t)
    ok = up.str.match(_LSOA_RE.pattern).fillna(False).astype(bool)
    out = up.where(ok).astype("string")
    bad = ~ok & ~na
    return out, bad.astype(bool)


# date formats tried in order: (format, precision)
_DATE_FORMATS = (
    ("%d/%m/%Y %H:%M", "minute"), ("%d/%m/%Y %H:%M:%S", "minute"),
    ("%Y-%m-%d %H:%M:%S", "minute"), ("%Y-%m-%dT%H:%M:%S", "minute"), ("%Y-%m-%d %H:%M", "minute"),
    ("%Y-%m-%dT%H:%M", "minute"), ("%d-%m-%Y %H:%M", "minute"), ("%d/%m/%y %H:%M", "minute"),
    ("%d-%b-%Y %H:%M", "minute"), ("%d %b %Y %H:%M", "minute"), ("%d.%m.%Y %H:%M", "minute"),
    ("%Y-%m-%d %H:%M:%S.%f", "minute"), ("%Y-%m-%dT%H:%M:%S.%f", "minute"),
    ("%d/%m/%Y", "day"), ("%Y-%m-%d", "day"), ("%d-%m-%Y", "day"), ("%d.%m.%Y", "day"),
    ("%d/%m/%y", "day"), ("%d-%b-%Y", "day"), ("%d %b %Y", "day"), ("%d-%b-%y", "day"),
    ("%d %B %Y", "day"), ("%Y%m%d", "day"),
    ("%Y-%m", "month"), ("%m/%Y", "month"), ("%b-%Y", "month"), ("%b %Y", "month"),
    ("%B %Y", "month"), ("%b-%y", "month"),
)
_EARLIEST = pd.Timestamp("1990-01-01")


def parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Dates (and times) as written in partner files, with the precision actually known.

    Text is read day-first (UK: ``13/06/2020``, ``13/06/2020 23:15``), or ISO
    (``2020-06-13``, ``2020-06-13T23:15:00``), or month-only (``2020-06``, ``Jun 2020``).
    Excel cells holding a date are datetimes: a cell at exactly midnight is read as a date
    without a time (precision ``day``); a written ``00:00`` in text is a real time.

    Returns
    -------
    (dates, precision, bad)
        ``datetime64[ns]`` (NaT where missing or bad; month-only values on the 1st), precision
        ``minute`` / ``day`` / ``month`` (``<NA>`` where no date), and the mask of values that
        are not dates or are implausible (before 1990 or in the future).

    Examples
    --------
    >>> import pandas as pd
    >>> d, p, bad = parse_dates(pd.Series(["13/06/2020 23:15", "2020-06-13", "Jun 2020",
    ...                                    None, "31/02/2020", "01/01/1900"]))
    >>> [str(x) for x in d], p.tolist(), bad.tolist()
    (['2020-06-13 23:15:00', '2020-06-13 00:00:00', '2020-06-01 00:00:00', 'NaT', 'NaT', 'NaT'], ['minute', 'day', 'month', <NA>, <NA>, <NA>], [False, False, False, False, True, True])
    """
    import datetime as _dt

    obj = values if _is_text(values) else values.astype(object).where(values.notna(), None)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    prec = pd.Series(pd.NA, index=values.index, dtype="string")
    if _is_text(values):
        is_dt = pd.Series(False, index=values.index)
    else:
        is_dt = obj.map(lambda v: isinstance(v, (_dt.datetime, _dt.date, pd.Timestamp)), na_action="ignore")
        is_dt = is_dt.fillna(False).astype(bool)
    if is_dt.any():
        ts = pd.to_datetime(obj[is_dt].map(pd.Timestamp), errors="coerce")
        out[is_dt] = ts
        midnight = (ts == ts.dt.normalize())
        prec[is_dt] = np.where(midnight, "day", "minute")
    t = _text(obj.where(~is_dt) if is_dt.any() else obj)
    na = _is_na_token(t)
    todo = t.where(~na).dropna().astype(object)
    if len(todo):
        uniq = pd.Series(pd.unique(todo.to_numpy(dtype=object)))
        got = pd.Series(pd.NaT, index=uniq.index, dtype="datetime64[ns]")
        gp = pd.Series(pd.NA, index=uniq.index, dtype="string")
        remaining = uniq
        for fmt, p in _DATE_FORMATS:
            if remaining.empty:
                break
            parsed = pd.to_datetime(remaining, format=fmt, errors="coerce")
            hit = parsed.notna()
            if hit.any():
                got[hit[hit].index] = parsed[hit]
                gp[hit[hit].index] = p
                remaining = remaining[~hit]
        if not remaining.empty:  # ISO 8601 with time zones etc.
            iso = remaining[remaining.str.match(r"^\d{4}-\d{2}-\d{2}[T ]")]
            if not iso.empty:
                parsed = pd.to_datetime(iso, format="ISO8601", errors="coerce", utc=True)
                parsed = parsed.dt.tz_convert("Europe/London").dt.tz_localize(None)
                hit = parsed.notna()
                got[hit[hit].index] = parsed[hit]
                gp[hit[hit].index] = "minute"
        lut_d = dict(zip(uniq, got))
        lut_p = dict(zip(uniq, gp))
        out[todo.index] = pd.to_datetime(todo.map(lut_d)).astype("datetime64[ns]")
        prec[todo.index] = todo.map(lut_p).astype("string")
    now = pd.Timestamp.now().normalize() + pd.Timedelta(days=1)
    implausible = out.notna() & ((out < _EARLIEST) | (out > now))
    bad = (out.isna() & ~na & ~(is_dt & out.notna())) | implausible
    bad = (bad & obj.notna()).fillna(False)
    out[implausible] = pd.NaT
    prec[out.isna()] = pd.NA
    return out, prec, bad.astype(bool)


def parse_times(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Times of day (``23:15``, ``23:15:00``, ``2315``, Excel times) as Timedeltas.

    Returns
    -------
    (times, bad)
        ``timedelta64[ns]`` since midnight (NaT where missing or bad) and the bad mask.

    Examples
    --------
    >>> import pandas as pd
    >>> t, bad = parse_times(pd.Series(["23:15", "0745", "7:05:30", None, "25:61"]))
    >>> [str(x) for x in t], bad.tolist()
    (['0 days 23:15:00', '0 days 07:45:00', '0 days 07:05:30', 'NaT', 'NaT'], [False, False, False, False, True])
    """
    import datetime as _dt

    def one(v):
        if isinstance(v, _dt.datetime):
            v = v.time()
        if isinstance(v, _dt.time):
            return pd.Timedelta(hours=v.hour, minutes=v.minute, seconds=v.second)
        if isinstance(v, (float, np.floating)) and 0 <= v < 1:  # Excel fraction of a day
            return pd.Timedelta(seconds=round(float(v) * 86400))
        s = str(v).strip()
        m = re.match(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$", s) or re.match(r"^(\d{2})(\d{2})$", s)
        if not m:
            return None
        h, mi = int(m.group(1)), int(m.group(2))
        sec = int(m.group(3)) if m.lastindex and m.lastindex >= 3 and m.group(3) else 0
        if h > 23 or mi > 59 or sec > 59:
            return None
        return pd.Timedelta(hours=h, minutes=mi, seconds=sec)

    t = _text(values)
    na = _is_na_token(t).fillna(True).astype(bool)
    obj = (t if _is_text(values) else values.astype(object)).where(~na)
    got = _map_unique(obj.astype(object), one)
    out = pd.Series(pd.NaT, index=values.index, dtype="timedelta64[ns]")
    hit = got.notna()
    if hit.any():
        out[hit] = pd.to_timedelta(got[hit])
    bad = out.isna() & ~na
    return out, bad.astype(bool)


def parse_code(values: pd.Series) -> pd.Series:
    """Codes as upper-case text without spaces (``" 8n "`` -> ``"8N"``).

    Examples
    --------
    >>> import pandas as pd
    >>> parse_code(pd.Series([" 8n ", "105 A", None, "unknown"])).tolist()
    ['8N', '105A', <NA>, <NA>]
    """
    t = _text(values)
    na = _is_na_token(t, NA_TOKENS - {"99", "Z", "U"})
    return t.str.upper().str.replace(" ", "", regex=False).where(~na).astype("string")


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
    i = mask[mask].index[0]
    return f"e.g. {values[i]!r} at {df.at[i, 'file']} line {int(df.at[i, 'line'])}"


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
    """
    import json

    from ..privacy import Pseudonymiser, pseudonymiser
    from ._files import expand_paths

    fields = {f.name: f for f in _fields(format)}
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

    # 1. identifiers: pseudonymised before anything else happens to the rows
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
    raw_text = df.copy()  # mapped values as read (ids already pseudonymised)

    out = pd.DataFrame(index=df.index)
    sa = _SetAside(df.index)
    notes: list[str] = []
    for k, fld in fields.items():
        if k not in df:
            continue
        v = df[k]
        col = colname.get(k, k)
        label = f"column {col!r} ({k})"
        if fld.kind == "id":
            out[k] = v.astype("string")
        elif fld.kind == "date":
            d, p, bad = parse_dates(v)
            if fld.required:
                sa.add(v.isna() | _is_na_token(_text(v)), "no_date", f"{label} is blank")
                sa.add(bad, "bad_date", label + ": " + _text(v).fillna("").map(repr) +
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
            sa.add(bad, "bad_age", label + ": " + _text(v).fillna("").map(repr) +
                   f" is not a possible age (a whole number of years, 0-{max_age})")
            out[k] = a
        elif fld.kind in ("float", "money"):
            x, bad = parse_float(v)
            _note(notes, bad, v, df, col, "not read as a number")
            out[k] = x.astype("float64") if k in ("x", "y", "longitude", "latitude") else x
        elif fld.kind == "flag":
            x, bad = parse_flag(v)
            _note(notes, bad, v, df, col, "not read as yes/no")
            out[k] = x
        elif fld.kind == "sex":
            x, bad = parse_sex(v)
            _note(notes, bad, v, df, col, "not read as a sex (Male / Female / Other)")
            out[k] = x
        elif fld.kind == "ethnicity":
            x, bad = parse_ethnicity(v)
            _note(notes, bad, v, df, col, "not read as an ethnic group")
            out[k] = x
        elif fld.kind == "lsoa":
            x, bad = parse_lsoa(v)
            _note(notes, bad, v, df, col, "not LSOA codes (E01... / W01...)")
            out[k] = x
        elif fld.kind == "code":
            out[k] = parse_code(v)
        else:  # text
            out[k] = _text(v).astype("string")

    # 2. coordinates: zero means unknown; lon/lat -> British National Grid; out of range -> unknown
    if "x" in out or "longitude" in out:
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
    out["file"] = df["file"].astype("string")
    out["line"] = df["line"].astype("Int64")
    out["set_aside"] = sa.reason
    out["set_aside_detail"] = sa.detail
    out["record"] = pd.Series(pd.NA, index=df.index, dtype="string")
    raw_text.attrs = {"colname": colname}
    fill_records(out, raw_text)
    for note in notes:
        logger.warning("%s: %s", source or format, note)
    out.attrs["sna"] = {
        "format": format,
        "rows_read": int(len(out)),
        "files": file_info,
        "notes": notes,
        "identifiers_pseudonymised": [colname[k] for k in present],
    }
    if return_raw:
        return out, raw_text
    return out


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
        The mapped values as read (:func:`sna.io.mapping.read_partner` with ``return_raw``):
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
    from .. import clean

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


def combine_date_time(
    date: pd.Series, precision: pd.Series, time: "pd.Series | None" = None
) -> tuple[pd.Series, pd.Series]:
    """Add a separate time column to a date column, upgrading the precision to ``minute``.

    A time is used only where the date is known to the day (a date that already carries a
    time keeps it); a missing time leaves the precision as it was.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.Series(pd.to_datetime(["2020-06-13", "2020-06-14", "2020-06-01"]))
    >>> p = pd.Series(["day", "day", "month"], dtype="string")
    >>> t = pd.Series(pd.to_timedelta(["23:15:00", None, "10:00:00"]))
    >>> out, prec = combine_date_time(d, p, t)
    >>> [str(x) for x in out], prec.tolist()
    (['2020-06-13 23:15:00', '2020-06-14 00:00:00', '2020-06-01 00:00:00'], ['minute', 'day', 'month'])
    """
    out = date.copy()
    prec = precision.astype("string").copy()
    if time is None:
        return out, prec
    use = (prec == "day").fillna(False) & time.notna()
    out[use] = date[use].dt.normalize() + time[use]
    prec[use] = "minute"
    return out, prec


def month_start(dates: pd.Series) -> pd.Series:
    """First day of the month of each date (``datetime64[ns]``).

    Examples
    --------
    >>> import pandas as pd
    >>> [str(d) for d in month_start(pd.Series(pd.to_datetime(["2020-06-13 23:15", None])))]
    ['2020-06-01 00:00:00', 'NaT']
    """
    return dates.dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")


def detect_source(path, format: str, *, encoding: str = "utf-8") -> dict | None:
    """Propose a source config for ``path`` if its files look like ``format`` (for ``sna init``).

    Parameters
    ----------
    path
        A file, folder, glob or zip archive of partner tables.
    format
        The partner format to test.

    Returns
    -------
    dict or None
        ``{"format": format, "columns": <proposed mapping>}`` when every table's header
        belongs to ``format`` (:func:`detect_format`), else None. A field found under
        different names in different files is left out of the mapping (each file then finds
        it by its common spellings).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "calls.csv"
    >>> _ = p.write_text("Incident Number,Call Date,Chief Complaint,LSOA\\n")
    >>> detect_source(p, "ambulance")["columns"]["call_category"]
    'Chief Complaint'
    >>> detect_source(p, "ecds") is None
    True
    """
    from ._files import expand_paths

    try:
        files = expand_paths(path, patterns=TABLE_PATTERNS, what=f"{format} data")
    except InputFormatError:
        return None
    proposals = []
    for f in files[:24]:
        try:
            header = header_of(f, encoding=encoding)
        except (InputFormatError, OSError, ValueError):
            return None
        if detect_format(header) != format:
            return None
        proposals.append(propose_mapping(header, format))
    if not proposals:
        return None
    # a field whose column is named differently in some files is left to the common spellings
    columns = {k: v for k, v in proposals[0].items() if all(p.get(k) == v for p in proposals[1:])}
    return {"format": format, "columns": columns}
