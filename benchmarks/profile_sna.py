#!/usr/bin/env python
"""Where the time goes: sample sna's full ingest or the demo's prepare step with py-spy.

    .venv/bin/python benchmarks/profile_sna.py ingest     # the national synthetic set (run.py makes it)
    .venv/bin/python benchmarks/profile_sna.py prepare    # the bundled demo, from a cold cache
    .venv/bin/python benchmarks/profile_sna.py ingest --raw out.txt --rate 100

py-spy (``pip install py-spy``) samples every thread of a fresh process
from outside, so the ingest's file tasks on the thread pool are seen as well as the main
thread (cProfile and pyinstrument see one thread). The samples are summed into **stages**
(the functions below; a sample counts for the innermost stage on its stack) and into the
functions with the most time of their own. Times are thread-seconds: with two threads busy, a
wall second counts twice, so the column adds up to more than the wall time.

Without py-spy, ``--cprofile`` profiles the main thread with the standard library's cProfile
(the file tasks then show only as the main thread waiting for them).
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Stages of the ingest and of the prepare step: (label, function names). A sample belongs to
#: the innermost stage on its stack.
STAGES = [
    ("imports (sna, pandas, geopandas, pyproj...)", ("_find_and_load",)),
    ("geography: boundaries, lookups, population, IMD", ("load_geography",)),
    ("police.uk file task: read the file's bytes", ("read_bytes",)),
    ("police.uk file task: parse the CSV (pyarrow) + header checks", ("read_file",)),
    ("police.uk file task: line numbers + duplicate-row scan", ("_lines_and_duplicates",)),
    ("police.uk file task: months, crime types, LSOAs (look-ups)", ("_encoded", "month_lut",
                                                                    "type_luts", "lsoa_lut")),
    ("police.uk file task: coordinates to British National Grid (pyproj)", ("to_bng",)),
    ("police.uk file task: the rest", ("_police_uk_file", "_police_uk_file_inner")),
    ("set-aside rows: parsed again, JSON records for the quarantine", ("_with_records",
                                                                        "parse_raw_lines")),
    ("set-aside rows: cleaning (place, area filter, quarantine)", ("_clean_rest",
                                                                   "_clean_police_uk_batch")),
    ("assembling the incidents table", ("_assemble", "_incidents", "_concat")),
    ("partner sources: police extract", ("clean_police_extract",)),
    ("partner sources: ambulance", ("clean_ambulance",)),
    ("partner sources: A&E (ECDS)", ("clean_ecds",)),
    ("partner sources: interventions", ("clean_interventions",)),
    ("people table", ("build_people", "people_table")),
    ("writing the Parquet cache", ("_write_cache", "write_cache", "to_parquet")),
    ("aggregate (LSOA x month x category)", ("aggregate",)),
    ("waiting for the file tasks (main thread)", ("Future.result", "_run_pandas", "run_tasks")),
]


def _frames(stack: str) -> list[str]:
    out = []
    for f in stack.split(";"):
        m = re.match(r"(.*?) \((.*?):(\d+)\)", f)
        out.append(f"{m.group(1)} ({m.group(2).split('/')[-1]})" if m else f)
    return out


def summarise(raw: Path, rate: int, top: int = 20) -> str:
    """The stages and the functions with the most time of their own, from py-spy's raw output."""
    stages: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        stack, n = line.rsplit(" ", 1)
        n = int(n)
        total += n
        frames = _frames(stack)
        own[frames[-1]] += n
        label = "other"
        for f in reversed(frames):
            name = f.split(" (")[0]
            hit = next((lab for lab, fns in STAGES
                        if any(name == fn or name.endswith("." + fn) for fn in fns)), None)
            if hit:
                label = hit
                break
        stages[label] += n
    sec = lambda n: n / rate  # noqa: E731
    lines = [f"{total} samples at {rate}/s = {sec(total):.1f} thread-seconds", "", "stages:"]
    for label, n in stages.most_common():
        lines.append(f"  {sec(n):7.2f} s  {100 * n / total:5.1f} %  {label}")
    lines += ["", "functions with the most time of their own:"]
    for name, n in own.most_common(top):
        lines.append(f"  {sec(n):7.2f} s  {100 * n / total:5.1f} %  {name}")
    return "\n".join(lines)


def _target(what: str, data: Path) -> list[str]:
    if what == "ingest":
        return [sys.executable, str(HERE / "sna_ingest.py"), str(data)]
    code = ("import sys, tempfile, time; t = time.perf_counter(); import sna; "
            "from sna.config import load_config; from sna.datasets import demo_config; "
            "cfg = load_config(demo_config()); cfg.cache = tempfile.mkdtemp(); "
            "a = sna.load_assessment(cfg, use_cache=True); "
            "print(f'prepare: {time.perf_counter() - t:.1f} s, {len(a.incidents)} incidents')")
    return [sys.executable, "-c", code]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("ingest", "prepare"))
    ap.add_argument("--data", type=Path, default=HERE / "_data" / "national",
                    help="the street files of the ingest (benchmarks/run.py generates them)")
    ap.add_argument("--rate", type=int, default=100, help="samples per second")
    ap.add_argument("--raw", type=Path, default=None, help="keep py-spy's raw samples here")
    ap.add_argument("--cprofile", action="store_true", help="cProfile (main thread) instead")
    a = ap.parse_args(argv)
    cmd = _target(a.what, a.data)
    if a.cprofile or not shutil.which("py-spy", path=str(Path(sys.executable).parent)) and \
            not shutil.which("py-spy"):
        if not a.cprofile:
            print("py-spy is not installed (pip install py-spy): cProfile of the main thread")
        out = Path(tempfile.mkdtemp()) / "prof.out"
        subprocess.run([cmd[0], "-m", "cProfile", "-o", str(out), *cmd[1:]], check=True)
        import pstats

        pstats.Stats(str(out)).sort_stats("cumulative").print_stats(30)
        return 0
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    raw = a.raw or Path(tempfile.mkdtemp()) / "samples.txt"
    t = time.perf_counter()
    subprocess.run([spy, "record", "--rate", str(a.rate), "--format", "raw", "--output", str(raw),
                    "--nonblocking", "--", *cmd], check=True)
    print(f"\n{a.what}: {time.perf_counter() - t:.1f} s wall under py-spy\n")
    print(summarise(raw, a.rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
