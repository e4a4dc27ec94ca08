"""Partner data (force extracts, ambulance, A&E, interventions): each force and trust names its
columns differently, so every partner source is read through a column mapping.

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

This package also reads the tables themselves (:func:`read_table`): CSV, gzipped CSV
(``.csv.gz``) or Excel (``.xlsx``), every value kept as text (Excel dates and numbers as the
cell's value), each row with its ``file`` and ``line`` (1 = the header).

The package: :mod:`~sna.io.partner.fields` (the canonical fields and the mapping),
:mod:`~sna.io.partner.tables` (reading tables), :mod:`~sna.io.partner.values` (parsing
values), :mod:`~sna.io.partner.reader` (:func:`read_partner`) and
:mod:`~sna.io.partner.finish` (:func:`finish_partner`, the cleaners' last step). The family
modules :mod:`sna.io.police_extract`, :mod:`sna.io.health` and :mod:`sna.io.interventions`
build on it. (Its former name, ``sna.io.mapping``, still imports.)

Examples
--------
>>> propose_mapping(["Crime Ref", "HO Code", "Committed From Date", "Victim Age", "Notes"],
...                 "police_extract")
{'record_id': 'Crime Ref', 'date': 'Committed From Date', 'offence_code': 'HO Code', 'age': 'Victim Age'}
"""

from __future__ import annotations

from .fields import (
    FIELDS,
    FREE_TEXT,
    PARTNER_FORMATS,
    Field,
    detect_format,
    normalise_header,
    propose_mapping,
    resolve_mapping,
)
from .finish import PARTNER_REASONS, finish_partner
from .reader import fill_records, read_partner
from .tables import TABLE_PATTERNS, apply_mapping, detect_source, header_of, read_table
from .values import (
    ETHNIC_GROUPS,
    NA_TOKENS,
    combine_date_time,
    month_start,
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
