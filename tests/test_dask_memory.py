"""The Dask engine on workers whose memory limit is below the data's size: the run completes
with the pandas engine's figures (no timing checks: speed is in benchmarks/)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: 12 forces x 12 months x 14,000 rows = 2,016,000 rows, about 430 MB of CSV (SYNTHETIC)
FORCES, MONTHS, ROWS = 12, 12, 14_000
LIMIT = "400MB"


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import national

    root = tmp_path_factory.mktemp("dask-memory") / "street"
    national.generate(root, forces=FORCES, months=MONTHS, rows=ROWS)
    return root


@pytest.mark.slow
def test_dask_on_workers_smaller_than_the_data_gives_the_pandas_figures(national):
    from dask.distributed import Client, LocalCluster
    from dask.utils import parse_bytes

    import sna
    from sna.engine import aggregate
    from sna_ingest import national_config

    size = sum(f.stat().st_size for f in national.glob("*/*-street.csv"))
    assert size > parse_bytes(LIMIT)  # each worker may hold less than the files
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=LIMIT,
                      host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster) as client:
        limits = {w["memory_limit"] for w in client.scheduler_info()["workers"].values()}
        assert limits == {parse_bytes(LIMIT)}
        a = sna.load_assessment(national_config(national, engine="dask"), use_cache=False,
                                engine=client)
        counts = aggregate(a.incidents, engine=client)
    b = sna.load_assessment(national_config(national), use_cache=False)
    qa, qb = a.quality.sources["police"], b.quality.sources["police"]
    assert qa.rows_read == qb.rows_read == FORCES * MONTHS * ROWS
    assert (qa.rows_kept, qa.set_aside, qa.duplicate_rows) == (qb.rows_kept, qb.set_aside,
                                                               qb.duplicate_rows)
    assert qa.rows_kept + sum(qa.set_aside.values()) == qa.rows_read
    assert a.incidents.equals(b.incidents) and a.quarantine.equals(b.quarantine)
    want = aggregate(b.incidents)
    assert counts.equals(want) and int(counts["count"].sum()) == qb.rows_kept
