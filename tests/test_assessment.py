"""load_assessment: reads and cleans once, caches, chooses the year, exposes the tables."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import sna
from sna import assessment as assessment_mod
from sna.assessment import latest_complete_year, load_assessment
from sna.config import load_config
from sna.datasets import nottingham_sample_config
from sna.errors import AnalysisInputError, ConfigError
from sna.periods import FinancialYear

SAMPLE = nottingham_sample_config().parent
POLICE = Path(__file__).parent / "data" / "police_uk"


def sample_config(tmp_path: Path, **update):
    return load_config(nottingham_sample_config()).model_copy(
        update={"cache": str(tmp_path / "cache"), **update})


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return load_assessment(sample_config(tmp_path_factory.mktemp("a")))


def test_sample_assessment(sample):
    a = sample
    assert isinstance(a, sna.Assessment) and a.year == FinancialYear(2018)
    assert not a.synthetic and a.area == "Nottingham (sample)"
    assert len(a.incidents) == 24123 and len(a.quarantine) == 865
    assert len(a.geography) == 182 and a.geography.crs.to_epsg() == 27700
    assert a.population.population.sum() == 332900
    q = a.quality.sources["police"]
    assert (q.rows_read, q.rows_kept, q.set_aside) == (24988, 24123, {"no_location": 616, "out_of_area": 249})
    assert a.quality.geography["lsoas"] == 182
    assert a.participants.empty and a.interventions.empty
    assert len(a.source("police")) == 24123
    with pytest.raises(AnalysisInputError, match="police"):
        a.source("ambulance")
    assert len(a.in_year()) == 24123 and len(a.in_year("2017/18")) == 0
    assert "24,123 incidents" in repr(a)


def test_cache_is_written_and_reused(tmp_path, monkeypatch):
    cfg = sample_config(tmp_path)
    first = load_assessment(cfg)
    folder = first.cache_path
    assert folder == tmp_path / "cache" / first.cache_key
    assert sorted(p.name for p in folder.iterdir()) == [
        "geography.parquet", "incidents.parquet", "interventions.parquet", "meta.json",
        "participants.parquet", "population.parquet", "populations.parquet", "quality.json",
        "quarantine.parquet"]
    meta = json.loads((folder / "meta.json").read_text())
    assert {Path(i["path"]).name for i in meta["inputs"]} >= {"2018-10-nottinghamshire-street.csv", "E06000018.json"}

    def boom(*a, **k):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(assessment_mod, "_build", boom)
    second = load_assessment(cfg)
    assert second.cache_key == first.cache_key
    pd.testing.assert_frame_equal(second.incidents, first.incidents)
    pd.testing.assert_frame_equal(second.quarantine, first.quarantine)
    assert second.quality.to_dict() == first.quality.to_dict()
    assert list(second.geography.columns) == list(first.geography.columns)
    assert second.geography.attrs["sna"]["lsoa_vintage"] == 2011
    assert isinstance(second.incidents["lsoa"].dtype, pd.CategoricalDtype)
    # a different year reuses the same cache (2019/20 is outside the sample's months: the
    # cached data say so, without a rebuild)
    with pytest.raises(ConfigError, match="2019/20 .--year. is outside the data"):
        load_assessment(cfg, "2019/20")


def test_changed_input_or_config_changes_the_key(tmp_path):
    police = tmp_path / "police"
    shutil.copytree(POLICE, police)
    p = tmp_path / "sna.yml"
    p.write_text(
        "area: T\nyear: 2018/19\npartnerships:\n  City: [E06000018]\n"
        f"geography:\n  boundaries: {SAMPLE / 'boundaries'}\n"
        "sources:\n  police:\n    format: police_uk\n    path: police/\n"
        f"cache: {tmp_path / 'cache'}\n"
    )
    a = load_assessment(p)
    assert load_assessment(p).cache_key == a.cache_key
    f = police / "2019-01" / "2019-01-nottinghamshire-street.csv"
    lines = f.read_bytes().split(b"\n")
    f.write_bytes(b"\n".join(lines[:-2] + [b""]))  # one row fewer
    b = load_assessment(p)
    assert b.cache_key != a.cache_key and b.quality.sources["police"].rows_read == 46
    p.write_text(p.read_text().replace("area: T", "area: U"))
    assert load_assessment(p).cache_key != b.cache_key
    assert len(list((tmp_path / "cache").iterdir())) == 3


def test_use_cache_false_writes_nothing(tmp_path):
    a = load_assessment(sample_config(tmp_path), use_cache=False)
    assert a.cache_path is None and not (tmp_path / "cache").exists()
    assert len(a.incidents) == 24123


def test_damaged_cache_is_rebuilt(tmp_path):
    cfg = sample_config(tmp_path)
    a = load_assessment(cfg)
    (a.cache_path / "incidents.parquet").write_bytes(b"garbage")
    b = load_assessment(cfg)
    assert len(b.incidents) == 24123


def test_year_chosen_from_the_data(tmp_path):
    a = load_assessment(sample_config(tmp_path, year=None))
    # October 2018 - February 2019: no complete year; the latest month's year, with a note
    assert a.year == FinancialYear(2018) and "no financial year is complete" in a.notes[0]
    inc = pd.DataFrame({"month": pd.date_range("2016-04-01", "2018-06-01", freq="MS")})
    assert latest_complete_year(inc) == FinancialYear(2017)
    assert latest_complete_year(inc.iloc[:11]) is None


def test_progress_messages(tmp_path):
    seen = []
    load_assessment(sample_config(tmp_path), progress=seen.append)
    assert seen[0] == "reading the geography" and any("2019-02-nottinghamshire-street.csv (5/5)" in m for m in seen)
    seen.clear()
    load_assessment(sample_config(tmp_path), progress=seen.append)
    assert seen[0].startswith("using the cache")


def test_default_config_is_the_bundled_demo(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    calls = []

    def demo():
        calls.append(1)
        return nottingham_sample_config()  # stands in for the (larger) demo, to stay fast

    monkeypatch.setattr(sna.datasets, "demo_config", demo)
    a = load_assessment()
    assert calls and a.config.config_path == nottingham_sample_config()
    assert str(a.cache_path).startswith(str(tmp_path))  # bundled data caches under ./outputs


def test_changed_cleaning_code_changes_the_key(monkeypatch):
    cfg = load_config(nottingham_sample_config())
    inputs = [{"path": "x.csv", "sha256": "abc"}]
    before = assessment_mod.cache_key(cfg, inputs)
    assert assessment_mod.cache_key(cfg, inputs) == before  # stable
    monkeypatch.setattr(assessment_mod, "_CODE_FINGERPRINT", "edited-clean-py")
    assert assessment_mod.cache_key(cfg, inputs) != before


def test_cache_tables_read_once_per_process_and_copied(tmp_path, monkeypatch):
    # a warm chapter kernel loads the assessment once per chapter: the Parquet files of the
    # same unchanged folder are read once, and every load gets tables of its own
    cfg = sample_config(tmp_path)
    first = load_assessment(cfg)
    reads = []
    real = assessment_mod._read_tables
    monkeypatch.setattr(assessment_mod, "_read_tables",
                        lambda folder, meta: reads.append(folder) or real(folder, meta))
    monkeypatch.setattr(assessment_mod, "_last_read", assessment_mod._LastRead())
    a, b = load_assessment(cfg), load_assessment(cfg)
    assert reads == [first.cache_path]
    pd.testing.assert_frame_equal(a.incidents, first.incidents)
    assert a.quality.to_dict() == first.quality.to_dict()
    assert a.incidents is not b.incidents and a.quality is not b.quality
    a.incidents["lsoa"] = None  # one chapter's change is not the next one's
    a.incidents.drop(a.incidents.index[:10], inplace=True)
    a.geography["population"] = 0
    a.quality.sources["police"].months.clear()
    a.population.attrs["sna"]["x"] = 1
    c = load_assessment(cfg)
    assert reads == [first.cache_path]
    pd.testing.assert_frame_equal(c.incidents, first.incidents)
    pd.testing.assert_frame_equal(c.geography, first.geography)
    assert c.quality.to_dict() == first.quality.to_dict()
    assert "x" not in c.population.attrs["sna"]
    # a cache file that changed is checked against its hash as before: never served from memory
    (first.cache_path / "quarantine.parquet").write_bytes(b"garbage")
    d = load_assessment(cfg)
    assert any("could not be used" in n for n in d.notes) and len(d.incidents) == 24123
    assert reads == [first.cache_path]  # rebuilt from the input files, not read
    # files whose hashes are not those of the tables held are read again
    assessment_mod._last_read.files = {"incidents.parquet": "0" * 64}
    e = load_assessment(cfg)
    assert reads == [first.cache_path, first.cache_path]
    pd.testing.assert_frame_equal(e.incidents, first.incidents)
