"""Results-only assessments: the incidents stay on disk as Parquet, only tables come back.

:func:`load_assessment` brings every kept row into this process (one pandas frame), so its
memory grows with the data: about 1.4 GB for a year of national data.police.uk data, some
15 GB for ten years. :func:`load_dataset` reads and cleans the same sources with the same
rules but keeps the rows where the work is done: each data.police.uk street file is cleaned
by one task on the engine (the workers of a Dask cluster, or threads of this process), which
writes the file's kept incidents and its set-aside rows as Parquet files of a **dataset** and
sends back only its QualityLog entry and its counts. This process adds the counts up as they
come (one file's at a time) and gets an :class:`IncidentDataset`: the dataset's folder, the
QualityLog (rows read = rows kept + rows set aside, checked per source) and the tables the
chapters' counts are made from:

``monthly``
    Incidents by source, month, financial year, partnership, district, category, serious
    violence and knife flag: the monthly series of every category and area, and Table A's
    input (:func:`sna.trend.table_a` takes an :class:`IncidentDataset`).
``lsoa_counts``
    Incidents by source, financial year, LSOA, category and serious violence: the maps and
    the LSOA rates.

Other counts are computed where the rows are (:meth:`IncidentDataset.counts`: one task per
Parquet file, the counts added up here), and any subset can be read back
(:meth:`IncidentDataset.read_incidents` with Parquet filters). Missing values are groups of
their own in every count, so each table adds up to the rows kept.

The dataset's folder is ``engine.dataset`` in ``sna.yml`` (default: ``dataset`` under the
cache folder), where every worker must be able to write (a shared file system for a remote
cluster); a run writes into a sub-folder named by the inputs (size and modification time of
each file), the config and the version of ``sna``, and a later call with the same inputs
reuses it::

    <engine.dataset>/<key>/incidents/<source>/<nnnnn>-<input file>.parquet
    <engine.dataset>/<key>/quarantine/<source>/<nnnnn>-<input file>.parquet
    <engine.dataset>/<key>/monthly.parquet, lsoa_counts.parquet, quality.json, meta.json

Sources of the other formats (partner extracts, health data: small) are cleaned in this
process as :func:`load_assessment` cleans them and written to the dataset the same way.
The tables are the same as the pandas engine's: the incidents read back are the incidents
of :func:`load_assessment` (same rows, order and values), and the counts are theirs (tested).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pandas as pd

from .assessment import (
    ConfiguredArea,
    assessment_year,
    cache_key,
    input_fingerprints,
    restore_categoricals,
    stack_tables,
    year_geography,
)
from .config import Config, load_config
from .errors import AnalysisInputError
from .periods import FinancialYear
from .quality import QualityLog, SourceQuality, empty_quarantine

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["IncidentDataset", "load_dataset", "MONTHLY_BY", "LSOA_BY", "tally"]

logger = logging.getLogger("sna")

Progress = Callable[[str], None]

#: The version of the dataset's layout (a new one is written when it changes).
DATASET_FORMAT = 1
#: The keys of :attr:`IncidentDataset.monthly`.
MONTHLY_BY: tuple[str, ...] = ("source", "month", "fy", "partnership", "district", "category",
                               "serious_violence", "knife")
#: The keys of :attr:`IncidentDataset.lsoa_counts`.
LSOA_BY: tuple[str, ...] = ("source", "fy", "lsoa", "category", "serious_violence")
#: Counts held back before they are added up into one partial table (rows).
FOLD_ROWS = 1_000_000


# --------------------------------------------------------------------------------------------
# counting
# --------------------------------------------------------------------------------------------
def tally(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Rows of ``frame`` by ``by``, a missing value a group of its own: the ``by`` columns
    (their dtypes) and ``n`` (int64), groups in the order of the keys.

    Examples
    --------
    >>> df = pd.DataFrame({"a": pd.Categorical(["x", "y", "x", None]), "b": [1, 1, 1, 2]})
    >>> tally(df, ["a", "b"]).values.tolist()
    [['x', 1, 2], ['y', 1, 1], [nan, 2, 1]]
    """
    by = list(by)
    if not len(frame):
        out = frame[by].iloc[:0].reset_index(drop=True)
        out["n"] = np.zeros(0, dtype=np.int64)
        return out
    out = frame.groupby(by, dropna=False, observed=True, sort=True).size().rename("n").reset_index()
    out["n"] = out["n"].astype(np.int64)
    return out


def _add_up(frames: list[pd.DataFrame], by: list[str]) -> pd.DataFrame:
    """Counts tables (``by`` + ``n``) added up into one, categories united and sorted."""
    from .clean import concat_incidents

    frames = [f for f in frames if len(f)] or frames[:1]
    both = concat_incidents(frames)
    if len(frames) == 1:
        both = both.copy()
    for c in by:
        if isinstance(both[c].dtype, pd.CategoricalDtype):
            both[c] = both[c].cat.remove_unused_categories()
            cats = both[c].cat.categories
            if not cats.is_monotonic_increasing:
                both[c] = both[c].cat.reorder_categories(sorted(cats))
    if not len(both):
        return both.reset_index(drop=True)
    out = both.groupby(by, dropna=False, observed=True, sort=True)["n"].sum().reset_index()
    out["n"] = out["n"].astype(np.int64)
    return out


class _Sum:
    """Counts tables added up as they arrive: held back until ``FOLD_ROWS`` rows, then added
    up into a partial table (files come in month order, so partial tables hardly overlap);
    the partial tables are added up once at the end."""

    def __init__(self, by: Sequence[str]):
        self.by = list(by)
        self.held: list[pd.DataFrame] = []
        self.rows = 0
        self.partial: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame) -> None:
        self.held.append(frame)
        self.rows += len(frame)
        if self.rows >= FOLD_ROWS:
            self.partial.append(_add_up(self.held, self.by))
            self.held, self.rows = [], 0

    def result(self) -> pd.DataFrame:
        out = _add_up(self.partial + self.held, self.by)
        self.partial, self.held = [], []
        return out


# --------------------------------------------------------------------------------------------
# the tasks
# --------------------------------------------------------------------------------------------
@dataclass
class _Writer:
    """What a file task needs: the source, the police_uk task context, the config, the area's
    geography (sent once to each worker) and the dataset's folder."""

    source: str
    tasks: Any
    config: Config
    geography: Any
    root: str


@dataclass
class _Piece:
    """What a file task sends back: no rows, only its QualityLog entry and its counts."""

    quality: SourceQuality
    monthly: pd.DataFrame
    lsoa: pd.DataFrame


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame (no index, no attrs) to ``path``; through a temporary name, so a task
    run again after its worker died leaves one whole file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    attrs, frame.attrs = frame.attrs, {}
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    finally:
        frame.attrs = attrs
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_source(root: Path, source: str, stem: str, cleaned) -> _Piece:
    """Write one cleaned piece of a source (its incidents, its set-aside rows) and count it."""
    if len(cleaned.incidents):
        _write_parquet(cleaned.incidents, root / "incidents" / source / f"{stem}.parquet")
    if len(cleaned.quarantine):
        _write_parquet(cleaned.quarantine, root / "quarantine" / source / f"{stem}.parquet")
    return _Piece(cleaned.quality, tally(cleaned.incidents, MONTHLY_BY),
                  tally(cleaned.incidents, LSOA_BY))


def _street_file(item, w: _Writer) -> _Piece:
    """The task on one street file (on a worker): clean it, write it, count it."""
    from .io.police_uk import clean_police_uk_file

    i, f = item
    cleaned = clean_police_uk_file(f, w.tasks, w.config, w.geography)
    return _write_source(Path(w.root), w.source, f"{i:05d}-{Path(f.basename).stem}", cleaned)


@dataclass
class _Quality:
    """A source's QualityLog entry added up from its files' entries, as the pandas engine
    makes it from all the rows at once."""

    name: str
    format: str
    rows_read: int = 0
    rows_kept: int = 0
    geocoded: float = 0.0
    duplicate_rows: int = 0
    set_aside: dict = field(default_factory=dict)
    months: set = field(default_factory=set)
    files: list = field(default_factory=list)

    def add(self, q: SourceQuality) -> None:
        self.rows_read += q.rows_read
        self.rows_kept += q.rows_kept
        if q.rows_kept:
            self.geocoded += q.share_geocoded * q.rows_kept
        self.duplicate_rows += int(q.duplicate_rows or 0)
        for k, v in q.set_aside.items():
            self.set_aside[k] = self.set_aside.get(k, 0) + int(v)
        self.months.update(q.months)
        self.files += list(q.files)

    def entry(self, notes: Sequence[str] = ()) -> SourceQuality:
        from .clean import DUPLICATES_NOTE, month_coverage

        months, missing = month_coverage(pd.Series(pd.to_datetime(sorted(self.months))))
        q = SourceQuality(
            name=self.name, format=self.format, rows_read=self.rows_read,
            rows_kept=self.rows_kept, set_aside=dict(self.set_aside), months=months,
            missing_months=missing,
            share_geocoded=self.geocoded / self.rows_kept if self.rows_kept else float("nan"),
            files=self.files, notes=[f"{self.duplicate_rows} {DUPLICATES_NOTE}", *notes],
            duplicate_rows=self.duplicate_rows,
        )
        q.check()
        return q


# --------------------------------------------------------------------------------------------
# the dataset
# --------------------------------------------------------------------------------------------
@dataclass
class IncidentDataset(ConfiguredArea):
    """A configured area's cleaned data kept as a Parquet dataset, with the tables the
    chapters count from (:func:`load_dataset`).

    Attributes
    ----------
    config, year, synthetic, geography, population, populations, quality
        As in :class:`sna.assessment.Assessment`.
    path
        The dataset's folder (``incidents/``, ``quarantine/``, the counts, ``quality.json``).
    monthly
        Incidents by :data:`MONTHLY_BY` with ``n``: one row per group with incidents.
    lsoa_counts
        Incidents by :data:`LSOA_BY` with ``n``.
    participants, interventions
        Intervention monitoring tables (small: held here).
    key
        The key of the inputs and config the dataset was made from.
    notes
        Remarks on how the dataset was set up (e.g. how the year was chosen).
    """

    config: Config
    year: FinancialYear
    synthetic: bool
    path: Path
    geography: "gpd.GeoDataFrame"
    population: pd.DataFrame
    populations: pd.DataFrame
    quality: QualityLog
    monthly: pd.DataFrame
    lsoa_counts: pd.DataFrame
    participants: pd.DataFrame
    interventions: pd.DataFrame
    key: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def rows_kept(self) -> int:
        """Incidents kept, all sources."""
        return int(sum(q.rows_kept for q in self.quality.sources.values()))

    def files(self, table: str = "incidents", source: str | None = None) -> list[Path]:
        """The Parquet files of ``incidents`` or ``quarantine`` (of one source), sources in
        the config's order, each source's files in its input files' order."""
        if table not in ("incidents", "quarantine"):
            raise AnalysisInputError(f"no table {table!r} in the dataset: incidents or quarantine")
        names = [source] if source is not None else self.sources
        out: list[Path] = []
        for name in names:
            out += sorted((self.path / table / name).glob("*.parquet"))
        return out

    def _read(self, table: str, source, columns, filters) -> pd.DataFrame:
        import pyarrow.parquet as pq

        from .clean import canonical_incidents, concat_incidents

        files = self.files(table, source)
        if not files:
            empty = canonical_incidents(pd.DataFrame()) if table == "incidents" else empty_quarantine()
            return empty if columns is None else empty[list(columns)]
        frames = [pq.read_table(f, columns=columns, filters=filters).to_pandas() for f in files]
        out = concat_incidents([f for f in frames if len(f)] or frames[:1], consume=True)
        return restore_categoricals(out) if table == "incidents" else out

    def read_incidents(self, *, source: str | None = None, columns: Sequence[str] | None = None,
                       filters=None) -> pd.DataFrame:
        """Incidents read back from the dataset: all of them (the table of
        :func:`load_assessment`: use only when they fit in memory) or a subset.

        Parameters
        ----------
        source
            One source's incidents.
        columns
            The columns to read.
        filters
            Parquet filters (pyarrow's: ``[("fy", "==", "2020/21"), ("partnership", "==",
            "E22000001")]``), applied file by file as they are read.
        """
        return self._read("incidents", source, None if columns is None else list(columns),
                          filters)

    def read_quarantine(self, *, source: str | None = None, filters=None) -> pd.DataFrame:
        """The set-aside rows read back (``source, file, line, reason, detail, record``)."""
        return self._read("quarantine", source, None, filters)

    def counts(self, by: Sequence[str] = ("lsoa", "month", "category"), *,
               source: str | None = None, engine: Any = None,
               progress: Progress | None = None) -> pd.DataFrame:
        """Incidents counted by ``by`` where the rows are: one task per Parquet file on the
        engine (the config's, or ``engine``), the counts added up here as they come.

        Returns
        -------
        pandas.DataFrame
            The ``by`` columns and ``count`` (int64), one row per combination with at least
            one incident, sorted by the keys: :func:`sna.engine.aggregate`'s table (rows with
            a missing key are not counted, as there).
        """
        from .engine import run_tasks

        by = list(by)
        files = [str(f) for f in self.files("incidents", source)]
        total = _Sum(by)
        run_tasks(_count_file, files, by, engine=engine, config=self.config,
                  progress=progress, label=lambda f: Path(f).name, on_result=total.add)
        out = total.result().dropna(subset=by).rename(columns={"n": "count"})
        for c in by:
            if isinstance(out[c].dtype, pd.CategoricalDtype):
                out[c] = out[c].cat.remove_unused_categories()
        out = out.reset_index(drop=True)
        out.attrs["sna"] = {"engine": "dataset", "by": by}
        return out

    def __repr__(self) -> str:
        tag = " SYNTHETIC DATA" if self.synthetic else ""
        return (f"<IncidentDataset {self.area!r} {self.year}{tag}: {self.rows_kept:,} incidents "
                f"from {len(self.config.sources)} source(s) in {self.path}>")


def _count_file(path: str, by: list[str]) -> pd.DataFrame:
    """The task of :meth:`IncidentDataset.counts` on one Parquet file."""
    import pyarrow.parquet as pq

    return tally(pq.read_table(path, columns=by).to_pandas(), by)


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
def dataset_dir(config: Config) -> Path:
    """The dataset folder of a config: ``engine.dataset``, else ``dataset`` under the cache."""
    if config.engine.dataset:
        return config.resolve(config.engine.dataset)
    return config.cache_dir() / "dataset"


_TABLES = ("monthly", "lsoa_counts", "participants", "interventions")


def _build(cfg: Config, root: Path, geography, progress: Progress | None) -> dict:
    from .clean import get_cleaner
    from .engine import run_tasks
    from .io.geography import geography_summary
    from .io.police_uk import police_uk_file_tasks

    quality = QualityLog(synthetic=cfg.synthetic, geography=geography_summary(geography))
    monthly, lsoa = _Sum(MONTHLY_BY), _Sum(LSOA_BY)
    tables: dict[str, list[pd.DataFrame]] = {"participants": [], "interventions": []}
    for name, src in cfg.sources.items():
        if progress:
            progress(f"source {name!r} ({src.format})")
        t0 = time.perf_counter()
        if src.format == "police_uk":
            files, tasks, ignored = police_uk_file_tasks(name, src, cfg, geography)
            total = _Quality(name, "police_uk")

            def take(piece: _Piece, total=total) -> None:
                total.add(piece.quality)
                monthly.add(piece.monthly)
                lsoa.add(piece.lsoa)

            run_tasks(_street_file, list(enumerate(files)),
                      _Writer(name, tasks, cfg, geography, str(root)), config=cfg,
                      progress=progress, label=lambda item: item[1].basename, on_result=take)
            quality.add(total.entry(notes=ignored))
        else:  # a small source: cleaned here, as load_assessment cleans it
            res = get_cleaner(src.format)(name, src, cfg, geography, progress=progress)
            take_piece = _write_source(root, name, "00000-all", res)
            quality.add(res.quality)
            monthly.add(take_piece.monthly)
            lsoa.add(take_piece.lsoa)
            for k, v in (res.tables or {}).items():
                tables.setdefault(k, []).append(v)
        logger.info("source %s cleaned into %s in %.1f s", name, root, time.perf_counter() - t0)
    return {"quality": quality, "monthly": monthly.result(), "lsoa_counts": lsoa.result(),
            **stack_tables(tables)}


def _save(root: Path, data: dict, meta: dict) -> None:
    for name in _TABLES:
        _write_parquet(data[name], root / f"{name}.parquet")
    (root / "quality.json").write_text(data["quality"].to_json(), encoding="utf-8")
    # meta.json last: its presence says the dataset is whole
    (root / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")


def _load(root: Path) -> dict | None:
    if not (root / "meta.json").is_file():
        return None
    try:
        data = {name: pd.read_parquet(root / f"{name}.parquet") for name in _TABLES}
        for name in ("monthly", "lsoa_counts"):
            data[name] = restore_categoricals(data[name])
        data["quality"] = QualityLog.from_dict(
            json.loads((root / "quality.json").read_text(encoding="utf-8")))
    except Exception as exc:  # a damaged dataset is written again
        logger.warning("dataset %s unreadable (%s): writing it again", root, exc)
        return None
    return data


def load_dataset(
    config: "str | os.PathLike | dict | Config | None" = None,
    year: "str | int | FinancialYear | None" = None,
    *,
    engine: Any = None,
    reuse: bool = True,
    progress: Progress | None = None,
) -> IncidentDataset:
    """Clean an area's sources into a Parquet dataset on the engine; only tables come back.

    Parameters
    ----------
    config
        As for :func:`sna.load_assessment` (None: the bundled demo).
    year
        The assessment's financial year; by default the config's, else the latest complete
        in the data.
    engine
        ``"pandas"`` (threads of this process write the dataset), ``"dask"`` (the workers of
        the cluster of ``engine.scheduler``, or of a LocalCluster, write it) or a Dask
        ``Client``; None: the config's engine.
    reuse
        Reuse the dataset written earlier from the same inputs and config (False: write it
        again).
    progress
        Called with short messages while reading.

    Returns
    -------
    IncidentDataset

    Raises
    ------
    SnaError
        As :func:`sna.load_assessment` (the first file's failure, with its file and line).

    Notes
    -----
    The dataset's key hashes the version of sna, the config (but its engine and report
    settings) and each input file's size and modification time (not its contents: hashing
    ten years of national files would take longer than reading them).

    Examples
    --------
    >>> import tempfile
    >>> from sna.datasets import nottingham_sample_config
    >>> cfg = load_config(nottingham_sample_config()).model_copy(update={"cache": tempfile.mkdtemp()})
    >>> ds = load_dataset(cfg, engine="pandas")
    >>> str(ds.year), ds.rows_kept, int(ds.monthly["n"].sum()), int(ds.lsoa_counts["n"].sum())
    ('2018/19', 24123, 24123, 24123)
    """
    from .datasets import demo_config
    from .io.geography import load_geography

    cfg = load_config(demo_config() if config is None else config)
    if engine is not None:
        from .engine import engine_settings

        cfg = cfg.model_copy(update={"engine": engine_settings(engine, cfg)})
    inputs = input_fingerprints(cfg, content=False)  # size and time: no hashing of big inputs
    key = cache_key(cfg, inputs + [{"dataset_format": DATASET_FORMAT}])
    root = dataset_dir(cfg) / key
    if progress:
        progress("reading the geography")
    geography, population, populations = load_geography(cfg, with_years=True)
    data = _load(root) if reuse else None
    if data is not None:
        logger.info("dataset %s reused", root)
        if progress:
            progress(f"using the dataset {root}")
    else:
        if root.exists():  # a partial or older dataset of the same key: ours to replace
            shutil.rmtree(root)
        root.mkdir(parents=True)
        data = _build(cfg, root, geography, progress)
        _save(root, data, {"key": key, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                           "format": DATASET_FORMAT, "area": cfg.area, "inputs": inputs})
    fy, notes = assessment_year(cfg, year, data["monthly"], data["participants"])
    geography, population = year_geography(fy, geography, population, populations)
    return IncidentDataset(
        config=cfg, year=fy, synthetic=bool(cfg.synthetic), path=root, geography=geography,
        population=population, populations=populations, quality=data["quality"],
        monthly=data["monthly"], lsoa_counts=data["lsoa_counts"],
        participants=data["participants"], interventions=data["interventions"], key=key,
        notes=notes,
    )
