"""A publication that is safe to open and to hand on: no live spreadsheet formulas, no HTML from
config or data, no raw identifiers from a partner file whose columns are shifted.

Every fixture here is synthetic: the NHS numbers are made with a valid modulus-11 check digit
from the range 999 000 0000 - 999 999 9999, which the NHS does not issue (it is kept for
testing), and the other identifiers are invented.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sna import inert
from sna.chapter import Chapter
from sna.io.interventions import read_participants
from sna.report import xlsx as workbook

KEY = b"synthetic test key, not a secret"
FORMULAS = ['=HYPERLINK("http://attacker.invalid/x","Click")', "+SUM(1,2)", "-2+3", "@cmd",
            "\tTAB=1"]


# --------------------------------------------------------------------------------------------
# 5. outputs are inert: CSV and xlsx
# --------------------------------------------------------------------------------------------
def test_inert_text_follows_owasp_and_keeps_numbers():
    for f in FORMULAS + ["\rX", "=", "-", "+x"]:
        assert inert.is_formula_like(f), f
        assert inert.inert_text(f) == "'" + f
        assert inert.uninert_text(inert.inert_text(f)) == f
    for keep in ["-20.5", "+3", "-1e-3", "-5%", "-1,234.5", "Knife crime", "a=b", "", "'=x"]:
        assert not inert.is_formula_like(keep), keep
        assert inert.inert_text(keep) == keep
    assert inert.inert_text(-20.5) == -20.5 and inert.inert_text(None) is None
    df = pd.DataFrame({"=name": ["=1+1", "ok", None], "n": [-20.5, 1.0, 2.0],
                       "cat": pd.Categorical(["@x", "y", "y"])}, index=["+i", "j", "k"])
    out = inert.inert_frame(df)
    assert out["'=name"].tolist()[:2] == ["'=1+1", "ok"] and pd.isna(out["'=name"].iloc[2])
    assert out["n"].tolist() == [-20.5, 1.0, 2.0] and out["n"].dtype == "float64"
    assert out["cat"].tolist() == ["'@x", "y", "y"]
    assert out.index.tolist() == ["'+i", "j", "k"]
    assert df["=name"].iloc[0] == "=1+1"  # the input is not changed


def _participants(tmp_path: Path) -> Path:
    """A synthetic participants file whose programme names are spreadsheet formulas."""
    rows = ["Participant ID,Programme,Start Date,Age at Start,Gender"]
    names = FORMULAS[:2] + ["Mentoring"]
    for i in range(36):
        name = names[i % 3].replace('"', '""')
        rows.append(f'SYN-{i:04d},"{name}",{1 + i % 28:02d}/06/2020,{14 + i % 6},{"FM"[i % 2]}')
    path = tmp_path / "participants.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("build", ["restricted", "public"])
def test_partner_formulas_reach_csv_and_xlsx_as_inert_text(tmp_path, build):
    p = read_participants(_participants(tmp_path), key=KEY)
    assert set(p["intervention"]) == {FORMULAS[0], FORMULAS[1], "Mentoring"}  # read as written
    table = (p.groupby("intervention").size().rename("participants").reset_index()
             .assign(change=[-20.5, 4.0, -3.25]))
    out = tmp_path / "area" / "2020-21"
    ch = Chapter("08_interventions", output_dir=out, display=False, build=build)
    ch.table(table, "by_intervention", "Participants by intervention.", sources=["participants"],
             counts=["participants"], **({"rule": "nhs2018"} if build == "public" else {}))
    csv = out / "tables" / "08_tab01_by_intervention.csv"
    text = csv.read_text(encoding="utf-8")
    cells = [line.split(",", 1)[0] for line in text.splitlines()[1:]]
    for cell in cells:
        assert not cell.lstrip('"').startswith(inert.FORMULA_STARTS), text
    assert "'+SUM(1" in text and '\'=HYPERLINK(""http://attacker.invalid' in text
    back = pd.read_csv(csv)
    assert back["change"].tolist() == [-20.5, 4.0, -3.25]  # numbers stay numbers
    (out / "manifest.json").write_text(json.dumps({"area": "Testshire", "year": "2020/21",
                                                   "build": build, "synthetic": True}))
    wb = openpyxl.load_workbook(workbook.write_tables_xlsx(out))
    ws = wb["08_tab01_by_intervention"]
    values = {}
    for row in ws.iter_rows(min_row=workbook.HEADER_ROW + 1):
        name, change = row[0], row[-1]
        assert name.data_type == "s" and name.quotePrefix == name.value.startswith(("=", "+"))
        assert isinstance(change.value, (int, float)) and change.data_type == "n"  # numbers stay numbers
        values[name.value] = change.value
    assert -20.5 in values.values()
    assert set(values) == {FORMULAS[0], FORMULAS[1], "Mentoring"}  # shown as written, as text
    for sheet in wb.worksheets:  # not one formula anywhere in the workbook
        for row in sheet.iter_rows():
            for c in row:
                assert c.data_type != "f", (sheet.title, c.coordinate, c.value)


def test_write_cell_never_writes_a_formula(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for i, v in enumerate(FORMULAS + [-20.5, "-20.5", "plain"], start=1):
        workbook.write_cell(ws, i, 1, v)
    path = tmp_path / "w.xlsx"
    wb.save(path)
    cells = [r[0] for r in openpyxl.load_workbook(path).active.iter_rows()]
    for c in cells[: len(FORMULAS)]:
        assert c.data_type == "s" and c.quotePrefix, c.value
    assert cells[len(FORMULAS)].value == -20.5 and cells[len(FORMULAS)].data_type == "n"
    assert not cells[-1].quotePrefix and not cells[-2].quotePrefix


def test_quarantine_csv_is_inert(tmp_path):
    from types import SimpleNamespace

    from sna.report import batch

    q = pd.DataFrame({"source": ["interventions"], "file": ["p.csv"], "line": [3],
                      "reason": ["bad_value"], "detail": ["+SUM(1,2) is not known"],
                      "record": ['{"Programme": "=1+1"}']})
    batch._write_quarantine(SimpleNamespace(quarantine=q), tmp_path, "restricted")
    lines = (tmp_path / "quarantine.csv").read_text().splitlines()
    assert lines[1].startswith("interventions,p.csv,3,bad_value,\"'+SUM(1,2) is not known\",")


# --------------------------------------------------------------------------------------------
# 5. outputs are inert: HTML, Word and slides
# --------------------------------------------------------------------------------------------
AREA = "<img src=x onerror=alert(1)>"


def _chapter_notebook(out: Path, monkeypatch) -> Path:
    """The first chapter's sentences as 00_data_quality.ipynb writes them, with the config's
    area filled in, captured as the executed notebook's outputs."""
    import IPython.display
    import nbformat

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    ch = Chapter("00_data_quality", output_dir=out, display=True)
    ch.say(f"This assessment covers **{AREA}** for the financial year **2020/21** (April 2020 "
           "to March 2021).")
    ch.heading(f"Sources of {AREA}")
    ch.bullets([f"{AREA} & A&E attendances", "[a link](javascript:alert(2))"])
    ch.not_available("funnel plot", f"A funnel plot compares three or more areas; {AREA} has "
                                    "one.")
    ch.table(pd.DataFrame({"district": [AREA], "n": [12]}), "by_district", f"Offences in {AREA}.",
             sources=[])
    outputs = []
    for obj in shown:
        data, meta = obj._repr_mimebundle_()
        outputs.append(nbformat.v4.new_output("display_data", data=data, metadata=meta))
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 0. Data and data quality"),
        nbformat.v4.new_code_cell("ch.say(...)", outputs=outputs)])
    (out / "chapters").mkdir(parents=True, exist_ok=True)
    path = out / "chapters" / "00_data_quality.ipynb"
    nbformat.write(nb, str(path))
    (out / "manifest.json").write_text(json.dumps({"area": AREA, "year": "2020/21",
                                                   "build": "restricted", "synthetic": True}))
    return path


def test_config_area_is_text_in_report_and_chapter_html(tmp_path, monkeypatch):
    from sna.report import assemble_report, export_chapter_html

    out = tmp_path / "run"
    nb = _chapter_notebook(out, monkeypatch)
    report = assemble_report(out, area=AREA, year="2020/21", synthetic=True).read_text()
    chapter = export_chapter_html(nb, out / "chapters" / "00_data_quality.html").read_text()
    for name, page in (("report.html", report), ("chapter html", chapter)):
        assert "<img src=x" not in page, name  # no live tag anywhere
        assert "javascript:alert(2)" not in page.replace("[a link](javascript:alert(2))", ""), name
        # the area is shown as written: in the prose, the heading, the list, the note, the table
        shown = page.count("&lt;img src=x onerror=alert(1)&gt;") + page.count(
            "&lt;img src=x onerror=alert(1)>")
        assert shown >= 6, (name, shown)
        assert "A&amp;E attendances" in page and "A&amp;amp;E" not in page, name


def test_word_and_slides_carry_text_only(tmp_path, monkeypatch):
    import zipfile

    from sna import office

    out = tmp_path / "run"
    _chapter_notebook(out, monkeypatch)
    docx = office.write_docx(out)
    with zipfile.ZipFile(docx) as z:
        xml = z.read("word/document.xml").decode("utf-8")
        names = z.namelist()
    assert "<img" not in xml and "&lt;img src=x onerror=alert(1)&gt;" in xml
    assert "A&amp;E attendances" in xml and "&amp;amp;" not in xml  # text as written, once
    assert "w:hyperlink" not in xml and "fldSimple" not in xml  # no links, no live fields
    assert xml.count("<w:instrText") == 1 and " TOC " in xml  # only the contents field
    assert not [n for n in names if "embeddings" in n or "vbaProject" in n]
    from docx import Document

    text = "\n".join(p.text for p in Document(str(docx)).paragraphs)
    assert f"This assessment covers {AREA} for the financial year" in text
    assert "[a link](javascript:alert(2))" in text  # shown as typed, not a link


# --------------------------------------------------------------------------------------------
# 4. identifiers never leave the reader
# --------------------------------------------------------------------------------------------
def synthetic_nhs_numbers(n: int, start: int = 999_000_100) -> list[str]:
    """``n`` NHS numbers with a valid check digit from the range kept for testing (999...),
    which is never issued to a patient: synthetic."""
    out = []
    base = start
    while len(out) < n:
        d = [int(c) for c in f"{base:09d}"]
        check = 11 - sum(w * x for w, x in zip(range(10, 1, -1), d)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            out.append(f"{base:09d}{check}")
        base += 1
    return out


ECDS_HEADER = ("Attendance ID,NHS Number,Arrival Date,Arrival Time,Assault Date,Assault Method,"
               "Home LSOA,Patient Age,Patient Gender,Site Code")


def _spaced(nhs: str) -> str:
    return f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"


def shifted_ecds(folder: Path, rows: int = 40, *, lsoa: str = "E01033406",
                 month: str = "06/2020") -> tuple[Path, list[str]]:
    """A synthetic A&E file of ``rows`` good attendances at the demo's City Hospital site, then
    four rows whose columns are shifted: NHS numbers in the home LSOA, age and sex columns,
    attendance IDs in the arrival and assault date columns. Returns the file and every
    identifier written in it (as written and as ten digits)."""
    nhs = synthetic_nhs_numbers(rows + 4)
    lines = [ECDS_HEADER]
    for i in range(rows):
        lines.append(f"SYN01-2000{i:04d},{_spaced(nhs[i])},{13 + i % 16:02d}/{month},"
                     f"{i % 24:02d}:15,{13 + i % 16:02d}/{month},Knife or sharp object,"
                     f"{lsoa},{18 + i % 40},{1 + i % 2},RX1RA")
    a, b, c, d = nhs[rows:rows + 4]
    lines += [  # shifted rows (one column lost, or pasted one to the right)
        f"SYN01-20009001,{_spaced(a)},23/{month},10:00,23/{month},Knife or sharp object,"
        f"{_spaced(a)},{a},{_spaced(a)},RX1RA",
        f"SYN01-20009002,{b},SYN01-20009002,10:00,23/{month},Body part,{lsoa},30,1,RX1RA",
        f"SYN01-20009003,{c},24/{month},11:00,SYN01-20009003,{_spaced(c)},{lsoa},31,2,RX1RA",
        # a patient already seen, their NHS number in the sex column
        f"SYN01-20009004,{d},25/{month},12:00,25/{month},Body part,{lsoa},22,"
        f"{_spaced(nhs[0])},RX1RA",
    ]
    path = folder / "istv_SYN01.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ids = [x for n in nhs for x in (n, _spaced(n))] + [f"SYN01-2000{i:04d}" for i in range(rows)]
    ids += [f"SYN01-2000900{k}" for k in range(1, 5)]
    return path, ids


def _leaks(text: str, ids: list[str]) -> list[str]:
    return [i for i in ids if i in text]


def test_synthetic_nhs_numbers_have_valid_check_digits():
    from sna.privacy import nhs_number_valid

    nums = synthetic_nhs_numbers(50)
    assert all(n.startswith("999") for n in nums)
    assert nhs_number_valid(pd.Series(nums + [_spaced(n) for n in nums])).all()
    # the published example of the NHS Data Dictionary, and one digit changed
    assert nhs_number_valid(pd.Series(["943 476 5919", "943-476-5919", 9434765919.0])).all()
    assert not nhs_number_valid(pd.Series(["943 476 5918", "9434765910", "94347659190",
                                           "12345", "E01033406", "2020-06-03"])).any()


def test_identifiers_in_shifted_columns_never_leave_the_reader(tmp_path, caplog):
    import logging

    from sna.io.health import read_ecds
    from sna.privacy import Pseudonymiser

    path, ids = shifted_ecds(tmp_path)
    with caplog.at_level(logging.DEBUG, logger="sna"):
        ed = read_ecds(path, key=KEY)
    notes = ed.attrs["sna"]["notes"]
    everything = "\n".join([ed.astype(str).to_csv(), json.dumps(ed.attrs["sna"], default=str),
                            caplog.text])
    assert _leaks(everything, ids) == []
    # what was found, and where, without the values
    assert ed.attrs["sna"]["identifiers_found_elsewhere"] == {
        "Arrival Date": 1, "Assault Date": 1, "Assault Method": 1, "Home LSOA": 1,
        "Patient Age": 1, "Patient Gender": 2}
    assert any("look like identifiers" in n and "line 42" in n for n in notes), notes
    # rows set aside keep the row pseudonymised, never the raw line
    aside = ed[ed["set_aside"].notna()]
    assert sorted(aside["line"].tolist()) == [42, 43]  # impossible age; no arrival date
    rec = json.loads(aside.loc[aside["line"] == 42, "record"].iloc[0])
    p = Pseudonymiser(KEY)
    nhs_a = ids[2 * 40]
    assert rec["Patient Age"] == f"[id {p.one(nhs_a)}]" == rec["Home LSOA"]
    assert rec["NHS Number"] == p.one(nhs_a)  # the same person, the same pseudonym
    detail = aside.loc[aside["line"] == 43, "set_aside_detail"].iloc[0]
    assert detail.startswith("column 'Arrival Date' (date): '[id ") and "is not a date" in detail
    # kept rows: the stray values are unknown, never a category or a name
    kept = ed[ed["set_aside"].isna()]
    assert kept["weapon"].dropna().str.contains(r"\[id").sum() == 0
    row44 = kept[kept["line"] == 44].iloc[0]
    assert pd.isna(row44["assault_date"]) and pd.isna(row44["weapon"])
    row45 = kept[kept["line"] == 45].iloc[0]
    assert pd.isna(row45["sex"])
    assert ed.loc[ed["line"] == 2, "person_id"].iloc[0] == p.one(ids[0])
    # good rows are untouched
    assert kept[kept["line"] < 42]["age"].notna().all() and kept[kept["line"] < 42]["sex"].notna().all()


def test_identifiers_are_removed_without_a_key_when_the_file_has_no_identifier_column(tmp_path):
    from sna.io.health import read_ecds

    path, ids = shifted_ecds(tmp_path, rows=3)
    text = path.read_text().splitlines()
    cut = [",".join(line.split(",")[2:]) for line in text]  # no Attendance ID, no NHS Number
    path.write_text("\n".join(cut) + "\n")
    ed = read_ecds(path)
    assert _leaks(ed.astype(str).to_csv() + json.dumps(ed.attrs["sna"], default=str),
                  [i for i in ids if i[0].isdigit()]) == []
    rec = json.loads(ed.loc[ed["line"] == 5, "record"].iloc[0])
    assert rec["Patient Age"] == "[identifier removed]"


def test_quality_note_examples_never_show_an_nhs_number(tmp_path):
    from sna.io.interventions import read_participants

    nhs = synthetic_nhs_numbers(1)[0]
    path = tmp_path / "p.csv"
    path.write_text("Participant ID,Programme,Start Date,Gender,Home LSOA\n"
                    f"SYN-1,Mentoring,23/06/2020,F,{nhs[:3]}-{nhs[3:6]}-{nhs[6:]}\n"
                    f"SYN-2,Mentoring,23/06/2020,X {nhs},E01033406\n"
                    f"SYN-3,Mentoring,23/06/2020,X {nhs}9,E01033406\n")
    p = read_participants(path, key=KEY)
    notes = " ".join(p.attrs["sna"]["notes"])
    assert nhs not in notes and nhs[:3] + "-" not in notes, notes
    assert "Gender" in notes and "e.g. 'X [id " in notes  # the number inside text replaced
    assert p.loc[1, "record"] is pd.NA or nhs not in str(p.loc[1, "record"])
    from sna.privacy import redact_nhs_numbers

    assert redact_nhs_numbers(f"e.g. 'X {nhs}' at f line 3") == "e.g. 'X [NHS number]' at f line 3"


SAMPLE = Path(__file__).resolve().parents[1] / "sna" / "datasets" / "nottingham-sample"


def _shifted_config(tmp_path: Path) -> tuple[Path, list[str]]:
    """The Nottingham sample with a synthetic A&E source whose last rows are shifted."""
    (tmp_path / "ecds").mkdir()
    _, ids = shifted_ecds(tmp_path / "ecds", lsoa="E01013810", month="11/2018")
    (tmp_path / "key.txt").write_text("synthetic test key, not a secret\n")
    cfg = tmp_path / "sna.yml"
    cfg.write_text(f"""area: Shifted columns test (synthetic A&E)
synthetic: true
year: 2018/19
baseline_years: 1
partnerships:
  Nottingham City: [E06000018]
geography:
  boundaries: {SAMPLE}/boundaries/E06000018.json
  population: {SAMPLE}/population/population19_lsoa11.csv
  population_year: 2019
  imd: {SAMPLE}/imd/File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv
sources:
  police:
    format: police_uk
    path: {SAMPLE}/police/
  ecds:
    format: ecds
    path: ecds/
privacy:
  key_file: key.txt
""")
    return cfg, ids


@pytest.mark.slow
def test_shifted_identifiers_reach_no_output_of_either_build(tmp_path):
    """quarantine.csv, the Parquet cache, quality.json, the run log, the appendix (table,
    chapter HTML, notebook) and report.html of both builds hold no raw identifier."""
    from sna import report

    cfg, ids = _shifted_config(tmp_path)
    seen = []
    for build in ("restricted", "public"):
        res = report.run(cfg, chapters="00,09", build=build, output=tmp_path / build, jobs=1,
                         progress=False)
        assert res.exit_code in (0, 1), build
        files = [p for p in tmp_path.rglob("*") if p.is_file() and tmp_path / "ecds" not in
                 p.parents and p.suffix in (".csv", ".json", ".html", ".ipynb", ".log", ".txt",
                                            ".parquet", ".xlsx", ".md")]
        for p in files:
            data = p.read_bytes()
            if p.suffix == ".parquet":
                import pyarrow as pa
                import pyarrow.parquet as pq

                t = pq.read_table(p)
                t = t.select([f.name for f in t.schema if not pa.types.is_binary(f.type)])
                data = t.to_pandas().astype(str).to_csv().encode()
            text = data.decode("utf-8", errors="replace")
            leaks = _leaks(text, ids)
            assert leaks == [], (build, str(p.relative_to(tmp_path)), leaks[:3])
            seen.append(p.name)
    assert "quarantine.csv" in seen and "quality.json" in seen
    assert any(n.endswith(".parquet") for n in seen) and any(n.startswith("09_") for n in seen)
    q = pd.read_csv(next((tmp_path / "restricted").rglob("quarantine.csv")))
    ecds = q[q["source"] == "ecds"]
    assert len(ecds) == 2 and ecds["record"].str.contains(r"\[id ").all()


def test_narrative_html_is_text_in_the_report(tmp_path, monkeypatch):
    from sna.narrative import parse_narrative
    from sna.report import assemble_report

    out = tmp_path / "run"
    _chapter_notebook(out, monkeypatch)
    sections = parse_narrative("## Recommendations\n\n<!-- prompt: say what -->\n"
                               "1. Fund <script>alert(3)</script> outreach & A&E feeds.\n")
    page = assemble_report(out, area="Testshire", year="2020/21", narrative=sections).read_text()
    assert "<script>alert(3)" not in page and "&lt;script&gt;alert(3)" in page
    assert "prompt: say what" not in page and "outreach &amp; A&amp;E feeds" in page


def test_lsoa_codes_are_never_taken_for_person_numbers_of_the_same_shape(tmp_path):
    """The demo's victim numbers (N38748029) have the shape of LSOA codes (E01028281)."""
    from sna.io.police_extract import read_police_extract

    path = tmp_path / "crimes.csv"
    path.write_text("Crime Reference,Committed From Date,HO Class Code,LSOA Code,Victim Nominal,"
                    "Victim Age\n"
                    "NT/20/000001,23/06/2020,34B,E01028281,N38748029,24\n"
                    "NT/20/000002,24/06/2020,8N,E01013846,N95319179,N38748029\n")
    df = read_police_extract(path, key=KEY)
    assert df["lsoa"].tolist() == ["E01028281", "E01013846"]
    assert df.attrs["sna"]["identifiers_found_elsewhere"] == {"Victim Age": 1}
    assert "N38748029" not in df.astype(str).to_csv()
