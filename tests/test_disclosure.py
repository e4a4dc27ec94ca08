"""sna.disclosure.apply and the writers: hand-checked tables for each rule, failure modes, and
hypothesis properties (no suppressed value recoverable after legacy5; no count in 1-7 or off
a multiple of 5 after nhs2018)."""

from __future__ import annotations

import json

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.linalg import null_space

from sna import disclosure
from sna.disclosure import apply
from sna.errors import DisclosureError, SnaError

STAR = "*"


def _table(rows, cols, *, labels=None, name="area"):
    labels = labels or [chr(ord("A") + i) for i in range(len(rows))]
    df = pd.DataFrame(rows, columns=cols)
    df.insert(0, name, labels)
    return df


# ---------------------------------------------------------------------------------------------
# nhs2018
# ---------------------------------------------------------------------------------------------
def test_nhs2018_known_values():
    t = pd.DataFrame({"n": [0, 1, 7, 8, 12, 13, 22, 23, 1234, 1232]})
    out = apply(t, rule="nhs2018", counts=["n"])
    assert out["n"].tolist() == [0, STAR, STAR, 10, 10, 15, 20, 25, 1235, 1230]
    assert out["n"].dtype == object
    assert all(type(v) is int for v in out["n"] if v != STAR)
    d = out.attrs["sna"]["disclosure"]
    assert d["rule"] == "nhs2018" and d["suppressed_primary"] == 2
    assert d["suppressed_secondary"] == 0


def test_nhs2018_totals_rounded_independently():
    # parts 8 + 8 + 8 = 24: each part rounds to 10, the total to 25 (not 30)
    t = pd.DataFrame({"area": ["A", "B", "C", "Total"], "n": [8, 8, 8, 24]})
    out = apply(t, rule="nhs2018", counts=["n"])
    assert out["n"].tolist() == [10, 10, 10, 25]
    assert out.attrs["sna"]["disclosure"]["total_rows"] == ["Total"]
    # a total column too, and a suppressed part does not suppress its total
    t2 = pd.DataFrame({"area": ["A", "B"], "m": [3, 11], "f": [9, 9], "Total": [12, 20]})
    out2 = apply(t2, rule="nhs2018")
    assert out2["m"].tolist() == [STAR, 10]
    assert out2["Total"].tolist() == [10, 20]
    assert out2.attrs["sna"]["disclosure"]["total_columns"] == ["Total"]


def test_nhs2018_missing_stays_missing_and_index_kept():
    t = pd.DataFrame({"n": [5.0, np.nan, 18.0]}, index=pd.Index(["x", "y", "z"], name="lsoa"))
    out = apply(t, rule="nhs2018", counts=["n"])
    assert out.index.equals(t.index)
    assert out["n"].tolist() == [STAR, None, 20]


def test_nhs2018_percentages_from_rounded_figures():
    t = pd.DataFrame({"area": ["A", "B", "C", "Total"], "n": [3, 12, 33, 48]})
    out = apply(t, rule="nhs2018", counts=["n"], percentages={"pct": "n"})
    # published: *, 10, 35, total 50 -> 20.0 %, 70.0 %, 100.0 %
    assert out["n"].tolist() == [STAR, 10, 35, 50]
    assert out["pct"].tolist() == [STAR, 20.0, 70.0, 100.0]
    assert list(out.columns) == ["area", "n", "pct"]
    # share of a denominator column in the same row
    t2 = pd.DataFrame({"area": ["A", "B"], "knife": [9, 40], "all": [22, 4]})
    out2 = apply(t2, rule="nhs2018", counts=["knife", "all"],
                 percentages={"knife_pct": ("knife", "all")}, totals=[])
    assert out2["knife_pct"].tolist() == [50.0, STAR]  # 10/20; denominator suppressed


# ---------------------------------------------------------------------------------------------
# legacy5
# ---------------------------------------------------------------------------------------------
def test_legacy5_one_way_with_total():
    t = pd.DataFrame({"area": ["A", "B", "C", "Total"], "n": [3, 9, 40, 52]})
    out = apply(t, rule="legacy5", counts=["n"])
    assert out["n"].tolist() == [STAR, STAR, 40, 52]
    d = out.attrs["sna"]["disclosure"]
    assert (d["suppressed_primary"], d["suppressed_secondary"]) == (1, 1)


def test_legacy5_one_way_without_total_needs_no_secondary():
    t = pd.DataFrame({"area": ["A", "B", "C"], "n": [3, 9, 40]})
    out = apply(t, rule="legacy5", counts=["n"])
    assert out["n"].tolist() == [STAR, 9, 40]
    assert out.attrs["sna"]["disclosure"]["suppressed_secondary"] == 0


def test_legacy5_secondary_skips_zeros_and_prefers_interior_cells():
    # the next smallest NON-ZERO cell: 0 stays, 7 is suppressed, the total 50 is kept
    t = pd.DataFrame({"area": ["A", "B", "C", "D", "Total"], "n": [4, 0, 7, 39, 50]})
    out = apply(t, rule="legacy5", counts=["n"])
    assert out["n"].tolist() == [STAR, 0, STAR, 39, 50]


def test_legacy5_two_way_hand_checked():
    t = pd.DataFrame({
        "district": ["A", "B", "C", "Total"],
        "male": [3, 10, 20, 33],
        "female": [12, 2, 30, 44],
        "Total": [15, 12, 50, 77],
    })
    out = apply(t, rule="legacy5", counts=["male", "female", "Total"])
    # 3 and 2 are primary; row A then needs 12, row B needs 10: a 2 x 2 rectangle
    assert out["male"].tolist() == [STAR, STAR, 20, 33]
    assert out["female"].tolist() == [STAR, STAR, 30, 44]
    assert out["Total"].tolist() == [15, 12, 50, 77]
    d = out.attrs["sna"]["disclosure"]
    assert (d["suppressed_primary"], d["suppressed_secondary"]) == (2, 2)
    assert d["total_rows"] == ["Total"] and d["total_columns"] == ["Total"]


def test_legacy5_row_with_small_total():
    # a row whose total is itself small: the total and the cell are both primary
    t = pd.DataFrame({"area": ["A", "B", "Total"], "a": [3, 30, 33], "b": [0, 40, 40],
                      "Total": [3, 70, 73]})
    out = apply(t, rule="legacy5")
    assert out.loc[0, "a"] == STAR and out.loc[0, "Total"] == STAR and out.loc[0, "b"] == 0
    # column x then has two unknowns (3 and the row total 3 is in column Total, which has one)
    assert _determined(out, t, total_row=2, total_col=3) == []


def _bridge_table():
    """Two 2 x 2 rectangles of small counts joined by one small cell (row B, column c):
    every row and column has two or more small cells, yet that cell is recoverable."""
    big = 100
    m = np.full((4, 4), big)
    for i, j in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)]:
        m[i, j] = 2
    df = pd.DataFrame(m, columns=list("abcd"))
    df["Total"] = df.sum(axis=1)
    df.loc[len(df)] = df.sum(axis=0)
    df.insert(0, "area", ["A", "B", "C", "D", "Total"])
    return df


def test_legacy5_breaks_bridges_that_the_line_rule_misses():
    t = _bridge_table()
    primary = apply(t, rule="legacy5", counts=list("abcd") + ["Total"])
    d = primary.attrs["sna"]["disclosure"]
    assert d["suppressed_primary"] == 9
    assert d["suppressed_secondary"] >= 1
    assert _determined(primary, t, total_row=4, total_col=5) == []
    # the line rule alone (>= 2 per line) holds before the fix: the bridge is the only risk
    supp = np.zeros((5, 5), dtype=bool)
    supp[:4, :4] = t[list("abcd")].to_numpy()[:4] <= 5
    assert _determined_mask(t[list("abcd") + ["Total"]].to_numpy(float), supp, 4, 4) == [(1, 2)]


def test_legacy5_table_with_margins_only_in_rows():
    # a total column but no total row: every row is an equation, columns are not
    t = pd.DataFrame({"area": ["A", "B"], "a": [2, 40], "b": [30, 41], "c": [31, 3],
                      "Total": [63, 84]})
    out = apply(t, rule="legacy5")
    assert out.loc[0].tolist()[1:] == [STAR, STAR, 31, 63]
    assert out.loc[1].tolist()[1:] == [STAR, 41, STAR, 84]
    assert _determined(out, t, total_row=None, total_col=4) == []


def test_legacy5_percentages_of_the_column_total_count_as_a_margin():
    # no total row, but percentages reveal the column total: 3 alone would be recoverable
    t = pd.DataFrame({"area": ["A", "B", "C"], "n": [3, 9, 40]})
    out = apply(t, rule="legacy5", counts=["n"], percentages={"pct": "n"})
    assert out["n"].tolist() == [STAR, STAR, 40]
    assert out["pct"].tolist() == [STAR, STAR, 76.9]


def test_legacy5_several_total_rows_is_an_error():
    t = pd.DataFrame({"sex": ["All", "M", "F", "All", "M", "F"],
                      "age": ["10-17", "10-17", "10-17", "All", "All", "All"],
                      "n": [10, 3, 7, 30, 12, 18]})
    with pytest.raises(DisclosureError, match="one total row"):
        apply(t, rule="legacy5", counts=["n"])
    # nhs2018 has no secondary suppression: fine
    assert apply(t, rule="nhs2018", counts=["n"])["n"].tolist() == [10, STAR, STAR, 30, 10, 20]


# ---------------------------------------------------------------------------------------------
# derived columns, DSRs
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["nhs2018", "legacy5"])
def test_derived_columns_suppressed_with_their_count(rule):
    t = pd.DataFrame({"area": ["A", "B", "C"], "n": [2, 150, 60], "pop": [1000, 2000, 3000],
                      "rate": [2.0, 75.0, 20.0], "lowercl": [0.2, 63.5, 15.3],
                      "uppercl": [7.2, 88.0, 25.7]})
    out = apply(t, rule=rule, counts=["n"],
                derived={"rate": "n", "lowercl": "n", "uppercl": "n"})
    assert out.loc[0, ["n", "rate", "lowercl", "uppercl"]].tolist() == [STAR] * 4
    assert out.loc[1, ["rate", "lowercl", "uppercl"]].tolist() == [75.0, 63.5, 88.0]
    assert out["pop"].tolist() == [1000, 2000, 3000]  # not a count: untouched
    assert out.attrs["sna"]["disclosure"]["suppressed_derived"] == 3


def test_derived_depending_on_several_counts():
    t = pd.DataFrame({"area": ["A", "B"], "knife": [4, 20], "all": [40, 60],
                      "knife_share": [10.0, 33.3]})
    out = apply(t, rule="legacy5", counts=["knife", "all"], totals=[],
                derived={"knife_share": ["knife", "all"]})
    assert out["knife_share"].tolist() == [STAR, 33.3]


def test_derived_count_column_is_added_to_counts():
    t = pd.DataFrame({"area": ["A", "B"], "n": [2, 20], "rate": [1.0, 10.0]})
    out = apply(t, rule="nhs2018", counts=[], derived={"rate": "n"})
    assert out["n"].tolist() == [STAR, 20]
    assert out["rate"].tolist() == [STAR, 10.0]


def test_dsr_on_fewer_than_10_events_not_shown():
    t = pd.DataFrame({"area": ["A", "B", "C"], "events": [9, 10, 45],
                      "dsr": [55.1, 60.2, 80.3], "dsr_lower": [25.0, 28.0, 58.0]})
    out = apply(t, rule="legacy5", counts=["events"],
                derived={"dsr": "events", "dsr_lower": "events"})
    assert out["events"].tolist() == [9, 10, 45]  # 9 is a publishable count...
    assert out["dsr"].tolist() == [STAR, 60.2, 80.3]  # ...but not a DSR on 9 events
    assert out["dsr_lower"].tolist() == [STAR, 28.0, 58.0]
    d = out.attrs["sna"]["disclosure"]
    assert d["dsr_hidden"] == 2 and d["suppressed_derived"] == 0


def test_dsr_rows_of_rates_dsr_output_detected_by_statistic():
    # the shape sna.rates.dsr returns: value / lowercl / uppercl and a statistic column
    t = pd.DataFrame({"area": ["A", "B"], "total_count": [8, 40], "total_pop": [9000, 9000],
                      "value": [80.0, 400.0], "lowercl": [30.0, 280.0],
                      "uppercl": [160.0, 550.0], "statistic": ["dsr per 100000"] * 2})
    out = apply(t, rule="nhs2018", counts=["total_count"],
                derived={"value": "total_count", "lowercl": "total_count",
                         "uppercl": "total_count"})
    assert out["total_count"].tolist() == [10, 40]
    assert out["value"].tolist() == [STAR, 400.0]
    # a crude rate on 8 events is shown (only DSRs have the 10-event rule), restated on the
    # count as published (8 -> 10), so the rate does not give back the exact count
    t2 = t.assign(statistic="crude rate per 100000")
    assert apply(t2, rule="nhs2018", counts=["total_count"],
                 derived={"value": "total_count"})["value"].tolist() == [100.0, 400.0]


# ---------------------------------------------------------------------------------------------
# none, inputs, errors
# ---------------------------------------------------------------------------------------------
def test_rule_none_is_unchanged():
    t = pd.DataFrame({"area": ["A", "B"], "n": [1, 2]})
    out = apply(t, rule="none", counts=["n"])
    pd.testing.assert_frame_equal(out, t)
    assert out.attrs["sna"]["disclosure"]["rule"] == "none"


def test_never_mutates_input():
    t = pd.DataFrame({"area": ["A", "B", "Total"], "n": [3, 40, 43], "rate": [1.0, 2.0, 3.0]})
    t.attrs["sna"] = {"method": "crude"}
    before = t.copy(deep=True)
    out = apply(t, rule="legacy5", counts=["n"], derived={"rate": "n"})
    pd.testing.assert_frame_equal(t, before)
    assert t.attrs == {"sna": {"method": "crude"}}
    assert out.attrs["sna"]["method"] == "crude"
    assert "disclosure" in out.attrs["sna"]


def test_already_suppressed_input_is_accepted_and_idempotent():
    t = _table([[3, 12, 15], [10, 2, 12], [20, 30, 50], [33, 44, 77]], ["m", "f", "Total"],
               labels=["A", "B", "C", "Total"])
    for rule in ("nhs2018", "legacy5"):
        once = apply(t, rule=rule)
        twice = apply(once, rule=rule)
        pd.testing.assert_frame_equal(once, twice)
        assert twice.attrs["sna"]["disclosure"]["suppressed_secondary"] == 0


def test_counts_guessed_and_recorded():
    t = pd.DataFrame({"district": ["A", "B"], "2019/20": [3, 30], "2020/21": [12, 0],
                      "population": [5000, 7000], "rate": [0.6, 4.3]})
    out = apply(t, rule="nhs2018")
    d = out.attrs["sna"]["disclosure"]
    assert d["counts"] == ["2019/20", "2020/21"] and d["counts_guessed"] is True
    assert out["population"].tolist() == [5000, 7000]


def test_guess_count_columns_names():
    t = pd.DataFrame({"n": [1], "count": [2], "victims": [3], "baseline_n": [4], "Total": [5],
                      "age": [6], "year": [2020], "rank": [1], "x": [3], "lsoa_pop": [1500],
                      "imd_decile": [3], "pct": [5], "id": [7], "10-17": [2], "rate": [1.5],
                      "label": ["a"], "flag": [True]})
    assert disclosure.guess_count_columns(t) == ["n", "count", "victims", "baseline_n",
                                                "Total", "10-17"]


@pytest.mark.parametrize("kwargs, match", [
    ({"rule": "nhs2019"}, "unknown disclosure rule 'nhs2019'"),
    ({"rule": "legacy5", "counts": ["missing"]}, r"count column\(s\) \['missing'\] not in"),
    ({"rule": "legacy5", "counts": ["n"], "derived": {"rate2": "n"}}, "derived column 'rate2'"),
    ({"rule": "legacy5", "counts": ["n"], "derived": {"rate": "cases"}}, "count column 'cases'"),
    ({"rule": "legacy5", "counts": ["n"], "totals": ["Grand"]}, r"totals=\['Grand'\]"),
    ({"rule": "legacy5", "counts": ["n", "rate"]}, "non-whole value"),
    ({"rule": "legacy5", "counts": ["area"]}, "holds 'A'"),
    ({"rule": "nhs2018", "counts": ["n"], "dsr": ["rate"]}, "dsr="),
])
def test_errors(kwargs, match):
    t = pd.DataFrame({"area": ["A", "B"], "n": [3, 12], "rate": [0.5, 1.2]})
    with pytest.raises(DisclosureError, match=match):
        apply(t, **kwargs)


def test_negative_count_error_names_column_and_row():
    t = pd.DataFrame({"area": ["A", "B"], "n": [3, -2]})
    with pytest.raises(DisclosureError) as err:
        apply(t, rule="nhs2018", counts=["n"])
    assert "negative count (-2)" in str(err.value) and "row 2" in str(err.value)
    assert "area='B'" in str(err.value) and err.value.column == "n"
    assert isinstance(err.value, SnaError)


def test_no_count_columns_is_an_error_unless_rule_none():
    t = pd.DataFrame({"area": ["A", "B"], "rate": [0.5, 1.2]})
    with pytest.raises(DisclosureError, match="no count columns"):
        apply(t, rule="nhs2018")
    assert apply(t, rule="none").equals(t)


def test_not_a_dataframe():
    with pytest.raises(DisclosureError, match="DataFrame"):
        apply(pd.Series([1, 2]), rule="nhs2018")


def test_suppression_note():
    assert disclosure.suppression_note("nhs2018").startswith(
        "Counts from 1 to 7 are shown as * and others rounded to the nearest 5 (NHS Digital "
        "rule, 2018).")
    assert "secondary suppression" in disclosure.suppression_note("legacy5")
    assert "data.police.uk" in disclosure.suppression_note("none")
    with pytest.raises(DisclosureError):
        disclosure.suppression_note("NHS")


def test_as_numeric_and_is_suppressed():
    t = pd.DataFrame({"area": ["A", "B"], "n": [3, 12], "rate": [0.5, 1.2]})
    out = apply(t, rule="nhs2018", counts=["n"], derived={"rate": "n"})
    assert disclosure.is_suppressed(out)["rate"].tolist() == [True, False]
    num = disclosure.as_numeric(out)
    assert num["n"].isna().tolist() == [True, False] and num["n"].iloc[1] == 10.0
    assert num["rate"].dtype == float and num["area"].tolist() == ["A", "B"]


# ---------------------------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------------------------
def test_write_public_table_csv_and_sidecar(tmp_path):
    t = pd.DataFrame({"area": ["A", "B", "Total"], "n": [3, 40, 43], "rate": [1.0, 2.0, 3.0]})
    path = tmp_path / "tables" / "07_by_area.csv"
    out = disclosure.write_public_table(t, path, rule="legacy5", counts=["n"],
                                        derived={"rate": "n"}, source="ecds",
                                        caption="A&E assaults by area")
    assert path.read_text().splitlines() == ["area,n,rate", "A,*,*", "B,*,*", "Total,43,3.0"]
    meta = json.loads((tmp_path / "tables" / "07_by_area.meta.json").read_text())
    assert meta["table"] == "07_by_area" and meta["rule"] == "legacy5"
    assert meta["counts"] == ["n"] and meta["derived"] == {"rate": ["n"]}
    assert meta["total_rows"] == ["Total"] and meta["source"] == "ecds"
    assert meta["caption"] == "A&E assaults by area" and meta["suppressed_secondary"] == 1
    assert out["n"].tolist() == [STAR, STAR, 43]
    with pytest.raises(DisclosureError, match="CSV"):
        disclosure.write_public_table(t, tmp_path / "x.xlsx", rule="none")


def test_write_public_table_keeps_a_named_index(tmp_path):
    t = pd.DataFrame({"n": [3, 40]}, index=pd.Index(["E01000001", "E01000002"], name="lsoa"))
    disclosure.write_public_table(t, tmp_path / "by_lsoa.csv", rule="nhs2018", counts=["n"])
    assert (tmp_path / "by_lsoa.csv").read_text().splitlines() == [
        "lsoa,n", "E01000001,*", "E01000002,40"]


def test_write_public_workbook(tmp_path):
    a = apply(pd.DataFrame({"area": ["A", "B"], "n": [3, 22]}), rule="nhs2018", counts=["n"])
    b = apply(pd.DataFrame({"area": ["A", "B"], "n": [3, 22]}), rule="none", counts=["n"])
    path = disclosure.write_public_workbook({"A&E: by area": a, "police/by area": b},
                                            tmp_path / "tables.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["A&E_ by area", "police_by area"]
    assert [c.value for c in wb["A&E_ by area"]["B"]] == ["n", "*", 20]
    meta = json.loads((tmp_path / "tables.meta.json").read_text())
    assert [(r["table"], r["rule"]) for r in meta["tables"]] == [
        ("A&E_ by area", "nhs2018"), ("police_by area", "none")]
    with pytest.raises(DisclosureError, match="has not been through disclosure control"):
        disclosure.write_public_workbook({"raw": pd.DataFrame({"n": [1]})}, tmp_path / "r.xlsx")


def test_html_table_carries_metadata():
    out = apply(pd.DataFrame({"area": ["A", "Total"], "n": [3, 40]}), rule="legacy5",
                counts=["n"])
    text = disclosure.html_table(out, table_id="t1", index=False)
    assert 'id="t1"' in text and 'data-sna-rule="legacy5"' in text
    assert "<td>*</td>" in text


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------
def _determined_mask(values, supp, total_row, total_col):
    """Suppressed cells that the published figures determine exactly: independent check by
    linear algebra (a cell is determined iff every null-space vector of the equations,
    restricted to the unknowns, is zero on it)."""
    n, m = values.shape
    unknown = [(i, j) for i in range(n) for j in range(m) if supp[i, j]]
    if not unknown:
        return []
    eqs = []
    if total_col is not None:
        for i in range(n):
            eqs.append({(i, j): (-1.0 if j == total_col else 1.0) for j in range(m)})
    if total_row is not None:
        for j in range(m):
            eqs.append({(i, j): (-1.0 if i == total_row else 1.0) for i in range(n)})
    if not eqs:
        return []
    a = np.array([[e.get(c, 0.0) for c in unknown] for e in eqs])
    ns = null_space(a)
    return [c for k, c in enumerate(unknown) if np.all(np.abs(ns[k]) < 1e-9)]


def _determined(out, t, *, total_row, total_col):
    cols = out.attrs["sna"]["disclosure"]["counts"]
    supp = out[cols].map(lambda v: v == STAR).to_numpy()
    return _determined_mask(t[cols].to_numpy(float), supp, total_row, total_col)


@st.composite
def tables_with_totals(draw):
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, 5))
    cell = st.one_of(st.integers(0, 8), st.integers(0, 60), st.just(0))
    body = np.array(draw(st.lists(st.lists(cell, min_size=m, max_size=m), min_size=n,
                                  max_size=n)), dtype=int)
    margins = draw(st.sampled_from(["both", "rows", "columns"]))
    cols = [f"c{j}" for j in range(m)]
    df = pd.DataFrame(body, columns=cols)
    total_row = total_col = None
    if margins in ("both", "rows"):  # a total column: each row sums to it
        df["Total"] = df[cols].sum(axis=1)
        total_col = m
    if margins in ("both", "columns"):  # a total row
        df.loc[len(df)] = df.sum(axis=0)
        total_row = n
    labels = [f"r{i}" for i in range(n)] + (["Total"] if total_row is not None else [])
    df.insert(0, "area", labels)
    return df, total_row, total_col


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables_with_totals())
def test_property_legacy5_nothing_recoverable_by_differencing(case):
    t, total_row, total_col = case
    before = t.copy(deep=True)
    out = apply(t, rule="legacy5")
    pd.testing.assert_frame_equal(t, before)  # never mutates
    cols = out.attrs["sna"]["disclosure"]["counts"]
    assert cols == [c for c in t.columns if c != "area"]
    raw = t[cols].to_numpy()
    pub = out[cols].to_numpy()
    supp = pub == STAR
    # primary: every 1-5 is suppressed; published values are the true values
    assert not ((raw >= 1) & (raw <= 5) & ~supp).any()
    assert (pub[~supp] == raw[~supp]).all()
    # differencing: every row / column with a total has 0 or >= 2 suppressed cells...
    if total_col is not None:
        assert all(k != 1 for k in supp.sum(axis=1))
    if total_row is not None:
        assert all(k != 1 for k in supp.sum(axis=0))
    # ...and no combination of the published rows and columns determines a suppressed cell
    assert _determined_mask(raw.astype(float), supp, total_row, total_col) == []
    # the checker agrees
    d = out.attrs["sna"]["disclosure"]
    assert d["suppressed_primary"] == int(((raw >= 1) & (raw <= 5)).sum())
    assert d["suppressed_primary"] + d["suppressed_secondary"] == int(supp.sum())


@settings(max_examples=100, deadline=None)
@given(tables_with_totals())
def test_property_nhs2018_published_counts(case):
    t, total_row, total_col = case
    out = apply(t, rule="nhs2018")
    cols = out.attrs["sna"]["disclosure"]["counts"]
    raw = t[cols].to_numpy()
    pub = out[cols].to_numpy()
    for r, p in zip(raw.ravel(), pub.ravel()):
        if 1 <= r <= 7:
            assert p == STAR
        else:
            assert p != STAR and p % 5 == 0 and not (1 <= p <= 7)
            assert abs(p - r) <= 2  # the nearest multiple of 5
    # totals rounded from the unrounded totals, not summed from rounded parts
    if total_row is not None:
        for j, c in enumerate(cols):
            r = raw[total_row, j]
            assert pub[total_row, j] == (STAR if 1 <= r <= 7 else 5 * int(r / 5 + 0.5))


def test_write_public_workbook_holds_no_formula(tmp_path):
    t = apply(pd.DataFrame({"area": ['=HYPERLINK("http://x.invalid")', "+SUM(1,2)", "B"],
                            "n": [30, 22, 4], "change": [-20.5, 3.0, 1.0]}),
              rule="none", counts=["n"])
    path = disclosure.write_public_workbook({"areas": t}, tmp_path / "tables.xlsx")
    ws = openpyxl.load_workbook(path)["areas"]
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert [c.value for c in ws["A"]][1:3] == ['\'=HYPERLINK("http://x.invalid")', "'+SUM(1,2)"]
    assert [c.value for c in ws["B"]][1:] == [30, 22, 4]
    assert [c.value for c in ws["C"]][1:] == [-20.5, 3.0, 1.0]
