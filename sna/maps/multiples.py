"""Small multiples: one small map per year (or any period) on one shared legend
(:func:`small_multiples`), numbers classified once over every panel, or classes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import pandas as pd

from ..errors import AnalysisInputError
from ..plot import style
from ._frame import (
    MISSING,
    add_caption,
    decorate,
    draw_polygons,
    edge_width,
    keep_inside,
    legend_patch,
    prepare,
)
from .categorical import (
    CATEGORY_COLOURS,
    CATEGORY_NAMES,
    CLUSTER_COLOURS,
    CLUSTER_NAMES,
    HOTSPOT_COLOURS,
    HOTSPOT_NAMES,
)
from .classified import Scheme, assign_classes, class_bounds, class_colours, class_labels

__all__ = ["small_multiples"]

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def small_multiples(
    data: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame],
    column: str,
    *,
    by: str = "fy",
    kind: Literal["auto", "choropleth", "hotspot", "lisa", "persistence"] = "auto",
    scheme: Scheme = "quantiles",
    k: int = 5,
    bins: Sequence[float] | None = None,
    cmap: str = style.SEQUENTIAL_CMAP,
    ncols: int = 3,
    legend_title: str | None = None,
    decimals: int | None = None,
    seed: int = 12345,
    title: str | None = None,
    outlines=None,
    source: str | None = None,
    note: str | None = None,
    panel_size: float = 3.2,
) -> Figure:
    """One small map per year (or any period) on one shared legend.

    Parameters
    ----------
    data
        Either one GeoDataFrame in long form (one row per area and period, the period in
        column ``by``) or a mapping ``{label: GeoDataFrame}`` (e.g. one Gi* result per
        financial year).
    column
        The column to map (numbers, or Gi* / cluster / persistence classes).
    by
        The period column of a long table (default ``"fy"``); panels follow its sorted
        values.
    kind
        ``"auto"`` (default: classes if the column holds the labels of
        :func:`sna.hotspot.gistar`, :func:`~sna.hotspot.local_moran` or
        :func:`~sna.hotspot.classify`, else a choropleth), or one of those explicitly.
    scheme, k, bins, cmap, decimals, seed
        The classification of a choropleth, computed once over every panel so that the
        panels compare (see :func:`choropleth`).
    ncols
        Panels per row (default 3).
    legend_title
        Legend title (default: the column).
    title
        Overall title.
    outlines
        District / partnership outlines, as in :func:`choropleth` (no labels on small maps).
    source, note
        Caption (the attribution line is always added).
    panel_size
        Width of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per panel (titled with its label), plus a shared legend.

    Raises
    ------
    AnalysisInputError
        No panels, no geometry, or a missing column.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely.geometry import box
    >>> cells = [box(0, 0, 500, 500), box(500, 0, 1000, 500)]
    >>> long = gpd.GeoDataFrame({"fy": ["2019/20"] * 2 + ["2020/21"] * 2, "n": [1, 4, 2, 8]},
    ...                         geometry=cells * 2, crs=27700)
    >>> fig = small_multiples(long, "n", k=2)
    >>> [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    ['2019/20', '2020/21']
    """
    panels = _panels(data, column, by)
    all_values = pd.concat([p[column] for _, p in panels], ignore_index=True)
    if kind == "auto":
        kind = _kind_of(all_values)
    import matplotlib.pyplot as plt

    n = len(panels)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    with style.house_style():
        fig, axes = plt.subplots(
            nrows,
            ncols,
            figsize=(panel_size * ncols + 2.2, panel_size * nrows + 0.9),
            layout="constrained",
            squeeze=False,
        )
        face, handles, default_title = _colouring(
            kind, all_values, scheme=scheme, k=k, bins=bins, cmap=cmap, decimals=decimals,
            seed=seed,
        )
        legend_title = legend_title or default_title
        for i, (label, frame) in enumerate(panels):
            _draw_panel(fig, axes[i // ncols][i % ncols], label, frame, face(frame[column]),
                        outlines=outlines, first=i == 0)
        for j in range(n, nrows * ncols):
            axes[j // ncols][j % ncols].set_axis_off()
        fig.legend(
            handles=handles,
            title=legend_title or column,
            loc="outside right upper",
            fontsize=8,
            title_fontsize=9,
            frameon=False,
        )
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
        add_caption(fig, source, note)
        keep_inside(fig)
    return fig


def _panels(data, column: str, by: str) -> list[tuple[str, gpd.GeoDataFrame]]:
    """The panels, ``(label, frame)`` in order: a mapping's items, or a long table's periods
    (sorted)."""
    if isinstance(data, Mapping):
        panels = [
            (str(key), prepare(frame, column, f"panel {key!r}")) for key, frame in data.items()
        ]
    else:
        base = prepare(data, column)
        if by not in base.columns:
            raise AnalysisInputError(
                f"small_multiples: no period column {by!r}; pass by= the column that holds the "
                "year / period, or a dict of one GeoDataFrame per period.",
                column=by,
            )
        panels = [(str(key), frame) for key, frame in base.groupby(by, sort=True)]
    if not panels:
        raise AnalysisInputError("small_multiples: there are no panels to draw.")
    return panels


def _kind_of(values: pd.Series) -> str:
    """The map a column asks for: Gi*, cluster or persistence classes, else a choropleth."""
    labels = {str(v) for v in values.dropna()}
    return (
        "hotspot"
        if labels and labels <= set(HOTSPOT_COLOURS)
        else "lisa"
        if labels and labels <= set(CLUSTER_COLOURS)
        else "persistence"
        if labels and labels <= set(CATEGORY_COLOURS)
        else "choropleth"
    )


def _colouring(kind: str, all_values: pd.Series, *, scheme, k, bins, cmap, decimals, seed):
    """One colouring for every panel: a function from a panel's column to its face colours,
    the shared legend's entries, and the legend's default title (None for a choropleth,
    whose classes are computed once over every panel)."""
    if kind == "choropleth":
        values = pd.to_numeric(all_values, errors="coerce").to_numpy(dtype=float)
        cut = class_bounds(values, scheme, k, bins, seed)
        labels = class_labels(cut, values, decimals)
        colours = class_colours(cmap, len(cut))
        handles = [legend_patch(c, lab) for c, lab in zip(colours, labels, strict=True)]

        def face(column: pd.Series) -> list[str]:
            v = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            return [colours[c] if c >= 0 else MISSING for c in assign_classes(v, cut)]

        return face, handles, None
    palette, names, default_title = {
        "hotspot": (HOTSPOT_COLOURS, HOTSPOT_NAMES, "Getis-Ord Gi*"),
        "lisa": (CLUSTER_COLOURS, CLUSTER_NAMES, "Local Moran's I"),
        "persistence": (CATEGORY_COLOURS, CATEGORY_NAMES, "Hot spot pattern"),
    }[kind]
    present = {str(v) for v in all_values.dropna()}
    handles = [
        legend_patch(c, (names or {}).get(lab, lab))
        for lab, c in palette.items()
        if lab in present
    ]

    def face(column: pd.Series) -> list[str]:
        return [palette.get(str(v), MISSING) if pd.notna(v) else MISSING for v in column]

    return face, handles, default_title


def _draw_panel(fig, ax, label: str, frame: gpd.GeoDataFrame, face, *, outlines,
                first: bool) -> None:
    """One panel titled with its label; only the first carries the scale bar and north arrow."""
    draw_polygons(ax, frame.geometry, face, linewidth=edge_width(len(frame)) / 2)
    ax.set_title(label, loc="left", fontsize=10, fontweight="bold")
    decorate(
        fig,
        ax,
        frame,
        title=None,
        outlines=outlines,
        outline_labels=False,
        source=None,
        note=None,
        scalebar=first,
        north_arrow=first,
        basemap=False,
        caption=False,
    )
