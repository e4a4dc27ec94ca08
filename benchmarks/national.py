"""Generate a national-size SYNTHETIC data set in the exact data.police.uk street layout.

43 forces x 12 months, 11,600 rows per file = 5,985,600 rows (about 1.2 GB of CSV), written to
``benchmarks/_data/national/YYYY-MM/YYYY-MM-<force>-street.csv`` (git-ignored; never committed).
Values are drawn (seeded) from the real vocabularies: crime types and outcome categories in
their real proportions, real LSOA codes and names of England and Wales from the bundled lookup,
blank Crime IDs on anti-social behaviour rows, a share of rows with no location, byte-identical
duplicate rows and repeated Crime IDs, as in the real files.

A synthetic geography for the same LSOAs (one square cell per LSOA on a regular grid) is written
beside it so that `sna` can run its full ingest (area filter, district, partnership) on it.

Usage: python benchmarks/national.py [--forces 43] [--months 12] [--rows 11600] [--out DIR]
"""

from __future__ import annotations

import argparse
import gzip
import io
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent / "sna" / "datasets" / "reference"

CRIME_TYPES = {
    "Violence and sexual offences": 3159, "Anti-social behaviour": 2636,
    "Criminal damage and arson": 1042, "Other theft": 985, "Shoplifting": 971,
    "Vehicle crime": 835, "Burglary": 625, "Public order": 562, "Drugs": 298,
    "Bicycle theft": 222, "Other crime": 219, "Robbery": 128, "Theft from the person": 119,
    "Possession of weapons": 99,
}
OUTCOMES = {
    "Investigation complete; no suspect identified": 4424, "Unable to prosecute suspect": 2743,
    "Court result unavailable": 850, "Action to be taken by another organisation": 235,
    "Further investigation is not in the public interest": 208, "Local resolution": 175,
    "Formal action is not in the public interest": 159, "Offender given a caution": 116,
    "Status update unavailable": 81, "Offender sent to prison": 44,
    "Offender given community sentence": 39, "Awaiting court outcome": 9,
}
HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context")
CELL = 1000.0  # metres: side of each synthetic LSOA square


def _forces(n: int) -> list[str]:
    pfa = pd.read_csv(REFERENCE / "lookup_ltla24_csp24_pfa24.csv.gz")
    names = sorted(pfa["pfa24_name"].unique())
    slug = [s.lower().replace(" ", "-").replace(",", "").replace("&", "and") for s in names]
    while len(slug) < n:
        slug.append(f"force-{len(slug) + 1}")
    return slug[:n]


def lsoas() -> pd.DataFrame:
    lk = pd.read_csv(REFERENCE / "lookup_lsoa11_ltla21.csv.gz")
    lk = lk.sort_values("lsoa11_code").reset_index(drop=True)
    side = int(np.ceil(np.sqrt(len(lk))))
    i = np.arange(len(lk))
    # a regular grid of squares placed inside Great Britain's grid extent
    lk["x0"] = 100_000 + (i % side) * CELL
    lk["y0"] = 100_000 + (i // side) * CELL
    return lk


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    t = Transformer.from_crs(27700, 4326, always_xy=True)
    return t.transform(x, y)


def generate(out: Path, forces: int = 43, months: int = 12, rows: int = 11_600,
             seed: int = 20260401) -> dict:
    rng = np.random.default_rng(seed)
    geo = lsoas()
    out.mkdir(parents=True, exist_ok=True)
    ct_names = np.array(list(CRIME_TYPES))
    ct_p = np.array(list(CRIME_TYPES.values()), float)
    ct_p /= ct_p.sum()
    oc_names = np.array(list(OUTCOMES))
    oc_p = np.array(list(OUTCOMES.values()), float)
    oc_p /= oc_p.sum()
    force_names = _forces(forces)
    per_force = np.array_split(np.arange(len(geo)), forces)
    month_list = [str(p) for p in pd.period_range("2023-04", periods=months, freq="M")]
    t0 = time.perf_counter()
    total = 0
    for f, fname in enumerate(force_names):
        pool = per_force[f]
        for m in month_list:
            k = rng.choice(pool, size=rows)
            crime = rng.choice(ct_names, size=rows, p=ct_p)
            asb = crime == "Anti-social behaviour"
            h = rng.bytes(32 * rows).hex()
            ids = np.array([h[i * 64:(i + 1) * 64] for i in range(rows)], dtype=object)
            ids[asb] = ""
            # repeated crime IDs (~0.3 %)
            rep = rng.random(rows) < 0.003
            src = rng.integers(0, rows, size=rows)
            ids = np.where(rep & ~asb & ~asb[src], ids[src], ids)
            x = geo["x0"].to_numpy()[k] + rng.random(rows) * CELL
            y = geo["y0"].to_numpy()[k] + rng.random(rows) * CELL
            lon, lat = _lonlat(x, y)
            lon_s = np.char.mod("%.6f", lon)
            lat_s = np.char.mod("%.6f", lat)
            code = geo["lsoa11_code"].to_numpy()[k].astype(object)
            name = geo["lsoa11_name"].to_numpy()[k].astype(object)
            loc = np.array([f"On or near Street {v}" for v in rng.integers(1, 5000, size=rows)], dtype=object)
            # ~1 % without any location
            noloc = rng.random(rows) < 0.011
            lon_s = np.where(noloc, "", lon_s)
            lat_s = np.where(noloc, "", lat_s)
            code = np.where(noloc, "", code)
            name = np.where(noloc, "", name)
            loc = np.where(noloc, "No location", loc)
            outcome = np.where(asb, "", rng.choice(oc_names, size=rows, p=oc_p))
            force_label = fname.replace("-", " ").title() + " Police"
            df = pd.DataFrame({
                "Crime ID": ids, "Month": m, "Reported by": force_label, "Falls within": force_label,
                "Longitude": lon_s, "Latitude": lat_s, "Location": loc, "LSOA code": code,
                "LSOA name": name, "Crime type": crime, "Last outcome category": outcome,
                "Context": "",
            })
            # byte-identical duplicate rows (~6 %, mostly ASB) are real records
            dup = np.flatnonzero(rng.random(rows) < 0.06)
            df.iloc[dup[1:]] = df.iloc[dup[:-1]].to_numpy()
            folder = out / m
            folder.mkdir(exist_ok=True)
            df.to_csv(folder / f"{m}-{fname}-street.csv", index=False)
            total += rows
        print(f"  {fname}: {months} files ({time.perf_counter() - t0:.0f} s)", flush=True)
    return {"rows": total, "files": forces * months, "forces": forces, "months": months}


def geography_frame() -> pd.DataFrame:
    """The synthetic geography of the national benchmark: lsoa, district, x0, y0."""
    geo = lsoas()
    return geo.rename(columns={"lsoa11_code": "lsoa", "lsoa11_name": "name", "ltla21_code": "district"})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forces", type=int, default=43)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--rows", type=int, default=11_600)
    ap.add_argument("--out", type=Path, default=HERE / "_data" / "national")
    a = ap.parse_args(argv)
    info = generate(a.out, a.forces, a.months, a.rows)
    print(f"wrote {info['rows']:,} rows in {info['files']} files to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
