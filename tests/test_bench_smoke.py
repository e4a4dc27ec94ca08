"""The benchmark scripts run: every ingest contender on a tiny generated set (no timing checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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
    assert set(ing["contenders"]) == {"naive", "pyarrow", "duckdb", "sna", "sna-dask", "sna-reader"}
    for name, c in ing["contenders"].items():
        assert c["rows"] == 2000, name
        assert c["seconds"] > 0 and c["peak_mb"] > 0 and len(c["runs_s"]) == 1, name
    sna, dask = ing["contenders"]["sna"], ing["contenders"]["sna-dask"]
    # sna reconciles: rows read = kept + set aside; the Dask engine gives the same figures
    assert sna["kept"] + sum(sna["set_aside"].values()) == 2000
    assert (dask["kept"], dask["set_aside"], dask["groups"]) == (sna["kept"], sna["set_aside"], sna["groups"])
    assert dask["workers_peak_mb"] > 0
    assert 0 < sna["groups"] <= ing["contenders"]["naive"]["groups"]
    assert set(ing["ratios"]) >= {"sna_over_naive", "sna_over_duckdb", "sna_over_pyarrow"}
    assert set(ing["targets"]) == {"sna_within_1.5x_naive", "sna_within_3x_duckdb", "sna_peak_under_1.5GB"}
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


def test_readme_table_says_no_for_a_missed_target(tmp_path):
    rt = _readme_table()
    r = json.loads((REPO / "benchmarks" / "results.json").read_text())
    r["batch"]["sna_run"]["seconds"] = 95.04
    r["batch"]["targets"]["sna_run_under_60s"] = False
    text = rt.render(r)
    assert "| same | 95.0 s | — | — | < 90 s | **no** |" in text
    assert "< 60 s and ≥ 2× faster | **no** |" in text
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{rt.START}\nold\n{rt.END}\n\nafter\n", encoding="utf-8")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(r), encoding="utf-8")
    assert rt.update(results, readme) is True
    assert rt.current_block(readme) == rt.expected_block(results)
    assert readme.read_text(encoding="utf-8").endswith(f"{rt.END}\n\nafter\n")
    assert rt.update(results, readme) is False
