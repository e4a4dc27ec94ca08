"""Execution engines for ingest and aggregation: ``pandas`` (this process) or ``dask`` (a cluster).

Ingest of data.police.uk street files runs as **one task per file**: read and validate the file
(:func:`sna.io.police_uk.read_file`), decide every row that is plainly kept (a readable month,
a known crime type and an LSOA code of the area) with lookups on the file's few distinct
values, convert those rows' coordinates to British National Grid, and return them as compact
columns; every other row (the few that are out of the area, unlocated, need a point-in-polygon
or a best-fit translation, or have a bad month or crime type) is returned raw. The results are
then merged: the raw rows of all files go once through the shared cleaning path
(:mod:`sna.clean`: :func:`~sna.clean.place`, :func:`~sna.clean.finish_source`), which sets them
aside with a reason in the quarantine or keeps them, and the kept rows of every file are
assembled, in file and line order, into the canonical incidents table. Rows read = rows kept +
rows set aside is checked as for any source.

Engines
-------
``pandas`` (default)
    The file tasks run on a pool of threads of this process (the parsing, coordinate
    conversion and most array work release the GIL): ``engine.workers`` threads, else one per
    core.
``dask``
    The file tasks run on a ``dask.distributed`` cluster: the scheduler at
    ``engine.scheduler`` (``tcp://host:8786``; every worker must see the input files at the
    same paths, e.g. on a shared file system), else a ``LocalCluster`` of ``engine.workers``
    processes (one per core by default) on the loopback interface. The results are identical
    to the pandas engine's: the same incidents (same rows, order and dtypes), QualityLog and
    quarantine, and the same aggregates.

Choose the engine in ``sna.yml``::

    engine:
      name: dask
      scheduler: tcp://10.0.0.5:8786   # omit for a LocalCluster on this machine
      workers: 8                        # LocalCluster workers (or pandas threads)

or per call: ``sna.load_assessment(cfg, engine="dask")``, ``aggregate(inc, engine="dask")``;
a ``dask.distributed.Client`` may be given as the engine.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pandas as pd

from .errors import ConfigError, SnaError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from .clean import CleanedSource
    from .config import Config, DefinitionConfig, EngineConfig, SourceConfig

__all__ = [
    "ENGINES",
    "AGGREGATE_BY",
    "engine_name",
    "engine_settings",
    "get_client",
    "clean_police_uk_files",
    "aggregate",
]

logger = logging.getLogger("sna")

#: The engines.
ENGINES: tuple[str, ...] = ("pandas", "dask")
#: The default keys of :func:`aggregate`.
AGGREGATE_BY: tuple[str, ...] = ("lsoa", "month", "category")

Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------------
# choosing the engine
# --------------------------------------------------------------------------------------------
def _is_client(obj: Any) -> bool:
    return type(obj).__name__ == "Client" and hasattr(obj, "submit") and hasattr(obj, "scheduler")


def engine_name(engine: Any = None, config: "Config | None" = None) -> str:
    """The engine to use: ``engine`` if given (a name or a Dask ``Client``), else the config's.

    Raises
    ------
    ConfigError
        For an unknown engine name.

    Examples
    --------
    >>> engine_name(), engine_name("dask")
    ('pandas', 'dask')
    """
    if engine is None:
        if config is not None:
            return config.engine.name
        return "pandas"
    if _is_client(engine):
        return "dask"
    name = getattr(engine, "name", engine)  # an EngineConfig
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}: use one of {', '.join(ENGINES)}",
                          key="engine.name")
    return str(name)


def engine_settings(engine: Any, config: "Config | None" = None) -> "EngineConfig":
    """The :class:`~sna.config.EngineConfig` that ``engine`` stands for.

    A name keeps the config's other settings; a Dask ``Client`` becomes its scheduler's
    address (so the same cluster is used).

    Examples
    --------
    >>> engine_settings("dask").name
    'dask'
    """
    from .config import EngineConfig

    base = config.engine if config is not None else EngineConfig()
    if isinstance(engine, EngineConfig):
        return engine
    if _is_client(engine):
        return base.model_copy(update={"name": "dask", "scheduler": engine.scheduler.address})
    return base.model_copy(update={"name": engine_name(engine)})


def _engine_config(engine: Any, config: "Config | None"):
    from .config import EngineConfig

    if isinstance(engine, EngineConfig):
        return engine
    if config is not None:
        return config.engine
    return EngineConfig()


_CLIENTS: dict[tuple, Any] = {}
_CLIENTS_LOCK = threading.Lock()


def get_client(engine: "EngineConfig | None" = None):
    """A ``dask.distributed`` client for the engine settings (made once per process).

    Parameters
    ----------
    engine
        ``scheduler`` (an address: connect to that cluster) and ``workers`` (the size of the
        ``LocalCluster`` started otherwise: worker processes on 127.0.0.1, one thread each,
        no dashboard). None: a LocalCluster with one worker per core.

    Returns
    -------
    distributed.Client
        Cached: later calls with the same settings reuse it (closed when Python exits).

    Notes
    -----
    Dask: https://distributed.dask.org/. Every worker of a remote cluster must have ``sna``
    installed (same version) and see the input files at the same paths.
    """
    from .config import EngineConfig

    engine = engine or EngineConfig()
    key = (engine.scheduler, engine.workers)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is not None and client.status == "running":
            return client
        from dask.distributed import Client, LocalCluster

        if engine.scheduler:
            client = Client(engine.scheduler)
            logger.info("dask engine: connected to %s", engine.scheduler)
        else:
            n = engine.workers or os.cpu_count() or 1
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
            logger.info("dask engine: LocalCluster of %d worker process(es) at %s", n,
                        cluster.scheduler_address)
        _CLIENTS[key] = client
        return client


def _close_clients() -> None:  # pragma: no cover - at exit
    for client in list(_CLIENTS.values()):
        try:
            cluster = client.cluster
            client.close()
            if cluster is not None:
                cluster.close()
        except Exception:
            pass
    _CLIENTS.clear()


import atexit  # noqa: E402

atexit.register(_close_clients)


# --------------------------------------------------------------------------------------------
# one data.police.uk file
# --------------------------------------------------------------------------------------------
@dataclass
class _Context:
    """What a file task needs (small, picklable): the area's LSOAs and the definition."""

    name: str
    encoding: str
    definition: "DefinitionConfig | None"
    area: pd.Index  # the area's LSOA codes, sorted
    _months: dict = field(default_factory=dict, repr=False)
    _types: dict = field(default_factory=dict, repr=False)
    _lsoas: dict = field(default_factory=dict, repr=False)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_months"], state["_types"], state["_lsoas"] = {}, {}, {}
        return state

    def lsoa_lut(self, codes: list) -> np.ndarray:
        """Position of each code (stripped) among the area's LSOAs (-1: not in the area),
        plus -1 for missing."""
        known = self._lsoas
        new = [c for c in codes if c not in known]
        if new:
            found = self.area.get_indexer(pd.Index([c.strip() for c in new], dtype="str"))
            known.update(zip(new, found.tolist()))
        return np.array([known[c] for c in codes] + [-1], dtype=np.int32)

    def month_lut(self, labels: list) -> np.ndarray:
        """datetime64[ns] of each month label (NaT where unreadable), plus NaT for missing."""
        from .clean import parse_months

        new = [v for v in labels if v not in self._months]
        if new:
            parsed = parse_months(pd.Series(new, dtype=object))
            self._months.update(zip(new, parsed.to_numpy()))
        return np.array([self._months[v] for v in labels] + [np.datetime64("NaT", "ns")],
                        dtype="datetime64[ns]")

    def type_luts(self, labels: list) -> tuple[list, np.ndarray, np.ndarray]:
        """The crime types' categories: (labels, index of each type or -1, serious violence)."""
        from .definitions import police_uk_categories

        new = [v for v in labels if v not in self._types]
        if new:
            out = police_uk_categories(pd.Series(new, dtype=object), self.definition)
            cat = out["category"].astype(object)
            for v, c, sv in zip(new, cat, out["serious_violence"].to_numpy()):
                self._types[v] = (None if pd.isna(c) else str(c), bool(sv))
        mapped = [self._types[v] for v in labels]
        cats = sorted({c for c, _ in mapped if c is not None})
        pos = {c: i for i, c in enumerate(cats)}
        idx = np.array([pos[c] if c is not None else -1 for c, _ in mapped] + [-1], dtype=np.int32)
        sv = np.array([s for _, s in mapped] + [False], dtype=bool)
        return cats, idx, sv


@dataclass
class _Part:
    """The compact result of one file: its kept rows as columns, the other rows raw."""

    file: str
    rows: int
    duplicate_rows: int
    n_kept: int
    columns: dict = field(default_factory=dict)
    rest: Any = None  # pyarrow.Table of the rows left to the shared cleaning path


@dataclass
class _Failed:
    """An SnaError raised in a task, carried back whole (its file and line survive pickling)."""

    cls: type
    message: str
    where: dict


def _encoded(column) -> tuple[np.ndarray, list]:
    """Dictionary-encode a pyarrow column: (index of each row, -1 if missing; distinct values)."""
    import pyarrow.compute as pc

    arr = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    enc = pc.dictionary_encode(arr)
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return idx, enc.dictionary.to_pylist()


def _police_uk_file(f, ctx: _Context) -> "_Part | _Failed":
    """Read one street file and split it into plainly kept rows (columns) and the rest (raw)."""
    try:
        return _police_uk_file_inner(f, ctx)
    except SnaError as exc:
        return _Failed(type(exc), exc.message, {"file": exc.file, "line": exc.line,
                                                "column": exc.column, "key": exc.key})


def _police_uk_file_inner(f, ctx: _Context) -> _Part:
    import pyarrow as pa

    from .clean import to_bng
    from .io.police_uk import read_file

    table, stats = read_file(f, "street", encoding=ctx.encoding, dictionary=())
    n = table.num_rows
    if n == 0:
        return _Part(f.name, 0, int(stats["duplicate_rows"]), 0)
    m_idx, m_vals = _encoded(table["Month"])
    month = ctx.month_lut(m_vals)[m_idx]
    t_idx, t_vals = _encoded(table["Crime type"])
    cats, cat_lut, sv_lut = ctx.type_luts(t_vals)
    cat = cat_lut[t_idx]
    c_idx, c_vals = _encoded(table["LSOA code"])
    lsoa = ctx.lsoa_lut(c_vals)[c_idx]
    kept = (lsoa >= 0) & ~np.isnat(month) & (cat >= 0)
    n_kept = int(kept.sum())
    cols: dict[str, Any] = {}
    if n_kept:
        mask = pa.array(kept)
        lon = table["Longitude"].filter(mask).to_numpy()
        lat = table["Latitude"].filter(mask).to_numpy()
        x, y = to_bng(lon, lat)
        cols = {
            "record_id": table["Crime ID"].filter(mask).combine_chunks(),
            "month": month[kept],
            "crime_type": pd.Categorical.from_codes(t_idx[kept],
                                                    categories=pd.Index(t_vals, dtype="str")),
            "category": pd.Categorical.from_codes(cat[kept],
                                                  categories=pd.Index(cats, dtype="str")),
            "serious_violence": sv_lut[t_idx][kept],
            "lsoa": lsoa[kept],
            "x": x,
            "y": y,
            "line": table["line"].filter(mask).to_numpy(),
        }
    rest = None
    if n_kept < n:
        rest = table.filter(pa.array(~kept))
    return _Part(f.name, n, int(stats["duplicate_rows"]), n_kept, cols, rest)


def _encode_text(table):
    """Dictionary-encode the text columns, as :func:`sna.io.police_uk.read_police_uk` does."""
    from .io.police_uk import _KINDS, _dictionary_encode

    header, _, _, floats, strings = _KINDS["street"]
    return _dictionary_encode(table, [c for c in header if c not in floats and c not in strings])


def _with_records(table):
    """Add ``_record``: each row as the JSON the quarantine keeps (written here, in parallel)."""
    import pyarrow as pa

    rec = _records_arrow(table)
    if rec is None:  # a value whose JSON text Arrow cannot be trusted to write as pandas does
        from .clean import _records_json
        from .io.police_uk import _frame

        raw = _frame([table.select(table.column_names)], [], "street")
        json_text = _records_json(raw[[c for c in raw.columns if c not in ("file", "line")]])
        rec = pa.array(json_text.array, type=pa.large_string())
    return table.append_column("_record", rec)


_PLAIN_NUMBER = r"^-?[0-9]{1,9}(\.[0-9]{1,8})?$"


def _json_values(column):
    """Each value of a pyarrow column as JSON text, exactly as :func:`sna.clean._records_json`
    (pandas ``to_json``) writes it, or None when a value is outside the cases handled here
    (control characters in text; numbers in exponent form or with many digits)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(col.type):
        words = _json_values(col.dictionary)
        if words is None:
            return None
        return pc.fill_null(pc.take(words, col.indices), "null")
    if pa.types.is_floating(col.type):
        text = pc.cast(col, pa.string())
        ok = pc.match_substring_regex(text, _PLAIN_NUMBER)
        if not pc.all(pc.or_kleene(ok, pc.is_null(text))).as_py():
            return None
        whole = pc.invert(pc.match_substring(text, "."))
        text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
        text = pc.if_else(pc.equal(text, "-0.0"), "0.0", text)
        return pc.fill_null(text, "null")
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        if pc.any(pc.match_substring_regex(col, "[\x00-\x1f]")).as_py():
            return None
        esc = col
        for a, b in (("\\", "\\\\"), ('"', '\\"'), ("/", "\\/")):
            esc = pc.replace_substring(esc, a, b)
        return pc.fill_null(pc.binary_join_element_wise('"', esc, '"', ""), "null")
    if pa.types.is_null(col.type):
        return pa.array(["null"] * len(col), type=pa.string())
    return None


def _records_arrow(table):
    """The rows of a raw street table as JSON objects (columns but ``file`` / ``line``), or
    None when :func:`_json_values` cannot write a column."""
    import json

    import pyarrow as pa
    import pyarrow.compute as pc

    names = [c for c in table.column_names if c not in ("file", "line")]
    if not names or table.num_rows == 0:
        return None
    pieces: list = []
    for i, c in enumerate(names):
        values = _json_values(table[c])
        if values is None:
            return None
        key = ("{" if i == 0 else ",") + json.dumps(c, ensure_ascii=False) + ":"
        pieces += [pa.scalar(key, pa.string()), values.cast(pa.string())]
    pieces.append(pa.scalar("}", pa.string()))
    return pc.binary_join_element_wise(*pieces, pa.scalar("", pa.string())).cast(pa.large_string())


# --------------------------------------------------------------------------------------------
# running the file tasks
# --------------------------------------------------------------------------------------------
def _raise(result):
    if isinstance(result, _Failed):
        raise result.cls(result.message, **result.where)
    return result


def _run_pandas(files: list, ctx: _Context, workers: int | None,
                progress: Progress | None) -> list[_Part]:
    from concurrent.futures import ThreadPoolExecutor

    n = len(files)
    threads = max(1, min(workers or os.cpu_count() or 1, n))
    parts: list[_Part] = []
    if threads == 1:
        for i, f in enumerate(files, 1):
            if progress:
                progress(f"reading {f.basename} ({i}/{n})")
            parts.append(_raise(_police_uk_file(f, ctx)))
        return parts
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sna-ingest") as ex:
        futures = [ex.submit(_police_uk_file, f, ctx) for f in files]
        try:
            for i, (f, fut) in enumerate(zip(files, futures), 1):
                if progress:
                    progress(f"reading {f.basename} ({i}/{n})")
                parts.append(_raise(fut.result()))
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
    return parts


def _run_dask(files: list, ctx: _Context, client, progress: Progress | None) -> list[_Part]:
    """The file tasks on a Dask cluster; results gathered in batches, in file order (a few
    round trips, not one per file). A failure is raised once every earlier file is done, so
    that the error reported is the first file's in order, as with the pandas engine.

    ``client.gather`` is used rather than ``as_completed``: with the latter a run in CI once
    waited forever for a file task on a loaded machine."""
    n = len(files)
    ctx_f = client.scatter(ctx, broadcast=True, hash=False)
    futures = client.map(_police_uk_file, files, ctx=ctx_f, pure=False)
    batch = 2 * (len(client.scheduler_info().get("workers", {})) or 1)
    parts: list = []
    pending = 0  # futures before this index are gathered and released
    try:
        for start in range(0, n, batch):
            chunk = futures[start:start + batch]
            got = client.gather(chunk)
            for fut in chunk:
                fut.release()
            pending = start + len(chunk)
            for j, res in enumerate(got):
                parts.append(res)
                if progress:
                    progress(f"read {files[start + j].basename} ({start + j + 1}/{n})")
                if isinstance(res, _Failed):
                    _raise(res)
    except BaseException:
        if futures[pending:]:
            client.cancel(futures[pending:])
        raise
    return parts


# --------------------------------------------------------------------------------------------
# assembling the incidents table
# --------------------------------------------------------------------------------------------
def _union_categorical(values: list[pd.Categorical]) -> pd.Categorical:
    """Concatenate categoricals; categories = the sorted values present."""
    used = [np.flatnonzero(np.bincount(v.codes[v.codes >= 0], minlength=len(v.categories)))
            for v in values]
    cats = sorted(set().union(*[set(v.categories[u]) for v, u in zip(values, used)]))
    target = pd.Index(cats, dtype="str")
    codes = []
    for v in values:
        lut = np.append(target.get_indexer(v.categories), -1).astype(np.int32)
        codes.append(lut[v.codes])
    allc = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int32)
    return pd.Categorical.from_codes(_small_int(allc, len(cats)), categories=target)


def _small_int(codes: np.ndarray, k: int) -> np.ndarray:
    dtype = np.int8 if k < 127 else np.int16 if k < 32767 else np.int32
    return codes.astype(dtype, copy=False)


def _from_lut(index: np.ndarray, values: np.ndarray) -> pd.Categorical:
    """A categorical of ``values[index]`` (index -1 = missing), categories sorted and present."""
    seen = (np.bincount(index[index >= 0], minlength=len(values)) if len(index)
            else np.zeros(len(values)))
    present = np.flatnonzero(seen)
    labels = values[present].astype(str)
    cats = pd.Index(sorted(set(labels)), dtype="str")
    lut = np.full(len(values) + 1, -1, dtype=np.int32)
    lut[present] = cats.get_indexer(labels)
    return pd.Categorical.from_codes(_small_int(lut[index], len(cats)), categories=cats)


def _constant(value: str, n: int) -> pd.Categorical:
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8),
                                     categories=pd.Index([value], dtype="str"))


_LIBC: Any = None


def _trim_memory() -> None:
    """Give freed memory back to the operating system (the C heap keeps the many small
    per-file arrays otherwise, and a column's copy would sit on top of them)."""
    global _LIBC
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
        if _LIBC is None:
            import ctypes
            import ctypes.util

            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _LIBC.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        _LIBC = False


def _concat(blocks: list[dict], order: np.ndarray | None = None) -> dict:
    """Concatenate blocks of kept-row columns (emptying them as it goes), then reorder."""
    import pyarrow as pa

    out: dict[str, Any] = {}
    for col in list(blocks[0]):
        vals = [b.pop(col) for b in blocks]
        if col == "record_id":
            arr = pa.chunked_array([v.cast(pa.large_string()) for v in vals],
                                   type=pa.large_string())
            del vals
            out[col] = arr.take(pa.array(order)) if order is not None else arr
            continue
        if isinstance(vals[0], pd.Categorical):
            arr = _union_categorical(vals)
        else:
            arr = np.concatenate(vals)
        del vals
        out[col] = arr.take(order) if order is not None else arr
        if _LIBC is not False:
            _trim_memory()
    return out


def _rest_block(inc: pd.DataFrame, ctx: _Context, file_pos: dict) -> dict:
    """Kept rows of the shared cleaning path as a block of kept-row columns."""
    import pyarrow as pa

    lut = np.append(ctx.area.get_indexer(inc["lsoa"].cat.categories.astype(str)), -1)
    lut = lut.astype(np.int32)
    return {
        "record_id": pa.array(inc["record_id"].array, type=pa.large_string()),
        "month": inc["month"].to_numpy(dtype="datetime64[ns]"),
        "crime_type": inc["crime_type"].array,
        "category": inc["category"].array,
        "serious_violence": inc["serious_violence"].to_numpy(dtype=bool, na_value=False),
        "lsoa": lut[inc["lsoa"].cat.codes.to_numpy()],
        "x": inc["x"].to_numpy(dtype="float64"),
        "y": inc["y"].to_numpy(dtype="float64"),
        "line": inc["line"].to_numpy(dtype=np.int32),
        "_file": np.array([file_pos[str(v)] for v in inc["file"].astype(str)], dtype=np.int32),
    }


def _assemble(parts: list[_Part], name: str, ctx: _Context, config: "Config",
              geography: "gpd.GeoDataFrame") -> "CleanedSource":
    import pyarrow as pa

    from .clean import _DUP_NOTE, CleanedSource, _clean_police_uk_batch, month_coverage
    from .io.police_uk import _frame
    from .quality import SourceQuality, empty_quarantine

    files = [p.file for p in parts]
    file_pos = {f: i for i, f in enumerate(files)}
    rows_read = int(sum(p.rows for p in parts))
    dups = int(sum(p.duplicate_rows for p in parts))
    # 1. the plainly kept rows of every file, in file order (the parts are emptied as we go)
    blocks = []
    for p in parts:
        if p.n_kept:
            p.columns["_file"] = np.full(p.n_kept, file_pos[p.file], dtype=np.int32)
            blocks.append(p.columns)
        p.columns = {}
    kept = _concat(blocks) if blocks else None
    del blocks
    # 2. the other rows, all files at once, through the shared cleaning path
    rest_tables = [p.rest for p in parts if p.rest is not None]
    for p in parts:
        p.rest = None
    set_aside: dict[str, int] = {}
    quarantine = empty_quarantine()
    if rest_tables:
        rest = pa.concat_tables(rest_tables, promote_options="permissive").combine_chunks()
        del rest_tables
        # text as categoricals (as read_police_uk gives it) and each row's JSON, all at once
        raw = _frame([_with_records(_encode_text(rest))], [], "street")
        del rest
        raw.attrs = {}
        best_fit = config.geography.lsoa_best_fit
        if best_fit not in (None, "bundled"):
            best_fit = str(config.resolve(best_fit))
        res = _clean_police_uk_batch(raw, name, config, geography, best_fit)
        del raw
        set_aside = dict(res.quality.set_aside)
        quarantine = res.quarantine
        if len(res.incidents):
            # kept after all (placed by their point, or translated): merge in file and line order
            extra = _rest_block(res.incidents, ctx, file_pos)
            both = ([kept] if kept is not None else []) + [extra]
            key = ((np.concatenate([b["_file"] for b in both]).astype(np.int64) << 32)
                   | np.concatenate([b["line"] for b in both]).astype(np.int64))
            kept = _concat(both, order=np.argsort(key, kind="stable"))
        del res
    incidents = _incidents(kept, name, files, ctx, geography)
    del kept
    _trim_memory()
    # 3. the quality entry
    n = len(incidents)
    months, missing = month_coverage(pd.Series(pd.unique(incidents["month"].to_numpy())))
    quality = SourceQuality(
        name=name, format="police_uk", rows_read=rows_read, rows_kept=n,
        set_aside=set_aside, months=months, missing_months=missing,
        share_geocoded=float(np.mean(~np.isnan(incidents["x"].to_numpy()))) if n else float("nan"),
        files=files, notes=[f"{dups} {_DUP_NOTE}"], duplicate_rows=dups,
    )
    quality.check()
    return CleanedSource(incidents=incidents, quarantine=quarantine, quality=quality)


def _incidents(kept: dict | None, name: str, files: list[str], ctx: _Context,
               geography: "gpd.GeoDataFrame") -> pd.DataFrame:
    """The canonical incidents table from the kept-row columns (each column owns its array:
    no copy, no consolidation)."""
    import pyarrow as pa

    from .clean import _all_missing, fy_labels
    from .schemas import INCIDENT_COLUMNS

    n = 0 if kept is None else len(kept["month"])
    cols: dict[str, Any] = {}
    if n:
        month = kept.pop("month")
        lsoa = kept.pop("lsoa")
        g = geography.set_index(geography["lsoa"].astype(str))
        district = g["district"].astype(str).reindex(ctx.area).to_numpy(dtype=object)
        partnership = g["partnership"].astype(str).reindex(ctx.area).to_numpy(dtype=object)
        cols = {
            "source": _constant(name, n),
            "source_format": _constant("police_uk", n),
            "record_id": pd.arrays.ArrowStringArray(kept.pop("record_id")),
            "date": month.copy(),
            "date_precision": _constant("month", n),
            "month": month,
            "fy": fy_labels(pd.Series(month)).array,
            "crime_type": kept.pop("crime_type"),
            "category": kept.pop("category"),
            "serious_violence": pd.arrays.BooleanArray(kept.pop("serious_violence"),
                                                       np.zeros(n, dtype=bool)),
            "lsoa": _from_lut(lsoa, ctx.area.to_numpy()),
            "district": _from_lut(lsoa, district),
            "partnership": _from_lut(lsoa, partnership),
            "x": kept.pop("x"),
            "y": kept.pop("y"),
            "file": _from_lut(kept.pop("_file"), np.array(files, dtype=object)),
            "line": pd.arrays.IntegerArray(kept.pop("line").astype(np.int64),
                                           np.zeros(n, dtype=bool)),
        }
        del lsoa
    frame: dict[str, Any] = {}
    nulls = None
    for col, (dtype, _) in INCIDENT_COLUMNS.items():
        if col in cols:
            frame[col] = cols.pop(col)
        elif dtype == "string" and col not in _categorical_columns():
            # all missing text: the (immutable) Arrow buffers are shared, the arrays are not
            nulls = pa.nulls(n, pa.large_string()) if nulls is None else nulls
            frame[col] = pd.arrays.ArrowStringArray(nulls)
        else:
            frame[col] = _all_missing(col, dtype, n)
    return pd.DataFrame(frame, copy=False)


def _categorical_columns() -> tuple[str, ...]:
    from .clean import CATEGORICAL_COLUMNS

    return CATEGORICAL_COLUMNS


# --------------------------------------------------------------------------------------------
# the police_uk source
# --------------------------------------------------------------------------------------------
def clean_police_uk_files(
    name: str,
    source: "SourceConfig",
    config: "Config",
    geography: "gpd.GeoDataFrame",
    *,
    progress: Progress | None = None,
    engine: Any = None,
) -> "CleanedSource":
    """Read and clean a data.police.uk street source, one task per file, on an engine.

    Parameters
    ----------
    name, source, config, geography, progress
        As :func:`sna.clean.clean_police_uk`.
    engine
        ``"pandas"``, ``"dask"``, an :class:`~sna.config.EngineConfig`, or a Dask
        ``distributed.Client``; None: ``config.engine``.

    Returns
    -------
    CleanedSource
        As :func:`sna.clean.clean_police_uk` (identical whatever the engine).

    Notes
    -----
    The plainly kept rows of each file are decided with lookups on the file's distinct months,
    crime types and LSOA codes, so a file costs little more than its parse and the conversion
    of its coordinates (pyproj); the other rows go through :func:`sna.clean.place` and
    :func:`sna.clean.finish_source` together at the end.

    Examples
    --------
    >>> from sna.config import load_config
    >>> from sna.datasets import nottingham_sample_config
    >>> from sna.io.geography import load_geography
    >>> cfg = load_config(nottingham_sample_config())
    >>> geo, _ = load_geography(cfg)
    >>> res = clean_police_uk_files("police", cfg.sources["police"], cfg, geo, engine="pandas")
    >>> res.quality.rows_read, res.quality.rows_kept, res.quality.set_aside
    (24988, 24123, {'no_location': 616, 'out_of_area': 249})
    """
    from .io.police_uk import police_uk_files

    which = engine_name(engine, config)
    files = police_uk_files(config.resolve_many(source.path), "street")
    area = pd.Index(sorted(set(geography["lsoa"].astype(str))), dtype="str")
    ctx = _Context(name=name, encoding=source.encoding, definition=config.definition, area=area)
    if which == "dask":
        client = engine if _is_client(engine) else get_client(_engine_config(engine, config))
        parts = _run_dask(files, ctx, client, progress)
    else:
        parts = _run_pandas(files, ctx, _engine_config(engine, config).workers, progress)
    return _assemble(parts, name, ctx, config, geography)


# --------------------------------------------------------------------------------------------
# aggregation
# --------------------------------------------------------------------------------------------
def _key_values(s: pd.Series) -> Any:
    """What the codes of a key column stand for: its categories (categorical), else its
    distinct non-missing values, sorted."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.dtype
    return pd.Index(pd.unique(s)).dropna().sort_values()


def _key_codes(s: pd.Series, what: Any) -> np.ndarray:
    if isinstance(what, pd.CategoricalDtype):
        return s.cat.codes.to_numpy()
    return what.get_indexer(s)


def _decode(codes: np.ndarray, what: Any):
    if isinstance(what, pd.CategoricalDtype):
        return pd.Categorical.from_codes(codes, dtype=what)
    return what.take(codes)


_CHUNK = 1 << 20


def _count(frame: pd.DataFrame, by: list[str], weights: str | None = None) -> pd.DataFrame:
    """Counts (or sums of ``weights``) by ``by``: one combined integer key per row, counted
    with ``numpy.bincount`` a million rows at a time (dense keys) or ``numpy.unique``
    (sparse keys); the same result as ``groupby(by, observed=True, sort=True).size()``."""
    n = len(frame)
    whats = [_key_values(frame[c]) for c in by]
    sizes = [max(len(w.categories) if isinstance(w, pd.CategoricalDtype) else len(w), 1)
             for w in whats]
    total = 1
    for k in sizes:
        total *= k
    if total >= 2**62 or any(frame[c].dtype == object for c in by):  # let pandas do it
        g = frame.groupby(by, observed=True, sort=True, dropna=True)
        s = g[weights].sum() if weights else g.size()
        out = s.rename("count").reset_index()
        out["count"] = out["count"].astype("int64")
        return out

    def keys(a: int, b: int) -> np.ndarray:
        """The combined key of rows a..b (-1 where a key is missing)."""
        key = np.zeros(b - a, dtype=np.int64)
        missing = None
        for c, what, k in zip(by, whats, sizes):
            codes = _key_codes(frame[c].iloc[a:b], what)
            if codes.min(initial=0) < 0:
                missing = (codes < 0) if missing is None else (missing | (codes < 0))
            key *= k
            key += codes
        if missing is not None:
            key[missing] = -1
        return key

    w_all = frame[weights].to_numpy(dtype=np.int64) if weights else None
    if total <= max(4 * n, 1 << 16):  # dense: count in place, a chunk at a time
        counts = np.zeros(total, dtype=np.int64)
        for a in range(0, n, _CHUNK):
            key = keys(a, min(a + _CHUNK, n))
            ok = key >= 0
            if w_all is None:
                counts += np.bincount(key[ok], minlength=total)
            else:  # (summing counts: small frames)
                np.add.at(counts, key[ok], w_all[a:a + len(key)][ok])
        cells = np.flatnonzero(counts)
        counts = counts[cells]
    else:
        key = keys(0, n)
        ok = key >= 0
        cells, inverse = np.unique(key[ok], return_inverse=True)
        w = None if w_all is None else w_all[ok]
        counts = np.rint(np.bincount(inverse, weights=w, minlength=len(cells))).astype(np.int64)
    cols: dict[str, Any] = {}
    rem = cells  # (the last use of cells: decoded in place, key by key)
    for c, what, k in reversed(list(zip(by, whats, sizes))):
        code = rem % k
        rem //= k
        cols[c] = _decode(code.astype(np.int32 if k < 2**31 else np.int64), what)
        del code
    del rem, cells
    out = pd.DataFrame({c: cols.pop(c) for c in by}, copy=False)
    out["count"] = counts
    return out


def _add_counts(a: pd.DataFrame, b: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return _count(pd.concat([a, b], ignore_index=True), by, weights="count")


def aggregate(
    incidents: pd.DataFrame,
    by: Sequence[str] = AGGREGATE_BY,
    *,
    engine: Any = None,
    partitions: int | None = None,
) -> pd.DataFrame:
    """Count incidents by ``by`` (LSOA x month x category by default), on an engine.

    Parameters
    ----------
    incidents
        An incidents table (or any frame with the ``by`` columns); not modified.
    by
        The keys. Categorical keys are grouped on their codes (fast); rows with a missing key
        are not counted.
    engine
        ``"pandas"`` (default), ``"dask"``, an :class:`~sna.config.EngineConfig` or a Dask
        ``distributed.Client``. On Dask the table is cut into ``partitions`` (default: two per
        worker), counted on the workers and the counts summed pairwise (a tree).
    partitions
        Number of pieces for the Dask engine.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns (same dtypes) and ``count`` (int64), one row per combination with
        at least one incident, sorted by the keys; identical whatever the engine.
        ``attrs["sna"]["engine"]`` records the engine.

    Examples
    --------
    >>> inc = pd.DataFrame({"lsoa": pd.Categorical(["A", "B", "A", None]),
    ...                     "month": pd.to_datetime(["2019-01-01"] * 4),
    ...                     "category": pd.Categorical(["Robbery"] * 4)})
    >>> aggregate(inc)[["lsoa", "count"]].values.tolist()
    [['A', 2], ['B', 1]]
    """
    by = list(by)
    missing = [c for c in by if c not in incidents.columns]
    if missing:
        from .errors import AnalysisInputError

        raise AnalysisInputError(f"aggregate: no column(s) {', '.join(missing)} in the table; "
                                 f"it has: {', '.join(map(str, incidents.columns))}")
    which = engine_name(engine)
    frame = incidents[by]
    if which == "dask" and len(frame):
        client = engine if _is_client(engine) else get_client(_engine_config(engine, None))
        k = partitions or max(2, 2 * len(client.scheduler_info().get("workers", {}) or [0]))
        k = max(1, min(k, len(frame)))
        bounds = np.linspace(0, len(frame), k + 1).astype(int)
        pieces = [frame.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        level = [client.submit(_count, f, by, pure=False) for f in client.scatter(pieces)]
        while len(level) > 1:  # tree: sum neighbours pairwise
            nxt = [client.submit(_add_counts, level[i], level[i + 1], by, pure=False)
                   for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        out = level[0].result().reset_index(drop=True)
    else:
        out = _count(frame, by)
    out.attrs["sna"] = {"engine": which, "by": by}
    logger.info("aggregate: %d row(s) -> %d cell(s) by %s (%s)", len(frame), len(out),
                "x".join(by), which)
    return out
