"""Hot-spot benchmark: sna's Gi* and local Moran against esda called directly, with and
without numba.

A SYNTHETIC tessellation of ~35,000 irregular polygons (the Voronoi cells of seeded random
points in a 60 x 60 km square, British National Grid metres: LSOA-like shapes with about six
neighbours each) carries seeded Poisson counts with a few hot centres. The contenders run in
``--repeats`` interleaved rounds (round 1: every contender once, round 2: ...); the median,
fastest and slowest round of each are reported:

- ``sna gistar, analytical``     -- ``sna.hotspot.gistar(permutations=0)``, neighbours built
  from the geometry (queen contiguity with the 1 m tolerance) inside the call;
- ``sna gistar, 999 perms``      -- ``gistar(permutations=999)``, same;
- ``sna local_moran, 999 perms`` -- ``local_moran(permutations=999)``, same;
- the same three with the weights matrix passed in (statistic only, like esda below);
- ``esda G_Local*, analytical``, ``esda G_Local*, 999 perms``, ``esda Moran_Local, 999
  perms`` -- esda called directly on a prebuilt libpysal ``W`` (star / binary for Gi*,
  row-standardised for Moran), ``n_jobs=-1`` (all cores), **with numba** when it is installed
  (esda's fast path). numba compiles esda's kernels on their first call in each process (and
  in each of joblib's worker processes): that first call is timed apart (``first_call_s``,
  compile + run), before the rounds, which are warm calls;
- the same three esda calls **without numba** (esda's pure-Python fallback), in a separate
  process in which ``import numba`` fails, driven round by round with the others;
- ``libpysal Queen build``       -- building that ``W`` from the polygons (reported apart).

Targets (issues 5, 19): Gi* and local Moran with 999 permutations under 20 s on 2 cores and
within 1.2 x of esda direct at its best (with numba, warm); analytical Gi* under 2 s; no
per-process compile cost (sna needs no numba).

Usage: python benchmarks/bench_hotspot.py [OUT.json] [--n 35000] [--repeats 5]
                                          [--permutations 999] [--skip-esda]
Writes the table to stdout and JSON to OUT.json (default benchmarks/results_hotspot.json).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results_hotspot.json"


def tessellation(n: int, seed: int = 20230131):
    """About ``n`` Voronoi polygons in a 60 km square (SYNTHETIC), with seeded counts."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    side = 60_000.0
    x0, y0 = 400_000.0, 300_000.0
    pts = np.column_stack([x0 + rng.uniform(0, side, n), y0 + rng.uniform(0, side, n)])
    frame = shapely.box(x0, y0, x0 + side, y0 + side)
    cells = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=frame)
    polys = shapely.intersection(np.asarray(cells.geoms), frame)
    polys = polys[~shapely.is_empty(polys)]
    cent = shapely.get_coordinates(shapely.centroid(polys))
    lam = np.full(len(polys), 2.0)
    for cx, cy, peak, width in [(0.5, 0.5, 25, 2500), (0.2, 0.7, 12, 1500), (0.8, 0.25, 8, 3000)]:
        d2 = (cent[:, 0] - (x0 + cx * side)) ** 2 + (cent[:, 1] - (y0 + cy * side)) ** 2
        lam += peak * np.exp(-d2 / (2 * width**2))
    counts = rng.poisson(lam)
    return gpd.GeoDataFrame({"n": counts}, geometry=polys, crs=27700)


def _esda_calls(esda, y, W, P: int) -> list[tuple[str, str, object]]:
    """The three esda contenders: (name, group, call)."""
    return [
        ("esda G_Local*, analytical", "esda_gistar_analytical",
         lambda: esda.G_Local(y, W, transform="B", star=True, permutations=0)),
        (f"esda G_Local*, {P} perms", "esda_gistar_perm",
         lambda: esda.G_Local(y, W, transform="B", star=True, permutations=P, seed=1, n_jobs=-1)),
        (f"esda Moran_Local, {P} perms", "esda_moran_perm",
         lambda: esda.Moran_Local(y, W, transformation="r", permutations=P, seed=1, n_jobs=-1)),
    ]


def _weights(data):
    from libpysal.weights import WSP

    from sna import hotspot as hs

    w, winfo = hs.neighbours(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W = WSP(w).to_W(silence_warnings=True)
    return w, winfo, W


def esda_worker(n: int, permutations: int) -> int:
    """A process without numba (``import numba`` fails here, as when it is not installed):
    builds the same data, then times the three esda calls once per line read on stdin and
    writes one JSON line per round."""
    sys.modules["numba"] = None  # type: ignore[assignment]  # esda and libpysal fall back
    import esda

    data = tessellation(n)
    _, _, W = _weights(data)
    y = data["n"].to_numpy(dtype=float)
    calls = _esda_calls(esda, y, W, permutations)
    print(json.dumps({"ready": True, "numba": "numba" in sys.modules and sys.modules["numba"] is not None}),
          flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        out = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _, group, fn in calls:
                t = time.perf_counter()
                fn()
                out[group + "_nonumba"] = time.perf_counter() - t
        print(json.dumps(out), flush=True)
    return 0


class _NoNumba:
    """The no-numba esda worker process, one round at a time."""

    def __init__(self, n: int, permutations: int):
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--esda-worker", "--n", str(n),
             "--permutations", str(permutations)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        hello = json.loads(self.proc.stdout.readline())
        assert hello["ready"] and not hello["numba"], hello

    def round(self) -> dict:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the no-numba esda worker stopped")
        return json.loads(line)

    def close(self) -> None:
        try:
            self.proc.stdin.write("\n")
            self.proc.stdin.close()
        finally:
            self.proc.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default=str(DEFAULT_OUT), help="JSON output path")
    ap.add_argument("--n", type=int, default=35_000, help="number of polygons (default 35,000)")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved rounds (medians reported)")
    ap.add_argument("--permutations", type=int, default=999)
    ap.add_argument("--skip-esda", action="store_true", help="time sna only")
    ap.add_argument("--esda-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.esda_worker:
        return esda_worker(args.n, args.permutations)

    import logging

    logging.getLogger("sna").setLevel(logging.ERROR)
    from sna import hotspot as hs

    P = args.permutations
    t = time.perf_counter()
    data = tessellation(args.n)
    build_s = time.perf_counter() - t
    w, winfo, W = _weights(data)
    n = len(data)
    print(
        f"SYNTHETIC tessellation: {n:,} Voronoi polygons, {winfo['neighbours_mean']:.2f} neighbours "
        f"on average (min {winfo['neighbours_min']}, max {winfo['neighbours_max']}), built in {build_s:.1f} s"
    )
    contenders: list[tuple[str, str, object]] = [
        ("sna gistar, analytical", "gistar_analytical", lambda: hs.gistar(data, permutations=0)),
        (f"sna gistar, {P} perms", "gistar_perm", lambda: hs.gistar(data, permutations=P)),
        (f"sna local_moran, {P} perms", "moran_perm", lambda: hs.local_moran(data, permutations=P)),
        ("sna gistar, analytical (W given)", "gistar_analytical_w",
         lambda: hs.gistar(data, weights=w, permutations=0)),
        (f"sna gistar, {P} perms (W given)", "gistar_perm_w",
         lambda: hs.gistar(data, weights=w, permutations=P)),
        (f"sna local_moran, {P} perms (W given)", "moran_perm_w",
         lambda: hs.local_moran(data, weights=w, permutations=P)),
    ]
    numba_installed = importlib.util.find_spec("numba") is not None
    first_call: dict[str, float] = {}
    outputs: dict[str, object] = {}
    esda_info: dict = {}
    nonumba = None
    if not args.skip_esda:
        import esda
        import libpysal

        y = data["n"].to_numpy(dtype=float)
        contenders.append(("libpysal Queen build (from polygons)", "libpysal_queen",
                           lambda: libpysal.weights.Queen.from_dataframe(
                               data, use_index=False, silence_warnings=True)))
        calls = _esda_calls(esda, y, W, P)
        esda_numba = numba_installed and "numba" in sys.modules
        label = "with numba" if esda_numba else "no numba installed"
        # the first call of each: numba compiles esda's kernels here (and in joblib's workers)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, group, fn in calls:
                t = time.perf_counter()
                outputs[group] = fn()
                first_call[group] = round(time.perf_counter() - t, 3)
                print(f"  {name} ({label}): first call {first_call[group]:.2f} s")
        contenders += [(f"{name} ({label})", group, fn) for name, group, fn in calls]
        esda_info = {"esda": esda.__version__, "libpysal": libpysal.__version__,
                     "esda_numba": esda_numba}
        if esda_numba:
            nonumba = _NoNumba(args.n, P)

    times: dict[str, list[float]] = {g: [] for _, g, _ in contenders}
    names = {g: nm for nm, g, _ in contenders}
    if nonumba is not None:
        for _, g, _ in _esda_calls(None, None, None, P):
            times[g + "_nonumba"] = []
            names[g + "_nonumba"] = names[g].replace("(with numba)", "(no numba)")
    print(f"{args.repeats} interleaved rounds:")
    try:
        for r in range(args.repeats):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for name, group, fn in contenders:
                    t = time.perf_counter()
                    out = fn()
                    times[group].append(time.perf_counter() - t)
                    outputs.setdefault(group, out)
            if nonumba is not None:
                for g, v in nonumba.round().items():
                    times[g].append(v)
            print(f"  round {r + 1}: " + ", ".join(f"{g} {v[-1]:.2f}" for g, v in times.items()),
                  flush=True)
    finally:
        if nonumba is not None:
            nonumba.close()

    rows = [{"contender": names[g], "group": g, "times_s": [round(x, 3) for x in v],
             "median_s": round(statistics.median(v), 3)} for g, v in times.items()]
    for row in rows:
        print(f"  {row['contender']:<44} median {row['median_s']:8.2f} s   runs "
              + ", ".join(f"{x:.2f}" for x in row["times_s"]))
    med = {r["group"]: r["median_s"] for r in rows}
    spread_s = {g: {"min": round(min(v), 3), "max": round(max(v), 3)} for g, v in times.items()}
    targets = {
        "gistar_perm_under_20s": med["gistar_perm"] < 20,
        "moran_perm_under_20s": med["moran_perm"] < 20,
        "gistar_analytical_under_2s": med["gistar_analytical"] < 2,
    }
    ratios: dict = {}
    ratio_spread: dict = {}
    checks: dict = {}
    if "esda_gistar_perm" in med:
        pairs = {"gistar_perm_sna_over_esda": ("gistar_perm", "esda_gistar_perm"),
                 "moran_perm_sna_over_esda": ("moran_perm", "esda_moran_perm"),
                 "gistar_analytical_sna_over_esda": ("gistar_analytical", "esda_gistar_analytical")}
        if "esda_gistar_perm_nonumba" in med:
            pairs.update({
                "gistar_perm_sna_over_esda_nonumba": ("gistar_perm", "esda_gistar_perm_nonumba"),
                "moran_perm_sna_over_esda_nonumba": ("moran_perm", "esda_moran_perm_nonumba"),
                "gistar_analytical_sna_over_esda_nonumba": ("gistar_analytical",
                                                            "esda_gistar_analytical_nonumba"),
            })
        for k, (a, b) in pairs.items():
            ratios[k] = round(med[a] / med[b], 3)
            per = [x / z for x, z in zip(times[a], times[b])]
            ratio_spread[k] = {"min": round(min(per), 3), "max": round(max(per), 3)}
        targets["gistar_perm_within_1.2x_esda"] = ratios["gistar_perm_sna_over_esda"] <= 1.2
        targets["moran_perm_within_1.2x_esda"] = ratios["moran_perm_sna_over_esda"] <= 1.2
        g0, lm0 = outputs["gistar_analytical"], outputs["moran_perm_w"]
        checks = {
            "gistar_z_max_abs_diff_vs_esda": float(
                np.abs(g0["gistar"].to_numpy() - outputs["esda_gistar_analytical"].Zs).max()),
            "lisa_i_max_abs_diff_vs_esda": float(
                np.abs(lm0["lisa_i"].to_numpy() - outputs["esda_moran_perm"].Is).max()),
        }
    compile_s = {g: round(first_call[g] - med[g], 3) for g in first_call if g in med}
    print("esda first call (compile + run):", json.dumps(first_call))
    print("checks:", json.dumps(checks))
    print("ratios (sna end to end / esda direct):", json.dumps(ratios))
    print("targets:", json.dumps(targets))

    import geopandas
    import pandas
    import scipy
    import shapely

    result = {
        "benchmark": "hotspot",
        "synthetic": True,
        "data": {
            "kind": "Voronoi tessellation of seeded random points, 60 km square, EPSG:27700 (SYNTHETIC)",
            "polygons": n,
            "neighbours_mean": winfo["neighbours_mean"],
            "neighbours_max": winfo["neighbours_max"],
            "events": int(data["n"].sum()),
        },
        "permutations": P,
        "repeats": args.repeats,
        "interleaved": True,
        "results": rows,
        "medians_s": med,
        "spread_s": spread_s,
        "esda_first_call_s": first_call,
        "esda_compile_s": compile_s,
        "ratios": ratios,
        "ratio_spread": ratio_spread,
        "targets": targets,
        "checks": checks,
        "notes": [
            "esda_* = esda with numba when installed (environment.esda_numba), warm calls; "
            "esda_*_nonumba = the same calls in a process where numba cannot be imported "
            "(esda's fallback); esda_first_call_s = each esda call's first run in the process "
            "(numba's compile + the run), esda_compile_s = that minus the warm median",
            "ratios = sna's median / esda's median; ratio_spread = the smallest and largest "
            "per-round ratio",
        ],
        "environment": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "pandas": pandas.__version__,
            "geopandas": geopandas.__version__,
            "shapely": shapely.__version__,
            "numba_installed": numba_installed,
            "numba": _version("numba"),
            **esda_info,
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def _version(pkg: str) -> str | None:
    import importlib.metadata as md

    try:
        return md.version(pkg)
    except md.PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
