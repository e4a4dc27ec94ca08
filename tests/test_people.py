"""sna.people: known answers on small constructed tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from sna._tabulate import poisson_limits, wilson_limits
from sna.errors import AnalysisInputError
from sna.people import (
    DEFAULT_BANDS,
    NOT_KNOWN,
    age_bands,
    bame,
    band_labels,
    clean_category,
    disproportionality,
    person_table,
    profile,
    rate_ratios,
    repeat_distribution,
    repeats,
    representation,
    under_25,
)


# ---- intervals: worked known answers ---------------------------------------------------
def test_wilson_known_answer():
    lo, hi = wilson_limits([45], [120])
    assert_allclose([lo[0], hi[0]], [0.29352, 0.46423], atol=5e-6)


def test_wilson_zero_denominator_is_nan():
    lo, hi = wilson_limits([0], [0])
    assert np.isnan(lo[0]) and np.isnan(hi[0])


def test_poisson_limits_known_answers():
    lo, hi = poisson_limits([7, 10, 300])
    assert_allclose(lo[:2], [2.8144, 4.7874], atol=5e-5)
    assert_allclose(hi[:2], [14.4227, 18.3915], atol=5e-5)
    # 300 in 250,000 per 100,000 -> 120.0 (106.80, 134.38)
    assert_allclose([lo[2] / 250_000 * 1e5, hi[2] / 250_000 * 1e5], [106.80, 134.38], atol=5e-3)


def test_poisson_limits_zero():
    lo, hi = poisson_limits([0])
    assert lo[0] == 0.0
    assert_allclose(hi[0], 3.6889, atol=5e-5)  # chi2(0.975; 2)/2


# ---- age bands --------------------------------------------------------------------------
def test_default_bands_edges():
    ages = [0, 4, 5, 9, 10, 14, 15, 17, 18, 24, 25, 34, 64, 65, 90, 120]
    assert age_bands(ages).tolist() == [
        "0-4", "0-4", "5-9", "5-9", "10-14", "10-14", "15-17", "15-17", "18-24", "18-24",
        "25-34", "25-34", "55-64", "65+", "65+", "65+",
    ]


def test_age_bands_missing_and_implausible_are_not_known():
    s = pd.Series([None, -1, 121, "x", 16.7], dtype=object, index=[5, 6, 7, 8, 9])
    out = age_bands(s)
    assert out.tolist() == [NOT_KNOWN] * 4 + ["15-17"]
    assert list(out.index) == [5, 6, 7, 8, 9]


def test_age_bands_nullable_int():
    out = age_bands(pd.Series([16, pd.NA], dtype="Int64"))
    assert out.tolist() == ["15-17", NOT_KNOWN]


def test_age_bands_categories_ordered_and_complete():
    out = age_bands([20])
    assert out.cat.ordered
    assert list(out.cat.categories) == band_labels(DEFAULT_BANDS)
    assert list(out.cat.categories)[-1] == NOT_KNOWN


def test_age_bands_lower_bounds_and_gaps():
    assert band_labels([0, 18, 25], not_known=False) == ["0-17", "18-24", "25+"]
    out = age_bands([4, 5, 25, 26, None], bands=[(5, 25)])
    assert out.tolist() == ["Other ages", "5-25", "5-25", "Other ages", NOT_KNOWN]


@pytest.mark.parametrize(
    "bad", [[], [(5, 3)], [(0, 10), (5, 20)], [(0, None), (5, 9)], [5, 3], [(1,)]]
)
def test_age_bands_rejects_bad_bands(bad):
    with pytest.raises(AnalysisInputError):
        age_bands([1], bands=bad)


def test_clean_category_and_bame():
    out = clean_category(["Male", "", " Not Stated ", "prefer not to say", None, "Female"])
    assert out.tolist() == ["Male", NOT_KNOWN, NOT_KNOWN, NOT_KNOWN, NOT_KNOWN, "Female"]
    assert list(out.cat.categories)[-1] == NOT_KNOWN
    assert bame(["White", "Asian", "Other", "unknown"]).tolist() == [
        "White", "BAME", "BAME", NOT_KNOWN]


# ---- person table / rows by role -------------------------------------------------------
@pytest.fixture
def mixed():
    return pd.DataFrame(
        {
            "source_format": ["police_extract"] * 5 + ["police_uk", "ecds"],
            "age": pd.array([3, 16, 16, None, 40, None, 20], dtype="Int64"),
            "sex": ["Male", "Female", None, "Male", "Unknown", None, "Male"],
            "ethnicity": ["White", "Black", None, "Asian", "White", None, "White"],
            "person_id": ["a", "a", "b", None, "c", None, "z"],
            "offender_age": pd.array([19, None, 30, 15, None, None, None], dtype="Int64"),
            "offender_sex": ["Male", None, "Male", "Female", None, None, None],
            "offender_id": ["o1", None, "o1", "o2", None, None, None],
            "partnership": ["City", "County", "City", None, "City", "City", "City"],
        },
        index=[10, 11, 12, 13, 14, 15, 16],
    )


def test_roles_select_rows(mixed):
    v = person_table(mixed, role="victim")
    assert list(v.index) == [10, 11, 12, 13, 14]
    assert v.attrs["sna"]["rows"]["rows_left_out"] == {"police_uk": 1, "ecds": 1}
    p = person_table(mixed, role="patient")
    assert list(p.index) == [16]
    o = person_table(mixed, role="offender")
    assert o["age_band"].tolist() == ["18-24", NOT_KNOWN, "25-34", "15-17", NOT_KNOWN]
    assert (o["ethnicity"] == NOT_KNOWN).all()  # no offender_ethnicity column
    assert o.attrs["sna"]["missing_columns"] == ["offender_ethnicity"]


def test_police_uk_only_is_a_clear_error():
    inc = pd.DataFrame({"source_format": ["police_uk"] * 2, "age": [None, None]})
    with pytest.raises(AnalysisInputError, match="data.police.uk"):
        profile(inc)


def test_bad_role():
    with pytest.raises(AnalysisInputError, match="role"):
        profile(pd.DataFrame({"age": [1]}), role="witness")


# ---- profile -----------------------------------------------------------------------------
def test_profile_counts_add_up_and_not_known_kept(mixed):
    before = mixed.copy(deep=True)
    p = profile(mixed, by=["age_band", "sex", "ethnicity", ("age_band", "sex"), "partnership"])
    pd.testing.assert_frame_equal(mixed, before)  # input never mutated
    for dim, g in p.groupby("dimension"):
        assert g["n"].sum() == 5, dim
        assert_allclose(g["share"].sum(), 1.0)
    sex = p[p.dimension == "sex"].set_index("group")["n"]
    assert sex.to_dict() == {"Female": 1, "Male": 2, NOT_KNOWN: 2}
    eth = p[p.dimension == "ethnicity"].set_index("group")["n"]
    assert eth[NOT_KNOWN] == 1
    band = p[p.dimension == "age_band"].set_index("group")["n"]
    assert list(band.index) == band_labels()  # every band, zero counts kept
    assert band["5-9"] == 0 and band[NOT_KNOWN] == 1 and band["15-17"] == 2
    part = p[p.dimension == "partnership"].set_index("group")["n"]
    assert part.to_dict() == {"City": 3, "County": 1, NOT_KNOWN: 1}


def test_profile_shares_wilson(mixed):
    p = profile(mixed, by="sex")
    male = p[p.group == "Male"].iloc[0]
    lo, hi = wilson_limits([2], [5])
    assert male["share"] == pytest.approx(0.4)
    assert male["share_lowercl"] == pytest.approx(lo[0])
    assert male["share_uppercl"] == pytest.approx(hi[0])


def test_profile_rates_known_answer():
    # 12 victims aged 16, 3 aged 20; population 1,000 aged 15-17 and 2,000 aged 18-24
    inc = pd.DataFrame({"age": [16] * 12 + [20] * 3 + [None]})
    pop = pd.DataFrame({"lsoa": ["L1", "L1", "L2", "L2"], "age": [15, 17, 20, 24],
                        "population": [400, 600, 1500, 500]})
    p = profile(inc, by="age_band", population=pop).set_index("group")
    r = p.loc["15-17"]
    assert r["population"] == 1000
    assert r["rate"] == pytest.approx(12.0)
    lo, hi = poisson_limits([12])
    assert r["rate_lowercl"] == pytest.approx(lo[0])  # Byar, O >= 10
    assert r["rate_uppercl"] == pytest.approx(hi[0])
    r = p.loc["18-24"]
    assert r["rate"] == pytest.approx(1.5)
    # exact: chi2(0.025; 6) = 1.23734, / 2 / 2000 * 1000
    assert r["rate_lowercl"] == pytest.approx(0.30934, abs=1e-5)
    assert r["rate_uppercl"] == pytest.approx(4.38364, abs=1e-5)
    assert np.isnan(p.loc[NOT_KNOWN, "rate"]) and np.isnan(p.loc[NOT_KNOWN, "population"])
    # a band absent from the population table has no denominator (not a zero one)
    assert np.isnan(p.loc["0-4", "population"]) and np.isnan(p.loc["0-4", "rate"])


def test_profile_banded_population_and_per():
    inc = pd.DataFrame({"age": [16, 16, 30]})
    pop = pd.DataFrame({"age_band": ["0-17", "18-24", "25+"], "population": [200, 100, 1000]})
    p = profile(inc, by="age_band", population=pop, bands=[0, 18, 25], per=100).set_index("group")
    assert p.loc["0-17", "rate"] == pytest.approx(1.0)
    assert p.loc["25+", "rate"] == pytest.approx(0.1)
    bad = pd.DataFrame({"age_band": ["0-15"], "population": [1]})
    with pytest.raises(AnalysisInputError, match="do not match"):
        profile(inc, by="age_band", population=bad, bands=[0, 18, 25])


def test_profile_population_lacking_a_dimension_says_so():
    inc = pd.DataFrame({"age": [16], "sex": ["Male"]})
    pop = pd.DataFrame({"age": [16], "population": [100]})
    p = profile(inc, by=["sex", "age_band"], population=pop)
    assert p.loc[p.dimension == "sex", "rate"].isna().all()
    assert "rates not computed" in p.attrs["sna"]["rates"]["sex"]
    assert p.loc[(p.dimension == "age_band") & (p.group == "15-17"), "rate"].iloc[0] == 10.0


def test_profile_population_list_and_sex_cross():
    inc = pd.DataFrame({"age": [16, 16, 17], "sex": ["Male", "Male", "Female"],
                        "ethnicity": ["Black", "White", "White"]})
    pop_age_sex = pd.DataFrame({"age": [16, 16], "sex": ["Male", "Female"],
                                "population": [100, 50]})
    pop_eth = pd.DataFrame({"ethnicity": ["Black", "White", "Asian"],
                            "population": [10, 80, 10]})
    p = profile(inc, by=[("age_band", "sex"), "ethnicity"], population=[pop_age_sex, pop_eth])
    cross = p[p.dimension == "age_band+sex"].set_index("group")
    assert cross.loc["15-17 / Male", "rate"] == pytest.approx(20.0)
    assert cross.loc["15-17 / Female", "rate"] == pytest.approx(20.0)
    eth = p[p.dimension == "ethnicity"].set_index("group")
    assert eth.loc["Asian", "n"] == 0  # a population group with no records is shown
    assert eth.loc["Black", "rate"] == pytest.approx(100.0)


def test_profile_unknown_column():
    with pytest.raises(AnalysisInputError, match="'ward'"):
        profile(pd.DataFrame({"age": [1]}), by="ward")


def test_profile_bad_population():
    inc = pd.DataFrame({"age": [1]})
    with pytest.raises(AnalysisInputError, match="population"):
        profile(inc, population=pd.DataFrame({"age": [1], "people": [3]}))
    with pytest.raises(AnalysisInputError, match="non-negative"):
        profile(inc, population=pd.DataFrame({"age": [1], "population": [-3]}))


def test_profile_empty_table():
    p = profile(pd.DataFrame({"age": pd.Series([], dtype="Int64")}), by="age_band")
    assert p["n"].sum() == 0
    assert p["share"].isna().all()


def test_profile_under_25_always_in_attrs(mixed):
    u = profile(mixed, by="sex").attrs["sna"]["under_25"]
    assert (u["n"], u["n_known_age"], u["n_total"]) == (3, 4, 5)
    assert u["share"] == pytest.approx(0.6)


# ---- under 25 -----------------------------------------------------------------------------
def test_under_25_known_answer():
    inc = pd.DataFrame({"age": [16, 19, 24, 25, 30, None]})
    pop = pd.DataFrame({"age": [10, 24, 25, 40], "population": [300, 200, 400, 100]})
    u = under_25(inc, population=pop).iloc[0]
    assert (u["n"], u["n_known_age"], u["n_total"]) == (3, 5, 6)
    assert u["share"] == pytest.approx(0.5)
    assert u["share_known"] == pytest.approx(0.6)
    assert u["population"] == 500
    assert u["rate"] == pytest.approx(6.0)
    lo, hi = poisson_limits([3])
    assert u["rate_lowercl"] == pytest.approx(lo[0] / 500 * 1000)


def test_under_25_banded_population_needs_aligned_bands():
    inc = pd.DataFrame({"age": [16]})
    aligned = pd.DataFrame({"age_band": ["0-17", "18-24", "25+"], "population": [10, 10, 80]})
    assert under_25(inc, population=aligned)["population"].iloc[0] == 20
    crossing = pd.DataFrame({"age_band": ["0-19", "20-29"], "population": [10, 10]})
    assert np.isnan(under_25(inc, population=crossing)["rate"].iloc[0])


# ---- rate ratios, representation, disproportionality -------------------------------------
def test_rate_ratio_exact_domain_known_answer():
    # worked example: 300 in one year against 1,050 over three -> RR 0.8571 (0.7514, 0.9754)
    t = pd.DataFrame({"group": ["year", "baseline"], "n": [300, 1050], "population": [1, 3]})
    r = rate_ratios(t, reference="baseline").set_index("group").loc["year"]
    assert r["rate_ratio"] == pytest.approx(0.857143, abs=1e-6)
    assert r["rate_ratio_lowercl"] == pytest.approx(0.7514, abs=5e-5)
    assert r["rate_ratio_uppercl"] == pytest.approx(0.9754, abs=5e-5)
    assert r["pvalue"] == pytest.approx(0.01839, abs=5e-5)


def test_rate_ratio_log_and_default_reference():
    t = pd.DataFrame({"group": ["A", "B", NOT_KNOWN], "n": [30, 10, 5],
                      "population": [1000, 2000, np.nan]})
    r = rate_ratios(t, method="log")
    assert r.attrs["sna"]["reference"] == "B"  # largest population
    a = r.iloc[0]
    assert a["rate_ratio"] == pytest.approx(6.0)
    se = np.sqrt(1 / 30 + 1 / 10)
    assert a["rate_ratio_lowercl"] == pytest.approx(6.0 * np.exp(-1.959964 * se), rel=1e-6)
    assert r.iloc[1]["reference"] and r.iloc[1]["rate_ratio"] == 1.0
    assert np.isnan(r.iloc[2]["rate_ratio"])


def test_rate_ratio_zero_counts():
    t = pd.DataFrame({"group": ["A", "B"], "n": [0, 10], "population": [1000, 1000]})
    exact = rate_ratios(t, reference="B").iloc[0]
    assert exact["rate_ratio"] == 0 and exact["rate_ratio_lowercl"] == 0
    assert np.isfinite(exact["rate_ratio_uppercl"])
    log = rate_ratios(t, reference="B", method="log").iloc[0]
    assert np.isnan(log["rate_ratio_lowercl"])


def test_rate_ratio_errors():
    t = pd.DataFrame({"group": ["A"], "n": [1], "population": [10]})
    with pytest.raises(AnalysisInputError, match="reference group 'Z'"):
        rate_ratios(t, reference="Z")
    with pytest.raises(AnalysisInputError, match="method"):
        rate_ratios(t, method="wald")
    with pytest.raises(AnalysisInputError, match="no group has a population"):
        rate_ratios(t.assign(population=0))


def test_representation_fixed_reference_known_answer():
    c = pd.Series({"City": 30, "County": 20, NOT_KNOWN: 5})
    r = pd.Series({"City": 300_000, "County": 700_000})
    out = representation(c, r)
    assert out.loc["City", "representation"] == pytest.approx(2.0)
    assert out.loc["County", "representation"] == pytest.approx(0.4 / 0.7)
    lo, hi = wilson_limits([30], [50])  # shares among the 50 known
    assert out.loc["City", "representation_lowercl"] == pytest.approx(lo[0] / 0.3)
    assert out.loc["City", "representation_uppercl"] == pytest.approx(hi[0] / 0.3)
    assert out.loc[NOT_KNOWN, "n"] == 5 and np.isnan(out.loc[NOT_KNOWN, "representation"])


def test_representation_sampled_reference_katz():
    c = pd.Series({"City": 60, "County": 40})
    r = pd.Series({"City": 50, "County": 150})
    out = representation(c, r, reference_fixed=False)
    # County: a=40, A=100, b=150, B=200 -> RI 0.4/0.75; se = sqrt(1/40-1/100+1/150-1/200)
    se = np.sqrt(1 / 40 - 1 / 100 + 1 / 150 - 1 / 200)
    ri = 0.4 / 0.75
    assert out.loc["County", "representation"] == pytest.approx(ri)
    assert out.loc["County", "representation_lowercl"] == pytest.approx(ri * np.exp(-1.959964 * se))
    assert out.loc["County", "representation_uppercl"] == pytest.approx(ri * np.exp(1.959964 * se))


def test_representation_zero_cell_is_finite():
    out = representation(pd.Series({"A": 0, "B": 10}), pd.Series({"A": 5, "B": 5}),
                         reference_fixed=False)
    assert out.loc["A", "representation"] == 0
    assert np.isfinite(out.loc["A", "representation_uppercl"])


def test_disproportionality_known_answer():
    inc = pd.DataFrame({"ethnicity": ["Black"] * 6 + ["White"] * 12 + [None] * 2})
    before = inc.copy()
    pop = pd.DataFrame({"ethnicity": ["Black", "White"], "population": [1000, 9000]})
    d = disproportionality(inc, pop, by="ethnicity", method="log").set_index("group")
    pd.testing.assert_frame_equal(inc, before)
    assert d.loc["Black", "rate_ratio"] == pytest.approx(4.5)
    assert d.loc["White", "reference"]
    assert d.loc["Black", "representation"] == pytest.approx((6 / 18) / 0.1)
    assert d.loc["White", "representation"] == pytest.approx((12 / 18) / 0.9)
    assert d.attrs["sna"]["not_known"] == {"n": 2, "share": 0.1}
    assert d["n"].sum() == 20


def test_disproportionality_bame_from_ethnicity_population():
    inc = pd.DataFrame({"ethnicity": ["Black", "Asian", "White", "White"]})
    pop = pd.DataFrame({"ethnicity": ["Black", "Asian", "White"], "population": [50, 50, 900]})
    d = disproportionality(inc, pop, by="bame", reference="White").set_index("group")
    assert d.loc["BAME", "population"] == 100
    assert d.loc["BAME", "rate_ratio"] == pytest.approx((2 / 100) / (2 / 900))


def test_disproportionality_without_population_for_dimension():
    inc = pd.DataFrame({"ethnicity": ["Black"]})
    with pytest.raises(AnalysisInputError, match="needs residents by ethnicity"):
        disproportionality(inc, pd.DataFrame({"age": [1], "population": [1]}), by="ethnicity")


# ---- repeats -----------------------------------------------------------------------------
def test_repeats_known_answer():
    inc = pd.DataFrame({"person_id": ["a", "a", "a", "b", "c", "c", None, None],
                        "fy": ["2020/21"] * 4 + ["2019/20"] * 4})
    r = repeats(inc).iloc[0]
    assert (r["incidents"], r["linked"], r["unlinked"], r["people"]) == (8, 6, 2, 3)
    assert (r["repeat_people"], r["repeat_incidents"], r["max_per_person"]) == (2, 5, 3)
    assert r["repeat_people_share"] == pytest.approx(2 / 3)
    assert r["repeat_incident_share"] == pytest.approx(5 / 6)
    assert r["mean_per_person"] == pytest.approx(2.0)
    by = repeats(inc, by="fy").set_index("fy")
    assert by.loc["2020/21", "repeat_people"] == 1 and by.loc["2019/20", "repeat_people"] == 1
    assert by["incidents"].sum() == 8
    assert repeats(inc, min_incidents=3).iloc[0]["repeat_people"] == 1


def test_repeats_offender_role_and_errors():
    inc = pd.DataFrame({"offender_id": ["x", "x", "y"]})
    assert repeats(inc, role="offender").iloc[0]["repeat_people"] == 1
    with pytest.raises(AnalysisInputError, match="person_id"):
        repeats(inc)
    with pytest.raises(AnalysisInputError, match="min_incidents"):
        repeats(inc, role="offender", min_incidents=1)


def test_repeats_no_ids_gives_nan_shares():
    r = repeats(pd.DataFrame({"person_id": [None, None]})).iloc[0]
    assert r["linked"] == 0 and np.isnan(r["repeat_people_share"])


def test_repeat_distribution():
    inc = pd.DataFrame({"person_id": ["a"] * 4 + ["b", "c", "c", None]})
    d = repeat_distribution(inc, top=3)
    assert d["records_per_person"].tolist() == ["1", "2", "3+"]
    assert d["people"].tolist() == [1, 1, 1]
    assert d["incidents"].tolist() == [1, 2, 4]


def test_canonical_incidents_dtypes(mixed):
    from sna.schemas import conform_incidents, empty_incidents

    canon = conform_incidents(mixed.drop(columns=["offender_age", "offender_sex"]))
    p = profile(canon, by=["age_band", "sex", "ethnicity"])
    assert (p.groupby("dimension")["n"].sum() == 5).all()
    assert repeats(canon).iloc[0]["repeat_people"] == 1
    e = profile(empty_incidents(), by="sex")
    assert e["n"].sum() == 0 and e["group"].tolist() == [NOT_KNOWN]


def test_clean_category_of_mixed_values_and_index():
    # strings are tidied once per distinct label; numbers and text that compare equal
    # (1, 1.0) keep their own labels; the index and name are kept
    s = pd.Series([" White ", "NK", None, "Black", "White", float("nan"), "unknown"],
                  index=[9, 8, 7, 6, 5, 4, 3], name="ethnicity")
    out = clean_category(s, order=["White"])
    assert out.tolist() == ["White", "Not known", "Not known", "Black", "White", "Not known",
                            "Not known"]
    assert list(out.index) == [9, 8, 7, 6, 5, 4, 3] and out.name == "ethnicity"
    assert list(out.cat.categories) == ["White", "Black", "Not known"]
    mixed = clean_category(pd.Series([1, 1.0, "1", None]))
    assert mixed.tolist() == ["1", "1.0", "1", "Not known"]
    assert clean_category(pd.Series(["b", pd.NA, "a"], dtype="string")).tolist() == [
        "b", "Not known", "a"]
    assert clean_category([]).tolist() == []
