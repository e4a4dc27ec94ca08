"""The house style of `sna` charts: colour-blind-safe palettes, fonts, captions, saving.

Every chart in :mod:`sna.plot` draws inside :func:`house_style` and shares these colours, so
a report looks like one document. Export for other chart modules:

- :data:`PALETTE` -- the categorical palette (Okabe & Ito 2008, safe for the common forms
  of colour blindness); :func:`categorical` gives ``n`` colours from it;
- NHS "Making Data Count" colours -- :data:`IMPROVEMENT` (blue ``#289de0``),
  :data:`CONCERN` (orange ``#fab428``), :data:`COMMON_CAUSE` (grey ``#7b7d7d``),
  :data:`NEUTRAL` (purple), gathered by point type in :data:`MDC_COLOURS`;
- :data:`SIGNIFICANCE_COLOURS` (funnel-plot classes), :data:`HOT_COLD` (hot / cold spots),
  :data:`SEQUENTIAL_CMAP` and :data:`DIVERGING_CMAP` (maps);
- :func:`house_style` (a context manager), :func:`apply_style` (set it globally, e.g. in a
  notebook), :func:`styled` (a decorator that draws a chart function in the house style),
  :func:`new_figure`, :func:`caption` and :func:`savefig` (PNG at 150 dpi);
- figures that travel: :func:`titled_png` (the PNG with its title above and its source line
  under it, for ``figures/``), :func:`plain_legends` (legend entries in plain words instead
  of the config's source names: ``ecds`` -> "A&E assault attendances") and
  :func:`spread_labels` (point labels moved apart so none overlaps another or a point).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from sna.plot.style import PALETTE, house_style, new_figure, caption
>>> with house_style():
...     fig, ax = new_figure()
...     _ = ax.plot([1, 2, 3], color=PALETTE[0])
...     text = caption(fig, "Counts of recorded crime.", source="data.police.uk")
>>> text.get_text()
'Counts of recorded crime. Source: data.police.uk'
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "PALETTE",
    "OKABE_ITO",
    "categorical",
    "IMPROVEMENT",
    "CONCERN",
    "COMMON_CAUSE",
    "NEUTRAL",
    "MDC_COLOURS",
    "SIGNIFICANCE_COLOURS",
    "HOT_COLD",
    "SEQUENTIAL_CMAP",
    "DIVERGING_CMAP",
    "GREY",
    "LIGHT_GREY",
    "TEXT_COLOUR",
    "LOCKDOWN_COLOUR",
    "DPI",
    "PNG_OPTIONS",
    "FIGSIZE",
    "rc_params",
    "house_style",
    "apply_style",
    "styled",
    "new_figure",
    "caption",
    "savefig",
    "thousands",
    "SOURCE_WORDS",
    "plain_legends",
    "spread_labels",
    "titled_png",
]

#: Okabe & Ito (2008) colour-universal-design palette: blue, orange, bluish green,
#: reddish purple, sky blue, vermillion, yellow, black.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)
#: The categorical palette of every `sna` chart (series, areas, groups).
PALETTE: tuple[str, ...] = OKABE_ITO

#: NHS Making Data Count: special cause improvement.
IMPROVEMENT = "#289de0"
#: NHS Making Data Count: special cause concern.
CONCERN = "#fab428"
#: NHS Making Data Count: common cause variation.
COMMON_CAUSE = "#7b7d7d"
#: NHS Making Data Count: special cause, neither improvement nor concern.
NEUTRAL = "#490092"
#: Point type (as :func:`sna.spc.xmr`) -> colour.
MDC_COLOURS: dict[str, str] = {
    "improvement": IMPROVEMENT,
    "concern": CONCERN,
    "neutral": NEUTRAL,
    "common cause": COMMON_CAUSE,
}

#: Funnel-plot class (as :func:`sna.rates.funnel`) -> colour: high is orange, low is blue.
SIGNIFICANCE_COLOURS: dict[str, str] = {
    "High (0.001)": "#D55E00",
    "High (0.025)": "#E69F00",
    "Not significant": "#999999",
    "Low (0.025)": "#56B4E9",
    "Low (0.001)": "#0072B2",
}

#: Hot spots, cold spots and neither (maps).
HOT_COLD: dict[str, str] = {"hot": "#D55E00", "cold": "#0072B2", "none": "#E5E5E5"}

#: Sequential colour map for rates and densities (ColorBrewer, colour-blind safe).
SEQUENTIAL_CMAP = "YlOrRd"
#: Diverging colour map for changes and z-scores (ColorBrewer RdBu reversed: red high).
DIVERGING_CMAP = "RdBu_r"

GREY = "#7b7d7d"
LIGHT_GREY = "#d9d9d9"
TEXT_COLOUR = "#222222"
#: Colour of the COVID-19 lockdown markers.
LOCKDOWN_COLOUR = "#555555"

#: Resolution of saved PNGs.
DPI = 150
#: zlib level of the figures' PNGs (``pil_kwargs`` of ``savefig``): 3 encodes in about half
#: the time of zlib's default 6 for about 1 % more bytes (the demo's 23 figures: 0.49 s and
#: 3.33 MB against 0.99 s and 3.29 MB); the pixels are the same.
PNG_OPTIONS = {"compress_level": 3}
#: Default figure size in inches (fits an A4 page at full text width).
FIGSIZE = (8.0, 4.5)

_FONTS = ["Arial", "Helvetica", "Liberation Sans", "DejaVu Sans"]


def categorical(n: int) -> list[str]:
    """``n`` colours from :data:`PALETTE` (repeating after eight).

    >>> categorical(3)
    ['#0072B2', '#E69F00', '#009E73']
    """
    return [PALETTE[i % len(PALETTE)] for i in range(int(n))]


@functools.lru_cache(maxsize=1)
def _available_fonts() -> tuple[str, ...]:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = tuple(f for f in _FONTS if f in installed)
    return found or ("DejaVu Sans",)


def rc_params() -> dict:
    """The matplotlib settings of the house style.

    >>> rc_params()["savefig.dpi"]
    150
    """
    from cycler import cycler

    return {
        "font.family": "sans-serif",
        "font.sans-serif": list(_available_fonts()),
        "font.size": 10,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.labelsize": 10,
        "axes.labelcolor": TEXT_COLOUR,
        "axes.edgecolor": "#555555",
        "axes.linewidth": 0.8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.grid.axis": "y",
        "axes.axisbelow": True,
        "axes.prop_cycle": cycler(color=list(PALETTE)),
        "grid.color": "#e5e5e5",
        "grid.linewidth": 0.8,
        "xtick.color": "#333333",
        "ytick.color": "#333333",
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "legend.frameon": False,
        "legend.fontsize": 9,
        "lines.linewidth": 1.8,
        "figure.figsize": FIGSIZE,
        "figure.dpi": 100,
        "figure.facecolor": "white",
        "savefig.dpi": DPI,
        "savefig.facecolor": "white",
        "savefig.bbox": "tight",
        "text.color": TEXT_COLOUR,
    }


@contextlib.contextmanager
def house_style() -> Iterator[None]:
    """Draw in the house style within a ``with`` block (global settings restored after)."""
    import matplotlib as mpl

    with mpl.rc_context(rc_params()):
        yield


def apply_style() -> None:
    """Set the house style for the rest of the session (e.g. at the top of a notebook)."""
    import matplotlib as mpl

    mpl.rcParams.update(rc_params())


def styled(func):
    """Decorator: run a chart function inside :func:`house_style`."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with house_style():
            return func(*args, **kwargs)

    return wrapper


def new_figure(ax=None, *, figsize: tuple[float, float] | None = None, nrows: int = 1,
               ncols: int = 1, **kwargs):
    """``(figure, axes)``: the figure of ``ax`` when given, else a new constrained-layout one.

    Parameters
    ----------
    ax
        An existing Axes to draw into (its figure is returned), or None.
    figsize, nrows, ncols, kwargs
        Passed to :func:`matplotlib.pyplot.subplots` for a new figure.
    """
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=figsize or FIGSIZE, layout="constrained",
                        **kwargs)


def caption(fig, text: str = "", *, source: str | None = None):
    """Add a caption (and source) under a figure, left-aligned, in small grey type.

    Uses the figure's x super-label so that constrained layout keeps room for it.
    Returns the Text artist.
    """
    parts = [t for t in (text.strip(), f"Source: {source}" if source else "") if t]
    return fig.supxlabel(" ".join(parts), x=0.01, ha="left", fontsize=8, color="#555555",
                         wrap=True)


def savefig(fig, path, *, dpi: int = DPI, close: bool = False, **kwargs) -> Path:
    """Save a figure as PNG (150 dpi, white background, tight box), creating the folder.

    A path without a suffix gets ".png"; ``close=True`` closes the figure after saving
    (frees memory in batch runs); other keywords go to ``Figure.savefig``. Returns the path
    written.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import tempfile, os
    >>> fig, ax = new_figure()
    >>> out = savefig(fig, os.path.join(tempfile.mkdtemp(), "figures", "trend"))
    >>> out.name, out.exists()
    ('trend.png', True)
    """
    import matplotlib.pyplot as plt

    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"dpi": dpi, "facecolor": "white", "bbox_inches": "tight"}
    if path.suffix.lower() == ".png":
        options["pil_kwargs"] = dict(PNG_OPTIONS)
    options.update(kwargs)
    fig.savefig(path, **options)
    if close:
        plt.close(fig)
    return path


def thousands(ax, axis: str = "y") -> None:
    """Format an axis's tick labels with thousands separators (12,345)."""
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 1000 or float(v).is_integer()
                        else f"{v:,.1f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


#: Plain words for a source, by its format (legends and source lines say these, not the
#: config's short names such as ``ecds`` or ``police``).
SOURCE_WORDS: dict[str, str] = {
    "police_uk": "Police recorded crime (data.police.uk)",
    "police_extract": "Police recorded crime",
    "ambulance": "Ambulance call-outs",
    "ecds": "A&E assault attendances",
    "interventions": "Intervention participants",
}


def plain_legends(fig, words: dict[str, str]) -> int:
    """Replace legend entries that are short names (``police``, ``ecds``) by plain words.

    Parameters
    ----------
    fig
        A matplotlib Figure: every legend of its axes and of the figure is looked at.
    words
        ``{short name: plain words}``, e.g. each configured source's name to
        :data:`SOURCE_WORDS` of its format.

    Returns
    -------
    int
        The number of entries replaced (an entry is replaced only when its whole text is a
        short name, so "police: 2019/20" is left alone).

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> fig, ax = new_figure()
    >>> _ = ax.plot([1, 2], label="ecds"); _ = ax.plot([2, 1], label="Average")
    >>> _ = ax.legend()
    >>> plain_legends(fig, {"ecds": "A&E assault attendances"})
    1
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['A&E assault attendances', 'Average']
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    n = 0
    for leg in legends:
        if leg is None:
            continue
        for t in leg.get_texts():
            new = words.get(t.get_text().strip())
            if new:
                t.set_text(new)
                n += 1
    return n


def spread_labels(ax, texts, *, points=None) -> None:
    """Move point labels apart so that none overlaps another label, nor the points.

    Uses adjustText (deterministic: its random start is seeded); a label moved away from its
    point gets a thin leader line. Call it last, after the axes' limits are final.

    Parameters
    ----------
    ax
        The Axes holding the labels.
    texts
        The labels (matplotlib Text or Annotation artists).
    points
        ``(x, y)`` arrays of the points the labels should also keep clear of (optional).
    """
    texts = list(texts)
    if len(texts) < 1:
        return
    import warnings

    from adjustText import adjust_text

    x, y = (None, None) if points is None else (list(points[0]), list(points[1]))
    ax.figure.draw_without_rendering()  # the layout, without painting
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adjust_text(texts, x=x, y=y, ax=ax, expand=(1.1, 1.3), min_arrow_len=6,
                    arrowprops={"arrowstyle": "-", "color": "#666666", "lw": 0.5})


def titled_png(png: bytes, title: str | None, source: str | None, *, dpi: int = DPI) -> bytes:
    """The PNG with its title above and its source line under it, so that it keeps its
    context when lifted into another document (``figures/*.png``).

    The picture itself is not redrawn: a band of text is added above and below it, wrapped
    to its width, in the house font.

    Parameters
    ----------
    png
        The figure as PNG bytes.
    title
        The title ("Figure 2.1. Serious violence per month ..."); None for none.
    source
        The source line ("Source: Police recorded crime. Nottinghamshire, 2020/21."); None
        for none.
    dpi
        The resolution of ``png``.

    Returns
    -------
    bytes
        The new PNG (taller by the bands; the same width).

    >>> import io, matplotlib
    >>> matplotlib.use("Agg")
    >>> from matplotlib.image import imread
    >>> fig, ax = new_figure(figsize=(4, 3)); buf = io.BytesIO()
    >>> fig.savefig(buf, format="png", dpi=100)
    >>> out = titled_png(buf.getvalue(), "Figure 1.1. A title", "Source: here.", dpi=100)
    >>> h0, w0 = imread(io.BytesIO(buf.getvalue())).shape[:2]
    >>> h1, w1 = imread(io.BytesIO(out)).shape[:2]
    >>> w1 == w0 and h1 > h0
    True
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    import io
    import textwrap

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as picture:  # its 8-bit pixels as drawn (matplotlib's
        img = np.asarray(picture.convert("RGBA"))  # imread would make floats of them)
    h_px, w_px = img.shape[:2]
    width_in = w_px / dpi

    def lines(text, size, bold=False):
        if not text:
            return []
        per_line = max(int((width_in - 0.2) * 72 / (size * (0.64 if bold else 0.56))), 20)
        return textwrap.wrap(" ".join(str(text).split()), per_line)

    title_lines, source_lines = lines(title, 10.5, bold=True), lines(source, 7.5)
    pad = 0.08
    top = (len(title_lines) * 10.5 * 1.35 / 72 + 2 * pad) if title_lines else 0.0
    bottom = (len(source_lines) * 7.5 * 1.35 / 72 + 2 * pad) if source_lines else 0.0
    # The bands of text are drawn on their own and stacked with the picture's pixels: the
    # picture is copied, not drawn again (matplotlib's figimage resampled it, about half
    # the time of every figure's second copy).
    with house_style():
        above = _text_band(title_lines, w_px, top, dpi, pad, at_top=True, fontsize=10.5,
                           fontweight="bold", color=TEXT_COLOUR, linespacing=1.25)
        below = _text_band(source_lines, w_px, bottom, dpi, pad, at_top=False, fontsize=7.5,
                           color="#555555", linespacing=1.25)
    buf = io.BytesIO()
    Image.fromarray(np.concatenate([above, img, below]), "RGBA").save(
        buf, format="png", dpi=(dpi, dpi), **PNG_OPTIONS)
    return buf.getvalue()


def _text_band(text_lines: list[str], w_px: int, height_in: float, dpi: int, pad: float, *,
               at_top: bool, **text) -> "np.ndarray":
    """White RGBA pixels ``w_px`` wide and ``height_in`` high with the lines of text, ``pad``
    inches from the left and from the top (``at_top``) or the bottom."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    h_px = int(round(height_in * dpi))
    band = np.full((h_px, w_px, 4), 255, dtype=np.uint8)
    if not text_lines or h_px == 0:
        return band
    fig = Figure(figsize=(w_px / dpi, h_px / dpi), dpi=dpi, facecolor="white")
    fig.text(pad * dpi / w_px, 1 - pad * dpi / h_px if at_top else pad * dpi / h_px,
             "\n".join(text_lines), ha="left", va="top" if at_top else "bottom", **text)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    drawn = np.asarray(canvas.buffer_rgba())
    h, w = min(h_px, drawn.shape[0]), min(w_px, drawn.shape[1])
    band[:h, :w] = drawn[:h, :w]
    return band
