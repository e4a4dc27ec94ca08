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
