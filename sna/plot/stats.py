"""Charts of the statistics in :mod:`sna.rates`, :mod:`sna.trend` and :mod:`sna.spc`.

Each function draws in the house style (:mod:`sna.plot.style`), takes an optional ``ax``
to draw into, never modifies its input, and returns the matplotlib ``Figure``:

- :func:`trend_chart` -- monthly or yearly counts with the baseline band and the COVID-19
  lockdown markers;
- :func:`spc_chart` -- an XmR chart in the NHS "Making Data Count" style;
- :func:`funnel_plot` -- units against their denominators with 95 % and 99.8 % limits;
- :func:`stl_chart` -- observed, trend, seasonal and remainder panels;
- :func:`its_chart` -- an interrupted time series with its counterfactual;
- :func:`table_a_chart` -- % change against the baseline with intervals ("Table A").

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> from sna.trend import compare_periods
>>> from sna.plot.stats import table_a_chart
>>> counts = pd.DataFrame({"fy": ["2017/18", "2018/19", "2019/20", "2020/21"] * 2,
...                        "category": ["Robbery"] * 4 + ["Homicide"] * 4,
...                        "n": [340, 360, 350, 300, 4, 6, 5, 3]})
>>> fig = table_a_chart(compare_periods(counts, year="2020/21"))
>>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
['Homicide', 'Robbery']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import AnalysisInputError
from ..periods import FinancialYear
from ..trend import LOCKDOWNS as _TREND_LOCKDOWNS
from .style import (
    COMMON_CAUSE,
    CONCERN,
    IMPROVEMENT,
    LIGHT_GREY,
    LOCKDOWN_COLOUR,
    MDC_COLOURS,
    PALETTE,
    SIGNIFICANCE_COLOURS,
    new_figure,
    spread_labels,
    styled,
    thousands,
)

__all__ = [
    "trend_chart",
    "spc_chart",
    "funnel_plot",
    "stl_chart",
    "its_chart",
    "table_a_chart",
    "add_lockdowns",
    "LOCKDOWNS",
]

#: COVID-19 national lockdowns in England (from :data:`sna.trend.LOCKDOWNS`): label -> start.
LOCKDOWNS: dict[str, pd.Timestamp] = {
    f"Lockdown {i}": when for i, when in enumerate(_TREND_LOCKDOWNS.values(), start=1)
}


def _need(df: pd.DataFrame, cols, what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise AnalysisInputError(f"{what} needs a DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c is not None and c not in df.columns]
    if missing:
        raise AnalysisInputError(
            f"{what}: the table has no column {missing[0]!r} (columns are: "
            f"{', '.join(map(str, df.columns))})",
            column=str(missing[0]),
        )


def _meta(df: pd.DataFrame, key: str, producer: str) -> dict:
    meta = df.attrs.get("sna", {}).get(key) if isinstance(df, pd.DataFrame) else None
    if meta is None:
        raise AnalysisInputError(
            f"this chart draws the output of {producer} (its attrs['sna'][{key!r}] is missing; "
            "pandas operations such as merge can drop attrs: draw the result directly)"
        )
    return meta


def _is_fy_labels(s: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(s) or isinstance(s.dtype, pd.PeriodDtype):
        return False
    values = pd.unique(s.dropna())
    if len(values) == 0:
        return False
    for v in values:
        if not isinstance(v, str) or ("/" not in v and not v.upper().startswith("FY")):
            return False
        try:
            FinancialYear.parse(v)
        except Exception:  # noqa: BLE001 - any failure means "not FY labels"
            return False
    return True


def _to_time(s: pd.Series) -> pd.Series:
    from .._validate import timestamps as _timestamps

    return _timestamps(s, str(s.name))


def add_lockdowns(ax, *, labels: bool = True, lockdowns: dict | None = None) -> list:
    """Mark the COVID-19 lockdowns (23 Mar 2020, 5 Nov 2020, 6 Jan 2021) on a date axis.

    Only lockdowns within the current x-range are drawn. Returns the lines drawn.
    """
    import matplotlib.dates as mdates

    lo, hi = ax.get_xlim()
    drawn = []
    for name, when in (lockdowns or LOCKDOWNS).items():
        x = mdates.date2num(when)
        if not lo <= x <= hi:
            continue
        line = ax.axvline(when, color=LOCKDOWN_COLOUR, linestyle=(0, (2, 2)), linewidth=0.9,
                          zorder=1, label="_lockdown")
        line.set_gid(f"lockdown:{name}")
        drawn.append(line)
        if labels:
            ax.text(when, 1.0, f" {name}", transform=ax.get_xaxis_transform(), rotation=90,
                    va="top", ha="right", fontsize=7, color=LOCKDOWN_COLOUR)
    return drawn


def _date_axis(ax) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _with_gaps(x: pd.Series, y: np.ndarray) -> tuple[pd.DatetimeIndex, np.ndarray, list]:
    """A monthly line with every month in its range: a month without data (a missing value
    or a month absent from the series) is NaN, so the line breaks there. Returns the months,
    the values and the months without data."""
    months = pd.DatetimeIndex(pd.to_datetime(x)).to_period("M").to_timestamp()
    s = pd.Series(np.asarray(y, dtype=float), index=months)
    s = s[~s.index.duplicated()].sort_index()
    if s.empty:
        return s.index, s.to_numpy(), []
    full = s.reindex(pd.date_range(s.index.min(), s.index.max(), freq="MS"))
    return full.index, full.to_numpy(), list(full.index[full.isna()])


def _shade_gaps(ax, gaps: list, *, label: bool = True) -> None:
    """Hatch the months without data, labelled once "No data"."""
    for i, month in enumerate(sorted(gaps)):  # centred where the month's point would be
        half = pd.Timedelta(days=15)
        ax.axvspan(month - half, month + half, facecolor="none",
                   edgecolor=LIGHT_GREY, hatch="///", linewidth=0, zorder=0,
                   label="No data (month missing)" if label and i == 0 else "_gap")


# --------------------------------------------------------------------------------------------
# trend
# --------------------------------------------------------------------------------------------


@styled
def trend_chart(
    data: pd.DataFrame,
    *,
    value: str = "n",
    date: str = "month",
    by: str | None = None,
    year=None,
    baseline_years: int = 3,
    lockdowns: bool = True,
    rolling: bool = False,
    months: str | None = None,
    ax=None,
    title: str | None = None,
    ylabel: str | None = None,
):
    """Counts over time, with the baseline band and the COVID-19 lockdown markers.

    Parameters
    ----------
    data
        A monthly table (e.g. :func:`sna.trend.monthly`) or a yearly one whose ``date``
        column holds financial-year labels ("2019/20").
    value, date
        The value and time columns.
    by
        A column giving separate series (one line each, house palette).
    year
        The financial year of interest: it is shaded, and the ``baseline_years`` before it
        give the baseline band (single series only): a dashed line at the baseline's
        average per month (per year for yearly data) and a band from the lowest to the
        highest year's average.
    baseline_years
        Length of the baseline (default 3).
    lockdowns
        Mark the three national lockdowns (where within the time range).
    rolling
        Monthly data: add the rolling 12-month average.
    months
        Yearly data: a column with the months of data behind each year's total; a year with
        fewer than 12 is labelled so ("2018/19 (5 months)").
    ax
        Axes to draw into; default a new figure.
    title, ylabel
        Chart title and y-axis label (default "Count per month" / "Count per year").

    Returns
    -------
    matplotlib.figure.Figure
        A month without data (a missing value, or a month absent from a monthly series) is
        a gap in the line, hatched and labelled "No data"; it is never drawn as 0.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> m = pd.DataFrame({"month": pd.period_range("2017-04", "2021-03", freq="M"), "n": 30})
    >>> fig = trend_chart(m, year="2020/21")
    >>> [l.get_label() for l in fig.axes[0].get_lines() if not l.get_label().startswith("_")]
    ['Count', 'Baseline 2017/18 to 2019/20 average']
    """
    _need(data, [value, date, by, months], "trend_chart")
    fig, ax = new_figure(ax)
    yearly = _is_fy_labels(data[date])
    work = pd.DataFrame({"_y": pd.to_numeric(data[value], errors="coerce").to_numpy()})
    if yearly:
        starts = data[date].map(lambda v: FinancialYear.parse(v).start).to_numpy()
        work["_x"] = pd.to_datetime(starts) + pd.DateOffset(months=6)
        work["_fy"] = data[date].map(lambda v: FinancialYear.parse(v).start_year).to_numpy()
    else:
        work["_x"] = _to_time(data[date]).dt.to_period("M").dt.to_timestamp().to_numpy()
        work["_fy"] = [t.year - (t.month < 4) for t in work["_x"]]
    if by is not None:
        work["_g"] = data[by].to_numpy()
    groups = list(work.groupby("_g", sort=True, observed=True)) if by is not None else [(None, work)]
    style = {"marker": "o", "markersize": 4} if yearly else {}
    gaps: set = set()
    for i, (key, g) in enumerate(groups):
        g = g.sort_values("_x")
        colour = PALETTE[i % len(PALETTE)]
        if yearly:
            xs, ys = g["_x"], g["_y"].to_numpy()
        else:
            xs, ys, missing = _with_gaps(g["_x"], g["_y"].to_numpy())
            gaps.update(missing)
            if missing:  # a month alone between gaps is still seen
                style = {"marker": "o", "markersize": 2.5}
        ax.plot(xs, ys, color=colour, label=str(key) if by is not None else "Count", **style)
        if rolling and not yearly:
            roll = pd.Series(ys, index=xs).rolling(12, min_periods=12).mean()
            ax.plot(roll.index, roll.to_numpy(), color=colour, linestyle="--", linewidth=1.2,
                    label=f"{key}: 12-month average" if by is not None else "12-month average")
    _shade_gaps(ax, sorted(gaps))
    if year is not None:
        target = FinancialYear.parse(year)
        span = (target.start, target.end + pd.Timedelta(days=1))
        ax.axvspan(*span, color=LIGHT_GREY, alpha=0.35, zorder=0, linewidth=0,
                   label=f"{target}")
        base = target.baseline(baseline_years)
        if by is None:
            in_base = work[work["_fy"].isin([b.start_year for b in base])]
            if not in_base.empty:
                per_year = in_base.groupby("_fy")["_y"].mean()
                mean = float(in_base.groupby("_fy")["_y"].mean().mean())
                label = f"Baseline {base[0]} to {base[-1]}" if len(base) > 1 else f"Baseline {base[0]}"
                ax.axhspan(per_year.min(), per_year.max(), color=COMMON_CAUSE, alpha=0.15,
                           linewidth=0, zorder=0, label=f"{label} range of yearly averages")
                ax.axhline(mean, color=COMMON_CAUSE, linestyle="--", linewidth=1.2,
                           label=f"{label} average")
    _date_axis(ax)
    if yearly:
        ticks = sorted(work["_x"].unique())
        ax.set_xticks(ticks)
        short = {}
        if months is not None:
            short = {fy: int(n) for fy, n in zip(work["_fy"], data[months]) if int(n) < 12}
        labels = []
        for t in ticks:
            fy = pd.Timestamp(t).year - (pd.Timestamp(t).month < 4)
            labels.append(str(FinancialYear(fy)) + (f"\n({short[fy]} months)" if fy in short
                                                    else ""))
        ax.set_xticklabels(labels)
    top = np.nanmax(work["_y"].to_numpy(dtype=float)) if work["_y"].notna().any() else 0.0
    ax.set_ylim(bottom=0, top=max(ax.get_ylim()[1], top * 1.06))  # the highest point clear
    if lockdowns:
        ax.set_xlim(ax.get_xlim())
        add_lockdowns(ax)
    thousands(ax)
    ax.set_ylabel(ylabel or ("Count per year" if yearly else "Count per month"))
    if title:
        ax.set_title(title)
    ax.legend(loc="lower left", ncols=2)
    return fig


# --------------------------------------------------------------------------------------------
# SPC
# --------------------------------------------------------------------------------------------


@styled
def spc_chart(
    result: pd.DataFrame,
    *,
    group=None,
    ax=None,
    title: str | None = None,
    ylabel: str | None = None,
    near_limits: bool = False,
    icon: bool = True,
):
    """An XmR chart in the NHS "Making Data Count" style.

    Parameters
    ----------
    result
        The output of :func:`sna.spc.xmr` (its attrs name the value and date columns).
    group
        With ``by`` groups, the group to draw (its value, or a tuple for several columns).
    ax
        Axes to draw into; default a new figure.
    title, ylabel
        Chart title and y label (default the value column's name).
    near_limits
        Also draw the near (2-sigma) limits.
    icon
        Show the variation icon of the latest point (text, coloured as its point type).

    Returns
    -------
    matplotlib.figure.Figure
        Points are coloured improvement (blue ``#289de0``), concern (orange ``#fab428``),
        neutral (purple) or common cause (grey ``#7b7d7d``); the mean is a solid line, the
        process limits dashed (dotted while provisional). A month without data is no
        point: the line breaks there and the month is hatched "No data". The icon is the
        latest point's class (:func:`sna.spc.variation_summary`), so it never contradicts
        the points; draw the window the limits were computed on
        (:func:`sna.trend.assessment_window`).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from sna.spc import xmr
    >>> x = [10, 12, 11, 13, 12, 14, 11, 10, 12, 13, 30, 12]
    >>> df = pd.DataFrame({"month": pd.period_range("2020-04", periods=12, freq="M"), "n": x})
    >>> fig = spc_chart(xmr(df, "n", "month"))
    >>> fig.axes[0].texts[-1].get_text()
    'Common cause variation'
    """
    from ..spc import variation_summary

    meta = _meta(result, "xmr", "sna.spc.xmr")
    value, date, by_cols = meta["value"], meta["date"], meta["by"] or []
    df = result
    if by_cols:
        keys = df[by_cols].drop_duplicates()
        if group is None and len(keys) > 1:
            raise AnalysisInputError(
                f"spc_chart draws one series; pass group= one of "
                f"{[tuple(r) if len(r) > 1 else r[0] for r in keys.itertuples(index=False)][:10]}"
            )
        if group is not None:
            want = group if isinstance(group, tuple) else (group,)
            mask = np.logical_and.reduce([df[c] == v for c, v in zip(by_cols, want)])
            df = df[mask]
            if df.empty:
                raise AnalysisInputError(f"spc_chart: no series {group!r}")
    fig, ax = new_figure(ax)
    x = _to_time(df[date])
    y = df[value].to_numpy(dtype=float)
    monthly = bool((x.dt.day == 1).all() and (x.dt.normalize() == x).all())
    if monthly:  # a month without data breaks the line; it is hatched, never a point
        line_x, line_y, gaps = _with_gaps(x, y)
        _shade_gaps(ax, gaps)
    else:
        line_x, line_y = x, y
    ax.plot(line_x, line_y, color=COMMON_CAUSE, linewidth=1.2, zorder=2, label="_line")
    for kind, colour in MDC_COLOURS.items():
        m = (df["point_type"] == kind).to_numpy()
        if m.any():
            ax.scatter(x[m], y[m], s=32, color=colour, zorder=3, label=kind.capitalize(),
                       edgecolors="white", linewidths=0.5)
    first_mean = first_limit = first_prov = True
    for _, seg in df.assign(_x=x.to_numpy()).groupby("segment", sort=True):
        xs = seg["_x"]
        provisional = bool(seg["provisional"].iloc[0])
        ax.plot(xs, seg["mean"], color="#222222", linewidth=1.2, zorder=1,
                label="Mean" if first_mean else "_mean")
        first_mean = False
        style = ":" if provisional else "--"
        if provisional:
            lab = "Provisional process limits" if first_prov else "_limits"
            first_prov = False
        else:
            lab = "Process limits" if first_limit else "_limits"
            first_limit = False
        ax.plot(xs, seg["upl"], color=COMMON_CAUSE, linestyle=style, linewidth=1.1, zorder=1,
                label=lab)
        ax.plot(xs, seg["lpl"], color=COMMON_CAUSE, linestyle=style, linewidth=1.1, zorder=1,
                label="_limits")
        if near_limits:
            for col in ("near_upl", "near_lpl"):
                ax.plot(xs, seg[col], color=LIGHT_GREY, linewidth=0.9, zorder=1, label="_near")
    _date_axis(ax)
    ax.set_ylabel(ylabel or value)
    if title:  # left, clear of the variation icon at the right
        ax.set_title(title, loc="left" if icon else "center")
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.08), ncols=6, fontsize=8)
    if icon:
        summary = variation_summary(df)  # filtering keeps the xmr attrs it needs
        row = summary.iloc[-1]
        colour = MDC_COLOURS.get(row["variation"], COMMON_CAUSE)
        note = row["icon"] + ("\n(provisional limits)" if row["provisional"] else "")
        ax.text(1.0, 1.02, note, transform=ax.transAxes, ha="right", va="bottom", fontsize=8,
                bbox={"boxstyle": "round,pad=0.4", "facecolor": colour, "alpha": 0.18,
                      "edgecolor": colour})
    return fig


# --------------------------------------------------------------------------------------------
# funnel
# --------------------------------------------------------------------------------------------


def _od_note(od: dict | None) -> str:
    """The funnel legend's title: which limits, and the over-dispersion behind them."""
    if not od:
        return "Poisson limits"
    if not od["applied"]:
        phi = "" if od.get("phi") is None else f" (φ = {od['phi']:.2f})"
        return "Poisson limits:\nno over-dispersion" + phi
    how = "additive random effects" if od["method"] == "additive" else "multiplicative"
    return f"Limits allow for\nover-dispersion:\nφ = {od['phi']:.1f}, {how}"


@styled
def funnel_plot(
    result: pd.DataFrame,
    *,
    label: str | None = None,
    annotate: str = "significant",
    ax=None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
):
    """Funnel plot of the output of :func:`sna.rates.funnel`.

    Parameters
    ----------
    result
        The output of :func:`sna.rates.funnel` (its attrs give the centre and method).
    label
        Column naming each unit, for annotations.
    annotate
        "significant" (default: label units outside the 95 % limits), "all" or "none".
    ax, title, xlabel, ylabel
        Axes to draw into and labels (default x: the denominator column; y: "Rate per
        100,000" or "Proportion").

    Returns
    -------
    matplotlib.figure.Figure
        The centre line, 95 % limits (dashed), 99.8 % limits (solid) -- the over-dispersed
        limits when the funnel adjusted them -- and the units coloured by significance
        class; the legend's title says which limits and gives φ.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from sna.rates import funnel
    >>> df = pd.DataFrame({"area": list("ABCD"), "n": [30, 120, 95, 160],
    ...                    "pop": [40_000, 100_000, 90_000, 100_000]})
    >>> fig = funnel_plot(funnel(df, "n", "pop", overdispersion=False), label="area")
    >>> sorted(t.get_text() for t in fig.axes[0].texts)
    ['A', 'D']
    >>> fig = funnel_plot(funnel(df, "n", "pop"), label="area")  # over-dispersed: none
    >>> len(fig.axes[0].texts), fig.axes[0].get_legend().get_title().get_text().splitlines()
    (0, ['Limits allow for', 'over-dispersion:', 'φ = 3.4, additive random effects'])
    """
    from ..rates import funnel_limits

    meta = _meta(result, "funnel", "sna.rates.funnel")
    if annotate not in ("significant", "all", "none"):
        raise AnalysisInputError("annotate must be 'significant', 'all' or 'none'")
    den_col = meta["denominator"]
    _need(result, [den_col, "value", "significance", label], "funnel_plot")
    fig, ax = new_figure(ax)
    m = float(meta["multiplier"])
    den = result[den_col].to_numpy(dtype=float)
    grid = np.geomspace(max(den.min() / 2, 1e-9), den.max() * 1.1, 200)
    od = meta.get("overdispersion")
    adjusted = bool(od and od["applied"])
    curves = funnel_limits(target=meta["centre"] / m, denominators=grid, kind=meta["kind"],
                           multiplier=m, overdispersion=od if adjusted else False)
    ax.plot(grid, curves["baseline"], color="#222222", linewidth=1.2, label="Average")
    ax.plot(grid, curves["upper_2s_limit"], color=COMMON_CAUSE, linestyle="--", linewidth=1.1,
            label="95% limits")
    ax.plot(grid, curves["lower_2s_limit"], color=COMMON_CAUSE, linestyle="--", linewidth=1.1,
            label="_95")
    ax.plot(grid, curves["upper_3s_limit"], color=COMMON_CAUSE, linestyle="-", linewidth=1.1,
            label="99.8% limits")
    ax.plot(grid, curves["lower_3s_limit"], color=COMMON_CAUSE, linestyle="-", linewidth=1.1,
            label="_998")
    for cls, colour in SIGNIFICANCE_COLOURS.items():
        mask = (result["significance"] == cls).to_numpy()
        if mask.any():
            ax.scatter(den[mask], result["value"].to_numpy()[mask], s=36, color=colour,
                       edgecolors="white", linewidths=0.5, zorder=3, label=cls)
    if label is not None and annotate != "none":
        show = (result["significance"] != "Not significant") if annotate == "significant" \
            else pd.Series(True, index=result.index)
        names = [ax.text(r[den_col], r["value"], str(r[label]), fontsize=8, ha="left",
                         va="bottom")
                 for (_, r) in result[show.to_numpy()].iterrows()]
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    thousands(ax, "x")
    ax.set_xlabel(xlabel or den_col)
    per = f"{m:,.0f}"
    ax.set_ylabel(ylabel or (f"Rate per {per}" if meta["kind"] == "rate"
                             else ("Percentage" if m == 100 else "Proportion")))
    if title:
        ax.set_title(title)
    legend = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,  # outside
                       title=_od_note(od), title_fontsize=7, alignment="left")
    legend.get_title().set_color("#444444")
    if label is not None and annotate != "none" and len(names) > 1:
        spread_labels(ax, names, points=(den, result["value"].to_numpy(dtype=float)))
    return fig


# --------------------------------------------------------------------------------------------
# STL
# --------------------------------------------------------------------------------------------


@styled
def stl_chart(result: pd.DataFrame, *, ax: Sequence | None = None, title: str | None = None,
              lockdowns: bool = True):
    """Panels of an STL decomposition: observed, trend, seasonal, remainder.

    Parameters
    ----------
    result
        The output of :func:`sna.trend.stl` for one series.
    ax
        Four Axes to draw into (top to bottom); default a new figure with four panels.
    title
        Title above the panels.
    lockdowns
        Mark the COVID-19 lockdowns.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pandas as pd
    >>> from sna.trend import stl
    >>> m = pd.period_range("2015-04", periods=36, freq="M")
    >>> df = pd.DataFrame({"month": m, "n": 100 + 10 * np.sin(2 * np.pi * m.month / 12)})
    >>> fig = stl_chart(stl(df))
    >>> [a.get_ylabel() for a in fig.axes]
    ['Observed', 'Trend', 'Seasonal', 'Remainder']
    """
    meta = _meta(result, "stl", "sna.trend.stl")
    value, date = meta["value"], meta.get("date", "month")
    _need(result, [value, date, "trend", "seasonal", "resid"], "stl_chart")
    x = _to_time(result[date])
    if x.duplicated().any():
        raise AnalysisInputError("stl_chart draws one series; filter the result to one group")
    if ax is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(4, 1, figsize=(8, 7), sharex=True, layout="constrained")
    else:
        axes = list(ax)
        if len(axes) != 4:
            raise AnalysisInputError("stl_chart needs four Axes (observed, trend, seasonal, "
                                     "remainder)")
        fig = axes[0].figure
    panels = [(value, "Observed", PALETTE[0]), ("trend", "Trend", PALETTE[0]),
              ("seasonal", "Seasonal", PALETTE[2]), ("resid", "Remainder", COMMON_CAUSE)]
    for a, (col, name, colour) in zip(axes, panels):
        if col == "resid":
            a.vlines(x, 0, result[col], color=colour, linewidth=1.2)
            a.scatter(x, result[col], s=8, color=colour)
            a.axhline(0, color="#222222", linewidth=0.8)
        else:
            a.plot(x, result[col], color=colour)
        if col == "seasonal":
            a.axhline(0, color="#222222", linewidth=0.8)
        a.set_ylabel(name)
        _date_axis(a)
        if lockdowns:
            a.set_xlim(a.get_xlim())
            add_lockdowns(a, labels=(a is axes[0]))
    if title:
        axes[0].set_title(title)
    return fig


# --------------------------------------------------------------------------------------------
# ITS
# --------------------------------------------------------------------------------------------


def _fmt_rr(e: dict) -> str:
    return f"{e['rate_ratio']:.2f} ({e['lower']:.2f} to {e['upper']:.2f})"


@styled
def its_chart(result: pd.DataFrame, *, ax=None, title: str | None = None,
              ylabel: str | None = None, effects: bool = True):
    """An interrupted time series: observed counts, the fitted model and the counterfactual.

    Parameters
    ----------
    result
        The output of :func:`sna.trend.its`.
    ax
        Axes to draw into; default a new figure.
    title, ylabel
        Title and y label (default "Count per month").
    effects
        Print the level and slope changes (rate ratios with intervals) on the chart.

    Returns
    -------
    matplotlib.figure.Figure
        Observed points (grey; a month without data hatched), fitted line (blue), the
        model's projection without the interruption over the projection window only
        (dashed orange, with its interval shaded; labelled a projection), a line at the
        first affected month, and the effects with the kind of standard errors and the
        Durbin-Watson statistic.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pandas as pd
    >>> from sna.trend import its
    >>> rng = np.random.default_rng(1)
    >>> m = pd.period_range("2017-04", "2021-03", freq="M")
    >>> df = pd.DataFrame({"month": m, "n": rng.poisson(np.where(m >= pd.Period("2020-04", "M"), 70, 100))})
    >>> fig = its_chart(its(df, seasonal=None))
    >>> [l.get_label() for l in fig.axes[0].get_lines()][:2]
    ['Fitted', 'Model projection without the interruption (12 months)']
    """
    meta = _meta(result, "its", "sna.trend.its")
    value, date = meta.get("value", "n"), meta.get("date", "month")
    _need(result, [value, date, "fitted", "counterfactual", "post"], "its_chart")
    fig, ax = new_figure(ax)
    x = _to_time(result[date])
    post = result["post"].to_numpy() == 1
    observed = result[value].astype("float64").to_numpy()
    ax.scatter(x, observed, s=14, color=COMMON_CAUSE, zorder=3, label="Observed")
    _shade_gaps(ax, list(x[np.isnan(observed)]))
    ax.plot(x, result["fitted"], color=PALETTE[0], label="Fitted")
    window = post & result["counterfactual"].notna().to_numpy()
    months = meta.get("projection_months")
    ax.plot(x[window], result["counterfactual"][window], color=PALETTE[1], linestyle="--",
            label="Model projection without the interruption"
            + (f" ({months} months)" if months else ""))
    if "counterfactual_lower" in result:
        ax.fill_between(x[window], result["counterfactual_lower"][window],
                        result["counterfactual_upper"][window], color=PALETTE[1], alpha=0.15,
                        linewidth=0)
    start = pd.Period(meta["first_affected_month"], "M").to_timestamp()
    ax.axvline(start, color=LOCKDOWN_COLOUR, linewidth=1.0, linestyle=":", label="_interruption")
    ax.text(start, 0.0, f" first affected month {meta['first_affected_month']}",
            transform=ax.get_xaxis_transform(), va="bottom", ha="right", rotation=90,
            fontsize=7, color=LOCKDOWN_COLOUR)
    if effects:
        errors = (f"Newey-West (HAC, {meta['hac_lags']} lags)"
                  if meta.get("cov_type") == "HAC" else "model-based")
        ax.text(0.01, 0.02,
                f"Level change: rate ratio {_fmt_rr(meta['level_change'])}\n"
                f"Slope change: rate ratio per month {_fmt_rr(meta['slope_change'])}\n"
                f"{meta['confidence']:.0%} intervals, {errors} errors; "
                f"Durbin-Watson {meta['durbin_watson']:.2f}",
                transform=ax.transAxes, fontsize=8, va="bottom", ha="left",
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": LIGHT_GREY})
    _date_axis(ax)
    ax.set_ylim(bottom=0)
    thousands(ax)
    ax.set_ylabel(ylabel or "Count per month")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.08), ncols=3, fontsize=8)
    return fig


# --------------------------------------------------------------------------------------------
# Table A
# --------------------------------------------------------------------------------------------


@styled
def table_a_chart(
    table: pd.DataFrame,
    *,
    label: str | Sequence[str] = "category",
    improvement: str = "decrease",
    ax=None,
    title: str | None = None,
):
    """Bar chart of % change against the baseline with intervals ("Table A").

    Parameters
    ----------
    table
        The output of :func:`sna.trend.compare_periods` (or ``compare_previous``).
    label
        Column(s) naming the rows (joined with ": " when several, e.g. area and category).
    improvement
        "decrease" (default, for violence) or "increase": which direction of a significant
        change is coloured as improvement (blue) rather than concern (orange).
    ax, title
        Axes to draw into and title.

    Returns
    -------
    matplotlib.figure.Figure
        One horizontal bar per row, the interval of the % change as an error bar, the
        value printed in a column at the right with "*" when significant and "(fewer than
        10)" when the counts are too small to be reliable. Not significant changes are grey.
    """
    labels = [label] if isinstance(label, str) else list(label)
    _need(table, [*labels, "pct_change", "rr_lower", "rr_upper", "significant", "reliable"],
          "table_a_chart")
    if improvement not in ("decrease", "increase"):
        raise AnalysisInputError("improvement must be 'decrease' or 'increase'")
    fig, ax = new_figure(ax, figsize=(8, max(2.5, 0.45 * len(table) + 1.2)))
    names = table[labels].astype(str).agg(": ".join, axis=1).tolist()
    pct = table["pct_change"].to_numpy(dtype=float)
    lo = (table["rr_lower"].to_numpy(dtype=float) - 1) * 100
    hi = (table["rr_upper"].to_numpy(dtype=float) - 1) * 100
    hi = np.where(np.isfinite(hi), hi, np.nan)
    sig = table["significant"].to_numpy(dtype=bool)
    reliable = table["reliable"].to_numpy(dtype=bool)
    good = -1 if improvement == "decrease" else 1
    colours = [
        (IMPROVEMENT if np.sign(p) == good else CONCERN) if s else COMMON_CAUSE
        for p, s in zip(pct, sig)
    ]
    ypos = np.arange(len(table))[::-1]
    finite = np.isfinite(pct)
    ax.barh(ypos[finite], pct[finite], color=np.array(colours)[finite], height=0.6, zorder=2)
    err = np.vstack([pct - lo, hi - pct])
    ok = finite & np.isfinite(err).all(axis=0)
    ax.errorbar(pct[ok], ypos[ok], xerr=err[:, ok], fmt="none", ecolor="#222222",
                elinewidth=1, capsize=3, zorder=3)
    ax.axvline(0, color="#222222", linewidth=0.9)
    ax.set_yticks(ypos, names)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", visible=True)
    # the values in a column to the right of the bars, so they never overlap anything
    import matplotlib.transforms as mtransforms

    column = mtransforms.blended_transform_factory(ax.transAxes, ax.transData)
    for y, p, s, r in zip(ypos, pct, sig, reliable):
        text = ("no events in the baseline" if not np.isfinite(p)
                else f"{p:+.0f}%" + ("*" if s else "") + ("" if r else " (fewer than 10)"))
        ax.text(1.02, y, text, transform=column, va="center", ha="left", fontsize=8,
                color="#222222" if r and np.isfinite(p) else COMMON_CAUSE)
    ends = np.concatenate([pct[finite], lo[ok], hi[ok], [0.0]])
    left, right = float(np.nanmin(ends)), float(np.nanmax(ends))
    pad = 0.05 * max(right - left, 10.0)
    ax.set_xlim(min(left, 0.0) - pad, max(right, 0.0) + pad)
    meta = table.attrs.get("sna", {})
    info = meta.get("compare_periods") or meta.get("compare_previous") or {}
    conf = info.get("confidence", 0.95)
    base = info.get("baseline_label")
    ax.set_xlabel(f"% change" + (f" against {base}" if base else "")
                  + f" ({conf:.0%} interval; * significant)")
    if title:
        ax.set_title(title)
    from matplotlib.patches import Patch

    ax.legend(handles=[
        Patch(color=IMPROVEMENT, label="Significant improvement"),
        Patch(color=CONCERN, label="Significant concern"),
        Patch(color=COMMON_CAUSE, label="Not significant"),
    ], loc="upper left", bbox_to_anchor=(0.0, -0.14), ncols=3, fontsize=8)
    return fig
