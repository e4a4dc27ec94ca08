"""sna.report: the papermill runner, its failure model, and the assembled outputs.

The runner mechanics are tested on the fixture notebooks in tests/fixtures/notebooks (as
papermill tests itself): a broken cell, no parameters cell, an unknown parameter, and a tiny
chapter that uses the chapter helpers. The real chapters are executed in test_chapters.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sna import report
from sna.report import assemble, batch, execute, pdf
from sna.errors import ChapterError, OutputError, SnaError

from fakes import fake_prepare as fake_prepare_of

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
SAMPLE = Path(report.__file__).parents[1] / "datasets" / "nottingham-sample" / "sna.yml"


# ---- notebooks and parameters -------------------------------------------------------------
def test_resolve_chapters_by_number_name_short_name_and_path():
    names = [p.stem for p in report.resolve_chapters(["9", "04", "deprivation", "00_data_quality"])]
    assert names == ["00_data_quality", "04_geography", "05_deprivation", "09_appendix"]
    assert [p.stem for p in report.resolve_chapters(None)] == list(report.CHAPTERS)
    custom = report.resolve_chapters(f"01,{FIXTURES / 'broken_cell.ipynb'}")
    assert [p.name for p in custom] == ["01_key_findings.ipynb", "broken_cell.ipynb"]


def test_manifest_names_the_project_by_its_distribution(monkeypatch):
    """The distribution is ``sna-vru`` (the import name ``sna`` is not a distribution): a
    clean install has no distribution called ``sna``, and the version must still be
    recorded."""
    import importlib.metadata as md

    import sna
    from sna.report.manifest import _package_versions

    real = md.version

    def only_real_distributions(name):
        if name == "sna":  # as in a clean install
            raise md.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(md, "version", only_real_distributions)
    versions = _package_versions()
    assert versions["sna-vru"] == sna.__version__ == real("sna-vru")
    assert "sna" not in versions


def test_unknown_chapter_is_a_clear_error_exit_2():
    with pytest.raises(report.NotebookParameterError) as err:
        report.resolve_chapters("geografy")
    assert "unknown chapter 'geografy'" in str(err.value)
    assert "04_geography" in str(err.value)
    assert err.value.exit_code == 2
    with pytest.raises(report.NotebookParameterError, match="not found"):
        report.resolve_chapters("missing/chapter.ipynb")


def test_no_parameters_cell_fixture_is_refused_with_a_clear_message():
    with pytest.raises(report.NotebookParameterError) as err:
        report.check_notebook(FIXTURES / "no_parameters.ipynb")
    msg = str(err.value)
    assert "no_parameters.ipynb has no cell tagged 'parameters'" in msg
    assert "config_path" in msg and "Cell Tags" in msg
    assert err.value.exit_code == 2
    assert isinstance(err.value, ChapterError)


def test_unknown_parameter_fixture_names_the_parameters_and_the_cell():
    with pytest.raises(report.NotebookParameterError) as err:
        report.check_notebook(FIXTURES / "unknown_parameter.ipynb")
    msg = str(err.value)
    assert "does not declare the parameter(s) build, output_dir, cache_dir" in msg
    assert "(cell 2)" in msg
    assert "declared there: config_path, year" in msg


def test_every_shipped_chapter_declares_the_run_parameters():
    for nb in report.resolve_chapters(None):
        if not nb.exists():
            pytest.skip(f"{nb.name} not written yet")
        declared = report.check_notebook(nb)
        assert set(report.PARAMETERS) <= set(declared), nb.name


def test_tables_xlsx_is_written_here_when_its_worker_cannot(monkeypatch, tmp_path):
    # sna run gives tables.xlsx to an idle chapter worker; a pool broken by a worker that died
    # (during the chapters, or while writing the workbook) must not lose the workbook
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    written = []
    monkeypatch.setattr(batch, "write_tables_xlsx",
                        lambda out, source_words=None: written.append(out) or out / "tables.xlsx")
    died = Future()
    died.set_exception(BrokenProcessPool("a worker died"))
    assert batch._workbook(died, tmp_path, {}) == tmp_path / "tables.xlsx"
    assert written == [tmp_path]
    done = Future()
    done.set_result(tmp_path / "tables.xlsx")
    assert batch._workbook(done, tmp_path, {}) == tmp_path / "tables.xlsx" and len(written) == 1
    failed = Future()  # the workbook's own error is the run's, as when it was written here
    failed.set_exception(OutputError("tables.xlsx is open in Excel"))
    with pytest.raises(OutputError, match="open in Excel"):
        batch._workbook(failed, tmp_path, {})

    class BrokenPool:
        class pool:
            @staticmethod
            def submit(*args, **kwargs):
                raise BrokenProcessPool("a worker died during the chapters")

    assert batch._workbook_elsewhere(BrokenPool, tmp_path, {}) is None


# ---- running (the assessment is faked: the fixtures do not load it) ----------------------
@pytest.fixture
def fake_prepare(monkeypatch, tmp_path):
    monkeypatch.setattr(batch, "_prepare", fake_prepare_of(tmp_path / "cache"))
    return tmp_path


@pytest.mark.slow
def test_broken_cell_keeps_notebook_names_cell_and_error_and_others_go_on(fake_prepare, capsys):
    out_base = fake_prepare / "out"
    result = report.run(SAMPLE, chapters=[str(FIXTURES / "broken_cell.ipynb"),
                                          str(FIXTURES / "98_tiny_chapter.ipynb")],
                        output=out_base, jobs=2)
    assert result.exit_code == 1
    by = {c.name: c for c in result.chapters}
    broken, tiny = by["broken_cell"], by["98_tiny_chapter"]
    assert tiny.ok and not broken.ok
    # the error names the chapter, the cell (as numbered in the stored notebook) and the error
    assert broken.error["cell"] == 4
    assert broken.error["ename"] == "KeyError" and broken.error["evalue"] == "'ambulance'"
    assert "share = counts[\"ambulance\"]" in broken.error["where"]
    # the executed notebook is kept, with the error in it
    executed = Path(broken.executed)
    assert executed.exists()
    nb = json.loads(executed.read_text())
    assert any(o.get("output_type") == "error" for c in nb["cells"] for o in c.get("outputs", []))
    err = capsys.readouterr().err
    assert "FAILED chapters" in err
    assert "broken_cell: FAILED at cell 4 (In [" in err and "KeyError: 'ambulance'" in err
    assert "[ 2/2]" in err
    # the output folder as docs/architecture.md documents it
    out = result.output_dir
    assert out == (out_base / "nottingham-sample" / "2018-19").resolve()
    assert (out / "figures" / "98_fig01_bars.png").exists()
    assert (out / "tables" / "98_tab01_items.csv").exists()
    assert (out / "chapters" / "98_tiny_chapter.html").exists()
    assert (out / "chapters" / "broken_cell.html").exists()
    assert (out / "data" / "incidents.parquet").exists()  # restricted: the cache is copied
    assert (out / "quarantine" / "quarantine.csv").exists()
    assert pd.read_csv(out / "quarantine" / "summary.csv")["rows"].tolist() == [1, 2]
    # report.html: both chapters, contents links that land, the failure flagged, no code
    page = (out / "report.html").read_text()
    assert 'href="#ch-98_tiny_chapter"' in page and 'id="ch-98_tiny_chapter"' in page
    assert 'id="ch-broken_cell"' in page and "did not finish" in page
    assert "The tiny chapter counts <strong>3</strong> things." in page
    assert "<strong>Figure 98.1.</strong> Two bars." in page
    assert "data:image/png;base64," in page
    assert "<strong>Table 98.1.</strong> Two items." in page
    assert "Not available:" in page and "The fixture has no times." in page
    assert "counts = {" not in page and "import matplotlib" not in page
    assert "break-before:page" in page and "size:A4 portrait" in page
    # tables.xlsx: cover, contents and notes sheets, then a sheet per table (header on row 4)
    xl = pd.ExcelFile(out / "tables.xlsx")
    assert xl.sheet_names == ["Cover", "Contents", "Notes", "98_tab01_items"]
    assert pd.read_excel(xl, "98_tab01_items", header=3)["n"].tolist() == [1, 2]
    assert pd.read_excel(xl, "Contents", header=2)["Table"].tolist() == ["Table 98.1"]
    # manifest: inputs with hashes, parameters, versions, per-chapter status and time
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed" and m["exit_code"] == 1
    status = {c["name"]: c["status"] for c in m["chapters"]}
    assert status == {"broken_cell": "failed", "98_tiny_chapter": "ok"}
    failed = next(c for c in m["chapters"] if c["name"] == "broken_cell")
    assert failed["error"]["cell"] == 4 and failed["error"]["ename"] == "KeyError"
    tiny_m = next(c for c in m["chapters"] if c["name"] == "98_tiny_chapter")
    assert tiny_m["seconds"] > 0 and tiny_m["figures"] == ["figures/98_fig01_bars.png"]
    assert tiny_m["not_available"] == ["times"]
    inputs = {Path(i["path"]).name: i for i in m["inputs"]}
    assert "2018-10-nottinghamshire-street.csv" in inputs and "sna.yml" in inputs
    assert all(len(i["sha256"]) == 64 for i in m["inputs"])
    assert m["parameters"]["build"] == "restricted" and m["parameters"]["year"] == "2018/19"
    assert m["packages"]["papermill"] and m["packages"]["pandas"]
    assert m["packages"]["sna-vru"] == m["sna_version"]
    assert set(m["timings"]) == {"prepare", "chapters", "assemble", "total"}
    assert "report.html" in m["outputs"] and "tables.xlsx" in m["outputs"]


@pytest.mark.slow
def test_rerunning_one_chapter_keeps_the_others_and_replaces_its_files(fake_prepare):
    out_base = fake_prepare / "out"
    tiny = str(FIXTURES / "98_tiny_chapter.ipynb")
    first = report.run(SAMPLE, chapters=[tiny, str(FIXTURES / "broken_cell.ipynb")],
                       output=out_base, jobs=1, progress=False)
    out = first.output_dir
    (out / "figures" / "98_fig07_stale.png").write_bytes(b"old")
    again = report.run(SAMPLE, chapters=[tiny], output=out_base, jobs=1, progress=False)
    assert again.exit_code == 0
    assert not (out / "figures" / "98_fig07_stale.png").exists()
    assert (out / "chapters" / "broken_cell.ipynb").exists()  # the other chapter is kept
    page = (out / "report.html").read_text()
    assert 'id="ch-broken_cell"' in page and 'id="ch-98_tiny_chapter"' in page
    m = json.loads((out / "manifest.json").read_text())
    runs = {c["name"]: (c["status"], c.get("run")) for c in m["chapters"]}
    assert runs == {"98_tiny_chapter": ("ok", None), "broken_cell": ("failed", "previous")}
    assert m["status"] == "ok"  # this run's chapters


def test_preflight_errors_stop_before_anything_runs(fake_prepare):
    with pytest.raises(report.NotebookParameterError, match="no cell tagged 'parameters'"):
        report.run(SAMPLE, chapters=[str(FIXTURES / "no_parameters.ipynb")],
                   output=fake_prepare / "out", progress=False)
    assert not (fake_prepare / "out").exists()


@pytest.mark.slow
def test_cli_exit_code_1_for_a_broken_chapter(fake_prepare, capsys):
    from sna import cli

    code = cli.main(["run", "--config", str(SAMPLE), "--output", str(fake_prepare / "o"),
                     "--chapters", str(FIXTURES / "broken_cell.ipynb"), "--jobs", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "broken_cell: FAILED at cell 4" in err and "KeyError: 'ambulance'" in err
    assert "executed notebook:" in err and "Traceback" not in err


def test_run_exit_codes_for_preflight_errors(fake_prepare, capsys):
    from sna import cli

    code = cli.main(["run", "--config", str(SAMPLE), "--output", str(fake_prepare / "o"),
                     "--chapters", str(FIXTURES / "unknown_parameter.ipynb")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("sna run: error: notebook unknown_parameter.ipynb does not declare")
    assert "Traceback" not in err
    assert cli.main(["run", "--config", str(SAMPLE), "--chapters", "nonsense"]) == 2
    capsys.readouterr()
    # --debug after the command as before it: the traceback is shown
    assert cli.main(["run", "--config", str(SAMPLE), "--chapters", "nonsense", "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err
    assert cli.main(["run", "--config", str(SAMPLE), "--no-such-option"]) == 2
    assert "unrecognised arguments: --no-such-option" in capsys.readouterr().err


def test_bad_build_is_refused():
    with pytest.raises(SnaError, match="'restricted' or 'public'"):
        report.run(SAMPLE, build="secret", progress=False)


# ---- pieces ---------------------------------------------------------------------------------
def test_sheet_names_are_unique_and_excel_safe():
    from sna.report import xlsx

    used: set[str] = set()
    a = xlsx._sheet_name("04_tab01_a_very_long_table_name_indeed_and_more", used)
    b = xlsx._sheet_name("04_tab01_a_very_long_table_name_indeed_and_other", used)
    c = xlsx._sheet_name("Contents", used)
    assert len(a) <= 31 and len(b) <= 31 and a != b and c != "Contents"
    assert xlsx._sheet_name("x[1]:y", set()) == "x_1__y"


def test_pdf_without_chromium_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setattr(pdf, "find_chromium", lambda: None)
    with pytest.raises(ChapterError) as err:
        report.print_pdf(tmp_path / "report.html", tmp_path / "report.pdf")
    assert "apt-get install chromium" in str(err.value) and "SNA_CHROMIUM" in str(err.value)


def test_input_files_hash_every_file_of_a_folder_source():
    from sna.config import load_config

    rows = report.input_files(load_config(SAMPLE))
    roles = {r["role"] for r in rows}
    assert {"config", "geography.boundaries", "geography.population", "geography.imd",
            "sources.police"} <= roles
    assert sum(r["role"] == "sources.police" for r in rows) == 5
    import hashlib

    first = next(r for r in rows if r["role"] == "sources.police")
    assert hashlib.sha256(Path(first["path"]).read_bytes()).hexdigest() == first["sha256"]


def test_error_description_numbers_cells_as_stored(tmp_path):
    import nbformat
    from papermill.exceptions import PapermillExecutionError

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# t"),
        nbformat.v4.new_code_cell("a = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("a = 2", metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_code_cell("1/0"),
    ])
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, str(path))
    exc = PapermillExecutionError(3, 3, "1/0", "ZeroDivisionError", "division by zero", [])
    d = execute._describe_execution_error(exc, str(path))
    assert d["cell"] == 3 and d["where"] == "cell 3 (In [3]) `1/0`"


@pytest.mark.browser
def test_pdf_is_printed_from_the_report_with_chromium(tmp_path):
    if report.find_chromium() is None:
        pytest.skip("no headless Chromium installed (apt-get install chromium)")
    out = tmp_path / "run"
    (out / "chapters").mkdir(parents=True)
    import shutil

    html = report.assemble_report(out, area="Test area", year="2020/21", synthetic=True)
    pdf = report.print_pdf(html, out / "report.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 1000
    shutil.rmtree(out)


@pytest.mark.slow
def test_bundled_config_without_output_shares_the_cache_with_the_chapters(tmp_path, monkeypatch):
    """A bundled config writes to ./outputs: the chapter kernels must resolve it against the
    same folder, read the prepared cache and not rebuild one inside the output folder."""
    monkeypatch.chdir(tmp_path)
    result = report.run(SAMPLE, chapters="00", jobs=1, progress=False)
    assert result.exit_code == 0, [c.summary() for c in result.failed]
    assert result.output_dir == (tmp_path / "outputs" / "nottingham-sample" / "2018-19").resolve()
    assert not (result.output_dir / "outputs").exists()
    caches = [p for p in (tmp_path / ".sna-cache").iterdir() if not p.name.startswith(".")]
    assert len(caches) == 1  # the chapter read the cache the run prepared
    # the cache (record-level data) is beside the config (here: the current folder), never
    # inside the output folder
    assert not list((tmp_path / "outputs").rglob(".cache"))
    assert not list((tmp_path / "outputs").rglob(".sna-cache"))


class _FakePapermill:
    """papermill stand-in: the kernel dies while starting ``deaths`` times, then the run works."""

    class PapermillExecutionError(Exception):
        pass

    def __init__(self, deaths: int, message: str = "Kernel died before replying to kernel_info",
                 ran_a_cell: bool = False):
        self.deaths, self.message, self.ran_a_cell, self.calls = deaths, message, ran_a_cell, 0

    def execute_notebook(self, src, out, **kwargs):
        self.calls += 1
        if self.ran_a_cell:  # the executed notebook shows a cell that ran before the death
            import nbformat

            nb = nbformat.v4.new_notebook()
            nb.cells = [nbformat.v4.new_code_cell("x = 1", execution_count=1)]
            nbformat.write(nb, out)
        if self.calls <= self.deaths:
            raise RuntimeError(self.message)


def _task(tmp_path, attempts=3):
    return {"name": "07_health", "notebook": "in.ipynb", "executed": str(tmp_path / "out.ipynb"),
            "parameters": {}, "kernel_start_attempts": attempts}


def test_a_kernel_that_dies_while_starting_is_started_again(tmp_path, monkeypatch):
    monkeypatch.setattr(execute.time, "sleep", lambda s: None)
    pm = _FakePapermill(deaths=2)
    res = report.ChapterResult(name="07_health", notebook="in.ipynb")
    execute._run_papermill(pm, _task(tmp_path), res)
    assert (res.status, res.attempts, pm.calls, res.error) == ("ok", 3, 3, None)


def test_a_kernel_that_never_starts_fails_after_the_attempts_saying_so(tmp_path, monkeypatch):
    monkeypatch.setattr(execute.time, "sleep", lambda s: None)
    pm = _FakePapermill(deaths=5)
    res = report.ChapterResult(name="07_health", notebook="in.ipynb")
    execute._run_papermill(pm, _task(tmp_path, attempts=3), res)
    assert (res.status, res.attempts, pm.calls) == ("failed", 3, 3)
    assert res.error["ename"] == "RuntimeError"
    assert "started 3 times" in res.error["evalue"]
    assert "before the first cell" in res.summary()


def test_a_kernel_that_dies_after_running_cells_is_not_run_again(tmp_path, monkeypatch):
    """A chapter that killed its kernel half-way (memory, a crash) fails at once: re-running it
    would only repeat the harm."""
    monkeypatch.setattr(execute.time, "sleep", lambda s: None)
    pm = _FakePapermill(deaths=1, message="Kernel died", ran_a_cell=True)
    res = report.ChapterResult(name="07_health", notebook="in.ipynb")
    execute._run_papermill(pm, _task(tmp_path), res)
    assert (res.status, res.attempts, pm.calls) == ("failed", 1, 1)


def test_an_other_error_is_not_retried(tmp_path, monkeypatch):
    monkeypatch.setattr(execute.time, "sleep", lambda s: None)
    pm = _FakePapermill(deaths=1, message="No such kernel named python3")
    res = report.ChapterResult(name="07_health", notebook="in.ipynb")
    execute._run_papermill(pm, _task(tmp_path), res)
    assert (res.status, res.attempts, pm.calls) == ("failed", 1, 1)


@pytest.mark.slow
@pytest.mark.parametrize("fresh", [False, True])
def test_chapters_sharing_a_warm_kernel_see_nothing_of_each_other(fake_prepare, fresh):
    """With one worker both chapters run in the same kernel (unless --fresh-kernels): the second
    must still see a clean namespace, default matplotlib settings, no open figures and cells
    numbered from 1."""
    out_base = fake_prepare / "out"
    result = report.run(SAMPLE, chapters=[str(FIXTURES / "96_leaves_state.ipynb"),
                                          str(FIXTURES / "97_sees_no_state.ipynb")],
                        output=out_base, jobs=1, progress=False, fresh_kernels=fresh)
    by = {c.name: c for c in result.chapters}
    assert by["96_leaves_state"].ok
    assert by["97_sees_no_state"].ok, by["97_sees_no_state"].error
    out = result.output_dir
    same_kernel = (out / "96.pid").read_text() == (out / "97.pid").read_text()
    assert same_kernel is (not fresh)  # else the isolation above is not being tested
    nb = json.loads((out / "chapters" / "97_sees_no_state.ipynb").read_text())
    counts = [c["execution_count"] for c in nb["cells"] if c["cell_type"] == "code"]
    assert counts == [1, 2, 3]  # parameters, injected parameters, the check
    m = json.loads((out / "manifest.json").read_text())
    assert {c["name"]: c["kernel_starts"] for c in m["chapters"]} == {
        "96_leaves_state": 1, "97_sees_no_state": 1}
    assert not list((out / "chapters").glob("kernel-*.log"))  # start-up chatter is dropped


@pytest.mark.slow
def test_a_failed_chapter_takes_its_warm_kernel_with_it(fake_prepare):
    """After a failing chapter the next one in that worker runs in a new kernel."""
    out_base = fake_prepare / "out"
    result = report.run(SAMPLE, chapters=[str(FIXTURES / "broken_cell.ipynb"),
                                          str(FIXTURES / "97_sees_no_state.ipynb")],
                        output=out_base, jobs=1, progress=False)
    by = {c.name: c for c in result.chapters}
    assert not by["broken_cell"].ok and by["97_sees_no_state"].ok


@pytest.mark.slow
def test_the_executed_notebook_of_a_kernel_that_dies_half_way_is_its_log(fake_prepare):
    """The executed notebook is written when the chapter ends however it ends (not before and
    after every cell): a kernel that dies in a cell leaves the cells that ran, outputs and
    all, and the cell it died in; the next chapter runs in a new kernel and is saved whole."""
    import nbformat

    nb = nbformat.read(FIXTURES / "98_tiny_chapter.ipynb", as_version=4)
    nb.cells = nb.cells[:2] + [nbformat.v4.new_code_cell('print("before the death")'),
                               nbformat.v4.new_code_cell("import os\nos._exit(1)"),
                               nbformat.v4.new_code_cell('print("never")')]
    dies = fake_prepare / "93_dies.ipynb"
    nbformat.write(nb, dies)
    result = report.run(SAMPLE, chapters=[str(dies), str(FIXTURES / "98_tiny_chapter.ipynb")],
                        output=fake_prepare / "out", jobs=1, progress=False)
    by = {c.name: c for c in result.chapters}
    assert not by["93_dies"].ok and by["98_tiny_chapter"].ok
    assert by["93_dies"].attempts == 1  # it ran a cell: not a start-up failure
    log = nbformat.read(result.output_dir / "chapters" / "93_dies.ipynb", as_version=4)
    code = [c for c in log.cells if c.cell_type == "code"]
    ran = next(c for c in code if c.source == 'print("before the death")')
    assert ran.execution_count is not None
    assert [o.get("text") for o in ran.outputs] == ["before the death\n"]
    died = next(c for c in code if "os._exit" in c.source)
    assert died.metadata.papermill.start_time  # it was sent (the kernel may die before echoing it)
    assert next(c for c in code if c.source == 'print("never")').execution_count is None
    assert log.metadata.papermill.end_time is not None  # written when the chapter ended
    whole = nbformat.read(result.output_dir / "chapters" / "98_tiny_chapter.ipynb", as_version=4)
    assert all(c.execution_count is not None for c in whole.cells if c.cell_type == "code")
    assert all(c.metadata.papermill.status == "completed" for c in whole.cells)


@pytest.mark.slow
def test_a_chapter_client_answers_at_once_and_a_dead_kernel_is_named(tmp_path):
    # each chapter gets a client of its own, ready once the kernel answers on the shell and
    # IOPub channels (nbclient's would wait for IOPub to be quiet for 0.2 s); it runs code,
    # and a kernel that died is reported as the kernel start-up failures are
    from sna.report import _kernels

    _kernels.start("python3", str(tmp_path), None)
    try:
        km = _kernels._slot.km
        kc = _kernels._chapter_client(km, 30)
        try:
            assert kc.allow_stdin is False
            reply = _kernels._run(kc.execute_interactive("x = 6 * 7", timeout=30,
                                                         output_hook=lambda _m: None))
            assert reply["content"]["status"] == "ok"
        finally:
            kc.stop_channels()
        _kernels._run(km.shutdown_kernel(now=True))
        with pytest.raises(RuntimeError, match="Kernel died before replying to kernel_info") as err:
            _kernels._chapter_client(km, 5)
        assert execute._START_FAILURE.search(str(err.value))
    finally:
        _kernels.shutdown()
