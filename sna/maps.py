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

import importlib.util
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from ._log import logger
from .errors import AnalysisInputError, SnaError
from .plot import style

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

if TYPE_CHECKING:  # pragma: no cover
    import folium
    from matplotlib.figure import Figure

BNG = "EPSG:27700"

#: The licence line printed under every map (OS boundaries and OGL data).
ATTRIBUTION = (
    "Contains OS data © Crown copyright and database right. Contains public sector "
    "information licensed under the Open Government Licence v3.0."
)


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
_CLUSTER_NAMES = {
    "HH": "High-High: cluster of high values",
    "HL": "High-Low: high among low",
    "LH": "Low-High: low among high",
    "LL": "Low-Low: cluster of low values",
    "not significant": "Not significant",
}
_HOTSPOT_NAMES = {
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
_CATEGORY_NAMES = {label: label.capitalize() for label in CATEGORY_COLOURS}
_MISSING = "#ffffff"


class MissingDependencyError(SnaError, ImportError):
    """An optional package is needed for this feature (the message says which to install)."""


# --------------------------------------------------------------------------------------------
# shared pieces
# --------------------------------------------------------------------------------------------


def _prepare(data, column: str | None, what: str = "data") -> gpd.GeoDataFrame:
    if not isinstance(data, gpd.GeoDataFrame) or data.geometry.name not in data.columns:
        raise AnalysisInputError(
            f"{what} has no geometry: a map needs a GeoDataFrame (e.g. the output of "
            "sna.hotspot.count or gistar on the geography)."
        )
    if len(data) == 0:
        raise AnalysisInputError(f"{what} is empty: nothing to map.")
    if column is not None and column not in data.columns:
        raise AnalysisInputError(
            f"{what} has no column {column!r} (columns: {list(data.columns)[:12]}).", column=column
        )
    if data.crs is None:
        logger.info("%s has no CRS; assumed British National Grid (EPSG:27700)", what)
        return data.set_crs(BNG)
    if data.crs.to_epsg() != 27700:
        logger.info("%s: reprojected from %s to British National Grid for the map", what, data.crs)
        return data.to_crs(BNG)
    return data


#: Width (inches) a single map keeps beside the map itself for its legend or colour bar.
_LEGEND_ROOM = 2.3
#: Height (inches) a single map keeps for its title and caption.
_TEXT_ROOM = 1.3


def _fit_figsize(figsize, data=None):
    """Narrow a map's figure to the area's shape: a tall county in a wide figure leaves an
    empty band beside the map. Never wider than asked, never narrower than 4.5 inches.

    >>> from shapely.geometry import box
    >>> tall = gpd.GeoDataFrame(geometry=[box(0, 0, 40_000, 80_000)], crs=27700)
    >>> _fit_figsize((7.5, 7.0), tall)
    (5.15, 7.0)
    >>> wide = gpd.GeoDataFrame(geometry=[box(0, 0, 80_000, 40_000)], crs=27700)
    >>> _fit_figsize((7.5, 7.0), wide)
    (7.5, 7.0)
    """
    if data is None or len(data) == 0:
        return figsize
    xmin, ymin, xmax, ymax = data.total_bounds
    if not (np.isfinite([xmin, ymin, xmax, ymax]).all() and xmax > xmin and ymax > ymin):
        return figsize
    width, height = figsize
    map_w = max(height - _TEXT_ROOM, 1.0) * (xmax - xmin) / (ymax - ymin)
    return (round(float(min(width, max(4.5, map_w + _LEGEND_ROOM))), 2), height)


def _figure(ax, figsize, data=None):
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=_fit_figsize(figsize, data), layout="constrained")
    return fig, ax


def _path(geom):
    """A matplotlib Path of a (multi)polygon: every ring closed, holes kept."""
    from matplotlib.path import Path as MPath

    verts, codes = [], []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)[:, :2]
            if len(xy) < 3:
                continue
            c = np.full(len(xy), MPath.LINETO, dtype=np.uint8)
            c[0], c[-1] = MPath.MOVETO, MPath.CLOSEPOLY
            verts.append(xy)
            codes.append(c)
    if not verts:
        return MPath(np.zeros((1, 2)), [MPath.MOVETO])
    return MPath(np.concatenate(verts), np.concatenate(codes))


def _draw(ax, geoms, facecolor, *, edgecolor="white", linewidth=0.3, zorder=2, hatch=None):
    """Draw polygons as one collection (no intermediate redraw, fast on large grids)."""
    from matplotlib.collections import PathCollection

    geoms = list(geoms)
    if not geoms:
        return None
    coll = PathCollection(
        [_path(g) for g in geoms],
        facecolors=facecolor,
        edgecolors=edgecolor,
        linewidths=linewidth,
        zorder=zorder,
        hatch=hatch,
    )
    ax.add_collection(coll, autolim=True)
    ax.autoscale_view()
    return coll


def _edge_width(n: int) -> float:
    return 0.3 if n <= 2_000 else 0.0


def _nice_length(width_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 x 10^k metres) near a fifth of the map width."""
    target = width_m / 5
    if target <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(target))
    for m in (5, 2, 1):
        if m * exp <= target:
            return m * exp
    return exp


def _scalebar(ax, *, fontsize: float = 7, data=None) -> None:
    """A thin, unobtrusive scale bar: one bar with its length written under it.

    The text sits a few points below the bar (offsets in points, not in map units, so it
    never touches the bar whatever the map's shape) in the lower corner, left or right,
    that holds fewer of the map's features.
    """
    import matplotlib.font_manager as fm
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    loc = "lower left"
    if data is not None and len(data):
        w, h = (x1 - x0) * 0.25, (y1 - y0) * 0.1
        sidx = data.sindex
        left = len(sidx.query(_box(x0, y0, x0 + w, y0 + h)))
        right = len(sidx.query(_box(x1 - w, y0, x1, y0 + h)))
        loc = "lower right" if right < left else "lower left"
    bar = AnchoredSizeBar(
        ax.transData,
        length,
        label,
        loc,
        pad=0.3,
        borderpad=0.4,
        sep=3,
        frameon=False,
        size_vertical=(y1 - y0) * 0.004,
        color="#333333",
        label_top=False,
        fontproperties=fm.FontProperties(size=fontsize),
    )
    bar.set_zorder(20)
    bar._sna_scalebar = True
    ax.add_artist(bar)


def _box(x0, y0, x1, y1):
    from shapely.geometry import box

    return box(x0, y0, x1, y1)


def _north_arrow(ax) -> None:
    ax.annotate(
        "N",
        xy=(0.95, 0.96),
        xytext=(0.95, 0.86),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=9,
        fontweight="bold",
        arrowprops={"arrowstyle": "-|>", "facecolor": "#222222", "edgecolor": "#222222", "lw": 1.2},
        zorder=20,
    )


def _dissolve(frame: gpd.GeoDataFrame, by: str) -> gpd.GeoDataFrame:
    """Dissolve by a column, closing the slivers of generalised boundaries (2 m snap)."""
    snap = 2.0
    work = gpd.GeoDataFrame(
        {by: frame[by].to_numpy()}, geometry=frame.geometry.buffer(snap).to_numpy(), crs=frame.crs
    )
    out = work.dissolve(by=by).reset_index()
    out[out.geometry.name] = [_drop_specks(g, snap**2) for g in out.geometry.buffer(-snap)]
    return out


def _drop_specks(geom, min_area: float):
    """Remove the tiny parts a negative buffer can leave behind."""
    from shapely.geometry import MultiPolygon

    if geom.geom_type != "MultiPolygon":
        return geom
    parts = [p for p in geom.geoms if p.area >= min_area]
    if not parts:
        return geom
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def _outline_frame(data: gpd.GeoDataFrame, outlines) -> tuple[gpd.GeoDataFrame | None, str | None]:
    if outlines is None or outlines is False:
        return None, None
    if isinstance(outlines, tuple) and len(outlines) == 2:
        frame, by = outlines
        frame = _prepare(frame, by, "outlines")
        return _dissolve(frame, by), by
    if isinstance(outlines, str):
        if outlines not in data.columns:
            raise AnalysisInputError(
                f"outlines={outlines!r} is not a column of the data; give a column to dissolve "
                "by (e.g. 'district' or 'partnership'), a GeoDataFrame of boundaries, or a "
                "(GeoDataFrame, column) pair such as (geography, 'district').",
                column=outlines,
            )
        return _dissolve(data, outlines), outlines
    if isinstance(outlines, gpd.GeoDataFrame):
        frame = _prepare(outlines, None, "outlines")
        label = next(
            (
                c
                for c in ("name", "district_name", "partnership", "district", "lsoa")
                if c in frame.columns
            ),
            None,
        )
        return frame, label
    raise AnalysisInputError("outlines must be a column name or a GeoDataFrame of boundaries.")


def _decorate(
    fig,
    ax,
    data: gpd.GeoDataFrame,
    *,
    title: str | None,
    outlines,
    outline_labels: bool,
    source: str | None,
    note: str | None,
    scalebar: bool,
    north_arrow: bool,
    basemap: bool,
    caption: bool = True,
) -> None:
    frame, label_col = _outline_frame(data, outlines)
    ax._sna_outlines = (frame, label_col)
    ax._sna_labels = []
    if frame is not None:
        _draw(ax, frame.geometry, "none", edgecolor="#222222", linewidth=1.0, zorder=10)
        if outline_labels and label_col is not None and len(frame) > 1:
            # one outline is the whole area, named in the title: its label would only hide
            # the middle of the map
            ax._sna_labels = []
            for _, row in frame.iterrows():
                t = _label(ax, row.geometry.representative_point(), str(row[label_col]))
                t._sna_geom = row.geometry
                ax._sna_labels.append(t)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if basemap:
        _add_basemap(ax)
    if title:
        ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
    if scalebar:
        _scalebar(ax, data=data)
    if north_arrow:
        _north_arrow(ax)
    if caption:
        _caption(fig, source, note, basemap_used=getattr(ax, "_sna_basemap", None))


def _label(ax, pt, text: str, *, fontsize: float = 8, weight: str = "bold", colour="#222222"):
    import matplotlib.patheffects as pe

    return ax.text(
        pt.x,
        pt.y,
        text,
        ha="center",
        va="center",
        fontsize=fontsize,
        fontweight=weight,
        color=colour,
        zorder=15,
        path_effects=[pe.withStroke(linewidth=2.5, foreground="white")],
    )


def _declutter(fig, ax, avoid=()) -> int:
    """Place the area labels of ``ax`` so that no two overlap, nor any of ``avoid``.

    Largest areas first, each label goes to the first free spot inside its own area: its
    representative point, then points of a grid over the area nearest to it. A label with
    no free spot inside its area (a small city among large districts) goes to the nearest
    free spot around it, with a thin leader line back to its area. Deterministic. Returns
    the number of labels that still overlap something (0 when all fitted).
    """
    texts = [t for t in getattr(ax, "_sna_labels", []) if t.get_text()]
    if not texts:
        return 0
    fig.canvas.draw()  # the final layout: labels are measured in display space
    renderer = fig.canvas.get_renderer()
    if len(texts) < 2 and not avoid:
        return 0
    from matplotlib.transforms import Bbox

    to_px = ax.transData.transform
    frame = ax.get_window_extent(renderer)
    taken = [o.get_window_extent(renderer).expanded(1.05, 1.1) for o in avoid]
    clashes = 0

    def free(cx, cy, w, h):
        box = Bbox.from_bounds(cx - w / 2, cy - h / 2, w, h)
        inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0
                  and box.y1 <= frame.y1)
        return inside and not any(box.overlaps(o) for o in taken), box

    order = sorted(texts, key=lambda t: -getattr(t, "_sna_geom", None).area
                   if getattr(t, "_sna_geom", None) is not None else 0.0)
    for t in order:
        geom = getattr(t, "_sna_geom", None)
        ext = t.get_window_extent(renderer)
        w, h = ext.width * 1.08, ext.height * 1.15
        home = np.array(t.get_position(), dtype=float)
        spots = [home]
        if geom is not None:
            x0, y0, x1, y1 = geom.bounds
            gx, gy = np.meshgrid(np.linspace(x0, x1, 13)[1:-1], np.linspace(y0, y1, 13)[1:-1])
            pts = np.c_[gx.ravel(), gy.ravel()]
            from shapely import contains_xy

            pts = pts[contains_xy(geom, pts[:, 0], pts[:, 1])]
            pts = pts[np.argsort(np.hypot(*(pts - home).T), kind="stable")]
            spots += list(pts)
        placed = False
        for xy in spots:
            cx, cy = to_px(xy)
            ok, box = free(cx, cy, w, h)
            if ok:
                t.set_position(tuple(xy))
                taken.append(box)
                placed = True
                break
        if placed:
            continue
        # outside its area: rings of spots around it, nearest first, with a leader line
        cx0, cy0 = to_px(home)
        for radius in np.arange(1.0, 8.0, 0.5) * h:
            for angle in np.deg2rad([90, 270, 45, 135, 225, 315, 0, 180]):
                cx, cy = cx0 + radius * np.cos(angle) * 1.6, cy0 + radius * np.sin(angle)
                ok, box = free(cx, cy, w, h)
                if ok:
                    break
            if ok:
                break
        if not ok:
            clashes += 1
            taken.append(Bbox.from_bounds(cx0 - w / 2, cy0 - h / 2, w, h))
            continue
        xy = ax.transData.inverted().transform((cx, cy))
        t.set_visible(False)
        label = ax.annotate(
            t.get_text(), xy=tuple(home), xytext=tuple(xy), ha="center", va="center",
            fontsize=t.get_fontsize(), fontweight=t.get_fontweight(), color=t.get_color(),
            zorder=t.get_zorder(), path_effects=t.get_path_effects(),
            arrowprops={"arrowstyle": "-", "color": "#444444", "lw": 0.6, "shrinkA": 0,
                        "shrinkB": 2},
        )
        label._sna_geom = geom
        ax._sna_labels[ax._sna_labels.index(t)] = label
        t.remove()
        taken.append(box)
    return clashes


def _overlaps(fig, texts, others=None) -> int:
    """How many pairs of these texts overlap on the drawn figure (or, given ``others``, how
    many text-other pairs)."""
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    if others is not None:
        more = [o.get_window_extent(renderer) for o in others]
        return sum(b.overlaps(o) for b in boxes for o in more)
    return sum(
        boxes[i].overlaps(boxes[j]) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
    )


# --------------------------------------------------------------------------------------------
# insets: zoom panels on the significant areas
# --------------------------------------------------------------------------------------------

#: Automatic insets are drawn when the areas to zoom on are fewer than this share of all.
INSET_SHARE = 0.10
#: At most this many zoom panels on one map.
MAX_INSETS = 2
_LETTERS = "ABCDEFGH"


def _inset_groups(
    data: gpd.GeoDataFrame, focus: np.ndarray, inset: bool | str, *, max_insets: int = MAX_INSETS
) -> list[np.ndarray]:
    """The groups of focus areas that get a zoom panel: arrays of row positions.

    Focus areas closer than a gap (4% of the map's extent, at least 1 km) form one group;
    the largest groups come first. With ``inset="auto"`` a panel is drawn only when the
    focus areas are fewer than :data:`INSET_SHARE` of all areas, and only for a group small
    enough on the map (at most half its width and height) for a zoom to show more.
    """
    if inset is False or inset is None or max_insets < 1:
        return []
    focus = np.asarray(focus, dtype=bool)
    n = int(focus.sum())
    if n == 0 or (inset == "auto" and n / len(data) >= INSET_SHARE):
        return []
    xmin, ymin, xmax, ymax = data.total_bounds
    width, height = max(xmax - xmin, 1.0), max(ymax - ymin, 1.0)
    gap = max(1000.0, 0.04 * max(width, height))
    where = np.flatnonzero(focus)
    geoms = data.geometry.iloc[where]
    parts = geoms.buffer(gap / 2).union_all()
    parts = list(getattr(parts, "geoms", [parts]))
    reps = geoms.representative_point()
    groups = []
    for part in parts:
        inside = where[np.asarray(reps.within(part))]
        if len(inside):
            groups.append(inside)
    groups.sort(key=lambda g: (-len(g), int(g[0])))
    keep = []
    for g in groups:
        gx0, gy0, gx1, gy1 = data.geometry.iloc[g].total_bounds
        small = (gx1 - gx0) <= 0.5 * width and (gy1 - gy0) <= 0.5 * height
        if small or (inset is True and not keep):
            keep.append(g)
        if len(keep) == max_insets:
            break
    return keep


def _inset_extent(data, rows, pad: float = 0.35) -> tuple[float, float, float, float]:
    """The box a zoom panel shows: the group's bounds padded, at least 5% of the map wide."""
    xmin, ymin, xmax, ymax = data.total_bounds
    least = 0.05 * max(xmax - xmin, ymax - ymin)
    x0, y0, x1, y1 = data.geometry.iloc[rows].total_bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = max(x1 - x0, y1 - y0, least) * (0.5 + pad)
    return cx - half, cy - half, cx + half, cy + half


def _place_of(data, rows, frame, label_col) -> str | None:
    """The name of the place a group of areas lies in: the outline (district) holding most of
    them, else the areas' own district column."""
    reps = data.geometry.iloc[rows].representative_point()
    if frame is not None and label_col is not None:
        names = []
        for pt in reps:
            hit = frame.loc[frame.geometry.contains(pt), label_col]
            if len(hit):
                names.append(str(hit.iloc[0]))
        if names:
            return pd.Series(names).value_counts().index[0]
    for col in ("district_name", "district", "partnership"):
        if col in data.columns:
            vals = data[col].iloc[rows].dropna().astype(str)
            if len(vals):
                return vals.value_counts().index[0]
    return None


def _figure_with_insets(figsize, data, n_insets: int, n_legend: int):
    """A figure with the map on the left and, on the right, the legend over the zoom panels."""
    import matplotlib.pyplot as plt

    width, height = figsize
    xmin, ymin, xmax, ymax = data.total_bounds
    map_h = max(height - _TEXT_ROOM, 1.0)
    map_w = map_h * (xmax - xmin) / max(ymax - ymin, 1.0)
    right = 2.7
    fig_w = round(float(min(max(width, 6.5), max(5.5, map_w + right))), 2)
    fig = plt.figure(figsize=(fig_w, height), layout="constrained")
    legend_h = 0.45 + 0.2 * n_legend
    # panels at most a little taller than wide: a tall panel would widen the zoomed extent
    panel_h = min(max((map_h - legend_h) / n_insets, 0.8), right * 1.15)
    rest = max(map_h - legend_h - panel_h * n_insets, 0.0)
    gs = fig.add_gridspec(
        n_insets + 2,
        2,
        width_ratios=[max(fig_w - right, 1.0), right],
        height_ratios=[legend_h] + [panel_h] * n_insets + [max(rest, 0.01)],
    )
    ax = fig.add_subplot(gs[:, 0])
    legend_ax = fig.add_subplot(gs[0, 1])
    legend_ax.set_axis_off()
    insets = [fig.add_subplot(gs[i + 1, 1]) for i in range(n_insets)]
    return fig, ax, legend_ax, insets


def _draw_insets(fig, ax, insets, groups, data, face, *, edge=0.4) -> list[dict]:
    """Draw each zoom panel, then its frame and letter on the main map."""
    from matplotlib.patches import Rectangle

    frame, label_col = getattr(ax, "_sna_outlines", (None, None))
    described = []
    for letter, iax, rows in zip(_LETTERS, insets, groups, strict=False):
        _draw(iax, data.geometry, face, linewidth=edge)
        if frame is not None:
            _draw(iax, frame.geometry, "none", edgecolor="#222222", linewidth=0.9, zorder=10)
        iax._sna_extent = _inset_extent(data, rows)
        iax.set_xlim(iax._sna_extent[0], iax._sna_extent[2])
        iax.set_ylim(iax._sna_extent[1], iax._sna_extent[3])
        iax.set_xticks([])
        iax.set_yticks([])
        for spine in iax.spines.values():
            spine.set_visible(True)
            spine.set_color("#222222")
            spine.set_linewidth(1.0)
        place = _place_of(data, rows, frame, label_col)
        iax.set_title(f"{letter}. {place}" if place else letter, loc="left", fontsize=9,
                      fontweight="bold")
        iax._sna_inset = {"letter": letter, "areas": int(len(rows)), "place": place}
        described.append(iax._sna_inset)
    fig.canvas.draw()  # the layout: each panel's shape, to which its extent is widened
    fw, fh = fig.get_size_inches()
    for iax in insets:
        pos = iax.get_position()
        x0, y0, x1, y1 = _widen(iax._sna_extent, (pos.width * fw) / max(pos.height * fh, 1e-6))
        iax.set_xlim(x0, x1)
        iax.set_ylim(y0, y1)
        iax.set_aspect("equal", adjustable="box")
        _scalebar(iax, fontsize=6)
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="none",
                               edgecolor="#222222", linewidth=1.1, zorder=25))
        letter = iax._sna_inset["letter"]
        import matplotlib.patheffects as pe

        t = ax.annotate(letter, xy=(x0, y1), xytext=(-2, 2), textcoords="offset points",
                        ha="right", va="bottom", fontsize=9, fontweight="bold", zorder=26,
                        path_effects=[pe.withStroke(linewidth=2.5, foreground="white")])
        ax._sna_frames = [*getattr(ax, "_sna_frames", []), t]
    return described


def _widen(extent, aspect: float) -> tuple[float, float, float, float]:
    """Widen a box (x0, y0, x1, y1) about its centre to the width/height ratio ``aspect``.

    >>> _widen((0, 0, 10, 10), 2.0)
    (-5.0, 0.0, 15.0, 10.0)
    """
    x0, y0, x1, y1 = (float(v) for v in extent)
    w, h = x1 - x0, y1 - y0
    if w / h < aspect:
        grow = (h * aspect - w) / 2
        return (x0 - grow, y0, x1 + grow, y1)
    grow = (w / aspect - h) / 2
    return (x0, y0 - grow, x1, y1 + grow)


def _keep_inside(fig, pad: float = 0.08, tries: int = 3) -> None:
    """Widen ``fig`` until its legends, colour bars and texts end inside it.

    A legend beside the map is placed by the layout, but a long class label ("over 1,301 to
    4,863 (37)") can still end past the figure's right edge, and a save without a tight
    bounding box (a plain ``fig.savefig``, a document that takes the figure's size) cuts
    it off. The figure is widened by the overflow (the map keeps its size).
    """
    for _ in range(tries):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        boxes = [ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible()]
        boxes += [leg.get_window_extent(renderer) for leg in fig.legends]
        right = max((b.x1 for b in boxes if b is not None), default=0.0)
        over = right / fig.dpi - fig.get_figwidth()
        if over <= 0:
            return
        fig.set_figwidth(fig.get_figwidth() + over + pad)


def _caption(fig, source, note, basemap_used=None):
    parts = []
    if note:
        parts.append(note.rstrip(".") + ".")
    if source:
        parts.append(f"Source: {source.rstrip('.')}.")
    parts.append(ATTRIBUTION)
    if basemap_used:
        parts.append(f"Basemap: {basemap_used}.")
    text = " ".join(parts)
    fig.supxlabel(text, x=0.01, ha="left", fontsize=7, color="#555555", wrap=True)


def _add_basemap(ax) -> None:
    if importlib.util.find_spec("contextily") is None:
        logger.warning(
            "basemap=True but contextily is not installed; the map is drawn without tiles"
        )
        return
    try:
        import contextily as cx

        provider = cx.providers.CartoDB.Positron
        cx.add_basemap(ax, crs=BNG, source=provider, attribution=False, zorder=0)
        ax._sna_basemap = provider.get("attribution", "CartoDB, OpenStreetMap contributors")
    except Exception as exc:  # noqa: BLE001 -- tiles unreachable offline: draw without them
        logger.warning(
            "basemap tiles could not be fetched (%s); the map is drawn without them", exc
        )


def _legend(ax, handles, title: str | None, *, outside: bool | None = True) -> None:
    kw: dict[str, Any] = {"title": title, "fontsize": 8, "title_fontsize": 9, "frameon": False}
    if outside is None:  # the legend's own axes (beside zoom panels)
        kw.update(loc="upper left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.0)
    elif outside:
        kw.update(loc="upper left", bbox_to_anchor=(1.0, 1.0), borderaxespad=0.5)
    else:
        kw.update(loc="lower right")
    leg = ax.legend(handles=handles, **kw)
    leg._legend_box.align = "left"


def _patch(colour: str, label: str):
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, edgecolor="#999999", linewidth=0.5, label=label)


# --------------------------------------------------------------------------------------------
# classification
# --------------------------------------------------------------------------------------------

Scheme = Literal["quantiles", "natural_breaks", "fisher_jenks", "equal_interval", "user"]


def _classify(values: np.ndarray, scheme: Scheme, k: int, bins, seed: int) -> np.ndarray:
    """Upper bounds of the classes (the last is the maximum)."""
    import mapclassify

    y = values[np.isfinite(values)]
    if len(y) == 0:
        raise AnalysisInputError("no finite values to classify.")
    if scheme == "user":
        if bins is None:
            raise AnalysisInputError("scheme='user' needs bins= (the upper bounds of the classes).")
        b = np.unique(np.r_[np.asarray(bins, dtype=float), y.max()])
        return b[b >= y.min()] if (b >= y.min()).any() else np.array([y.max()])
    k = int(min(k, len(np.unique(y))))
    if k < 2:
        return np.array([y.max()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if scheme == "quantiles":
            c = mapclassify.Quantiles(y, k=k)
        elif scheme == "natural_breaks":
            state = np.random.get_state()
            try:
                np.random.seed(seed)
                c = mapclassify.NaturalBreaks(y, k=k)
            finally:
                np.random.set_state(state)
        elif scheme == "fisher_jenks":
            c = mapclassify.FisherJenks(y, k=k)
        elif scheme == "equal_interval":
            c = mapclassify.EqualInterval(y, k=k)
        else:
            raise AnalysisInputError(
                f"unknown scheme {scheme!r}; choose quantiles, natural_breaks, fisher_jenks, "
                "equal_interval or user.",
                key="scheme",
            )
    b = np.unique(np.asarray(c.bins, dtype=float))
    if np.all(np.mod(y, 1) == 0):  # counts: whole-number class bounds
        b = np.unique(np.r_[np.floor(b[:-1]), y.max()])
        b = b[b >= y.min()]
    return b


def _fmt(v: float, integer: bool, decimals: int) -> str:
    if integer:
        return f"{round(v):,}"
    return f"{v:,.{decimals}f}"


def _class_labels(bins: np.ndarray, values: np.ndarray, decimals: int | None) -> list[str]:
    """Legend text of classes (lower, upper]; whole-number ranges for counts."""
    y = values[np.isfinite(values)]
    integer = bool(np.all(np.mod(y, 1) == 0))
    if decimals is None:
        spread = float(np.ptp(y)) if len(y) else 0.0
        decimals = 0 if spread >= 100 else 1 if spread >= 10 else 2
    labels = []
    for i, hi in enumerate(bins):
        if integer:
            a = int(y.min()) if i == 0 else math.floor(bins[i - 1]) + 1
            b = math.floor(hi)
            labels.append(f"{a:,}" if a == b else f"{a:,} to {b:,}")
        elif i == 0:
            labels.append(f"{_fmt(y.min(), False, decimals)} to {_fmt(hi, False, decimals)}")
        else:
            labels.append(
                f"over {_fmt(bins[i - 1], False, decimals)} to {_fmt(hi, False, decimals)}"
            )
    return labels


def _class_colours(cmap: str, k: int) -> list[str]:
    import matplotlib as mpl
    from matplotlib.colors import to_hex

    cm = mpl.colormaps[cmap]
    if k == 1:
        return [to_hex(cm(0.6))]
    return [to_hex(cm(0.12 + 0.83 * i / (k - 1))) for i in range(k)]


def _assign_classes(values: np.ndarray, bins: np.ndarray) -> np.ndarray:
    cls = np.searchsorted(bins, values, side="left")
    cls = np.minimum(cls, len(bins) - 1)
    return np.where(np.isfinite(values), cls, -1)


# --------------------------------------------------------------------------------------------
# the maps
# --------------------------------------------------------------------------------------------

_COMMON_DOC = """
    title
        Title above the map.
    outlines
        District / partnership boundaries drawn over the map: a column of ``data`` to
        dissolve by (e.g. ``"district"`` or ``"partnership"``), a ``(GeoDataFrame,
        column)`` pair to dissolve another layer (e.g. ``(geography, "district")`` over a
        grid), or a GeoDataFrame drawn as it is. Dissolving closes the slivers of
        generalised boundaries.
    outline_labels
        Label each outline (with the dissolve column, or the outlines' ``name`` column).
    source
        Data source for the caption (e.g. ``"data.police.uk"``); the OGL / OS attribution
        line (:data:`ATTRIBUTION`) is always added.
    note
        A note for the caption (e.g. ``"Synthetic data"``).
    scalebar, north_arrow
        Draw a scale bar and a north arrow (default True).
    basemap
        Add web tiles under the map -- only when the optional package ``contextily`` is
        installed and the tiles can be fetched (a warning is logged otherwise). Default
        False: maps are made offline.
    ax
        Draw into this Axes instead of a new figure.
    figsize
        Size of a new figure in inches."""


_INSET_DOC = """
    inset
        Zoom panels on the hot areas (hot spots; High-High and High-Low clusters; hot
        persistence classes; else every significant area), beside the map, with each
        panel's frame and letter drawn on the map. ``"auto"`` (default) draws them when
        those areas are fewer than 10% of all (:data:`INSET_SHARE`), for at most
        :data:`MAX_INSETS` groups of them (largest first) each small on the map; ``True``
        always, ``False`` never. Not drawn into a given ``ax``."""


def _with_common(func):
    func.__doc__ = func.__doc__.replace("    {common}", _COMMON_DOC.strip("\n")).replace(
        "    {inset}", _INSET_DOC.strip("\n"))
    return func


@_with_common
def choropleth(
    data: gpd.GeoDataFrame,
    column: str,
    *,
    scheme: Scheme = "quantiles",
    k: int = 5,
    bins: Sequence[float] | None = None,
    cmap: str = style.SEQUENTIAL_CMAP,
    legend_title: str | None = None,
    decimals: int | None = None,
    seed: int = 12345,
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
    """A classified choropleth of counts or rates.

    Parameters
    ----------
    data
        Areas or grid cells with the value column (e.g. :func:`sna.hotspot.count`).
    column
        The column to map.
    scheme
        ``"quantiles"`` (default), ``"natural_breaks"`` (k-means style, seeded by
        ``seed``), ``"fisher_jenks"`` (optimal natural breaks, deterministic),
        ``"equal_interval"`` or ``"user"`` (with ``bins``). Classes come from mapclassify;
        with many ties there may be fewer than ``k`` classes.
    k
        Number of classes (default 5).
    bins
        Upper bounds of the classes for ``scheme="user"``.
    cmap
        Matplotlib colour map (default the house sequential map, YlOrRd).
    legend_title
        Legend title (default: the column name). Each class shows its range and its number
        of areas.
    decimals
        Decimals in the legend (default from the range of the values).
    seed
        Seed of ``natural_breaks``.
    {common}

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    AnalysisInputError
        No geometry, an empty table, an unknown column or scheme.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> cells = gpd.GeoDataFrame({"n": [0, 3, 5, 9]},
    ...     geometry=[box(x * 500, y * 500, x * 500 + 500, y * 500 + 500)
    ...               for y in range(2) for x in range(2)], crs=27700)
    >>> fig = choropleth(cells, "n", scheme="equal_interval", k=3)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['0 to 3 (2)', '4 to 6 (1)', '7 to 9 (1)']
    """
    data = _prepare(data, column)
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
    with style.house_style():
        fig, ax = _figure(ax, figsize, data)
        bins = _classify(values, scheme, k, bins, seed)
        labels = _class_labels(bins, values, decimals)
        colours = _class_colours(cmap, len(bins))
        cls = _assign_classes(values, bins)
        face = np.array([colours[c] if c >= 0 else _MISSING for c in cls], dtype=object)
        _draw(ax, data.geometry, list(face), linewidth=_edge_width(len(data)))
        counts = np.bincount(cls[cls >= 0], minlength=len(bins))
        handles = [
            _patch(c, f"{lab} ({n:,})") for c, lab, n in zip(colours, labels, counts, strict=True)
        ]
        if (cls < 0).any():
            _draw(ax, data.geometry[cls < 0], _MISSING, edgecolor="#999999", hatch="///", zorder=3)
            handles.append(_patch(_MISSING, f"No data ({int((cls < 0).sum()):,})"))
        _legend(ax, handles, legend_title or column)
        _decorate(
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
        _declutter(fig, ax)
        _keep_inside(fig)
    logger.info(
        "choropleth of %r: %s classes, upper bounds %s", column, scheme, [float(b) for b in bins]
    )
    return fig


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
    data = _prepare(data, column)
    values = data[column].astype("object").where(data[column].notna(), None)
    unknown = sorted({str(v) for v in values.dropna()} - set(colours))
    if unknown:
        raise AnalysisInputError(
            f"column {column!r} has values this map does not know: {unknown[:5]}; expected "
            f"{list(colours)}.",
            column=column,
        )
    face = [colours.get(v, _MISSING) if v is not None else _MISSING for v in values]
    present = values.value_counts()
    handles = []
    for label, colour in colours.items():
        n = int(present.get(label, 0))
        if n or all_classes:
            handles.append(_patch(colour, f"{(names or {}).get(label, label)} ({n:,})"))
    if values.isna().any():
        handles.append(_patch(_MISSING, f"No data ({int(values.isna().sum()):,})"))
    focus = _focus(values, colours)
    if ax is not None and inset not in (False, None):
        if inset is True:
            logger.info("a zoom panel needs a new figure: none drawn into the given ax")
        inset = False
    groups = _inset_groups(data, focus, inset)
    with style.house_style():
        if groups:
            fig, ax, legend_ax, panels = _figure_with_insets(figsize, data, len(groups),
                                                             len(handles))
        else:
            fig, ax = _figure(ax, figsize, data)
            legend_ax, panels = None, []
        _draw(ax, data.geometry, face, linewidth=_edge_width(len(data)))
        if legend_ax is not None:
            _legend(legend_ax, handles, legend_title, outside=None)
        else:
            _legend(ax, handles, legend_title)
        _decorate(
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
        described = _draw_insets(fig, ax, panels, groups, data, face) if groups else []
        _declutter(fig, ax, avoid=getattr(ax, "_sna_frames", []))
        _keep_inside(fig)
    _map_meta(fig, data, focus, described)
    if described:
        logger.info("map of %r: zoom panel(s) on %s", column,
                    ", ".join(f"{d['letter']} ({d['areas']} areas, {d['place']})"
                              for d in described))
    return fig


@_with_common
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
        _HOTSPOT_NAMES,
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


@_with_common
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
        _CLUSTER_NAMES,
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


@_with_common
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
        _CATEGORY_NAMES,
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


@_with_common
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

    data = _prepare(data, column)
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
    vmax = np.nanmax(values) if np.isfinite(values).any() else np.nan
    if not vmax > 0:
        raise AnalysisInputError(
            f"column {column!r} has no positive density to map.", column=column
        )
    with style.house_style():
        fig, ax = _figure(ax, figsize, data)
        show = np.isfinite(values)
        if hide_below:
            show &= values >= hide_below * vmax
        norm = mpl.colors.Normalize(vmin=0, vmax=vmax)
        # the study area under the surface: faint grey, or, given the area, zero density
        clip = None
        if area is not None:
            shape = _prepare(area if isinstance(area, gpd.GeoDataFrame)
                             else gpd.GeoDataFrame(geometry=gpd.GeoSeries(area)), None, "area")
            whole = shape.geometry.buffer(2).union_all().buffer(-2)
            _draw(ax, [whole], mpl.colormaps[cmap](0.0), edgecolor="none", linewidth=0,
                  zorder=1)
            from matplotlib.patches import PathPatch

            clip = PathPatch(_path(whole), transform=ax.transData, facecolor="none",
                             edgecolor="none")
        else:
            _draw(ax, data.geometry, "#f7f7f7", edgecolor="none", linewidth=0, zorder=1)
        # cell edges in the face colour: no hairline seams between cells
        colours = mpl.colormaps[cmap](norm(values[show]))
        cells = _draw(ax, data.geometry[show], colours, edgecolor=colours, linewidth=0.4,
                      zorder=2)
        if clip is not None and cells is not None:
            cells.set_clip_path(clip)
        sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
        cb = fig.colorbar(sm, ax=ax, shrink=0.6, pad=0.02, location="right")
        cb.set_label(legend_title or column, fontsize=9)
        cb.ax.tick_params(labelsize=8)
        cb.outline.set_visible(False)
        _decorate(
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
        _declutter(fig, ax)
        _keep_inside(fig)
    return fig


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
    if isinstance(data, Mapping):
        panels = [
            (str(key), _prepare(frame, column, f"panel {key!r}")) for key, frame in data.items()
        ]
    else:
        base = _prepare(data, column)
        if by not in base.columns:
            raise AnalysisInputError(
                f"small_multiples: no period column {by!r}; pass by= the column that holds the "
                "year / period, or a dict of one GeoDataFrame per period.",
                column=by,
            )
        panels = [(str(key), frame) for key, frame in base.groupby(by, sort=True)]
    if not panels:
        raise AnalysisInputError("small_multiples: there are no panels to draw.")
    all_values = pd.concat([p[column] for _, p in panels], ignore_index=True)
    if kind == "auto":
        labels = {str(v) for v in all_values.dropna()}
        kind = (
            "hotspot"
            if labels and labels <= set(HOTSPOT_COLOURS)
            else "lisa"
            if labels and labels <= set(CLUSTER_COLOURS)
            else "persistence"
            if labels and labels <= set(CATEGORY_COLOURS)
            else "choropleth"
        )
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
        if kind == "choropleth":
            values = pd.to_numeric(all_values, errors="coerce").to_numpy(dtype=float)
            cut = _classify(values, scheme, k, bins, seed)
            class_labels = _class_labels(cut, values, decimals)
            colours = _class_colours(cmap, len(cut))
            handles = [_patch(c, lab) for c, lab in zip(colours, class_labels, strict=True)]
        else:
            palette, names, default_title = {
                "hotspot": (HOTSPOT_COLOURS, _HOTSPOT_NAMES, "Getis-Ord Gi*"),
                "lisa": (CLUSTER_COLOURS, _CLUSTER_NAMES, "Local Moran's I"),
                "persistence": (CATEGORY_COLOURS, _CATEGORY_NAMES, "Hot spot pattern"),
            }[kind]
            legend_title = legend_title or default_title
            present = {str(v) for v in all_values.dropna()}
            handles = [
                _patch(c, (names or {}).get(lab, lab))
                for lab, c in palette.items()
                if lab in present
            ]
        for i, (label, frame) in enumerate(panels):
            ax = axes[i // ncols][i % ncols]
            if kind == "choropleth":
                v = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
                cls = _assign_classes(v, cut)
                face = [colours[c] if c >= 0 else _MISSING for c in cls]
            else:
                face = [
                    palette.get(str(v), _MISSING) if pd.notna(v) else _MISSING
                    for v in frame[column]
                ]
            _draw(ax, frame.geometry, face, linewidth=_edge_width(len(frame)) / 2)
            ax.set_title(label, loc="left", fontsize=10, fontweight="bold")
            _decorate(
                fig,
                ax,
                frame,
                title=None,
                outlines=outlines,
                outline_labels=False,
                source=None,
                note=None,
                scalebar=i == 0,
                north_arrow=i == 0,
                basemap=False,
                caption=False,
            )
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
        _caption(fig, source, note)
        _keep_inside(fig)
    return fig


# --------------------------------------------------------------------------------------------
# interactive map and GeoPackage export
# --------------------------------------------------------------------------------------------


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
    data = _prepare(data, column)
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
