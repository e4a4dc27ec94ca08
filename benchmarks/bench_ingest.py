"""Ingest benchmark: sna's full ingest against the naive pandas path, pyarrow and DuckDB.

Each contender runs in its own fresh Python process (so peak memory is its own), several
times; the median wall time and the peak resident memory are reported.

Contenders (all read the same data.police.uk street files and end with counts by
LSOA x month x crime type):

- ``naive``: ``pd.concat(pd.read_csv(f) for f in files)`` then a group-by (cleans nothing);
- ``pyarrow``: pyarrow's bare CSV parse of every file (no group-by: the parse floor);
- ``duckdb``: DuckDB reading and grouping the same files (two scans: count + group-by);
- ``sna``: ``sna.io.police_uk`` read -> clean (validate, place, area filter, quarantine,
  QualityLog reconciliation) -> aggregate, through the public API (``sna_ingest.py``);
- ``sna-dask``: the same on the Dask engine (a LocalCluster of one worker process per core,
  started inside the run: its start-up is part of the time);
- ``sna-dask-500mb``: the same on two Dask workers limited to 500 MB each (less than the
  data): the driver's peak (``peak_mb``) and the largest worker's (``workers_peak_mb``);
- ``sna-dataset-500mb``: the results-only path (``sna.load_dataset``) on the same two
  500 MB workers: they write the kept incidents and the quarantine as Parquet and send back
  only counts; then the counts by LSOA x month x category computed over the dataset;
- ``sna-dataset-scale``: the same on many years (``ten_years.py``), counting by partnership x
  financial year x category over the dataset (run by ``run.py --only scale``);
- ``sna-reader``: ``sna.io.read_police_uk`` alone (read and validate every file into one
  frame, no cleaning): the reader's time and memory.

Peak memory is the process's own high-water mark (``VmHWM``); for ``sna-dask`` the largest
worker process's peak is reported apart (``workers_peak_mb``). Each run also reports its CPU
time (``cpu_s``: user + system of the process and of the worker processes it waited for): on a
busy machine wall time stretches with the other load, CPU time much less.

Usage: python benchmarks/bench_ingest.py [DATA_DIR] (one run of each; see run.py for medians)
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




def run_sna_reader(root: Path) -> dict:
    """sna's reader alone: every street file into one frame (validated, file/line kept, text
    as categoricals), no cleaning."""
    from sna.io.police_uk import read_police_uk

    df = read_police_uk(root)
    return {"rows": len(df), "groups": None}


def run_sna(root: Path) -> dict:
    sys.path.insert(0, str(HERE))
    from sna_ingest import sna_ingest

    return sna_ingest(root)


def run_sna_dask(root: Path, workers: int | None = None, memory_limit: str | None = None) -> dict:
    sys.path.insert(0, str(HERE))
    from sna_ingest import sna_ingest

    out = sna_ingest(root, engine="dask", workers=workers, memory_limit=memory_limit)
    return _workers_peak(out, workers, memory_limit)


#: The memory-limited Dask run: two workers of 500 MB each (together less than the data's
#: 1.2 GB of CSV and the 1.4 GB the incidents take in memory).
LIMITED = {"workers": 2, "memory_limit": "500MB"}


def run_sna_dask_limited(root: Path) -> dict:
    return run_sna_dask(root, **LIMITED)


def _workers_peak(out: dict, workers: int | None, memory_limit: str | None) -> dict:
    from sna.config import EngineConfig
    from sna.engine import get_client

    client = get_client(EngineConfig(name="dask", workers=workers, memory_limit=memory_limit))
    peaks = client.run(peak_mb)  # each worker's own peak, before the cluster stops
    out["workers_peak_mb"] = max(peaks.values()) if peaks else None
    out["workers"] = len(peaks)
    out["memory_limit"] = memory_limit
    return out


def run_sna_dataset(root: Path) -> dict:
    """The results-only path (``sna.load_dataset``) on the memory-limited workers: the kept
    rows stay in a Parquet dataset the workers write; the counts by LSOA x month x category
    are then computed over it (one task per file), only the counts coming back."""
    sys.path.insert(0, str(HERE))
    from sna_ingest import sna_dataset

    return _workers_peak(sna_dataset(root, engine="dask", **LIMITED), **LIMITED)


def run_sna_dataset_scale(root: Path) -> dict:
    """The same on many years: the load (the monthly and LSOA x year counts come back), then
    counts by partnership x financial year x category over the dataset (the cells by LSOA x
    month x category of ten national years would be some 40 million rows: a table to compute
    where the data are, not to bring back)."""
    sys.path.insert(0, str(HERE))
    from sna_ingest import sna_dataset

    out = sna_dataset(root, engine="dask", by=("partnership", "fy", "category"), **LIMITED)
    return _workers_peak(out, **LIMITED)


def peak_mb() -> float:
    """Peak resident memory of this process since it started (MiB).

    ``VmHWM`` of /proc/self/status: unlike ``ru_maxrss``, it does not inherit the memory of
    the process that launched this one (Linux carries that across exec).
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


CONTENDERS = {"naive": run_naive, "pyarrow": run_pyarrow, "duckdb": run_duckdb, "sna": run_sna,
              "sna-dask": run_sna_dask, "sna-dask-500mb": run_sna_dask_limited,
              "sna-dataset-500mb": run_sna_dataset, "sna-reader": run_sna_reader,
              "sna-dataset-scale": run_sna_dataset_scale}


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of the children it has waited for."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _child(name: str, root: str) -> None:
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)
    fn = CONTENDERS[name]
    t0, c0 = time.perf_counter(), cpu_seconds()
    out = fn(Path(root))
    out["seconds"] = time.perf_counter() - t0
    out["cpu_s"] = cpu_seconds() - c0
    out["peak_mb"] = peak_mb()
    cleanup = out.pop("cleanup", None)
    if cleanup:  # a dataset written by the run (after the timing)
        import shutil

        shutil.rmtree(cleanup, ignore_errors=True)
    print(json.dumps(out))


def run_once(name: str, root: Path, timeout: float | None = None) -> dict:
    """One run of a contender in a fresh Python process: its result, seconds, peak MB."""
    res = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", name, str(root)],
                         capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict]) -> dict:
    """Median, fastest and slowest seconds, median CPU time and highest peak of several runs
    of one contender."""
    secs = [r["seconds"] for r in runs]
    out = {
        "seconds": round(statistics.median(secs), 3),
        "min_s": round(min(secs), 3),
        "max_s": round(max(secs), 3),
        "runs_s": [round(x, 3) for x in secs],
        "peak_mb": round(max(r["peak_mb"] for r in runs), 1),
        "rows": runs[0]["rows"],
        "groups": runs[0].get("groups"),
    }
    if all("cpu_s" in r for r in runs):
        out["cpu_s"] = round(statistics.median(r["cpu_s"] for r in runs), 3)
    if any(r.get("workers_peak_mb") for r in runs):
        out["workers_peak_mb"] = round(max(r.get("workers_peak_mb") or 0 for r in runs), 1)
    for k in ("kept", "set_aside", "quarantine", "workers", "memory_limit", "monthly_rows",
              "lsoa_rows", "dataset_bytes", "dataset_files", "by"):
        if k in runs[0]:
            out[k] = runs[0][k]
    return out


def measure(name: str, root: Path, repeat: int = 3) -> dict:
    return summarise([run_once(name, root) for _ in range(repeat)])


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        root = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "_data" / "national"
        for name in CONTENDERS:
            print(name, measure(name, root, repeat=1))
