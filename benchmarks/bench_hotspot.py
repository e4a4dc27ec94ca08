"""Hot-spot benchmark: sna's Gi* and local Moran against esda called directly.

A SYNTHETIC tessellation of ~35,000 irregular polygons (the Voronoi cells of seeded random
points in a 60 x 60 km square, British National Grid metres: LSOA-like shapes with about six
neighbours each) carries seeded Poisson counts with a few hot centres. On it, each contender
runs ``--repeats`` times and the median wall time is reported:

- ``sna gistar, analytical``     -- ``sna.hotspot.gistar(permutations=0)``, neighbours built
  from the geometry (queen contiguity with the 1 m tolerance) inside the call;
- ``sna gistar, 999 perms``      -- ``gistar(permutations=999)``, same;
- ``sna local_moran, 999 perms`` -- ``local_moran(permutations=999)``, same;
- the same three with the weights matrix passed in (statistic only, like esda below);
- ``esda G_Local*, analytical``, ``esda G_Local*, 999 perms``, ``esda Moran_Local, 999
  perms`` -- esda called directly on a prebuilt libpysal ``W`` (star / binary for Gi*,
  row-standardised for Moran), ``n_jobs=-1`` (all cores);
- ``libpysal Queen build``       -- building that ``W`` from the polygons (reported apart).

Targets (issue 5): Gi* and local Moran with 999 permutations under 20 s on 2 cores and
within 1.2 x of esda direct; analytical Gi* under 2 s; no per-process compile cost (sna
needs no numba; whether numba is installed for esda is recorded).

Usage: python benchmarks/bench_hotspot.py [OUT.json] [--n 35000] [--repeats 3]
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


def timed(fn, repeats: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return times, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default=str(DEFAULT_OUT), help="JSON output path")
    ap.add_argument("--n", type=int, default=35_000, help="number of polygons (default 35,000)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per contender (median reported)")
    ap.add_argument("--permutations", type=int, default=999)
    ap.add_argument("--skip-esda", action="store_true", help="time sna only")
    args = ap.parse_args(argv)

    import logging

    logging.getLogger("sna").setLevel(logging.ERROR)
    from sna import hotspot as hs

    P = args.permutations
    t = time.perf_counter()
    data = tessellation(args.n)
    build_s = time.perf_counter() - t
    w, winfo = hs.neighbours(data)
    n = len(data)
    print(
        f"SYNTHETIC tessellation: {n:,} Voronoi polygons, {winfo['neighbours_mean']:.2f} neighbours "
        f"on average (min {winfo['neighbours_min']}, max {winfo['neighbours_max']}), built in {build_s:.1f} s"
    )

    rows: list[dict] = []

    def add(name, fn, group):
        times, out = timed(fn, args.repeats)
        rows.append(
            {
                "contender": name,
                "group": group,
                "times_s": [round(x, 3) for x in times],
                "median_s": round(statistics.median(times), 3),
            }
        )
        print(
            f"  {name:<40} median {statistics.median(times):8.2f} s   runs {', '.join(f'{x:.2f}' for x in times)}"
        )
        return out

    print(f"sna (numpy/scipy, single process), {args.repeats} runs each:")
    g0 = add("sna gistar, analytical", lambda: hs.gistar(data, permutations=0), "gistar_analytical")
    add(f"sna gistar, {P} perms", lambda: hs.gistar(data, permutations=P), "gistar_perm")
    add(f"sna local_moran, {P} perms", lambda: hs.local_moran(data, permutations=P), "moran_perm")
    add(
        "sna gistar, analytical (W given)",
        lambda: hs.gistar(data, weights=w, permutations=0),
        "gistar_analytical_w",
    )
    add(
        f"sna gistar, {P} perms (W given)",
        lambda: hs.gistar(data, weights=w, permutations=P),
        "gistar_perm_w",
    )
    lm0 = add(
        f"sna local_moran, {P} perms (W given)",
        lambda: hs.local_moran(data, weights=w, permutations=P),
        "moran_perm_w",
    )

    esda_info: dict = {}
    checks: dict = {}
    if not args.skip_esda:
        import esda
        import libpysal
        from libpysal.weights import WSP

        y = data["n"].to_numpy(dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W = WSP(w).to_W(silence_warnings=True)
            print(f"esda {esda.__version__} called directly (n_jobs=-1), {args.repeats} runs each:")
            add(
                "libpysal Queen build (from polygons)",
                lambda: libpysal.weights.Queen.from_dataframe(
                    data, use_index=False, silence_warnings=True
                ),
                "libpysal_queen",
            )
            ge = add(
                "esda G_Local*, analytical",
                lambda: esda.G_Local(y, W, transform="B", star=True, permutations=0),
                "esda_gistar_analytical",
            )
            add(
                f"esda G_Local*, {P} perms",
                lambda: esda.G_Local(
                    y, W, transform="B", star=True, permutations=P, seed=1, n_jobs=-1
                ),
                "esda_gistar_perm",
            )
            em = add(
                f"esda Moran_Local, {P} perms",
                lambda: esda.Moran_Local(
                    y, W, transformation="r", permutations=P, seed=1, n_jobs=-1
                ),
                "esda_moran_perm",
            )
        checks = {
            "gistar_z_max_abs_diff_vs_esda": float(np.abs(g0["gistar"].to_numpy() - ge.Zs).max()),
            "lisa_i_max_abs_diff_vs_esda": float(np.abs(lm0["lisa_i"].to_numpy() - em.Is).max()),
        }
        esda_info = {"esda": esda.__version__, "libpysal": libpysal.__version__}

    med = {r["group"]: r["median_s"] for r in rows}
    targets = {
        "gistar_perm_under_20s": med["gistar_perm"] < 20,
        "moran_perm_under_20s": med["moran_perm"] < 20,
        "gistar_analytical_under_2s": med["gistar_analytical"] < 2,
    }
    if "esda_gistar_perm" in med:
        ratios = {
            "gistar_perm_sna_over_esda": round(med["gistar_perm"] / med["esda_gistar_perm"], 3),
            "moran_perm_sna_over_esda": round(med["moran_perm"] / med["esda_moran_perm"], 3),
            "gistar_analytical_sna_over_esda": round(
                med["gistar_analytical"] / med["esda_gistar_analytical"], 3
            ),
        }
        targets["gistar_perm_within_1.2x_esda"] = ratios["gistar_perm_sna_over_esda"] <= 1.2
        targets["moran_perm_within_1.2x_esda"] = ratios["moran_perm_sna_over_esda"] <= 1.2
    else:
        ratios = {}
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
        "results": rows,
        "medians_s": med,
        "ratios": ratios,
        "targets": targets,
        "checks": checks,
        "environment": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "pandas": pandas.__version__,
            "geopandas": geopandas.__version__,
            "shapely": shapely.__version__,
            "numba_installed": importlib.util.find_spec("numba") is not None,
            **esda_info,
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
