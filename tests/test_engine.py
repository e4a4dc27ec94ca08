"""sna.engine and sna.io.police_uk: the per-file ingest (pandas threads or a Dask cluster) gives the same tables as
the general cleaning path, and the Dask engine gives the same tables as the pandas engine."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sna import engine as eng
from sna.clean import concat_incidents
from sna.config import load_config
from sna.datasets import nottingham_sample_config
from sna.errors import ConfigError, InputFormatError
from sna.io.geography import load_geography
from sna.io.police_uk import _clean as puk
from sna.io.police_uk import clean_police_uk, read_police_uk

REPO = Path(__file__).resolve().parents[1]
SAMPLE = nottingham_sample_config().parent


def _national():
    spec = importlib.util.spec_from_file_location("bench_national", REPO / "benchmarks" / "national.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _edit(lines: list[bytes], i: int, col: int, value: str) -> None:
    row = next(csv.reader([lines[i].decode()]))
    row[col] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    lines[i] = out.getvalue().encode()


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    """A small SYNTHETIC multi-force set (3 forces x 2 months) in the data.police.uk layout,
    with the real quirks planted, and a synthetic geography of part of the forces' LSOAs."""
    import geopandas as gpd
    import shapely

    nat = _national()
    root = tmp_path_factory.mktemp("multi")
    police = root / "police"
    nat.generate(police, forces=3, months=2, rows=400, seed=7)
    f = sorted(police.glob("*/*.csv"))[0]
    lines = f.read_bytes().split(b"\n")
    pip_code = next(csv.reader([lines[5].decode()]))[7]
    _edit(lines, 5, 7, "")               # LSOA code blank, coordinates kept: point in polygon
    _edit(lines, 6, 7, " ")              # a blank code with a space
    _edit(lines, 7, 1, "2023-13")        # bad month
    _edit(lines, 8, 9, "Knife crime")    # unknown crime type
    _edit(lines, 9, 4, "0")              # zeroed coordinates and no code: no location
    _edit(lines, 9, 5, "0")
    _edit(lines, 9, 7, "")
    _edit(lines, 10, 7, " " + next(csv.reader([lines[10].decode()]))[7] + " ")  # padded code
    _edit(lines, 12, 1, "")              # blank month
    _edit(lines, 13, 9, "violence and sexual offences")  # crime type in other case
    _edit(lines, 14, 6, 'On or near "The Mall" / "Arcade"')  # quotes and a slash in a record
    lines.insert(20, lines[19])          # byte-identical rows: real records, kept
    lines.insert(30, lines[25])
    f.write_bytes(b"\n".join(lines))
    geo = nat.geography_frame()
    used, first_force = set(), set()
    for p in police.glob("*/*.csv"):
        codes = set(pd.read_csv(p, usecols=["LSOA code"])["LSOA code"].dropna().str.strip())
        used |= codes
        if p.name.endswith(f.name[7:]):
            first_force |= codes
    # the area: most districts of the first force (the other forces are out of the area)
    districts = sorted(geo.loc[geo["lsoa"].isin(first_force), "district"].unique())
    pip_district = geo.loc[geo["lsoa"] == pip_code, "district"].iloc[0]
    keep = sorted({pip_district} | set(districts[: max(2, 3 * len(districts) // 4)]))
    sub = geo[geo["district"].isin(keep) | geo["lsoa"].isin(used)]
    x0, y0 = sub["x0"].to_numpy(), sub["y0"].to_numpy()
    gpd.GeoDataFrame({"LSOA11CD": sub["lsoa"].to_numpy()},
                     geometry=shapely.box(x0, y0, x0 + nat.CELL, y0 + nat.CELL), crs=27700,
                     ).to_parquet(root / "lsoas.parquet")
    cfg = {
        "area": "Test (SYNTHETIC)", "synthetic": True,
        "partnerships": {"North": keep[: len(keep) // 2], "South": keep[len(keep) // 2:]},
        "geography": {"boundaries": str(root / "lsoas.parquet")},
        "sources": {"police": {"format": "police_uk", "path": str(police)}},
        "cache": str(root / "cache"),
    }
    return load_config(cfg)


def _general(cfg):
    """The reference: every row through the general path (place, finish_source)."""
    geo, _ = load_geography(cfg)
    raw = read_police_uk(cfg.resolve_many(cfg.sources["police"].path))
    res = puk._clean_rest(raw, "police", cfg, geo, cfg.geography.lsoa_best_fit)
    return res, geo


def _sorted_categories(inc: pd.DataFrame) -> pd.DataFrame:
    inc = inc.copy()
    for c in inc.columns:
        if isinstance(inc[c].dtype, pd.CategoricalDtype):
            inc[c] = inc[c].cat.set_categories(pd.Index(sorted(inc[c].cat.categories.astype(str)), dtype="str"))
    return inc


def assert_same(a, b) -> None:
    """Two CleanedSource results hold the same tables, exactly."""
    pd.testing.assert_frame_equal(a.incidents, b.incidents, check_exact=True)
    pd.testing.assert_frame_equal(a.quarantine, b.quarantine, check_exact=True)
    assert a.quality.to_dict() == b.quality.to_dict()


# ---- the per-file path equals the general path --------------------------------------------
@pytest.mark.parametrize("which", ["sample", "multi"])
def test_per_file_ingest_equals_the_general_path(which, multi):
    cfg = load_config(nottingham_sample_config()) if which == "sample" else multi
    ref, geo = _general(cfg)
    got = clean_police_uk("police", cfg.sources["police"], cfg, geo, engine="pandas")
    pd.testing.assert_frame_equal(got.incidents, _sorted_categories(ref.incidents), check_exact=True)
    pd.testing.assert_frame_equal(got.quarantine, ref.quarantine, check_exact=True)
    q, r = got.quality, ref.quality
    assert (q.rows_read, q.rows_kept, q.set_aside) == (r.rows_read, r.rows_kept, r.set_aside)
    assert q.rows_read == q.rows_kept + q.rows_set_aside
    assert q.duplicate_rows == r.duplicate_rows


def test_multi_force_quirks(multi):
    geo, _ = load_geography(multi)
    res = clean_police_uk("police", multi.sources["police"], multi, geo)
    q, inc, qa = res.quality, res.incidents, res.quarantine
    assert q.rows_read == 3 * 2 * 400 + 2 and len(q.files) == 6
    assert {"bad_month", "unknown_category", "no_location", "out_of_area"} <= set(q.set_aside)
    assert q.set_aside["bad_month"] == 2 and q.set_aside["unknown_category"] == 1
    assert q.duplicate_rows >= 2  # the two planted copies (and the generator's own)
    first = str(sorted(Path(multi.sources["police"].path).glob("*/*.csv"))[0])
    by_line = qa[qa.file == first].set_index("line")
    assert by_line.loc[8, "detail"] == "Month 2023-13" and by_line.loc[13, "detail"] == "Month (blank)"
    assert by_line.loc[9, "detail"] == "Crime type Knife crime"
    rec = json.loads(by_line.loc[9, "record"])
    assert rec["Crime type"] == "Knife crime" and set(rec) >= {"Crime ID", "Longitude", "LSOA name"}
    # the row with coordinates but no code was placed by its point, in file and line order
    mine = inc[inc.file == first]
    assert mine.line.is_monotonic_increasing and 6 in set(mine.line)
    assert mine.loc[mine.line == 6, "lsoa"].notna().all()
    assert inc.category.isin(["Violence and sexual offences"]).any()
    # categories are sorted and only the values present
    for c in ("lsoa", "district", "partnership", "category", "crime_type", "file", "fy"):
        cats = list(inc[c].cat.categories)
        assert cats == sorted(cats) and set(cats) == set(inc[c].dropna().astype(str)), c
    assert set(inc.partnership.astype(str)) <= {"North", "South"}


def test_threads_do_not_change_results(multi):
    geo, _ = load_geography(multi)
    one = multi.model_copy(update={"engine": multi.engine.model_copy(update={"workers": 1})})
    four = multi.model_copy(update={"engine": multi.engine.model_copy(update={"workers": 4})})
    assert_same(clean_police_uk("police", one.sources["police"], one, geo),
                clean_police_uk("police", four.sources["police"], four, geo))


def test_json_records_equal_pandas_writer(tmp_path):
    """Quarantine JSON written with Arrow equals pandas' to_json, including the fallback."""
    from sna.clean import records_json
    from sna.io._files import InputFile
    from sna.io.police_uk._read import raw_frame, read_file

    header = (SAMPLE / "police" / "2018-10" / "2018-10-nottinghamshire-street.csv"
              ).read_bytes().split(b"\n", 1)[0].decode()
    rows = [
        'a/b,2019-01,"Force ""X""",B\\C,0,0,"On or near é / 中",E01,n,Robbery,,',
        ",2019-01,F,F,-0.0,5,L,E01,n,Drugs,,",
        "id,2019-01,F,F,12.000001,53.12345678,,,,Drugs,Under investigation,",
        "id,2019-01,F,F,1e-7,5.5,L,E01,n,Drugs,,",  # exponent: pandas writes it
        'id,2019-01,F,F,1,2,"tab\there",E01,n,Drugs,,',  # control character: pandas writes it
    ]
    for i, r in enumerate(rows):
        p = tmp_path / f"2019-01-f{i}-street.csv"
        p.write_text(header + "\n" + r + "\n" + r + "\n", encoding="utf-8")
        t = puk.encode_street_text(read_file(InputFile(str(p), p), dictionary=())[0])
        raw = raw_frame([t.select(t.column_names)], [], "street")
        want = records_json(raw[[c for c in raw.columns if c not in ("file", "line")]]).tolist()
        assert puk._with_records(t)["_record"].to_pylist() == want
        fast = puk._records_arrow(t)
        assert (fast is None) == (i >= 3), i
        if fast is not None:
            assert fast.to_pylist() == want


def test_set_aside_rows_of_many_files_parsed_and_written_together(tmp_path, caplog):
    """The rows several files leave to the shared path, parsed in one run and their JSON
    written once, equal each file's rows parsed and written alone: values only pandas writes
    (an exponent, a control character) are written file by file, and a run holding a
    non-numeric coordinate is parsed file by file (the value unknown)."""
    import pyarrow as pa

    from sna.io._files import InputFile
    from sna.io.police_uk._read import RawLines, parse_raw_lines, read_street_split

    header = (SAMPLE / "police" / "2018-10" / "2018-10-nottinghamshire-street.csv"
              ).read_bytes().split(b"\n", 1)[0].decode()
    plain = "k,2019-01,F,F,-1.1,52.9,L,E01013810,n,Drugs,,"
    rows = [
        'a/b,2019-01,"Force ""X""",B\\C,0,0,"On or near é / 中",E01,n,Robbery,,',
        ",2019-01,F,F,-0.0,5,L,,n,Drugs,,",
        "id,2019-01,F,F,1e-7,5.5,L,E01,n,Drugs,,",  # exponent: pandas writes it
        'id,2019-01,F,F,1,2,"tab\there",E01,n,Drugs,,',  # control character: pandas writes it
        "id,2019-01,F,F,abc,5.5,L,E01,n,Drugs,,",  # not a number: read as unknown
    ]
    items = []
    for i, r in enumerate(rows):
        p = tmp_path / f"2019-01-f{i}-street.csv"
        p.write_text(f"{header}\n{plain}\n{r}\n{plain}\n{r}\n", encoding="utf-8")
        _, lines, _, raw_rows = read_street_split(InputFile(str(p), p), puk._task_types())
        items.append(raw_rows(np.array([False, True, False, True])))
    assert all(isinstance(it, RawLines) for it in items)
    assert items[0].lines.tolist() == [3, 5]
    alone = [puk._with_records(parse_raw_lines([it])[0]) for it in items]

    def values(column):
        return ["nan" if isinstance(v, float) and np.isnan(v) else v for v in column.to_pylist()]

    def same(tables, want):
        got = pa.concat_tables(tables)
        assert got.column_names == want[0].column_names
        for c in got.column_names:
            assert values(got[c]) == [v for t in want for v in values(t[c])], c

    run = parse_raw_lines(items[:4])  # one parse for four files
    assert len(run) == 1 and run[0]["file"].to_pylist() == [str(tmp_path / f"2019-01-f{i}-street.csv")
                                                            for i in range(4) for _ in (0, 1)]
    assert puk._records_arrow(run[0]) is None  # (files 2 and 3 need pandas)
    same([puk._with_records(run[0])], alone[:4])
    same([puk._with_records(run[0].slice(0, 4))], alone[:2])  # Arrow writes these two
    caplog.clear()
    mixed = parse_raw_lines(items)  # the non-numeric value: file by file
    assert len(mixed) == 5 and not caplog.records
    assert np.isnan(mixed[4]["Longitude"].to_numpy()).all()
    same([puk._with_records(t) for t in mixed], alone)
    # a table (most of a file set aside) passes through, between runs
    assert parse_raw_lines([items[0], alone[1], items[2]])[1] is alone[1]


# ---- aggregate ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_incidents():
    cfg = load_config(nottingham_sample_config())
    geo, _ = load_geography(cfg)
    return clean_police_uk("police", cfg.sources["police"], cfg, geo).incidents


@pytest.mark.parametrize("by", [["lsoa", "month", "category"], ["month"], ["district", "fy", "serious_violence"],
                                ["record_id"], ["lsoa", "x"]])
def test_aggregate_equals_groupby(sample_incidents, by):
    inc = sample_incidents.copy()
    inc.loc[:49, "lsoa"] = np.nan  # missing keys are not counted
    inc.loc[20:79, "month"] = pd.NaT
    got = eng.aggregate(inc, by)
    assert got.attrs["sna"]["engine"] == "pandas"
    want = inc.groupby(by, observed=True, sort=True, dropna=True).size().rename("count").reset_index()
    want["count"] = want["count"].astype("int64")
    got.attrs = {}
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_aggregate_in_chunks_equals_groupby(monkeypatch):
    """Keys counted a chunk at a time (chunks as small as the key space) add up to groupby's."""
    rng = np.random.default_rng(0)
    inc = pd.DataFrame({"lsoa": pd.Categorical(rng.choice(["A", "B", "C", None], 1000)),
                        "category": pd.Categorical(rng.choice(["x", "y"], 1000))})
    want = inc.groupby(["lsoa", "category"], observed=True, sort=True).size()
    want = want.rename("count").reset_index()
    want["count"] = want["count"].astype("int64")
    for chunk in (1, 1 << 20):  # six keys: chunks of 6 rows; one chunk
        monkeypatch.setattr(eng, "_CHUNK", chunk)
        got = eng.aggregate(inc, ["lsoa", "category"])
        got.attrs = {}
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_aggregate_known_answer_and_errors():
    inc = pd.DataFrame({"lsoa": pd.Categorical(["B", "A", "B", None], categories=["A", "B", "C"]),
                        "month": pd.to_datetime(["2019-02-01", "2019-01-01", "2019-02-01", "2019-01-01"])})
    out = eng.aggregate(inc, ["lsoa", "month"])
    assert out.values.tolist() == [["A", pd.Timestamp("2019-01-01"), 1], ["B", pd.Timestamp("2019-02-01"), 2]]
    assert list(out["lsoa"].cat.categories) == ["A", "B", "C"]
    empty = eng.aggregate(inc.iloc[:0], ["lsoa"])
    assert empty.empty and list(empty.columns) == ["lsoa", "count"]
    from sna.errors import AnalysisInputError

    with pytest.raises(AnalysisInputError, match="category"):
        eng.aggregate(inc, ["lsoa", "category"])
    with pytest.raises(ConfigError, match="spark"):
        eng.aggregate(inc, ["lsoa"], engine="spark")


def test_engine_names():
    assert eng.engine_name() == "pandas" and eng.engine_name("dask") == "dask"
    with pytest.raises(ConfigError, match="engine.name"):
        eng.engine_name("ray")
    assert eng.engine_settings("dask").name == "dask"


# ---- the Dask engine ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    cl = distributed.Client(cluster)
    yield cl
    eng._close_clients()  # clients sna made to this cluster's address (from a config)
    cl.close()
    cluster.close()


@pytest.mark.parametrize("which", ["sample", "multi"])
def test_dask_equals_pandas(client, multi, which):
    cfg = load_config(nottingham_sample_config()) if which == "sample" else multi
    geo, _ = load_geography(cfg)
    src = cfg.sources["police"]
    assert_same(clean_police_uk("police", src, cfg, geo, engine=client),
                clean_police_uk("police", src, cfg, geo, engine="pandas"))


def test_dask_from_the_config_and_load_assessment(client, multi, tmp_path):
    import sna

    cfg = multi.model_copy(update={"cache": str(tmp_path / "cache")})
    by_config = cfg.model_copy(update={
        "engine": cfg.engine.model_copy(update={"name": "dask", "scheduler": client.scheduler.address})})
    a = sna.load_assessment(by_config, use_cache=False)
    assert eng.get_client(by_config.engine).scheduler.address == client.scheduler.address
    b = sna.load_assessment(by_config, use_cache=False, engine="pandas")
    pd.testing.assert_frame_equal(a.incidents, b.incidents, check_exact=True)
    pd.testing.assert_frame_equal(a.quarantine, b.quarantine, check_exact=True)
    assert a.quality.to_dict() == b.quality.to_dict()
    assert a.cache_key == b.cache_key  # the engine is not part of the cache key
    counts = eng.aggregate(a.incidents, engine=client, partitions=3)  # an odd tree
    assert counts.attrs["sna"]["engine"] == "dask"
    want = eng.aggregate(b.incidents, engine="pandas")
    counts.attrs, want.attrs = {}, {}
    pd.testing.assert_frame_equal(counts, want, check_exact=True)
    assert int(counts["count"].sum()) == len(a.incidents)


def test_dask_reports_the_file_and_line(client, tmp_path):
    d = tmp_path / "police"
    shutil.copytree(SAMPLE / "police", d)
    f = d / "2018-12" / "2018-12-nottinghamshire-street.csv"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) - 40])  # truncated mid-row
    cfg = load_config(nottingham_sample_config()).model_copy(update={
        "sources": {"police": load_config(nottingham_sample_config()).sources["police"].model_copy(
            update={"path": str(d)})}})
    geo, _ = load_geography(cfg)
    with pytest.raises(InputFormatError) as err:
        clean_police_uk("police", cfg.sources["police"], cfg, geo, engine=client)
    assert err.value.file == str(f) and err.value.line is not None and "truncated" in str(err.value)
    with pytest.raises(InputFormatError) as err2:
        clean_police_uk("police", cfg.sources["police"], cfg, geo, engine="pandas")
    assert (err2.value.file, err2.value.line) == (err.value.file, err.value.line)


def test_concat_of_engines_keeps_categories(client, multi):
    geo, _ = load_geography(multi)
    a = clean_police_uk("police", multi.sources["police"], multi, geo, engine=client).incidents
    both = concat_incidents([a, a])
    assert len(both) == 2 * len(a) and isinstance(both["lsoa"].dtype, pd.CategoricalDtype)


def test_a_kept_row_that_is_not_utf8_is_reported_with_its_line(tmp_path):
    """A file task parses few columns; a bad byte in another column of a row it keeps is
    still the reader's error, at that row's line."""
    cfg = load_config(nottingham_sample_config())
    geo, _ = load_geography(cfg)
    src = sorted((SAMPLE / "police").glob("*/*-street.csv"))[0]
    lines = src.read_bytes().split(b"\n")
    area = set(geo["lsoa"].astype(str))
    rows = list(csv.reader(io.StringIO(src.read_text(encoding="utf-8"), newline="")))
    code = rows[0].index("LSOA code")
    row = next(i for i, r in enumerate(rows[1:], 1)
               if len(r) > code and r[code] in area and b"On or near" in lines[i])  # kept
    lines[row] = lines[row].replace(b"On or near", b"On or n\xe9ar", 1)
    bad = tmp_path / "police" / src.name
    bad.parent.mkdir()
    bad.write_bytes(b"\n".join(lines))
    source = cfg.sources["police"].model_copy(update={"path": str(bad.parent)})
    with pytest.raises(InputFormatError, match="not UTF-8") as err:
        clean_police_uk("police", source, cfg, geo, engine="pandas")
    assert err.value.line == row + 1 and err.value.file.endswith(src.name)


def _double_or_fail(x, context):
    if x == context:
        raise InputFormatError(f"item {x} is bad", file=f"f{x}.csv", line=x)
    return 2 * x


@pytest.mark.parametrize("which", ["pandas", "dask"])
def test_run_tasks_hands_each_result_on_in_order(client, which):
    engine = client if which == "dask" else "pandas"
    seen = []
    out = eng.run_tasks(_double_or_fail, [3, 1, 2, 5], None, engine=engine, on_result=seen.append)
    assert seen == [6, 2, 4, 10] and out == [None] * 4
    seen.clear()
    with pytest.raises(InputFormatError) as err:
        eng.run_tasks(_double_or_fail, [3, 1, 2, 5], 2, engine=engine, on_result=seen.append)
    assert seen == [6, 2] and (err.value.file, err.value.line) == ("f2.csv", 2)


def test_results_only_dataset_on_dask_equals_the_pandas_assessment(client, multi, tmp_path):
    """The planted quirks (points in polygons, blank and other-vintage codes, bad months)
    go through the shared cleaning path inside each file's task on a worker."""
    import sna

    cfg = multi.model_copy(update={"cache": str(tmp_path / "cache")})
    ds = sna.load_dataset(cfg, engine=client)
    a = sna.load_assessment(cfg, use_cache=False, engine="pandas")
    assert ds.quality.to_dict() == a.quality.to_dict()
    assert len(ds.quality.sources["police"].set_aside) >= 2
    pd.testing.assert_frame_equal(ds.read_incidents(), a.incidents, check_exact=True)
    key = ["file", "line"]
    pd.testing.assert_frame_equal(ds.read_quarantine().sort_values(key).reset_index(drop=True),
                                  a.quarantine.sort_values(key).reset_index(drop=True))
    want = eng.aggregate(a.incidents)
    pd.testing.assert_frame_equal(ds.counts(engine=client), want, check_exact=True)


@pytest.mark.slow
def test_workers_sna_starts_do_not_pause_at_their_memory_limit():
    # a paused worker keeps its tasks and runs none; memory it holds itself never goes down,
    # so a run on small workers could wait for ever (the ten-year benchmark did): the
    # LocalCluster sna starts spills and restarts workers instead of pausing them
    pytest.importorskip("dask.distributed")
    from sna.config import EngineConfig

    settings = EngineConfig(name="dask", workers=1, memory_limit="300MB")
    client = eng.get_client(settings)
    try:
        workers = client.scheduler_info()["workers"].values()
        assert {w["memory_limit"] for w in workers} == {300_000_000}
        pause = client.run(lambda dask_worker: dask_worker.memory_manager.memory_pause_fraction)
        assert list(pause.values()) == [False]
        terminate = client.run(lambda dask_worker: dask_worker.nanny is not None)
        assert list(terminate.values()) == [True]  # a nanny restarts a worker past 95 %
    finally:
        eng._close_clients()


def _script(path: Path, body: str) -> Path:
    path.write_text("from sna import engine\nfrom sna.config import EngineConfig\n" + body)
    return path


@pytest.mark.slow
def test_a_script_without_the_main_guard_is_told_to_add_it(tmp_path):
    # each worker process of a LocalCluster runs the main script again up to its guard: a
    # script that starts the engine at its top level got ~500 lines of tracebacks from the
    # workers and "RuntimeError: Nanny failed to start"; it is told what to change
    import subprocess
    import sys

    pytest.importorskip("dask.distributed")
    start = 'client = engine.get_client(EngineConfig(name="dask", workers=1))\n'
    bare = _script(tmp_path / "bare.py", start)
    run = subprocess.run([sys.executable, str(bare)], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("sna.errors.EngineError: the Dask engine's LocalCluster did not start")
    assert 'if __name__ == "__main__":` in ' + str(bare) in last
    assert "Nanny failed to start" in last
    guarded = _script(tmp_path / "guarded.py", 'if __name__ == "__main__":\n    ' + start
                      + '    print(len(client.scheduler_info()["workers"]))\n')
    run = subprocess.run([sys.executable, str(guarded)], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["1"]


def test_a_scheduler_that_does_not_answer_names_the_key():
    dask = pytest.importorskip("dask")
    pytest.importorskip("dask.distributed")
    from sna.config import EngineConfig
    from sna.errors import EngineError

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(EngineError, match="scheduler at tcp://127.0.0.1:9 does not answer") as err:
            eng.get_client(EngineConfig(name="dask", scheduler="tcp://127.0.0.1:9"))
    assert err.value.key == "engine.scheduler" and err.value.exit_code == 2


def test_lsoa_codes_found_as_numbers_equal_the_normalised_lookup():
    """A file task finds its LSOA codes among the area's as numbers when they are written as
    published (``_code_numbers``), else normalised (spaces removed, upper case) and hashed:
    the positions must be those of the normalised look-up for every code, whatever its shape."""
    import random

    import pyarrow as pa

    rng = random.Random(7)
    area = pd.Index(sorted({f"E0{rng.randint(1000000, 1040000)}" for _ in range(3000)}
                           | {"W01000001", "S01000003", "e01000002x"}), dtype="str")
    index = pd.Index(area.to_numpy(dtype=object), dtype=object)

    def reference(codes):
        return np.array([index.get_indexer(["".join(c.split()).upper()])[0] if c is not None else -1
                         for c in codes] + [-1], dtype=np.int32)

    odd = ["e01000002x", " E01000001", "w01000001", "W01000001", "E0100000", "E010000011",
           "\u00c901000001", "E01O00001", "", "Z99999999", "E01 013810", "e01013810", None,
           "E01000001\t", "S01000003"]
    pool = list(area[:300]) + odd + [f"E0{rng.randint(1000000, 1040000)}" for _ in range(300)]
    ctx = puk._Context(name="police", encoding="utf-8", definition=None, area=area)
    for _ in range(20):
        codes = rng.sample(pool, 150)
        want = reference(codes)
        assert (ctx.lsoa_lut(pa.array(codes, pa.string())) == want).all()
        assert (ctx.lsoa_lut(pa.array(["x"] + codes, pa.large_string()).slice(1)) == want).all()
        assert (ctx.lsoa_lut(codes) == want).all()
    assert (want >= 0).sum() > 50 and (want == -1).sum() > 10
    keys, plain = puk._code_numbers(pa.array(["E01013810", None, "e01013810", "E0101381 ", "W01000001"]))
    assert plain.tolist() == [True, False, False, False, True]
    assert keys[[0, 4]].tolist() == [ord("E") * 10**8 + 1013810, ord("W") * 10**8 + 1000001]


def test_small_pages_restores_numpy_setting_when_the_last_user_leaves():
    mod = pytest.importorskip("numpy._core.multiarray")
    switch = getattr(mod, "_set_madvise_hugepage", None)
    if switch is None:
        pytest.skip("numpy has no huge-page switch here")
    before = switch(True)
    try:
        with eng.small_pages():
            assert switch(False) is False  # (off inside)
            with eng.small_pages():
                pass
            assert switch(False) is False  # still off: the outer use has not left
        assert switch(True) is True  # restored
    finally:
        switch(before)


@pytest.mark.parametrize("sizes", [[1], [7], [3, 1], [40_000, 12, 14], [5, 70_000], [1, 1, 1], [9, 2, 3, 4],
                                   [3, 65_536], [3, 65_537]])
def test_split_cells_equals_dividing_each_cell(sizes):
    """The first key's codes from where its values start, the others through small tables:
    the same codes as dividing every cell (the keys after the first spanning up to 2**16
    combinations take the fast path, more take the division)."""
    rng = np.random.default_rng(len(sizes) + sizes[0])
    total = int(np.prod(sizes))
    for cells in (np.unique(rng.integers(0, total, size=min(5_000, total))),
                  np.arange(total if total < 10_000 else 0, dtype=np.int64),
                  np.array([0, total - 1], dtype=np.int64)[: 1 if total == 1 else 2],
                  np.zeros(0, dtype=np.int64)):
        got = eng._split_cells(cells, sizes)
        rem = cells.copy()
        for i in range(len(sizes) - 1, -1, -1):
            assert got[i].dtype == np.int32
            assert (got[i] == rem % sizes[i]).all(), (sizes, i)
            rem //= sizes[i]


def test_sorted_codes_equal_the_values_and_binary_search():
    """Numeric and date keys found in one hashing pass: the same distinct values (sorted,
    missing dropped) and the same codes (-1: missing) as the sort-then-search path; other
    columns are left to it."""
    rng = np.random.default_rng(3)
    months = pd.to_datetime(["2023-04-01", "2023-01-01", None, "2023-12-01"])
    cases = [
        pd.Series(months[rng.integers(0, 4, 500)]),
        pd.Series(rng.choice([0.5, -0.0, 0.0, np.nan, -3.25, 1e300], 500)),
        pd.Series(rng.integers(-5, 5, 500)),
        pd.Series(rng.integers(0, 3, 500).astype(np.uint8)),
        pd.Series(np.array([], dtype="datetime64[ns]")),
        pd.Series([np.nan, np.nan]),
    ]
    for s in cases:
        codes, what = eng._sorted_codes(s)
        want_what = eng._key_values(s)
        pd.testing.assert_index_equal(what, want_what)
        assert (codes == eng._key_codes(s, want_what)).all()
        assert codes.dtype == np.int64
    assert eng._sorted_codes(pd.Series(["a", "b"])) is None
    assert eng._sorted_codes(pd.Series([1, None], dtype="Int64")) is None


def test_aggregate_on_numbers_dates_and_no_keys_equals_groupby():
    rng = np.random.default_rng(5)
    inc = pd.DataFrame({"month": pd.to_datetime(["2023-04-01", "2023-01-01", None])[rng.integers(0, 3, 300)],
                        "x": rng.choice([1.5, -0.0, 0.0, np.nan], 300),
                        "n": rng.integers(0, 4, 300)})
    for by in (["month"], ["x", "month"], ["n", "x"], ["month", "n"]):
        got = eng.aggregate(inc, by)
        got.attrs = {}
        want = inc.groupby(by, sort=True, dropna=True).size().rename("count").reset_index()
        want["count"] = want["count"].astype("int64")
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_union_codes_of_blocks_with_missing_codes_and_categoricals():
    """Blocks of (codes, labels) and Categoricals joined into one list of the labels present,
    sorted; code -1 stays missing (the look-up is written straight into the result)."""
    blocks = [(np.array([1, -1, 0, 1], dtype=np.int32), ["b", "a", "z"]),  # "z" unused
              pd.Categorical(["c", None, "a"], categories=["a", "c", "q"]),
              (np.array([], dtype=np.int32), ["y"]),
              (np.array([-1, -1], dtype=np.int32), [])]
    codes, cats = puk._union_codes(blocks)
    assert cats == ["a", "b", "c"]
    labels = [cats[c] if c >= 0 else None for c in codes.tolist()]
    assert labels == ["a", None, "b", "a", "c", None, "a", None, None]


def test_incidents_columns_built_here_are_the_ones_this_thread_builds(multi):
    """_incidents splits its columns between two threads by a list: the list must name
    exactly the columns the calling thread builds (a column missing from it would be built
    twice, one too many would be missing)."""
    geo, _ = load_geography(multi)
    res = clean_police_uk("police", multi.sources["police"], multi, geo)
    inc = res.incidents
    assert list(inc.columns) == list(puk.INCIDENT_COLUMNS)
    with_values = {c for c in inc.columns if inc[c].notna().any()}
    assert set(puk._BUILT_HERE) == with_values - {"lsoa", "district", "partnership", "file"}
