#!/usr/bin/env python
"""Benchmark: the demo year's batch (`sna run` on the bundled demo), not a test.

Runs the whole batch twice into a temporary folder: the first run prepares the assessment
(ingest, clean, Parquet cache) and executes every chapter; the second reuses the cache, which
is the yearly re-run an analyst makes after editing a chapter. Prints the time of each step and
of each chapter, and the machine's cores.

    .venv/bin/python benchmarks/bench_report.py [--jobs N] [--build restricted|public] [--keep DIR]

The issue's target: the demo year's batch under 90 s on 2 cores after install.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=None, help="chapters at once (default: cores)")
    ap.add_argument("--build", default="restricted", choices=("restricted", "public"))
    ap.add_argument("--keep", help="write the outputs here instead of a temporary folder")
    ap.add_argument("--runs", type=int, default=2, help="runs (the first prepares the cache)")
    args = ap.parse_args(argv)

    from sna import report

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sna-bench-"))
    print(f"cores: {cores}; jobs: {args.jobs or cores}; build: {args.build}; output: {base}")
    try:
        for i in range(args.runs):
            t0 = time.perf_counter()
            result = report.run(None, output=base, jobs=args.jobs, build=args.build,
                                progress=False)
            wall = time.perf_counter() - t0
            what = "first run (prepares the cache)" if i == 0 else "re-run (cache reused)"
            print(f"\n{what}: {wall:.1f} s wall, exit {result.exit_code}, "
                  f"cache reused: {result.cache_reused}")
            for k, v in result.timings.items():
                print(f"  {k:<10} {v:7.1f} s")
            for c in sorted(result.chapters, key=lambda c: -c.seconds):
                print(f"  {c.name:<22} {c.seconds:6.1f} s  {c.status}")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
