"""Zoom panels on the significant areas: which groups of areas get one, the figure that holds
them beside the map, and each panel drawn with its frame and letter on the map.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ._frame import TEXT_ROOM, add_scalebar, draw_polygons

#: Automatic insets are drawn when the areas to zoom on are fewer than this share of all.
INSET_SHARE = 0.10
#: At most this many zoom panels on one map.
MAX_INSETS = 2
_LETTERS = "ABCDEFGH"


def inset_groups(
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


def figure_with_insets(figsize, data, n_insets: int, n_legend: int):
    """A figure with the map on the left and, on the right, the legend over the zoom panels."""
    import matplotlib.pyplot as plt

    width, height = figsize
    xmin, ymin, xmax, ymax = data.total_bounds
    map_h = max(height - TEXT_ROOM, 1.0)
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


def draw_insets(fig, ax, insets, groups, data, face, *, edge=0.4) -> list[dict]:
    """Draw each zoom panel, then its frame and letter on the main map."""
    from matplotlib.patches import Rectangle

    frame, label_col = getattr(ax, "_sna_outlines", (None, None))
    described = []
    for letter, iax, rows in zip(_LETTERS, insets, groups, strict=False):
        draw_polygons(iax, data.geometry, face, linewidth=edge)
        if frame is not None:
            draw_polygons(iax, frame.geometry, "none", edgecolor="#222222", linewidth=0.9, zorder=10)
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
        add_scalebar(iax, fontsize=6)
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
