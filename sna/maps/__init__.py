"""Maps for the assessment: publication-ready, offline, in the house style.

Static maps are matplotlib figures drawn from GeoDataFrames (every function returns the
``Figure``, and takes an optional ``ax``); they need no network: web tiles are off by
default, and an optional ``basemap=True`` adds them only when the optional package
``contextily`` is installed and the tiles can be fetched. Each map carries a scale bar, a
north arrow, optional district / partnership outlines with labels, and the source and Open
Government Licence attribution line.

- :func:`choropleth` -- a classified map of counts or rates (quantiles, natural breaks
  (seeded), Fisher-Jenks, equal intervals or given breaks);
- :func:`hotspot_map` -- Gi* classes (:func:`sna.hotspot.gistar`);
- :func:`lisa_map` -- local Moran clusters and outliers (:func:`sna.hotspot.local_moran`);
- :func:`kde_map` -- a density surface (:func:`sna.hotspot.kde`);
- :func:`persistence_map` -- persistent / emerging / former / intermittent hot and cold
  spots (:func:`sna.hotspot.classify`);
- :func:`small_multiples` -- one panel per year (or any period) on a shared legend;
- :func:`explore` -- an interactive map for JupyterLab (needs the optional ``folium``);
- :func:`to_geopackage` -- every layer into one GeoPackage for QGIS.

The package: :mod:`~sna.maps.classified` (:func:`choropleth` and its classes),
:mod:`~sna.maps.categorical` (the maps of classes and their colours),
:mod:`~sna.maps.density`, :mod:`~sna.maps.multiples` and :mod:`~sna.maps.export`, over what
every map is drawn on (input check, figure, scale bar, north arrow, outlines and their labels,
caption, legends) in ``sna.maps._frame`` and the zoom panels in ``sna.maps._insets``.

Colours come from :mod:`sna.plot.style` (colour-blind-safe Okabe-Ito hues; red for hot,
blue for cold).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> from sna import maps
>>> cells = gpd.GeoDataFrame({"n": [0, 3, 5, 9]},
...     geometry=[box(x * 500, y * 500, x * 500 + 500, y * 500 + 500)
...               for y in range(2) for x in range(2)], crs=27700)
>>> fig = maps.choropleth(cells, "n", k=2, title="Events")
>>> fig.axes[0].get_title(loc="left")
'Events'
"""

from __future__ import annotations

from ._frame import ATTRIBUTION
from ._insets import INSET_SHARE, MAX_INSETS
from .categorical import (
    CATEGORY_COLOURS,
    CLUSTER_COLOURS,
    HOTSPOT_COLOURS,
    hotspot_map,
    lisa_map,
    persistence_map,
)
from .classified import choropleth
from .density import kde_map
from .export import MissingDependencyError, explore, to_geopackage
from .multiples import small_multiples

__all__ = [
    "INSET_SHARE",
    "MAX_INSETS",
    "ATTRIBUTION",
    "CATEGORY_COLOURS",
    "CLUSTER_COLOURS",
    "HOTSPOT_COLOURS",
    "MissingDependencyError",
    "choropleth",
    "explore",
    "hotspot_map",
    "kde_map",
    "lisa_map",
    "persistence_map",
    "small_multiples",
    "to_geopackage",
]
