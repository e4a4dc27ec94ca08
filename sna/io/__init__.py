"""Readers, one module per source family.

- :mod:`sna.io.police_uk` — data.police.uk street, outcomes and stop-and-search files
  (folders, zip archives as downloaded, globs, lists);
- :mod:`sna.io.geography` — LSOA boundaries, LSOA -> district -> CSP lookups, population,
  IMD 2019;
- partner-data readers (force crime extract, ambulance, A&E, interventions) live in their own
  modules and register a cleaner in :data:`sna.clean.SOURCE_CLEANERS`.

Readers return *raw* frames (the source's own column names, plus ``file`` and ``line``);
:mod:`sna.clean` turns them into the canonical tables. Heavy libraries are imported by the
reader modules, not here.

>>> from sna.io import read_police_uk
>>> callable(read_police_uk)
True
"""

from __future__ import annotations

import importlib

__all__ = [
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
