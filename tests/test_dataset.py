"""Results-only loads (sna.load_dataset): the incidents and the quarantine stay as a Parquet
dataset written by the tasks, and the tables that come back are the pandas engine's."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import sna
from sna.config import load_config
from sna.dataset import LSOA_BY, MONTHLY_BY, load_dataset
from sna.engine import aggregate
from sna.errors import SnaError

#: The bundled sample: 24,988 rows read, 24,123 kept (see sna.io.police_uk.clean_police_uk).
READ, KEPT, SET_ASIDE = 24_988, 24_123, {"no_location": 616, "out_of_area": 249}


def _config(tmp_path, src=None, **engine):
    from sna.datasets import nottingham_sample_config

    cfg = load_config(src or nottingham_sample_config())
    return cfg.model_copy(update={"cache": str(tmp_path / "cache"),
                                  "engine": cfg.engine.model_copy(update=engine)})


def _groups(frame: pd.DataFrame, by, count="n") -> dict:
    """{key tuple: count}, missing keys as None: a plain comparison, whatever the dtypes."""
    keys = frame[list(by)].astype(object).where(frame[list(by)].notna(), None)
    return dict(zip(map(tuple, keys.to_numpy().tolist()), frame[count].tolist()))


def _by_hand(incidents: pd.DataFrame, by) -> dict:
    g = incidents.groupby(list(by), dropna=False, observed=True).size()
    g = g[g > 0].rename("n").reset_index()
    return _groups(g, by)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dataset")
    cfg = _config(tmp)
    return sna.load_assessment(cfg, use_cache=False), load_dataset(cfg, engine="pandas"), cfg


def test_the_quality_log_is_the_pandas_engines_and_adds_up(sample):
    a, ds, _ = sample
    q = ds.quality.sources["police"]
    assert (q.rows_read, q.rows_kept, q.set_aside) == (READ, KEPT, SET_ASIDE)
    assert q.rows_kept + q.rows_set_aside == q.rows_read
    assert ds.quality.to_dict() == a.quality.to_dict()
    assert ds.rows_kept == KEPT and str(ds.year) == str(a.year) == "2018/19"


@pytest.mark.parametrize("table, by", [("monthly", MONTHLY_BY), ("lsoa_counts", LSOA_BY)])
def test_the_counts_are_the_incidents_counted(sample, table, by):
    a, ds, _ = sample
    got = getattr(ds, table)
    assert list(got.columns) == [*by, "n"]
    assert int(got["n"].sum()) == KEPT
    assert _groups(got, by) == _by_hand(a.incidents, by)
    assert got[list(by)].equals(got[list(by)].sort_values(list(by)))  # sorted by the keys


def test_counts_over_the_dataset_are_the_aggregate(sample):
    a, ds, _ = sample
    pd.testing.assert_frame_equal(ds.counts(), aggregate(a.incidents))
    by = ["partnership", "fy"]
    pd.testing.assert_frame_equal(ds.counts(by), aggregate(a.incidents, by))


def test_the_dataset_holds_the_incidents_and_quarantine_by_file(sample):
    a, ds, _ = sample
    files = ds.files("incidents")
    assert [f.parent for f in files] == [ds.path / "incidents" / "police"] * 5
    assert files[0].name == "00000-2018-10-nottinghamshire-street.parquet"
    pd.testing.assert_frame_equal(ds.read_incidents(), a.incidents)
    key = ["file", "line"]
    pd.testing.assert_frame_equal(
        ds.read_quarantine().sort_values(key).reset_index(drop=True),
        a.quarantine.sort_values(key).reset_index(drop=True))
    jan = ds.read_incidents(columns=["month", "lsoa"], filters=[("month", "==", pd.Timestamp("2019-01-01"))])
    assert len(jan) == int((a.incidents["month"] == "2019-01-01").sum()) > 0
    with pytest.raises(SnaError, match="incidents or quarantine"):
        ds.files("population")


def test_a_second_load_reuses_the_dataset(sample):
    _, ds, cfg = sample
    meta = ds.path / "meta.json"
    stamp = meta.stat().st_mtime_ns
    again = load_dataset(cfg, engine="pandas")
    assert again.path == ds.path and meta.stat().st_mtime_ns == stamp
    assert again.quality.to_dict() == ds.quality.to_dict()
    pd.testing.assert_frame_equal(again.monthly, ds.monthly)
    pd.testing.assert_frame_equal(again.lsoa_counts, ds.lsoa_counts)


def test_a_partial_dataset_is_written_again(tmp_path):
    cfg = _config(tmp_path)
    ds = load_dataset(cfg, engine="pandas")
    (ds.path / "meta.json").unlink()  # as when a run was stopped before its end
    stray = ds.path / "incidents" / "police" / "99999-stray.parquet"
    shutil.copy(ds.files()[0], stray)
    again = load_dataset(cfg, engine="pandas")
    assert not stray.exists() and (again.path / "meta.json").is_file()
    assert len(again.files()) == 5 and again.rows_kept == KEPT


def test_the_configured_folder_is_where_the_dataset_is_written(tmp_path):
    cfg = _config(tmp_path, dataset=str(tmp_path / "shared"))
    ds = load_dataset(cfg, engine="pandas")
    assert ds.path.parent == tmp_path / "shared"
    assert len(ds.files("quarantine")) == 5


def test_a_bad_file_stops_the_load_naming_it_and_leaves_no_whole_dataset(tmp_path):
    from sna.datasets import nottingham_sample_config

    src = load_config(nottingham_sample_config())
    police = tmp_path / "police"
    shutil.copytree(src.resolve(src.sources["police"].path), police)
    bad = police / "2018-12" / "2018-12-nottinghamshire-street.csv"
    lines = bad.read_bytes().split(b"\n")
    lines[10] = lines[10][:40]  # a row cut short
    bad.write_bytes(b"\n".join(lines))
    cfg = _config(tmp_path).model_copy(update={"sources": {"police": src.sources["police"].model_copy(
        update={"path": str(police)})}})
    with pytest.raises(SnaError) as err:
        load_dataset(cfg, engine="pandas")
    assert err.value.file is not None and "2018-12-nottinghamshire-street.csv" in str(err.value.file)
    assert err.value.line == 11
    assert not list((tmp_path / "cache" / "dataset").glob("*/meta.json"))


@pytest.mark.slow
def test_dask_workers_write_the_dataset_and_send_back_the_same_tables(sample, tmp_path):
    from dask.distributed import Client, LocalCluster

    a, ds, _ = sample
    cfg = _config(tmp_path, name="dask")
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="400MB",
                      host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster) as client:
        dd = load_dataset(cfg, engine=client)
        counts = dd.counts(engine=client)
    assert dd.quality.to_dict() == a.quality.to_dict()
    pd.testing.assert_frame_equal(dd.monthly, ds.monthly)
    pd.testing.assert_frame_equal(dd.lsoa_counts, ds.lsoa_counts)
    pd.testing.assert_frame_equal(counts, aggregate(a.incidents))
    pd.testing.assert_frame_equal(dd.read_incidents(), a.incidents)


@pytest.mark.slow
def test_the_demo_gives_the_assessments_tables_and_table_a(tmp_path):
    """The demo: a force extract, ambulance and A&E sources (cleaned in this process) and
    interventions; Table A from the monthly counts is the Table A of the incidents."""
    from sna.datasets import demo_config
    from sna.trend import table_a

    cfg = _config(tmp_path, demo_config())
    a = sna.load_assessment(cfg, use_cache=False)
    ds = load_dataset(cfg, engine="pandas")
    assert ds.quality.to_dict() == a.quality.to_dict()
    assert ds.synthetic and "SYNTHETIC" in repr(ds)
    pd.testing.assert_frame_equal(ds.read_incidents(), a.incidents)
    assert _groups(ds.monthly, MONTHLY_BY) == _by_hand(a.incidents, MONTHLY_BY)
    pd.testing.assert_frame_equal(ds.participants, a.participants)
    pd.testing.assert_frame_equal(ds.interventions, a.interventions)
    want = table_a(a)
    got = table_a(ds)
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs == want.attrs and len(got) > 1
