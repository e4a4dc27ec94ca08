"""The chapter notebooks: one copy (in the package), stored clean, one parameters cell, copied
out by `sna notebooks DIR`, and every chapter executed on the bundled demo and on a config made by `sna init` for the real
Nottingham sample (slow tests: they run in `make test` and CI)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from sna import report
from sna.chapter import CHAPTER_TITLES

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = report.notebooks_dir()
SAMPLE = Path(report.__file__).parents[1] / "datasets" / "nottingham-sample"


def _notebooks():
    return sorted(PACKAGED.glob("*.ipynb"))


# ---- how the notebooks are stored -----------------------------------------------------------
def test_sna_notebooks_copies_them_out_and_keeps_edits(tmp_path, capsys):
    """sna/notebooks/ is the one copy (installed, run by `sna run`); an analyst gets editable
    copies with `sna notebooks DIR`, which keeps an edited copy unless --force."""
    from sna import cli

    dest = tmp_path / "mine"
    assert cli.main(["notebooks", str(dest)]) == 0
    assert {p.name for p in dest.glob("*.ipynb")} == {p.name for p in _notebooks()}
    assert all((dest / p.name).read_bytes() == p.read_bytes() for p in _notebooks())
    edited = dest / "04_geography.ipynb"
    edited.write_text("{}", encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["notebooks", str(dest)]) == 0
    out = capsys.readouterr()
    assert edited.read_text(encoding="utf-8") == "{}"
    assert "kept 11 notebook(s)" in out.err and "--force" in out.err
    assert cli.main(["notebooks", str(dest), "--force"]) == 0
    assert edited.read_bytes() == (PACKAGED / "04_geography.ipynb").read_bytes()


def test_every_standard_chapter_and_the_tutorial_are_shipped():
    names = {p.stem for p in _notebooks()}
    assert set(report.CHAPTERS) | {"explore"} == names


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a code cell has outputs"
            assert cell.execution_count is None, f"{path.name}: a code cell has a count"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", report.CHAPTERS)
def test_chapter_has_one_parameters_cell_with_defaults_that_run_the_demo(name):
    path = PACKAGED / f"{name}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    declared = report.check_notebook(path)
    assert list(declared) == list(report.PARAMETERS)
    assert declared["config_path"]["default"] == "None"  # None = the bundled demo
    assert declared["build"]["default"] == '"restricted"'
    # numbered title as in the report's contents, and the shared helper with the right name
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    number = int(name.split("_")[0])
    assert first.source.startswith(f"# {number}. {CHAPTER_TITLES[name]}")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert f'Chapter("{name}"' in code
    # thin: no file reading in a chapter; the assessment comes from the cache
    assert not re.search(r"read_csv|read_excel|read_file|open\(", code)
    # a source's rule is the one it is published under (NHS sources always nhs2018), not the
    # configured one
    assert "default_disclosure" not in code, "use sna.disclosure.source_rule"


# ---- executing every chapter ----------------------------------------------------------------
def _sections(page: str) -> list[str]:
    return re.findall(r'<section class="chapter" id="ch-([^"]+)"', page)


def _section(page: str, name: str) -> str:
    start = page.index(f'id="ch-{name}"')
    end = page.find('<section class="chapter"', start + 10)
    return page[start:end if end > 0 else None]


# demo_run: one `sna run` on the demo, shared with test_browser.py (tests/conftest.py)


@pytest.mark.slow
def test_every_chapter_runs_on_the_demo(demo_run):
    result = demo_run
    assert [c.name for c in result.chapters] == list(report.CHAPTERS)
    assert result.exit_code == 0, [c.summary() for c in result.failed]
    out = result.output_dir
    page = (out / "report.html").read_text(encoding="utf-8")
    assert _sections(page) == list(report.CHAPTERS)
    for name in report.CHAPTERS:  # contents links land on a section
        assert f'href="#ch-{name}"' in page
    assert "Restricted." in page
    if result.synthetic:
        assert "Synthetic data." in page
    # no code in the report
    assert "import pandas" not in page and "Chapter(" not in page and "Traceback" not in page
    # figures, tables, the workbook, the map layers, the cleaned data (restricted build)
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    tables = sorted(p.name for p in (out / "tables").glob("*.csv"))
    assert len(figures) >= 8 and len(tables) >= 15
    assert page.count('<figure class="sna-figure"') == len(figures)
    xl = pd.ExcelFile(out / "tables.xlsx")
    assert xl.sheet_names[:3] == ["Cover", "Contents", "Notes"]  # then a sheet per table
    assert len(xl.sheet_names) == len(tables) + 3
    assert list((out / "maps").glob("*.gpkg"))
    assert (out / "data" / "incidents.parquet").exists()
    # the chapters read the prepared cache: none rebuilt it inside the output folder
    assert not (out / "outputs").exists() and not (out / ".cache").exists()
    # every chapter's executed notebook and HTML, and the manifest
    for name in report.CHAPTERS:
        assert (out / "chapters" / f"{name}.ipynb").exists()
        html = (out / "chapters" / f"{name}.html").read_text(encoding="utf-8")
        assert "Chapter(" not in html and "import sna" not in html  # no code
    m = json.loads((out / "manifest.json").read_text())
    assert [c["status"] for c in m["chapters"]] == ["ok"] * len(report.CHAPTERS)
    assert m["inputs"] and all(len(i["sha256"]) == 64 for i in m["inputs"])
    # the appendix lists the parameters the other chapters used
    appendix = _section(page, "09_appendix")
    assert "Parameters the chapters used" in appendix and "gistar" in appendix


@pytest.mark.slow
def test_second_run_reuses_the_cache_and_rerunning_a_chapter_keeps_the_report(demo_run):
    base = demo_run.output_dir.parents[1]
    again = report.run(None, chapters="00", output=base, jobs=1, progress=False)
    assert again.exit_code == 0 and again.cache_reused is True
    page = (again.output_dir / "report.html").read_text(encoding="utf-8")
    assert _sections(page) == list(report.CHAPTERS)
    m = json.loads((again.output_dir / "manifest.json").read_text())
    assert m["cache"]["reused"] is True
    assert [c["name"] for c in m["chapters"]] == list(report.CHAPTERS)
    assert {c.get("run") for c in m["chapters"] if c["name"] != "00_data_quality"} == {"previous"}


@pytest.mark.slow
def test_key_findings_show_table_a_with_intervals_when_the_data_have_a_baseline(demo_run):
    page = (demo_run.output_dir / "report.html").read_text(encoding="utf-8")
    key = _section(page, "01_key_findings")
    assert "Summary" in key
    if demo_run.synthetic:  # the multi-year demo
        # Table A in board form, then its full statistics (one label, one number)
        assert "Table 1.1." in key and "pct lower" in key and "pct upper" in key
        # chapter 1 keeps the board form; every statistical column is in the appendix
        assert "rr lower" not in key and "p value" not in key
        appendix = _section(page, "09_appendix")
        assert "Table A in full" in appendix and "rr lower" in appendix and "rr upper" in appendix
        t = pd.read_csv(demo_run.output_dir / "tables" / "01_tab01_table_a.csv").set_index("measure")
        # the VRU board report's Table A, which the demo reproduces by construction
        board = {"All serious violence": -37, "Violence against the person": -28,
                 "Knife-enabled robbery": -38, "Sexual offences": -28, "Knife possession": -4,
                 "Knife crime (any offence involving a knife)": -13}
        assert t.loc[list(board), "pct_change"].round().astype(int).to_dict() == board
        stats = pd.read_csv(next((demo_run.output_dir / "tables").glob(
            "09_tab*_table_a_statistics.csv")))
        assert stats["measure"].tolist() == t.index.tolist()
        overall = stats.set_index("measure").loc["All serious violence"]
        assert t.loc["All serious violence", "pct_lower"] < t.loc["All serious violence",
                                                                  "pct_change"]
        assert overall["rr_lower"] < overall["rate_ratio"] < overall["rr_upper"] < 1
        assert overall["significant"]
        sheets = pd.ExcelFile(demo_run.output_dir / "tables.xlsx").sheet_names
        assert any(n.startswith("09_") and "table_a_stat" in n for n in sheets)
    else:  # the Nottingham sample (until the demo is bundled): one year, no baseline
        assert "Not available:" in key and "Table A compares" in key


@pytest.mark.slow
def test_public_build_of_the_demo_passes_the_output_checker(demo_run, tmp_path):
    from sna import disclosure

    result = report.run(None, output=tmp_path, build="public", jobs=2, progress=False)
    assert result.exit_code == 0, [c.summary() for c in result.failed]
    out = result.output_dir
    assert not (out / "data").exists()  # no cleaned records in a public folder
    assert not (out / "quarantine" / "quarantine.csv").exists()
    assert (out / "quarantine" / "summary.csv").exists()
    assert not list(out.rglob("*.parquet"))
    findings = disclosure.check_outputs(out)
    assert findings.empty, findings.head(20).to_string()
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Public build." in page and "Disclosure control (" in page
    # the same checker on the restricted build finds something (so it can fail)
    restricted = disclosure.check_outputs(demo_run.output_dir)
    assert not restricted.empty


@pytest.mark.slow
def test_real_sample_config_from_sna_init_runs_every_chapter(tmp_path, capsys):
    from sna import cli

    cfg = tmp_path / "sna.yml"
    code = cli.main(["init", "--police", str(SAMPLE / "police"),
                     "--boundaries", str(SAMPLE / "boundaries" / "E06000018.json"),
                     "--population", str(SAMPLE / "population" / "population19_lsoa11.csv"),
                     "--imd", str(SAMPLE / "imd" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv"),
                     "-o", str(cfg), "--quiet"])
    assert code == 0
    code = cli.main(["run", "--config", str(cfg), "--output", str(tmp_path / "out"), "--jobs", "2"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "10/10 chapter(s) ran" in err
    out = next((tmp_path / "out").glob("*/*/report.html")).parent
    page = (out / "report.html").read_text(encoding="utf-8")
    assert _sections(page) == list(report.CHAPTERS)
    assert "Synthetic data." not in page  # real data
    # the chapters that need times, ages or health data say so in one sentence and go on
    timing = _section(page, "03_timing")
    assert "No source records the time of day (data.police.uk gives only the month)" in timing
    people = _section(page, "06_people")
    assert "No source records the age, sex or ethnicity" in people
    assert "Repeat victims" not in people  # section headings with nothing under them are dropped
    health = _section(page, "07_health")
    assert "No A&amp;E (ECDS / ISTV) or ambulance data are configured" in health
    interventions = _section(page, "08_interventions")
    assert "No intervention monitoring data are configured" in interventions
    trend = _section(page, "02_volume_and_trend")
    # no invented figure: the partial year is said to be partial
    assert "The year is incomplete: the data cover 5 of its 12 months" in trend
    m = json.loads((out / "manifest.json").read_text())
    notes = {c["name"]: c["not_available"] for c in m["chapters"]}
    assert "times" in notes["03_timing"] and "ages" in notes["06_people"]
    assert "health" in notes["07_health"]


@pytest.mark.slow
def test_explore_tutorial_runs_on_the_demo(tmp_path):
    import papermill

    out = tmp_path / "explore.ipynb"
    papermill.execute_notebook(str(PACKAGED / "explore.ipynb"), str(out), progress_bar=False,
                               cwd=str(tmp_path))
    nb = nbformat.read(str(out), as_version=4)
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "<Assessment" in text and "hotspot" in text
    assert "folium" in text or "folium.folium.Map" in text or "leaflet" in text.lower()
