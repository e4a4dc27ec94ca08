"""sna.rates: known answers (worked examples), agreement with scipy/statsmodels, failure modes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats

from sna.errors import AnalysisInputError
from sna.rates import (
    ESP2013,
    FUNNEL_CLASSES,
    byars_lower,
    byars_upper,
    crude_rate,
    dsr,
    esp2013_band,
    exact_poisson_lower,
    exact_poisson_upper,
    funnel,
    funnel_limits,
    proportion,
    wilson_lower,
    wilson_upper,
)

RTOL = 5e-5  # 4 significant figures
PROPS = settings(max_examples=50, deadline=None)


# ------------------------------------------------------------------ known answers (checked)


def test_byar_known_answer_300_over_250000():
    out = crude_rate(pd.DataFrame({"n": [300], "pop": [250_000]}), "n", "pop")
    row = out.iloc[0]
    assert row["value"] == pytest.approx(120.0)
    assert row["lowercl"] == pytest.approx(106.80, abs=0.005)
    assert row["uppercl"] == pytest.approx(134.38, abs=0.005)
    assert row["method"] == "Byars"
    assert row["confidence"] == "95%"
    assert row["statistic"] == "rate per 100000"


def test_exact_count_limits_for_7():
    assert_allclose(exact_poisson_lower(7), 2.8144, rtol=RTOL)
    assert_allclose(exact_poisson_upper(7), 14.4227, rtol=RTOL)
    out = crude_rate(pd.DataFrame({"n": [7], "pop": [1]}), "n", "pop", multiplier=1)
    assert out["method"].iloc[0] == "Exact"
    assert_allclose(out[["lowercl", "uppercl"]].iloc[0], [2.8144, 14.4227], rtol=RTOL)


def test_byar_count_limits_for_10():
    assert_allclose(byars_lower(10), 4.7874, rtol=RTOL)
    assert_allclose(byars_upper(10), 18.3915, rtol=RTOL)
    out = crude_rate(pd.DataFrame({"n": [9, 10], "pop": [1, 1]}), "n", "pop", multiplier=1)
    assert out["method"].tolist() == ["Exact", "Byars"]
    assert_allclose(out["lowercl"].iloc[1], 4.7874, rtol=RTOL)
    assert_allclose(out["uppercl"].iloc[1], 18.3915, rtol=RTOL)


def test_wilson_known_answer_45_of_120():
    out = proportion(pd.DataFrame({"x": [45], "n": [120]}), "x", "n")
    assert_allclose(out[["value", "lowercl", "uppercl"]].iloc[0], [0.375, 0.29352, 0.46423],
                    rtol=RTOL)
    assert out["method"].iloc[0] == "Wilson"
    pct = proportion(pd.DataFrame({"x": [45], "n": [120]}), "x", "n", multiplier=100)
    assert_allclose(pct[["value", "lowercl", "uppercl"]].iloc[0], [37.5, 29.352, 46.423],
                    rtol=RTOL)
    assert pct["statistic"].iloc[0] == "percentage"


def test_esp2013_is_the_published_standard():
    assert len(ESP2013) == 19
    assert ESP2013.sum() == 100_000
    assert ESP2013.index[0] == "0-4" and ESP2013.index[-1] == "90+"
    assert ESP2013["85-89"] == 1500 and ESP2013["90+"] == 1000


# ------------------------------------------------------------------ crude_rate behaviour


def test_crude_rate_keeps_index_and_columns_and_does_not_mutate():
    df = pd.DataFrame({"area": ["a", "b"], "n": [12, 0], "pop": [1000, 500]},
                      index=pd.Index([10, 20], name="id"))
    before = df.copy()
    out = crude_rate(df, "n", "pop", multiplier=1000)
    pd.testing.assert_frame_equal(df, before)
    assert out.index.equals(df.index)
    assert list(out.columns) == ["area", "n", "pop", "value", "lowercl", "uppercl",
                                 "confidence", "statistic", "method"]
    assert out.loc[20, "lowercl"] == 0.0
    assert_allclose(out.loc[20, "uppercl"], stats.chi2.ppf(0.975, 2) / 2 / 500 * 1000)
    assert out.attrs["sna"]["crude_rate"]["multiplier"] == 1000


def test_crude_rate_by_aggregates_first():
    df = pd.DataFrame({"g": ["a", "a", "b"], "n": [100, 200, 7], "pop": [100_000, 150_000, 1]})
    out = crude_rate(df, "n", "pop", by="g")
    assert list(out.columns[:3]) == ["g", "n", "pop"]
    assert out["n"].tolist() == [300, 7]
    assert_allclose(out.loc[out.g == "a", ["value", "lowercl", "uppercl"]].iloc[0],
                    [120.0, 106.80, 134.38], atol=0.005)


def test_crude_rate_two_levels_named_as_phe():
    out = crude_rate(pd.DataFrame({"n": [300], "pop": [250_000]}), "n", "pop",
                     confidence=[0.95, 0.998])
    for col in ["lower95_0cl", "upper95_0cl", "lower99_8cl", "upper99_8cl"]:
        assert col in out
    assert "lowercl" not in out
    assert out["confidence"].iloc[0] == "95%, 99.8%"
    assert out["lower99_8cl"].iloc[0] < out["lower95_0cl"].iloc[0]
    assert out["upper99_8cl"].iloc[0] > out["upper95_0cl"].iloc[0]
    # 99.8% Byar limits from the formula with z = 3.090232
    z, o = stats.norm.ppf(0.999), 300
    lo = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3 / 250_000 * 1e5
    assert_allclose(out["lower99_8cl"].iloc[0], lo, rtol=1e-10)


@pytest.mark.parametrize(
    "frame, kwargs, match",
    [
        (pd.DataFrame({"n": [1], "pop": [10]}), {"numerator": "x"}, "no column 'x'"),
        (pd.DataFrame({"n": [-1], "pop": [10]}), {}, "negative"),
        (pd.DataFrame({"n": [1], "pop": [0]}), {}, "zero or negative"),
        (pd.DataFrame({"n": [np.nan], "pop": [10]}), {}, "missing"),
        (pd.DataFrame({"n": [1], "pop": [np.nan]}), {}, "missing"),
        (pd.DataFrame({"n": ["a"], "pop": [10]}), {}, "numbers"),
        (pd.DataFrame({"n": [1], "pop": [10]}), {"confidence": 95}, "between 0.5 and 1"),
        (pd.DataFrame({"n": [1], "pop": [10]}), {"multiplier": 0}, "positive"),
        (pd.DataFrame({"n": [1], "pop": [10]}), {"by": "g"}, "no column 'g'"),
    ],
)
def test_crude_rate_rejects_bad_input(frame, kwargs, match):
    args = {"numerator": "n", "denominator": "pop"}
    args.update(kwargs)
    with pytest.raises(AnalysisInputError, match=match):
        crude_rate(frame, args.pop("numerator"), args.pop("denominator"), **args)


def test_not_a_dataframe():
    with pytest.raises(AnalysisInputError, match="DataFrame"):
        crude_rate([1, 2], "n", "pop")


# ------------------------------------------------------------------ proportion behaviour


def test_proportion_bounds_at_zero_and_all():
    out = proportion(pd.DataFrame({"x": [0, 20], "n": [20, 20]}), "x", "n")
    assert out["lowercl"].iloc[0] == 0.0
    assert out["uppercl"].iloc[1] == pytest.approx(1.0)
    assert 0 < out["uppercl"].iloc[0] < 0.2


def test_proportion_rejects_numerator_above_denominator():
    with pytest.raises(AnalysisInputError, match="exceeds denominator"):
        proportion(pd.DataFrame({"x": [5], "n": [4]}), "x", "n")


# ------------------------------------------------------------------ property tests


@PROPS
@given(o=st.integers(0, 5000), n=st.floats(1, 1e7),
       c=st.sampled_from([0.8, 0.9, 0.95, 0.99, 0.998]))
def test_rate_limits_bracket_and_widen(o, n, c):
    df = pd.DataFrame({"n": [o], "pop": [n]})
    out = crude_rate(df, "n", "pop", confidence=[c, 0.999]).iloc[0]
    sfx = f"{c * 100:.1f}".replace(".", "_")
    lo, hi = out[f"lower{sfx}cl"], out[f"upper{sfx}cl"]
    assert 0 <= lo <= out["value"] <= hi
    assert out["lower99_9cl"] <= lo + 1e-12 and out["upper99_9cl"] >= hi - 1e-12
    if o == 0:
        assert lo == 0 and hi > 0


@PROPS
@given(o=st.integers(0, 9), c=st.sampled_from([0.9, 0.95, 0.998]))
def test_exact_limits_agree_with_scipy_chi2(o, c):
    a = 1 - c
    expected_lo = 0.0 if o == 0 else stats.chi2.ppf(a / 2, 2 * o) / 2
    expected_hi = stats.chi2.ppf(1 - a / 2, 2 * o + 2) / 2
    out = crude_rate(pd.DataFrame({"n": [o], "pop": [1]}), "n", "pop", confidence=c,
                     multiplier=1).iloc[0]
    assert_allclose([out["lowercl"], out["uppercl"]], [expected_lo, expected_hi], rtol=1e-12)
    # the exact limits are the Poisson tail probabilities (Garwood)
    if o > 0:
        assert_allclose(stats.poisson.sf(o - 1, expected_lo), a / 2, rtol=1e-8)
    assert_allclose(stats.poisson.cdf(o, expected_hi), a / 2, rtol=1e-8)


@PROPS
@given(o=st.integers(10, 100_000))
def test_byar_close_to_exact_from_ten(o):
    lo, hi = byars_lower(o), byars_upper(o)
    assert_allclose(lo, exact_poisson_lower(o), rtol=0.01)
    assert_allclose(hi, exact_poisson_upper(o), rtol=0.01)


def test_nine_and_ten_events_switch_method_without_jump():
    out = crude_rate(pd.DataFrame({"n": [9, 10, 11], "pop": [1, 1, 1]}), "n", "pop",
                     multiplier=1)
    assert out["method"].tolist() == ["Exact", "Byars", "Byars"]
    assert out["lowercl"].is_monotonic_increasing and out["uppercl"].is_monotonic_increasing


@PROPS
@given(data=st.data(), c=st.sampled_from([0.9, 0.95, 0.99, 0.998]))
def test_wilson_agrees_with_statsmodels(data, c):
    from statsmodels.stats.proportion import proportion_confint

    n = data.draw(st.integers(1, 10_000))
    x = data.draw(st.integers(0, n))
    lo, hi = proportion_confint(x, n, alpha=1 - c, method="wilson")
    assert_allclose(wilson_lower(x, n, c), lo, rtol=1e-9, atol=1e-12)
    assert_allclose(wilson_upper(x, n, c), hi, rtol=1e-9, atol=1e-12)
    out = proportion(pd.DataFrame({"x": [x], "n": [n]}), "x", "n", confidence=c).iloc[0]
    assert out["lowercl"] <= out["value"] <= out["uppercl"]


# ------------------------------------------------------------------ DSR


def _dobson(o, n, w, z=1.959964):
    o, n, w = map(np.asarray, (o, n, w))
    d = (o / n * w).sum() / w.sum()
    var = (o * w**2 / n**2).sum() / w.sum() ** 2
    t = o.sum()
    lo = t * (1 - 1 / (9 * t) - z / (3 * np.sqrt(t))) ** 3
    hi = (t + 1) * (1 - 1 / (9 * (t + 1)) + z / (3 * np.sqrt(t + 1))) ** 3
    f = np.sqrt(var / t)
    return d * 1e5, (d + f * (lo - t)) * 1e5, (d + f * (hi - t)) * 1e5


def test_dsr_matches_dobson_formula_and_uniform_case():
    rng = np.random.default_rng(1)
    o = rng.integers(0, 30, 19)
    n = rng.integers(1000, 9000, 19)
    df = pd.DataFrame({"band": ESP2013.index, "n": o, "pop": n})
    out = dsr(df, "n", "pop", age="band").iloc[0]
    assert_allclose([out["value"], out["lowercl"], out["uppercl"]],
                    _dobson(o, n, ESP2013.to_numpy()), rtol=1e-6)
    assert out["total_count"] == o.sum() and out["method"] == "Dobson"
    assert out["statistic"] == "dsr per 100000"
    # same rate in every band: the DSR equals the crude rate
    flat = pd.DataFrame({"band": ESP2013.index, "n": [4] * 19, "pop": [8000] * 19})
    assert_allclose(dsr(flat, "n", "pop", age="band")["value"], 50.0)


def test_dsr_positional_bands_and_by_groups():
    rows = []
    for area, k in [("A", 2), ("B", 0)]:
        for band in ESP2013.index:
            rows.append({"area": area, "n": k, "pop": 1000})
    df = pd.DataFrame(rows)
    out = dsr(df, "n", "pop", by="area")
    assert out["area"].tolist() == ["A", "B"]
    assert_allclose(out["value"].iloc[0], 200.0)
    assert np.isnan(out["value"].iloc[1]) and np.isnan(out["lowercl"].iloc[1])
    assert "fewer than 10" in out["note"].iloc[1]
    assert out.attrs["sna"]["dsr"]["suppressed_units"] == 1


def test_dsr_nine_events_not_shown_ten_shown():
    base = [0] * 19
    nine = pd.DataFrame({"band": ESP2013.index, "n": [9] + base[1:], "pop": [1000] * 19})
    ten = nine.assign(n=[10] + base[1:])
    assert np.isnan(dsr(nine, "n", "pop", age="band")["value"].iloc[0])
    shown = dsr(ten, "n", "pop", age="band").iloc[0]
    assert shown["value"] > 0 and shown["lowercl"] < shown["value"] < shown["uppercl"]


def test_dsr_single_years_of_age_are_banded():
    ages = pd.DataFrame({"age": range(0, 91), "n": 1, "pop": 100})
    out = dsr(ages, "n", "pop", age="age").iloc[0]
    assert out["total_count"] == 91 and out["total_pop"] == 9100
    # 90+ band has one year, others five: rates 1/100 in every band -> DSR = 1000 per 100k
    assert_allclose(out["value"], 1000.0)
    assert "ages_banded" in dsr(ages, "n", "pop", age="age").attrs["sna"]["dsr"]


def test_esp2013_band_edges():
    assert esp2013_band([0, 4, 5, 89, 90, 120, -1, None]).astype(object).tolist()[:6] == [
        "0-4", "0-4", "5-9", "85-89", "90+", "90+"]
    assert esp2013_band([-1, None]).isna().all()


def test_dsr_other_standard_as_series_and_column():
    std = pd.Series({"young": 60_000, "old": 40_000})
    df = pd.DataFrame({"band": ["young", "old"], "n": [30, 20], "pop": [10_000, 2_000]})
    out = dsr(df, "n", "pop", age="band", standard=std).iloc[0]
    assert_allclose(out["value"], (30 / 10_000 * 0.6 + 20 / 2000 * 0.4) * 1e5)
    col = dsr(df.assign(w=[60, 40]), "n", "pop", standard="w").iloc[0]
    assert_allclose(col["value"], out["value"])


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: d.iloc[1:], "no row for band"),
        (lambda d: d.assign(band=["x"] + list(d.band[1:])), "not in the standard"),
        (lambda d: d.assign(pop=[0] + [100] * 18), "zero population"),
        (lambda d: d.assign(n=[-1] + [1] * 18), "negative"),
    ],
)
def test_dsr_rejects(mutate, match):
    df = pd.DataFrame({"band": ESP2013.index, "n": [1] * 19, "pop": [100] * 19})
    with pytest.raises(AnalysisInputError, match=match):
        dsr(mutate(df), "n", "pop", age="band")


def test_dsr_band_without_population_has_no_value_as_phe():
    """PHEindicatormethods requires every denominator above 0 (R/DSR.R: "denominators must
    all be greater than zero"): a unit with an empty band gets no value, not a zero rate."""
    df = pd.DataFrame({"band": ESP2013.index, "n": [5] * 18 + [0], "pop": [100] * 18 + [0]})
    out = dsr(df, "n", "pop", age="band")
    assert np.isnan(out["value"].iloc[0]) and np.isnan(out["uppercl"].iloc[0])
    assert out["note"].iloc[0] == "not calculated: no population in band(s) 90+"
    meta = out.attrs["sna"]["dsr"]
    assert meta["empty_bands"] == 1 and meta["empty_bands_rule"] == "no value"
    # renormalised: the other 18 bands' weights, rescaled
    re = dsr(df, "n", "pop", age="band", empty_bands="renormalise").iloc[0]
    w = ESP2013.to_numpy()[:18].astype(float)
    assert_allclose(re["value"], (5 / 100 * w).sum() / w.sum() * 1e5)
    assert_allclose([re["value"], re["lowercl"], re["uppercl"]],
                    _dobson(np.full(18, 5), np.full(18, 100), w), rtol=1e-6)
    assert "without band(s) 90+" in re["note"]
    # counted as a zero rate with its full weight the rate would have been 1% lower
    assert re["value"] > (5 / 100 * w).sum() / ESP2013.sum() * 1e5
    # per unit: only the unit with the empty band loses its value
    two = pd.concat([df.assign(area="A"), df.assign(area="B", pop=100)])
    both = dsr(two, "n", "pop", age="band", by="area")
    assert both["value"].isna().tolist() == [True, False]
    with pytest.raises(AnalysisInputError, match="empty_bands"):
        dsr(df, "n", "pop", age="band", empty_bands="zero")


def test_dsr_positional_needs_right_number_of_rows():
    with pytest.raises(AnalysisInputError, match="exactly 19 rows"):
        dsr(pd.DataFrame({"n": [1] * 18, "pop": [10] * 18}), "n", "pop")


# ------------------------------------------------------------------ funnels


def test_funnel_classes_rates():
    df = pd.DataFrame({"area": list("ABCDE"), "n": [30, 120, 95, 160, 0],
                       "pop": [40_000, 100_000, 90_000, 100_000, 1000]})
    out = funnel(df, "n", "pop", overdispersion=False)
    assert set(out["significance"]) <= set(FUNNEL_CLASSES)
    centre = df.n.sum() / df["pop"].sum() * 1e5
    assert_allclose(out["baseline"], centre)
    cls = dict(zip(out.area, out.significance))
    assert cls["D"] == "High (0.001)"
    assert cls["E"] == "Not significant"  # 0 events in a small area cannot be significantly low
    # classes agree with the plotted limits
    for _, r in out.iterrows():
        if r.significance == "High (0.001)":
            assert r.value > r.upper_3s_limit
        elif r.significance == "High (0.025)":
            assert r.upper_2s_limit < r.value <= r.upper_3s_limit
        elif r.significance == "Not significant":
            assert r.lower_2s_limit <= r.value <= r.upper_2s_limit
        elif r.significance == "Low (0.025)":
            assert r.lower_3s_limit <= r.value < r.lower_2s_limit
        else:
            assert r.value < r.lower_3s_limit


@PROPS
@given(e=st.floats(0.5, 5000), c=st.sampled_from([0.95, 0.998]))
def test_rate_funnel_limits_invert_exact_poisson(e, c):
    """The upper limit count has exact lower limit e; the lower limit count exact upper e."""
    p = 1 - (1 - c) / 2
    tag = "2s" if c == 0.95 else "3s"
    lim = funnel_limits(target=e, denominators=[1.0], multiplier=1).iloc[0]
    up = lim[f"upper_{tag}_limit"]
    assert_allclose(stats.chi2.ppf(1 - p, 2 * up) / 2, e, rtol=1e-7)
    lo = lim[f"lower_{tag}_limit"]
    if lo > 0:
        assert_allclose(stats.chi2.ppf(p, 2 * lo + 2) / 2, e, rtol=1e-7)
    else:
        assert stats.chi2.ppf(p, 2) / 2 >= e
    assert lo <= e <= up


def test_funnel_limits_narrow_as_population_grows():
    lim = funnel_limits(target=0.001, denominators=np.geomspace(1e3, 1e7, 20))
    assert (np.diff(lim.upper_3s_limit) < 0).all()
    assert (np.diff(lim.lower_2s_limit) >= 0).all()
    assert (lim.upper_3s_limit >= lim.upper_2s_limit).all()
    assert (lim.lower_3s_limit <= lim.lower_2s_limit).all()


def test_proportion_funnel_is_inverse_wilson():
    df = pd.DataFrame({"x": [10, 50, 90], "n": [100, 200, 150]})
    out = funnel(df, "x", "n", kind="proportion", overdispersion=False)
    centre = 150 / 450
    z = stats.norm.ppf(0.975)
    assert_allclose(out["upper_2s_limit"], centre + z * np.sqrt(centre * (1 - centre) / df.n))
    # at the limit, the Wilson interval of the limit proportion just touches the centre
    n = 200.0
    hi = out["upper_2s_limit"].iloc[1]
    assert_allclose(wilson_lower(hi * n, n), centre, rtol=1e-9)
    assert out["significance"].tolist() == ["Low (0.001)", "Low (0.025)", "High (0.001)"]


def test_funnel_limits_from_units_span_denominators():
    df = pd.DataFrame({"n": [5, 50], "pop": [1000, 20_000]})
    lim = funnel_limits(df, "n", "pop", points=30)
    assert len(lim) == 30
    assert lim.denominator.min() == pytest.approx(500) and lim.denominator.max() == pytest.approx(22_000)
    with pytest.raises(AnalysisInputError, match="target= and denominators="):
        funnel_limits()


def test_funnel_rejects_bad_kind_and_does_not_mutate():
    df = pd.DataFrame({"n": [5, 50], "pop": [1000, 20_000]})
    before = df.copy()
    funnel(df, "n", "pop")
    pd.testing.assert_frame_equal(df, before)
    with pytest.raises(AnalysisInputError, match="kind"):
        funnel(df, "n", "pop", kind="ratio")
    with pytest.raises(AnalysisInputError, match="zero or negative"):
        funnel(df.assign(pop=[0, 1]), "n", "pop")


# ------------------------------------------------------------------ funnels: over-dispersion

#: District rates of the demo's 2020/21 (serious violence, population): 6 of 8 beyond the
#: plain 99.8% Poisson limits.
DISTRICTS = pd.DataFrame({
    "n": [4401, 1093, 1003, 621, 646, 1294, 881, 513],
    "pop": [337098, 128337, 118280, 114627, 118239, 109351, 123127, 121416],
})


def _spiegelhalter(o, n, winsorise=0.1):
    """Spiegelhalter (2005) written out on its own: z-scores on the square-root scale,
    winsorised, phi, and the DerSimonian-Laird tau-squared."""
    o, n = np.asarray(o, float), np.asarray(n, float)
    e = o.sum() / n.sum() * n
    z = 2 * (np.sqrt(o) - np.sqrt(e))  # (sqrt(O/E) - 1) / (1 / (2 sqrt(E)))
    lo, hi = np.percentile(z, [100 * winsorise, 100 * (1 - winsorise)])
    phi = np.mean(np.clip(z, lo, hi) ** 2)
    w = 4 * e
    tau2 = max(0.0, (len(o) * phi - (len(o) - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    return e, phi, tau2


def test_overdispersion_phi_tau2_and_limits_as_spiegelhalter():
    e, phi, tau2 = _spiegelhalter(DISTRICTS.n, DISTRICTS["pop"])
    centre = DISTRICTS.n.sum() / DISTRICTS["pop"].sum()
    add = funnel(DISTRICTS, "n", "pop", multiplier=1000)
    od = add.attrs["sna"]["funnel"]["overdispersion"]
    assert od["applied"] and od["method"] == "additive"
    assert_allclose([od["phi"], od["tau2"]], [phi, tau2], rtol=1e-12)
    assert od["units"] == 8 and od["winsorised"] == 2 and od["p_value"] < 1e-100
    s = 1 / (2 * np.sqrt(e))
    for tag, z in (("2s", stats.norm.ppf(0.975)), ("3s", stats.norm.ppf(0.999))):
        half = z * np.sqrt(s**2 + tau2)
        assert_allclose(add[f"upper_{tag}_limit"], (1 + half) ** 2 * centre * 1000, rtol=1e-12)
        assert_allclose(add[f"lower_{tag}_limit"], np.maximum(1 - half, 0) ** 2 * centre * 1000,
                        rtol=1e-12)
    mult = funnel(DISTRICTS, "n", "pop", multiplier=1000, overdispersion="multiplicative")
    half = stats.norm.ppf(0.999) * np.sqrt(phi) * s
    assert_allclose(mult["upper_3s_limit"], (1 + half) ** 2 * centre * 1000, rtol=1e-12)
    # the classes agree with the plotted limits
    for out in (add, mult):
        v = out["value"]
        assert ((out.significance == "High (0.001)") == (v > out.upper_3s_limit)).all()
        assert ((out.significance == "Low (0.001)") == (v < out.lower_3s_limit)).all()
    assert "Spiegelhalter" in add.attrs["sna"]["funnel"]["method"]


def test_overdispersed_district_funnel_flags_what_the_adjusted_limits_flag():
    """The demo's districts: plain Poisson limits flag 6 of 8 at 99.8%; the over-dispersed
    limits (either adjustment) flag none there."""
    plain = funnel(DISTRICTS, "n", "pop", overdispersion=False)
    assert plain["significance"].str.contains("0.001").sum() == 6
    for how in (True, "additive", "multiplicative"):
        out = funnel(DISTRICTS, "n", "pop", overdispersion=how)
        assert not out["significance"].str.contains("0.001").any(), how
    unwinsorised = funnel(DISTRICTS, "n", "pop", winsorise=0.0)
    assert unwinsorised.attrs["sna"]["funnel"]["overdispersion"]["phi"] > 150


def test_no_adjustment_without_overdispersion():
    rng = np.random.default_rng(5)
    pop = rng.integers(5_000, 50_000, 60)
    df = pd.DataFrame({"n": rng.poisson(pop * 0.002), "pop": pop})
    out = funnel(df, "n", "pop")
    od = out.attrs["sna"]["funnel"]["overdispersion"]
    assert od["phi"] <= 1 and not od["applied"]
    plain = funnel(df, "n", "pop", overdispersion=False)
    pd.testing.assert_series_equal(out["upper_3s_limit"], plain["upper_3s_limit"])
    assert "no over-dispersion" in out.attrs["sna"]["funnel"]["method"]
    few = funnel(df.head(2), "n", "pop").attrs["sna"]["funnel"]["overdispersion"]
    assert not few["applied"] and "fewer than 3" in few["reason"]
    assert plain.attrs["sna"]["funnel"]["overdispersion"] is None
    with pytest.raises(AnalysisInputError, match="overdispersion must be"):
        funnel(df, "n", "pop", overdispersion="random")
    with pytest.raises(AnalysisInputError, match="winsorise"):
        funnel(df, "n", "pop", winsorise=0.6)


def test_overdispersed_proportion_funnel_arcsine_scale():
    df = pd.DataFrame({"x": [10, 50, 90, 40, 70, 20], "n": [100, 200, 150, 160, 180, 120]})
    out = funnel(df, "x", "n", kind="proportion")
    od = out.attrs["sna"]["funnel"]["overdispersion"]
    centre = df.x.sum() / df.n.sum()
    z = (np.arcsin(np.sqrt(df.x / df.n)) - np.arcsin(np.sqrt(centre))) * 2 * np.sqrt(df.n)
    lo, hi = np.percentile(z, [10, 90])
    assert_allclose(od["phi"], np.mean(np.clip(z, lo, hi) ** 2), rtol=1e-12)
    half = stats.norm.ppf(0.975) * np.sqrt(1 / (4 * df.n) + od["tau2"])
    assert_allclose(out["upper_2s_limit"], np.sin(np.arcsin(np.sqrt(centre)) + half) ** 2)
    assert ((out["lower_3s_limit"] >= 0) & (out["upper_3s_limit"] <= 1)).all()


def test_funnel_limits_carry_the_adjustment():
    out = funnel(DISTRICTS, "n", "pop")
    od = out.attrs["sna"]["funnel"]["overdispersion"]
    curve = funnel_limits(target=out["baseline"].iloc[0] / 1e5, kind="rate",
                          denominators=DISTRICTS["pop"], overdispersion=od)
    assert_allclose(curve["upper_3s_limit"], out["upper_3s_limit"])
    same = funnel_limits(DISTRICTS, "n", "pop", denominators=DISTRICTS["pop"])
    assert_allclose(same["lower_2s_limit"], out["lower_2s_limit"])
    plain = funnel_limits(target=out["baseline"].iloc[0] / 1e5, denominators=DISTRICTS["pop"])
    assert (plain["upper_3s_limit"] < curve["upper_3s_limit"]).all()
