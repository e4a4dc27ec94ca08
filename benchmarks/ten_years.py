"""Generate a ten-year national-like SYNTHETIC set by resampling the bundled Nottingham sample.

Every output file is ``rows`` rows drawn with replacement (seeded) from the 24,988 real rows of
the bundled data.police.uk sample (``sna/datasets/nottingham-sample/police``): each drawn row
keeps its crime type, outcome, context, location text and blank fields (anti-social behaviour
without a Crime ID, rows with no location), and is moved to one of the file's force's LSOAs of
the national benchmark (``national.py``: real 2011 LSOA codes and names, one synthetic 1 km
square each), at a point of that square. The mapping depends on the sample row, so a row
drawn twice gives two byte-identical rows, as in the real files; Crime IDs get the force and
month written into them. Written in the exact data.police.uk layout,
``YYYY-MM/YYYY-MM-<force>-street.csv``, for ``months`` months from April 2014 (120 months:
ten financial years), so ``sna_ingest.national_config`` and its synthetic geography apply.

Full size: 43 forces x 120 months x 11,600 rows = 59,856,000 rows (5,160 files, about 12 GB).
The set is SYNTHETIC (resampled), written under ``benchmarks/_data/`` (git-ignored).

Usage: python benchmarks/ten_years.py [--forces 43] [--months 120] [--rows 11600] [--out DIR]
       python benchmarks/ten_years.py --subset 4 --out benchmarks/_data/ten-years-4forces
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "sna" / "datasets" / "nottingham-sample" / "police"
COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
           "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
START = "2014-04"
SEED = 20141004


def sample_rows() -> pd.DataFrame:
    """The bundled sample's rows, every field as the text of the file."""
    files = sorted(SAMPLE.glob("*/*-street.csv"))
    return pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files],
                     ignore_index=True)


def generate(out: Path, forces: int = 43, months: int = 120, rows: int = 11_600,
             seed: int = SEED, progress: bool = True) -> dict:
    import sys

    sys.path.insert(0, str(HERE))
    from national import CELL, _forces, _lonlat, lsoas

    rng = np.random.default_rng(seed)
    src = sample_rows()
    n = len(src)
    geo = lsoas()
    codes = geo["lsoa11_code"].to_numpy(dtype=object)
    names = geo["lsoa11_name"].to_numpy(dtype=object)
    x0, y0 = geo["x0"].to_numpy(), geo["y0"].to_numpy()
    located = (src["LSOA code"] != "").to_numpy()
    ids = src["Crime ID"].to_numpy(dtype=object)
    has_id = ids != ""
    # each sample row's place inside its square (the same in every force and month)
    u, v = rng.random(n), rng.random(n)
    fixed = {c: src[c].to_numpy(dtype=object) for c in
             ("Location", "Crime type", "Last outcome category", "Context")}
    force_names = _forces(forces)
    per_force = np.array_split(np.arange(len(geo)), forces)
    month_list = [str(p) for p in pd.period_range(START, periods=months, freq="M")]
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    total = 0
    for f, fname in enumerate(force_names):
        pool = per_force[f]
        # each sample row's LSOA in this force (a row keeps it in every month)
        k = pool[rng.integers(0, len(pool), size=n)]
        lon, lat = _lonlat(x0[k] + u * CELL, y0[k] + v * CELL)
        lon_s = np.where(located, np.char.mod("%.6f", lon).astype(object), "")
        lat_s = np.where(located, np.char.mod("%.6f", lat).astype(object), "")
        code = np.where(located, codes[k], "")
        name = np.where(located, names[k], "")
        label = fname.replace("-", " ").title() + " Police"
        for mi, m in enumerate(month_list):
            pick = np.sort(rng.integers(0, n, size=rows))
            tag = f"{f:02d}{mi:03d}"
            crime_id = np.where(has_id[pick], np.array([s[:59] + tag for s in ids[pick]],
                                                       dtype=object), "")
            table = pd.DataFrame({
                "Crime ID": crime_id, "Month": m, "Reported by": label, "Falls within": label,
                "Longitude": lon_s[pick], "Latitude": lat_s[pick],
                "Location": fixed["Location"][pick], "LSOA code": code[pick],
                "LSOA name": name[pick], "Crime type": fixed["Crime type"][pick],
                "Last outcome category": fixed["Last outcome category"][pick],
                "Context": fixed["Context"][pick],
            }, columns=COLUMNS)
            folder = out / m
            folder.mkdir(exist_ok=True)
            tmp = folder / f".{m}-{fname}-street.csv.tmp"
            # quoted only where needed (LSOA names such as "Bristol, City of 001A"), as published
            table.to_csv(tmp, index=False)
            tmp.replace(folder / f"{m}-{fname}-street.csv")
            total += rows
        if progress:
            print(f"  {fname}: {months} files ({time.perf_counter() - t0:.0f} s)", flush=True)
    return {"rows": total, "files": forces * months, "forces": forces, "months": months,
            "rows_per_file": rows, "first_month": month_list[0], "last_month": month_list[-1],
            "seed": seed, "resampled_from": "sna/datasets/nottingham-sample/police "
            f"({n:,} rows)"}


def subset(source: Path, forces: int, out: Path) -> dict:
    """The first ``forces`` forces (by name) of a generated set, every month, as symbolic
    links under ``out`` (a smaller set from the same files, no copy), and the geography."""
    import shutil

    files = sorted(Path(source).glob("*/*-street.csv"))
    names = sorted({f.name[8:-len("-street.csv")] for f in files})[:forces]
    keep = [f for f in files if f.name[8:-len("-street.csv")] in names]
    for f in keep:
        (out / f.parent.name).mkdir(parents=True, exist_ok=True)
        link = out / f.parent.name / f.name
        if not link.exists():
            link.symlink_to(f.resolve())
    geo = Path(str(source) + "-geography.parquet")
    if geo.exists():
        shutil.copy(geo, str(out) + "-geography.parquet")
    return {"files": len(keep), "forces": names}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forces", type=int, default=43)
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--rows", type=int, default=11_600)
    ap.add_argument("--out", type=Path, default=HERE / "_data" / "ten-years")
    ap.add_argument("--subset", type=int, default=None, metavar="K",
                    help="link the first K forces of the set at --source into --out instead")
    ap.add_argument("--source", type=Path, default=HERE / "_data" / "ten-years")
    a = ap.parse_args(argv)
    if a.subset:
        info = subset(a.source, a.subset, a.out)
        print(f"linked {info['files']} files of {', '.join(info['forces'])} into {a.out}")
        return 0
    info = generate(a.out, a.forces, a.months, a.rows)
    print(f"wrote {info['rows']:,} rows in {info['files']} files to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
