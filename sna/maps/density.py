"""A kernel density surface on the map (:func:`kde_map`), clipped at the study area's edge."""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import AnalysisInputError
from ..plot import style
from ._frame import (
    decorate,
    declutter,
    draw_polygons,
    keep_inside,
    map_figure,
    polygon_path,
    prepare,
    with_common,
)

__all__ = ["kde_map"]

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


@with_common
def kde_map(
    data: gpd.GeoDataFrame,
    *,
    column: str = "kde",
    cmap: str = style.SEQUENTIAL_CMAP,
    legend_title: str | None = "Events per km²",
    hide_below: float | None = None,
    area=None,
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
) -> Figure:
    """A kernel density surface (the ``kde`` column of :func:`sna.hotspot.kde`).

    Parameters
    ----------
    data
        The output of :func:`sna.hotspot.kde` (grid cells).
    column
        The density column (default ``"kde"``).
    cmap
        Continuous colour map (default YlOrRd), shown with a colour bar.
    legend_title
        Colour bar label (default "Events per km²").
    hide_below
        Leave cells below this share of the maximum density unfilled (e.g. 0.05), to show
        only the denser areas; ``None`` (default) fills every cell.
    area
        The study area (e.g. the geography's LSOAs): the surface is clipped exactly at its
        boundary, and the area under the surface is drawn in the colour of zero density, so
        that the surface reaches the boundary even where a grid cell is missing (cells whose
        centre lies outside, or a surface computed only over the events' extent).
    {common}

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    AnalysisInputError
        No geometry, no such column, or no positive density.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> g = gpd.GeoDataFrame({"kde": [0.0, 1.5, 4.0]},
    ...     geometry=[box(i * 500, 0, i * 500 + 500, 500) for i in range(3)], crs=27700)
    >>> len(kde_map(g).axes)  # the map and its colour bar
    2
    """
    import matplotlib as mpl

    data = prepare(data, column)
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
    vmax = np.nanmax(values) if np.isfinite(values).any() else np.nan
    if not vmax > 0:
        raise AnalysisInputError(
            f"column {column!r} has no positive density to map.", column=column
        )
    with style.house_style():
        fig, ax = map_figure(ax, figsize, data)
        show = np.isfinite(values)
        if hide_below:
            show &= values >= hide_below * vmax
        norm = mpl.colors.Normalize(vmin=0, vmax=vmax)
        # the study area under the surface: faint grey, or, given the area, zero density
        clip = None
        if area is not None:
            shape = prepare(area if isinstance(area, gpd.GeoDataFrame)
                             else gpd.GeoDataFrame(geometry=gpd.GeoSeries(area)), None, "area")
            whole = shape.geometry.buffer(2).union_all().buffer(-2)
            draw_polygons(ax, [whole], mpl.colormaps[cmap](0.0), edgecolor="none", linewidth=0,
                  zorder=1)
            from matplotlib.patches import PathPatch

            clip = PathPatch(polygon_path(whole), transform=ax.transData, facecolor="none",
                             edgecolor="none")
        else:
            draw_polygons(ax, data.geometry, "#f7f7f7", edgecolor="none", linewidth=0, zorder=1)
        # cell edges in the face colour: no hairline seams between cells
        colours = mpl.colormaps[cmap](norm(values[show]))
        cells = draw_polygons(ax, data.geometry[show], colours, edgecolor=colours, linewidth=0.4,
                      zorder=2)
        if clip is not None and cells is not None:
            cells.set_clip_path(clip)
        sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
        cb = fig.colorbar(sm, ax=ax, shrink=0.6, pad=0.02, location="right")
        cb.set_label(legend_title or column, fontsize=9)
        cb.ax.tick_params(labelsize=8)
        cb.outline.set_visible(False)
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
        declutter(fig, ax)
        keep_inside(fig)
    return fig
