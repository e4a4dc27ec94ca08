"""Statistical process control: the NHS "Making Data Count" XmR chart.

:func:`xmr` computes the centre line, process limits and near limits of an XmR (individuals
and moving range) chart, applies the four Making Data Count rules exactly as the
NHSRplotthedots R package does, and classes every point as improvement, concern, neutral or
common cause. :func:`variation_summary` gives each series' variation icon and the counts of
point classes it is derived from. Drawing is in :func:`sna.plot.spc_chart`.

A month with no data (a missing value, or a month absent from a monthly series) is a gap:
it is no point, it adds no moving range, and no run of points spans it.

Examples
--------
>>> import pandas as pd
>>> from sna.spc import xmr
>>> x = [10, 12, 11, 13, 12, 14, 11, 10, 12, 13, 30, 12]
>>> df = pd.DataFrame({"month": pd.period_range("2020-04", periods=12, freq="M"), "n": x})
>>> out = xmr(df, "n", "month")
>>> out[["mean", "lpl", "upl"]].iloc[0].round(4).tolist()
[13.3333, 1.2424, 25.4242]
>>> out.loc[out.special_cause_flag, ["n", "special_cause_type", "point_type"]]
     n special_cause_type point_type
10  30          Above UCL    concern
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
    "SPECIAL_CAUSE_TYPES",
    "POINT_TYPES",
    "LIMIT_FACTOR",
    "SCREEN_FACTOR",
    "SHIFT_LENGTH",
    "TREND_LENGTH",
    "MIN_POINTS_FOR_FIXED_LIMITS",
]

logger = logging.getLogger("sna")

#: Process limits are mean ± 2.66 × mean moving range (3 sigma, d2 = 1.128).
LIMIT_FACTOR = 2.66
#: Moving ranges of 3.267 × the mean moving range or more are screened out (when asked).
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
    "rule_two_of_three": "2 of 3 consecutive points, all on one side of the mean, beyond the "
    "near (2-sigma) limit and within the process limit",
}

#: The special-cause types of NHSRplotthedots, in order of precedence (a point that meets
#: several rules takes the first), and "Common Cause".
SPECIAL_CAUSE_TYPES: tuple[str, ...] = (
    "Above UCL", "Below LCL",
    "7 Point Trend (Increasing)", "7 Point Trend (Decreasing)",
    "2 in 3 Above CL", "2 in 3 Below CL",
    "7 Points Above CL", "7 Points Below CL",
    "Common Cause",
)

#: Point classes of :func:`xmr` ("no data" marks a gap: a month without data).
POINT_TYPES: tuple[str, ...] = ("improvement", "concern", "neutral", "common cause", "no data")

#: Text of a gap in ``special_cause_type``.
NO_DATA = "no data"

Improvement = Literal["decrease", "increase", "neutral"]


def _as_timestamp(value, what: str) -> pd.Timestamp:
    try:
        if isinstance(value, pd.Period):
            return value.to_timestamp()
        return pd.Timestamp(value)
    except (TypeError, ValueError):
        raise AnalysisInputError(f"{what} {value!r} is not a date") from None


# --------------------------------------------------------------------------------------------
# the rules, as NHSRplotthedots applies them (R/ptd_calculate_point_type.R)
# --------------------------------------------------------------------------------------------


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


def _trend(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points in a run of ``TREND_LENGTH`` rising or falling points, and each one's direction.

    A point inside a trend takes the direction of the step after it (the step before it for
    the last point), as NHSRplotthedots does.
    """
    n = len(x)
    steps = np.sign(np.diff(x))
    in_trend = np.zeros(n, dtype=bool)
    step_runs = _runs(steps)
    i = 0
    while i < len(steps):
        length = max(int(step_runs[i]), 1)
        if step_runs[i] >= TREND_LENGTH - 1:
            in_trend[i : i + length + 1] = True
        i += length
    direction = np.zeros(n, dtype=int)
    for i in np.flatnonzero(in_trend):
        right = i + 1 < n and in_trend[i + 1]
        direction[i] = steps[i] if right else steps[i - 1]
    return in_trend, direction


def _two_of_three(close: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Close points in a window of 3 with at least 2 close and all 3 on one side of the mean."""
    flagged = np.zeros(len(close), dtype=bool)
    for s in range(len(close) - 2):
        window = slice(s, s + 3)
        if close[window].sum() >= 2 and abs(side[window].sum()) == 3:
            flagged[window] |= close[window]
    return flagged


def _block_rules(x, side, close) -> dict[str, np.ndarray]:
    """The run rules within one block of consecutive points (no gap inside)."""
    trend, trend_dir = _trend(x)
    return {
        "rule_shift": _runs(side) >= SHIFT_LENGTH,
        "rule_trend": trend,
        "rule_two_of_three": _two_of_three(close, side),
        "_trend_dir": trend_dir,
    }


def _rules(x: np.ndarray, blocks: np.ndarray, lim: dict) -> dict[str, np.ndarray]:
    """Rule membership of every point of a segment (gaps: ``x`` is NaN, nothing fires)."""
    n = len(x)
    seen = ~np.isnan(x)
    side = np.where(seen, np.sign(np.round(np.nan_to_num(x) - lim["mean"], 12)), 0).astype(int)
    outside = seen & ((x > lim["upl"]) | (x < lim["lpl"]))
    close = seen & ~outside & ((x > lim["near_upl"]) | (x < lim["near_lpl"]))
    out = {"rule_beyond_limits": outside, "_side": side}
    for name in ("rule_shift", "rule_trend", "rule_two_of_three"):
        out[name] = np.zeros(n, dtype=bool)
    out["_trend_dir"] = np.zeros(n, dtype=int)
    for b in np.unique(blocks[seen]):
        idx = np.flatnonzero(seen & (blocks == b))
        part = _block_rules(x[idx], side[idx], close[idx])
        for name, values in part.items():
            out[name][idx] = values
    return out


def _special_cause_types(rules: dict[str, np.ndarray], seen: np.ndarray) -> np.ndarray:
    """NHSRplotthedots' special-cause type of each point: beyond limits, trend, 2 in 3, shift."""
    above = rules["_side"] > 0
    side = np.where(above, "Above", "Below")
    trend = np.where(rules["_trend_dir"] > 0, "Increasing", "Decreasing")
    kinds = np.select(
        [~seen, rules["rule_beyond_limits"], rules["rule_trend"], rules["rule_two_of_three"],
         rules["rule_shift"]],
        [NO_DATA, np.where(above, "Above UCL", "Below LCL"),
         np.char.add(np.char.add("7 Point Trend (", trend), ")"),
         np.char.add(np.char.add("2 in 3 ", side), " CL"),
         np.char.add(np.char.add("7 Points ", side), " CL")],
        "Common Cause",
    )
    return kinds.astype(object)


def _point_types(kinds: np.ndarray, improvement: str) -> np.ndarray:
    """improvement / concern / neutral / common cause / no data, from the special-cause type."""
    kinds = kinds.astype(str)
    up = np.char.find(kinds, "Above") >= 0
    up |= np.char.find(kinds, "Increasing") >= 0
    down = (np.char.find(kinds, "Below") >= 0) | (np.char.find(kinds, "Decreasing") >= 0)
    v = np.where(up, 1, np.where(down, -1, 0))
    if improvement == "neutral":
        out = np.where(v != 0, "neutral", "common cause")
    else:
        good = 1 if improvement == "increase" else -1
        out = np.where(v == good, "improvement", np.where(v == -good, "concern", "common cause"))
    return np.where(kinds == NO_DATA, "no data", out).astype(object)


# --------------------------------------------------------------------------------------------
# limits
# --------------------------------------------------------------------------------------------


def _blocks(t: pd.Series, x: np.ndarray, monthly: bool) -> np.ndarray:
    """Block number of each point: a new block after every gap (a missing value or month)."""
    gap = np.isnan(x)
    new = np.zeros(len(x), dtype=bool)
    new[1:] = gap[:-1]
    if monthly and len(x) > 1:
        months = t.dt.year.to_numpy() * 12 + t.dt.month.to_numpy()
        new[1:] |= np.diff(months) > 1
    return np.cumsum(new | gap)


def _limits(base: np.ndarray, base_blocks: np.ndarray, screen: bool) -> dict:
    """Mean, mean moving range and limits from the base points (NaN for gaps)."""
    seen = ~np.isnan(base)
    mean = float(base[seen].mean())
    same = (base_blocks[1:] == base_blocks[:-1]) & seen[1:] & seen[:-1]
    mr = np.abs(np.diff(base))[same]
    if len(mr) == 0:
        raise ValueError("no two consecutive points")
    mr_bar = float(mr.mean())
    screened = 0
    if screen:  # as NHSRplotthedots: keep moving ranges below 3.267 x their mean
        keep = mr < SCREEN_FACTOR * mr_bar
        screened = int((~keep).sum())
        mr_bar = float(mr[keep].mean()) if keep.any() else mr_bar
    width = LIMIT_FACTOR * mr_bar
    return {"mean": mean, "mr_bar": mr_bar, "lpl": mean - width, "upl": mean + width,
            "near_lpl": mean - width * 2 / 3, "near_upl": mean + width * 2 / 3,
            "screened": screened, "moving_ranges": int(len(mr))}


def _base_mask(part: pd.DataFrame, seen: np.ndarray, fix_after, fix_ts) -> np.ndarray:
    """The points the limits are computed from: all, the first ``fix_after`` observed points,
    or the points up to ``fix_ts``."""
    if fix_ts is not None:
        return part["_t"].to_numpy() <= np.datetime64(fix_ts)
    if fix_after is not None:
        return np.cumsum(seen) <= int(fix_after)
    return np.ones(len(part), dtype=bool)


def _segment(part: pd.DataFrame, label: str, date: str, value: str, opts: dict) -> dict:
    """Limits, rules and classes of one segment of one series."""
    x = part["_x"].to_numpy()
    seen = ~np.isnan(x)
    blocks = _blocks(part["_t"], x, opts["monthly"])
    in_base = _base_mask(part, seen, opts["fix_after"], opts["fix_ts"])
    n_base = int((in_base & seen).sum())
    start = part[date].iloc[0] if len(part) else "?"
    try:
        if n_base < MIN_POINTS:
            raise ValueError
        lim = _limits(np.where(in_base, x, np.nan), blocks, opts["screen"])
    except ValueError:
        raise AnalysisInputError(
            f"series {label!r}, segment starting {start}: {n_base} point(s) to compute limits "
            f"from{' (with no two consecutive)' if n_base >= MIN_POINTS else ''}; an XmR chart "
            f"needs at least {MIN_POINTS} (12 or more for fixed limits). Add data, or move the "
            "rebase / fix_after date",
            column=value,
        ) from None
    rules = _rules(x, blocks, lim)
    kinds = _special_cause_types(rules, seen)
    lim["provisional"] = n_base < MIN_POINTS_FOR_FIXED_LIMITS
    mr = np.abs(np.diff(x, prepend=np.nan))
    mr[np.r_[True, blocks[1:] != blocks[:-1]]] = np.nan
    meta = {"start": str(start), "points": int(seen.sum()), "gaps": int((~seen).sum()),
            "points_for_limits": n_base,
            **{k: lim[k] for k in ("mean", "mr_bar", "lpl", "upl", "provisional")},
            "moving_ranges_screened_out": lim["screened"]}
    return {"rules": rules, "kinds": kinds, "lim": lim, "moving_range": mr, "meta": meta,
            "point_type": _point_types(kinds, opts["improvement"])}


# --------------------------------------------------------------------------------------------
# the chart
# --------------------------------------------------------------------------------------------


def _values(df: pd.DataFrame, value: str) -> pd.Series:
    x = df[value]
    if not pd.api.types.is_numeric_dtype(x) or x.dtype == bool:
        raise AnalysisInputError(
            f"value column {value!r} must hold numbers, found dtype {x.dtype}", column=value
        )
    x = x.astype("float64")
    if np.isinf(x).any():
        first = x.index[np.isinf(x)][0]
        raise AnalysisInputError(
            f"value column {value!r} has infinite values (first at index {first!r})",
            column=value,
        )
    return x


def _options(df, value, date, by_cols, improvement, fix_after, screen_outliers) -> dict:
    if improvement not in ("decrease", "increase", "neutral"):
        raise AnalysisInputError(
            f"improvement must be 'decrease', 'increase' or 'neutral', got {improvement!r}"
        )
    fix_ts = None
    if fix_after is not None:
        if isinstance(fix_after, (int, np.integer)) and not isinstance(fix_after, bool):
            if fix_after < MIN_POINTS:
                raise AnalysisInputError(
                    f"fix_after={fix_after}: limits need at least {MIN_POINTS} points"
                )
        else:
            fix_ts = _as_timestamp(fix_after, "fix_after")
    t = _timestamps(df[date], date)
    monthly = isinstance(df[date].dtype, pd.PeriodDtype) or bool(
        (t.dt.day == 1).all() and (t.dt.normalize() == t).all())
    return {"improvement": improvement, "fix_after": fix_after, "fix_ts": fix_ts,
            "screen": bool(screen_outliers), "monthly": monthly, "t": t}


def _label(key, by_cols) -> str:
    if not by_cols:
        return "all"
    return " / ".join(map(str, key if isinstance(key, tuple) else (key,)))


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
        Column with the measure (counts, rates ...). A missing value is a gap (a month
        without data, e.g. from :func:`sna.trend.monthly` with ``covered=``).
    date
        Column giving the order of the points: dates, month strings or a monthly Period.
        One row per date within a group. For monthly dates a month absent from the series
        is a gap, as a missing value is.
    by
        Column(s) identifying separate series (e.g. area); each gets its own limits.
    improvement
        Which direction is better: "decrease" (default; for violence), "increase" or
        "neutral" (special causes are then "neutral", neither good nor bad).
    fix_after
        Compute the limits from the first points only and extend them: an int (the number
        of points with data, at least 3) or a date (the points up to and including it).
        Applied in each segment.
    rebase
        Dates at which the process is known to have changed (a new recording practice, a
        new definition): a new segment starts at the first point on or after each date and
        gets its own mean and limits. Rules are applied within a segment.
    screen_outliers
        Drop moving ranges of 3.267 × the mean moving range or more before computing the
        limits (the NHSRplotthedots default; the NHS Excel tool does not). The mean is
        unchanged.

    Returns
    -------
    pandas.DataFrame
        The input rows, sorted by ``by`` and ``date`` with the index kept, plus:
        ``segment`` (0, 1, ... at each rebase), ``moving_range``, ``mean``, ``lpl`` and
        ``upl`` (lower / upper process limits), ``near_lpl`` and ``near_upl`` (two thirds of
        the way to the limits), ``provisional`` (limits from fewer than 12 points),
        ``rule_beyond_limits``, ``rule_shift``, ``rule_trend``, ``rule_two_of_three`` (the
        rule(s) a point is part of; see :data:`RULES`), ``special_cause_flag`` (any rule),
        ``special_cause_type`` (the rule that classes the point, by NHSRplotthedots'
        precedence; see :data:`SPECIAL_CAUSE_TYPES`; "no data" for a gap) and
        ``point_type``: "improvement", "concern", "neutral", "common cause" or "no data".
        ``attrs["sna"]["xmr"]`` holds, per group and segment, the mean, mean moving range,
        limits, points used, gaps and moving ranges screened out.

    Raises
    ------
    AnalysisInputError
        A missing column, a non-numeric or infinite value, a repeated date within a group,
        fewer than 3 points with data in a segment (or no two consecutive ones), or an
        unknown ``improvement``.

    Notes
    -----
    NHS England / NHS Improvement, *Making Data Count* (2019); the rules exactly as the
    NHSRplotthedots R package (``ptd_spc``, version 0.2) applies them. Centre ``x̄``;
    moving ranges ``MRᵢ = |xᵢ − xᵢ₋₁|``; process limits ``x̄ ± 2.66·MR̄``; near limits
    ``x̄ ± (2/3)·2.66·MR̄``. Special cause: (1) a point beyond a process limit; (2) 7
    consecutive points on one side of the mean (a point on the mean breaks the run); (3) 7
    consecutive points all rising or all falling (an equal value breaks it); (4) 2 of 3
    consecutive points close to the limit -- beyond the near limit but not beyond the
    process limit -- with all three on the same side of the mean (the close points are
    flagged). Every point of a qualifying run is flagged. A point meeting several rules
    takes one special-cause type, in the order beyond limits, trend, two of three, shift;
    the type gives its side (above/below) or, for a trend, its direction, and with
    ``improvement`` the point type -- so a rising trend above the mean is one concern, not
    an improvement. A gap (a month without data) is not a point: it adds no moving range,
    and no run or window of the rules spans it (runs are counted within the stretches of
    consecutive months). Rebase only at known changes in the process.

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
    x_all = _values(df, value)
    opts = _options(df, value, date, by_cols, improvement, fix_after, screen_outliers)
    rebase_ts = sorted(_as_timestamp(r, "rebase date") for r in _as_list(rebase))
    work = df.copy()
    work["_t"] = opts["t"].to_numpy()
    work["_x"] = x_all.to_numpy()
    work["_pos"] = np.arange(len(work))
    work = work.sort_values([*by_cols, "_t", "_pos"], kind="stable")
    groups = (work.groupby(by_cols, sort=False, dropna=False, observed=True) if by_cols
              else [((), work)])
    parts, meta_groups = [], {}
    for key, g in groups:
        label = _label(key, by_cols)
        if g["_t"].duplicated().any():
            dup = g.loc[g["_t"].duplicated(), date].iloc[0]
            raise AnalysisInputError(
                f"date {dup!r} appears more than once in series {label!r}; an XmR chart needs "
                "one value per date (aggregate first, or pass by= to separate the series)",
                column=date,
            )
        seg = np.searchsorted(np.array(rebase_ts, dtype="datetime64[ns]"),
                              g["_t"].to_numpy(dtype="datetime64[ns]"), side="right")
        meta_groups[label] = []
        for s in np.unique(seg):
            part = g[seg == s]
            res = _segment(part, label, date, value, opts)
            parts.append(_segment_frame(part, int(s), res))
            meta_groups[label].append({"segment": int(s), **res["meta"]})
            if res["lim"]["provisional"]:
                logger.info("xmr %s segment %s: provisional limits from %d points", label, s,
                            res["meta"]["points_for_limits"])
    out = pd.concat(parts) if parts else df.iloc[:0].copy()
    out = out.drop(columns=["_t", "_x", "_pos"], errors="ignore")
    out.attrs = {}
    record(out, "xmr", {
        "value": value, "date": date, "by": by_cols or None, "improvement": improvement,
        "fix_after": None if fix_after is None else str(fix_after),
        "rebase": [str(r.date()) for r in rebase_ts], "screen_outliers": bool(screen_outliers),
        "limit_factor": LIMIT_FACTOR, "rules": dict(RULES),
        "precedence": "beyond limits, trend, two of three, shift (as NHSRplotthedots)",
        "gaps": "a month without data is no point; no moving range or run spans it",
        "groups": meta_groups,
    })
    return out


def _segment_frame(part: pd.DataFrame, segment: int, res: dict) -> pd.DataFrame:
    out = part.copy()
    lim = res["lim"]
    out["segment"] = np.int64(segment)
    out["moving_range"] = res["moving_range"]
    for name in ("mean", "lpl", "upl", "near_lpl", "near_upl"):
        out[name] = lim[name]
    out["provisional"] = bool(lim["provisional"])
    for r in RULES:
        out[r] = res["rules"][r].astype(bool)
    out["special_cause_flag"] = out[list(RULES)].any(axis=1)
    out["special_cause_type"] = pd.Series(res["kinds"], index=out.index, dtype=object)
    out["point_type"] = pd.Series(res["point_type"], index=out.index, dtype=object)
    return out


# --------------------------------------------------------------------------------------------
# the variation icon
# --------------------------------------------------------------------------------------------

_ICONS = {
    ("common cause", None): "Common cause variation",
    ("improvement", "high"): "Special cause variation: improvement (higher)",
    ("improvement", "low"): "Special cause variation: improvement (lower)",
    ("concern", "high"): "Special cause variation: concern (higher)",
    ("concern", "low"): "Special cause variation: concern (lower)",
    ("neutral", "high"): "Special cause variation: neither improvement nor concern (higher)",
    ("neutral", "low"): "Special cause variation: neither improvement nor concern (lower)",
}


def _direction(kind: str, special_type: str, improvement: str) -> str | None:
    """The icon's direction, from the point class as NHSRplotthedots' icons take it."""
    if kind == "common cause":
        return None
    if kind == "neutral":
        return "high" if ("Above" in special_type or "Increasing" in special_type) else "low"
    up = improvement == "increase"
    return "high" if (kind == "improvement") == up else "low"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _summary_text(row: dict, latest_label: str) -> str:
    counts = [(row["special_cause_improvement"], "improvement"),
              (row["special_cause_concern"], "concern"),
              (row["special_cause_neutral"], "neither improvement nor concern")]
    special = [f"{n} {what}" for n, what in counts if n]
    text = f"Latest point ({latest_label}): {row['icon'].lower()}"
    text = text.replace(": special cause variation: ", ": special cause variation, ")
    text += f". Of {_plural(row['points'], 'point')}, " + (
        f"{_plural(row['common_cause'], 'shows', 'show')} common cause variation and "
        f"{_plural(sum(n for n, _ in counts), 'meets', 'meet')} a special-cause rule ("
        + ", ".join(special) + ")" if special
        else "all show common cause variation")
    if row["gaps"]:
        verb = "is" if row["gaps"] == 1 else "are"
        text += f"; {_plural(row['gaps'], 'month')} without data {verb} left out"
    return text + "."


def variation_summary(result: pd.DataFrame) -> pd.DataFrame:
    """The Making Data Count variation icon of each series and the point classes behind it.

    Parameters
    ----------
    result
        The output of :func:`xmr`.

    Returns
    -------
    pandas.DataFrame
        One row per series: the ``by`` columns, ``points`` (with data), ``gaps`` (without),
        ``common_cause``, ``special_cause_improvement``, ``special_cause_concern``,
        ``special_cause_neutral`` (points of each class, as NHSRplotthedots' summary),
        ``latest_date`` and ``latest`` (the latest point with data and its value), ``mean``,
        ``lpl``, ``upl`` (of the latest segment), ``provisional``, ``special_causes``
        (points meeting a rule), ``variation`` (the latest point's class: "common cause",
        "improvement", "concern" or "neutral"), ``special_cause_type`` (its rule),
        ``direction`` ("high", "low" or missing), ``icon`` (e.g. "Special cause variation:
        concern (higher)") and ``summary`` (one sentence giving the icon and the counts, so
        a caption never contradicts the points).

    Notes
    -----
    As NHSRplotthedots: the variation icon is the class of the latest point; an improvement
    is "lower" when a decrease is the improvement (higher otherwise) and a concern the
    opposite; a neutral special cause is higher or lower by its special-cause type.

    Examples
    --------
    >>> import pandas as pd
    >>> from sna.spc import xmr, variation_summary
    >>> df = pd.DataFrame({"t": range(12), "n": [5, 6, 5, 6, 5, 6, 5, 6, 5, 6, 5, 30]})
    >>> s = variation_summary(xmr(df, "n", "t")).iloc[0]
    >>> s["icon"]
    'Special cause variation: concern (higher)'
    >>> print(s["summary"])
    Latest point (11): special cause variation, concern (higher). Of 12 points, 0 show
    common cause variation and 12 meet a special-cause rule (11 improvement, 1 concern).
    """
    _check_frame(result, "result")
    meta = result.attrs.get("sna", {}).get("xmr")
    if meta is None:
        raise AnalysisInputError("variation_summary needs the output of sna.spc.xmr")
    by_cols, value, date = meta["by"] or [], meta["value"], meta["date"]
    rows = []
    groups = (result.groupby(by_cols, sort=False, dropna=False, observed=True) if by_cols
              else [((), result)])
    for key, g in groups:
        seen = g[g["point_type"] != "no data"]
        if seen.empty:
            continue
        last = seen.iloc[-1]
        kind = last["point_type"]
        direction = _direction(kind, str(last["special_cause_type"]), meta["improvement"])
        types = seen["point_type"]
        row = dict(zip(by_cols, key if isinstance(key, tuple) else (key,)))
        row.update({
            "points": len(seen), "gaps": int(len(g) - len(seen)),
            "common_cause": int((types == "common cause").sum()),
            "special_cause_improvement": int((types == "improvement").sum()),
            "special_cause_concern": int((types == "concern").sum()),
            "special_cause_neutral": int((types == "neutral").sum()),
            "latest_date": last[date], "latest": last[value], "mean": last["mean"],
            "lpl": last["lpl"], "upl": last["upl"], "provisional": bool(last["provisional"]),
            "special_causes": int(seen["special_cause_flag"].sum()), "variation": kind,
            "special_cause_type": last["special_cause_type"], "direction": direction,
            "icon": _ICONS[(kind, direction)],
        })
        row["summary"] = _summary_text(row, _date_label(last[date]))
        rows.append(row)
    out = pd.DataFrame(rows)
    record(out, "variation_summary", {"from": "latest point with data of each series; "
                                      "counts of the point classes"})
    return out


def _date_label(value) -> str:
    if isinstance(value, pd.Period):
        return value.strftime("%b %Y") if value.freqstr.startswith("M") else str(value)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%b %Y") if value.day == 1 and value == value.normalize() \
            else str(value.date())
    return str(value)
