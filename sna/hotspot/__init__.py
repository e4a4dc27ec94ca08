"""Where violence concentrates: grids, counts, density, Gi* hot spots, local Moran clusters,
hot-spot persistence, concentration, overlap between sources and the deprivation gradient.

One call per question, a documented automatic default for every choice, and the choice
reported back in ``result.attrs["sna"]`` (and logged on the ``sna`` logger), after the R
package sfhotspot. Output column names follow sfhotspot where it has them (``n``, ``kde``,
``gistar``, ``pvalue``, ``hotspot_category``).

- :func:`grid` -- square or hexagonal cells clipped to a study area;
- :func:`count` -- events per area (by LSOA code or point in polygon) or per grid cell;
- :func:`kde` -- kernel density on a grid (quartic by default; bandwidth by likelihood
  cross-validation, stated);
- :func:`neighbours` -- the spatial weights every statistic uses (contiguity that copes with
  the slivers of generalised boundaries; islands joined to their nearest neighbour);
- :func:`gistar` -- Getis-Ord Gi* z-scores, two-sided p-values, a multiple-testing
  correction and the hot / cold spot class;
- :func:`local_moran` -- local Moran's I, its quadrant and the significant clusters;
- :func:`change` and :func:`classify` -- change between two periods, and persistent /
  emerging / former / intermittent hot and cold spots over many periods;
- :func:`concentration`, :func:`overlap`, :func:`by_deprivation` -- the share of events in
  the top areas (and Gini, Lorenz curve), agreement between two sources' top areas, and
  rates by IMD decile.

The package, after esda (one module per family of statistics over one inference engine):
:mod:`~sna.hotspot.grids`, :mod:`~sna.hotspot.counts`, :mod:`~sna.hotspot.density`,
:mod:`~sna.hotspot.weights`, :mod:`~sna.hotspot.local` (Gi*, local Moran),
:mod:`~sna.hotspot.persistence` and :mod:`~sna.hotspot.distribution`; the permutation engine
and the corrections are in ``sna.hotspot._inference``, the input checks in
``sna.hotspot._inputs``.

Coordinates are British National Grid (EPSG:27700, metres). Points or areas in longitude /
latitude are reprojected, with a log line; outputs keep the index (and the CRS) of the
table they extend.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> from sna import hotspot
>>> area = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000)], crs=27700)
>>> cells = hotspot.grid(area, cell_size=250)
>>> len(cells), cells.attrs["sna"]["cell_size"]
(16, 250.0)
"""

from __future__ import annotations

from ._inference import DEFAULT_SEED, adjust_pvalues
from ._inputs import BNG
from .counts import count
from .density import kde, kernel_scale
from .distribution import Concentration, Overlap, by_deprivation, concentration, overlap
from .grids import cells_within, grid
from .local import CLUSTER_LABELS, HOTSPOT_LABELS, gistar, local_moran
from .persistence import CATEGORY_LABELS, change, classify
from .weights import DEFAULT_TOLERANCE, neighbours

__all__ = [
    "BNG",
    "CATEGORY_LABELS",
    "CLUSTER_LABELS",
    "HOTSPOT_LABELS",
    "Concentration",
    "Overlap",
    "adjust_pvalues",
    "by_deprivation",
    "cells_within",
    "change",
    "classify",
    "concentration",
    "count",
    "gistar",
    "grid",
    "kde",
    "kernel_scale",
    "local_moran",
    "neighbours",
    "overlap",
]
