"""Statistical process control: the NHS "Making Data Count" XmR chart.

:func:`xmr` computes the centre line, process limits and near limits of an XmR (individuals
and moving range) chart, applies the four Making Data Count rules, and classes every point as
improvement, concern, neutral or common cause. :func:`variation_summary` gives the variation
icon of the latest point of each series. Drawing is in :func:`sna.plot.spc_chart`.

Examples
--------
>>> import pandas as pd
>>> from sna.spc import xmr
>>> x = [10, 12, 11, 13, 12, 14, 11, 10, 12, 13, 30, 12]
>>> df = pd.DataFrame({"month": pd.period_range("2020-04", periods=12, freq="M"), "n": x})
>>> out = xmr(df, "n", "month")
>>> out[["mean", "lpl", "upl"]].iloc[0].round(4).tolist()
[13.3333, 1.2424, 25.4242]
>>> out.loc[out.special_cause_flag, ["n", "point_type"]]
     n point_type
10  30    concern
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ._log import record
from .errors import AnalysisInputError
from ._validate import as_list as _as_list
from ._validate import check_columns as _check_columns
from ._validate import check_frame as _check_frame
from ._validate import timestamps as _timestamps

__all__ = [
    "xmr",
    "variation_summary",
    "RULES",
    "LIMIT_FACTOR",
    "SCREEN_FACTOR",
    "SHIFT_LENGTH",
    "TREND_LENGTH",
    "MIN_POINTS_FOR_FIXED_LIMITS",
]

logger = logging.getLogger("sna")

#: Process limits are mean ± 2.66 × mean moving range (3 sigma, d2 = 1.128).
LIMIT_FACTOR = 2.66
#: Moving ranges above 3.267 × the mean moving range are screened out (when asked).
SCREEN_FACTOR = 3.267
#: Points in a run on one side of the mean that make a shift.
SHIFT_LENGTH = 7
#: Consecutive rising (or falling) points that make a trend.
TREND_LENGTH = 7
#: Limits computed from fewer points than this are provisional.
MIN_POINTS_FOR_FIXED_LIMITS = 12
#: The fewest points a segment's limits can be computed from.
MIN_POINTS = 3

#: Rule columns and what they mean.
RULES: dict[str, str] = {
    "rule_beyond_limits": "a point beyond a process limit",
    "rule_shift": f"{SHIFT_LENGTH} or more consecutive points on one side of the mean",
    "rule_trend": f"{TREND_LENGTH} or more consecutive points all rising or all falling",
    "rule_two_of_three": "2 of 3 consecutive points beyond a near (2-sigma) limit on the "
    "same side",
}

Improvement = Literal["decrease", "increase", "neutral"]


def _as_timestamp(value, what: str) -> pd.Timestamp:
    try:
        if isinstance(value, pd.Period):
            return value.to_timestamp()
        return pd.Timestamp(value)
    except (TypeError, ValueError):
        raise AnalysisInputError(f"{what} {value!r} is not a date") from None


def _runs(keys: np.ndarray) -> np.ndarray:
    """Length of the run of equal, non-zero ``keys`` each element belongs to (0 for zeros)."""
    n = len(keys)
    out = np.zeros(n, dtype=int)
    i = 0
    while i < n:
        j = i
        while j + 1 < n and keys[j + 1] == keys[i]:
            j += 1
        if keys[i] != 0:
            out[i : j + 1] = j - i + 1
        i = j + 1
    return out


def _rules(x: np.ndarray, mean: float, lpl: float, upl: float, near_lpl: float,
           near_upl: float) -> dict[str, np.ndarray]:
    n = len(x)
    side = np.sign(np.round(x - mean, 12))
    beyond = (x > upl) | (x < lpl)
    shift = _runs(side) >= SHIFT_LENGTH
    # trend: TREND_LENGTH points rising = TREND_LENGTH - 1 consecutive rises
    steps = np.sign(np.diff(x))
    trend = np.zeros(n, dtype=bool)
    trend_dir = np.zeros(n, dtype=int)
    step_runs = _runs(steps)
    i = 0
    while i < len(steps):
        length = step_runs[i]
        if length == 0:
            i += 1
            continue
        if length >= TREND_LENGTH - 1:
            trend[i : i + length + 1] = True
            trend_dir[i : i + length + 1] = steps[i]
        i += length
    above, below = x > near_upl, x < near_lpl
    two3 = np.zeros(n, dtype=bool)
    for start in range(max(n - 2, 0)):
        for beyond_near in (above, below):
            window = beyond_near[start : start + 3]
            if window.sum() >= 2:
                two3[start : start + 3] |= window
    if n == 2:  # a window shorter than three
        for beyond_near in (above, below):
            if beyond_near.sum() >= 2:
                two3 |= beyond_near
    return {
        "rule_beyond_limits": beyond,
        "rule_shift": shift,
        "rule_trend": trend,
        "rule_two_of_three": two3,
        "_side": side,
        "_trend_dir": trend_dir,
    }


def _point_types(rules: dict[str, np.ndarray], improvement: str) -> np.ndarray:
    special = (rules["rule_beyond_limits"] | rules["rule_shift"] | rules["rule_trend"]
               | rules["rule_two_of_three"])
    level_rule = rules["rule_beyond_limits"] | rules["rule_shift"] | rules["rule_two_of_three"]
    direction = np.where(level_rule, rules["_side"], rules["_trend_dir"])
    if improvement == "neutral":
        kinds = np.where(special, "neutral", "common cause")
    else:
        good = 1 if improvement == "increase" else -1
        kinds = np.where(direction == good, "improvement", "concern")
        kinds = np.where(special, kinds, "common cause")
    return kinds


def xmr(
    df: pd.DataFrame,
    value: str,
    date: str,
    *,
    by: str | Sequence[str] | None = None,
    improvement: Improvement = "decrease",
    fix_after: int | str | pd.Timestamp | pd.Period | None = None,
    rebase: Sequence | None = None,
    screen_outliers: bool = False,
) -> pd.DataFrame:
    """XmR chart in the NHS "Making Data Count" style: limits, rules and point classes.

    Parameters
    ----------
    df
        One row per time point (per ``by`` group). Not modified.
    value
        Column with the measure (counts, rates ...). No missing values.
    date
        Column giving the order of the points: dates, month strings or a monthly Period.
        One row per date within a group.
    by
        Column(s) identifying separate series (e.g. area); each gets its own limits.
    improvement
        Which direction is better: "decrease" (default; for violence), "increase" or
        "neutral" (special causes are then "neutral", neither good nor bad).
    fix_after
        Compute the limits from the first points only and extend them: an int (the number
        of points, at least 3) or a date (the points up to and including it). Applied in
        each segment.
    rebase
        Dates at which the process is known to have changed (a new recording practice, a
        new definition): a new segment starts at the first point on or after each date and
        gets its own mean and limits. Rules are applied within a segment.
    screen_outliers
        Drop moving ranges above 3.267 × the mean moving range before computing the limits
        (the NHSRplotthedots default; the NHS Excel tool does not). The mean is unchanged.

    Returns
    -------
    pandas.DataFrame
        The input rows, sorted by ``by`` and ``date`` with the index kept, plus:
        ``segment`` (0, 1, ... at each rebase), ``moving_range``, ``mean``, ``lpl`` and
        ``upl`` (lower / upper process limits), ``near_lpl`` and ``near_upl`` (two thirds of
        the way to the limits), ``provisional`` (limits from fewer than 12 points),
        ``rule_beyond_limits``, ``rule_shift``, ``rule_trend``, ``rule_two_of_three`` (which
        rule(s) a point is part of; see :data:`RULES`), ``special_cause_flag`` (any rule)
        and ``point_type``: "improvement", "concern", "neutral" or "common cause".
        ``attrs["sna"]["xmr"]`` holds, per group and segment, the mean, mean moving range,
        limits, points used and moving ranges screened out.

    Raises
    ------
    AnalysisInputError
        A missing column, a missing or non-numeric value, a repeated date within a group,
        fewer than 3 points in a segment, or an unknown ``improvement``.

    Notes
    -----
    NHS England / NHS Improvement, *Making Data Count* (2019) and the NHSRplotthedots R
    package. Centre ``x̄``; moving ranges ``MRᵢ = |xᵢ − xᵢ₋₁|``; process limits
    ``x̄ ± 2.66·MR̄``; near limits ``x̄ ± (2/3)·2.66·MR̄``. Special cause: (1) a point beyond
    a process limit; (2) 7 consecutive points on one side of the mean (a point on the mean
    breaks the run); (3) 7 consecutive points all rising or all falling (an equal value
    breaks it); (4) 2 of 3 consecutive points beyond a near limit on the same side (the
    points beyond the near limit are flagged). Every point of a qualifying run is flagged.
    A special cause is an improvement or a concern by its side of the mean (for a trend,
    its direction) and ``improvement``. Rebase only at known changes in the process.

    Examples
    --------
    >>> import pandas as pd
    >>> x = [10, 12, 11, 13, 12, 14, 11, 10, 12, 13, 30, 12]
    >>> df = pd.DataFrame({"month": pd.period_range("2020-04", periods=12, freq="M"), "n": x})
    >>> out = xmr(df, "n", "month", screen_outliers=True)
    >>> out[["mean", "lpl", "upl"]].iloc[0].round(4).tolist()
    [13.3333, 8.9, 17.7667]
    >>> bool(out["rule_beyond_limits"].iloc[10]), bool(out["provisional"].iloc[0])
    (True, False)
    """
    _check_frame(df)
    by_cols = _as_list(by)
    _check_columns(df, [value, date, *by_cols])
    if improvement not in ("decrease", "increase", "neutral"):
        raise AnalysisInputError(
            f"improvement must be 'decrease', 'increase' or 'neutral', got {improvement!r}"
        )
    x_all = df[value]
    if not pd.api.types.is_numeric_dtype(x_all) or x_all.dtype == bool:
        raise AnalysisInputError(
            f"value column {value!r} must hold numbers, found dtype {x_all.dtype}", column=value
        )
    x_all = x_all.astype("float64")
    if x_all.isna().any() or np.isinf(x_all).any():
        first = x_all.index[~np.isfinite(x_all)][0]
        raise AnalysisInputError(
            f"value column {value!r} has missing or infinite values (first at index {first!r});"
            " an XmR chart needs every point: fill or drop them",
            column=value,
        )
    t_all = _timestamps(df[date], date)
    rebase_ts = sorted(_as_timestamp(r, "rebase date") for r in _as_list(rebase))
    fix_ts = None
    if fix_after is not None:
        if isinstance(fix_after, (int, np.integer)) and not isinstance(fix_after, bool):
            if fix_after < MIN_POINTS:
                raise AnalysisInputError(
                    f"fix_after={fix_after}: limits need at least {MIN_POINTS} points"
                )
        else:
            fix_ts = _as_timestamp(fix_after, "fix_after")

    work = df.copy()
    work["_t"] = t_all.to_numpy()
    work["_x"] = x_all.to_numpy()
    work["_pos"] = np.arange(len(work))
    work = work.sort_values([*by_cols, "_t", "_pos"], kind="stable")
    groups = work.groupby(by_cols, sort=False, dropna=False, observed=True) if by_cols else [((), work)]

    cols = {c: [] for c in ["segment", "moving_range", "mean", "lpl", "upl", "near_lpl",
                            "near_upl", "provisional", *RULES, "point_type"]}
    index_order = []
    meta_groups: dict[str, list[dict]] = {}
    for key, g in groups:
        label = "all" if not by_cols else " / ".join(map(str, key if isinstance(key, tuple) else (key,)))
        if g["_t"].duplicated().any():
            dup = g.loc[g["_t"].duplicated(), date].iloc[0]
            raise AnalysisInputError(
                f"date {dup!r} appears more than once in series {label!r}; an XmR chart needs "
                "one value per date (aggregate first, or pass by= to separate the series)",
                column=date,
            )
        seg = np.searchsorted(np.array(rebase_ts, dtype="datetime64[ns]"),
                              g["_t"].to_numpy(dtype="datetime64[ns]"), side="right")
        seg_meta = []
        for s in np.unique(seg):
            part = g[seg == s]
            x = part["_x"].to_numpy()
            if fix_ts is not None:
                base = x[part["_t"].to_numpy() <= np.datetime64(fix_ts)]
            elif fix_after is not None:
                base = x[: int(fix_after)]
            else:
                base = x
            if len(base) < MIN_POINTS:
                start = part[date].iloc[0] if len(part) else "?"
                raise AnalysisInputError(
                    f"series {label!r}, segment starting {start}: {len(base)} point(s) to "
                    f"compute limits from; an XmR chart needs at least {MIN_POINTS} (12 or "
                    "more for fixed limits). Add data, or move the rebase / fix_after date",
                    column=value,
                )
            mean = float(base.mean())
            mr = np.abs(np.diff(base))
            mr_bar = float(mr.mean())
            screened = 0
            if screen_outliers:
                keep = mr <= SCREEN_FACTOR * mr_bar
                screened = int((~keep).sum())
                mr_bar = float(mr[keep].mean()) if keep.any() else mr_bar
            width = LIMIT_FACTOR * mr_bar
            lpl, upl = mean - width, mean + width
            near_lpl, near_upl = mean - width * 2 / 3, mean + width * 2 / 3
            provisional = len(base) < MIN_POINTS_FOR_FIXED_LIMITS
            rules = _rules(x, mean, lpl, upl, near_lpl, near_upl)
            kinds = _point_types(rules, improvement)
            k = len(x)
            cols["segment"] += [int(s)] * k
            cols["moving_range"] += [np.nan, *np.abs(np.diff(x))]
            for name, v in [("mean", mean), ("lpl", lpl), ("upl", upl), ("near_lpl", near_lpl),
                            ("near_upl", near_upl), ("provisional", provisional)]:
                cols[name] += [v] * k
            for r in RULES:
                cols[r] += list(rules[r])
            cols["point_type"] += list(kinds)
            index_order += list(part.index)
            seg_meta.append({
                "segment": int(s), "start": str(part[date].iloc[0]), "points": int(k),
                "points_for_limits": int(len(base)), "mean": mean, "mr_bar": mr_bar,
                "lpl": lpl, "upl": upl, "provisional": bool(provisional),
                "moving_ranges_screened_out": screened,
            })
            if provisional:
                logger.info("xmr %s segment %s: provisional limits from %d points", label, s,
                            len(base))
        meta_groups[label] = seg_meta

    out = df.loc[index_order].copy()
    for name, values in cols.items():
        out[name] = values
    out["segment"] = out["segment"].astype("int64")
    out["provisional"] = out["provisional"].astype(bool)
    for r in RULES:
        out[r] = out[r].astype(bool)
    special = out[list(RULES)].any(axis=1)
    out.insert(len(out.columns) - 1, "special_cause_flag", special)
    out.attrs = {}
    record(out, "xmr", {
        "value": value, "date": date, "by": by_cols or None, "improvement": improvement,
        "fix_after": None if fix_after is None else str(fix_after),
        "rebase": [str(r.date()) for r in rebase_ts], "screen_outliers": bool(screen_outliers),
        "limit_factor": LIMIT_FACTOR, "rules": dict(RULES), "groups": meta_groups,
    })
    return out


_ICONS = {
    ("common cause", None): "Common cause variation",
    ("improvement", "high"): "Special cause variation: improvement (higher)",
    ("improvement", "low"): "Special cause variation: improvement (lower)",
    ("concern", "high"): "Special cause variation: concern (higher)",
    ("concern", "low"): "Special cause variation: concern (lower)",
    ("neutral", "high"): "Special cause variation: neither improvement nor concern (higher)",
    ("neutral", "low"): "Special cause variation: neither improvement nor concern (lower)",
}


def variation_summary(result: pd.DataFrame) -> pd.DataFrame:
    """The Making Data Count variation icon of each series, from its latest point.

    Parameters
    ----------
    result
        The output of :func:`xmr`.

    Returns
    -------
    pandas.DataFrame
        One row per series: the ``by`` columns, ``points``, ``latest`` (the latest value),
        ``mean``, ``lpl``, ``upl`` (of the latest segment), ``provisional``,
        ``special_causes`` (points flagged), ``variation`` (the latest point's type:
        "common cause", "improvement", "concern" or "neutral"), ``direction``
        ("high", "low" or missing) and ``icon`` (the icon's text, e.g.
        "Special cause variation: concern (higher)").

    Examples
    --------
    >>> import pandas as pd
    >>> from sna.spc import xmr, variation_summary
    >>> df = pd.DataFrame({"t": range(12), "n": [5, 6, 5, 6, 5, 6, 5, 6, 5, 6, 5, 30]})
    >>> variation_summary(xmr(df, "n", "t"))["icon"].iloc[0]
    'Special cause variation: concern (higher)'
    """
    _check_frame(result, "result")
    meta = result.attrs.get("sna", {}).get("xmr")
    if meta is None:
        raise AnalysisInputError("variation_summary needs the output of sna.spc.xmr")
    by_cols = meta["by"] or []
    value = meta["value"]
    rows = []
    groups = result.groupby(by_cols, sort=False, dropna=False, observed=True) if by_cols else [((), result)]
    for key, g in groups:
        last = g.iloc[-1]
        kind = last["point_type"]
        if kind == "common cause":
            direction = None
        elif last["rule_trend"] and not (last["rule_beyond_limits"] or last["rule_shift"]
                                         or last["rule_two_of_three"]):
            direction = "high" if g[value].iloc[-1] > g[value].iloc[-2] else "low"
        else:
            direction = "high" if last[value] > last["mean"] else "low"
        row = dict(zip(by_cols, key if isinstance(key, tuple) else (key,)))
        row.update({
            "points": len(g), "latest": last[value], "mean": last["mean"], "lpl": last["lpl"],
            "upl": last["upl"], "provisional": bool(last["provisional"]),
            "special_causes": int(g["special_cause_flag"].sum()), "variation": kind,
            "direction": direction, "icon": _ICONS[(kind, direction)],
        })
        rows.append(row)
    out = pd.DataFrame(rows)
    record(out, "variation_summary", {"from": "latest point of each series"})
    return out
