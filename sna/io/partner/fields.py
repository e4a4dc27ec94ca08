"""The canonical fields of each partner format (:data:`FIELDS`) and the column mapping: a
file's header matched to them (:func:`resolve_mapping`), a mapping proposed for ``sna init``
(:func:`propose_mapping`), a format recognised from a header (:func:`detect_format`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Sequence

from ...errors import ConfigError, InputFormatError

__all__ = [
    "Field",
    "FIELDS",
    "PARTNER_FORMATS",
    "FREE_TEXT",
    "normalise_header",
    "propose_mapping",
    "detect_format",
    "resolve_mapping",
]


#: Free-text fields: read, but never written to the quarantine (they may name people).
FREE_TEXT = frozenset({"location_description"})

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

def fields_of(fmt: str) -> tuple[Field, ...]:
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
    fields = fields_of(format)
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
    fields = fields_of(format)
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
