"""The benchmark scripts run: every ingest contender on a tiny generated set (no timing checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# the ingest benchmark compares with DuckDB: the bench extra (make test installs it)
pytest.importorskip("duckdb", reason="the benchmarks need the bench extra: pip install -e '.[bench]'")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "results.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--only", "ingest",
           "--data", str(tmp / "street"), "--size", "2x2x500", "--repeat", "1", "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(out.read_text()), res.stdout, tmp


def test_every_ingest_contender_ran_on_the_same_rows(results):
    data, stdout, tmp = results
    ing = data["ingest"]
    assert ing["data"]["rows"] == 2 * 2 * 500 and ing["data"]["files"] == 4 and ing["data"]["synthetic"]
    assert set(ing["contenders"]) == {"naive", "pyarrow", "duckdb", "sna", "sna-dask",
                                      "sna-dask-500mb", "sna-reader"}
    for name, c in ing["contenders"].items():
        assert c["rows"] == 2000, name
        assert c["seconds"] > 0 and c["peak_mb"] > 0 and len(c["runs_s"]) == 1, name
        assert c["min_s"] == c["max_s"] == c["runs_s"][0] and c["cpu_s"] > 0, name
    sna, dask = ing["contenders"]["sna"], ing["contenders"]["sna-dask"]
    # sna reconciles: rows read = kept + set aside; the Dask engine gives the same figures
    assert sna["kept"] + sum(sna["set_aside"].values()) == 2000
    assert (dask["kept"], dask["set_aside"], dask["groups"]) == (sna["kept"], sna["set_aside"], sna["groups"])
    assert dask["workers_peak_mb"] > 0
    limited = ing["contenders"]["sna-dask-500mb"]
    assert (limited["workers"], limited["memory_limit"]) == (2, "500MB")
    assert limited["workers_peak_mb"] > 0 and limited["peak_mb"] > 0
    assert ing["targets"]["sna-dask_same_counts_as_sna"]
    assert ing["targets"]["sna-dask-500mb_same_counts_as_sna"]
    assert 0 < sna["groups"] <= ing["contenders"]["naive"]["groups"]
    assert set(ing["ratios"]) >= {"sna_over_naive", "sna_over_duckdb", "sna_over_pyarrow"}
    # one round: each ratio's spread is that round's ratio
    for k, sp in ing["ratio_spread"].items():
        assert sp["min"] == sp["max"] == ing["rounds"][0][k], k
    assert set(ing["targets"]) == {"sna_within_1.5x_naive", "sna_within_2x_duckdb",
                                   "sna_peak_under_1.5GB", "sna-dask_same_counts_as_sna",
                                   "sna-dask-500mb_same_counts_as_sna"}
    # the load before and after the section, and the whole run's
    for rec in (ing["load"], data["load"]):
        assert len(rec["before"]) == len(rec["after"]) == 3 and rec["cores"] >= 1
        assert rec["busy"] == (max(rec["before"][0], rec["after"][0]) > rec["cores"])
        assert ("warning" in rec) == rec["busy"]
    # the data and its synthetic geography were generated in the temporary folder only
    assert len(list((tmp / "street").glob("*/*-street.csv"))) == 4
    assert (tmp / "street-geography.parquet").exists()
    assert "INGEST" in stdout and "sna-dask" in stdout


def test_table_reads_the_results(results):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import run

    text = run.table(results[0])
    assert "naive" in text and "x naive" in text and "targets" in text


def _readme_table():
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_table",
                                                  REPO / "benchmarks" / "readme_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_performance_table_is_the_one_results_json_gives():
    """The README's figures come from benchmarks/results.json, never typed by hand."""
    rt = _readme_table()
    assert (REPO / "benchmarks" / "results.json").exists()
    assert rt.current_block() == rt.expected_block(), (
        "README.md's performance table differs from benchmarks/results.json: "
        "run python benchmarks/readme_table.py")


def _run_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", REPO / "benchmarks" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_load_record_warns_when_the_machine_is_busy(monkeypatch):
    run = _run_module()
    monkeypatch.setattr(run, "cores", lambda: 2)
    quiet = run.load_record([0.5, 0.4, 0.3], [1.9, 0.8, 0.4])
    assert quiet == {"before": [0.5, 0.4, 0.3], "after": [1.9, 0.8, 0.4], "cores": 2, "busy": False}
    busy = run.load_record([1.0, 1.0, 1.0], [4.3, 2.0, 1.0])
    assert busy["busy"] and "4.3 after" in busy["warning"] and "2 cores" in busy["warning"]


def test_the_load_record_says_how_much_of_the_load_was_other_work(monkeypatch):
    # the load average counts the run's own contenders: a quiet ten-year run ended at 2.9 on
    # 2 cores and was called busy; the machine's busy CPU less the run's own says what was not
    import subprocess
    import sys

    run, rt = _run_module(), _readme_table()
    monkeypatch.setattr(run, "cores", lambda: 2)
    start = {"t": 100.0, "busy_s": 50.0, "own_s": 5.0}
    assert run.others_cores(start, {"t": 110.0, "busy_s": 70.0, "own_s": 20.0}) == 0.5
    assert run.others_cores(start, {"t": 110.0, "busy_s": 64.0, "own_s": 20.0}) == 0.0
    assert run.others_cores(None, start) is None and run.others_cores(start, start) is None
    own = run.load_record([0.4, 0.3, 0.2], [2.9, 1.5, 0.8], 0.05)
    assert own["busy"] and own["others_cores"] == 0.05
    assert own["warning"] == (
        "the load average was above the 2 cores (0.4 before, 2.9 after), but other processes "
        "than this run's used 0.05 cores on average: the load was the run's own (its "
        "contenders' threads and workers), not other work")
    other = run.load_record([2.5, 2.0, 1.0], [3.1, 2.0, 1.0], 1.2)
    assert other["busy"] and other["warning"].startswith("the machine was busy")
    assert other["warning"].endswith("used 1.20 cores on average")
    assert "others_cores" not in run.load_record([0.1], [0.2])
    assert rt._load({"load": own}) == "0.4 → 2.9, other processes 0.05 cores"
    assert rt._load({"load": run.load_record([0.4], [2.9])}) == "0.4 → 2.9"
    # the run's own CPU includes its finished children's
    before = run.cpu_now()
    if before is None:
        pytest.skip("no /proc/stat for this process's cores")
    subprocess.run([sys.executable, "-c", "import time\nt = time.process_time()\n"
                    "while time.process_time() - t < 0.4: pass"], check=True)
    after = run.cpu_now()
    assert after["own_s"] - before["own_s"] >= 0.4
    assert after["busy_s"] - before["busy_s"] >= 0.3


def test_reproduction_checks_each_ratio_against_the_previous_spread():
    run = _run_module()
    old = {"when": "2026-12-01T10:00", "ratios": {"sna_over_naive": 1.30, "sna_over_duckdb": 1.9},
           "ratio_spread": {"sna_over_naive": {"min": 1.2, "max": 1.4},
                            "sna_over_duckdb": {"min": 1.8, "max": 2.0}}}
    same = {"ratios": {"sna_over_naive": 1.35, "sna_over_duckdb": 1.95},
            "ratio_spread": {"sna_over_naive": {"min": 1.3, "max": 1.5},
                             "sna_over_duckdb": {"min": 1.9, "max": 2.1}}}
    rep = run.reproduction(same, old)
    assert rep["reproduced"] and rep["previous_when"] == "2026-12-01T10:00"
    assert rep["ratios"]["sna_over_naive"] == {
        "now": 1.35, "now_spread": [1.3, 1.5], "previous": 1.30, "previous_spread": [1.2, 1.4],
        "within_previous_spread": True, "spreads_overlap": True}
    moved = {"ratios": {"sna_over_naive": 1.7, "sna_over_duckdb": 1.95},
             "ratio_spread": {"sna_over_naive": {"min": 1.6, "max": 1.8},
                              "sna_over_duckdb": {"min": 1.9, "max": 2.1}}}
    rep = run.reproduction(moved, old)
    assert not rep["reproduced"]
    assert not rep["ratios"]["sna_over_naive"]["within_previous_spread"]
    assert rep["ratios"]["sna_over_duckdb"]["within_previous_spread"]
    assert run.reproduction({"ratios": {}}, old)["reproduced"] is False


def test_the_rerun_row_names_the_ratios_that_did_not_reproduce():
    run, rt = _run_module(), _readme_table()
    r = json.loads((REPO / "benchmarks" / "results.json").read_text())
    old = {"when": "2026-12-01T10:00",
           "ratios": {"sna_over_naive": 1.3, "sna_over_pyarrow": 2.2},
           "ratio_spread": {"sna_over_naive": {"min": 1.2, "max": 1.4},
                            "sna_over_pyarrow": {"min": 2.1, "max": 2.6}}}
    now = {"ratios": {"sna_over_naive": 1.25, "sna_over_pyarrow": 1.65},
           "ratio_spread": {"sna_over_naive": {"min": 1.0, "max": 1.3},
                            "sna_over_pyarrow": {"min": 1.6, "max": 2.0}}}
    r["ingest"]["reproduction"] = run.reproduction(now, old)
    row = next(line for line in rt.render(r).splitlines() if line.startswith("| same, rerun"))
    assert "1.25× naive now, 1.30× (1.20–1.40) before" in row
    assert "not reproduced: sna / pyarrow bare parse 1.65× now, 2.10–2.60 before" in row
    assert row.endswith("| within the spread | **no** |")
    r["ingest"]["reproduction"] = run.reproduction(old, old)
    row = next(line for line in rt.render(r).splitlines() if line.startswith("| same, rerun"))
    assert "not reproduced" not in row and row.endswith("| within the spread | yes |")


def test_compare_outputs_is_byte_for_byte(tmp_path):
    run = _run_module()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d, fig in (("a", b"\x89PNG-1"), ("b", b"\x89PNG-2")):
        (tmp_path / d / "t.csv").write_text("x\n1\n")
        (tmp_path / d / "f.png").write_bytes(fig)
    a = {"tables/t.csv": tmp_path / "a" / "t.csv", "figures/f.png": tmp_path / "a" / "f.png"}
    b = {"tables/t.csv": tmp_path / "b" / "t.csv", "figures/f.png": tmp_path / "b" / "f.png"}
    res = run.compare_outputs(a, b)
    assert res["files"] == 2 and res["differ"] == ["figures/f.png"] and not res["identical"]
    assert run.compare_outputs(a, {**b, "figures/f.png": a["figures/f.png"]})["identical"]
    assert run.compare_outputs(a, {"tables/t.csv": a["tables/t.csv"]})["differ"] == ["figures/f.png"]
    # a workbook: the same cells are the same tables, whatever the zip's timestamps
    from openpyxl import Workbook

    for name, value in (("x1.xlsx", 1), ("x2.xlsx", 1), ("x3.xlsx", 2)):
        wb = Workbook()
        wb.active.append(["n", value])
        wb.properties.modified = None if name == "x1.xlsx" else wb.properties.created
        wb.save(tmp_path / name)
    x = {"tables.xlsx": tmp_path / "x1.xlsx"}
    assert run.compare_outputs(x, {"tables.xlsx": tmp_path / "x2.xlsx"})["identical"]
    assert not run.compare_outputs(x, {"tables.xlsx": tmp_path / "x3.xlsx"})["identical"]


def _new_format(r: dict) -> dict:
    """results.json as run.py writes it now (spreads, warm rerun), whatever the stored one is."""
    b = r["batch"]
    timings = {"prepare": {"median": 9.0, "min": 8.5, "max": 9.9},
               "chapters": {"median": 14.0, "min": 13.0, "max": 15.0},
               "assemble": {"median": 1.0, "min": 0.9, "max": 1.1}}
    b["sna_run"].update({"seconds": 24.0, "min_s": 23.1, "max_s": 26.0, "timings": timings})
    b["sna_run_warm"] = {"seconds": 12.5, "min_s": 12.0, "max_s": 13.4, "timings": timings}
    b["papermill_one_by_one"].update({"min_s": 100.0, "max_s": 120.0})
    b["outputs"] = {"cold_vs_warm_identical": True}
    b["ratio_spread"] = {"papermill_over_sna_run": {"min": 4.0, "max": 4.8}}
    b["targets"] = {"sna_run_cold_under_30s": True, "sna_run_warm_under_15s": True,
                    "cold_and_warm_outputs_identical": True, "sna_run_2x_faster_than_papermill": True}
    ing = r["ingest"]
    ing["targets"] = {"sna_within_1.5x_naive": True, "sna_within_2x_duckdb": True,
                      "sna_peak_under_1.5GB": True}
    ing["ratio_spread"] = {k: {"min": v * 0.9, "max": v * 1.1} for k, v in ing["ratios"].items()}
    for sec in (ing, r["hotspot"], b, *([r["scale"]] if "scale" in r else [])):
        sec["load"] = {"before": [0.6, 0.5, 0.5], "after": [1.2, 0.9, 0.6], "cores": 2, "busy": False}
    for v in (r.get("scale") or {}).get("contenders", {}).values():
        v.pop("section_load", None)  # (a run kept from an earlier section: its own load)
    return r


def test_readme_table_shows_spreads_and_says_no_for_a_missed_target(tmp_path):
    rt = _readme_table()
    r = _new_format(json.loads((REPO / "benchmarks" / "results.json").read_text()))
    text = rt.render(r)
    assert "| 24.0 s (23.1–26.0) |" in text and "< 30 s and ≥ 2× faster | yes |" in text
    assert "| 12.5 s (12.0–13.4) | tables and figures of the cold run (`cmp`): identical" in text
    assert "(rounds 4.00–4.80)" in text and "ingest 0.6 → 1.2" in text
    assert "busy" not in text
    r["batch"]["sna_run"]["seconds"] = 35.04
    r["batch"]["targets"]["sna_run_cold_under_30s"] = False
    r["batch"]["outputs"]["cold_vs_warm_identical"] = False
    r["batch"]["load"].update(busy=True)
    text = rt.render(r)
    assert "| 35.0 s (23.1–26.0) |" in text
    assert "< 30 s and ≥ 2× faster | **no** |" in text
    assert "**different** | — | < 15 s, identical | **no** |" in text
    assert "**The machine was busy** (load average above its cores) during: batch" in text
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{rt.START}\nold\n{rt.END}\n\nafter\n", encoding="utf-8")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(r), encoding="utf-8")
    assert rt.update(results, readme) is True
    assert rt.current_block(readme) == rt.expected_block(results)
    assert readme.read_text(encoding="utf-8").endswith(f"{rt.END}\n\nafter\n")
    assert rt.update(results, readme) is False
