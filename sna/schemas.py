"""The canonical tables: the contracts between the rooms of `sna`.

Every source is cleaned into the **incidents** table below, one row per recorded event.
Columns are documented here once; readers and analyses refer to these names.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "INCIDENT_COLUMNS",
    "GEOGRAPHY_COLUMNS",
    "PARTICIPANT_COLUMNS",
    "INTERVENTION_COLUMNS",
    "QUARANTINE_COLUMNS",
    "SNA_CATEGORIES",
    "CATEGORICAL_COLUMNS",
    "empty_incidents",
    "conform_incidents",
    "incidents_schema",
]

#: SNA categories (police extract). data.police.uk keeps its own coarser crime types.
SNA_CATEGORIES = (
    "Homicide",
    "Violence against the person",
    "Robbery",
    "Sexual offences",
    "Possession of weapons",
    "Public order",
)

#: Text columns of the incidents table stored as categoricals of strings.
CATEGORICAL_COLUMNS: tuple[str, ...] = (
    "source", "source_format", "date_precision", "fy", "crime_type", "offence_code", "category",
    "subcategory", "lsoa", "district", "partnership", "sex", "ethnicity", "offender_sex",
    "home_lsoa", "location_type", "weapon", "site", "file",
)

#: column -> (pandas dtype, description)
INCIDENT_COLUMNS: dict[str, tuple[str, str]] = {
    "source": ("string", "source name from the config (police, ambulance, ecds, ...)"),
    "source_format": ("string", "police_uk, police_extract, ambulance, ecds"),
    "record_id": ("string", "record identifier; pseudonymised (keyed hash) where it identifies a person"),
    "person_id": ("string", "pseudonymised victim / patient id, where the source has one"),
    "offender_id": ("string", "pseudonymised suspect / offender id, where the source has one"),
    "date": ("datetime64[ns]", "date (and time) of the event, as precise as known"),
    "date_precision": ("string", "month, day or minute"),
    "month": ("datetime64[ns]", "first day of the month of the event"),
    "fy": ("string", "financial year label, e.g. 2020/21"),
    "recorded_date": ("datetime64[ns]", "date the crime was recorded (force extracts that "
                      "give it); <NaT> elsewhere"),
    "crime_type": ("string", "the source's own category label (data.police.uk crime type, HO offence description, call category, assault method)"),
    "offence_code": ("string", "Home Office offence code, where known"),
    "category": ("string", "SNA category (see SNA_CATEGORIES); data.police.uk crime type for police_uk"),
    "subcategory": ("string", "e.g. Violence with injury / Violence without injury"),
    "serious_violence": ("boolean", "counted as serious violence under the local definition"),
    "knife": ("boolean", "knife or sharp instrument involved; <NA> = unknown"),
    "firearm": ("boolean", "firearm involved; <NA> = unknown"),
    "domestic": ("boolean", "domestic-abuse related; <NA> = unknown"),
    "lsoa": ("string", "LSOA code of the event location (on the boundaries' vintage)"),
    "district": ("string", "local authority district code"),
    "partnership": ("string", "partnership name from the config"),
    "x": ("float64", "easting, British National Grid (EPSG:27700); NaN where unknown"),
    "y": ("float64", "northing, British National Grid (EPSG:27700); NaN where unknown"),
    "age": ("Int64", "age of the victim / patient; <NA> where unknown"),
    "sex": ("string", "Male / Female / Other / <NA>"),
    "ethnicity": ("string", "ethnic group (ONS 5+1 groups) or <NA>"),
    "offender_age": ("Int64", "age of the suspect / offender"),
    "offender_sex": ("string", "sex of the suspect / offender"),
    "home_lsoa": ("string", "home LSOA of the patient (A&E)"),
    "location_type": ("string", "type of place (street, home, licensed premises, ...)"),
    "weapon": ("string", "weapon or method (A&E assault method, ambulance call category)"),
    "site": ("string", "hospital / ED site code"),
    "file": ("string", "input file the row came from"),
    "line": ("Int64", "line in that file (1 = header)"),
}

GEOGRAPHY_COLUMNS = {
    "lsoa": "LSOA code",
    "name": "LSOA name",
    "msoa": "MSOA (neighbourhood) code, of the LSOAs' vintage",
    "msoa_name": "MSOA name (ONS)",
    "ward": "electoral ward code (2024 wards, ONS best fit)",
    "ward_name": "ward name",
    "district": "local authority district code",
    "district_name": "district name",
    "partnership": "partnership name from the config",
    "population": "total population (the estimate for the assessment year, see population_for)",
    "imd_decile": "deprivation decile of the configured index (1 = most deprived 10%)",
    "imd_rank": "deprivation rank of the configured index (1 = most deprived)",
    "deprivation_index": "the index of imd_decile: IMD 2019, IoD 2025 or WIMD 2019",
    "geometry": "polygon, EPSG:27700",
}

PARTICIPANT_COLUMNS: dict[str, tuple[str, str]] = {
    "person_id": ("string", "pseudonymised participant id"),
    "intervention": ("string", "intervention name"),
    "provider": ("string", "provider"),
    "level": ("string", "prevention level: universal / secondary / tertiary"),
    "referral_date": ("datetime64[ns]", "referral date"),
    "start_date": ("datetime64[ns]", "start date"),
    "end_date": ("datetime64[ns]", "end date"),
    "fy": ("string", "financial year of the start date"),
    "age": ("Int64", "age at start"),
    "sex": ("string", "sex"),
    "ethnicity": ("string", "ethnic group"),
    "home_lsoa": ("string", "home LSOA"),
    "district": ("string", "district of the home LSOA"),
    "partnership": ("string", "partnership of the home LSOA"),
    "outcome_start": ("Float64", "outcome measure at start (e.g. wellbeing score)"),
    "outcome_end": ("Float64", "outcome measure at end"),
    "offending_before": ("boolean", "offended in the period before"),
    "offending_after": ("boolean", "offended in the period after"),
    "file": ("string", "input file"),
    "line": ("Int64", "line in that file"),
}

INTERVENTION_COLUMNS: dict[str, tuple[str, str]] = {
    "intervention": ("string", "intervention name"),
    "provider": ("string", "provider"),
    "level": ("string", "prevention level"),
    "funding_stream": ("string", "funding stream"),
    "cost": ("Float64", "cost in GBP for the year"),
    "fy": ("string", "financial year"),
}

QUARANTINE_COLUMNS: dict[str, tuple[str, str]] = {
    "source": ("string", "source name"),
    "file": ("string", "input file"),
    "line": ("Int64", "line in the file (1 = header)"),
    "reason": ("string", "why it was set aside (out_of_area, no_location, bad_month, ...)"),
    "detail": ("string", "what exactly was wrong"),
    "record": ("string", "the row as JSON, identifiers pseudonymised"),
}


def _empty(columns: dict[str, tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=d) for c, (d, _) in columns.items()})


def empty_incidents() -> pd.DataFrame:
    """An incidents table with no rows and every canonical column."""
    return _empty(INCIDENT_COLUMNS)


def conform_incidents(df: pd.DataFrame) -> pd.DataFrame:
    """Add missing canonical columns (all unknown), cast dtypes, order columns."""
    out = df.copy()
    for col, (dtype, _) in INCIDENT_COLUMNS.items():
        if col not in out:
            out[col] = pd.Series(pd.NA if dtype not in ("float64",) else float("nan"),
                                 index=out.index, dtype=dtype) if len(out) else pd.Series(dtype=dtype)
        else:
            if dtype.startswith("datetime64"):
                out[col] = pd.to_datetime(out[col]).astype(dtype)
            else:
                out[col] = out[col].astype(dtype)
    extra = [c for c in out.columns if c not in INCIDENT_COLUMNS]
    return out[list(INCIDENT_COLUMNS) + extra]


def incidents_schema():
    """A pandera schema of the canonical incidents table.

    pandera is not a dependency of the package: it comes with the ``test`` extra
    (``pip install -e ".[test]"``), where the tests check every source's table against it.
    """
    import pandera.pandas as pa

    def _text(s: pd.Series) -> bool:
        return isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype)

    cols = {}
    for name, (dtype, desc) in INCIDENT_COLUMNS.items():
        checks = []
        if name in CATEGORICAL_COLUMNS:
            dtype = None  # a categorical of strings (or a string column)
            checks.append(pa.Check(_text, error="a categorical of strings or a string column"))
        if name == "date_precision":
            checks.append(pa.Check.isin(["month", "day", "minute"]))
        if name in ("age", "offender_age"):
            checks.append(pa.Check.in_range(0, 120))
        cols[name] = pa.Column(dtype, checks=checks, nullable=name not in (
            "source", "source_format", "month", "fy", "date", "date_precision", "category"
        ), description=desc)
    return pa.DataFrameSchema(cols, strict=False, coerce=False)
