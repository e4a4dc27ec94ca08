"""Disclosure control across the whole publication (issue 14, items 1, 2 and 6): the rule
follows the source of each count, secondary suppression holds across tables that share a
margin, shares and changes come from the published counts, prose quotes the published
tables, and ``check-outputs`` finds each kind of leak (planted) naming file, table, row and
column. The demo-level tests read one public build of the bundled demo."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sna import disclosure
from sna.chapter import Chapter
from sna.disclosure import apply, check_outputs, write_public_table

STAR = "*"


def _public(tmp_path, name="06_people"):
    return Chapter(name, output_dir=tmp_path, display=False, build="public")


# the demo's case: the age table hides victims aged 0-4 (5); the sex table of the same chapter
# publishes the same column in full, so its total minus the other age bands gives 5 back
AGE = pd.DataFrame({"group": ["0-4", "5-9", "10-14", "15-17", "18+", "Not known"],
                    "victims (police): n": [5, 282, 1177, 944, 6156, 1888]})
SEX = pd.DataFrame({"group": ["Female", "Male", "Not known"],
                    "victims (police): n": [5402, 3717, 1333]})


def test_rules_ranked_nhs_strictest_and_nhs_sources_always_nhs2018(tmp_path):
    assert disclosure.strictest(["legacy5", "nhs2018"]) == "nhs2018"
    assert disclosure.strictest(["none", "legacy5"]) == "legacy5"
    ch = _public(tmp_path)
    assert ch.disclosure_rule(["police", "ecds"]) == "nhs2018"
    assert ch.disclosure_rule(["ambulance", "police"]) == "nhs2018"
    assert ch.disclosure_rule(["police"]) == "legacy5"
    # an A&E source configured with the weaker rule is still published under the NHS rule
    ch.config.sources["ecds"].disclosure = "legacy5"
    assert ch.config.sources["ecds"].default_disclosure == "legacy5"
    assert ch.disclosure_rule(["ecds"]) == "nhs2018"


def test_differencing_pair_across_tables_is_protected_and_found(tmp_path):
    ch = _public(tmp_path)
    age = ch.table(AGE, "by_age_band", "Victims by age band.", sources=["police"],
                   counts=["victims (police): n"], totals=[])
    ch.table(SEX, "by_sex", "Victims by sex.", sources=["police"],
             counts=["victims (police): n"], totals=[])
    col = age["victims (police): n"].tolist()
    assert col[0] == STAR
    assert col.count(STAR) == 2  # a second cell hidden: the margin no longer gives 0-4 away
    total = SEX["victims (police): n"].sum()
    shown = sum(v for v in col if v != STAR)
    assert total - shown > 5  # only the sum of the two hidden cells is known
    findings = check_outputs(tmp_path)
    assert findings.empty, findings.to_string()

    # the same two tables controlled one by one (no margin protection): the checker finds it
    planted = tmp_path / "planted"
    write_public_table(AGE, planted / "tables" / "06_tab01_by_age_band.csv", rule="legacy5",
                       counts=["victims (police): n"], totals=[])
    write_public_table(SEX, planted / "tables" / "06_tab02_by_sex.csv", rule="legacy5",
                       counts=["victims (police): n"], totals=[])
    f = check_outputs(planted)
    hit = f[f["check"] == "differencing"]
    assert len(hit) == 1, f.to_string()
    r = hit.iloc[0]
    assert r["file"] == "tables/06_tab01_by_age_band.csv"
    assert r["table"] == "06_tab01_by_age_band"
    assert r["row"] == 1 and r["label"] == "0-4" and r["column"] == "victims (police): n"
    assert "leaves 5" in r["problem"] and "06_tab02_by_sex" in r["problem"]


def test_share_columns_are_percentages_of_published_counts(tmp_path):
    mix = pd.DataFrame({"weapon_or_method": ["Body part", "Knife or sharp object", "Firearm"],
                        "n": [1653, 352, 4]})
    ch = _public(tmp_path, "07_health")
    pub = ch.table(mix, "weapon_ecds", "A&E by method.", sources=["ecds"], counts=["n"],
                   percentages={"share (%)": "n"}, totals=[], formats={"share (%)": "{:.1f}"})
    assert pub["n"].tolist() == [1655, 350, STAR]
    # of the published total (1655 + 350, rounded as a total: 2010), 1 decimal place; the
    # firearm share is hidden with its count (from the raw counts it gave back 4)
    assert pub["share (%)"].tolist() == [round(100 * 1655 / 2010, 1), round(100 * 350 / 2010, 1),
                                         STAR]
    csv = (tmp_path / "tables" / "07_tab01_weapon_ecds.csv").read_text()
    assert "0.0019" not in csv and "82.3" in csv
    # the restricted build has the same column, of the counts as they are
    res = Chapter("07_health", output_dir=tmp_path / "r", display=False).table(
        mix, "weapon_ecds", "A&E by method.", sources=["ecds"], counts=["n"],
        percentages={"share (%)": "n"}, totals=[])
    assert res["share (%)"].tolist() == [82.3, 17.5, 0.2]


def test_mixed_police_and_health_table_each_column_under_its_source(tmp_path):
    t = pd.DataFrame({"group": ["0-4", "5-9", "10-14", "Not known"],
                      "victims (police): n": [3, 6, 352, 40],
                      "patients (ecds): n": [1, 6, 352, 0],
                      "patients (ecds): rate": [0.01, 0.09, 5.16, None]})
    ch = _public(tmp_path)
    pub = ch.table(t, "by_age_band", "People by age band.", sources=["ecds", "police"],
                   counts=["victims (police): n", "patients (ecds): n"],
                   column_sources={"victims (police): n": ["police"],
                                   "patients (ecds): n": ["ecds"]},
                   derived={"patients (ecds): rate": "patients (ecds): n"}, totals=[])
    # police: 1-5 hidden (and one more for the margin), the rest exact
    assert pub["victims (police): n"].tolist() == [STAR, STAR, 352, 40]
    # A&E: 1-7 hidden (6 included), the rest rounded to 5, the rate restated on 350
    assert pub["patients (ecds): n"].tolist() == [STAR, STAR, 350, 0]
    assert pub["patients (ecds): rate"].tolist()[:3] == [STAR, STAR, round(5.16 * 350 / 352, 2)]
    meta = json.loads((tmp_path / "tables" / "06_tab01_by_age_band.meta.json").read_text())
    assert meta["column_rules"] == {"victims (police): n": "legacy5",
                                    "patients (ecds): n": "nhs2018"}
    assert check_outputs(tmp_path).empty
    # the checker reads each column under its own rule: an exact 352 in the A&E column of
    # that table is an unrounded NHS count, the police column's 352 is not
    csv = tmp_path / "tables" / "06_tab01_by_age_band.csv"
    df = pd.read_csv(csv, dtype=str)
    df.loc[2, "patients (ecds): n"] = "352"
    df.to_csv(csv, index=False)
    f = check_outputs(tmp_path)
    assert f[["file", "row", "column", "check"]].values.tolist() == [
        ["tables/06_tab01_by_age_band.csv", 3, "patients (ecds): n", "unrounded"]]


def test_row_sources_put_each_row_under_its_source(tmp_path):
    t = pd.DataFrame({"measure": ["A&E knife attendances", "Knife homicides"],
                      "current": [352, 4], "change": [-24.1, -20.0]})
    ch = _public(tmp_path, "01_key_findings")
    pub = ch.table(t, "success", "Success measures.", sources=["ecds", "police"],
                   row_sources=["ecds", "police"], counts=["current"],
                   derived={"change": "current"}, margins=False)
    assert pub["current"].tolist() == [350, STAR]
    assert pub["change"].tolist()[1] == STAR  # a change of a suppressed count is withheld


def test_summary_quotes_the_published_table(tmp_path):
    t = pd.DataFrame({"measure": ["A&E knife attendances", "Knife homicides"],
                      "current": [352, 4], "under 25": [192, 2]})
    for build, want in (("public", ("350", "190", "not published")),
                        ("restricted", ("352", "192", "4"))):
        ch = Chapter("01_key_findings", output_dir=tmp_path / build, display=False, build=build)
        args = dict(sources=["ecds", "police"], row_sources=["ecds", "police"],
                    counts=["current", "under 25"], margins=False)
        pub = ch.control(t, **args)
        said = (ch.shown(pub, 0, "current"), ch.shown(pub, "A&E knife attendances", "under 25"),
                ch.shown(pub, 1, "current"))
        assert said == want
        table = ch.table(t, "success", "Success measures.", **args)
        assert table.equals(pub)  # the prose's numbers are the table's
    # published_count: what a change may be computed from
    ch = Chapter("01_key_findings", output_dir=tmp_path, display=False, build="public")
    assert ch.published_count(352, ["ecds"]) == 350
    assert ch.published_count(4, ["police"]) is None
    assert ch.published_count(6, ["police"]) == 6


def test_check_outputs_finds_planted_leaks(tmp_path):
    out = tmp_path / "out"
    write_public_table(pd.DataFrame({"area": ["A", "B"], "n": [12, 30]}),
                       out / "tables" / "a.csv", rule="legacy5", counts=["n"])
    assert check_outputs(out).empty
    # a count of 1-7 in prose, and an unrounded NHS count in prose
    (out / "report.html").write_text(
        "<html><body><p>In the year <strong>3 victims</strong> were under 5.</p>"
        "<p>A&amp;E recorded 352 attendances.</p><table><tr><td>3 victims</td></tr></table>"
        "</body></html>", encoding="utf-8")
    # a record-level CSV (a planted quarantine file)
    (out / "quarantine").mkdir()
    pd.DataFrame({"file": ["ecds/a.csv"] * 3, "line": [2, 7, 9],
                  "reason": ["bad date"] * 3}).to_csv(out / "quarantine" / "quarantine.csv",
                                                      index=False)
    # one row per event without an identifier column
    pd.DataFrame({"date": pd.date_range("2020-04-01", periods=30).strftime("%Y-%m-%d"),
                  "sex": ["F", "M"] * 15}).to_csv(out / "tables" / "events.csv", index=False)
    f = check_outputs(out)
    got = {(r.file, r.check, r.column, r.value) for r in f.itertuples()}
    assert ("report.html", "small_count", "victims", "3") in got
    assert ("report.html", "unrounded", "attendances", "352") in got
    assert ("quarantine/quarantine.csv", "record_level", None, "3 rows") in got
    assert ("tables/events.csv", "record_level", "date", "2020-04-01") in got
    assert len(f) == 4, f.to_string()
    prose = f[f["file"] == "report.html"]
    assert prose["table"].tolist() == ["prose", "prose"] and prose["row"].tolist() == [1, 2]


def test_cli_json_is_parsed(tmp_path, capsys):
    from sna import cli

    write_public_table(pd.DataFrame({"area": ["A", "B"], "n": [3, 30]}), tmp_path / "t.csv",
                       rule="none", counts=["n"])
    pd.DataFrame({"area": ["A", "B"], "n": [3, 30]}).to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "t.meta.json").write_text(json.dumps({"rule": "legacy5", "counts": ["n"]}))
    assert cli.main(["check-outputs", str(tmp_path), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [(x["file"], x["row"], x["column"], x["check"]) for x in data["findings"]] == [
        ("t.csv", 1, "n", "small_count")]
    assert cli.main(["check-outputs", str(tmp_path), "--no-such-option"]) == 2


# ---- the demo's public build -------------------------------------------------------------------
@pytest.fixture(scope="module")
def public_demo(tmp_path_factory):
    from sna import report

    out = tmp_path_factory.mktemp("public")
    result = report.run(None, output=out, build="public", jobs=2, progress=False)
    assert result.exit_code == 0, [c.summary() for c in result.failed]
    return result.output_dir


def _csv(out, stem):
    return pd.read_csv(next((out / "tables").glob(f"{stem}.csv")), dtype=str,
                       keep_default_na=False)


def _markdown(out, chapter):
    nb = json.loads((out / "chapters" / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    import html

    return html.unescape("\n".join("".join(o["data"]["text/markdown"]) for c in nb["cells"]
                                   for o in c.get("outputs", [])
                                   if "text/markdown" in o.get("data", {})))


@pytest.mark.slow
def test_demo_public_summary_agrees_with_the_success_table(public_demo):
    t = _csv(public_demo, "01_tab*_success_measures").set_index("measure")
    ae = t.loc[[m for m in t.index if m.startswith("A&E")][0]]
    text = _markdown(public_demo, "01_key_findings")
    line = next(x for x in text.splitlines() if x.startswith("- A&E attendances"))
    assert f": {int(ae['all ages: 2020/21']):,} in 2020/21" in line
    assert f"under 25: {int(ae['under 25: 2020/21']):,}." in line
    assert int(ae["all ages: 2020/21"]) % 5 == 0
    # knife homicides: count suppressed, so neither the table nor the summary gives a change
    hom = t.loc["Non-domestic homicides involving a knife"]
    assert hom["all ages: 2020/21"] == STAR and hom["all ages: change"] == STAR
    assert "Non-domestic homicides involving a knife" not in text or \
        "on the baseline" not in next(x for x in text.splitlines()
                                      if "Non-domestic homicides" in x)


@pytest.mark.slow
def test_demo_public_people_tables_protect_the_shared_margin(public_demo):
    age = _csv(public_demo, "06_tab*_by_age_band")
    sex = _csv(public_demo, "06_tab*_by_sex")
    col = "victims (police): n"
    assert age[col].tolist().count(STAR) >= 2
    # A&E patients: rounded to 5, 1-7 hidden
    for t in (age, sex):
        vals = [v for v in t["patients (ecds): n"] if v != STAR]
        assert all(int(v) % 5 == 0 for v in vals)
    shares = [v for v in sex["patients (ecds): share (%)"] if v != STAR]
    assert all(len(v.split(".")[-1]) <= 1 for v in shares)
    assert check_outputs(public_demo).empty


@pytest.mark.slow
def test_demo_public_health_shares_from_published_counts(public_demo):
    t = _csv(public_demo, "07_tab*_weapon_ecds")
    n = [int(v) for v in t["n"] if v != STAR]
    total = 5 * round(sum(int(v) for v in t["n"] if v != STAR) / 5)
    for v, s in zip(t["n"], t["share (%)"]):
        if v == STAR:
            assert s == STAR
        else:
            assert len(s.split(".")[-1]) <= 1  # 1 decimal place, not 16 digits
    assert all(x % 5 == 0 for x in n) and total > 0


@pytest.mark.slow
def test_demo_public_heat_map_hides_small_nhs_cells(public_demo, demo_run):
    side = json.loads((public_demo / "chapters" / "03_timing.json").read_text())
    ecds = next(f for f in side["figures"] if f["name"] == "day_hour_ecds")
    assert "not shown under the disclosure rule" in ecds["caption"]
    assert "rounded for publication" in ecds["caption"]
    pub_png = (public_demo / ecds["file"]).read_bytes()
    res_png = (demo_run.output_dir / ecds["file"]).read_bytes()
    assert pub_png != res_png
    # the grid the public map is drawn from, as chapter 3 controls it: no cell of 1-7, the
    # rest multiples of 5
    rng = np.random.default_rng(7)
    raw = rng.poisson(6, size=(7, 24))
    assert ((raw >= 1) & (raw <= 7)).any()
    cells = pd.DataFrame(raw, columns=[f"{h:02d}" for h in range(24)])
    ch = Chapter("03_timing", output_dir=public_demo / "x", display=False, build="public")
    pub = disclosure.as_numeric(ch.control(cells, sources=["ecds"], counts=list(cells.columns),
                                           totals=[])).to_numpy()
    assert np.isnan(pub[(raw >= 1) & (raw <= 7)]).all()
    ok = pub[~np.isnan(pub)]
    assert (ok % 5 == 0).all()


def test_pyramid_drawn_from_published_counts():
    import matplotlib

    matplotlib.use("Agg")
    from sna.plot.people import pyramid

    inc = pd.DataFrame({"age": [2] * 3 + [20] * 41 + [30] * 12 + [40] * 352,
                        "sex": ["Male"] * 3 + ["Female"] * 41 + ["Male"] * 12 + [None] * 352})

    def nhs(n):
        return None if 1 <= n <= 7 else 5 * int(n / 5 + 0.5)

    ax = pyramid(inc, publish=nhs).axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "350 record(s) of unknown or other age or sex not shown" in texts  # not 352
    widths = [abs(p.get_width()) for p in ax.patches]
    male, female = widths[:10], widths[10:]
    assert np.isnan(male[0])  # the 3 boys aged 0-4: no bar
    # the shares are of the published counts: 40 of 50 (the 12 men publish as 10)
    assert female[4] == pytest.approx(100 * 40 / 50 / 7)  # 18-24: 7 years of age
    restricted = [abs(p.get_width()) for p in pyramid(inc).axes[0].patches]
    assert restricted[0] == pytest.approx(100 * 3 / 56 / 5)


def test_check_outputs_with_config_finds_nhs_counts_under_a_weaker_rule(tmp_path):
    from sna.datasets import demo_config

    t = pd.DataFrame({"group": ["0-4", "5-9"], "n": [0, 352]})
    write_public_table(t, tmp_path / "tables" / "a.csv", rule="legacy5", counts=["n"],
                       source=["ecds", "police"])
    f = check_outputs(tmp_path, config=demo_config())
    assert f[["file", "check", "value"]].values.tolist() == [["tables/a.csv", "metadata",
                                                             "legacy5"]]
    assert "ecds" in f["problem"].iloc[0] and "nhs2018" in f["problem"].iloc[0]
    # the same table with its A&E column under the NHS rule passes
    write_public_table(t, tmp_path / "tables" / "a.csv", rule="legacy5", counts=["n"],
                       source=["ecds", "police"], column_rules={"n": "nhs2018"})
    assert check_outputs(tmp_path, config=demo_config()).empty


def test_check_outputs_reads_the_text_of_word_documents(tmp_path):
    import docx

    doc = docx.Document()
    doc.add_paragraph("Key findings")
    doc.add_paragraph("The A&E recorded 352 attendances and 2 victims were under 5.")
    doc.save(tmp_path / "report.docx")
    f = check_outputs(tmp_path)
    assert sorted(zip(f["file"], f["check"], f["value"])) == [
        ("report.docx", "small_count", "2"), ("report.docx", "unrounded", "352")]
    assert (f["row"] == 2).all()  # the paragraph


def test_same_counts_in_another_row_order_hide_the_same_cells():
    # the LSOA table (sorted by count) and the map layer (in area order) share the margin:
    # ties between cells of equal value are broken by the area, not by the row's position
    t = pd.DataFrame({"lsoa": ["E1", "E2", "E3", "E4", "E5"], "n": [3, 9, 9, 9, 40]})
    a = apply(t, rule="legacy5", counts=["n"], margins=True, totals=[])
    b = apply(t.iloc[::-1].reset_index(drop=True), rule="legacy5", counts=["n"], margins=True,
              totals=[])
    hidden_a = set(t["lsoa"][[v == STAR for v in a["n"]]])
    hidden_b = set(t["lsoa"].iloc[::-1].reset_index(drop=True)[[v == STAR for v in b["n"]]])
    assert hidden_a == hidden_b == {"E1", "E2"}


def test_prose_counts_of_open_data_are_not_findings(tmp_path):
    # a build of data.police.uk only: its tables are under "none", so "3 offences" is fine
    write_public_table(pd.DataFrame({"lsoa": ["E1", "E2"], "n": [3, 30]}),
                       tmp_path / "tables" / "a.csv", rule="none", counts=["n"])
    (tmp_path / "report.html").write_text("<p>Only 3 offences were recorded there.</p>",
                                          encoding="utf-8")
    assert check_outputs(tmp_path).empty
    # beside a force extract's table (legacy5) the same sentence is a finding
    write_public_table(pd.DataFrame({"lsoa": ["E1", "E2"], "n": [0, 30]}),
                       tmp_path / "tables" / "b.csv", rule="legacy5", counts=["n"])
    f = check_outputs(tmp_path)
    assert f[["file", "check", "value"]].values.tolist() == [["report.html", "small_count", "3"]]


def test_percentages_of_open_data_are_computed_too():
    out = apply(pd.DataFrame({"g": ["a", "b"], "n": [1, 3]}), rule="none", counts=["n"],
                percentages={"share (%)": "n"})
    assert out["n"].tolist() == [1, 3] and out["share (%)"].tolist() == [25.0, 75.0]


@pytest.mark.slow
def test_demo_public_build_passes_the_checker_at_the_root_it_was_given(public_demo):
    root = public_demo.parents[1]  # the folder given to --output
    findings = check_outputs(root)
    assert findings.empty, findings.head(20).to_string()
    assert not list(root.rglob("*.parquet"))
    assert check_outputs(root).attrs["sna"]["check_outputs"]["tables"] > 200
