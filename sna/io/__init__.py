"""Readers, one module (or package) per source family, and the registry of source formats.

- :mod:`sna.io.police_uk` — data.police.uk street, outcomes and stop-and-search files
  (folders, zip archives as downloaded, globs, lists), and their cleaning;
- :mod:`sna.io.police_extract`, :mod:`sna.io.health` (ambulance, A&E),
  :mod:`sna.io.interventions` — partner data, read through the column mapping of
  :mod:`sna.io.partner`;
- :mod:`sna.io.geography` — LSOA boundaries, LSOA -> district -> CSP lookups, 2011 and 2021
  LSOAs, population, deprivation, and the assessment's area built from them.

Each family module reads its files, detects them (``sna init``) and cleans them into the
canonical tables with the toolkit of :mod:`sna.clean`. :data:`FORMATS` (defined in
:mod:`sna.formats`) is the one registry of the source formats ``sna.yml`` accepts: the
configuration, the cleaning and the command line all read it. Readers return *raw* frames (the source's own column names, plus ``file`` and
``line``). Heavy libraries are imported by the family modules, not here.

>>> from sna.io import read_police_uk
>>> callable(read_police_uk)
True
>>> list(FORMATS)
['police_uk', 'police_extract', 'ambulance', 'ecds', 'interventions']
"""

from __future__ import annotations

import importlib

from ..formats import FORMATS, SourceFormat

__all__ = [
    "FORMATS",
    "SourceFormat",
    "read_police_uk",
    "read_police_uk_outcomes",
    "read_police_uk_stop_search",
    "read_boundaries",
    "read_population",
    "read_imd",
    "expand_paths",
]


_LAZY = {
    "read_police_uk": "police_uk",
    "read_police_uk_outcomes": "police_uk",
    "read_police_uk_stop_search": "police_uk",
    "read_boundaries": "geography",
    "read_population": "geography",
    "read_imd": "geography",
    "expand_paths": "_files",
}


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'sna.io' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
