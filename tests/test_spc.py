"""sna.spc: the Making Data Count XmR chart (a worked known answer, each rule pinned)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from sna.errors import AnalysisInputError
from sna.spc import RULES, SPECIAL_CAUSE_TYPES, variation_summary, xmr
from sna.spc import _runs, _trend, _two_of_three

KNOWN = [10, 12, 11, 13, 12, 14, 11, 10, 12, 13, 30, 12]


def _frame(x, start="2019-04"):
    return pd.DataFrame({"month": pd.period_range(start, periods=len(x), freq="M"), "n": x})


def _fired(out):
    return {r for r in RULES if out[r].any()}


# ------------------------------------------------------------------ known answer (checked)


def test_known_answer_without_screening():
    out = xmr(_frame(KNOWN), "n", "month")
    row = out.iloc[0]
    assert_allclose([row["mean"], row["lpl"], row["upl"]], [13.3333, 1.2424, 25.4242], rtol=5e-5)
    meta = out.attrs["sna"]["xmr"]["groups"]["all"][0]
    assert_allclose(meta["mr_bar"], 4.5455, rtol=5e-5)
    assert meta["moving_ranges_screened_out"] == 0
    # near limits two thirds of the way
    assert_allclose(row["near_upl"] - row["mean"], (row["upl"] - row["mean"]) * 2 / 3)
    assert out["special_cause_flag"].tolist() == [i == 10 for i in range(12)]
    assert out["rule_beyond_limits"].iloc[10]
    assert out["point_type"].iloc[10] == "concern"
    assert (out["point_type"].drop(out.index[10]) == "common cause").all()
    assert not out["provisional"].any()


def test_known_answer_with_screening():
    out = xmr(_frame(KNOWN), "n", "month", screen_outliers=True)
    row = out.iloc[0]
    assert_allclose([row["mean"], row["lpl"], row["upl"]], [13.3333, 8.9000, 17.7667], rtol=5e-5)
    meta = out.attrs["sna"]["xmr"]["groups"]["all"][0]
    assert_allclose(meta["mr_bar"], 1.6667, rtol=5e-5)
    assert meta["moving_ranges_screened_out"] == 2  # the moving ranges 17 and 18
    assert out["rule_beyond_limits"].tolist() == [i == 10 for i in range(12)]
    assert out.attrs["sna"]["xmr"]["screen_outliers"] is True


def test_moving_range_column():
    out = xmr(_frame(KNOWN), "n", "month")
    assert np.isnan(out["moving_range"].iloc[0])
    assert out["moving_range"].iloc[1:].tolist() == [2, 1, 2, 1, 2, 3, 1, 2, 1, 17, 18]


# ------------------------------------------------------------------ each rule, minimal series

SHIFT = [10, 12, 10, 12, 10, 12, 10, 13, 12, 13, 12, 13, 12, 13]
TREND = [14, 10, 14, 10, 14, 9, 10, 11, 12, 13, 14, 15, 10, 14]
TWO_OF_THREE = [10, 12, 10, 12, 10, 12, 10, 12, 17, 16.5, 10, 12, 10, 12]


def test_beyond_limits_only():
    out = xmr(_frame(KNOWN), "n", "month")
    assert _fired(out) == {"rule_beyond_limits"}


def test_shift_only_seven_above_mean():
    out = xmr(_frame(SHIFT), "n", "month")
    assert _fired(out) == {"rule_shift"}
    assert out.index[out["rule_shift"]].tolist() == list(range(7, 14))
    assert (out.loc[out["rule_shift"], "point_type"] == "concern").all()  # above = worse
    up = xmr(_frame(SHIFT), "n", "month", improvement="increase")
    assert (up.loc[up["rule_shift"], "point_type"] == "improvement").all()


def test_six_on_one_side_is_not_a_shift():
    six = SHIFT[:-1] + [11]
    assert _fired(xmr(_frame(six), "n", "month")) == set()


def test_trend_only_seven_rising():
    out = xmr(_frame(TREND), "n", "month")
    assert _fired(out) == {"rule_trend"}
    assert out.index[out["rule_trend"]].tolist() == list(range(5, 12))
    assert (out.loc[out["rule_trend"], "point_type"] == "concern").all()  # rising violence
    falling = xmr(_frame(TREND[::-1]), "n", "month")
    assert _fired(falling) == {"rule_trend"}
    assert (falling.loc[falling["rule_trend"], "point_type"] == "improvement").all()


def test_six_rising_is_not_a_trend_and_ties_break_it():
    six = [14, 10, 14, 10, 14, 9, 10, 11, 12, 13, 14, 10, 14, 10]
    assert _fired(xmr(_frame(six), "n", "month")) == set()
    tied = TREND[:8] + [11] + TREND[9:]  # 9, 10, 11, 11, ...: the equal value breaks the run
    assert not xmr(_frame(tied), "n", "month")["rule_trend"].any()


def test_two_of_three_only():
    out = xmr(_frame(TWO_OF_THREE), "n", "month")
    assert _fired(out) == {"rule_two_of_three"}
    assert out.index[out["rule_two_of_three"]].tolist() == [8, 9]
    row = out.iloc[0]
    assert (out.loc[[8, 9], "n"] > row["near_upl"]).all()
    assert (out.loc[[8, 9], "n"] < row["upl"]).all()


def test_one_of_three_beyond_near_limit_is_not_special():
    one = TWO_OF_THREE[:9] + [12] + TWO_OF_THREE[10:]
    out = xmr(_frame(one), "n", "month")
    assert out["n"].iloc[8] > out["near_upl"].iloc[0]
    assert not out["rule_two_of_three"].any()


def test_neutral_improvement_direction():
    out = xmr(_frame(KNOWN), "n", "month", improvement="neutral")
    assert out["point_type"].iloc[10] == "neutral"


# ------------------------------------------------------------------ provisional, fix, rebase


def test_provisional_below_twelve_points():
    out = xmr(_frame(KNOWN[:11]), "n", "month")
    assert out["provisional"].all()
    assert out.attrs["sna"]["xmr"]["groups"]["all"][0]["provisional"] is True


def test_fix_after_points_and_date_agree():
    x = KNOWN + [20, 21, 22]
    by_n = xmr(_frame(x), "n", "month", fix_after=12)
    by_date = xmr(_frame(x), "n", "month", fix_after="2020-03")
    pd.testing.assert_frame_equal(by_n, by_date)
    assert_allclose(by_n["mean"], 13.3333, rtol=5e-5)
    assert_allclose(by_date["upl"], by_n["upl"])
    assert by_n["rule_beyond_limits"].iloc[-3:].tolist() == [False, False, False]


def test_rebase_recomputes_limits_per_segment():
    x = [10, 11, 12, 10, 11, 12, 10, 11, 12, 10, 11, 12, 30, 31, 32, 30, 31, 32, 30, 31, 32, 30, 31, 32]
    plain = xmr(_frame(x), "n", "month")
    assert plain["special_cause_flag"].any()
    out = xmr(_frame(x), "n", "month", rebase=["2020-04-01"])
    assert out["segment"].tolist() == [0] * 12 + [1] * 12
    assert_allclose(out["mean"].iloc[0], 11.0)
    assert_allclose(out["mean"].iloc[-1], 31.0)
    assert not out["special_cause_flag"].any()
    assert len(out.attrs["sna"]["xmr"]["groups"]["all"]) == 2


def test_by_groups_sorted_and_index_kept():
    a = _frame(KNOWN).assign(area="A")
    b = _frame(SHIFT[:12]).assign(area="B")
    df = pd.concat([b, a], ignore_index=True).sample(frac=1, random_state=3)
    before = df.copy()
    out = xmr(df, "n", "month", by="area")
    pd.testing.assert_frame_equal(df, before)
    assert sorted(out.index) == sorted(df.index)
    assert out["area"].tolist() == ["A"] * 12 + ["B"] * 12
    assert out.groupby("area")["month"].apply(lambda s: s.is_monotonic_increasing).all()
    assert_allclose(out.loc[out.area == "A", "upl"].iloc[0], 25.4242, rtol=5e-5)
    summary = variation_summary(out)
    assert summary["area"].tolist() == ["A", "B"]
    assert set(summary.columns) >= {"variation", "icon", "mean", "lpl", "upl", "provisional"}


def test_variation_summary_icons():
    concern = xmr(_frame([5, 6] * 6 + [30]), "n", "month")
    s = variation_summary(concern).iloc[0]
    assert s["variation"] == "concern" and s["direction"] == "high"
    assert s["icon"] == "Special cause variation: concern (higher)"
    common = variation_summary(xmr(_frame(KNOWN[:10]), "n", "month")).iloc[0]
    assert common["icon"] == "Common cause variation" and common["provisional"]
    with pytest.raises(AnalysisInputError, match="output of sna.spc.xmr"):
        variation_summary(_frame(KNOWN))


# ------------------------------------------------------------------ failure modes


@pytest.mark.parametrize(
    "frame, kwargs, match",
    [
        (_frame(KNOWN).drop(columns="n"), {}, "no column 'n'"),
        (_frame(KNOWN[:2]), {}, "at least 3"),
        (_frame(KNOWN).assign(n=[np.inf] + KNOWN[1:]), {}, "infinite"),
        (_frame([1.0, np.nan, 2, np.nan, 3]), {}, "no two consecutive"),
        (_frame(KNOWN).assign(n="x"), {}, "numbers"),
        (pd.concat([_frame(KNOWN), _frame(KNOWN)]), {}, "more than once"),
        (_frame(KNOWN), {"improvement": "down"}, "improvement"),
        (_frame(KNOWN), {"fix_after": 2}, "at least 3"),
        (_frame(KNOWN), {"rebase": ["2020-02-01"]}, "at least 3"),
        (_frame(KNOWN).assign(month="not a date"), {}, "cannot be read as dates"),
    ],
)
def test_rejects(frame, kwargs, match):
    with pytest.raises(AnalysisInputError, match=match):
        xmr(frame, "n", "month", **kwargs)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 200), min_size=3, max_size=40))
def test_limits_properties(x):
    out = xmr(_frame(x), "n", "month")
    row = out.iloc[0]
    assert row["lpl"] <= row["near_lpl"] <= row["mean"] <= row["near_upl"] <= row["upl"]
    assert_allclose(row["mean"], np.mean(x))
    assert_allclose(row["upl"] - row["mean"], 2.66 * np.mean(np.abs(np.diff(x))), atol=1e-9)
    assert (out["special_cause_flag"] == out[list(RULES)].any(axis=1)).all()
    assert set(out["point_type"]) <= {"improvement", "concern", "common cause"}
    # the point type follows the special-cause type, whichever rules a point meets
    assert ((out["special_cause_type"] == "Common Cause") == ~out["special_cause_flag"]).all()
    assert (out.loc[~out.special_cause_flag, "point_type"] == "common cause").all()
    # screening never widens the limits
    screened = xmr(_frame(x), "n", "month", screen_outliers=True)
    assert screened["upl"].iloc[0] <= row["upl"] + 1e-9


# ------------------------------------------------------------------ NHSRplotthedots' own cases
# Inputs and expected results transcribed from the tests of the NHSRplotthedots R package
# (github.com/nhs-r-community/NHSRplotthedots, version 0.2.0, tests/testthat/), the reference
# the Making Data Count rules are checked against.

#: R's rnorm(20) after set.seed(123), the series of test-ptd_spc_standard.R and test-ptd_spc.R.
RNORM_123 = [-0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499,
             0.46091621, -1.26506123, -0.68685285, -0.44566197, 1.22408180, 0.35981383,
             0.40077145, 0.11068272, -0.55584113, 1.78691314, 0.49785048, -1.96661716,
             0.70135590, -0.47279141]


def _daily(y):
    return pd.DataFrame({"x": pd.date_range("2020-01-02", periods=len(y), freq="D"), "y": y})


def test_ptd_spc_standard_limits():
    """tests/testthat/test-ptd_spc_standard.R, "it returns expected values" (its snapshot
    _snaps/ptd_spc_standard.md): limits with and without screening, and an outlier."""
    r1 = xmr(_daily(RNORM_123), "y", "x", screen_outliers=True)
    assert_allclose(r1[["mean", "lpl", "upl"]].iloc[0], [0.1416238, -3.01138, 3.294627],
                    rtol=2e-6)
    assert np.sign(r1["y"] - r1["mean"]).astype(int).tolist()[:15] == [
        -1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1]
    y = list(RNORM_123)
    y[14] = 10  # data$y[15] <- 10
    r2 = xmr(_daily(y), "y", "x", screen_outliers=True)
    assert_allclose(r2[["mean", "lpl", "upl"]].iloc[0], [0.6694159, -2.383666, 3.722497],
                    rtol=2e-6)
    r3 = xmr(_daily(y), "y", "x", screen_outliers=False)
    assert_allclose(r3[["mean", "lpl", "upl"]].iloc[0], [0.6694159, -4.596625, 5.935457],
                    rtol=2e-6)
    assert r2.attrs["sna"]["xmr"]["groups"]["all"][0]["moving_ranges_screened_out"] == 2
    assert not (r1["rule_two_of_three"] | r1["rule_beyond_limits"]).any()


def test_ptd_spc_summary_by_facet():
    """tests/testthat/test-ptd_spc.R, "it outputs expected content" (snapshot
    _snaps/ptd_spc.md): two facets of ten points, all common cause."""
    df = _daily(RNORM_123).assign(facet=[0] * 10 + [1] * 10)
    out = xmr(df, "y", "x", by="facet", screen_outliers=True, improvement="increase")
    s = variation_summary(out)
    assert_allclose(s["mean"], [0.0746, 0.209], atol=5e-4)
    assert_allclose(s["lpl"], [-2.60, -3.28], atol=5e-3)
    assert_allclose(s["upl"], [2.75, 3.70], atol=5e-3)
    assert s["points"].tolist() == [10, 10]
    assert s["common_cause"].tolist() == [10, 10]
    assert s["special_cause_improvement"].tolist() == [0, 0]
    assert s["special_cause_concern"].tolist() == [0, 0]
    assert s["variation"].tolist() == ["common cause"] * 2
    whole = variation_summary(xmr(_daily(RNORM_123), "y", "x", screen_outliers=True))
    assert whole[["points", "common_cause"]].iloc[0].tolist() == [20, 20]


def test_ptd_two_of_three_needs_one_side_of_the_mean():
    """test-ptd_spc_standard.R, "it only reports special cause for 2of3 points close to limits
    when they are on the same side of the mean"."""
    y = [1.0, -1.0] * 8
    y[14], y[15] = 5.5, -5.5
    out = xmr(_daily(y), "y", "x", screen_outliers=True, improvement="increase")
    assert out["point_type"].tail(2).tolist() == ["common cause", "common cause"]
    assert (out["y"].tail(2).abs() > out["near_upl"].iloc[0]).all()  # both close to a limit


@pytest.mark.parametrize("close, side, expected", [
    # test-ptd_calculate_point_type.R: ptd_two_in_three and ptd_part_of_two_in_three
    ([1, 0, 1], [1, 1, 1], [1, 0, 1]),
    ([0, 1, 1], [1, 1, 1], [0, 1, 1]),
    ([1, 1, 0], [1, 1, 1], [1, 1, 0]),
    ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 0, 1, 0, 0]),
    ([0, 0, 1, 1, 0, 0, 0], [1] * 7, [0, 0, 1, 1, 0, 0, 0]),
    ([1, 0, 0, 1], [1] * 4, [0, 0, 0, 0]),
    ([1, 0, 0, 1, 1], [1] * 5, [0, 0, 0, 1, 1]),
    ([1, 0, 1], [1, -1, 1], [0, 0, 0]),
    ([0, 1, 1], [1, -1, 1], [0, 0, 0]),
    ([1, 1, 0], [1, -1, 1], [0, 0, 0]),
    ([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1], [0] * 7),
    ([0, 0, 1, 1, 0, 0, 0], [-1, 1, -1, 1, -1, 1, -1], [0] * 7),
    ([0, 0, 0], [0, 0, 0], [0, 0, 0]),
    ([], [], []),
])
def test_ptd_two_in_three_cases(close, side, expected):
    got = _two_of_three(np.array(close, dtype=bool), np.array(side, dtype=int))
    assert got.astype(int).tolist() == expected


@pytest.mark.parametrize("y, expected", [
    # test-ptd_calculate_point_type.R: ptd_seven_point_trend with ptd_part_of_seven_trend
    (list(range(1, 7)), [0] * 6),
    ([1, 2, 3, 3, 4, 5, 6], [0] * 7),
    (list(range(1, 8)), [1] * 7),
    ([2, *range(1, 8), 3], [0] + [1] * 7 + [0]),
    (list(range(7, 0, -1)), [-1] * 7),
    ([2, *range(7, 0, -1), 3], [0] + [-1] * 7 + [0]),
    ([], []),
])
def test_ptd_seven_point_trend_cases(y, expected):
    in_trend, direction = _trend(np.array(y, dtype=float))
    assert np.where(in_trend, direction, 0).tolist() == expected


@pytest.mark.parametrize("side, expected", [
    # test-ptd_calculate_point_type.R: ptd_seven_point_one_side_mean with the part-of rule
    ([1] * 6, [0] * 6),
    ([1] * 6 + [-1], [0] * 7),
    ([1] * 8 + [-1], [1] * 8 + [0]),
    ([-1] * 8 + [1], [1] * 8 + [0]),
    ([], []),
])
def test_ptd_seven_points_one_side_cases(side, expected):
    assert (_runs(np.array(side)) >= 7).astype(int).tolist() == expected


def test_special_cause_type_precedence():
    """ptd_special_cause_type: beyond limits first, then trend, then 2 in 3, then shift."""
    assert SPECIAL_CAUSE_TYPES[0] == "Above UCL"
    # a point both in a trend and beyond the limit is "Above UCL"
    x = [10, 11] * 8 + [9.5, 10, 10.5, 11, 11.5, 12, 30]
    out = xmr(_frame(x), "n", "month", fix_after=16)
    assert out["special_cause_type"].iloc[-1] == "Above UCL"
    assert out["special_cause_type"].iloc[-2] == "7 Point Trend (Increasing)"
    assert out["rule_trend"].iloc[-1] and out["rule_beyond_limits"].iloc[-1]


# ------------------------------------------------------------------ the series (#15)

BASE = [9, 11] * 10


@pytest.mark.parametrize("tail, flagged", [
    ([14, 9, 14, 10, 11, 9], []),   # 2 of 3 close, but not all three above the mean
    ([10, 16, 14, 10, 9, 11], [21]),  # a point beyond the limit is not "close" to it
])
def test_two_of_three_as_nhsrplotthedots(tail, flagged):
    out = xmr(_frame(BASE + tail), "n", "month", fix_after=20)
    assert out.index[out["special_cause_flag"]].tolist() == flagged
    assert_allclose(out[["mean", "upl", "near_upl"]].iloc[0], [10, 15.32, 10 + 5.32 * 2 / 3],
                    rtol=1e-9)


def test_trend_direction_wins_over_side():
    """A rising run below the mean: 2 in 3 below (an improvement for violence) and a 7-point
    rising trend (a concern); NHSRplotthedots classes it by the trend."""
    x = BASE + [4.9, 5.5, 6, 7, 8, 9, 9.5, 11, 9, 11]
    out = xmr(_frame(x), "n", "month")
    run = out.iloc[20:28]
    assert run["rule_trend"].all()
    assert run["rule_two_of_three"].iloc[:2].all()  # also close to the lower limit
    assert (run["special_cause_type"] == "7 Point Trend (Increasing)").all()
    assert (run["point_type"] == "concern").all()
    assert (out["point_type"].drop(run.index) == "common cause").all()
    s = variation_summary(out).iloc[0]
    assert (s["special_cause_concern"], s["special_cause_improvement"]) == (8, 0)
    assert s["variation"] == "common cause" and s["icon"] == "Common cause variation"
    assert "8 meet a special-cause rule (8 concern)" in s["summary"]


# ------------------------------------------------------------------ gaps: a month without data


def test_gap_is_no_point_and_not_in_the_limits():
    x = [float(v) for v in KNOWN]
    with_gap = x[:5] + [np.nan] + x[5:]
    out = xmr(_frame(with_gap), "n", "month")
    row = out.iloc[5]
    assert row["point_type"] == "no data" and row["special_cause_type"] == "no data"
    assert not row["special_cause_flag"]
    assert_allclose(out["mean"].iloc[0], np.mean(x))
    # the moving range that would span the gap is not used
    mrs = np.abs(np.diff(x))
    used = np.delete(mrs, 4)  # |x5 - x4| spans the gap
    assert_allclose(out["upl"].iloc[0] - out["mean"].iloc[0], 2.66 * used.mean())
    assert np.isnan(out["moving_range"].iloc[[0, 5, 6]]).all()
    meta = out.attrs["sna"]["xmr"]["groups"]["all"][0]
    assert (meta["points"], meta["gaps"]) == (12, 1)
    # a month absent from the series is the same gap as a missing value
    absent = _frame(with_gap).drop(index=5)
    out2 = xmr(absent, "n", "month")
    assert_allclose(out2["upl"].iloc[0], out["upl"].iloc[0])
    assert out2["special_cause_flag"].tolist() == out["special_cause_flag"].drop(5).tolist()


def test_runs_do_not_span_a_gap():
    shift = SHIFT[:10] + [np.nan] + SHIFT[10:]  # 3 above, gap, 4 above: no run of 7
    out = xmr(_frame(shift), "n", "month")
    assert not out["rule_shift"].any()
    joined = xmr(_frame(SHIFT), "n", "month")
    assert joined["rule_shift"].any()
    trend = TREND[:8] + [np.nan] + TREND[8:]
    assert not xmr(_frame(trend), "n", "month")["rule_trend"].any()


def test_gap_summary_uses_latest_point_with_data():
    out = xmr(_frame([5, 6] * 6 + [30, np.nan]), "n", "month")
    s = variation_summary(out).iloc[0]
    assert s["variation"] == "concern" and s["gaps"] == 1 and s["points"] == 13
    assert str(s["latest_date"]) == "2020-04"
    assert s["summary"].endswith("1 month without data is left out.")
