#!/usr/bin/env python
"""Run every benchmark of sna side by side and write benchmarks/results.json.

    .venv/bin/python benchmarks/run.py                # everything (national data; ~40 min on 2 cores)
    .venv/bin/python benchmarks/run.py --quick        # smoke run: small data, one round
    .venv/bin/python benchmarks/run.py --only ingest  # one section again (the others are kept)

Three comparisons, each timed side by side in the same run, contenders interleaved round by
round (so that a busy machine slows them alike), ``--repeat`` rounds (default 5); every
contender's median, fastest and slowest round are reported, and every ratio with the spread
of the per-round ratios:

ingest
    The national SYNTHETIC set in the data.police.uk layout (43 forces x 12 months x 11,600
    rows = 5,985,600 rows; ``benchmarks/national.py``, generated into ``benchmarks/_data/`` if
    missing, never committed) read and counted by LSOA x month x crime type by: the naive
    pandas path, pyarrow's bare parse, DuckDB, sna's full ingest (read, validate, clean,
    place, reconcile, aggregate; ``sna_ingest.py``), the same on sna's Dask engine, and sna's
    reader alone (``read_police_uk``: its time and memory). Each run is a fresh process; wall
    time, CPU time and peak resident memory (``VmHWM``).
hotspot
    ``bench_hotspot.py``: Gi* and local Moran with 999 permutations on 35,000 synthetic polygons,
    sna against esda called directly, with numba (its compile time apart, as the first call)
    and without it (fresh process; its own interleaved rounds).
batch
    The bundled demo's yearly batch: ``sna run`` from a cold cache, the same run again with the
    cache present (warm), and the same chapter notebooks one by one with the papermill command
    line (``papermill in.ipynb out.ipynb -p config_path ... -p year ...``) from a cold cache;
    the tables and figures of the cold and warm runs are compared byte for byte.

The machine's load average is recorded before and after each section; when it was above the
number of cores the output and results.json carry a warning (the figures are then less
reliable: read the ratios and their spread, and the CPU times).

A run of some sections (``--only``) into an existing results file keeps the other sections,
and keeps the section it replaces as ``previous``: each ratio of the new run is checked
against the spread of the previous one (``reproduced``), so a rerun shows whether a ratio
holds.

``--quick`` uses 4 forces x 3 months (139,200 rows; ``benchmarks/_data/quick``), 5,000 polygons
with 99 permutations, and one round: it proves the scripts work; its figures are not the
targets' figures.

The targets (issue 19): full sna ingest <= 1.5 x the naive read + group-by and <= 2 x DuckDB's
read + group-by, peak memory < 1.5 GB (1,536 MiB); hot spots within 1.2 x esda and under
20 s; the demo batch from a cold cache under 30 s and a warm rerun under 15 s on 2 cores,
with identical tables and figures, at least 2 x faster than papermill one by one.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

INGEST = ("naive", "pyarrow", "duckdb", "sna", "sna-dask", "sna-dask-500mb", "sna-reader")
PEAK_TARGET_MB = 1536.0  # 1.5 GiB
REPEAT = 5


def say(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------------------------
# the machine's load
# --------------------------------------------------------------------------------------------
def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def load_now() -> list[float]:
    """The load average (1, 5, 15 minutes)."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


def cpu_now() -> dict | None:
    """The machine's busy CPU seconds so far (``/proc/stat``: user, nice, system, irq,
    softirq, steal) and this process's own with its finished children's (``getrusage``: the
    contenders are child processes, their Dask workers and kernels their children), for
    :func:`others_cores`; None where ``/proc/stat`` cannot be read or counts other
    processors than this process may use (a container on a larger host)."""
    import resource

    try:
        with open("/proc/stat") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    per_cpu = [x for x in lines if x.startswith("cpu") and x[3:4].isdigit()]
    if not lines or not lines[0].startswith("cpu ") or len(per_cpu) != cores():
        return None
    v = [int(x) for x in lines[0].split()[1:]]
    busy = sum(v[0:3]) + sum(v[5:8])
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"t": time.monotonic(), "busy_s": busy / os.sysconf("SC_CLK_TCK"),
            "own_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime}


def others_cores(start: dict | None, end: dict | None) -> float | None:
    """The cores other processes kept busy on average between two :func:`cpu_now`: the
    machine's busy CPU time less this run's own, over the wall time (None: not known)."""
    if not start or not end or end["t"] <= start["t"]:
        return None
    others = (end["busy_s"] - start["busy_s"]) - (end["own_s"] - start["own_s"])
    return round(max(0.0, others) / (end["t"] - start["t"]), 2)


def load_record(before: list[float], after: list[float], others: float | None = None) -> dict:
    """Load before and after a stretch of benchmarking; ``busy`` when the 1-minute load
    exceeded the number of cores at either end. The load average counts the run's own
    processes too (two busy contender threads and a driver make a load of 3 on 2 cores), so
    ``others_cores`` (:func:`others_cores`, when known) says how much of it was other work."""
    n = cores()
    busy = any(x[0] > n for x in (before, after) if x)
    rec = {"before": before, "after": after, "cores": n, "busy": busy}
    if others is not None:
        rec["others_cores"] = others
    loads = f"{before[0] if before else '?'} before, {after[0] if after else '?'} after"
    if busy and others is not None and others < 0.25:
        rec["warning"] = (f"the load average was above the {n} cores ({loads}), but other "
                          f"processes than this run's used {others:.2f} cores on average: the "
                          "load was the run's own (its contenders' threads and workers), not "
                          "other work")
    elif busy:
        rec["warning"] = (f"the machine was busy (load average above its {n} cores: {loads}): "
                          "other work shared the cores, so the seconds are less reliable; "
                          "read the ratios with their spread, and the CPU times")
        if others is not None:
            rec["warning"] += (f". Other processes than this run's used {others:.2f} cores on "
                               "average")
    return rec


class LoadWatch:
    """The load average and the CPU counters at the start of a stretch of benchmarking;
    :meth:`record` gives the stretch's :func:`load_record`."""

    def __init__(self) -> None:
        self.before, self.cpu = load_now(), cpu_now()

    def record(self) -> dict:
        return load_record(self.before, load_now(), others_cores(self.cpu, cpu_now()))


def say_load(what: str, load: list[float]) -> None:
    n = cores()
    say(f"  load average {what}: {', '.join(f'{x:.2f}' for x in load)} ({n} cores)")
    if load and load[0] > n:
        say(f"  WARNING: the machine is busy (load {load[0]:.2f} > {n} cores): timings will "
            "be noisy")


def spread(values: list[float]) -> dict:
    """Median, min and max of some figures."""
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
def ensure_data(root: Path, forces: int, months: int, rows: int) -> dict:
    """The synthetic street files under ``root`` (generated when missing or incomplete)."""
    import national

    files = sorted(root.glob("*/*-street.csv"))
    if len(files) != forces * months:
        if root.exists():
            shutil.rmtree(root)
        say(f"generating {forces} forces x {months} months x {rows:,} rows into {root} ...")
        national.generate(root, forces=forces, months=months, rows=rows)
        files = sorted(root.glob("*/*-street.csv"))
    from sna_ingest import ensure_geography

    ensure_geography(root)
    try:  # relative to the project when it is inside it (no machine paths in results.json)
        shown = str(Path(root).resolve().relative_to(REPO))
    except ValueError:
        shown = str(root)
    return {"path": shown, "files": len(files), "forces": forces, "months": months,
            "rows": forces * months * rows, "bytes": sum(f.stat().st_size for f in files),
            "synthetic": True}


# --------------------------------------------------------------------------------------------
# ingest
# --------------------------------------------------------------------------------------------
INGEST_RATIOS = {  # name: (numerator, denominator)
    "sna_over_naive": ("sna", "naive"),
    "sna_over_pyarrow": ("sna", "pyarrow"),
    "sna_over_duckdb": ("sna", "duckdb"),
    "sna_dask_over_sna": ("sna-dask", "sna"),
    "sna_dask_500mb_over_sna": ("sna-dask-500mb", "sna"),
}


def bench_ingest(root: Path, data: dict, repeat: int, contenders=INGEST) -> dict:
    import bench_ingest as bi

    runs: dict[str, list[dict]] = {c: [] for c in contenders}
    for r in range(repeat):
        for c in contenders:
            one = bi.run_once(c, root)
            runs[c].append(one)
            say(f"  ingest round {r + 1}/{repeat}  {c:<10} {one['seconds']:7.2f} s  "
                f"cpu {one.get('cpu_s', float('nan')):6.1f} s  peak {one['peak_mb']:7.0f} MB  "
                f"(load {load_now()[0] if load_now() else '?'})")
    res = {c: bi.summarise(v) for c, v in runs.items()}
    med = {c: v["seconds"] for c, v in res.items()}
    # per-round ratios show how steady the comparison was
    rounds = []
    for i in range(repeat):
        row = {c: round(runs[c][i]["seconds"], 3) for c in contenders}
        for name, (a, b) in INGEST_RATIOS.items():
            if a in row and b in row:
                row[name] = round(row[a] / row[b], 3)
        rounds.append(row)
    ratios, ratio_spread, targets = {}, {}, {}
    for name, (a, b) in INGEST_RATIOS.items():
        if a in med and b in med:
            ratios[name] = round(med[a] / med[b], 3)
            per = [row[name] for row in rounds]
            ratio_spread[name] = {"min": min(per), "max": max(per),
                                  "median_of_rounds": round(statistics.median(per), 3)}
    if "sna" in med:
        if "naive" in med:
            targets["sna_within_1.5x_naive"] = ratios["sna_over_naive"] <= 1.5
        if "duckdb" in med:
            targets["sna_within_2x_duckdb"] = ratios["sna_over_duckdb"] <= 2.0
        targets["sna_peak_under_1.5GB"] = res["sna"]["peak_mb"] < PEAK_TARGET_MB
        for d in ("sna-dask", "sna-dask-500mb"):
            if d in res:  # the Dask engine gives the pandas engine's figures
                targets[f"{d}_same_counts_as_sna"] = all(
                    res[d].get(k) == res["sna"].get(k)
                    for k in ("rows", "kept", "set_aside", "groups", "quarantine"))
    return {"data": data, "repeat": repeat, "contenders": res, "ratios": ratios,
            "ratio_spread": ratio_spread, "targets": targets, "rounds": rounds,
            "notes": [
                "sna = sna.load_assessment(config, use_cache=False) (geography load, read, "
                "validate, clean, place, reconcile, quarantine) + sna.engine.aggregate by "
                "lsoa x month x category; the config's geography is one 1 km square per "
                "2011 LSOA (synthetic), one partnership per police force area",
                "naive = pd.concat(pd.read_csv(f) for f in files).groupby([LSOA code, Month, "
                "Crime type]).size(); pyarrow = pyarrow.csv.read_csv of every file (no "
                "group-by); duckdb = count(*) then the group-by (two scans)",
                "seconds = median of the rounds (min_s, max_s: fastest and slowest); ratios = "
                "ratio of the medians, ratio_spread = the smallest and largest per-round ratio",
                "cpu_s = median CPU time (user + system, the process and the workers it waited "
                "for); peak_mb = the run's process's peak resident memory (VmHWM, MiB); "
                "sna-dask's workers_peak_mb = the largest worker process's",
            ]}


# --------------------------------------------------------------------------------------------
# scale: the results-only path, one year and many years
# --------------------------------------------------------------------------------------------
#: The driver's peak the results-only path must stay under (issue 19: 2 GB).
DRIVER_TARGET_MB = 2048.0


def describe_data(root: Path) -> dict:
    """What a folder of street files holds (files, forces, months, bytes; symbolic links
    followed): the rows are counted by the run."""
    files = sorted(Path(root).glob("*/*-street.csv"))
    months = sorted({f.parent.name for f in files})
    forces = sorted({f.name[8:-len("-street.csv")] for f in files})
    try:
        shown = str(Path(root).resolve().relative_to(REPO))
    except ValueError:
        shown = str(root)
    return {"path": shown, "files": len(files), "forces": len(forces), "months": len(months),
            "first_month": months[0] if months else None,
            "last_month": months[-1] if months else None,
            "bytes": sum(f.stat().st_size for f in files), "synthetic": True}


def _scale_run(name: str, root: Path, repeat: int) -> dict:
    import bench_ingest as bi

    runs = []
    for r in range(repeat):
        watch = LoadWatch()
        one = bi.run_once(name, root)
        one["load"] = watch.record()
        runs.append(one)
        say(f"  scale {name} round {r + 1}/{repeat}: {one['seconds']:.1f} s, cpu {one['cpu_s']:.1f} s "
            f"(driver), driver's peak {one['peak_mb']:.0f} MB, workers' peak "
            f"{one.get('workers_peak_mb') or 0:.0f} MB, {one['rows']:,} rows "
            f"(load {one['load']['before'][0] if one['load']['before'] else '?'} -> "
            f"{one['load']['after'][0] if one['load']['after'] else '?'})")
    out = bi.summarise(runs)
    out["rounds_load"] = [r["load"] for r in runs]
    return out


def bench_scale(one_year: Path | None, many: Path | None, repeat: int,
                reference: dict | None) -> dict:
    """The results-only path (``sna.load_dataset``) on two 500 MB Dask workers: on the
    one-year national set (then counts by LSOA x month x category over the dataset, compared
    with the pandas engine's counts of the ingest section) and on many years
    (``ten_years.py``; counts by partnership x financial year x category over the dataset)."""
    res: dict = {"repeat": repeat, "data": {}, "contenders": {}, "targets": {}}
    if one_year is not None:
        res["data"]["one_year"] = describe_data(one_year)
        v = res["contenders"]["sna-dataset-500mb"] = _scale_run("sna-dataset-500mb", one_year, repeat)
        res["targets"]["one_year_driver_peak_under_2GB"] = v["peak_mb"] < DRIVER_TARGET_MB
        if reference:  # the pandas engine's figures on the same files (the ingest section)
            res["targets"]["one_year_same_counts_as_sna"] = all(
                v.get(k) == reference.get(k)
                for k in ("rows", "kept", "set_aside", "groups", "quarantine"))
    if many is not None:
        res["data"]["many_years"] = describe_data(many)
        v = res["contenders"]["sna-dataset-scale"] = _scale_run("sna-dataset-scale", many, repeat)
        res["data"]["many_years"]["rows"] = v["rows"]
        res["targets"]["many_years_driver_peak_under_2GB"] = v["peak_mb"] < DRIVER_TARGET_MB
        res["targets"]["many_years_rows_read_equal_kept_plus_set_aside"] = (
            v["rows"] == v["kept"] + sum(v["set_aside"].values()))
    res["notes"] = [
        "sna.load_dataset(config) with engine dask on a LocalCluster of 2 workers limited to "
        "500MB each, started inside the run: each street file cleaned by a task that writes its "
        "kept incidents and set-aside rows as Parquet and sends back only its QualityLog entry "
        "and its counts (monthly by area and category, LSOA x financial year x category); then "
        "counts over the dataset (one task per Parquet file; 'by'); the dataset is deleted "
        "after the timing",
        "peak_mb = the driver's peak resident memory (VmHWM, MiB); workers_peak_mb = the "
        "largest worker's; cpu_s = the driver's CPU time (the workers' is not included)",
        "load: the load average (1, 5, 15 min) before and after each round (rounds_load)",
    ]
    return res


# --------------------------------------------------------------------------------------------
# hot spots
# --------------------------------------------------------------------------------------------
def bench_hotspot(repeat: int, quick: bool) -> dict:
    out = Path(tempfile.mkdtemp(prefix="sna-bench-hs-")) / "hotspot.json"
    cmd = [sys.executable, str(HERE / "bench_hotspot.py"), str(out), "--repeats", str(repeat)]
    if quick:
        cmd += ["--n", "5000", "--permutations", "99"]
    say("  " + " ".join(Path(c).name if c.startswith("/") else c for c in cmd))
    res = subprocess.run(cmd, capture_output=True, text=True)
    for line in res.stdout.splitlines():
        say("  | " + line)
    if res.returncode != 0:
        return {"error": res.stderr[-2000:]}
    result = json.loads(out.read_text())
    shutil.rmtree(out.parent, ignore_errors=True)
    return result


# --------------------------------------------------------------------------------------------
# the demo batch
# --------------------------------------------------------------------------------------------
def _papermill_one_by_one(work: Path) -> tuple[float, list[dict]]:
    """Each chapter notebook with the papermill command line, one after the other."""
    from sna.config import load_config
    from sna.datasets import demo_config
    from sna.report import resolve_chapters

    cfg_path = demo_config()
    year = str(load_config(cfg_path).year)
    out, cache = work / "out", work / "cache"
    for sub in ("chapters", "figures", "tables", "maps", "quarantine"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    papermill = str(Path(sys.executable).with_name("papermill"))
    steps = []
    t0 = time.perf_counter()
    for nb in resolve_chapters(None):
        cmd = [papermill, str(nb), str(out / "chapters" / nb.name),
               "-p", "config_path", str(cfg_path), "-p", "year", year, "-p", "build", "restricted",
               "-p", "output_dir", str(out), "-p", "cache_dir", str(cache), "--no-progress-bar"]
        t = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=work)
        steps.append({"chapter": nb.stem, "seconds": round(time.perf_counter() - t, 2),
                      "ok": res.returncode == 0})
        if res.returncode != 0:
            steps[-1]["error"] = res.stderr[-800:]
    return time.perf_counter() - t0, steps


def _sna_run(work: Path) -> tuple[float, dict]:
    """``sna run`` on the demo into ``work/out`` (its cache in ``work/.sna-cache``)."""
    sna = str(Path(sys.executable).with_name("sna"))
    t = time.perf_counter()
    res = subprocess.run([sna, "run", "--output", str(work / "out"), "--quiet"],
                         capture_output=True, text=True, cwd=work)
    wall = time.perf_counter() - t
    info = {"exit": res.returncode}
    manifest = list((work / "out").glob("*/*/manifest.json"))
    if manifest:
        m = json.loads(manifest[0].read_text())
        info["timings"] = m.get("timings") or m.get("run", {}).get("timings")
        info["cache_reused"] = m.get("cache_reused", m.get("run", {}).get("cache_reused"))
    if res.returncode != 0:
        info["error"] = (res.stderr or res.stdout)[-800:]
    return wall, info


#: What the cold and warm runs must give byte for byte: the chapters' tables and figures.
COMPARED = ("tables/*.csv", "figures/*.png", "figures/*.svg", "maps/*.png", "maps/*.svg",
            "tables.xlsx")


def _outputs(work: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for base in (work / "out").glob("*/*"):
        for pattern in COMPARED:
            for f in base.glob(pattern):
                found[str(f.relative_to(base))] = f
    return found


def _same(a: Path, b: Path) -> bool:
    """Byte for byte (``cmp``); a workbook by its sheets and cells (an .xlsx is a zip whose
    entries carry the time they were written)."""
    if filecmp.cmp(a, b, shallow=False):
        return True
    if a.suffix.lower() != ".xlsx":
        return False
    from openpyxl import load_workbook

    wa, wb = load_workbook(a, read_only=True), load_workbook(b, read_only=True)
    try:
        return wa.sheetnames == wb.sheetnames and all(
            list(wa[n].iter_rows(values_only=True)) == list(wb[n].iter_rows(values_only=True))
            for n in wa.sheetnames)
    finally:
        wa.close()
        wb.close()


def compare_outputs(a: dict[str, Path], b: dict[str, Path]) -> dict:
    """Byte-for-byte comparison (``cmp``) of two runs' tables and figures (``tables.xlsx``:
    cell by cell)."""
    names = sorted(set(a) | set(b))
    differ = [n for n in names if n not in a or n not in b or not _same(a[n], b[n])]
    kinds = {}
    for n in names:
        k = n.rsplit(".", 1)[-1]
        kinds[k] = kinds.get(k, 0) + 1
    return {"files": len(names), "by_kind": kinds, "identical": not differ and bool(names),
            "differ": differ[:50]}


def bench_batch(repeat: int) -> dict:
    cold, warm, pm = [], [], []
    cold_info, warm_info, pm_steps = [], [], []
    comparisons = []
    first_cold: dict[str, Path] | None = None
    keep = Path(tempfile.mkdtemp(prefix="sna-bench-batch-first-"))
    try:
        for r in range(repeat):
            # 1. sna run from a cold cache, 2. the same run again (cache present)
            work = Path(tempfile.mkdtemp(prefix="sna-bench-batch-"))
            try:
                wall, info = _sna_run(work)
                cold.append(wall)
                cold_info.append(info)
                say(f"  batch round {r + 1}/{repeat}  {'sna run, cold cache':<24} {wall:7.1f} s  "
                    f"(load {load_now()[0] if load_now() else '?'})")
                cold_out = _outputs(work)
                snap = Path(tempfile.mkdtemp(prefix="sna-bench-batch-cold-"))
                cold_copy = {}
                for name, f in cold_out.items():  # the warm run rewrites the same files
                    dest = snap / name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(f, dest)
                    cold_copy[name] = dest
                wall, info = _sna_run(work)
                warm.append(wall)
                warm_info.append(info)
                say(f"  batch round {r + 1}/{repeat}  {'sna run, warm (rerun)':<24} {wall:7.1f} s")
                cmp_ = {"cold_vs_warm": compare_outputs(cold_copy, _outputs(work))}
                if first_cold is None:
                    first_cold = {}
                    for name, f in cold_copy.items():
                        dest = keep / name
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(f, dest)
                        first_cold[name] = dest
                else:
                    cmp_["cold_vs_first_round"] = compare_outputs(first_cold, cold_copy)
                comparisons.append(cmp_)
                shutil.rmtree(snap, ignore_errors=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            # 3. papermill one by one, from a cold cache
            work = Path(tempfile.mkdtemp(prefix="sna-bench-batch-"))
            try:
                wall, pm_steps = _papermill_one_by_one(work)
                pm.append(wall)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            say(f"  batch round {r + 1}/{repeat}  {'papermill one by one':<24} {wall:7.1f} s")
    finally:
        shutil.rmtree(keep, ignore_errors=True)
    c, w, p = statistics.median(cold), statistics.median(warm), statistics.median(pm)
    ok_pm = all(st["ok"] for st in pm_steps)
    identical = all(x["cold_vs_warm"]["identical"] for x in comparisons)
    same_each_round = all(x.get("cold_vs_first_round", {"identical": True})["identical"]
                          for x in comparisons)
    per_round = [q / s for q, s in zip(pm, cold)]

    def timing_spread(infos: list[dict]) -> dict:
        keys = sorted({k for i in infos for k in (i.get("timings") or {})})
        return {k: spread([i["timings"][k] for i in infos if k in (i.get("timings") or {})])
                for k in keys}

    return {
        "repeat": repeat,
        "sna_run": {"seconds": round(c, 2), "min_s": round(min(cold), 2),
                    "max_s": round(max(cold), 2), "runs_s": [round(x, 2) for x in cold],
                    "exit": [i["exit"] for i in cold_info], "timings": timing_spread(cold_info),
                    "cache_reused": [i.get("cache_reused") for i in cold_info]},
        "sna_run_warm": {"seconds": round(w, 2), "min_s": round(min(warm), 2),
                         "max_s": round(max(warm), 2), "runs_s": [round(x, 2) for x in warm],
                         "exit": [i["exit"] for i in warm_info],
                         "timings": timing_spread(warm_info),
                         "cache_reused": [i.get("cache_reused") for i in warm_info]},
        "papermill_one_by_one": {"seconds": round(p, 2), "min_s": round(min(pm), 2),
                                 "max_s": round(max(pm), 2), "runs_s": [round(x, 2) for x in pm],
                                 "chapters": pm_steps, "all_ok": ok_pm},
        "outputs": {"cold_vs_warm_identical": identical,
                    "identical_every_round": same_each_round, "rounds": comparisons},
        "ratios": {"papermill_over_sna_run": round(p / c, 3)},
        "ratio_spread": {"papermill_over_sna_run": {"min": round(min(per_round), 3),
                                                    "max": round(max(per_round), 3)}},
        "targets": {"sna_run_cold_under_30s": c < 30, "sna_run_warm_under_15s": w < 15,
                    "cold_and_warm_outputs_identical": identical,
                    "sna_run_2x_faster_than_papermill": p / c >= 2},
        "notes": ["sna run = the CLI (prepare once, chapters in parallel kernels, HTML, "
                  "tables.xlsx, report.html): cold = a fresh folder (no cache), warm = the same "
                  "command again in the same folder (the cache present, every chapter executed "
                  "again); papermill = each chapter notebook in turn from a cold cache, the "
                  "first one preparing the cache the others reuse, no report assembly",
                  "outputs: the tables (CSV) and figures and maps (PNG, SVG) of the cold and "
                  "the warm run compared byte for byte (filecmp, as cmp), tables.xlsx sheet by "
                  "sheet and cell by cell (its zip entries carry the time they were written); "
                  "cold_vs_first_round compares each round's cold run with the first's",
                  "numba_installed: whether numba was importable. The quick start does not "
                  "install it (the hotspot section's esda-at-its-best figures need it, installed "
                  "by hand); with numba present, mapclassify compiles its Fisher-Jenks kernel "
                  "when it is imported (about 1.3 s of CPU more in a kernel that draws a map)"],
        "numba_installed": importlib.util.find_spec("numba") is not None,
    }


# --------------------------------------------------------------------------------------------
# a rerun against the previous run
# --------------------------------------------------------------------------------------------
def reproduction(new: dict, old: dict) -> dict:
    """Does each ratio of ``new`` lie within the per-round spread of ``old`` (and the other
    way round)?"""
    out: dict = {"previous_when": old.get("when"), "ratios": {}}
    for name, r in (new.get("ratios") or {}).items():
        o_r = (old.get("ratios") or {}).get(name)
        o_sp = (old.get("ratio_spread") or {}).get(name)
        n_sp = (new.get("ratio_spread") or {}).get(name)
        if o_r is None or o_sp is None or n_sp is None:
            continue
        out["ratios"][name] = {
            "now": r, "now_spread": [n_sp["min"], n_sp["max"]],
            "previous": o_r, "previous_spread": [o_sp["min"], o_sp["max"]],
            "within_previous_spread": o_sp["min"] <= r <= o_sp["max"],
            "spreads_overlap": n_sp["min"] <= o_sp["max"] and o_sp["min"] <= n_sp["max"],
        }
    out["reproduced"] = bool(out["ratios"]) and all(
        v["within_previous_spread"] or v["spreads_overlap"] for v in out["ratios"].values())
    return out


# --------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------
def _rng(v: dict, unit: str = "s") -> str:
    return f"({v['min_s']:.1f}-{v['max_s']:.1f})" if "min_s" in v else ""


def table(results: dict) -> str:
    lines = []
    ing = results.get("ingest")
    if ing:
        d = ing["data"]
        lines.append(f"INGEST  {d['rows']:,} rows, {d['files']} files ({d['bytes'] / 2**30:.2f} GiB), "
                     f"median (min-max) of {ing['repeat']} rounds")
        lines.append(f"  {'contender':<10} {'seconds':>9} {'(min-max)':>13} {'cpu s':>7} "
                     f"{'x naive':>8} {'peak MB':>9}")
        naive = ing["contenders"].get("naive", {}).get("seconds")
        for c, v in ing["contenders"].items():
            rel = f"{v['seconds'] / naive:8.2f}" if naive else "       -"
            cpu = f"{v['cpu_s']:7.1f}" if "cpu_s" in v else "      -"
            lines.append(f"  {c:<10} {v['seconds']:9.2f} {_rng(v):>13} {cpu} {rel} {v['peak_mb']:9.0f}")
        for k, r in ing["ratios"].items():
            sp = ing.get("ratio_spread", {}).get(k)
            lines.append(f"  {k:<20} {r:6.2f}" + (f"  (rounds {sp['min']:.2f}-{sp['max']:.2f})" if sp else ""))
        lines.append(f"  targets: {json.dumps(ing['targets'])}")
        if ing.get("reproduction"):
            lines.append(f"  rerun vs previous run: reproduced = {ing['reproduction']['reproduced']}")
        if (ing.get("load") or {}).get("warning"):
            lines.append(f"  WARNING: {ing['load']['warning']}")
    sc = results.get("scale")
    if sc and sc.get("contenders"):
        lines.append("SCALE   results-only path (sna.load_dataset) on 2 Dask workers of 500MB")
        for c, v in sc["contenders"].items():
            lines.append(f"  {c:<18} {v['rows']:,} rows: {v['seconds']:9.1f} s {_rng(v)}, driver's "
                         f"peak {v['peak_mb']:.0f} MB, workers' peak {v.get('workers_peak_mb') or 0:.0f} MB")
        lines.append(f"  targets: {json.dumps(sc['targets'])}")
        if (sc.get("load") or {}).get("warning"):
            lines.append(f"  WARNING: {sc['load']['warning']}")
    hs = results.get("hotspot")
    if hs and "medians_s" in hs:
        lines.append(f"HOTSPOT {hs['data']['polygons']:,} polygons, {hs['permutations']} permutations, "
                     f"median of {hs['repeats']} rounds")
        for k, v in hs["medians_s"].items():
            sp = (hs.get("spread_s") or {}).get(k)
            lines.append(f"  {k:<34} {v:9.2f} s" + (f"  ({sp['min']:.2f}-{sp['max']:.2f})" if sp else ""))
        lines.append(f"  ratios: {json.dumps(hs.get('ratios', {}))}")
        lines.append(f"  targets: {json.dumps(hs.get('targets', {}))}")
        if (hs.get("load") or {}).get("warning"):
            lines.append(f"  WARNING: {hs['load']['warning']}")
    elif hs:
        lines.append(f"HOTSPOT failed: {hs.get('error', '')[-300:]}")
    b = results.get("batch")
    if b:
        lines.append(f"BATCH   the bundled demo, median (min-max) of {b['repeat']} rounds")
        lines.append(f"  sna run, cold cache    {b['sna_run']['seconds']:9.1f} s {_rng(b['sna_run'])}")
        if "sna_run_warm" in b:
            lines.append(f"  sna run, warm (rerun)  {b['sna_run_warm']['seconds']:9.1f} s "
                         f"{_rng(b['sna_run_warm'])}")
        lines.append(f"  papermill one by one   {b['papermill_one_by_one']['seconds']:9.1f} s "
                     f"{_rng(b['papermill_one_by_one'])}")
        if "outputs" in b:
            lines.append(f"  cold and warm tables and figures identical: "
                         f"{b['outputs']['cold_vs_warm_identical']}")
        lines.append(f"  ratios: {json.dumps(b['ratios'])}")
        lines.append(f"  targets: {json.dumps(b['targets'])}")
        if (b.get("load") or {}).get("warning"):
            lines.append(f"  WARNING: {b['load']['warning']}")
    if (results.get("load") or {}).get("warning"):
        lines.append(f"WARNING: {results['load']['warning']}")
    return "\n".join(lines)


def environment() -> dict:
    import importlib.metadata as md

    import sna

    env = {"python": sys.version.split()[0], "platform": platform.platform(),
           "cpu_count": os.cpu_count(), "cores_usable": cores(), "load_average": load_now(),
           "sna": sna.__version__}
    for pkg in ("pandas", "numpy", "pyarrow", "duckdb", "dask", "distributed", "esda", "numba",
                "pyproj"):
        try:
            env[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            env[pkg] = None
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small data, one round (smoke run)")
    ap.add_argument("--repeat", type=int, default=None,
                    help=f"rounds (default {REPEAT}; 1 with --quick)")
    ap.add_argument("--only", default="ingest,hotspot,batch", help="comma-separated benchmarks")
    ap.add_argument("--contenders", default=",".join(INGEST), help="ingest contenders")
    ap.add_argument("--data", type=Path, default=None, help="folder of the street files")
    ap.add_argument("--size", default=None,
                    help="FORCESxMONTHSxROWS of generated data (default 43x12x11600; quick 4x3x11600)")
    ap.add_argument("--scale-data", type=Path, default=None,
                    help="folder of the many-year street files of --only scale (default "
                         "benchmarks/_data/ten-years, generated by ten_years.py if missing)")
    ap.add_argument("--scale-only", default="one_year,many_years",
                    help="the runs of --only scale: one_year, many_years or both")
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    ap.add_argument("--fresh", action="store_true",
                    help="start --out afresh (by default a run keeps the sections it does not "
                         "run, and the ones it replaces as 'previous')")
    ap.add_argument("--merge", action="store_true", help=argparse.SUPPRESS)  # the default now
    a = ap.parse_args(argv)
    repeat = a.repeat or (1 if a.quick else REPEAT)
    only = [x.strip() for x in a.only.split(",") if x.strip()]
    size = a.size or ("4x3x11600" if a.quick else "43x12x11600")
    forces, months, rows = (int(x) for x in size.lower().split("x"))
    root = a.data or (HERE / "_data" / ("quick" if a.quick else "national"))
    results: dict = {}
    if not a.fresh and a.out.exists():
        results = json.loads(a.out.read_text())
    command = ("python benchmarks/run.py " + " ".join(argv or sys.argv[1:])).strip()
    when = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    results.update({"when": when, "quick": a.quick, "environment": environment()})
    results.setdefault("commands", {})
    results.setdefault("previous", {})
    for section in only:
        results["commands"][section] = command
    t0 = time.perf_counter()
    run_watch = LoadWatch()
    say_load("at the start", run_watch.before)

    def section(name: str, fn) -> None:
        watch = LoadWatch()
        old = results.get(name)
        res = fn()
        res["load"] = watch.record()
        res["when"] = when
        res["command"] = command
        say_load(f"after {name}", res["load"]["after"])
        if res["load"].get("others_cores") is not None:
            say(f"  other processes than this run's: {res['load']['others_cores']:.2f} cores on "
                f"average during {name}")
        if old and not old.get("error") and not res.get("error"):
            old = {k: v for k, v in old.items() if k != "reproduction"}
            results["previous"][name] = old
            res["reproduction"] = reproduction(res, old)
        results[name] = res

    if "ingest" in only:
        say(f"ingest: data {root}")
        data = ensure_data(root, forces, months, rows)
        contenders = tuple(c for c in a.contenders.split(",") if c)
        section("ingest", lambda: bench_ingest(root, data, repeat, contenders))
    if "scale" in only:
        kinds = {x.strip() for x in a.scale_only.split(",")}
        one = None
        if "one_year" in kinds:
            one = root
            ensure_data(root, forces, months, rows)
        many = None
        if "many_years" in kinds:
            many = a.scale_data or (HERE / "_data" / "ten-years")
            if not list(many.glob("*/*-street.csv")):
                import ten_years

                say(f"generating the ten-year set into {many} ...")
                ten_years.generate(many)
        say(f"scale: one year {one}, many years {many}")
        ref = ((results.get("ingest") or {}).get("contenders") or {}).get("sna")
        def scale_section() -> dict:
            res = bench_scale(one, many, a.repeat or 1, ref)
            old_scale = results.get("scale") or {}
            for kind, name in (("one_year", "sna-dataset-500mb"), ("many_years", "sna-dataset-scale")):
                if kind in kinds or name not in (old_scale.get("contenders") or {}):
                    continue  # (run now, or never run)
                # the run not repeated now is kept, with its own load and time
                res["data"][kind] = old_scale["data"][kind]
                res["contenders"][name] = dict(old_scale["contenders"][name],
                                               when=old_scale.get("when"),
                                               section_load=old_scale.get("load"))
                res["targets"].update({k: v for k, v in old_scale.get("targets", {}).items()
                                       if k.startswith(kind)})
            return res

        section("scale", scale_section)
    if "hotspot" in only:
        say("hotspot:")
        section("hotspot", lambda: bench_hotspot(repeat, a.quick))
    if "batch" in only:
        say("batch:")
        section("batch", lambda: bench_batch(repeat))
    results["load"] = run_watch.record()
    results.setdefault("seconds", {})
    if not isinstance(results["seconds"], dict):
        results["seconds"] = {}
    results["seconds"][",".join(only)] = round(time.perf_counter() - t0, 1)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    say("")
    say(table(results))
    say(f"\nwrote {a.out}")
    if (not a.quick and a.out.resolve() == (HERE / "results.json").resolve()
            and all(k in results for k in ("ingest", "hotspot", "batch"))):
        import readme_table  # benchmarks/ is on sys.path when run as a script

        changed = readme_table.update(a.out)
        say("README.md performance table " + ("updated" if changed else "unchanged"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
