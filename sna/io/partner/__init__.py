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

from . import fields, finish, reader, tables, values
from .fields import *  # noqa: F403 - each module's __all__ is the list of its public names
from .finish import *  # noqa: F403
from .reader import *  # noqa: F403
from .tables import *  # noqa: F403
from .values import *  # noqa: F403

__all__ = [*fields.__all__, *tables.__all__, *values.__all__, *reader.__all__, *finish.__all__]
