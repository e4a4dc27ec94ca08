"""Maps of classes: Gi* hot and cold spots (:func:`hotspot_map`), local Moran clusters and
outliers (:func:`lisa_map`) and hot-spot persistence (:func:`persistence_map`), in the house
colours, with zoom panels on the hot areas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from .._log import logger
from ..errors import AnalysisInputError
from ..plot import style
from ._frame import (
    MISSING,
    add_legend,
    decorate,
    declutter,
    draw_polygons,
    edge_width,
    keep_inside,
    legend_patch,
    map_figure,
    prepare,
    with_common,
)
from ._insets import draw_insets, figure_with_insets, inset_groups

__all__ = [
    "CATEGORY_COLOURS",
    "CLUSTER_COLOURS",
    "HOTSPOT_COLOURS",
    "hotspot_map",
    "lisa_map",
    "persistence_map",
]

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def _tint(colour: str, share: float) -> str:
    """``colour`` mixed with white: ``share`` = 1 is the colour, 0 is white."""
    from matplotlib.colors import to_hex, to_rgb

    rgb = np.array(to_rgb(colour))
    return to_hex(1 - share * (1 - rgb))


_HOT, _COLD, _NONE = style.HOT_COLD["hot"], style.HOT_COLD["cold"], style.HOT_COLD["none"]

#: Gi* class -> colour (ColorBrewer RdBu, colour-blind safe: the strongest hot spots
#: darkest red; even the 95% class is clearly red, not a pale tint; not significant light grey).
HOTSPOT_COLOURS: dict[str, str] = {
    "hot spot (99.9%)": "#B2182B",
    "hot spot (99%)": "#D6604D",
    "hot spot (95%)": "#F4A582",
    "not significant": _NONE,
    "cold spot (95%)": "#92C5DE",
    "cold spot (99%)": "#4393C3",
    "cold spot (99.9%)": "#2166AC",
}

#: Local Moran cluster -> colour.
CLUSTER_COLOURS: dict[str, str] = {
    "HH": _HOT,
    "HL": _tint(_HOT, 0.4),
    "LH": _tint(_COLD, 0.4),
    "LL": _COLD,
    "not significant": _NONE,
}
CLUSTER_NAMES = {
    "HH": "High-High: cluster of high values",
    "HL": "High-Low: high among low",
    "LH": "Low-High: low among high",
    "LL": "Low-Low: cluster of low values",
    "not significant": "Not significant",
}
HOTSPOT_NAMES = {
    label: (label.replace(" (", " ").rstrip(")")).capitalize() for label in HOTSPOT_COLOURS
}

#: Persistence class (``hotspot_category``) -> colour.
CATEGORY_COLOURS: dict[str, str] = {
    "persistent hot spot": "#B2182B",
    "emerging hot spot": style.PALETTE[1],  # orange: new, look here
    "intermittent hot spot": "#EF8A62",
    "former hot spot": "#FDDBC7",
    "mixed hot and cold spot": style.PALETTE[3],  # reddish purple
    "no pattern": _NONE,
    "former cold spot": "#D1E5F0",
    "intermittent cold spot": "#67A9CF",
    "emerging cold spot": style.PALETTE[2],  # bluish green
    "persistent cold spot": "#2166AC",
}
CATEGORY_NAMES = {label: label.capitalize() for label in CATEGORY_COLOURS}


def _focus(values: pd.Series, colours: Mapping[str, str]) -> np.ndarray:
    """The areas a zoom panel should show: the hot ones (hot spots, High-High and High-Low,
    hot persistence classes), else every significant one."""
    text = values.astype("object").where(values.notna(), "").astype(str)
    plain = {"", "not significant", "no pattern"}
    significant = ~text.isin(plain)
    hot = significant & (text.str.contains("hot") | text.isin(["HH", "HL"]))
    chosen = hot if hot.any() else significant
    return chosen.to_numpy(dtype=bool)


def _map_meta(fig, data, focus, described) -> None:
    """What the map shows, for the chapter's record: areas, focus areas, their share and the
    zoom panels drawn."""
    n = int(len(data))
    k = int(np.asarray(focus, dtype=bool).sum()) if focus is not None else 0
    fig._sna_map = {
        "areas": n,
        "focus_areas": k,
        "focus_share": round(k / n, 4) if n else 0.0,
        "insets": list(described),
    }


def _categorical(
    data,
    column,
    colours: Mapping[str, str],
    names: Mapping[str, str] | None,
    *,
    legend_title,
    title,
    outlines,
    outline_labels,
    source,
    note,
    scalebar,
    north_arrow,
    basemap,
    ax,
    figsize,
    all_classes,
    inset="auto",
):
    data = prepare(data, column)
    values = data[column].astype("object").where(data[column].notna(), None)
    unknown = sorted({str(v) for v in values.dropna()} - set(colours))
    if unknown:
        raise AnalysisInputError(
            f"column {column!r} has values this map does not know: {unknown[:5]}; expected "
            f"{list(colours)}.",
            column=column,
        )
    face = [colours.get(v, MISSING) if v is not None else MISSING for v in values]
    present = values.value_counts()
    handles = []
    for label, colour in colours.items():
        n = int(present.get(label, 0))
        if n or all_classes:
            handles.append(legend_patch(colour, f"{(names or {}).get(label, label)} ({n:,})"))
    if values.isna().any():
        handles.append(legend_patch(MISSING, f"No data ({int(values.isna().sum()):,})"))
    focus = _focus(values, colours)
    if ax is not None and inset not in (False, None):
        if inset is True:
            logger.info("a zoom panel needs a new figure: none drawn into the given ax")
        inset = False
    groups = inset_groups(data, focus, inset)
    with style.house_style():
        if groups:
            fig, ax, legend_ax, panels = figure_with_insets(figsize, data, len(groups),
                                                             len(handles))
        else:
            fig, ax = map_figure(ax, figsize, data)
            legend_ax, panels = None, []
        draw_polygons(ax, data.geometry, face, linewidth=edge_width(len(data)))
        if legend_ax is not None:
            add_legend(legend_ax, handles, legend_title, outside=None)
        else:
            add_legend(ax, handles, legend_title)
        decorate(
            fig,
            ax,
            data,
            title=title,
            outlines=outlines,
            outline_labels=outline_labels,
            source=source,
            note=note,
            scalebar=scalebar,
            north_arrow=north_arrow,
            basemap=basemap,
        )
        described = draw_insets(fig, ax, panels, groups, data, face) if groups else []
        declutter(fig, ax, avoid=getattr(ax, "_sna_frames", []))
        keep_inside(fig)
    _map_meta(fig, data, focus, described)
    if described:
        logger.info("map of %r: zoom panel(s) on %s", column,
                    ", ".join(f"{d['letter']} ({d['areas']} areas, {d['place']})"
                              for d in described))
    return fig


@with_common
def hotspot_map(
    data: gpd.GeoDataFrame,
    *,
    column: str = "hotspot",
    legend_title: str | None = "Getis-Ord Gi*",
    all_classes: bool = False,
    title: str | None = None,
    outlines=None,
    outline_labels: bool = True,
    source: str | None = None,
    note: str | None = None,
    scalebar: bool = True,
    north_arrow: bool = True,
    basemap: bool = False,
    ax=None,
    figsize: tuple[float, float] = (7.5, 7.0),
    inset: bool | Literal["auto"] = "auto",
) -> Figure:
    """Gi* hot and cold spots (the ``hotspot`` column of :func:`sna.hotspot.gistar`).

    Parameters
    ----------
    data
        The output of :func:`sna.hotspot.gistar`.
    column
        The class column (default ``"hotspot"``).
    legend_title
        Legend title. Each class shows its number of areas.
    all_classes
        List every class in the legend, even those with no area (default: present ones).
    {inset}
    {common}

    Returns
    -------
    matplotlib.figure.Figure
        Hot spots in red (darker = stronger: 99.9 %, 99 %, 95 %), cold spots in blue, the
        rest light grey.

    Raises
    ------
    AnalysisInputError
        No geometry, no such column, or classes this map does not know.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> g = gpd.GeoDataFrame({"hotspot": ["hot spot (99%)", "not significant"]},
    ...     geometry=[box(0, 0, 500, 500), box(500, 0, 1000, 500)], crs=27700)
    >>> fig = hotspot_map(g)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['Hot spot 99% (1)', 'Not significant (1)']
    """
    return _categorical(
        data,
        column,
        HOTSPOT_COLOURS,
        HOTSPOT_NAMES,
        legend_title=legend_title,
        title=title,
        outlines=outlines,
        outline_labels=outline_labels,
        source=source,
        note=note,
        scalebar=scalebar,
        north_arrow=north_arrow,
        basemap=basemap,
        ax=ax,
        figsize=figsize,
        all_classes=all_classes,
        inset=inset,
    )


@with_common
def lisa_map(
    data: gpd.GeoDataFrame,
    *,
    column: str = "cluster",
    legend_title: str | None = "Local Moran's I",
    all_classes: bool = False,
    title: str | None = None,
    outlines=None,
    outline_labels: bool = True,
    source: str | None = None,
    note: str | None = None,
    scalebar: bool = True,
    north_arrow: bool = True,
    basemap: bool = False,
    ax=None,
    figsize: tuple[float, float] = (7.5, 7.0),
    inset: bool | Literal["auto"] = "auto",
) -> Figure:
    """Local Moran clusters and outliers (the ``cluster`` column of
    :func:`sna.hotspot.local_moran`).

    Parameters
    ----------
    data
        The output of :func:`sna.hotspot.local_moran`.
    column
        ``"cluster"`` (default: significant quadrants only) or ``"quadrant"`` (all).
    legend_title, all_classes
        As :func:`hotspot_map`.
    {inset}
    {common}

    Returns
    -------
    matplotlib.figure.Figure
        High-High red, Low-Low blue, the outliers High-Low and Low-High in light red and
        light blue, the rest light grey.

    Raises
    ------
    AnalysisInputError
        No geometry, no such column, or unknown classes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> g = gpd.GeoDataFrame({"cluster": ["HH", "not significant"]},
    ...     geometry=[box(0, 0, 500, 500), box(500, 0, 1000, 500)], crs=27700)
    >>> fig = lisa_map(g)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['High-High: cluster of high values (1)', 'Not significant (1)']
    """
    return _categorical(
        data,
        column,
        CLUSTER_COLOURS,
        CLUSTER_NAMES,
        legend_title=legend_title,
        title=title,
        outlines=outlines,
        outline_labels=outline_labels,
        source=source,
        note=note,
        scalebar=scalebar,
        north_arrow=north_arrow,
        basemap=basemap,
        ax=ax,
        figsize=figsize,
        all_classes=all_classes,
        inset=inset,
    )


@with_common
def persistence_map(
    data: gpd.GeoDataFrame,
    *,
    column: str = "hotspot_category",
    legend_title: str | None = "Hot spot pattern",
    all_classes: bool = False,
    title: str | None = None,
    outlines=None,
    outline_labels: bool = True,
    source: str | None = None,
    note: str | None = None,
    scalebar: bool = True,
    north_arrow: bool = True,
    basemap: bool = False,
    ax=None,
    figsize: tuple[float, float] = (7.5, 7.0),
    inset: bool | Literal["auto"] = "auto",
) -> Figure:
    """Persistent, emerging, intermittent and former hot and cold spots (the
    ``hotspot_category`` column of :func:`sna.hotspot.classify`).

    Parameters
    ----------
    data
        The output of :func:`sna.hotspot.classify`.
    column
        The class column (default ``"hotspot_category"``).
    legend_title, all_classes
        As :func:`hotspot_map`.
    {inset}
    {common}

    Returns
    -------
    matplotlib.figure.Figure
        Persistent hot spots dark red, emerging orange, intermittent light red, former
        pale; cold spots in blues (emerging green); mixed purple; no pattern light grey.

    Raises
    ------
    AnalysisInputError
        No geometry, no such column, or unknown classes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> g = gpd.GeoDataFrame({"hotspot_category": ["emerging hot spot", "no pattern"]},
    ...     geometry=[box(0, 0, 500, 500), box(500, 0, 1000, 500)], crs=27700)
    >>> len(persistence_map(g).axes)
    1
    """
    return _categorical(
        data,
        column,
        CATEGORY_COLOURS,
        CATEGORY_NAMES,
        legend_title=legend_title,
        title=title,
        outlines=outlines,
        outline_labels=outline_labels,
        source=source,
        note=note,
        scalebar=scalebar,
        north_arrow=north_arrow,
        basemap=basemap,
        ax=ax,
        figsize=figsize,
        all_classes=all_classes,
        inset=inset,
    )
