"""The registry of source formats: for each ``format`` a source may have in ``sna.yml``, the
module of its family (:mod:`sna.io`) that reads, detects and cleans it, and what the rest of
sna needs to know. The configuration, the cleaning, ``sna init`` and the chapters all read
this one list; it is data only (names of modules and functions, imported on first use), so
the modules below the families can read it.

>>> FORMATS["ambulance"].module, FORMATS["ambulance"].cleaner
('sna.io.health', 'clean_ambulance')
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FORMATS", "SourceFormat"]


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
