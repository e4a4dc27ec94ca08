"""sna.spc: the Making Data Count XmR chart (DOMAIN.md §4 known answer, each rule pinned)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from sna.errors import AnalysisInputError
from sna.spc import RULES, variation_summary, xmr

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
        (_frame(KNOWN).assign(n=[np.nan] + KNOWN[1:]), {}, "missing"),
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
    assert (out.loc[~out.special_cause_flag, "point_type"] == "common cause").all()
    # screening never widens the limits
    screened = xmr(_frame(x), "n", "month", screen_outliers=True)
    assert screened["upl"].iloc[0] <= row["upl"] + 1e-9
