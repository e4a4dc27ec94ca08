"""The bundled demo assessment: synthetic records, real geography (sna/datasets/demo)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sna.datasets import DATASETS_DIR, demo_config

DEMO = DATASETS_DIR / "demo"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A working folder: the bundled config writes its cache to ./.sna-cache."""
    d = tmp_path_factory.mktemp("demo")
    old = os.getcwd()
    os.chdir(d)
    try:
        yield d
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def demo(workdir):
    import sna

    saved = os.environ.pop("SNA_PSEUDONYMISATION_KEY", None)
    try:
        yield sna.load_assessment(None, "2020/21")
    finally:
        if saved is not None:
            os.environ["SNA_PSEUDONYMISATION_KEY"] = saved


def test_demo_is_the_default_config_and_labelled_synthetic():
    assert demo_config() == DEMO / "sna.yml"
    from sna.config import load_config

    cfg = load_config(demo_config())
    assert cfg.synthetic is True and "synthetic" in cfg.area.lower()
    assert cfg.partnerships == {
        "Nottingham City": ["E06000018"],
        "Nottinghamshire County": [f"E0700017{i}" for i in range(7)],
    }
    assert {n: s.format for n, s in cfg.sources.items()} == {
        "police": "police_extract", "ambulance": "ambulance", "ecds": "ecds", "interventions": "interventions"}
    readme = (DEMO / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "Open Government Licence v3.0" in readme
    assert "synthetic demo only" in (DEMO / "demo_pseudonymisation_key.txt").read_text().lower()


def test_demo_is_small_and_in_realistic_formats():
    size = sum(f.stat().st_size for f in DEMO.rglob("*") if f.is_file())
    assert size < 20e6
    police = sorted((DEMO / "police").glob("*.csv.gz"))
    assert len(police) == 6
    header = gzip.open(police[-1], "rt").readline().strip().split(",")
    assert "Crime Reference" in header and "record_id" not in header  # not sna's canonical names
    # the header changed between extracts: the offence code column was renamed
    assert "HO Class Code" in gzip.open(police[0], "rt").readline()
    assert (DEMO / "interventions" / "participants_2019-2022.xlsx").exists()
    imd = gzip.decompress((DEMO / "imd" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz").read_bytes())
    assert imd.startswith(b"\xef\xbb\xbf") and b'"' in imd  # published format: BOM, "29,199"


def test_validate_json_with_no_config(demo, workdir, capsys):
    from sna.cli import main

    assert main(["validate", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["synthetic"] is True
    assert set(out["sources"]) == {"police", "ambulance", "ecds", "interventions"}
    for name, s in out["sources"].items():
        assert s["rows_read"] == s["rows_kept"] + sum(s["set_aside"].values()), name
        assert s["rows_kept"] > 0 and s["missing_months"] == []
    for name in ("police", "ambulance", "ecds"):
        months = out["sources"][name]["months"]
        assert len(months) == 72 and months[0] == "2016-04" and months[-1] == "2022-03"
    assert out["geography"]["lsoas"] == 679
    assert set(out["geography"]["partnerships"]) == {"Nottingham City", "Nottinghamshire County"}
    assert out["sources"]["police"]["set_aside"].keys() == {"no_location", "out_of_area"}
    assert out["sources"]["interventions"]["set_aside"] == {"bad_age": 1, "no_date": 2}


def _change(police: pd.DataFrame, mask: pd.Series) -> float:
    by = police.loc[mask, "fy"].astype(str).value_counts()
    base = np.mean([by.get(y, 0) for y in ("2017/18", "2018/19", "2019/20")])
    return by.get("2020/21", 0) / base - 1


def test_table_a_of_the_board_report(demo):
    inc = demo.incidents
    p = inc[inc["source"] == "police"]
    cat = p["category"].astype(str)
    knife = p["knife"].astype("boolean").fillna(False).astype(bool)
    got = {
        "serious violence": _change(p, p["serious_violence"].astype(bool)),
        "violence against the person": _change(p, cat == "Violence against the person"),
        "knife-enabled robbery": _change(p, (cat == "Robbery") & knife),
        "sexual offences": _change(p, cat == "Sexual offences"),
        "knife possession": _change(p, (cat == "Possession of weapons") & knife),
        "knife crime": _change(p, knife),
    }
    want = {"serious violence": -0.37, "violence against the person": -0.28, "knife-enabled robbery": -0.38,
            "sexual offences": -0.28, "knife possession": -0.04, "knife crime": -0.13}
    for k in want:
        assert abs(got[k] - want[k]) <= 0.03, (k, got[k])


def test_patterns_built_into_the_records(demo):
    inc = demo.incidents
    p = inc[inc["source"] == "police"]
    assert str(demo.year) == "2020/21" and demo.synthetic
    # summer peak, lockdown dip (April 2020 against April 2019)
    by_month = p.groupby(p["month"].dt.month).size()
    assert by_month[7] > by_month[1] * 1.15
    apr = p[p["month"].isin(pd.to_datetime(["2019-04-01", "2020-04-01"]))].groupby("month").size()
    assert apr.iloc[1] < 0.8 * apr.iloc[0]
    # precision actually known: a mix of minute, day and month
    assert set(p["date_precision"].astype(str)) == {"minute", "day", "month"}
    assert (p["date_precision"] == "minute").mean() > 0.6
    # night-time economy: Friday and Saturday nights
    nte = p[(p["subcategory"] == "Violence with injury") & (p["domestic"] == False)  # noqa: E712
            & (p["date_precision"] == "minute")]
    when = nte["date"]
    sat_night = ((when.dt.day_of_week == 5) & (when.dt.hour < 4)).mean()
    tue_night = ((when.dt.day_of_week == 1) & (when.dt.hour < 4)).mean()
    assert sat_night > 2 * tue_night
    # victims of non-domestic violence peak at 16-24
    ages = p.loc[p["category"].isin(["Violence against the person", "Robbery"]) & (p["domestic"] == False),  # noqa: E712
                 "age"].dropna().astype(int)
    assert 16 <= ages.mode().iloc[0] <= 24
    # ambulance call-outs: three quarters between 18:00 and 06:00
    amb = inc[inc["source"] == "ambulance"]
    h = amb["date"].dt.hour
    assert 0.70 <= ((h >= 18) | (h < 6)).mean() <= 0.80
    # every district has police records
    assert p["district"].nunique() == 8 and p["partnership"].nunique() == 2


def test_about_a_third_of_ae_assaults_known_to_police(demo):
    from sna.io.health import link_to_police

    inc = demo.incidents
    ed = inc[inc["source"] == "ecds"]
    linked = link_to_police(ed, inc[inc["source"] == "police"])
    share = linked.dropna().mean()
    assert 0.28 <= share <= 0.40
    assert linked.isna().mean() < 0.5


def test_interventions_of_the_board_report(demo):
    p = demo.participants
    iv = demo.interventions
    p20 = p[p["fy"] == "2020/21"]
    assert len(p20) == 1547 and p20["person_id"].nunique() == 1547
    assert p20["age"].between(5, 25).all()
    assert set(p20["level"]) == {"universal", "secondary", "tertiary"}
    iv20 = iv[iv["fy"] == "2020/21"]
    assert len(iv20) == 28 and iv20["intervention"].nunique() == 28
    assert set(p20["intervention"]) <= set(iv20["intervention"])
    assert iv20["cost"].sum() <= 880_000
    custody = iv[(iv["fy"] == "2021/22") & iv["funding_stream"].str.contains("custody", case=False)]
    assert len(custody) == 2 and custody["cost"].sum() == 675_996
    # weaker reach in the County than in the City, per young person aged 5-25
    pop = demo.population.merge(demo.geography[["lsoa", "partnership"]], on="lsoa")
    young = pop[pop["age"].between(5, 25)].groupby("partnership")["population"].sum()
    reached = p20.groupby("partnership").size()
    rate = reached / young
    assert rate["Nottingham City"] > 2 * rate["Nottinghamshire County"]
    # other years smaller
    assert (p["fy"] == "2019/20").sum() < 1547


def _raw_identifiers() -> list[str]:
    ids: list[str] = []
    police = pd.read_csv(sorted((DEMO / "police").glob("*.csv.gz"))[-1], dtype=str, nrows=200)
    for col in ("Crime Reference", "Victim Nominal", "Suspect Nominal"):
        ids += police[col].dropna().head(20).tolist()
    amb = pd.read_csv(next((DEMO / "ambulance").glob("*.csv.gz")), dtype=str, nrows=50)
    ids += amb["Incident Number"].head(20).tolist()
    for f in sorted((DEMO / "ecds").glob("*.csv.gz")):
        ed = pd.read_csv(f, dtype=str, nrows=20)
        ids += ed["Attendance ID"].tolist()
        ids += ed["NHS Number"].tolist() + ed["NHS Number"].str.replace(" ", "").tolist()
    parts = pd.read_excel(DEMO / "interventions" / "participants_2019-2022.xlsx", dtype=str, nrows=50)
    ids += parts["Participant ID"].tolist()
    return sorted(set(ids))


def test_no_raw_identifier_in_outputs_or_cache(demo, workdir):
    ids = _raw_identifiers()
    assert len(ids) > 150
    files = [f for f in Path(workdir).rglob("*") if f.is_file()]
    assert any(f.suffix == ".parquet" for f in files)
    blobs = []
    for f in files:
        if f.suffix == ".parquet":
            df = pd.read_parquet(f)
            blobs.append(df[[c for c in df.columns if c != "geometry"]].astype(str).to_csv())
        else:
            blobs.append(f.read_bytes().decode("utf-8", "replace"))
    blob = "\n".join(blobs)
    found = [i for i in ids if i in blob]
    assert not found
    # and in memory: pseudonyms only
    inc = demo.incidents
    assert inc["record_id"].astype(str).str.fullmatch(r"[0-9a-f]{16}").all()
    assert not set(ids) & set(demo.quarantine["record"].astype(str))


def test_generator_counts_give_table_a_exactly():
    spec = importlib.util.spec_from_file_location("make_demo", ROOT / "scripts" / "make_demo.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    counts = mod.police_counts()

    def change(cells):
        total = {y: sum(counts[c][y] for c in cells) for y in mod.FY_STARTS}
        return total[2020] / np.mean([total[y] for y in (2017, 2018, 2019)]) - 1

    sv = [c for c in counts if c[0] in mod.SV_CELLS]
    assert abs(change(sv) - mod.TABLE_A["Overall serious violence"]) < 0.001
    assert abs(change([c for c in counts if c[0] in ("VWI", "VWOI")]) + 0.28) < 0.001
    assert abs(change([c for c in counts if c[1] is True]) + 0.13) < 0.001
    # serious violence falls more than violence against the person: with injury falls most
    vwi = change([c for c in counts if c[0] == "VWI"])
    vwoi = change([c for c in counts if c[0] == "VWOI"])
    assert vwi < -0.37 < -0.28 < vwoi
