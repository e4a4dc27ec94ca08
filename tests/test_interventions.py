"""sna.interventions: known answers on small constructed tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from sna._tabulate import poisson_limits, wilson_limits
from sna.errors import AnalysisInputError
from sna.interventions import (
    at_risk_cohort,
    clean_level,
    costs,
    outcomes,
    participant_table,
    reach,
    summary,
)
from sna.people import NOT_KNOWN


@pytest.fixture
def parts():
    return pd.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(12)],
            "intervention": ["A"] * 6 + ["B"] * 4 + [None, "C"],
            "level": ["Universal"] * 6 + ["tertiary"] * 4 + [None, "secondary"],
            "partnership": ["City"] * 8 + ["County"] * 3 + [None],
            "district": ["E06000018"] * 8 + ["E07000170"] * 3 + [None],
            "age": pd.array([12, 15, 16, 17, 19, 30, None, 5, 25, 4, 22, 18], dtype="Int64"),
            "sex": ["Male"] * 6 + ["Female"] * 5 + [None],
            "ethnicity": ["White", "Black", "Asian", "White", None, "Mixed", "White", "White",
                          "White", "Black", "White", "White"],
            "fy": ["2020/21"] * 11 + ["2019/20"],
        },
        index=range(100, 112),
    )


@pytest.fixture
def cohort():
    # 20 City + 40 County members aged 5-25, and 5 aged 40 (outside the cohort ages)
    return pd.DataFrame({
        "age": [16] * 30 + [20] * 30 + [40] * 5,
        "partnership": ["City"] * 20 + ["County"] * 40 + ["City"] * 5,
        "sex": ["Male"] * 40 + ["Female"] * 25,
        "ethnicity": ["White"] * 40 + ["Black"] * 25,
    })


def test_clean_level():
    out = clean_level(["UNIVERSAL", "Secondary prevention", "tertiary", None, "primary", "x"])
    assert out.tolist() == ["universal", "secondary", "tertiary", NOT_KNOWN, "universal", "x"]
    assert list(out.cat.categories) == ["universal", "secondary", "tertiary", "x", NOT_KNOWN]


def test_participant_table_ages_inclusive(parts):
    t = participant_table(parts)
    assert list(t.index) == list(parts.index)
    # ages 5 and 25 are in the 5-25 cohort, 4 and 30 and unknown are not
    assert t["in_ages"].tolist() == [True, True, True, True, True, False, False, True, True,
                                     False, True, True]


def test_summary_known_answer(parts):
    s = summary(parts).iloc[0]
    assert s["participants"] == 12
    assert (s["participants_in_ages"], s["participants_outside_ages"],
            s["participants_age_not_known"]) == (9, 2, 1)
    assert s["interventions"] == 3  # A, B, C (missing name not counted)
    assert (s["universal"], s["secondary"], s["tertiary"]) == (5, 1, 2)
    y = summary(parts, fy="2020/21").iloc[0]
    assert y["fy"] == "2020/21" and y["participants"] == 11 and y["interventions"] == 2
    iv = pd.DataFrame({"intervention": ["A", "B", "D"], "fy": ["2020/21"] * 3})
    assert summary(parts, iv, fy="2020-21").iloc[0]["interventions"] == 3


def test_summary_people_distinct():
    p = pd.DataFrame({"person_id": ["a", "a", "b", None], "intervention": ["X", "Y", "X", "X"],
                      "age": [10, 10, 30, 12]})
    s = summary(p).iloc[0]
    assert (s["participants"], s["people"], s["people_in_ages"]) == (4, 2, 1)


# ---- reach -------------------------------------------------------------------------------
def test_reach_counts_add_up_and_input_not_mutated(parts):
    before = parts.copy(deep=True)
    r = reach(parts)
    pd.testing.assert_frame_equal(parts, before)
    for dim, g in r.groupby("dimension"):
        assert g["n"].sum() == 12, dim
        assert g["n_in_ages"].sum() == 9, dim
    lv = r[r.dimension == "level"].set_index("group")
    assert lv["n"].to_dict() == {"universal": 6, "secondary": 1, "tertiary": 4, NOT_KNOWN: 1}
    assert list(lv.index) == ["universal", "secondary", "tertiary", NOT_KNOWN]
    assert r.attrs["sna"]["participants"] == {"total": 12, "in_ages": 9, "outside_ages": 2,
                                               "age_not_known": 1}
    lo, hi = wilson_limits([6], [12])
    assert lv.loc["universal", "share"] == 0.5
    assert lv.loc["universal", "share_lowercl"] == pytest.approx(lo[0])


def test_reach_representation_known_answer(parts, cohort):
    r = reach(parts, by="partnership", cohort=cohort).set_index("group")
    # participants aged 5-25 with a known partnership: City 6, County 2 -> shares .75 / .25
    # cohort aged 5-25: City 20, County 40 -> shares 1/3, 2/3
    assert r.loc["City", "n_in_ages"] == 6 and r.loc["County", "n_in_ages"] == 2
    assert r.loc["City", "cohort_n"] == 20 and r.loc["County", "cohort_n"] == 40
    assert r.loc["City", "representation"] == pytest.approx(0.75 / (1 / 3))
    assert r.loc["County", "representation"] == pytest.approx(0.25 / (2 / 3))
    se = np.sqrt(1 / 2 - 1 / 8 + 1 / 40 - 1 / 60)  # Katz: a=2, A=8, b=40, B=60
    ri = 0.375
    assert r.loc["County", "representation_lowercl"] == pytest.approx(ri * np.exp(-1.959964 * se))
    assert r.loc["County", "representation_uppercl"] == pytest.approx(ri * np.exp(1.959964 * se))
    assert np.isnan(r.loc[NOT_KNOWN, "representation"])
    assert r.attrs["sna"]["cohort_members"] == 60


def test_reach_cohort_groups_without_participants_are_shown(cohort):
    p = pd.DataFrame({"partnership": ["City"] * 3, "age": [10, 11, 12]})
    r = reach(p, by="partnership", cohort=cohort).set_index("group")
    assert r.loc["County", "n"] == 0
    assert r.loc["County", "representation"] == 0


def test_reach_dimensions_without_cohort_variable(parts, cohort):
    r = reach(parts, by=["level", "sex"], cohort=cohort)
    assert r.loc[r.dimension == "level", "representation"].isna().all()
    assert "no representation" in r.attrs["sna"]["notes"]["level"]
    sex = r[r.dimension == "sex"].set_index("group")
    # participants in ages with known sex: Female 3 (5, 25, 22), Male 4 (12, 15, 16, 17, 19 -> 5)
    assert sex.loc["Male", "n_in_ages"] == 5 and sex.loc["Female", "n_in_ages"] == 3
    # cohort aged 5-25: Male 40, Female 20
    assert sex.loc["Male", "representation"] == pytest.approx((5 / 8) / (40 / 60))


def test_reach_population_rate_known_answer(parts):
    pop = pd.DataFrame({"age": [4, 10, 25, 26, 10], "partnership": ["City"] * 4 + ["County"],
                        "population": [100, 300, 200, 400, 1000]})
    r = reach(parts, by="partnership", population=pop).set_index("group")
    # City residents aged 5-25: 300 + 200 = 500; participants in ages 6 -> 12 per 1,000
    assert r.loc["City", "population"] == 500
    assert r.loc["City", "rate"] == pytest.approx(12.0)
    lo, hi = poisson_limits([6])
    assert r.loc["City", "rate_lowercl"] == pytest.approx(lo[0] / 500 * 1000)
    assert r.loc["County", "rate"] == pytest.approx(2.0)


def test_reach_cross_and_fy(parts):
    r = reach(parts, by=[("partnership", "level")], fy="2020/21")
    assert r["n"].sum() == 11
    g = r.set_index("group")
    assert g.loc["City / universal", "n"] == 6
    assert g.loc["County / tertiary", "n"] == 2


def test_reach_errors(parts):
    with pytest.raises(AnalysisInputError, match="'ward'"):
        reach(parts, by="ward")
    with pytest.raises(AnalysisInputError, match="'fy'"):
        reach(parts.drop(columns="fy"), fy="2020/21")
    with pytest.raises(AnalysisInputError, match="ages"):
        reach(parts, ages=(25, 5))


# ---- at-risk cohort ------------------------------------------------------------------------
@pytest.fixture
def incidents():
    return pd.DataFrame({
        "source_format": ["police_extract"] * 6 + ["ecds", "police_uk"],
        "serious_violence": pd.array([True, True, None, True, True, False, True, True],
                                     dtype="boolean"),
        "fy": ["2020/21"] * 5 + ["2019/20", "2020/21", "2020/21"],
        "age": pd.array([16, 16, 17, 30, None, 12, 20, None], dtype="Int64"),
        "person_id": ["a", "a", "b", "c", None, "d", "e", None],
        "offender_age": pd.array([19, 19, None, 25, 15, None, None, None], dtype="Int64"),
        "offender_id": ["x", "y", None, "x", None, None, None, None],
        "date": pd.to_datetime(["2020-05-01", "2020-04-01", "2020-06-01", "2020-07-01",
                                "2020-08-01", "2019-05-01", "2020-05-01", "2020-05-01"]),
        "partnership": ["City", "County", "City", "City", "County", "City", "City", "City"],
    })


def test_at_risk_cohort_known_answer(incidents):
    before = incidents.copy(deep=True)
    c = at_risk_cohort(incidents, fy="2020/21")
    pd.testing.assert_frame_equal(incidents, before)
    v = c[c.role == "victim"]
    # serious, 2020/21, aged 5-25, police rows: victim a twice (kept once, at the first date)
    assert v["id"].tolist() == ["a"] and v["partnership"].tolist() == ["County"]
    o = c[c.role == "offender"]
    # x at 19 (first) and 25 (same person: dropped), y at 19, unnamed at 15
    assert sorted(o["age"].tolist()) == [15, 19, 19]
    meta = c.attrs["sna"]["cohort"]
    assert meta["serious_unknown"] == 1 and meta["victim_age_not_known"] == 1
    with_patients = at_risk_cohort(incidents, fy="2020/21", roles=("victim", "patient"))
    assert with_patients["role"].tolist() == ["victim", "patient"]
    assert len(at_risk_cohort(incidents, fy="2020/21", dedupe=False)) == 6


def test_at_risk_cohort_needs_classification(incidents):
    with pytest.raises(AnalysisInputError, match="serious_only=False"):
        at_risk_cohort(incidents.drop(columns="serious_violence"))
    assert len(at_risk_cohort(incidents.drop(columns="serious_violence"), serious_only=False))


def test_reach_with_at_risk_cohort(incidents):
    c = at_risk_cohort(incidents, fy="2020/21")
    p = pd.DataFrame({"partnership": ["City", "County"], "age": [15, 15], "fy": "2020/21"})
    r = reach(p, by="partnership", cohort=c, fy="2020/21").set_index("group")
    assert r.loc["City", "cohort_n"] == 1 and r.loc["County", "cohort_n"] == 3


# ---- outcomes ----------------------------------------------------------------------------
def test_outcomes_score_known_answer():
    start = [10, 12, 9, 11, 10, 13, 8, 10, 12, 11]
    end = [12, 13, 12, 12, 13, 14, 10, 11, 15, 12]
    p = pd.DataFrame({"outcome_start": start, "outcome_end": end})
    o = outcomes(p).iloc[0]
    # differences 2,1,3,1,3,1,2,1,3,1: mean 1.8, SD sqrt(7.6/9) = 0.918937
    assert o["n"] == 10 and o["shown"]
    assert o["mean_change"] == pytest.approx(1.8)
    assert o["sd_change"] == pytest.approx(np.sqrt(7.6 / 9))
    half = 2.262157 * np.sqrt(7.6 / 9) / np.sqrt(10)
    assert o["change_lowercl"] == pytest.approx(1.8 - half, abs=1e-5)
    assert o["cohens_dz"] == pytest.approx(1.8 / np.sqrt(7.6 / 9))
    t = 1.8 / (np.sqrt(7.6 / 9) / np.sqrt(10))
    assert o["t_statistic"] == pytest.approx(t)
    from scipy import stats
    assert o["t_pvalue"] == pytest.approx(stats.ttest_rel(end, start).pvalue)
    assert o["wilcoxon_pvalue"] == pytest.approx(stats.wilcoxon(np.subtract(end, start)).pvalue)


def test_outcomes_min_n_suppression_keeps_rows():
    p = pd.DataFrame({
        "intervention": ["A"] * 10 + ["B"] * 3,
        "outcome_start": [1.0] * 13,
        "outcome_end": [2.0, 3.0] * 5 + [4.0, 5.0, None],
    })
    o = outcomes(p, by="intervention").set_index("group")
    assert list(o.index) == ["A", "B", "All"]
    assert o.loc["A", "shown"] and not o.loc["B", "shown"]
    assert o.loc["B", "reason"] == "fewer than 10 pairs (n = 2)"
    assert np.isnan(o.loc["B", "mean_change"]) and np.isnan(o.loc["B", "t_pvalue"])
    assert (o.loc["B", "participants"], o.loc["B", "n"], o.loc["B", "n_missing"]) == (3, 2, 1)
    assert o.loc["All", "n"] == 12 and o.loc["All", "shown"]
    assert o.attrs["sna"]["groups_not_shown"] == 1
    assert "All" not in outcomes(p, by="intervention", total=False)["group"].tolist()


def test_outcomes_zero_variance():
    p = pd.DataFrame({"outcome_start": [1] * 10, "outcome_end": [2] * 10})
    o = outcomes(p).iloc[0]
    assert o["mean_change"] == 1 and np.isnan(o["cohens_dz"]) and np.isnan(o["t_pvalue"])


def test_outcomes_mcnemar_exact_tiny_table():
    # 10 pairs: 5 stop offending (yes -> no), 1 starts (no -> yes), 2 yes/yes, 2 no/no
    before = [True] * 5 + [False] + [True] * 2 + [False] * 2
    after = [False] * 5 + [True] + [True] * 2 + [False] * 2
    p = pd.DataFrame({"offending_before": pd.array(before, dtype="boolean"),
                      "offending_after": pd.array(after, dtype="boolean")})
    o = outcomes(p, measure="offending").iloc[0]
    assert (o["stopped"], o["started"], o["before_n"], o["after_n"]) == (5, 1, 7, 3)
    # exact: two-sided binomial on 6 discordant pairs, 1 of them one way: 2 * 7/64
    assert o["mcnemar_pvalue"] == pytest.approx(2 * 7 / 64)
    assert o["mcnemar_method"] == "exact binomial"
    assert o["change"] == pytest.approx(-0.4)
    se = np.sqrt(6 - 16 / 10) / 10
    assert o["change_uppercl"] == pytest.approx(-0.4 + 1.959964 * se, abs=1e-6)
    chi = outcomes(p, measure="offending", exact=False).iloc[0]
    assert chi["mcnemar_statistic"] == pytest.approx((abs(5 - 1) - 1) ** 2 / 6)
    assert chi["mcnemar_method"].startswith("chi-squared")


def test_outcomes_yes_no_text_and_missing():
    p = pd.DataFrame({"offending_before": ["Yes", "yes", "Y", "no", None, "maybe"] * 2,
                      "offending_after": ["No", "no", "N", "no", "no", "no"] * 2})
    o = outcomes(p, measure="offending", min_n=2).iloc[0]
    assert (o["n"], o["n_missing"], o["stopped"]) == (8, 4, 6)


def test_outcomes_errors():
    p = pd.DataFrame({"outcome_start": [1], "outcome_end": [2]})
    with pytest.raises(AnalysisInputError, match="measure"):
        outcomes(p, measure="wellbeing")
    with pytest.raises(AnalysisInputError, match="offending_before"):
        outcomes(p, measure="offending")
    with pytest.raises(AnalysisInputError, match="min_n"):
        outcomes(p, min_n=0)
    with pytest.raises(AnalysisInputError, match="'ward'"):
        outcomes(p, by="ward")


# ---- costs -------------------------------------------------------------------------------
def test_costs_known_answer():
    iv = pd.DataFrame({
        "intervention": ["A", "A", "B", "D"],
        "level": ["universal", "universal", "tertiary", "secondary"],
        "funding_stream": ["Home Office", "YEF", "Home Office", "Home Office"],
        "cost": [3000.0, 1000.0, 5000.0, 600.0],
    })
    parts = pd.DataFrame({"intervention": ["A"] * 40 + ["B"] * 10 + ["C"] * 2,
                          "level": ["universal"] * 40 + ["tertiary"] * 10 + ["secondary"] * 2})
    before = iv.copy()
    c = costs(iv, parts)
    pd.testing.assert_frame_equal(iv, before)
    g = c.set_index(["dimension", "group"])
    assert g.loc[("intervention", "A"), "cost_per_participant"] == 100.0
    assert g.loc[("intervention", "B"), "cost_per_participant"] == 500.0
    assert np.isnan(g.loc[("intervention", "D"), "cost_per_participant"])  # no participants
    assert np.isnan(g.loc[("intervention", "C"), "cost"])  # not in the interventions table
    assert g.loc[("level", "secondary"), "participants"] == 2  # C's level from participants
    assert g.loc[("level", "secondary"), "cost"] == 600.0
    assert np.isnan(g.loc[("level", "secondary"), "cost_per_participant"])
    # Home Office: 3000 of A (30 of its 40 participants), B 5000 (10), D 600 (0)
    assert g.loc[("funding_stream", "Home Office"), "participants"] == pytest.approx(40)
    assert g.loc[("funding_stream", "Home Office"), "cost_per_participant"] == pytest.approx(
        8600 / 40)
    assert g.loc[("funding_stream", "YEF"), "participants"] == pytest.approx(10)
    tot = g.loc[("total", "Total")]
    assert (tot["cost"], tot["participants"], tot["participants_costed"]) == (9600, 52, 50)
    assert tot["cost_per_participant"] == pytest.approx(9600 / 50)
    assert c.attrs["sna"]["unmatched"] == ["C"]
    assert c.attrs["sna"]["interventions_without_participants"] == ["D"]
    assert list(c.loc[c.dimension == "level", "group"]) == ["universal", "secondary", "tertiary"]


def test_costs_by_fy_and_errors():
    iv = pd.DataFrame({"intervention": ["A", "A"], "cost": [100.0, 300.0],
                       "fy": ["2019/20", "2020/21"], "level": "universal",
                       "funding_stream": "HO"})
    parts = pd.DataFrame({"intervention": ["A"] * 3, "fy": ["2019/20", "2020/21", "2020/21"]})
    c = costs(iv, parts)
    tot = c[c.dimension == "total"].set_index("fy")
    assert tot.loc["2019/20", "cost_per_participant"] == 100
    assert tot.loc["2020/21", "cost_per_participant"] == 150
    one = costs(iv, parts, fy="2020/21")
    assert one.loc[one.dimension == "total", "cost"].iloc[0] == 300
    with pytest.raises(AnalysisInputError, match="negative"):
        costs(iv.assign(cost=-1.0), parts)
    with pytest.raises(AnalysisInputError, match="'cost'"):
        costs(iv.drop(columns="cost"), parts)


def test_costs_missing_cost_is_not_zero():
    iv = pd.DataFrame({"intervention": ["A", "B"], "cost": [1000.0, None],
                       "level": "tertiary", "funding_stream": "HO"})
    parts = pd.DataFrame({"intervention": ["A"] * 10 + ["B"] * 10})
    tot = costs(iv, parts).set_index("dimension").loc["total"]
    assert tot["participants"] == 20 and tot["participants_costed"] == 10
    assert tot["cost_per_participant"] == 100
    assert_allclose(tot["cost"], 1000)


# ---- canonical dtypes and empty tables -----------------------------------------------------
def _canonical(df, columns):
    out = {}
    for c, (dtype, _) in columns.items():
        s = df[c] if c in df.columns else pd.Series([None] * len(df))
        out[c] = pd.to_datetime(s) if dtype.startswith("datetime") else s.astype(dtype)
    return pd.DataFrame(out)


def test_canonical_dtypes(parts):
    from sna.schemas import PARTICIPANT_COLUMNS

    p = parts.reset_index(drop=True).assign(
        outcome_start=[1.0] * 12, outcome_end=[2.0] * 11 + [None],
        offending_before=[True] * 12, offending_after=[False] * 12)
    canon = _canonical(p, PARTICIPANT_COLUMNS)
    assert summary(canon).iloc[0]["participants_in_ages"] == 9
    assert reach(canon)["n"].groupby(reach(canon)["dimension"]).sum().eq(12).all()
    assert outcomes(canon, min_n=1).iloc[0]["n"] == 11
    assert outcomes(canon, measure="offending", min_n=1).iloc[0]["stopped"] == 12


def test_empty_canonical_tables():
    from sna.schemas import INTERVENTION_COLUMNS, PARTICIPANT_COLUMNS, empty_incidents

    p = pd.DataFrame({c: pd.Series(dtype=d) for c, (d, _) in PARTICIPANT_COLUMNS.items()})
    iv = pd.DataFrame({c: pd.Series(dtype=d) for c, (d, _) in INTERVENTION_COLUMNS.items()})
    assert summary(p, iv).iloc[0]["participants"] == 0
    assert reach(p, cohort=at_risk_cohort(empty_incidents()))["n"].sum() == 0
    o = outcomes(p).iloc[0]
    assert o["n"] == 0 and not o["shown"]
    c = costs(iv, p)
    assert c["dimension"].tolist() == ["total"] and c["participants"].iloc[0] == 0
