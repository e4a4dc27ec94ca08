"""The maps outside the report: an interactive map for JupyterLab (:func:`explore`, with the
optional folium) and every layer in one GeoPackage for QGIS (:func:`to_geopackage`).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from .._log import logger
from ..errors import AnalysisInputError, SnaError
from ..plot import style
from ._frame import BNG, prepare
from .categorical import CATEGORY_COLOURS, CLUSTER_COLOURS, HOTSPOT_COLOURS

__all__ = ["MissingDependencyError", "explore", "to_geopackage"]

if TYPE_CHECKING:  # pragma: no cover
    import folium


class MissingDependencyError(SnaError, ImportError):
    """An optional package is needed for this feature (the message says which to install)."""


def explore(data: gpd.GeoDataFrame, column: str | None = None, **kwargs) -> folium.Map:
    """An interactive map for JupyterLab (geopandas ``explore``), in the house colours.

    Parameters
    ----------
    data
        Any layer (counts, Gi*, local Moran, classify, KDE ...).
    column
        Column to colour by. Gi*, cluster and persistence classes get the colours of the
        static maps; numbers a classified sequential map.
    **kwargs
        Passed to :meth:`geopandas.GeoDataFrame.explore` (e.g. ``tooltip``, ``tiles``;
        ``tiles=None`` for no web tiles).

    Returns
    -------
    folium.Map

    Raises
    ------
    MissingDependencyError
        The optional package ``folium`` is not installed: ``pip install folium``.
    AnalysisInputError
        No geometry, or an unknown column.
    """
    if importlib.util.find_spec("folium") is None:
        raise MissingDependencyError(
            "sna.maps.explore needs the optional package folium for interactive maps; install "
            "it with `pip install folium` (static maps such as sna.maps.hotspot_map need no "
            "extra package)."
        )
    data = prepare(data, column)
    opts: dict[str, Any] = {
        "tiles": "OpenStreetMap",
        "style_kwds": {"weight": 0.5, "color": "white"},
    }
    if column is not None:
        labels = {str(v) for v in data[column].dropna()}
        for palette in (HOTSPOT_COLOURS, CLUSTER_COLOURS, CATEGORY_COLOURS):
            if labels and labels <= set(palette):
                order = [lab for lab in palette if lab in labels]
                opts.update(
                    categorical=True, categories=order, cmap=[palette[lab] for lab in order]
                )
                break
        else:
            if pd.api.types.is_numeric_dtype(data[column]):
                opts.update(scheme="quantiles", k=5, cmap=style.SEQUENTIAL_CMAP)
    opts.update(kwargs)
    plain = data.copy()
    for col in plain.columns:
        if col != plain.geometry.name and not (
            pd.api.types.is_numeric_dtype(plain[col]) or pd.api.types.is_bool_dtype(plain[col])
        ):
            plain[col] = plain[col].astype("string")
    return plain.to_crs(4326).explore(column=column, **opts)


_LAYER = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,62}$")


def to_geopackage(layers: Mapping[str, gpd.GeoDataFrame], path) -> Path:
    """Write every layer into one GeoPackage, for QGIS.

    Parameters
    ----------
    layers
        ``{layer name: GeoDataFrame}``, e.g. ``{"counts": ..., "gistar": ..., "lisa": ...,
        "kde": ..., "persistence": ...}``. Names: letters, digits, ``_`` and ``-``.
    path
        The ``.gpkg`` file; replaced if it exists (so a re-run does not append).

    Returns
    -------
    pathlib.Path
        The file written. Layers keep their CRS (British National Grid from
        :mod:`sna.hotspot`); text and categorical columns are written as text.

    Raises
    ------
    AnalysisInputError
        No layers, a bad layer name, or a layer that is not a GeoDataFrame with geometry.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd, pyogrio
    >>> from shapely.geometry import box
    >>> g = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=27700)
    >>> out = to_geopackage({"counts": g, "gistar": g.assign(hotspot="not significant")},
    ...                     pathlib.Path(tempfile.mkdtemp()) / "maps.gpkg")
    >>> sorted(name for name, _ in pyogrio.list_layers(out))
    ['counts', 'gistar']
    """
    if not layers:
        raise AnalysisInputError("to_geopackage: no layers to write.")
    for name, frame in layers.items():
        if not isinstance(name, str) or not _LAYER.match(name):
            raise AnalysisInputError(
                f"to_geopackage: layer name {name!r} must start with a letter and hold only "
                "letters, digits, '_' or '-' (at most 63 characters)."
            )
        if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
            raise AnalysisInputError(
                f"to_geopackage: layer {name!r} is not a GeoDataFrame with geometry."
            )
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        path = path.with_suffix(".gpkg")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    for name, frame in layers.items():
        out = frame.copy()
        out.attrs = {}
        if out.crs is None:
            out = out.set_crs(BNG)
            logger.info("to_geopackage: layer %r had no CRS; written as EPSG:27700", name)
        for col in out.columns:
            if col == out.geometry.name:
                continue
            s = out[col]
            if (
                isinstance(s.dtype, pd.CategoricalDtype)
                or s.dtype == object
                or pd.api.types.is_string_dtype(s)
            ):
                out[col] = s.astype("string").astype(object).where(s.notna(), None)
        if not isinstance(out.index, pd.RangeIndex):
            out = out.reset_index(names=out.index.name or "index")
        out.to_file(path, layer=name, driver="GPKG")
    logger.info("to_geopackage: wrote %d layer(s) to %s", len(layers), path)
    return path
