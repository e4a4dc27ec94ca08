#!/usr/bin/env python
"""Run every benchmark of sna side by side and write benchmarks/results.json.

    .venv/bin/python benchmarks/run.py                # everything (national data; ~1 h on 2 cores)
    .venv/bin/python benchmarks/run.py --quick        # smoke run: small data, one repeat
    .venv/bin/python benchmarks/run.py --only ingest --repeat 5

Three comparisons, each timed side by side in the same run, contenders interleaved round by
round (so that a busy machine slows them alike), medians of ``--repeat`` rounds:

ingest
    The national SYNTHETIC set in the data.police.uk layout (43 forces x 12 months x 11,600
    rows = 5,985,600 rows; ``benchmarks/national.py``, generated into ``benchmarks/_data/`` if
    missing, never committed) read and counted by LSOA x month x crime type by: the naive
    pandas path, pyarrow's bare parse, DuckDB, sna's full ingest (read, validate, clean,
    place, reconcile, aggregate; ``sna_ingest.py``), the same on sna's Dask engine, and sna's
    reader alone (``read_police_uk``: its time and memory). Each run is a fresh process; wall
    time and peak resident memory (``VmHWM``).
hotspot
    ``bench_hotspot.py``: Gi* and local Moran with 999 permutations on 35,000 synthetic polygons,
    sna against esda called directly (fresh process; its own repeats and medians).
batch
    The bundled demo's yearly batch: ``sna run`` (one command: prepare once, chapters in
    parallel, report) against running the same chapter notebooks one by one with the papermill
    command line (``papermill in.ipynb out.ipynb -p config_path ... -p year ...``), each from
    a cold cache.

``--quick`` uses 4 forces x 3 months (139,200 rows; ``benchmarks/_data/quick``), 5,000 polygons
with 99 permutations, and one round: it proves the scripts work; its figures are not the
targets' figures.

The targets (issue 9): full sna ingest <= 1.5 x the naive read + group-by and <= 3 x DuckDB's,
peak memory < 1.5 GB (1,536 MiB); hot spots within 1.2 x esda and under 20 s; demo batch under
60 s and at least 2 x faster than papermill one by one.
"""

from __future__ import annotations

import argparse
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

INGEST = ("naive", "pyarrow", "duckdb", "sna", "sna-dask", "sna-reader")
PEAK_TARGET_MB = 1536.0  # 1.5 GiB


def say(msg: str) -> None:
    print(msg, flush=True)


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
def bench_ingest(root: Path, data: dict, repeat: int, contenders=INGEST) -> dict:
    import bench_ingest as bi

    runs: dict[str, list[dict]] = {c: [] for c in contenders}
    for r in range(repeat):
        for c in contenders:
            one = bi.run_once(c, root)
            runs[c].append(one)
            say(f"  ingest round {r + 1}/{repeat}  {c:<9} {one['seconds']:7.2f} s  "
                f"peak {one['peak_mb']:7.0f} MB")
    res = {c: bi.summarise(v) for c, v in runs.items()}
    med = {c: v["seconds"] for c, v in res.items()}
    ratios, targets = {}, {}
    if "sna" in med:
        for other in ("naive", "pyarrow", "duckdb"):
            if other in med:
                ratios[f"sna_over_{other}"] = round(med["sna"] / med[other], 3)
        if "sna-dask" in med:
            ratios["sna_dask_over_sna"] = round(med["sna-dask"] / med["sna"], 3)
        if "naive" in med:
            targets["sna_within_1.5x_naive"] = ratios["sna_over_naive"] <= 1.5
        if "duckdb" in med:
            targets["sna_within_3x_duckdb"] = ratios["sna_over_duckdb"] <= 3.0
        targets["sna_peak_under_1.5GB"] = res["sna"]["peak_mb"] < PEAK_TARGET_MB
    # per-round ratios show how steady the comparison was
    rounds = []
    for i in range(repeat):
        row = {c: round(runs[c][i]["seconds"], 3) for c in contenders}
        if "sna" in row and "naive" in row:
            row["sna_over_naive"] = round(row["sna"] / row["naive"], 3)
        rounds.append(row)
    return {"data": data, "repeat": repeat, "contenders": res, "ratios": ratios,
            "targets": targets, "rounds": rounds,
            "notes": [
                "sna = sna.load_assessment(config, use_cache=False) (geography load, read, "
                "validate, clean, place, reconcile, quarantine) + sna.engine.aggregate by "
                "lsoa x month x category; the config's geography is one 1 km square per "
                "2011 LSOA (synthetic), one partnership per police force area",
                "naive = pd.concat(pd.read_csv(f) for f in files).groupby([LSOA code, Month, "
                "Crime type]).size(); pyarrow = pyarrow.csv.read_csv of every file (no "
                "group-by); duckdb = count(*) then the group-by (two scans)",
                "peak_mb = the run's process's peak resident memory (VmHWM, MiB); "
                "sna-dask's workers_peak_mb = the largest worker process's",
            ]}


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
    if res.returncode != 0:
        info["error"] = (res.stderr or res.stdout)[-800:]
    return wall, info


def bench_batch(repeat: int) -> dict:
    sna_runs, pm_runs, sna_info, pm_steps = [], [], {}, []
    for r in range(repeat):
        for which in ("sna run", "papermill one by one"):
            work = Path(tempfile.mkdtemp(prefix="sna-bench-batch-"))
            try:
                if which == "sna run":
                    wall, sna_info = _sna_run(work)
                    sna_runs.append(wall)
                else:
                    wall, pm_steps = _papermill_one_by_one(work)
                    pm_runs.append(wall)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            say(f"  batch round {r + 1}/{repeat}  {which:<22} {wall:7.1f} s")
    s, p = statistics.median(sna_runs), statistics.median(pm_runs)
    ok_pm = all(st["ok"] for st in pm_steps)
    return {
        "repeat": repeat,
        "sna_run": {"seconds": round(s, 2), "runs_s": [round(x, 2) for x in sna_runs], **sna_info},
        "papermill_one_by_one": {"seconds": round(p, 2), "runs_s": [round(x, 2) for x in pm_runs],
                                 "chapters": pm_steps, "all_ok": ok_pm},
        "ratios": {"papermill_over_sna_run": round(p / s, 3)},
        "targets": {"sna_run_under_60s": s < 60, "sna_run_2x_faster_than_papermill": p / s >= 2},
        "notes": ["both from a cold cache (fresh folders); sna run = the CLI (prepare once, "
                  "chapters in parallel kernels, HTML, tables.xlsx, report.html); papermill = "
                  "each chapter notebook in turn, the first one preparing the cache the others "
                  "reuse, no report assembly"],
    }


# --------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------
def table(results: dict) -> str:
    lines = []
    ing = results.get("ingest")
    if ing:
        d = ing["data"]
        lines.append(f"INGEST  {d['rows']:,} rows, {d['files']} files ({d['bytes'] / 2**30:.2f} GiB), "
                     f"median of {ing['repeat']}")
        lines.append(f"  {'contender':<10} {'seconds':>9} {'x naive':>8} {'peak MB':>9}")
        naive = ing["contenders"].get("naive", {}).get("seconds")
        for c, v in ing["contenders"].items():
            rel = f"{v['seconds'] / naive:8.2f}" if naive else "       -"
            lines.append(f"  {c:<10} {v['seconds']:9.2f} {rel} {v['peak_mb']:9.0f}")
        lines.append(f"  ratios: {json.dumps(ing['ratios'])}")
        lines.append(f"  targets: {json.dumps(ing['targets'])}")
    hs = results.get("hotspot")
    if hs and "medians_s" in hs:
        lines.append(f"HOTSPOT {hs['data']['polygons']:,} polygons, {hs['permutations']} permutations, "
                     f"median of {hs['repeats']}")
        for k, v in hs["medians_s"].items():
            lines.append(f"  {k:<28} {v:9.2f} s")
        lines.append(f"  ratios: {json.dumps(hs.get('ratios', {}))}")
        lines.append(f"  targets: {json.dumps(hs.get('targets', {}))}")
    elif hs:
        lines.append(f"HOTSPOT failed: {hs.get('error', '')[-300:]}")
    b = results.get("batch")
    if b:
        lines.append(f"BATCH   the bundled demo, median of {b['repeat']}")
        lines.append(f"  sna run               {b['sna_run']['seconds']:9.1f} s")
        lines.append(f"  papermill one by one  {b['papermill_one_by_one']['seconds']:9.1f} s")
        lines.append(f"  ratios: {json.dumps(b['ratios'])}")
        lines.append(f"  targets: {json.dumps(b['targets'])}")
    return "\n".join(lines)


def environment() -> dict:
    import duckdb
    import numpy
    import pandas
    import pyarrow

    import sna

    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "sna": sna.__version__, "pandas": pandas.__version__, "numpy": numpy.__version__,
            "pyarrow": pyarrow.__version__, "duckdb": duckdb.__version__}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small data, one round (smoke run)")
    ap.add_argument("--repeat", type=int, default=None, help="rounds (default 3; 1 with --quick)")
    ap.add_argument("--only", default="ingest,hotspot,batch", help="comma-separated benchmarks")
    ap.add_argument("--contenders", default=",".join(INGEST), help="ingest contenders")
    ap.add_argument("--data", type=Path, default=None, help="folder of the street files")
    ap.add_argument("--size", default=None,
                    help="FORCESxMONTHSxROWS of generated data (default 43x12x11600; quick 4x3x11600)")
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    ap.add_argument("--merge", action="store_true",
                    help="keep the other benchmarks' sections already in --out (each section "
                         "stays one side-by-side run)")
    a = ap.parse_args(argv)
    repeat = a.repeat or (1 if a.quick else 3)
    only = [x.strip() for x in a.only.split(",") if x.strip()]
    size = a.size or ("4x3x11600" if a.quick else "43x12x11600")
    forces, months, rows = (int(x) for x in size.lower().split("x"))
    root = a.data or (HERE / "_data" / ("quick" if a.quick else "national"))
    results: dict = {}
    if a.merge and a.out.exists():
        results = json.loads(a.out.read_text())
    command = ("python benchmarks/run.py " + " ".join(argv or sys.argv[1:])).strip()
    results.update({"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": a.quick,
                    "environment": environment()})
    results.setdefault("commands", {})
    for section in only:
        results["commands"][section] = command
    t0 = time.perf_counter()
    if "ingest" in only:
        say(f"ingest: data {root}")
        data = ensure_data(root, forces, months, rows)
        contenders = tuple(c for c in a.contenders.split(",") if c)
        results["ingest"] = bench_ingest(root, data, repeat, contenders)
    if "hotspot" in only:
        say("hotspot:")
        results["hotspot"] = bench_hotspot(repeat, a.quick)
    if "batch" in only:
        say("batch:")
        results["batch"] = bench_batch(repeat)
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
