"""Charts of people and interventions: pyramid, representation, reach, outcomes.

Every function returns the matplotlib ``Figure`` and takes an optional ``ax`` to draw into.
Inputs are the tables of :mod:`sna.people` and :mod:`sna.interventions` (never modified).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> from sna.plot.people import representation_plot
>>> t = pd.DataFrame({"group": ["City", "County"], "representation": [1.5, 0.5],
...                   "representation_lowercl": [1.2, 0.3], "representation_uppercl": [1.9, 0.8]})
>>> fig = representation_plot(t)
>>> fig.axes[0].get_xlabel()
'Representation index (1 = in proportion)'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import AnalysisInputError
from .._tabulate import check_bands
from ..people import DEFAULT_BANDS, NOT_KNOWN, Bands, band_labels, profile
from .style import PALETTE, styled

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "pyramid",
    "representation_plot",
    "reach_bars",
    "outcome_plot",
    "PEOPLE_COLOURS",
]

_GREY = "#999999"
#: colours of the people charts by meaning
PEOPLE_COLOURS = {
    "Male": "#0072B2",
    "Female": "#E69F00",
    "residents": "#000000",
    "universal": "#56B4E9",
    "secondary": "#0072B2",
    "tertiary": "#D55E00",
    NOT_KNOWN: _GREY,
}


def _colour(key: str, i: int) -> str:
    if key in PEOPLE_COLOURS:
        return PEOPLE_COLOURS[key]
    pal = list(PALETTE)
    return pal[i % len(pal)]


def _figure(ax, size=(7, 4.5)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=size, layout="constrained")
    else:
        fig = ax.figure
    return fig, ax


def _need(table: pd.DataFrame, cols, what: str) -> None:
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise AnalysisInputError(f"{what}: the table has no column(s) {missing}",
                                 column=missing[0])


# --------------------------------------------------------------------------------------
# pyramid
# --------------------------------------------------------------------------------------
@styled
def pyramid(
    incidents: pd.DataFrame,
    population: pd.DataFrame | None = None,
    *,
    role: str = "victim",
    bands: Bands = DEFAULT_BANDS,
    per_year: bool = True,
    open_band_width: int = 26,
    sexes: tuple[str, str] = ("Male", "Female"),
    ax: Axes | None = None,
    title: str | None = None,
    publish: Callable[[int], int | None] | None = None,
) -> Figure:
    """Population pyramid: victims (or offenders, patients) against residents, by age and sex.

    Parameters
    ----------
    incidents
        Canonical incidents table. Not modified.
    population
        Residents with ``age`` (or ``age_band``) and optionally ``sex``. Without ``sex``,
        residents of each age are drawn half on each side (labelled so).
    role
        ``"victim"``, ``"offender"`` or ``"patient"``.
    bands
        Age bands.
    per_year
        Divide each band's share by its width in years, so bands of different widths
        (15-17, 18-24) compare fairly; the open last band counts ``open_band_width`` years
        (65+ -> 65-90).
    sexes
        The two sexes drawn (left, right). Records of other or unknown sex or age are left
        out of the bars; their count is in the subtitle.
    ax
        Axes to draw into.
    title
        Title; default names the role.
    publish
        For a public build: each count as the disclosure rule publishes it (e.g.
        :meth:`sna.chapter.Chapter.published_count`; ``None`` for a suppressed count). The
        bars are then the shares of the published counts, a suppressed cell is drawn empty
        and the number of records left out is given as published.

    Returns
    -------
    matplotlib.figure.Figure
        Bars: share of the records of known age and sex (Male to the left); black outline:
        residents' share.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"age": [16, 17, 20, 22], "sex": ["Male", "Male", "Female", None]})
    >>> pop = pd.DataFrame({"age": range(91), "population": 100})
    >>> fig = pyramid(inc, pop)
    >>> len(fig.axes[0].patches)  # 10 bands x 2 sexes
    20
    """
    pairs = check_bands(bands)
    labels = band_labels(pairs, not_known=False)
    widths = np.array([(hi if hi is not None else lo + open_band_width - 1) - lo + 1
                       for lo, hi in pairs], dtype=float)
    prof = profile(incidents, role=role, by=[("age_band", "sex")], bands=pairs)
    prof = prof.assign(age_band=prof["age_band"].astype(str), sex=prof["sex"].astype(str))
    counts = prof.pivot_table(index="age_band", columns="sex", values="n", aggfunc="sum",
                              observed=True).reindex(index=labels, columns=list(sexes)).fillna(0)
    left_out = int(prof["n"].sum() - float(counts.to_numpy().sum()))
    if publish is not None:
        counts = counts.map(lambda n: np.nan if publish(int(n)) is None else publish(int(n)))
        left_out = publish(left_out)
    known = float(np.nansum(counts.to_numpy()))
    shares = counts / known if known else counts * np.nan
    scale = 100.0 / widths[:, None] if per_year else np.full((len(labels), 1), 100.0)
    vals = shares.to_numpy() * scale
    fig, ax = _figure(ax)
    y = np.arange(len(labels))
    ax.barh(y, -vals[:, 0], color=_colour(sexes[0], 0), label=f"{sexes[0]} ({role}s)",
            height=0.8)
    ax.barh(y, vals[:, 1], color=_colour(sexes[1], 1), label=f"{sexes[1]} ({role}s)",
            height=0.8)
    if population is not None:
        res = _resident_shares(population, pairs, labels, sexes)
        if res is not None:
            r, split = res
            rv = r * scale
            _outline(ax, y, -rv[:, 0])
            _outline(ax, y, rv[:, 1], label="residents" + (" (persons, half each side)"
                                                           if split else ""))
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, labels)
    ax.set_ylabel("Age band")
    unit = "% per year of age" if per_year else "% of records"
    ax.set_xlabel(f"{unit} ({sexes[0]} left, {sexes[1]} right)")
    lim = np.nanmax(np.abs(ax.get_xlim()))
    ax.set_xlim(-lim, lim)
    ax.xaxis.set_major_formatter(_abs_formatter())
    ax.legend(loc="lower right", fontsize="small", frameon=False)
    ax.set_title(title or f"{role.capitalize()}s against residents, by age and sex")
    if left_out is None:
        ax.text(0.01, 0.01, "a few records of unknown or other age or sex not shown",
                transform=ax.transAxes, fontsize="x-small", va="bottom", ha="left")
    elif left_out:
        ax.text(0.01, 0.01, f"{left_out:,} record(s) of unknown or other age or sex not shown",
                transform=ax.transAxes, fontsize="x-small", va="bottom", ha="left")
    return fig


def _abs_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{abs(v):g}")


def _outline(ax, y, x, label=None):
    """A vertical step outline: x[i] from y[i] - 0.5 to y[i] + 0.5, joined band to band."""
    xs = np.repeat(x, 2)
    ys = np.column_stack([y - 0.5, y + 0.5]).ravel()
    ax.plot(xs, ys, color=PEOPLE_COLOURS["residents"], linewidth=1.4, label=label)


def _resident_shares(population, pairs, labels, sexes):
    if "population" not in population.columns:
        raise AnalysisInputError("population needs a 'population' column", column="population")
    from ..people import age_bands, clean_category

    pop = population
    if "age" in pop.columns:
        band = age_bands(pop["age"], pairs).astype(str)
    elif "age_band" in pop.columns:
        band = pop["age_band"].astype(str)
    else:
        return None
    values = pd.to_numeric(pop["population"]).astype(float)
    if "sex" in pop.columns:
        sex = clean_category(pop["sex"]).astype(str)
        t = pd.DataFrame({"b": band.to_numpy(), "s": sex.to_numpy(), "p": values.to_numpy()})
        t = t[t["s"].isin(sexes)]
        piv = t.pivot_table(index="b", columns="s", values="p", aggfunc="sum").reindex(
            index=labels, columns=list(sexes)).fillna(0)
        total = piv.to_numpy().sum()
        return (piv.to_numpy() / total if total else piv.to_numpy() * np.nan), False
    t = pd.DataFrame({"b": band.to_numpy(), "p": values.to_numpy()})
    s = t.groupby("b")["p"].sum().reindex(labels).fillna(0)
    total = s.sum()
    half = (s.to_numpy() / total / 2) if total else s.to_numpy() * np.nan
    return np.column_stack([half, half]), True


# --------------------------------------------------------------------------------------
# representation
# --------------------------------------------------------------------------------------
@styled
def representation_plot(
    table: pd.DataFrame,
    *,
    label: str = "group",
    value: str = "representation",
    lower: str | None = None,
    upper: str | None = None,
    log: bool = True,
    reference: float = 1.0,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "Representation index (1 = in proportion)",
) -> Figure:
    """Dot plot with intervals and a reference line at 1 (representation or rate ratios).

    Parameters
    ----------
    table
        One dimension of :func:`sna.interventions.reach` or
        :func:`sna.people.disproportionality` (or any table with a label, a value and
        interval columns). Rows with no value (e.g. ``"Not known"``) are left out and
        counted in a note.
    label, value
        Columns of the group label and the value.
    lower, upper
        Interval columns; default ``<value>_lowercl`` / ``<value>_uppercl``.
    log
        Logarithmic x axis (ratios are symmetric on it).
    reference
        Where the reference line is drawn.
    ax
        Axes to draw into.
    title, xlabel
        Labels.

    Returns
    -------
    matplotlib.figure.Figure
        Groups top to bottom in table order; points whose interval lies wholly below the
        reference are drawn in the "under" colour, wholly above in the "over" colour.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> t = pd.DataFrame({"group": ["A", "B", "Not known"], "rate_ratio": [2.0, 1.0, None],
    ...                   "rate_ratio_lowercl": [1.5, 1.0, None],
    ...                   "rate_ratio_uppercl": [2.6, 1.0, None]})
    >>> fig = representation_plot(t, value="rate_ratio", xlabel="Rate ratio")
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['A', 'B']
    """
    lower = lower or f"{value}_lowercl"
    upper = upper or f"{value}_uppercl"
    _need(table, [label, value, lower, upper], "representation_plot")
    t = table[[label, value, lower, upper]].copy()
    vals = pd.to_numeric(t[value], errors="coerce")
    keep = vals.notna() & np.isfinite(vals)
    if log:
        keep &= vals > 0
    dropped = int((~keep).sum())
    t = t.loc[keep.to_numpy()]
    if t.empty:
        raise AnalysisInputError(f"representation_plot: no row has a {value!r} to plot",
                                 column=value)
    v = t[value].astype(float).to_numpy()
    lo = pd.to_numeric(t[lower], errors="coerce").astype(float).to_numpy()
    hi = pd.to_numeric(t[upper], errors="coerce").astype(float).to_numpy()
    fig, ax = _figure(ax, size=(6.5, 0.45 * len(t) + 1.5))
    y = np.arange(len(t))[::-1]
    pal = list(PALETTE)
    under, over, neutral = pal[5 % len(pal)], pal[0], _GREY
    colours = np.where(hi < reference, under, np.where(lo > reference, over, neutral))
    finite_hi = np.where(np.isfinite(hi), hi, np.nan)
    span_hi = np.nanmax(np.r_[finite_hi, v, reference]) * (1.5 if log else 1.1)
    hi_draw = np.where(np.isfinite(hi), hi, span_hi)
    if log:
        pos_lo = lo[np.isfinite(lo) & (lo > 0)]
        floor = min(np.r_[pos_lo, v, reference].min() / 1.5, reference / 2)
        lo_draw = np.where(np.isfinite(lo) & (lo > 0), lo, floor)
    else:
        lo_draw = np.where(np.isfinite(lo), lo, np.nan)
    for yi, a, b, c in zip(y, lo_draw, hi_draw, colours):
        ax.plot([a, b], [yi, yi], color=c, linewidth=2, solid_capstyle="butt")
    ax.scatter(v, y, color=colours, zorder=3, s=36)
    ax.axvline(reference, color="black", linewidth=0.8, linestyle="--")
    if log:
        _log_axis(ax, np.r_[lo_draw, hi_draw, v, reference])
    ax.set_yticks(y, t[label].astype(str).tolist())
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    if dropped:
        ax.text(1.0, 0.0, f"{dropped} group(s) without a value not shown",
                transform=ax.transAxes, fontsize="x-small", ha="right", va="bottom")
    return fig


def _log_axis(ax, values) -> None:
    """Log x axis with plain tick labels at 1-2-5 steps."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    ax.set_xscale("log")
    vals = values[np.isfinite(values) & (values > 0)]
    lo, hi = vals.min() / 1.2, vals.max() * 1.2
    ticks = [m * 10.0**e for e in range(-3, 4) for m in (1, 2, 5)]
    ticks = [t for t in ticks if lo <= t <= hi] or [1.0]
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


# --------------------------------------------------------------------------------------
# reach
# --------------------------------------------------------------------------------------
@styled
def reach_bars(
    table: pd.DataFrame,
    *,
    x: str = "partnership",
    hue: str | None = "level",
    value: str = "n",
    ax: Axes | None = None,
    title: str | None = None,
    ylabel: str = "Participants",
) -> Figure:
    """Bars of participants by area (x), stacked by prevention level (hue).

    Parameters
    ----------
    table
        :func:`sna.interventions.reach` output holding the cross dimension
        ``"<x>+<hue>"`` (``by=[("partnership", "level")]``), or, with ``hue=None``, the
        one-way dimension ``x``.
    x, hue
        Variables on the axis and in the stack.
    value
        Column to draw (``"n"`` or ``"n_in_ages"``).
    ax
        Axes to draw into.
    title, ylabel
        Labels.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from sna.interventions import reach
    >>> parts = pd.DataFrame({"partnership": ["City", "City", "County"],
    ...                       "level": ["universal", "tertiary", "universal"], "age": [10, 15, 12]})
    >>> fig = reach_bars(reach(parts, by=[("partnership", "level")]))
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['City', 'County']
    """
    dim = x if hue is None else f"{x}+{hue}"
    _need(table, ["dimension", value], "reach_bars")
    t = table[table["dimension"] == dim]
    if t.empty:
        raise AnalysisInputError(
            f"reach_bars: the table has no {dim!r} rows; call reach(..., by=[({x!r}, "
            f"{hue!r})])" if hue else f"reach_bars: the table has no {dim!r} rows",
            column="dimension",
        )
    _need(t, [x] + ([hue] if hue else []), "reach_bars")
    xs = list(dict.fromkeys(t[x].astype(str)))
    # drop an all-zero "Not known" column of the axis
    nk = t[t[x].astype(str) == NOT_KNOWN]
    if NOT_KNOWN in xs and nk[value].sum() == 0:
        xs.remove(NOT_KNOWN)
    fig, ax = _figure(ax)
    pos = np.arange(len(xs))
    if hue is None:
        v = t.set_index(t[x].astype(str))[value].reindex(xs).fillna(0).to_numpy(dtype=float)
        ax.bar(pos, v, color=PALETTE[0])
    else:
        hues = list(dict.fromkeys(t[hue].astype(str)))
        hk = t[t[hue].astype(str) == NOT_KNOWN]
        if NOT_KNOWN in hues and hk[value].sum() == 0:
            hues.remove(NOT_KNOWN)
        piv = t.assign(_x=t[x].astype(str), _h=t[hue].astype(str)).pivot_table(
            index="_x", columns="_h", values=value, aggfunc="sum").reindex(
            index=xs, columns=hues).fillna(0)
        bottom = np.zeros(len(xs))
        for i, h in enumerate(hues):
            v = piv[h].to_numpy(dtype=float)
            ax.bar(pos, v, bottom=bottom, color=_colour(h, i), label=h)
            bottom += v
        ax.legend(title=hue.replace("_", " ").capitalize(), frameon=False, fontsize="small",
                  loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_xticks(pos, xs)
    ax.set_ylabel(ylabel)
    ax.set_xlabel(x.replace("_", " ").capitalize())
    if title:
        ax.set_title(title)
    return fig


# --------------------------------------------------------------------------------------
# outcomes
# --------------------------------------------------------------------------------------
@styled
def outcome_plot(
    table: pd.DataFrame,
    *,
    label: str = "group",
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str | None = None,
) -> Figure:
    """Dot-and-interval chart of the change from start to end, per group.

    Parameters
    ----------
    table
        :func:`sna.interventions.outcomes` output (score: ``mean_change``; yes/no:
        ``change`` in the share offending). Groups not shown (``shown`` False) are listed
        at their place with the reason, never drawn.
    label
        Column of the group label.
    ax
        Axes to draw into.
    title, xlabel
        Labels; the x label defaults to the measure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> t = pd.DataFrame({"group": ["A", "B"], "n": [20, 4], "shown": [True, False],
    ...                   "reason": ["", "fewer than 10 pairs (n = 4)"],
    ...                   "mean_change": [1.5, None], "change_lowercl": [0.5, None],
    ...                   "change_uppercl": [2.5, None]})
    >>> fig = outcome_plot(t)
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['not shown: fewer than 10 pairs (n = 4)']
    """
    value = "mean_change" if "mean_change" in table.columns else "change"
    _need(table, [label, value, "change_lowercl", "change_uppercl"], "outcome_plot")
    shown = table["shown"].astype(bool).to_numpy() if "shown" in table.columns else \
        np.ones(len(table), dtype=bool)
    fig, ax = _figure(ax, size=(6.5, 0.45 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    scale = 100.0 if value == "change" else 1.0
    v = pd.to_numeric(table[value], errors="coerce").to_numpy(dtype=float) * scale
    lo = pd.to_numeric(table["change_lowercl"], errors="coerce").to_numpy(dtype=float) * scale
    hi = pd.to_numeric(table["change_uppercl"], errors="coerce").to_numpy(dtype=float) * scale
    colour = PALETTE[0]
    for i in range(len(table)):
        if shown[i] and np.isfinite(v[i]):
            ax.plot([lo[i], hi[i]], [y[i], y[i]], color=colour, linewidth=2)
            ax.scatter([v[i]], [y[i]], color=colour, zorder=3, s=36)
    ax.axvline(0, color="black", linewidth=0.8, linestyle="--")
    finite = np.r_[v[shown], lo[shown], hi[shown], 0.0]
    finite = finite[np.isfinite(finite)]
    left = finite.min() if finite.size else 0.0
    for i in range(len(table)):
        if not shown[i]:
            reason = str(table["reason"].iloc[i]) if "reason" in table.columns else ""
            ax.text(left, y[i], f"not shown: {reason}".rstrip(": "), va="center",
                    fontsize="x-small", color=_GREY)
    ax.set_yticks(y, table[label].astype(str).tolist())
    ax.set_xlabel(xlabel or ("Mean change, end - start (95% CI)" if value == "mean_change"
                             else "Change in % offending, after - before (95% CI)"))
    if title:
        ax.set_title(title)
    return fig
