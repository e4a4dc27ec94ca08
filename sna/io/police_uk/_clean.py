"""Cleaning data.police.uk street files: one task per file on an engine, then one shared pass.

Each file is read and validated (:func:`~sna.io.police_uk.read_file`), and every row that is
plainly kept (a readable month, a known crime type and an LSOA code of the area) is decided
with lookups on the file's few distinct values; those rows' coordinates are converted to
British National Grid and they are returned as compact columns. Every other row (the few that
are out of the area, unlocated, need a point-in-polygon or a best-fit translation, or have a
bad month or crime type) is returned as its lines, unparsed. The file tasks run on an engine
(:func:`sna.engine.run_tasks`: threads of this process, or a Dask cluster); as their results
come in, those lines are parsed with every column and given their quarantine JSON, a batch
of files at a time on a thread of their own. Then the raw rows
of all files go once through the shared cleaning path (:func:`sna.clean.place`,
:func:`sna.clean.finish_source`), which sets them aside with a reason in the quarantine or
keeps them, and the kept rows of every file are assembled, in file and line order, into the
canonical incidents table. Rows read = rows kept + rows set aside is checked as for any source.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd

from ...clean import (
    DUPLICATES_NOTE,
    CleanedSource,
    all_missing,
    finish_source,
    fy_labels,
    month_coverage,
    parse_months,
    place,
    records_json,
    set_aside,
    start,
    to_bng,
)
from ...definitions import police_uk_categories
from ...engine import run_tasks, small_pages
from ...quality import SourceQuality, empty_quarantine
from ...schemas import CATEGORICAL_COLUMNS, INCIDENT_COLUMNS
from ._read import (
    encode_street_text,
    file_month,
    one_file_per_month,
    parse_raw_lines,
    police_uk_files,
    raw_frame,
    read_street_split,
)

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from ...config import Config, DefinitionConfig, SourceConfig

__all__ = ["clean_police_uk", "police_uk_file_tasks", "clean_police_uk_file"]


# --------------------------------------------------------------------------------------------
# the source
# --------------------------------------------------------------------------------------------
def clean_police_uk(
    name: str,
    source: "SourceConfig",
    config: "Config",
    geography: "gpd.GeoDataFrame",
    *,
    progress: Callable[[str], None] | None = None,
    engine: Any = None,
) -> CleanedSource:
    """Read and clean a data.police.uk street-level source, one task per file.

    Parameters
    ----------
    name
        The source's name in the config.
    source
        Its config (``format: police_uk``, ``path``, ``encoding``).
    config
        The whole config (paths, definition, geography options).
    geography
        The area (:func:`sna.io.geography.load_geography`).
    progress
        Called with a message before each file.
    engine
        ``"pandas"`` (threads of this process) or ``"dask"`` (a ``dask.distributed``
        cluster), or a Dask ``Client``; None: the config's ``engine.name``. Same results.

    Returns
    -------
    CleanedSource
        Incidents with ``record_id`` = Crime ID (missing on anti-social behaviour rows),
        ``date`` = ``month`` (``date_precision`` "month"), ``fy``, ``crime_type`` and
        ``category`` (the crime type), ``serious_violence`` (local definition), ``knife`` /
        ``firearm`` / ``domestic`` unknown, ``lsoa``, ``district``, ``partnership``, ``x``,
        ``y``, ``file``, ``line``, in file and line order (categories sorted). Set aside:
        ``bad_month``, ``month_mismatch`` (a ``Month`` other than the month of the file's
        name), ``unknown_category``, ``no_location``, ``out_of_area``. A force-month read from
        two files (a folder and the zip, a copy) is an error, or with ``repeated_months:
        ignore_later`` the later file is left out and the QualityLog says so.

    Notes
    -----
    Each file is read and its plainly kept rows (readable month, known crime type, an LSOA
    of the area) are settled with lookups on its distinct values; the other rows of all files
    then go together through :func:`~sna.clean.place` and :func:`~sna.clean.finish_source`
    (see :mod:`sna.io.police_uk`).
    Memory holds one raw file per worker plus the compact clean columns.

    Examples
    --------
    >>> from sna.config import load_config
    >>> from sna.datasets import nottingham_sample_config
    >>> from sna.io.geography import load_geography
    >>> cfg = load_config(nottingham_sample_config())
    >>> geo, _ = load_geography(cfg)
    >>> res = clean_police_uk("police", cfg.sources["police"], cfg, geo)
    >>> res.quality.rows_read, res.quality.rows_kept, res.quality.set_aside
    (24988, 24123, {'no_location': 616, 'out_of_area': 249})
    """
    files, ctx, ignored = police_uk_file_tasks(name, source, config, geography)
    parts: list[_Part] = []
    rest = _RestRows()
    rest.submit(_warm_lookups)  # (on the rest's thread, while the first files are read)

    def collect(part: _Part) -> None:
        rest.add(part.rest)  # (parsed with their JSON while the next files are read)
        part.rest = None
        parts.append(part)

    with _memory_reuse(), rest:
        run_tasks(_police_uk_file, files, ctx, engine=engine, config=config,
                  progress=progress, label=lambda f: f.basename, on_result=collect)
        res = _assemble(parts, name, ctx, config, geography, rest=rest)
    res.quality.notes.extend(ignored)
    return res


def police_uk_file_tasks(name: str, source: "SourceConfig", config: "Config",
                         geography: "gpd.GeoDataFrame") -> tuple[list, "_Context", list[str]]:
    """The street files of a source (one per force and month), what a task on one of them
    needs (small, picklable: the area's LSOA codes and the definition), for
    :func:`clean_police_uk_file`, and the QualityLog's notes on the files left out (a
    force-month read twice, with ``repeated_months: ignore_later``)."""
    files = police_uk_files(config.resolve_many(source.path), "street", repeated=None)
    files, ignored = one_file_per_month(files, getattr(source, "repeated_months", "error"))
    area = pd.Index(sorted(set(geography["lsoa"].astype(str))), dtype="str")
    return files, _Context(name=name, encoding=source.encoding, definition=config.definition,
                           area=area), ignored


def clean_police_uk_file(f, ctx: "_Context", config: "Config",
                         geography: "gpd.GeoDataFrame") -> CleanedSource:
    """One street file read and cleaned on its own, as :func:`clean_police_uk` cleans it
    among the others: its kept rows (in line order), its set-aside rows and its QualityLog
    entry (rows read = kept + set aside, checked). Its rows that need the shared path (out of
    the area, unlocated, ...) go through it here, so a task on one file needs nothing from
    the other files (results-only runs: :func:`sna.dataset.load_dataset`).

    ``f`` and ``ctx``: an item and the context of :func:`police_uk_file_tasks`."""
    return _assemble([_police_uk_file(f, ctx)], ctx.name, ctx, config, geography)


@contextmanager
def _memory_reuse():
    """While the files are read: Arrow allocates from jemalloc (where pyarrow has it) and
    numpy does not ask for transparent huge pages (:func:`sna.engine.small_pages`). Both make
    the memory freed by one file's arrays serve the next file's, where mimalloc (pyarrow's
    default) and numpy's huge pages give it back to the system and take it again, zeroed, a
    page fault at a time: on the national benchmark set that was about 1.5 s of system time
    (of 3), the same tables. The previous settings are restored afterwards (arrays keep the
    pool they came from)."""
    import pyarrow as pa

    previous = pa.default_memory_pool()
    try:
        pool = pa.jemalloc_memory_pool()
    except (NotImplementedError, AttributeError, pa.ArrowException):
        pool = previous
    with small_pages():
        pa.set_memory_pool(pool)
        try:
            yield
        finally:
            pa.set_memory_pool(previous)


def _clean_rest(raw: pd.DataFrame, name: str, config: "Config",
                geography: "gpd.GeoDataFrame", best_fit) -> CleanedSource:
    """Clean raw street rows (as read_police_uk returns them) the general way: months, crime
    types, :func:`place`, :func:`finish_source`. The file tasks send here the rows their
    lookups do not settle (out of area, unlocated, bad month, ...)."""

    meta = raw.attrs.get("sna", {})
    work = start(raw)
    month = parse_months(raw["Month"])
    bad = month.isna()
    if bad.any():
        work = set_aside(work, bad, "bad_month",
                         "Month " + raw.loc[bad, "Month"].astype("string").fillna("(blank)"))
    # a row whose Month is not its file's month (a relabelled copy would count twice)
    # (each file's month once: the files are categories, or made so)
    files = raw["file"] if isinstance(raw["file"].dtype, pd.CategoricalDtype) \
        else raw["file"].astype(str).astype("category")
    names = [str(f) for f in files.cat.categories]
    by_file = {f: file_month(f) for f in names}
    per_file = pd.to_datetime(pd.Series([by_file[f] for f in names] + [None], dtype=object),
                              format="%Y-%m", errors="coerce").to_numpy()  # (last: no file, NaT)
    expected = pd.Series(per_file[files.cat.codes.to_numpy()], index=raw.index)
    mismatch = (~bad & expected.notna() & (month != expected)).to_numpy()
    if mismatch.any():
        work = set_aside(work, mismatch, "month_mismatch",
                         "Month " + raw.loc[mismatch, "Month"].astype("string") + " in the file of "
                         + raw.loc[mismatch, "file"].astype(str).map(by_file))
    cats = police_uk_categories(raw["Crime type"], config.definition)
    unknown = cats["category"].isna()
    if unknown.any():
        work = set_aside(work, unknown, "unknown_category",
                         "Crime type " + raw.loc[unknown, "Crime type"].astype("string").fillna("(blank)"))
    work["record_id"] = raw["Crime ID"]
    work["date"] = month
    work["date_precision"] = pd.Categorical.from_codes(np.zeros(len(raw), dtype=np.int8), categories=["month"])
    work["month"] = month
    work["fy"] = fy_labels(month)
    work["crime_type"] = raw["Crime type"]
    work["category"] = cats["category"]
    work["serious_violence"] = cats["serious_violence"]
    work = place(work, geography, lsoa="LSOA code", lon="Longitude", lat="Latitude",
                 best_fit=best_fit, source=name)
    records = "_record" if "_record" in raw else None  # JSON written by the file tasks
    raw_cols = [c for c in raw.columns if c not in ("file", "line", "_record")]
    return finish_source(
        name, "police_uk", work, record_columns=raw_cols, records=records,
        files=[f["file"] for f in meta.get("files", [])],
        duplicate_rows=meta.get("duplicate_rows"),
    )


# --------------------------------------------------------------------------------------------
# one file (a task)
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
    _area: Any = field(default=None, repr=False)  # the area's codes, hashed once
    _lsoas: dict = field(default_factory=dict, repr=False)  # codes met in the files
    _numbers: Any = field(default=None, repr=False)  # the area's codes as sorted numbers
    _places: Any = field(default=None, repr=False)  # district, partnership of each LSOA

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_months"], state["_types"], state["_area"], state["_places"] = {}, {}, None, None
        state["_lsoas"], state["_numbers"] = {}, None
        return state

    def places(self, geography) -> tuple[np.ndarray, np.ndarray]:
        """The district and partnership of each of the area's LSOAs (in ``area``'s order),
        looked up once (a task per file on a national geography would otherwise pay for it
        every file)."""
        if self._places is None:
            g = geography.set_index(geography["lsoa"].astype(str))
            self._places = (g["district"].astype(str).reindex(self.area).to_numpy(dtype=object),
                            g["partnership"].astype(str).reindex(self.area).to_numpy(dtype=object))
        return self._places

    def lsoa_lut(self, codes) -> np.ndarray:
        """Position of each code (normalised: spaces removed, upper case) among the area's
        LSOAs (-1: not in the area), plus -1 for missing. ``codes``: a file's distinct codes,
        an Arrow string array (or a list).

        Codes written as the published ones are (a capital letter and eight digits, e.g.
        ``E01013810``) are found as numbers in the area's sorted numbers, in numpy (no
        Python loop, and without the GIL, beside the other file tasks); any other code is
        normalised and looked up once per run in the area's hash table (a plain object index
        keeps its look-up engine)."""
        import pyarrow as pa

        arr = codes if isinstance(codes, pa.Array) else pa.array(list(codes), pa.string())
        out = np.full(len(arr) + 1, -1, dtype=np.int32)
        keys, plain = _code_numbers(arr)
        if self._numbers is None:
            area = pa.array(self.area.to_numpy(dtype=object), pa.string())
            a_keys, a_plain = _code_numbers(area)
            pos = np.flatnonzero(a_plain).astype(np.int32)
            order = np.argsort(a_keys[pos], kind="stable")
            self._numbers = (a_keys[pos][order], pos[order])
        a_keys, a_pos = self._numbers
        if len(a_keys) and plain.any():
            k = keys[plain]
            i = np.minimum(np.searchsorted(a_keys, k), len(a_keys) - 1)
            out[:-1][plain] = np.where(a_keys[i] == k, a_pos[i], -1)
        other = np.flatnonzero(~plain)
        if len(other):  # (spaces, lower case, another shape: as written, once per run)
            seen = self._lsoas
            written = arr.take(pa.array(other)).to_pylist()
            new = [c for c in written if c is not None and c not in seen]
            if new:
                if self._area is None:
                    self._area = pd.Index(self.area.to_numpy(dtype=object), dtype=object)
                found = self._area.get_indexer(["".join(c.split()).upper() for c in new])
                seen.update(zip(new, found.tolist()))
            out[other] = [seen[c] if c is not None else -1 for c in written]
        return out

    def month_lut(self, labels: list) -> np.ndarray:
        """datetime64[ns] of each month label (NaT where unreadable), plus NaT for missing."""
        new = [v for v in labels if v not in self._months]
        if new:
            parsed = parse_months(pd.Series(new, dtype=object))
            self._months.update(zip(new, parsed.to_numpy()))
        return np.array([self._months[v] for v in labels] + [np.datetime64("NaT", "ns")],
                        dtype="datetime64[ns]")

    def type_luts(self, labels: list) -> tuple[list, np.ndarray, np.ndarray]:
        """The crime types' categories: (labels, index of each type or -1, serious violence)."""
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


def _code_numbers(arr) -> tuple[np.ndarray, np.ndarray]:
    """Each string of an Arrow string array as a number when it is written as a published
    LSOA (or other GSS) code is, a capital letter then eight digits (``E01013810`` ->
    ``ord("E") * 10**8 + 1013810``; distinct codes, distinct numbers), and whether it is.
    Read straight from the array's buffers."""
    import pyarrow as pa

    n = len(arr)
    keys = np.zeros(n, dtype=np.int64)
    if n == 0 or arr.null_count == n:
        return keys, np.zeros(n, dtype=bool)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    bufs = arr.buffers()
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(bufs[1], dtype=width)[arr.offset:arr.offset + n + 1].astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    plain = np.diff(offsets) == 9
    if arr.null_count:
        plain &= arr.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(plain)
    if len(rows) == 0:
        return keys, plain
    chars = data[offsets[rows][:, None] + np.arange(9)]
    digits = chars[:, 1:].astype(np.int64) - 48
    good = ((chars[:, 0] >= 65) & (chars[:, 0] <= 90) & (digits >= 0).all(axis=1)
            & (digits <= 9).all(axis=1))
    keys[rows] = chars[:, 0].astype(np.int64) * 10**8 + digits @ (10 ** np.arange(7, -1, -1))
    plain[rows[~good]] = False
    keys[~plain] = 0
    return keys, plain


@dataclass
class _Part:
    """The compact result of one file: its kept rows as columns, the other rows raw."""

    file: str
    rows: int
    duplicate_rows: int
    n_kept: int
    columns: dict = field(default_factory=dict)
    rest: Any = None  # the rows left to the shared path: RawLines, or a pyarrow.Table


def _encoded(column) -> tuple[np.ndarray, Any]:
    """The codes of a dictionary-encoded pyarrow column (-1 if missing) and its dictionary
    (an Arrow array); a plain column is dictionary-encoded first."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    if isinstance(arr, pa.ChunkedArray):  # (no chunk)
        arr = pa.array([], type=arr.type)
    enc = arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return idx, enc.dictionary


def _task_types() -> dict:
    """The columns a file task reads for every row, as Arrow types: few distinct values
    dictionary-encoded while parsing, Crime IDs as the incidents table stores them."""
    import pyarrow as pa

    text = pa.dictionary(pa.int32(), pa.string())
    return {"Crime ID": pa.large_string(), "Month": text, "Longitude": pa.float64(),
            "Latitude": pa.float64(), "LSOA code": text, "Crime type": text}


def _police_uk_file(f, ctx: _Context) -> _Part:
    """Read one street file and split it into plainly kept rows (columns) and the rest (raw,
    with each row's JSON for the quarantine)."""
    import pyarrow as pa

    table, lines, stats, raw_rows = read_street_split(f, _task_types(), encoding=ctx.encoding)
    n = table.num_rows
    if n == 0:
        return _Part(f.name, 0, int(stats["duplicate_rows"]), 0)
    m_idx, m_vals = _encoded(table["Month"])
    m_lut = ctx.month_lut(m_vals.to_pylist())
    month = m_lut[m_idx]
    t_idx, t_vals = _encoded(table["Crime type"])
    t_vals = t_vals.to_pylist()
    cats, cat_lut, sv_lut = ctx.type_luts(t_vals)
    cat = cat_lut[t_idx]
    c_idx, c_vals = _encoded(table["LSOA code"])
    lsoa = ctx.lsoa_lut(c_vals)[c_idx]
    kept = (lsoa >= 0) & ~np.isnat(month) & (cat >= 0)
    own = file_month(f.name)
    if own is not None:  # a row of another month than its file's: the shared path sets it aside
        kept &= month == np.datetime64(own + "-01", "ns")
    n_kept = int(kept.sum())
    cols: dict[str, Any] = {}
    if n_kept:
        mask = pa.array(kept)
        lon = table["Longitude"].filter(mask).to_numpy()
        lat = table["Latitude"].filter(mask).to_numpy()
        x, y = to_bng(lon, lat)
        cols = {
            "record_id": table["Crime ID"].filter(mask).combine_chunks(),
            "month": (m_idx[kept], list(m_lut[:-1])),  # (codes, the file's months)
            # categorical columns as (codes, labels): made categoricals once, when assembled
            "crime_type": (t_idx[kept], t_vals),
            "category": (cat[kept], cats),
            "serious_violence": sv_lut[t_idx][kept],
            "lsoa": lsoa[kept],
            "x": x,
            "y": y,
            "line": lines[kept],
        }
    rest = None
    if n_kept < n:
        rest = raw_rows(~kept)  # (their lines, parsed with the other files' when assembled)
    return _Part(f.name, n, int(stats["duplicate_rows"]), n_kept, cols, rest)


class _RestRows:
    """The rows the file tasks leave to the shared cleaning path (tables, or lines not parsed
    yet: :func:`~sna.io.police_uk._read.parse_raw_lines`), in file order: parsed, with each
    row's quarantine JSON (:func:`_with_records`), a batch of files at a time on a thread of
    their own, as the files' results come in (Arrow kernels, outside the GIL). A context
    manager: the thread ends with it."""

    BATCH = 32  # files

    def __init__(self) -> None:
        self._pending: list = []
        self._jobs: list = []
        self._pool: Any = None

    def __enter__(self) -> "_RestRows":
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def submit(self, fn: Callable, *args) -> Any:
        """Run ``fn(*args)`` on the thread, after the batches submitted so far."""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sna-rest")
        return self._pool.submit(fn, *args)

    def add(self, item) -> None:
        """One file's rows (None: it has none)."""
        if item is not None:
            self._pending.append(item)
            if len(self._pending) >= self.BATCH:
                self.flush()

    def flush(self) -> None:
        if self._pending:
            self._jobs.append(self.submit(_rest_tables, self._pending))
            self._pending = []

    def table(self):
        """Every file's rows as one raw table in file and line order (None: no rows); the
        batches' errors raised here."""
        import pyarrow as pa

        tables = [t for job in self._jobs for t in job.result()]
        tables += _rest_tables(self._pending)  # (those not sent to the thread yet)
        self._jobs, self._pending = [], []
        if not tables:
            return None
        return pa.concat_tables(tables, promote_options="permissive").combine_chunks()


def _warm_lookups() -> None:
    """Read the bundled lookup the shared path needs for its first LSOA code outside the area
    (:func:`sna.io.geography.vintage_mismatch`: the codes of each LSOA vintage; read once per
    process, then cached), so that it is not read while the main thread waits for that path
    at the end. Nearly every force's files have such codes (a neighbouring force's LSOAs).
    Also transform one point to British National Grid on this thread: pyproj makes each
    thread its own transformer at its first use (about 0.05 s), and this thread's first use
    would otherwise be in that path too."""
    from ...io.geography import vintage_mismatch

    vintage_mismatch((), 2011, ())
    to_bng(np.array([-1.15]), np.array([52.95]))


def _rest_tables(items: list) -> list:
    """A batch of files' rows left to the shared path: tables with their JSON records."""
    return [_with_records(t) for t in parse_raw_lines(items)]


def _clean_rest_items(rest: "_RestRows", name: str, config: "Config",
                      geography: "gpd.GeoDataFrame") -> CleanedSource | None:
    """The rows the file tasks left (:meth:`_RestRows.table`) through :func:`_clean_rest`
    (None: no such rows)."""
    rest = rest.table()
    if rest is None:
        return None
    # text as categoricals (as read_police_uk gives it); each row's JSON came with it
    raw = raw_frame([encode_street_text(rest)], [], "street")
    del rest
    raw.attrs = {}
    best_fit = config.geography.lsoa_best_fit
    if best_fit not in (None, "bundled"):
        best_fit = str(config.resolve(best_fit))
    return _clean_rest(raw, name, config, geography, best_fit)


def _with_records(table):
    """Add ``_record``: each row as the JSON the quarantine keeps (one set of Arrow kernels for
    the rows of many files; a table of several files whose values need pandas is written file
    by file, as each file's rows would be alone)."""
    import pyarrow as pa

    rec = _records_arrow(table)
    files = table["file"] if "file" in table.column_names else None
    if rec is None and files is not None and len(pd.unique(files.to_numpy())) > 1:
        codes = pd.Series(files.combine_chunks().indices.to_numpy())
        bounds = np.flatnonzero(np.diff(codes.to_numpy())) + 1
        starts = [0, *bounds.tolist()]
        stops = [*bounds.tolist(), table.num_rows]
        return pa.concat_tables([_with_records(table.slice(a, b - a))
                                 for a, b in zip(starts, stops)])
    if rec is None:  # a value whose JSON text Arrow cannot be trusted to write as pandas does
        raw = raw_frame([table.select(table.column_names)], [], "street")
        json_text = records_json(raw[[c for c in raw.columns if c not in ("file", "line")]])
        rec = pa.array(json_text.array, type=pa.large_string())
    return table.append_column("_record", rec)


_PLAIN_NUMBER = r"^-?[0-9]{1,9}(\.[0-9]{1,8})?$"


def _json_values(column):
    """Each value of a pyarrow column as JSON text, exactly as :func:`sna.clean.records_json`
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
        if len(col) > 64:  # a few distinct values (months, forces, crime types): each once
            enc = pc.dictionary_encode(col)
            if 2 * len(enc.dictionary) <= len(col):
                return _json_values(enc)
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
# assembling the incidents table
# --------------------------------------------------------------------------------------------
def _union_codes(values: list) -> tuple[np.ndarray, list]:
    """Concatenate coded blocks, each a ``(codes, labels)`` pair (code -1: missing) or a
    Categorical: (the codes of every row in one list of labels, that list: the labels present,
    sorted). Each block's labels present are found on its own rows, then each block is
    written once through its own small look-up table into the result."""
    pairs = [(v.codes, list(v.categories)) if isinstance(v, pd.Categorical)
             else (np.asarray(v[0]), list(v[1])) for v in values]
    present: set = set()
    for codes, lab in pairs:
        if len(lab):
            used = np.bincount(codes + 1, minlength=len(lab) + 1)[1:]
            present.update(lab[i] for i in np.flatnonzero(used).tolist())
    cats = sorted(present)
    pos = {c: i for i, c in enumerate(cats)}
    dtype = _small_int(np.zeros(0, dtype=np.int32), len(cats)).dtype
    out = np.empty(sum(len(c) for c, _ in pairs), dtype=dtype)
    at = 0
    for codes, lab in pairs:
        lut = np.array([pos.get(c, -1) for c in lab] + [-1], dtype=dtype)
        # (code -1: the last entry, -1; "wrap" writes straight into out, where the default
        # mode would buffer every block: the codes are the block's own, 0..len(lab) - 1)
        np.take(lut, codes, out=out[at:at + len(codes)], mode="wrap")
        at += len(codes)
    return out, cats


def _union_categorical(values: list) -> pd.Categorical:
    """Concatenate categorical blocks, each a ``(codes, labels)`` pair or a Categorical;
    categories = the sorted labels present."""
    codes, cats = _union_codes(values)
    return pd.Categorical.from_codes(codes, categories=pd.Index([str(c) for c in cats],
                                                                dtype="str"))


def _small_int(codes: np.ndarray, k: int) -> np.ndarray:
    dtype = np.int8 if k < 127 else np.int16 if k < 32767 else np.int32
    return codes.astype(dtype, copy=False)


def _from_lut(index: np.ndarray, values: np.ndarray,
              present: np.ndarray | None = None) -> pd.Categorical:
    """A categorical of ``values[index]`` (index -1 = missing), categories sorted and present;
    ``present``: the positions that occur in ``index``, when known."""
    if present is None:
        present = _present(index, len(values))
    labels = values[present].astype(str)
    cats = pd.Index(sorted(set(labels)), dtype="str")
    lut = _small_int(np.full(len(values) + 1, -1, dtype=np.int32), len(cats))
    lut[present] = cats.get_indexer(labels)
    return pd.Categorical.from_codes(lut[index], categories=cats)


def _present(index: np.ndarray, k: int) -> np.ndarray:
    """The positions 0..k-1 that occur in ``index`` (-1: missing)."""
    seen = np.zeros(k + 1, dtype=bool)
    seen[index] = True  # (-1: the last entry)
    return np.flatnonzero(seen[:k])


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
        if col == "month":  # (codes, months): made a datetime column when assembled
            codes, months = _union_codes(vals)
            del vals
            out[col] = (codes.take(order) if order is not None else codes, months)
            continue
        if isinstance(vals[0], (pd.Categorical, tuple)):
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
        "month": _codes_of(inc["month"].to_numpy(dtype="datetime64[ns]")),
        "crime_type": inc["crime_type"].array,
        "category": inc["category"].array,
        "serious_violence": inc["serious_violence"].to_numpy(dtype=bool, na_value=False),
        "lsoa": lut[inc["lsoa"].cat.codes.to_numpy()],
        "x": inc["x"].to_numpy(dtype="float64"),
        "y": inc["y"].to_numpy(dtype="float64"),
        "line": inc["line"].to_numpy(dtype=np.int32),
        "_file": np.array([file_pos[str(v)] for v in inc["file"].astype(str)], dtype=np.int32),
    }


def _codes_of(values: np.ndarray) -> tuple[np.ndarray, list]:
    """``values`` as (codes, distinct values)."""
    codes, uniq = pd.factorize(values)
    return codes.astype(np.int32), list(np.asarray(uniq))


def _assemble(parts: list[_Part], name: str, ctx: _Context, config: "Config",
              geography: "gpd.GeoDataFrame", rest: _RestRows | None = None) -> "CleanedSource":
    """The parts' kept rows and their other rows (``rest``: taken already from the parts, or
    None: in the parts) cleaned and assembled into the source's incidents, quarantine and
    QualityLog entry."""
    if rest is None:
        with _RestRows() as rest:
            return _assemble(parts, name, ctx, config, geography, rest)
    files = [p.file for p in parts]
    file_pos = {f: i for i, f in enumerate(files)}
    rows_read = int(sum(p.rows for p in parts))
    dups = int(sum(p.duplicate_rows for p in parts))
    # the rows left by the files, all at once, through the shared cleaning path (step 2),
    # on the rest's thread while this one concatenates the plainly kept rows (step 1)
    for p in parts:
        rest.add(p.rest)
        p.rest = None
    rest.flush()
    rest_job = rest.submit(_clean_rest_items, rest, name, config, geography)
    # 1. the plainly kept rows of every file, in file order (the parts are emptied as we go)
    blocks = [p.columns for p in parts if p.n_kept]
    with_rows = np.array([file_pos[p.file] for p in parts if p.n_kept], dtype=np.int32)
    sizes = [p.n_kept for p in parts if p.n_kept]
    for p in parts:
        p.columns = {}
    try:
        kept = _concat(blocks) if blocks else None
        if kept is not None:
            kept["_file"] = np.repeat(with_rows, sizes)
    finally:
        res = rest_job.result()  # (its error, if any)
    del blocks
    # 2. the other rows: set aside, or kept after all
    set_aside: dict[str, int] = {}
    quarantine = empty_quarantine()
    if res is not None:
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
    incidents = _incidents(kept, name, files, ctx, geography, helper=rest)
    del kept
    _trim_memory()
    # 3. the quality entry
    n = len(incidents)
    months, missing = month_coverage(pd.Series(pd.unique(incidents["month"].to_numpy())))
    quality = SourceQuality(
        name=name, format="police_uk", rows_read=rows_read, rows_kept=n,
        set_aside=set_aside, months=months, missing_months=missing,
        share_geocoded=float(np.mean(~np.isnan(incidents["x"].to_numpy()))) if n else float("nan"),
        files=files, notes=[f"{dups} {DUPLICATES_NOTE}"], duplicate_rows=dups,
    )
    quality.check()
    return CleanedSource(incidents=incidents, quarantine=quarantine, quality=quality)


def _incidents(kept: dict | None, name: str, files: list[str], ctx: _Context,
               geography: "gpd.GeoDataFrame", helper: "_RestRows | None" = None) -> pd.DataFrame:
    """The canonical incidents table from the kept-row columns (each column owns its array:
    no copy, no consolidation). With ``helper`` (the rest's thread, idle by now), the place
    columns and the all-missing ones are built there while this thread builds the others:
    each is a few large fresh arrays, written outside the GIL."""
    import pyarrow as pa

    n = 0 if kept is None else len(kept["lsoa"])
    lsoa = kept.pop("lsoa") if n else None
    file_idx = kept.pop("_file") if n else None

    def other_columns() -> dict:
        out: dict[str, Any] = {}
        if n:
            present = _present(lsoa, len(ctx.area))
            district, partnership = ctx.places(geography)
            out["lsoa"] = _from_lut(lsoa, ctx.area.to_numpy(), present)
            out["district"] = _from_lut(lsoa, district, present)
            out["partnership"] = _from_lut(lsoa, partnership, present)
            out["file"] = _from_lut(file_idx, np.array(files, dtype=object))
        nulls = None
        for col, (dtype, _) in INCIDENT_COLUMNS.items():
            if (n and col in _BUILT_HERE) or col in out:
                continue
            if dtype == "string" and col not in CATEGORICAL_COLUMNS:
                # all missing text: the (immutable) Arrow buffers are shared, the arrays are not
                nulls = pa.nulls(n, pa.large_string()) if nulls is None else nulls
                out[col] = pd.arrays.ArrowStringArray(nulls)
            else:
                out[col] = all_missing(col, dtype, n)
        return out

    job = helper.submit(other_columns) if helper is not None else None
    cols: dict[str, Any] = {}
    try:
        if n:
            codes, months = kept.pop("month")
            months = np.array(months, dtype="datetime64[ns]")
            month = months[codes]
            date = month.copy()
            fy = fy_labels(pd.Series(months)).array  # each month's FY once
            cols = {
                "source": _constant(name, n),
                "source_format": _constant("police_uk", n),
                "record_id": pd.arrays.ArrowStringArray(kept.pop("record_id")),
                "date": date,
                "date_precision": _constant("month", n),
                "month": month,
                "fy": pd.Categorical.from_codes(fy.codes[codes], dtype=fy.dtype),
                "crime_type": kept.pop("crime_type"),
                "category": kept.pop("category"),
                "serious_violence": pd.arrays.BooleanArray(kept.pop("serious_violence"),
                                                           np.zeros(n, dtype=bool)),
                "x": kept.pop("x"),
                "y": kept.pop("y"),
                "line": pd.arrays.IntegerArray(kept.pop("line").astype(np.int64),
                                               np.zeros(n, dtype=bool)),
            }
            del codes
    finally:
        for col, arr in (job.result() if job is not None else other_columns()).items():
            cols.setdefault(col, arr)  # (a column built here wins, whatever _BUILT_HERE says)
    return pd.DataFrame({col: cols.pop(col) for col in INCIDENT_COLUMNS}, copy=False)


# the columns _incidents builds on its own thread (when there are rows); the others are the
# place columns and the all-missing ones
_BUILT_HERE = frozenset({"source", "source_format", "record_id", "date", "date_precision",
                         "month", "fy", "crime_type", "category", "serious_violence", "x", "y",
                         "line"})
