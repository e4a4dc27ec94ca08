#!/usr/bin/env python
"""Generate the bundled demo assessment: ``sna/datasets/demo/`` (SYNTHETIC records, real geography).

Run from the repository root::

    .venv/bin/python scripts/make_demo.py            # re-create sna/datasets/demo/
    .venv/bin/python scripts/make_demo.py --check    # only print the Table A check

What is real and what is not
----------------------------
* **Real** (Open Government Licence v3.0): Nottinghamshire's 679 LSOAs (2011 boundaries,
  generalised), their population by single year of age (ONS mid-2017, mid-2019, mid-2020) and
  IMD 2019 File 1 rows. They are copied into the demo folder the first time (from
  ``--shared``, default ``/work/shared/data`` or ``$SNA_SHARED_DATA``); later runs reuse the
  copies already in the repository, so the generator runs without the shared folder.
* **Calibration** (real, aggregated): ``scripts/demo_calibration.csv`` holds the number of
  data.police.uk street records per LSOA and crime type for Nottinghamshire, October 2018 -
  February 2019 (five months). It sets where synthetic incidents happen. It is built from
  the shared folder once and kept in the repository.
* **Synthetic**: every record. Police crime extract, ambulance call-outs, A&E (ECDS / ISTV)
  attendances and intervention monitoring returns, April 2016 - March 2022, drawn with a
  fixed seed. No record describes a real person or event.

How the records are drawn
-------------------------
1. **Counts first** (so the board report's Table A holds by construction): the number of
   police records per financial year x category x knife flag is fixed. FY2018/19 levels are
   close to Nottinghamshire's recorded crime (about 45,000 violence, robbery, sexual, weapon
   and public-order offences a year); earlier and later years follow a trend; FY2020/21 is
   solved so that, against the mean of FY2017/18-FY2019/20, serious violence (the default
   local definition: homicide, violence with injury, robbery, sexual offences, possession of
   weapons) falls 37%, violence against the person 28%, knife-enabled robbery 38%, sexual
   offences 28%, knife possession 4% and knife crime (knife flag, any category) 13%. Serious
   violence falling more than violence against the person forces violence *with* injury down
   about 44% and violence *without* injury down about 20%.
2. **Months**: each count is spread over its year's months (multinomial) by a seasonal index
   (summer peak) and, from 23 March 2020, COVID-19 restrictions (deepest in the first
   lockdown, 5 Nov - 2 Dec 2020 and 6 Jan - March 2021), with a strength per category
   (night-time-economy violence and robbery strongest; weapon possession rose).
3. **Days and times** from day-of-week x hour profiles: night-time economy peaks on Friday
   and Saturday nights; domestic abuse in the evenings; ambulance call-outs three quarters
   between 18:00 and 06:00.
4. **Places**: LSOA intensities from the real five months of street data (per crime type,
   smoothed); points are drawn from a pool of fixed "address points" inside each LSOA.
5. **People**: victims' ages peak at 16-24 (domestic abuse older, sexual offences younger);
   sex and ethnicity differ by offence and by City / County.
6. **Health**: about a third of A&E assault attendances (``ecds``) and about one in seven
   ambulance call-outs are copies of a police violence record (same LSOA, same day, same
   age and sex): the share "known to police" is measured by matching on those fields
   (``sna.io.health.link_to_police``).
7. **Interventions**: the VRU's years (FY2019/20 onwards). FY2020/21 has 28 interventions
   and 1,547 participants aged 5-25 (universal / secondary / tertiary), reaching the City's
   young people about three times as often as the County's, costs within the £880,000 core
   grant; FY2021/22 adds the two custody-based programmes funded with £675,996.

Each source is written in its own realistic format and column names (not sna's canonical
names), so the demo config's column mappings are exercised.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import io
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "sna" / "datasets" / "demo"
CALIBRATION = ROOT / "scripts" / "demo_calibration.csv"
SEED = 20211102  # the date of the board meeting

CITY = "E06000018"
DISTRICTS = {
    "E06000018": "Nottingham",
    "E07000170": "Ashfield",
    "E07000171": "Bassetlaw",
    "E07000172": "Broxtowe",
    "E07000173": "Gedling",
    "E07000174": "Mansfield",
    "E07000175": "Newark and Sherwood",
    "E07000176": "Rushcliffe",
}
FY_STARTS = [2016, 2017, 2018, 2019, 2020, 2021]
BASELINE = [2017, 2018, 2019]
TARGET_FY = 2020
FIRST_DAY = pd.Timestamp("2016-04-01")
LAST_DAY = pd.Timestamp("2022-03-31")

# Table A of the board report: FY2020/21 against the mean of the three years before
TABLE_A = {
    "Overall serious violence": -0.37,
    "Violence against the person": -0.28,
    "Knife-enabled robbery": -0.38,
    "Sexual offences": -0.28,
    "Knife possession": -0.04,
    "Knife crime": -0.13,
}


def fy_label(start: int) -> str:
    return f"{start}/{(start + 1) % 100:02d}"


def fy_slug(start: int) -> str:
    return f"{start}-{(start + 1) % 100:02d}"


# ============================================================================================
# inputs: real geography, population, IMD and the calibration table
# ============================================================================================
def shared_dir(arg: str | None) -> Path | None:
    p = Path(arg or os.environ.get("SNA_SHARED_DATA", "/work/shared/data"))
    return p if p.is_dir() else None


def prepare_inputs(out: Path, shared: Path | None) -> None:
    """Copy the real geography subsets into the demo folder unless they are already there."""
    bdir = out / "boundaries"
    if not (bdir.is_dir() and len(list(bdir.glob("*.json"))) == 8):
        if shared is None:
            sys.exit("the demo boundaries are missing and no shared data folder was given (--shared)")
        bdir.mkdir(parents=True, exist_ok=True)
        for code in DISTRICTS:
            shutil.copyfile(shared / "geography" / "lsoa11-boundaries" / f"{code}.json", bdir / f"{code}.json")
        lic = shared / "geography" / "lsoa11-boundaries" / "LICENCE.txt"
        if lic.exists():
            shutil.copyfile(lic, bdir / "LICENCE.txt")
    lsoas = sorted(boundary_lsoas(out))
    keep = set(lsoas)
    pdir = out / "population"
    for yy in ("17", "19", "20"):
        target = pdir / f"population{yy}_lsoa11.csv.gz"
        if target.exists():
            continue
        if shared is None:
            sys.exit(f"{target} is missing and no shared data folder was given (--shared)")
        pdir.mkdir(parents=True, exist_ok=True)
        with gzip.open(shared / "population" / f"population{yy}_lsoa11.csv.gz", "rt", encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        pos = next(csv.reader([lines[0]])).index("lsoa11_code")  # column order differs by year
        body = [ln for ln in lines[1:] if next(csv.reader([ln]))[pos] in keep]
        assert len(body) == 679, len(body)
        write_gz(target, "\n".join([lines[0]] + body) + "\n")
    idir = out / "imd"
    target = idir / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"
    if not target.exists():
        if shared is None:
            sys.exit(f"{target} is missing and no shared data folder was given (--shared)")
        idir.mkdir(parents=True, exist_ok=True)
        raw = gzip.decompress((shared / "imd2019" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz").read_bytes())
        lines = raw.split(b"\r\n") if b"\r\n" in raw else raw.split(b"\n")
        sep = b"\r\n" if b"\r\n" in raw else b"\n"
        body = [ln for ln in lines[1:] if ln[:9].decode() in keep]
        assert len(body) == 679, len(body)
        write_gz(target, sep.join([lines[0]] + body) + sep)  # BOM and thousands separators kept


def boundary_lsoas(out: Path) -> list[str]:
    codes = []
    for f in sorted((out / "boundaries").glob("*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        codes += [feat["properties"]["LSOA11CD"] for feat in data["features"]]
    return codes


def write_gz(path: Path, text: "str | bytes") -> None:
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))


def load_geography(out: Path) -> "pd.DataFrame":
    """LSOAs with district, partnership, population (2020, total and 5-25), IMD decile, polygon."""
    import geopandas as gpd

    parts = []
    for f in sorted((out / "boundaries").glob("*.json")):
        g = gpd.read_file(f)
        g["district"] = f.stem
        parts.append(g)
    geo = pd.concat(parts, ignore_index=True)
    geo = gpd.GeoDataFrame(geo, geometry="geometry", crs=parts[0].crs).to_crs(27700)
    geo = geo.rename(columns={"LSOA11CD": "lsoa", "LSOA11NM": "name"})
    geo["partnership"] = np.where(geo["district"] == CITY, "Nottingham City", "Nottinghamshire County")
    pop = pd.read_csv(out / "population" / "population20_lsoa11.csv.gz")
    pop = pop.set_index("lsoa11_code")
    ages = [str(a) for a in range(5, 26)]
    geo["population"] = geo["lsoa"].map(pop["total_population"]).astype(float)
    geo["pop_5_25"] = geo["lsoa"].map(pop[ages].sum(axis=1)).astype(float)
    imd = pd.read_csv(out / "imd" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz",
                      encoding="utf-8-sig", thousands=",")
    imd = imd.set_index("LSOA code (2011)")
    geo["imd_decile"] = geo["lsoa"].map(imd["Index of Multiple Deprivation (IMD) Decile"]).astype(int)
    geo = geo.sort_values("lsoa").reset_index(drop=True)
    assert len(geo) == 679 and geo["population"].notna().all()
    return geo


def load_calibration(shared: Path | None, area_lsoas: set[str]) -> pd.DataFrame:
    """Real data.police.uk counts per LSOA (Oct 2018 - Feb 2019), kept in the repository."""
    if not CALIBRATION.exists():
        if shared is None:
            sys.exit(f"{CALIBRATION} is missing and no shared data folder was given (--shared)")
        files = sorted((shared / "police-uk").glob("*/*/*-street.csv"))
        df = pd.concat((pd.read_csv(f, usecols=["LSOA code", "Crime type"]) for f in files), ignore_index=True)
        df = df.dropna(subset=["LSOA code"])
        keep = {"Violence and sexual offences": "violence_sexual", "Robbery": "robbery",
                "Possession of weapons": "weapons", "Public order": "public_order"}
        df = df[df["Crime type"].isin(keep)]
        tab = pd.crosstab(df["LSOA code"], df["Crime type"].map(keep))
        tab = tab.reindex(columns=list(keep.values()), fill_value=0)
        tab = tab.reindex(sorted(set(tab.index) | area_lsoas), fill_value=0)
        tab.index.name = "lsoa"
        tab.insert(0, "in_area", tab.index.isin(area_lsoas).astype(int))
        header = ("# Real data.police.uk street-level records per LSOA, Nottinghamshire Police, "
                  "2018-10 to 2019-02 (five months),\n# by crime type; in_area = 1 for the 679 "
                  "Nottinghamshire LSOAs. Police data: data.police.uk (Home Office), Open Government "
                  "Licence v3.0.\n# Used by scripts/make_demo.py to place synthetic records.\n")
        CALIBRATION.write_text(header + tab.to_csv(), encoding="utf-8")
    cal = pd.read_csv(CALIBRATION, comment="#", dtype={"lsoa": str})
    return cal.set_index("lsoa")


# ============================================================================================
# shared random machinery
# ============================================================================================
SEASON = {4: 0.98, 5: 1.05, 6: 1.08, 7: 1.12, 8: 1.06, 9: 1.02, 10: 1.02, 11: 0.96, 12: 0.98,
          1: 0.90, 2: 0.88, 3: 0.96}  # per month, summer peak (monthly index)

# COVID-19 restrictions in England: multiplier of "night-time economy" violence by day
COVID_PERIODS = [
    ("2020-03-23", "2020-05-12", 0.50),  # first lockdown (announced 23 March)
    ("2020-05-13", "2020-06-14", 0.65),
    ("2020-06-15", "2020-07-03", 0.80),
    ("2020-07-04", "2020-09-13", 0.95),  # pubs reopen 4 July
    ("2020-09-14", "2020-11-04", 0.85),  # rule of six, tiers
    ("2020-11-05", "2020-12-02", 0.62),  # second lockdown
    ("2020-12-03", "2021-01-05", 0.80),
    ("2021-01-06", "2021-03-28", 0.58),  # third lockdown
    ("2021-03-29", "2021-04-11", 0.70),
    ("2021-04-12", "2021-05-16", 0.82),  # outdoor hospitality
    ("2021-05-17", "2021-07-18", 0.92),  # indoor hospitality
]


def all_days() -> pd.DatetimeIndex:
    return pd.date_range(FIRST_DAY, LAST_DAY, freq="D")


def covid_multiplier(days: pd.DatetimeIndex, strength: float) -> np.ndarray:
    m = np.ones(len(days))
    for a, b, v in COVID_PERIODS:
        sel = (days >= pd.Timestamp(a)) & (days <= pd.Timestamp(b))
        m[sel] = v
    return 1.0 - strength * (1.0 - m)


def hour_profile(kind: str) -> np.ndarray:
    """7 x 24 weights (Monday = 0) of day-of-week x hour."""
    h = np.arange(24)
    if kind == "nte":
        base = np.array([9, 9, 8, 6, 3.5, 2, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 4.5, 5, 5.5, 6, 6, 6.5,
                         7, 7.5, 8, 9, 9.5], float)
        dow = np.array([0.88, 0.86, 0.88, 0.94, 1.08, 1.25, 1.15])
        w = np.outer(dow, base)
        w[4, 20:] *= 1.8   # Friday night
        w[5, :5] *= 2.6    # small hours of Saturday
        w[5, 20:] *= 2.1   # Saturday night
        w[6, :5] *= 2.6    # small hours of Sunday
        w[3, 21:] *= 1.2   # Thursday (students)
    elif kind == "dom":
        base = np.array([4, 3, 2.5, 2, 1.2, 1, 1, 1.5, 2.5, 3, 3.5, 4, 4.5, 4.5, 5, 5.5, 6.5, 7.5,
                         8.5, 9, 9, 8.5, 7, 5.5], float)
        dow = np.array([1.02, 0.94, 0.94, 0.95, 1.0, 1.08, 1.12])
        w = np.outer(dow, base)
    elif kind == "sex":
        base = np.array([7, 7, 6, 5, 3, 2, 1.5, 2, 3, 3.5, 4, 4.5, 5, 5, 5.5, 6, 6.5, 6.5, 6.5, 6.5,
                         7, 7.5, 8, 8], float)
        dow = np.array([0.95, 0.93, 0.95, 0.97, 1.03, 1.12, 1.08])
        w = np.outer(dow, base)
        w[5, :4] *= 1.5
        w[6, :4] *= 1.5
    elif kind == "rob":
        base = np.array([6, 5, 4, 3, 2, 1.2, 1, 1.5, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 8.5, 8.5, 8.5,
                         8.5, 8.5, 8, 7], float)
        dow = np.array([0.95, 0.93, 0.95, 0.98, 1.07, 1.1, 1.02])
        w = np.outer(dow, base)
    elif kind == "weap":
        base = np.array([4, 3.5, 3, 2, 1, 0.8, 0.8, 1.2, 2, 3, 4, 5, 6, 6.5, 7.5, 8.5, 9, 9, 8.5, 8,
                         7.5, 7, 6, 5], float)
        dow = np.array([1.0, 1.0, 1.0, 1.0, 1.05, 1.0, 0.95])
        w = np.outer(dow, base)
    elif kind == "amb":
        w = hour_profile("nte")
        night = (h >= 18) | (h < 6)
        share = w[:, night].sum() / w.sum()
        # scale so that three quarters of call-outs fall between 18:00 and 06:00
        f = (0.75 / (1 - 0.75)) / (share / (1 - share))
        w = w.copy()
        w[:, night] *= f
    else:
        raise ValueError(kind)
    return w / w.sum()


def sample_times(rng, n_by_day: "pd.Series", kind: str) -> pd.DatetimeIndex:
    """Times for records whose days are given: ``n_by_day`` = count per day (DatetimeIndex)."""
    W = hour_profile(kind)
    out = []
    for day, n in n_by_day.items():
        if n == 0:
            continue
        p = W[day.day_of_week] / W[day.day_of_week].sum()
        hours = rng.choice(24, size=n, p=p)
        minutes = rng.integers(0, 60, size=n)
        heap = rng.random(n)
        minutes = np.where(heap < 0.30, 0, np.where(heap < 0.40, 30, minutes))  # heaping at :00 / :30
        out.append(day + pd.to_timedelta(hours, unit="h") + pd.to_timedelta(minutes, unit="m"))
    if not out:
        return pd.DatetimeIndex([])
    return pd.DatetimeIndex(np.concatenate([o.values for o in out]))


def day_weights(days: pd.DatetimeIndex, kind: str, covid_strength: float) -> np.ndarray:
    W = hour_profile(kind).sum(axis=1)  # by day of week
    season = np.array([SEASON[m] for m in days.month]) / days.days_in_month.to_numpy()
    return season * W[days.day_of_week] * covid_multiplier(days, covid_strength)


def sample_datetimes(rng, n_by_fy: dict[int, int], kind: str, covid_strength: float) -> pd.DatetimeIndex:
    """Datetimes for ``n_by_fy[FY start] `` records: months multinomial, then day and time."""
    days = all_days()
    w = day_weights(days, kind, covid_strength)
    fy = days.year - (days.month < 4)
    parts = []
    for start, n in n_by_fy.items():
        if n <= 0:
            continue
        sel = fy == start
        d = days[sel]
        p = w[sel] / w[sel].sum()
        counts = rng.multinomial(n, p)
        parts.append(sample_times(rng, pd.Series(counts, index=d), kind))
    return pd.DatetimeIndex(np.concatenate([p.values for p in parts])) if parts else pd.DatetimeIndex([])


def age_weights(median: float, sigma: float, lo: int = 0, hi: int = 90) -> np.ndarray:
    a = np.arange(91) + 0.5
    w = np.exp(-((np.log(a) - np.log(median)) ** 2) / (2 * sigma**2)) / a
    w[:lo] = 0
    w[hi + 1:] = 0
    return w / w.sum()


def sample_ages(rng, n: int, median: float, sigma: float, lo: int = 0, hi: int = 90) -> np.ndarray:
    return rng.choice(91, size=n, p=age_weights(median, sigma, lo, hi))


def pick(rng, options: dict, n: int) -> np.ndarray:
    keys = list(options)
    p = np.array([options[k] for k in keys], float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def repeat_ids(rng, n: int, share_repeat: float, new_id) -> np.ndarray:
    """Identifiers where a share of rows repeat an earlier row's identifier."""
    ids = np.array([new_id(i) for i in range(n)], dtype=object)
    rep = rng.random(n) < share_repeat
    rep[0] = False
    idx = np.flatnonzero(rep)
    src = (rng.random(len(idx)) * idx).astype(int)
    ids[idx] = ids[src]
    return ids


# ============================================================================================
# places
# ============================================================================================
def address_points(geo, rng, per_lsoa: int = 40) -> dict[str, np.ndarray]:
    """A fixed pool of points (whole metres) inside each LSOA, 3 m or more from its edge."""
    import shapely

    pools = {}
    for lsoa, poly in zip(geo["lsoa"], geo.geometry):
        inner = poly.buffer(-3)
        if inner.is_empty:
            inner = poly
        minx, miny, maxx, maxy = inner.bounds
        pts = np.empty((0, 2))
        while len(pts) < per_lsoa:
            cand = np.column_stack([rng.uniform(minx, maxx, 400), rng.uniform(miny, maxy, 400)])
            cand = np.round(cand)
            ok = shapely.contains_xy(inner, cand[:, 0], cand[:, 1])
            pts = np.vstack([pts, cand[ok]])
        pools[lsoa] = pts[:per_lsoa]
    return pools


def intensities(geo, cal: pd.DataFrame) -> dict[str, np.ndarray]:
    """Relative intensity of each LSOA (ordered as ``geo``) per kind of incident."""
    c = cal.reindex(geo["lsoa"]).fillna(0)
    vso = c["violence_sexual"].to_numpy(float)
    vso_s = (vso + 0.5) / (vso + 0.5).sum()

    def mix(col: str, weight_vso: float) -> np.ndarray:
        x = c[col].to_numpy(float)
        x = x / max(x.sum(), 1)
        m = (1 - weight_vso) * x + weight_vso * vso_s + 0.05 / len(x)
        return m / m.sum()

    pop = geo["population"].to_numpy(float)
    dep = np.array([3.0, 2.5, 2.0, 1.6, 1.3, 1.1, 0.9, 0.8, 0.7, 0.6])[geo["imd_decile"].to_numpy() - 1]
    dom = 0.5 * vso_s + 0.5 * (pop * dep) / (pop * dep).sum()
    return {
        "violence": vso_s,
        "robbery": mix("robbery", 0.5),
        "weapons": mix("weapons", 0.4),
        "public_order": mix("public_order", 0.3),
        "domestic": dom / dom.sum(),
    }


# ============================================================================================
# police: counts
# ============================================================================================
# FY2018/19 level per cell (category key, knife)
LEVEL_2018 = {
    ("HOM", True): 6, ("HOM", False): 8,
    ("VWI", True): 550, ("VWI", False): 10450,
    ("VWOI", True): 260, ("VWOI", False): 21240,
    ("ROB", True): 375, ("ROB", False): 875,
    ("SEX", True): 33, ("SEX", False): 3267,
    ("WEAP_K", True): 780, ("WEAP_F", False): 60, ("WEAP_O", False): 360,
    ("PO", None): 6800,
}
TREND = {  # FY start -> multiple of the FY2018/19 level
    "default": {2016: 0.86, 2017: 0.94, 2018: 1.00, 2019: 1.03},
    "ROB": {2016: 0.80, 2017: 0.92, 2018: 1.00, 2019: 1.08},
    "WEAP": {2016: 0.75, 2017: 0.88, 2018: 1.00, 2019: 1.10},
    "SEX": {2016: 0.82, 2017: 0.93, 2018: 1.00, 2019: 1.02},
}
# FY2020/21 against the baseline mean, for the cells Table A does not pin
F_2020 = {"HOM": 0.9, "ROB": 0.62, "SEX": 0.72, "WEAP_K": 0.96, "WEAP_F": 1.0, "WEAP_O": 1.08, "PO": 0.95}
F_2021 = {"HOM": 1.0, "VWI": 0.82, "VWOI": 0.93, "ROB": 0.72, "SEX": 0.98, "WEAP_K": 1.0,
          "WEAP_F": 1.0, "WEAP_O": 1.05, "PO": 1.02}
SV_CELLS = ("HOM", "VWI", "ROB", "SEX", "WEAP_K", "WEAP_F", "WEAP_O")


def police_counts() -> dict[tuple, dict[int, int]]:
    """Records per cell and FY, FY2020/21 solved for Table A."""
    counts: dict[tuple, dict[int, int]] = {}
    for cell, level in LEVEL_2018.items():
        cat = cell[0]
        trend = TREND["WEAP" if cat.startswith("WEAP") else cat if cat in TREND else "default"]
        counts[cell] = {y: int(round(level * trend[y])) for y in (2016, 2017, 2018, 2019)}
    base = {cell: np.mean([c[y] for y in BASELINE]) for cell, c in counts.items()}
    for cell in counts:
        cat = cell[0]
        if cat in F_2020:
            counts[cell][2020] = int(round(F_2020[cat] * base[cell]))
    sv_base = sum(v for c, v in base.items() if c[0] in SV_CELLS)
    sv_target = round((1 + TABLE_A["Overall serious violence"]) * sv_base)
    vwi_total = sv_target - sum(counts[c][2020] for c in counts if c[0] in SV_CELLS and c[0] != "VWI")
    vap_base = sum(v for c, v in base.items() if c[0] in ("VWI", "VWOI"))
    vap_target = round((1 + TABLE_A["Violence against the person"]) * vap_base)
    vwoi_total = vap_target - vwi_total
    knife_base = sum(v for c, v in base.items() if c[1] is True)
    knife_target = round((1 + TABLE_A["Knife crime"]) * knife_base)
    vwi_k = int(round(0.85 * base[("VWI", True)]))
    others_k = sum(counts[c][2020] for c in counts if c[1] is True and c[0] not in ("VWI", "VWOI"))
    vwoi_k = knife_target - others_k - vwi_k
    assert vwoi_k > 0, vwoi_k
    counts[("VWI", True)][2020] = vwi_k
    counts[("VWI", False)][2020] = vwi_total - vwi_k
    counts[("VWOI", True)][2020] = vwoi_k
    counts[("VWOI", False)][2020] = vwoi_total - vwoi_k
    for cell in counts:
        counts[cell][2021] = int(round(F_2021[cell[0]] * base[cell]))
    return counts


# ============================================================================================
# police: records
# ============================================================================================
HO = {
    "HOM": {"1": ("Murder", 0.85), "4.1": ("Manslaughter", 0.15)},
    "VWI_knife": {"8N": ("Assault with injury", 0.45), "5D": ("Assault with intent to cause serious harm", 0.44),
                  "2": ("Attempted murder", 0.08), "5E": ("Endangering life", 0.03)},
    "VWI": {"8N": ("Assault with injury", 0.86), "5D": ("Assault with intent to cause serious harm", 0.05),
            "8S": ("Assault with injury on a constable", 0.05),
            "8P": ("Racially or religiously aggravated assault with injury", 0.03), "5E": ("Endangering life", 0.01)},
    "VWI_dom": {"8N": ("Assault with injury", 0.93), "5D": ("Assault with intent to cause serious harm", 0.05),
                "5E": ("Endangering life", 0.02)},
    "VWOI_knife": {"3B": ("Threats to kill", 0.6), "105A": ("Assault without injury", 0.4)},
    "VWOI": {"105A": ("Assault without injury", 0.50), "8L": ("Harassment", 0.18),
             "8R": ("Malicious communications", 0.14), "8Q": ("Stalking", 0.04),
             "104": ("Assault without injury on a constable", 0.07),
             "105B": ("Racially or religiously aggravated assault without injury", 0.03),
             "3B": ("Threats to kill", 0.02), "11A": ("Cruelty to children/young persons", 0.01),
             "36": ("Kidnapping", 0.01)},
    "VWOI_dom": {"105A": ("Assault without injury", 0.42), "8U": ("Controlling or coercive behaviour", 0.18),
                 "8L": ("Harassment", 0.14), "8R": ("Malicious communications", 0.12), "8Q": ("Stalking", 0.08),
                 "3B": ("Threats to kill", 0.03), "11A": ("Cruelty to children/young persons", 0.03)},
    "ROB": {"34B": ("Robbery of personal property", 0.88), "34A": ("Robbery of business property", 0.12)},
    "SEX": {"20A": ("Sexual assault on a female aged 13 and over", 0.40),
            "19C": ("Rape of a female aged 16 and over", 0.25), "88E": ("Exposure and voyeurism", 0.08),
            "22B": ("Sexual activity involving child under 16", 0.06),
            "21": ("Sexual activity involving a child under 13", 0.04),
            "19D": ("Rape of a female child under 16", 0.04), "17A": ("Sexual assault on a male aged 13 and over", 0.03),
            "20B": ("Sexual assault on a female child under 13", 0.03), "19E": ("Rape of a female child under 13", 0.02),
            "88A": ("Sexual grooming", 0.02), "19F": ("Rape of a male aged 16 and over", 0.01),
            "71": ("Abuse of children through sexual exploitation", 0.01),
            "22A": ("Causing sexual activity without consent", 0.01)},
    "WEAP_K": {"10D": ("Possession of article with blade or point", 0.95), "90": ("Other knives offences", 0.05)},
    "WEAP_F": {"10A": ("Possession of firearms with intent", 0.35), "10B": ("Possession of firearms offences", 0.55),
               "81": ("Other firearms offences", 0.10)},
    "WEAP_O": {"10C": ("Possession of other weapons", 1.0)},
    "PO": {"9A": ("Public fear, alarm or distress", 0.85),
           "9B": ("Racially or religiously aggravated public fear, alarm or distress", 0.10),
           "62A": ("Violent disorder", 0.03), "66": ("Other offences against the State or public order", 0.02)},
}
DOMESTIC_SHARE = {"HOM": 0.3, "VWI": 0.38, "VWOI": 0.40, "SEX": 0.25}
COVID_STRENGTH = {"HOM": 0.3, "VWI": 1.0, "VWOI": 0.6, "ROB": 1.0, "SEX": 0.8, "WEAP_K": -0.3,
                  "WEAP_F": -0.3, "WEAP_O": -0.3, "PO": 0.5}
CATEGORY = {"HOM": "Homicide", "VWI": "Violence against the person", "VWOI": "Violence against the person",
            "ROB": "Robbery", "SEX": "Sexual offences", "WEAP_K": "Possession of weapons",
            "WEAP_F": "Possession of weapons", "WEAP_O": "Possession of weapons", "PO": "Public order"}

ETH_CITY = {"W1": 55, "W9": 8, "A1": 3, "A2": 7, "A3": 1, "A4": 1, "A9": 2, "B1": 4, "B2": 4, "B9": 1,
            "M1": 3, "M2": 1, "M3": 1, "M9": 1, "O9": 2, "NS": 6}
ETH_COUNTY = {"W1": 84, "W9": 4, "A1": 1, "A2": 1, "A4": 0.5, "A9": 0.5, "B1": 0.6, "B2": 0.4,
              "M1": 1, "M3": 0.5, "O9": 0.5, "NS": 6}


def make_police(geo, cal, pools, rng) -> pd.DataFrame:
    counts = police_counts()
    inten = intensities(geo, cal)
    lsoas = geo["lsoa"].to_numpy()
    is_city = (geo["district"] == CITY).to_numpy()
    rows = []
    for (cat, knife), by_fy in counts.items():
        for domestic in (False, True):
            share = DOMESTIC_SHARE.get(cat, 0.0)
            if knife:
                share *= 0.5
            if domestic and share == 0:
                continue
            n_by_fy = {y: int(round(n * share)) if domestic else n - int(round(n * share))
                       for y, n in by_fy.items()}
            n = sum(n_by_fy.values())
            if n == 0:
                continue
            kind = ("dom" if domestic else "sex" if cat == "SEX" else "rob" if cat == "ROB"
                    else "weap" if cat.startswith("WEAP") else "nte")
            when = sample_datetimes(rng, n_by_fy, kind, COVID_STRENGTH[cat])
            assert len(when) == n
            where = ("domestic" if domestic else "robbery" if cat == "ROB" else "weapons" if cat.startswith("WEAP")
                     else "public_order" if cat == "PO" else "violence")
            li = rng.choice(len(lsoas), size=n, p=inten[where])
            hokey = (cat + ("_knife" if knife and cat in ("VWI", "VWOI") else "_dom" if domestic and
                            cat in ("VWI", "VWOI") else ""))
            codes = HO[hokey]
            code = pick(rng, {k: v[1] for k, v in codes.items()}, n)
            rows.append(pd.DataFrame({
                "cat": cat, "knife": knife, "domestic": domestic, "start": when, "lsoa_i": li,
                "ho_code": code, "ho_desc": [codes[c][0] for c in code], "kind": kind,
            }))
    df = pd.concat(rows, ignore_index=True)
    n = len(df)
    df["lsoa"] = lsoas[df["lsoa_i"]]
    df["city"] = is_city[df["lsoa_i"]]
    # points from the LSOA's pool of address points
    j = rng.integers(0, 40, size=n)
    pts = np.stack([pools[l][k] for l, k in zip(df["lsoa"], j)])
    df["x"], df["y"] = pts[:, 0], pts[:, 1]
    df["fy"] = df["start"].dt.year - (df["start"].dt.month < 4)
    # victims
    cat = df["cat"].to_numpy()
    dom = df["domestic"].to_numpy()
    has_victim = ~np.isin(cat, ["WEAP_K", "WEAP_F", "WEAP_O"]) & ~((cat == "PO") & (rng.random(n) > 0.4))
    age = np.full(n, -1)
    for mask, (med, sig, lo) in [
        (has_victim & ~dom & np.isin(cat, ["VWI", "VWOI", "PO"]), (22, 0.42, 1)),
        (has_victim & dom, (31, 0.36, 1)),
        (has_victim & (cat == "SEX") & ~dom, (18, 0.45, 4)),
        (has_victim & (cat == "ROB"), (19, 0.42, 8)),
        (has_victim & (cat == "HOM") & ~dom, (27, 0.45, 0)),
    ]:
        age[mask] = sample_ages(rng, int(mask.sum()), med, sig, lo)
    age[has_victim & (rng.random(n) < 0.07)] = -1  # not recorded
    df["v_age"] = age
    p_male = np.select([dom, cat == "SEX", cat == "ROB", cat == "HOM"], [0.25, 0.13, 0.8, 0.72], 0.58)
    sex = np.where(rng.random(n) < p_male, "M", "F")
    sex = np.where(rng.random(n) < 0.015, "U", sex)
    df["v_sex"] = np.where(has_victim, sex, "")
    eth = np.where(df["city"], pick(rng, ETH_CITY, n), pick(rng, ETH_COUNTY, n))
    eth = np.where(rng.random(n) < 0.05, "", eth)
    df["v_eth"] = np.where(has_victim, eth, "")
    vid = repeat_ids(rng, n, 0.0, lambda i: "")
    new = rng.choice(10**8, size=n, replace=False)
    vid = np.array([f"N{v:08d}" for v in new], dtype=object)
    rep = (rng.random(n) < np.where(dom, 0.35, 0.12)) & (np.arange(n) > 0)
    idx = np.flatnonzero(rep)
    vid[idx] = vid[(rng.random(len(idx)) * idx).astype(int)]
    df["v_id"] = np.where(has_victim, vid, "")
    # suspects
    p_susp = np.select([np.isin(cat, ["WEAP_K", "WEAP_F", "WEAP_O"]), dom, cat == "ROB", cat == "SEX", cat == "PO"],
                       [0.96, 0.88, 0.28, 0.62, 0.65], 0.55)
    has_susp = rng.random(n) < p_susp
    s_age = sample_ages(rng, n, 24, 0.38, 10)
    s_age = np.where(dom, sample_ages(rng, n, 33, 0.3, 14), s_age)
    s_age = np.where(rng.random(n) < 0.1, -1, s_age)
    df["s_age"] = np.where(has_susp, s_age, -1)
    s_sex = np.where(rng.random(n) < np.where(cat == "SEX", 0.96, 0.82), "M", "F")
    df["s_sex"] = np.where(has_susp, s_sex, "")
    snew = rng.choice(10**8, size=n, replace=False)
    sid = np.array([f"N{v:08d}" for v in snew], dtype=object)
    rep = (rng.random(n) < 0.3) & (np.arange(n) > 0)
    idx = np.flatnonzero(rep)
    sid[idx] = sid[(rng.random(len(idx)) * idx).astype(int)]
    df["s_id"] = np.where(has_susp, sid, "")
    # flags
    k = df["knife"].to_numpy()
    knife_txt = np.where(k == True, "Y", np.where(k == False, "N", ""))  # noqa: E712
    knife_txt = np.where((knife_txt == "N") & (rng.random(n) < 0.02), "", knife_txt)
    df["knife_flag"] = knife_txt
    firearm = (cat == "WEAP_F") | ((cat == "ROB") & ~(k == True) & (rng.random(n) < 0.02)) | \
        ((cat == "VWI") & ~(k == True) & (rng.random(n) < 0.003))  # noqa: E712
    df["firearm_flag"] = np.where(firearm, "Y", "N")
    da = np.where(dom, "Y", "N")
    df["da_flag"] = np.where(rng.random(n) < 0.01, "", da)
    # location type
    df["location_type"] = np.where(
        dom, pick(rng, {"Dwelling": 0.9, "Street": 0.06, "Other": 0.04}, n),
        np.where(df["kind"] == "nte",
                 pick(rng, {"Street": 0.45, "Licensed premises": 0.18, "Dwelling": 0.14, "Shop/retail": 0.06,
                            "Public transport": 0.04, "Park/open space": 0.05, "School/college": 0.03,
                            "Other": 0.05}, n),
                 pick(rng, {"Street": 0.5, "Dwelling": 0.2, "Shop/retail": 0.1, "Park/open space": 0.06,
                            "Public transport": 0.05, "School/college": 0.03, "Other": 0.06}, n)))
    # the offence window and its precision
    add_windows(df, rng)
    # how the location is given
    u = rng.random(n)
    df["loc_mode"] = np.where(u < 0.50, "xy", np.where(u < 0.854, "xy+lsoa", "lsoa"))
    return df


def add_windows(df: pd.DataFrame, rng) -> None:
    """Committed from / to dates and times with a realistic mix of precision."""
    n = len(df)
    start = df["start"]
    sexual = (df["cat"] == "SEX").to_numpy()
    u = rng.random(n)
    # shares: short (<= 6 h, time known), no time, long same day, multi-day, historic (months)
    cuts = np.where(sexual[:, None], [[0.60, 0.70, 0.82, 0.92, 1.0]], [[0.78, 0.87, 0.95, 1.0, 1.0]])
    kind = (u[:, None] >= cuts).sum(axis=1)  # 0..4
    df["window"] = np.array(["short", "notime", "longday", "multiday", "historic"])[kind]
    to = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    has_from_time = np.ones(n, bool)
    has_to_time = np.ones(n, bool)
    short = kind == 0
    same = short & (rng.random(n) < 0.5)
    to[same] = start[same]
    dur = pd.to_timedelta(rng.integers(5, 240, size=n), unit="m")
    sel = short & ~same
    to[sel] = start[sel] + dur[sel]
    # a short window's end left blank in 40% of rows
    blank_to = short & (rng.random(n) < 0.4)
    to[blank_to] = pd.NaT
    notime = kind == 1
    has_from_time[notime] = False
    has_to_time[notime] = False
    longday = kind == 2
    day0 = start.dt.normalize()
    new_start = day0 + pd.to_timedelta(rng.integers(7 * 60, 9 * 60, size=n), unit="m")
    start = start.where(~longday, new_start)
    to[longday] = day0[longday] + pd.to_timedelta(rng.integers(17 * 60, 19 * 60, size=int(longday.sum())), unit="m")
    multiday = kind == 3
    to[multiday] = start[multiday] + pd.to_timedelta(rng.integers(1, 5, size=int(multiday.sum())), unit="D") \
        + pd.to_timedelta(rng.integers(0, 600, size=int(multiday.sum())), unit="m")
    historic = kind == 4
    to[historic] = start[historic] + pd.to_timedelta(rng.integers(40, 900, size=int(historic.sum())), unit="D")
    hist_notime = historic & (rng.random(n) < 0.7)
    has_from_time[hist_notime] = False
    has_to_time[hist_notime] = False
    df["start"] = start
    df["end"] = to
    df["from_time"] = has_from_time
    df["to_time"] = has_to_time
    lag = np.select([rng.random(n) < 0.6, rng.random(n) < 0.6, rng.random(n) < 0.7],
                    [0, 1, rng.integers(2, 8, size=n)], rng.integers(8, 60, size=n))
    lag = np.where(historic, rng.integers(30, 1000, size=n), lag)
    rec = start.dt.normalize() + pd.to_timedelta(lag, unit="D")
    df["recorded"] = rec.clip(upper=pd.Timestamp("2022-04-30"))


def add_extra_police_rows(df: pd.DataFrame, cal: pd.DataFrame, rng) -> pd.DataFrame:
    """Rows the cleaning must set aside: no location at all, or an LSOA outside the area."""
    n = len(df)
    n_noloc = int(round(n * 0.003))
    n_out = int(round(n * 0.002))
    outside = cal.index[cal["in_area"] == 0].to_numpy()
    w = cal.loc[outside, "violence_sexual"].to_numpy(float) + 0.5
    a = df.iloc[rng.choice(n, size=n_noloc, replace=False)].copy()
    a["loc_mode"] = "none"
    b = df.iloc[rng.choice(n, size=n_out, replace=False)].copy()
    b["loc_mode"] = "outside"
    b["lsoa"] = outside[rng.choice(len(outside), size=n_out, p=w / w.sum())]
    extra = pd.concat([a, b])
    extra["extra"] = True
    for col in ("v_id", "s_id"):
        extra[col] = np.where(extra[col] != "", [f"N{v:08d}" for v in rng.choice(10**8, size=len(extra))], "")
    out = pd.concat([df.assign(extra=False), extra], ignore_index=True)
    return out


def crime_references(df: pd.DataFrame) -> pd.Series:
    """``NT/<yy>/<6 digits>``: numbered in order of recording within each calendar year."""
    order = df.sort_values(["recorded", "start"], kind="stable").index
    yy = df.loc[order, "recorded"].dt.year
    seq = yy.groupby(yy).cumcount() + 1
    ref = "NT/" + (yy % 100).astype(str).str.zfill(2) + "/" + seq.astype(str).str.zfill(6)
    return ref.reindex(df.index)


def write_police(df: pd.DataFrame, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.glob("*"):
        f.unlink()
    df = df.copy()
    df["ref"] = crime_references(df)
    has_xy = df["loc_mode"].isin(["xy", "xy+lsoa"])
    has_lsoa = df["loc_mode"].isin(["lsoa", "xy+lsoa", "outside"])

    def d(s):
        return s.dt.strftime("%d/%m/%Y").fillna("")

    def t(s, ok):
        return s.dt.strftime("%H:%M").where(ok & s.notna(), "").fillna("")

    for start in FY_STARTS:
        part = df[df["fy"] == start].sort_values(["start", "ref"], kind="stable")
        code_col = "HO Class Code" if start < 2018 else "HO Code"  # the header changed in 2018
        out = pd.DataFrame({
            "Crime Reference": part["ref"],
            "Recorded Date": d(part["recorded"]),
            "Committed From Date": d(part["start"]),
            "Committed From Time": t(part["start"], part["from_time"]),
            "Committed To Date": d(part["end"]),
            "Committed To Time": t(part["end"], part["to_time"]),
            code_col: part["ho_code"],
            "HO Offence Description": part["ho_desc"],
            "Easting": part["x"].where(has_xy[part.index]).map(lambda v: "" if pd.isna(v) else f"{v:.0f}"),
            "Northing": part["y"].where(has_xy[part.index]).map(lambda v: "" if pd.isna(v) else f"{v:.0f}"),
            "LSOA Code": part["lsoa"].where(has_lsoa[part.index], ""),
            "Location Type": part["location_type"],
            "Victim Nominal": part["v_id"],
            "Victim Age": part["v_age"].map(lambda a: "" if a < 0 else str(a)),
            "Victim Gender": part["v_sex"],
            "Victim Ethnicity": part["v_eth"],
            "Suspect Nominal": part["s_id"],
            "Suspect Age": part["s_age"].map(lambda a: "" if a < 0 else str(a)),
            "Suspect Gender": part["s_sex"],
            "Knife/Sharp Instrument": part["knife_flag"],
            "Firearm Flag": part["firearm_flag"],
            "Domestic Abuse Flag": part["da_flag"],
        })
        write_gz(folder / f"nottinghamshire_crime_extract_{fy_slug(start)}.csv.gz",
                 out.to_csv(index=False, lineterminator="\n"))


# ============================================================================================
# ambulance and A&E
# ============================================================================================
AMB_LEVEL = 4600
AMB_TREND = {2016: 0.90, 2017: 0.95, 2018: 1.00, 2019: 1.04, 2020: 0.78, 2021: 0.92}
ECDS_LEVEL = 3900
ECDS_TREND = {2016: 0.92, 2017: 0.96, 2018: 1.00, 2019: 1.03, 2020: 0.72, 2021: 0.90}
AGE_BANDS = [(0, 17, "0-17"), (18, 24, "18-24"), (25, 34, "25-34"), (35, 44, "35-44"), (45, 54, "45-54"),
             (55, 64, "55-64"), (65, 90, "65+")]


def police_link_pool(police: pd.DataFrame, cats: list[str]) -> pd.DataFrame:
    p = police[~police["extra"] & police["cat"].isin(cats) & (police["v_age"] >= 0)
               & police["v_sex"].isin(["M", "F"])]
    return p


def linked_rows(police: pd.DataFrame, n_by_fy: dict[int, int], rng, weights) -> pd.DataFrame:
    parts = []
    for y, n in n_by_fy.items():
        pool = police[police["fy"] == y]
        w = weights(pool).astype(float)
        idx = rng.choice(len(pool), size=n, replace=False, p=w / w.sum())
        parts.append(pool.iloc[idx])
    return pd.concat(parts)


def band(age: np.ndarray) -> np.ndarray:
    out = np.full(len(age), "", dtype=object)
    for lo, hi, lab in AGE_BANDS:
        out[(age >= lo) & (age <= hi)] = lab
    return out


def make_ambulance(geo, cal, pools, police, rng, folder: Path) -> pd.DataFrame:
    from pyproj import Transformer

    inten = intensities(geo, cal)
    lsoas = geo["lsoa"].to_numpy()
    n_by_fy = {y: int(round(AMB_LEVEL * AMB_TREND[y])) for y in FY_STARTS}
    link_by_fy = {y: int(round(0.15 * n)) for y, n in n_by_fy.items()}
    pool = police_link_pool(police, ["VWI", "ROB", "SEX", "HOM"])

    def w(p):
        return np.select([p["knife"] == True, p["cat"] == "SEX", p["domestic"]], [6.0, 0.4, 0.6], 1.0)  # noqa: E712

    link = linked_rows(pool, link_by_fy, rng, w)
    nl = len(link)
    lt = link["start"] + pd.to_timedelta(rng.integers(3, 25, size=nl), unit="m")
    notime = ~link["from_time"].to_numpy() | (link["window"] != "short").to_numpy()
    alt = sample_times(rng, link["start"].dt.normalize().value_counts().sort_index(), "amb")
    # re-time rows whose police time is not known, on the same day
    if notime.any():
        days = link["start"].dt.normalize()[notime]
        new = [d + pd.Timedelta(minutes=int(m)) for d, m in
               zip(days, rng.choice(24 * 60, size=int(notime.sum()), p=np.repeat(hour_profile("amb").sum(axis=0), 60) / 60))]
        lt = lt.copy()
        lt[notime] = new
    del alt
    linked = pd.DataFrame({
        "when": lt.to_numpy(), "lsoa": link["lsoa"].to_numpy(), "age": link["v_age"].to_numpy(),
        "sex": link["v_sex"].map({"M": "Male", "F": "Female"}).to_numpy(),
        "call": np.where(link["knife"] == True, "Stab/Gunshot/Penetrating Trauma",  # noqa: E712
                         np.where(link["cat"] == "SEX", "Sexual Assault", "Assault")),
        "linked": True,
    })
    un_by_fy = {y: n_by_fy[y] - link_by_fy[y] for y in FY_STARTS}
    when = sample_datetimes(rng, un_by_fy, "amb", 0.8)
    nu = len(when)
    li = rng.choice(len(lsoas), size=nu, p=inten["violence"])
    age = sample_ages(rng, nu, 25, 0.42, 1)
    unlinked = pd.DataFrame({
        "when": when, "lsoa": lsoas[li], "age": age,
        "sex": np.where(rng.random(nu) < 0.64, "Male", "Female"),
        "call": pick(rng, {"Assault": 0.88, "Sexual Assault": 0.05, "Stab/Gunshot/Penetrating Trauma": 0.07}, nu),
        "linked": False,
    })
    amb = pd.concat([linked, unlinked], ignore_index=True).sort_values("when", kind="stable").reset_index(drop=True)
    n = len(amb)
    # location: LSOA for 60%, longitude/latitude for 40%; a few none / outside the area
    j = rng.integers(0, 40, size=n)
    pts = np.stack([pools[l][k] for l, k in zip(amb["lsoa"], j)])
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(pts[:, 0], pts[:, 1])
    mode = np.where(rng.random(n) < 0.6, "lsoa", "lonlat")
    u = rng.random(n)
    mode = np.where(u < 0.004, "none", np.where(u < 0.009, "outside", mode))
    outside = cal.index[cal["in_area"] == 0].to_numpy()
    amb["lsoa_out"] = np.where(mode == "lsoa", amb["lsoa"],
                               np.where(mode == "outside", outside[rng.integers(0, len(outside), size=n)], ""))
    amb["lon"] = np.where(mode == "lonlat", np.round(lon, 6).astype(str), "")
    amb["lat"] = np.where(mode == "lonlat", np.round(lat, 6).astype(str), "")
    # age: exact for most, a band only for some, none for a few
    ua = rng.random(n)
    age = amb["age"].to_numpy()
    amb["age_out"] = np.where(ua < 0.86, age.astype(str), "")
    amb["band_out"] = np.where((ua >= 0.86) & (ua < 0.95), band(age), "")
    amb["sex_out"] = np.where(rng.random(n) < 0.02, "Unknown", amb["sex"])
    when = pd.DatetimeIndex(amb["when"])
    amb["incident"] = (when.strftime("%y%m%d") + "-" + pd.Series(np.arange(n) % 10000).astype(str).str.zfill(4)
                       ).to_numpy()
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.glob("*"):
        f.unlink()
    out = pd.DataFrame({
        "Incident Number": amb["incident"],
        "Incident Date": when.strftime("%Y-%m-%d"),
        "Incident Time": when.strftime("%H:%M:%S"),
        "Call Category": amb["call"],
        "Incident LSOA": amb["lsoa_out"],
        "Longitude": amb["lon"],
        "Latitude": amb["lat"],
        "Patient Age": amb["age_out"],
        "Age Band": amb["band_out"],
        "Patient Gender": amb["sex_out"],
    })
    write_gz(folder / "emas_violence_callouts_2016-04_2022-03.csv.gz", out.to_csv(index=False, lineterminator="\n"))
    amb["mode"] = mode
    return amb


SITES = {"RX1RA": "Queen's Medical Centre (synthetic)", "RK5BC": "King's Mill (synthetic)",
         "RP5BA": "Bassetlaw (synthetic)"}
SITE_OF_DISTRICT = {"E06000018": "RX1RA", "E07000172": "RX1RA", "E07000173": "RX1RA", "E07000176": "RX1RA",
                    "E07000170": "RK5BC", "E07000174": "RK5BC", "E07000175": "RK5BC", "E07000171": "RP5BA"}
ECDS_METHODS = {"Body part (e.g. fist, feet, head)": 0.62, "Blunt object": 0.10, "Glass or bottle": 0.05,
                "Knife or sharp object": 0.07, "Firearm": 0.003, "Other": 0.06, "Unknown": 0.097}
ECDS_LOC = {"Street / public place": 0.38, "Home": 0.25, "Licensed premises (pub, bar, club)": 0.15,
            "Other public place": 0.06, "Workplace": 0.04, "School / college": 0.02, "Other": 0.02,
            "Not known": 0.08}
ECDS_DESC = {"Street / public place": ["Outside a bar", "City centre street", "Bus stop", "Taxi rank",
                                       "Near a takeaway", "Car park"],
             "Home": ["At home", "Friend's house", "Outside house"],
             "Licensed premises (pub, bar, club)": ["In a nightclub", "In a pub", "Bar toilets"],
             "Other public place": ["Park", "Shopping centre", "Train station"],
             "Workplace": ["At work", "Shop"], "School / college": ["School grounds", "College"],
             "Other": ["Other"], "Not known": [""]}
NHS_ETH = {"A": 70, "B": 1, "C": 5, "D": 1.5, "E": 0.5, "F": 0.8, "G": 0.7, "H": 1.5, "J": 3, "K": 0.3,
           "L": 1, "M": 1.5, "N": 2, "P": 0.7, "R": 0.3, "S": 1.2, "Z": 10}


def nhs_numbers(rng, n: int) -> np.ndarray:
    """10-digit numbers in the 999 test range with a valid modulus-11 check digit, spaced 3-3-4."""
    out = []
    while len(out) < n:
        body = rng.integers(0, 10, size=(n, 6))
        digits = np.hstack([np.full((n, 3), 9), body])
        s = (digits * np.arange(10, 1, -1)).sum(axis=1)
        check = 11 - s % 11
        check = np.where(check == 11, 0, check)
        ok = check != 10
        for dgt, c in zip(digits[ok], check[ok]):
            t = "".join(map(str, dgt)) + str(c)
            out.append(f"{t[:3]} {t[3:6]} {t[6:]}")
    return np.array(out[:n], dtype=object)


def make_ecds(geo, cal, police, rng, folder: Path) -> pd.DataFrame:
    inten = intensities(geo, cal)
    lsoas = geo["lsoa"].to_numpy()
    district = dict(zip(geo["lsoa"], geo["district"]))
    n_by_fy = {y: int(round(ECDS_LEVEL * ECDS_TREND[y])) for y in FY_STARTS}
    link_by_fy = {y: int(round(0.34 * n)) for y, n in n_by_fy.items()}
    pool = police_link_pool(police, ["VWI", "ROB", "SEX"])

    def w(p):
        return np.select([p["knife"] == True, p["cat"] == "SEX", p["cat"] == "ROB"], [4.0, 0.3, 0.8], 1.0)  # noqa: E712

    link = linked_rows(pool, link_by_fy, rng, w)
    nl = len(link)
    known_time = (link["from_time"] & (link["window"] == "short")).to_numpy()
    assault = link["start"].to_numpy()
    linked = pd.DataFrame({
        "assault": assault, "assault_time": known_time, "lsoa": link["lsoa"].to_numpy(),
        "age": link["v_age"].to_numpy(), "sex": link["v_sex"].map({"M": "1", "F": "2"}).to_numpy(),
        "method": np.where(link["knife"] == True, "Knife or sharp object", pick(rng, {  # noqa: E712
            k: v for k, v in ECDS_METHODS.items() if k != "Knife or sharp object"}, nl)),
        "loctype": np.where(link["domestic"], "Home", pick(rng, {k: v for k, v in ECDS_LOC.items() if k != "Home"}, nl)),
        "linked": True,
    })
    un_by_fy = {y: n_by_fy[y] - link_by_fy[y] for y in FY_STARTS}
    when = sample_datetimes(rng, un_by_fy, "nte", 0.85)
    nu = len(when)
    li = rng.choice(len(lsoas), size=nu, p=inten["violence"])
    unlinked = pd.DataFrame({
        "assault": when, "assault_time": rng.random(nu) < 0.7, "lsoa": lsoas[li],
        "age": sample_ages(rng, nu, 25, 0.42, 1), "sex": np.where(rng.random(nu) < 0.66, "1", "2"),
        "method": pick(rng, ECDS_METHODS, nu), "loctype": pick(rng, ECDS_LOC, nu), "linked": False,
    })
    ed = pd.concat([linked, unlinked], ignore_index=True)
    n = len(ed)
    delay = pd.to_timedelta(rng.gamma(2.0, 55.0, size=n) + 10, unit="m").round("min")
    ed["arrival"] = pd.DatetimeIndex(ed["assault"]) + delay
    # assault times not recorded for some: arrival stays known to the minute
    ed = ed.sort_values("arrival", kind="stable").reset_index(drop=True)
    ed = ed[ed["arrival"] <= LAST_DAY + pd.Timedelta(hours=23, minutes=59)].reset_index(drop=True)
    n = len(ed)
    # home LSOA: mostly near the assault (the same LSOA or one of the same district), some outside
    home = ed["lsoa"].to_numpy().copy()
    same_d = rng.random(n) < 0.55
    by_d = geo.groupby("district")["lsoa"].apply(list).to_dict()
    for i in np.flatnonzero(~same_d):
        cands = by_d[district[home[i]]]
        home[i] = cands[rng.integers(0, len(cands))]
    outside = cal.index[cal["in_area"] == 0].to_numpy()
    uo = rng.random(n)
    home_out = np.where(uo < 0.04, outside[rng.integers(0, len(outside), size=n)], home)
    home_out = np.where((uo >= 0.04) & (uo < 0.07), "", home_out)
    ed["home_lsoa"] = home_out
    # incident LSOA known for about two thirds; some assaults happened outside the area
    inc = np.where(rng.random(n) < 0.68, ed["lsoa"].to_numpy(), "")
    ui = rng.random(n)
    inc = np.where((inc != "") & (ui < 0.01), outside[rng.integers(0, len(outside), size=n)], inc)
    ed["incident_lsoa"] = inc
    site_d = [district.get(h) or district.get(l) for h, l in zip(ed["home_lsoa"], ed["lsoa"])]
    ed["site"] = [SITE_OF_DISTRICT[d] for d in site_d]
    ed["nhs"] = nhs_numbers(rng, n)
    rep = (rng.random(n) < 0.08) & (np.arange(n) > 0)
    idx = np.flatnonzero(rep)
    ed.loc[idx, "nhs"] = ed["nhs"].to_numpy()[(rng.random(len(idx)) * idx).astype(int)]
    ed["eth"] = pick(rng, NHS_ETH, n)
    ed["desc"] = [ECDS_DESC[t][rng.integers(0, len(ECDS_DESC[t]))] for t in ed["loctype"]]
    arr = pd.DatetimeIndex(ed["arrival"])
    ass = pd.DatetimeIndex(ed["assault"])
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.glob("*"):
        f.unlink()
    for site in SITES:
        part = ed[ed["site"] == site]
        idx = part.index
        seq = pd.Series(np.arange(1, len(part) + 1), index=idx)
        out = pd.DataFrame({
            "Attendance ID": site + "-" + arr[idx].strftime("%y") + seq.astype(str).str.zfill(6),
            "NHS Number": part["nhs"],
            "Arrival Date": arr[idx].strftime("%d/%m/%Y"),
            "Arrival Time": arr[idx].strftime("%H:%M"),
            "Assault Date": ass[idx].strftime("%d/%m/%Y"),
            "Assault Time": np.where(part["assault_time"], ass[idx].strftime("%H:%M"), ""),
            "Assault Method": np.where(part["method"] == "Unknown",
                                       np.where(rng.random(len(part)) < 0.5, "", "Unknown"), part["method"]),
            "Assault Location Type": part["loctype"],
            "Assault Location Description": part["desc"],
            "Incident LSOA": part["incident_lsoa"],
            "Home LSOA": part["home_lsoa"],
            "Patient Age": part["age"].astype(str),
            "Patient Gender": part["sex"],
            "Ethnic Category": part["eth"],
            "Site Code": site,
        })
        write_gz(folder / f"istv_{site}_2016-04_2022-03.csv.gz", out.to_csv(index=False, lineterminator="\n"))
    return ed


# ============================================================================================
# interventions
# ============================================================================================
# (name, provider, level, area served, FY2020/21 participants, FY2020/21 cost)
INTERVENTIONS_2020 = [
    ("Violence prevention lessons in City primary schools", "Schools programme provider A", "universal", "City", 190, 24000),
    ("Violence prevention lessons in County primary schools", "Schools programme provider A", "universal", "County", 120, 22000),
    ("Healthy relationships workshops (secondary schools)", "Schools programme provider B", "universal", "Both", 165, 26500),
    ("Knife crime awareness assemblies", "Community safety provider C", "universal", "Both", 140, 12500),
    ("Youth club sessions - City estates", "Youth work provider D", "universal", "City", 105, 21000),
    ("Youth club sessions - Mansfield and Ashfield", "Youth work provider E", "universal", "County", 55, 18000),
    ("Sports diversion evenings", "Sports trust F", "universal", "City", 85, 19500),
    ("Parents and carers awareness programme", "Family support provider G", "universal", "Both", 30, 9000),
    ("Detached youth outreach - City centre", "Youth work provider D", "secondary", "City", 70, 31000),
    ("Detached youth outreach - County towns", "Youth work provider E", "secondary", "County", 35, 26000),
    ("Mentoring for young people at risk of exclusion", "Mentoring provider H", "secondary", "City", 50, 28500),
    ("Mentoring for young people at risk of exclusion - County", "Mentoring provider H", "secondary", "County", 26, 21000),
    ("Counselling and emotional wellbeing", "Wellbeing provider I", "secondary", "Both", 48, 24500),
    ("Trauma-informed group work", "Wellbeing provider I", "secondary", "City", 32, 15500),
    ("Girls and young women's project", "Community provider J", "secondary", "City", 28, 14000),
    ("Child criminal exploitation early help", "Family support provider G", "secondary", "Both", 32, 23500),
    ("Alternative education engagement", "Education provider K", "secondary", "County", 20, 17500),
    ("Music and arts diversion", "Arts provider L", "secondary", "City", 38, 13000),
    ("Substance misuse early intervention", "Health provider M", "secondary", "Both", 26, 16000),
    ("Boxing and mentoring programme", "Sports trust F", "secondary", "City", 34, 14500),
    ("Hospital youth violence navigators (ED)", "Health provider M", "tertiary", "City", 60, 36000),
    ("Custody-based youth intervention (City)", "Custody intervention provider N", "tertiary", "City", 40, 30000),
    ("Custody-based youth intervention (County)", "Custody intervention provider N", "tertiary", "County", 15, 22000),
    ("Intensive mentoring after a first offence", "Mentoring provider H", "tertiary", "Both", 26, 25000),
    ("Gang exit and desistance support", "Community provider J", "tertiary", "City", 18, 24000),
    ("Family intervention for young people who offend", "Family support provider G", "tertiary", "County", 12, 19000),
    ("Education, training and employment coaching", "Employment provider O", "tertiary", "Both", 20, 16500),
    ("Restorative justice youth conferencing", "Community safety provider C", "tertiary", "Both", 27, 13500),
]
CORE = "Home Office VRU core grant"
CUSTODY = "Home Office Serious Youth Violence Interventions Programme (custody)"
CUSTODY_2021 = [("Custody-based intervention - U Turn model (City)", "Custody intervention provider N", "tertiary", "City", 95, 352_214),
                ("Custody-based intervention - Divert Plus model (County)", "Custody intervention provider P", "tertiary", "County", 70, 323_782)]
PARTICIPANTS_2020 = 1547
LEVEL_AGES = {"universal": (5, 16, 11, 0.3), "secondary": (10, 19, 15, 0.15), "tertiary": (14, 25, 18, 0.15)}
PART_ETH = {"White British": 52, "White Other": 4, "Black or Black British": 8, "Asian or Asian British": 8,
            "Mixed": 6, "Other": 2, "Not stated": 20}


def interventions_table() -> pd.DataFrame:
    rows = []
    for name, prov, level, area, _, cost in INTERVENTIONS_2020:
        rows.append((name, prov, level, CORE, cost, 2020, area))
    # FY2019/20: the VRU's first year, 18 of them at about 80% of the cost
    for name, prov, level, area, _, cost in INTERVENTIONS_2020[:6] + INTERVENTIONS_2020[8:16] + INTERVENTIONS_2020[20:24]:
        rows.append((name, prov, level, CORE, int(round(cost * 0.8, -2)), 2019, area))
    # FY2021/22: the 28 (minus the two old custody projects), 3 new ones, and the custody-based programmes
    for name, prov, level, area, _, cost in INTERVENTIONS_2020:
        if name.startswith("Custody-based youth intervention"):
            continue
        rows.append((name, prov, level, CORE, int(round(cost * 1.05, -2)), 2021, area))
    for name, prov, level, area, cost in [
        ("Parenting programme (County pilot)", "Family support provider G", "secondary", "County", 21000),
        ("Youth work quality programme", "Youth work provider D", "universal", "Both", 18000),
        ("Community ambassadors", "Community provider J", "universal", "Both", 8000),
    ]:
        rows.append((name, prov, level, CORE, cost, 2021, area))
    for name, prov, level, area, _, cost in CUSTODY_2021:
        rows.append((name, prov, level, CUSTODY, cost, 2021, area))
    t = pd.DataFrame(rows, columns=["name", "provider", "level", "stream", "cost", "fy", "area"])
    return t


def make_interventions(geo, rng, folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = interventions_table()
    assert (table["fy"] == 2020).sum() == 28
    assert table.loc[(table["fy"] == 2020), "cost"].sum() <= 880_000
    assert table.loc[(table["fy"] == 2021) & (table["stream"] == CUSTODY), "cost"].sum() == 675_996
    assert table.loc[(table["fy"] == 2021) & (table["stream"] == CORE), "cost"].sum() <= 880_000
    sizes = {name: n for name, *_rest, n, _cost in [(r[0], r[4], r[5]) for r in INTERVENTIONS_2020]}
    assert sum(sizes.values()) == PARTICIPANTS_2020, sum(sizes.values())
    city = geo[geo["district"] == CITY]
    county = geo[geo["district"] != CITY]
    dep = np.array([3.0, 2.6, 2.2, 1.8, 1.4, 1.1, 0.9, 0.8, 0.7, 0.6])

    def lsoa_weights(g):
        w = g["pop_5_25"].to_numpy() * dep[g["imd_decile"].to_numpy() - 1]
        return w / w.sum()

    w_city, w_county = lsoa_weights(city), lsoa_weights(county)
    rows = []
    pid_seq = [0]

    def new_pid(provider):
        pid_seq[0] += 1
        return f"YP{provider.split()[-1]}{pid_seq[0]:06d}"

    for fy in (2019, 2020, 2021):
        t = table[table["fy"] == fy]
        for _, iv in t.iterrows():
            if fy == 2020:
                n = sizes[iv["name"]]
            else:
                base = sizes.get(iv["name"])
                if base is None:
                    base = {"tertiary": 80, "secondary": 30, "universal": 60}[iv["level"]]
                    base = next((c[4] for c in CUSTODY_2021 if c[0] == iv["name"]), base)
                n = int(round(base * (0.55 if fy == 2019 else 1.12) * rng.uniform(0.85, 1.15)))
            lo, hi, med, sig = LEVEL_AGES[iv["level"]]
            ages = np.clip(np.round(rng.normal(med, (hi - lo) / 4, size=n)), lo, hi).astype(int)
            if iv["area"] == "City":
                area = np.full(n, "City")
            elif iv["area"] == "County":
                area = np.full(n, "County")
            else:
                area = np.where(rng.random(n) < 0.55, "City", "County")
            home = np.where(area == "City", city["lsoa"].to_numpy()[rng.choice(len(city), size=n, p=w_city)],
                            county["lsoa"].to_numpy()[rng.choice(len(county), size=n, p=w_county)])
            fy_start = pd.Timestamp(f"{fy}-04-01")
            start = pd.Series(fy_start + pd.to_timedelta(rng.integers(0, 365, size=n), unit="D"))
            if fy == 2020:  # few starts in the first lockdown
                start = start.where(~((start >= "2020-04-01") & (start < "2020-06-01") & (rng.random(n) < 0.5)),
                                    start + pd.Timedelta(days=75))
                start = start.where(start < "2021-04-01", start - pd.Timedelta(days=120))
            referral = start - pd.to_timedelta(rng.integers(0, 45, size=n), unit="D").to_numpy()
            dur = {"universal": (14, 90), "secondary": (60, 200), "tertiary": (90, 300)}[iv["level"]]
            end = start + pd.to_timedelta(rng.integers(*dur, size=n), unit="D").to_numpy()
            end = end.where(end <= pd.Timestamp("2022-03-31"), pd.NaT)
            dropped = rng.random(n) < 0.12
            s0 = np.clip(np.round(rng.normal(19, 4.5, size=n)), 7, 35)
            gain = {"universal": 1.0, "secondary": 2.2, "tertiary": 3.0}[iv["level"]]
            s1 = np.clip(np.round(s0 + rng.normal(gain, 3.5, size=n)), 7, 35)
            has_end_score = end.notna().to_numpy() & ~dropped
            if iv["level"] == "universal":
                before = np.full(n, "", dtype=object)
                after = np.full(n, "", dtype=object)
            else:
                pb = 0.75 if iv["level"] == "tertiary" else 0.15
                b = rng.random(n) < pb
                a = np.where(b, rng.random(n) < 0.45, rng.random(n) < 0.06)
                before = np.where(b, "Yes", "No").astype(object)
                after = np.where(a, "Yes", "No").astype(object)
                after[~end.notna().to_numpy()] = ""
            sex = pick(rng, {"Male": 0.62, "Female": 0.36, "Prefer not to say": 0.02}, n)
            eth = pick(rng, PART_ETH, n)
            eth = np.where((area == "County") & np.isin(eth, ["Black or Black British", "Asian or Asian British",
                                                                "Mixed"]) & (rng.random(n) < 0.6), "White British", eth)
            for i in range(n):
                rows.append({
                    "Participant ID": new_pid(iv["provider"]),
                    "Programme": iv["name"], "Provider": iv["provider"],
                    "Prevention Level": iv["level"].capitalize(),
                    "Referral Date": referral[i].to_pydatetime(), "Start Date": start[i].to_pydatetime(),
                    "End Date": None if pd.isna(end[i]) else end[i].to_pydatetime(),
                    "Age at Start": int(ages[i]), "Gender": sex[i], "Ethnicity": eth[i],
                    "Home LSOA": home[i], "SWEMWBS Start": int(s0[i]),
                    "SWEMWBS End": int(s1[i]) if has_end_score[i] else None,
                    "Offending 12m Before": before[i] or None, "Offending 12m After": after[i] or None,
                    "_fy": fy,
                })
    parts = pd.DataFrame(rows)
    # a few FY2019/20 participants return in later years (same person, new programme)
    later = parts.index[parts["_fy"] > 2019]
    first = parts.index[parts["_fy"] == 2019]
    back = rng.choice(later, size=int(0.04 * len(later)), replace=False)
    parts.loc[back, "Participant ID"] = parts.loc[rng.choice(first, size=len(back), replace=False), "Participant ID"].to_numpy()
    assert parts.loc[parts["_fy"] == 2020, "Participant ID"].nunique() == PARTICIPANTS_2020
    # three rows the cleaning must set aside: an impossible age, two without a start date
    bad = parts[parts["_fy"] == 2020].sample(3, random_state=int(rng.integers(1 << 31))).copy()
    bad["Participant ID"] = [new_pid("x") for _ in range(3)]
    bad.iloc[0, bad.columns.get_loc("Age at Start")] = 250
    bad.iloc[1, bad.columns.get_loc("Start Date")] = None
    bad.iloc[2, bad.columns.get_loc("Start Date")] = None
    parts = pd.concat([parts, bad], ignore_index=True)
    parts = parts.sort_values(["Start Date", "Participant ID"], na_position="last", kind="stable")
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.glob("*"):
        f.unlink()
    write_xlsx(parts.drop(columns="_fy"), folder / "participants_2019-2022.xlsx", "Participants")
    t = table.assign(fy=table["fy"].map(fy_label)).rename(columns={
        "name": "Intervention", "provider": "Provider", "level": "Level", "stream": "Funding Stream",
        "cost": "Cost (£)", "fy": "Financial Year", "area": "Area Served"})
    t["Level"] = t["Level"].str.capitalize()
    t["Cost (£)"] = t["Cost (£)"].map(lambda v: f"£{v:,.0f}")
    (folder / "interventions.csv").write_text(t.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    return parts, table


def write_xlsx(df: pd.DataFrame, path: Path, sheet: str) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append([None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in row])
    date_cols = [i + 1 for i, c in enumerate(df.columns) if "Date" in c]
    for col in date_cols:
        for cell in ws.iter_cols(min_col=col, max_col=col, min_row=2):
            for c in cell:
                c.number_format = "DD/MM/YYYY"
    fixed = dt.datetime(2022, 4, 30, 12, 0, 0)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "sna demo generator (synthetic)"
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(reproducible_xlsx(buf.getvalue()))


def reproducible_xlsx(data: bytes) -> bytes:
    """The workbook with fixed zip member times and document dates: the same bytes every run."""
    import re
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2022-04-30T12:00:00Z", body)
            zi = zipfile.ZipInfo(info.filename, date_time=(2022, 4, 30, 12, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, body)
    return out.getvalue()


# ============================================================================================
# config, README, key
# ============================================================================================
CONFIG = """\
# SYNTHETIC DEMO ASSESSMENT - every record in this folder is synthetic (made up by
# scripts/make_demo.py with a fixed seed); only the geography, population and IMD are real.
# See README.md in this folder. Do not use these figures to describe Nottinghamshire.
area: Nottinghamshire (synthetic demo)
synthetic: true
year: 2020/21
baseline_years: 3
partnerships:
  Nottingham City: [E06000018]
  Nottinghamshire County: [E07000170, E07000171, E07000172, E07000173, E07000174, E07000175, E07000176]
geography:
  boundaries: boundaries/
  population: population/population20_lsoa11.csv.gz
  population_year: 2020
  imd: imd/File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz
sources:
  police:
    # a force crime extract, one file per financial year (the offence-code column was renamed
    # in 2018: it is left out of the mapping and found by its common spellings)
    format: police_extract
    path: police/
    columns:
      record_id: Crime Reference
      recorded_date: Recorded Date
      date: Committed From Date
      time: Committed From Time
      date_to: Committed To Date
      time_to: Committed To Time
      crime_type: HO Offence Description
      x: Easting
      y: Northing
      lsoa: LSOA Code
      location_type: Location Type
      person_id: Victim Nominal
      age: Victim Age
      sex: Victim Gender
      ethnicity: Victim Ethnicity
      offender_id: Suspect Nominal
      offender_age: Suspect Age
      offender_sex: Suspect Gender
      knife: Knife/Sharp Instrument
      firearm: Firearm Flag
      domestic: Domestic Abuse Flag
  ambulance:
    format: ambulance
    path: ambulance/
    columns:
      record_id: Incident Number
      date: Incident Date
      time: Incident Time
      call_category: Call Category
      lsoa: Incident LSOA
      longitude: Longitude
      latitude: Latitude
      age: Patient Age
      age_band: Age Band
      sex: Patient Gender
  ecds:
    # A&E assault attendances (ISTV minimum data set), one file per emergency department
    format: ecds
    path: ecds/
    columns:
      record_id: Attendance ID
      person_id: NHS Number
      date: Arrival Date
      time: Arrival Time
      assault_date: Assault Date
      assault_time: Assault Time
      weapon: Assault Method
      location_type: Assault Location Type
      location_description: Assault Location Description
      lsoa: Incident LSOA
      home_lsoa: Home LSOA
      age: Patient Age
      sex: Patient Gender
      ethnicity: Ethnic Category
      site: Site Code
  interventions:
    format: interventions
    path: interventions/participants_2019-2022.xlsx
    interventions_table: interventions/interventions.csv
    columns:
      participants.person_id: Participant ID
      participants.intervention: Programme
      participants.level: Prevention Level
      participants.age: Age at Start
      participants.sex: Gender
      outcome_start: SWEMWBS Start
      outcome_end: SWEMWBS End
      offending_before: Offending 12m Before
      offending_after: Offending 12m After
      interventions.intervention: Intervention
      interventions.level: Level
      interventions.cost: Cost (£)
      interventions.fy: Financial Year
privacy:
  # a key for the SYNTHETIC demo only (it is public): real data needs a secret key, set in the
  # environment variable SNA_PSEUDONYMISATION_KEY or a key file kept outside the repository
  key_file: demo_pseudonymisation_key.txt
"""

KEY = """\
# SYNTHETIC DEMO ONLY - this key is public and protects nothing.
# It pseudonymises the made-up identifiers of the bundled demo. Never use it for real data:
# generate your own with  python -c "import secrets; print(secrets.token_hex(32))"
sna-demo-key-synthetic-data-only-not-a-secret-0f3a9c
"""


def readme(summary: dict) -> str:
    rows = "\n".join(f"| {k} | {v:+.1%} |" for k, v in summary["table_a"].items())
    return f"""\
# Demo assessment: Nottinghamshire (SYNTHETIC)

> **SYNTHETIC DATA.** Every record in this folder (crimes, ambulance call-outs, A&E
> attendances, intervention participants and costs) is made up by `scripts/make_demo.py`
> with a fixed seed. No record describes a real person or event, and the figures must not be
> used to describe Nottinghamshire. Only the geography, the population and the deprivation
> indices are real (see *Attribution*).

This is the default data of `sna validate` and `sna run` without `--config`, and of
`sna.load_assessment(None)`: an assessment of Nottingham City and Nottinghamshire County
for the financial year 2020/21, with six years of data (April 2016 - March 2022) from four
partner sources, each in its own realistic format and column names:

| folder | source (`sna.yml`) | what | rows |
|---|---|---|---|
| `police/` | `police` (`police_extract`) | force crime extract, one gzipped CSV per financial year: crime reference, recorded date, committed from / to date and time, Home Office offence code and description, easting / northing and / or LSOA, location type, victim nominal, age, gender, ethnicity, suspect nominal, age, gender, knife / firearm / domestic-abuse flags | {summary['police_rows']:,} |
| `ambulance/` | `ambulance` (`ambulance`) | ambulance call-outs for violence: incident number, date and time, call category (assault, sexual assault, stab / gunshot / penetrating trauma), LSOA or longitude / latitude, patient age or age band, gender | {summary['ambulance_rows']:,} |
| `ecds/` | `ecds` (`ecds`) | A&E assault attendances (ISTV minimum data set), one file per emergency department: attendance id, NHS number (999 test range), arrival and assault date and time, assault method, location type and description, incident LSOA (where known), home LSOA, age, gender (NHS codes), ethnic category (NHS codes), site code | {summary['ecds_rows']:,} |
| `interventions/` | `interventions` (`interventions`) | intervention monitoring: `participants_2019-2022.xlsx` (one row per participant) and `interventions.csv` (name, provider, level, funding stream, cost, year) | {summary['participant_rows']:,} participants, {summary['intervention_rows']} interventions |

Real, copied unchanged (rows for the 679 LSOAs only): `boundaries/` (8 GeoJSON files, 2011
LSOAs, one per district), `population/` (ONS small-area population estimates, mid-2017, 2019
and 2020, single year of age), `imd/` (English Indices of Deprivation 2019, File 1, with its
byte-order mark and thousands separators).

## What the synthetic data reproduces

From the cleaned police records (`sna.load_assessment(None).incidents`, source `police`),
FY2020/21 against the mean of FY2017/18 - FY2019/20 (the board report's Table A):

| measure | change |
|---|---|
{rows}

(serious violence = the default local definition: homicide, violence with injury, robbery,
sexual offences, possession of weapons; knife-enabled robbery = robbery with the knife flag;
knife possession = possession of weapons with the knife flag; knife crime = knife flag in any
category.)

Also built in: a summer peak; Friday and Saturday night peaks of night-time-economy
violence; ambulance call-outs three quarters between 18:00 and 06:00; the COVID-19 lockdown
dips (from 23 March 2020, November 2020, January - March 2021); victims peaking at ages
16-24; LSOA intensities calibrated on the real data.police.uk street records of October 2018 -
February 2019 (`scripts/demo_calibration.csv`); about a third of A&E assault attendances
with a matching police record (same incident LSOA, same day, same age and sex - measured by
`sna.io.health.link_to_police`; {summary['ecds_linked_share']:.0%} of attendances with an
incident LSOA match) and about one in seven ambulance call-outs; FY2020/21: 28 interventions
(universal, secondary, tertiary), 1,547 participants aged 5-25, about {summary['reach_ratio']:.1f}
times the reach (per young person aged 5-25) in the City as in the County, costs
£{summary['cost_2020']:,.0f} of the £880,000 core grant; FY2021/22 adds the two custody-based
programmes funded with £675,996.

Rows the cleaning sets aside on purpose (to show the quarantine): police records without any
location or in LSOAs outside the area, ambulance call-outs likewise, A&E attendances whose
assault happened outside the area, and three participant rows (an age of 250 and two
without a start date).

## Identifiers and the demo key

The crime references, nominals, incident numbers, attendance ids, NHS numbers and
participant ids are made up, and `sna` pseudonymises them at read time (HMAC-SHA256) with
the key in `demo_pseudonymisation_key.txt`. That key is **for the synthetic demo only**: it
is public and protects nothing. Real data needs a secret key (environment variable
`SNA_PSEUDONYMISATION_KEY`, or a key file kept outside the repository).

## Re-creating it

    .venv/bin/python scripts/make_demo.py

reads the real inputs already in this folder and `scripts/demo_calibration.csv`, and
rewrites the synthetic files identically (seed {SEED}).

## Attribution

- Contains public sector information licensed under the Open Government Licence v3.0.
- Source: Office for National Statistics licensed under the Open Government Licence v3.0.
- Contains OS data © Crown copyright and database right.
- Police data: data.police.uk (Home Office), Open Government Licence v3.0 (used only,
  aggregated, to calibrate where synthetic records fall).
- Indices of Deprivation 2019: Ministry of Housing, Communities and Local Government.

Boundaries: GitHub `martinjc/UK-GeoJSON`; population: derived from GitHub
`humaniverse/demographr` (ONS SAPE tables); IMD: GitHub `anetobradley/energy_flex`.
"""


# ============================================================================================
# checks
# ============================================================================================
def table_a(police: pd.DataFrame) -> dict[str, float]:
    """Table A from the kept police records of the generator's own table."""
    p = police[~police["extra"]]
    cat = p["cat"]
    knife = p["knife"] == True  # noqa: E712
    measures = {
        "Overall serious violence": cat.isin(SV_CELLS),
        "Violence against the person": cat.isin(["VWI", "VWOI"]),
        "Knife-enabled robbery": (cat == "ROB") & knife,
        "Sexual offences": cat == "SEX",
        "Knife possession": (cat == "WEAP_K") & knife,
        "Knife crime": knife,
    }
    out = {}
    for name, m in measures.items():
        by = p.loc[m, "fy"].value_counts()
        base = np.mean([by.get(y, 0) for y in BASELINE])
        out[name] = by.get(TARGET_FY, 0) / base - 1
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(OUT), help="output folder (default: sna/datasets/demo)")
    ap.add_argument("--shared", default=None, help="the shared real-data folder (only needed the first time)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--check", action="store_true", help="only print the Table A check of the counts")
    args = ap.parse_args(argv)
    if args.check:
        counts = police_counts()
        for cell, c in counts.items():
            print(cell, c)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shared = shared_dir(args.shared)
    prepare_inputs(out, shared)
    geo = load_geography(out)
    cal = load_calibration(shared, set(geo["lsoa"]))
    rng = np.random.default_rng(args.seed)
    pools = address_points(geo, rng)
    police = make_police(geo, cal, pools, rng)
    police = add_extra_police_rows(police, cal, rng)
    write_police(police, out / "police")
    amb = make_ambulance(geo, cal, pools, police, rng, out / "ambulance")
    ed = make_ecds(geo, cal, police, rng, out / "ecds")
    parts, table = make_interventions(geo, rng, out / "interventions")
    (out / "sna.yml").write_text(CONFIG, encoding="utf-8")
    (out / "demo_pseudonymisation_key.txt").write_text(KEY, encoding="utf-8")
    ta = table_a(police)
    located = ed["incident_lsoa"] != ""
    p20 = parts[(parts["_fy"] == 2020) & (parts["Age at Start"] <= 120) & parts["Start Date"].notna()]
    pc = p20["Home LSOA"].map(dict(zip(geo["lsoa"], geo["district"]))) == CITY
    pop_city = geo.loc[geo["district"] == CITY, "pop_5_25"].sum()
    pop_county = geo.loc[geo["district"] != CITY, "pop_5_25"].sum()
    summary = {
        "table_a": ta,
        "police_rows": len(police), "ambulance_rows": len(amb), "ecds_rows": len(ed),
        "participant_rows": len(parts), "intervention_rows": len(table),
        "ecds_linked_share": float(ed.loc[located, "linked"].mean()),
        "reach_ratio": float((pc.sum() / pop_city) / ((~pc).sum() / pop_county)),
        "cost_2020": float(table.loc[table["fy"] == 2020, "cost"].sum()),
    }
    (out / "README.md").write_text(readme(summary), encoding="utf-8")
    for k, v in ta.items():
        print(f"{k:32s} {v:+.2%}  (target {TABLE_A[k]:+.0%})")
        assert abs(v - TABLE_A[k]) < 0.005, k
    print(json.dumps({k: v for k, v in summary.items() if k != "table_a"}, indent=1, default=float))
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"demo folder: {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
