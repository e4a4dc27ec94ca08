"""What every map is drawn on: the input check and British National Grid, the figure and its
size, polygons drawn as one collection, the scale bar and north arrow, district outlines and
their labels (placed so that none overlap), the caption with the licence line, the optional
web tiles, legends, and the documentation of the keywords every map shares.
"""

from __future__ import annotations

import importlib.util
import math
from typing import Any

import geopandas as gpd
import numpy as np

from .._log import logger
from ..errors import AnalysisInputError

BNG = "EPSG:27700"

#: The licence line printed under every map (OS boundaries and OGL data).
ATTRIBUTION = (
    "Contains OS data © Crown copyright and database right. Contains public sector "
    "information licensed under the Open Government Licence v3.0."
)

MISSING = "#ffffff"


def prepare(data, column: str | None, what: str = "data") -> gpd.GeoDataFrame:
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
TEXT_ROOM = 1.3


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
    map_w = max(height - TEXT_ROOM, 1.0) * (xmax - xmin) / (ymax - ymin)
    return (round(float(min(width, max(4.5, map_w + _LEGEND_ROOM))), 2), height)


def map_figure(ax, figsize, data=None):
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=_fit_figsize(figsize, data), layout="constrained")
    return fig, ax


def polygon_path(geom):
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


def draw_polygons(ax, geoms, facecolor, *, edgecolor="white", linewidth=0.3, zorder=2, hatch=None):
    """Draw polygons as one collection (no intermediate redraw, fast on large grids)."""
    from matplotlib.collections import PathCollection

    geoms = list(geoms)
    if not geoms:
        return None
    coll = PathCollection(
        [polygon_path(g) for g in geoms],
        facecolors=facecolor,
        edgecolors=edgecolor,
        linewidths=linewidth,
        zorder=zorder,
        hatch=hatch,
    )
    ax.add_collection(coll, autolim=True)
    ax.autoscale_view()
    return coll


def edge_width(n: int) -> float:
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


def add_scalebar(ax, *, fontsize: float = 7, data=None) -> None:
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


def dissolve(frame: gpd.GeoDataFrame, by: str) -> gpd.GeoDataFrame:
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
        frame = prepare(frame, by, "outlines")
        return dissolve(frame, by), by
    if isinstance(outlines, str):
        if outlines not in data.columns:
            raise AnalysisInputError(
                f"outlines={outlines!r} is not a column of the data; give a column to dissolve "
                "by (e.g. 'district' or 'partnership'), a GeoDataFrame of boundaries, or a "
                "(GeoDataFrame, column) pair such as (geography, 'district').",
                column=outlines,
            )
        return dissolve(data, outlines), outlines
    if isinstance(outlines, gpd.GeoDataFrame):
        frame = prepare(outlines, None, "outlines")
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


def decorate(
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
        draw_polygons(ax, frame.geometry, "none", edgecolor="#222222", linewidth=1.0, zorder=10)
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
        add_scalebar(ax, data=data)
    if north_arrow:
        _north_arrow(ax)
    if caption:
        add_caption(fig, source, note, basemap_used=getattr(ax, "_sna_basemap", None))


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


def declutter(fig, ax, avoid=()) -> int:
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
    fig.draw_without_rendering()  # the final layout (no pixels): labels measured in display space
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


def keep_inside(fig, pad: float = 0.08, tries: int = 3) -> None:
    """Widen ``fig`` until its legends, colour bars and texts end inside it.

    A legend beside the map is placed by the layout, but a long class label ("over 1,301 to
    4,863 (37)") can still end past the figure's right edge, and a save without a tight
    bounding box (a plain ``fig.savefig``, a document that takes the figure's size) cuts
    it off. The figure is widened by the overflow (the map keeps its size).
    """
    for _ in range(tries):
        fig.draw_without_rendering()  # the layout, without painting the map's polygons
        renderer = fig.canvas.get_renderer()
        boxes = [ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible()]
        boxes += [leg.get_window_extent(renderer) for leg in fig.legends]
        right = max((b.x1 for b in boxes if b is not None), default=0.0)
        over = right / fig.dpi - fig.get_figwidth()
        if over <= 0:
            return
        fig.set_figwidth(fig.get_figwidth() + over + pad)


def add_caption(fig, source, note, basemap_used=None):
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


def add_legend(ax, handles, title: str | None, *, outside: bool | None = True) -> None:
    kw: dict[str, Any] = {"title": title, "fontsize": 8, "title_fontsize": 9, "frameon": False}
    if outside is None:  # the legend's own axes (beside zoom panels)
        kw.update(loc="upper left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.0)
    elif outside:
        kw.update(loc="upper left", bbox_to_anchor=(1.0, 1.0), borderaxespad=0.5)
    else:
        kw.update(loc="lower right")
    leg = ax.legend(handles=handles, **kw)
    leg._legend_box.align = "left"


def legend_patch(colour: str, label: str):
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, edgecolor="#999999", linewidth=0.5, label=label)


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


def with_common(func):
    func.__doc__ = func.__doc__.replace("    {common}", _COMMON_DOC.strip("\n")).replace(
        "    {inset}", _INSET_DOC.strip("\n"))
    return func
