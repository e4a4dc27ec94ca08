"""The ``sna`` contender of the ingest benchmark: the FULL ingest through the public API.

``sna_ingest(root)`` runs, on the data.police.uk street files under ``root`` (written by
``benchmarks/national.py``):

1. read and validate every file (``sna.io.police_uk``: header, UTF-8, truncation, file/line);
2. clean (months, crime types -> categories, the local serious-violence flag);
3. place (LSOA trusted, points in polygons for rows with coordinates but no code, the area
   filter, district and partnership);
4. reconcile (the QualityLog: rows read = rows kept + rows set aside, checked) and build the
   quarantine of the set-aside rows;
5. aggregate the kept incidents to LSOA x month x category
   (:func:`sna.engine.aggregate`).

Steps 1-4 are :func:`sna.load_assessment` with ``use_cache=False`` (which also loads the
geography), so the figure is what an analyst or ``sna run`` pays on a cold cache.

The geography is SYNTHETIC: one 1 km square per real 2011 LSOA code of England and Wales
(``national.geography_frame()``), written as a GeoParquet beside the data
(``<root>-geography.parquet``) when missing, with one partnership per police force area
(the bundled 2024 district -> CSP -> PFA lookup). Districts the bundled lookup does not place
in a force area are outside the area, so the ``out_of_area`` path is exercised too.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run from a fresh clone without installing
    sys.path.insert(0, str(HERE.parent))


def geography_path(root: Path) -> Path:
    """Where the synthetic geography of the data set under ``root`` lives."""
    root = Path(root)
    return root.with_name(root.name + "-geography.parquet")


def ensure_geography(root: Path) -> Path:
    """Write the synthetic national geography (GeoParquet, EPSG:27700) if missing."""
    path = geography_path(root)
    if path.exists():
        return path
    import geopandas as gpd
    import shapely

    sys.path.insert(0, str(HERE))
    from national import CELL, geography_frame

    geo = geography_frame()
    x0, y0 = geo["x0"].to_numpy(), geo["y0"].to_numpy()
    gdf = gpd.GeoDataFrame(
        {"LSOA11CD": geo["lsoa"].astype(str), "LSOA11NM": geo["name"].astype(str)},
        geometry=shapely.box(x0, y0, x0 + CELL, y0 + CELL), crs=27700,
    )
    tmp = path.with_suffix(".tmp.parquet")
    gdf.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path


def partnerships() -> dict[str, list[str]]:
    """One partnership per police force area: PFA name -> its district codes (bundled lookup)."""
    from sna.io.geography import read_district_csp_lookup

    csp = read_district_csp_lookup()
    out: dict[str, list[str]] = {}
    for pfa, sub in csp.dropna(subset=["pfa"]).groupby("pfa", sort=True):
        out[str(pfa)] = sorted(sub["district"].astype(str).unique())
    return out


def national_config(root: Path, *, engine: str = "pandas", workers: int | None = None,
                    scheduler: str | None = None, cache: str | None = None,
                    memory_limit: str | None = None) -> dict:
    """The config (a mapping) of the national benchmark on the files under ``root``."""
    root = Path(root).resolve()
    return {
        "area": "England and Wales (SYNTHETIC benchmark)",
        "synthetic": True,
        "partnerships": partnerships(),
        "geography": {"boundaries": str(ensure_geography(root))},
        "sources": {"police": {"format": "police_uk", "path": str(root)}},
        "engine": {"name": engine, "workers": workers, "scheduler": scheduler,
                   "memory_limit": memory_limit},
        "cache": cache or tempfile.mkdtemp(prefix="sna-bench-cache-"),
    }


def sna_ingest(root: Path, *, engine: str = "pandas", workers: int | None = None,
               scheduler: str | None = None, memory_limit: str | None = None) -> dict:
    """sna's full ingest of the street files under ``root``, then counts by LSOA x month x category.

    Returns
    -------
    dict
        ``rows`` (rows read), ``kept``, ``set_aside`` (by reason), ``groups`` (LSOA x month x
        category cells with at least one incident), ``quarantine`` (rows), ``incidents``
        (kept rows; equals ``kept``).
    """
    import sna
    from sna.engine import aggregate

    cfg = national_config(Path(root), engine=engine, workers=workers, scheduler=scheduler,
                          memory_limit=memory_limit)
    a = sna.load_assessment(cfg, use_cache=False)
    counts = aggregate(a.incidents, engine=a.config.engine)
    q = a.quality.sources["police"]
    assert q.rows_read == q.rows_kept + sum(q.set_aside.values())
    assert int(counts["count"].sum()) == len(a.incidents) == q.rows_kept
    return {
        "rows": int(q.rows_read),
        "kept": int(q.rows_kept),
        "set_aside": {k: int(v) for k, v in sorted(q.set_aside.items())},
        "groups": int(len(counts)),
        "quarantine": int(len(a.quarantine)),
        "incidents": int(len(a.incidents)),
    }


def sna_dataset(root: Path, *, engine: str = "dask", workers: int | None = None,
                memory_limit: str | None = None, by: tuple[str, ...] | None = ("lsoa", "month", "category"),
                dataset: str | None = None) -> dict:
    """sna's results-only ingest (:func:`sna.load_dataset`) of the street files under ``root``:
    the kept incidents and the quarantine written as Parquet by the workers, only the
    QualityLog and the counts coming back; then ``by`` counted over the dataset.

    Returns
    -------
    dict
        As :func:`sna_ingest` (``groups``: the cells of ``by``), with ``monthly_rows`` and
        ``lsoa_rows`` (the sizes of the tables that came back), ``dataset_bytes`` (the
        Parquet files written) and ``cleanup`` (the dataset folder, to remove).
    """
    import sna

    cfg = national_config(Path(root), engine=engine, workers=workers, memory_limit=memory_limit)
    folder = dataset or tempfile.mkdtemp(prefix="sna-bench-dataset-")
    cfg["engine"]["dataset"] = folder
    ds = sna.load_dataset(cfg, reuse=False)
    q = ds.quality.sources["police"]
    assert q.rows_read == q.rows_kept + sum(q.set_aside.values())
    assert int(ds.monthly["n"].sum()) == int(ds.lsoa_counts["n"].sum()) == q.rows_kept
    out = {
        "rows": int(q.rows_read),
        "kept": int(q.rows_kept),
        "set_aside": {k: int(v) for k, v in sorted(q.set_aside.items())},
        "quarantine": int(q.rows_set_aside),
        "monthly_rows": int(len(ds.monthly)),
        "lsoa_rows": int(len(ds.lsoa_counts)),
        "dataset_bytes": int(sum(f.stat().st_size for f in Path(ds.path).rglob("*.parquet"))),
        "dataset_files": len(ds.files("incidents")) + len(ds.files("quarantine")),
        "by": list(by) if by else None,
        "cleanup": folder,
    }
    if by:
        counts = ds.counts(by)
        assert int(counts["count"].sum()) == q.rows_kept
        out["groups"] = int(len(counts))
    return out


def sna_ingest_dask(root: Path) -> dict:
    """:func:`sna_ingest` on the Dask engine (a LocalCluster on this machine)."""
    return sna_ingest(root, engine="dask")


if __name__ == "__main__":
    import json
    import time

    t0 = time.perf_counter()
    eng = sys.argv[2] if len(sys.argv) > 2 else "pandas"
    res = sna_ingest(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "_data" / "national", engine=eng)
    res["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(res, indent=1))
