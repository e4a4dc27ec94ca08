"""Classified maps of counts or rates: the classes (quantiles, natural breaks, Fisher-Jenks,
equal intervals or given breaks), their legend text and colours, and :func:`choropleth`.
Quantiles and equal intervals are computed here exactly as mapclassify computes them (the tests
compare the two); natural breaks and Fisher-Jenks come from mapclassify, imported only then.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
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
    edge_width,
    draw_polygons,
    keep_inside,
    legend_patch,
    map_figure,
    prepare,
    with_common,
)

__all__ = ["choropleth"]

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

Scheme = Literal["quantiles", "natural_breaks", "fisher_jenks", "equal_interval", "user"]


def _quantile_bins(y: np.ndarray, k: int) -> np.ndarray:
    """mapclassify's ``Quantiles(y, k).bins`` without importing mapclassify: the k quantiles
    at 100/k, 200/k ... 100 percent, each by ``scipy.stats.scoreatpercentile`` (the function
    mapclassify calls), ties collapsed. Importing mapclassify costs about 2 s once numba is
    installed (it compiles its Fisher-Jenks function at import), the longest step of the
    geography chapter; the test suite checks this against mapclassify on many inputs."""
    from scipy import stats

    w = 100.0 / k
    p = np.arange(w, 100 + w, w)
    if p[-1] > 100.0:
        p[-1] = 100.0
    return np.unique(np.array([stats.scoreatpercentile(y, pct) for pct in p]))


def _equal_interval_bins(y: np.ndarray, k: int) -> np.ndarray:
    """mapclassify's ``EqualInterval(y, k).bins`` without importing it: k classes of width
    (max - min) / k from the minimum, the last bound the maximum itself."""
    lo, hi = y.min(), y.max()
    if lo == hi:
        raise ValueError("all values are equal: no equal intervals.")
    width = (hi - lo) / k
    cuts = np.arange(lo + width, hi + width, width)[:k]
    cuts[-1] = hi
    return cuts


def class_bounds(values: np.ndarray, scheme: Scheme, k: int, bins, seed: int) -> np.ndarray:
    """Upper bounds of the classes (the last is the maximum)."""
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
            raw = _quantile_bins(y, k)
        elif scheme == "equal_interval":
            raw = _equal_interval_bins(y, k)
        elif scheme in ("natural_breaks", "fisher_jenks"):
            raw = _mapclassify_bins(y, scheme, k, seed)
        else:
            raise AnalysisInputError(
                f"unknown scheme {scheme!r}; choose quantiles, natural_breaks, fisher_jenks, "
                "equal_interval or user.",
                key="scheme",
            )
    b = np.unique(np.asarray(raw, dtype=float))
    if np.all(np.mod(y, 1) == 0):  # counts: whole-number class bounds
        b = np.unique(np.r_[np.floor(b[:-1]), y.max()])
        b = b[b >= y.min()]
    return b


def _mapclassify_bins(y: np.ndarray, scheme: str, k: int, seed: int) -> np.ndarray:
    """Natural breaks (k-means, seeded) and Fisher-Jenks from mapclassify."""
    import mapclassify

    if scheme == "fisher_jenks":
        return mapclassify.FisherJenks(y, k=k).bins
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        return mapclassify.NaturalBreaks(y, k=k).bins
    finally:
        np.random.set_state(state)


def _fmt(v: float, integer: bool, decimals: int) -> str:
    if integer:
        return f"{round(v):,}"
    return f"{v:,.{decimals}f}"


def class_labels(bins: np.ndarray, values: np.ndarray, decimals: int | None) -> list[str]:
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


def class_colours(cmap: str, k: int) -> list[str]:
    import matplotlib as mpl
    from matplotlib.colors import to_hex

    cm = mpl.colormaps[cmap]
    if k == 1:
        return [to_hex(cm(0.6))]
    return [to_hex(cm(0.12 + 0.83 * i / (k - 1))) for i in range(k)]


def assign_classes(values: np.ndarray, bins: np.ndarray) -> np.ndarray:
    cls = np.searchsorted(bins, values, side="left")
    cls = np.minimum(cls, len(bins) - 1)
    return np.where(np.isfinite(values), cls, -1)


@with_common
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
        ``"equal_interval"`` or ``"user"`` (with ``bins``). Classes are mapclassify's;
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
    data = prepare(data, column)
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
    with style.house_style():
        fig, ax = map_figure(ax, figsize, data)
        bins = class_bounds(values, scheme, k, bins, seed)
        labels = class_labels(bins, values, decimals)
        colours = class_colours(cmap, len(bins))
        cls = assign_classes(values, bins)
        face = np.array([colours[c] if c >= 0 else MISSING for c in cls], dtype=object)
        draw_polygons(ax, data.geometry, list(face), linewidth=edge_width(len(data)))
        counts = np.bincount(cls[cls >= 0], minlength=len(bins))
        handles = [
            legend_patch(c, f"{lab} ({n:,})") for c, lab, n in zip(colours, labels, counts, strict=True)
        ]
        if (cls < 0).any():
            draw_polygons(ax, data.geometry[cls < 0], MISSING, edgecolor="#999999", hatch="///", zorder=3)
            handles.append(legend_patch(MISSING, f"No data ({int((cls < 0).sum()):,})"))
        add_legend(ax, handles, legend_title or column)
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
    logger.info(
        "choropleth of %r: %s classes, upper bounds %s", column, scheme, [float(b) for b in bins]
    )
    return fig
