"""Ingest benchmark: sna's full ingest against the naive pandas path, pyarrow and DuckDB.

Each contender runs in its own fresh Python process (so peak memory is its own), several
times; the median wall time and the peak resident memory (ru_maxrss) are reported.

Contenders (all read the same data.police.uk street files and end with counts by
LSOA x month x crime type):

- ``naive``: ``pd.concat(pd.read_csv(f) for f in files)`` then a group-by (cleans nothing);
- ``pyarrow``: pyarrow's bare CSV parse of every file (no group-by: the parse floor);
- ``duckdb``: DuckDB reading and grouping the same files (two scans: count + group-by);
- ``sna``: ``sna.io.police_uk`` read -> clean (validate, place, area filter, quarantine,
  QualityLog reconciliation) -> aggregate, through the public API.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _files(root: Path) -> list[str]:
    return sorted(str(p) for p in root.glob("*/*-street.csv"))


def run_naive(root: Path) -> dict:
    import pandas as pd

    files = _files(root)
    df = pd.concat(pd.read_csv(f) for f in files)
    agg = df.groupby(["LSOA code", "Month", "Crime type"]).size()
    return {"rows": len(df), "groups": len(agg)}


def run_pyarrow(root: Path) -> dict:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    tables = [pacsv.read_csv(f) for f in _files(root)]
    t = pa.concat_tables(tables)
    return {"rows": t.num_rows, "groups": None}


def run_duckdb(root: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    pattern = str(root / "*" / "*-street.csv")
    rows = con.execute(f"select count(*) from read_csv('{pattern}', header=true, all_varchar=true)").fetchone()[0]
    groups = con.execute(
        f"""select count(*) from (select "LSOA code", "Month", "Crime type", count(*) n
        from read_csv('{pattern}', header=true, all_varchar=true) group by all)"""
    ).fetchone()[0]
    return {"rows": rows, "groups": groups}




CONTENDERS = {"naive": run_naive, "pyarrow": run_pyarrow, "duckdb": run_duckdb}


def _child(name: str, root: str) -> None:
    sys.path.insert(0, str(HERE))
    if name == "sna":
        from sna_ingest import sna_ingest

        fn = sna_ingest
    else:
        fn = CONTENDERS[name]
    t0 = time.perf_counter()
    out = fn(Path(root))
    out["seconds"] = time.perf_counter() - t0
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def measure(name: str, root: Path, repeat: int = 3) -> dict:
    runs = []
    for _ in range(repeat):
        res = subprocess.run([sys.executable, __file__, "--child", name, str(root)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{res.stderr[-3000:]}")
        runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "peak_mb": max(r["peak_mb"] for r in runs),
        "rows": runs[0]["rows"],
        "groups": runs[0].get("groups"),
        "runs": [round(r["seconds"], 3) for r in runs],
    }


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        root = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "_data" / "national"
        for name in ["naive", "pyarrow", "duckdb", "sna"]:
            print(name, measure(name, root, repeat=1))
