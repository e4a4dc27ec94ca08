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
    assert "684" in page
