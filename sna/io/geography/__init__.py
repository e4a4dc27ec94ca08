"""Geography: LSOA boundaries, LSOA -> MSOA / ward / district -> CSP, population, deprivation.

Everything is keyed by LSOA code. Boundaries come from any format geopandas reads (GeoJSON,
GeoPackage, shapefile, FlatGeobuf, GeoParquet), a folder of them, a glob or a list; the LSOA
code column (``LSOA11CD``, ``LSOA21CD``, ``lsoa11_code``, ``LSOA code (2011)``...) and its
vintage (2011 or 2021) are detected, and the polygons are reprojected to British National
Grid (EPSG:27700).

National lookups are bundled (``sna/datasets/reference``, Open Government Licence v3.0):
2011 LSOA -> 2021 district, district -> Community Safety Partnership -> police force area
(2024), and the ONS 2011 -> 2021 LSOA best-fit lookup used to harmonise records coded on
another vintage than the boundaries, with the published populations that apportion split and
merged LSOAs (:func:`best_fit_weights`); LSOA -> MSOA and 2024 electoral ward with names.
Population and deprivation files (IMD 2019, IoD 2025, WIMD 2019) on either vintage are
converted to the boundaries' vintage (:func:`apportion`, :func:`convert_deprivation`).

:func:`load_geography` builds the canonical **geography** table of the assessment's area and
the long **population** table (``lsoa, age, population``).

The package, one module per concern, every public name re-exported here:
:mod:`~sna.io.geography.boundaries` (reading boundaries), :mod:`~sna.io.geography.lookups`
(LSOA -> district -> CSP, LSOA -> MSOA and ward), :mod:`~sna.io.geography.vintages` (2011 and
2021 LSOAs, best fit, apportionment), :mod:`~sna.io.geography.population` (estimates and the
mid-year each financial year uses), :mod:`~sna.io.geography.deprivation` (the indices and
their conversion), :mod:`~sna.io.geography.levels` (wards, MSOAs, districts, partnerships)
and :mod:`~sna.io.geography.load` (the area from the config); column detection and reading a
published table are in ``sna.io.geography._common``.
"""

from __future__ import annotations

from ._common import detect_lsoa_column
from .boundaries import BNG, read_boundaries
from .deprivation import DEPRIVATION_INDICES, convert_deprivation, read_deprivation, read_imd
from .levels import LEVELS, areas, count_by
from .load import geography_summary, load_geography
from .lookups import read_district_csp_lookup, read_levels_lookup, read_lsoa_district_lookup, recode_district
from .population import population_for_year, population_years, read_population, with_population
from .vintages import (
    apportion,
    best_fit_weights,
    detect_vintage,
    harmonise_lsoa_codes,
    read_best_fit_lookup,
    vintage_mismatch,
    vintage_mix,
)

__all__ = [
    "BNG",
    "detect_lsoa_column",
    "detect_vintage",
    "vintage_mix",
    "read_boundaries",
    "read_lsoa_district_lookup",
    "read_district_csp_lookup",
    "read_best_fit_lookup",
    "read_population",
    "read_imd",
    "read_deprivation",
    "DEPRIVATION_INDICES",
    "best_fit_weights",
    "apportion",
    "convert_deprivation",
    "LEVELS",
    "read_levels_lookup",
    "population_for_year",
    "population_years",
    "with_population",
    "areas",
    "count_by",
    "recode_district",
    "vintage_mismatch",
    "harmonise_lsoa_codes",
    "load_geography",
    "geography_summary",
]
