"""sna.disclosure.check_outputs and ``sna check-outputs``: a clean public folder passes; one
planted unsafe cell (CSV, XLSX, HTML, notebook) fails naming file, table, row and column;
identifiers, coordinates, data files and restricted builds are found; exit codes."""

from __future__ import annotations

import argparse
import json
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest

from sna import disclosure
from sna.cli import check_outputs_cli
from sna.disclosure import apply, check_outputs, write_public_table

STAR = "*"


def _args(folder, **kw):
    return argparse.Namespace(dir=str(folder), config=kw.pop("config", None),
                              json=kw.pop("json", False), **kw)


def _run(folder, capsys, **kw):
    code = check_outputs_cli(_args(folder, **kw))
    out = capsys.readouterr()
    return code, out.out, out.err


def _health():
    return pd.DataFrame({
        "district": ["Ashfield", "Bassetlaw", "Broxtowe", "Gedling", "Total"],
        "n": [3, 48, 121, 6, 178],
        "pop": [127000, 117000, 114000, 118000, 476000],
        "rate": [2.4, 41.0, 106.1, 5.1, 37.4],
    })


def _victims():
    return pd.DataFrame({
        "age": ["0-17", "18-24", "25+", "Total"],
        "male": [4, 30, 210, 244],
        "female": [2, 19, 150, 171],
        "Total": [6, 49, 360, 415],
    })


def _police_uk():
    return pd.DataFrame({"lsoa": ["E01000001", "E01000002", "E01000003"], "n": [1, 2, 14]})


def _page(*tables: str) -> str:
    body = "\n".join(
        f'<div class="sna-tablewrap"><p class="sna-caption"><strong>Table 7.{k}.</strong> '
        f"Caption.</p>{t}</div>" for k, t in enumerate(tables, start=1))
    return f"<!doctype html><html><head><title>r</title></head><body><h1>Report</h1>{body}" \
           "</body></html>"


@pytest.fixture
def public(tmp_path):
    """A public output folder as the build writes it (CSV + sidecars, workbook, report)."""
    root = tmp_path / "out"
    tables = root / "tables"
    h = write_public_table(_health(), tables / "07_tab01_ae_by_district.csv", rule="nhs2018",
                           counts=["n"], derived={"rate": "n"}, source="ecds")
    v = write_public_table(_victims(), tables / "06_tab01_victims.csv", rule="legacy5",
                           counts=["male", "female", "Total"], source="police_extract")
    p = write_public_table(_police_uk(), tables / "02_tab01_by_lsoa.csv", rule="none",
                           counts=["n"], source="police")
    disclosure.write_public_workbook({"A&E by district": h, "Victims by age": v,
                                      "Police by LSOA": p}, tables / "tables.xlsx")
    (root / "report.html").write_text(_page(
        disclosure.html_table(h, table_id="ae", index=False),
        disclosure.html_table(v, table_id="victims", index=False),
        disclosure.html_table(p, table_id="lsoa", index=False)), encoding="utf-8")
    (root / "figures").mkdir()
    (root / "figures" / "trend.png").write_bytes(b"\x89PNG not really")
    (root / "manifest.json").write_text(json.dumps({"build": "public", "chapters": []}))
    return root


def test_clean_public_folder_exits_0(public, capsys):
    findings = check_outputs(public)
    assert findings.empty, findings.to_string()
    assert list(findings.columns) == disclosure.FINDING_COLUMNS
    info = findings.attrs["sna"]["check_outputs"]
    assert info["files"] == 5 and info["tables"] == 3 + 3 + 3
    assert info["skipped"] == ["figures/trend.png"]
    code, out, err = _run(public, capsys)
    assert code == 0, out
    assert out.strip() == f"sna check-outputs: no findings in 9 tables of 5 files under {public}"


def test_planted_3_in_a_csv_fails_naming_file_row_column(public, capsys):
    path = public / "tables" / "07_tab01_ae_by_district.csv"
    lines = path.read_text().splitlines()
    assert lines[4].startswith("Gedling,*,")
    lines[4] = lines[4].replace("Gedling,*,", "Gedling,3,", 1)
    path.write_text("\n".join(lines) + "\n")
    findings = check_outputs(public)
    # the 3 itself, and its rate shown next to it is fine (the count is no longer *)
    assert findings[["file", "table", "row", "label", "column", "value", "check", "rule"]] \
        .values.tolist() == [["tables/07_tab01_ae_by_district.csv", "07_tab01_ae_by_district",
                              4, "Gedling", "n", "3", "small_count", "nhs2018"]]
    code, out, _ = _run(public, capsys)
    assert code == 1
    assert ("tables/07_tab01_ae_by_district.csv, row 4 (Gedling), column 'n': 3 - "
            "unsuppressed small count (1-7 must be shown as *) [small_count, nhs2018]") in out
    assert out.splitlines()[-1].startswith("sna check-outputs: 1 finding(s) (1 small_count) in "
                                           "1 of 5 files")


def test_planted_3_in_an_xlsx_sheet(public, capsys):
    path = public / "tables" / "tables.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Victims by age"]
    assert [c.value for c in ws[1]] == ["age", "male", "female", "Total"]
    assert [c.value for c in ws[3]] == ["18-24", "*", "*", 49]
    assert ws["C4"].value == 150
    ws["C4"] = 3
    wb.save(path)
    findings = check_outputs(public)
    assert findings[["file", "table", "row", "column", "value", "check"]].values.tolist() == [
        ["tables/tables.xlsx", "Victims by age", 3, "female", "3", "small_count"]]
    code, out, _ = _run(public, capsys)
    assert code == 1
    assert ("tables/tables.xlsx, table 'Victims by age', row 3 (25+), column 'female': 3 - "
            "unsuppressed small count (1-5 must be shown as *) [small_count, legacy5]") in out


def test_planted_3_in_an_html_table(public, capsys):
    path = public / "report.html"
    text = path.read_text()
    # the first * of the A&E table (Ashfield's count)
    new = text.replace("<td>Ashfield</td>\n      <td>*</td>", "<td>Ashfield</td>\n      <td>3</td>", 1)
    assert new != text
    path.write_text(new)
    findings = check_outputs(public)
    rows = findings[["file", "table", "row", "column", "value", "check"]].values.tolist()
    assert ["report.html", "ae", 1, "n", "3", "small_count"] in rows
    code, out, _ = _run(public, capsys)
    assert code == 1 and "report.html, table 'ae', row 1 (Ashfield), column 'n': 3" in out


def test_unrounded_count_under_nhs2018(public):
    path = public / "tables" / "07_tab01_ae_by_district.csv"
    path.write_text(path.read_text().replace("Bassetlaw,50,", "Bassetlaw,48,"))
    f = check_outputs(public)
    assert f[["row", "column", "value", "check"]].values.tolist() == [[2, "n", "48", "unrounded"]]


def test_differencing_risk_in_a_legacy5_table(public):
    path = public / "tables" / "06_tab01_victims.csv"
    text = path.read_text()
    # primary 4 and 2 (age 0-17); secondary 30 and 19 protect them from the column totals
    assert "0-17,*,*,6\n18-24,*,*,49\n" in text
    path.write_text(text.replace("18-24,*,*,49", "18-24,30,*,49"))
    f = check_outputs(public)
    assert sorted(zip(f["row"].tolist(), f["column"], f["check"])) == [
        (1, "female", "differencing"), (1, "male", "differencing"),
        (2, "female", "differencing")]
    assert f["problem"].str.startswith("differencing risk").all()
    one = f[(f["row"] == 1) & (f["column"] == "male")]["problem"].iloc[0]
    assert one == "differencing risk: it is the only suppressed cell of a column with a total"


def test_differencing_found_on_the_bridge_the_line_rule_misses(tmp_path):
    # every row and column has two * but the cell (B, c) is recoverable
    m = np.full((4, 4), 100)
    small = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)]
    df = pd.DataFrame(m, columns=list("abcd"))
    df["Total"] = df.sum(axis=1)
    df.loc[len(df)] = df.sum(axis=0)
    shown = df.astype(object)
    for i, j in small:
        shown.iat[i, j] = STAR
    shown.insert(0, "area", ["A", "B", "C", "D", "Total"])
    shown.to_csv(tmp_path / "t.csv", index=False)
    f = check_outputs(tmp_path, rules="legacy5")
    assert f[["row", "label", "column", "check"]].values.tolist() == [
        [2, "B", "c", "differencing"]]
    assert "combining rows and columns" in f["problem"].iloc[0]


def test_rate_shown_next_to_a_suppressed_count(public):
    path = public / "tables" / "07_tab01_ae_by_district.csv"
    lines = path.read_text().splitlines()
    assert lines[1] == "Ashfield,*,127000,*"
    lines[1] = "Ashfield,*,127000,2.4"
    path.write_text("\n".join(lines) + "\n")
    f = check_outputs(public)
    assert f[["row", "column", "value", "check"]].values.tolist() == [[1, "rate", "2.4",
                                                                        "derived"]]


def test_tables_without_metadata_use_the_default_rule(tmp_path, capsys):
    pd.DataFrame({"area": ["A", "B"], "n": [6, 12]}).to_csv(tmp_path / "t.csv", index=False)
    assert check_outputs(tmp_path).empty  # legacy5 by default: 6 and 12 are publishable
    f = check_outputs(tmp_path, rules="nhs2018")
    assert f["check"].tolist() == ["small_count", "unrounded"]
    assert check_outputs(tmp_path, rules={"t.csv": "none"}).empty
    code, out, _ = _run(tmp_path, capsys, rule="nhs2018")
    assert code == 1 and "t.csv, row 1 (A), column 'n': 6" in out


def test_default_rule_from_config(tmp_path):
    pd.DataFrame({"area": ["A", "B"], "n": [6, 12]}).to_csv(tmp_path / "t.csv", index=False)
    cfg = {"area": "Test", "geography": {"boundaries": "b.geojson"},
           "sources": {"police": {"format": "police_uk", "path": "p"}},
           "disclosure": {"default_rule": "nhs2018"}}
    from sna.config import load_config

    try:
        config = load_config(cfg)
    except Exception as exc:  # pragma: no cover - config requires existing files
        pytest.skip(f"config needs files: {exc}")
    assert check_outputs(tmp_path, config=config)["check"].tolist() == ["small_count",
                                                                       "unrounded"]


def test_rule_none_tables_allow_small_counts_but_not_identifiers(tmp_path):
    df = pd.DataFrame({"crime_reference": ["NT/19/1", "NT/19/2"], "n": [1, 2]})
    write_public_table(df, tmp_path / "t.csv", rule="none", counts=["n"])
    f = check_outputs(tmp_path)
    assert f[["column", "check", "rule"]].values.tolist() == [
        ["crime_reference", "identifier", "none"]]
    assert f["row"].isna().all()  # a whole column
    assert f["value"].iloc[0] == "NT/…"  # masked


@pytest.mark.parametrize("column, values, expected", [
    ("person_id", ["a", "b", "c"], "identifier"),
    ("Record ID", ["x1", "x2", "x3"], "identifier"),
    ("nhs_number", ["x", "y", "z"], "identifier"),
    ("victim", ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", ""],
     "identifier"),
    ("who", ["3f2a9c0d1b7e4a55", "0a1b2c3d4e5f6789", "c0ffee00c0ffee00"], "identifier"),
    ("ref", ["943 476 5919", "", ""], "identifier"),
    ("ref", [9434765919, None, None], "identifier"),
    ("ref", [9434765918, None, None], None),  # fails the check digit
    ("note", ["deadbeef", "0123456789", "E01000001"], None),
])
def test_identifier_detection(tmp_path, column, values, expected):
    pd.DataFrame({column: values, "n": [10, 20, 30]}).to_csv(tmp_path / "t.csv", index=False)
    f = check_outputs(tmp_path)
    assert f["check"].tolist() == ([expected] if expected else [])
    if expected:
        assert f["column"].iloc[0] == column
        assert str(values[0]) not in f["value"].iloc[0]  # identifiers are masked


def test_coordinate_detection(tmp_path):
    rng = np.random.default_rng(1)
    pts = pd.DataFrame({"x": rng.integers(440000, 460000, 30), "y": rng.integers(330000,
                                                                                 345000, 30)})
    pts.to_csv(tmp_path / "points.csv", index=False)
    # a 250 m grid of cell centres with counts: aggregated, not record level
    gx, gy = np.meshgrid(np.arange(10) * 250 + 440125, np.arange(4) * 250 + 330125)
    pd.DataFrame({"x": gx.ravel(), "y": gy.ravel(), "n": 10}).to_csv(tmp_path / "grid.csv",
                                                                      index=False)
    # precise latitude / longitude, named and unnamed
    pd.DataFrame({"area": ["A", "B"], "latitude": [52.95472, 52.9], "longitude": [-1.15, -1.2]}
                 ).to_csv(tmp_path / "named.csv", index=False)
    pd.DataFrame({"a": [52.954731, 52.95121, 53.00212], "b": [-1.150012, -1.18341, -1.20777],
                  "n": [10, 20, 30]}).to_csv(tmp_path / "unnamed.csv", index=False)
    f = check_outputs(tmp_path)
    got = sorted(zip(f["file"], f["column"], f["check"]))
    assert got == [("named.csv", "latitude", "coordinates"),
                   ("points.csv", "x", "coordinates"), ("points.csv", "y", "coordinates"),
                   ("unnamed.csv", "a", "coordinates"), ("unnamed.csv", "b", "coordinates")]


def test_point_layer_in_a_geopackage(tmp_path):
    gpd = pytest.importorskip("geopandas")
    from shapely.geometry import Point, box

    rng = np.random.default_rng(2)
    pts = gpd.GeoDataFrame({"category": ["Assault"] * 20},
                           geometry=[Point(x, y) for x, y in zip(rng.uniform(44e4, 46e4, 20),
                                                                 rng.uniform(33e4, 34e4, 20))],
                           crs="EPSG:27700")
    pts.to_file(tmp_path / "points.gpkg", layer="incidents", driver="GPKG")
    polys = gpd.GeoDataFrame({"lsoa": ["E01000001", "E01000002"], "n": [2, 40]},
                             geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:27700")
    polys.to_file(tmp_path / "areas.gpkg", layer="by_lsoa", driver="GPKG")
    f = check_outputs(tmp_path, rules="nhs2018")
    got = sorted(zip(f["file"], f["table"], f["column"], f["check"]))
    assert got == [("areas.gpkg", "by_lsoa", "n", "small_count"),
                   ("points.gpkg", "incidents", "geometry", "coordinates")]


def test_data_files_and_restricted_manifest(public):
    (public / ".cache").mkdir()
    (public / ".cache" / "incidents.parquet").write_bytes(b"PAR1")
    (public / "manifest.json").write_text(json.dumps({"build": "restricted"}))
    f = check_outputs(public)
    assert sorted(zip(f["file"], f["check"])) == [(".cache/incidents.parquet", "data_file"),
                                                  ("manifest.json", "metadata")]


def test_unreadable_file_fails_closed(public):
    (public / "tables" / "broken.xlsx").write_bytes(b"not a workbook")
    f = check_outputs(public)
    assert f[["file", "check"]].values.tolist() == [["tables/broken.xlsx", "unreadable"]]


def test_notebook_html_outputs_are_checked(tmp_path):
    table = pd.DataFrame({"area": ["A", "B"], "n": [3, 20]}).to_html(index=False)
    nb = {"cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": [
        {"output_type": "display_data", "data": {"text/html": table.splitlines(True),
                                                 "text/plain": "t"},
         "metadata": {"sna": {"kind": "table", "label": "Table 7.1",
                              "disclosure": "nhs2018"}}}]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "07_health.ipynb").write_text(json.dumps(nb))
    f = check_outputs(tmp_path)
    assert f[["file", "table", "row", "column", "check", "rule"]].values.tolist() == [
        ["chapters/07_health.ipynb", "Table 7.1", 1, "n", "small_count", "nhs2018"]]


def test_chapter_public_build_passes_and_restricted_build_fails(tmp_path):
    from sna.chapter import Chapter

    df = _health()
    pub = tmp_path / "public"
    ch = Chapter("07_health", output_dir=pub, display=False, build="public")
    ch.table(df, "ae_by_district", "A&E assaults by district.", rule="nhs2018", counts=["n"],
             derived={"rate": "n"})
    assert check_outputs(pub).empty
    res = tmp_path / "restricted"
    ch = Chapter("07_health", output_dir=res, display=False, build="restricted")
    ch.table(df, "ae_by_district", "A&E assaults by district.", sources=["ecds"])
    f = check_outputs(res)
    assert "metadata" in set(f["check"])
    small = f[f["check"] == "small_count"]
    # no config: the default rule (legacy5) finds the 3 ...
    assert small[["file", "row", "column", "value"]].values.tolist() == [
        ["tables/07_tab01_ae_by_district.csv", 1, "n", "3"]]
    # ... with the config, the table's source (ecds) says nhs2018: the 6 and 48 too
    cfg = {"area": "Test", "geography": {"boundaries": "b.geojson"},
           "sources": {"ecds": {"format": "ecds", "path": "ae.csv"}}}
    f = check_outputs(res, config=cfg)
    got = f[(f["file"] == "tables/07_tab01_ae_by_district.csv") & (f["check"] != "metadata")]
    assert sorted(zip(got["row"].tolist(), got["column"], got["check"])) == [
        (1, "n", "small_count"), (2, "n", "unrounded"), (3, "n", "unrounded"),
        (4, "n", "small_count"), (5, "n", "unrounded")]


def test_json_output(public, capsys):
    path = public / "tables" / "06_tab01_victims.csv"
    path.write_text(path.read_text().replace("0-17,*,*,6", "0-17,4,2,6"))
    code, out, _ = _run(public, capsys, json=True)
    assert code == 1
    data = json.loads(out)
    assert data["files"] == 5 and data["default_rule"] == "legacy5"
    cells = sorted((r["row"], r["column"], r["check"]) for r in data["findings"])
    # the two small counts, and the secondary cells are now alone in their columns
    assert cells == [(1, "female", "small_count"), (1, "male", "small_count"),
                     (2, "female", "differencing"), (2, "male", "differencing")]
    assert set(data["findings"][0]) == set(disclosure.FINDING_COLUMNS)


def test_missing_folder_exits_2(tmp_path, capsys):
    code, out, err = _run(tmp_path / "nope", capsys)
    assert code == 2 and out == ""
    assert "the output folder does not exist" in err and str(tmp_path / "nope") in err
    with pytest.raises(disclosure.DisclosureError):
        check_outputs(tmp_path / "nope")


def test_bad_rule_exits_2(tmp_path, capsys):
    code, _, err = _run(tmp_path, capsys, rule="strict")
    assert code == 2 and "unknown disclosure rule 'strict'" in err


def test_html_parser_handles_rowspans_and_two_header_rows(tmp_path):
    df = pd.DataFrame({"n": [3, 20, 25, 40]},
                      index=pd.MultiIndex.from_tuples([("City", "A"), ("City", "B"),
                                                       ("County", "C"), ("County", "D")],
                                                      names=["partnership", "district"]))
    (tmp_path / "r.html").write_text(df.to_html())
    f = check_outputs(tmp_path, rules="legacy5")
    assert f[["table", "row", "column", "value"]].values.tolist() == [["table 1", 1, "n", "3"]]
    assert re.search(r"City|A", str(f["label"].iloc[0]))


def test_workbook_sheets_take_the_metadata_of_their_csv(public):
    """sna.report copies every tables/*.csv into one tables.xlsx with a contents sheet: each
    sheet is checked under its CSV's rule (the police.uk table's 1 and 2 stay allowed)."""
    tables = public / "tables"
    csvs = sorted(tables.glob("*.csv"))
    contents = pd.DataFrame({"sheet": [f"sheet{k}" for k in range(len(csvs))],
                             "table": [f"Table 1.{k}" for k in range(len(csvs))],
                             "file": [f"tables/{p.name}" for p in csvs]})
    with pd.ExcelWriter(public / "tables.xlsx", engine="openpyxl") as xw:
        contents.to_excel(xw, sheet_name="contents", index=False)
        for k, p in enumerate(csvs):
            pd.read_csv(p).to_excel(xw, sheet_name=f"sheet{k}", index=False)
        # a sheet named after its CSV's stem, without a contents entry
        pd.read_csv(tables / "02_tab01_by_lsoa.csv").to_excel(xw, sheet_name="02_tab01_by_lsoa",
                                                             index=False)
    assert check_outputs(public).empty
    # and a planted 3 in the A&E sheet is found under nhs2018
    wb = openpyxl.load_workbook(public / "tables.xlsx")
    k = [p.name for p in csvs].index("07_tab01_ae_by_district.csv")
    ws = wb[f"sheet{k}"]
    assert ws["B3"].value in (50, "50")
    ws["B3"] = 48
    wb.save(public / "tables.xlsx")
    f = check_outputs(public)
    assert f[["file", "table", "row", "column", "check", "rule"]].values.tolist() == [
        ["tables.xlsx", f"sheet{k}", 2, "n", "unrounded", "nhs2018"]]


def test_public_chapter_tables_and_report_workbook_pass(tmp_path):
    """The real path: Chapter.table in a public build, then sna.report's tables.xlsx."""
    from sna.chapter import Chapter

    report = pytest.importorskip("sna.report")
    if not hasattr(report, "write_tables_xlsx"):  # pragma: no cover
        pytest.skip("sna.report.write_tables_xlsx not available")
    ch = Chapter("07_health", output_dir=tmp_path, display=False, build="public")
    ch.table(_health(), "ae_by_district", "A&E assaults.", rule="nhs2018", counts=["n"],
             derived={"rate": "n"})
    ch.table(_police_uk(), "by_lsoa", "Recorded crime by LSOA.", rule="none", counts=["n"])
    report.write_tables_xlsx(tmp_path)
    assert (tmp_path / "tables.xlsx").is_file()
    f = check_outputs(tmp_path)
    assert f.empty, f.to_string()
