"""Change between two periods (:func:`change`) and hot-spot persistence over many
(:func:`classify`: persistent, emerging, former, intermittent hot and cold spots).
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from .._log import logger, record
from . import grids
from ._inference import Correction, adjust_pvalues
from ._inputs import checked_areas, fail, points_xy
from .counts import count
from .local import gistar_z, star_weights
from .weights import WeightsSpec, neighbours

__all__ = [
    "CATEGORY_LABELS",
    "change",
    "classify",
]


#: Persistence classes of :func:`classify` (``hotspot_category`` column).
CATEGORY_LABELS: tuple[str, ...] = (
    "persistent hot spot",
    "emerging hot spot",
    "intermittent hot spot",
    "former hot spot",
    "mixed hot and cold spot",
    "no pattern",
    "former cold spot",
    "intermittent cold spot",
    "emerging cold spot",
    "persistent cold spot",
)

# --------------------------------------------------------------------------------------------
# change and persistence
# --------------------------------------------------------------------------------------------


def change(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    areas: gpd.GeoDataFrame | None = None,
    grid: gpd.GeoDataFrame | None = None,
    value: str = "n",
) -> gpd.GeoDataFrame:
    """Change in events per area or cell between two periods (or two groups).

    Parameters
    ----------
    before, after
        Either two tables of counts for the same areas (e.g. two outputs of :func:`count`,
        matched on the index), or two tables of events, which are counted on ``areas`` /
        ``grid`` (a shared grid over both sets of events when neither is given).
    areas, grid
        Where to count events (ignored for counts).
    value
        The count column of count tables (default ``"n"``).

    Returns
    -------
    geopandas.GeoDataFrame
        The areas / cells plus ``n_before``, ``n_after``, ``change`` (after − before) and
        ``pct_change`` (NaN where there were no events before), as sfhotspot
        ``hotspot_change``.

    Raises
    ------
    AnalysisInputError
        Empty inputs, or count tables whose areas differ.

    Examples
    --------
    >>> import pandas as pd
    >>> b = pd.DataFrame({"n": [4, 0, 2]}, index=["A", "B", "C"])
    >>> a = pd.DataFrame({"n": [2, 3, 2]}, index=["A", "B", "C"])
    >>> change(b, a)[["n_before", "n_after", "change", "pct_change"]]
       n_before  n_after  change  pct_change
    A         4        2      -2       -50.0
    B         0        3       3         NaN
    C         2        2       0         0.0
    """
    for name, obj in (("before", before), ("after", after)):
        if not isinstance(obj, pd.DataFrame):
            raise fail(f"{name} must be a DataFrame, got {type(obj).__name__}.")
        if len(obj) == 0:
            raise fail(f"{name} is empty.")
    counts_given = value in before.columns and value in after.columns
    meta: dict[str, Any] = {}
    if counts_given:
        if not before.index.equals(after.index):
            if set(before.index) != set(after.index):
                raise fail(
                    "before and after count different areas; count both on the same areas / grid."
                )
            after = after.loc[before.index]
        out = before.drop(columns=[value]).copy()
        nb = pd.to_numeric(before[value], errors="coerce").fillna(0).to_numpy()
        na = pd.to_numeric(after[value], errors="coerce").fillna(0).to_numpy()
        meta["input"] = "counts"
    else:
        if areas is None and grid is None:
            xb, _ = points_xy(before, "before")
            xa, _ = points_xy(after, "after")
            both = np.vstack([xb, xa])
            both = both[np.isfinite(both).all(axis=1)]
            grid = grids.grid(pd.DataFrame({"x": both[:, 0], "y": both[:, 1]}))
        cb = count(before, areas=areas, grid=grid)
        ca = count(after, areas=areas, grid=grid)
        out = cb.drop(columns=["n"]).copy()
        nb, na = cb["n"].to_numpy(), ca["n"].to_numpy()
        meta["input"] = "events"
        meta["count_before"] = cb.attrs["sna"]["count"]
        meta["count_after"] = ca.attrs["sna"]["count"]
    out.attrs = {}
    if np.all(np.mod(nb, 1) == 0) and np.all(np.mod(na, 1) == 0):
        nb, na = nb.astype(np.int64), na.astype(np.int64)
    out["n_before"] = nb
    out["n_after"] = na
    out["change"] = na - nb
    with np.errstate(divide="ignore", invalid="ignore"):
        out["pct_change"] = np.where(nb > 0, (na - nb) / np.where(nb > 0, nb, 1) * 100, np.nan)
    meta["total_before"] = float(nb.sum())
    meta["total_after"] = float(na.sum())
    record(out, "change", meta)
    return out

_UNITS = {
    "day": "D",
    "week": "W",
    "month": "M",
    "quarter": "Q",
    "year": "Y",
}

def _parse_period(period: str) -> tuple[float, str]:
    m = re.fullmatch(
        r"\s*([0-9]*\.?[0-9]+)\s*(day|week|month|quarter|year)s?\s*", str(period).lower()
    )
    if not m:
        raise fail(
            f"period must be a number and a unit of time, e.g. '12 months', '1 year', "
            f"'4 weeks'; got {period!r}.",
            key="period",
        )
    return float(m.group(1)), m.group(2)

def _offset(num: float, unit: str) -> pd.DateOffset:
    if unit in ("month", "quarter", "year"):
        months = num * {"month": 1, "quarter": 3, "year": 12}[unit]
        if months != int(months):
            raise fail(f"period of {num:g} {unit}s is not a whole number of months.", key="period")
        return pd.DateOffset(months=int(months))
    days = num * (7 if unit == "week" else 1)
    return pd.DateOffset(days=days) if days == int(days) else pd.Timedelta(days=days)

def classify(
    points: pd.DataFrame,
    *,
    time: str,
    period: str = "12 months",
    start=None,
    areas: gpd.GeoDataFrame | None = None,
    grid: gpd.GeoDataFrame | None = None,
    cell_size: float | None = None,
    shape: Literal["square", "hex"] = "square",
    weights: WeightsSpec = "queen",
    hotspot_prop: float = 0.1,
    persistent_prop: float = 0.8,
    recent_prop: float = 0.2,
    critical_p: float = 0.05,
    correction: Correction = "holm",
    collapse: bool = False,
) -> gpd.GeoDataFrame:
    """Classify areas as persistent, emerging, former or intermittent hot or cold spots.

    Parameters
    ----------
    points
        The events, with coordinates (or an ``lsoa`` column when ``areas`` is given) and a
        date column.
    time
        Name of the date column (e.g. ``"month"`` or ``"date"``).
    period
        Length of each period: a number and a unit (day, week, month, quarter, year), e.g.
        ``"12 months"`` (default), ``"3 months"``, ``"1 year"``.
    start
        Start of the first period; default: the earliest date (the first of its month for
        month, quarter and year periods). Use e.g. ``"2018-04-01"`` for financial years.
    areas, grid, cell_size, shape
        Where to count: LSOAs (``areas``), a given ``grid``, or (default) a grid over the
        convex hull of the events with ``cell_size`` / ``shape`` (see :func:`grid`).
    weights
        Neighbours for Gi* (default ``"queen"``, i.e. adjacent cells on a grid).
    hotspot_prop, persistent_prop, recent_prop, critical_p
        sfhotspot ``hotspot_classify_params`` defaults: 0.1, 0.8, 0.2, 0.05.
    correction
        Adjustment of each area's p-values across the periods (default ``"holm"``: what
        sfhotspot does when no method is given, as R's ``p.adjust`` defaults to Holm).
    collapse
        Merge a final, partial period into the one before it.

    Returns
    -------
    geopandas.GeoDataFrame
        The areas / cells plus ``n`` (all events), ``periods_hot``, ``periods_cold`` (number
        of periods significantly hot / cold) and ``hotspot_category``: one of
        :data:`CATEGORY_LABELS`. ``attrs["sna"]["classify"]`` records the periods (start,
        end, events), the parameters and the number of areas per category.

    Raises
    ------
    AnalysisInputError
        Unknown time column, an unparseable period, fewer than two periods with events, or
        parameters outside (0, 1).

    Notes
    -----
    After sfhotspot ``hotspot_classify`` (Ashby): Gi* (binary weights, self included,
    normal p-values, no spatial correction) in each period; each area's p-values adjusted
    across periods; a period is "hot" when the adjusted p < ``critical_p`` and Gi* > 0
    ("cold" when Gi* < 0). With N periods the last ``max(1, floor(recent_prop · N))`` are
    "recent" and the rest "older". For hot spots (cold spots alike):

    - *persistent*: hot in at least ``persistent_prop`` of all periods;
    - else *emerging*: hot in less than ``hotspot_prop`` of the older periods and at least
      ``hotspot_prop`` of the recent ones;
    - else *former*: hot in at least ``hotspot_prop`` of the older periods and less than
      ``hotspot_prop`` of the recent ones;
    - else *intermittent*: hot in at least ``hotspot_prop`` of all periods;
    - an area with both a hot and a cold pattern is *mixed*; otherwise *no pattern*.

    These are sfhotspot's documented rules, which ``sna`` follows. Its code (version 0.9)
    differs in two details: the recent window it sums holds one period more than it divides
    by (the last older period is counted as recent too), and "emerging" compares the recent
    share with ``recent_prop`` rather than ``hotspot_prop`` (the same decision with the
    default parameters below 30 periods). Periods without events are left out (logged).

    Examples
    --------
    Two years of events on a 5 x 5 grid of areas, 20 a year in the central 3 x 3 block and
    2 elsewhere:

    >>> import numpy as np, pandas as pd, geopandas as gpd
    >>> from shapely.geometry import box
    >>> cells = gpd.GeoDataFrame({"lsoa": [f"L{i}" for i in range(25)]},
    ...     geometry=[box(x, y, x + 1, y + 1) for y in range(5) for x in range(5)], crs=27700)
    >>> n = np.full(25, 2)
    >>> n[[6, 7, 8, 11, 12, 13, 16, 17, 18]] = 20
    >>> ev = pd.DataFrame({"lsoa": np.repeat(cells["lsoa"], n), "month": pd.Timestamp("2020-01-01")})
    >>> ev = pd.concat([ev, ev.assign(month=pd.Timestamp("2021-01-01"))], ignore_index=True)
    >>> out = classify(ev, time="month", areas=cells)
    >>> out.loc[12, "hotspot_category"], out.attrs["sna"]["classify"]["n_periods"]
    ('persistent hot spot', 2)
    """
    props = {"hotspot_prop": hotspot_prop, "persistent_prop": persistent_prop,
             "recent_prop": recent_prop, "critical_p": critical_p}
    when = _dates(points, time, props)
    start, edges, pos, data_end, partial = _periods(when, period, start, collapse)
    target = _where_to_count(points, areas, grid, cell_size, shape)
    per_period, counts = _count_periods(points, pos, edges, data_end, areas, target)
    if len(counts) < 2:
        raise fail(
            f"classify needs at least two periods with events; the data give {len(counts)} "
            f"period(s) of {period!r}. Use a shorter period.",
            key="period",
        )
    target_checked, _, _ = checked_areas(target, "areas" if areas is not None else "grid")
    mat, winfo = neighbours(target_checked, weights)
    nmat = np.column_stack([c for _, c in counts])  # areas x periods
    hot, cold = _hot_and_cold(nmat, mat, correction, critical_p)
    m = nmat.shape[1]
    recent, older = _recent_and_older(m, recent_prop)
    final = _categories(hot, cold, older, recent, hotspot_prop, persistent_prop)
    out = target_checked.copy()
    out.attrs = {}
    out["n"] = nmat.sum(axis=1).astype(np.int64)
    out["periods_hot"] = hot.sum(axis=1).astype(np.int64)
    out["periods_cold"] = cold.sum(axis=1).astype(np.int64)
    out["hotspot_category"] = final
    meta = {
        "period": period,
        "start": str(start.date()),
        "periods": per_period,
        "n_periods": m,
        "recent_periods": recent,
        "final_period_partial": bool(partial and not collapse),
        **props,
        "correction": f"{correction} across periods within each area" if correction else None,
        "weights": winfo,
        "pvalues": "normal approximation, two-sided, per period",
        "categories": {k: int(v) for k, v in pd.Series(final).value_counts().items()},
    }
    if partial and not collapse:
        _warn_partial(edges, data_end)
    if "grid" in target.attrs.get("sna", {}):
        meta["grid"] = target.attrs["sna"]["grid"]
    record(out, "classify", meta)
    return out

def _dates(points: pd.DataFrame, time: str, props: dict[str, float]) -> pd.Series:
    """The dates of the events, after checking :func:`classify`'s proportions (``props``),
    the events and their date column."""
    for name, v in props.items():
        if not 0 < v < 1:
            raise fail(f"{name} must be greater than 0 and less than 1, got {v!r}.", key=name)
    if not isinstance(points, pd.DataFrame) or len(points) == 0:
        raise fail("points is empty: there are no events to classify.")
    if time not in points.columns:
        raise fail(f"time column {time!r} not found in points.", column=time)
    when = pd.to_datetime(points[time], errors="coerce")
    if when.isna().all():
        raise fail(f"time column {time!r} has no dates.", column=time)
    return when

def _where_to_count(points, areas, grid, cell_size, shape):
    """The areas, the grid given, or a grid over the events (:func:`grids.grid`)."""
    if areas is None and grid is None:
        xy, _ = points_xy(points)
        okxy = np.isfinite(xy).all(axis=1)
        grid = grids.grid(
            pd.DataFrame({"x": xy[okxy, 0], "y": xy[okxy, 1]}), cell_size=cell_size, shape=shape
        )
    return areas if areas is not None else grid

def _warn_partial(edges, data_end) -> None:
    logger.warning(
        "classify: the last period (from %s) is only partly covered by the data (to %s); "
        "pass collapse=True to merge it into the one before",
        edges[-2].date(),
        (data_end - pd.Timedelta(days=1)).date(),
    )

def _recent_and_older(m: int, recent_prop: float) -> tuple[int, int]:
    """How many of the ``m`` periods are recent (at least one, with a warning) and older."""
    recent = math.floor(recent_prop * m)
    if recent < 1:
        recent = 1
        logger.warning(
            "classify: recent_prop x %d periods < 1; the last period is treated as recent", m
        )
    older = m - recent
    if older < 1:
        raise fail(
            "classify needs at least one non-recent period; use a shorter period.", key="period"
        )
    return recent, older

def _periods(when: pd.Series, period: str, start, collapse: bool):
    """The periods of :func:`classify`: their start, the edges between them, each event's
    period (-1 without a date), the end of the data and whether the last period is partial."""
    num, unit = _parse_period(period)
    off = _offset(num, unit)
    t0 = when.min()
    if start is None:
        start = t0.normalize()
        if unit in ("month", "quarter", "year"):
            start = start.replace(day=1)
    start = pd.Timestamp(start)
    if start > t0:
        raise fail(
            f"start ({start.date()}) is after the first date in the data ({t0.date()}).",
            key="start",
        )
    tmax = when.max()
    # the end of the data: a month of data when the dates are months (data.police.uk)
    month_precision = bool(((when.dt.day == 1) & (when.dt.normalize() == when)).all())
    data_end = tmax + (pd.DateOffset(months=1) if month_precision else pd.Timedelta(days=1))
    edges = [start]
    while edges[-1] + off <= tmax:
        edges.append(edges[-1] + off)
    edges.append(edges[-1] + off)
    partial = data_end < edges[-1]
    if partial and collapse and len(edges) > 2:
        edges = edges[:-2] + [edges[-1]]
    pos = np.searchsorted(
        np.array(edges[1:], dtype="datetime64[ns]"), when.to_numpy(), side="right"
    )
    pos = np.where(when.isna().to_numpy(), -1, pos)
    return start, edges, pos, data_end, partial

def _count_periods(points, pos, edges, data_end, areas, target):
    """Events per area in each period with events: (each period's record, [(period, counts)])."""
    per_period = []
    counts = []
    for p in range(len(edges) - 1):
        sub = points[pos == p]
        end = min(edges[p + 1], data_end) - pd.Timedelta(days=1)
        info = {"start": str(edges[p].date()), "end": str(end.date()), "events": len(sub)}
        per_period.append(info)
        if len(sub) == 0:
            logger.warning(
                "classify: no events in the period starting %s; it is left out", info["start"]
            )
            info["used"] = False
            continue
        c = count(sub, areas=areas, grid=target if areas is None else None)
        counts.append((p, c["n"].to_numpy(dtype=float)))
        info["used"] = True
    return per_period, counts

def _hot_and_cold(nmat: np.ndarray, mat, correction, critical_p: float):
    """Gi* (normal p-values) in each period (a column of ``nmat``), each area's p-values
    adjusted across the periods: the (areas x periods) masks of significant hot and cold."""
    zmat = np.full(nmat.shape, np.nan)
    pmat = np.full(nmat.shape, np.nan)
    wstar, wi, s1 = star_weights(mat)
    for j in range(nmat.shape[1]):
        x = nmat[:, j]
        if np.sqrt((x**2).mean() - x.mean() ** 2) == 0:
            continue
        z = gistar_z(x, wstar, wi, s1)
        zmat[:, j] = z
        pmat[:, j] = 2 * stats.norm.sf(np.abs(z))
    padj = np.vstack([adjust_pvalues(row, correction) for row in pmat])
    sig = padj < critical_p
    return sig & (zmat > 0), sig & (zmat < 0)

def _categories(hot, cold, older: int, recent: int, hotspot_prop: float,
                persistent_prop: float) -> np.ndarray:
    """Each area's persistence class from its hot and cold periods (see :func:`classify`)."""
    m = hot.shape[1]

    def cats(flag: np.ndarray, kind: str) -> np.ndarray:
        prop = flag.sum(axis=1) / m
        rec = flag[:, older:].sum(axis=1) / recent
        old = flag[:, :older].sum(axis=1) / older
        out = np.full(len(flag), "no pattern", dtype=object)
        inter = prop >= hotspot_prop
        former = (old >= hotspot_prop) & (rec < hotspot_prop)
        emerging = (old < hotspot_prop) & (rec >= hotspot_prop)
        persistent = prop >= persistent_prop
        out[inter] = f"intermittent {kind}"
        out[former] = f"former {kind}"
        out[emerging] = f"emerging {kind}"
        out[persistent] = f"persistent {kind}"
        return out

    ch, cc = cats(hot, "hot spot"), cats(cold, "cold spot")
    return np.where(
        (ch != "no pattern") & (cc != "no pattern"),
        "mixed hot and cold spot",
        np.where(ch != "no pattern", ch, cc),
    ).astype(object)
