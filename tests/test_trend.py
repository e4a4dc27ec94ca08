"""sna.trend: Table A comparison (a worked known answer), monthly series, STL, ITS, NB."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats

from sna.errors import AnalysisInputError
from sna.trend import (
    its_diagnostics,
    compare_periods,
    compare_previous,
    interruption_month,
    its,
    its_effects,
    monthly,
    nb_year_effect,
    rolling_12,
    stl,
    table_a_measures,
)

FYS = ["2017/18", "2018/19", "2019/20", "2020/21"]
CONTRACT = ["current", "baseline_mean", "baseline_min", "baseline_max", "pct_change",
            "rate_ratio", "rr_lower", "rr_upper", "p_value", "significant", "reliable"]


def _sf(x, digits=4):
    """Round to significant figures (the worked values are given to 4 s.f.)."""
    x = float(x)
    return float(f"{x:.{digits}g}")


def _counts(values, category=None):
    df = pd.DataFrame({"fy": FYS[-len(values):], "n": values})
    if category is not None:
        df["category"] = category
    return df


def _incidents_from_counts(per_month: dict[str, list[int]], start="2017-04"):
    """One row per event, with month and fy, from monthly counts per category."""
    rows = []
    for cat, counts in per_month.items():
        months = pd.period_range(start, periods=len(counts), freq="M")
        for m, k in zip(months, counts):
            rows += [{"category": cat, "month": m.to_timestamp()}] * int(k)
    df = pd.DataFrame(rows)
    df["fy"] = df["month"].map(lambda t: f"{t.year - (t.month < 4)}/{(t.year - (t.month < 4) + 1) % 100:02d}")
    return df


# ------------------------------------------------------------------ known answer (checked)


def test_domain_known_answer_pre_counted():
    out = compare_periods(_counts([340, 360, 350, 300]), year="2020/21", category=None)
    row = out.iloc[0]
    assert list(out.columns) == CONTRACT
    assert row["current"] == 300 and row["baseline_mean"] == 350
    assert row["baseline_min"] == 340 and row["baseline_max"] == 360
    assert round(row["pct_change"], 1) == -14.3
    assert [_sf(row[c]) for c in ("rate_ratio", "rr_lower", "rr_upper", "p_value")] == [
        0.8571, 0.7514, 0.9754, 0.01839]
    assert row["significant"] and row["reliable"]
    meta = out.attrs["sna"]["compare_periods"]
    assert meta["baseline"] == ["2017/18", "2018/19", "2019/20"]
    assert meta["year"] == "2020/21"


def test_known_answer_agrees_with_statsmodels_exact_cond():
    from statsmodels.stats.rates import test_poisson_2indep

    ref = test_poisson_2indep(300, 1, 1050, 3, method="exact-cond")
    out = compare_periods(_counts([340, 360, 350, 300]), year=2020, category=None)
    assert_allclose(out["p_value"].iloc[0], ref.pvalue, rtol=1e-10)


def test_known_answer_from_incidents_with_month_only():
    rng = np.random.default_rng(5)
    monthly_counts = []
    for total in [340, 360, 350, 300]:
        monthly_counts += list(rng.multinomial(total, [1 / 12] * 12))
    ev = _incidents_from_counts({"Robbery": monthly_counts}).drop(columns="fy")
    before = ev.copy()
    out = compare_periods(ev, year="2020/21")
    pd.testing.assert_frame_equal(ev, before)
    assert out["category"].tolist() == ["Robbery"]
    assert out["current"].iloc[0] == 300
    assert _sf(out["p_value"].iloc[0]) == 0.01839
    assert out.attrs["sna"]["compare_periods"]["incomplete_years"] == {}


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # statsmodels at x0 = 0
@settings(max_examples=50, deadline=None)
@given(x1=st.integers(0, 3000), x0=st.integers(0, 9000), k=st.integers(1, 5))
def test_exact_test_agrees_with_statsmodels_and_scipy(x1, x0, k):
    from statsmodels.stats.rates import test_poisson_2indep

    years = [f"{2020 - i}/{(2021 - i) % 100:02d}" for i in range(k, -1, -1)]
    per_year = [x0 // k + (1 if i < x0 % k else 0) for i in range(k)] + [x1]
    df = pd.DataFrame({"fy": years, "n": per_year})
    row = compare_periods(df, year="2020/21", baseline_years=k, category=None).iloc[0]
    if x1 + x0 == 0:
        assert row["p_value"] == 1 and np.isnan(row["rate_ratio"])
        return
    ref = test_poisson_2indep(x1, 1, x0, k, method="exact-cond").pvalue
    assert_allclose(row["p_value"], ref, rtol=1e-8, atol=1e-300)
    # Clopper-Pearson limits of the conditional proportion, mapped to the rate ratio
    ci = stats.binomtest(x1, x1 + x0, 1 / (1 + k)).proportion_ci(0.95, method="exact")
    lo = ci.low / (1 - ci.low) * k
    hi = ci.high / (1 - ci.high) * k if ci.high < 1 else np.inf
    assert_allclose([row["rr_lower"], row["rr_upper"]], [lo, hi], rtol=1e-8)
    assert row["rr_lower"] <= row["rate_ratio"] <= row["rr_upper"]
    wider = compare_periods(df, year="2020/21", baseline_years=k, category=None,
                            confidence=0.99).iloc[0]
    assert wider["rr_lower"] <= row["rr_lower"] and wider["rr_upper"] >= row["rr_upper"]


# ------------------------------------------------------------------ table behaviour


def test_categories_zero_filled_total_row_and_reliability():
    df = pd.concat([
        _counts([340, 360, 350, 300], "Robbery"),
        _counts([9, 12, 9, 10], "Homicide"),
        _counts([5, 0, 4], "Knife possession").assign(fy=FYS[:3]),  # none in 2020/21
    ])
    out = compare_periods(df, year="2020/21", total="Overall")
    assert out["category"].tolist() == ["Overall", "Homicide", "Knife possession", "Robbery"]
    kp = out.set_index("category").loc["Knife possession"]
    assert kp["current"] == 0 and kp["baseline_min"] == 0 and kp["baseline_max"] == 5
    assert kp["pct_change"] == -100 and kp["rr_lower"] == 0
    assert not kp["reliable"]
    hom = out.set_index("category").loc["Homicide"]
    assert hom["current"] == 10 and hom["baseline_mean"] == 10 and hom["reliable"]
    nine = compare_periods(_counts([10, 10, 10, 9]), year="2020/21", category=None)
    assert not nine["reliable"].iloc[0]
    overall = out.set_index("category").loc["Overall"]
    assert overall["current"] == 310 and overall["baseline_mean"] == pytest.approx(1089 / 3)


def test_by_groups():
    city = _counts([100, 110, 105, 80], "Robbery").assign(area="City")
    county = _counts([50, 52, 48, 60], "Robbery").assign(area="County")
    out = compare_periods(pd.concat([county, city]), year="2020/21", by="area")
    assert out["area"].tolist() == ["City", "County"]
    res = out.set_index("area")
    assert res.loc["City", "current"] == 80 and res.loc["County", "current"] == 60
    assert res.loc["City", "pct_change"] < 0 < res.loc["County", "pct_change"]


def test_population_makes_it_a_rate_comparison():
    counts = _counts([300, 300, 300, 300])
    same = compare_periods(counts, year="2020/21", category=None).iloc[0]
    assert same["rate_ratio"] == 1
    pop = {"2017/18": 100_000, "2018/19": 100_000, "2019/20": 100_000, "2020/21": 120_000}
    out = compare_periods(counts, year="2020/21", category=None, population=pop).iloc[0]
    assert_allclose(out["rate_ratio"], 100_000 / 120_000)
    assert_allclose(out["pct_change"], (100_000 / 120_000 - 1) * 100)
    assert_allclose(out["current_rate"], 2.5)
    assert_allclose(out["baseline_rate"], 3.0)
    assert out.attrs["sna"]["compare_periods"]["exposure"] == "population-years"
    from statsmodels.stats.rates import test_poisson_2indep

    ref = test_poisson_2indep(300, 120_000, 900, 300_000, method="exact-cond").pvalue
    assert_allclose(out["p_value"], ref, rtol=1e-8)
    # a population table by area
    df = pd.concat([counts.assign(area="A"), counts.assign(area="B")])
    ptab = pd.DataFrame({"fy": FYS * 2, "area": ["A"] * 4 + ["B"] * 4,
                         "population": [1e5] * 4 + [1e5, 1e5, 1e5, 2e5]})
    res = compare_periods(df, year="2020/21", category=None, by="area", population=ptab)
    assert_allclose(res.set_index("area")["rate_ratio"], [1.0, 0.5])
    with pytest.raises(AnalysisInputError, match="population is missing for 2018/19"):
        compare_periods(counts, year="2020/21", category=None, population={"2017/18": 1})


def test_compare_previous():
    out = compare_previous(_counts([350, 300]), year="2020/21", category=None)
    row = out.iloc[0]
    assert row["previous"] == 350 and row["baseline_mean"] == 350
    assert_allclose(row["rate_ratio"], 300 / 350)
    from statsmodels.stats.rates import test_poisson_2indep

    assert_allclose(row["p_value"], test_poisson_2indep(300, 1, 350, 1, method="exact-cond").pvalue)
    assert "compare_previous" in out.attrs["sna"]


def test_incomplete_year_is_recorded():
    counts = [10] * 12 * 3 + [8] * 9  # 2020/21 has only 9 months
    ev = _incidents_from_counts({"Robbery": counts})
    out = compare_periods(ev, year="2020/21")
    assert out.attrs["sna"]["compare_periods"]["incomplete_years"] == {"2020/21": 9}


@pytest.mark.parametrize(
    "frame, kwargs, match",
    [
        (_counts([1, 2, 3]), {}, "no data for 2017/18"),
        (_counts([1, 2, 3, 4]).assign(n=[1, 2, -3, 4]), {}, "negative"),
        (_counts([1, 2, 3, 4]).assign(n=[1, 2, np.nan, 4]), {}, "without data .* month column"),
        (_counts([1, 2, 3, 4]).assign(n=[1, 2, 3.5, 4]), {}, "whole numbers"),
        (_counts([1, 2, 3, 4]).drop(columns="fy"), {}, "financial-year column"),
        (_counts([1, 2, 3, 4]), {"category": "crime"}, "no column 'crime'"),
        (_counts([1, 2, 3, 4]), {"total": "All"}, "total= needs category="),
        (_counts([1, 2, 3, 4]).assign(fy=["2017/18", "2018/19", "x", "2020/21"]), {},
         "cannot read"),
    ],
)
def test_compare_periods_rejects(frame, kwargs, match):
    args = {"category": None, **kwargs}
    with pytest.raises(AnalysisInputError, match=match):
        compare_periods(frame, year="2020/21", **args)


# ------------------------------------------------------------------ monthly / rolling


def test_monthly_zero_fills_and_groups():
    ev = pd.DataFrame({
        "date": pd.to_datetime(["2020-01-15", "2020-01-20", "2020-03-02", "2020-02-01"]),
        "category": ["A", "A", "A", "B"],
    })
    before = ev.copy()
    out = monthly(ev, date="date", by="category")
    pd.testing.assert_frame_equal(ev, before)
    assert list(out.columns) == ["category", "month", "fy", "n"]
    assert out["n"].tolist() == [2, 0, 1, 0, 1, 0]
    assert out["fy"].iloc[0] == "2019/20"
    wide = monthly(ev, date="date", start="2019-12", end="2020-04")
    assert wide["n"].tolist() == [0, 2, 1, 1, 0]
    counted = monthly(pd.DataFrame({"month": ["2020-01", "2020-03"], "k": [4, 6]}), count="k")
    assert counted["n"].tolist() == [4, 0, 6]
    with pytest.raises(AnalysisInputError, match="no column 'k'"):
        monthly(ev, date="date", count="k")


def test_rolling_12():
    m = pd.period_range("2019-04", periods=15, freq="M")
    df = pd.DataFrame({"month": m, "n": range(1, 16)})
    out = rolling_12(df)
    assert out["rolling_12"].iloc[:11].isna().all()
    assert out["rolling_12"].iloc[11] == sum(range(1, 13))
    assert out["rolling_12"].iloc[14] == sum(range(4, 16))
    gap = df.drop(index=5)  # 2019-09 missing: every window containing it is missing
    assert rolling_12(gap)["rolling_12"].isna().all()
    made = monthly(pd.DataFrame({"month": ["2020-01", "2020-02"]}))
    rolled = rolling_12(made)
    assert "rolling_12" in rolled.attrs["sna"] and "rolling_12" not in made.attrs["sna"]
    assert "monthly" in rolled.attrs["sna"]
    two = pd.concat([df.assign(g="a"), df.assign(g="b", n=1)])  # repeated index labels
    r2 = rolling_12(two, by="g")
    assert r2.loc[r2.g == "b", "rolling_12"].dropna().eq(12).all()
    with pytest.raises(AnalysisInputError, match="more than one row"):
        rolling_12(two)


# ------------------------------------------------------------------ STL


def _seasonal_series(n=48, start="2015-04", noise=0.0, seed=0):
    m = pd.period_range(start, periods=n, freq="M")
    rng = np.random.default_rng(seed)
    x = 100 + 0.5 * np.arange(n) + 15 * np.sin(2 * np.pi * m.month / 12) + rng.normal(0, noise, n)
    return pd.DataFrame({"month": m, "n": x})


def test_stl_decomposes_and_recovers_season():
    df = _seasonal_series()
    out = stl(df)
    assert_allclose(out.trend + out.seasonal + out.resid, out.n)
    truth = 15 * np.sin(2 * np.pi * df.month.dt.month / 12)
    assert np.corrcoef(out.seasonal, truth)[0, 1] > 0.99
    assert out.attrs["sna"]["stl"]["robust"] is False
    assert stl(df, robust=True).attrs["sna"]["stl"]["robust"] is True


def test_stl_auto_robust_in_pandemic_and_by_groups():
    df = _seasonal_series(start="2018-04")
    assert stl(df).attrs["sna"]["stl"]["robust"] is True
    two = pd.concat([df.assign(g="a"), df.assign(g="b")])
    out = stl(two, by="g")
    assert len(out) == 96 and set(out.columns) >= {"trend", "seasonal", "resid"}


def test_stl_rejects_short_and_gappy():
    with pytest.raises(AnalysisInputError, match="at least 24"):
        stl(_seasonal_series(n=20))
    with pytest.raises(AnalysisInputError, match="gaps"):
        stl(_seasonal_series().drop(index=10))


# ------------------------------------------------------------------ ITS


def _its_data(level=0.7, slope=1.0, n_pre=36, n_post=24, seed=3, pop=None, overdisp=None):
    m = pd.period_range("2017-04", periods=n_pre + n_post, freq="M")
    t = np.arange(len(m))
    post = (t >= n_pre).astype(float)
    mu = 200 * np.exp(0.002 * t) * (1 + 0.15 * np.cos(2 * np.pi * m.month / 12))
    mu = mu * level**post * slope ** (post * (t - n_pre))
    rng = np.random.default_rng(seed)
    if pop is not None:
        mu = mu * pop / pop[0]
    y = rng.poisson(mu) if overdisp is None else rng.negative_binomial(overdisp, overdisp / (overdisp + mu))
    df = pd.DataFrame({"month": m, "n": y})
    if pop is not None:
        df["pop"] = pop
    return df


def test_interruption_rule():
    assert str(interruption_month("2020-03-23")) == "2020-04"
    assert str(interruption_month("2020-04-01")) == "2020-04"
    assert str(interruption_month(pd.Period("2020-03", "M"))) == "2020-03"


def test_its_recovers_level_change_and_counterfactual():
    df = _its_data(level=0.7)
    out = its(df)
    meta = out.attrs["sna"]["its"]
    assert meta["first_affected_month"] == "2020-04"
    level = meta["level_change"]
    assert level["lower"] < 0.7 < level["upper"]
    assert level["p_value"] < 1e-6
    slope = meta["slope_change"]
    assert slope["lower"] < 1.0 < slope["upper"]
    pre = out["post"] == 0
    assert_allclose(out.loc[pre, "fitted"], out.loc[pre, "counterfactual"])
    window = ~pre & (out["time_after"] < 12)  # the projection: 12 months after
    assert (out.loc[window, "counterfactual"] > out.loc[window, "fitted"]).all()
    assert out.loc[~pre & ~window, "counterfactual"].isna().all()
    assert meta["projection_end"] == "2021-03" and meta["projection_months"] == 12
    assert (out["fitted_lower"] <= out["fitted"]).all() and (out["fitted"] <= out["fitted_upper"]).all()
    assert out["time_after"].max() == 23 and out.loc[out.month == pd.Period("2020-04", "M"), "time_after"].iloc[0] == 0
    assert 0 < meta["durbin_watson"] < 4 and 0 <= meta["ljung_box_p"] <= 1
    eff = its_effects(out)
    assert eff["term"].tolist() == ["level", "slope", "pre_trend"]
    assert_allclose(eff.loc[0, "rate_ratio"], level["rate_ratio"])


def test_its_no_effect_when_none():
    out = its(_its_data(level=1.0, seed=11))
    lv = out.attrs["sna"]["its"]["level_change"]
    assert lv["lower"] < 1 < lv["upper"]


def test_its_families_and_seasonal_options():
    df = _its_data(level=0.6, overdisp=5, seed=2)
    qp = its(df).attrs["sna"]["its"]
    nb = its(df, family="negbin").attrs["sna"]["its"]
    po = its(df, family="poisson").attrs["sna"]["its"]
    assert nb["alpha"] is not None and nb["alpha"] > 0
    assert qp["dispersion"] > 1.5  # over-dispersed data
    width = lambda e: np.log(e["upper"] / e["lower"])  # noqa: E731
    assert width(po["level_change"]) < width(qp["level_change"])
    for meta in (qp, nb):  # (the Poisson interval ignores over-dispersion: too narrow)
        assert meta["level_change"]["lower"] < 0.6 < meta["level_change"]["upper"]
    four = its(df, seasonal="fourier", harmonics=1).attrs["sna"]["its"]
    assert four["seasonal"] == "fourier" and four["harmonics"] == 1
    hac = its(df, hac_lags=3).attrs["sna"]["its"]
    assert hac["cov_type"] == "HAC"


def test_its_population_offset():
    pop = np.linspace(100_000, 130_000, 60)
    df = _its_data(level=0.8, pop=pop, seed=4)
    out = its(df, population="pop")
    meta = out.attrs["sna"]["its"]
    assert meta["offset"] == "pop"
    assert meta["level_change"]["lower"] < 0.8 < meta["level_change"]["upper"]
    # a constant population changes nothing but the intercept
    a = its(df.drop(columns="pop")).attrs["sna"]["its"]["level_change"]
    b = its(df.drop(columns="pop"), population=50_000).attrs["sna"]["its"]["level_change"]
    assert_allclose(a["rate_ratio"], b["rate_ratio"], rtol=1e-6)


@pytest.mark.parametrize(
    "frame, kwargs, match",
    [
        (_its_data(n_pre=36, n_post=2), {}, "at least 3 on each side"),
        (_its_data().assign(n=-1), {}, "non-negative"),
        (pd.concat([_its_data(), _its_data()]), {}, "more than one row"),
        (_its_data(), {"family": "gaussian"}, "family"),
        (_its_data(), {"seasonal": "weekly"}, "seasonal"),
        (_its_data(n_pre=8, n_post=6), {"interruption": "2017-12-01"}, "too few"),
        (_its_data(), {"population": "pop"}, "no column 'pop'"),
    ],
)
def test_its_rejects(frame, kwargs, match):
    with pytest.raises(AnalysisInputError, match=match):
        its(frame, **kwargs)


def test_its_effects_needs_its_output():
    with pytest.raises(AnalysisInputError, match="output of sna.trend.its"):
        its_effects(_its_data())


# ------------------------------------------------------------------ NB year effect


def _monthly_nb(mu_by_fy, size=8, seed=0, category="Robbery"):
    rng = np.random.default_rng(seed)
    rows = []
    for i, mu in enumerate(mu_by_fy):
        for m in pd.period_range(f"{2017 + i}-04", periods=12, freq="M"):
            season = 1 + 0.2 * np.cos(2 * np.pi * m.month / 12)
            rows.append({"month": m, "category": category,
                         "n": rng.negative_binomial(size, size / (size + mu * season))})
    return pd.DataFrame(rows)


def test_nb_year_effect_structure_and_overdispersion():
    df = _monthly_nb([30, 30, 30, 21])
    out = nb_year_effect(df, year="2020/21")
    assert list(out.columns) == ["category", "fy", "n", "rate_ratio", "rr_lower", "rr_upper",
                                 "p_value", "significant", "alpha", "method"]
    assert out["fy"].tolist() == FYS
    cur = out.iloc[-1]
    assert cur["rr_lower"] < cur["rate_ratio"] < cur["rr_upper"]
    assert cur["alpha"] > 0 and cur["method"].startswith("negative binomial")
    # the NB interval is wider than the exact Poisson one on over-dispersed counts
    exact = compare_periods(df, year="2020/21").iloc[0]
    assert np.log(cur["rr_upper"] / cur["rr_lower"]) > np.log(exact["rr_upper"] / exact["rr_lower"])
    # baseline effects average to 1 on the log scale
    assert_allclose(np.log(out["rate_ratio"].iloc[:3]).mean(), 0, atol=1e-8)
    assert out.attrs["sna"]["nb_year_effect"]["fits"]["Robbery"]["months"] == 48


def test_nb_year_effect_from_incidents_by_category_and_population():
    a = _monthly_nb([40, 40, 40, 20], seed=1, category="A")
    b = _monthly_nb([20, 20, 20, 20], seed=2, category="B")
    counts = pd.concat([a, b])
    counts = counts.reset_index(drop=True)
    ev = counts.loc[counts.index.repeat(counts["n"])].drop(columns="n")
    out = nb_year_effect(ev, year="2020/21")
    cur = out[out.fy == "2020/21"].set_index("category")
    assert cur.loc["A", "rate_ratio"] < 0.7 and cur.loc["A", "significant"]
    assert cur.loc["A", "n"] == a.loc[a.month >= pd.Period("2020-04", "M"), "n"].sum()
    pop = {"2017/18": 1e5, "2018/19": 1e5, "2019/20": 1e5, "2020/21": 2e5}
    with_pop = nb_year_effect(counts, year="2020/21", population=pop)
    cur_pop = with_pop[with_pop.fy == "2020/21"].set_index("category")
    assert_allclose(cur_pop["rate_ratio"], cur["rate_ratio"] / 2, rtol=1e-3)


def test_nb_year_effect_year_with_no_events_and_missing_months():
    df = _monthly_nb([5, 5, 5, 5])
    df.loc[df.month >= pd.Period("2020-04", "M"), "n"] = 0
    out = nb_year_effect(df, year="2020/21")
    cur = out.iloc[-1]
    assert cur["rate_ratio"] == 0 and np.isnan(cur["p_value"]) and not cur["significant"]
    with pytest.raises(AnalysisInputError, match="the model needs months"):
        nb_year_effect(df[df.month >= pd.Period("2018-04", "M")], year="2020/21")


# ------------------------------------------------------------------ the bundled demo


def test_demo_table_a():
    from sna.datasets import DATASETS_DIR

    assert (DATASETS_DIR / "demo" / "sna.yml").exists()
    import sna

    a = sna.load_assessment(DATASETS_DIR / "demo" / "sna.yml", "2020/21")
    pol = a.source("police")
    knife = pol["knife"].fillna(False).astype(bool)
    groups = {
        "Overall serious violence": pol["serious_violence"].fillna(False).astype(bool),
        "Violence against the person": pol["category"] == "Violence against the person",
        "Knife enabled robbery": (pol["category"] == "Robbery") & knife,
        "Sexual offences": pol["category"] == "Sexual offences",
        "Knife possession": (pol["category"] == "Possession of weapons") & knife,
    }
    parts = [pol.loc[mask, ["fy"]].assign(row=name) for name, mask in groups.items()]
    table = compare_periods(pd.concat(parts), year="2020/21", category="row").set_index("row")
    expected = {"Overall serious violence": -37, "Violence against the person": -28,
                "Knife enabled robbery": -38, "Sexual offences": -28, "Knife possession": -4}
    for name, pct in expected.items():
        assert abs(table.loc[name, "pct_change"] - pct) <= 3, (name, table.loc[name, "pct_change"])
        assert table.loc[name, "rr_lower"] <= table.loc[name, "rate_ratio"] <= table.loc[name, "rr_upper"]


def test_quasi_poisson_never_narrower_than_poisson():
    """Under-dispersed counts: the Pearson scale is floored at 1."""
    m = pd.period_range("2017-04", periods=48, freq="M")
    n = np.where(m >= pd.Period("2020-04", "M"), 80, 100) + np.tile([0, 1], 24)
    df = pd.DataFrame({"month": m, "n": n})
    qp = its(df, seasonal=None).attrs["sna"]["its"]
    po = its(df, seasonal=None, family="poisson").attrs["sna"]["its"]
    assert qp["dispersion"] == 1.0
    assert_allclose([qp["level_change"]["lower"], qp["level_change"]["upper"]],
                    [po["level_change"]["lower"], po["level_change"]["upper"]], rtol=1e-10)
    assert "not below 1" in qp["method"]


def test_table_a_measures_count_a_record_under_every_measure_it_meets():
    from sna.trend import table_a_measures

    recs = pd.DataFrame({"category": ["Robbery", "Robbery", "Possession of weapons",
                                      "Sexual offences"],
                         "knife": [True, pd.NA, True, False],
                         "fy": ["2020/21"] * 4})
    serious = recs.iloc[[0, 1, 3]]
    long = table_a_measures(serious, recs, ["Sexual offences", "Public order", "Robbery"],
                            knife=True)
    counts = long["measure"].value_counts(sort=False).to_dict()
    assert counts == {"All serious violence": 3, "Sexual offences": 1, "Robbery": 2,
                      "Knife crime (any offence involving a knife)": 2,
                      "Knife-enabled robbery": 1, "Knife possession": 1}
    assert len(long) == sum(counts.values())  # "Public order" has no records: no measure
    plain = table_a_measures(serious, recs, ["Robbery"])  # no knife flag in the source
    assert plain["measure"].unique().tolist() == ["All serious violence", "Robbery"]


# ------------------------------------------------------------------ gaps: months without data


def test_monthly_marks_months_the_source_does_not_cover_as_missing():
    ev = pd.DataFrame({"month": ["2018-10", "2018-10", "2018-11", "2019-01", "2019-02"],
                       "source": "police"})
    covered = ["2018-10", "2018-11", "2019-01", "2019-02"]  # the source lacks 2018-12
    out = monthly(ev, covered=covered)
    assert out["n"].tolist()[:2] == [2, 1] and out["n"].isna().tolist() == [False, False, True,
                                                                          False, False]
    assert str(out["n"].dtype) == "Int64"
    assert out.attrs["sna"]["monthly"]["missing_months"] == ["2018-12"]
    # without coverage the month is (wrongly, but as documented) a zero
    assert monthly(ev)["n"].tolist() == [2, 1, 0, 1, 1]
    assert monthly(ev)["n"].dtype == "int64"
    # months before the source starts are missing too, not zeros
    wide = monthly(ev, covered=covered, start="2018-08")
    assert wide["n"].isna().tolist()[:2] == [True, True]
    # per series
    two = pd.concat([ev, ev.assign(source="ambulance")])
    per = monthly(two, by="source", covered={"police": covered,
                                             "ambulance": covered + ["2018-12"]})
    assert per.groupby("source")["n"].apply(lambda s: int(s.isna().sum())).to_dict() == {
        "ambulance": 0, "police": 1}
    with pytest.raises(AnalysisInputError, match="no months for series 'police'"):
        monthly(two, by="source", covered={"ambulance": covered})
    with pytest.raises(AnalysisInputError, match="needs by="):
        monthly(ev, covered={"police": covered})


def test_rolling_12_total_with_a_month_without_data_is_missing():
    m = pd.period_range("2019-04", periods=15, freq="M")
    df = pd.DataFrame({"month": m, "n": pd.array(list(range(1, 16)), dtype="Int64")})
    df.loc[13, "n"] = pd.NA
    out = rolling_12(df)
    assert out["rolling_12"].iloc[11] == sum(range(1, 13))
    assert out["rolling_12"].iloc[12] == sum(range(2, 14))
    assert out["rolling_12"].iloc[13:].isna().all()


def test_compare_periods_like_for_like_when_a_month_has_no_data():
    m = pd.period_range("2017-04", "2021-03", freq="M")
    n = np.where(m.month == 12, 300, 100)  # a high December
    df = pd.DataFrame({"month": m, "n": n})
    covered = [p for p in m if str(p) != "2018-12"]
    plain = compare_periods(df, year="2020/21", category=None).iloc[0]
    assert plain["pct_change"] == 0
    out = compare_periods(df, year="2020/21", category=None, covered=covered)
    row, meta = out.iloc[0], out.attrs["sna"]["compare_periods"]
    # December left out of every year: 11 months of 100 each, no change
    assert (row["current"], row["baseline_mean"], row["pct_change"]) == (1100, 1100, 0)
    assert meta["missing_months"] == ["2018-12"]
    assert meta["excluded_calendar_months"] == ["December"] and meta["months_compared"] == 11
    assert "December is left out of every year compared" in meta["period_note"]
    # treating the gap as zero would have shown a fall of 1/3 of December / 3 years
    zero = df.assign(n=np.where(m == pd.Period("2018-12", "M"), 0, n))
    wrong = compare_periods(zero, year="2020/21", category=None).iloc[0]
    assert wrong["pct_change"] > 6
    # a pre-counted series with a missing count is the same gap
    na = df.assign(n=pd.array(np.where(m == pd.Period("2018-12", "M"), -1, n), dtype="Int64"))
    na.loc[na["n"] == -1, "n"] = pd.NA
    same = compare_periods(na, year="2020/21", category=None)
    assert same.iloc[0]["current"] == 1100 and same.iloc[0]["pct_change"] == 0
    # a year to date: the months to come are not covered, so every year counts Apr-Sep
    ytd = compare_periods(df, year="2020/21", category=None, covered=[str(p) for p in m[:-6]])
    assert ytd.attrs["sna"]["compare_periods"]["months_compared"] == 6
    assert ytd.iloc[0]["current"] == 600
    with pytest.raises(AnalysisInputError, match="not available"):
        compare_periods(df, year="2020/21", category=None, covered=["2016-01"])


def test_nb_year_effect_leaves_months_without_data_out():
    rng = np.random.default_rng(3)
    m = pd.period_range("2017-04", "2021-03", freq="M")
    df = pd.DataFrame({"month": m, "n": rng.poisson(60, len(m))})
    covered = [p for p in m if str(p) != "2018-12"]
    out = nb_year_effect(df, year="2020/21", category=None, covered=covered)
    assert out.attrs["sna"]["nb_year_effect"]["months_without_data"] == ["2018-12"]
    fits = out.attrs["sna"]["nb_year_effect"]["fits"]["all"]
    assert fits["months"] == 47


def test_stl_refuses_a_month_without_data():
    m = pd.period_range("2016-04", periods=36, freq="M")
    df = pd.DataFrame({"month": m, "n": pd.array(np.arange(36) + 50, dtype="Int64")})
    df.loc[20, "n"] = pd.NA
    with pytest.raises(AnalysisInputError, match="1 month.* without data .*2017-12.*not "
                       "available"):
        stl(df)


# ------------------------------------------------------------------ ITS: HAC and diagnostics


def test_its_hac_intervals_equal_statsmodels():
    """The default intervals are statsmodels' own Newey-West (HAC) errors, lags by the
    Newey-West rule; an independent fit with statsmodels gives the same numbers."""
    import statsmodels.api as sm

    df = _its_data(level=0.7, overdisp=8, seed=5)
    out = its(df, seasonal=None, family="poisson")
    meta = out.attrs["sna"]["its"]
    assert meta["cov_type"] == "HAC" and meta["hac_lags"] == 3  # 60 months
    t = np.arange(60.0)
    post = (t >= 36).astype(float)
    X = np.column_stack([np.ones(60), t, post, np.where(post == 1, t - 36, 0.0)])
    ref = sm.GLM(df["n"].to_numpy(float), X, family=sm.families.Poisson()).fit(
        cov_type="HAC", cov_kwds={"maxlags": 3})
    lo, hi = np.exp(ref.conf_int()[2])
    assert_allclose([meta["level_change"]["lower"], meta["level_change"]["upper"]], [lo, hi],
                    rtol=1e-9)
    assert_allclose(meta["level_change"]["p_value"], ref.pvalues[2], rtol=1e-6, atol=1e-300)
    plain = its(df, seasonal=None, family="poisson", hac_lags=None).attrs["sna"]["its"]
    assert plain["cov_type"] == "nonrobust"
    naive = sm.GLM(df["n"].to_numpy(float), X, family=sm.families.Poisson()).fit()
    assert_allclose(plain["level_change"]["lower"], np.exp(naive.conf_int()[2, 0]), rtol=1e-9)


def test_its_autocorrelated_residuals_widen_hac_intervals_and_are_reported():
    rng = np.random.default_rng(7)
    m = pd.period_range("2016-04", periods=72, freq="M")
    t = np.arange(72)
    ar = np.zeros(72)
    for i in range(1, 72):  # AR(1) noise on the log scale: autocorrelated months
        ar[i] = 0.8 * ar[i - 1] + rng.normal(0, 0.08)
    mu = 800 * np.exp(ar) * np.where(t >= 48, 0.6, 1.0)
    df = pd.DataFrame({"month": m, "n": rng.poisson(mu)})
    hac = its(df, seasonal=None).attrs["sna"]["its"]
    plain = its(df, seasonal=None, hac_lags=None).attrs["sna"]["its"]
    assert hac["durbin_watson"] < 1.5 and hac["ljung_box_p"] < 0.05 and hac["autocorrelated"]
    width = lambda e: np.log(e["upper"] / e["lower"])  # noqa: E731
    assert width(hac["level_change"]) > width(plain["level_change"])
    diag = its_diagnostics(its(df, seasonal=None)).set_index("check")
    assert "autocorrelated" in diag.loc["Durbin-Watson", "reading"]
    assert diag.loc["standard errors", "value"] == "Newey-West (HAC), 3 lags"


def test_its_leaves_months_without_data_out_of_the_fit():
    df = _its_data(level=0.7, seed=9)
    gap = df.assign(n=df["n"].astype("Int64"))
    gap.loc[10, "n"] = pd.NA
    out = its(gap)
    meta = out.attrs["sna"]["its"]
    assert meta["months_without_data"] == [str(df["month"].iloc[10])]
    assert meta["months_before"] == 35 and out["time"].iloc[11] == 11
    dropped = its(df.drop(index=10)).attrs["sna"]["its"]
    assert_allclose(meta["level_change"]["rate_ratio"], dropped["level_change"]["rate_ratio"])
    assert np.isfinite(out["fitted"].iloc[10])  # the model still has a value for the month
    with pytest.raises(AnalysisInputError, match="its_diagnostics needs"):
        its_diagnostics(df)


def test_table_a_definitions_homicide_and_recorded_date():
    recs = pd.DataFrame({
        "category": ["Violence against the person", "Homicide", "Sexual offences"],
        "fy": ["2019/20", "2019/20", "2019/20"],
        "month": pd.to_datetime(["2020-03-01"] * 3),
        "recorded_date": pd.to_datetime(["2020-03-30", "2020-04-02", pd.NaT]),
        "knife": [False] * 3,
    })
    cats = ["Violence against the person", "Homicide", "Sexual offences"]
    long = table_a_measures(recs.iloc[:0], recs, cats)
    vap = long[long["measure"] == "Violence against the person"]
    assert sorted(vap["category"]) == ["Homicide", "Violence against the person"]  # as ONS
    meta = long.attrs["sna"]["table_a_measures"]
    assert meta["date"] == "offence" and meta["homicide_in_violence_against_the_person"]
    assert meta["definition_note"] == (
        "Offences are counted in the financial year of their offence date (when the violence "
        "happened; ONS statistics use the recorded date); violence against the person includes "
        "homicide, as the ONS offence group does, so the row compares with national figures.")
    assert "excludes homicide" in table_a_measures(
        recs.iloc[:0], recs, cats, homicide_in_violence_against_the_person=False
    ).attrs["sna"]["table_a_measures"]["definition_note"]
    assert "ONS offence group" in meta["reasons"]["homicide"]
    alone = table_a_measures(recs.iloc[:0], recs, cats,
                             homicide_in_violence_against_the_person=False)
    assert (alone["measure"] == "Violence against the person").sum() == 1
    rec = table_a_measures(recs.iloc[:0], recs, cats, date="recorded")
    hom = rec[rec["measure"] == "Homicide"].iloc[0]
    assert hom["fy"] == "2020/21" and hom["month"] == pd.Timestamp("2020-04-01")
    sex = rec[rec["measure"] == "Sexual offences"].iloc[0]
    assert sex["fy"] == "2019/20"  # no recorded date: the offence date, counted
    assert rec.attrs["sna"]["table_a_measures"]["records_without_recorded_date"] == 1
    with pytest.raises(AnalysisInputError, match="recorded_date"):
        table_a_measures(recs.iloc[:0], recs.drop(columns="recorded_date"), cats,
                         date="recorded")
    with pytest.raises(AnalysisInputError, match="'offence' or 'recorded'"):
        table_a_measures(recs.iloc[:0], recs, cats, date="reported")


def test_demo_table_a_by_offence_and_recorded_date():
    """Issue #15's figures: on the demo, sexual offences change by -28.0% counted by offence
    date and by -24.2% counted by recorded date."""
    from sna.datasets import DATASETS_DIR

    if not (DATASETS_DIR / "demo" / "sna.yml").exists():
        pytest.skip("the demo assessment is not built yet")
    import sna

    a = sna.load_assessment(DATASETS_DIR / "demo" / "sna.yml", "2020/21")
    pol = a.source("police")
    sv = pol[pol["serious_violence"].fillna(False).astype(bool)]
    cats = ["Homicide", "Violence against the person", "Sexual offences"]
    out = {}
    for date in ("offence", "recorded"):
        long = table_a_measures(sv, pol, cats, date=date)
        out[date] = compare_periods(long, year="2020/21", category="measure").set_index("measure")
    assert round(out["offence"].loc["Sexual offences", "pct_change"], 1) == -28.0
    assert round(out["recorded"].loc["Sexual offences", "pct_change"], 1) == -24.2
    plain = compare_periods(table_a_measures(
        sv, pol, cats, homicide_in_violence_against_the_person=False),
        year="2020/21", category="measure").set_index("measure")
    t = out["offence"]
    assert t.loc["Violence against the person", "current"] == (
        plain.loc["Violence against the person", "current"] + t.loc["Homicide", "current"])


def test_demo_its_reports_newey_west_intervals_as_an_independent_statsmodels_fit():
    """The demo's COVID-19 series (issue #15): residuals autocorrelated (Durbin-Watson 0.92,
    Ljung-Box p about 7e-10), so the level change's interval widens from 0.474-0.552
    (model-based) to 0.445-0.588 with Newey-West errors (3 lags); a segmented quasi-Poisson
    GLM with month dummies fitted here with statsmodels gives the same interval."""
    import statsmodels.api as sm

    import sna
    from sna.datasets import DATASETS_DIR

    a = sna.load_assessment(DATASETS_DIR / "demo" / "sna.yml", "2020/21")
    pol = a.source("police")
    sv = pol[pol["serious_violence"].fillna(False).astype(bool)]
    m = monthly(sv, covered=a.quality.sources["police"].months)
    meta = its(m, interruption="2020-03-23").attrs["sna"]["its"]
    assert meta["cov_type"] == "HAC" and meta["hac_lags"] == 3
    assert round(meta["durbin_watson"], 2) == 0.92 and 1e-10 < meta["ljung_box_p"] < 1e-9
    lvl = meta["level_change"]
    assert [round(lvl["lower"], 3), round(lvl["upper"], 3)] == [0.445, 0.588]
    plain = its(m, interruption="2020-03-23", hac_lags=None).attrs["sna"]["its"]["level_change"]
    assert [round(plain["lower"], 3), round(plain["upper"], 3)] == [0.474, 0.552]
    # independent: the segmented regression written out, statsmodels' HAC covariance
    y = m["n"].to_numpy(float)
    t = np.arange(len(y), dtype=float)
    post = (m["month"] >= pd.Timestamp("2020-04-01")).to_numpy(float)
    moy = m["month"].dt.month.to_numpy()
    X = np.column_stack([np.ones(len(y)), t, post, post * (t - t[post == 1][0])]
                        + [(moy == j).astype(float) for j in range(2, 13)])
    ref = sm.GLM(y, X, family=sm.families.Poisson()).fit(
        scale="X2", cov_type="HAC", cov_kwds={"maxlags": 3})
    assert_allclose([lvl["rate_ratio"], lvl["lower"], lvl["upper"]],
                    np.exp([ref.params[2], *ref.conf_int()[2]]), rtol=1e-9)
