"""The demo switched to 2021 LSOAs (sna/datasets/demo/sna-lsoa21.yml) runs every chapter, and no
LSOA loses its population or its deprivation decile (a slow test: it runs in `make test`/CI)."""

from __future__ import annotations

import pandas as pd
import pytest

from sna import report
from sna.datasets import demo_config

DEMO21 = demo_config().parent / "sna-lsoa21.yml"


@pytest.fixture(scope="module")
def run21(tmp_path_factory):
    return report.run(DEMO21, output=tmp_path_factory.mktemp("demo21"), jobs=2, progress=False)


def table(out, name: str) -> pd.DataFrame:
    found = sorted((out / "tables").glob(f"*{name}.csv"))
    assert found, f"no table {name} in {out / 'tables'}"
    return pd.read_csv(found[0], dtype={"lsoa": str})


@pytest.mark.slow
def test_every_chapter_runs_on_2021_lsoas(run21):
    assert run21.exit_code == 0, [c.summary() for c in run21.failed]
    assert [c.name for c in run21.chapters] == list(report.CHAPTERS)
    out = run21.output_dir
    rates = table(out, "lsoa_rates")
    assert len(rates) == 684 and rates["lsoa"].is_unique
    assert rates["population"].notna().all() and (rates["population"] > 0).all()
    assert rates["imd_decile"].notna().all()
    assert rates["population"].sum() == pytest.approx(1170475)
    # the 2021 LSOAs made by merging and splitting 2011 LSOAs are there, with people
    new = rates.set_index("lsoa").loc[["E01035507", "E01035501", "E01035502"]]
    assert (new["population"] > 0).all()
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "684" in page and "IoD 2025 decile" in page
    # the methods table says how the 2011 estimates were put on 2021 LSOAs, and which year each uses
    methods = table(out, "methods")
    assert {"Population on 2021 LSOAs", "Deprivation", "Records on the other LSOA vintage"} <= set(methods.method)
    years = table(out, "population_years").set_index("financial year")["mid-year estimate used"]
    assert years.to_dict() == {"2017/18": 2017, "2018/19": 2019, "2019/20": 2019, "2020/21": 2020}
    wards = table(out, "ward_rates")
    assert len(wards) == 187 and wards["population"].sum() == pytest.approx(1170475)


@pytest.mark.slow
def test_chapter_4_of_the_demo_has_a_ward_table_and_map(demo_run):
    out = demo_run.output_dir
    wards = table(out, "ward_rates")
    assert list(wards.columns[:8]) == ["ward name", "district", "population", "offences", "rate_per_1000",
                                       "lowercl", "uppercl", "compared with the area"]
    assert len(wards) == 187 and wards["ward name"].notna().all() and wards["offences"].is_monotonic_decreasing
    lsoas = table(out, "lsoa_rates")
    assert wards["offences"].sum() == lsoas["n"].sum()  # every offence placed in an LSOA is in a ward
    assert wards["population"].sum() == pytest.approx(lsoas["population"].sum())
    assert sorted(p.name for p in (out / "figures").glob("04_*ward_rate_map.png"))
    assert list((out / "maps").glob("*ward_serious_violence.gpkg"))
    page = (out / "report.html").read_text(encoding="utf-8")
    top = wards.iloc[0]
    assert f"the most offences were recorded in {top['ward name']}" in page.replace("&#x27;", "'")


@pytest.mark.slow
def test_hot_spots_on_wards(tmp_path):
    import shutil

    import geopandas as gpd

    from sna.datasets import nottingham_sample_config

    sample = shutil.copytree(nottingham_sample_config().parent, tmp_path / "sample")
    yml = sample / "sna.yml"
    yml.write_text(yml.read_text(encoding="utf-8").replace("geography:\n", "geography:\n  level: ward\n"),
                   encoding="utf-8")
    res = report.run(yml, chapters="04", output=tmp_path / "out", jobs=1, progress=False)
    assert res.exit_code == 0, [c.summary() for c in res.failed]
    page = (res.output_dir / "report.html").read_text(encoding="utf-8")
    assert "hot and cold spots of serious violence by ward" in page and "across the 20 wards" in page
    layer = gpd.read_file(next((res.output_dir / "maps").glob("*ward_hot_spots.gpkg")))
    assert len(layer) == 20 and {"ward", "gistar", "hotspot", "cluster"} <= set(layer.columns)
