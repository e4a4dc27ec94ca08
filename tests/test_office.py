"""Tests of sna.office (the Word needs assessment, the board paper, slides) and sna.narrative.

Each document is read back with python-docx (headings, real Word tables, embedded pictures
with alt text) and, where LibreOffice is installed, converted to PDF headlessly: a document
that needs repair does not convert."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import nbformat
import pandas as pd
import pytest
from docx import Document

from sna import chapter_outputs, narrative, office
from sna.chapter import CHAPTER_TITLES, table_html
from sna.errors import ConfigError, SnaError

#: The measures of the seed board report's Table A (Nottingham and Nottinghamshire VRU,
#: November 2021), in the library's names.
SEED_MEASURES = ["All serious violence", "Violence against the person", "Knife-enabled robbery",
                 "Sexual offences", "Knife possession"]

TABLE_A = pd.DataFrame({
    "measure": ["All serious violence", "Homicide", "Violence against the person",
                "Sexual offences", "Knife-enabled robbery", "Knife possession"],
    "current": [10452, 12, 23166, 2337, 232, 744],
    "baseline_mean": [16591.0, 14.0, 32175.0, 3245.0, 375.0, 774.6666666666666],
    "baseline_min": [15629, 14, 30550, 3069, 345, 686],
    "baseline_max": [17380, 14, 33475, 3366, 405, 858],
    "pct_change": [-37.001989030197095, -14.28571428571429, -28.000000000000004,
                   -27.98151001540832, -38.13333333333333, -3.9586919104991347],
    "rate_ratio": [0.6299801096980291, 0.8571428571428571, 0.72, 0.7201848998459168,
                   0.6186666666666667, 0.9604130808950087],
    "rr_lower": [0.6167760116279295, 0.41077995286991986, 0.7097191346695535,
                 0.6881016306911382, 0.5347988199077789, 0.8831209739527044],
    "rr_upper": [0.6434203076483056, 1.658378541153568, 0.730406924054947, 0.753526427368305,
                 0.7131988291622399, 1.0435269479221128],
    "p_value": [0.0, 0.7538671989286141, 0.0, 5.679076676779783e-49, 2.904710782812662e-12,
                0.3481820379716849],
    "significant": [True, False, True, True, True, False],
    "reliable": [True] * 6,
})


def _png() -> bytes:
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2, 3], [3, 1, 2])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72)
    plt.close(fig)
    return buf.getvalue()


def _display(data: dict, meta: dict) -> dict:
    return nbformat.v4.new_output("display_data", data=data, metadata={"sna": meta})


def _chapter(out: Path, name: str, title: str, *, tables=(), figures=(), prose=()) -> None:
    """An executed chapter as `sna run` leaves it: notebook outputs with `sna` metadata, the
    sidecar and the tables' CSVs."""
    num = int(name[:2])
    cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nWhat this chapter shows."),
             nbformat.v4.new_markdown_cell("## A section")]
    outputs, side = [], {"chapter": name, "number": num, "title": title, "tables": [],
                         "figures": [], "maps": [], "notes": [], "parameters": {}}
    for text in prose:
        outputs.append(_display({"text/markdown": text, "text/plain": text}, {"kind": "prose"}))
    for k, (tname, caption, df) in enumerate(tables, start=1):
        label, file = f"Table {num}.{k}", f"tables/{name[:2]}_tab{k:02d}_{tname}.csv"
        (out / "tables").mkdir(parents=True, exist_ok=True)
        df.to_csv(out / file, index=False)
        body = (f'<div class="sna-tablewrap"><p class="sna-caption"><strong>{label}.</strong> '
                f'{caption}</p>{table_html(df)}<p class="sna-tablenote">A note.</p></div>')
        outputs.append(_display({"text/html": body, "text/plain": label},
                                {"kind": "table", "label": label, "caption": caption,
                                 "file": file}))
        side["tables"].append({"label": label, "name": tname, "caption": caption, "file": file})
    for k, (fname, caption) in enumerate(figures, start=1):
        label = f"Figure {num}.{k}"
        outputs.append(_display({"image/png": base64.b64encode(_png()).decode(),
                                 "text/plain": label},
                                {"kind": "figure", "label": label, "caption": caption,
                                 "source": "Source: police."}))
        outputs.append(_display({"text/markdown": f"**{label}.** {caption}"},
                                {"kind": "caption", "of": label}))
        side["figures"].append({"label": label, "name": fname, "caption": caption,
                                "file": f"figures/{name[:2]}_fig{k:02d}_{fname}.png"})
    code = nbformat.v4.new_code_cell("ch.work()")
    code.outputs = outputs
    nb = nbformat.v4.new_notebook(cells=[*cells, code])
    (out / "chapters").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(out / "chapters" / f"{name}.ipynb"))
    (out / "chapters" / f"{name}.json").write_text(json.dumps(side), encoding="utf-8")


@pytest.fixture
def run_folder(tmp_path) -> Path:
    out = tmp_path / "area" / "2020-21"
    _chapter(out, "01_key_findings", "1. Key findings",
             tables=[("table_a", "Police-recorded crime in 2020/21 against the annual average "
                      "of 2017/18 to 2019/20.", TABLE_A),
                     ("success_measures", "The VRU success measures.",
                      pd.DataFrame({"measure": ["Knife homicides"], "n": [4],
                                    "empty": [None]}))],
             figures=[("table_a", "Percentage change with 95% intervals.")],
             prose=["**10,452** offences of serious violence, *fewer* than the baseline."])
    _chapter(out, "04_geography", "4. Geography",
             figures=[(m, f"The {m}.") for m in office.BOARD_MAPS])
    _chapter(out, "08_interventions", "8. Interventions",
             tables=[("reach_level", "Participants by level.",
                      pd.DataFrame({"group": ["universal", "secondary"], "n": [890, 439]})),
                     ("costs", "Costs.", pd.DataFrame({
                         "dimension": ["intervention", "funding_stream", "funding_stream"],
                         "group": ["Boxing", "Core grant", "Youth Endowment Fund"],
                         "interventions": [1, 20, 2], "cost": [14500.0, 583500.0, 1020000.0]}))])
    (out / "manifest.json").write_text(json.dumps({
        "area": "Testshire", "year": "2020/21", "build": "restricted", "synthetic": True}))
    return out


def _headings(doc, level: int | None = None) -> list[str]:
    return [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")
            and (level is None or p.style.name == f"Heading {level}")]


def _alt_texts(doc) -> list[str]:
    return [el.get("descr") for el in doc.element.body.iter()
            if el.tag.endswith("}docPr")]


def _convert(path: Path, tmp_path: Path) -> Path:
    """LibreOffice's headless conversion to PDF (its own profile, so runs never clash)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed: the PDF conversion check needs it")
    profile = tmp_path / "lo-profile"
    done = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path / "pdf"), str(path)],
        capture_output=True, text=True, timeout=240)
    pdf = tmp_path / "pdf" / (path.stem + ".pdf")
    assert done.returncode == 0 and pdf.exists(), done.stderr
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5000
    return pdf


# --------------------------------------------------------------------------------------------
# numbers in board form
# --------------------------------------------------------------------------------------------


def test_format_p_never_prints_zero():
    assert [office.format_p(p) for p in (0.0, 3.1e-37, 0.00099, 0.001, 0.0123, 0.0499, 0.35,
                                         1.0)] == [
        "p < 0.001", "p < 0.001", "p < 0.001", "p = 0.001", "p = 0.012", "p = 0.050",
        "p = 0.35", "p = 1.00"]
    assert office.format_p(None) == "" and office.format_p(float("nan")) == ""
    assert office.format_p("*") == "*"  # a suppressed cell passes through


def test_table_a_board_form_from_the_statistical_table():
    board = office.table_a_board(TABLE_A, year="2020/21", baseline="2017/18 to 2019/20")
    assert list(board.columns) == ["Measure", "2020/21", "Baseline average (2017/18 to 2019/20)",
                                   "Change", "95% interval", "Significant"]
    row = board.set_index("Measure").loc["All serious violence"]
    # the seed's "Down 37%": the same number, with its interval and test
    assert row.tolist() == ["10,452", "16,591", "−37%", "−38% to −36%", "Yes (p < 0.001)"]
    homicide = board.set_index("Measure").loc["Homicide"]
    assert homicide["95% interval"] == "−59% to +66%" and homicide["Significant"] == \
        "No (p = 0.75)"
    assert board.set_index("Measure").loc["Knife possession", "Change"] == "−4%"
    # a suppressed count (public build) is shown as published
    pub = TABLE_A.astype(object).copy()
    pub.loc[1, "current"] = "*"
    assert office.table_a_board(pub).iloc[1, 1] == "*"
    with pytest.raises(SnaError, match="lacks the column"):
        office.table_a_board(TABLE_A.drop(columns="pct_change"))


def test_funding_summed_by_stream(run_folder, tmp_path):
    f = office.funding_by_stream(run_folder)
    assert f["stream"].tolist() == ["Youth Endowment Fund", "Core grant"]
    assert f["cost"].tolist() == [1020000.0, 583500.0]
    assert office.funding_by_stream(tmp_path) is None  # no interventions chapter


# --------------------------------------------------------------------------------------------
# the Word needs assessment
# --------------------------------------------------------------------------------------------


def test_docx_reads_back_with_chapters_tables_figures_and_narrative(run_folder, tmp_path):
    narr = narrative.write_template(tmp_path / "narrative.md", area="Testshire")
    text = narr.read_text().replace(
        "<!-- prompt: The risk and protective factors behind serious violence here (individual, "
        "family, peers, school, community), with their evidence. -->",
        "Exclusion from school is the strongest **risk factor** here.")
    narr.write_text(text)
    path = office.write_docx(run_folder, narrative=narr)
    assert path == run_folder / "report.docx"
    doc = Document(str(path))
    h1 = _headings(doc, 1)
    assert ["1. Key findings", "4. Geography", "8. Interventions"] == [
        h for h in h1 if h[0].isdigit()]
    # every narrative section has a heading, after the chapter it belongs with
    for _key, heading, _prompt, _after in narrative.SECTIONS:
        assert heading in h1
    assert h1.index("Recommendations") == h1.index("1. Key findings") + 1
    assert h1.index("Funding") > h1.index("8. Interventions")
    body = "\n".join(p.text for p in doc.paragraphs)
    assert "Exclusion from school is the strongest risk factor here." in body
    assert "This section has not been written yet." in body  # an untouched prompt
    assert "The risk and protective factors" not in body  # prompts are not published
    assert "A section" in _headings(doc, 2)
    # the banners and the contents
    assert "Synthetic data." in body and "Restricted." in body
    assert "Contents" in h1
    assert 'TOC \\o "1-2"' in doc.element.xml
    # real Word tables with the report's numbers; the empty column left out
    ta = next(t for t in doc.tables if t.rows[1].cells[0].text == "All serious violence")
    assert ta.rows[0].cells[0].text == "measure"
    assert ta.rows[1].cells[1].text == "10,452"
    success = [t for t in doc.tables if t.rows[1].cells[0].text == "Knife homicides"][0]
    assert [c.text for c in success.rows[0].cells] == ["measure", "n"]
    assert 'w:tblHeader' in ta._tbl.xml  # the header row repeats on each page
    assert ta.rows[1].cells[1].paragraphs[0].alignment == 2  # numbers right-aligned
    # figures with captions and alt text
    assert len(doc.inline_shapes) == 4
    alts = _alt_texts(doc)
    assert "Figure 1.1: Percentage change with 95% intervals." in alts
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption"]
    assert "Figure 4.2. The lisa_map. Source: police." in captions
    assert any(c.startswith("Table 1.1. Police-recorded crime") for c in captions)
    # the prose keeps its emphasis
    para = next(p for p in doc.paragraphs if p.text.startswith("10,452 offences"))
    assert para.runs[0].bold and any(r.italic for r in para.runs)
    _convert(path, tmp_path)


def test_docx_with_a_vru_template_uses_its_styles(run_folder, tmp_path):
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Cm

    tpl = Document()
    tpl.add_paragraph("Template text that must not be copied")
    tpl.styles.add_style("VRU Heading 1", WD_STYLE_TYPE.PARAGRAPH).base_style = \
        tpl.styles["Heading 1"]
    tpl.sections[0].left_margin = Cm(2)  # the VRU's page set-up
    tpl.save(str(tmp_path / "vru.docx"))
    path = office.write_docx(run_folder, tmp_path / "out.docx", template=tmp_path / "vru.docx",
                             styles={"heading1": "VRU Heading 1", "caption": "No such style"})
    doc = Document(str(path))
    assert "1. Key findings" in [p.text for p in doc.paragraphs
                                 if p.style.name == "VRU Heading 1"]
    assert "Template text" not in "\n".join(p.text for p in doc.paragraphs)
    assert abs(doc.sections[0].left_margin - Cm(2)) < Cm(0.01)
    # an unknown style falls back to Word's own
    assert any(p.style.name == "Caption" for p in doc.paragraphs)
    with pytest.raises(SnaError, match="does not exist"):
        office.write_docx(run_folder, template=tmp_path / "missing.docx")


def test_docx_of_a_folder_without_chapters_says_to_run_first(tmp_path):
    with pytest.raises(SnaError, match="run `sna run` first"):
        office.write_docx(tmp_path)
    with pytest.raises(SnaError, match="run `sna run` first"):
        office.write_board_paper(tmp_path)


# --------------------------------------------------------------------------------------------
# the board paper and slides
# --------------------------------------------------------------------------------------------


def test_board_paper_in_the_seed_order_with_table_a_maps_reach_and_funding(run_folder,
                                                                          tmp_path):
    path = office.write_board_paper(run_folder, details={"report_to": "Strategic Board",
                                                         "agenda_item": "8"})
    doc = Document(str(path))
    h1 = _headings(doc, 1)
    assert h1[:4] == ["1. Purpose of the report", "2. Recommendations",
                      "3. Reasons for recommendations", "4. Summary of key points"]
    assert h1[-1] == "12. Appendices" and "8. Risk management" in h1
    h2 = _headings(doc, 2)
    assert h2[:5] == ["Performance", "Success measures", "Interventions", "Funding",
                      "Where serious violence happens"]
    cover = doc.tables[0]
    assert cover.rows[1].cells[1].text == "Strategic Board"
    assert cover.rows[3].cells[1].text.startswith("[To be completed")
    table_a = next(t for t in doc.tables if t.rows[0].cells[0].text == "Measure")
    rows = [r.cells[0].text for r in table_a.rows[1:]]
    assert rows == TABLE_A["measure"].tolist()
    assert set(SEED_MEASURES) <= set(rows)
    first = [c.text for c in table_a.rows[1].cells]
    assert first == ["All serious violence", "10,452", "16,591", "−37%", "−38% to −36%",
                     "Yes (p < 0.001)"]
    assert "p = 0.0000" not in doc.element.xml
    funding = next(t for t in doc.tables if t.rows[0].cells[0].text == "Funding stream")
    assert [c.text for c in funding.rows[1].cells] == ["Youth Endowment Fund", "£1,020,000", "2"]
    assert len(doc.inline_shapes) == 3  # the three maps
    assert sorted(a for a in _alt_texts(doc)) == sorted(
        f"Figure 4.{k}: The {m}." for k, m in enumerate(office.BOARD_MAPS, start=1))
    body = "\n".join(p.text for p in doc.paragraphs)
    assert "That the board notes the contents of this report." in body
    _convert(path, tmp_path)


def test_board_paper_takes_the_narrative_recommendations(run_folder, tmp_path):
    narr = tmp_path / "n.md"
    narr.write_text("## Recommendations\n\n1. Fund outreach in the city centre.\n\n"
                    "## Data sharing\n\nA&E data now arrive monthly.\n")
    doc = Document(str(office.write_board_paper(run_folder, narrative=narr)))
    body = "\n".join(p.text for p in doc.paragraphs)
    assert "Fund outreach in the city centre." in body
    assert "That the board notes" not in body
    assert "Challenges" in _headings(doc, 2) and "A&E data now arrive monthly." in body


def test_slides_hold_table_a_and_the_maps(run_folder):
    from pptx import Presentation

    (run_folder / "figures").mkdir(exist_ok=True)
    for side in ("01_key_findings", "04_geography"):
        for f in json.loads((run_folder / "chapters" / f"{side}.json").read_text())["figures"]:
            (run_folder / f["file"]).write_bytes(_png())
    prs = Presentation(str(office.write_slides(run_folder)))
    slides = list(prs.slides)
    assert len(slides) == 2 + 1 + len(office.BOARD_MAPS)  # title, Table A, chart, maps
    table = next(s for s in slides[1].shapes if s.has_table).table
    assert table.cell(1, 0).text == "All serious violence"
    assert sum(1 for s in slides for sh in s.shapes if sh.shape_type == 13) == 4  # pictures


# --------------------------------------------------------------------------------------------
# the narrative file
# --------------------------------------------------------------------------------------------


def test_narrative_template_and_parsing(tmp_path):
    path = narrative.write_template(tmp_path / "n.md", area="Testshire", year="2020/21")
    sections = narrative.read_narrative(path)
    assert [s.heading for s in sections] == [h for _k, h, _p, _a in narrative.SECTIONS]
    assert all(s.is_prompt for s in sections)
    with pytest.raises(ConfigError, match="already exists"):
        narrative.write_template(path)
    (tmp_path / "empty.md").write_text("# Nothing here\n")
    with pytest.raises(ConfigError, match="no '## ' section"):
        narrative.read_narrative(tmp_path / "empty.md")
    with pytest.raises(ConfigError, match="does not exist"):
        narrative.read_narrative(tmp_path / "missing.md")
    own = narrative.parse_narrative("## Drivers\n\nText.\n\n## Local partnership notes\n\nMore.")
    assert [(s.key, s.after) for s in own] == [("drivers", "06_people"),
                                               ("local_partnership_notes", "08_interventions")]


# --------------------------------------------------------------------------------------------
# on the demo's own run
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sna_run_writes_the_word_documents_of_the_demo(demo_run, tmp_path):
    out = demo_run.output_dir
    assert demo_run.docx == out / "report.docx" and demo_run.board_paper == out / \
        "board_paper.docx"
    doc = Document(str(out / "report.docx"))
    h1 = _headings(doc, 1)
    for name, title in CHAPTER_TITLES.items():  # a heading for every chapter
        assert any(h.endswith(title) for h in h1), (name, title)
    # and for each narrative section of the demo's narrative file, after its chapter
    demo_sections = narrative.read_narrative(Path(narrative.__file__).parent / "datasets" /
                                             "demo" / "narrative.md")
    assert [s.heading for s in demo_sections] == [h for _k, h, _p, _a in narrative.SECTIONS]
    for s in demo_sections:
        assert s.heading in h1
    chapter_of = {title: name for name, title in CHAPTER_TITLES.items()}
    last_chapter = None
    for h in h1:
        name = next((n for t, n in chapter_of.items() if h.endswith(t)), None)
        if name:
            last_chapter = name
        elif h in {s.heading for s in demo_sections}:
            wanted = next(s.after for s in demo_sections if s.heading == h)
            assert last_chapter == wanted, h
    # every figure embedded, with alt text
    figures = sum(len(json.loads(p.read_text()).get("figures", []))
                  for p in (out / "chapters").glob("*.json"))
    assert figures >= 15 and len(doc.inline_shapes) == figures
    assert all(_alt_texts(doc))
    # the board paper: Table A as a Word table whose rows are the seed's measures
    board = Document(str(out / "board_paper.docx"))
    table_a = next(t for t in board.tables if t.rows[0].cells[0].text == "Measure")
    rows = [r.cells[0].text for r in table_a.rows[1:]]
    assert set(SEED_MEASURES) <= set(rows)
    assert rows == pd.read_csv(out / "tables" / "01_tab01_table_a.csv")["measure"].tolist()
    overall = [c.text for c in table_a.rows[rows.index("All serious violence") + 1].cells]
    assert overall[3] == "−37%" and overall[5] == "Yes (p < 0.001)"  # the seed's "Down 37%"
    assert len(board.inline_shapes) == 3
    body = "\n".join(p.text for p in board.paragraphs)
    assert "Focus outreach on the city-centre hot spots" in body  # the narrative's
    # the narrative is in report.html too (and so in its PDF), in the contents
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="narrative-drivers"' in page and 'href="#narrative-recommendations"' in page
    rec = page.index('id="narrative-recommendations"')
    assert page.index('id="ch-01_key_findings"') < rec < page.index('id="ch-02_volume_and_trend"')
    assert "This section has not been written yet." in page  # community voice is a prompt
    _convert(out / "board_paper.docx", tmp_path)


def test_sna_narrative_command_writes_the_template(tmp_path, capsys):
    from sna.cli import main

    target = tmp_path / "narrative.md"
    assert main(["narrative", "-o", str(target)]) == 0
    assert "report:\n    narrative: narrative.md" in capsys.readouterr().err
    assert [s.key for s in narrative.read_narrative(target)] == [
        k for k, _h, _p, _a in narrative.SECTIONS]
    assert main(["narrative", "-o", str(target)]) == 2  # never over an existing file
    assert "already exists" in capsys.readouterr().err
    assert main(["narrative", "-o", str(target), "--force", "--quiet"]) == 0


def test_report_config_is_checked(tmp_path):
    from sna.config import load_config
    from sna.datasets import demo_config

    import yaml

    raw = yaml.safe_load(Path(demo_config()).read_text())
    raw["report"] = {"styles": {"heading9": "X"}}
    with pytest.raises(ConfigError, match="heading9"):
        load_config(raw)
    raw["report"] = {"board": {"chair": "X"}}
    with pytest.raises(ConfigError, match="chair"):
        load_config(raw)
    # the roles of the config are the writer's
    from sna.config import WORD_STYLES

    assert set(WORD_STYLES) == set(office.DEFAULT_STYLES)


def _demo_config_naming_a_missing_narrative(folder: Path) -> Path:
    """The demo's sna.yml in ``folder`` (its data linked beside it), naming a narrative file
    that does not exist."""
    import yaml

    from sna.datasets import demo_config

    demo = Path(demo_config()).parent
    raw = yaml.safe_load(Path(demo_config()).read_text())
    raw["report"] = {"narrative": "missing.md"}
    config = folder / "sna.yml"
    config.write_text(yaml.safe_dump(raw))
    for sub in ("boundaries", "police", "ambulance", "ecds", "interventions", "population",
                "imd", "demo_pseudonymisation_key.txt"):
        (folder / sub).symlink_to(demo / sub)
    return config


def test_a_missing_narrative_file_stops_the_run_before_it_starts(tmp_path, capsys):
    from sna.cli import main

    config = _demo_config_naming_a_missing_narrative(tmp_path)
    assert main(["run", "--config", str(config), "--quiet", "--output",
                 str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()  # nothing ran
    err = capsys.readouterr().err
    assert "missing.md does not exist" in err and "sna narrative" in err


def test_a_run_refused_before_its_chapters_ends_its_workers(tmp_path, capsys):
    # a run refused by its config leaves no chapter worker, kernel or process-pool thread
    # behind (when the workers were started before the checks, a worker reaped behind
    # multiprocessing's back left the pool's manager thread spinning at exit)
    import threading
    from concurrent.futures.process import _ExecutorManagerThread

    import psutil

    from sna.cli import main

    config = _demo_config_naming_a_missing_narrative(tmp_path)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    managers = set(t for t in threading.enumerate() if isinstance(t, _ExecutorManagerThread))
    assert main(["run", "--config", str(config), "--quiet", "--output",
                 str(tmp_path / "out")]) == 2
    assert "missing.md does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    for t in threading.enumerate():
        if isinstance(t, _ExecutorManagerThread) and t not in managers:
            t.join(timeout=30)
            assert not t.is_alive(), "the refused run's process pool did not wind down"
    workers = [p for p in psutil.Process().children(recursive=True) if p.pid not in before
               and "resource_tracker" not in " ".join(p.cmdline())]
    gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, f"processes left behind: {[p.cmdline() for p in alive]}"


def report_labels(page: str, year: str) -> dict[str, set[str]]:
    """Every row label of the report's tables with the year's count it carries: the column
    ``current`` or the year's own column."""
    import re as _re

    found: dict[str, set[str]] = {}
    for html_table in _re.findall(r'<table class="sna-table".*?</table>', page, flags=_re.S):
        t = chapter_outputs.parse_table_html(html_table)
        cols = [j for j, h in enumerate(t.header) if h in ("current", year)]
        if not cols or not t.header:
            continue
        for r in t.rows:
            if r and r[0]:
                found.setdefault(r[0], set()).add(r[cols[0]])
    return found


def test_the_label_scan_finds_two_numbers_under_one_label():
    page = ('<table class="sna-table"><thead><tr><th>measure</th><th class="num">current</th>'
            '</tr></thead><tbody><tr><td>Robbery</td><td>774</td></tr></tbody></table>'
            '<table class="sna-table"><thead><tr><th>category</th><th class="num">2020/21</th>'
            '</tr></thead><tbody><tr><td>Robbery</td><td>310</td></tr></tbody></table>')
    assert report_labels(page, "2020/21") == {"Robbery": {"774", "310"}}


@pytest.mark.slow
def test_one_label_one_number_in_the_demo_report(demo_run):
    page = (demo_run.output_dir / "report.html").read_text(encoding="utf-8")
    labels = report_labels(page, demo_run.year)
    assert "Violence against the person" in labels  # Table A's, every record of the category
    assert "Violence against the person (serious violence only)" in labels  # chapter 2's
    twice = {k: v for k, v in labels.items() if len(v) > 1}
    assert not twice, twice
    # Table A in board form: whole-number changes with their interval, p as a board reads it
    key = page[page.index('id="ch-01_key_findings"'):page.index('id="ch-02_volume_and_trend"')]
    assert "p &lt; 0.001" in key and "p = 0.0000" not in page and "0.0000" not in key


def test_report_docx_written_by_a_worker_or_here_when_the_worker_died(run_folder):
    # sna run gives report.docx to an idle chapter worker while it writes report.html and
    # the board paper; a worker that died leaves it to this process, and the run still has it
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool
    from types import SimpleNamespace

    from sna.report import batch
    from sna.report.results import RunResult

    cfg = SimpleNamespace(report=SimpleNamespace(word=True, board_paper=False, slides=False,
                                                 template=None, styles=None, narrative=None),
                          resolve=lambda p: p)
    result = RunResult(output_dir=run_folder, area="Testshire", year="2020/21",
                       build="restricted", synthetic=True, chapters=[])
    (run_folder / "report.docx").write_text("an earlier run's")  # what a worker replaces
    done = Future()
    done.set_result(str(office.write_docx(run_folder, info={"build": "restricted"})))
    batch._write_documents(result, cfg, [], print, docx=done)
    assert result.docx == run_folder / "report.docx"
    assert "1. Key findings" in _headings(Document(str(result.docx)), 1)
    (run_folder / "report.docx").unlink()
    died = Future()
    died.set_exception(BrokenProcessPool("A child process terminated abruptly"))
    batch._write_documents(result, cfg, [], print, docx=died)
    assert result.docx == run_folder / "report.docx"
    assert "1. Key findings" in _headings(Document(str(result.docx)), 1)
    # and the worker is given the document only after the old one is gone
    (run_folder / "report.docx").write_text("an earlier run's")

    class Pool:
        def submit(self, fn, *a, **k):
            assert not (run_folder / "report.docx").exists()
            f = Future()
            f.set_result(fn(*a, **k))
            return f

    fut = batch._docx_elsewhere(SimpleNamespace(pool=Pool()), result, cfg)
    assert Path(fut.result()) == run_folder / "report.docx"
