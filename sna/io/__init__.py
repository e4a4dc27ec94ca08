"""Readers, one module (or package) per source family, and the registry of source formats.

- :mod:`sna.io.police_uk` — data.police.uk street, outcomes and stop-and-search files
  (folders, zip archives as downloaded, globs, lists), and their cleaning;
- :mod:`sna.io.police_extract`, :mod:`sna.io.health` (ambulance, A&E),
  :mod:`sna.io.interventions` — partner data, read through the column mapping of
  :mod:`sna.io.partner`;
- :mod:`sna.io.geography` — LSOA boundaries, LSOA -> district -> CSP lookups, population,
  IMD 2019.

Each family module reads its files, detects them (``sna init``) and cleans them into the
canonical tables with the toolkit of :mod:`sna.clean`. :data:`FORMATS` is the one registry of
the source formats ``sna.yml`` accepts: the configuration, the cleaning and the command line
all read it. Readers return *raw* frames (the source's own column names, plus ``file`` and
``line``). Heavy libraries are imported by the family modules, not here.

>>> from sna.io import read_police_uk
>>> callable(read_police_uk)
True
>>> list(FORMATS)
['police_uk', 'police_extract', 'ambulance', 'ecds', 'interventions']
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

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


@dataclass(frozen=True)
class SourceFormat:
    """A source format: where its reader lives and what the rest of sna needs to know.

    Attributes
    ----------
    module
        The module of its family, which reads, detects and cleans it.
    cleaner
        The module's cleaner, ``cleaner(name, source, config, geography, *, progress=None)
        -> CleanedSource``.
    detector
        The module's detector for ``sna init``, ``detector(path) -> dict | None``.
    label
        Its plain-English name, for prose.
    disclosure
        The disclosure rule of its tables in a public build unless the config says otherwise.
    """

    module: str
    cleaner: str
    detector: str
    label: str
    disclosure: str


#: format (the ``format`` of a source in ``sna.yml``) -> :class:`SourceFormat`.
FORMATS: dict[str, SourceFormat] = {
    "police_uk": SourceFormat("sna.io.police_uk", "clean_police_uk", "detect_police_uk",
                              "data.police.uk street-level crime", "none"),
    "police_extract": SourceFormat("sna.io.police_extract", "clean_police_extract",
                                   "detect_police_extract", "force crime extract", "legacy5"),
    "ambulance": SourceFormat("sna.io.health", "clean_ambulance", "detect_ambulance",
                              "ambulance call-outs", "nhs2018"),
    "ecds": SourceFormat("sna.io.health", "clean_ecds", "detect_ecds",
                         "A&E assault attendances (ECDS / ISTV)", "nhs2018"),
    "interventions": SourceFormat("sna.io.interventions", "clean_interventions",
                                  "detect_interventions", "intervention records", "legacy5"),
}

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
