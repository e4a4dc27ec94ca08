"""tables.xlsx to the Analysis Function's standard for releasing statistics in spreadsheets:
cover, contents and notes sheets, one table per sheet with its title and source, a frozen
header row, numbers stored as numbers with formats, no merged cells; and CSVs rounded to the
precision the report shows."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sna.report import xlsx as workbook
from sna.chapter import Chapter


def _folder(tmp_path: Path, *, public: bool = False) -> Path:
    out = tmp_path / "area" / "2020-21"
    ch = Chapter("02_volume_and_trend", output_dir=out, display=False)
    ch.table(pd.DataFrame({"district": ["Ashfield", "Bassetlaw"], "n": [1200, 35],
                           "rate_per_1000": [9.3751234, 0.30412345],
                           "share": [0.97165991902, 0.02834008097],
                           "empty": [None, None]}),
             "by_district", "Serious violence by district.", sources=["police"],
             formats={"share": "{:.1%}"})
    ch.table(pd.DataFrame({"measure": ["All serious violence"], "p_value": [3.1e-37],
                           "pct_change": [-37.001989030197095]}),
             "table_a", "Table A.", sources=["police"])
    ch.table(pd.DataFrame({"method": ["Gi*"], "note": ["two-sided"]}), "methods", "Methods.",
             sources=[])
    if public:  # what the public build leaves beside a CSV
        for csv in (out / "tables").glob("*.csv"):
            csv.with_name(csv.stem + ".meta.json").write_text(json.dumps(
                {"table": csv.stem, "rule": "nhs2018", "counts": ["n"], "derived": {},
                 "total_rows": [], "total_columns": []}))
        table = out / "tables" / "02_tab01_by_district.csv"
        table.write_text(table.read_text().replace(",35,", ",*,"))
    (out / "manifest.json").write_text(json.dumps({"area": "Testshire", "year": "2020/21",
                                                   "build": "public" if public else
                                                   "restricted", "synthetic": True}))
    return out


def test_csvs_carry_the_numbers_as_the_report_shows_them(tmp_path):
    out = _folder(tmp_path)
    lines = (out / "tables" / "02_tab01_by_district.csv").read_text().splitlines()
    assert lines[1] == "Ashfield,1200,9.38,0.972,"  # 2 decimals from 1, a share at 0.1%
    assert lines[2] == "Bassetlaw,35,0.304,0.028,"
    a = (out / "tables" / "02_tab02_table_a.csv").read_text().splitlines()[1]
    assert a == "All serious violence,0.0,-37.0"  # no 16-digit tails


def test_workbook_meets_the_spreadsheet_standard(tmp_path):
    out = _folder(tmp_path)
    path = workbook.write_tables_xlsx(out, source_words={"police": "Police recorded crime"})
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Cover", "Contents", "Notes", "02_tab01_by_district",
                             "02_tab02_table_a", "02_tab03_methods"]
    # cover, contents (linked), notes
    cover = [c.value for c in wb["Cover"]["A"] if c.value]
    assert cover[0].startswith("Serious violence needs assessment: tables for Testshire, 2020/21")
    assert "Synthetic data" in cover
    contents = wb["Contents"]
    assert [c.value for c in contents[3]] == ["Sheet", "Table", "Title", "File",
                                              "Disclosure control"]
    assert contents["A4"].value == "02_tab01_by_district"
    assert contents["A4"].hyperlink.location == "'02_tab01_by_district'!A1" or \
        contents["A4"].hyperlink.target == "#'02_tab01_by_district'!A1"
    assert contents["C4"].value == "Serious violence by district."
    notes = [r for r in wb["Notes"].iter_rows(min_row=4, values_only=True)]
    assert notes[0][0] == "[note 1]" and "rounded" in notes[0][1]
    for ws in wb.worksheets:
        assert not ws.merged_cells.ranges, ws.title  # no merged cells anywhere
        assert isinstance(ws["A1"].value, str) and ws["A1"].font.bold  # a title in A1
    for name in wb.sheetnames[3:]:  # one table per sheet
        ws = wb[name]
        assert ws["A2"].value.startswith("This worksheet contains one table")
        assert ws.freeze_panes == f"A{workbook.HEADER_ROW + 1}"  # the header stays in view
        assert len(ws.tables) == 1
        header = [c.value for c in ws[workbook.HEADER_ROW]]
        assert all(isinstance(h, str) and h for h in header)
    ws = wb["02_tab01_by_district"]
    assert ws["A3"].value == "Source: Police recorded crime."
    assert wb["02_tab03_methods"]["A3"].value.startswith("Reference data")
    row = [c for c in ws[workbook.HEADER_ROW + 1]]
    # numbers are numbers, with formats
    assert row[1].value == 1200 and row[1].data_type == "n" and row[1].number_format == "#,##0"
    assert row[2].value == 9.38 and row[2].number_format == "#,##0.000"
    assert row[3].value == 0.972 and row[3].number_format == "0.0%"
    assert row[4].value is None  # an empty column stays empty, not "nan"
    assert wb["02_tab02_table_a"].cell(workbook.HEADER_ROW + 1, 2).value == 0
    # restricted build: no checker metadata
    assert not (out / "tables.meta.json").exists()


def test_public_workbook_keeps_suppressed_cells_and_lists_every_sheet(tmp_path):
    out = _folder(tmp_path, public=True)
    path = workbook.write_tables_xlsx(out)
    ws = openpyxl.load_workbook(path)["02_tab01_by_district"]
    assert ws.cell(workbook.HEADER_ROW + 2, 2).value == "*"
    assert ws.cell(workbook.HEADER_ROW + 1, 2).value == 1200
    meta = json.loads((out / "tables.meta.json").read_text())
    tables = [t["table"] for t in meta["tables"]]
    assert tables[:3] == ["Cover", "Contents", "Notes"] and "02_tab01_by_district" in tables
    rec = next(t for t in meta["tables"] if t["table"] == "02_tab01_by_district")
    assert rec["header_row"] == workbook.HEADER_ROW and rec["counts"] == ["n"]
    notes = [r[1] for r in openpyxl.load_workbook(path)["Notes"].iter_rows(
        min_row=4, values_only=True)]
    assert any("withheld by statistical disclosure control" in n for n in notes)


def test_no_tables_no_workbook(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables.xlsx").write_bytes(b"stale")
    assert workbook.write_tables_xlsx(tmp_path) is None
    assert not (tmp_path / "tables.xlsx").exists()


@pytest.mark.parametrize("value, expected", [("35", 35), ("2.5", 2.5), ("-1e-05", -1e-05),
                                             ("*", "*"), ("True", True), ("E06000018",
                                                                           "E06000018")])
def test_csv_text_becomes_numbers(value, expected):
    assert workbook._number(value) == expected


def test_a_table_with_an_empty_column_is_not_called_truncated(tmp_path):
    ch = Chapter("08_interventions", output_dir=tmp_path, display=False)
    shown = []
    ch._show = lambda data, meta: shown.append(data)
    ch.table(pd.DataFrame({"group": ["a", "b"], "n": [1, 2], "cohort_n": [None, None]}),
             "reach", "Reach.", sources=[])
    html = shown[-1]["text/html"]
    assert "cohort n" not in html.split("<tbody>")[0]  # the empty column is left out ...
    assert "Not shown, as no row has a value: cohort n." in html  # ... and said so
    assert "First 2 of 2 rows" not in html
    assert "cohort_n" in (tmp_path / "tables" / "08_tab01_reach.csv").read_text()  # CSV keeps it
